//! Opening server sockets of either family.
//!
//! * a listen socket is bound to one local address and port: relayed traffic, unicast from
//!   clients that have an address, leasequery;
//! * an interface socket is bound to the wildcard address and port on one interface
//!   (SO_BINDTODEVICE): directly attached clients, who broadcast (DHCPv4) or multicast (DHCPv6).
//!   A DHCPv6 interface socket joins the groups it is given on that interface (ff02::1:2
//!   All_DHCP_Relay_Agents_and_Servers; ff05::1:3 All_DHCP_Servers for a server).
//!
//! Every socket reports each datagram's destination address and interface (IP_PKTINFO /
//! IPV6_RECVPKTINFO), shares its port with the others (SO_REUSEADDR), has a read timeout of
//! [`POLL_INTERVAL`] so its readers notice a stop request, and a send timeout of
//! [`SEND_TIMEOUT`] so that a send buffer that stays full never holds a thread. SO_REUSEADDR
//! would let another process share the port too: [`Sockets::open`] first looks for one
//! ([`super::holders`]).

use super::error::OpenError;
use super::holders;
use super::segment;
use crate::interface::Interface;
use nix::sys::socket::{setsockopt, sockopt};
use socket2::{Domain, Protocol, Socket, Type};
use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, UdpSocket};
use std::sync::Arc;
use std::time::Duration;

/// How long a blocking receive waits before the loop looks at its stop flag again.
pub const POLL_INTERVAL: Duration = Duration::from_millis(200);

/// How long a send may wait for room in the socket's send buffer (one that stays full: a link
/// or a queue that no longer drains) before the reply is dropped and counted: the threads that
/// send are the receive threads and the store's writer, which must never wait on one peer.
pub const SEND_TIMEOUT: Duration = Duration::from_millis(100);

/// The receive buffer asked for: room for a burst of a few thousand datagrams. An access
/// concentrator recovering after a reboot sends its 100-200 outstanding queries at once (RFC 4388
/// §6.6), relays forward bursts of DISCOVERs; the kernel's default (208 KiB) dropped 72 of the
/// first 200 queries of such a burst (docs/benchmarks.md). Asked with SO_RCVBUFFORCE (root or
/// CAP_NET_ADMIN), else SO_RCVBUF, which the kernel caps at net.core.rmem_max.
pub const RECEIVE_BUFFER: usize = 4 * 1024 * 1024;

/// The address family of a socket.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Family {
    V4,
    V6,
}

impl Family {
    fn unspecified(self) -> IpAddr {
        match self {
            Family::V4 => IpAddr::V4(Ipv4Addr::UNSPECIFIED),
            Family::V6 => IpAddr::V6(Ipv6Addr::UNSPECIFIED),
        }
    }

    fn of(address: IpAddr) -> Family {
        match address {
            IpAddr::V4(_) => Family::V4,
            IpAddr::V6(_) => Family::V6,
        }
    }
}

/// What a socket is for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SocketKind {
    /// Bound to one listen address. `interface` holds the address (None if no interface does,
    /// e.g. with a non-local bind).
    Listen {
        address: IpAddr,
        interface: Option<Interface>,
    },
    /// Bound to the wildcard address on one interface (SO_BINDTODEVICE).
    Interface {
        family: Family,
        interface: Interface,
    },
}

/// IPv6 settings of a socket; ignored for IPv4 sockets.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct V6Options {
    /// Multicast groups to join on an interface socket.
    pub groups: Vec<Ipv6Addr>,
    /// Hop limit of multicast sent from the socket (the kernel's default, 1, when `None`).
    pub multicast_hops: Option<u32>,
    /// Hop limit of unicast sent from the socket (the system default when `None`).
    pub unicast_hops: Option<u32>,
}

/// One open server socket.
#[derive(Debug)]
pub struct ServerSocket {
    socket: UdpSocket,
    kind: SocketKind,
    local: SocketAddr,
    /// Up to what size replies from this socket leave segmented ([`segment`](super::segment)).
    segment_limit: segment::Limit,
}

impl ServerSocket {
    /// A socket bound to `address:port`.
    pub fn open_listen(address: IpAddr, port: u16) -> Result<ServerSocket, OpenError> {
        ServerSocket::open_listen_with(address, port, &V6Options::default())
    }

    /// As [`ServerSocket::open_listen`], with IPv6 settings.
    pub fn open_listen_with(
        address: IpAddr,
        port: u16,
        v6: &V6Options,
    ) -> Result<ServerSocket, OpenError> {
        let target = SocketAddr::new(address, port);
        let interface = Interface::holding(address).map_err(|source| OpenError::Lookup {
            what: format!("the interface of {address}"),
            source,
        })?;
        let socket = new_socket(Family::of(address), &target.to_string(), v6)?;
        socket
            .bind(&target.into())
            .map_err(|source| OpenError::Bind {
                address: target,
                interface: None,
                source,
            })?;
        ServerSocket::finish(socket, SocketKind::Listen { address, interface })
    }

