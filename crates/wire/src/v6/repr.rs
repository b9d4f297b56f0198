//! Owned, typed representation of a whole DHCPv6 message (RFC 8415 §8, §9).

use std::net::Ipv6Addr;

use super::cursor::Writer;
use super::option::{options_len, parse_options_at, write_options};
use super::packet::{Packet, HEADER_LEN, RELAY_HEADER_LEN};
use super::{DhcpOption, MessageType, MAX_DEPTH};
use crate::{Error, Result};

/// Largest transaction-id: the field is 24 bits (RFC 8415 §8).
pub const MAX_TRANSACTION_ID: u32 = 0x00ff_ffff;

/// A client/server message (RFC 8415 §8): every message type but RELAY-FORW and RELAY-REPL,
/// leasequery messages included.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ClientServerMessage {
    /// msg-type; must not be RELAY-FORW or RELAY-REPL.
    pub msg_type: MessageType,
    /// transaction-id, 24 bits (at most [`MAX_TRANSACTION_ID`]).
    pub transaction_id: u32,
    /// Options in wire order.
    pub options: Vec<DhcpOption>,
}

/// A relay agent/server message (RFC 8415 §9): RELAY-FORW or RELAY-REPL.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct RelayMessage {
    /// msg-type; RELAY-FORW or RELAY-REPL.
    pub msg_type: MessageType,
    /// Number of relay agents that have already relayed this message.
    pub hop_count: u8,
    /// Address the server uses to identify the client's link; `::` if none.
    pub link_address: Ipv6Addr,
    /// Address of the client or relay agent the message came from (or goes to).
    pub peer_address: Ipv6Addr,
    /// Options in wire order; normally one RELAY_MSG among them.
    pub options: Vec<DhcpOption>,
}

impl RelayMessage {
    /// The message carried by the first OPTION_RELAY_MSG, if any.
    pub fn relay_message(&self) -> Option<&Repr> {
        self.options.iter().find_map(|o| match o {
            DhcpOption::RelayMsg(inner) => Some(&**inner),
            _ => None,
        })
    }

    /// Removes the RELAY_MSG holding the client's message from the innermost hop.
    fn strip_client_message(&mut self) {
        let Some(at) = self
            .options
            .iter()
            .position(|o| matches!(o, DhcpOption::RelayMsg(_)))
        else {
            return;
        };
        if let Some(DhcpOption::RelayMsg(inner)) = self.options.get_mut(at) {
            if let Repr::Relay(inner) = inner.as_mut() {
                inner.strip_client_message();
                return;
            }
        }
        self.options.remove(at);
    }
}

/// One DHCPv6 message, owned and typed.
///
/// Relay chains are nested: a RELAY-FORW's RELAY_MSG holds the next hop's RELAY-FORW or the
/// client's message. [`Repr::innermost`], [`Repr::relay_hops`] and
/// [`Repr::without_client_message`] walk them.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Repr {
    /// A client/server message.
    ClientServer(ClientServerMessage),
    /// A relay agent/server message.
    Relay(RelayMessage),
}

impl Repr {
    /// Parses the message a checked [`Packet`] views, options and nested messages included.
    pub fn parse<T: AsRef<[u8]>>(packet: &Packet<T>) -> Result<Repr> {
        Self::parse_at(packet.as_bytes(), 0)
    }

    /// Parses one message from `buf` (the whole UDP payload or TCP frame body).
    pub fn from_bytes(buf: &[u8]) -> Result<Repr> {
        Self::parse_at(buf, 0)
    }

