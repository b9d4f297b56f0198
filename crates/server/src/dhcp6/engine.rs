//! The DHCPv6 engine: validates a client's message (RFC 8415 §16), selects its link, and
//! answers it (§18.3): SOLICIT with ADVERTISE (or REPLY under Rapid Commit), REQUEST, RENEW,
//! REBIND, RELEASE and DECLINE with a REPLY that leaves once its bindings are durable, CONFIRM
//! and INFORMATION-REQUEST with a REPLY at once. Sans-IO: the router hands it a parsed message
//! ([`Message6`]) and the time; it returns what to send ([`Output`]). Bindings (one record per
//! address or delegated prefix) go to the store's v6 front. Called from one thread at a time.
//!
//! Choices where RFC 8415 leaves room (docs/protocol.md):
//! - One address per IA_NA and one prefix per IA_PD, for every IA of the message (at most
//!   [`MAX_IAS`]); IA_TA is not served (ignored).
//! - Choice per IA: the client's own binding of that IA on the link, then one it let go there
//!   under another IA (Released, Expired), its reservation (the n-th reserved address to its
//!   n-th IA_NA, prefixes likewise), the address or prefix it hints if free, a never-used one,
//!   then the one free the longest.
//! - A link quarantined after unreadable store rows ([`super::quarantine`]) gives only what has
//!   a loaded binding (the client's own, a reservation, an Expired or Released one).
//! - An advertisement is an Advertised binding (memory only) for [`ADVERT_LIFETIME`]; a client's
//!   own Active binding is advertised as is.
//! - The server never sends Server Unicast: a REQUEST, RENEW, RELEASE or DECLINE sent unicast is
//!   answered UseMulticast (§18.4), a unicast SOLICIT, CONFIRM, REBIND or INFORMATION-REQUEST
//!   is dropped (§16).
//! - RENEW and REBIND extend the IA's bindings on the client's link; those elsewhere and the
//!   addresses the client lists that are not its own are returned with lifetimes 0; an IA the
//!   server has no binding for is answered NoBinding (no new binding is made for it).
//! - A REQUEST ends the IA's other Active bindings (returned with lifetimes 0): one lease per IA.
//! - Options: only those the client's ORO asks for, the most specific level winning (host,
//!   pool of the first resource leased, link, `[dhcp6]`); Preference in every ADVERTISE
//!   (asked or not) and only there, Information Refresh Time only to INFORMATION-REQUEST.
//! - While the store cannot commit, SOLICITs are dropped (fail closed), and also while its
//!   queue is long; the rest is tried, and answered only once durable.

use super::counters::{Counters, DropReason};
use super::drops::{DropLog, DropReport, Origin};
use super::limit::{Limited, Limits6, RateLimits6, Via};
use super::options;
use super::pools::Pools;
use super::relay::{self, RelayData};
use super::select;
use crate::config::{ConfiguredOption6, Dhcp6, Link6, Reservation6};
use crate::dhcp4::drops::IfName;
use crate::dhcp4::Output;
use crate::router6::Message6;
use lessor_net::{Interface, Now, Outgoing};
use lessor_store::v6::binding::{Binding6, Fields6, IaType, Key6, State6};
use lessor_store::v6::snapshot::Snapshot6;
use lessor_store::{Completion, Record, Store, StoreError, Timestamp};
use lessor_wire::v6::{
    status, ClientServerMessage, DhcpOption, Duid, MessageType, Repr, OPTION_PREFERENCE,
    OPTION_RAPID_COMMIT,
};
use std::collections::HashMap;
use std::net::Ipv6Addr;
use std::sync::Arc;

/// How long an advertised address or prefix stays set aside for its client.
pub const ADVERT_LIFETIME: u32 = 60;

/// Most bindings expired by one store call in [`Engine6::tick`].
pub const EXPIRE_CHUNK: usize = 1000;

/// Changes queued for the store above which SOLICITs are dropped (back-pressure), as for
/// DHCPv4's DHCPDISCOVERs.
pub const SOLICIT_BACKLOG: usize = lessor_store::MAX_BACKLOG / 4;

/// Most IA options (IA_NA and IA_PD together) answered in one message; further ones are
/// ignored and counted.
pub const MAX_IAS: usize = 8;

/// OPTION_INFORMATION_REFRESH_TIME (RFC 8415 §21.23).
const OPTION_INFORMATION_REFRESH_TIME: u16 = 32;

/// Most never-used candidates looked at for one IA (each one the snapshot shows taken is
/// marked used, once).
const FREE_LOOKS: usize = 64;

/// What [`Engine6::handle`] did with a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Handled {
    /// A reply was sent at once (ADVERTISE; REPLY to CONFIRM, INFORMATION-REQUEST, or one that
    /// commits nothing).
    Replied(MessageType),
    /// A REPLY waits for its bindings to be durable.
    Committing,
    /// Dropped (counted).
    Dropped(DropReason),
}

/// An outstanding advertisement: when it lapses, and the binding it displaced.
#[derive(Debug)]
struct Advert {
    end: Timestamp,
    previous: Option<Arc<Binding6>>,
}

/// One IA of a client's message.
#[derive(Debug, Clone)]
struct IaReq {
    ia: IaType,
    iaid: u32,
    /// Its place among the message's IAs of its kind (reservations go in this order).
    nth: usize,
    /// The addresses (IAADDR) or prefixes (IAPREFIX) the client lists in it.
    listed: Vec<Key6>,
}

/// One accepted message, with what acceptance found out about it.
struct Msg<'m> {
    rx: &'m Message6,
    client: &'m ClientServerMessage,
    /// The client's DUID, as received.
    duid: Option<Vec<u8>>,
    link: Option<usize>,
}

fn lease_option(key: Key6, preferred: u32, valid: u32) -> DhcpOption {
    if key.prefix_len() == 128 {
        DhcpOption::IaAddr {
            address: key.address(),
            preferred_lifetime: preferred,
            valid_lifetime: valid,
            options: Vec::new(),
        }
    } else {
        DhcpOption::IaPrefix {
            preferred_lifetime: preferred,
            valid_lifetime: valid,
            prefix_length: key.prefix_len(),
            prefix: key.address(),
            options: Vec::new(),
        }
    }
}

