//! Reading and classifying a bulk query (draft §7.3, RFC 6926 §6.2; docs/protocol.md decisions 7
//! and 9).
//!
//! The keys are those of RFC 4388 plus the bulk ones; a query must carry exactly one:
//! - **IP**: a non-zero ciaddr (draft dialect only: RFC 6926 has no query by IP);
//! - **MAC**: `hlen > 0` and a non-zero chaddr (a zero chaddr with htype/hlen set is no key);
//! - **client-id**: option 61 (non-empty; several instances are one option, RFC 3396);
//! - **relay-id** / **remote-id**: option 82 made only of sub-option 12 / 2 (non-empty). For
//!   these the draft also requires ciaddr, htype, hlen and chaddr all zero and no option 61.
//!
//! Option 82 counts one key per sub-option when *every* sub-option is a non-empty remote-id or
//! relay-id: remote-id + relay-id, in one option 82 or in two instances (RFC 3396 joins them into
//! one option before anything here looks at it), are two keys. Option 82 of any other shape
//! (a circuit-id, an unknown or empty sub-option) is not a key at all.
//!
//! A query is refused with the dialect's failure message (never by closing the connection), for
//! one [`Reason`] each; [`Reason::status`] gives its status in each dialect:
//! - not a DHCP message (too short, no magic cookie, hlen above 16), not a BOOTREQUEST, options
//!   that do not parse, no message type, an empty client identifier, option 82 with bad
//!   sub-option lengths or of another shape, a relay-id / remote-id query with a non-zero
//!   htype/hlen/chaddr that is no MAC address: MalformedQuery;
//! - a message type other than the dialect's query type: UnknownQueryType (draft),
//!   MalformedQuery (RFC 6926 has no UnknownQueryType);
//! - rfc6926 only: a non-zero ciaddr, yiaddr or siaddr (RFC 6926 has no query by IP address:
//!   that is single leasequery's job), bad or inverted query-start-time / query-end-time:
//!   MalformedQuery;
//! - **several keys**: draft MalformedQuery (the draft's query formats say which fields MUST be
//!   zero and that option 61 MUST NOT appear; a query breaking that is not valid), RFC 6926
//!   NotAllowed (docs/protocol.md decision 9);
//! - no key at all: draft UnknownQueryType; in RFC 6926 that is the "query for all configured
//!   IP addresses", which Lessor does not offer: NotAllowed.
//!
//! query-start-time (154) and query-end-time (155) are read in the rfc6926 dialect only (the
//! draft does not have them; there they are ignored).

use super::codes::{Codes, Status};
use crate::leasequery4::query::identifiers;
use crate::leasequery4::validate::Query;
use crate::leasequery4::Key;
use lessor_store::{HwAddr, Timestamp};
use lessor_wire::v4::{code, Packet, RelayAgentInformation, BOOTREQUEST};

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

/// Why a query is refused (see the module docs).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Reason {
    /// Not a DHCP message (too short, no magic cookie, hlen above 16), or options that do not
    /// parse.
    Unparsable,
    /// `op` is not BOOTREQUEST.
    NotBootRequest,
    /// No DHCP message type (53).
    NoMessageType,
    /// A message type other than the dialect's query type.
    NotTheQueryType,
    /// rfc6926: ciaddr, yiaddr or siaddr is not 0.
    AddressesNotZero,
    /// Option 61 of length 0.
    EmptyClientId,
    /// Option 82 whose sub-options do not parse.
    BadRelayAgentInformation,
    /// rfc6926: query-start-time or query-end-time not 4 octets.
    BadQueryTime,
    /// rfc6926: query-start-time after query-end-time.
    StartAfterEnd,
    /// Option 82 that is not made only of remote-id / relay-id sub-options.
    Option82Shape,
    /// A relay-id / remote-id query with a non-zero htype, hlen or chaddr (but no MAC address:
    /// that would be a second key, as a ciaddr or option 61 would).
    IdentifierWithClientFields,
    /// No key at all.
    NoKey,
    /// More than one key (docs/protocol.md decision 9).
    SeveralKeys,
    /// The connection is still answering a query with this xid.
    DuplicateXid,
}

impl Reason {
    /// Every reason, for reports and tests.
    pub const ALL: [Reason; 14] = [
        Reason::Unparsable,
        Reason::NotBootRequest,
        Reason::NoMessageType,
        Reason::NotTheQueryType,
        Reason::AddressesNotZero,
        Reason::EmptyClientId,
        Reason::BadRelayAgentInformation,
        Reason::BadQueryTime,
        Reason::StartAfterEnd,
        Reason::Option82Shape,
        Reason::IdentifierWithClientFields,
        Reason::NoKey,
        Reason::SeveralKeys,
        Reason::DuplicateXid,
    ];

    /// The status of the failure message, in `codes`' dialect.
    pub fn status(self, codes: &Codes) -> Status {
        let draft = codes.is_draft();
        match self {
            Reason::NotTheQueryType => Status::UnknownQueryType,
            Reason::NoKey if draft => Status::UnknownQueryType,
            Reason::NoKey => Status::NotAllowed,
            // docs/protocol.md decision 9.
            Reason::SeveralKeys if draft => Status::MalformedQuery,
            Reason::SeveralKeys => Status::NotAllowed,
            _ => Status::MalformedQuery,
        }
    }

