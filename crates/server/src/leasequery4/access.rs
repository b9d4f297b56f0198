//! Who may ask, and how often (RFC 4388 §7: "configure a DHCP server with the IP addresses of the
//! relay agents for which it may respond", and "SHOULD ensure that they cannot be successfully
//! attacked by being flooded").
//!
//! - **Allow-list**: both the datagram's source address and giaddr must be inside
//!   `[leasequery4] requesters`. The source is what the network vouches for (as much as it vouches
//!   for anything); giaddr is where the answer goes. Checking only the source would let an allowed
//!   requester aim answers at any third party; checking only giaddr would let anyone who can
//!   write a giaddr read the lease table. No `requesters`: nobody is answered.
//! - **Rate limits**: token buckets with time injected in milliseconds (a monotonic clock): one
//!   per requester (keyed by source address, refilled at `per-requester` tokens per second), one
//!   per relay (keyed by giaddr, where the replies go, at the same rate) and one for the whole
//!   server (`total`). The requester's bucket is charged first, so a requester over its own limit
//!   does not drain the shared ones. The source address is what a flood can forge most easily
//!   (any address of an allowed prefix gets a fresh bucket): the relay bucket bounds what
//!   forged sources can aim at one giaddr, the total bucket what they can take together.
//! - **Cost by work** (docs/protocol.md decision 14): a query takes one token before it is
//!   looked at ([`RateLimiter::check`]); once answered it is charged the work it caused, one
//!   more token per [`ENTRIES_PER_TOKEN`] index entries examined ([`RateLimiter::charge`]),
//!   from the same three buckets. That charge is never refused (the work is done) and may leave
//!   a bucket in debt, down to minus its depth, which later queries wait out: a cheap source
//!   sending expensive queries (by a large relay's relay-id) runs out after a fraction of the
//!   queries it could send by IP.
//! - **Burst**: each bucket holds [`BURST_SECONDS`] of its rate. An access concentrator
//!   recovering after a reboot (RFC 4388 §6.6, §7) sends one query per address it serves, with
//!   up to 100-200 outstanding: a closed loop that goes as fast as the server answers, so no
//!   rate below the server's own capacity can serve it without loss. What is bounded is how many
//!   it sends: with the default 2,000 per second a requester may send 120,000 queries at any
//!   speed before the rate applies, enough for an access concentrator's whole table; a flood
//!   gets the same 120,000 and then 2,000 per second (docs/leasequery.md, "Rate limits").
//! - **Bounded memory**: at most [`MAX_BUCKETS`] requester buckets. When a new requester arrives
//!   and the table is full, buckets that have refilled completely are forgotten first (a full
//!   bucket is the same as a new one, so nothing is lost); if none has, the bucket used least
//!   recently is evicted. Eviction scans the table (O([`MAX_BUCKETS`])) only when it is full.

use super::tally::Tally;
use crate::token_bucket::{Bucket, Limit, COST};
use foldhash::fast::FixedState;
use ipnet::IpNet;
use std::collections::hash_map::RandomState;
use std::collections::HashMap;
use std::hash::{BuildHasher, Hash};
use std::net::{IpAddr, Ipv4Addr};
use std::sync::{Arc, Mutex, MutexGuard};

/// Most requester buckets kept at once.
pub const MAX_BUCKETS: usize = 4096;

/// Index entries examined per extra token (see the module docs): a query by IP of a client
/// with one lease examines none and costs 1 token, a query by relay-id with a full
/// associated-ip list (251 entries) about 8.8.
pub const ENTRIES_PER_TOKEN: usize = 32;

/// The extra milli-tokens a query that examined `examined` index entries is charged.
pub fn work_cost(examined: usize) -> i64 {
    i64::try_from(examined)
        .unwrap_or(i64::MAX)
        .saturating_mul(COST)
        / ENTRIES_PER_TOKEN as i64
}

/// Seconds of its rate a bucket holds (see the module docs).
pub const BURST_SECONDS: u32 = 60;

/// The allow-list.
#[derive(Debug, Clone, Default)]
pub struct AllowList {
    nets: Vec<IpNet>,
}

impl AllowList {
    pub fn new(nets: Vec<IpNet>) -> AllowList {
        AllowList { nets }
    }

