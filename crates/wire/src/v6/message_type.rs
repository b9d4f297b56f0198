//! DHCPv6 message types (RFC 8415 §7.3, RFC 5007, RFC 5460, RFC 7653).

/// The msg-type octet that starts every DHCPv6 message.
///
/// Values this crate does not name are kept as [`MessageType::Unknown`] so a message of a newer
/// type still parses (RFC 8415 §16: unknown types are discarded by the *receiver*, not the codec).
/// `From<u8>` never produces `Unknown` for a named value, so the mapping is a bijection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum MessageType {
    /// SOLICIT (1): a client locates servers.
    Solicit,
    /// ADVERTISE (2): a server offers to serve.
    Advertise,
    /// REQUEST (3): a client requests configuration.
    Request,
    /// CONFIRM (4): a client checks its addresses are still on-link.
    Confirm,
    /// RENEW (5): a client extends leases with the server that granted them.
    Renew,
    /// REBIND (6): a client extends leases with any server.
    Rebind,
    /// REPLY (7): a server answers.
    Reply,
    /// RELEASE (8): a client gives leases back.
    Release,
    /// DECLINE (9): a client reports addresses already in use.
    Decline,
    /// RECONFIGURE (10): a server asks a client to renew or rebind.
    Reconfigure,
    /// INFORMATION-REQUEST (11): a client asks for configuration without leases.
    InformationRequest,
    /// RELAY-FORW (12): a relay agent forwards a message toward servers (relay format).
    RelayForw,
    /// RELAY-REPL (13): a server answers through relay agents (relay format).
    RelayRepl,
    /// LEASEQUERY (14, RFC 5007).
    Leasequery,
    /// LEASEQUERY-REPLY (15, RFC 5007).
    LeasequeryReply,
    /// LEASEQUERY-DONE (16, RFC 5460): end of a bulk leasequery answer.
    LeasequeryDone,
    /// LEASEQUERY-DATA (17, RFC 5460): one more binding of a bulk leasequery answer.
    LeasequeryData,
    /// ACTIVELEASEQUERY (22, RFC 7653).
    ActiveLeasequery,
    /// STARTTLS (23, RFC 7653).
    StartTls,
    /// Any other value, kept as received.
    Unknown(u8),
}

impl MessageType {
    /// Whether the message uses the relay agent/server format (RFC 8415 §9): hop-count,
    /// link-address and peer-address instead of a transaction-id.
    pub fn is_relay(self) -> bool {
        matches!(self, MessageType::RelayForw | MessageType::RelayRepl)
    }
}

/// The RFC name (e.g. `LEASEQUERY-REPLY`), or `UNKNOWN(n)`.
impl core::fmt::Display for MessageType {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        let name = match self {
            MessageType::Solicit => "SOLICIT",
            MessageType::Advertise => "ADVERTISE",
            MessageType::Request => "REQUEST",
            MessageType::Confirm => "CONFIRM",
            MessageType::Renew => "RENEW",
            MessageType::Rebind => "REBIND",
            MessageType::Reply => "REPLY",
            MessageType::Release => "RELEASE",
            MessageType::Decline => "DECLINE",
            MessageType::Reconfigure => "RECONFIGURE",
            MessageType::InformationRequest => "INFORMATION-REQUEST",
            MessageType::RelayForw => "RELAY-FORW",
            MessageType::RelayRepl => "RELAY-REPL",
            MessageType::Leasequery => "LEASEQUERY",
            MessageType::LeasequeryReply => "LEASEQUERY-REPLY",
            MessageType::LeasequeryDone => "LEASEQUERY-DONE",
            MessageType::LeasequeryData => "LEASEQUERY-DATA",
            MessageType::ActiveLeasequery => "ACTIVELEASEQUERY",
            MessageType::StartTls => "STARTTLS",
            MessageType::Unknown(n) => return write!(f, "UNKNOWN({n})"),
        };
        f.write_str(name)
    }
}

impl From<u8> for MessageType {
    fn from(value: u8) -> Self {
        match value {
            1 => MessageType::Solicit,
            2 => MessageType::Advertise,
            3 => MessageType::Request,
            4 => MessageType::Confirm,
            5 => MessageType::Renew,
            6 => MessageType::Rebind,
            7 => MessageType::Reply,
            8 => MessageType::Release,
            9 => MessageType::Decline,
            10 => MessageType::Reconfigure,
            11 => MessageType::InformationRequest,
            12 => MessageType::RelayForw,
            13 => MessageType::RelayRepl,
            14 => MessageType::Leasequery,
            15 => MessageType::LeasequeryReply,
            16 => MessageType::LeasequeryDone,
            17 => MessageType::LeasequeryData,
            22 => MessageType::ActiveLeasequery,
            23 => MessageType::StartTls,
            other => MessageType::Unknown(other),
        }
    }
}

impl From<MessageType> for u8 {
    fn from(value: MessageType) -> Self {
        match value {
            MessageType::Solicit => 1,
            MessageType::Advertise => 2,
            MessageType::Request => 3,
            MessageType::Confirm => 4,
            MessageType::Renew => 5,
            MessageType::Rebind => 6,
            MessageType::Reply => 7,
            MessageType::Release => 8,
            MessageType::Decline => 9,
            MessageType::Reconfigure => 10,
            MessageType::InformationRequest => 11,
            MessageType::RelayForw => 12,
            MessageType::RelayRepl => 13,
            MessageType::Leasequery => 14,
            MessageType::LeasequeryReply => 15,
            MessageType::LeasequeryDone => 16,
            MessageType::LeasequeryData => 17,
            MessageType::ActiveLeasequery => 22,
            MessageType::StartTls => 23,
            MessageType::Unknown(other) => other,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_octet_roundtrips() {
        for v in 0..=u8::MAX {
            assert_eq!(u8::from(MessageType::from(v)), v);
        }
    }

    #[test]
    fn named_values_are_not_unknown() {
        for v in (1..=17).chain(22..=23) {
            assert!(
                !matches!(MessageType::from(v), MessageType::Unknown(_)),
                "{v}"
            );
        }
        assert_eq!(MessageType::from(18), MessageType::Unknown(18));
        assert_eq!(MessageType::from(14), MessageType::Leasequery);
        assert_eq!(MessageType::from(23), MessageType::StartTls);
        assert_eq!(MessageType::from(15).to_string(), "LEASEQUERY-REPLY");
        assert_eq!(MessageType::from(99).to_string(), "UNKNOWN(99)");
    }

    #[test]
    fn only_relay_forw_and_repl_are_relay_format() {
        for v in 0..=u8::MAX {
            assert_eq!(MessageType::from(v).is_relay(), v == 12 || v == 13);
        }
    }
}
