//! The DHCPv6 half of the shell: the engine's settings resolved on this host, its sockets, and
//! how a [`Transmit6`] leaves.
//!
//! Sockets (the relay's port, 547 by default): one bound to the wildcard address on each
//! downstream interface (SO_BINDTODEVICE), joined to All_DHCP_Relay_Agents_and_Servers (ff02::1:2)
//! there, where clients' multicast arrives; upstream, one bound to the source address the kernel
//! picks for each unicast server (where its RELAY-REPLs come back: a server answers the
//! RELAY-FORW's source), and one on each interface a multicast or link-local server is named
//! with. A RELAY-FORW to a unicast server leaves from the socket bound to that source, so the
//! reply comes to a socket of ours whatever the routing; everything sent out of an interface
//! (clients, relays below, groups) leaves from that interface's socket.

use super::RunError;
use crate::config::{Dhcp6, Resolved};
use crate::v6::{
    is_global_unicast, Relay6, Settings6, Transmit6, ALL_DHCP_RELAY_AGENTS_AND_SERVERS,
};
use lessor_net::udp::{self, Family, ServerSocket, Sockets, V6Options};
use lessor_net::Interface;
use lessor_wire::v6::Duid;
use std::io;
use std::net::{IpAddr, Ipv6Addr, SocketAddr, SocketAddrV6, UdpSocket};
use std::sync::atomic::Ordering;
use std::sync::Arc;

/// Hop limit of RELAY-FORWs multicast to All_DHCP_Servers (ff05::1:3): the kernel's default, 1,
/// would keep them on the upstream link, where a site-scoped group is no use.
const MULTICAST_HOPS: u32 = 32;

/// An interface's index and first global address, for [`Dhcp6::settings`].
fn resolve(name: &str) -> Result<Resolved, String> {
    let found = Interface::by_name(name)
        .map_err(|e| e.to_string())?
        .ok_or_else(|| "no such interface".to_owned())?;
    Ok(Resolved {
        index: found.index,
        global: found.v6.iter().map(|n| n.addr()).find(is_global_unicast),
    })
}

/// The address the kernel sends from to reach `server` (a connected UDP socket's own address:
/// nothing is sent).
fn source_for(server: SocketAddrV6) -> io::Result<Ipv6Addr> {
    let probe = UdpSocket::bind(SocketAddrV6::new(Ipv6Addr::UNSPECIFIED, 0, 0, 0))?;
    probe.connect(server)?;
    match probe.local_addr()? {
        SocketAddr::V6(a) => Ok(*a.ip()),
        SocketAddr::V4(_) => Err(io::Error::other("not an IPv6 source")),
    }
}

/// The DHCPv6 relay, opened: its engine, and its sockets (downstream, upstream).
pub(super) struct Opened6 {
    pub engine: Relay6,
    pub downstream: Sockets,
    pub upstream: Sockets,
    pub sender: Arc<Sender6>,
}

