//! The closed loop of a leasequery run, sans IO, the same for both families.
//!
//! A [`Session`] decides which query goes out next (at most `in_flight` outstanding, at most
//! `queries` in all), matches each reply to its query by transaction-id, expires queries whose
//! `timeout` passed, and keeps the counters and latency samples. It never reads a clock or a
//! socket: the I/O loop passes `now` and the datagrams, so every rule is a unit test. What a
//! family writes and reads is its [`Family`].
//!
//! There are no retransmissions: a leasequery is idempotent and a lost one is a measurement
//! (`timeouts`), not something to hide. The timeout is the same for every query, so deadlines
//! come in sending order and a FIFO queue replaces a heap.
//!
//! Transaction-ids count up from the first and wrap within the family's width (DHCPv6's 24
//! bits wrap after 16,777,216 queries, well within a long run). An id still outstanding is
//! skipped, so two outstanding queries never share one, and each query carries its sequence
//! number so that a deadline left behind by an earlier query with the same id never ends it.

use std::collections::{HashMap, VecDeque};
use std::time::{Duration, Instant};

use super::{Answer, Family};

/// At most this many latency samples are kept (16 octets each): percentiles are exact over the
/// first `MAX_SAMPLES` answers of a run, and the report says how many samples it used.
pub const MAX_SAMPLES: usize = 4_000_000;

/// What a datagram turned out to be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Handled {
    /// The answer to an outstanding query, with its latency.
    Answered(Answer, Duration),
    /// A reply with a transaction-id no query is waiting for (late, duplicate, foreign).
    Unexpected,
    /// Not a reply of the run's family.
    Malformed,
}

/// Counters of a run.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counters {
    /// Queries sent.
    pub sent: u64,
    /// Active answers (DHCPLEASEACTIVE; DHCPv6: LEASEQUERY-REPLY with CLIENT_DATA).
    pub active: u64,
    /// DHCPLEASEUNASSIGNED answers (DHCPv4 only).
    pub unassigned: u64,
    /// DHCPLEASEUNKNOWN answers; DHCPv6: LEASEQUERY-REPLY without CLIENT_DATA, status Success.
    pub unknown: u64,
    /// Answers of another type, a DHCPv6 failure status or CLIENT_LINK (they end the query).
    pub other: u64,
    /// Queries without an answer within the timeout.
    pub timeouts: u64,
    /// Replies with no outstanding query (late answers after a timeout, duplicates).
    pub unexpected: u64,
    /// Datagrams that are not replies of the run's family.
    pub malformed: u64,
    /// Sends the socket refused (counted as sent; they end as timeouts).
    pub send_errors: u64,
    /// Receive errors other than timeouts.
    pub recv_errors: u64,
}

impl Counters {
    /// Queries that got an answer of any type.
    pub fn answered(&self) -> u64 {
        self.active + self.unassigned + self.unknown + self.other
    }
}

/// One outstanding query.
#[derive(Debug, Clone, Copy)]
struct Sent {
    at: Instant,
    /// Its number in the run, which its deadline entry carries too.
    seq: u64,
}

/// One run's closed loop.
#[derive(Debug)]
pub struct Session<F> {
    family: F,
    queries: u64,
    in_flight: usize,
    timeout: Duration,
    next_xid: u32,
    /// Outstanding queries: transaction-id -> first (only) transmission.
    outstanding: HashMap<u32, Sent>,
    /// (deadline, transaction-id, seq) in sending order; entries of answered queries are skipped.
    deadlines: VecDeque<(Instant, u32, u64)>,
    /// The run's figures.
    pub counters: Counters,
    samples: Vec<Duration>,
}

impl<F: Family> Session<F> {
    /// A session sending `queries` queries, `in_flight` at a time (at most the family's
    /// transaction-id space), transaction-ids from `first_xid` up.
    pub fn new(
        family: F,
        queries: u64,
        in_flight: u32,
        timeout: Duration,
        first_xid: u32,
    ) -> Session<F> {
        let in_flight = (in_flight.clamp(1, F::XID_MASK)) as usize;
        Session {
            family,
            queries,
            in_flight,
            timeout,
            next_xid: first_xid & F::XID_MASK,
            outstanding: HashMap::with_capacity(in_flight * 2),
            deadlines: VecDeque::with_capacity(in_flight * 2),
            counters: Counters::default(),
            samples: Vec::with_capacity(usize::try_from(queries).unwrap_or(0).min(MAX_SAMPLES)),
        }
    }

