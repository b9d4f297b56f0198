//! Our requestor against our leasequery responder, end to end over the in-memory UDP pair
//! (tests/pair): every query encoded by the requestor, routed and answered by the server as its
//! I/O shell would, and decoded back by the requestor, on virtual time.

#[allow(dead_code)]
mod pair;

use lessor_requestor::{Event, Failure, LeaseState, QueryKey};
use lessor_store::HwAddr;
use lessor_wire::v4::RelayAgentInformation;
use pair::fixtures::{self, address, client, FREE, SERVER_A, SERVER_B, UNMANAGED};
use pair::udp::{Fate, Handled, Responder, UdpPair};
use pair::T0;
use std::net::SocketAddr;
use std::time::Duration;

fn secs(s: f64) -> Duration {
    Duration::from_secs_f64(s)
}

fn socket(s: std::net::Ipv4Addr) -> SocketAddr {
    SocketAddr::from((s, 67))
}

/// Every reply reached the requestor's own socket (docs/protocol.md decision 4: the source
/// port of a query from giaddr), none was lost on the way or sent elsewhere.
fn assert_replies_reached_the_requestor(p: &UdpPair) {
    for d in p.trace.iter().filter(|d| !d.is_query()) {
        assert_eq!(d.to, p.address, "reply sent to {}", d.to);
        assert!(
            matches!(d.fate, Fate::Delivered(_)),
            "reply {:#x}: {:?}",
            d.xid(),
            d.fate
        );
    }
}

/// Makes every server known and live (§6.6): one query each answers.
fn make_live(p: &mut UdpPair) {
    let id = p.submit(QueryKey::Ip(UNMANAGED));
    p.run_until_done();
    assert!(matches!(p.outcome(id), Some((_, Event::Answered(..)))));
    p.requestor.clear_cache();
}

#[test]
fn every_key_is_answered_with_the_binding_in_the_store() {
    let a = Responder::new(SERVER_A);
    for n in 1..=6 {
        a.put(client(n));
    }
    // Client 3 has a second, older address: the answer by client-id is the most recent one,
    // the other in associated-ip.
    let older = fixtures::binding_at(address(30), 3, T0 - 900);
    a.put(older.clone());
    // Client 5 (relay-B) talked to the server last: it answers a query by relay-B's relay-id.
    let latest = fixtures::binding_at(address(5), 5, T0 - 5);
    a.put(latest.clone());
    let mut p = UdpPair::new(vec![a], |_| {});
    let queries = [
        (QueryKey::Ip(address(1)), client(1), vec![]),
        (
            QueryKey::Mac(HwAddr::ethernet(fixtures::mac(2))),
            client(2),
            vec![],
        ),
        (
            QueryKey::ClientId(fixtures::client_id(3)),
            client(3),
            vec![address(30)],
        ),
        (QueryKey::Ip(address(30)), older, vec![address(3)]),
        (
            QueryKey::RemoteId(fixtures::remote_id(4)),
            client(4),
            vec![],
        ),
        (
            QueryKey::RelayId(b"relay-B".to_vec()),
            latest,
            // The other relay-B clients, most recent first.
            // (1 and 3 in the same second: 3 was written later), then the older one.
            vec![address(3), address(1), address(30)],
        ),
    ];
    let ids: Vec<_> = queries
        .iter()
        .map(|(key, _, _)| p.submit(key.clone()))
        .collect();
    p.run_until_done();
    for ((key, binding, associated), id) in queries.iter().zip(ids) {
        let answer = p.answer(id);
        assert_eq!(answer.server, socket(SERVER_A), "{key:?}");
        assert!(!answer.from_cache);
        fixtures::assert_describes(&answer.lease, binding, Some(SERVER_A), T0);
        assert_eq!(
            &answer.lease.associated, associated,
            "{key:?}: associated-ip"
        );
    }
    // One transmission each: the first answer starts the server's timer (§6.6) and the other
    // queries follow at once; every one answered.
    assert_eq!(p.queries_at(0).len(), queries.len());
    assert!(p
        .queries_at(0)
        .iter()
        .all(|d| matches!(d.handled, Some(Handled::Replied(_)))));
    assert_replies_reached_the_requestor(&p);
    assert!(p.ignored.is_empty(), "{:?}", p.ignored);
}

