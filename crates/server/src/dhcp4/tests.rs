//! Sans-IO tests of the DHCPv4 engine: an in-memory store, the router in front of it as in the
//! I/O shell, replies collected (a DHCPACK once its binding is durable), injected time.

use super::*;
use crate::config;
use crate::router4::{Discard, Message4, Route4, Router4};
use lessor_net::{Destination, Interface, Outgoing, Received};
use lessor_store::{Backend, Binding4, Change, Completion, Loaded, State4, Store, StoreError};
use lessor_wire::v4::{
    DhcpOption, MessageType, Packet, RelayAgentInformation, Repr, FLAG_BROADCAST,
};
use proptest::prelude::*;
use std::net::{IpAddr, Ipv4Addr, SocketAddr, SocketAddrV4};
use std::sync::{Arc, Mutex};

const T0: u64 = 1_700_000_000;
const SERVER: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 1);
const GIADDR: Ipv4Addr = Ipv4Addr::new(198, 51, 100, 1);
const ETH0: u32 = 2;
const ETH1: u32 = 3;

const CONFIG: &str = r#"
[dhcp4]
server-identifier = "192.0.2.1"
listen = ["192.0.2.1"]
interfaces = ["eth0"]
relays = ["198.51.100.0/24", "198.18.0.1/32"]
relay-port = 67
lease-time = "1h"
decline-probation = "1h"
options = { domain-name-servers = ["192.0.2.53"], domain-name = "example.net" }

[[dhcp4.subnet]]
prefix = "192.0.2.0/24"
pools = ["192.0.2.100-192.0.2.103"]
exclude = ["192.0.2.101"]
options = { routers = ["192.0.2.1"] }
reservations = [
  { mac = "02:00:00:00:00:aa", address = "192.0.2.50" },
  { client-id = "01:02:00:00:00:00:bb", address = "192.0.2.51", options = { host-name = "reserved" } },
]

[[dhcp4.subnet]]
prefix = "198.51.100.0/24"
pools = ["198.51.100.10-198.51.100.12"]
options = { routers = ["198.51.100.1"] }

[[dhcp4.subnet]]
prefix = "203.0.113.0/24"
pools = ["203.0.113.10-203.0.113.20"]
lease-time = "2h"
"#;

/// What the I/O shell sends: replies now, DHCPACKs once durable.
#[derive(Default)]
struct Collect(Mutex<Vec<Outgoing>>);

impl Collect {
    fn deliver(self: &Arc<Self>, output: Output) {
        match output {
            Output::Nothing => {}
            Output::Now(reply) => self.0.lock().unwrap().push(reply),
            Output::WhenDurable(reply, durable, taken) => {
                let sink = Arc::clone(self);
                durable.on_durable(move |r| match (r, taken) {
                    (Ok(()), _) => sink.0.lock().unwrap().push(reply),
                    (Err(StoreError::Taken), Some(instead)) => sink.0.lock().unwrap().push(instead),
                    _ => {}
                });
            }
        }
    }
}

/// What became of a datagram: the router discarded it, or the engine handled it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Seen {
    Discarded(Discard),
    Leasequery,
    Engine(Handled),
}

impl PartialEq<Handled> for Seen {
    fn eq(&self, other: &Handled) -> bool {
        *self == Seen::Engine(*other)
    }
}

/// A backend whose commits fail (an injected I/O error) while `fail` is set, and that can be
/// held inside a commit while `gate` holds a receiver (its changes are then in flight).
struct Switch {
    fail: Arc<std::sync::atomic::AtomicBool>,
    gate: Arc<Mutex<Option<std::sync::mpsc::Receiver<()>>>>,
}

impl Switch {
    fn outcome(&self) -> Result<(), StoreError> {
        if let Some(rx) = &*self.gate.lock().unwrap() {
            let _ = rx.recv_timeout(std::time::Duration::from_secs(10));
        }
        if self.fail.load(std::sync::atomic::Ordering::SeqCst) {
            Err(StoreError::db(
                "leases.db: commit",
                std::io::Error::other("database or disk is full"),
            ))
        } else {
            Ok(())
        }
    }
}

impl Backend for Switch {
    fn load(&mut self) -> Result<Loaded, StoreError> {
        Ok(Loaded::default())
    }
    fn apply(&mut self, _: &[Change]) -> Result<(), StoreError> {
        self.outcome()
    }
    fn set_meta(&mut self, _: &str, _: &str) -> Result<(), StoreError> {
        self.outcome()
    }
}

/// A store over a [`Switch`] backend, and its switch and gate.
#[allow(clippy::type_complexity)]
fn switched() -> (
    Store,
    Arc<std::sync::atomic::AtomicBool>,
    Arc<Mutex<Option<std::sync::mpsc::Receiver<()>>>>,
) {
    let fail = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let gate = Arc::new(Mutex::new(None));
    let store = Store::open(Box::new(Switch {
        fail: fail.clone(),
        gate: gate.clone(),
    }))
    .unwrap()
    .0;
    (store, fail, gate)
}

/// A backend whose commits all fail.
struct Failing;

impl Backend for Failing {
    fn load(&mut self) -> Result<Loaded, StoreError> {
        Ok(Loaded::default())
    }
    fn apply(&mut self, _: &[Change]) -> Result<(), StoreError> {
        Err(StoreError::WriterGone)
    }
}

struct Harness {
    router: Router4,
    engine: Engine4,
    store: Arc<Store>,
    sink: Arc<Collect>,
}

impl Harness {
    fn new() -> Harness {
        Harness::with_store(Store::in_memory())
    }

    fn with_store(store: Store) -> Harness {
        Harness::with_config(CONFIG, store)
    }

    fn with_config(text: &str, store: Store) -> Harness {
        let config = config::parse(text, "test.toml").expect("test config");
        let store = Arc::new(store);
        let interfaces = vec![
            Interface {
                index: ETH0,
                name: "eth0".into(),
                v4: vec!["192.0.2.1/24".parse().unwrap()],
                v6: Vec::new(),
            },
            Interface {
                index: ETH1,
                name: "eth1".into(),
                v4: vec!["10.9.9.1/24".parse().unwrap()],
                v6: Vec::new(),
            },
        ];
        let engine = Engine4::new(&config, store.clone(), interfaces, SERVER);
        Harness {
            router: Router4::default(),
            engine,
            store,
            sink: Arc::new(Collect::default()),
        }
    }

    fn raw(&mut self, payload: &[u8], interface: Option<u32>, dest: Ipv4Addr, now: u64) -> Seen {
        // A client with an address sends from it; a relay from giaddr.
        let source = Packet::new_checked(payload).map_or(Ipv4Addr::UNSPECIFIED, |p| {
            match (p.giaddr(), p.ciaddr()) {
                (g, _) if !g.is_unspecified() => g,
                (_, c) => c,
            }
        });
        self.raw_from(payload, source, interface, dest, now)
    }

    fn raw_from(
        &mut self,
        payload: &[u8],
        source: Ipv4Addr,
        interface: Option<u32>,
        dest: Ipv4Addr,
        now: u64,
    ) -> Seen {
        let rx = Received {
            payload,
            source: SocketAddr::V4(SocketAddrV4::new(source, 68)),
            destination: IpAddr::V4(dest),
            interface_index: interface,
        };
        match self.router.route(&rx) {
            Route4::Dhcp(message) => {
                let (handled, output) = self.engine.handle(&message, now);
                self.sink.deliver(output);
                Seen::Engine(handled)
            }
            Route4::Leasequery(_) => Seen::Leasequery,
            Route4::Discard(why) => Seen::Discarded(why),
        }
    }

    /// Relayed messages arrive on a non-served interface at the listen address; direct ones on
    /// eth0, broadcast (or unicast to the listen address when ciaddr is set).
    fn send(&mut self, m: &Repr, now: u64) -> Seen {
        let bytes = m.to_vec();
        if !m.giaddr.is_unspecified() {
            self.raw(&bytes, Some(ETH1), SERVER, now)
        } else if !m.ciaddr.is_unspecified() {
            self.raw(&bytes, None, SERVER, now)
        } else {
            self.raw(&bytes, Some(ETH0), Ipv4Addr::BROADCAST, now)
        }
    }

    /// Waits until every store write so far is durable (and its completion ran).
    fn flush(&self) {
        let _ = self.store.sync().wait();
    }

    fn take(&self) -> Vec<Outgoing> {
        self.flush();
        std::mem::take(&mut *self.sink.0.lock().unwrap())
    }

    fn one(&self) -> (Outgoing, Repr) {
        let mut v = self.take();
        assert_eq!(v.len(), 1, "expected one reply, got {v:?}");
        let r = v.remove(0);
        let repr = Repr::from_bytes(&r.payload).expect("reply parses");
        (r, repr)
    }

    /// DISCOVER then REQUEST (SELECTING); returns the address.
    fn dora(&mut self, discover: Repr, now: u64) -> Ipv4Addr {
        self.send(&discover, now);
        let (_, offer) = self.one();
        assert_eq!(offer.message_type(), Some(MessageType::Offer));
        let a = offer.yiaddr;
        let request = selecting(discover, a);
        assert_eq!(self.send(&request, now), Seen::Engine(Handled::Committing));
        let (_, ack) = self.one();
        assert_eq!(ack.message_type(), Some(MessageType::Ack));
        assert_eq!(ack.yiaddr, a);
        a
    }
}

fn mac(n: u8) -> [u8; 6] {
    [2, 0, 0, 0, 0, n]
}

fn message(kind: MessageType, n: u8) -> Repr {
    let mut r = Repr {
        xid: 0x1000 + u32::from(n),
        options: vec![DhcpOption::MessageType(kind)],
        ..Repr::default()
    };
    r.chaddr[..6].copy_from_slice(&mac(n));
    r
}

fn with(mut r: Repr, o: DhcpOption) -> Repr {
    r.options.retain(|x| x.code() != o.code());
    r.options.push(o);
    r
}

