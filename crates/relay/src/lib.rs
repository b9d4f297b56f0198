//! `lessor-relay`: the relay agent / access concentrator of RFC 4388 §1-§6.6 and of the DHCPv4 bulk
//! leasequery draft §1 (DHCPv6: RFC 8415 §19, RFC 5007 §3.2, RFC 5460).
//!
//! It forwards clients' DHCP messages to the configured servers and their answers back, adding
//! what tells the servers where a client is (option 82, DHCPv6 relay options, a relay-id of its
//! own), and gleans from the answers that pass a table of where each bound address or prefix is
//! ([`location`]). The table is memory only by design: after a restart the relay asks the
//! servers (bulk leasequery by its relay-id, then UDP leasequery on demand) instead of flooding
//! the access network.
//!
//! - [`config`]: the relay's own TOML file, checked with located errors.
//! - [`relay_id`]: the relay's DUID, generated once and kept, or configured.
//! - [`location`]: the location table, both families, merging by client-last-transaction-time.
//! - [`v4`]: the DHCPv4 relay engine (sans I/O).
//! - [`recovery`]: the table rebuilt from the servers: bulk leasequery at start, UDP
//!   leasequery on demand (sans I/O).
//! - [`shell`]: sockets, threads, timer, control socket: `lessor relay`.
//! - [`v6`]: the DHCPv6 relay engine (sans-IO): RELAY-FORW / RELAY-REPL, relay options, gleaning.

#![forbid(unsafe_code)]

pub mod config;
pub mod gleans;
pub mod location;
pub mod recovery;
pub mod relay_id;
pub mod shell;
pub mod v4;
pub mod v6;
