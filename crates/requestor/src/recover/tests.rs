//! The merge rule by hand (sans-IO), then the driver against in-process loopback servers that
//! stream hand-built replies: overlap across servers, a server down, a stream broken midway.

use std::borrow::Cow;
use std::io::{Read, Write};
use std::net::{Ipv4Addr, Ipv6Addr, TcpListener, TcpStream};
use std::thread;
use std::time::Duration;

use lessor_wire::framing::{Decoder, Dialect, Encoder, MAX_MESSAGE_SIZE};
use lessor_wire::v4::{DhcpOption, MessageType, Repr, StatusCode, BOOTREPLY};
use lessor_wire::v6::{self as wire6, Duid};

use super::*;
use crate::bulk::{End, End6};
use crate::reply::{LeaseInfo, LeaseState};
use crate::v6::{Address6, ClientData6, Prefix6, QueryKey6};
use crate::QueryKey;

fn ip(n: u8) -> Ipv4Addr {
    Ipv4Addr::new(192, 0, 2, n)
}

fn lease(n: u8, cltt: Option<u32>, mac: u8) -> LeaseInfo {
    LeaseInfo {
        state: LeaseState::Active,
        address: Some(ip(n)),
        chaddr: vec![2, 0, 0, 0, 0, mac],
        cltt_ago: cltt,
        lease_remaining: Some(3600),
        ..LeaseInfo::default()
    }
}

/// Offers `a` from server 0 and `b` from server 1 in the order given; the MAC of the winner.
fn winner(a: Option<u32>, b: Option<u32>, b_first: bool) -> u8 {
    let mut m = Merged::new();
    let (a, b) = (lease(1, a, 0xa), lease(1, b, 0xb));
    if b_first {
        m.offer(1, b);
        m.offer(0, a);
    } else {
        m.offer(0, a);
        m.offer(1, b);
    }
    assert_eq!(m.len(), 1);
    assert_eq!(m.conflicts(), 1);
    let (server, l) = m.get(&ip(1)).unwrap();
    assert_eq!(usize::from(l.chaddr[5] == 0xb), server);
    l.chaddr[5]
}

#[test]
fn the_most_recent_cltt_wins_whichever_arrives_first() {
    for b_first in [false, true] {
        assert_eq!(winner(Some(100), Some(5), b_first), 0xb, "{b_first}");
        assert_eq!(winner(Some(5), Some(100), b_first), 0xa, "{b_first}");
    }
}

#[test]
fn a_cltt_beats_none_and_ties_go_to_the_server_listed_first() {
    for b_first in [false, true] {
        assert_eq!(winner(None, Some(1_000_000), b_first), 0xb, "{b_first}");
        assert_eq!(winner(Some(1_000_000), None, b_first), 0xa, "{b_first}");
        assert_eq!(winner(Some(7), Some(7), b_first), 0xa, "{b_first}");
        assert_eq!(winner(None, None, b_first), 0xa, "{b_first}");
    }
}

#[test]
fn the_same_servers_later_word_replaces_its_earlier_and_disjoint_bindings_add_up() {
    let mut m = Merged::new();
    assert_eq!(m.offer(1, lease(1, Some(5), 1)), Offer::New);
    // A retried stream: older CLTT, same server: it is the server's newer word.
    assert_eq!(m.offer(1, lease(1, Some(50), 2)), Offer::Replaced);
    assert_eq!(m.offer(0, lease(1, Some(60), 3)), Offer::Lost);
    assert_eq!(m.offer(0, lease(2, None, 4)), Offer::New);
    assert_eq!(m.conflicts(), 1);
    let all = m.into_sorted();
    let got: Vec<(usize, Ipv4Addr, u8)> = all
        .iter()
        .map(|(s, l)| (*s, l.address.unwrap(), l.chaddr[5]))
        .collect();
    assert_eq!(got, [(1, ip(1), 2), (0, ip(2), 4)]);
}

#[test]
fn v4_times_are_moved_to_the_start() {
    let mut l = lease(1, Some(30), 1);
    l.t1_remaining = Some(u32::MAX);
    l.t2_remaining = Some(u32::MAX - 1);
    v4::at_start(&mut l, 40);
    assert_eq!(l.cltt_ago, Some(0), "heard from during the recovery");
    assert_eq!(l.lease_remaining, Some(3640));
    assert_eq!(l.t1_remaining, Some(u32::MAX), "infinity stays");
    assert_eq!(
        l.t2_remaining,
        Some(u32::MAX - 1),
        "saturates below infinity"
    );
    let mut l = lease(1, Some(30), 1);
    v4::at_start(&mut l, 2);
    assert_eq!(l.cltt_ago, Some(28));
}

