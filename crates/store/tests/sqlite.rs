//! SQLite persistence: round trip, corrupt rows and pages, wrong files, schema versions, group
//! commit, and durability across a crash.

mod common;

use std::net::Ipv4Addr;
use std::process::Command;

use common::*;
use lessor_store::{Binding4, Completion, HwAddr, State4, Store, StoreError};
use rusqlite::Connection;

fn full_binding(n: u32, state: State4) -> Binding4 {
    relayed(active(n, n, NOW - n as u64), b"\x00\x01relay", b"modem")
        .with_vendor_class_id(b"docsis3.0")
        .unwrap()
        .with_hostname(b"host-\xff")
        .unwrap()
        .with_state(state)
}

trait WithState {
    fn with_state(self, s: State4) -> Self;
}
impl WithState for Binding4 {
    fn with_state(mut self, s: State4) -> Self {
        self.state = s;
        self
    }
}

#[test]
fn round_trip_every_field_and_state() {
    let dir = temp_dir("roundtrip");
    let db = dir.join("leases.db");
    let mut want = Vec::new();
    {
        let (store, report) = Store::open_sqlite(&db).unwrap();
        assert_eq!(report.v4.loaded, 0);
        for (i, s) in State4::ALL.into_iter().enumerate() {
            // A time of its own, to see it kept (restore writes it as given).
            let mut b = full_binding(i as u32, s).with_state_since(NOW - 100_000 + i as u64);
            b.sequence = 1000 + i as u64;
            store
                .v4()
                .write(Completion::none(), |batch| batch.restore(b.clone()));
            if s.is_durable() {
                want.push(b);
            }
        }
        // Odd hardware types and lengths, no optional fields.
        let bare = Binding4::new(
            Ipv4Addr::new(203, 0, 113, 9),
            "203.0.113.0/24".parse().unwrap(),
            HwAddr::new(32, &[7u8; 16]).unwrap(),
            State4::Active,
        )
        .with_times(1, u64::MAX >> 1, 2, 3, 4);
        store.v4().upsert(bare.clone(), Completion::none());
        // Upsert records when the state was entered (a new lease: at its start) and numbers the
        // transaction after every restored one.
        let mut bare = bare.with_state_since(1);
        bare.sequence = 1006;
        want.push(bare);
        // Written, then deleted.
        store
            .v4()
            .upsert(full_binding(100, State4::Active), Completion::none());
        store.v4().delete(addr(100), Completion::none());
        store.close().unwrap();
    }
    let (store, report) = Store::open_sqlite(&db).unwrap();
    assert!(report.skipped.is_empty(), "{:?}", report.skipped);
    assert_eq!(report.v4.loaded, want.len());
    let snap = store.v4().snapshot();
    for b in &want {
        assert_eq!(**snap.get(b.address).unwrap(), *b);
    }
    assert!(snap.get(addr(0)).is_none(), "offers are not durable");
    assert!(snap.get(addr(100)).is_none());
    // Indexes are rebuilt on load.
    assert_eq!(snap.by_relay_id(b"\x00\x01relay").count(), want.len() - 1);
    drop(store);

    // The readable view.
    let conn = Connection::open(&db).unwrap();
    let (a, state, chaddr, host): (String, String, String, Vec<u8>) = conn
        .query_row(
            "SELECT address, state, chaddr, CAST(hostname AS BLOB) FROM lease4_text WHERE address = '198.18.0.1'",
            [],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
        )
        .unwrap();
    assert_eq!(
        (a.as_str(), state.as_str(), chaddr.as_str()),
        ("198.18.0.1", "active", "020000000001")
    );
    assert_eq!(host, b"host-\xff");
    let mode: String = conn
        .query_row("PRAGMA journal_mode", [], |r| r.get(0))
        .unwrap();
    assert_eq!(mode, "wal");
}

