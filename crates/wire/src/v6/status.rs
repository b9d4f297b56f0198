//! Status codes carried in OPTION_STATUS_CODE (RFC 8415 §21.13, RFC 5007, RFC 5460, RFC 7653).
//!
//! Kept as plain `u16` constants: the field is 16 bits on the wire and new codes appear in new
//! RFCs, so a closed enum would only get in the way of echoing what a peer sent.

/// Success.
pub const SUCCESS: u16 = 0;
/// Failure, reason unspecified.
pub const UNSPEC_FAIL: u16 = 1;
/// The server has no addresses available to assign to the IA(s).
pub const NO_ADDRS_AVAIL: u16 = 2;
/// Client record (binding) unavailable.
pub const NO_BINDING: u16 = 3;
/// The prefix for the address is not appropriate for the link to which the client is attached.
pub const NOT_ON_LINK: u16 = 4;
/// Sent by a server to force the client to use the All_DHCP_Relay_Agents_and_Servers address.
pub const USE_MULTICAST: u16 = 5;
/// The server has no prefixes available to assign to the IA_PD(s).
pub const NO_PREFIX_AVAIL: u16 = 6;
/// The query-type is unknown to or not supported by the server (RFC 5007).
pub const UNKNOWN_QUERY_TYPE: u16 = 7;
/// The query is not valid, e.g. a required query-option is missing (RFC 5007).
pub const MALFORMED_QUERY: u16 = 8;
/// The server does not have the target address or link in its configuration (RFC 5007).
pub const NOT_CONFIGURED: u16 = 9;
/// The server does not allow the requestor to issue this leasequery (RFC 5007).
pub const NOT_ALLOWED: u16 = 10;
/// The server terminated the bulk leasequery (RFC 5460).
pub const QUERY_TERMINATED: u16 = 11;
/// The server is missing data needed to answer an active leasequery (RFC 7653).
pub const DATA_MISSING: u16 = 12;
/// The catch-up phase of an active leasequery is complete (RFC 7653).
pub const CATCH_UP_COMPLETE: u16 = 13;
/// The server does not support active leasequery (RFC 7653).
pub const NOT_SUPPORTED: u16 = 14;
/// The server refused to set up TLS on the connection (RFC 7653).
pub const TLS_CONNECTION_REFUSED: u16 = 15;

/// The registered name of a status code, for logs; `None` for codes this crate does not know.
pub fn name(code: u16) -> Option<&'static str> {
    Some(match code {
        SUCCESS => "Success",
        UNSPEC_FAIL => "UnspecFail",
        NO_ADDRS_AVAIL => "NoAddrsAvail",
        NO_BINDING => "NoBinding",
        NOT_ON_LINK => "NotOnLink",
        USE_MULTICAST => "UseMulticast",
        NO_PREFIX_AVAIL => "NoPrefixAvail",
        UNKNOWN_QUERY_TYPE => "UnknownQueryType",
        MALFORMED_QUERY => "MalformedQuery",
        NOT_CONFIGURED => "NotConfigured",
        NOT_ALLOWED => "NotAllowed",
        QUERY_TERMINATED => "QueryTerminated",
        DATA_MISSING => "DataMissing",
        CATCH_UP_COMPLETE => "CatchUpComplete",
        NOT_SUPPORTED => "NotSupported",
        TLS_CONNECTION_REFUSED => "TLSConnectionRefused",
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        assert_eq!(name(SUCCESS), Some("Success"));
        assert_eq!(name(NOT_ALLOWED), Some("NotAllowed"));
        assert_eq!(name(TLS_CONNECTION_REFUSED), Some("TLSConnectionRefused"));
        assert_eq!(name(16), None);
        for code in 0..=15 {
            assert!(name(code).is_some(), "{code}");
        }
    }
}
