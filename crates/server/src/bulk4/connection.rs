//! The sans-IO engine of one bulk leasequery TCP connection.
//!
//! The I/O layer (`lessor_net::tcp`, through [`super::service`]):
//! - reads at most [`Connection::read_hint`] octets when [`Connection::wants_read`] and hands
//!   them to [`Connection::receive`] (EOF: [`Connection::peer_closed`]);
//! - when its output buffer is empty, calls [`Connection::poll_transmit`] with a budget and
//!   writes what it got;
//! - calls [`Connection::on_timeout`] whenever it wakes (at the latest at
//!   [`Connection::next_deadline`]), and closes the socket once
//!   [`Connection::close`] says so (after writing what it holds, for [`Close::Finished`] and
//!   [`Close::Shutdown`]).
//!
//! Rules (draft §8.6, §9.3, §9.4; docs/protocol.md decision 1):
//! - the dialect is the first frame's; a stream that does not frame (junk, an unknown dialect,
//!   a frame larger than the maximum, a frame cut short at EOF) is closed at once;
//! - up to `queries-per-connection` queries are answered at once, one message each in turn
//!   (round robin), every message carrying its query's xid; a query whose xid is still being
//!   answered is refused with the failure message;
//! - no more queries are read than can be taken: [`Connection::wants_read`] is false at the
//!   limit, and octets the caller handed in beyond a full query are kept (at most one read's
//!   worth) until a query finishes;
//! - memory is bounded whatever the results: one frame being sent, [`super::stream::BATCH`]
//!   bindings per query, and what the store's cursor holds;
//! - after the peer half-closes, the outstanding queries are finished and then the connection
//!   is closed; at shutdown every open query ends with QueryTerminated; a reply that cannot be
//!   encoded aborts its query with UnspecFail and then closes the connection (draft §9.4);
//! - data-timeout: a frame half-received, or replies waiting to be taken by the socket, with no
//!   progress for that long closes the connection; idle-timeout: nothing outstanding at all;
//! - deadlines that progress does not move, so that a peer cannot hold a connection slot by
//!   trickling octets (docs/leasequery.md, "Bulk leasequery limits"): frame-timeout, a frame
//!   that has started must be complete within it; first-query-timeout, the first complete
//!   frame must arrive within it of the accept.

use super::codes::{Codes, Status};
use super::counters::{CloseReason, Counters};
use super::query::{self, Reason, Refusal};
use super::stream::{Sent, Stream};
use super::Params;
use crate::leasequery4::reply::Context;
pub use lessor_net::Now;
use lessor_store::Store;
use lessor_wire::framing::{Decoder, Dialect, Encoder};
use lessor_wire::v4::MessageType;
use std::collections::VecDeque;
use std::sync::Arc;

/// Why a connection ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Close {
    /// The stream does not frame: junk, unknown dialect, oversized or truncated frame, or a
    /// message too short to carry an xid.
    Junk(lessor_wire::Error),
    /// No progress reading a frame or writing replies for data-timeout.
    DataTimeout,
    /// Nothing outstanding for idle-timeout.
    IdleTimeout,
    /// A frame not complete frame-timeout after its first octet.
    FrameTimeout,
    /// No complete frame first-query-timeout after the accept.
    FirstQueryTimeout,
    /// The peer closed its side and every query was answered.
    Finished,
    /// Server shutdown; every open query got QueryTerminated.
    Shutdown,
    /// A query had to be aborted (its failure message was sent first).
    Aborted,
}

impl From<Close> for CloseReason {
    fn from(c: Close) -> Self {
        match c {
            Close::Junk(_) => CloseReason::Junk,
            Close::DataTimeout => CloseReason::DataTimeout,
            Close::IdleTimeout => CloseReason::IdleTimeout,
            Close::FrameTimeout => CloseReason::FrameTimeout,
            Close::FirstQueryTimeout => CloseReason::FirstQueryTimeout,
            Close::Finished => CloseReason::Finished,
            Close::Shutdown => CloseReason::Shutdown,
            Close::Aborted => CloseReason::Aborted,
        }
    }
}

