//! The bulk pair: a requestor [`Session`] and a server [`Connection`] joined by two in-memory
//! byte queues, on a [`VirtualClock`] (see the parent module for how to write a test).
//!
//! The server side is driven through [`StreamEngine`], in the order the listener's connection
//! thread uses (`lessor_net/src/tcp/connection.rs`): read while the engine wants input, never
//! more than it hints (and never more than one read buffer); when the shell's output buffer is
//! empty, ask `poll_transmit` for up to `write_budget` octets and write them as the path takes
//! them; once all is written, close as the engine says; then `on_timeout`. The path from server
//! to requestor (the server's send buffer and the requestor's receive buffer together) holds
//! `window` octets: when the requestor does not read, it fills, the server's writes block and
//! what the engine handed out waits in the shell's buffer, as over TCP. A turn writes at most
//! `octets_per_turn` before the shell asks the engine whether to close and starts again.
//!
//! Reads on both sides take [`Pieces`]: everything available, a fixed number of octets, or a
//! random number (from a seed) — so frames arrive cut anywhere.
//!
//! A graceful close is a FIN after everything written; an abort is a reset: what was on its way
//! to the requestor is lost and the requestor's session is finished at once.

use super::fixtures;
use super::{Rng, VirtualClock};
use lessor_net::tcp::{Ending, StreamEngine};
use lessor_requestor::bulk::{self, Session, SessionError};
use lessor_requestor::{QueryKey, DEFAULT_PARAMETERS};
use lessor_server::bulk4::{Close, Connection, Counters, Params};
use lessor_server::config;
use lessor_store::{Binding4, Completion, Store};
use lessor_wire::framing::Dialect;
use std::collections::VecDeque;
use std::net::Ipv4Addr;
use std::sync::Arc;
use std::time::Duration;

/// The shell's read buffer (lessor_net's connection thread reads at most this much at once).
pub const READ_BUFFER: usize = 4096;

/// How the octets in a queue are cut into reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pieces {
    /// All that is there.
    Whole,
    /// At most this many at a time.
    Octets(usize),
    /// A random number in 1..=max at a time.
    Random { max: usize },
}

/// How the requestor reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reader {
    /// Whatever arrives, at once.
    Eager,
    /// One piece every `every`.
    Paced { every: Duration },
    /// Not at all.
    Stopped,
}

/// How the server ended the connection, and when.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Closed {
    pub at: Duration,
    pub how: Ending<Close>,
}

/// A requestor session and a server connection.
pub struct BulkPair {
    pub clock: VirtualClock,
    pub session: Session,
    pub connection: Connection,
    pub counters: Arc<Counters>,
    pub params: Arc<Params>,
    pub store: Arc<Store>,
    /// giaddr of the queries.
    pub giaddr: Ipv4Addr,
    /// How reads are cut, on both sides.
    pub pieces: Pieces,
    /// Octets the server-to-requestor path holds before the server's writes block.
    pub window: usize,
    /// Octets the shell asks `poll_transmit` for at once, and writes in one turn before it
    /// looks at its input and the engine's state again (lessor_net's `Limits`).
    pub write_budget: usize,
    pub octets_per_turn: usize,
    pub reader: Reader,
    /// Everything the session produced, with when.
    pub events: Vec<(Duration, bulk::Event)>,
    /// How the server ended the connection.
    pub closed: Option<Closed>,
    /// How the session ended: `finish` after the server's FIN or reset, or the error that
    /// ended it.
    pub session_end: Option<(Duration, Result<(), SessionError>)>,
    /// Octets the engine handed out in all, and when it last handed out any.
    pub handed_out: usize,
    pub last_handed_out: Duration,
    /// When the path last took octets from the shell (the connection's progress).
    pub last_taken: Duration,
    /// Octets the requestor read in all.
    pub read: usize,
    /// The most the engine itself held at once ([`Connection::buffered`]).
    pub max_buffered: usize,
    /// Requestor to server: written, not read yet.
    up: VecDeque<u8>,
    /// Server to requestor: written, not read yet.
    down: VecDeque<u8>,
    /// The shell's output buffer and how much of it is written.
    out: Vec<u8>,
    out_pos: usize,
    /// The requestor shut its sending side; the server has read the end.
    half_closed: bool,
    eof_read: bool,
    /// The server sent FIN (after all it wrote) or reset the connection.
    fin: bool,
    reset: bool,
    next_read: Duration,
    rng: Rng,
}