/// Resolves `[relay.dhcp6]` on this host and opens its sockets, logging one line per socket.
pub(super) fn open(d: &Dhcp6, hostname: &str, relay_id: &[u8]) -> Result<Opened6, RunError> {
    let duid = Duid::parse(relay_id).ok();
    let settings: Settings6 = d
        .settings(hostname, duid, resolve)
        .map_err(|(name, reason)| RunError::Interface { name, reason })?;
    let engine = Relay6::new(settings).map_err(|e| RunError::Settings(e.to_string()))?;
    let st = engine.settings();

    let names: Vec<String> = st.interfaces.iter().map(|i| i.name.to_string()).collect();
    let downstream = Sockets::open(
        Family::V6,
        &[],
        &names,
        d.port,
        &V6Options {
            groups: vec![ALL_DHCP_RELAY_AGENTS_AND_SERVERS],
            ..V6Options::default()
        },
    )
    .map_err(RunError::Open)?;

    let mut sources: Vec<(Ipv6Addr, Ipv6Addr)> = Vec::new();
    let mut listen: Vec<IpAddr> = Vec::new();
    let mut up_names: Vec<String> = Vec::new();
    for (s, conf) in st.servers.iter().zip(&d.servers) {
        match &conf.interface {
            Some(name) => {
                if !names.contains(name) && !up_names.contains(name) {
                    up_names.push(name.clone());
                }
            }
            None => {
                let to = SocketAddrV6::new(s.address, s.port, 0, 0);
                let from = source_for(to).map_err(|e| RunError::Route {
                    server: conf.describe(),
                    reason: e.to_string(),
                })?;
                sources.push((s.address, from));
                if !listen.contains(&IpAddr::V6(from)) {
                    listen.push(IpAddr::V6(from));
                }
            }
        }
    }
    let upstream = Sockets::open(
        Family::V6,
        &listen,
        &up_names,
        d.port,
        &V6Options {
            multicast_hops: Some(MULTICAST_HOPS),
            ..V6Options::default()
        },
    )
    .map_err(RunError::Open)?;
    for s in downstream.iter().chain(upstream.iter()) {
        tracing::info!(socket = %s.describe(), "dhcp6: listening on {}", s.describe());
    }
    let sockets: Vec<Arc<ServerSocket>> =
        downstream.iter().chain(upstream.iter()).cloned().collect();
    let sender = Arc::new(Sender6 {
        sockets,
        sources,
        counters: Arc::new(udp::Counters::default()),
    });
    Ok(Opened6 {
        engine,
        downstream,
        upstream,
        sender,
    })
}

/// Sends [`Transmit6`]s through the relay's own sockets (so from its port).
#[derive(Debug)]
pub(super) struct Sender6 {
    sockets: Vec<Arc<ServerSocket>>,
    /// Each unicast server and the address its RELAY-FORWs leave from.
    sources: Vec<(Ipv6Addr, Ipv6Addr)>,
    pub counters: Arc<udp::Counters>,
}

impl Sender6 {
    /// The socket `t` leaves from: out of its interface, the interface's own socket (a listen
    /// socket whose address is there, else); to a unicast server, the socket bound to the source
    /// the kernel picked for it.
    fn socket(&self, t: &Transmit6) -> Option<&ServerSocket> {
        let found = match t.interface {
            Some(index) => {
                let on = |s: &&Arc<ServerSocket>| s.interface_index() == Some(index);
                let bound = self.sockets.iter().filter(|s| !s.is_listen()).find(on);
                bound.or_else(|| self.sockets.iter().find(on))
            }
            None => {
                let from = self
                    .sources
                    .iter()
                    .find(|(server, _)| server == t.destination.ip())
                    .map(|(_, from)| IpAddr::V6(*from));
                self.sockets
                    .iter()
                    .find(|s| s.is_listen() && Some(s.local_addr().ip()) == from)
            }
        };
        found.map(|s| &**s)
    }

    /// Sends each of `out`, emptying it; failures are counted (the client retransmits).
    pub(super) fn send_all(&self, out: &mut Vec<Transmit6>) {
        for t in out.drain(..) {
            let c = &self.counters;
            let sent = match t.interface {
                None => &c.sent_relay,
                Some(_) if t.destination.ip().is_multicast() => &c.sent_multicast,
                Some(_) => &c.sent_client,
            };
            let counter = match self.socket(&t) {
                Some(s) => match s.socket().send_to(&t.payload, t.destination) {
                    Ok(_) => sent,
                    Err(_) => &c.send_errors,
                },
                None => &c.send_errors,
            };
            counter.fetch_add(1, Ordering::Relaxed);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_source_for_a_server_is_the_kernels_choice() {
        let server = SocketAddrV6::new(Ipv6Addr::LOCALHOST, 547, 0, 0);
        assert_eq!(source_for(server).unwrap(), Ipv6Addr::LOCALHOST);
    }

    #[test]
    fn lo_resolves_without_a_global_address() {
        let lo = resolve("lo").unwrap();
        assert!(lo.index > 0);
        assert_eq!(lo.global, None, "::1 is not a link-address");
        assert_eq!(resolve("lsr-none0").unwrap_err(), "no such interface");
    }
}
