//! Sans-IO tests of the leasequery responder: an in-memory store filled directly or through the
//! DHCP engine, injected time, replies parsed back with `Repr`.

use super::*;
use crate::config;
use crate::dhcp4::{Engine4, Handled, Output};
use crate::router4::{Discard, Message4, Route4, Router4};
use lessor_net::{Outgoing, Received};
use lessor_store::{Binding4, Completion, HwAddr, State4};
use lessor_wire::v4::{DhcpOption, RelayAgentInformation, Repr, BOOTREPLY, BOOTREQUEST};
use proptest::prelude::*;
use std::net::{IpAddr, SocketAddr};

const T0: u64 = 1_700_000_000;
const SERVER: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 1);
/// The relay agent that relays clients and sends queries.
const RELAY: Ipv4Addr = Ipv4Addr::new(198, 51, 100, 1);
/// Configured as a legacy (draft-00) requester.
const LEGACY: Ipv4Addr = Ipv4Addr::new(198, 51, 100, 9);
/// A relay whose clients are served but which may not query.
const OUTSIDER: Ipv4Addr = Ipv4Addr::new(198, 51, 100, 200);

const CONFIG: &str = r#"
[dhcp4]
server-identifier = "192.0.2.1"
listen = ["192.0.2.1"]
relays = ["198.51.100.0/24"]
lease-time = "1h"
options = { domain-name-servers = ["192.0.2.53"], domain-name = "example.net" }

[[dhcp4.subnet]]
prefix = "198.51.100.0/24"
pools = ["198.51.100.100-198.51.100.120"]
exclude = ["198.51.100.105"]
options = { routers = ["198.51.100.1"], ntp-servers = ["198.51.100.123"] }
reservations = [
  { mac = "02:00:00:00:00:aa", address = "198.51.100.50", options = { host-name = "reserved" } },
]

[[dhcp4.subnet]]
prefix = "203.0.113.0/24"
pools = ["203.0.113.10-203.0.113.250"]
lease-time = "2h"

[leasequery4]
requesters = ["198.51.100.0/28"]
rate-limit = { per-requester = 1000, total = 100000 }
legacy = [{ requester = "198.51.100.9", message-type = 10 }]
"#;

fn ip(s: &str) -> Ipv4Addr {
    s.parse().unwrap()
}

fn mac(n: u8) -> [u8; 6] {
    [2, 0, 0, 0, 0, n]
}

fn rai_bytes(remote: &[u8], relay: &[u8]) -> Vec<u8> {
    let mut v = vec![1, 6];
    v.extend_from_slice(b"eth0/1");
    v.push(2);
    v.push(remote.len() as u8);
    v.extend_from_slice(remote);
    v.push(12);
    v.push(relay.len() as u8);
    v.extend_from_slice(relay);
    // An unknown sub-option, kept as is.
    v.extend_from_slice(&[9, 2, 0xde, 0xad]);
    v
}

struct H {
    /// Routes as the I/O shell does: the responder sees only what the router calls leasequery.
    router: Router4,
    responder: Responder4,
    store: Arc<Store>,
    config: Config,
    instant: u64,
}

impl H {
    fn new() -> H {
        H::with_config(CONFIG)
    }

    fn with_config(text: &str) -> H {
        H::with_store(text, Store::in_memory())
    }

    fn with_store(text: &str, store: Store) -> H {
        let config = config::parse(text, "test.toml").expect("test config");
        let store = Arc::new(store);
        H {
            router: Router4::for_config(&config),
            responder: Responder4::new(&config, store.clone(), SERVER),
            store,
            config,
            instant: 0,
        }
    }

    fn raw(&mut self, payload: &[u8], source: SocketAddrV4, now: u64) -> Option<Outgoing> {
        self.instant += 1;
        let rx = Received {
            payload,
            source: SocketAddr::V4(source),
            destination: IpAddr::V4(SERVER),
            interface_index: None,
        };
        match self.router.route(&rx) {
            Route4::Leasequery(message) => self.responder.handle(&message, now, self.instant),
            Route4::Dhcp(_) | Route4::Discard(_) => None,
        }
    }

    fn ask_at(&mut self, q: &Repr, now: u64) -> Option<(Outgoing, Repr)> {
        let reply = self.raw(&q.to_vec(), SocketAddrV4::new(RELAY, 67), now)?;
        let repr = Repr::from_bytes(&reply.payload).expect("reply parses");
        Some((reply, repr))
    }

    fn ask(&mut self, q: &Repr) -> Repr {
        self.ask_at(q, T0).expect("a reply").1
    }

    /// Writes `b` and waits until it is durable (leasequery reports only durable bindings).
    fn put(&self, b: Binding4) {
        let (done, durable) = Completion::ticket();
        self.store.v4().upsert(b, done);
        durable.wait().expect("durable");
    }

    fn c(&self) -> &Counters {
        self.responder.counters()
    }
}

/// A binding in the first subnet, owned by `mac(n)`, with the lease's times around `cltt`.
fn binding(a: &str, n: u8, state: State4, cltt: u64, end: u64) -> Binding4 {
    let a = ip(a);
    let subnet = if a.octets()[0] == 203 {
        "203.0.113.0/24"
    } else {
        "198.51.100.0/24"
    };
    Binding4::new(a, subnet.parse().unwrap(), HwAddr::ethernet(mac(n)), state).with_times(
        cltt,
        end,
        cltt + (end - cltt) / 2,
        cltt + (end - cltt) * 7 / 8,
        cltt,
    )
}

/// An active binding with a relay-supplied option 82 (remote-id "modem-<n>", relay-id
/// "relay-A") and a vendor class: leased at T0 - 600 for an hour.
fn active(a: &str, n: u8) -> Binding4 {
    let remote = format!("modem-{n}");
    let rai = rai_bytes(remote.as_bytes(), b"relay-A");
    binding(a, n, State4::Active, T0 - 600, T0 + 3000)
        .with_relay_agent_information(&rai)
        .unwrap()
        .with_circuit_id(b"eth0/1")
        .unwrap()
        .with_remote_id(remote.as_bytes())
        .unwrap()
        .with_relay_id(b"relay-A")
        .unwrap()
        .with_vendor_class_id(b"docsis3.0")
        .unwrap()
}

/// A DHCPLEASEQUERY from RELAY with no key.
fn lq() -> Repr {
    Repr {
        htype: 0,
        hlen: 0,
        xid: 0x4c51_0001,
        flags: 0x8000,
        giaddr: RELAY,
        options: vec![DhcpOption::MessageType(MessageType::LeaseQuery)],
        ..Repr::default()
    }
}

fn by_ip(a: &str) -> Repr {
    Repr {
        ciaddr: ip(a),
        ..lq()
    }
}

fn by_mac(n: u8) -> Repr {
    let mut q = Repr {
        htype: 1,
        hlen: 6,
        ..lq()
    };
    q.chaddr[..6].copy_from_slice(&mac(n));
    q
}

fn by_client_id(id: &[u8]) -> Repr {
    with(lq(), DhcpOption::ClientIdentifier(id.to_vec()))
}

fn by_sub_option(code: u8, value: &[u8]) -> Repr {
    let rai = RelayAgentInformation::from_sub_options([(code, value)]).unwrap();
    with(lq(), DhcpOption::RelayAgentInformation(rai))
}

fn with(mut r: Repr, o: DhcpOption) -> Repr {
    r.options.retain(|x| x.code() != o.code());
    r.options.push(o);
    r
}

fn prl(r: Repr, codes: &[u8]) -> Repr {
    with(r, DhcpOption::ParameterRequestList(codes.to_vec()))
}

/// `r` with a Maximum DHCP Message Size (57) of `n`.
fn max_size(r: Repr, n: u16) -> Repr {
    with(
        r,
        DhcpOption::Other {
            code: 57,
            data: n.to_be_bytes().to_vec(),
        },
    )
}

fn codes(r: &Repr) -> Vec<u8> {
    r.options.iter().map(|o| o.code()).collect()
}

fn kind(r: &Repr) -> MessageType {
    r.message_type().unwrap()
}

fn other(r: &Repr, code: u8) -> Option<Vec<u8>> {
    r.option(code).map(|o| o.value_bytes())
}

// ---- validation (§6.3) ----

#[test]
fn giaddr_zero_is_never_answered() {
    let mut h = H::new();
    h.put(active("198.51.100.100", 1));
    let mut q = by_ip("198.51.100.100");
    q.giaddr = Ipv4Addr::UNSPECIFIED;
    assert!(h.ask_at(&q, T0).is_none());
    assert_eq!(h.c().dropped(DropReason::GiaddrZero), 1);
}

