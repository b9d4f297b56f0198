//! The blocking driver of a DHCPv6 bulk query (RFC 5460): one `TcpStream` to port 547, a
//! [`Session6`] over it, the bindings handed out one by one. Connecting, retrying and the data
//! timeout are the DHCPv4 driver's ([`super::tcp`]: its [`Backoff`], its [`Error`]).

use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

use lessor_wire::v6::Duid;

use super::tcp::{closed_early, io_error, Backoff, Error};
use super::{End6, Event6, Session6, SubmitError};
use crate::v6::{ClientData6, KeyError6, QueryKey6, ReplyError6, DEFAULT_ORO6};

/// Errors of a DHCPv6 bulk query.
pub type Error6 = Error<ReplyError6, KeyError6>;

/// How [`query`] connects and reads.
#[derive(Debug, Clone)]
pub struct Config6 {
    /// The requestor's DUID (OPTION_CLIENTID).
    pub requestor: Duid,
    /// OPTION_ORO inside LQ_QUERY (none when empty).
    pub oro: Vec<u16>,
    /// Keep CLIENT_DATA without CLT_TIME (erratum 3763).
    pub keep_without_clt_time: bool,
    /// Connection attempt timeout.
    pub conn_timeout: Duration,
    /// How long the stream may block, reading or writing.
    pub data_timeout: Duration,
    /// The longest wait between connection attempts.
    pub max_retry: Duration,
    /// The first wait between connection attempts; it doubles each time.
    pub first_retry: Duration,
    /// The query's transaction-id (24 bits).
    pub xid: u32,
}

impl Config6 {
    /// The DHCPv4 driver's timings, for the requestor `requestor`.
    pub fn new(requestor: Duid) -> Config6 {
        Config6 {
            requestor,
            oro: DEFAULT_ORO6.to_vec(),
            keep_without_clt_time: false,
            conn_timeout: Duration::from_secs(30),
            data_timeout: Duration::from_secs(30),
            max_retry: Duration::from_secs(60),
            first_retry: Duration::from_secs(1),
            xid: 1,
        }
    }
}

/// One DHCPv6 bulk query in progress: an iterator over its bindings (with the server's DUID).
#[derive(Debug)]
pub struct Bulk6 {
    server: SocketAddr,
    key: QueryKey6,
    config: Config6,
    backoff: Backoff,
    stream: Option<TcpStream>,
    session: Session6,
    buf: Vec<u8>,
    start: usize,
    filled: usize,
    yielded: u64,
    end: Option<End6>,
    failed: bool,
}

/// Connects to `server` (retrying per [`Config6`]), sends the query for `key`, and returns the
/// iterator over the bindings.
pub fn query(server: SocketAddr, key: &QueryKey6, config: Config6) -> Result<Bulk6, Error6> {
    // Refused before connecting: a query that cannot be sent needs no server.
    Session6::new(config.requestor.clone(), false)
        .query(key, config.xid, &config.oro)
        .map_err(Error::Submit)?;
    let mut bulk = Bulk6 {
        server,
        key: key.clone(),
        backoff: Backoff::new(config.first_retry, config.max_retry),
        session: Session6::new(config.requestor.clone(), config.keep_without_clt_time),
        config,
        stream: None,
        buf: vec![0; 64 * 1024],
        start: 0,
        filled: 0,
        yielded: 0,
        end: None,
        failed: false,
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

impl Bulk6 {
    /// How the query ended: `None` while bindings may still come, or after an error.
    pub fn end(&self) -> Option<&End6> {
        self.end.as_ref()
    }

    /// Bindings yielded so far.
    pub fn bindings(&self) -> u64 {
        self.yielded
    }

    fn open(&mut self) -> Result<(), Error6> {
        let mut stream = loop {
            match TcpStream::connect_timeout(&self.server, self.config.conn_timeout) {
                Ok(s) => break s,
                Err(e) => match self.backoff.next() {
                    Some(wait) => std::thread::sleep(wait),
                    None => return Err(Error::Connect(e)),
                },
            }
        };
        let timeout = Some(self.config.data_timeout).filter(|d| !d.is_zero());
        stream.set_read_timeout(timeout).map_err(Error::Io)?;
        stream.set_write_timeout(timeout).map_err(Error::Io)?;
        stream.set_nodelay(true).ok();
        self.session = Session6::new(
            self.config.requestor.clone(),
            self.config.keep_without_clt_time,
        );
        self.session
            .query(&self.key, self.config.xid, &self.config.oro)
            .map_err(|e: SubmitError<KeyError6>| Error::Submit(e))?;
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

    fn step(&mut self) -> Result<Option<(ClientData6, Option<Duid>)>, Error6> {
        loop {
            let (used, event) = self
                .session
                .receive(&self.buf[self.start..self.filled])
                .map_err(Error::Session)?;
            self.start += used;
            match event {
                Some(Event6::Binding {
                    client, server_id, ..
                }) => {
                    self.yielded += 1;
                    return Ok(Some((*client, server_id)));
                }
                Some(Event6::Complete { end, .. }) => {
                    self.end = Some(end);
                    self.stream = None;
                    return Ok(None);
                }
                None if self.start < self.filled => continue,
                None => {}
            }
            let Some(stream) = self.stream.as_mut() else {
                return Ok(None);
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
                return Ok(None);
            }
        }
    }
}

impl Iterator for Bulk6 {
    /// A binding and the DUID of the server that sent it.
    type Item = Result<(ClientData6, Option<Duid>), Error6>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.failed || self.end.is_some() {
            return None;
        }
        loop {
            match self.step() {
                Ok(Some(b)) => return Some(Ok(b)),
                Ok(None) => return None,
                Err(e)
                    if self.yielded == 0
                        && closed_early(&e)
                        && self.backoff.clone().next().is_some() =>
                {
                    // Closed before any answer (e.g. the server's connection limit): retry.
                    std::thread::sleep(self.backoff.next().unwrap_or_default());
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
