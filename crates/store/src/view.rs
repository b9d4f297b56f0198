//! Read-only lookups over one family's snapshot, live or durable, generic over its [`Record`]:
//! what [`crate::Snapshot4`] and [`crate::Snapshot6`] are made of.
//!
//! A view is live (the table, every change made, for the DHCP engine) or durable (the keys with
//! a change in flight show their durable version; see [`crate::family`]). Every lookup applies
//! that overlay: a record found in the table whose key has a change in flight is replaced by its
//! durable version, which is checked again against the key of the lookup; durable versions that
//! the live table no longer files under that key (the address went to another client, not yet
//! durably) are added. The overlay is empty in a live view, and then costs one emptiness check
//! per lookup.

use std::cell::Cell;
use std::cmp::Ordering;
use std::collections::VecDeque;
use std::iter::Peekable;
use std::sync::Arc;

use crate::family::Overlay;
use crate::record::{Record, Timestamp};
use crate::table::{IndexCursor, RankedCursor, Table};

/// A table and the durable versions laid over it (none: a live view). O(1) to clone.
pub(crate) struct View<R: Record> {
    pub(crate) table: Table<R>,
    pub(crate) pending: Overlay<R>,
}

impl<R: Record> Clone for View<R> {
    fn clone(&self) -> Self {
        View {
            table: self.table.clone(),
            pending: self.pending.clone(),
        }
    }
}

/// Merges two iterators of records, each sorted by `order`, into one sorted by `order` (on a
/// tie, `a` first).
pub(crate) struct Merge<
    'a,
    R: Record,
    A: Iterator<Item = &'a Arc<R>>,
    B: Iterator<Item = &'a Arc<R>>,
> {
    pub(crate) a: Peekable<A>,
    pub(crate) b: Peekable<B>,
    pub(crate) order: fn(&R, &R) -> Ordering,
}

impl<'a, R, A, B> Iterator for Merge<'a, R, A, B>
where
    R: Record,
    A: Iterator<Item = &'a Arc<R>>,
    B: Iterator<Item = &'a Arc<R>>,
{
    type Item = &'a Arc<R>;

    fn next(&mut self) -> Option<Self::Item> {
        match (self.a.peek(), self.b.peek()) {
            (Some(x), Some(y)) if (self.order)(y, x) == Ordering::Less => self.b.next(),
            (Some(_), _) => self.a.next(),
            (None, _) => self.b.next(),
        }
    }
}

/// Key order.
pub(crate) fn by_key<R: Record>(a: &R, b: &R) -> Ordering {
    a.key().cmp(&b.key())
}

/// The ranked indexes' order: most recent first ([`Record::recency`]), then lowest key.
pub(crate) fn recent_first<R: Record>(a: &R, b: &R) -> Ordering {
    b.recency().cmp(&a.recency()).then(a.key().cmp(&b.key()))
}

/// One of the table's two index walks.
enum Walk<A, B> {
    Plain(A),
    Except(B),
}

impl<'a, R: 'a, A, B> Iterator for Walk<A, B>
where
    A: Iterator<Item = &'a Arc<R>>,
    B: Iterator<Item = &'a Arc<R>>,
{
    type Item = &'a Arc<R>;

    fn next(&mut self) -> Option<Self::Item> {
        match self {
            Walk::Plain(a) => a.next(),
            Walk::Except(b) => b.next(),
        }
    }
}

impl<R: Record> View<R> {
    pub(crate) fn live(table: Table<R>) -> Self {
        View {
            table,
            pending: Overlay::<R>::new(),
        }
    }

    pub(crate) fn durable(table: Table<R>, pending: Overlay<R>) -> Self {
        View { table, pending }
    }

    /// Whether this is a durable view with changes in flight laid over the table.
    pub(crate) fn has_changes_in_flight(&self) -> bool {
        !self.pending.is_empty()
    }

    /// What this view shows for the table's record `r`: itself, its durable version, or nothing.
    pub(crate) fn view<'a>(&'a self, r: &'a Arc<R>) -> Option<&'a Arc<R>> {
        if self.pending.is_empty() {
            return Some(r);
        }
        match self.pending.get(&r.key()) {
            Some(p) => p.durable.as_ref(),
            None => Some(r),
        }
    }

    /// The record of `key`.
    pub(crate) fn get(&self, key: R::Key) -> Option<&Arc<R>> {
        match self.pending.get(&key) {
            Some(p) => p.durable.as_ref(),
            None => self.table.get(key),
        }
    }

