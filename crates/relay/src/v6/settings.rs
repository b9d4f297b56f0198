//! What the DHCPv6 relay engine is told: its downstream interfaces, the servers it forwards to,
//! its relay-id and which relay options it adds. A plain struct the configuration fills;
//! [`Settings6::check`] refuses what the engine could not run with, naming the item.

use std::fmt;
use std::net::Ipv6Addr;
use std::sync::Arc;

use lessor_wire::v6::{Duid, DUID_MAX_LEN, DUID_MIN_LEN};

use super::AGENT_PORT;

/// Longest Interface-ID or remote-id this relay sends: what the server keeps of a relay
/// identifier (docs/protocol.md decision 17: over 255 octets is left out), so a longer one would
/// be relayed but never come back in a leasequery.
pub const MAX_ID_LEN: usize = 255;

/// One client-facing interface.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Downstream6 {
    /// The interface's name, as gleaned entries record it.
    pub name: Arc<str>,
    /// The interface index datagrams arrive with (pktinfo) and replies leave by.
    pub index: u32,
    /// link-address of the RELAY-FORWs built for this interface's clients (RFC 8415 §19.1.1): a
    /// global address of the interface, or `::` when the server is to identify the link by the
    /// Interface-ID alone.
    pub link_address: Ipv6Addr,
    /// Interface-ID (option 18) value; [`Downstream6::new`] makes it the name's octets.
    pub interface_id: Vec<u8>,
    /// Remote-Id (option 37) added for this interface's clients, if any.
    pub remote_id: Option<RemoteId6>,
}

impl Downstream6 {
    /// An interface with link-address `::`, Interface-ID its name and no remote-id.
    pub fn new(name: &str, index: u32) -> Downstream6 {
        Downstream6 {
            name: name.into(),
            index,
            link_address: Ipv6Addr::UNSPECIFIED,
            interface_id: name.as_bytes().to_vec(),
            remote_id: None,
        }
    }
}

/// A Remote-Id (RFC 4649): the vendor's enterprise number and the opaque id.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct RemoteId6 {
    pub enterprise_number: u32,
    pub remote_id: Vec<u8>,
}

impl RemoteId6 {
    /// The option body: enterprise number first, as the location table and the server's
    /// leasequery keep it.
    pub fn to_vec(&self) -> Vec<u8> {
        let mut v = self.enterprise_number.to_be_bytes().to_vec();
        v.extend_from_slice(&self.remote_id);
        v
    }
}

/// Where RELAY-FORWs go: a server's (or an upper relay's) unicast address, or All_DHCP_Servers
/// (ff05::1:3) / All_DHCP_Relay_Agents_and_Servers (ff02::1:2) out of an upstream interface.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Server6 {
    pub address: Ipv6Addr,
    /// Normally 547 ([`Server6::new`]).
    pub port: u16,
    /// The outgoing interface's index: required for a multicast or link-local address.
    pub interface: Option<u32>,
}

impl Server6 {
    /// `address`, port 547, no interface.
    pub fn new(address: Ipv6Addr) -> Server6 {
        Server6 {
            address,
            port: AGENT_PORT,
            interface: None,
        }
    }

    /// `group` (a multicast address) out of `interface`, port 547.
    pub fn multicast(group: Ipv6Addr, interface: u32) -> Server6 {
        Server6 {
            address: group,
            port: AGENT_PORT,
            interface: Some(interface),
        }
    }

    /// Whether only a configured source can be trusted to be this server: a unicast server
    /// answers from its address; behind a multicast group, any server may answer.
    pub(crate) fn is_unicast(&self) -> bool {
        !self.address.is_multicast()
    }
}

/// Which relay options go into every RELAY-FORW (each also needs its value).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Insert6 {
    /// Interface-ID (18) in every RELAY-FORW. When false, it is still added where the
    /// link-address put in the RELAY-FORW is `::` (an interface without one, a relay below with a
    /// global address): the reply could not find its interface otherwise.
    pub interface_id: bool,
    /// Remote-Id (37), for interfaces that have one.
    pub remote_id: bool,
    /// Relay-Id (53), when [`Settings6::relay_id`] is set.
    pub relay_id: bool,
}

impl Default for Insert6 {
    fn default() -> Self {
        Insert6 {
            interface_id: true,
            remote_id: true,
            relay_id: true,
        }
    }
}

/// Everything the engine needs (see the module docs).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Settings6 {
    pub interfaces: Vec<Downstream6>,
    pub servers: Vec<Server6>,
    /// The relay's DUID (RFC 5460 §5.4.1), one for both families, kept by the caller.
    pub relay_id: Option<Duid>,
    pub insert: Insert6,
}

