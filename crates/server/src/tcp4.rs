//! The TCP listener of DHCPv4 bulk leasequery: sockets and threads around the sans-IO
//! [`crate::bulk4::Connection`].
//!
//! - One thread per listening address accepts; one thread per connection serves it (at most
//!   `max-connections` of them, BULK_LQ_MAX_CONNS, so threads are few).
//! - A connection from outside `[leasequery] requesters` is closed at once (draft §9.1).
//! - At most `max-connections` connections; when only one slot is left it is kept for a
//!   requester that has no connection yet (draft §7.5, §10: one busy requester cannot lock the
//!   others out). A refused connection is closed at once.
//! - Sockets are non-blocking and every thread blocks in poll(2): a listener until a peer
//!   connects, a connection until its socket can move what the engine wants moved (read only
//!   when the engine wants a query, never more than the current frame; write what the engine
//!   hands out in slices of [`WRITE_BUDGET`]) or until the engine's next deadline
//!   ([`Connection::next_deadline`]: data-timeout, idle-timeout). An idle service uses no CPU
//!   and a stream is paced only by the peer. A write error closes the connection at once
//!   (draft §9.4).
//! - Connection threads run at nice [`CONNECTION_NICE`], below the DHCP and UDP leasequery
//!   threads, so a stream at full speed does not delay their answers.
//! - Shutdown wakes every thread through one socket pair that becomes readable for good.
//! - At shutdown every connection sends QueryTerminated for its open queries and closes; a peer
//!   that does not read gets [`SHUTDOWN_GRACE`] to take them.

use crate::bulk4::{Close, CloseReason, Connection, Counters, Now, Params};
use crate::leasequery4::access::AllowList;
use lessor_store::Store;
use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
use std::collections::HashMap;
use std::io::{self, ErrorKind, Read, Write};
use std::net::{IpAddr, Shutdown, SocketAddr, TcpListener, TcpStream};
use std::os::fd::AsFd;
use std::os::unix::net::UnixStream;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// Octets handed to one write. Large, so that a stream costs few system calls and few wake-ups
/// of the reader (it was 16 KiB; see docs/benchmarks.md, bulk section). The buffer is allocated
/// once per connection, and connections are at most `max-connections`.
pub const WRITE_BUDGET: usize = 256 * 1024;

/// How long a connection may take to flush its QueryTerminated messages at shutdown.
pub const SHUTDOWN_GRACE: Duration = Duration::from_secs(1);

/// Octets written in a row before a connection looks again at its socket's input and the stop
/// flag, so one fast stream does not starve the others' queries or delay shutdown.
const OCTETS_PER_TURN: usize = 1024 * 1024;

/// Writes of [`WRITE_BUDGET`] in one turn ([`OCTETS_PER_TURN`]).
const WRITES_PER_TURN: usize = OCTETS_PER_TURN.div_ceil(WRITE_BUDGET);

/// The nice value of a connection's thread: a stream keeps a CPU busy for as long as the peer
/// reads, and DHCP and UDP leasequery answers, whose threads keep the default priority, must
/// not wait behind it.
pub const CONNECTION_NICE: i32 = 10;

/// How long a listener waits after an accept error (out of descriptors, say) before trying
/// again, so that a listener that stays readable does not spin.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(10);

/// How long, after our FIN, the peer's leftover octets are read and dropped.
const LINGER: Duration = Duration::from_millis(200);

/// What the listener needs besides the sockets.
#[derive(Debug, Clone)]
pub struct Settings {
    pub params: Params,
    pub allow: AllowList,
    pub max_connections: usize,
}

/// Connection slots: total and per requester address.
#[derive(Debug, Default)]
struct Slots {
    total: usize,
    by_peer: HashMap<IpAddr, usize>,
}

impl Slots {
    /// Takes a slot for `peer` if the rules allow (see the module docs).
    fn take(&mut self, peer: IpAddr, max: usize) -> bool {
        let has = self.by_peer.get(&peer).copied().unwrap_or(0);
        if self.total >= max || (max > 1 && self.total + 1 == max && has > 0) {
            return false;
        }
        self.total += 1;
        *self.by_peer.entry(peer).or_insert(0) += 1;
        true
    }

