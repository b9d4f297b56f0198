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
    store.v4().upsert(active(1, 1, NOW), done);
    let err = ticket.wait().unwrap_err();
    assert!(err.to_string().contains("disk full"), "{err}");
    assert_eq!(store.writer_stats().failures(), 1);
    // Memory is ahead of the disk; the server must not have ACKed.
    assert!(store.v4().get(addr(1)).is_some());

    // A callback completion, as an async I/O layer would pass (here: a channel).
    fail.store(false, Ordering::SeqCst);
    let (otx, orx) = mpsc::channel();
    store.v4().upsert(
        active(2, 2, NOW),
        Completion::callback(move |r| {
            let _ = otx.send(r.is_ok());
        }),
    );
    assert!(orx.recv().unwrap());
    assert_eq!(written.recv().unwrap(), 1);
    store.close().unwrap();
}

#[test]
fn the_group_hook_runs_after_the_completions_of_each_commit() {
    let (tx, _written) = mpsc::channel();
    let (store, _) = Store::open(Box::new(Flaky {
        fail: Arc::new(AtomicBool::new(false)),
        written: tx,
    }))
    .unwrap();
    // (event, seen from inside the group's completions?)
    let (etx, events) = mpsc::channel::<(&'static str, bool)>();
    let hook_tx = etx.clone();
    store.after_each_group(move || {
        let _ = hook_tx.send(("hook", lessor_store::completing_group()));
    });
    assert!(
        !lessor_store::completing_group(),
        "not on the writer thread"
    );
    for n in 1..=3 {
        let etx = etx.clone();
        store.v4().upsert(
            active(n, n, NOW),
            Completion::callback(move |r| {
                assert!(r.is_ok());
                let _ = etx.send(("completion", lessor_store::completing_group()));
            }),
        );
    }
    store.sync().wait().unwrap();
    drop(etx);
    drop(store);
    let got: Vec<(&str, bool)> = events.iter().collect();
    assert_eq!(
        got.iter().filter(|e| **e == ("completion", true)).count(),
        3,
        "completions run inside the group: {got:?}"
    );
    assert!(
        got.iter().all(|e| *e != ("hook", true)),
        "the hook runs after: {got:?}"
    );
    assert_eq!(
        got.last(),
        Some(&("hook", false)),
        "a hook follows the last completion"
    );
    // Every completion is followed by a hook before the next group's completions.
    let mut open = false;
    for (event, _) in &got {
        match *event {
            "completion" => open = true,
            _ => open = false,
        }
    }
    assert!(!open);
}
