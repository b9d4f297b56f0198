//! Per-message statistics of the DHCPv6 engine: what it sent and why anything was dropped (what
//! arrived is the router's to count). Atomics, because a REPLY that commits bindings is counted
//! on the store's writer thread, once they are durable.

pub use crate::stats::Counter;
use crate::stats::Report;

/// Why a message got no reply. Outcomes the protocol answers with a status code (NoAddrsAvail,
/// NoBinding, NotOnLink, UseMulticast) are replies, not drops.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DropReason {
    /// No Client Identifier where RFC 8415 §16 requires one.
    NoClientId,
    /// A Server Identifier where §16 forbids one (SOLICIT, CONFIRM, REBIND).
    UnexpectedServerId,
    /// No Server Identifier where §16 requires one (REQUEST, RENEW, RELEASE, DECLINE).
    NoServerId,
    /// Another server's Server Identifier (the client chose, or talks to, another server).
    NotForUs,
    /// An INFORMATION-REQUEST carrying IA options (§16.12).
    IaInInformationRequest,
    /// A SOLICIT, CONFIRM, REBIND or INFORMATION-REQUEST sent straight to a unicast address
    /// (§16: servers discard them; relays and clients use the multicast address).
    Unicast,
    /// Sent directly on an interface the config does not serve.
    InterfaceNotServed,
    /// No configured link matches the relay's link-address or interface-id, or the interface.
    NoLink,
    /// A CONFIRM without any address to confirm (§18.3.3: no reply).
    NothingToConfirm,
    /// Over the client's rate limit (per DUID).
    RateLimitedClient,
    /// Over the rate limit of the relay (outermost source) or served interface.
    RateLimitedRelay,
    /// The store could not take a binding (a field too long for it).
    StoreRejected,
    /// The reply could not be encoded.
    EncodeFailed,
    /// A SOLICIT while the store cannot commit (fail closed).
    StoreFailing,
    /// A SOLICIT while the store's queue is long (back-pressure).
    StoreBacklog,
    /// Not a client's message (the router hands over client messages only; a caller that
    /// builds a [`crate::router6::Message6`] itself may not).
    NotClientMessage,
}

impl DropReason {
    /// Every reason, for reports.
    pub const ALL: [DropReason; 16] = [
        DropReason::NoClientId,
        DropReason::UnexpectedServerId,
        DropReason::NoServerId,
        DropReason::NotForUs,
        DropReason::IaInInformationRequest,
        DropReason::Unicast,
        DropReason::InterfaceNotServed,
        DropReason::NoLink,
        DropReason::NothingToConfirm,
        DropReason::RateLimitedClient,
        DropReason::RateLimitedRelay,
        DropReason::StoreRejected,
        DropReason::EncodeFailed,
        DropReason::StoreFailing,
        DropReason::StoreBacklog,
        DropReason::NotClientMessage,
    ];

    /// A short stable name, for logs and metrics.
    pub fn name(self) -> &'static str {
        match self {
            DropReason::NoClientId => "no-client-id",
            DropReason::UnexpectedServerId => "unexpected-server-id",
            DropReason::NoServerId => "no-server-id",
            DropReason::NotForUs => "not-for-us",
            DropReason::IaInInformationRequest => "ia-in-information-request",
            DropReason::Unicast => "unicast",
            DropReason::InterfaceNotServed => "interface-not-served",
            DropReason::NoLink => "no-link",
            DropReason::NothingToConfirm => "nothing-to-confirm",
            DropReason::RateLimitedClient => "rate-limited-client",
            DropReason::RateLimitedRelay => "rate-limited-relay",
            DropReason::StoreRejected => "store-rejected",
            DropReason::EncodeFailed => "encode-failed",
            DropReason::StoreFailing => "store-failing",
            DropReason::StoreBacklog => "store-backlog",
            DropReason::NotClientMessage => "not-client-message",
        }
    }

    /// Whether the operator hears of it in the log: limits and refusals that protect the
    /// server or point at a configuration gap, not the protocol's ordinary outcomes.
    pub fn is_warning(self) -> bool {
        matches!(
            self,
            DropReason::RateLimitedClient
                | DropReason::RateLimitedRelay
                | DropReason::NoLink
                | DropReason::InterfaceNotServed
                | DropReason::EncodeFailed
        )
    }
}

