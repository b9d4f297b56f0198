//! DHCPv6 leasequery answer time against the size of the binding table, the sibling of
//! `leasequery_table_size` (DHCPv4): 10,000, 100,000 and 1,000,000 active bindings, half IA_NA
//! addresses and half IA_PD prefixes (client `n` has one of each), QUERY_BY_ADDRESS at random
//! over the table for an IA_NA address and for an address inside a delegated prefix.
//!
//! What is timed is what the v4 bench times: the router's check of the datagram
//! ([`Message6::new`]) and `Responder6::handle`: validate the LEASEQUERY, take a store snapshot,
//! look the address up (exactly, or the delegated prefix holding it), gather the client's other
//! bindings, build and encode the LEASEQUERY-REPLY with CLIENT_DATA. Sockets are left out (they
//! cost the same whatever the table size; `benches/leasequery6.sh` measures them): the question
//! here is whether the lookups stay flat from 10^4 to 10^6 bindings. The queries are those
//! `lessor perf leasequery` sends (CLIENTID, LQ_QUERY, no ORO).
//!
//! Addresses are 2001:db8:1::1:0 up on link 2001:db8:1::/64, prefixes /60s from
//! 2001:db8:8000::/33 up: keys of an in-memory table only, no packet leaves this process.
//!
//! ```text
//! cargo bench -p lessor-server --bench leasequery6_table_size
//! ```

#[path = "common/counted.rs"]
mod counted;

use criterion::{black_box, criterion_group, criterion_main, BenchmarkId, Criterion};
use lessor_server::config;
use lessor_server::leasequery6::Responder6;
use lessor_server::router6::Message6;
use lessor_store::v6::binding::{Binding6, IaType, State6};
use lessor_store::v6::Loaded6;
use lessor_store::{Backend, Change, Loaded, Store, StoreError};
use lessor_wire::v6::{
    ClientServerMessage, DhcpOption, Duid, MessageType, QueryType, Repr, OPTION_CLIENT_DATA,
};
use std::net::{Ipv6Addr, SocketAddrV6};
use std::sync::Arc;

const NOW: u64 = 1_800_000_000;
/// Client `n`'s address: FIRST_ADDRESS + n.
const FIRST_ADDRESS: u128 = 0x2001_0db8_0001_0000_0000_0000_0001_0000;
/// Client `n`'s prefix: FIRST_PREFIX + n << 68 (a /60).
const FIRST_PREFIX: u128 = 0x2001_0db8_8000_0000_0000_0000_0000_0000;
const PREFIX_LEN: u8 = 60;
const SERVER: Ipv6Addr = Ipv6Addr::new(0x2001, 0xdb8, 0xff, 0, 0, 0, 0, 1);
const REQUESTER: Ipv6Addr = Ipv6Addr::new(0x2001, 0xdb8, 0xff, 0, 0, 0, 0, 2);
const SIZES: [u32; 3] = [10_000, 100_000, 1_000_000];

const CONFIG: &str = r#"
[server]
store = "unused.db"

[dhcp6]
server-duid = "00:02:00:00:ab:11:01:02:03:04"
listen = ["2001:db8:ff::1"]

[[dhcp6.link]]
prefix = "2001:db8:1::/64"
pools = ["2001:db8:1::1:0-2001:db8:1::ffff:ffff"]
prefix-pools = [{ prefix = "2001:db8:8000::/33", delegated-length = 60 }]

[leasequery6]
requesters = ["2001:db8:ff::/64"]
rate-limit = { per-requester = 4000000000, total = 4000000000 }
"#;

/// Hands the store its bindings at open (as SQLite would after a restart), keeps nothing.
struct Preloaded(Vec<Binding6>);

impl Backend for Preloaded {
    fn load(&mut self) -> Result<Loaded, StoreError> {
        Ok(Loaded {
            v6: Loaded6 {
                bindings: std::mem::take(&mut self.0),
            },
            ..Default::default()
        })
    }

    fn apply(&mut self, _: &[Change]) -> Result<(), StoreError> {
        Ok(())
    }
}

/// Client `n`'s DUID (DUID-LL, a MAC from the index).
fn duid(n: u32) -> Vec<u8> {
    let b = n.to_be_bytes();
    vec![0, 3, 0, 1, 0x02, 0x42, b[0], b[1], b[2], b[3]]
}

