//! Open-loop pacing of new exchanges, as perfdhcp's `-r`: exchange `n` (from 0) is due at
//! `start + n / rate`. The schedule is absolute, so a loop that falls behind (a full window, a
//! slow turn) starts the missed exchanges as soon as it can instead of drifting.

use std::time::{Duration, Instant};

/// When new exchanges may start.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Pacer {
    start: Instant,
    /// Exchanges per second; `None` starts them as fast as the window allows (closed loop).
    rate: Option<u32>,
}

impl Pacer {
    pub(crate) fn new(start: Instant, rate: Option<u32>) -> Pacer {
        Pacer {
            start,
            rate: rate.filter(|r| *r > 0),
        }
    }

    /// When exchange number `n` (from 0) is due.
    pub(crate) fn due_at(&self, n: u64) -> Instant {
        match self.rate {
            None => self.start,
            Some(r) => {
                // n / r seconds, exact in nanoseconds for any n a run reaches.
                let nanos = u128::from(n) * 1_000_000_000 / u128::from(r);
                self.start + Duration::from_nanos(u64::try_from(nanos).unwrap_or(u64::MAX))
            }
        }
    }

    /// Whether exchange number `n` may start at `now`.
    pub(crate) fn is_due(&self, n: u64, now: Instant) -> bool {
        self.due_at(n) <= now
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schedule_is_absolute() {
        let t0 = Instant::now();
        let p = Pacer::new(t0, Some(1000));
        assert_eq!(p.due_at(0), t0);
        assert_eq!(p.due_at(1), t0 + Duration::from_millis(1));
        assert_eq!(p.due_at(2500), t0 + Duration::from_millis(2500));
        assert!(p.is_due(3, t0 + Duration::from_millis(3)));
        assert!(!p.is_due(4, t0 + Duration::from_millis(3)));
        let p = Pacer::new(t0, Some(3));
        assert_eq!(p.due_at(1), t0 + Duration::from_nanos(333_333_333));
        // No rate (or 0): everything is due at once.
        for p in [Pacer::new(t0, None), Pacer::new(t0, Some(0))] {
            assert!(p.is_due(1_000_000, t0));
        }
    }
}
