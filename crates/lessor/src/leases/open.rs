//! Which store a `lessor leases` command works on, and opening it: a SQLite file (taken alone,
//! as `lessor serve` takes it: docs/operator-guide.md, "One process per store") or a PostgreSQL
//! database (shared: no lock; connected without a follower, under the name `lessor-leases` or
//! `--name`). Every message names the store with a URL's password masked.

use lessor_server::config::store::{StoreConfig, StoreLocation};
use lessor_server::serve::store::pg_options;
use lessor_store::{Backend, SqliteBackend, Store, StoreError};
use lessor_store_pg::PgBackend;

use super::{Fail, Outcome};

/// The name `lessor leases` writes under in a shared store, unless `--name` says another.
pub const NODE: &str = "lessor-leases";

/// A store named on the command line or by a configuration.
#[derive(Debug, Clone)]
pub(crate) struct Target {
    pub(crate) store: StoreConfig,
}

impl Target {
    /// `--store PATH|URL` (without a configuration: a URL's `[server.postgresql]` defaults).
    pub(crate) fn from_arg(text: &str, name: Option<&str>) -> Outcome<Target> {
        let location = StoreLocation::parse(text).map_err(|e| Fail(format!("--store: {e}")))?;
        Ok(Target {
            store: StoreConfig {
                location,
                name: name.unwrap_or(NODE).to_string(),
                postgresql: None,
            },
        })
    }

    /// The store of a checked configuration, written under `name` (default `lessor-leases`,
    /// never the server's own name: its follower would skip what this command writes).
    pub(crate) fn from_config(store: StoreConfig, name: Option<&str>) -> Target {
        Target {
            store: StoreConfig {
                name: name.unwrap_or(NODE).to_string(),
                ..store
            },
        }
    }

    /// The SQLite file, if it is one.
    pub(crate) fn path(&self) -> Option<&std::path::Path> {
        self.store.location.path()
    }

    /// Whether the store is there to read (a database is asked when opened).
    pub(crate) fn exists(&self) -> bool {
        self.path().is_none_or(|p| p.exists())
    }

    /// Opens the store to write it: a SQLite file as the only process that does (fails at once
    /// while `lessor serve` or another import holds it; files it creates are its owner's only),
    /// a database by connecting. `who` is what a refused SQLite lock names.
    pub(crate) fn writer(&self, who: &str) -> Outcome<Box<dyn Backend>> {
        match &self.store.location {
            StoreLocation::Sqlite(path) => {
                lessor_net::process::restrict_umask();
                let backend = SqliteBackend::open_exclusive(path, who).map_err(|e| match e {
                    StoreError::InUse { .. } => {
                        let done = if who.ends_with("migrate") {
                            "copied"
                        } else {
                            "imported"
                        };
                        Fail(format!("{e}; stop it first, nothing was {done}"))
                    }
                    e => open_error(e),
                })?;
                for t in backend.tightened() {
                    eprintln!("warning: {t}");
                }
                Ok(Box::new(backend))
            }
            StoreLocation::Postgres { .. } => {
                let options = pg_options(&self.store, false, &self.store.name)
                    .ok_or_else(|| Fail(format!("{self}: not a PostgreSQL URL")))?;
                let backend = PgBackend::connect(&options)
                    .map_err(|e| Fail(format!("{self}: cannot connect: {e}")))?;
                Ok(Box::new(backend))
            }
        }
    }

    /// Opens and loads the store to read it (a SQLite file must exist; it is read without its
    /// lock, as before: a running server may hold it).
    pub(crate) fn reader(&self) -> Outcome<Store> {
        let (store, report) = match &self.store.location {
            StoreLocation::Sqlite(path) => {
                if !path.exists() {
                    return Err(Fail(format!(
                        "{}: no store there (nothing served or imported yet?)",
                        path.display()
                    )));
                }
                Store::open_sqlite(path).map_err(open_error)?
            }
            StoreLocation::Postgres { .. } => Store::open(self.writer("lessor leases")?)
                .map_err(|e| Fail(format!("{self}: {e}")))?,
        };
        for s in &report.skipped {
            eprintln!("warning: {self}: unreadable row skipped: {s:?}");
        }
        Ok(store)
    }

    /// Opens the store to write it and loads it.
    pub(crate) fn open_writing(&self, who: &str) -> Outcome<Store> {
        let (store, report) = Store::open(self.writer(who)?).map_err(open_error)?;
        for s in &report.skipped {
            eprintln!("warning: {self}: unreadable row skipped: {s:?}");
        }
        Ok(store)
    }
}

impl std::fmt::Display for Target {
    /// The path, or the URL with its password masked.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.store.location)
    }
}

pub(crate) fn open_error(e: StoreError) -> Fail {
    let msg = e.to_string();
    if msg.contains("locked") || msg.contains("busy") {
        Fail(format!(
            "{msg}\nthe store is locked by another process: is `lessor serve` running?"
        ))
    } else {
        Fail(msg)
    }
}
