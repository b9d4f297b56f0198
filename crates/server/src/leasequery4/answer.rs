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
//!   most recent first, and no more than the reply can hold (the responder passes that bound;
//!   [`super::reply::fit`] truncates further if needed).
//!
//! # Bounded work (docs/protocol.md decision 14)
//!
//! A query by relay-id or remote-id walks the store's ranked index ([`Snapshot4::active_by`]):
//! the Active bindings of the identifier, most recent first. The answer is the first binding
//! still active at `now`, the associated addresses the next ones, so a relay with 100,000
//! bindings costs what a client with two costs. A MAC or a client-id has a handful of bindings
//! (one per subnet the client is in): those are walked in the plain index (any state), the
//! active ones sorted. Either walk looks at no more than [`MAX_EXAMINED`] index entries: what a
//! ranked walk may step over (Active bindings whose end has passed but that the expiry timer
//! has not reached yet), and what only a forged flood of one MAC or client-id could pile up. A
//! query that reaches it is answered from what was found ([`Work::capped`], counted by the
//! responder): with no active binding found, as if none were active; for a MAC or client-id,
//! the most recent of the bindings looked at.

use super::query::Key;
use lessor_store::v4::most_recent_first;
use lessor_store::{Binding4, HwAddr, Index4, Snapshot4, Timestamp};
use std::cell::Cell;
use std::net::Ipv4Addr;
use std::sync::Arc;

/// Most addresses in one associated-ip option. 63 fit one option instance (252 octets); RFC 3396
/// lets an option run over several instances, and 250 addresses (1000 octets, 4 instances) still
/// fit an Ethernet-sized reply. A client (or relay) with more active bindings gets the 250 most
/// recent (fewer when the requester's maximum message size is smaller).
pub const MAX_ASSOCIATED: usize = 250;

/// Most index entries one query examines (see the module docs): four times what a full
/// associated-ip list needs, so only a pile of stale or skipped bindings reaches it.
pub const MAX_EXAMINED: usize = 4 * (MAX_ASSOCIATED + 6);

/// What answering a query cost.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Work {
    /// Index entries looked at.
    pub examined: usize,
    /// Whether the walk stopped at [`MAX_EXAMINED`].
    pub capped: bool,
}

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

/// Up to `want` bindings of `ranked` (most recent first) active at `now`, looking at no more
/// than [`MAX_EXAMINED`] index entries in all (`examined` counts them).
fn walk<'a>(
    ranked: impl Iterator<Item = &'a Arc<Binding4>>,
    examined: &Cell<usize>,
    now: Timestamp,
    want: usize,
    capped: &mut bool,
) -> Vec<Arc<Binding4>> {
    let mut out = Vec::new();
    if want == 0 {
        return out;
    }
    for b in ranked {
        if b.is_active_at(now) {
            out.push(b.clone());
            if out.len() == want {
                break;
            }
        }
        if examined.get() >= MAX_EXAMINED {
            *capped = true;
            break;
        }
    }
    out
}

/// Up to `want` bindings of `all` (a MAC's or a client-id's, any state, in address order) active
/// at `now` that `keep` accepts, most recent first, looking at no more than [`MAX_EXAMINED`]
/// records in all (`examined` counts them).
fn gather<'a>(
    all: impl Iterator<Item = &'a Arc<Binding4>>,
    examined: &Cell<usize>,
    now: Timestamp,
    keep: impl Fn(&Binding4) -> bool,
    want: usize,
    capped: &mut bool,
) -> Vec<Arc<Binding4>> {
    let mut out = Vec::new();
    if want == 0 {
        return out;
    }
    for b in all {
        examined.set(examined.get() + 1);
        if b.is_active_at(now) && keep(b) {
            out.push(b.clone());
        }
        if examined.get() >= MAX_EXAMINED {
            *capped = true;
            break;
        }
    }
    out.sort_by(|a, b| most_recent_first(a, b));
    out.truncate(want);
    out
}

