//! The DHCPv6 side of a bulk leasequery TCP connection: the [`Protocol`] that the shared
//! connection engine ([`crate::bulk::connection`]: framing, limits, timers, interleaving,
//! back-pressure, closing) carries for RFC 5460.
//!
//! - frames are RFC 5460 §5.1's (2-octet msg-size, [`Dialect::V6`]);
//! - each LEASEQUERY is read by [`super::query`] and answered by a [`Stream`] over the store's
//!   durable snapshot; a query whose transaction-id is still being answered on this connection
//!   is refused with UnspecFail (RFC 5460 §7.3: requestors use distinct ids for parallel
//!   queries).

use super::counters::Counters;
use super::query::{self, Refusal};
use super::stream::{Sent, Stream};
use super::Params;
use crate::bulk::connection::{self as generic, Limits, Message, Protocol, Terminate};
use lessor_net::Now;
use lessor_store::Store;
use lessor_wire::framing::{Decoder, Dialect};
use lessor_wire::v6::{status, Repr};
use std::collections::VecDeque;
use std::sync::Arc;

/// One DHCPv6 bulk leasequery connection.
pub type Connection = generic::Connection<V6>;

/// DHCPv6 bulk leasequery as a [`Protocol`].
pub struct V6 {
    params: Arc<Params>,
    store: Arc<Store>,
    counters: Arc<Counters>,
}

/// A DHCPv6 reply and what it is, for the counters.
pub struct Reply6 {
    repr: Repr,
    sent: Sent,
}

impl Reply6 {
    /// The message.
    pub fn repr(&self) -> &Repr {
        &self.repr
    }
}

impl Message for Reply6 {
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
            V6 {
                params,
                store,
                counters,
            },
            now,
        )
    }
}

impl Protocol for V6 {
    type Stream = Stream;
    type Message = Reply6;

    fn limits(&self) -> Limits {
        self.params.limits
    }

    fn decoder(&self, max_message_size: usize) -> Decoder {
        Decoder::new(Dialect::V6, max_message_size)
    }

    fn query(
        &mut self,
        m: &[u8],
        _: Dialect,
        open: &VecDeque<Stream>,
        now: Now,
    ) -> Result<Stream, lessor_wire::Error> {
        let wall = now.wall;
        let p = &self.params;
        Ok(match query::parse(m, &p.server_id, &p.links)? {
            Ok(q) => {
                let xid = q.transaction_id;
                if open
                    .iter()
                    .any(|s| s.is_query() && s.transaction_id() == xid)
                {
                    let text = "transaction-id in use";
                    Stream::failure(xid, Some(q.client_id), wall, status::UNSPEC_FAIL, text)
                } else {
                    self.counters.count_query(q.key.query_type());
                    Stream::new(q, self.store.v6().durable_snapshot(), wall)
                }
            }
            Err(Refusal {
                transaction_id,
                client_id,
                status,
                text,
            }) => Stream::failure(transaction_id, client_id, wall, status, text),
        })
    }

    fn next_message(&mut self, stream: &mut Stream) -> Option<Reply6> {
        let (repr, sent) = stream.next_message(&self.params.server_id, &self.params.client_data)?;
        Some(Reply6 { repr, sent })
    }

    fn emitted(&mut self, stream: &mut Stream, m: &Reply6) {
        stream.emitted();
        let c = &self.counters;
        match m.sent {
            Sent::Binding => c.bindings.add(),
            Sent::Done => c.done.add(),
            Sent::Empty => c.empty.add(),
            Sent::Failure(s) => c.count_failure(s),
        }
    }

    fn is_finished(stream: &Stream) -> bool {
        stream.is_finished()
    }

    fn terminate(&mut self, stream: &mut Stream, why: Terminate) {
        match why {
            Terminate::TooLarge => {
                stream.terminate(status::UNSPEC_FAIL, "reply too large");
                self.counters.aborted.add();
            }
            Terminate::Aborted => stream.terminate(status::QUERY_TERMINATED, "connection aborted"),
            Terminate::Shutdown => {
                stream.terminate(status::QUERY_TERMINATED, "server shutting down")
            }
        }
    }
}