fn a6(n: u16) -> Ipv6Addr {
    Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, n)
}

fn p6(n: u16) -> Ipv6Addr {
    Ipv6Addr::new(0x2001, 0xdb8, 0x100 + n, 0, 0, 0, 0, 0)
}

fn client_duid(n: u8) -> Duid {
    Duid::Ll {
        hardware_type: 1,
        link_layer_address: vec![2, 0, 0, 0, 0, n],
    }
}

fn client6(n: u8, addrs: &[u16], prefixes: &[(u16, u8)], clt: Option<u32>) -> ClientData6 {
    ClientData6 {
        link: None,
        client_id: Some(client_duid(n)),
        addresses: addrs
            .iter()
            .map(|&a| Address6 {
                address: a6(a),
                preferred_lifetime: 100,
                valid_lifetime: 200,
            })
            .collect(),
        prefixes: prefixes
            .iter()
            .map(|&(p, length)| Prefix6 {
                prefix: p6(p),
                length,
                preferred_lifetime: 300,
                valid_lifetime: u32::MAX,
            })
            .collect(),
        clt_time: clt,
        relay: None,
        options: Vec::new(),
    }
}

fn split(c: ClientData6, elapsed: u32, now_unix: u64) -> (Vec<Binding6>, u64) {
    let mut out = Vec::new();
    let bad = Binding6::split(c, None, elapsed, now_unix, &mut out);
    (out, bad)
}

#[test]
fn v6_client_data_becomes_one_binding_per_address_and_prefix() {
    let (b, bad) = split(client6(1, &[1, 2], &[(1, 56), (2, 200)], Some(10)), 3, 0);
    assert_eq!(bad, 1, "the /200");
    let bounds: Vec<Bound6> = b.iter().map(|b| b.bound).collect();
    assert_eq!(
        bounds,
        [
            Bound6::Address(a6(1)),
            Bound6::Address(a6(2)),
            Bound6::Prefix(p6(1), 56)
        ]
    );
    assert!(b.iter().all(|b| b.cltt_ago == Some(7)));
    assert_eq!((b[0].preferred_lifetime, b[0].valid_lifetime), (103, 203));
    assert_eq!(
        (b[2].preferred_lifetime, b[2].valid_lifetime),
        (303, u32::MAX)
    );
    assert!(b.iter().all(|b| b.client_id == Some(client_duid(1))));
    // Nothing bound: unusable. An absolute CLT_TIME (ISC dhcpd) is read against the wall clock.
    assert_eq!(split(client6(2, &[], &[], Some(1)), 0, 0), (Vec::new(), 1));
    let (b, _) = split(client6(3, &[3], &[], Some(1_700_000_000)), 5, 1_700_000_100);
    assert_eq!(b[0].cltt_ago, Some(95));
}

#[test]
fn v6_merge_is_per_address_and_per_prefix_with_its_length() {
    let mut m = Merged::new();
    // Server 1 speaks last about the address and the /56, server 0 about the /60.
    let (older, _) = split(client6(1, &[1], &[(1, 56), (1, 60)], Some(50)), 0, 0);
    let (newer, _) = split(client6(2, &[1], &[(1, 56)], Some(5)), 0, 0);
    let (none, _) = split(client6(3, &[], &[(1, 60)], None), 0, 0);
    for b in newer {
        m.offer(1, b);
    }
    for b in older {
        m.offer(0, b);
    }
    for b in none {
        m.offer(1, b);
    }
    let got: Vec<(usize, Bound6, Option<Duid>)> = m
        .into_sorted()
        .into_iter()
        .map(|(s, b)| (s, b.bound, b.client_id))
        .collect();
    assert_eq!(
        got,
        [
            (1, Bound6::Address(a6(1)), Some(client_duid(2))),
            (1, Bound6::Prefix(p6(1), 56), Some(client_duid(2))),
            (0, Bound6::Prefix(p6(1), 60), Some(client_duid(1))),
        ]
    );
}

// The driver, against loopback servers in this process.

fn frame(dialect: Dialect, message: &[u8], out: &mut Vec<u8>) {
    Encoder::new(dialect, MAX_MESSAGE_SIZE)
        .encode_to_vec(message, out)
        .unwrap();
}

