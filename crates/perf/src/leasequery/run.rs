//! The I/O loop of `lessor perf leasequery`: one UDP socket, one thread, a [`Session`].
//!
//! Each turn expires the queries whose timeout passed, fills the window (closed loop: a query
//! goes out as soon as one ends), then waits for one datagram no longer than the next deadline,
//! with the same wait rule as the DORA loop ([`crate::dora::run`](mod@crate::dora::run)). The run ends when every query has
//! ended or the duration is over.

use std::io;
use std::net::{Ipv4Addr, SocketAddr, UdpSocket};
use std::time::{Duration, Instant};

use super::report::LqReport;
use super::session::Session;
use super::{Keys, Order, QueryEncoder};
use crate::latency::Summary;
use crate::udp_wait::{recv_until, size_receive_buffer, Received};

/// Everything one leasequery run needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LqConfig {
    /// Where the queries go.
    pub server: SocketAddr,
    /// giaddr of every query: where the server sends its answer.
    pub giaddr: Ipv4Addr,
    /// Local address of the socket (giaddr:67 against servers that answer port 67 only).
    pub bind: SocketAddr,
    /// The query keys.
    pub keys: Keys,
    /// In turn or at random.
    pub order: Order,
    /// Queries in the whole run.
    pub queries: u64,
    /// Queries outstanding at once.
    pub in_flight: u32,
    /// Upper bound on the run.
    pub duration: Duration,
    /// Wait for an answer before a query counts as a timeout.
    pub timeout: Duration,
    /// Seed of the xids (the first xid is its high 32 bits).
    pub seed: u64,
}

impl LqConfig {
    /// The CLI defaults for everything but the server, giaddr and keys.
    pub fn new(server: SocketAddr, giaddr: Ipv4Addr, keys: Keys) -> LqConfig {
        LqConfig {
            server,
            giaddr,
            bind: SocketAddr::from((Ipv4Addr::UNSPECIFIED, 0)),
            keys,
            order: Order::Sequential,
            queries: 100_000,
            in_flight: 32,
            duration: Duration::from_secs(60),
            timeout: Duration::from_secs(1),
            seed: 0,
        }
    }

    /// Rejects values the run cannot work with.
    pub fn validate(&self) -> Result<(), String> {
        if self.in_flight == 0 {
            return Err("--in-flight must be at least 1".into());
        }
        if self.timeout.is_zero() {
            return Err("--timeout must be more than zero".into());
        }
        if self.giaddr.is_unspecified() {
            return Err("--giaddr must be an address (answers are sent to it)".into());
        }
        if self.keys.is_empty() {
            return Err("no query keys".into());
        }
        Ok(())
    }
}

/// Binds `config.bind` and runs.
pub fn run(config: &LqConfig) -> io::Result<LqReport> {
    let socket = UdpSocket::bind(config.bind)?;
    size_receive_buffer(&socket, config.in_flight);
    run_on(config, &socket)
}

/// Runs on an already bound socket.
pub fn run_on(config: &LqConfig, socket: &UdpSocket) -> io::Result<LqReport> {
    config
        .validate()
        .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e))?;
    let encoder = QueryEncoder::new(config.giaddr, config.keys.clone(), config.order);
    let mut session = Session::new(
        encoder,
        config.queries,
        config.in_flight,
        config.timeout,
        (config.seed >> 32) as u32,
    );
    let mut query = Vec::with_capacity(576);
    let mut buf = vec![0u8; 65_536];
    let mut last_wait = None;

    let start = Instant::now();
    let end_by = start + config.duration;
    let mut end;
    loop {
        let now = Instant::now();
        end = now;
        if now >= end_by {
            break;
        }
        session.expire(now);
        while session.next_query(now, &mut query).is_some() {
            // A refused send ends as a timeout.
            if socket.send_to(&query, config.server).is_err() {
                session.counters.send_errors += 1;
            }
        }
        if session.finished() {
            break;
        }
        let next = session.next_deadline().unwrap_or(end_by).min(end_by);
        match recv_until(socket, &mut buf, now, next, &mut last_wait)? {
            Received::Datagram(n) => {
                session.handle(Instant::now(), buf.get(..n).unwrap_or(&[]));
            }
            Received::Nothing => {}
            Received::Error => session.counters.recv_errors += 1,
        }
    }

    let unfinished = session.outstanding() as u64;
    let (counters, mut samples) = session.into_samples();
    let elapsed = end.saturating_duration_since(start);
    let secs = elapsed.as_secs_f64();
    Ok(LqReport {
        by: config.keys.by(),
        keys: config.keys.len(),
        random: matches!(config.order, Order::Random(_)),
        queries: config.queries,
        in_flight: config.in_flight,
        server: config.server,
        giaddr: config.giaddr,
        counters,
        unfinished,
        not_sent: config.queries.saturating_sub(counters.sent),
        elapsed,
        rate: if secs > 0.0 {
            counters.answered() as f64 / secs
        } else {
            0.0
        },
        latency: Summary::of(&mut samples),
    })
}
