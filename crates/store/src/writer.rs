//! The single writer thread and its group commit.
//!
//! Callers submit batches of changes, each with a [`Completion`]. The thread blocks for the first
//! submission, then drains everything else already queued (up to [`MAX_GROUP`] changes), writes it
//! all in one transaction, commits once, and then completes every waiter of the group with the
//! commit's outcome. With hundreds of clients in flight, one fsync serves them all, and each
//! DHCPACK can still wait for its own binding to be durable.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{self, Receiver, Sender};
use std::sync::Arc;
use std::thread::JoinHandle;

use crate::backend::Backend;
use crate::change::Change;
use crate::completion::Completion;
use crate::error::StoreError;

/// Most changes written in one transaction.
pub const MAX_GROUP: usize = 8192;

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
}

impl Writer {
    pub(crate) fn spawn(backend: Box<dyn Backend>) -> Result<Writer, StoreError> {
        let (tx, rx) = mpsc::channel();
        let stats = Arc::new(WriterStats::default());
        let thread_stats = stats.clone();
        let thread = std::thread::Builder::new()
            .name("lessor-store-writer".into())
            .spawn(move || run(backend, rx, &thread_stats))
            .map_err(|e| StoreError::db("spawn writer thread", e))?;
        Ok(Writer {
            tx: Some(tx),
            thread: Some(thread),
            stats,
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

fn run(mut backend: Box<dyn Backend>, rx: Receiver<Submission>, stats: &WriterStats) {
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
        for w in waiters.drain(..) {
            w.complete(result.clone());
        }
    }
}