#[test]
fn exactly_one_query_key() {
    let mut h = H::new();
    h.put(active("198.51.100.100", 1));
    // No key at all.
    assert!(h.ask_at(&lq(), T0).is_none());
    assert_eq!(h.c().dropped(DropReason::NoQueryKey), 1);
    // Two keys, in every pairing.
    let mut ip_and_mac = by_mac(1);
    ip_and_mac.ciaddr = ip("198.51.100.100");
    let mac_and_id = with(by_mac(1), DhcpOption::ClientIdentifier(vec![1, 2]));
    let ip_and_id = with(
        by_ip("198.51.100.100"),
        DhcpOption::ClientIdentifier(vec![1]),
    );
    let ip_and_remote = Repr {
        ciaddr: ip("198.51.100.100"),
        ..by_sub_option(2, b"modem-1")
    };
    for q in [ip_and_mac, mac_and_id, ip_and_id, ip_and_remote] {
        assert!(h.ask_at(&q, T0).is_none(), "{q:?}");
    }
    assert_eq!(h.c().dropped(DropReason::AmbiguousQuery), 4);
    // htype/hlen set with a zero chaddr is not a MAC key: still a query by IP.
    let mut q = by_ip("198.51.100.100");
    q.htype = 1;
    q.hlen = 6;
    assert_eq!(kind(&h.ask(&q)), MessageType::LeaseActive);
    // The requester's own option 82 (several sub-options) is not a key: still by IP.
    let own = RelayAgentInformation::new_checked(rai_bytes(b"x", b"y")).unwrap();
    let q = with(
        by_ip("198.51.100.100"),
        DhcpOption::RelayAgentInformation(own),
    );
    assert_eq!(kind(&h.ask(&q)), MessageType::LeaseActive);
    // ... and alone it is no key at all.
    let own = RelayAgentInformation::new_checked(rai_bytes(b"x", b"y")).unwrap();
    assert!(h
        .ask_at(&with(lq(), DhcpOption::RelayAgentInformation(own)), T0)
        .is_none());
    assert_eq!(h.c().dropped(DropReason::NoQueryKey), 2);
    assert_eq!(h.c().by_ip.get(), 2);
}

#[test]
fn malformed_and_foreign_messages_are_dropped() {
    let mut h = H::new();
    let src = SocketAddrV4::new(RELAY, 67);
    assert!(h.raw(b"not dhcp", src, T0).is_none());
    let mut q = by_ip("198.51.100.100");
    q.op = BOOTREPLY;
    assert!(h.raw(&q.to_vec(), src, T0).is_none());
    // An empty client identifier.
    let q = with(
        lq(),
        DhcpOption::Other {
            code: 61,
            data: vec![],
        },
    );
    assert!(h.raw(&q.to_vec(), src, T0).is_none());
    // Option 82 whose sub-option overruns it.
    let q = with(
        lq(),
        DhcpOption::RelayAgentInformation(RelayAgentInformation::new_unchecked(vec![2, 9, 1])),
    );
    assert!(h.raw(&q.to_vec(), src, T0).is_none());
    // Bulk leasequery has no business on UDP.
    let q = with(
        by_ip("198.51.100.100"),
        DhcpOption::MessageType(MessageType::BulkLeaseQuery),
    );
    assert!(h.raw(&q.to_vec(), src, T0).is_none());
    // What is no DHCP message, and a BOOTREPLY, never reach the responder: the router drops them.
    assert_eq!(h.router.counters().discarded(Discard::Malformed), 1);
    assert_eq!(h.router.counters().discarded(Discard::Reply), 1);
    assert_eq!(h.c().dropped(DropReason::Malformed), 2);
    assert_eq!(h.c().dropped(DropReason::UnsupportedType), 1);
    assert_eq!(h.c().received.get(), 3);
    assert_eq!(h.c().dropped_total(), 3);
}

// ---- query by IP (§6.4, §6.4.1, erratum 3518) ----

#[test]
fn by_ip_active_carries_the_lease() {
    let mut h = H::new();
    let b = active("198.51.100.100", 1);
    h.put(b.clone());
    let q = prl(by_ip("198.51.100.100"), &[51, 58, 59, 82, 91]);
    let (reply, r) = h.ask_at(&q, T0).unwrap();
    assert_eq!(
        kind(&Repr::from_bytes(&reply.payload).unwrap()),
        MessageType::LeaseActive
    );
    assert_eq!(r.op, BOOTREPLY);
    assert_eq!((r.xid, r.flags, r.giaddr), (q.xid, q.flags, RELAY));
    assert_eq!(r.ciaddr, ip("198.51.100.100"));
    assert_eq!((r.htype, r.hlen), (1, 6));
    assert_eq!(&r.chaddr[..6], &mac(1));
    assert_eq!(r.yiaddr, Ipv4Addr::UNSPECIFIED);
    assert_eq!(codes(&r), vec![53, 54, 51, 58, 59, 91, 82]);
    assert_eq!(r.option(54), Some(&DhcpOption::ServerIdentifier(SERVER)));
    assert_eq!(r.option(51), Some(&DhcpOption::IpAddressLeaseTime(3000)));
    // T1 = T0 - 600 + 1800, T2 = T0 - 600 + 3150.
    assert_eq!(r.option(58), Some(&DhcpOption::RenewalTime(1200)));
    assert_eq!(r.option(59), Some(&DhcpOption::RebindingTime(2550)));
    assert_eq!(
        r.option(91),
        Some(&DhcpOption::ClientLastTransactionTime(600))
    );
    // Option 82 exactly as saved, and on the wire byte for byte.
    assert_eq!(
        r.relay_agent_information().unwrap().as_bytes(),
        b.relay_agent_information().unwrap()
    );
    let saved = b.relay_agent_information().unwrap();
    let mut wire = vec![82, saved.len() as u8];
    wire.extend_from_slice(saved);
    assert!(reply.payload.windows(wire.len()).any(|w| w == wire));
    assert_eq!(h.c().active.get(), 1);
    assert_eq!(h.c().queries(QueryKind::Ip), 1);
}

#[test]
fn remaining_times_count_down_and_past_ones_are_left_out() {
    let mut h = H::new();
    h.put(active("198.51.100.100", 1));
    let q = prl(by_ip("198.51.100.100"), &[51, 58, 59]);
    // 1300 s later: T1 (T0 + 1200) is past, T2 (T0 + 2550) is not.
    let r = h.ask_at(&q, T0 + 1300).unwrap().1;
    assert_eq!(codes(&r), vec![53, 54, 51, 59, 91]);
    assert_eq!(r.option(51), Some(&DhcpOption::IpAddressLeaseTime(1700)));
    assert_eq!(r.option(59), Some(&DhcpOption::RebindingTime(1250)));
    assert_eq!(
        r.option(91),
        Some(&DhcpOption::ClientLastTransactionTime(1900))
    );
    // Past T2 too: only the lease time is left.
    let r = h.ask_at(&q, T0 + 2999).unwrap().1;
    assert_eq!(codes(&r), vec![53, 54, 51, 91]);
    assert_eq!(r.option(51), Some(&DhcpOption::IpAddressLeaseTime(1)));
    // At the end of the lease it is no longer active.
    let r = h.ask_at(&q, T0 + 3000).unwrap().1;
    assert_eq!(kind(&r), MessageType::LeaseUnassigned);
}

#[test]
fn by_ip_unassigned_for_managed_addresses_without_a_lease() {
    let mut h = H::new();
    let gone = |a: &str, state| binding(a, 7, state, T0 - 5000, T0 - 100);
    h.put(gone("198.51.100.101", State4::Expired));
    h.put(gone("198.51.100.102", State4::Released));
    h.put(gone("198.51.100.103", State4::Declined));
    h.put(binding(
        "198.51.100.104",
        7,
        State4::Declined,
        T0,
        T0 + 3600,
    )); // in probation
    h.put(binding("198.51.100.106", 7, State4::Offered, T0, T0 + 60));
    h.put(gone("198.51.100.107", State4::Active)); // ran out, not yet expired by the timer
    let addresses = [
        "198.51.100.100", // free pool address
        "198.51.100.101",
        "198.51.100.102",
        "198.51.100.103",
        "198.51.100.104",
        "198.51.100.106",
        "198.51.100.107",
        "198.51.100.50", // a reservation's address
        "203.0.113.77",  // another subnet: giaddr is not a key (§6.3)
    ];
    for a in addresses {
        let q = prl(by_ip(a), &[1, 3, 51, 82, 91]);
        let r = h.ask(&q);
        assert_eq!(kind(&r), MessageType::LeaseUnassigned, "{a}");
        // Only ciaddr (docs/protocol.md decision 6): no chaddr, no options beyond 53 and 54.
        assert_eq!(r.ciaddr, ip(a));
        assert_eq!(r.chaddr, [0; 16]);
        assert_eq!(codes(&r), vec![53, 54], "{a}");
    }
    assert_eq!(h.c().unassigned.get(), addresses.len() as u64);
}

#[test]
fn by_ip_unknown_echoes_ciaddr_and_carries_nothing_else() {
    let mut h = H::new();
    // An old binding for an address no pool holds any more, an excluded address, a stranger.
    h.put(binding(
        "198.51.100.30",
        7,
        State4::Expired,
        T0 - 5000,
        T0 - 100,
    ));
    for a in [
        "198.51.100.30",
        "198.51.100.105",
        "192.0.2.77",
        "198.51.100.1",
    ] {
        let q = prl(by_ip(a), &[1, 3, 51, 82, 91]);
        let r = h.ask(&q);
        assert_eq!(kind(&r), MessageType::LeaseUnknown, "{a}");
        assert_eq!(r.ciaddr, ip(a), "erratum 3518: ciaddr echoed");
        assert_eq!(codes(&r), vec![53, 54]);
        assert_eq!(r.giaddr, RELAY);
    }
    assert_eq!(h.c().unknown.get(), 4);
}

// ---- query by MAC / client-id (§6.4.1) ----

