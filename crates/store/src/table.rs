//! The in-memory table: records by key plus secondary indexes, in persistent (structurally shared)
//! maps.
//!
//! # Why persistent maps
//!
//! Bulk leasequery streams up to a million bindings of one relay-id while allocation goes on. Every
//! map here is an [`imbl`] B-tree whose nodes are reference counted: cloning a [`Table`] is O(1)
//! (a few reference-count increments) and gives an immutable, fully consistent point-in-time view.
//! A writer that later modifies the table copies only the O(log n) nodes on the path it touches
//! (copy on write), so a reader iterating a snapshot holds no lock at all and never stalls
//! allocation. The cost: while an old snapshot is alive, nodes changed since it was taken exist
//! twice (memory grows with the churn during a stream, at most about one extra copy of the table).
//!
//! Sharded locks with key-ordered cursors were the alternative; they give only the weaker "every
//! binding that existed for the whole iteration is returned exactly once" guarantee, need care at
//! shard boundaries, and make lookups take locks. Persistent maps give the strong guarantee for
//! free.
//!
//! Their look-ups are B-tree descents, whose cache misses grow with the table; the live table of a
//! family whose records name a [`Record::POINT_INDEX`] (DHCPv6) keeps hash maps beside them for
//! point look-ups ([`crate::points`]), which snapshots do not share.
//!
//! # Secondary indexes
//!
//! A secondary index is an ordered set of `(hash(identifier), key)`. The hash is foldhash (a
//! multiply-and-fold hash, several times cheaper than SipHash on identifiers of a few octets) with
//! a 64-bit key drawn at random per table from the operating system's randomness (so identifiers
//! sent by clients cannot be chosen to collide without knowing it), cut to 32 bits; the set stores
//! 8 octets per entry (v4) instead of a copy of the identifier, and a lookup checks the identifier
//! of each candidate record, so a hash collision costs a comparison, never a wrong answer. All
//! records sharing an identifier are one contiguous range, in key order, which a [`IndexCursor`]
//! walks lazily.
//!
//! # Ranked indexes
//!
//! Leasequery asks for the *most recent* active binding of an identifier, and a relay-id may
//! have 100,000 of them: walking and sorting them all for one answer would make each query cost
//! as much as the relay is large. So the secondary indexes of such identifiers
//! ([`Record::is_ranked_index`]: relay-id, remote-id) have a ranked twin holding only the
//! records that are [`Record::is_ranked`] (Active bindings), ordered `(hash, most recent first,
//! key)`: the most recent record of an identifier is the first entry of its range, found in
//! O(log n), and the next ones follow in order ([`Table::ranked`]). An entry is 24 octets, and
//! a write that changes a ranked record's recency (a renewal) or its state (an expiry) moves
//! its entries: the price of answering in O(log n) rather than O(records of the identifier).

use std::cell::Cell;
use std::cmp::Reverse;
use std::collections::hash_map::RandomState;
use std::collections::VecDeque;
use std::hash::BuildHasher;
use std::ops::Bound;
use std::sync::Arc;

use foldhash::fast::FixedState;
use imbl::{OrdMap, OrdSet};

use crate::points::{Points, Widths};
use crate::record::Record;

/// The hash of an identifier kept in a secondary index entry. 32 bits halve the entries' size;
/// with a million distinct identifiers about a hundred pairs collide, each costing one comparison.
type IdHash = u32;

/// One secondary index: `(hash of the identifier, record key)`, ordered.
type Index<K> = OrdSet<(IdHash, K)>;

/// An entry of a ranked index: `(hash of the identifier, recency reversed, key)`, so that within
/// one identifier the most recent record comes first (ties: lowest key).
type RankedEntry<K> = (IdHash, Reverse<(u64, u64)>, K);

