//! The PostgreSQL backend against a real server (see `support`): every field of both families
//! through a write and a load, the guard rules, two servers' feeds, migrations, reconnection,
//! TLS, and the store on top of it.

mod support;

use std::net::{Ipv4Addr, Ipv6Addr};
use std::sync::Arc;
use std::time::Duration;

use lessor_store::{
    Backend, Binding4, Binding6, Change, Change4, Change6, Completion, Fields4, Fields6, Group,
    Guard, HwAddr, IaType, Remote, State4, State6, Store, StoreError,
};
use lessor_store_pg::{PgBackend, TlsMode};
use support::TempPg;

/// A small deterministic generator (xorshift), so a failure repeats.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    fn bytes(&mut self, max: usize) -> Vec<u8> {
        let n = self.below(max as u64 + 1) as usize;
        (0..n).map(|_| self.next() as u8).collect()
    }
    fn maybe(&mut self, max: usize) -> Option<Vec<u8>> {
        (self.below(3) != 0).then(|| self.bytes(max))
    }
    fn time(&mut self) -> u64 {
        // Include the extremes a time column must keep.
        match self.below(10) {
            0 => 0,
            1 => i64::MAX as u64,
            _ => 1_700_000_000 + self.below(1 << 30),
        }
    }
}

fn binding4(i: u32, rng: &mut Rng) -> Binding4 {
    let durable = [
        State4::Active,
        State4::Released,
        State4::Expired,
        State4::Declined,
        State4::Reserved,
    ];
    let state = durable[rng.below(5) as usize];
    let chaddr = rng.bytes(16);
    let hw = HwAddr::new(rng.next() as u8, &chaddr).unwrap();
    let address = Ipv4Addr::from(u32::from(Ipv4Addr::new(198, 18, 0, 0)) + i);
    let mut b = Binding4::new(address, "198.18.0.0/15".parse().unwrap(), hw, state)
        .with_times(rng.time(), rng.time(), rng.time(), rng.time(), rng.time())
        .with_state_since(rng.time());
    b.sequence = rng.below(i64::MAX as u64);
    let v: Vec<Option<Vec<u8>>> = (0..7).map(|_| rng.maybe(255)).collect();
    b.set_fields(Fields4 {
        client_id: v[0].as_deref(),
        relay_agent_information: v[1].as_deref(),
        circuit_id: v[2].as_deref(),
        remote_id: v[3].as_deref(),
        relay_id: v[4].as_deref(),
        vendor_class_id: v[5].as_deref(),
        hostname: v[6].as_deref(),
    })
    .unwrap();
    b
}

fn binding6(i: u32, rng: &mut Rng) -> Binding6 {
    let durable = [
        State6::Active,
        State6::Released,
        State6::Expired,
        State6::Declined,
        State6::Reserved,
    ];
    let state = durable[rng.below(5) as usize];
    let (address, len, ia) = if i.is_multiple_of(2) {
        let a = Ipv6Addr::from(0x2001_0db8_0001_0000_0000_0000_0000_0000u128 + u128::from(i));
        (a, 128, IaType::Na)
    } else {
        let a =
            Ipv6Addr::from(0x2001_0db8_8000_0000_0000_0000_0000_0000u128 + (u128::from(i) << 72));
        (a, 56, IaType::Pd)
    };
    let duid = rng.bytes(130);
    let mut b = Binding6::new(
        address,
        len,
        ia,
        &duid,
        rng.next() as u32,
        "2001:db8:1::/64".parse().unwrap(),
        state,
    )
    .unwrap()
    .with_times(
        rng.time(),
        rng.time(),
        rng.time(),
        rng.time(),
        rng.time(),
        rng.time(),
    )
    .with_state_since(rng.time());
    b.sequence = rng.below(i64::MAX as u64);
    b.relay_peer = (rng.below(2) == 0).then(|| Ipv6Addr::from(rng.next() as u128));
    let chain = rng.maybe(2048);
    let v: Vec<Option<Vec<u8>>> = (0..3).map(|_| rng.maybe(255)).collect();
    b.set_fields(Fields6 {
        duid: Some(&duid),
        relay_chain: chain.as_deref(),
        interface_id: v[0].as_deref(),
        remote_id: v[1].as_deref(),
        relay_id: v[2].as_deref(),
    })
    .unwrap();
    b
}

