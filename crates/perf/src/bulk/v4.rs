//! DHCPv4 bulk leasequery for `lessor perf bulk`: the query ([`Query4`]) and the reading of its
//! replies ([`Rules4`]).
//!
//! Per message only the op, the xid and option 53 are read (option 53 is the first option of
//! every server reply, so no further option is walked), and the status-code of the final
//! message. Message types, as in `lessor-requestor`'s bulk session (draft code points:
//! lessor-wire's [`DraftCodes`], Lessor's defaults unless the run says otherwise):
//! - bindings: DHCPLEASEACTIVE (13); draft DHCPLEASEDATA (19); rfc6926 DHCPLEASEUNASSIGNED (11);
//! - end: DHCPLEASEDONE / DHCPLEASEQUERYDONE (15) without a failure status-code is the
//!   completion wanted; draft DHCPLEASEUNASSIGNED / DHCPLEASEUNKNOWN, rfc6926 DHCPLEASEUNKNOWN
//!   ("nothing found"), draft DHCPLEASEQUERYFAIL (17), rfc6926 DONE with a failure status or
//!   DHCPLEASEQUERYSTATUS (17) end it otherwise;
//! - anything else, a reply with another xid, or a broken frame: an error (close).

use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use lessor_wire::framing::Dialect;
use lessor_wire::v4::{
    code, DhcpOption, DraftCodes, MessageType, Packet, QueryKey, Repr, BOOTREPLY,
};

use super::{Binding, BulkQuery, Counter, End, Reply, Rules, StreamError};
use crate::leasequery::{encode_query, MIN_QUERY_LEN};

/// A bulk query for `key` in `dialect`: the DHCPLEASEQUERY of `lessor perf leasequery`
/// ([`encode_query`]), as DHCPBULKLEASEQUERY (14) in the rfc6926 dialect.
pub fn encode_bulk_query(key: &QueryKey, xid: u32, giaddr: Ipv4Addr, dialect: Dialect) -> Vec<u8> {
    let bytes = encode_query(key, xid, giaddr);
    if dialect == Dialect::Draft {
        return bytes;
    }
    let Ok(mut repr) = Repr::from_bytes(&bytes) else {
        return bytes;
    };
    repr.set_option(DhcpOption::MessageType(MessageType::BulkLeaseQuery));
    let mut bytes = repr.to_vec();
    if bytes.len() < MIN_QUERY_LEN {
        bytes.resize(MIN_QUERY_LEN, 0);
    }
    bytes
}

/// A DHCPv4 bulk query.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Query4 {
    /// What to ask for (not by IP in the rfc6926 dialect: RFC 6926 has no such query).
    pub key: QueryKey,
    /// Framing and message types.
    pub dialect: Dialect,
    /// The draft's code points (draft dialect only; Lessor's defaults unless a server uses others).
    pub draft_codes: DraftCodes,
    /// giaddr of the queries; `None`: the connection's local address.
    pub giaddr: Option<Ipv4Addr>,
}

impl Query4 {
    /// A query for `key` in the rfc6926 dialect, giaddr the connection's local address.
    pub fn new(key: QueryKey) -> Query4 {
        Query4 {
            key,
            dialect: Dialect::Rfc6926,
            draft_codes: DraftCodes::DEFAULT,
            giaddr: None,
        }
    }
}

impl BulkQuery for Query4 {
    type Rules = Rules4;

    fn dialect(&self) -> Dialect {
        self.dialect
    }

    fn validate(&self) -> Result<(), String> {
        if !self.dialect.is_v4() {
            return Err("the dialect must be draft or rfc6926".into());
        }
        if matches!(self.key, QueryKey::Ip(_)) && self.dialect != Dialect::Draft {
            return Err("RFC 6926 has no query by IP address (use --dialect draft)".into());
        }
        Ok(())
    }

    fn transaction_id(n: u32) -> u32 {
        n
    }

