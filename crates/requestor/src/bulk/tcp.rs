//! A thin blocking driver: one `std::net::TcpStream` per query, a [`Session`] over it, and the
//! bindings handed out one by one through an [`Iterator`] as they are read.
//!
//! Draft §8.1-8.3: a connection attempt is abandoned after BULK_LQ_CONN_TIMEOUT
//! ([`Config::conn_timeout`]); failed attempts are retried after 1 s, 2 s, 4 s, ... while the
//! wait stays within BULK_LQ_MAX_RETRY ([`Config::max_retry`]; zero: no retry). A connection
//! the server closes before answering anything (e.g. at its connection limit) is retried the
//! same way. A stream that blocks for BULK_LQ_DATA_TIMEOUT ([`Config::data_timeout`]), reading
//! or writing, is abandoned.

use std::fmt;
use std::io::{self, Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpStream};
use std::time::Duration;

use lessor_wire::framing::Dialect;

use super::{DraftCodes, End, Received, Session, SessionError, SubmitError, TimeRange};
use crate::query::{QueryKey, DEFAULT_PARAMETERS};
use crate::reply::LeaseInfo;

/// How [`query`] connects and reads.
#[derive(Debug, Clone)]
pub struct Config {
    /// The dialect to speak ([`Dialect::Draft`] or [`Dialect::Rfc6926`]).
    pub dialect: Dialect,
    /// The draft's code points (draft dialect only).
    pub codes: DraftCodes,
    /// giaddr of the query; `None`: the connection's local address.
    pub giaddr: Option<Ipv4Addr>,
    /// The Parameter Request List (none when empty).
    pub parameters: Vec<u8>,
    /// BULK_LQ_CONN_TIMEOUT (default 30 s).
    pub conn_timeout: Duration,
    /// BULK_LQ_DATA_TIMEOUT (default 30 s).
    pub data_timeout: Duration,
    /// BULK_LQ_MAX_RETRY: the longest wait between connection attempts (default 60 s).
    pub max_retry: Duration,
    /// The first wait between connection attempts (default 1 s); it doubles each time.
    pub first_retry: Duration,
    /// The query's xid.
    pub xid: u32,
    /// query-start-time / query-end-time (rfc6926 dialect only; empty: none).
    pub times: TimeRange,
}

impl Config {
    /// Defaults of draft §10 for `dialect`.
    pub fn new(dialect: Dialect) -> Config {
        Config {
            dialect,
            codes: DraftCodes::default(),
            giaddr: None,
            parameters: DEFAULT_PARAMETERS.to_vec(),
            conn_timeout: Duration::from_secs(30),
            data_timeout: Duration::from_secs(30),
            max_retry: Duration::from_secs(60),
            first_retry: Duration::from_secs(1),
            xid: 1,
            times: TimeRange::default(),
        }
    }
}

/// Why a bulk query could not run to its end (`R`, `K`: the family's reply and key errors).
#[derive(Debug)]
pub enum Error<R = crate::ReplyError, K = crate::KeyError> {
    /// No connection could be made (the last attempt's error).
    Connect(io::Error),
    /// Reading or writing failed.
    Io(io::Error),
    /// The stream blocked for BULK_LQ_DATA_TIMEOUT.
    DataTimeout,
    /// The server's stream broke the protocol, or closed early.
    Session(SessionError<R>),
    /// The query could not be sent.
    Submit(SubmitError<K>),
}

impl<R: fmt::Display, K: fmt::Display> fmt::Display for Error<R, K> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Connect(e) => write!(f, "cannot connect: {e}"),
            Error::Io(e) => write!(f, "connection failed: {e}"),
            Error::DataTimeout => f.write_str("the stream blocked for BULK_LQ_DATA_TIMEOUT"),
            Error::Session(e) => e.fmt(f),
            Error::Submit(e) => e.fmt(f),
        }
    }
}

impl<R: fmt::Display + fmt::Debug, K: fmt::Display + fmt::Debug> std::error::Error for Error<R, K> {}

pub(crate) fn io_error<R, K>(e: io::Error) -> Error<R, K> {
    match e.kind() {
        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut => Error::DataTimeout,
        _ => Error::Io(e),
    }
}

/// Whether `e` is the server closing (or resetting) the connection: worth a retry when nothing
/// was answered yet.
pub(crate) fn closed_early<R, K>(e: &Error<R, K>) -> bool {
    match e {
        Error::Session(SessionError::Closed { .. }) => true,
        Error::Io(e) => matches!(
            e.kind(),
            io::ErrorKind::ConnectionReset
                | io::ErrorKind::ConnectionAborted
                | io::ErrorKind::BrokenPipe
        ),
        _ => false,
    }
}

