//! A DHCPv6 client behind two relays and the server (router and engine as the I/O shell runs
//! them), over an in-memory network on virtual time: SOLICIT, REQUEST, RENEW and RELEASE go
//! out through both relays, each adding its RELAY-FORW with its own Interface-Id; every answer
//! comes back to the outer relay at port 547, each relay finds its own Interface-Id echoed
//! (RFC 8415 §19.3), takes its hop off and passes the rest down, and the client gets the
//! server's message.

use lessor_net::{Destination, Received};
use lessor_server::config::{AddressPool6, Dhcp6, Lifetimes6, Link6, Seconds, ServerDuid};
use lessor_server::dhcp6::{Engine6, Handled, Output};
use lessor_server::router6::{Route6, Router6};
use lessor_store::v6::binding::State6;
use lessor_store::Store;
use lessor_wire::v6::{
    status, ClientServerMessage, DhcpOption, Duid, MessageType, RelayMessage, Repr,
};
use std::net::{IpAddr, Ipv6Addr, SocketAddr};
use std::sync::{Arc, Mutex};

const T0: u64 = 1_800_000_000;
const SERVER_DUID: [u8; 10] = [0, 2, 0, 0, 0xab, 0x11, 1, 2, 3, 4];

fn a(s: &str) -> Ipv6Addr {
    s.parse().unwrap()
}

/// A relay agent: its address towards the server, the link-address it puts in its
/// RELAY-FORW, and its Interface-Id for the client side.
struct Relay {
    address: Ipv6Addr,
    link_address: Ipv6Addr,
    interface_id: &'static [u8],
}

impl Relay {
    /// RFC 8415 §19.1: a message from `peer` (a client, or the relay below) in a RELAY-FORW.
    fn forward(&self, msg: Vec<u8>, peer: Ipv6Addr) -> Vec<u8> {
        let inner = Repr::from_bytes(&msg).unwrap();
        let hop_count = match &inner {
            Repr::Relay(r) => r.hop_count + 1,
            Repr::ClientServer(_) => 0,
        };
        Repr::Relay(RelayMessage {
            msg_type: MessageType::RelayForw,
            hop_count,
            link_address: self.link_address,
            peer_address: peer,
            options: vec![
                DhcpOption::InterfaceId(self.interface_id.to_vec()),
                DhcpOption::RelayMsg(Box::new(inner)),
            ],
        })
        .to_vec()
    }

    /// RFC 8415 §19.2: a RELAY-REPL for this relay: its Interface-Id must be echoed; the
    /// message inside goes to the peer-address.
    fn reply(&self, msg: &[u8]) -> (Vec<u8>, Ipv6Addr) {
        let Repr::Relay(r) = Repr::from_bytes(msg).unwrap() else {
            panic!("not a relay message");
        };
        assert_eq!(r.msg_type, MessageType::RelayRepl);
        assert!(
            r.options
                .contains(&DhcpOption::InterfaceId(self.interface_id.to_vec())),
            "{} did not get its Interface-Id back",
            self.address
        );
        (r.relay_message().unwrap().to_vec(), r.peer_address)
    }
}

/// Answers the server sent (at once or once durable), with where they went.
type Sent = Arc<Mutex<Vec<(Vec<u8>, Destination)>>>;

struct Net {
    client: Ipv6Addr,
    inner: Relay,
    outer: Relay,
    router: Router6,
    engine: Engine6,
    store: Arc<Store>,
    sent: Sent,
}

impl Net {
    fn new() -> Net {
        let config = Dhcp6 {
            server_duid: ServerDuid::Configured(SERVER_DUID.to_vec()),
            listen: vec![a("2001:db8::1")],
            interfaces: vec![],
            port: 547,
            rapid_commit: false,
            decline_probation: Seconds(3600),
            receive_threads: None,
            segment_replies: false,
            rate_limit: Default::default(),
            options: vec![],
            links: vec![Link6 {
                prefix: "2001:db8:1::/64".parse().unwrap(),
                interface_ids: vec![],
                interface: None,
                lifetimes: Lifetimes6 {
                    preferred: Seconds(1800),
                    valid: Seconds(3600),
                    renew_time: Seconds(900),
                    rebind_time: Seconds(1440),
                },
                address_pools: vec![AddressPool6 {
                    first: a("2001:db8:1::100"),
                    last: a("2001:db8:1::1ff"),
                    options: vec![],
                }],
                prefix_pools: vec![],
                reservations: vec![],
                options: vec![],
            }],
        };
        let store = Arc::new(Store::in_memory());
        let engine = Engine6::new(&config, Arc::clone(&store), vec![], SERVER_DUID.to_vec());
        Net {
            client: a("fe80::c1"),
            // The access relay on the client's link; the aggregation relay leaves its
            // link-address unspecified.
            inner: Relay {
                address: a("2001:db8:1::1"),
                link_address: a("2001:db8:1::1"),
                interface_id: b"access-7",
            },
            outer: Relay {
                address: a("2001:db8:ff::1"),
                link_address: Ipv6Addr::UNSPECIFIED,
                interface_id: b"agg-3",
            },
            router: Router6::new(),
            engine,
            store,
            sent: Arc::new(Mutex::new(Vec::new())),
        }
    }

