//! A PostgreSQL lease backend: one lease set shared by several Lessor servers.
//!
//! [`PgBackend`] implements the store's [`Backend`]: `load` reads both families in one
//! snapshot; `apply_group` checks each batch's guards and writes the group in one transaction
//! ([`write`]); `follower` gives what other servers commit, in commit order ([`follow`]). The
//! schema and its migrations are in [`schema`], the rows' codec in [`rows`], the session
//! settings (synchronous commit, TLS) in [`session`] and [`tls`]. docs/architecture.md ("The
//! PostgreSQL backend") describes the schema and the feed; docs/protocol.md records the
//! decisions.

mod follow;
mod rows;
mod schema;
mod session;
mod tls;
mod write;

use std::path::PathBuf;
use std::time::{Duration, Instant};

use postgres::{Client, IsolationLevel};

use lessor_store::{Applied, Backend, Change, Follower, Group, Loaded, SkippedRow, StoreError};

pub use follow::PgFollower;

use rows::{Row4, Row6, COLUMNS4, COLUMNS6};
use write::Statements;

/// How TLS to the database is used.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TlsMode {
    /// Plain TCP (or a Unix socket).
    Disable,
    /// TLS when the server offers it, without checking its certificate.
    #[default]
    Prefer,
    /// TLS always, without checking the certificate.
    Require,
    /// TLS always; the certificate must chain to the CA file (or the system roots) and name the
    /// host connected to.
    VerifyFull,
}

/// Where the database is and how this server appears in it.
#[derive(Debug, Clone)]
pub struct PgOptions {
    /// A `postgresql://` (or `postgres://`) URL, libpq's URI form.
    pub url: String,
    /// This server's name in the shared lease set: it keys its meta rows (its DHCPv6 DUID,
    /// quarantines) and marks the rows it writes, so its follower skips its own writes.
    pub node: String,
    /// TLS to the database.
    pub tls: TlsMode,
    /// The CA certificates (PEM) that [`TlsMode::VerifyFull`] trusts; none: the system's.
    pub tls_ca_file: Option<PathBuf>,
    /// How long one connection attempt may take.
    pub connect_timeout: Duration,
    /// Whether [`Backend::follower`] gives a follower (a server: yes; a one-shot command
    /// such as `lessor leases list`: no).
    pub follow: bool,
    /// The password, when the URL carries none (read from `password-file` at start); it
    /// overrides one in the URL.
    pub password: Option<String>,
}

/// Tombstones older than this are purged (docs/protocol.md, decision "PostgreSQL:
/// tombstones"): every running server has followed them long before.
pub const TOMBSTONE_AGE: Duration = Duration::from_secs(7 * 24 * 3600);

/// How often a writer purges old tombstones.
const PURGE_EVERY: Duration = Duration::from_secs(3600);

/// One open writer session.
struct Session {
    client: Client,
    statements: Statements,
}

/// The PostgreSQL backend.
pub struct PgBackend {
    options: PgOptions,
    /// The URL without its password, for messages.
    place: String,
    session: Option<Session>,
    /// The highest revision `load` saw: where the follower starts.
    loaded_revision: i64,
    last_purge: Option<Instant>,
    /// This node's number in `writer_node` ([`Backend::writer_id`]).
    writer_id: u16,
}

impl std::fmt::Debug for PgBackend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PgBackend")
            .field("node", &self.options.node)
            .field("database", &self.place)
            .finish_non_exhaustive()
    }
}

impl PgBackend {
    /// Connects, brings the schema to this build's version (each migration in its own
    /// transaction; a newer schema is refused) and checks that writes are synchronous.
    pub fn connect(options: &PgOptions) -> Result<PgBackend, StoreError> {
        let mut backend = PgBackend {
            options: options.clone(),
            place: redacted(&options.url),
            session: None,
            loaded_revision: 0,
            last_purge: None,
            writer_id: 0,
        };
        let mut client = session::open(options, "writer")?;
        schema::migrate(&mut client, &backend.place)?;
        backend.writer_id = schema::writer_id(&mut client, &options.node)
            .map_err(|e| backend.error("number this node in writer_node", e))?;
        backend.session = Some(backend.prepared(client)?);
        Ok(backend)
    }

    /// The database's place (its URL without the password).
    pub fn database(&self) -> &str {
        &self.place
    }

    fn prepared(&self, mut client: Client) -> Result<Session, StoreError> {
        let statements =
            Statements::prepare(&mut client).map_err(|e| self.error("prepare statements", e))?;
        Ok(Session { client, statements })
    }

    fn error(&self, step: &str, e: postgres::Error) -> StoreError {
        StoreError::db(format!("postgresql {}: {step}", self.place), e)
    }

