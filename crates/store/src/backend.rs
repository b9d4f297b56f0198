//! The persistence interface: what the writer thread calls.
//!
//! The trait is synchronous on purpose: it is driven by the store's single writer thread, so a
//! backend (SQLite now, PostgreSQL later through a blocking client) needs no async runtime.

use std::fmt;

use crate::v4::binding::Binding4;
use crate::change::Change;
use crate::error::StoreError;

/// A persistence backend.
pub trait Backend: Send + 'static {
    /// Reads every stored binding. Rows that cannot be decoded are skipped and reported in
    /// [`Loaded::skipped`]; only a failure to read the store at all is an error.
    fn load(&mut self) -> Result<Loaded, StoreError>;

    /// Writes `changes` in order, in one transaction, and returns once they are durable.
    fn apply(&mut self, changes: &[Change]) -> Result<(), StoreError>;
}

/// What [`Backend::load`] found.
#[derive(Debug, Default)]
pub struct Loaded {
    /// The DHCPv4 bindings that decoded.
    pub bindings4: Vec<Binding4>,
    /// What was skipped, and why.
    pub skipped: Vec<SkippedRow>,
}

/// A stored row (or region of the database) that could not be loaded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SkippedRow {
    /// The table ("lease4").
    pub table: &'static str,
    /// The row's key as stored (the address column), when it could be read.
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
