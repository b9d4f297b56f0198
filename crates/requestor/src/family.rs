//! What the [`crate::Requestor`] needs to know about an address family: the key, the answer,
//! how a query is written and an answer read, and how answers rank and merge. Everything else
//! (retransmission, pacing, several servers, the cache, CLIENT_LINK follow-ups) is the
//! family-neutral engine's.
//!
//! - [`V4`]: DHCPv4 leasequery (RFC 4388).
//! - [`V6`]: DHCPv6 leasequery (RFC 5007).

use std::fmt;
use std::hash::Hash;
use std::net::{Ipv4Addr, Ipv6Addr};
use std::time::{Duration, Instant};

use ipnet::{Ipv4Net, Ipv6Net};
use lessor_wire::v6::{Duid, MAX_TRANSACTION_ID};

use crate::query::{KeyError, QueryKey, DEFAULT_PARAMETERS};
use crate::reply::{LeaseInfo, LeaseState, ReplyError};
use crate::requestor::SubmitError;
use crate::v6::{ClientData6, KeyError6, LeaseInfo6, QueryKey6, ReplyError6, DEFAULT_ORO6};

/// How long an answer stays in the cache.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CacheFor {
    /// This many seconds from reception (the lease's remaining time).
    Secs(u32),
    /// Not kept.
    NotKept,
    /// The server manages the address but has no binding for it: `unassigned_ttl`.
    Unassigned,
    /// `unknown_ttl`.
    Unknown,
}

/// An address family's part of the requestor (see the module docs).
pub trait Family: Sized + Clone + fmt::Debug + PartialEq + Eq {
    /// What is asked.
    type Key: Clone + Eq + Hash + fmt::Debug;
    /// One server's answer.
    type Info: Clone + PartialEq + Eq + fmt::Debug;
    /// The family's configuration (requestor address or DUID, requested options, ...).
    type Settings: Clone + fmt::Debug;
    /// Why a key cannot be asked.
    type KeyError: Clone + PartialEq + Eq + fmt::Debug + fmt::Display;
    /// Why a datagram is not a usable answer.
    type ReplyError: Clone + PartialEq + Eq + fmt::Debug;
    /// What a relay sees bound (DHCPv4: an address; DHCPv6: an address as a /128, or a
    /// delegated prefix): cached answers about it are stale once it is ([`crate::Requestor::glean`]).
    type Bound: Copy + fmt::Debug;
    /// The transaction-id bits (DHCPv4: 32, DHCPv6: 24).
    const XID_MASK: u32;

    /// Refuses keys that cannot (or may not) be asked.
    fn check(settings: &Self::Settings, key: &Self::Key)
        -> Result<(), SubmitError<Self::KeyError>>;
    /// The query for `key` with transaction-id `xid`.
    fn encode(settings: &Self::Settings, key: &Self::Key, xid: u32) -> Vec<u8>;
    /// Reads and validates an answer; returns it with its transaction-id.
    fn parse(
        settings: &Self::Settings,
        bytes: &[u8],
    ) -> Result<(u32, Self::Info), Self::ReplyError>;
    /// Whether the answer is about what `key` asked.
    fn matches(key: &Self::Key, info: &Self::Info) -> bool;
    /// 2: names bindings; 1: the server manages the key but has none; 0: knows nothing.
    fn rank(info: &Self::Info) -> u8;
    /// Seconds since the client's last transaction, as of `received`.
    fn cltt_ago(settings: &Self::Settings, info: &Self::Info, received: Instant) -> Option<u32>;
    /// Merges every server's answer into one; returns the index of the answer it is based on.
    fn merge(
        settings: &Self::Settings,
        answers: &[(usize, Self::Info, Instant)],
    ) -> (usize, Self::Info) {
        let best = best_answer::<Self>(settings, answers);
        (best, answers[best].1.clone())
    }
    /// How long the answer to `key` is cached.
    fn cache_for(key: &Self::Key, info: &Self::Info) -> CacheFor;
    /// Whether the cached answer `info` to `key` is about `bound` (asks it, or names it).
    fn about(key: &Self::Key, info: &Self::Info, bound: &Self::Bound) -> bool;
    /// Other keys the answering server is authoritative for.
    fn also_authoritative(key: &Self::Key, info: &Self::Info) -> Vec<Self::Key>;
    /// Queries to ask before the answer is complete (RFC 5007 CLIENT_LINK).
    fn follow_ups(_key: &Self::Key, _info: &Self::Info) -> Vec<Self::Key> {
        Vec::new()
    }
    /// Adds a follow-up's answer to the answer that asked for it.
    fn absorb(_parent: &mut Self::Info, _key: &Self::Key, _child: Self::Info) {}
}

