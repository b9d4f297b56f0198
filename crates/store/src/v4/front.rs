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

use std::collections::HashMap;
use std::net::Ipv4Addr;
use std::sync::{Arc, Mutex, MutexGuard};

use imbl::OrdMap;

use crate::change::Change;
use crate::completion::Completion;
use crate::record::Timestamp;
use crate::store::{Core, FamilyReport, Store};
use crate::table::Table;
use crate::v4::binding::Binding4;
use crate::v4::snapshot::Snapshot4;
use crate::v4::{Change4, Loaded4};

/// An address with a change not yet durable: its durable version, and the last batch that
/// changed it.
#[derive(Debug, Clone)]
pub(crate) struct Pending4 {
    pub(crate) durable: Option<Arc<Binding4>>,
    batch: u64,
}

/// What the family's lock guards.
pub(crate) struct Tables4 {
    table: Table<Binding4>,
    /// Addresses with changes in flight, by address (see the module documentation).
    pending: OrdMap<u32, Pending4>,
    /// The number of the next batch with changes to persist.
    next_batch: u64,
}

/// The DHCPv4 table of a [`Store`].
pub(crate) struct Family4 {
    tables: Arc<Mutex<Tables4>>,
}

fn lock(tables: &Mutex<Tables4>) -> MutexGuard<'_, Tables4> {
    tables.lock().unwrap_or_else(|e| e.into_inner())
}

