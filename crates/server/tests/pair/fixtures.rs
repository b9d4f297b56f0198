//! What the pair tests share: the configuration text (the one place that knows the file's
//! layout), the addresses, client bindings, and the check that an answer describes a binding.

use super::T0;
use lessor_requestor::{LeaseInfo, LeaseState};
use lessor_store::{Binding4, HwAddr, State4};
use lessor_wire::v4::RelayAgentInformation;
use std::net::Ipv4Addr;

/// Two leasequery servers (their listen address and server identifier).
pub const SERVER_A: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 1);
pub const SERVER_B: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 2);

/// The requestor: a relay agent, whose giaddr the servers answer.
pub const GIADDR: Ipv4Addr = Ipv4Addr::new(198, 51, 100, 1);
/// The port the requestor's socket is bound to (not 67: the servers are configured to answer the
/// source port of a query sent from giaddr itself, `reply-to-source-port`, docs/protocol.md
/// decision 4).
pub const REQUESTOR_PORT: u16 = 40_067;

/// Bulk settings written into the configuration.
pub const DATA_TIMEOUT_SECS: u64 = 5;
pub const IDLE_TIMEOUT_SECS: u64 = 60;
pub const QUERIES_PER_CONNECTION: usize = 4;

/// A server's configuration: `identifier` as listen address and server
/// identifier, clients in 203.0.113.0/24 (pool .10-.250) and 198.18.0.0/15, queries allowed from
/// 198.51.100.0/24, a bulk listener with the settings above.
pub fn config_text(identifier: Ipv4Addr) -> String {
    config_text_with(identifier, "")
}

/// [`config_text`] with a per-requester rate limit (queries per second).
pub fn config_text_rate_limited(identifier: Ipv4Addr, per_requester: u32) -> String {
    config_text_with(
        identifier,
        &format!("rate-limit = {{ per-requester = {per_requester}, total = 100000 }}"),
    )
}

/// [`config_text`] with `leasequery` added to the leasequery section.
fn config_text_with(identifier: Ipv4Addr, leasequery: &str) -> String {
    format!(
        r#"
[dhcp4]
server-identifier = "{identifier}"
listen = ["{identifier}"]
relays = ["198.51.100.0/24"]
lease-time = "1h"

[[dhcp4.subnet]]
prefix = "203.0.113.0/24"
pools = ["203.0.113.10-203.0.113.250"]

[[dhcp4.subnet]]
prefix = "198.18.0.0/15"
pools = ["198.18.0.1-198.19.255.254"]

[leasequery4]
requesters = ["198.51.100.0/24"]
reply-to-source-port = ["198.51.100.0/24"]
{leasequery}

[leasequery4.bulk]
listen = ["{identifier}"]
data-timeout = "{DATA_TIMEOUT_SECS}s"
idle-timeout = "{IDLE_TIMEOUT_SECS}s"
queries-per-connection = {QUERIES_PER_CONNECTION}
"#
    )
}

/// The address of client `n` (1 to 239): inside the pool of 203.0.113.0/24.
pub fn address(n: u8) -> Ipv4Addr {
    assert!((1..=239).contains(&n), "client {n} is outside the pool");
    Ipv4Addr::new(203, 0, 113, 10 + n)
}

/// An address inside the pool that no fixture leases: the server manages it (UNASSIGNED).
pub const FREE: Ipv4Addr = Ipv4Addr::new(203, 0, 113, 250);
/// An address no server manages (UNKNOWN).
pub const UNMANAGED: Ipv4Addr = Ipv4Addr::new(198, 51, 100, 77);

pub fn mac(n: u32) -> [u8; 6] {
    let b = n.to_be_bytes();
    [2, 0, b[0], b[1], b[2], b[3]]
}

pub fn client_id(n: u32) -> Vec<u8> {
    let mut id = vec![1];
    id.extend_from_slice(&mac(n));
    id
}

pub fn remote_id(n: u32) -> Vec<u8> {
    format!("modem-{n}").into_bytes()
}

/// Relay agents: even clients behind relay-A, odd ones behind relay-B.
pub fn relay_id(n: u32) -> &'static [u8] {
    if n.is_multiple_of(2) {
        b"relay-A"
    } else {
        b"relay-B"
    }
}

fn circuit_id(n: u32) -> Vec<u8> {
    format!("ge-0/0/{}", n % 48).into_bytes()
}

