//! What a leasequery asks (RFC 4388 §6.2, docs/protocol.md decision 7) and the message that asks it.

use std::fmt;
use std::net::Ipv4Addr;

use lessor_wire::hex;
use lessor_wire::v4::code::relay;
use lessor_wire::v4::{DhcpOption, MessageType, RelayAgentInformation, Repr, BOOTREQUEST};

/// The Parameter Request List sent when the caller names none: lease time (51), T1 (58), T2 (59),
/// relay agent information (82), client-last-transaction-time (91), associated-ip (92),
/// client-id (61), vendor class (60).
pub const DEFAULT_PARAMETERS: [u8; 8] = [51, 58, 59, 82, 91, 92, 61, 60];

/// The one key a DHCPLEASEQUERY carries.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum QueryKey {
    /// By IP address (ciaddr).
    Ip(Ipv4Addr),
    /// By hardware address (htype, hlen, chaddr); at most 16 octets, not empty.
    Mac {
        /// Hardware type (1: Ethernet).
        htype: u8,
        /// The address octets (hlen = their number).
        chaddr: Vec<u8>,
    },
    /// By client identifier (option 61), not empty.
    ClientId(Vec<u8>),
    /// By agent remote-id: option 82 holding only sub-option 2 (RFC 6148 style).
    RemoteId(Vec<u8>),
    /// By relay-id: option 82 holding only sub-option 12 (RFC 6925, RFC 6148 style).
    RelayId(Vec<u8>),
}

/// A key that no DHCPLEASEQUERY can carry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyError {
    /// The address 0.0.0.0 (it would mean "no IP key").
    ZeroAddress,
    /// An empty identifier or hardware address.
    Empty,
    /// A hardware address longer than 16 octets or an identifier longer than 255.
    TooLong,
}

impl fmt::Display for KeyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            KeyError::ZeroAddress => "0.0.0.0 cannot be queried",
            KeyError::Empty => "an empty identifier cannot be queried",
            KeyError::TooLong => {
                "identifier too long (hardware address: 16 octets, others: 255 octets)"
            }
        })
    }
}

impl std::error::Error for KeyError {}

impl QueryKey {
    /// An Ethernet MAC address key.
    pub fn mac(octets: [u8; 6]) -> QueryKey {
        QueryKey::Mac {
            htype: 1,
            chaddr: octets.to_vec(),
        }
    }

    /// Checks that a query can carry the key.
    pub fn validate(&self) -> Result<(), KeyError> {
        let (value, max) = match self {
            QueryKey::Ip(a) if a.is_unspecified() => return Err(KeyError::ZeroAddress),
            QueryKey::Ip(_) => return Ok(()),
            QueryKey::Mac { chaddr, .. } => (chaddr, 16),
            QueryKey::ClientId(v) | QueryKey::RemoteId(v) | QueryKey::RelayId(v) => (v, 255),
        };
        if value.is_empty()
            || (matches!(self, QueryKey::Mac { .. }) && value.iter().all(|&b| b == 0))
        {
            return Err(KeyError::Empty);
        }
        if value.len() > max {
            return Err(KeyError::TooLong);
        }
        Ok(())
    }

    /// The queried address, for a query by IP.
    pub fn ip(&self) -> Option<Ipv4Addr> {
        match self {
            QueryKey::Ip(a) => Some(*a),
            _ => None,
        }
    }

    /// "ip", "mac", "client-id", "remote-id", "relay-id".
    pub fn kind(&self) -> &'static str {
        match self {
            QueryKey::Ip(_) => "ip",
            QueryKey::Mac { .. } => "mac",
            QueryKey::ClientId(_) => "client-id",
            QueryKey::RemoteId(_) => "remote-id",
            QueryKey::RelayId(_) => "relay-id",
        }
    }

    /// The DHCPLEASEQUERY for this key (RFC 4388 §6.2): giaddr = the requestor's address (where
    /// the answer goes), `parameters` as the Parameter Request List (none when empty), all other
    /// keys zero. The key must be [valid](QueryKey::validate).
    pub fn to_repr(&self, xid: u32, giaddr: Ipv4Addr, parameters: &[u8]) -> Repr {
        let mut repr = Repr {
            op: BOOTREQUEST,
            htype: 0,
            hlen: 0,
            xid,
            giaddr,
            ..Repr::default()
        };
        repr.options
            .push(DhcpOption::MessageType(MessageType::LeaseQuery));
        match self {
            QueryKey::Ip(a) => repr.ciaddr = *a,
            QueryKey::Mac { htype, chaddr } => {
                let n = chaddr.len().min(16);
                repr.htype = *htype;
                repr.hlen = n as u8;
                repr.chaddr[..n].copy_from_slice(&chaddr[..n]);
            }
            QueryKey::ClientId(id) => repr.options.push(DhcpOption::ClientIdentifier(id.clone())),
            QueryKey::RemoteId(id) | QueryKey::RelayId(id) => {
                let code = match self {
                    QueryKey::RemoteId(_) => relay::AGENT_REMOTE_ID,
                    _ => relay::RELAY_ID,
                };
                let end = id.len().min(255);
                if let Ok(info) = RelayAgentInformation::from_sub_options([(code, &id[..end])]) {
                    repr.options.push(DhcpOption::RelayAgentInformation(info));
                }
            }
        }
        if !parameters.is_empty() {
            // Option 82, when it is the key, goes last (RFC 3046 §2.1 asks the same of relays).
            let at = repr.options.len() - usize::from(self.carries_option_82());
            repr.options
                .insert(at, DhcpOption::ParameterRequestList(parameters.to_vec()));
        }
        repr
    }

    fn carries_option_82(&self) -> bool {
        matches!(self, QueryKey::RemoteId(_) | QueryKey::RelayId(_))
    }

    /// The encoded DHCPLEASEQUERY (see [`QueryKey::to_repr`]).
    pub fn encode(&self, xid: u32, giaddr: Ipv4Addr, parameters: &[u8]) -> Vec<u8> {
        self.to_repr(xid, giaddr, parameters).to_vec()
    }
}

