//! The persistence interface: what the store asks of where bindings are kept.
//!
//! [`Backend`] is the boundary between the store (memory, indexes, the writer thread) and a
//! database. SQLite ([`crate::SqliteBackend`]) implements it for one server; a PostgreSQL backend
//! (several servers sharing one lease set) will implement the same two calls. The trait is
//! synchronous on purpose: it is driven by the store's single writer thread, so a backend needs no
//! async runtime (a PostgreSQL one would use a blocking client).
//!
//! What a backend promises:
//! - [`Backend::load`] is called once, before any [`Backend::apply`], and returns every binding
//!   kept, per address family (DHCPv4 bindings keyed by address, DHCPv6 bindings by address or
//!   delegated prefix). A record it cannot decode is skipped and reported, never fatal;
//!   only failing to read the lease set at all is an error. Several records with one key must not
//!   be returned (a key is unique per family); their order does not matter.
//! - [`Backend::apply`] is called from one thread, one call at a time, with the changes of one
//!   group commit in the order the store made them in memory (one group may mix both families'
//!   changes: [`Change::V4`], [`Change::V6`]). It applies them in that order and
//!   atomically: after a crash or a failed call either all of them are kept or none is (one
//!   transaction). It returns `Ok` only once they are durable (they survive a crash or power loss
//!   of this host: SQLite with `synchronous=FULL`, PostgreSQL once the commit is acknowledged); the
//!   server sends its DHCPACKs then. On `Err` nothing of the call may be kept; the store takes
//!   the changes back in memory (see `family.rs`) and reports the failure
//!   ([`crate::Store::health`]).
//! - [`Backend::set_meta`] keeps one value of the store's own bookkeeping (a key/value table
//!   beside the lease set, returned by the next [`Backend::load`] in [`Loaded::meta`]),
//!   durably, in its own transaction. The store also uses it as its probe: while commits fail, a
//!   small write tells when the disk takes writes again.
//! - An upsert replaces the whole record of its key (every field, including the time the binding
//!   entered its state and its transaction sequence); a delete of an absent key is not an error.
//!   The store never hands a backend a binding that is not durable (a DHCPv4 offer, a DHCPv6
//!   advertisement); a backend given one anyway writes nothing for it (the row keeps the last
//!   durable state).

use std::collections::BTreeMap;
use std::fmt;
use std::net::Ipv4Addr;
use std::time::Duration;

use crate::change::Change;
use crate::error::StoreError;
use crate::v4::Loaded4;
use crate::v6::Loaded6;
use crate::{Binding4, Binding6, Key6};

/// A persistence backend (see the module documentation for what it promises).
pub trait Backend: Send + 'static {
    /// Reads every stored binding, per family. Records that cannot be decoded are skipped and
    /// reported in [`Loaded::skipped`]; only a failure to read the store at all is an error.
    fn load(&mut self) -> Result<Loaded, StoreError>;

    /// Writes `changes` in order, atomically (one transaction), and returns once they are
    /// durable.
    fn apply(&mut self, changes: &[Change]) -> Result<(), StoreError>;

    /// Keeps `value` under `key` in the store's meta table, durably (one transaction). A
    /// backend without such a table keeps nothing and answers as an empty [`Backend::apply`]
    /// does (so a probe still learns whether it can commit).
    fn set_meta(&mut self, key: &str, value: &str) -> Result<(), StoreError> {
        let _ = (key, value);
        self.apply(&[])
    }

    /// Writes one group commit made of several batches, as [`Backend::apply`] does, except that
    /// a backend shared with other servers may refuse a batch whose [`Guard`]s do not hold
    /// (another server changed one of its keys first). A refused batch is kept not at all,
    /// the others wholly, in one transaction; [`Applied::refused`] lists the refused batches.
    /// A backend used by one server never refuses: the default writes everything with
    /// [`Backend::apply`].
    fn apply_group(&mut self, group: &Group<'_>) -> Result<Applied, StoreError> {
        self.apply(group.changes).map(|()| Applied::default())
    }

    /// What other servers sharing this backend write, for the store to follow: called once,
    /// right after [`Backend::load`], so that the feed starts where the load ended. A backend
    /// kept by one server has none (the default).
    fn follower(&mut self) -> Result<Option<Box<dyn Follower>>, StoreError> {
        Ok(None)
    }

    /// This server's id among those sharing the lease set, unique among them (e.g. the row of
    /// a table of nodes that the database numbers), asked once, after [`Backend::load`]. The
    /// store puts it in the low 16 bits of every transaction number it makes, so two servers
    /// never write the same number: a guard based on a number this server wrote (a change
    /// still in flight, later refused) can then never pass over another server's row. A
    /// backend kept by one server has none (the default): numbers are then consecutive.
    fn writer_id(&self) -> Option<u16> {
        None
    }
}

