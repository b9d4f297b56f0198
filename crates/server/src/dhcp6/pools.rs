//! The free resources of every DHCPv6 pool, kept in step with the engine's writes, so that a
//! SOLICIT costs tree lookups, never a scan of a pool (a /64 address range, a /40 cut in /56s)
//! nor of the bindings.
//!
//! A pool's resources are numbered: an address by its value, a delegated prefix by its first
//! address shifted right by (128 - delegated length). Per pool:
//! - the **never-used** ones, as runs (first, last) in an ordered map, built once from the
//!   store at start: memory grows with fragmentation (one run per binding or reservation at
//!   most), not with the pool's size; a cursor goes round the pool as resources are given out;
//! - the **reusable** ones (Expired, Released, a lapsed advertisement, a declined address past
//!   its probation), ordered by since when they are free ([`Record::free_since`]), so the one
//!   free the longest is the first of its pool's set.
//!
//! The engine says when a resource becomes used ([`Pools::used`]: it wrote a binding there),
//! when it is never-used again ([`Pools::freed`]: it deleted the binding of a forgotten
//! advertisement) and when a binding's free-since changes ([`Pools::set_reusable`]). Reserved
//! addresses and prefixes are never free. Should another writer put a binding at a free
//! resource all the same, the engine finds it in the snapshot and marks it used (one look,
//! once).

use crate::config::Link6;
use lessor_store::v6::binding::{Binding6, IaType, Key6};
use lessor_store::{Record, Timestamp};
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::net::Ipv6Addr;

/// One pool: its resources, numbered, with its free runs and reusable set.
#[derive(Debug)]
struct Pool {
    link: usize,
    ia: IaType,
    /// Which pool of its link (config order), for its options.
    nth: usize,
    first: u128,
    last: u128,
    /// 128 - prefix length of its resources (0 for addresses).
    shift: u32,
    len: u8,
    cursor: u128,
    /// Never-used runs: first -> last, inclusive.
    runs: BTreeMap<u128, u128>,
    /// Reusable: (free since, number).
    reusable: BTreeSet<(Timestamp, u128)>,
}

impl Pool {
    fn key(&self, n: u128) -> Key6 {
        let a = if self.shift >= 128 {
            0
        } else {
            n << self.shift
        };
        Key6::new(Ipv6Addr::from(a), self.len)
    }

    fn number(&self, key: Key6) -> u128 {
        if self.shift >= 128 {
            0
        } else {
            u128::from(key.address()) >> self.shift
        }
    }

    fn remove_run_point(&mut self, n: u128) -> bool {
        let Some((&start, &end)) = self.runs.range(..=n).next_back() else {
            return false;
        };
        if end < n {
            return false;
        }
        self.runs.remove(&start);
        if start < n {
            self.runs.insert(start, n - 1);
        }
        if n < end {
            self.runs.insert(n + 1, end);
        }
        true
    }

    fn insert_run_point(&mut self, n: u128) {
        if self
            .runs
            .range(..=n)
            .next_back()
            .is_some_and(|(_, &end)| end >= n)
        {
            return;
        }
        let mut start = n;
        let mut end = n;
        if let Some((&s, &e)) = self.runs.range(..n).next_back() {
            if e.checked_add(1) == Some(n) {
                self.runs.remove(&s);
                start = s;
            }
        }
        if let Some(next) = n.checked_add(1) {
            if let Some(e) = self.runs.remove(&next) {
                end = e;
            }
        }
        self.runs.insert(start, end);
    }

    /// The never-used resource at or after the cursor (round robin), without taking it.
    fn next_free(&self) -> Option<u128> {
        if let Some((_, &end)) = self.runs.range(..=self.cursor).next_back() {
            if end >= self.cursor {
                return Some(self.cursor);
            }
        }
        self.runs
            .range(self.cursor..)
            .next()
            .or_else(|| self.runs.iter().next())
            .map(|(&s, _)| s)
    }
}

/// Where a pool is: its link, kind and place among the link's pools of that kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PoolRef {
    pub link: usize,
    pub ia: IaType,
    pub nth: usize,
}

/// The free resources of every configured pool.
#[derive(Debug)]
pub struct Pools {
    pools: Vec<Pool>,
    /// (kind, first address) -> pool index.
    by_start: BTreeMap<(IaType, u128), usize>,
    /// Per link: its pools of each kind (indexes), config order.
    per_link: Vec<[Vec<usize>; 2]>,
    /// Reserved resources: never free.
    never: HashSet<Key6>,
    /// Where each reusable resource is indexed: pool and free since.
    reusable_at: HashMap<Key6, (usize, Timestamp)>,
}

