//! Read-only DHCPv6 lookups over a snapshot: what the DHCPv6 engine, leasequery (RFC 5007) and
//! bulk leasequery (RFC 5460) need.
//!
//! A snapshot is live ([`crate::Front6::snapshot`]) or durable
//! ([`crate::Front6::durable_snapshot`]); every lookup applies the durable overlay as the DHCPv4
//! one does (`view.rs`, the same code).
//!
//! The table is keyed by [`Key6`] `(address, prefix length)`, so a delegated prefix sorts just
//! before the addresses inside it: the binding covering an address is the one at `(address,
//! 128)` or, failing that, the nearest key below it when that is a prefix containing the address
//! ([`Snapshot6::containing`], one backward step of the B-tree). This relies on what
//! configuration guarantees: address pools, prefix pools and reservations do not overlap, so no
//! other binding lies between a delegated prefix's first address and an address inside it.

use std::cell::Cell;
use std::net::Ipv6Addr;
use std::sync::Arc;

use ipnet::Ipv6Net;

use crate::family::Overlay;
use crate::record::Timestamp;
use crate::table::Table;
use crate::v6::binding::{link_key, Binding6, IaType, Index6, Key6};
use crate::view::{recent_first, RankedThenRest, View};

/// An immutable, consistent point-in-time view of the DHCPv6 bindings. Cheap to make (O(1)) and
/// to clone; holds no lock.
#[derive(Clone)]
pub struct Snapshot6 {
    /// The table, and the durable versions of the keys with a change in flight (none: a live
    /// view).
    view: View<Binding6>,
}

impl Snapshot6 {
    pub(crate) fn new(table: Table<Binding6>) -> Self {
        Snapshot6 {
            view: View::live(table),
        }
    }

    pub(crate) fn durable(table: Table<Binding6>, pending: Overlay<Binding6>) -> Self {
        Snapshot6 {
            view: View::durable(table, pending),
        }
    }

    /// Whether this is a durable view with changes in flight laid over the table.
    pub fn has_changes_in_flight(&self) -> bool {
        self.view.has_changes_in_flight()
    }

    /// The binding of this key: an address `(address, 128)` or a delegated prefix `(first
    /// address, length)`.
    pub fn get(&self, key: Key6) -> Option<&Arc<Binding6>> {
        self.view.get(key)
    }

    /// Number of bindings.
    pub fn len(&self) -> usize {
        self.view.len()
    }

