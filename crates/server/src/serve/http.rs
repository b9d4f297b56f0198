//! The one HTTP/1.x server of `lessor serve`, under the `[metrics]` listener and the control
//! API's `http-listen`: a request line, headers and a `Content-Length` body, one request per
//! connection, then `Connection: close`. The [`Handler`] decides every answer; this module only
//! reads and bounds.
//!
//! A std `TcpListener` rather than an HTTP server crate: a scraper or a NOC tool sends one small
//! request, which needs neither keep-alive nor chunked bodies, and each of those is code hostile
//! input could reach. Bounds (the network is hostile, docs/architecture.md):
//! - a request head of at most [`Limits::max_head`] octets (431), a body of at most
//!   [`Limits::max_body`] (413, said before a byte of it is read); `Transfer-Encoding` is 411;
//! - [`Limits::io_timeout`] per read or write and [`Limits::deadline`] per connection, whatever
//!   the client sends or how slowly it reads (the handler's own time not counted): a client that stalls mid-head or mid-body is
//!   answered 408 (if it still reads) and closed;
//! - [`WORKERS`] connections served at once, each on its own thread accepting from the one
//!   listener; the next waits in the kernel's backlog. Several rather than one so that a client
//!   that stalls does not make every other wait for its deadline; few, because the answers are
//!   small and the threads sit idle between scrapes.

use std::io::{ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Largest request head (request line and headers) of both listeners.
pub const MAX_HEAD: usize = 8 * 1024;

/// Longest wait for one read or write.
pub const IO_TIMEOUT: Duration = Duration::from_secs(2);

/// Longest a connection is served, whatever the client sends or how slowly it reads (the
/// handler's own time not counted).
pub const DEADLINE: Duration = Duration::from_secs(5);

/// Connections served at once (threads per listener).
pub const WORKERS: usize = 4;

/// How often an idle worker looks at the stop flag.
const POLL: Duration = Duration::from_millis(100);

/// Least time between two log lines about failed requests.
const SAY_EVERY: Duration = Duration::from_secs(60);

/// What one listener accepts.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Largest request head (request line and headers); longer ones get 431.
    pub max_head: usize,
    /// Largest request body; a `Content-Length` over it gets 413.
    pub max_body: usize,
    /// Longest wait for one read or write.
    pub io_timeout: Duration,
    /// Longest a connection is served.
    pub deadline: Duration,
}

impl Limits {
    /// [`MAX_HEAD`], [`IO_TIMEOUT`], [`DEADLINE`] and bodies of at most `max_body` octets.
    pub const fn with_body(max_body: usize) -> Limits {
        Limits {
            max_head: MAX_HEAD,
            max_body,
            io_timeout: IO_TIMEOUT,
            deadline: DEADLINE,
        }
    }
}

/// A request head that reads: its method, path (query string cut off) and headers.
#[derive(Debug, PartialEq, Eq)]
pub struct Head<'a> {
    pub method: &'a str,
    pub path: &'a str,
    headers: Vec<(&'a str, &'a [u8])>,
}

impl<'a> Head<'a> {
    /// The value of the first header named `name` (any case).
    pub fn header(&self, name: &str) -> Option<&'a [u8]> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| *v)
    }
}

/// An answer; always sent with `Content-Length` and `Connection: close`.
#[derive(Debug)]
pub struct Response {
    pub status: u16,
    pub content_type: &'static str,
    /// Further header lines, each ending in CRLF.
    pub extra: &'static str,
    pub body: Vec<u8>,
}

impl Response {
    pub fn new(status: u16, content_type: &'static str, body: impl Into<Vec<u8>>) -> Response {
        Response {
            status,
            content_type,
            extra: "",
            body: body.into(),
        }
    }
}

/// What the head of a request leads to.
pub enum Next {
    /// Answered without reading the body (a wrong path, method or credential).
    Answer(Response),
    /// Read the body (within [`Limits::max_body`]), then [`Handler::answer`].
    ReadBody,
}

