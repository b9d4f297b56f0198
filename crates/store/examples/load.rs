//! Load-time and memory figures for N bindings.
//!
//! ```text
//! cargo run --release -p lessor-store --example load -- 1000000 [DB]
//! cargo run --release -p lessor-store --example load -- --v6 1000000 [DB]
//! ```
//!
//! `--v6` does the same with N DHCPv6 bindings (three IA_NA addresses to one IA_PD /56, each
//! relayed: a one-hop relay chain with interface-id, remote-id and relay-id; 1000 bindings per
//! relay-id and link), and reports the v6 lookups (containing, by DUID, the relay-id cursor).
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
    Backend, Binding4, Binding6, Change, Completion, Fields6, HwAddr, IaType, Loaded,
    SqliteBackend, State4, State6, Store, StoreError,
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

/// DHCPv6 binding number `i`: every fourth a delegated /56 (from 2001:db8:8000::/33), the
/// others addresses (from 2001:db8:1::/48), on link `i / 1000` with that relay.
fn binding6(i: u32) -> Binding6 {
    let relay = i / 1000;
    let link = ipnet::Ipv6Net::new(
        std::net::Ipv6Addr::from(0x2001_0db8_0001_0000u128 << 64 | u128::from(relay) << 64),
        64,
    )
    .unwrap();
    let (address, len, ia) = if i % 4 == 3 {
        let p = 0x2001_0db8_8000_0000u128 << 64 | u128::from(i) << 72;
        (std::net::Ipv6Addr::from(p), 56, IaType::Pd)
    } else {
        (
            std::net::Ipv6Addr::from(u128::from(link.network()) + 0x1_0000 + u128::from(i)),
            128,
            IaType::Na,
        )
    };
    // DUID-LL (type 3, Ethernet) of client i / 4 (one client: three addresses and a prefix).
    let c = (i / 4).to_be_bytes();
    let duid = [0, 3, 0, 1, 0x02, 0x42, c[0], c[1], c[2], c[3]];
    let interface_id = format!("ge-0/0/{}", i % 48);
    let mut remote_id = vec![0, 0, 0x0d, 0xe9];
    remote_id.extend_from_slice(&duid[4..]);
    let relay_id = [
        0,
        3,
        0,
        1,
        0x02,
        0xff,
        0,
        0,
        (relay >> 8) as u8,
        relay as u8,
    ];
    // RELAY-FORW: type, hop count, link-address, peer-address, then the options.
    let mut chain = vec![12, 0];
    chain.extend_from_slice(&link.network().octets());
    chain.extend_from_slice(&[0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0, 0x42, 0, 0xff, 0xfe]);
    chain.extend_from_slice(&c[1..]);
    for (code, value) in [
        (18u16, interface_id.as_bytes()),
        (37, &remote_id[..]),
        (53, &relay_id[..]),
    ] {
        chain.extend_from_slice(&code.to_be_bytes());
        chain.extend_from_slice(&(value.len() as u16).to_be_bytes());
        chain.extend_from_slice(value);
    }
    let start = NOW - u64::from(i % 3600);
    let mut b = Binding6::new(
        address,
        len,
        ia,
        &duid,
        1 + u32::from(ia == IaType::Pd),
        link,
        State6::Active,
    )
    .unwrap()
    .with_times(
        start,
        start + 1800,
        start + 3600,
        start + 900,
        start + 1440,
        start,
    );
    b.relay_peer = Some(std::net::Ipv6Addr::from(u128::from(link.network()) | 1));
    b.set_fields(Fields6 {
        duid: Some(&duid),
        relay_chain: Some(&chain),
        interface_id: Some(interface_id.as_bytes()),
        remote_id: Some(&remote_id),
        relay_id: Some(&relay_id),
    })
    .unwrap();
    b
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

fn populate(db: &PathBuf, n: u32, v6: bool) {
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
        if v6 {
            store.v6().write(done, |b| {
                for j in i..end {
                    b.upsert(binding6(j));
                }
            });
        } else {
            store.v4().write(done, |b| {
                for j in i..end {
                    b.upsert(binding(j));
                }
            });
        }
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
        let (done, ticket) = Completion::ticket();
        let chunk = store.v4().expire(NOW + 7200, 1000, done).len();
        longest = longest.max(c.elapsed().as_secs_f64());
        // A chunk the writer refuses (its queue full) is taken back: count what stays.
        if ticket.wait().is_ok() {
            expired += chunk;
        }
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
    if first == "--measure6" {
        let n: u32 = args.next().unwrap().parse().unwrap();
        let db = PathBuf::from(args.next().unwrap());
        measure6(&db, n);
        return;
    }
    let v6 = first == "--v6";
    let first = if v6 {
        args.next().unwrap_or_else(|| "1000000".into())
    } else {
        first
    };
    let n: u32 = first.parse().expect("N");
    let db = args.next().map(PathBuf::from).unwrap_or_else(|| {
        let family = if v6 { "6" } else { "" };
        std::env::temp_dir().join(format!("lessor-load{family}-{n}.db"))
    });
    populate(&db, n, v6);
    // Measure in a fresh process so the writes' allocations do not blur the figures.
    let status = Command::new(std::env::current_exe().unwrap())
        .arg(if v6 { "--measure6" } else { "--measure" })
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

/// The DHCPv6 figures: load time, memory per binding, snapshot, walk and lookup costs.
fn measure6(db: &PathBuf, n: u32) {
    let before = rss_bytes();
    let t = Instant::now();
    let (store, report) =
        Store::open(Box::new(ReadOnly(SqliteBackend::open(db).expect("open")))).expect("load");
    let load = t.elapsed();
    let after = rss_bytes();
    assert_eq!(report.v6.loaded, n as usize);
    println!(
        "load6: {} bindings in {:.2} s ({:.0} bindings/s), {} skipped",
        report.v6.loaded,
        load.as_secs_f64(),
        f64::from(n) / load.as_secs_f64(),
        report.skipped.len()
    );
    let snap = store.v6().snapshot();
    let heap: usize = snap.iter().map(|b| b.heap_len()).sum();
    println!(
        "memory6: resident delta {:.1} MiB = {} bytes per binding (size_of Binding6 = {}, variable fields {:.1} octets on average)",
        (after - before) as f64 / 1048576.0,
        (after - before) / u64::from(n),
        std::mem::size_of::<Binding6>(),
        heap as f64 / f64::from(n),
    );

    let t = Instant::now();
    let mut snaps = Vec::new();
    for _ in 0..1000 {
        snaps.push(store.v6().durable_snapshot());
    }
    println!(
        "snapshot6: {:.2} µs each (durable)",
        t.elapsed().as_secs_f64() * 1e6 / 1000.0
    );
    drop(snaps);

    let t = Instant::now();
    let (count, sum) = snap
        .iter()
        .fold((0u64, 0u64), |(c, s), b| (c + 1, s.wrapping_add(b.cltt)));
    println!(
        "walk6: all {count} bindings of a snapshot in {:.3} s (checksum {sum})",
        t.elapsed().as_secs_f64()
    );

    let step = (n as usize / 100_000).max(1);
    let t = Instant::now();
    let mut found = 0;
    let mut lookups = 0;
    for i in (0..n).step_by(step) {
        let b = binding6(i);
        // An address inside a delegated prefix, or the address itself.
        let probe = std::net::Ipv6Addr::from(
            u128::from(b.address) | (u128::from(b.prefix_len < 128) * 0xabcd),
        );
        found += usize::from(snap.containing(probe).is_some());
        lookups += 1;
    }
    println!(
        "containing6: {found} of {lookups} found in {:.3} s",
        t.elapsed().as_secs_f64()
    );

    let t = Instant::now();
    let mut found = 0;
    for i in (0..n).step_by(step) {
        found += snap.by_duid(binding6(i).duid().unwrap()).len();
    }
    println!(
        "by_duid6: {found} bindings in {:.3} s",
        t.elapsed().as_secs_f64()
    );

    let t = Instant::now();
    let mut streamed = 0;
    for r in 0..100u32 {
        let id = binding6(r * 1000).relay_id().unwrap().to_vec();
        let mut c = snap.by_relay_id(&id);
        loop {
            let batch = c.next_batch(256);
            if batch.is_empty() {
                break;
            }
            streamed += batch.len();
        }
    }
    println!(
        "relay-id cursor6: {streamed} bindings of 100 relay-ids in {:.3} s",
        t.elapsed().as_secs_f64()
    );

    let t = Instant::now();
    let mut expired = 0;
    let mut longest = 0f64;
    loop {
        let c = Instant::now();
        let (done, ticket) = Completion::ticket();
        let chunk = store.v6().expire(NOW + 7200, 1000, done).len();
        longest = longest.max(c.elapsed().as_secs_f64());
        // A chunk the writer refuses (its queue full) is taken back: count what stays.
        if ticket.wait().is_ok() {
            expired += chunk;
        }
        if chunk < 1000 {
            break;
        }
    }
    println!(
        "expire6: {expired} bindings expired in {:.2} s, chunks of 1000, longest lock hold {:.1} ms (a snapshot alive)",
        t.elapsed().as_secs_f64(),
        longest * 1000.0
    );
    store.close().expect("close");
}

/// `--profile DB`: splits the load time between decoding rows and building the table.
fn profile(db: &PathBuf) {
    use lessor_store::Table;
    use std::sync::Arc;
    let t = Instant::now();
    let mut be = SqliteBackend::open(db).unwrap();
    let loaded = be.load().unwrap();
    println!(
        "backend decode: {} lease4 and {} lease6 rows in {:.2} s",
        loaded.v4.bindings.len(),
        loaded.v6.bindings.len(),
        t.elapsed().as_secs_f64()
    );
    let t = Instant::now();
    let table = Table::from_records(loaded.v4.bindings.into_iter().map(Arc::new));
    println!(
        "table build: {} bindings in {:.2} s",
        table.len(),
        t.elapsed().as_secs_f64()
    );
    let t = Instant::now();
    let table = Table::from_records(loaded.v6.bindings.into_iter().map(Arc::new));
    println!(
        "table6 build: {} bindings in {:.2} s",
        table.len(),
        t.elapsed().as_secs_f64()
    );
}
