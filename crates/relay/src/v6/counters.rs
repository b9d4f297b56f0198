//! What the DHCPv6 relay engine did: messages each way, gleaning, and why anything was dropped.
//! Plain integers: the engine is driven by one thread, the shell reads them between datagrams.

/// Why a datagram was not relayed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Drop6 {
    /// Shorter than its header, options that run past their area, or a RELAY_MSG that holds no
    /// message.
    Malformed,
    /// A RELAY-FORW from a relay below that already went through HOP_COUNT_LIMIT relays
    /// (RFC 8415 §19.1.2).
    HopLimit,
    /// A message only servers send (ADVERTISE, REPLY, RECONFIGURE, RELAY-REPL, leasequery
    /// replies) arriving on a downstream interface.
    ServerMessageDownstream,
    /// A client's message or a RELAY-FORW arriving on an interface that is not downstream.
    NotDownstream,
    /// A RELAY-REPL from an address that is none of the configured unicast servers (when every
    /// server is unicast).
    NotFromServer,
    /// A RELAY-REPL without a RELAY_MSG.
    NoRelayMessage,
    /// A RELAY-REPL whose Interface-ID is none of ours.
    UnknownInterfaceId,
    /// A RELAY-REPL without Interface-ID whose link-address is none of ours.
    UnknownLinkAddress,
    /// A RELAY-REPL whose peer-address cannot be sent to (unspecified or multicast).
    BadPeerAddress,
    /// The RELAY-FORW would not fit: a RELAY_MSG body is at most 65,535 octets.
    TooLarge,
}

impl Drop6 {
    /// Every reason, for reports.
    pub const ALL: [Drop6; 10] = [
        Drop6::Malformed,
        Drop6::HopLimit,
        Drop6::ServerMessageDownstream,
        Drop6::NotDownstream,
        Drop6::NotFromServer,
        Drop6::NoRelayMessage,
        Drop6::UnknownInterfaceId,
        Drop6::UnknownLinkAddress,
        Drop6::BadPeerAddress,
        Drop6::TooLarge,
    ];

    /// A short stable name, for logs and metrics.
    pub fn name(self) -> &'static str {
        match self {
            Drop6::Malformed => "malformed",
            Drop6::HopLimit => "hop-limit",
            Drop6::ServerMessageDownstream => "server-message-downstream",
            Drop6::NotDownstream => "not-downstream",
            Drop6::NotFromServer => "not-from-server",
            Drop6::NoRelayMessage => "no-relay-message",
            Drop6::UnknownInterfaceId => "unknown-interface-id",
            Drop6::UnknownLinkAddress => "unknown-link-address",
            Drop6::BadPeerAddress => "bad-peer-address",
            Drop6::TooLarge => "too-large",
        }
    }
}

/// The engine's counters since it was made.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Counters6 {
    /// Datagrams handed to the engine.
    pub received: u64,
    /// Client messages and RELAY-FORWs wrapped in a RELAY-FORW of ours.
    pub forwarded: u64,
    /// RELAY-REPLs unwrapped and sent on downstream.
    pub replied: u64,
    /// Addresses and prefixes merged into the location table from a Reply (added or replaced).
    pub gleaned: u64,
    /// Gleaned entries the table already held with a more recent CLTT.
    pub glean_kept: u64,
    /// Entries removed: lifetime 0 in a Reply, or a Reply to a RELEASE or DECLINE.
    pub removed: u64,
    /// Replies relayed but not gleaned from, because they did not parse as a whole.
    pub unparsed_replies: u64,
    /// RELEASE / DECLINE remembered until their Reply, forgotten unanswered (expired or pushed
    /// out by newer ones).
    pub pending_lapsed: u64,
    dropped: [u64; Drop6::ALL.len()],
}

impl Counters6 {
    /// Datagrams dropped for `reason`.
    pub fn dropped(&self, reason: Drop6) -> u64 {
        self.dropped[reason as usize]
    }

    /// Datagrams dropped for any reason.
    pub fn dropped_total(&self) -> u64 {
        self.dropped.iter().sum()
    }

    /// Every reason with its count, in [`Drop6::ALL`] order.
    pub fn drops(&self) -> impl Iterator<Item = (Drop6, u64)> + '_ {
        Drop6::ALL.iter().map(|&r| (r, self.dropped(r)))
    }

    pub(crate) fn drop(&mut self, reason: Drop6) {
        self.dropped[reason as usize] += 1;
    }
}
