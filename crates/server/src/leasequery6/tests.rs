//! Sans-IO tests of the DHCPv6 leasequery responder: the configuration parsed from TOML,
//! bindings written through the store's v6 front and waited for (durable), queries built as
//! Scapy or a relay would send them and routed by [`Message6::new`], replies decoded and
//! unwrapped from their relay chain.

use super::*;
use crate::config::parse;
use lessor_store::v6::binding::{Binding6, IaType, State6};
use lessor_store::{Backend, Change, Completion, Loaded, StoreError};
use lessor_wire::v6::{
    ClientServerMessage, DhcpOption, Duid, QueryType, RelayMessage, Repr, OPTION_LQ_RELAY_DATA,
};
use std::sync::mpsc;

const T0: u64 = 1_800_000_000;
const SERVER_DUID: [u8; 10] = [0, 2, 0, 0, 0xab, 0x11, 1, 2, 3, 4];
const REQUESTER: &str = "2001:db8:ff::5";
const RELAY: &str = "2001:db8:ff::1";

const CONFIG: &str = r#"
[dhcp6]
server-duid = "00:02:00:00:ab:11:01:02:03:04"
listen = ["2001:db8::1"]
options = { dns-servers = ["2001:db8::53"] }

[[dhcp6.link]]
prefix = "2001:db8:1::/64"
pools = ["2001:db8:1::1000-2001:db8:1::1fff"]
prefix-pools = [{ prefix = "2001:db8:100::/48", delegated-length = 56 }]
options = { domain-list = ["example.net"] }

[[dhcp6.link]]
prefix = "2001:db8:2::/64"
pools = ["2001:db8:2::100-2001:db8:2::1ff"]

[leasequery6]
requesters = ["2001:db8:ff::/64"]
"#;

fn a(s: &str) -> Ipv6Addr {
    s.parse().unwrap()
}

/// Client `n`'s DUID (DUID-LL).
fn duid(n: u8) -> Vec<u8> {
    vec![0, 3, 0, 1, 2, 0, 0, 0, 0, n]
}

struct Harness {
    store: Arc<Store>,
    responder: Responder6,
}

impl Harness {
    fn new() -> Harness {
        Harness::with("")
    }

    /// The config with `extra` keys added to `[leasequery6]`.
    fn with(extra: &str) -> Harness {
        Harness::on(Arc::new(Store::in_memory()), extra)
    }

    fn on(store: Arc<Store>, extra: &str) -> Harness {
        let text = format!("{CONFIG}{extra}\n");
        let config = parse(&text, "t.toml").expect("test config");
        let responder = Responder6::new(&config, Arc::clone(&store), SERVER_DUID.to_vec());
        Harness { store, responder }
    }

    /// Writes `b` and waits until it is durable.
    fn bind(&self, b: Binding6) {
        let (done, ticket) = Completion::ticket();
        self.store.v6().upsert(b, done);
        ticket.wait().unwrap();
    }

    /// An active binding of client `n` on `link`, made at `cltt`, valid 3600 s from T0.
    fn lease(&self, n: u8, address: &str, len: u8, link: &str, cltt: u64) -> Binding6 {
        let ia_type = if len == 128 { IaType::Na } else { IaType::Pd };
        let b = Binding6::new(
            a(address),
            len,
            ia_type,
            &duid(n),
            1,
            link.parse().unwrap(),
            State6::Active,
        )
        .unwrap()
        .with_times(T0, T0 + 1800, T0 + 3600, T0 + 900, T0 + 1440, cltt);
        self.bind(b.clone());
        b
    }

    fn ask(&self, msg: &Message6, now: u64) -> Option<Outgoing> {
        self.responder.handle(msg, now, now * 1000)
    }

    /// The LEASEQUERY-REPLY to `msg` at `now`, unwrapped from its relay chain.
    fn reply(&self, msg: &Message6, now: u64) -> ClientServerMessage {
        let out = self.ask(msg, now).expect("a reply");
        match Repr::from_bytes(&out.payload).unwrap().innermost() {
            Repr::ClientServer(m) => m.clone(),
            other => panic!("not a reply: {other:?}"),
        }
    }
}

