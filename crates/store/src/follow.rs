//! Following the other servers that share the lease set (a backend's [`Follower`]).
//!
//! When a backend is shared ([`crate::Backend::follower`] gives a feed), the store runs one
//! thread, "lessor-store-follow", that waits on the feed and takes each change another server
//! committed into memory, so that the DHCP engines allocate around it and leasequery answers
//! with it from memory (docs/architecture.md, "Several servers"). Each call's changes are
//! absorbed per family under one lock acquisition. The rules (which version wins while a
//! change of ours is in flight, echoes, older versions) are `Tables::absorb` in `family.rs`,
//! after docs/protocol.md decision 43.
//!
//! A feed that fails (the database is unreachable) is reported in [`FollowerStats`] and
//! asked again after a pause; it resumes where it was. Closing the store stops the thread
//! within one wait of the feed.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::{self, RecvTimeoutError, Sender, TryRecvError};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use crate::backend::{Follower, Remote};
use crate::error::StoreError;
use crate::family::{absorb_all, Tables};
use crate::record::Record;
use crate::{Binding4, Binding6};

/// How long one call to the feed waits for changes: also how long closing the store may wait
/// for the thread.
pub const FOLLOW_WAIT: Duration = Duration::from_millis(500);

/// The pause after a failed call to the feed, before the next.
pub const FOLLOW_RETRY: Duration = Duration::from_secs(1);

/// Counters of the follower thread ([`crate::Store::follower_stats`]).
#[derive(Debug)]
pub struct FollowerStats {
    applied: AtomicU64,
    polls: AtomicU64,
    failures: AtomicU64,
    healthy: AtomicBool,
    last_error: Mutex<Option<String>>,
}

impl Default for FollowerStats {
    fn default() -> Self {
        FollowerStats {
            applied: AtomicU64::new(0),
            polls: AtomicU64::new(0),
            failures: AtomicU64::new(0),
            healthy: AtomicBool::new(true),
            last_error: Mutex::new(None),
        }
    }
}

impl FollowerStats {
    /// Remote changes that changed memory (echoes and older versions are not counted).
    pub fn applied(&self) -> u64 {
        self.applied.load(Ordering::Relaxed)
    }

    /// Calls to the feed that answered (with changes or none).
    pub fn polls(&self) -> u64 {
        self.polls.load(Ordering::Relaxed)
    }

    /// Calls to the feed that failed.
    pub fn failures(&self) -> u64 {
        self.failures.load(Ordering::Relaxed)
    }

    /// Whether the last call to the feed answered (true before the first).
    pub fn healthy(&self) -> bool {
        self.healthy.load(Ordering::Relaxed)
    }

    /// The error of the last failed call, kept after the feed recovers.
    pub fn last_error(&self) -> Option<String> {
        self.last_error
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    fn failed(&self, error: String) {
        self.failures.fetch_add(1, Ordering::Relaxed);
        self.healthy.store(false, Ordering::Relaxed);
        *self.last_error.lock().unwrap_or_else(|p| p.into_inner()) = Some(error);
    }
}

/// What the follower thread changes: both families and the store's transaction counter.
pub(crate) struct Targets {
    pub(crate) v4: Arc<Mutex<Tables<Binding4>>>,
    pub(crate) v6: Arc<Mutex<Tables<Binding6>>>,
    pub(crate) sequence: Arc<AtomicU64>,
}

impl Targets {
    /// Takes `remotes` (in commit order) into memory; returns how many changed it.
    pub(crate) fn absorb(&self, remotes: Vec<Remote>) -> u64 {
        let mut v4 = Vec::new();
        let mut v6 = Vec::new();
        for remote in remotes {
            match remote {
                Remote::V4(b) => {
                    let seq = b.sequence;
                    v4.push((u32::from(b.address), Some(Arc::new(b)), seq));
                }
                Remote::V4Gone { address, sequence } => {
                    v4.push((u32::from(address), None, sequence));
                }
                Remote::V6(b) => {
                    let seq = b.sequence;
                    v6.push((b.key(), Some(Arc::new(b)), seq));
                }
                Remote::V6Gone { key, sequence } => v6.push((key, None, sequence)),
            }
        }
        // Later local writes are numbered above whatever another server wrote.
        let highest = v4.iter().map(|c| c.2).chain(v6.iter().map(|c| c.2)).max();
        if let Some(h) = highest {
            self.sequence
                .fetch_max(h.saturating_add(1), Ordering::Relaxed);
        }
        let mut applied = 0;
        if !v4.is_empty() {
            applied += absorb_all(&self.v4, v4);
        }
        if !v6.is_empty() {
            applied += absorb_all(&self.v6, v6);
        }
        applied
    }
}

/// The follower thread's handle: stopping it (or dropping the handle) ends and joins it.
pub(crate) struct Following {
    stop: Option<Sender<()>>,
    thread: Option<JoinHandle<()>>,
    stats: Arc<FollowerStats>,
}

impl Following {
    pub(crate) fn spawn(
        follower: Box<dyn Follower>,
        targets: Targets,
    ) -> Result<Following, StoreError> {
        let (stop, stopped) = mpsc::channel::<()>();
        let stats = Arc::new(FollowerStats::default());
        let thread_stats = stats.clone();
        let thread = std::thread::Builder::new()
            .name("lessor-store-follow".into())
            .spawn(move || {
                let mut follower = follower;
                loop {
                    if !matches!(stopped.try_recv(), Err(TryRecvError::Empty)) {
                        break;
                    }
                    let next = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                        follower.next(FOLLOW_WAIT)
                    }));
                    match next {
                        Ok(Ok(remotes)) => {
                            thread_stats.polls.fetch_add(1, Ordering::Relaxed);
                            thread_stats.healthy.store(true, Ordering::Relaxed);
                            let n = targets.absorb(remotes);
                            thread_stats.applied.fetch_add(n, Ordering::Relaxed);
                        }
                        Ok(Err(e)) => {
                            thread_stats.failed(e.to_string());
                            match stopped.recv_timeout(FOLLOW_RETRY) {
                                Err(RecvTimeoutError::Timeout) => {}
                                _ => break,
                            }
                        }
                        Err(_) => {
                            // A feed that panicked mid-read cannot be trusted to resume.
                            thread_stats.failed("the store's follower panicked".into());
                            break;
                        }
                    }
                }
            })
            .map_err(|e| StoreError::db("spawn follower thread", e))?;
        Ok(Following {
            stop: Some(stop),
            thread: Some(thread),
            stats,
        })
    }

    pub(crate) fn stats(&self) -> &Arc<FollowerStats> {
        &self.stats
    }

    /// Stops the thread (within one wait of the feed) and joins it.
    pub(crate) fn stop(&mut self) {
        self.stop.take();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Drop for Following {
    fn drop(&mut self) {
        self.stop();
    }
}
