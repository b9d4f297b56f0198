//! Every timing rule with an injected clock: no test sleeps.

use super::*;
use crate::query::QueryKey;
use crate::reply::LeaseState;
use lessor_wire::v4::{DhcpOption, MessageType, Repr, BOOTREPLY};

const GIADDR: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 1);

fn server(n: u8) -> SocketAddr {
    SocketAddr::from((Ipv4Addr::new(192, 0, 2, 10 + n), 67))
}

fn addr(n: u8) -> Ipv4Addr {
    Ipv4Addr::new(198, 51, 100, n)
}

fn config(servers: u8) -> Config {
    let mut c = Config::new(GIADDR, (0..servers).map(server).collect());
    c.query_timeout = Duration::from_secs(10_000);
    c.seed = 7;
    c
}

fn secs(s: f64) -> Duration {
    Duration::from_secs_f64(s)
}

/// What a server would answer to `query`.
fn reply(query: &[u8], state: MessageType, lease: Option<u32>, cltt: Option<u32>) -> Vec<u8> {
    let q = Repr::from_bytes(query).unwrap();
    let mut r = Repr {
        op: BOOTREPLY,
        xid: q.xid,
        ciaddr: q.ciaddr,
        giaddr: q.giaddr,
        htype: q.htype,
        hlen: q.hlen,
        chaddr: q.chaddr,
        ..Repr::default()
    };
    if state == MessageType::LeaseActive && r.ciaddr.is_unspecified() {
        r.ciaddr = addr(99);
    }
    r.options.push(DhcpOption::MessageType(state));
    if let Some(l) = lease {
        r.options.push(DhcpOption::IpAddressLeaseTime(l));
    }
    if let Some(c) = cltt {
        r.options.push(DhcpOption::ClientLastTransactionTime(c));
    }
    r.to_vec()
}

fn drain(r: &mut Requestor, now: Instant) -> Vec<(SocketAddr, Vec<u8>)> {
    let mut out = Vec::new();
    while let Some(d) = r.poll_transmit(now) {
        out.push(d);
        assert!(out.len() < 100_000, "poll_transmit does not stop");
    }
    out
}

fn events(r: &mut Requestor) -> Vec<Event> {
    std::iter::from_fn(|| r.poll_event()).collect()
}

fn xid(bytes: &[u8]) -> u32 {
    Repr::from_bytes(bytes).unwrap().xid
}

/// Runs the clock from `from` to `until`, waking only when the requestor asks to; returns
/// every transmission with its time.
fn run_until(
    r: &mut Requestor,
    from: Instant,
    until: Instant,
) -> Vec<(Instant, SocketAddr, Vec<u8>)> {
    let mut sent = Vec::new();
    let mut now = from;
    loop {
        let batch = drain(r, now);
        let progressed = !batch.is_empty();
        sent.extend(batch.into_iter().map(|(to, b)| (now, to, b)));
        match r.poll_timeout() {
            Some(t) if t <= until => {
                assert!(
                    t > now || progressed,
                    "busy loop at {:?}",
                    now.duration_since(from)
                );
                now = t.max(now);
            }
            _ => return sent,
        }
    }
}

/// Makes every server answer one query at `now`, so their timers run and they are known.
fn make_live(r: &mut Requestor, now: Instant) {
    let id = r.submit(QueryKey::Ip(addr(250)), now).unwrap();
    for (to, q) in drain(r, now) {
        let b = reply(&q, MessageType::LeaseUnknown, None, None);
        assert_eq!(r.handle_reply(to, &b, now), Ok(id));
        assert!(r.server_live(to, now));
    }
    assert!(matches!(events(r)[..], [Event::Answered(..)]));
    r.clear_cache();
}

fn intervals(sent: &[(Instant, SocketAddr, Vec<u8>)]) -> Vec<f64> {
    sent.windows(2)
        .map(|w| w[1].0.duration_since(w[0].0).as_secs_f64())
        .collect()
}