fn lq(query_type: QueryType, link: &str, options: Vec<DhcpOption>) -> DhcpOption {
    DhcpOption::LqQuery {
        query_type,
        link_address: a(link),
        options,
    }
}

fn iaaddr(address: &str) -> DhcpOption {
    DhcpOption::IaAddr {
        address: a(address),
        preferred_lifetime: 0,
        valid_lifetime: 0,
        options: vec![],
    }
}

fn client_id(d: &[u8]) -> DhcpOption {
    DhcpOption::ClientId(Duid::parse(d).unwrap())
}

/// A LEASEQUERY from the requester (its DUID is client 200's) with `options`.
fn leasequery(options: Vec<DhcpOption>) -> Repr {
    Repr::ClientServer(ClientServerMessage {
        msg_type: MessageType::Leasequery,
        transaction_id: 0x123456,
        options,
    })
}

fn by_address(address: &str, link: &str, oro: &[u16]) -> Repr {
    let mut q = vec![iaaddr(address)];
    if !oro.is_empty() {
        q.push(DhcpOption::Oro(oro.to_vec()));
    }
    leasequery(vec![
        client_id(&duid(200)),
        lq(QueryType::ByAddress, link, q),
    ])
}

fn by_client(n: u8, link: &str, oro: &[u16]) -> Repr {
    let mut q = vec![client_id(&duid(n))];
    if !oro.is_empty() {
        q.push(DhcpOption::Oro(oro.to_vec()));
    }
    leasequery(vec![
        client_id(&duid(200)),
        lq(QueryType::ByClientId, link, q),
    ])
}

/// Sent straight from `from`, port 40000.
fn direct_from(m: &Repr, from: &str) -> Message6 {
    Message6::new(
        &m.to_vec(),
        SocketAddrV6::new(a(from), 40000, 0, 0),
        a("2001:db8::1"),
        None,
    )
    .expect("routable")
}

fn direct(m: &Repr) -> Message6 {
    direct_from(m, REQUESTER)
}

/// Relayed once: `peer` (the requester) behind the relay at [`RELAY`].
fn relayed(m: &Repr, peer: &str) -> Message6 {
    let r = Repr::Relay(RelayMessage {
        msg_type: MessageType::RelayForw,
        hop_count: 0,
        link_address: a("2001:db8:ff::1"),
        peer_address: a(peer),
        options: vec![
            DhcpOption::InterfaceId(b"eth9".to_vec()),
            DhcpOption::RelayMsg(Box::new(m.clone())),
        ],
    });
    Message6::new(
        &r.to_vec(),
        SocketAddrV6::new(a(RELAY), 547, 0, 0),
        a("2001:db8::1"),
        None,
    )
    .expect("routable")
}

fn status_of(m: &ClientServerMessage) -> Option<u16> {
    m.options.iter().find_map(|o| match o {
        DhcpOption::StatusCode { code, .. } => Some(*code),
        _ => None,
    })
}

fn client_data(m: &ClientServerMessage) -> Option<&Vec<DhcpOption>> {
    m.options.iter().find_map(|o| match o {
        DhcpOption::ClientData(v) => Some(v),
        _ => None,
    })
}

/// The addresses and prefixes of client data, as (address, length, preferred, valid).
fn leases(data: &[DhcpOption]) -> Vec<(Ipv6Addr, u8, u32, u32)> {
    data.iter()
        .filter_map(|o| match o {
            DhcpOption::IaAddr {
                address,
                preferred_lifetime,
                valid_lifetime,
                ..
            } => Some((*address, 128, *preferred_lifetime, *valid_lifetime)),
            DhcpOption::IaPrefix {
                prefix,
                prefix_length,
                preferred_lifetime,
                valid_lifetime,
                ..
            } => Some((
                *prefix,
                *prefix_length,
                *preferred_lifetime,
                *valid_lifetime,
            )),
            _ => None,
        })
        .collect()
}

fn clt_time(data: &[DhcpOption]) -> Option<u32> {
    data.iter().find_map(|o| match o {
        DhcpOption::CltTime(t) => Some(*t),
        _ => None,
    })
}

