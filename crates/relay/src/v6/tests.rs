//! The relay engine driven without sockets: clients, relays below and a server are played by the
//! tests with the wire codec; time is virtual.

use std::net::{Ipv6Addr, SocketAddrV6};

use ipnet::IpNet;
use lessor_net::Now;
use lessor_wire::v6::{
    status, ClientServerMessage, DhcpOption, Duid, MessageType, Packet, RelayMessage, Repr,
    OPTION_INTERFACE_ID, OPTION_RELAY_ID, OPTION_RELAY_MSG, OPTION_REMOTE_ID,
};

use super::*;
use crate::location::{LocationTable, Origin};

const ETH1: u32 = 3;
const ETH2: u32 = 4;
const UPLINK: u32 = 2;
const T0: u64 = 1_700_000_000;

fn a(s: &str) -> Ipv6Addr {
    s.parse().unwrap()
}

fn at(s: &str, port: u16, scope: u32) -> SocketAddrV6 {
    SocketAddrV6::new(a(s), port, 0, scope)
}

fn now(ms: u64) -> Now {
    Now {
        wall: T0 + ms / 1000,
        ms,
    }
}

fn server() -> SocketAddrV6 {
    at("2001:db8::547", 547, 0)
}

fn client() -> SocketAddrV6 {
    at("fe80::c1", 546, ETH1)
}

fn relay_duid() -> Duid {
    Duid::Ll {
        hardware_type: 1,
        link_layer_address: vec![2, 0, 0, 0, 0, 9],
    }
}

fn duid(n: u8) -> Duid {
    Duid::Ll {
        hardware_type: 1,
        link_layer_address: vec![2, 0, 0, 0, 1, n],
    }
}

/// eth1: no link-address, Interface-ID its name, a remote-id; eth2: a link-address, its own
/// Interface-ID; one unicast server.
fn settings() -> Settings6 {
    Settings6 {
        interfaces: vec![
            Downstream6 {
                remote_id: Some(RemoteId6 {
                    enterprise_number: 3561,
                    remote_id: b"sub-1".to_vec(),
                }),
                ..Downstream6::new("eth1", ETH1)
            },
            Downstream6 {
                link_address: a("2001:db8:2::1"),
                interface_id: b"port-2".to_vec(),
                ..Downstream6::new("eth2", ETH2)
            },
        ],
        servers: vec![Server6::new(*server().ip())],
        relay_id: Some(relay_duid()),
        insert: Insert6::default(),
    }
}

fn relay() -> Relay6 {
    Relay6::new(settings()).unwrap()
}

fn message(msg_type: MessageType, xid: u32, options: Vec<DhcpOption>) -> Repr {
    Repr::ClientServer(ClientServerMessage {
        msg_type,
        transaction_id: xid,
        options,
    })
}

fn ia_na(address: &str, valid: u32) -> DhcpOption {
    DhcpOption::IaNa {
        iaid: 1,
        t1: 0,
        t2: 0,
        options: vec![DhcpOption::IaAddr {
            address: a(address),
            preferred_lifetime: valid / 2,
            valid_lifetime: valid,
            options: vec![],
        }],
    }
}

fn ia_pd(prefix: &str, length: u8, valid: u32) -> DhcpOption {
    DhcpOption::IaPd {
        iaid: 2,
        t1: 0,
        t2: 0,
        options: vec![DhcpOption::IaPrefix {
            preferred_lifetime: valid / 2,
            valid_lifetime: valid,
            prefix_length: length,
            prefix: a(prefix),
            options: vec![],
        }],
    }
}

fn solicit(xid: u32) -> Vec<u8> {
    message(
        MessageType::Solicit,
        xid,
        vec![
            DhcpOption::ClientId(duid(1)),
            DhcpOption::Other {
                code: 8,
                data: vec![0, 0],
            },
            ia_na("::", 0),
        ],
    )
    .to_vec()
}

fn reply(xid: u32, client: u8, mut options: Vec<DhcpOption>) -> Vec<u8> {
    options.insert(0, DhcpOption::ClientId(duid(client)));
    options.insert(1, DhcpOption::ServerId(duid(200)));
    message(MessageType::Reply, xid, options).to_vec()
}

