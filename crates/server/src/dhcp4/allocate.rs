//! Address choice for a DHCPDISCOVER (RFC 2131 §4.3.1), in this order:
//!
//! 1. the client's reservation in the subnet (unless another client holds the address now);
//! 2. the client's own binding in the subnet (Active, Offered, Released or Expired; most recent
//!    client-last-transaction-time first), if its address is still allocatable;
//! 3. the requested address (option 50), if it is in a pool, not excluded, not reserved for
//!    someone else, and free (no binding, a stale offer, or this client's own binding);
//! 4. a never-used pool address, from a per-pool cursor: a lookup in the free-address runs
//!    ([`FreeAddresses`]), never a scan of the pool;
//! 5. the Expired / Released address with the oldest `end` (a Declined address only once its
//!    probation has passed, a lapsed offer), whose old binding is then replaced: these are kept
//!    per subnet in a reuse index ordered by `end` ([`Reusable`]), so this is a walk to the first
//!    fitting entry of this subnet, not a scan of the pools nor of other subnets' addresses. An
//!    Active binding past its end is reused once the expiry timer (every 200 ms) has turned it
//!    Expired.
//!
//! A quarantined subnet ([`super::quarantine`]) skips the steps that hand out an address
//! without a loaded binding (3 for a free address, and 4).

use super::free::FreeAddresses;
use super::identity::Identity;
use super::reuse::Reusable;
use crate::config::Subnet;
use lessor_store::{Binding4, Record, Snapshot4, State4, Timestamp};
use std::collections::HashSet;
use std::net::Ipv4Addr;
use std::sync::Arc;

/// How the address was chosen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Choice {
    Reserved,
    Existing,
    Requested,
    NeverUsed,
    Reused,
}

/// Per-subnet allocation state: quick membership sets.
#[derive(Debug)]
struct SubnetState {
    reserved: HashSet<Ipv4Addr>,
    excluded: HashSet<Ipv4Addr>,
    /// Until when addresses without a loaded binding are not offered ([`super::quarantine`]).
    quarantine: Option<Timestamp>,
}

/// The allocator: one state per configured subnet, in config order, and the never-used
/// addresses of every pool.
#[derive(Debug)]
pub struct Allocator {
    subnets: Vec<SubnetState>,
    free: FreeAddresses,
    reusable: Reusable,
}

/// Whether `b` keeps its address from everybody but its own client at `now`.
fn held(b: &Binding4, now: Timestamp) -> bool {
    match b.state {
        State4::Active | State4::Offered | State4::Declined => b.end > now,
        State4::Reserved => true,
        State4::Released | State4::Expired => false,
    }
}

impl Allocator {
    /// The allocator of `subnets`, with the never-used addresses `snapshot` leaves.
    pub fn new(subnets: &[Subnet], snapshot: &Snapshot4) -> Allocator {
        Allocator {
            subnets: subnets
                .iter()
                .map(|s| SubnetState {
                    reserved: s.reservations.iter().map(|r| r.address).collect(),
                    excluded: s.exclude.iter().copied().collect(),
                    quarantine: None,
                })
                .collect(),
            free: FreeAddresses::new(subnets, snapshot),
            reusable: Reusable::new(subnets, snapshot),
        }
    }

    /// The never-used addresses (for [`FreeAddresses::used`] and [`FreeAddresses::freed`]: the
    /// engine reports every binding it writes at, and every one it deletes).
    pub fn free(&mut self) -> &mut FreeAddresses {
        &mut self.free
    }

    /// The reusable addresses per subnet (for [`Reusable::set`]: the engine reports every
    /// binding it writes, restores, deletes or expires).
    pub fn reusable(&mut self) -> &mut Reusable {
        &mut self.reusable
    }

    /// Quarantines subnet `i` until `until[i]` (in config order; `None`: not).
    pub fn set_quarantine(&mut self, until: &[Option<Timestamp>]) {
        for (s, u) in self.subnets.iter_mut().zip(until) {
            s.quarantine = *u;
        }
    }

    /// Until when subnet `i` is quarantined, if it is.
    pub fn quarantine_of(&self, i: usize) -> Option<Timestamp> {
        self.subnets.get(i).and_then(|s| s.quarantine)
    }

    /// Ends the quarantines that are over at `now`; returns their subnets' indexes.
    pub fn end_quarantines(&mut self, now: Timestamp) -> Vec<usize> {
        let mut ended = Vec::new();
        for (i, s) in self.subnets.iter_mut().enumerate() {
            if s.quarantine.is_some_and(|end| end <= now) {
                s.quarantine = None;
                ended.push(i);
            }
        }
        ended
    }