fn rai_bytes() -> Vec<u8> {
    // circuit-id, remote-id, relay-id, and an unknown sub-option kept as is.
    let mut v = vec![1, 6];
    v.extend_from_slice(b"eth0/1");
    v.extend_from_slice(&[2, 7]);
    v.extend_from_slice(b"modem-1");
    v.extend_from_slice(&[12, 7]);
    v.extend_from_slice(b"relay-A");
    v.extend_from_slice(&[9, 2, 0xde, 0xad]);
    v
}

fn relayed(mut r: Repr) -> Repr {
    r.giaddr = GIADDR;
    r.hops = 1;
    with(
        r,
        DhcpOption::RelayAgentInformation(RelayAgentInformation::new_checked(rai_bytes()).unwrap()),
    )
}

fn selecting(discover: Repr, a: Ipv4Addr) -> Repr {
    let mut r = with(discover, DhcpOption::MessageType(MessageType::Request));
    r = with(r, DhcpOption::ServerIdentifier(SERVER));
    with(r, DhcpOption::RequestedIpAddress(a))
}

fn codes(r: &Repr) -> Vec<u8> {
    r.options.iter().map(|o| o.code()).collect()
}

fn ip(s: &str) -> Ipv4Addr {
    s.parse().unwrap()
}

fn in_range(a: Ipv4Addr, first: &str, last: &str) -> bool {
    (u32::from(ip(first))..=u32::from(ip(last))).contains(&u32::from(a))
}

#[test]
fn dora_relayed_echoes_option_82_and_records_the_binding() {
    let mut h = Harness::new();
    let discover = relayed(with(
        message(MessageType::Discover, 1),
        DhcpOption::ParameterRequestList(vec![15, 1, 3, 6]),
    ));
    assert_eq!(h.send(&discover, T0), Handled::Replied(MessageType::Offer));
    let (reply, offer) = h.one();
    assert_eq!(
        reply.destination,
        Destination::Relay(SocketAddr::V4(SocketAddrV4::new(GIADDR, 67)))
    );
    assert_eq!(offer.message_type(), Some(MessageType::Offer));
    assert_eq!(offer.op, 2);
    assert_eq!(offer.xid, discover.xid);
    assert_eq!(offer.giaddr, GIADDR);
    assert_eq!(offer.chaddr, discover.chaddr);
    assert_eq!(offer.siaddr, Ipv4Addr::UNSPECIFIED);
    let a = offer.yiaddr;
    assert!(in_range(a, "198.51.100.10", "198.51.100.12"));
    // 53, 54, 51, 58, 59, 1, then configured in PRL order (15, 3, 6), then 82 last.
    assert_eq!(codes(&offer), vec![53, 54, 51, 58, 59, 1, 15, 3, 6, 82]);
    assert_eq!(
        offer.option(54),
        Some(&DhcpOption::ServerIdentifier(SERVER))
    );
    assert_eq!(
        offer.option(51),
        Some(&DhcpOption::IpAddressLeaseTime(3600))
    );
    assert_eq!(offer.option(58), Some(&DhcpOption::RenewalTime(1800)));
    assert_eq!(offer.option(59), Some(&DhcpOption::RebindingTime(3150)));
    assert_eq!(
        offer.option(1),
        Some(&DhcpOption::SubnetMask(ip("255.255.255.0")))
    );
    assert_eq!(offer.option(3), Some(&DhcpOption::Router(vec![GIADDR])));
    // Option 82 byte for byte, as the last option on the wire.
    let p = Packet::new_checked(&reply.payload[..]).unwrap();
    let last = p.options().map(|o| o.unwrap()).last().unwrap();
    assert_eq!((last.code, last.data), (82, &rai_bytes()[..]));
    let offered = h.store.v4().get(a).unwrap();
    assert_eq!(offered.state, State4::Offered);
    assert_eq!(offered.end, T0 + 60);

    // REQUEST (SELECTING) with vendor class and host name.
    let now = T0 + 2;
    let request = with(
        with(
            selecting(discover, a),
            DhcpOption::VendorClassIdentifier(b"docsis3.0".to_vec()),
        ),
        DhcpOption::HostName(b"cpe-1".to_vec()),
    );
    assert_eq!(h.send(&request, now), Handled::Committing);
    let (reply, ack) = h.one();
    assert_eq!(ack.message_type(), Some(MessageType::Ack));
    assert_eq!(
        reply.destination,
        Destination::Relay(SocketAddr::V4(SocketAddrV4::new(GIADDR, 67)))
    );
    assert_eq!(ack.yiaddr, a);
    assert_eq!(*codes(&ack).last().unwrap(), 82);
    let b = h.store.v4().get(a).unwrap();
    assert_eq!(b.state, State4::Active);
    assert_eq!(
        (b.start, b.end, b.t1, b.t2, b.cltt),
        (now, now + 3600, now + 1800, now + 3150, now)
    );
    assert_eq!(b.hw.chaddr(), &mac(1));
    assert_eq!(b.subnet, "198.51.100.0/24".parse().unwrap());
    assert_eq!(b.relay_agent_information(), Some(&rai_bytes()[..]));
    assert_eq!(b.circuit_id(), Some(&b"eth0/1"[..]));
    assert_eq!(b.remote_id(), Some(&b"modem-1"[..]));
    assert_eq!(b.relay_id(), Some(&b"relay-A"[..]));
    assert_eq!(b.vendor_class_id(), Some(&b"docsis3.0"[..]));
    assert_eq!(b.hostname(), Some(&b"cpe-1"[..]));
    assert_eq!(b.client_id(), None);
    let c = h.engine.counters();
    let routed = h.router.counters();
    assert_eq!(routed.received(MessageType::Discover), 1);
    assert_eq!(routed.received(MessageType::Request), 1);
    assert_eq!((c.offers.get(), c.acks.get()), (1, 1));
    assert_eq!(h.engine.outstanding_offers(), 0);
}

#[test]
fn dora_direct_broadcast_bit() {
    let mut h = Harness::new();
    let mut d = message(MessageType::Discover, 2);
    d.flags = FLAG_BROADCAST;
    h.send(&d, T0);
    let (reply, offer) = h.one();
    assert_eq!(
        reply.destination,
        Destination::Broadcast {
            interface_index: ETH0,
            port: 68,
        }
    );
    assert!(in_range(offer.yiaddr, "192.0.2.100", "192.0.2.103"));
    assert_eq!(offer.flags, FLAG_BROADCAST);
    assert!(offer.option(82).is_none());
    h.send(&selecting(d, offer.yiaddr), T0);
    let (reply, _) = h.one();
    assert_eq!(
        reply.destination,
        Destination::Broadcast {
            interface_index: ETH0,
            port: 68,
        }
    );
}

#[test]
fn dora_direct_unicast_to_hardware_address() {
    let mut h = Harness::new();
    let d = message(MessageType::Discover, 3);
    h.send(&d, T0);
    let (reply, offer) = h.one();
    let hardware = Destination::Hardware {
        interface_index: ETH0,
        address: offer.yiaddr,
        port: 68,
        htype: 1,
        hlen: 6,
        chaddr: d.chaddr,
    };
    assert_eq!(reply.destination, hardware);
    h.send(&selecting(d, offer.yiaddr), T0);
    let (reply, _) = h.one();
    assert_eq!(reply.destination, hardware);
}

#[test]
fn excluded_address_is_never_offered() {
    let mut h = Harness::new();
    let mut seen = Vec::new();
    for n in 10..13 {
        h.send(&message(MessageType::Discover, n), T0);
        seen.push(h.one().1.yiaddr);
    }
    assert!(!seen.contains(&ip("192.0.2.101")));
    assert_eq!(
        h.send(&message(MessageType::Discover, 13), T0),
        Handled::Dropped(DropReason::PoolExhausted)
    );
}

#[test]
fn reservation_by_mac() {
    let mut h = Harness::new();
    let a = h.dora(message(MessageType::Discover, 0xaa), T0);
    assert_eq!(a, ip("192.0.2.50"));
}

#[test]
fn reservation_by_client_id_with_its_options() {
    let mut h = Harness::new();
    let cid = vec![1, 2, 0, 0, 0, 0, 0xbb];
    let d = with(
        message(MessageType::Discover, 0x11),
        DhcpOption::ClientIdentifier(cid.clone()),
    );
    h.send(&d, T0);
    let (_, offer) = h.one();
    assert_eq!(offer.yiaddr, ip("192.0.2.51"));
    assert_eq!(
        offer.option(12),
        Some(&DhcpOption::HostName(b"reserved".to_vec()))
    );
    h.send(&selecting(d, offer.yiaddr), T0);
    h.one();
    let b = h.store.v4().get(ip("192.0.2.51")).unwrap();
    assert_eq!(b.client_id(), Some(&cid[..]));
    // Another client asking for the reserved address does not get it.
    let other = with(
        message(MessageType::Discover, 0x12),
        DhcpOption::RequestedIpAddress(ip("192.0.2.51")),
    );
    h.send(&other, T0);
    assert_ne!(h.one().1.yiaddr, ip("192.0.2.51"));
}

#[test]
fn requested_address_honoured() {
    let mut h = Harness::new();
    let d = with(
        relayed(message(MessageType::Discover, 4)),
        DhcpOption::RequestedIpAddress(ip("198.51.100.12")),
    );
    h.send(&d, T0);
    assert_eq!(h.one().1.yiaddr, ip("198.51.100.12"));
}

#[test]
fn requested_address_refused_outside_pool_excluded_or_taken() {
    let mut h = Harness::new();
    for bad in ["198.51.100.200", "203.0.113.10"] {
        let d = with(
            relayed(message(MessageType::Discover, 5)),
            DhcpOption::RequestedIpAddress(ip(bad)),
        );
        h.send(&d, T0);
        let a = h.one().1.yiaddr;
        assert!(in_range(a, "198.51.100.10", "198.51.100.12"), "{a}");
    }
    let d = with(
        message(MessageType::Discover, 6),
        DhcpOption::RequestedIpAddress(ip("192.0.2.101")),
    );
    h.send(&d, T0);
    assert_ne!(h.one().1.yiaddr, ip("192.0.2.101"));
    // Taken by another client.
    let a = h.dora(relayed(message(MessageType::Discover, 7)), T0);
    let d = with(
        relayed(message(MessageType::Discover, 8)),
        DhcpOption::RequestedIpAddress(a),
    );
    h.send(&d, T0);
    assert_ne!(h.one().1.yiaddr, a);
}

