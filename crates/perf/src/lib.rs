//! `lessor-perf`: load generators for DHCP servers, in the spirit of Kea's perfdhcp. Each takes
//! typed run parameters (the `lessor perf` command line parses them) and returns its figures.
//!
//! - [`dora`]: `lessor perf dora`, relayed DHCPv4 clients each running one DORA (closed loop).
//! - [`sarr`]: `lessor perf sarr`, relayed DHCPv6 clients each running one SOLICIT / ADVERTISE /
//!   REQUEST / REPLY for IA_NA, IA_PD or both, paced at a rate (open loop) or closed loop.
//! - [`leasequery`]: `lessor perf leasequery`, closed-loop DHCPv4 leasequery (RFC 4388): a
//!   sans-IO session (which query next, which reply answers which query by xid) and the same
//!   wait rule as `perf dora`.
//! - [`bulk`]: `lessor perf bulk`, one bulk leasequery stream over TCP timed: it counts the
//!   replies without decoding them into bindings, so the server is what is measured.
//!
//! Shared by them: [`latency`] (exact nearest-rank percentiles, at most one sample per exchange
//! and kind, and how reports write them), `udp_wait` (how the UDP generators wait for
//! answers), `outstanding` (the exchanges in flight and their retransmission deadlines, for
//! `dora` and `sarr`) and `pace` (starting exchanges at a rate). The query keys are lessor-wire's ([`lessor_wire::v4::QueryKey`]).

#![forbid(unsafe_code)]

pub mod bulk;
pub mod dora;
pub mod latency;
pub mod leasequery;
mod outstanding;
mod pace;
pub mod sarr;
mod udp_wait;