/// What [`BulkPair::turn`] compares to tell whether anything moved.
#[derive(Debug, PartialEq, Eq)]
struct Mark {
    queued: [usize; 6],
    ended: [bool; 3],
}

/// The most turns one run may take before it is taken for a loop that never ends.
const MAX_TURNS: usize = 10_000_000;

impl BulkPair {
    /// A pair speaking `dialect`, the server with [`fixtures::config_text`] over `store`, the
    /// shell's default budget, a 64 KiB path, whole reads, an eager reader.
    pub fn new(dialect: Dialect, store: Arc<Store>) -> BulkPair {
        let text = fixtures::config_text(fixtures::SERVER_A);
        BulkPair::with_config(dialect, store, &text)
    }

    /// A pair whose server has the configuration `text`.
    pub fn with_config(dialect: Dialect, store: Arc<Store>, text: &str) -> BulkPair {
        let c = config::parse(text, "pair.toml").expect("pair configuration");
        let params = Arc::new(
            Params::from_config(&c, fixtures::SERVER_A).expect("[leasequery.bulk] configured"),
        );
        let clock = VirtualClock::new();
        let counters = Arc::new(Counters::default());
        let connection = Connection::new(
            Arc::clone(&params),
            Arc::clone(&store),
            Arc::clone(&counters),
            clock.now(),
        );
        BulkPair {
            clock,
            session: Session::new(dialect, params.draft_codes),
            connection,
            counters,
            params,
            store,
            giaddr: fixtures::GIADDR,
            pieces: Pieces::Whole,
            window: 64 * 1024,
            write_budget: lessor_net::tcp::Limits::default().write_budget,
            octets_per_turn: lessor_net::tcp::Limits::default().octets_per_turn,
            reader: Reader::Eager,
            events: Vec::new(),
            closed: None,
            session_end: None,
            handed_out: 0,
            last_handed_out: Duration::ZERO,
            last_taken: Duration::ZERO,
            read: 0,
            max_buffered: 0,
            up: VecDeque::new(),
            down: VecDeque::new(),
            out: Vec::new(),
            out_pos: 0,
            half_closed: false,
            eof_read: false,
            fin: false,
            reset: false,
            next_read: Duration::ZERO,
            rng: Rng::new(1),
        }
    }

    /// Seeds the piece sizes.
    pub fn seed(&mut self, seed: u64) {
        self.rng = Rng::new(seed);
    }

    /// A store holding `bindings`.
    pub fn store_of(bindings: impl IntoIterator<Item = Binding4>) -> Arc<Store> {
        let store = Arc::new(Store::in_memory());
        store.v4().write(Completion::none(), |batch| {
            for b in bindings {
                batch.upsert(b);
            }
        });
        // Bulk leasequery reports durable bindings only.
        store.sync().wait().expect("durable");
        store
    }

    /// Virtual time now.
    pub fn now(&self) -> Duration {
        self.clock.elapsed()
    }

    /// Queues a query for `key` with `xid` (the usual Parameter Request List).
    pub fn query(&mut self, key: &QueryKey, xid: u32) {
        self.session
            .query(key, xid, self.giaddr, &DEFAULT_PARAMETERS)
            .unwrap_or_else(|e| panic!("{key:?} not sent: {e}"));
    }

    /// The requestor shuts its sending side (after what it has queued).
    pub fn half_close(&mut self) {
        self.half_closed = true;
    }

    /// Octets written by the server and not read by the requestor yet.
    pub fn unread(&self) -> usize {
        self.down.len()
    }

    /// Octets the requestor wrote that the server has not read yet.
    pub fn unsent(&self) -> usize {
        self.up.len()
    }

    /// Octets the shell holds, handed out by the engine and not taken by the path yet.
    pub fn shell_held(&self) -> usize {
        self.out.len() - self.out_pos
    }

