//! Reader of ISC dhcpd 4.x `dhcpd.leases` files (see `dhcpd.leases(5)`).
//!
//! The file is an append log of `lease ADDRESS { ... }` blocks plus a few other top-level
//! declarations (`authoring-byte-order`, `server-duid`, `failover peer`, `host`,
//! `class`/`subclass`, and in a DHCPv6 file `ia-na`/`ia-ta`/`ia-pd`).
//!
//! - [`source`]: the file as a stream of declaration-sized pieces (bounded memory).
//! - [`lexer`]: the tokens of a piece.
//! - [`values`]: dates, colon hex, hardware types, `set` and option 82 values as ISC writes them.
//! - [`parser`]: lease blocks to [`IscLease`] records, everything else to [`Skipped`], in file
//!   order ([`Reader`]).
//! - [`lease`]: the records.
//!
//! [`parse`] reads a whole text and keeps the last block of each address, as dhcpd does; an
//! import of a large file streams instead ([`crate::stream`]).
//!
//! Nothing here panics, whatever the input, and memory is bounded by the size of one
//! declaration (at most [`source::MAX_DECLARATION`]), not by the size of the file.

pub mod lease;
pub mod lease6;
pub mod lexer;
pub mod parser;
pub mod parser6;
pub mod source;
pub mod values;

use std::collections::HashMap;
use std::net::Ipv4Addr;

pub use lease::{
    BindingState, Disposition, Hardware, ImportState, IscLease, Note, Skipped, SubOption,
    MALFORMED_LEASE,
};
pub use lease6::{ByteOrder, IaKind, IaSub, IscIa, IA_TA, MALFORMED_IA};
pub use parser::{Family, Item, Reader};
pub use values::SetValue;

/// The result of parsing a whole `dhcpd.leases` text.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IscImport {
    /// One record per address: the last well-formed block for it, ordered by the file position
    /// of that last block.
    pub leases: Vec<IscLease>,
    /// Everything not turned into a lease: malformed blocks, metadata declarations, DHCPv6
    /// blocks, stray tokens.
    pub skipped: Vec<Skipped>,
}

/// The note added to a malformed block's reason when it drops an earlier block for its address.
pub fn dropped_earlier(line: usize) -> String {
    format!(
        "; the earlier block on line {line} for this address is dropped too, as this later one \
         would have replaced it"
    )
}

/// Parses a whole `dhcpd.leases` text, keeping the last block of each address. A malformed last
/// block drops the earlier ones for its address too. Never panics.
pub fn parse(text: &str) -> IscImport {
    let mut slots: Vec<Option<IscLease>> = Vec::new();
    let mut by_addr: HashMap<Ipv4Addr, usize> = HashMap::new();
    let mut skipped = Vec::new();
    // Reading from a byte slice cannot fail.
    for item in Reader::new(text.as_bytes()).map_while(Result::ok) {
        match item {
            Item::Lease(l) => {
                if let Some(old) = by_addr.insert(l.address, slots.len()) {
                    slots[old] = None;
                }
                slots.push(Some(*l));
            }
            // A DHCPv4 reader reports IA blocks as skipped.
            Item::Ia(_) => {}
            Item::Skipped(mut s) => {
                if let Some(old) = s.address.and_then(|a| by_addr.remove(&a)) {
                    if let Some(prev) = slots[old].take() {
                        s.why.push_str(&dropped_earlier(prev.line));
                    }
                }
                skipped.push(s);
            }
        }
    }
    IscImport {
        leases: slots.into_iter().flatten().collect(),
        skipped,
    }
}

#[cfg(test)]
mod tests;
#[cfg(test)]
pub(crate) mod tests6;