fn reply4(xid: u32, kind: MessageType, l: Option<&LeaseInfo>, extra: Vec<DhcpOption>) -> Repr {
    let mut r = Repr {
        op: BOOTREPLY,
        xid,
        ..Repr::default()
    };
    r.options.push(DhcpOption::MessageType(kind));
    if let Some(l) = l {
        r.ciaddr = l.address.unwrap_or(Ipv4Addr::UNSPECIFIED);
        r.htype = 1;
        r.hlen = 6;
        r.chaddr[..6].copy_from_slice(&l.chaddr);
        r.options
            .extend(l.cltt_ago.map(DhcpOption::ClientLastTransactionTime));
        r.options.push(DhcpOption::IpAddressLeaseTime(3600));
    }
    r.options.extend(extra);
    r
}

/// Reads one query frame; returns its message.
fn read_query(s: &mut TcpStream, dialect: Dialect) -> Vec<u8> {
    let mut d = Decoder::new(dialect, MAX_MESSAGE_SIZE);
    let mut b = [0u8; 1];
    loop {
        s.read_exact(&mut b).unwrap();
        if let Some(m) = d.decode(&b).unwrap().message {
            return m.to_vec();
        }
    }
}

/// What a fake DHCPv4 server does with each connection, in turn.
enum Conn4 {
    /// Streams these leases and DHCPLEASEQUERYDONE (or the draft's DHCPLEASEDONE).
    Serve(Vec<LeaseInfo>),
    /// Streams these leases, then closes mid-query.
    Drop(Vec<LeaseInfo>),
    /// Answers DHCPLEASEQUERYDONE with status NotAllowed (rfc6926).
    Refuse,
}

fn server4(dialect: Dialect, conns: Vec<Conn4>) -> (SocketAddr, thread::JoinHandle<()>) {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = l.local_addr().unwrap();
    let handle = thread::spawn(move || {
        for conn in conns {
            let (mut s, _) = l.accept().unwrap();
            let q = read_query(&mut s, dialect);
            let xid = u32::from_be_bytes([q[4], q[5], q[6], q[7]]);
            let mut out = Vec::new();
            let (leases, end) = match &conn {
                Conn4::Serve(l) => (l.as_slice(), true),
                Conn4::Drop(l) => (l.as_slice(), false),
                Conn4::Refuse => (&[][..], true),
            };
            let data = if dialect == Dialect::Draft {
                MessageType::from(lessor_wire::v4::DraftCodes::default().lease_data)
            } else {
                MessageType::LeaseActive
            };
            for l in leases {
                frame(
                    dialect,
                    &reply4(xid, data, Some(l), vec![]).to_vec(),
                    &mut out,
                );
            }
            if end {
                let (kind, extra) = match (&conn, dialect) {
                    (Conn4::Refuse, _) => (
                        MessageType::LeaseQueryDone,
                        vec![DhcpOption::StatusCode(StatusCode::new(Cow::Owned(
                            b"\x04no".to_vec(),
                        )))],
                    ),
                    (_, Dialect::Draft) => (
                        MessageType::from(lessor_wire::v4::DraftCodes::default().lease_done),
                        vec![],
                    ),
                    _ => (MessageType::LeaseQueryDone, vec![]),
                };
                frame(dialect, &reply4(xid, kind, None, extra).to_vec(), &mut out);
            }
            s.write_all(&out).unwrap();
        }
    });
    (addr, handle)
}

fn fast(mut c: crate::bulk::tcp::Config) -> crate::bulk::tcp::Config {
    c.conn_timeout = Duration::from_secs(2);
    c.data_timeout = Duration::from_secs(2);
    c.first_retry = Duration::from_millis(10);
    c.max_retry = Duration::from_millis(40);
    c
}

fn down() -> SocketAddr {
    // Bound, then released: nothing listens there.
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
}

