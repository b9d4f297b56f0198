//! `lessor perf leasequery`: closed-loop leasequery load, DHCPv4 (RFC 4388) or DHCPv6
//! (RFC 5007, QUERY_BY_ADDRESS and QUERY_BY_CLIENTID).
//!
//! Split like `lessor perf dora`, and shared by both families but for two things:
//! - this module: where the query keys come from ([`Keys`], in turn or at random, [`Order`]),
//!   what a reply said ([`Answer`]) and what a family must provide ([`Family`]): how its
//!   queries are written and how its replies are read, all sans IO;
//! - [`v4`] and [`v6`]: the two families ([`QueryEncoder`], [`QueryEncoder6`] and their
//!   `classify`): each lays a query out once and patches the transaction-id and the address in
//!   place, so the generator does not allocate per query;
//! - [`session`]: the closed loop as a sans-IO state machine: which query to send next, which
//!   outstanding query a reply answers (by transaction-id, 32 bits in DHCPv4, 24 in DHCPv6),
//!   which queries timed out, and the samples;
//! - [`run`](mod@run): the thin I/O loop (one UDP socket, one thread), sharing the wait rule
//!   of `perf dora`;
//! - [`report`]: the figures as text or JSON, with the exact percentiles of [`crate::latency`].

pub mod report;
pub mod run;
pub mod session;
pub mod v4;
pub mod v6;

use std::net::{Ipv4Addr, Ipv6Addr};

use lessor_requestor::QueryKey6;
use lessor_wire::v4::QueryKey;

pub use report::LqReport;
pub use run::{run, run_on, LqConfig, Query};
pub use session::{Handled, Session};
pub use v4::{classify, encode_query, QueryEncoder, MIN_QUERY_LEN};
pub use v6::{classify6, encode_query6, requestor_duid, QueryEncoder6, REQUESTOR_DUID};

/// What differs between the families in a run: how a query is written and how a reply is read.
/// Everything else (the window, the matching by transaction-id, timeouts, the report) is shared.
pub trait Family {
    /// The transaction-ids a query can carry are `0..=XID_MASK` (DHCPv4's xid is 32 bits,
    /// DHCPv6's transaction-id 24).
    const XID_MASK: u32;

    /// Writes the next query, with transaction-id `xid` (at most `XID_MASK`), into `buf`
    /// (cleared first).
    fn next_into(&mut self, xid: u32, buf: &mut Vec<u8>);

    /// The transaction-id and the answer of a reply; `None` for a datagram that is not a reply
    /// of this family (it is counted as malformed, never matched to a query).
    fn classify(datagram: &[u8]) -> Option<(u32, Answer)>;
}

/// An address that can be counted through (a range of keys by address).
pub trait Address: Copy {
    /// The address as an integer.
    fn to_u128(self) -> u128;
    /// The address `n` (truncated to the family's width).
    fn from_u128(n: u128) -> Self;
}

impl Address for Ipv4Addr {
    fn to_u128(self) -> u128 {
        u128::from(u32::from(self))
    }

    fn from_u128(n: u128) -> Self {
        Ipv4Addr::from(n as u32)
    }
}

impl Address for Ipv6Addr {
    fn to_u128(self) -> u128 {
        u128::from(self)
    }

    fn from_u128(n: u128) -> Self {
        Ipv6Addr::from(n)
    }
}

/// Where the keys come from and in which order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Keys<A, K> {
    /// Every address from `first` to `last`, in turn (queries by address).
    Range {
        /// First address.
        first: A,
        /// Last address (inclusive).
        last: A,
    },
    /// These keys, in turn.
    List(Vec<K>),
}

/// DHCPv4 keys: addresses (ciaddr) or any [`QueryKey`].
pub type Keys4 = Keys<Ipv4Addr, QueryKey>;
/// DHCPv6 keys: addresses (QUERY_BY_ADDRESS) or [`QueryKey6`]s (by address or client-id).
pub type Keys6 = Keys<Ipv6Addr, QueryKey6>;

impl<A: Address, K> Keys<A, K> {
    /// How many distinct keys (at least 1 for a valid source). A range of more than
    /// `u64::MAX` addresses (DHCPv6) is cut to its first `u64::MAX`.
    pub fn len(&self) -> u64 {
        match self {
            Keys::Range { first, last } => {
                let span = last.to_u128().saturating_sub(first.to_u128());
                u64::try_from(span).map_or(u64::MAX, |s| s.saturating_add(1))
            }
            Keys::List(k) => k.len() as u64,
        }
    }

    /// No keys at all.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The `i`-th address of a range (`None` for a list).
    fn address(&self, i: u64) -> Option<A> {
        match self {
            Keys::Range { first, .. } => {
                Some(A::from_u128(first.to_u128().wrapping_add(u128::from(i))))
            }
            Keys::List(_) => None,
        }
    }
}

