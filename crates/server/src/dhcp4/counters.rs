//! Per-message statistics of the DHCPv4 engine: what it sent and why anything was dropped (what
//! arrived is the router's to count). Atomics, because a DHCPACK is counted on the store's writer
//! thread, once its binding is durable.

pub use crate::stats::Counter;
use crate::stats::Report;
use lessor_wire::v4::MessageType;

/// Why a message got no reply. Protocol outcomes that need no reply by design (a DHCPRELEASE
/// or DHCPDECLINE that was applied) are not drops.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DropReason {
    /// Options the router's look did not reach that do not parse (a bad option 82).
    Malformed,
    /// Relayed from a giaddr outside `dhcp4.relays`.
    RelayNotAllowed,
    /// Sent directly on an interface the config does not serve.
    InterfaceNotServed,
    /// No configured subnet contains the selecting address.
    NoSubnet,
    /// Nothing left to offer.
    PoolExhausted,
    /// Meant for another server (server identifier), or the client chose another server.
    NotForUs,
    /// DHCPREQUEST from a client the server has no record of (RFC 2131 §4.3.2: stay silent).
    UnknownClient,
    /// DHCPRELEASE / DHCPDECLINE for an address this client does not hold.
    NotClientsBinding,
    /// The store could not take the binding (a field too long for it).
    StoreRejected,
    /// The reply could not be encoded (within the client's maximum message size, once every
    /// option that may be left out was).
    EncodeFailed,
    /// Over the client's rate limit (`[dhcp4.rate-limit] per-client`).
    RateLimitedClient,
    /// Over the circuit's rate limit (`per-circuit`: giaddr and circuit-id).
    RateLimitedCircuit,
    /// Over the relay's rate limit (`per-relay`: giaddr, a served interface, or the subnet of a
    /// client unicasting from its address).
    RateLimitedRelay,
    /// Unicast from outside a served interface (a client with an address) whose source is
    /// neither in a configured subnet nor a configured relay.
    UnicastNotServed,
    /// A client identifier or option 82 longer than one option carries (255 octets): the
    /// server neither keeps nor echoes it (docs/protocol.md decision 11).
    FieldTooLong,
    /// A DHCPDISCOVER while the store cannot commit (fail closed: an offer whose DHCPACK could
    /// not be made durable is not made).
    StoreFailing,
    /// A DHCPDISCOVER while the store's queue is long (back-pressure: new clients wait, the
    /// clients already offered an address get their DHCPACK).
    StoreBacklog,
    /// A DHCPDISCOVER whose chosen address another server's binding reached (through the
    /// shared store's feed) while the offer was being made, several times in a row
    /// (docs/protocol.md decision 43): the client's retransmission is answered.
    Raced,
    /// Nothing to offer but addresses of a quarantined subnet (unreadable store rows at start).
    Quarantined,
}

impl DropReason {
    /// Every reason, for reports.
    pub const ALL: [DropReason; 19] = [
        DropReason::Malformed,
        DropReason::RelayNotAllowed,
        DropReason::InterfaceNotServed,
        DropReason::NoSubnet,
        DropReason::PoolExhausted,
        DropReason::NotForUs,
        DropReason::UnknownClient,
        DropReason::NotClientsBinding,
        DropReason::StoreRejected,
        DropReason::EncodeFailed,
        DropReason::RateLimitedClient,
        DropReason::RateLimitedCircuit,
        DropReason::RateLimitedRelay,
        DropReason::UnicastNotServed,
        DropReason::FieldTooLong,
        DropReason::StoreFailing,
        DropReason::StoreBacklog,
        DropReason::Raced,
        DropReason::Quarantined,
    ];

