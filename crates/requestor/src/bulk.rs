//! Bulk leasequery over TCP, requestor side: draft-dtv-dhc-dhcpv4-bulk-leasequery-00 §8 and
//! RFC 6926, in the two dialects of docs/protocol.md decision 1.
//!
//! [`Session`] is sans-IO: queries go in ([`Session::query`]) and come out as framed octets
//! ([`Session::outgoing`]); octets read from the socket go in ([`Session::receive`]) and come
//! out one [`Event`] at a time, so a caller never holds more than one frame and one binding,
//! whatever the number of results. [`tcp`] is a thin blocking driver over it.
//!
//! Completion (draft §8.4): a query ends on DHCPLEASEDONE / DHCPLEASEQUERYDONE, on a single
//! DHCPLEASEUNASSIGNED or DHCPLEASEUNKNOWN (draft dialect; in the rfc6926 dialect an UNASSIGNED
//! is a binding no longer active, sent to a catch-up query, and only UNKNOWN ends the query), on
//! a DHCPLEASEQUERYFAIL (draft) or a DHCPLEASEQUERYDONE with a failure status-code (RFC 6926
//! §6.2.2; DHCPLEASEQUERYSTATUS is taken too), or when the connection closes. A
//! reply whose xid matches no outstanding query, or that cannot be read, ends the session: the
//! connection is to be closed (§8.3).

pub mod tcp;
pub mod tcp6;
pub mod v6;

pub use v6::{End6, Event6, Session6};

use std::collections::HashMap;
use std::fmt;
use std::net::Ipv4Addr;

use lessor_wire::framing::{Decoder, Dialect, Encoder, MAX_MESSAGE_SIZE};
use lessor_wire::v4::{code, DhcpOption, MessageType, Packet, BOOTREPLY};

use crate::query::{KeyError, QueryKey};
use crate::reply::{LeaseInfo, ReplyError};

/// The draft's code points (docs/protocol.md decision 2): a peer that used private values needs
/// the same values here.
pub use lessor_wire::v4::DraftCodes;

/// A status code from option 151 (docs/protocol.md decision 3).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Status {
    /// The code as sent: 2 octets in the draft dialect, 1 in the rfc6926 dialect.
    pub code: u16,
    /// The code's name in the dialect's numbering ("MalformedQuery"), or "code N".
    pub name: String,
    /// The status message (UTF-8, lossily decoded).
    pub text: String,
}

impl Status {
    /// Decodes an option 151 value in `dialect`; `None` when it is too short for the code.
    pub fn decode(dialect: Dialect, value: &[u8]) -> Option<Status> {
        let (code, rest) = match dialect {
            Dialect::Draft => (
                u16::from_be_bytes([*value.first()?, *value.get(1)?]),
                &value[2..],
            ),
            _ => (u16::from(*value.first()?), &value[1..]),
        };
        Some(Status {
            code,
            name: status_name(dialect, code),
            text: String::from_utf8_lossy(rest).into_owned(),
        })
    }

    /// Whether the code is Success (0).
    pub fn is_success(&self) -> bool {
        self.code == 0
    }
}

fn status_name(dialect: Dialect, code: u16) -> String {
    let names: &[&str] = match dialect {
        Dialect::Draft => &[
            "Success",
            "UnspecFail",
            "UnknownQueryType",
            "MalformedQuery",
            "NotAllowed",
            "QueryTerminated",
        ],
        _ => &[
            "Success",
            "UnspecFail",
            "QueryTerminated",
            "MalformedQuery",
            "NotAllowed",
            "DataMissing",
            "ConnectionActive",
            "CatchUpComplete",
            "TLSConnectionRefused",
        ],
    };
    names
        .get(usize::from(code))
        .map_or_else(|| format!("code {code}"), |n| (*n).to_string())
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", self.name, self.code)?;
        if !self.text.is_empty() {
            write!(f, ": {}", self.text)?;
        }
        Ok(())
    }
}

/// How a query ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum End {
    /// DHCPLEASEDONE / DHCPLEASEQUERYDONE after `bindings` bindings (0 is possible in the
    /// rfc6926 dialect: nothing found).
    Done {
        /// Binding events this query produced.
        bindings: u64,
    },
    /// A single DHCPLEASEUNASSIGNED or DHCPLEASEUNKNOWN: no binding matches.
    NotFound(Box<LeaseInfo>),
    /// DHCPLEASEQUERYFAIL / DHCPLEASEQUERYSTATUS (a status without option 151 reads as
    /// UnspecFail).
    Failed(Status),
}

