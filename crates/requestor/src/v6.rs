//! DHCPv6 leasequery (RFC 5007, RFC 5460) for the requestor: what to ask ([`QueryKey6`]), the
//! LEASEQUERY that asks it ([`QueryKey6::encode`]) and a LEASEQUERY-REPLY (or bulk
//! LEASEQUERY-DATA) read and validated into a typed [`LeaseInfo6`] (RFC 5007 §4.2.2, §4.3.3).

use std::fmt;
use std::net::Ipv6Addr;

use lessor_wire::v6::{
    status, ClientServerMessage, DhcpOption, Duid, MessageType, QueryType, Repr,
    MAX_TRANSACTION_ID, OPTION_LQ_RELAY_DATA,
};

/// What a DHCPv6 leasequery asks (RFC 5007 §4.1.2.1, RFC 5460 query types 3-5).
///
/// `link` is the query's link-address; `::` leaves the link to the server.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum QueryKey6 {
    /// QUERY_BY_ADDRESS (1): the client bound to the address or delegated a prefix holding it.
    Address {
        /// The address asked about.
        address: Ipv6Addr,
        /// link-address.
        link: Ipv6Addr,
    },
    /// QUERY_BY_CLIENTID (2): the client with this DUID.
    ClientId {
        /// The client's DUID.
        duid: Duid,
        /// link-address.
        link: Ipv6Addr,
    },
    /// QUERY_BY_RELAY_ID (3, bulk only): clients last seen through the relay with this DUID.
    RelayId {
        /// The relay agent's DUID.
        duid: Duid,
        /// link-address.
        link: Ipv6Addr,
    },
    /// QUERY_BY_LINK_ADDRESS (4, bulk only): clients on the link.
    LinkAddress(Ipv6Addr),
    /// QUERY_BY_REMOTE_ID (5, bulk only): clients last seen with this relay remote-id.
    RemoteId {
        /// IANA enterprise number of the remote-id.
        enterprise_number: u32,
        /// The remote-id.
        remote_id: Vec<u8>,
        /// link-address.
        link: Ipv6Addr,
    },
}

/// Why a [`QueryKey6`] cannot be asked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyError6 {
    /// Query types 3-5 are RFC 5460's, bulk leasequery's, over TCP: not sent over UDP (a UDP
    /// responder answers them UnknownQueryType).
    BulkOnly(QueryType),
    /// QUERY_BY_LINK_ADDRESS with link-address `::` names no link.
    UnspecifiedLink,
}

impl fmt::Display for KeyError6 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            KeyError6::BulkOnly(t) => write!(
                f,
                "query type {} exists only in bulk leasequery over TCP (RFC 5460); use `lessor bulk`",
                u8::from(*t)
            ),
            KeyError6::UnspecifiedLink => f.write_str("a query by link-address needs a link, not ::"),
        }
    }
}

impl std::error::Error for KeyError6 {}

/// The options asked for inside OPTION_LQ_QUERY when the caller names none: LQ_RELAY_DATA (47),
/// which servers return only when asked (RFC 5007 §4.1.2.4).
pub const DEFAULT_ORO6: [u16; 1] = [OPTION_LQ_RELAY_DATA];

impl QueryKey6 {
    /// query-type.
    pub fn query_type(&self) -> QueryType {
        match self {
            QueryKey6::Address { .. } => QueryType::ByAddress,
            QueryKey6::ClientId { .. } => QueryType::ByClientId,
            QueryKey6::RelayId { .. } => QueryType::ByRelayId,
            QueryKey6::LinkAddress(_) => QueryType::ByLinkAddress,
            QueryKey6::RemoteId { .. } => QueryType::ByRemoteId,
        }
    }

    /// link-address.
    pub fn link(&self) -> Ipv6Addr {
        match self {
            QueryKey6::Address { link, .. }
            | QueryKey6::ClientId { link, .. }
            | QueryKey6::RelayId { link, .. }
            | QueryKey6::RemoteId { link, .. }
            | QueryKey6::LinkAddress(link) => *link,
        }
    }

    /// The same query on another link (a CLIENT_LINK follow-up, RFC 5007 §4.3.3).
    pub fn on_link(&self, at: Ipv6Addr) -> QueryKey6 {
        let mut key = self.clone();
        match &mut key {
            QueryKey6::Address { link, .. }
            | QueryKey6::ClientId { link, .. }
            | QueryKey6::RelayId { link, .. }
            | QueryKey6::RemoteId { link, .. }
            | QueryKey6::LinkAddress(link) => *link = at,
        }
        key
    }