    /// The text of the failure message.
    pub fn text(self) -> &'static str {
        match self {
            Reason::Unparsable => "malformed message",
            Reason::NotBootRequest => "not a BOOTREQUEST",
            Reason::NoMessageType => "no message type",
            Reason::NotTheQueryType => "only the query message type is taken on this connection",
            Reason::AddressesNotZero => "ciaddr, yiaddr and siaddr must be 0",
            Reason::EmptyClientId => "empty client identifier",
            Reason::BadRelayAgentInformation => "malformed option 82",
            Reason::BadQueryTime => "bad query-start/end-time",
            Reason::StartAfterEnd => "query-start-time is after query-end-time",
            Reason::Option82Shape => "option 82 must carry only a relay-id or only a remote-id",
            Reason::IdentifierWithClientFields => {
                "a relay-id or remote-id query needs htype, hlen and chaddr 0"
            }
            Reason::NoKey => "no query key",
            Reason::SeveralKeys => "more than one query key",
            Reason::DuplicateXid => "a query with this xid is still being answered",
        }
    }
}

/// A query that gets a failure message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    pub xid: u32,
    pub reason: Reason,
}

/// What could not even be refused: too short to carry an xid.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Unreadable;

fn refuse(xid: u32, reason: Reason) -> Result<BulkQuery, Refusal> {
    Err(Refusal { xid, reason })
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
    let Ok(packet) = Packet::new_checked(payload) else {
        return refuse(xid, Reason::Unparsable);
    };
    if packet.op() != BOOTREQUEST {
        return refuse(xid, Reason::NotBootRequest);
    }
    let Ok(index) = packet.index() else {
        return refuse(xid, Reason::Unparsable);
    };
    let message_type = match index.message_type() {
        Ok(Some(t)) => t,
        _ => return refuse(xid, Reason::NoMessageType),
    };
    if u8::from(message_type) != codes.query {
        return refuse(xid, Reason::NotTheQueryType);
    }
    let draft = codes.is_draft();
    let zero_addrs = packet.ciaddr().is_unspecified()
        && packet.yiaddr().is_unspecified()
        && packet.siaddr().is_unspecified();
    if !draft && !zero_addrs {
        return refuse(xid, Reason::AddressesNotZero);
    }
    let Ok(prl) = index.parameter_request_list() else {
        return refuse(xid, Reason::Unparsable);
    };
    let Ok(client_id) = index.option(code::CLIENT_IDENTIFIER) else {
        return refuse(xid, Reason::Unparsable);
    };
    let client_id = client_id.map(|v| v.into_owned());
    if client_id.as_ref().is_some_and(|v| v.is_empty()) {
        return refuse(xid, Reason::EmptyClientId);
    }
    let rai = match index.option(code::RELAY_AGENT_INFORMATION) {
        Ok(None) => None,
        Ok(Some(raw)) => match RelayAgentInformation::new_checked(raw.into_owned()) {
            Ok(r) => Some(r.as_bytes().to_vec()),
            Err(_) => return refuse(xid, Reason::BadRelayAgentInformation),
        },
        Err(_) => return refuse(xid, Reason::Unparsable),
    };
    let (start, end) = if draft {
        (None, None)
    } else {
        let start = u32_option(index.option(code::QUERY_START_TIME).ok().flatten());
        let end = u32_option(index.option(code::QUERY_END_TIME).ok().flatten());
        match (start, end) {
            (Ok(s), Ok(e)) => (s, e),
            _ => return refuse(xid, Reason::BadQueryTime),
        }
    };
    if let (Some(s), Some(e)) = (start, end) {
        if s > e {
            return refuse(xid, Reason::StartAfterEnd);
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
    let key = classify(&query).map_err(|reason| Refusal { xid, reason })?;
    Ok(BulkQuery {
        query,
        key,
        start,
        end,
    })
}

/// The one key of `q` (see the module docs).
fn classify(q: &Query) -> Result<Key, Reason> {
    let mut first: Option<Key> = None;
    let mut count = 0usize;
    let mut found = |k: Key, n: usize| {
        count += n;
        first.get_or_insert(k);
    };
    if !q.ciaddr.is_unspecified() {
        found(Key::Ip(q.ciaddr), 1);
    }
    let hw = q.client_hw_addr();
    if hw.iter().any(|&b| b != 0) {
        // Its only failure is a length above 16, which the packet check keeps out.
        let h = HwAddr::new(q.htype, hw).map_err(|_| Reason::Unparsable)?;
        found(Key::Mac(h), 1);
    }
    if let Some(id) = &q.client_id {
        found(Key::ClientId(id.clone()), 1);
    }
    let mut by_identifier = false;
    if let Some(raw) = q.relay_agent_information.as_deref() {
        let (k, n) = identifiers(raw).ok_or(Reason::Option82Shape)?;
        by_identifier = true;
        found(k, n);
    }
    match (count, first) {
        (0, _) | (_, None) => Err(Reason::NoKey),
        (1, Some(_))
            if by_identifier
                && (q.htype != 0 || q.hlen != 0 || q.chaddr.iter().any(|&b| b != 0)) =>
        {
            // Draft §7.3.1, §7.3.2: nothing else may identify a client (ciaddr and option 61
            // would be a second key, counted above).
            Err(Reason::IdentifierWithClientFields)
        }
        (1, Some(k)) => Ok(k),
        _ => Err(Reason::SeveralKeys),
    }
}