    /// Whether `a` (either family: the DHCPv6 responder shares this list's code) is inside one
    /// of the configured prefixes.
    pub fn contains(&self, a: impl Into<IpAddr>) -> bool {
        let a = a.into();
        self.nets.iter().any(|n| n.contains(&a))
    }

    /// The strict rule above: the source and giaddr (for DHCPv6, where the reply goes) are both
    /// allowed.
    pub fn allows<A: Into<IpAddr>>(&self, source: A, giaddr: A) -> bool {
        self.contains(source) && self.contains(giaddr)
    }
}

/// Which limit refused a query.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Limited {
    Requester,
    Relay,
    Total,
}

/// Hashing of requester addresses for the bucket table: foldhash (a multiply-and-fold hash, a
/// few dozen instructions for an address where SipHash or an octet-at-a-time loop took hundreds;
/// the limiter runs for every query) with a seed drawn at random per limiter, as the store's
/// secondary indexes do. Sources are allow-listed, but an allow-list may be a large prefix whose
/// addresses a flood can spoof, and the seed keeps them from being chosen to collide.
#[derive(Debug, Clone)]
pub(crate) struct AddressHashing(FixedState);

impl AddressHashing {
    pub(crate) fn new() -> AddressHashing {
        AddressHashing(FixedState::with_seed(
            RandomState::new().hash_one(0x6c65_7373_6f72_u64),
        ))
    }
}

impl BuildHasher for AddressHashing {
    type Hasher = <FixedState as BuildHasher>::Hasher;

    fn build_hasher(&self) -> Self::Hasher {
        self.0.build_hasher()
    }
}

/// What buckets are keyed by: an IPv4 or an IPv6 address.
pub trait Address: Copy + Eq + Hash + Ord + std::fmt::Debug {}

impl Address for Ipv4Addr {}
impl Address for std::net::Ipv6Addr {}

/// Buckets by address, at most `max` of them (see the module docs, "Bounded memory").
#[derive(Debug)]
struct Buckets<A> {
    limit: Limit,
    map: HashMap<A, Bucket, AddressHashing>,
    max: usize,
}

impl<A: Address> Buckets<A> {
    fn new(limit: Limit, max: usize) -> Buckets<A> {
        Buckets {
            limit,
            map: HashMap::with_hasher(AddressHashing::new()),
            max: max.max(1),
        }
    }

    fn get(&mut self, a: A, now_ms: u64) -> &mut Bucket {
        // One lookup (the entry's) unless the table is full: the common case pays no
        // `contains_key` first.
        if self.map.len() >= self.max && !self.map.contains_key(&a) {
            self.evict(now_ms);
        }
        let limit = self.limit;
        self.map
            .entry(a)
            .or_insert_with(|| Bucket::full(limit, now_ms))
    }

    fn take(&mut self, a: A, now_ms: u64) -> bool {
        let limit = self.limit;
        self.get(a, now_ms).take(limit, now_ms)
    }

    fn charge(&mut self, a: A, milli: i64, now_ms: u64) {
        let limit = self.limit;
        self.get(a, now_ms).charge(limit, milli, now_ms);
    }

    fn evict(&mut self, now_ms: u64) {
        let limit = self.limit;
        self.map.retain(|_, b| !b.is_full_at(limit, now_ms));
        if self.map.len() >= self.max {
            if let Some(oldest) = self
                .map
                .iter()
                .min_by_key(|(a, b)| (b.last_ms(), **a))
                .map(|(a, _)| *a)
            {
                self.map.remove(&oldest);
            }
        }
    }
}

/// The rate limits: per requester, per relay, in all; by IPv4 address (the default) or by IPv6
/// address (the DHCPv6 responder, where the "relay" is where the reply goes).
#[derive(Debug)]
pub struct RateLimiter<A = Ipv4Addr> {
    requesters: Buckets<A>,
    relays: Buckets<A>,
    total_limit: Limit,
    total: Bucket,
    /// Queries by requester, for the metrics: counted here, under the lock every allowed
    /// query takes anyway.
    tally: Tally<A>,
}