#[test]
fn by_mac_picks_the_most_recent_active_binding_and_lists_the_others() {
    let mut h = H::new();
    let mut older = active("198.51.100.100", 1);
    older.cltt = T0 - 900;
    let mut newest = active("203.0.113.10", 1);
    newest.cltt = T0 - 10;
    let mut middle = active("198.51.100.110", 1);
    middle.cltt = T0 - 300;
    // Even more recent, but released: it does not hide the active ones, nor is it associated.
    let released = binding("198.51.100.111", 1, State4::Released, T0 - 5, T0 - 5);
    for b in [older, newest, middle, released] {
        h.put(b);
    }
    h.put(active("198.51.100.112", 2)); // another client
    let r = h.ask(&by_mac(1));
    assert_eq!(kind(&r), MessageType::LeaseActive);
    assert_eq!(r.ciaddr, ip("203.0.113.10"));
    assert_eq!(
        r.option(92),
        Some(&DhcpOption::AssociatedIp(vec![
            ip("198.51.100.110"),
            ip("198.51.100.100")
        ]))
    );
    assert_eq!(
        r.option(91),
        Some(&DhcpOption::ClientLastTransactionTime(10))
    );
    // A client with one binding gets no associated-ip.
    let r = h.ask(&by_mac(2));
    assert_eq!(r.ciaddr, ip("198.51.100.112"));
    assert!(r.option(92).is_none());
    assert_eq!(h.c().queries(QueryKind::Mac), 2);
}

#[test]
fn in_the_same_second_the_binding_written_later_wins() {
    // One client, three active bindings, every cltt the same second: the order in which they
    // were written decides (RFC 4388 §6.4.1: the most recent transaction), not the addresses.
    let mut h = H::new();
    let id = [1, 2, 0, 0, 0, 0, 1];
    for a in ["198.51.100.100", "198.51.100.110", "198.51.100.102"] {
        h.put(active(a, 1).with_client_id(&id).unwrap());
    }
    let answer = |h: &mut H, q: &Repr| {
        let r = h.ask(q);
        assert_eq!(kind(&r), MessageType::LeaseActive);
        let associated = match r.option(92) {
            Some(DhcpOption::AssociatedIp(v)) => v.clone(),
            o => panic!("{o:?}"),
        };
        (r.ciaddr, associated)
    };
    let want = (
        ip("198.51.100.102"),
        vec![ip("198.51.100.110"), ip("198.51.100.100")],
    );
    assert_eq!(answer(&mut h, &by_mac(1)), want, "by MAC");
    assert_eq!(answer(&mut h, &by_client_id(&id)), want, "by client-id");
    assert_eq!(
        answer(&mut h, &by_sub_option(2, b"modem-1")),
        want,
        "by remote-id"
    );
    assert_eq!(
        answer(&mut h, &by_sub_option(12, b"relay-A")),
        want,
        "by relay-id"
    );
    // By IP: the owner's other addresses, most recent first.
    assert_eq!(
        answer(&mut h, &by_ip("198.51.100.102")).1,
        vec![ip("198.51.100.110"), ip("198.51.100.100")]
    );
    // The first one renewed, still in that second: now it is the most recent.
    h.put(active("198.51.100.100", 1).with_client_id(&id).unwrap());
    assert_eq!(
        answer(&mut h, &by_mac(1)),
        (
            ip("198.51.100.100"),
            vec![ip("198.51.100.102"), ip("198.51.100.110")]
        )
    );
}

