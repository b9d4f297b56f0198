//! Reader of Kea's memfile lease files (`kea-leases6.csv`, see the Kea ARM, "Memfile - Basic
//! Storage for Leases").
//!
//! - [`csv`]: Kea's CSV dialect: a header naming the columns, one row per line, no quoting
//!   (commas and other special characters inside a value are written `&#xHH`).
//! - [`lease6`]: the rows of `kea-leases6.csv` to [`KeaLease6`] records, and those to
//!   [`crate::lease6::Lease6`].
//! - [`relay`]: the relay data Kea keeps in a lease's user context.
//!
//! Like the ISC file, a memfile is an append log: a later row for an address replaces the earlier
//! ones, and a row with valid lifetime 0 records that the lease was deleted.
//!
//! Nothing here panics, whatever the input, and memory is bounded by the longest line kept
//! ([`csv::MAX_LINE`]) per row.

pub mod csv;
pub mod lease6;
pub mod relay;

pub use lease6::{KeaLease6, Rows6};

#[cfg(test)]
pub(crate) mod tests;
