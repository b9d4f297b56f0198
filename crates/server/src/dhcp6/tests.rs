//! Sans-IO tests of the DHCPv6 engine: an in-memory store, the router in front of it as in the
//! I/O shell, replies collected (a REPLY that commits once its bindings are durable), unwrapped
//! from their relay chain, on injected time. The configuration is built by hand (the resolved
//! `[dhcp6]` types).

use super::engine::{Engine6, Handled, ADVERT_LIFETIME, MAX_IAS};
use super::limit::Limits6;
use super::{DropReason, Output};
use crate::config::{
    AddressPool6, ConfiguredOption6, Dhcp6, Lifetimes6, Link6, PrefixPool6, Reservation6, Seconds,
    ServerDuid,
};
use crate::router6::{Route6, Router6};
use lessor_net::{Destination, Interface, Outgoing, Received};
use lessor_store::v6::binding::{IaType, Key6, State6, MAX_RELAY_CHAIN};
use lessor_store::{Backend, Change, Loaded, Store, StoreError};
use lessor_wire::v6::{
    status, ClientServerMessage, DhcpOption, Duid, MessageType, RelayMessage, Repr,
    OPTION_RAPID_COMMIT,
};
use std::net::{IpAddr, Ipv6Addr, SocketAddr, SocketAddrV6};
use std::sync::{Arc, Mutex};

const T0: u64 = 1_800_000_000;
const SERVER_DUID: [u8; 10] = [0, 2, 0, 0, 0xab, 0x11, 1, 2, 3, 4];
const OTHER_DUID: [u8; 10] = [0, 2, 0, 0, 0xab, 0x11, 9, 9, 9, 9];
const LISTEN: &str = "2001:db8::1";
const RELAY: &str = "2001:db8::2";
const ETH1: u32 = 3;

fn a(s: &str) -> Ipv6Addr {
    s.parse().unwrap()
}

fn key(s: &str, len: u8) -> Key6 {
    Key6::new(a(s), len)
}

fn opt(code: u16, v: &[u8]) -> ConfiguredOption6 {
    ConfiguredOption6 {
        code,
        value: v.to_vec(),
    }
}

fn lifetimes() -> Lifetimes6 {
    Lifetimes6 {
        preferred: Seconds(1800),
        valid: Seconds(3600),
        renew_time: Seconds(900),
        rebind_time: Seconds(1440),
    }
}

/// Client `n`'s DUID (DUID-LL).
fn duid(n: u8) -> Vec<u8> {
    vec![0, 3, 0, 1, 2, 0, 0, 0, 0, n]
}

fn config() -> Dhcp6 {
    Dhcp6 {
        server_duid: ServerDuid::Configured(SERVER_DUID.to_vec()),
        listen: vec![a(LISTEN)],
        interfaces: vec!["eth1".into()],
        port: 547,
        rapid_commit: false,
        decline_probation: Seconds(600),
        receive_threads: None,
        segment_replies: false,
        rate_limit: Default::default(),
        options: vec![opt(23, &[0x20; 16]), opt(24, b"\x07example\x03net\x00")],
        links: vec![
            Link6 {
                prefix: "2001:db8:1::/64".parse().unwrap(),
                interface_ids: vec![],
                interface: None,
                lifetimes: lifetimes(),
                address_pools: vec![AddressPool6 {
                    first: a("2001:db8:1::1000"),
                    last: a("2001:db8:1::1003"),
                    options: vec![opt(31, b"pool")],
                }],
                prefix_pools: vec![PrefixPool6 {
                    prefix: "2001:db8:100::/55".parse().unwrap(),
                    delegated_len: 56,
                    options: vec![],
                }],
                reservations: vec![Reservation6 {
                    duid: duid(9),
                    addresses: vec![a("2001:db8:1::9")],
                    prefixes: vec!["2001:db8:200::/56".parse().unwrap()],
                    options: vec![opt(23, &[0x99; 16])],
                }],
                options: vec![opt(24, b"\x04link\x00")],
            },
            Link6 {
                prefix: "2001:db8:2::/64".parse().unwrap(),
                interface_ids: vec![b"ge-0/0/1".to_vec()],
                interface: Some("eth1".into()),
                lifetimes: Lifetimes6 {
                    preferred: Seconds(100),
                    valid: Seconds(200),
                    renew_time: Seconds(50),
                    rebind_time: Seconds(80),
                },
                address_pools: vec![AddressPool6 {
                    first: a("2001:db8:2::10"),
                    last: a("2001:db8:2::ff"),
                    options: vec![],
                }],
                prefix_pools: vec![],
                reservations: vec![],
                options: vec![],
            },
        ],
    }
}

/// What the I/O shell sends: replies now, the others once durable.
#[derive(Default)]
struct Collect(Mutex<Vec<Outgoing>>);

impl Collect {
    fn deliver(self: &Arc<Self>, output: Output) {
        match output {
            Output::Nothing => {}
            Output::Now(reply) => self.0.lock().unwrap().push(reply),
            Output::WhenDurable(reply, durable, _) => {
                let sink = Arc::clone(self);
                durable.on_durable(move |r| {
                    if r.is_ok() {
                        sink.0.lock().unwrap().push(reply);
                    }
                });
            }
        }
    }
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

/// How a test message travels.
#[derive(Debug, Clone)]
enum Way {
    /// Through relays, innermost first: (link-address, interface-id) per hop.
    Relayed(Vec<(Ipv6Addr, Option<Vec<u8>>)>),
    /// Multicast on eth1.
    Multicast,
    /// Unicast to the listen address, from a global address.
    Unicast,
}

fn one_hop() -> Way {
    Way::Relayed(vec![(a("2001:db8:1::1"), None)])
}

struct Harness {
    router: Router6,
    engine: Engine6,
    store: Arc<Store>,
    sink: Arc<Collect>,
}

impl Harness {
    fn new() -> Harness {
        Harness::with(config(), Store::in_memory())
    }

    fn with(config: Dhcp6, store: Store) -> Harness {
        let store = Arc::new(store);
        let eth1 = Interface {
            name: "eth1".into(),
            index: ETH1,
            v4: vec![],
            v6: vec!["2001:db8:2::1/64".parse().unwrap()],
        };
        let engine = Engine6::new(
            &config,
            Arc::clone(&store),
            vec![eth1],
            SERVER_DUID.to_vec(),
        );
        Harness {
            router: Router6::new(),
            engine,
            store,
            sink: Arc::new(Collect::default()),
        }
    }

