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

use super::allocate::Allocator;
use super::counters::{Counters, DropReason};
use super::identity::Identity;
use super::reply::{self, Content, Lease};
use super::select::{self, Hints};
use crate::config::options::ConfiguredOption;
use crate::config::{Config, Reservation, Subnet};
use crate::router4::Message4;
use ipnet::Ipv4Net;
use lessor_net::{Interface, Outgoing};
use lessor_store::{
    Binding4, Completion, Deferred, Fields4, HwAddr, Snapshot4, State4, Store, Timestamp,
};
use lessor_wire::v4::{code, DhcpOption, MessageType, Repr};
use std::collections::HashMap;
use std::net::Ipv4Addr;
use std::sync::Arc;

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
    /// (a DHCPACK to a DHCPREQUEST).
    WhenDurable(Outgoing, Deferred),
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
        Engine4 {
            server_identifier,
            store,
            allocator: Allocator::new(&subnets),
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
            output: Output::Nothing,
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

    /// Handles one client message at `now`: what it did, and what to send.
    pub fn handle(&mut self, msg: &Message4<'_>, now: Timestamp) -> (Handled, Output) {
        self.output = Output::Nothing;
        let handled = self.accept(msg, now);
        (
            handled,
            std::mem::replace(&mut self.output, Output::Nothing),
        )
    }

    fn accept(&mut self, rx: &Message4<'_>, now: Timestamp) -> Handled {
        let Ok(repr) = Repr::parse(&rx.packet) else {
            return self.drop(DropReason::Malformed);
        };
        let kind = rx.kind;
        let relayed = !repr.giaddr.is_unspecified();
        let mut interface = None;
        if relayed {
            if !self.relays.iter().any(|n| n.contains(&repr.giaddr)) {
                return self.drop(DropReason::RelayNotAllowed);
            }
        } else {
            interface = rx
                .interface_index
                .and_then(|i| self.served.iter().find(|s| s.index == i));
            // A client with an address may talk to us unicast from anywhere (RENEWING,
            // DHCPRELEASE, DHCPINFORM behind a relay): accept it on a listen address.
            let unicast_to_us = !repr.ciaddr.is_unspecified()
                && (self.listen.contains(&rx.destination)
                    || rx.destination == self.server_identifier);
            if interface.is_none() && !unicast_to_us {
                return self.drop(DropReason::InterfaceNotServed);
            }
        }
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
        let hints = Hints {
            giaddr: repr.giaddr,
            ciaddr: repr.ciaddr,
            link_selection,
            subnet_selection: option_addr(&repr, code::SUBNET_SELECTION),
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
            let n = self
                .store
                .v4()
                .expire(now, EXPIRE_CHUNK, Completion::none())
                .len();
            for _ in 0..n {
                self.counters.expired.add();
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
        self.allocator.forget_full();
    }

    /// Takes back an offer: the binding it displaced comes back (or the address is free again).
    fn forget_offer(&mut self, a: Ipv4Addr) {
        let Some(offer) = self.offers.remove(&a) else {
            return;
        };
        self.store.v4().write(Completion::none(), |batch| {
            if batch.get(a).is_some_and(|b| b.state == State4::Offered) {
                match offer.previous {
                    Some(p) => {
                        batch.restore((*p).clone());
                    }
                    None => {
                        batch.delete(a);
                    }
                }
            }
        });
        self.counters.offers_forgotten.add();
        self.allocator.forget_full();
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
        self.output = Output::Now(reply::encode(&reply, msg.max_size, dest));
        self.counters.count_sent(kind);
        Handled::Replied(kind)
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
        self.send_now(msg, reply::build(msg.repr, &content))
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
        if !keep_active {
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
            let previous = match existing {
                Some(b) if b.state == State4::Offered => {
                    self.offers.remove(&a).and_then(|o| o.previous)
                }
                other => other,
            };
            self.store
                .v4()
                .write(Completion::none(), |batch| batch.upsert(offered));
            self.offers.insert(a, Offer { end, previous });
        }
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
        let encoded = reply::encode(&reply, msg.max_size, dest);
        self.offers.remove(&a);
        let (durable, deferred) = Completion::deferred();
        let counters = self.counters.clone();
        let done = Completion::callback(move |r| {
            match &r {
                Ok(()) => counters.acks.add(),
                Err(_) => counters.commit_failed.add(),
            }
            durable.complete(r);
        });
        self.store.v4().write(done, |batch| {
            for ended in superseded {
                batch.upsert(ended);
            }
            batch.upsert(binding);
        });
        self.output = Output::WhenDurable(encoded, deferred);
        Handled::Committing
    }

    /// The server identifier, when present, must be ours.
    fn for_us(&self, msg: &Msg<'_>) -> bool {
        option_addr(msg.repr, code::SERVER_IDENTIFIER).is_none_or(|s| s == self.server_identifier)
    }

    fn commit_counted(&self) -> Completion {
        let counters = self.counters.clone();
        Completion::callback(move |r| {
            if r.is_err() {
                counters.commit_failed.add();
            }
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
        self.store
            .v4()
            .write(self.commit_counted(), |batch| batch.upsert(released));
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
        self.store
            .v4()
            .write(self.commit_counted(), |batch| batch.upsert(declined));
        Handled::Applied(msg.kind)
    }

    fn inform(&mut self, msg: &Msg<'_>) -> Handled {
        let tables = self.tables(msg);
        let content = self.content(msg, MessageType::Ack, Ipv4Addr::UNSPECIFIED, false, &tables);
        let reply = reply::build(msg.repr, &content);
        self.send_now(msg, reply)
    }
}
