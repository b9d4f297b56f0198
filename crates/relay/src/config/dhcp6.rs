//! `[relay.dhcp6]`: servers (unicast, or a multicast group out of an upstream interface), the
//! Remote-Id's enterprise number and template, the downstream interfaces. What only the running
//! host knows (interface indexes, an interface's global address) is filled in at start by
//! [`Dhcp6::settings`]; the same function, with made-up indexes, lets the config check run
//! [`Settings6::check`] and name the key of what it refuses.

use super::{interface_name, remote_id, schema, RemoteId};
use crate::v6::{Downstream6, RemoteId6, Server6, Settings6, SettingsError6};
use lessor_config::{Finding, KeyPath};
use lessor_wire::v6::Duid;
use std::net::{Ipv6Addr, SocketAddrV6};
use std::sync::Arc;

/// `[relay.dhcp6]`, resolved.
#[derive(Debug, Clone)]
pub struct Dhcp6 {
    pub servers: Vec<Upstream6>,
    /// The port the relay listens on (547 unless a test says otherwise).
    pub port: u16,
    /// The enterprise number of every Remote-Id (0 when no interface sends one).
    pub enterprise_number: u32,
    pub interfaces: Vec<Interface6>,
}

/// One place RELAY-FORWs go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Upstream6 {
    pub address: Ipv6Addr,
    pub port: u16,
    /// The upstream interface: for a multicast group or a link-local address only.
    pub interface: Option<String>,
}

/// One downstream interface.
#[derive(Debug, Clone)]
pub struct Interface6 {
    pub name: String,
    /// Interface-ID (option 18): the name's octets unless configured.
    pub interface_id: Vec<u8>,
    /// Configured link-address; none: the interface's first global address at start, else `::`.
    pub link_address: Option<Ipv6Addr>,
    /// Remote-Id (option 37) template, if any.
    pub remote_id: Option<RemoteId>,
}

/// What the host tells of one interface name: its index and first global IPv6 address.
#[derive(Debug, Clone, Copy)]
pub struct Resolved {
    pub index: u32,
    pub global: Option<Ipv6Addr>,
}

impl Dhcp6 {
    /// The engine's settings on this host (`resolve` looks an interface name up; its error is
    /// returned with the name), Remote-Ids expanded for `hostname`.
    pub fn settings(
        &self,
        hostname: &str,
        relay_id: Option<Duid>,
        mut resolve: impl FnMut(&str) -> Result<Resolved, String>,
    ) -> Result<Settings6, (String, String)> {
        let mut lookup = |name: &str| resolve(name).map_err(|e| (name.to_owned(), e));
        let mut interfaces = Vec::with_capacity(self.interfaces.len());
        for i in &self.interfaces {
            let found = lookup(&i.name)?;
            interfaces.push(Downstream6 {
                name: Arc::from(i.name.as_str()),
                index: found.index,
                link_address: i
                    .link_address
                    .or(found.global)
                    .unwrap_or(Ipv6Addr::UNSPECIFIED),
                interface_id: i.interface_id.clone(),
                remote_id: i.remote_id.as_ref().map(|r| RemoteId6 {
                    enterprise_number: self.enterprise_number,
                    remote_id: r.expand(hostname, &i.name),
                }),
            });
        }
        let mut servers = Vec::with_capacity(self.servers.len());
        for s in &self.servers {
            let interface = match &s.interface {
                Some(name) => Some(lookup(name)?.index),
                None => None,
            };
            servers.push(Server6 {
                address: s.address,
                port: s.port,
                interface,
            });
        }
        Ok(Settings6 {
            interfaces,
            servers,
            relay_id,
            ..Settings6::default()
        })
    }
}

/// A server as written: `ADDRESS`, `[ADDRESS]:PORT`, with `%INTERFACE` after a multicast or
/// link-local address.
fn upstream(text: &str) -> Result<Upstream6, String> {
    let (host, port) = match text.strip_prefix('[') {
        Some(rest) => {
            let (host, port) = rest
                .split_once("]:")
                .ok_or_else(|| format!("{text:?}: write [ADDRESS]:PORT"))?;
            let port = port
                .parse::<u16>()
                .map_err(|_| format!("{text:?}: {port:?} is not a port"))?;
            (host, port)
        }
        None => (text, crate::v6::AGENT_PORT),
    };
    let (address, interface) = match host.split_once('%') {
        Some((a, i)) => (a, Some(i.to_owned())),
        None => (host, None),
    };
    let address: Ipv6Addr = address.parse().map_err(|_| {
        format!("{text:?} is not an IPv6 address, [address]:port, or group%interface")
    })?;
    let scoped = address.is_multicast() || address.is_unicast_link_local();
    if address.is_unspecified() {
        return Err(format!("{text}: not an address to send to"));
    }
    if address.to_ipv4_mapped().is_some() {
        return Err(format!(
            "{text}: an IPv4-mapped address; IPv4 servers go in [relay.dhcp4]"
        ));
    }
    if port == 0 {
        return Err(format!("{text}: port 0 is not a port to send to"));
    }
    match (&interface, scoped) {
        (None, true) => Err(format!(
            "{text}: a multicast or link-local server needs its upstream interface: \"{address}%eth0\""
        )),
        (Some(_), false) => Err(format!(
            "{text}: only a multicast or link-local server takes an interface"
        )),
        (Some(i), true) if !super::is_interface_name(i) => {
            Err(format!("{text}: {i:?} is not an interface name"))
        }
        _ => Ok(Upstream6 {
            address,
            port,
            interface,
        }),
    }
}

