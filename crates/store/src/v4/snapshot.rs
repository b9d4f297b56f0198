//! Read-only DHCPv4 lookups over a snapshot: what the leasequery responders need.

use std::cell::Cell;
use std::cmp::Ordering;
use std::net::Ipv4Addr;
use std::sync::Arc;

use crate::record::Timestamp;
use crate::table::{IndexCursor, Table};
use crate::v4::binding::{Binding4, HwAddr, Index4};

/// An immutable, consistent point-in-time view of the DHCPv4 bindings. Cheap to make (O(1)) and to
/// clone; holds no lock.
#[derive(Clone)]
pub struct Snapshot4 {
    table: Table<Binding4>,
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
        Snapshot4 { table }
    }

    /// The binding of this address.
    pub fn get(&self, address: Ipv4Addr) -> Option<&Arc<Binding4>> {
        self.table.get(u32::from(address))
    }

    /// Number of bindings.
    pub fn len(&self) -> usize {
        self.table.len()
    }

    /// Whether there is no binding.
    pub fn is_empty(&self) -> bool {
        self.table.is_empty()
    }

    /// All bindings in address order.
    pub fn iter(&self) -> impl Iterator<Item = &Arc<Binding4>> + '_ {
        self.table.iter()
    }

    /// Bindings with address `>= from`, in address order.
    pub fn range_from(&self, from: Ipv4Addr) -> impl Iterator<Item = &Arc<Binding4>> + '_ {
        self.table.range_from(u32::from(from))
    }

    /// Bindings whose address may be given to another client at `now` (Expired, Released, a
    /// lapsed offer, a declined address past its probation), longest free first (ties: lowest
    /// address). An Active binding past its end joins once the expiry timer has run.
    pub fn reusable(&self, now: Timestamp) -> impl Iterator<Item = &Arc<Binding4>> + '_ {
        self.table.free_at(now)
    }

    /// Bindings (any state) of this hardware address, most recent first ([`most_recent_first`]).
    pub fn by_mac(&self, hw: &HwAddr) -> Vec<Arc<Binding4>> {
        let (k, len) = hw.key_bytes();
        sorted(
            self.table
                .find(Index4::Mac as usize, &k[..len])
                .cloned()
                .collect(),
        )
    }

    /// Bindings (any state) of this client identifier (option 61 value), most recent first.
    pub fn by_client_id(&self, client_id: &[u8]) -> Vec<Arc<Binding4>> {
        sorted(
            self.table
                .find(Index4::ClientId as usize, client_id)
                .cloned()
                .collect(),
        )
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
            if own {
                self.table
                    .find_except(index as usize, id, except)
                    .cloned()
                    .collect()
            } else {
                let all = self.table.find(index as usize, id);
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

    /// The Active bindings whose relay-id ([`Index4::RelayId`]) or remote-id
    /// ([`Index4::RemoteId`]) is `id`, most recent first ([`most_recent_first`]), lazily: the
    /// first is found in O(log n) however many bindings carry `id`, each next one in O(1)
    /// amortised. An Active binding whose end has passed but that the expiry timer has not
    /// reached yet is among them (the caller checks the time). `examined` counts the index
    /// entries looked at. Empty for the other indexes (not ranked: a MAC or a client-id has a
    /// handful of bindings, [`Table::find`] walks them).
    pub fn active_by<'a>(
        &'a self,
        index: Index4,
        id: &'a [u8],
        examined: &'a Cell<usize>,
    ) -> impl Iterator<Item = &'a Arc<Binding4>> + 'a {
        self.table.ranked(index as usize, id, examined)
    }

    /// Lazy cursor over the bindings (any state) with this relay-id, in address order.
    pub fn by_relay_id(&self, relay_id: &[u8]) -> IndexCursor<Binding4> {
        self.table.cursor(Index4::RelayId as usize, relay_id)
    }

    /// Lazy cursor over the bindings (any state) with this remote-id, in address order.
    pub fn by_remote_id(&self, remote_id: &[u8]) -> IndexCursor<Binding4> {
        self.table.cursor(Index4::RemoteId as usize, remote_id)
    }

    /// Whether some kept binding (any state, e.g. expired) has this relay-id: "known" versus "never
    /// seen" (DHCPLEASEUNASSIGNED versus DHCPLEASEUNKNOWN).
    pub fn knows_relay_id(&self, relay_id: &[u8]) -> bool {
        self.table.contains_id(Index4::RelayId as usize, relay_id)
    }

    /// Whether some kept binding (any state) has this remote-id.
    pub fn knows_remote_id(&self, remote_id: &[u8]) -> bool {
        self.table.contains_id(Index4::RemoteId as usize, remote_id)
    }

    /// The underlying generic table (read-only).
    pub fn table(&self) -> &Table<Binding4> {
        &self.table
    }
}
