//! Sans-IO tests of DHCPv6 bulk leasequery: an in-memory store, injected time, queries framed
//! by hand and replies decoded with `lessor_wire`, the engine driven in pieces.

use super::*;
use crate::bulk4::CloseReason;
use crate::config;
use lessor_net::Now;
use lessor_store::{Binding6, Completion, Fields6, IaType, State6, Store};
use lessor_wire::framing::{Decoder, Dialect, Encoder};
use lessor_wire::v6::{
    status, ClientServerMessage, DhcpOption, Duid, MessageType, QueryType, RelayMessage, Repr,
};
use std::net::Ipv6Addr;
use std::sync::Arc;

const T0: u64 = 1_700_000_000;

const CONFIG: &str = r#"
[dhcp6]
server-duid = "00:02:00:00:ab:11:01:02:03:04"
listen = ["2001:db8::1"]

[[dhcp6.link]]
prefix = "2001:db8:1::/64"
pools = ["2001:db8:1::1000-2001:db8:1::1fff"]
prefix-pools = [{ prefix = "2001:db8:100::/48", delegated-length = 56 }]
options = { dns-servers = ["2001:db8::53"], domain-list = ["example.net"] }

[[dhcp6.link]]
prefix = "2001:db8:2::/64"
pools = ["2001:db8:2::100-2001:db8:2::1ff"]

[leasequery6]
requesters = ["2001:db8::/32"]

[leasequery6.bulk]
listen = ["2001:db8::1"]
queries-per-connection = 2
data-timeout = "30s"
idle-timeout = "5m"
frame-timeout = "10s"
first-query-timeout = "10s"
"#;

const SERVER_DUID: [u8; 10] = [0, 2, 0, 0, 0xab, 0x11, 1, 2, 3, 4];
const REQUESTOR: [u8; 10] = [0, 3, 0, 1, 2, 0, 0, 0, 0, 0x99];
const RELAY_A: [u8; 10] = [0, 3, 0, 1, 2, 0, 0, 0, 0xaa, 1];
const RELAY_B: [u8; 10] = [0, 3, 0, 1, 2, 0, 0, 0, 0xbb, 2];

fn now(ms: u64) -> Now {
    Now {
        wall: T0 + ms / 1000,
        ms,
    }
}

fn a6(s: &str) -> Ipv6Addr {
    s.parse().unwrap()
}

fn duid(n: u8) -> Vec<u8> {
    vec![0, 3, 0, 1, 2, 0, 0, 0, 1, n]
}

fn remote(id: &[u8]) -> Vec<u8> {
    let mut v = 4491u32.to_be_bytes().to_vec();
    v.extend_from_slice(id);
    v
}

fn chain(link: &str) -> Repr {
    Repr::Relay(RelayMessage {
        msg_type: MessageType::RelayForw,
        hop_count: 0,
        link_address: a6(link),
        peer_address: a6("fe80::2"),
        options: vec![DhcpOption::InterfaceId(b"port1".to_vec())],
    })
}

/// An active binding of client `n` on `link`, through relay `relay` (relay-id and remote-id).
fn binding(addr: &str, plen: u8, n: u8, link: &str, relay: Option<&[u8]>) -> Binding6 {
    let ia = if plen == 128 { IaType::Na } else { IaType::Pd };
    let mut b = Binding6::new(
        a6(addr),
        plen,
        ia,
        &duid(n),
        1,
        link.parse().unwrap(),
        State6::Active,
    )
    .unwrap()
    .with_times(
        T0 - 100,
        T0 + 1800,
        T0 + 3600,
        T0 + 900,
        T0 + 1400,
        T0 - 100,
    );
    if let Some(r) = relay {
        let c = chain(&link.replace("/64", "").replace("::", "::1"));
        let rem = remote(r);
        b.set_fields(Fields6 {
            duid: Some(&duid(n)),
            relay_chain: Some(&c.to_vec()),
            interface_id: Some(b"port1"),
            remote_id: Some(&rem),
            relay_id: Some(r),
        })
        .unwrap();
        b.relay_peer = Some(a6("2001:db8:1::1"));
    }
    b
}

struct H {
    conn: Connection,
    store: Arc<Store>,
    counters: Arc<Counters>,
    ms: u64,
}

fn params() -> Params {
    params_with("")
}