fn has(data: &[DhcpOption], code: u16) -> bool {
    data.iter().any(|o| o.code() == code)
}

#[test]
fn section_4_2_1_discards() {
    let h = Harness::new();
    h.lease(1, "2001:db8:1::1000", 128, "2001:db8:1::/64", T0);
    let query = lq(QueryType::ByAddress, "::", vec![iaaddr("2001:db8:1::1000")]);
    // No CLIENTID.
    assert!(h
        .ask(&direct(&leasequery(vec![query.clone()])), T0)
        .is_none());
    // A SERVERID that is not ours.
    let foreign = DhcpOption::ServerId(Duid::parse(&[0, 2, 0, 0, 0xab, 0x11, 9, 9, 9, 9]).unwrap());
    let m = leasequery(vec![client_id(&duid(200)), foreign, query.clone()]);
    assert!(h.ask(&direct(&m), T0).is_none());
    // No LQ_QUERY.
    assert!(h
        .ask(&direct(&leasequery(vec![client_id(&duid(200))])), T0)
        .is_none());
    let c = h.responder.counters();
    assert_eq!(c.dropped(DropReason::NoClientId), 1);
    assert_eq!(c.dropped(DropReason::ForeignServerId), 1);
    assert_eq!(c.dropped(DropReason::NoQuery), 1);
    // Our own SERVERID is answered (§4.2.1 discards only a foreign one; decision 23).
    let ours = DhcpOption::ServerId(Duid::parse(&SERVER_DUID).unwrap());
    let m = leasequery(vec![client_id(&duid(200)), ours, query]);
    let r = h.reply(&direct(&m), T0);
    assert!(client_data(&r).is_some());
    // Active leasequery is TCP's.
    let mut active = by_address("2001:db8:1::1000", "::", &[]);
    if let Repr::ClientServer(m) = &mut active {
        m.msg_type = MessageType::ActiveLeasequery;
    }
    assert!(h.ask(&direct(&active), T0).is_none());
    assert_eq!(c.dropped(DropReason::UnsupportedType), 1);
    assert_eq!(c.received.get(), 5);
}

#[test]
fn a_reply_echoes_the_requester_and_names_the_server() {
    let h = Harness::new();
    h.lease(1, "2001:db8:1::1000", 128, "2001:db8:1::/64", T0);
    let r = h.reply(&direct(&by_address("2001:db8:1::1000", "::", &[])), T0);
    assert_eq!(r.msg_type, MessageType::LeasequeryReply);
    assert_eq!(r.transaction_id, 0x123456);
    assert_eq!(r.options[0], client_id(&duid(200)));
    assert_eq!(
        r.options[1],
        DhcpOption::ServerId(Duid::parse(&SERVER_DUID).unwrap())
    );
    // Success is said by leaving the status out (RFC 8415 §21.13).
    assert_eq!(status_of(&r), None);
}

#[test]
fn requesters_outside_the_list_are_discarded_or_told_not_allowed() {
    let h = Harness::new();
    h.lease(1, "2001:db8:1::1000", 128, "2001:db8:1::/64", T0);
    let q = by_address("2001:db8:1::1000", "::", &[]);
    assert!(h.ask(&direct_from(&q, "2001:db8:77::5"), T0).is_none());
    // Relayed: the relay is allowed, the requester behind it is not.
    assert!(h.ask(&relayed(&q, "2001:db8:77::5"), T0).is_none());
    assert_eq!(h.responder.counters().dropped(DropReason::NotAllowed), 2);
    // A malformed message is discarded before the allow-list is looked at.
    let h = Harness::with("not-allowed = \"not-allowed\"");
    h.lease(1, "2001:db8:1::1000", 128, "2001:db8:1::/64", T0);
    let r = h.reply(&direct_from(&q, "2001:db8:77::5"), T0);
    assert_eq!(status_of(&r), Some(status::NOT_ALLOWED));
    assert!(client_data(&r).is_none());
    let r = h.reply(&relayed(&q, "2001:db8:77::5"), T0);
    assert_eq!(status_of(&r), Some(status::NOT_ALLOWED));
    assert!(h
        .ask(
            &direct_from(&leasequery(vec![client_id(&duid(200))]), "2001:db8:77::5"),
            T0
        )
        .is_none());
    assert_eq!(h.responder.counters().not_allowed.get(), 2);
    // Nobody is answered without requesters.
    let config = parse(
        &CONFIG.replace("[leasequery6]\nrequesters = [\"2001:db8:ff::/64\"]\n", ""),
        "t.toml",
    )
    .unwrap();
    assert!(config.leasequery6.is_none());
    let r = Responder6::new(&config, Arc::new(Store::in_memory()), SERVER_DUID.to_vec());
    assert!(r.handle(&direct(&q), T0, 0).is_none());
}