#[test]
fn pool_exhaustion_and_no_double_offer() {
    let mut h = Harness::new();
    let mut seen = Vec::new();
    for n in 20..23 {
        h.send(&relayed(message(MessageType::Discover, n)), T0);
        let a = h.one().1.yiaddr;
        assert!(!seen.contains(&a), "{a} offered twice");
        seen.push(a);
    }
    assert_eq!(
        h.send(&relayed(message(MessageType::Discover, 23)), T0),
        Handled::Dropped(DropReason::PoolExhausted)
    );
    assert!(h.take().is_empty());
    assert_eq!(h.engine.counters().dropped(DropReason::PoolExhausted), 1);
    // The same client asking again keeps its offer.
    h.send(&relayed(message(MessageType::Discover, 20)), T0 + 1);
    assert_eq!(h.one().1.yiaddr, seen[0]);
}

#[test]
fn stale_offers_are_forgotten_by_tick() {
    let mut h = Harness::new();
    h.send(&relayed(message(MessageType::Discover, 30)), T0);
    let a = h.one().1.yiaddr;
    h.engine.tick(T0 + 59);
    assert!(h.store.v4().get(a).is_some());
    h.engine.tick(T0 + 60);
    h.flush();
    assert!(h.store.v4().get(a).is_none());
    assert_eq!(h.engine.outstanding_offers(), 0);
}

#[test]
fn never_used_first_then_oldest_expired() {
    let mut h = Harness::new();
    // Two of three addresses leased at different times, then expired.
    let a1 = h.dora(relayed(message(MessageType::Discover, 40)), T0 + 10);
    let a0 = h.dora(relayed(message(MessageType::Discover, 41)), T0);
    let later = T0 + 4000;
    h.engine.tick(later);
    h.flush();
    assert_eq!(h.store.v4().get(a0).unwrap().state, State4::Expired);
    // A new client gets the never-used address.
    let fresh = h.dora(relayed(message(MessageType::Discover, 42)), later);
    assert!(fresh != a0 && fresh != a1);
    // The next one gets the expired address with the oldest end, replacing its binding.
    h.send(&relayed(message(MessageType::Discover, 43)), later);
    assert_eq!(h.one().1.yiaddr, a0);
    // And the one after that the other.
    h.send(&relayed(message(MessageType::Discover, 44)), later);
    assert_eq!(h.one().1.yiaddr, a1);
    // The expired client itself comes back to its own address when it is free.
    let mut h = Harness::new();
    let a = h.dora(relayed(message(MessageType::Discover, 45)), T0);
    h.engine.tick(later);
    h.send(&relayed(message(MessageType::Discover, 45)), later);
    assert_eq!(h.one().1.yiaddr, a);
}

#[test]
fn a_renewal_keeps_state_since_and_a_lapsed_offer_puts_the_binding_back_as_it_was() {
    let mut h = Harness::new();
    let a = h.dora(relayed(message(MessageType::Discover, 52)), T0);
    let mut r = message(MessageType::Request, 52);
    r.ciaddr = a;
    assert_eq!(h.send(&r, T0 + 1800), Handled::Committing);
    h.one();
    let renewed = h.store.v4().get(a).unwrap();
    assert_eq!((renewed.start, renewed.state_since), (T0 + 1800, T0));
    // The lease runs out (the expiry timer has not run yet); the client asks again and is
    // offered its address, then goes away: the offer lapses and the lease comes back unchanged.
    let late = T0 + 1800 + 3600 + 5;
    h.send(&relayed(message(MessageType::Discover, 52)), late);
    assert_eq!(h.one().1.yiaddr, a);
    assert_eq!(h.store.v4().get(a).unwrap().state, State4::Offered);
    h.engine.tick(late + u64::from(engine::OFFER_LIFETIME));
    assert_eq!(*h.store.v4().get(a).unwrap(), *renewed);
}

#[test]
fn selecting_another_server_forgets_the_offer() {
    let mut h = Harness::new();
    let d = relayed(message(MessageType::Discover, 50));
    h.send(&d, T0);
    let a = h.one().1.yiaddr;
    assert_eq!(h.engine.outstanding_offers(), 1);
    let r = with(
        selecting(d, a),
        DhcpOption::ServerIdentifier(ip("192.0.2.99")),
    );
    assert_eq!(h.send(&r, T0), Handled::Dropped(DropReason::NotForUs));
    assert!(h.take().is_empty());
    assert!(h.store.v4().get(a).is_none());
    assert_eq!(h.engine.outstanding_offers(), 0);
}

#[test]
fn selecting_an_address_not_offered_is_nakked() {
    let mut h = Harness::new();
    let d = relayed(message(MessageType::Discover, 51));
    h.send(&d, T0);
    let a = h.one().1.yiaddr;
    let other = if a == ip("198.51.100.10") {
        ip("198.51.100.11")
    } else {
        ip("198.51.100.10")
    };
    h.send(&selecting(d, other), T0);
    let (reply, nak) = h.one();
    assert_eq!(nak.message_type(), Some(MessageType::Nak));
    assert_eq!(nak.yiaddr, Ipv4Addr::UNSPECIFIED);
    // NAK: 53, 54, 56, 82 only; broadcast bit set for the relay.
    assert_eq!(codes(&nak), vec![53, 54, 56, 82]);
    assert_eq!(nak.flags & FLAG_BROADCAST, FLAG_BROADCAST);
    assert_eq!(
        reply.destination,
        Destination::Relay(SocketAddr::V4(SocketAddrV4::new(GIADDR, 67)))
    );
}

fn init_reboot(n: u8, a: Ipv4Addr) -> Repr {
    with(
        message(MessageType::Request, n),
        DhcpOption::RequestedIpAddress(a),
    )
}

#[test]
fn init_reboot_ack_nak_and_silence() {
    let mut h = Harness::new();
    let a = h.dora(message(MessageType::Discover, 60), T0);
    // ACK: its own binding.
    assert_eq!(h.send(&init_reboot(60, a), T0 + 100), Handled::Committing);
    let (reply, ack) = h.one();
    assert_eq!(ack.message_type(), Some(MessageType::Ack));
    assert!(matches!(reply.destination, Destination::Hardware { .. }));
    assert_eq!(h.store.v4().get(a).unwrap().cltt, T0 + 100);
    // NAK: another client's address.
    h.send(&init_reboot(61, a), T0 + 100);
    let (reply, nak) = h.one();
    assert_eq!(nak.message_type(), Some(MessageType::Nak));
    assert_eq!(
        reply.destination,
        Destination::Broadcast {
            interface_index: ETH0,
            port: 68,
        }
    );
    // NAK: wrong network.
    h.send(&init_reboot(60, ip("10.0.0.5")), T0 + 100);
    assert_eq!(h.one().1.message_type(), Some(MessageType::Nak));
    // NAK: a known client asking for another address.
    h.send(&init_reboot(60, ip("192.0.2.103")), T0 + 100);
    assert_eq!(h.one().1.message_type(), Some(MessageType::Nak));
    // Silent: no record of this client.
    assert_eq!(
        h.send(&init_reboot(62, ip("192.0.2.103")), T0 + 100),
        Handled::Dropped(DropReason::UnknownClient)
    );
    assert!(h.take().is_empty());
}

#[test]
fn renewing_unicast_acks_to_ciaddr_and_keeps_relay_information() {
    let mut h = Harness::new();
    let a = h.dora(relayed(message(MessageType::Discover, 70)), T0);
    // RENEWING: unicast straight to the server, no relay, no option 82.
    let mut r = message(MessageType::Request, 70);
    r.ciaddr = a;
    let now = T0 + 1800;
    assert_eq!(h.send(&r, now), Handled::Committing);
    let (reply, ack) = h.one();
    assert_eq!(
        reply.destination,
        Destination::Client(SocketAddr::V4(SocketAddrV4::new(a, 68)))
    );
    assert_eq!(ack.ciaddr, a);
    assert_eq!(ack.yiaddr, a);
    assert!(ack.option(82).is_none());
    let b = h.store.v4().get(a).unwrap();
    assert_eq!((b.end, b.cltt), (now + 3600, now));
    assert_eq!(b.relay_agent_information(), Some(&rai_bytes()[..]));
    assert_eq!(b.relay_id(), Some(&b"relay-A"[..]));
    // Silent for an address nobody holds.
    let mut r = message(MessageType::Request, 71);
    r.ciaddr = ip("198.51.100.12");
    assert_eq!(h.send(&r, now), Handled::Dropped(DropReason::UnknownClient));
}

#[test]
fn rebinding_through_a_relay_and_nak_for_another_clients_address() {
    let mut h = Harness::new();
    let a = h.dora(relayed(message(MessageType::Discover, 72)), T0);
    let mut r = relayed(message(MessageType::Request, 72));
    r.ciaddr = a;
    assert_eq!(h.send(&r, T0 + 3200), Handled::Committing);
    let (reply, ack) = h.one();
    assert_eq!(ack.message_type(), Some(MessageType::Ack));
    assert_eq!(
        reply.destination,
        Destination::Relay(SocketAddr::V4(SocketAddrV4::new(GIADDR, 67)))
    );
    let mut r = relayed(message(MessageType::Request, 73));
    r.ciaddr = a;
    h.send(&r, T0 + 3200);
    assert_eq!(h.one().1.message_type(), Some(MessageType::Nak));
}

#[test]
fn release_marks_the_binding_released() {
    let mut h = Harness::new();
    let a = h.dora(relayed(message(MessageType::Discover, 80)), T0);
    let mut r = with(
        message(MessageType::Release, 80),
        DhcpOption::ServerIdentifier(SERVER),
    );
    r.ciaddr = a;
    // Another client cannot release it.
    let mut wrong = r.clone();
    wrong.chaddr[5] = 81;
    assert_eq!(
        h.send(&wrong, T0 + 5),
        Handled::Dropped(DropReason::NotClientsBinding)
    );
    assert_eq!(h.engine.counters().released.get(), 0);
    assert_eq!(h.send(&r, T0 + 10), Handled::Applied(MessageType::Release));
    assert!(h.take().is_empty());
    // Counted, so that every message the engine handles shows in its line.
    assert_eq!(h.engine.counters().released.get(), 1);
    let b = h.store.v4().get(a).unwrap();
    assert_eq!(
        (b.state, b.end, b.cltt),
        (State4::Released, T0 + 10, T0 + 10)
    );
    assert!(
        b.t1 <= b.end && b.t2 <= b.end,
        "timers end with the lease: {b:?}"
    );
    assert_eq!(b.relay_id(), Some(&b"relay-A"[..]));
}

