//! Conversion and merge of recovered and queried bindings, and the on-demand queries in virtual
//! time: no socket, no sleep.

use super::lookup::{Lookups, Said};
use super::*;
use lessor_requestor::reply::RelayInfo;
use lessor_requestor::v6::{RelayData6, RelayHop};
use lessor_requestor::LeaseState;
use lessor_wire::v4::{DhcpOption as Opt4, MessageType, Repr, BOOTREPLY};
use std::net::Ipv4Addr;
use std::time::Instant;

const RELAY_ID: [u8; 4] = [0, 4, 1, 2];

fn interfaces() -> Vec<Named> {
    ["eth1", "eth2"]
        .map(|n| Named {
            name: n.into(),
            id: format!("circuit-{n}").into_bytes(),
        })
        .to_vec()
}

fn ip(last: u8) -> Ipv4Addr {
    Ipv4Addr::new(198, 51, 100, last)
}

/// Option 82 sub-options: circuit-id, remote-id, relay-id (each when given).
fn option82(circuit: Option<&[u8]>, remote: Option<&[u8]>, relay: Option<&[u8]>) -> Vec<u8> {
    let mut v = Vec::new();
    for (code, value) in [(1u8, circuit), (2, remote), (12, relay)] {
        if let Some(value) = value {
            v.push(code);
            v.push(value.len() as u8);
            v.extend_from_slice(value);
        }
    }
    v
}

fn lease(last: u8, circuit: &[u8], cltt_ago: Option<u32>, remaining: Option<u32>) -> LeaseInfo {
    LeaseInfo {
        state: LeaseState::Active,
        address: Some(ip(last)),
        htype: 1,
        chaddr: vec![2, 0, 0, 0, 0, last],
        client_id: Some(vec![1, 2, 0, 0, 0, 0, last]),
        lease_remaining: remaining,
        cltt_ago,
        relay_info: Some(
            RelayInfo::decode(&option82(Some(circuit), Some(b"bng1"), Some(&RELAY_ID))).unwrap(),
        ),
        ..LeaseInfo::default()
    }
}

#[test]
fn a_recovered_lease_becomes_an_entry_with_absolute_times_and_its_interface() {
    let l = location4(
        &lease(7, b"circuit-eth2", Some(100), Some(3600)),
        1_000_000,
        &interfaces(),
        Origin::Recovered,
    )
    .unwrap();
    assert_eq!(l.bound, bound4(ip(7)));
    assert_eq!(l.interface.as_deref(), Some("eth2"));
    assert_eq!(l.circuit_id.as_deref(), Some(&b"circuit-eth2"[..]));
    assert_eq!(l.remote_id.as_deref(), Some(&b"bng1"[..]));
    assert_eq!(
        l.hardware,
        Some(Hardware {
            htype: 1,
            address: vec![2, 0, 0, 0, 0, 7]
        })
    );
    assert_eq!(l.client_id, Some(vec![1, 2, 0, 0, 0, 0, 7]));
    assert_eq!((l.cltt, l.expires), (Some(999_900), 1_003_600));
    assert_eq!(l.origin, Origin::Recovered);
}

#[test]
fn a_circuit_id_of_none_of_our_interfaces_leaves_the_interface_unknown() {
    let l = location4(
        &lease(7, b"bridge-7/1", Some(1), Some(60)),
        100,
        &interfaces(),
        Origin::Recovered,
    )
    .unwrap();
    assert_eq!(l.interface, None);
    assert_eq!(l.circuit_id.as_deref(), Some(&b"bridge-7/1"[..]));
    // Without option 82 neither is known; without a lease time the entry never ends, without
    // CLTT it has none.
    let mut bare = lease(8, b"x", None, None);
    bare.relay_info = None;
    let l = location4(&bare, 100, &interfaces(), Origin::Recovered).unwrap();
    assert_eq!((l.interface, l.circuit_id, l.remote_id), (None, None, None));
    assert_eq!((l.cltt, l.expires), (None, u64::MAX));
    // Infinite stays infinite; no address or no active lease: no entry.
    let l = location4(
        &lease(9, b"x", Some(1), Some(u32::MAX)),
        100,
        &[],
        Origin::Recovered,
    );
    assert_eq!(l.unwrap().expires, u64::MAX);
    let mut none = lease(9, b"x", Some(1), Some(60));
    none.address = None;
    assert!(location4(&none, 100, &[], Origin::Recovered).is_none());
    none.address = Some(ip(9));
    none.state = LeaseState::Unassigned;
    assert!(location4(&none, 100, &[], Origin::Recovered).is_none());
}