    /// Number of records.
    pub(crate) fn len(&self) -> usize {
        let mut n = self.table.len();
        for (key, p) in self.pending.iter() {
            n += usize::from(p.durable.is_some());
            n -= usize::from(self.table.get(*key).is_some());
        }
        n
    }

    /// All records in key order.
    pub(crate) fn iter(&self) -> impl Iterator<Item = &Arc<R>> + '_ {
        Merge {
            a: self
                .table
                .iter()
                .filter(|r| !self.pending.contains_key(&r.key()))
                .peekable(),
            b: self
                .pending
                .values()
                .filter_map(|p| p.durable.as_ref())
                .peekable(),
            order: by_key::<R>,
        }
    }

    /// Records with key `>= from`, in key order.
    pub(crate) fn range_from(&self, from: R::Key) -> impl Iterator<Item = &Arc<R>> + '_ {
        Merge {
            a: self
                .table
                .range_from(from)
                .filter(|r| !self.pending.contains_key(&r.key()))
                .peekable(),
            b: self
                .pending
                .range(from..)
                .filter_map(|(_, p)| p.durable.as_ref())
                .peekable(),
            order: by_key::<R>,
        }
    }

    /// The record with the greatest key `<= to`: O(log n), plus the changes in flight skipped.
    pub(crate) fn at_or_before(&self, to: R::Key) -> Option<&Arc<R>> {
        at_or_before(&self.table, &self.pending, to)
    }

    /// Records whose key may be given to another client at `now`, longest free first; a durable
    /// view leaves out the keys with changes in flight.
    pub(crate) fn reusable(&self, now: Timestamp) -> impl Iterator<Item = &Arc<R>> + '_ {
        self.table
            .free_at(now)
            .filter(|r| !self.pending.contains_key(&r.key()))
    }

    /// The records of this view with identifier `id` in `index`: the index walk's in key order,
    /// then the durable versions that walk does not meet.
    pub(crate) fn found(&self, index: usize, id: &[u8]) -> Vec<Arc<R>> {
        let mut out: Vec<Arc<R>> = self
            .table
            .find(index, id)
            .filter_map(|r| self.view(r))
            .filter(|r| r.has_index_key(index, id))
            .cloned()
            .collect();
        if !self.pending.is_empty() {
            out.extend(moved(&self.table, &self.pending, index, id));
        }
        out
    }

    /// The records of this view (any state) filed under `id` in `index`, without the one at
    /// `except`, lazily and in no promised order: the table's index walk, with the durable
    /// overlay applied (a durable version is checked again against `id`), then the durable
    /// versions that walk does not meet. In a live view, or a durable one without changes in
    /// flight, `except` given and `id` shared by no other record, nothing is walked at all
    /// ([`Table::find_except`]).
    pub(crate) fn find_except<'a>(
        &'a self,
        i: usize,
        id: &'a [u8],
        except: Option<R::Key>,
    ) -> impl Iterator<Item = &'a Arc<R>> + 'a {
        // `Table::find_except` wants `except` to be a table record under `id`: true in a
        // live view for the caller's own record, not for a durable version.
        let walk = match except {
            Some(key)
                if self.pending.is_empty()
                    && self.table.get(key).is_some_and(|r| r.has_index_key(i, id)) =>
            {
                Walk::Except(self.table.find_except(i, id, key))
            }
            _ => Walk::Plain(self.table.find(i, id)),
        };
        let overlaid = walk
            .filter(move |r| Some(r.key()) != except)
            .filter_map(move |r| self.view(r))
            .filter(move |r| r.has_index_key(i, id));
        let moved = self
            .pending
            .iter()
            .filter(move |(key, _)| Some(**key) != except)
            .filter_map(|(key, p)| Some((key, p.durable.as_ref()?)))
            .filter(move |(_, d)| d.has_index_key(i, id))
            .filter(move |(key, _)| {
                !self
                    .table
                    .get(**key)
                    .is_some_and(|r| r.has_index_key(i, id))
            })
            .map(|(_, d)| d);
        overlaid.chain(moved)
    }

    /// The [`Record::is_ranked`] records with `id` in ranked index `i`, in `order` (which must
    /// be the ranked indexes' own, most recent first), lazily; see
    /// [`crate::Snapshot4::active_by`].
    pub(crate) fn active_by<'a>(
        &'a self,
        i: usize,
        id: &'a [u8],
        examined: &'a Cell<usize>,
        order: fn(&R, &R) -> Ordering,
    ) -> impl Iterator<Item = &'a Arc<R>> + 'a {
        let ranked = self
            .table
            .ranked(i, id, examined)
            .filter(move |r| !self.pending.contains_key(&r.key()));
        let mut durable: Vec<&'a Arc<R>> = self
            .pending
            .values()
            .filter_map(|p| p.durable.as_ref())
            .filter(|d| R::is_ranked_index(i) && d.is_ranked())
            .filter(|d| d.has_index_key(i, id))
            .collect();
        durable.sort_by(|a, b| order(a, b));
        Merge {
            a: ranked.peekable(),
            b: durable.into_iter().peekable(),
            order,
        }
    }

    /// A lazy cursor over the records (any state) with `id` in `index`, in key order.
    pub(crate) fn cursor(&self, index: usize, id: &[u8]) -> OverlayCursor<R> {
        let mut extra: Vec<Arc<R>> = moved(&self.table, &self.pending, index, id).collect();
        extra.sort_by_key(|b| b.key());
        OverlayCursor {
            inner: self.table.cursor(index, id),
            pending: self.pending.clone(),
            index,
            id: id.into(),
            extra: extra.into(),
            peeked: None,
            skip_ranked: false,
        }
    }

    /// A lazy cursor over the records with `id` in ranked index `index`: the
    /// [`Record::is_ranked`] ones most recent first ([`recent_first`]), then the others in key
    /// order. Finding the first is O(log n) however many records carry `id`. For an index that
    /// is not ranked, every record in key order (as [`View::cursor`]).
    pub(crate) fn ranked_cursor(&self, index: usize, id: &[u8]) -> RankedThenRest<R> {
        let mut durable: Vec<Arc<R>> = self
            .pending
            .values()
            .filter_map(|p| p.durable.as_ref())
            .filter(|d| R::is_ranked_index(index) && d.is_ranked())
            .filter(|d| d.has_index_key(index, id))
            .cloned()
            .collect();
        durable.sort_by(|a, b| recent_first::<R>(a, b));
        let mut rest = self.cursor(index, id);
        rest.skip_ranked = R::is_ranked_index(index);
        RankedThenRest {
            ranked: self.table.ranked_cursor(index, id),
            pending: self.pending.clone(),
            durable: durable.into(),
            peeked: None,
            rest,
        }
    }

    /// Whether some record of this view (any state) has `id` in `index`.
    pub(crate) fn knows(&self, index: usize, id: &[u8]) -> bool {
        if self.pending.is_empty() {
            self.table.contains_id(index, id)
        } else {
            self.cursor(index, id).next().is_some()
        }
    }
}