    /// The client's `msg` through both relays to the server at `now`; what the client gets
    /// back.
    fn exchange(&mut self, msg: Repr, now: u64) -> (Handled, Option<ClientServerMessage>) {
        let up = self.outer.forward(
            self.inner.forward(msg.to_vec(), self.client),
            self.inner.address,
        );
        let rx = Received {
            payload: &up,
            source: SocketAddr::from((self.outer.address, 547)),
            destination: IpAddr::V6(a("2001:db8::1")),
            interface_index: None,
        };
        let Route6::Dhcp(m) = self.router.route(&rx) else {
            panic!("not routed to the engine");
        };
        let (handled, output) = self.engine.handle(&m, now);
        match output {
            Output::Nothing => {}
            Output::Now(o) => self.sent.lock().unwrap().push((o.payload, o.destination)),
            Output::WhenDurable(o, durable, _) => {
                let sent = Arc::clone(&self.sent);
                durable.on_durable(move |r| {
                    if r.is_ok() {
                        sent.lock().unwrap().push((o.payload, o.destination));
                    }
                });
            }
        }
        self.store.sync().wait().unwrap();
        let Some((down, to)) = self.sent.lock().unwrap().pop() else {
            return (handled, None);
        };
        assert_eq!(
            to,
            Destination::Relay(SocketAddr::from((self.outer.address, 547)))
        );
        let (to_inner, peer) = self.outer.reply(&down);
        assert_eq!(peer, self.inner.address);
        let (to_client, peer) = self.inner.reply(&to_inner);
        assert_eq!(peer, self.client);
        let Repr::ClientServer(m) = Repr::from_bytes(&to_client).unwrap() else {
            panic!("the client got a relay message");
        };
        (handled, Some(m))
    }
}

fn client(t: MessageType, ia: Vec<DhcpOption>, server: bool) -> Repr {
    let mut options = vec![DhcpOption::ClientId(Duid::Ll {
        hardware_type: 1,
        link_layer_address: vec![2, 0, 0, 0, 0, 1],
    })];
    if server {
        options.push(DhcpOption::ServerId(Duid::parse(&SERVER_DUID).unwrap()));
    }
    options.push(DhcpOption::IaNa {
        iaid: 1,
        t1: 0,
        t2: 0,
        options: ia,
    });
    Repr::ClientServer(ClientServerMessage {
        msg_type: t,
        transaction_id: 42,
        options,
    })
}

fn leased(m: &ClientServerMessage) -> Vec<DhcpOption> {
    m.options
        .iter()
        .filter_map(|o| match o {
            DhcpOption::IaNa { options, .. } => Some(options.clone()),
            _ => None,
        })
        .flatten()
        .collect()
}

#[test]
fn a_client_behind_two_relays_solicits_requests_renews_and_releases() {
    let mut net = Net::new();
    let (h, adv) = net.exchange(client(MessageType::Solicit, vec![], false), T0);
    assert_eq!(h, Handled::Replied(MessageType::Advertise));
    let adv = adv.unwrap();
    assert_eq!(adv.transaction_id, 42);
    let ia = leased(&adv);
    let address = match &ia[0] {
        DhcpOption::IaAddr { address, .. } => *address,
        other => panic!("{other:?}"),
    };
    // The innermost relay's link-address chose the link.
    assert_eq!(address, a("2001:db8:1::100"));

    let (h, reply) = net.exchange(client(MessageType::Request, ia.clone(), true), T0 + 1);
    assert_eq!(h, Handled::Committing);
    assert_eq!(leased(&reply.unwrap()), ia);
    let b = net
        .store
        .v6()
        .get(lessor_store::v6::binding::Key6::address_key(address))
        .unwrap();
    assert_eq!(b.state, State6::Active);
    assert_eq!(b.relay_peer, Some(net.outer.address));
    assert_eq!(
        b.interface_id(),
        Some(&b"access-7"[..]),
        "the hop nearest the client"
    );
    let chain = Repr::from_bytes(b.relay_chain().unwrap()).unwrap();
    assert_eq!(chain.relay_hops().len(), 2);
    assert!(chain.client_message().is_none());

    let (h, reply) = net.exchange(client(MessageType::Renew, ia.clone(), true), T0 + 900);
    assert_eq!(h, Handled::Committing);
    assert_eq!(leased(&reply.unwrap()), ia);
    assert_eq!(
        net.store
            .v6()
            .get(lessor_store::v6::binding::Key6::address_key(address))
            .unwrap()
            .valid_end,
        T0 + 900 + 3600
    );

    let (h, reply) = net.exchange(client(MessageType::Release, ia, true), T0 + 1000);
    assert_eq!(h, Handled::Committing);
    let reply = reply.unwrap();
    assert!(reply
        .options
        .iter()
        .any(|o| matches!(o, DhcpOption::StatusCode { code, .. } if *code == status::SUCCESS)));
    assert_eq!(
        net.store
            .v6()
            .get(lessor_store::v6::binding::Key6::address_key(address))
            .unwrap()
            .state,
        State6::Released
    );
    assert_eq!(net.router.counters().relayed(MessageType::Solicit), 1);
}
