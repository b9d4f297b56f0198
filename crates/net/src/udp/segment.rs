//! UDP segmentation offload (Linux `UDP_SEGMENT`): a run of equal-sized replies to one
//! destination leaves in one send, as one large datagram the kernel cuts into the replies after
//! one trip through the IP layer (one route look-up, one pass through the output path, the link
//! and, on a local peer, the input path) instead of one trip per reply. The receiver gets the
//! same datagrams as if each had been sent alone.
//!
//! A burst of leasequery replies to one access concentrator, or of DHCPOFFERs and DHCPACKs to one
//! relay, is such a run: the replies to one requester have the same shape, hence the same size.

use nix::errno::Errno;
use nix::sys::socket::{sendmsg, ControlMessage, MsgFlags, SockaddrStorage};
use std::io::IoSlice;
use std::net::SocketAddr;
use std::os::fd::AsRawFd;
use std::sync::atomic::{AtomicUsize, Ordering};

use super::socket::Family;
use crate::datagram::Outgoing;

/// The most replies in one send (the kernel's `UDP_MAX_SEGMENTS`: 64 since it came, in Linux
/// 4.18; recent kernels allow more, none fewer).
pub const MAX_SEGMENTS: usize = 64;
/// The most octets in one send: an IP datagram's payload, less the UDP header, with room to
/// spare for IPv6 extension headers.
pub const MAX_OCTETS: usize = 65_000;

/// Whether and up to what size a socket's replies may be segmented. Off (0) until turned on;
/// then the payload a 1500-octet link carries unfragmented (a larger reply is sent alone,
/// fragmented as before); lowered to a size the kernel refused as too large for its path (a
/// smaller MTU), and to 0 when the kernel or the device cannot segment at all.
///
/// Off by default because a packet capture on the sending host, on loopback or a veth (a
/// container's link), sees a segmented send as it was handed to the device: one datagram
/// holding the run, which Wireshark and tcpdump cannot read as DHCP. On the wire, and in a
/// capture on a device that segments in software before the capture point, they are the
/// replies.
#[derive(Debug, Default)]
pub struct Limit(AtomicUsize);

impl Limit {
    /// Segments replies of `family` up to a 1500-octet link's payload.
    pub fn turn_on(&self, family: Family) {
        self.0.store(
            match family {
                Family::V4 => 1500 - 20 - 8,
                Family::V6 => 1500 - 40 - 8,
            },
            Ordering::Relaxed,
        );
    }

    /// The largest reply that may be segmented (0: none).
    pub fn get(&self) -> usize {
        self.0.load(Ordering::Relaxed)
    }

    pub(super) fn lower_to(&self, size: usize) {
        self.0.fetch_min(size, Ordering::Relaxed);
    }
}

/// How many of the replies at the head of `run` can leave in one segmented send: consecutive
/// ones to the first one's destination of the first one's size (up to [`MAX_SEGMENTS`] and
/// [`MAX_OCTETS`]); 1 when the first cannot be segmented (too large, or empty).
pub fn run_len(run: &[(SocketAddr, Outgoing)], limit: usize) -> usize {
    let Some((to, first)) = run.first() else {
        return 0;
    };
    let size = first.payload.len();
    if size == 0 || size > limit {
        return 1;
    }
    let most = MAX_SEGMENTS.min(MAX_OCTETS / size);
    1 + run[1..]
        .iter()
        .take(most - 1)
        .take_while(|(next_to, next)| next_to == to && next.payload.len() == size)
        .count()
}

/// What became of a segmented send.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sent {
    /// The kernel took every reply.
    All,
    /// The send buffer stayed full for the socket's send timeout: none was sent.
    Full,
    /// Not sent: send the replies one by one (the kernel refused to segment them, or the send
    /// failed; sent alone, each is counted for what happens to it).
    Refused,
}

