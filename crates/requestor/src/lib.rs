//! `lessor-requestor`: the requestor side of DHCPv4 leasequery (RFC 4388) and DHCPv6
//! leasequery (RFC 5007).
//!
//! - [`query`]: what to ask ([`QueryKey`]) and the DHCPLEASEQUERY message that asks it.
//! - [`reply`]: a DHCPLEASEACTIVE / UNASSIGNED / UNKNOWN (or legacy DHCPACK / DHCPNAK) read into a
//!   typed [`LeaseInfo`].
//! - [`requestor`]: the sans-IO state machine ([`Requestor`]): retransmission with RFC 2131 §4.1
//!   backoff, the RFC 4388 §6.6 per-server timer and pacing, several servers (§6.2, §6.8), the
//!   answer cache with negative caching (§6.5, §7) and the ciaddr restriction (§7). Time is always
//!   passed in (`now`); it never reads a clock, so every rule is tested without sleeping.
//! - [`family`]: what differs between DHCPv4 and DHCPv6 ([`family::V4`], [`family::V6`]);
//!   the [`Requestor`] is generic over it, so retransmission, pacing, the cache and merging by
//!   client-last-transaction-time are written once.
//! - [`v6`]: the DHCPv6 key ([`v6::QueryKey6`]), LEASEQUERY and LEASEQUERY-REPLY
//!   ([`v6::LeaseInfo6`], validated per RFC 5007 §4.2.2).
//! - [`udp`]: a thin blocking driver over a `std::net::UdpSocket`.
//!
//! - [`bulk`]: bulk leasequery over TCP (the bulk draft and RFC 6926): the sans-IO [`bulk::Session`]
//!   and a blocking driver, [`bulk::tcp`], that yields bindings one by one.
//! - [`recover`]: a relay agent's recovery at start: one bulk query per server, all at once,
//!   merged per bound address by client-last-transaction-time ([`recover::recover4`],
//!   [`recover::recover6`]).

#![forbid(unsafe_code)]

pub mod bulk;
pub mod family;
pub mod query;
pub mod recover;
pub mod reply;
pub mod requestor;
mod rng;
pub mod udp;
pub mod v6;

pub use family::{Family, Settings4, Settings6, V4, V6};
pub use query::{KeyError, QueryKey, DEFAULT_PARAMETERS};
pub use reply::{LeaseInfo, LeaseState, RelayInfo, ReplyError};
pub use requestor::{Answer, Config, Event, Failure, Ignored, QueryId, Requestor, SubmitError};
pub use v6::{ClientData6, KeyError6, LeaseInfo6, QueryKey6, ReplyError6};
