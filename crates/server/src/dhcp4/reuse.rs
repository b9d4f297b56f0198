//! The reusable addresses of each configured subnet (Expired, Released, a lapsed offer, a declined
//! address past its probation), longest free first, kept in step with the engine's writes.
//!
//! The store keeps one reuse index for all bindings. Walking it for one subnet passes every
//! reusable address of every other subnet first: with one subnet exhausted and another holding
//! many expired leases, each DHCPDISCOVER on the first walked all of them, under the engine's
//! lock. Here each subnet has its own index, ordered as the store's ((free since, address),
//! [`lessor_store::Record::free_since`]), built from the store at start and told of every
//! binding the engine writes, restores, deletes or expires. A walk for a subnet sees only its
//! own addresses.

use crate::config::Subnet;
use lessor_store::{Record, Snapshot4, Timestamp};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::net::Ipv4Addr;

/// Per-subnet reuse indexes.
#[derive(Debug)]
pub struct Reusable {
    /// Per subnet (config order): (free since, address).
    sets: Vec<BTreeSet<(Timestamp, u32)>>,
    /// Where each indexed address is: its subnet and since when it is free.
    at: HashMap<u32, (usize, Timestamp)>,
    /// Subnets by first address: (last address, index).
    subnets: BTreeMap<u32, (u32, usize)>,
    /// Entries looked at by [`Reusable::walk`] callers since start (tests).
    examined: u64,
}

impl Reusable {
    /// The reusable addresses `snapshot` holds, by configured subnet.
    pub fn new(subnets: &[Subnet], snapshot: &Snapshot4) -> Reusable {
        let mut r = Reusable {
            sets: vec![BTreeSet::new(); subnets.len()],
            at: HashMap::new(),
            subnets: subnets
                .iter()
                .enumerate()
                .map(|(i, s)| {
                    (
                        u32::from(s.prefix.network()),
                        (u32::from(s.prefix.broadcast()), i),
                    )
                })
                .collect(),
            examined: 0,
        };
        for b in snapshot.iter() {
            r.set(b.address, b.free_since());
        }
        r
    }

    fn subnet_of(&self, a: u32) -> Option<usize> {
        self.subnets
            .range(..=a)
            .next_back()
            .filter(|(_, (last, _))| a <= *last)
            .map(|(_, (_, i))| *i)
    }

    /// The binding at `a` is now free since `free_since` (`None`: not reusable, or deleted).
    pub fn set(&mut self, a: Ipv4Addr, free_since: Option<Timestamp>) {
        let a = u32::from(a);
        if let Some((i, t)) = self.at.remove(&a) {
            self.sets[i].remove(&(t, a));
        }
        if let (Some(t), Some(i)) = (free_since, self.subnet_of(a)) {
            self.sets[i].insert((t, a));
            self.at.insert(a, (i, t));
        }
    }

    /// Subnet `i`'s addresses free at `now`, longest free first (ties: lowest address).
    pub fn walk(&self, i: usize, now: Timestamp) -> impl Iterator<Item = Ipv4Addr> + '_ {
        self.sets
            .get(i)
            .into_iter()
            .flatten()
            .take_while(move |(t, _)| *t <= now)
            .map(|&(_, a)| Ipv4Addr::from(a))
    }

    /// Notes `n` entries looked at.
    pub fn examined_add(&mut self, n: u64) {
        self.examined += n;
    }

    /// Entries looked at since start.
    pub fn examined(&self) -> u64 {
        self.examined
    }

    /// Addresses indexed, all subnets.
    pub fn len(&self) -> usize {
        self.at.len()
    }

    /// Whether no address is indexed.
    pub fn is_empty(&self) -> bool {
        self.at.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use lessor_store::{Binding4, Completion, HwAddr, State4, Store};

    /// `prefix` with one pool of all its host addresses.
    fn subnet(prefix: &str) -> Subnet {
        let net: ipnet::Ipv4Net = prefix.parse().unwrap();
        let first = Ipv4Addr::from(u32::from(net.network()) + 1).to_string();
        let last = Ipv4Addr::from(u32::from(net.broadcast()) - 1).to_string();
        crate::dhcp4::test_subnet(prefix, &[(&first, &last)], &[])
    }

    fn ip(s: &str) -> Ipv4Addr {
        s.parse().unwrap()
    }

    #[test]
    fn each_subnet_walks_its_own_addresses_in_the_stores_order() {
        let store = Store::in_memory();
        let put = |a: &str, state: State4, end: u64| {
            let b = Binding4::new(
                ip(a),
                "198.18.0.0/15".parse().unwrap(),
                HwAddr::ethernet([2, 0, 0, 0, 0, 1]),
                state,
            )
            .with_times(1, end, 1, 1, 1);
            store.v4().upsert(b, Completion::none());
        };
        put("198.18.0.5", State4::Expired, 50);
        put("198.18.0.6", State4::Released, 40);
        put("198.18.0.7", State4::Active, 500);
        put("198.18.1.5", State4::Expired, 10);
        // Outside every configured subnet: not indexed.
        put("198.19.0.1", State4::Expired, 10);
        let subnets = [subnet("198.18.0.0/24"), subnet("198.18.1.0/24")];
        let mut r = Reusable::new(&subnets, &store.v4().snapshot());
        assert_eq!(r.len(), 3);
        let walk = |r: &Reusable, i, now| r.walk(i, now).map(|a| a.to_string()).collect::<Vec<_>>();
        assert_eq!(walk(&r, 0, 100), ["198.18.0.6", "198.18.0.5"]);
        assert_eq!(walk(&r, 0, 45), ["198.18.0.6"]);
        assert_eq!(walk(&r, 1, 100), ["198.18.1.5"]);
        // The engine's writes move addresses in and out.
        r.set(ip("198.18.0.6"), None);
        r.set(ip("198.18.0.7"), Some(20));
        r.set(ip("198.18.0.5"), Some(60));
        assert_eq!(walk(&r, 0, 100), ["198.18.0.7", "198.18.0.5"]);
        assert_eq!(walk(&r, 2, 100), Vec::<String>::new());
    }
}
