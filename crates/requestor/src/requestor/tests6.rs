//! The DHCPv6 requestor (RFC 5007) on an injected clock: retransmission (§4.1.4), reply
//! validation (§4.2.2), CLIENT_DATA without CLT_TIME (§4.3.3), CLIENT_LINK follow-ups and merging
//! across servers by CLT_TIME (§4.3.4).

use std::net::Ipv6Addr;

use ipnet::Ipv6Net;

use super::*;
use crate::v6::{KeyError6, QueryKey6, ReplyError6};
use lessor_wire::v6::{
    ClientServerMessage, DhcpOption, MessageType, QueryType, RelayMessage, Repr,
};

fn me() -> Duid {
    Duid::Uuid([7; 16])
}

fn server_duid(n: u8) -> Duid {
    Duid::Ll {
        hardware_type: 1,
        link_layer_address: vec![2, 0, 0, 0, 0, n],
    }
}

fn client_duid(n: u8) -> Duid {
    Duid::Ll {
        hardware_type: 1,
        link_layer_address: vec![0, 0x16, 0x3e, 0, 0, n],
    }
}

fn server(n: u8) -> SocketAddr {
    SocketAddr::from((
        Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 0x10 + u16::from(n)),
        547,
    ))
}

fn a(n: u16) -> Ipv6Addr {
    Ipv6Addr::new(0x2001, 0xdb8, 1, 0, 0, 0, 0, n)
}

fn link(n: u16) -> Ipv6Addr {
    Ipv6Addr::new(0x2001, 0xdb8, n, 0, 0, 0, 0, 1)
}

fn config(servers: u8) -> Config<V6> {
    let mut c = Config::v6(me(), (0..servers).map(server).collect());
    c.seed = 11;
    c
}

fn by_address(n: u16) -> QueryKey6 {
    QueryKey6::Address {
        address: a(n),
        link: Ipv6Addr::UNSPECIFIED,
    }
}

/// The LEASEQUERY sent: (transaction-id, its options).
fn sent(bytes: &[u8]) -> (u32, Vec<DhcpOption>) {
    match Repr::from_bytes(bytes).unwrap() {
        Repr::ClientServer(m) => {
            assert_eq!(m.msg_type, MessageType::Leasequery);
            (m.transaction_id, m.options)
        }
        Repr::Relay(_) => panic!("relay message sent"),
    }
}

fn client_data(client: u8, addrs: &[(u16, u32)], clt: Option<u32>) -> DhcpOption {
    let mut o = vec![DhcpOption::ClientId(client_duid(client))];
    for &(n, valid) in addrs {
        o.push(DhcpOption::IaAddr {
            address: a(n),
            preferred_lifetime: valid / 2,
            valid_lifetime: valid,
            options: Vec::new(),
        });
    }
    if let Some(t) = clt {
        o.push(DhcpOption::CltTime(t));
    }
    DhcpOption::ClientData(o)
}

/// A LEASEQUERY-REPLY from server `s` to us with `extra` options.
fn reply(xid: u32, s: u8, extra: Vec<DhcpOption>) -> Vec<u8> {
    let mut options = vec![
        DhcpOption::ServerId(server_duid(s)),
        DhcpOption::ClientId(me()),
    ];
    options.extend(extra);
    Repr::ClientServer(ClientServerMessage {
        msg_type: MessageType::LeasequeryReply,
        transaction_id: xid,
        options,
    })
    .to_vec()
}

fn answer(r: &mut Requestor<V6>) -> Answer<V6> {
    match r.poll_event() {
        Some(Event::Answered(_, a)) => *a,
        other => panic!("no answer: {other:?}"),
    }
}

#[test]
fn leasequery_carries_clientid_and_lq_query_but_no_serverid() {
    let mut r = Requestor::new(config(1));
    let t0 = Instant::now();
    r.submit(by_address(5), t0).unwrap();
    let (to, bytes) = r.poll_transmit(t0).unwrap();
    assert_eq!(to, server(0));
    let (xid, options) = sent(&bytes);
    assert!(xid <= lessor_wire::v6::MAX_TRANSACTION_ID);
    assert_eq!(options[0], DhcpOption::ClientId(me()));
    assert!(options
        .iter()
        .all(|o| !matches!(o, DhcpOption::ServerId(_))));
    assert_eq!(
        options[1],
        DhcpOption::LqQuery {
            query_type: QueryType::ByAddress,
            link_address: Ipv6Addr::UNSPECIFIED,
            options: vec![
                DhcpOption::IaAddr {
                    address: a(5),
                    preferred_lifetime: 0,
                    valid_lifetime: 0,
                    options: Vec::new(),
                },
                DhcpOption::Oro(vec![lessor_wire::v6::OPTION_LQ_RELAY_DATA]),
            ],
        }
    );
}

