//! Telling a caller that its change is durable.
//!
//! A [`Completion`] is a boxed `FnOnce(Result<(), StoreError>) + Send`, run on the writer thread
//! right after the commit that made the change durable (or failed). It fits any I/O layer:
//! - a thread-based server blocks on a [`Ticket`] ([`Completion::ticket`]);
//! - an async (tokio) server passes a closure that sends on its runtime's oneshot channel, so this
//!   crate needs no async runtime;
//! - fire-and-forget callers use [`Completion::none`].
//!
//! The callback runs on the writer thread: it must be quick and must not block.

use std::fmt;
use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;

use crate::error::StoreError;

/// What to do once a submitted change is durable (or has failed to be).
pub struct Completion(Option<Callback>);

type Callback = Box<dyn FnOnce(Result<(), StoreError>) + Send + 'static>;

impl Completion {
    /// Run `f` with the outcome (on the writer thread; keep it short).
    pub fn callback(f: impl FnOnce(Result<(), StoreError>) + Send + 'static) -> Self {
        Completion(Some(Box::new(f)))
    }

    /// Nobody waits.
    pub fn none() -> Self {
        Completion(None)
    }

    /// A completion and the ticket it completes.
    pub fn ticket() -> (Completion, Ticket) {
        let inner = Arc::new(TicketInner {
            result: Mutex::new(None),
            cond: Condvar::new(),
        });
        let done = inner.clone();
        let completion = Completion::callback(move |r| {
            *done.result.lock().unwrap_or_else(|e| e.into_inner()) = Some(r);
            done.cond.notify_all();
        });
        (completion, Ticket { inner })
    }

    /// A completion and a [`Deferred`] that runs whatever is attached to it once the outcome is
    /// known. An engine that writes hands the completion to the store and the deferred to its
    /// caller, which decides what to do when the change is durable (send a DHCPACK).
    pub fn deferred() -> (Completion, Deferred) {
        let state = Arc::new(Mutex::new(DeferredState::Waiting(None)));
        let completed = Arc::clone(&state);
        let completion = Completion::callback(move |result| {
            let attached = {
                let mut state = completed.lock().unwrap_or_else(|e| e.into_inner());
                match std::mem::replace(&mut *state, DeferredState::Taken) {
                    DeferredState::Waiting(Some(f)) => Some((f, result)),
                    DeferredState::Waiting(None) => {
                        *state = DeferredState::Done(result);
                        None
                    }
                    // Completed twice cannot happen (a completion is consumed); keep the first.
                    other => {
                        *state = other;
                        None
                    }
                }
            };
            // Run outside the lock.
            if let Some((f, result)) = attached {
                f(result);
            }
        });
        (completion, Deferred { state })
    }

    /// Reports the outcome.
    pub fn complete(mut self, result: Result<(), StoreError>) {
        if let Some(f) = self.0.take() {
            f(result)
        }
    }
}

impl Drop for Completion {
    fn drop(&mut self) {
        // A completion dropped without an outcome (writer gone) still wakes its waiter.
        if let Some(f) = self.0.take() {
            f(Err(StoreError::WriterGone))
        }
    }
}

impl fmt::Debug for Completion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Completion")
    }
}

enum DeferredState {
    /// No outcome yet; what to run once it comes, if attached.
    Waiting(Option<Callback>),
    /// The outcome came before anything was attached.
    Done(Result<(), StoreError>),
    /// Handed over.
    Taken,
}

/// The other end of [`Completion::deferred`]: what to do once the change is durable.
pub struct Deferred {
    state: Arc<Mutex<DeferredState>>,
}

impl Deferred {
    /// Runs `f` with the outcome: on the store's writer thread when the outcome comes later
    /// (keep it short, as any completion), or at once on the caller's thread when it is already
    /// known.
    pub fn on_durable(self, f: impl FnOnce(Result<(), StoreError>) + Send + 'static) {
        let done = {
            let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
            match std::mem::replace(&mut *state, DeferredState::Taken) {
                DeferredState::Done(result) => Some(result),
                DeferredState::Waiting(_) => {
                    *state = DeferredState::Waiting(Some(Box::new(f)));
                    return;
                }
                DeferredState::Taken => Some(Err(StoreError::WriterGone)),
            }
        };
        if let Some(result) = done {
            f(result);
        }
    }