    /// When the window has room and queries are left: writes the next query into `buf` and
    /// returns its transaction-id; the caller sends it now.
    pub fn next_query(&mut self, now: Instant, buf: &mut Vec<u8>) -> Option<u32> {
        if self.outstanding.len() >= self.in_flight || self.counters.sent >= self.queries {
            return None;
        }
        // The window is smaller than the id space, so a free id comes within in_flight steps.
        let mut xid = self.next_xid;
        while self.outstanding.contains_key(&xid) {
            xid = xid.wrapping_add(1) & F::XID_MASK;
        }
        self.next_xid = xid.wrapping_add(1) & F::XID_MASK;
        self.family.next_into(xid, buf);
        let seq = self.counters.sent;
        self.outstanding.insert(xid, Sent { at: now, seq });
        self.deadlines.push_back((now + self.timeout, xid, seq));
        self.counters.sent += 1;
        Some(xid)
    }

    /// A datagram arrived at `now`.
    pub fn handle(&mut self, now: Instant, datagram: &[u8]) -> Handled {
        let Some((xid, answer)) = F::classify(datagram) else {
            self.counters.malformed += 1;
            return Handled::Malformed;
        };
        let Some(sent) = self.outstanding.remove(&xid) else {
            self.counters.unexpected += 1;
            return Handled::Unexpected;
        };
        match answer {
            Answer::Active => self.counters.active += 1,
            Answer::Unassigned => self.counters.unassigned += 1,
            Answer::Unknown => self.counters.unknown += 1,
            Answer::Other(_) | Answer::Status(_) | Answer::ClientLink => self.counters.other += 1,
        }
        let latency = now.saturating_duration_since(sent.at);
        if self.samples.len() < MAX_SAMPLES {
            self.samples.push(latency);
        }
        Handled::Answered(answer, latency)
    }

    /// Whether the deadline entry (`xid`, `seq`) is the one of a query still outstanding.
    fn is_live(&self, xid: u32, seq: u64) -> bool {
        self.outstanding.get(&xid).is_some_and(|s| s.seq == seq)
    }

    /// Ends every query whose deadline is at or before `now`; returns how many timed out.
    pub fn expire(&mut self, now: Instant) -> u64 {
        let mut expired = 0;
        while let Some(&(at, xid, seq)) = self.deadlines.front() {
            if at > now {
                break;
            }
            self.deadlines.pop_front();
            if self.is_live(xid, seq) {
                self.outstanding.remove(&xid);
                expired += 1;
            }
        }
        self.counters.timeouts += expired;
        expired
    }

    /// The earliest deadline of a query still outstanding.
    pub fn next_deadline(&mut self) -> Option<Instant> {
        while let Some(&(at, xid, seq)) = self.deadlines.front() {
            if self.is_live(xid, seq) {
                return Some(at);
            }
            self.deadlines.pop_front();
        }
        None
    }

    /// Every query was sent and has ended.
    pub fn finished(&self) -> bool {
        self.counters.sent >= self.queries && self.outstanding.is_empty()
    }

    /// Queries still waiting for an answer.
    pub fn outstanding(&self) -> usize {
        self.outstanding.len()
    }

