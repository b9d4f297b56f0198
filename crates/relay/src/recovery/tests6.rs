//! On-demand DHCPv6 leasequery (RFC 5007 QUERY_BY_ADDRESS) in virtual time: no socket, no
//! sleep. The sibling of the DHCPv4 cases in `tests.rs`, through the same [`Lookups`].

use super::lookup::{Lookups, Said};
use super::*;
use ipnet::Ipv6Net;
use lessor_wire::v6::{ClientServerMessage, MessageType, QueryType, RelayMessage, Repr};
use std::net::IpAddr;
use std::time::Instant;

fn me() -> Duid {
    Duid::Uuid([4; 16])
}

fn server() -> SocketAddr {
    "[2001:db8::547]:547".parse().unwrap()
}

fn interfaces() -> Vec<Named> {
    ["eth1", "eth2"]
        .map(|n| Named {
            name: n.into(),
            id: format!("if-{n}").into_bytes(),
        })
        .to_vec()
}

fn a(last: u16) -> Ipv6Addr {
    Ipv6Addr::new(0x2001, 0xdb8, 1, 0, 0, 0, 0, last)
}

fn lookups() -> Lookups<lessor_requestor::V6> {
    let mut c = lessor_requestor::Config::v6(me(), vec![server()]);
    c.seed = 5;
    Lookups::new(c, me().to_vec(), interfaces())
}

/// The LEASEQUERY sent: its transaction-id and the address its LQ_QUERY asks.
fn query(bytes: &[u8]) -> (u32, Ipv6Addr) {
    let Ok(Repr::ClientServer(m)) = Repr::from_bytes(bytes) else {
        panic!("not a LEASEQUERY")
    };
    assert_eq!(m.msg_type, MessageType::Leasequery);
    assert!(m.options.contains(&DhcpOption::ClientId(me())), "{m:?}");
    let asked = m.options.iter().find_map(|o| match o {
        DhcpOption::LqQuery {
            query_type: QueryType::ByAddress,
            link_address,
            options,
        } => {
            assert!(link_address.is_unspecified());
            options.iter().find_map(|o| match o {
                DhcpOption::IaAddr { address, .. } => Some(*address),
                _ => None,
            })
        }
        _ => None,
    });
    (m.transaction_id, asked.expect("QUERY_BY_ADDRESS"))
}

/// A relay hop as the server keeps it: the RELAY-FORW without its RELAY_MSG.
fn hop(options: Vec<DhcpOption>) -> Repr {
    Repr::Relay(RelayMessage {
        msg_type: MessageType::RelayForw,
        hop_count: 0,
        link_address: Ipv6Addr::UNSPECIFIED,
        peer_address: "fe80::2".parse().unwrap(),
        options,
    })
}

/// CLIENT_DATA holding `bound` (an IAADDR, or an IAPREFIX when shorter than /128), CLT_TIME 5,
/// valid lifetime 600, with LQ_RELAY_DATA of the relay hop `relay` when given.
fn client_data(bound: &str, relay: Option<Vec<DhcpOption>>) -> DhcpOption {
    let net: Ipv6Net = bound.parse().unwrap();
    let mut o = vec![DhcpOption::ClientId(Duid::Uuid([9; 16]))];
    o.push(if net.prefix_len() == 128 {
        DhcpOption::IaAddr {
            address: net.addr(),
            preferred_lifetime: 300,
            valid_lifetime: 600,
            options: Vec::new(),
        }
    } else {
        DhcpOption::IaPrefix {
            preferred_lifetime: 300,
            valid_lifetime: 600,
            prefix_length: net.prefix_len(),
            prefix: net.addr(),
            options: Vec::new(),
        }
    });
    o.push(DhcpOption::CltTime(5));
    if let Some(options) = relay {
        o.push(DhcpOption::LqRelayData {
            peer_address: "2001:db8:1::1".parse().unwrap(),
            relay_message: Box::new(hop(options)),
        });
    }
    DhcpOption::ClientData(o)
}