/// What a server answers to `forw`: a RELAY-REPL copying its header and Interface-ID, holding
/// `inner` (RFC 8415 §19.3).
fn answer(forw: &[u8], inner: &[u8]) -> Vec<u8> {
    let Ok(Repr::Relay(f)) = Repr::from_bytes(forw) else {
        panic!("not a relay message");
    };
    let mut options: Vec<_> = f
        .options
        .iter()
        .filter(|o| o.code() == OPTION_INTERFACE_ID)
        .cloned()
        .collect();
    options.push(DhcpOption::RelayMsg(Box::new(
        Repr::from_bytes(inner).unwrap(),
    )));
    Repr::Relay(RelayMessage {
        msg_type: MessageType::RelayRepl,
        options,
        ..f
    })
    .to_vec()
}

/// The top-level options of a message, raw, in wire order.
fn raw_options(bytes: &[u8]) -> Vec<(u16, Vec<u8>)> {
    Packet::new_checked(bytes)
        .unwrap()
        .options()
        .map(|o| o.map(|o| (o.code, o.data.to_vec())).unwrap())
        .collect()
}

/// A client's message from fe80::c1 on eth1, through the relay, answered by the server with
/// `inner`, back through the relay: what reached the client.
fn exchange(
    r: &mut Relay6,
    table: &mut LocationTable,
    request: &[u8],
    inner: &[u8],
    ms: u64,
) -> Vec<Transmit6> {
    let up = r.handle(request, ETH1, client(), now(ms), table);
    assert_eq!(up.len(), 1, "{:?}", r.counters());
    r.handle(
        &answer(&up[0].payload, inner),
        UPLINK,
        server(),
        now(ms),
        table,
    )
}

#[test]
fn a_solicit_goes_up_in_a_relay_forw_with_the_relay_options() {
    let mut r = relay();
    let mut table = LocationTable::new();
    let sol = solicit(0x0a0b0c);
    let out = r.handle(&sol, ETH1, client(), now(0), &mut table);
    assert_eq!(out.len(), 1);
    let t = &out[0];
    assert_eq!(t.destination, server());
    assert_eq!(t.interface, None);

    let p = &t.payload;
    assert_eq!(p[0], 12, "RELAY-FORW");
    assert_eq!(p[1], 0, "hop-count of a client's message");
    assert_eq!(&p[2..18], &Ipv6Addr::UNSPECIFIED.octets(), "link-address");
    assert_eq!(&p[18..34], &a("fe80::c1").octets(), "peer-address");
    let mut remote = 3561u32.to_be_bytes().to_vec();
    remote.extend_from_slice(b"sub-1");
    assert_eq!(
        raw_options(p),
        vec![
            (OPTION_INTERFACE_ID, b"eth1".to_vec()),
            (OPTION_REMOTE_ID, remote),
            (OPTION_RELAY_ID, relay_duid().to_vec()),
            (OPTION_RELAY_MSG, sol.clone()),
        ]
    );
    // Byte for byte: the option header, then the client's message as it came.
    assert_eq!(
        &p[p.len() - sol.len() - 4..p.len() - sol.len()],
        &[0, 9, 0, sol.len() as u8]
    );
    assert_eq!(r.counters().forwarded, 1);
    assert!(table.is_empty());
}

#[test]
fn an_interface_with_a_link_address_names_it_and_options_can_be_left_out() {
    let mut s = settings();
    s.insert = Insert6 {
        interface_id: false,
        remote_id: false,
        relay_id: false,
    };
    let mut r = Relay6::new(s).unwrap();
    let mut table = LocationTable::new();
    let sol = solicit(1);
    let out = r.handle(&sol, ETH2, at("fe80::c2", 546, ETH2), now(0), &mut table);
    let p = &out[0].payload;
    assert_eq!(&p[2..18], &a("2001:db8:2::1").octets());
    assert_eq!(raw_options(p), vec![(OPTION_RELAY_MSG, sol.clone())]);
    // eth1 has no link-address: its Interface-ID goes in regardless, or no reply could find it.
    let out = r.handle(&sol, ETH1, client(), now(0), &mut table);
    assert_eq!(
        raw_options(&out[0].payload),
        vec![
            (OPTION_INTERFACE_ID, b"eth1".to_vec()),
            (OPTION_RELAY_MSG, sol)
        ]
    );
}