#[test]
fn the_most_recent_client_last_transaction_time_wins_across_servers() {
    // RFC 4388 §6.8: two servers hold client 1, B saw it 60 s ago on another circuit, A 10 min
    // ago. Whichever answers first, B's answer is the one kept.
    let recent = {
        let rai = RelayAgentInformation::from_sub_options([
            (1, &b"ge-9/9/9"[..]),
            (2, &fixtures::remote_id(1)[..]),
            (12, &b"relay-A"[..]),
        ])
        .unwrap();
        let mut b = fixtures::binding_at(address(1), 1, T0 - 60);
        b.set_relay_agent_information(Some(rai.as_bytes())).unwrap();
        b.set_circuit_id(Some(b"ge-9/9/9")).unwrap();
        b.set_relay_id(Some(b"relay-A")).unwrap();
        b
    };
    for a_first in [true, false] {
        for key in [
            QueryKey::Ip(address(1)),
            QueryKey::Mac(HwAddr::ethernet(fixtures::mac(1))),
            QueryKey::ClientId(fixtures::client_id(1)),
        ] {
            let a = Responder::new(SERVER_A);
            a.put(client(1));
            let b = Responder::new(SERVER_B);
            b.put(recent.clone());
            let mut p = UdpPair::new(vec![a, b], |_| {});
            let slow = if a_first { 1 } else { 0 };
            p.down[slow].delay = Duration::from_millis(300);
            let id = p.submit(key.clone());
            p.run_until_done();
            let answer = p.answer(id);
            assert_eq!(
                answer.server,
                socket(SERVER_B),
                "{key:?}, A first {a_first}"
            );
            fixtures::assert_describes(&answer.lease, &recent, Some(SERVER_B), T0);
            // A's answer is kept aside, for diagnostics.
            assert_eq!(answer.others.len(), 1);
            assert_eq!(answer.others[0].0, socket(SERVER_A));
            assert_eq!(answer.others[0].1.cltt_ago, Some(600));
            // Both answered: the answer is final when the last one arrives, no merge wait.
            assert_eq!(p.ended_at(id), Duration::from_millis(301), "{key:?}");
        }
    }
}

#[test]
fn an_active_lease_beats_unassigned_and_unknown_from_other_servers() {
    // A manages the address and has it leased; B manages it too but has no lease (UNASSIGNED),
    // and a third server knows nothing of 203.0.113.0/24 (UNKNOWN).
    let a = Responder::new(SERVER_A);
    a.put(client(7));
    let b = Responder::new(SERVER_B);
    let c_addr = std::net::Ipv4Addr::new(192, 0, 2, 3);
    let c = Responder::with_config(
        c_addr,
        &fixtures::config_text(c_addr).replace("203.0.113", "198.51.100"),
    );
    let mut p = UdpPair::new(vec![c, b, a], |_| {});
    let id = p.submit(QueryKey::Ip(address(7)));
    p.run_until_done();
    let answer = p.answer(id);
    assert_eq!(answer.server, socket(SERVER_A));
    fixtures::assert_describes(&answer.lease, &client(7), Some(SERVER_A), T0);
    let mut others: Vec<_> = answer.others.iter().map(|(s, l)| (*s, l.state)).collect();
    others.sort_by_key(|(s, _)| *s);
    assert_eq!(
        others,
        vec![
            (socket(SERVER_B), LeaseState::Unassigned),
            (socket(c_addr), LeaseState::Unknown)
        ]
    );
}

