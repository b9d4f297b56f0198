//! `lessor-perf`: load generators for DHCP servers, in the spirit of Kea's perfdhcp.
//!
//! `lessor perf dora` simulates DHCPv4 clients behind a relay agent. Each client has its own
//! MAC (`02:` then 40 bits from its index and the run's seed), xid and option 82 (circuit-id
//! `perf-<n>`, remote-id = its MAC, relay-id sub-option 12), and runs one full DORA:
//! DISCOVER -> OFFER -> REQUEST (SELECTING: options 50 and 54 from the OFFER) -> ACK/NAK,
//! optionally followed by a RELEASE. Every message is relayed: `giaddr` set and `hops` = 1.
//!
//! Split the way the rest of Lessor is:
//! - [`client`]: the per-client state machine, sans IO. Given `now` and a reply it returns the
//!   next message and its deadline; time is injected, so every rule is unit-tested.
//! - [`run`](mod@run): the thin I/O loop: one UDP socket with a read timeout in one thread, a
//!   `BinaryHeap` of deadlines for retransmissions, at most `in_flight` clients outstanding
//!   (closed loop), stopping when every client has ended or the duration is over.
//! - [`stats`]: exact nearest-rank percentiles from the recorded samples (at most one per
//!   client and kind).
//! - [`report`]: the figures, as text or as one JSON object.
//!
//! `lessor perf leasequery` ([`leasequery`]) reuses the same pieces: a sans-IO session (which
//! query next, which reply answers which query by xid), the same one-socket wait rule, and the
//! same exact percentiles and report conventions.
//!
//! `lessor perf bulk` ([`bulk`]) times one bulk leasequery stream over TCP: it counts the
//! replies without decoding them into bindings, so the server is what is measured.

#![forbid(unsafe_code)]

pub mod bulk;
pub mod client;
pub mod config;
pub mod leasequery;
pub mod report;
pub mod run;
pub mod stats;

pub use config::{parse_duration, parse_hex, Config};
pub use report::Report;
pub use run::{run, run_on};
