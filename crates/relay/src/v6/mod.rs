//! The DHCPv6 relay agent (RFC 8415 §19), sans-IO: client messages and relays' RELAY-FORWs from
//! downstream interfaces go to the servers wrapped in a RELAY-FORW carrying Interface-ID (18),
//! Remote-Id (37, RFC 4649) and Relay-Id (53, RFC 5460 §5.4.1); RELAY-REPLs from the servers
//! are unwrapped one level and sent down the interface their Interface-ID (or link-address)
//! names; Replies on their way down are gleaned into the [`crate::location`] table.
//!
//! - [`Settings6`]: what the configuration fills ([`Downstream6`], [`Server6`], [`Insert6`]).
//! - [`Relay6`]: the engine; [`Relay6::handle`] takes a datagram and returns [`Transmit6`]s.
//! - [`Counters6`]: what it did, drops by [`Drop6`] reason.
//!
//! Choices where the RFCs leave room: docs/protocol.md decision 31.

mod counters;
mod engine;
mod glean;
mod pending;
mod settings;
#[cfg(test)]
mod tests;

use std::net::Ipv6Addr;

pub use counters::{Counters6, Drop6};
pub use engine::{Relay6, Transmit6};
pub use pending::{MAX_PENDING, MAX_RESOURCES, PENDING_MS};
pub(crate) use settings::is_global_unicast;
pub use settings::{
    Downstream6, Insert6, RemoteId6, Server6, Settings6, SettingsError6, MAX_ID_LEN,
};

/// The port clients listen on (RFC 8415 §7.2).
pub const CLIENT_PORT: u16 = 546;
/// The port servers and relay agents listen on, and the relay sends from (RFC 8415 §7.2).
pub const AGENT_PORT: u16 = 547;
/// Most relays a message may pass through (RFC 8415 §7.6).
pub const HOP_COUNT_LIMIT: usize = 8;
/// All_DHCP_Relay_Agents_and_Servers (RFC 8415 §7.1), link-scoped.
pub const ALL_DHCP_RELAY_AGENTS_AND_SERVERS: Ipv6Addr = Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 1, 2);
/// All_DHCP_Servers (RFC 8415 §7.1), site-scoped.
pub const ALL_DHCP_SERVERS: Ipv6Addr = Ipv6Addr::new(0xff05, 0, 0, 0, 0, 0, 1, 3);
