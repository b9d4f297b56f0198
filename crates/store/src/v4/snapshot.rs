//! Read-only DHCPv4 lookups over a snapshot: what the leasequery responders need.
//!
//! A snapshot is live ([`crate::Front4::snapshot`]: every change made, for the DHCP engine) or
//! durable ([`crate::Front4::durable_snapshot`]: the addresses with a change in flight show their
//! durable version; see [`crate::v4::front`]). Every lookup applies that overlay (`view.rs`,
//! shared with DHCPv6): a binding found in the table whose address has a change in flight is
//! replaced by its durable version, which is checked again against the key of the lookup;
//! durable versions that the live table no longer files under that key (the address went to
//! another client, not yet durably) are added. The overlay is empty in a live snapshot, and then
//! costs one emptiness check per lookup.

use std::cell::Cell;
use std::cmp::Ordering;
use std::net::Ipv4Addr;
use std::sync::Arc;

use crate::family::Overlay;
use crate::record::Timestamp;
use crate::table::Table;
use crate::v4::binding::{Binding4, HwAddr, Index4};
use crate::view::{OverlayCursor, View};

/// An immutable, consistent point-in-time view of the DHCPv4 bindings. Cheap to make (O(1)) and to
/// clone; holds no lock.
#[derive(Clone)]
pub struct Snapshot4 {
    /// The table, and the durable versions of the addresses with a change in flight (none: a
    /// live view).
    view: View<Binding4>,
}

/// The order "most recent first" (RFC 4388 §6.4.1 answers with the first): latest
/// client-last-transaction-time, then, within one second, the one the store wrote later
/// ([`Binding4::recency`]); what is still equal (bindings never numbered) by lowest address.
pub fn most_recent_first(a: &Binding4, b: &Binding4) -> Ordering {
    b.recency()
        .cmp(&a.recency())
        .then(a.address.cmp(&b.address))
}

fn sorted(mut v: Vec<Arc<Binding4>>) -> Vec<Arc<Binding4>> {
    v.sort_by(|a, b| most_recent_first(a, b));
    v
}

impl Snapshot4 {
    pub(crate) fn new(table: Table<Binding4>) -> Self {
        Snapshot4 {
            view: View::live(table),
        }
    }

    pub(crate) fn durable(table: Table<Binding4>, pending: Overlay<Binding4>) -> Self {
        Snapshot4 {
            view: View::durable(table, pending),
        }
    }

    /// Whether this is a durable view with changes in flight laid over the table.
    pub fn has_changes_in_flight(&self) -> bool {
        self.view.has_changes_in_flight()
    }

    /// The binding of this address.
    pub fn get(&self, address: Ipv4Addr) -> Option<&Arc<Binding4>> {
        self.view.get(u32::from(address))
    }

    /// Number of bindings.
    pub fn len(&self) -> usize {
        self.view.len()
    }