/// The server's LEASEQUERY-REPLY with `options` after SERVERID and CLIENTID.
fn reply(xid: u32, options: Vec<DhcpOption>) -> Vec<u8> {
    let mut all = vec![
        DhcpOption::ServerId(Duid::Uuid([1; 16])),
        DhcpOption::ClientId(me()),
    ];
    all.extend(options);
    Repr::ClientServer(ClientServerMessage {
        msg_type: MessageType::LeasequeryReply,
        transaction_id: xid,
        options: all,
    })
    .to_vec()
}

/// Our hop: Interface-ID of eth1 and our Relay-Id.
fn our_hop() -> Vec<DhcpOption> {
    vec![
        DhcpOption::InterfaceId(b"if-eth1".to_vec()),
        DhcpOption::RelayId(me()),
    ]
}

/// Asks about `address` (token `token`), answers with `options`, returns what was said.
fn ask_answered(
    l: &mut Lookups<lessor_requestor::V6>,
    token: u64,
    address: Ipv6Addr,
    options: Vec<DhcpOption>,
) -> Said {
    let t0 = Instant::now();
    l.ask(token, address, t0).unwrap();
    let (to, bytes) = l.poll_transmit(t0).expect("asked");
    assert_eq!(to, server());
    let (xid, asked) = query(&bytes);
    assert_eq!(asked, address);
    l.handle_reply(server(), &reply(xid, options), t0);
    let d = l.poll_done(t0, 10_000).expect("answered");
    assert_eq!(
        (d.token, d.address, d.from_cache),
        (token, IpAddr::V6(address), false)
    );
    d.said
}

#[test]
fn one_query_per_address_and_an_active_answer_of_ours_is_merged_as_queried() {
    let mut l = lookups();
    let t0 = Instant::now();
    l.ask(1, a(9), t0).unwrap();
    l.ask(2, a(9), t0).unwrap();
    let sent: Vec<_> = std::iter::from_fn(|| l.poll_transmit(t0)).collect();
    assert_eq!(sent.len(), 1, "the second question joins the first");
    let (xid, asked) = query(&sent[0].1);
    assert_eq!(asked, a(9));
    // Our Relay-Id in the outer hop, a relay below us with its own: ours, behind eth1.
    let below = Repr::Relay(RelayMessage {
        msg_type: MessageType::RelayForw,
        hop_count: 1,
        link_address: Ipv6Addr::UNSPECIFIED,
        peer_address: "fe80::2".parse().unwrap(),
        options: vec![
            DhcpOption::InterfaceId(b"if-eth1".to_vec()),
            DhcpOption::RelayMsg(Box::new(hop(vec![
                DhcpOption::InterfaceId(b"port-7".to_vec()),
                DhcpOption::RelayId(Duid::Uuid([8; 16])),
            ]))),
            DhcpOption::RelayId(me()),
        ],
    });
    let DhcpOption::ClientData(mut data) = client_data("2001:db8:1::9/128", None) else {
        unreachable!()
    };
    data.push(DhcpOption::LqRelayData {
        peer_address: "2001:db8:1::1".parse().unwrap(),
        relay_message: Box::new(below),
    });
    let t1 = t0 + Duration::from_secs(1);
    l.handle_reply(
        server(),
        &reply(xid, vec![DhcpOption::ClientData(data)]),
        t1,
    );
    let t2 = t1 + Duration::from_secs(2);
    let done: Vec<_> = std::iter::from_fn(|| l.poll_done(t2, 50_000)).collect();
    assert_eq!(done.iter().map(|d| d.token).collect::<Vec<_>>(), [1, 2]);
    let Said::Here(entry) = &done[0].said else {
        panic!("{done:?}")
    };
    assert_eq!(entry.bound.to_string(), "2001:db8:1::9/128");
    assert_eq!(entry.origin, Origin::Queried);
    assert_eq!(entry.interface.as_deref(), Some("eth1"));
    assert_eq!(entry.client_id, Some(Duid::Uuid([9; 16]).to_vec()));
    // Times are relative to when the answer arrived (2 s before `wall`).
    assert_eq!((entry.cltt, entry.expires), (Some(49_993), 50_598));
    assert_eq!(l.outstanding(), 0);
}