/// Which key the `n`-th query uses: in turn, or drawn at random (seeded, reproducible).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Order {
    /// Key `n mod len`.
    Sequential,
    /// A key drawn uniformly (xorshift64*, seeded).
    Random(u64),
}

/// Picks key indices in an [`Order`]; the same for both families, so a seed draws the same
/// sequence of indices over a DHCPv4 and a DHCPv6 table.
#[derive(Debug, Clone)]
struct Picker {
    order: Order,
    rng: u64,
    next: u64,
}

impl Picker {
    fn new(order: Order) -> Picker {
        let rng = match order {
            Order::Random(seed) => seed | 1,
            Order::Sequential => 1,
        };
        Picker {
            order,
            rng,
            next: 0,
        }
    }

    /// The next index below `len` (0 when `len` is 0).
    fn pick(&mut self, len: u64) -> u64 {
        let len = len.max(1);
        match self.order {
            Order::Sequential => {
                let i = self.next % len;
                self.next = self.next.wrapping_add(1);
                i
            }
            Order::Random(_) => {
                // xorshift64*: plenty for spreading lookups over a table.
                let mut x = self.rng;
                x ^= x >> 12;
                x ^= x << 25;
                x ^= x >> 27;
                self.rng = x;
                x.wrapping_mul(0x2545_f491_4f6c_dd1d) % len
            }
        }
    }
}

/// Writes `value` at `at` in `buf` (nothing if it does not fit: the templates are built so that
/// it always does).
fn set(buf: &mut [u8], at: usize, value: &[u8]) {
    if let Some(dst) = buf.get_mut(at..at + value.len()) {
        dst.copy_from_slice(value);
    }
}

/// What a reply says about the query it answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Answer {
    /// The server has the binding: DHCPLEASEACTIVE (13); DHCPv6: a LEASEQUERY-REPLY with
    /// CLIENT_DATA.
    Active,
    /// DHCPLEASEUNASSIGNED (11) (DHCPv4 only).
    Unassigned,
    /// The server knows nothing of the key: DHCPLEASEUNKNOWN (12); DHCPv6: a LEASEQUERY-REPLY
    /// without CLIENT_DATA whose status is Success or absent.
    Unknown,
    /// A reply of another message type (DHCPv4: a BOOTREPLY such as a legacy DHCPACK, `None`
    /// without option 53; DHCPv6: an ADVERTISE, REPLY, ... carrying the query's
    /// transaction-id).
    Other(Option<u8>),
    /// DHCPv6: a LEASEQUERY-REPLY with a status other than Success (NotConfigured, NotAllowed,
    /// UnknownQueryType, MalformedQuery, ...).
    Status(u16),
    /// DHCPv6: a LEASEQUERY-REPLY with CLIENT_LINK (the client is on several links, RFC 5007
    /// §4.3.3): the generator does not ask again per link.
    ClientLink,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_count_and_index_in_both_families() {
        let k4: Keys4 = Keys::Range {
            first: Ipv4Addr::new(198, 18, 0, 254),
            last: Ipv4Addr::new(198, 18, 1, 0),
        };
        assert_eq!(k4.len(), 3);
        assert_eq!(k4.address(2), Some(Ipv4Addr::new(198, 18, 1, 0)));
        let k6: Keys6 = Keys::Range {
            first: "2001:db8::ffff".parse().unwrap(),
            last: "2001:db8::1:1".parse().unwrap(),
        };
        assert_eq!(k6.len(), 3);
        assert_eq!(k6.address(1), Some("2001:db8::1:0".parse().unwrap()));
        let all: Keys6 = Keys::Range {
            first: Ipv6Addr::UNSPECIFIED,
            last: "ffff::".parse().unwrap(),
        };
        assert_eq!(all.len(), u64::MAX, "cut to what an index can reach");
        let none: Keys6 = Keys::List(Vec::new());
        assert!(none.is_empty());
    }

    #[test]
    fn picker_in_turn_and_at_random() {
        let mut p = Picker::new(Order::Sequential);
        let got: Vec<u64> = (0..5).map(|_| p.pick(3)).collect();
        assert_eq!(got, [0, 1, 2, 0, 1]);
        let mut p = Picker::new(Order::Random(42));
        let mut q = Picker::new(Order::Random(42));
        let a: Vec<u64> = (0..100).map(|_| p.pick(10)).collect();
        let b: Vec<u64> = (0..100).map(|_| q.pick(10)).collect();
        assert_eq!(a, b, "the seed decides");
        assert!(a.iter().all(|&i| i < 10));
        assert_eq!(a.iter().collect::<std::collections::HashSet<_>>().len(), 10);
    }
}
