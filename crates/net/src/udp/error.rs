//! Why a server socket could not be opened, naming the address or interface and the cause.

use super::holders::Holder;
use super::socket::Family;
use std::fmt;
use std::io;
use std::net::{IpAddr, SocketAddr};

#[derive(Debug)]
pub enum OpenError {
    /// An `interfaces` entry names no interface of this host.
    NoSuchInterface { name: String },
    /// Looking interfaces up (getifaddrs, if_nametoindex) failed.
    Lookup { what: String, source: io::Error },
    /// Creating the socket or setting an option on it failed.
    Setup {
        target: String,
        option: &'static str,
        source: io::Error,
    },
    /// bind(2) failed.
    Bind {
        address: SocketAddr,
        interface: Option<String>,
        source: io::Error,
    },
    /// A listen address of the other family than the service's sockets.
    WrongFamily { address: IpAddr, family: Family },
    /// Another process has a socket on the port that would share its datagrams
    /// ([`super::holders`]).
    Held { holder: Holder },
}

impl fmt::Display for OpenError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            OpenError::NoSuchInterface { name } => write!(f, "interface {name} does not exist"),
            OpenError::Held { holder } => write!(f, "{holder}"),
            OpenError::WrongFamily { address, family } => {
                let want = match family {
                    Family::V4 => "IPv4",
                    Family::V6 => "IPv6",
                };
                write!(f, "{address} is not an {want} address")
            }
            OpenError::Lookup { what, source } => write!(f, "cannot look up {what}: {source}"),
            OpenError::Setup {
                target,
                option,
                source,
            } => {
                write!(f, "cannot set {option} on {target}: {}", reason(source))?;
                if source.kind() == io::ErrorKind::PermissionDenied && *option == "SO_BINDTODEVICE"
                {
                    write!(f, " (binding to an interface needs root or CAP_NET_RAW)")?;
                }
                Ok(())
            }
            OpenError::Bind {
                address,
                interface,
                source,
            } => {
                write!(f, "cannot bind {address}")?;
                if let Some(name) = interface {
                    write!(f, " on {name}")?;
                }
                write!(f, ": {}", reason(source))?;
                if source.kind() == io::ErrorKind::PermissionDenied && address.port() < 1024 {
                    write!(
                        f,
                        " (ports below 1024 need root or CAP_NET_BIND_SERVICE; port {} asked)",
                        address.port()
                    )?;
                }
                Ok(())
            }
        }
    }
}

impl std::error::Error for OpenError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            OpenError::NoSuchInterface { .. }
            | OpenError::WrongFamily { .. }
            | OpenError::Held { .. } => None,
            OpenError::Lookup { source, .. }
            | OpenError::Setup { source, .. }
            | OpenError::Bind { source, .. } => Some(source),
        }
    }
}

/// A short, operator-facing cause for the common errno values.
fn reason(error: &io::Error) -> String {
    match error.raw_os_error() {
        Some(libc::EADDRNOTAVAIL) => "address not available (no interface has it)".into(),
        Some(libc::EADDRINUSE) => "address in use (another DHCP server running?)".into(),
        Some(libc::EACCES) | Some(libc::EPERM) => "permission denied".into(),
        Some(libc::ENODEV) => "no such device".into(),
        _ => error.to_string(),
    }
}