fn merged(leases: Vec<LeaseInfo>) -> Merged<LeaseInfo> {
    let mut m = Merged::new();
    for l in leases {
        m.offer(0, l);
    }
    m
}

#[test]
fn recovery_never_overwrites_what_was_gleaned_since() {
    let now = 10_000;
    let mut table = LocationTable::new();
    // Gleaned while recovery ran: CLTT = when the relay saw the DHCPACK.
    table.merge(Location {
        origin: Origin::Gleaned,
        cltt: Some(now - 1),
        ..location4(
            &lease(1, b"circuit-eth1", Some(0), Some(600)),
            now - 1,
            &interfaces(),
            Origin::Gleaned,
        )
        .unwrap()
    });
    // A queried entry older than what the servers stream now.
    table.merge(
        location4(
            &lease(2, b"circuit-eth1", Some(500), Some(600)),
            now,
            &interfaces(),
            Origin::Queried,
        )
        .unwrap(),
    );
    let started = now - 5;
    let done = merge4(
        &mut table,
        merged(vec![
            // The server heard .1 30 s before the start: older than the gleaned ACK.
            lease(1, b"circuit-eth2", Some(30), Some(600)),
            // .2: heard 10 s before the start, newer than the queried entry.
            lease(2, b"circuit-eth2", Some(10), Some(600)),
            lease(3, b"circuit-eth1", Some(10), Some(600)),
            // Ended before the merge.
            lease(4, b"circuit-eth1", Some(10), Some(3)),
        ]),
        started,
        now,
        &interfaces(),
    );
    assert_eq!(
        done,
        Merged4or6 {
            merged: 2,
            kept: 1,
            skipped: 1
        }
    );
    let at = |last| table.get(bound4(ip(last))).unwrap();
    assert_eq!(at(1).origin, Origin::Gleaned);
    assert_eq!(at(1).interface.as_deref(), Some("eth1"));
    assert_eq!(at(2).origin, Origin::Recovered);
    assert_eq!(at(2).interface.as_deref(), Some("eth2"));
    assert_eq!(at(2).cltt, Some(started - 10));
    assert_eq!(at(3).expires, started + 600);
    assert!(table.get(bound4(ip(4))).is_none());
    // A DHCPACK gleaned after recovery supersedes the recovered entry.
    let ack = Location {
        origin: Origin::Gleaned,
        cltt: Some(now + 1),
        ..at(3).clone()
    };
    assert_eq!(table.merge(ack), Merge::Replaced);
}

fn binding6(bound: Bound6, hops: Vec<Vec<DhcpOption>>) -> Binding6 {
    Binding6 {
        bound,
        preferred_lifetime: 100,
        valid_lifetime: 200,
        cltt_ago: Some(20),
        client_id: Some(Duid::Uuid([7; 16])),
        link: None,
        relay: Some(RelayData6 {
            peer_address: "2001:db8:1::1".parse().unwrap(),
            hops: hops
                .into_iter()
                .map(|options| RelayHop {
                    hop_count: 0,
                    link_address: Ipv6Addr::UNSPECIFIED,
                    peer_address: "fe80::2".parse().unwrap(),
                    options,
                })
                .collect(),
        }),
        server_id: None,
    }
}