/// The parameters of [`CONFIG`] with `lq6` added to its `[leasequery6]`.
fn params_with(lq6: &str) -> Params {
    let text = CONFIG.replace("[leasequery6]\n", &format!("[leasequery6]\n{lq6}\n"));
    let c = config::parse(&text, "test.toml").expect("test config");
    Params::from_config(&c, Duid::parse(&SERVER_DUID).unwrap()).expect("bulk configured")
}

impl H {
    fn new() -> H {
        H::on(Arc::new(Store::in_memory()), params())
    }

    /// A connection over `store` with `params`.
    fn on(store: Arc<Store>, params: Params) -> H {
        let counters = Arc::new(Counters::default());
        H {
            conn: Connection::new(Arc::new(params), store.clone(), counters.clone(), now(0)),
            store,
            counters,
            ms: 0,
        }
    }

    fn put(&self, b: Binding6) {
        let (done, durable) = Completion::ticket();
        self.store.v6().upsert(b, done);
        durable.wait().expect("durable");
    }

    fn send_bytes(&mut self, f: &[u8]) -> Result<(), Close> {
        self.conn.receive(f, now(self.ms))
    }

    fn send(&mut self, q: &Repr) {
        self.send_bytes(&frame(q)).expect("taken");
    }

    fn replies(&mut self) -> Vec<Repr> {
        let mut bytes = Vec::new();
        while self.conn.poll_transmit(&mut bytes, 4096, now(self.ms)) > 0 {}
        decode(&bytes)
    }

    fn ask(&mut self, q: &Repr) -> Vec<Repr> {
        self.send(q);
        self.replies()
    }
}

fn frame(q: &Repr) -> Vec<u8> {
    let mut out = Vec::new();
    Encoder::new(Dialect::V6, 65535)
        .encode_to_vec(&q.to_vec(), &mut out)
        .unwrap();
    out
}

fn decode(bytes: &[u8]) -> Vec<Repr> {
    let mut d = Decoder::new(Dialect::V6, 65535);
    let mut input = bytes;
    let mut out = Vec::new();
    while !input.is_empty() {
        let step = d.decode(input).expect("frames");
        input = &input[step.consumed..];
        if let Some(m) = step.message {
            out.push(Repr::from_bytes(m).expect("a DHCPv6 message"));
        }
    }
    assert!(!d.is_mid_frame(), "whole frames only");
    out
}

fn query(xid: u32, qt: QueryType, link: &str, qopts: Vec<DhcpOption>) -> Repr {
    Repr::ClientServer(ClientServerMessage {
        msg_type: MessageType::Leasequery,
        transaction_id: xid,
        options: vec![
            DhcpOption::ClientId(Duid::parse(&REQUESTOR).unwrap()),
            DhcpOption::LqQuery {
                query_type: qt,
                link_address: a6(link),
                options: qopts,
            },
        ],
    })
}

fn by_relay(xid: u32, relay: &[u8]) -> Repr {
    query(
        xid,
        QueryType::ByRelayId,
        "::",
        vec![DhcpOption::RelayId(Duid::parse(relay).unwrap())],
    )
}

fn msg(r: &Repr) -> &ClientServerMessage {
    match r {
        Repr::ClientServer(m) => m,
        Repr::Relay(_) => panic!("client/server message expected"),
    }
}

fn kinds(rs: &[Repr]) -> Vec<MessageType> {
    rs.iter().map(|r| msg(r).msg_type).collect()
}

fn status_of(r: &Repr) -> Option<u16> {
    msg(r).options.iter().find_map(|o| match o {
        DhcpOption::StatusCode { code, .. } => Some(*code),
        _ => None,
    })
}

/// The address or prefix of each CLIENT_DATA, in order.
fn resources(rs: &[Repr]) -> Vec<Ipv6Addr> {
    let mut v = Vec::new();
    for r in rs {
        for o in &msg(r).options {
            if let DhcpOption::ClientData(inner) = o {
                for i in inner {
                    match i {
                        DhcpOption::IaAddr { address, .. } => v.push(*address),
                        DhcpOption::IaPrefix { prefix, .. } => v.push(*prefix),
                        _ => {}
                    }
                }
            }
        }
    }
    v
}

fn codes(r: &Repr) -> Vec<u16> {
    msg(r).options.iter().map(DhcpOption::code).collect()
}

use lessor_wire::v6::{
    OPTION_CLIENTID, OPTION_CLIENT_DATA, OPTION_LQ_RELAY_DATA, OPTION_SERVERID, OPTION_STATUS_CODE,
};

