//! The sans-IO engine of one bulk leasequery TCP connection, for any protocol (DHCPv4: [`crate::bulk4`],
//! DHCPv6: [`crate::bulk6`]): the protocol ([`Protocol`]) reads queries and produces messages; this
//! module frames them and applies every connection rule, so both families share them.
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
//! Rules (draft §8.6, §9.3, §9.4, RFC 5460 §7; docs/protocol.md decision 1):
//! - the dialect is the decoder's (for DHCPv4 the first frame's); a stream that does not frame (junk, an unknown dialect,
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
//!   encoded aborts its query with UnspecFail and then closes the connection (draft §9.4; the
//!   protocol builds those messages, [`Protocol::terminate`]);
//! - data-timeout: a frame half-received, or replies waiting to be taken by the socket, with no
//!   progress for that long closes the connection; idle-timeout: nothing outstanding at all;
//! - deadlines that progress does not move, so that a peer cannot hold a connection slot by
//!   trickling octets (docs/leasequery.md, "Bulk leasequery limits"): frame-timeout, a frame
//!   that has started must be complete within it; first-query-timeout, the first complete
//!   frame must arrive within it of the accept.

use lessor_net::Now;
use lessor_wire::framing::{Decoder, Dialect, Encoder};
use std::collections::VecDeque;

/// Why a connection ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Close {
    /// The stream does not frame: junk, unknown dialect, oversized or truncated frame, or a
    /// message too short to carry a transaction id.
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

/// The connection limits and timers (the `[leasequery4.bulk]` / `[leasequery6.bulk]` keys).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// `queries-per-connection` (at least 1).
    pub queries_per_connection: usize,
    /// `data-timeout` and `idle-timeout`, in milliseconds.
    pub data_timeout_ms: u64,
    pub idle_timeout_ms: u64,
    /// `frame-timeout` and `first-query-timeout`, in milliseconds.
    pub frame_timeout_ms: u64,
    pub first_query_timeout_ms: u64,
    /// Largest frame taken or sent.
    pub max_message_size: usize,
}

/// Why the connection ends a query before its end.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Terminate {
    /// Its next message cannot be framed (too large): UnspecFail, then the connection closes.
    TooLarge,
    /// Another query of the connection was aborted: QueryTerminated.
    Aborted,
    /// The server shuts down: QueryTerminated.
    Shutdown,
}

/// A message ready to be framed.
pub trait Message {
    /// Octets [`Message::emit`] writes.
    fn buffer_len(&self) -> usize;
    /// Writes exactly [`Message::buffer_len`] octets into `buf` (that long); false if it cannot.
    fn emit(&self, buf: &mut [u8]) -> bool;
}

/// What a connection needs of the protocol it carries: reading queries, producing each
/// query's messages one at a time, and counting what went out.
pub trait Protocol: Send + 'static {
    /// One query's replies (a refusal is a stream of one message).
    type Stream: std::fmt::Debug + Send;
    /// One reply.
    type Message: Message;

    /// The connection's limits.
    fn limits(&self) -> Limits;
    /// The frame decoder of a new connection.
    fn decoder(&self, max_message_size: usize) -> Decoder;
    /// A complete frame arrived in `dialect` at `now`: the stream that answers it (a refusal
    /// when it cannot be answered), or an error that closes the connection as junk. `open`
    /// are the queries being answered (for duplicate transaction ids).
    fn query(
        &mut self,
        message: &[u8],
        dialect: Dialect,
        open: &VecDeque<Self::Stream>,
        now: Now,
    ) -> Result<Self::Stream, lessor_wire::Error>;
    /// The stream's next message, or `None` once it has produced everything.
    fn next_message(&mut self, stream: &mut Self::Stream) -> Option<Self::Message>;
    /// `message`, the last one `stream` gave, was framed and handed out.
    fn emitted(&mut self, stream: &mut Self::Stream, message: &Self::Message);
    /// Whether `stream` produced everything.
    fn is_finished(stream: &Self::Stream) -> bool;
    /// Ends `stream` early: its next (and last) message is the failure `why` calls for. What it
    /// holds of the store is released.
    fn terminate(&mut self, stream: &mut Self::Stream, why: Terminate);
}

/// One connection (see the module docs).
pub struct Connection<P: Protocol> {
    protocol: P,
    limits: Limits,
    decoder: Decoder,
    /// Known from the first frame on.
    encoder: Option<Encoder>,
    /// Queries being answered, in round-robin order.
    streams: VecDeque<P::Stream>,
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

/// Appends the frame of `m` (whose emitted length is `len`) to `dst`: header, then the
/// message emitted in place. On failure (too large to frame) `dst` is left as it was.
fn emit_frame<M: Message>(encoder: &Encoder, m: &M, len: usize, dst: &mut Vec<u8>) -> bool {
    let mut head = [0u8; lessor_wire::framing::MAX_HEADER_LEN];
    // Refused before anything is written: an oversized message costs no buffer.
    let Ok(header) = encoder.write_header(len, &mut head) else {
        return false;
    };
    let at = dst.len();
    dst.extend_from_slice(&head[..header]);
    dst.resize(at + header + len, 0);
    if m.emit(&mut dst[at + header..]) {
        true
    } else {
        dst.truncate(at);
        false
    }
}

impl<P: Protocol> std::fmt::Debug for Connection<P> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Connection")
            .field("dialect", &self.dialect())
            .field("streams", &self.streams)
            .finish_non_exhaustive()
    }
}

