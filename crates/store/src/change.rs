//! Changes the store hands to a persistence backend.

use std::net::Ipv4Addr;
use std::sync::Arc;

use crate::v4::binding::Binding4;

/// One change to persist. DHCPv6 variants join these later; backends match on them.
#[derive(Debug, Clone)]
pub enum Change {
    /// Insert or replace the DHCPv4 binding of its address.
    Upsert4(Arc<Binding4>),
    /// Delete the DHCPv4 binding of this address.
    Delete4(Ipv4Addr),
}