fn up4(b: Binding4) -> Change {
    Change::V4(Change4::Upsert(Arc::new(b)))
}

fn up6(b: Binding6) -> Change {
    Change::V6(Change6::Upsert(Arc::new(b)))
}

fn lease(last_octet: u8, sequence: u64, mac: u8) -> Binding4 {
    let mut b = Binding4::new(
        Ipv4Addr::new(192, 0, 2, last_octet),
        "192.0.2.0/24".parse().unwrap(),
        HwAddr::ethernet([2, 0, 0, 0, 0, mac]),
        State4::Active,
    )
    .with_times(1000, 4600, 2800, 4150, 1000);
    b.sequence = sequence;
    b
}

fn guard(based_on: u64, sequence: u64) -> Guard {
    Guard { based_on, sequence }
}

/// Applies `batches` (changes with their guards) as one group; the refused batches.
fn group(be: &mut PgBackend, batches: &[Vec<(Change, Guard)>]) -> Vec<usize> {
    let mut changes = Vec::new();
    let mut guards = Vec::new();
    let mut ends = Vec::new();
    for batch in batches {
        for (c, g) in batch {
            changes.push(c.clone());
            guards.push(*g);
        }
        ends.push(changes.len());
    }
    be.apply_group(&Group {
        changes: &changes,
        guards: &guards,
        ends: &ends,
    })
    .unwrap()
    .refused
}

fn loaded4(pg: &TempPg) -> Vec<Binding4> {
    let mut o = pg.options_for("reader");
    o.follow = false;
    let mut v = PgBackend::connect(&o).unwrap().load().unwrap().v4.bindings;
    v.sort_by_key(|b| b.address);
    v
}

#[test]
#[ignore = "needs root and PostgreSQL"]
fn every_field_of_both_families_comes_back_from_a_load() {
    let pg = TempPg::start();
    let mut be = PgBackend::connect(&pg.options_for("a")).unwrap();
    let mut rng = Rng(0x5eed_1e55_0a1d);
    let v4: Vec<Binding4> = (0..500).map(|i| binding4(i, &mut rng)).collect();
    let v6: Vec<Binding6> = (0..500).map(|i| binding6(i, &mut rng)).collect();
    let changes: Vec<Change> = v4
        .iter()
        .cloned()
        .map(up4)
        .chain(v6.iter().cloned().map(up6))
        .collect();
    be.apply(&changes).unwrap();
    let mut loaded = PgBackend::connect(&pg.options_for("b"))
        .unwrap()
        .load()
        .unwrap();
    assert!(loaded.skipped.is_empty(), "{:?}", loaded.skipped);
    loaded.v4.bindings.sort_by_key(|b| b.address);
    loaded.v6.bindings.sort_by_key(|b| b.key6());
    let mut v6 = v6;
    v6.sort_by_key(|b| b.key6());
    assert_eq!(loaded.v4.bindings, v4);
    assert_eq!(loaded.v6.bindings, v6);

    // One group is one transaction, whatever its size.
    let mut client = pg.client();
    let row = client
        .query_one("SELECT count(DISTINCT xmin::text) FROM lease4", &[])
        .unwrap();
    assert_eq!(row.get::<_, i64>(0), 1);
}

#[test]
#[ignore = "needs root and PostgreSQL"]
fn a_row_that_does_not_decode_is_skipped_and_reported() {
    let pg = TempPg::start();
    let mut be = PgBackend::connect(&pg.options_for("a")).unwrap();
    be.apply(&[up4(lease(1, 1, 1)), up4(lease(2, 2, 2))])
        .unwrap();
    pg.client()
        .execute(
            "UPDATE lease4 SET state = 'bogus' WHERE address = '192.0.2.2'",
            &[],
        )
        .unwrap();
    let loaded = be.load().unwrap();
    assert_eq!(loaded.v4.bindings, vec![lease(1, 1, 1)]);
    assert_eq!(loaded.skipped.len(), 1);
    assert_eq!(loaded.skipped[0].table, "lease4");
    assert_eq!(
        loaded.skipped[0].key,
        Some(i64::from(u32::from(Ipv4Addr::new(192, 0, 2, 2))))
    );
}

