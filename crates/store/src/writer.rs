//! The single writer thread and its group commit.
//!
//! Callers submit batches of changes, each with a [`Completion`]. The thread blocks for the first
//! submission, then drains everything else already queued (up to [`MAX_GROUP`] changes), writes it
//! all in one transaction, commits once, and then completes every waiter of the group with the
//! commit's outcome. With hundreds of clients in flight, one fsync serves them all, and each
//! DHCPACK can still wait for its own binding to be durable.
//!
//! The thread also keeps the store's [`Health`]: the outcome of the last commit (or probe), how
//! many failed since the last success, and whether the thread itself is dead (a backend that
//! panicked: the panic is caught, reported, and the thread stops, since a backend that panicked
//! mid-transaction cannot be trusted with the next one). The queue is bounded: past
//! [`MAX_BACKLOG`] changes a submission is refused at once instead of growing memory while the
//! disk stalls.

use std::cell::Cell;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::mpsc::{self, Receiver, Sender};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

use crate::backend::{Applied, Backend, Group, Guard};
use crate::change::Change;
use crate::completion::Completion;
use crate::error::StoreError;

/// Most changes written in one transaction.
pub const MAX_GROUP: usize = 8192;

/// Most changes queued for the writer thread: a submission that finds this many queued is
/// refused ([`StoreError::Backlog`]) instead of queued (one batch may take the queue past it, so
/// a batch larger than the limit, e.g. an import, is still taken by an idle writer). Eight full groups: far above what a healthy disk
/// lets pile up (one group per fsync), low enough that a stalled disk cannot grow memory for long.
pub const MAX_BACKLOG: usize = 8 * MAX_GROUP;

/// What runs on the writer thread after the completions of each group commit.
/// What runs after each group's completions: every hook added, in the order added (one per
/// family's outbox when a server serves DHCPv4 and DHCPv6).
pub(crate) type GroupHook = Arc<Mutex<Vec<Box<dyn FnMut() + Send>>>>;

thread_local! {
    static COMPLETING_GROUP: Cell<bool> = const { Cell::new(false) };
}

/// Whether the caller runs inside the writer thread's completions of a group commit. The hook
/// set with [`crate::Store::after_each_group`] runs right after them: a completion that sees
/// `true` may leave work (e.g. a reply) for that hook to do for the whole group at once.
pub fn completing_group() -> bool {
    COMPLETING_GROUP.with(Cell::get)
}

/// What the writer thread is asked to do.
enum Work {
    /// Changes of the lease set, one batch (group committed with others), with one guard per
    /// change.
    Changes(Vec<Change>, Vec<Guard>),
    /// One value of the backend's meta table, in its own transaction ([`Backend::set_meta`]).
    Meta { key: String, value: String },
}

struct Submission {
    work: Work,
    done: Completion,
}

/// Whether the store can make changes durable.
#[derive(Debug, Clone)]
pub enum Health {
    /// The last commit (or probe) succeeded, or none has been tried yet.
    Healthy,
    /// The last commit (or probe) failed; nothing is durable until one succeeds again.
    Failing {
        /// The last error.
        error: StoreError,
        /// Commits and probes that failed since the last success.
        failures: u64,
    },
    /// The writer thread is gone: nothing will ever be durable again in this process.
    WriterDead {
        /// Why (a backend's panic message).
        message: String,
    },
}

impl Health {
    /// Whether the store commits.
    pub fn is_healthy(&self) -> bool {
        matches!(self, Health::Healthy)
    }
}

/// Upper bounds (seconds) of the commit latency buckets ([`WriterStats::latency`]): from a
/// group commit on a fast SSD (~100 µs) to a disk that stalls.
pub const LATENCY_BOUNDS: [f64; 14] = [
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
];

/// Counters of the writer thread.
#[derive(Debug, Default)]
pub struct WriterStats {
    commits: AtomicU64,
    changes: AtomicU64,
    failures: AtomicU64,
    refused: AtomicU64,
    taken: AtomicU64,
    /// Commits by latency: index i counts those within `LATENCY_BOUNDS[i]` and above the bound
    /// before (the last slot: above every bound).
    latency: [AtomicU64; LATENCY_BOUNDS.len() + 1],
    /// Microseconds all commits took.
    latency_us: AtomicU64,
}

/// The commit latencies of [`WriterStats::latency`], as a histogram.
#[derive(Debug, Clone, PartialEq)]
pub struct Latency {
    /// (upper bound in seconds, commits that took at most that long), cumulative, the last
    /// bound infinite.
    pub buckets: Vec<(f64, u64)>,
    /// Seconds all commits took.
    pub sum: f64,
    /// Commits timed.
    pub count: u64,
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

