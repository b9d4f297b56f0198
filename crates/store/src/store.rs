//! The store: in-memory tables for reads, a writer thread for durability.
//!
//! A write changes the in-memory table at once (under a short lock, so the allocator sees it
//! immediately) and queues the change for the writer thread in the same critical section, so the
//! order of changes on disk is the order in memory. The caller's [`Completion`] runs when the change
//! is durable: the server sends its DHCPACK then. Readers take a [`Snapshot4`] (O(1)) and never
//! wait for the writer or block it.
//!
//! If a commit fails, the memory already holds the change and the waiters are told the error (the
//! server must not ACK); the binding is written again with its next change.

use std::net::Ipv4Addr;
use std::path::Path;
use std::sync::{Arc, Mutex, MutexGuard};

use crate::backend::{Backend, NullBackend, SkippedRow};
use crate::v4::binding::{Binding4, Timestamp};
use crate::change::Change;
use crate::completion::{Completion, Ticket};
use crate::error::StoreError;
use crate::sqlite::SqliteBackend;
use crate::table::Table;
use crate::v4::snapshot::Snapshot4;
use crate::writer::{Writer, WriterStats};

/// What opening a store found in its backend.
#[derive(Debug, Default)]
pub struct LoadReport {
    /// DHCPv4 bindings loaded.
    pub loaded4: usize,
    /// Rows skipped, with the reason for each (to log).
    pub skipped: Vec<SkippedRow>,
}

/// The binding store.
pub struct Store {
    table4: Mutex<Table<Binding4>>,
    writer: Writer,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store").finish_non_exhaustive()
    }
}

/// Changes made together: applied to memory atomically (no snapshot sees half of them) and
/// persisted in one transaction.
pub struct Batch4<'a> {
    table: &'a mut Table<Binding4>,
    changes: Vec<Change>,
}

impl Batch4<'_> {
    /// The current binding of `address` (including changes made earlier in this batch).
    pub fn get(&self, address: Ipv4Addr) -> Option<&Arc<Binding4>> {
        self.table.get(u32::from(address))
    }

    /// Inserts or replaces the binding of its address; a replaced binding's identifiers leave the
    /// indexes. Offered bindings change memory only. Returns the replaced binding.
    pub fn upsert(&mut self, binding: Binding4) -> Option<Arc<Binding4>> {
        let binding = Arc::new(binding);
        if binding.state.is_durable() {
            self.changes.push(Change::Upsert4(binding.clone()));
        }
        self.table.upsert(binding)
    }

    /// Removes the binding of `address` (memory and backend).
    pub fn delete(&mut self, address: Ipv4Addr) -> Option<Arc<Binding4>> {
        self.changes.push(Change::Delete4(address));
        self.table.remove(u32::from(address))
    }

    /// Moves (at most `max`) Active bindings whose `end` is `<= now` to Expired, earliest end
    /// first; returns them.
    pub fn expire(&mut self, now: Timestamp, max: usize) -> Vec<Arc<Binding4>> {
        let expired = self.table.expire(now, max);
        self.changes
            .extend(expired.iter().cloned().map(Change::Upsert4));
        expired
    }

    /// A snapshot of the table as the batch has made it so far.
    pub fn snapshot(&self) -> Snapshot4 {
        Snapshot4::new(self.table.clone())
    }
}

impl Store {
    /// Loads every binding from `backend` and starts the writer thread.
    pub fn open(mut backend: Box<dyn Backend>) -> Result<(Store, LoadReport), StoreError> {
        let loaded = backend.load()?;
        let loaded4 = loaded.bindings4.len();
        let table = Table::from_records(loaded.bindings4.into_iter().map(Arc::new));
        let writer = Writer::spawn(backend)?;
        Ok((
            Store {
                table4: Mutex::new(table),
                writer,
            },
            LoadReport {
                loaded4,
                skipped: loaded.skipped,
            },
        ))
    }

