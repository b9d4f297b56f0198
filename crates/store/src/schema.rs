//! The SQLite schema and its migrations.
//!
//! `schema_version` holds one row with the version of the schema in the file. Opening a database
//! runs, each in its own transaction, every migration after that version; a file whose version is
//! newer than this build knows is refused (a downgrade would lose data silently). A later version
//! (e.g. the DHCPv6 tables) is one more entry in [`MIGRATIONS`].

use std::path::Path;

use rusqlite::{Connection, OptionalExtension};

use crate::error::StoreError;

/// Migration `i` takes the schema from version `i` to `i + 1`.
pub const MIGRATIONS: &[&str] = &[
    // 0 -> 1: DHCPv4 bindings.
    r#"
CREATE TABLE lease4 (
    address          INTEGER PRIMARY KEY,  -- IPv4 address as an unsigned 32-bit number
    state            TEXT    NOT NULL,     -- offered|active|released|expired|declined|reserved
    htype            INTEGER NOT NULL,     -- hardware type (1 = Ethernet)
    chaddr           BLOB    NOT NULL,     -- hlen octets, at most 16
    client_id        BLOB,                 -- option 61 value
    lease_start      INTEGER NOT NULL,     -- seconds since the Unix epoch
    lease_end        INTEGER NOT NULL,     -- seconds since the Unix epoch (expiry)
    t1               INTEGER NOT NULL,     -- renewal time, seconds since the Unix epoch
    t2               INTEGER NOT NULL,     -- rebinding time, seconds since the Unix epoch
    cltt             INTEGER NOT NULL,     -- client-last-transaction-time, seconds since the epoch
    relay_agent_info BLOB,                 -- raw option 82 value of the most recent DHCPREQUEST
    circuit_id       BLOB,                 -- option 82 sub-option 1
    remote_id        BLOB,                 -- option 82 sub-option 2
    relay_id         BLOB,                 -- option 82 sub-option 12
    vendor_class_id  BLOB,                 -- option 60
    hostname         BLOB,                 -- option 12
    subnet           TEXT    NOT NULL      -- e.g. 192.0.2.0/24
);
CREATE VIEW lease4_text AS SELECT
    ((address >> 24) & 255) || '.' || ((address >> 16) & 255) || '.' ||
        ((address >> 8) & 255) || '.' || (address & 255) AS address,
    state,
    htype,
    lower(hex(chaddr)) AS chaddr,
    lower(hex(client_id)) AS client_id,
    datetime(lease_start, 'unixepoch') AS lease_start,
    datetime(lease_end, 'unixepoch') AS lease_end,
    datetime(cltt, 'unixepoch') AS cltt,
    lower(hex(relay_agent_info)) AS relay_agent_info,
    lower(hex(circuit_id)) AS circuit_id,
    lower(hex(remote_id)) AS remote_id,
    lower(hex(relay_id)) AS relay_id,
    CAST(vendor_class_id AS TEXT) AS vendor_class_id,
    CAST(hostname AS TEXT) AS hostname,
    subnet
FROM lease4;
"#,
];

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