    /// The writer session, reopened when it is gone.
    fn session(&mut self) -> Result<&mut Session, StoreError> {
        if self.session.as_ref().is_none_or(|s| s.client.is_closed()) {
            self.session = None;
            let client = session::open(&self.options, "writer")?;
            self.session = Some(self.prepared(client)?);
        }
        Ok(self.session.as_mut().expect("opened above"))
    }

    /// Runs `op` on the writer session. A session found broken before `op` could change
    /// anything (its first round trip failed) is reopened once and `op` runs again; a failure
    /// later is returned as is (the transaction is rolled back or its outcome unknown; the
    /// session is dropped if broken, and the next call reopens it).
    fn run<T>(
        &mut self,
        step: &str,
        mut op: impl FnMut(&mut Session) -> Result<T, (bool, postgres::Error)>,
    ) -> Result<T, StoreError> {
        let mut retried = false;
        loop {
            let result = op(self.session()?);
            match result {
                Ok(v) => return Ok(v),
                Err((started, e)) => {
                    let broken = session::is_broken(&e);
                    if broken {
                        self.session = None;
                    }
                    if broken && !started && !retried {
                        retried = true;
                        tracing::warn!(
                            database = %self.place,
                            error = %e,
                            "postgresql session broken; reconnecting"
                        );
                        continue;
                    }
                    return Err(self.error(step, e));
                }
            }
        }
    }

    fn group(&mut self, group: &Group<'_>, guarded: bool) -> Result<Applied, StoreError> {
        self.purge_if_due();
        let node = self.options.node.clone();
        self.run("commit", |s| {
            write::group(
                &mut s.client,
                &s.statements,
                &node,
                group,
                guarded.then_some(group.guards),
            )
        })
    }

    /// Purges tombstones older than [`TOMBSTONE_AGE`] (at most once per [`PURGE_EVERY`]). A
    /// failure is logged only: the next commit reports a broken database.
    fn purge_if_due(&mut self) {
        if self.last_purge.is_some_and(|t| t.elapsed() < PURGE_EVERY) {
            return;
        }
        self.last_purge = Some(Instant::now());
        let age = TOMBSTONE_AGE.as_secs() as i64;
        let result = self.run("purge tombstones", |s| {
            let mut n = 0;
            for table in ["lease4", "lease6"] {
                n += s
                    .client
                    .execute(
                        &format!(
                            "DELETE FROM {table} WHERE state = 'deleted' \
                             AND state_since < extract(epoch FROM now())::bigint - $1"
                        ),
                        &[&age],
                    )
                    .map_err(|e| (n > 0, e))?;
            }
            Ok(n)
        });
        match result {
            Ok(0) => {}
            Ok(n) => tracing::info!(database = %self.place, rows = n, "old tombstones purged"),
            Err(e) => tracing::warn!(error = %e, "purging old tombstones failed"),
        }
    }
}

impl Backend for PgBackend {
    /// This node's number in `writer_node`: unique among the servers sharing the database.
    fn writer_id(&self) -> Option<u16> {
        Some(self.writer_id)
    }

    /// Reads every binding (tombstones left out) and this node's meta rows in one snapshot, and
    /// remembers the highest revision, where the follower starts.
    fn load(&mut self) -> Result<Loaded, StoreError> {
        let node = self.options.node.clone();
        let (out, revision) = self.run("load", |s| {
            let mut tx = s
                .client
                .build_transaction()
                .isolation_level(IsolationLevel::RepeatableRead)
                .read_only(true)
                .start()
                .map_err(|e| (false, e))?;
            let mut out = Loaded::default();
            let revision: i64 = tx
                .query_one(
                    "SELECT greatest(0, (SELECT max(revision) FROM lease4), \
                     (SELECT max(revision) FROM lease6))",
                    &[],
                )
                .and_then(|r| r.try_get(0))
                .map_err(|e| (true, e))?;
            load_rows(&mut tx, &mut out).map_err(|e| (true, e))?;
            for row in tx
                .query("SELECT key, value FROM meta WHERE node = $1", &[&node])
                .map_err(|e| (true, e))?
            {
                match (row.try_get::<_, String>(0), row.try_get::<_, String>(1)) {
                    (Ok(k), Ok(v)) => {
                        out.meta.insert(k, v);
                    }
                    (k, _) => out.skipped.push(SkippedRow {
                        table: "meta",
                        key: None,
                        reason: format!("{:?}: not text", k.ok()),
                    }),
                }
            }
            tx.commit().map_err(|e| (true, e))?;
            Ok((out, revision))
        })?;
        self.loaded_revision = revision;
        Ok(out)
    }

