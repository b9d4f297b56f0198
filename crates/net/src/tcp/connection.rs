//! One connection's thread: move what the engine wants moved, then block in poll(2) until the
//! socket, the engine's next deadline or shutdown says there is more.

use super::{timeout_of, Ended, Ending, Shared, StreamEngine, StreamService};
use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
use std::io::{ErrorKind, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::os::fd::AsFd;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::time::{Duration, Instant};

/// How long, after our FIN, the peer's leftover octets are read and dropped.
const LINGER: Duration = Duration::from_millis(200);

/// Octets of one read.
const READ_BUFFER: usize = 4096;

/// Serves one connection until the engine or the socket ends it, and tells the service how it
/// ended before the peer can see the close. A panic of the engine ends this connection only.
pub(super) fn serve<S: StreamService>(mut stream: TcpStream, peer: SocketAddr, shared: &Shared<S>) {
    let ended = match stream.set_nonblocking(true) {
        Ok(()) => {
            let _ = stream.set_nodelay(true);
            // The engine is dropped with the closure: nothing of a half-updated engine is used
            // after its panic, which is what makes asserting unwind safety sound.
            let served = catch_unwind(AssertUnwindSafe(|| {
                let engine = shared.service.connect(peer, shared.clock.now());
                drive(&mut stream, engine, shared)
            }));
            served.unwrap_or_else(|payload| {
                shared
                    .service
                    .panicked(peer, &crate::panic::message(&*payload));
                Ended::Panic
            })
        }
        Err(_) => Ended::SocketError,
    };
    shared.service.closed(peer, ended);
    let _ = stream.shutdown(Shutdown::Both);
}

fn drive<S: StreamService>(
    stream: &mut TcpStream,
    mut engine: S::Engine,
    shared: &Shared<S>,
) -> Ended<<S::Engine as StreamEngine>::Close> {
    let limits = &shared.limits;
    let writes_per_turn = limits.octets_per_turn.div_ceil(limits.write_budget);
    let mut buf = vec![0u8; READ_BUFFER];
    let mut out: Vec<u8> = Vec::with_capacity(limits.write_budget);
    let mut out_pos = 0;
    let mut stopping_since: Option<Instant> = None;
    loop {
        let now = shared.clock.now();
        if stopping_since.is_none() && shared.stopping() {
            engine.shutdown();
            stopping_since = Some(Instant::now());
        }
        if stopping_since.is_some_and(|t| t.elapsed() >= limits.shutdown_grace) {
            return Ended::Shutdown;
        }
        // Read what the engine can take now, never more than it hints.
        while engine.wants_read() {
            let n = engine.read_hint().clamp(1, buf.len());
            match stream.read(&mut buf[..n]) {
                Ok(0) => {
                    if let Err(c) = engine.peer_closed(now) {
                        return Ended::Engine(c);
                    }
                }
                Ok(n) => {
                    if let Err(c) = engine.receive(&buf[..n], now) {
                        return Ended::Engine(c);
                    }
                }
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(e) if e.kind() == ErrorKind::WouldBlock => break,
                Err(_) => return Ended::SocketError,
            }
        }
        // Write until the socket is full, there is nothing more, or it is the others' turn.
        let mut blocked = false;
        for _ in 0..writes_per_turn {
            if out_pos == out.len() {
                out.clear();
                out_pos = 0;
                engine.poll_transmit(&mut out, limits.write_budget, now);
                if out.is_empty() {
                    break;
                }
            }
            match stream.write(&out[out_pos..]) {
                Ok(0) => return Ended::SocketError,
                Ok(n) => {
                    out_pos += n;
                    engine.written(n, out.len() - out_pos, now);
                }
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(e) if e.kind() == ErrorKind::WouldBlock => {
                    blocked = true;
                    break;
                }
                // A send error: close at once.
                Err(_) => return Ended::SocketError,
            }
        }
        if out_pos == out.len() {
            match engine.close() {
                Some(Ending::Graceful(c)) => {
                    let _ = stream.flush();
                    let _ = stream.shutdown(Shutdown::Write);
                    linger(stream, &mut buf);
                    return Ended::Engine(c);
                }
                Some(Ending::Abort(c)) => return Ended::Engine(c),
                None => {}
            }
        }
        if let Err(c) = engine.on_timeout(now) {
            return Ended::Engine(c);
        }
        let want_out = out_pos < out.len();
        if !blocked && (want_out || engine.wants_write()) {
            // Its turn ended with more to send: look at the input and the flag, then go on.
            continue;
        }
        let mut events = PollFlags::empty();
        if engine.wants_read() {
            events |= PollFlags::POLLIN;
        }
        if want_out {
            events |= PollFlags::POLLOUT;
        }
        let mut wait = engine
            .next_deadline()
            .map(|at| Duration::from_millis(at.saturating_sub(now.ms)));
        if let Some(since) = stopping_since {
            let left = limits.shutdown_grace.saturating_sub(since.elapsed());
            wait = Some(wait.map_or(left, |w| w.min(left)));
        }
        let timeout = wait.map_or(PollTimeout::NONE, timeout_of);
        let mut fds = [
            PollFd::new(stream.as_fd(), events),
            PollFd::new(shared.woken.as_fd(), PollFlags::POLLIN),
        ];
        // Once stopping, the wake socket stays readable: leave it out.
        let n = if stopping_since.is_some() { 1 } else { 2 };
        match poll(&mut fds[..n], timeout) {
            Ok(_) => {}
            Err(nix::errno::Errno::EINTR) => continue,
            Err(_) => return Ended::SocketError,
        }
        let revents = fds[0].revents().unwrap_or(PollFlags::empty());
        if events.is_empty() && revents.intersects(PollFlags::POLLERR | PollFlags::POLLHUP) {
            // Dead socket and nothing asked of it: polling again would return at once.
            return Ended::SocketError;
        }
    }
}

/// After our FIN: reads and discards what the peer still sends, for a moment, so that closing
/// with unread octets does not reset the connection before the peer has read our last messages.
fn linger(stream: &mut TcpStream, buf: &mut [u8]) {
    let until = Instant::now() + LINGER;
    loop {
        match stream.read(buf) {
            Ok(0) => return,
            Ok(_) => continue,
            Err(e) if e.kind() == ErrorKind::Interrupted => continue,
            Err(e) if e.kind() == ErrorKind::WouldBlock => {}
            Err(_) => return,
        }
        let left = until.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return;
        }
        let mut fds = [PollFd::new(stream.as_fd(), PollFlags::POLLIN)];
        match poll(&mut fds, timeout_of(left)) {
            Ok(0) => return,
            Ok(_) | Err(nix::errno::Errno::EINTR) => {}
            Err(_) => return,
        }
    }
}