#[test]
fn every_server_gets_a_copy_multicast_ones_out_of_their_interface() {
    let mut s = settings();
    s.servers.push(Server6::multicast(ALL_DHCP_SERVERS, UPLINK));
    s.servers.push(Server6::multicast(
        ALL_DHCP_RELAY_AGENTS_AND_SERVERS,
        UPLINK,
    ));
    s.servers.push(Server6 {
        interface: Some(UPLINK),
        ..Server6::new(a("fe80::5"))
    });
    let mut r = Relay6::new(s).unwrap();
    let out = r.handle(
        &solicit(1),
        ETH1,
        client(),
        now(0),
        &mut LocationTable::new(),
    );
    let to: Vec<_> = out.iter().map(|t| (t.destination, t.interface)).collect();
    assert_eq!(
        to,
        vec![
            (server(), None),
            (at("ff05::1:3", 547, 0), Some(UPLINK)),
            (at("ff02::1:2", 547, UPLINK), Some(UPLINK)),
            (at("fe80::5", 547, UPLINK), Some(UPLINK)),
        ]
    );
    assert!(out.windows(2).all(|w| w[0].payload == w[1].payload));
    assert_eq!(r.counters().forwarded, 1);
}

#[test]
fn a_relay_forw_from_below_goes_up_one_hop_higher() {
    let mut s = settings();
    s.insert.interface_id = false;
    let mut r = Relay6::new(s).unwrap();
    let mut table = LocationTable::new();
    let below = |hop: u8| {
        Repr::Relay(RelayMessage {
            msg_type: MessageType::RelayForw,
            hop_count: hop,
            link_address: a("2001:db8:77::1"),
            peer_address: a("fe80::c1"),
            options: vec![DhcpOption::RelayMsg(Box::new(
                Repr::from_bytes(&solicit(5)).unwrap(),
            ))],
        })
        .to_vec()
    };
    // From a link-local address: our link-address (eth2 has one), no Interface-ID needed.
    let out = r.handle(
        &below(3),
        ETH2,
        at("fe80::b1", 547, ETH2),
        now(0),
        &mut table,
    );
    let p = &out[0].payload;
    assert_eq!(p[1], 4);
    assert_eq!(&p[2..18], &a("2001:db8:2::1").octets());
    assert_eq!(&p[18..34], &a("fe80::b1").octets());
    assert_eq!(
        raw_options(p),
        vec![
            (OPTION_RELAY_ID, relay_duid().to_vec()),
            (OPTION_RELAY_MSG, below(3))
        ]
    );
    // From a global address: link-address 0 (§19.1.2), so the Interface-ID must go in.
    let out = r.handle(
        &below(0),
        ETH2,
        at("2001:db8:9::1", 547, 0),
        now(0),
        &mut table,
    );
    let p = &out[0].payload;
    assert_eq!(p[1], 1);
    assert_eq!(&p[2..18], &Ipv6Addr::UNSPECIFIED.octets());
    assert_eq!(raw_options(p)[0], (OPTION_INTERFACE_ID, b"port-2".to_vec()));
}

#[test]
fn the_hop_count_limit_stops_a_relay_forw() {
    let mut r = relay();
    let mut table = LocationTable::new();
    let forw = |hop: u8| {
        let mut m = vec![12, hop];
        m.extend_from_slice(&[0; 32]);
        m.extend_from_slice(&[0, 9, 0, 4]);
        m.extend_from_slice(&[1, 0, 0, 1]);
        m
    };
    let seven = r.handle(&forw(7), ETH1, at("fe80::b", 547, ETH1), now(0), &mut table);
    assert_eq!(seven[0].payload[1], 8);
    let eight = r.handle(&forw(8), ETH1, at("fe80::b", 547, ETH1), now(0), &mut table);
    assert!(eight.is_empty());
    assert_eq!(r.counters().dropped(Drop6::HopLimit), 1);
    assert_eq!(r.counters().forwarded, 1);
}

#[test]
fn server_messages_from_downstream_and_client_messages_from_upstream_are_dropped() {
    let mut r = relay();
    let mut table = LocationTable::new();
    let adv = message(MessageType::Advertise, 1, vec![]).to_vec();
    let rep = reply(1, 1, vec![ia_na("2001:db8:1::10", 3600)]);
    let repl = answer(
        &r.handle(&solicit(1), ETH1, client(), now(0), &mut table)[0].payload,
        &rep,
    );
    for m in [&adv, &rep, &repl] {
        assert!(r.handle(m, ETH1, client(), now(0), &mut table).is_empty());
    }
    assert_eq!(r.counters().dropped(Drop6::ServerMessageDownstream), 3);
    assert!(r
        .handle(&solicit(2), UPLINK, server(), now(0), &mut table)
        .is_empty());
    assert!(r
        .handle(&adv, UPLINK, server(), now(0), &mut table)
        .is_empty());
    assert_eq!(r.counters().dropped(Drop6::NotDownstream), 2);
    assert!(table.is_empty(), "a REPLY from downstream is not gleaned");
    // An unknown message type from a client is relayed (RFC 7283 §4).
    let unknown = message(MessageType::Unknown(200), 1, vec![]).to_vec();
    assert_eq!(
        r.handle(&unknown, ETH1, client(), now(0), &mut table).len(),
        1
    );
}