    /// Transactions that failed (probes included).
    pub fn failures(&self) -> u64 {
        self.failures.load(Ordering::Relaxed)
    }

    /// Submissions refused because [`MAX_BACKLOG`] changes were already queued.
    pub fn refused(&self) -> u64 {
        self.refused.load(Ordering::Relaxed)
    }

    /// Batches a backend shared with other servers refused because another server changed one
    /// of their keys first ([`StoreError::Taken`]).
    pub fn taken(&self) -> u64 {
        self.taken.load(Ordering::Relaxed)
    }

    /// How long the backend took to apply each group commit (failed ones included), read
    /// while the writer runs (each bucket on its own: a commit timed during the read may show
    /// in `count` and not yet in a bucket).
    pub fn latency(&self) -> Latency {
        let mut seen = 0;
        let mut buckets = Vec::with_capacity(self.latency.len());
        for (i, slot) in self.latency.iter().enumerate() {
            seen += slot.load(Ordering::Relaxed);
            buckets.push((
                LATENCY_BOUNDS.get(i).copied().unwrap_or(f64::INFINITY),
                seen,
            ));
        }
        Latency {
            buckets,
            sum: self.latency_us.load(Ordering::Relaxed) as f64 / 1e6,
            count: seen,
        }
    }

    fn time(&self, took: std::time::Duration) {
        let seconds = took.as_secs_f64();
        let i = LATENCY_BOUNDS
            .iter()
            .position(|&b| seconds <= b)
            .unwrap_or(LATENCY_BOUNDS.len());
        self.latency[i].fetch_add(1, Ordering::Relaxed);
        let us = u64::try_from(took.as_micros()).unwrap_or(u64::MAX);
        self.latency_us.fetch_add(us, Ordering::Relaxed);
    }
}

/// What the writer thread and the store's users share: health and backlog.
#[derive(Debug)]
struct Shared {
    health: Mutex<Health>,
    /// Changes submitted and not yet completed.
    backlog: AtomicUsize,
}

impl Shared {
    fn set_health(&self, h: Health) {
        *self.health.lock().unwrap_or_else(|p| p.into_inner()) = h;
    }

    /// Records the outcome of a commit or probe.
    fn record(&self, result: &Result<(), StoreError>) {
        let mut health = self.health.lock().unwrap_or_else(|p| p.into_inner());
        *health = match (result, &*health) {
            (_, Health::WriterDead { .. }) => return,
            (Ok(()), _) => Health::Healthy,
            (Err(e), Health::Failing { failures, .. }) => Health::Failing {
                error: e.clone(),
                failures: failures + 1,
            },
            (Err(e), Health::Healthy) => Health::Failing {
                error: e.clone(),
                failures: 1,
            },
        };
    }
}

/// A submission the writer did not take: its completion, to be completed by the caller with
/// the error once it holds no lock the completion may need.
pub(crate) struct Refused {
    pub(crate) done: Completion,
    pub(crate) error: StoreError,
}

impl Refused {
    /// Completes the refused submission with its error.
    pub(crate) fn complete(self) {
        self.done.complete(Err(self.error));
    }
}

/// Handle to the writer thread. Dropping it lets the thread finish what is queued and joins it.
pub(crate) struct Writer {
    tx: Option<Sender<Submission>>,
    thread: Option<JoinHandle<()>>,
    stats: Arc<WriterStats>,
    shared: Arc<Shared>,
    hook: GroupHook,
}

impl Writer {
    pub(crate) fn spawn(backend: Box<dyn Backend>) -> Result<Writer, StoreError> {
        let (tx, rx) = mpsc::channel();
        let stats = Arc::new(WriterStats::default());
        let shared = Arc::new(Shared {
            health: Mutex::new(Health::Healthy),
            backlog: AtomicUsize::new(0),
        });
        let thread_stats = stats.clone();
        let thread_shared = shared.clone();
        let hook: GroupHook = Arc::default();
        let thread_hook = hook.clone();
        let thread = std::thread::Builder::new()
            .name("lessor-store-writer".into())
            .spawn(move || run(backend, rx, &thread_stats, &thread_shared, &thread_hook))
            .map_err(|e| StoreError::db("spawn writer thread", e))?;
        Ok(Writer {
            tx: Some(tx),
            thread: Some(thread),
            stats,
            shared,
            hook,
        })
    }

