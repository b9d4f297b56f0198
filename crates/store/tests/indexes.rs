//! In-memory indexes: lookups, ordering, address reuse, expiry, cursors.

mod common;

use common::*;
use lessor_store::{Completion, State4, Store};

#[test]
fn by_client_most_recent_first() {
    let store = Store::in_memory();
    // Client 7 has three addresses, touched at different times; client 8 one.
    store
        .v4()
        .upsert(active(1, 7, NOW - 300), Completion::none());
    store
        .v4()
        .upsert(active(2, 7, NOW - 10), Completion::none());
    store
        .v4()
        .upsert(active(3, 7, NOW - 5000), Completion::none());
    store.v4().upsert(active(4, 8, NOW), Completion::none());
    let snap = store.v4().snapshot();

    let got: Vec<_> = snap.by_mac(&mac(7)).iter().map(|b| b.address).collect();
    assert_eq!(got, vec![addr(2), addr(1), addr(3)]);

    let cid = active(0, 7, 0).client_id().unwrap().to_vec();
    let got: Vec<_> = snap.by_client_id(&cid).iter().map(|b| b.address).collect();
    assert_eq!(got, vec![addr(2), addr(1), addr(3)]);

    // RFC 4388: client-id wins over the MAC when both are given.
    let got = snap.by_client(Some(&cid), Some(&mac(8)));
    assert_eq!(got[0].address, addr(2));
    let got = snap.by_client(None, Some(&mac(8)));
    assert_eq!(got.len(), 1);
    assert!(snap.by_client(None, None).is_empty());
    assert!(snap.by_mac(&mac(99)).is_empty());
    assert!(snap.by_client_id(b"nobody").is_empty());
    assert_eq!(snap.get(addr(4)).unwrap().hw, mac(8));
}

#[test]
fn address_reuse_moves_identifiers() {
    let store = Store::in_memory();
    store.v4().upsert(
        relayed(active(1, 7, NOW - 7200), b"relay-A", b"modem-7"),
        Completion::none(),
    );
    let snap_before = store.v4().snapshot();
    // Client 8 gets the same address later, through another relay.
    let old = store.v4().upsert(
        relayed(active(1, 8, NOW), b"relay-B", b"modem-8"),
        Completion::none(),
    );
    assert_eq!(old.unwrap().hw, mac(7));
    let snap = store.v4().snapshot();
    assert!(snap.by_mac(&mac(7)).is_empty());
    assert!(!snap.knows_relay_id(b"relay-A"));
    assert!(!snap.knows_remote_id(b"modem-7"));
    assert_eq!(snap.by_mac(&mac(8)).len(), 1);
    assert!(snap.knows_relay_id(b"relay-B"));
    assert_eq!(snap.by_remote_id(b"modem-8").count(), 1);
    // The older snapshot still sees the old world.
    assert!(snap_before.knows_relay_id(b"relay-A"));
    assert_eq!(snap_before.by_mac(&mac(7)).len(), 1);
}

#[test]
fn expired_bindings_keep_their_identifiers() {
    let store = Store::in_memory();
    store.v4().upsert(
        relayed(active(1, 7, NOW - 7200), b"relay-A", b"modem-7"),
        Completion::none(),
    );
    store.v4().upsert(
        relayed(active(2, 8, NOW - 60), b"relay-A", b"modem-8"),
        Completion::none(),
    );
    // Address 1 ended at NOW - 3600; address 2 ends at NOW + 3540.
    let expired = store.v4().expire(NOW, usize::MAX, Completion::none());
    assert_eq!(expired.len(), 1);
    assert_eq!(expired[0].address, addr(1));
    assert_eq!(expired[0].state, State4::Expired);
    assert!(store
        .v4()
        .expire(NOW, usize::MAX, Completion::none())
        .is_empty());

    let snap = store.v4().snapshot();
    assert_eq!(snap.get(addr(1)).unwrap().state, State4::Expired);
    // Known but not active: DHCPLEASEUNASSIGNED, not DHCPLEASEUNKNOWN.
    assert!(snap.knows_remote_id(b"modem-7"));
    let states: Vec<_> = snap.by_remote_id(b"modem-7").map(|b| b.state).collect();
    assert_eq!(states, vec![State4::Expired]);
    assert!(!snap.knows_remote_id(b"modem-9"));
    assert_eq!(snap.by_relay_id(b"relay-A").count(), 2);

    // Address 2 expires exactly at its end.
    assert!(store
        .v4()
        .expire(NOW + 3539, 10, Completion::none())
        .is_empty());
    assert_eq!(
        store.v4().expire(NOW + 3540, 10, Completion::none()).len(),
        1
    );

    // Once the server drops the binding, the identifier is forgotten.
    store.v4().delete(addr(1), Completion::none());
    assert!(!store.v4().snapshot().knows_remote_id(b"modem-7"));
}