#[test]
fn a_recovered_dhcpv6_binding_finds_its_interface_by_our_hops_interface_id() {
    let me = Duid::Uuid([4; 16]);
    let ours = vec![
        DhcpOption::InterfaceId(b"circuit-eth2".to_vec()),
        DhcpOption::RemoteId {
            enterprise_number: 9,
            remote_id: b"r".to_vec(),
        },
        DhcpOption::RelayId(me.clone()),
    ];
    let below = vec![DhcpOption::InterfaceId(b"port-3".to_vec())];
    // Our hop is found by relay-id, wherever it is in the chain.
    let b = binding6(
        Bound6::Prefix("2001:db8:8000::".parse().unwrap(), 56),
        vec![ours, below],
    );
    let l = location6(&b, 1000, &interfaces(), Some(&me), Origin::Recovered).unwrap();
    assert_eq!(l.bound.to_string(), "2001:db8:8000::/56");
    assert_eq!(l.interface.as_deref(), Some("eth2"));
    assert_eq!(l.remote_id, Some(vec![0, 0, 0, 9, b'r']));
    assert_eq!(l.client_id, Some(Duid::Uuid([7; 16]).to_vec()));
    assert_eq!((l.cltt, l.expires), (Some(980), 1200));
    // Without our relay-id, the innermost hop is taken: not one of our interfaces.
    let l = location6(
        &b,
        1000,
        &interfaces(),
        Some(&Duid::Uuid([5; 16])),
        Origin::Recovered,
    )
    .unwrap();
    assert_eq!(l.interface, None);
    assert_eq!(l.circuit_id, Some(b"port-3".to_vec()));
    // An address; no relay data.
    let mut a = binding6(Bound6::Address("2001:db8:1::9".parse().unwrap()), vec![]);
    a.relay = None;
    let mut table = LocationTable::new();
    let mut m = Merged::new();
    m.offer(0, a);
    let done = merge6(&mut table, m, 1000, 1000, &interfaces(), Some(&me));
    assert_eq!(done.merged, 1);
    assert_eq!(
        table.iter().next().unwrap().bound.to_string(),
        "2001:db8:1::9/128"
    );
}

#[test]
fn plans_follow_the_configuration() {
    let mut c = crate::config::parse(
        "[relay]\n[relay.dhcp4]\nservers = [\"192.0.2.1\", \"192.0.2.2:6767\"]\n[[relay.dhcp4.interface]]\nname = \"eth1\"\n",
        "relay.toml",
    )
    .unwrap()
    .recovery;
    let p = plan4(&c, &RELAY_ID).unwrap();
    assert_eq!(p.key, QueryKey::RelayId(RELAY_ID.to_vec()));
    assert_eq!(p.servers[1].0, "192.0.2.2:67".parse().unwrap());
    assert_eq!(p.bulk.max_retry, Duration::from_secs(60));
    c.at_start = false;
    assert!(plan4(&c, &RELAY_ID).is_none());
    c.at_start = true;
    let mut s6 = Settings6 {
        interfaces: vec![],
        servers: vec![
            crate::v6::Server6::new("2001:db8::1".parse().unwrap()),
            crate::v6::Server6::multicast("ff05::1:3".parse().unwrap(), 2),
        ],
        relay_id: Some(Duid::Uuid([4; 16])),
        insert: Default::default(),
    };
    let p = plan6(&c, &s6).unwrap();
    assert_eq!(p.servers.len(), 1);
    assert_eq!(p.servers[0].addr, "[2001:db8::1]:547".parse().unwrap());
    c.servers6 = Some(vec!["[2001:db8::9]:5470".parse().unwrap()]);
    let p = plan6(&c, &s6).unwrap();
    assert_eq!(p.servers.len(), 1);
    assert_eq!(p.servers[0].addr, "[2001:db8::9]:5470".parse().unwrap());
    assert_eq!(p.servers[0].requestor, Duid::Uuid([4; 16]));
    c.servers6 = Some(vec![]);
    assert!(plan6(&c, &s6).is_none());
    c.servers6 = None;
    s6.relay_id = None;
    assert!(plan6(&c, &s6).is_none());
}