    /// A socket bound to the wildcard address and `port` on the interface `name`, joining
    /// `v6.groups` there when `family` is IPv6.
    pub fn open_interface(
        name: &str,
        family: Family,
        port: u16,
        v6: &V6Options,
    ) -> Result<ServerSocket, OpenError> {
        let interface = Interface::by_name(name)
            .map_err(|source| OpenError::Lookup {
                what: format!("interface {name}"),
                source,
            })?
            .ok_or_else(|| OpenError::NoSuchInterface {
                name: name.to_owned(),
            })?;
        let target = SocketAddr::new(family.unspecified(), port);
        let description = format!("{target} on {name}");
        let socket = new_socket(family, &description, v6)?;
        socket
            .bind_device(Some(name.as_bytes()))
            .map_err(|source| OpenError::Setup {
                target: description.clone(),
                option: "SO_BINDTODEVICE",
                source,
            })?;
        socket
            .bind(&target.into())
            .map_err(|source| OpenError::Bind {
                address: target,
                interface: Some(name.to_owned()),
                source,
            })?;
        if family == Family::V6 {
            for group in &v6.groups {
                socket
                    .join_multicast_v6(group, interface.index)
                    .map_err(|source| OpenError::Setup {
                        target: description.clone(),
                        option: "IPV6_ADD_MEMBERSHIP",
                        source,
                    })?;
            }
        }
        ServerSocket::finish(socket, SocketKind::Interface { family, interface })
    }

    fn finish(socket: Socket, kind: SocketKind) -> Result<ServerSocket, OpenError> {
        let local = socket
            .local_addr()
            .ok()
            .and_then(|address| address.as_socket())
            .ok_or_else(|| OpenError::Setup {
                target: format!("{kind:?}"),
                option: "getsockname",
                source: io::Error::other("no IP local address"),
            })?;
        Ok(ServerSocket {
            socket: socket.into(),
            kind,
            segment_limit: segment::Limit::default(),
            local,
        })
    }

    pub fn kind(&self) -> &SocketKind {
        &self.kind
    }

    pub fn family(&self) -> Family {
        Family::of(self.local.ip())
    }

    /// The bound address (with the port the kernel chose when asked for port 0).
    pub fn local_addr(&self) -> SocketAddr {
        self.local
    }

    pub fn socket(&self) -> &UdpSocket {
        &self.socket
    }

    pub(super) fn segment_limit(&self) -> &segment::Limit {
        &self.segment_limit
    }

    /// Sends runs of equal-sized replies to one destination with segmentation offload
    /// (`UDP_SEGMENT`): one send and one pass through the kernel's IP layer per run. Off until
    /// called; a capture on this host then shows each run as one datagram (see
    /// [`segment`](super::segment)).
    pub fn segment_replies(&self) {
        self.segment_limit.turn_on(self.family());
    }

    /// The receive buffer the kernel gave (the kernel counts its bookkeeping too: about twice
    /// what was asked), 0 if it cannot be read.
    pub fn receive_buffer(&self) -> usize {
        socket2::SockRef::from(&self.socket)
            .recv_buffer_size()
            .unwrap_or(0)
    }

    /// The ifindex of the interface this socket belongs to, when known.
    pub fn interface_index(&self) -> Option<u32> {
        self.interface().map(|interface| interface.index)
    }

    pub fn interface(&self) -> Option<&Interface> {
        match &self.kind {
            SocketKind::Listen { interface, .. } => interface.as_ref(),
            SocketKind::Interface { interface, .. } => Some(interface),
        }
    }

    /// Whether this socket is bound to a listen address (not to an interface).
    pub fn is_listen(&self) -> bool {
        matches!(self.kind, SocketKind::Listen { .. })
    }

    /// A short name for logs: "192.0.2.1:67", "0.0.0.0:67 on eth0", "[::]:547 on eth0".
    pub fn describe(&self) -> String {
        match &self.kind {
            SocketKind::Listen { .. } => self.local.to_string(),
            SocketKind::Interface { interface, .. } => {
                format!("{} on {}", self.local, interface.name)
            }
        }
    }
}

