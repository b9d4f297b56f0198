//! The DHCPv4 engine: accepts or drops a client's message, selects its subnet, identifies its
//! client and answers it (RFC 2131 §4.3). Sans-IO: the router hands it a classified message
//! ([`Message4`]) and the time; it returns what to send ([`Output`]): now, or once the binding it
//! wrote is durable (a DHCPACK). Bindings go to the [`Store`]. Called from one thread at a time,
//! so the engine sees its own earlier writes through the store at once.
//!
//! Choices where the RFCs leave room:
//! - Identity is strict (RFC 2131 §4.2): with option 61 the client is its identifier, without
//!   it htype + chaddr, and a binding made under one never matches the other. Reservations by
//!   MAC match an Ethernet chaddr whatever the client identifier.
//! - A direct message (giaddr 0) is accepted on a served interface, or, when the client has an
//!   address (ciaddr), unicast to a listen address or the server identifier: renewals and
//!   releases of relayed clients reach the server without their relay.
//! - An offer is an Offered binding (memory only) for [`OFFER_LIFETIME`]; forgetting it (it lapsed,
//!   or the client chose another server) restores the binding it displaced. A client's own
//!   unexpired Active binding is offered as is, without an Offered record.
//! - INIT-REBOOT asking for a free address: silent for an unknown client, DHCPNAK for a client the
//!   server knows under another address in that subnet (or with a reservation there).
//! - A DHCPACK without option 82 (a unicast renewal) keeps the relay information of the binding,
//!   so leasequery still finds the client's location (RFC 4388 §6.7).
//! - The lease time is the subnet's; a client's requested lease time (51) is not honoured.
//! - While the store cannot commit, DHCPDISCOVERs are dropped (fail closed), and also while its
//!   queue is long (back-pressure); DHCPREQUESTs are still tried and answered only once durable.
//! - Option 82 is echoed in every reply to a message that carried it (RFC 3046 §2.2), including
//!   DHCPNAK; a DHCPNAK through a relay has the broadcast bit set, a direct one is broadcast.
//!
//! Hardening (what a hostile network can make the engine do):
//! - Rate limits per client, circuit and relay ([`super::limit`]) before a message is parsed.
//! - A direct unicast message (giaddr 0, ciaddr set, not on a served interface) is taken only
//!   from a source in a configured subnet or a configured relay (docs/protocol.md decision 13).
//! - Subnet selection (118) and link selection (82.5) are honoured only through a configured
//!   relay; a direct client's are ignored and counted (docs/protocol.md decision 10).
//! - No stored or echoed field is longer than one option (docs/protocol.md decision 11), and no
//!   reply is larger than the client's maximum message size, 576 octets without one
//!   (docs/protocol.md decision 12).
//! - Never-used addresses are found without scanning a pool ([`super::free`]).

use super::allocate::Allocator;
use super::counters::{Counters, DropReason};
use super::drops::{DropLog, DropReport, IfName, Origin};
use super::identity::Identity;
use super::limit::{Keys, Limited, Link, RateLimits};
use super::reply::{self, Content, Lease};
use super::select::{self, Hints};
use crate::config::options::ConfiguredOption;
use crate::config::schema::Dhcp4RateLimit;
use crate::config::{Config, Reservation, Subnet};
use crate::router4::Message4;
use ipnet::Ipv4Net;
use lessor_net::{Destination, Interface, Now, Outgoing};
use lessor_store::{
    Binding4, Completion, Deferred, Fields4, HwAddr, Record, Snapshot4, State4, Store, StoreError,
    Timestamp,
};
use lessor_wire::v4::{code, DhcpOption, MessageType, Repr};
use std::collections::HashMap;
use std::net::Ipv4Addr;
use std::sync::Arc;

/// The longest client identifier, option 82, host name or vendor class the server keeps (what
/// one option carries; docs/protocol.md decision 11).
pub const MAX_FIELD: usize = lessor_store::MAX_CLIENT_FIELD;

/// How long an offered address stays set aside for its client.
pub const OFFER_LIFETIME: u32 = 60;

/// Most bindings expired by one store call in [`Engine4::tick`].
pub const EXPIRE_CHUNK: usize = 1000;

/// Changes queued for the store above which DHCPDISCOVERs are dropped (back-pressure): a
/// quarter of what the store queues at most, so the DHCPREQUESTs of clients already offered an
/// address still find room.
pub const DISCOVER_BACKLOG: usize = lessor_store::MAX_BACKLOG / 4;

/// What [`Engine4::handle`] did with a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Handled {
    /// A reply (DHCPOFFER, DHCPNAK, DHCPACK to a DHCPINFORM) was sent.
    Replied(MessageType),
    /// A DHCPACK waits for its binding to be durable; it is sent from the store's completion.
    Committing,
    /// Applied, and no reply is due (DHCPRELEASE, DHCPDECLINE).
    Applied(MessageType),
    /// Dropped (counted).
    Dropped(DropReason),
}

/// What to send for one message.
#[derive(Debug)]
pub enum Output {
    /// Nothing.
    Nothing,
    /// This reply, now (DHCPOFFER, DHCPNAK, DHCPACK to a DHCPINFORM).
    Now(Outgoing),
    /// This reply once the binding it confirms is durable, and never if its commit fails
    /// (a DHCPACK to a DHCPREQUEST); the third, when there is one, instead if another server
    /// sharing the lease set took one of its bindings first ([`StoreError::Taken`]: a DHCPNAK,
    /// so that the client starts over at once rather than after its retransmissions).
    WhenDurable(Outgoing, Deferred, Option<Outgoing>),
}

