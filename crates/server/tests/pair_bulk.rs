//! Our bulk requestor session against our bulk leasequery connection, end to end over the
//! in-memory bulk pair (tests/pair): both dialects, octets cut anywhere, a requestor that reads
//! slowly or not at all, half-close, on virtual time.

#[allow(dead_code)]
mod pair;

use lessor_net::tcp::Ending;
use lessor_requestor::bulk::{End, SessionError, TimeRange};
use lessor_requestor::{LeaseState, QueryKey};
use lessor_server::bulk4::{Close, CloseReason};
use lessor_store::{Binding4, HwAddr, State4};
use lessor_wire::framing::Dialect;
use pair::bulk::{BulkPair, Pieces, Reader};
use pair::fixtures::{self, bulk_client, DATA_TIMEOUT_SECS, IDLE_TIMEOUT_SECS};
use pair::T0;
use std::collections::{BTreeMap, BTreeSet};
use std::net::Ipv4Addr;
use std::time::Duration;

const DIALECTS: [Dialect; 2] = [Dialect::Draft, Dialect::Rfc6926];

/// Active bulk clients `0..n` (relay-A: even, relay-B: odd) and ten more whose lease ended
/// 10 s before T0 (kept bindings, never streamed by a plain query).
fn bindings(n: u32) -> Vec<Binding4> {
    let mut all: Vec<Binding4> = (0..n).map(bulk_client).collect();
    for i in n..n + 10 {
        let mut b = bulk_client(i);
        b.state = State4::Expired;
        b.end = T0 - 10;
        b.t1 = b.cltt + 1;
        b.t2 = b.cltt + 2;
        all.push(b);
    }
    all
}

fn by_address(bindings: &[Binding4]) -> BTreeMap<Ipv4Addr, Binding4> {
    bindings.iter().map(|b| (b.address, b.clone())).collect()
}

/// The addresses of the active bindings whose relay-id is `relay`.
fn active_behind(bindings: &[Binding4], relay: &[u8]) -> BTreeSet<Ipv4Addr> {
    bindings
        .iter()
        .filter(|b| b.state == State4::Active && b.relay_id() == Some(relay))
        .map(|b| b.address)
        .collect()
}

/// Checks that query `xid` streamed exactly the bindings at `expected`, each one as the store
/// has it (times relative to `wall`, when the server took the query), and ended with DONE.
fn assert_streamed_at(
    p: &BulkPair,
    xid: u32,
    expected: &BTreeSet<Ipv4Addr>,
    store: &BTreeMap<Ipv4Addr, Binding4>,
    wall: u64,
) {
    let got = p.bindings(xid);
    let addresses: BTreeSet<_> = got.iter().filter_map(|l| l.address).collect();
    assert_eq!(
        addresses.len(),
        got.len(),
        "xid {xid}: a binding came twice"
    );
    assert_eq!(&addresses, expected, "xid {xid}");
    for lease in got {
        let b = &store[&lease.address.unwrap()];
        fixtures::assert_describes(lease, b, None, wall);
    }
    assert_eq!(
        p.end(xid),
        Some(&End::Done {
            bindings: expected.len() as u64
        }),
        "xid {xid}"
    );
}

/// [`assert_streamed_at`] for a query the server took at T0.
fn assert_streamed(
    p: &BulkPair,
    xid: u32,
    expected: &BTreeSet<Ipv4Addr>,
    store: &BTreeMap<Ipv4Addr, Binding4>,
) {
    assert_streamed_at(p, xid, expected, store, T0);
}

/// How many times the stream of events switches from one query to another before `xid`
/// completes: round robin interleaves the queries answered at once.
fn switches_before_end(p: &BulkPair, xid: u32) -> usize {
    let end = p
        .events
        .iter()
        .position(|(_, e)| matches!(e, lessor_requestor::bulk::Event::Complete { xid: x, .. } if *x == xid))
        .expect("completed");
    p.xids()[..=end].windows(2).filter(|w| w[0] != w[1]).count()
}