#[test]
fn bulk_only_query_types_are_refused_over_udp() {
    let mut r = Requestor::new(config(1));
    let t0 = Instant::now();
    let key = QueryKey6::RelayId {
        duid: client_duid(1),
        link: Ipv6Addr::UNSPECIFIED,
    };
    assert_eq!(
        r.submit(key, t0),
        Err(SubmitError::Invalid(KeyError6::BulkOnly(
            QueryType::ByRelayId
        )))
    );
    assert!(r.poll_transmit(t0).is_none());
}

/// RFC 5007 §4.1.4 with RFC 8415 §15: IRT 1 s doubling to MRT 10 s, each ±10 %, five
/// transmissions (MRC), then the query fails.
#[test]
fn retransmission_is_1_2_4_8_10_within_ten_percent_then_gives_up_after_five() {
    let mut r = Requestor::new(config(1));
    let t0 = Instant::now();
    r.submit(by_address(1), t0).unwrap();
    let mut sends = Vec::new();
    let mut xids = Vec::new();
    let mut now = t0;
    for _ in 0..1000 {
        while let Some((_, bytes)) = r.poll_transmit(now) {
            sends.push(now);
            xids.push(sent(&bytes).0);
        }
        if let Some(e) = r.poll_event() {
            assert!(matches!(e, Event::Failed(_, Failure::NoReply)), "{e:?}");
            break;
        }
        now = r.poll_timeout().expect("something pending");
    }
    assert_eq!(sends.len(), 5, "MRC 5");
    assert!(xids.iter().all(|&x| x == xids[0]), "one transaction-id");
    let gaps: Vec<u128> = sends
        .windows(2)
        .map(|w| (w[1] - w[0]).as_millis())
        .collect();
    for (gap, base) in gaps.iter().zip([1000u128, 2000, 4000, 8000]) {
        assert!(
            (base * 9 / 10..=base * 11 / 10).contains(gap),
            "gap {gap} ms, expected {base} ±10 %: {gaps:?}"
        );
    }
    // The fifth transmission's timeout (MRT 10 s ±10 %) ends the exchange.
    let last = (now - sends[4]).as_millis();
    assert!(
        (9000..=11000).contains(&last),
        "gave up {last} ms after the fifth"
    );
    assert_eq!(r.outstanding(), 0);
}

#[test]
fn replies_failing_section_4_2_2_are_discarded() {
    let mut r = Requestor::new(config(1));
    let t0 = Instant::now();
    let id = r.submit(by_address(1), t0).unwrap();
    let (_, bytes) = r.poll_transmit(t0).unwrap();
    let (xid, _) = sent(&bytes);
    let data = || vec![client_data(1, &[(1, 3600)], Some(5))];
    let no_server_id = Repr::ClientServer(ClientServerMessage {
        msg_type: MessageType::LeasequeryReply,
        transaction_id: xid,
        options: vec![DhcpOption::ClientId(me())],
    })
    .to_vec();
    assert_eq!(
        r.handle_reply(server(0), &no_server_id, t0),
        Err(Ignored::Malformed(ReplyError6::NoServerId))
    );
    let no_client_id = Repr::ClientServer(ClientServerMessage {
        msg_type: MessageType::LeasequeryReply,
        transaction_id: xid,
        options: vec![DhcpOption::ServerId(server_duid(0))],
    })
    .to_vec();
    assert_eq!(
        r.handle_reply(server(0), &no_client_id, t0),
        Err(Ignored::Malformed(ReplyError6::NoClientId))
    );
    let mut other = reply(xid, 0, data());
    // Another requestor's DUID in CLIENTID.
    let other_repr = match Repr::from_bytes(&other).unwrap() {
        Repr::ClientServer(mut m) => {
            m.options[1] = DhcpOption::ClientId(Duid::Uuid([8; 16]));
            Repr::ClientServer(m)
        }
        r => r,
    };
    other = other_repr.to_vec();
    assert_eq!(
        r.handle_reply(server(0), &other, t0),
        Err(Ignored::Malformed(ReplyError6::ClientIdMismatch))
    );
    let wrong_xid = reply(xid ^ 1, 0, data());
    assert_eq!(
        r.handle_reply(server(0), &wrong_xid, t0),
        Err(Ignored::UnknownXid)
    );
    let relayed = Repr::Relay(RelayMessage {
        msg_type: MessageType::RelayRepl,
        hop_count: 0,
        link_address: link(1),
        peer_address: a(1),
        options: Vec::new(),
    })
    .to_vec();
    assert!(matches!(
        r.handle_reply(server(0), &relayed, t0),
        Err(Ignored::Malformed(ReplyError6::NotLeasequeryReply(_)))
    ));
    // About another address than asked.
    assert_eq!(
        r.handle_reply(
            server(0),
            &reply(xid, 0, vec![client_data(1, &[(9, 60)], Some(1))]),
            t0
        ),
        Err(Ignored::Mismatch)
    );
    assert!(r.poll_event().is_none());
    assert_eq!(
        r.handle_reply(server(0), &reply(xid, 0, data()), t0),
        Ok(id)
    );
    let got = answer(&mut r);
    assert_eq!(got.lease.clients[0].addresses[0].address, a(1));
    assert_eq!(got.lease.server_id, Some(server_duid(0)));
}