/// The waits between connection attempts: `first`, doubling, while within `max`.
#[derive(Debug, Clone)]
pub struct Backoff {
    next: Duration,
    max: Duration,
}

impl Backoff {
    /// Waits starting at `first`, up to `max`.
    pub fn new(first: Duration, max: Duration) -> Backoff {
        Backoff { next: first, max }
    }
}

impl Iterator for Backoff {
    type Item = Duration;

    fn next(&mut self) -> Option<Duration> {
        if self.next > self.max || self.next.is_zero() {
            return None;
        }
        let wait = self.next;
        self.next = self.next.saturating_mul(2);
        Some(wait)
    }
}

/// One bulk query in progress: an iterator over its bindings. When it returns `None`,
/// [`Bulk::end`] tells how the query ended.
#[derive(Debug)]
pub struct Bulk {
    server: SocketAddr,
    key: QueryKey,
    config: Config,
    backoff: Backoff,
    stream: Option<TcpStream>,
    session: Session,
    buf: Vec<u8>,
    start: usize,
    filled: usize,
    yielded: u64,
    end: Option<End>,
    failed: bool,
    /// The buffer [`Bulk::next_lease`] decodes into.
    lease: LeaseInfo,
}

/// Connects to `server` (retrying per [`Config`]), sends the query for `key`, and returns the
/// iterator over the bindings.
pub fn query(server: SocketAddr, key: &QueryKey, config: Config) -> Result<Bulk, Error> {
    key.validate()
        .map_err(|e| Error::Submit(SubmitError::Key(e)))?;
    // Refused before connecting: a query that cannot be sent needs no server.
    Session::new(config.dialect, config.codes)
        .query_in(key, config.xid, Ipv4Addr::UNSPECIFIED, &[], config.times)
        .map_err(Error::Submit)?;
    let mut bulk = Bulk {
        server,
        key: key.clone(),
        backoff: Backoff::new(config.first_retry, config.max_retry),
        session: Session::new(config.dialect, config.codes),
        config,
        stream: None,
        buf: vec![0; 64 * 1024],
        start: 0,
        filled: 0,
        yielded: 0,
        end: None,
        failed: false,
        lease: LeaseInfo::default(),
    };
    loop {
        match bulk.open() {
            Ok(()) => return Ok(bulk),
            Err(e) if closed_early(&e) => match bulk.backoff.next() {
                Some(wait) => std::thread::sleep(wait),
                None => return Err(e),
            },
            Err(e) => return Err(e),
        }
    }
}

impl Bulk {
    /// How the query ended: `None` while bindings may still come, or after an error.
    pub fn end(&self) -> Option<&End> {
        self.end.as_ref()
    }

    /// The server asked.
    pub fn server(&self) -> SocketAddr {
        self.server
    }

    /// Bindings yielded so far.
    pub fn bindings(&self) -> u64 {
        self.yielded
    }

    fn connect(&mut self) -> Result<TcpStream, Error> {
        loop {
            match TcpStream::connect_timeout(&self.server, self.config.conn_timeout) {
                Ok(s) => return Ok(s),
                Err(e) => match self.backoff.next() {
                    Some(wait) => std::thread::sleep(wait),
                    None => return Err(Error::Connect(e)),
                },
            }
        }
    }

    /// Connects and sends the query.
    fn open(&mut self) -> Result<(), Error> {
        let mut stream = self.connect()?;
        let timeout = Some(self.config.data_timeout).filter(|d| !d.is_zero());
        stream.set_read_timeout(timeout).map_err(Error::Io)?;
        stream.set_write_timeout(timeout).map_err(Error::Io)?;
        stream.set_nodelay(true).ok();
        let giaddr = match (self.config.giaddr, stream.local_addr()) {
            (Some(g), _) => g,
            (None, Ok(SocketAddr::V4(a))) => *a.ip(),
            _ => Ipv4Addr::UNSPECIFIED,
        };
        self.session = Session::new(self.config.dialect, self.config.codes);
        self.session
            .query_in(
                &self.key,
                self.config.xid,
                giaddr,
                &self.config.parameters,
                self.config.times,
            )
            .map_err(Error::Submit)?;
        stream
            .write_all(self.session.outgoing())
            .map_err(io_error)?;
        let n = self.session.outgoing().len();
        self.session.written(n);
        self.start = 0;
        self.filled = 0;
        self.stream = Some(stream);
        Ok(())
    }