impl<P: Protocol> Connection<P> {
    /// A new connection of `protocol`, accepted at `now`.
    pub fn with_protocol(protocol: P, now: Now) -> Self {
        let limits = protocol.limits();
        let decoder = protocol.decoder(limits.max_message_size);
        let first_query_by = Some(now.ms.saturating_add(limits.first_query_timeout_ms));
        Connection {
            protocol,
            limits,
            decoder,
            encoder: None,
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
        self.encoder.map(|e| e.dialect())
    }

    /// The protocol's side of the connection.
    pub fn protocol(&self) -> &P {
        &self.protocol
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
            && self.streams.len() < self.limits.queries_per_connection
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
            if self.streams.len() >= self.limits.queries_per_connection
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
        let dialect = match self.encoder {
            Some(e) => e.dialect(),
            None => {
                let Some(d) = self.decoder.dialect() else {
                    // A complete frame always has a dialect; refuse rather than guess.
                    return Err(self.fail(Close::Junk(lessor_wire::Error::UnknownDialect)));
                };
                self.encoder = Some(Encoder::new(d, self.limits.max_message_size));
                d
            }
        };
        let stream = match self.protocol.query(m, dialect, &self.streams, self.now) {
            Ok(s) => s,
            Err(e) => return Err(self.fail(Close::Junk(e))),
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
        let Some(encoder) = self.encoder else {
            return false;
        };
        while let Some(mut stream) = self.streams.pop_front() {
            let Some(message) = self.protocol.next_message(&mut stream) else {
                self.query_finished();
                continue;
            };
            let len = message.buffer_len();
            let header = encoder.header_len();
            let dst = if header + len <= room {
                &mut *out
            } else {
                &mut self.carry
            };
            if !emit_frame(&encoder, &message, len, dst) {
                // Cannot be framed (too large): abort this query and the connection.
                self.protocol.terminate(&mut stream, Terminate::TooLarge);
                self.aborted = true;
                self.backlog = Vec::new();
                for other in self.streams.iter_mut() {
                    self.protocol.terminate(other, Terminate::Aborted);
                }
                self.streams.push_front(stream);
                continue;
            }
            self.protocol.emitted(&mut stream, &message);
            if P::is_finished(&stream) {
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
        let data = self.limits.data_timeout_ms;
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
            at = at.min(last.saturating_add(self.limits.idle_timeout_ms));
        }
        if let Some(started) = self.frame_started {
            at = at.min(started.saturating_add(self.limits.frame_timeout_ms));
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
        let data = self.limits.data_timeout_ms;
        let since = |t: u64| now.ms.saturating_sub(t);
        if self.first_query_by.is_some_and(|by| now.ms >= by) {
            return Err(self.fail(Close::FirstQueryTimeout));
        }
        if self
            .frame_started
            .is_some_and(|t| since(t) >= self.limits.frame_timeout_ms)
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
            && since(self.last_read.max(self.last_write)) >= self.limits.idle_timeout_ms
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
        self.streams.retain(|s| !P::is_finished(s));
        for s in self.streams.iter_mut() {
            self.protocol.terminate(s, Terminate::Shutdown);
        }
    }
}

impl<P: Protocol> lessor_net::tcp::StreamEngine for Connection<P> {
    type Close = Close;

    fn wants_read(&self) -> bool {
        Connection::wants_read(self)
    }
    fn read_hint(&self) -> usize {
        Connection::read_hint(self)
    }
    fn receive(&mut self, bytes: &[u8], now: Now) -> Result<(), Close> {
        Connection::receive(self, bytes, now)
    }
    fn peer_closed(&mut self, now: Now) -> Result<(), Close> {
        Connection::peer_closed(self, now)
    }
    fn wants_write(&self) -> bool {
        Connection::wants_write(self)
    }
    fn poll_transmit(&mut self, out: &mut Vec<u8>, budget: usize, now: Now) -> usize {
        Connection::poll_transmit(self, out, budget, now)
    }
    fn written(&mut self, octets: usize, held: usize, now: Now) {
        Connection::written(self, octets, held, now)
    }
    fn close(&self) -> Option<lessor_net::tcp::Ending<Close>> {
        use lessor_net::tcp::Ending;
        // Everything owed was handed out for these: let the peer read it before the close.
        Connection::close(self).map(|c| match c {
            Close::Finished | Close::Shutdown | Close::Aborted => Ending::Graceful(c),
            Close::Junk(_)
            | Close::DataTimeout
            | Close::IdleTimeout
            | Close::FrameTimeout
            | Close::FirstQueryTimeout => Ending::Abort(c),
        })
    }
    fn next_deadline(&self) -> Option<u64> {
        Connection::next_deadline(self)
    }
    fn on_timeout(&mut self, now: Now) -> Result<(), Close> {
        Connection::on_timeout(self, now)
    }
    fn shutdown(&mut self) {
        Connection::shutdown(self)
    }
}