#[test]
fn rate_limits_apply_per_requester() {
    // 1 per second, 60 seconds deep.
    let h = Harness::with("rate-limit = { per-requester = 1, total = 1000 }");
    let q = direct(&by_address("2001:db8:1::1000", "::", &[]));
    for n in 0..60 {
        assert!(h.responder.handle(&q, T0, 5).is_some(), "query {n}");
    }
    assert!(h.responder.handle(&q, T0, 5).is_none());
    assert_eq!(
        h.responder
            .counters()
            .dropped(DropReason::RateLimitedRequester),
        1
    );
    // Another requester has its own bucket; a second later the first has one token.
    assert!(h
        .responder
        .handle(
            &direct_from(&by_address("::1", "::", &[]), "2001:db8:ff::6"),
            T0,
            5
        )
        .is_some());
    assert!(h.responder.handle(&q, T0, 1_005).is_some());
    let report = h.responder.take_drop_report(10_000).expect("a report");
    assert_eq!(report.dropped(DropReason::RateLimitedRequester), 1);
}

#[test]
fn unknown_query_type_then_malformed_query_then_not_configured() {
    let h = Harness::new();
    for t in [
        QueryType::ByRelayId,
        QueryType::ByLinkAddress,
        QueryType::ByRemoteId,
        QueryType::Unknown(77),
    ] {
        let m = leasequery(vec![client_id(&duid(200)), lq(t, "::", vec![])]);
        assert_eq!(
            status_of(&h.reply(&direct(&m), T0)),
            Some(status::UNKNOWN_QUERY_TYPE),
            "{t:?}"
        );
    }
    // A required option missing: MalformedQuery, even with an unconfigured link-address.
    let m = leasequery(vec![
        client_id(&duid(200)),
        lq(
            QueryType::ByAddress,
            "2001:db8:99::1",
            vec![client_id(&duid(1))],
        ),
    ]);
    assert_eq!(
        status_of(&h.reply(&direct(&m), T0)),
        Some(status::MALFORMED_QUERY)
    );
    let m = leasequery(vec![
        client_id(&duid(200)),
        lq(QueryType::ByClientId, "::", vec![iaaddr("2001:db8:1::1")]),
    ]);
    assert_eq!(
        status_of(&h.reply(&direct(&m), T0)),
        Some(status::MALFORMED_QUERY)
    );
    // A link-address no link holds; an address on no link.
    let r = h.reply(
        &direct(&by_address("2001:db8:1::1000", "2001:db8:99::1", &[])),
        T0,
    );
    assert_eq!(status_of(&r), Some(status::NOT_CONFIGURED));
    let r = h.reply(&direct(&by_client(1, "2001:db8:99::1", &[])), T0);
    assert_eq!(status_of(&r), Some(status::NOT_CONFIGURED));
    let r = h.reply(&direct(&by_address("2001:db8:99::1", "::", &[])), T0);
    assert_eq!(status_of(&r), Some(status::NOT_CONFIGURED));
    let c = h.responder.counters();
    assert_eq!(c.unknown_query_type.get(), 4);
    assert_eq!(c.malformed_query.get(), 2);
    assert_eq!(c.not_configured.get(), 3);
}