    fn give_back(&mut self, peer: IpAddr) {
        self.total = self.total.saturating_sub(1);
        if let Some(n) = self.by_peer.get_mut(&peer) {
            *n -= 1;
            if *n == 0 {
                self.by_peer.remove(&peer);
            }
        }
    }
}

/// The running listener.
pub struct Running {
    stop: Arc<AtomicBool>,
    /// Written once at shutdown: its peer, which every thread polls, becomes readable for good.
    wake: UnixStream,
    threads: Vec<JoinHandle<()>>,
    local: Vec<SocketAddr>,
    counters: Arc<Counters>,
}

impl Running {
    /// The addresses listened on (with the port the system chose for port 0).
    pub fn local_addrs(&self) -> &[SocketAddr] {
        &self.local
    }

    /// The service's counters.
    pub fn counters(&self) -> &Arc<Counters> {
        &self.counters
    }

    /// Stops accepting, sends QueryTerminated on every connection and waits for the threads.
    pub fn shutdown(mut self) {
        self.stop();
        for t in self.threads.drain(..) {
            let _ = t.join();
        }
    }
}

impl Running {
    fn stop(&self) {
        self.stop.store(true, Ordering::SeqCst);
        // Nonblocking: one octet is enough, and a full buffer means it is already readable.
        let _ = (&self.wake).write(&[1]);
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Listens on `addrs` and serves bulk leasequery from `store` until [`Running::shutdown`].
pub fn start(settings: Settings, addrs: &[SocketAddr], store: Arc<Store>) -> io::Result<Running> {
    let stop = Arc::new(AtomicBool::new(false));
    let (wake, woken) = UnixStream::pair()?;
    wake.set_nonblocking(true)?;
    let counters = Arc::new(Counters::default());
    let slots = Arc::new(Mutex::new(Slots::default()));
    let shared = Arc::new(Shared {
        params: Arc::new(settings.params),
        allow: settings.allow,
        max_connections: settings.max_connections.max(1),
        store,
        counters: Arc::clone(&counters),
        stop: Arc::clone(&stop),
        slots,
        started: Instant::now(),
        workers: Mutex::new(Vec::new()),
        woken,
    });
    let mut threads = Vec::new();
    let mut local = Vec::new();
    for addr in addrs {
        let listener = TcpListener::bind(addr)?;
        listener.set_nonblocking(true)?;
        local.push(listener.local_addr()?);
        let shared = Arc::clone(&shared);
        threads.push(
            std::thread::Builder::new()
                .name(format!("bulk4-accept-{addr}"))
                .spawn(move || accept_loop(&listener, &shared))?,
        );
    }
    Ok(Running {
        stop,
        wake,
        threads,
        local,
        counters,
    })
}

struct Shared {
    params: Arc<Params>,
    allow: AllowList,
    max_connections: usize,
    store: Arc<Store>,
    counters: Arc<Counters>,
    stop: Arc<AtomicBool>,
    slots: Arc<Mutex<Slots>>,
    started: Instant,
    workers: Mutex<Vec<JoinHandle<()>>>,
    /// Readable once the service stops (see [`Running`]).
    woken: UnixStream,
}

impl Shared {
    fn now(&self) -> Now {
        Now {
            wall: crate::serve::now(),
            ms: u64::try_from(self.started.elapsed().as_millis()).unwrap_or(u64::MAX),
        }
    }

    fn allowed(&self, peer: IpAddr) -> bool {
        match peer {
            IpAddr::V4(a) => self.allow.contains(a),
            IpAddr::V6(a) => a.to_ipv4_mapped().is_some_and(|a| self.allow.contains(a)),
        }
    }
}

fn accept_loop(listener: &TcpListener, shared: &Arc<Shared>) {
    while !shared.stop.load(Ordering::SeqCst) {
        let mut backoff = false;
        loop {
            match listener.accept() {
                Ok((stream, peer)) => accept(stream, peer.ip(), shared),
                Err(e) if e.kind() == ErrorKind::WouldBlock => break,
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(_) => {
                    backoff = true;
                    break;
                }
            }
        }
        // Forget finished workers.
        shared
            .workers
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .retain(|w| !w.is_finished());
        let mut fds = [
            PollFd::new(shared.woken.as_fd(), PollFlags::POLLIN),
            PollFd::new(listener.as_fd(), PollFlags::POLLIN),
        ];
        let (fds, timeout) = if backoff {
            (&mut fds[..1], timeout_of(ACCEPT_BACKOFF))
        } else {
            (&mut fds[..], PollTimeout::NONE)
        };
        // EINTR and the like: loop and look again.
        let _ = poll(fds, timeout);
    }
    let workers = std::mem::take(&mut *shared.workers.lock().unwrap_or_else(|p| p.into_inner()));
    for w in workers {
        let _ = w.join();
    }
}

/// A poll(2) timeout of `d`, rounded up to the next millisecond so that a deadline is never
/// woken for early (and then spun on).
fn timeout_of(d: Duration) -> PollTimeout {
    let ms = d.as_nanos().div_ceil(1_000_000);
    PollTimeout::try_from(ms).unwrap_or(PollTimeout::MAX)
}

fn accept(stream: TcpStream, peer: IpAddr, shared: &Arc<Shared>) {
    if !shared.allowed(peer) {
        shared.counters.refused_not_allowed.add();
        let _ = stream.shutdown(Shutdown::Both);
        return;
    }
    let taken = shared
        .slots
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .take(peer, shared.max_connections);
    if !taken {
        shared.counters.refused_limit.add();
        let _ = stream.shutdown(Shutdown::Both);
        return;
    }
    shared.counters.accepted.add();
    let worker = Arc::clone(shared);
    let spawned = std::thread::Builder::new()
        .name(format!("bulk4-{peer}"))
        .spawn(move || {
            // Best effort: a thread that cannot lower its priority serves all the same.
            let _ = crate::io4::set_thread_nice(CONNECTION_NICE);
            serve_connection(stream, &worker);
            worker
                .slots
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .give_back(peer);
        });
    match spawned {
        Ok(handle) => shared
            .workers
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(handle),
        Err(_) => shared
            .slots
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .give_back(peer),
    }
}

/// Serves one connection until the engine or the socket ends it, and counts why it ended.
fn serve_connection(mut stream: TcpStream, shared: &Shared) {
    let reason = match stream.set_nonblocking(true) {
        Ok(()) => drive(&mut stream, shared),
        Err(_) => CloseReason::SocketError,
    };
    // Counted before the peer can see the close.
    shared.counters.count_close(reason);
    let _ = stream.shutdown(Shutdown::Both);
}

/// The connection's loop: move what can be moved, then block until the socket, the engine's
/// next deadline or shutdown says there is more.
fn drive(stream: &mut TcpStream, shared: &Shared) -> CloseReason {
    let _ = stream.set_nodelay(true);
    let mut conn = Connection::new(
        Arc::clone(&shared.params),
        Arc::clone(&shared.store),
        Arc::clone(&shared.counters),
        shared.now(),
    );
    let mut buf = vec![0u8; 4096];
    let mut out: Vec<u8> = Vec::with_capacity(WRITE_BUDGET);
    let mut out_pos = 0;
    let mut stopping_since: Option<Instant> = None;
    loop {
        let now = shared.now();
        if stopping_since.is_none() && shared.stop.load(Ordering::SeqCst) {
            conn.shutdown();
            stopping_since = Some(Instant::now());
        }
        if stopping_since.is_some_and(|t| t.elapsed() >= SHUTDOWN_GRACE) {
            return CloseReason::Shutdown;
        }
        // Read every query that can be taken now, one frame at most per read.
        while conn.wants_read() {
            let n = conn.read_hint().min(buf.len());
            match stream.read(&mut buf[..n]) {
                Ok(0) => {
                    if let Err(c) = conn.peer_closed(now) {
                        return c.into();
                    }
                }
                Ok(n) => {
                    if let Err(c) = conn.receive(&buf[..n], now) {
                        return c.into();
                    }
                }
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(e) if e.kind() == ErrorKind::WouldBlock => break,
                Err(_) => return CloseReason::SocketError,
            }
        }
        // Write until the socket is full, there is nothing more, or it is the others' turn.
        let mut blocked = false;
        for _ in 0..WRITES_PER_TURN {
            if out_pos == out.len() {
                out.clear();
                out_pos = 0;
                conn.poll_transmit(&mut out, WRITE_BUDGET, now);
                if out.is_empty() {
                    break;
                }
            }
            match stream.write(&out[out_pos..]) {
                Ok(0) => return CloseReason::SocketError,
                Ok(n) => out_pos += n,
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(e) if e.kind() == ErrorKind::WouldBlock => {
                    blocked = true;
                    break;
                }
                // A send error: close at once (draft §9.4).
                Err(_) => return CloseReason::SocketError,
            }
        }
        if out_pos == out.len() {
            match conn.close() {
                Some(c @ (Close::Finished | Close::Shutdown | Close::Aborted)) => {
                    let _ = stream.flush();
                    let _ = stream.shutdown(Shutdown::Write);
                    linger(stream, &mut buf);
                    return c.into();
                }
                Some(c) => return c.into(),
                None => {}
            }
        }
        if let Err(c) = conn.on_timeout(now) {
            return c.into();
        }
        let want_out = out_pos < out.len();
        if !blocked && (want_out || conn.wants_write()) {
            // Its turn ended with more to send: look at the input and the flag, then go on.
            continue;
        }
        let mut events = PollFlags::empty();
        if conn.wants_read() {
            events |= PollFlags::POLLIN;
        }
        if want_out {
            events |= PollFlags::POLLOUT;
        }
        let mut wait = conn
            .next_deadline()
            .map(|at| Duration::from_millis(at.saturating_sub(now.ms)));
        if let Some(since) = stopping_since {
            let left = SHUTDOWN_GRACE.saturating_sub(since.elapsed());
            wait = Some(wait.map_or(left, |w| w.min(left)));
        }
        let timeout = wait.map_or(PollTimeout::NONE, timeout_of);
        let mut fds = [
            PollFd::new(stream.as_fd(), events),
            PollFd::new(shared.woken.as_fd(), PollFlags::POLLIN),
        ];
        // Once stopping, the wake socket stays readable: leave it out.
        let n = if stopping_since.is_some() { 1 } else { 2 };
        match poll(&mut fds[..n], timeout) {
            Ok(_) => {}
            Err(nix::errno::Errno::EINTR) => continue,
            Err(_) => return CloseReason::SocketError,
        }
        let revents = fds[0].revents().unwrap_or(PollFlags::empty());
        if events.is_empty() && revents.intersects(PollFlags::POLLERR | PollFlags::POLLHUP) {
            // Dead socket and nothing asked of it: polling again would return at once.
            return CloseReason::SocketError;
        }
    }
}

/// After our FIN: reads and discards what the peer still sends, for a moment, so that closing
/// with unread octets does not reset the connection before the peer has read our last replies.
fn linger(stream: &mut TcpStream, buf: &mut [u8]) {
    let until = Instant::now() + LINGER;
    loop {
        match stream.read(buf) {
            Ok(0) => return,
            Ok(_) => continue,
            Err(e) if e.kind() == ErrorKind::Interrupted => continue,
            Err(e) if e.kind() == ErrorKind::WouldBlock => {}
            Err(_) => return,
        }
        let left = until.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return;
        }
        let mut fds = [PollFd::new(stream.as_fd(), PollFlags::POLLIN)];
        match poll(&mut fds, timeout_of(left)) {
            Ok(0) => return,
            Ok(_) | Err(nix::errno::Errno::EINTR) => {}
            Err(_) => return,
        }
    }
}
