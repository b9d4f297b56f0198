//! Statistics of the bulk leasequery service. Atomics, shared (behind an `Arc`) by every
//! connection's thread and readable by a metrics reader while the service runs.

use super::codes::Status;
use crate::leasequery4::QueryKind;
use crate::stats::Counter;

/// Why a connection ended, for [`Counters::closed`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CloseReason {
    /// The peer closed its side and every query was answered.
    Finished,
    /// Server shutdown (open queries got QueryTerminated).
    Shutdown,
    /// A reply could not be framed; the query was aborted, then the connection.
    Aborted,
    /// The stream did not frame (junk, unknown dialect, oversized or truncated frame).
    Junk,
    /// data-timeout: a frame half-received, or replies not taken.
    DataTimeout,
    /// idle-timeout: nothing outstanding.
    IdleTimeout,
    /// frame-timeout: a frame not complete in time, however steadily its octets came.
    FrameTimeout,
    /// first-query-timeout: no complete frame in time after the accept.
    FirstQueryTimeout,
    /// The connection's engine panicked (a bug; logged with its message).
    Panic,
    /// A read or write failed (reset by the peer, a send error: draft §9.4).
    SocketError,
}

impl CloseReason {
    /// Every reason, for reports.
    pub const ALL: [CloseReason; 10] = [
        CloseReason::Finished,
        CloseReason::Shutdown,
        CloseReason::Aborted,
        CloseReason::Junk,
        CloseReason::DataTimeout,
        CloseReason::IdleTimeout,
        CloseReason::FrameTimeout,
        CloseReason::FirstQueryTimeout,
        CloseReason::SocketError,
        CloseReason::Panic,
    ];

    /// A short stable name, for logs and metrics.
    pub fn name(self) -> &'static str {
        match self {
            CloseReason::Finished => "finished",
            CloseReason::Shutdown => "shutdown",
            CloseReason::Aborted => "aborted",
            CloseReason::Junk => "junk",
            CloseReason::DataTimeout => "data-timeout",
            CloseReason::IdleTimeout => "idle-timeout",
            CloseReason::FrameTimeout => "frame-timeout",
            CloseReason::FirstQueryTimeout => "first-query-timeout",
            CloseReason::SocketError => "socket-error",
            CloseReason::Panic => "panic",
        }
    }
}

/// Counters of the bulk leasequery service.
#[derive(Debug, Default)]
pub struct Counters {
    /// Connections accepted.
    pub accepted: Counter,
    /// Connections closed at once because the peer is not in `[leasequery4] requesters`.
    pub refused_not_allowed: Counter,
    /// Connections closed at once because `max-connections` was reached.
    pub refused_limit: Counter,
    /// Connections closed at once because their requester address already had
    /// `max-connections-per-requester`.
    pub refused_per_requester: Counter,
    /// Connections that spoke the draft dialect / the RFC 6926 dialect.
    pub draft: Counter,
    pub rfc6926: Counter,
    /// Queries taken, by kind: IP, MAC, client-id, remote-id, relay-id.
    queries: [Counter; 5],
    /// Queries refused or ended with a failure message, by status.
    failures: [Counter; 5],
    /// Binding messages sent, all kinds (the sum of the next three).
    pub bindings: Counter,
    /// DHCPLEASEACTIVE sent in a stream.
    pub active: Counter,
    /// DHCPLEASEDATA sent (draft dialect).
    pub data: Counter,
    /// DHCPLEASEUNASSIGNED sent for a binding that is no longer active (rfc6926 time window).
    pub unassigned_bindings: Counter,
    /// DHCPLEASEDONE / DHCPLEASEQUERYDONE sent (successful ends; failures are in `failures`).
    pub done: Counter,
    /// Single DHCPLEASEUNASSIGNED / DHCPLEASEUNKNOWN answers (draft dialect).
    pub unassigned: Counter,
    pub unknown: Counter,
    /// Queries aborted with UnspecFail because a reply could not be framed.
    pub aborted: Counter,
    /// Connections ended, by reason.
    closed: [Counter; CloseReason::ALL.len()],
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

fn close_index(r: CloseReason) -> usize {
    CloseReason::ALL.iter().position(|&x| x == r).unwrap_or(0)
}

impl Counters {
    pub(crate) fn count_query(&self, k: QueryKind) {
        self.queries[kind_index(k)].add();
    }

    pub(crate) fn count_failure(&self, s: Status) {
        self.failures[status_index(s)].add();
    }

    pub(crate) fn count_close(&self, r: CloseReason) {
        self.closed[close_index(r)].add();
    }

    /// Queries of kind `k` taken.
    pub fn queries(&self, k: QueryKind) -> u64 {
        self.queries[kind_index(k)].get()
    }

    /// Failure messages with status `s` sent.
    pub fn failures(&self, s: Status) -> u64 {
        self.failures[status_index(s)].get()
    }

    /// Connections ended for reason `r`.
    pub fn closed(&self, r: CloseReason) -> u64 {
        self.closed[close_index(r)].get()
    }

    /// Connections ended, whatever the reason (refused ones are not counted here).
    pub fn closed_total(&self) -> u64 {
        CloseReason::ALL.iter().map(|&r| self.closed(r)).sum()
    }
}
