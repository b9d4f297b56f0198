//! Rate limits on DHCPv6 client messages, checked before the engine does any work for one:
//! token buckets ([`crate::token_bucket::Table`], fixed memory, O(1)) per
//! - **client**: its DUID (a client looping or flooding);
//! - **relay**: the outermost relay's address; for direct clients the served interface, for a
//!   unicast sender its address.
//!
//! The client's bucket is charged first and a refusal charges nothing further, so one client
//! over its limit does not drain its relay's: the other clients behind it are still served.
//! The rates are `[dhcp6.rate-limit]`'s (docs/configuration.md); 0 turns a limit off.

use crate::token_bucket::Table;
use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hash};
use std::net::Ipv6Addr;

/// Client buckets kept at once.
pub const CLIENT_SLOTS: usize = 16_384;

/// Relay (and interface) buckets kept at once.
pub const RELAY_SLOTS: usize = 1_024;

/// Rates and bursts (messages per second, messages).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits6 {
    pub per_client: u32,
    pub per_client_burst: u32,
    pub per_relay: u32,
    pub per_relay_burst: u32,
}

impl From<&crate::config::schema::Dhcp6RateLimit> for Limits6 {
    fn from(c: &crate::config::schema::Dhcp6RateLimit) -> Self {
        Limits6 {
            per_client: c.per_client,
            per_client_burst: c.per_client_burst,
            per_relay: c.per_relay,
            per_relay_burst: c.per_relay_burst,
        }
    }
}

impl Default for Limits6 {
    /// `[dhcp6.rate-limit]`'s defaults.
    fn default() -> Self {
        Limits6::from(&crate::config::schema::Dhcp6RateLimit::default())
    }
}

/// Which limit refused a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Limited {
    Client,
    Relay,
}

/// Where a message came through, for the relay limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Via {
    /// Relayed: the outermost relay's address.
    Relay(Ipv6Addr),
    /// Direct, multicast on a served interface (its index).
    Interface(u32),
    /// Direct, unicast from this address.
    Source(Ipv6Addr),
}

/// The two limits of one engine.
#[derive(Debug)]
pub struct RateLimits6 {
    hashing: RandomState,
    client: Table,
    relay: Table,
}

impl RateLimits6 {
    pub fn new(l: Limits6) -> RateLimits6 {
        RateLimits6 {
            hashing: RandomState::new(),
            client: Table::new(l.per_client, l.per_client_burst, CLIENT_SLOTS),
            relay: Table::new(l.per_relay, l.per_relay_burst, RELAY_SLOTS),
        }
    }

    /// Charges one message at `now_ms`: client (when it has a DUID), then relay.
    pub fn check(&mut self, duid: Option<&[u8]>, via: Via, now_ms: u64) -> Result<(), Limited> {
        if let Some(duid) = duid {
            if !self.client.take(self.hashing.hash_one(duid), now_ms) {
                return Err(Limited::Client);
            }
        }
        if !self.relay.take(self.hashing.hash_one(via), now_ms) {
            return Err(Limited::Relay);
        }
        Ok(())
    }

    /// Buckets held (client, relay).
    pub fn buckets(&self) -> [usize; 2] {
        [self.client.live(), self.relay.live()]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_client_over_its_limit_leaves_its_relay_to_the_others() {
        let mut r = RateLimits6::new(Limits6 {
            per_client: 1,
            per_client_burst: 2,
            per_relay: 1000,
            per_relay_burst: 5,
        });
        let relay = Via::Relay("2001:db8::2".parse().unwrap());
        assert_eq!(r.check(Some(b"\x00\x03a"), relay, 0), Ok(()));
        assert_eq!(r.check(Some(b"\x00\x03a"), relay, 0), Ok(()));
        for _ in 0..100 {
            assert_eq!(r.check(Some(b"\x00\x03a"), relay, 0), Err(Limited::Client));
        }
        // The relay spent 2 of its 5.
        for n in 0..3u8 {
            assert_eq!(r.check(Some(&[0, 3, n]), relay, 0), Ok(()));
        }
        assert_eq!(r.check(Some(b"\x00\x03z"), relay, 0), Err(Limited::Relay));
        // Another relay has its own; a second later the client has one more.
        let other = Via::Relay("2001:db8::3".parse().unwrap());
        assert_eq!(r.check(Some(b"\x00\x03z"), other, 0), Ok(()));
        assert_eq!(r.check(Some(b"\x00\x03a"), other, 1_000), Ok(()));
        assert_eq!(r.buckets()[1], 2);
    }
}
