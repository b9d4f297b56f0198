//! DHCPv4 leasequery: parse + typed read of a 300-octet DHCPLEASEQUERY and emit of a
//! DHCPLEASEACTIVE, Lessor against `dhcproto` 0.15 on the same bytes in the same run.
//!
//! `cargo bench -p lessor-wire --bench v4_leasequery`. Figures: docs/benchmarks.md.
//! `cargo test --all-targets` runs each benchmark once as a smoke test.

use std::hint::black_box;
use std::net::Ipv4Addr;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion};
use dhcproto::v4 as dp;
use dhcproto::{Decodable, Decoder, Encodable, Encoder};
use lessor_wire::v4::{DhcpOption, MessageType, RelayAgentInformation, Repr, BOOTREPLY};

#[path = "../tests/common/v4_leasequery.rs"]
mod common;

use common::{leasequery, view_reads, view_reads_scanning, GIADDR, MAC};

const CIRCUIT: &[u8] = b"ge-0/0/1.100";
const RELAY_DUID: [u8; 10] = [0, 3, 0, 1, 0x02, 0x00, 0x5e, 0x00, 0x53, 0xfe];
const SERVER: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 254);
const LEASED: Ipv4Addr = Ipv4Addr::new(198, 51, 100, 20);
const ALSO: [Ipv4Addr; 2] = [
    Ipv4Addr::new(198, 51, 100, 21),
    Ipv4Addr::new(198, 51, 100, 22),
];

/// `Repr::from_bytes`, then the same reads as [`view_reads`] from the owned message.
fn repr_reads(bytes: &[u8]) -> usize {
    let r = Repr::from_bytes(black_box(bytes)).expect("query parses");
    black_box(r.message_type());
    black_box((r.xid, r.giaddr, r.ciaddr));
    let mut n = black_box(r.client_hw_addr()).len();
    if let Some(DhcpOption::ClientIdentifier(cid)) = r.option(61) {
        n += black_box(cid).len();
    }
    if let Some(DhcpOption::ParameterRequestList(prl)) = r.option(55) {
        n += black_box(prl).len();
    }
    if let Some(rai) = r.relay_agent_information() {
        n += black_box(rai.circuit_id().expect("82")).map_or(0, <[u8]>::len);
        n += black_box(rai.remote_id().expect("82")).map_or(0, <[u8]>::len);
        n += black_box(rai.relay_id().expect("82")).map_or(0, <[u8]>::len);
    }
    n
}

/// `dhcproto::v4::Message::decode`, then the comparable reads from its typed result.
fn dhcproto_reads(bytes: &[u8]) -> usize {
    let m = dp::Message::decode(&mut Decoder::new(black_box(bytes))).expect("query decodes");
    black_box(m.opts().msg_type());
    black_box((m.xid(), m.giaddr(), m.ciaddr()));
    let mut n = black_box(m.chaddr()).len();
    if let Some(dp::DhcpOption::ClientIdentifier(cid)) =
        m.opts().get(dp::OptionCode::ClientIdentifier)
    {
        n += black_box(cid).len();
    }
    if let Some(dp::DhcpOption::ParameterRequestList(prl)) =
        m.opts().get(dp::OptionCode::ParameterRequestList)
    {
        n += black_box(prl).len();
    }
    if let Some(dp::DhcpOption::RelayAgentInformation(rai)) =
        m.opts().get(dp::OptionCode::RelayAgentInformation)
    {
        use dp::relay::{RelayCode, RelayInfo};
        if let Some(RelayInfo::AgentCircuitId(c)) = rai.get(RelayCode::AgentCircuitId) {
            n += black_box(c).len();
        }
        if let Some(RelayInfo::AgentRemoteId(r)) = rai.get(RelayCode::AgentRemoteId) {
            n += black_box(r).len();
        }
        if let Some(RelayInfo::Unknown(u)) = rai.get(RelayCode::from(12)) {
            n += black_box(u.data()).len();
        }
    }
    n
}

