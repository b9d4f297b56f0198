//! RFC 5007 §4.2.1: what a LEASEQUERY must carry to be answered at all. A message that fails
//! here is discarded, whoever sent it (docs/protocol.md decision 23). LEASEQUERY-REPLY never
//! gets this far: the router discards servers' messages (§4.2.2).

use super::counters::DropReason;
use lessor_wire::v6::{ClientServerMessage, DhcpOption, QueryType};
use std::net::Ipv6Addr;

/// A LEASEQUERY that passed §4.2.1, borrowed from the parsed message.
#[derive(Debug, Clone, Copy)]
pub struct Query6<'a> {
    pub transaction_id: u32,
    /// The requester's OPTION_CLIENTID, echoed in the reply.
    pub client_id: &'a DhcpOption,
    /// The first OPTION_LQ_QUERY's fields.
    pub query_type: QueryType,
    pub link_address: Ipv6Addr,
    pub query_options: &'a [DhcpOption],
}

/// Checks §4.2.1 against this server's DUID (`server_duid`, as sent in OPTION_SERVERID). A
/// SERVERID naming this server is fine: only a foreign one is discarded (docs/protocol.md
/// decision 23).
pub fn read<'a>(m: &'a ClientServerMessage, server_duid: &[u8]) -> Result<Query6<'a>, DropReason> {
    let client_id = m
        .options
        .iter()
        .find(|o| matches!(o, DhcpOption::ClientId(_)))
        .ok_or(DropReason::NoClientId)?;
    let foreign = m.options.iter().any(|o| match o {
        DhcpOption::ServerId(d) => d.to_vec() != server_duid,
        _ => false,
    });
    if foreign {
        return Err(DropReason::ForeignServerId);
    }
    let (query_type, link_address, query_options) = m
        .options
        .iter()
        .find_map(|o| match o {
            DhcpOption::LqQuery {
                query_type,
                link_address,
                options,
            } => Some((*query_type, *link_address, options.as_slice())),
            _ => None,
        })
        .ok_or(DropReason::NoQuery)?;
    Ok(Query6 {
        transaction_id: m.transaction_id,
        client_id,
        query_type,
        link_address,
        query_options,
    })
}