/// Index of the answer to keep: higher [`Family::rank`] wins; among answers naming bindings the
/// most recent client-last-transaction-time (RFC 4388 §6.8, RFC 5007 §4.3.4; one with a time
/// beats one without, erratum 3763); ties to the first received.
pub(crate) fn best_answer<F: Family>(
    settings: &F::Settings,
    answers: &[(usize, F::Info, Instant)],
) -> usize {
    let latest = answers.iter().map(|a| a.2).max().expect("answers");
    // Age of the last transaction at `latest`: cltt_ago plus how long before `latest` it came.
    let age = |info: &F::Info, at: Instant| match F::cltt_ago(settings, info, at) {
        Some(secs) => Duration::from_secs(u64::from(secs)) + latest.duration_since(at),
        None => Duration::MAX,
    };
    let mut best = 0;
    for (i, (_, info, at)) in answers.iter().enumerate().skip(1) {
        let (_, b, b_at) = &answers[best];
        let better = match F::rank(info).cmp(&F::rank(b)) {
            std::cmp::Ordering::Greater => true,
            std::cmp::Ordering::Less => false,
            std::cmp::Ordering::Equal => F::rank(info) == 2 && age(info, *at) < age(b, *b_at),
        };
        if better {
            best = i;
        }
    }
    best
}

/// DHCPv4 leasequery (RFC 4388).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct V4;

/// The DHCPv4 part of [`crate::Config`].
#[derive(Debug, Clone)]
pub struct Settings4 {
    /// The requestor's address, written into giaddr: where servers send answers.
    pub giaddr: Ipv4Addr,
    /// The Parameter Request List (empty: none is sent).
    pub parameters: Vec<u8>,
    /// Addresses that may be queried (§7 ciaddr restriction); empty: any.
    pub access_networks: Vec<Ipv4Net>,
}

impl Settings4 {
    /// Requestor at `giaddr`, the default parameters, no restriction.
    pub fn new(giaddr: Ipv4Addr) -> Settings4 {
        Settings4 {
            giaddr,
            parameters: DEFAULT_PARAMETERS.to_vec(),
            access_networks: Vec::new(),
        }
    }
}

impl Family for V4 {
    type Key = QueryKey;
    type Info = LeaseInfo;
    type Settings = Settings4;
    type KeyError = KeyError;
    type ReplyError = ReplyError;
    type Bound = Ipv4Addr;
    const XID_MASK: u32 = u32::MAX;

    fn check(settings: &Settings4, key: &QueryKey) -> Result<(), SubmitError<KeyError>> {
        key.validate().map_err(SubmitError::Invalid)?;
        if let QueryKey::Ip(a) = key {
            let nets = &settings.access_networks;
            if !nets.is_empty() && !nets.iter().any(|n| n.contains(a)) {
                return Err(SubmitError::OutsideAccessNetworks(*a));
            }
        }
        Ok(())
    }

    fn encode(settings: &Settings4, key: &QueryKey, xid: u32) -> Vec<u8> {
        key.encode(xid, settings.giaddr, &settings.parameters)
    }

    fn parse(_: &Settings4, bytes: &[u8]) -> Result<(u32, LeaseInfo), ReplyError> {
        let info = LeaseInfo::parse(bytes)?;
        Ok((info.xid, info))
    }

    fn matches(key: &QueryKey, info: &LeaseInfo) -> bool {
        match (key.ip(), info.address) {
            (Some(asked), Some(said)) => asked == said,
            _ => true,
        }
    }

