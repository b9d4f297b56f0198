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
//!   per requester (keyed by source address, refilled at `per-requester` queries per second) and
//!   one for the whole server (`total`). The requester's bucket is charged first, so a requester
//!   over its own limit does not drain the shared one.
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

use ipnet::IpNet;
use std::collections::hash_map::RandomState;
use std::collections::HashMap;
use std::hash::{BuildHasher, Hasher};
use std::net::{IpAddr, Ipv4Addr};

/// Most requester buckets kept at once.
pub const MAX_BUCKETS: usize = 4096;

/// Milli-tokens per query.
const COST: u64 = 1000;

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

    /// Whether `a` is inside one of the configured prefixes.
    pub fn contains(&self, a: Ipv4Addr) -> bool {
        self.nets.iter().any(|n| n.contains(&IpAddr::V4(a)))
    }

    /// The strict rule above: the source and giaddr are both allowed.
    pub fn allows(&self, source: Ipv4Addr, giaddr: Ipv4Addr) -> bool {
        self.contains(source) && self.contains(giaddr)
    }
}

/// A token bucket in milli-tokens (see [`Limit`] for its rate and depth).
#[derive(Debug, Clone, Copy)]
struct Bucket {
    milli: u64,
    last_ms: u64,
}

/// The refill rate and depth of a kind of bucket.
#[derive(Debug, Clone, Copy)]
struct Limit {
    /// Tokens per second (= milli-tokens per millisecond).
    rate: u32,
    /// Milli-tokens held at most.
    capacity: u64,
}

impl Limit {
    fn new(rate: u32, burst_seconds: u32) -> Limit {
        Limit {
            rate,
            capacity: u64::from(rate)
                .saturating_mul(u64::from(burst_seconds.max(1)))
                .saturating_mul(COST),
        }
    }
}

impl Bucket {
    fn full(limit: Limit, now_ms: u64) -> Bucket {
        Bucket {
            milli: limit.capacity,
            last_ms: now_ms,
        }
    }

    fn refill(&mut self, limit: Limit, now_ms: u64) {
        // A clock that goes backwards adds nothing (and never panics).
        let elapsed = now_ms.saturating_sub(self.last_ms);
        self.milli = self
            .milli
            .saturating_add(elapsed.saturating_mul(u64::from(limit.rate)))
            .min(limit.capacity);
        self.last_ms = self.last_ms.max(now_ms);
    }

    fn take(&mut self, limit: Limit, now_ms: u64) -> bool {
        self.refill(limit, now_ms);
        if self.milli >= COST {
            self.milli -= COST;
            true
        } else {
            false
        }
    }

    fn is_full_at(&self, limit: Limit, now_ms: u64) -> bool {
        let mut b = *self;
        b.refill(limit, now_ms);
        b.milli >= limit.capacity
    }
}

/// Which limit refused a query.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Limited {
    Requester,
    Total,
}

/// Hashing of requester addresses for the bucket table: one keyed multiply per lookup instead of
/// SipHash (the limiter runs for every query). The key is random per limiter: sources are
/// allow-listed, but an allow-list may be a large prefix whose addresses a flood can spoof, and
/// the key keeps them from being chosen to collide.
#[derive(Debug, Clone)]
struct AddressHashing {
    k0: u64,
    k1: u64,
}

impl AddressHashing {
    fn new() -> AddressHashing {
        let random = RandomState::new();
        AddressHashing {
            k0: random.hash_one(0x6c65_7373_6f72_u64),
            k1: random.hash_one(0x7261_7465_u64) | 1,
        }
    }
}

impl BuildHasher for AddressHashing {
    type Hasher = AddressHasher;

    fn build_hasher(&self) -> AddressHasher {
        AddressHasher {
            keys: (self.k0, self.k1),
            state: 0,
        }
    }
}

/// See [`AddressHashing`]; an IPv4 address hashes as its four octets.
#[derive(Debug)]
struct AddressHasher {
    keys: (u64, u64),
    state: u64,
}

impl Hasher for AddressHasher {
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.state = self.state.rotate_left(8) ^ u64::from(b);
        }
    }

    fn finish(&self) -> u64 {
        let x = (self.state ^ self.keys.0).wrapping_mul(self.keys.1);
        x ^ (x >> 29)
    }
}

/// The two rate limits.
#[derive(Debug)]
pub struct RateLimiter {
    per_requester: Limit,
    total_limit: Limit,
    total: Bucket,
    buckets: HashMap<Ipv4Addr, Bucket, AddressHashing>,
    max_buckets: usize,
}

impl RateLimiter {
    /// `per_requester` and `total` in queries per second, each bucket holding
    /// [`BURST_SECONDS`] of its rate.
    pub fn new(per_requester: u32, total: u32) -> RateLimiter {
        RateLimiter::with_capacity(per_requester, total, BURST_SECONDS, MAX_BUCKETS)
    }

    /// As [`RateLimiter::new`], each bucket holding `burst_seconds` (at least 1) of its rate,
    /// keeping at most `max_buckets` requester buckets (at least 1).
    pub fn with_capacity(
        per_requester: u32,
        total: u32,
        burst_seconds: u32,
        max_buckets: usize,
    ) -> RateLimiter {
        let total_limit = Limit::new(total, burst_seconds);
        RateLimiter {
            per_requester: Limit::new(per_requester, burst_seconds),
            total_limit,
            total: Bucket::full(total_limit, 0),
            buckets: HashMap::with_hasher(AddressHashing::new()),
            max_buckets: max_buckets.max(1),
        }
    }