fn kind_index(ia: IaType) -> usize {
    match ia {
        IaType::Na => 0,
        IaType::Pd => 1,
    }
}

impl Pools {
    /// Starts each pool's round robin at an offset derived from `seed` instead of its first
    /// resource (0: the first, the one-server behaviour): servers sharing a store rarely try
    /// the same never-used address or prefix first (docs/protocol.md decision 44).
    pub fn start_at(&mut self, seed: u64) {
        if seed == 0 {
            return;
        }
        for (k, p) in self.pools.iter_mut().enumerate() {
            // The pool's size minus one; its resources number at most 2^128.
            let span = p.last - p.first;
            let at = crate::dhcp4::free::pool_turn(seed, p.link, k);
            p.cursor = p.first
                + match span.checked_add(1) {
                    Some(size) => crate::dhcp4::free::at_fraction(at, size),
                    None => u128::from(at) << 64,
                };
        }
    }

    /// The pools of `links`, free as `bindings` leave them (one pass over them).
    pub fn new<'a>(links: &[Link6], bindings: impl Iterator<Item = &'a Binding6>) -> Pools {
        let mut p = Pools {
            pools: Vec::new(),
            by_start: BTreeMap::new(),
            per_link: Vec::with_capacity(links.len()),
            never: HashSet::new(),
            reusable_at: HashMap::new(),
        };
        for (li, link) in links.iter().enumerate() {
            let mut mine: [Vec<usize>; 2] = [Vec::new(), Vec::new()];
            for (nth, a) in link.address_pools.iter().enumerate() {
                let (first, last) = (u128::from(a.first), u128::from(a.last));
                mine[0].push(p.pools.len());
                p.by_start.insert((IaType::Na, first), p.pools.len());
                p.pools.push(Pool {
                    link: li,
                    ia: IaType::Na,
                    nth,
                    first,
                    last,
                    shift: 0,
                    len: 128,
                    cursor: first,
                    runs: BTreeMap::from([(first, last)]),
                    reusable: BTreeSet::new(),
                });
            }
            for (nth, pp) in link.prefix_pools.iter().enumerate() {
                let shift = 128 - u32::from(pp.delegated_len.min(128));
                let base = u128::from(pp.prefix.network());
                let count = pp.size();
                let first = if shift >= 128 { 0 } else { base >> shift };
                let last = first.saturating_add(count.saturating_sub(1));
                mine[1].push(p.pools.len());
                p.by_start.insert((IaType::Pd, base), p.pools.len());
                p.pools.push(Pool {
                    link: li,
                    ia: IaType::Pd,
                    nth,
                    first,
                    last,
                    shift,
                    len: pp.delegated_len,
                    cursor: first,
                    runs: BTreeMap::from([(first, last)]),
                    reusable: BTreeSet::new(),
                });
            }
            for r in &link.reservations {
                p.never
                    .extend(r.addresses.iter().map(|a| Key6::address_key(*a)));
                p.never.extend(
                    r.prefixes
                        .iter()
                        .map(|n| Key6::new(n.network(), n.prefix_len())),
                );
            }
            p.per_link.push(mine);
        }
        let never: Vec<Key6> = p.never.iter().copied().collect();
        for key in never {
            p.used(key);
        }
        for b in bindings {
            p.used(b.key6());
            p.set_reusable(b.key6(), b.free_since());
        }
        p
    }

    /// The pool holding `key` (an address, or a prefix of the pool's delegated length).
    fn index_of(&self, key: Key6) -> Option<usize> {
        let ia = if key.prefix_len() == 128 {
            IaType::Na
        } else {
            IaType::Pd
        };
        let (_, &i) = self
            .by_start
            .range(..=(ia, u128::from(key.address())))
            .next_back()?;
        let pool = &self.pools[i];
        if pool.ia != ia || pool.len != key.prefix_len() {
            return None;
        }
        let n = pool.number(key);
        (pool.first..=pool.last).contains(&n).then_some(i)
    }

    /// Where `key` is pooled, if it is.
    pub fn pool_of(&self, key: Key6) -> Option<PoolRef> {
        self.index_of(key).map(|i| {
            let p = &self.pools[i];
            PoolRef {
                link: p.link,
                ia: p.ia,
                nth: p.nth,
            }
        })
    }

    /// Whether `key` is reserved for some client.
    pub fn is_reserved(&self, key: Key6) -> bool {
        self.never.contains(&key)
    }

    /// A never-used resource of `link`'s pools of kind `ia` (first pool with any), without
    /// taking it: the caller checks the store and calls [`Pools::used`].
    pub fn next_free(&self, link: usize, ia: IaType) -> Option<Key6> {
        self.per_link.get(link)?[kind_index(ia)]
            .iter()
            .find_map(|&i| self.pools[i].next_free().map(|n| self.pools[i].key(n)))
    }

    /// The reusable resources of `link`'s pools of kind `ia`, free since `now` or earlier,
    /// longest free first within each pool.
    pub fn reusable(&self, link: usize, ia: IaType, now: Timestamp) -> Vec<Key6> {
        let Some(kinds) = self.per_link.get(link) else {
            return Vec::new();
        };
        kinds[kind_index(ia)]
            .iter()
            .flat_map(|&i| {
                let pool = &self.pools[i];
                pool.reusable
                    .iter()
                    .take_while(move |(t, _)| *t <= now)
                    .map(move |&(_, n)| pool.key(n))
            })
            .take(REUSE_LOOKS)
            .collect()
    }

    /// `key` holds a binding now.
    pub fn used(&mut self, key: Key6) {
        if let Some(i) = self.index_of(key) {
            let n = self.pools[i].number(key);
            if self.pools[i].remove_run_point(n) && self.pools[i].cursor == n {
                let p = &mut self.pools[i];
                p.cursor = if n >= p.last { p.first } else { n + 1 };
            }
        }
    }

    /// `key` holds no binding any more (a forgotten advertisement's was deleted).
    pub fn freed(&mut self, key: Key6) {
        if self.never.contains(&key) {
            return;
        }
        if let Some(i) = self.index_of(key) {
            let n = self.pools[i].number(key);
            self.pools[i].insert_run_point(n);
        }
    }

    /// The binding at `key` is free since `since` (None: held).
    pub fn set_reusable(&mut self, key: Key6, since: Option<Timestamp>) {
        if let Some((i, t)) = self.reusable_at.remove(&key) {
            let n = self.pools[i].number(key);
            self.pools[i].reusable.remove(&(t, n));
        }
        let (Some(t), Some(i)) = (since, self.index_of(key)) else {
            return;
        };
        let n = self.pools[i].number(key);
        self.pools[i].reusable.insert((t, n));
        self.reusable_at.insert(key, (i, t));
    }

    /// Whether `key` is among the never-used (tests).
    pub fn is_never_used(&self, key: Key6) -> bool {
        self.index_of(key).is_some_and(|i| {
            let n = self.pools[i].number(key);
            self.pools[i]
                .runs
                .range(..=n)
                .next_back()
                .is_some_and(|(_, &e)| e >= n)
        })
    }

    /// Free runs held, in all (memory grows with this, not with pool sizes).
    pub fn runs(&self) -> usize {
        self.pools.iter().map(|p| p.runs.len()).sum()
    }
}

