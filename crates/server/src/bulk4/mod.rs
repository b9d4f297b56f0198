//! DHCPv4 bulk leasequery over TCP: both dialects on one listener (docs/protocol.md decisions 1-3,
//! draft-dtv-dhc-dhcpv4-bulk-leasequery-00, RFC 6926).
//!
//! Sans-IO: a [`Connection`] takes octets and the time and hands back framed replies; the
//! sockets and threads are `lessor_net::tcp`'s, which [`service`] plugs it into. The modules:
//! - [`codes`]: the code points of each dialect (the draft's configurable);
//! - [`query`]: reading, validating and classifying a query;
//! - [`stream`]: one query's replies, pulled from a store snapshot in small batches, built by
//!   the UDP responder's reply code ([`crate::leasequery4::reply`]);
//! - [`connection`]: framing, dialect, parallel queries, back-pressure, timeouts, closing;
//! - [`counters`]: the statistics;
//! - [`service`]: the connection as a `lessor_net::tcp` stream engine, the allow-list and
//!   counting as its service, and [`service::start`].

pub mod codes;
pub mod connection;
pub mod counters;
pub mod query;
pub mod service;
pub mod stream;

pub use codes::{Codes, Status};
pub use connection::{Close, Connection, Now};
pub use counters::{CloseReason, Counters};
pub use service::{start, start_reloadable, Reload, Running, Settings};

use crate::config::options::ConfiguredOption;
use crate::config::schema::DraftCodes;
use crate::config::{Config, Subnet};
use std::net::Ipv4Addr;

/// The largest message a connection takes or sends (what a 2-octet size can say).
pub const MAX_MESSAGE_SIZE: usize = lessor_wire::framing::MAX_MESSAGE_SIZE;

/// What every connection of the service shares.
#[derive(Debug, Clone)]
pub struct Params {
    /// Option 54.
    pub server_identifier: Ipv4Addr,
    /// The DHCPv4 configuration, for the client options in DHCPLEASEACTIVE and for "manages".
    pub subnets: Vec<Subnet>,
    pub global_options: Vec<ConfiguredOption>,
    /// `[leasequery4] non-sensitive-options`.
    pub non_sensitive: Vec<u8>,
    /// `[leasequery4.bulk] draft-codes`.
    pub draft_codes: DraftCodes,
    /// `queries-per-connection` (at least 1).
    pub queries_per_connection: usize,
    /// `data-timeout` and `idle-timeout`, in milliseconds.
    pub data_timeout_ms: u64,
    pub idle_timeout_ms: u64,
    /// `frame-timeout` and `first-query-timeout`, in milliseconds.
    pub frame_timeout_ms: u64,
    pub first_query_timeout_ms: u64,
    /// Largest frame taken or sent.
    pub max_message_size: usize,
}

impl Params {
    /// The parameters of `config`'s `[leasequery4.bulk]`, if it has one.
    pub fn from_config(config: &Config, server_identifier: Ipv4Addr) -> Option<Params> {
        let lq = config.leasequery4.as_ref()?;
        let bulk = lq.bulk.as_ref()?;
        let (subnets, global_options) = match &config.dhcp4 {
            Some(d) => (d.subnets.clone(), d.options.clone()),
            None => (Vec::new(), Vec::new()),
        };
        Some(Params {
            server_identifier,
            subnets,
            global_options,
            non_sensitive: lq.non_sensitive_options.clone(),
            draft_codes: bulk.draft_codes,
            queries_per_connection: usize::try_from(bulk.queries_per_connection)
                .unwrap_or(usize::MAX)
                .max(1),
            data_timeout_ms: u64::from(bulk.data_timeout.0) * 1000,
            idle_timeout_ms: u64::from(bulk.idle_timeout.0) * 1000,
            frame_timeout_ms: u64::from(bulk.frame_timeout.0) * 1000,
            first_query_timeout_ms: u64::from(bulk.first_query_timeout.0) * 1000,
            max_message_size: MAX_MESSAGE_SIZE,
        })
    }
}

#[cfg(test)]
mod tests;