#[test]
fn a_relay_repl_comes_down_unwrapped_byte_for_byte() {
    let mut r = relay();
    let mut table = LocationTable::new();
    let adv = message(
        MessageType::Advertise,
        0x0a0b0c,
        vec![
            DhcpOption::ClientId(duid(1)),
            DhcpOption::Other {
                code: 0x9999,
                data: vec![1, 2, 3],
            },
        ],
    )
    .to_vec();
    let out = exchange(&mut r, &mut table, &solicit(0x0a0b0c), &adv, 0);
    assert_eq!(
        out,
        vec![Transmit6 {
            destination: client(),
            interface: Some(ETH1),
            payload: adv,
        }]
    );
    assert_eq!(r.counters().replied, 1);
    assert!(table.is_empty(), "an ADVERTISE binds nothing");
}

#[test]
fn without_interface_id_the_link_address_finds_the_interface() {
    let mut s = settings();
    s.insert.interface_id = false;
    let mut r = Relay6::new(s).unwrap();
    let mut table = LocationTable::new();
    let c2 = at("fe80::c2", 546, ETH2);
    let up = r.handle(&solicit(1), ETH2, c2, now(0), &mut table);
    let adv = message(MessageType::Advertise, 1, vec![]).to_vec();
    let down = r.handle(
        &answer(&up[0].payload, &adv),
        UPLINK,
        server(),
        now(0),
        &mut table,
    );
    assert_eq!(down[0].destination, c2);
    assert_eq!(down[0].interface, Some(ETH2));
}

#[test]
fn relay_repls_that_are_not_ours_are_dropped() {
    let mut r = relay();
    let mut table = LocationTable::new();
    let adv = Repr::from_bytes(&message(MessageType::Advertise, 1, vec![]).to_vec()).unwrap();
    let repl = |link: &str, peer: &str, options: Vec<DhcpOption>| {
        Repr::Relay(RelayMessage {
            msg_type: MessageType::RelayRepl,
            hop_count: 0,
            link_address: a(link),
            peer_address: a(peer),
            options,
        })
        .to_vec()
    };
    let msg = || DhcpOption::RelayMsg(Box::new(adv.clone()));
    let iid = |v: &[u8]| DhcpOption::InterfaceId(v.to_vec());
    let cases = [
        (
            repl("::", "fe80::c1", vec![iid(b"eth9"), msg()]),
            Drop6::UnknownInterfaceId,
        ),
        (
            repl("2001:db8:2::1", "fe80::c1", vec![iid(b"eth9"), msg()]),
            Drop6::UnknownInterfaceId,
        ),
        (
            repl("2001:db8:3::1", "fe80::c1", vec![msg()]),
            Drop6::UnknownLinkAddress,
        ),
        (
            repl("::", "fe80::c1", vec![msg()]),
            Drop6::UnknownLinkAddress,
        ),
        (
            repl("::", "fe80::c1", vec![iid(b"eth1")]),
            Drop6::NoRelayMessage,
        ),
        (
            repl("::", "::", vec![iid(b"eth1"), msg()]),
            Drop6::BadPeerAddress,
        ),
        (
            repl("::", "ff02::1", vec![iid(b"eth1"), msg()]),
            Drop6::BadPeerAddress,
        ),
    ];
    for (m, reason) in &cases {
        assert!(r.handle(m, UPLINK, server(), now(0), &mut table).is_empty());
        assert!(r.counters().dropped(*reason) > 0, "{reason:?}");
    }
    // A good one, but not from the server.
    let good = repl("::", "fe80::c1", vec![iid(b"eth1"), msg()]);
    assert!(r
        .handle(
            &good,
            UPLINK,
            at("2001:db8::666", 547, 0),
            now(0),
            &mut table
        )
        .is_empty());
    assert_eq!(r.counters().dropped(Drop6::NotFromServer), 1);
    assert_eq!(
        r.handle(&good, UPLINK, server(), now(0), &mut table).len(),
        1
    );
    assert_eq!(r.counters().dropped_total(), cases.len() as u64 + 1);
}

