//! "Most recent first" follows the order of transactions, not only the second of the cltt:
//! of two bindings of one client written in the same second, the one written later comes first,
//! whatever their addresses; after a restart too.

mod common;

use common::*;
use lessor_store::{Binding4, Completion, Store};

/// Client 1's binding of address `n`, last transaction at `cltt`.
fn client1(n: u32, cltt: u64) -> Binding4 {
    relayed(active(n, 1, cltt), b"relay-1", b"modem-1")
}

fn order(v: &[std::sync::Arc<Binding4>]) -> Vec<std::net::Ipv4Addr> {
    v.iter().map(|b| b.address).collect()
}

fn check(store: &Store, want: &[u32]) {
    let want: Vec<_> = want.iter().map(|&n| addr(n)).collect();
    let snap = store.v4().snapshot();
    let b = client1(0, 0);
    assert_eq!(order(&snap.by_mac(&b.hw)), want, "by MAC");
    assert_eq!(
        order(&snap.by_client_id(b.client_id().unwrap())),
        want,
        "by client-id"
    );
    assert_eq!(order(&snap.by_client(None, Some(&b.hw))), want, "by client");
}

#[test]
fn written_later_in_the_same_second_comes_first() {
    let store = Store::in_memory();
    // The lower address is written last: it is the most recent.
    store.v4().upsert(client1(2, NOW), Completion::none());
    store.v4().upsert(client1(1, NOW), Completion::none());
    check(&store, &[1, 2]);
    // Now the higher address again, still in the same second.
    store.v4().upsert(client1(2, NOW), Completion::none());
    check(&store, &[2, 1]);
    // A later second still wins over any order.
    store.v4().upsert(client1(3, NOW + 1), Completion::none());
    store.v4().upsert(client1(1, NOW), Completion::none());
    check(&store, &[3, 1, 2]);
    // Expiry is not a transaction: it keeps the order.
    store.v4().expire(NOW + 3600, 10, Completion::none());
    check(&store, &[3, 1, 2]);
}

#[test]
fn the_order_survives_a_restart_and_later_writes_come_after_it() {
    let dir = temp_dir("recency");
    let db = dir.join("leases.db");
    {
        let (store, _) = Store::open_sqlite(&db).unwrap();
        store.v4().upsert(client1(1, NOW), Completion::none());
        store.v4().upsert(client1(3, NOW), Completion::none());
        store.v4().upsert(client1(2, NOW), Completion::none());
        check(&store, &[2, 3, 1]);
        store.close().unwrap();
    }
    let (store, _) = Store::open_sqlite(&db).unwrap();
    check(&store, &[2, 3, 1]);
    // The counter continues above what was loaded: a write now is the most recent.
    store.v4().upsert(client1(1, NOW), Completion::none());
    check(&store, &[1, 2, 3]);
    store.close().unwrap();
    let (store, _) = Store::open_sqlite(&db).unwrap();
    check(&store, &[1, 2, 3]);
}

#[test]
fn restore_keeps_the_number_and_upserts_go_above_it() {
    let store = Store::in_memory();
    let mut b = client1(1, NOW);
    b.sequence = 500;
    store
        .v4()
        .write(Completion::none(), |batch| batch.restore(b));
    assert_eq!(store.v4().get(addr(1)).unwrap().sequence, 500);
    store.v4().upsert(client1(2, NOW), Completion::none());
    assert!(store.v4().get(addr(2)).unwrap().sequence > 500);
    check(&store, &[2, 1]);
}
