//! What the engine refused lately, for the operator: drops that protect the server (rate limits,
//! refused relays and unicast sources, over-long fields, replies that could not fit) tallied by
//! reason and by where they came from, taken by the I/O shell at most every
//! [`REPORT_INTERVAL_MS`] as one [`DropReport`], whose `Display` is one log line. Ordinary
//! outcomes (a client that chose another server, an unknown client's DHCPREQUEST) are only
//! counted ([`super::Counters`]). Memory is bounded: at most [`MAX_ORIGINS`] origins are tallied
//! between two reports; drops from further ones are counted together.

use super::counters::DropReason;
use std::collections::HashMap;
use std::fmt;
use std::net::Ipv4Addr;

/// Least time between two reports, in milliseconds.
pub const REPORT_INTERVAL_MS: u64 = 5_000;

/// Origins tallied between two reports.
pub const MAX_ORIGINS: usize = 256;

/// Origins named in a report, most drops first.
pub const TOP_ORIGINS: usize = 5;

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

/// The drops since the last report.
#[derive(Debug, Default)]
pub struct DropLog {
    first_ms: Option<u64>,
    last_report_ms: Option<u64>,
    by_reason: [u64; DropReason::ALL.len()],
    by_origin: HashMap<Origin, u64>,
    untallied: u64,
}

impl DropLog {
    /// Notes one drop, if it is one the operator should hear of ([`DropReason::is_warning`]).
    pub fn record(&mut self, reason: DropReason, origin: Origin, now_ms: u64) {
        if !reason.is_warning() {
            return;
        }
        self.first_ms.get_or_insert(now_ms);
        self.by_reason[reason as usize] += 1;
        if let Some(n) = self.by_origin.get_mut(&origin) {
            *n += 1;
        } else if self.by_origin.len() < MAX_ORIGINS {
            self.by_origin.insert(origin, 1);
        } else {
            self.untallied += 1;
        }
    }

    /// The drops since the last report, when there were any and the last report is at least
    /// [`REPORT_INTERVAL_MS`] old; `None` otherwise (the drops wait for the next call).
    pub fn take(&mut self, now_ms: u64) -> Option<DropReport> {
        let first = self.first_ms?;
        if self
            .last_report_ms
            .is_some_and(|last| now_ms.saturating_sub(last) < REPORT_INTERVAL_MS)
        {
            return None;
        }
        let by_reason = DropReason::ALL
            .iter()
            .map(|&r| (r, self.by_reason[r as usize]))
            .filter(|&(_, n)| n > 0)
            .collect();
        let mut origins: Vec<(Origin, u64)> = self.by_origin.drain().collect();
        origins.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
        let others = origins
            .iter()
            .skip(TOP_ORIGINS)
            .map(|&(_, n)| n)
            .sum::<u64>()
            + self.untallied;
        origins.truncate(TOP_ORIGINS);
        let report = DropReport {
            period_ms: now_ms.saturating_sub(first),
            by_reason,
            top: origins,
            others,
        };
        *self = DropLog {
            last_report_ms: Some(now_ms),
            ..DropLog::default()
        };
        Some(report)
    }
}

/// What was refused over a period, and where it came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DropReport {
    /// From the first drop of the period to the report, in milliseconds.
    pub period_ms: u64,
    /// Drops per reason, in [`DropReason::ALL`] order, reasons without any left out.
    pub by_reason: Vec<(DropReason, u64)>,
    /// The origins with the most drops, most first, at most [`TOP_ORIGINS`].
    pub top: Vec<(Origin, u64)>,
    /// Drops from every other origin.
    pub others: u64,
}

impl DropReport {
    /// Drops in all.
    pub fn total(&self) -> u64 {
        self.by_reason.iter().map(|&(_, n)| n).sum()
    }
}

impl fmt::Display for DropReport {
    /// One line: `dhcp4: 1210 messages refused in 4.2 s: rate-limited-client 1200,
    /// unicast-not-served 10; from relay 198.51.100.1 1200, 203.0.113.9 10`, with a pointer to
    /// the setting when a rate limit refused messages.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "dhcp4: {} messages refused in {}.{} s: ",
            self.total(),
            self.period_ms / 1000,
            self.period_ms % 1000 / 100
        )?;
        for (i, (reason, n)) in self.by_reason.iter().enumerate() {
            let sep = if i == 0 { "" } else { ", " };
            write!(f, "{sep}{} {n}", reason.name())?;
        }
        for (i, (origin, n)) in self.top.iter().enumerate() {
            let sep = if i == 0 { "; from " } else { ", " };
            write!(f, "{sep}{origin} {n}")?;
        }
        if self.others > 0 {
            write!(f, ", others {}", self.others)?;
        }
        let limited = self.by_reason.iter().any(|(r, _)| {
            matches!(
                r,
                DropReason::RateLimitedClient
                    | DropReason::RateLimitedCircuit
                    | DropReason::RateLimitedRelay
            )
        });
        if limited {
            write!(f, " (rate limits: [dhcp4.rate-limit])")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
             203.0.113.2 1, 203.0.113.3 1, others 6 (rate limits: [dhcp4.rate-limit])"
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
        assert_eq!(log.by_origin.len(), MAX_ORIGINS);
        let r = log.take(0).unwrap();
        assert_eq!(r.total(), 1000);
        assert_eq!(r.others, 1000 - TOP_ORIGINS as u64);
    }
}