/// An Interface-ID as written: text, or hex after `0x` (as the server's `interface-ids`).
fn interface_id(text: &str) -> Result<Vec<u8>, String> {
    match text.strip_prefix("0x") {
        Some(hex) => lessor_wire::hex::parse(hex).map_err(|e| format!("{text:?}: {e}")),
        None => Ok(text.as_bytes().to_vec()),
    }
}

/// Checks `[relay.dhcp6]` at `at`; `relay_id` (the configured one, if any) at `relay_id_at`.
pub(super) fn dhcp6(
    d: &schema::Dhcp6,
    at: &KeyPath,
    relay_id: Option<&[u8]>,
    relay_id_at: &KeyPath,
    out: &mut Vec<Finding>,
) -> Dhcp6 {
    let before = out.len();
    if d.servers.is_empty() {
        out.push((at.key("servers"), "name at least one server".into()));
    }
    let mut servers = Vec::new();
    for (i, s) in d.servers.iter().enumerate() {
        match upstream(s) {
            Ok(u) => servers.push(u),
            Err(e) => out.push((at.key("servers").index(i), e)),
        }
    }
    if d.port == 0 {
        out.push((at.key("port"), "port 0 is not a port to listen on".into()));
    }
    let template = remote_id(d.remote_id.as_deref(), &at.key("remote-id"), out);
    if d.interface.is_empty() {
        out.push((
            at.key("interface"),
            "name at least one downstream interface ([[relay.dhcp6.interface]])".into(),
        ));
    }
    let mut interfaces: Vec<Interface6> = Vec::new();
    for (i, raw) in d.interface.iter().enumerate() {
        let here = at.key("interface").index(i);
        interface_name(
            &raw.name,
            interfaces.iter().map(|o| o.name.as_str()),
            &here.key("name"),
            out,
        );
        let id = match raw.interface_id.as_deref().map(interface_id) {
            None => raw.name.as_bytes().to_vec(),
            Some(Ok(id)) => id,
            Some(Err(e)) => {
                out.push((here.key("interface-id"), e));
                raw.name.as_bytes().to_vec()
            }
        };
        let remote = match &raw.remote_id {
            Some(t) => remote_id(Some(t), &here.key("remote-id"), out),
            None => template.clone(),
        };
        interfaces.push(Interface6 {
            name: raw.name.clone(),
            interface_id: id,
            link_address: raw.link_address,
            remote_id: remote,
        });
    }
    let sends_remote_id = interfaces.iter().any(|i| i.remote_id.is_some());
    if sends_remote_id && d.enterprise_number.is_none() {
        out.push((
            at.key("enterprise-number"),
            "a Remote-Id carries the vendor's enterprise number (RFC 4649 §3): set it".into(),
        ));
    }
    let config = Dhcp6 {
        servers,
        port: d.port,
        enterprise_number: d.enterprise_number.unwrap_or(0),
        interfaces,
    };
    if out.len() == before {
        check_settings(&config, relay_id, at, relay_id_at, out);
    }
    config
}

/// Runs the engine's own check on the settings this section makes on a made-up host (each
/// interface name its own index, no global address, the longest host name), naming the key.
fn check_settings(
    d: &Dhcp6,
    relay_id: Option<&[u8]>,
    at: &KeyPath,
    relay_id_at: &KeyPath,
    out: &mut Vec<Finding>,
) {
    let mut names: Vec<&str> = d.interfaces.iter().map(|i| i.name.as_str()).collect();
    names.extend(d.servers.iter().filter_map(|s| s.interface.as_deref()));
    let duid = relay_id.and_then(|id| Duid::parse(id).ok());
    let settings = d.settings(&"h".repeat(64), duid, |name| {
        let index = names.iter().position(|n| *n == name).unwrap_or(0) as u32 + 1;
        Ok(Resolved {
            index,
            global: None,
        })
    });
    let Ok(settings) = settings else { return };
    let Err(e) = settings.check() else { return };
    let interface = |name: &str, key: &str| {
        let i = d
            .interfaces
            .iter()
            .position(|i| i.name == name)
            .unwrap_or(0);
        at.key("interface").index(i).key(key)
    };
    let key = match &e {
        SettingsError6::NoInterfaces => at.key("interface"),
        SettingsError6::NoServers => at.key("servers"),
        SettingsError6::DuplicateIndex(_) => at.key("interface"),
        SettingsError6::DuplicateInterfaceId { interface: n }
        | SettingsError6::BadInterfaceId { interface: n } => interface(n, "interface-id"),
        SettingsError6::DuplicateLinkAddress { interface: n }
        | SettingsError6::BadLinkAddress { interface: n } => interface(n, "link-address"),
        SettingsError6::BadRemoteId { interface: n } => interface(n, "remote-id"),
        SettingsError6::BadServer { address } => {
            let i = d.servers.iter().position(|s| s.address == *address);
            at.key("servers").index(i.unwrap_or(0))
        }
        SettingsError6::BadRelayId => relay_id_at.clone(),
    };
    out.push((key, e.to_string()));
}

impl Upstream6 {
    /// As written in the readiness line and by `lessor check`.
    pub fn describe(&self) -> String {
        match &self.interface {
            Some(i) => format!("[{}%{i}]:{}", self.address, self.port),
            None => SocketAddrV6::new(self.address, self.port, 0, 0).to_string(),
        }
    }
}
