//! The `lease6` rows of the SQLite backend: one row per DHCPv6 binding (an address or a
//! delegated prefix), unique by `(address, prefix_len)`, the address as its 16 octets (so the
//! table's order is the store's key order). Rows are read in rowid order, which lets a scan
//! resume past a region SQLite cannot read as `lease4`'s does; a skipped row is reported by its
//! rowid (an address does not fit the report's integer key), its reason ending with the
//! binding's address or prefix when those columns could be read. The table is created by
//! [`SCHEMA_4`] (a step of [`crate::schema::MIGRATIONS`]).

use std::net::Ipv6Addr;

use ipnet::Ipv6Net;
use rusqlite::types::ValueRef;
use rusqlite::{params, CachedStatement, Connection, Row, Transaction};

use crate::backend::SkippedRow;
use crate::sqlite::{bad, bytes, int, scan_resuming, time, ts};
use crate::v6::binding::{Binding6, Fields6, IaType, State6};
use crate::v6::{Change6, Loaded6};

const TABLE: &str = "lease6";

/// Schema version 4: the `lease6` table and its readable view `lease6_text`.
pub(crate) const SCHEMA_4: &str = r#"
CREATE TABLE lease6 (
    address       BLOB    NOT NULL,  -- 16 octets: the address, or the delegated prefix's first
    prefix_len    INTEGER NOT NULL,  -- 128 for an address (IA_NA), else the prefix length (IA_PD)
    ia_type       TEXT    NOT NULL,  -- ia-na|ia-pd
    iaid          INTEGER NOT NULL,  -- the IA's IAID
    state         TEXT    NOT NULL,  -- active|released|expired|declined|reserved
    link          TEXT    NOT NULL,  -- the client's link, e.g. 2001:db8:1::/64
    duid          BLOB,              -- the client's DUID (OPTION_CLIENTID value)
    lease_start   INTEGER NOT NULL,  -- seconds since the Unix epoch
    preferred_end INTEGER NOT NULL,  -- end of the preferred lifetime
    valid_end     INTEGER NOT NULL,  -- end of the valid lifetime (expiry)
    t1            INTEGER NOT NULL,  -- the IA's T1, seconds since the Unix epoch
    t2            INTEGER NOT NULL,  -- the IA's T2, seconds since the Unix epoch
    cltt          INTEGER NOT NULL,  -- client-last-transaction-time
    state_since   INTEGER NOT NULL,  -- when the binding entered its state
    sequence      INTEGER NOT NULL,  -- the store's order of transactions
    relay_peer    BLOB,              -- 16 octets: source of the outermost RELAY-FORW
    relay_chain   BLOB,              -- RELAY-FORW chain without the client's message
    interface_id  BLOB,              -- option 18
    remote_id     BLOB,              -- option 37 (enterprise number included)
    relay_id      BLOB,              -- option 53
    UNIQUE (address, prefix_len)
);
CREATE VIEW lease6_text AS SELECT
    lower(hex(address)) AS address,
    prefix_len,
    ia_type,
    iaid,
    state,
    datetime(state_since, 'unixepoch') AS state_since,
    link,
    lower(hex(duid)) AS duid,
    datetime(lease_start, 'unixepoch') AS lease_start,
    datetime(preferred_end, 'unixepoch') AS preferred_end,
    datetime(valid_end, 'unixepoch') AS valid_end,
    datetime(cltt, 'unixepoch') AS cltt,
    sequence,
    lower(hex(relay_peer)) AS relay_peer,
    lower(hex(relay_chain)) AS relay_chain,
    lower(hex(interface_id)) AS interface_id,
    lower(hex(remote_id)) AS remote_id,
    lower(hex(relay_id)) AS relay_id
FROM lease6;
"#;

const COLUMNS: &str = "address, prefix_len, ia_type, iaid, state, link, duid, lease_start, \
     preferred_end, valid_end, t1, t2, cltt, state_since, sequence, relay_peer, relay_chain, \
     interface_id, remote_id, relay_id";

/// Whether the first row at or after rowid `from` (if any) can be read.
fn readable_from(conn: &Connection, from: i64) -> bool {
    let sql =
        format!("SELECT rowid, {COLUMNS} FROM {TABLE} WHERE rowid >= ?1 ORDER BY rowid LIMIT 1");
    let Ok(mut stmt) = conn.prepare(&sql) else {
        return false;
    };
    let Ok(mut rows) = stmt.query([from]) else {
        return false;
    };
    rows.next().is_ok()
}

/// Scans `lease6` from rowid `from`, pushing decoded rows. On a database error returns the last
/// rowid read (if any) and the error.
fn scan(
    conn: &Connection,
    from: i64,
    out: &mut Loaded6,
    skipped: &mut Vec<SkippedRow>,
) -> Result<(), (Option<i64>, rusqlite::Error)> {
    let mut last = None;
    let sql = format!("SELECT rowid, {COLUMNS} FROM {TABLE} WHERE rowid >= ?1 ORDER BY rowid");
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
                        reason: match which(row) {
                            Some(w) => format!("{reason} ({w})"),
                            None => reason,
                        },
                    }),
                }
            }
            Ok(None) => return Ok(()),
            Err(e) => return Err((last, e)),
        }
    }
}

/// Column `i` as an IPv6 address (16 octets).
fn address(row: &Row<'_>, i: usize, col: &str) -> Result<Option<Ipv6Addr>, String> {
    match bytes(row, i, col)? {
        None => Ok(None),
        Some(b) => <[u8; 16]>::try_from(b)
            .map(|o| Some(Ipv6Addr::from(o)))
            .map_err(|_| bad(col, format!("{} octets, not an IPv6 address", b.len()))),
    }
}