    /// The bindings the session produced for `xid`, in order.
    pub fn bindings(&self, xid: u32) -> Vec<&lessor_requestor::LeaseInfo> {
        self.events
            .iter()
            .filter_map(|(_, e)| match e {
                bulk::Event::Binding { xid: x, lease } if *x == xid => Some(lease),
                _ => None,
            })
            .collect()
    }

    /// How query `xid` ended, if it did.
    pub fn end(&self, xid: u32) -> Option<&bulk::End> {
        self.events.iter().find_map(|(_, e)| match e {
            bulk::Event::Complete { xid: x, end } if *x == xid => Some(end),
            _ => None,
        })
    }

    /// The xid of each event, in order.
    pub fn xids(&self) -> Vec<u32> {
        self.events
            .iter()
            .map(|(_, e)| match e {
                bulk::Event::Binding { xid, .. } | bulk::Event::Complete { xid, .. } => *xid,
            })
            .collect()
    }

    /// Runs until `t` (virtual time since the start).
    pub fn run_until(&mut self, t: Duration) {
        self.run(t, |_| false);
    }

    /// Runs for `d` from now.
    pub fn run_for(&mut self, d: Duration) {
        self.run_until(self.now() + d);
    }

    /// Runs until the server has closed and the session has ended, at most until `limit`.
    pub fn run_until_closed(&mut self, limit: Duration) {
        self.run(limit, |p| p.closed.is_some() && p.session_end.is_some());
    }

    /// Everything that can happen now, then the clock to the next deadline, until `done` or
    /// `limit`.
    fn run(&mut self, limit: Duration, done: impl Fn(&BulkPair) -> bool) {
        for _ in 0..MAX_TURNS {
            if self.turn() {
                continue;
            }
            if done(self) {
                return;
            }
            let mut next: Option<Duration> = None;
            let mut consider = |t: Duration| next = Some(next.map_or(t, |n: Duration| n.min(t)));
            if self.closed.is_none() {
                if let Some(ms) = self.connection.next_deadline() {
                    consider(Duration::from_millis(ms));
                }
            }
            if matches!(self.reader, Reader::Paced { .. }) && !self.down.is_empty() {
                consider(self.next_read);
            }
            match next {
                Some(t) if t <= limit => {
                    assert!(
                        t > self.now(),
                        "a deadline at {t:?} has passed (now {:?}) and nothing moves: a busy loop",
                        self.now()
                    );
                    self.clock.advance_to(t);
                }
                _ => {
                    self.clock.advance_to(limit.max(self.now()));
                    while self.turn() {}
                    return;
                }
            }
        }
        panic!("more than {MAX_TURNS} turns: the pair does not settle");
    }

    fn piece(&mut self) -> usize {
        match self.pieces {
            Pieces::Whole => usize::MAX,
            Pieces::Octets(n) => n.max(1),
            Pieces::Random { max } => self.rng.between_1_and(max),
        }
    }

    /// One turn of both sides at the current time; whether anything moved.
    fn turn(&mut self) -> bool {
        let before = self.progress_mark();
        self.requestor_writes();
        if self.closed.is_none() {
            self.server_turn();
        }
        self.requestor_reads();
        self.max_buffered = self.max_buffered.max(self.connection.buffered());
        self.progress_mark() != before
    }

    /// Everything whose change is progress.
    fn progress_mark(&self) -> Mark {
        Mark {
            queued: [
                self.up.len(),
                self.down.len(),
                self.handed_out,
                self.out_pos,
                self.events.len(),
                self.session.outgoing().len(),
            ],
            ended: [
                self.eof_read,
                self.closed.is_some(),
                self.session_end.is_some(),
            ],
        }
    }

    fn requestor_writes(&mut self) {
        if self.closed.is_some() {
            return;
        }
        let out = self.session.outgoing();
        if !out.is_empty() {
            self.up.extend(out);
            let n = out.len();
            self.session.written(n);
        }
    }

