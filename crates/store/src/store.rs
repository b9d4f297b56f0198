//! The store: in-memory tables for reads, a writer thread for durability.
//!
//! Each address family has its own table behind its own short lock and its own front
//! ([`Store::v4`], [`Store::v6`]). A write changes the family's table at once (under
//! its lock, so the allocator sees it immediately) and queues the change for the writer thread in
//! the same critical section, so the order of a family's changes on disk is their order in memory.
//! The caller's [`Completion`] runs when the change is durable: the server sends its DHCPACK
//! then. Readers take a snapshot (O(1)) and never wait for the writer or block it.
//!
//! If a commit fails, the waiters are told the error (the server must not ACK) and memory goes
//! back to the durable version of each binding the commit would have changed (unless a later
//! write changed it again). Until a change is durable, leasequery does not see it: each family
//! gives two views, the live one its writer (the DHCP engine) needs, and a durable one for
//! readers that report to third parties ([`crate::Front4::durable_snapshot`],
//! [`crate::Front6::durable_snapshot`]; the mechanism: `family.rs`).
//!
//! The writer reports [`Store::health`]: a server stops offering while commits fail, and
//! [`Store::probe`] learns when the disk takes writes again. The queue is bounded
//! ([`Store::backlog`], [`crate::MAX_BACKLOG`]).
//!
//! This module is the family-neutral part: opening (which hands each family what the backend
//! loaded), the writer thread, durability barriers and closing.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use crate::backend::{Backend, Guard, NullBackend, SkippedRow};
use crate::change::Change;
use crate::completion::{Completion, Ticket};
use crate::error::StoreError;
use crate::follow::{FollowerStats, Following, Targets};
use crate::sqlite::SqliteBackend;
use crate::v4::Family4;
use crate::v6::Family6;
use crate::writer::{Health, Refused, Writer, WriterStats};

/// What opening a store found in one address family of its backend.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct FamilyReport {
    /// Bindings loaded.
    pub loaded: usize,
}

/// What opening a store found in its backend.
#[derive(Debug, Default)]
pub struct LoadReport {
    /// DHCPv4.
    pub v4: FamilyReport,
    /// DHCPv6.
    pub v6: FamilyReport,
    /// Rows skipped (any family), with the reason for each (to log).
    pub skipped: Vec<SkippedRow>,
    /// The meta values kept by [`Store::set_meta`].
    pub meta: BTreeMap<String, String>,
}

/// The meta key [`Store::probe`] writes.
pub const PROBE_KEY: &str = "probe";

/// The binding store.
pub struct Store {
    /// The thread following other servers (a shared backend only); first, so that dropping
    /// the store stops it before the writer.
    follow: Option<Following>,
    pub(crate) core: Core,
    pub(crate) v4: Family4,
    pub(crate) v6: Family6,
}

/// What the families share: the writer thread and the order of transactions.
pub(crate) struct Core {
    writer: Writer,
    /// The next transaction number ([`crate::Binding4::sequence`]): one counter for the whole
    /// store, continuing above the highest number loaded (and, on a shared backend, above
    /// every number another server wrote that the follower saw).
    sequence: Arc<AtomicU64>,
    /// The low 16 bits of every number this store makes, on a shared backend
    /// ([`Backend::writer_id`]).
    writer_id: Option<u16>,
}

impl Core {
    /// The next number in the store's order of transactions. A family takes it under its
    /// table's lock, so within a family the numbers follow the order of the writes.
    pub(crate) fn next_sequence(&self) -> u64 {
        let Some(id) = self.writer_id else {
            return self.sequence.fetch_add(1, Ordering::Relaxed);
        };
        // The least number >= the next one whose low 16 bits are this server's id.
        let tagged = |next: u64| {
            let n = (next & !0xFFFF) | u64::from(id);
            if n < next {
                n.saturating_add(0x1_0000)
            } else {
                n
            }
        };
        match self
            .sequence
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |next| {
                Some(tagged(next).saturating_add(1))
            }) {
            Ok(next) | Err(next) => tagged(next),
        }
    }

    /// Keeps later numbers above `seen` (a number written as given, e.g. restored).
    pub(crate) fn saw_sequence(&self, seen: u64) {
        self.sequence
            .fetch_max(seen.saturating_add(1), Ordering::Relaxed);
    }

    /// Queues `changes` for the writer thread; `done` runs once they are durable. A family calls
    /// it while holding its table's lock, so its changes reach the disk in memory order. A
    /// refused submission (queue full, writer gone) comes back, for the family to complete
    /// once it has released its lock.
    pub(crate) fn submit(
        &self,
        changes: Vec<Change>,
        guards: Vec<Guard>,
        done: Completion,
    ) -> Result<(), Refused> {
        self.writer.submit(changes, guards, done)
    }
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store").finish_non_exhaustive()
    }
}

