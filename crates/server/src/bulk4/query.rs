//! Reading and classifying a bulk query (draft §7.3, RFC 6926 §6.2; docs/protocol.md decision 7).
//!
//! The keys are those of RFC 4388 plus the bulk ones; a query must carry exactly one:
//! - **IP**: a non-zero ciaddr;
//! - **MAC**: `hlen > 0` and a non-zero chaddr (a zero chaddr with htype/hlen set is no key);
//! - **client-id**: option 61 (non-empty);
//! - **relay-id** / **remote-id**: option 82 whose *only* sub-option is 12 / 2 (non-empty). For
//!   these the draft also requires ciaddr, htype, hlen and chaddr all zero and no option 61.
//!
//! A query is refused with the dialect's failure message (never by closing the connection):
//! - not a BOOTREQUEST, or options that do not parse: MalformedQuery;
//! - a message type other than the dialect's query type: UnknownQueryType (draft),
//!   MalformedQuery (RFC 6926 has no UnknownQueryType);
//! - several keys, an option 82 of another shape, or a relay-id / remote-id query with a
//!   non-zero ciaddr/htype/hlen/chaddr: MalformedQuery;
//! - rfc6926 only: a non-zero ciaddr, yiaddr or siaddr (RFC 6926 has no query by IP address:
//!   that is single leasequery's job), or query-start-time after query-end-time:
//!   MalformedQuery;
//! - no key at all: draft UnknownQueryType; in RFC 6926 that is the "query for all configured
//!   IP addresses", which Lessor does not offer: NotAllowed.
//!
//! query-start-time (154) and query-end-time (155) are read in the rfc6926 dialect only (the
//! draft does not have them; there they are ignored).

use super::codes::{Codes, Status};
use crate::leasequery4::query::identifier;
use crate::leasequery4::validate::Query;
use crate::leasequery4::Key;
use lessor_store::{HwAddr, Timestamp};
use lessor_wire::v4::{code, MessageType, Packet, RelayAgentInformation, BOOTREQUEST};

/// A query ready to be answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BulkQuery {
    /// The fields the reply builders need (shared with the UDP responder).
    pub query: Query,
    pub key: Key,
    /// query-start-time / query-end-time (rfc6926), absolute seconds since the epoch.
    pub start: Option<Timestamp>,
    pub end: Option<Timestamp>,
}

/// A query that gets a failure message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    pub xid: u32,
    pub status: Status,
    pub text: &'static str,
}

/// What could not even be refused: too short to carry an xid.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Unreadable;

fn refuse(xid: u32, status: Status, text: &'static str) -> Result<BulkQuery, Refusal> {
    Err(Refusal { xid, status, text })
}

