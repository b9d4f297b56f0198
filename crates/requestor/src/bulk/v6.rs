//! DHCPv6 bulk leasequery over TCP (RFC 5460), requestor side: [`Session6`] is sans-IO like
//! the DHCPv4 [`super::Session`], over the same framing ([`Dialect::V6`]: a 2-octet msg-size).
//!
//! A query is a LEASEQUERY of any of the five query types. The server answers with a
//! LEASEQUERY-REPLY (checked as RFC 5007 §4.2.2 asks: our CLIENTID, a SERVERID) carrying the
//! first binding, then one LEASEQUERY-DATA per further binding, then LEASEQUERY-DONE (RFC 5460
//! §5.2.2). A REPLY with an error status, or without client data, ends the query at once; a
//! LEASEQUERY-DONE that follows it anyway is accepted and dropped (RFC 5460 names DONE after
//! bindings only; servers differ, docs/protocol.md decision 22). CLIENT_DATA without CLT_TIME is dropped
//! unless kept (RFC 5007 §4.3.3 and erratum 3763). A message for no outstanding query, a
//! LEASEQUERY-DATA before its REPLY, or any other message type ends the session: the
//! connection is to be closed.

use std::collections::{HashMap, HashSet, VecDeque};

use lessor_wire::framing::{Decoder, Dialect, Encoder, MAX_MESSAGE_SIZE};
use lessor_wire::v6::{Duid, MessageType, MAX_TRANSACTION_ID};

use super::{SessionError, SubmitError};
use crate::v6::{ClientData6, KeyError6, LeaseInfo6, QueryKey6, ReplyError6};

/// How a DHCPv6 bulk query ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum End6 {
    /// LEASEQUERY-DONE after `bindings` bindings, or a REPLY without client data (0).
    Done {
        /// Bindings this query produced.
        bindings: u64,
    },
    /// A REPLY or DONE with an error status.
    Failed {
        /// status-code.
        code: u16,
        /// Its name ("NotConfigured") or number.
        name: String,
        /// status-message.
        message: String,
    },
}

/// What [`Session6::receive`] produced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event6 {
    /// One binding (one CLIENT_DATA) of query `xid`.
    Binding {
        /// The query's transaction-id.
        xid: u32,
        /// The client's data.
        client: Box<ClientData6>,
        /// The server's DUID, from the query's REPLY.
        server_id: Option<Duid>,
    },
    /// Query `xid` is complete.
    Complete {
        /// The query's transaction-id.
        xid: u32,
        /// How it ended.
        end: End6,
    },
}

#[derive(Debug)]
enum Stream {
    /// Sent; no REPLY yet.
    AwaitReply,
    /// REPLY seen with bindings; DATA and DONE follow.
    Data {
        bindings: u64,
        server_id: Option<Duid>,
    },
}

/// One DHCPv6 bulk leasequery connection, sans-IO.
#[derive(Debug)]
pub struct Session6 {
    requestor: Duid,
    keep_without_clt_time: bool,
    decoder: Decoder,
    encoder: Encoder,
    outstanding: HashMap<u32, Stream>,
    /// Queries ended by their REPLY, whose DONE may still come.
    lingering: HashSet<u32>,
    events: VecDeque<Event6>,
    out: Vec<u8>,
    ended: Option<SessionError<ReplyError6>>,
}

impl Session6 {
    /// A session for the requestor with DUID `requestor`, dropping CLIENT_DATA without CLT_TIME
    /// unless `keep_without_clt_time`.
    pub fn new(requestor: Duid, keep_without_clt_time: bool) -> Session6 {
        Session6 {
            requestor,
            keep_without_clt_time,
            decoder: Decoder::new(Dialect::V6, MAX_MESSAGE_SIZE),
            encoder: Encoder::new(Dialect::V6, MAX_MESSAGE_SIZE),
            outstanding: HashMap::new(),
            lingering: HashSet::new(),
            events: VecDeque::new(),
            out: Vec::new(),
            ended: None,
        }
    }

    /// Queues a LEASEQUERY for `key` with transaction-id `xid` (24 bits), OPTION_ORO `oro` in
    /// its LQ_QUERY (empty: none).
    pub fn query(
        &mut self,
        key: &QueryKey6,
        xid: u32,
        oro: &[u16],
    ) -> Result<(), SubmitError<KeyError6>> {
        if self.ended.is_some() {
            return Err(SubmitError::Ended);
        }
        key.validate().map_err(SubmitError::Key)?;
        if xid > MAX_TRANSACTION_ID {
            return Err(SubmitError::Framing(lessor_wire::Error::BadLength));
        }
        if self.outstanding.contains_key(&xid) || self.lingering.contains(&xid) {
            return Err(SubmitError::DuplicateXid(xid));
        }
        let bytes = key.encode(xid, &self.requestor, None, oro);
        self.encoder
            .encode_to_vec(&bytes, &mut self.out)
            .map_err(SubmitError::Framing)?;
        self.outstanding.insert(xid, Stream::AwaitReply);
        Ok(())
    }

