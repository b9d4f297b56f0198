//! [`LeaseQueryGate`]: picks leasequery datagrams out before the DHCP engine's lock is taken.
//!
//! The engine is one state machine under one mutex; leasequery needs none of its state. Reading
//! op and option 53 through the zero-copy view is enough to route a query to the responder, so a
//! burst of queries neither waits for nor delays DHCP clients, and several receive threads answer
//! queries in parallel.

use super::counters::Counters;
use lessor_wire::v4::{Packet, BOOTREQUEST};
use std::sync::Arc;

/// Which message types belong to leasequery (the engine's own list) and the engine's counters.
#[derive(Debug, Clone)]
pub struct LeaseQueryGate {
    pub(super) types: Vec<u8>,
    pub(super) counters: Arc<Counters>,
}

impl LeaseQueryGate {
    /// Whether `payload` is a BOOTREQUEST of a leasequery message type; counted as the engine
    /// counts it when so. Anything else, malformed datagrams included, is left to the engine,
    /// which classifies and counts it.
    pub fn claims(&self, payload: &[u8]) -> bool {
        let Ok(packet) = Packet::new_checked(payload) else {
            return false;
        };
        if packet.op() != BOOTREQUEST {
            return false;
        }
        let Ok(Some(kind)) = packet.message_type() else {
            return false;
        };
        if !self.types.contains(&u8::from(kind)) {
            return false;
        }
        self.counters.count_received(kind);
        self.counters.leasequery.add();
        true
    }
}
