//! The follower: what other servers commit to the shared lease set, read from its own session
//! in revision order (= commit order, [`crate::write`]), woken by `NOTIFY` and, whatever comes,
//! every [`POLL`].

use std::time::Duration;

use fallible_iterator::FallibleIterator;
use postgres::{Client, IsolationLevel};

use lessor_store::{Follower, Remote, StoreError};

use crate::rows::{self, Row4, Row6, COLUMNS4, COLUMNS6};
use crate::session;
use crate::write::CHANNEL;
use crate::PgOptions;

/// Rows read per family per call at most.
pub(crate) const PAGE: i64 = 10_000;

/// How long a follower waits for a notification before it reads anyway (a notification is
/// lost with a broken session; reading bounds the delay then).
pub(crate) const POLL: Duration = Duration::from_millis(500);

/// A [`Follower`] on its own session.
pub struct PgFollower {
    options: PgOptions,
    client: Option<Client>,
    /// The highest revision read (or loaded).
    last: i64,
    /// The last read filled a page: read again without waiting.
    more: bool,
}

impl std::fmt::Debug for PgFollower {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PgFollower")
            .field("node", &self.options.node)
            .field("last", &self.last)
            .finish_non_exhaustive()
    }
}

impl PgFollower {
    /// A follower reading revisions after `last`; connects when first called.
    pub(crate) fn new(options: PgOptions, last: i64) -> PgFollower {
        PgFollower {
            options,
            client: None,
            last,
            more: true,
        }
    }

    fn session(&mut self) -> Result<&mut Client, StoreError> {
        if self.client.as_ref().is_none_or(|c| c.is_closed()) {
            self.client = None;
            let mut client = session::open(&self.options, "follower")?;
            client
                .batch_execute(&format!("LISTEN {CHANNEL}"))
                .map_err(|e| self.failed("listen", e))?;
            self.client = Some(client);
            // Whatever was committed while there was no session is read now.
            self.more = true;
        }
        Ok(self.client.as_mut().expect("opened above"))
    }

    fn failed(&self, step: &str, e: postgres::Error) -> StoreError {
        StoreError::db(
            format!(
                "postgresql {} (follower): {step}",
                crate::redacted(&self.options.url)
            ),
            e,
        )
    }

    /// Reads one page of each family after `last` in one snapshot, merged in revision order.
    fn read(&mut self) -> Result<Vec<Remote>, postgres::Error> {
        let node = self.options.node.clone();
        let last = self.last;
        let client = self.client.as_mut().expect("session open");
        let mut tx = client
            .build_transaction()
            .isolation_level(IsolationLevel::RepeatableRead)
            .read_only(true)
            .start()?;
        let q4 = format!(
            "SELECT {COLUMNS4} FROM lease4 WHERE revision > $1 AND writer <> $2 \
             ORDER BY revision LIMIT {PAGE}"
        );
        let q6 = format!(
            "SELECT {COLUMNS6} FROM lease6 WHERE revision > $1 AND writer <> $2 \
             ORDER BY revision LIMIT {PAGE}"
        );
        let r4 = tx.query(&q4, &[&last, &node])?;
        let r6 = tx.query(&q6, &[&last, &node])?;
        tx.commit()?;
        // A full page may end before the other family's rows: keep only what is below both
        // pages' ends, so nothing is passed over.
        let end = |rows: &[postgres::Row], col: usize| -> Option<i64> {
            (rows.len() as i64 >= PAGE)
                .then(|| rows.last().and_then(|r| r.try_get(col).ok()))
                .flatten()
        };
        let cut = match (end(&r4, 19), end(&r6, 20)) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        self.more = cut.is_some();
        let mut out: Vec<(i64, Remote)> = Vec::with_capacity(r4.len() + r6.len());
        for row in &r4 {
            let Ok(revision) = row.try_get::<_, i64>(19) else {
                continue;
            };
            match rows::decode4(row) {
                Ok(Row4::Live(b)) => out.push((revision, Remote::V4(b))),
                Ok(Row4::Gone { address, sequence }) => {
                    out.push((revision, Remote::V4Gone { address, sequence }))
                }
                Err(reason) => tracing::warn!(
                    table = "lease4",
                    address = ?rows::address4(row),
                    reason,
                    "a row another server wrote does not decode; not followed"
                ),
            }
        }
        for row in &r6 {
            let Ok(revision) = row.try_get::<_, i64>(20) else {
                continue;
            };
            match rows::decode6(row) {
                Ok(Row6::Live(b)) => out.push((revision, Remote::V6(b))),
                Ok(Row6::Gone { key, sequence }) => {
                    out.push((revision, Remote::V6Gone { key, sequence }))
                }
                Err(reason) => tracing::warn!(
                    table = "lease6",
                    binding = rows::which6(row),
                    reason,
                    "a row another server wrote does not decode; not followed"
                ),
            }
        }
        let highest = r4
            .last()
            .and_then(|r| r.try_get::<_, i64>(19).ok())
            .into_iter()
            .chain(r6.last().and_then(|r| r.try_get::<_, i64>(20).ok()))
            .max();
        out.retain(|(r, _)| cut.is_none_or(|c| *r <= c));
        out.sort_by_key(|(r, _)| *r);
        self.last = match cut {
            Some(c) => c,
            None => highest.unwrap_or(last).max(last),
        };
        Ok(out.into_iter().map(|(_, r)| r).collect())
    }
}

impl Follower for PgFollower {
    fn next(&mut self, timeout: Duration) -> Result<Vec<Remote>, StoreError> {
        let more = self.more;
        let client = self.session()?;
        if !more {
            let wait = timeout.min(POLL);
            let mut notes = client.notifications();
            let woke = notes.timeout_iter(wait).next();
            // Several notifications are one reason to read.
            let drained = woke.and_then(|_| notes.iter().count().map(|_| ()));
            drop(notes);
            if let Err(e) = drained {
                self.client = None;
                return Err(self.failed("wait for notifications", e));
            }
        }
        match self.read() {
            Ok(out) => Ok(out),
            Err(e) => {
                if session::is_broken(&e) {
                    self.client = None;
                }
                Err(self.failed("read changes", e))
            }
        }
    }
}