    /// Whether the key can be asked over UDP (query types 1 and 2).
    pub fn validate_udp(&self) -> Result<(), KeyError6> {
        self.validate()?;
        match self.query_type() {
            QueryType::ByAddress | QueryType::ByClientId => Ok(()),
            t => Err(KeyError6::BulkOnly(t)),
        }
    }

    /// Whether the key can be asked at all (over bulk TCP).
    pub fn validate(&self) -> Result<(), KeyError6> {
        match self {
            QueryKey6::LinkAddress(l) if l.is_unspecified() => Err(KeyError6::UnspecifiedLink),
            _ => Ok(()),
        }
    }

    /// The OPTION_LQ_QUERY asking this key, with `oro` (empty: no ORO) in its query-options.
    pub fn lq_query(&self, oro: &[u16]) -> DhcpOption {
        let mut options = match self {
            QueryKey6::Address { address, .. } => vec![DhcpOption::IaAddr {
                address: *address,
                preferred_lifetime: 0,
                valid_lifetime: 0,
                options: Vec::new(),
            }],
            QueryKey6::ClientId { duid, .. } => vec![DhcpOption::ClientId(duid.clone())],
            QueryKey6::RelayId { duid, .. } => vec![DhcpOption::RelayId(duid.clone())],
            QueryKey6::LinkAddress(_) => Vec::new(),
            QueryKey6::RemoteId {
                enterprise_number,
                remote_id,
                ..
            } => vec![DhcpOption::RemoteId {
                enterprise_number: *enterprise_number,
                remote_id: remote_id.clone(),
            }],
        };
        if !oro.is_empty() {
            options.push(DhcpOption::Oro(oro.to_vec()));
        }
        DhcpOption::LqQuery {
            query_type: self.query_type(),
            link_address: self.link(),
            options,
        }
    }

    /// The LEASEQUERY (RFC 5007 §4.3.1): CLIENTID `requestor`, the LQ_QUERY, and SERVERID
    /// `server` when given (only for a multicast query meant for one server; ISC dhcpd 4.4.3
    /// drops every LEASEQUERY that carries one, docs/query.md "DHCPv6").
    pub fn message(
        &self,
        transaction_id: u32,
        requestor: &Duid,
        server: Option<&Duid>,
        oro: &[u16],
    ) -> Repr {
        let mut options = vec![DhcpOption::ClientId(requestor.clone())];
        if let Some(s) = server {
            options.push(DhcpOption::ServerId(s.clone()));
        }
        options.push(self.lq_query(oro));
        Repr::ClientServer(ClientServerMessage {
            msg_type: MessageType::Leasequery,
            transaction_id: transaction_id & MAX_TRANSACTION_ID,
            options,
        })
    }

    /// [`QueryKey6::message`] as octets.
    pub fn encode(
        &self,
        transaction_id: u32,
        requestor: &Duid,
        server: Option<&Duid>,
        oro: &[u16],
    ) -> Vec<u8> {
        self.message(transaction_id, requestor, server, oro)
            .to_vec()
    }
}

/// Why a datagram is not a LEASEQUERY-REPLY the requestor may use (RFC 5007 §4.2.2).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReplyError6 {
    /// Not a well-formed DHCPv6 message.
    Malformed(lessor_wire::Error),
    /// A message of another type.
    NotLeasequeryReply(MessageType),
    /// No OPTION_SERVERID (§4.2.2).
    NoServerId,
    /// No OPTION_CLIENTID (§4.2.2).
    NoClientId,
    /// OPTION_CLIENTID is not the requestor's DUID (§4.2.2).
    ClientIdMismatch,
}

impl fmt::Display for ReplyError6 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ReplyError6::Malformed(e) => write!(f, "malformed reply: {e}"),
            ReplyError6::NotLeasequeryReply(t) => {
                write!(
                    f,
                    "message type {} does not answer a leasequery",
                    u8::from(*t)
                )
            }
            ReplyError6::NoServerId => f.write_str("reply without SERVERID (RFC 5007 §4.2.2)"),
            ReplyError6::NoClientId => f.write_str("reply without CLIENTID (RFC 5007 §4.2.2)"),
            ReplyError6::ClientIdMismatch => {
                f.write_str("reply CLIENTID is not our DUID (RFC 5007 §4.2.2)")
            }
        }
    }
}

impl std::error::Error for ReplyError6 {}

/// One OPTION_IAADDR of a client.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Address6 {
    /// The address.
    pub address: Ipv6Addr,
    /// Preferred lifetime left, seconds.
    pub preferred_lifetime: u32,
    /// Valid lifetime left, seconds.
    pub valid_lifetime: u32,
}

/// One OPTION_IAPREFIX of a client.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Prefix6 {
    /// The prefix.
    pub prefix: Ipv6Addr,
    /// Its length, bits (as received).
    pub length: u8,
    /// Preferred lifetime left, seconds.
    pub preferred_lifetime: u32,
    /// Valid lifetime left, seconds.
    pub valid_lifetime: u32,
}