#[test]
fn client_data_without_clt_time_is_discarded_unless_configured() {
    for keep in [false, true] {
        let mut c = config(1);
        c.family.keep_without_clt_time = keep;
        let mut r = Requestor::new(c);
        let t0 = Instant::now();
        r.submit(by_address(1), t0).unwrap();
        let (xid, _) = sent(&r.poll_transmit(t0).unwrap().1);
        let bytes = reply(xid, 0, vec![client_data(1, &[(1, 3600)], None)]);
        r.handle_reply(server(0), &bytes, t0).unwrap();
        let got = answer(&mut r);
        assert_eq!(got.lease.clients.len(), usize::from(keep));
        assert_eq!(got.lease.discarded, usize::from(!keep));
    }
}

#[test]
fn client_link_asks_again_once_per_link_and_reports_one_answer() {
    let mut r = Requestor::new(config(1));
    let t0 = Instant::now();
    let key = QueryKey6::ClientId {
        duid: client_duid(3),
        link: Ipv6Addr::UNSPECIFIED,
    };
    let id = r.submit(key, t0).unwrap();
    let (xid, _) = sent(&r.poll_transmit(t0).unwrap().1);
    let links = reply(
        xid,
        0,
        vec![DhcpOption::LqClientLink(vec![link(2), link(1), link(2)])],
    );
    r.handle_reply(server(0), &links, t0).unwrap();
    assert!(r.poll_event().is_none(), "waits for the follow-ups");
    assert_eq!(r.outstanding(), 1);
    let t1 = t0 + Duration::from_millis(10);
    let mut asked = Vec::new();
    while let Some((_, bytes)) = r.poll_transmit(t1) {
        let (xid, options) = sent(&bytes);
        let Some(DhcpOption::LqQuery {
            query_type,
            link_address,
            options: q,
        }) = options.get(1)
        else {
            panic!("no LQ_QUERY: {options:?}")
        };
        assert_eq!(*query_type, QueryType::ByClientId);
        assert_eq!(q[0], DhcpOption::ClientId(client_duid(3)));
        asked.push((xid, *link_address));
    }
    asked.sort_by_key(|a| a.1);
    assert_eq!(
        asked.iter().map(|a| a.1).collect::<Vec<_>>(),
        vec![link(1), link(2)],
        "one query per distinct link"
    );
    for (i, &(xid, _)) in asked.iter().enumerate() {
        let n = i as u16 + 1;
        let bytes = reply(xid, 0, vec![client_data(3, &[(n, 600)], Some(9))]);
        r.handle_reply(server(0), &bytes, t1).unwrap();
    }
    match r.poll_event() {
        Some(Event::Answered(got, a)) => {
            assert_eq!(got, id);
            let links: Vec<_> = a.lease.clients.iter().map(|c| c.link).collect();
            assert_eq!(links, vec![Some(link(1)), Some(link(2))]);
            assert_eq!(a.lease.client_links.len(), 3);
        }
        other => panic!("{other:?}"),
    }
    assert!(r.poll_event().is_none());
    assert_eq!(r.outstanding(), 0);
}

