//! The clocks, read in one place and handed to the engines as values ([`Now`]), so that every
//! engine can be driven with virtual time in tests.

use std::time::{Instant, SystemTime, UNIX_EPOCH};

/// One reading of both clocks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Now {
    /// Seconds since the Unix epoch: lease arithmetic, times written on the wire.
    pub wall: u64,
    /// Milliseconds of a monotonic clock: timeouts and rate limits, which must not jump when the
    /// wall clock is set.
    pub ms: u64,
}

/// The real clocks: the wall clock, and a monotonic one counted from when the clock was made.
#[derive(Debug, Clone, Copy)]
pub struct Clock {
    started: Instant,
}

impl Default for Clock {
    fn default() -> Self {
        Clock::new()
    }
}

impl Clock {
    /// A clock whose monotonic milliseconds count from now.
    pub fn new() -> Clock {
        Clock {
            started: Instant::now(),
        }
    }

    /// Both clocks, now.
    pub fn now(&self) -> Now {
        Now {
            wall: wall_now(),
            ms: u64::try_from(self.started.elapsed().as_millis()).unwrap_or(u64::MAX),
        }
    }
}

/// Seconds since the Unix epoch (0 if the clock is set before it).
pub fn wall_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn monotonic_milliseconds_start_near_zero_and_advance() {
        let clock = Clock::new();
        let a = clock.now();
        std::thread::sleep(std::time::Duration::from_millis(20));
        let b = clock.now();
        assert!(a.ms < 1000, "{a:?}");
        assert!(b.ms >= a.ms + 20, "{a:?} then {b:?}");
        // 2020-01-01: any machine running this is past it.
        assert!(b.wall > 1_577_836_800);
    }
}