/// The xid of a message, when it is long enough to have one.
pub fn xid_of(payload: &[u8]) -> Result<u32, Unreadable> {
    payload
        .get(4..8)
        .map(|b| u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
        .ok_or(Unreadable)
}

fn u32_option(raw: Option<std::borrow::Cow<'_, [u8]>>) -> Result<Option<Timestamp>, ()> {
    match raw {
        None => Ok(None),
        Some(v) if v.len() == 4 => Ok(Some(Timestamp::from(u32::from_be_bytes([
            v[0], v[1], v[2], v[3],
        ])))),
        Some(_) => Err(()),
    }
}

/// Parses and classifies one query of a connection speaking `codes.dialect`.
pub fn parse(payload: &[u8], codes: &Codes) -> Result<Result<BulkQuery, Refusal>, Unreadable> {
    let xid = xid_of(payload)?;
    Ok(parse_with_xid(payload, codes, xid))
}

fn parse_with_xid(payload: &[u8], codes: &Codes, xid: u32) -> Result<BulkQuery, Refusal> {
    const MALFORMED: &str = "malformed message";
    let Ok(packet) = Packet::new_checked(payload) else {
        return refuse(xid, Status::MalformedQuery, MALFORMED);
    };
    if packet.op() != BOOTREQUEST {
        return refuse(xid, Status::MalformedQuery, "not a BOOTREQUEST");
    }
    let Ok(index) = packet.index() else {
        return refuse(xid, Status::MalformedQuery, MALFORMED);
    };
    let message_type = match index.message_type() {
        Ok(Some(t)) => t,
        _ => return refuse(xid, Status::MalformedQuery, "no message type"),
    };
    if u8::from(message_type) != codes.query {
        return refuse(
            xid,
            Status::UnknownQueryType,
            "only the query message type is taken on this connection",
        );
    }
    let draft = codes.is_draft();
    let zero_addrs = packet.ciaddr().is_unspecified()
        && packet.yiaddr().is_unspecified()
        && packet.siaddr().is_unspecified();
    if !draft && !zero_addrs {
        return refuse(
            xid,
            Status::MalformedQuery,
            "ciaddr, yiaddr and siaddr must be 0",
        );
    }
    let Ok(prl) = index.parameter_request_list() else {
        return refuse(xid, Status::MalformedQuery, MALFORMED);
    };
    let Ok(client_id) = index.option(code::CLIENT_IDENTIFIER) else {
        return refuse(xid, Status::MalformedQuery, MALFORMED);
    };
    let client_id = client_id.map(|v| v.into_owned());
    if client_id.as_ref().is_some_and(|v| v.is_empty()) {
        return refuse(xid, Status::MalformedQuery, "empty client identifier");
    }
    let rai = match index.option(code::RELAY_AGENT_INFORMATION) {
        Ok(None) => None,
        Ok(Some(raw)) => match RelayAgentInformation::new_checked(raw.into_owned()) {
            Ok(r) => Some(r.as_bytes().to_vec()),
            Err(_) => return refuse(xid, Status::MalformedQuery, "malformed option 82"),
        },
        Err(_) => return refuse(xid, Status::MalformedQuery, MALFORMED),
    };
    let (start, end) = if draft {
        (None, None)
    } else {
        let start = u32_option(index.option(code::QUERY_START_TIME).ok().flatten());
        let end = u32_option(index.option(code::QUERY_END_TIME).ok().flatten());
        match (start, end) {
            (Ok(s), Ok(e)) => (s, e),
            _ => return refuse(xid, Status::MalformedQuery, "bad query-start/end-time"),
        }
    };
    if let (Some(s), Some(e)) = (start, end) {
        if s > e {
            return refuse(
                xid,
                Status::MalformedQuery,
                "query-start-time is after query-end-time",
            );
        }
    }
    let query = Query {
        message_type,
        xid,
        flags: packet.flags(),
        ciaddr: packet.ciaddr(),
        giaddr: packet.giaddr(),
        htype: packet.htype(),
        hlen: packet.hlen(),
        chaddr: packet.chaddr(),
        prl: prl.map(|p| p.into_owned()),
        max_message_size: None,
        client_id,
        relay_agent_information: rai,
    };
    let key = classify(&query)?;
    Ok(BulkQuery {
        query,
        key,
        start,
        end,
    })
}

/// The one key of `q` (see the module docs).
fn classify(q: &Query) -> Result<Key, Refusal> {
    let xid = q.xid;
    let mut keys: Vec<Key> = Vec::with_capacity(1);
    if !q.ciaddr.is_unspecified() {
        keys.push(Key::Ip(q.ciaddr));
    }
    let hw = q.client_hw_addr();
    if q.hlen > 16 {
        return Err(Refusal {
            xid,
            status: Status::MalformedQuery,
            text: "hlen larger than 16",
        });
    }
    if hw.iter().any(|&b| b != 0) {
        match HwAddr::new(q.htype, hw) {
            Ok(h) => keys.push(Key::Mac(h)),
            Err(_) => {
                return Err(Refusal {
                    xid,
                    status: Status::MalformedQuery,
                    text: "bad hardware address",
                })
            }
        }
    }
    if let Some(id) = &q.client_id {
        keys.push(Key::ClientId(id.clone()));
    }
    if let Some(raw) = q.relay_agent_information.as_deref() {
        let Some(k) = identifier(raw) else {
            return Err(Refusal {
                xid,
                status: Status::MalformedQuery,
                text: "option 82 must carry only a relay-id or only a remote-id",
            });
        };
        // Draft §7.3.1, §7.3.2: nothing else may identify a client.
        if !q.ciaddr.is_unspecified()
            || q.htype != 0
            || q.hlen != 0
            || q.chaddr.iter().any(|&b| b != 0)
            || q.client_id.is_some()
        {
            return Err(Refusal {
                xid,
                status: Status::MalformedQuery,
                text: "a relay-id or remote-id query needs ciaddr, htype, hlen and chaddr 0 and no option 61",
            });
        }
        keys.push(k);
    }
    match keys.len() {
        1 => Ok(keys.remove(0)),
        0 if q.message_type == MessageType::BulkLeaseQuery => Err(Refusal {
            xid,
            status: Status::NotAllowed,
            text: "query for all configured addresses is not offered",
        }),
        0 => Err(Refusal {
            xid,
            status: Status::UnknownQueryType,
            text: "no query key",
        }),
        _ => Err(Refusal {
            xid,
            status: Status::MalformedQuery,
            text: "more than one query key",
        }),
    }
}