impl fmt::Display for QueryKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            QueryKey::Ip(a) => write!(f, "ip {a}"),
            QueryKey::Mac { htype, chaddr } => {
                write!(f, "mac {} (htype {htype})", hex::colon(chaddr))
            }
            QueryKey::ClientId(v) => write!(f, "client-id {}", hex::colon(v)),
            QueryKey::RemoteId(v) => write!(f, "remote-id {}", hex::colon(v)),
            QueryKey::RelayId(v) => write!(f, "relay-id {}", hex::colon(v)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use lessor_wire::v4::Packet;

    const GIADDR: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 1);

    #[test]
    fn by_ip_sets_ciaddr_and_zero_hardware_fields() {
        let bytes =
            QueryKey::Ip(Ipv4Addr::new(198, 51, 100, 7)).encode(9, GIADDR, &DEFAULT_PARAMETERS);
        let p = Packet::new_checked(&bytes[..]).unwrap();
        assert_eq!(p.op(), BOOTREQUEST);
        assert_eq!((p.htype(), p.hlen(), p.chaddr()), (0, 0, [0; 16]));
        assert_eq!(p.ciaddr(), Ipv4Addr::new(198, 51, 100, 7));
        assert_eq!(p.giaddr(), GIADDR);
        assert_eq!(p.xid(), 9);
        assert_eq!(p.message_type().unwrap(), Some(MessageType::LeaseQuery));
        assert_eq!(
            p.parameter_request_list().unwrap().as_deref(),
            Some(&DEFAULT_PARAMETERS[..])
        );
        assert_eq!(p.client_identifier().unwrap(), None);
    }

    #[test]
    fn by_mac_and_client_id() {
        let mac = [2, 0, 0x5e, 0, 0x53, 1];
        let p = QueryKey::mac(mac).to_repr(1, GIADDR, &[]);
        assert_eq!((p.htype, p.hlen), (1, 6));
        assert_eq!(p.client_hw_addr(), &mac);
        assert_eq!(p.ciaddr, Ipv4Addr::UNSPECIFIED);
        assert!(p.option(55).is_none());
        let p = QueryKey::ClientId(vec![1, 2, 3]).to_repr(1, GIADDR, &[51]);
        assert_eq!((p.htype, p.hlen), (0, 0));
        assert_eq!(
            p.option(61),
            Some(&DhcpOption::ClientIdentifier(vec![1, 2, 3]))
        );
    }

    #[test]
    fn by_remote_id_and_relay_id_carry_only_that_sub_option_last() {
        for (key, code) in [
            (QueryKey::RemoteId(b"r1".to_vec()), 2u8),
            (QueryKey::RelayId(b"id".to_vec()), 12),
        ] {
            let repr = key.to_repr(1, GIADDR, &DEFAULT_PARAMETERS);
            let info = repr.relay_agent_information().unwrap();
            let subs: Vec<_> = info.sub_options().map(|s| s.unwrap().code).collect();
            assert_eq!(subs, vec![code]);
            assert_eq!(repr.options.last().unwrap().code(), 82);
            let bytes = repr.to_vec();
            assert_eq!(Repr::from_bytes(&bytes).unwrap(), repr);
        }
    }

    #[test]
    fn validation() {
        assert_eq!(
            QueryKey::Ip(Ipv4Addr::UNSPECIFIED).validate(),
            Err(KeyError::ZeroAddress)
        );
        assert_eq!(QueryKey::ClientId(vec![]).validate(), Err(KeyError::Empty));
        assert_eq!(QueryKey::mac([0; 6]).validate(), Err(KeyError::Empty));
        assert_eq!(
            QueryKey::Mac {
                htype: 1,
                chaddr: vec![1; 17]
            }
            .validate(),
            Err(KeyError::TooLong)
        );
        assert_eq!(
            QueryKey::RelayId(vec![1; 256]).validate(),
            Err(KeyError::TooLong)
        );
        assert_eq!(QueryKey::RelayId(vec![1; 255]).validate(), Ok(()));
        assert_eq!(
            QueryKey::mac([2, 0, 0, 0, 0, 1]).to_string(),
            "mac 02:00:00:00:00:01 (htype 1)"
        );
    }
}
