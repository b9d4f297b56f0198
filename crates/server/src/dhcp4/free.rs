//! The never-used addresses of every pool, kept in step with the engine's writes, so that
//! choosing one costs a tree lookup whatever happened before.
//!
//! Scanning a pool for an address without a binding costs the pool's size once it is full, and
//! any event that might free an address (a forgotten offer: a client that names another server
//! in its DHCPREQUEST forgets one at will) would make the next DHCPDISCOVER scan it again, under
//! the engine's lock. Instead the free addresses are held as runs (first, last) in one ordered
//! map, built once from the store at start: memory grows with how fragmented the pools are (at
//! most one run per binding, excluded or reserved address, plus one per pool), not with their
//! size. The engine says when an address becomes used ([`FreeAddresses::used`]: it wrote a
//! binding there) and when it is never-used again ([`FreeAddresses::freed`]: it deleted the
//! binding of a forgotten offer); expiry and release keep the binding (the address goes to the
//! store's reuse index), so they change nothing here.
//!
//! The engine is the only writer of DHCPv4 bindings while it serves; should another write a
//! binding at a free address all the same, the choice checks the snapshot and drops the stale
//! run entry (each such entry costs one look, once).

use crate::config::Subnet;
use lessor_store::Snapshot4;
use std::collections::{BTreeMap, HashSet};
use std::net::Ipv4Addr;

/// A well-mixed number from a seed and a pool's place (SplitMix64's finaliser), so that pools of
/// one server start at unrelated offsets, and so do one pool on two servers.
/// Where in its pools a server sharing the lease set starts looking for never-used addresses
/// and prefixes (docs/protocol.md decision 44): the fraction `id × φ` (mod 1, in 64-bit fixed
/// point) of each pool for the server numbered `id` in the store ([`Store::writer_id`]), so
/// that servers 1, 2, 3... start as far apart as they can without knowing how many they are
/// (a Weyl sequence: two servers 0.38 of the pool apart, three at least 0.24). 0 (the first
/// address, as ever) for a store of one server.
pub fn allocation_seed(store: &lessor_store::Store) -> u64 {
    store
        .writer_id()
        .map_or(0, |id| u64::from(id).wrapping_mul(0x9e37_79b9_7f4a_7c15))
}

/// Where the search moves after the `taken`-th commit another server won (a DHCPACK or
/// Reply refused: docs/protocol.md decision 43): the two servers' searches ran in step, each
/// trying the address the other had just offered, and would go on colliding; a jump to a
/// pseudo-random place of each pool, different per server and per race, ends it.
pub fn hop_seed(seed: u64, taken: u64) -> u64 {
    spread(seed, taken as usize, 0x40) | 1
}

/// The offset in a pool of `size` resources at the fraction `at` (64-bit fixed point).
pub(crate) fn at_fraction(at: u64, size: u128) -> u128 {
    let (high, low) = (size >> 64, size & u128::from(u64::MAX));
    high * u128::from(at) + ((low * u128::from(at)) >> 64)
}

/// The same fraction, turned by a constant per pool (pool `j` of subnet or link `i`), so that
/// pools do not all start at one relative place.
pub(crate) fn pool_turn(seed: u64, i: usize, j: usize) -> u64 {
    seed.wrapping_add(spread(0x5eed, i, j))
}

