//! The DHCPv4 relay engine, sans I/O: `(datagram, arrival interface, source, now, table) ->
//! datagrams to send`, with its counters. RFC 1542 §4 (BOOTP relaying), RFC 2131 §4.1 (where a
//! reply goes), RFC 3046 (option 82), RFC 6925 (relay-id); the points they leave open are
//! docs/protocol.md decision 33.
//!
//! - A BOOTREQUEST from a downstream interface: dropped above `max-hops`, or when its giaddr is
//!   one of ours (a loop); hops + 1; giaddr 0 becomes the interface's giaddr and option 82
//!   (circuit-id, remote-id, relay-id) goes in before END, unless the message already has one:
//!   from a trusted interface that one is kept (never two), from an untrusted one the message is
//!   dropped (RFC 3046 §2.1). A request another relay already relayed (giaddr not ours) passes
//!   with hops + 1 only. It goes to every server.
//! - A BOOTREPLY from a server to one of our giaddrs: option 82 is ours when it carries our
//!   relay-id (or no relay-id and one of our circuit-ids); ours is taken out and names the
//!   interface; a foreign one is dropped, except on a trusted interface (the bridge that put it
//!   there takes it out); a reply without option 82 goes to the interface of its giaddr. Then
//!   broadcast when the client asked or cannot take unicast, else unicast to ciaddr, else to
//!   yiaddr at chaddr (RFC 2131 §4.1).
//! - Gleaning ([`crate::location`]): a DHCPACK with yiaddr merges where the client is; a DHCPNAK
//!   removes the client's entries on that interface; a DHCPRELEASE or DHCPDECLINE relayed from
//!   the client removes the address if it is that client's.

mod counters;
mod rewrite;
#[cfg(test)]
mod tests;

pub use counters::{Counters4, Drop4};

use crate::location::{bound4, Hardware, Location, LocationTable, Origin};
use lessor_net::{Destination, Outgoing};
use lessor_wire::v4::{
    code, MessageType, Packet, RelayAgentInformation, BOOTREPLY, BOOTREQUEST, FLAG_BROADCAST,
};
use std::borrow::Cow;
use std::net::{IpAddr, Ipv4Addr, SocketAddr, SocketAddrV4};
use std::sync::Arc;

/// The largest message the relay sends: an Ethernet MTU less the IPv4 and UDP headers. A request
/// that option 82 would make larger is forwarded without it (RFC 3046 §2.1).
pub const MAX_MESSAGE: usize = 1500 - 20 - 8;

/// One downstream interface as the engine sees it (the shell resolves names and giaddrs).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Downstream {
    pub name: Arc<str>,
    /// ifindex, as the shell's sockets report arrivals.
    pub index: u32,
    pub giaddr: Ipv4Addr,
    pub circuit_id: Vec<u8>,
    pub remote_id: Option<Vec<u8>>,
    pub trusted: bool,
}

/// What the engine needs to know.
#[derive(Debug, Clone)]
pub struct Settings {
    pub servers: Vec<SocketAddrV4>,
    pub max_hops: u8,
    /// Where clients are answered (the relay's port + 1: 68).
    pub client_port: u16,
    pub relay_id: Vec<u8>,
    pub interfaces: Vec<Downstream>,
}

/// The DHCPv4 relay engine (see the module docs).
#[derive(Debug)]
pub struct Engine4 {
    settings: Settings,
    counters: Counters4,
}

impl Engine4 {
    pub fn new(settings: Settings) -> Engine4 {
        Engine4 {
            settings,
            counters: Counters4::default(),
        }
    }

    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    pub fn counters(&self) -> &Counters4 {
        &self.counters
    }

    /// Handles one datagram that arrived on interface `arrival` (ifindex, when pktinfo told it)
    /// from `source` at wall-clock `now`; what to send is appended to `out`. Every drop is
    /// counted by its reason and returned.
    pub fn handle(
        &mut self,
        datagram: &[u8],
        arrival: Option<u32>,
        source: SocketAddr,
        now: u64,
        table: &mut LocationTable,
        out: &mut Vec<Outgoing>,
    ) -> Result<(), Drop4> {
        let result = self.route(datagram, arrival, source, now, table, out);
        if let Err(reason) = result {
            self.counters.drop(reason);
        }
        result
    }

    fn route(
        &mut self,
        datagram: &[u8],
        arrival: Option<u32>,
        source: SocketAddr,
        now: u64,
        table: &mut LocationTable,
        out: &mut Vec<Outgoing>,
    ) -> Result<(), Drop4> {
        let packet = Packet::new_checked(datagram).map_err(Drop4::Malformed)?;
        // A broken option list is not relayed: a server would not read it either, and the
        // edits below need to know where options end.
        for option in packet.options() {
            option.map_err(Drop4::Malformed)?;
        }
        match packet.op() {
            BOOTREQUEST => self.request(&packet, arrival, table, out),
            BOOTREPLY => self.reply(&packet, arrival, source, now, table, out),
            _ => Err(Drop4::NotBootp),
        }
    }

