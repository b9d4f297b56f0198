//! A thin blocking driver: one `std::net::UdpSocket`, the wall clock, and a [`Requestor`] run
//! until every query is answered or failed, or a time bound passes.
//!
//! Servers answer a leasequery at giaddr, port 67 (RFC 4388 §6.4.3), or at the query's source
//! port when the query came from giaddr itself from another port (docs/protocol.md decision 4;
//! Lessor does this for the requesters in its `reply-to-source-port`, ISC dhcpd and Kea never).
//! So the socket binds giaddr:0 (an ephemeral port, no privilege needed) by default, or
//! giaddr:67 as root for servers that only answer port 67.

use std::io;
use std::net::{SocketAddr, SocketAddrV4, SocketAddrV6, UdpSocket};
use std::time::{Duration, Instant, SystemTime};

use crate::family::{Family, V4, V6};
use crate::requestor::{Answer, Config, Event, Failure, QueryId, Requestor, SubmitError};

/// The outcome of one query run by [`run`].
#[derive(Debug, Clone)]
pub struct Outcome<F: Family = V4> {
    /// What was asked.
    pub key: F::Key,
    /// The answer, or why there is none.
    pub result: Result<Answered<F>, QueryError<F::KeyError>>,
}

/// An answer with the wall-clock time it arrived (to make the answer's relative times absolute).
#[derive(Debug, Clone)]
pub struct Answered<F: Family = V4> {
    /// The merged answer.
    pub answer: Answer<F>,
    /// When it arrived (wall clock).
    pub received_at: SystemTime,
}

/// The answer to one query of [`run`], or why there is none.
type QueryResult<F> = Result<Answered<F>, QueryError<<F as Family>::KeyError>>;

/// Why a query run by [`run`] has no answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum QueryError<E = crate::KeyError> {
    /// Refused before sending.
    Refused(SubmitError<E>),
    /// The requestor gave up.
    Failed(Failure),
    /// The run's time bound passed first.
    TimedOut,
}

impl<E: std::fmt::Display> std::fmt::Display for QueryError<E> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            QueryError::Refused(e) => e.fmt(f),
            QueryError::Failed(e) => e.fmt(f),
            QueryError::TimedOut => f.write_str("no reply before the time limit"),
        }
    }
}

/// The default local address: giaddr, an ephemeral port.
pub fn default_bind(config: &Config) -> SocketAddr {
    SocketAddr::V4(SocketAddrV4::new(config.family.giaddr, 0))
}

/// The default local address of a DHCPv6 requestor: `[::]:546`, the client port, where a
/// server sends the LEASEQUERY-REPLY (RFC 5007 §4.4.3 by way of RFC 3315 §18.2.8; ISC dhcpd
/// 4.4.3 answers there whatever the source port). Binding it needs privilege.
pub fn default_bind6(_: &Config<V6>) -> SocketAddr {
    SocketAddr::V6(SocketAddrV6::new(
        std::net::Ipv6Addr::UNSPECIFIED,
        546,
        0,
        0,
    ))
}

/// Binds `bind` and runs `keys` through a [`Requestor`] with `config` until all are answered or
/// failed, or `limit` has passed (the rest are [`QueryError::TimedOut`]). Outcomes are in the
/// order of `keys`.
pub fn run<F: Family>(
    config: Config<F>,
    bind: SocketAddr,
    keys: Vec<F::Key>,
    limit: Duration,
) -> io::Result<Vec<Outcome<F>>> {
    let socket = UdpSocket::bind(bind)?;
    run_on(&socket, config, keys, limit)
}

/// [`run`] on a socket the caller bound.
pub fn run_on<F: Family>(
    socket: &UdpSocket,
    config: Config<F>,
    keys: Vec<F::Key>,
    limit: Duration,
) -> io::Result<Vec<Outcome<F>>> {
    let start = Instant::now();
    let end = start + limit;
    let mut requestor = Requestor::new(config);
    let mut results: Vec<Option<QueryResult<F>>> = vec![None; keys.len()];
    let mut ids: Vec<(QueryId, usize)> = Vec::new();
    for (i, key) in keys.iter().enumerate() {
        match requestor.submit(key.clone(), start) {
            Ok(id) => ids.push((id, i)),
            Err(e) => results[i] = Some(Err(QueryError::Refused(e))),
        }
    }
    let mut buf = vec![0u8; 65_536];
    loop {
        let now = Instant::now();
        while let Some((to, bytes)) = requestor.poll_transmit(now) {
            if let Err(e) = socket.send_to(&bytes, to) {
                // An unreachable server is like a silent one: retransmission handles it.
                if e.kind() != io::ErrorKind::ConnectionRefused {
                    return Err(e);
                }
            }
        }
        while let Some(event) = requestor.poll_event() {
            let (id, result) = match event {
                Event::Answered(id, answer) => (
                    id,
                    Ok(Answered {
                        answer: *answer,
                        received_at: SystemTime::now(),
                    }),
                ),
                Event::Failed(id, why) => (id, Err(QueryError::Failed(why))),
            };
            if let Some(&(_, i)) = ids.iter().find(|(q, _)| *q == id) {
                results[i] = Some(result);
            }
        }
        if results.iter().all(Option::is_some) || now >= end {
            break;
        }
        let wake = requestor.poll_timeout().unwrap_or(end).min(end);
        let wait = wake
            .saturating_duration_since(now)
            .max(Duration::from_millis(1));
        socket.set_read_timeout(Some(wait))?;
        match socket.recv_from(&mut buf) {
            Ok((n, from)) => {
                // What is not an answer to an outstanding query is ignored.
                let _ = requestor.handle_reply(from, &buf[..n], Instant::now());
            }
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::WouldBlock
                        | io::ErrorKind::TimedOut
                        | io::ErrorKind::ConnectionRefused
                ) => {}
            Err(e) => return Err(e),
        }
    }
    Ok(keys
        .into_iter()
        .zip(results)
        .map(|(key, result)| Outcome {
            key,
            result: result.unwrap_or(Err(QueryError::TimedOut)),
        })
        .collect())
}