    fn rank(info: &LeaseInfo) -> u8 {
        if info.is_found() {
            2
        } else if matches!(info.state, LeaseState::Unassigned | LeaseState::LegacyAck) {
            1
        } else {
            0
        }
    }

    fn cltt_ago(_: &Settings4, info: &LeaseInfo, _: Instant) -> Option<u32> {
        info.cltt_ago
    }

    fn cache_for(key: &QueryKey, info: &LeaseInfo) -> CacheFor {
        if info.is_found() {
            info.lease_remaining
                .map_or(CacheFor::NotKept, CacheFor::Secs)
        } else if Self::rank(info) == 1 && key.ip().is_some() {
            CacheFor::Unassigned
        } else {
            CacheFor::Unknown
        }
    }

    fn about(key: &QueryKey, info: &LeaseInfo, bound: &Ipv4Addr) -> bool {
        key.ip() == Some(*bound) || info.address == Some(*bound)
    }

    fn also_authoritative(_: &QueryKey, info: &LeaseInfo) -> Vec<QueryKey> {
        info.address.map(QueryKey::Ip).into_iter().collect()
    }
}

/// DHCPv6 leasequery (RFC 5007).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct V6;

/// The DHCPv6 part of [`crate::Config`].
#[derive(Debug, Clone)]
pub struct Settings6 {
    /// The requestor's DUID, sent in OPTION_CLIENTID and expected back (RFC 5007 §4.2.2).
    pub duid: Duid,
    /// OPTION_ORO inside LQ_QUERY (empty: none is sent).
    pub oro: Vec<u16>,
    /// Keep CLIENT_DATA without CLT_TIME (erratum 3763) instead of dropping it (§4.3.3 text).
    pub keep_without_clt_time: bool,
    /// The wall clock at one instant of the caller's clock, to read an absolute CLT_TIME (as
    /// ISC dhcpd 4.4.3 sends it) as an age: (instant, seconds since 1970 then).
    pub epoch: Option<(Instant, u64)>,
}

impl Settings6 {
    /// Requestor with `duid`, ORO asking LQ_RELAY_DATA, dropping CLIENT_DATA without CLT_TIME.
    pub fn new(duid: Duid) -> Settings6 {
        Settings6 {
            duid,
            oro: DEFAULT_ORO6.to_vec(),
            keep_without_clt_time: false,
            epoch: None,
        }
    }

    fn age(&self, data: &ClientData6, received: Instant) -> Option<u32> {
        let now_unix = match self.epoch {
            Some((at, unix)) if received >= at => unix + received.duration_since(at).as_secs(),
            Some((at, unix)) => unix.saturating_sub(at.duration_since(received).as_secs()),
            None => 0,
        };
        data.cltt_ago(now_unix)
    }
}

impl Family for V6 {
    type Key = QueryKey6;
    type Info = LeaseInfo6;
    type Settings = Settings6;
    type KeyError = KeyError6;
    type ReplyError = ReplyError6;
    type Bound = Ipv6Net;
    const XID_MASK: u32 = MAX_TRANSACTION_ID;

    fn check(_: &Settings6, key: &QueryKey6) -> Result<(), SubmitError<KeyError6>> {
        key.validate_udp().map_err(SubmitError::Invalid)
    }

    fn encode(settings: &Settings6, key: &QueryKey6, xid: u32) -> Vec<u8> {
        key.encode(xid, &settings.duid, None, &settings.oro)
    }

    fn parse(settings: &Settings6, bytes: &[u8]) -> Result<(u32, LeaseInfo6), ReplyError6> {
        let info = LeaseInfo6::parse(
            bytes,
            Some(&settings.duid),
            true,
            settings.keep_without_clt_time,
        )?;
        if info.msg_type != lessor_wire::v6::MessageType::LeasequeryReply {
            return Err(ReplyError6::NotLeasequeryReply(info.msg_type));
        }
        Ok((info.transaction_id, info))
    }

