//! The DHCPv6 relay agent engine (RFC 8415 §19), sans-IO: a datagram, where it came from and
//! the time in; what to send, out.
//!
//! Which way a datagram goes is decided by its arrival interface: a downstream interface's
//! datagrams go up (wrapped in a RELAY-FORW of ours), a RELAY-REPL arriving on any other comes
//! down (unwrapped one level). The message relayed is carried byte for byte in both directions,
//! never re-encoded (RFC 8415 §19.2: relays MUST NOT modify it), so a client option this codec
//! does not know, or cannot parse, still goes through; only gleaning parses a Reply whole.

use std::net::{Ipv6Addr, SocketAddrV6};

use ipnet::Ipv6Net;

use lessor_net::Now;
use lessor_wire::v6::{
    find_option, DhcpOption, MessageType, Packet, RelayMessage, Repr, OPTION_INTERFACE_ID,
    OPTION_RELAY_MSG,
};

use super::counters::{Counters6, Drop6};
use super::glean::{self, Where};
use super::pending::Pending;
use super::settings::{is_global_unicast, Settings6, SettingsError6};
use super::{AGENT_PORT, CLIENT_PORT, HOP_COUNT_LIMIT};
use crate::gleans::Gleans;
use crate::location::LocationTable;

/// One datagram to send, from port 547.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transmit6 {
    /// Address and port; a link-local address carries its interface as scope id.
    pub destination: SocketAddrV6,
    /// The interface to send it out of (multicast, link-local, and every datagram to a
    /// downstream client or relay); `None`: wherever the routing table says.
    pub interface: Option<u32>,
    pub payload: Vec<u8>,
}

/// The engine (see the module docs).
#[derive(Debug, Clone)]
pub struct Relay6 {
    settings: Settings6,
    /// Every server is unicast: a RELAY-REPL must come from one of them.
    unicast_servers_only: bool,
    pending: Pending,
    counters: Counters6,
    /// What gleaning merged since [`Relay6::take_gleaned`], when someone asked to be told (the
    /// on-demand lookups drop their negative answers about it).
    gleaned: Option<Gleans<Ipv6Net>>,
}

/// Whether a message type is one only servers send: never relayed up.
fn from_server(t: MessageType) -> bool {
    matches!(
        t,
        MessageType::Advertise
            | MessageType::Reply
            | MessageType::Reconfigure
            | MessageType::RelayRepl
            | MessageType::LeasequeryReply
            | MessageType::LeasequeryDone
            | MessageType::LeasequeryData
    )
}

/// The message at the end of a relay chain, as octets: follows each relay message's first
/// RELAY_MSG, at most as many levels as relays may nest. `None` if a level does not parse or
/// carries no message.
fn innermost(mut bytes: &[u8]) -> Option<&[u8]> {
    for _ in 0..=HOP_COUNT_LIMIT + 1 {
        let packet = Packet::new_checked(bytes).ok()?;
        if !packet.is_relay() {
            return Some(bytes);
        }
        let area = bytes.get(packet.header_len()..)?;
        bytes = find_option(area, OPTION_RELAY_MSG).ok()??.data;
    }
    None
}

/// The interface a scoped (link-local unicast or link-local multicast) destination needs as
/// scope id; 0 for a global one.
fn scope_of(address: &Ipv6Addr, interface: Option<u32>) -> u32 {
    let link_scoped = address.is_unicast_link_local()
        || (address.is_multicast() && address.segments()[0] & 0xf == 2);
    if link_scoped {
        interface.unwrap_or(0)
    } else {
        0
    }
}

impl Relay6 {
    /// An engine for `settings`, once [`Settings6::check`] accepts them.
    pub fn new(settings: Settings6) -> Result<Relay6, SettingsError6> {
        settings.check()?;
        Ok(Relay6 {
            unicast_servers_only: settings.servers.iter().all(|s| s.is_unicast()),
            settings,
            pending: Pending::default(),
            counters: Counters6::default(),
            gleaned: None,
        })
    }

    pub fn settings(&self) -> &Settings6 {
        &self.settings
    }

    pub fn counters(&self) -> &Counters6 {
        &self.counters
    }

    /// Keeps what gleaning merges from now on, for [`Relay6::take_gleaned`].
    pub fn report_gleaned(&mut self) {
        self.gleaned.get_or_insert_with(Gleans::default);
    }