/// Records by key, secondary indexes, an expiry index and a reuse index. Cloning is O(1) and
/// gives a snapshot.
pub struct Table<R: Record> {
    by_key: OrdMap<R::Key, Arc<R>>,
    /// Behind an `Arc` (as `shared`) so that a snapshot is reference-count increments only, no
    /// allocation: leasequery takes one per query. A write copies the (small) vector of roots
    /// once, when a snapshot still holds the old one.
    indexes: Arc<Vec<Index<R::Key>>>,
    /// Per index, the identifier hashes that two or more entries share. Usually tiny (few
    /// clients hold several bindings): a lookup that only needs to know whether a record has
    /// fellows asks here and skips the index walk when the answer is no.
    shared: Arc<Vec<OrdSet<IdHash>>>,
    /// Per index, its ranked twin (see the module docs): the [`Record::is_ranked`] records only,
    /// most recent first within an identifier.
    ranked: Arc<Vec<OrdSet<RankedEntry<R::Key>>>>,
    expiry: OrdSet<(u64, R::Key)>,
    /// Records whose key can be reused, by the time it became (or becomes) free
    /// ([`Record::free_since`]): the allocator takes the longest-free first without a scan.
    free: OrdSet<(u64, R::Key)>,
    /// The identifier hash, keyed at random per table (and kept by its snapshots).
    hasher: FixedState,
    /// The live table's point maps ([`Table::enable_points`]); a clone (a snapshot) has none.
    points: Option<Box<Points<R>>>,
}

/// A hasher keyed with 64 bits of the operating system's randomness (std's `RandomState` draws
/// its keys from it; one hash of a constant under those keys is as unpredictable as they are).
fn random_hasher() -> FixedState {
    FixedState::with_seed(RandomState::new().hash_one(0x6c65_7373_6f72_u64))
}

impl<R: Record> Clone for Table<R> {
    fn clone(&self) -> Self {
        Table {
            by_key: self.by_key.clone(),
            indexes: self.indexes.clone(),
            shared: self.shared.clone(),
            ranked: self.ranked.clone(),
            expiry: self.expiry.clone(),
            free: self.free.clone(),
            hasher: self.hasher.clone(),
            // Not persistent: a snapshot looks up through its B-trees.
            points: None,
        }
    }
}

impl<R: Record> Default for Table<R> {
    fn default() -> Self {
        Self::new()
    }
}

impl<R: Record> Table<R> {
    /// An empty table.
    pub fn new() -> Self {
        Table {
            by_key: OrdMap::new(),
            indexes: Arc::new((0..R::INDEXES).map(|_| OrdSet::new()).collect()),
            shared: Arc::new((0..R::INDEXES).map(|_| OrdSet::new()).collect()),
            ranked: Arc::new((0..R::INDEXES).map(|_| OrdSet::new()).collect()),
            expiry: OrdSet::new(),
            free: OrdSet::new(),
            hasher: random_hasher(),
            points: None,
        }
    }

    /// A table holding `records` (later duplicates of a key replace earlier ones). Faster than
    /// upserting one by one: index entries are sorted first, so each B-tree is filled in order.
    pub fn from_records(records: impl IntoIterator<Item = Arc<R>>) -> Self {
        let mut t = Self::new();
        let mut entries: Vec<Vec<(IdHash, R::Key)>> = (0..R::INDEXES).map(|_| Vec::new()).collect();
        let mut ranked: Vec<Vec<RankedEntry<R::Key>>> =
            (0..R::INDEXES).map(|_| Vec::new()).collect();
        let mut expiry = Vec::new();
        let mut free = Vec::new();
        let mut pending = Vec::new();
        for rec in records {
            if let Some(old) = t.by_key.insert(rec.key(), rec.clone()) {
                // A duplicate key: fall back to the general path for the rest.
                pending.push((old, rec));
                continue;
            }
            let key = rec.key();
            let ranks = rec.is_ranked().then(|| Reverse(rec.recency()));
            rec.index_keys(&mut |i, id| {
                let h = t.hash(id);
                entries[i].push((h, key));
                if let Some(r) = ranks.filter(|_| R::is_ranked_index(i)) {
                    ranked[i].push((h, r, key));
                }
            });
            if let Some(e) = rec.expires_at() {
                expiry.push((e, key));
            }
            if let Some(f) = rec.free_since() {
                free.push((f, key));
            }
        }
        for (i, mut v) in entries.into_iter().enumerate() {
            v.sort_unstable();
            Arc::make_mut(&mut t.shared)[i] = v
                .windows(2)
                .filter(|w| w[0].0 == w[1].0)
                .map(|w| w[0].0)
                .collect();
            Arc::make_mut(&mut t.indexes)[i] = v.into_iter().collect();
        }
        for (i, mut v) in ranked.into_iter().enumerate() {
            v.sort_unstable();
            Arc::make_mut(&mut t.ranked)[i] = v.into_iter().collect();
        }
        expiry.sort_unstable();
        t.expiry = expiry.into_iter().collect();
        free.sort_unstable();
        t.free = free.into_iter().collect();
        for (old, rec) in pending {
            // Undo the index entries of the replaced record, index the new one.
            t.by_key.insert(old.key(), old.clone());
            t.upsert(rec);
        }
        t
    }