#[test]
fn decline_puts_the_address_on_probation() {
    let mut h = Harness::new();
    let a = h.dora(relayed(message(MessageType::Discover, 90)), T0);
    let d = with(
        with(
            relayed(message(MessageType::Decline, 90)),
            DhcpOption::RequestedIpAddress(a),
        ),
        DhcpOption::ServerIdentifier(SERVER),
    );
    assert_eq!(h.send(&d, T0 + 1), Handled::Applied(MessageType::Decline));
    assert_eq!(h.engine.counters().declined.get(), 1);
    assert!(h.take().is_empty());
    let b = h.store.v4().get(a).unwrap();
    assert_eq!((b.state, b.end), (State4::Declined, T0 + 1 + 3600));
    // The two other addresses go; the declined one stays out during probation.
    h.dora(relayed(message(MessageType::Discover, 91)), T0 + 2);
    h.dora(relayed(message(MessageType::Discover, 92)), T0 + 2);
    assert_eq!(
        h.send(&relayed(message(MessageType::Discover, 93)), T0 + 3600),
        Handled::Dropped(DropReason::PoolExhausted)
    );
    h.send(&relayed(message(MessageType::Discover, 93)), T0 + 3601);
    assert_eq!(h.one().1.yiaddr, a);
}

#[test]
fn inform_acks_with_options_and_no_lease() {
    let mut h = Harness::new();
    let mut i = relayed(message(MessageType::Inform, 100));
    i.ciaddr = ip("198.51.100.77");
    assert_eq!(h.send(&i, T0), Handled::Replied(MessageType::Ack));
    let (reply, ack) = h.one();
    assert_eq!(
        reply.destination,
        Destination::Relay(SocketAddr::V4(SocketAddrV4::new(GIADDR, 67)))
    );
    assert_eq!(ack.yiaddr, Ipv4Addr::UNSPECIFIED);
    assert_eq!(ack.ciaddr, i.ciaddr);
    // Not requested: configured order (reservation, subnet, global; keys sorted within a table).
    assert_eq!(codes(&ack), vec![53, 54, 1, 3, 15, 6, 82]);
    // Direct: to ciaddr.
    let mut i = message(MessageType::Inform, 101);
    i.ciaddr = ip("192.0.2.77");
    h.send(&i, T0);
    let (reply, ack) = h.one();
    assert_eq!(
        reply.destination,
        Destination::Client(SocketAddr::V4(SocketAddrV4::new(i.ciaddr, 68)))
    );
    assert!(ack.option(51).is_none());
    assert_eq!(h.store.v4().len(), 0);
}

#[test]
fn acceptance_drops() {
    let mut h = Harness::new();
    let mut d = relayed(message(MessageType::Discover, 110));
    d.giaddr = ip("10.1.1.1");
    assert_eq!(
        h.send(&d, T0),
        Handled::Dropped(DropReason::RelayNotAllowed)
    );
    let d = message(MessageType::Discover, 111);
    assert_eq!(
        h.raw(&d.to_vec(), Some(ETH1), Ipv4Addr::BROADCAST, T0),
        Handled::Dropped(DropReason::InterfaceNotServed)
    );
    assert_eq!(
        h.raw(&d.to_vec(), None, Ipv4Addr::BROADCAST, T0),
        Handled::Dropped(DropReason::InterfaceNotServed)
    );
    let mut d = relayed(message(MessageType::Discover, 112));
    d.giaddr = ip("198.18.0.1");
    assert_eq!(h.send(&d, T0), Handled::Dropped(DropReason::NoSubnet));
    // What the router keeps from the engine.
    assert_eq!(
        h.raw(b"not dhcp", Some(ETH0), Ipv4Addr::BROADCAST, T0),
        Seen::Discarded(Discard::Malformed)
    );
    let mut d = message(MessageType::Discover, 113);
    d.op = 2;
    assert_eq!(h.send(&d, T0), Seen::Discarded(Discard::Reply));
    let q = relayed(message(MessageType::LeaseQuery, 114));
    assert_eq!(h.send(&q, T0), Seen::Leasequery);
    let mut q = message(MessageType::Offer, 115);
    q.giaddr = GIADDR;
    assert_eq!(h.send(&q, T0), Seen::Discarded(Discard::UnexpectedType));
    // Option 82 whose link-selection sub-option is not an address.
    let bad_link = with(
        relayed(message(MessageType::Discover, 116)),
        DhcpOption::RelayAgentInformation(
            RelayAgentInformation::new_checked(vec![5, 1, 9]).unwrap(),
        ),
    );
    assert_eq!(
        h.send(&bad_link, T0),
        Handled::Dropped(DropReason::Malformed)
    );
    assert!(h.take().is_empty());
    let c = h.engine.counters();
    assert_eq!(c.dropped(DropReason::RelayNotAllowed), 1);
    assert_eq!(c.dropped(DropReason::InterfaceNotServed), 2);
    assert_eq!(c.dropped(DropReason::Malformed), 1);
    let routed = h.router.counters();
    assert_eq!(routed.leasequery.get(), 1);
    assert_eq!(routed.received(MessageType::LeaseQuery), 1);
}

#[test]
fn link_selection_and_subnet_selection_choose_the_subnet() {
    let mut h = Harness::new();
    let rai = {
        let mut v = rai_bytes();
        v.extend_from_slice(&[5, 4, 203, 0, 113, 0]);
        v
    };
    let d = with(
        relayed(message(MessageType::Discover, 120)),
        DhcpOption::RelayAgentInformation(RelayAgentInformation::new_checked(rai).unwrap()),
    );
    h.send(&d, T0);
    let (reply, offer) = h.one();
    assert!(in_range(offer.yiaddr, "203.0.113.10", "203.0.113.20"));
    assert_eq!(
        offer.option(51),
        Some(&DhcpOption::IpAddressLeaseTime(7200))
    );
    // Still answered to giaddr.
    assert_eq!(
        reply.destination,
        Destination::Relay(SocketAddr::V4(SocketAddrV4::new(GIADDR, 67)))
    );
    // Link selection wins over subnet selection.
    let both = with(d, DhcpOption::SubnetSelection(ip("192.0.2.0")));
    h.send(&both, T0);
    assert!(in_range(h.one().1.yiaddr, "203.0.113.10", "203.0.113.20"));
    // Subnet selection, relayed and direct.
    let s = with(
        relayed(message(MessageType::Discover, 121)),
        DhcpOption::SubnetSelection(ip("203.0.113.0")),
    );
    h.send(&s, T0);
    assert!(in_range(h.one().1.yiaddr, "203.0.113.10", "203.0.113.20"));
    // A direct client's subnet selection is ignored (docs/protocol.md decision 10): it gets an
    // address of the link it is on, and the server counts what it ignored.
    let s = with(
        message(MessageType::Discover, 122),
        DhcpOption::SubnetSelection(ip("203.0.113.0")),
    );
    h.send(&s, T0);
    assert!(in_range(h.one().1.yiaddr, "192.0.2.100", "192.0.2.103"));
    // So is a link selection it put in an option 82 of its own.
    let l = with(
        message(MessageType::Discover, 123),
        DhcpOption::RelayAgentInformation(
            RelayAgentInformation::new_checked(vec![5, 4, 203, 0, 113, 0]).unwrap(),
        ),
    );
    h.send(&l, T0);
    assert!(in_range(h.one().1.yiaddr, "192.0.2.100", "192.0.2.103"));
    assert_eq!(h.engine.counters().selection_ignored.get(), 2);
}

#[test]
fn ack_is_not_sent_when_the_commit_fails() {
    let (store, _) = Store::open(Box::new(Failing)).unwrap();
    let mut h = Harness::with_store(store);
    let d = relayed(message(MessageType::Discover, 130));
    h.send(&d, T0);
    let (_, offer) = h.one();
    assert_eq!(h.send(&selecting(d, offer.yiaddr), T0), Handled::Committing);
    assert!(h.take().is_empty());
    let c = h.engine.counters();
    assert_eq!((c.acks.get(), c.commit_failed.get()), (0, 1));
}

#[test]
fn tick_expires_and_keeps_the_relay_id_indexed() {
    let mut h = Harness::new();
    let a = h.dora(relayed(message(MessageType::Discover, 140)), T0);
    h.engine.tick(T0 + 3599);
    assert_eq!(h.store.v4().get(a).unwrap().state, State4::Active);
    h.engine.tick(T0 + 3600);
    h.flush();
    assert_eq!(h.store.v4().get(a).unwrap().state, State4::Expired);
    assert_eq!(h.engine.counters().expired.get(), 1);
    let snap = h.store.v4().snapshot();
    assert!(snap.knows_relay_id(b"relay-A"));
    assert_eq!(
        snap.by_relay_id(b"relay-A")
            .map(|b| b.address)
            .collect::<Vec<_>>(),
        vec![a]
    );
}