#[test]
fn relay_id_streams_reply_then_data_then_done() {
    let mut h = H::new();
    h.put(binding(
        "2001:db8:1::1001",
        128,
        1,
        "2001:db8:1::/64",
        Some(&RELAY_A),
    ));
    h.put(binding(
        "2001:db8:1::1002",
        128,
        2,
        "2001:db8:1::/64",
        Some(&RELAY_A),
    ));
    h.put(binding(
        "2001:db8:100::",
        56,
        2,
        "2001:db8:1::/64",
        Some(&RELAY_A),
    ));
    h.put(binding(
        "2001:db8:1::1003",
        128,
        3,
        "2001:db8:1::/64",
        Some(&RELAY_B),
    ));
    let rs = h.ask(&by_relay(0x123456, &RELAY_A));
    assert_eq!(
        kinds(&rs),
        [
            MessageType::LeasequeryReply,
            MessageType::LeasequeryData,
            MessageType::LeasequeryData,
            MessageType::LeasequeryDone
        ]
    );
    assert!(rs.iter().all(|r| msg(r).transaction_id == 0x123456));
    // RFC 5007 §4.3.3 in the REPLY: SERVERID and the requestor's CLIENTID; DATA: CLIENT_DATA only.
    assert_eq!(
        codes(&rs[0]),
        [OPTION_SERVERID, OPTION_CLIENTID, OPTION_CLIENT_DATA]
    );
    assert_eq!(codes(&rs[1]), [OPTION_CLIENT_DATA]);
    assert_eq!(
        codes(&rs[3]),
        [OPTION_STATUS_CODE],
        "a DONE after bindings: Success"
    );
    assert_eq!(status_of(&rs[3]), Some(status::SUCCESS));
    let mut got = resources(&rs);
    got.sort();
    assert_eq!(
        got,
        [
            a6("2001:db8:1::1001"),
            a6("2001:db8:1::1002"),
            a6("2001:db8:100::")
        ]
    );
    assert_eq!(h.counters.queries(3), 1);
    assert_eq!(h.counters.bindings.get(), 3);
    assert_eq!(h.counters.done.get(), 1);
}

#[test]
fn client_data_has_client_id_remaining_lifetimes_and_relative_clt_time() {
    let mut h = H::new();
    h.put(binding(
        "2001:db8:1::1001",
        128,
        1,
        "2001:db8:1::/64",
        Some(&RELAY_A),
    ));
    h.ms = 200_000; // 200 s after T0
    let rs = h.ask(&by_relay(1, &RELAY_A));
    let data = msg(&rs[0])
        .options
        .iter()
        .find_map(|o| match o {
            DhcpOption::ClientData(i) => Some(i.clone()),
            _ => None,
        })
        .unwrap();
    assert_eq!(
        data[0],
        DhcpOption::ClientId(Duid::parse(&duid(1)).unwrap())
    );
    assert_eq!(
        data[1],
        DhcpOption::IaAddr {
            address: a6("2001:db8:1::1001"),
            preferred_lifetime: 1600,
            valid_lifetime: 3400,
            options: vec![],
        }
    );
    assert_eq!(data[2], DhcpOption::CltTime(300));
}

#[test]
fn lq_relay_data_only_when_the_oro_asks_inside_each_client_data() {
    let mut h = H::new();
    h.put(binding(
        "2001:db8:1::1001",
        128,
        1,
        "2001:db8:1::/64",
        Some(&RELAY_A),
    ));
    h.put(binding(
        "2001:db8:1::1002",
        128,
        2,
        "2001:db8:1::/64",
        Some(&RELAY_A),
    ));
    let inner_codes = |r: &Repr| -> Vec<u16> {
        msg(r)
            .options
            .iter()
            .find_map(|o| match o {
                DhcpOption::ClientData(i) => Some(i.iter().map(DhcpOption::code).collect()),
                _ => None,
            })
            .unwrap_or_default()
    };
    let rs = h.ask(&by_relay(1, &RELAY_A));
    assert!(rs
        .iter()
        .all(|r| !inner_codes(r).contains(&OPTION_LQ_RELAY_DATA)));
    let mut q = by_relay(2, &RELAY_A);
    if let Repr::ClientServer(m) = &mut q {
        if let DhcpOption::LqQuery { options, .. } = &mut m.options[1] {
            options.push(DhcpOption::Oro(vec![OPTION_LQ_RELAY_DATA]));
        }
    }
    let rs = h.ask(&q);
    // Inside the CLIENT_DATA, last, in the REPLY and in the DATA alike (decision 26).
    assert_eq!(
        codes(&rs[0]),
        [OPTION_SERVERID, OPTION_CLIENTID, OPTION_CLIENT_DATA]
    );
    assert_eq!(codes(&rs[1]), [OPTION_CLIENT_DATA]);
    for r in &rs[..2] {
        assert_eq!(
            inner_codes(r),
            [
                OPTION_CLIENTID,
                lessor_wire::v6::OPTION_IAADDR,
                lessor_wire::v6::OPTION_CLT_TIME,
                OPTION_LQ_RELAY_DATA
            ]
        );
    }
    let DhcpOption::ClientData(inner) = msg(&rs[1]).options[0].clone() else {
        panic!("client data first");
    };
    match inner[3].clone() {
        DhcpOption::LqRelayData {
            peer_address,
            relay_message,
        } => {
            assert_eq!(peer_address, a6("2001:db8:1::1"));
            assert_eq!(relay_message.msg_type(), MessageType::RelayForw);
        }
        o => panic!("{o:?}"),
    }
}