/// What a listener serves.
pub trait Handler: Sync {
    /// Decides on the head alone, before any of the body is read.
    fn head(&self, head: &Head<'_>) -> Next;
    /// Answers a request whose body was read whole.
    fn answer(&self, head: &Head<'_>, body: &[u8]) -> Response;
    /// The answer to a request this module refuses (400, 408, 411, 413, 431), saying `why`.
    fn refusal(&self, status: u16, why: &str) -> Response {
        Response::new(status, "text/plain", format!("{why}\n"))
    }
}

/// Binds `addr` for [`serve`]: the listener does not block, so the workers see the stop flag.
pub fn bind(addr: SocketAddr) -> std::io::Result<TcpListener> {
    let listener = TcpListener::bind(addr)?;
    listener.set_nonblocking(true)?;
    Ok(listener)
}

/// Serves `listener` (non-blocking, as [`bind`] makes it) on [`WORKERS`] threads until `stop` is
/// set. Requests that could not be answered are logged (warn) as `NAME: a request from PEER was
/// not answered: ...`, at most one line per minute.
pub fn serve(
    listener: &TcpListener,
    name: &str,
    limits: Limits,
    handler: &dyn Handler,
    stop: &AtomicBool,
) {
    let say = Say::default();
    let work = || {
        while !stop.load(Ordering::Relaxed) {
            match listener.accept() {
                Ok((stream, peer)) => {
                    if let Err(e) = exchange(stream, limits, handler) {
                        say.say(format!(
                            "{name}: a request from {peer} was not answered: {e}"
                        ));
                    }
                }
                Err(e) if e.kind() == ErrorKind::WouldBlock => std::thread::sleep(POLL),
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(e) => {
                    // Out of descriptors and the like: wait rather than spin.
                    say.say(format!("{name}: accept: {e}"));
                    std::thread::sleep(POLL * 10);
                }
            }
        }
    };
    std::thread::scope(|scope| {
        for i in 1..WORKERS {
            let spawned = std::thread::Builder::new()
                .name(format!("{name} http {i}"))
                .spawn_scoped(scope, work);
            if let Err(e) = spawned {
                say.say(format!("{name}: fewer HTTP threads: {e}"));
                break;
            }
        }
        work();
    });
}

/// Peers can cause the lines it says: one per [`SAY_EVERY`] at most, with how many were not said.
#[derive(Default)]
struct Say {
    state: Mutex<(Option<Instant>, u64)>,
}

impl Say {
    fn say(&self, line: String) {
        let mut s = self.state.lock().unwrap_or_else(|p| p.into_inner());
        if s.0.is_some_and(|t| t.elapsed() < SAY_EVERY) {
            s.1 += 1;
            return;
        }
        s.0 = Some(Instant::now());
        match std::mem::take(&mut s.1) {
            0 => tracing::warn!("{line}"),
            n => tracing::warn!(unsaid = n, "{line} ({n} more since the last such line)"),
        }
    }
}

/// Why a head does not read.
#[derive(Debug, PartialEq, Eq)]
pub enum HeadError {
    /// Not an HTTP/1.x request line.
    RequestLine,
    /// A header line without a name and a colon, or folded.
    Header,
}

/// Reads a request head (up to and without the blank line; lines end in CRLF or LF).
pub fn parse_head(head: &[u8]) -> Result<Head<'_>, HeadError> {
    let mut lines = head
        .split(|&b| b == b'\n')
        .map(|l| l.strip_suffix(b"\r").unwrap_or(l));
    let line = lines.next().ok_or(HeadError::RequestLine)?;
    let line = std::str::from_utf8(line).map_err(|_| HeadError::RequestLine)?;
    let mut parts = line.split(' ');
    let (method, path) = match (parts.next(), parts.next(), parts.next(), parts.next()) {
        (Some(method), Some(target), Some(version), None)
            if !method.is_empty() && !target.is_empty() && version.starts_with("HTTP/1.") =>
        {
            (method, target.split_once('?').map_or(target, |(p, _)| p))
        }
        _ => return Err(HeadError::RequestLine),
    };
    let mut headers = Vec::new();
    for line in lines.take_while(|l| !l.is_empty()) {
        let colon = line
            .iter()
            .position(|&b| b == b':')
            .ok_or(HeadError::Header)?;
        let name = std::str::from_utf8(&line[..colon]).map_err(|_| HeadError::Header)?;
        // RFC 9112 5.1: no whitespace in or before a name (that is also obs-fold, refused).
        if name.is_empty() || name.bytes().any(|b| !b.is_ascii_graphic()) {
            return Err(HeadError::Header);
        }
        headers.push((name, line[colon + 1..].trim_ascii()));
    }
    Ok(Head {
        method,
        path,
        headers,
    })
}

/// How long the body is: `Err` with the status and reason to refuse it.
fn body_length(head: &Head<'_>, max_body: usize) -> Result<usize, (u16, String)> {
    if head.header("transfer-encoding").is_some() {
        return Err((411, "send the body with a Content-Length".into()));
    }
    let mut length = None;
    for (_, v) in head
        .headers
        .iter()
        .filter(|(n, _)| n.eq_ignore_ascii_case("content-length"))
    {
        let n = std::str::from_utf8(v)
            .ok()
            .filter(|s| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()))
            .and_then(|s| s.parse::<u64>().ok())
            .ok_or((400, "Content-Length is not a number".to_string()))?;
        if length.is_some_and(|l| l != n) {
            return Err((400, "two Content-Lengths that differ".into()));
        }
        length = Some(n);
    }
    // RFC 9112 6.3: a request with neither header has no body.
    let n = length.unwrap_or(0);
    if n > max_body as u64 {
        return Err((413, format!("a request body is at most {max_body} octets")));
    }
    Ok(n as usize)
}

