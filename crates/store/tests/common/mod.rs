//! Helpers shared by the integration tests.
#![allow(dead_code)]

use std::net::Ipv4Addr;
use std::path::PathBuf;

use lessor_store::{Binding4, HwAddr, State4};

/// The injected clock of the tests: a fixed "now".
pub const NOW: u64 = 1_800_000_000;

/// 198.18.0.0/15 address number `n`.
pub fn addr(n: u32) -> Ipv4Addr {
    Ipv4Addr::from(u32::from(Ipv4Addr::new(198, 18, 0, 0)) + n)
}

pub fn mac(n: u32) -> HwAddr {
    let b = n.to_be_bytes();
    HwAddr::ethernet([0x02, 0x00, b[0], b[1], b[2], b[3]])
}

/// An active binding of address `n` for client `client`, leased at `cltt` for an hour.
pub fn active(n: u32, client: u32, cltt: u64) -> Binding4 {
    Binding4::new(
        addr(n),
        "198.18.0.0/15".parse().unwrap(),
        mac(client),
        State4::Active,
    )
    .with_times(cltt, cltt + 3600, cltt + 1800, cltt + 3150, cltt)
    .with_client_id(&[&[1u8][..], mac(client).chaddr()].concat())
    .unwrap()
}

/// `b` as relayed with relay-id `relay` and remote-id `remote` (option 82 raw built from them).
pub fn relayed(b: Binding4, relay: &[u8], remote: &[u8]) -> Binding4 {
    let circuit = b"eth0/1";
    let mut o82 = vec![1, circuit.len() as u8];
    o82.extend_from_slice(circuit);
    o82.extend_from_slice(&[2, remote.len() as u8]);
    o82.extend_from_slice(remote);
    o82.extend_from_slice(&[12, relay.len() as u8]);
    o82.extend_from_slice(relay);
    b.with_relay_agent_information(&o82)
        .unwrap()
        .with_circuit_id(circuit)
        .unwrap()
        .with_remote_id(remote)
        .unwrap()
        .with_relay_id(relay)
        .unwrap()
}

/// A fresh directory for one test, removed when dropped.
pub struct TempDir(PathBuf);

impl std::ops::Deref for TempDir {
    type Target = std::path::Path;
    fn deref(&self) -> &std::path::Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

pub fn temp_dir(name: &str) -> TempDir {
    let dir =
        std::env::temp_dir().join(format!("lessor-store-test-{}-{}", name, std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    TempDir(dir)
}

/// 2001:db8:1::/64, the DHCPv6 tests' link.
pub fn link6() -> ipnet::Ipv6Net {
    "2001:db8:1::/64".parse().unwrap()
}

/// 2001:db8:1::1000 + `n`.
pub fn addr6(n: u32) -> std::net::Ipv6Addr {
    std::net::Ipv6Addr::from(0x2001_0db8_0001_0000_0000_0000_0000_1000u128 + u128::from(n))
}

/// A DUID-EN of client `n`.
pub fn duid(n: u32) -> Vec<u8> {
    let mut d = vec![0, 2, 0, 0, 0x0d, 0xe9];
    d.extend_from_slice(&n.to_be_bytes());
    d
}

/// An active IA_NA binding of address `n` for client `client` (IAID 1), leased at `cltt`:
/// preferred 30 minutes, valid an hour.
pub fn na(n: u32, client: u32, cltt: u64) -> lessor_store::Binding6 {
    lessor_store::Binding6::new(
        addr6(n),
        128,
        lessor_store::IaType::Na,
        &duid(client),
        1,
        link6(),
        lessor_store::State6::Active,
    )
    .unwrap()
    .with_times(
        cltt,
        cltt + 1800,
        cltt + 3600,
        cltt + 900,
        cltt + 1440,
        cltt,
    )
}

/// An active IA_PD binding of `prefix` for client `client` (IAID 2), leased at `cltt`.
pub fn pd(prefix: &str, client: u32, cltt: u64) -> lessor_store::Binding6 {
    let p: ipnet::Ipv6Net = prefix.parse().unwrap();
    lessor_store::Binding6::new(
        p.network(),
        p.prefix_len(),
        lessor_store::IaType::Pd,
        &duid(client),
        2,
        link6(),
        lessor_store::State6::Active,
    )
    .unwrap()
    .with_times(
        cltt,
        cltt + 1800,
        cltt + 3600,
        cltt + 900,
        cltt + 1440,
        cltt,
    )
}

/// `b` as relayed through relay-id `relay` with remote-id `remote`: a chain of one
/// RELAY-FORW (without the client's message) from 2001:db8:ffff::1.
pub fn relayed6(
    mut b: lessor_store::Binding6,
    relay: &[u8],
    remote: &[u8],
) -> lessor_store::Binding6 {
    // msg-type 12, hop-count 0, link-address, peer-address, then interface-id (18).
    let mut chain = vec![12, 0];
    chain.extend_from_slice(&link6().network().octets());
    chain.extend_from_slice(&b.address.octets());
    chain.extend_from_slice(&[0, 18, 0, 4]);
    chain.extend_from_slice(b"ge-1");
    b.relay_peer = Some("2001:db8:ffff::1".parse().unwrap());
    let duid = b.duid().map(<[u8]>::to_vec);
    b.set_fields(lessor_store::Fields6 {
        duid: duid.as_deref(),
        relay_chain: Some(&chain),
        interface_id: Some(b"ge-1"),
        remote_id: Some(remote),
        relay_id: Some(relay),
    })
    .unwrap();
    b
}