    fn matches(key: &QueryKey6, info: &LeaseInfo6) -> bool {
        // A query by address is answered about a client holding the address or a prefix
        // containing it (RFC 5007 §4.1.2.1); by client-id, about that client.
        info.clients.iter().all(|c| match key {
            QueryKey6::Address { address, .. } => {
                c.addresses.iter().any(|a| a.address == *address)
                    || c.prefixes
                        .iter()
                        .any(|p| prefix_holds(p.prefix, p.length, *address))
            }
            QueryKey6::ClientId { duid, .. } => c
                .client_id
                .as_ref()
                .is_none_or(|d| d.to_vec() == duid.to_vec()),
            _ => true,
        })
    }

    fn rank(info: &LeaseInfo6) -> u8 {
        if info.is_found() || (info.is_success() && !info.client_links.is_empty()) {
            2
        } else if info.is_success() {
            1
        } else {
            0
        }
    }

    fn cltt_ago(settings: &Settings6, info: &LeaseInfo6, received: Instant) -> Option<u32> {
        info.clients
            .iter()
            .filter_map(|c| settings.age(c, received))
            .min()
    }

    fn merge(
        settings: &Settings6,
        answers: &[(usize, LeaseInfo6, Instant)],
    ) -> (usize, LeaseInfo6) {
        let best = best_answer::<V6>(settings, answers);
        let (_, base, base_at) = &answers[best];
        let mut merged = base.clone();
        let mut ages: Vec<Option<Instant>> = merged
            .clients
            .iter()
            .map(|c| {
                settings
                    .age(c, *base_at)
                    .map(|s| transaction_at(s, *base_at))
            })
            .collect();
        for (i, (_, other, at)) in answers.iter().enumerate() {
            if i == best || !other.is_found() {
                continue;
            }
            for c in &other.clients {
                let age = settings.age(c, *at).map(|s| transaction_at(s, *at));
                merge_client(&mut merged.clients, &mut ages, c, age);
            }
        }
        (best, merged)
    }

    fn cache_for(_: &QueryKey6, info: &LeaseInfo6) -> CacheFor {
        if !info.client_links.is_empty() && info.clients.is_empty() {
            return CacheFor::NotKept;
        }
        if info.is_found() {
            let least = info
                .clients
                .iter()
                .flat_map(|c| {
                    c.addresses
                        .iter()
                        .map(|a| a.valid_lifetime)
                        .chain(c.prefixes.iter().map(|p| p.valid_lifetime))
                })
                .min();
            least.map_or(CacheFor::NotKept, CacheFor::Secs)
        } else {
            CacheFor::Unknown
        }
    }

    fn about(key: &QueryKey6, info: &LeaseInfo6, bound: &Ipv6Net) -> bool {
        // An address inside the bound, or a prefix overlapping it (one holds the other).
        let holds =
            |p: Ipv6Addr, len: u8| prefix_holds(p, len, bound.network()) || bound.contains(&p);
        let asked = matches!(key, QueryKey6::Address { address, .. } if bound.contains(address));
        asked
            || info.clients.iter().any(|c| {
                c.addresses.iter().any(|a| bound.contains(&a.address))
                    || c.prefixes.iter().any(|p| holds(p.prefix, p.length))
            })
    }

    fn also_authoritative(key: &QueryKey6, info: &LeaseInfo6) -> Vec<QueryKey6> {
        let mut keys = Vec::new();
        for c in &info.clients {
            let link = c.link.unwrap_or(key.link());
            keys.extend(c.addresses.iter().map(|a| QueryKey6::Address {
                address: a.address,
                link,
            }));
            if let Some(d) = &c.client_id {
                keys.push(QueryKey6::ClientId {
                    duid: d.clone(),
                    link,
                });
            }
        }
        keys
    }

    fn follow_ups(key: &QueryKey6, info: &LeaseInfo6) -> Vec<QueryKey6> {
        // RFC 5007 §4.3.3 variant 2: the client is on several links; ask once per link.
        if !key.link().is_unspecified() || !info.clients.is_empty() || !info.is_success() {
            return Vec::new();
        }
        let mut links = info.client_links.clone();
        links.sort();
        links.dedup();
        links.retain(|l| !l.is_unspecified());
        links.into_iter().map(|l| key.on_link(l)).collect()
    }