fn ia_option(req: &IaReq, t1: u32, t2: u32, options: Vec<DhcpOption>) -> DhcpOption {
    match req.ia {
        IaType::Na => DhcpOption::IaNa {
            iaid: req.iaid,
            t1,
            t2,
            options,
        },
        IaType::Pd => DhcpOption::IaPd {
            iaid: req.iaid,
            t1,
            t2,
            options,
        },
    }
}

/// The IA_NA and IA_PD options of a client's message, at most [`MAX_IAS`], each IA once, and
/// how many more were left out.
fn ias(client: &ClientServerMessage) -> (Vec<IaReq>, usize) {
    let mut out: Vec<IaReq> = Vec::new();
    let mut ignored = 0;
    let mut nth = [0usize; 2];
    for o in &client.options {
        let (ia, iaid, inner) = match o {
            DhcpOption::IaNa { iaid, options, .. } => (IaType::Na, *iaid, options),
            DhcpOption::IaPd { iaid, options, .. } => (IaType::Pd, *iaid, options),
            _ => continue,
        };
        if out.iter().any(|r| r.ia == ia && r.iaid == iaid) {
            continue;
        }
        if out.len() == MAX_IAS {
            ignored += 1;
            continue;
        }
        let listed = inner
            .iter()
            .filter_map(|o| match (ia, o) {
                (IaType::Na, DhcpOption::IaAddr { address, .. }) => {
                    Some(Key6::address_key(*address))
                }
                (
                    IaType::Pd,
                    DhcpOption::IaPrefix {
                        prefix_length,
                        prefix,
                        ..
                    },
                ) if *prefix_length <= 128 && !prefix.is_unspecified() => {
                    let mask = u128::MAX
                        .checked_shl(128 - u32::from(*prefix_length))
                        .unwrap_or(0);
                    Some(Key6::new(
                        Ipv6Addr::from(u128::from(*prefix) & mask),
                        *prefix_length,
                    ))
                }
                _ => None,
            })
            .take(MAX_IAS)
            .collect();
        let k = match ia {
            IaType::Na => 0,
            IaType::Pd => 1,
        };
        out.push(IaReq {
            ia,
            iaid,
            nth: nth[k],
            listed,
        });
        nth[k] += 1;
    }
    (out, ignored)
}

fn has(client: &ClientServerMessage, code: u16) -> bool {
    client.options.iter().any(|o| o.code() == code)
}

fn server_id(client: &ClientServerMessage) -> Option<Vec<u8>> {
    client.options.iter().find_map(|o| match o {
        DhcpOption::ServerId(d) => Some(d.to_vec()),
        _ => None,
    })
}

fn client_id(client: &ClientServerMessage) -> Option<&DhcpOption> {
    client
        .options
        .iter()
        .find(|o| matches!(o, DhcpOption::ClientId(_)))
}

/// All-DHCP-relay-agents-and-servers (ff02::1:2) and All-DHCP-servers (ff05::1:3).
fn is_dhcp_multicast(a: &Ipv6Addr) -> bool {
    a.is_multicast()
}

/// The DHCPv6 server engine.
pub struct Engine6 {
    server_duid: Vec<u8>,
    server_id: DhcpOption,
    store: Arc<Store>,
    config: Dhcp6,
    served: Vec<Interface>,
    pools: Pools,
    /// Where the pools' round robin starts ([`Engine6::start_allocation_at`]).
    allocation_seed: u64,
    /// `commit_taken` when the pools' search last moved away from a race with another server
    /// ([`crate::dhcp4::free::hop_seed`]).
    taken_seen: u64,
    /// Per link: its reservations by DUID (their place in the link's list).
    reservations: Vec<HashMap<Vec<u8>, usize>>,
    /// Per link: until when nothing without a loaded binding is given ([`super::quarantine`]).
    quarantine: Vec<Option<Timestamp>>,
    adverts: HashMap<Key6, Advert>,
    counters: Arc<Counters>,
    limits: RateLimits6,
    drop_log: DropLog,
    output: Output,
}

impl std::fmt::Debug for Engine6 {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine6")
            .field("links", &self.config.links.len())
            .field("adverts", &self.adverts.len())
            .finish_non_exhaustive()
    }
}

impl Engine6 {
    /// An engine for `config` with the server DUID `server_duid` (wire form, see
    /// [`super::duid`]). `interfaces` are the host's interfaces; those named in
    /// `config.interfaces` are served directly. Reads the store once to index the pools.
    ///
    /// # Panics
    /// If `server_duid` is not a DUID (RFC 8415 §11.1 lengths): the config and
    /// [`super::duid`] only give valid ones.
    pub fn new(
        config: &Dhcp6,
        store: Arc<Store>,
        interfaces: Vec<Interface>,
        server_duid: Vec<u8>,
    ) -> Engine6 {
        let duid = Duid::parse(&server_duid).expect("the server DUID is a DUID");
        let pools = {
            let snapshot = store.v6().snapshot();
            Pools::new(&config.links, snapshot.iter().map(|b| &**b))
        };
        Engine6 {
            server_duid,
            server_id: DhcpOption::ServerId(duid),
            store,
            served: interfaces
                .into_iter()
                .filter(|i| config.interfaces.contains(&i.name))
                .collect(),
            reservations: config
                .links
                .iter()
                .map(|l| {
                    l.reservations
                        .iter()
                        .enumerate()
                        .map(|(i, r)| (r.duid.clone(), i))
                        .collect()
                })
                .collect(),
            quarantine: vec![None; config.links.len()],
            config: config.clone(),
            pools,
            allocation_seed: 0,
            taken_seen: 0,
            adverts: HashMap::new(),
            counters: Arc::new(Counters::default()),
            limits: RateLimits6::new(Limits6::from(&config.rate_limit)),
            drop_log: DropLog::default(),
            output: Output::Nothing,
        }
    }

