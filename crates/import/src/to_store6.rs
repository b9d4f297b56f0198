//! A DHCPv6 lease read from another server's file ([`Lease6`]) to a store binding
//! ([`Binding6`]): a pure function of the lease, the links and the time.
//!
//! The choices (docs/operator-guide.md, "Migrating DHCPv6 leases"):
//!
//! - Link: the link one of whose pools (an address pool for an address, a prefix-delegation pool
//!   for a prefix) or reservations holds it; else the most specific link prefix containing it
//!   whole. None is a reason to skip it: a binding outside every link could never be renewed.
//! - State: Active (Expired once its valid lifetime has ended at `now`), Expired, Released,
//!   Declined (until the end of its valid lifetime, as the probation of a declined address).
//! - Times: `start` is when the lifetimes were granted: the end of the valid lifetime minus the
//!   valid lifetime, else cltt. Neither file records T1 and T2: they are 0.5 and 0.8 of the
//!   preferred lifetime from `start`, the defaults of `[dhcp6]` (RFC 8415 §21.4). An infinite
//!   lifetime (0xffffffff) ends [`NEVER`]. cltt is the file's, else `start`.
//! - Relay data as read; the fields the store refuses (too long) are a reason to skip.

use std::net::Ipv6Addr;

use ipnet::Ipv6Net;
use lessor_store::{Binding6, Fields6, IaType, State6, Timestamp};

use crate::lease6::{Lease6, Standing, INFINITY};
use crate::to_store::{Skip, NEVER};

/// A link bindings can be put on: its prefix and what its pools and reservations hold.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinkTarget {
    pub prefix: Ipv6Net,
    /// Address pools, first and last address.
    pub address_pools: Vec<(Ipv6Addr, Ipv6Addr)>,
    /// Prefix-delegation pools.
    pub prefix_pools: Vec<Ipv6Net>,
    /// Reserved addresses (as /128) and prefixes.
    pub reserved: Vec<Ipv6Net>,
}

impl LinkTarget {
    /// A link known by its prefix alone (`--link PREFIX`).
    pub fn prefix_only(prefix: Ipv6Net) -> LinkTarget {
        LinkTarget {
            prefix,
            address_pools: Vec::new(),
            prefix_pools: Vec::new(),
            reserved: Vec::new(),
        }
    }

    /// Whether a pool or a reservation of the link holds `net`.
    fn holds(&self, net: &Ipv6Net, ia_type: IaType) -> bool {
        let in_pool = match ia_type {
            IaType::Na => {
                let a = u128::from(net.addr());
                self.address_pools
                    .iter()
                    .any(|(f, l)| (u128::from(*f)..=u128::from(*l)).contains(&a))
            }
            IaType::Pd => self.prefix_pools.iter().any(|p| p.contains(net)),
        };
        in_pool || self.reserved.iter().any(|r| r == net)
    }
}

/// The link of `net`: the link a pool or reservation of which holds it, else the most specific
/// link prefix containing it.
pub fn link_of(links: &[LinkTarget], net: &Ipv6Net, ia_type: IaType) -> Option<Ipv6Net> {
    if let Some(l) = links.iter().find(|l| l.holds(net, ia_type)) {
        return Some(l.prefix);
    }
    links
        .iter()
        .filter(|l| l.prefix.contains(net))
        .max_by_key(|l| l.prefix.prefix_len())
        .map(|l| l.prefix)
}

/// The reason a lease outside every link is skipped.
pub const OUTSIDE: &str = "outside every configured link (no [[dhcp6.link]] prefix, pool or \
                           reservation holds it)";

/// The store state of a lease at `now`.
pub fn state6(standing: Standing, valid_end: Timestamp, now: Timestamp) -> State6 {
    match standing {
        Standing::Active if valid_end > now => State6::Active,
        Standing::Active | Standing::Expired => State6::Expired,
        Standing::Released => State6::Released,
        Standing::Declined => State6::Declined,
    }
}

fn after(start: Timestamp, secs: u32) -> Timestamp {
    if secs == INFINITY {
        NEVER
    } else {
        start.saturating_add(u64::from(secs)).min(NEVER)
    }
}

/// Converts one lease into a binding at time `now` (seconds since the Unix epoch).
pub fn binding6(lease: &Lease6, links: &[LinkTarget], now: Timestamp) -> Result<Binding6, Skip> {
    let skip = |why: &str| Skip(why.to_string());
    let net = match (lease.ia_type, lease.prefix_len) {
        (IaType::Na, 128) => Ipv6Net::new(lease.address, 128),
        (IaType::Na, _) => {
            return Err(skip("an IA_NA address with a prefix length other than 128"))
        }
        (IaType::Pd, 0) => return Err(skip("a delegated prefix of length 0")),
        (IaType::Pd, len) => Ipv6Net::new(lease.address, len),
    }
    .map_err(|_| skip("prefix length over 128"))?;
    if net.trunc().addr() != lease.address {
        return Err(skip("delegated prefix with bits set past its length"));
    }
    if lease.duid.is_empty() {
        return Err(skip("no client DUID"));
    }
    let link = link_of(links, &net, lease.ia_type).ok_or_else(|| skip(OUTSIDE))?;

    let valid_end = lease.valid_end.unwrap_or(NEVER).min(NEVER);
    let start = match lease.valid_end {
        Some(end) if lease.valid != INFINITY && lease.valid > 0 => {
            Some(end.saturating_sub(u64::from(lease.valid)))
        }
        _ => lease.cltt,
    };
    if lease.standing == Standing::Active && start.is_none() {
        return Err(skip(
            "active lease without its valid lifetime or client-last-transaction-time",
        ));
    }
    // Every time at most NEVER, the largest the store keeps (a file may say more).
    let start = start.unwrap_or(valid_end.min(now)).min(NEVER);
    let preferred_end = after(start, lease.preferred).min(valid_end);
    let (t1, t2) = if lease.preferred == INFINITY {
        (NEVER, NEVER)
    } else {
        let p = u64::from(lease.preferred);
        (
            start.saturating_add(p / 2).min(NEVER),
            start.saturating_add(p * 4 / 5).min(NEVER),
        )
    };
    let cltt = lease.cltt.unwrap_or(start).min(NEVER);
    let state = state6(lease.standing, valid_end, now);
    let mut b = Binding6::new(
        lease.address,
        lease.prefix_len,
        lease.ia_type,
        &lease.duid,
        lease.iaid,
        link,
        state,
    )
    .map_err(|e| Skip(e.to_string()))?
    .with_times(start, preferred_end, valid_end, t1, t2, cltt);
    let r = &lease.relay;
    b.set_fields(Fields6 {
        duid: Some(&lease.duid),
        relay_chain: r.chain.as_deref(),
        interface_id: r.interface_id.as_deref(),
        remote_id: r.remote_id.as_deref(),
        relay_id: r.relay_id.as_deref(),
    })
    .map_err(|e| Skip(e.to_string()))?;
    b.relay_peer = r.peer;
    Ok(b)
}

#[cfg(test)]
pub(crate) mod tests;
