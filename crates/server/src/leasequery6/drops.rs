//! What the responder dropped, for the operator: the service-neutral drop log
//! ([`crate::droplog`]) with the responder's reasons, tallied by requester.

use super::counters::DropReason;
use crate::droplog::{self, Reason};
use std::net::Ipv6Addr;

/// The responder's drops since the last report, by requester.
pub type DropLog = droplog::DropLog<DropReason, Ipv6Addr>;

/// What the responder dropped over a period, and from whom.
pub type DropReport = droplog::DropReport<DropReason, Ipv6Addr>;

impl Reason for DropReason {
    const ALL: &'static [DropReason] = &DropReason::ALL;
    const SERVICE: &'static str = "leasequery6";
    const DROPPED: &'static str = "queries dropped";
    const RATE_LIMITS: &'static str = "[leasequery6] rate-limit";

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