/// Sends `run` (replies of one size to one destination, from [`run_len`]) in one send through
/// `socket`, lowering `limit` when the kernel refuses to segment.
pub fn send(socket: &impl AsRawFd, run: &[(SocketAddr, Outgoing)], limit: &Limit) -> Sent {
    let Some((to, first)) = run.first() else {
        return Sent::All;
    };
    let size = first.payload.len();
    let Ok(segment) = u16::try_from(size) else {
        return Sent::Refused;
    };
    if run.len() > MAX_SEGMENTS {
        return Sent::Refused;
    }
    let mut slices = [IoSlice::new(&[]); MAX_SEGMENTS];
    for (slice, (_, message)) in slices.iter_mut().zip(run) {
        *slice = IoSlice::new(&message.payload);
    }
    let slices = &slices[..run.len()];
    let address = SockaddrStorage::from(*to);
    match sendmsg(
        socket.as_raw_fd(),
        slices,
        &[ControlMessage::UdpGsoSegments(&segment)],
        MsgFlags::empty(),
        Some(&address),
    ) {
        Ok(_) => Sent::All,
        Err(Errno::EAGAIN) => Sent::Full,
        // Larger than the path's MTU: segment only smaller replies from now on.
        Err(Errno::EINVAL | Errno::EMSGSIZE) => {
            limit.lower_to(size - 1);
            Sent::Refused
        }
        // No UDP_SEGMENT (before Linux 4.18), or a device that cannot checksum the segments.
        Err(Errno::EIO | Errno::ENOPROTOOPT | Errno::EOPNOTSUPP) => {
            limit.lower_to(0);
            Sent::Refused
        }
        Err(_) => Sent::Refused,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::datagram::Destination;

    fn reply(to: SocketAddr, size: usize) -> (SocketAddr, Outgoing) {
        (
            to,
            Outgoing {
                payload: vec![0; size],
                destination: Destination::Relay(to),
            },
        )
    }

    #[test]
    fn a_run_is_consecutive_replies_of_one_size_to_one_destination() {
        let a: SocketAddr = "192.0.2.1:67".parse().unwrap();
        let b: SocketAddr = "192.0.2.2:67".parse().unwrap();
        let run = [
            reply(a, 300),
            reply(a, 300),
            reply(a, 300),
            reply(b, 300),
            reply(a, 300),
        ];
        assert_eq!(run_len(&run, 1472), 3);
        assert_eq!(run_len(&run[2..], 1472), 1, "the next one goes elsewhere");
        let sizes = [reply(a, 300), reply(a, 301), reply(a, 300)];
        assert_eq!(run_len(&sizes, 1472), 1, "a different size ends the run");
        assert_eq!(run_len(&run, 299), 1, "above the limit: alone");
        assert_eq!(run_len(&[reply(a, 0), reply(a, 0)], 1472), 1);
        assert_eq!(run_len(&[], 1472), 0);
    }

    #[test]
    fn a_run_stops_at_the_segment_and_octet_bounds() {
        let a: SocketAddr = "[2001:db8::1]:547".parse().unwrap();
        let many: Vec<_> = (0..200).map(|_| reply(a, 100)).collect();
        assert_eq!(run_len(&many, 1452), MAX_SEGMENTS);
        let large: Vec<_> = (0..200).map(|_| reply(a, 1400)).collect();
        assert_eq!(run_len(&large, 1452), MAX_OCTETS / 1400);
        const { assert!(MAX_OCTETS / 1400 < MAX_SEGMENTS) };
    }

    #[test]
    fn the_limit_is_off_until_turned_on_then_only_falls() {
        let limit = Limit::default();
        assert_eq!(limit.get(), 0);
        limit.turn_on(Family::V4);
        assert_eq!(limit.get(), 1472);
        limit.turn_on(Family::V6);
        assert_eq!(limit.get(), 1452);
        limit.lower_to(600);
        limit.lower_to(900);
        assert_eq!(limit.get(), 600);
        limit.lower_to(0);
        assert_eq!(limit.get(), 0);
    }
}