    fn hash(&self, id: &[u8]) -> IdHash {
        // Truncation is deliberate: a collision costs one comparison, never a wrong answer.
        self.hasher.hash_one(id) as IdHash
    }

    fn entries(&self, rec: &R) -> Vec<(usize, IdHash)> {
        let mut out = Vec::with_capacity(R::INDEXES);
        rec.index_keys(&mut |i, id| out.push((i, self.hash(id))));
        out
    }

    /// The ranked entries of `rec` (none unless it is [`Record::is_ranked`]).
    fn ranked_entries(&self, rec: &R) -> Vec<(usize, RankedEntry<R::Key>)> {
        if !rec.is_ranked() {
            return Vec::new();
        }
        let (r, key) = (Reverse(rec.recency()), rec.key());
        let mut out = Vec::with_capacity(R::INDEXES);
        rec.index_keys(&mut |i, id| {
            if R::is_ranked_index(i) {
                out.push((i, (self.hash(id), r, key)));
            }
        });
        out
    }

    /// Replaces the index entries of `old` (if any) by those of `new` (if any), touching only
    /// the entries that differ: a renewal through the same relay changes no secondary index
    /// (only the ranked ones, whose order is the recency a renewal changes).
    fn reindex(&mut self, old: Option<&R>, new: Option<&R>) {
        let old_ranked = old.map(|r| self.ranked_entries(r)).unwrap_or_default();
        let new_ranked = new.map(|r| self.ranked_entries(r)).unwrap_or_default();
        for e in &old_ranked {
            if !new_ranked.contains(e) {
                Arc::make_mut(&mut self.ranked)[e.0].remove(&e.1);
            }
        }
        for e in &new_ranked {
            if !old_ranked.contains(e) {
                Arc::make_mut(&mut self.ranked)[e.0].insert(e.1);
            }
        }
        let old_entries = old.map(|r| (r.key(), self.entries(r)));
        let new_entries = new.map(|r| (r.key(), self.entries(r)));
        if let Some((key, entries)) = &old_entries {
            for e in entries {
                let kept = matches!(&new_entries, Some((k, n)) if k == key && n.contains(e));
                if !kept {
                    Arc::make_mut(&mut self.indexes)[e.0].remove(&(e.1, *key));
                    if self.shared[e.0].contains(&e.1) && self.count_hash(e.0, e.1) < 2 {
                        Arc::make_mut(&mut self.shared)[e.0].remove(&e.1);
                    }
                }
            }
        }
        if let Some((key, entries)) = &new_entries {
            for e in entries {
                let had = matches!(&old_entries, Some((k, o)) if k == key && o.contains(e));
                if !had {
                    Arc::make_mut(&mut self.indexes)[e.0].insert((e.1, *key));
                    if !self.shared[e.0].contains(&e.1) && self.count_hash(e.0, e.1) >= 2 {
                        Arc::make_mut(&mut self.shared)[e.0].insert(e.1);
                    }
                }
            }
        }
        let old_exp = old.and_then(|r| r.expires_at().map(|t| (t, r.key())));
        let new_exp = new.and_then(|r| r.expires_at().map(|t| (t, r.key())));
        if old_exp != new_exp {
            if let Some(e) = old_exp {
                self.expiry.remove(&e);
            }
            if let Some(e) = new_exp {
                self.expiry.insert(e);
            }
        }
        let old_free = old.and_then(|r| r.free_since().map(|t| (t, r.key())));
        let new_free = new.and_then(|r| r.free_since().map(|t| (t, r.key())));
        if old_free != new_free {
            if let Some(f) = old_free {
                self.free.remove(&f);
            }
            if let Some(f) = new_free {
                self.free.insert(f);
            }
        }
    }

