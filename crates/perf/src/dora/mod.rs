//! `lessor perf dora`: relayed DHCPv4 DORA load.
//!
//! Simulates DHCPv4 clients behind a relay agent. Each client has its own MAC (`02:` then 40
//! bits from its index and the run's seed), xid and option 82 (circuit-id `perf-<n>`,
//! remote-id = its MAC, relay-id sub-option 12), and runs one full DORA: DISCOVER -> OFFER ->
//! REQUEST (SELECTING: options 50 and 54 from the OFFER) -> ACK/NAK, optionally followed by a
//! RELEASE. Every message is relayed: `giaddr` set and `hops` = 1.
//!
//! - [`client`]: the per-client state machine, sans IO. Given `now` and a reply it returns the
//!   next message and its deadline; time is injected, so every rule is unit-tested.
//! - [`run`](mod@run): the thin I/O loop: one UDP socket with a read timeout in one thread, a
//!   `BinaryHeap` of deadlines for retransmissions, at most `in_flight` clients outstanding
//!   (closed loop), stopping when every client has ended or the duration is over.
//! - [`config`]: the run's parameters; [`report`]: the figures, as text or as one JSON object.

pub mod client;
pub mod config;
pub mod report;
pub mod run;

pub use config::{Config, DEFAULT_RELAY_ID};
pub use report::Report;
pub use run::{run, run_on};