/// Both servers are asked (no authority known yet); their answers are merged.
fn ask_both(r: &mut Requestor<V6>, key: QueryKey6, t0: Instant) -> [u32; 2] {
    r.submit(key, t0).unwrap();
    let mut xids = [0; 2];
    while let Some((to, bytes)) = r.poll_transmit(t0) {
        let i = if to == server(0) { 0 } else { 1 };
        xids[i] = sent(&bytes).0;
    }
    xids
}

#[test]
fn overlapping_data_goes_to_the_most_recent_clt_time_and_disjoint_data_is_merged() {
    let mut r = Requestor::new(config(2));
    let t0 = Instant::now();
    let xids = ask_both(&mut r, by_address(1), t0);
    // Server 0: client 1 has a(1) (valid 100) and a(2), heard from 50 s ago.
    let s0 = reply(
        xids[0],
        0,
        vec![client_data(1, &[(1, 100), (2, 100)], Some(50))],
    );
    // Server 1, 1 s later: client 1 has a(1) (valid 900) and a(3), heard from 10 s ago.
    let s1 = reply(
        xids[1],
        1,
        vec![client_data(1, &[(1, 900), (3, 900)], Some(10))],
    );
    r.handle_reply(server(0), &s0, t0).unwrap();
    r.handle_reply(server(1), &s1, t0 + Duration::from_secs(1))
        .unwrap();
    let got = answer(&mut r);
    assert_eq!(got.server, server(1), "the freshest answer leads");
    let c = &got.lease.clients;
    assert_eq!(c.len(), 1);
    assert_eq!(c[0].clt_time, Some(10));
    let mut addrs: Vec<_> = c[0]
        .addresses
        .iter()
        .map(|x| (x.address, x.valid_lifetime))
        .collect();
    addrs.sort();
    assert_eq!(addrs, vec![(a(1), 900), (a(2), 100), (a(3), 900)]);
}

#[test]
fn an_address_claimed_by_two_clients_goes_to_the_fresher_one() {
    let mut r = Requestor::new(config(2));
    let t0 = Instant::now();
    let xids = ask_both(&mut r, by_address(1), t0);
    // Server 1 heard from client 2 long ago; server 0 heard from client 1 just now.
    let s1 = reply(xids[1], 1, vec![client_data(2, &[(1, 100)], Some(3000))]);
    let s0 = reply(xids[0], 0, vec![client_data(1, &[(1, 100)], Some(2))]);
    r.handle_reply(server(1), &s1, t0).unwrap();
    r.handle_reply(server(0), &s0, t0).unwrap();
    let got = answer(&mut r);
    assert_eq!(got.server, server(0));
    assert_eq!(got.lease.clients.len(), 1);
    assert_eq!(got.lease.clients[0].client_id, Some(client_duid(1)));
    assert_eq!(got.others.len(), 1);
}

#[test]
fn data_with_clt_time_beats_data_without_it() {
    // Erratum 3763: with CLIENT_DATA without CLT_TIME kept, the answer that has one wins.
    let mut c = config(2);
    c.family.keep_without_clt_time = true;
    let mut r = Requestor::new(c);
    let t0 = Instant::now();
    let xids = ask_both(&mut r, by_address(1), t0);
    let s0 = reply(xids[0], 0, vec![client_data(2, &[(1, 100)], None)]);
    let s1 = reply(xids[1], 1, vec![client_data(1, &[(1, 100)], Some(86_000))]);
    r.handle_reply(server(0), &s0, t0).unwrap();
    r.handle_reply(server(1), &s1, t0).unwrap();
    let got = answer(&mut r);
    assert_eq!(got.server, server(1));
    assert_eq!(got.lease.clients[0].client_id, Some(client_duid(1)));
    assert_eq!(got.lease.clients.len(), 1);
}

#[test]
fn an_absolute_clt_time_is_read_against_the_epoch_given() {
    // ISC dhcpd 4.4.3 sends seconds since 1970: 100 s before "now" beats a relative 500 s.
    let mut c = config(2);
    let t0 = Instant::now();
    let now_unix = 1_800_000_000;
    c.family.epoch = Some((t0, now_unix));
    let mut r = Requestor::new(c);
    let xids = ask_both(&mut r, by_address(1), t0);
    let s0 = reply(xids[0], 0, vec![client_data(1, &[(1, 100)], Some(500))]);
    let s1 = reply(
        xids[1],
        1,
        vec![client_data(2, &[(1, 100)], Some(now_unix as u32 - 100))],
    );
    r.handle_reply(server(0), &s0, t0).unwrap();
    r.handle_reply(server(1), &s1, t0).unwrap();
    let got = answer(&mut r);
    assert_eq!(got.server, server(1));
    assert_eq!(got.lease.clients[0].cltt_ago(now_unix), Some(100));
}

