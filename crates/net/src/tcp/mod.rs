//! A TCP listener for sans-IO stream engines: it owns sockets, threads and the clock, and knows
//! nothing of the protocol, which a [`StreamService`] supplies (bulk leasequery today, DHCPv6
//! bulk and active leasequery later).
//!
//! - One thread per listening address accepts; one thread per connection serves it (at most
//!   `max_connections` of them, so threads are few).
//! - A peer the service does not allow is closed at once.
//! - At most `max_connections` connections, and at most `max_per_peer` from one peer address;
//!   when only one slot is left it is kept for a peer that has no connection yet (one busy
//!   requester cannot lock the others out). A refused connection is closed at once.
//! - An engine (or service) that panics ends its own connection only: the panic is caught, the
//!   service told ([`StreamService::panicked`], then [`Ended::Panic`]) and the slot given back
//!   whatever happens on the connection's thread.
//! - Sockets are non-blocking and every thread blocks in poll(2): a listener until a peer
//!   connects, a connection until its socket can move what the engine wants moved (read only
//!   when the engine wants input, never more than it hints; write what the engine hands out in
//!   slices of `write_budget`) or until the engine's next deadline. An idle service uses no CPU
//!   and a stream is paced only by the peer. A write error closes the connection at once.
//! - Connection threads run at a lower priority (`connection_nice`), so a stream at full speed
//!   does not delay the UDP services.
//! - Shutdown wakes every thread through one socket pair that becomes readable for good; every
//!   engine is told ([`StreamEngine::shutdown`]) and gets `shutdown_grace` to flush its last
//!   messages.

mod connection;
mod slots;

use crate::clock::{Clock, Now};
use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
use slots::Slots;
use std::io::{self, ErrorKind, Write};
use std::net::{IpAddr, Shutdown, SocketAddr, TcpListener, TcpStream};
use std::os::fd::AsFd;
use std::os::unix::net::UnixStream;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

/// The sans-IO engine of one connection. The listener:
/// - reads at most [`StreamEngine::read_hint`] octets when [`StreamEngine::wants_read`] and
///   hands them to [`StreamEngine::receive`] (end of stream: [`StreamEngine::peer_closed`]);
/// - when its output buffer is empty, calls [`StreamEngine::poll_transmit`] with a budget and
///   writes what it got;
/// - calls [`StreamEngine::on_timeout`] whenever it wakes (at the latest at
///   [`StreamEngine::next_deadline`]), and ends the connection as [`StreamEngine::close`] says.
pub trait StreamEngine: Send + 'static {
    /// Why the engine ends a connection.
    type Close: Copy + Send + 'static;

    /// Whether the engine takes input now.
    fn wants_read(&self) -> bool;
    /// At most how many octets to read next.
    fn read_hint(&self) -> usize;
    /// Octets from the peer.
    fn receive(&mut self, bytes: &[u8], now: Now) -> Result<(), Self::Close>;
    /// The peer closed its sending side.
    fn peer_closed(&mut self, now: Now) -> Result<(), Self::Close>;
    /// Whether the engine has output ready or being produced.
    fn wants_write(&self) -> bool;
    /// Appends at most `budget` octets of output to `out`; returns how many.
    fn poll_transmit(&mut self, out: &mut Vec<u8>, budget: usize, now: Now) -> usize;
    /// The socket took `octets` of what was handed out; `held` octets of it are still waiting
    /// in the listener. Progress is what the peer takes, not what the engine hands out: a peer
    /// that reads slowly but steadily is making progress, and output still waiting is not idle.
    fn written(&mut self, octets: usize, held: usize, now: Now);
    /// Whether, and how, to end the connection once the output handed out is written.
    fn close(&self) -> Option<Ending<Self::Close>>;
    /// When [`StreamEngine::on_timeout`] must run next (monotonic milliseconds, as in
    /// [`Now::ms`]).
    fn next_deadline(&self) -> Option<u64>;
    /// Time passed; the engine may end the connection.
    fn on_timeout(&mut self, now: Now) -> Result<(), Self::Close>;
    /// The service stops: end what is open (the listener keeps writing for the grace period).
    fn shutdown(&mut self);
}

