//! What a run measured, as text for people and as one JSON object for scripts.

use std::fmt::Write as _;
use std::net::{Ipv6Addr, SocketAddr};
use std::time::Duration;

use serde_json::{json, Value};

use super::client::{Identity, Lease};
use super::config::IaKinds;
use super::run::bound_line;
use crate::latency::{round3, summary_json, table, Summary};

/// The figures of one `lessor perf sarr` run.
#[derive(Debug, Clone, PartialEq)]
pub struct Report {
    /// Clients asked for.
    pub clients: u32,
    /// Most exchanges outstanding at once.
    pub in_flight: u32,
    /// `--rate`, when the run was paced.
    pub requested_rate: Option<u32>,
    /// Server the RELAY-FORWs went to.
    pub server: SocketAddr,
    /// link-address of the RELAY-FORWs.
    pub link_address: Ipv6Addr,
    /// What each client asked for.
    pub ia: IaKinds,
    /// Clients that sent a SOLICIT.
    pub started: u64,
    /// SARRs ended by a REPLY granting every IA.
    pub completed: u64,
    /// ADVERTISEs that left an IA without a lease.
    pub not_granted_solicit: u64,
    /// REPLYs that left an IA without a lease.
    pub not_granted_request: u64,
    /// SOLICITs unanswered after all retransmissions.
    pub drops_solicit: u64,
    /// REQUESTs unanswered after all retransmissions.
    pub drops_request: u64,
    /// Answers ignored: unknown transaction-id, DUID or peer-address, wrong type, duplicates,
    /// late answers, RELAY-REPLs that are not for us.
    pub unexpected: u64,
    /// Datagrams that are not DHCPv6 messages.
    pub malformed: u64,
    /// Messages sent again after a timeout.
    pub retransmissions: u64,
    /// Sends the socket refused.
    pub send_errors: u64,
    /// Receive errors other than timeouts.
    pub recv_errors: u64,
    /// Exchanges still outstanding when the run had to end.
    pub unfinished: u64,
    /// Clients never started because the duration ended.
    pub not_started: u64,
    /// Addresses bound (IAADDRs in the REPLYs).
    pub addresses: u64,
    /// Prefixes delegated (IAPREFIXes in the REPLYs).
    pub prefixes: u64,
    /// Paced: from the first SOLICIT until the schedule's end (or `duration`). Closed loop:
    /// `elapsed`.
    pub sending: Duration,
    /// How much later than planned a paced schedule ran: stalls of the generator longer than
    /// the few milliseconds it catches up with a burst.
    pub slipped: Duration,
    /// From the first SOLICIT to the end of the run.
    pub elapsed: Duration,
    /// Clients started per second over `sending`.
    pub offered_rate: f64,
    /// Completed SARRs per second, from the first SOLICIT to the last REPLY.
    pub rate: f64,
    /// First SOLICIT -> REPLY, per completed SARR.
    pub sarr: Summary,
    /// First SOLICIT -> ADVERTISE, per accepted ADVERTISE.
    pub solicit_advertise: Summary,
    /// First REQUEST -> REPLY, per completed SARR.
    pub request_reply: Summary,
    /// (MAC, leases) of every bound client, in the order the REPLYs arrived.
    pub bound: Vec<([u8; 6], Vec<Lease>)>,
}

impl Report {
    /// SOLICITs and REQUESTs unanswered after all retransmissions.
    pub fn drops(&self) -> u64 {
        self.drops_solicit + self.drops_request
    }

    /// Exchanges refused for want of a lease.
    pub fn not_granted(&self) -> u64 {
        self.not_granted_solicit + self.not_granted_request
    }

    /// Drops in percent of the exchanges started.
    pub fn drops_pct(&self) -> f64 {
        if self.started == 0 {
            0.0
        } else {
            self.drops() as f64 * 100.0 / self.started as f64
        }
    }

