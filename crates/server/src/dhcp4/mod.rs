//! The DHCPv4 server: a sans-IO engine (message handling and allocation, time injected) and the
//! contract it shares with the socket layer: what a received datagram carries ([`Received`]) and
//! where a reply must go ([`Destination`]). Sockets live in `io4`; nothing here opens one.

pub mod allocate;
pub mod counters;
pub mod engine;
pub mod gate;
pub mod identity;
pub mod reply;
pub mod select;
pub mod transmit;

pub use counters::{Counters, DropReason};
pub use engine::{Engine4, Handled, LocalInterface};
pub use gate::LeaseQueryGate;
pub use identity::Identity;
pub use transmit::{Destination, Received, Reply, Transmit};

#[cfg(test)]
mod tests;
