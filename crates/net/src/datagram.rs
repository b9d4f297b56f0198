//! What crosses the boundary between the socket layer and the engines: a datagram as it arrived
//! ([`Received`]) and one to send ([`Outgoing`]) with where it must go ([`Destination`]).
//!
//! The engines decide *where* a message goes (RFC 2131 §4.1, RFC 3046, RFC 8415 §19); the socket
//! layer only knows *how* to get it there.

use std::net::{IpAddr, Ipv4Addr, SocketAddr, SocketAddrV6};

/// A datagram received on a server socket.
#[derive(Debug, Clone, Copy)]
pub struct Received<'a> {
    /// The UDP payload.
    pub payload: &'a [u8],
    /// Where it came from.
    pub source: SocketAddr,
    /// The address it was sent to (IP_PKTINFO / IPV6_PKTINFO): a listen address for relayed
    /// traffic; for directly attached clients the limited broadcast or an interface address
    /// (DHCPv4), a multicast group (DHCPv6).
    pub destination: IpAddr,
    /// The interface it arrived on (ifindex), when known.
    pub interface_index: Option<u32>,
}

/// Where a message goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Destination {
    /// Unicast to a relay agent (or a leasequery requester): from the socket on the same link,
    /// else the preferred source, else the first listen socket.
    Relay(SocketAddr),
    /// Unicast to a client that has an address; chosen as for [`Destination::Relay`].
    Client(SocketAddr),
    /// DHCPv4 limited broadcast, 255.255.255.255:`port`, out of one interface.
    Broadcast { interface_index: u32, port: u16 },
    /// DHCPv4 unicast to `address:port` at the client's hardware address, out of one interface:
    /// the client has no address yet and cannot answer ARP, so the neighbour entry (address ->
    /// chaddr) is installed first (RFC 2131 §4.1); when it cannot be (not Ethernet, no
    /// privilege), the message is broadcast instead.
    Hardware {
        interface_index: u32,
        address: Ipv4Addr,
        port: u16,
        htype: u8,
        hlen: u8,
        chaddr: [u8; 16],
    },
    /// IPv6 multicast to `group` (e.g. ff02::1:2, port 547) out of one interface.
    Multicast {
        interface_index: u32,
        group: SocketAddrV6,
    },
}

/// A message ready to leave.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outgoing {
    /// The encoded message (the UDP payload).
    pub payload: Vec<u8>,
    pub destination: Destination,
}

/// Sends messages; implemented by the socket layer's sender, by an outbox in front of it, and by
/// collectors in tests.
pub trait Transmit: Send + Sync + 'static {
    fn send(&self, message: Outgoing);

    /// Sends every message of `messages` (left empty), in order. The socket layer sends those
    /// leaving through one socket with one system call; the default sends one by one.
    fn send_batch(&self, messages: &mut Vec<Outgoing>) {
        for message in messages.drain(..) {
            self.send(message);
        }
    }
}
