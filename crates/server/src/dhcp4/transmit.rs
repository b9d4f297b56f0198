//! What crosses the boundary between the DHCPv4 engine and the socket layer.
//!
//! The engine decides *where* a reply goes (RFC 2131 §4.1, RFC 3046, docs/protocol.md decision 4); the
//! socket layer only knows *how* to get it there. A reply that must wait for its binding to be
//! durable (a DHCPACK) is handed to [`Transmit::send`] from the store's completion, which runs on
//! the store's writer thread: hence `Send + Sync + 'static`.

use lessor_wire::v4::MessageType;
use std::net::{Ipv4Addr, SocketAddrV4};

/// A datagram received on a DHCPv4 server socket.
#[derive(Debug, Clone, Copy)]
pub struct Received<'a> {
    /// The UDP payload (the BOOTP message).
    pub payload: &'a [u8],
    /// Where it came from (a relay agent's giaddr, a client's ciaddr, or 0.0.0.0:68).
    pub source: SocketAddrV4,
    /// The address it was sent to (IP_PKTINFO): a listen address for relayed traffic,
    /// 255.255.255.255 or an interface address for directly attached clients.
    pub destination: Ipv4Addr,
    /// The interface it arrived on (ifindex), when the socket layer knows it.
    pub interface_index: Option<u32>,
}

/// Where a reply goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Destination {
    /// To the relay agent at giaddr, on the configured relay port (RFC 2131 §4.1, RFC 3046), or
    /// to the source port of a leasequery requester (docs/protocol.md decision 4).
    Relay(SocketAddrV4),
    /// Unicast to a client that has an address (ciaddr), port 68.
    Client(SocketAddrV4),
    /// Limited broadcast 255.255.255.255:68 out of one interface (broadcast bit set, or a
    /// DHCPNAK to a directly attached client).
    Broadcast { interface_index: u32 },
    /// Unicast to `address` at the client's hardware address, out of one interface: the client
    /// has no address yet and cannot answer ARP, so the socket layer installs the neighbour entry
    /// (yiaddr -> chaddr) first, as RFC 2131 §4.1 describes; it falls back to broadcast if it
    /// cannot.
    Hardware {
        interface_index: u32,
        address: Ipv4Addr,
        htype: u8,
        hlen: u8,
        chaddr: [u8; 16],
    },
}

/// A reply ready to leave.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    /// The encoded BOOTP message.
    pub message: Vec<u8>,
    pub destination: Destination,
    /// Its DHCP message type, for counters and logs.
    pub message_type: MessageType,
}

/// Sends replies; implemented by the socket layer, and by a collector in tests.
pub trait Transmit: Send + Sync + 'static {
    fn send(&self, reply: Reply);

    /// Sends every reply of `replies` (left empty), in order. The socket layer sends those
    /// leaving through the same socket with one system call; the default sends one by one.
    fn send_batch(&self, replies: &mut Vec<Reply>) {
        for reply in replies.drain(..) {
            self.send(reply);
        }
    }
}
