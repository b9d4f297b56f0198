//! The I/O loop of `lessor perf leasequery`: one UDP socket, one thread, a [`Session`] of the
//! family `--server` is of.
//!
//! Each turn expires the queries whose timeout passed, fills the window (closed loop: a query
//! goes out as soon as one ends), then waits for one datagram no longer than the next deadline,
//! with the same wait rule as the DORA loop ([`crate::dora::run`](mod@crate::dora::run)). The run ends when every query has
//! ended or the duration is over.

use std::io;
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr, UdpSocket};
use std::time::{Duration, Instant};

use lessor_wire::v6::Duid;

use super::report::LqReport;
use super::session::{Counters, Session};
use super::v6::requestor_duid;
use super::{Family, Keys4, Keys6, Order, QueryEncoder, QueryEncoder6};
use crate::latency::Summary;
use crate::udp_wait::{recv_until, size_receive_buffer, Received};

/// What the queries of a run ask, per family.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Query {
    /// DHCPv4 (RFC 4388).
    V4 {
        /// giaddr of every query: where the server sends its answer.
        giaddr: Ipv4Addr,
        /// The query keys.
        keys: Keys4,
    },
    /// DHCPv6 (RFC 5007): QUERY_BY_ADDRESS or QUERY_BY_CLIENTID, answered to the socket's
    /// source address and port.
    V6 {
        /// link-address of the queries of an address range (a list's keys carry their own).
        link_address: Ipv6Addr,
        /// The requestor's CLIENTID.
        requestor: Duid,
        /// The query keys.
        keys: Keys6,
    },
}

impl Query {
    /// Distinct keys.
    pub fn keys(&self) -> u64 {
        match self {
            Query::V4 { keys, .. } => keys.len(),
            Query::V6 { keys, .. } => keys.len(),
        }
    }

    /// What the queries ask by, in the words of `--by` (`None` for an empty list).
    pub fn by(&self) -> Option<&'static str> {
        match self {
            Query::V4 {
                keys: Keys4::Range { .. },
                ..
            } => Some("ip"),
            Query::V4 {
                keys: Keys4::List(k),
                ..
            } => k.first().map(|k| k.kind().as_str()),
            Query::V6 {
                keys: Keys6::Range { .. },
                ..
            } => Some("ip"),
            Query::V6 {
                keys: Keys6::List(k),
                ..
            } => k.first().map(|k| match k.query_type() {
                lessor_wire::v6::QueryType::ByAddress => "ip",
                lessor_wire::v6::QueryType::ByClientId => "client-id",
                lessor_wire::v6::QueryType::ByRelayId => "relay-id",
                lessor_wire::v6::QueryType::ByLinkAddress => "link-address",
                _ => "remote-id",
            }),
        }
    }
}

/// Everything one leasequery run needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LqConfig {
    /// Where the queries go; its family is the run's.
    pub server: SocketAddr,
    /// Local address of the socket (giaddr:67 against DHCPv4 servers that answer port 67
    /// only).
    pub bind: SocketAddr,
    /// What the queries ask.
    pub query: Query,
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
    /// Seed of the transaction-ids (the first is its high 32 bits, cut to the family's width).
    pub seed: u64,
}

impl LqConfig {
    /// A DHCPv4 run with the CLI defaults for everything but the server, giaddr and keys.
    pub fn new(server: SocketAddr, giaddr: Ipv4Addr, keys: Keys4) -> LqConfig {
        LqConfig::asking(server, Query::V4 { giaddr, keys })
    }

    /// A DHCPv6 run with the CLI defaults (link-address `::`, [`super::REQUESTOR_DUID`]) for
    /// everything but the server and keys.
    pub fn new6(server: SocketAddr, keys: Keys6) -> LqConfig {
        LqConfig::asking(
            server,
            Query::V6 {
                link_address: Ipv6Addr::UNSPECIFIED,
                requestor: requestor_duid(),
                keys,
            },
        )
    }

    /// A run asking `query` with the CLI defaults: bound to the unspecified address of
    /// `server`'s family, port 0.
    pub fn asking(server: SocketAddr, query: Query) -> LqConfig {
        let bind = match server {
            SocketAddr::V4(_) => SocketAddr::from((Ipv4Addr::UNSPECIFIED, 0)),
            SocketAddr::V6(_) => SocketAddr::from((Ipv6Addr::UNSPECIFIED, 0)),
        };
        LqConfig {
            server,
            bind,
            query,
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
        if self.bind.is_ipv4() != self.server.is_ipv4() {
            return Err(format!(
                "--bind {} and --server {} are not of one family",
                self.bind, self.server
            ));
        }
        match &self.query {
            Query::V4 { giaddr, keys } => {
                if !self.server.is_ipv4() {
                    return Err("DHCPv4 queries need an IPv4 --server".into());
                }
                if giaddr.is_unspecified() {
                    return Err("--giaddr must be an address (answers are sent to it)".into());
                }
                if keys.is_empty() {
                    return Err("no query keys".into());
                }
            }
            Query::V6 { keys, .. } => {
                if !self.server.is_ipv6() {
                    return Err("DHCPv6 queries need an IPv6 --server".into());
                }
                if self.in_flight > QueryEncoder6::XID_MASK {
                    return Err("--in-flight must be below 2^24 (DHCPv6 transaction-ids)".into());
                }
                match keys {
                    Keys6::List(list) if list.is_empty() => return Err("no query keys".into()),
                    Keys6::List(list) => {
                        for key in list {
                            key.validate_udp().map_err(|e| e.to_string())?;
                        }
                    }
                    Keys6::Range { .. } => {}
                }
            }
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
    let measured = match &config.query {
        Query::V4 { giaddr, keys } => {
            let encoder = QueryEncoder::new(*giaddr, keys.clone(), config.order);
            drive(config, socket, encoder)?
        }
        Query::V6 {
            link_address,
            requestor,
            keys,
        } => {
            let encoder = QueryEncoder6::new(requestor, *link_address, keys.clone(), config.order);
            drive(config, socket, encoder)?
        }
    };
    let Measured {
        counters,
        mut samples,
        unfinished,
        elapsed,
    } = measured;
    let secs = elapsed.as_secs_f64();
    let (giaddr, link_address) = match &config.query {
        Query::V4 { giaddr, .. } => (Some(*giaddr), None),
        Query::V6 { link_address, .. } => (None, Some(*link_address)),
    };
    Ok(LqReport {
        by: config.query.by(),
        keys: config.query.keys(),
        random: matches!(config.order, Order::Random(_)),
        queries: config.queries,
        in_flight: config.in_flight,
        server: config.server,
        giaddr,
        link_address,
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

/// What one run's loop measured.
struct Measured {
    counters: Counters,
    samples: Vec<Duration>,
    unfinished: u64,
    elapsed: Duration,
}

/// The closed loop on `socket`, the same for both families.
fn drive<F: Family>(config: &LqConfig, socket: &UdpSocket, family: F) -> io::Result<Measured> {
    let mut session = Session::new(
        family,
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
    let (counters, samples) = session.into_samples();
    Ok(Measured {
        counters,
        samples,
        unfinished,
        elapsed: end.saturating_duration_since(start),
    })
}