/// How an engine ends a connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ending<C> {
    /// Write everything handed out, send FIN, read and drop what the peer still sends for a
    /// moment (so the peer sees our last messages, not a reset), then close.
    Graceful(C),
    /// Close now.
    Abort(C),
}

/// How a connection ended, as the listener saw it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ended<C> {
    /// The engine ended it.
    Engine(C),
    /// A read or write failed (reset by the peer, a send error), or the socket died.
    SocketError,
    /// The service stopped and the grace period ran out before the engine finished.
    Shutdown,
    /// The engine panicked (after [`StreamService::panicked`]).
    Panic,
}

/// Why a connection was refused before it got an engine.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refused {
    /// The service does not allow this peer.
    NotAllowed,
    /// No connection slot for this peer.
    Full,
    /// The peer already holds `max_per_peer` connections.
    PerPeer,
    /// No thread could be started for it.
    NoThread,
}

/// What the listener asks of the protocol it serves. Called from the listener's threads.
pub trait StreamService: Send + Sync + 'static {
    type Engine: StreamEngine;

    /// A short name for threads and logs ("bulk4").
    fn name(&self) -> &str;
    /// Whether `peer` may connect at all.
    fn allows(&self, peer: IpAddr) -> bool;
    /// The engine of a new connection from `peer`.
    fn connect(&self, peer: SocketAddr, now: Now) -> Self::Engine;
    /// A connection was refused.
    fn refused(&self, peer: IpAddr, why: Refused);
    /// A connection ended.
    fn closed(&self, peer: SocketAddr, how: Ended<<Self::Engine as StreamEngine>::Close>);
    /// The engine of the connection from `peer` panicked with `message` (a bug: the connection
    /// ends, the service goes on); [`StreamService::closed`] follows with [`Ended::Panic`].
    fn panicked(&self, peer: SocketAddr, message: &str);
}

/// The listener's limits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Connections at once (at least 1).
    pub max_connections: usize,
    /// Connections at once from one peer address (at least 1).
    pub max_per_peer: usize,
    /// Octets asked of the engine for one write.
    pub write_budget: usize,
    /// Octets written in a row before the connection looks at its input and the stop flag
    /// again, so that one fast stream does not starve the others or delay shutdown.
    pub octets_per_turn: usize,
    /// The nice value of connection threads.
    pub connection_nice: i32,
    /// How long a connection may take to flush its last messages at shutdown.
    pub shutdown_grace: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_connections: 10,
            // A requester needs one connection (bulk leasequery runs several queries on one);
            // one more lets it reconnect while its old connection times out.
            max_per_peer: 2,
            // Large, so that a stream costs few system calls and few wake-ups of the reader;
            // allocated once per connection, and connections are few.
            write_budget: 256 * 1024,
            octets_per_turn: 1024 * 1024,
            connection_nice: 10,
            shutdown_grace: Duration::from_secs(1),
        }
    }
}

/// How long a listener waits after an accept error (out of descriptors, say) before trying
/// again, so that a listener that stays readable does not spin.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(10);

/// A running listener.
pub struct Listener {
    stop: Arc<AtomicBool>,
    /// Written once at shutdown: its peer, which every thread polls, becomes readable for good.
    wake: UnixStream,
    threads: Vec<JoinHandle<()>>,
    local: Vec<SocketAddr>,
}

impl Listener {
    /// Listens on `addrs` and serves `service` until [`Listener::shutdown`].
    pub fn start<S: StreamService>(
        service: Arc<S>,
        limits: Limits,
        addrs: &[SocketAddr],
    ) -> io::Result<Listener> {
        let stop = Arc::new(AtomicBool::new(false));
        let (wake, woken) = UnixStream::pair()?;
        wake.set_nonblocking(true)?;
        let shared = Arc::new(Shared {
            service,
            limits: Limits {
                max_connections: limits.max_connections.max(1),
                max_per_peer: limits.max_per_peer.max(1),
                write_budget: limits.write_budget.max(1),
                octets_per_turn: limits.octets_per_turn.max(1),
                ..limits
            },
            clock: Clock::new(),
            stop: Arc::clone(&stop),
            slots: Mutex::new(Slots::default()),
            workers: Mutex::new(Vec::new()),
            woken,
        });
        let mut listener = Listener {
            stop,
            wake,
            threads: Vec::new(),
            local: Vec::new(),
        };
        for addr in addrs {
            let socket = TcpListener::bind(addr)?;
            socket.set_nonblocking(true)?;
            listener.local.push(socket.local_addr()?);
            let shared = Arc::clone(&shared);
            listener.threads.push(
                std::thread::Builder::new()
                    .name(format!("{}-accept-{addr}", shared.service.name()))
                    .spawn(move || accept_loop(&socket, &shared))?,
            );
        }
        Ok(listener)
    }

