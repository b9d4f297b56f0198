//! The DHCPv6 leasequery responder (RFC 5007) behind `Router6`, on a store holding addresses and
//! delegated prefixes of several clients on two links, in every state, some with a kept relay
//! chain: no datagram makes it panic, every answer parses, mirrors the query's relay chain and
//! fits one unfragmented datagram (docs/protocol.md decision 24).
//!
//! Input: one control octet (bits 0-1: where the query comes from: a relay, an allowed
//! requester on port 547, one on an ephemeral port, a requester not allowed; bit 2: the
//! NotAllowed reply rather than a discard), then the datagram. Only what the router calls a
//! leasequery reaches the responder.
#![no_main]

use lessor_fuzz::now;
use lessor_net::Received;
use lessor_server::config::{self, Config};
use lessor_server::leasequery6::{reply::MAX_DATAGRAM, Responder6};
use lessor_server::router6::{Route6, Router6};
use lessor_store::v6::binding::{Binding6, IaType, State6};
use lessor_store::{Completion, Store};
use lessor_wire::v6::{DhcpOption, MessageType, RelayMessage, Repr};
use libfuzzer_sys::fuzz_target;
use std::net::{IpAddr, SocketAddr, SocketAddrV6};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};

const DUID: [u8; 10] = [0, 2, 0, 0, 0xab, 0x11, 1, 2, 3, 4];

const CONFIG: &str = r#"
[server]
store = "unused.db"

[dhcp6]
server-duid = "00:02:00:00:ab:11:01:02:03:04"
listen = ["2001:db8::1"]
options = { dns-servers = ["2001:db8::53"], domain-list = ["example.net"] }

[[dhcp6.link]]
prefix = "2001:db8:1::/64"
pools = ["2001:db8:1::1000-2001:db8:1::10ff"]
prefix-pools = [{ prefix = "2001:db8:100::/48", delegated-length = 56 }]
reservations = [{ duid = "00:03:00:01:02:00:00:00:00:01", addresses = ["2001:db8:1::10"], options = { sntp-servers = ["2001:db8::123"] } }]

[[dhcp6.link]]
prefix = "2001:db8:2::/64"
pools = ["2001:db8:2::10-2001:db8:2::ff"]

[leasequery6]
requesters = ["2001:db8:ff::/64", "fe80::/10"]
sensitive-options = [24]
rate-limit = { per-requester = 1000000, total = 1000000 }
"#;

fn config(not_allowed: bool) -> Config {
    let text = if not_allowed {
        format!("{CONFIG}not-allowed = \"not-allowed\"\n")
    } else {
        CONFIG.to_string()
    };
    config::parse(&text, "fuzz.toml").expect("the fuzz config parses")
}

/// 48 bindings: clients 1-8, each with an address on link 1, a prefix, an address on link 2
/// for the even ones; states cycling; every third with a relay chain.
fn store() -> Arc<Store> {
    let store = Arc::new(Store::in_memory());
    let chain = Repr::Relay(RelayMessage {
        msg_type: MessageType::RelayForw,
        hop_count: 0,
        link_address: "2001:db8:1::1".parse().unwrap(),
        peer_address: "fe80::2".parse().unwrap(),
        options: vec![DhcpOption::InterfaceId(b"port".to_vec())],
    })
    .to_vec();
    let t0 = now(0).wall;
    let states = [
        State6::Active,
        State6::Active,
        State6::Expired,
        State6::Released,
        State6::Declined,
        State6::Active,
    ];
    let mut n = 0usize;
    for client in 1..=8u8 {
        let duid = [0, 3, 0, 1, 2, 0, 0, 0, 0, client];
        let mut leases = vec![
            (format!("2001:db8:1::10{client:02x}"), 128, "2001:db8:1::/64"),
            (format!("2001:db8:100:{client:x}00::"), 56, "2001:db8:1::/64"),
        ];
        if client % 2 == 0 {
            leases.push((format!("2001:db8:2::{client:x}0"), 128, "2001:db8:2::/64"));
        }
        for (address, len, link) in leases {
            let ia = if len == 128 { IaType::Na } else { IaType::Pd };
            let mut b = Binding6::new(
                address.parse().unwrap(),
                len,
                ia,
                &duid,
                u32::from(client),
                link.parse().unwrap(),
                states[n % states.len()],
            )
            .unwrap()
            .with_times(t0, t0 + 1800, t0 + 3600, t0 + 900, t0 + 1440, t0);
            if n % 3 == 0 {
                b = b.with_relay_chain(&chain).unwrap();
                b.relay_peer = Some("2001:db8:ff::1".parse().unwrap());
            }
            let (done, ticket) = Completion::ticket();
            store.v6().upsert(b, done);
            ticket.wait().expect("in memory");
            n += 1;
        }
    }
    store
}

/// The router and both responders (discarding and NotAllowed), built once: the responder
/// changes no binding; the clock moves 1 ms per run.
fn parts() -> &'static (Router6, Responder6, Responder6) {
    static ONCE: OnceLock<(Router6, Responder6, Responder6)> = OnceLock::new();
    ONCE.get_or_init(|| {
        let s = store();
        (
            Router6::new(),
            Responder6::new(&config(false), Arc::clone(&s), DUID.to_vec()),
            Responder6::new(&config(true), s, DUID.to_vec()),
        )
    })
}

fn arrival(control: u8) -> SocketAddr {
    let (a, port) = match control & 3 {
        0 => ("2001:db8:ff::1", 547),
        1 => ("2001:db8:ff::5", 547),
        2 => ("2001:db8:ff::5", 40000),
        _ => ("2001:db8:77::5", 546),
    };
    SocketAddr::V6(SocketAddrV6::new(a.parse().unwrap(), port, 0, 0))
}

fuzz_target!(|data: &[u8]| {
    let Some((&control, payload)) = data.split_first() else {
        return;
    };
    let (router, discarding, not_allowed) = parts();
    let responder = if control & 4 != 0 { not_allowed } else { discarding };
    let rx = Received {
        payload,
        source: arrival(control),
        destination: IpAddr::V6("2001:db8::1".parse().unwrap()),
        interface_index: None,
    };
    if let Route6::Leasequery(message) = router.route(&rx) {
        static MS: AtomicU64 = AtomicU64::new(1_000);
        let clock = now(MS.fetch_add(1, Ordering::Relaxed));
        if let Some(reply) = responder.handle(&message, clock.wall, clock.ms) {
            assert!(reply.payload.len() <= MAX_DATAGRAM);
            let r = Repr::from_bytes(&reply.payload).expect("every answer parses");
            assert_eq!(r.relay_hops().len(), message.hops().len());
            let m = r.client_message().expect("a client/server message inside");
            assert_eq!(m.msg_type, MessageType::LeasequeryReply);
            assert_eq!(m.transaction_id, message.client().transaction_id);
        }
    }
});
