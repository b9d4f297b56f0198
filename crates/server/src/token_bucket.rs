//! The token bucket both services' rate limits are made of (the DHCP engine's per client,
//! circuit and relay, [`crate::dhcp4::limit`]; the leasequery responder's per requester, relay
//! and in all, [`crate::leasequery4::access`]), counted in milli-tokens on the monotonic clock.
//! A message takes [`COST`]; leasequery may also charge work beyond that, into a bounded debt.

/// Milli-tokens one message takes.
pub const COST: i64 = 1000;

/// The refill rate and depth of a kind of bucket.
#[derive(Debug, Clone, Copy)]
pub struct Limit {
    /// Tokens per second (= milli-tokens per millisecond).
    pub rate: u32,
    /// Milli-tokens held at most.
    pub capacity: i64,
}

impl Limit {
    /// `rate` per second, holding at most `burst` messages.
    pub fn with_burst(rate: u32, burst: u32) -> Limit {
        Limit {
            rate,
            capacity: i64::from(burst.max(1)).saturating_mul(COST),
        }
    }

    /// `rate` per second, holding at most `seconds` of it.
    pub fn with_seconds(rate: u32, seconds: u32) -> Limit {
        Limit {
            rate,
            capacity: i64::from(rate)
                .saturating_mul(i64::from(seconds.max(1)))
                .saturating_mul(COST),
        }
    }
}

/// One bucket: milli-tokens held (negative: in debt) as of `last_ms`.
#[derive(Debug, Clone, Copy, Default)]
pub struct Bucket {
    milli: i64,
    last_ms: u64,
}

impl Bucket {
    /// A full bucket at `now_ms`.
    pub fn full(limit: Limit, now_ms: u64) -> Bucket {
        Bucket {
            milli: limit.capacity,
            last_ms: now_ms,
        }
    }

    /// When it was last refilled (monotonic ms).
    pub fn last_ms(&self) -> u64 {
        self.last_ms
    }

    fn refill(&mut self, limit: Limit, now_ms: u64) {
        // A clock that goes backwards adds nothing (and never panics).
        let elapsed = i64::try_from(now_ms.saturating_sub(self.last_ms)).unwrap_or(i64::MAX);
        self.milli = self
            .milli
            .saturating_add(elapsed.saturating_mul(i64::from(limit.rate)))
            .min(limit.capacity);
        self.last_ms = self.last_ms.max(now_ms);
    }

    /// Takes one message's [`COST`] if the bucket holds it.
    pub fn take(&mut self, limit: Limit, now_ms: u64) -> bool {
        self.refill(limit, now_ms);
        if self.milli >= COST {
            self.milli -= COST;
            true
        } else {
            false
        }
    }

    /// Takes `milli` more whatever the balance, down to minus the bucket's depth.
    pub fn charge(&mut self, limit: Limit, milli: i64, now_ms: u64) {
        self.refill(limit, now_ms);
        self.milli = self.milli.saturating_sub(milli).max(-limit.capacity);
    }

    /// Whether it would be full at `now_ms` (a bucket that forgetting loses nothing).
    pub fn is_full_at(&self, limit: Limit, now_ms: u64) -> bool {
        let mut b = *self;
        b.refill(limit, now_ms);
        b.milli >= limit.capacity
    }
}