    fn request(
        &mut self,
        packet: &Packet<&[u8]>,
        arrival: Option<u32>,
        table: &mut LocationTable,
        out: &mut Vec<Outgoing>,
    ) -> Result<(), Drop4> {
        let Engine4 { settings, counters } = self;
        let downstream = arrival
            .and_then(|i| settings.interfaces.iter().find(|d| d.index == i))
            .ok_or(Drop4::NotDownstream)?;
        if packet.hops() > settings.max_hops {
            return Err(Drop4::HopsExceeded);
        }
        let giaddr = packet.giaddr();
        if settings.interfaces.iter().any(|d| d.giaddr == giaddr) {
            return Err(Drop4::Loop);
        }
        let has_82 = packet
            .option(code::RELAY_AGENT_INFORMATION)
            .map_err(Drop4::Malformed)?
            .is_some();
        let mut message = packet.as_bytes().to_vec();
        let mut relayed = Packet::new_unchecked(&mut message[..]);
        relayed.set_hops(packet.hops().saturating_add(1));
        if giaddr.is_unspecified() {
            relayed.set_giaddr(downstream.giaddr);
            if has_82 && !downstream.trusted {
                return Err(Drop4::Option82Untrusted);
            }
            if !has_82 {
                let value = option82(&settings.relay_id, downstream)?;
                match rewrite::insert_option82(&message, &value) {
                    Ok(with) if with.len() <= MAX_MESSAGE => message = with,
                    Ok(_) => counters.too_long_for_option82 += 1,
                    Err(e) => return Err(Drop4::Malformed(e)),
                }
            }
        }
        if glean_from_client(packet, downstream, table) {
            counters.removed += 1;
        }
        for &server in &settings.servers {
            out.push(Outgoing {
                payload: message.clone(),
                destination: Destination::Relay(SocketAddr::V4(server)),
            });
        }
        counters.requests_forwarded += 1;
        Ok(())
    }

    fn reply(
        &mut self,
        packet: &Packet<&[u8]>,
        arrival: Option<u32>,
        source: SocketAddr,
        now: u64,
        table: &mut LocationTable,
        out: &mut Vec<Outgoing>,
    ) -> Result<(), Drop4> {
        let settings = &self.settings;
        // Servers are upstream: a reply arriving on a downstream interface is a client
        // pretending, and would poison the table.
        if arrival.is_some_and(|i| settings.interfaces.iter().any(|d| d.index == i)) {
            return Err(Drop4::ReplyFromDownstream);
        }
        let from_server = match source.ip() {
            IpAddr::V4(a) => settings.servers.iter().any(|s| *s.ip() == a),
            IpAddr::V6(_) => false,
        };
        if !from_server {
            return Err(Drop4::NotFromServer);
        }
        let giaddr = packet.giaddr();
        let mut by_giaddr = settings.interfaces.iter().filter(|d| d.giaddr == giaddr);
        let first = by_giaddr.next().ok_or(Drop4::NotOurGiaddr)?;
        let only = by_giaddr.next().is_none().then_some(first);
        let info = packet.relay_agent_information().map_err(Drop4::Malformed)?;
        let (downstream, strip) = match &info {
            None => (only.ok_or(Drop4::NoInterface)?, false),
            Some(info) => {
                let relay_id = info.relay_id().map_err(Drop4::Malformed)?;
                let circuit = info.circuit_id().map_err(Drop4::Malformed)?;
                let by_circuit =
                    circuit.and_then(|c| settings.interfaces.iter().find(|d| d.circuit_id == c));
                match relay_id {
                    Some(id) if id == settings.relay_id => {
                        (by_circuit.or(only).ok_or(Drop4::NoInterface)?, true)
                    }
                    None if by_circuit.is_some() => (by_circuit.ok_or(Drop4::NoInterface)?, true),
                    // Not ours: the trusted bridge that inserted it takes it out.
                    _ => match only {
                        Some(d) if d.trusted => (d, false),
                        _ => return Err(Drop4::NotOurOption82),
                    },
                }
            }
        };
        let message = if strip {
            rewrite::strip_option82(packet.as_bytes()).map_err(Drop4::Malformed)?
        } else {
            packet.as_bytes().to_vec()
        };
        let kind = packet.message_type().ok().flatten();
        let mut downstream = Cow::Borrowed(downstream);
        if let (false, Some(info)) = (strip, &info) {
            // A trusted bridge's option 82: the server keeps its circuit-id and remote-id, so
            // the entry does too (recovery's answers then agree with what was gleaned).
            let downstream = downstream.to_mut();
            downstream.circuit_id = info
                .circuit_id()
                .ok()
                .flatten()
                .unwrap_or_default()
                .to_vec();
            downstream.remote_id = info.remote_id().ok().flatten().map(<[u8]>::to_vec);
        }
        glean_from_server(packet, kind, &downstream, now, table, &mut self.counters);
        let port = self.settings.client_port;
        let ciaddr = packet.ciaddr();
        let yiaddr = packet.yiaddr();
        let destination = if packet.flags() & FLAG_BROADCAST != 0
            || kind == Some(MessageType::Nak)
            || (ciaddr.is_unspecified() && yiaddr.is_unspecified())
        {
            Destination::Broadcast {
                interface_index: downstream.index,
                port,
            }
        } else if !ciaddr.is_unspecified() {
            Destination::Client(SocketAddr::V4(SocketAddrV4::new(ciaddr, port)))
        } else {
            Destination::Hardware {
                interface_index: downstream.index,
                address: yiaddr,
                port,
                htype: packet.htype(),
                hlen: packet.hlen(),
                chaddr: packet.chaddr(),
            }
        };
        out.push(Outgoing {
            payload: message,
            destination,
        });
        self.counters.replies_forwarded += 1;
        Ok(())
    }
}

