//! What bulk leasequery over TCP is for every family: the connection engine with its framing,
//! limits, timers, interleaving and closing rules ([`connection`]), driven by
//! `lessor_net::tcp`. DHCPv4 ([`crate::bulk4`]) and DHCPv6 ([`crate::bulk6`]) plug their queries
//! and messages into it as a [`Protocol`].

pub mod connection;
pub mod running;

pub use connection::{Close, Connection, Limits, Message, Protocol, Terminate};
pub use running::{Panics, Running};
