//! One DHCPv6 bulk query's replies, produced one message at a time from a store snapshot
//! (RFC 5460 §5.2, §7; docs/protocol.md decisions 26-28).
//!
//! A [`Stream`] owns what it reads: a durable snapshot of the bindings (an O(1) copy; relay-id,
//! remote-id and link queries walk a [`Cursor6`] over it in batches of [`BATCH`]), so it holds no
//! lock while the requestor reads, and at most [`BATCH`] bindings at a time.
//!
//! The bindings sent are those active at the time the query arrived (one time for the whole
//! stream), on the query's link when it names one. Each goes out as one message carrying one
//! CLIENT_DATA (the client's CLIENTID, the binding's IAADDR or IAPREFIX, CLT_TIME, the configured
//! options the LQ_QUERY's ORO asks for less the sensitive ones, and, last, LQ_RELAY_DATA when that
//! ORO asks for it and the binding came through relays), built by the UDP responder's own
//! [`client_data::client_data`] (docs/protocol.md decision 29).
//!
//! The messages, every one with the query's transaction-id:
//! - the first binding: LEASEQUERY-REPLY with SERVERID and the requestor's CLIENTID;
//! - each further one: LEASEQUERY-DATA (CLIENT_DATA only);
//! - after the last binding: LEASEQUERY-DONE with STATUS_CODE Success;
//! - no binding: one LEASEQUERY-REPLY without CLIENT_DATA, and nothing after it;
//! - a refusal: one LEASEQUERY-REPLY with a STATUS_CODE, and nothing after it;
//! - a query ended early (QueryTerminated at shutdown or when the connection aborts, UnspecFail
//!   when a message cannot be framed): LEASEQUERY-REPLY with the status if nothing went out yet,
//!   else LEASEQUERY-DONE with it.

use super::query::{Key, Query};
use crate::leasequery6::client_data;
use ipnet::Ipv6Net;
use lessor_store::{Binding6, Cursor6, Key6, Snapshot6, Timestamp};
use lessor_wire::v6::{status, ClientServerMessage, DhcpOption, Duid, MessageType, Repr};
use std::collections::VecDeque;
use std::sync::Arc;

/// Bindings pulled from the store at a time.
pub const BATCH: usize = 32;

enum Source {
    List(std::vec::IntoIter<Arc<Binding6>>),
    Cursor(Box<Cursor6>),
    /// Every binding in key order, resumed after the last key pulled (a query by link-address
    /// `::`, docs/protocol.md decision 28).
    All(Option<Key6>),
}

/// What a message of a stream is, for counters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sent {
    /// A LEASEQUERY-REPLY or LEASEQUERY-DATA carrying a binding.
    Binding,
    /// LEASEQUERY-DONE after the bindings.
    Done,
    /// A LEASEQUERY-REPLY without binding.
    Empty,
    /// A reply or DONE with this status.
    Failure(u16),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Fail(u16, &'static str),
    Bindings,
    Finished,
}

/// The replies to one query.
pub struct Stream {
    transaction_id: u32,
    client_id: Option<Duid>,
    now: Timestamp,
    state: State,
    query: Option<Query>,
    snapshot: Option<Snapshot6>,
    source: Option<Source>,
    buf: VecDeque<Arc<Binding6>>,
    produced: u64,
    /// Messages framed and handed out (set by the connection).
    emitted: u64,
}

impl std::fmt::Debug for Stream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Stream")
            .field("transaction_id", &self.transaction_id)
            .field("state", &self.state)
            .field("produced", &self.produced)
            .finish_non_exhaustive()
    }
}

impl Stream {
    /// The replies to `q`, read from `snapshot` at `now`.
    pub fn new(q: Query, snapshot: Snapshot6, now: Timestamp) -> Stream {
        let source = match (&q.key, q.link) {
            (Key::Address(a), _) => Source::List(
                snapshot
                    .containing(*a)
                    .cloned()
                    .into_iter()
                    .collect::<Vec<_>>()
                    .into_iter(),
            ),
            (Key::ClientId(d), _) => Source::List(snapshot.by_duid(d).into_iter()),
            (Key::RelayId(id), _) => Source::Cursor(Box::new(snapshot.by_relay_id(id))),
            (Key::RemoteId(id), _) => Source::Cursor(Box::new(snapshot.by_remote_id(id))),
            (Key::Link, Some(link)) => Source::Cursor(Box::new(snapshot.by_link(&link))),
            (Key::Link, None) => Source::All(None),
        };
        Stream {
            transaction_id: q.transaction_id,
            client_id: Some(q.client_id.clone()),
            now,
            state: State::Bindings,
            query: Some(q),
            snapshot: Some(snapshot),
            source: Some(source),
            buf: VecDeque::new(),
            produced: 0,
            emitted: 0,
        }
    }

    /// A stream of one LEASEQUERY-REPLY with `status`.
    pub fn failure(
        transaction_id: u32,
        client_id: Option<Duid>,
        now: Timestamp,
        status: u16,
        text: &'static str,
    ) -> Stream {
        Stream {
            transaction_id,
            client_id,
            now,
            state: State::Fail(status, text),
            query: None,
            snapshot: None,
            source: None,
            buf: VecDeque::new(),
            produced: 0,
            emitted: 0,
        }
    }