/// What is wrong with a [`Settings6`], naming the interface or server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SettingsError6 {
    NoInterfaces,
    NoServers,
    /// Two interfaces with this index.
    DuplicateIndex(u32),
    /// Two interfaces with this Interface-ID (replies could not tell them apart).
    DuplicateInterfaceId {
        interface: Arc<str>,
    },
    /// Two interfaces with this link-address.
    DuplicateLinkAddress {
        interface: Arc<str>,
    },
    /// An Interface-ID empty or longer than [`MAX_ID_LEN`].
    BadInterfaceId {
        interface: Arc<str>,
    },
    /// A remote-id longer than [`MAX_ID_LEN`] (enterprise number included).
    BadRemoteId {
        interface: Arc<str>,
    },
    /// A link-address that is not a global unicast address (RFC 8415 §19.1.1) nor `::`.
    BadLinkAddress {
        interface: Arc<str>,
    },
    /// A server address that is unspecified, or multicast or link-local without an interface,
    /// or port 0.
    BadServer {
        address: Ipv6Addr,
    },
    /// A relay-id outside RFC 8415 §11.1's bounds.
    BadRelayId,
}

impl fmt::Display for SettingsError6 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SettingsError6::NoInterfaces => write!(f, "no downstream interface"),
            SettingsError6::NoServers => write!(f, "no server to relay to"),
            SettingsError6::DuplicateIndex(i) => {
                write!(f, "two downstream interfaces with index {i}")
            }
            SettingsError6::DuplicateInterfaceId { interface } => write!(
                f,
                "interface {interface}: its interface-id is another interface's too"
            ),
            SettingsError6::DuplicateLinkAddress { interface } => write!(
                f,
                "interface {interface}: its link-address is another interface's too"
            ),
            SettingsError6::BadInterfaceId { interface } => write!(
                f,
                "interface {interface}: the interface-id must be 1 to {MAX_ID_LEN} octets"
            ),
            SettingsError6::BadRemoteId { interface } => write!(
                f,
                "interface {interface}: the remote-id must be at most {} octets",
                MAX_ID_LEN - 4
            ),
            SettingsError6::BadLinkAddress { interface } => write!(
                f,
                "interface {interface}: the link-address must be a global unicast address or ::"
            ),
            SettingsError6::BadServer { address } => write!(
                f,
                "server {address}: not a usable destination (a multicast or link-local one needs an interface; port not 0)"
            ),
            SettingsError6::BadRelayId => write!(
                f,
                "relay-id: a DUID is {DUID_MIN_LEN} to {DUID_MAX_LEN} octets"
            ),
        }
    }
}

impl std::error::Error for SettingsError6 {}

/// A global unicast address in the sense of RFC 8415 §19.1: one a server can match to a link
/// (unique local addresses included).
pub(crate) fn is_global_unicast(a: &Ipv6Addr) -> bool {
    !(a.is_unspecified() || a.is_loopback() || a.is_multicast() || a.is_unicast_link_local())
}

impl Settings6 {
    /// Refuses settings the engine could not run with; the first problem found.
    pub fn check(&self) -> Result<(), SettingsError6> {
        if self.interfaces.is_empty() {
            return Err(SettingsError6::NoInterfaces);
        }
        if self.servers.is_empty() {
            return Err(SettingsError6::NoServers);
        }
        for (n, d) in self.interfaces.iter().enumerate() {
            let interface = || Arc::clone(&d.name);
            let earlier = &self.interfaces[..n];
            if earlier.iter().any(|e| e.index == d.index) {
                return Err(SettingsError6::DuplicateIndex(d.index));
            }
            if d.interface_id.is_empty() || d.interface_id.len() > MAX_ID_LEN {
                return Err(SettingsError6::BadInterfaceId {
                    interface: interface(),
                });
            }
            if earlier.iter().any(|e| e.interface_id == d.interface_id) {
                return Err(SettingsError6::DuplicateInterfaceId {
                    interface: interface(),
                });
            }
            if d.remote_id
                .as_ref()
                .is_some_and(|r| r.remote_id.len() + 4 > MAX_ID_LEN)
            {
                return Err(SettingsError6::BadRemoteId {
                    interface: interface(),
                });
            }
            if d.link_address.is_unspecified() {
                continue;
            }
            if !is_global_unicast(&d.link_address) {
                return Err(SettingsError6::BadLinkAddress {
                    interface: interface(),
                });
            } else if earlier.iter().any(|e| e.link_address == d.link_address) {
                return Err(SettingsError6::DuplicateLinkAddress {
                    interface: interface(),
                });
            }
        }
        for s in &self.servers {
            let scoped = s.address.is_multicast() || s.address.is_unicast_link_local();
            if s.address.is_unspecified() || s.port == 0 || (scoped && s.interface.is_none()) {
                return Err(SettingsError6::BadServer { address: s.address });
            }
        }
        if let Some(duid) = &self.relay_id {
            if !(DUID_MIN_LEN..=DUID_MAX_LEN).contains(&duid.buffer_len()) {
                return Err(SettingsError6::BadRelayId);
            }
        }
        Ok(())
    }
}