#[test]
#[ignore = "needs root and PostgreSQL"]
fn guards_refuse_whole_batches_and_tombstones_keep_the_delete_number() {
    let pg = TempPg::start();
    let mut be = PgBackend::connect(&pg.options_for("a")).unwrap();
    // based_on 0 over no row: written.
    assert!(group(&mut be, &[vec![(up4(lease(1, 10, 1)), guard(0, 10))]]).is_empty());
    // based_on 0 over a live row: refused.
    assert_eq!(
        group(&mut be, &[vec![(up4(lease(1, 11, 2)), guard(0, 11))]]),
        vec![0]
    );
    // based_on another number than the row's: refused; the row's: written.
    assert_eq!(
        group(&mut be, &[vec![(up4(lease(1, 12, 2)), guard(9, 12))]]),
        vec![0]
    );
    assert!(group(&mut be, &[vec![(up4(lease(1, 12, 1)), guard(10, 12))]]).is_empty());
    // A delete leaves a tombstone numbered by its guard, which load leaves out.
    let gone = Change::V4(Change4::Delete(Ipv4Addr::new(192, 0, 2, 1)));
    assert!(group(&mut be, &[vec![(gone.clone(), guard(12, 20))]]).is_empty());
    assert!(loaded4(&pg).is_empty());
    let row = pg
        .client()
        .query_one(
            "SELECT state, sequence FROM lease4 WHERE address = '192.0.2.1'",
            &[],
        )
        .unwrap();
    assert_eq!(row.get::<_, String>(0), "deleted");
    assert_eq!(row.get::<_, i64>(1), 20);
    // based_on 0 over a tombstone: only with a newer number.
    assert_eq!(
        group(&mut be, &[vec![(up4(lease(1, 19, 3)), guard(0, 19))]]),
        vec![0]
    );
    assert!(group(&mut be, &[vec![(up4(lease(1, 21, 3)), guard(0, 21))]]).is_empty());
    // Based on the tombstone's number: written too (another server's follow-up).
    assert!(group(&mut be, &[vec![(gone, guard(21, 22))]]).is_empty());
    assert!(group(&mut be, &[vec![(up4(lease(1, 23, 4)), guard(22, 23))]]).is_empty());
    assert_eq!(loaded4(&pg), vec![lease(1, 23, 4)]);

    // A refused batch in the middle of a group: the others are written, its own changes
    // (also the ones whose guard held) are not, and later batches see the group's writes.
    let refused = group(
        &mut be,
        &[
            vec![(up4(lease(2, 30, 5)), guard(0, 30))],
            vec![
                (up4(lease(3, 31, 6)), guard(0, 31)),
                (up4(lease(1, 31, 6)), guard(5, 31)),
            ],
            vec![(up4(lease(2, 32, 7)), guard(30, 32))],
        ],
    );
    assert_eq!(refused, vec![1]);
    assert_eq!(loaded4(&pg), vec![lease(1, 23, 4), lease(2, 32, 7)]);
}