#[test]
fn a_lost_query_is_retransmitted_with_the_rfc2131_backoff_and_answered() {
    let a = Responder::new(SERVER_A);
    a.put(client(1));
    let mut p = UdpPair::new(vec![a], |_| {});
    make_live(&mut p);
    let before = p.queries_to(0).len();
    let start = p.now();
    p.up[0].drop_next = 3;
    let id = p.submit(QueryKey::Ip(address(1)));
    p.run_until_done();
    let sent: Vec<_> = p.queries_to(0)[before..].to_vec();
    assert_eq!(sent.len(), 4, "three lost, the fourth answered");
    assert_eq!(sent[0].sent, start);
    // The same transaction each time (RFC 2131 §4.1), 4, 8 and 16 s apart, each ±1 s.
    assert!(sent.iter().all(|d| d.xid() == sent[0].xid()));
    for (w, base) in sent.windows(2).zip([4.0, 8.0, 16.0]) {
        let gap = (w[1].sent - w[0].sent).as_secs_f64();
        assert!(
            (base - 1.0..=base + 1.0).contains(&gap),
            "{:?}",
            sent.iter().map(|d| d.sent).collect::<Vec<_>>()
        );
    }
    assert!(sent[..3].iter().all(|d| d.fate == Fate::Lost));
    // Answered 2 ms after the fourth transmission (1 ms each way), about the binding.
    assert_eq!(p.ended_at(id), sent[3].sent + Duration::from_millis(2));
    let wall = T0 + sent[3].sent.as_secs();
    fixtures::assert_describes(&p.answer(id).lease, &client(1), Some(SERVER_A), wall);
}

#[test]
fn a_lost_reply_is_asked_again_and_the_server_answers_the_same_transaction() {
    let a = Responder::new(SERVER_A);
    a.put(client(1));
    let mut p = UdpPair::new(vec![a], |_| {});
    make_live(&mut p);
    let before = p.queries_to(0).len();
    p.down[0].drop_next = 1;
    let id = p.submit(QueryKey::Ip(address(1)));
    p.run_until_done();
    let sent: Vec<_> = p.queries_at(0)[before..].to_vec();
    assert_eq!(sent.len(), 2, "the server saw the query twice");
    assert_eq!(sent[0].xid(), sent[1].xid());
    let gap = (sent[1].sent - sent[0].sent).as_secs_f64();
    assert!((3.0..=5.0).contains(&gap), "retransmitted after {gap} s");
    assert!(matches!(p.outcome(id), Some((_, Event::Answered(..)))));
}

#[test]
fn queries_the_server_rate_limits_are_retransmitted_until_answered() {
    // The server takes 1 query a second from this requestor (and a burst as deep as its bucket);
    // 150 queries are submitted at once, 100 of them go out together (a live server gets up to
    // 100 in parallel). Those dropped are retransmitted and, in the end, every one is answered.
    let a = Responder::with_config(SERVER_A, &fixtures::config_text_rate_limited(SERVER_A, 1));
    for n in 1..=150 {
        a.put(client(n));
    }
    let mut p = UdpPair::new(vec![a], |c| c.query_timeout = secs(3600.0));
    make_live(&mut p);
    let ids: Vec<_> = (1..=150)
        .map(|n| p.submit(QueryKey::Ip(address(n))))
        .collect();
    p.run_until_done();
    for (n, id) in (1..=150).zip(ids) {
        assert_eq!(p.answer(id).lease.address, Some(address(n)), "client {n}");
    }
    let dropped = p
        .trace
        .iter()
        .filter(|d| d.handled == Some(Handled::Dropped))
        .count() as u64;
    assert!(dropped > 0, "the limit was never reached");
    // Every query that reached the server was answered or dropped for the rate limit.
    assert_eq!(p.queries_at(0).len() as u64, 1 + 150 + dropped);
    let counters = p.servers[0].responder.counters();
    assert_eq!(
        counters.dropped(lessor_server::leasequery4::DropReason::RateLimitedRequester),
        dropped
    );
    assert_replies_reached_the_requestor(&p);
}

