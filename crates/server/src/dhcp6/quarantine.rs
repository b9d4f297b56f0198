//! Quarantine after unreadable `lease6` rows, the DHCPv6 sibling of
//! [`crate::dhcp4::quarantine`] (docs/operator-guide.md, "Unreadable store rows").
//!
//! A skipped row may be some client's lease: handing its address or prefix to another client
//! would give it twice. The store identifies a skipped `lease6` row by its rowid only, so any
//! such row quarantines every link: none of its never-used addresses or prefixes (nor a free one
//! a client hints at) is given until every lease that could have been lost has ended (the start
//! plus the link's valid lifetime, or the latest end of the link's loaded Active bindings when
//! later). Loaded bindings are intact: clients keep theirs, and Expired or Released resources may
//! still be reused. The quarantine is kept in the store's meta table ([`META_KEY`]) so a restart
//! keeps it.
//!
//! Sans-IO: [`plan`] takes what the store reported and the time; the shell logs and persists.

use crate::config::Link6;
use ipnet::Ipv6Net;
use lessor_store::v6::binding::State6;
use lessor_store::v6::snapshot::Snapshot6;
use lessor_store::{SkippedRow, Timestamp};
use std::collections::BTreeMap;

/// The meta key that keeps the quarantine: `PREFIX=END` pairs, separated by spaces.
pub const META_KEY: &str = "quarantine6";

/// The table whose rows hold DHCPv6 bindings.
const LEASE6: &str = "lease6";

/// Until when each configured link is quarantined (config order; `None`: not).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Quarantine6 {
    pub until: Vec<Option<Timestamp>>,
    /// `lease6` rows (or regions) that could not be read at this start.
    pub unreadable: usize,
}

impl Quarantine6 {
    /// Whether any link is quarantined.
    pub fn any(&self) -> bool {
        self.until.iter().any(Option::is_some)
    }

    /// The value kept under [`META_KEY`].
    pub fn to_meta(&self, links: &[Link6]) -> String {
        links
            .iter()
            .zip(&self.until)
            .filter_map(|(l, u)| u.map(|u| format!("{}={u}", l.prefix)))
            .collect::<Vec<_>>()
            .join(" ")
    }
}

/// Reads a [`META_KEY`] value; malformed pairs are left out.
pub fn parse_meta(text: &str) -> BTreeMap<Ipv6Net, Timestamp> {
    text.split_whitespace()
        .filter_map(|pair| {
            let (prefix, end) = pair.split_once('=')?;
            Some((prefix.parse().ok()?, end.parse().ok()?))
        })
        .collect()
}

/// The quarantine at a start at `now`: from the rows the store skipped, what an earlier start
/// kept (the [`META_KEY`] value) and the bindings that loaded.
pub fn plan(
    links: &[Link6],
    skipped: &[SkippedRow],
    kept: Option<&str>,
    loaded: &Snapshot6,
    now: Timestamp,
) -> Quarantine6 {
    let unreadable = skipped.iter().filter(|r| r.table == LEASE6).count();
    let kept = kept.map(parse_meta).unwrap_or_default();
    let until = links
        .iter()
        .map(|l| {
            let fresh = (unreadable > 0).then(|| {
                let longest = loaded
                    .iter()
                    .filter(|b| b.link == l.prefix && b.state == State6::Active)
                    .map(|b| b.valid_end)
                    .max()
                    .unwrap_or(0);
                longest.max(now + u64::from(l.lifetimes.valid.0))
            });
            fresh
                .max(kept.get(&l.prefix).copied())
                .filter(|&end| end > now)
        })
        .collect();
    Quarantine6 { until, unreadable }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{Lifetimes6, Seconds};
    use lessor_store::v6::binding::{Binding6, IaType};
    use lessor_store::{Completion, Store};

    const NOW: Timestamp = 1_800_000_000;

    fn link(prefix: &str, valid: u32) -> Link6 {
        Link6 {
            prefix: prefix.parse().unwrap(),
            interface_ids: vec![],
            interface: None,
            lifetimes: Lifetimes6 {
                preferred: Seconds(valid / 2),
                valid: Seconds(valid),
                renew_time: Seconds(valid / 4),
                rebind_time: Seconds(valid / 3),
            },
            address_pools: vec![],
            prefix_pools: vec![],
            reservations: vec![],
            options: vec![],
        }
    }

    #[test]
    fn an_unreadable_row_quarantines_every_link_until_its_leases_could_have_ended() {
        let links = [link("2001:db8:1::/64", 3600), link("2001:db8:2::/64", 600)];
        let store = Store::in_memory();
        let b = Binding6::new(
            "2001:db8:2::10".parse().unwrap(),
            128,
            IaType::Na,
            &[0, 3, 0, 1, 2],
            1,
            links[1].prefix,
            State6::Active,
        )
        .unwrap()
        .with_times(NOW - 10, NOW + 100, NOW + 5000, NOW, NOW, NOW - 10);
        store.v6().upsert(b, Completion::none());
        let row = SkippedRow {
            table: "lease6",
            key: Some(7),
            reason: "bad state".into(),
        };
        let q = plan(&links, &[row], None, &store.v6().snapshot(), NOW);
        assert_eq!(q.unreadable, 1);
        assert_eq!(q.until, vec![Some(NOW + 3600), Some(NOW + 5000)]);
        let meta = q.to_meta(&links);
        assert_eq!(
            meta,
            format!(
                "2001:db8:1::/64={} 2001:db8:2::/64={}",
                NOW + 3600,
                NOW + 5000
            )
        );
        // A restart with the rows gone keeps it, until it ends.
        let again = plan(&links, &[], Some(&meta), &store.v6().snapshot(), NOW + 60);
        assert_eq!(again.until, q.until);
        assert_eq!(again.unreadable, 0);
        let over = plan(&links, &[], Some(&meta), &store.v6().snapshot(), NOW + 5000);
        assert!(!over.any());
        // lease4 rows are DHCPv4's business.
        let v4 = SkippedRow {
            table: "lease4",
            key: None,
            reason: "x".into(),
        };
        assert!(!plan(&links, &[v4], None, &store.v6().snapshot(), NOW).any());
    }
}
