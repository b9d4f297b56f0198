//! The token bucket both services' rate limits are made of (the DHCP engine's per client,
//! circuit and relay, [`crate::dhcp4::limit`]; the leasequery responder's per requester, relay
//! and in all, [`crate::leasequery4::access`]), counted in milli-tokens on the monotonic clock.
//! A message takes [`COST`]; leasequery may also charge work beyond that, into a bounded debt.
//! [`Table`] keeps buckets by key in fixed memory (the DHCPv4 and DHCPv6 engines' limits).

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

/// Slots per set of a [`Table`].
pub const WAYS: usize = 4;

/// One entry of a table: the bucket of the key it holds.
#[derive(Debug, Clone, Copy, Default)]
struct Slot {
    key: u64,
    live: bool,
    bucket: Bucket,
}

/// Buckets of one kind, by key: a fixed set-associative table ([`WAYS`] slots per set). A key
/// not in its set takes the slot of a bucket that has refilled completely (nothing lost), else
/// of the one used least recently: bounded memory and O(1) work whatever the keys.
#[derive(Debug)]
pub struct Table {
    limit: Limit,
    slots: Box<[Slot]>,
}

impl Table {
    /// `rate` per second and `burst` deep, `slots` buckets (rate 0: no limit, no table).
    pub fn new(rate: u32, burst: u32, slots: usize) -> Table {
        // Rate 0: no limit, and no table.
        let slots = if rate == 0 { 0 } else { slots.max(WAYS) };
        Table {
            limit: Limit::with_burst(rate, burst),
            slots: vec![Slot::default(); slots / WAYS * WAYS].into_boxed_slice(),
        }
    }

    /// Charges one message to the bucket of `key` (a keyed hash).
    pub fn take(&mut self, key: u64, now_ms: u64) -> bool {
        if self.limit.rate == 0 {
            return true;
        }
        let limit = self.limit;
        let sets = self.slots.len() / WAYS;
        // The high bits pick the set; the whole hash is the key within it.
        let set = ((key >> 32) as usize) % sets;
        let ways = &mut self.slots[set * WAYS..(set + 1) * WAYS];
        let k = match ways.iter().position(|s| s.live && s.key == key) {
            Some(k) => k,
            None => {
                let k = ways
                    .iter()
                    .position(|s| !s.live || s.bucket.is_full_at(limit, now_ms))
                    .or_else(|| (0..WAYS).min_by_key(|&k| ways[k].bucket.last_ms()))
                    .unwrap_or(0);
                ways[k] = Slot {
                    key,
                    live: true,
                    bucket: Bucket::full(limit, now_ms),
                };
                k
            }
        };
        ways[k].bucket.take(limit, now_ms)
    }

    /// Buckets in use.
    pub fn live(&self) -> usize {
        self.slots.iter().filter(|s| s.live).count()
    }

    /// The table's fixed size.
    pub fn capacity(&self) -> usize {
        self.slots.len()
    }
}
