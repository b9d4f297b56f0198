//! Statistics of the DHCPv4 leasequery responder: what arrived, how it was classified, what was
//! answered, and why anything got no answer. Atomics, so a metrics reader on another thread can
//! read them while the responder runs.

use crate::stats::Counter;
use lessor_wire::v4::QueryKind;

/// Why a leasequery got no reply.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DropReason {
    /// Not a DHCP message (too short, bad cookie, truncated or malformed options, option 82
    /// with malformed sub-options, an empty client identifier).
    Malformed,
    /// A message type this responder does not answer over UDP (bulk or active leasequery, a
    /// legacy message type from a requester not configured as legacy).
    UnsupportedType,
    /// giaddr is 0.0.0.0 (RFC 4388 §6.3, §6.4.3: never answered).
    GiaddrZero,
    /// The source address or giaddr is not inside `[leasequery4] requesters`.
    NotAllowed,
    /// The requester's own token bucket is empty.
    RateLimitedRequester,
    /// The token bucket of the query's giaddr (where its reply would go) is empty.
    RateLimitedRelay,
    /// The server-wide token bucket is empty.
    RateLimitedTotal,
    /// More than one query key (ciaddr, chaddr, client-id, option 82 identifier).
    AmbiguousQuery,
    /// No query key at all.
    NoQueryKey,
    /// The reply does not fit the requester's maximum message size even without associated-ip
    /// and the client's configured options (docs/protocol.md decision 15).
    ReplyTooLarge,
}

impl DropReason {
    /// Every reason, for reports.
    pub const ALL: [DropReason; 10] = [
        DropReason::Malformed,
        DropReason::UnsupportedType,
        DropReason::GiaddrZero,
        DropReason::NotAllowed,
        DropReason::RateLimitedRequester,
        DropReason::RateLimitedRelay,
        DropReason::RateLimitedTotal,
        DropReason::AmbiguousQuery,
        DropReason::NoQueryKey,
        DropReason::ReplyTooLarge,
    ];

    /// A short stable name, for logs and metrics.
    pub fn name(self) -> &'static str {
        match self {
            DropReason::Malformed => "malformed",
            DropReason::UnsupportedType => "unsupported-type",
            DropReason::GiaddrZero => "giaddr-zero",
            DropReason::NotAllowed => "not-allowed",
            DropReason::RateLimitedRequester => "rate-limited-requester",
            DropReason::RateLimitedRelay => "rate-limited-relay",
            DropReason::RateLimitedTotal => "rate-limited-total",
            DropReason::AmbiguousQuery => "ambiguous-query",
            DropReason::NoQueryKey => "no-query-key",
            DropReason::ReplyTooLarge => "reply-too-large",
        }
    }
}

/// The responder's counters.
#[derive(Debug, Default)]
pub struct Counters {
    /// Every message handed to the responder.
    pub received: Counter,
    /// Accepted queries by what they asked for.
    pub by_ip: Counter,
    pub by_mac: Counter,
    pub by_client_id: Counter,
    pub by_remote_id: Counter,
    pub by_relay_id: Counter,
    /// draft-ietf-dhc-leasequery-00 queries (always by ciaddr).
    pub legacy: Counter,
    /// Replies sent.
    pub active: Counter,
    pub unassigned: Counter,
    pub unknown: Counter,
    pub legacy_ack: Counter,
    pub legacy_nak: Counter,
    /// Index entries the answered queries examined in all (their work, docs/protocol.md
    /// decision 14).
    pub examined: Counter,
    /// Queries whose walk stopped at [`super::answer::MAX_EXAMINED`].
    pub examine_capped: Counter,
    /// Replies whose associated-ip list (or client options) was cut to fit the requester's
    /// maximum message size (docs/protocol.md decision 15).
    pub truncated: Counter,
    /// Replies sent to the query's source port rather than port 67 (`[leasequery4]
    /// reply-to-source-port`).
    pub to_source_port: Counter,
    drops: [Counter; DropReason::ALL.len()],
}

impl Counters {
    /// Queries dropped for this reason.
    pub fn dropped(&self, reason: DropReason) -> u64 {
        self.drops[reason as usize].get()
    }

    /// All drops, whatever the reason.
    pub fn dropped_total(&self) -> u64 {
        self.drops.iter().map(Counter::get).sum()
    }

    /// Accepted queries of this kind.
    pub fn queries(&self, kind: QueryKind) -> u64 {
        self.query_counter(kind).get()
    }

    pub(crate) fn count_drop(&self, reason: DropReason) {
        self.drops[reason as usize].add();
    }

    pub(crate) fn count_query(&self, kind: QueryKind) {
        self.query_counter(kind).add();
    }

    fn query_counter(&self, kind: QueryKind) -> &Counter {
        match kind {
            QueryKind::Ip => &self.by_ip,
            QueryKind::Mac => &self.by_mac,
            QueryKind::ClientId => &self.by_client_id,
            QueryKind::RemoteId => &self.by_remote_id,
            QueryKind::RelayId => &self.by_relay_id,
        }
    }
}
