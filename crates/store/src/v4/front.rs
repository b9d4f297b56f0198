//! The store's DHCPv4 front: [`Store::v4`] gives a [`Front4`] with the v4 reads and writes; a
//! [`Batch4`] groups writes made together.

use std::net::Ipv4Addr;
use std::sync::{Arc, Mutex, MutexGuard};

use crate::change::Change;
use crate::completion::Completion;
use crate::record::Timestamp;
use crate::store::{Core, FamilyReport, Store};
use crate::table::Table;
use crate::v4::binding::Binding4;
use crate::v4::snapshot::Snapshot4;
use crate::v4::{Change4, Loaded4};

/// The DHCPv4 table of a [`Store`].
pub(crate) struct Family4 {
    table: Mutex<Table<Binding4>>,
}

impl Family4 {
    /// The table holding what the backend loaded.
    pub(crate) fn load(loaded: Loaded4) -> (Family4, FamilyReport) {
        let report = FamilyReport {
            loaded: loaded.bindings.len(),
        };
        let table = Table::from_records(loaded.bindings.into_iter().map(Arc::new));
        (
            Family4 {
                table: Mutex::new(table),
            },
            report,
        )
    }

    /// The largest transaction number of a binding loaded (0 when none).
    pub(crate) fn highest_sequence(&self) -> u64 {
        self.lock().iter().map(|b| b.sequence).max().unwrap_or(0)
    }

    fn lock(&self) -> MutexGuard<'_, Table<Binding4>> {
        self.table.lock().unwrap_or_else(|e| e.into_inner())
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
    /// A consistent point-in-time view of the DHCPv4 bindings (O(1)).
    pub fn snapshot(&self) -> Snapshot4 {
        Snapshot4::new(self.family.lock().clone())
    }

    /// The current binding of `address`.
    pub fn get(&self, address: Ipv4Addr) -> Option<Arc<Binding4>> {
        self.family.lock().get(u32::from(address)).cloned()
    }

    /// Number of DHCPv4 bindings.
    pub fn len(&self) -> usize {
        self.family.lock().len()
    }

    /// Whether there is no DHCPv4 binding.
    pub fn is_empty(&self) -> bool {
        self.family.lock().is_empty()
    }

    /// Runs `f` on a batch: its changes reach memory atomically and are persisted in one
    /// transaction; `done` runs once they are durable (at once if nothing needs persisting).
    /// `f` runs under the family's lock: keep it short (no I/O).
    pub fn write<T>(&self, done: Completion, f: impl FnOnce(&mut Batch4<'_>) -> T) -> T {
        let mut table = self.family.lock();
        let mut batch = Batch4 {
            table: &mut table,
            core: self.core,
            changes: Vec::new(),
        };
        let out = f(&mut batch);
        let changes = batch.changes;
        if changes.is_empty() {
            drop(table);
            done.complete(Ok(()));
        } else {
            // Queued while the lock is held: disk order = memory order.
            self.core.submit(changes, done);
        }
        out
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
    table: &'a mut Table<Binding4>,
    core: &'a Core,
    changes: Vec<Change>,
}

impl Batch4<'_> {
    /// The current binding of `address` (including changes made earlier in this batch).
    pub fn get(&self, address: Ipv4Addr) -> Option<&Arc<Binding4>> {
        self.table.get(u32::from(address))
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
    pub fn upsert(&mut self, mut binding: Binding4) -> Option<Arc<Binding4>> {
        binding.state_since = match self.table.get(u32::from(binding.address)) {
            Some(old) if binding.continues(old) => old.state_since,
            _ => binding.implied_state_since(),
        };
        binding.sequence = self.core.next_sequence();
        self.put(binding)
    }

    /// Inserts or replaces a binding exactly as given, [`Binding4::state_since`] and
    /// [`Binding4::sequence`] included: for putting back a binding read earlier (an offer taken
    /// back) or restoring an export. Later upserts are still numbered above it. Returns the
    /// replaced binding.
    pub fn restore(&mut self, binding: Binding4) -> Option<Arc<Binding4>> {
        self.core.saw_sequence(binding.sequence);
        self.put(binding)
    }

    fn put(&mut self, binding: Binding4) -> Option<Arc<Binding4>> {
        let binding = Arc::new(binding);
        if binding.state.is_durable() {
            self.changes
                .push(Change::V4(Change4::Upsert(binding.clone())));
        }
        self.table.upsert(binding)
    }

    /// Removes the binding of `address` (memory and backend).
    pub fn delete(&mut self, address: Ipv4Addr) -> Option<Arc<Binding4>> {
        self.changes.push(Change::V4(Change4::Delete(address)));
        self.table.remove(u32::from(address))
    }

    /// Moves (at most `max`) Active bindings whose `end` is `<= now` to Expired, earliest end
    /// first; returns them.
    pub fn expire(&mut self, now: Timestamp, max: usize) -> Vec<Arc<Binding4>> {
        let expired = self.table.expire(now, max);
        self.changes.extend(
            expired
                .iter()
                .cloned()
                .map(|b| Change::V4(Change4::Upsert(b))),
        );
        expired
    }

    /// A snapshot of the table as the batch has made it so far.
    pub fn snapshot(&self) -> Snapshot4 {
        Snapshot4::new(self.table.clone())
    }
}