#[test]
fn negative_answers_are_cached_until_the_address_is_seen_bound() {
    let mut l = lookups();
    let t0 = Instant::now();
    // Success without client data: the server has no binding.
    assert_eq!(ask_answered(&mut l, 1, a(9), vec![]), Said::Unassigned);
    l.ask(2, a(9), t0).unwrap();
    assert!(l.poll_transmit(t0).is_none(), "the negative cache answers");
    let d = l.poll_done(t0, 10_000).unwrap();
    assert_eq!((d.said, d.from_cache), (Said::Unassigned, true));
    // A Reply gleaned for it: asked again. NotConfigured: no server knows it.
    l.gleaned(Ipv6Net::from(a(9)));
    let not_configured = DhcpOption::StatusCode {
        code: lessor_wire::v6::status::NOT_CONFIGURED,
        message: b"not here".to_vec(),
    };
    assert_eq!(
        ask_answered(&mut l, 3, a(9), vec![not_configured]),
        Said::Unknown
    );
}

#[test]
fn an_active_lease_of_another_relay_is_not_merged() {
    let mut l = lookups();
    // Another relay's Relay-Id (with our Interface-ID text: names repeat across relays).
    let theirs = vec![
        DhcpOption::InterfaceId(b"if-eth1".to_vec()),
        DhcpOption::RelayId(Duid::Uuid([8; 16])),
    ];
    let data = client_data("2001:db8:1::9/128", Some(theirs));
    assert_eq!(ask_answered(&mut l, 1, a(9), vec![data]), Said::Elsewhere);
    // No relay data kept: nobody knows where the client is.
    let data = client_data("2001:db8:1::a/128", None);
    assert_eq!(ask_answered(&mut l, 2, a(10), vec![data]), Said::Elsewhere);
    // No Relay-Id, an Interface-ID none of ours.
    let data = client_data(
        "2001:db8:1::b/128",
        Some(vec![DhcpOption::InterfaceId(b"eth9".to_vec())]),
    );
    assert_eq!(ask_answered(&mut l, 3, a(11), vec![data]), Said::Elsewhere);
    // No Relay-Id, one of our Interface-IDs: ours (the relay-id may be switched off).
    let data = client_data(
        "2001:db8:1::c/128",
        Some(vec![DhcpOption::InterfaceId(b"if-eth2".to_vec())]),
    );
    let Said::Here(entry) = ask_answered(&mut l, 4, a(12), vec![data]) else {
        panic!("not ours")
    };
    assert_eq!(entry.interface.as_deref(), Some("eth2"));
}

#[test]
fn an_address_inside_a_delegated_prefix_finds_the_prefix() {
    let mut l = lookups();
    let inside: Ipv6Addr = "2001:db8:100:142::1".parse().unwrap();
    let data = client_data("2001:db8:100:100::/56", Some(our_hop()));
    let Said::Here(entry) = ask_answered(&mut l, 1, inside, vec![data]) else {
        panic!("not ours")
    };
    assert_eq!(entry.bound.to_string(), "2001:db8:100:100::/56");
    assert_eq!(entry.interface.as_deref(), Some("eth1"));
    assert_eq!((entry.cltt, entry.expires), (Some(9_995), 10_600));
    // The table, given the entry, answers for any address in the prefix.
    let mut table = LocationTable::new();
    table.merge(entry);
    assert!(table
        .lookup(IpAddr::V6("2001:db8:100:1ff::9".parse().unwrap()), 10_000)
        .is_some());
}
