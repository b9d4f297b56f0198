//! The two look-ups a DHCPv6 leasequery by address or by client makes (RFC 5007 §4.4.1), over
//! either a snapshot ([`Snapshot6`]) or the live table's point maps under the family's lock
//! ([`Points6`], from [`crate::Front6::durable_points`]): the same answers, the second without
//! B-tree descents, so that its cost does not grow with the table (docs/benchmarks.md, issue 14).

use std::net::Ipv6Addr;
use std::sync::Arc;

use crate::v6::binding::{Binding6, Index6, Key6};
use crate::v6::snapshot::Snapshot6;
use crate::view::PointView;

/// What leasequery asks of the bindings.
pub trait Lookup6 {
    /// The binding of `address` (its /128), else the delegated prefix containing it, in any
    /// state.
    fn containing(&self, address: Ipv6Addr) -> Option<&Arc<Binding6>>;

    /// The bindings (any state) of this DUID, in key order.
    fn by_duid(&self, duid: &[u8]) -> Vec<Arc<Binding6>>;
}

impl Lookup6 for Snapshot6 {
    fn containing(&self, address: Ipv6Addr) -> Option<&Arc<Binding6>> {
        Snapshot6::containing(self, address)
    }

    fn by_duid(&self, duid: &[u8]) -> Vec<Arc<Binding6>> {
        Snapshot6::by_duid(self, duid)
    }
}

/// Point look-ups of the durable DHCPv6 bindings, valid while the family's lock is held (see
/// [`crate::Front6::durable_points`]).
pub struct Points6<'a> {
    pub(crate) view: &'a PointView<'a, Binding6>,
}

/// The first address of the /`len` holding `address`.
fn prefix_of(address: Ipv6Addr, len: u8) -> Ipv6Addr {
    let mask = u128::MAX.checked_shl(128 - u32::from(len)).unwrap_or(0);
    Ipv6Addr::from_bits(address.to_bits() & mask)
}

impl Lookup6 for Points6<'_> {
    /// The address's own key, then a key per delegated-prefix length present (longest first):
    /// one hash probe each. Address pools, prefix pools and reservations do not overlap
    /// (configuration guarantees it), so this is the binding [`Snapshot6::containing`] finds.
    fn containing(&self, address: Ipv6Addr) -> Option<&Arc<Binding6>> {
        if let Some(b) = self.view.get(Key6::address_key(address)) {
            return Some(b);
        }
        let Some(widths) = self.view.table.point_widths() else {
            // No point maps (a table not loaded by a family): the B-tree's answer.
            return self
                .view
                .at_or_before(Key6::address_key(address))
                .filter(|b| b.prefix_len < 128 && b.covers(address));
        };
        for len in widths.filter(|&w| w < 128) {
            let key = Key6::new(prefix_of(address, len), len);
            if let Some(b) = self.view.get(key).filter(|b| b.covers(address)) {
                return Some(b);
            }
        }
        // A durable version of a prefix whose length the live table never held (another
        // server's, absorbed while a change was in flight).
        self.view
            .pending
            .range(..=Key6::address_key(address))
            .rev()
            .find_map(|(_, p)| p.durable.as_ref())
            .filter(|b| b.prefix_len < 128 && b.covers(address))
    }

    fn by_duid(&self, duid: &[u8]) -> Vec<Arc<Binding6>> {
        let mut v = self.view.found(Index6::Duid as usize, duid);
        v.sort_by_key(|b| b.key6());
        v
    }
}
