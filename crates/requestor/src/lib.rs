//! `lessor-requestor`: the requestor side of DHCPv4 leasequery (RFC 4388).
//!
//! - [`query`]: what to ask ([`QueryKey`]) and the DHCPLEASEQUERY message that asks it.
//! - [`reply`]: a DHCPLEASEACTIVE / UNASSIGNED / UNKNOWN (or legacy DHCPACK / DHCPNAK) read into a
//!   typed [`LeaseInfo`].
//! - [`requestor`]: the sans-IO state machine ([`Requestor`]): retransmission with RFC 2131 §4.1
//!   backoff, the RFC 4388 §6.6 per-server timer and pacing, several servers (§6.2, §6.8), the
//!   answer cache with negative caching (§6.5, §7) and the ciaddr restriction (§7). Time is always
//!   passed in (`now`); it never reads a clock, so every rule is tested without sleeping.
//! - [`udp`]: a thin blocking driver over a `std::net::UdpSocket`.
//!
//! - [`bulk`]: bulk leasequery over TCP (the bulk draft and RFC 6926): the sans-IO [`bulk::Session`]
//!   and a blocking driver, [`bulk::tcp`], that yields bindings one by one.

#![forbid(unsafe_code)]

pub mod bulk;
pub mod query;
pub mod reply;
pub mod requestor;
mod rng;
pub mod udp;

pub use query::{KeyError, QueryKey, DEFAULT_PARAMETERS};
pub use reply::{LeaseInfo, LeaseState, RelayInfo, ReplyError};
pub use requestor::{Answer, Config, Event, Failure, Ignored, QueryId, Requestor, SubmitError};