/// The chosen binding (the first) and the addresses of the others.
fn choose(found: Vec<Arc<Binding4>>) -> Option<(Arc<Binding4>, Vec<Ipv4Addr>)> {
    let mut it = found.into_iter();
    let chosen = it.next()?;
    Some((chosen, it.map(|b| b.address).collect()))
}

/// Answers `key` from `snapshot` at `now`, with at most `max_associated` associated addresses
/// (itself at most [`MAX_ASSOCIATED`]); `manages` says whether the configuration makes the
/// server authoritative for an address. Also returns the work done.
pub fn answer(
    snapshot: &Snapshot4,
    key: &Key,
    now: Timestamp,
    max_associated: usize,
    manages: impl Fn(Ipv4Addr) -> bool,
) -> (Answer, Work) {
    let max_associated = max_associated.min(MAX_ASSOCIATED);
    let examined = Cell::new(0);
    let mut capped = false;
    let unknown = Answer::Unknown {
        ciaddr: Ipv4Addr::UNSPECIFIED,
    };
    let active = |(binding, associated): (Arc<Binding4>, Vec<Ipv4Addr>)| Answer::Active {
        binding,
        associated,
    };
    let mac = |hw: &HwAddr| hw.key_bytes();
    let mut ranked = |index: Index4, id: &[u8], want: usize| {
        let all = snapshot.active_by(index, id, &examined);
        walk(all, &examined, now, want, &mut capped)
    };
    let mut capped_few = false;
    let mut few = |index: Index4,
                   id: &[u8],
                   except: Option<Ipv4Addr>,
                   keep: &dyn Fn(&Binding4) -> bool,
                   want| {
        // The common case, a client with one binding: no index walk at all. The durable
        // view's overlay applies (docs/operator-guide.md, "When the store cannot commit").
        let all = snapshot.find_except(index, id, except);
        gather(all, &examined, now, keep, want, &mut capped_few)
    };
    let answer = match key {
        Key::Ip(a) => match snapshot.get(*a) {
            Some(b) if b.is_active_at(now) => {
                // The owner's other addresses: by its client-id, else by MAC among the
                // bindings without one (RFC 4388 §6.4.1).
                let me = Some(b.address);
                let others = match b.client_id() {
                    Some(id) => few(Index4::ClientId, id, me, &|_| true, max_associated),
                    None => {
                        let (k, len) = mac(&b.hw);
                        let keep = |o: &Binding4| o.client_id().is_none();
                        few(Index4::Mac, &k[..len], me, &keep, max_associated)
                    }
                };
                Answer::Active {
                    binding: b.clone(),
                    associated: others.iter().map(|o| o.address).collect(),
                }
            }
            _ if manages(*a) => Answer::Unassigned { ciaddr: *a },
            _ => Answer::Unknown { ciaddr: *a },
        },
        Key::Mac(hw) => {
            let (k, len) = mac(hw);
            choose(few(
                Index4::Mac,
                &k[..len],
                None,
                &|_| true,
                1 + max_associated,
            ))
            .map_or(unknown, active)
        }
        Key::ClientId(id) => choose(few(
            Index4::ClientId,
            id,
            None,
            &|_| true,
            1 + max_associated,
        ))
        .map_or(unknown, active),
        Key::RemoteId(id) => match choose(ranked(Index4::RemoteId, id, 1 + max_associated)) {
            Some(c) => active(c),
            None if snapshot.knows_remote_id(id) => Answer::Unassigned {
                ciaddr: Ipv4Addr::UNSPECIFIED,
            },
            None => unknown,
        },
        Key::RelayId(id) => match choose(ranked(Index4::RelayId, id, 1 + max_associated)) {
            Some(c) => active(c),
            None if snapshot.knows_relay_id(id) => Answer::Unassigned {
                ciaddr: Ipv4Addr::UNSPECIFIED,
            },
            None => unknown,
        },
    };
    let work = Work {
        examined: examined.get(),
        capped: capped || capped_few,
    };
    (answer, work)
}
