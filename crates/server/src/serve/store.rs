//! The store as `[server] store` names it: a SQLite file this server takes alone (its lock, its
//! directory), or a PostgreSQL database shared with other servers, connected with this
//! server's name and followed. A database that does not answer at start is waited for (a server
//! must load the whole lease set before it answers: issue 17), with a warning now and then,
//! until it answers or the server is asked to stop.

use super::{ServeError, TICK};
use crate::config::store::{PgTls, StoreConfig, StoreLocation};
use crate::config::Config;
use lessor_store::{Backend, LoadReport, SqliteBackend, Store, StoreError};
use lessor_store_pg::{PgBackend, PgOptions, TlsMode};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

/// How long a server waits between two attempts to reach its database at start.
pub const RETRY: Duration = Duration::from_secs(2);

/// How often the start's retries are logged after the first (one warning per attempt would fill
/// the log during a long outage).
pub const RETRY_LOG_EVERY: Duration = Duration::from_secs(30);

/// The backend `PgBackend::connect` takes for `store`: `follow` for a server, `node` the name
/// its writes carry.
pub fn pg_options(store: &StoreConfig, follow: bool, node: &str) -> Option<PgOptions> {
    let pg = store.postgresql.clone().unwrap_or_else(|| {
        // A URL given without a configuration (`lessor leases --store URL`): the defaults.
        crate::config::store::Postgresql {
            tls: PgTls::default(),
            tls_ca_file: None,
            connect_timeout: crate::config::store::default_connect_timeout().duration(),
            password: None,
        }
    });
    Some(PgOptions {
        url: store.location.url_with_password(pg.password.as_ref())?,
        node: node.to_string(),
        tls: tls_mode(pg.tls),
        tls_ca_file: pg.tls_ca_file,
        connect_timeout: pg.connect_timeout,
        follow,
        // The password file's password is already in the URL (percent-encoded).
        password: None,
    })
}

fn tls_mode(t: PgTls) -> TlsMode {
    match t {
        PgTls::Disable => TlsMode::Disable,
        PgTls::Prefer => TlsMode::Prefer,
        PgTls::Require => TlsMode::Require,
        PgTls::VerifyFull => TlsMode::VerifyFull,
    }
}

/// A backend opened, not yet loaded.
pub(super) struct Opened {
    pub backend: Box<dyn Backend>,
    /// The SQLite file (a PostgreSQL store has none), and the directories created for it.
    pub file: Option<(PathBuf, Vec<PathBuf>)>,
}

/// Opens the store `config` names, as started (root): `None` when asked to stop while waiting
/// for the database.
pub(super) fn open(config: &Config, stop: &AtomicBool) -> Result<Option<Opened>, ServeError> {
    match &config.store.location {
        StoreLocation::Sqlite(path) => open_sqlite(path).map(Some),
        StoreLocation::Postgres { .. } => {
            let options = options(config)?;
            Ok(
                connect(&config.store, stop, || PgBackend::connect(&options))?.map(|b| Opened {
                    backend: Box::new(b),
                    file: None,
                }),
            )
        }
    }
}

/// A server's options: it follows the others, under its `[server] name`.
fn options(config: &Config) -> Result<PgOptions, ServeError> {
    pg_options(&config.store, true, &config.store.name).ok_or_else(|| {
        ServeError::Store(format!("{}: not a PostgreSQL URL", config.store.location))
    })
}

fn open_sqlite(path: &Path) -> Result<Opened, ServeError> {
    // The directories this server creates (the user gets them: see privileges::switch).
    let mut created = Vec::new();
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        created = dir
            .ancestors()
            .take_while(|d| !d.as_os_str().is_empty() && !d.exists())
            .map(Path::to_path_buf)
            .collect();
        std::fs::create_dir_all(dir)
            .map_err(|e| ServeError::Store(format!("cannot create {}: {e}", dir.display())))?;
    }
    let backend = SqliteBackend::open_exclusive(path, "lessor serve").map_err(|e| match e {
        StoreError::InUse { .. } => ServeError::Refused(format!("{e}; refusing to start")),
        e => ServeError::Store(e.to_string()),
    })?;
    for t in backend.tightened() {
        tracing::warn!(store = %path.display(), "store: {t}");
    }
    Ok(Opened {
        backend: Box::new(backend),
        file: Some((path.to_path_buf(), created)),
    })
}

