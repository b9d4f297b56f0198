//! On-demand recovery (RFC 4388 §6.6, issue 15): an address the table does not know is asked
//! about by a UDP DHCPLEASEQUERY by IP through the requestor ([`Requestor`]), which keeps at most
//! one query outstanding per address (a second question joins the first), paces each server
//! (§6.6: one query outstanding to a server until it answers, a silent server polled), and keeps
//! UNASSIGNED and UNKNOWN answers in its negative cache. Sans-IO: the shell owns the socket
//! and passes every instant in.
//!
//! Each question carries a token of the asker; [`Lookups::poll_done`] hands back, per token, what
//! the servers said, and for an active lease of this relay's the [`Location`] to merge
//! ([`Origin::Queried`]).
//!
//! An active answer is this relay's client when its option 82 carries this relay's relay-id,
//! or no relay-id and the circuit-id of one of its interfaces; an active lease relayed by another
//! agent (or of which the server keeps no relay data) tells where the client is not, and is not
//! merged (docs/protocol.md decision 34).

use std::collections::HashMap;
use std::net::{Ipv4Addr, SocketAddr};
use std::time::Instant;

use lessor_requestor::{Config, Event, LeaseInfo, QueryId, QueryKey, Requestor};

use super::{location4, Named};
use crate::location::{Location, Origin};

/// What the servers said about an address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Said {
    /// An active lease of a client behind this relay: merge it.
    Here(Location),
    /// An active lease, but not one this relay relayed (another relay-id or circuit-id, or no
    /// relay data): the client is not behind this relay as far as anyone knows.
    Elsewhere,
    /// DHCPLEASEUNASSIGNED (or a legacy DHCPNAK): the server has no lease on it.
    Unassigned,
    /// DHCPLEASEUNKNOWN: no server knows the address.
    Unknown,
    /// No server answered in time.
    NoReply,
}

impl Said {
    /// "active", "elsewhere", "unassigned", "unknown", "no-reply".
    pub fn as_str(&self) -> &'static str {
        match self {
            Said::Here(_) => "active",
            Said::Elsewhere => "elsewhere",
            Said::Unassigned => "unassigned",
            Said::Unknown => "unknown",
            Said::NoReply => "no-reply",
        }
    }
}

/// The outcome of one question.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Done {
    /// The asker's token.
    pub token: u64,
    pub address: Ipv4Addr,
    pub said: Said,
    /// Served from the requestor's cache (nothing was sent).
    pub from_cache: bool,
    /// The server whose answer it is.
    pub server: Option<SocketAddr>,
}

#[derive(Debug, Clone, Copy)]
struct Asker {
    token: u64,
    address: Ipv4Addr,
}

/// The on-demand queries of one relay (see the module docs).
#[derive(Debug)]
pub struct Lookups {
    requestor: Requestor,
    askers: HashMap<QueryId, Asker>,
    relay_id: Vec<u8>,
    interfaces: Vec<Named>,
}

impl Lookups {
    /// Queries sent per `config` (its giaddr is where the servers answer), for the relay
    /// `relay_id` whose interfaces' circuit-ids are `interfaces`.
    pub fn new(config: Config, relay_id: Vec<u8>, interfaces: Vec<Named>) -> Lookups {
        Lookups {
            requestor: Requestor::new(config),
            askers: HashMap::new(),
            relay_id,
            interfaces,
        }
    }

    /// Asks about `address` for `token`. An answer in the cache comes out of the next
    /// [`Lookups::poll_done`] without anything sent; a question about an address already being
    /// asked joins it.
    pub fn ask(&mut self, token: u64, address: Ipv4Addr, now: Instant) -> Result<(), String> {
        let id = self
            .requestor
            .submit(QueryKey::Ip(address), now)
            .map_err(|e| e.to_string())?;
        self.askers.insert(id, Asker { token, address });
        Ok(())
    }

    /// A binding for `address` appeared in the table (a DHCPACK gleaned): what the cache says
    /// of it is stale (§6.5), UNASSIGNED included.
    pub fn gleaned(&mut self, address: Ipv4Addr) {
        self.requestor.glean(address);
    }

    /// A datagram for the requestor (from its socket, or a leasequery reply that reached the
    /// relay's port at giaddr). What is not an answer to an outstanding query is ignored.
    pub fn handle_reply(&mut self, from: SocketAddr, bytes: &[u8], now: Instant) {
        let _ = self.requestor.handle_reply(from, bytes, now);
    }

    /// The next query to send, if one is due.
    pub fn poll_transmit(&mut self, now: Instant) -> Option<(SocketAddr, Vec<u8>)> {
        self.requestor.poll_transmit(now)
    }

    /// When [`Lookups::poll_transmit`] next has work.
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.requestor.poll_timeout()
    }

    /// Questions asked and not answered yet.
    pub fn outstanding(&self) -> usize {
        self.askers.len()
    }

    /// The next finished question. `now` is the caller's monotonic clock and `wall` the wall
    /// clock at the same moment (seconds since 1970): an answer's times are relative to when it
    /// arrived.
    pub fn poll_done(&mut self, now: Instant, wall: u64) -> Option<Done> {
        loop {
            let event = self.requestor.poll_event()?;
            let (id, answer) = match event {
                Event::Answered(id, answer) => (id, Ok(answer)),
                Event::Failed(id, _) => (id, Err(())),
            };
            let Some(asker) = self.askers.remove(&id) else {
                continue;
            };
            let answer = match answer {
                Ok(a) => a,
                Err(()) => {
                    return Some(Done {
                        token: asker.token,
                        address: asker.address,
                        said: Said::NoReply,
                        from_cache: false,
                        server: None,
                    })
                }
            };
            // The table is asked first: a cached active lease it does not hold has ended since
            // (released, NAKed, expired as the relay saw it). Ask again.
            if answer.from_cache && answer.lease.is_found() {
                self.requestor.glean(asker.address);
                if self.ask(asker.token, asker.address, now).is_ok() {
                    continue;
                }
            }
            let age = now.saturating_duration_since(answer.received).as_secs();
            let said = self.said(&answer.lease, wall.saturating_sub(age));
            return Some(Done {
                token: asker.token,
                address: asker.address,
                said,
                from_cache: answer.from_cache,
                server: Some(answer.server),
            });
        }
    }

    fn said(&self, lease: &LeaseInfo, received: u64) -> Said {
        if lease.is_found() {
            let ours = match (lease.relay_id(), lease.circuit_id()) {
                (Some(id), _) => id == self.relay_id,
                (None, Some(c)) => self.interfaces.iter().any(|i| i.id == c),
                (None, None) => false,
            };
            return match location4(lease, received, &self.interfaces, Origin::Queried) {
                Some(l) if ours => Said::Here(l),
                _ => Said::Elsewhere,
            };
        }
        match lease.state {
            lessor_requestor::LeaseState::Unknown => Said::Unknown,
            _ => Said::Unassigned,
        }
    }
}
