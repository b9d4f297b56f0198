//! Interface names -> ifindex and addresses of both families (getifaddrs through nix).

use ipnet::{IpNet, Ipv4Net, Ipv6Net};
use nix::ifaddrs::getifaddrs;
use nix::net::if_::if_nametoindex;
use std::io;
use std::net::IpAddr;

/// A network interface as the socket layer and the engines need it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Interface {
    pub name: String,
    /// ifindex, as in [`crate::Received::interface_index`] and in destinations.
    pub index: u32,
    /// Its IPv4 addresses with their prefixes.
    pub v4: Vec<Ipv4Net>,
    /// Its IPv6 addresses with their prefixes (link-local ones included).
    pub v6: Vec<Ipv6Net>,
}

impl Interface {
    /// Looks an interface up by name; `Ok(None)` when there is no such interface.
    pub fn by_name(name: &str) -> io::Result<Option<Interface>> {
        let index = match if_nametoindex(name) {
            Ok(index) => index,
            Err(nix::errno::Errno::ENODEV) | Err(nix::errno::Errno::ENXIO) => return Ok(None),
            Err(errno) => return Err(errno.into()),
        };
        let mut interface = Interface {
            name: name.to_owned(),
            index,
            v4: Vec::new(),
            v6: Vec::new(),
        };
        for entry in getifaddrs()? {
            if entry.interface_name != name {
                continue;
            }
            match net_of(&entry) {
                Some(IpNet::V4(net)) => interface.v4.push(net),
                Some(IpNet::V6(net)) => interface.v6.push(net),
                None => {}
            }
        }
        Ok(Some(interface))
    }

    /// The interface that holds `address`, if any.
    pub fn holding(address: IpAddr) -> io::Result<Option<Interface>> {
        let name = getifaddrs()?
            .find(|entry| net_of(entry).is_some_and(|net| net.addr() == address))
            .map(|entry| entry.interface_name);
        match name {
            Some(name) => Interface::by_name(&name),
            None => Ok(None),
        }
    }

    /// Whether `address` is inside one of this interface's prefixes.
    pub fn on_link(&self, address: IpAddr) -> bool {
        match address {
            IpAddr::V4(a) => self.v4.iter().any(|net| net.contains(&a)),
            IpAddr::V6(a) => self.v6.iter().any(|net| net.contains(&a)),
        }
    }
}

fn net_of(entry: &nix::ifaddrs::InterfaceAddress) -> Option<IpNet> {
    let address = entry.address.as_ref()?;
    let mask = entry.netmask.as_ref();
    if let Some(a) = address.as_sockaddr_in() {
        let prefix = mask
            .and_then(|m| m.as_sockaddr_in())
            .map_or(32, |m| u32::from(m.ip()).leading_ones() as u8);
        return Ipv4Net::new(a.ip(), prefix).ok().map(IpNet::V4);
    }
    let a = address.as_sockaddr_in6()?;
    let prefix = mask
        .and_then(|m| m.as_sockaddr_in6())
        .map_or(128, |m| u128::from(m.ip()).leading_ones() as u8);
    Ipv6Net::new(a.ip(), prefix).ok().map(IpNet::V6)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::{Ipv4Addr, Ipv6Addr};

    #[test]
    fn loopback_has_its_index_and_addresses() {
        let lo = Interface::by_name("lo").unwrap().expect("lo exists");
        assert_eq!(lo.index, if_nametoindex("lo").unwrap());
        assert!(lo.on_link(IpAddr::V4(Ipv4Addr::new(127, 0, 0, 1))));
        assert!(!lo.on_link(IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1))));
        let held = Interface::holding(IpAddr::V4(Ipv4Addr::LOCALHOST)).unwrap();
        assert_eq!(held.map(|i| i.name), Some("lo".to_owned()));
        if !lo.v6.is_empty() {
            assert!(lo.on_link(IpAddr::V6(Ipv6Addr::LOCALHOST)));
        }
    }

    #[test]
    fn unknown_interface_is_none() {
        assert_eq!(Interface::by_name("lsr-none0").unwrap(), None);
        assert_eq!(
            Interface::holding(IpAddr::V4(Ipv4Addr::new(192, 0, 2, 254))).unwrap(),
            None
        );
    }
}