#[test]
fn query_by_address_returns_all_of_the_clients_bindings_on_the_link() {
    let h = Harness::new();
    h.lease(1, "2001:db8:1::1000", 128, "2001:db8:1::/64", T0 + 10);
    h.lease(1, "2001:db8:100::", 56, "2001:db8:1::/64", T0 + 20);
    // Another client, and client 1 on another link: neither is in the answer.
    h.lease(2, "2001:db8:1::1001", 128, "2001:db8:1::/64", T0);
    h.lease(1, "2001:db8:2::100", 128, "2001:db8:2::/64", T0 + 30);
    let now = T0 + 100;
    let r = h.reply(&direct(&by_address("2001:db8:1::1000", "::", &[])), now);
    let data = client_data(&r).expect("client data");
    assert_eq!(data[0], client_id(&duid(1)));
    // Most recent first, lifetimes left at now.
    assert_eq!(
        leases(data),
        vec![
            (a("2001:db8:100::"), 56, 1700, 3500),
            (a("2001:db8:1::1000"), 128, 1700, 3500),
        ]
    );
    // Relative: seconds since the most recent transaction on that link (§4.1.2.3).
    assert_eq!(clt_time(data), Some(80));
    // An address inside the delegated prefix finds the same client.
    let inside = h.reply(&direct(&by_address("2001:db8:100:0:1::7", "::", &[])), now);
    assert_eq!(client_data(&inside), Some(data));
    // The link-address is honoured: on that link, the same; on the other link, nothing.
    let on = h.reply(
        &direct(&by_address("2001:db8:1::1000", "2001:db8:1::1", &[])),
        now,
    );
    assert_eq!(client_data(&on), Some(data));
    let off = h.reply(
        &direct(&by_address("2001:db8:1::1000", "2001:db8:2::1", &[])),
        now,
    );
    assert_eq!(client_data(&off), None);
    assert_eq!(status_of(&off), None);
    // An address of a configured link nobody holds: an empty reply.
    let none = h.reply(&direct(&by_address("2001:db8:1::1fff", "::", &[])), now);
    assert!(client_data(&none).is_none());
    assert_eq!(status_of(&none), None);
    assert_eq!(h.responder.counters().by_address.get(), 5);
}

#[test]
fn only_bindings_with_a_valid_lifetime_left_are_reported() {
    let h = Harness::new();
    h.lease(1, "2001:db8:1::1000", 128, "2001:db8:1::/64", T0);
    let mut released = Binding6::new(
        a("2001:db8:1::1002"),
        128,
        IaType::Na,
        &duid(1),
        1,
        "2001:db8:1::/64".parse().unwrap(),
        State6::Released,
    )
    .unwrap()
    .with_times(T0, T0 + 1800, T0 + 3600, 0, 0, T0);
    released.iaid = 2;
    h.bind(released);
    let r = h.reply(&direct(&by_client(1, "::", &[])), T0 + 1);
    assert_eq!(leases(client_data(&r).unwrap()).len(), 1);
    // The released address answers nothing; nor does anything once the lease has run out.
    let r = h.reply(&direct(&by_address("2001:db8:1::1002", "::", &[])), T0 + 1);
    assert!(client_data(&r).is_none());
    let r = h.reply(
        &direct(&by_address("2001:db8:1::1000", "::", &[])),
        T0 + 3600,
    );
    assert!(client_data(&r).is_none());
}

#[test]
fn only_durable_bindings_are_reported() {
    /// A backend whose commits wait for a go.
    struct Gated(mpsc::Receiver<()>);
    impl Backend for Gated {
        fn load(&mut self) -> Result<Loaded, StoreError> {
            Ok(Loaded::default())
        }
        fn apply(&mut self, _: &[Change]) -> Result<(), StoreError> {
            let _ = self.0.recv();
            Ok(())
        }
    }
    let (go, gate) = mpsc::channel();
    let (store, _) = Store::open(Box::new(Gated(gate))).unwrap();
    let h = Harness::on(Arc::new(store), "");
    let b = Binding6::new(
        a("2001:db8:1::1000"),
        128,
        IaType::Na,
        &duid(1),
        1,
        "2001:db8:1::/64".parse().unwrap(),
        State6::Active,
    )
    .unwrap()
    .with_times(T0, T0 + 1800, T0 + 3600, 0, 0, T0);
    let (done, ticket) = Completion::ticket();
    h.store.v6().upsert(b, done);
    let q = direct(&by_address("2001:db8:1::1000", "::", &[]));
    assert!(client_data(&h.reply(&q, T0)).is_none());
    go.send(()).unwrap();
    ticket.wait().unwrap();
    assert!(client_data(&h.reply(&q, T0)).is_some());
}