/// One relay agent of an LQ_RELAY_DATA chain, outermost first.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct RelayHop {
    /// hop-count.
    pub hop_count: u8,
    /// link-address.
    pub link_address: Ipv6Addr,
    /// peer-address.
    pub peer_address: Ipv6Addr,
    /// The hop's options but its RELAY_MSG (INTERFACE_ID, REMOTE_ID, RELAY_ID, ...).
    pub options: Vec<DhcpOption>,
}

/// OPTION_LQ_RELAY_DATA (RFC 5007 §4.1.2.4), decoded hop by hop.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct RelayData6 {
    /// The relay agent the server heard the client through.
    pub peer_address: Ipv6Addr,
    /// The RELAY-FORW chain, outermost hop first.
    pub hops: Vec<RelayHop>,
}

impl RelayData6 {
    fn decode(peer_address: Ipv6Addr, message: &Repr) -> RelayData6 {
        let mut hops = Vec::new();
        let mut at = Some(message);
        // Bounded: the chain was parsed under the wire crate's depth budget.
        while let Some(Repr::Relay(r)) = at {
            hops.push(RelayHop {
                hop_count: r.hop_count,
                link_address: r.link_address,
                peer_address: r.peer_address,
                options: r
                    .options
                    .iter()
                    .filter(|o| !matches!(o, DhcpOption::RelayMsg(_)))
                    .cloned()
                    .collect(),
            });
            at = r.relay_message();
        }
        RelayData6 { peer_address, hops }
    }
}

/// One OPTION_CLIENT_DATA: a client's bindings on one link (RFC 5007 §4.1.2.2).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ClientData6 {
    /// The link the data is about, when the query named one (a CLIENT_LINK follow-up).
    pub link: Option<Ipv6Addr>,
    /// The client's DUID.
    pub client_id: Option<Duid>,
    /// Addresses (IAADDR), in wire order.
    pub addresses: Vec<Address6>,
    /// Delegated prefixes (IAPREFIX), in wire order.
    pub prefixes: Vec<Prefix6>,
    /// OPTION_CLT_TIME as received: seconds since the server last heard from the client
    /// (§4.1.2.3). ISC dhcpd 4.4.3 sends an absolute time instead: see [`ClientData6::cltt_ago`].
    pub clt_time: Option<u32>,
    /// LQ_RELAY_DATA, decoded.
    pub relay: Option<RelayData6>,
    /// Every other client option, in wire order.
    pub options: Vec<DhcpOption>,
}

/// A CLT_TIME at or above this (2001-09-09 as seconds since 1970) is read as an absolute time,
/// as ISC dhcpd 4.4.3 sends it; no server has been silent about a client for 31 years
/// (docs/protocol.md decision 22).
pub const ABSOLUTE_CLT_TIME: u32 = 1_000_000_000;

impl ClientData6 {
    fn decode(options: &[DhcpOption]) -> ClientData6 {
        let mut data = ClientData6 {
            link: None,
            client_id: None,
            addresses: Vec::new(),
            prefixes: Vec::new(),
            clt_time: None,
            relay: None,
            options: Vec::new(),
        };
        for o in options {
            match o {
                DhcpOption::ClientId(d) if data.client_id.is_none() => {
                    data.client_id = Some(d.clone())
                }
                DhcpOption::IaAddr {
                    address,
                    preferred_lifetime,
                    valid_lifetime,
                    ..
                } => data.addresses.push(Address6 {
                    address: *address,
                    preferred_lifetime: *preferred_lifetime,
                    valid_lifetime: *valid_lifetime,
                }),
                DhcpOption::IaPrefix {
                    preferred_lifetime,
                    valid_lifetime,
                    prefix_length,
                    prefix,
                    ..
                } => data.prefixes.push(Prefix6 {
                    prefix: *prefix,
                    length: *prefix_length,
                    preferred_lifetime: *preferred_lifetime,
                    valid_lifetime: *valid_lifetime,
                }),
                DhcpOption::CltTime(t) if data.clt_time.is_none() => data.clt_time = Some(*t),
                DhcpOption::LqRelayData {
                    peer_address,
                    relay_message,
                } if data.relay.is_none() => {
                    data.relay = Some(RelayData6::decode(*peer_address, relay_message))
                }
                other => data.options.push(other.clone()),
            }
        }
        data
    }

