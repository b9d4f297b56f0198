//! Two stores on one [`SharedMemory`]: two servers sharing one lease set (docs/protocol.md
//! decision 43). Guards refuse the loser of a race, refused batches are rolled back, and each
//! store follows the other's writes into memory.

mod common;

use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::*;
use lessor_store::{
    Backend, Binding4, Change, Completion, Follower, Loaded, Remote, SharedMemory, State4, Store,
    StoreError,
};

fn open(shared: &SharedMemory, node: &str) -> Store {
    Store::open(Box::new(shared.backend(node))).unwrap().0
}

/// Waits (at most 10 s) until `f` holds.
fn eventually(what: &str, mut f: impl FnMut() -> bool) {
    let until = Instant::now() + Duration::from_secs(10);
    while !f() {
        assert!(Instant::now() < until, "never: {what}");
        std::thread::sleep(Duration::from_millis(5));
    }
}

fn write(store: &Store, b: Binding4) -> Result<(), StoreError> {
    let (done, ticket) = Completion::ticket();
    store.v4().upsert(b, done);
    ticket.wait()
}

fn holder(store: &Store, n: u32) -> Option<(State4, lessor_store::HwAddr, u64)> {
    store.v4().get(addr(n)).map(|b| (b.state, b.hw, b.sequence))
}

fn durable_holder(store: &Store, n: u32) -> Option<lessor_store::HwAddr> {
    store.v4().durable_snapshot().get(addr(n)).map(|b| b.hw)
}

/// Two stores, the binding of address 1 for client 1 written by A and followed by B.
fn seeded() -> (SharedMemory, Store, Store) {
    let shared = SharedMemory::new();
    let a = open(&shared, "a");
    write(&a, active(1, 1, NOW)).unwrap();
    let b = open(&shared, "b");
    assert_eq!(holder(&a, 1), holder(&b, 1), "B loaded A's binding");
    (shared, a, b)
}

#[test]
fn two_servers_allocating_one_free_address_one_wins_and_the_other_follows() {
    let shared = SharedMemory::new();
    let a = open(&shared, "a");
    let b = open(&shared, "b");
    // B does not see A's write before making its own.
    shared.pause_follows(true);
    write(&a, active(1, 1, NOW)).unwrap();
    let lost = write(&b, active(1, 2, NOW));
    assert!(matches!(lost, Err(StoreError::Taken)), "{lost:?}");
    assert!(b.v4().get(addr(1)).is_none(), "B's loser rolled back");
    assert_eq!(b.writer_stats().taken(), 1);
    assert!(b.health().is_healthy(), "a refusal is not a failure");
    assert_eq!(shared.get4(addr(1)).unwrap().hw, mac(1));

    shared.pause_follows(false);
    eventually("B holds A's binding", || holder(&b, 1) == holder(&a, 1));
    assert_eq!(durable_holder(&b, 1), Some(mac(1)));
    assert!(b.follower_stats().unwrap().applied() >= 1);
    a.close().unwrap();
    b.close().unwrap();
}

#[test]
fn a_renewal_and_an_expiry_of_one_binding_converge_whichever_commits_first() {
    // B expires first: the expiry keeps the binding's number, so A's renewal (based on it)
    // still commits, and B follows it.
    let (shared, a, b) = seeded();
    shared.pause_follows(true);
    assert_eq!(b.v4().expire(NOW + 3600, 10, Completion::none()).len(), 1);
    b.sync().wait().unwrap();
    write(&a, active(1, 1, NOW + 1800)).unwrap();
    shared.pause_follows(false);
    eventually("converged", || holder(&a, 1) == holder(&b, 1));
    assert_eq!(holder(&b, 1).unwrap().0, State4::Active);

    // A renews first: B's expiry, based on the version A replaced, is refused and rolled back
    // to it, then B follows A's renewal.
    shared.pause_follows(true);
    write(&a, active(1, 1, NOW + 3000)).unwrap();
    let (done, ticket) = Completion::ticket();
    assert_eq!(b.v4().expire(NOW + 1800 + 3600, 10, done).len(), 1);
    assert!(matches!(ticket.wait(), Err(StoreError::Taken)));
    assert_eq!(holder(&b, 1).unwrap().0, State4::Active, "rolled back");
    shared.pause_follows(false);
    eventually("converged", || holder(&a, 1) == holder(&b, 1));
    assert_eq!(b.v4().get(addr(1)).unwrap().cltt, NOW + 3000);
}

