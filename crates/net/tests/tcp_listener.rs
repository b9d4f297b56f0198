//! The TCP listener with a toy engine (an echo service that ends a connection after an idle
//! deadline): what the listener does is the same for every protocol. 127.0.0.1 only.

use lessor_net::tcp::{Ended, Ending, Limits, Listener, Refused, StreamEngine, StreamService};
use lessor_net::Now;
use std::io::{ErrorKind, Read, Write};
use std::net::{IpAddr, Shutdown, SocketAddr, TcpStream};
use std::sync::{Arc, Mutex};
use std::time::Duration;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Why {
    PeerDone,
    Idle,
    Stopped,
}

/// Echoes what it reads; ends gracefully when the peer half-closes or at shutdown, and abruptly
/// after `idle_ms` without input. Panics on input starting with "panic" (a bug in an engine).
struct Echo {
    pending: Vec<u8>,
    idle_ms: u64,
    last_input: u64,
    ending: Option<Ending<Why>>,
}

impl StreamEngine for Echo {
    type Close = Why;

    fn wants_read(&self) -> bool {
        self.ending.is_none() && self.pending.len() < 4096
    }
    fn read_hint(&self) -> usize {
        4096 - self.pending.len()
    }
    fn receive(&mut self, bytes: &[u8], now: Now) -> Result<(), Why> {
        if bytes.starts_with(b"panic") {
            panic!("echo engine told to panic");
        }
        self.pending.extend_from_slice(bytes);
        self.last_input = now.ms;
        Ok(())
    }
    fn peer_closed(&mut self, _: Now) -> Result<(), Why> {
        self.ending = Some(Ending::Graceful(Why::PeerDone));
        Ok(())
    }
    fn wants_write(&self) -> bool {
        !self.pending.is_empty()
    }
    fn poll_transmit(&mut self, out: &mut Vec<u8>, budget: usize, _: Now) -> usize {
        let n = budget.min(self.pending.len());
        out.extend(self.pending.drain(..n));
        n
    }
    fn written(&mut self, _: usize, _: usize, _: Now) {}
    fn close(&self) -> Option<Ending<Why>> {
        self.ending.filter(|_| self.pending.is_empty())
    }
    fn next_deadline(&self) -> Option<u64> {
        self.ending
            .is_none()
            .then_some(self.last_input + self.idle_ms)
    }
    fn on_timeout(&mut self, now: Now) -> Result<(), Why> {
        if self.ending.is_none() && now.ms >= self.last_input + self.idle_ms {
            return Err(Why::Idle);
        }
        Ok(())
    }
    fn shutdown(&mut self) {
        self.ending = Some(Ending::Graceful(Why::Stopped));
    }
}

#[derive(Default)]
struct Log {
    refused: Vec<(IpAddr, Refused)>,
    closed: Vec<Ended<Why>>,
    panics: Vec<String>,
}

struct EchoService {
    allowed: IpAddr,
    idle_ms: u64,
    log: Mutex<Log>,
}

impl StreamService for EchoService {
    type Engine = Echo;

    fn name(&self) -> &str {
        "echo"
    }
    fn allows(&self, peer: IpAddr) -> bool {
        peer == self.allowed
    }
    fn connect(&self, _: SocketAddr, now: Now) -> Echo {
        Echo {
            pending: Vec::new(),
            idle_ms: self.idle_ms,
            last_input: now.ms,
            ending: None,
        }
    }
    fn refused(&self, peer: IpAddr, why: Refused) {
        self.log.lock().unwrap().refused.push((peer, why));
    }
    fn closed(&self, _: SocketAddr, how: Ended<Why>) {
        self.log.lock().unwrap().closed.push(how);
    }
    fn panicked(&self, _: SocketAddr, message: &str) {
        self.log.lock().unwrap().panics.push(message.to_owned());
    }
}

fn start(allowed: &str, idle_ms: u64, max_connections: usize) -> (Arc<EchoService>, Listener) {
    start_with(
        allowed,
        idle_ms,
        Limits {
            max_connections,
            ..Limits::default()
        },
    )
}

fn start_with(allowed: &str, idle_ms: u64, limits: Limits) -> (Arc<EchoService>, Listener) {
    let service = Arc::new(EchoService {
        allowed: allowed.parse().unwrap(),
        idle_ms,
        log: Mutex::default(),
    });
    let listener = Listener::start(
        Arc::clone(&service),
        limits,
        &["127.0.0.1:0".parse().unwrap()],
    )
    .unwrap();
    (service, listener)
}

fn connect(listener: &Listener) -> TcpStream {
    let s = TcpStream::connect(listener.local_addrs()[0]).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    s
}

/// Reads until end of stream (a reset counts as the end too).
fn read_to_end(s: &mut TcpStream) -> Vec<u8> {
    let mut all = Vec::new();
    let mut buf = [0u8; 1024];
    loop {
        match s.read(&mut buf) {
            Ok(0) => return all,
            Ok(n) => all.extend_from_slice(&buf[..n]),
            Err(e) if e.kind() == ErrorKind::ConnectionReset => return all,
            Err(e) => panic!("read: {e}"),
        }
    }
}

