//! Leasequery answer time against the size of the binding table: 10,000, 100,000 and 1,000,000
//! active bindings, queries by IP, MAC and client-id at random over the table.
//!
//! What is timed is `Responder4::handle` on an in-memory datagram: parse and validate the
//! DHCPLEASEQUERY, take a store snapshot, look the key up (with the owner's other bindings for
//! associated-ip), build and encode the DHCPLEASEACTIVE. Sockets are left out (they cost the
//! same whatever the table size; `benches/leasequery.sh` measures them): the question here is
//! whether the lookups stay flat from 10^4 to 10^6 bindings.
//!
//! Addresses are consecutive from 198.18.0.0; past 131,072 bindings they leave 198.18.0.0/15. They
//! are keys of an in-memory table only: no packet carrying them leaves this process.
//!
//! ```text
//! cargo bench -p lessor-server --bench leasequery_table_size
//! ```

#[path = "common/counted.rs"]
mod counted;

use criterion::{black_box, criterion_group, criterion_main, BenchmarkId, Criterion};
use lessor_server::config;
use lessor_server::leasequery4::Responder4;
use lessor_server::router4::Message4;
use lessor_store::{Backend, Binding4, Change, HwAddr, Loaded, Loaded4, State4, Store, StoreError};
use lessor_wire::v4::{DhcpOption, MessageType, Repr, BOOTREQUEST};
use std::net::{Ipv4Addr, SocketAddrV4};
use std::sync::Arc;

const NOW: u64 = 1_800_000_000;
const FIRST: u32 = 0xC612_0000; // 198.18.0.0
const SERVER: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 1);
const GIADDR: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 2);
const SIZES: [u32; 3] = [10_000, 100_000, 1_000_000];

const CONFIG: &str = r#"
[server]
store = "unused.db"

[dhcp4]
server-identifier = "192.0.2.1"
listen = ["192.0.2.1"]
relays = ["192.0.2.0/24"]

[[dhcp4.subnet]]
prefix = "198.0.0.0/8"
pools = ["198.18.0.0-198.33.255.255"]
options = { routers = ["198.18.0.1"] }

[leasequery4]
requesters = ["192.0.2.0/24"]
rate-limit = { per-requester = 4000000000, total = 4000000000 }
"#;

/// Hands the store its bindings at open (as SQLite would after a restart), keeps nothing.
struct Preloaded(Vec<Binding4>);

impl Backend for Preloaded {
    fn load(&mut self) -> Result<Loaded, StoreError> {
        Ok(Loaded {
            v4: Loaded4 {
                bindings: std::mem::take(&mut self.0),
            },
            ..Default::default()
        })
    }

    fn apply(&mut self, _: &[Change]) -> Result<(), StoreError> {
        Ok(())
    }
}

fn mac(n: u32) -> [u8; 6] {
    let b = n.to_be_bytes();
    [0x02, 0x42, b[0], b[1], b[2], b[3]]
}

fn client_id(n: u32) -> Vec<u8> {
    let mut id = vec![1];
    id.extend_from_slice(&mac(n));
    id
}

fn binding(n: u32) -> Binding4 {
    let mut b = Binding4::new(
        Ipv4Addr::from(FIRST + n),
        "198.0.0.0/8".parse().unwrap(),
        HwAddr::ethernet(mac(n)),
        State4::Active,
    )
    .with_times(
        NOW - 600,
        NOW + 86_400,
        NOW + 43_200,
        NOW + 75_600,
        NOW - 600,
    );
    let mut rai = vec![1, 4];
    rai.extend_from_slice(&n.to_be_bytes());
    rai.extend_from_slice(&[2, 6]);
    rai.extend_from_slice(&mac(n));
    rai.extend_from_slice(&[12, 5, 0, 3, 0, 1, (n % 64) as u8]);
    let fields = lessor_store::Fields4 {
        client_id: Some(&client_id(n)),
        relay_agent_information: Some(&rai),
        circuit_id: Some(&rai[2..6]),
        remote_id: Some(&rai[8..14]),
        relay_id: Some(&rai[16..21]),
        vendor_class_id: None,
        hostname: None,
    };
    b.set_fields(fields).expect("fields fit");
    b
}

#[derive(Clone, Copy)]
enum By {
    Ip,
    Mac,
    ClientId,
}

fn query(by: By, n: u32) -> Vec<u8> {
    let mut q = Repr {
        op: BOOTREQUEST,
        xid: n,
        giaddr: GIADDR,
        options: vec![
            DhcpOption::MessageType(MessageType::LeaseQuery),
            DhcpOption::ParameterRequestList(vec![51, 58, 59, 82, 91, 92, 61]),
        ],
        ..Repr::default()
    };
    match by {
        By::Ip => q.ciaddr = Ipv4Addr::from(FIRST + n),
        By::Mac => {
            q.htype = 1;
            q.hlen = 6;
            q.chaddr[..6].copy_from_slice(&mac(n));
        }
        By::ClientId => q.options.push(DhcpOption::ClientIdentifier(client_id(n))),
    }
    q.to_vec()
}

fn bench(c: &mut Criterion) {
    let config = config::parse(CONFIG, "bench.toml").expect("bench config");
    let mut group = c.benchmark_group("leasequery_table_size");
    for size in SIZES {
        if !counted::wants_size(size) {
            continue;
        }
        let bindings: Vec<Binding4> = (0..size).map(binding).collect();
        let (store, report) = Store::open(Box::new(Preloaded(bindings))).expect("store");
        assert_eq!(report.v4.loaded, size as usize);
        let store = Arc::new(store);
        let responder = Responder4::new(&config, Arc::clone(&store), SERVER);
        for (name, by) in [
            ("ip", By::Ip),
            ("mac", By::Mac),
            ("client_id", By::ClientId),
        ] {
            // 4096 queries spread over the whole table (a multiplicative hash of the index),
            // so consecutive queries touch unrelated parts of it, as a CMTS's would.
            let queries: Vec<Vec<u8>> = (0..4096u32)
                .map(|i| query(by, i.wrapping_mul(2_654_435_761) % size))
                .collect();
            // Every one is answered DHCPLEASEACTIVE (checked once, outside the timing).
            for q in &queries {
                let reply = responder.handle(&message(q), NOW, 0).expect("an answer");
                let kind = lessor_wire::v4::Repr::from_bytes(&reply.payload)
                    .expect("the answer parses")
                    .message_type();
                assert_eq!(kind, Some(MessageType::LeaseActive));
            }
            if let Some(n) = counted::queries_for(name, size) {
                counted::answer_n(n, |i| {
                    let q = &queries[i % queries.len()];
                    black_box(responder.handle(&message(q), NOW, 0));
                });
                continue;
            }
            let mut i = 0usize;
            group.bench_with_input(BenchmarkId::new(name, size), &size, |b, _| {
                b.iter(|| {
                    i = (i + 1) % queries.len();
                    // The router's check of the datagram is part of what a query costs.
                    black_box(responder.handle(&message(&queries[i]), NOW, 0))
                })
            });
        }
        drop(responder);
        drop(store);
    }
    group.finish();
}

fn message(payload: &[u8]) -> Message4<'_> {
    Message4::new(payload, SocketAddrV4::new(GIADDR, 67), SERVER, None).expect("a DHCP message")
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(30).warm_up_time(std::time::Duration::from_millis(500)).measurement_time(std::time::Duration::from_secs(2));
    targets = bench
}
criterion_main!(benches);