impl<A: Address> RateLimiter<A> {
    /// `per_requester` (also the rate of each relay's bucket) and `total` in tokens per
    /// second, each bucket holding [`BURST_SECONDS`] of its rate.
    pub fn new(per_requester: u32, total: u32) -> RateLimiter<A> {
        RateLimiter::with_capacity(per_requester, total, BURST_SECONDS, MAX_BUCKETS)
    }

    /// As [`RateLimiter::new`], each bucket holding `burst_seconds` (at least 1) of its rate,
    /// keeping at most `max_buckets` requester buckets and as many relay buckets (at least 1).
    pub fn with_capacity(
        per_requester: u32,
        total: u32,
        burst_seconds: u32,
        max_buckets: usize,
    ) -> RateLimiter<A> {
        let total_limit = Limit::with_seconds(total, burst_seconds);
        let each = Limit::with_seconds(per_requester, burst_seconds);
        RateLimiter {
            requesters: Buckets::new(each, max_buckets),
            relays: Buckets::new(each, max_buckets),
            total_limit,
            total: Bucket::full(total_limit, 0),
            tally: Tally::default(),
        }
    }

    /// Takes one token for a query from `requester` whose replies go to `giaddr`, at `now_ms`.
    /// The query is counted for its requester ([`RateLimiter::tally`]).
    pub fn check(&mut self, requester: A, giaddr: A, now_ms: u64) -> Result<(), Limited> {
        let verdict = self.limit(requester, giaddr, now_ms);
        self.tally.count(requester, verdict.is_ok());
        verdict
    }

    fn limit(&mut self, requester: A, giaddr: A, now_ms: u64) -> Result<(), Limited> {
        if !self.requesters.take(requester, now_ms) {
            return Err(Limited::Requester);
        }
        if !self.relays.take(giaddr, now_ms) {
            return Err(Limited::Relay);
        }
        if !self.total.take(self.total_limit, now_ms) {
            return Err(Limited::Total);
        }
        Ok(())
    }

    /// Charges the work of a query [`RateLimiter::check`] let through: `examined` index entries
    /// ([`work_cost`]) from the same three buckets, never refused.
    pub fn charge(&mut self, requester: A, giaddr: A, examined: usize, now_ms: u64) {
        let milli = work_cost(examined);
        if milli == 0 {
            return;
        }
        self.requesters.charge(requester, milli, now_ms);
        self.relays.charge(giaddr, milli, now_ms);
        self.total.charge(self.total_limit, milli, now_ms);
    }

    /// Requester buckets held.
    pub fn buckets(&self) -> usize {
        self.requesters.map.len()
    }

    /// Queries by requester: let through and dropped by the limits.
    pub fn tally(&self) -> &Tally<A> {
        &self.tally
    }

    /// Takes `other`'s tally: a reload that changes the limits starts new buckets, but the
    /// per-requester counts (metrics: counters never go down) go on.
    pub fn take_tally(&mut self, other: &mut RateLimiter<A>) {
        self.tally = std::mem::take(&mut other.tally);
    }
}

/// A responder's limiter, shared by its receive threads.
pub type SharedLimiter<A> = Arc<Mutex<RateLimiter<A>>>;

fn locked<A>(limiter: &SharedLimiter<A>) -> MutexGuard<'_, RateLimiter<A>> {
    limiter.lock().unwrap_or_else(|p| p.into_inner())
}

/// The limiter a reloaded responder keeps: the running one when its limits are unchanged (a
/// requester cannot refill its bucket by waiting for a reload), else `next` with the running
/// one's tally.
pub fn carried_over<A: Address>(
    running: &SharedLimiter<A>,
    next: SharedLimiter<A>,
    limits_unchanged: bool,
) -> SharedLimiter<A> {
    if limits_unchanged {
        return Arc::clone(running);
    }
    locked(&next).take_tally(&mut locked(running));
    next
}

/// Queries by requester (source address), let through and dropped by the limits; `None` is
/// every requester past the tally's bound.
pub fn requester_rows<A: Address + Into<IpAddr>>(
    limiter: &SharedLimiter<A>,
) -> Vec<(Option<IpAddr>, super::tally::RequesterCounts)> {
    let rows = locked(limiter).tally().rows();
    rows.into_iter()
        .map(|(a, c)| (a.map(Into::into), c))
        .collect()
}

