//! Quarantine after unreadable store rows (docs/operator-guide.md, "Unreadable store rows").
//!
//! The store skips rows it cannot read at start and the server runs on (availability). But a
//! skipped row may be some client's lease: handing its address to another client would give
//! the address twice. So each subnet that may have lost a row is quarantined: none of its
//! addresses without a loaded binding (never-used ones, or a free address a client asks for)
//! is offered until every lease that could have been lost has ended. Bindings that loaded are
//! intact (the store keeps one row per address), so clients keep their own bindings and
//! Expired or Released addresses may still be reused.
//!
//! - A row whose address could be read quarantines the subnet containing it; a region of the
//!   table that could not be read at all (no address known) quarantines every subnet.
//! - A quarantine lasts until the start plus the subnet's lease time, or the latest end among
//!   the subnet's loaded Active bindings when later (a lease time shortened since).
//! - It is kept in the store's meta table ([`META_KEY`]), so a restart during the quarantine
//!   keeps it even when the unreadable rows are gone by then (overwritten or vacuumed).
//!
//! Sans-IO: [`plan`] takes what the store reported and the time; the shell logs and persists.

use crate::config::Subnet;
use ipnet::Ipv4Net;
use lessor_store::{SkippedRow, Snapshot4, State4, Timestamp};
use std::collections::BTreeMap;
use std::net::Ipv4Addr;

/// The meta key that keeps the quarantine: `PREFIX=END` pairs (end in seconds since the
/// epoch), separated by spaces.
pub const META_KEY: &str = "quarantine4";

/// The table whose rows hold DHCPv4 bindings.
const LEASE4: &str = "lease4";

/// Until when each configured subnet is quarantined (in config order; `None`: not).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Quarantine {
    pub until: Vec<Option<Timestamp>>,
    /// `lease4` rows (or regions) that could not be read at this start.
    pub unreadable: usize,
}

impl Quarantine {
    /// Whether any subnet is quarantined.
    pub fn any(&self) -> bool {
        self.until.iter().any(Option::is_some)
    }

    /// The value kept under [`META_KEY`]: the quarantined subnets and their ends.
    pub fn to_meta(&self, subnets: &[Subnet]) -> String {
        subnets
            .iter()
            .zip(&self.until)
            .filter_map(|(s, u)| u.map(|u| format!("{}={u}", s.prefix)))
            .collect::<Vec<_>>()
            .join(" ")
    }
}

/// Reads a [`META_KEY`] value; malformed pairs are left out (the value is the server's own).
pub fn parse_meta(text: &str) -> BTreeMap<Ipv4Net, Timestamp> {
    text.split_whitespace()
        .filter_map(|pair| {
            let (prefix, end) = pair.split_once('=')?;
            Some((prefix.parse().ok()?, end.parse().ok()?))
        })
        .collect()
}