/// An outstanding offer: when it lapses, and the binding it displaced (restored if the offer is
/// forgotten).
#[derive(Debug)]
struct Offer {
    end: Timestamp,
    previous: Option<Arc<Binding4>>,
}

/// One accepted message, with what acceptance found out about it.
struct Msg<'r> {
    repr: &'r Repr,
    kind: MessageType,
    subnet: usize,
    id: Identity,
    interface_index: Option<u32>,
    max_size: Option<u16>,
}

/// The DHCPv4 server engine.
pub struct Engine4 {
    /// `commit_taken` when the search for never-used addresses last moved away from a race
    /// with another server ([`crate::dhcp4::free::hop_seed`]).
    taken_seen: u64,
    server_identifier: Ipv4Addr,
    store: Arc<Store>,
    subnets: Vec<Subnet>,
    global_options: Vec<ConfiguredOption>,
    relays: Vec<Ipv4Net>,
    relay_port: u16,
    listen: Vec<Ipv4Addr>,
    served: Vec<Interface>,
    decline_probation: u32,
    allocator: Allocator,
    offers: HashMap<Ipv4Addr, Offer>,
    counters: Arc<Counters>,
    limits: RateLimits,
    /// What `limits` were made from: a reload keeps the buckets when it is unchanged.
    rate_limit: Dhcp4RateLimit,
    drop_log: DropLog,
    /// What the message being handled sends; taken by [`Engine4::handle`].
    output: Output,
}

impl std::fmt::Debug for Engine4 {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine4")
            .field("server_identifier", &self.server_identifier)
            .field("subnets", &self.subnets.len())
            .field("offers", &self.offers.len())
            .finish_non_exhaustive()
    }
}

fn option_addr(repr: &Repr, code: u8) -> Option<Ipv4Addr> {
    match repr.option(code)? {
        DhcpOption::RequestedIpAddress(a)
        | DhcpOption::ServerIdentifier(a)
        | DhcpOption::SubnetSelection(a) => Some(*a),
        _ => None,
    }
}

fn option_bytes(repr: &Repr, code: u8) -> Option<&[u8]> {
    match repr.option(code)? {
        DhcpOption::ClientIdentifier(v)
        | DhcpOption::VendorClassIdentifier(v)
        | DhcpOption::HostName(v) => Some(v),
        _ => None,
    }
}

/// The fields a DHCPREQUEST (or DHCPDISCOVER) gives its binding (RFC 4388 §6.7).
fn fields(repr: &Repr) -> Fields4<'_> {
    let rai = repr.relay_agent_information();
    let sub = |c: u8| rai.and_then(|r| r.sub_option(c).ok().flatten());
    Fields4 {
        client_id: option_bytes(repr, code::CLIENT_IDENTIFIER),
        relay_agent_information: rai.map(|r| r.as_bytes()),
        circuit_id: sub(code::relay::AGENT_CIRCUIT_ID),
        remote_id: sub(code::relay::AGENT_REMOTE_ID),
        relay_id: sub(code::relay::RELAY_ID),
        vendor_class_id: option_bytes(repr, code::VENDOR_CLASS_IDENTIFIER),
        hostname: option_bytes(repr, code::HOST_NAME),
    }
}

/// Whether the state leaves the address with its client (so a DHCPREQUEST may confirm it).
fn still_clients(state: State4) -> bool {
    matches!(
        state,
        State4::Active | State4::Offered | State4::Released | State4::Expired
    )
}

impl Engine4 {
    /// An engine for `config`'s `[dhcp4]` (none: every message is dropped as "no subnet").
    /// `interfaces` are the host's interfaces; those named in `dhcp4.interfaces` are served.
    pub fn new(
        config: &Config,
        store: Arc<Store>,
        interfaces: Vec<Interface>,
        server_identifier: Ipv4Addr,
    ) -> Engine4 {
        let raw = config.file.dhcp4.as_ref();
        let (subnets, global_options) = match &config.dhcp4 {
            Some(d) => (d.subnets.clone(), d.options.clone()),
            None => (Vec::new(), Vec::new()),
        };
        let names: Vec<String> = raw.map(|d| d.interfaces.clone()).unwrap_or_default();
        let mut allocator = Allocator::new(&subnets, &store.v4().snapshot());
        allocator
            .free()
            .start_at(crate::dhcp4::free::allocation_seed(&store));
        let rate_limit = raw.map(|d| d.rate_limit.clone()).unwrap_or_default();
        Engine4 {
            taken_seen: 0,
            server_identifier,
            store,
            allocator,
            subnets,
            global_options,
            relays: raw.map(|d| d.relays.clone()).unwrap_or_default(),
            relay_port: raw.map_or(67, |d| d.relay_port),
            listen: raw.map(|d| d.listen.clone()).unwrap_or_default(),
            served: interfaces
                .into_iter()
                .filter(|i| names.contains(&i.name))
                .collect(),
            decline_probation: raw.map_or(86_400, |d| d.decline_probation.0),
            offers: HashMap::new(),
            counters: Arc::new(Counters::default()),
            limits: RateLimits::new(&rate_limit),
            rate_limit,
            drop_log: DropLog::default(),
            output: Output::Nothing,
        }
    }

