//! The `lease4` rows of the SQLite backend: one row per DHCPv4 binding, keyed by the address as
//! an unsigned 32-bit number. The table is created by [`SCHEMA_1`] (a step of
//! [`crate::schema::MIGRATIONS`]).

use std::net::Ipv4Addr;

use ipnet::Ipv4Net;
use rusqlite::types::ValueRef;
use rusqlite::{params, CachedStatement, Connection, Row, Transaction};

use crate::backend::SkippedRow;
use crate::sqlite::{bad, bytes, int, scan_resuming, time, ts};
use crate::v4::binding::{Binding4, Fields4, HwAddr, State4};
use crate::v4::{Change4, Loaded4};

const TABLE: &str = "lease4";

/// Schema version 1: the `lease4` table and its readable view `lease4_text`.
pub(crate) const SCHEMA_1: &str = r#"
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
"#;

const COLUMNS: &str = "address, state, htype, chaddr, client_id, lease_start, lease_end, t1, t2, \
     cltt, relay_agent_info, circuit_id, remote_id, relay_id, vendor_class_id, hostname, subnet, \
     state_since, sequence";

/// Schema version 2: `state_since`, when the binding entered its state, and `sequence`, its
/// place in the store's order of transactions. Rows written before get
/// [`Binding4::implied_state_since`] (the same rule, in SQL) and sequence 0 (unknown: they tie
/// within a second, as they did).
pub(crate) const SCHEMA_2: &str = r#"
ALTER TABLE lease4 ADD COLUMN state_since INTEGER NOT NULL DEFAULT 0;
ALTER TABLE lease4 ADD COLUMN sequence INTEGER NOT NULL DEFAULT 0;
UPDATE lease4 SET state_since =
    CASE state WHEN 'expired' THEN lease_end WHEN 'released' THEN lease_end ELSE lease_start END;
DROP VIEW lease4_text;
CREATE VIEW lease4_text AS SELECT
    ((address >> 24) & 255) || '.' || ((address >> 16) & 255) || '.' ||
        ((address >> 8) & 255) || '.' || (address & 255) AS address,
    state,
    datetime(state_since, 'unixepoch') AS state_since,
    htype,
    lower(hex(chaddr)) AS chaddr,
    lower(hex(client_id)) AS client_id,
    datetime(lease_start, 'unixepoch') AS lease_start,
    datetime(lease_end, 'unixepoch') AS lease_end,
    datetime(cltt, 'unixepoch') AS cltt,
    sequence,
    lower(hex(relay_agent_info)) AS relay_agent_info,
    lower(hex(circuit_id)) AS circuit_id,
    lower(hex(remote_id)) AS remote_id,
    lower(hex(relay_id)) AS relay_id,
    CAST(vendor_class_id AS TEXT) AS vendor_class_id,
    CAST(hostname AS TEXT) AS hostname,
    subnet
FROM lease4;
"#;

/// Largest address value a row can have.
const MAX_ADDR: i64 = u32::MAX as i64;

/// Whether the first row at or after `from` (if any) can be read.
fn readable_from(conn: &Connection, from: i64) -> bool {
    let sql = format!("SELECT {COLUMNS} FROM {TABLE} WHERE address >= ?1 ORDER BY address LIMIT 1");
    let Ok(mut stmt) = conn.prepare(&sql) else {
        return false;
    };
    let Ok(mut rows) = stmt.query([from]) else {
        return false;
    };
    rows.next().is_ok()
}

/// Scans `lease4` from address `from`, pushing decoded rows. On a database error returns the
/// last address read (if any) and the error.
fn scan(
    conn: &Connection,
    from: i64,
    out: &mut Loaded4,
    skipped: &mut Vec<SkippedRow>,
) -> Result<(), (Option<i64>, rusqlite::Error)> {
    let mut last = None;
    let sql = format!("SELECT {COLUMNS} FROM {TABLE} WHERE address >= ?1 ORDER BY address");
    let mut stmt = conn.prepare(&sql).map_err(|e| (last, e))?;
    let mut rows = stmt.query([from]).map_err(|e| (last, e))?;
    loop {
        match rows.next() {
            Ok(Some(row)) => {
                let key = row.get_ref(0).ok().and_then(|v| v.as_i64().ok());
                if key.is_some() {
                    last = key;
                }
                match decode(row) {
                    Ok(b) => out.bindings.push(b),
                    Err(reason) => skipped.push(SkippedRow {
                        table: TABLE,
                        key,
                        reason,
                    }),
                }
            }
            Ok(None) => return Ok(()),
            Err(e) => return Err((last, e)),
        }
    }
}

