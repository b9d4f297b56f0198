//! `lessor-import`: lease databases written by other DHCP servers, into Lessor's binding store.
//!
//! - [`isc`]: the reader of ISC dhcpd 4.x `dhcpd.leases` (lexer, values, parser; DHCPv4 leases,
//!   DHCPv6 blocks reported as skipped). Its records do not depend on the store.
//! - [`to_store`]: an ISC lease to a store binding (a pure function of the lease, the subnets and
//!   the time).
//! - [`stream`]: `lessor leases import --isc`: the file streamed into a store backend in large
//!   transactions, the last block of each address winning.
//! - [`report`]: what an import did and everything it did not import, per kind.
//!
//! See `docs/import-isc.md` for the user's view.

#![deny(unsafe_code)]

pub mod import6;
pub mod isc;
pub mod kea;
pub mod lease6;
pub mod report;
pub mod stream;
pub mod to_store;
pub mod to_store6;
