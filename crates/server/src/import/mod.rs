//! Importers of lease databases written by other DHCP servers.
//!
//! Each importer produces its own plain record type, independent of
//! `lessor-store`; a later step converts those records into store bindings.
//!
//! * [`isc`]: ISC dhcpd 4.x `dhcpd.leases` (DHCPv4 leases; DHCPv6 blocks are
//!   reported as skipped).
//! * [`to_store`]: ISC leases to store bindings (`lessor leases import --isc`).

pub mod isc;
pub mod to_store;
