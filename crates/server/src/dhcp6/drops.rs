//! What the DHCPv6 engine refused lately, for the operator: the service-neutral drop log
//! ([`crate::droplog`]) with the engine's reasons, tallied by where the messages came from. Only
//! drops that protect the server or point at a configuration gap (rate limits, no link for a
//! relay's link-address, an unserved interface, replies that could not be encoded) are logged.

use super::counters::DropReason;
use crate::dhcp4::drops::IfName;
use crate::droplog::{self, Reason};
use std::fmt;
use std::net::Ipv6Addr;

/// The engine's refusals since the last report, by origin.
pub type DropLog = droplog::DropLog<DropReason, Origin>;

/// What the engine refused over a period, and where it came from.
pub type DropReport = droplog::DropReport<DropReason, Origin>;

impl Reason for DropReason {
    const ALL: &'static [DropReason] = &DropReason::ALL;
    const SERVICE: &'static str = "dhcp6";
    const DROPPED: &'static str = "messages refused";
    const RATE_LIMITS: &'static str = "the DHCPv6 engine's fixed limits (docs/operator-guide.md)";

    fn index(self) -> usize {
        self as usize
    }
    fn name(self) -> &'static str {
        DropReason::name(self)
    }
    fn is_rate_limit(self) -> bool {
        matches!(
            self,
            DropReason::RateLimitedClient | DropReason::RateLimitedRelay
        )
    }
    fn is_reported(self) -> bool {
        self.is_warning()
    }
}

/// Where a message came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Origin {
    /// Through this relay (the outermost RELAY-FORW's source).
    Relay(Ipv6Addr),
    /// Directly, multicast on this interface.
    Interface(IfName),
    /// Directly, from this address.
    Source(Ipv6Addr),
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

    #[test]
    fn only_warnings_are_reported() {
        let mut log = DropLog::default();
        let relay = Origin::Relay("2001:db8::2".parse().unwrap());
        log.record(DropReason::NotForUs, relay, 0);
        assert_eq!(log.take(0), None);
        for _ in 0..30 {
            log.record(DropReason::RateLimitedClient, relay, 1_000);
        }
        log.record(
            DropReason::NoLink,
            Origin::Interface(IfName::new("eth1")),
            1_000,
        );
        let r = log.take(2_000).expect("a report");
        assert_eq!(
            r.to_string(),
            "dhcp6: 31 messages refused in 1.0 s: no-link 1, rate-limited-client 30; from \
             relay 2001:db8::2 30, interface eth1 1 (rate limits: the DHCPv6 engine's fixed \
             limits (docs/operator-guide.md))"
        );
    }
}
