//! The store's DHCPv4 front: [`Store::v4`] gives a [`Front4`] with the v4 reads and writes; a
//! [`Batch4`] groups writes made together.
//!
//! # Two views: live and durable
//!
//! A write changes the table at once: the DHCP engine must see its own writes immediately (the
//! allocator would otherwise offer one address twice). But a change is not the server's word
//! until it is durable: a DHCPACK leaves only then, and leasequery, which tells third parties
//! who holds an address, must not report a binding that a failed commit may take back. So the
//! family keeps, for each address with a change not yet durable, its version from before the
//! first such change (the durable one, or `None`; an offer in between, which is memory-only by
//! design, counts as that version) and the batch that changed it last. [`Front4::snapshot`] is
//! the live view; [`Front4::durable_snapshot`] is the same table with those versions laid over
//! it, for leasequery and bulk leasequery. The map is small (the changes in flight: one group
//! commit when the disk keeps up, at most [`crate::MAX_BACKLOG`]) and persistent, so either view
//! is O(1) to take.
//!
//! When a commit succeeds, its addresses leave the map (or, when a later batch changed them
//! again, keep it with this commit's version as the durable one). When it fails, each address
//! whose live binding is still the failed change goes back to its durable version: the engine
//! must not believe a client holds what the disk never got; a later change of the same address
//! is left alone (it has its own commit to come).
//!
//! The mechanism is shared with DHCPv6 (`family.rs`, generic over the record); this
//! module gives it the v4 names and types.

use std::net::Ipv4Addr;
use std::sync::Arc;

use crate::change::Change;
use crate::completion::Completion;
use crate::family::{Batch, Family, Persisted};
use crate::record::Timestamp;
use crate::store::{Core, Store};
use crate::v4::binding::Binding4;
use crate::v4::snapshot::Snapshot4;
use crate::v4::Change4;

/// The DHCPv4 table of a [`Store`].
pub(crate) type Family4 = Family<Binding4>;

impl Persisted for Binding4 {
    fn upsert_change(record: Arc<Self>) -> Change {
        Change::V4(Change4::Upsert(record))
    }

    fn delete_change(key: u32) -> Change {
        Change::V4(Change4::Delete(Ipv4Addr::from(key)))
    }

    fn transaction(&self) -> u64 {
        self.sequence
    }

    /// See [`Batch4::upsert`].
    fn stamp(&mut self, replaced: Option<&Self>, sequence: u64) {
        self.state_since = match replaced {
            Some(old) if self.continues(old) => old.state_since,
            _ => self.implied_state_since(),
        };
        self.sequence = sequence;
    }
}

impl Store {
    /// The DHCPv4 bindings: reads, writes, expiry.
    pub fn v4(&self) -> Front4<'_> {
        Front4 {
            family: &self.v4,
            core: &self.core,
        }
    }
}

/// The DHCPv4 operations of a [`Store`] (from [`Store::v4`]; cheap to make, borrow only).
#[derive(Clone, Copy)]
pub struct Front4<'a> {
    family: &'a Family4,
    core: &'a Core,
}

impl std::fmt::Debug for Front4<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Front4").finish_non_exhaustive()
    }
}

