//! In-process throughput of the sans-IO DHCPv6 bulk leasequery engine (RFC 5460): a store of N
//! active IA_NA bindings (default 1,000,000) that all share one relay-id, one QUERY_BY_RELAY_ID,
//! every reply frame drained into a sink, no sockets. Prints bindings/s and the memory the query
//! took (as `bulk_stream`, its DHCPv4 sibling).
//!
//!     cargo run --release -p lessor-server --example bulk6_stream [-- N]
//!
//! The addresses are consecutive from 2001:db8:1:: (documentation prefix); they are only keys in
//! this process's memory and never leave it.

use lessor_net::Now;
use lessor_server::bulk6::{Connection, Counters, Params};
use lessor_server::config;
use lessor_store::{Binding6, Completion, Fields6, IaType, State6, Store};
use lessor_wire::framing::{Dialect, Encoder};
use lessor_wire::v6::{ClientServerMessage, DhcpOption, Duid, MessageType, QueryType, Repr};
use std::alloc::{GlobalAlloc, Layout, System};
use std::net::Ipv6Addr;
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
[dhcp6]
server-duid = "00:02:00:00:ab:11:01:02:03:04"
listen = ["2001:db8::1"]

[[dhcp6.link]]
prefix = "2001:db8:1::/64"
pools = ["2001:db8:1::1-2001:db8:1::ffff:ffff"]

[leasequery6]
requesters = ["::1/128"]

[leasequery6.bulk]
listen = ["::1"]
"#;

const RELAY_ID: [u8; 10] = [0, 3, 0, 1, 2, 0, 0, 0, 0xbe, 0x0c];

fn status_kb(field: &str) -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix(field))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

fn query() -> Vec<u8> {
    let q = Repr::ClientServer(ClientServerMessage {
        msg_type: MessageType::Leasequery,
        transaction_id: 1,
        options: vec![
            DhcpOption::ClientId(Duid::parse(&[0, 3, 0, 1, 2, 0, 0, 0, 0, 0x99]).expect("duid")),
            DhcpOption::LqQuery {
                query_type: QueryType::ByRelayId,
                link_address: Ipv6Addr::UNSPECIFIED,
                options: vec![DhcpOption::RelayId(Duid::parse(&RELAY_ID).expect("duid"))],
            },
        ],
    });
    let mut out = Vec::new();
    Encoder::new(Dialect::V6, 65535)
        .encode_to_vec(&q.to_vec(), &mut out)
        .expect("frame");
    out
}

fn main() {
    let n: u32 = std::env::args()
        .nth(1)
        .map(|a| a.parse().expect("N"))
        .unwrap_or(1_000_000);
    let c = config::parse(CONFIG, "bench.toml").expect("config");
    let id = Duid::parse(&[0, 2, 0, 0, 0xab, 0x11, 1, 2, 3, 4]).expect("duid");
    let params = Arc::new(Params::from_config(&c, id).expect("bulk"));
    let store = Arc::new(Store::in_memory());
    let t = Instant::now();
    let now = lessor_net::clock::wall_now();
    let link = "2001:db8:1::/64".parse().expect("link");
    store.v6().write(Completion::none(), |batch| {
        for i in 0..n {
            let b = i.to_be_bytes();
            let duid = [0, 3, 0, 1, 2, 0x42, b[0], b[1], b[2], b[3]];
            let addr = Ipv6Addr::from(
                u128::from(Ipv6Addr::new(0x2001, 0xdb8, 1, 0, 0, 0, 0, 0)) + u128::from(i) + 1,
            );
            let mut binding = Binding6::new(addr, 128, IaType::Na, &duid, 1, link, State6::Active)
                .expect("binding")
                .with_times(
                    now - 60,
                    now + 43_200,
                    now + 86_400,
                    now + 21_600,
                    now + 34_560,
                    now - 60,
                );
            binding
                .set_fields(Fields6 {
                    duid: Some(&duid),
                    relay_id: Some(&RELAY_ID),
                    ..Fields6::default()
                })
                .expect("fields");
            batch.upsert(binding);
        }
    });
    let _ = store.sync().wait();
    eprintln!(
        "store: {n} bindings in {:.1} s, VmRSS {} MiB",
        t.elapsed().as_secs_f64(),
        status_kb("VmRSS:") / 1024
    );
    for _ in 0..3 {
        let counters = Arc::new(Counters::default());
        let before = IN_USE.load(Ordering::Relaxed);
        PEAK.store(before, Ordering::Relaxed);
        let started = Instant::now();
        let clock = Now { wall: now, ms: 0 };
        let mut conn = Connection::new(
            Arc::clone(&params),
            Arc::clone(&store),
            Arc::clone(&counters),
            clock,
        );
        conn.receive(&query(), clock).expect("query taken");
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
            "{{\"bindings\":{sent},\"seconds\":{secs:.3},\"bindings_per_s\":{:.0},\
             \"octets\":{octets},\"query_peak_heap_kib\":{}}}",
            sent as f64 / secs,
            peak / 1024,
        );
    }
}
