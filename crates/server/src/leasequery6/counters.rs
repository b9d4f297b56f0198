//! Statistics of the DHCPv6 leasequery responder: what arrived, what it asked, what was
//! answered, and why anything got no answer. Atomics, so a metrics reader on another thread can
//! read them while the responder runs.

use crate::stats::{Counter, Report};

/// Why a LEASEQUERY got no reply.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DropReason {
    /// ACTIVELEASEQUERY or STARTTLS: RFC 7653's, over TCP only.
    UnsupportedType,
    /// It came inside a RELAY-FORW and `[leasequery6] relayed = "discard"` (RFC 5007 §5).
    Relayed,
    /// No OPTION_CLIENTID (RFC 5007 §4.2.1).
    NoClientId,
    /// An OPTION_SERVERID that is not this server's DUID (RFC 5007 §4.2.1).
    ForeignServerId,
    /// No OPTION_LQ_QUERY (RFC 5007 §4.2.1).
    NoQuery,
    /// The requester or the relay the reply would go to is not inside `[leasequery6]
    /// requesters`, and `not-allowed = "discard"`.
    NotAllowed,
    /// The requester's own token bucket is empty.
    RateLimitedRequester,
    /// The token bucket of the address the reply would go to is empty.
    RateLimitedRelay,
    /// The server-wide token bucket is empty.
    RateLimitedTotal,
    /// Not even a status reply fits one datagram with the relay chain's Interface-Ids echoed
    /// (docs/protocol.md decision 24).
    ReplyTooLarge,
}

impl DropReason {
    /// Every reason, for reports.
    pub const ALL: [DropReason; 10] = [
        DropReason::UnsupportedType,
        DropReason::Relayed,
        DropReason::NoClientId,
        DropReason::ForeignServerId,
        DropReason::NoQuery,
        DropReason::NotAllowed,
        DropReason::RateLimitedRequester,
        DropReason::RateLimitedRelay,
        DropReason::RateLimitedTotal,
        DropReason::ReplyTooLarge,
    ];

    /// A short stable name, for logs and metrics.
    pub fn name(self) -> &'static str {
        match self {
            DropReason::UnsupportedType => "unsupported-type",
            DropReason::Relayed => "relayed",
            DropReason::NoClientId => "no-client-id",
            DropReason::ForeignServerId => "foreign-server-id",
            DropReason::NoQuery => "no-lq-query",
            DropReason::NotAllowed => "not-allowed",
            DropReason::RateLimitedRequester => "rate-limited-requester",
            DropReason::RateLimitedRelay => "rate-limited-relay",
            DropReason::RateLimitedTotal => "rate-limited-total",
            DropReason::ReplyTooLarge => "reply-too-large",
        }
    }
}

/// The responder's counters.
#[derive(Debug, Default)]
pub struct Counters {
    /// Every message handed to the responder.
    pub received: Counter,
    /// Queries answered that came inside a RELAY-FORW (answered through RELAY-REPL).
    pub relayed: Counter,
    /// Accepted queries by query-type.
    pub by_address: Counter,
    pub by_client_id: Counter,
    /// Replies by what they carry.
    pub client_data: Counter,
    pub client_link: Counter,
    /// No client matched: a LEASEQUERY-REPLY with neither CLIENT_DATA nor a status.
    pub no_data: Counter,
    pub unknown_query_type: Counter,
    pub malformed_query: Counter,
    pub not_configured: Counter,
    pub not_allowed: Counter,
    /// Client data larger than a datagram even cut: UnspecFail (docs/protocol.md decision 24).
    pub too_large: Counter,
    /// Client data sent without its configured options or relay data to fit (decision 24).
    pub truncated: Counter,
    /// Index entries the answered queries examined in all (their work).
    pub examined: Counter,
    /// Queries whose walk stopped at [`super::answer::MAX_EXAMINED`].
    pub examine_capped: Counter,
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

    pub(crate) fn count_drop(&self, reason: DropReason) {
        self.drops[reason as usize].add();
    }
}

impl Report for Counters {
    fn report(&self, out: &mut dyn FnMut(&str, u64)) {
        for (name, c) in [
            ("received", &self.received),
            ("relayed", &self.relayed),
            ("by-address", &self.by_address),
            ("by-client-id", &self.by_client_id),
            ("client-data", &self.client_data),
            ("client-link", &self.client_link),
            ("no-data", &self.no_data),
            ("unknown-query-type", &self.unknown_query_type),
            ("malformed-query", &self.malformed_query),
            ("not-configured", &self.not_configured),
            ("not-allowed", &self.not_allowed),
            ("too-large", &self.too_large),
            ("truncated", &self.truncated),
            ("examined", &self.examined),
            ("examine-capped", &self.examine_capped),
        ] {
            out(name, c.get());
        }
        for why in DropReason::ALL {
            out(&format!("dropped-{}", why.name()), self.dropped(why));
        }
    }
}
