//! Point look-ups on the live table: hash tables from a key to its record and from a client's
//! identifier to its records, beside the persistent maps and never part of a snapshot.
//!
//! # Why
//!
//! The persistent B-trees of [`crate::table`] make a snapshot O(1), but a look-up in them is a
//! descent of several 64-entry nodes, a binary search per node: about ten cache lines, cold
//! once the table outgrows the cache. A DHCPv6 query by address makes three such descents (the
//! address or its prefix, the client's DUID in its index, the client's bindings by key), so its
//! cost grew with the table (docs/benchmarks.md, issue 14). A hash map finds a key in one or two
//! cache lines whatever the table's size. It is not persistent, so it serves the live table
//! only, read under the family's lock ([`crate::family`]); snapshots keep the B-trees.
//!
//! # What is kept
//!
//! - every record by key;
//! - for the record type's [`Record::POINT_INDEX`] (the DHCPv6 DUID), the records of each
//!   identifier;
//! - which [`Record::width`]s occur among the keys (the lengths of delegated prefixes), so that
//!   finding the prefix holding an address probes each length present instead of walking.
//!
//! A family's records that lack a point index ([`Record::POINT_INDEX`] `None`: DHCPv4) get no
//! points at all: no memory, no write cost.

//!
//! Both tables hold records only ([`hashbrown::HashTable`]): a slot is a pointer and a control
//! octet, the key or identifier compared on the record itself, which the look-up reads anyway.
//! Hashes are keyed at random per table (identifiers are the clients' choice).

use std::hash::{BuildHasher, Hash};
use std::sync::Arc;

use foldhash::fast::FixedState;
use hashbrown::HashTable;

use crate::record::Record;

/// The records of one identifier, never none: in the slot itself for one or two (a client with
/// an address, or an address and a delegated prefix: a query by address then reads no further
/// allocation), else in a vector of their own.
// The `Box` keeps a slot at 24 octets (a `Vec` inline would make it 32).
#[allow(clippy::box_collection)]
enum Records<R> {
    One(Arc<R>),
    Two([Arc<R>; 2]),
    Many(Box<Vec<Arc<R>>>),
}

impl<R: Record> Records<R> {
    fn as_slice(&self) -> &[Arc<R>] {
        match self {
            Records::One(r) => std::slice::from_ref(r),
            Records::Two(rs) => rs,
            Records::Many(v) => v,
        }
    }

    /// The record whose identifier stands for the group's.
    fn first(&self) -> &Arc<R> {
        &self.as_slice()[0]
    }

    /// Puts `rec` in place of the record of its key, or adds it.
    fn put(&mut self, rec: &Arc<R>) {
        let key = rec.key();
        let same = match self {
            Records::One(r) => std::slice::from_mut(r),
            Records::Two(rs) => &mut rs[..],
            Records::Many(v) => &mut v[..],
        }
        .iter_mut()
        .find(|r| r.key() == key);
        if let Some(r) = same {
            *r = rec.clone();
            return;
        }
        match self {
            Records::One(r) => *self = Records::Two([r.clone(), rec.clone()]),
            Records::Two([a, b]) => {
                *self = Records::Many(Box::new(vec![a.clone(), b.clone(), rec.clone()]))
            }
            Records::Many(v) => v.push(rec.clone()),
        }
    }

    /// Takes the record of `key` out; whether any record is left.
    fn remove(&mut self, key: R::Key) -> bool {
        match self {
            Records::One(r) => r.key() != key,
            Records::Two([a, b]) => {
                if a.key() == key {
                    *self = Records::One(b.clone());
                } else if b.key() == key {
                    *self = Records::One(a.clone());
                }
                true
            }
            Records::Many(v) => {
                v.retain(|r| r.key() != key);
                if let [a, b] = v.as_slice() {
                    *self = Records::Two([a.clone(), b.clone()]);
                }
                true
            }
        }
    }
}

/// The point tables of a live table (see the module documentation).
pub(crate) struct Points<R: Record> {
    records: HashTable<Arc<R>>,
    /// The index these tables serve: [`Record::POINT_INDEX`].
    index: usize,
    ids: HashTable<Records<R>>,
    /// Bit `w` set: some key of width `w` was seen. Never cleared (at most 256 probes a
    /// look-up, and in practice the one or two delegated-prefix lengths a server configures).
    widths: [u64; 4],
    hasher: FixedState,
}