/// The address or prefix of a row that did not decode, when those columns can be read: the
/// rowid alone does not say which binding was lost.
fn which(row: &Row<'_>) -> Option<String> {
    let addr = address(row, 1, "address").ok()??;
    match int(row, 2, "prefix_len").ok()? {
        128 => Some(addr.to_string()),
        len => Some(format!("{addr}/{len}")),
    }
}

/// Column `i` as text.
fn text<'r>(row: &'r Row<'_>, i: usize, col: &str) -> Result<&'r str, String> {
    match row.get_ref(i).map_err(|e| bad(col, e))? {
        ValueRef::Text(t) => std::str::from_utf8(t).map_err(|_| bad(col, "not UTF-8")),
        other => Err(bad(
            col,
            format!("expected text, found {:?}", other.data_type()),
        )),
    }
}

// Column positions after the rowid.
fn decode(row: &Row<'_>) -> Result<Binding6, String> {
    let addr = address(row, 1, "address")?.ok_or_else(|| bad("address", "missing"))?;
    let prefix_len = u8::try_from(int(row, 2, "prefix_len")?)
        .ok()
        .filter(|l| *l <= 128)
        .ok_or_else(|| bad("prefix_len", "not a prefix length"))?;
    if Ipv6Net::new(addr, prefix_len).map(|n| n.network()) != Ok(addr) {
        return Err(bad(
            "address",
            format!("{addr} is not the first address of a /{prefix_len}"),
        ));
    }
    let ia_type = IaType::from_name(text(row, 3, "ia_type")?)
        .ok_or_else(|| bad("ia_type", "unknown IA type"))?;
    let iaid = u32::try_from(int(row, 4, "iaid")?).map_err(|_| bad("iaid", "not 32 bits"))?;
    let state =
        State6::from_name(text(row, 5, "state")?).ok_or_else(|| bad("state", "unknown state"))?;
    let link: Ipv6Net = text(row, 6, "link")?
        .parse()
        .map_err(|_| bad("link", "not an IPv6 prefix"))?;
    let mut b = Binding6::new(addr, prefix_len, ia_type, &[], iaid, link, state)
        .map_err(|e| e.to_string())?
        .with_times(
            time(row, 8, "lease_start")?,
            time(row, 9, "preferred_end")?,
            time(row, 10, "valid_end")?,
            time(row, 11, "t1")?,
            time(row, 12, "t2")?,
            time(row, 13, "cltt")?,
        )
        .with_state_since(time(row, 14, "state_since")?);
    b.sequence =
        u64::try_from(int(row, 15, "sequence")?).map_err(|_| bad("sequence", "negative"))?;
    b.relay_peer = address(row, 16, "relay_peer")?;
    b.set_fields(Fields6 {
        duid: bytes(row, 7, "duid")?,
        relay_chain: bytes(row, 17, "relay_chain")?,
        interface_id: bytes(row, 18, "interface_id")?,
        remote_id: bytes(row, 19, "remote_id")?,
        relay_id: bytes(row, 20, "relay_id")?,
    })
    .map_err(|e| e.to_string())?;
    Ok(b)
}

/// Reads every `lease6` row into `out`; rows that do not decode, and regions SQLite cannot read,
/// go to `skipped`.
pub(crate) fn load(conn: &Connection, out: &mut Loaded6, skipped: &mut Vec<SkippedRow>) {
    scan_resuming(
        TABLE,
        "rowid",
        i64::MAX,
        |from, skipped| scan(conn, from, out, skipped),
        |from| readable_from(conn, from),
        |rowid| rowid.to_string(),
        skipped,
    );
}

/// The `lease6` statements of one transaction.
pub(crate) struct Writer<'tx> {
    upsert: CachedStatement<'tx>,
    delete: CachedStatement<'tx>,
}

impl<'tx> Writer<'tx> {
    pub(crate) fn prepare(tx: &'tx Transaction<'_>) -> Result<Writer<'tx>, rusqlite::Error> {
        Ok(Writer {
            upsert: tx.prepare_cached(&format!(
                "INSERT OR REPLACE INTO {TABLE} ({COLUMNS}) VALUES \
                 (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20)"
            ))?,
            delete: tx.prepare_cached(&format!(
                "DELETE FROM {TABLE} WHERE address = ?1 AND prefix_len = ?2"
            ))?,
        })
    }

    /// Writes one change; on failure, what was being done and the error.
    pub(crate) fn apply(
        &mut self,
        change: &Change6,
    ) -> Result<(), (&'static str, rusqlite::Error)> {
        match change {
            Change6::Upsert(b) if b.state.is_durable() => {
                self.upsert
                    .execute(params![
                        &b.address.octets()[..],
                        b.prefix_len,
                        b.ia_type.as_str(),
                        b.iaid,
                        b.state.as_str(),
                        b.link.to_string(),
                        b.duid(),
                        ts(b.start),
                        ts(b.preferred_end),
                        ts(b.valid_end),
                        ts(b.t1),
                        ts(b.t2),
                        ts(b.cltt),
                        ts(b.state_since),
                        ts(b.sequence),
                        b.relay_peer.map(|a| a.octets().to_vec()),
                        b.relay_chain(),
                        b.interface_id(),
                        b.remote_id(),
                        b.relay_id(),
                    ])
                    .map_err(|e| ("write binding6", e))?;
            }
            // Advertisements are not durable: the row keeps the last durable state.
            Change6::Upsert(_) => {}
            Change6::Delete(key) => {
                self.delete
                    .execute(params![&key.address().octets()[..], key.prefix_len()])
                    .map_err(|e| ("delete binding6", e))?;
            }
        }
        Ok(())
    }
}