#[test]
fn query_by_client_id_on_one_link_or_several() {
    let h = Harness::new();
    h.lease(1, "2001:db8:1::1000", 128, "2001:db8:1::/64", T0);
    h.lease(2, "2001:db8:1::1001", 128, "2001:db8:1::/64", T0);
    h.lease(2, "2001:db8:2::100", 128, "2001:db8:2::/64", T0 + 5);
    let now = T0 + 10;
    // On one link: its data, link-address :: or that link.
    for link in ["::", "2001:db8:1::1"] {
        let r = h.reply(&direct(&by_client(1, link, &[])), now);
        let data = client_data(&r).expect("client data");
        assert_eq!(leases(data), vec![(a("2001:db8:1::1000"), 128, 1790, 3590)]);
        assert_eq!(clt_time(data), Some(10));
    }
    // On two links with ::: the links, no client data (§4.4.1).
    let r = h.reply(&direct(&by_client(2, "::", &[])), now);
    assert!(client_data(&r).is_none());
    assert!(r.options.contains(&DhcpOption::LqClientLink(vec![
        a("2001:db8:1::"),
        a("2001:db8:2::")
    ])));
    // Asked again per link, as the requestor does.
    let r = h.reply(&direct(&by_client(2, "2001:db8:2::", &[])), now);
    assert_eq!(
        leases(client_data(&r).unwrap()),
        vec![(a("2001:db8:2::100"), 128, 1790, 3590)]
    );
    // Unknown client, or not on the given link: an empty reply.
    assert!(client_data(&h.reply(&direct(&by_client(7, "::", &[])), now)).is_none());
    assert!(client_data(&h.reply(&direct(&by_client(1, "2001:db8:2::1", &[])), now)).is_none());
    let c = h.responder.counters();
    assert_eq!(c.client_link.get(), 1);
    assert_eq!(c.no_data.get(), 2);
}

#[test]
fn requested_options_unless_sensitive() {
    let h = Harness::new();
    h.lease(1, "2001:db8:1::1000", 128, "2001:db8:1::/64", T0);
    // 23 from [dhcp6], 24 from the link, 31 configured nowhere.
    let r = h.reply(
        &direct(&by_address("2001:db8:1::1000", "::", &[23, 24, 31])),
        T0,
    );
    let data = client_data(&r).unwrap();
    assert!(has(data, 23) && has(data, 24) && !has(data, 31));
    // Without an ORO inside LQ_QUERY none; the message's own ORO does not count (§4.1.2.1).
    let mut m = by_address("2001:db8:1::1000", "::", &[]);
    m.options_mut().push(DhcpOption::Oro(vec![23]));
    let data = client_data(&h.reply(&direct(&m), T0)).unwrap().clone();
    assert!(!has(&data, 23));
    let h2 = Harness::on(Arc::clone(&h.store), "sensitive-options = [23]");
    let r = h2.reply(
        &direct(&by_address("2001:db8:1::1000", "::", &[23, 24])),
        T0,
    );
    let data = client_data(&r).unwrap();
    assert!(!has(data, 23) && has(data, 24));
}