    /// The addresses (/128) and prefixes gleaning merged since the last call (none unless
    /// [`Relay6::report_gleaned`] was called); `None` when there were more than
    /// [`crate::gleans::MAX_GLEANS`].
    pub fn take_gleaned(&mut self) -> Option<Vec<Ipv6Net>> {
        self.gleaned.as_mut().map_or(Some(Vec::new()), Gleans::take)
    }

    /// RELEASEs and DECLINEs waiting for their Reply.
    pub fn pending(&self) -> usize {
        self.pending.len()
    }

    /// Handles one datagram that arrived on the interface with index `interface` from `source`:
    /// what to send (nothing if it was dropped: [`Relay6::counters`] says why). Gleans into
    /// `table` from Replies that pass.
    pub fn handle(
        &mut self,
        datagram: &[u8],
        interface: u32,
        source: SocketAddrV6,
        now: Now,
        table: &mut LocationTable,
    ) -> Vec<Transmit6> {
        self.counters.received += 1;
        self.counters.pending_lapsed += self.pending.expire(now.ms);
        match self.route(datagram, interface, source, now, table) {
            Ok(out) => out,
            Err(reason) => {
                self.counters.drop(reason);
                Vec::new()
            }
        }
    }

    fn route(
        &mut self,
        datagram: &[u8],
        interface: u32,
        source: SocketAddrV6,
        now: Now,
        table: &mut LocationTable,
    ) -> Result<Vec<Transmit6>, Drop6> {
        let packet = Packet::new_checked(datagram).map_err(|_| Drop6::Malformed)?;
        let msg_type = packet.msg_type();
        let downstream = self
            .settings
            .interfaces
            .iter()
            .position(|d| d.index == interface);
        match (downstream, msg_type) {
            (Some(_), t) if from_server(t) => Err(Drop6::ServerMessageDownstream),
            (Some(d), _) => self.forward(d, &packet, source, now),
            (None, MessageType::RelayRepl) => self.reply(&packet, source, now, table),
            (None, _) => Err(Drop6::NotDownstream),
        }
    }

    /// Whether RELAY-FORWs for `d` carry its Interface-ID: when asked to, and whenever
    /// link-address alone could not bring the reply back.
    fn inserts_interface_id(&self, link_address: &Ipv6Addr) -> bool {
        self.settings.insert.interface_id || link_address.is_unspecified()
    }

    /// RFC 8415 §19.1.1 (a client's message) and §19.1.2 (a relay's RELAY-FORW).
    fn forward(
        &mut self,
        d: usize,
        packet: &Packet<&[u8]>,
        source: SocketAddrV6,
        now: Now,
    ) -> Result<Vec<Transmit6>, Drop6> {
        let d = &self.settings.interfaces[d];
        let datagram = packet.as_bytes();
        let (hop_count, link_address) = if packet.msg_type() == MessageType::RelayForw {
            let hops = packet.hop_count().ok_or(Drop6::Malformed)?;
            if usize::from(hops) >= HOP_COUNT_LIMIT {
                return Err(Drop6::HopLimit);
            }
            // A relay below with a global address names the link itself (§19.1.2).
            let link = if is_global_unicast(source.ip()) {
                Ipv6Addr::UNSPECIFIED
            } else {
                d.link_address
            };
            (hops + 1, link)
        } else {
            (0, d.link_address)
        };
        if datagram.len() > usize::from(u16::MAX) {
            return Err(Drop6::TooLarge);
        }
        let insert = self.settings.insert;
        let mut options = Vec::with_capacity(4);
        if self.inserts_interface_id(&link_address) {
            options.push(DhcpOption::InterfaceId(d.interface_id.clone()));
        }
        if let (true, Some(r)) = (insert.remote_id, &d.remote_id) {
            options.push(DhcpOption::RemoteId {
                enterprise_number: r.enterprise_number,
                remote_id: r.remote_id.clone(),
            });
        }
        if let (true, Some(duid)) = (insert.relay_id, &self.settings.relay_id) {
            options.push(DhcpOption::RelayId(duid.clone()));
        }
        // The message as received, not re-encoded (see the module docs).
        options.push(DhcpOption::Other {
            code: OPTION_RELAY_MSG,
            data: datagram.to_vec(),
        });
        let payload = Repr::Relay(RelayMessage {
            msg_type: MessageType::RelayForw,
            hop_count,
            link_address,
            peer_address: *source.ip(),
            options,
        })
        .try_to_vec()
        .map_err(|_| Drop6::TooLarge)?;

        if let Some(client) = innermost(datagram) {
            if matches!(
                Packet::new_unchecked(client).msg_type(),
                MessageType::Release | MessageType::Decline
            ) {
                if let Ok(Repr::ClientServer(m)) = Repr::from_bytes(client) {
                    self.counters.pending_lapsed += self.pending.remember(&m, now.ms);
                }
            }
        }

        self.counters.forwarded += 1;
        Ok(self
            .settings
            .servers
            .iter()
            .map(|s| Transmit6 {
                destination: SocketAddrV6::new(
                    s.address,
                    s.port,
                    0,
                    scope_of(&s.address, s.interface),
                ),
                interface: s.interface,
                payload: payload.clone(),
            })
            .collect())
    }

