//! What every address family's front shares: its table behind a short lock, the changes in
//! flight laid over it (the durable view), batches, and settling a batch once its commit has an
//! outcome. Generic over the family's [`Record`]; [`crate::v4::front`] and [`crate::v6::front`]
//! give it their names and types.
//!
//! # Two views: live and durable
//!
//! A write changes the table at once: the DHCP engine must see its own writes immediately (the
//! allocator would otherwise offer one address twice). But a change is not the server's word
//! until it is durable: a reply leaves only then, and leasequery, which tells third parties who
//! holds an address, must not report a binding that a failed commit may take back. So the
//! family keeps, for each key with a change not yet durable, its version from before the first
//! such change (the durable one, or `None`; an offer in between, which is memory-only by design,
//! counts as that version) and the batch that changed it last ([`Pending`]). The live view is
//! the table; the durable view is the same table with those versions laid over it
//! ([`crate::view::View`]). The map is small (the changes in flight: one group commit when the
//! disk keeps up, at most [`crate::MAX_BACKLOG`]) and persistent, so either view is O(1) to take.
//!
//! When a commit succeeds, its keys leave the map (or, when a later batch changed them again,
//! keep it with this commit's version as the durable one). When it fails, each key whose live
//! record is still the failed change goes back to its durable version: the engine must not
//! believe a client holds what the disk never got; a later change of the same key is left alone
//! (it has its own commit to come).

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::{Arc, Mutex, MutexGuard};

use imbl::OrdMap;

use crate::change::Change;
use crate::completion::Completion;
use crate::record::{Record, Timestamp};
use crate::store::{Core, FamilyReport};
use crate::table::Table;

/// What a family's records add to [`Record`] for the store to persist them.
pub(crate) trait Persisted: Record<Key: Hash> {
    /// The change that writes `record` to the backend.
    fn upsert_change(record: Arc<Self>) -> Change;

    /// The change that deletes the record of `key` from the backend.
    fn delete_change(key: Self::Key) -> Change;

    /// The record's place in the store's order of transactions.
    fn transaction(&self) -> u64;

    /// Stamps a record about to replace `replaced`: its transaction number `sequence`, and when
    /// it entered its state (kept from `replaced` when it continues that state, else implied by
    /// its own times).
    fn stamp(&mut self, replaced: Option<&Self>, sequence: u64);
}

/// A key with a change not yet durable: its durable version, and the last batch that changed
/// it.
pub(crate) struct Pending<R: Record> {
    pub(crate) durable: Option<Arc<R>>,
    batch: u64,
}

impl<R: Record> Clone for Pending<R> {
    fn clone(&self) -> Self {
        Pending {
            durable: self.durable.clone(),
            batch: self.batch,
        }
    }
}

/// The keys with changes in flight, by key (see the module documentation).
pub(crate) type Overlay<R> = OrdMap<<R as Record>::Key, Pending<R>>;

/// What a family's lock guards.
pub(crate) struct Tables<R: Record> {
    table: Table<R>,
    pending: Overlay<R>,
    /// The number of the next batch with changes to persist.
    next_batch: u64,
}

/// One family's table in a [`crate::Store`].
pub(crate) struct Family<R: Record> {
    tables: Arc<Mutex<Tables<R>>>,
}

fn lock<R: Record>(tables: &Mutex<Tables<R>>) -> MutexGuard<'_, Tables<R>> {
    tables.lock().unwrap_or_else(|e| e.into_inner())
}

/// The final value of each key a batch changed, to settle it by.
type Written<R> = Vec<(<R as Record>::Key, Option<Arc<R>>)>;