    /// The query's transaction-id.
    pub fn transaction_id(&self) -> u32 {
        self.transaction_id
    }

    /// Whether this stream answers a query (rather than only refusing one).
    pub fn is_query(&self) -> bool {
        self.query.is_some()
    }

    /// Whether everything was produced.
    pub fn is_finished(&self) -> bool {
        self.state == State::Finished
    }

    /// Ends the stream early with `status`; what it holds of the store is released.
    pub fn terminate(&mut self, status: u16, text: &'static str) {
        if self.state != State::Finished {
            self.state = State::Fail(status, text);
        }
        self.source = None;
        self.snapshot = None;
        self.buf = VecDeque::new();
    }

    /// The connection framed and handed out the last message.
    pub fn emitted(&mut self) {
        self.emitted += 1;
    }

    fn wanted(&self, b: &Binding6) -> bool {
        let Some(q) = &self.query else {
            return false;
        };
        b.is_active_at(self.now)
            && q.link.is_none_or(|l: Ipv6Net| b.link == l)
            && match &q.key {
                Key::Address(a) => b.covers(*a),
                _ => true,
            }
    }

    fn refill(&mut self) {
        let Some(source) = self.source.as_mut() else {
            return;
        };
        match source {
            Source::List(it) => self.buf.extend(it.take(BATCH)),
            Source::Cursor(c) => self.buf.extend(c.next_batch(BATCH)),
            Source::All(after) => {
                if let Some(s) = &self.snapshot {
                    let from = after.unwrap_or(Key6::MIN);
                    let skip = *after;
                    self.buf.extend(
                        s.range_from(from)
                            .filter(|b| Some(b.key6()) != skip)
                            .take(BATCH)
                            .cloned(),
                    );
                    if let Some(last) = self.buf.back() {
                        *after = Some(last.key6());
                    }
                }
            }
        }
    }

    /// The next binding to send.
    fn pull(&mut self) -> Option<Arc<Binding6>> {
        loop {
            if self.buf.is_empty() {
                self.refill();
                if self.buf.is_empty() {
                    self.source = None;
                    self.snapshot = None;
                    return None;
                }
            }
            let b = self.buf.pop_front()?;
            // A binding without a DUID or a valid lifetime left has no CLIENT_DATA.
            if self.wanted(&b)
                && b.duid().is_some()
                && client_data::resource(&b, self.now).is_some()
            {
                return Some(b);
            }
        }
    }

    /// The next binding the query reports, without framing a message (the control API's
    /// leasequery answers with the bindings a bulk query would stream, as JSON).
    pub fn next_binding(&mut self) -> Option<Arc<Binding6>> {
        self.pull()
    }

    fn message(&self, msg_type: MessageType, options: Vec<DhcpOption>) -> Repr {
        Repr::ClientServer(ClientServerMessage {
            msg_type,
            transaction_id: self.transaction_id,
            options,
        })
    }

    /// A LEASEQUERY-REPLY's leading options: SERVERID, then the requestor's CLIENTID.
    fn reply_head(&self, server_id: &Duid) -> Vec<DhcpOption> {
        let mut o = vec![DhcpOption::ServerId(server_id.clone())];
        o.extend(self.client_id.clone().map(DhcpOption::ClientId));
        o
    }

    /// The next message, or `None` once finished; client data from `ctx`.
    pub fn next_message(
        &mut self,
        server_id: &Duid,
        ctx: &client_data::Context,
    ) -> Option<(Repr, Sent)> {
        match self.state {
            State::Finished => None,
            State::Fail(code, text) => {
                self.state = State::Finished;
                let status = DhcpOption::StatusCode {
                    code,
                    message: text.as_bytes().to_vec(),
                };
                let m = if self.emitted == 0 {
                    let mut o = self.reply_head(server_id);
                    o.push(status);
                    self.message(MessageType::LeasequeryReply, o)
                } else {
                    self.message(MessageType::LeasequeryDone, vec![status])
                };
                self.produced += 1;
                Some((m, Sent::Failure(code)))
            }
            State::Bindings => {
                let Some(b) = self.pull() else {
                    self.state = State::Finished;
                    self.produced += 1;
                    return Some(if self.emitted == 0 {
                        let head = self.reply_head(server_id);
                        (
                            self.message(MessageType::LeasequeryReply, head),
                            Sent::Empty,
                        )
                    } else {
                        // Success, not nothing: an option-less DONE is valid (RFC 5460 §5.2.2)
                        // but Wireshark's dissector reports it malformed (docs/protocol.md decision 27).
                        let success = DhcpOption::StatusCode {
                            code: status::SUCCESS,
                            message: Vec::new(),
                        };
                        let done = self.message(MessageType::LeasequeryDone, vec![success]);
                        (done, Sent::Done)
                    });
                };
                let oro = self.query.as_ref().map_or(&[][..], |q| &q.oro[..]);
                let link = ctx.link_of(&b);
                let data =
                    client_data::client_data(ctx, link, std::slice::from_ref(&b), oro, self.now);
                let (kind, mut options) = if self.produced == 0 {
                    (MessageType::LeasequeryReply, self.reply_head(server_id))
                } else {
                    (MessageType::LeasequeryData, Vec::new())
                };
                options.push(data);
                self.produced += 1;
                Some((self.message(kind, options), Sent::Binding))
            }
        }
    }
}
