//! The writer thread with a backend that fails, and callback completions.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::sync::Arc;

mod common;

use common::*;
use lessor_store::{Backend, Change, Completion, Loaded, Store, StoreError};

/// Fails every commit while `fail` is set.
struct Flaky {
    fail: Arc<AtomicBool>,
    written: mpsc::Sender<usize>,
}

impl Backend for Flaky {
    fn load(&mut self) -> Result<Loaded, StoreError> {
        Ok(Loaded::default())
    }

    fn apply(&mut self, changes: &[Change]) -> Result<(), StoreError> {
        if self.fail.load(Ordering::SeqCst) {
            return Err(StoreError::db("commit", std::io::Error::other("disk full")));
        }
        let _ = self.written.send(changes.len());
        Ok(())
    }
}

#[test]
fn failed_commit_reaches_every_waiter_and_callbacks_work() {
    let fail = Arc::new(AtomicBool::new(true));
    let (tx, written) = mpsc::channel();
    let (store, _) = Store::open(Box::new(Flaky {
        fail: fail.clone(),
        written: tx,
    }))
    .unwrap();

    let (done, ticket) = Completion::ticket();
    store.upsert4(active(1, 1, NOW), done);
    let err = ticket.wait().unwrap_err();
    assert!(err.to_string().contains("disk full"), "{err}");
    assert_eq!(store.writer_stats().failures(), 1);
    // Memory is ahead of the disk; the server must not have ACKed.
    assert!(store.get4(addr(1)).is_some());

    // A callback completion, as an async I/O layer would pass (here: a channel).
    fail.store(false, Ordering::SeqCst);
    let (otx, orx) = mpsc::channel();
    store.upsert4(
        active(2, 2, NOW),
        Completion::callback(move |r| {
            let _ = otx.send(r.is_ok());
        }),
    );
    assert!(orx.recv().unwrap());
    assert_eq!(written.recv().unwrap(), 1);
    store.close().unwrap();
}