    /// Charges one query from `requester` at `now_ms`.
    pub fn check(&mut self, requester: Ipv4Addr, now_ms: u64) -> Result<(), Limited> {
        let limit = self.per_requester;
        if !self.buckets.contains_key(&requester) && self.buckets.len() >= self.max_buckets {
            self.evict(now_ms);
        }
        let bucket = self
            .buckets
            .entry(requester)
            .or_insert_with(|| Bucket::full(limit, now_ms));
        if !bucket.take(limit, now_ms) {
            return Err(Limited::Requester);
        }
        if !self.total.take(self.total_limit, now_ms) {
            return Err(Limited::Total);
        }
        Ok(())
    }

    /// Requester buckets held.
    pub fn buckets(&self) -> usize {
        self.buckets.len()
    }

    fn evict(&mut self, now_ms: u64) {
        let limit = self.per_requester;
        self.buckets.retain(|_, b| !b.is_full_at(limit, now_ms));
        if self.buckets.len() >= self.max_buckets {
            if let Some(oldest) = self
                .buckets
                .iter()
                .min_by_key(|(a, b)| (b.last_ms, **a))
                .map(|(a, _)| *a)
            {
                self.buckets.remove(&oldest);
            }
        }
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
        assert_eq!(r.check(a(1), 0), Ok(()));
        assert_eq!(r.check(a(1), 0), Ok(()));
        assert_eq!(r.check(a(1), 0), Err(Limited::Requester));
        // Another requester has its own bucket.
        assert_eq!(r.check(a(2), 0), Ok(()));
        // Half a second later: one token (2 per second).
        assert_eq!(r.check(a(1), 500), Ok(()));
        assert_eq!(r.check(a(1), 500), Err(Limited::Requester));
        // Never more than one second's worth.
        assert_eq!(r.check(a(1), 60_000), Ok(()));
        assert_eq!(r.check(a(1), 60_000), Ok(()));
        assert_eq!(r.check(a(1), 60_000), Err(Limited::Requester));
        // A clock going backwards does not panic and adds nothing.
        assert_eq!(r.check(a(1), 10), Err(Limited::Requester));
    }

    #[test]
    fn total_bucket_is_shared() {
        let mut r = RateLimiter::with_capacity(10, 3, 1, MAX_BUCKETS);
        assert_eq!(r.check(a(1), 0), Ok(()));
        assert_eq!(r.check(a(2), 0), Ok(()));
        assert_eq!(r.check(a(3), 0), Ok(()));
        assert_eq!(r.check(a(4), 0), Err(Limited::Total));
        assert_eq!(r.check(a(4), 334), Ok(()));
    }

    #[test]
    fn buckets_are_bounded() {
        let mut r = RateLimiter::with_capacity(1, 1_000_000, 1, 3);
        for n in 1..=3 {
            assert_eq!(r.check(a(n), 0), Ok(()));
        }
        // Table full, nobody refilled: the least recently used (a(1) by address tie-break) goes.
        assert_eq!(r.check(a(4), 0), Ok(()));
        assert_eq!(r.buckets(), 3);
        // After a second every bucket is full again: all are forgotten to make room.
        assert_eq!(r.check(a(5), 1000), Ok(()));
        assert_eq!(r.buckets(), 1);
        for n in 0..100 {
            let _ = r.check(Ipv4Addr::new(203, 0, 113, n), 1000);
            assert!(r.buckets() <= 3);
        }
    }

    #[test]
    fn a_bucket_holds_burst_seconds_of_its_rate() {
        // 2 per second, 60 s deep: 120 queries at once, then 2 per second.
        let mut r = RateLimiter::with_capacity(2, 1_000_000, 60, MAX_BUCKETS);
        for n in 0..120 {
            assert_eq!(r.check(a(1), 5), Ok(()), "query {n}");
        }
        assert_eq!(r.check(a(1), 5), Err(Limited::Requester));
        assert_eq!(r.check(a(1), 505), Ok(()));
        assert_eq!(r.check(a(1), 505), Err(Limited::Requester));
        // Refilled after 60 s of quiet, not more.
        for _ in 0..120 {
            assert_eq!(r.check(a(1), 70_000), Ok(()));
        }
        assert_eq!(r.check(a(1), 70_000), Err(Limited::Requester));
        // The total bucket is as deep.
        let mut r = RateLimiter::with_capacity(1_000, 3, 60, MAX_BUCKETS);
        for n in 0..180u32 {
            assert_eq!(r.check(a((n % 200) as u8), 0), Ok(()), "query {n}");
        }
        assert_eq!(r.check(a(201), 0), Err(Limited::Total));
    }

    #[test]
    fn the_defaults_serve_a_recovering_access_concentrator_and_then_limit() {
        // RFC 4388 §6.6 / §7: after a reboot, one query per address served, as fast as the
        // server answers. 100,000 addresses within one second: none refused.
        let d = crate::config::schema::RateLimit::default();
        let mut r = RateLimiter::new(d.per_requester, d.total);
        for n in 0..100_000u64 {
            assert_eq!(r.check(a(1), n / 100), Ok(()), "query {n}");
        }
        // A flood that goes on is held to the sustained rate.
        let mut answered = 0u64;
        for n in 0..1_000_000u64 {
            if r.check(a(1), 1_000 + n / 100).is_ok() {
                answered += 1;
            }
        }
        // 10 s more of flood: what was left of the burst, then the rate.
        let burst = u64::from(d.per_requester) * u64::from(BURST_SECONDS);
        let most = burst - 100_000 + 11 * u64::from(d.per_requester);
        assert!(answered <= most, "{answered} > {most}");
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