#[test]
fn relay_data_when_asked_and_known() {
    let h = Harness::new();
    let chain = Repr::Relay(RelayMessage {
        msg_type: MessageType::RelayForw,
        hop_count: 0,
        link_address: a("2001:db8:1::1"),
        peer_address: a("fe80::2"),
        options: vec![DhcpOption::InterfaceId(b"port7".to_vec())],
    });
    let mut b = Binding6::new(
        a("2001:db8:1::1000"),
        128,
        IaType::Na,
        &duid(1),
        1,
        "2001:db8:1::/64".parse().unwrap(),
        State6::Active,
    )
    .unwrap()
    .with_times(T0, T0 + 1800, T0 + 3600, 0, 0, T0)
    .with_relay_chain(&chain.to_vec())
    .unwrap();
    b.relay_peer = Some(a("2001:db8:1::1"));
    h.bind(b);
    h.lease(2, "2001:db8:1::1001", 128, "2001:db8:1::/64", T0);
    let asked = h.reply(
        &direct(&by_address(
            "2001:db8:1::1000",
            "::",
            &[OPTION_LQ_RELAY_DATA],
        )),
        T0,
    );
    let data = client_data(&asked).unwrap();
    assert!(data.contains(&DhcpOption::LqRelayData {
        peer_address: a("2001:db8:1::1"),
        relay_message: Box::new(chain),
    }));
    // Not asked: not sent (§4.1.2.4 SHOULD); a direct client has none; sensitive: never.
    let r = h.reply(&direct(&by_address("2001:db8:1::1000", "::", &[])), T0);
    assert!(!has(client_data(&r).unwrap(), OPTION_LQ_RELAY_DATA));
    let r = h.reply(
        &direct(&by_address(
            "2001:db8:1::1001",
            "::",
            &[OPTION_LQ_RELAY_DATA],
        )),
        T0,
    );
    assert!(!has(client_data(&r).unwrap(), OPTION_LQ_RELAY_DATA));
    let h2 = Harness::on(Arc::clone(&h.store), "sensitive-options = [47]");
    let r = h2.reply(
        &direct(&by_address(
            "2001:db8:1::1000",
            "::",
            &[OPTION_LQ_RELAY_DATA],
        )),
        T0,
    );
    assert!(!has(client_data(&r).unwrap(), OPTION_LQ_RELAY_DATA));
}

#[test]
fn direct_replies_go_to_the_source_address_and_port() {
    let h = Harness::new();
    let out = h
        .ask(&direct(&by_address("2001:db8:1::1000", "::", &[])), T0)
        .unwrap();
    assert_eq!(
        out.destination,
        Destination::Relay("[2001:db8:ff::5]:40000".parse().unwrap())
    );
    assert_eq!(h.responder.counters().relayed.get(), 0);
}

#[test]
fn relayed_queries_are_answered_through_the_chain_or_discarded() {
    let h = Harness::new();
    h.lease(1, "2001:db8:1::1000", 128, "2001:db8:1::/64", T0);
    let msg = relayed(&by_address("2001:db8:1::1000", "::", &[]), REQUESTER);
    let out = h.ask(&msg, T0).unwrap();
    assert_eq!(
        out.destination,
        Destination::Relay("[2001:db8:ff::1]:547".parse().unwrap())
    );
    let Repr::Relay(repl) = Repr::from_bytes(&out.payload).unwrap() else {
        panic!("not a RELAY-REPL");
    };
    assert_eq!(repl.msg_type, MessageType::RelayRepl);
    assert_eq!(repl.peer_address, a(REQUESTER));
    assert!(repl
        .options
        .contains(&DhcpOption::InterfaceId(b"eth9".to_vec())));
    assert!(client_data(&h.reply(&msg, T0)).is_some());
    assert_eq!(h.responder.counters().relayed.get(), 2);
    let h = Harness::with("relayed = \"discard\"");
    assert!(h.ask(&msg, T0).is_none());
    assert_eq!(h.responder.counters().dropped(DropReason::Relayed), 1);
    // Direct queries are still answered.
    assert!(h
        .ask(&direct(&by_address("2001:db8:1::1000", "::", &[])), T0)
        .is_some());
}

