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

use std::collections::{HashMap, VecDeque};
use std::hash::Hash;
use std::sync::{Arc, Mutex, MutexGuard};

use imbl::OrdMap;

use crate::backend::Guard;
use crate::change::Change;
use crate::completion::Completion;
use crate::error::StoreError;
use crate::record::{Record, Timestamp};
use crate::store::{Core, FamilyReport};
use crate::table::Table;
use crate::view::PointView;

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
    /// The transaction number of the durable version (a tombstone's when `durable` is `None`
    /// after a delete; 0 when the key never had one here): a remote change newer than it
    /// replaces it (see [`Tables::absorb`]).
    durable_seq: u64,
    /// Whether `durable` came from another server while the change was in flight.
    absorbed: bool,
    batch: u64,
    /// The number the last change in flight wrote (an upsert's sequence, a delete's tombstone
    /// number): what the next change of the key is guarded on.
    written: u64,
}

impl<R: Record> Clone for Pending<R> {
    fn clone(&self) -> Self {
        Pending {
            durable: self.durable.clone(),
            durable_seq: self.durable_seq,
            absorbed: self.absorbed,
            batch: self.batch,
            written: self.written,
        }
    }
}

/// Most deletions remembered per family ([`Tables::gone`]).
const MAX_GONE: usize = 65_536;

/// The keys with changes in flight, by key (see the module documentation).
pub(crate) type Overlay<R> = OrdMap<<R as Record>::Key, Pending<R>>;

/// What a family's lock guards.
pub(crate) struct Tables<R: Record> {
    table: Table<R>,
    pending: Overlay<R>,
    /// The number of the next batch with changes to persist.
    next_batch: u64,
    /// Keys deleted durably (here or by another server), with the tombstone's number: a remote
    /// change older than the deletion, which a lagging follower may still deliver, must not
    /// bring the key back. Bounded: the oldest are forgotten past [`MAX_GONE`] (a follower is
    /// never that many deletions behind).
    gone: HashMap<R::Key, u64>,
    gone_order: VecDeque<R::Key>,
}

/// One family's table in a [`crate::Store`].
pub(crate) struct Family<R: Record> {
    tables: Arc<Mutex<Tables<R>>>,
}

fn lock<R: Record>(tables: &Mutex<Tables<R>>) -> MutexGuard<'_, Tables<R>> {
    tables.lock().unwrap_or_else(|e| e.into_inner())
}

/// The final value of each key a batch changed and the number it wrote, to settle it by.
type Written<R> = Vec<(<R as Record>::Key, Option<Arc<R>>, u64)>;

impl<R: Persisted> Tables<R> {
    /// Settles batch `batch` whose final values per key are `written`, once its commit has an
    /// outcome (`ok`: committed; otherwise failed or refused, and taken back).
    fn settle(&mut self, batch: u64, written: &Written<R>, ok: bool) {
        for (key, value, seq) in written {
            let Some(p) = self.pending.get(key).cloned() else {
                continue;
            };
            if p.batch != batch {
                // A later batch changed the key again: it settles it. Meanwhile this commit's
                // version (if it succeeded, and no newer remote one came) is the durable one.
                if ok && *seq > p.durable_seq {
                    self.pending.insert(
                        *key,
                        Pending {
                            durable: value.clone(),
                            durable_seq: *seq,
                            ..p
                        },
                    );
                }
                continue;
            }
            self.pending.remove(key);
            if ok {
                if value.is_none() {
                    self.remember_gone(*key, *seq);
                }
                if p.durable_seq > *seq {
                    // Another server's change, based on this one, came in while it was in
                    // flight (absorbed into the overlay): memory takes it now.
                    self.put_remote(*key, p.durable.clone(), p.durable_seq);
                }
                continue;
            }
            let live = self.table.get(*key);
            let failed_is_live = match (live, value) {
                (Some(live), Some(v)) if Arc::ptr_eq(live, v) => true,
                (None, None) => true,
                // An offer made over the failed change: it goes too when another server's
                // newer version came in meanwhile (the key is that server's now).
                (Some(live), _) => {
                    p.absorbed && !live.is_durable() && live.transaction() < p.durable_seq
                }
                (None, Some(_)) => false,
            };
            if failed_is_live {
                self.put_remote(*key, p.durable.clone(), p.durable_seq);
            }
        }
    }