#[test]
fn behind_a_multicast_server_any_upstream_source_may_answer() {
    let mut s = settings();
    s.servers = vec![Server6::multicast(ALL_DHCP_SERVERS, UPLINK)];
    let mut r = Relay6::new(s).unwrap();
    let mut table = LocationTable::new();
    let up = r.handle(&solicit(1), ETH1, client(), now(0), &mut table);
    let adv = message(MessageType::Advertise, 1, vec![]).to_vec();
    let down = r.handle(
        &answer(&up[0].payload, &adv),
        UPLINK,
        at("2001:db8::6", 547, 0),
        now(0),
        &mut table,
    );
    assert_eq!(down.len(), 1);
}

#[test]
fn nested_relays_the_inner_relay_repl_goes_to_the_relay_below_and_is_gleaned() {
    let mut r = relay();
    let mut table = LocationTable::new();
    let lower = at("fe80::b1", 547, ETH1);
    let request = message(
        MessageType::Request,
        7,
        vec![DhcpOption::ClientId(duid(1)), ia_na("2001:db8:1::10", 0)],
    );
    let forw = Repr::Relay(RelayMessage {
        msg_type: MessageType::RelayForw,
        hop_count: 0,
        link_address: a("2001:db8:1::1"),
        peer_address: a("fe80::c1"),
        options: vec![
            DhcpOption::InterfaceId(b"lower-7".to_vec()),
            DhcpOption::RelayMsg(Box::new(request)),
        ],
    })
    .to_vec();
    let up = r.handle(&forw, ETH1, lower, now(0), &mut table);
    assert_eq!(up[0].payload[1], 1);
    // The server answers through both hops.
    let rep = reply(7, 1, vec![ia_na("2001:db8:1::10", 3600)]);
    let inner_repl = answer(&forw, &rep);
    let outer = answer(&up[0].payload, &inner_repl);
    let down = r.handle(&outer, UPLINK, server(), now(1000), &mut table);
    assert_eq!(
        down,
        vec![Transmit6 {
            destination: lower,
            interface: Some(ETH1),
            payload: inner_repl,
        }]
    );
    let l = table.get("2001:db8:1::10/128".parse().unwrap()).unwrap();
    assert_eq!(l.interface.as_deref(), Some("eth1"));
    assert_eq!(l.client_id, Some(duid(1).to_vec()));
}

#[test]
fn a_reply_gleans_its_addresses_and_prefixes() {
    let mut r = relay();
    // The on-demand lookups ask to be told what is gleaned.
    r.report_gleaned();
    let mut table = LocationTable::new();
    let rep = reply(
        9,
        1,
        vec![
            ia_na("2001:db8:1::10", 3600),
            ia_pd("2001:db8:100::", 56, 7200),
            // Not ours to glean: a temporary address.
            DhcpOption::IaTa {
                iaid: 3,
                options: vec![],
            },
        ],
    );
    let request = message(MessageType::Request, 9, vec![DhcpOption::ClientId(duid(1))]).to_vec();
    let down = exchange(&mut r, &mut table, &request, &rep, 5_000);
    assert_eq!(down[0].payload, rep);
    assert_eq!(table.len(), 2);
    let mut remote = 3561u32.to_be_bytes().to_vec();
    remote.extend_from_slice(b"sub-1");
    let address = table.get("2001:db8:1::10/128".parse().unwrap()).unwrap();
    assert_eq!(address.origin, Origin::Gleaned);
    assert_eq!(address.client_id, Some(duid(1).to_vec()));
    assert_eq!(address.interface.as_deref(), Some("eth1"));
    assert_eq!(address.circuit_id.as_deref(), Some(&b"eth1"[..]));
    assert_eq!(address.remote_id, Some(remote));
    assert_eq!(address.cltt, Some(T0 + 5));
    assert_eq!(address.expires, T0 + 5 + 3600);
    let prefix = table
        .lookup(a("2001:db8:100:ff::1").into(), T0 + 10)
        .unwrap();
    assert_eq!(prefix.bound, "2001:db8:100::/56".parse::<IpNet>().unwrap());
    assert_eq!(prefix.expires, T0 + 5 + 7200);
    assert_eq!(r.counters().gleaned, 2);
    let told: Vec<String> = r
        .take_gleaned()
        .unwrap()
        .iter()
        .map(|n| n.to_string())
        .collect();
    assert_eq!(told, ["2001:db8:1::10/128", "2001:db8:100::/56"]);
    assert_eq!(r.take_gleaned(), Some(vec![]));
}

