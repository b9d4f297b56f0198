//! The DHCPv4 server as a sans-IO service: the router ([`crate::router4`]) hands it a client's
//! message with the time, it decides (allocation, RFC 2131 §4.3) and returns what to send and
//! where ([`Output`], with a [`lessor_net::Destination`]). Nothing here opens a socket or reads a
//! clock.

pub mod allocate;
pub mod counters;
pub mod drops;
pub mod engine;
pub mod free;
pub mod identity;
pub mod limit;
pub mod quarantine;
pub mod reply;
pub mod reuse;
pub mod select;

pub use counters::{Counters, DropReason};
pub use engine::{Engine4, Handled, Output, DISCOVER_BACKLOG};
pub use identity::Identity;
pub use quarantine::Quarantine;

#[cfg(test)]
mod tests;

/// A subnet as the configuration would give it, for the allocator's tests: `prefix` with
/// `pools` (first, last) and `exclude`, a 1 h lease, no options or reservations.
#[cfg(test)]
pub(crate) fn test_subnet(
    prefix: &str,
    pools: &[(&str, &str)],
    exclude: &[&str],
) -> crate::config::Subnet {
    use crate::config::{Pool, Seconds, Subnet, Timers};
    Subnet {
        prefix: prefix.parse().expect("a prefix"),
        pools: pools
            .iter()
            .map(|(f, l)| Pool {
                first: f.parse().expect("an address"),
                last: l.parse().expect("an address"),
            })
            .collect(),
        exclude: exclude
            .iter()
            .map(|a| a.parse().expect("an address"))
            .collect(),
        timers: Timers {
            lease_time: Seconds(3600),
            renew_time: Seconds(1800),
            rebind_time: Seconds(3150),
        },
        options: Vec::new(),
        reservations: Vec::new(),
    }
}
