//! Statistics of the DHCPv6 bulk leasequery service: atomics shared by every connection's
//! thread, readable while the service runs.

use crate::bulk4::CloseReason;
use crate::stats::Counter;
use lessor_wire::v6::status;

/// The statuses a bulk reply can carry, in counter order.
pub const STATUSES: [u16; 6] = [
    status::UNSPEC_FAIL,
    status::UNKNOWN_QUERY_TYPE,
    status::MALFORMED_QUERY,
    status::NOT_CONFIGURED,
    status::NOT_ALLOWED,
    status::QUERY_TERMINATED,
];

/// Counters of the DHCPv6 bulk leasequery service.
#[derive(Debug, Default)]
pub struct Counters {
    /// Connections accepted.
    pub accepted: Counter,
    /// Connections closed at once: peer not in `[leasequery6] requesters`.
    pub refused_not_allowed: Counter,
    /// Connections closed at once: `max-connections` reached.
    pub refused_limit: Counter,
    /// Connections closed at once: the requester already had `max-connections-per-requester`.
    pub refused_per_requester: Counter,
    /// Queries taken, by query type 1-5.
    queries: [Counter; 5],
    /// Replies or DONE carrying a status, by [`STATUSES`].
    failures: [Counter; STATUSES.len()],
    /// Bindings sent (in a LEASEQUERY-REPLY or LEASEQUERY-DATA).
    pub bindings: Counter,
    /// LEASEQUERY-DONE after bindings.
    pub done: Counter,
    /// LEASEQUERY-REPLY without binding (nothing matched).
    pub empty: Counter,
    /// Queries aborted with UnspecFail because a message could not be framed.
    pub aborted: Counter,
    /// Connections ended, by reason.
    closed: [Counter; CloseReason::ALL.len()],
}

impl Counters {
    pub(crate) fn count_query(&self, query_type: u8) {
        if let Some(c) = usize::from(query_type)
            .checked_sub(1)
            .and_then(|i| self.queries.get(i))
        {
            c.add();
        }
    }

    pub(crate) fn count_failure(&self, code: u16) {
        let i = STATUSES.iter().position(|&s| s == code).unwrap_or(0);
        self.failures[i].add();
    }

    pub(crate) fn count_close(&self, r: CloseReason) {
        let i = CloseReason::ALL.iter().position(|&x| x == r).unwrap_or(0);
        self.closed[i].add();
    }

    /// Queries of type `query_type` (1-5) taken.
    pub fn queries(&self, query_type: u8) -> u64 {
        usize::from(query_type)
            .checked_sub(1)
            .and_then(|i| self.queries.get(i))
            .map_or(0, Counter::get)
    }

    /// Replies or DONE sent with status `code` (UnspecFail for a status not in [`STATUSES`]).
    pub fn failures(&self, code: u16) -> u64 {
        STATUSES
            .iter()
            .position(|&s| s == code)
            .map_or(0, |i| self.failures[i].get())
    }

    /// Connections ended for reason `r`.
    pub fn closed(&self, r: CloseReason) -> u64 {
        let i = CloseReason::ALL.iter().position(|&x| x == r).unwrap_or(0);
        self.closed[i].get()
    }
}