impl<A: Address> RateLimiter<A> {
    /// Relay buckets held.
    pub fn relay_buckets(&self) -> usize {
        self.relays.map.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn a(n: u8) -> Ipv4Addr {
        Ipv4Addr::new(198, 51, 100, n)
    }

    #[test]
    fn per_requester_bucket_refills_at_its_rate() {
        let mut r = RateLimiter::with_capacity(2, 1000, 1, MAX_BUCKETS);
        assert_eq!(r.check(a(1), a(1), 0), Ok(()));
        assert_eq!(r.check(a(1), a(1), 0), Ok(()));
        assert_eq!(r.check(a(1), a(1), 0), Err(Limited::Requester));
        // Another requester has its own bucket.
        assert_eq!(r.check(a(2), a(2), 0), Ok(()));
        // Half a second later: one token (2 per second).
        assert_eq!(r.check(a(1), a(1), 500), Ok(()));
        assert_eq!(r.check(a(1), a(1), 500), Err(Limited::Requester));
        // Never more than one second's worth.
        assert_eq!(r.check(a(1), a(1), 60_000), Ok(()));
        assert_eq!(r.check(a(1), a(1), 60_000), Ok(()));
        assert_eq!(r.check(a(1), a(1), 60_000), Err(Limited::Requester));
        // A clock going backwards does not panic and adds nothing.
        assert_eq!(r.check(a(1), a(1), 10), Err(Limited::Requester));
    }

    #[test]
    fn total_bucket_is_shared() {
        let mut r = RateLimiter::with_capacity(10, 3, 1, MAX_BUCKETS);
        assert_eq!(r.check(a(1), a(1), 0), Ok(()));
        assert_eq!(r.check(a(2), a(2), 0), Ok(()));
        assert_eq!(r.check(a(3), a(3), 0), Ok(()));
        assert_eq!(r.check(a(4), a(4), 0), Err(Limited::Total));
        assert_eq!(r.check(a(4), a(4), 334), Ok(()));
    }

    #[test]
    fn buckets_are_bounded() {
        let mut r = RateLimiter::with_capacity(1, 1_000_000, 1, 3);
        for n in 1..=3 {
            assert_eq!(r.check(a(n), a(n), 0), Ok(()));
        }
        // Table full, nobody refilled: the least recently used (a(1) by address tie-break) goes.
        assert_eq!(r.check(a(4), a(4), 0), Ok(()));
        assert_eq!(r.buckets(), 3);
        // After a second every bucket is full again: all are forgotten to make room.
        assert_eq!(r.check(a(5), a(5), 1000), Ok(()));
        assert_eq!(r.buckets(), 1);
        for n in 0..100 {
            let _ = r.check(
                Ipv4Addr::new(203, 0, 113, n),
                Ipv4Addr::new(203, 0, 113, n),
                1000,
            );
            assert!(r.buckets() <= 3);
        }
    }

    #[test]
    fn a_bucket_holds_burst_seconds_of_its_rate() {
        // 2 per second, 60 s deep: 120 queries at once, then 2 per second.
        let mut r = RateLimiter::with_capacity(2, 1_000_000, 60, MAX_BUCKETS);
        for n in 0..120 {
            assert_eq!(r.check(a(1), a(1), 5), Ok(()), "query {n}");
        }
        assert_eq!(r.check(a(1), a(1), 5), Err(Limited::Requester));
        assert_eq!(r.check(a(1), a(1), 505), Ok(()));
        assert_eq!(r.check(a(1), a(1), 505), Err(Limited::Requester));
        // Refilled after 60 s of quiet, not more.
        for _ in 0..120 {
            assert_eq!(r.check(a(1), a(1), 70_000), Ok(()));
        }
        assert_eq!(r.check(a(1), a(1), 70_000), Err(Limited::Requester));
        // The total bucket is as deep.
        let mut r = RateLimiter::with_capacity(1_000, 3, 60, MAX_BUCKETS);
        for n in 0..180u32 {
            assert_eq!(
                r.check(a((n % 200) as u8), a((n % 200) as u8), 0),
                Ok(()),
                "query {n}"
            );
        }
        assert_eq!(r.check(a(201), a(201), 0), Err(Limited::Total));
    }

    #[test]
    fn the_defaults_serve_a_recovering_access_concentrator_and_then_limit() {
        // RFC 4388 §6.6 / §7: after a reboot, one query per address served, as fast as the
        // server answers. 100,000 addresses within one second: none refused.
        let d = crate::config::schema::RateLimit::default();
        let mut r = RateLimiter::new(d.per_requester, d.total);
        for n in 0..100_000u64 {
            assert_eq!(r.check(a(1), a(1), n / 100), Ok(()), "query {n}");
        }
        // A flood that goes on is held to the sustained rate.
        let mut answered = 0u64;
        for n in 0..1_000_000u64 {
            if r.check(a(1), a(1), 1_000 + n / 100).is_ok() {
                answered += 1;
            }
        }
        // 10 s more of flood: what was left of the burst, then the rate.
        let burst = u64::from(d.per_requester) * u64::from(BURST_SECONDS);
        let most = burst - 100_000 + 11 * u64::from(d.per_requester);
        assert!(answered <= most, "{answered} > {most}");
    }

    #[test]
    fn forged_sources_are_bounded_by_the_relay_bucket() {
        // 2 per second, 1 s deep, per requester and per relay: every query from a new source
        // address passes its own bucket, the giaddr's bucket stops the third.
        let mut r = RateLimiter::with_capacity(2, 1_000_000, 1, MAX_BUCKETS);
        let giaddr = a(1);
        assert_eq!(r.check(a(10), giaddr, 0), Ok(()));
        assert_eq!(r.check(a(11), giaddr, 0), Ok(()));
        assert_eq!(r.check(a(12), giaddr, 0), Err(Limited::Relay));
        // Another relay has its own bucket.
        assert_eq!(r.check(a(13), a(2), 0), Ok(()));
        assert_eq!(r.relay_buckets(), 2);
    }

    #[test]
    fn expensive_queries_cost_their_work() {
        // 100 per second, 1 s deep: 100 queries that examine one entry each...
        let mut r = RateLimiter::with_capacity(100, 1_000_000, 1, MAX_BUCKETS);
        let mut cheap = 0;
        while r.check(a(1), a(1), 0).is_ok() {
            r.charge(a(1), a(1), 1, 0);
            cheap += 1;
        }
        // ...cost 1.031 tokens each: 97 of them.
        assert_eq!(cheap, 97);
        // A query examining a relay's full associated-ip list (251 entries) costs 8.8 tokens:
        // the same bucket lets 12 through.
        let mut r = RateLimiter::with_capacity(100, 1_000_000, 1, MAX_BUCKETS);
        let mut dear = 0;
        while r.check(a(1), a(1), 0).is_ok() {
            r.charge(a(1), a(1), 251, 0);
            dear += 1;
        }
        assert_eq!(dear, 12);
        // The total bucket pays too, and debt is waited out: 1 + 199 tokens taken from a
        // bucket of 100 leave it 100 in debt, which 1 s of refill (100 tokens) repays.
        let mut r = RateLimiter::with_capacity(1_000_000, 100, 1, MAX_BUCKETS);
        assert_eq!(r.check(a(1), a(1), 0), Ok(()));
        r.charge(a(1), a(1), 32 * 199, 0);
        assert_eq!(r.check(a(2), a(2), 0), Err(Limited::Total));
        assert_eq!(r.check(a(2), a(2), 1_000), Err(Limited::Total));
        assert_eq!(r.check(a(2), a(2), 1_010), Ok(()));
        // Debt is bounded by the depth: a huge charge costs no more than one bucket.
        let mut r = RateLimiter::with_capacity(1_000_000, 100, 1, MAX_BUCKETS);
        r.charge(a(1), a(1), usize::MAX, 0);
        assert_eq!(r.check(a(2), a(2), 1_009), Err(Limited::Total));
        assert_eq!(r.check(a(2), a(2), 1_010), Ok(()));
    }

    #[test]
    fn allow_list_needs_source_and_giaddr() {
        let l = AllowList::new(vec!["198.51.100.0/24".parse().unwrap()]);
        assert!(l.allows(a(1), a(2)));
        assert!(!l.allows(a(1), Ipv4Addr::new(203, 0, 113, 1)));
        assert!(!l.allows(Ipv4Addr::new(203, 0, 113, 1), a(1)));
        assert!(!AllowList::default().allows(a(1), a(1)));
    }
}
