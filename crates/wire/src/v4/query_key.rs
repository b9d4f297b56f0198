//! What a DHCPv4 leasequery asks about: exactly one key (RFC 4388 §6.3), an IP address, a
//! hardware address or a client identifier, or in the RFC 6148 style (docs/protocol.md
//! decision 7) an option 82 carrying only an agent remote-id or only a relay-id. The same keys
//! select the bindings of a bulk leasequery (the 2008 bulk draft, RFC 6926), so the server,
//! the requestor and the load generators share this one type.

use core::fmt;
use std::net::Ipv4Addr;

use super::code::relay;
use super::{DhcpOption, HwAddr, MessageType, RelayAgentInformation, Repr, BOOTREQUEST};
use crate::hex;

/// The longest client identifier, remote-id or relay-id a query carries: what the one-octet
/// length of option 61 or of an option 82 sub-option can say (an option 82 longer than 255
/// octets is split into several instances, RFC 3396).
pub const MAX_IDENTIFIER_LEN: usize = 255;

/// The kind of a [`QueryKey`], without its value (for counters and reports).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum QueryKind {
    /// By IP address (ciaddr).
    Ip,
    /// By hardware address (htype, hlen, chaddr).
    Mac,
    /// By client identifier (option 61).
    ClientId,
    /// By agent remote-id (option 82 sub-option 2).
    RemoteId,
    /// By relay-id (option 82 sub-option 12).
    RelayId,
}

impl QueryKind {
    /// Every kind, in the order above.
    pub const ALL: [QueryKind; 5] = [
        QueryKind::Ip,
        QueryKind::Mac,
        QueryKind::ClientId,
        QueryKind::RemoteId,
        QueryKind::RelayId,
    ];

    /// "ip", "mac", "client-id", "remote-id", "relay-id": the words of the command line.
    pub fn as_str(self) -> &'static str {
        match self {
            QueryKind::Ip => "ip",
            QueryKind::Mac => "mac",
            QueryKind::ClientId => "client-id",
            QueryKind::RemoteId => "remote-id",
            QueryKind::RelayId => "relay-id",
        }
    }

    /// The kind named by [`QueryKind::as_str`].
    pub fn from_name(name: &str) -> Option<QueryKind> {
        QueryKind::ALL.into_iter().find(|k| k.as_str() == name)
    }
}

impl fmt::Display for QueryKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The one key a leasequery carries.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum QueryKey {
    /// By IP address (ciaddr).
    Ip(Ipv4Addr),
    /// By hardware address (htype, hlen, chaddr).
    Mac(HwAddr),
    /// By client identifier (option 61 value).
    ClientId(Vec<u8>),
    /// By agent remote-id: option 82 holding only sub-option 2.
    RemoteId(Vec<u8>),
    /// By relay-id (RFC 6925): option 82 holding only sub-option 12.
    RelayId(Vec<u8>),
}

/// A key that no leasequery can carry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum KeyError {
    /// The address 0.0.0.0 (it would mean "no IP key").
    ZeroAddress,
    /// An empty identifier, or a hardware address with no octet set.
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

impl From<super::HwAddrTooLong> for KeyError {
    fn from(_: super::HwAddrTooLong) -> KeyError {
        KeyError::TooLong
    }
}

impl QueryKey {
    /// An Ethernet MAC address key.
    pub fn mac(octets: [u8; 6]) -> QueryKey {
        QueryKey::Mac(HwAddr::ethernet(octets))
    }

    /// Checks that a query can carry the key: a non-zero address, a hardware address with an
    /// octet set, an identifier of 1 to [`MAX_IDENTIFIER_LEN`] octets.
    pub fn validate(&self) -> Result<(), KeyError> {
        let value = match self {
            QueryKey::Ip(a) if a.is_unspecified() => return Err(KeyError::ZeroAddress),
            QueryKey::Ip(_) => return Ok(()),
            QueryKey::Mac(hw) if hw.is_zero() => return Err(KeyError::Empty),
            QueryKey::Mac(_) => return Ok(()),
            QueryKey::ClientId(v) | QueryKey::RemoteId(v) | QueryKey::RelayId(v) => v,
        };
        if value.is_empty() {
            return Err(KeyError::Empty);
        }
        if value.len() > MAX_IDENTIFIER_LEN {
            return Err(KeyError::TooLong);
        }
        Ok(())
    }

    /// What the key asks by.
    pub fn kind(&self) -> QueryKind {
        match self {
            QueryKey::Ip(_) => QueryKind::Ip,
            QueryKey::Mac(_) => QueryKind::Mac,
            QueryKey::ClientId(_) => QueryKind::ClientId,
            QueryKey::RemoteId(_) => QueryKind::RemoteId,
            QueryKey::RelayId(_) => QueryKind::RelayId,
        }
    }