    /// The addresses listened on (with the port the system chose for port 0).
    pub fn local_addrs(&self) -> &[SocketAddr] {
        &self.local
    }

    /// Stops accepting, tells every engine to end, and waits for the threads.
    pub fn shutdown(mut self) {
        self.stop();
        for t in self.threads.drain(..) {
            let _ = t.join();
        }
    }

    fn stop(&self) {
        self.stop.store(true, Ordering::SeqCst);
        // Nonblocking: one octet is enough, and a full buffer means it is already readable.
        let _ = (&self.wake).write(&[1]);
    }
}

impl Drop for Listener {
    fn drop(&mut self) {
        self.stop();
    }
}

/// What every thread of one listener shares.
struct Shared<S: StreamService> {
    service: Arc<S>,
    limits: Limits,
    clock: Clock,
    stop: Arc<AtomicBool>,
    slots: Mutex<Slots>,
    workers: Mutex<Vec<JoinHandle<()>>>,
    /// Readable once the listener stops (see [`Listener`]).
    woken: UnixStream,
}

impl<S: StreamService> Shared<S> {
    fn stopping(&self) -> bool {
        self.stop.load(Ordering::SeqCst)
    }

    fn give_back(&self, peer: IpAddr) {
        self.slots
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .give_back(peer);
    }
}

fn accept_loop<S: StreamService>(listener: &TcpListener, shared: &Arc<Shared<S>>) {
    while !shared.stopping() {
        let mut backoff = false;
        loop {
            match listener.accept() {
                Ok((stream, peer)) => accept(stream, peer, shared),
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

fn accept<S: StreamService>(stream: TcpStream, peer: SocketAddr, shared: &Arc<Shared<S>>) {
    let ip = canonical(peer.ip());
    let service = &shared.service;
    if !service.allows(ip) {
        service.refused(ip, Refused::NotAllowed);
        let _ = stream.shutdown(Shutdown::Both);
        return;
    }
    let taken = shared.slots.lock().unwrap_or_else(|p| p.into_inner()).take(
        ip,
        shared.limits.max_connections,
        shared.limits.max_per_peer,
    );
    if let Err(why) = taken {
        service.refused(ip, why);
        let _ = stream.shutdown(Shutdown::Both);
        return;
    }
    let slot = Slot {
        shared: Arc::clone(shared),
        peer: ip,
    };
    let spawned = std::thread::Builder::new()
        .name(format!("{}-{ip}", service.name()))
        .spawn(move || {
            // Best effort: a thread that cannot lower its priority serves all the same.
            let _ = crate::set_thread_nice(slot.shared.limits.connection_nice);
            connection::serve(stream, peer, &slot.shared);
            drop(slot);
        });
    match spawned {
        Ok(handle) => shared
            .workers
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(handle),
        // The closure, and the slot with it, was dropped: it is free again.
        Err(_) => service.refused(ip, Refused::NoThread),
    }
}

/// A connection's slot, given back when dropped: when its thread ends, however it ends
/// (a panic that escapes [`connection::serve`] included), or with the closure of a thread that
/// could not be started.
struct Slot<S: StreamService> {
    shared: Arc<Shared<S>>,
    peer: IpAddr,
}

impl<S: StreamService> Drop for Slot<S> {
    fn drop(&mut self) {
        self.shared.give_back(self.peer);
    }
}

/// An IPv4 peer reaching an IPv6 socket arrives as ::ffff:a.b.c.d: allow-lists and slots see the
/// IPv4 address.
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(a) => a.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        IpAddr::V4(_) => ip,
    }
}