#[test]
fn an_answer_is_cached_for_its_shortest_valid_lifetime() {
    let mut r = Requestor::new(config(1));
    let t0 = Instant::now();
    r.submit(by_address(1), t0).unwrap();
    let (xid, _) = sent(&r.poll_transmit(t0).unwrap().1);
    let bytes = reply(xid, 0, vec![client_data(1, &[(1, 300), (2, 60)], Some(1))]);
    r.handle_reply(server(0), &bytes, t0).unwrap();
    assert!(!answer(&mut r).from_cache);
    r.submit(by_address(1), t0 + Duration::from_secs(59))
        .unwrap();
    assert!(answer(&mut r).from_cache);
    r.submit(by_address(1), t0 + Duration::from_secs(60))
        .unwrap();
    assert!(r.poll_event().is_none());
    assert!(r.poll_transmit(t0 + Duration::from_secs(60)).is_some());
}

#[test]
fn an_error_status_is_an_answer_that_ranks_below_data() {
    let mut r = Requestor::new(config(2));
    let t0 = Instant::now();
    let xids = ask_both(&mut r, by_address(1), t0);
    let s0 = reply(
        xids[0],
        0,
        vec![DhcpOption::status_code(
            lessor_wire::v6::status::NOT_CONFIGURED,
            "no such link",
        )],
    );
    let s1 = reply(xids[1], 1, vec![client_data(1, &[(1, 100)], Some(7))]);
    r.handle_reply(server(0), &s0, t0).unwrap();
    r.handle_reply(server(1), &s1, t0).unwrap();
    let got = answer(&mut r);
    assert_eq!(got.server, server(1));
    assert_eq!(
        got.others[0].1.status_name().as_deref(),
        Some("NotConfigured")
    );
}

#[test]
fn a_multicast_query_collects_every_server_for_merge_wait() {
    let group = SocketAddr::V6(std::net::SocketAddrV6::new(
        "ff02::1:2".parse().unwrap(),
        547,
        0,
        3,
    ));
    let mut c = Config::v6(me(), vec![group]);
    c.seed = 3;
    let mut r = Requestor::new(c);
    let t0 = Instant::now();
    let id = r.submit(by_address(1), t0).unwrap();
    let (to, bytes) = r.poll_transmit(t0).unwrap();
    assert_eq!(to, group);
    let (xid, _) = sent(&bytes);
    let s0 = reply(xid, 0, vec![client_data(1, &[(1, 100)], Some(40))]);
    let s1 = reply(xid, 1, vec![client_data(1, &[(1, 200)], Some(4))]);
    assert_eq!(r.handle_reply(server(0), &s0, t0), Ok(id));
    assert_eq!(r.handle_reply(server(0), &s0, t0), Err(Ignored::Duplicate));
    assert_eq!(r.handle_reply(server(1), &s1, t0), Ok(id));
    assert!(
        r.poll_event().is_none(),
        "waits merge_wait for more servers"
    );
    assert!(r.poll_transmit(t0 + Duration::from_millis(999)).is_none());
    assert!(r.poll_event().is_none());
    r.handle_timeout(t0 + Duration::from_secs(1));
    let got = answer(&mut r);
    assert_eq!(got.server, server(1), "the answering server, not the group");
    assert_eq!(got.others[0].0, server(0));
    assert_eq!(got.lease.clients[0].addresses[0].valid_lifetime, 200);
}

