//! The closed loop of a leasequery run, sans IO.
//!
//! A [`Session`] decides which query goes out next (at most `in_flight` outstanding, at most
//! `queries` in all), matches each reply to its query by xid, expires queries whose `timeout`
//! passed, and keeps the counters and latency samples. It never reads a clock or a socket: the
//! I/O loop passes `now` and the datagrams, so every rule is a unit test.
//!
//! There are no retransmissions: a leasequery is idempotent and a lost one is a measurement
//! (`timeouts`), not something to hide. The timeout is the same for every query, so deadlines
//! come in sending order and a FIFO queue replaces a heap.

use std::collections::{HashMap, VecDeque};
use std::time::{Duration, Instant};

use super::{classify, Answer, QueryEncoder};

/// At most this many latency samples are kept (16 octets each): percentiles are exact over the
/// first `MAX_SAMPLES` answers of a run, and the report says how many samples it used.
pub const MAX_SAMPLES: usize = 4_000_000;

/// What a datagram turned out to be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Handled {
    /// The answer to an outstanding query, with its latency.
    Answered(Answer, Duration),
    /// A DHCPv4 reply with an xid no query is waiting for (late, duplicate, foreign).
    Unexpected,
    /// Not a DHCPv4 BOOTREPLY.
    Malformed,
}

/// Counters of a run.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counters {
    /// Queries sent.
    pub sent: u64,
    /// DHCPLEASEACTIVE answers.
    pub active: u64,
    /// DHCPLEASEUNASSIGNED answers.
    pub unassigned: u64,
    /// DHCPLEASEUNKNOWN answers.
    pub unknown: u64,
    /// Answers of another type to an outstanding query (they end the query).
    pub other: u64,
    /// Queries without an answer within the timeout.
    pub timeouts: u64,
    /// Replies with no outstanding query (late answers after a timeout, duplicates).
    pub unexpected: u64,
    /// Datagrams that are not DHCPv4 replies.
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

/// One run's closed loop.
#[derive(Debug)]
pub struct Session {
    encoder: QueryEncoder,
    queries: u64,
    in_flight: usize,
    timeout: Duration,
    next_xid: u32,
    /// Outstanding queries: xid -> first (only) transmission.
    outstanding: HashMap<u32, Instant>,
    /// (deadline, xid) in sending order; entries of answered queries are skipped.
    deadlines: VecDeque<(Instant, u32)>,
    /// The run's figures.
    pub counters: Counters,
    samples: Vec<Duration>,
}

impl Session {
    /// A session sending `queries` queries, `in_flight` at a time, xids from `first_xid` up.
    pub fn new(
        encoder: QueryEncoder,
        queries: u64,
        in_flight: u32,
        timeout: Duration,
        first_xid: u32,
    ) -> Session {
        let in_flight = in_flight.max(1) as usize;
        Session {
            encoder,
            queries,
            in_flight,
            timeout,
            next_xid: first_xid,
            outstanding: HashMap::with_capacity(in_flight * 2),
            deadlines: VecDeque::with_capacity(in_flight * 2),
            counters: Counters::default(),
            samples: Vec::with_capacity(usize::try_from(queries).unwrap_or(0).min(MAX_SAMPLES)),
        }
    }

    /// When the window has room and queries are left: writes the next query into `buf` and
    /// returns its xid; the caller sends it now.
    pub fn next_query(&mut self, now: Instant, buf: &mut Vec<u8>) -> Option<u32> {
        if self.outstanding.len() >= self.in_flight || self.counters.sent >= self.queries {
            return None;
        }
        let xid = self.next_xid;
        self.next_xid = self.next_xid.wrapping_add(1);
        self.encoder.next_into(xid, buf);
        self.outstanding.insert(xid, now);
        self.deadlines.push_back((now + self.timeout, xid));
        self.counters.sent += 1;
        Some(xid)
    }

    /// A datagram arrived at `now`.
    pub fn handle(&mut self, now: Instant, datagram: &[u8]) -> Handled {
        let Some((xid, answer)) = classify(datagram) else {
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
            Answer::Other(_) => self.counters.other += 1,
        }
        let latency = now.saturating_duration_since(sent);
        if self.samples.len() < MAX_SAMPLES {
            self.samples.push(latency);
        }
        Handled::Answered(answer, latency)
    }

    /// Ends every query whose deadline is at or before `now`; returns how many timed out.
    pub fn expire(&mut self, now: Instant) -> u64 {
        let mut expired = 0;
        while let Some(&(at, xid)) = self.deadlines.front() {
            if at > now {
                break;
            }
            self.deadlines.pop_front();
            if self.outstanding.remove(&xid).is_some() {
                expired += 1;
            }
        }
        self.counters.timeouts += expired;
        expired
    }

    /// The earliest deadline of a query still outstanding.
    pub fn next_deadline(&mut self) -> Option<Instant> {
        while let Some(&(at, xid)) = self.deadlines.front() {
            if self.outstanding.contains_key(&xid) {
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
    use crate::leasequery::{Keys, Order};
    use lessor_wire::v4::{DhcpOption, MessageType, Repr, BOOTREPLY};
    use std::net::Ipv4Addr;

    fn session(queries: u64, in_flight: u32) -> Session {
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
}