    fn absorb(parent: &mut LeaseInfo6, key: &QueryKey6, child: LeaseInfo6) {
        parent.discarded += child.discarded;
        for mut c in child.clients {
            c.link.get_or_insert(key.link());
            parent.clients.push(c);
        }
        // In link order, whatever order the follow-ups were answered in.
        parent.clients.sort_by_key(|c| c.link);
    }
}

/// When the client's last transaction was, on the caller's clock: answers received at
/// different times compare fairly.
fn transaction_at(secs: u32, received: Instant) -> Instant {
    received
        .checked_sub(Duration::from_secs(u64::from(secs)))
        .unwrap_or(received)
}

/// Whether `prefix/length` holds `address`.
fn prefix_holds(prefix: Ipv6Addr, length: u8, address: Ipv6Addr) -> bool {
    if length > 128 {
        return false;
    }
    let mask = u128::MAX.checked_shl(128 - u32::from(length)).unwrap_or(0);
    u128::from(prefix) & mask == u128::from(address) & mask
}

/// RFC 5007 §4.3.4: data about the same client on the same link is merged; where two sources
/// give the same address or prefix (overlapping data), the one with the most recent CLT_TIME
/// wins, and a source with CLT_TIME beats one without (erratum 3763). Disjoint data is added.
/// The same address held by two different clients is a conflict too: the fresher client keeps it.
fn merge_client(
    clients: &mut Vec<ClientData6>,
    ages: &mut Vec<Option<Instant>>,
    c: &ClientData6,
    age: Option<Instant>,
) {
    let fresher = |mine: Option<Instant>| match (age, mine) {
        (Some(a), Some(m)) => a > m,
        (Some(_), None) => true,
        _ => false,
    };
    let same = clients
        .iter()
        .position(|m| m.client_id == c.client_id && m.link == c.link);
    let mut c = c.clone();
    // Addresses and prefixes another client holds: the fresher source keeps them.
    for (j, m) in clients.iter_mut().enumerate() {
        if Some(j) == same {
            continue;
        }
        if fresher(ages[j]) {
            m.addresses
                .retain(|a| !c.addresses.iter().any(|x| x.address == a.address));
            m.prefixes.retain(|p| {
                !c.prefixes
                    .iter()
                    .any(|x| (x.prefix, x.length) == (p.prefix, p.length))
            });
        } else {
            c.addresses
                .retain(|a| !m.addresses.iter().any(|x| x.address == a.address));
            c.prefixes.retain(|p| {
                !m.prefixes
                    .iter()
                    .any(|x| (x.prefix, x.length) == (p.prefix, p.length))
            });
        }
    }
    match same {
        Some(j) => {
            let newer = fresher(ages[j]);
            let m = &mut clients[j];
            for a in c.addresses {
                match m.addresses.iter_mut().find(|x| x.address == a.address) {
                    Some(x) if newer => *x = a,
                    Some(_) => {}
                    None => m.addresses.push(a),
                }
            }
            for p in c.prefixes {
                match m
                    .prefixes
                    .iter_mut()
                    .find(|x| (x.prefix, x.length) == (p.prefix, p.length))
                {
                    Some(x) if newer => *x = p,
                    Some(_) => {}
                    None => m.prefixes.push(p),
                }
            }
            if newer {
                m.clt_time = c.clt_time;
                if c.relay.is_some() {
                    m.relay = c.relay;
                }
                ages[j] = age;
            }
        }
        None if !c.addresses.is_empty() || !c.prefixes.is_empty() => {
            clients.push(c);
            ages.push(age);
        }
        None => {}
    }
    // A client left without addresses or prefixes goes, its age with it.
    let keep: Vec<bool> = clients
        .iter()
        .map(|m| !m.addresses.is_empty() || !m.prefixes.is_empty())
        .collect();
    let mut k = keep.iter();
    ages.retain(|_| *k.next().unwrap_or(&true));
    let mut k = keep.iter();
    clients.retain(|_| *k.next().unwrap_or(&true));
}