    /// Octets waiting to be written to the connection.
    pub fn outgoing(&self) -> &[u8] {
        &self.out
    }

    /// Tells the session `n` octets of [`Session6::outgoing`] were written.
    pub fn written(&mut self, n: usize) {
        self.out.drain(..n.min(self.out.len()));
    }

    /// Whether no query is outstanding.
    pub fn is_idle(&self) -> bool {
        self.outstanding.is_empty() && self.events.is_empty()
    }

    /// The error that ended the session, if any.
    pub fn error(&self) -> Option<&SessionError<ReplyError6>> {
        self.ended.as_ref()
    }

    /// Takes octets read from the connection until one event is produced or the input runs
    /// out; returns the octets taken and the event. Call again with the rest of the input (or
    /// none: a REPLY may hold several bindings, handed out one per call).
    pub fn receive(
        &mut self,
        input: &[u8],
    ) -> Result<(usize, Option<Event6>), SessionError<ReplyError6>> {
        if let Some(e) = &self.ended {
            return Err(e.clone());
        }
        if let Some(e) = self.events.pop_front() {
            return Ok((0, Some(e)));
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
            let message = message.to_vec();
            if let Err(e) = self.handle(&message) {
                return Err(self.end(e));
            }
            if let Some(e) = self.events.pop_front() {
                return Ok((consumed, Some(e)));
            }
        }
        Ok((consumed, None))
    }

    /// Tells the session the peer closed the connection: queries still outstanding are
    /// [`SessionError::Closed`].
    pub fn finish(&mut self) -> Result<(), SessionError<ReplyError6>> {
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

    fn end(&mut self, e: SessionError<ReplyError6>) -> SessionError<ReplyError6> {
        self.ended = Some(e.clone());
        self.outstanding.clear();
        self.events.clear();
        self.out.clear();
        e
    }

    fn failed(info: &LeaseInfo6) -> Option<End6> {
        if info.is_success() {
            return None;
        }
        let (code, message) = info.status.clone().unwrap_or_default();
        Some(End6::Failed {
            code,
            name: info.status_name().unwrap_or_default(),
            message,
        })
    }

    fn handle(&mut self, message: &[u8]) -> Result<(), SessionError<ReplyError6>> {
        let msg_type = message
            .first()
            .map(|&t| MessageType::from(t))
            .ok_or(SessionError::Framing(lessor_wire::Error::Truncated))?;
        let is_reply = msg_type == MessageType::LeasequeryReply;
        let info = if is_reply {
            LeaseInfo6::parse(
                message,
                Some(&self.requestor),
                true,
                self.keep_without_clt_time,
            )
        } else {
            LeaseInfo6::parse(message, None, false, self.keep_without_clt_time)
        }
        .map_err(SessionError::BadReply)?;
        let xid = info.transaction_id;
        if msg_type == MessageType::LeasequeryDone && self.lingering.remove(&xid) {
            return Ok(());
        }
        let Some(stream) = self.outstanding.get_mut(&xid) else {
            return Err(SessionError::UnknownXid(xid));
        };
        match (msg_type, &mut *stream) {
            (MessageType::LeasequeryReply, Stream::AwaitReply) => {
                if let Some(end) = Self::failed(&info) {
                    self.complete(xid, end, true);
                    return Ok(());
                }
                if info.clients.is_empty() && info.discarded == 0 {
                    self.complete(xid, End6::Done { bindings: 0 }, true);
                    return Ok(());
                }
                let n = info.clients.len() as u64;
                *stream = Stream::Data {
                    bindings: n,
                    server_id: info.server_id.clone(),
                };
                for client in info.clients {
                    self.events.push_back(Event6::Binding {
                        xid,
                        client: Box::new(client),
                        server_id: info.server_id.clone(),
                    });
                }
            }
            (
                MessageType::LeasequeryData,
                Stream::Data {
                    bindings,
                    server_id,
                },
            ) => {
                *bindings += info.clients.len() as u64;
                let server_id = server_id.clone();
                for client in info.clients {
                    self.events.push_back(Event6::Binding {
                        xid,
                        client: Box::new(client),
                        server_id: server_id.clone(),
                    });
                }
            }
            (MessageType::LeasequeryDone, Stream::Data { bindings, .. }) => {
                let end = Self::failed(&info).unwrap_or(End6::Done {
                    bindings: *bindings,
                });
                self.complete(xid, end, false);
            }
            (t, _) => return Err(SessionError::UnexpectedType(u8::from(t))),
        }
        Ok(())
    }

    fn complete(&mut self, xid: u32, end: End6, linger: bool) {
        self.outstanding.remove(&xid);
        if linger {
            self.lingering.insert(xid);
        }
        self.events.push_back(Event6::Complete { xid, end });
    }
}

#[cfg(test)]
mod tests;
