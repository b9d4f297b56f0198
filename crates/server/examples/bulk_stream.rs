//! In-process throughput of the sans-IO bulk leasequery engine: a store of N bindings (default
//! 1,000,000) that all share one relay-id, one by-relay-id query per dialect, every reply frame
//! drained into a sink, no sockets. Prints bindings/s and the memory the query took.
//!
//!     cargo run --release -p lessor-server --example bulk_stream [-- N]
//!
//! The addresses are consecutive u32s from 198.18.0.0 (benchmarking range, RFC 2544); they are
//! only keys in this process's memory and never leave it.
//!
//! Memory: a counting global allocator reports the largest number of octets allocated at once
//! during the query minus those allocated before it (the query's own peak), and VmHWM / VmRSS
//! from /proc/self/status.

use lessor_server::bulk4::{Connection, Counters, Now, Params};
use lessor_server::config;
use lessor_store::{Binding4, Completion, HwAddr, State4, Store};
use lessor_wire::framing::{Dialect, Encoder};
use lessor_wire::v4::{DhcpOption, MessageType, RelayAgentInformation, Repr, BOOTREQUEST};
use std::alloc::{GlobalAlloc, Layout, System};
use std::net::Ipv4Addr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Instant;

/// The system allocator, counting octets in use and their peak.
struct Counting;

static IN_USE: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

fn grew(n: usize) {
    let now = IN_USE.fetch_add(n, Ordering::Relaxed) + n;
    PEAK.fetch_max(now, Ordering::Relaxed);
}

#[allow(unsafe_code)]
// SAFETY: every call is forwarded to `System` with the caller's arguments unchanged.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() {
            grew(layout.size());
        }
        p
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) };
        IN_USE.fetch_sub(layout.size(), Ordering::Relaxed);
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let p = unsafe { System.realloc(ptr, layout, new_size) };
        if !p.is_null() {
            IN_USE.fetch_sub(layout.size(), Ordering::Relaxed);
            grew(new_size);
        }
        p
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

const CONFIG: &str = r#"
[dhcp4]
server-identifier = "192.0.2.1"
listen = ["192.0.2.1"]

[[dhcp4.subnet]]
prefix = "198.18.0.0/15"
pools = ["198.18.0.1-198.19.255.254"]

[leasequery4]
requesters = ["127.0.0.0/8"]

[leasequery4.bulk]
listen = ["127.0.0.1"]
"#;

const RELAY_ID: &[u8] = b"bench-relay";

fn status_kb(field: &str) -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix(field))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

fn query(dialect: Dialect) -> Vec<u8> {
    let rai = RelayAgentInformation::from_sub_options([(12, RELAY_ID)]).expect("relay-id");
    let t = match dialect {
        Dialect::Draft => MessageType::LeaseQuery,
        _ => MessageType::BulkLeaseQuery,
    };
    let r = Repr {
        op: BOOTREQUEST,
        // A relay-id query carries no hardware address (draft §7.3.1).
        htype: 0,
        hlen: 0,
        xid: 1,
        options: vec![
            DhcpOption::MessageType(t),
            DhcpOption::RelayAgentInformation(rai),
        ],
        ..Repr::default()
    };
    let mut out = Vec::new();
    Encoder::new(dialect, 65535)
        .encode_to_vec(&r.to_vec(), &mut out)
        .expect("frame");
    out
}

fn main() {
    let n: u32 = std::env::args()
        .nth(1)
        .map(|a| a.parse().expect("N"))
        .unwrap_or(1_000_000);
    let c = config::parse(CONFIG, "bench.toml").expect("config");
    let params = Arc::new(Params::from_config(&c, Ipv4Addr::new(192, 0, 2, 1)).expect("bulk"));
    let store = Arc::new(Store::in_memory());
    let t = Instant::now();
    let base = u32::from(Ipv4Addr::new(198, 18, 0, 0));
    let rai = RelayAgentInformation::from_sub_options([(1, &b"ge-0/0/1"[..]), (12, RELAY_ID)])
        .expect("option 82");
    let now = lessor_net::clock::wall_now();
    store.v4().write(Completion::none(), |batch| {
        for i in 0..n {
            let b = i.to_be_bytes();
            let binding = Binding4::new(
                Ipv4Addr::from(base + i),
                "198.18.0.0/15".parse().expect("prefix"),
                HwAddr::ethernet([2, 0x42, b[0], b[1], b[2], b[3]]),
                State4::Active,
            )
            .with_times(now - 60, now + 86_400, now + 43_140, now + 75_540, now - 60)
            .with_relay_agent_information(rai.as_bytes())
            .expect("82")
            .with_relay_id(RELAY_ID)
            .expect("relay-id");
            batch.upsert(binding);
        }
    });
    // Whatever the store still does in the background ends before the clock starts.
    let _ = store.sync().wait();
    eprintln!(
        "store: {n} bindings in {:.1} s, VmRSS {} MiB",
        t.elapsed().as_secs_f64(),
        status_kb("VmRSS:") / 1024
    );

    for dialect in [Dialect::Rfc6926, Dialect::Draft] {
        let counters = Arc::new(Counters::default());
        let before = IN_USE.load(Ordering::Relaxed);
        PEAK.store(before, Ordering::Relaxed);
        let hwm_before = status_kb("VmHWM:");
        let started = Instant::now();
        let clock = Now { wall: now, ms: 0 };
        let mut conn = Connection::new(
            Arc::clone(&params),
            Arc::clone(&store),
            Arc::clone(&counters),
            clock,
        );
        conn.receive(&query(dialect), clock).expect("query taken");
        // The sink: one write-sized buffer, emptied after every turn (as a socket would take it).
        let mut sink = Vec::with_capacity(16 * 1024);
        let mut octets = 0usize;
        while conn.poll_transmit(&mut sink, 16 * 1024, clock) > 0 {
            octets += sink.len();
            std::hint::black_box(&sink);
            sink.clear();
        }
        let secs = started.elapsed().as_secs_f64();
        let sent = counters.bindings.get();
        assert_eq!(sent, u64::from(n), "every binding sent");
        assert_eq!(counters.done.get(), 1);
        let peak = PEAK.load(Ordering::Relaxed).saturating_sub(before);
        println!(
            "{{\"dialect\":\"{}\",\"bindings\":{sent},\"seconds\":{secs:.3},\"bindings_per_s\":{:.0},\
             \"octets\":{octets},\"query_peak_heap_kib\":{},\"vmhwm_delta_kib\":{},\"vmhwm_kib\":{}}}",
            if dialect == Dialect::Draft { "draft" } else { "rfc6926" },
            sent as f64 / secs,
            peak / 1024,
            status_kb("VmHWM:").saturating_sub(hwm_before),
            status_kb("VmHWM:")
        );
    }
}