#[test]
fn relay_id_cursor_returns_each_binding_once_in_address_order() {
    let store = Store::in_memory();
    for n in 0..3000u32 {
        let relay: &[u8] = if n % 3 == 0 { b"relay-A" } else { b"relay-B" };
        store.v4().upsert(
            relayed(active(n, n, NOW), relay, format!("m{n}").as_bytes()),
            Completion::none(),
        );
    }
    let snap = store.v4().snapshot();
    let mut cursor = snap.by_relay_id(b"relay-A");
    let mut got = cursor.next_batch(100);
    assert_eq!(got.len(), 100);
    got.extend(cursor.by_ref());
    let want: Vec<_> = (0..3000).filter(|n| n % 3 == 0).map(addr).collect();
    assert_eq!(
        got.iter().map(|b| b.address).collect::<Vec<_>>(),
        want,
        "relay-A bindings, once each, in address order"
    );
    assert!(cursor.next().is_none());
    assert!(cursor.next_batch(10).is_empty());
    assert_eq!(snap.by_relay_id(b"relay-C").count(), 0);
}

#[test]
fn offers_live_in_memory_and_batches_are_atomic() {
    let store = Store::in_memory();
    let mut offer = active(5, 5, NOW);
    offer.state = State4::Offered;
    let (done, ticket) = Completion::ticket();
    store.v4().upsert(offer, done);
    // Nothing to persist: completed at once.
    assert!(ticket.try_result().unwrap().is_ok());
    assert_eq!(store.v4().get(addr(5)).unwrap().state, State4::Offered);

    // Two changes in one batch.
    let replaced = store.v4().write(Completion::none(), |b| {
        let old = b.upsert(active(5, 5, NOW));
        b.delete(addr(6));
        assert_eq!(b.get(addr(5)).unwrap().state, State4::Active);
        assert_eq!(b.snapshot().len(), 1);
        old
    });
    assert_eq!(replaced.unwrap().state, State4::Offered);
    assert_eq!(store.v4().len(), 1);
}

#[test]
fn bulk_built_table_equals_upserted_table() {
    use lessor_store::{Binding4, Index4, Table};
    use std::sync::Arc;
    // Duplicates of a key: the last one wins, as with upserts.
    let records: Vec<Arc<Binding4>> = (0..500u32)
        .map(|n| relayed(active(n % 400, n, NOW + u64::from(n)), b"r", &[n as u8 % 7]))
        .map(Arc::new)
        .collect();
    let bulk = Table::from_records(records.iter().cloned());
    let mut one = Table::new();
    for r in &records {
        one.upsert(r.clone());
    }
    assert_eq!(bulk.len(), 400);
    let a: Vec<_> = bulk.iter().cloned().collect();
    let b: Vec<_> = one.iter().cloned().collect();
    assert_eq!(a, b);
    for n in 0..500u32 {
        let hw = mac(n);
        let mut key = vec![hw.htype()];
        key.extend_from_slice(hw.chaddr());
        let x: Vec<_> = bulk.find(Index4::Mac as usize, &key).cloned().collect();
        let y: Vec<_> = one.find(Index4::Mac as usize, &key).cloned().collect();
        assert_eq!(x, y);
    }
    for m in 0..7u8 {
        let x: Vec<_> = bulk
            .find(Index4::RemoteId as usize, &[m])
            .cloned()
            .collect();
        let y: Vec<_> = one.find(Index4::RemoteId as usize, &[m]).cloned().collect();
        assert_eq!(x, y);
        assert!(!x.is_empty());
    }
    assert_eq!(
        bulk.due(NOW + 5000, usize::MAX),
        one.due(NOW + 5000, usize::MAX)
    );
    assert_eq!(bulk.find(Index4::RelayId as usize, b"r").count(), 400);
}