/// One connection (see the module docs).
pub struct Connection {
    params: Arc<Params>,
    store: Arc<Store>,
    counters: Arc<Counters>,
    decoder: Decoder,
    encoder: Option<Encoder>,
    codes: Option<Codes>,
    /// Queries being answered, in round-robin order.
    streams: VecDeque<Stream>,
    /// Octets handed in beyond what could be taken.
    backlog: Vec<u8>,
    /// The frame being sent and how much of it went out.
    carry: Vec<u8>,
    carry_pos: usize,
    peer_closed: bool,
    shutting_down: bool,
    aborted: bool,
    failed: Option<Close>,
    now: Now,
    last_read: u64,
    /// When the peer last took output (or output was first handed out after none waited).
    last_write: u64,
    /// Octets handed out that the I/O layer still holds (not taken by the socket yet).
    held: usize,
    /// When the frame being received started (its first octet was taken).
    frame_started: Option<u64>,
    /// Frames taken so far.
    frames: u64,
    /// Until when the first complete frame must have arrived; `None` once it has.
    first_query_by: Option<u64>,
}

/// Appends the frame of `repr` (whose emitted length is `len`) to `dst`: header, then the
/// message emitted in place. On failure (too large to frame) `dst` is left as it was.
fn emit_frame(
    encoder: &Encoder,
    repr: &lessor_wire::v4::Repr,
    len: usize,
    dst: &mut Vec<u8>,
) -> bool {
    let mut head = [0u8; lessor_wire::framing::MAX_HEADER_LEN];
    // Refused before anything is written: an oversized message costs no buffer.
    let Ok(header) = encoder.write_header(len, &mut head) else {
        return false;
    };
    let at = dst.len();
    dst.extend_from_slice(&head[..header]);
    dst.resize(at + header + len, 0);
    if repr.emit(&mut dst[at + header..]).is_ok_and(|n| n == len) {
        true
    } else {
        dst.truncate(at);
        false
    }
}

impl std::fmt::Debug for Connection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Connection")
            .field("dialect", &self.dialect())
            .field("streams", &self.streams)
            .finish_non_exhaustive()
    }
}

impl Connection {
    /// A new connection, accepted at `now`.
    pub fn new(params: Arc<Params>, store: Arc<Store>, counters: Arc<Counters>, now: Now) -> Self {
        let decoder = Decoder::detect_v4(params.max_message_size);
        let first_query_by = Some(now.ms.saturating_add(params.first_query_timeout_ms));
        Connection {
            params,
            store,
            counters,
            decoder,
            encoder: None,
            codes: None,
            streams: VecDeque::new(),
            backlog: Vec::new(),
            carry: Vec::new(),
            carry_pos: 0,
            peer_closed: false,
            shutting_down: false,
            aborted: false,
            failed: None,
            now,
            last_read: now.ms,
            last_write: now.ms,
            held: 0,
            frame_started: None,
            frames: 0,
            first_query_by,
        }
    }

    /// The dialect, once the first frame told it.
    pub fn dialect(&self) -> Option<Dialect> {
        self.codes.map(|c| c.dialect)
    }

    /// Queries being answered (or refusals waiting to be sent).
    pub fn open_queries(&self) -> usize {
        self.streams.len()
    }

    /// Octets held for sending or held back from reading, for tests and metrics.
    pub fn buffered(&self) -> usize {
        self.carry.capacity() + self.backlog.capacity()
    }

    /// Whether the I/O layer may read: open, the peer has not closed, and fewer queries than
    /// `queries-per-connection` are outstanding.
    pub fn wants_read(&self) -> bool {
        self.failed.is_none()
            && !self.peer_closed
            && !self.shutting_down
            && !self.aborted
            && self.backlog.is_empty()
            && self.streams.len() < self.params.queries_per_connection
    }

    /// How many octets to read at most: never past the current frame, so no query is read
    /// before it can be taken. 0 when [`Connection::wants_read`] is false.
    pub fn read_hint(&self) -> usize {
        if self.wants_read() {
            self.decoder.wants().max(1)
        } else {
            0
        }
    }

    /// Whether there is something to send (so [`Connection::poll_transmit`] would write).
    pub fn wants_write(&self) -> bool {
        self.carry_pos < self.carry.len() || !self.streams.is_empty()
    }

