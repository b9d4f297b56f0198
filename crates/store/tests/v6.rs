//! The DHCPv6 family of the store: persistence in SQLite (every field, migration from the
//! schema before it, rows that do not decode), lookups (containing, DUID, IA, link, relay-id,
//! remote-id), expiry and cursors over a snapshot while writes go on.

mod common;

use std::net::Ipv6Addr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc, Mutex};
use std::time::Duration;

use common::*;
use lessor_store::{
    Backend, Binding6, Change, Change6, Completion, IaType, Key6, Loaded, State6, Store,
    StoreError, MAX_RELAY_CHAIN,
};
use rusqlite::Connection;

fn key(a: Ipv6Addr, len: u8) -> Key6 {
    Key6::new(a, len)
}

fn ip(s: &str) -> Ipv6Addr {
    s.parse().unwrap()
}

fn with_state(mut b: Binding6, s: State6) -> Binding6 {
    b.state = s;
    b
}

#[test]
fn round_trip_every_field_and_state() {
    let dir = temp_dir("v6-round-trip");
    let db = dir.join("leases.db");
    let chain: Vec<u8> = (0..MAX_RELAY_CHAIN).map(|i| i as u8).collect();
    let mut kept = Vec::new();
    {
        let (store, report) = Store::open_sqlite(&db).unwrap();
        assert_eq!(report.v6.loaded, 0);
        let (done, ticket) = Completion::ticket();
        store.v6().write(done, |b| {
            let mut full = relayed6(na(1, 1, NOW), b"relay-a", b"\x00\x00\x0d\xe9port-1");
            full.set_relay_chain(Some(&chain)).unwrap();
            full.iaid = u32::MAX;
            b.upsert(full);
            b.upsert(relayed6(
                pd("2001:db8:100:200::/56", 2, NOW - 5),
                b"relay-b",
                b"remote-b",
            ));
            // A direct client: no relay data at all.
            b.upsert(na(2, 3, NOW));
            for (n, s) in [
                State6::Released,
                State6::Expired,
                State6::Declined,
                State6::Reserved,
            ]
            .into_iter()
            .enumerate()
            {
                b.upsert(with_state(na(10 + n as u32, 10 + n as u32, NOW - 100), s));
            }
            // Memory only.
            b.upsert(with_state(na(20, 20, NOW), State6::Advertised));
            // Written, then deleted in the same transaction.
            b.upsert(na(21, 21, NOW));
            b.delete(key(addr6(21), 128));
        });
        ticket.wait().unwrap();
        let snap = store.v6().snapshot();
        kept.extend(
            snap.iter()
                .filter(|b| b.state != State6::Advertised)
                .cloned(),
        );
        assert_eq!(kept.len(), 7);
        store.close().unwrap();
    }
    let (store, report) = Store::open_sqlite(&db).unwrap();
    assert!(report.skipped.is_empty(), "{:?}", report.skipped);
    assert_eq!(report.v6.loaded, 7);
    assert_eq!(report.v4.loaded, 0);
    let snap = store.v6().snapshot();
    let loaded: Vec<Arc<Binding6>> = snap.iter().cloned().collect();
    assert_eq!(
        loaded.iter().map(|b| &**b).collect::<Vec<_>>(),
        kept.iter().map(|b| &**b).collect::<Vec<_>>(),
        "every field of every durable binding, nothing else"
    );
    let full = snap.get(key(addr6(1), 128)).unwrap();
    assert_eq!(full.relay_chain(), Some(&chain[..]));
    assert_eq!(full.relay_peer, Some(ip("2001:db8:ffff::1")));
    assert_eq!(full.iaid, u32::MAX);
    assert_eq!(
        (full.preferred_end, full.valid_end, full.t1, full.t2),
        (NOW + 1800, NOW + 3600, NOW + 900, NOW + 1440)
    );
    let p = snap.get(key(ip("2001:db8:100:200::"), 56)).unwrap();
    assert_eq!((p.ia_type, p.prefix_len), (IaType::Pd, 56));
    assert_eq!(p.relay_id(), Some(&b"relay-b"[..]));
    // Later writes are numbered above everything loaded.
    let highest = loaded.iter().map(|b| b.sequence).max().unwrap();
    store.v6().upsert(na(30, 30, NOW), Completion::none());
    assert!(store.v6().get(key(addr6(30), 128)).unwrap().sequence > highest);
}

#[test]
fn both_families_share_a_transaction_order_and_a_database() {
    let dir = temp_dir("v6-both");
    let db = dir.join("leases.db");
    {
        let (store, _) = Store::open_sqlite(&db).unwrap();
        store.v4().upsert(active(1, 1, NOW), Completion::none());
        store.v6().upsert(na(1, 1, NOW), Completion::none());
        store.v4().upsert(active(2, 2, NOW), Completion::none());
        store.close().unwrap();
    }
    let (store, report) = Store::open_sqlite(&db).unwrap();
    assert_eq!((report.v4.loaded, report.v6.loaded), (2, 1));
    let s4 = |n| store.v4().get(addr(n)).unwrap().sequence;
    let s6 = store.v6().get(key(addr6(1), 128)).unwrap().sequence;
    assert!(s4(1) < s6 && s6 < s4(2), "{} {} {}", s4(1), s6, s4(2));
}