// On demand, in virtual time.

const GIADDR: Ipv4Addr = Ipv4Addr::new(198, 51, 100, 1);

fn server() -> SocketAddr {
    SocketAddr::from(([192, 0, 2, 10], 67))
}

fn lookups() -> Lookups {
    let mut c = lessor_requestor::Config::new(GIADDR, vec![server()]);
    c.seed = 3;
    Lookups::new(c, RELAY_ID.to_vec(), interfaces())
}

/// What the server answers to `query`: `state`, for an active lease with option 82 `relay`.
fn answer(query: &[u8], state: MessageType, relay: Option<Vec<u8>>) -> Vec<u8> {
    let q = Repr::from_bytes(query).unwrap();
    let mut r = Repr {
        op: BOOTREPLY,
        xid: q.xid,
        ciaddr: q.ciaddr,
        giaddr: q.giaddr,
        htype: 1,
        hlen: 6,
        ..Repr::default()
    };
    r.chaddr[..6].copy_from_slice(&[2, 0, 0, 0, 0, 9]);
    r.options.push(Opt4::MessageType(state));
    if state == MessageType::LeaseActive {
        r.options.push(Opt4::IpAddressLeaseTime(600));
        r.options.push(Opt4::ClientLastTransactionTime(5));
    }
    if let Some(data) = relay {
        r.options.push(Opt4::Other { code: 82, data });
    }
    r.to_vec()
}

#[test]
fn one_query_per_address_and_an_active_answer_of_ours_is_merged_as_queried() {
    let mut l = lookups();
    let t0 = Instant::now();
    l.ask(1, ip(9), t0).unwrap();
    l.ask(2, ip(9), t0).unwrap();
    let sent: Vec<_> = std::iter::from_fn(|| l.poll_transmit(t0)).collect();
    assert_eq!(sent.len(), 1, "the second question joins the first");
    assert_eq!(sent[0].0, server());
    assert_eq!(Repr::from_bytes(&sent[0].1).unwrap().ciaddr, ip(9));
    let relay = option82(Some(b"circuit-eth1"), None, Some(&RELAY_ID));
    let t1 = t0 + Duration::from_secs(1);
    l.handle_reply(
        server(),
        &answer(&sent[0].1, MessageType::LeaseActive, Some(relay)),
        t1,
    );
    let t2 = t1 + Duration::from_secs(2);
    let done: Vec<_> = std::iter::from_fn(|| l.poll_done(t2, 50_000)).collect();
    assert_eq!(done.iter().map(|d| d.token).collect::<Vec<_>>(), [1, 2]);
    let Said::Here(entry) = &done[0].said else {
        panic!("{done:?}")
    };
    assert_eq!(entry.origin, Origin::Queried);
    assert_eq!(entry.interface.as_deref(), Some("eth1"));
    // Times are relative to when the answer arrived (2 s before `wall`).
    assert_eq!((entry.cltt, entry.expires), (Some(49_993), 50_598));
    assert!(!done[0].from_cache);
    assert_eq!(l.outstanding(), 0);
}

