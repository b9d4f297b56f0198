//! `lessor-server`: configuration, allocation engines, leasequery responders and their I/O.

#![forbid(unsafe_code)]

pub mod config;
pub mod dhcp4;
pub mod import;