impl Front4<'_> {
    /// A consistent point-in-time view of the DHCPv4 bindings (O(1)): the live table, with
    /// every change made so far, durable or not. The DHCP engine's view.
    pub fn snapshot(&self) -> Snapshot4 {
        Snapshot4::new(self.family.live())
    }

    /// A consistent point-in-time view of the durable DHCPv4 bindings (O(1)): each address
    /// with a change not yet durable shows its version from before that change. What
    /// leasequery may report (see the module documentation).
    pub fn durable_snapshot(&self) -> Snapshot4 {
        let (table, pending) = self.family.durable();
        Snapshot4::durable(table, pending)
    }

    /// Addresses with a change not yet durable.
    pub fn in_flight(&self) -> usize {
        self.family.in_flight()
    }

    /// The current binding of `address` (live view).
    pub fn get(&self, address: Ipv4Addr) -> Option<Arc<Binding4>> {
        self.family.get(u32::from(address))
    }

    /// Number of DHCPv4 bindings (live view).
    pub fn len(&self) -> usize {
        self.family.len()
    }

    /// Whether there is no DHCPv4 binding (live view).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Runs `f` on a batch: its changes reach memory atomically and are persisted in one
    /// transaction; `done` runs once they are durable (at once if nothing needs persisting).
    /// `f` runs under the family's lock: keep it short (no I/O). If the commit fails (or the
    /// writer refuses the batch), the batch's changes are taken back from memory (see the
    /// module documentation) before `done` runs.
    pub fn write<T>(&self, done: Completion, f: impl FnOnce(&mut Batch4<'_>) -> T) -> T {
        self.write_if_unchanged(done, &[], f)
            .expect("a write that checks nothing always runs")
    }

    /// As [`Front4::write`], if every key of `seen` still holds the record it had when
    /// the caller decided (the same `Arc`, or still none); otherwise nothing is written, `done`
    /// gets [`crate::StoreError::Taken`], and the result is `None`. For a server sharing its
    /// store: another server's record that the feed brought in since the caller's snapshot is
    /// never overwritten unseen (docs/protocol.md decision 43).
    pub fn write_if_unchanged<T>(
        &self,
        done: Completion,
        seen: &[(Ipv4Addr, Option<Arc<Binding4>>)],
        f: impl FnOnce(&mut Batch4<'_>) -> T,
    ) -> Option<T> {
        let seen = seen.iter().map(|(a, b)| (u32::from(*a), b.clone()));
        self.family.write(self.core, done, seen, |inner| {
            let mut batch = Batch4 { inner };
            let out = f(&mut batch);
            (out, batch.inner.into_parts())
        })
    }

    /// Inserts or replaces one binding (see [`Batch4::upsert`]).
    pub fn upsert(&self, binding: Binding4, done: Completion) -> Option<Arc<Binding4>> {
        self.write(done, |b| b.upsert(binding))
    }

    /// Removes one binding (see [`Batch4::delete`]).
    pub fn delete(&self, address: Ipv4Addr, done: Completion) -> Option<Arc<Binding4>> {
        self.write(done, |b| b.delete(address))
    }

    /// The expiry helper for the server's timer: at most `max` Active bindings whose `end` is
    /// `<= now` become Expired, in memory and (queued) on disk; returns them. The lock is held for
    /// the whole call, so a timer catching up on many bindings (after downtime) should call it
    /// with a moderate `max` (e.g. 1000) until it returns fewer than `max`.
    pub fn expire(&self, now: Timestamp, max: usize, done: Completion) -> Vec<Arc<Binding4>> {
        self.write(done, |b| b.expire(now, max))
    }
}

/// DHCPv4 changes made together: applied to memory atomically (no snapshot sees half of them)
/// and persisted in one transaction.
pub struct Batch4<'a> {
    inner: Batch<'a, Binding4>,
}

impl Batch4<'_> {
    /// The current binding of `address` (including changes made earlier in this batch).
    pub fn get(&self, address: Ipv4Addr) -> Option<&Arc<Binding4>> {
        self.inner.get(u32::from(address))
    }

    /// Inserts or replaces the binding of its address; a replaced binding's identifiers leave the
    /// indexes. Offered bindings change memory only. Returns the replaced binding.
    ///
    /// The store keeps [`Binding4::state_since`], whatever the caller put there: a write that
    /// [continues](Binding4::continues) the replaced binding's state (a renewal, a second
    /// DHCPDECLINE) keeps the replaced binding's time; any other write enters the state now and
    /// records [`Binding4::implied_state_since`] (the DHCP engine sets `start` or `end` to the
    /// time of the change). So the engine never tracks it.
    ///
    /// An upsert is a transaction on the binding: it takes the next [`Binding4::sequence`], so
    /// "most recent first" puts it before every binding written earlier in the same second.
    pub fn upsert(&mut self, binding: Binding4) -> Option<Arc<Binding4>> {
        self.inner.upsert(binding)
    }

    /// Inserts or replaces a binding exactly as given, [`Binding4::state_since`] and
    /// [`Binding4::sequence`] included: for putting back a binding read earlier (an offer taken
    /// back) or restoring an export. Later upserts are still numbered above it. Returns the
    /// replaced binding.
    pub fn restore(&mut self, binding: Binding4) -> Option<Arc<Binding4>> {
        self.inner.restore(binding)
    }

    /// Removes the binding of `address` (memory and backend).
    pub fn delete(&mut self, address: Ipv4Addr) -> Option<Arc<Binding4>> {
        self.inner.delete(u32::from(address))
    }

    /// Moves (at most `max`) Active bindings whose `end` is `<= now` to Expired, earliest end
    /// first; returns them.
    pub fn expire(&mut self, now: Timestamp, max: usize) -> Vec<Arc<Binding4>> {
        self.inner.expire(now, max)
    }

    /// A snapshot of the table as the batch has made it so far.
    pub fn snapshot(&self) -> Snapshot4 {
        Snapshot4::new(self.inner.table().clone())
    }
}