#[test]
fn a_zero_valid_lifetime_removes_the_clients_entry_only() {
    let mut r = relay();
    let mut table = LocationTable::new();
    let request = message(MessageType::Renew, 1, vec![DhcpOption::ClientId(duid(1))]).to_vec();
    let bound = reply(
        1,
        1,
        vec![
            ia_na("2001:db8:1::10", 3600),
            ia_pd("2001:db8:100::", 56, 3600),
        ],
    );
    exchange(&mut r, &mut table, &request, &bound, 0);
    assert_eq!(table.len(), 2);
    // Another client's Reply cannot take them away.
    let other = reply(
        2,
        2,
        vec![ia_na("2001:db8:1::10", 0), ia_pd("2001:db8:100::", 56, 0)],
    );
    exchange(&mut r, &mut table, &request, &other, 0);
    assert_eq!(table.len(), 2);
    let ended = reply(
        3,
        1,
        vec![ia_na("2001:db8:1::10", 0), ia_pd("2001:db8:100::", 56, 0)],
    );
    exchange(&mut r, &mut table, &request, &ended, 0);
    assert!(table.is_empty());
    assert_eq!(r.counters().removed, 2);
}

#[test]
fn failed_ias_and_failed_replies_glean_nothing() {
    let mut r = relay();
    let mut table = LocationTable::new();
    let request = message(MessageType::Renew, 1, vec![DhcpOption::ClientId(duid(1))]).to_vec();
    let no_binding = DhcpOption::IaNa {
        iaid: 1,
        t1: 0,
        t2: 0,
        options: vec![
            DhcpOption::IaAddr {
                address: a("2001:db8:1::10"),
                preferred_lifetime: 10,
                valid_lifetime: 10,
                options: vec![],
            },
            DhcpOption::status_code(status::NO_BINDING, "no binding"),
        ],
    };
    exchange(
        &mut r,
        &mut table,
        &request,
        &reply(1, 1, vec![no_binding]),
        0,
    );
    let failed = reply(
        1,
        1,
        vec![
            ia_pd("2001:db8:100::", 56, 3600),
            DhcpOption::status_code(status::UNSPEC_FAIL, ""),
        ],
    );
    exchange(&mut r, &mut table, &request, &failed, 0);
    assert!(table.is_empty());
    assert_eq!(r.counters().replied, 2);
}

#[test]
fn the_reply_to_a_release_removes_what_it_released() {
    let mut r = relay();
    let mut table = LocationTable::new();
    let request = message(MessageType::Request, 1, vec![DhcpOption::ClientId(duid(1))]).to_vec();
    let bound = reply(
        1,
        1,
        vec![
            ia_na("2001:db8:1::10", 3600),
            ia_pd("2001:db8:100::", 56, 3600),
        ],
    );
    exchange(&mut r, &mut table, &request, &bound, 0);
    // Client 2 holds an address client 1 will (wrongly) list.
    exchange(
        &mut r,
        &mut table,
        &request,
        &reply(2, 2, vec![ia_na("2001:db8:1::20", 3600)]),
        0,
    );
    assert_eq!(table.len(), 3);

    let release = message(
        MessageType::Release,
        0x42,
        vec![
            DhcpOption::ClientId(duid(1)),
            ia_na("2001:db8:1::10", 0),
            ia_na("2001:db8:1::20", 0),
            ia_pd("2001:db8:100::", 56, 0),
        ],
    )
    .to_vec();
    let up = r.handle(&release, ETH1, client(), now(1000), &mut table);
    assert_eq!(r.pending(), 1);
    // Not yet: the server may not have released anything.
    assert_eq!(table.len(), 3);
    let done = reply(0x42, 1, vec![DhcpOption::status_code(status::SUCCESS, "")]);
    r.handle(
        &answer(&up[0].payload, &done),
        UPLINK,
        server(),
        now(1100),
        &mut table,
    );
    assert_eq!(r.pending(), 0);
    let left: Vec<_> = table.iter().map(|l| l.bound.to_string()).collect();
    assert_eq!(left, ["2001:db8:1::20/128"]);
    assert_eq!(r.counters().removed, 2);
}