impl Tables4 {
    /// Settles batch `batch` whose final values per address are `written`, once its commit
    /// has an outcome.
    fn settle(&mut self, batch: u64, written: &[(u32, Option<Arc<Binding4>>)], ok: bool) {
        for (key, value) in written {
            let Some(p) = self.pending.get(key).cloned() else {
                continue;
            };
            if p.batch != batch {
                // A later batch changed the address again: it settles it. Meanwhile this
                // commit's version (if it succeeded) is the durable one.
                if ok {
                    self.pending.insert(
                        *key,
                        Pending4 {
                            durable: value.clone(),
                            batch: p.batch,
                        },
                    );
                }
                continue;
            }
            self.pending.remove(key);
            if ok {
                continue;
            }
            let failed_is_live = match (self.table.get(*key), value) {
                (Some(live), Some(v)) => Arc::ptr_eq(live, v),
                (None, None) => true,
                _ => false,
            };
            if failed_is_live {
                match p.durable {
                    Some(b) => {
                        self.table.upsert(b);
                    }
                    None => {
                        self.table.remove(*key);
                    }
                }
            }
        }
    }
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
                tables: Arc::new(Mutex::new(Tables4 {
                    table,
                    pending: OrdMap::new(),
                    next_batch: 0,
                })),
            },
            report,
        )
    }

    /// The largest transaction number of a binding loaded (0 when none).
    pub(crate) fn highest_sequence(&self) -> u64 {
        self.lock()
            .table
            .iter()
            .map(|b| b.sequence)
            .max()
            .unwrap_or(0)
    }

    fn lock(&self) -> MutexGuard<'_, Tables4> {
        lock(&self.tables)
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
        Snapshot4::new(self.family.lock().table.clone())
    }

    /// A consistent point-in-time view of the durable DHCPv4 bindings (O(1)): each address
    /// with a change not yet durable shows its version from before that change. What
    /// leasequery may report (see the module documentation).
    pub fn durable_snapshot(&self) -> Snapshot4 {
        let t = self.family.lock();
        Snapshot4::durable(t.table.clone(), t.pending.clone())
    }

    /// Addresses with a change not yet durable.
    pub fn in_flight(&self) -> usize {
        self.family.lock().pending.len()
    }

    /// The current binding of `address` (live view).
    pub fn get(&self, address: Ipv4Addr) -> Option<Arc<Binding4>> {
        self.family.lock().table.get(u32::from(address)).cloned()
    }

    /// Number of DHCPv4 bindings (live view).
    pub fn len(&self) -> usize {
        self.family.lock().table.len()
    }

    /// Whether there is no DHCPv4 binding (live view).
    pub fn is_empty(&self) -> bool {
        self.family.lock().table.is_empty()
    }

    /// Runs `f` on a batch: its changes reach memory atomically and are persisted in one
    /// transaction; `done` runs once they are durable (at once if nothing needs persisting).
    /// `f` runs under the family's lock: keep it short (no I/O). If the commit fails (or the
    /// writer refuses the batch), the batch's changes are taken back from memory (see the
    /// module documentation) before `done` runs.
    pub fn write<T>(&self, done: Completion, f: impl FnOnce(&mut Batch4<'_>) -> T) -> T {
        let mut guard = self.family.lock();
        let tables = &mut *guard;
        let id = tables.next_batch;
        let mut batch = Batch4 {
            table: &mut tables.table,
            pending: &mut tables.pending,
            id,
            core: self.core,
            changes: Vec::new(),
            undo: Vec::new(),
        };
        let out = f(&mut batch);
        let (changes, undo) = (batch.changes, batch.undo);
        if changes.is_empty() {
            drop(guard);
            done.complete(Ok(()));
            return out;
        }
        tables.next_batch += 1;
        // The final value of each address the batch changed, to settle it by.
        let mut written: Vec<(u32, Option<Arc<Binding4>>)> = Vec::with_capacity(changes.len());
        // A DHCP write changes one or two addresses: look those up in the vector; a large
        // batch (expiry, an import) through a map.
        let mut at: Option<HashMap<u32, usize>> =
            (changes.len() > 16).then(|| HashMap::with_capacity(changes.len()));
        for c in &changes {
            let (key, value) = match c {
                Change::V4(Change4::Upsert(b)) => (u32::from(b.address), Some(b.clone())),
                Change::V4(Change4::Delete(a)) => (u32::from(*a), None),
            };
            let seen = match &at {
                Some(at) => at.get(&key).copied(),
                None => written.iter().position(|(k, _)| *k == key),
            };
            match seen {
                Some(i) => written[i].1 = value,
                None => {
                    if let Some(at) = &mut at {
                        at.insert(key, written.len());
                    }
                    written.push((key, value));
                }
            }
        }
        let family = Arc::clone(&self.family.tables);
        let done = Completion::callback(move |r| {
            lock(&family).settle(id, &written, r.is_ok());
            done.complete(r);
        });
        // Queued while the lock is held: disk order = memory order.
        if let Err(refused) = self.core.submit(changes, done) {
            // Nothing of it reaches the disk: taken back here, before anything else changes
            // these addresses (batches still in flight on them settle later, in their order).
            // Its completion, which takes the lock, then finds nothing left to settle.
            let tables = &mut *guard;
            for (key, before, previous) in undo {
                match before {
                    Some(b) => {
                        tables.table.upsert(b);
                    }
                    None => {
                        tables.table.remove(key);
                    }
                }
                match previous {
                    Some(batch) => {
                        if let Some(p) = tables.pending.get_mut(&key) {
                            p.batch = batch;
                        }
                    }
                    None => {
                        tables.pending.remove(&key);
                    }
                }
            }
            drop(guard);
            refused.complete();
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
    pending: &'a mut OrdMap<u32, Pending4>,
    id: u64,
    core: &'a Core,
    changes: Vec<Change>,
    /// Per address the batch changes durably: the binding it replaced and the batch in flight
    /// on it before (none: the batch made its entry), to take the batch back if the writer
    /// refuses it.
    undo: Vec<Undo>,
}

/// See [`Batch4::undo`].
type Undo = (u32, Option<Arc<Binding4>>, Option<u64>);

impl Batch4<'_> {
    /// The current binding of `address` (including changes made earlier in this batch).
    pub fn get(&self, address: Ipv4Addr) -> Option<&Arc<Binding4>> {
        self.table.get(u32::from(address))
    }

    /// Notes that this batch changes `key` durably: the first change in flight keeps the
    /// version it replaces.
    fn track(&mut self, key: u32) {
        let id = self.id;
        match self.pending.get_mut(&key) {
            // Already changed by this batch.
            Some(p) if p.batch == id => {}
            Some(p) => {
                self.undo
                    .push((key, self.table.get(key).cloned(), Some(p.batch)));
                p.batch = id;
            }
            None => {
                let durable = self.table.get(key).cloned();
                self.undo.push((key, durable.clone(), None));
                self.pending.insert(key, Pending4 { durable, batch: id });
            }
        }
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
            self.track(u32::from(binding.address));
            self.changes
                .push(Change::V4(Change4::Upsert(binding.clone())));
        }
        self.table.upsert(binding)
    }

    /// Removes the binding of `address` (memory and backend).
    pub fn delete(&mut self, address: Ipv4Addr) -> Option<Arc<Binding4>> {
        self.track(u32::from(address));
        self.changes.push(Change::V4(Change4::Delete(address)));
        self.table.remove(u32::from(address))
    }

    /// Moves (at most `max`) Active bindings whose `end` is `<= now` to Expired, earliest end
    /// first; returns them.
    pub fn expire(&mut self, now: Timestamp, max: usize) -> Vec<Arc<Binding4>> {
        for key in self.table.due(now, max) {
            self.track(key);
        }
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