#[test]
fn negative_answers_are_cached_and_another_relays_lease_is_not_merged() {
    let mut l = lookups();
    let t0 = Instant::now();
    l.ask(1, ip(9), t0).unwrap();
    let q = l.poll_transmit(t0).unwrap();
    l.handle_reply(
        server(),
        &answer(&q.1, MessageType::LeaseUnassigned, None),
        t0,
    );
    let d = l.poll_done(t0, 1000).unwrap();
    assert_eq!((d.said, d.from_cache), (Said::Unassigned, false));
    // Asked again: the negative cache answers, nothing is sent.
    l.ask(2, ip(9), t0).unwrap();
    assert!(l.poll_transmit(t0).is_none());
    let d = l.poll_done(t0, 1000).unwrap();
    assert_eq!((d.said, d.from_cache), (Said::Unassigned, true));
    // Until a DHCPACK for it is gleaned.
    l.gleaned(ip(9));
    l.ask(3, ip(9), t0).unwrap();
    let q = l.poll_transmit(t0).unwrap();
    // Another relay's client; then a lease of which the server keeps no relay data.
    let theirs = option82(Some(b"circuit-eth1"), None, Some(&[9, 9, 9]));
    l.handle_reply(
        server(),
        &answer(&q.1, MessageType::LeaseActive, Some(theirs)),
        t0,
    );
    assert_eq!(l.poll_done(t0, 1000).unwrap().said, Said::Elsewhere);
    l.ask(4, ip(10), t0).unwrap();
    let q = l.poll_transmit(t0).unwrap();
    l.handle_reply(server(), &answer(&q.1, MessageType::LeaseActive, None), t0);
    assert_eq!(l.poll_done(t0, 1000).unwrap().said, Said::Elsewhere);
    // No relay-id, but one of our circuit-ids: ours.
    l.ask(5, ip(11), t0).unwrap();
    let q = l.poll_transmit(t0).unwrap();
    let ours = option82(Some(b"circuit-eth2"), None, None);
    l.handle_reply(
        server(),
        &answer(&q.1, MessageType::LeaseActive, Some(ours)),
        t0,
    );
    assert!(matches!(l.poll_done(t0, 1000).unwrap().said, Said::Here(_)));
}

#[test]
fn a_cached_active_lease_the_table_lost_is_asked_again() {
    let mut l = lookups();
    let t0 = Instant::now();
    l.ask(1, ip(9), t0).unwrap();
    let q = l.poll_transmit(t0).unwrap();
    let ours = option82(Some(b"circuit-eth1"), None, Some(&RELAY_ID));
    l.handle_reply(
        server(),
        &answer(&q.1, MessageType::LeaseActive, Some(ours)),
        t0,
    );
    assert!(matches!(l.poll_done(t0, 1000).unwrap().said, Said::Here(_)));
    // The relay asks only what its table does not hold: the entry went (a release the relay
    // saw), so the cached answer is stale and the server is asked again.
    let t1 = t0 + Duration::from_secs(1);
    l.ask(2, ip(9), t1).unwrap();
    assert!(l.poll_done(t1, 1001).is_none());
    let q = l.poll_transmit(t1).expect("asked again");
    l.handle_reply(
        server(),
        &answer(&q.1, MessageType::LeaseUnassigned, None),
        t1,
    );
    let d = l.poll_done(t1, 1001).unwrap();
    assert_eq!(
        (d.token, d.said, d.from_cache),
        (2, Said::Unassigned, false)
    );
}

#[test]
fn a_silent_server_is_paced_and_the_question_fails_at_the_query_timeout() {
    let mut l = lookups();
    let t0 = Instant::now();
    for (token, last) in [(1, 9), (2, 10)] {
        l.ask(token, ip(last), t0).unwrap();
    }
    // §6.6: a server never heard from has one query outstanding.
    let first: Vec<_> = std::iter::from_fn(|| l.poll_transmit(t0)).collect();
    assert_eq!(first.len(), 1);
    let mut now = t0;
    let mut sent = 1;
    let mut done = Vec::new();
    while done.len() < 2 {
        now = l.poll_timeout().expect("something is outstanding").max(now);
        sent += std::iter::from_fn(|| l.poll_transmit(now)).count();
        done.extend(std::iter::from_fn(|| l.poll_done(now, 0)));
        assert!(now < t0 + Duration::from_secs(1000), "never ends");
    }
    assert!(done.iter().all(|d| d.said == Said::NoReply));
    // 120 s of query timeout, transmissions at least 10 s apart (§6.6 unknown server).
    assert!(now >= t0 + Duration::from_secs(120));
    assert!(sent <= 13, "{sent} transmissions");
}