#[test]
fn every_dialect_streams_every_binding_with_interleaved_queries_in_any_pieces() {
    let all = bindings(120);
    let store = by_address(&all);
    let relay_a = active_behind(&all, b"relay-A");
    let relay_b = active_behind(&all, b"relay-B");
    assert_eq!((relay_a.len(), relay_b.len()), (60, 60));
    let one = |i: u32| BTreeSet::from([bulk_client(i).address]);
    let cuts = [
        Pieces::Whole,
        Pieces::Octets(1),
        Pieces::Random { max: 7 },
        Pieces::Random { max: 300 },
        Pieces::Random { max: 5000 },
    ];
    for dialect in DIALECTS {
        for (seed, pieces) in cuts.into_iter().enumerate() {
            let what = format!("{dialect:?}, {pieces:?}");
            let mut p = BulkPair::new(dialect, BulkPair::store_of(all.clone()));
            p.seed(seed as u64);
            p.pieces = pieces;
            // A small path, small writes and a reader at a pace: the stream takes a while (up
            // to a minute, one octet a millisecond), and the fifth query goes out while the
            // others stream. (Small writes keep the engine's data timer in step with what the
            // path takes: see a_slow_reader_that_keeps_reading_is_not_timed_out.)
            p.window = 2048;
            p.write_budget = 1024;
            p.reader = Reader::Paced {
                every: Duration::from_millis(1),
            };
            p.query(&QueryKey::RelayId(b"relay-A".to_vec()), 1);
            p.query(&QueryKey::RemoteId(fixtures::remote_id(1003)), 2);
            p.query(&QueryKey::Mac(HwAddr::ethernet(fixtures::mac(1004))), 3);
            p.query(&QueryKey::ClientId(fixtures::client_id(1005)), 4);
            while p.bindings(1).len() < 10 {
                assert!(
                    p.closed.is_none() && p.now() < Duration::from_secs(60),
                    "{what}: no tenth binding: {:?}, {:?}",
                    p.closed,
                    p.session_end
                );
                p.run_for(Duration::from_millis(1));
            }
            assert!(p.end(1).is_none(), "{what}: relay-A still streaming");
            // The server takes it at once (queries 2 to 4 are done): its times are from now.
            let fifth = T0 + p.now().as_secs();
            p.query(&QueryKey::RelayId(b"relay-B".to_vec()), 5);
            p.half_close();
            p.run_until_closed(Duration::from_secs(3600));
            assert_streamed(&p, 1, &relay_a, &store);
            assert_streamed(&p, 2, &one(3), &store);
            assert_streamed(&p, 3, &one(4), &store);
            assert_streamed(&p, 4, &one(5), &store);
            assert_streamed_at(&p, 5, &relay_b, &store, fifth);
            assert!(
                switches_before_end(&p, 1) >= 4,
                "{what}: the queries were not interleaved: {:?}",
                p.xids()
            );
            assert_eq!(
                p.closed.map(|c| c.how),
                Some(Ending::Graceful(Close::Finished)),
                "{what}"
            );
            assert_eq!(
                p.session_end.as_ref().map(|e| &e.1),
                Some(&Ok(())),
                "{what}"
            );
            assert_eq!(p.counters.done.get(), 5, "{what}");
        }
    }
}

#[test]
fn queries_that_find_nothing_end_as_each_dialect_says() {
    let all = bindings(4);
    for dialect in DIALECTS {
        let mut p = BulkPair::new(dialect, BulkPair::store_of(all.clone()));
        p.pieces = Pieces::Random { max: 3 };
        // A relay-id never seen; a remote-id known only from a binding that ended.
        p.query(&QueryKey::RelayId(b"relay-Z".to_vec()), 1);
        p.query(&QueryKey::RemoteId(fixtures::remote_id(1004)), 2);
        p.half_close();
        p.run_until_closed(Duration::from_secs(60));
        match dialect {
            // Draft: a single UNKNOWN / UNASSIGNED and no DONE.
            Dialect::Draft => {
                let state = |xid| match p.end(xid) {
                    Some(End::NotFound(info)) => info.state,
                    other => panic!("xid {xid}: {other:?}"),
                };
                assert_eq!(state(1), LeaseState::Unknown);
                assert_eq!(state(2), LeaseState::Unassigned);
            }
            // RFC 6926: DONE without bindings.
            _ => {
                assert_eq!(p.end(1), Some(&End::Done { bindings: 0 }));
                assert_eq!(p.end(2), Some(&End::Done { bindings: 0 }));
            }
        }
        assert_eq!(p.session_end.as_ref().map(|e| &e.1), Some(&Ok(())));
    }
}