    /// Whether subnet `i` is quarantined at `now`.
    pub fn quarantined(&self, i: usize, now: Timestamp) -> bool {
        self.subnets[i].quarantine.is_some_and(|end| now < end)
    }

    /// Whether `a` is in a pool of subnet `i` and not excluded.
    pub fn in_pool(&self, subnets: &[Subnet], i: usize, a: Ipv4Addr) -> bool {
        subnets[i].pools.iter().any(|p| p.contains(a)) && !self.subnets[i].excluded.contains(&a)
    }

    /// Whether `a` is reserved in subnet `i` for a client other than `id`.
    pub fn reserved_for_other(
        &self,
        subnets: &[Subnet],
        i: usize,
        id: &Identity,
        a: Ipv4Addr,
    ) -> bool {
        self.subnets[i].reserved.contains(&a)
            && subnets[i]
                .reservations
                .iter()
                .any(|r| r.address == a && !id.matches(r))
    }

    /// Whether `id` may hold `a` in subnet `i`: its reservation, or a pool address nobody else
    /// has reserved.
    pub fn allocatable(&self, subnets: &[Subnet], i: usize, id: &Identity, a: Ipv4Addr) -> bool {
        if id.reservation(&subnets[i]).is_some_and(|r| r.address == a) {
            return true;
        }
        self.in_pool(subnets, i, a) && !self.reserved_for_other(subnets, i, id, a)
    }

    /// Chooses an address for `id` in subnet `i`; `None` when the pools are exhausted.
    pub fn choose(
        &mut self,
        subnets: &[Subnet],
        i: usize,
        snapshot: &Snapshot4,
        id: &Identity,
        requested: Option<Ipv4Addr>,
        now: Timestamp,
    ) -> Option<(Ipv4Addr, Choice)> {
        let subnet = &subnets[i];
        // 1. Reservation.
        if let Some(r) = id.reservation(subnet) {
            let taken = snapshot
                .get(r.address)
                .is_some_and(|b| !id.owns(b) && held(b, now));
            if !taken {
                return Some((r.address, Choice::Reserved));
            }
        }
        // 2. The client's own binding in this subnet.
        let own = id.bindings(snapshot).into_iter().find(|b| {
            b.subnet == subnet.prefix
                && matches!(
                    b.state,
                    State4::Active | State4::Offered | State4::Released | State4::Expired
                )
                && self.allocatable(subnets, i, id, b.address)
        });
        if let Some(b) = own {
            return Some((b.address, Choice::Existing));
        }
        // Quarantine: an address without a loaded binding may be a lost lease's.
        let quarantined = self.quarantined(i, now);
        // 3. The requested address.
        if let Some(a) = requested {
            let free = match snapshot.get(a) {
                None => !quarantined,
                Some(b) if id.owns(b) => b.state != State4::Declined || b.end <= now,
                Some(b) => b.state == State4::Offered && b.end <= now,
            };
            if subnet.prefix.contains(&a)
                && self.in_pool(subnets, i, a)
                && !self.subnets[i].reserved.contains(&a)
                && free
            {
                return Some((a, Choice::Requested));
            }
        }
        // 4. Never used.
        if !quarantined {
            if let Some(a) = self.free.next(i, snapshot) {
                return Some((a, Choice::NeverUsed));
            }
        }
        // 5. Reuse the longest-free address.
        self.oldest_free(subnets, i, snapshot, id, now)
            .map(|b| (b.address, Choice::Reused))
    }

    /// The longest-free reusable address of subnet `i`'s pools, from its reuse index (ordered
    /// by the time each address became free, then address): the walk stops at the first that
    /// fits, so it never scans the pools, and sees no other subnet's addresses.
    fn oldest_free(
        &mut self,
        subnets: &[Subnet],
        i: usize,
        snapshot: &Snapshot4,
        id: &Identity,
        now: Timestamp,
    ) -> Option<Arc<Binding4>> {
        let state = &self.subnets[i];
        let mut looked = 0;
        let found = self
            .reusable
            .walk(i, now)
            .inspect(|_| looked += 1)
            .filter_map(|a| snapshot.get(a))
            .find(|b| {
                b.free_since().is_some_and(|t| t <= now)
                    && subnets[i].pools.iter().any(|p| p.contains(b.address))
                    && !state.excluded.contains(&b.address)
                    && !self.reserved_for_other(subnets, i, id, b.address)
            })
            .cloned();
        self.reusable.examined_add(looked);
        found
    }
}