#[test]
fn a_server_that_never_answers_is_paced_while_the_other_is_used() {
    // B never answers (everything to it is lost). A query every 2 s for 5 minutes, each about
    // another client A has.
    let a = Responder::new(SERVER_A);
    for n in 1..=150 {
        a.put(client(n));
    }
    let mut p = UdpPair::new(vec![a, Responder::new(SERVER_B)], |_| {});
    p.up[1].loss = 1.0;
    let mut ids = Vec::new();
    for n in 1..=150u8 {
        let submitted = p.now();
        ids.push((n, submitted, p.submit(QueryKey::Ip(address(n)))));
        p.run_for(secs(2.0));
    }
    p.run_until_done();
    for &(n, submitted, id) in &ids {
        // A answers at once; the requestor waits merge-wait (1 s) for B, then takes A's answer.
        assert_eq!(p.answer(id).lease.address, Some(address(n)));
        assert_eq!(
            p.ended_at(id) - submitted,
            Duration::from_millis(1002),
            "client {n}"
        );
    }
    // A got each query once.
    assert_eq!(p.queries_to(0).len(), 150);
    // B, never seen to answer: one query at a time, no more than one per 10 s, yet polled
    // at least once every 70 s while there are queries (§6.6).
    let to_b: Vec<_> = p.queries_to(1).iter().map(|d| d.sent).collect();
    assert!(to_b.len() >= 300 / 70, "{to_b:?}");
    for w in to_b.windows(2) {
        let gap = w[1] - w[0];
        assert!(gap >= secs(10.0) && gap <= secs(70.0), "B: {:?}", to_b);
    }
    assert!(!p.requestor.server_live(socket(SERVER_B), p.clock.instant()));
}

#[test]
fn one_query_at_a_time_until_the_server_answers_then_many_in_parallel() {
    // §6.6: the per-server timer starts expired, so one query is outstanding to a server until
    // it answers; then the others go out together. The link is down for the first 35 s.
    let a = Responder::new(SERVER_A);
    for n in 1..=5 {
        a.put(client(n));
    }
    let mut p = UdpPair::new(vec![a], |_| {});
    p.up[0].loss = 1.0;
    let ids: Vec<_> = (1..=5)
        .map(|n| p.submit(QueryKey::Ip(address(n))))
        .collect();
    p.run_until(secs(35.0));
    let lost: Vec<_> = p.queries_to(0).iter().map(|d| (d.sent, d.xid())).collect();
    assert_eq!(
        lost.iter().map(|l| l.0).collect::<Vec<_>>(),
        vec![secs(0.0), secs(10.0), secs(20.0)],
        "the 10 s floor over the 4 s and 8 s backoff"
    );
    assert!(lost.iter().all(|l| l.1 == lost[0].1), "one query: {lost:?}");
    p.up[0].loss = 0.0;
    p.run_until_done();
    let sent = p.queries_to(0);
    let answered = sent[3].sent + Duration::from_millis(2);
    assert_eq!(sent[3].xid(), lost[0].1, "the same query, retransmitted");
    assert_eq!(sent.len(), 8);
    let rest: Vec<_> = sent[4..].iter().map(|d| (d.sent, d.xid())).collect();
    assert!(rest.iter().all(|r| r.0 == answered), "{rest:?}");
    let distinct: std::collections::BTreeSet<_> = rest.iter().map(|r| r.1).collect();
    assert_eq!(distinct.len(), 4);
    for (n, id) in (1..=5).zip(ids) {
        assert_eq!(p.answer(id).lease.address, Some(address(n)));
    }
}

#[test]
fn a_known_server_that_falls_silent_is_polled_by_one_query() {
    // B answered before, then falls silent. Once its timer (1 min) runs out, §6.6 keeps one
    // query outstanding to it, sent about every 64 s, while A answers everything.
    let a = Responder::new(SERVER_A);
    let b = Responder::new(SERVER_B);
    for n in 1..=200 {
        a.put(client(n));
    }
    let mut p = UdpPair::new(vec![a, b], |_| {});
    make_live(&mut p);
    assert!(p.requestor.server_live(socket(SERVER_B), p.clock.instant()));
    let silent_from = p.now();
    p.up[1].loss = 1.0;
    for n in 1..=200u8 {
        p.submit(QueryKey::Ip(address(n)));
        p.run_for(secs(2.0));
    }
    p.run_until_done();
    let to_b: Vec<_> = p
        .queries_to(1)
        .iter()
        .map(|d| d.sent)
        .filter(|&t| t >= silent_from + secs(61.0))
        .collect();
    assert!(to_b.len() >= 3, "{to_b:?}");
    for w in to_b.windows(2) {
        let gap = w[1] - w[0];
        assert!(
            gap >= secs(63.0) && gap <= secs(70.0),
            "B polled at {to_b:?}"
        );
    }
}

