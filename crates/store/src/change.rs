//! Changes the store hands to a persistence backend: one variant per address family, each
//! family's own changes inside ([`crate::v4::Change4`], [`crate::v6::Change6`]).

use crate::v4::Change4;
use crate::v6::Change6;

/// One change to persist. Backends match on the family, then on the family's change.
#[derive(Debug, Clone)]
pub enum Change {
    /// A change to the DHCPv4 bindings.
    V4(Change4),
    /// A change to the DHCPv6 bindings.
    V6(Change6),
}
