//! DHCPv6 option codes, named as the RFCs that assign them name them.
//!
//! Only the codes this crate types (see [`super::DhcpOption`]) plus a few common ones are listed;
//! every other code is still carried, as [`super::DhcpOption::Other`].

/// Client Identifier: the client's DUID (RFC 8415 §21.2).
pub const OPTION_CLIENTID: u16 = 1;
/// Server Identifier: the server's DUID (RFC 8415 §21.3).
pub const OPTION_SERVERID: u16 = 2;
/// Identity Association for Non-temporary Addresses (RFC 8415 §21.4).
pub const OPTION_IA_NA: u16 = 3;
/// Identity Association for Temporary Addresses (RFC 8415 §21.5).
pub const OPTION_IA_TA: u16 = 4;
/// IA Address (RFC 8415 §21.6).
pub const OPTION_IAADDR: u16 = 5;
/// Option Request (RFC 8415 §21.7).
pub const OPTION_ORO: u16 = 6;
/// Preference (RFC 8415 §21.8).
pub const OPTION_PREFERENCE: u16 = 7;
/// Elapsed Time (RFC 8415 §21.9).
pub const OPTION_ELAPSED_TIME: u16 = 8;
/// Relay Message: the message a relay forwards or the server answers (RFC 8415 §21.10).
pub const OPTION_RELAY_MSG: u16 = 9;
/// Authentication (RFC 8415 §21.11).
pub const OPTION_AUTH: u16 = 11;
/// Server Unicast (RFC 8415 §21.12).
pub const OPTION_UNICAST: u16 = 12;
/// Status Code (RFC 8415 §21.13).
pub const OPTION_STATUS_CODE: u16 = 13;
/// Rapid Commit (RFC 8415 §21.14).
pub const OPTION_RAPID_COMMIT: u16 = 14;
/// User Class (RFC 8415 §21.15).
pub const OPTION_USER_CLASS: u16 = 15;
/// Vendor Class (RFC 8415 §21.16).
pub const OPTION_VENDOR_CLASS: u16 = 16;
/// Vendor-specific Information (RFC 8415 §21.17).
pub const OPTION_VENDOR_OPTS: u16 = 17;
/// Interface-Id, opaque to the server, set by a relay (RFC 8415 §21.18).
pub const OPTION_INTERFACE_ID: u16 = 18;
/// Reconfigure Message (RFC 8415 §21.19).
pub const OPTION_RECONF_MSG: u16 = 19;
/// Reconfigure Accept (RFC 8415 §21.20).
pub const OPTION_RECONF_ACCEPT: u16 = 20;
/// DNS recursive name servers (RFC 3646).
pub const OPTION_DNS_SERVERS: u16 = 23;
/// Domain search list (RFC 3646).
pub const OPTION_DOMAIN_LIST: u16 = 24;
/// Identity Association for Prefix Delegation (RFC 8415 §21.21).
pub const OPTION_IA_PD: u16 = 25;
/// IA Prefix (RFC 8415 §21.22).
pub const OPTION_IAPREFIX: u16 = 26;
/// Relay Agent Remote-ID (RFC 4649).
pub const OPTION_REMOTE_ID: u16 = 37;
/// Relay Agent Subscriber-ID (RFC 4580).
pub const OPTION_SUBSCRIBER_ID: u16 = 38;
/// Leasequery query (RFC 5007 §4.1.2.1).
pub const OPTION_LQ_QUERY: u16 = 44;
/// Leasequery client data (RFC 5007 §4.1.2.2).
pub const OPTION_CLIENT_DATA: u16 = 45;
/// Client last transaction time (RFC 5007 §4.1.2.3).
pub const OPTION_CLT_TIME: u16 = 46;
/// Leasequery relay data (RFC 5007 §4.1.2.4).
pub const OPTION_LQ_RELAY_DATA: u16 = 47;
/// Leasequery client links (RFC 5007 §4.1.2.5).
pub const OPTION_LQ_CLIENT_LINK: u16 = 48;
/// Relay-ID: the relay agent's DUID (RFC 5460 §5.4.1).
pub const OPTION_RELAY_ID: u16 = 53;
/// Leasequery base time (RFC 7653).
pub const OPTION_LQ_BASE_TIME: u16 = 100;
/// Leasequery start time (RFC 7653).
pub const OPTION_LQ_START_TIME: u16 = 101;
/// Leasequery end time (RFC 7653).
pub const OPTION_LQ_END_TIME: u16 = 102;