    /// Why the connection is to be closed, once it is. For [`Close::Finished`],
    /// [`Close::Shutdown`] and [`Close::Aborted`] everything owed has been handed out.
    pub fn close(&self) -> Option<Close> {
        if let Some(c) = self.failed {
            return Some(c);
        }
        if self.wants_write() {
            return None;
        }
        if self.aborted {
            Some(Close::Aborted)
        } else if self.shutting_down {
            Some(Close::Shutdown)
        } else if self.peer_closed {
            Some(Close::Finished)
        } else {
            None
        }
    }

    fn fail(&mut self, c: Close) -> Close {
        if self.failed.is_none() {
            // Closes are counted by the I/O layer, which alone sees every way a connection ends.
            self.failed = Some(c);
            // Nothing more will be sent: release the snapshots.
            self.streams.clear();
            self.carry = Vec::new();
            self.carry_pos = 0;
            self.backlog = Vec::new();
        }
        c
    }

    /// Octets read from the peer.
    pub fn receive(&mut self, bytes: &[u8], now: Now) -> Result<(), Close> {
        if let Some(c) = self.failed {
            return Err(c);
        }
        self.now = now;
        if !bytes.is_empty() {
            self.last_read = now.ms;
        }
        if !self.backlog.is_empty() {
            // The caller read more than asked: keep it behind what is already held.
            self.backlog.extend_from_slice(bytes);
            return self.drain_backlog();
        }
        self.take(bytes)
    }

    /// Decodes `bytes` ([`Connection::decode`]), then notes when the frame left half-received,
    /// if any, started: at the first octet of a frame that began in these octets, or earlier.
    fn take(&mut self, bytes: &[u8]) -> Result<(), Close> {
        let frames = self.frames;
        self.decode(bytes)?;
        self.frame_started = if !self.decoder.is_mid_frame() {
            None
        } else if self.frames != frames {
            Some(self.now.ms)
        } else {
            self.frame_started.or(Some(self.now.ms))
        };
        Ok(())
    }

    /// Decodes `bytes`; stops at a full query table, keeping the rest in the backlog.
    fn decode(&mut self, bytes: &[u8]) -> Result<(), Close> {
        let mut input = bytes;
        while !input.is_empty() {
            if self.streams.len() >= self.params.queries_per_connection
                || self.shutting_down
                || self.aborted
            {
                if !self.shutting_down && !self.aborted {
                    self.backlog.extend_from_slice(input);
                }
                return Ok(());
            }
            let step = match self.decoder.decode(input) {
                Ok(s) => s,
                Err(e) => return Err(self.fail(Close::Junk(e))),
            };
            let consumed = step.consumed;
            let message = step.message.map(<[u8]>::to_vec);
            input = &input[consumed..];
            if let Some(m) = message {
                self.on_message(&m)?;
            }
        }
        Ok(())
    }

    fn drain_backlog(&mut self) -> Result<(), Close> {
        let held = std::mem::take(&mut self.backlog);
        self.take(&held)
    }

    fn on_message(&mut self, m: &[u8]) -> Result<(), Close> {
        self.frames += 1;
        self.first_query_by = None;
        let codes = match self.codes {
            Some(c) => c,
            None => {
                let dialect = self.decoder.dialect().unwrap_or(Dialect::Rfc6926);
                let c = Codes::new(dialect, &self.params.draft_codes);
                self.codes = Some(c);
                self.encoder = Some(Encoder::new(c.dialect, self.params.max_message_size));
                match c.dialect {
                    Dialect::Draft => self.counters.draft.add(),
                    _ => self.counters.rfc6926.add(),
                }
                c
            }
        };
        let wall = self.now.wall;
        let parsed = match query::parse(m, &codes) {
            Ok(p) => p,
            Err(_) => return Err(self.fail(Close::Junk(lessor_wire::Error::Truncated))),
        };
        let refuse = |xid, reason: Reason| {
            Stream::failure(xid, codes, wall, reason.status(&codes), reason.text())
        };
        let stream = match parsed {
            Ok(q) => {
                if self
                    .streams
                    .iter()
                    .any(|s| s.is_query() && s.xid() == q.query.xid)
                {
                    refuse(q.query.xid, Reason::DuplicateXid)
                } else {
                    self.counters.count_query(q.key.kind());
                    Stream::new(q, self.store.v4().durable_snapshot(), codes, wall)
                }
            }
            Err(Refusal { xid, reason }) => refuse(xid, reason),
        };
        if !self.writing() {
            // The data timer of the replies starts now.
            self.last_write = self.now.ms;
        }
        self.streams.push_back(stream);
        Ok(())
    }