#[test]
fn backoff_to_a_live_server_is_4_8_16_32_64_64_with_one_second_jitter() {
    for seed in 0..20 {
        let t0 = Instant::now();
        let mut c = config(1);
        c.seed = seed;
        let mut r = Requestor::new(c);
        make_live(&mut r, t0);
        r.submit(QueryKey::Ip(addr(1)), t0).unwrap();
        let sent = run_until(&mut r, t0, t0 + secs(250.0));
        let iv = intervals(&sent);
        assert!(iv.len() >= 6, "{iv:?}");
        for (got, base) in iv.iter().zip([4.0, 8.0, 16.0, 32.0, 64.0, 64.0]) {
            assert!(
                (base - 1.0..=base + 1.0).contains(got),
                "seed {seed}: {iv:?}"
            );
        }
        assert!(sent.iter().all(|s| xid(&s.2) == xid(&sent[0].2)), "one xid");
    }
}

#[test]
fn jitter_comes_from_the_seed() {
    let run = |seed| {
        let t0 = Instant::now();
        let mut c = config(1);
        c.seed = seed;
        let mut r = Requestor::new(c);
        make_live(&mut r, t0);
        r.submit(QueryKey::Ip(addr(1)), t0).unwrap();
        intervals(&run_until(&mut r, t0, t0 + secs(100.0)))
    };
    assert_eq!(run(1), run(1));
    assert_ne!(run(1), run(2));
}

#[test]
fn backoff_figures_are_configurable() {
    let t0 = Instant::now();
    let mut c = config(1);
    c.initial_timeout = secs(1.0);
    c.max_timeout = secs(4.0);
    c.jitter = Duration::ZERO;
    let mut r = Requestor::new(c);
    make_live(&mut r, t0);
    r.submit(QueryKey::Ip(addr(1)), t0).unwrap();
    let iv = intervals(&run_until(&mut r, t0, t0 + secs(20.0)));
    assert_eq!(&iv[..5], &[1.0, 2.0, 4.0, 4.0, 4.0]);
}

#[test]
fn an_unknown_server_gets_one_query_and_no_more_than_one_per_10_seconds() {
    let t0 = Instant::now();
    let mut r = Requestor::new(config(1));
    for n in 1..=5 {
        r.submit(QueryKey::Ip(addr(n)), t0).unwrap();
    }
    let sent = run_until(&mut r, t0, t0 + secs(200.0));
    // The timer starts expired: one query only, the others wait.
    assert!(sent.iter().all(|s| xid(&s.2) == xid(&sent[0].2)));
    let iv = intervals(&sent);
    // Backoff 4±1, 8±1 is raised to 10 s; 16, 32, 64 (±1) stay.
    assert_eq!(&iv[..2], &[10.0, 10.0]);
    for (got, base) in iv[2..].iter().zip([16.0, 32.0, 64.0]) {
        assert!((base - 1.0..=base + 1.0).contains(got), "{iv:?}");
    }
}

#[test]
fn new_queries_to_an_unknown_server_are_paced_at_10_seconds() {
    let t0 = Instant::now();
    let mut c = config(1);
    c.query_timeout = secs(2.0);
    let mut r = Requestor::new(c);
    let mut sent = Vec::new();
    for i in 0..600u32 {
        let now = t0 + secs(f64::from(i) * 0.1);
        if i % 10 == 0 {
            r.submit(QueryKey::Ip(addr((i / 10) as u8 + 1)), now)
                .unwrap();
        }
        sent.extend(drain(&mut r, now).into_iter().map(|(_, b)| (now, b)));
    }
    let gaps: Vec<f64> = sent
        .windows(2)
        .map(|w| w[1].0.duration_since(w[0].0).as_secs_f64())
        .collect();
    assert!(gaps.iter().all(|&g| g >= 10.0 - 1e-9), "{gaps:?}");
    assert!(sent.len() >= 5, "{}", sent.len());
    let failed = events(&mut r)
        .into_iter()
        .filter(|e| matches!(e, Event::Failed(_, Failure::NoReply)))
        .count();
    assert!(failed > 50);
}

