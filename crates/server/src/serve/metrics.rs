//! The `[metrics]` HTTP listener: `GET {path}` answers the text [`crate::metrics::render`]
//! returns; any other path is 404, any other method on the path 405.
//!
//! A std `TcpListener` and a minimal HTTP/1.x reader rather than an HTTP server crate: a
//! scraper sends one small GET every few seconds, which needs neither keep-alive, chunked
//! bodies nor a thread pool, and each of those is code that hostile input could reach. Bounds
//! (the network is hostile, docs/architecture.md): one connection at a time on one thread
//! (the next waits in the kernel's backlog), a request head of at most [`MAX_HEAD`] octets,
//! [`IO_TIMEOUT`] per read or write and [`DEADLINE`] per connection, then `Connection: close`.
//! The thread never touches the packet path: it reads the services' atomics (and takes the
//! leasequery limiter's lock for the per-requester rows) while answering.

use super::ServeError;
use crate::config::Config;
use std::io::{ErrorKind, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

/// Largest request head read (request line and headers); longer ones get 431.
pub const MAX_HEAD: usize = 8 * 1024;

/// Longest wait for one read or write.
pub const IO_TIMEOUT: Duration = Duration::from_secs(2);

/// Longest a connection is served, whatever it sends or how slowly it reads.
pub const DEADLINE: Duration = Duration::from_secs(5);

/// Least time between two log lines about failed requests.
const SAY_EVERY: Duration = Duration::from_secs(60);

/// How often the idle listener looks at the stop flag.
const POLL: Duration = Duration::from_millis(100);

/// The listener `[metrics]` names, bound at start (before the switch to `[server] user`), so an
/// address already in use stops the start with a clear error; `None` without `[metrics]`.
pub(super) fn bind(config: &Config) -> Result<Option<TcpListener>, ServeError> {
    let Some(m) = &config.file.metrics else {
        return Ok(None);
    };
    let listener = TcpListener::bind(m.listen).map_err(|e| {
        let why = format!("metrics: cannot listen on {}: {e}", m.listen);
        if e.kind() == ErrorKind::AddrInUse {
            ServeError::Refused(format!(
                "{why} (another process has it: change [metrics] listen or stop that process); \
                 refusing to start"
            ))
        } else {
            ServeError::Sockets(why)
        }
    })?;
    listener
        .set_nonblocking(true)
        .map_err(|e| ServeError::Sockets(format!("metrics: {e}")))?;
    Ok(Some(listener))
}

/// Serves scrapes on `listener` until `stop` is set; `render` makes the body.
pub(super) fn serve(
    listener: &TcpListener,
    path: &str,
    stop: &AtomicBool,
    render: &(dyn Fn() -> String + Sync),
) {
    // Peers can cause these lines: one per SAY_EVERY at most, with how many were not said.
    let mut last_said: Option<Instant> = None;
    let mut unsaid = 0u64;
    let mut say = |line: String| {
        if last_said.is_some_and(|t| t.elapsed() < SAY_EVERY) {
            unsaid += 1;
            return;
        }
        last_said = Some(Instant::now());
        match std::mem::take(&mut unsaid) {
            0 => tracing::warn!("{line}"),
            n => tracing::warn!(unsaid = n, "{line} ({n} more since the last such line)"),
        }
    };
    while !stop.load(Ordering::Relaxed) {
        match listener.accept() {
            Ok((stream, peer)) => {
                if let Err(e) = answer(stream, path, render) {
                    say(format!(
                        "metrics: a request from {peer} was not answered: {e}"
                    ));
                }
            }
            Err(e) if e.kind() == ErrorKind::WouldBlock => std::thread::sleep(POLL),
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(e) => {
                // Out of descriptors and the like: wait rather than spin.
                say(format!("metrics: accept: {e}"));
                std::thread::sleep(POLL * 10);
            }
        }
    }
}

/// What a request head asks.
#[derive(Debug, PartialEq, Eq)]
enum Request<'a> {
    /// Method and path (query string cut off).
    Line(&'a str, &'a str),
    /// Not an HTTP/1.x request line.
    Bad,
}

fn request_line(head: &[u8]) -> Request<'_> {
    let Some(line) = head.split(|&b| b == b'\n').next() else {
        return Request::Bad;
    };
    let Ok(line) = std::str::from_utf8(line) else {
        return Request::Bad;
    };
    let mut parts = line.trim_end_matches('\r').split(' ');
    match (parts.next(), parts.next(), parts.next(), parts.next()) {
        (Some(method), Some(target), Some(version), None)
            if !method.is_empty() && version.starts_with("HTTP/1.") =>
        {
            let path = target.split_once('?').map_or(target, |(p, _)| p);
            Request::Line(method, path)
        }
        _ => Request::Bad,
    }
}

/// Reads the request head: up to the blank line, [`MAX_HEAD`] octets at most. `None` when it
/// is longer.
fn read_head(stream: &mut TcpStream, began: Instant) -> std::io::Result<Option<Vec<u8>>> {
    let mut head = Vec::with_capacity(512);
    let mut chunk = [0u8; 1024];
    loop {
        if head.windows(4).any(|w| w == b"\r\n\r\n") || head.windows(2).any(|w| w == b"\n\n") {
            return Ok(Some(head));
        }
        if head.len() >= MAX_HEAD {
            return Ok(None);
        }
        if began.elapsed() > DEADLINE {
            return Err(ErrorKind::TimedOut.into());
        }
        let room = (MAX_HEAD - head.len()).min(chunk.len());
        let n = stream.read(&mut chunk[..room])?;
        if n == 0 {
            return Err(ErrorKind::UnexpectedEof.into());
        }
        head.extend_from_slice(&chunk[..n]);
    }
}

