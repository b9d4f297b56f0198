//! DHCPv6 bulk leasequery over TCP (RFC 5460; docs/protocol.md decisions 25-28).
//!
//! Sans-IO like [`crate::bulk4`], and on the same connection engine ([`crate::bulk`]): a
//! [`Connection`] takes octets and the time and hands back framed replies; the sockets and
//! threads are `lessor_net::tcp`'s, which [`service`] plugs it into. The modules:
//! - [`query`]: reading and classifying a LEASEQUERY (query types 1-5);
//! - [`stream`]: one query's replies, pulled from a store snapshot in small batches, with
//!   CLIENT_DATA built by the UDP responder's [`crate::leasequery6::client_data`];
//! - [`connection`]: the DHCPv6 [`crate::bulk::Protocol`];
//! - [`counters`]: the statistics;
//! - [`service`]: the allow-list and counting as a `lessor_net::tcp` service, and [`start`].

pub mod connection;
pub mod counters;
pub mod query;
pub mod service;
pub mod stream;

pub use crate::bulk::{Close, Limits};
pub use connection::Connection;
pub use counters::Counters;
pub use service::{start, start_reloadable, Reload, Running, Settings};

use crate::config::Config;
use crate::leasequery6::client_data;
use ipnet::Ipv6Net;
use lessor_wire::v6::Duid;

/// The largest message a connection takes or sends (what a 2-octet size can say).
pub const MAX_MESSAGE_SIZE: usize = lessor_wire::framing::MAX_MESSAGE_SIZE;

/// What every connection of the service shares.
#[derive(Debug, Clone)]
pub struct Params {
    /// The server's DUID (SERVERID of every LEASEQUERY-REPLY).
    pub server_id: Duid,
    /// The prefixes of `[[dhcp6.link]]`: a query's link-address must lie in one.
    pub links: Vec<Ipv6Net>,
    /// What CLIENT_DATA is built from: the UDP responder's (docs/protocol.md decision 29).
    pub client_data: client_data::Context,
    pub limits: Limits,
}

impl Params {
    /// The parameters of `config`'s `[leasequery6.bulk]`, if it has one.
    pub fn from_config(config: &Config, server_id: Duid) -> Option<Params> {
        let bulk = config.leasequery6.as_ref()?.bulk.as_ref()?;
        let client_data = client_data::Context::from_config(config);
        Some(Params {
            server_id,
            links: client_data.links.iter().map(|l| l.prefix).collect(),
            client_data,
            limits: Limits {
                queries_per_connection: usize::try_from(bulk.queries_per_connection)
                    .unwrap_or(usize::MAX)
                    .max(1),
                data_timeout_ms: u64::from(bulk.data_timeout.0) * 1000,
                idle_timeout_ms: u64::from(bulk.idle_timeout.0) * 1000,
                frame_timeout_ms: u64::from(bulk.frame_timeout.0) * 1000,
                first_query_timeout_ms: u64::from(bulk.first_query_timeout.0) * 1000,
                max_message_size: MAX_MESSAGE_SIZE,
            },
        })
    }
}

#[cfg(test)]
mod tests;