#[test]
fn a_reply_starts_the_server_timer_and_releases_the_queue() {
    let t0 = Instant::now();
    let mut r = Requestor::new(config(1));
    let ids: Vec<_> = (1..=5)
        .map(|n| r.submit(QueryKey::Ip(addr(n)), t0).unwrap())
        .collect();
    let first = drain(&mut r, t0);
    assert_eq!(first.len(), 1, "timer expired: one outstanding");
    assert!(!r.server_live(server(0), t0));
    let t1 = t0 + secs(1.0);
    let b = reply(&first[0].1, MessageType::LeaseUnknown, None, None);
    assert_eq!(r.handle_reply(server(0), &b, t1), Ok(ids[0]));
    assert!(r.server_live(server(0), t1));
    assert_eq!(
        drain(&mut r, t1).len(),
        4,
        "timer running: the rest in parallel"
    );
    assert!(r.server_live(server(0), t1 + secs(59.9)));
    assert!(!r.server_live(server(0), t1 + secs(60.0)));
}

#[test]
fn when_the_timer_goes_off_one_query_polls_every_64_seconds() {
    let t0 = Instant::now();
    let mut r = Requestor::new(config(1));
    make_live(&mut r, t0);
    for n in 1..=4 {
        r.submit(QueryKey::Ip(addr(n)), t0).unwrap();
    }
    let sent = run_until(&mut r, t0, t0 + secs(600.0));
    let expiry = t0 + secs(60.0);
    let before: Vec<_> = sent.iter().filter(|s| s.0 < expiry).collect();
    let after: Vec<_> = sent.iter().filter(|s| s.0 >= expiry).cloned().collect();
    assert!(before.len() >= 4 * 4, "all four retransmit while live");
    let poller = xid(&after[0].2);
    assert!(
        after.iter().all(|s| xid(&s.2) == poller),
        "only one after expiry"
    );
    for g in intervals(&after) {
        assert!((63.0..=65.0).contains(&g), "{g}");
    }
    assert!(after.len() >= 8);
    // The poll is answered: the timer runs again and the dropped queries are sent at once.
    let t = after.last().unwrap().0 + secs(1.0);
    let b = reply(
        &after.last().unwrap().2,
        MessageType::LeaseUnknown,
        None,
        None,
    );
    r.handle_reply(server(0), &b, t).unwrap();
    assert_eq!(drain(&mut r, t).len(), 3);
}

#[test]
fn at_most_100_in_parallel_to_a_live_server() {
    let t0 = Instant::now();
    let mut r = Requestor::new(config(1));
    make_live(&mut r, t0);
    for n in 0..250u32 {
        let a = Ipv4Addr::from(u32::from(addr(0)) + 256 + n);
        r.submit(QueryKey::Ip(a), t0).unwrap();
    }
    let sent = drain(&mut r, t0);
    assert_eq!(sent.len(), 100);
    // Nothing more until an answer frees a slot, however long (retransmissions only).
    let t = t0 + secs(5.0);
    let again = drain(&mut r, t);
    assert!(again.len() <= 100);
    let fresh: std::collections::HashSet<u32> = sent.iter().map(|s| xid(&s.1)).collect();
    assert!(again.iter().all(|s| fresh.contains(&xid(&s.1))));
    let b = reply(&sent[0].1, MessageType::LeaseUnknown, None, None);
    r.handle_reply(server(0), &b, t).unwrap();
    let more = drain(&mut r, t);
    assert_eq!(more.len(), 1);
    assert!(!fresh.contains(&xid(&more[0].1)));

    let mut c = config(1);
    c.max_parallel = 10;
    let mut r = Requestor::new(c);
    make_live(&mut r, t0);
    for n in 1..=50 {
        r.submit(QueryKey::Ip(addr(n)), t0).unwrap();
    }
    assert_eq!(drain(&mut r, t0).len(), 10);
}