    /// Makes `value` (`None`: nothing) the table's record of `key`.
    fn put_remote(&mut self, key: R::Key, value: Option<Arc<R>>, seq: u64) {
        match value {
            Some(b) => {
                self.table.upsert(b);
            }
            None => {
                self.table.remove(key);
                if seq > 0 {
                    self.remember_gone(key, seq);
                }
            }
        }
    }

    fn remember_gone(&mut self, key: R::Key, seq: u64) {
        if self.gone.insert(key, seq).is_none() {
            self.gone_order.push_back(key);
            if self.gone_order.len() > MAX_GONE {
                if let Some(old) = self.gone_order.pop_front() {
                    self.gone.remove(&old);
                }
            }
        }
    }

    /// The number of the version of `key` this server knows durable when no change is in
    /// flight on it: its record's (an offer keeps the number of the durable version it
    /// replaced), or the tombstone's, or 0.
    fn known(&self, key: R::Key) -> u64 {
        match self.table.get(key) {
            Some(r) => r.transaction(),
            None => self.gone.get(&key).copied().unwrap_or(0),
        }
    }

    /// Takes in a change another server committed: `value` (`None`: deleted) numbered `seq`
    /// (docs/protocol.md, the absorb rules of decision 43). Returns whether memory changed.
    pub(crate) fn absorb(&mut self, key: R::Key, value: Option<Arc<R>>, seq: u64) -> bool {
        if let Some(p) = self.pending.get_mut(&key) {
            // A change of ours is in flight: it is either based on this version (and commits)
            // or refused, and then rolled back to it. The table keeps ours meanwhile.
            if seq > p.durable_seq {
                p.durable = value;
                p.durable_seq = seq;
                p.absorbed = true;
                return true;
            }
            return false;
        }
        if self.known(key) >= seq {
            // An echo of what we hold, or an older version (an offer holds the number of the
            // durable version it replaced, so a newer remote version replaces the offer).
            return false;
        }
        if value.is_none() && self.table.get(key).is_none() {
            self.remember_gone(key, seq);
            return false;
        }
        self.put_remote(key, value, seq);
        true
    }
}

/// Takes changes another server committed (key, record or `None` when deleted, number), in
/// commit order, into one family under one acquisition of its lock; returns how many changed
/// memory.
pub(crate) fn absorb_all<R: Persisted>(
    tables: &Mutex<Tables<R>>,
    changes: Vec<(R::Key, Option<Arc<R>>, u64)>,
) -> u64 {
    let mut t = lock(tables);
    let mut applied = 0;
    for (key, value, seq) in changes {
        applied += u64::from(t.absorb(key, value, seq));
    }
    applied
}

