//! What the DHCPv4 engine counts: messages forwarded each way, table changes, and drops by
//! reason (`lessor relay --show` prints them; docs/operator-guide.md explains each).

use lessor_wire::Error;

/// Why a datagram was not relayed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Drop4 {
    /// Not a DHCP message (short, bad cookie, broken options, bad option 82).
    Malformed(Error),
    /// op is neither BOOTREQUEST nor BOOTREPLY.
    NotBootp,
    /// A BOOTREQUEST that did not arrive on a downstream interface.
    NotDownstream,
    /// hops above `max-hops` (RFC 1542 §4.1.1).
    HopsExceeded,
    /// A BOOTREQUEST whose giaddr is one of ours: it went round.
    Loop,
    /// giaddr 0 with option 82 on an untrusted interface (RFC 3046 §2.1).
    Option82Untrusted,
    /// A BOOTREPLY on a downstream interface.
    ReplyFromDownstream,
    /// A BOOTREPLY from an address that is not a configured server.
    NotFromServer,
    /// A BOOTREPLY whose giaddr is not ours.
    NotOurGiaddr,
    /// A BOOTREPLY whose option 82 is not ours (another relay-id, an unknown circuit-id).
    NotOurOption82,
    /// A BOOTREPLY whose interface cannot be told (several share its giaddr, no circuit-id).
    NoInterface,
}

impl Drop4 {
    /// The reason's name in counters and logs.
    pub fn as_str(self) -> &'static str {
        match self {
            Drop4::Malformed(_) => "malformed",
            Drop4::NotBootp => "not-bootp",
            Drop4::NotDownstream => "request-not-downstream",
            Drop4::HopsExceeded => "hops-exceeded",
            Drop4::Loop => "loop",
            Drop4::Option82Untrusted => "option82-untrusted",
            Drop4::ReplyFromDownstream => "reply-from-downstream",
            Drop4::NotFromServer => "reply-not-from-server",
            Drop4::NotOurGiaddr => "reply-not-our-giaddr",
            Drop4::NotOurOption82 => "reply-not-our-option82",
            Drop4::NoInterface => "reply-no-interface",
        }
    }

    /// Every reason, in the order counters list them.
    pub const ALL: [Drop4; 11] = [
        Drop4::Malformed(Error::Truncated),
        Drop4::NotBootp,
        Drop4::NotDownstream,
        Drop4::HopsExceeded,
        Drop4::Loop,
        Drop4::Option82Untrusted,
        Drop4::ReplyFromDownstream,
        Drop4::NotFromServer,
        Drop4::NotOurGiaddr,
        Drop4::NotOurOption82,
        Drop4::NoInterface,
    ];

    /// The reason's place in [`Drop4::ALL`] (every malformed message shares one).
    fn slot(self) -> usize {
        match self {
            Drop4::Malformed(_) => 0,
            Drop4::NotBootp => 1,
            Drop4::NotDownstream => 2,
            Drop4::HopsExceeded => 3,
            Drop4::Loop => 4,
            Drop4::Option82Untrusted => 5,
            Drop4::ReplyFromDownstream => 6,
            Drop4::NotFromServer => 7,
            Drop4::NotOurGiaddr => 8,
            Drop4::NotOurOption82 => 9,
            Drop4::NoInterface => 10,
        }
    }
}

/// The DHCPv4 engine's counters.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Counters4 {
    /// Requests sent on to the servers (once per request, whatever the number of servers).
    pub requests_forwarded: u64,
    /// Replies delivered downstream.
    pub replies_forwarded: u64,
    /// Table entries merged from DHCPACKs.
    pub gleaned: u64,
    /// Table entries removed by DHCPNAK, DHCPRELEASE, DHCPDECLINE.
    pub removed: u64,
    /// Requests forwarded without option 82: it would have made them larger than
    /// [`super::MAX_MESSAGE`].
    pub too_long_for_option82: u64,
    dropped: [u64; Drop4::ALL.len()],
}

impl Counters4 {
    pub(super) fn drop(&mut self, reason: Drop4) {
        self.dropped[reason.slot()] += 1;
    }

    /// Drops by reason name, every reason listed.
    pub fn dropped(&self) -> impl Iterator<Item = (&'static str, u64)> + '_ {
        Drop4::ALL
            .iter()
            .zip(self.dropped)
            .map(|(d, n)| (d.as_str(), n))
    }

    /// Drops, all reasons.
    pub fn dropped_total(&self) -> u64 {
        self.dropped.iter().sum()
    }
}

#[cfg(test)]
mod tests {
    use super::Drop4;

    #[test]
    fn each_reason_counts_in_its_own_slot() {
        for (i, d) in Drop4::ALL.iter().enumerate() {
            assert_eq!(d.slot(), i, "{}", d.as_str());
        }
    }
}
