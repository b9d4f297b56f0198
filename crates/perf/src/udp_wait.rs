//! How the UDP generators wait for datagrams.
//!
//! - `perf dora` and `perf leasequery` (closed loops): one socket, one thread, each turn waits
//!   for one datagram no longer than until the next deadline ([`recv_until`], the socket's read
//!   timeout).
//! - `perf sarr` (paced): the kernel keeps a socket's read timeout in scheduler ticks (4 ms at
//!   HZ = 250), too coarse to start clients every few hundred microseconds, so a [`Receiver`]
//!   thread blocks on the socket, timestamps each datagram as it reads it, and hands it over a
//!   bounded channel, on which the loop waits with a precise timeout.

use std::io;
use std::net::UdpSocket;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Receiver as Channel, RecvTimeoutError, SyncSender};
use std::thread::{Scope, ScopedJoinHandle};
use std::time::{Duration, Instant};

/// Longest single wait for a datagram.
pub const MAX_WAIT: Duration = Duration::from_millis(100);
/// Shortest read timeout (zero means "block forever" to the socket API).
pub const MIN_WAIT: Duration = Duration::from_millis(1);

/// Receive buffer asked for per exchange in flight: a reply of a few hundred octets takes about
/// 2 KiB of socket memory (the kernel counts its buffer, not its payload).
const RECV_BUFFER_PER_EXCHANGE: usize = 4096;

/// Makes room in `socket`'s receive buffer for every answer of a full window: with the default
/// buffer (about 208 KiB) the answers to a few hundred exchanges in flight, which a server that
/// batches sends together, arrive faster than the loop reads them, and the kernel drops the rest,
/// which the report would show as the server's timeouts or retransmissions. The kernel caps the
/// size at net.core.rmem_max; failing to raise it is not an error.
pub(crate) fn size_receive_buffer(socket: &UdpSocket, in_flight: u32) {
    let wanted = usize::try_from(in_flight)
        .unwrap_or(usize::MAX)
        .saturating_mul(RECV_BUFFER_PER_EXCHANGE)
        .max(256 << 10);
    let _ = socket2::SockRef::from(socket).set_recv_buffer_size(wanted);
}

/// What one wait on the socket gave.
pub(crate) enum Received {
    /// A datagram of this many octets is in the buffer.
    Datagram(usize),
    /// The wait ended without one (timeout, signal).
    Nothing,
    /// A receive error, e.g. ICMP port unreachable reported on the socket: the deadlines
    /// handle what it means, the caller counts it.
    Error,
}

/// Waits for one datagram no longer than until `next` (whole milliseconds rounded up, between
/// [`MIN_WAIT`] and [`MAX_WAIT`], so the socket's read timeout rarely changes between turns).
/// Shared by the DORA and leasequery loops.
pub(crate) fn recv_until(
    socket: &UdpSocket,
    buf: &mut [u8],
    now: Instant,
    next: Instant,
    last_wait: &mut Option<Duration>,
) -> io::Result<Received> {
    let left_ms = next
        .saturating_duration_since(now)
        .as_micros()
        .div_ceil(1000);
    let wait =
        Duration::from_millis(u64::try_from(left_ms).unwrap_or(u64::MAX)).clamp(MIN_WAIT, MAX_WAIT);
    if *last_wait != Some(wait) {
        socket.set_read_timeout(Some(wait))?;
        *last_wait = Some(wait);
    }
    Ok(match socket.recv_from(buf) {
        Ok((n, _from)) => Received::Datagram(n),
        Err(e)
            if matches!(
                e.kind(),
                io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut | io::ErrorKind::Interrupted
            ) =>
        {
            Received::Nothing
        }
        Err(_) => Received::Error,
    })
}

/// What a [`Receiver`] hands over.
pub(crate) enum Arrival {
    /// A datagram and when it was read off the socket.
    Datagram(Instant, Vec<u8>),
    /// A receive error (see [`Received::Error`]).
    Error,
}

/// A thread reading one socket into a bounded channel (see the module documentation).
pub(crate) struct Receiver<'scope> {
    channel: Channel<Arrival>,
    stop: &'scope AtomicBool,
    thread: ScopedJoinHandle<'scope, io::Result<()>>,
}

