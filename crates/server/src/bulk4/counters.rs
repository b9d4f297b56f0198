//! Statistics of the bulk leasequery service. Atomics, shared by every connection's thread and
//! readable by a metrics reader.

use super::codes::Status;
use crate::dhcp4::counters::Counter;
use crate::leasequery4::QueryKind;

/// Counters of the bulk leasequery service.
#[derive(Debug, Default)]
pub struct Counters {
    /// Connections accepted.
    pub accepted: Counter,
    /// Connections closed at once because the peer is not in `[leasequery] requesters`.
    pub refused_not_allowed: Counter,
    /// Connections closed at once because `max-connections` was reached.
    pub refused_limit: Counter,
    /// Connections that spoke the draft dialect / the RFC 6926 dialect.
    pub draft: Counter,
    pub rfc6926: Counter,
    /// Queries taken, by kind: IP, MAC, client-id, remote-id, relay-id.
    queries: [Counter; 5],
    /// Queries refused or ended with a failure message, by status.
    failures: [Counter; 5],
    /// Binding messages sent (DHCPLEASEACTIVE, DHCPLEASEDATA, DHCPLEASEUNASSIGNED in a stream).
    pub bindings: Counter,
    /// DHCPLEASEDONE / DHCPLEASEQUERYDONE sent.
    pub done: Counter,
    /// Single DHCPLEASEUNASSIGNED / DHCPLEASEUNKNOWN answers (draft dialect).
    pub unassigned: Counter,
    pub unknown: Counter,
    /// Connections closed: junk or oversized frames, timeouts.
    pub closed_junk: Counter,
    pub closed_timeout: Counter,
}

fn kind_index(k: QueryKind) -> usize {
    match k {
        QueryKind::Ip => 0,
        QueryKind::Mac => 1,
        QueryKind::ClientId => 2,
        QueryKind::RemoteId => 3,
        QueryKind::RelayId => 4,
    }
}

fn status_index(s: Status) -> usize {
    Status::ALL.iter().position(|&x| x == s).unwrap_or(0)
}

impl Counters {
    pub(crate) fn count_query(&self, k: QueryKind) {
        self.queries[kind_index(k)].add();
    }

    pub(crate) fn count_failure(&self, s: Status) {
        self.failures[status_index(s)].add();
    }

    /// Queries of kind `k` taken.
    pub fn queries(&self, k: QueryKind) -> u64 {
        self.queries[kind_index(k)].get()
    }

    /// Failure messages with status `s` sent.
    pub fn failures(&self, s: Status) -> u64 {
        self.failures[status_index(s)].get()
    }
}