proptest! {
    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..600), iface in proptest::option::of(0u32..4)) {
        let mut h = Harness::new();
        h.raw(&bytes, iface, Ipv4Addr::BROADCAST, T0);
        h.raw(&bytes, iface, SERVER, T0);
    }

    #[test]
    fn mutated_requests_never_panic(seed in 0u8..5, flips in proptest::collection::vec((0usize..400, any::<u8>()), 0..8)) {
        let kinds = [MessageType::Discover, MessageType::Request, MessageType::Release, MessageType::Decline, MessageType::Inform];
        let mut m = relayed(message(kinds[usize::from(seed)], seed));
        m = with(m, DhcpOption::RequestedIpAddress(ip("198.51.100.10")));
        let mut bytes = m.to_vec();
        for (i, v) in flips {
            if let Some(b) = bytes.get_mut(i) {
                *b = v;
            }
        }
        let mut h = Harness::new();
        h.raw(&bytes, Some(ETH0), SERVER, T0);
        h.engine.tick(T0 + 100_000);
    }

    #[test]
    fn the_allocation_indexes_stay_in_step_with_the_store(
        steps in proptest::collection::vec((0u8..7, 0u8..5, 0u64..2000), 1..60)
    ) {
        // Five clients behind the relay (three addresses) doing anything in any order.
        let mut h = Harness::new();
        let mut now = T0;
        let mut offered: [Option<Ipv4Addr>; 5] = [None; 5];
        for (op, n, dt) in steps {
            now += dt;
            let c = usize::from(n);
            let d = relayed(message(MessageType::Discover, n));
            match op {
                0 | 1 => {
                    h.send(&d, now);
                    offered[c] = h.take().into_iter().next()
                        .and_then(|r| Repr::from_bytes(&r.payload).ok())
                        .map(|r| r.yiaddr);
                }
                2 => if let Some(a) = offered[c] {
                    h.send(&selecting(d, a), now);
                },
                3 => if let Some(a) = offered[c] {
                    let other = with(selecting(d, a), DhcpOption::ServerIdentifier(ip("192.0.2.99")));
                    h.send(&other, now);
                },
                4 => if let Some(a) = offered[c] {
                    let mut r = with(message(MessageType::Release, n), DhcpOption::ServerIdentifier(SERVER));
                    r.ciaddr = a;
                    h.send(&r, now);
                },
                5 => if let Some(a) = offered[c] {
                    let d = with(relayed(message(MessageType::Decline, n)), DhcpOption::RequestedIpAddress(a));
                    h.send(&d, now);
                },
                _ => h.engine.tick(now),
            }
            h.take();
            prop_assert_eq!(h.engine.indexes_match_store(), Ok(()));
        }
    }
}

#[test]
fn a_forgotten_offer_gives_back_the_binding_it_displaced() {
    let mut h = Harness::new();
    let a = h.dora(relayed(message(MessageType::Discover, 150)), T0);
    let later = T0 + 4000;
    h.engine.tick(later);
    h.dora(relayed(message(MessageType::Discover, 151)), later);
    h.dora(relayed(message(MessageType::Discover, 152)), later);
    // Only the expired address is left: offered to a newcomer, which never comes back.
    h.send(&relayed(message(MessageType::Discover, 153)), later);
    assert_eq!(h.one().1.yiaddr, a);
    assert_eq!(h.store.v4().get(a).unwrap().state, State4::Offered);
    h.engine.tick(later + 60);
    h.flush();
    let b = h.store.v4().get(a).unwrap();
    assert_eq!(b.state, State4::Expired);
    assert_eq!(b.hw.chaddr(), &mac(150));
    assert_eq!(b.relay_id(), Some(&b"relay-A"[..]));
}

#[test]
fn replies_are_handed_back_now_or_once_durable_never_sent_by_the_engine() {
    let mut h = Harness::new();
    let discover = relayed(message(MessageType::Discover, 120));
    let bytes = discover.to_vec();
    let message = Message4::new(&bytes, SocketAddrV4::new(GIADDR, 67), SERVER, Some(ETH1)).unwrap();
    let (handled, output) = h.engine.handle(&message, T0);
    assert_eq!(handled, Handled::Replied(MessageType::Offer));
    let Output::Now(offer) = output else {
        panic!("a DHCPOFFER leaves at once: {output:?}");
    };
    let offer = Repr::from_bytes(&offer.payload).unwrap();
    let request = selecting(discover, offer.yiaddr).to_vec();
    let message =
        Message4::new(&request, SocketAddrV4::new(GIADDR, 67), SERVER, Some(ETH1)).unwrap();
    let (handled, output) = h.engine.handle(&message, T0);
    assert_eq!(handled, Handled::Committing);
    let Output::WhenDurable(ack, durable, _) = output else {
        panic!("a DHCPACK waits for its binding: {output:?}");
    };
    assert_eq!(
        Repr::from_bytes(&ack.payload).unwrap().message_type(),
        Some(MessageType::Ack)
    );
    h.flush();
    assert!(matches!(durable.try_result(), Some(Ok(()))));
    assert!(h.take().is_empty(), "the engine sent nothing itself");
}

#[test]
fn a_failed_commit_never_releases_its_ack() {
    let mut h = Harness::with_store(Store::open(Box::new(Failing)).unwrap().0);
    let discover = relayed(message(MessageType::Discover, 121));
    h.send(&discover, T0);
    let (_, offer) = h.one();
    assert_eq!(
        h.send(&selecting(discover, offer.yiaddr), T0),
        Handled::Committing
    );
    assert!(
        h.take().is_empty(),
        "no DHCPACK for a binding that is not durable"
    );
    assert_eq!(h.engine.counters().commit_failed.get(), 1);
    assert_eq!(h.engine.counters().acks.get(), 0);
}

#[test]
fn an_ack_for_a_new_address_ends_the_clients_old_lease_in_that_subnet_only() {
    // Client 02:..:aa already holds a pool address in 192.0.2.0/24 (leased before its
    // reservation was configured) and one in 198.51.100.0/24 (behind the relay).
    let store = Store::in_memory();
    let old = Ipv4Addr::new(192, 0, 2, 100);
    let elsewhere = Ipv4Addr::new(198, 51, 100, 10);
    for (a, prefix) in [(old, "192.0.2.0/24"), (elsewhere, "198.51.100.0/24")] {
        let b = lessor_store::Binding4::new(
            a,
            prefix.parse().unwrap(),
            lessor_store::HwAddr::ethernet(mac(0xaa)),
            State4::Active,
        )
        .with_times(T0 - 10, T0 + 3600, T0 + 1800, T0 + 3000, T0 - 10);
        store.v4().upsert(b, lessor_store::Completion::none());
    }
    let mut h = Harness::with_store(store);
    // The DORA gives the reservation.
    let a = h.dora(message(MessageType::Discover, 0xaa), T0);
    assert_eq!(a, Ipv4Addr::new(192, 0, 2, 50));
    h.flush();
    let ended = h.store.v4().get(old).unwrap();
    assert_eq!(
        (ended.state, ended.end, ended.t1 <= T0, ended.t2 <= T0),
        (State4::Expired, T0, true, true),
        "the old lease in the same subnet ended: {ended:?}"
    );
    assert_eq!(h.store.v4().get(elsewhere).unwrap().state, State4::Active);
    assert_eq!(h.store.v4().get(a).unwrap().state, State4::Active);
    // The ended address is free for others again.
    let other = h.dora(message(MessageType::Discover, 0x77), T0 + 1);
    assert!(
        [
            old,
            Ipv4Addr::new(192, 0, 2, 102),
            Ipv4Addr::new(192, 0, 2, 103)
        ]
        .contains(&other),
        "{other}"
    );
}

#[test]
fn every_reply_returns_the_client_identifier_unaltered() {
    // RFC 6842 §3: a client identifier received from the client comes back unaltered in the
    // DHCPOFFER, the DHCPACK and the DHCPNAK (and the DHCPACK to a DHCPINFORM), before option 82.
    let id = DhcpOption::ClientIdentifier(b"\x00opaque \xff id".to_vec());
    let mut h = Harness::new();
    let discover = relayed(with(message(MessageType::Discover, 70), id.clone()));
    h.send(&discover, T0);
    let (_, offer) = h.one();
    assert_eq!(offer.message_type(), Some(MessageType::Offer));
    assert_eq!(offer.option(61), Some(&id));
    let c = codes(&offer);
    assert_eq!(&c[c.len() - 2..], [61, 82], "61 just before 82: {c:?}");
    h.send(&selecting(discover.clone(), offer.yiaddr), T0);
    let (_, ack) = h.one();
    assert_eq!(ack.message_type(), Some(MessageType::Ack));
    assert_eq!(ack.option(61), Some(&id));
    // DHCPNAK: an address that was not offered.
    let other = if offer.yiaddr == ip("198.51.100.10") {
        ip("198.51.100.11")
    } else {
        ip("198.51.100.10")
    };
    let d2 = relayed(with(message(MessageType::Discover, 71), id.clone()));
    h.send(&d2, T0);
    let _ = h.one();
    h.send(&selecting(d2, other), T0);
    let (_, nak) = h.one();
    assert_eq!(nak.message_type(), Some(MessageType::Nak));
    assert_eq!(codes(&nak), vec![53, 54, 56, 61, 82]);
    assert_eq!(nak.option(61), Some(&id));
    // DHCPACK to a DHCPINFORM.
    let mut i = relayed(with(message(MessageType::Inform, 72), id.clone()));
    i.ciaddr = ip("198.51.100.77");
    h.send(&i, T0);
    assert_eq!(h.one().1.option(61), Some(&id));
    // Sent in two instances (RFC 3396): one option, the joined value, comes back.
    let mut d3 = message(MessageType::Discover, 73);
    d3.giaddr = GIADDR;
    let mut bytes = d3.to_vec();
    let end = bytes.iter().rposition(|&b| b == 255).unwrap();
    bytes.splice(end..end, [61, 3, 1, 2, 3, 61, 2, 4, 5]);
    h.raw(&bytes, Some(ETH1), SERVER, T0);
    assert_eq!(
        h.one().1.option(61),
        Some(&DhcpOption::ClientIdentifier(vec![1, 2, 3, 4, 5]))
    );
    // No client identifier sent: none returned.
    h.send(&relayed(message(MessageType::Discover, 74)), T0);
    assert!(h.one().1.option(61).is_none());
}

// Hardening (issue 12 items 7 and 8).

/// The test config with `extra` added to `[dhcp4]` (before the subnets).
fn config_with(extra: &str) -> String {
    CONFIG.replacen(
        "decline-probation = \"1h\"\n",
        &format!("decline-probation = \"1h\"\n{extra}\n"),
        1,
    )
}

