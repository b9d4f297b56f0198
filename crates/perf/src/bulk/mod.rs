//! `lessor perf bulk`: how fast a server streams one bulk leasequery over TCP.
//!
//! A measuring client, not a requestor: it sends one query (then optionally more, one after
//! the other on the same connection), reads the replies with lessor-wire's frame
//! [`Decoder`] and only *counts* them: per message it looks at the xid and option 53 (the
//! first option of every server reply, so no further option is read), and at the status-code
//! of the final DONE. Nothing is built per binding, so the client is not what limits the rate.
//!
//! Split like the other generators:
//! - this module: the query ([`encode_bulk_query`]) and the sans-IO [`Counter`] of one query's
//!   replies (which message is a binding, which ends the query, what is an error);
//! - [`run`](mod@run): the thin blocking I/O loop over one TCP connection;
//! - [`report`]: the figures as text or JSON.
//!
//! Message types, as in `lessor-requestor`'s bulk session (draft code points: lessor-wire's
//! [`DraftCodes`], Lessor's defaults unless the run says otherwise):
//! - bindings: DHCPLEASEACTIVE (13); draft DHCPLEASEDATA (19); rfc6926 DHCPLEASEUNASSIGNED (11);
//! - end: DHCPLEASEDONE / DHCPLEASEQUERYDONE (15) without a failure status-code is the
//!   completion wanted; draft DHCPLEASEUNASSIGNED / DHCPLEASEUNKNOWN, rfc6926 DHCPLEASEUNKNOWN
//!   ("nothing found"), draft DHCPLEASEQUERYFAIL (17), rfc6926 DONE with a failure status or
//!   DHCPLEASEQUERYSTATUS (17) end it otherwise;
//! - anything else, a reply with another xid, or a broken frame: an error (close).

pub mod report;
pub mod run;

use std::fmt;
use std::net::Ipv4Addr;

use lessor_wire::framing::{Decoder, Dialect, MAX_MESSAGE_SIZE};
use lessor_wire::v4::{code, DhcpOption, DraftCodes, MessageType, Packet, Repr, BOOTREPLY};

use crate::leasequery::{encode_query, MIN_QUERY_LEN};
use lessor_wire::v4::QueryKey;

pub use report::BulkReport;
pub use run::{run, BulkConfig};

/// A bulk query for `key` in `dialect`: the DHCPLEASEQUERY of `lessor perf leasequery`
/// ([`encode_query`]), as DHCPBULKLEASEQUERY (14) in the rfc6926 dialect.
pub fn encode_bulk_query(key: &QueryKey, xid: u32, giaddr: Ipv4Addr, dialect: Dialect) -> Vec<u8> {
    let bytes = encode_query(key, xid, giaddr);
    if dialect == Dialect::Draft {
        return bytes;
    }
    let Ok(mut repr) = Repr::from_bytes(&bytes) else {
        return bytes;
    };
    repr.set_option(DhcpOption::MessageType(MessageType::BulkLeaseQuery));
    let mut bytes = repr.to_vec();
    if bytes.len() < MIN_QUERY_LEN {
        bytes.resize(MIN_QUERY_LEN, 0);
    }
    bytes
}

/// How a query ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum End {
    /// DONE with no failure status: every binding was sent.
    Done,
    /// A single DHCPLEASEUNASSIGNED / DHCPLEASEUNKNOWN: nothing matches (message type).
    NotFound(u8),
    /// A failure: message type and status code (1, UnspecFail, when none was sent).
    Failed { kind: u8, status: u16 },
}

impl fmt::Display for End {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            End::Done => f.write_str("done"),
            End::NotFound(k) => write!(f, "not found (message type {k})"),
            End::Failed { kind, status } => {
                write!(f, "failed (message type {kind}, status code {status})")
            }
        }
    }
}

/// Why a stream could not be counted: the connection is to be closed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StreamError {
    /// The framing broke (size 0 or too large, or a frame cut short at EOF).
    Framing(lessor_wire::Error),
    /// A message too short for a DHCPv4 header, or whose options cannot be read.
    Malformed(lessor_wire::Error),
    /// A message that is not a BOOTREPLY.
    NotReply,
    /// A reply with another xid than the query's.
    UnknownXid(u32),
    /// A reply without option 53, or of a type that does not answer a bulk query.
    UnexpectedType(Option<u8>),
    /// The server closed the connection before the query ended.
    Closed,
}

impl fmt::Display for StreamError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StreamError::Framing(e) => write!(f, "broken stream: {e}"),
            StreamError::Malformed(e) => write!(f, "malformed reply: {e}"),
            StreamError::NotReply => f.write_str("a message that is not a BOOTREPLY"),
            StreamError::UnknownXid(x) => write!(f, "reply with unknown xid {x:#010x}"),
            StreamError::UnexpectedType(None) => f.write_str("reply without message type"),
            StreamError::UnexpectedType(Some(t)) => write!(f, "unexpected message type {t}"),
            StreamError::Closed => f.write_str("connection closed before the query ended"),
        }
    }
}

impl std::error::Error for StreamError {}

