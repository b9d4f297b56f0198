//! What the responder dropped, for the operator: the service-neutral drop log
//! ([`crate::droplog`]) with the responder's reasons, tallied by requester (source address).

use super::counters::DropReason;
use crate::droplog::{self, Reason};
use std::net::Ipv4Addr;

/// The responder's drops since the last report, by requester.
pub type DropLog = droplog::DropLog<DropReason, Ipv4Addr>;

/// What the responder dropped over a period, and from whom.
pub type DropReport = droplog::DropReport<DropReason, Ipv4Addr>;

impl Reason for DropReason {
    const ALL: &'static [DropReason] = &DropReason::ALL;
    const SERVICE: &'static str = "leasequery";
    const DROPPED: &'static str = "queries dropped";
    const RATE_LIMITS: &'static str = "[leasequery4] rate-limit";

    fn index(self) -> usize {
        self as usize
    }
    fn name(self) -> &'static str {
        DropReason::name(self)
    }
    fn is_rate_limit(self) -> bool {
        matches!(
            self,
            DropReason::RateLimitedRequester
                | DropReason::RateLimitedRelay
                | DropReason::RateLimitedTotal
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::droplog::{MAX_ORIGINS, TOP_ORIGINS};

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
        assert_eq!(r.top.len(), TOP_ORIGINS);
        assert_eq!(r.top[0], (a(7), 1200));
        assert_eq!(r.top[1], (Ipv4Addr::new(203, 0, 113, 9), 34));
        assert_eq!(r.others, 10 - (TOP_ORIGINS as u64 - 2));
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
        assert_eq!(log.origins(), MAX_ORIGINS);
        let r = log.take(0).unwrap();
        assert_eq!(r.total(), 1000);
        assert_eq!(r.top.len(), TOP_ORIGINS);
        assert_eq!(r.others, 1000 - TOP_ORIGINS as u64);
        assert!(r.more_origins);
        assert!(r.to_string().contains("251+ others 995"), "{r}");
    }
}