    /// The queried address, for a query by IP.
    pub fn ip(&self) -> Option<Ipv4Addr> {
        match self {
            QueryKey::Ip(a) => Some(*a),
            _ => None,
        }
    }

    /// The octets of an identifier key (client-id, remote-id, relay-id).
    pub fn identifier(&self) -> Option<&[u8]> {
        match self {
            QueryKey::ClientId(v) | QueryKey::RemoteId(v) | QueryKey::RelayId(v) => Some(v),
            QueryKey::Ip(_) | QueryKey::Mac(_) => None,
        }
    }

    /// The DHCPLEASEQUERY for this key (RFC 4388 §6.2): giaddr = the requestor's address (where
    /// the answer goes), `parameters` as the Parameter Request List (none when empty), all other
    /// keys zero. The key must be [valid](QueryKey::validate): an identifier longer than 255
    /// octets is cut.
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
            QueryKey::Mac(hw) => {
                let chaddr = hw.chaddr();
                repr.htype = hw.htype();
                repr.hlen = hw.hlen();
                repr.chaddr[..chaddr.len()].copy_from_slice(chaddr);
            }
            QueryKey::ClientId(id) => repr.options.push(DhcpOption::ClientIdentifier(
                id[..id.len().min(MAX_IDENTIFIER_LEN)].to_vec(),
            )),
            QueryKey::RemoteId(id) | QueryKey::RelayId(id) => {
                let code = match self {
                    QueryKey::RemoteId(_) => relay::AGENT_REMOTE_ID,
                    _ => relay::RELAY_ID,
                };
                let end = id.len().min(MAX_IDENTIFIER_LEN);
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
            QueryKey::Mac(hw) => {
                write!(f, "mac {} (htype {})", hex::colon(hw.chaddr()), hw.htype())
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
    use crate::v4::{HwAddrTooLong, Packet};

    const GIADDR: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 1);
    const PARAMETERS: [u8; 8] = [51, 58, 59, 82, 91, 92, 61, 60];

    #[test]
    fn by_ip_sets_ciaddr_and_zero_hardware_fields() {
        let bytes = QueryKey::Ip(Ipv4Addr::new(198, 51, 100, 7)).encode(9, GIADDR, &PARAMETERS);
        let p = Packet::new_checked(&bytes[..]).unwrap();
        assert_eq!(p.op(), BOOTREQUEST);
        assert_eq!((p.htype(), p.hlen(), p.chaddr()), (0, 0, [0; 16]));
        assert_eq!(p.ciaddr(), Ipv4Addr::new(198, 51, 100, 7));
        assert_eq!(p.giaddr(), GIADDR);
        assert_eq!(p.xid(), 9);
        assert_eq!(p.message_type().unwrap(), Some(MessageType::LeaseQuery));
        assert_eq!(
            p.parameter_request_list().unwrap().as_deref(),
            Some(&PARAMETERS[..])
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
            let repr = key.to_repr(1, GIADDR, &PARAMETERS);
            let info = repr.relay_agent_information().unwrap();
            let subs: Vec<_> = info.sub_options().map(|s| s.unwrap().code).collect();
            assert_eq!(subs, vec![code]);
            assert_eq!(repr.options.last().unwrap().code(), 82);
            let bytes = repr.to_vec();
            assert_eq!(Repr::from_bytes(&bytes).unwrap(), repr);
        }
    }

    #[test]
    fn a_longest_relay_id_survives_a_round_trip() {
        // 255 octets: option 82 is 257 octets long and goes out as two instances (RFC 3396).
        let key = QueryKey::RelayId(vec![7; MAX_IDENTIFIER_LEN]);
        assert_eq!(key.validate(), Ok(()));
        let repr = Repr::from_bytes(&key.encode(1, GIADDR, &[])).unwrap();
        let info = repr.relay_agent_information().unwrap();
        assert_eq!(
            info.sub_option(relay::RELAY_ID).unwrap().unwrap().len(),
            255
        );
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
            HwAddr::new(1, &[1; 17]).map_err(KeyError::from),
            Err(KeyError::TooLong)
        );
        assert_eq!(HwAddr::new(1, &[1; 17]), Err(HwAddrTooLong(17)));
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

    #[test]
    fn kinds_and_names() {
        for k in QueryKind::ALL {
            assert_eq!(QueryKind::from_name(k.as_str()), Some(k));
        }
        assert_eq!(QueryKind::from_name("cid"), None);
        assert_eq!(QueryKey::RelayId(vec![1]).kind(), QueryKind::RelayId);
        assert_eq!(QueryKey::RelayId(vec![1]).identifier(), Some(&[1u8][..]));
        assert_eq!(QueryKey::mac([2; 6]).identifier(), None);
    }
}