/// Messages of one query, by kind.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    /// DHCPLEASEACTIVE.
    pub active: u64,
    /// DHCPLEASEDATA (draft).
    pub data: u64,
    /// DHCPLEASEUNASSIGNED as a binding (rfc6926).
    pub unassigned: u64,
    /// Octets of the stream, frame headers included, up to the end of the last message.
    pub bytes: u64,
}

impl Counts {
    /// Binding messages.
    pub fn bindings(&self) -> u64 {
        self.active + self.data + self.unassigned
    }

    /// Adds `other` to these.
    pub fn add(&mut self, other: &Counts) {
        self.active += other.active;
        self.data += other.data;
        self.unassigned += other.unassigned;
        self.bytes += other.bytes;
    }
}

/// Counts the replies to one query (sans IO): feed it what the socket returned.
#[derive(Debug)]
pub struct Counter {
    dialect: Dialect,
    codes: DraftCodes,
    xid: u32,
    counts: Counts,
    end: Option<End>,
}

impl Counter {
    /// A counter for the query `xid` in `dialect`, with Lessor's draft code points.
    pub fn new(dialect: Dialect, xid: u32) -> Counter {
        Counter::with_codes(dialect, DraftCodes::DEFAULT, xid)
    }

    /// A counter for the query `xid` in `dialect`, with these draft code points (the draft
    /// dialect only).
    pub fn with_codes(dialect: Dialect, codes: DraftCodes, xid: u32) -> Counter {
        Counter {
            dialect,
            codes,
            xid,
            counts: Counts::default(),
            end: None,
        }
    }

    /// What was counted so far.
    pub fn counts(&self) -> Counts {
        self.counts
    }

    /// How the query ended, once it has.
    pub fn end(&self) -> Option<&End> {
        self.end.as_ref()
    }

    /// Decodes frames from `input` with `decoder` until the query ends or the input runs out;
    /// returns the octets taken (the rest belongs to the next query, if any).
    pub fn receive(&mut self, decoder: &mut Decoder, input: &[u8]) -> Result<usize, StreamError> {
        let mut consumed = 0;
        while consumed < input.len() && self.end.is_none() {
            let step = decoder
                .decode(&input[consumed..])
                .map_err(StreamError::Framing)?;
            consumed += step.consumed;
            if let Some(message) = step.message {
                let end = self.message(message)?;
                self.end = end;
            }
        }
        self.counts.bytes += consumed as u64;
        Ok(consumed)
    }

    /// The connection reached EOF.
    pub fn finish(&mut self, decoder: &mut Decoder) -> Result<(), StreamError> {
        decoder.finish().map_err(StreamError::Framing)?;
        match self.end {
            Some(_) => Ok(()),
            None => Err(StreamError::Closed),
        }
    }

    fn message(&mut self, message: &[u8]) -> Result<Option<End>, StreamError> {
        let p = Packet::new_checked(message).map_err(StreamError::Malformed)?;
        if p.op() != BOOTREPLY {
            return Err(StreamError::NotReply);
        }
        if p.xid() != self.xid {
            return Err(StreamError::UnknownXid(p.xid()));
        }
        let kind = match p.option(53).map_err(StreamError::Malformed)?.as_deref() {
            Some([t]) => *t,
            _ => return Err(StreamError::UnexpectedType(None)),
        };
        let draft = self.dialect == Dialect::Draft;
        let (data, done, fail, status_option) = if draft {
            (
                Some(self.codes.lease_data),
                self.codes.lease_done,
                self.codes.lease_query_fail,
                self.codes.status_code_option,
            )
        } else {
            (
                None,
                u8::from(MessageType::LeaseQueryDone),
                u8::from(MessageType::LeaseQueryStatus),
                code::STATUS_CODE,
            )
        };
        let active = u8::from(MessageType::LeaseActive);
        let unassigned = u8::from(MessageType::LeaseUnassigned);
        let unknown = u8::from(MessageType::LeaseUnknown);
        if kind == active {
            self.counts.active += 1;
        } else if Some(kind) == data {
            self.counts.data += 1;
        } else if !draft && kind == unassigned {
            self.counts.unassigned += 1;
        } else if kind == unassigned || kind == unknown {
            return Ok(Some(End::NotFound(kind)));
        } else if kind == done || kind == fail {
            let status = p
                .option(status_option)
                .map_err(StreamError::Malformed)?
                .map(|v| status_code(self.dialect, &v));
            return Ok(Some(match status {
                None | Some(0) if kind == done => End::Done,
                s => End::Failed {
                    kind,
                    status: s.unwrap_or(1),
                },
            }));
        } else {
            return Err(StreamError::UnexpectedType(Some(kind)));
        }
        Ok(None)
    }
}

/// The code of a status-code value: 2 octets in the draft dialect, 1 in RFC 6926's; 1
/// (UnspecFail) when too short.
fn status_code(dialect: Dialect, value: &[u8]) -> u16 {
    match (dialect, value) {
        (Dialect::Draft, [a, b, ..]) => u16::from_be_bytes([*a, *b]),
        (Dialect::Draft, _) => 1,
        (_, [a, ..]) => u16::from(*a),
        _ => 1,
    }
}

/// A decoder for replies in `dialect`.
pub fn decoder(dialect: Dialect) -> Decoder {
    Decoder::new(dialect, MAX_MESSAGE_SIZE)
}

#[cfg(test)]
mod tests;