impl<R: Persisted> Tables<R> {
    /// Settles batch `batch` whose final values per key are `written`, once its commit has an
    /// outcome.
    fn settle(&mut self, batch: u64, written: &Written<R>, ok: bool) {
        for (key, value) in written {
            let Some(p) = self.pending.get(key).cloned() else {
                continue;
            };
            if p.batch != batch {
                // A later batch changed the key again: it settles it. Meanwhile this commit's
                // version (if it succeeded) is the durable one.
                if ok {
                    self.pending.insert(
                        *key,
                        Pending {
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

impl<R: Persisted> Family<R> {
    /// The table holding what the backend loaded.
    pub(crate) fn load(records: Vec<R>) -> (Family<R>, FamilyReport) {
        let report = FamilyReport {
            loaded: records.len(),
        };
        let table = Table::from_records(records.into_iter().map(Arc::new));
        (
            Family {
                tables: Arc::new(Mutex::new(Tables {
                    table,
                    pending: OrdMap::new(),
                    next_batch: 0,
                })),
            },
            report,
        )
    }

    /// The largest transaction number of a record loaded (0 when none).
    pub(crate) fn highest_sequence(&self) -> u64 {
        self.lock()
            .table
            .iter()
            .map(|b| b.transaction())
            .max()
            .unwrap_or(0)
    }

    fn lock(&self) -> MutexGuard<'_, Tables<R>> {
        lock(&self.tables)
    }

    /// The live table (O(1)).
    pub(crate) fn live(&self) -> Table<R> {
        self.lock().table.clone()
    }

    /// The live table and the changes in flight over it (O(1)).
    pub(crate) fn durable(&self) -> (Table<R>, Overlay<R>) {
        let t = self.lock();
        (t.table.clone(), t.pending.clone())
    }

    /// Keys with a change not yet durable.
    pub(crate) fn in_flight(&self) -> usize {
        self.lock().pending.len()
    }

    /// The live record of `key`.
    pub(crate) fn get(&self, key: R::Key) -> Option<Arc<R>> {
        self.lock().table.get(key).cloned()
    }

    /// Number of live records.
    pub(crate) fn len(&self) -> usize {
        self.lock().table.len()
    }

    /// Runs `f` on a batch under the family's lock, then queues what it changed durably for the
    /// writer thread (still under the lock: disk order = memory order); `done` runs once it is
    /// durable (at once if nothing needs persisting). If the commit fails, or the writer refuses
    /// the batch, its changes are taken back from memory (see the module documentation) before
    /// `done` runs. `f` hands back the batch's [`Parts`] ([`Batch::into_parts`]) with its result.
    pub(crate) fn write<T>(
        &self,
        core: &Core,
        done: Completion,
        f: impl FnOnce(Batch<'_, R>) -> (T, Parts<R>),
    ) -> T {
        let mut guard = self.lock();
        let tables = &mut *guard;
        let id = tables.next_batch;
        let batch = Batch {
            table: &mut tables.table,
            pending: &mut tables.pending,
            id,
            core,
            writes: Vec::new(),
            undo: Vec::new(),
        };
        let (out, Parts { writes, undo }) = f(batch);
        if writes.is_empty() {
            drop(guard);
            done.complete(Ok(()));
            return out;
        }
        tables.next_batch += 1;
        let changes: Vec<Change> = writes
            .iter()
            .map(|(key, value)| match value {
                Some(r) => R::upsert_change(r.clone()),
                None => R::delete_change(*key),
            })
            .collect();
        let written = last_per_key(writes);
        let family = Arc::clone(&self.tables);
        let done = Completion::callback(move |r| {
            lock(&family).settle(id, &written, r.is_ok());
            done.complete(r);
        });
        if let Err(refused) = core.submit(changes, done) {
            // Nothing of it reaches the disk: taken back here, before anything else changes
            // these keys (batches still in flight on them settle later, in their order). Its
            // completion, which takes the lock, then finds nothing left to settle.
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
}

/// The final value of each key in `writes` (in order of first change).
fn last_per_key<R: Persisted>(writes: Written<R>) -> Written<R> {
    let mut written: Written<R> = Vec::with_capacity(writes.len());
    // A DHCP write changes one or two keys: look those up in the vector; a large batch
    // (expiry, an import) through a map.
    let mut at: Option<HashMap<R::Key, usize>> =
        (writes.len() > 16).then(|| HashMap::with_capacity(writes.len()));
    for (key, value) in writes {
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
    written
}

/// Per key a batch changes durably: the record it replaced and the batch in flight on it
/// before (none: the batch made its entry), to take the batch back if the writer refuses it.
type Undo<R> = (<R as Record>::Key, Option<Arc<R>>, Option<u64>);

/// What a finished batch leaves to persist and, should the writer refuse it, to undo.
pub(crate) struct Parts<R: Record> {
    writes: Written<R>,
    undo: Vec<Undo<R>>,
}

/// Changes of one family made together: applied to memory atomically (no snapshot sees half of
/// them) and persisted in one transaction. Each family's public batch wraps one.
pub(crate) struct Batch<'a, R: Record> {
    table: &'a mut Table<R>,
    pending: &'a mut Overlay<R>,
    id: u64,
    core: &'a Core,
    /// Every durable change, in order: the new record, or `None` for a delete.
    writes: Written<R>,
    undo: Vec<Undo<R>>,
}

impl<R: Persisted> Batch<'_, R> {
    /// What the batch leaves to persist (see [`Family::write`]).
    pub(crate) fn into_parts(self) -> Parts<R> {
        Parts {
            writes: self.writes,
            undo: self.undo,
        }
    }

    /// The table as the batch has made it so far.
    pub(crate) fn table(&self) -> &Table<R> {
        self.table
    }

    /// The current record of `key` (including changes made earlier in this batch).
    pub(crate) fn get(&self, key: R::Key) -> Option<&Arc<R>> {
        self.table.get(key)
    }

    /// Notes that this batch changes `key` durably: the first change in flight keeps the
    /// version it replaces.
    fn track(&mut self, key: R::Key) {
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
                self.pending.insert(key, Pending { durable, batch: id });
            }
        }
    }

    /// Inserts or replaces the record of its key, numbered and stamped
    /// ([`Persisted::stamp`]). Returns the replaced record.
    pub(crate) fn upsert(&mut self, mut record: R) -> Option<Arc<R>> {
        let sequence = self.core.next_sequence();
        record.stamp(self.table.get(record.key()).map(|r| &**r), sequence);
        self.put(record)
    }

    /// Inserts or replaces a record exactly as given (its transaction number included; later
    /// upserts are still numbered above it). Returns the replaced record.
    pub(crate) fn restore(&mut self, record: R) -> Option<Arc<R>> {
        self.core.saw_sequence(record.transaction());
        self.put(record)
    }

    fn put(&mut self, record: R) -> Option<Arc<R>> {
        let record = Arc::new(record);
        if record.is_durable() {
            let key = record.key();
            self.track(key);
            self.writes.push((key, Some(record.clone())));
        }
        self.table.upsert(record)
    }

    /// Removes the record of `key` (memory and backend).
    pub(crate) fn delete(&mut self, key: R::Key) -> Option<Arc<R>> {
        self.track(key);
        self.writes.push((key, None));
        self.table.remove(key)
    }

    /// Moves (at most `max`) records due at `now` to their expired state, earliest first;
    /// returns them.
    pub(crate) fn expire(&mut self, now: Timestamp, max: usize) -> Vec<Arc<R>> {
        for key in self.table.due(now, max) {
            self.track(key);
        }
        let expired = self.table.expire(now, max);
        self.writes
            .extend(expired.iter().map(|r| (r.key(), Some(r.clone()))));
        expired
    }
}
