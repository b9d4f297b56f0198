//! What the server-side fuzz targets share: one configuration, a store filled with bindings that
//! every query kind can find, the network positions a datagram can arrive from, and the record
//! layout that lets one input carry a sequence of datagrams.
//!
//! Record layout (targets `udp4` and `bulk4`): `[control][length: u16 BE][length octets]...`.
//! A trailing record shorter than its length takes what is left, so a seed that is one bare
//! message behind a 3-octet header is a valid input, and any input is.

use lessor_net::{Interface, Now};
use lessor_server::config::{self, Config};
use lessor_store::{Binding4, Completion, Fields4, HwAddr, State4, Store};
use std::net::{IpAddr, Ipv4Addr, SocketAddr, SocketAddrV4};
use std::sync::OnceLock;

/// The wall clock at the start of every run.
pub const T0: u64 = 1_700_000_000;
/// The server identifier and listen address.
pub const SERVER: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 1);
/// A configured relay (giaddr) and leasequery requester.
pub const RELAY: Ipv4Addr = Ipv4Addr::new(198, 51, 100, 1);
/// The interface clients are attached to directly.
pub const ETH0: u32 = 2;
/// An interface that is not served (relayed traffic arrives on it).
pub const ETH1: u32 = 3;

/// Small pools, so that a short input can exhaust one, reuse addresses and hit reservations.
pub const CONFIG: &str = r#"
[server]
store = "unused.db"

[dhcp4]
server-identifier = "192.0.2.1"
listen = ["192.0.2.1"]
interfaces = ["eth0"]
relays = ["198.51.100.0/24"]
lease-time = "1h"
decline-probation = "10m"
options = { domain-name-servers = ["192.0.2.53"], domain-name = "example.net" }

[[dhcp4.subnet]]
prefix = "192.0.2.0/24"
pools = ["192.0.2.100-192.0.2.107"]
exclude = ["192.0.2.101"]
options = { routers = ["192.0.2.1"] }
reservations = [
  { mac = "02:00:00:00:00:aa", address = "192.0.2.50" },
  { client-id = "01:02:00:00:00:00:bb", address = "192.0.2.51", options = { host-name = "reserved" } },
]

[[dhcp4.subnet]]
prefix = "198.51.100.0/24"
pools = ["198.51.100.100-198.51.100.131"]
options = { routers = ["198.51.100.1"] }

[leasequery4]
requesters = ["198.51.100.0/24", "192.0.2.0/24"]
rate-limit = { per-requester = 1000000, total = 1000000 }
legacy = [{ requester = "198.51.100.9", message-type = 10 }]

[leasequery4.bulk]
listen = ["127.0.0.1"]
queries-per-connection = 4
"#;

/// The configuration of every run (parsed once).
pub fn config() -> &'static Config {
    static CONFIG_ONCE: OnceLock<Config> = OnceLock::new();
    CONFIG_ONCE.get_or_init(|| config::parse(CONFIG, "fuzz.toml").expect("the fuzz config parses"))
}

/// The host's interfaces as the engine sees them.
pub fn interfaces() -> Vec<Interface> {
    vec![
        Interface {
            index: ETH0,
            name: "eth0".into(),
            v4: vec!["192.0.2.1/24".parse().expect("prefix")],
            v6: Vec::new(),
        },
        Interface {
            index: ETH1,
            name: "eth1".into(),
            v4: vec!["10.9.9.1/24".parse().expect("prefix")],
            v6: Vec::new(),
        },
    ]
}

/// Clocks `ms` milliseconds after the start.
pub fn now(ms: u64) -> Now {
    Now {
        wall: T0 + ms / 1000,
        ms,
    }
}

/// An in-memory store with 24 bindings in 198.51.100.100.. of every state, four relays
/// (relay-id `r0`..`r3`), remote-ids, client-ids and two MACs that hold several addresses: what
/// queries by IP, MAC, client-id, remote-id and relay-id, and their associated-ip lists, find.
pub fn filled_store() -> Store {
    let store = Store::in_memory();
    let states = [
        State4::Active,
        State4::Active,
        State4::Expired,
        State4::Released,
        State4::Declined,
        State4::Active,
    ];
    for i in 0u8..24 {
        let address = Ipv4Addr::new(198, 51, 100, 100 + i);
        let hw = HwAddr::new(1, &[2, 0, 0, 0, 0, i % 8]).expect("an Ethernet address");
        let state = states[usize::from(i) % states.len()];
        let start = T0 - 600 + u64::from(i);
        let end = if state == State4::Active { T0 + 3000 } else { T0 - 10 };
        let mut b = Binding4::new(address, "198.51.100.0/24".parse().expect("prefix"), hw, state)
            .with_times(start, end, start + 1500, start + 2600, start);
        let circuit = [b'c', b'0' + i % 5];
        let remote = [b'm', b'0' + i % 6];
        let relay = [b'r', b'0' + i % 4];
        let mut rai = Vec::new();
        for (code, value) in [(1u8, &circuit[..]), (2, &remote[..]), (12, &relay[..])] {
            rai.push(code);
            rai.push(value.len() as u8);
            rai.extend_from_slice(value);
        }
        let client_id = [1, 2, 0, 0, 0, 0, i % 8];
        let fields = Fields4 {
            client_id: (i % 3 != 0).then_some(&client_id[..]),
            relay_agent_information: Some(&rai),
            circuit_id: Some(&circuit),
            remote_id: Some(&remote),
            relay_id: Some(&relay),
            vendor_class_id: (i % 4 == 0).then_some(&b"vendor"[..]),
            hostname: (i % 5 == 0).then_some(&b"host"[..]),
        };
        b.set_fields(fields).expect("short fields");
        store.v4().upsert(b, Completion::none());
    }
    let _ = store.sync().wait();
    store
}

/// One record of an input: its control octet and its payload.
pub struct Record<'a> {
    pub control: u8,
    pub payload: &'a [u8],
}

/// Splits `data` into records (see the module docs); at most `max` of them.
pub fn records(mut data: &[u8], max: usize) -> Vec<Record<'_>> {
    let mut out = Vec::new();
    while data.len() >= 3 && out.len() < max {
        let control = data[0];
        let len = usize::from(u16::from_be_bytes([data[1], data[2]]));
        let rest = &data[3..];
        let (payload, next) = rest.split_at(len.min(rest.len()));
        out.push(Record { control, payload });
        data = next;
    }
    out
}

/// Where a datagram comes from and goes to, chosen by the low two bits of a control octet:
/// (source, destination, arrival interface).
pub fn arrival(control: u8) -> (SocketAddr, IpAddr, Option<u32>) {
    let v4 = |a: Ipv4Addr, port: u16| SocketAddr::V4(SocketAddrV4::new(a, port));
    match control & 3 {
        // Through a configured relay, to the listen address, on an interface not served.
        0 => (v4(RELAY, 67), IpAddr::V4(SERVER), Some(ETH1)),
        // A client on the served link, broadcast.
        1 => (
            v4(Ipv4Addr::UNSPECIFIED, 68),
            IpAddr::V4(Ipv4Addr::BROADCAST),
            Some(ETH0),
        ),
        // A client with an address, unicast to the server from anywhere.
        2 => (
            v4(Ipv4Addr::new(203, 0, 113, 7), 68),
            IpAddr::V4(SERVER),
            None,
        ),
        // A requester that is not a relay, from a high port.
        _ => (
            v4(Ipv4Addr::new(192, 0, 2, 9), 40_000),
            IpAddr::V4(SERVER),
            Some(ETH0),
        ),
    }
}