    /// Sends `msg` the `way` given at `now`; what the engine did.
    fn send(&mut self, msg: &Repr, way: &Way, now: u64) -> Handled {
        let (payload, source, destination, ifindex) = match way {
            Way::Relayed(hops) => {
                let mut m = msg.clone();
                for (i, (link, id)) in hops.iter().enumerate() {
                    let mut options = Vec::new();
                    if let Some(id) = id {
                        options.push(DhcpOption::InterfaceId(id.clone()));
                    }
                    if i == 0 {
                        options.push(DhcpOption::RemoteId {
                            enterprise_number: 3561,
                            remote_id: b"port-7".to_vec(),
                        });
                        options.push(DhcpOption::RelayId(Duid::Ll {
                            hardware_type: 1,
                            link_layer_address: vec![2, 0, 0, 0, 0, 0xee],
                        }));
                    }
                    options.push(DhcpOption::RelayMsg(Box::new(m)));
                    m = Repr::Relay(RelayMessage {
                        msg_type: MessageType::RelayForw,
                        hop_count: i as u8,
                        link_address: *link,
                        peer_address: a("fe80::c1"),
                        options,
                    });
                }
                (
                    m.to_vec(),
                    SocketAddr::from((a(RELAY), 547)),
                    a(LISTEN),
                    None,
                )
            }
            Way::Multicast => (
                msg.to_vec(),
                SocketAddr::V6(SocketAddrV6::new(a("fe80::c1"), 546, 0, ETH1)),
                a("ff02::1:2"),
                Some(ETH1),
            ),
            Way::Unicast => (
                msg.to_vec(),
                SocketAddr::from((a("2001:db8:1::1000"), 546)),
                a(LISTEN),
                Some(ETH1),
            ),
        };
        let rx = Received {
            payload: &payload,
            source,
            destination: IpAddr::V6(destination),
            interface_index: ifindex,
        };
        let Route6::Dhcp(m) = self.router.route(&rx) else {
            panic!("not routed to the engine");
        };
        let (handled, output) = self.engine.handle(&m, now);
        self.sink.deliver(output);
        handled
    }

    /// The replies sent since the last call, once every commit is durable.
    fn replies(&self) -> Vec<Outgoing> {
        self.store.sync().wait().unwrap();
        std::mem::take(&mut *self.sink.0.lock().unwrap())
    }

