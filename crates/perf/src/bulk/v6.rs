//! DHCPv6 bulk leasequery (RFC 5460) for `lessor perf bulk`: the query ([`Query6`]) and the
//! reading of its replies ([`Rules6`]).
//!
//! The query is `lessor bulk`'s: a LEASEQUERY built by `lessor-requestor`'s [`QueryKey6`], with
//! the requestor's CLIENTID and OPTION_ORO asking for LQ_RELAY_DATA, so the server does the work
//! it does for a real requestor. Per reply only the message type and transaction-id are read,
//! and for a LEASEQUERY-REPLY or -DONE the option codes of the top level (not the contents of
//! CLIENT_DATA), to see whether CLIENT_DATA or a STATUS_CODE is there:
//! - LEASEQUERY-REPLY (15) first: with CLIENT_DATA a binding, unless it also carries a failure
//!   STATUS_CODE; with a failure STATUS_CODE the query failed; without either, nothing matched
//!   (a failed end too: the run wants bindings);
//! - LEASEQUERY-DATA (17) after a REPLY with a binding: a binding;
//! - LEASEQUERY-DONE (16) after a REPLY with a binding: the end, a failure when its STATUS_CODE
//!   is not Success;
//! - anything else (a relay message, another type, a REPLY after the first message, DATA or DONE
//!   before it), a transaction-id that is not the query's, or a broken message: an error (close).

use std::net::SocketAddr;

use lessor_requestor::v6::{QueryKey6, DEFAULT_ORO6};
use lessor_wire::framing::Dialect;
use lessor_wire::v6::{
    status, Duid, OptionIter, QueryType, MAX_TRANSACTION_ID, OPTION_CLIENT_DATA, OPTION_STATUS_CODE,
};

use super::{Binding, BulkQuery, End, Reply, Rules, StreamError};

/// A DHCPv6 bulk query.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Query6 {
    /// What to ask for.
    pub key: QueryKey6,
    /// The requestor's DUID (OPTION_CLIENTID).
    pub requestor: Duid,
    /// OPTION_ORO inside LQ_QUERY (none when empty).
    pub oro: Vec<u16>,
}

impl Query6 {
    /// A query for `key` from `requestor`, asking for LQ_RELAY_DATA as `lessor bulk` does.
    pub fn new(key: QueryKey6, requestor: Duid) -> Query6 {
        Query6 {
            key,
            requestor,
            oro: DEFAULT_ORO6.to_vec(),
        }
    }
}

impl BulkQuery for Query6 {
    type Rules = Rules6;

    fn dialect(&self) -> Dialect {
        Dialect::V6
    }

    fn validate(&self) -> Result<(), String> {
        self.key.validate().map_err(|e| e.to_string())
    }

    fn transaction_id(n: u32) -> u32 {
        n & MAX_TRANSACTION_ID
    }

    fn encode(&self, xid: u32, _local: SocketAddr) -> Vec<u8> {
        self.key.encode(xid, &self.requestor, None, &self.oro)
    }

    fn rules(&self, xid: u32) -> Rules6 {
        Rules6::new(xid)
    }

    fn by(&self) -> &'static str {
        match self.key.query_type() {
            QueryType::ByAddress => "ip",
            QueryType::ByClientId => "client-id",
            QueryType::ByRelayId => "relay-id",
            QueryType::ByLinkAddress => "link-address",
            QueryType::ByRemoteId => "remote-id",
            _ => "other",
        }
    }
}

/// LEASEQUERY-REPLY, -DONE and -DATA (RFC 5460 §4.1; the tests tie them to lessor-wire's).
pub(super) const REPLY: u8 = 15;
pub(super) const DONE: u8 = 16;
pub(super) const DATA: u8 = 17;

/// How the replies to one DHCPv6 bulk query are read.
#[derive(Debug, Clone)]
pub struct Rules6 {
    xid: u32,
    /// The REPLY with a binding came: DATA and DONE may follow.
    replied: bool,
}

impl Rules6 {
    /// The rules for the query with transaction-id `xid`.
    pub fn new(xid: u32) -> Rules6 {
        Rules6 {
            xid: xid & MAX_TRANSACTION_ID,
            replied: false,
        }
    }
}

/// Whether the top-level options hold CLIENT_DATA, and the STATUS_CODE's code (1, UnspecFail,
/// when its value is too short).
fn scan(options: &[u8]) -> Result<(bool, Option<u16>), StreamError> {
    let (mut client_data, mut code) = (false, None);
    for option in OptionIter::new(options) {
        let option = option.map_err(StreamError::Malformed)?;
        match option.code {
            OPTION_CLIENT_DATA => client_data = true,
            OPTION_STATUS_CODE if code.is_none() => {
                code = Some(match option.data {
                    [a, b, ..] => u16::from_be_bytes([*a, *b]),
                    _ => status::UNSPEC_FAIL,
                });
            }
            _ => {}
        }
    }
    Ok((client_data, code))
}

impl Rules for Rules6 {
    fn reply(&mut self, message: &[u8]) -> Result<Reply, StreamError> {
        let [kind, x0, x1, x2, options @ ..] = message else {
            return Err(StreamError::Malformed(lessor_wire::Error::Truncated));
        };
        let kind = *kind;
        if !matches!(kind, REPLY | DONE | DATA) {
            return Err(StreamError::UnexpectedType(Some(kind)));
        }
        let xid = u32::from_be_bytes([0, *x0, *x1, *x2]);
        if xid != self.xid {
            return Err(StreamError::UnknownXid(xid));
        }
        if (kind == REPLY) == self.replied {
            // A second REPLY, or DATA / DONE before the REPLY.
            return Err(StreamError::UnexpectedType(Some(kind)));
        }
        if kind == DATA {
            return Ok(Reply::Binding(Binding::Data));
        }
        let (client_data, code) = scan(options)?;
        let failed = code.filter(|&c| c != status::SUCCESS);
        Ok(match (kind, failed, client_data) {
            (_, Some(status), _) => Reply::End(End::Failed { kind, status }),
            (DONE, None, _) => Reply::End(End::Done),
            (_, None, true) => {
                self.replied = true;
                Reply::Binding(Binding::Active)
            }
            (_, None, false) => Reply::End(End::NotFound(kind)),
        })
    }
}
