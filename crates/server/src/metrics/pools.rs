//! Pool utilisation: for each `[dhcp4]` subnet the addresses its pools hold and how many of
//! them are leased, for each `[dhcp6]` link the same for addresses and delegated prefixes, and
//! the bindings by state. Read from a snapshot of the store's bindings at each scrape (one walk,
//! no lock held by the packet path), so nothing is counted on the packet path.

use super::Scrape;
use crate::config::Config;
use lessor_store::{IaType, State4, State6, Store};

/// Adds the pools' gauges of `config` with the bindings of `store`.
pub fn read(s: &mut Scrape, config: &Config, store: &Store) {
    if let Some(dhcp4) = &config.dhcp4 {
        v4(s, dhcp4, store);
    }
    if let Some(dhcp6) = &config.dhcp6 {
        v6(s, dhcp6, store);
    }
}

fn label(key: &str, value: impl ToString) -> Vec<(String, String)> {
    vec![(key.to_string(), value.to_string())]
}

fn v4(s: &mut Scrape, dhcp4: &crate::config::Dhcp4, store: &Store) {
    let snapshot = store.v4().snapshot();
    let mut assigned = vec![0u64; dhcp4.subnets.len()];
    let mut states = [0u64; State4::ALL.len()];
    for b in snapshot.iter() {
        if let Some(i) = State4::ALL.iter().position(|&st| st == b.state) {
            states[i] += 1;
        }
        if b.state != State4::Active {
            continue;
        }
        let pooled = dhcp4.subnets.iter().position(|sub| {
            sub.prefix == b.subnet
                && sub.pools.iter().any(|p| p.contains(b.address))
                && !sub.exclude.contains(&b.address)
        });
        if let Some(i) = pooled {
            assigned[i] += 1;
        }
    }
    for (sub, assigned) in dhcp4.subnets.iter().zip(assigned) {
        let excluded = sub
            .exclude
            .iter()
            .filter(|&&a| sub.pools.iter().any(|p| p.contains(a)))
            .count() as u64;
        let size: u64 = sub.pools.iter().map(|p| p.size()).sum::<u64>() - excluded;
        s.gauge(
            "lessor_dhcp4_subnet_addresses",
            "Addresses the subnet's pools hold (excluded ones left out)",
            label("subnet", sub.prefix),
            size as f64,
        );
        s.gauge(
            "lessor_dhcp4_subnet_assigned_addresses",
            "Addresses of the subnet's pools leased now (bindings in state active)",
            label("subnet", sub.prefix),
            assigned as f64,
        );
    }
    for (state, n) in State4::ALL.iter().zip(states) {
        s.gauge(
            "lessor_dhcp4_bindings",
            "DHCPv4 bindings the store holds, by state",
            label("state", state.as_str()),
            n as f64,
        );
    }
}

fn v6(s: &mut Scrape, dhcp6: &crate::config::Dhcp6, store: &Store) {
    let snapshot = store.v6().snapshot();
    let links = &dhcp6.links;
    let mut addresses = vec![0u64; links.len()];
    let mut prefixes = vec![0u64; links.len()];
    let mut states = [0u64; State6::ALL.len()];
    for b in snapshot.iter() {
        if let Some(i) = State6::ALL.iter().position(|&st| st == b.state) {
            states[i] += 1;
        }
        if b.state != State6::Active {
            continue;
        }
        let Some(i) = links.iter().position(|l| l.prefix == b.link) else {
            continue;
        };
        let link = &links[i];
        match b.ia_type {
            IaType::Na if link.address_pools.iter().any(|p| p.contains(b.address)) => {
                addresses[i] += 1;
            }
            IaType::Pd
                if link
                    .prefix_pools
                    .iter()
                    .any(|p| p.prefix.contains(&b.address) && p.delegated_len == b.prefix_len) =>
            {
                prefixes[i] += 1;
            }
            _ => {}
        }
    }
    for (i, link) in links.iter().enumerate() {
        // Sizes of IPv6 pools pass 2^53; a gauge is a float, so very large pools are rounded.
        let size: u128 = link
            .address_pools
            .iter()
            .fold(0u128, |a, p| a.saturating_add(p.size()));
        let delegable: u128 = link
            .prefix_pools
            .iter()
            .fold(0u128, |a, p| a.saturating_add(p.size()));
        let l = || label("link", link.prefix);
        s.gauge(
            "lessor_dhcp6_link_addresses",
            "Addresses the link's address pools hold",
            l(),
            size as f64,
        );
        s.gauge(
            "lessor_dhcp6_link_assigned_addresses",
            "Addresses of the link's pools leased now (IA_NA bindings in state active)",
            l(),
            addresses[i] as f64,
        );
        s.gauge(
            "lessor_dhcp6_link_prefixes",
            "Prefixes the link's prefix pools delegate",
            l(),
            delegable as f64,
        );
        s.gauge(
            "lessor_dhcp6_link_delegated_prefixes",
            "Prefixes of the link's pools delegated now (IA_PD bindings in state active)",
            l(),
            prefixes[i] as f64,
        );
    }
    for (state, n) in State6::ALL.iter().zip(states) {
        s.gauge(
            "lessor_dhcp6_bindings",
            "DHCPv6 bindings the store holds, by state",
            label("state", state.as_str()),
            n as f64,
        );
    }
}