#[test]
fn two_servers_in_two_dialects_are_merged_by_cltt() {
    let a = vec![
        lease(1, Some(100), 0xa),
        lease(2, Some(5), 0xa),
        lease(3, None, 0xa),
    ];
    let b = vec![
        lease(1, Some(10), 0xb),
        lease(2, Some(50), 0xb),
        lease(4, Some(1), 0xb),
    ];
    let (sa, ha) = server4(Dialect::Rfc6926, vec![Conn4::Serve(a)]);
    let (sb, hb) = server4(Dialect::Draft, vec![Conn4::Serve(b)]);
    let mut r = Recovery4::new(
        vec![(sa, Dialect::Rfc6926), (sb, Dialect::Draft)],
        QueryKey::RelayId(b"relay-1".to_vec()),
    );
    r.bulk = fast(r.bulk);
    let (report, merged) = recover4(&r);
    ha.join().unwrap();
    hb.join().unwrap();
    assert!(report.complete(), "{report:?}");
    let got: Vec<(Ipv4Addr, u8)> = merged
        .into_sorted()
        .into_iter()
        .map(|(_, l)| (l.address.unwrap(), l.chaddr[5]))
        .collect();
    assert_eq!(
        got,
        [(ip(1), 0xb), (ip(2), 0xa), (ip(3), 0xa), (ip(4), 0xb)]
    );
    assert_eq!((report.merged, report.conflicts), (4, 2));
    let s = &report.servers;
    assert_eq!(
        (s[0].server, s[0].streamed, s[0].kept, s[0].retries),
        (sa, 3, 2, 0)
    );
    assert_eq!(
        (s[1].server, s[1].streamed, s[1].kept, s[1].retries),
        (sb, 3, 2, 0)
    );
    assert_eq!(s[0].end, Some(End::Done { bindings: 3 }));
    assert_eq!(s[1].end, Some(End::Done { bindings: 3 }));
    assert!(s.iter().all(|s| s.error.is_none()));
}

#[test]
fn a_server_down_is_retried_then_reported_and_the_others_bindings_kept() {
    let (sa, ha) = server4(
        Dialect::Rfc6926,
        vec![Conn4::Serve(vec![lease(1, Some(3), 1)])],
    );
    let gone = down();
    let mut r = Recovery4::new(
        vec![(gone, Dialect::Rfc6926), (sa, Dialect::Rfc6926)],
        QueryKey::RelayId(b"r".to_vec()),
    );
    r.bulk = fast(r.bulk);
    let (report, merged) = recover4(&r);
    ha.join().unwrap();
    assert!(!report.complete());
    let failed: Vec<_> = report.failed().map(|s| s.server).collect();
    assert_eq!(failed, [gone]);
    let s = &report.servers[0];
    // Waits of 10, 20 and 40 ms: three retries, then the backoff is spent.
    assert_eq!((s.retries, s.streamed, s.end.is_none()), (3, 0, true));
    assert!(matches!(s.error, Some(Error::Connect(_))), "{:?}", s.error);
    assert_eq!(merged.len(), 1);
    assert_eq!(merged.get(&ip(1)).map(|(s, _)| s), Some(1));
}

#[test]
fn a_stream_broken_midway_is_asked_again_and_an_error_status_is_not() {
    let first = vec![lease(1, Some(3), 1), lease(2, Some(3), 1)];
    let second = vec![lease(1, Some(3), 2), lease(3, Some(3), 2)];
    let (sa, ha) = server4(
        Dialect::Rfc6926,
        vec![Conn4::Drop(first), Conn4::Serve(second)],
    );
    let (sb, hb) = server4(Dialect::Rfc6926, vec![Conn4::Refuse]);
    let mut r = Recovery4::new(
        vec![(sa, Dialect::Rfc6926), (sb, Dialect::Rfc6926)],
        QueryKey::RelayId(b"r".to_vec()),
    );
    r.bulk = fast(r.bulk);
    let (report, merged) = recover4(&r);
    ha.join().unwrap();
    hb.join().unwrap();
    let s = &report.servers;
    assert_eq!((s[0].retries, s[0].streamed), (1, 4));
    assert_eq!(s[0].end, Some(End::Done { bindings: 2 }));
    assert!(s[0].error.is_none());
    assert_eq!(s[1].retries, 0, "an answer is not retried");
    assert!(
        matches!(&s[1].end, Some(End::Failed(st)) if st.name == "NotAllowed"),
        "{:?}",
        s[1].end
    );
    // The retry's word replaces the broken stream's; what only the broken stream said stays.
    let got: Vec<(Ipv4Addr, u8)> = merged
        .into_sorted()
        .into_iter()
        .map(|(_, l)| (l.address.unwrap(), l.chaddr[5]))
        .collect();
    assert_eq!(got, [(ip(1), 2), (ip(2), 1), (ip(3), 2)]);
}

fn me6() -> Duid {
    Duid::Uuid([7; 16])
}

