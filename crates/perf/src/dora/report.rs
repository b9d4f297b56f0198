//! What a run measured, as text for people and as one JSON object for scripts.

use std::fmt::Write as _;
use std::net::{Ipv4Addr, SocketAddr};
use std::time::Duration;

use serde_json::{json, Value};

use super::client::format_mac;
use crate::latency::{round3, summary_json, table, Summary};

/// The figures of one `lessor perf dora` run.
#[derive(Debug, Clone, PartialEq)]
pub struct Report {
    /// Clients asked for.
    pub clients: u32,
    /// Concurrency asked for.
    pub in_flight: u32,
    /// Server the messages went to.
    pub server: SocketAddr,
    /// giaddr written into the messages.
    pub giaddr: Ipv4Addr,
    /// Clients that sent a DISCOVER.
    pub started: u64,
    /// DORAs ended by an ACK.
    pub completed: u64,
    /// Exchanges ended by a NAK.
    pub naks: u64,
    /// Times clients started over after a NAK (`--restart-on-nak`).
    pub restarts: u64,
    /// DISCOVERs unanswered after all retransmissions.
    pub drops_discover: u64,
    /// REQUESTs unanswered after all retransmissions.
    pub drops_request: u64,
    /// Replies ignored: unknown xid, wrong chaddr or type, duplicates, late answers.
    pub unexpected: u64,
    /// Datagrams that are not DHCPv4 messages.
    pub malformed: u64,
    /// Messages sent again after a timeout.
    pub retransmissions: u64,
    /// DHCPRELEASEs sent.
    pub releases: u64,
    /// Sends the socket refused.
    pub send_errors: u64,
    /// Receive errors other than timeouts.
    pub recv_errors: u64,
    /// Exchanges still outstanding when the duration ended.
    pub unfinished: u64,
    /// Clients never started because the duration ended.
    pub not_started: u64,
    /// From the first DISCOVER to the end of the run.
    pub elapsed: Duration,
    /// Completed DORAs per second over `elapsed`.
    pub rate: f64,
    /// First DISCOVER -> ACK, per completed DORA.
    pub dora: Summary,
    /// First DISCOVER -> OFFER, per accepted OFFER.
    pub discover_offer: Summary,
    /// First REQUEST -> ACK, per completed DORA.
    pub request_ack: Summary,
    /// (address, MAC) of every ACK, in the order they arrived.
    pub acked: Vec<(Ipv4Addr, [u8; 6])>,
}

impl Report {
    /// DISCOVERs and REQUESTs that went unanswered after all retransmissions.
    pub fn drops(&self) -> u64 {
        self.drops_discover + self.drops_request
    }

    /// One JSON object (the ACKed pairs are not in it; see `--acked-out`). Times in ms.
    pub fn to_json(&self) -> Value {
        json!({
            "clients": self.clients,
            "in_flight": self.in_flight,
            "server": self.server.to_string(),
            "giaddr": self.giaddr.to_string(),
            "started": self.started,
            "completed": self.completed,
            "naks": self.naks,
            "restarts": self.restarts,
            "drops": self.drops(),
            "drops_discover": self.drops_discover,
            "drops_request": self.drops_request,
            "unexpected": self.unexpected,
            "malformed": self.malformed,
            "retransmissions": self.retransmissions,
            "releases": self.releases,
            "send_errors": self.send_errors,
            "recv_errors": self.recv_errors,
            "unfinished": self.unfinished,
            "not_started": self.not_started,
            "elapsed_s": self.elapsed.as_secs_f64(),
            "rate_per_s": round3(self.rate),
            "latency_ms": {
                "dora": summary_json(&self.dora),
                "discover_offer": summary_json(&self.discover_offer),
                "request_ack": summary_json(&self.request_ack),
            },
        })
    }

    /// The report for people.
    pub fn to_text(&self) -> String {
        let mut s = String::new();
        let _ = writeln!(
            s,
            "lessor perf dora: {} clients, {} in flight, server {}, giaddr {}",
            self.clients, self.in_flight, self.server, self.giaddr
        );
        let _ = writeln!(
            s,
            "completed    {} DORA in {:.3} s: {:.1} DORA/s",
            self.completed,
            self.elapsed.as_secs_f64(),
            self.rate
        );
        let _ = writeln!(
            s,
            "naks         {} (restarts after a NAK {})\ndrops        {} (no OFFER {}, no ACK/NAK {})",
            self.naks,
            self.restarts,
            self.drops(),
            self.drops_discover,
            self.drops_request
        );
        let _ = writeln!(
            s,
            "unexpected   {}   malformed {}   retransmissions {}   releases {}",
            self.unexpected, self.malformed, self.retransmissions, self.releases
        );
        if self.unfinished + self.not_started + self.send_errors + self.recv_errors > 0 {
            let _ = writeln!(
                s,
                "stopped by --duration: {} unfinished, {} not started; send errors {}, receive errors {}",
                self.unfinished, self.not_started, self.send_errors, self.recv_errors
            );
        }
        s += &table(&[
            ("DORA", &self.dora),
            ("DISCOVER->OFFER", &self.discover_offer),
            ("REQUEST->ACK", &self.request_ack),
        ]);
        s
    }

    /// `ADDRESS MAC` lines of every ACK (the `--acked-out` format).
    pub fn acked_lines(&self) -> String {
        let mut s = String::new();
        for (addr, mac) in &self.acked {
            let _ = writeln!(s, "{addr} {}", format_mac(mac));
        }
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report() -> Report {
        let mut samples: Vec<Duration> = (1..=10).map(Duration::from_millis).collect();
        Report {
            clients: 10,
            in_flight: 2,
            server: "127.0.0.1:6767".parse().unwrap(),
            giaddr: Ipv4Addr::LOCALHOST,
            started: 10,
            completed: 9,
            naks: 0,
            restarts: 0,
            drops_discover: 1,
            drops_request: 0,
            unexpected: 2,
            malformed: 0,
            retransmissions: 3,
            releases: 0,
            send_errors: 0,
            recv_errors: 0,
            unfinished: 0,
            not_started: 0,
            elapsed: Duration::from_millis(1500),
            rate: 6.0,
            dora: Summary::of(&mut samples),
            discover_offer: Summary::default(),
            request_ack: Summary::default(),
            acked: vec![(Ipv4Addr::new(198, 18, 0, 1), [2, 0, 0, 0, 0, 1])],
        }
    }

    #[test]
    fn json_has_the_figures() {
        let v = report().to_json();
        assert_eq!(v["completed"], 9);
        assert_eq!(v["drops"], 1);
        assert_eq!(v["unexpected"], 2);
        assert_eq!(v["elapsed_s"], 1.5);
        assert_eq!(v["latency_ms"]["dora"]["p50"], 5.0);
        assert_eq!(v["latency_ms"]["dora"]["p90"], 9.0);
        assert_eq!(v["latency_ms"]["dora"]["max"], 10.0);
        assert_eq!(v["latency_ms"]["request_ack"]["p50"], Value::Null);
    }

    #[test]
    fn text_and_acked_lines() {
        let r = report();
        let t = r.to_text();
        assert!(
            t.contains("completed    9 DORA in 1.500 s: 6.0 DORA/s"),
            "{t}"
        );
        assert!(
            t.contains("drops        1 (no OFFER 1, no ACK/NAK 0)"),
            "{t}"
        );
        assert_eq!(r.acked_lines(), "198.18.0.1 02:00:00:00:00:01\n");
    }
}