    /// RFC 8415 §19.2: a RELAY-REPL from a server (or a relay above).
    fn reply(
        &mut self,
        packet: &Packet<&[u8]>,
        source: SocketAddrV6,
        now: Now,
        table: &mut LocationTable,
    ) -> Result<Vec<Transmit6>, Drop6> {
        if self.unicast_servers_only
            && !self
                .settings
                .servers
                .iter()
                .any(|s| s.address == *source.ip())
        {
            return Err(Drop6::NotFromServer);
        }
        let mut interface_id = None;
        let mut relayed = None;
        for option in packet.options() {
            let option = option.map_err(|_| Drop6::Malformed)?;
            match option.code {
                OPTION_INTERFACE_ID if interface_id.is_none() => interface_id = Some(option.data),
                OPTION_RELAY_MSG if relayed.is_none() => relayed = Some(option.data),
                _ => {}
            }
        }
        let relayed = relayed.ok_or(Drop6::NoRelayMessage)?;
        let inner = Packet::new_checked(relayed).map_err(|_| Drop6::Malformed)?;
        let interfaces = &self.settings.interfaces;
        let d = match interface_id {
            Some(id) => interfaces
                .iter()
                .find(|d| d.interface_id == id)
                .ok_or(Drop6::UnknownInterfaceId)?,
            None => {
                let link = packet.link_address().ok_or(Drop6::Malformed)?;
                interfaces
                    .iter()
                    .find(|d| !link.is_unspecified() && d.link_address == link)
                    .ok_or(Drop6::UnknownLinkAddress)?
            }
        };
        let peer = packet.peer_address().ok_or(Drop6::Malformed)?;
        if peer.is_unspecified() || peer.is_multicast() {
            return Err(Drop6::BadPeerAddress);
        }
        let port = if inner.msg_type() == MessageType::RelayRepl {
            AGENT_PORT
        } else {
            CLIENT_PORT
        };
        let out = Transmit6 {
            destination: SocketAddrV6::new(peer, port, 0, scope_of(&peer, Some(d.index))),
            interface: Some(d.index),
            payload: relayed.to_vec(),
        };

        let at = Where {
            interface: d.name.clone(),
            circuit_id: self
                .inserts_interface_id(&d.link_address)
                .then(|| d.interface_id.clone()),
            remote_id: d
                .remote_id
                .as_ref()
                .filter(|_| self.settings.insert.remote_id)
                .map(|r| r.to_vec()),
        };
        self.glean(relayed, &at, now, table);
        self.counters.replied += 1;
        Ok(vec![out])
    }

    /// Gleans from the Reply at the end of `relayed`, if that is what it holds.
    fn glean(&mut self, relayed: &[u8], at: &Where, now: Now, table: &mut LocationTable) {
        let Some(message) = innermost(relayed) else {
            return;
        };
        if Packet::new_unchecked(message).msg_type() != MessageType::Reply {
            return;
        }
        let Ok(Repr::ClientServer(reply)) = Repr::from_bytes(message) else {
            self.counters.unparsed_replies += 1;
            return;
        };
        let Some(duid) = glean::client_duid(&reply) else {
            return;
        };
        let counters = &mut self.counters;
        match self.pending.answered(reply.transaction_id, &duid) {
            Some(resources) => {
                if glean::succeeded(&reply) {
                    glean::remove_all(&resources, &duid, table, counters);
                }
            }
            None => {
                let seen = self.gleaned.as_mut();
                glean::glean(&reply, &duid, at, now.wall, table, counters, seen)
            }
        }
    }
}
