//! The DHCPv6 server as a sans-IO service (RFC 8415): the router ([`crate::router6`]) hands it a
//! client's message, direct or relayed, with the time; it validates, selects the link, leases
//! addresses (IA_NA) and prefixes (IA_PD) and returns what to send and where ([`Output`], with a
//! [`lessor_net::Destination`]): a direct client at port 546, a relay chain wrapped back in
//! RELAY-REPL to its outermost relay. Nothing here opens a socket or reads a clock.

pub mod counters;
pub mod drops;
pub mod duid;
pub mod engine;
pub mod limit;
pub mod options;
pub mod pools;
pub mod quarantine;
pub mod relay;
pub mod select;

pub use crate::dhcp4::Output;
pub use counters::{Counters, DropReason};
pub use engine::{Engine6, Handled, ADVERT_LIFETIME, MAX_IAS, SOLICIT_BACKLOG};
pub use quarantine::Quarantine6;

#[cfg(test)]
mod tests;