fn new_socket(family: Family, target: &str, v6: &V6Options) -> Result<Socket, OpenError> {
    let setup = |option: &'static str| {
        let target = target.to_owned();
        move |source: io::Error| OpenError::Setup {
            target,
            option,
            source,
        }
    };
    let domain = match family {
        Family::V4 => Domain::IPV4,
        Family::V6 => Domain::IPV6,
    };
    let socket = Socket::new(domain, Type::DGRAM, Some(Protocol::UDP)).map_err(setup("socket"))?;
    // Listen and interface sockets share the port: both need SO_REUSEADDR.
    socket
        .set_reuse_address(true)
        .map_err(setup("SO_REUSEADDR"))?;
    match family {
        Family::V4 => {
            socket.set_broadcast(true).map_err(setup("SO_BROADCAST"))?;
            setsockopt(&socket, sockopt::Ipv4PacketInfo, &true)
                .map_err(io::Error::from)
                .map_err(setup("IP_PKTINFO"))?;
        }
        Family::V6 => {
            // An IPv6 socket takes IPv6 only: IPv4 has its own sockets.
            socket.set_only_v6(true).map_err(setup("IPV6_V6ONLY"))?;
            setsockopt(&socket, sockopt::Ipv6RecvPacketInfo, &true)
                .map_err(io::Error::from)
                .map_err(setup("IPV6_RECVPKTINFO"))?;
            // A server must not hear its own multicast.
            socket
                .set_multicast_loop_v6(false)
                .map_err(setup("IPV6_MULTICAST_LOOP"))?;
            if let Some(hops) = v6.multicast_hops {
                socket
                    .set_multicast_hops_v6(hops)
                    .map_err(setup("IPV6_MULTICAST_HOPS"))?;
            }
            if let Some(hops) = v6.unicast_hops {
                socket
                    .set_unicast_hops_v6(hops)
                    .map_err(setup("IPV6_UNICAST_HOPS"))?;
            }
        }
    }
    socket
        .set_read_timeout(Some(POLL_INTERVAL))
        .map_err(setup("SO_RCVTIMEO"))?;
    socket
        .set_write_timeout(Some(SEND_TIMEOUT))
        .map_err(setup("SO_SNDTIMEO"))?;
    // Best effort: a smaller buffer still serves, and `receive_buffer` tells what was given.
    if setsockopt(&socket, sockopt::RcvBufForce, &RECEIVE_BUFFER).is_err() {
        let _ = socket.set_recv_buffer_size(RECEIVE_BUFFER);
    }
    Ok(socket)
}

/// The sockets of one service.
#[derive(Debug, Clone, Default)]
pub struct Sockets {
    sockets: Vec<Arc<ServerSocket>>,
}

impl Sockets {
    /// Opens one socket per listen address and one per interface name, all on `port`. Refuses
    /// ([`OpenError::Held`]) a port another process has a socket on that would share the
    /// datagrams of one of them ([`super::holders`]); port 0 (the kernel's choice) is never
    /// shared.
    pub fn open(
        family: Family,
        listen: &[IpAddr],
        interfaces: &[String],
        port: u16,
        v6: &V6Options,
    ) -> Result<Sockets, OpenError> {
        let mut sockets = Vec::with_capacity(listen.len() + interfaces.len());
        let held = |address: IpAddr| match port {
            0 => Ok(()),
            _ => holders::other_holder(address, port)
                .map_or(Ok(()), |holder| Err(OpenError::Held { holder })),
        };
        for &address in listen {
            if Family::of(address) != family {
                return Err(OpenError::WrongFamily { address, family });
            }
            held(address)?;
        }
        if !interfaces.is_empty() {
            // An interface socket is bound to the wildcard address.
            held(family.unspecified())?;
        }
        for &address in listen {
            sockets.push(Arc::new(ServerSocket::open_listen_with(address, port, v6)?));
        }
        for name in interfaces {
            sockets.push(Arc::new(ServerSocket::open_interface(
                name, family, port, v6,
            )?));
        }
        Ok(Sockets { sockets })
    }

    /// Sockets opened elsewhere (tests, an embedding program).
    pub fn from_sockets(sockets: Vec<ServerSocket>) -> Sockets {
        Sockets {
            sockets: sockets.into_iter().map(Arc::new).collect(),
        }
    }

    /// [`ServerSocket::segment_replies`] on every socket.
    pub fn segment_replies(&self) {
        self.sockets
            .iter()
            .for_each(|socket| socket.segment_replies());
    }

    pub fn iter(&self) -> impl Iterator<Item = &Arc<ServerSocket>> {
        self.sockets.iter()
    }

    pub fn len(&self) -> usize {
        self.sockets.len()
    }

    pub fn is_empty(&self) -> bool {
        self.sockets.is_empty()
    }

    /// The interfaces of the interface sockets (the links served directly).
    pub fn interfaces(&self) -> Vec<Interface> {
        self.sockets
            .iter()
            .filter_map(|s| match s.kind() {
                SocketKind::Interface { interface, .. } => Some(interface.clone()),
                SocketKind::Listen { .. } => None,
            })
            .collect()
    }
}
