//! Looking a query up in the bindings and choosing the reply (RFC 4388 §5, §6.4, §6.4.1;
//! docs/protocol.md decision 7).
//!
//! "Active" always means: state Active and `end` still in the future (a lease whose time ran
//! out before the expiry timer got to it is not active).
//!
//! - **By IP** (ciaddr): DHCPLEASEACTIVE when the address has an active binding. Otherwise
//!   DHCPLEASEUNASSIGNED when the server manages the address (it is inside a configured pool and
//!   not excluded, or it is a host reservation's address) — whatever the binding's state (free,
//!   offered only, released, expired, declined in or after probation). Otherwise
//!   DHCPLEASEUNKNOWN: also for an address that still has an old binding but that the current
//!   configuration no longer manages (the server is not authoritative for it any more).
//! - **By MAC / by client-id**: the client's *active* bindings are considered; the most recent
//!   one is the answer, the others go to associated-ip. "Most recent" is the latest
//!   client-last-transaction-time and, within one second, the binding the store wrote last
//!   ([`most_recent_first`]): cltt has whole seconds only, the order of transactions decides. A client the server knows but without an active binding (released,
//!   expired, offered, declined), and a client it never saw, both get DHCPLEASEUNKNOWN:
//!   DHCPLEASEUNASSIGNED "is only returned for a query by IP address" (§6.4), and §5 says "the
//!   server replies with a DHCPLEASEUNKNOWN message if the server does not presently have an
//!   active lease by a client with this MAC address". A more recent inactive binding does not
//!   hide an older active one: the active one is returned (§5: ACTIVE "if the MAC address ...
//!   corresponds to a MAC address with an active lease").
//! - **By remote-id / relay-id**: as by MAC over the bindings carrying that identifier;
//!   DHCPLEASEUNASSIGNED (ciaddr 0: no address is named) when the identifier is known from a kept
//!   binding but none is active, DHCPLEASEUNKNOWN when it was never seen.
//! - **associated-ip** (§6.1, §6.4.2): the other *active* addresses of the same client (for a
//!   query by IP: of the owner of the address, identified by its client-id when the binding has
//!   one, else by its MAC address; for identifier queries: of the same identifier). It is sent
//!   whenever there is at least one, requested or not. At most [`MAX_ASSOCIATED`] addresses, the
//!   most recent first.

use super::query::Key;
use lessor_store::v4::most_recent_first;
use lessor_store::{Binding4, Snapshot4, Timestamp};
use std::net::Ipv4Addr;
use std::sync::Arc;

/// Most addresses in one associated-ip option. 63 fit one option instance (252 octets); RFC 3396
/// lets an option run over several instances, and 250 addresses (1000 octets, 4 instances) still
/// fit an Ethernet-sized reply. A client (or relay) with more active bindings gets the 250 most
/// recent.
pub const MAX_ASSOCIATED: usize = 250;

/// The reply chosen for a query.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Answer {
    /// DHCPLEASEACTIVE about `binding`.
    Active {
        binding: Arc<Binding4>,
        associated: Vec<Ipv4Addr>,
    },
    /// DHCPLEASEUNASSIGNED carrying `ciaddr`.
    Unassigned { ciaddr: Ipv4Addr },
    /// DHCPLEASEUNKNOWN carrying `ciaddr` (the query's, for a query by IP: erratum 3518).
    Unknown { ciaddr: Ipv4Addr },
}

/// The chosen binding among `candidates` (any state) and the other active ones, most recent
/// first; `None` when none is active.
fn choose(
    candidates: impl IntoIterator<Item = Arc<Binding4>>,
    now: Timestamp,
) -> Option<(Arc<Binding4>, Vec<Ipv4Addr>)> {
    let mut active: Vec<Arc<Binding4>> = candidates
        .into_iter()
        .filter(|b| b.is_active_at(now))
        .collect();
    active.sort_by(|a, b| most_recent_first(a, b));
    let mut it = active.into_iter();
    let chosen = it.next()?;
    let associated = it.take(MAX_ASSOCIATED).map(|b| b.address).collect();
    Some((chosen, associated))
}

/// The other active addresses of the owner of `binding`, most recent first.
fn owners_others(snapshot: &Snapshot4, binding: &Binding4, now: Timestamp) -> Vec<Ipv4Addr> {
    let mut others = snapshot.fellows(binding);
    others.retain(|b| b.is_active_at(now));
    others.sort_by(|a, b| most_recent_first(a, b));
    others
        .into_iter()
        .take(MAX_ASSOCIATED)
        .map(|b| b.address)
        .collect()
}

/// Answers `key` from `snapshot` at `now`; `manages` says whether the configuration makes the
/// server authoritative for an address.
pub fn answer(
    snapshot: &Snapshot4,
    key: &Key,
    now: Timestamp,
    manages: impl Fn(Ipv4Addr) -> bool,
) -> Answer {
    let unknown = Answer::Unknown {
        ciaddr: Ipv4Addr::UNSPECIFIED,
    };
    let active = |(binding, associated): (Arc<Binding4>, Vec<Ipv4Addr>)| Answer::Active {
        binding,
        associated,
    };
    match key {
        Key::Ip(a) => match snapshot.get(*a) {
            Some(b) if b.is_active_at(now) => Answer::Active {
                binding: b.clone(),
                associated: owners_others(snapshot, b, now),
            },
            _ if manages(*a) => Answer::Unassigned { ciaddr: *a },
            _ => Answer::Unknown { ciaddr: *a },
        },
        Key::Mac(hw) => choose(snapshot.by_mac(hw), now).map_or(unknown, active),
        Key::ClientId(id) => choose(snapshot.by_client_id(id), now).map_or(unknown, active),
        Key::RemoteId(id) => match choose(snapshot.by_remote_id(id), now) {
            Some(c) => active(c),
            None if snapshot.knows_remote_id(id) => Answer::Unassigned {
                ciaddr: Ipv4Addr::UNSPECIFIED,
            },
            None => unknown,
        },
        Key::RelayId(id) => match choose(snapshot.by_relay_id(id), now) {
            Some(c) => active(c),
            None if snapshot.knows_relay_id(id) => Answer::Unassigned {
                ciaddr: Ipv4Addr::UNSPECIFIED,
            },
            None => unknown,
        },
    }
}
