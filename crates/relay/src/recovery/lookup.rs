//! On-demand recovery (RFC 4388 §6.6, RFC 5007, issue 15): an address the table does not know is
//! asked about by a UDP leasequery through the requestor ([`Requestor`]): a DHCPLEASEQUERY by IP
//! (DHCPv4), a LEASEQUERY QUERY_BY_ADDRESS (DHCPv6, RFC 5007 §4.1.2.1, which also finds the
//! delegated prefix holding the address). The requestor keeps at most one query outstanding
//! per address (a second question joins the first), paces each server (§6.6: one query
//! outstanding to a server until it answers, a silent server polled), and keeps negative answers
//! in its cache until the relay sees the address bound ([`Lookups::gleaned`]). Sans-IO: the
//! shell owns the socket and passes every instant in. [`Lookups`] is written once for both
//! families; what differs (the key, reading an answer) is [`Asked`].
//!
//! Each question carries a token of the asker; [`Lookups::poll_done`] hands back, per token, what
//! the servers said, and for an active lease of this relay's the [`Location`] to merge
//! ([`Origin::Queried`]).
//!
//! An active answer is this relay's client when its relay data says so (docs/protocol.md
//! decision 34): DHCPv4, option 82 with this relay's relay-id, or no relay-id and the
//! circuit-id of one of its interfaces; DHCPv6, LQ_RELAY_DATA with a hop carrying this relay's
//! Relay-Id, or an innermost hop without Relay-Id and with one of its interfaces' Interface-ID.
//! An active lease relayed by another agent (or of which the server keeps no relay data) tells
//! where the client is not, and is not merged.

use std::collections::HashMap;
use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::time::Instant;

use ipnet::Ipv6Net;
use lessor_requestor::recover::{Binding6, Bound6};
use lessor_requestor::{Config, Event, Family, LeaseInfo, LeaseInfo6, QueryId, QueryKey};
use lessor_requestor::{QueryKey6, Requestor, V4, V6};
use lessor_wire::v6::Duid;

use super::{location4, location6, ours6, Named};
use crate::location::{Location, Origin};

/// What the servers said about an address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Said {
    /// An active lease of a client behind this relay: merge it.
    Here(Location),
    /// An active lease, but not one this relay relayed (another relay-id or circuit-id, or no
    /// relay data): the client is not behind this relay as far as anyone knows.
    Elsewhere,
    /// DHCPLEASEUNASSIGNED (or a legacy DHCPNAK); DHCPv6: a LEASEQUERY-REPLY with Success
    /// and no client data. The server has no lease on it.
    Unassigned,
    /// DHCPLEASEUNKNOWN; DHCPv6: an error status (NotConfigured, ...). No server knows the
    /// address.
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
    pub address: IpAddr,
    pub said: Said,
    /// Served from the requestor's cache (nothing was sent).
    pub from_cache: bool,
    /// The server whose answer it is.
    pub server: Option<SocketAddr>,
}

/// What a family's on-demand lookup needs beyond the requestor: the key for an address, and
/// what an answer says of it.
pub trait Asked: Family {
    /// An address of the family.
    type Address: Copy + fmt::Debug + Into<IpAddr>;
    /// The query for `address`.
    fn key(address: Self::Address) -> Self::Key;
    /// `address` as what the table binds (for [`Requestor::glean`]).
    fn bound(address: Self::Address) -> Self::Bound;
    /// Whether the answer names an active lease.
    fn active(info: &Self::Info) -> bool;
    /// What `info` says of `address`, its times relative to `at` (wall-clock seconds).
    fn said(info: &Self::Info, address: Self::Address, at: u64, ours: &Ours) -> Said;
}

/// Who this relay is, to tell its clients' answers from another relay's.
#[derive(Debug, Clone)]
pub struct Ours {
    /// The relay-id (DHCPv4 sub-option 12; DHCPv6 Relay-Id, a DUID).
    pub relay_id: Vec<u8>,
    /// The relay-id as a DUID, when it is one.
    duid: Option<Duid>,
    /// The downstream interfaces by circuit-id (DHCPv4) or Interface-ID (DHCPv6).
    pub interfaces: Vec<Named>,
}

impl Ours {
    pub fn new(relay_id: Vec<u8>, interfaces: Vec<Named>) -> Ours {
        Ours {
            duid: Duid::parse(&relay_id).ok(),
            relay_id,
            interfaces,
        }
    }
}

impl Asked for V4 {
    type Address = Ipv4Addr;

    fn key(address: Ipv4Addr) -> QueryKey {
        QueryKey::Ip(address)
    }

    fn bound(address: Ipv4Addr) -> Ipv4Addr {
        address
    }

    fn active(info: &LeaseInfo) -> bool {
        info.is_found()
    }