/// Durable versions with `id` in `index` whose key the live table no longer files under `id`
/// (so a walk of the index does not meet them).
/// Point look-ups on the live table with the durable overlay applied, made under the family's
/// lock ([`crate::family::Family::durable_points`]): the table's point maps
/// ([`crate::points`]) instead of B-tree descents, the same answers as a durable [`View`] of
/// that moment.
pub(crate) struct PointView<'a, R: Record> {
    pub(crate) table: &'a Table<R>,
    pub(crate) pending: &'a Overlay<R>,
}

impl<'a, R: Record> PointView<'a, R> {
    /// The record of `key`.
    pub(crate) fn get(&self, key: R::Key) -> Option<&'a Arc<R>> {
        if !self.pending.is_empty() {
            if let Some(p) = self.pending.get(&key) {
                return p.durable.as_ref();
            }
        }
        self.table.point(key)
    }

    /// The records with identifier `id` in `index`, in no promised order (see
    /// [`View::found`]).
    pub(crate) fn found(&self, index: usize, id: &[u8]) -> Vec<Arc<R>> {
        let live = self.table.point_found(index, id);
        if self.pending.is_empty() {
            return live.into_iter().cloned().collect();
        }
        let mut out: Vec<Arc<R>> = live
            .into_iter()
            .filter_map(|r| match self.pending.get(&r.key()) {
                Some(p) => p.durable.as_ref(),
                None => Some(r),
            })
            .filter(|r| r.has_index_key(index, id))
            .cloned()
            .collect();
        out.extend(moved(self.table, self.pending, index, id));
        out
    }

    /// The record with the greatest key `<= to` (a B-tree descent: what the point maps cannot
    /// answer).
    pub(crate) fn at_or_before(&self, to: R::Key) -> Option<&'a Arc<R>> {
        at_or_before(self.table, self.pending, to)
    }
}