#[test]
fn corrupt_rows_are_skipped_and_reported() {
    let dir = temp_dir("corrupt-rows");
    let db = dir.join("leases.db");
    {
        let (store, _) = Store::open_sqlite(&db).unwrap();
        for n in 0..10 {
            store
                .v4()
                .upsert(full_binding(n, State4::Active), Completion::none());
        }
        store.close().unwrap();
    }
    {
        let conn = Connection::open(&db).unwrap();
        let a = |n: u32| u32::from(addr(n));
        conn.execute_batch(&format!(
            "UPDATE lease4 SET state = 'bogus' WHERE address = {};
             UPDATE lease4 SET chaddr = zeroblob(17) WHERE address = {};
             UPDATE lease4 SET client_id = 42 WHERE address = {};
             UPDATE lease4 SET lease_end = -5 WHERE address = {};
             UPDATE lease4 SET subnet = 'not-a-prefix' WHERE address = {};
             UPDATE lease4 SET htype = 300 WHERE address = {};
             INSERT INTO lease4 SELECT 8589934592, state, htype, chaddr, client_id, lease_start,
                 lease_end, t1, t2, cltt, relay_agent_info, circuit_id, remote_id, relay_id,
                 vendor_class_id, hostname, subnet, state_since, sequence FROM lease4
                 WHERE address = {};",
            a(1),
            a(2),
            a(3),
            a(4),
            a(5),
            a(6),
            a(9),
        ))
        .unwrap();
    }
    let (store, report) = Store::open_sqlite(&db).unwrap();
    assert_eq!(report.v4.loaded, 4);
    let reasons: Vec<String> = report.skipped.iter().map(|s| s.to_string()).collect();
    assert_eq!(report.skipped.len(), 7, "{reasons:#?}");
    for (n, col) in [
        (1, "state"),
        (2, "chaddr"),
        (3, "client_id"),
        (4, "lease_end"),
        (5, "subnet"),
        (6, "htype"),
    ] {
        let row = report
            .skipped
            .iter()
            .find(|s| s.key == Some(i64::from(u32::from(addr(n)))))
            .unwrap();
        assert!(row.reason.contains(col), "{row}");
    }
    assert!(reasons.iter().any(|r| r.contains("8589934592")));
    let snap = store.v4().snapshot();
    for n in [0, 7, 8, 9] {
        assert!(snap.get(addr(n)).is_some());
    }
    // A skipped row is overwritten by the next change of its address.
    store
        .v4()
        .upsert(full_binding(1, State4::Active), Completion::none());
    store.close().unwrap();
    let (_store, report) = Store::open_sqlite(&db).unwrap();
    assert_eq!(report.v4.loaded, 5);
}

