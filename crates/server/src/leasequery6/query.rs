//! What a LEASEQUERY asks (RFC 5007 §4.1.2.1): the query-type and its required query-option,
//! or the status code that answers it instead (§4.4.1). Over UDP the responder answers
//! QUERY_BY_ADDRESS and QUERY_BY_CLIENTID; RFC 5460's query types are bulk leasequery's, over
//! TCP, and get UnknownQueryType here ("unknown to or not supported", §4.1.3).

use super::validate::Query6;
use crate::dhcp6::options::requested;
use lessor_wire::v6::{status, DhcpOption, QueryType};
use std::net::Ipv6Addr;

/// The key of a query.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// QUERY_BY_ADDRESS: the OPTION_IAADDR's address.
    Address(Ipv6Addr),
    /// QUERY_BY_CLIENTID: the OPTION_CLIENTID's DUID, as stored.
    ClientId(Vec<u8>),
}

/// A query the responder can look up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Parsed {
    pub target: Target,
    /// The link-address; `::` for any link.
    pub link_address: Ipv6Addr,
    /// The codes the OPTION_ORO inside OPTION_LQ_QUERY asks for (not the message's own ORO,
    /// §4.1.2.1), at most [`crate::dhcp6::options::MAX_ORO`].
    pub oro: Vec<u16>,
}

/// The query's key, or the status it is answered with: UnknownQueryType before
/// MalformedQuery (a query whose type is not known has no required option to miss), both
/// before any link is looked up (docs/protocol.md decision 23).
pub fn classify(q: &Query6<'_>) -> Result<Parsed, u16> {
    let target = match q.query_type {
        QueryType::ByAddress => q.query_options.iter().find_map(|o| match o {
            DhcpOption::IaAddr { address, .. } => Some(Target::Address(*address)),
            _ => None,
        }),
        QueryType::ByClientId => q.query_options.iter().find_map(|o| match o {
            DhcpOption::ClientId(d) => Some(Target::ClientId(d.to_vec())),
            _ => None,
        }),
        _ => return Err(status::UNKNOWN_QUERY_TYPE),
    }
    .ok_or(status::MALFORMED_QUERY)?;
    Ok(Parsed {
        target,
        link_address: q.link_address,
        oro: requested(q.query_options),
    })
}