    /// The peer closed its sending side (EOF). A frame cut short closes the connection;
    /// otherwise outstanding queries are answered, then [`Connection::close`] says
    /// [`Close::Finished`].
    pub fn peer_closed(&mut self, now: Now) -> Result<(), Close> {
        if let Some(c) = self.failed {
            return Err(c);
        }
        self.now = now;
        if !self.backlog.is_empty() {
            // Held octets are still to be read; the decoder sees their end when they are.
            self.peer_closed = true;
            return Ok(());
        }
        if let Err(e) = self.decoder.finish() {
            return Err(self.fail(Close::Junk(e)));
        }
        self.peer_closed = true;
        Ok(())
    }

    /// Appends at most `budget` octets of framed replies to `out` and returns how many.
    ///
    /// A frame that fits in what is left of the budget is emitted straight into `out` (no
    /// intermediate copy); only the frame that straddles the budget is built aside and handed
    /// out over the next calls.
    pub fn poll_transmit(&mut self, out: &mut Vec<u8>, budget: usize, now: Now) -> usize {
        if self.failed.is_some() {
            return 0;
        }
        self.now = now;
        let start = out.len();
        loop {
            let written = out.len() - start;
            if self.carry_pos < self.carry.len() {
                let n = (self.carry.len() - self.carry_pos).min(budget - written);
                out.extend_from_slice(&self.carry[self.carry_pos..self.carry_pos + n]);
                self.carry_pos += n;
                if self.carry_pos < self.carry.len() {
                    break;
                }
                self.carry.clear();
                self.carry_pos = 0;
            }
            let written = out.len() - start;
            if written >= budget {
                break;
            }
            if !self.next_frame(out, budget - written) {
                break;
            }
        }
        let n = out.len() - start;
        if n > 0 {
            self.last_write = now.ms;
        }
        n
    }

    /// The I/O layer's socket took `octets`; `held` octets handed out still wait there. What
    /// the peer takes is the progress the data-timeout measures.
    pub fn written(&mut self, octets: usize, held: usize, now: Now) {
        if octets > 0 {
            self.last_write = now.ms;
        }
        self.held = held;
    }

    /// Whether replies are waiting: to be handed out, or handed out and not taken yet.
    fn writing(&self) -> bool {
        self.wants_write() || self.held > 0
    }

    /// Puts the next reply frame at the end of `out` if it fits in `room` octets, else into
    /// `carry`; false when there is none.
    fn next_frame(&mut self, out: &mut Vec<u8>, room: usize) -> bool {
        let (Some(encoder), Some(_)) = (self.encoder, self.codes) else {
            return false;
        };
        let params = Arc::clone(&self.params);
        let ctx = Context {
            server_identifier: params.server_identifier,
            subnets: &params.subnets,
            global_options: &params.global_options,
            non_sensitive: &params.non_sensitive,
        };
        let manages = |a| crate::leasequery4::manages(&params.subnets, a);
        while let Some(mut stream) = self.streams.pop_front() {
            let Some((repr, sent)) = stream.next_message(&ctx, &manages) else {
                self.query_finished();
                continue;
            };
            let kind = match repr.option(lessor_wire::v4::code::DHCP_MESSAGE_TYPE) {
                Some(lessor_wire::v4::DhcpOption::MessageType(t)) => u8::from(*t),
                _ => 0,
            };
            let len = repr.buffer_len();
            let header = encoder.header_len();
            let dst = if header + len <= room {
                &mut *out
            } else {
                &mut self.carry
            };
            if !emit_frame(&encoder, &repr, len, dst) {
                // Cannot be framed (too large): abort this query and the connection.
                stream.terminate(Status::UnspecFail, "reply too large");
                self.counters.aborted.add();
                self.aborted = true;
                self.backlog = Vec::new();
                for other in self.streams.iter_mut() {
                    other.terminate(Status::QueryTerminated, "connection aborted");
                }
                self.streams.push_front(stream);
                continue;
            }
            stream.emitted();
            match sent {
                Sent::Binding => {
                    self.counters.bindings.add();
                    if kind == u8::from(MessageType::LeaseActive) {
                        self.counters.active.add();
                    } else if kind == u8::from(MessageType::LeaseUnassigned) {
                        self.counters.unassigned_bindings.add();
                    } else {
                        self.counters.data.add();
                    }
                }
                Sent::Done => self.counters.done.add(),
                Sent::Unassigned => self.counters.unassigned.add(),
                Sent::Unknown => self.counters.unknown.add(),
                Sent::Failure(s) => self.counters.count_failure(s),
            }
            if stream.is_finished() {
                self.query_finished();
            } else {
                self.streams.push_back(stream);
            }
            return true;
        }
        false
    }