#[test]
fn a_deletion_is_followed_and_a_binding_made_after_it_is_not_undone() {
    let (shared, a, b) = seeded();
    let (done, ticket) = Completion::ticket();
    a.v4().delete(addr(1), done);
    ticket.wait().unwrap();
    assert!(shared.tombstone4(addr(1)).is_some());
    eventually("B follows the deletion", || b.v4().get(addr(1)).is_none());

    // B gives the address to another client: guarded as free, above the tombstone.
    write(&b, active(1, 2, NOW + 60)).unwrap();
    eventually("A follows", || holder(&a, 1) == holder(&b, 1));
    assert_eq!(a.v4().get(addr(1)).unwrap().hw, mac(2));

    // A server that missed the deletion cannot write over it: refused, then it follows.
    shared.pause_follows(true);
    let (done, ticket) = Completion::ticket();
    a.v4().delete(addr(1), done);
    ticket.wait().unwrap();
    let stale = write(&b, active(1, 2, NOW + 120));
    assert!(matches!(stale, Err(StoreError::Taken)), "{stale:?}");
    shared.pause_follows(false);
    eventually("B follows the deletion", || b.v4().get(addr(1)).is_none());
    assert!(shared.get4(addr(1)).is_none(), "no resurrection");
}

#[test]
fn an_offer_keeps_the_number_of_the_version_it_replaces_and_the_ack_is_guarded_on_it() {
    let (shared, a, _b) = seeded();
    a.v4().expire(NOW + 3600, 10, Completion::none());
    a.sync().wait().unwrap();
    let expired = a.v4().get(addr(1)).unwrap();
    assert_eq!(expired.state, State4::Expired);

    let mut offer = active(1, 2, NOW + 4000);
    offer.state = State4::Offered;
    a.v4().upsert(offer, Completion::none());
    let offered = a.v4().get(addr(1)).unwrap();
    assert_eq!(offered.sequence, expired.sequence, "not a transaction");

    // The database holds the expired binding, live: only a guard based on its number passes.
    write(&a, active(1, 2, NOW + 4000)).unwrap();
    assert_eq!(shared.get4(addr(1)).unwrap().hw, mac(2));
    assert!(a.v4().get(addr(1)).unwrap().sequence > expired.sequence);
}

#[test]
fn a_second_batch_on_a_key_whose_first_is_refused_is_refused_too() {
    let shared = SharedMemory::new();
    let a = open(&shared, "a");
    let b = open(&shared, "b");
    shared.pause_follows(true);
    write(&a, active(1, 1, NOW)).unwrap();
    shared.hold_commits("b", true);
    let (first, t1) = Completion::ticket();
    b.v4().upsert(active(1, 2, NOW), first);
    let (second, t2) = Completion::ticket();
    b.v4().upsert(active(1, 2, NOW + 10), second);
    shared.hold_commits("b", false);
    assert!(matches!(t1.wait(), Err(StoreError::Taken)));
    assert!(matches!(t2.wait(), Err(StoreError::Taken)));
    assert!(b.v4().get(addr(1)).is_none());
    assert_eq!(b.writer_stats().taken(), 2);
    shared.pause_follows(false);
    eventually("B follows A", || holder(&b, 1) == holder(&a, 1));
}

#[test]
fn a_remote_change_arriving_while_a_local_one_is_in_flight_is_what_a_refusal_rolls_back_to() {
    let (shared, a, b) = seeded();
    shared.hold_commits("b", true);
    let (done, ticket) = Completion::ticket();
    b.v4().upsert(active(1, 1, NOW + 60), done);
    // A gives the address to client 2 meanwhile; B's follower takes it into the overlay.
    let (done_a, ticket_a) = Completion::ticket();
    a.v4().delete(addr(1), Completion::none());
    a.v4().upsert(active(1, 2, NOW + 60), done_a);
    ticket_a.wait().unwrap();
    eventually("B's durable view shows A's binding", || {
        durable_holder(&b, 1) == Some(mac(2))
    });
    assert_eq!(
        holder(&b, 1).unwrap().1,
        mac(1),
        "the live view keeps B's change"
    );
    shared.hold_commits("b", false);
    assert!(matches!(ticket.wait(), Err(StoreError::Taken)));
    assert_eq!(
        holder(&b, 1),
        holder(&a, 1),
        "rolled back to the remote version"
    );
}

