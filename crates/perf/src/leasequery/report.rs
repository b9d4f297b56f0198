//! What a leasequery run measured, as text or as one JSON object.

use std::fmt::Write as _;
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr};
use std::time::Duration;

use serde_json::{json, Value};

use super::session::Counters;
use crate::latency::{ms_text, round3, summary_json, Summary};

/// The figures of one `lessor perf leasequery` run.
#[derive(Debug, Clone, PartialEq)]
pub struct LqReport {
    /// What the queries asked by, in the words of `--by`.
    pub by: Option<&'static str>,
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
    /// giaddr of the queries (DHCPv4).
    pub giaddr: Option<Ipv4Addr>,
    /// link-address of the queries (DHCPv6).
    pub link_address: Option<Ipv6Addr>,
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
    /// "v4" or "v6".
    pub fn family(&self) -> &'static str {
        if self.server.is_ipv4() {
            "v4"
        } else {
            "v6"
        }
    }

    /// One JSON object; times in ms. The keys are the same for both families, but for
    /// `link_address` (DHCPv6 only; `giaddr` is null there).
    pub fn to_json(&self) -> Value {
        let c = &self.counters;
        let mut v = json!({
            "family": self.family(),
            "by": self.by,
            "keys": self.keys,
            "order": if self.random { "random" } else { "sequential" },
            "queries": self.queries,
            "in_flight": self.in_flight,
            "server": self.server.to_string(),
            "giaddr": self.giaddr.map(|g| g.to_string()),
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
        });
        if let (Some(link), Some(o)) = (self.link_address, v.as_object_mut()) {
            o.insert("link_address".into(), json!(link.to_string()));
        }
        v
    }

    /// The report for people.
    pub fn to_text(&self) -> String {
        let c = &self.counters;
        let mut s = String::new();
        let via = match (self.giaddr, self.link_address) {
            (Some(g), _) => format!("giaddr {g}"),
            (None, Some(l)) => format!("link-address {l}"),
            (None, None) => String::new(),
        };
        let _ = writeln!(
            s,
            "lessor perf leasequery ({}): by {}, {} queries over {} keys ({}), {} in flight, server {}, {via}",
            if self.server.is_ipv4() { "DHCPv4" } else { "DHCPv6" },
            self.by.unwrap_or("-"),
            self.queries,
            self.keys,
            if self.random { "random" } else { "in turn" },
            self.in_flight,
            self.server,
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
            by: Some("ip"),
            keys: 100,
            random: false,
            queries: 101,
            in_flight: 8,
            server: "127.0.0.1:6767".parse().unwrap(),
            giaddr: Some(Ipv4Addr::LOCALHOST),
            link_address: None,
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
        assert_eq!(v["family"], "v4");
        assert_eq!(v["giaddr"], "127.0.0.1");
        assert!(v.get("link_address").is_none());
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
        assert!(
            t.contains("(DHCPv4): by ip") && t.contains("giaddr 127.0.0.1"),
            "{t}"
        );

        let v6 = LqReport {
            server: "[::1]:5547".parse().unwrap(),
            giaddr: None,
            link_address: Some(Ipv6Addr::UNSPECIFIED),
            by: Some("client-id"),
            ..r
        };
        let v = v6.to_json();
        assert_eq!(v["family"], "v6");
        assert_eq!(v["giaddr"], Value::Null);
        assert_eq!(v["link_address"], "::");
        assert_eq!(v["by"], "client-id");
        assert_eq!(v["active"], 90);
        let t = v6.to_text();
        assert!(
            t.contains("(DHCPv6): by client-id") && t.contains("link-address ::"),
            "{t}"
        );
    }
}