#[test]
fn a_query_for_an_address_already_asked_joins_it() {
    let mut r = Requestor::new(config(1));
    let t0 = Instant::now();
    let first = r.submit(by_address(1), t0).unwrap();
    let (xid, _) = sent(&r.poll_transmit(t0).unwrap().1);
    let t1 = t0 + Duration::from_millis(500);
    let second = r.submit(by_address(1), t1).unwrap();
    assert!(r.poll_transmit(t1).is_none(), "nothing new to send");
    // Retransmissions are the first query's alone: the same transaction-id every time.
    let t2 = t0 + Duration::from_secs(5);
    let mut xids = Vec::new();
    let mut now = t1;
    while now < t2 {
        now = r.poll_timeout().unwrap().min(t2);
        while let Some((_, bytes)) = r.poll_transmit(now) {
            xids.push(sent(&bytes).0);
        }
    }
    assert!(
        !xids.is_empty() && xids.iter().all(|&x| x == xid),
        "{xids:?}"
    );
    let bytes = reply(xid, 0, vec![client_data(1, &[(1, 600)], Some(4))]);
    assert_eq!(r.handle_reply(server(0), &bytes, t2), Ok(first));
    let got: Vec<QueryId> = std::iter::from_fn(|| r.poll_event())
        .map(|e| match e {
            Event::Answered(id, ans) => {
                assert_eq!(ans.lease.clients[0].addresses[0].address, a(1));
                id
            }
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(got, [first, second]);
    assert_eq!(r.outstanding(), 0);
}

#[test]
fn a_query_joined_while_client_link_follow_ups_run_gets_the_whole_answer() {
    let mut r = Requestor::new(config(1));
    let t0 = Instant::now();
    let key = QueryKey6::ClientId {
        duid: client_duid(3),
        link: Ipv6Addr::UNSPECIFIED,
    };
    let first = r.submit(key.clone(), t0).unwrap();
    let (xid, _) = sent(&r.poll_transmit(t0).unwrap().1);
    let links = reply(xid, 0, vec![DhcpOption::LqClientLink(vec![link(1)])]);
    r.handle_reply(server(0), &links, t0).unwrap();
    let (xid, _) = sent(&r.poll_transmit(t0).unwrap().1);
    // The first query has its links; its follow-up is out. A second query joins it.
    let second = r.submit(key, t0).unwrap();
    assert!(r.poll_transmit(t0).is_none());
    assert_eq!(r.outstanding(), 2);
    let bytes = reply(xid, 0, vec![client_data(3, &[(1, 600)], Some(9))]);
    r.handle_reply(server(0), &bytes, t0).unwrap();
    for want in [first, second] {
        match r.poll_event() {
            Some(Event::Answered(id, a)) => {
                assert_eq!(id, want);
                assert_eq!(a.lease.clients.len(), 1, "with the follow-up's data");
                assert_eq!(a.lease.clients[0].link, Some(link(1)));
            }
            other => panic!("{other:?}"),
        }
    }
    assert!(r.poll_event().is_none());
    assert_eq!(r.outstanding(), 0);
}

#[test]
fn a_gleaned_address_or_prefix_drops_the_cached_answers_about_it() {
    let mut r = Requestor::new(config(1));
    let t0 = Instant::now();
    // A negative answer (no binding) for a(1); an active one naming a(2) and a /56 for a(3).
    r.submit(by_address(1), t0).unwrap();
    let (xid, _) = sent(&r.poll_transmit(t0).unwrap().1);
    r.handle_reply(server(0), &reply(xid, 0, vec![]), t0)
        .unwrap();
    answer(&mut r);
    let prefix: Ipv6Addr = "2001:db8:100:100::".parse().unwrap();
    r.submit(by_address(3), t0).unwrap();
    let (xid, _) = sent(&r.poll_transmit(t0).unwrap().1);
    let DhcpOption::ClientData(mut data) = client_data(2, &[(3, 600)], Some(1)) else {
        unreachable!()
    };
    data.push(DhcpOption::IaPrefix {
        preferred_lifetime: 300,
        valid_lifetime: 600,
        prefix_length: 56,
        prefix,
        options: Vec::new(),
    });
    let bytes = reply(xid, 0, vec![DhcpOption::ClientData(data)]);
    r.handle_reply(server(0), &bytes, t0).unwrap();
    answer(&mut r);
    let cached = |r: &mut Requestor<V6>, n: u16| {
        r.submit(by_address(n), t0).unwrap();
        let hit = matches!(r.poll_event(), Some(Event::Answered(_, a)) if a.from_cache);
        // A miss is asked again; its query is left to time out.
        while r.poll_transmit(t0).is_some() {}
        hit
    };
    assert!(cached(&mut r, 1) && cached(&mut r, 3));
    // Another address, or a prefix beside the cached one, changes nothing.
    r.glean("2001:db8:1::99/128".parse().unwrap());
    r.glean("2001:db8:100:200::/56".parse().unwrap());
    assert!(cached(&mut r, 1) && cached(&mut r, 3));
    // The asked address bound: its negative answer goes.
    r.glean(Ipv6Net::from(a(1)));
    assert!(!cached(&mut r, 1));
    // An address inside the delegated prefix the answer about a(3) names: that answer goes.
    r.glean("2001:db8:100:100::1/128".parse().unwrap());
    assert!(!cached(&mut r, 3));
}