#[test]
fn a_query_fails_after_its_timeout() {
    let t0 = Instant::now();
    let mut c = config(1);
    c.query_timeout = secs(30.0);
    let mut r = Requestor::new(c);
    assert_eq!(r.poll_timeout(), None);
    let id = r.submit(QueryKey::Ip(addr(1)), t0).unwrap();
    let sent = run_until(&mut r, t0, t0 + secs(100.0));
    assert_eq!(sent.len(), 3, "0, 10, 20 s");
    assert_eq!(events(&mut r), vec![Event::Failed(id, Failure::NoReply)]);
    assert_eq!(r.outstanding(), 0);
    assert_eq!(r.poll_timeout(), None);
}

fn answer_of(r: &mut Requestor) -> Answer {
    match events(r).pop() {
        Some(Event::Answered(_, a)) => *a,
        other => panic!("{other:?}"),
    }
}

#[test]
fn active_is_cached_until_the_lease_ends() {
    let t0 = Instant::now();
    let mut r = Requestor::new(config(1));
    r.submit(QueryKey::Ip(addr(1)), t0).unwrap();
    let q = drain(&mut r, t0).remove(0).1;
    r.handle_reply(
        server(0),
        &reply(&q, MessageType::LeaseActive, Some(100), Some(5)),
        t0,
    )
    .unwrap();
    let a = answer_of(&mut r);
    assert!(!a.from_cache);
    assert_eq!(a.lease.state, LeaseState::Active);
    let t = t0 + secs(99.0);
    r.submit(QueryKey::Ip(addr(1)), t).unwrap();
    assert!(drain(&mut r, t).is_empty());
    let cached = answer_of(&mut r);
    assert!(cached.from_cache);
    assert_eq!(cached.lease, a.lease);
    let t = t0 + secs(100.0);
    r.submit(QueryKey::Ip(addr(1)), t).unwrap();
    assert_eq!(drain(&mut r, t).len(), 1, "expired with the lease");
}

#[test]
fn unknown_is_cached_for_5_minutes() {
    let t0 = Instant::now();
    let mut r = Requestor::new(config(1));
    r.submit(QueryKey::mac([2, 0, 0, 0, 0, 1]), t0).unwrap();
    let q = drain(&mut r, t0).remove(0).1;
    r.handle_reply(
        server(0),
        &reply(&q, MessageType::LeaseUnknown, None, None),
        t0,
    )
    .unwrap();
    answer_of(&mut r);
    let t = t0 + secs(299.0);
    r.submit(QueryKey::mac([2, 0, 0, 0, 0, 1]), t).unwrap();
    assert!(drain(&mut r, t).is_empty());
    assert_eq!(answer_of(&mut r).lease.state, LeaseState::Unknown);
    let t = t0 + secs(300.0);
    r.submit(QueryKey::mac([2, 0, 0, 0, 0, 1]), t).unwrap();
    assert_eq!(drain(&mut r, t).len(), 1);
}

#[test]
fn unassigned_is_cached_until_a_binding_is_gleaned() {
    let t0 = Instant::now();
    let mut r = Requestor::new(config(1));
    r.submit(QueryKey::Ip(addr(1)), t0).unwrap();
    let q = drain(&mut r, t0).remove(0).1;
    r.handle_reply(
        server(0),
        &reply(&q, MessageType::LeaseUnassigned, None, None),
        t0,
    )
    .unwrap();
    answer_of(&mut r);
    let t = t0 + secs(86_400.0);
    r.submit(QueryKey::Ip(addr(1)), t).unwrap();
    assert!(drain(&mut r, t).is_empty());
    assert_eq!(answer_of(&mut r).lease.state, LeaseState::Unassigned);
    r.glean(addr(2));
    r.submit(QueryKey::Ip(addr(1)), t).unwrap();
    assert!(drain(&mut r, t).is_empty(), "another address gleaned");
    events(&mut r);
    r.glean(addr(1));
    r.submit(QueryKey::Ip(addr(1)), t).unwrap();
    assert_eq!(drain(&mut r, t).len(), 1);

    // With a TTL configured, it also runs out.
    let mut c = config(1);
    c.unassigned_ttl = Some(secs(60.0));
    let mut r = Requestor::new(c);
    r.submit(QueryKey::Ip(addr(1)), t0).unwrap();
    let q = drain(&mut r, t0).remove(0).1;
    r.handle_reply(
        server(0),
        &reply(&q, MessageType::LeaseUnassigned, None, None),
        t0,
    )
    .unwrap();
    r.submit(QueryKey::Ip(addr(1)), t0 + secs(60.0)).unwrap();
    assert_eq!(drain(&mut r, t0 + secs(60.0)).len(), 1);
}

