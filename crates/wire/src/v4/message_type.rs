//! The DHCP Message Type (option 53) values, RFC 2132 §9.6 and the leasequery RFCs.

/// Value of the DHCP Message Type option (53).
///
/// Values the protocol documents do not define are kept as `Unknown` so a message can still be
/// parsed, logged and (if policy allows) ignored rather than rejected as malformed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MessageType {
    /// DHCPDISCOVER (1).
    Discover,
    /// DHCPOFFER (2).
    Offer,
    /// DHCPREQUEST (3).
    Request,
    /// DHCPDECLINE (4).
    Decline,
    /// DHCPACK (5).
    Ack,
    /// DHCPNAK (6).
    Nak,
    /// DHCPRELEASE (7).
    Release,
    /// DHCPINFORM (8).
    Inform,
    /// DHCPFORCERENEW (9, RFC 3203).
    ForceRenew,
    /// DHCPLEASEQUERY (10, RFC 4388).
    LeaseQuery,
    /// DHCPLEASEUNASSIGNED (11, RFC 4388).
    LeaseUnassigned,
    /// DHCPLEASEUNKNOWN (12, RFC 4388).
    LeaseUnknown,
    /// DHCPLEASEACTIVE (13, RFC 4388).
    LeaseActive,
    /// DHCPBULKLEASEQUERY (14, RFC 6926).
    BulkLeaseQuery,
    /// DHCPLEASEQUERYDONE (15, RFC 6926; the bulk draft's DHCPLEASEDONE, docs/protocol.md decision 2).
    LeaseQueryDone,
    /// DHCPACTIVELEASEQUERY (16, RFC 7724).
    ActiveLeaseQuery,
    /// DHCPLEASEQUERYSTATUS (17, RFC 7724; the bulk draft's DHCPLEASEQUERYFAIL).
    LeaseQueryStatus,
    /// DHCPTLS (18, RFC 7724).
    Tls,
    /// DHCPLEASEDATA of the bulk draft (19: Lessor's value, docs/protocol.md decision 2).
    LeaseData,
    /// Any other value, kept as received.
    Unknown(u8),
}

impl From<u8> for MessageType {
    fn from(v: u8) -> Self {
        use MessageType::*;
        match v {
            1 => Discover,
            2 => Offer,
            3 => Request,
            4 => Decline,
            5 => Ack,
            6 => Nak,
            7 => Release,
            8 => Inform,
            9 => ForceRenew,
            10 => LeaseQuery,
            11 => LeaseUnassigned,
            12 => LeaseUnknown,
            13 => LeaseActive,
            14 => BulkLeaseQuery,
            15 => LeaseQueryDone,
            16 => ActiveLeaseQuery,
            17 => LeaseQueryStatus,
            18 => Tls,
            19 => LeaseData,
            other => Unknown(other),
        }
    }
}

impl core::fmt::Display for MessageType {
    /// The name the RFCs use (DHCPLEASEACTIVE, ...); unknown values as `DHCP message type N`.
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        use MessageType::*;
        let name = match self {
            Discover => "DHCPDISCOVER",
            Offer => "DHCPOFFER",
            Request => "DHCPREQUEST",
            Decline => "DHCPDECLINE",
            Ack => "DHCPACK",
            Nak => "DHCPNAK",
            Release => "DHCPRELEASE",
            Inform => "DHCPINFORM",
            ForceRenew => "DHCPFORCERENEW",
            LeaseQuery => "DHCPLEASEQUERY",
            LeaseUnassigned => "DHCPLEASEUNASSIGNED",
            LeaseUnknown => "DHCPLEASEUNKNOWN",
            LeaseActive => "DHCPLEASEACTIVE",
            BulkLeaseQuery => "DHCPBULKLEASEQUERY",
            LeaseQueryDone => "DHCPLEASEQUERYDONE",
            ActiveLeaseQuery => "DHCPACTIVELEASEQUERY",
            LeaseQueryStatus => "DHCPLEASEQUERYSTATUS",
            Tls => "DHCPTLS",
            LeaseData => "DHCPLEASEDATA",
            Unknown(v) => return write!(f, "DHCP message type {v}"),
        };
        f.write_str(name)
    }
}

impl From<MessageType> for u8 {
    fn from(t: MessageType) -> u8 {
        use MessageType::*;
        match t {
            Discover => 1,
            Offer => 2,
            Request => 3,
            Decline => 4,
            Ack => 5,
            Nak => 6,
            Release => 7,
            Inform => 8,
            ForceRenew => 9,
            LeaseQuery => 10,
            LeaseUnassigned => 11,
            LeaseUnknown => 12,
            LeaseActive => 13,
            BulkLeaseQuery => 14,
            LeaseQueryDone => 15,
            ActiveLeaseQuery => 16,
            LeaseQueryStatus => 17,
            Tls => 18,
            LeaseData => 19,
            Unknown(v) => v,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_value_round_trips() {
        for v in 0..=255u8 {
            assert_eq!(u8::from(MessageType::from(v)), v);
        }
    }

    #[test]
    fn known_values_are_named() {
        for v in 1..=19u8 {
            assert!(!matches!(MessageType::from(v), MessageType::Unknown(_)));
        }
        assert_eq!(MessageType::from(10), MessageType::LeaseQuery);
        assert_eq!(MessageType::from(19), MessageType::LeaseData);
        assert_eq!(MessageType::from(0), MessageType::Unknown(0));
        assert_eq!(MessageType::from(20), MessageType::Unknown(20));
    }
}