    /// Takes a reloaded `config` (docs/operator-guide.md, "Reloading the configuration"):
    /// subnets, pools, reservations, options, relays, the relay port, the decline probation and
    /// the rate limits change; the server identifier, listen addresses and served interfaces
    /// are the sockets' and stay (a reload that changes them is refused before this).
    ///
    /// Nothing the engine holds is lost: outstanding offers stay (a DHCPREQUEST for an address
    /// no longer in a pool is NAKed as any other, RFC 2131 §4.3.2), the allocator's indexes are
    /// rebuilt from the store (bindings outside every pool stay there until they expire), a
    /// subnet still configured keeps its quarantine, and the rate-limit buckets are kept when
    /// `[dhcp4.rate-limit]` is unchanged.
    pub fn reconfigure(&mut self, config: &Config) {
        let raw = config.file.dhcp4.as_ref();
        let (subnets, global_options) = match &config.dhcp4 {
            Some(d) => (d.subnets.clone(), d.options.clone()),
            None => (Vec::new(), Vec::new()),
        };
        // Quarantines by prefix: a subnet's place in the list may have changed.
        let until: Vec<Option<Timestamp>> = subnets
            .iter()
            .map(|s| {
                self.subnets
                    .iter()
                    .position(|o| o.prefix == s.prefix)
                    .and_then(|i| self.allocator.quarantine_of(i))
            })
            .collect();
        let mut allocator = Allocator::new(&subnets, &self.store.v4().snapshot());
        allocator
            .free()
            .start_at(crate::dhcp4::free::allocation_seed(&self.store));
        allocator.set_quarantine(&until);
        self.allocator = allocator;
        self.subnets = subnets;
        self.global_options = global_options;
        self.relays = raw.map(|d| d.relays.clone()).unwrap_or_default();
        self.relay_port = raw.map_or(67, |d| d.relay_port);
        self.decline_probation = raw.map_or(86_400, |d| d.decline_probation.0);
        let limits = raw.map(|d| d.rate_limit.clone()).unwrap_or_default();
        if limits != self.rate_limit {
            self.limits = RateLimits::new(&limits);
            self.rate_limit = limits;
        }
    }

    /// Quarantines subnets after unreadable store rows ([`super::quarantine`]).
    pub fn quarantine(&mut self, q: &super::Quarantine) {
        self.allocator.set_quarantine(&q.until);
    }

    /// The subnets whose quarantine is over at `now` (each reported once).
    pub fn quarantines_ended(&mut self, now: Timestamp) -> Vec<Ipv4Net> {
        self.allocator
            .end_quarantines(now)
            .into_iter()
            .map(|i| self.subnets[i].prefix)
            .collect()
    }

    /// The counters (shared with the store's completions).
    pub fn counters(&self) -> &Arc<Counters> {
        &self.counters
    }

    /// Offers outstanding.
    pub fn outstanding_offers(&self) -> usize {
        self.offers.len()
    }

    fn drop(&self, reason: DropReason) -> Handled {
        self.counters.count_drop(reason);
        Handled::Dropped(reason)
    }

    /// Handles one client message at `now` (wall clock seconds; its rate limits count whole
    /// seconds): for tests and tools that have only the wall clock. The server uses
    /// [`Engine4::handle_at`].
    pub fn handle(&mut self, msg: &Message4<'_>, now: Timestamp) -> (Handled, Output) {
        self.handle_at(
            msg,
            Now {
                wall: now,
                ms: now.saturating_mul(1000),
            },
        )
    }

    /// Handles one client message at `now` (lease times from the wall clock, rate limits from
    /// the monotonic one): what it did, and what to send.
    pub fn handle_at(&mut self, msg: &Message4<'_>, now: Now) -> (Handled, Output) {
        self.output = Output::Nothing;
        let handled = self.accept(msg, now);
        if let Handled::Dropped(reason) = handled {
            let origin = self.origin(msg);
            self.drop_log.record(reason, origin, now.ms);
        }
        (
            handled,
            std::mem::replace(&mut self.output, Output::Nothing),
        )
    }

    /// What the engine refused since it last said, at most one report every few seconds
    /// ([`super::drops`]), for the log.
    pub fn take_drop_report(&mut self, now_ms: u64) -> Option<DropReport> {
        self.drop_log.take(now_ms)
    }

    /// Buckets the rate limits hold (client, circuit, relay) and their fixed capacity.
    pub fn rate_limit_buckets(&self) -> ([usize; 3], [usize; 3]) {
        (self.limits.buckets(), self.limits.capacity())
    }

    /// Run entries looked at choosing never-used addresses since start ([`super::free`]).
    pub fn free_address_lookups(&mut self) -> u64 {
        self.allocator.free().examined()
    }

    /// Reuse-index entries looked at choosing reusable addresses since start
    /// ([`super::reuse`]).
    pub fn reuse_lookups(&mut self) -> u64 {
        self.allocator.reusable().examined()
    }

    /// Where a message came from, for the drop report.
    fn origin(&self, rx: &Message4<'_>) -> Origin {
        let giaddr = rx.packet.giaddr();
        if !giaddr.is_unspecified() {
            return Origin::Relay(giaddr);
        }
        let served = rx
            .interface_index
            .and_then(|i| self.served.iter().find(|s| s.index == i));
        match served {
            Some(i) if rx.destination.is_broadcast() => Origin::Interface(IfName::new(&i.name)),
            _ => Origin::Source(*rx.source.ip()),
        }
    }