#[test]
fn expiry_in_chunks_earliest_first() {
    let store = Store::in_memory();
    // Ends: NOW - 3600 + 10 * n.
    for n in 0..25u32 {
        store.v4().upsert(
            active(n, n, NOW - 7200 + 10 * u64::from(24 - n)),
            Completion::none(),
        );
    }
    let mut order = Vec::new();
    loop {
        let chunk = store.v4().expire(NOW, 10, Completion::none());
        order.extend(chunk.iter().map(|b| b.address));
        if chunk.len() < 10 {
            break;
        }
    }
    let want: Vec<_> = (0..25u32).rev().map(addr).collect();
    assert_eq!(order, want, "earliest end first, each once");
    // A renewal (same identifiers, later end) leaves the secondary indexes alone and re-arms
    // expiry.
    let mut renewed = active(3, 3, NOW);
    renewed.cltt = NOW;
    store.v4().upsert(renewed, Completion::none());
    assert!(store
        .v4()
        .expire(NOW + 3599, 10, Completion::none())
        .is_empty());
    assert_eq!(store.v4().snapshot().by_mac(&mac(3)).len(), 1);
    assert_eq!(
        store.v4().expire(NOW + 3600, 10, Completion::none()).len(),
        1
    );
}

#[test]
fn reuse_index_follows_state_changes_longest_free_first() {
    use lessor_store::{Binding4, State4, Table};
    use std::sync::Arc;
    let with = |n: u32, state: State4, end: u64| {
        let mut b = active(n, n, NOW);
        b.state = state;
        b.end = end;
        Arc::new(b)
    };
    let mut t: Table<Binding4> = Table::new();
    t.upsert(with(1, State4::Active, NOW + 100));
    t.upsert(with(2, State4::Released, NOW + 20));
    t.upsert(with(3, State4::Expired, NOW + 10));
    t.upsert(with(4, State4::Declined, NOW + 50)); // probation until NOW + 50
    t.upsert(with(5, State4::Expired, NOW + 20)); // same end as 2: lower address first
    t.upsert(with(6, State4::Reserved, NOW));
    let free = |t: &Table<Binding4>, now: u64| -> Vec<u32> {
        t.free_at(now)
            .map(|b| u32::from(b.address) - u32::from(addr(0)))
            .collect()
    };
    assert_eq!(free(&t, NOW + 30), vec![3, 2, 5]);
    assert_eq!(
        free(&t, NOW + 60),
        vec![3, 2, 5, 4],
        "declined after its probation"
    );
    // Address 3 is reused (Active again): it leaves; 1 expires: it joins at its end.
    t.upsert(with(3, State4::Active, NOW + 3600));
    let expired = t.expire(NOW + 100, 10);
    assert_eq!(expired.len(), 1);
    assert_eq!(free(&t, NOW + 200), vec![2, 5, 4, 1]);
    t.remove(u32::from(addr(2)));
    assert_eq!(free(&t, NOW + 200), vec![5, 4, 1]);
    // A table built in one go has the same reuse index.
    let bulk = Table::from_records(t.iter().cloned());
    assert_eq!(free(&bulk, NOW + 200), free(&t, NOW + 200));
}

#[test]
fn fellows_match_a_brute_force_search_through_every_change() {
    use lessor_store::{Binding4, Snapshot4, Table};
    use std::sync::Arc;
    // Brute force: the other bindings of the same owner (client-id, else MAC among bindings
    // without one), in address order.
    fn expected(all: &[Arc<Binding4>], b: &Binding4) -> Vec<Arc<Binding4>> {
        all.iter()
            .filter(|o| o.address != b.address)
            .filter(|o| match b.client_id() {
                Some(id) => o.client_id() == Some(id),
                None => o.client_id().is_none() && o.hw == b.hw,
            })
            .cloned()
            .collect()
    }
    fn check(store: &Store) {
        let snap: Snapshot4 = store.v4().snapshot();
        let all: Vec<Arc<Binding4>> = snap.iter().cloned().collect();
        for b in &all {
            assert_eq!(
                snap.fellows(b),
                expected(&all, b),
                "fellows of {}",
                b.address
            );
        }
        // A table built in one go agrees.
        let bulk = Table::from_records(all.iter().cloned());
        for b in &all {
            let id = b.client_id().map(<[u8]>::to_vec);
            if let Some(id) = id {
                let x: Vec<_> = bulk
                    .find_except(
                        lessor_store::Index4::ClientId as usize,
                        &id,
                        u32::from(b.address),
                    )
                    .cloned()
                    .collect();
                assert_eq!(x, expected(&all, b));
            }
        }
    }
    let store = Store::in_memory();
    let mut seed = 12345u64;
    let mut next = |m: u32| {
        seed = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        ((seed >> 33) as u32) % m
    };
    for round in 0..600u32 {
        let n = next(60);
        match next(4) {
            // Upsert with a client drawn from few, so owners often hold several bindings.
            0 | 1 => {
                let _ = store.v4().upsert(
                    active(n, next(8), NOW + u64::from(round)),
                    Completion::none(),
                );
            }
            // A binding without a client-id (owner by MAC).
            2 => {
                let mut b = active(n, next(8), NOW);
                b.set_client_id(None).unwrap();
                let _ = store.v4().upsert(b, Completion::none());
            }
            _ => {
                let _ = store.v4().delete(addr(n), Completion::none());
            }
        }
        if round % 50 == 0 {
            check(&store);
        }
    }
    check(&store);
}

