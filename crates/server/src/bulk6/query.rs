//! Reading a DHCPv6 bulk LEASEQUERY and telling what it asks (RFC 5460 §5.3, RFC 5007 §4.2,
//! docs/protocol.md decision 25).
//!
//! - A frame that is not a DHCPv6 message, or is a message other than LEASEQUERY, ends the
//!   connection (the requestor is not speaking bulk leasequery).
//! - A LEASEQUERY is answered, never silently dropped (over TCP silence would hold the
//!   requestor until its timeout): no CLIENTID or no LQ_QUERY, or the option a query type needs
//!   missing, is MalformedQuery; a SERVERID not ours is NotAllowed; an unknown query type is
//!   UnknownQueryType; a non-zero link-address on no configured link is NotConfigured
//!   (MalformedQuery goes first when both apply).

use ipnet::Ipv6Net;
use lessor_wire::v6::{
    status, DhcpOption, Duid, MessageType, QueryType, Repr, OPTION_CLIENTID, OPTION_LQ_QUERY,
    OPTION_SERVERID,
};
use std::net::Ipv6Addr;

/// What a query looks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Key {
    /// QUERY_BY_ADDRESS: the binding of the address or the delegated prefix holding it.
    Address(Ipv6Addr),
    /// QUERY_BY_CLIENTID: the client's bindings (DUID octets).
    ClientId(Vec<u8>),
    /// QUERY_BY_RELAY_ID: OPTION_RELAY_ID value.
    RelayId(Vec<u8>),
    /// QUERY_BY_LINK_ADDRESS: the bindings of the query's link (every link for `::`).
    Link,
    /// QUERY_BY_REMOTE_ID: OPTION_REMOTE_ID value (enterprise number first).
    RemoteId(Vec<u8>),
}

impl Key {
    /// The query type's number (1-5), for counters.
    pub fn query_type(&self) -> u8 {
        match self {
            Key::Address(_) => 1,
            Key::ClientId(_) => 2,
            Key::RelayId(_) => 3,
            Key::Link => 4,
            Key::RemoteId(_) => 5,
        }
    }
}

/// A query that can be answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Query {
    pub transaction_id: u32,
    /// The requestor's CLIENTID, echoed in the LEASEQUERY-REPLY.
    pub client_id: Duid,
    pub key: Key,
    /// The configured link the link-address named; `None` for `::` (any link).
    pub link: Option<Ipv6Net>,
    /// The LQ_QUERY's ORO.
    pub oro: Vec<u16>,
}

/// A query answered with a LEASEQUERY-REPLY carrying a status.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    pub transaction_id: u32,
    pub client_id: Option<Duid>,
    pub status: u16,
    pub text: &'static str,
}

/// Why a frame ends the connection.
pub type Junk = lessor_wire::Error;

/// Reads one frame. `links` are the configured links' prefixes.
pub fn parse(
    frame: &[u8],
    server_id: &Duid,
    links: &[Ipv6Net],
) -> Result<Result<Query, Refusal>, Junk> {
    let repr = Repr::from_bytes(frame)?;
    let Repr::ClientServer(m) = repr else {
        return Err(lessor_wire::Error::BadValue);
    };
    if m.msg_type != MessageType::Leasequery {
        return Err(lessor_wire::Error::BadValue);
    }
    let xid = m.transaction_id;
    let client_id = m.options.iter().find_map(|o| match o {
        DhcpOption::ClientId(d) => Some(d.clone()),
        _ => None,
    });
    let refuse = |client_id: Option<Duid>, status: u16, text| {
        Ok(Err(Refusal {
            transaction_id: xid,
            client_id,
            status,
            text,
        }))
    };
    let once = |code: u16| m.options.iter().filter(|o| o.code() == code).count() <= 1;
    if !once(OPTION_CLIENTID) || !once(OPTION_SERVERID) || !once(OPTION_LQ_QUERY) {
        return refuse(client_id, status::MALFORMED_QUERY, "option repeated");
    }
    let Some(client_id) = client_id else {
        return refuse(None, status::MALFORMED_QUERY, "no client identifier");
    };
    let server = m.options.iter().find_map(|o| match o {
        DhcpOption::ServerId(d) => Some(d),
        _ => None,
    });
    if server.is_some_and(|s| s != server_id) {
        return refuse(Some(client_id), status::NOT_ALLOWED, "not this server's");
    }
    let Some((query_type, link_address, options)) = m.options.iter().find_map(|o| match o {
        DhcpOption::LqQuery {
            query_type,
            link_address,
            options,
        } => Some((*query_type, *link_address, options)),
        _ => None,
    }) else {
        return refuse(Some(client_id), status::MALFORMED_QUERY, "no query");
    };
    let find = |f: &dyn Fn(&DhcpOption) -> Option<Key>| options.iter().find_map(f);
    let key = match query_type {
        QueryType::ByAddress => find(&|o| match o {
            DhcpOption::IaAddr { address, .. } => Some(Key::Address(*address)),
            _ => None,
        }),
        QueryType::ByClientId => find(&|o| match o {
            DhcpOption::ClientId(d) => Some(Key::ClientId(d.to_vec())),
            _ => None,
        }),
        QueryType::ByRelayId => find(&|o| match o {
            DhcpOption::RelayId(d) => Some(Key::RelayId(d.to_vec())),
            _ => None,
        }),
        QueryType::ByLinkAddress => Some(Key::Link),
        QueryType::ByRemoteId => find(&|o| match o {
            DhcpOption::RemoteId {
                enterprise_number,
                remote_id,
            } => {
                let mut v = enterprise_number.to_be_bytes().to_vec();
                v.extend_from_slice(remote_id);
                Some(Key::RemoteId(v))
            }
            _ => None,
        }),
        QueryType::Unknown(_) => {
            return refuse(
                Some(client_id),
                status::UNKNOWN_QUERY_TYPE,
                "unknown query type",
            )
        }
    };
    let Some(key) = key else {
        return refuse(
            Some(client_id),
            status::MALFORMED_QUERY,
            "query option missing",
        );
    };
    let link = if link_address.is_unspecified() {
        None
    } else {
        match links.iter().find(|n| n.contains(&link_address)) {
            Some(n) => Some(*n),
            None => {
                return refuse(
                    Some(client_id),
                    status::NOT_CONFIGURED,
                    "link not configured",
                )
            }
        }
    };
    let oro = options
        .iter()
        .find_map(|o| match o {
            DhcpOption::Oro(codes) => Some(codes.clone()),
            _ => None,
        })
        .unwrap_or_default();
    Ok(Ok(Query {
        transaction_id: xid,
        client_id,
        key,
        link,
        oro,
    }))
}
