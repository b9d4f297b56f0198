//! DHCPv4 option codes, named as the RFCs that assign them name the options.
//!
//! Only the codes Lessor reads or writes are listed; any other code still travels through
//! the codecs untouched (as [`super::DhcpOption::Other`]).

/// Pad (RFC 2132 §3.1): a single octet with no length, skipped when reading.
pub const PAD: u8 = 0;
/// Subnet Mask (RFC 2132 §3.3).
pub const SUBNET_MASK: u8 = 1;
/// Router (RFC 2132 §3.5).
pub const ROUTER: u8 = 3;
/// Domain Name Server (RFC 2132 §3.8).
pub const DOMAIN_NAME_SERVER: u8 = 6;
/// Host Name (RFC 2132 §3.14).
pub const HOST_NAME: u8 = 12;
/// Domain Name (RFC 2132 §3.17).
pub const DOMAIN_NAME: u8 = 15;
/// Requested IP Address (RFC 2132 §9.1).
pub const REQUESTED_IP_ADDRESS: u8 = 50;
/// IP Address Lease Time (RFC 2132 §9.2).
pub const IP_ADDRESS_LEASE_TIME: u8 = 51;
/// Option Overload (RFC 2132 §9.3): options continue in `file` and/or `sname`.
pub const OPTION_OVERLOAD: u8 = 52;
/// DHCP Message Type (RFC 2132 §9.6).
pub const DHCP_MESSAGE_TYPE: u8 = 53;
/// Server Identifier (RFC 2132 §9.7).
pub const SERVER_IDENTIFIER: u8 = 54;
/// Parameter Request List (RFC 2132 §9.8).
pub const PARAMETER_REQUEST_LIST: u8 = 55;
/// Message (RFC 2132 §9.9).
pub const MESSAGE: u8 = 56;
/// Maximum DHCP Message Size (RFC 2132 §9.10).
pub const MAXIMUM_DHCP_MESSAGE_SIZE: u8 = 57;
/// Renewal (T1) Time Value (RFC 2132 §9.11).
pub const RENEWAL_TIME_VALUE: u8 = 58;
/// Rebinding (T2) Time Value (RFC 2132 §9.12).
pub const REBINDING_TIME_VALUE: u8 = 59;
/// Vendor class identifier (RFC 2132 §9.13).
pub const VENDOR_CLASS_IDENTIFIER: u8 = 60;
/// Client-identifier (RFC 2132 §9.14).
pub const CLIENT_IDENTIFIER: u8 = 61;
/// Relay Agent Information (RFC 3046).
pub const RELAY_AGENT_INFORMATION: u8 = 82;
/// client-last-transaction-time (RFC 4388 §6.1).
pub const CLIENT_LAST_TRANSACTION_TIME: u8 = 91;
/// associated-ip (RFC 4388 §6.1).
pub const ASSOCIATED_IP: u8 = 92;
/// Subnet Selection (RFC 3011).
pub const SUBNET_SELECTION: u8 = 118;
/// status-code (RFC 6926 §6.2.2; also the bulk draft's STATUS_CODE, docs/protocol.md decision 2).
pub const STATUS_CODE: u8 = 151;
/// base-time (RFC 6926 §6.2.3).
pub const BASE_TIME: u8 = 152;
/// start-time-of-state (RFC 6926 §6.2.4).
pub const START_TIME_OF_STATE: u8 = 153;
/// query-start-time (RFC 6926 §6.2.5).
pub const QUERY_START_TIME: u8 = 154;
/// query-end-time (RFC 6926 §6.2.6).
pub const QUERY_END_TIME: u8 = 155;
/// dhcp-state (RFC 6926 §6.2.7).
pub const DHCP_STATE: u8 = 156;
/// data-source (RFC 6926 §6.2.8).
pub const DATA_SOURCE: u8 = 157;
/// End (RFC 2132 §3.2): terminates an options area.
pub const END: u8 = 255;

/// Sub-option codes of the Relay Agent Information option (82).
pub mod relay {
    /// Agent Circuit ID (RFC 3046 §3.1).
    pub const AGENT_CIRCUIT_ID: u8 = 1;
    /// Agent Remote ID (RFC 3046 §3.2).
    pub const AGENT_REMOTE_ID: u8 = 2;
    /// Link Selection (RFC 3527).
    pub const LINK_SELECTION: u8 = 5;
    /// Subscriber-ID (RFC 3993).
    pub const SUBSCRIBER_ID: u8 = 6;
    /// Vendor-Specific Information (RFC 4243).
    pub const VENDOR_SPECIFIC: u8 = 9;
    /// Server Identifier Override (RFC 5107).
    pub const SERVER_IDENTIFIER_OVERRIDE: u8 = 11;
    /// Relay Agent Identifier, relay-id (RFC 6925).
    pub const RELAY_ID: u8 = 12;

    /// The name of each sub-option above, as Lessor prints it (`lessor decode`, `lessor leases
    /// show`) and takes it on the command line.
    pub const NAMES: [(u8, &str); 7] = [
        (AGENT_CIRCUIT_ID, "circuit-id"),
        (AGENT_REMOTE_ID, "remote-id"),
        (LINK_SELECTION, "link-selection"),
        (SUBSCRIBER_ID, "subscriber-id"),
        (VENDOR_SPECIFIC, "vendor-specific"),
        (SERVER_IDENTIFIER_OVERRIDE, "server-identifier-override"),
        (RELAY_ID, "relay-id"),
    ];

    /// The name of sub-option `code` in [`NAMES`], if it has one.
    pub fn name(code: u8) -> Option<&'static str> {
        NAMES.iter().find(|(c, _)| *c == code).map(|(_, n)| *n)
    }

    /// The code of the sub-option named `name` in [`NAMES`].
    pub fn by_name(name: &str) -> Option<u8> {
        NAMES.iter().find(|(_, n)| *n == name).map(|(c, _)| *c)
    }

    #[cfg(test)]
    mod tests {
        use super::*;

        #[test]
        fn names_are_unique_and_round_trip() {
            for (code, name) in NAMES {
                assert_eq!(super::name(code), Some(name));
                assert_eq!(by_name(name), Some(code));
            }
            assert_eq!(name(RELAY_ID), Some("relay-id"));
            assert_eq!(name(200), None);
        }
    }
}