/// `q` with `oro` as the ORO inside its LQ_QUERY.
fn with_oro(mut q: Repr, oro: &[u16]) -> Repr {
    if let Repr::ClientServer(m) = &mut q {
        if let DhcpOption::LqQuery { options, .. } = &mut m.options[1] {
            options.push(DhcpOption::Oro(oro.to_vec()));
        }
    }
    q
}

/// The codes inside each message's CLIENT_DATA (empty for a message without one).
fn client_data_codes(rs: &[Repr]) -> Vec<Vec<u16>> {
    rs.iter()
        .map(|r| {
            msg(r)
                .options
                .iter()
                .find_map(|o| match o {
                    DhcpOption::ClientData(i) => Some(i.iter().map(DhcpOption::code).collect()),
                    _ => None,
                })
                .unwrap_or_default()
        })
        .collect()
}

#[test]
fn requested_options_in_every_client_data_unless_sensitive() {
    use lessor_wire::v6::{OPTION_CLT_TIME, OPTION_IAADDR, OPTION_IAPREFIX};
    let store = Arc::new(Store::in_memory());
    let mut h = H::on(Arc::clone(&store), params());
    h.put(binding(
        "2001:db8:1::1001",
        128,
        1,
        "2001:db8:1::/64",
        Some(&RELAY_A),
    ));
    h.put(binding(
        "2001:db8:100:100::",
        56,
        1,
        "2001:db8:1::/64",
        Some(&RELAY_A),
    ));
    h.put(binding(
        "2001:db8:1::1002",
        128,
        2,
        "2001:db8:1::/64",
        Some(&RELAY_A),
    ));
    // 23 (dns-servers) and 24 (domain-list) on the link, 31 configured nowhere; 47 as well.
    let rs = h.ask(&with_oro(by_relay(1, &RELAY_A), &[23, 31, 24, 47]));
    assert_eq!(
        kinds(&rs),
        [
            MessageType::LeasequeryReply,
            MessageType::LeasequeryData,
            MessageType::LeasequeryData,
            MessageType::LeasequeryDone
        ]
    );
    let inner = client_data_codes(&rs);
    for (i, c) in inner[..3].iter().enumerate() {
        let resource = if c.contains(&OPTION_IAPREFIX) {
            OPTION_IAPREFIX
        } else {
            OPTION_IAADDR
        };
        assert_eq!(
            c,
            &[
                OPTION_CLIENTID,
                resource,
                OPTION_CLT_TIME,
                23,
                24,
                OPTION_LQ_RELAY_DATA
            ],
            "message {i}: the link's options in the ORO's order, then LQ_RELAY_DATA, last"
        );
    }
    let DhcpOption::ClientData(first) = &msg(&rs[0]).options[2] else {
        panic!("CLIENT_DATA third in the REPLY");
    };
    assert!(first.contains(&DhcpOption::Other {
        code: 23,
        data: a6("2001:db8::53").octets().to_vec(),
    }));
    // No ORO: no configured option and no relay data.
    let rs = h.ask(&by_relay(2, &RELAY_A));
    assert!(client_data_codes(&rs[..3])
        .iter()
        .all(|c| c.len() == 3 && !c.contains(&23) && !c.contains(&24)));
    // The message's own ORO is not the LQ_QUERY's (RFC 5007 §4.1.2.1).
    let mut q = by_relay(3, &RELAY_A);
    if let Repr::ClientServer(m) = &mut q {
        m.options.push(DhcpOption::Oro(vec![23, 24]));
    }
    let rs = h.ask(&q);
    assert!(client_data_codes(&rs[..3]).iter().all(|c| c.len() == 3));
    // Sensitive options never go out (§4.4.2), LQ_RELAY_DATA included.
    let mut h = H::on(store, params_with("sensitive-options = [24, 47]"));
    let rs = h.ask(&with_oro(by_relay(4, &RELAY_A), &[23, 24, 47]));
    assert_eq!(rs.len(), 4);
    for c in &client_data_codes(&rs)[..3] {
        assert!(c.contains(&23) && !c.contains(&24) && !c.contains(&OPTION_LQ_RELAY_DATA));
    }
}

