//! Rate limits on client messages, checked before a message is parsed (`[dhcp4.rate-limit]`).
//!
//! Token buckets, refilled from the injected monotonic clock in milliseconds, per:
//! - **client**: its client identifier (61), else htype + chaddr: one client looping or flooding;
//! - **circuit**: giaddr + the relay's circuit-id (option 82 sub-option 1): one subscriber port
//!   flooding with made-up hardware addresses;
//! - **relay**: giaddr; for direct clients the served interface they arrive on, and for clients
//!   unicasting from their own address (renewals, releases) the subnet of that address.
//!
//! The most specific bucket is charged first and a refusal charges nothing further, so a client
//! over its own limit does not drain its circuit's or its relay's: the other clients there are
//! still served.
//!
//! **Bounded memory, O(1) work.** Each kind of bucket lives in a fixed table allocated at start:
//! sets of [`WAYS`] slots, a key's set chosen by a hash keyed at random per engine (a flood cannot
//! aim at one set). A key not in its set takes the slot of a bucket that has refilled completely
//! (the same as a new one, nothing lost), else of the one used least recently. A flood of random
//! hardware addresses therefore costs no memory and no scan; what it evicts is other clients'
//! buckets, which start again full: the limit per client holds for a client that keeps its
//! identity, and the circuit and relay limits hold for the rest.

use crate::config::schema::Dhcp4RateLimit;
use crate::token_bucket::Table;
pub use crate::token_bucket::WAYS;
use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hash};
use std::net::Ipv4Addr;

/// Client buckets kept at once.
pub const CLIENT_SLOTS: usize = 16_384;

/// Circuit buckets kept at once.
pub const CIRCUIT_SLOTS: usize = 4_096;

/// Relay (and interface, and unicast subnet) buckets kept at once.
pub const RELAY_SLOTS: usize = 1_024;

/// Which limit refused a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Limited {
    Client,
    Circuit,
    Relay,
}

/// Where a message came through, for the relay limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Link {
    /// Relayed: giaddr.
    Relay(Ipv4Addr),
    /// Direct, on a served interface (its index).
    Interface(u32),
    /// Direct unicast from a client with an address: the configured subnet holding it.
    Subnet(usize),
}

/// The keys of one message.
#[derive(Debug, Clone, Copy)]
pub struct Keys<'a> {
    /// Option 61 value, if the client sent one.
    pub client_id: Option<&'a [u8]>,
    pub htype: u8,
    /// chaddr's first hlen octets.
    pub chaddr: &'a [u8],
    /// giaddr and circuit-id, when relayed with one.
    pub circuit: Option<(Ipv4Addr, &'a [u8])>,
    pub link: Link,
}

/// The three limits of one engine.
#[derive(Debug)]
pub struct RateLimits {
    hashing: RandomState,
    client: Table,
    circuit: Table,
    relay: Table,
}

impl RateLimits {
    /// Limits as configured, with the default table sizes.
    pub fn new(c: &Dhcp4RateLimit) -> RateLimits {
        RateLimits::with_slots(c, [CLIENT_SLOTS, CIRCUIT_SLOTS, RELAY_SLOTS])
    }

    /// Limits with `slots` buckets per kind (client, circuit, relay), each at least [`WAYS`].
    pub fn with_slots(c: &Dhcp4RateLimit, slots: [usize; 3]) -> RateLimits {
        RateLimits {
            hashing: RandomState::new(),
            client: Table::new(c.per_client, c.per_client_burst, slots[0]),
            circuit: Table::new(c.per_circuit, c.per_circuit_burst, slots[1]),
            relay: Table::new(c.per_relay, c.per_relay_burst, slots[2]),
        }
    }

    fn hash(&self, key: impl Hash) -> u64 {
        self.hashing.hash_one(key)
    }

    /// Charges one message at `now_ms`: client, then circuit, then relay; the first that has
    /// no token left refuses it.
    pub fn check(&mut self, keys: &Keys<'_>, now_ms: u64) -> Result<(), Limited> {
        let client = match keys.client_id {
            Some(id) => self.hash((0u8, id)),
            None => self.hash((1u8, keys.htype, keys.chaddr)),
        };
        if !self.client.take(client, now_ms) {
            return Err(Limited::Client);
        }
        if let Some(circuit) = keys.circuit {
            let key = self.hash(circuit);
            if !self.circuit.take(key, now_ms) {
                return Err(Limited::Circuit);
            }
        }
        let key = self.hash(keys.link);
        if !self.relay.take(key, now_ms) {
            return Err(Limited::Relay);
        }
        Ok(())
    }

