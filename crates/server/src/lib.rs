//! `lessor-server`: configuration, allocation engines, leasequery responders and their I/O.

#![deny(unsafe_code)]

pub mod bulk4;
pub mod config;
pub mod dhcp4;
pub mod io4;
pub mod leasequery4;
pub mod outbox;
pub mod serve;
pub mod tcp4;
