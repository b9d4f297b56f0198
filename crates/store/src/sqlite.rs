//! The embedded default backend: SQLite (bundled) in WAL mode with `synchronous=FULL`, one row per
//! binding with real columns (see [`crate::schema`]).
//!
//! Loading decodes row by row: a row that does not decode (unknown state, chaddr over 16 octets, a
//! value of the wrong type, an unparsable subnet...) is skipped and reported. When SQLite itself
//! fails while stepping through the table (a corrupt page), the failure is reported with the last
//! address read, and the scan resumes past it, probing further and further ahead (+1, +2, +4, ...)
//! until rows can be read again, so one bad page costs the rows on it and not the whole table.

use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};

use ipnet::Ipv4Net;
use rusqlite::types::ValueRef;
use rusqlite::{params, Connection, ErrorCode, OpenFlags, Row};

use crate::backend::{Backend, Loaded, SkippedRow};
use crate::v4::binding::{Binding4, Fields4, HwAddr, State4};
use crate::change::Change;
use crate::error::StoreError;
use crate::schema;

const TABLE4: &str = "lease4";

const COLUMNS4: &str = "address, state, htype, chaddr, client_id, lease_start, lease_end, t1, t2, \
     cltt, relay_agent_info, circuit_id, remote_id, relay_id, vendor_class_id, hostname, subnet";

/// SQLite persistence.
pub struct SqliteBackend {
    conn: Connection,
    path: PathBuf,
}

impl std::fmt::Debug for SqliteBackend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteBackend")
            .field("path", &self.path)
            .finish()
    }
}

fn open_error(path: &Path, what: &str, e: rusqlite::Error) -> StoreError {
    if e.sqlite_error_code() == Some(ErrorCode::NotADatabase) {
        StoreError::NotADatabase {
            path: path.to_path_buf(),
        }
    } else {
        StoreError::db(format!("{}: {what}", path.display()), e)
    }
}

