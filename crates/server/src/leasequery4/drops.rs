//! What the responder dropped, for the operator: a tally of drops by reason and by requester
//! (source address), taken by the I/O shell at most every [`REPORT_INTERVAL_MS`] as one
//! [`DropReport`], whose `Display` is one log line. The counters ([`super::Counters`]) keep the
//! totals since start; this is the "what happened lately, and from whom" view a log needs.
//!
//! Memory is bounded: at most [`MAX_SOURCES`] requesters are tallied by address between two
//! reports; drops from further ones are counted together.

use super::counters::DropReason;
use std::collections::HashMap;
use std::fmt;
use std::net::Ipv4Addr;

/// Least time between two reports, in milliseconds.
pub const REPORT_INTERVAL_MS: u64 = 5_000;

/// Requesters tallied by address between two reports.
pub const MAX_SOURCES: usize = 256;

/// Requesters named in a report, most drops first.
pub const TOP_SOURCES: usize = 5;

/// The drops since the last report.
#[derive(Debug, Default)]
pub struct DropLog {
    /// When the first drop of this period happened (monotonic ms).
    first_ms: Option<u64>,
    /// When the last report was taken.
    last_report_ms: Option<u64>,
    by_reason: [u64; DropReason::ALL.len()],
    by_source: HashMap<Ipv4Addr, u64>,
    /// Drops from sources beyond [`MAX_SOURCES`].
    untallied: u64,
}

impl DropLog {
    /// Notes one drop.
    pub fn record(&mut self, reason: DropReason, source: Ipv4Addr, now_ms: u64) {
        self.first_ms.get_or_insert(now_ms);
        self.by_reason[reason as usize] += 1;
        if let Some(n) = self.by_source.get_mut(&source) {
            *n += 1;
        } else if self.by_source.len() < MAX_SOURCES {
            self.by_source.insert(source, 1);
        } else {
            self.untallied += 1;
        }
    }

    /// The drops since the last report, and a new period, when there were any and the last
    /// report is at least [`REPORT_INTERVAL_MS`] old; `None` otherwise (nothing is lost: the
    /// drops wait for the next call).
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
        let mut sources: Vec<(Ipv4Addr, u64)> = self.by_source.drain().collect();
        sources.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
        let others = sources
            .iter()
            .skip(TOP_SOURCES)
            .map(|&(_, n)| n)
            .sum::<u64>()
            + self.untallied;
        let other_sources = sources.len().saturating_sub(TOP_SOURCES);
        sources.truncate(TOP_SOURCES);
        let report = DropReport {
            period_ms: now_ms.saturating_sub(first),
            by_reason,
            top: sources,
            others,
            other_sources,
            more_sources: self.untallied > 0,
        };
        *self = DropLog {
            last_report_ms: Some(now_ms),
            ..DropLog::default()
        };
        Some(report)
    }
}

/// What was dropped over a period, and from whom.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DropReport {
    /// From the first drop of the period to the report, in milliseconds.
    pub period_ms: u64,
    /// Drops per reason, in [`DropReason::ALL`] order, reasons without any left out.
    pub by_reason: Vec<(DropReason, u64)>,
    /// The requesters (source addresses) with the most drops, most first (ties: lowest
    /// address), at most [`TOP_SOURCES`].
    pub top: Vec<(Ipv4Addr, u64)>,
    /// Drops from every other requester.
    pub others: u64,
    /// How many other requesters were tallied by address.
    pub other_sources: usize,
    /// Whether more requesters dropped queries than were tallied ([`MAX_SOURCES`]).
    pub more_sources: bool,
}

impl DropReport {
    /// Drops in all.
    pub fn total(&self) -> u64 {
        self.by_reason.iter().map(|&(_, n)| n).sum()
    }

    /// Drops for `reason`.
    pub fn dropped(&self, reason: DropReason) -> u64 {
        self.by_reason
            .iter()
            .find(|&&(r, _)| r == reason)
            .map_or(0, |&(_, n)| n)
    }
}

