//! Queries counted by requester (the datagram's source address), for the metrics endpoint:
//! how many each requester had let through and how many the rate limits dropped. Kept inside
//! the [`super::access::RateLimiter`], whose lock every allowed query already takes, so the
//! count costs the packet path one table lookup and no further lock.
//!
//! Bounded: the first [`MAX_TALLIED`] requesters seen keep a row each for the life of the
//! process (a counter that vanished would look like a reset to a scraper); later ones are
//! counted together as "other". Only sources inside `requesters` reach the limiter, so an
//! operator's few requesters each get their row; a flood of forged sources from an allowed
//! prefix lands in "other" once the table is full.

use super::access::{Address, AddressHashing};
use std::collections::HashMap;

/// Most requesters counted on their own.
pub const MAX_TALLIED: usize = 256;

/// What one requester (or "other") sent.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RequesterCounts {
    /// Queries the rate limits let through.
    pub queries: u64,
    /// Queries a rate limit dropped (the requester's, its relay's or the server's).
    pub rate_limited: u64,
}

/// The table (see the module docs).
#[derive(Debug)]
pub struct Tally<A> {
    rows: HashMap<A, RequesterCounts, AddressHashing>,
    other: RequesterCounts,
}

impl<A: Address> Default for Tally<A> {
    fn default() -> Self {
        Tally {
            rows: HashMap::with_hasher(AddressHashing::new()),
            other: RequesterCounts::default(),
        }
    }
}

impl<A: Address> Tally<A> {
    /// Counts one query from `requester`, let through or not.
    pub fn count(&mut self, requester: A, let_through: bool) {
        let full = self.rows.len() >= MAX_TALLIED;
        let row = match self.rows.get_mut(&requester) {
            Some(row) => row,
            None if full => &mut self.other,
            None => self.rows.entry(requester).or_default(),
        };
        if let_through {
            row.queries += 1;
        } else {
            row.rate_limited += 1;
        }
    }

    /// Every requester's counts in address order, then "other" (`None`) once anything fell
    /// there.
    pub fn rows(&self) -> Vec<(Option<A>, RequesterCounts)> {
        let mut rows: Vec<_> = self.rows.iter().map(|(a, c)| (Some(*a), *c)).collect();
        rows.sort_unstable_by_key(|(a, _)| *a);
        if self.other != RequesterCounts::default() {
            rows.push((None, self.other));
        }
        rows
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::Ipv4Addr;

    #[test]
    fn requesters_get_a_row_each_until_the_table_is_full() {
        let mut t = Tally::default();
        let a = |n: u32| Ipv4Addr::from(u32::from(Ipv4Addr::new(198, 18, 0, 0)) + n);
        t.count(a(1), true);
        t.count(a(1), true);
        t.count(a(1), false);
        t.count(a(0), true);
        assert_eq!(
            t.rows(),
            vec![
                (
                    Some(a(0)),
                    RequesterCounts {
                        queries: 1,
                        rate_limited: 0
                    }
                ),
                (
                    Some(a(1)),
                    RequesterCounts {
                        queries: 2,
                        rate_limited: 1
                    }
                ),
            ]
        );
        for n in 0..1000 {
            t.count(a(n), n % 2 == 0);
        }
        let rows = t.rows();
        assert_eq!(rows.len(), MAX_TALLIED + 1);
        let (other, counts) = rows[MAX_TALLIED];
        assert_eq!(other, None);
        assert_eq!(
            counts.queries + counts.rate_limited,
            1000 - MAX_TALLIED as u64
        );
        // The rows kept go on counting.
        t.count(a(1), true);
        assert_eq!(t.rows()[1].1.queries, 3);
        let total: u64 = t
            .rows()
            .iter()
            .map(|(_, c)| c.queries + c.rate_limited)
            .sum();
        assert_eq!(total, 1005);
    }
}
