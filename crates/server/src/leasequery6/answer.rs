//! Finding the client a query is about (RFC 5007 §4.4.1), over the durable bindings (a snapshot or
//! the live table's point maps: [`Lookup6`]), with bounded work (as DHCPv4's, docs/protocol.md
//! decision 14): at most [`MAX_EXAMINED`] bindings of one DUID are looked at, and the count is
//! charged to the rate limits.
//!
//! - The link: a non-zero link-address must lie in a configured link's prefix, for both query
//!   types (§4.4.1 "MUST use the link-address"); otherwise NotConfigured. QUERY_BY_ADDRESS with
//!   `::` takes the link from the address: the link whose prefix, address pool, prefix pool or
//!   reservation holds it, else the link of the binding covering it (docs/protocol.md decision
//!   16).
//! - QUERY_BY_ADDRESS: the binding of the address or the delegated prefix containing it
//!   ([`Lookup6::containing`]), when active and on that link; the answer is all of that
//!   client's active bindings on the link (§4.1.2.2, decision 23).
//! - QUERY_BY_CLIENTID: the client's active bindings on the given link; with `::`, on every
//!   link: one link gives its bindings, several give the list of links and no client data
//!   (§4.4.1).

use super::query::{Parsed, Target};
use crate::config::Link6;
use lessor_store::v6::binding::Binding6;
use lessor_store::{Lookup6, Timestamp};
use std::net::Ipv6Addr;
use std::sync::Arc;

/// Most bindings of one DUID looked at per query.
pub const MAX_EXAMINED: usize = 1024;

/// What a query found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Answer {
    /// One client's active bindings on one link (never empty), most recent first. `link` is its
    /// index in the configured links.
    Client {
        link: usize,
        bindings: Vec<Arc<Binding6>>,
    },
    /// The client is on several links: their link-addresses (each link's prefix address), in
    /// configuration order.
    Links(Vec<Ipv6Addr>),
    /// No client matches (an empty reply).
    Nothing,
    /// The link-address, or the address of a QUERY_BY_ADDRESS, is on no configured link.
    NotConfigured,
}

/// The work a lookup did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Work {
    pub examined: usize,
    pub capped: bool,
}

/// The configured link whose prefix holds `a`.
pub fn link_of(links: &[Link6], a: Ipv6Addr) -> Option<usize> {
    links.iter().position(|l| l.prefix.contains(&a))
}

/// The configured link an address belongs to when no link-address says: its prefix holds it,
/// or one of its pools or reservations does.
fn link_of_address(links: &[Link6], a: Ipv6Addr) -> Option<usize> {
    link_of(links, a).or_else(|| {
        links.iter().position(|l| {
            l.address_pools.iter().any(|p| p.contains(a))
                || l.prefix_pools.iter().any(|p| p.prefix.contains(&a))
                || l.reservations
                    .iter()
                    .any(|r| r.addresses.contains(&a) || r.prefixes.iter().any(|p| p.contains(&a)))
        })
    })
}

/// Answers `q` from `snapshot` at `now`.
pub fn answer(
    snapshot: &impl Lookup6,
    links: &[Link6],
    q: &Parsed,
    now: Timestamp,
) -> (Answer, Work) {
    let mut work = Work::default();
    let given = if q.link_address.is_unspecified() {
        None
    } else {
        match link_of(links, q.link_address) {
            Some(i) => Some(i),
            None => return (Answer::NotConfigured, work),
        }
    };
    match &q.target {
        Target::Address(a) => {
            let covering = snapshot.containing(*a);
            let link = given.or_else(|| {
                link_of_address(links, *a).or_else(|| {
                    covering.and_then(|b| links.iter().position(|l| l.prefix == b.link))
                })
            });
            let Some(link) = link else {
                return (Answer::NotConfigured, work);
            };
            let Some(b) = covering.filter(|b| b.is_active_at(now)) else {
                return (Answer::Nothing, work);
            };
            if b.link != links[link].prefix {
                return (Answer::Nothing, work);
            }
            let Some(duid) = b.duid() else {
                return (Answer::Nothing, work);
            };
            let all = of_client(snapshot, duid, now, &mut work);
            let bindings: Vec<_> = all
                .into_iter()
                .filter(|c| c.link == links[link].prefix)
                .collect();
            (Answer::Client { link, bindings }, work)
        }
        Target::ClientId(duid) => {
            let all = of_client(snapshot, duid, now, &mut work);
            let mut on: Vec<usize> = Vec::new();
            for b in &all {
                // A binding on a link no longer configured is not reported: no link names it.
                if let Some(i) = links.iter().position(|l| l.prefix == b.link) {
                    if !on.contains(&i) {
                        on.push(i);
                    }
                }
            }
            let link = match (given, on.as_slice()) {
                (Some(g), _) if on.contains(&g) => g,
                (Some(_), _) | (None, []) => return (Answer::Nothing, work),
                (None, [one]) => *one,
                (None, _) => {
                    on.sort_unstable();
                    let addresses = on.iter().map(|&i| links[i].prefix.network()).collect();
                    return (Answer::Links(addresses), work);
                }
            };
            let bindings = all
                .into_iter()
                .filter(|b| b.link == links[link].prefix)
                .collect();
            (Answer::Client { link, bindings }, work)
        }
    }
}

/// The active bindings (non-zero valid lifetime, §4.1.2.2) of `duid`, most recent first,
/// looking at no more than [`MAX_EXAMINED`].
fn of_client(
    snapshot: &impl Lookup6,
    duid: &[u8],
    now: Timestamp,
    work: &mut Work,
) -> Vec<Arc<Binding6>> {
    let mut all = snapshot.by_duid(duid);
    if all.len() > MAX_EXAMINED {
        all.truncate(MAX_EXAMINED);
        work.capped = true;
    }
    work.examined += all.len();
    all.retain(|b| b.is_active_at(now));
    all.sort_by(|x, y| y.recency().cmp(&x.recency()).then(x.key6().cmp(&y.key6())));
    all
}