#[test]
fn a_flooding_client_is_limited_and_the_others_are_still_served() {
    let mut h = Harness::new();
    let flood = relayed(message(MessageType::Discover, 1));
    let mut answered = 0;
    for _ in 0..1_000 {
        if h.send(&flood, T0) == Seen::Engine(Handled::Replied(MessageType::Offer)) {
            answered += 1;
        }
    }
    // The default burst of one client (20), all within one second.
    assert_eq!(answered, 20);
    let c = h.engine.counters();
    assert_eq!(c.dropped(DropReason::RateLimitedClient), 980);
    assert_eq!(c.dropped(DropReason::RateLimitedRelay), 0);
    h.take();
    // Another client behind the same relay and circuit gets its lease.
    h.dora(relayed(message(MessageType::Discover, 2)), T0);
    // A second later the flooding client has 10 more tokens, not more.
    let mut later = 0;
    for _ in 0..100 {
        if h.send(&flood, T0 + 1) == Seen::Engine(Handled::Replied(MessageType::Offer)) {
            later += 1;
        }
    }
    assert_eq!(later, 10);
    // The operator hears of it, once per interval.
    let report = h
        .engine
        .take_drop_report((T0 + 1) * 1000)
        .expect("a report");
    assert!(
        report
            .to_string()
            .contains("rate-limited-client 1070; from relay 198.51.100.1 1070"),
        "{report}"
    );
}

#[test]
fn a_random_mac_flood_is_held_by_the_relay_limit_in_fixed_memory() {
    let text =
        config_with("rate-limit = { per-relay = 50, per-relay-burst = 100, per-circuit = 0 }");
    let mut h = Harness::with_config(&text, Store::in_memory());
    let mut answered = 0;
    for n in 0..5_000u32 {
        let mut d = relayed(message(MessageType::Discover, 0));
        d.chaddr[2..6].copy_from_slice(&n.to_be_bytes());
        if let Seen::Engine(Handled::Replied(_) | Handled::Dropped(DropReason::PoolExhausted)) =
            h.send(&d, T0 + u64::from(n / 1000))
        {
            answered += 1;
        }
        let (held, capacity) = h.engine.rate_limit_buckets();
        assert!(
            (0..3).all(|k| held[k] <= capacity[k]),
            "{held:?} {capacity:?}"
        );
    }
    // Five seconds of flood: the burst (100) and 50 per second.
    assert_eq!(answered, 100 + 4 * 50);
    assert_eq!(
        h.engine.counters().dropped(DropReason::RateLimitedRelay),
        5_000 - 300
    );
    // A direct client on a served interface is not behind that relay.
    h.take();
    let d = message(MessageType::Discover, 9);
    assert_eq!(
        h.send(&d, T0 + 4),
        Seen::Engine(Handled::Replied(MessageType::Offer))
    );
}

#[test]
fn a_forgotten_offer_does_not_make_the_next_discover_scan_the_pool() {
    // A /20 pool, full but for one address, in the store before the server starts.
    let text = CONFIG.replace(
        "pools = [\"203.0.113.10-203.0.113.20\"]",
        "pools = [\"198.18.0.10-198.18.15.254\"]",
    );
    let text = text.replace("prefix = \"203.0.113.0/24\"", "prefix = \"198.18.0.0/20\"");
    let store = Store::in_memory();
    let last = ip("198.18.15.254");
    store.v4().write(Completion::none(), |batch| {
        for a in u32::from(ip("198.18.0.10"))..u32::from(last) {
            let b = Binding4::new(
                Ipv4Addr::from(a),
                "198.18.0.0/20".parse().unwrap(),
                lessor_store::HwAddr::ethernet([2, 9, 0, 0, 0, 1]),
                State4::Active,
            )
            .with_times(T0, T0 + 86_400, T0 + 43_200, T0 + 75_600, T0);
            batch.upsert(b);
        }
    });
    let mut h = Harness::with_config(&text, store);
    // A configured relay on that subnet.
    let relay = ip("198.18.0.1");
    let discover = |n: u8| {
        let mut d = relayed(message(MessageType::Discover, n));
        d.giaddr = relay;
        d
    };
    let before = h.engine.free_address_lookups();
    for n in 0..100u8 {
        // Offered the one free address, the client chooses another server ...
        let d = discover(n);
        h.send(&d, T0);
        assert_eq!(h.one().1.yiaddr, last);
        let other = with(
            selecting(d, last),
            DhcpOption::ServerIdentifier(ip("192.0.2.99")),
        );
        assert_eq!(h.send(&other, T0), Handled::Dropped(DropReason::NotForUs));
        // ... and a full pool says so without a scan.
        h.engine.tick(T0);
    }
    let lookups = h.engine.free_address_lookups() - before;
    // At most a couple of looks per DHCPDISCOVER, against 4,084 per scan.
    assert!(lookups <= 2 * 100, "{lookups} lookups");
    assert_eq!(h.engine.counters().offers_forgotten.get(), 100);
}

fn max_size(n: u16) -> DhcpOption {
    DhcpOption::Other {
        code: 57,
        data: n.to_be_bytes().to_vec(),
    }
}

#[test]
fn replies_fit_the_clients_maximum_message_size() {
    let long = "x".repeat(200);
    let text = CONFIG.replace(
        "options = { routers = [\"192.0.2.1\"] }",
        &format!(
            "options = {{ routers = [\"192.0.2.1\"], nis-domain = \"{long}\", \
             tftp-server-name = \"{long}\", bootfile-name = \"{long}\" }}"
        ),
    );
    let mut h = Harness::with_config(&text, Store::in_memory());
    let prl = DhcpOption::ParameterRequestList(vec![1, 3, 6, 15, 67]);
    // No option 57: 576 octets with IP and UDP headers (RFC 2131 §2).
    let d = with(message(MessageType::Discover, 1), prl.clone());
    h.send(&d, T0);
    let (out, offer) = h.one();
    assert!(
        out.payload.len() <= 576 - 28,
        "{} octets",
        out.payload.len()
    );
    // What the client did not ask for went first, last configured first; what it asked for
    // stayed.
    assert!(offer.option(66).is_none(), "{:?}", codes(&offer));
    for c in [53, 54, 51, 58, 59, 1, 3, 6, 15, 67] {
        assert!(offer.option(c).is_some(), "option {c}: {:?}", codes(&offer));
    }
    let omitted = h.engine.counters().options_omitted.get();
    assert!(omitted >= 1);
    // A larger maximum: everything, nothing left out.
    let d = with(with(message(MessageType::Discover, 2), prl), max_size(1500));
    h.send(&d, T0);
    let (out, offer) = h.one();
    assert!(out.payload.len() > 576 - 28 && out.payload.len() <= 1500 - 28);
    for c in [40, 66, 67] {
        assert!(offer.option(c).is_some(), "option {c}");
    }
    assert_eq!(h.engine.counters().options_omitted.get(), omitted);
    // A stated maximum below 576 is taken as 576.
    let d = with(message(MessageType::Discover, 3), max_size(300));
    h.send(&d, T0);
    assert!(h.one().0.payload.len() <= 576 - 28);
}

#[test]
fn option_82_is_never_left_out_the_client_identifier_may_be() {
    // 255 octets each: together more than a 576-octet reply holds.
    let mut h = Harness::new();
    let mut rai = vec![1, 253];
    rai.extend(std::iter::repeat_n(b'c', 253));
    let id = DhcpOption::ClientIdentifier([&[0u8][..], &[b'i'; 254]].concat());
    let d = with(
        with(relayed(message(MessageType::Discover, 1)), id),
        DhcpOption::RelayAgentInformation(RelayAgentInformation::new_checked(rai.clone()).unwrap()),
    );
    assert_eq!(h.send(&d, T0), Handled::Replied(MessageType::Offer));
    let (out, offer) = h.one();
    assert!(out.payload.len() <= 576 - 28);
    assert_eq!(
        offer.relay_agent_information().map(|r| r.as_bytes()),
        Some(&rai[..])
    );
    assert!(offer.option(61).is_none());
}

/// `r` with option `code` sent as two instances (RFC 3396) holding `value` joined.
fn split_option(r: &Repr, code: u8, value: &[u8]) -> Vec<u8> {
    let mut bytes = r.to_vec();
    let end = bytes.iter().rposition(|&b| b == 255).unwrap();
    let (a, b) = value.split_at(value.len() / 2);
    let mut extra = vec![code, a.len() as u8];
    extra.extend_from_slice(a);
    extra.extend([code, b.len() as u8]);
    extra.extend_from_slice(b);
    bytes.splice(end..end, extra);
    bytes
}

#[test]
fn fields_longer_than_one_option_are_shortened_or_refused() {
    let mut h = Harness::new();
    // A host name of 400 octets (two instances): leased, kept as its first 255 octets.
    let host = vec![b'h'; 400];
    let d = relayed(message(MessageType::Discover, 1));
    h.raw(&split_option(&d, 12, &host), Some(ETH1), SERVER, T0);
    let a = h.one().1.yiaddr;
    let r = selecting(d, a);
    assert_eq!(
        h.raw(&split_option(&r, 12, &host), Some(ETH1), SERVER, T0),
        Handled::Committing
    );
    assert_eq!(h.one().1.message_type(), Some(MessageType::Ack));
    assert_eq!(h.store.v4().get(a).unwrap().hostname(), Some(&host[..255]));
    assert_eq!(h.engine.counters().fields_truncated.get(), 2);
    // A client identifier of 400 octets is an identity the server would misstate: dropped,
    // neither kept nor echoed.
    let d = relayed(message(MessageType::Discover, 2));
    assert_eq!(
        h.raw(&split_option(&d, 61, &host), Some(ETH1), SERVER, T0),
        Handled::Dropped(DropReason::FieldTooLong)
    );
    assert!(h.take().is_empty());
}

