//! The store's DHCPv6 front: [`Store::v6`] gives a [`Front6`] with the v6 reads and writes; a
//! [`Batch6`] groups writes made together.
//!
//! The same two views as DHCPv4 ([`crate::v4::front`]), by the same code (`family.rs`):
//! [`Front6::snapshot`] is the live view the DHCPv6 engine allocates from;
//! [`Front6::durable_snapshot`] lays, over each key (address or delegated prefix) with a change
//! not yet durable, its version from before that change: what leasequery (RFC 5007) and bulk
//! leasequery (RFC 5460) may report. A failed commit takes its changes back from memory.

use std::sync::Arc;

use crate::change::Change;
use crate::completion::Completion;
use crate::family::{Batch, Family, Persisted};
use crate::record::Timestamp;
use crate::store::{Core, Store};
use crate::v6::binding::{Binding6, Key6};
use crate::v6::lookup::Points6;
use crate::v6::snapshot::Snapshot6;
use crate::v6::Change6;

/// The DHCPv6 table of a [`Store`].
pub(crate) type Family6 = Family<Binding6>;

impl Persisted for Binding6 {
    fn upsert_change(record: Arc<Self>) -> Change {
        Change::V6(Change6::Upsert(record))
    }

    fn delete_change(key: Key6) -> Change {
        Change::V6(Change6::Delete(key))
    }

    fn transaction(&self) -> u64 {
        self.sequence
    }

    /// See [`Batch6::upsert`].
    fn stamp(&mut self, replaced: Option<&Self>, sequence: u64) {
        self.state_since = match replaced {
            Some(old) if self.continues(old) => old.state_since,
            _ => self.implied_state_since(),
        };
        self.sequence = sequence;
    }
}

impl Store {
    /// The DHCPv6 bindings: reads, writes, expiry.
    pub fn v6(&self) -> Front6<'_> {
        Front6 {
            family: &self.v6,
            core: &self.core,
        }
    }
}

/// The DHCPv6 operations of a [`Store`] (from [`Store::v6`]; cheap to make, borrow only).
#[derive(Clone, Copy)]
pub struct Front6<'a> {
    family: &'a Family6,
    core: &'a Core,
}

impl std::fmt::Debug for Front6<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Front6").finish_non_exhaustive()
    }
}

