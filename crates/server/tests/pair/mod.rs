//! In-memory pairs: our requestor driven against our responder, with no socket, no thread and
//! no sleep, on one virtual clock.
//!
//! - [`udp::UdpPair`]: one [`lessor_requestor::Requestor`] and one or more [`udp::Responder`]s
//!   (each its own [`lessor_store::Store`], configuration and server identifier), joined by an
//!   in-memory network: a queue of datagrams ordered by delivery time, with loss and delay set
//!   per link and direction. Every datagram reaching a server goes through its
//!   [`lessor_server::router4::Router4`] and, when routed as leasequery, its
//!   [`lessor_server::leasequery4::Responder4`], exactly as the I/O shell does
//!   (`serve/udp4.rs`); the reply goes where its [`lessor_net::Destination`] says, and only a
//!   reply addressed to the requestor's socket reaches it.
//! - [`bulk::BulkPair`]: one requestor [`lessor_requestor::bulk::Session`] and one server
//!   [`lessor_server::bulk4::Connection`] exchanging octets through two in-memory byte queues.
//!   The server side is driven through [`lessor_net::tcp::StreamEngine`] the way the listener's
//!   connection thread drives it (`lessor_net/src/tcp/connection.rs`): read no more than the
//!   engine hints, hand out replies by `write_budget`, close as the engine says. The octets can
//!   be delivered whole, one at a time or in random pieces; the requestor can read eagerly, at
//!   a pace, or not at all (the server's path then fills up to `window` octets and its writes
//!   block, as a TCP socket's would); it can half-close.
//!
//! Time is a [`VirtualClock`]: it only moves when a pair advances it, and then straight to the
//! next thing that can happen (the next datagram's delivery, the requestor's next timer, the
//! connection's next deadline). A test that runs minutes of protocol runs in milliseconds, and
//! runs the same way every time: every random choice (loss, piece sizes, the requestor's jitter)
//! comes from a seed.
//!
//! # Writing a pair test
//!
//! A test file declares the harness with `#[allow(dead_code)] mod pair;` (each test binary uses
//! only part of it) and builds a pair, changes the network or the reader between runs, runs
//! virtual time, and looks at what each side saw:
//!
//! ```ignore
//! #[allow(dead_code)]
//! mod pair;
//! use pair::{fixtures, udp::{Responder, UdpPair}};
//!
//! #[test]
//! fn my_behaviour() {
//!     let a = Responder::new(fixtures::SERVER_A);          // today's config, its own store
//!     a.put(fixtures::client(1));                          // bindings straight into the store
//!     let mut p = UdpPair::new(vec![a], |_config| {});     // requestor with the RFC figures
//!     p.up[0].drop_next = 1;                               // lose the first query on the way
//!     let id = p.submit(QueryKey::Ip(fixtures::address(1)));
//!     p.run_until_done();                                  // virtual time, to the last event
//!     let answer = p.answer(id);                           // what the requestor decoded
//!     fixtures::assert_describes(&answer.lease, &fixtures::client(1), Some(fixtures::SERVER_A), p.wall());
//!     assert_eq!(p.queries_to(0).len(), 2);                // the trace of every datagram
//!     assert_eq!(p.queries_to(0)[1].sent, Duration::from_secs(10)); // §6.6: 10 s floor
//! }
//! ```
//!
//! The bulk pair the same way:
//!
//! ```ignore
//! let store = BulkPair::store_of((0..100).map(fixtures::bulk_client));
//! let mut p = BulkPair::new(Dialect::Rfc6926, store);
//! p.pieces = Pieces::Random { max: 7 };                    // frames cut anywhere
//! p.reader = Reader::Paced { every: Duration::from_millis(1) };
//! p.query(&QueryKey::RelayId(b"relay-A".to_vec()), 1);
//! p.half_close();
//! p.run_until_closed(Duration::from_secs(60));
//! assert_eq!(p.end(1), Some(&End::Done { bindings: 50 }));
//! assert_eq!(p.closed.unwrap().how, Ending::Graceful(Close::Finished));
//! ```
//!
//! Configurations are written by [`fixtures::config_text`], the one place that knows the
//! configuration file's layout. Use documentation addresses only (192.0.2.0/24,
//! 198.51.100.0/24, 203.0.113.0/24, 198.18.0.0/15).
//!
//! What the pairs do not model: the DHCP engine (a DHCP message reaching a server is only
//! counted), the kernel's own socket buffers beyond the bulk pair's `window`, reordering of
//! datagrams other than by their delays, and time spent computing (answers leave the instant
//! the query arrives).

pub mod bulk;
pub mod fixtures;
pub mod udp;

use lessor_net::Now;
use std::time::{Duration, Instant};

/// The wall clock (seconds since the epoch) at virtual time zero: lease times in fixtures are
/// written around it.
pub const T0: u64 = 1_700_000_000;

/// One clock for both sides of a pair: monotonic time as an [`Instant`] (the requestor's) and
/// as [`Now`] (the server's: wall seconds from [`T0`], milliseconds from zero).
#[derive(Debug, Clone, Copy)]
pub struct VirtualClock {
    /// An arbitrary origin: only differences from it are ever used.
    base: Instant,
    elapsed: Duration,
}

impl VirtualClock {
    pub fn new() -> VirtualClock {
        VirtualClock {
            base: Instant::now(),
            elapsed: Duration::ZERO,
        }
    }

    /// Virtual time since the pair started.
    pub fn elapsed(&self) -> Duration {
        self.elapsed
    }

    /// The requestor's `now`.
    pub fn instant(&self) -> Instant {
        self.base + self.elapsed
    }

    /// The server's `now`.
    pub fn now(&self) -> Now {
        Now {
            wall: self.wall(),
            ms: u64::try_from(self.elapsed.as_millis()).expect("virtual time fits"),
        }
    }

    /// Wall-clock seconds now.
    pub fn wall(&self) -> u64 {
        T0 + self.elapsed.as_secs()
    }

    /// Virtual time of an instant the requestor reported.
    pub fn at(&self, instant: Instant) -> Duration {
        instant.duration_since(self.base)
    }

    /// Moves the clock forward to `t` (never back).
    pub fn advance_to(&mut self, t: Duration) {
        assert!(
            t >= self.elapsed,
            "the clock goes back: {t:?} < {:?}",
            self.elapsed
        );
        self.elapsed = t;
    }
}

/// A small seeded generator (SplitMix64): every random choice of a pair, reproducible.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform in `1..=max` (`max` at least 1).
    pub fn between_1_and(&mut self, max: usize) -> usize {
        1 + (self.next_u64() % max.max(1) as u64) as usize
    }

    /// True with probability `p`.
    pub fn chance(&mut self, p: f64) -> bool {
        p > 0.0 && (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64 <= p
    }
}
