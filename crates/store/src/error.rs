//! The store's error type.
//!
//! `StoreError` is `Clone` because one commit completes many waiters (group commit): every change of a
//! failed batch is told the same error.

use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;

/// Everything that can go wrong in the store.
#[derive(Debug, Clone)]
pub enum StoreError {
    /// A variable-length field longer than the store keeps (65,534 octets).
    FieldTooLong {
        /// Which field.
        field: &'static str,
        /// Its length in octets.
        len: usize,
    },
    /// The database file exists but is not an SQLite database.
    NotADatabase {
        /// The file that was opened.
        path: PathBuf,
    },
    /// The database was written by a newer Lessor with a schema this build does not know.
    SchemaTooNew {
        /// The file that was opened.
        path: PathBuf,
        /// The version found in the file.
        found: i64,
        /// The newest version this build knows.
        supported: i64,
    },
    /// An error from the database, with what the store was doing.
    Database {
        /// What the store was doing ("open", "commit", ...).
        context: String,
        /// The database's own message.
        source: Arc<dyn std::error::Error + Send + Sync>,
    },
    /// The writer thread has stopped; the change was not persisted.
    WriterGone,
    /// Another process holds the store's lock ([`crate::lock`]): it writes the store.
    InUse {
        /// The store (database file).
        path: PathBuf,
        /// The holder's pid, as its lock file says.
        pid: Option<u32>,
        /// What the holder is ("lessor serve"), as its lock file says.
        holder: Option<String>,
    },
    /// The writer's queue is full (the disk does not keep up, or stalls); the change was not
    /// queued.
    Backlog {
        /// Changes queued when it was refused.
        queued: usize,
    },
    /// Another server sharing the lease set changed a key of this batch first (a guard did not
    /// hold: [`crate::Guard`]); nothing of the batch was written. Not a failure of the store:
    /// its health is unchanged, and the other server's version reaches memory through the
    /// follower.
    Taken,
}

impl StoreError {
    /// A database error with what the store (or a backend) was doing.
    pub fn db(
        context: impl Into<String>,
        source: impl std::error::Error + Send + Sync + 'static,
    ) -> Self {
        StoreError::Database {
            context: context.into(),
            source: Arc::new(source),
        }
    }
}

impl fmt::Display for StoreError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StoreError::FieldTooLong { field, len } => {
                write!(f, "{field} of {len} octets is longer than 65534")
            }
            StoreError::NotADatabase { path } => {
                write!(f, "{} is not an SQLite database", path.display())
            }
            StoreError::SchemaTooNew {
                path,
                found,
                supported,
            } => write!(
                f,
                "{}: schema version {found} is newer than this build supports ({supported})",
                path.display()
            ),
            StoreError::Database { context, source } => write!(f, "{context}: {source}"),
            StoreError::WriterGone => write!(f, "the store's writer thread has stopped"),
            StoreError::InUse { path, pid, holder } => {
                let pid = pid.map_or("pid unknown".to_owned(), |p| format!("pid {p}"));
                let holder = holder.as_ref().map_or(String::new(), |h| format!(", {h}"));
                write!(
                    f,
                    "store {} is in use by another process ({pid}{holder})",
                    path.display()
                )
            }
            StoreError::Backlog { queued } => {
                write!(f, "{queued} changes already wait for the disk; not queued")
            }
            StoreError::Taken => write!(
                f,
                "another server sharing the lease set changed this binding first; not written"
            ),
        }
    }
}

impl std::error::Error for StoreError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            StoreError::Database { source, .. } => Some(&**source),
            _ => None,
        }
    }
}
