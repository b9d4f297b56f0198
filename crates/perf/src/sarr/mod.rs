//! `lessor perf sarr`: relayed DHCPv6 SARR load (RFC 8415 §18).
//!
//! Simulates DHCPv6 clients behind one relay agent. Each client has its own DUID-LL (a MAC
//! `02:` then 40 bits from its index and the run's seed), link-local address (the relay's
//! peer-address, an EUI-64 of the MAC), IAID and transaction-ids, and runs one exchange:
//! SOLICIT -> ADVERTISE -> REQUEST -> REPLY for an IA_NA, an IA_PD or both. Every message goes
//! to the server inside a RELAY-FORW (hop-count 0, link-address, peer-address, optional
//! interface-id, remote-id and relay-id) and the answer comes back inside a RELAY-REPL.
//!
//! - [`client`]: the per-client state machine, sans IO, clock injected.
//! - [`relay`]: the simulated relay agent: RELAY-FORW out, RELAY-REPL in, sans IO.
//! - [`run`](mod@run): the thin I/O loop (one socket, one thread), starting clients at `rate`
//!   per second (open loop, as perfdhcp's `-r`) or as fast as `in_flight` allows (closed loop).
//! - [`config`]: the run's parameters; [`report`]: the figures, as text or one JSON object.

pub mod client;
pub mod config;
pub mod relay;
pub mod report;
pub mod run;

pub use config::{Config, IaKinds, RelayOptions};
pub use report::Report;
pub use run::{run, run_on};