#[test]
fn a_binding_on_a_link_no_longer_configured_gets_the_global_options_only() {
    let mut h = H::new();
    h.put(binding("2001:db8:9::5", 128, 1, "2001:db8:9::/64", None));
    let rs = h.ask(&with_oro(
        query(
            1,
            QueryType::ByClientId,
            "::",
            vec![DhcpOption::ClientId(Duid::parse(&duid(1)).unwrap())],
        ),
        &[23, 24],
    ));
    assert_eq!(
        kinds(&rs),
        [MessageType::LeasequeryReply, MessageType::LeasequeryDone]
    );
    assert_eq!(
        client_data_codes(&rs)[0].len(),
        3,
        "CLIENTID, IAADDR, CLT_TIME"
    );
}

#[test]
fn link_address_query_takes_that_link_and_unspecified_takes_every_link() {
    let mut h = H::new();
    h.put(binding(
        "2001:db8:1::1001",
        128,
        1,
        "2001:db8:1::/64",
        Some(&RELAY_A),
    ));
    h.put(binding("2001:db8:2::101", 128, 2, "2001:db8:2::/64", None));
    h.put(binding("2001:db8:2::102", 128, 3, "2001:db8:2::/64", None));
    let rs = h.ask(&query(1, QueryType::ByLinkAddress, "2001:db8:2::1", vec![]));
    assert_eq!(
        resources(&rs),
        [a6("2001:db8:2::101"), a6("2001:db8:2::102")]
    );
    let rs = h.ask(&query(2, QueryType::ByLinkAddress, "::", vec![]));
    assert_eq!(
        resources(&rs),
        [
            a6("2001:db8:1::1001"),
            a6("2001:db8:2::101"),
            a6("2001:db8:2::102")
        ]
    );
    assert_eq!(*kinds(&rs).last().unwrap(), MessageType::LeasequeryDone);
    assert_eq!(h.counters.queries(4), 2);
}

#[test]
fn a_link_address_restricts_relay_and_remote_id_queries() {
    let mut h = H::new();
    h.put(binding(
        "2001:db8:1::1001",
        128,
        1,
        "2001:db8:1::/64",
        Some(&RELAY_A),
    ));
    h.put(binding(
        "2001:db8:2::101",
        128,
        2,
        "2001:db8:2::/64",
        Some(&RELAY_A),
    ));
    let rs = h.ask(&query(
        1,
        QueryType::ByRemoteId,
        "2001:db8:2::",
        vec![DhcpOption::RemoteId {
            enterprise_number: 4491,
            remote_id: RELAY_A.to_vec(),
        }],
    ));
    assert_eq!(resources(&rs), [a6("2001:db8:2::101")]);
    let rs = h.ask(&query(
        2,
        QueryType::ByRemoteId,
        "::",
        vec![DhcpOption::RemoteId {
            enterprise_number: 4491,
            remote_id: RELAY_A.to_vec(),
        }],
    ));
    assert_eq!(resources(&rs).len(), 2);
    let rs = h.ask(&query(
        3,
        QueryType::ByRemoteId,
        "::",
        vec![DhcpOption::RemoteId {
            enterprise_number: 9,
            remote_id: RELAY_A.to_vec(),
        }],
    ));
    assert_eq!(
        kinds(&rs),
        [MessageType::LeasequeryReply],
        "enterprise number is part of it"
    );
}

