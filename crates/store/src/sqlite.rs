//! The embedded default backend: SQLite (bundled) in WAL mode with `synchronous=FULL`, one row per
//! binding with real columns (see [`crate::schema`]).
//!
//! This module is the family-neutral part: the connection and its pragmas, the schema migration,
//! one transaction per group commit, and the helpers that decode a column. Each family's rows
//! (`lease4`: [`crate::v4`], `lease6`: [`crate::v6`]) are read and written by its own codec.
//!
//! Loading decodes row by row: a row that does not decode (unknown state, chaddr over 16 octets, a
//! value of the wrong type, an unparsable subnet or link, an address that is not 16 octets...) is
//! skipped and reported with its table (`lease4`, `lease6`). When SQLite itself
//! fails while stepping through a table (a corrupt page), the failure is reported with the last
//! key read (`lease6`: rowid), and the scan resumes past it, probing further and further ahead (+1, +2, +4, ...)
//! until rows can be read again, so one bad page costs the rows on it and not the whole table.

use std::path::{Path, PathBuf};

use rusqlite::types::ValueRef;
use rusqlite::{Connection, ErrorCode, OpenFlags, Row};

use crate::backend::{Backend, Loaded, SkippedRow};
use crate::change::Change;
use crate::error::StoreError;
use crate::lock::{self, StoreLock, Tightened};
use crate::schema;
use crate::{v4, v6};

/// SQLite persistence.
pub struct SqliteBackend {
    conn: Connection,
    path: PathBuf,
    /// The store's lock, for a backend that writes ([`SqliteBackend::open_exclusive`]): held
    /// as long as the backend lives (the store's writer thread owns it).
    lock: Option<StoreLock>,
    /// Store files that were readable by others when opened, made 0600.
    tightened: Vec<Tightened>,
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
    /// Opens for writing, as the only process that writes: takes the store's lock first
    /// ([`StoreLock`], naming this process `holder`, e.g. "lessor serve"), so a second writer
    /// fails at once with [`StoreError::InUse`] before it reads anything, then makes files
    /// others could read 0600 ([`SqliteBackend::tightened`] says which) and opens as
    /// [`SqliteBackend::open`] does.
    pub fn open_exclusive(
        path: impl AsRef<Path>,
        holder: &str,
    ) -> Result<SqliteBackend, StoreError> {
        let path = path.as_ref();
        let lock = StoreLock::acquire(path, holder)?;
        let tightened = lock::tighten(path)?;
        let mut backend = SqliteBackend::open(path)?;
        backend.lock = Some(lock);
        backend.tightened = tightened;
        Ok(backend)
    }

    /// Opens (creating if needed, mode 0600) the database at `path`, sets WAL mode and
    /// `synchronous=FULL`, and migrates the schema. A file that is not SQLite is
    /// [`StoreError::NotADatabase`]. Takes no lock: for readers, and for tests.
    pub fn open(path: impl AsRef<Path>) -> Result<SqliteBackend, StoreError> {
        let path = path.as_ref();
        lock::create_private(path)?;
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
            lock: None,
            tightened: Vec::new(),
        })
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The store's lock, when opened with [`SqliteBackend::open_exclusive`].
    pub fn lock(&self) -> Option<&StoreLock> {
        self.lock.as_ref()
    }

    /// The store files [`SqliteBackend::open_exclusive`] found readable by others and made
    /// 0600 (for the caller to warn about).
    pub fn tightened(&self) -> &[Tightened] {
        &self.tightened
    }
}

/// What a column failed to decode to: `column COL: WHAT` (the reason of a skipped row).
pub(crate) fn bad(col: &str, what: impl std::fmt::Display) -> String {
    format!("column {col}: {what}")
}

/// Column `i` (named `col`) as an integer.
pub(crate) fn int(row: &Row<'_>, i: usize, col: &str) -> Result<i64, String> {
    match row.get_ref(i).map_err(|e| bad(col, e))? {
        ValueRef::Integer(v) => Ok(v),
        other => Err(bad(
            col,
            format!("expected an integer, found {:?}", other.data_type()),
        )),
    }
}

/// Column `i` as a time (seconds since the Unix epoch, not negative).
pub(crate) fn time(row: &Row<'_>, i: usize, col: &str) -> Result<u64, String> {
    let v = int(row, i, col)?;
    u64::try_from(v).map_err(|_| bad(col, format!("negative time {v}")))
}

/// Column `i` as an optional byte string (a blob, or text taken as its octets).
pub(crate) fn bytes<'r>(row: &'r Row<'_>, i: usize, col: &str) -> Result<Option<&'r [u8]>, String> {
    match row.get_ref(i).map_err(|e| bad(col, e))? {
        ValueRef::Null => Ok(None),
        ValueRef::Blob(b) | ValueRef::Text(b) => Ok(Some(b)),
        other => Err(bad(
            col,
            format!("expected a blob, found {:?}", other.data_type()),
        )),
    }
}

