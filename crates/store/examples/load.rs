//! Load-time and memory figures for N bindings.
//!
//! ```text
//! cargo run --release -p lessor-store --example load -- 1000000 [DB]
//! ```
//!
//! Writes N realistic DHCPv4 bindings (option 82 with circuit-id, remote-id and relay-id; 1000
//! bindings per relay-id) into an SQLite database through the store (group commit), then starts a
//! fresh process that loads it and prints the load time and the resident memory per binding
//! (from /proc/self/statm), plus snapshot and lookup costs. `--profile DB` splits the load time
//! between decoding rows and building the in-memory table.

use std::net::Ipv4Addr;
use std::path::PathBuf;
use std::process::Command;
use std::time::Instant;

use lessor_store::{
    Backend, Binding4, Change, Completion, HwAddr, Loaded, SqliteBackend, State4, Store, StoreError,
};

const NOW: u64 = 1_800_000_000;

fn binding(i: u32) -> Binding4 {
    let addr = Ipv4Addr::from(u32::from(Ipv4Addr::new(10, 0, 0, 0)) + i);
    let b = i.to_be_bytes();
    let mac = [0x02, 0x42, b[0], b[1], b[2], b[3]];
    let relay = format!("relay-{:06}", i / 1000);
    let circuit = format!("ge-0/0/{}:{}", i % 48, i % 4000);
    let mut o82 = vec![1, circuit.len() as u8];
    o82.extend_from_slice(circuit.as_bytes());
    o82.extend_from_slice(&[2, 6]);
    o82.extend_from_slice(&mac);
    o82.extend_from_slice(&[12, relay.len() as u8]);
    o82.extend_from_slice(relay.as_bytes());
    let mut cid = vec![1];
    cid.extend_from_slice(&mac);
    let start = NOW - u64::from(i % 3600);
    Binding4::new(
        addr,
        "10.0.0.0/8".parse().unwrap(),
        HwAddr::ethernet(mac),
        State4::Active,
    )
    .with_times(start, start + 7200, start + 3600, start + 6300, start)
    .with_client_id(&cid)
    .unwrap()
    .with_relay_agent_information(&o82)
    .unwrap()
    .with_circuit_id(circuit.as_bytes())
    .unwrap()
    .with_remote_id(&mac)
    .unwrap()
    .with_relay_id(relay.as_bytes())
    .unwrap()
    .with_vendor_class_id(b"MSFT 5.0")
    .unwrap()
    .with_hostname(format!("host{i}").as_bytes())
    .unwrap()
}

/// Loads from SQLite but writes nothing, so measuring leaves the database as it was.
struct ReadOnly(SqliteBackend);

impl Backend for ReadOnly {
    fn load(&mut self) -> Result<Loaded, StoreError> {
        self.0.load()
    }

    fn apply(&mut self, _changes: &[Change]) -> Result<(), StoreError> {
        Ok(())
    }
}

fn rss_bytes() -> u64 {
    let statm = std::fs::read_to_string("/proc/self/statm").unwrap_or_default();
    let pages: u64 = statm
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    pages * 4096
}

fn populate(db: &PathBuf, n: u32) {
    let _ = std::fs::remove_file(db);
    let _ = std::fs::remove_file(db.with_extension("db-wal"));
    let _ = std::fs::remove_file(db.with_extension("db-shm"));
    let t = Instant::now();
    let (store, _) = Store::open_sqlite(db).expect("open");
    let mut tickets = std::collections::VecDeque::new();
    let mut i = 0;
    while i < n {
        let end = (i + 1000).min(n);
        let (done, ticket) = Completion::ticket();
        store.v4().write(done, |b| {
            for j in i..end {
                b.upsert(binding(j));
            }
        });
        tickets.push_back(ticket);
        i = end;
        // The writer's queue is bounded (a write past it is refused): let it drain.
        while store.backlog() > lessor_store::MAX_BACKLOG / 2 {
            match tickets.pop_front() {
                Some(t) => t.wait().expect("durable"),
                None => break,
            }
        }
    }
    for t in tickets {
        t.wait().expect("durable");
    }
    let stats = store.writer_stats();
    println!(
        "write: {n} bindings in {:.2} s through the writer ({} commits)",
        t.elapsed().as_secs_f64(),
        stats.commits()
    );
    store.close().expect("close");
}

