//! The wait rule of the UDP generators (`perf dora`, `perf leasequery`): one socket, one thread,
//! and each turn waits for one datagram no longer than until the next deadline.

use std::io;
use std::net::UdpSocket;
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
}