/// Reads a table keyed by an integer from key 0 to `max` with `scan(from, skipped)` (which
/// reports the rows it cannot decode and returns, on a database error, the last key it read and
/// the error). When SQLite fails mid-table (a corrupt
/// page), the region is reported in `skipped` (`what` names the key column, `text` shows a key)
/// and the scan resumes past it, probing further and further ahead (+1, +2, +4, ...) with
/// `readable(from)` until rows can be read again.
pub(crate) fn scan_resuming(
    table: &'static str,
    what: &str,
    max: i64,
    mut scan: impl FnMut(i64, &mut Vec<SkippedRow>) -> Result<(), (Option<i64>, rusqlite::Error)>,
    readable: impl Fn(i64) -> bool,
    text: impl Fn(i64) -> String,
    skipped: &mut Vec<SkippedRow>,
) {
    let mut from = 0i64;
    while from <= max {
        let Err((last, e)) = scan(from, skipped) else {
            break;
        };
        // Probe ahead (+1, +2, +4, ...) for a place where reading works again; the first
        // probe start is past every key already read, so `from` always moves on.
        let base = last.unwrap_or(from);
        let mut step = 1i64;
        let mut resume = None;
        while base.saturating_add(step) <= max {
            if readable(base + step) {
                resume = Some(base + step);
                break;
            }
            step = step.saturating_mul(2);
        }
        let region = match last {
            Some(l) => format!("after {what} {}", text(l)),
            None => format!("at or after {what} {}", text(from)),
        };
        let rest = match resume {
            Some(r) => format!("rows from there up to {what} {} could not be read", text(r)),
            None => "no row after it could be read".to_string(),
        };
        skipped.push(SkippedRow {
            table,
            key: None,
            reason: format!("database error {region}: {e}; {rest}"),
        });
        match resume {
            Some(r) => from = r,
            None => break,
        }
    }
}

/// A time as the INTEGER column stores it (times past `i64::MAX` are kept as `i64::MAX`).
pub(crate) fn ts(t: u64) -> i64 {
    i64::try_from(t).unwrap_or(i64::MAX)
}

impl Backend for SqliteBackend {
    fn load(&mut self) -> Result<Loaded, StoreError> {
        let mut out = Loaded::default();
        v4::sqlite::load(&self.conn, &mut out.v4, &mut out.skipped);
        v6::sqlite::load(&self.conn, &mut out.v6, &mut out.skipped);
        // A meta table that cannot be read loses only bookkeeping: reported, not fatal.
        if let Err(e) = self.load_meta(&mut out.meta) {
            out.skipped.push(crate::backend::SkippedRow {
                table: "meta",
                key: None,
                reason: format!("database error: {e}"),
            });
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
            // Each family's statements are prepared on its first change of the group.
            let mut writer4 = None;
            let mut writer6 = None;
            for change in changes {
                match change {
                    Change::V4(c) => {
                        let w = match &mut writer4 {
                            Some(w) => w,
                            None => writer4.insert(
                                v4::sqlite::Writer::prepare(&tx)
                                    .map_err(|e| err("prepare lease4 statements", e))?,
                            ),
                        };
                        w.apply(c).map_err(|(what, e)| err(what, e))?;
                    }
                    Change::V6(c) => {
                        let w = match &mut writer6 {
                            Some(w) => w,
                            None => writer6.insert(
                                v6::sqlite::Writer::prepare(&tx)
                                    .map_err(|e| err("prepare lease6 statements", e))?,
                            ),
                        };
                        w.apply(c).map_err(|(what, e)| err(what, e))?;
                    }
                }
            }
        }
        tx.commit().map_err(|e| err("commit", e))
    }

    fn set_meta(&mut self, key: &str, value: &str) -> Result<(), StoreError> {
        self.conn
            .execute(
                "INSERT OR REPLACE INTO meta (key, value) VALUES (?1, ?2)",
                [key, value],
            )
            .map(|_| ())
            .map_err(|e| StoreError::db(format!("{}: write meta {key}", self.path.display()), e))
    }
}

impl SqliteBackend {
    fn load_meta(
        &self,
        out: &mut std::collections::BTreeMap<String, String>,
    ) -> Result<(), rusqlite::Error> {
        let mut stmt = self.conn.prepare("SELECT key, value FROM meta")?;
        let mut rows = stmt.query([])?;
        while let Some(row) = rows.next()? {
            if let (Ok(k), Ok(v)) = (row.get::<_, String>(0), row.get::<_, String>(1)) {
                out.insert(k, v);
            }
        }
        Ok(())
    }
}
