//! What the generic table needs to know about a binding type.
//!
//! [`Binding4`](crate::Binding4) implements it, and [`Binding6`](crate::Binding6) beside it (key =
//! address or prefix as `(u128, length)`, indexes DUID, link, relay-id, remote-id): both use the
//! same [`Table`](crate::Table), durable overlay, snapshots, cursors and expiry.

use std::fmt::Debug;
use std::hash::Hash;

/// Seconds since the Unix epoch.
pub type Timestamp = u64;

/// A binding kept in a [`Table`](crate::Table).
pub trait Record: Clone + Send + Sync + 'static {
    /// The unique key (the address).
    type Key: Ord + Hash + Copy + Send + Sync + Debug + 'static;
    /// The smallest key (a lower bound for range scans).
    const MIN_KEY: Self::Key;
    /// How many secondary indexes the table keeps (index numbers `0..INDEXES`).
    const INDEXES: usize;
    /// The secondary index whose identifier names a client with few records (the DHCPv6 DUID)
    /// and is looked up point by point: the live table then keeps hash maps beside its B-trees
    /// ([`crate::points`]), by key and by that identifier. None by default (no maps).
    const POINT_INDEX: Option<usize> = None;

    /// The unique key.
    fn key(&self) -> Self::Key;

    /// For a key that stands for a range of keys (a delegated prefix), its width (the prefix
    /// length), so that the point maps can find the range holding a key by probing each width
    /// present. None by default.
    fn width(key: Self::Key) -> Option<u8> {
        let _ = key;
        None
    }

    /// Calls `f(index, identifier)` for each secondary index entry of this record.
    fn index_keys(&self, f: &mut dyn FnMut(usize, &[u8]));

    /// When this record is due to expire, if it is subject to expiry.
    fn expires_at(&self) -> Option<u64>;

    /// Since when the record's key may be given to someone else (a lapsed or released lease), if
    /// it may; a time in the future means "from then on" (e.g. the end of a probation).
    fn free_since(&self) -> Option<u64> {
        None
    }

    /// The record in its expired state.
    fn expired(&self) -> Self;

    /// Whether this record is written to the backend.
    fn is_durable(&self) -> bool;

    /// Whether secondary index `index` has a ranked twin ([`Table::ranked`]): for identifiers
    /// that many records share (a relay's), whose most recent record a lookup wants without
    /// walking the others. None by default.
    ///
    /// [`Table::ranked`]: crate::Table::ranked
    fn is_ranked_index(index: usize) -> bool {
        let _ = index;
        false
    }

    /// Whether the record's identifiers go into the ranked indexes (for a DHCPv4 binding: the
    /// Active ones). None by default.
    fn is_ranked(&self) -> bool {
        false
    }

    /// How recent the record is, larger is more recent: the order of the ranked indexes.
    fn recency(&self) -> (u64, u64) {
        (0, 0)
    }

    /// Whether the record has `id` in index `index`.
    fn has_index_key(&self, index: usize, id: &[u8]) -> bool {
        let mut found = false;
        self.index_keys(&mut |i, k| found |= i == index && k == id);
        found
    }
}