    /// Whether the never-used and reusable indexes say what the store says (tests: any
    /// difference, described).
    #[cfg(test)]
    pub(crate) fn indexes_match_store(&mut self) -> Result<(), String> {
        let snapshot = self.store.v4().snapshot();
        for (i, s) in self.subnets.iter().enumerate() {
            let never: Vec<Ipv4Addr> = s
                .exclude
                .iter()
                .copied()
                .chain(s.reservations.iter().map(|r| r.address))
                .collect();
            for p in &s.pools {
                for a in u32::from(p.first)..=u32::from(p.last) {
                    let a = Ipv4Addr::from(a);
                    let free = snapshot.get(a).is_none() && !never.contains(&a);
                    if self.allocator.free().contains(a) != free {
                        return Err(format!("{a}: free {free} in the store"));
                    }
                }
            }
            let mut want: Vec<(Timestamp, Ipv4Addr)> = snapshot
                .iter()
                .filter(|b| s.prefix.contains(&b.address))
                .filter_map(|b| b.free_since().map(|t| (t, b.address)))
                .collect();
            want.sort();
            let got: Vec<Ipv4Addr> = self.allocator.reusable().walk(i, u64::MAX).collect();
            let want: Vec<Ipv4Addr> = want.into_iter().map(|(_, a)| a).collect();
            if got != want {
                return Err(format!(
                    "subnet {}: reusable {got:?}, store {want:?}",
                    s.prefix
                ));
            }
        }
        Ok(())
    }

    fn is_relay(&self, a: Ipv4Addr) -> bool {
        self.relays.iter().any(|n| n.contains(&a))
    }

    /// Who may send what, and how often, read from the view before anything is parsed: the
    /// relay or interface the message came through, the unicast rule (docs/protocol.md
    /// decision 13), the rate limits, the lengths of the fields the server keeps and echoes.
    /// Returns the served interface of a direct broadcast message (its place in `served`: a
    /// position, not a copy, as this runs for every message).
    fn admit(&mut self, rx: &Message4<'_>, now: Now) -> Result<Option<usize>, DropReason> {
        let p = &rx.packet;
        let giaddr = p.giaddr();
        let mut interface = None;
        let link = if !giaddr.is_unspecified() {
            if !self.is_relay(giaddr) {
                return Err(DropReason::RelayNotAllowed);
            }
            Link::Relay(giaddr)
        } else if let Some(at) = rx
            .interface_index
            .and_then(|i| self.served.iter().position(|s| s.index == i))
        {
            interface = Some(at);
            Link::Interface(self.served[at].index)
        } else {
            // A client with an address may talk to us unicast (RENEWING, DHCPRELEASE,
            // DHCPINFORM behind a relay): on a listen address, and only from a configured
            // subnet or relay (docs/protocol.md decision 13).
            let unicast_to_us = !p.ciaddr().is_unspecified()
                && (self.listen.contains(&rx.destination)
                    || rx.destination == self.server_identifier);
            if !unicast_to_us {
                return Err(DropReason::InterfaceNotServed);
            }
            let source = *rx.source.ip();
            match self.subnets.iter().position(|s| s.prefix.contains(&source)) {
                Some(i) => Link::Subnet(i),
                None if self.is_relay(source) => Link::Relay(source),
                None => return Err(DropReason::UnicastNotServed),
            }
        };
        // Options that do not parse are dropped as malformed once the message is parsed.
        let client_id = p.client_identifier().ok().flatten();
        let rai = p.relay_agent_information().ok().flatten();
        let circuit = match (&link, &rai) {
            (Link::Relay(_), Some(r)) if !giaddr.is_unspecified() => {
                r.circuit_id().ok().flatten().map(|c| (giaddr, c))
            }
            _ => None,
        };
        let keys = Keys {
            client_id: client_id.as_deref(),
            htype: p.htype(),
            chaddr: p.client_hw_addr(),
            circuit,
            link,
        };
        match self.limits.check(&keys, now.ms) {
            Ok(()) => {}
            Err(Limited::Client) => return Err(DropReason::RateLimitedClient),
            Err(Limited::Circuit) => return Err(DropReason::RateLimitedCircuit),
            Err(Limited::Relay) => return Err(DropReason::RateLimitedRelay),
        }
        // docs/protocol.md decision 11: identities are kept and echoed whole or not at all.
        let too_long = |v: Option<&[u8]>| v.is_some_and(|v| v.len() > MAX_FIELD);
        if too_long(client_id.as_deref()) || too_long(rai.as_ref().map(|r| r.as_bytes())) {
            return Err(DropReason::FieldTooLong);
        }
        Ok(interface)
    }

