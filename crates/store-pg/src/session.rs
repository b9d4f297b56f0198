//! Opening one session to the database: TLS, the connect timeout, the session settings every
//! Lessor connection has (`synchronous_commit = on`, `application_name`), and the check that
//! commits really are synchronous.

use std::time::Duration;

use postgres::config::SslMode;
use postgres::{Client, Config};

use lessor_store::StoreError;

use crate::{tls, PgOptions, TlsMode};

/// A dead peer is noticed by the kernel after this long without an acknowledgement, at least
/// (`tcp_user_timeout`), so that a write to a vanished database fails instead of hanging: the
/// store then fails closed and probes.
const MIN_USER_TIMEOUT: Duration = Duration::from_secs(5);

/// How long a session may sit inside a transaction without sending anything (Lessor's never
/// pause between statements).
const IDLE_IN_TRANSACTION: Duration = Duration::from_secs(15);

/// How long a commit waits for the write lock.
const LOCK_WAIT: Duration = Duration::from_secs(10);

/// Opens a session as `options` say; `what` is which connection it is ("writer", "follower"),
/// for errors.
pub(crate) fn open(options: &PgOptions, what: &str) -> Result<Client, StoreError> {
    let place = crate::redacted(&options.url);
    let context = |step: &str| format!("postgresql {place} ({what}): {step}");
    let mut config: Config = options
        .url
        .parse()
        .map_err(|e| StoreError::db(context("the URL"), e))?;
    config.connect_timeout(options.connect_timeout);
    config.tcp_user_timeout((options.connect_timeout * 2).max(MIN_USER_TIMEOUT));
    config.keepalives(true);
    config.application_name(&format!("lessor {}", options.node));
    if let Some(password) = &options.password {
        config.password(password);
    }
    config.ssl_mode(match options.tls {
        TlsMode::Disable => SslMode::Disable,
        TlsMode::Prefer => SslMode::Prefer,
        TlsMode::Require | TlsMode::VerifyFull => SslMode::Require,
    });
    let mut client = config
        .connect(tls::connector(options)?)
        .map_err(|e| StoreError::db(context("connect"), e))?;
    // A session that dies inside a transaction (its server's host vanished) would hold the
    // write lock until TCP gave up: the database ends it after IDLE_IN_TRANSACTION instead.
    // A commit waiting longer than LOCK_WAIT for the lock fails rather than hangs (the store
    // then fails closed and probes).
    client
        .batch_execute(&format!(
            "SET synchronous_commit = on; \
             SET idle_in_transaction_session_timeout = '{}s'; \
             SET lock_timeout = '{}s'",
            IDLE_IN_TRANSACTION.as_secs(),
            LOCK_WAIT.as_secs()
        ))
        .map_err(|e| StoreError::db(context("session settings"), e))?;
    let level: String = client
        .query_one("SHOW synchronous_commit", &[])
        .and_then(|row| row.try_get(0))
        .map_err(|e| StoreError::db(context("show synchronous_commit"), e))?;
    if !synchronous(&level) {
        return Err(StoreError::db(
            context("synchronous_commit"),
            std::io::Error::other(format!(
                "the session runs with synchronous_commit = {level}; Lessor acknowledges a \
                 lease only once its commit is flushed, so it needs on, remote_write or \
                 remote_apply"
            )),
        ));
    }
    Ok(client)
}

/// Whether a `synchronous_commit` level flushes the commit to this server's disk before the
/// commit returns ("local" does too, but is below "on" for a server with standbys: refused,
/// the session asked for on and did not get it).
pub(crate) fn synchronous(level: &str) -> bool {
    matches!(level, "on" | "remote_write" | "remote_apply")
}

/// Whether an error means the session is gone (the connection broke, the server went away),
/// rather than the database refusing a statement: the session is then reopened.
pub(crate) fn is_broken(e: &postgres::Error) -> bool {
    e.is_closed()
        || e.as_db_error().is_none_or(|db| {
            // admin_shutdown, crash_shutdown, cannot_connect_now
            matches!(db.code().code(), "57P01" | "57P02" | "57P03")
        })
}