impl<R: Persisted> Family<R> {
    /// The table holding what the backend loaded.
    pub(crate) fn load(records: Vec<R>) -> (Family<R>, FamilyReport) {
        let report = FamilyReport {
            loaded: records.len(),
        };
        let mut table = Table::from_records(records.into_iter().map(Arc::new));
        table.enable_points();
        (
            Family {
                tables: Arc::new(Mutex::new(Tables {
                    table,
                    pending: OrdMap::new(),
                    next_batch: 0,
                    gone: HashMap::new(),
                    gone_order: VecDeque::new(),
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

    /// Runs `f` on point look-ups of the durable view, under the family's lock (keep `f`
    /// short: writers wait): what one leasequery needs, through hash maps instead of B-tree
    /// descents ([`crate::points`]).
    pub(crate) fn durable_points<T>(&self, f: impl FnOnce(&PointView<'_, R>) -> T) -> T {
        let t = self.lock();
        f(&PointView {
            table: &t.table,
            pending: &t.pending,
        })
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

    /// A handle on the family's tables, for the follower thread.
    pub(crate) fn tables(&self) -> Arc<Mutex<Tables<R>>> {
        Arc::clone(&self.tables)
    }

    /// Runs `f` on a batch under the family's lock, then queues what it changed durably for the
    /// writer thread (still under the lock: disk order = memory order); `done` runs once it is
    /// durable (at once if nothing needs persisting). If the commit fails, or the writer refuses
    /// the batch, or a backend shared with other servers refuses it ([`StoreError::Taken`]),
    /// its changes are taken back from memory (see the module documentation) before `done`
    /// runs. `f` hands back the batch's [`Parts`] ([`Batch::into_parts`]) with its result.
    ///
    /// With `seen` (what the caller decided on: each key's record, or none, as a snapshot
    /// showed it), the batch runs only if every such key still holds that record (the same
    /// `Arc`, or still none); otherwise nothing runs, `done` gets [`StoreError::Taken`] and the
    /// result is `None`. Between a caller's snapshot and its write, a shared store's feed may
    /// bring another server's record of the key: a write over it would be guarded on its
    /// number and pass (docs/protocol.md decision 43).
    pub(crate) fn write<T>(
        &self,
        core: &Core,
        done: Completion,
        seen: impl IntoIterator<Item = (R::Key, Option<Arc<R>>)>,
        f: impl FnOnce(Batch<'_, R>) -> (T, Parts<R>),
    ) -> Option<T> {
        let mut guard = self.lock();
        let stale = seen
            .into_iter()
            .any(|(key, was)| !match (guard.table.get(key), &was) {
                (None, None) => true,
                (Some(live), Some(was)) => Arc::ptr_eq(live, was),
                _ => false,
            });
        if stale {
            drop(guard);
            done.complete(Err(StoreError::Taken));
            return None;
        }
        let tables = &mut *guard;
        let id = tables.next_batch;
        let batch = Batch {
            tables: &mut *tables,
            id,
            core,
            writes: Vec::new(),
            undo: Vec::new(),
        };
        let (out, Parts { writes, undo }) = f(batch);
        if writes.is_empty() {
            drop(guard);
            done.complete(Ok(()));
            return Some(out);
        }
        tables.next_batch += 1;
        let mut changes = Vec::with_capacity(writes.len());
        let mut guards = Vec::with_capacity(writes.len());
        for (key, value, g) in &writes {
            changes.push(match value {
                Some(r) => R::upsert_change(r.clone()),
                None => R::delete_change(*key),
            });
            guards.push(*g);
        }
        let written = last_per_key(writes);
        let family = Arc::clone(&self.tables);
        let done = Completion::callback(move |r: Result<(), StoreError>| {
            lock(&family).settle(id, &written, r.is_ok());
            done.complete(r);
        });
        if let Err(refused) = core.submit(changes, guards, done) {
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
                    Some((batch, written)) => {
                        if let Some(p) = tables.pending.get_mut(&key) {
                            p.batch = batch;
                            p.written = written;
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
        Some(out)
    }
}

/// The final value of each key in `writes` (in order of first change), with the number it
/// wrote.
fn last_per_key<R: Persisted>(writes: Vec<Write<R>>) -> Written<R> {
    let mut written: Written<R> = Vec::with_capacity(writes.len());
    // A DHCP write changes one or two keys: look those up in the vector; a large batch
    // (expiry, an import) through a map.
    let mut at: Option<HashMap<R::Key, usize>> =
        (writes.len() > 16).then(|| HashMap::with_capacity(writes.len()));
    for (key, value, guard) in writes {
        let seen = match &at {
            Some(at) => at.get(&key).copied(),
            None => written.iter().position(|(k, _, _)| *k == key),
        };
        match seen {
            Some(i) => {
                written[i].1 = value;
                written[i].2 = guard.sequence;
            }
            None => {
                if let Some(at) = &mut at {
                    at.insert(key, written.len());
                }
                written.push((key, value, guard.sequence));
            }
        }
    }
    written
}

/// One durable change of a batch: the key, its new record (`None`: deleted), its guard.
type Write<R> = (<R as Record>::Key, Option<Arc<R>>, Guard);

/// Per key a batch changes durably: the record it replaced and the batch in flight on it
/// before with the number that batch wrote (none: the batch made its entry), to take the
/// batch back if the writer refuses it.
type Undo<R> = (<R as Record>::Key, Option<Arc<R>>, Option<(u64, u64)>);

/// What a finished batch leaves to persist and, should the writer refuse it, to undo.
pub(crate) struct Parts<R: Record> {
    writes: Vec<Write<R>>,
    undo: Vec<Undo<R>>,
}

/// Changes of one family made together: applied to memory atomically (no snapshot sees half of
/// them) and persisted in one transaction. Each family's public batch wraps one.
pub(crate) struct Batch<'a, R: Record> {
    tables: &'a mut Tables<R>,
    id: u64,
    core: &'a Core,
    /// Every durable change, in order: the new record, or `None` for a delete, with its guard.
    writes: Vec<Write<R>>,
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
        &self.tables.table
    }

    /// The current record of `key` (including changes made earlier in this batch).
    pub(crate) fn get(&self, key: R::Key) -> Option<&Arc<R>> {
        self.tables.table.get(key)
    }

    /// Notes that this batch changes `key` durably, writing number `sequence`, and returns the
    /// change's guard: based on the number of the version this server last knew of the key (a
    /// change in flight's, else the table's). The first change in flight keeps the version it
    /// replaces.
    fn track(&mut self, key: R::Key, sequence: u64) -> Guard {
        let id = self.id;
        let tables = &mut *self.tables;
        let based_on = match tables.pending.get_mut(&key) {
            Some(p) => {
                let based_on = p.written;
                if p.batch != id {
                    self.undo.push((
                        key,
                        tables.table.get(key).cloned(),
                        Some((p.batch, p.written)),
                    ));
                    p.batch = id;
                }
                p.written = sequence;
                based_on
            }
            None => {
                let known = tables.known(key);
                let durable = tables.table.get(key).cloned();
                self.undo.push((key, durable.clone(), None));
                tables.pending.insert(
                    key,
                    Pending {
                        durable,
                        durable_seq: known,
                        absorbed: false,
                        batch: id,
                        written: sequence,
                    },
                );
                // A key this server holds no record of is guarded as free (a tombstone below
                // the change's number passes).
                if tables.table.get(key).is_some() {
                    known
                } else {
                    0
                }
            }
        };
        Guard { based_on, sequence }
    }

    /// Inserts or replaces the record of its key, numbered and stamped
    /// ([`Persisted::stamp`]). Returns the replaced record.
    ///
    /// A durable record takes the next transaction number; one that is not (an offer, an
    /// advertisement) keeps the number of the durable version it replaces (0: none), so that
    /// the durable write that follows it is guarded on what the database holds.
    pub(crate) fn upsert(&mut self, mut record: R) -> Option<Arc<R>> {
        let replaced = self.tables.table.get(record.key()).map(|r| &**r);
        let sequence = if record.is_durable() {
            self.core.next_sequence()
        } else {
            replaced.map_or(0, |r| r.transaction())
        };
        record.stamp(replaced, sequence);
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
            let guard = self.track(key, record.transaction());
            self.writes.push((key, Some(record.clone()), guard));
        }
        self.tables.table.upsert(record)
    }

    /// Removes the record of `key` (memory and backend).
    pub(crate) fn delete(&mut self, key: R::Key) -> Option<Arc<R>> {
        let guard = self.track(key, self.core.next_sequence());
        self.writes.push((key, None, guard));
        self.tables.table.remove(key)
    }

    /// Moves (at most `max`) records due at `now` to their expired state, earliest first;
    /// returns them. An expiry is not a transaction: the record keeps its number (and its
    /// place in "most recent first"), and is guarded on it, so that servers sharing the lease
    /// set may all expire one binding (each write passes: the database holds that number), and
    /// a renewal another server commits first, numbered above it, refuses it.
    pub(crate) fn expire(&mut self, now: Timestamp, max: usize) -> Vec<Arc<R>> {
        let mut guards = Vec::new();
        for key in self.tables.table.due(now, max) {
            let sequence = self.tables.table.get(key).map_or(0, |r| r.transaction());
            guards.push(self.track(key, sequence));
        }
        let expired = self.tables.table.expire(now, max);
        self.writes.extend(
            expired
                .iter()
                .zip(guards)
                .map(|(r, g)| (r.key(), Some(r.clone()), g)),
        );
        expired
    }
}