/// The engine's counters.
#[derive(Debug)]
pub struct Counters {
    /// ADVERTISE sent.
    pub advertises: Counter,
    /// REPLY sent at once (nothing to commit: CONFIRM, INFORMATION-REQUEST, an IA refused).
    pub replies: Counter,
    /// REPLY sent once the bindings it confirms were durable.
    pub replies_durable: Counter,
    /// REPLYs not sent because their commit failed.
    pub commit_failed: Counter,
    /// Replies not sent because another server sharing the lease set changed one of their
    /// bindings first (the commit was refused: [`lessor_store::StoreError::Taken`]); the
    /// client's retransmission is answered from that server's binding.
    pub commit_taken: Counter,
    /// REQUESTs, RENEWs, REBINDs handled while the store could not commit.
    pub requests_while_failing: Counter,
    /// REPLY with UseMulticast (a REQUEST, RENEW, RELEASE or DECLINE sent unicast).
    pub use_multicast: Counter,
    /// SOLICITs with Rapid Commit answered with a REPLY.
    pub rapid_commits: Counter,
    /// IAs answered NoAddrsAvail / NoPrefixAvail.
    pub no_addrs_avail: Counter,
    pub no_prefix_avail: Counter,
    /// IAs answered NoBinding (RENEW, REBIND, RELEASE, DECLINE of an unknown IA).
    pub no_binding: Counter,
    /// CONFIRMs answered NotOnLink.
    pub not_on_link: Counter,
    /// Addresses or prefixes released, declined.
    pub released: Counter,
    pub declined: Counter,
    /// Bindings moved from Active to Expired by the timer.
    pub expired: Counter,
    /// Advertised bindings forgotten (timed out, or the client chose another server).
    pub adverts_forgotten: Counter,
    /// Bindings kept without their relay chain: longer than the store keeps
    /// (`lessor_store::v6::binding::MAX_RELAY_CHAIN`).
    pub relay_chain_too_long: Counter,
    /// Relay identifiers (interface-id, remote-id, relay-id) not kept: longer than the store
    /// keeps.
    pub relay_field_too_long: Counter,
    /// IA options beyond the most one message is answered for ([`super::engine::MAX_IAS`]).
    pub ias_ignored: Counter,
    drops: [Counter; DropReason::ALL.len()],
}

impl Default for Counters {
    fn default() -> Self {
        Counters {
            advertises: Counter::default(),
            replies: Counter::default(),
            replies_durable: Counter::default(),
            commit_failed: Counter::default(),
            commit_taken: Counter::default(),
            requests_while_failing: Counter::default(),
            use_multicast: Counter::default(),
            rapid_commits: Counter::default(),
            no_addrs_avail: Counter::default(),
            no_prefix_avail: Counter::default(),
            no_binding: Counter::default(),
            not_on_link: Counter::default(),
            released: Counter::default(),
            declined: Counter::default(),
            expired: Counter::default(),
            adverts_forgotten: Counter::default(),
            relay_chain_too_long: Counter::default(),
            relay_field_too_long: Counter::default(),
            ias_ignored: Counter::default(),
            drops: std::array::from_fn(|_| Counter::default()),
        }
    }
}

impl Counters {
    /// Messages dropped for this reason.
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
        out("advertises", self.advertises.get());
        out("replies", self.replies.get());
        out("replies-durable", self.replies_durable.get());
        out("commit-failed", self.commit_failed.get());
        out("commit-taken", self.commit_taken.get());
        out("requests-while-failing", self.requests_while_failing.get());
        out("use-multicast", self.use_multicast.get());
        out("rapid-commits", self.rapid_commits.get());
        out("no-addrs-avail", self.no_addrs_avail.get());
        out("no-prefix-avail", self.no_prefix_avail.get());
        out("no-binding", self.no_binding.get());
        out("not-on-link", self.not_on_link.get());
        out("released", self.released.get());
        out("declined", self.declined.get());
        out("expired", self.expired.get());
        out("adverts-forgotten", self.adverts_forgotten.get());
        out("relay-chain-too-long", self.relay_chain_too_long.get());
        out("relay-field-too-long", self.relay_field_too_long.get());
        out("ias-ignored", self.ias_ignored.get());
        for reason in DropReason::ALL {
            out(&format!("dropped-{}", reason.name()), self.dropped(reason));
        }
    }
}
