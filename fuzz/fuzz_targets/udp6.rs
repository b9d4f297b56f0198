//! The DHCPv6 UDP service as the I/O shell drives it: each datagram through `Router6`, then to
//! `Engine6` (one state machine across the whole input, over one in-memory store). No datagram
//! or sequence of them panics, and every reply the server builds parses as a DHCPv6 message
//! whose relay chain mirrors the request's.
//!
//! Input: records (see `lessor_fuzz`); per record the control octet's bits 0-1 choose where it
//! comes from (a relay to the listen address, a client multicasting on the served interface, a
//! client unicasting, a client multicasting on an interface not served), bits 2-4 how far the
//! clock moves first (0 s to 2 h: advertisements lapse, leases expire, probation ends), bit 5
//! runs the engine's timer after it.
#![no_main]

use lessor_fuzz::{now, records};
use lessor_net::{Interface, Outgoing, Received};
use lessor_server::config::{self, Config};
use lessor_server::dhcp6::{Engine6, Output};
use lessor_server::router6::{Route6, Router6};
use lessor_store::Store;
use lessor_wire::v6::Repr;
use libfuzzer_sys::fuzz_target;
use std::net::{IpAddr, SocketAddr, SocketAddrV6};
use std::sync::{Arc, OnceLock};

const STEPS: [u64; 8] = [0, 0, 1, 5, 61, 600, 3_601, 7_200];
const ETH1: u32 = 3;
const DUID: [u8; 10] = [0, 2, 0, 0, 0xab, 0x11, 1, 2, 3, 4];

const CONFIG: &str = r#"
[server]
store = "unused.db"

[dhcp6]
server-duid = "00:02:00:00:ab:11:01:02:03:04"
listen = ["2001:db8::1"]
interfaces = ["eth1"]
rapid-commit = true
preferred-lifetime = "30m"
valid-lifetime = "1h"
decline-probation = "1h"
options = { dns-servers = ["2001:db8::53"], preference = 255 }

[[dhcp6.link]]
prefix = "2001:db8:1::/64"
interface-ids = ["ge-0/0/1"]
pools = ["2001:db8:1::1000-2001:db8:1::1007"]
prefix-pools = [{ prefix = "2001:db8:100::/60", delegated-length = 62 }]
reservations = [{ duid = "00:03:00:01:02:00:00:00:00:01", addresses = ["2001:db8:1::10"] }]

[[dhcp6.link]]
prefix = "2001:db8:2::/64"
interface = "eth1"
pools = ["2001:db8:2::10-2001:db8:2::13"]
"#;

fn config() -> &'static Config {
    static C: OnceLock<Config> = OnceLock::new();
    C.get_or_init(|| config::parse(CONFIG, "fuzz.toml").expect("the fuzz config parses"))
}

fn arrival(control: u8) -> (SocketAddr, IpAddr, Option<u32>) {
    let v6 = |a: &str, port: u16, scope: u32| {
        SocketAddr::V6(SocketAddrV6::new(a.parse().unwrap(), port, 0, scope))
    };
    match control & 3 {
        0 => (v6("2001:db8::2", 547, 0), "2001:db8::1".parse().unwrap(), None),
        1 => (v6("fe80::c1", 546, ETH1), "ff02::1:2".parse().unwrap(), Some(ETH1)),
        2 => (v6("2001:db8:1::1000", 546, 0), "2001:db8::1".parse().unwrap(), None),
        _ => (v6("fe80::c2", 546, 9), "ff02::1:2".parse().unwrap(), Some(9)),
    }
}

fn check(request: &Repr, reply: &Outgoing) {
    let r = Repr::from_bytes(&reply.payload).expect("every reply the server builds parses");
    assert_eq!(r.relay_hops().len(), request.relay_hops().len());
    assert!(r.client_message().is_some());
}

fuzz_target!(|data: &[u8]| {
    let config = config();
    let d6 = config.dhcp6.as_ref().expect("[dhcp6]");
    let store = Arc::new(Store::in_memory());
    let router = Router6::new();
    let eth1 = Interface {
        name: "eth1".into(),
        index: ETH1,
        v4: vec![],
        v6: vec!["2001:db8:2::1/64".parse().unwrap()],
    };
    let mut engine = Engine6::new(d6, Arc::clone(&store), vec![eth1], DUID.to_vec());
    let mut ms = 0u64;
    for record in records(data, 64) {
        ms += STEPS[usize::from(record.control >> 2 & 7)] * 1000 + 1;
        let clock = now(ms);
        let (source, destination, interface_index) = arrival(record.control);
        let rx = Received {
            payload: record.payload,
            source,
            destination,
            interface_index,
        };
        if let Route6::Dhcp(message) = router.route(&rx) {
            match engine.handle(&message, clock.wall).1 {
                Output::Nothing => {}
                Output::Now(reply) => check(&message.repr, &reply),
                Output::WhenDurable(reply, durable, _) => {
                    check(&message.repr, &reply);
                    drop(durable);
                }
            }
        }
        if record.control & 0x20 != 0 {
            engine.tick(clock.wall);
        }
    }
    let _ = store.sync().wait();
});