    /// One JSON object (the bound leases are not in it; see `--bound-out`). Times in ms.
    pub fn to_json(&self) -> Value {
        json!({
            "clients": self.clients,
            "in_flight": self.in_flight,
            "requested_rate": self.requested_rate,
            "server": self.server.to_string(),
            "link_address": self.link_address.to_string(),
            "ia": self.ia.name(),
            "started": self.started,
            "completed": self.completed,
            "not_granted": self.not_granted(),
            "not_granted_solicit": self.not_granted_solicit,
            "not_granted_request": self.not_granted_request,
            "drops": self.drops(),
            "drops_solicit": self.drops_solicit,
            "drops_request": self.drops_request,
            "drops_pct": round3(self.drops_pct()),
            "unexpected": self.unexpected,
            "malformed": self.malformed,
            "retransmissions": self.retransmissions,
            "send_errors": self.send_errors,
            "recv_errors": self.recv_errors,
            "unfinished": self.unfinished,
            "not_started": self.not_started,
            "addresses": self.addresses,
            "prefixes": self.prefixes,
            "sending_s": self.sending.as_secs_f64(),
            "slipped_s": self.slipped.as_secs_f64(),
            "elapsed_s": self.elapsed.as_secs_f64(),
            "offered_rate_per_s": round3(self.offered_rate),
            "rate_per_s": round3(self.rate),
            "latency_ms": {
                "sarr": summary_json(&self.sarr),
                "solicit_advertise": summary_json(&self.solicit_advertise),
                "request_reply": summary_json(&self.request_reply),
            },
        })
    }

    /// The report for people.
    pub fn to_text(&self) -> String {
        let mut s = String::new();
        let pacing = match self.requested_rate {
            Some(r) => format!("rate {r}/s, at most {} in flight", self.in_flight),
            None => format!("{} in flight", self.in_flight),
        };
        let _ = writeln!(
            s,
            "lessor perf sarr: {} clients ({}), {pacing}, server {}, link-address {}",
            self.clients,
            self.ia.name(),
            self.server,
            self.link_address
        );
        let _ = writeln!(
            s,
            "offered      {} SOLICIT in {:.3} s: {:.1}/s{}",
            self.started,
            self.sending.as_secs_f64(),
            self.offered_rate,
            if self.slipped.is_zero() {
                String::new()
            } else {
                format!(" (schedule slipped {:.3} s)", self.slipped.as_secs_f64())
            }
        );
        let _ = writeln!(
            s,
            "completed    {} SARR: {:.1} SARR/s ({} addresses, {} prefixes)",
            self.completed, self.rate, self.addresses, self.prefixes
        );
        let _ = writeln!(
            s,
            "drops        {} ({:.3}%: no ADVERTISE {}, no REPLY {})",
            self.drops(),
            self.drops_pct(),
            self.drops_solicit,
            self.drops_request
        );
        let _ = writeln!(
            s,
            "not granted  {} (ADVERTISE {}, REPLY {})",
            self.not_granted(),
            self.not_granted_solicit,
            self.not_granted_request
        );
        let _ = writeln!(
            s,
            "unexpected   {}   malformed {}   retransmissions {}",
            self.unexpected, self.malformed, self.retransmissions
        );
        if self.unfinished + self.not_started + self.send_errors + self.recv_errors > 0 {
            let _ = writeln!(
                s,
                "stopped by --duration: {} unfinished, {} not started; send errors {}, receive errors {}",
                self.unfinished, self.not_started, self.send_errors, self.recv_errors
            );
        }
        s += &table(&[
            ("SARR", &self.sarr),
            ("SOLICIT->ADVERTISE", &self.solicit_advertise),
            ("REQUEST->REPLY", &self.request_reply),
        ]);
        s
    }

    /// `DUID LEASE...` lines of every bound client (the `--bound-out` format).
    pub fn bound_lines(&self) -> String {
        let mut s = String::new();
        for (mac, leases) in &self.bound {
            let duid = Identity::duid_of(mac);
            let _ = writeln!(s, "{}", bound_line(&duid, leases));
        }
        s
    }
}
