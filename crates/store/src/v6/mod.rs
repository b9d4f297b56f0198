//! DHCPv6: the binding ([`binding`]), read-only lookups over a snapshot ([`snapshot`]) and the
//! leasequery look-ups over a snapshot or the live table's point maps ([`lookup`]), the
//! store's v6 front and batches ([`front`]), and the `lease6` rows of the SQLite backend. A
//! sibling of [`crate::v4`]: the table, the durable overlay, batches and cursors are the same
//! generic code ([`crate::Table`], `family.rs`, `view.rs`).

pub mod binding;
pub mod front;
pub mod lookup;
pub mod snapshot;
pub(crate) mod sqlite;

use std::sync::Arc;

use binding::{Binding6, Key6};
pub(crate) use front::Family6;

/// One DHCPv6 change to persist ([`crate::Change::V6`]).
#[derive(Debug, Clone)]
pub enum Change6 {
    /// Insert or replace the binding of its key (address or delegated prefix). Bindings that
    /// are not durable (advertisements) never reach a backend.
    Upsert(Arc<Binding6>),
    /// Delete the binding of this key.
    Delete(Key6),
}

/// The DHCPv6 part of what a backend loaded ([`crate::Loaded::v6`]).
#[derive(Debug, Default)]
pub struct Loaded6 {
    /// The bindings that decoded, one per key.
    pub bindings: Vec<Binding6>,
}