fn server_duid(n: u8) -> Duid {
    Duid::En {
        enterprise_number: 9,
        identifier: vec![n],
    }
}

fn client_data6(c: &ClientData6) -> wire6::DhcpOption {
    let mut o = vec![wire6::DhcpOption::ClientId(c.client_id.clone().unwrap())];
    for a in &c.addresses {
        o.push(wire6::DhcpOption::IaAddr {
            address: a.address,
            preferred_lifetime: a.preferred_lifetime,
            valid_lifetime: a.valid_lifetime,
            options: Vec::new(),
        });
    }
    for p in &c.prefixes {
        o.push(wire6::DhcpOption::IaPrefix {
            preferred_lifetime: p.preferred_lifetime,
            valid_lifetime: p.valid_lifetime,
            prefix_length: p.length,
            prefix: p.prefix,
            options: Vec::new(),
        });
    }
    o.extend(c.clt_time.map(wire6::DhcpOption::CltTime));
    wire6::DhcpOption::ClientData(o)
}

/// A fake RFC 5460 server: one connection, a REPLY with the first client, DATA with the others,
/// DONE.
fn server6(n: u8, clients: Vec<ClientData6>) -> (SocketAddr, thread::JoinHandle<()>) {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = l.local_addr().unwrap();
    let handle = thread::spawn(move || {
        let (mut s, _) = l.accept().unwrap();
        let q = read_query(&mut s, Dialect::V6);
        let xid = u32::from_be_bytes([0, q[1], q[2], q[3]]);
        let message = |t, options| {
            wire6::Repr::ClientServer(wire6::ClientServerMessage {
                msg_type: t,
                transaction_id: xid,
                options,
            })
            .to_vec()
        };
        let mut out = Vec::new();
        for (i, c) in clients.iter().enumerate() {
            let m = if i == 0 {
                message(
                    wire6::MessageType::LeasequeryReply,
                    vec![
                        wire6::DhcpOption::ClientId(me6()),
                        wire6::DhcpOption::ServerId(server_duid(n)),
                        client_data6(c),
                    ],
                )
            } else {
                message(wire6::MessageType::LeasequeryData, vec![client_data6(c)])
            };
            frame(Dialect::V6, &m, &mut out);
        }
        let done = message(wire6::MessageType::LeasequeryDone, vec![]);
        frame(Dialect::V6, &done, &mut out);
        s.write_all(&out).unwrap();
    });
    (addr, handle)
}

#[test]
fn v6_two_servers_merged_per_address_and_prefix() {
    let (sa, ha) = server6(
        1,
        vec![
            client6(1, &[1], &[(1, 56)], Some(100)),
            client6(2, &[2], &[], None),
        ],
    );
    let (sb, hb) = server6(
        2,
        vec![
            client6(3, &[1], &[], Some(10)),
            client6(4, &[2], &[(1, 56)], Some(500)),
        ],
    );
    let servers = [sa, sb]
        .map(|addr| Server6 {
            addr,
            requestor: me6(),
        })
        .to_vec();
    let key = QueryKey6::RelayId {
        duid: server_duid(99),
        link: Ipv6Addr::UNSPECIFIED,
    };
    let mut r = Recovery6::new(servers, key);
    r.bulk.first_retry = Duration::from_millis(10);
    r.bulk.max_retry = Duration::from_millis(40);
    let (report, merged) = recover6(&r);
    ha.join().unwrap();
    hb.join().unwrap();
    assert!(report.complete(), "{report:?}");
    assert_eq!(report.servers[0].end, Some(End6::Done { bindings: 2 }));
    assert_eq!(
        (report.servers[0].streamed, report.servers[1].streamed),
        (2, 2)
    );
    let got: Vec<(Bound6, Option<Duid>, Option<Duid>)> = merged
        .into_sorted()
        .into_iter()
        .map(|(_, b)| (b.bound, b.client_id, b.server_id))
        .collect();
    assert_eq!(
        got,
        [
            // 10 s ago beats 100 s ago.
            (
                Bound6::Address(a6(1)),
                Some(client_duid(3)),
                Some(server_duid(2))
            ),
            // Kept without CLT_TIME (erratum 3763), but any CLT_TIME beats none.
            (
                Bound6::Address(a6(2)),
                Some(client_duid(4)),
                Some(server_duid(2))
            ),
            (
                Bound6::Prefix(p6(1), 56),
                Some(client_duid(1)),
                Some(server_duid(1))
            ),
        ]
    );
}