    fn query_finished(&mut self) {
        if self.backlog.is_empty() {
            return;
        }
        if self.drain_backlog().is_ok() && self.peer_closed && self.backlog.is_empty() {
            if let Err(e) = self.decoder.finish() {
                self.fail(Close::Junk(e));
            }
        }
    }

    /// The monotonic time (ms) at which [`Connection::on_timeout`] would close the connection
    /// if nothing moves before; `None` once it is closed. The I/O layer sleeps until then.
    pub fn next_deadline(&self) -> Option<u64> {
        if self.failed.is_some() {
            return None;
        }
        let data = self.params.data_timeout_ms;
        let mid_frame = self.decoder.is_mid_frame();
        let writing = self.writing();
        let mut at = u64::MAX;
        if mid_frame {
            at = at.min(self.last_read.saturating_add(data));
        }
        if writing {
            at = at.min(self.last_write.saturating_add(data));
        }
        if !writing && !mid_frame {
            let last = self.last_read.max(self.last_write);
            at = at.min(last.saturating_add(self.params.idle_timeout_ms));
        }
        if let Some(started) = self.frame_started {
            at = at.min(started.saturating_add(self.params.frame_timeout_ms));
        }
        if let Some(by) = self.first_query_by {
            at = at.min(by);
        }
        Some(at)
    }

    /// Checks the timers; an error means: close now.
    pub fn on_timeout(&mut self, now: Now) -> Result<(), Close> {
        if let Some(c) = self.failed {
            return Err(c);
        }
        self.now = now;
        let data = self.params.data_timeout_ms;
        let since = |t: u64| now.ms.saturating_sub(t);
        if self.first_query_by.is_some_and(|by| now.ms >= by) {
            return Err(self.fail(Close::FirstQueryTimeout));
        }
        if self
            .frame_started
            .is_some_and(|t| since(t) >= self.params.frame_timeout_ms)
        {
            return Err(self.fail(Close::FrameTimeout));
        }
        if self.decoder.is_mid_frame() && since(self.last_read) >= data {
            return Err(self.fail(Close::DataTimeout));
        }
        if self.writing() && since(self.last_write) >= data {
            return Err(self.fail(Close::DataTimeout));
        }
        if !self.writing()
            && !self.decoder.is_mid_frame()
            && since(self.last_read.max(self.last_write)) >= self.params.idle_timeout_ms
        {
            return Err(self.fail(Close::IdleTimeout));
        }
        Ok(())
    }

    /// The server is stopping: every open query ends with QueryTerminated (after the frame
    /// being sent, if any), nothing more is read, and then [`Connection::close`] says
    /// [`Close::Shutdown`].
    pub fn shutdown(&mut self) {
        if self.shutting_down {
            return;
        }
        self.shutting_down = true;
        self.backlog = Vec::new();
        self.streams.retain(|s| !s.is_finished());
        for s in self.streams.iter_mut() {
            s.terminate(Status::QueryTerminated, "server shutting down");
        }
    }
}