#[test]
fn glean_drops_answers_naming_the_address() {
    let t0 = Instant::now();
    let mut r = Requestor::new(config(1));
    let key = QueryKey::ClientId(vec![1, 2, 3]);
    r.submit(key.clone(), t0).unwrap();
    let q = drain(&mut r, t0).remove(0).1;
    r.handle_reply(
        server(0),
        &reply(&q, MessageType::LeaseActive, Some(1000), Some(1)),
        t0,
    )
    .unwrap();
    assert_eq!(answer_of(&mut r).lease.address, Some(addr(99)));
    r.submit(key.clone(), t0).unwrap();
    assert!(drain(&mut r, t0).is_empty());
    events(&mut r);
    r.glean(addr(99));
    r.submit(key, t0).unwrap();
    assert_eq!(drain(&mut r, t0).len(), 1);
}

#[test]
fn without_cache_every_query_is_sent() {
    let t0 = Instant::now();
    let mut c = config(1);
    c.cache = false;
    let mut r = Requestor::new(c);
    for _ in 0..2 {
        r.submit(QueryKey::Ip(addr(1)), t0).unwrap();
        let q = drain(&mut r, t0).remove(0).1;
        r.handle_reply(
            server(0),
            &reply(&q, MessageType::LeaseUnknown, None, None),
            t0,
        )
        .unwrap();
        assert!(!answer_of(&mut r).from_cache);
    }
}

#[test]
fn several_servers_are_all_asked_and_the_most_recent_cltt_wins() {
    let t0 = Instant::now();
    let mut c = config(3);
    c.cache = false;
    let mut r = Requestor::new(c);
    let id = r.submit(QueryKey::Ip(addr(1)), t0).unwrap();
    let sent = drain(&mut r, t0);
    let to: Vec<_> = sent.iter().map(|s| s.0).collect();
    assert_eq!(
        to,
        vec![server(0), server(1), server(2)],
        "§6.2: all servers"
    );
    let at = |s: f64| t0 + secs(s);
    let q = |n: usize| &sent[n].1;
    r.handle_reply(
        server(0),
        &reply(q(0), MessageType::LeaseActive, Some(50), Some(100)),
        at(0.1),
    )
    .unwrap();
    r.handle_reply(
        server(2),
        &reply(q(2), MessageType::LeaseUnknown, None, None),
        at(0.2),
    )
    .unwrap();
    assert!(events(&mut r).is_empty(), "waits for the third");
    // Server 1's client transaction was 10 s before its reply, server 0's 100 s before: 1 wins.
    r.handle_reply(
        server(1),
        &reply(q(1), MessageType::LeaseActive, Some(40), Some(10)),
        at(0.3),
    )
    .unwrap();
    let evs = events(&mut r);
    let Event::Answered(got, a) = &evs[0] else {
        panic!("{evs:?}")
    };
    assert_eq!(*got, id);
    assert_eq!(a.server, server(1));
    assert_eq!(a.lease.lease_remaining, Some(40));
    assert_eq!(a.others.len(), 2);

    // Remembered: the next query for the address goes to server 1 only.
    r.submit(QueryKey::Ip(addr(1)), at(1.0)).unwrap();
    let sent = drain(&mut r, at(1.0));
    assert_eq!(
        sent.iter().map(|s| s.0).collect::<Vec<_>>(),
        vec![server(1)]
    );
}