/// What [`Session::receive`] produced.
// Bindings are the common event; boxing them would cost an allocation each.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// One binding of query `xid` (DHCPLEASEACTIVE, DHCPLEASEDATA, or in the rfc6926 dialect a
    /// DHCPLEASEUNASSIGNED of a catch-up query).
    Binding {
        /// The query's xid.
        xid: u32,
        /// The binding.
        lease: LeaseInfo,
    },
    /// Query `xid` is complete; no further message for it will come.
    Complete {
        /// The query's xid.
        xid: u32,
        /// How it ended.
        end: End,
    },
}

/// What [`Session::receive_into`] produced: an [`Event`] whose binding went into the caller's
/// [`LeaseInfo`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Received {
    /// One binding of query `xid`, now in the caller's `LeaseInfo`.
    Binding {
        /// The query's xid.
        xid: u32,
    },
    /// Query `xid` is complete; no further message for it will come.
    Complete {
        /// The query's xid.
        xid: u32,
        /// How it ended.
        end: End,
    },
}

/// Why a session ended: the connection must be closed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SessionError<R = ReplyError> {
    /// The stream's framing broke (size 0 or too large, or cut short at EOF).
    Framing(lessor_wire::Error),
    /// A reply whose xid matches no outstanding query (draft §8.3: close).
    UnknownXid(u32),
    /// A message that cannot be read as a reply.
    BadReply(R),
    /// A message type that does not answer a bulk query in this dialect.
    UnexpectedType(u8),
    /// The peer closed the connection while queries were outstanding.
    Closed {
        /// How many queries were still outstanding.
        outstanding: usize,
    },
}

impl<R: fmt::Display> fmt::Display for SessionError<R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SessionError::Framing(e) => write!(f, "broken stream: {e}"),
            SessionError::UnknownXid(x) => write!(f, "reply with unknown xid {x:#010x}"),
            SessionError::BadReply(e) => write!(f, "bad reply: {e}"),
            SessionError::UnexpectedType(t) => write!(f, "unexpected message type {t}"),
            SessionError::Closed { outstanding } => write!(
                f,
                "connection closed by the server with {outstanding} quer{} unanswered",
                if *outstanding == 1 { "y" } else { "ies" }
            ),
        }
    }
}

impl<R: fmt::Display + fmt::Debug> std::error::Error for SessionError<R> {}

/// RFC 6926 §6.2.5-6.2.6: query-start-time (154) and query-end-time (155), in seconds since the
/// epoch. With either, the server sends every binding whose client-last-transaction-time lies
/// within the bounds, those no longer active as DHCPLEASEUNASSIGNED (a catch-up query).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TimeRange {
    /// query-start-time: no bindings last touched before this.
    pub start: Option<u32>,
    /// query-end-time: no bindings last touched after this.
    pub end: Option<u32>,
}

impl TimeRange {
    /// Whether neither bound is set.
    pub fn is_empty(&self) -> bool {
        self.start.is_none() && self.end.is_none()
    }
}

/// A query that cannot be sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SubmitError<K = KeyError> {
    /// The key cannot be carried.
    Key(K),
    /// query-start-time / query-end-time in the draft dialect, which has no such options.
    TimesNotInDialect,
    /// query-start-time after query-end-time (the server would answer MalformedQuery).
    TimesReversed,
    /// A query with this xid is outstanding (draft §8.6: each query has a unique xid).
    DuplicateXid(u32),
    /// The session has ended.
    Ended,
    /// The message does not fit a frame.
    Framing(lessor_wire::Error),
}

impl<K: fmt::Display> fmt::Display for SubmitError<K> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SubmitError::Key(e) => e.fmt(f),
            SubmitError::TimesNotInDialect => {
                f.write_str("query-start-time and query-end-time exist only in the rfc6926 dialect")
            }
            SubmitError::TimesReversed => f.write_str("query-start-time is after query-end-time"),
            SubmitError::DuplicateXid(x) => write!(f, "xid {x:#010x} is already outstanding"),
            SubmitError::Ended => f.write_str("the session has ended"),
            SubmitError::Framing(e) => write!(f, "cannot frame the query: {e}"),
        }
    }
}

impl<K: fmt::Display + fmt::Debug> std::error::Error for SubmitError<K> {}

/// One bulk leasequery connection, sans-IO.
#[derive(Debug)]
pub struct Session {
    dialect: Dialect,
    codes: DraftCodes,
    decoder: Decoder,
    encoder: Encoder,
    /// Outstanding xid → bindings seen so far.
    outstanding: HashMap<u32, u64>,
    out: Vec<u8>,
    ended: Option<SessionError>,
}