#[test]
fn address_query_finds_the_delegated_prefix_holding_it_and_client_id_every_binding() {
    let mut h = H::new();
    h.put(binding("2001:db8:1::1001", 128, 1, "2001:db8:1::/64", None));
    h.put(binding(
        "2001:db8:100:ab00::",
        56,
        1,
        "2001:db8:1::/64",
        None,
    ));
    let inside = DhcpOption::IaAddr {
        address: a6("2001:db8:100:ab00::42"),
        preferred_lifetime: 0,
        valid_lifetime: 0,
        options: vec![],
    };
    let rs = h.ask(&query(1, QueryType::ByAddress, "::", vec![inside]));
    assert_eq!(
        kinds(&rs),
        [MessageType::LeasequeryReply, MessageType::LeasequeryDone]
    );
    assert_eq!(resources(&rs), [a6("2001:db8:100:ab00::")]);
    let rs = h.ask(&query(
        2,
        QueryType::ByClientId,
        "::",
        vec![DhcpOption::ClientId(Duid::parse(&duid(1)).unwrap())],
    ));
    assert_eq!(resources(&rs).len(), 2);
}

#[test]
fn nothing_found_is_one_empty_reply_and_no_done() {
    let mut h = H::new();
    let rs = h.ask(&by_relay(7, &RELAY_B));
    assert_eq!(kinds(&rs), [MessageType::LeasequeryReply]);
    assert_eq!(codes(&rs[0]), [OPTION_SERVERID, OPTION_CLIENTID]);
    assert_eq!(h.counters.empty.get(), 1);
}

#[test]
fn bindings_not_active_are_not_sent() {
    let mut h = H::new();
    let mut gone = binding(
        "2001:db8:1::1001",
        128,
        1,
        "2001:db8:1::/64",
        Some(&RELAY_A),
    );
    gone.state = State6::Released;
    h.put(gone);
    let mut ran_out = binding(
        "2001:db8:1::1002",
        128,
        2,
        "2001:db8:1::/64",
        Some(&RELAY_A),
    );
    ran_out.valid_end = T0 - 1;
    h.put(ran_out);
    h.put(binding(
        "2001:db8:1::1003",
        128,
        3,
        "2001:db8:1::/64",
        Some(&RELAY_A),
    ));
    let rs = h.ask(&by_relay(1, &RELAY_A));
    assert_eq!(resources(&rs), [a6("2001:db8:1::1003")]);
}

#[test]
fn refusals_are_a_reply_with_a_status_and_nothing_after() {
    let mut h = H::new();
    let cases = [
        (
            query(1, QueryType::Unknown(9), "::", vec![]),
            status::UNKNOWN_QUERY_TYPE,
        ),
        (
            query(2, QueryType::ByRelayId, "::", vec![]),
            status::MALFORMED_QUERY,
        ),
        (
            query(3, QueryType::ByAddress, "::", vec![]),
            status::MALFORMED_QUERY,
        ),
        (
            query(4, QueryType::ByLinkAddress, "2001:db8:9::1", vec![]),
            status::NOT_CONFIGURED,
        ),
        // MalformedQuery goes first when both apply.
        (
            query(5, QueryType::ByRemoteId, "2001:db8:9::1", vec![]),
            status::MALFORMED_QUERY,
        ),
    ];
    for (q, want) in cases {
        let rs = h.ask(&q);
        assert_eq!(kinds(&rs), [MessageType::LeasequeryReply], "{q:?}");
        assert_eq!(status_of(&rs[0]), Some(want), "{q:?}");
        assert_eq!(codes(&rs[0])[..2], [OPTION_SERVERID, OPTION_CLIENTID]);
        assert_eq!(codes(&rs[0])[2], OPTION_STATUS_CODE);
    }
    // No CLIENTID, a foreign SERVERID.
    let mut q = by_relay(6, &RELAY_A);
    if let Repr::ClientServer(m) = &mut q {
        m.options.remove(0);
    }
    let rs = h.ask(&q);
    assert_eq!(status_of(&rs[0]), Some(status::MALFORMED_QUERY));
    assert_eq!(codes(&rs[0]), [OPTION_SERVERID, OPTION_STATUS_CODE]);
    let mut q = by_relay(7, &RELAY_A);
    if let Repr::ClientServer(m) = &mut q {
        m.options
            .push(DhcpOption::ServerId(Duid::parse(&RELAY_B).unwrap()));
    }
    assert_eq!(status_of(&h.ask(&q)[0]), Some(status::NOT_ALLOWED));
    let mut ours = by_relay(8, &RELAY_A);
    if let Repr::ClientServer(m) = &mut ours {
        m.options
            .push(DhcpOption::ServerId(Duid::parse(&SERVER_DUID).unwrap()));
    }
    assert_eq!(
        status_of(&h.ask(&ours)[0]),
        None,
        "our own SERVERID is fine"
    );
    assert_eq!(h.counters.failures(status::MALFORMED_QUERY), 4);
    assert!(h.conn.close().is_none(), "refusals keep the connection");
}