    /// How many entries of index `index` have hash `h`, counting to 2 at most.
    fn count_hash(&self, index: usize, h: IdHash) -> usize {
        self.indexes[index]
            .range((Bound::Included((h, R::MIN_KEY)), Bound::Unbounded))
            .take_while(|(eh, _)| *eh == h)
            .take(2)
            .count()
    }

    /// Inserts or replaces the record with the same key; the replaced record's identifiers leave
    /// the indexes. Returns the replaced record.
    pub fn upsert(&mut self, rec: Arc<R>) -> Option<Arc<R>> {
        let old = self.by_key.insert(rec.key(), rec.clone());
        self.reindex(old.as_deref(), Some(&rec));
        if let Some(p) = &mut self.points {
            p.update(old.as_ref(), Some(&rec));
        }
        old
    }

    /// Removes the record with this key, and its index entries.
    pub fn remove(&mut self, key: R::Key) -> Option<Arc<R>> {
        let old = self.by_key.remove(&key);
        self.reindex(old.as_deref(), None);
        if let (Some(p), Some(o)) = (&mut self.points, &old) {
            p.update(Some(o), None);
        }
        old
    }

    /// Keeps point maps beside the B-trees from now on, when the record type has a
    /// [`Record::POINT_INDEX`] ([`crate::points`]): the store does it for each family's live
    /// table, whose clones (snapshots) do without them.
    pub fn enable_points(&mut self) {
        if let (Some(index), None) = (R::POINT_INDEX, &self.points) {
            self.points = Some(Box::new(Points::new(
                index,
                self.hasher.clone(),
                self.by_key.values(),
            )));
        }
    }

    /// The record with this key, through the point map when the table has one (one or two
    /// cache lines instead of a B-tree descent).
    pub(crate) fn point(&self, key: R::Key) -> Option<&Arc<R>> {
        match &self.points {
            Some(p) => p.get(&key),
            None => self.by_key.get(&key),
        }
    }

    /// The records with identifier `id` in index `index` (in no promised order), through the
    /// point maps when they serve that index, else the index walk ([`Table::find`]).
    pub(crate) fn point_found<'a>(&'a self, index: usize, id: &'a [u8]) -> Vec<&'a Arc<R>> {
        match &self.points {
            // A group holds the records of its identifier only (`Points::update` keeps it so):
            // no need to read each one's identifier again, a cold line for all but the first.
            Some(p) if p.index() == index => {
                let found: Vec<&Arc<R>> = p.records_of(id).iter().collect();
                debug_assert!(found.iter().all(|r| r.has_index_key(index, id)));
                found
            }
            _ => self.find(index, id).collect(),
        }
    }

    /// The key widths present ([`Record::width`]), widest first, when the table keeps point
    /// maps.
    pub(crate) fn point_widths(&self) -> Option<Widths> {
        self.points.as_ref().map(|p| p.widths())
    }

    /// The record with this key.
    pub fn get(&self, key: R::Key) -> Option<&Arc<R>> {
        self.by_key.get(&key)
    }

    /// Number of records.
    pub fn len(&self) -> usize {
        self.by_key.len()
    }

    /// Whether the table is empty.
    pub fn is_empty(&self) -> bool {
        self.by_key.is_empty()
    }

