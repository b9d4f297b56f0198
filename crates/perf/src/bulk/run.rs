//! The I/O loop of `lessor perf bulk`, either family: one blocking TCP connection, one thread.
//!
//! For each of `repeat` queries in turn: write the query, then read (into one buffer of
//! [`READ_BUF`] octets) and hand the octets to a [`Counter`] until the query ends. The next
//! query goes out only after the previous one ended, so each query's time is its own stream.
//! Time runs from the first query's write to the end of the last query's final message.

use std::fmt;
use std::io::{self, ErrorKind, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use super::report::{BulkReport, QueryFigures};
use super::{decoder, BulkQuery, Counter, End, Query4, StreamError};

/// Octets read at a time.
pub const READ_BUF: usize = 256 * 1024;

/// Everything one run needs; `Q` is the family's query ([`Query4`], [`super::Query6`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BulkConfig<Q = Query4> {
    /// The bulk leasequery listener.
    pub server: SocketAddr,
    /// What to ask, and how (the family's part).
    pub query: Q,
    /// Queries in turn on the one connection.
    pub repeat: u32,
    /// Longest wait for the connection or for any octet of a reply.
    pub timeout: Duration,
    /// xid of the first query; the next ones count up from it (within the family's width).
    pub xid: u32,
}

impl<Q: BulkQuery> BulkConfig<Q> {
    /// The CLI defaults for everything but the server and the query.
    pub fn new(server: SocketAddr, query: Q) -> BulkConfig<Q> {
        BulkConfig {
            server,
            query,
            repeat: 1,
            timeout: Duration::from_secs(10),
            xid: 1,
        }
    }

    /// Rejects values the run cannot work with.
    pub fn validate(&self) -> Result<(), String> {
        self.query.validate()?;
        if self.repeat == 0 {
            return Err("--repeat must be at least 1".into());
        }
        if self.timeout.is_zero() {
            return Err("--timeout must be more than zero".into());
        }
        Ok(())
    }
}

/// Why a run failed.
#[derive(Debug)]
pub enum BulkError {
    /// The configuration cannot be run.
    Config(String),
    /// Connecting, writing or reading failed.
    Io(io::Error),
    /// No octet for `timeout`.
    Timeout {
        /// The query (1-based) that was waiting.
        query: u32,
    },
    /// The replies could not be counted (the connection was closed).
    Stream {
        /// The query (1-based) being read.
        query: u32,
        /// What went wrong.
        error: StreamError,
    },
    /// A query did not end with DONE.
    NotDone {
        /// The query (1-based).
        query: u32,
        /// How it ended.
        end: End,
    },
}

impl fmt::Display for BulkError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BulkError::Config(e) => f.write_str(e),
            BulkError::Io(e) => e.fmt(f),
            BulkError::Timeout { query } => write!(f, "query {query}: no reply within the timeout"),
            BulkError::Stream { query, error } => write!(f, "query {query}: {error}"),
            BulkError::NotDone { query, end } => write!(f, "query {query}: {end}"),
        }
    }
}

impl std::error::Error for BulkError {}

impl From<io::Error> for BulkError {
    fn from(e: io::Error) -> Self {
        BulkError::Io(e)
    }
}

/// Connects to `config.server` and runs the queries.
pub fn run<Q: BulkQuery>(config: &BulkConfig<Q>) -> Result<BulkReport, BulkError> {
    config.validate().map_err(BulkError::Config)?;
    let stream = TcpStream::connect_timeout(&config.server, config.timeout)?;
    run_on(config, stream)
}

/// Runs the queries on a connected stream.
pub fn run_on<Q: BulkQuery>(
    config: &BulkConfig<Q>,
    mut stream: TcpStream,
) -> Result<BulkReport, BulkError> {
    config.validate().map_err(BulkError::Config)?;
    stream.set_read_timeout(Some(config.timeout))?;
    stream.set_write_timeout(Some(config.timeout))?;
    stream.set_nodelay(true)?;
    let local = stream.local_addr()?;
    let dialect = config.query.dialect();
    let mut decoder = decoder(dialect);
    let mut buf = vec![0u8; READ_BUF];
    // Octets read past the end of a query: buf[held.0..held.1].
    let mut held = (0usize, 0usize);
    let mut queries = Vec::with_capacity((config.repeat as usize).min(1024));
    let start = Instant::now();
    for i in 0..config.repeat {
        let n = i + 1;
        let xid = Q::transaction_id(config.xid.wrapping_add(i));
        let query = config.query.encode(xid, local);
        let mut frame = Vec::with_capacity(query.len() + 4);
        lessor_wire::framing::Encoder::new(dialect, lessor_wire::framing::MAX_MESSAGE_SIZE)
            .encode_to_vec(&query, &mut frame)
            .map_err(|e| BulkError::Config(format!("cannot frame the query: {e}")))?;
        let t0 = Instant::now();
        stream.write_all(&frame)?;
        let mut counter = Counter::with_rules(config.query.rules(xid));
        let stream_error = |error| BulkError::Stream { query: n, error };
        loop {
            if held.0 < held.1 {
                let taken = counter
                    .receive(&mut decoder, &buf[held.0..held.1])
                    .map_err(stream_error)?;
                held.0 += taken;
            }
            if counter.end().is_some() {
                break;
            }
            let got = match stream.read(&mut buf) {
                Ok(0) => {
                    counter.finish(&mut decoder).map_err(stream_error)?;
                    break;
                }
                Ok(got) => got,
                Err(e) if e.kind() == ErrorKind::Interrupted => continue,
                Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                    return Err(BulkError::Timeout { query: n });
                }
                Err(e) => return Err(e.into()),
            };
            held = (0, got);
        }
        let elapsed = t0.elapsed();
        match counter.end() {
            Some(End::Done) => {}
            Some(end) => {
                return Err(BulkError::NotDone {
                    query: n,
                    end: end.clone(),
                })
            }
            None => return Err(stream_error(StreamError::Closed)),
        }
        queries.push(QueryFigures {
            counts: counter.counts(),
            elapsed,
        });
    }
    let elapsed = start.elapsed();
    let _ = stream.shutdown(Shutdown::Write);
    Ok(BulkReport::new(config, queries, elapsed))
}
