//! What the engine refused lately, for the operator: the service-neutral drop log
//! ([`crate::droplog`]) with the engine's reasons, tallied by where the messages came from. Only
//! drops that protect the server (rate limits, refused relays and unicast sources, over-long
//! fields, replies that could not fit) are logged; ordinary outcomes (a client that chose another
//! server, an unknown client's DHCPREQUEST) are only counted ([`super::Counters`]).

use super::counters::DropReason;
use crate::droplog::{self, Reason};
use std::fmt;
use std::net::Ipv4Addr;

/// The engine's refusals since the last report, by origin.
pub type DropLog = droplog::DropLog<DropReason, Origin>;

/// What the engine refused over a period, and where it came from.
pub type DropReport = droplog::DropReport<DropReason, Origin>;

impl Reason for DropReason {
    const ALL: &'static [DropReason] = &DropReason::ALL;
    const SERVICE: &'static str = "dhcp4";
    const DROPPED: &'static str = "messages refused";
    const RATE_LIMITS: &'static str = "[dhcp4.rate-limit]";

    fn index(self) -> usize {
        self as usize
    }
    fn name(self) -> &'static str {
        DropReason::name(self)
    }
    fn is_rate_limit(self) -> bool {
        matches!(
            self,
            DropReason::RateLimitedClient
                | DropReason::RateLimitedCircuit
                | DropReason::RateLimitedRelay
        )
    }
    fn is_reported(self) -> bool {
        self.is_warning()
    }
}

/// An interface's name as the kernel holds it (at most 15 octets), kept without allocating.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct IfName {
    len: u8,
    name: [u8; 15],
}

impl IfName {
    /// `name`, cut to 15 octets.
    pub fn new(name: &str) -> IfName {
        let mut n = IfName {
            len: 0,
            name: [0; 15],
        };
        for (slot, b) in n.name.iter_mut().zip(name.bytes()) {
            *slot = b;
            n.len += 1;
        }
        n
    }
}

impl fmt::Display for IfName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&String::from_utf8_lossy(
            &self.name[..usize::from(self.len)],
        ))
    }
}

/// Where a message came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Origin {
    /// Through this relay (giaddr).
    Relay(Ipv4Addr),
    /// Directly, broadcast on this interface.
    Interface(IfName),
    /// Directly, unicast from this address.
    Source(Ipv4Addr),
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Origin::Relay(a) => write!(f, "relay {a}"),
            Origin::Interface(i) => write!(f, "interface {i}"),
            Origin::Source(a) => write!(f, "{a}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::droplog::{MAX_ORIGINS, TOP_ORIGINS};

    #[test]
    fn only_warnings_are_reported_at_most_once_per_interval() {
        let mut log = DropLog::default();
        let relay = Origin::Relay(Ipv4Addr::new(198, 51, 100, 1));
        log.record(DropReason::NotForUs, relay, 0);
        assert_eq!(log.take(0), None);
        for _ in 0..1200 {
            log.record(DropReason::RateLimitedClient, relay, 1_000);
        }
        for n in 0..10 {
            log.record(
                DropReason::UnicastNotServed,
                Origin::Source(Ipv4Addr::new(203, 0, 113, n)),
                5_200,
            );
        }
        let r = log.take(5_200).expect("a report");
        assert_eq!(
            r.to_string(),
            "dhcp4: 1210 messages refused in 4.2 s: rate-limited-client 1200, \
             unicast-not-served 10; from relay 198.51.100.1 1200, 203.0.113.0 1, 203.0.113.1 1, \
             203.0.113.2 1, 203.0.113.3 1, 6 others 6 (rate limits: [dhcp4.rate-limit])"
        );
        log.record(
            DropReason::FieldTooLong,
            Origin::Interface(IfName::new("eth1")),
            6_000,
        );
        assert_eq!(log.take(6_000), None);
        let r = log.take(10_200).expect("kept for the next report");
        assert_eq!(r.total(), 1);
        assert!(
            r.to_string()
                .ends_with("field-too-long 1; from interface eth1 1"),
            "{r}"
        );
        assert_eq!(
            IfName::new("a-very-long-interface-name").to_string(),
            "a-very-long-int"
        );
    }

    #[test]
    fn origins_tallied_are_bounded() {
        let mut log = DropLog::default();
        for n in 0..1000u32 {
            let a = Ipv4Addr::from(u32::from(Ipv4Addr::new(198, 18, 0, 0)) + n);
            log.record(DropReason::RateLimitedRelay, Origin::Relay(a), 0);
        }
        assert_eq!(log.origins(), MAX_ORIGINS);
        let r = log.take(0).unwrap();
        assert_eq!(r.total(), 1000);
        assert_eq!(r.others, 1000 - TOP_ORIGINS as u64);
    }
}
