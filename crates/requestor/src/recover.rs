//! Recovery at start (bulk draft §1, §4.1; RFC 5007 §3.2, RFC 5460): a relay agent that lost its
//! location table asks every configured server, over bulk leasequery, for every binding it
//! relayed (a query by its own relay-id; any bulk key works), and merges the answers before it
//! declares itself ready.
//!
//! - [`recover4`] / [`recover6`]: one thread and one TCP connection per server, all at once; the
//!   bindings stream into one [`Merged`] table as they arrive (no per-binding UDP query).
//! - [`Merged`]: the sans-IO merge. One binding per bound address (DHCPv6: address or delegated
//!   prefix); where servers disagree, the most recent client-last-transaction-time wins (RFC 4388
//!   §6.8, RFC 5007 §4.3.4), a binding with one beats a binding without (RFC 5007 §4.3.4 as
//!   erratum 3763 words it), and a tie goes to the server listed first (docs/protocol.md decision
//!   30).
//! - [`Report`]: per server, bindings streamed, how the query ended, retries, and the error it
//!   was given up on.
//!
//! # Retries
//!
//! A server that cannot be connected to, or whose connection breaks before the query ends
//! (closed, reset, cut inside a frame, silent for the data timeout), is asked again from the
//! start after the bulk client's backoff ([`Backoff`]: `first_retry`, doubling, while within
//! `max_retry`: BULK_LQ_MAX_RETRY, draft §8.2); when the backoff runs out it is given up and the
//! last error reported. A server that answers the query with an error status, or breaks the
//! protocol, is not asked again. Bindings a broken stream delivered stay; the second stream's
//! replace them (the same server's newer word).
//!
//! # Times
//!
//! Every time in a recovered binding is as of the recovery's start ([`Report::started`]):
//! client-last-transaction-time is seconds before it, lease times are seconds after it (an
//! infinite lifetime stays infinite). A binding received `n` whole seconds after the start has
//! `n` added to its CLTT and taken from its lease times, so bindings from servers that answered
//! at different moments compare fairly, at the one-second resolution of the options themselves.
//!
//! # Memory
//!
//! The table holds one record per bound address, each bounded by the message that carried it
//! (64 KiB at most); the streams are read one frame at a time ([`crate::bulk::tcp`]) and reach
//! the table through a bounded channel, so a slow merge holds the servers back rather than
//! buffering their streams.

pub mod v4;
pub mod v6;

pub use v4::{recover4, Recovery4, Report4};
pub use v6::{recover6, Binding6, Bound6, Recovery6, Report6, Server6};

use std::collections::hash_map::{self, HashMap};
use std::fmt;
use std::hash::Hash;
use std::net::SocketAddr;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use crate::bulk::tcp::{Backoff, Error};
use crate::bulk::SessionError;

/// One recovered binding, as [`Merged`] ranks it.
pub trait Binding: Send + 'static {
    /// What the binding holds: the key of the merge.
    type Bound: Copy + Eq + Hash + Ord + fmt::Debug + Send;
    /// The bound address (or prefix).
    fn bound(&self) -> Self::Bound;
    /// Seconds between the client's last transaction and the recovery's start; `None` when the
    /// server sent no client-last-transaction-time.
    fn cltt_ago(&self) -> Option<u32>;
}

/// What [`Merged::offer`] did with a binding.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Offer {
    /// Nothing held the bound address yet.
    New,
    /// It replaced what another server (or an earlier stream of the same server) said.
    Replaced,
    /// What another server said wins; the binding was dropped.
    Lost,
}

/// Whether `new` from server `new_server` beats `held` from `held_server` (docs/protocol.md
/// decision 30): the same server's later word always does; otherwise the more recent CLTT (the
/// smaller age), one with a CLTT over one without, and on a tie the server listed first.
pub fn beats(new: Option<u32>, new_server: usize, held: Option<u32>, held_server: usize) -> bool {
    if new_server == held_server {
        return true;
    }
    match (new, held) {
        (Some(n), Some(h)) if n != h => n < h,
        (Some(_), None) => true,
        (None, Some(_)) => false,
        _ => new_server < held_server,
    }
}