#[test]
fn corrupt_page_is_reported_and_the_rest_loads() {
    let dir = temp_dir("corrupt-page");
    let db = dir.join("leases.db");
    let total = 4000u32;
    {
        let (store, _) = Store::open_sqlite(&db).unwrap();
        store.v4().write(Completion::none(), |b| {
            for n in 0..total {
                let host = format!("MARK{n:05}");
                b.upsert(
                    full_binding(n, State4::Active)
                        .with_hostname(host.as_bytes())
                        .unwrap(),
                );
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
            .any(|s| s.reason.contains("database error")),
        "{:?}",
        report.skipped
    );
    assert!(report.v4.loaded < total as usize);
    eprintln!(
        "loaded {} of {total}; skipped: {:?}",
        report.v4.loaded, report.skipped
    );
    let snap = store.v4().snapshot();
    assert!(snap.get(addr(0)).is_some(), "rows before the bad page load");
    assert!(
        snap.get(addr(total - 1)).is_some(),
        "rows after the bad page load"
    );
    assert!(snap.get(addr(2000)).is_none());
}

#[test]
fn a_file_that_is_not_sqlite_is_a_clear_error() {
    let dir = temp_dir("not-sqlite");
    let path = dir.join("leases.db");
    std::fs::write(&path, "this is a text file, not a database\n".repeat(200)).unwrap();
    let err = Store::open_sqlite(&path).unwrap_err();
    assert!(
        matches!(&err, StoreError::NotADatabase { path: p } if *p == path),
        "{err:?}"
    );
    assert!(err.to_string().contains(&*path.to_string_lossy()));
}

#[test]
fn a_newer_schema_is_refused_and_older_is_migrated() {
    let dir = temp_dir("schema");
    let db = dir.join("leases.db");
    drop(Store::open_sqlite(&db).unwrap());
    let conn = Connection::open(&db).unwrap();
    let v: i64 = conn
        .query_row("SELECT version FROM schema_version", [], |r| r.get(0))
        .unwrap();
    assert_eq!(v, lessor_store::schema::current_version());
    conn.execute("UPDATE schema_version SET version = 99", [])
        .unwrap();
    drop(conn);
    let err = Store::open_sqlite(&db).unwrap_err();
    assert!(
        matches!(err, StoreError::SchemaTooNew { found: 99, .. }),
        "{err:?}"
    );
    assert!(err.to_string().contains("99"));
}

#[test]
fn group_commit_completes_every_waiter() {
    let dir = temp_dir("group");
    let db = dir.join("leases.db");
    let (store, _) = Store::open_sqlite(&db).unwrap();
    let store = std::sync::Arc::new(store);
    let threads: Vec<_> = (0..8u32)
        .map(|t| {
            let store = store.clone();
            std::thread::spawn(move || {
                let tickets: Vec<_> = (0..250u32)
                    .map(|i| {
                        let (done, ticket) = Completion::ticket();
                        store
                            .v4()
                            .upsert(full_binding(t * 1000 + i, State4::Active), done);
                        ticket
                    })
                    .collect();
                for t in tickets {
                    t.wait().unwrap();
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    let stats = store.writer_stats();
    assert_eq!(stats.changes(), 2000);
    assert!(
        stats.commits() < 2000,
        "changes share commits: {} commits",
        stats.commits()
    );
    assert_eq!(stats.failures(), 0);
}

/// The child half of `crash_after_durable_keeps_every_change`: does nothing unless run by it.
#[test]
fn crash_child() {
    let Ok(path) = std::env::var("LESSOR_STORE_CRASH_DB") else {
        return;
    };
    let n: u32 = std::env::var("LESSOR_STORE_CRASH_N")
        .unwrap()
        .parse()
        .unwrap();
    let (store, _) = Store::open_sqlite(&path).unwrap();
    let tickets: Vec<_> = (0..n)
        .map(|i| {
            let (done, ticket) = Completion::ticket();
            store.v4().upsert(full_binding(i, State4::Active), done);
            ticket
        })
        .collect();
    for t in tickets {
        t.wait().unwrap();
    }
    println!("DURABLE {n}");
    // No shutdown code at all: the writer thread and the connection die with the process.
    std::process::abort();
}

#[test]
fn crash_after_durable_keeps_every_change() {
    let dir = temp_dir("crash");
    let db = dir.join("leases.db");
    let n = 777u32;
    let out = Command::new(std::env::current_exe().unwrap())
        .args(["crash_child", "--exact", "--nocapture", "--test-threads=1"])
        .env("LESSOR_STORE_CRASH_DB", &db)
        .env("LESSOR_STORE_CRASH_N", n.to_string())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains(&format!("DURABLE {n}")), "{stdout}");
    assert!(!out.status.success(), "the child crashed");
    // The WAL was never checkpointed by a clean close.
    assert!(dir.join("leases.db-wal").exists());
    let (store, report) = Store::open_sqlite(&db).unwrap();
    assert!(report.skipped.is_empty());
    assert_eq!(report.v4.loaded, n as usize);
    for i in 0..n {
        let want = full_binding(i, State4::Active);
        let mut want = want.clone().with_state_since(want.start);
        want.sequence = u64::from(i) + 1;
        assert_eq!(**store.v4().get(addr(i)).as_ref().unwrap(), want);
    }
}

#[test]
fn expiry_is_persisted() {
    let dir = temp_dir("expiry");
    let db = dir.join("leases.db");
    {
        let (store, _) = Store::open_sqlite(&db).unwrap();
        store
            .v4()
            .upsert(active(1, 1, NOW - 7200), Completion::none());
        store.v4().upsert(active(2, 2, NOW), Completion::none());
        let (done, ticket) = Completion::ticket();
        let expired = store.v4().expire(NOW, usize::MAX, done);
        assert_eq!(expired.len(), 1);
        ticket.wait().unwrap();
    }
    let (store, _) = Store::open_sqlite(&db).unwrap();
    assert_eq!(store.v4().get(addr(1)).unwrap().state, State4::Expired);
    assert_eq!(store.v4().get(addr(2)).unwrap().state, State4::Active);
}

#[test]
fn state_since_survives_a_restart() {
    let dir = temp_dir("state-since");
    let db = dir.join("leases.db");
    {
        let (store, _) = Store::open_sqlite(&db).unwrap();
        store.v4().upsert(active(1, 1, NOW), Completion::none());
        // Renewed half-way: still active since NOW.
        store
            .v4()
            .upsert(active(1, 1, NOW + 1800), Completion::none());
        store.close().unwrap();
    }
    let (store, _) = Store::open_sqlite(&db).unwrap();
    let b = store.v4().get(addr(1)).unwrap();
    assert_eq!((b.start, b.state_since), (NOW + 1800, NOW));
    // A renewal after the restart still continues it.
    store
        .v4()
        .upsert(active(1, 1, NOW + 3000), Completion::none());
    assert_eq!(store.v4().get(addr(1)).unwrap().state_since, NOW);
}

/// A database as schema version 1 wrote it (before `state_since`), one row per durable state.
fn version_1_database(db: &std::path::Path) {
    let conn = Connection::open(db).unwrap();
    conn.execute_batch(lessor_store::schema::MIGRATIONS[0])
        .unwrap();
    conn.execute_batch(
        "CREATE TABLE schema_version (id INTEGER PRIMARY KEY CHECK (id = 1), version INTEGER NOT NULL);
         INSERT INTO schema_version VALUES (1, 1);",
    )
    .unwrap();
    for (n, state) in ["active", "expired", "released", "declined", "reserved"]
        .into_iter()
        .enumerate()
    {
        let start = (NOW + 10 * n as u64) as i64;
        conn.execute(
            "INSERT INTO lease4 (address, state, htype, chaddr, lease_start, lease_end, t1, t2, \
             cltt, subnet) VALUES (?1, ?2, 1, x'020000000001', ?3, ?4, ?3, ?3, ?3, '198.18.0.0/15')",
            rusqlite::params![u32::from(addr(n as u32)), state, start, start + 3600],
        )
        .unwrap();
    }
}

#[test]
fn a_version_1_database_gets_state_since_from_its_times_and_sequence_0() {
    let dir = temp_dir("schema-1");
    let db = dir.join("leases.db");
    version_1_database(&db);
    let (store, report) = Store::open_sqlite(&db).unwrap();
    assert!(report.skipped.is_empty(), "{:?}", report.skipped);
    assert_eq!(report.v4.loaded, 5);
    let snap = store.v4().snapshot();
    let since = |n: u32| snap.get(addr(n)).unwrap().state_since;
    let start = |n: u32| NOW + 10 * u64::from(n);
    // Active, declined, reserved: since their start; expired, released: since their end.
    assert_eq!(since(0), start(0));
    assert_eq!(since(1), start(1) + 3600);
    assert_eq!(since(2), start(2) + 3600);
    assert_eq!(since(3), start(3));
    assert_eq!(since(4), start(4));
    for b in snap.iter() {
        assert_eq!(b.state_since, b.implied_state_since(), "{b:?}");
        // Their order of transactions is unknown: they tie, as they did.
        assert_eq!(b.sequence, 0);
    }
    drop(snap);
    store.close().unwrap();
    let conn = Connection::open(&db).unwrap();
    let v: i64 = conn
        .query_row("SELECT version FROM schema_version", [], |r| r.get(0))
        .unwrap();
    assert_eq!(v, lessor_store::schema::current_version());
    let (shown, sequence): (String, i64) = conn
        .query_row(
            "SELECT state_since, sequence FROM lease4_text WHERE address = '198.18.0.1'",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    assert_eq!(sequence, 0);
    // 198.18.0.1 is the expired one: since its end.
    assert_eq!(shown, "2027-01-15 09:00:10");
}

#[test]
fn a_writing_store_is_exclusive_for_its_life_and_its_files_are_0600() {
    use lessor_store::SqliteBackend;
    use std::os::unix::fs::PermissionsExt;
    let dir = temp_dir("exclusive");
    let db = dir.join("leases.db");
    let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    let backend = SqliteBackend::open_exclusive(&db, "lessor serve").unwrap();
    assert!(backend.tightened().is_empty());
    let (store, _) = Store::open(Box::new(backend)).unwrap();
    let (done, ticket) = Completion::ticket();
    store.v4().upsert(active(1, 1, NOW), done);
    ticket.wait().unwrap();
    for suffix in ["", "-wal", "-shm", ".lock"] {
        let file = dir.join(format!("leases.db{suffix}"));
        assert_eq!(mode(&file), 0o600, "{}", file.display());
    }
    let err = SqliteBackend::open_exclusive(&db, "lessor leases import").unwrap_err();
    assert!(
        matches!(&err, StoreError::InUse { path, pid: Some(_), holder: Some(h) }
            if *path == db && h == "lessor serve"),
        "{err:?}"
    );
    // Readers take no lock.
    drop(SqliteBackend::open(&db).unwrap());
    store.close().unwrap();
    // Closing the store ends its writer, which owned the backend and its lock.
    drop(SqliteBackend::open_exclusive(&db, "lessor leases import").unwrap());

    // A store left readable by others is tightened by the next writer, which says so.
    std::fs::set_permissions(&db, std::fs::Permissions::from_mode(0o644)).unwrap();
    let backend = SqliteBackend::open_exclusive(&db, "lessor serve").unwrap();
    let tightened: Vec<_> = backend
        .tightened()
        .iter()
        .map(|t| (&t.path, t.was))
        .collect();
    assert_eq!(tightened, vec![(&db, 0o644)]);
    assert_eq!(mode(&db), 0o600);
}

#[test]
fn meta_values_and_probes_are_kept_across_a_restart() {
    let dir = temp_dir("meta");
    let db = dir.join("leases.db");
    {
        let (store, report) = Store::open_sqlite(&db).unwrap();
        assert!(report.meta.is_empty());
        store
            .set_meta("quarantine4", "192.0.2.0/24=5")
            .wait()
            .unwrap();
        store
            .set_meta("quarantine4", "192.0.2.0/24=6")
            .wait()
            .unwrap();
        store.probe("1800000000");
        store.close().unwrap();
    }
    let (_store, report) = Store::open_sqlite(&db).unwrap();
    assert_eq!(
        report.meta.get("quarantine4").map(String::as_str),
        Some("192.0.2.0/24=6")
    );
    assert_eq!(
        report
            .meta
            .get(lessor_store::store::PROBE_KEY)
            .map(String::as_str),
        Some("1800000000")
    );
}