/// The DHCPLEASEACTIVE answering the query: options 53, 54, 51, 58, 59, 82 (the query's, echoed),
/// 91, 92.
fn lease_active() -> Repr {
    let mut chaddr = [0u8; 16];
    chaddr[..6].copy_from_slice(&MAC);
    let rai = RelayAgentInformation::from_sub_options([
        (1, CIRCUIT),
        (2, &MAC[..]),
        (12, &RELAY_DUID[..]),
    ])
    .expect("sub-options fit");
    Repr {
        op: BOOTREPLY,
        xid: 0x5eed_1e45,
        ciaddr: LEASED,
        giaddr: GIADDR,
        chaddr,
        options: vec![
            DhcpOption::MessageType(MessageType::LeaseActive),
            DhcpOption::ServerIdentifier(SERVER),
            DhcpOption::IpAddressLeaseTime(3600),
            DhcpOption::RenewalTime(1800),
            DhcpOption::RebindingTime(3150),
            DhcpOption::RelayAgentInformation(rai),
            DhcpOption::ClientLastTransactionTime(42),
            DhcpOption::AssociatedIp(ALSO.to_vec()),
        ],
        ..Repr::default()
    }
}

/// The same DHCPLEASEACTIVE built with dhcproto.
fn lease_active_dhcproto() -> dp::Message {
    use dp::relay::{RelayAgentInformation, RelayCode, RelayInfo, UnknownInfo};
    let mut m = dp::Message::new_with_id(
        0x5eed_1e45,
        LEASED,
        Ipv4Addr::UNSPECIFIED,
        Ipv4Addr::UNSPECIFIED,
        GIADDR,
        &MAC,
    );
    m.set_opcode(dp::Opcode::BootReply);
    let mut rai = RelayAgentInformation::default();
    rai.insert(RelayInfo::AgentCircuitId(CIRCUIT.to_vec()));
    rai.insert(RelayInfo::AgentRemoteId(MAC.to_vec()));
    rai.insert(RelayInfo::Unknown(UnknownInfo::new(
        RelayCode::from(12),
        RELAY_DUID.to_vec(),
    )));
    let o = m.opts_mut();
    o.insert(dp::DhcpOption::MessageType(dp::MessageType::LeaseActive));
    o.insert(dp::DhcpOption::ServerIdentifier(SERVER));
    o.insert(dp::DhcpOption::AddressLeaseTime(3600));
    o.insert(dp::DhcpOption::Renewal(1800));
    o.insert(dp::DhcpOption::Rebinding(3150));
    o.insert(dp::DhcpOption::RelayAgentInformation(rai));
    o.insert(dp::DhcpOption::ClientLastTransactionTime(42));
    o.insert(dp::DhcpOption::AssociatedIp(ALSO.to_vec()));
    m
}

/// Checks that the three parsers read the same thing and the two emitters agree, before timing.
fn sanity(query: &[u8], active: &Repr, theirs: &dp::Message) {
    assert_eq!(query.len(), common::QUERY_LEN);
    let n = view_reads(query).expect("view parse");
    assert_eq!(n, 6 + 7 + 7 + CIRCUIT.len() + MAC.len() + RELAY_DUID.len());
    assert_eq!(view_reads_scanning(query).expect("view parse"), n);
    assert_eq!(repr_reads(query), n);
    assert_eq!(dhcproto_reads(query), n);
    // Both encodings of the DHCPLEASEACTIVE parse to the same Repr, up to option order.
    let mut ours = Repr::from_bytes(&active.to_vec()).expect("ours parses");
    let mut back = Repr::from_bytes(&theirs.to_vec().expect("dhcproto encodes")).expect("parses");
    ours.options.sort_by_key(DhcpOption::code);
    back.options.sort_by_key(DhcpOption::code);
    assert_eq!(ours, back);
}

fn bench(c: &mut Criterion) {
    let query = leasequery();
    let active = lease_active();
    let theirs = lease_active_dhcproto();
    sanity(&query, &active, &theirs);

    let mut g = c.benchmark_group("parse");
    g.bench_function("lessor_view", |b| {
        b.iter(|| view_reads(&query).expect("view parse"))
    });
    g.bench_function("lessor_view_scanning", |b| {
        b.iter(|| view_reads_scanning(&query).expect("view parse"))
    });
    g.bench_function("lessor_repr", |b| b.iter(|| repr_reads(&query)));
    g.bench_function("dhcproto", |b| b.iter(|| dhcproto_reads(&query)));
    g.finish();

    let mut g = c.benchmark_group("emit");
    let mut buf = [0u8; 576];
    g.bench_function("lessor", |b| {
        b.iter(|| black_box(&active).emit(&mut buf).expect("fits"))
    });
    let mut out: Vec<u8> = Vec::with_capacity(576);
    g.bench_function("dhcproto", |b| {
        b.iter(|| {
            out.clear();
            black_box(&theirs)
                .encode(&mut Encoder::new(&mut out))
                .expect("encodes");
            out.len()
        })
    });
    g.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .sample_size(50)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2));
    targets = bench
}
criterion_main!(benches);