#[test]
#[ignore = "needs root and PostgreSQL"]
fn a_follower_sees_the_other_servers_writes_in_commit_order_and_not_its_own() {
    let pg = TempPg::start();
    let mut a = PgBackend::connect(&pg.options_for("a")).unwrap();
    let mut b = PgBackend::connect(&pg.options_for("b")).unwrap();
    // Written before b loads: in b's load, not in its feed.
    a.apply(&[up4(lease(1, 1, 1))]).unwrap();
    assert_eq!(b.load().unwrap().v4.bindings.len(), 1);
    let mut feed_b = b.follower().unwrap().expect("follow is on");
    a.load().unwrap();
    let mut feed_a = a.follower().unwrap().expect("follow is on");

    let mut rng = Rng(7);
    let p = binding6(1, &mut rng);
    let key = p.key6();
    a.apply(&[up4(lease(2, 2, 2)), up6(p.clone())]).unwrap();
    a.apply(&[Change::V4(Change4::Delete(Ipv4Addr::new(192, 0, 2, 1)))])
        .unwrap();
    a.apply(&[up4(lease(2, 4, 3)), Change::V6(Change6::Delete(key))])
        .unwrap();
    b.apply(&[up4(lease(9, 5, 9))]).unwrap();

    let mut got = Vec::new();
    for _ in 0..20 {
        got.extend(feed_b.next(Duration::from_millis(200)).unwrap());
        if got.len() >= 3 {
            break;
        }
    }
    let seen: Vec<String> = got
        .iter()
        .map(|r| match r {
            Remote::V4(b) => format!("v4 {} {}", b.address, b.sequence),
            Remote::V4Gone { address, sequence } => format!("gone {address} {sequence}"),
            Remote::V6(b) => format!("v6 {}", b.address),
            Remote::V6Gone { key, .. } => format!("gone6 {}", key.address()),
        })
        .collect();
    // A row holds a key's last write: the feed gives each changed key once, as it is now,
    // in the order of those writes. The tombstone of 192.0.2.1 takes the deleted row's number
    // (apply has no guards).
    assert_eq!(seen, expected_order(&p));
    // a sees b's write only.
    let mut got_a = Vec::new();
    for _ in 0..20 {
        got_a.extend(feed_a.next(Duration::from_millis(200)).unwrap());
        if !got_a.is_empty() {
            break;
        }
    }
    assert_eq!(got_a.len(), 1);
    assert!(matches!(&got_a[0], Remote::V4(b) if b.address == Ipv4Addr::new(192, 0, 2, 9)));
    assert!(feed_a.next(Duration::from_millis(50)).unwrap().is_empty());
}

/// What b's feed gives after a's writes above.
fn expected_order(p: &Binding6) -> Vec<String> {
    vec![
        "gone 192.0.2.1 1".to_owned(),
        "v4 192.0.2.2 4".to_owned(),
        format!("gone6 {}", p.address),
    ]
}

#[test]
#[ignore = "needs root and PostgreSQL"]
fn migrations_run_once_and_a_newer_schema_is_refused() {
    let pg = TempPg::start();
    // Several servers starting at once: one migrates, the others find the schema current.
    let opts: Vec<_> = (0..4).map(|i| pg.options_for(&format!("n{i}"))).collect();
    let started: Vec<_> = opts
        .into_iter()
        .map(|o| std::thread::spawn(move || PgBackend::connect(&o).map(|_| ())))
        .collect();
    for t in started {
        t.join().unwrap().unwrap();
    }
    let mut client = pg.client();
    let v: i32 = client
        .query_one("SELECT version FROM schema_version", &[])
        .unwrap()
        .get(0);
    assert_eq!(v, 1);
    client
        .execute("UPDATE schema_version SET version = 99", &[])
        .unwrap();
    match PgBackend::connect(&pg.options_for("a")) {
        Err(StoreError::SchemaTooNew {
            path,
            found,
            supported,
        }) => {
            assert_eq!((found, supported), (99, 1));
            assert_eq!(path.to_str().unwrap(), pg.url());
        }
        other => panic!("expected SchemaTooNew, got {other:?}"),
    }
}

#[test]
#[ignore = "needs root and PostgreSQL"]
fn the_writer_and_the_follower_reconnect_after_a_restart() {
    let pg = TempPg::start();
    let mut a = PgBackend::connect(&pg.options_for("a")).unwrap();
    let mut b = PgBackend::connect(&pg.options_for("b")).unwrap();
    b.load().unwrap();
    let mut feed = b.follower().unwrap().unwrap();
    assert!(feed.next(Duration::from_millis(10)).unwrap().is_empty());
    pg.restart();
    a.apply(&[up4(lease(1, 1, 1))]).unwrap();
    a.set_meta("duid", "0001").unwrap();
    // The follower's session broke: one error at most, then it resumes where it was.
    let mut got = Vec::new();
    let mut errors = 0;
    for _ in 0..20 {
        match feed.next(Duration::from_millis(100)) {
            Ok(r) => got.extend(r),
            Err(_) => errors += 1,
        }
        if !got.is_empty() {
            break;
        }
    }
    assert!(errors <= 1, "{errors} errors");
    assert_eq!(got.len(), 1);
    // Stopped: commits fail (nothing is acknowledged), and succeed again once it is back.
    pg.stop();
    assert!(a.apply(&[up4(lease(2, 2, 2))]).is_err());
    pg.restart();
    a.apply(&[up4(lease(2, 2, 2))]).unwrap();
    assert_eq!(loaded4(&pg).len(), 2);
}

