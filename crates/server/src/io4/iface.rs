//! Interface names -> ifindex and IPv4 addresses (getifaddrs through nix).

use ipnet::Ipv4Net;
use nix::ifaddrs::getifaddrs;
use nix::net::if_::if_nametoindex;
use std::io;
use std::net::Ipv4Addr;

/// A network interface as the socket layer needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Interface {
    pub name: String,
    /// ifindex, as in `Received::interface_index` and `Destination::*::interface_index`.
    pub index: u32,
    /// Its IPv4 addresses with their prefixes.
    pub addresses: Vec<Ipv4Net>,
}

impl Interface {
    /// Looks an interface up by name; `Ok(None)` when there is no such interface.
    pub fn by_name(name: &str) -> io::Result<Option<Interface>> {
        let index = match if_nametoindex(name) {
            Ok(index) => index,
            Err(nix::errno::Errno::ENODEV) | Err(nix::errno::Errno::ENXIO) => return Ok(None),
            Err(errno) => return Err(errno.into()),
        };
        let mut addresses = Vec::new();
        for entry in getifaddrs()? {
            if entry.interface_name != name {
                continue;
            }
            if let Some(net) = ipv4_net(&entry) {
                addresses.push(net);
            }
        }
        Ok(Some(Interface {
            name: name.to_owned(),
            index,
            addresses,
        }))
    }

    /// The interface that holds `address`, if any.
    pub fn holding(address: Ipv4Addr) -> io::Result<Option<Interface>> {
        let mut name = None;
        for entry in getifaddrs()? {
            if let Some(net) = ipv4_net(&entry) {
                if net.addr() == address {
                    name = Some(entry.interface_name.clone());
                    break;
                }
            }
        }
        match name {
            Some(name) => Interface::by_name(&name),
            None => Ok(None),
        }
    }

    /// Whether `address` is inside one of this interface's prefixes.
    pub fn on_link(&self, address: Ipv4Addr) -> bool {
        self.addresses.iter().any(|net| net.contains(&address))
    }
}

fn ipv4_net(entry: &nix::ifaddrs::InterfaceAddress) -> Option<Ipv4Net> {
    let address = entry.address.as_ref()?.as_sockaddr_in()?.ip();
    let prefix = entry
        .netmask
        .as_ref()
        .and_then(|mask| mask.as_sockaddr_in())
        .map(|mask| u32::from(mask.ip()).leading_ones() as u8)
        .unwrap_or(32);
    Ipv4Net::new(address, prefix).ok()
}