    /// Queues `changes`; `done` runs once they are durable. An empty batch completes at the next
    /// commit (a durability barrier for everything queued before it).
    ///
    /// A submission that finds [`MAX_BACKLOG`] changes queued, or that finds the thread
    /// gone, is handed back: the caller completes it once it has released its locks (a
    /// completion may take them).
    pub(crate) fn submit(
        &self,
        changes: Vec<Change>,
        guards: Vec<Guard>,
        done: Completion,
    ) -> Result<(), Refused> {
        debug_assert_eq!(changes.len(), guards.len());
        let n = changes.len();
        if n > 0 && self.shared.backlog.load(Ordering::Relaxed) >= MAX_BACKLOG {
            self.stats.refused.fetch_add(1, Ordering::Relaxed);
            return Err(Refused {
                done,
                error: StoreError::Backlog {
                    queued: self.backlog(),
                },
            });
        }
        self.send(Work::Changes(changes, guards), done)
    }

    /// Queues a write of one meta value (its own transaction).
    pub(crate) fn set_meta(&self, key: &str, value: &str, done: Completion) -> Result<(), Refused> {
        let work = Work::Meta {
            key: key.to_string(),
            value: value.to_string(),
        };
        self.send(work, done)
    }

    fn send(&self, work: Work, done: Completion) -> Result<(), Refused> {
        let n = match &work {
            Work::Changes(c, _) => c.len(),
            Work::Meta { .. } => 1,
        };
        let Some(tx) = &self.tx else {
            return Err(Refused {
                done,
                error: StoreError::WriterGone,
            });
        };
        self.shared.backlog.fetch_add(n, Ordering::Relaxed);
        match tx.send(Submission { work, done }) {
            Ok(()) => Ok(()),
            Err(mpsc::SendError(s)) => {
                self.shared.backlog.fetch_sub(n, Ordering::Relaxed);
                Err(Refused {
                    done: s.done,
                    error: StoreError::WriterGone,
                })
            }
        }
    }

    /// Changes (and meta writes) queued and not yet completed.
    pub(crate) fn backlog(&self) -> usize {
        self.shared.backlog.load(Ordering::Relaxed)
    }

    /// The outcome of the last commit, or that the thread is dead.
    pub(crate) fn health(&self) -> Health {
        let health = self
            .shared
            .health
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone();
        if matches!(health, Health::WriterDead { .. }) {
            return health;
        }
        // Open (the sender is kept) but the thread ended: something panicked outside the
        // backend (a completion or the group hook).
        if self.tx.is_some() && self.thread.as_ref().is_some_and(|t| t.is_finished()) {
            return Health::WriterDead {
                message: "the writer thread ended unexpectedly".into(),
            };
        }
        health
    }

    pub(crate) fn stats(&self) -> &Arc<WriterStats> {
        &self.stats
    }