    /// Buckets held (client, circuit, relay): never more than the tables' fixed sizes.
    pub fn buckets(&self) -> [usize; 3] {
        [self.client.live(), self.circuit.live(), self.relay.live()]
    }

    /// The tables' fixed sizes (client, circuit, relay).
    pub fn capacity(&self) -> [usize; 3] {
        [
            self.client.capacity(),
            self.circuit.capacity(),
            self.relay.capacity(),
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(client: (u32, u32), circuit: (u32, u32), relay: (u32, u32)) -> Dhcp4RateLimit {
        Dhcp4RateLimit {
            per_client: client.0,
            per_client_burst: client.1,
            per_circuit: circuit.0,
            per_circuit_burst: circuit.1,
            per_relay: relay.0,
            per_relay_burst: relay.1,
        }
    }

    const GIADDR: Ipv4Addr = Ipv4Addr::new(198, 51, 100, 1);

    fn keys<'a>(chaddr: &'a [u8], circuit: Option<&'a [u8]>) -> Keys<'a> {
        Keys {
            client_id: None,
            htype: 1,
            chaddr,
            circuit: circuit.map(|c| (GIADDR, c)),
            link: Link::Relay(GIADDR),
        }
    }

    #[test]
    fn a_client_over_its_limit_leaves_the_others_theirs() {
        let mut r = RateLimits::new(&config((2, 4), (1000, 1000), (1000, 1000)));
        let a = [2, 0, 0, 0, 0, 1];
        let b = [2, 0, 0, 0, 0, 2];
        for _ in 0..4 {
            assert_eq!(r.check(&keys(&a, None), 0), Ok(()));
        }
        assert_eq!(r.check(&keys(&a, None), 0), Err(Limited::Client));
        assert_eq!(r.check(&keys(&b, None), 0), Ok(()));
        // 2 per second: one token after half a second.
        assert_eq!(r.check(&keys(&a, None), 500), Ok(()));
        assert_eq!(r.check(&keys(&a, None), 500), Err(Limited::Client));
        // A client identifier is another client than the bare hardware address.
        let with_id = Keys {
            client_id: Some(&[1, 2, 0, 0, 0, 0, 1]),
            ..keys(&a, None)
        };
        assert_eq!(r.check(&with_id, 500), Ok(()));
        // A clock going backwards adds nothing and does not panic.
        assert_eq!(r.check(&keys(&a, None), 10), Err(Limited::Client));
    }

    #[test]
    fn refused_messages_do_not_drain_the_shared_buckets() {
        let mut r = RateLimits::new(&config((1, 1), (1000, 5), (1000, 10)));
        let a = [2, 0, 0, 0, 0, 1];
        for n in 0..100 {
            let got = r.check(&keys(&a, Some(b"port-1")), 0);
            assert_eq!(got.is_ok(), n == 0, "{n}");
        }
        // The circuit spent one token of 5; four more clients there are served.
        for n in 2..6u8 {
            assert_eq!(
                r.check(&keys(&[2, 0, 0, 0, 0, n], Some(b"port-1")), 0),
                Ok(())
            );
        }
        assert_eq!(
            r.check(&keys(&[2, 0, 0, 0, 0, 9], Some(b"port-1")), 0),
            Err(Limited::Circuit)
        );
        // Another port of the same relay still has its own.
        assert_eq!(
            r.check(&keys(&[2, 0, 0, 0, 0, 10], Some(b"port-2")), 0),
            Ok(())
        );
    }

    #[test]
    fn the_relay_limit_holds_a_random_mac_flood_in_fixed_memory() {
        let mut r = RateLimits::with_slots(&config((10, 20), (0, 0), (100, 200)), [64, 64, 8]);
        let mut served = 0;
        for n in 0..100_000u32 {
            let mac = [
                2,
                1,
                n.to_be_bytes()[0],
                n.to_be_bytes()[1],
                n.to_be_bytes()[2],
                7,
            ];
            if r.check(&keys(&mac, None), u64::from(n) / 100).is_ok() {
                served += 1;
            }
            let [clients, circuits, relays] = r.buckets();
            assert!(clients <= 64 && circuits == 0 && relays <= 8);
        }
        // 1,000 ms of flood: the burst (200) and 100 per second after it.
        assert!(served <= 200 + 100, "{served}");
        assert_eq!(r.capacity(), [64, 0, 8]);
    }

    #[test]
    fn zero_turns_a_limit_off() {
        let mut r = RateLimits::new(&config((0, 0), (0, 0), (0, 0)));
        for _ in 0..10_000 {
            assert_eq!(r.check(&keys(&[1, 2, 3, 4, 5, 6], Some(b"c")), 0), Ok(()));
        }
        assert_eq!(r.buckets(), [0, 0, 0]);
    }
}