/// Waits (bounded) until the service has logged `n` closes.
fn closes(service: &EchoService, n: usize) -> Vec<Ended<Why>> {
    for _ in 0..500 {
        let log = service.log.lock().unwrap();
        if log.closed.len() >= n {
            return log.closed.clone();
        }
        drop(log);
        std::thread::sleep(Duration::from_millis(10));
    }
    panic!("fewer than {n} connections closed");
}

#[test]
fn echoes_then_ends_gracefully_when_the_peer_half_closes() {
    let (service, listener) = start("127.0.0.1", 60_000, 4);
    let mut s = connect(&listener);
    let big: Vec<u8> = (0..100_000u32).map(|i| i as u8).collect();
    s.write_all(&big).unwrap();
    s.shutdown(Shutdown::Write).unwrap();
    assert_eq!(read_to_end(&mut s), big);
    assert_eq!(closes(&service, 1), vec![Ended::Engine(Why::PeerDone)]);
    listener.shutdown();
}

#[test]
fn a_peer_not_allowed_is_closed_at_once_and_reported() {
    let (service, listener) = start("192.0.2.1", 60_000, 4);
    let mut s = connect(&listener);
    let _ = s.write_all(b"hello");
    assert_eq!(read_to_end(&mut s), b"");
    let refused = service.log.lock().unwrap().refused.clone();
    assert_eq!(
        refused,
        vec![("127.0.0.1".parse().unwrap(), Refused::NotAllowed)]
    );
    listener.shutdown();
}

#[test]
fn the_last_slot_is_kept_for_another_peer() {
    let (service, listener) = start("127.0.0.1", 60_000, 2);
    let mut first = connect(&listener);
    first.write_all(b"1").unwrap();
    let mut one = [0u8; 1];
    first.read_exact(&mut one).unwrap();
    // The same peer asks for the last slot: refused.
    let mut second = connect(&listener);
    assert_eq!(read_to_end(&mut second), b"");
    assert_eq!(
        service.log.lock().unwrap().refused,
        vec![("127.0.0.1".parse().unwrap(), Refused::Full)]
    );
    listener.shutdown();
    // Shutdown ended the open connection through its engine.
    assert_eq!(read_to_end(&mut first), b"");
    assert_eq!(closes(&service, 1), vec![Ended::Engine(Why::Stopped)]);
}

#[test]
fn the_engine_deadline_ends_an_idle_connection_on_time() {
    let (service, listener) = start("127.0.0.1", 300, 4);
    let mut s = connect(&listener);
    let began = std::time::Instant::now();
    assert_eq!(read_to_end(&mut s), b"");
    let took = began.elapsed();
    assert!(
        took >= Duration::from_millis(250) && took < Duration::from_secs(3),
        "{took:?}"
    );
    assert_eq!(closes(&service, 1), vec![Ended::Engine(Why::Idle)]);
    listener.shutdown();
}

/// Writes a byte and waits for its echo: the connection has its slot and engine.
fn echoed(s: &mut TcpStream) {
    assert!(echoes(s), "not served");
}

fn echoes(s: &mut TcpStream) -> bool {
    let mut one = [0u8; 1];
    s.write_all(b"1").is_ok() && s.read_exact(&mut one).is_ok()
}

/// A connection that is served, once a slot given back after a close is free again (the slot
/// is given back just after the service hears of the close). Bounded.
fn served_again(listener: &Listener) -> TcpStream {
    for _ in 0..200 {
        let mut s = connect(listener);
        if echoes(&mut s) {
            return s;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    panic!("no slot was given back");
}

#[test]
fn one_peer_gets_at_most_max_per_peer_connections() {
    let limits = Limits {
        max_connections: 10,
        max_per_peer: 2,
        ..Limits::default()
    };
    let (service, listener) = start_with("127.0.0.1", 60_000, limits);
    let mut a = connect(&listener);
    let mut b = connect(&listener);
    echoed(&mut a);
    echoed(&mut b);
    let mut c = connect(&listener);
    assert_eq!(read_to_end(&mut c), b"");
    assert_eq!(
        service.log.lock().unwrap().refused,
        vec![("127.0.0.1".parse().unwrap(), Refused::PerPeer)]
    );
    // Once one ends, its slot is the peer's again.
    a.shutdown(Shutdown::Write).unwrap();
    assert_eq!(read_to_end(&mut a), b"");
    closes(&service, 1);
    let _d = served_again(&listener);
    listener.shutdown();
}

#[test]
fn a_panicking_engine_ends_its_connection_frees_its_slot_and_the_service_goes_on() {
    // One slot in all: a slot lost to the panic would refuse every later connection.
    let (service, listener) = start("127.0.0.1", 60_000, 1);
    for round in 1..=3 {
        let mut s = served_again(&listener);
        s.write_all(b"panic now").unwrap();
        assert_eq!(read_to_end(&mut s), b"");
        let closed = closes(&service, round);
        assert_eq!(closed.last(), Some(&Ended::Panic));
    }
    assert_eq!(
        service.log.lock().unwrap().panics,
        vec!["echo engine told to panic"; 3]
    );
    // The listener still serves, in the one slot there is.
    let _s = served_again(&listener);
    listener.shutdown();
}