/// Most reusable candidates looked at for one IA: a candidate the snapshot shows taken is
/// re-indexed and skipped, so a choice never walks far.
pub const REUSE_LOOKS: usize = 16;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{AddressPool6, Lifetimes6, PrefixPool6, Reservation6, Seconds};
    use lessor_store::v6::binding::State6;

    fn link() -> Link6 {
        Link6 {
            prefix: "2001:db8:1::/64".parse().unwrap(),
            interface_ids: vec![],
            interface: None,
            lifetimes: Lifetimes6 {
                preferred: Seconds(1800),
                valid: Seconds(3600),
                renew_time: Seconds(900),
                rebind_time: Seconds(1440),
            },
            address_pools: vec![AddressPool6 {
                first: "2001:db8:1::10".parse().unwrap(),
                last: "2001:db8:1::13".parse().unwrap(),
                options: vec![],
            }],
            prefix_pools: vec![PrefixPool6 {
                prefix: "2001:db8:100::/54".parse().unwrap(),
                delegated_len: 56,
                options: vec![],
            }],
            reservations: vec![Reservation6 {
                duid: vec![0, 3, 0, 1, 2],
                addresses: vec!["2001:db8:1::11".parse().unwrap()],
                prefixes: vec![],
                options: vec![],
            }],
            options: vec![],
        }
    }

    fn key(a: &str, len: u8) -> Key6 {
        Key6::new(a.parse().unwrap(), len)
    }

    #[test]
    fn never_used_resources_go_round_and_come_back() {
        let b = Binding6::new(
            "2001:db8:1::12".parse().unwrap(),
            128,
            IaType::Na,
            &[0, 3, 0, 1, 9],
            1,
            "2001:db8:1::/64".parse().unwrap(),
            State6::Expired,
        )
        .unwrap()
        .with_times(0, 50, 100, 0, 0, 0);
        let mut p = Pools::new(&[link()], std::iter::once(&b));
        // ::11 reserved, ::12 bound: ::10 and ::13 are free.
        assert_eq!(p.next_free(0, IaType::Na), Some(key("2001:db8:1::10", 128)));
        p.used(key("2001:db8:1::10", 128));
        assert_eq!(p.next_free(0, IaType::Na), Some(key("2001:db8:1::13", 128)));
        p.used(key("2001:db8:1::13", 128));
        assert_eq!(p.next_free(0, IaType::Na), None);
        p.freed(key("2001:db8:1::10", 128));
        assert_eq!(p.next_free(0, IaType::Na), Some(key("2001:db8:1::10", 128)));
        // A reserved address is never freed into the pool.
        p.freed(key("2001:db8:1::11", 128));
        assert!(!p.is_never_used(key("2001:db8:1::11", 128)));
        // The expired binding is reusable from its end on.
        assert!(p.reusable(0, IaType::Na, 99).is_empty());
        assert_eq!(
            p.reusable(0, IaType::Na, 100),
            vec![key("2001:db8:1::12", 128)]
        );
        p.set_reusable(key("2001:db8:1::12", 128), None);
        assert!(p.reusable(0, IaType::Na, 1000).is_empty());
        // Prefixes: a /54 holds four /56s.
        let mut got = Vec::new();
        while let Some(k) = p.next_free(0, IaType::Pd) {
            p.used(k);
            got.push(k);
        }
        assert_eq!(
            got,
            vec![
                key("2001:db8:100::", 56),
                key("2001:db8:100:100::", 56),
                key("2001:db8:100:200::", 56),
                key("2001:db8:100:300::", 56)
            ]
        );
        assert_eq!(
            p.pool_of(key("2001:db8:100:200::", 56)),
            Some(PoolRef {
                link: 0,
                ia: IaType::Pd,
                nth: 0
            })
        );
        assert_eq!(p.pool_of(key("2001:db8:100:200::", 60)), None);
        assert_eq!(p.pool_of(key("2001:db8:1::14", 128)), None);
    }

    #[test]
    fn a_huge_pool_costs_runs_not_addresses() {
        let mut l = link();
        l.address_pools[0].first = "2001:db8:1::".parse().unwrap();
        l.address_pools[0].last = "2001:db8:1:0:ffff:ffff:ffff:ffff".parse().unwrap();
        let mut p = Pools::new(&[l], std::iter::empty());
        for _ in 0..100_000 {
            let k = p.next_free(0, IaType::Na).unwrap();
            p.used(k);
        }
        // Given out in order: one run left, after the reservation's split.
        assert!(p.runs() <= 4, "{}", p.runs());
    }

    #[test]
    fn seeds_start_the_search_apart_and_it_still_covers_every_free_resource() {
        let mut l = link();
        l.address_pools[0].first = "2001:db8:1::".parse().unwrap();
        l.address_pools[0].last = "2001:db8:1::3ff".parse().unwrap();
        let first = |seed: u64, ia: IaType| {
            let mut p = Pools::new(std::slice::from_ref(&l), std::iter::empty());
            p.start_at(seed);
            p.next_free(0, ia)
        };
        assert_eq!(first(0, IaType::Na), Some(key("2001:db8:1::", 128)));
        let (a, b) = (
            1u64.wrapping_mul(0x9e37_79b9_7f4a_7c15),
            2u64.wrapping_mul(0x9e37_79b9_7f4a_7c15),
        );
        assert_ne!(first(a, IaType::Na), first(b, IaType::Na));
        let mut p = Pools::new(&[l], std::iter::empty());
        p.start_at(a);
        let mut got = std::collections::BTreeSet::new();
        while let Some(k) = p.next_free(0, IaType::Na) {
            p.used(k);
            assert!(got.insert(k), "{k:?} given twice");
        }
        // 1024 addresses less the reserved ::11.
        assert_eq!(got.len(), 1023);
        let mut prefixes = 0;
        while let Some(k) = p.next_free(0, IaType::Pd) {
            p.used(k);
            prefixes += 1;
        }
        assert_eq!(prefixes, 4);
    }
}