impl<'scope> Receiver<'scope> {
    /// Starts reading `socket` in a thread of `scope`. At most `capacity` datagrams wait in the
    /// channel; beyond that the thread waits and the socket's own buffer fills (and the kernel
    /// drops), as with one thread. `stop` ends the thread within [`MAX_WAIT`].
    pub(crate) fn spawn<'env>(
        scope: &'scope Scope<'scope, 'env>,
        socket: &'env UdpSocket,
        capacity: usize,
        stop: &'scope AtomicBool,
    ) -> io::Result<Receiver<'scope>> {
        let socket = socket.try_clone()?;
        socket.set_read_timeout(Some(MAX_WAIT))?;
        let (tx, channel) = mpsc::sync_channel(capacity);
        let thread = scope.spawn(move || read_into(&socket, &tx, stop));
        Ok(Receiver {
            channel,
            stop,
            thread,
        })
    }

    /// The next arrival, waiting no longer than until `next` (and [`MAX_WAIT`]); `None` when
    /// nothing came. An error when the thread ended on its own (it cannot read the socket).
    pub(crate) fn next_until(&self, now: Instant, next: Instant) -> io::Result<Option<Arrival>> {
        let wait = next.saturating_duration_since(now).min(MAX_WAIT);
        match self.channel.recv_timeout(wait) {
            Ok(a) => Ok(Some(a)),
            Err(RecvTimeoutError::Timeout) => Ok(None),
            Err(RecvTimeoutError::Disconnected) => Err(io::Error::other("the receiver stopped")),
        }
    }

    /// Stops the thread and returns how it ended.
    pub(crate) fn finish(self) -> io::Result<()> {
        self.stop.store(true, Ordering::Relaxed);
        drop(self.channel);
        self.thread
            .join()
            .unwrap_or_else(|_| Err(io::Error::other("the receiver panicked")))
    }
}

fn read_into(socket: &UdpSocket, tx: &SyncSender<Arrival>, stop: &AtomicBool) -> io::Result<()> {
    let mut buf = vec![0u8; 65_536];
    while !stop.load(Ordering::Relaxed) {
        let arrival = match socket.recv_from(&mut buf) {
            Ok((n, _from)) => {
                Arrival::Datagram(Instant::now(), buf.get(..n).unwrap_or(&[]).to_vec())
            }
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::WouldBlock
                        | io::ErrorKind::TimedOut
                        | io::ErrorKind::Interrupted
                ) =>
            {
                continue
            }
            Err(_) => Arrival::Error,
        };
        if tx.send(arrival).is_err() {
            // The loop is gone.
            break;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_receive_buffer_holds_a_full_window_as_far_as_the_kernel_allows() {
        let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
        size_receive_buffer(&socket, 256);
        let got = socket2::SockRef::from(&socket).recv_buffer_size().unwrap();
        // The kernel caps a request at net.core.rmem_max (and reports twice what it keeps).
        let max: usize = std::fs::read_to_string("/proc/sys/net/core/rmem_max")
            .ok()
            .and_then(|s| s.trim().parse().ok())
            .unwrap_or(0);
        let wanted = 256 * RECV_BUFFER_PER_EXCHANGE;
        assert!(got >= wanted.min(max), "{got} < min({wanted}, {max})");
    }

    #[test]
    fn the_receiver_hands_over_datagrams_and_stops() {
        let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
        let sender = UdpSocket::bind("127.0.0.1:0").unwrap();
        let stop = AtomicBool::new(false);
        std::thread::scope(|scope| {
            let rx = Receiver::spawn(scope, &socket, 4, &stop).unwrap();
            let t0 = Instant::now();
            // Nothing yet: the wait ends at `next`, well before a scheduler tick would.
            let next = t0 + Duration::from_micros(300);
            assert!(rx.next_until(t0, next).unwrap().is_none());
            sender
                .send_to(b"hello", socket.local_addr().unwrap())
                .unwrap();
            let far = t0 + Duration::from_secs(5);
            match rx.next_until(Instant::now(), far).unwrap() {
                Some(Arrival::Datagram(at, bytes)) => {
                    assert_eq!(bytes, b"hello");
                    assert!(at >= t0);
                }
                _ => panic!("no datagram"),
            }
            rx.finish().unwrap();
        });
    }
}
