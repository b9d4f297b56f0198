//! The TCP listener of DHCPv4 bulk leasequery: sockets and threads around the sans-IO
//! [`crate::bulk4::Connection`].
//!
//! - One thread per listening address accepts; one thread per connection serves it (at most
//!   `max-connections` of them, BULK_LQ_MAX_CONNS, so threads are few).
//! - A connection from outside `[leasequery] requesters` is closed at once (draft §9.1).
//! - At most `max-connections` connections; when only one slot is left it is kept for a
//!   requester that has no connection yet (draft §7.5, §10: one busy requester cannot lock the
//!   others out). A refused connection is closed at once.
//! - Sockets are non-blocking; a connection's thread reads only when the engine wants a query
//!   (never more than the current frame), writes what the engine hands out in slices of
//!   [`WRITE_BUDGET`], and sleeps briefly when neither moves. A write error closes the
//!   connection at once (draft §9.4).
//! - At shutdown every connection sends QueryTerminated for its open queries and closes; a peer
//!   that does not read gets [`SHUTDOWN_GRACE`] to take them.

use crate::bulk4::{Close, Connection, Counters, Now, Params};
use crate::leasequery4::access::AllowList;
use lessor_store::Store;
use std::collections::HashMap;
use std::io::{self, ErrorKind, Read, Write};
use std::net::{IpAddr, Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// Octets handed to one write.
pub const WRITE_BUDGET: usize = 16 * 1024;

/// How long a connection may take to flush its QueryTerminated messages at shutdown.
pub const SHUTDOWN_GRACE: Duration = Duration::from_secs(1);

/// Longest sleep of an idle connection or listener thread.
const MAX_SLEEP: Duration = Duration::from_millis(10);

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
        self.stop.store(true, Ordering::SeqCst);
        for t in self.threads.drain(..) {
            let _ = t.join();
        }
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
    }
}

/// Listens on `addrs` and serves bulk leasequery from `store` until [`Running::shutdown`].
pub fn start(settings: Settings, addrs: &[SocketAddr], store: Arc<Store>) -> io::Result<Running> {
    let stop = Arc::new(AtomicBool::new(false));
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
        match listener.accept() {
            Ok((stream, peer)) => accept(stream, peer.ip(), shared),
            Err(e) if e.kind() == ErrorKind::WouldBlock => std::thread::sleep(MAX_SLEEP),
            Err(_) => std::thread::sleep(MAX_SLEEP),
        }
        // Forget finished workers.
        let mut workers = shared.workers.lock().unwrap_or_else(|p| p.into_inner());
        workers.retain(|w| !w.is_finished());
    }
    let workers = std::mem::take(&mut *shared.workers.lock().unwrap_or_else(|p| p.into_inner()));
    for w in workers {
        let _ = w.join();
    }
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

/// Serves one connection until the engine or the socket ends it.
fn serve_connection(mut stream: TcpStream, shared: &Shared) {
    if stream.set_nonblocking(true).is_err() {
        return;
    }
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
    let mut sleep = Duration::from_millis(1);
    let mut stopping_since: Option<Instant> = None;
    'serve: loop {
        let now = shared.now();
        if shared.stop.load(Ordering::SeqCst) && stopping_since.is_none() {
            conn.shutdown();
            stopping_since = Some(Instant::now());
        }
        if stopping_since.is_some_and(|t| t.elapsed() >= SHUTDOWN_GRACE) {
            break;
        }
        let mut progress = false;
        // Read every query that can be taken now, one frame at most per read.
        while conn.wants_read() {
            let n = conn.read_hint().min(buf.len());
            match stream.read(&mut buf[..n]) {
                Ok(0) => {
                    progress = true;
                    if conn.peer_closed(now).is_err() {
                        break 'serve;
                    }
                }
                Ok(n) => {
                    progress = true;
                    if conn.receive(&buf[..n], now).is_err() {
                        break 'serve;
                    }
                }
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(e) if e.kind() == ErrorKind::WouldBlock => break,
                Err(_) => break 'serve,
            }
        }
        if out_pos == out.len() {
            out.clear();
            out_pos = 0;
            conn.poll_transmit(&mut out, WRITE_BUDGET, now);
        }
        if out_pos < out.len() {
            match stream.write(&out[out_pos..]) {
                Ok(0) => break,
                Ok(n) => {
                    out_pos += n;
                    progress = true;
                }
                Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::Interrupted) => {}
                // A send error: close at once (draft §9.4).
                Err(_) => break,
            }
        }
        if out_pos == out.len() {
            match conn.close() {
                Some(Close::Finished | Close::Shutdown | Close::Aborted) => {
                    let _ = stream.flush();
                    let _ = stream.shutdown(Shutdown::Write);
                    linger(&mut stream, &mut buf);
                    break;
                }
                Some(_) => break,
                None => {}
            }
        }
        if conn.on_timeout(now).is_err() {
            break;
        }
        if progress {
            sleep = Duration::from_millis(1);
        } else {
            std::thread::sleep(sleep);
            sleep = (sleep * 2).min(MAX_SLEEP);
        }
    }
    let _ = stream.shutdown(Shutdown::Both);
}

/// After our FIN: reads and discards what the peer still sends, for a moment, so that closing
/// with unread octets does not reset the connection before the peer has read our last replies.
fn linger(stream: &mut TcpStream, buf: &mut [u8]) {
    let until = Instant::now() + Duration::from_millis(200);
    while Instant::now() < until {
        match stream.read(buf) {
            Ok(0) => return,
            Ok(_) => {}
            Err(e) if e.kind() == ErrorKind::WouldBlock => {
                std::thread::sleep(Duration::from_millis(2))
            }
            Err(_) => return,
        }
    }
}