    /// All records in key order.
    pub fn iter(&self) -> impl Iterator<Item = &Arc<R>> + '_ {
        self.by_key.values()
    }

    /// Records with key `>= from`, in key order (to resume a walk).
    pub fn range_from(&self, from: R::Key) -> impl Iterator<Item = &Arc<R>> + '_ {
        self.by_key.range(from..).map(|(_, v)| v)
    }

    /// Records with key `<= to`, greatest key first (to find what lies at or before a key, e.g.
    /// the delegated prefix an address falls in).
    pub fn range_to(&self, to: R::Key) -> impl Iterator<Item = &Arc<R>> + '_ {
        self.by_key.range(..=to).rev().map(|(_, v)| v)
    }

    /// Records whose identifier in index `index` is `id`, in key order. Panics if `index` is not
    /// below `R::INDEXES`.
    pub fn find<'a>(&'a self, index: usize, id: &'a [u8]) -> impl Iterator<Item = &'a Arc<R>> + 'a {
        let h = self.hash(id);
        self.indexes[index]
            .range((Bound::Included((h, R::MIN_KEY)), Bound::Unbounded))
            .take_while(move |(eh, _)| *eh == h)
            .filter_map(move |(_, k)| self.by_key.get(k))
            .filter(move |r| r.has_index_key(index, id))
    }

    /// As [`Table::find`], without the record whose key is `except`, which must be a record of
    /// this table carrying `id` in `index`. When no other entry shares `id`'s hash (the common
    /// case: a client with one binding), nothing is walked at all; otherwise `except`'s entry is
    /// skipped before any record is looked up. Leasequery by IP asks this for every answer.
    pub fn find_except<'a>(
        &'a self,
        index: usize,
        id: &'a [u8],
        except: R::Key,
    ) -> impl Iterator<Item = &'a Arc<R>> + 'a {
        let h = self.hash(id);
        self.shared[index]
            .contains(&h)
            .then(|| {
                self.indexes[index].range((Bound::Included((h, R::MIN_KEY)), Bound::Unbounded))
            })
            .into_iter()
            .flatten()
            .take_while(move |(eh, _)| *eh == h)
            .filter(move |(_, k)| *k != except)
            .filter_map(move |(_, k)| self.by_key.get(k))
            .filter(move |r| r.has_index_key(index, id))
    }

    /// The [`Record::is_ranked`] records whose identifier in index `index` is `id`, most recent
    /// first ([`Record::recency`]; ties: lowest key), lazily: finding the first is O(log n)
    /// whatever the number of records of `id`. `examined` counts the index entries looked at
    /// (hash collisions included), the work the caller did. Empty for an index that is not
    /// [`Record::is_ranked_index`]. Panics if `index` is not below `R::INDEXES`.
    pub fn ranked<'a>(
        &'a self,
        index: usize,
        id: &'a [u8],
        examined: &'a Cell<usize>,
    ) -> impl Iterator<Item = &'a Arc<R>> + 'a {
        let h = self.hash(id);
        let from = (h, Reverse((u64::MAX, u64::MAX)), R::MIN_KEY);
        self.ranked[index]
            .range((Bound::Included(from), Bound::Unbounded))
            .take_while(move |(eh, _, _)| *eh == h)
            .inspect(move |_| examined.set(examined.get() + 1))
            .filter_map(move |(_, _, k)| self.by_key.get(k))
            .filter(move |r| r.has_index_key(index, id))
    }

    /// Whether any record (in any state) has identifier `id` in index `index`.
    pub fn contains_id(&self, index: usize, id: &[u8]) -> bool {
        self.find(index, id).next().is_some()
    }

    /// A lazy cursor over the records with identifier `id` in index `index`, owning a snapshot of
    /// this table (so it can be kept across awaits and threads). Panics if `index` is not below
    /// `R::INDEXES`.
    pub fn cursor(&self, index: usize, id: &[u8]) -> IndexCursor<R> {
        IndexCursor {
            hash: self.hash(id),
            table: self.clone(),
            index,
            id: id.into(),
            next_key: Some(R::MIN_KEY),
            buf: VecDeque::new(),
        }
    }

    /// As [`Table::ranked`], as a lazy cursor owning a snapshot of this table (to stream without
    /// a borrow). Empty for an index that is not [`Record::is_ranked_index`].
    pub fn ranked_cursor(&self, index: usize, id: &[u8]) -> RankedCursor<R> {
        let hash = self.hash(id);
        RankedCursor {
            table: self.clone(),
            index,
            id: id.into(),
            hash,
            next: Some((hash, Reverse((u64::MAX, u64::MAX)), R::MIN_KEY)),
            buf: VecDeque::new(),
        }
    }

    /// Records whose key is free for reuse at `now` (free since `<= now`), longest free first
    /// (ties: lowest key).
    pub fn free_at(&self, now: u64) -> impl Iterator<Item = &Arc<R>> + '_ {
        self.free
            .iter()
            .take_while(move |(t, _)| *t <= now)
            .filter_map(move |(_, k)| self.by_key.get(k))
    }

    /// Keys of (at most `max`) records whose expiry time is `<= now`, earliest first.
    pub fn due(&self, now: u64, max: usize) -> Vec<R::Key> {
        self.expiry
            .iter()
            .take_while(|(t, _)| *t <= now)
            .take(max)
            .map(|(_, k)| *k)
            .collect()
    }

    /// Moves the (at most `max`) records whose expiry time is `<= now` to their expired state,
    /// earliest first, returning the new records (the changes to persist).
    pub fn expire(&mut self, now: u64, max: usize) -> Vec<Arc<R>> {
        let due = self.due(now, max);
        let mut changed = Vec::with_capacity(due.len());
        for key in due {
            if let Some(old) = self.get(key) {
                let new = Arc::new(old.expired());
                self.upsert(new.clone());
                changed.push(new);
            }
        }
        changed
    }
}