    /// Whether there is no binding.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// All bindings in key order.
    pub fn iter(&self) -> impl Iterator<Item = &Arc<Binding6>> + '_ {
        self.view.iter()
    }

    /// Bindings with key `>= from`, in key order (to resume a walk).
    pub fn range_from(&self, from: Key6) -> impl Iterator<Item = &Arc<Binding6>> + '_ {
        self.view.range_from(from)
    }

    /// Bindings whose address or prefix may be given to another client at `now` (Expired,
    /// Released, a lapsed advertisement, a declined address past its probation), longest free
    /// first (ties: lowest key). For the allocator (a live view); a durable view leaves out the
    /// keys with changes in flight.
    pub fn reusable(&self, now: Timestamp) -> impl Iterator<Item = &Arc<Binding6>> + '_ {
        self.view.reusable(now)
    }

    /// The binding of `address` (its /128), else the delegated prefix containing it, in any
    /// state (RFC 5007 §4.2.2: a query by address answers for a delegated prefix too). O(log n).
    pub fn containing(&self, address: Ipv6Addr) -> Option<&Arc<Binding6>> {
        let key = Key6::address_key(address);
        if let Some(b) = self.view.get(key) {
            return Some(b);
        }
        self.view
            .at_or_before(key)
            .filter(|b| b.prefix_len < 128 && b.covers(address))
    }

    /// The bindings (any state) of this DUID, in key order.
    pub fn by_duid(&self, duid: &[u8]) -> Vec<Arc<Binding6>> {
        let mut v = self.view.found(Index6::Duid as usize, duid);
        if self.view.has_changes_in_flight() {
            // Durable versions the index walk did not meet come last.
            v.sort_by_key(|b| b.key6());
        }
        v
    }

    /// The bindings (any state) of one IA: this DUID, IAID and IA type, in key order.
    pub fn by_ia(&self, duid: &[u8], iaid: u32, ia_type: IaType) -> Vec<Arc<Binding6>> {
        let mut v = self.by_duid(duid);
        v.retain(|b| b.iaid == iaid && b.ia_type == ia_type);
        v
    }

    /// Lazy cursor over the bindings (any state) on this link, in key order (RFC 5460's query
    /// by link-address, once the caller has found the link holding it).
    pub fn by_link(&self, link: &Ipv6Net) -> Cursor6 {
        Cursor6 {
            walk: self
                .view
                .ranked_cursor(Index6::Link as usize, &link_key(link)),
        }
    }

    /// Lazy cursor over the bindings (any state) with this relay-id (OPTION_RELAY_ID value):
    /// the Active ones first, most recent first (the first found in O(log n) however many the
    /// relay has), then the others in key order.
    pub fn by_relay_id(&self, relay_id: &[u8]) -> Cursor6 {
        Cursor6 {
            walk: self.view.ranked_cursor(Index6::RelayId as usize, relay_id),
        }
    }

    /// Lazy cursor over the bindings (any state) with this remote-id (OPTION_REMOTE_ID value,
    /// enterprise number included), in the order of [`Snapshot6::by_relay_id`].
    pub fn by_remote_id(&self, remote_id: &[u8]) -> Cursor6 {
        Cursor6 {
            walk: self
                .view
                .ranked_cursor(Index6::RemoteId as usize, remote_id),
        }
    }

    /// The Active bindings whose relay-id ([`Index6::RelayId`]) or remote-id
    /// ([`Index6::RemoteId`]) is `id`, most recent first, borrowing the snapshot (as
    /// [`crate::Snapshot4::active_by`]); `examined` counts the index entries looked at. Empty
    /// for the other indexes.
    pub fn active_by<'a>(
        &'a self,
        index: Index6,
        id: &'a [u8],
        examined: &'a Cell<usize>,
    ) -> impl Iterator<Item = &'a Arc<Binding6>> + 'a {
        self.view
            .active_by(index as usize, id, examined, recent_first::<Binding6>)
    }

    /// Whether some kept binding (any state, e.g. expired) has this relay-id.
    pub fn knows_relay_id(&self, relay_id: &[u8]) -> bool {
        self.view.knows(Index6::RelayId as usize, relay_id)
    }

    /// Whether some kept binding (any state) has this remote-id.
    pub fn knows_remote_id(&self, remote_id: &[u8]) -> bool {
        self.view.knows(Index6::RemoteId as usize, remote_id)
    }

    /// The underlying generic table (read-only): the live table, without a durable view's
    /// overlay.
    pub fn table(&self) -> &Table<Binding6> {
        &self.view.table
    }
}

/// A resumable cursor over DHCPv6 bindings sharing one identifier, over the snapshot it was
/// made from (it owns it: writers go on meanwhile, no lock is held). Bulk leasequery streams
/// with [`Cursor6::next_batch`].
pub struct Cursor6 {
    /// For an index that is not ranked (the link), the ranked part is empty: key order only.
    walk: RankedThenRest<Binding6>,
}

impl Cursor6 {
    /// Up to `max` further bindings.
    pub fn next_batch(&mut self, max: usize) -> Vec<Arc<Binding6>> {
        self.by_ref().take(max).collect()
    }
}

impl Iterator for Cursor6 {
    type Item = Arc<Binding6>;

    fn next(&mut self) -> Option<Arc<Binding6>> {
        self.walk.next()
    }
}