fn address(n: u32) -> Ipv6Addr {
    Ipv6Addr::from(FIRST_ADDRESS + u128::from(n))
}

fn prefix(n: u32) -> Ipv6Addr {
    Ipv6Addr::from(FIRST_PREFIX + (u128::from(n) << (128 - PREFIX_LEN)))
}

/// Client `n`'s two bindings: an IA_NA address (IAID 1) and an IA_PD prefix (IAID 2).
fn bindings(n: u32) -> [Binding6; 2] {
    let link = "2001:db8:1::/64".parse().unwrap();
    let times = |b: Binding6| {
        b.with_times(
            NOW - 600,
            NOW + 1800,
            NOW + 3600,
            NOW + 900,
            NOW + 1440,
            NOW - 600,
        )
    };
    [
        times(
            Binding6::new(
                address(n),
                128,
                IaType::Na,
                &duid(n),
                1,
                link,
                State6::Active,
            )
            .unwrap(),
        ),
        times(
            Binding6::new(
                prefix(n),
                PREFIX_LEN,
                IaType::Pd,
                &duid(n),
                2,
                link,
                State6::Active,
            )
            .unwrap(),
        ),
    ]
}

/// The LEASEQUERY `lessor perf leasequery` sends for `address`.
fn query(address: Ipv6Addr, xid: u32) -> Vec<u8> {
    Repr::ClientServer(ClientServerMessage {
        msg_type: MessageType::Leasequery,
        transaction_id: xid & 0xff_ffff,
        options: vec![
            DhcpOption::ClientId(Duid::parse(&[0, 3, 0, 1, 0, 0, 0x5e, 0, 0x53, 1]).unwrap()),
            DhcpOption::LqQuery {
                query_type: QueryType::ByAddress,
                link_address: Ipv6Addr::UNSPECIFIED,
                options: vec![DhcpOption::IaAddr {
                    address,
                    preferred_lifetime: 0,
                    valid_lifetime: 0,
                    options: Vec::new(),
                }],
            },
        ],
    })
    .to_vec()
}

fn message(payload: &[u8]) -> Message6 {
    Message6::new(
        payload,
        SocketAddrV6::new(REQUESTER, 50_000, 0, 0),
        SERVER,
        None,
    )
    .expect("a DHCPv6 message")
}

fn bench(c: &mut Criterion) {
    let config = config::parse(CONFIG, "bench.toml").expect("bench config");
    let mut group = c.benchmark_group("leasequery6_table_size");
    for size in SIZES {
        if !counted::wants_size(size) {
            continue;
        }
        // `size` bindings: size / 2 clients with an address and a prefix each.
        let clients = size / 2;
        let all: Vec<Binding6> = (0..clients).flat_map(bindings).collect();
        let (store, report) = Store::open(Box::new(Preloaded(all))).expect("store");
        assert_eq!(report.v6.loaded, size as usize);
        let store = Arc::new(store);
        let responder = Responder6::new(
            &config,
            Arc::clone(&store),
            vec![0, 2, 0, 0, 0xab, 0x11, 1, 2, 3, 4],
        );
        let inside = |n: u32| Ipv6Addr::from(u128::from(prefix(n)) + 0x1_0000_0000_0001);
        for (name, at) in [
            ("ia_na_address", address as fn(u32) -> Ipv6Addr),
            ("address_in_ia_pd_prefix", inside as fn(u32) -> Ipv6Addr),
        ] {
            // 4096 queries spread over the whole table (a multiplicative hash of the index), so
            // consecutive queries touch unrelated parts of it, as a CMTS's would.
            let queries: Vec<Vec<u8>> = (0..4096u32)
                .map(|i| query(at(i.wrapping_mul(2_654_435_761) % clients), i))
                .collect();
            // Every one is answered with client data (checked once, outside the timing).
            for q in &queries {
                let reply = responder.handle(&message(q), NOW, 0).expect("an answer");
                let packet = lessor_wire::v6::Packet::new_checked(&reply.payload[..]).unwrap();
                assert_eq!(packet.msg_type(), MessageType::LeasequeryReply);
                assert!(
                    packet.option(OPTION_CLIENT_DATA).unwrap().is_some(),
                    "{name}: no client data"
                );
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

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(30).warm_up_time(std::time::Duration::from_millis(500)).measurement_time(std::time::Duration::from_secs(2));
    targets = bench
}
criterion_main!(benches);
