//! The DHCPv4 server as a sans-IO service: the router ([`crate::router4`]) hands it a client's
//! message with the time, it decides (allocation, RFC 2131 §4.3) and returns what to send and
//! where ([`Output`], with a [`lessor_net::Destination`]). Nothing here opens a socket or reads a
//! clock.

pub mod allocate;
pub mod counters;
pub mod drops;
pub mod engine;
pub mod free;
pub mod identity;
pub mod limit;
pub mod quarantine;
pub mod reply;
pub mod reuse;
pub mod select;

pub use counters::{Counters, DropReason};
pub use engine::{Engine4, Handled, Output, DISCOVER_BACKLOG};
pub use identity::Identity;
pub use quarantine::Quarantine;

#[cfg(test)]
mod tests;