/// Client `n`'s active binding at `address`: everything a leasequery can return set (option 82
/// with circuit-id, remote-id and relay-id, client-id, vendor class), leased an hour from
/// `cltt`, T1 and T2 in the future.
pub fn binding_at(address: Ipv4Addr, n: u32, cltt: u64) -> Binding4 {
    let subnet = if address.octets()[0] == 203 {
        "203.0.113.0/24"
    } else {
        "198.18.0.0/15"
    };
    let rai = RelayAgentInformation::from_sub_options([
        (1, &circuit_id(n)[..]),
        (2, &remote_id(n)[..]),
        (12, relay_id(n)),
    ])
    .expect("option 82");
    Binding4::new(
        address,
        subnet.parse().expect("subnet"),
        HwAddr::ethernet(mac(n)),
        State4::Active,
    )
    .with_times(cltt, cltt + 3600, cltt + 1800, cltt + 3150, cltt)
    .with_client_id(&client_id(n))
    .and_then(|b| b.with_relay_agent_information(rai.as_bytes()))
    .and_then(|b| b.with_circuit_id(&circuit_id(n)))
    .and_then(|b| b.with_remote_id(&remote_id(n)))
    .and_then(|b| b.with_relay_id(relay_id(n)))
    .and_then(|b| b.with_vendor_class_id(b"docsis3.1"))
    .expect("binding fields")
}

/// Client `n` (1 to 239) at [`address`]`(n)`, last seen 10 minutes before [`T0`].
pub fn client(n: u8) -> Binding4 {
    binding_at(address(n), u32::from(n), T0 - 600)
}

/// Bulk client `i` (0 upwards) in 198.18.0.0/15, last seen `i % 1000` seconds before
/// T0 - 600 (its lease ends at least 2000 s after T0).
pub fn bulk_client(i: u32) -> Binding4 {
    let a = Ipv4Addr::from(u32::from(Ipv4Addr::new(198, 18, 0, 1)) + i);
    binding_at(a, 1000 + i, T0 - 600 - u64::from(i % 1000))
}

/// Asserts that `info`, an ACTIVE answer the requestor decoded, describes binding `b` as a
/// server answering at wall-clock second `wall` should: address, client, identifiers, the
/// relay agent information byte for byte and decoded, the remaining times and the time since
/// the last transaction. `server` is the expected server identifier (`None`: the message need
/// not carry one, as a draft bulk DHCPLEASEDATA).
pub fn assert_describes(info: &LeaseInfo, b: &Binding4, server: Option<Ipv4Addr>, wall: u64) {
    let what = b.address;
    assert_eq!(info.state, LeaseState::Active, "{what}: state");
    assert_eq!(info.address, Some(b.address), "{what}: ciaddr");
    assert_eq!(
        (info.htype, &info.chaddr[..]),
        (b.hw.htype(), b.hw.chaddr()),
        "{what}: hardware address"
    );
    assert_eq!(
        info.client_id.as_deref(),
        b.client_id(),
        "{what}: client-id"
    );
    let left = |t: u64| u32::try_from(t - wall).expect("fits");
    assert_eq!(
        info.lease_remaining,
        Some(left(b.end)),
        "{what}: lease time"
    );
    assert_eq!(info.t1_remaining, Some(left(b.t1)), "{what}: T1");
    assert_eq!(info.t2_remaining, Some(left(b.t2)), "{what}: T2");
    assert_eq!(
        info.cltt_ago,
        Some(u32::try_from(wall - b.cltt).expect("fits")),
        "{what}: client-last-transaction-time"
    );
    let relay = info.relay_info.as_ref().expect("option 82");
    assert_eq!(
        Some(&relay.raw[..]),
        b.relay_agent_information(),
        "{what}: option 82"
    );
    assert_eq!(info.circuit_id(), b.circuit_id(), "{what}: circuit-id");
    assert_eq!(info.remote_id(), b.remote_id(), "{what}: remote-id");
    assert_eq!(info.relay_id(), b.relay_id(), "{what}: relay-id");
    assert_eq!(
        info.vendor_class.as_deref(),
        b.vendor_class_id(),
        "{what}: vendor class"
    );
    if let Some(server) = server {
        assert_eq!(info.server_id, Some(server), "{what}: server identifier");
    }
}