    /// Parses a message whose options area sits at nesting level `depth`.
    pub(crate) fn parse_at(buf: &[u8], depth: usize) -> Result<Repr> {
        if depth > MAX_DEPTH {
            return Err(Error::TooDeep);
        }
        let packet = Packet::new_checked(buf)?;
        let msg_type = packet.msg_type();
        let options = parse_options_at(packet.options_area(), depth)?;
        Ok(if msg_type.is_relay() {
            Repr::Relay(RelayMessage {
                msg_type,
                hop_count: packet.hop_count().ok_or(Error::Truncated)?,
                link_address: packet.link_address().ok_or(Error::Truncated)?,
                peer_address: packet.peer_address().ok_or(Error::Truncated)?,
                options,
            })
        } else {
            Repr::ClientServer(ClientServerMessage {
                msg_type,
                transaction_id: packet.transaction_id().ok_or(Error::Truncated)?,
                options,
            })
        })
    }

    /// msg-type.
    pub fn msg_type(&self) -> MessageType {
        match self {
            Repr::ClientServer(m) => m.msg_type,
            Repr::Relay(m) => m.msg_type,
        }
    }

    /// Top-level options, in wire order.
    pub fn options(&self) -> &[DhcpOption] {
        match self {
            Repr::ClientServer(m) => &m.options,
            Repr::Relay(m) => &m.options,
        }
    }

    /// Top-level options, to edit.
    pub fn options_mut(&mut self) -> &mut Vec<DhcpOption> {
        match self {
            Repr::ClientServer(m) => &mut m.options,
            Repr::Relay(m) => &mut m.options,
        }
    }

    /// The first top-level option with `code`.
    pub fn find(&self, code: u16) -> Option<&DhcpOption> {
        self.options().iter().find(|o| o.code() == code)
    }

    /// Every top-level option with `code`, in wire order.
    pub fn find_all(&self, code: u16) -> impl Iterator<Item = &DhcpOption> + '_ {
        self.options().iter().filter(move |o| o.code() == code)
    }

    /// Follows the first RELAY_MSG of each relay message down to the innermost message: the
    /// client's (or server's) message, or a relay message that carries none.
    pub fn innermost(&self) -> &Repr {
        let mut current = self;
        while let Repr::Relay(relay) = current {
            match relay.relay_message() {
                Some(inner) => current = inner,
                None => break,
            }
        }
        current
    }

    /// The client/server message at the end of the relay chain (or `self`), if there is one.
    pub fn client_message(&self) -> Option<&ClientServerMessage> {
        match self.innermost() {
            Repr::ClientServer(m) => Some(m),
            Repr::Relay(_) => None,
        }
    }

    /// The relay hops of a chain, outermost (the one the server talks to) first; empty for a
    /// client/server message. Each hop still holds its RELAY_MSG.
    pub fn relay_hops(&self) -> Vec<&RelayMessage> {
        let mut hops = Vec::new();
        let mut current = self;
        while let Repr::Relay(relay) = current {
            hops.push(relay);
            match relay.relay_message() {
                Some(inner) => current = inner,
                None => break,
            }
        }
        hops
    }

    /// The relay chain with the innermost RELAY_MSG (the one carrying the client's message)
    /// removed, as a server stores it and returns it in OPTION_LQ_RELAY_DATA (RFC 5007
    /// §4.1.2.4). `None` for a client/server message.
    pub fn without_client_message(&self) -> Option<Repr> {
        let Repr::Relay(relay) = self else {
            return None;
        };
        let mut relay = relay.clone();
        relay.strip_client_message();
        Some(Repr::Relay(relay))
    }

    /// Octets on the wire.
    pub fn buffer_len(&self) -> usize {
        match self {
            Repr::ClientServer(m) => HEADER_LEN + options_len(&m.options),
            Repr::Relay(m) => RELAY_HEADER_LEN + options_len(&m.options),
        }
    }

    /// Writes the message into `buf` and returns the octets written.
    ///
    /// Errors: [`Error::BufferTooSmall`] if `buf` is shorter than [`Repr::buffer_len`];
    /// [`Error::BadValue`] if msg-type does not match the variant (RELAY-FORW/REPL only as
    /// [`Repr::Relay`]) or transaction-id exceeds 24 bits; [`Error::TooLarge`] if an option body
    /// exceeds 65535 octets; [`Error::BadLength`] for a DUID outside RFC 8415 §11.1 bounds.
    pub fn emit(&self, buf: &mut [u8]) -> Result<usize> {
        let mut w = Writer::new(buf);
        self.write(&mut w)?;
        Ok(w.len())
    }

    /// The message as a new buffer; [`Repr::emit`]'s errors are returned.
    pub fn try_to_vec(&self) -> Result<Vec<u8>> {
        let mut out = vec![0; self.buffer_len()];
        let n = self.emit(&mut out)?;
        out.truncate(n);
        Ok(out)
    }

    /// The message as a new buffer.
    ///
    /// # Panics
    /// If [`Repr::emit`] would fail for a reason other than buffer size: a Repr built by hand
    /// with inconsistent fields (see `emit`). Nothing [`Repr::parse`] returns can make it panic;
    /// use [`Repr::try_to_vec`] for Reprs of uncertain origin.
    pub fn to_vec(&self) -> Vec<u8> {
        match self.try_to_vec() {
            Ok(v) => v,
            Err(e) => panic!("DHCPv6 Repr cannot be encoded: {e}"),
        }
    }

    /// Appends the message to `w`, with [`Repr::emit`]'s errors.
    pub fn write(&self, w: &mut Writer<'_>) -> Result<()> {
        match self {
            Repr::ClientServer(m) => {
                if m.msg_type.is_relay() || m.transaction_id > MAX_TRANSACTION_ID {
                    return Err(Error::BadValue);
                }
                w.u8(m.msg_type.into())?;
                w.bytes(&m.transaction_id.to_be_bytes()[1..])?;
                write_options(w, &m.options)
            }
            Repr::Relay(m) => {
                if !m.msg_type.is_relay() {
                    return Err(Error::BadValue);
                }
                w.u8(m.msg_type.into())?;
                w.u8(m.hop_count)?;
                w.ipv6(&m.link_address)?;
                w.ipv6(&m.peer_address)?;
                write_options(w, &m.options)
            }
        }
    }
}