impl Session {
    /// A session in `dialect` (a v4 dialect: [`Dialect::Draft`] or [`Dialect::Rfc6926`]).
    pub fn new(dialect: Dialect, codes: DraftCodes) -> Session {
        Session {
            dialect,
            codes,
            decoder: Decoder::new(dialect, MAX_MESSAGE_SIZE),
            encoder: Encoder::new(dialect, MAX_MESSAGE_SIZE),
            outstanding: HashMap::new(),
            out: Vec::new(),
            ended: None,
        }
    }

    /// The session's dialect.
    pub fn dialect(&self) -> Dialect {
        self.dialect
    }

    /// Queues a query for `key` with transaction id `xid`: DHCPLEASEQUERY (10) in the draft
    /// dialect, DHCPBULKLEASEQUERY (14) in the rfc6926 dialect; giaddr and the Parameter
    /// Request List as in [`QueryKey::to_repr`].
    pub fn query(
        &mut self,
        key: &QueryKey,
        xid: u32,
        giaddr: Ipv4Addr,
        parameters: &[u8],
    ) -> Result<(), SubmitError> {
        self.query_in(key, xid, giaddr, parameters, TimeRange::default())
    }

    /// [`Session::query`] restricted to the bindings last touched within `times` (rfc6926
    /// dialect only: query-start-time (154) and query-end-time (155) follow option 53).
    pub fn query_in(
        &mut self,
        key: &QueryKey,
        xid: u32,
        giaddr: Ipv4Addr,
        parameters: &[u8],
        times: TimeRange,
    ) -> Result<(), SubmitError> {
        if self.ended.is_some() {
            return Err(SubmitError::Ended);
        }
        key.validate().map_err(SubmitError::Key)?;
        if !times.is_empty() && self.dialect == Dialect::Draft {
            return Err(SubmitError::TimesNotInDialect);
        }
        if let (Some(start), Some(end)) = (times.start, times.end) {
            if start > end {
                return Err(SubmitError::TimesReversed);
            }
        }
        if self.outstanding.contains_key(&xid) {
            return Err(SubmitError::DuplicateXid(xid));
        }
        let mut repr = key.to_repr(xid, giaddr, parameters);
        if self.dialect != Dialect::Draft {
            repr.options[0] = DhcpOption::MessageType(MessageType::BulkLeaseQuery);
            // Right after option 53, so an option 82 key stays last.
            let bounds = [
                times.end.map(DhcpOption::QueryEndTime),
                times.start.map(DhcpOption::QueryStartTime),
            ];
            for option in bounds.into_iter().flatten() {
                repr.options.insert(1, option);
            }
        }
        self.encoder
            .encode_to_vec(&repr.to_vec(), &mut self.out)
            .map_err(SubmitError::Framing)?;
        self.outstanding.insert(xid, 0);
        Ok(())
    }

    /// Octets waiting to be written to the connection.
    pub fn outgoing(&self) -> &[u8] {
        &self.out
    }

    /// Tells the session `n` octets of [`Session::outgoing`] were written.
    pub fn written(&mut self, n: usize) {
        self.out.drain(..n.min(self.out.len()));
    }