/// The hash of `rec`'s identifier in `index` (0 when it has none: never asked then).
fn id_hash_of<R: Record>(hasher: &FixedState, index: usize, rec: &R) -> u64 {
    let mut out = 0;
    rec.index_keys(&mut |i, id| {
        if i == index {
            out = hasher.hash_one(id);
        }
    });
    out
}

fn key_hash<K: Hash>(hasher: &FixedState, key: &K) -> u64 {
    hasher.hash_one(key)
}

impl<R: Record> Points<R> {
    /// Points of `records` for `index`, hashed with `hasher`.
    pub(crate) fn new<'a>(
        index: usize,
        hasher: FixedState,
        records: impl ExactSizeIterator<Item = &'a Arc<R>>,
    ) -> Self {
        let mut p = Points {
            records: HashTable::with_capacity(records.len()),
            index,
            // Sized as it fills: clients hold several records each.
            ids: HashTable::new(),
            widths: [0; 4],
            hasher,
        };
        for r in records {
            p.update(None, Some(r));
        }
        p
    }

    /// Follows a write: `old` (the record replaced or removed, if any) gives way to `new` (the
    /// record written, if any); both have the same key when both are given.
    pub(crate) fn update(&mut self, old: Option<&Arc<R>>, new: Option<&Arc<R>>) {
        let Points {
            records,
            index,
            ids,
            widths,
            hasher,
        } = self;
        let index = *index;
        let rehash = |r: &Arc<R>| key_hash(hasher, &r.key());
        match (new, old) {
            (Some(n), _) => {
                let key = n.key();
                if let Some(w) = R::width(key) {
                    widths[usize::from(w / 64)] |= 1 << (w % 64);
                }
                let h = key_hash(hasher, &key);
                match records.find_mut(h, |r| r.key() == key) {
                    Some(r) => *r = n.clone(),
                    None => {
                        records.insert_unique(h, n.clone(), rehash);
                    }
                }
            }
            (None, Some(o)) => {
                let key = o.key();
                if let Ok(e) = records.find_entry(key_hash(hasher, &key), |r| r.key() == key) {
                    e.remove();
                }
            }
            (None, None) => {}
        }
        // The old record leaves its identifier's group unless the new one keeps it.
        if let Some(o) = old {
            let key = o.key();
            o.index_keys(&mut |i, id| {
                if i != index || new.is_some_and(|n| n.has_index_key(index, id)) {
                    return;
                }
                let h = hasher.hash_one(id);
                if let Ok(mut e) = ids.find_entry(h, |g| g.first().has_index_key(index, id)) {
                    if !e.get_mut().remove(key) {
                        e.remove();
                    }
                }
            });
        }
        if let Some(n) = new {
            n.index_keys(&mut |i, id| {
                if i != index {
                    return;
                }
                let h = hasher.hash_one(id);
                match ids.find_mut(h, |g| g.first().has_index_key(index, id)) {
                    Some(g) => g.put(n),
                    None => {
                        ids.insert_unique(h, Records::One(n.clone()), |g| {
                            id_hash_of(hasher, index, &**g.first())
                        });
                    }
                }
            });
        }
    }

    /// The record of `key`.
    pub(crate) fn get(&self, key: &R::Key) -> Option<&Arc<R>> {
        self.records
            .find(key_hash(&self.hasher, key), |r| r.key() == *key)
    }

    /// The records whose identifier in the point index is `id`, in no promised order.
    pub(crate) fn records_of(&self, id: &[u8]) -> &[Arc<R>] {
        let index = self.index;
        self.ids
            .find(self.hasher.hash_one(id), |g| {
                g.first().has_index_key(index, id)
            })
            .map(Records::as_slice)
            .unwrap_or(&[])
    }

    /// The point index these tables serve.
    pub(crate) fn index(&self) -> usize {
        self.index
    }

    /// The key widths seen, widest value first (for DHCPv6: the longest prefix first).
    pub(crate) fn widths(&self) -> Widths {
        Widths { bits: self.widths }
    }

    /// Number of records.
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.records.len()
    }
}

/// The key widths of a [`Points`], widest first: one step per width present.
pub(crate) struct Widths {
    bits: [u64; 4],
}

