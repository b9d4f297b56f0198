//! Who the client is (RFC 2131 §4.2): the client identifier (option 61) when it sent one, else
//! htype + chaddr. A binding made under one key never matches the other: a client that sends a
//! client identifier is a different client from the bare MAC address (RFC 2131 §4.2, and what a
//! PXE ROM followed by an OS with another identifier expects).

use crate::config::{ClientKey, Reservation, Subnet};
use lessor_store::{Binding4, HwAddr, Snapshot4};
use std::sync::Arc;

/// The identity of the client that sent a message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    /// Option 61 value, type octet included.
    pub client_id: Option<Vec<u8>>,
    /// htype and the first hlen octets of chaddr.
    pub hw: HwAddr,
}

impl Identity {
    /// Whether `binding` was made for this client.
    pub fn owns(&self, binding: &Binding4) -> bool {
        match &self.client_id {
            Some(id) => binding.client_id() == Some(id.as_slice()),
            None => binding.client_id().is_none() && binding.hw == self.hw,
        }
    }

    /// This client's bindings (any state), most recent first (the snapshot's order: latest
    /// client-last-transaction-time, then the store's order of transactions).
    pub fn bindings(&self, snapshot: &Snapshot4) -> Vec<Arc<Binding4>> {
        let mut all = match &self.client_id {
            Some(id) => snapshot.by_client_id(id),
            None => snapshot.by_mac(&self.hw),
        };
        all.retain(|b| self.owns(b));
        all
    }

    /// Whether a reservation names this client: by client identifier, or by Ethernet MAC
    /// address whatever the client identifier.
    pub fn matches(&self, reservation: &Reservation) -> bool {
        match &reservation.client {
            ClientKey::ClientId(id) => self.client_id.as_deref() == Some(id.as_slice()),
            ClientKey::Mac(mac) => self.hw.htype() == 1 && self.hw.chaddr() == mac.as_slice(),
        }
    }

    /// This client's reservation in `subnet`.
    pub fn reservation<'s>(&self, subnet: &'s Subnet) -> Option<&'s Reservation> {
        subnet.reservations.iter().find(|r| self.matches(r))
    }
}
