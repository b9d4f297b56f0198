//! The single writer thread and its group commit.
//!
//! Callers submit batches of changes, each with a [`Completion`]. The thread blocks for the first
//! submission, then drains everything else already queued (up to [`MAX_GROUP`] changes), writes it
//! all in one transaction, commits once, and then completes every waiter of the group with the
//! commit's outcome. With hundreds of clients in flight, one fsync serves them all, and each
//! DHCPACK can still wait for its own binding to be durable.

use std::cell::Cell;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{self, Receiver, Sender};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

use crate::backend::Backend;
use crate::change::Change;
use crate::completion::Completion;
use crate::error::StoreError;

/// Most changes written in one transaction.
pub const MAX_GROUP: usize = 8192;

/// What runs on the writer thread after the completions of each group commit.
pub(crate) type GroupHook = Arc<Mutex<Option<Box<dyn FnMut() + Send>>>>;

thread_local! {
    static COMPLETING_GROUP: Cell<bool> = const { Cell::new(false) };
}

/// Whether the caller runs inside the writer thread's completions of a group commit. The hook
/// set with [`crate::Store::after_each_group`] runs right after them: a completion that sees
/// `true` may leave work (e.g. a reply) for that hook to do for the whole group at once.
pub fn completing_group() -> bool {
    COMPLETING_GROUP.with(Cell::get)
}

struct Submission {
    changes: Vec<Change>,
    done: Completion,
}

/// Counters of the writer thread.
#[derive(Debug, Default)]
pub struct WriterStats {
    commits: AtomicU64,
    changes: AtomicU64,
    failures: AtomicU64,
}

impl WriterStats {
    /// Transactions committed (or attempted).
    pub fn commits(&self) -> u64 {
        self.commits.load(Ordering::Relaxed)
    }

    /// Changes written.
    pub fn changes(&self) -> u64 {
        self.changes.load(Ordering::Relaxed)
    }

    /// Transactions that failed.
    pub fn failures(&self) -> u64 {
        self.failures.load(Ordering::Relaxed)
    }
}

/// Handle to the writer thread. Dropping it lets the thread finish what is queued and joins it.
pub(crate) struct Writer {
    tx: Option<Sender<Submission>>,
    thread: Option<JoinHandle<()>>,
    stats: Arc<WriterStats>,
    hook: GroupHook,
}

impl Writer {
    pub(crate) fn spawn(backend: Box<dyn Backend>) -> Result<Writer, StoreError> {
        let (tx, rx) = mpsc::channel();
        let stats = Arc::new(WriterStats::default());
        let thread_stats = stats.clone();
        let hook: GroupHook = Arc::default();
        let thread_hook = hook.clone();
        let thread = std::thread::Builder::new()
            .name("lessor-store-writer".into())
            .spawn(move || run(backend, rx, &thread_stats, &thread_hook))
            .map_err(|e| StoreError::db("spawn writer thread", e))?;
        Ok(Writer {
            tx: Some(tx),
            thread: Some(thread),
            stats,
            hook,
        })
    }

    /// Queues `changes`; `done` runs once they are durable. An empty batch completes at the next
    /// commit (a durability barrier for everything queued before it).
    pub(crate) fn submit(&self, changes: Vec<Change>, done: Completion) {
        if let Some(tx) = &self.tx {
            // If the thread is gone the submission comes back and its completion, dropped,
            // reports WriterGone.
            let _ = tx.send(Submission { changes, done });
        }
    }

    pub(crate) fn stats(&self) -> &Arc<WriterStats> {
        &self.stats
    }

    pub(crate) fn set_hook(&self, hook: Box<dyn FnMut() + Send>) {
        *self.hook.lock().unwrap_or_else(|p| p.into_inner()) = Some(hook);
    }

    /// Finishes what is queued and stops the thread.
    pub(crate) fn shutdown(&mut self) {
        self.tx.take();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Drop for Writer {
    fn drop(&mut self) {
        self.shutdown();
    }
}

fn run(
    mut backend: Box<dyn Backend>,
    rx: Receiver<Submission>,
    stats: &WriterStats,
    hook: &GroupHook,
) {
    let mut changes = Vec::new();
    let mut waiters = Vec::new();
    while let Ok(first) = rx.recv() {
        changes.extend(first.changes);
        waiters.push(first.done);
        while changes.len() < MAX_GROUP {
            match rx.try_recv() {
                Ok(s) => {
                    changes.extend(s.changes);
                    waiters.push(s.done);
                }
                Err(_) => break,
            }
        }
        let result = if changes.is_empty() {
            Ok(())
        } else {
            stats.commits.fetch_add(1, Ordering::Relaxed);
            stats
                .changes
                .fetch_add(changes.len() as u64, Ordering::Relaxed);
            backend.apply(&changes)
        };
        if result.is_err() {
            stats.failures.fetch_add(1, Ordering::Relaxed);
        }
        changes.clear();
        COMPLETING_GROUP.with(|c| c.set(true));
        for w in waiters.drain(..) {
            w.complete(result.clone());
        }
        COMPLETING_GROUP.with(|c| c.set(false));
        if let Some(hook) = hook.lock().unwrap_or_else(|p| p.into_inner()).as_mut() {
            hook();
        }
    }
}
