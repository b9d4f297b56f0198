//! Lessor's binding store: DHCPv4 bindings (DHCPv6 to follow beside them), in-memory indexes for
//! leasequery, O(1) consistent snapshots for bulk streaming, and durable persistence with group
//! commit.
//!
//! - [`Binding4`] / [`State4`] / [`HwAddr`]: the data model ([`binding4`]).
//! - [`Table`]: the generic in-memory table over any [`Record`]; persistent maps make
//!   [`Table::clone`] an O(1) snapshot ([`table`] explains the choice).
//! - [`Snapshot4`]: read-only v4 lookups (by address, MAC, client-id, relay-id, remote-id).
//! - [`Store`]: the table behind a short lock plus the writer thread; [`Completion`] tells a caller
//!   when its change is durable.
//! - [`Backend`]: persistence; [`SqliteBackend`] is the embedded default ([`schema`]).
//! - [`civil`]: calendar dates to days since 1970 and back, for the tools that show or read
//!   [`Timestamp`]s as dates.
//!
//! The store never reads the clock: every time is passed in by the caller, in seconds since the
//! Unix epoch. It does not parse DHCP messages either: the caller hands it option values (option 82
//! raw, and its sub-options already split out).

pub mod backend;
pub mod binding4;
pub mod change;
pub mod civil;
pub mod completion;
pub mod error;
mod packed;
pub mod record;
pub mod schema;
pub mod sqlite;
pub mod store;
pub mod table;
pub mod view4;
mod writer;

pub use backend::{Backend, Loaded, NullBackend, SkippedRow};
pub use binding4::{Binding4, Fields4, HwAddr, Index4, State4, Timestamp};
pub use change::Change;
pub use completion::{Completion, Ticket};
pub use error::StoreError;
pub use packed::MAX_FIELD_LEN;
pub use record::Record;
pub use sqlite::SqliteBackend;
pub use store::{Batch4, LoadReport, Store};
pub use table::{IndexCursor, Table};
pub use view4::Snapshot4;
pub use writer::completing_group;
pub use writer::{WriterStats, MAX_GROUP};