#[test]
fn the_binding_written_later_still_wins_after_a_restart() {
    let dir = std::env::temp_dir().join(format!("lessor-lq-order-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let db = dir.join("leases.db");
    {
        let (store, _) = Store::open_sqlite(&db).unwrap();
        for a in ["198.51.100.100", "198.51.100.110", "198.51.100.102"] {
            store.v4().upsert(active(a, 1), Completion::none());
        }
        store.close().unwrap();
    }
    let config = config::parse(CONFIG, "test.toml").unwrap();
    let (store, _) = Store::open_sqlite(&db).unwrap();
    let store = Arc::new(store);
    let mut h = H {
        router: Router4::for_config(&config),
        responder: Responder4::new(&config, store.clone(), SERVER),
        store,
        config,
        instant: 0,
    };
    let r = h.ask(&by_mac(1));
    assert_eq!(r.ciaddr, ip("198.51.100.102"));
    assert_eq!(
        r.option(92),
        Some(&DhcpOption::AssociatedIp(vec![
            ip("198.51.100.110"),
            ip("198.51.100.100")
        ]))
    );
    drop(h);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn by_ip_lists_the_owners_other_addresses() {
    let mut h = H::new();
    h.put(active("198.51.100.100", 1));
    h.put(active("203.0.113.10", 1));
    let r = h.ask(&by_ip("198.51.100.100"));
    assert_eq!(
        r.option(92),
        Some(&DhcpOption::AssociatedIp(vec![ip("203.0.113.10")]))
    );
}

#[test]
fn by_client_id_picks_the_most_recent_and_echoes_61() {
    let mut h = H::new();
    let id = [1, 2, 0, 0, 0, 0, 0x33];
    let mut a = active("198.51.100.100", 3).with_client_id(&id).unwrap();
    a.cltt = T0 - 50;
    let mut b = active("198.51.100.101", 9).with_client_id(&id).unwrap();
    b.cltt = T0 - 20;
    h.put(a);
    h.put(b);
    let r = h.ask(&prl(by_client_id(&id), &[61]));
    assert_eq!(kind(&r), MessageType::LeaseActive);
    assert_eq!(r.ciaddr, ip("198.51.100.101"));
    assert_eq!(&r.chaddr[..6], &mac(9));
    assert_eq!(
        r.option(61),
        Some(&DhcpOption::ClientIdentifier(id.to_vec()))
    );
    assert_eq!(
        r.option(92),
        Some(&DhcpOption::AssociatedIp(vec![ip("198.51.100.100")]))
    );
    // A client-id never seen.
    let r = h.ask(&by_client_id(&[1, 9, 9]));
    assert_eq!(kind(&r), MessageType::LeaseUnknown);
    assert_eq!(codes(&r), vec![53, 54]);
    assert_eq!(h.c().queries(QueryKind::ClientId), 2);
}

#[test]
fn known_client_without_an_active_lease_is_unknown() {
    let mut h = H::new();
    h.put(binding(
        "198.51.100.100",
        4,
        State4::Expired,
        T0 - 9000,
        T0 - 10,
    ));
    h.put(binding(
        "198.51.100.101",
        4,
        State4::Released,
        T0 - 50,
        T0 - 50,
    ));
    h.put(
        binding("198.51.100.102", 5, State4::Released, T0 - 50, T0 - 50)
            .with_client_id(&[1, 5])
            .unwrap(),
    );
    for q in [by_mac(4), by_client_id(&[1, 5]), by_mac(99)] {
        let r = h.ask(&q);
        assert_eq!(kind(&r), MessageType::LeaseUnknown);
        assert_eq!(r.ciaddr, Ipv4Addr::UNSPECIFIED);
        assert_eq!(codes(&r), vec![53, 54]);
        // The query's own hardware address is echoed (nothing about the bindings).
        assert_eq!(r.chaddr, q.chaddr);
    }
}

// ---- DHCPLEASEACTIVE options (§6.4.2) ----

#[test]
fn requested_options_are_filtered_by_the_non_sensitive_list() {
    let mut h = H::new();
    h.put(
        active("198.51.100.100", 1)
            .with_client_id(&[1, 2, 3])
            .unwrap()
            .with_hostname(b"client-host")
            .unwrap(),
    );
    // 42 (NTP) is configured for the subnet but not on the default non-sensitive list; 15 is on
    // it but not requested; 43 is requested but configured nowhere.
    let q = prl(by_ip("198.51.100.100"), &[6, 42, 3, 61, 60, 12, 43, 1]);
    let r = h.ask(&q);
    // The engine's order: subnet mask first, then the PRL's order.
    assert_eq!(codes(&r), vec![53, 54, 91, 61, 1, 6, 3, 60, 12]);
    assert_eq!(
        r.option(6),
        Some(&DhcpOption::DomainNameServer(vec![ip("192.0.2.53")]))
    );
    assert_eq!(
        r.option(3),
        Some(&DhcpOption::Router(vec![ip("198.51.100.1")]))
    );
    assert_eq!(
        r.option(1),
        Some(&DhcpOption::SubnetMask(ip("255.255.255.0")))
    );
    assert_eq!(
        r.option(61),
        Some(&DhcpOption::ClientIdentifier(vec![1, 2, 3]))
    );
    assert_eq!(other(&r, 60), Some(b"docsis3.0".to_vec()));
    assert_eq!(other(&r, 12), Some(b"client-host".to_vec()));
    // Option 82 not requested: not sent.
    assert!(r.option(82).is_none());
    // Put 42 on the list: now it comes, with the client's value.
    let text = CONFIG.replace(
        "rate-limit =",
        "non-sensitive-options = [1, 3, 42]\nrate-limit =",
    );
    let mut h2 = H::with_config(&text);
    h2.put(active("198.51.100.100", 1));
    let r = h2.ask(&q);
    assert_eq!(codes(&r), vec![53, 54, 91, 1, 42, 3]);
    assert_eq!(other(&r, 42), Some(ip("198.51.100.123").octets().to_vec()));
}

#[test]
fn reservation_options_are_the_clients() {
    let mut h = H::new();
    let b = binding("198.51.100.50", 0xaa, State4::Active, T0 - 10, T0 + 3590);
    h.put(b.with_hostname(b"what-the-client-said").unwrap());
    let r = h.ask(&prl(by_ip("198.51.100.50"), &[12]));
    // The configured host name (what the client was given) wins over what it sent.
    assert_eq!(other(&r, 12), Some(b"reserved".to_vec()));
}

#[test]
fn without_a_prl_the_reply_is_what_a_dhcprequest_gets() {
    let mut h = H::new();
    h.put(active("198.51.100.100", 1).with_client_id(&[1, 1]).unwrap());
    h.put(active("198.51.100.101", 2));
    let r = h.ask(&by_ip("198.51.100.100"));
    // Lease times, 91, the client's 61 (RFC 6842: a DHCPACK returns it), the configured options
    // on the non-sensitive list (42 is not), then 82. No 60: a DHCPREQUEST's reply does not
    // carry it.
    assert_eq!(codes(&r), vec![53, 54, 51, 58, 59, 91, 61, 1, 3, 15, 6, 82]);
    assert_eq!(
        r.option(61),
        Some(&DhcpOption::ClientIdentifier(vec![1, 1]))
    );
    assert_eq!(other(&r, 15), Some(b"example.net".to_vec()));
    // A client that sent no client identifier: none.
    let r = h.ask(&by_ip("198.51.100.101"));
    assert_eq!(codes(&r), vec![53, 54, 51, 58, 59, 91, 1, 3, 15, 6, 82]);
    // With a PRL that does not name 61: none either.
    let r = h.ask(&prl(by_ip("198.51.100.100"), &[51]));
    assert!(r.option(61).is_none());
}

#[test]
fn active_reply_matches_what_the_engine_gave_the_client() {
    let mut h = H::new();
    let mut engine = Engine4::new(&h.config, h.store.clone(), Vec::new(), SERVER);
    let sink = Arc::new(std::sync::Mutex::new(Vec::<Outgoing>::new()));
    let rai = RelayAgentInformation::new_checked(rai_bytes(b"modem-7", b"relay-B")).unwrap();
    let mut discover = Repr {
        xid: 77,
        giaddr: RELAY,
        hops: 1,
        options: vec![
            DhcpOption::MessageType(MessageType::Discover),
            DhcpOption::ParameterRequestList(vec![1, 3, 6, 15, 42]),
            DhcpOption::VendorClassIdentifier(b"vendor-x".to_vec()),
            DhcpOption::ClientIdentifier(b"\x01client-7".to_vec()),
            DhcpOption::RelayAgentInformation(rai.clone()),
        ],
        ..Repr::default()
    };
    discover.chaddr[..6].copy_from_slice(&mac(7));
    let send = |engine: &mut Engine4, m: &Repr| {
        let bytes = m.to_vec();
        let message = Message4::new(&bytes, SocketAddrV4::new(RELAY, 67), SERVER, None).unwrap();
        let (handled, output) = engine.handle(&message, T0);
        match output {
            Output::Now(reply) => sink.lock().unwrap().push(reply),
            Output::WhenDurable(reply, durable, _) => {
                let sink = Arc::clone(&sink);
                durable.on_durable(move |r| {
                    r.unwrap();
                    sink.lock().unwrap().push(reply);
                });
            }
            Output::Nothing => {}
        }
        handled
    };
    assert_eq!(
        send(&mut engine, &discover),
        Handled::Replied(MessageType::Offer)
    );
    let offer = Repr::from_bytes(&sink.lock().unwrap().pop().unwrap().payload).unwrap();
    let mut request = with(discover, DhcpOption::MessageType(MessageType::Request));
    request = with(request, DhcpOption::ServerIdentifier(SERVER));
    request = with(request, DhcpOption::RequestedIpAddress(offer.yiaddr));
    assert_eq!(send(&mut engine, &request), Handled::Committing);
    let _ = h.store.sync().wait();
    let ack = Repr::from_bytes(&sink.lock().unwrap().pop().unwrap().payload).unwrap();
    assert_eq!(kind(&ack), MessageType::Ack);
    // RFC 6842: the client identifier comes back in the OFFER and the ACK.
    let sent_id = Some(DhcpOption::ClientIdentifier(b"\x01client-7".to_vec()));
    assert_eq!(offer.option(61), sent_id.as_ref());
    assert_eq!(ack.option(61), sent_id.as_ref());

    // 100 s later the requester asks for what the client asked for, and more.
    let q = prl(by_mac(7), &[1, 3, 6, 15, 51, 60, 82]);
    let r = h.ask_at(&q, T0 + 100).unwrap().1;
    assert_eq!(kind(&r), MessageType::LeaseActive);
    assert_eq!(r.ciaddr, ack.yiaddr);
    for c in [1, 3, 6, 15] {
        assert_eq!(r.option(c), ack.option(c), "option {c}");
    }
    assert_eq!(r.option(51), Some(&DhcpOption::IpAddressLeaseTime(3500)));
    assert_eq!(other(&r, 60), Some(b"vendor-x".to_vec()));
    assert_eq!(r.relay_agent_information(), Some(&rai));
    assert_eq!(
        r.option(91),
        Some(&DhcpOption::ClientLastTransactionTime(100))
    );
    // Without a PRL (§6.2: what the DHCPREQUEST got): the ACK's 51, 58, 59, 61 and 82.
    let r = h.ask_at(&by_mac(7), T0 + 100).unwrap().1;
    for c in [61, 82] {
        assert_eq!(r.option(c), ack.option(c), "option {c}");
    }
    for c in [51, 58, 59] {
        assert!(
            r.option(c).is_some() && ack.option(c).is_some(),
            "option {c}"
        );
    }
    // And by the identifiers the relay put in option 82.
    for q in [by_sub_option(2, b"modem-7"), by_sub_option(12, b"relay-B")] {
        assert_eq!(h.ask_at(&q, T0 + 100).unwrap().1.ciaddr, ack.yiaddr);
    }
}

// ---- query by remote-id / relay-id (docs/protocol.md decision 7) ----

#[test]
fn by_remote_id() {
    let mut h = H::new();
    let mut a = active("198.51.100.100", 1);
    a.cltt = T0 - 100;
    h.put(a);
    // Same modem, another host, more recent.
    let rai = rai_bytes(b"modem-1", b"relay-A");
    let mut b = active("198.51.100.101", 2)
        .with_remote_id(b"modem-1")
        .unwrap()
        .with_relay_agent_information(&rai)
        .unwrap();
    b.cltt = T0 - 1;
    h.put(b);
    h.put(
        binding("198.51.100.102", 3, State4::Expired, T0 - 9000, T0 - 10)
            .with_remote_id(b"modem-old")
            .unwrap(),
    );
    let r = h.ask(&prl(by_sub_option(2, b"modem-1"), &[82]));
    assert_eq!(kind(&r), MessageType::LeaseActive);
    assert_eq!(r.ciaddr, ip("198.51.100.101"));
    assert_eq!(&r.chaddr[..6], &mac(2));
    assert_eq!(
        r.option(92),
        Some(&DhcpOption::AssociatedIp(vec![ip("198.51.100.100")]))
    );
    assert_eq!(r.relay_agent_information().unwrap().as_bytes(), &rai[..]);
    // Known, but nothing active: UNASSIGNED with no address and nothing else.
    let r = h.ask(&by_sub_option(2, b"modem-old"));
    assert_eq!(kind(&r), MessageType::LeaseUnassigned);
    assert_eq!(r.ciaddr, Ipv4Addr::UNSPECIFIED);
    assert_eq!(codes(&r), vec![53, 54]);
    // Never seen.
    let r = h.ask(&by_sub_option(2, b"modem-never"));
    assert_eq!(kind(&r), MessageType::LeaseUnknown);
    assert_eq!(codes(&r), vec![53, 54]);
    assert_eq!(h.c().queries(QueryKind::RemoteId), 3);
}

#[test]
fn by_relay_id() {
    let mut h = H::new();
    let mut a = active("198.51.100.100", 1);
    a.cltt = T0 - 5;
    let mut b = active("198.51.100.101", 2);
    b.cltt = T0 - 50;
    h.put(a);
    h.put(b);
    h.put(
        binding("198.51.100.102", 3, State4::Released, T0 - 50, T0 - 50)
            .with_relay_id(b"relay-Z")
            .unwrap(),
    );
    let r = h.ask(&by_sub_option(12, b"relay-A"));
    assert_eq!(kind(&r), MessageType::LeaseActive);
    assert_eq!(r.ciaddr, ip("198.51.100.100"));
    assert_eq!(
        r.option(92),
        Some(&DhcpOption::AssociatedIp(vec![ip("198.51.100.101")]))
    );
    assert_eq!(
        kind(&h.ask(&by_sub_option(12, b"relay-Z"))),
        MessageType::LeaseUnassigned
    );
    assert_eq!(
        kind(&h.ask(&by_sub_option(12, b"relay-Q"))),
        MessageType::LeaseUnknown
    );
    assert_eq!(h.c().queries(QueryKind::RelayId), 3);
}

#[test]
fn associated_ip_is_capped() {
    let mut h = H::new();
    for k in 0..(MAX_ASSOCIATED as u32 + 10) {
        let a = Ipv4Addr::from(u32::from(ip("203.0.113.0")) + 1 + k);
        let mut b = binding(&a.to_string(), 1, State4::Active, T0 - 10, T0 + 3000)
            .with_relay_id(b"big")
            .unwrap();
        b.hw = HwAddr::ethernet([2, 1, 0, 0, (k >> 8) as u8, k as u8]);
        b.cltt = T0 - 1000 + u64::from(k);
        h.put(b);
    }
    let (reply, r) = h
        .ask_at(&max_size(by_sub_option(12, b"big"), 1500), T0)
        .unwrap();
    // The most recent is the answer; the 250 next most recent are associated.
    let newest = Ipv4Addr::from(u32::from(ip("203.0.113.0")) + MAX_ASSOCIATED as u32 + 10);
    assert_eq!(r.ciaddr, newest);
    match r.option(92) {
        Some(DhcpOption::AssociatedIp(v)) => {
            assert_eq!(v.len(), MAX_ASSOCIATED);
            assert_eq!(v[0], Ipv4Addr::from(u32::from(newest) - 1));
        }
        o => panic!("{o:?}"),
    }
    assert!(reply.payload.len() > 1000 && reply.payload.len() <= 1500 - 28);
}

// ---- bounded work, cost by work, reply size (docs/protocol.md decisions 14, 15) ----

/// Address `k` of 198.18.0.0/15 (outside the configured subnets: relay-id queries do not care).
fn big(k: u32) -> Ipv4Addr {
    Ipv4Addr::from(u32::from(ip("198.18.0.0")) + k)
}

/// `n` bindings with relay-id `relay`, in `state`, ending at `end`, the k-th last talked to at
/// `T0 - 1000 + k % 500` (so many share a second and the store's order decides), all written
/// in one batch in order of k.
fn fill_relay(h: &H, relay: &[u8], first: u32, n: u32, state: State4, end: u64) {
    h.store.v4().write(Completion::none(), |batch| {
        for k in first..first + n {
            let cltt = T0 - 1000 + u64::from(k % 500);
            let mut b = Binding4::new(
                big(k),
                "198.18.0.0/15".parse().unwrap(),
                HwAddr::ethernet([2, 9, 0, (k >> 16) as u8, (k >> 8) as u8, k as u8]),
                state,
            )
            .with_times(cltt, end, cltt + 10, cltt + 20, cltt)
            .with_relay_id(relay)
            .unwrap();
            b.set_client_id(Some(&k.to_be_bytes())).unwrap();
            batch.upsert(b);
        }
    });
    // Leasequery answers from durable bindings only.
    h.store.sync().wait().expect("durable");
}

#[test]
fn a_relay_with_100000_bindings_costs_a_bounded_walk() {
    let mut h = H::new();
    fill_relay(&h, b"big", 0, 100_000, State4::Active, T0 + 3000);
    let (_, r) = h.ask_at(&by_sub_option(12, b"big"), T0).unwrap();
    assert_eq!(kind(&r), MessageType::LeaseActive);
    // The latest cltt is T0 - 501 (k % 500 == 499); of those the one written last.
    assert_eq!(r.ciaddr, big(99_999));
    let associated = match r.option(92) {
        Some(DhcpOption::AssociatedIp(v)) => v.clone(),
        o => panic!("{o:?}"),
    };
    assert_eq!(&associated[..2], &[big(99_499), big(98_999)]);
    // The work: the answer and at most what a 576-octet reply can list, not 100,000.
    let examined = h.c().examined.get();
    assert!(examined > associated.len() as u64, "{examined}");
    assert!(
        examined <= 1 + reply::associated_bound(None) as u64,
        "{examined}"
    );
    assert_eq!(h.c().examine_capped.get(), 0);

    // 100,000 released bindings and one old active one: the released ones are not walked.
    fill_relay(&h, b"gone", 100_000, 100_000, State4::Released, T0 - 10);
    let mut old = binding("198.51.100.110", 3, State4::Active, T0 - 5000, T0 + 3000);
    old.set_relay_id(Some(b"gone")).unwrap();
    h.put(old);
    let before = h.c().examined.get();
    let r = h.ask(&by_sub_option(12, b"gone"));
    assert_eq!(r.ciaddr, ip("198.51.100.110"));
    assert_eq!(h.c().examined.get() - before, 1);
}

#[test]
fn a_pile_of_lapsed_active_bindings_stops_the_walk_at_the_cap() {
    let mut h = H::new();
    // Active, but their end has passed: the expiry timer has not reached them yet.
    fill_relay(&h, b"late", 0, 5_000, State4::Active, T0 - 1);
    // An older binding that is still active, behind all of them.
    let mut old = binding("198.51.100.110", 3, State4::Active, T0 - 5000, T0 + 3000);
    old.set_relay_id(Some(b"late")).unwrap();
    h.put(old);
    let r = h.ask(&by_sub_option(12, b"late"));
    // Answered from what the capped walk found: nothing active, the relay-id is known.
    assert_eq!(kind(&r), MessageType::LeaseUnassigned);
    assert_eq!(h.c().examined.get(), MAX_EXAMINED as u64);
    assert_eq!(h.c().examine_capped.get(), 1);
    // Once the timer has expired them, the active one is found at once.
    h.store.v4().expire(T0, 10_000, Completion::none());
    h.store.sync().wait().expect("durable");
    let r = h.ask(&by_sub_option(12, b"late"));
    assert_eq!(r.ciaddr, ip("198.51.100.110"));
}

#[test]
fn a_forged_pile_of_one_mac_stops_the_walk_at_the_cap() {
    let mut h = H::new();
    // 1,500 active bindings of one MAC, each with its own client-id (what a flood of forged
    // DISCOVERs could leave), the later the higher the address.
    h.store.v4().write(Completion::none(), |batch| {
        for k in 0..1_500u32 {
            let cltt = T0 - 2000 + u64::from(k);
            let b = Binding4::new(
                big(k),
                "198.18.0.0/15".parse().unwrap(),
                HwAddr::ethernet(mac(5)),
                State4::Active,
            )
            .with_times(cltt, T0 + 3000, cltt + 10, cltt + 20, cltt)
            .with_client_id(&k.to_be_bytes())
            .unwrap();
            batch.upsert(b);
        }
    });
    h.store.sync().wait().expect("durable");
    let r = h.ask(&by_mac(5));
    // The most recent of the 1,024 looked at (in address order), not of all 1,500.
    assert_eq!(r.ciaddr, big(MAX_EXAMINED as u32 - 1));
    assert_eq!(h.c().examined.get(), MAX_EXAMINED as u64);
    assert_eq!(h.c().examine_capped.get(), 1);
    // A client-id names one of them: exact, and cheap.
    let r = h.ask(&with(
        lq(),
        DhcpOption::ClientIdentifier(1_499u32.to_be_bytes().to_vec()),
    ));
    assert_eq!(r.ciaddr, big(1_499));
    assert_eq!(h.c().examined.get(), MAX_EXAMINED as u64 + 1);
}

#[test]
fn expensive_queries_cost_more_tokens() {
    let text = CONFIG.replace(
        "per-requester = 1000, total = 100000",
        "per-requester = 10, total = 100000",
    );
    let mut h = H::with_config(&text);
    fill_relay(&h, b"big", 0, 300, State4::Active, T0 + 3000);
    h.put(active("198.51.100.100", 1));
    // How many queries one requester (its own giaddr) gets through at one instant: the bucket
    // holds 600 tokens.
    let answered = |h: &mut H, q: Repr, n: u8| {
        let from = Ipv4Addr::new(198, 51, 100, n);
        let q = Repr { giaddr: from, ..q }.to_vec();
        let source = SocketAddrV4::new(from, 67);
        let mut count = 0;
        for _ in 0..2_000 {
            let message = Message4::new(&q, source, SERVER, None).unwrap();
            if h.responder.handle(&message, T0, 0).is_some() {
                count += 1;
            }
        }
        count
    };
    let cheap = answered(&mut h, by_ip("198.51.100.100"), 2);
    let dear = answered(&mut h, max_size(by_sub_option(12, b"big"), 1500), 3);
    // By IP about a client with one lease: nothing examined, 1 token; by relay-id with 250
    // associated addresses: 251 entries, 8.8 tokens.
    assert_eq!(cheap, 600, "{cheap}");
    assert_eq!(dear, 68, "{dear}");
    assert_eq!(
        h.c().dropped(DropReason::RateLimitedRequester),
        (2_000 - cheap) + (2_000 - dear)
    );
}

#[test]
fn replies_fit_576_octets_or_the_requesters_maximum() {
    let mut h = H::new();
    fill_relay(&h, b"big", 0, 300, State4::Active, T0 + 3000);
    let listed = |r: &Repr| match r.option(92) {
        Some(DhcpOption::AssociatedIp(v)) => v.clone(),
        o => panic!("{o:?}"),
    };
    let mut lengths = Vec::new();
    for (size, max) in [
        (None, 548),
        (Some(300), 548),
        (Some(1000), 972),
        (Some(9000), 8972),
    ] {
        let q = by_sub_option(12, b"big");
        let q = match size {
            Some(n) => max_size(q, n),
            None => q,
        };
        let (out, r) = h.ask_at(&q, T0).unwrap();
        assert!(out.payload.len() <= max, "{size:?}: {}", out.payload.len());
        let v = listed(&r);
        // Most recent first, cut at the end.
        assert_eq!(&v[..2], &[big(298), big(297)], "{size:?}");
        lengths.push(v.len());
    }
    // 576 and 1000 octets cut the list; 9000 holds the full 250.
    assert!(lengths[0] > 50 && lengths[0] == lengths[1], "{lengths:?}");
    assert!(
        lengths[2] > lengths[0] && lengths[2] < MAX_ASSOCIATED,
        "{lengths:?}"
    );
    assert_eq!(lengths[3], MAX_ASSOCIATED);
    assert_eq!(h.c().truncated.get(), 3);
}

#[test]
fn fitting_drops_associated_ip_then_the_configured_options() {
    let base = |extra: Vec<DhcpOption>| {
        let mut r = Repr {
            op: BOOTREPLY,
            options: vec![
                DhcpOption::MessageType(MessageType::LeaseActive),
                DhcpOption::ServerIdentifier(SERVER),
                DhcpOption::IpAddressLeaseTime(3000),
                DhcpOption::ClientLastTransactionTime(10),
            ],
            ..Repr::default()
        };
        r.options.extend(extra);
        r
    };
    let configured = |code: u8| DhcpOption::Other {
        code,
        data: vec![code; 200],
    };
    let max = reply::max_len(None);
    // Fits as built.
    let mut r = base(vec![configured(43)]);
    assert!(matches!(reply::fit(&mut r, max), reply::Fitted::Whole(_)));
    // Too many associated addresses: the list is cut, the configured option stays.
    let many: Vec<Ipv4Addr> = (0..200u32).map(big).collect();
    let mut r = base(vec![DhcpOption::AssociatedIp(many.clone()), configured(43)]);
    let v = match reply::fit(&mut r, max) {
        reply::Fitted::Truncated(v) => v,
        f => panic!("{f:?}"),
    };
    assert!(v.len() <= max);
    let back = Repr::from_bytes(&v).unwrap();
    match back.option(92) {
        Some(DhcpOption::AssociatedIp(kept)) => {
            assert!(!kept.is_empty() && kept.len() < 200);
            assert_eq!(kept[..], many[..kept.len()], "the most recent kept");
        }
        o => panic!("{o:?}"),
    }
    assert!(back.option(43).is_some());
    // Configured options too large even without associated-ip: they go, 51 and 91 stay, and
    // associated-ip takes the room they leave.
    let mut r = base(vec![
        DhcpOption::AssociatedIp(many),
        configured(43),
        configured(66),
        configured(67),
    ]);
    let v = match reply::fit(&mut r, max) {
        reply::Fitted::Truncated(v) => v,
        f => panic!("{f:?}"),
    };
    let back = Repr::from_bytes(&v).unwrap();
    let codes: Vec<u8> = back.options.iter().map(|o| o.code()).collect();
    assert_eq!(codes, vec![53, 54, 51, 91, 92]);
}

#[test]
fn a_reply_that_cannot_fit_is_not_sent() {
    let mut h = H::new();
    // A client-id and option 82 of 255 octets each: with the other §6.4.2 options, more than
    // a 576-octet message holds even with option overload.
    let mut rai = vec![1, 253];
    rai.extend_from_slice(&[7; 253]);
    let b = binding("198.51.100.100", 1, State4::Active, T0 - 600, T0 + 3000)
        .with_client_id(&[1; 255])
        .unwrap()
        .with_relay_agent_information(&rai)
        .unwrap();
    h.put(b);
    assert!(h.ask_at(&by_ip("198.51.100.100"), T0).is_none());
    assert_eq!(h.c().dropped(DropReason::ReplyTooLarge), 1);
    assert_eq!(h.c().active.get(), 0, "counted as sent only when sent");
    // The requester's own maximum lets it through, whole.
    let (out, r) = h
        .ask_at(&max_size(by_ip("198.51.100.100"), 1500), T0)
        .unwrap();
    assert!(out.payload.len() <= 1472);
    assert_eq!(other(&r, 82), Some(rai));
    assert_eq!(other(&r, 61), Some(vec![1; 255]));
    assert_eq!(h.c().truncated.get(), 0);
    assert_eq!(h.c().active.get(), 1);
}

// ---- legacy requesters (draft-ietf-dhc-leasequery-00) ----

#[test]
fn legacy_requesters_get_ack_and_nak() {
    let mut h = H::new();
    h.put(active("198.51.100.100", 1));
    h.put(
        binding("198.51.100.101", 2, State4::Expired, T0 - 9000, T0 - 10)
            .with_client_id(&[1, 2])
            .unwrap(),
    );
    let src = SocketAddrV4::new(LEGACY, 67);
    let ask = |h: &mut H, a: &str, codes_: &[u8]| {
        let mut q = prl(by_ip(a), codes_);
        q.giaddr = LEGACY;
        let reply = h.raw(&q.to_vec(), src, T0).expect("a reply");
        assert_eq!(
            reply.destination,
            Destination::Relay(SocketAddr::V4(SocketAddrV4::new(LEGACY, 67)))
        );
        Repr::from_bytes(&reply.payload).unwrap()
    };
    // Active: DHCPACK with the owner's chaddr and the remaining lease time.
    let r = ask(&mut h, "198.51.100.100", &[51, 82, 3]);
    assert_eq!(kind(&r), MessageType::Ack);
    assert_eq!(r.ciaddr, ip("198.51.100.100"));
    assert_eq!(&r.chaddr[..6], &mac(1));
    assert_eq!(codes(&r), vec![53, 54, 51, 3, 82]);
    assert_eq!(r.option(51), Some(&DhcpOption::IpAddressLeaseTime(3000)));
    // Managed, lease gone: DHCPACK without a lease time, chaddr of the last client.
    let r = ask(&mut h, "198.51.100.101", &[51, 3, 61]);
    assert_eq!(kind(&r), MessageType::Ack);
    assert_eq!(&r.chaddr[..6], &mac(2));
    assert_eq!(codes(&r), vec![53, 54]);
    // Managed, never leased: chaddr 0.
    let r = ask(&mut h, "198.51.100.110", &[51]);
    assert_eq!(kind(&r), MessageType::Ack);
    assert_eq!((r.htype, r.hlen, r.chaddr), (0, 0, [0; 16]));
    assert_eq!(codes(&r), vec![53, 54]);
    // Not managed: DHCPNAK, nothing else.
    let r = ask(&mut h, "192.0.2.99", &[51, 82]);
    assert_eq!(kind(&r), MessageType::Nak);
    assert_eq!(r.ciaddr, ip("192.0.2.99"));
    assert_eq!(codes(&r), vec![53, 54]);
    let c = h.c();
    assert_eq!(
        (c.legacy.get(), c.legacy_ack.get(), c.legacy_nak.get()),
        (4, 3, 1)
    );
    // The same query from a non-legacy requester is RFC 4388.
    let r = h.ask(&by_ip("198.51.100.100"));
    assert_eq!(kind(&r), MessageType::LeaseActive);
}

#[test]
fn legacy_message_type_is_configurable() {
    let text = CONFIG.replace("message-type = 10", "message-type = 200");
    let mut h = H::with_config(&text);
    h.put(active("198.51.100.100", 1));
    let src = SocketAddrV4::new(LEGACY, 67);
    let mut q = with(
        by_ip("198.51.100.100"),
        DhcpOption::MessageType(MessageType::Unknown(200)),
    );
    q.giaddr = LEGACY;
    let r = Repr::from_bytes(&h.raw(&q.to_vec(), src, T0).unwrap().payload).unwrap();
    assert_eq!(kind(&r), MessageType::Ack);
    // From anyone else, type 200 is nothing we answer.
    let mut q2 = q.clone();
    q2.giaddr = RELAY;
    assert!(h
        .raw(&q2.to_vec(), SocketAddrV4::new(RELAY, 67), T0)
        .is_none());
    // The router knows the legacy requesters: from anyone else it is no leasequery at all.
    assert_eq!(h.router.counters().discarded(Discard::UnexpectedType), 1);
    assert_eq!(h.c().received.get(), 1);
}

// ---- destination (docs/protocol.md decision 4), access, rate limits ----

#[test]
fn replies_go_to_giaddr_or_the_requesters_own_port() {
    let q = by_ip("198.51.100.100").to_vec();
    let dest = |h: &mut H, source: SocketAddrV4| h.raw(&q, source, T0).unwrap().destination;
    // By default port 67 of giaddr, whatever the source port (RFC 4388 §6.4.3).
    let mut h = H::new();
    assert_eq!(
        dest(&mut h, SocketAddrV4::new(RELAY, 40067)),
        Destination::Relay(SocketAddr::V4(SocketAddrV4::new(RELAY, 67)))
    );
    assert_eq!(h.c().to_source_port.get(), 0);
    // Opted in: the source port, when the query comes from giaddr itself.
    let text = CONFIG.replace(
        "legacy = [",
        "reply-to-source-port = [\"198.51.100.0/30\"]\nlegacy = [",
    );
    let mut h = H::with_config(&text);
    assert_eq!(
        dest(&mut h, SocketAddrV4::new(RELAY, 67)),
        Destination::Relay(SocketAddr::V4(SocketAddrV4::new(RELAY, 67)))
    );
    assert_eq!(
        dest(&mut h, SocketAddrV4::new(RELAY, 40067)),
        Destination::Relay(SocketAddr::V4(SocketAddrV4::new(RELAY, 40067)))
    );
    assert_eq!(h.c().to_source_port.get(), 1);
    // A requester allowed to ask but not opted in (198.51.100.5 is outside the /30): port 67.
    let five = ip("198.51.100.5");
    let mut q5 = by_ip("198.51.100.100");
    q5.giaddr = five;
    let r = h
        .raw(&q5.to_vec(), SocketAddrV4::new(five, 40067), T0)
        .unwrap();
    assert_eq!(
        r.destination,
        Destination::Relay(SocketAddr::V4(SocketAddrV4::new(five, 67)))
    );
    // From another (allowed) address: always giaddr, port 67.
    assert_eq!(
        dest(&mut h, SocketAddrV4::new(ip("198.51.100.2"), 40067)),
        Destination::Relay(SocketAddr::V4(SocketAddrV4::new(RELAY, 67)))
    );
}

#[test]
fn only_allowed_requesters_are_answered() {
    let mut h = H::new();
    let q = by_ip("198.51.100.100");
    // Source outside the allow-list.
    assert!(h
        .raw(&q.to_vec(), SocketAddrV4::new(OUTSIDER, 67), T0)
        .is_none());
    // giaddr outside the allow-list (the answer would go to a third party).
    let mut q2 = q.clone();
    q2.giaddr = OUTSIDER;
    assert!(h
        .raw(&q2.to_vec(), SocketAddrV4::new(RELAY, 67), T0)
        .is_none());
    assert_eq!(h.c().dropped(DropReason::NotAllowed), 2);
    assert!(h
        .raw(&q.to_vec(), SocketAddrV4::new(RELAY, 67), T0)
        .is_some());
    // No [leasequery4] section: nobody.
    let text = &CONFIG[..CONFIG.find("[leasequery4]").unwrap()];
    let mut none = H::with_config(text);
    assert!(none
        .raw(&q.to_vec(), SocketAddrV4::new(RELAY, 67), T0)
        .is_none());
    assert_eq!(none.c().dropped(DropReason::NotAllowed), 1);
}

#[test]
fn rate_limits_per_requester_and_total() {
    let text = CONFIG.replace(
        "per-requester = 1000, total = 100000",
        "per-requester = 2, total = 3",
    );
    let mut h = H::with_config(&text);
    let at = |h: &mut H, n: u8, ms: u64| {
        // Each requester its own relay (giaddr = source), so the relay buckets are the
        // requesters' twins here.
        let mut q = by_ip("198.51.100.100");
        q.giaddr = Ipv4Addr::new(198, 51, 100, n);
        let q = q.to_vec();
        let source = SocketAddrV4::new(Ipv4Addr::new(198, 51, 100, n), 3067);
        let message = Message4::new(&q, source, SERVER, None).unwrap();
        h.responder.handle(&message, T0, ms).is_some()
    };
    // Each bucket holds 60 s of its rate: requester 1 may send 120 at once, then no more.
    for _ in 0..120 {
        assert!(at(&mut h, 1, 0));
    }
    assert!(!at(&mut h, 1, 0)); // requester 1 is over its 2 per second
    for _ in 0..60 {
        assert!(at(&mut h, 2, 0));
    }
    assert!(!at(&mut h, 3, 0)); // the server is over its 3 per second (180 held)
    assert_eq!(h.c().dropped(DropReason::RateLimitedRequester), 1);
    assert_eq!(h.c().dropped(DropReason::RateLimitedTotal), 1);
    // A second later both have refilled by their rate.
    assert!(at(&mut h, 3, 1000));
    assert!(at(&mut h, 1, 1000));
    // The operator's report: what, why, from whom.
    let r = h.responder.take_drop_report(1000).expect("drops to report");
    assert_eq!(r.total(), 2);
    assert_eq!(r.dropped(DropReason::RateLimitedRequester), 1);
    assert_eq!(r.dropped(DropReason::RateLimitedTotal), 1);
    let line = r.to_string();
    assert!(
        line.contains("198.51.100.1 1") && line.contains("198.51.100.3 1"),
        "{line}"
    );
    assert!(line.contains("[leasequery4] rate-limit"), "{line}");
    // Reported once; the next within 5 s waits.
    assert!(at(&mut h, 1, 1000)); // the second token of the second that passed
    assert!(!at(&mut h, 1, 1000));
    assert_eq!(h.responder.take_drop_report(2000), None);
    assert_eq!(
        h.responder.take_drop_report(6000).map(|r| r.total()),
        Some(1)
    );
}

#[test]
fn every_drop_reason_reaches_the_report_with_its_requester() {
    let mut h = H::new();
    let source = |n| SocketAddrV4::new(Ipv4Addr::new(198, 51, 100, n), 67);
    // An empty client identifier: what the router passes on but the responder cannot read.
    let bad = with(
        lq(),
        DhcpOption::Other {
            code: 61,
            data: vec![],
        },
    );
    assert!(h.raw(&bad.to_vec(), source(1), T0).is_none());
    assert!(h.raw(&lq().to_vec(), source(3), T0).is_none());
    let stranger = SocketAddrV4::new(Ipv4Addr::new(203, 0, 113, 1), 67);
    assert!(h
        .raw(&by_ip("198.51.100.100").to_vec(), stranger, T0)
        .is_none());
    let r = h.responder.take_drop_report(0).expect("drops to report");
    assert_eq!(r.total(), 3);
    assert_eq!(r.dropped(DropReason::Malformed), 1);
    assert_eq!(r.dropped(DropReason::NoQueryKey), 1);
    assert_eq!(r.dropped(DropReason::NotAllowed), 1);
    let from: Vec<Ipv4Addr> = r.top.iter().map(|&(a, _)| a).collect();
    assert!(from.contains(&Ipv4Addr::new(203, 0, 113, 1)), "{r}");
    assert_eq!(r.top.len(), 3);
}

#[test]
fn counters_add_up() {
    let mut h = H::new();
    h.put(active("198.51.100.100", 1));
    h.ask(&by_ip("198.51.100.100"));
    h.ask(&by_ip("198.51.100.110"));
    h.ask(&by_ip("192.0.2.9"));
    h.ask(&by_mac(1));
    let _ = h.ask_at(&lq(), T0);
    let c = h.c();
    assert_eq!(c.received.get(), 5);
    assert_eq!(
        (c.active.get(), c.unassigned.get(), c.unknown.get()),
        (2, 1, 1)
    );
    assert_eq!((c.by_ip.get(), c.by_mac.get()), (3, 1));
    assert_eq!(c.dropped_total(), 1);
    for d in DropReason::ALL {
        assert!(!d.name().is_empty());
    }
}

#[test]
fn queries_leave_bindings_alone() {
    let mut h = H::new();
    let b = active("198.51.100.100", 1);
    h.put(b.clone());
    let stored = h.store.v4().get(ip("198.51.100.100")).unwrap();
    for q in [
        by_ip("198.51.100.100"),
        by_mac(1),
        by_sub_option(2, b"modem-1"),
    ] {
        h.ask(&q);
    }
    assert_eq!(*h.store.v4().get(ip("198.51.100.100")).unwrap(), *stored);
    assert_eq!(h.store.v4().len(), 1);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..700)) {
        let mut h = H::new();
        let _ = h.raw(&bytes, SocketAddrV4::new(RELAY, 67), T0);
    }

    #[test]
    fn mutated_queries_never_panic(
        flips in proptest::collection::vec((0usize..400, any::<u8>()), 0..12),
        which in 0usize..5,
    ) {
        let mut h = H::new();
        h.put(active("198.51.100.100", 1));
        let q = [
            by_ip("198.51.100.100"),
            by_mac(1),
            by_client_id(&[1, 2]),
            by_sub_option(2, b"modem-1"),
            prl(by_sub_option(12, b"relay-A"), &[1, 3, 51, 82]),
        ][which].clone();
        let mut bytes = q.to_vec();
        for (i, v) in flips {
            if let Some(b) = bytes.get_mut(i) {
                *b = v;
            }
        }
        if let Some(reply) = h.raw(&bytes, SocketAddrV4::new(RELAY, 67), T0) {
            let r = Repr::from_bytes(&reply.payload).expect("our replies parse");
            prop_assert_eq!(r.op, BOOTREPLY);
            prop_assert_ne!(r.giaddr, Ipv4Addr::UNSPECIFIED);
        }
    }
}

#[test]
fn op_constant_is_bootrequest() {
    assert_eq!(lq().op, BOOTREQUEST);
}

// ---- the client-option cache of bulk streams ----

#[test]
fn cached_active_replies_equal_uncached_ones() {
    let h = H::new();
    let d = h.config.dhcp4.as_ref().unwrap();
    let lq = h.config.leasequery4.as_ref().unwrap();
    let ctx = reply::Context {
        server_identifier: SERVER,
        subnets: &d.subnets,
        global_options: &d.options,
        non_sensitive: &lq.non_sensitive_options,
    };
    let outside = Binding4::new(
        ip("192.0.2.77"),
        "192.0.2.0/24".parse().unwrap(),
        HwAddr::ethernet(mac(9)),
        State4::Active,
    )
    .with_times(T0 - 600, T0 + 3000, T0 + 1200, T0 + 2550, T0 - 600);
    // Bindings of both subnets (the first has a reservation, so is never cached), the reserved
    // client itself, and one outside every subnet; each in turn, twice, through one cache.
    let bindings = [
        active("203.0.113.10", 1),
        active("198.51.100.100", 2),
        active("198.51.100.50", 0xaa).with_hostname(b"h").unwrap(),
        active("203.0.113.11", 3).with_client_id(&[1, 3]).unwrap(),
        outside,
        active("198.51.100.101", 4),
        active("203.0.113.12", 5),
    ];
    for query in [
        by_sub_option(12, b"relay-A"),
        prl(
            by_sub_option(12, b"relay-A"),
            &[1, 3, 6, 12, 15, 42, 51, 61, 82],
        ),
        prl(by_sub_option(12, b"relay-A"), &[42, 3]),
    ] {
        let bytes = query.to_vec();
        let message = Message4::new(&bytes, SocketAddrV4::new(RELAY, 67), SERVER, None).unwrap();
        let q = validate::read(&message).unwrap();
        let mut cache = reply::OptionCache::default();
        for b in bindings.iter().chain(bindings.iter()) {
            let want = reply::active(&q, &ctx, b, &[], T0);
            let got = reply::active_cached(&q, &ctx, b, &[], T0, Some(&mut cache));
            assert_eq!(got, want, "{}", b.address);
        }
        // The configured global options came through the cache when asked for.
        let r = reply::active_cached(&q, &ctx, &bindings[0], &[], T0, Some(&mut cache));
        let asked = q.prl.as_ref().is_none_or(|p| p.contains(&15));
        assert_eq!(other(&r, 15).is_some(), asked, "{:?}", codes(&r));
    }
}

// ---- the per-thread client-option caches of UDP answers ----

#[test]
fn udp_answers_through_prl_caches_equal_uncached_ones() {
    let h = H::new();
    for b in [
        active("203.0.113.10", 1),
        active("198.51.100.100", 2),
        active("198.51.100.50", 0xaa).with_hostname(b"h").unwrap(),
        active("203.0.113.11", 3).with_client_id(&[1, 3]).unwrap(),
        active("198.51.100.101", 4),
    ] {
        h.put(b);
    }
    let queries = [
        by_ip("203.0.113.10"),
        by_ip("198.51.100.100"),
        by_ip("198.51.100.50"),
        prl(by_ip("203.0.113.11"), &[1, 3, 6, 12, 15, 42, 51, 61, 82]),
        prl(by_ip("198.51.100.101"), &[42, 3]),
        prl(by_ip("203.0.113.10"), &[42, 3]),
        by_mac(4),
        by_client_id(&[1, 3]),
        prl(by_sub_option(12, b"relay-A"), &[6, 15, 51]),
        by_ip("198.51.100.119"),
    ];
    let mut caches = reply::PrlCaches::default();
    // Each query twice, in turn, through one set of caches: the second round is served from
    // them, and every answer is the uncached one, byte for byte.
    for round in 0..2 {
        for q in &queries {
            let bytes = q.to_vec();
            let m = Message4::new(&bytes, SocketAddrV4::new(RELAY, 67), SERVER, None).unwrap();
            let want = h.responder.handle(&m, T0, 1);
            let got = h.responder.handle_cached(&m, T0, 1, &mut caches);
            assert_eq!(got, want, "round {round}: {q:?}");
            assert!(want.is_some());
        }
    }
    // One entry per distinct Parameter Request List (and one for none).
    assert_eq!(caches.len(), 4);
}

#[test]
fn prl_caches_stay_bounded() {
    let mut caches = reply::PrlCaches::default();
    for n in 0..100u8 {
        caches.for_prl(Some(&[n, 3]));
    }
    assert_eq!(caches.len(), reply::PrlCaches::MAX);
    // A list seen again, and none at all, keep the bound.
    caches.for_prl(Some(&[99, 3]));
    assert_eq!(caches.len(), reply::PrlCaches::MAX);
    caches.for_prl(None);
    assert_eq!(caches.len(), reply::PrlCaches::MAX);
}

/// Commits fail while `fail` is set (an injected I/O error), and wait while `gate` holds a
/// receiver (the change is then in flight).
struct Stalling {
    fail: Arc<std::sync::atomic::AtomicBool>,
    gate: Arc<std::sync::Mutex<Option<std::sync::mpsc::Receiver<()>>>>,
}

impl lessor_store::Backend for Stalling {
    fn load(&mut self) -> Result<lessor_store::Loaded, lessor_store::StoreError> {
        Ok(lessor_store::Loaded::default())
    }
    fn apply(&mut self, _: &[lessor_store::Change]) -> Result<(), lessor_store::StoreError> {
        if let Some(rx) = &*self.gate.lock().unwrap() {
            let _ = rx.recv_timeout(std::time::Duration::from_secs(10));
        }
        if self.fail.load(std::sync::atomic::Ordering::SeqCst) {
            return Err(lessor_store::StoreError::db(
                "commit",
                std::io::Error::other("disk full"),
            ));
        }
        Ok(())
    }
}

#[test]
fn a_binding_whose_commit_is_in_flight_or_failed_is_not_reported() {
    use std::sync::atomic::{AtomicBool, Ordering};
    let fail = Arc::new(AtomicBool::new(false));
    let gate = Arc::new(std::sync::Mutex::new(None));
    let store = Store::open(Box::new(Stalling {
        fail: fail.clone(),
        gate: gate.clone(),
    }))
    .unwrap()
    .0;
    let mut h = H::with_store(CONFIG, store);
    let mut engine = Engine4::new(&h.config, h.store.clone(), Vec::new(), SERVER);
    let mut discover = Repr {
        xid: 78,
        giaddr: RELAY,
        hops: 1,
        options: vec![DhcpOption::MessageType(MessageType::Discover)],
        ..Repr::default()
    };
    discover.chaddr[..6].copy_from_slice(&mac(8));
    let mut send = |m: &Repr| {
        let bytes = m.to_vec();
        let message = Message4::new(&bytes, SocketAddrV4::new(RELAY, 67), SERVER, None).unwrap();
        engine.handle(&message, T0)
    };
    let (_, Output::Now(offer)) = send(&discover) else {
        panic!("an offer")
    };
    let a = Repr::from_bytes(&offer.payload).unwrap().yiaddr;
    let mut request = with(discover, DhcpOption::MessageType(MessageType::Request));
    request = with(request, DhcpOption::ServerIdentifier(SERVER));
    request = with(request, DhcpOption::RequestedIpAddress(a));

    // The commit of the DHCPACK is held: the engine sees the binding, leasequery does not.
    let (release, rx) = std::sync::mpsc::channel();
    *gate.lock().unwrap() = Some(rx);
    fail.store(true, Ordering::SeqCst);
    let (handled, output) = send(&request);
    assert_eq!(handled, Handled::Committing);
    assert_eq!(h.store.v4().get(a).unwrap().state, State4::Active);
    let by_address = h.ask(&by_ip(&a.to_string()));
    assert_ne!(kind(&by_address), MessageType::LeaseActive);
    assert_eq!(kind(&h.ask(&by_mac(8))), MessageType::LeaseUnknown);

    // The commit fails: no DHCPACK, and still nothing to report.
    release.send(()).unwrap();
    *gate.lock().unwrap() = None;
    let Output::WhenDurable(_, durable, _) = output else {
        panic!("a DHCPACK waiting for its commit")
    };
    let _ = h.store.sync().wait();
    assert!(matches!(durable.try_result(), Some(Err(_))));
    assert_ne!(
        kind(&h.ask(&by_ip(&a.to_string()))),
        MessageType::LeaseActive
    );
    assert_eq!(kind(&h.ask(&by_mac(8))), MessageType::LeaseUnknown);

    // Once it commits, it is reported.
    fail.store(false, Ordering::SeqCst);
    assert_eq!(send(&request).0, Handled::Committing);
    let _ = h.store.sync().wait();
    assert_eq!(
        kind(&h.ask(&by_ip(&a.to_string()))),
        MessageType::LeaseActive
    );
    assert_eq!(kind(&h.ask(&by_mac(8))), MessageType::LeaseActive);
}

impl H {
    /// A reload of `text`: the router and the responder the I/O shell would swap in.
    fn reload(&mut self, text: &str) {
        let config = config::parse(text, "reloaded.toml").expect("reloaded config");
        self.router = self.router.reconfigured(&config);
        self.responder = self.responder.reconfigured(&config, SERVER);
        self.config = config;
    }
}

#[test]
fn a_reload_removes_and_adds_requesters_and_keeps_answering_for_bindings_outside_the_pools() {
    let mut h = H::new();
    h.put(active("198.51.100.100", 1));
    assert_eq!(
        kind(&h.ask(&by_ip("198.51.100.100"))),
        MessageType::LeaseActive
    );
    assert_eq!(
        kind(&h.ask(&by_ip("198.51.100.110"))),
        MessageType::LeaseUnassigned
    );

    // RELAY is no requester any more.
    let moved = CONFIG
        .replace(
            "198.51.100.100-198.51.100.120",
            "198.51.100.130-198.51.100.140",
        )
        .replace(
            "exclude = [\"198.51.100.105\"]",
            "exclude = [\"198.51.100.131\"]",
        );
    h.reload(&moved.replace("198.51.100.0/28", "198.51.100.8/29"));
    assert!(h.ask_at(&by_ip("198.51.100.100"), T0).is_none());
    assert_eq!(h.c().dropped(DropReason::NotAllowed), 1);
    assert_eq!(
        h.c().received.get(),
        3,
        "the counters go on across a reload"
    );

    // Added back: the binding whose address left every pool is still answered for, and an
    // address the server no longer manages is unknown.
    h.reload(&moved);
    assert_eq!(
        kind(&h.ask(&by_ip("198.51.100.100"))),
        MessageType::LeaseActive
    );
    assert_eq!(
        kind(&h.ask(&by_ip("198.51.100.110"))),
        MessageType::LeaseUnknown
    );
    assert_eq!(
        kind(&h.ask(&by_ip("198.51.100.135"))),
        MessageType::LeaseUnassigned
    );
}

#[test]
fn a_reload_keeps_the_token_buckets_unless_the_rate_limit_changes() {
    let text = CONFIG.replace(
        "per-requester = 1000, total = 100000",
        "per-requester = 1, total = 100000",
    );
    let mut h = H::with_config(&text);
    // The bucket holds a few seconds of its rate: drain it.
    let mut answered = 0;
    while h.ask_at(&by_ip("198.51.100.110"), T0).is_some() {
        answered += 1;
        assert!(answered < 100, "the limit holds");
    }
    h.reload(&format!("{text}\n"));
    assert!(
        h.ask_at(&by_ip("198.51.100.110"), T0).is_none(),
        "the same limit: the drained bucket is kept"
    );
    h.reload(&CONFIG.replace("per-requester = 1000", "per-requester = 2"));
    assert!(
        h.ask_at(&by_ip("198.51.100.110"), T0).is_some(),
        "a new limit starts full"
    );
}