impl Front6<'_> {
    /// A consistent point-in-time view of the DHCPv6 bindings (O(1)): the live table, with
    /// every change made so far, durable or not. The DHCPv6 engine's view.
    pub fn snapshot(&self) -> Snapshot6 {
        Snapshot6::new(self.family.live())
    }

    /// A consistent point-in-time view of the durable DHCPv6 bindings (O(1)): each key with a
    /// change not yet durable shows its version from before that change. What leasequery may
    /// report.
    pub fn durable_snapshot(&self) -> Snapshot6 {
        let (table, pending) = self.family.durable();
        Snapshot6::durable(table, pending)
    }

    /// Runs `f` on the durable DHCPv6 bindings' point look-ups ([`Points6`]: the same answers
    /// as [`Front6::durable_snapshot`]'s, through hash maps), under the family's lock: keep
    /// `f` to one leasequery's look-ups, writers wait meanwhile.
    pub fn durable_points<T>(&self, f: impl FnOnce(&Points6<'_>) -> T) -> T {
        self.family.durable_points(|view| f(&Points6 { view }))
    }

    /// Keys (addresses and prefixes) with a change not yet durable.
    pub fn in_flight(&self) -> usize {
        self.family.in_flight()
    }

    /// The current binding of `key` (live view).
    pub fn get(&self, key: Key6) -> Option<Arc<Binding6>> {
        self.family.get(key)
    }

    /// Number of DHCPv6 bindings (live view).
    pub fn len(&self) -> usize {
        self.family.len()
    }

    /// Whether there is no DHCPv6 binding (live view).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Runs `f` on a batch: its changes reach memory atomically and are persisted in one
    /// transaction; `done` runs once they are durable (at once if nothing needs persisting).
    /// `f` runs under the family's lock: keep it short (no I/O). If the commit fails (or the
    /// writer refuses the batch), the batch's changes are taken back from memory before `done`
    /// runs.
    pub fn write<T>(&self, done: Completion, f: impl FnOnce(&mut Batch6<'_>) -> T) -> T {
        self.write_if_unchanged(done, &[], f)
            .expect("a write that checks nothing always runs")
    }

    /// As [`Front6::write`], if every key of `seen` still holds the record it had when
    /// the caller decided (the same `Arc`, or still none); otherwise nothing is written, `done`
    /// gets [`crate::StoreError::Taken`], and the result is `None`. For a server sharing its
    /// store: another server's record that the feed brought in since the caller's snapshot is
    /// never overwritten unseen (docs/protocol.md decision 43).
    pub fn write_if_unchanged<T>(
        &self,
        done: Completion,
        seen: &[(Key6, Option<Arc<Binding6>>)],
        f: impl FnOnce(&mut Batch6<'_>) -> T,
    ) -> Option<T> {
        self.family
            .write(self.core, done, seen.iter().cloned(), |inner| {
                let mut batch = Batch6 { inner };
                let out = f(&mut batch);
                (out, batch.inner.into_parts())
            })
    }

    /// Inserts or replaces one binding (see [`Batch6::upsert`]).
    pub fn upsert(&self, binding: Binding6, done: Completion) -> Option<Arc<Binding6>> {
        self.write(done, |b| b.upsert(binding))
    }

    /// Removes one binding (see [`Batch6::delete`]).
    pub fn delete(&self, key: Key6, done: Completion) -> Option<Arc<Binding6>> {
        self.write(done, |b| b.delete(key))
    }

    /// The expiry helper for the server's timer: at most `max` Active bindings whose
    /// `valid_end` is `<= now` become Expired, in memory and (queued) on disk; returns them.
    /// Call it with a moderate `max` (e.g. 1000) until it returns fewer, as for DHCPv4.
    pub fn expire(&self, now: Timestamp, max: usize, done: Completion) -> Vec<Arc<Binding6>> {
        self.write(done, |b| b.expire(now, max))
    }
}

/// DHCPv6 changes made together: applied to memory atomically (no snapshot sees half of them)
/// and persisted in one transaction.
pub struct Batch6<'a> {
    inner: Batch<'a, Binding6>,
}

impl Batch6<'_> {
    /// The current binding of `key` (including changes made earlier in this batch).
    pub fn get(&self, key: Key6) -> Option<&Arc<Binding6>> {
        self.inner.get(key)
    }

    /// Inserts or replaces the binding of its key; a replaced binding's identifiers leave the
    /// indexes. Advertised bindings change memory only. Returns the replaced binding.
    ///
    /// As [`crate::Batch4::upsert`]: the store keeps [`Binding6::state_since`] (the replaced
    /// binding's when the write [continues](Binding6::continues) its state, else
    /// [`Binding6::implied_state_since`]) and numbers the write ([`Binding6::sequence`]).
    pub fn upsert(&mut self, binding: Binding6) -> Option<Arc<Binding6>> {
        self.inner.upsert(binding)
    }

    /// Inserts or replaces a binding exactly as given, [`Binding6::state_since`] and
    /// [`Binding6::sequence`] included (an advertisement taken back, a restored export). Later
    /// upserts are still numbered above it. Returns the replaced binding.
    pub fn restore(&mut self, binding: Binding6) -> Option<Arc<Binding6>> {
        self.inner.restore(binding)
    }

    /// Removes the binding of `key` (memory and backend).
    pub fn delete(&mut self, key: Key6) -> Option<Arc<Binding6>> {
        self.inner.delete(key)
    }

    /// Moves (at most `max`) Active bindings whose `valid_end` is `<= now` to Expired, earliest
    /// first; returns them.
    pub fn expire(&mut self, now: Timestamp, max: usize) -> Vec<Arc<Binding6>> {
        self.inner.expire(now, max)
    }

    /// A snapshot of the table as the batch has made it so far.
    pub fn snapshot(&self) -> Snapshot6 {
        Snapshot6::new(self.inner.table().clone())
    }
}