    fn said(lease: &LeaseInfo, _: Ipv4Addr, at: u64, ours: &Ours) -> Said {
        if lease.is_found() {
            let mine = match (lease.relay_id(), lease.circuit_id()) {
                (Some(id), _) => id == ours.relay_id,
                (None, Some(c)) => ours.interfaces.iter().any(|i| i.id == c),
                (None, None) => false,
            };
            return match location4(lease, at, &ours.interfaces, Origin::Queried) {
                Some(l) if mine => Said::Here(l),
                _ => Said::Elsewhere,
            };
        }
        match lease.state {
            lessor_requestor::LeaseState::Unknown => Said::Unknown,
            _ => Said::Unassigned,
        }
    }
}

impl Asked for V6 {
    type Address = Ipv6Addr;

    /// link-address `::`: the server finds the link (RFC 5007 §4.1.2.1); a client on several
    /// links is asked about once per link (CLIENT_LINK, §4.3.3), by the requestor.
    fn key(address: Ipv6Addr) -> QueryKey6 {
        QueryKey6::Address {
            address,
            link: Ipv6Addr::UNSPECIFIED,
        }
    }

    fn bound(address: Ipv6Addr) -> Ipv6Net {
        Ipv6Net::from(address)
    }

    fn active(info: &LeaseInfo6) -> bool {
        info.is_found()
    }

    /// The binding that holds `address`: the address itself (IAADDR), or the delegated prefix
    /// holding it (IAPREFIX; the entry is the prefix). Several clients may be named (CLIENT_LINK
    /// follow-ups): the first that holds it and is ours, else elsewhere.
    fn said(info: &LeaseInfo6, address: Ipv6Addr, at: u64, ours: &Ours) -> Said {
        if !info.is_success() {
            return Said::Unknown;
        }
        if info.clients.is_empty() {
            return Said::Unassigned;
        }
        let mut bindings = Vec::new();
        for c in &info.clients {
            Binding6::split(c.clone(), info.server_id.as_ref(), 0, at, &mut bindings);
        }
        let holds = |b: &Binding6| match b.bound {
            Bound6::Address(a) => a == address,
            Bound6::Prefix(p, len) => Ipv6Net::new(p, len).is_ok_and(|n| n.contains(&address)),
        };
        let duid = ours.duid.as_ref();
        let mine = bindings
            .iter()
            .filter(|b| holds(b) && ours6(b, duid, &ours.interfaces))
            .find_map(|b| location6(b, at, &ours.interfaces, duid, Origin::Queried));
        mine.map_or(Said::Elsewhere, Said::Here)
    }
}

#[derive(Debug, Clone, Copy)]
struct Asker<A> {
    token: u64,
    address: A,
}

/// The on-demand queries of one relay for one family (see the module docs).
#[derive(Debug)]
pub struct Lookups<F: Asked = V4> {
    requestor: Requestor<F>,
    askers: HashMap<QueryId, Asker<F::Address>>,
    ours: Ours,
}

impl<F: Asked> Lookups<F> {
    /// Queries sent per `config` (DHCPv4: its giaddr is where the servers answer; DHCPv6: its
    /// DUID is the relay's), for the relay `relay_id` whose interfaces' circuit-ids or
    /// Interface-IDs are `interfaces`.
    pub fn new(config: Config<F>, relay_id: Vec<u8>, interfaces: Vec<Named>) -> Lookups<F> {
        Lookups {
            requestor: Requestor::new(config),
            askers: HashMap::new(),
            ours: Ours::new(relay_id, interfaces),
        }
    }

    /// Asks about `address` for `token`. An answer in the cache comes out of the next
    /// [`Lookups::poll_done`] without anything sent; a question about an address already being
    /// asked joins it.
    pub fn ask(&mut self, token: u64, address: F::Address, now: Instant) -> Result<(), String> {
        let id = self
            .requestor
            .submit(F::key(address), now)
            .map_err(|e| e.to_string())?;
        self.askers.insert(id, Asker { token, address });
        Ok(())
    }

    /// A binding for `bound` appeared in the table (a DHCPACK or a Reply gleaned): what the
    /// cache says of it is stale (§6.5), negative answers included.
    pub fn gleaned(&mut self, bound: F::Bound) {
        self.requestor.glean(bound);
    }

    /// Forgets every cached answer (more was gleaned than could be told one by one).
    pub fn forget_answers(&mut self) {
        self.requestor.clear_cache();
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
                        address: asker.address.into(),
                        said: Said::NoReply,
                        from_cache: false,
                        server: None,
                    })
                }
            };
            // The table is asked first: a cached active lease it does not hold has ended since
            // (released, NAKed, expired as the relay saw it). Ask again.
            if answer.from_cache && F::active(&answer.lease) {
                self.requestor.glean(F::bound(asker.address));
                if self.ask(asker.token, asker.address, now).is_ok() {
                    continue;
                }
            }
            let age = now.saturating_duration_since(answer.received).as_secs();
            let said = F::said(
                &answer.lease,
                asker.address,
                wall.saturating_sub(age),
                &self.ours,
            );
            return Some(Done {
                token: asker.token,
                address: asker.address.into(),
                said,
                from_cache: answer.from_cache,
                server: Some(answer.server),
            });
        }
    }
}
