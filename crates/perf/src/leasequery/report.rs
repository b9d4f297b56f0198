//! What a leasequery run measured, as text or as one JSON object.

use std::fmt::Write as _;
use std::net::{Ipv4Addr, SocketAddr};
use std::time::Duration;

use serde_json::{json, Value};

use super::session::Counters;
use crate::latency::{ms_text, round3, summary_json, Summary};
use lessor_wire::v4::QueryKind;

/// The figures of one `lessor perf leasequery` run.
#[derive(Debug, Clone, PartialEq)]
pub struct LqReport {
    /// What the queries asked by.
    pub by: Option<QueryKind>,
    /// Distinct keys the queries cycled through.
    pub keys: u64,
    /// Keys drawn at random rather than in turn.
    pub random: bool,
    /// Queries asked for.
    pub queries: u64,
    /// Concurrency.
    pub in_flight: u32,
    /// Where the queries went.
    pub server: SocketAddr,
    /// giaddr of the queries.
    pub giaddr: Ipv4Addr,
    /// Counts by outcome.
    pub counters: Counters,
    /// Queries outstanding when the duration ended.
    pub unfinished: u64,
    /// Queries never sent because the duration ended.
    pub not_sent: u64,
    /// From the first query to the end of the run.
    pub elapsed: Duration,
    /// Answered queries per second over `elapsed`.
    pub rate: f64,
    /// Query sent -> answer received, per answered query.
    pub latency: Summary,
}

impl LqReport {
    /// One JSON object; times in ms.
    pub fn to_json(&self) -> Value {
        let c = &self.counters;
        json!({
            "by": self.by.map(|b| b.to_string()),
            "keys": self.keys,
            "order": if self.random { "random" } else { "sequential" },
            "queries": self.queries,
            "in_flight": self.in_flight,
            "server": self.server.to_string(),
            "giaddr": self.giaddr.to_string(),
            "sent": c.sent,
            "answered": c.answered(),
            "active": c.active,
            "unassigned": c.unassigned,
            "unknown": c.unknown,
            "other": c.other,
            "timeouts": c.timeouts,
            "unexpected": c.unexpected,
            "malformed": c.malformed,
            "send_errors": c.send_errors,
            "recv_errors": c.recv_errors,
            "unfinished": self.unfinished,
            "not_sent": self.not_sent,
            "elapsed_s": self.elapsed.as_secs_f64(),
            "rate_per_s": round3(self.rate),
            "latency_ms": summary_json(&self.latency),
        })
    }

    /// The report for people.
    pub fn to_text(&self) -> String {
        let c = &self.counters;
        let mut s = String::new();
        let _ = writeln!(
            s,
            "lessor perf leasequery: by {}, {} queries over {} keys ({}), {} in flight, server {}, giaddr {}",
            self.by.map_or_else(|| "-".to_string(), |b| b.to_string()),
            self.queries,
            self.keys,
            if self.random { "random" } else { "in turn" },
            self.in_flight,
            self.server,
            self.giaddr
        );
        let _ = writeln!(
            s,
            "answered     {} of {} sent in {:.3} s: {:.1} queries/s",
            c.answered(),
            c.sent,
            self.elapsed.as_secs_f64(),
            self.rate
        );
        let _ = writeln!(
            s,
            "active       {}   unassigned {}   unknown {}   other {}",
            c.active, c.unassigned, c.unknown, c.other
        );
        let _ = writeln!(
            s,
            "timeouts     {}   unexpected {}   malformed {}",
            c.timeouts, c.unexpected, c.malformed
        );
        if self.unfinished + self.not_sent + c.send_errors + c.recv_errors > 0 {
            let _ = writeln!(
                s,
                "stopped by --duration: {} unfinished, {} not sent; send errors {}, receive errors {}",
                self.unfinished, self.not_sent, c.send_errors, c.recv_errors
            );
        }
        let _ = writeln!(
            s,
            "{:<18}{:>8}{:>10}{:>10}{:>10}{:>10}",
            "latency (ms)", "count", "p50", "p90", "p99", "max"
        );
        let l = &self.latency;
        let _ = writeln!(
            s,
            "{:<18}{:>8}{:>10}{:>10}{:>10}{:>10}",
            "query->answer",
            l.count,
            ms_text(l.p50),
            ms_text(l.p90),
            ms_text(l.p99),
            ms_text(l.max)
        );
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_and_json() {
        let mut samples: Vec<Duration> = (1..=100).map(Duration::from_micros).collect();
        let r = LqReport {
            by: Some(QueryKind::Ip),
            keys: 100,
            random: false,
            queries: 101,
            in_flight: 8,
            server: "127.0.0.1:6767".parse().unwrap(),
            giaddr: Ipv4Addr::LOCALHOST,
            counters: Counters {
                sent: 101,
                active: 90,
                unassigned: 6,
                unknown: 4,
                timeouts: 1,
                ..Counters::default()
            },
            unfinished: 0,
            not_sent: 0,
            elapsed: Duration::from_millis(500),
            rate: 200.0,
            latency: Summary::of(&mut samples),
        };
        let v = r.to_json();
        assert_eq!(v["by"], "ip");
        assert_eq!(v["answered"], 100);
        assert_eq!(v["timeouts"], 1);
        assert_eq!(v["rate_per_s"], 200.0);
        assert_eq!(v["latency_ms"]["p50"], 0.05);
        assert_eq!(v["latency_ms"]["p99"], 0.099);
        let t = r.to_text();
        assert!(
            t.contains("answered     100 of 101 sent in 0.500 s: 200.0 queries/s"),
            "{t}"
        );
        assert!(
            t.contains("active       90   unassigned 6   unknown 4"),
            "{t}"
        );
    }
}