    /// Takes a reloaded `[dhcp6]` (docs/operator-guide.md, "Reloading the configuration"):
    /// links, pools, reservations, options, lifetimes and rate limits change; the server DUID,
    /// listen addresses and served interfaces are the sockets' and stay (a reload that changes
    /// them is refused before this).
    ///
    /// Nothing the engine holds is lost: outstanding advertisements stay, the pools' indexes
    /// are rebuilt from the store (bindings outside every pool stay there until they expire,
    /// and a RENEW for them gets lifetimes 0 as for any address not the server's), a link still
    /// configured keeps its quarantine, and the rate-limit buckets are kept when
    /// `[dhcp6.rate-limit]` is unchanged.
    pub fn reconfigure(&mut self, config: &Dhcp6) {
        let quarantine: Vec<Option<Timestamp>> = config
            .links
            .iter()
            .map(|l| {
                self.config
                    .links
                    .iter()
                    .position(|o| o.prefix == l.prefix)
                    .and_then(|i| self.quarantine.get(i).copied().flatten())
            })
            .collect();
        self.pools = {
            let snapshot = self.store.v6().snapshot();
            Pools::new(&config.links, snapshot.iter().map(|b| &**b))
        };
        self.pools.start_at(self.allocation_seed);
        self.reservations = config
            .links
            .iter()
            .map(|l| {
                l.reservations
                    .iter()
                    .enumerate()
                    .map(|(i, r)| (r.duid.clone(), i))
                    .collect()
            })
            .collect();
        self.quarantine = quarantine;
        let limits = Limits6::from(&config.rate_limit);
        if limits != Limits6::from(&self.config.rate_limit) {
            self.limits = RateLimits6::new(limits);
        }
        self.config = config.clone();
    }

    /// Quarantines links after unreadable store rows ([`super::quarantine`]).
    pub fn quarantine(&mut self, q: &super::Quarantine6) {
        self.quarantine = self
            .config
            .links
            .iter()
            .enumerate()
            .map(|(i, _)| q.until.get(i).copied().flatten())
            .collect();
    }

    /// The links whose quarantine is over at `now` (each reported once).
    pub fn quarantines_ended(&mut self, now: Timestamp) -> Vec<ipnet::Ipv6Net> {
        let mut ended = Vec::new();
        for (i, q) in self.quarantine.iter_mut().enumerate() {
            if q.is_some_and(|end| end <= now) {
                *q = None;
                ended.push(self.config.links[i].prefix);
            }
        }
        ended
    }

    fn quarantined(&self, link: usize, now: Timestamp) -> bool {
        self.quarantine
            .get(link)
            .copied()
            .flatten()
            .is_some_and(|end| now < end)
    }

    /// Starts the pools' search for never-used resources at offsets derived from `seed`
    /// ([`Pools::start_at`]; [`crate::dhcp4::free::allocation_seed`]), now and after reloads.
    pub fn start_allocation_at(&mut self, seed: u64) {
        self.allocation_seed = seed;
        self.pools.start_at(seed);
    }

    /// Replaces the rate limits (tests, tools).
    pub fn set_limits(&mut self, limits: Limits6) {
        self.limits = RateLimits6::new(limits);
    }

    /// The server's DUID, wire form.
    pub fn server_duid(&self) -> &[u8] {
        &self.server_duid
    }

    /// The counters (shared with the store's completions).
    pub fn counters(&self) -> &Arc<Counters> {
        &self.counters
    }

    /// Advertisements outstanding.
    pub fn outstanding_adverts(&self) -> usize {
        self.adverts.len()
    }

    /// What the engine refused since it last said, at most one report every few seconds.
    pub fn take_drop_report(&mut self, now_ms: u64) -> Option<DropReport> {
        self.drop_log.take(now_ms)
    }

    /// Free runs the pools hold (memory grows with this, not with pool sizes).
    pub fn free_runs(&self) -> usize {
        self.pools.runs()
    }

    fn drop(&self, reason: DropReason) -> Handled {
        self.counters.count_drop(reason);
        Handled::Dropped(reason)
    }

    /// Handles one message at `now` (wall seconds; rate limits count whole seconds): for tests
    /// and tools with only the wall clock. The server uses [`Engine6::handle_at`].
    pub fn handle(&mut self, msg: &Message6, now: Timestamp) -> (Handled, Output) {
        self.handle_at(
            msg,
            Now {
                wall: now,
                ms: now.saturating_mul(1000),
            },
        )
    }