#[test]
fn a_catch_up_query_streams_what_changed_in_the_interval_ended_ones_as_unassigned() {
    let all = bindings(20);
    let store = by_address(&all);
    let mut p = BulkPair::new(Dialect::Rfc6926, BulkPair::store_of(all.clone()));
    p.pieces = Pieces::Random { max: 40 };
    // Everything that changed in the last 10 minutes and 15 seconds: the active bulk clients
    // 0..=15 (cltt T0 - 600 - i) and the expired ones (their lease ended at T0 - 10).
    let times = TimeRange {
        start: Some((T0 - 615) as u32),
        end: None,
    };
    p.session
        .query_in(
            &QueryKey::RelayId(b"relay-A".to_vec()),
            9,
            p.giaddr,
            &lessor_requestor::DEFAULT_PARAMETERS,
            times,
        )
        .unwrap();
    p.half_close();
    p.run_until_closed(Duration::from_secs(60));
    let got = p.bindings(9);
    let active: BTreeSet<_> = got
        .iter()
        .filter(|l| l.state == LeaseState::Active)
        .filter_map(|l| l.address)
        .collect();
    let expected: BTreeSet<_> = (0..=15)
        .step_by(2)
        .map(|i| bulk_client(i).address)
        .collect();
    assert_eq!(active, expected);
    for lease in got.iter().filter(|l| l.state == LeaseState::Active) {
        fixtures::assert_describes(lease, &store[&lease.address.unwrap()], None, T0);
    }
    // The expired relay-A bindings: UNASSIGNED, so that the requestor learns they ended.
    let ended: BTreeSet<_> = got
        .iter()
        .filter(|l| l.state == LeaseState::Unassigned)
        .filter_map(|l| l.address)
        .collect();
    let expected_ended: BTreeSet<_> = all
        .iter()
        .filter(|b| b.state == State4::Expired && b.relay_id() == Some(&b"relay-A"[..]))
        .map(|b| b.address)
        .collect();
    assert_eq!(ended, expected_ended);
    assert_eq!(
        p.end(9),
        Some(&End::Done {
            bindings: got.len() as u64
        })
    );
}

#[test]
fn half_close_finishes_every_query_before_the_server_closes() {
    // Ten queries at once, more than queries-per-connection (4): relay-A's 20 bindings and
    // nine single ones. The requestor closes its side right after sending them; a small path,
    // small writes and one write a turn make the server still be streaming when it reads the
    // end, and ask the engine whether to close between any two writes.
    let all = bindings(40);
    let store = by_address(&all);
    for dialect in DIALECTS {
        for seed in 0..3 {
            let mut p = BulkPair::new(dialect, BulkPair::store_of(all.clone()));
            p.seed(seed);
            p.pieces = Pieces::Random { max: 64 };
            p.window = 1024;
            p.write_budget = 512;
            p.octets_per_turn = 512;
            p.reader = Reader::Paced {
                every: Duration::from_millis(1),
            };
            p.query(&QueryKey::RelayId(b"relay-A".to_vec()), 1);
            for i in 0..9u32 {
                p.query(
                    &QueryKey::RemoteId(fixtures::remote_id(1000 + i * 3)),
                    100 + i,
                );
            }
            p.half_close();
            p.run_until_closed(Duration::from_secs(60));
            assert_streamed(&p, 1, &active_behind(&all, b"relay-A"), &store);
            for i in 0..9u32 {
                let expected = BTreeSet::from([bulk_client(i * 3).address]);
                assert_streamed(&p, 100 + i, &expected, &store);
            }
            let closed = p.closed.expect("closed");
            assert_eq!(closed.how, Ending::Graceful(Close::Finished));
            // The stream went on well after the end was read.
            assert!(closed.at > Duration::from_millis(5), "{closed:?}");
            assert_eq!(p.session_end.as_ref().map(|e| &e.1), Some(&Ok(())));
            assert!(p.session.is_idle());
        }
    }
}

#[test]
fn the_server_reads_no_more_queries_than_it_answers_at_once() {
    // Twelve queries for relay-A (1000 bindings each, more than the path and the shell's
    // buffer hold) and a requestor that does not read: the server takes queries-per-connection
    // (4) of them and leaves the rest unread on the connection.
    let all = bindings(2000);
    for dialect in DIALECTS {
        let mut p = BulkPair::new(dialect, BulkPair::store_of(all.clone()));
        p.reader = Reader::Stopped;
        let mut sent = 0;
        for xid in 1..=12 {
            p.query(&QueryKey::RelayId(b"relay-A".to_vec()), xid);
        }
        sent += p.session.outgoing().len();
        p.run_for(Duration::from_secs(1));
        assert_eq!(
            p.connection.open_queries(),
            fixtures::QUERIES_PER_CONNECTION
        );
        assert!(!p.connection.wants_read());
        // Not one octet of the fifth query was read (the server reads a frame at a time, and no
        // frame once the table is full).
        let one_query = sent / 12;
        assert_eq!(
            p.unsent(),
            sent - fixtures::QUERIES_PER_CONNECTION * one_query,
            "{} of {sent} octets read",
            sent - p.unsent()
        );
        // Reading again: every query is answered in the end.
        p.reader = Reader::Eager;
        p.half_close();
        p.run_until_closed(Duration::from_secs(60));
        for xid in 1..=12 {
            assert_eq!(
                p.end(xid),
                Some(&End::Done { bindings: 1000 }),
                "{dialect:?}"
            );
        }
    }
}