#[test]
fn a_frame_that_is_not_a_leasequery_closes_the_connection() {
    for bad in [
        vec![0xff, 1, 2],
        Repr::ClientServer(ClientServerMessage {
            msg_type: MessageType::Solicit,
            transaction_id: 1,
            options: vec![],
        })
        .to_vec(),
        chain("2001:db8:1::1").to_vec(),
    ] {
        let mut h = H::new();
        let mut f = Vec::new();
        Encoder::new(Dialect::V6, 65535)
            .encode_to_vec(&bad, &mut f)
            .unwrap();
        assert!(matches!(h.send_bytes(&f), Err(Close::Junk(_))));
        assert!(matches!(h.conn.close(), Some(Close::Junk(_))));
        assert_eq!(
            CloseReason::from(h.conn.close().unwrap()),
            CloseReason::Junk
        );
    }
}

#[test]
fn octet_by_octet_in_and_small_budgets_out() {
    let mut h = H::new();
    for i in 0..5u8 {
        let addr = format!("2001:db8:1::10{i:02x}");
        h.put(binding(&addr, 128, i, "2001:db8:1::/64", Some(&RELAY_A)));
    }
    for b in frame(&by_relay(9, &RELAY_A)) {
        assert!(h.conn.wants_read());
        h.send_bytes(&[b]).unwrap();
    }
    let mut bytes = Vec::new();
    while h.conn.poll_transmit(&mut bytes, 7, now(0)) > 0 {}
    let rs = decode(&bytes);
    assert_eq!(resources(&rs).len(), 5);
    assert_eq!(rs.len(), 6);
}

#[test]
fn parallel_queries_interleave_and_a_duplicate_transaction_id_is_refused() {
    let mut h = H::new();
    for i in 0..3u8 {
        let a = format!("2001:db8:1::10{i:02x}");
        h.put(binding(&a, 128, i, "2001:db8:1::/64", Some(&RELAY_A)));
        let b = format!("2001:db8:2::10{i:02x}");
        h.put(binding(&b, 128, 10 + i, "2001:db8:2::/64", Some(&RELAY_B)));
    }
    let mut both = frame(&by_relay(1, &RELAY_A));
    both.extend(frame(&by_relay(2, &RELAY_B)));
    h.send_bytes(&both).unwrap();
    assert_eq!(h.conn.open_queries(), 2);
    assert!(!h.conn.wants_read(), "queries-per-connection = 2");
    let rs = h.replies();
    let xids: Vec<u32> = rs.iter().map(|r| msg(r).transaction_id).collect();
    assert_eq!(xids[..4], [1, 2, 1, 2], "round robin");
    assert_eq!(rs.len(), 8);

    let mut h = H::new();
    h.put(binding(
        "2001:db8:1::1001",
        128,
        1,
        "2001:db8:1::/64",
        Some(&RELAY_A),
    ));
    let mut twice = frame(&by_relay(5, &RELAY_A));
    twice.extend(frame(&by_relay(5, &RELAY_A)));
    h.send_bytes(&twice).unwrap();
    let rs = h.replies();
    let refused: Vec<&Repr> = rs
        .iter()
        .filter(|r| status_of(r).is_some_and(|s| s != status::SUCCESS))
        .collect();
    assert_eq!(refused.len(), 1);
    assert_eq!(status_of(refused[0]), Some(status::UNSPEC_FAIL));
}

#[test]
fn streams_more_than_a_batch_from_a_snapshot_while_writes_go_on() {
    let mut h = H::new();
    let n = stream::BATCH * 3 + 5;
    for i in 0..n {
        let a = format!("2001:db8:1::{:x}", 0x1000 + i);
        h.put(binding(
            &a,
            128,
            (i % 250) as u8,
            "2001:db8:1::/64",
            Some(&RELAY_A),
        ));
    }
    h.send(&by_relay(1, &RELAY_A));
    let mut bytes = Vec::new();
    h.conn.poll_transmit(&mut bytes, 200, now(0));
    // The stream holds no lock: the store takes writes meanwhile, and the stream keeps to
    // its snapshot.
    h.put(binding(
        "2001:db8:1::1fff",
        128,
        251,
        "2001:db8:1::/64",
        Some(&RELAY_A),
    ));
    while h.conn.poll_transmit(&mut bytes, 4096, now(0)) > 0 {}
    let rs = decode(&bytes);
    assert_eq!(resources(&rs).len(), n);
    assert!(h.conn.buffered() < 8192, "bounded: {}", h.conn.buffered());
}