/// The quarantine at a start at `now`: from the rows the store skipped (`skipped`), what an
/// earlier start kept (`kept`, the [`META_KEY`] value) and the bindings that loaded.
pub fn plan(
    subnets: &[Subnet],
    skipped: &[SkippedRow],
    kept: Option<&str>,
    loaded: &Snapshot4,
    now: Timestamp,
) -> Quarantine {
    let mut hit = vec![false; subnets.len()];
    let mut unreadable = 0;
    for row in skipped.iter().filter(|r| r.table == LEASE4) {
        unreadable += 1;
        let address = row
            .key
            .and_then(|k| u32::try_from(k).ok())
            .map(Ipv4Addr::from);
        match address {
            Some(a) => {
                if let Some(i) = subnets.iter().position(|s| s.prefix.contains(&a)) {
                    hit[i] = true;
                }
            }
            None => hit.iter_mut().for_each(|h| *h = true),
        }
    }
    let kept = kept.map(parse_meta).unwrap_or_default();
    let until = subnets
        .iter()
        .zip(hit)
        .map(|(s, hit)| {
            let fresh = hit.then(|| {
                let longest = loaded
                    .iter()
                    .filter(|b| b.subnet == s.prefix && b.state == State4::Active)
                    .map(|b| b.end)
                    .max()
                    .unwrap_or(0);
                longest.max(now + u64::from(s.timers.lease_time.0))
            });
            let earlier = kept.get(&s.prefix).copied();
            fresh.max(earlier).filter(|&end| end > now)
        })
        .collect();
    Quarantine { until, unreadable }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config;
    use lessor_store::{Binding4, Completion, HwAddr, Store};

    const CONFIG: &str = r#"
[dhcp4]
server-identifier = "192.0.2.1"
listen = ["192.0.2.1"]
lease-time = "1h"

[[dhcp4.subnet]]
prefix = "192.0.2.0/24"
pools = ["192.0.2.100-192.0.2.110"]

[[dhcp4.subnet]]
prefix = "198.51.100.0/24"
pools = ["198.51.100.10-198.51.100.12"]
lease-time = "2h"
"#;

    const NOW: Timestamp = 1_800_000_000;

    fn subnets() -> Vec<Subnet> {
        config::parse(CONFIG, "test.toml")
            .unwrap()
            .dhcp4
            .unwrap()
            .subnets
    }

    fn row(key: Option<&str>) -> SkippedRow {
        SkippedRow {
            table: LEASE4,
            key: key.map(|a| i64::from(u32::from(a.parse::<Ipv4Addr>().unwrap()))),
            reason: "column state: unknown state".into(),
        }
    }

    fn empty() -> Snapshot4 {
        Store::in_memory().v4().snapshot()
    }

    #[test]
    fn a_known_address_quarantines_its_subnet_an_unknown_region_every_subnet() {
        let s = subnets();
        let q = plan(&s, &[row(Some("198.51.100.11"))], None, &empty(), NOW);
        assert_eq!(q.until, vec![None, Some(NOW + 7200)]);
        assert_eq!(q.unreadable, 1);
        assert_eq!(q.to_meta(&s), format!("198.51.100.0/24={}", NOW + 7200));

        let q = plan(&s, &[row(None)], None, &empty(), NOW);
        assert_eq!(q.until, vec![Some(NOW + 3600), Some(NOW + 7200)]);

        // An address in no configured subnet, or another table: nothing.
        let mut other = row(None);
        other.table = "meta";
        let q = plan(&s, &[row(Some("203.0.113.5")), other], None, &empty(), NOW);
        assert!(!q.any());
    }

    #[test]
    fn a_longer_loaded_lease_extends_it_and_a_kept_quarantine_survives_a_restart() {
        let s = subnets();
        let store = Store::in_memory();
        let b = Binding4::new(
            "192.0.2.100".parse().unwrap(),
            "192.0.2.0/24".parse().unwrap(),
            HwAddr::ethernet([2, 0, 0, 0, 0, 1]),
            State4::Active,
        )
        .with_times(NOW - 10, NOW + 86_400, NOW + 100, NOW + 200, NOW - 10);
        store.v4().upsert(b, Completion::none());
        let q = plan(
            &s,
            &[row(Some("192.0.2.105"))],
            None,
            &store.v4().snapshot(),
            NOW,
        );
        assert_eq!(q.until[0], Some(NOW + 86_400));

        // Restarted an hour later, the bad row gone: the kept end still holds; one that has
        // passed is dropped.
        let kept = format!("192.0.2.0/24={} 198.51.100.0/24={}", NOW + 86_400, NOW + 10);
        let q = plan(&s, &[], Some(&kept), &empty(), NOW + 3600);
        assert_eq!(q.until, vec![Some(NOW + 86_400), None]);
        assert_eq!(q.unreadable, 0);
        assert_eq!(parse_meta("junk 192.0.2.0/24=x 192.0.2.0/24=5").len(), 1);
    }
}
