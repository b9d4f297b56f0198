//! What a service dropped lately, for the operator: a tally of drops by reason and by where they
//! came from, taken by the I/O shell at most every [`REPORT_INTERVAL_MS`] as one [`DropReport`],
//! whose `Display` is one log line. The services' counters keep the totals since start; this is
//! the "what happened lately, and from whom" view a log needs. The DHCP engine and the
//! leasequery responder each keep one, with their own reasons ([`Reason`]) and origins.
//!
//! Memory is bounded: at most [`MAX_ORIGINS`] origins are tallied between two reports; drops
//! from further ones are counted together.

use std::collections::HashMap;
use std::fmt;
use std::hash::Hash;

/// Least time between two reports, in milliseconds.
pub const REPORT_INTERVAL_MS: u64 = 5_000;

/// Origins tallied between two reports.
pub const MAX_ORIGINS: usize = 256;

/// Origins named in a report, most drops first.
pub const TOP_ORIGINS: usize = 5;

/// A service's drop reasons, as its log line names them.
pub trait Reason: Copy + Eq + fmt::Debug + 'static {
    /// Every reason, in report order.
    const ALL: &'static [Self];
    /// The line's head: "leasequery: N queries dropped" is `("leasequery", "queries dropped")`.
    const SERVICE: &'static str;
    const DROPPED: &'static str;
    /// The setting a rate-limit drop points to ("[leasequery4] rate-limit").
    const RATE_LIMITS: &'static str;

    /// Its position in [`Reason::ALL`].
    fn index(self) -> usize;
    /// A short stable name.
    fn name(self) -> &'static str;
    /// Whether a rate limit dropped it.
    fn is_rate_limit(self) -> bool;
    /// Whether the operator hears of it in the log (otherwise it is only counted).
    fn is_reported(self) -> bool {
        true
    }
}

/// The drops since the last report.
#[derive(Debug)]
pub struct DropLog<R, O> {
    /// When the first drop of this period happened (monotonic ms).
    first_ms: Option<u64>,
    /// When the last report was taken.
    last_report_ms: Option<u64>,
    by_reason: Vec<u64>,
    by_origin: HashMap<O, u64>,
    /// Drops from origins beyond [`MAX_ORIGINS`].
    untallied: u64,
    _reason: std::marker::PhantomData<R>,
}

impl<R: Reason, O> Default for DropLog<R, O> {
    fn default() -> Self {
        DropLog {
            first_ms: None,
            last_report_ms: None,
            by_reason: vec![0; R::ALL.len()],
            by_origin: HashMap::new(),
            untallied: 0,
            _reason: std::marker::PhantomData,
        }
    }
}

impl<R: Reason, O: Copy + Eq + Hash + Ord> DropLog<R, O> {
    /// Notes one drop, if it is one the operator hears of ([`Reason::is_reported`]).
    pub fn record(&mut self, reason: R, origin: O, now_ms: u64) {
        if !reason.is_reported() {
            return;
        }
        self.first_ms.get_or_insert(now_ms);
        self.by_reason[reason.index()] += 1;
        if let Some(n) = self.by_origin.get_mut(&origin) {
            *n += 1;
        } else if self.by_origin.len() < MAX_ORIGINS {
            self.by_origin.insert(origin, 1);
        } else {
            self.untallied += 1;
        }
    }

    /// Origins tallied in this period.
    pub fn origins(&self) -> usize {
        self.by_origin.len()
    }

    /// The drops since the last report, and a new period, when there were any and the last
    /// report is at least [`REPORT_INTERVAL_MS`] old; `None` otherwise (nothing is lost: the
    /// drops wait for the next call).
    pub fn take(&mut self, now_ms: u64) -> Option<DropReport<R, O>> {
        let first = self.first_ms?;
        if self
            .last_report_ms
            .is_some_and(|last| now_ms.saturating_sub(last) < REPORT_INTERVAL_MS)
        {
            return None;
        }
        let by_reason = R::ALL
            .iter()
            .map(|&r| (r, self.by_reason[r.index()]))
            .filter(|&(_, n)| n > 0)
            .collect();
        let mut origins: Vec<(O, u64)> = self.by_origin.drain().collect();
        origins.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
        let others = origins
            .iter()
            .skip(TOP_ORIGINS)
            .map(|&(_, n)| n)
            .sum::<u64>()
            + self.untallied;
        let other_origins = origins.len().saturating_sub(TOP_ORIGINS);
        origins.truncate(TOP_ORIGINS);
        let report = DropReport {
            period_ms: now_ms.saturating_sub(first),
            by_reason,
            top: origins,
            others,
            other_origins,
            more_origins: self.untallied > 0,
        };
        *self = DropLog {
            last_report_ms: Some(now_ms),
            ..DropLog::default()
        };
        Some(report)
    }
}

/// What was dropped over a period, and where it came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DropReport<R, O> {
    /// From the first drop of the period to the report, in milliseconds.
    pub period_ms: u64,
    /// Drops per reason, in [`Reason::ALL`] order, reasons without any left out.
    pub by_reason: Vec<(R, u64)>,
    /// The origins with the most drops, most first (ties: lowest), at most [`TOP_ORIGINS`].
    pub top: Vec<(O, u64)>,
    /// Drops from every other origin.
    pub others: u64,
    /// How many other origins were tallied.
    pub other_origins: usize,
    /// Whether more origins dropped messages than were tallied ([`MAX_ORIGINS`]).
    pub more_origins: bool,
}

impl<R: Reason, O> DropReport<R, O> {
    /// Drops in all.
    pub fn total(&self) -> u64 {
        self.by_reason.iter().map(|&(_, n)| n).sum()
    }

    /// Drops for `reason`.
    pub fn dropped(&self, reason: R) -> u64 {
        self.by_reason
            .iter()
            .find(|&&(r, _)| r == reason)
            .map_or(0, |&(_, n)| n)
    }
}

impl<R: Reason, O: fmt::Display> fmt::Display for DropReport<R, O> {
    /// One line: `leasequery: 1234 queries dropped in 4.2 s: rate-limited-requester 1200,
    /// not-allowed 34; from 198.51.100.7 1200, 203.0.113.9 34` (then `, N others M` when there
    /// are more origins, `N+` when more were seen than tallied), with a pointer to the setting
    /// when a rate limit dropped anything.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}: {} {} in {}.{} s: ",
            R::SERVICE,
            self.total(),
            R::DROPPED,
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
            let more = if self.more_origins { "+" } else { "" };
            write!(f, ", {}{more} others {}", self.other_origins, self.others)?;
        }
        if self.by_reason.iter().any(|(r, _)| r.is_rate_limit()) {
            write!(f, " (rate limits: {})", R::RATE_LIMITS)?;
        }
        Ok(())
    }
}
