//! `lessor-server`: configuration, the sans-IO services (DHCPv4 engine, leasequery responder,
//! bulk leasequery), the router that hands each datagram to one of them, and the I/O shell that
//! drives them over `lessor-net` sockets.

#![deny(unsafe_code)]

pub mod bulk;
pub mod bulk4;
pub mod bulk6;
pub mod config;
pub mod control;
pub mod dhcp4;
pub mod dhcp6;
pub mod droplog;
pub mod leasequery4;
pub mod leasequery6;
pub mod metrics;
pub mod router4;
pub mod router6;
pub mod serve;
pub mod stats;
pub mod swap;
pub mod token_bucket;

#[cfg(test)]
mod testlog;