impl SqliteBackend {
    /// Opens (creating if needed) the database at `path`, sets WAL mode and `synchronous=FULL`,
    /// and migrates the schema. A file that is not SQLite is [`StoreError::NotADatabase`].
    pub fn open(path: impl AsRef<Path>) -> Result<SqliteBackend, StoreError> {
        let path = path.as_ref();
        let mut conn = Connection::open_with_flags(
            path,
            OpenFlags::SQLITE_OPEN_READ_WRITE
                | OpenFlags::SQLITE_OPEN_CREATE
                | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .map_err(|e| open_error(path, "open", e))?;
        let mode: String = conn
            .pragma_update_and_check(None, "journal_mode", "WAL", |r| r.get(0))
            .map_err(|e| open_error(path, "set journal_mode=WAL", e))?;
        if !mode.eq_ignore_ascii_case("wal") {
            return Err(StoreError::db(
                format!("{}: set journal_mode=WAL", path.display()),
                std::io::Error::other(format!("SQLite kept journal_mode={mode}")),
            ));
        }
        conn.pragma_update(None, "synchronous", "FULL")
            .map_err(|e| open_error(path, "set synchronous=FULL", e))?;
        conn.busy_timeout(std::time::Duration::from_secs(10))
            .map_err(|e| open_error(path, "set busy_timeout", e))?;
        schema::migrate(&mut conn, path)?;
        Ok(SqliteBackend {
            conn,
            path: path.to_path_buf(),
        })
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Whether the first row at or after `from` (if any) can be read.
    fn readable_from(&self, from: i64) -> bool {
        let sql =
            format!("SELECT {COLUMNS4} FROM {TABLE4} WHERE address >= ?1 ORDER BY address LIMIT 1");
        let Ok(mut stmt) = self.conn.prepare(&sql) else {
            return false;
        };
        let Ok(mut rows) = stmt.query([from]) else {
            return false;
        };
        rows.next().is_ok()
    }

    /// Scans `lease4` from address `from`, pushing decoded rows. On a database error returns the
    /// last address read (if any) and the error.
    fn scan4(&self, from: i64, out: &mut Loaded) -> Result<(), (Option<i64>, rusqlite::Error)> {
        let mut last = None;
        let sql = format!("SELECT {COLUMNS4} FROM {TABLE4} WHERE address >= ?1 ORDER BY address");
        let mut stmt = self.conn.prepare(&sql).map_err(|e| (last, e))?;
        let mut rows = stmt.query([from]).map_err(|e| (last, e))?;
        loop {
            match rows.next() {
                Ok(Some(row)) => {
                    let key = row.get_ref(0).ok().and_then(|v| v.as_i64().ok());
                    if key.is_some() {
                        last = key;
                    }
                    match decode4(row) {
                        Ok(b) => out.bindings4.push(b),
                        Err(reason) => out.skipped.push(SkippedRow {
                            table: TABLE4,
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
}

/// Largest address value a row can have.
const MAX_ADDR: i64 = u32::MAX as i64;

fn bad(col: &str, what: impl std::fmt::Display) -> String {
    format!("column {col}: {what}")
}

fn int(row: &Row<'_>, i: usize, col: &str) -> Result<i64, String> {
    match row.get_ref(i).map_err(|e| bad(col, e))? {
        ValueRef::Integer(v) => Ok(v),
        other => Err(bad(
            col,
            format!("expected an integer, found {:?}", other.data_type()),
        )),
    }
}

fn time(row: &Row<'_>, i: usize, col: &str) -> Result<u64, String> {
    let v = int(row, i, col)?;
    u64::try_from(v).map_err(|_| bad(col, format!("negative time {v}")))
}

fn bytes<'r>(row: &'r Row<'_>, i: usize, col: &str) -> Result<Option<&'r [u8]>, String> {
    match row.get_ref(i).map_err(|e| bad(col, e))? {
        ValueRef::Null => Ok(None),
        ValueRef::Blob(b) | ValueRef::Text(b) => Ok(Some(b)),
        other => Err(bad(
            col,
            format!("expected a blob, found {:?}", other.data_type()),
        )),
    }
}

fn decode4(row: &Row<'_>) -> Result<Binding4, String> {
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
    let mut b = Binding4::new(Ipv4Addr::from(address as u32), subnet, hw, state).with_times(
        time(row, 5, "lease_start")?,
        time(row, 6, "lease_end")?,
        time(row, 7, "t1")?,
        time(row, 8, "t2")?,
        time(row, 9, "cltt")?,
    );
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

fn ts(t: u64) -> i64 {
    i64::try_from(t).unwrap_or(i64::MAX)
}

impl Backend for SqliteBackend {
    fn load(&mut self) -> Result<Loaded, StoreError> {
        let mut out = Loaded::default();
        let mut from = 0i64;
        while from <= MAX_ADDR {
            let Err((last, e)) = self.scan4(from, &mut out) else {
                break;
            };
            // Probe ahead (+1, +2, +4, ...) for a place where reading works again; the first
            // probe start is past every key already read, so `from` always moves on.
            let base = last.unwrap_or(from);
            let mut step = 1i64;
            let mut resume = None;
            while base + step <= MAX_ADDR {
                if self.readable_from(base + step) {
                    resume = Some(base + step);
                    break;
                }
                step *= 2;
            }
            let region = match last {
                Some(l) => format!("after address {}", addr_text(l)),
                None => format!("at or after address {}", addr_text(from)),
            };
            let rest = match resume {
                Some(r) => format!(
                    "rows from there up to address {} could not be read",
                    addr_text(r)
                ),
                None => "no row after it could be read".to_string(),
            };
            out.skipped.push(SkippedRow {
                table: TABLE4,
                key: None,
                reason: format!("database error {region}: {e}; {rest}"),
            });
            from = resume.unwrap_or(MAX_ADDR + 1);
        }
        Ok(out)
    }

    fn apply(&mut self, changes: &[Change]) -> Result<(), StoreError> {
        let path = self.path.display().to_string();
        let err = |what: &str, e: rusqlite::Error| StoreError::db(format!("{path}: {what}"), e);
        let tx = self
            .conn
            .transaction()
            .map_err(|e| err("begin transaction", e))?;
        {
            let mut upsert = tx
                .prepare_cached(&format!(
                    "INSERT OR REPLACE INTO {TABLE4} ({COLUMNS4}) VALUES \
                     (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17)"
                ))
                .map_err(|e| err("prepare upsert", e))?;
            let mut delete = tx
                .prepare_cached(&format!("DELETE FROM {TABLE4} WHERE address = ?1"))
                .map_err(|e| err("prepare delete", e))?;
            for change in changes {
                match change {
                    Change::Upsert4(b) if b.state.is_durable() => {
                        upsert
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
                            ])
                            .map_err(|e| err("write binding", e))?;
                    }
                    // Offers are not durable: the row keeps the last durable state.
                    Change::Upsert4(_) => {}
                    Change::Delete4(a) => {
                        delete
                            .execute([u32::from(*a)])
                            .map_err(|e| err("delete binding", e))?;
                    }
                }
            }
        }
        tx.commit().map_err(|e| err("commit", e))
    }
}