impl Iterator for Widths {
    type Item = u8;

    fn next(&mut self) -> Option<u8> {
        for word in (0..4).rev() {
            let b = self.bits[word];
            if b != 0 {
                let top = 63 - b.leading_zeros() as usize;
                self.bits[word] &= !(1u64 << top);
                return u8::try_from(word * 64 + top).ok();
            }
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::v6::binding::{Binding6, IaType, Index6, Key6, State6};
    use std::net::Ipv6Addr;

    fn b(n: u128, len: u8, client: u8) -> Arc<Binding6> {
        Arc::new(
            Binding6::new(
                Ipv6Addr::from(0x2001_0db8_u128 << 96 | n << 16),
                len,
                IaType::Na,
                &[0, 3, 0, 1, client],
                1,
                "2001:db8::/32".parse().unwrap(),
                State6::Active,
            )
            .unwrap(),
        )
    }

    fn keys(p: &Points<Binding6>, client: u8) -> Vec<Key6> {
        let recs = p.records_of(&[0, 3, 0, 1, client]);
        // Each the record the key map holds.
        assert!(recs
            .iter()
            .all(|r| Arc::ptr_eq(r, p.get(&r.key6()).unwrap())));
        let mut k: Vec<Key6> = recs.iter().map(|r| r.key6()).collect();
        k.sort();
        k
    }

    #[test]
    fn writes_move_keys_between_identifiers_and_widths_are_remembered() {
        let (a, p, c) = (b(1, 128, 7), b(2, 60, 7), b(3, 56, 8));
        let mut pts = Points::<Binding6>::new(
            Index6::Duid as usize,
            FixedState::default(),
            [&a].into_iter(),
        );
        pts.update(None, Some(&p));
        pts.update(None, Some(&c));
        assert_eq!(pts.len(), 3);
        assert_eq!(keys(&pts, 7), [a.key6(), p.key6()]);
        assert_eq!(keys(&pts, 8), [c.key6()]);
        assert_eq!(pts.widths().collect::<Vec<_>>(), [60, 56]);
        // The address goes to client 8; client 7's prefix is removed.
        let moved = b(1, 128, 8);
        pts.update(Some(&a), Some(&moved));
        pts.update(Some(&p), None);
        assert_eq!(keys(&pts, 7), []);
        assert_eq!(keys(&pts, 8), [moved.key6(), c.key6()]);
        assert!(Arc::ptr_eq(pts.get(&a.key6()).unwrap(), &moved));
        assert!(pts.get(&p.key6()).is_none());
        assert_eq!(pts.len(), 2);
        // A width once seen stays: a probe more, never a prefix missed.
        assert_eq!(pts.widths().collect::<Vec<_>>(), [60, 56]);
    }

    #[test]
    fn a_group_grows_past_two_and_shrinks_back() {
        let rs: Vec<_> = (1..=4).map(|n| b(n, 128, 9)).collect();
        let mut pts =
            Points::<Binding6>::new(Index6::Duid as usize, FixedState::default(), rs.iter());
        let all: Vec<Key6> = rs.iter().map(|r| r.key6()).collect();
        assert_eq!(keys(&pts, 9), all);
        // A renewal replaces the record in place, wherever the group keeps it.
        let renewed = b(3, 128, 9);
        pts.update(Some(&rs[2]), Some(&renewed));
        assert!(pts
            .records_of(&[0, 3, 0, 1, 9])
            .iter()
            .any(|r| Arc::ptr_eq(r, &renewed)));
        for (i, r) in rs.iter().enumerate().take(3) {
            pts.update(Some(r), None);
            assert_eq!(keys(&pts, 9), all[i + 1..]);
        }
        pts.update(Some(&rs[3]), None);
        assert_eq!(keys(&pts, 9), []);
    }

    #[test]
    fn widths_come_widest_first_across_words() {
        let mut pts = Points::<Binding6>::new(
            Index6::Duid as usize,
            FixedState::default(),
            std::iter::empty(),
        );
        for len in [0, 63, 64, 127, 48] {
            pts.update(None, Some(&b(u128::from(len), len, 1)));
        }
        assert_eq!(pts.widths().collect::<Vec<_>>(), [127, 64, 63, 48, 0]);
    }
}