    /// Reads until the next binding (into `lease`: `Ok(true)`) or the end (`Ok(false)`).
    fn step(&mut self, lease: &mut LeaseInfo) -> Result<bool, Error> {
        loop {
            if self.start < self.filled {
                let (used, event) = self
                    .session
                    .receive_into(&self.buf[self.start..self.filled], lease)
                    .map_err(Error::Session)?;
                self.start += used;
                match event {
                    Some(Received::Binding { .. }) => {
                        self.yielded += 1;
                        return Ok(true);
                    }
                    Some(Received::Complete { end, .. }) => {
                        self.end = Some(end);
                        self.stream = None;
                        return Ok(false);
                    }
                    None => continue,
                }
            }
            let Some(stream) = self.stream.as_mut() else {
                return Ok(false);
            };
            let n = loop {
                match stream.read(&mut self.buf) {
                    Ok(n) => break n,
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                    Err(e) => return Err(io_error(e)),
                }
            };
            self.start = 0;
            self.filled = n;
            if n == 0 {
                self.stream = None;
                self.session.finish().map_err(Error::Session)?;
                return Ok(false);
            }
        }
    }
}

impl Bulk {
    /// The next binding, decoded into a buffer the driver keeps (no allocation per binding
    /// once the buffer has grown to fit): what a caller that prints each binding and forgets
    /// it wants. [`Iterator::next`] hands out owned values instead.
    pub fn next_lease(&mut self) -> Option<Result<&LeaseInfo, Error>> {
        let mut lease = std::mem::take(&mut self.lease);
        let result = self.advance(&mut lease);
        self.lease = lease;
        match result? {
            Ok(()) => Some(Ok(&self.lease)),
            Err(e) => Some(Err(e)),
        }
    }

    /// The next binding into `lease`; `None` at the end. Retries a connection the server
    /// closed before answering anything.
    fn advance(&mut self, lease: &mut LeaseInfo) -> Option<Result<(), Error>> {
        if self.failed || self.end.is_some() {
            return None;
        }
        loop {
            match self.step(lease) {
                Ok(true) => return Some(Ok(())),
                Ok(false) => return None,
                Err(e)
                    if self.yielded == 0
                        && closed_early(&e)
                        && self.backoff.clone().next().is_some() =>
                {
                    // Closed before any answer (e.g. the server's connection limit): retry.
                    let wait = self.backoff.next().unwrap_or_default();
                    std::thread::sleep(wait);
                    if let Err(e) = self.open() {
                        self.failed = true;
                        return Some(Err(e));
                    }
                }
                Err(e) => {
                    self.failed = true;
                    self.stream = None;
                    return Some(Err(e));
                }
            }
        }
    }
}

impl Iterator for Bulk {
    type Item = Result<LeaseInfo, Error>;