#[test]
fn ranked_lookups_match_a_brute_force_sort_through_every_change() {
    use lessor_store::v4::most_recent_first;
    use lessor_store::{Binding4, Index4, Snapshot4, Table};
    use std::cell::Cell;
    use std::sync::Arc;
    // Brute force: the Active bindings carrying `id` in `index`, sorted most recent first.
    fn expected(all: &[Arc<Binding4>], has: impl Fn(&Binding4) -> bool) -> Vec<Arc<Binding4>> {
        let mut v: Vec<_> = all
            .iter()
            .filter(|b| b.state == State4::Active && has(b))
            .cloned()
            .collect();
        v.sort_by(|a, b| most_recent_first(a, b));
        v
    }
    fn check(snap: &Snapshot4) {
        let all: Vec<Arc<Binding4>> = snap.iter().cloned().collect();
        // A table built in one go agrees with the one built change by change.
        let bulk = Table::from_records(all.iter().cloned());
        let examined = Cell::new(0);
        for t in [snap.table(), &bulk] {
            for relay in [&b"relay-A"[..], b"relay-B", b"relay-C"] {
                let got: Vec<_> = t
                    .ranked(Index4::RelayId as usize, relay, &examined)
                    .cloned()
                    .collect();
                assert_eq!(got, expected(&all, |b| b.relay_id() == Some(relay)));
            }
            // A MAC is not ranked (a handful of bindings each): nothing there.
            for c in 0..8 {
                let (k, len) = mac(c).key_bytes();
                assert_eq!(
                    t.ranked(Index4::Mac as usize, &k[..len], &examined).count(),
                    0
                );
            }
        }
        let got: Vec<_> = snap
            .active_by(Index4::RemoteId, b"modem", &examined)
            .cloned()
            .collect();
        assert_eq!(
            got,
            expected(&all, |b| b.remote_id() == Some(&b"modem"[..]))
        );
    }
    let store = Store::in_memory();
    let mut seed = 777u64;
    let mut next = |m: u32| {
        seed = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        ((seed >> 33) as u32) % m
    };
    let relays = [&b"relay-A"[..], b"relay-B", b"relay-C"];
    for round in 0..800u32 {
        let n = next(80);
        // cltt drawn from few seconds, so the store's sequence often decides.
        let cltt = NOW + u64::from(next(5));
        let relay = relays[next(3) as usize];
        match next(6) {
            0..=2 => {
                let b = relayed(active(n, next(8), cltt), relay, b"modem");
                let _ = store.v4().upsert(b, Completion::none());
            }
            3 => {
                let mut b = relayed(active(n, next(8), cltt), relay, b"modem");
                b.state = [State4::Released, State4::Expired, State4::Offered][next(3) as usize];
                let _ = store.v4().upsert(b, Completion::none());
            }
            4 => {
                let _ = store
                    .v4()
                    .expire(NOW + 3600 + u64::from(next(5)), 3, Completion::none());
            }
            _ => {
                let _ = store.v4().delete(addr(n), Completion::none());
            }
        }
        if round % 40 == 0 {
            check(&store.v4().snapshot());
        }
    }
    check(&store.v4().snapshot());
}

#[test]
fn the_most_recent_of_a_large_relay_costs_one_entry() {
    use lessor_store::Index4;
    use std::cell::Cell;
    let store = Store::in_memory();
    store.v4().write(Completion::none(), |batch| {
        for n in 0..20_000u32 {
            let b = relayed(active(n, n, NOW + u64::from(n % 97)), b"relay-A", b"modem");
            batch.upsert(b);
        }
    });
    let snap = store.v4().snapshot();
    let examined = Cell::new(0);
    let first = snap
        .active_by(Index4::RelayId, b"relay-A", &examined)
        .next()
        .unwrap()
        .clone();
    assert_eq!(examined.get(), 1);
    // cltt NOW + 96 is the latest; of those, the one written last.
    let want = (0..20_000u32).filter(|n| n % 97 == 96).max().unwrap();
    assert_eq!(first.address, addr(want));
}
