//! Leasequery query types carried in OPTION_LQ_QUERY (RFC 5007 §4.1.2.1, RFC 5460 §5.3).

/// What an OPTION_LQ_QUERY asks for.
///
/// Unknown values are kept so the server can answer them with UnknownQueryType
/// (RFC 5007 §4.3.3) instead of dropping the query as malformed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum QueryType {
    /// QUERY_BY_ADDRESS (1, RFC 5007): the query-options carry an OPTION_IAADDR.
    ByAddress,
    /// QUERY_BY_CLIENTID (2, RFC 5007): the query-options carry an OPTION_CLIENTID.
    ByClientId,
    /// QUERY_BY_RELAY_ID (3, RFC 5460): the query-options carry an OPTION_RELAY_ID.
    ByRelayId,
    /// QUERY_BY_LINK_ADDRESS (4, RFC 5460): the link-address field names the link.
    ByLinkAddress,
    /// QUERY_BY_REMOTE_ID (5, RFC 5460): the query-options carry an OPTION_REMOTE_ID.
    ByRemoteId,
    /// Any other value, kept as received.
    Unknown(u8),
}

impl From<u8> for QueryType {
    fn from(value: u8) -> Self {
        match value {
            1 => QueryType::ByAddress,
            2 => QueryType::ByClientId,
            3 => QueryType::ByRelayId,
            4 => QueryType::ByLinkAddress,
            5 => QueryType::ByRemoteId,
            other => QueryType::Unknown(other),
        }
    }
}

impl From<QueryType> for u8 {
    fn from(value: QueryType) -> Self {
        match value {
            QueryType::ByAddress => 1,
            QueryType::ByClientId => 2,
            QueryType::ByRelayId => 3,
            QueryType::ByLinkAddress => 4,
            QueryType::ByRemoteId => 5,
            QueryType::Unknown(other) => other,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_octet_roundtrips() {
        for v in 0..=u8::MAX {
            assert_eq!(u8::from(QueryType::from(v)), v);
        }
        assert_eq!(QueryType::from(5), QueryType::ByRemoteId);
        assert_eq!(QueryType::from(6), QueryType::Unknown(6));
    }
}