    /// A short stable name, for logs and metrics.
    pub fn name(self) -> &'static str {
        match self {
            DropReason::Malformed => "malformed",
            DropReason::RelayNotAllowed => "relay-not-allowed",
            DropReason::InterfaceNotServed => "interface-not-served",
            DropReason::NoSubnet => "no-subnet",
            DropReason::PoolExhausted => "pool-exhausted",
            DropReason::NotForUs => "not-for-us",
            DropReason::UnknownClient => "unknown-client",
            DropReason::NotClientsBinding => "not-clients-binding",
            DropReason::StoreRejected => "store-rejected",
            DropReason::EncodeFailed => "encode-failed",
            DropReason::RateLimitedClient => "rate-limited-client",
            DropReason::RateLimitedCircuit => "rate-limited-circuit",
            DropReason::RateLimitedRelay => "rate-limited-relay",
            DropReason::UnicastNotServed => "unicast-not-served",
            DropReason::FieldTooLong => "field-too-long",
            DropReason::StoreFailing => "store-failing",
            DropReason::StoreBacklog => "store-backlog",
            DropReason::Raced => "raced",
            DropReason::Quarantined => "quarantined",
        }
    }

    /// Whether the operator should hear of it in the log ([`super::drops`]): a limit or a
    /// refusal that protects the server, not the ordinary outcomes of the protocol (a client
    /// that chose another server, an unknown client's DHCPREQUEST).
    pub fn is_warning(self) -> bool {
        matches!(
            self,
            DropReason::RateLimitedClient
                | DropReason::RateLimitedCircuit
                | DropReason::RateLimitedRelay
                | DropReason::UnicastNotServed
                | DropReason::FieldTooLong
                | DropReason::RelayNotAllowed
                | DropReason::EncodeFailed
        )
    }
}

/// The engine's counters.
#[derive(Debug)]
pub struct Counters {
    /// DHCPOFFER sent.
    pub offers: Counter,
    /// DHCPACK sent (for a DHCPREQUEST: once its binding is durable; for a DHCPINFORM: at once).
    pub acks: Counter,
    /// DHCPNAK sent.
    pub naks: Counter,
    /// DHCPACKs not sent because their binding's commit failed.
    pub commit_failed: Counter,
    /// Replies not sent because another server sharing the lease set changed one of their
    /// bindings first (the commit was refused: [`lessor_store::StoreError::Taken`]); the
    /// client's retransmission is answered from that server's binding.
    pub commit_taken: Counter,
    /// DHCPREQUESTs handled while the store could not commit (their DHCPACK leaves only if
    /// the commit succeeds after all).
    pub requests_while_failing: Counter,
    drops: [Counter; DropReason::ALL.len()],
    /// Bindings moved from Active to Expired by [`super::Engine4::tick`].
    pub expired: Counter,
    /// Offers forgotten (timed out, or the client chose another server).
    pub offers_forgotten: Counter,
    /// DHCPRELEASEs applied (no reply is due; one whose commit fails counts in `commit_failed`
    /// too).
    pub released: Counter,
    /// DHCPDECLINEs applied (as for `released`).
    pub declined: Counter,
    /// Subnet selection (118) or link selection (82.5) in a direct client's message, not
    /// honoured (docs/protocol.md decision 10).
    pub selection_ignored: Counter,
    /// Host names or vendor classes kept shortened to 255 octets (docs/protocol.md decision 11).
    pub fields_truncated: Counter,
    /// Options left out of replies to fit the client's maximum message size (decision 12).
    pub options_omitted: Counter,
}

impl Default for Counters {
    fn default() -> Self {
        Counters {
            offers: Counter::default(),
            acks: Counter::default(),
            naks: Counter::default(),
            commit_failed: Counter::default(),
            commit_taken: Counter::default(),
            requests_while_failing: Counter::default(),
            drops: std::array::from_fn(|_| Counter::default()),
            expired: Counter::default(),
            offers_forgotten: Counter::default(),
            released: Counter::default(),
            declined: Counter::default(),
            selection_ignored: Counter::default(),
            fields_truncated: Counter::default(),
            options_omitted: Counter::default(),
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

    pub(crate) fn count_sent(&self, t: MessageType) {
        match t {
            MessageType::Offer => self.offers.add(),
            MessageType::Ack => self.acks.add(),
            MessageType::Nak => self.naks.add(),
            _ => {}
        }
    }
}

impl Report for Counters {
    fn report(&self, out: &mut dyn FnMut(&str, u64)) {
        out("offers", self.offers.get());
        out("acks", self.acks.get());
        out("naks", self.naks.get());
        out("commit-failed", self.commit_failed.get());
        out("commit-taken", self.commit_taken.get());
        out("requests-while-failing", self.requests_while_failing.get());
        out("expired", self.expired.get());
        out("offers-forgotten", self.offers_forgotten.get());
        out("selection-ignored", self.selection_ignored.get());
        out("fields-truncated", self.fields_truncated.get());
        out("options-omitted", self.options_omitted.get());
        // Last but the drops: with them every message the router hands the engine is counted
        // once (offers, acks, naks, commit-failed, released, declined, dropped-*).
        out("released", self.released.get());
        out("declined", self.declined.get());
        for reason in DropReason::ALL {
            out(&format!("dropped-{}", reason.name()), self.dropped(reason));
        }
    }
}
