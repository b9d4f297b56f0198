//! Lessor's binding store: DHCPv4 and DHCPv6 bindings, in-memory indexes for leasequery, O(1)
//! consistent snapshots for bulk streaming, and durable persistence with group commit.
//!
//! Shared by every address family:
//! - [`Store`]: opening, the writer thread, durability barriers ([`Store::sync`]); [`Completion`]
//!   tells a caller when its change is durable.
//! - [`Table`]: the generic in-memory table over any [`Record`]; persistent maps make
//!   [`Table::clone`] an O(1) snapshot ([`table`] explains the choice).
//! - [`StoreLock`]: one writing process per store, and store files only their owner reads
//!   ([`lock`]).
//! - [`Backend`]: persistence, the boundary a database implements; [`SqliteBackend`] is the
//!   embedded default ([`schema`]); [`Change`] and [`Loaded`] carry one part per family.
//! - [`Health`]: whether the store commits ([`Store::health`], [`Store::probe`],
//!   [`Store::backlog`]).
//!
//! What the families share, generic over the record: the durable overlay, batches, settling a
//! commit and rolling back a failed one (`family`), and lookups and cursors over a live or durable
//! view (`view`).
//!
//! Per family, in its own module ([`v4`], [`v6`]):
//! - [`Binding4`] / [`State4`] / [`HwAddr`]: the DHCPv4 data model ([`v4::binding`]).
//! - [`Store::v4`] gives a [`Front4`]: snapshot, get, write ([`Batch4`]), upsert, delete, expire.
//! - [`Snapshot4`]: read-only v4 lookups (by address, MAC, client-id, relay-id, remote-id),
//!   live (what the DHCP engine wrote) or durable (what leasequery may report).
//! - [`Binding6`] / [`State6`] / [`IaType`]: the DHCPv6 data model, one record per address or
//!   delegated prefix ([`v6::binding`]).
//! - [`Store::v6`] gives a [`Front6`]: snapshot, get, write ([`Batch6`]), upsert, delete, expire.
//! - [`Snapshot6`]: read-only v6 lookups (by key, the binding containing an address, DUID, IA,
//!   link, relay-id, remote-id; [`Cursor6`] streams), live or durable.
//! - [`civil`]: calendar dates to days since 1970 and back, for the tools that show or read
//!   [`Timestamp`]s as dates.
//!
//! The store never reads the clock: every time is passed in by the caller, in seconds since the
//! Unix epoch. It does not parse DHCP messages either: the caller hands it option values (option 82
//! raw, and its sub-options already split out).

pub mod backend;
pub mod change;
pub mod civil;
pub mod completion;
pub mod error;
pub(crate) mod family;
pub mod follow;
pub mod lock;
mod packed;
pub(crate) mod points;
pub mod record;
pub mod schema;
pub mod shared;
pub mod sqlite;
pub mod store;
pub mod table;
pub mod v4;
pub mod v6;
pub(crate) mod view;
mod writer;

pub use backend::{
    Applied, Backend, Follower, Group, Guard, Loaded, NullBackend, Remote, SkippedRow,
};
pub use change::Change;
pub use completion::{Completion, Deferred, Ticket};
pub use error::StoreError;
pub use follow::FollowerStats;
pub use lock::{StoreLock, Tightened};
pub use packed::MAX_FIELD_LEN;
pub use record::{Record, Timestamp};
pub use shared::{SharedMemory, SharedMemoryBackend};
pub use sqlite::SqliteBackend;
pub use store::{FamilyReport, LoadReport, Store};
pub use table::{IndexCursor, RankedCursor, Table};
pub use v4::binding::{Binding4, Fields4, HwAddr, Index4, State4, MAX_CLIENT_FIELD};
pub use v4::front::{Batch4, Front4};
pub use v4::snapshot::{Cursor4, Snapshot4};
pub use v4::{Change4, Loaded4};
pub use v6::binding::{
    link_key, Binding6, Fields6, IaType, Index6, Key6, State6, MAX_DUID, MAX_RELAY_CHAIN,
    MAX_RELAY_FIELD,
};
pub use v6::front::{Batch6, Front6};
pub use v6::lookup::{Lookup6, Points6};
pub use v6::snapshot::{Cursor6, Snapshot6};
pub use v6::{Change6, Loaded6};
pub use writer::completing_group;
pub use writer::{Health, Latency, WriterStats, LATENCY_BOUNDS, MAX_BACKLOG, MAX_GROUP};
