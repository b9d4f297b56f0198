//! The relay chain of a message: what a binding keeps of it (RFC 5007 §4.1.2.4 wants the
//! chain and its peer; leasequery by relay-id and remote-id wants those identifiers) and how a
//! reply goes back through it (RFC 8415 §19.3).

use crate::router6::Message6;
use lessor_net::Destination;
use lessor_store::v6::binding::{MAX_RELAY_CHAIN, MAX_RELAY_FIELD};
use lessor_wire::v6::{DhcpOption, MessageType, RelayMessage, Repr};
use std::net::{Ipv6Addr, SocketAddr, SocketAddrV6};

/// The DHCPv6 client port (RFC 8415 §7.2).
pub const CLIENT_PORT: u16 = 546;

/// The DHCPv6 server and relay agent port.
pub const RELAY_PORT: u16 = 547;

/// OPTION_RELAY_SOURCE_PORT (RFC 8357): the relay listens on the UDP source port it sent from.
pub const OPTION_RELAY_SOURCE_PORT: u16 = 135;

/// What a binding keeps of the chain the client's message came through.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct RelayData {
    /// The outermost RELAY-FORW without the client's message (`Repr::without_client_message`),
    /// encoded; None when direct, or when longer than the store keeps ([`RelayData::chain_cut`]).
    pub chain: Option<Vec<u8>>,
    /// The outermost relay's address (where RELAY-REPL goes).
    pub peer: Option<Ipv6Addr>,
    /// Option 18, 37 (enterprise number and remote-id) and 53 values, each from the hop nearest
    /// the client that carries it.
    pub interface_id: Option<Vec<u8>>,
    pub remote_id: Option<Vec<u8>>,
    pub relay_id: Option<Vec<u8>>,
    /// The chain was too long for the store: the binding is kept without it (counted).
    pub chain_cut: bool,
    /// Identifiers left out: longer than the store keeps (counted).
    pub fields_cut: usize,
}

impl RelayData {
    /// What `msg`'s chain gives a binding (all None for a direct client).
    pub fn of(msg: &Message6) -> RelayData {
        let mut d = RelayData::default();
        let Some(stripped) = msg.repr.without_client_message() else {
            return d;
        };
        d.peer = Some(*msg.source.ip());
        match stripped.try_to_vec() {
            Ok(v) if v.len() <= MAX_RELAY_CHAIN => d.chain = Some(v),
            _ => d.chain_cut = true,
        }
        let hops = msg.hops();
        // Innermost first: the hop nearest the client wins.
        for hop in hops.iter().rev() {
            for o in &hop.options {
                let (slot, value) = match o {
                    DhcpOption::InterfaceId(v) => (&mut d.interface_id, v.clone()),
                    DhcpOption::RemoteId {
                        enterprise_number,
                        remote_id,
                    } => {
                        let mut v = enterprise_number.to_be_bytes().to_vec();
                        v.extend_from_slice(remote_id);
                        (&mut d.remote_id, v)
                    }
                    DhcpOption::RelayId(duid) => (&mut d.relay_id, duid.to_vec()),
                    _ => continue,
                };
                if slot.is_some() {
                    continue;
                }
                if value.len() > MAX_RELAY_FIELD {
                    d.fields_cut += 1;
                    continue;
                }
                *slot = Some(value);
            }
        }
        d
    }
}

/// The innermost relay hop (nearest the client), if relayed.
pub fn innermost_hop(msg: &Message6) -> Option<&RelayMessage> {
    msg.hops().last().copied()
}

/// `reply` wrapped in a RELAY-REPL for every hop of `msg`'s chain, innermost first, each with
/// its hop's hop-count, link-address, peer-address and Interface-Id echoed (RFC 8415 §19.3).
/// A direct message's reply is returned as is.
pub fn wrap(msg: &Message6, reply: Repr) -> Repr {
    msg.hops().iter().rev().fold(reply, |inner, hop| {
        let mut options = Vec::with_capacity(2);
        if let Some(id) = hop
            .options
            .iter()
            .find(|o| matches!(o, DhcpOption::InterfaceId(_)))
        {
            options.push(id.clone());
        }
        options.push(DhcpOption::RelayMsg(Box::new(inner)));
        Repr::Relay(RelayMessage {
            msg_type: MessageType::RelayRepl,
            hop_count: hop.hop_count,
            link_address: hop.link_address,
            peer_address: hop.peer_address,
            options,
        })
    })
}

/// Where the reply to `msg` goes: the outermost relay's address, port 547, or the UDP source
/// port when that relay carries OPTION_RELAY_SOURCE_PORT (RFC 8357; docs/protocol.md); a
/// direct client at its address, port 546 (RFC 8415 §7.2), a link-local one through the
/// interface it came on.
pub fn destination(msg: &Message6) -> Destination {
    let source = msg.source;
    if let Repr::Relay(outer) = &msg.repr {
        let port = if outer
            .options
            .iter()
            .any(|o| o.code() == OPTION_RELAY_SOURCE_PORT)
            && source.port() != 0
        {
            source.port()
        } else {
            RELAY_PORT
        };
        return Destination::Relay(SocketAddr::V6(SocketAddrV6::new(
            *source.ip(),
            port,
            0,
            source.scope_id(),
        )));
    }
    let scope = match (source.scope_id(), msg.interface_index) {
        (0, Some(i)) if is_link_local(source.ip()) => i,
        (s, _) => s,
    };
    Destination::Client(SocketAddr::V6(SocketAddrV6::new(
        *source.ip(),
        CLIENT_PORT,
        0,
        scope,
    )))
}

/// fe80::/10.
pub fn is_link_local(a: &Ipv6Addr) -> bool {
    a.segments()[0] & 0xffc0 == 0xfe80
}