    /// Seconds since the server last heard from the client, at reception: CLT_TIME, or for an
    /// absolute CLT_TIME (at or above [`ABSOLUTE_CLT_TIME`]) `now_unix` minus it (0 when in
    /// the future). `None` without CLT_TIME.
    pub fn cltt_ago(&self, now_unix: u64) -> Option<u32> {
        let t = self.clt_time?;
        if t >= ABSOLUTE_CLT_TIME {
            Some(
                now_unix
                    .saturating_sub(u64::from(t))
                    .min(u64::from(u32::MAX)) as u32,
            )
        } else {
            Some(t)
        }
    }
}

/// A LEASEQUERY-REPLY (or a bulk LEASEQUERY-DATA), typed.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct LeaseInfo6 {
    /// The message type: LEASEQUERY-REPLY, or LEASEQUERY-DATA in a bulk stream.
    pub msg_type: MessageType,
    /// transaction-id.
    pub transaction_id: u32,
    /// The server's DUID (a bulk LEASEQUERY-DATA carries none).
    pub server_id: Option<Duid>,
    /// STATUS_CODE (code, message) when present.
    pub status: Option<(u16, String)>,
    /// The client data: one per link (CLIENT_LINK follow-ups add one per link).
    pub clients: Vec<ClientData6>,
    /// OPTION_LQ_CLIENT_LINK: the client is on these links (§4.1.2.5).
    pub client_links: Vec<Ipv6Addr>,
    /// CLIENT_DATA options dropped for lacking CLT_TIME (§4.3.3).
    pub discarded: usize,
}

impl LeaseInfo6 {
    /// Reads a LEASEQUERY-REPLY, LEASEQUERY-DATA or LEASEQUERY-DONE, checking what RFC 5007
    /// §4.2.2 asks of a reply: CLIENTID is `requestor` (when given: bulk DATA and DONE carry
    /// none) and a SERVERID is present (`require_server_id`). The transaction-id is checked by
    /// the caller, who knows which it used. CLIENT_DATA without CLT_TIME is dropped when
    /// `keep_without_clt` is false (§4.3.3; erratum 3763 keeps it, docs/protocol.md decision 22).
    pub fn parse(
        bytes: &[u8],
        requestor: Option<&Duid>,
        require_server_id: bool,
        keep_without_clt: bool,
    ) -> Result<LeaseInfo6, ReplyError6> {
        let repr = Repr::from_bytes(bytes).map_err(ReplyError6::Malformed)?;
        let Repr::ClientServer(m) = repr else {
            return Err(ReplyError6::NotLeasequeryReply(repr.msg_type()));
        };
        if !matches!(
            m.msg_type,
            MessageType::LeasequeryReply
                | MessageType::LeasequeryData
                | MessageType::LeasequeryDone
        ) {
            return Err(ReplyError6::NotLeasequeryReply(m.msg_type));
        }
        let mut server_id = None;
        let mut client_id = None;
        let mut info = LeaseInfo6 {
            msg_type: m.msg_type,
            transaction_id: m.transaction_id,
            server_id: None,
            status: None,
            clients: Vec::new(),
            client_links: Vec::new(),
            discarded: 0,
        };
        for o in &m.options {
            match o {
                DhcpOption::ServerId(d) if server_id.is_none() => server_id = Some(d.clone()),
                DhcpOption::ClientId(d) if client_id.is_none() => client_id = Some(d),
                DhcpOption::StatusCode { code, message } if info.status.is_none() => {
                    info.status = Some((*code, String::from_utf8_lossy(message).into_owned()))
                }
                DhcpOption::ClientData(options) => {
                    let data = ClientData6::decode(options);
                    if data.clt_time.is_none() && !keep_without_clt {
                        info.discarded += 1;
                    } else {
                        info.clients.push(data);
                    }
                }
                DhcpOption::LqClientLink(links) => info.client_links.extend_from_slice(links),
                _ => {}
            }
        }
        if require_server_id && server_id.is_none() {
            return Err(ReplyError6::NoServerId);
        }
        if let Some(me) = requestor {
            match client_id {
                None => return Err(ReplyError6::NoClientId),
                Some(d) if d.to_vec() != me.to_vec() => return Err(ReplyError6::ClientIdMismatch),
                Some(_) => {}
            }
        }
        info.server_id = server_id;
        Ok(info)
    }

    /// Whether the status is success (absent or 0).
    pub fn is_success(&self) -> bool {
        self.status
            .as_ref()
            .is_none_or(|(c, _)| *c == status::SUCCESS)
    }

    /// Whether the reply names bindings.
    pub fn is_found(&self) -> bool {
        self.is_success() && !self.clients.is_empty()
    }

    /// The status name ("NotConfigured", ...) or number.
    pub fn status_name(&self) -> Option<String> {
        self.status.as_ref().map(|(c, _)| {
            status::name(*c)
                .map(str::to_string)
                .unwrap_or_else(|| c.to_string())
        })
    }
}