#[test]
fn unassigned_and_unknown_are_cached_and_not_asked_again() {
    let a = Responder::new(SERVER_A);
    // Client 9's binding has ended: its remote-id is known but has no active lease.
    let mut gone = client(9);
    gone.state = lessor_store::State4::Expired;
    a.put(gone);
    let mut p = UdpPair::new(vec![a], |_| {});
    let keys = [
        (QueryKey::Ip(FREE), LeaseState::Unassigned),
        (QueryKey::Ip(UNMANAGED), LeaseState::Unknown),
        (
            QueryKey::Mac(HwAddr::ethernet(fixtures::mac(99))),
            LeaseState::Unknown,
        ),
        (
            QueryKey::RemoteId(fixtures::remote_id(9)),
            LeaseState::Unassigned,
        ),
    ];
    for (key, state) in &keys {
        let id = p.submit(key.clone());
        p.run_until_done();
        assert_eq!(p.answer(id).lease.state, *state, "{key:?}");
        assert!(!p.answer(id).from_cache);
    }
    let sent = p.queries_to(0).len();
    assert_eq!(sent, keys.len());
    // Asked again within 5 minutes: from the cache, nothing sent.
    p.run_for(secs(299.0));
    for (key, state) in &keys {
        let id = p.submit(key.clone());
        let answer = p.answer(id);
        assert!(answer.from_cache, "{key:?}");
        assert_eq!(answer.lease.state, *state);
    }
    p.run_until_done();
    assert_eq!(p.queries_to(0).len(), sent);
    // After 5 minutes UNKNOWN, and UNASSIGNED for an identifier, are asked again; UNASSIGNED
    // for an address stays until a binding for it is gleaned (§6.5).
    p.run_for(secs(2.0));
    for (key, _) in &keys {
        p.submit(key.clone());
    }
    p.run_until_done();
    assert_eq!(p.queries_to(0).len(), sent + 3);
    let again: Vec<_> = p.queries_to(0)[sent..].iter().map(|d| d.xid()).collect();
    assert_eq!(again.len(), 3);
    p.requestor.glean(FREE);
    let id = p.submit(QueryKey::Ip(FREE));
    p.run_until_done();
    assert!(!p.answer(id).from_cache);
    assert_eq!(p.queries_to(0).len(), sent + 4);
}

#[test]
fn an_active_answer_is_cached_until_the_lease_ends() {
    let a = Responder::new(SERVER_A);
    a.put(client(1));
    let mut p = UdpPair::new(vec![a], |_| {});
    let id = p.submit(QueryKey::Ip(address(1)));
    p.run_until_done();
    let remaining = p.answer(id).lease.lease_remaining.unwrap();
    assert_eq!(u64::from(remaining), client(1).end - T0);
    p.run_until(secs(f64::from(remaining) - 1.0));
    let id = p.submit(QueryKey::Ip(address(1)));
    assert!(p.answer(id).from_cache);
    p.run_for(secs(1.01));
    let id = p.submit(QueryKey::Ip(address(1)));
    p.run_until_done();
    // The lease has ended: the server says UNASSIGNED (it manages the address).
    assert!(!p.answer(id).from_cache);
    assert_eq!(p.answer(id).lease.state, LeaseState::Unassigned);
    assert_eq!(p.queries_to(0).len(), 2);
}

#[test]
fn a_query_no_server_answers_fails_after_the_query_timeout() {
    let a = Responder::new(SERVER_A);
    a.put(client(1));
    let mut p = UdpPair::new(vec![a], |c| c.query_timeout = secs(30.0));
    p.up[0].loss = 1.0;
    let id = p.submit(QueryKey::Ip(address(1)));
    p.run_until_done();
    assert_eq!(
        p.outcome(id).map(|(at, e)| (*at, e.clone())),
        Some((secs(30.0), Event::Failed(id, Failure::NoReply)))
    );
    // Never seen to answer: 0, 10, 20 s (the 10 s floor over the 4 s backoff).
    let sent: Vec<_> = p.queries_to(0).iter().map(|d| d.sent).collect();
    assert_eq!(sent, vec![secs(0.0), secs(10.0), secs(20.0)]);
}
