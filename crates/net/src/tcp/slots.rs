//! Connection slots: in total and per peer address, with the last slot kept for a peer that has
//! no connection yet.

use std::collections::HashMap;
use std::net::IpAddr;

#[derive(Debug, Default)]
pub(super) struct Slots {
    total: usize,
    by_peer: HashMap<IpAddr, usize>,
}

impl Slots {
    /// Takes a slot for `peer` if there is one it may have.
    pub(super) fn take(&mut self, peer: IpAddr, max: usize) -> bool {
        let has = self.by_peer.get(&peer).copied().unwrap_or(0);
        if self.total >= max || (max > 1 && self.total + 1 == max && has > 0) {
            return false;
        }
        self.total += 1;
        *self.by_peer.entry(peer).or_insert(0) += 1;
        true
    }

    pub(super) fn give_back(&mut self, peer: IpAddr) {
        self.total = self.total.saturating_sub(1);
        if let Some(n) = self.by_peer.get_mut(&peer) {
            *n -= 1;
            if *n == 0 {
                self.by_peer.remove(&peer);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn last_slot_is_kept_for_a_new_peer() {
        let a: IpAddr = "192.0.2.1".parse().unwrap();
        let b: IpAddr = "192.0.2.2".parse().unwrap();
        let mut slots = Slots::default();
        assert!(slots.take(a, 3));
        assert!(slots.take(a, 3));
        assert!(
            !slots.take(a, 3),
            "the last slot is not for a peer that has one"
        );
        assert!(slots.take(b, 3));
        assert!(!slots.take(b, 3), "full");
        slots.give_back(a);
        assert!(
            !slots.take(a, 3),
            "b and a each hold one: the last is for a third peer"
        );
        slots.give_back(b);
        assert!(slots.take(a, 3));
        // With one slot in all, it is whoever comes first.
        let mut one = Slots::default();
        assert!(one.take(a, 1));
        assert!(!one.take(b, 1));
    }
}