#[test]
fn cltt_is_compared_at_one_instant() {
    let t0 = Instant::now();
    let mut r = Requestor::new(config(2));
    r.submit(QueryKey::Ip(addr(1)), t0).unwrap();
    let sent = drain(&mut r, t0);
    // Both say 10 s, but server 0 said it 3 s earlier: its transaction is older.
    r.handle_reply(
        server(0),
        &reply(&sent[0].1, MessageType::LeaseActive, Some(9), Some(10)),
        t0,
    )
    .unwrap();
    r.handle_reply(
        server(1),
        &reply(&sent[1].1, MessageType::LeaseActive, Some(9), Some(10)),
        t0 + secs(0.5),
    )
    .unwrap();
    assert_eq!(answer_of(&mut r).server, server(1));
}

#[test]
fn active_beats_unassigned_beats_unknown() {
    let t0 = Instant::now();
    for (states, winner) in [
        ([MessageType::LeaseUnknown, MessageType::LeaseActive], 1),
        ([MessageType::LeaseUnassigned, MessageType::LeaseUnknown], 0),
        ([MessageType::LeaseUnknown, MessageType::LeaseUnassigned], 1),
        ([MessageType::LeaseActive, MessageType::LeaseUnassigned], 0),
    ] {
        let mut r = Requestor::new(config(2));
        r.submit(QueryKey::Ip(addr(1)), t0).unwrap();
        let sent = drain(&mut r, t0);
        for (i, st) in states.iter().enumerate() {
            let lease = (*st == MessageType::LeaseActive).then_some(60);
            r.handle_reply(server(i as u8), &reply(&sent[i].1, *st, lease, Some(1)), t0)
                .unwrap();
        }
        assert_eq!(answer_of(&mut r).server, server(winner), "{states:?}");
    }
}

#[test]
fn a_silent_server_costs_only_the_merge_wait() {
    let t0 = Instant::now();
    let mut r = Requestor::new(config(2));
    let id = r.submit(QueryKey::Ip(addr(1)), t0).unwrap();
    let sent = drain(&mut r, t0);
    r.handle_reply(
        server(0),
        &reply(&sent[0].1, MessageType::LeaseActive, Some(9), Some(1)),
        t0,
    )
    .unwrap();
    assert_eq!(r.poll_timeout(), Some(t0 + secs(1.0)));
    drain(&mut r, t0 + secs(0.9));
    assert!(events(&mut r).is_empty());
    drain(&mut r, t0 + secs(1.0));
    let evs = events(&mut r);
    assert!(matches!(&evs[..], [Event::Answered(i, a)] if *i == id && a.server == server(0)));
}

#[test]
fn a_silent_authoritative_server_falls_back_to_all() {
    let t0 = Instant::now();
    let mut c = config(2);
    c.cache = false;
    let mut r = Requestor::new(c);
    make_live(&mut r, t0);
    r.submit(QueryKey::Ip(addr(1)), t0).unwrap();
    let sent = drain(&mut r, t0);
    r.handle_reply(
        server(1),
        &reply(&sent[1].1, MessageType::LeaseActive, Some(99), Some(1)),
        t0,
    )
    .unwrap();
    drain(&mut r, t0 + secs(1.0));
    answer_of(&mut r);
    // Now server 1 is authoritative and goes silent.
    let t = t0 + secs(2.0);
    r.submit(QueryKey::Ip(addr(1)), t).unwrap();
    let sent = run_until(&mut r, t, t + secs(20.0));
    let first_to_0 = sent
        .iter()
        .position(|s| s.1 == server(0))
        .expect("fell back");
    assert_eq!(first_to_0, 2, "after two transmissions to server 1");
    assert!(sent[..2].iter().all(|s| s.1 == server(1)));
}