/// The record of the durable view of `table` and `pending` with the greatest key `<= to`.
fn at_or_before<'a, R: Record>(
    table: &'a Table<R>,
    pending: &'a Overlay<R>,
    to: R::Key,
) -> Option<&'a Arc<R>> {
    let live = table.range_to(to).find(|r| !pending.contains_key(&r.key()));
    let durable = pending
        .range(..=to)
        .rev()
        .find_map(|(_, p)| p.durable.as_ref());
    match (live, durable) {
        (Some(l), Some(d)) => Some(if d.key() > l.key() { d } else { l }),
        (l, d) => l.or(d),
    }
}

fn moved<'a, R: Record>(
    table: &'a Table<R>,
    pending: &'a Overlay<R>,
    index: usize,
    id: &'a [u8],
) -> impl Iterator<Item = Arc<R>> + 'a {
    pending
        .iter()
        .filter_map(|(key, p)| Some((key, p.durable.as_ref()?)))
        .filter(move |(_, d)| d.has_index_key(index, id))
        .filter(move |(key, _)| !table.get(**key).is_some_and(|r| r.has_index_key(index, id)))
        .map(|(_, d)| d.clone())
}

/// A resumable cursor over the records sharing one identifier, in key order, over a view (live
/// or durable: the durable overlay is applied as the walk goes). Owns its snapshot.
pub(crate) struct OverlayCursor<R: Record> {
    inner: IndexCursor<R>,
    pending: Overlay<R>,
    index: usize,
    id: Box<[u8]>,
    /// Durable versions the index walk does not meet, in key order.
    extra: VecDeque<Arc<R>>,
    peeked: Option<Arc<R>>,
    /// Leave out the [`Record::is_ranked`] records (a [`RankedThenRest`] gave them first).
    skip_ranked: bool,
}

impl<R: Record> OverlayCursor<R> {
    fn next_indexed(&mut self) -> Option<Arc<R>> {
        loop {
            let r = self.inner.next()?;
            if self.pending.is_empty() {
                return Some(r);
            }
            match self.pending.get(&r.key()) {
                None => return Some(r),
                Some(p) => match &p.durable {
                    Some(d) if d.has_index_key(self.index, &self.id) => return Some(d.clone()),
                    _ => {}
                },
            }
        }
    }

    fn next_any(&mut self) -> Option<Arc<R>> {
        if self.peeked.is_none() {
            self.peeked = self.next_indexed();
        }
        match (&self.peeked, self.extra.front()) {
            (Some(p), Some(e)) if e.key() < p.key() => self.extra.pop_front(),
            (Some(_), _) => self.peeked.take(),
            (None, _) => self.extra.pop_front(),
        }
    }
}

impl<R: Record> Iterator for OverlayCursor<R> {
    type Item = Arc<R>;

    fn next(&mut self) -> Option<Arc<R>> {
        loop {
            let r = self.next_any()?;
            if !(self.skip_ranked && r.is_ranked()) {
                return Some(r);
            }
        }
    }
}

/// The records with one identifier in a ranked index: the [`Record::is_ranked`] ones most
/// recent first (the ranked index, the durable overlay merged in), then the others in key order.
/// Owns its snapshot.
pub(crate) struct RankedThenRest<R: Record> {
    ranked: RankedCursor<R>,
    pending: Overlay<R>,
    /// The durable versions of keys with changes in flight that are ranked under the
    /// identifier, most recent first.
    durable: VecDeque<Arc<R>>,
    peeked: Option<Arc<R>>,
    rest: OverlayCursor<R>,
}

impl<R: Record> RankedThenRest<R> {
    fn next_ranked(&mut self) -> Option<Arc<R>> {
        if self.peeked.is_none() {
            self.peeked = loop {
                match self.ranked.next() {
                    Some(r) if self.pending.contains_key(&r.key()) => continue,
                    other => break other,
                }
            };
        }
        match (&self.peeked, self.durable.front()) {
            (Some(p), Some(d)) if recent_first::<R>(d, p) == Ordering::Less => {
                self.durable.pop_front()
            }
            (Some(_), _) => self.peeked.take(),
            (None, _) => self.durable.pop_front(),
        }
    }
}

impl<R: Record> Iterator for RankedThenRest<R> {
    type Item = Arc<R>;

    fn next(&mut self) -> Option<Arc<R>> {
        self.next_ranked().or_else(|| self.rest.next())
    }
}
