//! Who may ask, and how often: the DHCPv4 responder's allow-list and token buckets
//! ([`crate::leasequery4::access`], generic over the address family), applied to DHCPv6.
//!
//! - The **requester** is the query's source address, or for a query that came inside a
//!   RELAY-FORW the innermost relay's peer-address (the requester the relay heard).
//! - The reply goes to the source address (the outermost relay for a relayed query): that is
//!   the "relay" of the shared rules, in the place of DHCPv4's giaddr.
//!
//! Both must be inside `[leasequery6] requesters` (docs/protocol.md decision 23); the
//! requester's, the relay's and the server's buckets each give one token per query, and the
//! query is then charged its work ([`RateLimiter::charge`]).

pub use crate::leasequery4::access::{AllowList, Limited, RateLimiter, BURST_SECONDS};

use crate::router6::Message6;
use std::net::Ipv6Addr;

/// The requester of `msg` and the address its reply goes to.
pub fn parties(msg: &Message6) -> (Ipv6Addr, Ipv6Addr) {
    let source = *msg.source.ip();
    let requester = crate::dhcp6::relay::innermost_hop(msg).map_or(source, |h| h.peer_address);
    (requester, source)
}