/// One group commit as [`Backend::apply_group`] receives it.
#[derive(Debug, Clone, Copy)]
pub struct Group<'a> {
    /// Every change, in the order the store made them in memory.
    pub changes: &'a [Change],
    /// One guard per change (same index).
    pub guards: &'a [Guard],
    /// Where each batch ends in `changes` (exclusive), ascending; the last is
    /// `changes.len()`. Batch `i` is `changes[ends[i - 1]..ends[i]]` (from 0 for the first).
    pub ends: &'a [usize],
}

impl<'a> Group<'a> {
    /// The range of `changes` each batch covers, in order.
    pub fn batches(&self) -> impl Iterator<Item = std::ops::Range<usize>> + 'a {
        let ends = self.ends;
        ends.iter()
            .enumerate()
            .map(move |(i, &end)| if i == 0 { 0 } else { ends[i - 1] }..end)
    }
}

/// What a change assumes of the shared lease set, for a backend shared by several servers
/// (compare and swap per key). Every server numbers its writes above every number it has seen
/// (loaded, written or followed), so along one key's history in the database the numbers
/// only grow.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Guard {
    /// The transaction number ([`crate::Binding4::sequence`]) of the version of the key this
    /// server last knew durable when it made the change; 0: it knew none (the key was free).
    /// A shared backend writes the change only if the database still holds that version (or,
    /// for 0, no row or a tombstone numbered below [`Guard::sequence`]).
    pub based_on: u64,
    /// The change's own number: an upsert's record's sequence; for a delete, a fresh number
    /// the tombstone keeps.
    pub sequence: u64,
}

/// What [`Backend::apply_group`] did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Applied {
    /// Indexes (into [`Group::ends`]) of the batches not written because a guard failed,
    /// ascending.
    pub refused: Vec<usize>,
}

/// The changes other servers made to a shared lease set ([`Backend::follower`]).
pub trait Follower: Send + 'static {
    /// Waits at most `timeout` for changes committed by other servers since the last call
    /// (or since the load), and returns them in commit order (empty when none came). An error
    /// (the database is unreachable) is reported by the store, which calls again after a
    /// pause; the follower resumes from where it was.
    fn next(&mut self, timeout: Duration) -> Result<Vec<Remote>, StoreError>;
}

/// One change another server made, as the database holds it now.
#[derive(Debug, Clone)]
pub enum Remote {
    /// A DHCPv4 binding written (its `sequence` as written).
    V4(Binding4),
    /// A DHCPv4 binding deleted; `sequence`: the delete's number ([`Guard::sequence`]).
    V4Gone {
        /// The address.
        address: Ipv4Addr,
        /// The delete's number.
        sequence: u64,
    },
    /// A DHCPv6 binding written.
    V6(Binding6),
    /// A DHCPv6 binding deleted.
    V6Gone {
        /// The address or delegated prefix.
        key: Key6,
        /// The delete's number.
        sequence: u64,
    },
}

/// What [`Backend::load`] found, per address family.
#[derive(Debug, Default)]
pub struct Loaded {
    /// The DHCPv4 bindings that decoded.
    pub v4: Loaded4,
    /// The DHCPv6 bindings that decoded.
    pub v6: Loaded6,
    /// What was skipped (any family), and why.
    pub skipped: Vec<SkippedRow>,
    /// The meta table ([`Backend::set_meta`]), by key.
    pub meta: BTreeMap<String, String>,
}

/// A stored row (or region of the database) that could not be loaded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SkippedRow {
    /// The table ("lease4", "lease6", "meta").
    pub table: &'static str,
    /// The row's integer key as stored (lease4: the address as a number; lease6: the rowid),
    /// when it could be read.
    pub key: Option<i64>,
    /// Why it was skipped.
    pub reason: String,
}

impl fmt::Display for SkippedRow {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.key {
            Some(k) => write!(f, "{} row {}: {}", self.table, k, self.reason),
            None => write!(f, "{}: {}", self.table, self.reason),
        }
    }
}

/// A backend that keeps nothing (for tests and for running without persistence).
#[derive(Debug, Default)]
pub struct NullBackend;

impl Backend for NullBackend {
    fn load(&mut self) -> Result<Loaded, StoreError> {
        Ok(Loaded::default())
    }

    fn apply(&mut self, _changes: &[Change]) -> Result<(), StoreError> {
        Ok(())
    }
}