    fn next(&mut self) -> Option<Self::Item> {
        let mut lease = LeaseInfo::default();
        Some(self.advance(&mut lease)?.map(|()| lease))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use lessor_wire::framing::{Decoder, Encoder, MAX_MESSAGE_SIZE};
    use lessor_wire::v4::{DhcpOption, MessageType, Repr, BOOTREPLY};
    use std::net::TcpListener;
    use std::thread;

    fn reply(xid: u32, kind: MessageType, last: u8) -> Vec<u8> {
        let mut r = Repr {
            op: BOOTREPLY,
            xid,
            ciaddr: Ipv4Addr::new(10, 0, 0, last),
            ..Repr::default()
        };
        r.options.push(DhcpOption::MessageType(kind));
        let mut out = Vec::new();
        Encoder::new(Dialect::Rfc6926, MAX_MESSAGE_SIZE)
            .encode_to_vec(&r.to_vec(), &mut out)
            .unwrap();
        out
    }

    /// Reads one query frame; returns its xid.
    fn read_query(s: &mut TcpStream) -> u32 {
        let mut d = Decoder::new(Dialect::Rfc6926, MAX_MESSAGE_SIZE);
        let mut b = [0u8; 1];
        loop {
            s.read_exact(&mut b).unwrap();
            if let Some(m) = d.decode(&b).unwrap().message {
                return u32::from_be_bytes([m[4], m[5], m[6], m[7]]);
            }
        }
    }

    fn config(xid: u32) -> Config {
        let mut c = Config::new(Dialect::Rfc6926);
        c.xid = xid;
        c.data_timeout = Duration::from_millis(300);
        c.conn_timeout = Duration::from_secs(1);
        c.first_retry = Duration::from_millis(10);
        c.max_retry = Duration::from_millis(40);
        c
    }

    fn key() -> QueryKey {
        QueryKey::RelayId(b"r".to_vec())
    }

    #[test]
    fn bindings_come_one_by_one_then_the_end() {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = l.local_addr().unwrap();
        let server = thread::spawn(move || {
            let (mut s, _) = l.accept().unwrap();
            let xid = read_query(&mut s);
            for i in 1..=3 {
                s.write_all(&reply(xid, MessageType::LeaseActive, i))
                    .unwrap();
            }
            s.write_all(&reply(xid, MessageType::LeaseQueryDone, 0))
                .unwrap();
        });
        let mut bulk = query(addr, &key(), config(77)).unwrap();
        let got: Vec<_> = bulk.by_ref().map(|r| r.unwrap().address.unwrap()).collect();
        assert_eq!(got.len(), 3);
        assert_eq!(bulk.end(), Some(&End::Done { bindings: 3 }));
        assert_eq!(bulk.bindings(), 3);
        server.join().unwrap();
    }

    #[test]
    fn next_lease_reads_into_one_buffer_then_the_end() {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = l.local_addr().unwrap();
        let server = thread::spawn(move || {
            let (mut s, _) = l.accept().unwrap();
            let xid = read_query(&mut s);
            for i in 1..=3 {
                s.write_all(&reply(xid, MessageType::LeaseActive, i))
                    .unwrap();
            }
            s.write_all(&reply(xid, MessageType::LeaseQueryDone, 0))
                .unwrap();
        });
        let mut bulk = query(addr, &key(), config(78)).unwrap();
        let mut got = Vec::new();
        while let Some(lease) = bulk.next_lease() {
            got.push(lease.unwrap().address.unwrap());
        }
        assert_eq!(got, [1, 2, 3].map(|i| Ipv4Addr::new(10, 0, 0, i)));
        assert_eq!(bulk.end(), Some(&End::Done { bindings: 3 }));
        assert!(bulk.next_lease().is_none() && bulk.next().is_none());
        server.join().unwrap();
    }

    #[test]
    fn a_blocked_stream_times_out_and_an_unknown_xid_closes() {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = l.local_addr().unwrap();
        let server = thread::spawn(move || {
            let (mut s, _) = l.accept().unwrap();
            let xid = read_query(&mut s);
            s.write_all(&reply(xid, MessageType::LeaseActive, 1))
                .unwrap();
            let (mut s2, _) = l.accept().unwrap();
            let xid2 = read_query(&mut s2);
            s2.write_all(&reply(xid2 + 1, MessageType::LeaseActive, 1))
                .unwrap();
            thread::sleep(Duration::from_millis(500));
            drop(s);
        });
        let mut bulk = query(addr, &key(), config(5)).unwrap();
        assert!(bulk.next().unwrap().is_ok());
        assert!(matches!(bulk.next(), Some(Err(Error::DataTimeout))));
        assert!(bulk.next().is_none() && bulk.end().is_none());
        let mut bulk = query(addr, &key(), config(6)).unwrap();
        assert!(matches!(
            bulk.next(),
            Some(Err(Error::Session(SessionError::UnknownXid(7))))
        ));
        server.join().unwrap();
    }

    #[test]
    fn refused_connections_are_retried_then_given_up() {
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap();
        let started = std::time::Instant::now();
        let e = query(port, &key(), config(1)).unwrap_err();
        assert!(matches!(e, Error::Connect(_)), "{e}");
        // 10 + 20 + 40 ms of waits.
        assert!(started.elapsed() >= Duration::from_millis(70));
    }

    #[test]
    fn a_connection_closed_before_any_answer_is_retried() {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = l.local_addr().unwrap();
        let server = thread::spawn(move || {
            let (s, _) = l.accept().unwrap();
            drop(s);
            let (mut s, _) = l.accept().unwrap();
            let xid = read_query(&mut s);
            s.write_all(&reply(xid, MessageType::LeaseActive, 1))
                .unwrap();
            s.write_all(&reply(xid, MessageType::LeaseQueryDone, 0))
                .unwrap();
        });
        let mut bulk = query(addr, &key(), config(9)).unwrap();
        assert_eq!(bulk.by_ref().filter(|r| r.is_ok()).count(), 1);
        assert_eq!(bulk.end(), Some(&End::Done { bindings: 1 }));
        server.join().unwrap();
    }

    #[test]
    fn backoff_doubles_up_to_the_maximum() {
        let waits: Vec<u64> = Backoff::new(Duration::from_secs(1), Duration::from_secs(60))
            .map(|d| d.as_secs())
            .collect();
        assert_eq!(waits, [1, 2, 4, 8, 16, 32]);
        assert_eq!(
            Backoff::new(Duration::from_secs(1), Duration::ZERO).count(),
            0
        );
    }
}