    /// Opens (or creates) an SQLite database and loads it.
    pub fn open_sqlite(path: impl AsRef<Path>) -> Result<(Store, LoadReport), StoreError> {
        Store::open(Box::new(SqliteBackend::open(path)?))
    }

    /// A store that persists nothing.
    pub fn in_memory() -> Store {
        match Store::open(Box::new(NullBackend)) {
            Ok((s, _)) => s,
            // NullBackend cannot fail to load; only spawning the writer thread can.
            Err(e) => panic!("cannot start the store's writer thread: {e}"),
        }
    }

    fn lock4(&self) -> MutexGuard<'_, Table<Binding4>> {
        self.table4.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// A consistent point-in-time view of the DHCPv4 bindings (O(1)).
    pub fn snapshot4(&self) -> Snapshot4 {
        Snapshot4::new(self.lock4().clone())
    }

    /// The current binding of `address`.
    pub fn get4(&self, address: Ipv4Addr) -> Option<Arc<Binding4>> {
        self.lock4().get(u32::from(address)).cloned()
    }

    /// Number of DHCPv4 bindings.
    pub fn len4(&self) -> usize {
        self.lock4().len()
    }

    /// Runs `f` on a batch: its changes reach memory atomically and are persisted in one
    /// transaction; `done` runs once they are durable (at once if nothing needs persisting).
    /// `f` runs under the store's lock: keep it short (no I/O).
    pub fn write4<T>(&self, done: Completion, f: impl FnOnce(&mut Batch4<'_>) -> T) -> T {
        let mut table = self.lock4();
        let mut batch = Batch4 {
            table: &mut table,
            changes: Vec::new(),
        };
        let out = f(&mut batch);
        let changes = batch.changes;
        if changes.is_empty() {
            drop(table);
            done.complete(Ok(()));
        } else {
            // Queued while the lock is held: disk order = memory order.
            self.writer.submit(changes, done);
        }
        out
    }

    /// Inserts or replaces one binding (see [`Batch4::upsert`]).
    pub fn upsert4(&self, binding: Binding4, done: Completion) -> Option<Arc<Binding4>> {
        self.write4(done, |b| b.upsert(binding))
    }

    /// Removes one binding (see [`Batch4::delete`]).
    pub fn delete4(&self, address: Ipv4Addr, done: Completion) -> Option<Arc<Binding4>> {
        self.write4(done, |b| b.delete(address))
    }

    /// The expiry helper for the server's timer: at most `max` Active bindings whose `end` is
    /// `<= now` become Expired, in memory and (queued) on disk; returns them. The lock is held for
    /// the whole call, so a timer catching up on many bindings (after downtime) should call it
    /// with a moderate `max` (e.g. 1000) until it returns fewer than `max`.
    pub fn expire4(&self, now: Timestamp, max: usize, done: Completion) -> Vec<Arc<Binding4>> {
        self.write4(done, |b| b.expire(now, max))
    }

    /// A ticket completed once everything submitted before it is durable.
    pub fn sync(&self) -> Ticket {
        let (done, ticket) = Completion::ticket();
        let _table = self.lock4();
        self.writer.submit(Vec::new(), done);
        ticket
    }

    /// Sets what the writer thread runs after the completions of each group commit (replacing
    /// any earlier hook); see [`crate::completing_group`]. A server uses it to send the
    /// DHCPACKs one commit made durable with one system call.
    pub fn after_each_group(&self, hook: impl FnMut() + Send + 'static) {
        self.writer.set_hook(Box::new(hook));
    }

    /// Counters of the writer thread (commits, changes, failures).
    pub fn writer_stats(&self) -> Arc<WriterStats> {
        self.writer.stats().clone()
    }

    /// Writes everything queued, then stops the writer thread. (Dropping the store does the same.)
    pub fn close(mut self) -> Result<(), StoreError> {
        let r = self.sync().wait();
        self.writer.shutdown();
        r
    }
}