/// Loads the opened store (after the switch to `[server] user`: the writer is a thread). A
/// PostgreSQL store that fails to load (the database went away since the connection) is
/// connected and loaded again until it answers or the server is asked to stop (`None`).
pub(super) fn load(
    config: &Config,
    opened: Box<dyn Backend>,
    stop: &AtomicBool,
) -> Result<Option<(Store, LoadReport)>, ServeError> {
    let options = match config.store.location {
        StoreLocation::Postgres { .. } => Some(options(config)?),
        StoreLocation::Sqlite(_) => None,
    };
    let mut backend = opened;
    loop {
        let e = match Store::open(backend) {
            Ok(loaded) => return Ok(Some(loaded)),
            Err(e) => e,
        };
        let Some(options) = options
            .as_ref()
            .filter(|_| !matches!(e, StoreError::InUse { .. }))
        else {
            return Err(ServeError::Store(e.to_string()));
        };
        let shown = &config.store.location;
        tracing::warn!(
            store = %shown,
            error = %e,
            "store {shown}: cannot load the lease set: {e}; connecting again"
        );
        match connect(&config.store, stop, || PgBackend::connect(options))? {
            Some(b) => backend = Box::new(b),
            None => return Ok(None),
        }
    }
}

/// Calls `attempt` every [`RETRY`] until it succeeds (`Some`) or `stop` is set (`None`),
/// warning at the first failure and then every [`RETRY_LOG_EVERY`].
fn connect<B>(
    store: &StoreConfig,
    stop: &AtomicBool,
    mut attempt: impl FnMut() -> Result<B, StoreError>,
) -> Result<Option<B>, ServeError> {
    let shown = &store.location;
    let mut failures: u64 = 0;
    let mut logged: Option<Instant> = None;
    loop {
        if stop.load(Ordering::SeqCst) {
            tracing::info!(store = %shown, "store {shown}: stopped while waiting for the database");
            return Ok(None);
        }
        match attempt() {
            Ok(b) => {
                if failures > 0 {
                    tracing::info!(
                        store = %shown,
                        attempts = failures + 1,
                        "store {shown}: the database answers (after {failures} failed attempt(s))"
                    );
                }
                return Ok(Some(b));
            }
            Err(e) => {
                failures += 1;
                if logged.is_none_or(|t| t.elapsed() >= RETRY_LOG_EVERY) {
                    logged = Some(Instant::now());
                    tracing::warn!(
                        store = %shown,
                        error = %e,
                        attempts = failures,
                        "store {shown}: cannot reach the database ({failures} attempt(s)): {e}; \
                         not serving until it answers, retrying every {}s",
                        RETRY.as_secs()
                    );
                }
            }
        }
        let until = Instant::now() + RETRY;
        while Instant::now() < until && !stop.load(Ordering::SeqCst) {
            std::thread::sleep(TICK.min(until.saturating_duration_since(Instant::now())));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::Cell;

    fn shared() -> StoreConfig {
        crate::config::parse(
            "[server]\nstore = \"postgresql://lessor:secret@db.example/leases\"\nname = \"a\"\n",
            "t.toml",
        )
        .expect("valid")
        .store
    }

    #[test]
    fn a_database_that_answers_late_is_waited_for() {
        let tries = Cell::new(0);
        let stop = AtomicBool::new(false);
        let got = connect(&shared(), &stop, || {
            tries.set(tries.get() + 1);
            if tries.get() < 2 {
                Err(StoreError::Database {
                    context: "connect".into(),
                    source: std::sync::Arc::new(std::io::Error::other("refused")),
                })
            } else {
                Ok(7)
            }
        })
        .expect("no error");
        assert_eq!(got, Some(7));
        assert_eq!(tries.get(), 2);
    }

    #[test]
    fn a_stop_ends_the_wait() {
        let stop = AtomicBool::new(true);
        let got = connect(&shared(), &stop, || -> Result<(), StoreError> {
            panic!("not tried once stopped")
        })
        .expect("no error");
        assert_eq!(got, None);
    }

    #[test]
    fn options_carry_the_name_and_the_follow_flag() {
        let o = pg_options(&shared(), true, "a").expect("a URL");
        assert_eq!(o.node, "a");
        assert!(o.follow);
        assert_eq!(o.tls, TlsMode::Prefer);
        assert_eq!(o.connect_timeout, Duration::from_secs(5));
        assert_eq!(o.url, "postgresql://lessor:secret@db.example/leases");
    }
}
