//! Changes the store hands to a persistence backend: one variant per address family, each
//! family's own changes inside ([`crate::v4::Change4`]; DHCPv6 joins as `V6`).

use crate::v4::Change4;

/// One change to persist. Backends match on the family, then on the family's change.
#[derive(Debug, Clone)]
pub enum Change {
    /// A change to the DHCPv4 bindings.
    V4(Change4),
}