#[test]
#[ignore = "needs root and PostgreSQL"]
fn meta_rows_are_per_node() {
    let pg = TempPg::start();
    let mut a = PgBackend::connect(&pg.options_for("a")).unwrap();
    let mut b = PgBackend::connect(&pg.options_for("b")).unwrap();
    a.set_meta("duid", "aa").unwrap();
    a.set_meta("duid", "ab").unwrap();
    b.set_meta("duid", "bb").unwrap();
    assert_eq!(a.load().unwrap().meta.get("duid").unwrap(), "ab");
    assert_eq!(b.load().unwrap().meta.get("duid").unwrap(), "bb");
}

#[test]
#[ignore = "needs root and PostgreSQL"]
fn tls_verify_full_checks_the_ca_and_the_host_name() {
    let pg = TempPg::start_with(true);
    let ca = pg.ca.clone().unwrap();
    let with = |host: &str, tls: TlsMode, ca: Option<std::path::PathBuf>| {
        let mut o = pg.options_for("a");
        o.url = pg.url_at(host);
        o.tls = tls;
        o.tls_ca_file = ca;
        PgBackend::connect(&o)
    };
    with("localhost", TlsMode::VerifyFull, Some(ca.clone())).unwrap();
    // Encrypted without checking: any name, no CA.
    with("127.0.0.1", TlsMode::Require, None).unwrap();
    with("127.0.0.1", TlsMode::Prefer, None).unwrap();
    // The certificate does not name 127.0.0.1.
    let e = with("127.0.0.1", TlsMode::VerifyFull, Some(ca)).unwrap_err();
    assert!(format!("{e:?}").contains("NotValidForName"), "{e:?}");
    // Another CA.
    let other = support::make_certs(&pg.dir, "other-ca");
    let e = with("localhost", TlsMode::VerifyFull, Some(other)).unwrap_err();
    assert!(format!("{e:?}").contains("UnknownIssuer"), "{e:?}");
    // The server takes TCP connections over TLS only.
    with("127.0.0.1", TlsMode::Disable, None).unwrap_err();
}

#[test]
#[ignore = "needs root and PostgreSQL"]
fn the_store_runs_on_postgresql() {
    let pg = TempPg::start();
    {
        let be = PgBackend::connect(&pg.options_for("a")).unwrap();
        let (store, _) = Store::open(Box::new(be)).unwrap();
        let (done, ticket) = Completion::ticket();
        store.v4().upsert(lease(7, 0, 7), done);
        ticket.wait().unwrap();
        store.sync().wait().unwrap();
        store.close().unwrap();
    }
    let be = PgBackend::connect(&pg.options_for("a")).unwrap();
    let (store, report) = Store::open(Box::new(be)).unwrap();
    assert!(report.skipped.is_empty());
    let b = store.v4().get(Ipv4Addr::new(192, 0, 2, 7)).expect("kept");
    assert_eq!(b.hw, HwAddr::ethernet([2, 0, 0, 0, 0, 7]));
    store.close().unwrap();
}

#[test]
#[ignore = "needs root and PostgreSQL"]
fn a_unix_socket_url_works_with_the_default_tls_mode() {
    let pg = TempPg::start();
    let mut o = pg.options_for("a");
    o.url = format!(
        "postgresql:///postgres?host={}&port={}&user=postgres",
        pg.dir.join("sock").display(),
        pg.port
    );
    o.tls = TlsMode::Prefer;
    let mut be = PgBackend::connect(&o).unwrap();
    be.apply(&[up4(lease(1, 1, 1))]).unwrap();
    assert_eq!(be.load().unwrap().v4.bindings.len(), 1);
    // The session says who it is.
    let row = pg
        .client()
        .query_one(
            "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'lessor a'",
            &[],
        )
        .unwrap();
    assert_eq!(row.get::<_, i64>(0), 1);
}