/// The merged bindings: one per bound address, with the index of the server it came from.
#[derive(Debug)]
pub struct Merged<B: Binding> {
    table: HashMap<B::Bound, (usize, B)>,
    conflicts: u64,
}

impl<B: Binding> Default for Merged<B> {
    fn default() -> Self {
        Merged {
            table: HashMap::new(),
            conflicts: 0,
        }
    }
}

impl<B: Binding> Merged<B> {
    /// An empty table.
    pub fn new() -> Merged<B> {
        Merged::default()
    }

    /// Offers `binding`, sent by server number `server`, to the table.
    pub fn offer(&mut self, server: usize, binding: B) -> Offer {
        match self.table.entry(binding.bound()) {
            hash_map::Entry::Vacant(v) => {
                v.insert((server, binding));
                Offer::New
            }
            hash_map::Entry::Occupied(mut o) => {
                let (held_server, held) = o.get();
                if *held_server != server {
                    self.conflicts += 1;
                }
                if beats(binding.cltt_ago(), server, held.cltt_ago(), *held_server) {
                    o.insert((server, binding));
                    Offer::Replaced
                } else {
                    Offer::Lost
                }
            }
        }
    }

    /// Bound addresses in the table.
    pub fn len(&self) -> usize {
        self.table.len()
    }

    /// Whether the table is empty.
    pub fn is_empty(&self) -> bool {
        self.table.is_empty()
    }

    /// Offers that met a binding another server had given for the same bound address.
    pub fn conflicts(&self) -> u64 {
        self.conflicts
    }

    /// The binding held for `bound`, with its server's index.
    pub fn get(&self, bound: &B::Bound) -> Option<(usize, &B)> {
        self.table.get(bound).map(|(s, b)| (*s, b))
    }

    /// Every binding with its server's index, in no particular order.
    pub fn iter(&self) -> impl Iterator<Item = (usize, &B)> {
        self.table.values().map(|(s, b)| (*s, b))
    }

    /// Every binding with its server's index, ordered by bound address.
    pub fn into_sorted(self) -> Vec<(usize, B)> {
        let mut v: Vec<(B::Bound, (usize, B))> = self.table.into_iter().collect();
        v.sort_unstable_by_key(|(k, _)| *k);
        v.into_iter().map(|(_, sb)| sb).collect()
    }
}

impl<B: Binding> IntoIterator for Merged<B> {
    type Item = (usize, B);
    type IntoIter = hash_map::IntoValues<B::Bound, (usize, B)>;

    /// Every binding with its server's index, in no particular order.
    fn into_iter(self) -> Self::IntoIter {
        self.table.into_values()
    }
}

/// What became of one server.
#[derive(Debug)]
pub struct ServerReport<End, Error> {
    /// The server.
    pub server: SocketAddr,
    /// Bindings received, over every attempt.
    pub streamed: u64,
    /// Bindings received that name no address or prefix the table could hold (DHCPv4: ciaddr
    /// 0.0.0.0; DHCPv6: CLIENT_DATA without IAADDR or IAPREFIX, or a prefix length over 128).
    pub unusable: u64,
    /// Bindings of this server the merged table kept.
    pub kept: u64,
    /// How the query ended: `None` when it never did (given up: see `error`).
    pub end: Option<End>,
    /// Attempts after the first.
    pub retries: u32,
    /// Why the server was given up, or what ended its last attempt; `None` when the query ran
    /// to its end.
    pub error: Option<Error>,
}

impl<End, Error> ServerReport<End, Error> {
    fn new(server: SocketAddr) -> Self {
        ServerReport {
            server,
            streamed: 0,
            unusable: 0,
            kept: 0,
            end: None,
            retries: 0,
            error: None,
        }
    }

    /// Whether the server's query ran to its end (whatever it answered).
    pub fn completed(&self) -> bool {
        self.end.is_some()
    }
}