    /// The latency samples (answered queries, at most [`MAX_SAMPLES`]).
    pub fn into_samples(self) -> (Counters, Vec<Duration>) {
        (self.counters, self.samples)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::leasequery::{Keys, Order, QueryEncoder};
    use lessor_wire::v4::{DhcpOption, MessageType, Repr, BOOTREPLY};
    use std::net::Ipv4Addr;

    fn session(queries: u64, in_flight: u32) -> Session<QueryEncoder> {
        let keys = Keys::Range {
            first: Ipv4Addr::new(198, 18, 0, 1),
            last: Ipv4Addr::new(198, 18, 0, 100),
        };
        let enc = QueryEncoder::new(Ipv4Addr::LOCALHOST, keys, Order::Sequential);
        Session::new(enc, queries, in_flight, Duration::from_millis(100), 1000)
    }

    fn answer(xid: u32, kind: MessageType) -> Vec<u8> {
        Repr {
            op: BOOTREPLY,
            xid,
            options: vec![DhcpOption::MessageType(kind)],
            ..Repr::default()
        }
        .to_vec()
    }

    #[test]
    fn closed_loop_window_and_unique_xids() {
        let t0 = Instant::now();
        let mut s = session(5, 2);
        let mut buf = Vec::new();
        assert_eq!(s.next_query(t0, &mut buf), Some(1000));
        assert_eq!(Repr::from_bytes(&buf).unwrap().xid, 1000);
        assert_eq!(s.next_query(t0, &mut buf), Some(1001));
        assert_eq!(s.next_query(t0, &mut buf), None, "window full");
        let t1 = t0 + Duration::from_micros(250);
        assert_eq!(
            s.handle(t1, &answer(1001, MessageType::LeaseActive)),
            Handled::Answered(Answer::Active, Duration::from_micros(250))
        );
        assert_eq!(s.next_query(t1, &mut buf), Some(1002));
        assert_eq!(s.outstanding(), 2);
        assert!(!s.finished());
    }

    #[test]
    fn answers_by_type_and_unexpected() {
        let t0 = Instant::now();
        let mut s = session(3, 3);
        let mut buf = Vec::new();
        for _ in 0..3 {
            s.next_query(t0, &mut buf).unwrap();
        }
        let t = t0 + Duration::from_millis(1);
        s.handle(t, &answer(1000, MessageType::LeaseUnassigned));
        s.handle(t, &answer(1001, MessageType::LeaseUnknown));
        assert_eq!(
            s.handle(t, &answer(1001, MessageType::LeaseUnknown)),
            Handled::Unexpected,
            "a duplicate"
        );
        assert_eq!(
            s.handle(t, &answer(77, MessageType::LeaseActive)),
            Handled::Unexpected
        );
        assert_eq!(s.handle(t, &[1, 2, 3]), Handled::Malformed);
        s.handle(t, &answer(1002, MessageType::Ack));
        assert!(s.finished());
        let (c, samples) = s.into_samples();
        assert_eq!(
            (
                c.sent,
                c.unassigned,
                c.unknown,
                c.other,
                c.unexpected,
                c.malformed
            ),
            (3, 1, 1, 1, 2, 1)
        );
        assert_eq!(c.answered(), 3);
        assert_eq!(samples.len(), 3);
    }

    #[test]
    fn timeouts_end_queries_and_late_answers_are_unexpected() {
        let t0 = Instant::now();
        let mut s = session(2, 2);
        let mut buf = Vec::new();
        s.next_query(t0, &mut buf).unwrap();
        let t1 = t0 + Duration::from_millis(50);
        s.next_query(t1, &mut buf).unwrap();
        assert_eq!(s.next_deadline(), Some(t0 + Duration::from_millis(100)));
        assert_eq!(s.expire(t0 + Duration::from_millis(99)), 0);
        assert_eq!(s.expire(t0 + Duration::from_millis(100)), 1);
        assert_eq!(s.next_deadline(), Some(t1 + Duration::from_millis(100)));
        s.handle(
            t1 + Duration::from_millis(1),
            &answer(1001, MessageType::LeaseActive),
        );
        assert_eq!(
            s.next_deadline(),
            None,
            "answered queries leave no deadline"
        );
        assert_eq!(
            s.handle(
                t1 + Duration::from_millis(2),
                &answer(1000, MessageType::LeaseActive)
            ),
            Handled::Unexpected
        );
        assert!(s.finished());
        assert_eq!(s.counters.timeouts, 1);
        assert_eq!(s.counters.active, 1);
        assert_eq!(s.counters.unexpected, 1);
    }

    /// A family with 2-bit transaction-ids, to see the wrap: the query is its id, the reply
    /// the id and 0 (unknown) or 1 (active).
    struct Tiny;

    impl Family for Tiny {
        const XID_MASK: u32 = 3;

        fn next_into(&mut self, xid: u32, buf: &mut Vec<u8>) {
            buf.clear();
            buf.push(xid as u8);
        }

        fn classify(datagram: &[u8]) -> Option<(u32, Answer)> {
            match datagram {
                [xid, 0] => Some((u32::from(*xid), Answer::Unknown)),
                [xid, 1] => Some((u32::from(*xid), Answer::Active)),
                _ => None,
            }
        }
    }

    #[test]
    fn ids_wrap_skip_outstanding_ones_and_stale_deadlines_end_nothing() {
        let t0 = Instant::now();
        let ms = Duration::from_millis;
        let mut s = Session::new(Tiny, 100, 2, ms(100), 2);
        let mut buf = Vec::new();
        assert_eq!(s.next_query(t0, &mut buf), Some(2));
        assert_eq!(buf, [2]);
        assert_eq!(s.next_query(t0, &mut buf), Some(3));
        // 3 answered, 2 still out: the next ids are 0, then 1.
        s.handle(t0 + ms(1), &[3, 1]);
        assert_eq!(s.next_query(t0 + ms(1), &mut buf), Some(0), "wrapped");
        s.handle(t0 + ms(2), &[0, 0]);
        assert_eq!(s.next_query(t0 + ms(2), &mut buf), Some(1));
        s.handle(t0 + ms(3), &[1, 1]);
        // 2 is still outstanding (sent at t0): skipped, 3 is free again.
        assert_eq!(s.next_query(t0 + ms(3), &mut buf), Some(3));
        assert_eq!(s.next_query(t0 + ms(3), &mut buf), None, "window full");
        assert_eq!(
            s.handle(t0 + ms(4), &[3, 1]),
            Handled::Answered(Answer::Active, ms(1))
        );
        assert_eq!(s.next_query(t0 + ms(4), &mut buf), Some(0));
        // The first query with id 3 left a deadline at t0 + 100 ms; id 3 is reused below and
        // outstanding then, and that old deadline must not end it.
        s.handle(t0 + ms(5), &[0, 1]);
        assert_eq!(s.next_query(t0 + ms(5), &mut buf), Some(1));
        s.handle(t0 + ms(6), &[1, 1]);
        assert_eq!(s.next_query(t0 + ms(6), &mut buf), Some(3));
        assert_eq!(
            s.expire(t0 + ms(100)),
            1,
            "only the query with id 2 sent at t0"
        );
        assert_eq!(s.outstanding(), 1);
        assert_eq!(s.next_deadline(), Some(t0 + ms(106)));
        assert_eq!(
            s.handle(t0 + ms(101), &[3, 0]),
            Handled::Answered(Answer::Unknown, ms(95))
        );
        assert_eq!(s.counters.timeouts, 1);
        assert_eq!(s.counters.sent, 8);
        assert_eq!(s.counters.answered(), 7);
    }

    #[test]
    fn dhcpv6_transaction_ids_wrap_at_24_bits() {
        use crate::leasequery::{classify6, Keys6, QueryEncoder6, REQUESTOR_DUID};
        use lessor_wire::v6::{ClientServerMessage, Duid, MessageType as Type6, Repr as Repr6};
        let keys: Keys6 = Keys::Range {
            first: "2001:db8::1".parse().unwrap(),
            last: "2001:db8::9".parse().unwrap(),
        };
        let enc = QueryEncoder6::new(
            &Duid::parse(&REQUESTOR_DUID).unwrap(),
            std::net::Ipv6Addr::UNSPECIFIED,
            keys,
            Order::Sequential,
        );
        let t0 = Instant::now();
        // A seed's high bits beyond 24 are dropped.
        let mut s = Session::new(enc, 4, 4, Duration::from_millis(100), 0xabff_fffe);
        let mut buf = Vec::new();
        let mut ids = Vec::new();
        while let Some(xid) = s.next_query(t0, &mut buf) {
            assert_eq!(classify6(&buf), None, "a query is not a reply");
            ids.push(xid);
        }
        assert_eq!(ids, [0xff_fffe, 0xff_ffff, 0, 1]);
        for xid in ids {
            let reply = Repr6::ClientServer(ClientServerMessage {
                msg_type: Type6::LeasequeryReply,
                transaction_id: xid,
                options: Vec::new(),
            })
            .to_vec();
            assert!(matches!(
                s.handle(t0, &reply),
                Handled::Answered(Answer::Unknown, _)
            ));
        }
        assert!(s.finished());
    }
}