    /// Writes unconditionally (last writer wins): for callers without guards (tests, tools
    /// that own the lease set); the store's writer uses [`Backend::apply_group`].
    fn apply(&mut self, changes: &[Change]) -> Result<(), StoreError> {
        let ends = [changes.len()];
        let group = Group {
            changes,
            guards: &[],
            ends: &ends,
        };
        self.group(&group, false).map(|_| ())
    }

    fn set_meta(&mut self, key: &str, value: &str) -> Result<(), StoreError> {
        let node = self.options.node.clone();
        self.run("set meta", |s| {
            s.client
                .execute(
                    "INSERT INTO meta (node, key, value) VALUES ($1, $2, $3) \
                     ON CONFLICT (node, key) DO UPDATE SET value = EXCLUDED.value",
                    &[&node, &key, &value],
                )
                .map_err(|e| (false, e))
                .map(|_| ())
        })
    }

    fn apply_group(&mut self, group: &Group<'_>) -> Result<Applied, StoreError> {
        self.group(group, true)
    }

    fn follower(&mut self) -> Result<Option<Box<dyn Follower>>, StoreError> {
        Ok(self.options.follow.then(|| {
            Box::new(PgFollower::new(self.options.clone(), self.loaded_revision))
                as Box<dyn Follower>
        }))
    }
}

/// Streams both tables' live rows into `out`, row by row.
fn load_rows(tx: &mut postgres::Transaction<'_>, out: &mut Loaded) -> Result<(), postgres::Error> {
    use fallible_iterator::FallibleIterator;
    let none: [&str; 0] = [];
    let q4 = format!("SELECT {COLUMNS4} FROM lease4 WHERE state <> 'deleted'");
    let mut it = tx.query_raw(&q4, none)?;
    while let Some(row) = it.next()? {
        match rows::decode4(&row) {
            Ok(Row4::Live(b)) => out.v4.bindings.push(b),
            Ok(Row4::Gone { .. }) => {}
            Err(reason) => out.skipped.push(SkippedRow {
                table: "lease4",
                key: rows::address4(&row).map(|a| i64::from(u32::from(a))),
                reason,
            }),
        }
    }
    drop(it);
    let q6 = format!("SELECT {COLUMNS6} FROM lease6 WHERE state <> 'deleted'");
    let mut it = tx.query_raw(&q6, none)?;
    while let Some(row) = it.next()? {
        match rows::decode6(&row) {
            Ok(Row6::Live(b)) => out.v6.bindings.push(b),
            Ok(Row6::Gone { .. }) => {}
            Err(reason) => out.skipped.push(SkippedRow {
                table: "lease6",
                key: None,
                reason: match rows::which6(&row) {
                    Some(w) => format!("{reason} ({w})"),
                    None => reason,
                },
            }),
        }
    }
    Ok(())
}

/// `url` without its password (userinfo or `password=` parameter), for messages and for
/// [`StoreError::SchemaTooNew`]'s path.
pub fn redacted(url: &str) -> String {
    let (scheme, rest) = match url.split_once("://") {
        Some((s, r)) => (s, r),
        None => return url.to_owned(),
    };
    let auth_end = rest.find(['/', '?']).unwrap_or(rest.len());
    let (auth, tail) = rest.split_at(auth_end);
    let auth = match auth.rsplit_once('@') {
        Some((user, host)) => match user.split_once(':') {
            Some((name, _)) => format!("{name}@{host}"),
            None => auth.to_owned(),
        },
        None => auth.to_owned(),
    };
    let tail = match tail.split_once('?') {
        Some((path, query)) => {
            let kept: Vec<&str> = query
                .split('&')
                .filter(|p| !p.starts_with("password="))
                .collect();
            if kept.is_empty() {
                path.to_owned()
            } else {
                format!("{path}?{}", kept.join("&"))
            }
        }
        None => tail.to_owned(),
    };
    format!("{scheme}://{auth}{tail}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_lose_their_passwords() {
        assert_eq!(
            redacted("postgresql://lessor:s3cret@db.example:5432/leases?sslmode=require"),
            "postgresql://lessor@db.example:5432/leases?sslmode=require"
        );
        assert_eq!(
            redacted("postgres://db/leases?password=x&application_name=y"),
            "postgres://db/leases?application_name=y"
        );
        assert_eq!(
            redacted("postgres://u@db/leases?password=x"),
            "postgres://u@db/leases"
        );
        assert_eq!(redacted("postgresql://db"), "postgresql://db");
    }

    #[test]
    fn only_flushing_commit_levels_are_taken() {
        for ok in ["on", "remote_write", "remote_apply"] {
            assert!(session::synchronous(ok));
        }
        for refused in ["off", "local", ""] {
            assert!(!session::synchronous(refused));
        }
    }
}