impl fmt::Display for DropReport {
    /// One line: `leasequery: 1234 queries dropped in 4.2 s: rate-limited-requester 1200,
    /// not-allowed 34; from 198.51.100.7 1200, 203.0.113.9 34` (then `, N others M` when there
    /// are more requesters), with a pointer to the setting when a rate limit dropped queries.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "leasequery: {} queries dropped in {}.{} s: ",
            self.total(),
            self.period_ms / 1000,
            self.period_ms % 1000 / 100
        )?;
        for (i, (reason, n)) in self.by_reason.iter().enumerate() {
            let sep = if i == 0 { "" } else { ", " };
            write!(f, "{sep}{} {n}", reason.name())?;
        }
        for (i, (source, n)) in self.top.iter().enumerate() {
            let sep = if i == 0 { "; from " } else { ", " };
            write!(f, "{sep}{source} {n}")?;
        }
        if self.others > 0 {
            let more = if self.more_sources { "+" } else { "" };
            write!(f, ", {}{more} others {}", self.other_sources, self.others)?;
        }
        let limited = self.dropped(DropReason::RateLimitedRequester)
            + self.dropped(DropReason::RateLimitedRelay)
            + self.dropped(DropReason::RateLimitedTotal);
        if limited > 0 {
            write!(f, " (rate limits: [leasequery4] rate-limit)")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn a(n: u8) -> Ipv4Addr {
        Ipv4Addr::new(198, 51, 100, n)
    }

    #[test]
    fn nothing_dropped_nothing_reported() {
        let mut log = DropLog::default();
        assert_eq!(log.take(0), None);
        assert_eq!(log.take(100_000), None);
    }

    #[test]
    fn a_report_counts_by_reason_and_names_the_top_requesters() {
        let mut log = DropLog::default();
        for _ in 0..1200 {
            log.record(DropReason::RateLimitedRequester, a(7), 1_000);
        }
        for _ in 0..34 {
            log.record(DropReason::NotAllowed, Ipv4Addr::new(203, 0, 113, 9), 2_000);
        }
        for n in 10..20 {
            log.record(DropReason::Malformed, a(n), 3_000);
        }
        let r = log.take(5_200).expect("a report");
        assert_eq!(r.total(), 1244);
        assert_eq!(r.period_ms, 4_200);
        assert_eq!(r.dropped(DropReason::RateLimitedRequester), 1200);
        assert_eq!(r.top.len(), TOP_SOURCES);
        assert_eq!(r.top[0], (a(7), 1200));
        assert_eq!(r.top[1], (Ipv4Addr::new(203, 0, 113, 9), 34));
        assert_eq!(r.others, 10 - (TOP_SOURCES as u64 - 2));
        assert_eq!(
            r.to_string(),
            "leasequery: 1244 queries dropped in 4.2 s: malformed 10, not-allowed 34, \
             rate-limited-requester 1200; from 198.51.100.7 1200, 203.0.113.9 34, \
             198.51.100.10 1, 198.51.100.11 1, 198.51.100.12 1, 7 others 7 \
             (rate limits: [leasequery4] rate-limit)"
        );
    }

    #[test]
    fn reports_are_at_most_one_per_interval_and_lose_nothing() {
        let mut log = DropLog::default();
        log.record(DropReason::GiaddrZero, a(1), 0);
        assert!(log.take(0).is_some());
        log.record(DropReason::GiaddrZero, a(1), 1_000);
        // Too soon: kept for the next report.
        assert_eq!(log.take(4_999), None);
        log.record(DropReason::GiaddrZero, a(1), 4_999);
        let r = log.take(5_000).expect("a report");
        assert_eq!(r.total(), 2);
        assert_eq!(r.period_ms, 4_000);
        assert!(!r.to_string().contains("rate limits"));
        // A quiet period is not reported, and does not delay the next drop's report.
        assert_eq!(log.take(60_000), None);
        log.record(DropReason::NoQueryKey, a(2), 61_000);
        assert_eq!(log.take(61_000).map(|r| r.total()), Some(1));
    }

    #[test]
    fn requesters_tallied_are_bounded() {
        let mut log = DropLog::default();
        for n in 0..1000u32 {
            let source = Ipv4Addr::from(u32::from(Ipv4Addr::new(198, 18, 0, 0)) + n);
            log.record(DropReason::NotAllowed, source, 0);
        }
        assert_eq!(log.by_source.len(), MAX_SOURCES);
        let r = log.take(0).unwrap();
        assert_eq!(r.total(), 1000);
        assert_eq!(r.top.len(), TOP_SOURCES);
        assert_eq!(r.others, 1000 - TOP_SOURCES as u64);
        assert!(r.more_sources);
        assert!(r.to_string().contains("251+ others 995"), "{r}");
    }
}