/// What a recovery did.
#[derive(Debug)]
pub struct Report<End, Error> {
    /// When it started: every time in the merged bindings is relative to this instant.
    pub started: Instant,
    /// How long it took, until the last server ended or was given up.
    pub elapsed: Duration,
    /// One per server, in the order given.
    pub servers: Vec<ServerReport<End, Error>>,
    /// Bindings in the merged table.
    pub merged: usize,
    /// Bindings met by another server's binding for the same address ([`Merged::conflicts`]).
    pub conflicts: u64,
}

impl<End, Error> Report<End, Error> {
    /// Whether every server's query ran to its end: the table is all the servers know.
    pub fn complete(&self) -> bool {
        self.servers.iter().all(ServerReport::completed)
    }

    /// The servers given up on.
    pub fn failed(&self) -> impl Iterator<Item = &ServerReport<End, Error>> {
        self.servers.iter().filter(|s| !s.completed())
    }
}

/// The recovery's clock: the start, on the caller's monotonic clock and on the wall clock (for
/// an absolute CLT_TIME, docs/protocol.md decision 22).
#[derive(Debug, Clone, Copy)]
pub struct Clock {
    /// The start.
    pub started: Instant,
    /// Seconds since 1970 at the start.
    pub unix: u64,
}

impl Clock {
    /// The clock of a recovery starting now.
    pub fn now() -> Clock {
        let unix = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        Clock {
            started: Instant::now(),
            unix,
        }
    }

    /// Whole seconds from the start to now.
    fn elapsed_secs(&self) -> u32 {
        self.started.elapsed().as_secs().min(u64::from(u32::MAX)) as u32
    }
}

/// A lifetime received `elapsed` seconds after the start, as of the start. `u32::MAX` is
/// infinity (RFC 2131 §3.3, RFC 8415 §7.7) and stays so.
pub(crate) fn lifetime_at_start(secs: u32, elapsed: u32) -> u32 {
    if secs == u32::MAX {
        secs
    } else {
        secs.saturating_add(elapsed).min(u32::MAX - 1)
    }
}

/// A CLTT age received `elapsed` seconds after the start, as of the start (0: during the
/// recovery).
pub(crate) fn age_at_start(ago: u32, elapsed: u32) -> u32 {
    ago.saturating_sub(elapsed)
}

/// Whether a bulk query's error is the connection failing or breaking (worth asking again),
/// rather than the server's answer or the query itself.
pub(crate) fn retryable<R, K>(e: &Error<R, K>) -> bool {
    matches!(
        e,
        Error::Connect(_)
            | Error::Io(_)
            | Error::DataTimeout
            | Error::Session(SessionError::Closed { .. })
            | Error::Session(SessionError::Framing(lessor_wire::Error::Truncated))
    )
}

/// One server's bulk query, as the generic driver runs it (the family modules implement it
/// over [`crate::bulk::tcp`] and [`crate::bulk::tcp6`]).
pub(crate) trait Stream: Sized {
    /// The per-server settings (address and query).
    type Target: Sync;
    /// The records one streamed binding becomes.
    type Binding: Binding;
    /// How a query ended.
    type End: Send;
    /// Why a query could not run to its end.
    type Error: Send + fmt::Display;

    /// The server's address.
    fn server(target: &Self::Target) -> SocketAddr;
    /// Connects (once, no retry) and sends the query.
    fn open(target: &Self::Target) -> Result<Self, Self::Error>;
    /// Reads the next streamed binding into `out` (zero or more records) and returns how many
    /// of its parts could not be held; `None` at the end of the stream.
    fn next(
        &mut self,
        clock: &Clock,
        out: &mut Vec<Self::Binding>,
    ) -> Option<Result<u64, Self::Error>>;
    /// How the query ended, once `next` returned `None`.
    fn end(&mut self) -> Option<Self::End>;
    /// Whether the error is worth asking again: the connection failed or broke.
    fn retryable(e: &Self::Error) -> bool;
}

/// What a server thread sends the merging thread.
enum Message<B, End, Error> {
    /// Records from server `.0`.
    Bindings(usize, Vec<B>),
    /// Server `.0` is done.
    Done(usize, ServerReport<End, Error>),
}

