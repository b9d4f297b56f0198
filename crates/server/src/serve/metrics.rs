//! The `[metrics]` HTTP listener: `GET {path}` answers the text [`crate::metrics::render`]
//! returns; any other path is 404, any other method on the path 405.
//!
//! Served by [`super::http`] (its bounds: a request head of at most [`http::MAX_HEAD`] octets,
//! [`http::IO_TIMEOUT`] per read or write, [`http::DEADLINE`] per connection, a few connections
//! at once, `Connection: close`). The threads never touch the packet path: they read the services'
//! atomics (and take the leasequery limiter's lock for the per-requester rows) while answering.

use super::http::{self, Handler, Head, Next, Response};
use super::ServeError;
use crate::config::Config;
use std::io::ErrorKind;
use std::net::TcpListener;
use std::sync::atomic::AtomicBool;

/// A scrape has no body; a small one (of a request refused anyway) is read and let go.
const MAX_BODY: usize = 1024;

/// The listener `[metrics]` names, bound at start (before the switch to `[server] user`), so an
/// address already in use stops the start with a clear error; `None` without `[metrics]`.
pub(super) fn bind(config: &Config) -> Result<Option<TcpListener>, ServeError> {
    let Some(m) = &config.file.metrics else {
        return Ok(None);
    };
    http::bind(m.listen)
        .map_err(|e| {
            let why = format!("metrics: cannot listen on {}: {e}", m.listen);
            if e.kind() == ErrorKind::AddrInUse {
                ServeError::Refused(format!(
                "{why} (another process has it: change [metrics] listen or stop that process); \
                 refusing to start"
            ))
            } else {
                ServeError::Sockets(why)
            }
        })
        .map(Some)
}

/// Serves scrapes on `listener` until `stop` is set; `render` makes the body.
pub(super) fn serve(
    listener: &TcpListener,
    path: &str,
    stop: &AtomicBool,
    render: &(dyn Fn() -> String + Sync),
) {
    let limits = http::Limits::with_body(MAX_BODY);
    http::serve(listener, "metrics", limits, &Scrape { path, render }, stop);
}

/// What `GET {path}` answers.
struct Scrape<'a> {
    path: &'a str,
    render: &'a (dyn Fn() -> String + Sync),
}

impl Handler for Scrape<'_> {
    fn head(&self, head: &Head<'_>) -> Next {
        let path = self.path;
        Next::Answer(match head.method {
            _ if head.path != path => {
                Response::new(404, "text/plain", format!("metrics are at {path}\n"))
            }
            "GET" => Response::new(200, crate::metrics::CONTENT_TYPE, (self.render)()),
            _ => Response {
                extra: "Allow: GET\r\n",
                ..Response::new(405, "text/plain", "")
            },
        })
    }

    fn answer(&self, head: &Head<'_>, _: &[u8]) -> Response {
        // Not reached: every head is answered.
        match self.head(head) {
            Next::Answer(r) => r,
            Next::ReadBody => Response::new(500, "text/plain", ""),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{Read, Write};
    use std::net::{SocketAddr, TcpStream};
    use std::sync::atomic::Ordering;
    use std::time::Duration;

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
            long.extend(std::iter::repeat_n(b'a', http::MAX_HEAD + 10));
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
