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

use crate::change::Change;
use crate::error::StoreError;
use crate::v4::Loaded4;
use crate::v6::Loaded6;

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
