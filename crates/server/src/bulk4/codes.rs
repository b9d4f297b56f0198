//! Code points of the two DHCPv4 bulk leasequery dialects (docs/protocol.md decisions 1-3).
//!
//! | role | draft dialect | rfc6926 dialect |
//! |---|---|---|
//! | query | DHCPLEASEQUERY (10) | DHCPBULKLEASEQUERY (14) |
//! | further binding | DHCPLEASEDATA (`lease-data`, 19) | DHCPLEASEACTIVE (13) |
//! | end of a successful query | DHCPLEASEDONE (`lease-done`, 15) | DHCPLEASEQUERYDONE (15) |
//! | failure | DHCPLEASEQUERYFAIL (`lease-query-fail`, 17) | DHCPLEASEQUERYDONE (15) with status-code |
//! | status option | `status-code-option` (151), 2-octet draft code + text | 151, 1-octet RFC 6926 code + text |
//!
//! The draft's values are configurable (`[leasequery4.bulk.draft-codes]`); RFC 6926's are not.

use crate::config::schema::DraftCodes;
use lessor_wire::framing::Dialect;
use lessor_wire::v4::{DhcpOption, DraftStatus, MessageType, Rfc6926Status, StatusCode};

/// Why a query failed, independent of the dialect's numbering.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Status {
    /// draft 1 / RFC 6926 1.
    UnspecFail,
    /// draft 2; RFC 6926 has no such code and says MalformedQuery (3).
    UnknownQueryType,
    /// draft 3 / RFC 6926 3.
    MalformedQuery,
    /// draft 4 / RFC 6926 4.
    NotAllowed,
    /// draft 5 / RFC 6926 2.
    QueryTerminated,
}

impl Status {
    /// Every status, for reports.
    pub const ALL: [Status; 5] = [
        Status::UnspecFail,
        Status::UnknownQueryType,
        Status::MalformedQuery,
        Status::NotAllowed,
        Status::QueryTerminated,
    ];

    /// The draft numbering (docs/protocol.md decision 3).
    pub fn draft(self) -> DraftStatus {
        match self {
            Status::UnspecFail => DraftStatus::UnspecFail,
            Status::UnknownQueryType => DraftStatus::UnknownQueryType,
            Status::MalformedQuery => DraftStatus::MalformedQuery,
            Status::NotAllowed => DraftStatus::NotAllowed,
            Status::QueryTerminated => DraftStatus::QueryTerminated,
        }
    }

    /// The RFC 6926 numbering.
    pub fn rfc6926(self) -> Rfc6926Status {
        match self {
            Status::UnspecFail => Rfc6926Status::UnspecFail,
            Status::UnknownQueryType | Status::MalformedQuery => Rfc6926Status::MalformedQuery,
            Status::NotAllowed => Rfc6926Status::NotAllowed,
            Status::QueryTerminated => Rfc6926Status::QueryTerminated,
        }
    }

    /// A short stable name, for logs and metrics.
    pub fn name(self) -> &'static str {
        match self {
            Status::UnspecFail => "unspec-fail",
            Status::UnknownQueryType => "unknown-query-type",
            Status::MalformedQuery => "malformed-query",
            Status::NotAllowed => "not-allowed",
            Status::QueryTerminated => "query-terminated",
        }
    }
}

/// The message types and status option of one connection's dialect.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Codes {
    pub dialect: Dialect,
    /// The message type a query must have.
    pub query: u8,
    /// Bindings after the first (draft: DHCPLEASEDATA; rfc6926: DHCPLEASEACTIVE).
    pub data: u8,
    /// End of a successful query.
    pub done: u8,
    /// Failure (rfc6926: the same type as `done`, told apart by its status-code).
    pub fail: u8,
    /// The status-code option's code.
    pub status_option: u8,
}

impl Codes {
    /// The codes of `dialect` (`draft` gives the draft's configured values).
    pub fn new(dialect: Dialect, draft: &DraftCodes) -> Codes {
        match dialect {
            Dialect::Draft => Codes {
                dialect,
                query: MessageType::LeaseQuery.into(),
                data: draft.lease_data,
                done: draft.lease_done,
                fail: draft.lease_query_fail,
                status_option: draft.status_code_option,
            },
            Dialect::Rfc6926 | Dialect::V6 => Codes {
                dialect: Dialect::Rfc6926,
                query: MessageType::BulkLeaseQuery.into(),
                data: MessageType::LeaseActive.into(),
                done: MessageType::LeaseQueryDone.into(),
                // RFC 6926 §6.2.2: a status-code in DHCPLEASEQUERYDONE speaks for the whole
                // query; DHCPLEASEQUERYSTATUS belongs to active leasequery (RFC 7724).
                fail: MessageType::LeaseQueryDone.into(),
                status_option: lessor_wire::v4::code::STATUS_CODE,
            },
        }
    }

    /// Whether this is the draft dialect.
    pub fn is_draft(&self) -> bool {
        self.dialect == Dialect::Draft
    }

    /// The status option in this dialect's layout.
    pub fn status_option(&self, status: Status, text: &str) -> DhcpOption {
        if self.is_draft() {
            let value = StatusCode::draft(status.draft(), text);
            DhcpOption::Other {
                code: self.status_option,
                data: value.as_bytes().to_vec(),
            }
        } else {
            DhcpOption::StatusCode(StatusCode::rfc6926(status.rfc6926(), text))
        }
    }
}
