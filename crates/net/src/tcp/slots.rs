//! Connection slots: in total and per peer address (at most `per_peer` each), with the last slot
//! kept for a peer that has no connection yet.

use super::Refused;
use std::collections::HashMap;
use std::net::IpAddr;

#[derive(Debug, Default)]
pub(super) struct Slots {
    total: usize,
    by_peer: HashMap<IpAddr, usize>,
}

impl Slots {
    /// Takes a slot for `peer` if there is one it may have: fewer than `max` in all and fewer
    /// than `per_peer` of its own.
    pub(super) fn take(
        &mut self,
        peer: IpAddr,
        max: usize,
        per_peer: usize,
    ) -> Result<(), Refused> {
        let has = self.by_peer.get(&peer).copied().unwrap_or(0);
        if has >= per_peer {
            return Err(Refused::PerPeer);
        }
        if self.total >= max || (max > 1 && self.total + 1 == max && has > 0) {
            return Err(Refused::Full);
        }
        self.total += 1;
        *self.by_peer.entry(peer).or_insert(0) += 1;
        Ok(())
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
        let any = usize::MAX;
        assert_eq!(slots.take(a, 3, any), Ok(()));
        assert_eq!(slots.take(a, 3, any), Ok(()));
        assert_eq!(
            slots.take(a, 3, any),
            Err(Refused::Full),
            "the last slot is not for a peer that has one"
        );
        assert_eq!(slots.take(b, 3, any), Ok(()));
        assert_eq!(slots.take(b, 3, any), Err(Refused::Full));
        slots.give_back(a);
        assert_eq!(
            slots.take(a, 3, any),
            Err(Refused::Full),
            "b and a each hold one: the last is for a third peer"
        );
        slots.give_back(b);
        assert_eq!(slots.take(a, 3, any), Ok(()));
        // With one slot in all, it is whoever comes first.
        let mut one = Slots::default();
        assert_eq!(one.take(a, 1, any), Ok(()));
        assert_eq!(one.take(b, 1, any), Err(Refused::Full));
    }

    #[test]
    fn one_peer_holds_at_most_its_share() {
        let a: IpAddr = "192.0.2.1".parse().unwrap();
        let b: IpAddr = "192.0.2.2".parse().unwrap();
        let mut slots = Slots::default();
        assert_eq!(slots.take(a, 10, 2), Ok(()));
        assert_eq!(slots.take(a, 10, 2), Ok(()));
        assert_eq!(slots.take(a, 10, 2), Err(Refused::PerPeer));
        assert_eq!(slots.take(b, 10, 2), Ok(()), "others are not held back");
        slots.give_back(a);
        assert_eq!(
            slots.take(a, 10, 2),
            Ok(()),
            "a slot given back is a's again"
        );
        assert_eq!(slots.total, 3);
    }
}