fn measure(db: &PathBuf, n: u32) {
    let before = rss_bytes();
    let t = Instant::now();
    let (store, report) =
        Store::open(Box::new(ReadOnly(SqliteBackend::open(db).expect("open")))).expect("load");
    let load = t.elapsed();
    let after = rss_bytes();
    assert_eq!(report.v4.loaded, n as usize);
    println!(
        "load: {} bindings in {:.2} s ({:.0} bindings/s), {} skipped",
        report.v4.loaded,
        load.as_secs_f64(),
        f64::from(n) / load.as_secs_f64(),
        report.skipped.len()
    );
    let snap = store.v4().snapshot();
    let heap: usize = snap.iter().map(|b| b.heap_len()).sum();
    println!(
        "memory: resident delta {:.1} MiB = {} bytes per binding (size_of Binding4 = {}, variable fields {:.1} octets on average)",
        (after - before) as f64 / 1048576.0,
        (after - before) / u64::from(n),
        std::mem::size_of::<Binding4>(),
        heap as f64 / f64::from(n),
    );

    let t = Instant::now();
    let mut snaps = Vec::new();
    for _ in 0..1000 {
        snaps.push(store.v4().snapshot());
    }
    println!(
        "snapshot: {:.2} µs each",
        t.elapsed().as_secs_f64() * 1e6 / 1000.0
    );
    drop(snaps);

    let t = Instant::now();
    let (count, sum) = snap
        .iter()
        .fold((0u64, 0u64), |(c, s), b| (c + 1, s.wrapping_add(b.cltt)));
    println!(
        "walk: all {count} bindings of a snapshot in {:.3} s (checksum {sum})",
        t.elapsed().as_secs_f64()
    );

    let t = Instant::now();
    let mut streamed = 0;
    for r in 0..100u32 {
        streamed += snap.by_relay_id(format!("relay-{r:06}").as_bytes()).count();
    }
    println!(
        "relay-id cursor: {streamed} bindings of 100 relay-ids in {:.3} s",
        t.elapsed().as_secs_f64()
    );

    let t = Instant::now();
    let mut found = 0;
    for i in (0..n).step_by((n as usize / 100_000).max(1)) {
        found += snap.by_mac(&binding(i).hw).len();
    }
    println!(
        "by_mac: {found} lookups in {:.3} s",
        t.elapsed().as_secs_f64()
    );

    // The timer after a long outage: everything is due; chunks of 1000 keep each lock hold short.
    let t = Instant::now();
    let mut expired = 0;
    let mut longest = 0f64;
    loop {
        let c = Instant::now();
        let chunk = store
            .v4()
            .expire(NOW + 7200, 1000, Completion::none())
            .len();
        longest = longest.max(c.elapsed().as_secs_f64());
        expired += chunk;
        if chunk < 1000 {
            break;
        }
    }
    println!(
        "expire4: {expired} bindings expired in {:.2} s, chunks of 1000, longest lock hold {:.1} ms (a snapshot alive)",
        t.elapsed().as_secs_f64(),
        longest * 1000.0
    );
    store.close().expect("close");
}

fn main() {
    let mut args = std::env::args().skip(1);
    let first = args.next().unwrap_or_else(|| "1000000".into());
    if first == "--profile" {
        profile(&PathBuf::from(args.next().unwrap()));
        return;
    }
    if first == "--measure" {
        let n: u32 = args.next().unwrap().parse().unwrap();
        let db = PathBuf::from(args.next().unwrap());
        measure(&db, n);
        return;
    }
    let n: u32 = first.parse().expect("N");
    let db = args
        .next()
        .map(PathBuf::from)
        .unwrap_or_else(|| std::env::temp_dir().join(format!("lessor-load-{n}.db")));
    populate(&db, n);
    // Measure in a fresh process so the writes' allocations do not blur the figures.
    let status = Command::new(std::env::current_exe().unwrap())
        .arg("--measure")
        .arg(n.to_string())
        .arg(&db)
        .status()
        .expect("measure");
    assert!(status.success());
    println!(
        "database: {} ({} MiB)",
        db.display(),
        std::fs::metadata(&db)
            .map(|m| m.len() / 1048576)
            .unwrap_or(0)
    );
}

/// `--profile DB`: splits the load time between decoding rows and building the table.
fn profile(db: &PathBuf) {
    use lessor_store::Table;
    use std::sync::Arc;
    let t = Instant::now();
    let mut be = SqliteBackend::open(db).unwrap();
    let loaded = be.load().unwrap();
    println!(
        "backend decode: {} rows in {:.2} s",
        loaded.v4.bindings.len(),
        t.elapsed().as_secs_f64()
    );
    let t = Instant::now();
    let table = Table::from_records(loaded.v4.bindings.into_iter().map(Arc::new));
    println!(
        "table build: {} bindings in {:.2} s",
        table.len(),
        t.elapsed().as_secs_f64()
    );
}