    /// The outcome if already known (does not block; `None` also once it was handed over).
    pub fn try_result(&self) -> Option<Result<(), StoreError>> {
        match &*self.state.lock().unwrap_or_else(|e| e.into_inner()) {
            DeferredState::Done(result) => Some(result.clone()),
            _ => None,
        }
    }
}

impl fmt::Debug for Deferred {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Deferred")
    }
}

struct TicketInner {
    result: Mutex<Option<Result<(), StoreError>>>,
    cond: Condvar,
}

/// A handle to wait (blocking) until a change is durable.
pub struct Ticket {
    inner: Arc<TicketInner>,
}

impl Ticket {
    /// Blocks until the outcome is known.
    pub fn wait(self) -> Result<(), StoreError> {
        let mut guard = self.inner.result.lock().unwrap_or_else(|e| e.into_inner());
        loop {
            if let Some(r) = guard.take() {
                return r;
            }
            guard = self
                .inner
                .cond
                .wait(guard)
                .unwrap_or_else(|e| e.into_inner());
        }
    }

    /// Blocks at most `timeout`; `None` if the outcome is still unknown.
    pub fn wait_timeout(&self, timeout: Duration) -> Option<Result<(), StoreError>> {
        let guard = self.inner.result.lock().unwrap_or_else(|e| e.into_inner());
        let (mut guard, _) = self
            .inner
            .cond
            .wait_timeout_while(guard, timeout, |r| r.is_none())
            .unwrap_or_else(|e| e.into_inner());
        guard.take()
    }

    /// The outcome if already known (does not block).
    pub fn try_result(&self) -> Option<Result<(), StoreError>> {
        self.inner
            .result
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .take()
    }
}

impl fmt::Debug for Ticket {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Ticket")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ticket_completes_across_threads() {
        let (c, t) = Completion::ticket();
        std::thread::spawn(move || c.complete(Ok(())));
        assert!(t.wait().is_ok());
    }

    #[test]
    fn deferred_runs_what_is_attached_whether_the_outcome_comes_before_or_after() {
        use std::sync::mpsc;
        // Attached first, completed later (on another thread).
        let (c, d) = Completion::deferred();
        let (tx, rx) = mpsc::channel();
        d.on_durable(move |r| tx.send(r.is_ok()).unwrap());
        assert!(rx.try_recv().is_err(), "nothing before the outcome");
        std::thread::spawn(move || c.complete(Ok(())))
            .join()
            .unwrap();
        assert_eq!(rx.recv_timeout(Duration::from_secs(5)), Ok(true));

        // Completed first: what is attached runs at once, on this thread.
        let (c, d) = Completion::deferred();
        c.complete(Err(StoreError::WriterGone));
        assert!(matches!(d.try_result(), Some(Err(StoreError::WriterGone))));
        let here = std::thread::current().id();
        let (tx, rx) = mpsc::channel();
        d.on_durable(move |r| tx.send((r.is_err(), std::thread::current().id())).unwrap());
        assert_eq!(rx.try_recv(), Ok((true, here)));

        // A completion dropped without an outcome (writer gone) reports it.
        let (c, d) = Completion::deferred();
        drop(c);
        let (tx, rx) = mpsc::channel();
        d.on_durable(move |r| tx.send(matches!(r, Err(StoreError::WriterGone))).unwrap());
        assert_eq!(rx.try_recv(), Ok(true));
    }

    #[test]
    fn dropped_completion_reports_writer_gone() {
        let (c, t) = Completion::ticket();
        assert!(t.try_result().is_none());
        drop(c);
        assert!(matches!(
            t.wait_timeout(Duration::from_secs(5)),
            Some(Err(StoreError::WriterGone))
        ));
    }
}