/// The connection's stream, each read and write bounded by the time left.
struct Conn {
    stream: TcpStream,
    limits: Limits,
    began: Instant,
}

impl Conn {
    /// `io_timeout` or what is left of the deadline, if less; an error once it is spent.
    fn budget(&self) -> std::io::Result<Duration> {
        let left = self
            .limits
            .deadline
            .checked_sub(self.began.elapsed())
            .filter(|d| !d.is_zero())
            .ok_or(ErrorKind::TimedOut)?;
        Ok(left.min(self.limits.io_timeout))
    }

    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let t = self.budget()?;
        self.stream.set_read_timeout(Some(t))?;
        match self.stream.read(buf) {
            Ok(0) => Err(ErrorKind::UnexpectedEof.into()),
            // The platforms differ in which kind a read timeout is.
            Err(e) if e.kind() == ErrorKind::WouldBlock => Err(ErrorKind::TimedOut.into()),
            r => r,
        }
    }

    fn write_all(&mut self, mut data: &[u8]) -> std::io::Result<()> {
        // In pieces, so that a reader slower than the deadline is let go.
        while !data.is_empty() {
            let t = self.budget()?;
            self.stream.set_write_timeout(Some(t))?;
            let piece = &data[..data.len().min(16 * 1024)];
            let n = match self.stream.write(piece) {
                Ok(0) => return Err(ErrorKind::WriteZero.into()),
                Err(e) if e.kind() == ErrorKind::WouldBlock => {
                    return Err(ErrorKind::TimedOut.into())
                }
                Err(e) if e.kind() == ErrorKind::Interrupted => continue,
                r => r?,
            };
            data = &data[n..];
        }
        Ok(())
    }

    fn send(&mut self, r: &Response) -> std::io::Result<()> {
        let head = format!(
            "HTTP/1.1 {} {}\r\nContent-Type: {}\r\nContent-Length: {}\r\n{}Connection: close\r\n\r\n",
            r.status,
            reason(r.status),
            r.content_type,
            r.body.len(),
            r.extra,
        );
        self.write_all(head.as_bytes())?;
        self.write_all(&r.body)?;
        let _ = self.stream.shutdown(std::net::Shutdown::Write);
        // What the client still sends (a body not read) is drained for a while, bounded: closing
        // with unread input would reset the connection and could lose the answer on its way.
        let mut sink = [0u8; 1024];
        for _ in 0..64 {
            if self.read(&mut sink).is_err() {
                break;
            }
        }
        Ok(())
    }
}