    pub(crate) fn add_hook(&self, hook: Box<dyn FnMut() + Send>) {
        self.hook
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(hook);
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

/// The text of a caught panic.
fn panic_message(p: &(dyn std::any::Any + Send)) -> String {
    if let Some(s) = p.downcast_ref::<&str>() {
        (*s).to_string()
    } else if let Some(s) = p.downcast_ref::<String>() {
        s.clone()
    } else {
        "a panic without a message".to_string()
    }
}

/// Runs `f` on the backend; a panic becomes `Err(message)`.
fn guarded<T>(f: impl FnOnce() -> Result<T, StoreError>) -> Result<Result<T, StoreError>, String> {
    catch_unwind(AssertUnwindSafe(f)).map_err(|p| panic_message(&*p))
}

/// Completes every waiter of a group with its outcome: `result`, except the batches in
/// `taken` (ascending), refused by a shared backend, which get [`StoreError::Taken`].
fn complete_all(waiters: &mut Vec<Completion>, result: &Result<(), StoreError>, taken: &[usize]) {
    COMPLETING_GROUP.with(|c| c.set(true));
    let mut taken = taken.iter().peekable();
    for (i, w) in waiters.drain(..).enumerate() {
        while taken.next_if(|&&t| t < i).is_some() {}
        if result.is_ok() && taken.next_if(|&&t| t == i).is_some() {
            w.complete(Err(StoreError::Taken));
        } else {
            w.complete(result.clone());
        }
    }
    COMPLETING_GROUP.with(|c| c.set(false));
}

fn run(
    mut backend: Box<dyn Backend>,
    rx: Receiver<Submission>,
    stats: &WriterStats,
    shared: &Shared,
    hook: &GroupHook,
) {
    let mut changes = Vec::new();
    let mut guards = Vec::new();
    // Where each submission's batch ends in `changes` (one per waiter of a group).
    let mut ends = Vec::new();
    let mut waiters = Vec::new();
    // The batches (waiter indexes) the backend refused in the last group.
    let mut taken: Vec<usize> = Vec::new();
    // A meta write met while draining a group: done right after that group.
    let mut next: Option<Submission> = None;
    loop {
        let first = match next.take() {
            Some(s) => s,
            None => match rx.recv() {
                Ok(s) => s,
                Err(_) => break,
            },
        };
        let (outcome, queued) = match first.work {
            Work::Meta { key, value } => {
                waiters.push(first.done);
                let outcome = guarded(|| backend.set_meta(&key, &value));
                (outcome, 1)
            }
            Work::Changes(c, g) => {
                changes.extend(c);
                guards.extend(g);
                ends.push(changes.len());
                waiters.push(first.done);
                while changes.len() < MAX_GROUP {
                    match rx.try_recv() {
                        Ok(Submission {
                            work: Work::Changes(c, g),
                            done,
                        }) => {
                            changes.extend(c);
                            guards.extend(g);
                            ends.push(changes.len());
                            waiters.push(done);
                        }
                        Ok(meta) => {
                            next = Some(meta);
                            break;
                        }
                        Err(_) => break,
                    }
                }
                let queued = changes.len();
                let outcome = if changes.is_empty() {
                    Ok(Ok(()))
                } else {
                    stats.commits.fetch_add(1, Ordering::Relaxed);
                    stats
                        .changes
                        .fetch_add(changes.len() as u64, Ordering::Relaxed);
                    let began = std::time::Instant::now();
                    let group = Group {
                        changes: &changes,
                        guards: &guards,
                        ends: &ends,
                    };
                    let outcome = guarded(|| backend.apply_group(&group));
                    stats.time(began.elapsed());
                    outcome.map(|r| {
                        r.map(|Applied { refused }| {
                            // Waiter i submitted batch i.
                            for &i in &refused {
                                if i < ends.len() {
                                    stats.taken.fetch_add(1, Ordering::Relaxed);
                                }
                            }
                            taken = refused;
                        })
                    })
                };
                changes.clear();
                guards.clear();
                ends.clear();
                (outcome, queued)
            }
        };
        let result = match outcome {
            Ok(result) => result,
            Err(panic) => {
                // A backend that panicked mid-transaction is not trusted with another: the
                // thread stops; what is queued is told the writer is gone (dropped below).
                stats.failures.fetch_add(1, Ordering::Relaxed);
                shared.set_health(Health::WriterDead {
                    message: format!("the store's backend panicked: {panic}"),
                });
                shared.backlog.fetch_sub(queued, Ordering::Relaxed);
                complete_all(&mut waiters, &Err(StoreError::WriterGone), &[]);
                break;
            }
        };
        if result.is_err() {
            stats.failures.fetch_add(1, Ordering::Relaxed);
        }
        if queued > 0 {
            shared.record(&result);
        }
        // Out of the queue before the waiters hear of it.
        shared.backlog.fetch_sub(queued, Ordering::Relaxed);
        complete_all(&mut waiters, &result, &taken);
        taken.clear();
        for hook in hook.lock().unwrap_or_else(|p| p.into_inner()).iter_mut() {
            hook();
        }
    }
    // Whatever is still queued (after a panic) is dropped here: each completion reports
    // WriterGone.
    if next.take().is_some() {
        shared.backlog.fetch_sub(1, Ordering::Relaxed);
    }
    while let Ok(s) = rx.try_recv() {
        if let Work::Changes(c, _) = &s.work {
            shared.backlog.fetch_sub(c.len(), Ordering::Relaxed);
        } else {
            shared.backlog.fetch_sub(1, Ordering::Relaxed);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn commit_latency_is_bucketed_cumulatively() {
        let stats = WriterStats::default();
        assert_eq!(stats.latency().count, 0);
        stats.time(Duration::from_micros(80));
        stats.time(Duration::from_micros(100));
        stats.time(Duration::from_millis(3));
        stats.time(Duration::from_secs(4));
        let l = stats.latency();
        assert_eq!(l.count, 4);
        assert!((l.sum - 4.003_18).abs() < 1e-9, "{}", l.sum);
        assert_eq!(l.buckets.len(), LATENCY_BOUNDS.len() + 1);
        assert_eq!(l.buckets[0], (0.0001, 2));
        assert_eq!(l.buckets[4], (0.0025, 2));
        assert_eq!(l.buckets[5], (0.005, 3));
        assert_eq!(l.buckets[13], (2.5, 3));
        assert_eq!(l.buckets[14], (f64::INFINITY, 4));
    }

    #[test]
    fn a_store_times_its_commits() {
        let store = crate::Store::in_memory();
        let binding = crate::Binding4::new(
            "192.0.2.10".parse().unwrap(),
            "192.0.2.0/24".parse().unwrap(),
            crate::HwAddr::ethernet([2, 0, 0, 0, 0, 1]),
            crate::State4::Active,
        );
        store.v4().upsert(binding, Completion::none());
        store.sync().wait().unwrap();
        let stats = store.writer_stats();
        assert_eq!(stats.latency().count, stats.commits());
        assert!(stats.commits() >= 1);
    }
}