    fn accept(&mut self, rx: &Message4<'_>, now: Now) -> Handled {
        let interface = match self.admit(rx, now) {
            Ok(i) => i,
            Err(reason) => return self.drop(reason),
        };
        let interface = interface.map(|at| &self.served[at]);
        let now = now.wall;
        let Ok(repr) = Repr::parse(&rx.packet) else {
            return self.drop(DropReason::Malformed);
        };
        let kind = rx.kind;
        let relayed = !repr.giaddr.is_unspecified();
        let link_selection = if relayed {
            match repr
                .relay_agent_information()
                .map(|r| r.sub_option(code::relay::LINK_SELECTION))
            {
                Some(Ok(Some(&[a, b, c, d]))) => Some(Ipv4Addr::new(a, b, c, d)),
                Some(Ok(Some(_)) | Err(_)) => return self.drop(DropReason::Malformed),
                Some(Ok(None)) | None => None,
            }
        } else {
            None
        };
        let mut subnet_selection = option_addr(&repr, code::SUBNET_SELECTION);
        if !relayed {
            // docs/protocol.md decision 10: only a configured relay chooses another link.
            let link_selection_sent = repr
                .relay_agent_information()
                .is_some_and(|r| matches!(r.sub_option(code::relay::LINK_SELECTION), Ok(Some(_))));
            if subnet_selection.take().is_some() || link_selection_sent {
                self.counters.selection_ignored.add();
            }
        }
        if [code::HOST_NAME, code::VENDOR_CLASS_IDENTIFIER]
            .iter()
            .any(|&c| option_bytes(&repr, c).is_some_and(|v| v.len() > MAX_FIELD))
        {
            // Kept shortened by the store (docs/protocol.md decision 11).
            self.counters.fields_truncated.add();
        }
        let hints = Hints {
            giaddr: repr.giaddr,
            ciaddr: repr.ciaddr,
            link_selection,
            subnet_selection,
            interface,
        };
        let Some((subnet, _)) = select::select(&self.subnets, &hints) else {
            return self.drop(DropReason::NoSubnet);
        };
        let Ok(hw) = HwAddr::new(repr.htype, repr.client_hw_addr()) else {
            return self.drop(DropReason::Malformed);
        };
        let msg = Msg {
            repr: &repr,
            kind,
            subnet,
            id: Identity {
                client_id: option_bytes(&repr, code::CLIENT_IDENTIFIER).map(<[u8]>::to_vec),
                hw,
            },
            interface_index: interface.map(|i| i.index),
            max_size: rx.packet.max_message_size().ok().flatten(),
        };
        match kind {
            MessageType::Discover => self.discover(&msg, now),
            MessageType::Request => self.request(&msg, now),
            MessageType::Release => self.release(&msg, now),
            MessageType::Decline => self.decline(&msg, now),
            MessageType::Inform => self.inform(&msg),
            // The router hands over client messages only.
            _ => self.drop(DropReason::Malformed),
        }
    }

    /// Expires Active bindings whose lease ran out (in chunks of [`EXPIRE_CHUNK`]; not while the
    /// store cannot commit) and forgets lapsed offers.
    pub fn tick(&mut self, now: Timestamp) {
        // While the store cannot commit, expiry waits: each attempt would fail and be taken
        // back. A lease past its end is not active for leasequery meanwhile, and its address
        // is not reused until it has been expired.
        while self.store.health().is_healthy() {
            let expired = self
                .store
                .v4()
                .expire(now, EXPIRE_CHUNK, Completion::none());
            let n = expired.len();
            for b in expired {
                self.counters.expired.add();
                self.allocator.reusable().set(b.address, b.free_since());
            }
            if n < EXPIRE_CHUNK {
                break;
            }
        }
        let lapsed: Vec<Ipv4Addr> = self
            .offers
            .iter()
            .filter(|(_, o)| o.end <= now)
            .map(|(a, _)| *a)
            .collect();
        for a in lapsed {
            self.forget_offer(a);
        }
    }

    /// Removes the binding of `a` (the control API's lease-delete); `done` runs once the removal
    /// is durable. The address is free again at once: an outstanding offer of it is forgotten
    /// without restoring what it displaced, and the allocator counts it among the never-used
    /// addresses (as a forgotten offer's), so nothing the engine holds brings the binding back.
    pub fn delete(&mut self, a: Ipv4Addr, done: Completion) -> Option<Arc<Binding4>> {
        self.offers.remove(&a);
        let removed = self.store.v4().delete(a, done);
        if removed.is_some() {
            self.allocator.reusable().set(a, None);
            self.allocator.free().freed(a);
        }
        removed
    }

    /// Takes back an offer: the binding it displaced comes back (or the address is free again).
    fn forget_offer(&mut self, a: Ipv4Addr) {
        let Some(offer) = self.offers.remove(&a) else {
            return;
        };
        // What became of the address: None, untouched; Some(None), deleted; Some(Some(b)),
        // the displaced binding is back.
        let outcome = self.store.v4().write(Completion::none(), |batch| {
            if !batch.get(a).is_some_and(|b| b.state == State4::Offered) {
                return None;
            }
            Some(match offer.previous {
                Some(p) => {
                    let free_since = p.free_since();
                    batch.restore((*p).clone());
                    Some(free_since)
                }
                None => {
                    batch.delete(a);
                    None
                }
            })
        });
        match outcome {
            None => {}
            Some(Some(free_since)) => self.allocator.reusable().set(a, free_since),
            Some(None) => {
                // Never used again: back among the free addresses, no pool is rescanned.
                self.allocator.reusable().set(a, None);
                self.allocator.free().freed(a);
            }
        }
        self.counters.offers_forgotten.add();
    }

    fn reservation(&self, msg: &Msg<'_>) -> Option<&Reservation> {
        msg.id.reservation(&self.subnets[msg.subnet])
    }

    fn send_now(&mut self, msg: &Msg<'_>, reply: Repr) -> Handled {
        let kind = reply.message_type().unwrap_or(MessageType::Unknown(0));
        let Some(dest) = reply::destination(msg.repr, &reply, self.relay_port, msg.interface_index)
        else {
            return self.drop(DropReason::EncodeFailed);
        };
        let Some(encoded) = self.encode(msg, &reply, dest) else {
            return self.drop(DropReason::EncodeFailed);
        };
        self.output = Output::Now(encoded);
        self.counters.count_sent(kind);
        Handled::Replied(kind)
    }