#[test]
fn unicast_from_outside_the_served_subnets_is_refused() {
    let mut h = Harness::new();
    let a = h.dora(relayed(message(MessageType::Discover, 1)), T0);
    let mut r = with(
        message(MessageType::Release, 1),
        DhcpOption::ServerIdentifier(SERVER),
    );
    r.ciaddr = a;
    let mut i = message(MessageType::Inform, 2);
    i.ciaddr = a;
    // From an address in no configured subnet, to the listen address: not taken.
    for m in [&r, &i] {
        assert_eq!(
            h.raw_from(&m.to_vec(), ip("10.9.9.9"), None, SERVER, T0 + 1),
            Handled::Dropped(DropReason::UnicastNotServed)
        );
    }
    assert!(h.take().is_empty());
    assert_eq!(h.store.v4().get(a).unwrap().state, State4::Active);
    // From a configured relay: taken.
    assert_eq!(
        h.raw_from(&r.to_vec(), ip("198.18.0.1"), None, SERVER, T0 + 2),
        Handled::Applied(MessageType::Release)
    );
    // From the client's own address: taken.
    let mut i = message(MessageType::Inform, 3);
    i.ciaddr = ip("198.51.100.50");
    assert_eq!(
        h.raw_from(&i.to_vec(), i.ciaddr, None, SERVER, T0 + 2),
        Handled::Replied(MessageType::Ack)
    );
    assert_eq!(h.engine.counters().dropped(DropReason::UnicastNotServed), 2);
}

#[test]
fn rate_limits_are_configurable_and_checked() {
    let text = config_with("rate-limit = { per-client = 1, per-client-burst = 0 }");
    let err = config::parse(&text, "test.toml").unwrap_err().to_string();
    assert!(err.contains("dhcp4.rate-limit.per-client-burst"), "{err}");
    let text = config_with("rate-limit = { per-client = 0 }");
    let mut h = Harness::with_config(&text, Store::in_memory());
    let d = relayed(message(MessageType::Discover, 1));
    for _ in 0..100 {
        assert_eq!(h.send(&d, T0), Handled::Replied(MessageType::Offer));
    }
}

#[test]
fn an_exhausted_subnet_does_not_walk_the_reusable_addresses_of_others() {
    // Another subnet holds 4,000 expired leases, in the store before the server starts.
    let text = CONFIG
        .replace(
            "pools = [\"203.0.113.10-203.0.113.20\"]",
            "pools = [\"198.18.0.10-198.18.15.254\"]",
        )
        .replace("prefix = \"203.0.113.0/24\"", "prefix = \"198.18.0.0/20\"");
    let store = Store::in_memory();
    store.v4().write(Completion::none(), |batch| {
        for a in u32::from(ip("198.18.0.10"))..u32::from(ip("198.18.0.10")) + 4_000 {
            let b = Binding4::new(
                Ipv4Addr::from(a),
                "198.18.0.0/20".parse().unwrap(),
                lessor_store::HwAddr::ethernet([2, 9, 0, 0, 0, 1]),
                State4::Expired,
            )
            .with_times(T0 - 7200, T0 - 3600, T0 - 5400, T0 - 4000, T0 - 7200);
            batch.upsert(b);
        }
    });
    let mut h = Harness::with_config(&text, store);
    // The relay's subnet (three addresses) is leased out.
    for n in 1..=3 {
        h.dora(relayed(message(MessageType::Discover, n)), T0);
    }
    let before = h.engine.reuse_lookups();
    for n in 10..110 {
        assert_eq!(
            h.send(
                &relayed(message(MessageType::Discover, n)),
                T0 + u64::from(n)
            ),
            Handled::Dropped(DropReason::PoolExhausted)
        );
    }
    assert_eq!(h.engine.reuse_lookups() - before, 0);
    // The other subnet still gives a never-used address first, without a walk.
    let mut d = relayed(message(MessageType::Discover, 200));
    d.giaddr = ip("198.18.0.1");
    h.send(&d, T0 + 200);
    let a = u32::from(h.one().1.yiaddr);
    assert!(
        a >= u32::from(ip("198.18.0.10")) + 4_000,
        "{}",
        Ipv4Addr::from(a)
    );
    assert_eq!(h.engine.reuse_lookups() - before, 0);
}

#[test]
fn the_reuse_index_follows_release_decline_expiry_and_forgotten_offers() {
    let mut h = Harness::new();
    // Three addresses: one released, one declined, one expired by the timer.
    let a = h.dora(relayed(message(MessageType::Discover, 1)), T0);
    let b = h.dora(relayed(message(MessageType::Discover, 2)), T0 + 1);
    let c = h.dora(relayed(message(MessageType::Discover, 3)), T0 + 2);
    let mut r = with(
        message(MessageType::Release, 1),
        DhcpOption::ServerIdentifier(SERVER),
    );
    r.ciaddr = a;
    assert_eq!(h.send(&r, T0 + 10), Handled::Applied(MessageType::Release));
    let d = with(
        with(
            relayed(message(MessageType::Decline, 2)),
            DhcpOption::RequestedIpAddress(b),
        ),
        DhcpOption::ServerIdentifier(SERVER),
    );
    assert_eq!(h.send(&d, T0 + 20), Handled::Applied(MessageType::Decline));
    h.engine.tick(T0 + 2 + 3600);
    h.flush();
    // Longest free first: the released (T0 + 10), then the expired (T0 + 3602); the declined
    // one only after its probation (T0 + 20 + 3600).
    let now = T0 + 3610;
    h.send(&relayed(message(MessageType::Discover, 4)), now);
    assert_eq!(h.one().1.yiaddr, a);
    h.send(&relayed(message(MessageType::Discover, 5)), now);
    assert_eq!(h.one().1.yiaddr, c);
    assert_eq!(
        h.send(&relayed(message(MessageType::Discover, 6)), now),
        Handled::Dropped(DropReason::PoolExhausted)
    );
    h.send(&relayed(message(MessageType::Discover, 6)), T0 + 20 + 3600);
    assert_eq!(h.one().1.yiaddr, b);
    // Client 4 chooses another server: its offer is forgotten, the released binding is back
    // and reusable again (a lapsed offer of client 5 too, once the timer forgets it).
    let other = with(
        selecting(relayed(message(MessageType::Discover, 4)), a),
        DhcpOption::ServerIdentifier(ip("192.0.2.99")),
    );
    assert_eq!(h.send(&other, now), Handled::Dropped(DropReason::NotForUs));
    assert_eq!(h.store.v4().get(a).unwrap().state, State4::Released);
    h.send(&relayed(message(MessageType::Discover, 7)), T0 + 20 + 3600);
    assert_eq!(h.one().1.yiaddr, a);
}

#[test]
fn discovers_are_dropped_while_the_store_fails_and_offered_again_once_a_probe_succeeds() {
    use std::sync::atomic::Ordering;
    let (store, fail, _gate) = switched();
    let mut h = Harness::with_store(store);
    let a = h.dora(relayed(message(MessageType::Discover, 131)), T0);
    // The disk fills up: a renewal's commit fails.
    fail.store(true, Ordering::SeqCst);
    let mut renew = relayed(message(MessageType::Request, 131));
    renew.ciaddr = a;
    assert_eq!(h.send(&renew, T0 + 10), Handled::Committing);
    assert!(h.take().is_empty(), "no DHCPACK");
    assert!(!h.store.health().is_healthy());
    // The binding went back to what the disk has (the lease from T0).
    assert_eq!(h.store.v4().get(a).unwrap().cltt, T0);

    // Fail closed: no offer to anybody.
    let discover = relayed(message(MessageType::Discover, 132));
    assert_eq!(
        h.send(&discover, T0 + 11),
        Handled::Dropped(DropReason::StoreFailing)
    );
    assert!(h.take().is_empty());
    assert_eq!(h.engine.counters().dropped(DropReason::StoreFailing), 1);
    // A DHCPREQUEST is still tried (and counted); its DHCPACK does not leave.
    assert_eq!(h.send(&renew, T0 + 12), Handled::Committing);
    assert!(h.take().is_empty());
    // (The first renewal came before the store knew it fails.)
    assert_eq!(h.engine.counters().requests_while_failing.get(), 1);
    assert_eq!(h.engine.counters().commit_failed.get(), 2);

    // A probe while the disk is still full keeps it failing; once there is room, it heals.
    h.store.probe("1");
    h.flush();
    assert!(!h.store.health().is_healthy());
    fail.store(false, Ordering::SeqCst);
    h.store.probe("2");
    h.flush();
    assert!(h.store.health().is_healthy());
    assert_eq!(
        h.send(&discover, T0 + 13),
        Handled::Replied(MessageType::Offer)
    );
    assert_eq!(h.one().1.message_type(), Some(MessageType::Offer));

    // Expiry waits while the store fails (each attempt would be taken back), and runs after.
    fail.store(true, Ordering::SeqCst);
    h.store.probe("3");
    h.flush();
    let past = T0 + 2 * 3600;
    h.engine.tick(past);
    h.flush();
    assert_eq!(h.store.v4().get(a).unwrap().state, State4::Active);
    fail.store(false, Ordering::SeqCst);
    h.store.probe("4");
    h.flush();
    h.engine.tick(past);
    h.flush();
    assert_eq!(h.store.v4().get(a).unwrap().state, State4::Expired);
}

#[test]
fn a_failed_ack_commit_takes_the_binding_back_so_the_address_is_not_held() {
    use std::sync::atomic::Ordering;
    let (store, fail, _gate) = switched();
    let mut h = Harness::with_store(store);
    let discover = relayed(message(MessageType::Discover, 133));
    h.send(&discover, T0);
    let (_, offer) = h.one();
    let a = offer.yiaddr;
    fail.store(true, Ordering::SeqCst);
    assert_eq!(
        h.send(&selecting(discover.clone(), a), T0 + 1),
        Handled::Committing
    );
    assert!(h.take().is_empty());
    // Not Active: back to the offer it replaced (memory only, lapsing as offers do).
    let b = h.store.v4().get(a).unwrap();
    assert_eq!(b.state, State4::Offered);
    // Once the store commits again, the client's retry gets the address.
    fail.store(false, Ordering::SeqCst);
    h.store.probe("1");
    h.flush();
    assert_eq!(h.dora(discover, T0 + 5), a);
    assert_eq!(h.store.v4().get(a).unwrap().state, State4::Active);
}