#[test]
fn ciaddr_restriction_refuses_addresses_outside_the_access_networks() {
    let t0 = Instant::now();
    let mut c = config(1);
    c.family.access_networks = vec!["198.51.100.0/25".parse().unwrap()];
    let mut r = Requestor::new(c);
    assert_eq!(
        r.submit(QueryKey::Ip(addr(200)), t0),
        Err(SubmitError::OutsideAccessNetworks(addr(200)))
    );
    assert!(SubmitError::<KeyError>::OutsideAccessNetworks(addr(200))
        .to_string()
        .contains("outside the configured access networks"));
    assert!(drain(&mut r, t0).is_empty());
    r.submit(QueryKey::Ip(addr(100)), t0).unwrap();
    r.submit(QueryKey::mac([2, 0, 0, 0, 0, 1]), t0).unwrap();
    assert_eq!(r.outstanding(), 2);
    assert_eq!(
        r.submit(QueryKey::Ip(Ipv4Addr::UNSPECIFIED), t0),
        Err(SubmitError::Invalid(KeyError::ZeroAddress))
    );
    let mut none = Requestor::new(config(0));
    assert_eq!(
        none.submit(QueryKey::Ip(addr(1)), t0),
        Err(SubmitError::NoServers)
    );
}

#[test]
fn what_does_not_answer_a_query_is_ignored() {
    let t0 = Instant::now();
    let mut r = Requestor::new(config(2));
    r.submit(QueryKey::Ip(addr(1)), t0).unwrap();
    let sent = drain(&mut r, t0);
    let good = reply(&sent[0].1, MessageType::LeaseUnknown, None, None);
    assert_eq!(
        r.handle_reply(server(1), &good, t0),
        Err(Ignored::WrongServer)
    );
    assert!(matches!(
        r.handle_reply(server(0), &[1, 2, 3], t0),
        Err(Ignored::Malformed(_))
    ));
    let mut other = Repr::from_bytes(&good).unwrap();
    other.xid ^= 1;
    assert_eq!(
        r.handle_reply(server(0), &other.to_vec(), t0),
        Err(Ignored::UnknownXid)
    );
    let mut moved = Repr::from_bytes(&good).unwrap();
    moved.ciaddr = addr(2);
    assert_eq!(
        r.handle_reply(server(0), &moved.to_vec(), t0),
        Err(Ignored::Mismatch)
    );
    // A reply from another port of the server's address is fine.
    let from = SocketAddr::from((server(0).ip(), 6767));
    assert!(r.handle_reply(from, &good, t0).is_ok());
    assert_eq!(r.handle_reply(from, &good, t0), Err(Ignored::Duplicate));
    assert!(events(&mut r).is_empty());
}

#[test]
fn queries_carry_giaddr_and_the_parameter_request_list() {
    let t0 = Instant::now();
    let mut c = config(1);
    c.family.parameters = vec![51, 82];
    let mut r = Requestor::new(c);
    r.submit(QueryKey::RelayId(b"bng".to_vec()), t0).unwrap();
    let q = Repr::from_bytes(&drain(&mut r, t0)[0].1).unwrap();
    assert_eq!(q.giaddr, GIADDR);
    assert_eq!(
        q.option(55),
        Some(&DhcpOption::ParameterRequestList(vec![51, 82]))
    );
    assert_eq!(q.message_type(), Some(MessageType::LeaseQuery));
}