    /// The reply within the client's maximum message size (docs/protocol.md decision 12).
    fn encode(&self, msg: &Msg<'_>, reply: &Repr, dest: Destination) -> Option<Outgoing> {
        let (encoded, omitted) = reply::encode_within(msg.repr, reply, msg.max_size, dest)?;
        for _ in 0..omitted {
            self.counters.options_omitted.add();
        }
        Some(encoded)
    }

    fn content<'a>(
        &'a self,
        msg: &Msg<'_>,
        kind: MessageType,
        yiaddr: Ipv4Addr,
        lease: bool,
        tables: &'a [&'a [ConfiguredOption]],
    ) -> Content<'a> {
        let subnet = &self.subnets[msg.subnet];
        Content {
            kind,
            yiaddr,
            ciaddr: if kind == MessageType::Ack {
                msg.repr.ciaddr
            } else {
                Ipv4Addr::UNSPECIFIED
            },
            server_identifier: self.server_identifier,
            lease: lease.then_some(Lease {
                timers: subnet.timers,
            }),
            subnet: Some(subnet.prefix),
            configured: tables,
            message: None,
        }
    }

    fn nak(&mut self, msg: &Msg<'_>, why: &str) -> Handled {
        self.send_now(msg, self.nak_reply(msg, why))
    }

    /// A DHCPNAK to `msg`, its option 56 saying `why`.
    fn nak_reply(&self, msg: &Msg<'_>, why: &str) -> Repr {
        let content = Content {
            kind: MessageType::Nak,
            yiaddr: Ipv4Addr::UNSPECIFIED,
            ciaddr: Ipv4Addr::UNSPECIFIED,
            server_identifier: self.server_identifier,
            lease: None,
            subnet: None,
            configured: &[],
            message: Some(why),
        };
        reply::build(msg.repr, &content)
    }

    fn tables<'a>(&'a self, msg: &Msg<'_>) -> [&'a [ConfiguredOption]; 3] {
        let subnet = &self.subnets[msg.subnet];
        [
            self.reservation(msg).map_or(&[][..], |r| &r.options[..]),
            &subnet.options[..],
            &self.global_options[..],
        ]
    }

    fn discover(&mut self, msg: &Msg<'_>, now: Timestamp) -> Handled {
        // Fail closed (docs/operator-guide.md, "When the store cannot commit"): no offer whose
        // DHCPACK could not be made durable.
        if !self.store.health().is_healthy() {
            return self.drop(DropReason::StoreFailing);
        }
        if self.store.backlog() > DISCOVER_BACKLOG {
            return self.drop(DropReason::StoreBacklog);
        }
        let taken = self.counters.commit_taken.get();
        if taken != self.taken_seen {
            self.taken_seen = taken;
            let seed = crate::dhcp4::free::allocation_seed(&self.store);
            self.allocator
                .free()
                .start_at(crate::dhcp4::free::hop_seed(seed, taken));
        }
        // A shared store's feed may bring another server's binding at the chosen address
        // between the choice (on a snapshot) and the offer's write: the write checks, and the
        // choice is made again on a fresh snapshot (docs/protocol.md decision 43).
        let mut chosen = None;
        for _ in 0..RACE_ATTEMPTS {
            let snapshot = self.store.v4().snapshot();
            let requested = option_addr(msg.repr, code::REQUESTED_IP_ADDRESS);
            let Some((a, _choice)) = self.allocator.choose(
                &self.subnets,
                msg.subnet,
                &snapshot,
                &msg.id,
                requested,
                now,
            ) else {
                if self.allocator.quarantined(msg.subnet, now) {
                    return self.drop(DropReason::Quarantined);
                }
                return self.drop(DropReason::PoolExhausted);
            };
            let existing = snapshot.get(a).cloned();
            // A snapshot alive during a write makes the write copy every node on its path.
            drop(snapshot);
            let keep_active = existing
                .as_ref()
                .is_some_and(|b| msg.id.owns(b) && b.is_active_at(now));
            if keep_active {
                chosen = Some(a);
                break;
            }
            let end = now + u64::from(OFFER_LIFETIME);
            let mut offered = Binding4::new(
                a,
                self.subnets[msg.subnet].prefix,
                msg.id.hw,
                State4::Offered,
            )
            .with_times(now, end, 0, 0, now);
            if offered.set_fields(fields(msg.repr)).is_err() {
                return self.drop(DropReason::StoreRejected);
            }
            let free_since = offered.free_since();
            let seen = [(a, existing.clone())];
            let written = self
                .store
                .v4()
                .write_if_unchanged(Completion::none(), &seen, |batch| batch.upsert(offered));
            if written.is_none() {
                // Not free after all: the next choice sees the binding that came in.
                continue;
            }
            let previous = match existing {
                Some(b) if b.state == State4::Offered => {
                    self.offers.remove(&a).and_then(|o| o.previous)
                }
                other => other,
            };
            self.allocator.free().used(a);
            self.allocator.reusable().set(a, free_since);
            self.offers.insert(a, Offer { end, previous });
            chosen = Some(a);
            break;
        }
        let Some(a) = chosen else {
            return self.drop(DropReason::Raced);
        };
        let tables = self.tables(msg);
        let content = self.content(msg, MessageType::Offer, a, true, &tables);
        let reply = reply::build(msg.repr, &content);
        self.send_now(msg, reply)
    }

    /// Whether `id` may be confirmed in `a` (SELECTING, INIT-REBOOT, RENEWING): the address is
    /// in the subnet and allocatable to it, and it is its own binding or its reservation (not
    /// held by someone else).
    fn confirmable(&self, msg: &Msg<'_>, snapshot: &Snapshot4, a: Ipv4Addr) -> Option<bool> {
        let subnet = &self.subnets[msg.subnet];
        if !subnet.prefix.contains(&a)
            || !self
                .allocator
                .allocatable(&self.subnets, msg.subnet, &msg.id, a)
        {
            return Some(false);
        }
        match snapshot.get(a) {
            Some(b) if msg.id.owns(b) => Some(still_clients(b.state)),
            Some(_) => Some(false),
            None => self
                .reservation(msg)
                .is_some_and(|r| r.address == a)
                .then_some(true),
        }
    }

    fn request(&mut self, msg: &Msg<'_>, now: Timestamp) -> Handled {
        // Still tried: a commit that succeeds heals the store, and its DHCPACK leaves only then.
        if !self.store.health().is_healthy() {
            self.counters.requests_while_failing.add();
        }
        let snapshot = self.store.v4().snapshot();
        let server_id = option_addr(msg.repr, code::SERVER_IDENTIFIER);
        let requested = option_addr(msg.repr, code::REQUESTED_IP_ADDRESS);
        let ciaddr = msg.repr.ciaddr;
        if let Some(sid) = server_id {
            // SELECTING.
            if sid != self.server_identifier {
                // The client chose another server: take our offer back.
                for b in msg.id.bindings(&snapshot) {
                    if b.state == State4::Offered {
                        self.forget_offer(b.address);
                    }
                }
                return self.drop(DropReason::NotForUs);
            }
            let a = requested.or((!ciaddr.is_unspecified()).then_some(ciaddr));
            return match a.map(|a| (a, self.confirmable(msg, &snapshot, a))) {
                Some((a, Some(true))) => self.ack(msg, a, now, snapshot),
                _ => self.nak(msg, "requested address not offered to this client"),
            };
        }
        if let (Some(a), true) = (requested, ciaddr.is_unspecified()) {
            // INIT-REBOOT.
            return match self.confirmable(msg, &snapshot, a) {
                Some(true) => self.ack(msg, a, now, snapshot),
                Some(false) => self.nak(msg, "address not valid for this client here"),
                None => {
                    // Free address: NAK only a client we know under another address here.
                    let prefix = self.subnets[msg.subnet].prefix;
                    let known = msg
                        .id
                        .bindings(&snapshot)
                        .iter()
                        .any(|b| b.subnet == prefix && still_clients(b.state))
                        || self.reservation(msg).is_some();
                    if known {
                        self.nak(msg, "address not valid for this client here")
                    } else {
                        self.drop(DropReason::UnknownClient)
                    }
                }
            };
        }
        if !ciaddr.is_unspecified() {
            // RENEWING (unicast) or REBINDING (broadcast).
            return match self.confirmable(msg, &snapshot, ciaddr) {
                Some(true) => self.ack(msg, ciaddr, now, snapshot),
                Some(false) if snapshot.get(ciaddr).is_some() => {
                    self.nak(msg, "address not valid for this client")
                }
                Some(false) if !self.subnets[msg.subnet].prefix.contains(&ciaddr) => {
                    self.nak(msg, "address not on this network")
                }
                _ => self.drop(DropReason::UnknownClient),
            };
        }
        self.drop(DropReason::Malformed)
    }

    fn ack(&mut self, msg: &Msg<'_>, a: Ipv4Addr, now: Timestamp, snapshot: Snapshot4) -> Handled {
        let previous = snapshot.get(a).filter(|b| msg.id.owns(b)).cloned();
        // What the decision was made on, for the write to check (`Front4::write_if_unchanged`).
        let mut seen = vec![(a, snapshot.get(a).cloned())];
        let subnet = &self.subnets[msg.subnet];
        // A client holds one lease per subnet: an ACK for a new address there ends the lease on
        // the old one (otherwise it stays Active, unusable, until its end, and leasequery would
        // report both). Other subnets' leases are left alone (RFC 4388 §6.4.2 associated-ip).
        let superseded: Vec<Binding4> = msg
            .id
            .bindings(&snapshot)
            .into_iter()
            .filter(|b| b.address != a && b.subnet == subnet.prefix && b.is_active_at(now))
            .map(|b| {
                let mut ended = (*b).clone();
                ended.state = State4::Expired;
                ended.end = now;
                ended.t1 = ended.t1.min(now);
                ended.t2 = ended.t2.min(now);
                ended
            })
            .collect();
        seen.extend(
            superseded
                .iter()
                .map(|b| (b.address, snapshot.get(b.address).cloned())),
        );
        // A snapshot alive during the write below would make it copy every node on its path.
        drop(snapshot);
        let t = subnet.timers;
        let at = |s: u32| now + u64::from(s);
        let mut binding = Binding4::new(a, subnet.prefix, msg.id.hw, State4::Active).with_times(
            now,
            at(t.lease_time.0),
            at(t.renew_time.0),
            at(t.rebind_time.0),
            now,
        );
        let mut f = fields(msg.repr);
        // A renewal unicast straight to the server carries no option 82: keep the location
        // the relay gave the last time (RFC 4388 §6.7 wants it for leasequery).
        if f.relay_agent_information.is_none() && msg.repr.giaddr.is_unspecified() {
            if let Some(p) = &previous {
                f.relay_agent_information = p.relay_agent_information();
                f.circuit_id = p.circuit_id();
                f.remote_id = p.remote_id();
                f.relay_id = p.relay_id();
            }
        }
        if binding.set_fields(f).is_err() {
            return self.drop(DropReason::StoreRejected);
        }
        let tables = self.tables(msg);
        let content = self.content(msg, MessageType::Ack, a, true, &tables);
        let reply = reply::build(msg.repr, &content);
        let Some(dest) = reply::destination(msg.repr, &reply, self.relay_port, msg.interface_index)
        else {
            return self.drop(DropReason::EncodeFailed);
        };
        let Some(encoded) = self.encode(msg, &reply, dest) else {
            return self.drop(DropReason::EncodeFailed);
        };
        // The answer should the commit lose a race with another server (docs/protocol.md
        // decision 43): the address is that server's client's now.
        // Only a shared store refuses a commit: a store of one server pays nothing for it.
        let taken = self.store.writer_id().and_then(|_| {
            let nak = self.nak_reply(msg, "address taken by another server's client");
            reply::destination(msg.repr, &nak, self.relay_port, msg.interface_index)
                .and_then(|dest| self.encode(msg, &nak, dest))
        });
        self.offers.remove(&a);
        let (durable, deferred) = Completion::deferred();
        let counters = self.counters.clone();
        let done = Completion::callback(move |r| {
            match &r {
                Ok(()) => counters.acks.add(),
                Err(StoreError::Taken) => {
                    counters.commit_taken.add();
                    counters.count_sent(MessageType::Nak);
                }
                Err(_) => counters.commit_failed.add(),
            }
            durable.complete(r);
        });
        let ended_free: Vec<(Ipv4Addr, Option<Timestamp>)> = superseded
            .iter()
            .map(|b| (b.address, b.free_since()))
            .collect();
        // Only a shared store's feed writes behind the engine's back: with another server's
        // binding come in since the snapshot, nothing is written and the client hears what a
        // refused commit says.
        if self.store.writer_id().is_none() {
            seen.clear();
        }
        let written = self.store.v4().write_if_unchanged(done, &seen, |batch| {
            for ended in superseded {
                batch.upsert(ended);
            }
            batch.upsert(binding);
        });
        if written.is_some() {
            self.allocator.free().used(a);
            self.allocator.reusable().set(a, None);
            for (e, free_since) in ended_free {
                self.allocator.reusable().set(e, free_since);
            }
        }
        self.output = Output::WhenDurable(encoded, deferred, taken);
        Handled::Committing
    }

    /// The server identifier, when present, must be ours.
    fn for_us(&self, msg: &Msg<'_>) -> bool {
        option_addr(msg.repr, code::SERVER_IDENTIFIER).is_none_or(|s| s == self.server_identifier)
    }

    fn commit_counted(&self) -> Completion {
        let counters = self.counters.clone();
        Completion::callback(move |r| match r {
            Ok(()) => {}
            Err(StoreError::Taken) => counters.commit_taken.add(),
            Err(_) => counters.commit_failed.add(),
        })
    }

    fn release(&mut self, msg: &Msg<'_>, now: Timestamp) -> Handled {
        if !self.for_us(msg) {
            return self.drop(DropReason::NotForUs);
        }
        let a = msg.repr.ciaddr;
        let Some(b) = self
            .store
            .v4()
            .get(a)
            .filter(|b| msg.id.owns(b) && b.state == State4::Active)
        else {
            return self.drop(DropReason::NotClientsBinding);
        };
        let mut released = (*b).clone();
        released.state = State4::Released;
        released.end = now;
        // The lease's timers end with it: none may lie after its end.
        released.t1 = released.t1.min(now);
        released.t2 = released.t2.min(now);
        released.cltt = now;
        self.allocator.reusable().set(a, released.free_since());
        self.store
            .v4()
            .write(self.commit_counted(), |batch| batch.upsert(released));
        self.counters.released.add();
        Handled::Applied(msg.kind)
    }

    fn decline(&mut self, msg: &Msg<'_>, now: Timestamp) -> Handled {
        if !self.for_us(msg) {
            return self.drop(DropReason::NotForUs);
        }
        let Some(a) = option_addr(msg.repr, code::REQUESTED_IP_ADDRESS) else {
            return self.drop(DropReason::Malformed);
        };
        let Some(b) = self
            .store
            .v4()
            .get(a)
            .filter(|b| msg.id.owns(b) && matches!(b.state, State4::Active | State4::Offered))
        else {
            return self.drop(DropReason::NotClientsBinding);
        };
        let mut declined = (*b).clone();
        declined.state = State4::Declined;
        declined.start = now;
        declined.end = now + u64::from(self.decline_probation);
        declined.t1 = 0;
        declined.t2 = 0;
        declined.cltt = now;
        self.offers.remove(&a);
        self.allocator.reusable().set(a, declined.free_since());
        self.store
            .v4()
            .write(self.commit_counted(), |batch| batch.upsert(declined));
        self.counters.declined.add();
        Handled::Applied(msg.kind)
    }

    fn inform(&mut self, msg: &Msg<'_>) -> Handled {
        let tables = self.tables(msg);
        let content = self.content(msg, MessageType::Ack, Ipv4Addr::UNSPECIFIED, false, &tables);
        let reply = reply::build(msg.repr, &content);
        self.send_now(msg, reply)
    }
}

/// How many times a DHCPDISCOVER chooses again when another server's binding reaches the chosen
/// address first (see `Engine4::discover`).
const RACE_ATTEMPTS: usize = 4;