fn decode(row: &Row<'_>) -> Result<Binding4, String> {
    let address = int(row, 0, "address")?;
    if !(0..=MAX_ADDR).contains(&address) {
        return Err(bad("address", format!("{address} is not an IPv4 address")));
    }
    let state = match row.get_ref(1).map_err(|e| bad("state", e))? {
        ValueRef::Text(t) => std::str::from_utf8(t).ok().and_then(State4::from_name),
        _ => None,
    }
    .ok_or_else(|| bad("state", "unknown state"))?;
    let htype = u8::try_from(int(row, 2, "htype")?).map_err(|_| bad("htype", "not an octet"))?;
    let chaddr = bytes(row, 3, "chaddr")?.ok_or_else(|| bad("chaddr", "missing"))?;
    let hw = HwAddr::new(htype, chaddr).map_err(|e| bad("chaddr", e))?;
    let subnet: Ipv4Net = match row.get_ref(16).map_err(|e| bad("subnet", e))? {
        ValueRef::Text(t) => std::str::from_utf8(t).ok().and_then(|s| s.parse().ok()),
        _ => None,
    }
    .ok_or_else(|| bad("subnet", "not an IPv4 prefix"))?;
    let mut b = Binding4::new(Ipv4Addr::from(address as u32), subnet, hw, state)
        .with_times(
            time(row, 5, "lease_start")?,
            time(row, 6, "lease_end")?,
            time(row, 7, "t1")?,
            time(row, 8, "t2")?,
            time(row, 9, "cltt")?,
        )
        .with_state_since(time(row, 17, "state_since")?);
    b.sequence =
        u64::try_from(int(row, 18, "sequence")?).map_err(|_| bad("sequence", "negative"))?;
    b.set_fields(Fields4 {
        client_id: bytes(row, 4, "client_id")?,
        relay_agent_information: bytes(row, 10, "relay_agent_info")?,
        circuit_id: bytes(row, 11, "circuit_id")?,
        remote_id: bytes(row, 12, "remote_id")?,
        relay_id: bytes(row, 13, "relay_id")?,
        vendor_class_id: bytes(row, 14, "vendor_class_id")?,
        hostname: bytes(row, 15, "hostname")?,
    })
    .map_err(|e| e.to_string())?;
    Ok(b)
}

/// An address column value as dotted quad (for reports).
fn addr_text(v: i64) -> String {
    match u32::try_from(v) {
        Ok(a) => format!("{} ({v})", Ipv4Addr::from(a)),
        Err(_) => v.to_string(),
    }
}

/// Reads every `lease4` row into `out`; rows that do not decode, and regions SQLite cannot read,
/// go to `skipped`.
pub(crate) fn load(conn: &Connection, out: &mut Loaded4, skipped: &mut Vec<SkippedRow>) {
    scan_resuming(
        TABLE,
        "address",
        MAX_ADDR,
        |from, skipped| scan(conn, from, out, skipped),
        |from| readable_from(conn, from),
        addr_text,
        skipped,
    );
}

/// The `lease4` statements of one transaction.
pub(crate) struct Writer<'tx> {
    upsert: CachedStatement<'tx>,
    delete: CachedStatement<'tx>,
}

impl<'tx> Writer<'tx> {
    pub(crate) fn prepare(tx: &'tx Transaction<'_>) -> Result<Writer<'tx>, rusqlite::Error> {
        Ok(Writer {
            upsert: tx.prepare_cached(&format!(
                "INSERT OR REPLACE INTO {TABLE} ({COLUMNS}) VALUES \
                 (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19)"
            ))?,
            delete: tx.prepare_cached(&format!("DELETE FROM {TABLE} WHERE address = ?1"))?,
        })
    }

    /// Writes one change; on failure, what was being done and the error.
    pub(crate) fn apply(
        &mut self,
        change: &Change4,
    ) -> Result<(), (&'static str, rusqlite::Error)> {
        match change {
            Change4::Upsert(b) if b.state.is_durable() => {
                self.upsert
                    .execute(params![
                        u32::from(b.address),
                        b.state.as_str(),
                        b.hw.htype(),
                        b.hw.chaddr(),
                        b.client_id(),
                        ts(b.start),
                        ts(b.end),
                        ts(b.t1),
                        ts(b.t2),
                        ts(b.cltt),
                        b.relay_agent_information(),
                        b.circuit_id(),
                        b.remote_id(),
                        b.relay_id(),
                        b.vendor_class_id(),
                        b.hostname(),
                        b.subnet.to_string(),
                        ts(b.state_since),
                        ts(b.sequence),
                    ])
                    .map_err(|e| ("write binding", e))?;
            }
            // Offers are not durable: the row keeps the last durable state.
            Change4::Upsert(_) => {}
            Change4::Delete(a) => {
                self.delete
                    .execute([u32::from(*a)])
                    .map_err(|e| ("delete binding", e))?;
            }
        }
        Ok(())
    }
}