/// Records sent per channel message: few enough to bound memory, enough to keep the channel
/// off the per-binding cost.
const BATCH: usize = 256;
/// Batches in flight per recovery.
const CHANNEL: usize = 64;

/// What [`run`] returns: the report and the merged table.
type Recovered<S> = (
    Report<<S as Stream>::End, <S as Stream>::Error>,
    Merged<<S as Stream>::Binding>,
);

/// Runs `targets` at once, one thread each, merging as the bindings come.
pub(crate) fn run<S: Stream>(
    targets: &[S::Target],
    first_retry: Duration,
    max_retry: Duration,
) -> Recovered<S> {
    let clock = Clock::now();
    let mut merged = Merged::new();
    let mut reports: Vec<Option<ServerReport<S::End, S::Error>>> =
        targets.iter().map(|_| None).collect();
    std::thread::scope(|scope| {
        let (tx, rx) = mpsc::sync_channel::<Message<S::Binding, S::End, S::Error>>(CHANNEL);
        for (i, target) in targets.iter().enumerate() {
            let tx = tx.clone();
            let clock = &clock;
            scope.spawn(move || {
                let report = one_server::<S>(i, target, clock, first_retry, max_retry, &tx);
                tx.send(Message::Done(i, report)).ok();
            });
        }
        drop(tx);
        for message in rx {
            match message {
                Message::Bindings(server, batch) => {
                    for b in batch {
                        merged.offer(server, b);
                    }
                }
                Message::Done(server, report) => reports[server] = Some(report),
            }
        }
    });
    let mut servers: Vec<ServerReport<S::End, S::Error>> = reports
        .into_iter()
        .zip(targets)
        .map(|(r, t)| r.unwrap_or_else(|| ServerReport::new(S::server(t))))
        .collect();
    for (s, _) in merged.iter() {
        servers[s].kept += 1;
    }
    let report = Report {
        started: clock.started,
        elapsed: clock.started.elapsed(),
        servers,
        merged: merged.len(),
        conflicts: merged.conflicts(),
    };
    (report, merged)
}

/// One server: attempts until the query ends or the backoff runs out.
fn one_server<S: Stream>(
    index: usize,
    target: &S::Target,
    clock: &Clock,
    first_retry: Duration,
    max_retry: Duration,
    tx: &mpsc::SyncSender<Message<S::Binding, S::End, S::Error>>,
) -> ServerReport<S::End, S::Error> {
    let mut report = ServerReport::new(S::server(target));
    let mut backoff = Backoff::new(first_retry, max_retry);
    loop {
        let error = match attempt::<S>(index, target, clock, tx, &mut report) {
            Ok(end) => {
                report.end = end;
                report.error = None;
                return report;
            }
            Err(e) => e,
        };
        let again = S::retryable(&error);
        report.error = Some(error);
        match backoff.next() {
            Some(wait) if again => {
                std::thread::sleep(wait);
                report.retries += 1;
            }
            _ => return report,
        }
    }
}

/// One connection: the query's end, or why it broke.
fn attempt<S: Stream>(
    index: usize,
    target: &S::Target,
    clock: &Clock,
    tx: &mpsc::SyncSender<Message<S::Binding, S::End, S::Error>>,
    report: &mut ServerReport<S::End, S::Error>,
) -> Result<Option<S::End>, S::Error> {
    let mut stream = S::open(target)?;
    let mut batch = Vec::with_capacity(BATCH);
    let flush = |batch: &mut Vec<S::Binding>| {
        if !batch.is_empty() {
            let full = std::mem::replace(batch, Vec::with_capacity(BATCH));
            tx.send(Message::Bindings(index, full)).ok();
        }
    };
    let result = loop {
        match stream.next(clock, &mut batch) {
            Some(Ok(unusable)) => {
                report.streamed += 1;
                report.unusable += unusable;
                if batch.len() >= BATCH {
                    flush(&mut batch);
                }
            }
            Some(Err(e)) => break Err(e),
            None => break Ok(stream.end()),
        }
    };
    // What a broken stream delivered is kept: a retry's stream replaces it.
    flush(&mut batch);
    result
}

#[cfg(test)]
mod tests;
