//! The exchanges a UDP generator has outstanding and their retransmission deadlines, shared by
//! `perf dora` and `perf sarr`: a map from an exchange's key to its state machine, and a
//! min-heap of (deadline, key). A client that moved on or ended leaves its old heap entries
//! behind; they are recognised as stale when popped (the client's deadline is no longer that
//! instant) and skipped, so nothing has to be removed from the middle of the heap.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};
use std::time::Instant;

/// A sans-IO exchange that may be waiting for an answer.
pub(crate) trait Deadline {
    /// When its outstanding transmission times out, if one is outstanding.
    fn deadline(&self) -> Option<Instant>;
}

/// Exchanges in flight by key, with their deadlines.
pub(crate) struct Outstanding<C> {
    live: HashMap<u32, C>,
    deadlines: BinaryHeap<Reverse<(Instant, u32)>>,
}

impl<C: Deadline> Outstanding<C> {
    pub(crate) fn new() -> Self {
        Outstanding {
            live: HashMap::new(),
            deadlines: BinaryHeap::new(),
        }
    }

    pub(crate) fn len(&self) -> usize {
        self.live.len()
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.live.is_empty()
    }

    pub(crate) fn insert(&mut self, key: u32, exchange: C) {
        self.live.insert(key, exchange);
    }

    pub(crate) fn get_mut(&mut self, key: u32) -> Option<&mut C> {
        self.live.get_mut(&key)
    }

    pub(crate) fn remove(&mut self, key: u32) -> Option<C> {
        self.live.remove(&key)
    }

    /// Remembers that `key` waits until `at`.
    pub(crate) fn wait_until(&mut self, key: u32, at: Instant) {
        self.deadlines.push(Reverse((at, key)));
    }

    /// The earliest deadline on the heap (possibly a stale one: waking early is harmless).
    pub(crate) fn next_deadline(&self) -> Option<Instant> {
        self.deadlines.peek().map(|Reverse((at, _))| *at)
    }

    /// The next exchange whose deadline is at or before `now`, skipping stale entries.
    pub(crate) fn pop_due(&mut self, now: Instant) -> Option<u32> {
        while let Some(&Reverse((at, key))) = self.deadlines.peek() {
            if at > now {
                return None;
            }
            self.deadlines.pop();
            if self.live.get(&key).and_then(Deadline::deadline) == Some(at) {
                return Some(key);
            }
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    struct Fake(Option<Instant>);
    impl Deadline for Fake {
        fn deadline(&self) -> Option<Instant> {
            self.0
        }
    }

    #[test]
    fn due_exchanges_in_deadline_order_and_stale_entries_skipped() {
        let t0 = Instant::now();
        let ms = Duration::from_millis(1);
        let mut o = Outstanding::new();
        o.insert(1, Fake(Some(t0 + 5 * ms)));
        o.wait_until(1, t0 + 5 * ms);
        o.insert(2, Fake(Some(t0 + 3 * ms)));
        o.wait_until(2, t0 + 3 * ms);
        // 3 moved on to a later deadline: its first entry is stale.
        o.insert(3, Fake(Some(t0 + 9 * ms)));
        o.wait_until(3, t0 + ms);
        o.wait_until(3, t0 + 9 * ms);
        // 4 ended: its entry is stale.
        o.wait_until(4, t0 + 2 * ms);
        assert_eq!(o.next_deadline(), Some(t0 + ms));
        assert_eq!(o.pop_due(t0), None);
        assert_eq!(o.pop_due(t0 + 6 * ms), Some(2));
        assert_eq!(o.pop_due(t0 + 6 * ms), Some(1));
        assert_eq!(o.pop_due(t0 + 6 * ms), None);
        assert_eq!(o.next_deadline(), Some(t0 + 9 * ms));
        assert_eq!(o.len(), 3);
        assert!(o.remove(3).is_some());
        assert_eq!(o.pop_due(t0 + 10 * ms), None);
        assert!(!o.is_empty());
    }
}
