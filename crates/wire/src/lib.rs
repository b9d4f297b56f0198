//! `lessor-wire`: DHCPv4 and DHCPv6 codecs, leasequery options and bulk leasequery TCP framing.
//!
//! Built in the style of smoltcp's `wire` module: for each message there is a zero-copy, checked
//! view over a byte slice (`Packet<T: AsRef<[u8]>>`) whose accessors never panic once
//! `new_checked` has succeeded, an option iterator that borrows from the buffer, and an owned,
//! typed representation (`Repr`) with `parse` and `emit`. Malformed input is always a typed
//! [`Error`]; nothing here panics on network input or allocates more than the input implies.
//!
//! This crate does no I/O.

#![forbid(unsafe_code)]

mod error;
pub mod framing;
pub mod hex;
pub mod v4;
pub mod v6;

pub use error::{Error, Result};
