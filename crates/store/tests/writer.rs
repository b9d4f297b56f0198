//! The writer thread with a backend that fails, and callback completions.

use std::sync::atomic::{AtomicBool, AtomicU8, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::Duration;

mod common;

use common::*;
use lessor_store::{
    Backend, Batch4, Change, Completion, Health, Index4, Loaded, State4, Store, StoreError,
    MAX_BACKLOG,
};

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
    // The server must not have ACKed, and memory went back to what the disk has (nothing).
    assert!(store.v4().get(addr(1)).is_none());

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

/// What [`Injected`] does with the next commit.
const OK: u8 = 0;
const FAIL: u8 = 1;
const PANIC: u8 = 2;

/// A backend whose commits succeed, fail with an I/O error or panic on demand, and that can be
/// held inside a commit (the changes are then in flight).
struct Injected {
    mode: Arc<AtomicU8>,
    /// While held, each commit waits for one message here.
    gate: Arc<Mutex<Option<mpsc::Receiver<()>>>>,
}

impl Injected {
    fn outcome(&self) -> Result<(), StoreError> {
        if let Some(rx) = &*self.gate.lock().unwrap() {
            let _ = rx.recv_timeout(Duration::from_secs(10));
        }
        match self.mode.load(Ordering::SeqCst) {
            FAIL => Err(StoreError::db(
                "commit",
                std::io::Error::other("No space left on device"),
            )),
            PANIC => panic!("injected backend panic"),
            _ => Ok(()),
        }
    }
}

impl Backend for Injected {
    fn load(&mut self) -> Result<Loaded, StoreError> {
        Ok(Loaded::default())
    }
    fn apply(&mut self, _: &[Change]) -> Result<(), StoreError> {
        self.outcome()
    }
    fn set_meta(&mut self, _: &str, _: &str) -> Result<(), StoreError> {
        self.outcome()
    }
}

struct Rig {
    store: Store,
    mode: Arc<AtomicU8>,
    gate: Arc<Mutex<Option<mpsc::Receiver<()>>>>,
}

impl Rig {
    fn new() -> Rig {
        let mode = Arc::new(AtomicU8::new(OK));
        let gate = Arc::new(Mutex::new(None));
        let (store, _) = Store::open(Box::new(Injected {
            mode: mode.clone(),
            gate: gate.clone(),
        }))
        .unwrap();
        Rig { store, mode, gate }
    }

    /// Holds the next commits until a message is sent on the returned channel.
    fn hold(&self) -> mpsc::Sender<()> {
        let (tx, rx) = mpsc::channel();
        *self.gate.lock().unwrap() = Some(rx);
        tx
    }

    fn write(&self, f: impl FnOnce(&mut Batch4<'_>)) -> lessor_store::Ticket {
        let (done, ticket) = Completion::ticket();
        self.store.v4().write(done, f);
        ticket
    }

    fn upsert(&self, b: lessor_store::Binding4) -> Result<(), StoreError> {
        self.write(|batch| {
            batch.upsert(b);
        })
        .wait()
    }
}

fn wait_for(what: &str, mut f: impl FnMut() -> bool) {
    for _ in 0..500 {
        if f() {
            return;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    panic!("timed out waiting for {what}");
}

#[test]
fn health_follows_commits_and_a_probe_tells_when_the_disk_is_back() {
    let rig = Rig::new();
    assert!(rig.store.health().is_healthy());
    rig.mode.store(FAIL, Ordering::SeqCst);
    assert!(rig.upsert(active(1, 1, NOW)).is_err());
    assert!(rig.upsert(active(2, 2, NOW)).is_err());
    match rig.store.health() {
        Health::Failing { error, failures } => {
            assert_eq!(failures, 2);
            assert!(error.to_string().contains("No space left"), "{error}");
        }
        other => panic!("{other:?}"),
    }
    // A probe that fails counts as a failure; one that succeeds heals.
    rig.store.probe("1");
    wait_for("the failed probe", || {
        matches!(rig.store.health(), Health::Failing { failures: 3, .. })
    });
    rig.mode.store(OK, Ordering::SeqCst);
    rig.store.probe("2");
    wait_for("the probe to heal", || rig.store.health().is_healthy());
    assert!(rig.upsert(active(1, 1, NOW)).is_ok());
    assert_eq!(rig.store.backlog(), 0);
}

#[test]
fn a_failed_commit_rolls_back_to_the_durable_version_unless_a_later_write_changed_it() {
    let rig = Rig::new();
    let first = active(1, 1, NOW);
    rig.upsert(first.clone()).unwrap();
    let durable = rig.store.v4().get(addr(1)).unwrap();

    // A renewal that fails: memory goes back to the durable binding.
    rig.mode.store(FAIL, Ordering::SeqCst);
    let renewed = active(1, 1, NOW + 10);
    assert!(rig.upsert(renewed).is_err());
    let now = rig.store.v4().get(addr(1)).unwrap();
    assert!(Arc::ptr_eq(&now, &durable), "back to the durable version");

    // A new binding that fails disappears; a deleted one comes back.
    assert!(rig.upsert(active(2, 2, NOW)).is_err());
    assert!(rig.store.v4().get(addr(2)).is_none());
    assert!(rig
        .write(|b| {
            b.delete(addr(1));
        })
        .wait()
        .is_err());
    assert!(rig.store.v4().get(addr(1)).is_some());

    // Two writes in flight on one address: the first fails, the second (later) stays and
    // commits.
    let release = rig.hold();
    let t1 = rig.write(|b| {
        b.upsert(active(3, 3, NOW));
    });
    let t2 = rig.write(|b| {
        b.upsert(active(3, 3, NOW + 5));
    });
    release.send(()).unwrap(); // the first commit (only t1, or both) fails
    let r1 = t1.wait();
    assert!(r1.is_err());
    rig.mode.store(OK, Ordering::SeqCst);
    release.send(()).unwrap();
    let r2 = t2.wait();
    *rig.gate.lock().unwrap() = None;
    if r2.is_ok() {
        // Separate groups: the later write was kept and is durable.
        assert_eq!(rig.store.v4().get(addr(3)).unwrap().cltt, NOW + 5);
        assert_eq!(
            rig.store.v4().durable_snapshot().get(addr(3)).unwrap().cltt,
            NOW + 5
        );
    } else {
        // One group: both failed, nothing is kept.
        assert!(rig.store.v4().get(addr(3)).is_none());
    }
}

#[test]
fn a_later_write_on_the_address_survives_the_failure_of_an_earlier_one() {
    let rig = Rig::new();
    let release = rig.hold();
    rig.mode.store(FAIL, Ordering::SeqCst);
    // The writer takes the first write alone (it is held inside its commit before the
    // second is submitted).
    let t1 = rig.write(|b| {
        b.upsert(active(4, 4, NOW));
    });
    wait_for("the first commit to start", || rig.store.backlog() == 1);
    std::thread::sleep(Duration::from_millis(20));
    let t2 = rig.write(|b| {
        b.upsert(active(4, 4, NOW + 7));
    });
    release.send(()).unwrap();
    assert!(t1.wait().is_err());
    // The second is still in flight: memory keeps it (the engine's view), leasequery's view
    // shows the durable version (none).
    assert_eq!(rig.store.v4().get(addr(4)).unwrap().cltt, NOW + 7);
    assert!(rig.store.v4().durable_snapshot().get(addr(4)).is_none());
    rig.mode.store(OK, Ordering::SeqCst);
    release.send(()).unwrap();
    t2.wait().unwrap();
    *rig.gate.lock().unwrap() = None;
    assert_eq!(
        rig.store.v4().durable_snapshot().get(addr(4)).unwrap().cltt,
        NOW + 7
    );
}

#[test]
fn the_durable_view_hides_changes_in_flight_from_every_lookup() {
    let rig = Rig::new();
    let mut old = relayed(active(1, 1, NOW), b"relay-a", b"remote-a");
    old.set_fields(lessor_store::Fields4 {
        client_id: Some(b"\x01old"),
        relay_agent_information: None,
        circuit_id: None,
        remote_id: Some(b"remote-a"),
        relay_id: Some(b"relay-a"),
        vendor_class_id: None,
        hostname: None,
    })
    .unwrap();
    rig.upsert(old).unwrap();

    let release = rig.hold();
    // In flight: address 1 goes to another client (other MAC, relay, remote-id), address 2 is
    // new.
    let t = rig.write(|b| {
        b.upsert(relayed(active(1, 9, NOW + 1), b"relay-b", b"remote-b"));
        b.upsert(relayed(active(2, 9, NOW + 1), b"relay-b", b"remote-b"));
    });
    let live = rig.store.v4().snapshot();
    assert_eq!(
        live.get(addr(1)).unwrap().hw,
        mac(9),
        "the engine sees its write"
    );
    let d = rig.store.v4().durable_snapshot();
    assert!(d.has_changes_in_flight());
    assert_eq!(d.get(addr(1)).unwrap().hw, mac(1));
    assert!(d.get(addr(2)).is_none());
    assert_eq!(d.len(), 1);
    assert_eq!(d.iter().count(), 1);
    assert!(d.by_mac(&mac(9)).is_empty());
    assert_eq!(
        d.by_mac(&mac(1)).len(),
        1,
        "the durable owner is still found"
    );
    assert_eq!(d.by_client_id(b"\x01old").len(), 1);
    assert_eq!(d.by_relay_id(b"relay-a").count(), 1);
    assert_eq!(d.by_relay_id(b"relay-b").count(), 0);
    assert!(!d.knows_relay_id(b"relay-b"));
    assert!(!d.knows_remote_id(b"remote-b"));
    assert!(d.knows_remote_id(b"remote-a"));
    // The ranked (most recent first) lookups of leasequery, and its plain index walks.
    let examined = std::cell::Cell::new(0);
    let ranked = |index, id: &[u8]| -> Vec<_> {
        d.active_by(index, id, &examined)
            .map(|b| (b.address, b.hw))
            .collect()
    };
    assert_eq!(ranked(Index4::RelayId, b"relay-a"), vec![(addr(1), mac(1))]);
    assert_eq!(
        ranked(Index4::RemoteId, b"remote-a"),
        vec![(addr(1), mac(1))]
    );
    assert!(ranked(Index4::RelayId, b"relay-b").is_empty());
    assert!(ranked(Index4::RemoteId, b"remote-b").is_empty());
    let (k, len) = mac(9).key_bytes();
    assert_eq!(d.find_except(Index4::Mac, &k[..len], None).count(), 0);
    let (k, len) = mac(1).key_bytes();
    let found: Vec<_> = d
        .find_except(Index4::Mac, &k[..len], None)
        .map(|b| b.address)
        .collect();
    assert_eq!(found, vec![addr(1)]);
    assert_eq!(
        d.find_except(Index4::Mac, &k[..len], Some(addr(1))).count(),
        0
    );
    assert_eq!(d.find_except(Index4::ClientId, b"\x01old", None).count(), 1);
    // The live view ranks what the engine wrote.
    let live_ranked: Vec<_> = live
        .active_by(Index4::RelayId, b"relay-b", &examined)
        .map(|b| b.address)
        .collect();
    assert_eq!(live_ranked.len(), 2);
    release.send(()).unwrap();
    t.wait().unwrap();
    *rig.gate.lock().unwrap() = None;

    let d = rig.store.v4().durable_snapshot();
    assert!(!d.has_changes_in_flight());
    assert_eq!(d.by_mac(&mac(9)).len(), 2);
    assert_eq!(d.by_relay_id(b"relay-b").count(), 2);
    assert!(d.by_mac(&mac(1)).is_empty());
    assert_eq!(
        d.active_by(Index4::RelayId, b"relay-b", &examined).count(),
        2
    );
    assert!(d
        .active_by(Index4::RelayId, b"relay-a", &examined)
        .next()
        .is_none());
}

#[test]
fn a_full_queue_refuses_writes_and_takes_them_back() {
    let rig = Rig::new();
    let release = rig.hold();
    // One batch may fill the queue (an idle writer takes it whole)...
    let big = rig.write(|b| {
        for n in 0..MAX_BACKLOG as u32 {
            b.upsert(active(1000 + n, 1000 + n, NOW));
        }
    });
    wait_for("the queue", || rig.store.backlog() >= MAX_BACKLOG);
    // ...the next is refused at once, and taken back from memory.
    let refused = rig.upsert(active(1, 1, NOW));
    assert!(
        matches!(refused, Err(StoreError::Backlog { .. })),
        "{refused:?}"
    );
    assert!(rig.store.v4().get(addr(1)).is_none());
    assert_eq!(rig.store.writer_stats().refused(), 1);
    release.send(()).unwrap();
    big.wait().unwrap();
    *rig.gate.lock().unwrap() = None;
    assert_eq!(rig.store.backlog(), 0);
    rig.upsert(active(1, 1, NOW)).unwrap();
}

#[test]
fn a_refused_write_is_taken_back_to_the_version_still_in_flight() {
    let rig = Rig::new();
    let release = rig.hold();
    // In flight: the first version of address 5, in a batch that fills the queue.
    let first = rig.write(|b| {
        b.upsert(active(5, 5, NOW));
        for n in 1..MAX_BACKLOG as u32 {
            b.upsert(active(1000 + n, 1000 + n, NOW));
        }
    });
    wait_for("the queue", || rig.store.backlog() >= MAX_BACKLOG);
    // A second version is refused: memory goes back to the first (still in flight), not to
    // what was there before it.
    assert!(matches!(
        rig.upsert(active(5, 5, NOW + 9)),
        Err(StoreError::Backlog { .. })
    ));
    assert_eq!(rig.store.v4().get(addr(5)).unwrap().cltt, NOW);
    assert!(rig.store.v4().durable_snapshot().get(addr(5)).is_none());
    release.send(()).unwrap();
    first.wait().unwrap();
    *rig.gate.lock().unwrap() = None;
    assert_eq!(rig.store.v4().get(addr(5)).unwrap().cltt, NOW);
    assert_eq!(
        rig.store.v4().durable_snapshot().get(addr(5)).unwrap().cltt,
        NOW
    );
    assert_eq!(rig.store.v4().in_flight(), 0);
}

#[test]
fn a_backend_panic_kills_the_writer_and_says_why() {
    let rig = Rig::new();
    rig.mode.store(PANIC, Ordering::SeqCst);
    let r = rig.upsert(active(1, 1, NOW));
    assert!(matches!(r, Err(StoreError::WriterGone)), "{r:?}");
    assert!(rig.store.v4().get(addr(1)).is_none(), "taken back");
    match rig.store.health() {
        Health::WriterDead { message } => {
            assert!(message.contains("injected backend panic"), "{message}")
        }
        other => panic!("{other:?}"),
    }
    // Later writes fail at once, and are taken back too.
    let r = rig.upsert(active(2, 2, NOW));
    assert!(matches!(r, Err(StoreError::WriterGone)), "{r:?}");
    assert!(rig.store.v4().get(addr(2)).is_none());
    assert_eq!(rig.store.v4().get(addr(2)).map(|b| b.state), None::<State4>);
}

/// A server serving DHCPv4 and DHCPv6 adds one hook per family's outbox: both run after every
/// group, in the order added (a second hook replacing the first left the DHCPACKs unsent).
#[test]
fn every_group_hook_added_runs() {
    let (tx, _written) = mpsc::channel();
    let (store, _) = Store::open(Box::new(Flaky {
        fail: Arc::new(AtomicBool::new(false)),
        written: tx,
    }))
    .unwrap();
    let (htx, hooks) = mpsc::channel::<&'static str>();
    for name in ["v4", "v6"] {
        let htx = htx.clone();
        store.after_each_group(move || {
            let _ = htx.send(name);
        });
    }
    drop(htx);
    store.v4().upsert(
        active(1, 1, NOW),
        Completion::callback(|r| assert!(r.is_ok())),
    );
    store.sync().wait().unwrap();
    drop(store);
    let got: Vec<&str> = hooks.iter().collect();
    assert!(!got.is_empty(), "no hook ran");
    assert_eq!(got.len() % 2, 0, "{got:?}");
    assert!(
        got.chunks(2).all(|pair| pair == ["v4", "v6"]),
        "each group runs both, in order: {got:?}"
    );
}