#[test]
fn a_failed_release_and_a_lapsed_one_remove_nothing() {
    let mut r = relay();
    let mut table = LocationTable::new();
    let request = message(MessageType::Request, 1, vec![DhcpOption::ClientId(duid(1))]).to_vec();
    exchange(
        &mut r,
        &mut table,
        &request,
        &reply(1, 1, vec![ia_na("2001:db8:1::10", 3600)]),
        0,
    );
    let release = message(
        MessageType::Release,
        0x42,
        vec![DhcpOption::ClientId(duid(1)), ia_na("2001:db8:1::10", 0)],
    )
    .to_vec();
    let failed = reply(
        0x42,
        1,
        vec![DhcpOption::status_code(status::UNSPEC_FAIL, "")],
    );
    exchange(&mut r, &mut table, &release, &failed, 1000);
    assert_eq!(table.len(), 1);
    // The Reply comes after the relay stopped waiting: it is read as any Reply (no IA: nothing).
    let up = r.handle(&release, ETH1, client(), now(2000), &mut table);
    let done = reply(0x42, 1, vec![]);
    let late = now(2000 + PENDING_MS);
    r.handle(
        &answer(&up[0].payload, &done),
        UPLINK,
        server(),
        late,
        &mut table,
    );
    assert_eq!(r.counters().pending_lapsed, 1);
    assert_eq!(table.len(), 1);
}

#[test]
fn the_reply_to_a_decline_removes_the_declined_address() {
    let mut r = relay();
    let mut table = LocationTable::new();
    let request = message(MessageType::Request, 1, vec![DhcpOption::ClientId(duid(1))]).to_vec();
    exchange(
        &mut r,
        &mut table,
        &request,
        &reply(1, 1, vec![ia_na("2001:db8:1::10", 3600)]),
        0,
    );
    let decline = message(
        MessageType::Decline,
        5,
        vec![DhcpOption::ClientId(duid(1)), ia_na("2001:db8:1::10", 0)],
    )
    .to_vec();
    exchange(&mut r, &mut table, &decline, &reply(5, 1, vec![]), 0);
    assert!(table.is_empty());
}

#[test]
fn pending_releases_are_bounded() {
    let mut r = relay();
    let mut table = LocationTable::new();
    for xid in 0..MAX_PENDING as u32 + 10 {
        let release = message(
            MessageType::Release,
            xid,
            vec![DhcpOption::ClientId(duid(1))],
        );
        r.handle(&release.to_vec(), ETH1, client(), now(0), &mut table);
    }
    assert_eq!(r.pending(), MAX_PENDING);
    assert_eq!(r.counters().pending_lapsed, 10);
}

#[test]
fn what_the_codec_cannot_parse_is_still_relayed_but_not_gleaned() {
    let mut r = relay();
    let mut table = LocationTable::new();
    // An IA_NA three octets long: no typed parse, but a well-framed option.
    let odd = [7u8, 0, 0, 1, 0, 3, 0, 3, 1, 2, 3];
    let sol = [1u8, 0, 0, 1, 0, 3, 0, 2, 9, 9];
    let up = r.handle(&sol, ETH1, client(), now(0), &mut table);
    assert_eq!(raw_options(&up[0].payload).last().unwrap().1, sol);
    let mut repl = up[0].payload.clone();
    repl[0] = 13;
    let at_msg = repl.len() - sol.len() - 4;
    repl.truncate(at_msg);
    repl.extend_from_slice(&[0, 9, 0, odd.len() as u8]);
    repl.extend_from_slice(&odd);
    let down = r.handle(&repl, UPLINK, server(), now(0), &mut table);
    assert_eq!(down[0].payload, odd);
    assert_eq!(r.counters().unparsed_replies, 1);
    assert!(table.is_empty());
}

#[test]
fn hostile_datagrams_are_dropped_as_malformed() {
    let mut r = relay();
    let mut table = LocationTable::new();
    let good_repl = {
        let up = r.handle(&solicit(1), ETH1, client(), now(0), &mut table);
        answer(
            &up[0].payload,
            &message(MessageType::Advertise, 1, vec![]).to_vec(),
        )
    };
    let cases: Vec<(Vec<u8>, u32)> = vec![
        (vec![], ETH1),
        (vec![1, 0], ETH1),
        (vec![12; 33], ETH1),
        (vec![13; 33], UPLINK),
        // Options running past the end.
        (good_repl[..good_repl.len() - 1].to_vec(), UPLINK),
        // A RELAY_MSG holding nothing.
        (
            {
                let mut m = vec![13, 0];
                m.extend_from_slice(&[0; 32]);
                m.extend_from_slice(&[0, 18, 0, 4]);
                m.extend_from_slice(b"eth1");
                m.extend_from_slice(&[0, 9, 0, 0]);
                m
            },
            UPLINK,
        ),
    ];
    for (m, i) in &cases {
        assert!(r.handle(m, *i, server(), now(0), &mut table).is_empty());
    }
    assert_eq!(r.counters().dropped(Drop6::Malformed), cases.len() as u64);
    // Still fine afterwards.
    assert_eq!(
        r.handle(&good_repl, UPLINK, server(), now(0), &mut table)
            .len(),
        1
    );
}

