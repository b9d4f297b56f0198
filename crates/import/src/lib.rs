//! `lessor-import`: lease databases written by other DHCP servers, into Lessor's binding store.
//!
//! - [`isc`]: the reader of ISC dhcpd 4.x `dhcpd.leases` and `dhcpd6.leases` (lexer, values,
//!   parser; `lease` blocks of a DHCPv4 file, `ia-na`/`ia-pd` blocks of a DHCPv6 one).
//! - [`kea`]: the reader of Kea's memfile CSV (`kea-leases4.csv`, `kea-leases6.csv`; the CSV
//!   dialect is shared).
//! - [`lease6`]: a DHCPv6 lease as either file records it.
//! - [`to_store`], [`to_store6`]: a lease to a store binding (pure functions of the lease, the
//!   subnets or links, and the time).
//! - [`stream`]: `lessor leases import --isc` and `--kea` (DHCPv4): the file streamed into a
//!   store backend in large transactions, the last block (or row) of each address winning.
//! - [`import6`]: `--isc6` and `--kea6`: the file read as a stream into one binding per address
//!   or prefix, the last record of each winning.
//! - [`report`]: what an import did and everything it did not import, per kind.
//!
//! See `docs/import-isc.md` and docs/operator-guide.md ("Migrating DHCPv4 leases from Kea",
//! "Migrating DHCPv6 leases") for the user's view.

#![deny(unsafe_code)]

pub mod import6;
pub mod isc;
pub mod kea;
pub mod lease6;
pub mod report;
pub mod stream;
pub mod to_store;
pub mod to_store6;