#[test]
fn a_requestor_that_stops_reading_is_held_back_and_closed_at_the_data_timeout() {
    // 3000 bindings for relay-A: about 1 MB.
    let all = bindings(6000);
    for dialect in DIALECTS {
        let mut p = BulkPair::new(dialect, BulkPair::store_of(all.clone()));
        // 100 kB/s for 1 s, then nothing.
        p.pieces = Pieces::Octets(1000);
        p.reader = Reader::Paced {
            every: Duration::from_millis(10),
        };
        p.query(&QueryKey::RelayId(b"relay-A".to_vec()), 1);
        p.run_until(Duration::from_secs(1));
        let read = p.read;
        assert!(read >= 99_000, "{read} octets read");
        assert!(p.closed.is_none());
        p.reader = Reader::Stopped;
        p.run_until_closed(Duration::from_secs(60));
        // Held back: the engine handed out no more than what was read, the path (window) and
        // one write budget of the shell; itself it holds no more than a frame or two.
        assert!(p.handed_out <= p.read + p.window + p.write_budget);
        assert!(
            p.max_buffered <= 2048,
            "engine held {} octets",
            p.max_buffered
        );
        assert!(p.end(1).is_none(), "the whole stream was produced");
        // Closed the data-timeout after the path last took anything, not later.
        let closed = p.closed.expect("closed");
        assert_eq!(closed.how, Ending::Abort(Close::DataTimeout), "{dialect:?}");
        assert_eq!(
            closed.at,
            p.last_taken + Duration::from_secs(DATA_TIMEOUT_SECS),
            "{dialect:?}"
        );
        assert!(closed.at <= Duration::from_secs(1 + DATA_TIMEOUT_SECS));
        // The requestor sees the connection end with its query unanswered (in the middle of a
        // frame, or between two).
        assert!(
            matches!(
                p.session_end.as_ref().map(|e| &e.1),
                Some(Err(
                    SessionError::Closed { outstanding: 1 } | SessionError::Framing(_)
                ))
            ),
            "{:?}",
            p.session_end
        );
        assert!(p.end(1).is_none());
        assert_eq!(
            CloseReason::from(Close::DataTimeout),
            CloseReason::DataTimeout
        );
    }
}

/// Runs `n` bindings' worth of relay-A (n / 2 of them) to a requestor reading `octets` every
/// 10 ms, with the shell's default write budget, and checks the stream ends as it should.
fn slow_reader_gets_everything(n: u32, octets: usize) {
    let mut p = BulkPair::new(Dialect::Rfc6926, BulkPair::store_of(bindings(n)));
    p.pieces = Pieces::Octets(octets);
    p.reader = Reader::Paced {
        every: Duration::from_millis(10),
    };
    p.query(&QueryKey::RelayId(b"relay-A".to_vec()), 1);
    p.half_close();
    p.run_until_closed(Duration::from_secs(600));
    assert_eq!(
        p.closed.map(|c| c.how),
        Some(Ending::Graceful(Close::Finished)),
        "closed at {:?} after {} of {} octets read, last handed out at {:?}",
        p.closed.map(|c| c.at),
        p.read,
        p.handed_out,
        p.last_handed_out
    );
    assert_eq!(
        p.end(1),
        Some(&End::Done {
            bindings: u64::from(n / 2)
        })
    );
}

#[test]
fn a_slow_reader_that_keeps_reading_is_not_cut_off_by_the_data_timeout() {
    // Reading steadily is progress: 1 MB at 20 kB/s takes 50 s, each read within the
    // data-timeout (5 s) of the one before.
    slow_reader_gets_everything(6000, 200);
}

#[test]
fn replies_still_on_their_way_are_not_idle() {
    // About 240 kB, less than one write of the shell, at 2 kB/s: two minutes, longer than the
    // idle-timeout (60 s), every read within the data-timeout of the one before.
    slow_reader_gets_everything(1400, 20);
}

#[test]
fn a_reader_taking_1_kb_a_second_is_served_in_full() {
    // Progress is counted per partial write (issue 12): about 120 kB at 1 kB/s, two minutes,
    // far longer than the data-timeout (5 s) and the idle-timeout (60 s).
    slow_reader_gets_everything(700, 10);
}

#[test]
fn an_idle_connection_is_closed_at_the_idle_timeout() {
    for dialect in DIALECTS {
        let mut p = BulkPair::new(dialect, BulkPair::store_of(bindings(2)));
        p.query(&QueryKey::RelayId(b"relay-A".to_vec()), 1);
        p.run_for(Duration::from_secs(1));
        assert_eq!(p.end(1), Some(&End::Done { bindings: 1 }));
        assert!(p.closed.is_none());
        p.run_until_closed(Duration::from_secs(3600));
        let closed = p.closed.expect("closed");
        assert_eq!(closed.how, Ending::Abort(Close::IdleTimeout));
        // Idle since the answer went out at 0.
        assert_eq!(closed.at, Duration::from_secs(IDLE_TIMEOUT_SECS));
        assert_eq!(p.session_end.as_ref().map(|e| &e.1), Some(&Ok(())));
    }
}