    fn encode(&self, xid: u32, local: SocketAddr) -> Vec<u8> {
        let giaddr = match (self.giaddr, local.ip()) {
            (Some(g), _) => g,
            (None, IpAddr::V4(a)) => a,
            (None, IpAddr::V6(a)) => a.to_ipv4_mapped().unwrap_or(Ipv4Addr::UNSPECIFIED),
        };
        encode_bulk_query(&self.key, xid, giaddr, self.dialect)
    }

    fn rules(&self, xid: u32) -> Rules4 {
        Rules4 {
            dialect: self.dialect,
            codes: self.draft_codes,
            xid,
        }
    }

    fn by(&self) -> &'static str {
        self.key.kind().as_str()
    }
}

/// How the replies to one DHCPv4 bulk query are read.
#[derive(Debug, Clone)]
pub struct Rules4 {
    dialect: Dialect,
    codes: DraftCodes,
    xid: u32,
}

impl Counter<Rules4> {
    /// A counter for the query `xid` in `dialect`, with Lessor's draft code points.
    pub fn new(dialect: Dialect, xid: u32) -> Counter<Rules4> {
        Counter::with_codes(dialect, DraftCodes::DEFAULT, xid)
    }

    /// A counter for the query `xid` in `dialect`, with these draft code points (the draft
    /// dialect only).
    pub fn with_codes(dialect: Dialect, codes: DraftCodes, xid: u32) -> Counter<Rules4> {
        Counter::with_rules(Rules4 {
            dialect,
            codes,
            xid,
        })
    }
}

impl Rules for Rules4 {
    fn reply(&mut self, message: &[u8]) -> Result<Reply, StreamError> {
        let p = Packet::new_checked(message).map_err(StreamError::Malformed)?;
        if p.op() != BOOTREPLY {
            return Err(StreamError::NotReply);
        }
        if p.xid() != self.xid {
            return Err(StreamError::UnknownXid(p.xid()));
        }
        let kind = match p.option(53).map_err(StreamError::Malformed)?.as_deref() {
            Some([t]) => *t,
            _ => return Err(StreamError::UnexpectedType(None)),
        };
        let draft = self.dialect == Dialect::Draft;
        let (data, done, fail, status_option) = if draft {
            (
                Some(self.codes.lease_data),
                self.codes.lease_done,
                self.codes.lease_query_fail,
                self.codes.status_code_option,
            )
        } else {
            (
                None,
                u8::from(MessageType::LeaseQueryDone),
                u8::from(MessageType::LeaseQueryStatus),
                code::STATUS_CODE,
            )
        };
        let active = u8::from(MessageType::LeaseActive);
        let unassigned = u8::from(MessageType::LeaseUnassigned);
        let unknown = u8::from(MessageType::LeaseUnknown);
        if kind == active {
            Ok(Reply::Binding(Binding::Active))
        } else if Some(kind) == data {
            Ok(Reply::Binding(Binding::Data))
        } else if !draft && kind == unassigned {
            Ok(Reply::Binding(Binding::Unassigned))
        } else if kind == unassigned || kind == unknown {
            Ok(Reply::End(End::NotFound(kind)))
        } else if kind == done || kind == fail {
            let status = p
                .option(status_option)
                .map_err(StreamError::Malformed)?
                .map(|v| status_code(self.dialect, &v));
            Ok(Reply::End(match status {
                None | Some(0) if kind == done => End::Done,
                s => End::Failed {
                    kind,
                    status: s.unwrap_or(1),
                },
            }))
        } else {
            Err(StreamError::UnexpectedType(Some(kind)))
        }
    }
}

/// The code of a status-code value: 2 octets in the draft dialect, 1 in RFC 6926's; 1
/// (UnspecFail) when too short.
fn status_code(dialect: Dialect, value: &[u8]) -> u16 {
    match (dialect, value) {
        (Dialect::Draft, [a, b, ..]) => u16::from_be_bytes([*a, *b]),
        (Dialect::Draft, _) => 1,
        (_, [a, ..]) => u16::from(*a),
        _ => 1,
    }
}