    /// Handles one message at `now`: what it did, and what to send.
    pub fn handle_at(&mut self, msg: &Message6, now: Now) -> (Handled, Output) {
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

    fn served_interface(&self, rx: &Message6) -> Option<&Interface> {
        let i = rx.interface_index?;
        self.served.iter().find(|s| s.index == i)
    }

    fn origin(&self, rx: &Message6) -> Origin {
        if rx.is_relayed() {
            return Origin::Relay(*rx.source.ip());
        }
        match self.served_interface(rx) {
            Some(i) if is_dhcp_multicast(&rx.destination) => {
                Origin::Interface(IfName::new(&i.name))
            }
            _ => Origin::Source(*rx.source.ip()),
        }
    }

    fn accept(&mut self, rx: &Message6, now: Now) -> Handled {
        // The router hands over chains that end in a client's message; a Message6 built
        // otherwise may not.
        let Some(client) = rx.repr.client_message() else {
            return self.drop(DropReason::NotClientMessage);
        };
        let duid = client.options.iter().find_map(|o| match o {
            DhcpOption::ClientId(d) => Some(d.to_vec()),
            _ => None,
        });
        let multicast = is_dhcp_multicast(&rx.destination);
        let direct_unicast = !rx.is_relayed() && !multicast;
        let via = if rx.is_relayed() {
            Via::Relay(*rx.source.ip())
        } else {
            match (self.served_interface(rx), multicast) {
                (Some(i), true) => Via::Interface(i.index),
                (None, true) => return self.drop(DropReason::InterfaceNotServed),
                (_, false) => Via::Source(*rx.source.ip()),
            }
        };
        match self.limits.check(duid.as_deref(), via, now.ms) {
            Ok(()) => {}
            Err(Limited::Client) => return self.drop(DropReason::RateLimitedClient),
            Err(Limited::Relay) => return self.drop(DropReason::RateLimitedRelay),
        }
        // RFC 8415 §16.
        let sid = server_id(client);
        let ours = sid.as_deref().map(|s| s == self.server_duid.as_slice());
        let kind = rx.kind;
        let needs_client_id = kind != MessageType::InformationRequest;
        if needs_client_id && duid.is_none() {
            return self.drop(DropReason::NoClientId);
        }
        match kind {
            MessageType::Solicit | MessageType::Confirm | MessageType::Rebind => {
                if sid.is_some() {
                    return self.drop(DropReason::UnexpectedServerId);
                }
            }
            MessageType::Request
            | MessageType::Renew
            | MessageType::Release
            | MessageType::Decline => match ours {
                None => return self.drop(DropReason::NoServerId),
                Some(false) => {
                    if kind == MessageType::Request {
                        // The client chose another server: take our advertisements back.
                        self.forget_adverts_of(duid.as_deref().unwrap_or_default());
                    }
                    return self.drop(DropReason::NotForUs);
                }
                Some(true) => {}
            },
            MessageType::InformationRequest => {
                if ours == Some(false) {
                    return self.drop(DropReason::NotForUs);
                }
                if [lessor_wire::v6::OPTION_IA_NA, lessor_wire::v6::OPTION_IA_TA]
                    .into_iter()
                    .chain([lessor_wire::v6::OPTION_IA_PD])
                    .any(|c| has(client, c))
                {
                    return self.drop(DropReason::IaInInformationRequest);
                }
            }
            // The router hands over client messages only.
            _ => return self.drop(DropReason::NotClientMessage),
        }
        let mut msg = Msg {
            rx,
            client,
            duid,
            link: None,
        };
        if direct_unicast {
            // §18.4: we never send Server Unicast.
            return match kind {
                MessageType::Request
                | MessageType::Renew
                | MessageType::Release
                | MessageType::Decline => self.use_multicast(&msg),
                _ => self.drop(DropReason::Unicast),
            };
        }
        msg.link = select::select(&self.config.links, rx, self.served_interface(rx));
        if msg.link.is_none() && kind != MessageType::InformationRequest {
            return self.drop(DropReason::NoLink);
        }
        let now = now.wall;
        match kind {
            MessageType::Solicit => self.solicit(&msg, now),
            MessageType::Request => self.commit(&msg, now, false),
            MessageType::Renew | MessageType::Rebind => self.extend(&msg, now),
            MessageType::Release => self.release(&msg, now),
            MessageType::Decline => self.decline(&msg, now),
            MessageType::Confirm => self.confirm(&msg),
            _ => self.information(&msg),
        }
    }

    fn link(&self, msg: &Msg<'_>) -> &Link6 {
        &self.config.links[msg.link.expect("a link was selected")]
    }

    fn reservation(&self, msg: &Msg<'_>) -> Option<&Reservation6> {
        let duid = msg.duid.as_deref()?;
        let link = msg.link?;
        let at = *self.reservations.get(link)?.get(duid)?;
        self.config.links[link].reservations.get(at)
    }

    /// The reply to `msg`: Server and Client Identifier, `body`, then the configured options
    /// its ORO asks for (`leased`: the first resource the reply leases, for its pool's).
    fn reply(
        &self,
        msg: &Msg<'_>,
        kind: MessageType,
        body: Vec<DhcpOption>,
        leased: Option<Key6>,
    ) -> Repr {
        let mut options = Vec::with_capacity(body.len() + 4);
        options.push(self.server_id.clone());
        if let Some(c) = client_id(msg.client) {
            options.push(c.clone());
        }
        options.extend(body);
        let mut asked = options::requested(&msg.client.options);
        // Preference goes in every ADVERTISE and nowhere else (RFC 8415 §21.8, §18.3.1);
        // Information Refresh Time only answers an INFORMATION-REQUEST (§21.23).
        asked.retain(|&c| {
            c != OPTION_PREFERENCE
                && (c != OPTION_INFORMATION_REFRESH_TIME
                    || msg.rx.kind == MessageType::InformationRequest)
        });
        if kind == MessageType::Advertise {
            asked.insert(0, OPTION_PREFERENCE);
        }
        if !asked.is_empty() {
            let none: &[ConfiguredOption6] = &[];
            let host = self.reservation(msg).map_or(none, |r| &r.options[..]);
            let link = msg.link.map(|l| &self.config.links[l]);
            let pool = leased
                .and_then(|k| self.pools.pool_of(k))
                .and_then(|p| {
                    let l = &self.config.links[p.link];
                    match p.ia {
                        IaType::Na => l.address_pools.get(p.nth).map(|a| &a.options[..]),
                        IaType::Pd => l.prefix_pools.get(p.nth).map(|a| &a.options[..]),
                    }
                })
                .unwrap_or(none);
            let link_options = link.map_or(none, |l| &l.options[..]);
            options.extend(options::merged(
                &asked,
                &[host, pool, link_options, &self.config.options[..]],
            ));
        }
        Repr::ClientServer(ClientServerMessage {
            msg_type: kind,
            transaction_id: msg.client.transaction_id,
            options,
        })
    }

    /// `reply` through the relay chain, encoded, with where it goes.
    fn outgoing(&self, msg: &Msg<'_>, reply: Repr) -> Option<Outgoing> {
        let wrapped = relay::wrap(msg.rx, reply);
        let payload = wrapped.try_to_vec().ok()?;
        Some(Outgoing {
            payload,
            destination: relay::destination(msg.rx),
        })
    }

    fn send_now(&mut self, msg: &Msg<'_>, reply: Repr) -> Handled {
        let kind = reply.msg_type();
        let Some(out) = self.outgoing(msg, reply) else {
            return self.drop(DropReason::EncodeFailed);
        };
        self.output = Output::Now(out);
        match kind {
            MessageType::Advertise => self.counters.advertises.add(),
            _ => self.counters.replies.add(),
        }
        Handled::Replied(kind)
    }

    fn use_multicast(&mut self, msg: &Msg<'_>) -> Handled {
        let mut options = vec![self.server_id.clone()];
        if let Some(c) = client_id(msg.client) {
            options.push(c.clone());
        }
        options.push(DhcpOption::status_code(
            status::USE_MULTICAST,
            "send to the multicast address",
        ));
        let reply = Repr::ClientServer(ClientServerMessage {
            msg_type: MessageType::Reply,
            transaction_id: msg.client.transaction_id,
            options,
        });
        self.counters.use_multicast.add();
        self.send_now(msg, reply)
    }

    /// Whether the binding at `key` leaves it free for `duid` at `now`: none, the client's own
    /// (not declined), or one free since then.
    fn free_for(snapshot: &Snapshot6, key: Key6, duid: &[u8], now: Timestamp) -> bool {
        match snapshot.get(key) {
            None => true,
            Some(b) if b.duid() == Some(duid) => b.state != State6::Declined,
            Some(b) => b.free_since().is_some_and(|t| t <= now),
        }
    }

    /// Whether `key` may be leased to this client on its link: pooled there and not reserved
    /// for another, or reserved for it.
    fn allocatable(&self, msg: &Msg<'_>, key: Key6) -> bool {
        let link = msg.link.expect("a link was selected");
        if let Some(r) = self.reservation(msg) {
            let mine = if key.prefix_len() == 128 {
                r.addresses.iter().any(|a| Key6::address_key(*a) == key)
            } else {
                r.prefixes
                    .iter()
                    .any(|p| Key6::new(p.network(), p.prefix_len()) == key)
            };
            if mine {
                return true;
            }
        }
        self.pools.pool_of(key).is_some_and(|p| p.link == link) && !self.pools.is_reserved(key)
    }

    /// The address or prefix for `req` (module doc: the order of the choice), taken from the
    /// free indexes; None when nothing is left.
    fn choose(
        &mut self,
        msg: &Msg<'_>,
        req: &IaReq,
        taken: &[Key6],
        snapshot: &Snapshot6,
        now: Timestamp,
    ) -> Option<Key6> {
        let duid = msg.duid.as_deref()?;
        let link = msg.link?;
        let prefix = self.config.links[link].prefix;
        // 1. Its own binding of this IA here.
        let mut own: Vec<Arc<Binding6>> = snapshot
            .by_ia(duid, req.iaid, req.ia)
            .into_iter()
            .filter(|b| {
                b.link == prefix
                    && matches!(
                        b.state,
                        State6::Active | State6::Advertised | State6::Released | State6::Expired
                    )
                    && !taken.contains(&b.key6())
                    && self.allocatable(msg, b.key6())
            })
            .collect();
        own.sort_by_key(|b| {
            (
                !matches!(b.state, State6::Active | State6::Advertised),
                std::cmp::Reverse(b.recency()),
            )
        });
        if let Some(b) = own.first() {
            return Some(b.key6());
        }
        // 1b. What it held under another IA here and let go (a client that changed its IAID).
        let mut earlier: Vec<Arc<Binding6>> = snapshot
            .by_duid(duid)
            .into_iter()
            .filter(|b| {
                b.link == prefix
                    && b.ia_type == req.ia
                    && matches!(b.state, State6::Released | State6::Expired)
                    && !taken.contains(&b.key6())
                    && self.allocatable(msg, b.key6())
            })
            .collect();
        earlier.sort_by_key(|b| std::cmp::Reverse(b.recency()));
        if let Some(b) = earlier.first() {
            return Some(b.key6());
        }
        // 2. Its reservation.
        if let Some(r) = self.reservation(msg) {
            let key = match req.ia {
                IaType::Na => r.addresses.get(req.nth).map(|a| Key6::address_key(*a)),
                IaType::Pd => r
                    .prefixes
                    .get(req.nth)
                    .map(|p| Key6::new(p.network(), p.prefix_len())),
            };
            if let Some(key) = key {
                if !taken.contains(&key) && Self::free_for(snapshot, key, duid, now) {
                    return Some(key);
                }
            }
        }
        // 3. What it hints; 4. never used: not while the link is quarantined (only resources
        // with a loaded binding are given then).
        let quarantined = self.quarantined(link, now);
        for &key in &req.listed {
            if quarantined && snapshot.get(key).is_none() {
                continue;
            }
            if !taken.contains(&key)
                && self.pools.pool_of(key).is_some_and(|p| p.link == link)
                && !self.pools.is_reserved(key)
                && Self::free_for(snapshot, key, duid, now)
            {
                return Some(key);
            }
        }
        for _ in 0..if quarantined { 0 } else { FREE_LOOKS } {
            let Some(key) = self.pools.next_free(link, req.ia) else {
                break;
            };
            self.pools.used(key);
            if snapshot.get(key).is_none() && !taken.contains(&key) {
                return Some(key);
            }
            // Stale (another writer), or taken by another IA of this message: used now.
        }
        // 5. Free the longest.
        for key in self.pools.reusable(link, req.ia, now) {
            if taken.contains(&key) {
                continue;
            }
            match snapshot.get(key) {
                Some(b) if b.free_since().is_some_and(|t| t <= now) => return Some(key),
                Some(b) => self.pools.set_reusable(key, b.free_since()),
                // A stale entry: the binding is gone.
                None => self.pools.set_reusable(key, None),
            }
        }
        None
    }

    /// A binding of `key` for `req` on the message's link, with the relay data of the message.
    fn binding(
        &self,
        msg: &Msg<'_>,
        data: &RelayData,
        req: &IaReq,
        key: Key6,
        state: State6,
    ) -> Option<Binding6> {
        let link = self.link(msg);
        let duid = msg.duid.as_deref()?;
        let mut b = Binding6::new(
            key.address(),
            key.prefix_len(),
            req.ia,
            duid,
            req.iaid,
            link.prefix,
            state,
        )
        .ok()?;
        b.relay_peer = data.peer;
        b.set_fields(Fields6 {
            duid: Some(duid),
            relay_chain: data.chain.as_deref(),
            interface_id: data.interface_id.as_deref(),
            remote_id: data.remote_id.as_deref(),
            relay_id: data.relay_id.as_deref(),
        })
        .ok()?;
        Some(b)
    }

    fn relay_data(&self, msg: &Msg<'_>) -> RelayData {
        let d = RelayData::of(msg.rx);
        if d.chain_cut {
            self.counters.relay_chain_too_long.add();
        }
        for _ in 0..d.fields_cut {
            self.counters.relay_field_too_long.add();
        }
        d
    }

    fn lifetimes(&self, msg: &Msg<'_>) -> (u32, u32, u32, u32) {
        let l = self.link(msg).lifetimes;
        (l.preferred.0, l.valid.0, l.renew_time.0, l.rebind_time.0)
    }

    fn unavailable(&self, req: &IaReq) -> DhcpOption {
        let (code, text) = match req.ia {
            IaType::Na => {
                self.counters.no_addrs_avail.add();
                (status::NO_ADDRS_AVAIL, "no addresses available")
            }
            IaType::Pd => {
                self.counters.no_prefix_avail.add();
                (status::NO_PREFIX_AVAIL, "no prefixes available")
            }
        };
        ia_option(req, 0, 0, vec![DhcpOption::status_code(code, text)])
    }

    fn no_binding(&self, req: &IaReq, mut leases: Vec<DhcpOption>) -> DhcpOption {
        self.counters.no_binding.add();
        leases.push(DhcpOption::status_code(
            status::NO_BINDING,
            "no binding for this IA",
        ));
        ia_option(req, 0, 0, leases)
    }

    fn note_ignored(&self, ignored: usize) {
        for _ in 0..ignored {
            self.counters.ias_ignored.add();
        }
    }

    fn solicit(&mut self, msg: &Msg<'_>, now: Timestamp) -> Handled {
        // Fail closed (docs/operator-guide.md, "When the store cannot commit").
        if !self.store.health().is_healthy() {
            return self.drop(DropReason::StoreFailing);
        }
        if self.store.backlog() > SOLICIT_BACKLOG {
            return self.drop(DropReason::StoreBacklog);
        }
        let taken = self.counters.commit_taken.get();
        if taken != self.taken_seen && self.allocation_seed != 0 {
            self.taken_seen = taken;
            self.pools
                .start_at(crate::dhcp4::free::hop_seed(self.allocation_seed, taken));
        }
        if self.config.rapid_commit && has(msg.client, OPTION_RAPID_COMMIT) {
            self.counters.rapid_commits.add();
            return self.commit(msg, now, true);
        }
        let (reqs, ignored) = ias(msg.client);
        self.note_ignored(ignored);
        let (preferred, valid, t1, t2) = self.lifetimes(msg);
        let data = RelayData::of(msg.rx);
        let snapshot = self.store.v6().snapshot();
        let mut taken = Vec::new();
        let mut body = Vec::new();
        // Each advertisement with the record it was decided on (see `unchanged`) and the one
        // it replaces.
        let mut advertised: Vec<(Binding6, Seen, Seen)> = Vec::new();
        for req in &reqs {
            let Some(key) = self.choose(msg, req, &taken, &snapshot, now) else {
                body.push(self.unavailable(req));
                continue;
            };
            taken.push(key);
            body.push(ia_option(
                req,
                t1,
                t2,
                vec![lease_option(key, preferred, valid)],
            ));
            let existing = snapshot.get(key).cloned();
            let own_active = existing.as_ref().is_some_and(|b| {
                b.duid() == msg.duid.as_deref()
                    && b.iaid == req.iaid
                    && b.ia_type == req.ia
                    && b.is_active_at(now)
            });
            if own_active {
                continue;
            }
            let end = now + u64::from(ADVERT_LIFETIME);
            let Some(b) = self.binding(msg, &data, req, key, State6::Advertised) else {
                return self.drop(DropReason::StoreRejected);
            };
            let seen = existing.clone();
            let previous = match existing {
                Some(b) if b.state == State6::Advertised => {
                    self.adverts.remove(&key).and_then(|a| a.previous)
                }
                other => other,
            };
            advertised.push((b.with_times(now, end, end, now, now, now), seen, previous));
        }
        // A snapshot alive during a write makes the write copy every node on its path.
        drop(snapshot);
        if !advertised.is_empty() {
            // Another server's binding that a shared store's feed brought in since the
            // snapshot is not overwritten: nothing is recorded, and the REQUEST's choice will
            // see it.
            let seen: Vec<(Key6, Seen)> = advertised
                .iter()
                .map(|(b, seen, _)| (b.key6(), seen.clone()))
                .collect();
            let keys: Vec<(Key6, Option<Timestamp>, Option<Arc<Binding6>>)> = self
                .store
                .v6()
                .write_if_unchanged(Completion::none(), &seen, |batch| {
                    advertised
                        .into_iter()
                        .map(|(b, _, previous)| {
                            let key = b.key6();
                            let free = b.free_since();
                            batch.upsert(b);
                            (key, free, previous)
                        })
                        .collect()
                })
                .unwrap_or_default();
            for (key, free, previous) in keys {
                self.pools.used(key);
                self.pools.set_reusable(key, free);
                self.adverts.insert(
                    key,
                    Advert {
                        end: now + u64::from(ADVERT_LIFETIME),
                        previous,
                    },
                );
            }
        }
        let reply = self.reply(msg, MessageType::Advertise, body, taken.first().copied());
        self.send_now(msg, reply)
    }

    /// REQUEST, or SOLICIT with Rapid Commit: leases for every IA, committed, and a REPLY once
    /// durable.
    fn commit(&mut self, msg: &Msg<'_>, now: Timestamp, rapid: bool) -> Handled {
        if !self.store.health().is_healthy() {
            self.counters.requests_while_failing.add();
        }
        let (reqs, ignored) = ias(msg.client);
        self.note_ignored(ignored);
        let (preferred, valid, t1, t2) = self.lifetimes(msg);
        let data = self.relay_data(msg);
        let snapshot = self.store.v6().snapshot();
        let mut taken = Vec::new();
        let mut body = Vec::new();
        let mut writes: Vec<Binding6> = Vec::new();
        let mut ended: Vec<Key6> = Vec::new();
        for req in &reqs {
            let Some(key) = self.choose(msg, req, &taken, &snapshot, now) else {
                body.push(self.unavailable(req));
                continue;
            };
            taken.push(key);
            let Some(b) = self.binding(msg, &data, req, key, State6::Active) else {
                return self.drop(DropReason::StoreRejected);
            };
            writes.push(b.with_times(
                now,
                now + u64::from(preferred),
                now + u64::from(valid),
                now + u64::from(t1),
                now + u64::from(t2),
                now,
            ));
            let mut leases = vec![lease_option(key, preferred, valid)];
            // One lease per IA: the IA's other leases end (returned with lifetimes 0).
            let duid = msg.duid.as_deref().unwrap_or_default();
            for other in snapshot.by_ia(duid, req.iaid, req.ia) {
                if other.key6() != key && other.is_active_at(now) {
                    let mut e = (*other).clone();
                    e.state = State6::Expired;
                    e.valid_end = now;
                    e.preferred_end = e.preferred_end.min(now);
                    e.t1 = e.t1.min(now);
                    e.t2 = e.t2.min(now);
                    leases.push(lease_option(other.key6(), 0, 0));
                    ended.push(other.key6());
                    writes.push(e);
                }
            }
            body.push(ia_option(req, t1, t2, leases));
        }
        let seen = seen_by(&snapshot, &writes);
        drop(snapshot);
        if rapid {
            body.insert(
                0,
                DhcpOption::Other {
                    code: OPTION_RAPID_COMMIT,
                    data: Vec::new(),
                },
            );
        }
        let reply = self.reply(msg, MessageType::Reply, body, taken.first().copied());
        self.commit_and_reply(msg, reply, writes, seen, |e| {
            for k in &taken {
                e.adverts.remove(k);
                e.pools.used(*k);
                e.pools.set_reusable(*k, None);
            }
            for k in &ended {
                e.pools.set_reusable(*k, Some(now));
            }
        })
    }

    /// Writes `writes` in one commit and sends `reply` once it is durable (at once when there
    /// is nothing to write); `after` updates the indexes once the write is submitted.
    /// `seen`: the record each written key held when the reply was decided (see `unchanged`).
    fn commit_and_reply(
        &mut self,
        msg: &Msg<'_>,
        reply: Repr,
        writes: Vec<Binding6>,
        seen: Vec<(Key6, Option<Arc<Binding6>>)>,
        after: impl FnOnce(&mut Engine6),
    ) -> Handled {
        if writes.is_empty() {
            return self.send_now(msg, reply);
        }
        let Some(out) = self.outgoing(msg, reply) else {
            return self.drop(DropReason::EncodeFailed);
        };
        let (durable, deferred) = Completion::deferred();
        let counters = Arc::clone(&self.counters);
        let done = Completion::callback(move |r| {
            match &r {
                Ok(()) => counters.replies_durable.add(),
                Err(StoreError::Taken) => counters.commit_taken.add(),
                Err(_) => counters.commit_failed.add(),
            }
            durable.complete(r);
        });
        // Only a shared store's feed writes behind the engine's back: with another server's
        // binding come in since the snapshot, nothing is written and the reply is held back
        // as for a refused commit.
        let seen = if self.store.writer_id().is_some() {
            seen
        } else {
            Vec::new()
        };
        let written = self.store.v6().write_if_unchanged(done, &seen, |batch| {
            for b in writes {
                batch.upsert(b);
            }
        });
        if written.is_none() {
            self.output = Output::WhenDurable(out, deferred, None);
            return Handled::Committing;
        }
        after(self);
        self.output = Output::WhenDurable(out, deferred, None);
        Handled::Committing
    }

    /// RENEW and REBIND: the IA's bindings on this link extended.
    fn extend(&mut self, msg: &Msg<'_>, now: Timestamp) -> Handled {
        if !self.store.health().is_healthy() {
            self.counters.requests_while_failing.add();
        }
        let rebind = msg.rx.kind == MessageType::Rebind;
        let (reqs, ignored) = ias(msg.client);
        self.note_ignored(ignored);
        let (preferred, valid, t1, t2) = self.lifetimes(msg);
        let data = self.relay_data(msg);
        let link = msg.link.expect("a link was selected");
        let prefix = self.config.links[link].prefix;
        let duid = msg.duid.clone().unwrap_or_default();
        let snapshot = self.store.v6().snapshot();
        let mut body = Vec::new();
        let mut writes: Vec<Binding6> = Vec::new();
        let mut first = None;
        for req in &reqs {
            let own: Vec<Arc<Binding6>> = snapshot
                .by_ia(&duid, req.iaid, req.ia)
                .into_iter()
                .filter(|b| matches!(b.state, State6::Active | State6::Expired))
                .collect();
            let not_listed = |k: &Key6| !own.iter().any(|b| b.key6() == *k);
            if own.is_empty() {
                // §18.3.5: a REBIND's addresses that are not for this link get lifetimes 0.
                let off_link: Vec<DhcpOption> = req
                    .listed
                    .iter()
                    .filter(|k| rebind && !self.on_link(link, **k))
                    .map(|k| lease_option(*k, 0, 0))
                    .collect();
                if rebind && !off_link.is_empty() && off_link.len() == req.listed.len() {
                    body.push(ia_option(req, 0, 0, off_link));
                } else {
                    body.push(self.no_binding(req, Vec::new()));
                }
                continue;
            }
            let mut leases = Vec::new();
            for b in &own {
                let key = b.key6();
                if b.link == prefix && self.allocatable(msg, key) {
                    let Some(nb) = self.binding(msg, &data, req, key, State6::Active) else {
                        return self.drop(DropReason::StoreRejected);
                    };
                    writes.push(nb.with_times(
                        now,
                        now + u64::from(preferred),
                        now + u64::from(valid),
                        now + u64::from(t1),
                        now + u64::from(t2),
                        now,
                    ));
                    first.get_or_insert(key);
                    leases.push(lease_option(key, preferred, valid));
                } else {
                    leases.push(lease_option(key, 0, 0));
                }
            }
            for k in req.listed.iter().filter(|k| not_listed(k)) {
                leases.push(lease_option(*k, 0, 0));
            }
            body.push(ia_option(req, t1, t2, leases));
        }
        let seen = seen_by(&snapshot, &writes);
        drop(snapshot);
        let reply = self.reply(msg, MessageType::Reply, body, first);
        let extended: Vec<Key6> = writes.iter().map(Binding6::key6).collect();
        self.commit_and_reply(msg, reply, writes, seen, |e| {
            for k in &extended {
                e.pools.used(*k);
                e.pools.set_reusable(*k, None);
            }
        })
    }

    fn on_link(&self, link: usize, key: Key6) -> bool {
        if key.prefix_len() == 128 {
            self.config.links[link].prefix.contains(&key.address())
        } else {
            self.pools.pool_of(key).is_some_and(|p| p.link == link)
        }
    }

    /// RELEASE and DECLINE: the listed leases of the client's IAs change state.
    fn give_back(&mut self, msg: &Msg<'_>, now: Timestamp, decline: bool) -> Handled {
        let (reqs, ignored) = ias(msg.client);
        self.note_ignored(ignored);
        let duid = msg.duid.clone().unwrap_or_default();
        let probation = u64::from(self.config.decline_probation.0);
        let snapshot = self.store.v6().snapshot();
        let mut body = Vec::new();
        let mut writes: Vec<Binding6> = Vec::new();
        for req in &reqs {
            if decline && req.ia == IaType::Pd {
                // §18.3.8: DECLINE is about addresses.
                continue;
            }
            let mine: Vec<Arc<Binding6>> = snapshot
                .by_ia(&duid, req.iaid, req.ia)
                .into_iter()
                .filter(|b| {
                    req.listed.contains(&b.key6())
                        && matches!(b.state, State6::Active | State6::Advertised)
                })
                .collect();
            if mine.is_empty() {
                body.push(self.no_binding(req, Vec::new()));
                continue;
            }
            for b in mine {
                let mut n = (*b).clone();
                n.cltt = now;
                if decline {
                    n.state = State6::Declined;
                    n.start = now;
                    n.preferred_end = now;
                    n.valid_end = now + probation;
                    n.t1 = now;
                    n.t2 = now;
                    self.counters.declined.add();
                } else {
                    n.state = State6::Released;
                    n.valid_end = now;
                    n.preferred_end = n.preferred_end.min(now);
                    n.t1 = n.t1.min(now);
                    n.t2 = n.t2.min(now);
                    self.counters.released.add();
                }
                writes.push(n);
            }
        }
        let seen = seen_by(&snapshot, &writes);
        drop(snapshot);
        body.push(DhcpOption::status_code(status::SUCCESS, "done"));
        let reply = self.reply(msg, MessageType::Reply, body, None);
        let freed: Vec<(Key6, Option<Timestamp>)> =
            writes.iter().map(|b| (b.key6(), b.free_since())).collect();
        self.commit_and_reply(msg, reply, writes, seen, |e| {
            for (k, since) in &freed {
                e.adverts.remove(k);
                e.pools.set_reusable(*k, *since);
            }
        })
    }

    fn release(&mut self, msg: &Msg<'_>, now: Timestamp) -> Handled {
        self.give_back(msg, now, false)
    }

    fn decline(&mut self, msg: &Msg<'_>, now: Timestamp) -> Handled {
        self.give_back(msg, now, true)
    }

    /// §18.3.3: Success when every address listed is on the client's link, NotOnLink
    /// otherwise; no reply without any address.
    fn confirm(&mut self, msg: &Msg<'_>) -> Handled {
        let link = &self.config.links[msg.link.expect("a link was selected")];
        let addresses: Vec<Ipv6Addr> = msg
            .client
            .options
            .iter()
            .filter_map(|o| match o {
                DhcpOption::IaNa { options, .. } | DhcpOption::IaTa { options, .. } => {
                    Some(options)
                }
                _ => None,
            })
            .flatten()
            .filter_map(|o| match o {
                DhcpOption::IaAddr { address, .. } => Some(*address),
                _ => None,
            })
            .collect();
        if addresses.is_empty() {
            return self.drop(DropReason::NothingToConfirm);
        }
        let status = if addresses.iter().all(|a| link.prefix.contains(a)) {
            DhcpOption::status_code(status::SUCCESS, "all addresses on link")
        } else {
            self.counters.not_on_link.add();
            DhcpOption::status_code(status::NOT_ON_LINK, "not on this link")
        };
        let reply = self.reply(msg, MessageType::Reply, vec![status], None);
        self.send_now(msg, reply)
    }

    fn information(&mut self, msg: &Msg<'_>) -> Handled {
        let reply = self.reply(msg, MessageType::Reply, Vec::new(), None);
        self.send_now(msg, reply)
    }

    /// Expires Active bindings whose valid lifetime ran out (in chunks; not while the store
    /// cannot commit) and forgets lapsed advertisements.
    pub fn tick(&mut self, now: Timestamp) {
        while self.store.health().is_healthy() {
            let expired = self
                .store
                .v6()
                .expire(now, EXPIRE_CHUNK, Completion::none());
            let n = expired.len();
            for b in expired {
                self.counters.expired.add();
                self.pools.set_reusable(b.key6(), b.free_since());
            }
            if n < EXPIRE_CHUNK {
                break;
            }
        }
        let lapsed: Vec<Key6> = self
            .adverts
            .iter()
            .filter(|(_, a)| a.end <= now)
            .map(|(k, _)| *k)
            .collect();
        for k in lapsed {
            self.forget_advert(k);
        }
    }

    fn forget_adverts_of(&mut self, duid: &[u8]) {
        let keys: Vec<Key6> = self
            .store
            .v6()
            .snapshot()
            .by_duid(duid)
            .into_iter()
            .filter(|b| b.state == State6::Advertised)
            .map(|b| b.key6())
            .collect();
        for k in keys {
            self.forget_advert(k);
        }
    }

    /// Removes the binding at `key` (the control API's lease-delete), as
    /// [`crate::dhcp4::Engine4::delete`]: durable when `done` runs, an advertisement of it
    /// forgotten without restoring anything, the address or prefix never-used again.
    pub fn delete(&mut self, key: Key6, done: Completion) -> Option<Arc<Binding6>> {
        self.adverts.remove(&key);
        let removed = self.store.v6().delete(key, done);
        if removed.is_some() {
            self.pools.set_reusable(key, None);
            self.pools.freed(key);
        }
        removed
    }

    /// Takes back an advertisement: the binding it displaced comes back (or the resource is
    /// never-used again).
    fn forget_advert(&mut self, key: Key6) {
        let Some(advert) = self.adverts.remove(&key) else {
            return;
        };
        let outcome = self.store.v6().write(Completion::none(), |batch| {
            if !batch
                .get(key)
                .is_some_and(|b| b.state == State6::Advertised)
            {
                return None;
            }
            Some(match advert.previous {
                Some(p) => {
                    let free_since = p.free_since();
                    batch.restore((*p).clone());
                    Some(free_since)
                }
                None => {
                    batch.delete(key);
                    None
                }
            })
        });
        match outcome {
            None => {}
            Some(Some(free_since)) => self.pools.set_reusable(key, free_since),
            Some(None) => {
                self.pools.set_reusable(key, None);
                self.pools.freed(key);
            }
        }
        self.counters.adverts_forgotten.add();
    }
}

/// The record a key held in a snapshot (none: no record).
type Seen = Option<Arc<Binding6>>;

/// The record each of `writes`' keys holds in `snapshot`: what a reply was decided on.
fn seen_by(snapshot: &Snapshot6, writes: &[Binding6]) -> Vec<(Key6, Option<Arc<Binding6>>)> {
    writes
        .iter()
        .map(|b| (b.key6(), snapshot.get(b.key6()).cloned()))
        .collect()
}