#[test]
#[ignore = "needs root and PostgreSQL"]
fn a_group_of_two_thousand_changes_takes_a_few_round_trips() {
    let pg = TempPg::start();
    let mut be = PgBackend::connect(&pg.options_for("w")).unwrap();
    let mut rng = Rng(99);
    let mut changes: Vec<Change> = (0..1000).map(|i| up4(binding4(i, &mut rng))).collect();
    changes.extend((0..1000).map(|i| up6(binding6(i, &mut rng))));
    let guards: Vec<Guard> = changes.iter().map(|_| guard(0, 1)).collect();
    // Every change its own batch, as the store's writer groups them.
    let ends: Vec<usize> = (1..=changes.len()).collect();
    let before = pg.statements_of("lessor w");
    let applied = be
        .apply_group(&Group {
            changes: &changes,
            guards: &guards,
            ends: &ends,
        })
        .unwrap();
    assert!(applied.refused.is_empty());
    let sent = pg.statements_of("lessor w") - before;
    // BEGIN, the lock, one read and one write per family, NOTIFY, COMMIT (the purge of old
    // tombstones, hourly, runs before the first group: two more).
    assert!(sent <= 10, "{sent} statements");
    assert!(sent >= 8, "{sent} statements: is the log counting?");
    assert_eq!(loaded4(&pg).len(), 1000);
}

#[test]
#[ignore = "needs root and PostgreSQL"]
fn two_stores_on_one_database_never_write_one_address_for_two_clients() {
    let pg = TempPg::start();
    let a_backend = PgBackend::connect(&pg.options_for("a")).unwrap();
    let a_id = a_backend.writer_id().unwrap();
    let (a, _) = Store::open(Box::new(a_backend)).unwrap();
    // B does not follow: it cannot have seen A's write when it makes its own.
    let mut blind = pg.options_for("b");
    blind.follow = false;
    let b_backend = PgBackend::connect(&blind).unwrap();
    let b_id = b_backend.writer_id().unwrap();
    assert_ne!(a_id, b_id, "every node has its own number");
    assert_eq!(
        PgBackend::connect(&pg.options_for("a"))
            .unwrap()
            .writer_id(),
        Some(a_id),
        "a node keeps its number"
    );
    let (b, _) = Store::open(Box::new(b_backend)).unwrap();

    let write = |store: &Store, mac: u8| {
        let (done, ticket) = Completion::ticket();
        store.v4().upsert(lease(9, 0, mac), done);
        ticket.wait()
    };
    write(&a, 1).unwrap();
    assert!(
        matches!(write(&b, 2), Err(StoreError::Taken)),
        "B's write is refused"
    );
    // B's memory went back to what it knew (nothing); the database holds A's client only.
    assert!(b.v4().get(Ipv4Addr::new(192, 0, 2, 9)).is_none());
    let rows = loaded4(&pg);
    let held: Vec<_> = rows
        .iter()
        .filter(|r| r.address == Ipv4Addr::new(192, 0, 2, 9))
        .collect();
    assert_eq!(held.len(), 1);
    assert_eq!(held[0].hw, HwAddr::ethernet([2, 0, 0, 0, 0, 1]));
    assert_eq!(
        held[0].sequence & 0xffff,
        u64::from(a_id),
        "A's number in the low bits"
    );
    assert!(b.health().is_healthy(), "a refusal is not a failure");

    // A follower brings A's binding into a following B, and B's renewal over it passes.
    let (b2, _) = Store::open(Box::new(PgBackend::connect(&pg.options_for("b")).unwrap())).unwrap();
    assert!(b2.v4().get(Ipv4Addr::new(192, 0, 2, 9)).is_some(), "loaded");
    write(&b2, 1).unwrap();
    let until = std::time::Instant::now() + Duration::from_secs(10);
    loop {
        let seen = a.v4().get(Ipv4Addr::new(192, 0, 2, 9)).map(|r| r.sequence);
        let written = b2.v4().get(Ipv4Addr::new(192, 0, 2, 9)).map(|r| r.sequence);
        if seen == written {
            break;
        }
        assert!(
            std::time::Instant::now() < until,
            "A never followed B's renewal"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
    for s in [a, b, b2] {
        s.close().unwrap();
    }
}