#[test]
fn follower_failures_are_counted_and_the_feed_is_asked_again() {
    let (shared, a, b) = seeded();
    let (sa, stats) = (a.follower_stats().unwrap(), b.follower_stats().unwrap());
    shared.fail_follows(4);
    // Either follower may meet a failure; each is counted and retried after a pause.
    eventually("four failures", || sa.failures() + stats.failures() >= 4);
    let failed = if stats.failures() > 0 { &stats } else { &sa };
    assert!(failed.last_error().unwrap().contains("unreachable"));
    write(&a, active(2, 2, NOW)).unwrap();
    eventually("B follows again", || holder(&b, 2) == holder(&a, 2));
    assert!(stats.healthy());
    assert!(b.health().is_healthy());
}

/// A backend whose feed a test scripts.
struct Scripted {
    loaded: Vec<Binding4>,
    feed: Arc<Mutex<mpsc::Receiver<Vec<Remote>>>>,
}

struct ScriptedFeed(Arc<Mutex<mpsc::Receiver<Vec<Remote>>>>);

impl Follower for ScriptedFeed {
    fn next(&mut self, timeout: Duration) -> Result<Vec<Remote>, StoreError> {
        let rx = self.0.lock().unwrap();
        Ok(rx.recv_timeout(timeout).unwrap_or_default())
    }
}

impl Backend for Scripted {
    fn load(&mut self) -> Result<Loaded, StoreError> {
        let mut l = Loaded::default();
        l.v4.bindings = std::mem::take(&mut self.loaded);
        Ok(l)
    }
    fn apply(&mut self, _: &[Change]) -> Result<(), StoreError> {
        Ok(())
    }
    fn follower(&mut self) -> Result<Option<Box<dyn Follower>>, StoreError> {
        Ok(Some(Box::new(ScriptedFeed(self.feed.clone()))))
    }
}

#[test]
fn echoes_and_older_versions_change_nothing_and_numbers_continue_above_what_was_followed() {
    let mut mine = active(1, 1, NOW);
    mine.sequence = 10;
    let (tx, rx) = mpsc::channel();
    let backend = Scripted {
        loaded: vec![mine.clone()],
        feed: Arc::new(Mutex::new(rx)),
    };
    let (store, _) = Store::open(Box::new(backend)).unwrap();
    let stats = store.follower_stats().unwrap();
    let mut older = active(1, 2, NOW);
    older.sequence = 5;
    tx.send(vec![
        Remote::V4(mine.clone()),
        Remote::V4(older),
        Remote::V4Gone {
            address: addr(1),
            sequence: 9,
        },
    ])
    .unwrap();
    let mut newer = active(2, 3, NOW);
    newer.sequence = 100;
    tx.send(vec![Remote::V4(newer)]).unwrap();
    eventually("the newer one", || store.v4().get(addr(2)).is_some());
    assert_eq!(stats.applied(), 1);
    assert_eq!(store.v4().get(addr(1)).unwrap().hw, mac(1));
    store.v4().upsert(active(3, 4, NOW), Completion::none());
    assert!(store.v4().get(addr(3)).unwrap().sequence > 100);

    // A remote deletion newer than what is held removes it; an older binding then stays out.
    tx.send(vec![Remote::V4Gone {
        address: addr(1),
        sequence: 200,
    }])
    .unwrap();
    eventually("deleted", || store.v4().get(addr(1)).is_none());
    let mut stale = active(1, 5, NOW);
    stale.sequence = 150;
    let mut marker = active(4, 4, NOW);
    marker.sequence = 201;
    tx.send(vec![Remote::V4(stale), Remote::V4(marker)])
        .unwrap();
    eventually("the marker", || store.v4().get(addr(4)).is_some());
    assert!(store.v4().get(addr(1)).is_none(), "no resurrection");
    store.close().unwrap();
}

#[test]
fn one_server_backends_have_no_follower() {
    assert!(Store::in_memory().follower_stats().is_none());
}