/// A database as schema version 3 left it, with one lease4 row.
fn version_3_database(db: &std::path::Path) {
    let conn = Connection::open(db).unwrap();
    conn.execute_batch(
        "CREATE TABLE schema_version (id INTEGER PRIMARY KEY CHECK (id = 1), version INTEGER NOT NULL);
         INSERT INTO schema_version VALUES (1, 3);",
    )
    .unwrap();
    for sql in &lessor_store::schema::MIGRATIONS[..3] {
        conn.execute_batch(sql).unwrap();
    }
    conn.execute(
        "INSERT INTO lease4 (address, state, htype, chaddr, lease_start, lease_end, t1, t2, cltt, \
         subnet, state_since, sequence) \
         VALUES (?1, 'active', 1, x'020000000001', ?2, ?3, ?2, ?2, ?2, '198.18.0.0/15', ?2, 7)",
        rusqlite::params![u32::from(addr(1)), NOW as i64, NOW as i64 + 3600],
    )
    .unwrap();
    conn.execute("INSERT INTO meta (key, value) VALUES ('k', 'v')", [])
        .unwrap();
}

#[test]
fn a_version_3_database_migrates_and_keeps_its_v4_rows() {
    let dir = temp_dir("v6-migrate");
    let db = dir.join("leases.db");
    version_3_database(&db);
    assert_eq!(lessor_store::schema::current_version(), 4);
    {
        let (store, report) = Store::open_sqlite(&db).unwrap();
        assert!(report.skipped.is_empty(), "{:?}", report.skipped);
        assert_eq!((report.v4.loaded, report.v6.loaded), (1, 0));
        assert_eq!(report.meta.get("k").map(String::as_str), Some("v"));
        let b = store.v4().get(addr(1)).unwrap();
        assert_eq!((b.state, b.sequence), (lessor_store::State4::Active, 7));
        store
            .v6()
            .upsert(pd("2001:db8:100::/56", 1, NOW), Completion::none());
        store.close().unwrap();
    }
    let conn = Connection::open(&db).unwrap();
    let v: i64 = conn
        .query_row("SELECT version FROM schema_version", [], |r| r.get(0))
        .unwrap();
    assert_eq!(v, 4);
    let text: (String, i64, String) = conn
        .query_row(
            "SELECT address, prefix_len, state FROM lease6_text",
            [],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .unwrap();
    assert_eq!(
        text,
        (
            "20010db8010000000000000000000000".to_string(),
            56,
            "active".to_string()
        )
    );
    drop(conn);
    let (_, report) = Store::open_sqlite(&db).unwrap();
    assert_eq!((report.v4.loaded, report.v6.loaded), (1, 1));
}

#[test]
fn lease6_rows_that_do_not_decode_are_skipped_and_reported() {
    let dir = temp_dir("v6-bad-rows");
    let db = dir.join("leases.db");
    {
        let (store, _) = Store::open_sqlite(&db).unwrap();
        store.v6().upsert(na(1, 1, NOW), Completion::none());
        store.close().unwrap();
    }
    let conn = Connection::open(&db).unwrap();
    let insert = |address: &[u8], prefix_len: i64, ia_type: &str, state: &str, link: &str| {
        conn.execute(
            "INSERT INTO lease6 (address, prefix_len, ia_type, iaid, state, link, duid, \
             lease_start, preferred_end, valid_end, t1, t2, cltt, state_since, sequence) \
             VALUES (?1, ?2, ?3, 1, ?4, ?5, x'0001', 0, 0, 0, 0, 0, 0, 0, 0)",
            rusqlite::params![address, prefix_len, ia_type, state, link],
        )
        .unwrap();
    };
    let a = |n: u32| addr6(n).octets().to_vec();
    insert(&a(2)[..15], 128, "ia-na", "active", "2001:db8:1::/64");
    insert(&a(3), 128, "ia-na", "offered", "2001:db8:1::/64");
    insert(&a(4), 129, "ia-na", "active", "2001:db8:1::/64");
    insert(&a(5), 64, "ia-pd", "active", "2001:db8:1::/64"); // host bits set
    insert(&a(6), 128, "ia-ta", "active", "2001:db8:1::/64");
    insert(&a(7), 128, "ia-na", "active", "not a prefix");
    insert(&a(8), 128, "ia-na", "active", "2001:db8:1::/64"); // fine
    drop(conn);
    let (store, report) = Store::open_sqlite(&db).unwrap();
    assert_eq!(report.v6.loaded, 2);
    assert_eq!(report.skipped.len(), 6, "{:?}", report.skipped);
    for s in &report.skipped {
        assert_eq!(s.table, "lease6");
        assert!(s.key.is_some(), "{s}");
    }
    let reasons: Vec<&str> = report.skipped.iter().map(|s| s.reason.as_str()).collect();
    for (i, column) in [
        "address",
        "state",
        "prefix_len",
        "address",
        "ia_type",
        "link",
    ]
    .iter()
    .enumerate()
    {
        assert!(
            reasons[i].starts_with(&format!("column {column}")),
            "{reasons:?}"
        );
    }
    assert!(reasons[1].ends_with("(2001:db8:1::1003)"), "{reasons:?}");
    assert!(reasons[3].ends_with("(2001:db8:1::1005/64)"), "{reasons:?}");
    assert!(store.v6().get(key(addr6(8), 128)).is_some());
}

#[test]
fn containing_finds_the_address_or_the_delegated_prefix() {
    let store = Store::in_memory();
    store.v6().write(Completion::none(), |b| {
        b.upsert(na(1, 1, NOW));
        b.upsert(pd("2001:db8:100::/56", 2, NOW));
        // Adjacent to it.
        b.upsert(pd("2001:db8:100:100::/56", 3, NOW));
        b.upsert(with_state(
            pd("2001:db8:100:300::/56", 4, NOW),
            State6::Expired,
        ));
        b.upsert(pd("2001:db8:200::/48", 5, NOW));
    });
    let snap = store.v6().snapshot();
    let at = |a: &str| snap.containing(ip(a)).map(|b| b.prefix().to_string());
    assert_eq!(
        at("2001:db8:1::1001").as_deref(),
        Some("2001:db8:1::1001/128")
    );
    assert_eq!(at("2001:db8:1::1002"), None, "an address without a binding");
    assert_eq!(at("2001:db8:100::").as_deref(), Some("2001:db8:100::/56"));
    assert_eq!(
        at("2001:db8:100:ff:ffff:ffff:ffff:ffff").as_deref(),
        Some("2001:db8:100::/56")
    );
    assert_eq!(
        at("2001:db8:100:100::").as_deref(),
        Some("2001:db8:100:100::/56")
    );
    assert_eq!(
        at("2001:db8:100:1ff::1").as_deref(),
        Some("2001:db8:100:100::/56")
    );
    assert_eq!(
        at("2001:db8:100:200::1"),
        None,
        "between delegated prefixes"
    );
    assert_eq!(
        at("2001:db8:100:3ab::1").as_deref(),
        Some("2001:db8:100:300::/56"),
        "in any state"
    );
    assert_eq!(
        at("2001:db8:200:ffff::1").as_deref(),
        Some("2001:db8:200::/48")
    );
    assert_eq!(at("2001:db8:201::"), None, "just past the last prefix");
    assert_eq!(at("2001:db8::1"), None, "below every binding");
    assert_eq!(at("::"), None);
    assert_eq!(at("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"), None);
}

#[test]
fn lookups_by_duid_ia_and_link_are_in_key_order() {
    let store = Store::in_memory();
    let other: ipnet::Ipv6Net = "2001:db8:2::/64".parse().unwrap();
    store.v6().write(Completion::none(), |b| {
        b.upsert(na(5, 1, NOW));
        b.upsert(na(3, 1, NOW + 10));
        let mut second_ia = na(4, 1, NOW);
        second_ia.iaid = 9;
        b.upsert(second_ia);
        b.upsert(pd("2001:db8:100::/56", 1, NOW));
        b.upsert(na(6, 2, NOW));
        let mut elsewhere = na(7, 1, NOW);
        elsewhere.link = other;
        b.upsert(elsewhere);
    });
    let snap = store.v6().snapshot();
    let keys = |v: &[Arc<Binding6>]| v.iter().map(|b| b.prefix().to_string()).collect::<Vec<_>>();
    assert_eq!(
        keys(&snap.by_duid(&duid(1))),
        [
            "2001:db8:1::1003/128",
            "2001:db8:1::1004/128",
            "2001:db8:1::1005/128",
            "2001:db8:1::1007/128",
            "2001:db8:100::/56"
        ]
    );
    assert_eq!(
        keys(&snap.by_ia(&duid(1), 1, IaType::Na)),
        [
            "2001:db8:1::1003/128",
            "2001:db8:1::1005/128",
            "2001:db8:1::1007/128"
        ]
    );
    assert_eq!(
        keys(&snap.by_ia(&duid(1), 2, IaType::Pd)),
        ["2001:db8:100::/56"]
    );
    assert!(snap.by_ia(&duid(1), 2, IaType::Na).is_empty());
    assert!(snap.by_duid(&duid(99)).is_empty());
    let on_link: Vec<_> = snap.by_link(&link6()).collect();
    assert_eq!(
        keys(&on_link),
        [
            "2001:db8:1::1003/128",
            "2001:db8:1::1004/128",
            "2001:db8:1::1005/128",
            "2001:db8:1::1006/128",
            "2001:db8:100::/56"
        ]
    );
    assert_eq!(
        keys(&snap.by_link(&other).collect::<Vec<_>>()),
        ["2001:db8:1::1007/128"]
    );
}

#[test]
fn by_relay_id_and_remote_id_give_active_most_recent_first_then_the_rest() {
    let store = Store::in_memory();
    store.v6().write(Completion::none(), |b| {
        b.upsert(relayed6(na(1, 1, NOW - 30), b"relay-a", b"remote-1"));
        b.upsert(relayed6(na(2, 2, NOW - 10), b"relay-a", b"remote-1"));
        b.upsert(relayed6(
            with_state(na(3, 3, NOW), State6::Expired),
            b"relay-a",
            b"remote-1",
        ));
        b.upsert(relayed6(
            pd("2001:db8:100::/56", 4, NOW - 20),
            b"relay-a",
            b"remote-2",
        ));
        b.upsert(relayed6(
            with_state(na(0, 5, NOW), State6::Released),
            b"relay-a",
            b"remote-2",
        ));
        // Same second as address 1: written later, so more recent.
        b.upsert(relayed6(na(9, 6, NOW - 30), b"relay-a", b"remote-2"));
        b.upsert(relayed6(na(8, 7, NOW), b"relay-b", b"remote-1"));
    });
    let snap = store.v6().snapshot();
    let order = |c: lessor_store::Cursor6| c.map(|b| b.address).collect::<Vec<_>>();
    assert_eq!(
        order(snap.by_relay_id(b"relay-a")),
        [
            addr6(2),
            ip("2001:db8:100::"),
            addr6(9),
            addr6(1),
            // Then the others, in key order.
            addr6(0),
            addr6(3)
        ]
    );
    assert_eq!(
        order(snap.by_remote_id(b"remote-1")),
        [addr6(8), addr6(2), addr6(1), addr6(3)]
    );
    assert!(order(snap.by_relay_id(b"relay-z")).is_empty());
    assert!(snap.knows_relay_id(b"relay-b") && snap.knows_remote_id(b"remote-2"));
    assert!(!snap.knows_relay_id(b"remote-1") && !snap.knows_remote_id(b"relay-a"));

    // A renewal makes a binding the most recent.
    store.v6().upsert(
        relayed6(na(1, 1, NOW + 5), b"relay-a", b"remote-1"),
        Completion::none(),
    );
    let first = store
        .v6()
        .snapshot()
        .by_relay_id(b"relay-a")
        .next()
        .unwrap();
    assert_eq!(first.address, addr6(1));
}

#[test]
fn expiry_moves_active_bindings_past_their_valid_lifetime_and_is_persisted() {
    let dir = temp_dir("v6-expiry");
    let db = dir.join("leases.db");
    {
        let (store, _) = Store::open_sqlite(&db).unwrap();
        store.v6().write(Completion::none(), |b| {
            b.upsert(na(1, 1, NOW - 4000)); // valid until NOW - 400
            b.upsert(pd("2001:db8:100::/56", 2, NOW - 3700)); // valid until NOW - 100
            b.upsert(na(2, 3, NOW)); // valid until NOW + 3600
            b.upsert(with_state(na(3, 4, NOW - 9000), State6::Reserved));
        });
        assert!(store.v6().snapshot().reusable(NOW).next().is_none());
        let (done, ticket) = Completion::ticket();
        let expired = store.v6().expire(NOW, 1, done);
        ticket.wait().unwrap();
        assert_eq!(expired.len(), 1, "at most max");
        assert_eq!(expired[0].address, addr6(1), "earliest first");
        let (done, ticket) = Completion::ticket();
        let expired = store.v6().expire(NOW, 10, done);
        ticket.wait().unwrap();
        assert_eq!(expired.len(), 1);
        assert_eq!(expired[0].prefix_len, 56);
        assert_eq!(
            (expired[0].state, expired[0].state_since),
            (State6::Expired, NOW - 100)
        );
        assert!(store.v6().expire(NOW, 10, Completion::none()).is_empty());
        let reusable: Vec<_> = store
            .v6()
            .snapshot()
            .reusable(NOW)
            .map(|b| b.address)
            .collect();
        assert_eq!(
            reusable,
            [addr6(1), ip("2001:db8:100::")],
            "longest free first"
        );
        store.close().unwrap();
    }
    let (store, _) = Store::open_sqlite(&db).unwrap();
    let snap = store.v6().snapshot();
    let states: Vec<State6> = snap.iter().map(|b| b.state).collect();
    assert_eq!(
        states,
        [
            State6::Expired,
            State6::Active,
            State6::Reserved,
            State6::Expired
        ]
    );
    assert_eq!(snap.get(key(addr6(1), 128)).unwrap().state_since, NOW - 400);
}

#[test]
fn a_cursor_streams_its_snapshot_while_writes_go_on() {
    let store = Store::in_memory();
    // More than the cursors fetch at once (256), so the walks resume.
    let n = 700u32;
    let (done, ticket) = Completion::ticket();
    store.v6().write(done, |b| {
        for i in 0..n {
            let mut x = relayed6(na(i, i, NOW - u64::from(i)), b"relay-a", b"remote-a");
            if i % 3 == 0 {
                x.state = State6::Released;
            }
            b.upsert(x);
        }
    });
    ticket.wait().unwrap();
    let snap = store.v6().durable_snapshot();
    assert!(!snap.has_changes_in_flight());
    let mut by_relay = snap.by_relay_id(b"relay-a");
    let mut by_link = snap.by_link(&link6());
    let mut relay_got = by_relay.next_batch(100);
    let mut link_got = by_link.next_batch(100);
    // Writes go on: deletions, renewals, new bindings of the same relay and link.
    store.v6().write(Completion::none(), |b| {
        for i in 0..n {
            match i % 4 {
                0 => {
                    b.delete(key(addr6(i), 128));
                }
                1 => {
                    b.upsert(relayed6(na(i, i, NOW + 100), b"relay-a", b"remote-a"));
                }
                _ => {}
            }
            b.upsert(relayed6(na(n + i, n + i, NOW), b"relay-a", b"remote-a"));
        }
    });
    loop {
        let batch = by_relay.next_batch(97);
        if batch.is_empty() {
            break;
        }
        relay_got.extend(batch);
    }
    loop {
        let batch = by_link.next_batch(97);
        if batch.is_empty() {
            break;
        }
        link_got.extend(batch);
    }
    let active = (0..n).filter(|i| i % 3 != 0).count();
    assert_eq!(relay_got.len(), n as usize);
    // Active first, most recent (smallest i) first; then the released ones in key order.
    let expected: Vec<Ipv6Addr> = (0..n)
        .filter(|i| i % 3 != 0)
        .chain((0..n).filter(|i| i % 3 == 0))
        .map(addr6)
        .collect();
    assert_eq!(
        relay_got.iter().map(|b| b.address).collect::<Vec<_>>(),
        expected
    );
    assert!(relay_got[..active]
        .iter()
        .all(|b| b.state == State6::Active));
    assert_eq!(
        link_got.iter().map(|b| b.address).collect::<Vec<_>>(),
        (0..n).map(addr6).collect::<Vec<_>>(),
        "the snapshot's bindings, in key order, each once"
    );
    assert!(link_got.iter().all(|b| b.cltt <= NOW));
    assert_eq!(store.v6().len(), (2 * n - n / 4) as usize);
}

/// A backend whose commits fail on demand and can be held inside a commit (the changes are then
/// in flight); it counts the v6 changes it was given and checks none is an advertisement.
struct Injected {
    fail: Arc<AtomicBool>,
    gate: Arc<Mutex<Option<mpsc::Receiver<()>>>>,
    seen: Arc<Mutex<Vec<Change6>>>,
}

impl Backend for Injected {
    fn load(&mut self) -> Result<Loaded, StoreError> {
        Ok(Loaded::default())
    }

    fn apply(&mut self, changes: &[Change]) -> Result<(), StoreError> {
        if let Some(rx) = &*self.gate.lock().unwrap() {
            let _ = rx.recv_timeout(Duration::from_secs(10));
        }
        for c in changes {
            if let Change::V6(c) = c {
                self.seen.lock().unwrap().push(c.clone());
            }
        }
        if self.fail.load(Ordering::SeqCst) {
            return Err(StoreError::db(
                "commit",
                std::io::Error::other("No space left on device"),
            ));
        }
        Ok(())
    }
}

struct Rig {
    store: Store,
    fail: Arc<AtomicBool>,
    gate: Arc<Mutex<Option<mpsc::Receiver<()>>>>,
    seen: Arc<Mutex<Vec<Change6>>>,
}

impl Rig {
    fn new() -> Rig {
        let fail = Arc::new(AtomicBool::new(false));
        let gate = Arc::new(Mutex::new(None));
        let seen = Arc::new(Mutex::new(Vec::new()));
        let (store, _) = Store::open(Box::new(Injected {
            fail: fail.clone(),
            gate: gate.clone(),
            seen: seen.clone(),
        }))
        .unwrap();
        Rig {
            store,
            fail,
            gate,
            seen,
        }
    }

    fn write(&self, f: impl FnOnce(&mut lessor_store::Batch6<'_>)) -> lessor_store::Ticket {
        let (done, ticket) = Completion::ticket();
        self.store.v6().write(done, f);
        ticket
    }

    fn upsert(&self, b: Binding6) -> Result<(), StoreError> {
        self.write(|batch| {
            batch.upsert(b);
        })
        .wait()
    }

    /// Holds the next commits until a message is sent on the returned channel.
    fn hold(&self) -> mpsc::Sender<()> {
        let (tx, rx) = mpsc::channel();
        *self.gate.lock().unwrap() = Some(rx);
        tx
    }
}

#[test]
fn a_failed_commit_rolls_back_and_the_durable_view_hides_changes_in_flight() {
    let rig = Rig::new();
    let old = relayed6(na(1, 1, NOW), b"relay-a", b"remote-a");
    rig.upsert(old).unwrap();
    rig.upsert(pd("2001:db8:100::/56", 2, NOW)).unwrap();
    let durable = rig.store.v6().get(key(addr6(1), 128)).unwrap();

    // A renewal that fails: memory goes back to the durable binding. A new binding that fails
    // disappears; a deleted one comes back.
    rig.fail.store(true, Ordering::SeqCst);
    assert!(rig
        .upsert(relayed6(na(1, 1, NOW + 10), b"relay-a", b"remote-a"))
        .is_err());
    assert!(Arc::ptr_eq(
        &rig.store.v6().get(key(addr6(1), 128)).unwrap(),
        &durable
    ));
    assert!(rig.upsert(na(2, 2, NOW)).is_err());
    assert!(rig.store.v6().get(key(addr6(2), 128)).is_none());
    assert!(rig
        .write(|b| {
            b.delete(key(ip("2001:db8:100::"), 56));
        })
        .wait()
        .is_err());
    assert!(rig.store.v6().get(key(ip("2001:db8:100::"), 56)).is_some());
    assert_eq!(rig.store.v6().in_flight(), 0);
    rig.fail.store(false, Ordering::SeqCst);

    // Changes held inside a commit: the live view has them, the durable one does not, in
    // every lookup.
    let release = rig.hold();
    let ticket = rig.write(|b| {
        // The address moves to another client through another relay.
        b.upsert(relayed6(na(1, 9, NOW + 20), b"relay-b", b"remote-b"));
        b.delete(key(ip("2001:db8:100::"), 56));
        b.upsert(relayed6(na(3, 3, NOW + 20), b"relay-a", b"remote-a"));
        // Never persisted.
        b.upsert(with_state(na(4, 4, NOW + 20), State6::Advertised));
    });
    let live = rig.store.v6().snapshot();
    let dur = rig.store.v6().durable_snapshot();
    assert_eq!(rig.store.v6().in_flight(), 3);
    assert!(dur.has_changes_in_flight() && !live.has_changes_in_flight());
    assert_eq!((live.len(), dur.len()), (3, 3));
    assert_eq!(
        live.get(key(addr6(1), 128)).unwrap().duid(),
        Some(&duid(9)[..])
    );
    assert!(Arc::ptr_eq(dur.get(key(addr6(1), 128)).unwrap(), &durable));
    assert!(live.containing(ip("2001:db8:100::1")).is_none());
    assert_eq!(
        dur.containing(ip("2001:db8:100::1")).unwrap().prefix_len,
        56
    );
    assert!(dur.get(key(addr6(3), 128)).is_none());
    // Memory only: not a change in flight, so both views show it.
    assert_eq!(
        dur.get(key(addr6(4), 128)).unwrap().state,
        State6::Advertised
    );
    let addrs = |c: lessor_store::Cursor6| c.map(|b| b.address).collect::<Vec<_>>();
    assert_eq!(addrs(live.by_relay_id(b"relay-a")), [addr6(3)]);
    assert_eq!(addrs(dur.by_relay_id(b"relay-a")), [addr6(1)]);
    assert_eq!(addrs(dur.by_remote_id(b"remote-a")), [addr6(1)]);
    assert!(addrs(dur.by_relay_id(b"relay-b")).is_empty());
    assert!(dur.knows_relay_id(b"relay-a") && !dur.knows_relay_id(b"relay-b"));
    assert_eq!(dur.by_duid(&duid(1)).len(), 1);
    assert!(dur.by_duid(&duid(9)).is_empty() && live.by_duid(&duid(1)).is_empty());
    assert_eq!(
        addrs(dur.by_link(&link6())),
        [addr6(1), addr6(4), ip("2001:db8:100::")]
    );
    assert_eq!(
        dur.iter().map(|b| b.address).collect::<Vec<_>>(),
        [addr6(1), addr6(4), ip("2001:db8:100::")]
    );
    assert_eq!(
        dur.range_from(key(addr6(2), 128))
            .map(|b| b.address)
            .collect::<Vec<_>>(),
        [addr6(4), ip("2001:db8:100::")]
    );
    release.send(()).unwrap();
    ticket.wait().unwrap();
    *rig.gate.lock().unwrap() = None;
    let dur = rig.store.v6().durable_snapshot();
    assert_eq!(rig.store.v6().in_flight(), 0);
    assert_eq!(addrs(dur.by_relay_id(b"relay-a")), [addr6(3)]);
    assert_eq!(
        dur.get(key(addr6(1), 128)).unwrap().duid(),
        Some(&duid(9)[..])
    );
    // Advertisements never reach the backend.
    assert!(rig.seen.lock().unwrap().iter().all(|c| match c {
        Change6::Upsert(b) => b.state != State6::Advertised,
        Change6::Delete(_) => true,
    }));
}

#[test]
fn a_renewal_keeps_state_since_and_a_new_client_resets_it() {
    let store = Store::in_memory();
    store.v6().upsert(na(1, 1, NOW), Completion::none());
    store.v6().upsert(na(1, 1, NOW + 600), Completion::none());
    let b = store.v6().get(key(addr6(1), 128)).unwrap();
    assert_eq!((b.state_since, b.cltt), (NOW, NOW + 600));
    store.v6().upsert(na(1, 2, NOW + 700), Completion::none());
    assert_eq!(
        store.v6().get(key(addr6(1), 128)).unwrap().state_since,
        NOW + 700
    );
    // Restored exactly as given; later writes still numbered above it.
    let mut r = na(5, 5, NOW);
    r.sequence = 1_000_000;
    r.state_since = 17;
    store.v6().write(Completion::none(), |b| {
        b.restore(r.clone());
    });
    assert_eq!(*store.v6().get(key(addr6(5), 128)).unwrap(), r);
    store.v6().upsert(na(6, 6, NOW), Completion::none());
    assert!(store.v6().get(key(addr6(6), 128)).unwrap().sequence > 1_000_000);
}

#[test]
fn a_corrupt_lease6_page_is_reported_and_the_rest_loads() {
    let dir = temp_dir("v6-corrupt-page");
    let db = dir.join("leases.db");
    let total = 4000u32;
    {
        let (store, _) = Store::open_sqlite(&db).unwrap();
        store.v4().upsert(active(1, 1, NOW), Completion::none());
        store.v6().write(Completion::none(), |b| {
            for n in 0..total {
                let mark = format!("MARK{n:05}");
                b.upsert(na(n, n, NOW).with_interface_id(mark.as_bytes()).unwrap());
            }
        });
        store.close().unwrap();
    }
    // Closing the last connection checkpoints the WAL into the main file.
    let mut bytes = std::fs::read(&db).unwrap();
    let page_size = 4096;
    let pos = bytes
        .windows(9)
        .position(|w| w == b"MARK02000")
        .expect("row in the main file");
    let page = pos / page_size;
    for b in &mut bytes[page * page_size..(page + 1) * page_size] {
        *b = 0xff;
    }
    std::fs::write(&db, &bytes).unwrap();

    let (store, report) = Store::open_sqlite(&db).expect("starts despite a corrupt page");
    assert!(
        report
            .skipped
            .iter()
            .any(|s| s.table == "lease6" && s.reason.contains("database error")),
        "{:?}",
        report.skipped
    );
    assert!(report.v6.loaded < total as usize);
    assert_eq!(report.v4.loaded, 1);
    let snap = store.v6().snapshot();
    assert!(
        snap.get(key(addr6(0), 128)).is_some(),
        "rows before the bad page load"
    );
    assert!(
        snap.get(key(addr6(total - 1), 128)).is_some(),
        "rows after the bad page load"
    );
    assert!(snap.get(key(addr6(2000), 128)).is_none());
}

#[test]
fn the_durable_relay_id_walk_keeps_a_renewal_in_flight_at_its_durable_place() {
    let rig = Rig::new();
    let n = 300u32;
    rig.write(|b| {
        for i in 0..n {
            b.upsert(relayed6(
                na(i, i, NOW - u64::from(i)),
                b"relay-a",
                b"remote-a",
            ));
        }
        b.upsert(relayed6(
            with_state(na(n, n, NOW), State6::Expired),
            b"relay-a",
            b"remote-a",
        ));
    })
    .wait()
    .unwrap();
    let release = rig.hold();
    // A renewal of 150 (the most recent now) and a release of 10, held inside the commit.
    let ticket = rig.write(|b| {
        b.upsert(relayed6(na(150, 150, NOW + 60), b"relay-a", b"remote-a"));
        b.upsert(relayed6(
            with_state(na(10, 10, NOW - 10), State6::Released),
            b"relay-a",
            b"remote-a",
        ));
    });
    let walk = |s: &lessor_store::Snapshot6| {
        let mut c = s.by_relay_id(b"relay-a");
        let mut out = Vec::new();
        loop {
            let batch = c.next_batch(64);
            if batch.is_empty() {
                break out;
            }
            out.extend(batch.iter().map(|b| (b.address, b.state)));
        }
    };
    let active = |i: u32| (addr6(i), State6::Active);
    let durable: Vec<_> = (0..n)
        .map(active)
        .chain([(addr6(n), State6::Expired)])
        .collect();
    assert_eq!(walk(&rig.store.v6().durable_snapshot()), durable);
    let live: Vec<_> = [active(150)]
        .into_iter()
        .chain((0..n).filter(|i| *i != 150 && *i != 10).map(active))
        .chain([(addr6(10), State6::Released), (addr6(n), State6::Expired)])
        .collect();
    assert_eq!(walk(&rig.store.v6().snapshot()), live);
    release.send(()).unwrap();
    ticket.wait().unwrap();
    *rig.gate.lock().unwrap() = None;
    assert_eq!(walk(&rig.store.v6().durable_snapshot()), live);
}

/// Every point look-up ([`lessor_store::Points6`]) answers as the durable snapshot of the same
/// moment does, through random writes, deletes, expiries, failed commits and changes held in
/// flight, with addresses and prefixes of two lengths.
#[test]
fn point_lookups_answer_as_the_durable_snapshot() {
    use lessor_store::Lookup6;

    let rig = Rig::new();
    let seed = std::cell::Cell::new(0x2545_f491_4f6c_dd1du64);
    let next = |n: u64| {
        let mut s = seed.get();
        s ^= s << 13;
        s ^= s >> 7;
        s ^= s << 17;
        seed.set(s);
        s % n
    };
    let prefix = |n: u64| -> String {
        if n.is_multiple_of(2) {
            format!("2001:db8:100:{:x}00::/56", n)
        } else {
            format!("2001:db8:200:{:x}0::/60", n)
        }
    };
    let mut probes: Vec<Ipv6Addr> = (0..40).map(addr6).collect();
    for n in 0..24u64 {
        let p: ipnet::Ipv6Net = prefix(n).parse().unwrap();
        probes.push(p.network());
        probes.push(Ipv6Addr::from(p.network().to_bits() + 7));
        probes.push(p.broadcast());
    }
    probes.push(ip("2001:db8:300::1"));
    let (in_flight, in_prefix) = (std::cell::Cell::new(0), std::cell::Cell::new(0));
    let check = |step: usize| {
        let dur = rig.store.v6().durable_snapshot();
        in_flight.set(in_flight.get() + usize::from(dur.has_changes_in_flight()));
        rig.store.v6().durable_points(|points| {
            for a in &probes {
                assert_eq!(
                    points.containing(*a),
                    dur.containing(*a),
                    "step {step}, containing {a}"
                );
                let found = points.containing(*a).is_some_and(|b| b.prefix_len < 128);
                in_prefix.set(in_prefix.get() + usize::from(found));
            }
            for c in 0..13 {
                assert_eq!(
                    points.by_duid(&duid(c)),
                    dur.by_duid(&duid(c)),
                    "step {step}, client {c}"
                );
            }
        });
    };
    let mut held = Vec::new();
    let mut release = None;
    for step in 0..600 {
        let cltt = NOW + step as u64;
        let one = |b: &mut lessor_store::Batch6<'_>| match next(6) {
            0 | 1 => {
                b.upsert(na(next(40) as u32, next(12) as u32, cltt));
            }
            2 => {
                b.upsert(pd(&prefix(next(24)), next(12) as u32, cltt));
            }
            3 => {
                let n = next(24);
                let p: ipnet::Ipv6Net = prefix(n).parse().unwrap();
                b.delete(key(p.network(), p.prefix_len()));
            }
            4 => {
                b.delete(key(addr6(next(40) as u32), 128));
            }
            _ => {
                b.expire(cltt - 3000, 3);
            }
        };
        match next(10) {
            // A change held inside a commit: in flight until released.
            0 if release.is_none() => {
                release = Some(rig.hold());
                held.push(rig.write(|b| {
                    one(b);
                    one(b);
                }));
            }
            1 if release.is_some() => {
                held.push(rig.write(|b| one(b)));
            }
            2 if release.is_some() => {
                let _ = release.take().unwrap().send(());
                for t in held.drain(..) {
                    let _ = t.wait();
                }
                *rig.gate.lock().unwrap() = None;
                rig.fail.store(false, Ordering::SeqCst);
            }
            // The commit held now fails when released.
            3 if release.is_some() => rig.fail.store(true, Ordering::SeqCst),
            4 if release.is_none() => {
                rig.fail.store(true, Ordering::SeqCst);
                let _ = rig.write(|b| one(b)).wait();
                rig.fail.store(false, Ordering::SeqCst);
            }
            _ if release.is_none() => {
                rig.write(|b| one(b)).wait().unwrap();
            }
            _ => {}
        }
        check(step);
    }
    if let Some(r) = release {
        let _ = r.send(());
        for t in held {
            let _ = t.wait();
        }
    }
    // The walk met changes in flight and delegated prefixes (else it proves little).
    assert!(in_flight.get() > 50, "{} steps in flight", in_flight.get());
    assert!(
        in_prefix.get() > 500,
        "{} found in a prefix",
        in_prefix.get()
    );
}

/// A write made on what a snapshot showed runs only while every key it names still holds that
/// record: a record that came in since (another server's, through the feed) is never
/// overwritten unseen, and the caller hears `Taken` (docs/protocol.md decision 43).
#[test]
fn a_write_if_unchanged_refuses_a_key_that_changed_since_the_snapshot() {
    let store = Store::in_memory();
    store.v6().upsert(na(1, 1, NOW), Completion::none());
    let snap = store.v6().snapshot();
    let k1 = key(addr6(1), 128);
    let k2 = key(addr6(2), 128);
    let seen = [(k1, snap.get(k1).cloned()), (k2, snap.get(k2).cloned())];
    // Unchanged: it runs.
    let (done, ticket) = Completion::ticket();
    let out = store
        .v6()
        .write_if_unchanged(done, &seen, |b| b.upsert(na(2, 2, NOW)).is_none());
    assert_eq!(out, Some(true));
    ticket.wait().unwrap();
    // Key 2 now holds a record the snapshot did not show: refused, nothing written.
    let (done, ticket) = Completion::ticket();
    let out = store
        .v6()
        .write_if_unchanged(done, &seen, |b| b.upsert(na(2, 9, NOW)));
    assert!(out.is_none());
    assert!(matches!(ticket.wait(), Err(StoreError::Taken)));
    assert_eq!(
        store.v6().get(k2).unwrap().duid(),
        Some(&duid(2)[..]),
        "the record that came in is kept"
    );
    // A key that was free and still is passes; one that went away since does not.
    store.v6().delete(k1, Completion::none());
    let (done, ticket) = Completion::ticket();
    assert!(store
        .v6()
        .write_if_unchanged(done, &seen[..1], |b| b.upsert(na(1, 3, NOW)))
        .is_none());
    assert!(matches!(ticket.wait(), Err(StoreError::Taken)));
}