impl Store {
    /// Loads every binding from `backend` and starts the writer thread.
    pub fn open(mut backend: Box<dyn Backend>) -> Result<(Store, LoadReport), StoreError> {
        let loaded = backend.load()?;
        // Right after the load: the feed starts where the load ended.
        let follower = backend.follower()?;
        let writer_id = backend.writer_id();
        let (v4, v4_report) = Family4::load(loaded.v4.bindings);
        let (v6, v6_report) = Family6::load(loaded.v6.bindings);
        let core = Core {
            writer: Writer::spawn(backend)?,
            sequence: Arc::new(AtomicU64::new(1)),
            writer_id,
        };
        core.saw_sequence(v4.highest_sequence());
        core.saw_sequence(v6.highest_sequence());
        let follow = match follower {
            Some(f) => Some(Following::spawn(
                f,
                Targets {
                    v4: v4.tables(),
                    v6: v6.tables(),
                    sequence: Arc::clone(&core.sequence),
                },
            )?),
            None => None,
        };
        Ok((
            Store {
                follow,
                core,
                v4,
                v6,
            },
            LoadReport {
                v4: v4_report,
                v6: v6_report,
                skipped: loaded.skipped,
                meta: loaded.meta,
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

    /// A ticket completed once everything submitted before it is durable.
    ///
    /// No family lock is needed: a change is visible only through its family's lock, and a
    /// write queues its changes before releasing that lock, so whatever the caller could have
    /// seen is queued before this barrier.
    pub fn sync(&self) -> Ticket {
        let (done, ticket) = Completion::ticket();
        if let Err(refused) = self.core.submit(Vec::new(), Vec::new(), done) {
            refused.complete();
        }
        ticket
    }

    /// Keeps `value` under `key` in the backend's meta table (its own transaction); the ticket
    /// completes once it is durable. [`LoadReport::meta`] returns it at the next open.
    pub fn set_meta(&self, key: &str, value: &str) -> Ticket {
        let (done, ticket) = Completion::ticket();
        if let Err(refused) = self.core.writer.set_meta(key, value, done) {
            refused.complete();
        }
        ticket
    }

    /// A small durable write (a meta row) to learn whether the store can commit again: while
    /// [`Store::health`] is failing nothing else may be written, so the I/O layer calls this
    /// now and then (say once a second); its outcome updates the health like any commit.
    /// Returns at once; `value` is what the row keeps (e.g. the time).
    pub fn probe(&self, value: &str) {
        if let Err(refused) = self
            .core
            .writer
            .set_meta(PROBE_KEY, value, Completion::none())
        {
            refused.complete();
        }
    }

    /// This server's number among those sharing the lease set ([`Backend::writer_id`]), when
    /// the backend is shared.
    pub fn writer_id(&self) -> Option<u16> {
        self.core.writer_id
    }

    /// Whether the store commits: the outcome of its last commit or probe, or that its writer
    /// thread is dead.
    pub fn health(&self) -> Health {
        self.core.writer.health()
    }

    /// Changes queued for the writer thread and not yet durable (or failed). A server sheds
    /// new work (DHCPDISCOVERs) when it grows; past [`crate::MAX_BACKLOG`] writes are refused.
    pub fn backlog(&self) -> usize {
        self.core.writer.backlog()
    }

    /// Adds what the writer thread runs after the completions of each group commit (after the
    /// hooks added before: a server serving DHCPv4 and DHCPv6 adds one per family, and each
    /// must run); see [`crate::completing_group`]. A server uses it to send the DHCPACKs (and
    /// DHCPv6 REPLYs) one commit made durable with one system call.
    pub fn after_each_group(&self, hook: impl FnMut() + Send + 'static) {
        self.core.writer.add_hook(Box::new(hook));
    }

    /// Counters of the writer thread (commits, changes, failures).
    pub fn writer_stats(&self) -> Arc<WriterStats> {
        self.core.writer.stats().clone()
    }

    /// Counters of the thread following other servers' writes; `None` unless the backend is
    /// shared ([`Backend::follower`]).
    pub fn follower_stats(&self) -> Option<Arc<FollowerStats>> {
        self.follow.as_ref().map(|f| f.stats().clone())
    }

    /// Stops following other servers, writes everything queued, then stops the writer thread.
    /// (Dropping the store does the same.)
    pub fn close(mut self) -> Result<(), StoreError> {
        if let Some(f) = &mut self.follow {
            f.stop();
        }
        let r = self.sync().wait();
        self.core.writer.shutdown();
        r
    }
}