#[test]
fn discovers_are_dropped_while_the_store_queue_is_long() {
    let (store, _fail, gate) = switched();
    let mut h = Harness::with_store(store);
    let (release, rx) = std::sync::mpsc::channel();
    *gate.lock().unwrap() = Some(rx);
    // The disk stalls under a large batch (an expiry burst, an import).
    let n = DISCOVER_BACKLOG as u32 + 1;
    h.store
        .v4()
        .write(lessor_store::Completion::none(), |batch| {
            for i in 0..n {
                let b = lessor_store::Binding4::new(
                    Ipv4Addr::from(0x0a00_0000 + i),
                    "10.0.0.0/8".parse().unwrap(),
                    lessor_store::HwAddr::ethernet(mac(1)),
                    State4::Expired,
                );
                batch.upsert(b);
            }
        });
    assert!(h.store.backlog() > DISCOVER_BACKLOG);
    let discover = relayed(message(MessageType::Discover, 134));
    assert_eq!(
        h.send(&discover, T0),
        Handled::Dropped(DropReason::StoreBacklog)
    );
    assert_eq!(h.engine.counters().dropped(DropReason::StoreBacklog), 1);
    release.send(()).unwrap();
    *gate.lock().unwrap() = None;
    h.flush();
    assert_eq!(h.store.backlog(), 0);
    assert_eq!(h.send(&discover, T0), Handled::Replied(MessageType::Offer));
}

#[test]
fn a_quarantined_subnet_offers_only_addresses_with_a_loaded_binding_until_it_ends() {
    let store = Store::in_memory();
    let binding = |a: &str, n: u8, state: State4, end: u64| {
        lessor_store::Binding4::new(
            ip(a),
            "198.51.100.0/24".parse().unwrap(),
            lessor_store::HwAddr::ethernet(mac(n)),
            state,
        )
        .with_times(T0 - 7200, end, end, end, T0 - 7200)
    };
    store.v4().upsert(
        binding("198.51.100.10", 141, State4::Active, T0 + 1800),
        lessor_store::Completion::none(),
    );
    store.v4().upsert(
        binding("198.51.100.11", 142, State4::Expired, T0 - 3600),
        lessor_store::Completion::none(),
    );
    let mut h = Harness::with_store(store);
    let end = T0 + 3600;
    h.engine.quarantine(&crate::dhcp4::Quarantine {
        until: vec![None, Some(end), None],
        unreadable: 1,
    });
    // The client of a loaded binding gets it.
    assert_eq!(
        h.dora(relayed(message(MessageType::Discover, 141)), T0),
        ip("198.51.100.10")
    );
    // A loaded Expired binding's address may be reused (its row was read).
    assert_eq!(
        h.dora(relayed(message(MessageType::Discover, 143)), T0),
        ip("198.51.100.11")
    );
    // The never-used .12 is not offered, asked for or not.
    let asking = with(
        relayed(message(MessageType::Discover, 144)),
        DhcpOption::RequestedIpAddress(ip("198.51.100.12")),
    );
    assert_eq!(
        h.send(&asking, T0 + 1),
        Handled::Dropped(DropReason::Quarantined)
    );
    assert!(h.take().is_empty());
    // Other subnets are not quarantined.
    let direct = message(MessageType::Discover, 145);
    assert_eq!(
        h.send(&direct, T0 + 1),
        Handled::Replied(MessageType::Offer)
    );
    h.take();
    assert!(h.engine.quarantines_ended(end - 1).is_empty());
    // Once the longest lease that could have been lost has ended, it is offered.
    assert_eq!(
        h.engine.quarantines_ended(end),
        vec!["198.51.100.0/24".parse::<ipnet::Ipv4Net>().unwrap()]
    );
    assert!(h.engine.quarantines_ended(end).is_empty(), "said once");
    assert_eq!(h.send(&asking, end), Handled::Replied(MessageType::Offer));
    assert_eq!(h.one().1.yiaddr, ip("198.51.100.12"));
}

/// A reload: `CONFIG` with the relayed subnet's pool moved and the lease time doubled.
fn reconfigured(h: &mut Harness, pools: &str) {
    let text = CONFIG
        .replace(
            "pools = [\"198.51.100.10-198.51.100.12\"]",
            &format!("pools = [{pools}]"),
        )
        .replace("lease-time = \"1h\"", "lease-time = \"2h\"");
    let config = config::parse(&text, "reloaded.toml").expect("reloaded config");
    h.engine.reconfigure(&config);
}

#[test]
fn a_reload_moves_a_pool_keeps_bindings_and_naks_what_left_it() {
    let mut h = Harness::new();
    let held = h.dora(relayed(message(MessageType::Discover, 80)), T0);
    // An offer made under the old config, not yet requested.
    let discover = relayed(message(MessageType::Discover, 81));
    h.send(&discover, T0);
    let offered = h.one().1.yiaddr;
    let (buckets, _) = h.engine.rate_limit_buckets();
    assert!(buckets.iter().sum::<usize>() > 0);

    reconfigured(&mut h, "\"198.51.100.30-198.51.100.39\"");
    h.engine.indexes_match_store().unwrap();
    // Unchanged limits keep their buckets.
    assert_eq!(h.engine.rate_limit_buckets().0, buckets);
    // The binding outside every pool stays until it expires (leasequery answers for it)...
    let b = h.store.v4().get(held).unwrap();
    assert_eq!((b.state, b.end), (State4::Active, T0 + 3600));
    // ...and its renewal is NAKed (RFC 2131 §4.3.2: not a valid address any more).
    let mut renew = message(MessageType::Request, 80);
    renew.ciaddr = held;
    h.send(&renew, T0 + 10);
    assert_eq!(h.one().1.message_type(), Some(MessageType::Nak));
    // The offer made before the reload is NAKed: its address left the pool.
    h.send(&selecting(discover, offered), T0 + 10);
    assert_eq!(h.one().1.message_type(), Some(MessageType::Nak));
    // New clients get the new pool and the new lease time.
    let a = h.dora(relayed(message(MessageType::Discover, 82)), T0 + 20);
    assert!(in_range(a, "198.51.100.30", "198.51.100.39"), "{a}");
    assert_eq!(h.store.v4().get(a).unwrap().end, T0 + 20 + 7200);
    h.engine.indexes_match_store().unwrap();
}

#[test]
fn an_offer_made_before_a_reload_is_acked_while_its_address_is_still_in_a_pool() {
    let mut h = Harness::new();
    let discover = relayed(message(MessageType::Discover, 84));
    h.send(&discover, T0);
    let offered = h.one().1.yiaddr;
    assert_eq!(h.engine.outstanding_offers(), 1);
    reconfigured(
        &mut h,
        "\"198.51.100.10-198.51.100.12\", \"198.51.100.30-198.51.100.39\"",
    );
    assert_eq!(h.engine.outstanding_offers(), 1, "offers are kept");
    assert_eq!(
        h.send(&selecting(discover, offered), T0 + 5),
        Handled::Committing
    );
    let (_, ack) = h.one();
    assert_eq!(ack.message_type(), Some(MessageType::Ack));
    assert_eq!(h.store.v4().get(offered).unwrap().end, T0 + 5 + 7200);
}

#[test]
fn a_reload_that_changes_the_rate_limits_starts_new_buckets() {
    let mut h = Harness::new();
    h.dora(relayed(message(MessageType::Discover, 86)), T0);
    assert!(h.engine.rate_limit_buckets().0.iter().sum::<usize>() > 0);
    let text = format!("{CONFIG}\n[dhcp4.rate-limit]\nper-client = 1\n");
    h.engine
        .reconfigure(&config::parse(&text, "reloaded.toml").expect("reloaded config"));
    assert_eq!(h.engine.rate_limit_buckets().0, [0, 0, 0]);
}

/// Waits (at most 10 s) until `f` holds: another server's write reaching this one's memory.
fn followed(what: &str, mut f: impl FnMut() -> bool) {
    let until = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while !f() {
        assert!(std::time::Instant::now() < until, "never: {what}");
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
}

#[test]
fn a_request_whose_commit_another_server_took_gets_a_nak_and_so_does_its_retransmission() {
    let shared = lessor_store::SharedMemory::new();
    let open = |node: &str| Store::open(Box::new(shared.backend(node))).unwrap().0;
    let (mut a, mut b) = (
        Harness::with_store(open("a")),
        Harness::with_store(open("b")),
    );
    // B does not see A's binding before committing its own for the same address.
    shared.pause_follows(true);
    let x = a.dora(relayed(message(MessageType::Discover, 160)), T0);
    // The servers start their searches apart (decision 44): B's client asks for x, free in
    // B's view.
    let d = with(
        relayed(message(MessageType::Discover, 161)),
        DhcpOption::RequestedIpAddress(x),
    );
    b.send(&d, T0);
    let (_, offer) = b.one();
    assert_eq!(offer.yiaddr, x, "x is free as far as B knows");
    let request = selecting(d, x);
    assert_eq!(b.send(&request, T0), Handled::Committing);
    // No DHCPACK for a refused commit: a DHCPNAK at once, so the client starts over.
    let (_, nak) = b.one();
    assert_eq!(nak.message_type(), Some(MessageType::Nak));
    let c = b.engine.counters();
    assert_eq!(
        (c.acks.get(), c.commit_taken.get(), c.commit_failed.get()),
        (0, 1, 0)
    );
    assert!(b.store.health().is_healthy());

    shared.pause_follows(false);
    followed("B holds A's binding", || {
        b.store
            .v4()
            .get(x)
            .is_some_and(|h| h.hw == a.store.v4().get(x).unwrap().hw)
    });
    b.send(&request, T0 + 2);
    let (_, nak) = b.one();
    assert_eq!(nak.message_type(), Some(MessageType::Nak));
}

#[test]
fn a_never_used_address_another_server_took_is_not_offered() {
    let shared = lessor_store::SharedMemory::new();
    let open = |node: &str| Store::open(Box::new(shared.backend(node))).unwrap().0;
    let (mut a, mut b) = (
        Harness::with_store(open("a")),
        Harness::with_store(open("b")),
    );
    let x = a.dora(relayed(message(MessageType::Discover, 170)), T0);
    followed("B follows A", || b.store.v4().get(x).is_some());
    b.send(&relayed(message(MessageType::Discover, 171)), T0);
    let (_, offer) = b.one();
    assert_eq!(offer.message_type(), Some(MessageType::Offer));
    assert_ne!(offer.yiaddr, x);
    assert!(b
        .store
        .v4()
        .get(offer.yiaddr)
        .is_some_and(|o| o.state == State4::Offered));
}
