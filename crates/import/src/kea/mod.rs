//! Reader of Kea's memfile lease files (`kea-leases4.csv`, `kea-leases6.csv`, see the Kea ARM,
//! "Memfile - Basic Storage for Leases").
//!
//! - [`csv`]: Kea's CSV dialect: a header naming the columns, one row per line, no quoting
//!   (commas and other special characters inside a value are written `&#xHH`).
//! - [`lease4`]: the rows of `kea-leases4.csv` to [`KeaLease4`] records, and those to the
//!   DHCPv4 lease records the ISC import converts ([`crate::isc::IscLease`]).
//! - [`lease6`]: the rows of `kea-leases6.csv` to [`KeaLease6`] records, and those to
//!   [`crate::lease6::Lease6`].
//! - [`relay`]: the relay data Kea keeps in a lease's user context (DHCPv4 option 82, the
//!   DHCPv6 relay list).
//! - [`memfile`]: which of the two files a file is, by its header.
//!
//! Like the ISC file, a memfile is an append log: a later row for an address replaces the earlier
//! ones, and a row with valid lifetime 0 records that the lease was deleted.
//!
//! Nothing here panics, whatever the input, and memory is bounded by the longest line kept
//! ([`csv::MAX_LINE`]) per row.

pub mod csv;
pub mod lease4;
pub mod lease6;
pub mod relay;

pub use lease4::{KeaLease4, Rows4};
pub use lease6::{KeaLease6, Rows6};

use std::io::{self, BufRead};

/// Which memfile a file is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Memfile {
    /// `kea-leases4.csv`: `address,hwaddr,client_id,...`
    V4,
    /// `kea-leases6.csv`: `address,duid,...`
    V6,
}

/// Which memfile `reader` holds, told by its header (the first line that is not blank): a
/// `duid` column is DHCPv6's, a `client_id` column DHCPv4's. `Err` with the reason when the
/// header has neither (or the file is empty).
pub fn memfile(reader: impl BufRead) -> io::Result<Result<Memfile, String>> {
    for line in csv::Lines::new(reader) {
        let (n, line) = line?;
        let csv::Line::Text(text) = line else {
            return Ok(Err(format!(
                "line {n} (the header) is too long: not a Kea memfile"
            )));
        };
        if text.trim().is_empty() {
            continue;
        }
        let h = csv::Header::parse(&text);
        return Ok(match (h.index("duid"), h.index("client_id")) {
            (Some(_), _) => Ok(Memfile::V6),
            (None, Some(_)) => Ok(Memfile::V4),
            (None, None) => Err(format!(
                "the header (line {n}) names neither `duid` (kea-leases6.csv) nor `client_id` \
                 (kea-leases4.csv): not a Kea memfile"
            )),
        });
    }
    Ok(Err("empty: not a Kea memfile".into()))
}

#[cfg(test)]
pub(crate) mod tests;
#[cfg(test)]
pub(crate) mod tests4;