/// A resumable cursor over the records sharing one identifier, in key order, over a snapshot.
///
/// It owns its snapshot: the view is the table as it was when the cursor was made, whatever
/// writers do meanwhile, and no lock is held while it is walked.
pub struct IndexCursor<R: Record> {
    table: Table<R>,
    index: usize,
    id: Box<[u8]>,
    hash: IdHash,
    next_key: Option<R::Key>,
    buf: VecDeque<Arc<R>>,
}

const CURSOR_BATCH: usize = 256;

impl<R: Record> IndexCursor<R> {
    fn refill(&mut self) {
        let Some(from) = self.next_key else { return };
        let h = self.hash;
        for (seen, (_, k)) in self.table.indexes[self.index]
            .range((Bound::Included((h, from)), Bound::Unbounded))
            .take_while(|(eh, _)| *eh == h)
            .enumerate()
        {
            if seen == CURSOR_BATCH {
                // Resume here next time.
                self.next_key = Some(*k);
                return;
            }
            if let Some(r) = self.table.by_key.get(k) {
                if r.has_index_key(self.index, &self.id) {
                    self.buf.push_back(r.clone());
                }
            }
        }
        self.next_key = None;
    }

    /// Up to `max` further records.
    pub fn next_batch(&mut self, max: usize) -> Vec<Arc<R>> {
        let mut out = Vec::with_capacity(max.min(CURSOR_BATCH));
        while out.len() < max {
            match self.next() {
                Some(r) => out.push(r),
                None => break,
            }
        }
        out
    }

    /// The snapshot the cursor walks.
    pub fn table(&self) -> &Table<R> {
        &self.table
    }
}

impl<R: Record> Iterator for IndexCursor<R> {
    type Item = Arc<R>;

    fn next(&mut self) -> Option<Arc<R>> {
        while self.buf.is_empty() {
            self.next_key?;
            self.refill();
        }
        self.buf.pop_front()
    }
}

/// A resumable cursor over the [`Record::is_ranked`] records sharing one identifier in a ranked
/// index, most recent first (ties: lowest key), over a snapshot ([`Table::ranked_cursor`]).
pub struct RankedCursor<R: Record> {
    table: Table<R>,
    index: usize,
    id: Box<[u8]>,
    hash: IdHash,
    /// The index entry to resume at.
    next: Option<RankedEntry<R::Key>>,
    buf: VecDeque<Arc<R>>,
}

impl<R: Record> RankedCursor<R> {
    fn refill(&mut self) {
        let Some(from) = self.next.take() else { return };
        let h = self.hash;
        for (seen, entry) in self.table.ranked[self.index]
            .range((Bound::Included(from), Bound::Unbounded))
            .take_while(|(eh, _, _)| *eh == h)
            .enumerate()
        {
            if seen == CURSOR_BATCH {
                // Resume here next time.
                self.next = Some(*entry);
                return;
            }
            if let Some(r) = self.table.by_key.get(&entry.2) {
                if r.has_index_key(self.index, &self.id) {
                    self.buf.push_back(r.clone());
                }
            }
        }
    }
}

