//! The wait rule of the UDP generators (`perf dora`, `perf leasequery`): one socket, one thread,
//! and each turn waits for one datagram no longer than until the next deadline.

use std::io;
use std::net::UdpSocket;
use std::time::{Duration, Instant};

/// Longest single wait for a datagram.
pub const MAX_WAIT: Duration = Duration::from_millis(100);
/// Shortest read timeout (zero means "block forever" to the socket API).
pub const MIN_WAIT: Duration = Duration::from_millis(1);

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
