//! `lessor perf bulk`: how fast a server streams one bulk leasequery over TCP, DHCPv4 (RFC 6926
//! or the draft) or DHCPv6 (RFC 5460).
//!
//! A measuring client, not a requestor: it sends one query (then optionally more, one after
//! the other on the same connection), reads the replies with lessor-wire's frame
//! [`Decoder`] and only *counts* them: per message it reads the few header octets that say
//! which query it answers and what kind of message it is, and (for the messages that can end a
//! query) whether a status code is there. Nothing is built per binding, so the client is not
//! what limits the rate.
//!
//! Split like the other generators, one engine for both families:
//! - this module: what is shared: the sans-IO [`Counter`] of one query's replies (the framing,
//!   the counts, the end), over a family's [`Rules`] (which message is a binding, which ends the
//!   query, what is an error), and the [`BulkQuery`] a family implements;
//! - [`v4`] and [`v6`]: the families' queries and rules;
//! - [`run`](mod@run): the thin blocking I/O loop over one TCP connection;
//! - [`report`]: the figures as text or JSON.

pub mod report;
pub mod run;
pub mod v4;
pub mod v6;

use std::fmt;
use std::net::SocketAddr;

use lessor_wire::framing::{Decoder, Dialect, MAX_MESSAGE_SIZE};

pub use report::BulkReport;
pub use run::{run, BulkConfig};
pub use v4::{encode_bulk_query, Query4, Rules4};
pub use v6::{Query6, Rules6};

/// What a family's bulk query is: the message that asks, and how its replies are read.
pub trait BulkQuery: Clone + fmt::Debug + PartialEq {
    /// How the replies to one query are read.
    type Rules: Rules;

    /// The framing and message set spoken.
    fn dialect(&self) -> Dialect;

    /// Rejects a query the run cannot make.
    fn validate(&self) -> Result<(), String>;

    /// The transaction-id of the query made `n`-th from the run's first xid (the field's width:
    /// 32 bits in DHCPv4, 24 in DHCPv6).
    fn transaction_id(n: u32) -> u32;

    /// The query with transaction-id `xid`, unframed, sent on a connection from `local`.
    fn encode(&self, xid: u32, local: SocketAddr) -> Vec<u8>;

    /// The rules for the replies to the query `xid`.
    fn rules(&self, xid: u32) -> Self::Rules;

    /// What the query asks by, as the CLI names it ("relay-id").
    fn by(&self) -> &'static str;
}

/// What one reply message is to the query being counted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reply {
    /// A binding, by kind.
    Binding(Binding),
    /// The last message of the query.
    End(End),
}

/// The kinds of binding messages (which [`Counts`] field counts it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Binding {
    /// DHCPv4 DHCPLEASEACTIVE; DHCPv6 LEASEQUERY-REPLY with CLIENT_DATA.
    Active,
    /// Draft DHCPLEASEDATA; DHCPv6 LEASEQUERY-DATA.
    Data,
    /// RFC 6926 DHCPLEASEUNASSIGNED.
    Unassigned,
}

/// A family's reading of the replies to one query (sans IO, one message at a time).
pub trait Rules {
    /// What `message` (one whole frame's content) is; an error closes the connection.
    fn reply(&mut self, message: &[u8]) -> Result<Reply, StreamError>;
}

/// How a query ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum End {
    /// DONE with no failure status: every binding was sent.
    Done,
    /// Nothing matches: DHCPv4 a single DHCPLEASEUNASSIGNED / DHCPLEASEUNKNOWN, DHCPv6 a
    /// LEASEQUERY-REPLY without CLIENT_DATA (message type).
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
    /// A message too short for its header, or whose options cannot be read.
    Malformed(lessor_wire::Error),
    /// A DHCPv4 message that is not a BOOTREPLY.
    NotReply,
    /// A reply with another xid (transaction-id) than the query's.
    UnknownXid(u32),
    /// A reply without a message type, or of a type that does not answer a bulk query (or not
    /// at this point of the stream).
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

/// Messages of one query, by kind ([`Binding`]).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    /// DHCPLEASEACTIVE; DHCPv6 LEASEQUERY-REPLY with CLIENT_DATA.
    pub active: u64,
    /// DHCPLEASEDATA (draft); DHCPv6 LEASEQUERY-DATA.
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
pub struct Counter<R> {
    rules: R,
    counts: Counts,
    end: Option<End>,
}

impl<R: Rules> Counter<R> {
    /// A counter reading replies by `rules`.
    pub fn with_rules(rules: R) -> Counter<R> {
        Counter {
            rules,
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
                match self.rules.reply(message)? {
                    Reply::Binding(Binding::Active) => self.counts.active += 1,
                    Reply::Binding(Binding::Data) => self.counts.data += 1,
                    Reply::Binding(Binding::Unassigned) => self.counts.unassigned += 1,
                    Reply::End(end) => self.end = Some(end),
                }
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
}

/// A decoder for replies in `dialect`.
pub fn decoder(dialect: Dialect) -> Decoder {
    Decoder::new(dialect, MAX_MESSAGE_SIZE)
}

#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests6;