pub(crate) fn spread(seed: u64, i: usize, j: usize) -> u64 {
    let mut z = seed ^ ((i as u64) << 32 | j as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// One pool's bounds and where its next search starts.
#[derive(Debug)]
struct Pool {
    first: u32,
    last: u32,
    /// The next address to try (round robin through the pool, as addresses are given out).
    cursor: u32,
}

/// The never-used addresses of every configured pool.
#[derive(Debug)]
pub struct FreeAddresses {
    /// Per subnet (config order), its pools (config order).
    pools: Vec<Vec<Pool>>,
    /// Free runs, first address -> last address (inclusive). A run never crosses a pool's bounds.
    runs: BTreeMap<u32, u32>,
    /// Every pool, first address -> last address: which pool an address is in.
    bounds: BTreeMap<u32, u32>,
    /// Excluded and reserved addresses: never free.
    never: HashSet<u32>,
    /// Run entries looked at by [`FreeAddresses::next`] since start (tests and benchmarks).
    examined: u64,
}

impl FreeAddresses {
    /// The free addresses of `subnets`' pools: neither excluded, nor reserved, nor holding a
    /// binding in `snapshot`. Costs one pass over each pool's bindings and exclusions.
    pub fn new(subnets: &[Subnet], snapshot: &Snapshot4) -> FreeAddresses {
        let mut never = HashSet::new();
        for s in subnets {
            never.extend(s.exclude.iter().map(|&a| u32::from(a)));
            never.extend(s.reservations.iter().map(|r| u32::from(r.address)));
        }
        let mut runs = BTreeMap::new();
        let mut bounds = BTreeMap::new();
        let mut pools = Vec::with_capacity(subnets.len());
        for s in subnets {
            // Reservations lie inside their subnet, exclusions inside its pools.
            let own: Vec<u32> = s
                .exclude
                .iter()
                .copied()
                .chain(s.reservations.iter().map(|r| r.address))
                .map(u32::from)
                .collect();
            let mut list = Vec::with_capacity(s.pools.len());
            for p in &s.pools {
                let (first, last) = (u32::from(p.first), u32::from(p.last));
                bounds.insert(first, last);
                // Addresses taken in this pool, in order.
                let mut taken: Vec<u32> = snapshot
                    .range_from(p.first)
                    .map(|b| u32::from(b.address))
                    .take_while(|&a| a <= last)
                    .collect();
                taken.extend(own.iter().copied().filter(|&a| a >= first && a <= last));
                taken.sort_unstable();
                taken.dedup();
                let mut start = u64::from(first);
                for a in taken
                    .into_iter()
                    .map(u64::from)
                    .chain([u64::from(last) + 1])
                {
                    if a > start {
                        // Both ends lie in the pool, which is inside the address space.
                        runs.insert(start as u32, (a - 1) as u32);
                    }
                    start = a + 1;
                }
                list.push(Pool {
                    first,
                    last,
                    cursor: first,
                });
            }
            pools.push(list);
        }
        FreeAddresses {
            pools,
            runs,
            bounds,
            never,
            examined: 0,
        }
    }

    /// The run holding `a`, if `a` is free.
    fn run_of(&self, a: u32) -> Option<(u32, u32)> {
        self.runs
            .range(..=a)
            .next_back()
            .filter(|(_, &last)| last >= a)
            .map(|(&first, &last)| (first, last))
    }

    /// Whether `a` is free (never used).
    pub fn contains(&self, a: Ipv4Addr) -> bool {
        self.run_of(u32::from(a)).is_some()
    }

    /// Free addresses in all (tests, reports).
    pub fn len(&self) -> u64 {
        self.runs
            .iter()
            .map(|(&f, &l)| u64::from(l) - u64::from(f) + 1)
            .sum()
    }

    /// Whether no pool has a free address.
    pub fn is_empty(&self) -> bool {
        self.runs.is_empty()
    }

    /// Run entries looked at by [`FreeAddresses::next`] since start.
    pub fn examined(&self) -> u64 {
        self.examined
    }

    /// `a` now holds a binding.
    pub fn used(&mut self, a: Ipv4Addr) {
        let a = u32::from(a);
        let Some((first, last)) = self.run_of(a) else {
            return;
        };
        self.runs.remove(&first);
        if first < a {
            self.runs.insert(first, a - 1);
        }
        if a < last {
            self.runs.insert(a + 1, last);
        }
    }

    /// `a` no longer holds a binding: free again if it is a pool address that is neither
    /// excluded nor reserved.
    pub fn freed(&mut self, a: Ipv4Addr) {
        let a = u32::from(a);
        if self.never.contains(&a) || self.run_of(a).is_some() {
            return;
        }
        let Some((&lo, &hi)) = self.bounds.range(..=a).next_back().filter(|(_, &l)| a <= l) else {
            return;
        };
        let mut first = a;
        let mut last = a;
        // Join the runs just below and just above, within the pool.
        if a > lo {
            if let Some((f, _)) = self.run_of(a - 1) {
                self.runs.remove(&f);
                first = f;
            }
        }
        if a < hi {
            if let Some(l) = self.runs.remove(&(a + 1)) {
                last = l;
            }
        }
        self.runs.insert(first, last);
    }

    /// Starts each pool's search at an offset derived from `seed` ([`allocation_seed`])
    /// instead of its first address (0: the first address, the one-server behaviour). Servers
    /// sharing a store have seeds far apart, so they rarely try the same never-used address
    /// at once (docs/protocol.md decision 44). Call it before the first
    /// [`FreeAddresses::next`].
    pub fn start_at(&mut self, seed: u64) {
        if seed == 0 {
            return;
        }
        for (i, pools) in self.pools.iter_mut().enumerate() {
            for (j, p) in pools.iter_mut().enumerate() {
                let size = u128::from(p.last - p.first) + 1;
                let offset = at_fraction(pool_turn(seed, i, j), size);
                // offset < size, so first + offset <= last.
                p.cursor = p.first + offset as u32;
            }
        }
    }

    /// The next free address of subnet `i`'s pools (in config order, each from its cursor
    /// round to its start), without taking it: the engine calls [`FreeAddresses::used`] once it
    /// wrote a binding there. A handful of tree lookups per pool, whatever the pools' size and
    /// history.
    pub fn next(&mut self, i: usize, snapshot: &Snapshot4) -> Option<Ipv4Addr> {
        let pools = self.pools.get(i)?.len();
        for j in 0..pools {
            loop {
                let p = &self.pools[i][j];
                let (first, last, cursor) = (p.first, p.last, p.cursor);
                self.examined += 1;
                let found = match self.run_of(cursor) {
                    Some(_) => Some(cursor),
                    None => self
                        .runs
                        .range(cursor..=last)
                        .next()
                        .or_else(|| self.runs.range(first..cursor).next())
                        .map(|(&f, _)| f),
                };
                let Some(a) = found else {
                    break;
                };
                let addr = Ipv4Addr::from(a);
                if snapshot.get(addr).is_some() {
                    // Written by someone else: not free after all.
                    self.used(addr);
                    continue;
                }
                self.pools[i][j].cursor = if a == last { first } else { a + 1 };
                return Some(addr);
            }
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use lessor_store::{Binding4, Completion, HwAddr, State4, Store};

    fn subnet(pools: &[(&str, &str)], exclude: &[&str]) -> Subnet {
        crate::dhcp4::test_subnet("198.18.0.0/15", pools, exclude)
    }

    fn ip(s: &str) -> Ipv4Addr {
        s.parse().unwrap()
    }

    fn bind(store: &Store, a: &str) {
        let b = Binding4::new(
            ip(a),
            "198.18.0.0/15".parse().unwrap(),
            HwAddr::ethernet([2, 0, 0, 0, 0, 1]),
            State4::Active,
        )
        .with_times(1, 100, 50, 80, 1);
        store.v4().upsert(b, Completion::none());
    }

    #[test]
    fn built_from_the_store_without_bound_or_excluded_addresses() {
        let store = Store::in_memory();
        bind(&store, "198.18.0.11");
        bind(&store, "198.18.0.20");
        // Outside every pool: no effect.
        bind(&store, "198.18.1.1");
        let s = subnet(
            &[
                ("198.18.0.10", "198.18.0.20"),
                ("198.18.0.30", "198.18.0.31"),
            ],
            &["198.18.0.15"],
        );
        let mut free = FreeAddresses::new(&[s], &store.v4().snapshot());
        assert_eq!(free.len(), 11 - 3 + 2);
        for a in ["198.18.0.11", "198.18.0.15", "198.18.0.20"] {
            assert!(!free.contains(ip(a)), "{a}");
        }
        let snap = store.v4().snapshot();
        let mut got = Vec::new();
        while let Some(a) = free.next(0, &snap) {
            free.used(a);
            got.push(a.to_string());
        }
        assert_eq!(
            got,
            [
                "198.18.0.10",
                "198.18.0.12",
                "198.18.0.13",
                "198.18.0.14",
                "198.18.0.16",
                "198.18.0.17",
                "198.18.0.18",
                "198.18.0.19",
                "198.18.0.30",
                "198.18.0.31"
            ]
        );
        assert!(free.is_empty());
        // Freed again, joined with its neighbours within the pool only.
        free.freed(ip("198.18.0.19"));
        free.freed(ip("198.18.0.18"));
        free.freed(ip("198.18.0.15"));
        free.freed(ip("198.18.1.1"));
        assert_eq!(free.runs.len(), 1);
        assert_eq!(free.len(), 2);
        // The cursor went round: the search starts after the last address given.
        assert_eq!(free.next(0, &snap), Some(ip("198.18.0.18")));
    }

    #[test]
    fn the_work_of_a_choice_does_not_grow_with_the_pool_or_with_forgotten_offers() {
        // A /16 pool, full but for one address that is taken and given back over and over
        // (an offer forgotten because the client chose another server, then offered again).
        let store = Store::in_memory();
        let s = subnet(&[("198.18.0.1", "198.18.255.254")], &[]);
        let mut free = FreeAddresses::new(&[s], &store.v4().snapshot());
        let snap = store.v4().snapshot();
        while let Some(a) = free.next(0, &snap) {
            free.used(a);
        }
        let before = free.examined();
        let a = ip("198.18.128.7");
        for _ in 0..10_000 {
            free.freed(a);
            assert_eq!(free.next(0, &snap), Some(a));
            free.used(a);
            assert_eq!(free.next(0, &snap), None);
        }
        // One or two looks per choice, not 65,534.
        assert!(
            free.examined() - before <= 2 * 2 * 10_000,
            "{}",
            free.examined()
        );
    }

    #[test]
    fn an_address_written_by_someone_else_is_skipped_once() {
        let store = Store::in_memory();
        let s = subnet(&[("198.18.0.1", "198.18.0.3")], &[]);
        let mut free = FreeAddresses::new(&[s], &store.v4().snapshot());
        bind(&store, "198.18.0.1");
        let snap = store.v4().snapshot();
        assert_eq!(free.next(0, &snap), Some(ip("198.18.0.2")));
        assert!(!free.contains(ip("198.18.0.1")));
    }

    #[test]
    fn seeds_start_the_search_apart_and_it_still_covers_every_free_address() {
        let store = Store::in_memory();
        bind(&store, "198.18.2.7");
        let s = subnet(&[("198.18.0.0", "198.18.3.255")], &["198.18.1.1"]);
        let snap = store.v4().snapshot();
        let first = |seed: u64| {
            let mut free = FreeAddresses::new(std::slice::from_ref(&s), &snap);
            free.start_at(seed);
            free.next(0, &snap)
        };
        assert_eq!(first(0), Some(ip("198.18.0.0")), "seed 0: as before");
        let (a, b) = (
            1u64.wrapping_mul(0x9e37_79b9_7f4a_7c15),
            2u64.wrapping_mul(0x9e37_79b9_7f4a_7c15),
        );
        let at = |x: Option<Ipv4Addr>| i64::from(u32::from(x.unwrap()));
        let apart = (at(first(a)) - at(first(b))).rem_euclid(1024);
        assert!(
            (1024 * 35 / 100..=1024 * 65 / 100).contains(&apart),
            "servers 1 and 2 start far apart: {apart}"
        );
        let mut free = FreeAddresses::new(&[s], &snap);
        free.start_at(a);
        let mut got = std::collections::BTreeSet::new();
        while let Some(x) = free.next(0, &snap) {
            free.used(x);
            assert!(got.insert(x), "{x} given twice");
        }
        // 1024 addresses, less the bound and the excluded one.
        assert_eq!(got.len(), 1022);
        assert!(!got.contains(&ip("198.18.2.7")) && !got.contains(&ip("198.18.1.1")));
    }
}
