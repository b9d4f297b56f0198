//! What the UDP socket layer counts (relaxed atomics; read with [`Counters::snapshot`]).

use std::sync::atomic::{AtomicU64, Ordering};

#[derive(Debug, Default)]
pub struct Counters {
    pub received: AtomicU64,
    pub receive_errors: AtomicU64,
    /// Datagrams larger than the receive buffer, dropped.
    pub truncated: AtomicU64,
    pub sent_relay: AtomicU64,
    pub sent_client: AtomicU64,
    pub sent_broadcast: AtomicU64,
    pub sent_hardware: AtomicU64,
    pub sent_multicast: AtomicU64,
    /// Replies that left in a segmented send (one send for a run of equal-sized replies to one
    /// destination); also counted as relay or client replies.
    pub sent_segmented: AtomicU64,
    /// Replies that could not be sent (send error, no socket for the interface).
    pub send_errors: AtomicU64,
    /// Replies dropped because the socket's send buffer stayed full for
    /// [`SEND_TIMEOUT`](super::SEND_TIMEOUT) (not counted in `send_errors`).
    pub send_timeouts: AtomicU64,
    /// Hardware destinations sent as broadcast because the neighbour entry could not be
    /// installed (not root, not Ethernet); also counted in `sent_broadcast` when sent.
    pub fallbacks: AtomicU64,
}

/// A copy of [`Counters`] at one moment.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CounterSnapshot {
    pub received: u64,
    pub receive_errors: u64,
    pub truncated: u64,
    pub sent_relay: u64,
    pub sent_client: u64,
    pub sent_broadcast: u64,
    pub sent_hardware: u64,
    pub sent_multicast: u64,
    pub sent_segmented: u64,
    pub send_errors: u64,
    pub send_timeouts: u64,
    pub fallbacks: u64,
}

impl Counters {
    pub fn snapshot(&self) -> CounterSnapshot {
        let read = |counter: &AtomicU64| counter.load(Ordering::Relaxed);
        CounterSnapshot {
            received: read(&self.received),
            receive_errors: read(&self.receive_errors),
            truncated: read(&self.truncated),
            sent_relay: read(&self.sent_relay),
            sent_client: read(&self.sent_client),
            sent_broadcast: read(&self.sent_broadcast),
            sent_hardware: read(&self.sent_hardware),
            sent_multicast: read(&self.sent_multicast),
            sent_segmented: read(&self.sent_segmented),
            send_errors: read(&self.send_errors),
            send_timeouts: read(&self.send_timeouts),
            fallbacks: read(&self.fallbacks),
        }
    }
}