fn answer(
    mut stream: TcpStream,
    path: &str,
    render: &(dyn Fn() -> String + Sync),
) -> std::io::Result<()> {
    let began = Instant::now();
    // The listener does not block; the connection does, with timeouts.
    stream.set_nonblocking(false)?;
    stream.set_read_timeout(Some(IO_TIMEOUT))?;
    stream.set_write_timeout(Some(IO_TIMEOUT))?;
    let (status, extra, body, content_type) = match read_head(&mut stream, began)? {
        None => (
            "431 Request Header Fields Too Large",
            "",
            String::new(),
            "text/plain",
        ),
        Some(head) => match request_line(&head) {
            Request::Bad => ("400 Bad Request", "", String::new(), "text/plain"),
            Request::Line(_, p) if p != path => (
                "404 Not Found",
                "",
                format!("metrics are at {path}\n"),
                "text/plain",
            ),
            Request::Line("GET", _) => ("200 OK", "", render(), crate::metrics::CONTENT_TYPE),
            Request::Line(..) => (
                "405 Method Not Allowed",
                "Allow: GET\r\n",
                String::new(),
                "text/plain",
            ),
        },
    };
    let head = format!(
        "HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\n{extra}\
         Connection: close\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes())?;
    // In pieces, so that a reader slower than the deadline is let go.
    for piece in body.as_bytes().chunks(16 * 1024) {
        if began.elapsed() > DEADLINE {
            return Err(ErrorKind::TimedOut.into());
        }
        stream.write_all(piece)?;
    }
    stream.flush()?;
    let _ = stream.shutdown(std::net::Shutdown::Write);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::SocketAddr;

    #[test]
    fn request_lines_are_read_strictly() {
        assert_eq!(
            request_line(b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n"),
            Request::Line("GET", "/metrics")
        );
        assert_eq!(
            request_line(b"GET /metrics?x=1 HTTP/1.0\r\n\r\n"),
            Request::Line("GET", "/metrics")
        );
        assert_eq!(request_line(b"GET /metrics\r\n\r\n"), Request::Bad);
        assert_eq!(request_line(b"GET  /metrics HTTP/1.1\r\n"), Request::Bad);
        assert_eq!(request_line(b"\xff\xfe /x HTTP/1.1\r\n"), Request::Bad);
        assert_eq!(request_line(b"GET /metrics SPDY/3\r\n"), Request::Bad);
    }

    fn exchange(addr: SocketAddr, request: &[u8]) -> String {
        let mut s = TcpStream::connect(addr).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        // A peer may close before reading everything of a request too long: that is fine.
        let _ = s.write_all(request);
        let mut out = String::new();
        let _ = s.read_to_string(&mut out);
        out
    }

    #[test]
    fn only_get_of_the_path_is_answered() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let addr = listener.local_addr().unwrap();
        let stop = AtomicBool::new(false);
        let render = || "lessor_x_total 1\n".to_string();
        std::thread::scope(|scope| {
            scope.spawn(|| serve(&listener, "/metrics", &stop, &render));
            let ok = exchange(addr, b"GET /metrics HTTP/1.1\r\nHost: a\r\n\r\n");
            assert!(ok.starts_with("HTTP/1.1 200 OK\r\n"), "{ok}");
            assert!(
                ok.contains("Content-Type: text/plain; version=0.0.4"),
                "{ok}"
            );
            assert!(ok.contains("Content-Length: 17\r\n"), "{ok}");
            assert!(ok.ends_with("\r\n\r\nlessor_x_total 1\n"), "{ok}");
            let other = exchange(addr, b"GET / HTTP/1.1\r\n\r\n");
            assert!(other.starts_with("HTTP/1.1 404 "), "{other}");
            let post = exchange(addr, b"POST /metrics HTTP/1.1\r\n\r\n");
            assert!(post.starts_with("HTTP/1.1 405 "), "{post}");
            assert!(post.contains("Allow: GET\r\n"), "{post}");
            let bad = exchange(addr, b"hello\r\n\r\n");
            assert!(bad.starts_with("HTTP/1.1 400 "), "{bad}");
            let mut long = b"GET /metrics HTTP/1.1\r\n".to_vec();
            long.extend(std::iter::repeat_n(b'a', MAX_HEAD + 10));
            let long = exchange(addr, &long);
            assert!(long.starts_with("HTTP/1.1 431 "), "{long}");
            // A silent peer is let go, and the next one is answered.
            let silent = TcpStream::connect(addr).unwrap();
            let after = exchange(addr, b"GET /metrics HTTP/1.1\r\n\r\n");
            assert!(after.starts_with("HTTP/1.1 200 OK"), "{after}");
            drop(silent);
            stop.store(true, Ordering::Relaxed);
        });
    }

    #[test]
    fn an_address_in_use_is_a_start_error_that_says_so() {
        let taken = TcpListener::bind("127.0.0.1:0").unwrap();
        let text = format!("[metrics]\nlisten = \"{}\"\n", taken.local_addr().unwrap());
        let config = crate::config::parse(&text, "t.toml").unwrap();
        let e = bind(&config).unwrap_err().to_string();
        assert!(
            e.contains("metrics: cannot listen on 127.0.0.1:") && e.contains("refusing to start"),
            "{e}"
        );
        let none = crate::config::parse("", "t.toml").unwrap();
        assert!(bind(&none).unwrap().is_none());
    }
}