/// Where the head ends: the offset of the first body octet.
fn head_end(buf: &[u8]) -> Option<usize> {
    let crlf = buf.windows(4).position(|w| w == b"\r\n\r\n").map(|i| i + 4);
    let lf = buf.windows(2).position(|w| w == b"\n\n").map(|i| i + 2);
    match (crlf, lf) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

/// One connection: a request read within the limits, its answer, closed.
fn exchange(stream: TcpStream, limits: Limits, handler: &dyn Handler) -> std::io::Result<()> {
    // The listener does not block; the connection does, with timeouts.
    stream.set_nonblocking(false)?;
    let mut conn = Conn {
        stream,
        limits,
        began: Instant::now(),
    };
    let outcome = read_and_answer(&mut conn, handler);
    if let Err(e) = &outcome {
        if e.kind() == ErrorKind::TimedOut {
            // Said to a client that still reads; one that does not is closed all the same.
            let timeout = handler.refusal(408, "the request took too long");
            conn.limits.deadline += limits.io_timeout;
            let _ = conn.send(&timeout);
        }
    }
    outcome
}

fn read_and_answer(conn: &mut Conn, handler: &dyn Handler) -> std::io::Result<()> {
    let max_head = conn.limits.max_head;
    let mut buf = Vec::with_capacity(1024);
    let mut chunk = [0u8; 1024];
    let end = loop {
        if let Some(end) = head_end(&buf) {
            break end;
        }
        if buf.len() >= max_head {
            let r = handler.refusal(431, &format!("a request head is at most {max_head} octets"));
            return conn.send(&r);
        }
        // One octet past the bound tells a head that is too long from one that just fits.
        let room = (max_head + 1 - buf.len()).min(chunk.len());
        let n = conn.read(&mut chunk[..room])?;
        buf.extend_from_slice(&chunk[..n]);
    };
    let head = match parse_head(&buf[..end]) {
        Ok(head) => head,
        Err(HeadError::RequestLine) => {
            return conn.send(&handler.refusal(400, "not an HTTP/1.x request line"))
        }
        Err(HeadError::Header) => {
            return conn.send(&handler.refusal(400, "a header line does not read"))
        }
    };
    let asked = Instant::now();
    if let Next::Answer(r) = handler.head(&head) {
        conn.began += asked.elapsed();
        return conn.send(&r);
    }
    let length = match body_length(&head, conn.limits.max_body) {
        Ok(n) => n,
        Err((status, why)) => return conn.send(&handler.refusal(status, &why)),
    };
    let mut body = buf[end..].to_vec();
    if body.len() < length
        && head
            .header("expect")
            .is_some_and(|e| e.eq_ignore_ascii_case(b"100-continue"))
    {
        conn.write_all(b"HTTP/1.1 100 Continue\r\n\r\n")?;
    }
    // Octets past the announced length are not a request this server reads.
    body.truncate(length);
    body.reserve_exact(length - body.len());
    while body.len() < length {
        let room = (length - body.len()).min(chunk.len());
        let n = conn.read(&mut chunk[..room])?;
        body.extend_from_slice(&chunk[..n]);
    }
    let asked = Instant::now();
    let r = handler.answer(&head, &body);
    // The deadline bounds the client, not the handler (a lease-delete waits for the store).
    conn.began += asked.elapsed();
    conn.send(&r)
}

/// The reason phrase of the statuses the handlers use.
fn reason(status: u16) -> &'static str {
    match status {
        100 => "Continue",
        200 => "OK",
        400 => "Bad Request",
        401 => "Unauthorized",
        404 => "Not Found",
        405 => "Method Not Allowed",
        408 => "Request Timeout",
        411 => "Length Required",
        413 => "Content Too Large",
        422 => "Unprocessable Content",
        431 => "Request Header Fields Too Large",
        500 => "Internal Server Error",
        _ => "",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_lines_are_read_strictly() {
        let h = parse_head(b"GET /metrics HTTP/1.1\r\nHost: x\r\n").unwrap();
        assert_eq!((h.method, h.path), ("GET", "/metrics"));
        assert_eq!(h.header("host"), Some(&b"x"[..]));
        let h = parse_head(b"GET /metrics?x=1 HTTP/1.0").unwrap();
        assert_eq!((h.method, h.path), ("GET", "/metrics"));
        for bad in [
            &b"GET /metrics"[..],
            b"GET  /metrics HTTP/1.1",
            b"\xff\xfe /x HTTP/1.1",
            b"GET /metrics SPDY/3",
            b"",
        ] {
            assert_eq!(
                parse_head(bad),
                Err(HeadError::RequestLine),
                "{:?}",
                String::from_utf8_lossy(bad)
            );
        }
    }

    #[test]
    fn headers_are_read_strictly() {
        let h = parse_head(b"POST /v1/x HTTP/1.1\nAuthorization:  Bearer t \nX-A: 1\n").unwrap();
        assert_eq!(h.header("AUTHORIZATION"), Some(&b"Bearer t"[..]));
        assert_eq!(h.header("x-a"), Some(&b"1"[..]));
        assert_eq!(h.header("x-b"), None);
        for bad in [
            &b"GET / HTTP/1.1\r\nno colon\r\n"[..],
            b"GET / HTTP/1.1\r\n: empty name\r\n",
            b"GET / HTTP/1.1\r\nHost : x\r\n",
            b"GET / HTTP/1.1\r\nHost: x\r\n folded\r\n",
        ] {
            assert_eq!(parse_head(bad), Err(HeadError::Header));
        }
    }

    #[test]
    fn body_lengths_are_bounded_and_unambiguous() {
        let len = |text: &[u8]| body_length(&parse_head(text).unwrap(), 100).map_err(|e| e.0);
        assert_eq!(len(b"POST / HTTP/1.1\r\n"), Ok(0));
        assert_eq!(len(b"POST / HTTP/1.1\r\nContent-Length: 100\r\n"), Ok(100));
        assert_eq!(len(b"POST / HTTP/1.1\r\nContent-Length: 101\r\n"), Err(413));
        assert_eq!(
            len(b"POST / HTTP/1.1\r\ncontent-length: 99999999999999999999999\r\n"),
            Err(400)
        );
        assert_eq!(len(b"POST / HTTP/1.1\r\nContent-Length: -1\r\n"), Err(400));
        assert_eq!(len(b"POST / HTTP/1.1\r\nContent-Length: +1\r\n"), Err(400));
        assert_eq!(
            len(b"POST / HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n"),
            Err(400)
        );
        assert_eq!(
            len(b"POST / HTTP/1.1\r\nContent-Length: 2\r\nContent-Length: 2\r\n"),
            Ok(2)
        );
        assert_eq!(
            len(b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n"),
            Err(411)
        );
    }

    /// Echoes the body of `POST /echo`; anything else is 404 before its body is read.
    struct Echo;

    impl Handler for Echo {
        fn head(&self, head: &Head<'_>) -> Next {
            if head.path == "/echo" {
                Next::ReadBody
            } else {
                Next::Answer(Response::new(404, "text/plain", "no\n"))
            }
        }
        fn answer(&self, _: &Head<'_>, body: &[u8]) -> Response {
            Response::new(200, "text/plain", body)
        }
    }

    const SHORT: Limits = Limits {
        max_head: 256,
        max_body: 64,
        io_timeout: Duration::from_millis(300),
        deadline: Duration::from_millis(1500),
    };

    /// Runs `test` against an [`Echo`] server on loopback.
    fn with_server(limits: Limits, test: impl FnOnce(SocketAddr)) {
        let listener = bind("127.0.0.1:0".parse().unwrap()).unwrap();
        let addr = listener.local_addr().unwrap();
        let stop = AtomicBool::new(false);
        std::thread::scope(|scope| {
            scope.spawn(|| serve(&listener, "test", limits, &Echo, &stop));
            // Set when `test` returns or fails, so a failure is reported rather than waited on.
            let _stop = StopOnDrop(&stop);
            test(addr);
        });
    }

    struct StopOnDrop<'a>(&'a AtomicBool);

    impl Drop for StopOnDrop<'_> {
        fn drop(&mut self) {
            self.0.store(true, Ordering::Relaxed);
        }
    }

    fn connect(addr: SocketAddr) -> TcpStream {
        let s = TcpStream::connect(addr).unwrap();
        // Far beyond the server's deadline: a server that never lets go fails the test.
        s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
        s
    }

    /// All the server sends until it closes.
    fn rest(mut s: TcpStream) -> String {
        let mut out = Vec::new();
        let r = s.read_to_end(&mut out);
        assert!(
            r.is_ok() || !out.is_empty(),
            "the server neither answered nor closed: {r:?}"
        );
        String::from_utf8_lossy(&out).into_owned()
    }

    fn exchange_with(addr: SocketAddr, request: &[u8]) -> String {
        let mut s = connect(addr);
        // A server may close before reading all of a request it refuses: that is fine.
        let _ = s.write_all(request);
        rest(s)
    }

    #[test]
    fn a_body_is_read_to_its_length_and_answered() {
        with_server(SHORT, |addr| {
            let ok = exchange_with(
                addr,
                b"POST /echo HTTP/1.1\r\nContent-Length: 5\r\n\r\nhello",
            );
            assert!(ok.starts_with("HTTP/1.1 200 OK\r\n"), "{ok}");
            assert!(
                ok.contains("Content-Length: 5\r\nConnection: close\r\n"),
                "{ok}"
            );
            assert!(ok.ends_with("\r\n\r\nhello"), "{ok}");
            // In pieces, and after a 100 Continue when asked for one.
            let mut s = connect(addr);
            s.write_all(
                b"POST /echo HTTP/1.1\r\nExpect: 100-continue\r\nContent-Length: 4\r\n\r\n",
            )
            .unwrap();
            let mut cont = [0u8; 25];
            s.read_exact(&mut cont).unwrap();
            assert_eq!(&cont, b"HTTP/1.1 100 Continue\r\n\r\n");
            s.write_all(b"ab").unwrap();
            std::thread::sleep(Duration::from_millis(50));
            s.write_all(b"cd").unwrap();
            let two = rest(s);
            assert!(
                two.starts_with("HTTP/1.1 200 ") && two.ends_with("abcd"),
                "{two}"
            );
            let gone = exchange_with(addr, b"POST /gone HTTP/1.1\r\nContent-Length: 3\r\n\r\n");
            assert!(gone.starts_with("HTTP/1.1 404 "), "{gone}");
        });
    }

    #[test]
    fn an_oversize_body_is_413_before_it_is_read() {
        with_server(SHORT, |addr| {
            let mut s = connect(addr);
            // Only the head: the answer comes without a byte of the body.
            s.write_all(b"POST /echo HTTP/1.1\r\nContent-Length: 65\r\n\r\n")
                .unwrap();
            let big = rest(s);
            assert!(
                big.starts_with("HTTP/1.1 413 Content Too Large\r\n"),
                "{big}"
            );
            assert!(big.contains("at most 64 octets"), "{big}");
            let chunked = exchange_with(
                addr,
                b"POST /echo HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
            );
            assert!(chunked.starts_with("HTTP/1.1 411 "), "{chunked}");
            let mut long = b"GET /echo HTTP/1.1\r\n".to_vec();
            long.extend(std::iter::repeat_n(b'a', SHORT.max_head + 10));
            let long = exchange_with(addr, &long);
            assert!(long.starts_with("HTTP/1.1 431 "), "{long}");
        });
    }

    #[test]
    fn a_client_stalled_mid_body_holds_no_one_else_and_is_dropped() {
        // Long enough that the other client is surely answered before the stalled one is let go.
        let limits = Limits {
            io_timeout: Duration::from_secs(3),
            deadline: Duration::from_secs(6),
            ..SHORT
        };
        with_server(limits, |addr| {
            let mut stalled = connect(addr);
            stalled
                .write_all(b"POST /echo HTTP/1.1\r\nContent-Length: 10\r\n\r\nhalf")
                .unwrap();
            // Let a worker take it first.
            std::thread::sleep(Duration::from_millis(200));
            let mut other = connect(addr);
            other
                .write_all(b"POST /echo HTTP/1.1\r\nContent-Length: 2\r\n\r\nok")
                .unwrap();
            let answered = rest(other);
            assert!(answered.starts_with("HTTP/1.1 200 "), "{answered}");
            // The stalled one is still being waited for (its deadline is not spent), then let go.
            let mut peek = [0u8; 1];
            stalled.set_nonblocking(true).unwrap();
            let still = stalled.read(&mut peek);
            assert!(
                still
                    .as_ref()
                    .is_err_and(|e| e.kind() == ErrorKind::WouldBlock),
                "{still:?}"
            );
            stalled.set_nonblocking(false).unwrap();
            let dropped = rest(stalled);
            assert!(dropped.starts_with("HTTP/1.1 408 "), "{dropped}");
        });
    }

    #[test]
    fn a_slow_loris_head_is_cut_off_at_the_deadline() {
        with_server(SHORT, |addr| {
            let mut s = connect(addr);
            let began = Instant::now();
            let mut sent = 0usize;
            let mut cut = false;
            // One octet every 100 ms (within the per-read timeout) never ends the head; bounded
            // by twenty times the deadline.
            while began.elapsed() < SHORT.deadline * 20 {
                let octet = if sent == 0 { &b"G"[..] } else { b"a" };
                if s.write_all(octet).is_err() {
                    cut = true;
                    break;
                }
                sent += 1;
                let mut peek = [0u8; 64];
                s.set_nonblocking(true).unwrap();
                let r = s.read(&mut peek);
                s.set_nonblocking(false).unwrap();
                match r {
                    Ok(_) => {
                        cut = true;
                        break;
                    }
                    Err(e) if e.kind() == ErrorKind::WouldBlock => {}
                    Err(_) => {
                        cut = true;
                        break;
                    }
                }
                std::thread::sleep(Duration::from_millis(100));
            }
            assert!(cut, "the head was never cut off ({sent} octets sent)");
            assert!(
                sent < SHORT.max_head,
                "cut off by the head's size, not by time"
            );
        });
    }

    #[test]
    fn silent_and_stalled_clients_cannot_hold_every_worker_for_ever() {
        with_server(SHORT, |addr| {
            // More silent clients than workers: each is let go at its deadline, then this one
            // is answered.
            let silent: Vec<_> = (0..WORKERS + 1).map(|_| connect(addr)).collect();
            let after = exchange_with(addr, b"POST /echo HTTP/1.1\r\nContent-Length: 1\r\n\r\nx");
            assert!(after.starts_with("HTTP/1.1 200 "), "{after}");
            drop(silent);
        });
    }
}
