//! DHCPv4: the binding ([`binding`]), read-only lookups over a snapshot ([`snapshot`]), the
//! store's v4 front and batches ([`front`]), and the `lease4` rows of the SQLite backend.

pub mod binding;
pub mod front;
pub mod snapshot;
pub(crate) mod sqlite;

use std::net::Ipv4Addr;
use std::sync::Arc;

use binding::Binding4;
pub use binding::{FIELD_NAMES, VAR_FIELDS};
pub(crate) use front::Family4;
pub use snapshot::most_recent_first;

/// One DHCPv4 change to persist ([`crate::Change::V4`]).
#[derive(Debug, Clone)]
pub enum Change4 {
    /// Insert or replace the binding of its address. Bindings that are not durable (offers)
    /// never reach a backend.
    Upsert(Arc<Binding4>),
    /// Delete the binding of this address.
    Delete(Ipv4Addr),
}

/// The DHCPv4 part of what a backend loaded ([`crate::Loaded::v4`]).
#[derive(Debug, Default)]
pub struct Loaded4 {
    /// The bindings that decoded, one per address.
    pub bindings: Vec<Binding4>,
}
