//! The simulated relay agent (RFC 8415 §19.1): wraps a client's message in a RELAY-FORW and
//! takes it back out of the server's RELAY-REPL. Sans IO.

use std::net::Ipv6Addr;

use lessor_wire::v6::{ClientServerMessage, DhcpOption, MessageType, RelayMessage, Repr};

use super::client::Identity;
use super::config::RelayOptions;

/// OPTION_RELAY_SOURCE_PORT (RFC 8357 §5.2): the relay listens on the UDP source port of its
/// RELAY-FORW, not on 547, and the server answers there.
pub const OPTION_RELAY_SOURCE_PORT: u16 = 135;

/// Why a datagram was not a relayed answer for one of our clients.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rejected {
    /// Not a RELAY-REPL.
    NotRelayReply,
    /// A RELAY-REPL without a client/server message directly in its RELAY_MSG (we are the only
    /// relay, so the answer must not be nested deeper).
    NoClientMessage,
    /// The interface-id we sent is not echoed unchanged (RFC 8415 §19.3 says the server copies it).
    InterfaceIdChanged,
}

/// The relay agent between every simulated client and the server.
#[derive(Debug, Clone)]
pub struct Relay {
    link_address: Ipv6Addr,
    options: RelayOptions,
}

impl Relay {
    /// A relay with `link_address` adding `options`. `bound_port` is the port the generator's
    /// socket received: anything but 547 adds OPTION_RELAY_SOURCE_PORT, so the server answers
    /// that port.
    pub fn new(link_address: Ipv6Addr, options: &RelayOptions, bound_port: u16) -> Relay {
        let mut options = options.clone();
        options.source_port |= bound_port != 547;
        Relay {
            link_address,
            options,
        }
    }

    /// The RELAY-FORW carrying `message` of client `id`: hop-count 0, link-address,
    /// peer-address = the client's link-local address, then interface-id, remote-id (the
    /// client's MAC), relay-id and relay-source-port as configured, and RELAY_MSG.
    pub fn forward(&self, id: &Identity, message: ClientServerMessage) -> Repr {
        let mut options = Vec::with_capacity(5);
        if let Some(i) = &self.options.interface_id {
            options.push(DhcpOption::InterfaceId(i.clone()));
        }
        if let Some(enterprise_number) = self.options.remote_id_enterprise {
            options.push(DhcpOption::RemoteId {
                enterprise_number,
                remote_id: id.mac.to_vec(),
            });
        }
        if let Some(d) = &self.options.relay_id {
            options.push(DhcpOption::RelayId(d.clone()));
        }
        if self.options.source_port {
            // Downstream Source Port 0: no relay below this one (RFC 8357 §5.2).
            options.push(DhcpOption::Other {
                code: OPTION_RELAY_SOURCE_PORT,
                data: vec![0, 0],
            });
        }
        options.push(DhcpOption::RelayMsg(Box::new(Repr::ClientServer(message))));
        Repr::Relay(RelayMessage {
            msg_type: MessageType::RelayForw,
            hop_count: 0,
            link_address: self.link_address,
            peer_address: id.peer_address,
            options,
        })
    }

    /// The peer-address and the client's message of a RELAY-REPL. Which client the
    /// peer-address and the message belong to is for the caller to check.
    pub fn unwrap(&self, reply: Repr) -> Result<(Ipv6Addr, ClientServerMessage), Rejected> {
        let Repr::Relay(relay) = reply else {
            return Err(Rejected::NotRelayReply);
        };
        if relay.msg_type != MessageType::RelayRepl {
            return Err(Rejected::NotRelayReply);
        }
        if let Some(sent) = &self.options.interface_id {
            let echoed = relay.options.iter().find_map(|o| match o {
                DhcpOption::InterfaceId(i) => Some(i),
                _ => None,
            });
            if echoed != Some(sent) {
                return Err(Rejected::InterfaceIdChanged);
            }
        }
        let peer = relay.peer_address;
        let inner = relay.options.into_iter().find_map(|o| match o {
            DhcpOption::RelayMsg(inner) => Some(*inner),
            _ => None,
        });
        match inner {
            Some(Repr::ClientServer(m)) => Ok((peer, m)),
            _ => Err(Rejected::NoClientMessage),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use lessor_wire::v6::Duid;

    fn message() -> ClientServerMessage {
        ClientServerMessage {
            msg_type: MessageType::Solicit,
            transaction_id: 0x123456,
            options: vec![],
        }
    }

    #[test]
    fn forward_carries_the_relay_options_and_unwrap_checks_the_echo() {
        let link: Ipv6Addr = "2001:db8:1::1".parse().unwrap();
        let options = RelayOptions {
            interface_id: Some(b"ge-0/0/1".to_vec()),
            remote_id_enterprise: Some(3561),
            relay_id: Some(Duid::Uuid([7; 16])),
            source_port: false,
        };
        let id = Identity::new(3, 0);
        let relay = Relay::new(link, &options, 547);
        let Repr::Relay(forw) = relay.forward(&id, message()) else {
            panic!()
        };
        assert_eq!(forw.msg_type, MessageType::RelayForw);
        assert_eq!((forw.hop_count, forw.link_address), (0, link));
        assert_eq!(forw.peer_address, id.peer_address);
        let codes: Vec<u16> = forw.options.iter().map(DhcpOption::code).collect();
        assert_eq!(codes, [18, 37, 53, 9]);
        assert!(forw.options.contains(&DhcpOption::RemoteId {
            enterprise_number: 3561,
            remote_id: id.mac.to_vec()
        }));
        // Another port than 547: the relay-source-port option, before RELAY_MSG.
        let plain = Relay::new(link, &RelayOptions::default(), 40000);
        let Repr::Relay(forw) = plain.forward(&id, message()) else {
            panic!()
        };
        let codes: Vec<u16> = forw.options.iter().map(DhcpOption::code).collect();
        assert_eq!(codes, [OPTION_RELAY_SOURCE_PORT, 9]);

        let reply = |options: Vec<DhcpOption>, msg_type| {
            Repr::Relay(RelayMessage {
                msg_type,
                hop_count: 0,
                link_address: link,
                peer_address: id.peer_address,
                options,
            })
        };
        let inner = DhcpOption::RelayMsg(Box::new(Repr::ClientServer(message())));
        let echo = DhcpOption::InterfaceId(b"ge-0/0/1".to_vec());
        assert_eq!(
            relay.unwrap(reply(
                vec![echo.clone(), inner.clone()],
                MessageType::RelayRepl
            )),
            Ok((id.peer_address, message()))
        );
        assert_eq!(
            relay.unwrap(reply(vec![inner.clone()], MessageType::RelayRepl)),
            Err(Rejected::InterfaceIdChanged)
        );
        assert_eq!(
            relay.unwrap(reply(
                vec![echo.clone(), inner.clone()],
                MessageType::RelayForw
            )),
            Err(Rejected::NotRelayReply)
        );
        assert_eq!(
            relay.unwrap(reply(vec![echo.clone()], MessageType::RelayRepl)),
            Err(Rejected::NoClientMessage)
        );
        assert_eq!(
            relay.unwrap(Repr::ClientServer(message())),
            Err(Rejected::NotRelayReply)
        );
        // Without an interface-id configured, none is needed.
        assert!(plain
            .unwrap(reply(vec![inner], MessageType::RelayRepl))
            .is_ok());
    }
}