#[test]
fn shutdown_mid_stream_ends_with_done_query_terminated() {
    let mut h = H::new();
    for i in 0..3u8 {
        let a = format!("2001:db8:1::10{i:02x}");
        h.put(binding(&a, 128, i, "2001:db8:1::/64", Some(&RELAY_A)));
    }
    h.send(&by_relay(1, &RELAY_A));
    let mut bytes = Vec::new();
    // Part of the first message out, then the server stops: the frame is finished first.
    h.conn.poll_transmit(&mut bytes, 60, now(0));
    h.conn.shutdown();
    while h.conn.poll_transmit(&mut bytes, 4096, now(0)) > 0 {}
    let rs = decode(&bytes);
    assert_eq!(msg(&rs[0]).msg_type, MessageType::LeasequeryReply);
    assert_eq!(status_of(&rs[0]), None, "the binding that was going out");
    assert_eq!(rs.len(), 2);
    let last = rs.last().unwrap();
    assert_eq!(msg(last).msg_type, MessageType::LeasequeryDone);
    assert_eq!(status_of(last), Some(status::QUERY_TERMINATED));
    assert_eq!(h.conn.close(), Some(Close::Shutdown));

    // Before anything went out: a REPLY with the status.
    let mut h = H::new();
    h.put(binding(
        "2001:db8:1::1001",
        128,
        1,
        "2001:db8:1::/64",
        Some(&RELAY_A),
    ));
    h.send(&by_relay(2, &RELAY_A));
    h.conn.shutdown();
    let rs = h.replies();
    assert_eq!(kinds(&rs), [MessageType::LeasequeryReply]);
    assert_eq!(status_of(&rs[0]), Some(status::QUERY_TERMINATED));
}

#[test]
fn the_shared_timers_apply() {
    let mut h = H::new();
    assert_eq!(h.conn.next_deadline(), Some(10_000), "first-query-timeout");
    assert_eq!(
        h.conn.on_timeout(now(10_000)),
        Err(Close::FirstQueryTimeout)
    );

    let mut h = H::new();
    let f = frame(&by_relay(1, &RELAY_A));
    h.send_bytes(&f[..3]).unwrap();
    assert_eq!(
        h.conn.on_timeout(now(10_000)),
        Err(Close::FirstQueryTimeout)
    );

    let mut h = H::new();
    h.ask(&by_relay(1, &RELAY_A));
    h.conn.written(0, 0, now(0));
    assert_eq!(h.conn.on_timeout(now(299_000)), Ok(()));
    assert_eq!(h.conn.on_timeout(now(300_000)), Err(Close::IdleTimeout));
}

#[test]
fn peer_close_finishes_the_queries_then_closes() {
    let mut h = H::new();
    h.put(binding(
        "2001:db8:1::1001",
        128,
        1,
        "2001:db8:1::/64",
        Some(&RELAY_A),
    ));
    h.send(&by_relay(1, &RELAY_A));
    h.conn.peer_closed(now(0)).unwrap();
    assert_eq!(h.conn.close(), None, "replies still owed");
    let rs = h.replies();
    assert_eq!(rs.len(), 2);
    assert_eq!(h.conn.close(), Some(Close::Finished));

    let mut h = H::new();
    h.send_bytes(&frame(&by_relay(1, &RELAY_A))[..5]).unwrap();
    assert!(
        matches!(h.conn.peer_closed(now(0)), Err(Close::Junk(_))),
        "a frame cut short"
    );
}

#[test]
fn frames_larger_than_the_maximum_or_empty_close_at_once() {
    let mut h = H::new();
    assert!(matches!(h.send_bytes(&[0, 0]), Err(Close::Junk(_))));
    let mut p = params();
    p.limits.max_message_size = 100;
    let store = Arc::new(Store::in_memory());
    let mut conn = Connection::new(Arc::new(p), store, Arc::new(Counters::default()), now(0));
    assert!(matches!(
        conn.receive(&[0, 101], now(0)),
        Err(Close::Junk(_))
    ));
}