    /// The xids of the queries not yet complete.
    pub fn outstanding(&self) -> impl Iterator<Item = u32> + '_ {
        self.outstanding.keys().copied()
    }

    /// Whether no query is outstanding.
    pub fn is_idle(&self) -> bool {
        self.outstanding.is_empty()
    }

    /// The error that ended the session, if any.
    pub fn error(&self) -> Option<&SessionError> {
        self.ended.as_ref()
    }

    /// Takes octets read from the connection until one event is produced or the input runs
    /// out; returns the octets taken and the event. Call again with the rest of the input.
    /// An error ends the session (close the connection); later calls return it again.
    pub fn receive(&mut self, input: &[u8]) -> Result<(usize, Option<Event>), SessionError> {
        let mut lease = LeaseInfo::default();
        let (used, received) = self.receive_into(input, &mut lease)?;
        let event = received.map(|r| match r {
            Received::Binding { xid } => Event::Binding { xid, lease },
            Received::Complete { xid, end } => Event::Complete { xid, end },
        });
        Ok((used, event))
    }

    /// [`Session::receive`], decoding a binding into `lease` (its buffers reused, so a stream
    /// of bindings is read without an allocation per binding). `lease` is meaningful only
    /// after [`Received::Binding`].
    pub fn receive_into(
        &mut self,
        input: &[u8],
        lease: &mut LeaseInfo,
    ) -> Result<(usize, Option<Received>), SessionError> {
        if let Some(e) = &self.ended {
            return Err(e.clone());
        }
        let mut consumed = 0;
        while consumed < input.len() {
            let step = match self.decoder.decode(&input[consumed..]) {
                Ok(s) => s,
                Err(e) => return Err(self.end(SessionError::Framing(e))),
            };
            consumed += step.consumed;
            let Some(message) = step.message else {
                continue;
            };
            let result = Self::handle(
                self.dialect,
                self.codes,
                &mut self.outstanding,
                message,
                lease,
            );
            return match result {
                Ok(event) => Ok((consumed, event)),
                Err(e) => Err(self.end(e)),
            };
        }
        Ok((consumed, None))
    }

    /// Tells the session the peer closed the connection. Queries still outstanding are
    /// complete (§8.4) but unanswered: that is [`SessionError::Closed`].
    pub fn finish(&mut self) -> Result<(), SessionError> {
        if let Some(e) = &self.ended {
            return Err(e.clone());
        }
        if let Err(e) = self.decoder.finish() {
            return Err(self.end(SessionError::Framing(e)));
        }
        if !self.outstanding.is_empty() {
            let outstanding = self.outstanding.len();
            return Err(self.end(SessionError::Closed { outstanding }));
        }
        Ok(())
    }

    fn end(&mut self, e: SessionError) -> SessionError {
        self.ended = Some(e.clone());
        self.outstanding.clear();
        self.out.clear();
        e
    }

    fn handle(
        dialect: Dialect,
        codes: DraftCodes,
        outstanding: &mut HashMap<u32, u64>,
        message: &[u8],
        lease: &mut LeaseInfo,
    ) -> Result<Option<Received>, SessionError> {
        let bad = |e: lessor_wire::Error| SessionError::BadReply(ReplyError::Malformed(e));
        let p = Packet::new_checked(message).map_err(bad)?;
        let xid = p.xid();
        let Some(seen) = outstanding.get_mut(&xid) else {
            return Err(SessionError::UnknownXid(xid));
        };
        if p.op() != BOOTREPLY {
            return Err(SessionError::BadReply(ReplyError::NotReply));
        }
        let index = p.index().map_err(bad)?;
        let Some(kind) = index.message_type().map_err(bad)? else {
            return Err(SessionError::BadReply(ReplyError::NotLeasequeryReply(None)));
        };
        let kind = u8::from(kind);
        let draft = dialect == Dialect::Draft;
        let (done, fail, status_option) = if draft {
            (
                codes.lease_done,
                codes.lease_query_fail,
                codes.status_code_option,
            )
        } else {
            (
                u8::from(MessageType::LeaseQueryDone),
                u8::from(MessageType::LeaseQueryStatus),
                code::STATUS_CODE,
            )
        };
        let active = u8::from(MessageType::LeaseActive);
        let unassigned = u8::from(MessageType::LeaseUnassigned);
        let unknown = u8::from(MessageType::LeaseUnknown);
        let event = if kind == active
            || (draft && kind == codes.lease_data)
            || (!draft && kind == unassigned)
        {
            *seen += 1;
            lease
                .read(&p, &index, draft.then_some(codes.lease_data))
                .map_err(SessionError::BadReply)?;
            Received::Binding { xid }
        } else if kind == unassigned || kind == unknown {
            let mut answer = LeaseInfo::default();
            answer
                .read(&p, &index, None)
                .map_err(SessionError::BadReply)?;
            Received::Complete {
                xid,
                end: End::NotFound(Box::new(answer)),
            }
        } else if kind == done && draft {
            Received::Complete {
                xid,
                end: End::Done { bindings: *seen },
            }
        } else if kind == done || kind == fail {
            // rfc6926: a failure is DHCPLEASEQUERYDONE with a status-code (RFC 6926 §6.2.2);
            // DHCPLEASEQUERYSTATUS (RFC 7724) is taken too, from servers that send it.
            let value = index.option(status_option).map_err(bad)?;
            let status = match value {
                None if kind == done => None,
                v => Some(
                    v.and_then(|v| Status::decode(dialect, &v))
                        .unwrap_or_else(|| Status {
                            code: 1,
                            name: status_name(dialect, 1),
                            text: "no status code".into(),
                        }),
                ),
            };
            let end = match status {
                Some(s) if !s.is_success() => End::Failed(s),
                _ => End::Done { bindings: *seen },
            };
            Received::Complete { xid, end }
        } else {
            return Err(SessionError::UnexpectedType(kind));
        };
        if matches!(event, Received::Complete { .. }) {
            outstanding.remove(&xid);
        }
        Ok(Some(event))
    }
}

#[cfg(test)]
mod tests;
