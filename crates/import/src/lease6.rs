//! One DHCPv6 lease as another server recorded it, whatever the file: an address of an IA_NA or a
//! prefix of an IA_PD, its client, lifetimes and relay data. Both readers produce it (ISC from
//! an `iaaddr`/`iaprefix` block, [`crate::isc::IscIa::leases`]; Kea from a CSV row,
//! [`crate::kea::KeaLease6::lease`]); [`crate::to_store6`] turns it into a binding.

use std::net::Ipv6Addr;

use lessor_store::{IaType, Timestamp};

use crate::isc::Note;

/// What the file says of the lease's state, as the store's states go.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Standing {
    /// Leased to the client (ISC `active`, Kea state 0): active until its valid lifetime ends.
    Active,
    /// Over (ISC `expired`, `free` and the other idle states; Kea state 2, expired-reclaimed):
    /// the binding remembers its last client.
    Expired,
    /// Released by the client (ISC `released`).
    Released,
    /// Declined, or found in use by someone else (ISC `abandoned`, Kea state 1).
    Declined,
}

/// The relay data of a lease (Kea keeps it in the lease's user context when asked to).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Relay6 {
    /// The relay chain as the store keeps it: the outermost RELAY-FORW with the innermost
    /// RELAY_MSG (the client's message) removed.
    pub chain: Option<Vec<u8>>,
    /// Where the outermost RELAY-FORW came from.
    pub peer: Option<Ipv6Addr>,
    /// OPTION_INTERFACE_ID (18) of the hop nearest the client that has one.
    pub interface_id: Option<Vec<u8>>,
    /// OPTION_REMOTE_ID (37) value, enterprise number included.
    pub remote_id: Option<Vec<u8>>,
    /// OPTION_RELAY_ID (53) value.
    pub relay_id: Option<Vec<u8>>,
}

impl Relay6 {
    pub fn is_empty(&self) -> bool {
        *self == Relay6::default()
    }
}

/// One leased address or delegated prefix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lease6 {
    /// 1-based line it was read from (the `iaaddr`/`iaprefix` line, the CSV row).
    pub line: usize,
    pub ia_type: IaType,
    pub duid: Vec<u8>,
    pub iaid: u32,
    /// The address, or the prefix's first address.
    pub address: Ipv6Addr,
    /// 128 for an address.
    pub prefix_len: u8,
    pub standing: Standing,
    /// When the client last talked to the server about it, if the file says.
    pub cltt: Option<Timestamp>,
    /// The preferred lifetime granted, in seconds.
    pub preferred: u32,
    /// The valid lifetime granted, in seconds.
    pub valid: u32,
    /// When the valid lifetime ends; `None`: never (an infinite lifetime).
    pub valid_end: Option<Timestamp>,
    pub relay: Relay6,
    /// What the file had for this lease that the binding does not keep, as `(line, kind)`:
    /// `kind` is the same text for every lease so that the report counts per kind.
    pub notes: Vec<Note>,
}

/// The infinite lifetime (RFC 8415 §7.7).
pub const INFINITY: u32 = u32::MAX;
