//! Lessor's binding store: DHCPv4 bindings (DHCPv6 to follow beside them), in-memory indexes for
//! leasequery, O(1) consistent snapshots for bulk streaming, and durable persistence with group
//! commit.
//!
//! - [`Binding4`] / [`State4`] / [`HwAddr`]: the data model ([`v4::binding`]).
//! - [`Table`]: the generic in-memory table over any [`Record`]; persistent maps make
//!   [`Table::clone`] an O(1) snapshot ([`table`] explains the choice).
//! - [`Snapshot4`]: read-only v4 lookups (by address, MAC, client-id, relay-id, remote-id).
//! - [`Store`]: the table behind a short lock plus the writer thread; [`Completion`] tells a caller
//!   when its change is durable.
//! - [`Backend`]: persistence; [`SqliteBackend`] is the embedded default ([`schema`]).
//!
//! The store never reads the clock: every time is passed in by the caller, in seconds since the
//! Unix epoch. It does not parse DHCP messages either: the caller hands it option values (option 82
//! raw, and its sub-options already split out).

pub mod backend;
pub mod change;
pub mod completion;
pub mod error;
mod packed;
pub mod record;
pub mod schema;
pub mod sqlite;
pub mod store;
pub mod table;
pub mod v4;
mod writer;

pub use backend::{Backend, Loaded, NullBackend, SkippedRow};
pub use v4::binding::{Binding4, Fields4, HwAddr, Index4, State4, Timestamp};
pub use change::Change;
pub use completion::{Completion, Ticket};
pub use error::StoreError;
pub use packed::MAX_FIELD_LEN;
pub use record::Record;
pub use sqlite::SqliteBackend;
pub use store::{Batch4, LoadReport, Store};
pub use table::{IndexCursor, Table};
pub use v4::snapshot::Snapshot4;
pub use writer::completing_group;
pub use writer::{WriterStats, MAX_GROUP};
