//! Opening the DHCPv4 server sockets from `[dhcp4]`.

use super::error::OpenError;
use super::iface::Interface;
use crate::config::schema::Dhcp4;
use nix::sys::socket::{setsockopt, sockopt};
use socket2::{Domain, Protocol, Socket, Type};
use std::io;
use std::net::{Ipv4Addr, SocketAddrV4, UdpSocket};
use std::sync::Arc;
use std::time::Duration;

/// How long a blocking receive waits before the loop looks at its stop flag again.
pub const POLL_INTERVAL: Duration = Duration::from_millis(200);

/// What a socket is for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SocketKind {
    /// Bound to one `listen` address: relayed traffic, unicast renewals, leasequery. `interface`
    /// is the interface holding the address (None if none does, e.g. with a non-local bind).
    Listen {
        address: Ipv4Addr,
        interface: Option<Interface>,
    },
    /// Bound to 0.0.0.0:port on one interface (SO_BINDTODEVICE): directly attached clients.
    Interface(Interface),
}

/// One open DHCPv4 server socket (IP_PKTINFO on, read timeout [`POLL_INTERVAL`]).
#[derive(Debug)]
pub struct ServerSocket {
    socket: UdpSocket,
    kind: SocketKind,
    local: SocketAddrV4,
}

impl ServerSocket {
    /// A socket bound to `address:port` (SO_REUSEADDR, SO_BROADCAST, IP_PKTINFO).
    pub fn open_listen(address: Ipv4Addr, port: u16) -> Result<ServerSocket, OpenError> {
        let target = SocketAddrV4::new(address, port);
        let interface = Interface::holding(address).map_err(|source| OpenError::Lookup {
            what: format!("the interface of {address}"),
            source,
        })?;
        let socket = new_socket(&target.to_string())?;
        socket
            .bind(&target.into())
            .map_err(|source| OpenError::Bind {
                address: target,
                interface: None,
                source,
            })?;
        ServerSocket::finish(socket, SocketKind::Listen { address, interface })
    }

    /// A socket bound to 0.0.0.0:port on the interface `name` (SO_BINDTODEVICE, SO_REUSEADDR,
    /// SO_BROADCAST, IP_PKTINFO).
    pub fn open_interface(name: &str, port: u16) -> Result<ServerSocket, OpenError> {
        let interface = Interface::by_name(name)
            .map_err(|source| OpenError::Lookup {
                what: format!("interface {name}"),
                source,
            })?
            .ok_or_else(|| OpenError::NoSuchInterface {
                name: name.to_owned(),
            })?;
        let target = SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, port);
        let description = format!("{target} on {name}");
        let socket = new_socket(&description)?;
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
        ServerSocket::finish(socket, SocketKind::Interface(interface))
    }

    fn finish(socket: Socket, kind: SocketKind) -> Result<ServerSocket, OpenError> {
        let local = socket
            .local_addr()
            .ok()
            .and_then(|address| address.as_socket_ipv4())
            .ok_or_else(|| OpenError::Setup {
                target: format!("{kind:?}"),
                option: "getsockname",
                source: io::Error::other("no IPv4 local address"),
            })?;
        Ok(ServerSocket {
            socket: socket.into(),
            kind,
            local,
        })
    }

    pub fn kind(&self) -> &SocketKind {
        &self.kind
    }

    /// The bound address (with the port the kernel chose when asked for port 0).
    pub fn local_addr(&self) -> SocketAddrV4 {
        self.local
    }

    pub fn socket(&self) -> &UdpSocket {
        &self.socket
    }

    /// The ifindex of the interface this socket belongs to, when known.
    pub fn interface_index(&self) -> Option<u32> {
        self.interface().map(|interface| interface.index)
    }

    pub fn interface(&self) -> Option<&Interface> {
        match &self.kind {
            SocketKind::Listen { interface, .. } => interface.as_ref(),
            SocketKind::Interface(interface) => Some(interface),
        }
    }

    /// A short name for logs: "192.0.2.1:67" or "0.0.0.0:67 on eth0".
    pub fn describe(&self) -> String {
        match &self.kind {
            SocketKind::Listen { .. } => self.local.to_string(),
            SocketKind::Interface(interface) => format!("{} on {}", self.local, interface.name),
        }
    }
}

fn new_socket(target: &str) -> Result<Socket, OpenError> {
    let setup = |option: &'static str| {
        let target = target.to_owned();
        move |source: io::Error| OpenError::Setup {
            target,
            option,
            source,
        }
    };
    let socket =
        Socket::new(Domain::IPV4, Type::DGRAM, Some(Protocol::UDP)).map_err(setup("socket"))?;
    // Listen and interface sockets share the port: both need SO_REUSEADDR.
    socket
        .set_reuse_address(true)
        .map_err(setup("SO_REUSEADDR"))?;
    socket.set_broadcast(true).map_err(setup("SO_BROADCAST"))?;
    setsockopt(&socket, sockopt::Ipv4PacketInfo, &true)
        .map_err(io::Error::from)
        .map_err(setup("IP_PKTINFO"))?;
    socket
        .set_read_timeout(Some(POLL_INTERVAL))
        .map_err(setup("SO_RCVTIMEO"))?;
    Ok(socket)
}

/// Every DHCPv4 server socket of one configuration.
#[derive(Debug, Clone, Default)]
pub struct Sockets {
    sockets: Vec<Arc<ServerSocket>>,
}

impl Sockets {
    /// Opens one socket per `listen` address and one per `interfaces` entry, on `port`.
    pub fn open(config: &Dhcp4) -> Result<Sockets, OpenError> {
        Sockets::open_with(&config.listen, &config.interfaces, config.port)
    }

    pub fn open_with(
        listen: &[Ipv4Addr],
        interfaces: &[String],
        port: u16,
    ) -> Result<Sockets, OpenError> {
        let mut sockets = Vec::with_capacity(listen.len() + interfaces.len());
        for &address in listen {
            sockets.push(Arc::new(ServerSocket::open_listen(address, port)?));
        }
        for name in interfaces {
            sockets.push(Arc::new(ServerSocket::open_interface(name, port)?));
        }
        Ok(Sockets { sockets })
    }

    /// Sockets opened elsewhere (tests, an embedding program).
    pub fn from_sockets(sockets: Vec<ServerSocket>) -> Sockets {
        Sockets {
            sockets: sockets.into_iter().map(Arc::new).collect(),
        }
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
}
