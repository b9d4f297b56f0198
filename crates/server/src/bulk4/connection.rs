//! The DHCPv4 side of a bulk leasequery TCP connection: the [`Protocol`] that the shared
//! connection engine ([`crate::bulk::connection`], which has the framing, limits, timers and
//! closing rules) carries for DHCPv4.
//!
//! - the dialect is the first frame's (docs/protocol.md decision 1): the decoder detects it, and
//!   the code points follow it ([`Codes`]);
//! - a query whose xid is still being answered is refused with the failure message;
//! - replies are built by [`super::stream`], counted here as they go out.

use super::codes::{Codes, Status};
use super::counters::{CloseReason, Counters};
use super::query::{self, Reason, Refusal};
use super::stream::{Sent, Stream};
use super::Params;
use crate::bulk::connection::{self as generic, Limits, Message, Protocol, Terminate};
use crate::leasequery4::reply::Context;
pub use generic::Close;
pub use lessor_net::Now;
use lessor_store::Store;
use lessor_wire::framing::{Decoder, Dialect};
use lessor_wire::v4::MessageType;
use std::collections::VecDeque;
use std::sync::Arc;

impl From<Close> for CloseReason {
    fn from(c: Close) -> Self {
        match c {
            Close::Junk(_) => CloseReason::Junk,
            Close::DataTimeout => CloseReason::DataTimeout,
            Close::IdleTimeout => CloseReason::IdleTimeout,
            Close::FrameTimeout => CloseReason::FrameTimeout,
            Close::FirstQueryTimeout => CloseReason::FirstQueryTimeout,
            Close::Finished => CloseReason::Finished,
            Close::Shutdown => CloseReason::Shutdown,
            Close::Aborted => CloseReason::Aborted,
        }
    }
}

/// One DHCPv4 bulk leasequery connection (see the module docs).
pub type Connection = generic::Connection<V4>;

/// DHCPv4 bulk leasequery as a [`Protocol`].
pub struct V4 {
    params: Arc<Params>,
    store: Arc<Store>,
    counters: Arc<Counters>,
    /// The dialect's code points, from the first frame on.
    codes: Option<Codes>,
}

/// A DHCPv4 reply and what it is, for the counters.
pub struct Reply4 {
    repr: lessor_wire::v4::Repr,
    sent: Sent,
}

impl Message for Reply4 {
    fn buffer_len(&self) -> usize {
        self.repr.buffer_len()
    }
    fn emit(&self, buf: &mut [u8]) -> bool {
        let len = buf.len();
        self.repr.emit(buf).is_ok_and(|n| n == len)
    }
}

impl Connection {
    /// A new connection, accepted at `now`.
    pub fn new(params: Arc<Params>, store: Arc<Store>, counters: Arc<Counters>, now: Now) -> Self {
        Connection::with_protocol(
            V4 {
                params,
                store,
                counters,
                codes: None,
            },
            now,
        )
    }
}

impl Protocol for V4 {
    type Stream = Stream;
    type Message = Reply4;

    fn limits(&self) -> Limits {
        let p = &self.params;
        Limits {
            queries_per_connection: p.queries_per_connection,
            data_timeout_ms: p.data_timeout_ms,
            idle_timeout_ms: p.idle_timeout_ms,
            frame_timeout_ms: p.frame_timeout_ms,
            first_query_timeout_ms: p.first_query_timeout_ms,
            max_message_size: p.max_message_size,
        }
    }

    fn decoder(&self, max_message_size: usize) -> Decoder {
        Decoder::detect_v4(max_message_size)
    }

    fn query(
        &mut self,
        m: &[u8],
        dialect: Dialect,
        open: &VecDeque<Stream>,
        now: Now,
    ) -> Result<Stream, lessor_wire::Error> {
        let codes = match self.codes {
            Some(c) => c,
            None => {
                let c = Codes::new(dialect, &self.params.draft_codes);
                self.codes = Some(c);
                match c.dialect {
                    Dialect::Draft => self.counters.draft.add(),
                    _ => self.counters.rfc6926.add(),
                }
                c
            }
        };
        let wall = now.wall;
        let parsed = query::parse(m, &codes).map_err(|_| lessor_wire::Error::Truncated)?;
        let refuse = |xid, reason: Reason| {
            Stream::failure(xid, codes, wall, reason.status(&codes), reason.text())
        };
        Ok(match parsed {
            Ok(q) => {
                if open.iter().any(|s| s.is_query() && s.xid() == q.query.xid) {
                    refuse(q.query.xid, Reason::DuplicateXid)
                } else {
                    self.counters.count_query(q.key.kind());
                    Stream::new(q, self.store.v4().durable_snapshot(), codes, wall)
                }
            }
            Err(Refusal { xid, reason }) => refuse(xid, reason),
        })
    }

    fn next_message(&mut self, stream: &mut Stream) -> Option<Reply4> {
        let params = &self.params;
        let ctx = Context {
            server_identifier: params.server_identifier,
            subnets: &params.subnets,
            global_options: &params.global_options,
            non_sensitive: &params.non_sensitive,
        };
        let manages = |a| crate::leasequery4::manages(&params.subnets, a);
        let (repr, sent) = stream.next_message(&ctx, &manages)?;
        Some(Reply4 { repr, sent })
    }

    fn emitted(&mut self, stream: &mut Stream, m: &Reply4) {
        stream.emitted();
        let kind = match m.repr.option(lessor_wire::v4::code::DHCP_MESSAGE_TYPE) {
            Some(lessor_wire::v4::DhcpOption::MessageType(t)) => u8::from(*t),
            _ => 0,
        };
        let c = &self.counters;
        match m.sent {
            Sent::Binding => {
                c.bindings.add();
                if kind == u8::from(MessageType::LeaseActive) {
                    c.active.add();
                } else if kind == u8::from(MessageType::LeaseUnassigned) {
                    c.unassigned_bindings.add();
                } else {
                    c.data.add();
                }
            }
            Sent::Done => c.done.add(),
            Sent::Unassigned => c.unassigned.add(),
            Sent::Unknown => c.unknown.add(),
            Sent::Failure(s) => c.count_failure(s),
        }
    }

    fn is_finished(stream: &Stream) -> bool {
        stream.is_finished()
    }

    fn terminate(&mut self, stream: &mut Stream, why: Terminate) {
        match why {
            Terminate::TooLarge => {
                stream.terminate(Status::UnspecFail, "reply too large");
                self.counters.aborted.add();
            }
            Terminate::Aborted => stream.terminate(Status::QueryTerminated, "connection aborted"),
            Terminate::Shutdown => {
                stream.terminate(Status::QueryTerminated, "server shutting down")
            }
        }
    }
}