    /// Whether there is no binding.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// All bindings in address order.
    pub fn iter(&self) -> impl Iterator<Item = &Arc<Binding4>> + '_ {
        self.view.iter()
    }

    /// Bindings with address `>= from`, in address order.
    pub fn range_from(&self, from: Ipv4Addr) -> impl Iterator<Item = &Arc<Binding4>> + '_ {
        self.view.range_from(u32::from(from))
    }

    /// Bindings whose address may be given to another client at `now` (Expired, Released, a
    /// lapsed offer, a declined address past its probation), longest free first (ties: lowest
    /// address). An Active binding past its end joins once the expiry timer has run. For the
    /// allocator (a live view); a durable view leaves out the addresses with changes in flight.
    pub fn reusable(&self, now: Timestamp) -> impl Iterator<Item = &Arc<Binding4>> + '_ {
        self.view.reusable(now)
    }

    /// The bindings of this view with identifier `id` in `index`, in address order.
    fn found(&self, index: Index4, id: &[u8]) -> Vec<Arc<Binding4>> {
        self.view.found(index as usize, id)
    }

    /// The bindings of this view (any state) filed under `id` in `index`, without the one at
    /// `except`, lazily and in no promised order: the table's index walk, with the durable
    /// overlay applied (a durable version is checked again against `id`), then the durable
    /// versions that walk does not meet. In a live view, or a durable one without changes in
    /// flight, `except` given and `id` shared by no other binding (a client with one lease),
    /// nothing is walked at all ([`Table::find_except`]).
    pub fn find_except<'a>(
        &'a self,
        index: Index4,
        id: &'a [u8],
        except: Option<Ipv4Addr>,
    ) -> impl Iterator<Item = &'a Arc<Binding4>> + 'a {
        self.view
            .find_except(index as usize, id, except.map(u32::from))
    }

    /// Bindings (any state) of this hardware address, most recent first ([`most_recent_first`]).
    pub fn by_mac(&self, hw: &HwAddr) -> Vec<Arc<Binding4>> {
        let (k, len) = hw.key_bytes();
        sorted(self.found(Index4::Mac, &k[..len]))
    }

    /// Bindings (any state) of this client identifier (option 61 value), most recent first.
    pub fn by_client_id(&self, client_id: &[u8]) -> Vec<Arc<Binding4>> {
        sorted(self.found(Index4::ClientId, client_id))
    }

    /// Bindings of a client as RFC 4388 §6.4.1 identifies it: by client-id when the query has
    /// one, otherwise by MAC address; most recent first.
    pub fn by_client(&self, client_id: Option<&[u8]>, hw: Option<&HwAddr>) -> Vec<Arc<Binding4>> {
        match (client_id, hw) {
            (Some(id), _) => self.by_client_id(id),
            (None, Some(hw)) => self.by_mac(hw),
            (None, None) => Vec::new(),
        }
    }

    /// The other bindings (any state) of the client holding `binding`, as RFC 4388 §6.4.1
    /// identifies it: by its client-id when it has one, else by its hardware address among the
    /// bindings without a client-id; in address order. `binding` itself is skipped before it is
    /// looked up, so a client with one binding costs a single index seek and no allocation.
    pub fn fellows(&self, binding: &Binding4) -> Vec<Arc<Binding4>> {
        let except = u32::from(binding.address);
        // `find_except` may skip the index walk only for a binding of this very snapshot;
        // any other binding takes the plain walk.
        let own = self
            .get(binding.address)
            .is_some_and(|b| std::ptr::eq(&**b, binding));
        let others = |index: Index4, id: &[u8]| -> Vec<Arc<Binding4>> {
            if self.view.has_changes_in_flight() {
                let mut v = self.found(index, id);
                v.retain(|b| b.address != binding.address);
                v
            } else if own {
                self.view
                    .table
                    .find_except(index as usize, id, except)
                    .cloned()
                    .collect()
            } else {
                let all = self.view.table.find(index as usize, id);
                all.filter(|b| b.address != binding.address)
                    .cloned()
                    .collect()
            }
        };
        match binding.client_id() {
            Some(id) => others(Index4::ClientId, id),
            None => {
                let (k, len) = binding.hw.key_bytes();
                let mut v = others(Index4::Mac, &k[..len]);
                v.retain(|b| b.client_id().is_none());
                v
            }
        }
    }

    fn cursor(&self, index: Index4, id: &[u8]) -> Cursor4 {
        Cursor4 {
            inner: self.view.cursor(index as usize, id),
        }
    }

    /// The Active bindings whose relay-id ([`Index4::RelayId`]) or remote-id
    /// ([`Index4::RemoteId`]) is `id`, most recent first ([`most_recent_first`]), lazily: the
    /// first is found in O(log n) however many bindings carry `id`, each next one in O(1)
    /// amortised. An Active binding whose end has passed but that the expiry timer has not
    /// reached yet is among them (the caller checks the time). `examined` counts the index
    /// entries looked at. Empty for the other indexes (not ranked: a MAC or a client-id has a
    /// handful of bindings, [`Table::find`] walks them).
    ///
    /// In a durable view the addresses with a change in flight are skipped in the ranked walk
    /// and their durable versions, when Active under `id`, merged in at their place in the order:
    /// a scan of the changes in flight (a few, however large the table), none in a live view.
    pub fn active_by<'a>(
        &'a self,
        index: Index4,
        id: &'a [u8],
        examined: &'a Cell<usize>,
    ) -> impl Iterator<Item = &'a Arc<Binding4>> + 'a {
        self.view
            .active_by(index as usize, id, examined, most_recent_first)
    }

    /// Lazy cursor over the bindings (any state) with this relay-id, in address order.
    pub fn by_relay_id(&self, relay_id: &[u8]) -> Cursor4 {
        self.cursor(Index4::RelayId, relay_id)
    }

    /// Lazy cursor over the bindings (any state) with this remote-id, in address order.
    pub fn by_remote_id(&self, remote_id: &[u8]) -> Cursor4 {
        self.cursor(Index4::RemoteId, remote_id)
    }

    fn knows(&self, index: Index4, id: &[u8]) -> bool {
        self.view.knows(index as usize, id)
    }

    /// Whether some kept binding (any state, e.g. expired) has this relay-id: "known" versus "never
    /// seen" (DHCPLEASEUNASSIGNED versus DHCPLEASEUNKNOWN).
    pub fn knows_relay_id(&self, relay_id: &[u8]) -> bool {
        self.knows(Index4::RelayId, relay_id)
    }

    /// Whether some kept binding (any state) has this remote-id.
    pub fn knows_remote_id(&self, remote_id: &[u8]) -> bool {
        self.knows(Index4::RemoteId, remote_id)
    }

    /// The underlying generic table (read-only): the live table, without a durable view's
    /// overlay.
    pub fn table(&self) -> &Table<Binding4> {
        &self.view.table
    }
}

/// A resumable cursor over the bindings sharing one identifier, in address order, over a
/// snapshot (live or durable: the durable overlay is applied as the walk goes).
pub struct Cursor4 {
    inner: OverlayCursor<Binding4>,
}

impl Cursor4 {
    /// Up to `max` further bindings.
    pub fn next_batch(&mut self, max: usize) -> Vec<Arc<Binding4>> {
        self.inner.by_ref().take(max).collect()
    }
}

impl Iterator for Cursor4 {
    type Item = Arc<Binding4>;

    fn next(&mut self) -> Option<Arc<Binding4>> {
        self.inner.next()
    }
}
