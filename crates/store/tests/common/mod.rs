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