    fn server_turn(&mut self) {
        let now = self.clock.now();
        // Read what the engine can take now, never more than it hints.
        while StreamEngine::wants_read(&self.connection) {
            let hint = StreamEngine::read_hint(&self.connection).clamp(1, READ_BUFFER);
            if self.up.is_empty() {
                if self.half_closed && !self.eof_read {
                    self.eof_read = true;
                    if let Err(c) = StreamEngine::peer_closed(&mut self.connection, now) {
                        return self.abort(c);
                    }
                    continue;
                }
                break;
            }
            let n = hint.min(self.piece()).min(self.up.len());
            let bytes: Vec<u8> = self.up.drain(..n).collect();
            if let Err(c) = StreamEngine::receive(&mut self.connection, &bytes, now) {
                return self.abort(c);
            }
        }
        // Write until the path is full, there is nothing more, or the turn is over (then the
        // engine is asked whether to close, as the shell does, and the next turn goes on).
        let writes_per_turn = self.octets_per_turn.div_ceil(self.write_budget.max(1));
        for _ in 0..writes_per_turn {
            if self.out_pos == self.out.len() {
                self.out.clear();
                self.out_pos = 0;
                let n = StreamEngine::poll_transmit(
                    &mut self.connection,
                    &mut self.out,
                    self.write_budget,
                    now,
                );
                if n > 0 {
                    self.handed_out += n;
                    self.last_handed_out = self.now();
                }
                if self.out.is_empty() {
                    break;
                }
            }
            let room = self.window.saturating_sub(self.down.len());
            if room == 0 {
                break;
            }
            let n = (self.out.len() - self.out_pos).min(room);
            self.down.extend(&self.out[self.out_pos..self.out_pos + n]);
            self.out_pos += n;
            let held = self.out.len() - self.out_pos;
            if n > 0 {
                self.last_taken = self.now();
            }
            StreamEngine::written(&mut self.connection, n, held, now);
        }
        if self.out_pos == self.out.len() {
            match StreamEngine::close(&self.connection) {
                Some(Ending::Graceful(c)) => {
                    self.fin = true;
                    self.closed = Some(Closed {
                        at: self.now(),
                        how: Ending::Graceful(c),
                    });
                    return;
                }
                Some(Ending::Abort(c)) => return self.abort(c),
                None => {}
            }
        }
        if let Err(c) = StreamEngine::on_timeout(&mut self.connection, now) {
            self.abort(c);
        }
    }

    /// The server closes at once: a reset, what was on its way is lost.
    fn abort(&mut self, c: Close) {
        self.closed = Some(Closed {
            at: self.now(),
            how: Ending::Abort(c),
        });
        self.reset = true;
        self.down.clear();
        self.up.clear();
    }

    fn requestor_reads(&mut self) {
        if self.session_end.is_some() {
            return;
        }
        loop {
            let take = match self.reader {
                Reader::Stopped => break,
                Reader::Eager => self.piece(),
                Reader::Paced { every } => {
                    if self.down.is_empty() || self.now() < self.next_read {
                        break;
                    }
                    self.next_read = self.now() + every;
                    self.piece()
                }
            };
            if self.down.is_empty() {
                break;
            }
            let n = take.min(self.down.len());
            let bytes: Vec<u8> = self.down.drain(..n).collect();
            self.read += n;
            if !self.feed(&bytes) {
                return;
            }
            if matches!(self.reader, Reader::Paced { .. }) {
                break;
            }
        }
        if self.down.is_empty() && (self.fin || self.reset) {
            let end = self.session.finish();
            self.session_end = Some((self.now(), end));
        }
    }

    /// Hands `bytes` to the session; false once the session has ended with an error.
    fn feed(&mut self, mut bytes: &[u8]) -> bool {
        while !bytes.is_empty() {
            match self.session.receive(bytes) {
                Ok((used, event)) => {
                    bytes = &bytes[used..];
                    if let Some(e) = event {
                        self.events.push((self.now(), e));
                    } else if used == 0 {
                        panic!("the session took nothing and produced nothing");
                    }
                }
                Err(e) => {
                    self.session_end = Some((self.now(), Err(e)));
                    return false;
                }
            }
        }
        true
    }
}