#[test]
fn replies_fit_one_unfragmented_datagram() {
    // A client with 40 addresses (28 octets each) and a large configured option: the option
    // goes first; with 60 addresses the data does not fit at all and UnspecFail is said.
    let big = format!(
        "[[dhcp6.link.reservations]]\nduid = \"00:03:00:01:02:00:00:00:00:01\"\naddresses = [\"2001:db8:1::9\"]\noptions = {{ domain-list = [{}] }}\n",
        (0..30).map(|n| format!("\"d{n}.example.net\"")).collect::<Vec<_>>().join(", ")
    );
    let text = CONFIG.replace(
        "[[dhcp6.link]]\nprefix = \"2001:db8:2::/64\"",
        &format!("{big}\n[[dhcp6.link]]\nprefix = \"2001:db8:2::/64\""),
    );
    let store = Arc::new(Store::in_memory());
    let config = parse(&text, "t.toml").expect("test config");
    let h = Harness {
        responder: Responder6::new(&config, Arc::clone(&store), SERVER_DUID.to_vec()),
        store,
    };
    for n in 0..40u16 {
        let mut b = h.lease(
            1,
            &format!("2001:db8:1::1{n:03x}"),
            128,
            "2001:db8:1::/64",
            T0,
        );
        b.iaid = u32::from(n);
        h.bind(b);
    }
    let q = direct(&by_client(1, "::", &[24]));
    let small = h.reply(&direct(&by_client(1, "::", &[])), T0);
    assert_eq!(leases(client_data(&small).unwrap()).len(), 40);
    let out = h.ask(&q, T0).unwrap();
    assert!(out.payload.len() <= reply::MAX_DATAGRAM);
    let r = h.reply(&q, T0);
    let data = client_data(&r).unwrap();
    assert_eq!(leases(data).len(), 40);
    assert!(!has(data, 24));
    assert_eq!(h.responder.counters().truncated.get(), 2);
    // Relayed: cut the same, inside its RELAY-REPL.
    let r = h.reply(&relayed(&by_client(1, "::", &[24]), REQUESTER), T0);
    let data = client_data(&r).unwrap();
    assert_eq!(leases(data).len(), 40);
    assert!(!has(data, 24));
    assert_eq!(h.responder.counters().truncated.get(), 3);
    for n in 40..60u16 {
        let mut b = h.lease(
            1,
            &format!("2001:db8:1::1{n:03x}"),
            128,
            "2001:db8:1::/64",
            T0,
        );
        b.iaid = u32::from(n);
        h.bind(b);
    }
    let out = h.ask(&q, T0).unwrap();
    assert!(out.payload.len() <= reply::MAX_DATAGRAM);
    let r = h.reply(&q, T0);
    assert!(client_data(&r).is_none());
    assert_eq!(status_of(&r), Some(status::UNSPEC_FAIL));
    assert_eq!(h.responder.counters().too_large.get(), 2);
}

#[test]
fn the_work_of_a_query_is_counted() {
    let h = Harness::new();
    h.lease(1, "2001:db8:1::1000", 128, "2001:db8:1::/64", T0);
    h.lease(1, "2001:db8:100::", 56, "2001:db8:1::/64", T0);
    h.reply(&direct(&by_client(1, "::", &[])), T0);
    assert_eq!(h.responder.counters().examined.get(), 2);
    assert_eq!(h.responder.counters().examine_capped.get(), 0);
}

#[test]
fn a_reply_that_cannot_fit_is_not_sent() {
    // Eight relays, each with a 200-octet Interface-Id the RELAY-REPLs must echo: even a
    // status reply is larger than a datagram.
    let h = Harness::new();
    let chain = (0..8u8).fold(by_address("2001:db8:1::1000", "::", &[]), |inner, n| {
        Repr::Relay(RelayMessage {
            msg_type: MessageType::RelayForw,
            hop_count: n,
            link_address: Ipv6Addr::UNSPECIFIED,
            peer_address: a(if n == 0 { REQUESTER } else { RELAY }),
            options: vec![
                DhcpOption::InterfaceId(vec![n; 200]),
                DhcpOption::RelayMsg(Box::new(inner)),
            ],
        })
    });
    let msg = Message6::new(
        &chain.to_vec(),
        SocketAddrV6::new(a(RELAY), 547, 0, 0),
        a("2001:db8::1"),
        None,
    )
    .unwrap();
    assert!(h.ask(&msg, T0).is_none());
    assert_eq!(h.responder.counters().dropped(DropReason::ReplyTooLarge), 1);
}