impl From<ClientServerMessage> for Repr {
    fn from(m: ClientServerMessage) -> Self {
        Repr::ClientServer(m)
    }
}

impl From<RelayMessage> for Repr {
    fn from(m: RelayMessage) -> Self {
        Repr::Relay(m)
    }
}

#[cfg(test)]
mod tests {
    use super::super::option_code::*;
    use super::super::Duid;
    use super::*;

    fn solicit() -> Repr {
        Repr::ClientServer(ClientServerMessage {
            msg_type: MessageType::Solicit,
            transaction_id: 0x12_3456,
            options: vec![
                DhcpOption::ClientId(Duid::Ll {
                    hardware_type: 1,
                    link_layer_address: vec![0, 1, 2, 3, 4, 5],
                }),
                DhcpOption::Other {
                    code: OPTION_ELAPSED_TIME,
                    data: vec![0, 0],
                },
            ],
        })
    }

    fn relay(hop_count: u8, inner: Repr) -> Repr {
        Repr::Relay(RelayMessage {
            msg_type: MessageType::RelayForw,
            hop_count,
            link_address: Ipv6Addr::new(0x2001, 0xdb8, hop_count.into(), 0, 0, 0, 0, 1),
            peer_address: Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, 0, hop_count.into()),
            options: vec![
                DhcpOption::InterfaceId(vec![hop_count]),
                DhcpOption::RelayMsg(Box::new(inner)),
            ],
        })
    }

    #[test]
    fn client_message_roundtrip_and_bytes() {
        let repr = solicit();
        let bytes = repr.to_vec();
        assert_eq!(&bytes[..4], &[1, 0x12, 0x34, 0x56]);
        assert_eq!(bytes.len(), repr.buffer_len());
        assert_eq!(Repr::from_bytes(&bytes), Ok(repr.clone()));
        let packet = Packet::new_checked(&bytes[..]).unwrap();
        assert_eq!(Repr::parse(&packet), Ok(repr.clone()));
        assert!(repr.find(OPTION_CLIENTID).is_some());
        assert_eq!(repr.find_all(OPTION_ELAPSED_TIME).count(), 1);
        assert_eq!(repr.relay_hops().len(), 0);
        assert_eq!(repr.without_client_message(), None);
    }

    #[test]
    fn relay_chain_walk_and_strip() {
        let chain = relay(1, relay(0, solicit()));
        let bytes = chain.to_vec();
        let parsed = Repr::from_bytes(&bytes).unwrap();
        assert_eq!(parsed, chain);
        assert_eq!(parsed.innermost(), &solicit());
        assert_eq!(
            parsed.client_message().map(|m| m.transaction_id),
            Some(0x12_3456)
        );
        let hops = parsed.relay_hops();
        assert_eq!(
            hops.iter().map(|h| h.hop_count).collect::<Vec<_>>(),
            vec![1, 0]
        );

        let stripped = parsed.without_client_message().unwrap();
        let hops = stripped.relay_hops();
        assert_eq!(hops.len(), 2);
        assert_eq!(hops[1].options, vec![DhcpOption::InterfaceId(vec![0])]);
        assert!(stripped.client_message().is_none());
        // The stripped chain is still a valid message.
        assert_eq!(Repr::from_bytes(&stripped.to_vec()), Ok(stripped));
    }

    #[test]
    fn emit_rejects_inconsistent_reprs() {
        let mut buf = [0u8; 64];
        let bad_type = Repr::ClientServer(ClientServerMessage {
            msg_type: MessageType::RelayForw,
            transaction_id: 0,
            options: vec![],
        });
        assert_eq!(bad_type.emit(&mut buf), Err(Error::BadValue));
        let bad_xid = Repr::ClientServer(ClientServerMessage {
            msg_type: MessageType::Reply,
            transaction_id: 0x0100_0000,
            options: vec![],
        });
        assert_eq!(bad_xid.emit(&mut buf), Err(Error::BadValue));
        let bad_relay = Repr::Relay(RelayMessage {
            msg_type: MessageType::Reply,
            hop_count: 0,
            link_address: Ipv6Addr::UNSPECIFIED,
            peer_address: Ipv6Addr::UNSPECIFIED,
            options: vec![],
        });
        assert_eq!(bad_relay.emit(&mut buf), Err(Error::BadValue));
        assert!(bad_relay.try_to_vec().is_err());
    }

    #[test]
    fn relay_without_relay_msg() {
        let lone = Repr::Relay(RelayMessage {
            msg_type: MessageType::RelayRepl,
            hop_count: 0,
            link_address: Ipv6Addr::UNSPECIFIED,
            peer_address: Ipv6Addr::UNSPECIFIED,
            options: vec![DhcpOption::InterfaceId(vec![1])],
        });
        assert_eq!(lone.innermost(), &lone);
        assert!(lone.client_message().is_none());
        assert_eq!(lone.relay_hops().len(), 1);
        assert_eq!(lone.without_client_message(), Some(lone.clone()));
    }

    #[test]
    fn emit_short_buffer() {
        let repr = solicit();
        let mut buf = vec![0u8; repr.buffer_len() - 1];
        assert_eq!(repr.emit(&mut buf), Err(Error::BufferTooSmall));
    }

    #[test]
    fn relay_chain_depth_limit() {
        let mut repr = solicit();
        for hop in 0..MAX_DEPTH as u8 {
            repr = relay(hop, repr);
        }
        // MAX_DEPTH relays: the client message sits at depth MAX_DEPTH, allowed.
        assert!(Repr::from_bytes(&repr.to_vec()).is_ok());
        let deeper = relay(MAX_DEPTH as u8, repr);
        assert_eq!(Repr::from_bytes(&deeper.to_vec()), Err(Error::TooDeep));
    }

    #[test]
    fn empty_relay_msg_is_truncated() {
        let mut bytes = vec![12u8; 34];
        bytes.extend([0, 9, 0, 0]);
        assert_eq!(Repr::from_bytes(&bytes), Err(Error::Truncated));
    }
}