#[test]
fn settings_are_checked_naming_the_culprit() {
    let check = |f: &dyn Fn(&mut Settings6)| {
        let mut s = settings();
        f(&mut s);
        Relay6::new(s).err()
    };
    assert_eq!(check(&|_| {}), None);
    assert_eq!(
        check(&|s| s.interfaces.clear()),
        Some(SettingsError6::NoInterfaces)
    );
    assert_eq!(
        check(&|s| s.servers.clear()),
        Some(SettingsError6::NoServers)
    );
    assert_eq!(
        check(&|s| s.interfaces[1].index = ETH1),
        Some(SettingsError6::DuplicateIndex(ETH1))
    );
    assert_eq!(
        check(&|s| s.interfaces[1].interface_id = b"eth1".to_vec()),
        Some(SettingsError6::DuplicateInterfaceId {
            interface: "eth2".into()
        })
    );
    assert_eq!(
        check(&|s| s.interfaces[0].interface_id = vec![]),
        Some(SettingsError6::BadInterfaceId {
            interface: "eth1".into()
        })
    );
    assert_eq!(
        check(&|s| s.interfaces[0].remote_id.as_mut().unwrap().remote_id = vec![0; 252]),
        Some(SettingsError6::BadRemoteId {
            interface: "eth1".into()
        })
    );
    assert_eq!(
        check(&|s| s.interfaces[1].link_address = a("fe80::1")),
        Some(SettingsError6::BadLinkAddress {
            interface: "eth2".into()
        })
    );
    assert_eq!(
        check(&|s| s.interfaces[0].link_address = a("2001:db8:2::1")),
        Some(SettingsError6::DuplicateLinkAddress {
            interface: "eth2".into()
        })
    );
    assert_eq!(
        check(&|s| s.servers.push(Server6::new(ALL_DHCP_SERVERS))),
        Some(SettingsError6::BadServer {
            address: ALL_DHCP_SERVERS
        })
    );
    assert_eq!(
        check(&|s| s.relay_id = Some(Duid::Other {
            duid_type: 9,
            data: vec![]
        })),
        Some(SettingsError6::BadRelayId)
    );
    // Every error names what is wrong in words.
    let e = check(&|s| s.interfaces[1].link_address = a("fe80::1")).unwrap();
    assert!(e.to_string().contains("eth2"), "{e}");
}

mod properties {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        /// Whatever arrives wherever: no panic, and what goes down is a RELAY_MSG's body of
        /// what came up, what goes up carries what came in byte for byte.
        #[test]
        fn any_datagram_anywhere(
            datagrams in prop::collection::vec(
                (prop::collection::vec(any::<u8>(), 0..200), 0u8..4, any::<bool>()),
                1..16,
            )
        ) {
            let mut r = relay();
            let mut table = LocationTable::new();
            for (n, (mut d, arrival, relay_type)) in datagrams.into_iter().enumerate() {
                if relay_type && !d.is_empty() {
                    d[0] = 12 + (d[0] & 1);
                }
                let (interface, source) = match arrival {
                    0 => (ETH1, client()),
                    1 => (ETH2, at("2001:db8:9::1", 547, 0)),
                    2 => (UPLINK, server()),
                    _ => (UPLINK, at("2001:db8::666", 547, 0)),
                };
                let out = r.handle(&d, interface, source, now(n as u64 * 1000), &mut table);
                for t in &out {
                    let p = Packet::new_checked(&t.payload[..]).unwrap();
                    if interface == UPLINK {
                        prop_assert!(matches!(t.interface, Some(ETH1) | Some(ETH2)));
                        prop_assert!(d.windows(t.payload.len()).any(|w| w == &t.payload[..]));
                    } else {
                        prop_assert_eq!(p.msg_type(), MessageType::RelayForw);
                        let body = p.option(OPTION_RELAY_MSG).unwrap().unwrap().data;
                        prop_assert_eq!(body, &d[..]);
                    }
                }
            }
            prop_assert!(r.pending() <= MAX_PENDING);
        }
    }
}