    /// The one reply sent, unwrapped from its relay chain.
    fn reply(&self) -> ClientServerMessage {
        let r = self.replies();
        assert_eq!(r.len(), 1, "{r:?}");
        unwrap(&r[0]).0
    }
}

/// The client message of a reply, and its RELAY-REPL hops outermost first.
fn unwrap(o: &Outgoing) -> (ClientServerMessage, Vec<RelayMessage>) {
    let repr = Repr::from_bytes(&o.payload).unwrap();
    let hops = repr.relay_hops().into_iter().cloned().collect();
    (repr.client_message().unwrap().clone(), hops)
}

fn client_msg(t: MessageType, n: u8, options: Vec<DhcpOption>) -> Repr {
    let mut all = vec![DhcpOption::ClientId(Duid::parse(&duid(n)).unwrap())];
    all.extend(options);
    Repr::ClientServer(ClientServerMessage {
        msg_type: t,
        transaction_id: 0x1234,
        options: all,
    })
}

fn sid(d: &[u8]) -> DhcpOption {
    DhcpOption::ServerId(Duid::parse(d).unwrap())
}

fn ia_na(iaid: u32, addrs: &[&str]) -> DhcpOption {
    DhcpOption::IaNa {
        iaid,
        t1: 0,
        t2: 0,
        options: addrs
            .iter()
            .map(|s| DhcpOption::IaAddr {
                address: a(s),
                preferred_lifetime: 0,
                valid_lifetime: 0,
                options: vec![],
            })
            .collect(),
    }
}

fn ia_pd(iaid: u32) -> DhcpOption {
    DhcpOption::IaPd {
        iaid,
        t1: 0,
        t2: 0,
        options: vec![],
    }
}

/// Every (address or prefix, preferred, valid) of the reply's IAs, by IAID, and the IAs'
/// status codes.
#[derive(Debug, Default)]
struct Ias {
    leases: Vec<(u32, Key6, u32, u32)>,
    statuses: Vec<(u32, u16)>,
    timers: Vec<(u32, u32, u32)>,
}

fn ias(m: &ClientServerMessage) -> Ias {
    let mut out = Ias::default();
    for o in &m.options {
        let (iaid, t1, t2, inner) = match o {
            DhcpOption::IaNa {
                iaid,
                t1,
                t2,
                options,
            }
            | DhcpOption::IaPd {
                iaid,
                t1,
                t2,
                options,
            } => (*iaid, *t1, *t2, options),
            _ => continue,
        };
        out.timers.push((iaid, t1, t2));
        for i in inner {
            match i {
                DhcpOption::IaAddr {
                    address,
                    preferred_lifetime,
                    valid_lifetime,
                    ..
                } => out.leases.push((
                    iaid,
                    Key6::address_key(*address),
                    *preferred_lifetime,
                    *valid_lifetime,
                )),
                DhcpOption::IaPrefix {
                    preferred_lifetime,
                    valid_lifetime,
                    prefix_length,
                    prefix,
                    ..
                } => out.leases.push((
                    iaid,
                    Key6::new(*prefix, *prefix_length),
                    *preferred_lifetime,
                    *valid_lifetime,
                )),
                DhcpOption::StatusCode { code, .. } => out.statuses.push((iaid, *code)),
                _ => {}
            }
        }
    }
    out
}

fn top_status(m: &ClientServerMessage) -> Option<u16> {
    m.options.iter().find_map(|o| match o {
        DhcpOption::StatusCode { code, .. } => Some(*code),
        _ => None,
    })
}

fn other(m: &ClientServerMessage, code: u16) -> Option<Vec<u8>> {
    m.options.iter().find_map(|o| match o {
        DhcpOption::Other { code: c, data } if *c == code => Some(data.clone()),
        _ => None,
    })
}

/// SOLICIT then REQUEST of client `n` for `options` the `way` given; the REPLY.
fn sarr(h: &mut Harness, n: u8, options: Vec<DhcpOption>, way: &Way) -> ClientServerMessage {
    sarr_at(h, n, options, way, T0)
}

/// [`sarr`] at `t`.
fn sarr_at(
    h: &mut Harness,
    n: u8,
    options: Vec<DhcpOption>,
    way: &Way,
    t: u64,
) -> ClientServerMessage {
    let solicit = client_msg(MessageType::Solicit, n, options.clone());
    assert_eq!(
        h.send(&solicit, way, t),
        Handled::Replied(MessageType::Advertise)
    );
    let advertise = h.reply();
    assert_eq!(advertise.msg_type, MessageType::Advertise);
    let mut req = options;
    req.push(sid(&SERVER_DUID));
    assert_eq!(
        h.send(&client_msg(MessageType::Request, n, req), way, t + 1),
        Handled::Committing
    );
    h.reply()
}

#[test]
fn relayed_solicit_and_request_through_two_hops_echo_every_interface_id() {
    let mut h = Harness::new();
    let way = Way::Relayed(vec![
        (a("2001:db8:1::1"), Some(b"inner-port".to_vec())),
        (a("2001:db8::99"), Some(b"outer-port".to_vec())),
    ]);
    let solicit = client_msg(
        MessageType::Solicit,
        1,
        vec![ia_na(1, &[]), DhcpOption::Oro(vec![23, 24, 31])],
    );
    assert_eq!(
        h.send(&solicit, &way, T0),
        Handled::Replied(MessageType::Advertise)
    );
    let out = h.replies();
    assert_eq!(out.len(), 1);
    assert_eq!(
        out[0].destination,
        Destination::Relay(SocketAddr::from((a(RELAY), 547)))
    );
    let (adv, hops) = unwrap(&out[0]);
    assert_eq!(hops.len(), 2);
    assert!(hops.iter().all(|h| h.msg_type == MessageType::RelayRepl));
    assert_eq!(
        hops[0].options[0],
        DhcpOption::InterfaceId(b"outer-port".to_vec())
    );
    assert_eq!(
        hops[1].options[0],
        DhcpOption::InterfaceId(b"inner-port".to_vec())
    );
    assert_eq!(
        (
            hops[1].hop_count,
            hops[1].link_address,
            hops[1].peer_address
        ),
        (0, a("2001:db8:1::1"), a("fe80::c1"))
    );
    assert_eq!(adv.transaction_id, 0x1234);
    assert_eq!(adv.options[0], sid(&SERVER_DUID));
    assert_eq!(
        adv.options[1],
        DhcpOption::ClientId(Duid::parse(&duid(1)).unwrap())
    );
    let got = ias(&adv);
    assert_eq!(
        got.leases,
        vec![(1, key("2001:db8:1::1000", 128), 1800, 3600)]
    );
    assert_eq!(got.timers, vec![(1, 900, 1440)]);
    // Options by ORO, most specific first: the pool's 31, the link's 24, the section's 23.
    assert_eq!(other(&adv, 31), Some(b"pool".to_vec()));
    assert_eq!(other(&adv, 24), Some(b"\x04link\x00".to_vec()));
    assert_eq!(other(&adv, 23), Some(vec![0x20; 16]));
    let b = h.store.v6().get(key("2001:db8:1::1000", 128)).unwrap();
    assert_eq!(b.state, State6::Advertised);
    assert_eq!(h.engine.outstanding_adverts(), 1);

    let request = client_msg(
        MessageType::Request,
        1,
        vec![
            ia_na(1, &["2001:db8:1::1000"]),
            sid(&SERVER_DUID),
            DhcpOption::Oro(vec![23]),
        ],
    );
    assert_eq!(h.send(&request, &way, T0 + 1), Handled::Committing);
    let out = h.replies();
    let (reply, hops) = unwrap(&out[0]);
    assert_eq!(hops.len(), 2);
    assert_eq!(reply.msg_type, MessageType::Reply);
    assert_eq!(
        ias(&reply).leases,
        vec![(1, key("2001:db8:1::1000", 128), 1800, 3600)]
    );
    assert_eq!(other(&reply, 24), None, "not asked for");
    let b = h.store.v6().get(key("2001:db8:1::1000", 128)).unwrap();
    assert_eq!(b.state, State6::Active);
    assert_eq!(
        (b.start, b.preferred_end, b.valid_end, b.t1, b.t2),
        (T0 + 1, T0 + 1801, T0 + 3601, T0 + 901, T0 + 1441)
    );
    assert_eq!((b.ia_type, b.iaid), (IaType::Na, 1));
    assert_eq!(b.duid(), Some(&duid(1)[..]));
    assert_eq!(b.relay_peer, Some(a(RELAY)));
    // The hop nearest the client carries each identifier.
    assert_eq!(b.interface_id(), Some(&b"inner-port"[..]));
    let mut remote = 3561u32.to_be_bytes().to_vec();
    remote.extend(b"port-7");
    assert_eq!(b.remote_id(), Some(&remote[..]));
    assert_eq!(b.relay_id(), Some(&[0, 3, 0, 1, 2, 0, 0, 0, 0, 0xee][..]));
    // The chain as received without the client's message.
    let chain = Repr::from_bytes(b.relay_chain().unwrap()).unwrap();
    assert!(chain.client_message().is_none());
    assert_eq!(chain.relay_hops().len(), 2);
    assert_eq!(h.store.v6().durable_snapshot().len(), 1);
    assert_eq!(h.engine.outstanding_adverts(), 0);
    assert_eq!(h.engine.counters().replies_durable.get(), 1);
}

#[test]
fn several_ias_get_each_their_own_address_and_prefix() {
    let mut h = Harness::new();
    let reply = sarr(
        &mut h,
        1,
        vec![ia_na(1, &[]), ia_na(2, &[]), ia_pd(7)],
        &one_hop(),
    );
    let got = ias(&reply);
    assert_eq!(
        got.leases,
        vec![
            (1, key("2001:db8:1::1000", 128), 1800, 3600),
            (2, key("2001:db8:1::1001", 128), 1800, 3600),
            (7, key("2001:db8:100::", 56), 1800, 3600),
        ]
    );
    let p = h.store.v6().get(key("2001:db8:100::", 56)).unwrap();
    assert_eq!(
        (p.ia_type, p.iaid, p.state),
        (IaType::Pd, 7, State6::Active)
    );
    // The same client asking again keeps what it has.
    let again = sarr(
        &mut h,
        1,
        vec![ia_na(1, &[]), ia_na(2, &[]), ia_pd(7)],
        &one_hop(),
    );
    assert_eq!(ias(&again).leases, got.leases);
    // More IAs than answered: the rest are ignored and counted.
    let many: Vec<DhcpOption> = (0..MAX_IAS as u32 + 2)
        .map(|i| ia_na(100 + i, &[]))
        .collect();
    let solicit = client_msg(MessageType::Solicit, 2, many);
    h.send(&solicit, &one_hop(), T0 + 5);
    let adv = h.reply();
    assert_eq!(ias(&adv).timers.len(), MAX_IAS);
    assert_eq!(h.engine.counters().ias_ignored.get(), 2);
}

#[test]
fn exhausted_pools_say_no_addrs_and_no_prefix_avail_in_the_ia() {
    let mut h = Harness::new();
    for n in 1..=4 {
        sarr(&mut h, n, vec![ia_na(1, &[]), ia_pd(1)], &one_hop());
    }
    // Two /56s in the /55: clients 3 and 4 got NoPrefixAvail.
    let solicit = client_msg(MessageType::Solicit, 5, vec![ia_na(1, &[]), ia_pd(1)]);
    assert_eq!(
        h.send(&solicit, &one_hop(), T0 + 10),
        Handled::Replied(MessageType::Advertise)
    );
    let adv = h.reply();
    let got = ias(&adv);
    assert!(got.leases.is_empty(), "{got:?}");
    assert_eq!(
        got.statuses,
        vec![(1, status::NO_ADDRS_AVAIL), (1, status::NO_PREFIX_AVAIL)]
    );
    assert_eq!(got.timers, vec![(1, 0, 0), (1, 0, 0)]);
    // Clients 3 and 4 (SOLICIT and REQUEST each), then 5.
    assert_eq!(h.engine.counters().no_prefix_avail.get(), 5);
    // A REQUEST that leases nothing is answered at once.
    let req = client_msg(
        MessageType::Request,
        5,
        vec![ia_na(1, &[]), sid(&SERVER_DUID)],
    );
    assert_eq!(
        h.send(&req, &one_hop(), T0 + 11),
        Handled::Replied(MessageType::Reply)
    );
    assert_eq!(ias(&h.reply()).statuses, vec![(1, status::NO_ADDRS_AVAIL)]);
}

#[test]
fn a_reservation_by_duid_gets_its_address_prefix_and_options() {
    let mut h = Harness::new();
    let reply = sarr(
        &mut h,
        9,
        vec![ia_na(1, &[]), ia_pd(2), DhcpOption::Oro(vec![23])],
        &one_hop(),
    );
    assert_eq!(
        ias(&reply).leases,
        vec![
            (1, key("2001:db8:1::9", 128), 1800, 3600),
            (2, key("2001:db8:200::", 56), 1800, 3600)
        ]
    );
    assert_eq!(other(&reply, 23), Some(vec![0x99; 16]), "the host's wins");
    // Nobody else is given a reserved address, even when hinting it.
    let adv = {
        let s = client_msg(MessageType::Solicit, 1, vec![ia_na(1, &["2001:db8:1::9"])]);
        h.send(&s, &one_hop(), T0 + 5);
        h.reply()
    };
    assert_eq!(ias(&adv).leases[0].1, key("2001:db8:1::1000", 128));
}

#[test]
fn a_free_hint_is_honoured_and_a_taken_one_is_not() {
    let mut h = Harness::new();
    let r = sarr(&mut h, 1, vec![ia_na(1, &["2001:db8:1::1002"])], &one_hop());
    assert_eq!(ias(&r).leases[0].1, key("2001:db8:1::1002", 128));
    let r = sarr(&mut h, 2, vec![ia_na(1, &["2001:db8:1::1002"])], &one_hop());
    assert_eq!(ias(&r).leases[0].1, key("2001:db8:1::1000", 128));
    // A hint outside the link's pools is not.
    let r = sarr(&mut h, 3, vec![ia_na(1, &["2001:db8:9::1"])], &one_hop());
    assert_eq!(ias(&r).leases[0].1, key("2001:db8:1::1001", 128));
}

#[test]
fn rapid_commit_answers_a_solicit_with_a_durable_reply_only_when_configured() {
    let mut c = config();
    c.rapid_commit = true;
    let mut h = Harness::with(c, Store::in_memory());
    let rc = DhcpOption::Other {
        code: OPTION_RAPID_COMMIT,
        data: vec![],
    };
    let s = client_msg(MessageType::Solicit, 1, vec![ia_na(1, &[]), rc.clone()]);
    assert_eq!(h.send(&s, &one_hop(), T0), Handled::Committing);
    let reply = h.reply();
    assert_eq!(reply.msg_type, MessageType::Reply);
    assert!(reply.options.contains(&rc));
    assert_eq!(
        h.store
            .v6()
            .get(key("2001:db8:1::1000", 128))
            .unwrap()
            .state,
        State6::Active
    );
    // Without the setting: an ADVERTISE.
    let mut h = Harness::new();
    assert_eq!(
        h.send(&s, &one_hop(), T0),
        Handled::Replied(MessageType::Advertise)
    );
    assert!(!h.reply().options.contains(&rc));
}

#[test]
fn messages_are_validated_as_rfc_8415_section_16_says() {
    let mut h = Harness::new();
    let way = one_hop();
    let bare = |t: MessageType, options: Vec<DhcpOption>| {
        Repr::ClientServer(ClientServerMessage {
            msg_type: t,
            transaction_id: 1,
            options,
        })
    };
    let cases = [
        (
            bare(MessageType::Solicit, vec![ia_na(1, &[])]),
            DropReason::NoClientId,
        ),
        (
            client_msg(MessageType::Solicit, 1, vec![sid(&SERVER_DUID)]),
            DropReason::UnexpectedServerId,
        ),
        (
            client_msg(MessageType::Confirm, 1, vec![sid(&SERVER_DUID)]),
            DropReason::UnexpectedServerId,
        ),
        (
            client_msg(MessageType::Rebind, 1, vec![sid(&SERVER_DUID)]),
            DropReason::UnexpectedServerId,
        ),
        (
            client_msg(MessageType::Request, 1, vec![ia_na(1, &[])]),
            DropReason::NoServerId,
        ),
        (
            client_msg(MessageType::Renew, 1, vec![sid(&OTHER_DUID)]),
            DropReason::NotForUs,
        ),
        (
            client_msg(MessageType::Release, 1, vec![]),
            DropReason::NoServerId,
        ),
        (
            client_msg(MessageType::Decline, 1, vec![sid(&OTHER_DUID)]),
            DropReason::NotForUs,
        ),
        (
            bare(MessageType::Request, vec![sid(&SERVER_DUID)]),
            DropReason::NoClientId,
        ),
        (
            client_msg(MessageType::InformationRequest, 1, vec![ia_na(1, &[])]),
            DropReason::IaInInformationRequest,
        ),
        (
            bare(MessageType::InformationRequest, vec![sid(&OTHER_DUID)]),
            DropReason::NotForUs,
        ),
    ];
    for (m, why) in cases {
        assert_eq!(h.send(&m, &way, T0), Handled::Dropped(why), "{m:?}");
    }
    assert!(h.replies().is_empty());
    // An INFORMATION-REQUEST needs no Client Identifier; ours is fine.
    let info = bare(
        MessageType::InformationRequest,
        vec![sid(&SERVER_DUID), DhcpOption::Oro(vec![24])],
    );
    assert_eq!(
        h.send(&info, &way, T0),
        Handled::Replied(MessageType::Reply)
    );
    let r = h.reply();
    assert_eq!(other(&r, 24), Some(b"\x04link\x00".to_vec()));
    assert!(!r
        .options
        .iter()
        .any(|o| matches!(o, DhcpOption::ClientId(_))));
}

#[test]
fn a_request_for_another_server_takes_our_advertisement_back() {
    let mut h = Harness::new();
    let s = client_msg(MessageType::Solicit, 1, vec![ia_na(1, &[])]);
    h.send(&s, &one_hop(), T0);
    h.replies();
    assert_eq!(h.engine.outstanding_adverts(), 1);
    let r = client_msg(
        MessageType::Request,
        1,
        vec![ia_na(1, &["2001:db8:1::1000"]), sid(&OTHER_DUID)],
    );
    assert_eq!(
        h.send(&r, &one_hop(), T0 + 1),
        Handled::Dropped(DropReason::NotForUs)
    );
    assert_eq!(h.engine.outstanding_adverts(), 0);
    assert!(h.store.v6().get(key("2001:db8:1::1000", 128)).is_none());
    // Never used again: back in the round of the pool's never-used addresses.
    let given: Vec<Key6> = (2..=5)
        .map(|n| ias(&sarr(&mut h, n, vec![ia_na(1, &[])], &one_hop())).leases[0].1)
        .collect();
    assert_eq!(
        given,
        vec![
            key("2001:db8:1::1001", 128),
            key("2001:db8:1::1002", 128),
            key("2001:db8:1::1003", 128),
            key("2001:db8:1::1000", 128)
        ]
    );
}

#[test]
fn an_advertisement_lapses() {
    let mut h = Harness::new();
    let s = client_msg(MessageType::Solicit, 1, vec![ia_na(1, &[]), ia_pd(1)]);
    h.send(&s, &one_hop(), T0);
    h.replies();
    assert_eq!(h.engine.outstanding_adverts(), 2);
    h.engine.tick(T0 + u64::from(ADVERT_LIFETIME) - 1);
    assert_eq!(h.engine.outstanding_adverts(), 2);
    h.engine.tick(T0 + u64::from(ADVERT_LIFETIME));
    assert_eq!(h.engine.outstanding_adverts(), 0);
    assert!(h.store.v6().is_empty());
    assert_eq!(h.engine.counters().adverts_forgotten.get(), 2);
}

#[test]
fn unicast_gets_use_multicast_or_is_dropped() {
    let mut h = Harness::new();
    let req = client_msg(
        MessageType::Request,
        1,
        vec![ia_na(1, &[]), sid(&SERVER_DUID), DhcpOption::Oro(vec![23])],
    );
    assert_eq!(
        h.send(&req, &Way::Unicast, T0),
        Handled::Replied(MessageType::Reply)
    );
    let out = h.replies();
    assert_eq!(
        out[0].destination,
        Destination::Client(SocketAddr::from((a("2001:db8:1::1000"), 546)))
    );
    let (r, hops) = unwrap(&out[0]);
    assert!(hops.is_empty());
    assert_eq!(top_status(&r), Some(status::USE_MULTICAST));
    // Server and Client Identifier and the status: nothing else.
    assert_eq!(r.options.len(), 3);
    assert!(h.store.v6().is_empty());
    for t in [
        MessageType::Solicit,
        MessageType::Rebind,
        MessageType::Confirm,
    ] {
        let m = client_msg(t, 1, vec![ia_na(1, &["2001:db8:1::1000"])]);
        assert_eq!(
            h.send(&m, &Way::Unicast, T0),
            Handled::Dropped(DropReason::Unicast)
        );
    }
    assert_eq!(h.engine.counters().use_multicast.get(), 1);
}

#[test]
fn a_direct_client_on_a_served_interface_is_answered_at_port_546_there() {
    let mut h = Harness::new();
    let r = sarr(&mut h, 1, vec![ia_na(1, &[])], &Way::Multicast);
    // eth1 is the second link's interface.
    assert_eq!(
        ias(&r).leases,
        vec![(1, key("2001:db8:2::10", 128), 100, 200)]
    );
    let s = client_msg(MessageType::Solicit, 2, vec![ia_na(1, &[])]);
    h.send(&s, &Way::Multicast, T0);
    let out = h.replies();
    assert_eq!(
        out[0].destination,
        Destination::Client(SocketAddr::V6(SocketAddrV6::new(
            a("fe80::c1"),
            546,
            0,
            ETH1
        )))
    );
    let b = h.store.v6().get(key("2001:db8:2::10", 128)).unwrap();
    assert_eq!((b.relay_peer, b.relay_chain()), (None, None));
}

#[test]
fn the_link_comes_from_the_innermost_link_address_else_its_interface_id() {
    let mut h = Harness::new();
    // Outer hop's link-address is on link 1, the innermost one unspecified with an
    // interface-id configured for link 2.
    let way = Way::Relayed(vec![
        (Ipv6Addr::UNSPECIFIED, Some(b"ge-0/0/1".to_vec())),
        (a("2001:db8:1::1"), None),
    ]);
    let r = sarr(&mut h, 1, vec![ia_na(1, &[])], &way);
    assert_eq!(ias(&r).leases[0].1, key("2001:db8:2::10", 128));
    // Nothing selects a link: dropped, and said in the log.
    let lost = Way::Relayed(vec![(a("2001:db8:77::1"), Some(b"unknown".to_vec()))]);
    let s = client_msg(MessageType::Solicit, 2, vec![ia_na(1, &[])]);
    assert_eq!(h.send(&s, &lost, T0), Handled::Dropped(DropReason::NoLink));
    let report = h.engine.take_drop_report(T0 * 1000).expect("logged");
    assert!(
        report
            .to_string()
            .contains("no-link 1; from relay 2001:db8::2"),
        "{report}"
    );
}

#[test]
fn renew_and_rebind_extend_and_unknown_ias_get_no_binding() {
    let mut h = Harness::new();
    sarr(&mut h, 1, vec![ia_na(1, &[]), ia_pd(2)], &one_hop());
    let renew = client_msg(
        MessageType::Renew,
        1,
        vec![
            ia_na(1, &["2001:db8:1::1000", "2001:db8:1::1003"]),
            ia_pd(2),
            ia_na(5, &[]),
            sid(&SERVER_DUID),
        ],
    );
    assert_eq!(h.send(&renew, &one_hop(), T0 + 900), Handled::Committing);
    let r = h.reply();
    let got = ias(&r);
    assert_eq!(
        got.leases,
        vec![
            (1, key("2001:db8:1::1000", 128), 1800, 3600),
            // Listed, not its own: lifetimes 0.
            (1, key("2001:db8:1::1003", 128), 0, 0),
            (2, key("2001:db8:100::", 56), 1800, 3600),
        ]
    );
    assert_eq!(got.statuses, vec![(5, status::NO_BINDING)]);
    let b = h.store.v6().get(key("2001:db8:1::1000", 128)).unwrap();
    assert_eq!((b.start, b.valid_end), (T0 + 900, T0 + 900 + 3600));
    // REBIND from another link: the address is not for it.
    let rebind = client_msg(
        MessageType::Rebind,
        1,
        vec![ia_na(1, &["2001:db8:1::1000"])],
    );
    let elsewhere = Way::Relayed(vec![(a("2001:db8:2::1"), None)]);
    assert_eq!(
        h.send(&rebind, &elsewhere, T0 + 1500),
        Handled::Replied(MessageType::Reply)
    );
    assert_eq!(
        ias(&h.reply()).leases,
        vec![(1, key("2001:db8:1::1000", 128), 0, 0)]
    );
    // A REBIND for an unknown IA whose address is not for the link: lifetimes 0, no status.
    let rebind = client_msg(MessageType::Rebind, 3, vec![ia_na(1, &["2001:db8:9::1"])]);
    h.send(&rebind, &one_hop(), T0 + 1500);
    let got = ias(&h.reply());
    assert_eq!(got.leases, vec![(1, key("2001:db8:9::1", 128), 0, 0)]);
    assert!(got.statuses.is_empty());
    // On its own link the REBIND extends.
    let rebind = client_msg(
        MessageType::Rebind,
        1,
        vec![ia_na(1, &["2001:db8:1::1000"])],
    );
    assert_eq!(h.send(&rebind, &one_hop(), T0 + 1500), Handled::Committing);
    assert_eq!(
        ias(&h.reply()).leases,
        vec![(1, key("2001:db8:1::1000", 128), 1800, 3600)]
    );
}

#[test]
fn release_frees_and_the_client_gets_its_address_back_first() {
    let mut h = Harness::new();
    sarr(&mut h, 1, vec![ia_na(1, &[])], &one_hop());
    sarr(&mut h, 2, vec![ia_na(1, &[])], &one_hop());
    let release = client_msg(
        MessageType::Release,
        1,
        vec![
            ia_na(1, &["2001:db8:1::1000"]),
            ia_na(4, &["2001:db8:1::1001"]),
            sid(&SERVER_DUID),
        ],
    );
    assert_eq!(h.send(&release, &one_hop(), T0 + 60), Handled::Committing);
    let r = h.reply();
    assert_eq!(top_status(&r), Some(status::SUCCESS));
    assert_eq!(ias(&r).statuses, vec![(4, status::NO_BINDING)]);
    let b = h.store.v6().get(key("2001:db8:1::1000", 128)).unwrap();
    assert_eq!((b.state, b.valid_end), (State6::Released, T0 + 60));
    assert_eq!(
        h.store
            .v6()
            .get(key("2001:db8:1::1001", 128))
            .unwrap()
            .state,
        State6::Active,
        "another client's address is not released"
    );
    // Client 1 comes back: its released address before any never-used one.
    let r = sarr(&mut h, 1, vec![ia_na(1, &[])], &one_hop());
    assert_eq!(ias(&r).leases[0].1, key("2001:db8:1::1000", 128));
    assert_eq!(h.engine.counters().released.get(), 1);
}

#[test]
fn a_declined_address_waits_out_its_probation() {
    let mut c = config();
    c.links[0].address_pools[0].last = a("2001:db8:1::1000");
    let mut h = Harness::with(c, Store::in_memory());
    sarr(&mut h, 1, vec![ia_na(1, &[])], &one_hop());
    let decline = client_msg(
        MessageType::Decline,
        1,
        vec![ia_na(1, &["2001:db8:1::1000"]), sid(&SERVER_DUID)],
    );
    assert_eq!(h.send(&decline, &one_hop(), T0 + 10), Handled::Committing);
    assert_eq!(top_status(&h.reply()), Some(status::SUCCESS));
    let b = h.store.v6().get(key("2001:db8:1::1000", 128)).unwrap();
    assert_eq!((b.state, b.valid_end), (State6::Declined, T0 + 10 + 600));
    // Not even its decliner gets it during probation.
    for n in [1, 2] {
        let s = client_msg(MessageType::Solicit, n, vec![ia_na(1, &[])]);
        h.send(&s, &one_hop(), T0 + 300);
        assert_eq!(ias(&h.reply()).statuses, vec![(1, status::NO_ADDRS_AVAIL)]);
    }
    let s = client_msg(MessageType::Solicit, 2, vec![ia_na(1, &[])]);
    h.send(&s, &one_hop(), T0 + 610);
    assert_eq!(ias(&h.reply()).leases[0].1, key("2001:db8:1::1000", 128));
    assert_eq!(h.engine.counters().declined.get(), 1);
}

#[test]
fn confirm_says_whether_the_addresses_are_on_link() {
    let mut h = Harness::new();
    let c = client_msg(
        MessageType::Confirm,
        1,
        vec![ia_na(1, &["2001:db8:1::1000", "2001:db8:1::77"])],
    );
    assert_eq!(
        h.send(&c, &one_hop(), T0),
        Handled::Replied(MessageType::Reply)
    );
    assert_eq!(top_status(&h.reply()), Some(status::SUCCESS));
    let c = client_msg(
        MessageType::Confirm,
        1,
        vec![ia_na(1, &["2001:db8:1::1000", "2001:db8:2::10"])],
    );
    h.send(&c, &one_hop(), T0);
    assert_eq!(top_status(&h.reply()), Some(status::NOT_ON_LINK));
    let c = client_msg(MessageType::Confirm, 1, vec![ia_na(1, &[])]);
    assert_eq!(
        h.send(&c, &one_hop(), T0),
        Handled::Dropped(DropReason::NothingToConfirm)
    );
}

#[test]
fn leases_expire_and_are_reused_oldest_first() {
    let mut c = config();
    c.links[0].address_pools[0].last = a("2001:db8:1::1001");
    let mut h = Harness::with(c, Store::in_memory());
    sarr(&mut h, 1, vec![ia_na(1, &[])], &one_hop());
    sarr(&mut h, 2, vec![ia_na(1, &[])], &one_hop());
    h.engine.tick(T0 + 3600);
    assert_eq!(h.engine.counters().expired.get(), 0);
    h.engine.tick(T0 + 3601);
    h.store.sync().wait().unwrap();
    assert_eq!(h.engine.counters().expired.get(), 2);
    assert_eq!(
        h.store
            .v6()
            .get(key("2001:db8:1::1000", 128))
            .unwrap()
            .state,
        State6::Expired
    );
    let r = sarr_at(&mut h, 3, vec![ia_na(1, &[])], &one_hop(), T0 + 3700);
    assert_eq!(ias(&r).leases[0].1, key("2001:db8:1::1000", 128));
    let b = h.store.v6().get(key("2001:db8:1::1000", 128)).unwrap();
    assert_eq!(b.duid(), Some(&duid(3)[..]));
}

#[test]
fn solicits_are_dropped_while_the_store_fails() {
    let mut h = Harness::with(config(), Store::open(Box::new(Failing)).unwrap().0);
    let req = client_msg(
        MessageType::Request,
        1,
        vec![ia_na(1, &[]), sid(&SERVER_DUID)],
    );
    // A REQUEST is tried; its commit fails, and no REPLY leaves.
    assert_eq!(h.send(&req, &one_hop(), T0), Handled::Committing);
    let _ = h.store.sync().wait();
    assert!(std::mem::take(&mut *h.sink.0.lock().unwrap()).is_empty());
    assert_eq!(h.engine.counters().commit_failed.get(), 1);
    let s = client_msg(MessageType::Solicit, 1, vec![ia_na(1, &[])]);
    assert_eq!(
        h.send(&s, &one_hop(), T0 + 1),
        Handled::Dropped(DropReason::StoreFailing)
    );
}

#[test]
fn a_chain_too_long_for_the_store_is_left_out_and_counted() {
    let mut h = Harness::new();
    let id = vec![7u8; 250];
    let hops: Vec<(Ipv6Addr, Option<Vec<u8>>)> = (0..8)
        .map(|i| {
            (
                if i == 0 {
                    a("2001:db8:1::1")
                } else {
                    a("2001:db8::99")
                },
                Some(id.clone()),
            )
        })
        .collect();
    let way = Way::Relayed(hops);
    sarr(&mut h, 1, vec![ia_na(1, &[])], &way);
    let b = h.store.v6().get(key("2001:db8:1::1000", 128)).unwrap();
    assert_eq!(b.state, State6::Active);
    assert_eq!(b.relay_chain(), None);
    const { assert!(8 * (34 + 4 + 250) > MAX_RELAY_CHAIN) };
    assert_eq!(b.interface_id(), Some(&id[..]));
    assert_eq!(h.engine.counters().relay_chain_too_long.get(), 1);
}

#[test]
fn a_flooding_client_is_limited_and_its_relay_still_serves_others() {
    let mut h = Harness::new();
    h.engine.set_limits(Limits6 {
        per_client: 1,
        per_client_burst: 3,
        per_relay: 1000,
        per_relay_burst: 1000,
    });
    let s = client_msg(MessageType::Solicit, 1, vec![ia_na(1, &[])]);
    let mut dropped = 0;
    for _ in 0..10 {
        if h.send(&s, &one_hop(), T0) == Handled::Dropped(DropReason::RateLimitedClient) {
            dropped += 1;
        }
    }
    assert_eq!(dropped, 7);
    let s2 = client_msg(MessageType::Solicit, 2, vec![ia_na(1, &[])]);
    assert_eq!(
        h.send(&s2, &one_hop(), T0),
        Handled::Replied(MessageType::Advertise)
    );
}

#[test]
fn bindings_written_at_restart_are_not_handed_out_again() {
    let dir = std::env::temp_dir().join(format!("lessor-dhcp6-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let db = dir.join("leases.db");
    {
        let (store, _) = Store::open_sqlite(&db).unwrap();
        let mut h = Harness::with(config(), store);
        sarr(&mut h, 1, vec![ia_na(1, &[]), ia_pd(1)], &one_hop());
        // An advertisement is memory only.
        let s = client_msg(MessageType::Solicit, 2, vec![ia_na(1, &[])]);
        h.send(&s, &one_hop(), T0 + 2);
        h.replies();
        drop(h);
    }
    let (store, report) = Store::open_sqlite(&db).unwrap();
    assert_eq!(report.v6.loaded, 2);
    let mut h = Harness::with(config(), store);
    let r = sarr(&mut h, 3, vec![ia_na(1, &[]), ia_pd(1)], &one_hop());
    assert_eq!(
        ias(&r).leases.iter().map(|l| l.1).collect::<Vec<_>>(),
        vec![key("2001:db8:1::1001", 128), key("2001:db8:100:100::", 56)]
    );
    drop(h);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn preference_goes_in_every_advertise_and_refresh_time_only_to_information_requests() {
    let mut c = config();
    c.options.push(opt(7, &[255]));
    c.options.push(opt(32, &[0, 0, 0x0e, 0x10]));
    let mut h = Harness::with(c, Store::in_memory());
    let oro = DhcpOption::Oro(vec![7, 32, 23]);
    let s = client_msg(MessageType::Solicit, 1, vec![ia_na(1, &[])]);
    h.send(&s, &one_hop(), T0);
    let adv = h.reply();
    assert_eq!(
        other(&adv, 7),
        Some(vec![255]),
        "not asked for, sent all the same"
    );
    assert_eq!(other(&adv, 23), None);
    let r = sarr(&mut h, 2, vec![ia_na(1, &[]), oro.clone()], &one_hop());
    assert_eq!((other(&r, 7), other(&r, 32)), (None, None));
    assert!(other(&r, 23).is_some());
    let info = client_msg(MessageType::InformationRequest, 3, vec![oro]);
    h.send(&info, &one_hop(), T0);
    let r = h.reply();
    assert_eq!(other(&r, 32), Some(vec![0, 0, 0x0e, 0x10]));
    assert_eq!(other(&r, 7), None);
}

#[test]
fn a_message_that_is_not_a_clients_is_dropped() {
    let mut h = Harness::new();
    let lq = client_msg(MessageType::Leasequery, 1, vec![]);
    let m = crate::router6::Message6::new(
        &lq.to_vec(),
        SocketAddrV6::new(a(RELAY), 547, 0, 0),
        a(LISTEN),
        None,
    )
    .unwrap();
    assert_eq!(
        h.engine.handle(&m, T0).0,
        Handled::Dropped(DropReason::NotClientMessage)
    );
}

/// A backend whose commits wait until told to go on (a disk that stalls).
struct Gated(Arc<Mutex<Option<std::sync::mpsc::Receiver<()>>>>);

impl Backend for Gated {
    fn load(&mut self) -> Result<Loaded, StoreError> {
        Ok(Loaded::default())
    }
    fn apply(&mut self, _: &[Change]) -> Result<(), StoreError> {
        if let Some(rx) = &*self.0.lock().unwrap() {
            let _ = rx.recv_timeout(std::time::Duration::from_secs(10));
        }
        Ok(())
    }
}

#[test]
fn solicits_are_dropped_while_the_store_queue_is_long() {
    let gate = Arc::new(Mutex::new(None));
    let (go_on, rx) = std::sync::mpsc::channel();
    *gate.lock().unwrap() = Some(rx);
    let store = Store::open(Box::new(Gated(Arc::clone(&gate)))).unwrap().0;
    let mut h = Harness::with(config(), store);
    // A large batch the disk stalls under.
    let n = super::SOLICIT_BACKLOG as u128 + 1;
    h.store
        .v6()
        .write(lessor_store::Completion::none(), |batch| {
            for i in 0..n {
                let b = lessor_store::v6::binding::Binding6::new(
                    Ipv6Addr::from(u128::from(a("2001:db8:9::")) + i),
                    128,
                    IaType::Na,
                    &duid(200),
                    1,
                    "2001:db8:9::/64".parse().unwrap(),
                    State6::Expired,
                )
                .unwrap();
                batch.upsert(b);
            }
        });
    assert!(h.store.backlog() > super::SOLICIT_BACKLOG);
    let s = client_msg(MessageType::Solicit, 1, vec![ia_na(1, &[])]);
    assert_eq!(
        h.send(&s, &one_hop(), T0),
        Handled::Dropped(DropReason::StoreBacklog)
    );
    go_on.send(()).unwrap();
    *gate.lock().unwrap() = None;
    h.store.sync().wait().unwrap();
    assert_eq!(h.store.backlog(), 0);
    assert_eq!(
        h.send(&s, &one_hop(), T0),
        Handled::Replied(MessageType::Advertise)
    );
}

#[test]
fn a_quarantined_link_gives_only_what_has_a_loaded_binding_until_it_ends() {
    let mut h = Harness::new();
    sarr(&mut h, 1, vec![ia_na(1, &[])], &one_hop());
    let release = client_msg(
        MessageType::Release,
        1,
        vec![ia_na(1, &["2001:db8:1::1000"]), sid(&SERVER_DUID)],
    );
    h.send(&release, &one_hop(), T0 + 5);
    h.replies();
    h.engine.quarantine(&super::Quarantine6 {
        until: vec![Some(T0 + 3600), None],
        unreadable: 1,
    });
    // Client 2: the released address (a loaded binding) and nothing never-used.
    let r = sarr_at(
        &mut h,
        2,
        vec![ia_na(1, &[]), ia_pd(1)],
        &one_hop(),
        T0 + 10,
    );
    let got = ias(&r);
    assert_eq!(
        got.leases,
        vec![(1, key("2001:db8:1::1000", 128), 1800, 3600)]
    );
    assert_eq!(got.statuses, vec![(1, status::NO_PREFIX_AVAIL)]);
    // Nor a free address it hints at.
    let s = client_msg(
        MessageType::Solicit,
        3,
        vec![ia_na(1, &["2001:db8:1::1002"])],
    );
    h.send(&s, &one_hop(), T0 + 20);
    assert_eq!(ias(&h.reply()).statuses, vec![(1, status::NO_ADDRS_AVAIL)]);
    // The other link is not quarantined.
    let r = sarr_at(
        &mut h,
        4,
        vec![ia_na(1, &[])],
        &Way::Relayed(vec![(a("2001:db8:2::1"), None)]),
        T0 + 20,
    );
    assert_eq!(ias(&r).leases[0].1, key("2001:db8:2::10", 128));
    assert!(h.engine.quarantines_ended(T0 + 3599).is_empty());
    assert_eq!(
        h.engine.quarantines_ended(T0 + 3600),
        vec!["2001:db8:1::/64".parse::<ipnet::Ipv6Net>().unwrap()]
    );
    h.send(&s, &one_hop(), T0 + 3600);
    assert_eq!(ias(&h.reply()).leases[0].1, key("2001:db8:1::1002", 128));
}

#[test]
fn every_message_routed_to_the_engine_is_counted_once() {
    let mut h = Harness::new();
    sarr(&mut h, 1, vec![ia_na(1, &[]), ia_pd(2)], &one_hop());
    let renew = client_msg(
        MessageType::Renew,
        1,
        vec![ia_na(1, &["2001:db8:1::1000"]), sid(&SERVER_DUID)],
    );
    h.send(&renew, &one_hop(), T0 + 10);
    h.send(
        &client_msg(MessageType::Solicit, 2, vec![sid(&SERVER_DUID)]),
        &one_hop(),
        T0,
    );
    h.send(
        &client_msg(
            MessageType::Request,
            2,
            vec![ia_na(1, &[]), sid(&SERVER_DUID)],
        ),
        &Way::Unicast,
        T0,
    );
    h.send(
        &client_msg(MessageType::Confirm, 2, vec![ia_na(1, &["2001:db8:1::5"])]),
        &one_hop(),
        T0,
    );
    h.send(
        &client_msg(MessageType::InformationRequest, 2, vec![]),
        &one_hop(),
        T0,
    );
    let release = client_msg(
        MessageType::Release,
        1,
        vec![ia_na(1, &["2001:db8:1::1000"]), sid(&SERVER_DUID)],
    );
    h.send(&release, &one_hop(), T0 + 20);
    h.replies();
    let c = h.engine.counters();
    let handled = c.advertises.get()
        + c.replies.get()
        + c.replies_durable.get()
        + c.commit_failed.get()
        + c.commit_taken.get()
        + c.dropped_total();
    assert_eq!(h.router.counters().dhcp.get(), 8);
    assert_eq!(handled, 8, "{}", crate::stats::line(&**c));
}

#[test]
fn a_client_that_changed_its_iaid_gets_back_what_it_let_go() {
    let mut h = Harness::new();
    sarr(&mut h, 1, vec![ia_na(1, &[])], &one_hop());
    sarr(&mut h, 2, vec![ia_na(1, &[])], &one_hop());
    let release = client_msg(
        MessageType::Release,
        1,
        vec![ia_na(1, &["2001:db8:1::1000"]), sid(&SERVER_DUID)],
    );
    h.send(&release, &one_hop(), T0 + 5);
    h.replies();
    let r = sarr_at(&mut h, 1, vec![ia_na(7, &[])], &one_hop(), T0 + 10);
    assert_eq!(ias(&r).leases[0].1, key("2001:db8:1::1000", 128));
    let b = h.store.v6().get(key("2001:db8:1::1000", 128)).unwrap();
    assert_eq!((b.iaid, b.state), (7, State6::Active));
}

#[test]
fn the_configured_client_limit_is_the_engines() {
    let mut c = config();
    c.rate_limit.per_client = 1;
    c.rate_limit.per_client_burst = 2;
    let mut h = Harness::with(c, Store::in_memory());
    let s = client_msg(MessageType::Solicit, 1, vec![ia_na(1, &[])]);
    let limited = (0..5)
        .filter(|_| h.send(&s, &one_hop(), T0) == Handled::Dropped(DropReason::RateLimitedClient))
        .count();
    assert_eq!(limited, 3);
    // 0 turns the limit off.
    let mut c = config();
    c.rate_limit.per_client = 0;
    let mut h = Harness::with(c, Store::in_memory());
    assert!((0..50)
        .all(|_| h.send(&s, &one_hop(), T0) != Handled::Dropped(DropReason::RateLimitedClient)));
}

#[test]
fn a_reload_moves_a_pool_keeps_bindings_and_advertisements_and_gives_the_new_lifetimes() {
    let mut h = Harness::new();
    let r = sarr(&mut h, 1, vec![ia_na(1, &[])], &one_hop());
    assert_eq!(ias(&r).leases[0].1, key("2001:db8:1::1000", 128));
    // An advertisement made under the old config.
    let solicit = client_msg(MessageType::Solicit, 2, vec![ia_na(1, &[])]);
    h.send(&solicit, &one_hop(), T0);
    h.reply();
    assert_eq!(h.engine.outstanding_adverts(), 1);

    let mut next = config();
    next.links[0].address_pools[0].first = a("2001:db8:1::2000");
    next.links[0].address_pools[0].last = a("2001:db8:1::2003");
    next.links[0].lifetimes.valid = Seconds(7200);
    next.links[0].lifetimes.preferred = Seconds(3600);
    h.engine.reconfigure(&next);
    assert_eq!(h.engine.outstanding_adverts(), 1, "advertisements are kept");
    // The binding whose address left the pool stays until it expires.
    let b = h.store.v6().get(key("2001:db8:1::1000", 128)).unwrap();
    assert_eq!(b.valid_end, T0 + 1 + 3600);
    // Its RENEW: the address is no longer the server's to give, lifetimes 0 (RFC 8415
    // §18.3.4), as for any address not appropriate for the link.
    let renew = client_msg(
        MessageType::Renew,
        1,
        vec![ia_na(1, &["2001:db8:1::1000"]), sid(&SERVER_DUID)],
    );
    h.send(&renew, &one_hop(), T0 + 900);
    let got = ias(&h.reply());
    assert_eq!(
        got.leases[0],
        (1, key("2001:db8:1::1000", 128), 0, 0),
        "{got:?}"
    );
    // New clients get the new pool and lifetimes.
    let r = sarr_at(&mut h, 3, vec![ia_na(1, &[])], &one_hop(), T0 + 10);
    let got = ias(&r);
    assert_eq!(
        got.leases,
        vec![(1, key("2001:db8:1::2000", 128), 3600, 7200)]
    );
}

#[test]
fn a_request_whose_commit_another_server_took_gets_no_reply_and_is_counted() {
    let shared = lessor_store::SharedMemory::new();
    let open = |node: &str| Store::open(Box::new(shared.backend(node))).unwrap().0;
    let (mut a, mut b) = (
        Harness::with(config(), open("a")),
        Harness::with(config(), open("b")),
    );
    // B does not see A's binding before committing its own for the same address.
    shared.pause_follows(true);
    sarr(&mut a, 1, vec![ia_na(1, &[])], &one_hop());
    let taken: Vec<_> = a
        .store
        .v6()
        .snapshot()
        .iter()
        .map(|b| lessor_store::Record::key(&**b))
        .collect();
    assert_eq!(taken.len(), 1);
    let solicit = client_msg(MessageType::Solicit, 2, vec![ia_na(1, &[])]);
    b.send(&solicit, &one_hop(), T0);
    let _ = b.reply();
    let req = client_msg(
        MessageType::Request,
        2,
        vec![ia_na(1, &[]), sid(&SERVER_DUID)],
    );
    assert_eq!(b.send(&req, &one_hop(), T0 + 1), Handled::Committing);
    let _ = b.store.sync().wait();
    assert!(std::mem::take(&mut *b.sink.0.lock().unwrap()).is_empty());
    let c = b.engine.counters();
    assert_eq!((c.commit_taken.get(), c.commit_failed.get()), (1, 0));
    assert!(b.store.health().is_healthy());

    shared.pause_follows(false);
    let until = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while b
        .store
        .v6()
        .get(taken[0])
        .map(|x| x.duid().map(<[u8]>::to_vec))
        != a.store
            .v6()
            .get(taken[0])
            .map(|x| x.duid().map(<[u8]>::to_vec))
    {
        assert!(std::time::Instant::now() < until, "B never follows A");
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    // The retransmission is answered, from A's binding: client 2 does not get client 1's address.
    b.send(&req, &one_hop(), T0 + 3);
    let _ = b.reply();
    let held = b.store.v6().get(taken[0]).unwrap();
    assert_eq!(held.duid(), a.store.v6().get(taken[0]).unwrap().duid());
}