#[test]
fn a_query_for_an_address_already_asked_joins_it_and_sends_nothing() {
    let t0 = Instant::now();
    let mut r = Requestor::new(config(1));
    let first = r.submit(QueryKey::Ip(addr(1)), t0).unwrap();
    let other = r.submit(QueryKey::Ip(addr(2)), t0).unwrap();
    let (to, q) = drain(&mut r, t0).remove(0);
    // Joined while the server is unknown (one outstanding, §6.6) and later while it retransmits.
    let second = r.submit(QueryKey::Ip(addr(1)), t0 + secs(1.0)).unwrap();
    let third = r.submit(QueryKey::Ip(addr(1)), t0 + secs(9.0)).unwrap();
    assert_eq!(r.outstanding(), 4);
    let sent = run_until(&mut r, t0 + secs(1.0), t0 + secs(25.0));
    let asked: Vec<Ipv4Addr> = sent
        .iter()
        .map(|(_, _, b)| Repr::from_bytes(b).unwrap().ciaddr)
        .collect();
    // The server is unknown: one query outstanding, retransmitted 10 s apart (addr 2 waits for
    // an answer); the joined queries add nothing.
    assert_eq!(asked, [addr(1), addr(1)], "{:?}", intervals(&sent));
    assert!(
        sent.iter().all(|(_, _, b)| xid(b) == xid(&q)),
        "the first query's"
    );
    let now = t0 + secs(25.0);
    let b = reply(&q, MessageType::LeaseActive, Some(600), Some(3));
    assert_eq!(r.handle_reply(to, &b, now), Ok(first));
    let got = events(&mut r);
    let ids: Vec<QueryId> = got
        .iter()
        .map(|e| match e {
            Event::Answered(id, a) => {
                assert_eq!(a.lease.address, Some(addr(1)));
                assert!(!a.from_cache);
                *id
            }
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(ids, [first, second, third]);
    assert_eq!(r.outstanding(), 1, "addr 2 is still asked");
    // Answered: the next query for it is the cache's.
    let fourth = r.submit(QueryKey::Ip(addr(1)), now).unwrap();
    assert!(
        matches!(&events(&mut r)[..], [Event::Answered(id, a)] if *id == fourth && a.from_cache)
    );
    assert_ne!(other, fourth);
}

#[test]
fn joined_queries_fail_with_the_one_they_joined_and_the_next_asks_again() {
    let t0 = Instant::now();
    let mut c = config(1);
    c.query_timeout = secs(30.0);
    let mut r = Requestor::new(c);
    let first = r.submit(QueryKey::Ip(addr(1)), t0).unwrap();
    let sent = run_until(&mut r, t0, t0 + secs(20.0));
    assert_eq!(sent.len(), 3, "0, 10, 20 s");
    let joined = r.submit(QueryKey::Ip(addr(1)), t0 + secs(20.0)).unwrap();
    assert!(drain(&mut r, t0 + secs(20.0)).is_empty());
    run_until(&mut r, t0 + secs(20.0), t0 + secs(30.0));
    assert_eq!(
        events(&mut r),
        vec![
            Event::Failed(first, Failure::NoReply),
            Event::Failed(joined, Failure::NoReply)
        ],
        "a joined query ends at the deadline of the one it joined"
    );
    assert_eq!(r.outstanding(), 0);
    // Failures are not cached: a new query asks again (the 10 s pacing still holds).
    r.submit(QueryKey::Ip(addr(1)), t0 + secs(31.0)).unwrap();
    assert_eq!(drain(&mut r, t0 + secs(31.0)).len(), 1);
}

#[test]
fn a_query_joined_to_an_unassigned_answer_is_then_served_by_the_negative_cache() {
    let t0 = Instant::now();
    let mut r = Requestor::new(config(2));
    let first = r.submit(QueryKey::Ip(addr(1)), t0).unwrap();
    let queries = drain(&mut r, t0);
    assert_eq!(queries.len(), 2, "every server, once");
    let joined = r.submit(QueryKey::Ip(addr(1)), t0).unwrap();
    assert!(drain(&mut r, t0).is_empty());
    for (to, q) in &queries {
        let b = reply(q, MessageType::LeaseUnassigned, None, None);
        r.handle_reply(*to, &b, t0).unwrap();
    }
    let ids: Vec<QueryId> = events(&mut r)
        .into_iter()
        .map(|e| match e {
            Event::Answered(id, a) if a.lease.state == LeaseState::Unassigned => id,
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(ids, [first, joined]);
    r.submit(QueryKey::Ip(addr(1)), t0 + secs(3600.0)).unwrap();
    assert!(drain(&mut r, t0 + secs(3600.0)).is_empty());
    assert_eq!(answer_of(&mut r).lease.state, LeaseState::Unassigned);
}
