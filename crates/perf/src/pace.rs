//! Open-loop pacing of new exchanges, as perfdhcp's `-r`: exchange `n` (from 0) is due at
//! `start + n / rate`.
//!
//! A loop that falls behind (a full window, a turn descheduled on a busy machine) catches up at
//! once only as far as [`CATCH_UP`]: beyond that, the schedule slips (its start moves later by
//! what was missed). Catching up a longer stall at once would send a burst the server never sees
//! from real clients, and the figure would be how the server absorbs bursts (Kea drops what its
//! packet queue cannot hold) rather than the rate. perfdhcp does not burst either (it starts at
//! most `-a`, 1 by default, exchanges per turn). The slip is reported, and the offered rate is
//! measured over the slipped schedule, so a generator that cannot keep up shows it.

use std::time::{Duration, Instant};

/// The longest stall caught up with a burst.
pub(crate) const CATCH_UP: Duration = Duration::from_millis(5);

/// When new exchanges may start.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Pacer {
    start: Instant,
    /// Exchanges per second; `None` starts them as fast as the window allows (closed loop).
    rate: Option<u32>,
    /// How much later than planned the schedule now runs.
    slipped: Duration,
}

impl Pacer {
    pub(crate) fn new(start: Instant, rate: Option<u32>) -> Pacer {
        Pacer {
            start,
            rate: rate.filter(|r| *r > 0),
            slipped: Duration::ZERO,
        }
    }

    /// When exchange number `n` (from 0) is due.
    pub(crate) fn due_at(&self, n: u64) -> Instant {
        match self.rate {
            None => self.start,
            Some(r) => {
                // n / r seconds, exact in nanoseconds for any n a run reaches.
                let nanos = u128::from(n) * 1_000_000_000 / u128::from(r);
                self.start
                    + self.slipped
                    + Duration::from_nanos(u64::try_from(nanos).unwrap_or(u64::MAX))
            }
        }
    }

    /// Whether exchange number `n` may start at `now`. When it is due more than [`CATCH_UP`]
    /// ago, the schedule slips so that it is due `CATCH_UP` ago.
    pub(crate) fn is_due(&mut self, n: u64, now: Instant) -> bool {
        let due = self.due_at(n);
        if self.rate.is_some() {
            let late = now.saturating_duration_since(due);
            if late > CATCH_UP {
                self.slipped += late - CATCH_UP;
            }
        }
        due <= now
    }

    /// How much later than planned the schedule runs (0 in a closed loop).
    pub(crate) fn slipped(&self) -> Duration {
        self.slipped
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: Duration = Duration::from_millis(1);

    #[test]
    fn schedule_is_absolute() {
        let t0 = Instant::now();
        let mut p = Pacer::new(t0, Some(1000));
        assert_eq!(p.due_at(0), t0);
        assert_eq!(p.due_at(1), t0 + MS);
        assert_eq!(p.due_at(2500), t0 + 2500 * MS);
        assert!(p.is_due(3, t0 + 3 * MS));
        assert!(!p.is_due(4, t0 + 3 * MS));
        let p = Pacer::new(t0, Some(3));
        assert_eq!(p.due_at(1), t0 + Duration::from_nanos(333_333_333));
        // No rate (or 0): everything is due at once, nothing slips.
        for mut p in [Pacer::new(t0, None), Pacer::new(t0, Some(0))] {
            assert!(p.is_due(1_000_000, t0 + Duration::from_secs(9)));
            assert_eq!(p.slipped(), Duration::ZERO);
        }
    }

    #[test]
    fn a_short_stall_is_caught_up_a_long_one_slips() {
        let t0 = Instant::now();
        let mut p = Pacer::new(t0, Some(1000));
        // 4 ms behind: exchanges 0..=4 are due at once, the schedule stays.
        assert!((0..=4).all(|n| p.is_due(n, t0 + 4 * MS)));
        assert!(!p.is_due(5, t0 + 4 * MS));
        assert_eq!(p.slipped(), Duration::ZERO);
        // Exchange 5 (due at 5 ms) looked at 25 ms: 20 ms late, 15 of them slip.
        assert!(p.is_due(5, t0 + 25 * MS));
        assert_eq!(p.slipped(), 15 * MS);
        assert_eq!(p.due_at(5), t0 + 20 * MS);
        // So at 25 ms only 5 more (6..=10, due at 21..25 ms) are due, not 20.
        assert!((6..=10).all(|n| p.is_due(n, t0 + 25 * MS)));
        assert!(!p.is_due(11, t0 + 25 * MS));
        assert_eq!(p.slipped(), 15 * MS);
    }
}