impl<R: Record> Iterator for RankedCursor<R> {
    type Item = Arc<R>;

    fn next(&mut self) -> Option<Arc<R>> {
        while self.buf.is_empty() {
            self.next?;
            self.refill();
        }
        self.buf.pop_front()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::v6::binding::{Binding6, IaType, Index6, Key6, State6};

    fn b6(n: u32, relay: &[u8], cltt: u64, state: State6) -> Arc<Binding6> {
        let a = std::net::Ipv6Addr::from(0x2001_0db8_u128 << 96 | u128::from(n) << 8);
        let mut b = Binding6::new(
            a,
            if n.is_multiple_of(2) { 128 } else { 120 },
            IaType::Na,
            &n.to_be_bytes(),
            1,
            "2001:db8::/64".parse().unwrap(),
            state,
        )
        .unwrap()
        .with_relay_id(relay)
        .unwrap();
        b.cltt = cltt;
        b.sequence = u64::from(n);
        Arc::new(b)
    }

    #[test]
    fn the_ranked_cursor_resumes_as_the_ranked_walk_goes() {
        // More than a cursor fetches at once, with ties in recency, other identifiers and
        // unranked records between them.
        let mut t = Table::new();
        for n in 0..1000u32 {
            let state = if n % 7 == 0 {
                State6::Expired
            } else {
                State6::Active
            };
            let relay: &[u8] = if n % 5 == 0 { b"other" } else { b"relay" };
            t.upsert(b6(n, relay, u64::from(n % 3), state));
        }
        let i = Index6::RelayId as usize;
        let examined = Cell::new(0);
        let walked: Vec<_> = t.ranked(i, b"relay", &examined).map(|r| r.key()).collect();
        let cursor: Vec<_> = t.ranked_cursor(i, b"relay").map(|r| r.key()).collect();
        assert_eq!(
            walked.len(),
            (0..1000).filter(|n| n % 7 != 0 && n % 5 != 0).count()
        );
        assert_eq!(cursor, walked);
        assert!(t
            .ranked_cursor(Index6::Duid as usize, &7u32.to_be_bytes())
            .next()
            .is_none());
    }

    #[test]
    fn range_to_walks_down_from_a_key() {
        let t = Table::from_records((0..10u32).map(|n| b6(n, b"r", 0, State6::Active)));
        let keys = |to| t.range_to(to).map(|r| r.key()).collect::<Vec<_>>();
        let k = |n: u32| b6(n, b"r", 0, State6::Active).key();
        assert_eq!(keys(k(2)), [k(2), k(1), k(0)]);
        // Between keys: from the next one down.
        assert_eq!(
            keys(Key6::address_key(k(5).address())),
            [k(5), k(4), k(3), k(2), k(1), k(0)]
        );
        let below = std::net::Ipv6Addr::from(u128::from(k(5).address()) - 1);
        assert_eq!(
            keys(Key6::address_key(below)),
            [k(4), k(3), k(2), k(1), k(0)]
        );
        assert!(keys(Key6::MIN).is_empty());
    }

    #[test]
    fn identifier_hashes_are_keyed_at_random_per_table() {
        let ids: Vec<Vec<u8>> = (0u8..8).map(|n| vec![1, 2, 0, 0, 0, 0, n]).collect();
        let hashes = |hasher: &FixedState| -> Vec<IdHash> {
            ids.iter()
                .map(|id| hasher.hash_one(id.as_slice()) as IdHash)
                .collect()
        };
        let (a, b) = (random_hasher(), random_hasher());
        assert_eq!(
            hashes(&a),
            hashes(&a.clone()),
            "a table and its snapshots agree"
        );
        // Eight 32-bit hashes all equal under two random keys: 2^-256.
        assert_ne!(hashes(&a), hashes(&b), "each table has its own key");
    }
}
