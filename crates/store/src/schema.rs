//! The SQLite schema and its migrations.
//!
//! `schema_version` holds one row with the version of the schema in the file. Opening a database
//! runs, each in its own transaction, every migration after that version; a file whose version is
//! newer than this build knows is refused (a downgrade would lose data silently). A later version is
//! one more entry in [`MIGRATIONS`]. The SQL of each family's tables lives beside its row codec
//! (`lease4`: the v4 module, `lease6`: the v6 module); the runner here knows no family.

use std::path::Path;

use rusqlite::{Connection, OptionalExtension};

use crate::error::StoreError;
use crate::{v4, v6};

/// Migration `i` takes the schema from version `i` to `i + 1`.
pub const MIGRATIONS: &[&str] = &[
    // 0 -> 1: DHCPv4 bindings.
    v4::sqlite::SCHEMA_1,
    // 1 -> 2: lease4.state_since (RFC 6926 start-time-of-state) and lease4.sequence.
    v4::sqlite::SCHEMA_2,
    // 2 -> 3: the store's own bookkeeping (quarantine end, probes).
    META_3,
    // 3 -> 4: DHCPv6 bindings.
    v6::sqlite::SCHEMA_4,
];

/// Schema version 3: `meta`, one value per key for the store's users (see
/// [`crate::Backend::set_meta`]).
pub(crate) const META_3: &str = "
CREATE TABLE meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
";

/// The newest schema version this build knows.
pub fn current_version() -> i64 {
    MIGRATIONS.len() as i64
}

/// Brings the schema of `conn` to [`current_version`].
pub fn migrate(conn: &mut Connection, path: &Path) -> Result<(), StoreError> {
    let ctx = |what: &str| format!("{}: {what}", path.display());
    conn.execute_batch(
        "CREATE TABLE IF NOT EXISTS schema_version (
            id      INTEGER PRIMARY KEY CHECK (id = 1),
            version INTEGER NOT NULL
        );",
    )
    .map_err(|e| StoreError::db(ctx("create schema_version"), e))?;
    let found: i64 = conn
        .query_row("SELECT version FROM schema_version WHERE id = 1", [], |r| {
            r.get(0)
        })
        .optional()
        .map_err(|e| StoreError::db(ctx("read schema_version"), e))?
        .unwrap_or(0);
    if found > current_version() {
        return Err(StoreError::SchemaTooNew {
            path: path.to_path_buf(),
            found,
            supported: current_version(),
        });
    }
    for (from, sql) in MIGRATIONS.iter().enumerate().skip(found.max(0) as usize) {
        let to = from as i64 + 1;
        let tx = conn
            .transaction()
            .map_err(|e| StoreError::db(ctx("begin migration"), e))?;
        tx.execute_batch(sql)
            .map_err(|e| StoreError::db(ctx(&format!("migrate schema to version {to}")), e))?;
        tx.execute(
            "INSERT OR REPLACE INTO schema_version (id, version) VALUES (1, ?1)",
            [to],
        )
        .map_err(|e| StoreError::db(ctx("write schema_version"), e))?;
        tx.commit()
            .map_err(|e| StoreError::db(ctx("commit migration"), e))?;
    }
    Ok(())
}