/// Our option 82 for a request from `downstream`: circuit-id, remote-id, relay-id.
fn option82(relay_id: &[u8], downstream: &Downstream) -> Result<Vec<u8>, Drop4> {
    let subs = [
        Some((code::relay::AGENT_CIRCUIT_ID, &downstream.circuit_id[..])),
        downstream
            .remote_id
            .as_deref()
            .map(|r| (code::relay::AGENT_REMOTE_ID, r)),
        Some((code::relay::RELAY_ID, relay_id)),
    ];
    RelayAgentInformation::from_sub_options(subs.into_iter().flatten())
        .map(|i| i.as_bytes().to_vec())
        .map_err(Drop4::Malformed)
}

/// A DHCPRELEASE or DHCPDECLINE from the client: its address is no longer bound. Whether an
/// entry went.
fn glean_from_client(
    packet: &Packet<&[u8]>,
    downstream: &Downstream,
    table: &mut LocationTable,
) -> bool {
    let address = match packet.message_type() {
        Ok(Some(MessageType::Release)) => packet.ciaddr(),
        Ok(Some(MessageType::Decline)) => match packet.requested_ip() {
            Ok(Some(a)) => a,
            _ => return false,
        },
        _ => return false,
    };
    let client_id = packet.client_identifier().ok().flatten();
    let hardware = packet.client_hw_addr();
    table
        .remove_if(bound4(address), |l| {
            l.interface.as_deref() == Some(&*downstream.name)
                && (l.hardware.as_ref().is_some_and(|h| h.address == hardware)
                    || client_id.is_some() && l.client_id.as_deref() == client_id.as_deref())
        })
        .is_some()
}

/// A DHCPACK binds yiaddr to the client behind `downstream`; a DHCPNAK unbinds the client.
fn glean_from_server(
    packet: &Packet<&[u8]>,
    kind: Option<MessageType>,
    downstream: &Downstream,
    now: u64,
    table: &mut LocationTable,
    counters: &mut Counters4,
) {
    let hardware = Hardware {
        htype: packet.htype(),
        address: packet.client_hw_addr().to_vec(),
    };
    match kind {
        Some(MessageType::Ack) if !packet.yiaddr().is_unspecified() => {
            // 0xffffffff is an infinite lease (RFC 2132 §9.2); no option 51 (an ACK to an
            // INFORM has no yiaddr, so this is a server's omission) is taken as infinite too.
            let expires = match packet.lease_time() {
                Ok(Some(t)) if t != u32::MAX => now.saturating_add(u64::from(t)),
                _ => u64::MAX,
            };
            table.merge(Location {
                bound: bound4(packet.yiaddr()),
                hardware: Some(hardware),
                client_id: packet
                    .client_identifier()
                    .ok()
                    .flatten()
                    .map(|c| c.to_vec()),
                interface: Some(Arc::clone(&downstream.name)),
                circuit_id: Some(downstream.circuit_id.clone()).filter(|c| !c.is_empty()),
                remote_id: downstream.remote_id.clone(),
                expires,
                cltt: Some(now),
                origin: Origin::Gleaned,
            });
            counters.gleaned += 1;
        }
        Some(MessageType::Nak) => {
            let gone = table.remove_client(&downstream.name, &hardware);
            counters.removed += gone.len() as u64;
        }
        _ => {}
    }
}
