//! The DHCPv4 leasequery responder over UDP: RFC 4388 complete, draft-ietf-dhc-leasequery-00
//! for configured legacy requesters, and query by remote-id / relay-id in the RFC 6148 style
//! (docs/protocol.md decision 7). Sans-IO: the router ([`crate::router4`]) hands over a message it
//! routed as leasequery with the time, and the I/O shell sends the reply it gets back, if any,
//! where its destination says.
//!
//! A query goes through, in order (each refusal is counted, see [`Counters`]):
//! 1. [`validate`]: options that parse; giaddr 0 gets no reply (§6.4.3).
//! 2. [`access`]: source address and giaddr both inside `[leasequery4] requesters`; the
//!    requester's, the relay's (giaddr) and the server's token buckets, one token each.
//!
//! Every drop is counted by reason ([`Counters`]) and tallied by requester for the operator's
//! log ([`Responder4::take_drop_report`], [`drops`]).
//! 3. Message type: DHCPLEASEQUERY (10), or the configured type of a legacy requester (the
//!    source address names it in `[leasequery4] legacy`, and the legacy type wins); anything else
//!    (bulk, active leasequery over UDP, ...) gets no reply.
//! 4. [`query`]: exactly one key.
//! 5. [`answer`] on a snapshot of the store, walking at most [`answer::MAX_EXAMINED`] index
//!    entries; the entries examined are then charged to the same buckets
//!    ([`access::RateLimiter::charge`], docs/protocol.md decision 14).
//! 6. [`reply`], encoded to fit the query's Maximum DHCP Message Size, 576 octets without one
//!    ([`reply::fit`], docs/protocol.md decision 15).
//!
//! The reply goes to giaddr, port 67; to the query's source port only when the requester is
//! inside `[leasequery4] reply-to-source-port` and the datagram came from giaddr itself
//! (docs/protocol.md decision 4).

pub mod access;
pub mod answer;
pub mod counters;
pub mod drops;
pub mod query;
pub mod reply;
pub mod tally;
pub mod validate;

pub use answer::{MAX_ASSOCIATED, MAX_EXAMINED};
pub use counters::{Counters, DropReason};
pub use drops::DropReport;
pub use query::{Key, QueryKind};

use crate::config::options::ConfiguredOption;
use crate::config::{Config, Subnet};
use crate::router4::Message4;
use crate::stats::Counter;
use access::{AllowList, Limited, RateLimiter};
use answer::Answer;
use drops::DropLog;
use lessor_net::{Destination, Outgoing};
use lessor_store::{Store, Timestamp};
use lessor_wire::v4::MessageType;
use reply::Fitted;
use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4};
use std::sync::{Arc, Mutex};

/// The server port, where leasequery replies go (RFC 4388 §6.4.3, docs/protocol.md decision 4).
pub const SERVER_PORT: u16 = 67;

/// The DHCPv4 leasequery responder.
pub struct Responder4 {
    server_identifier: Ipv4Addr,
    store: Arc<Store>,
    subnets: Vec<Subnet>,
    global_options: Vec<ConfiguredOption>,
    non_sensitive: Vec<u8>,
    allow: AllowList,
    legacy: Vec<(Ipv4Addr, u8)>,
    /// Requesters whose replies may go to the query's source port (docs/protocol.md decision 4).
    source_port: AllowList,
    /// The one piece of mutable state: locked only for the token-bucket arithmetic, so several
    /// receive threads answer queries in parallel.
    limiter: Arc<Mutex<RateLimiter>>,
    /// What `limiter` was made from (per requester, total): a reload keeps the buckets
    /// when it is unchanged.
    rate: (u32, u32),
    counters: Arc<Counters>,
    /// Drops since the last [`Responder4::take_drop_report`], locked only on the drop path.
    drops: Arc<Mutex<DropLog>>,
}

impl std::fmt::Debug for Responder4 {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Responder4")
            .field("server_identifier", &self.server_identifier)
            .field("subnets", &self.subnets.len())
            .finish_non_exhaustive()
    }
}

impl Responder4 {
    /// A responder for `config`'s `[leasequery4]` (absent: nobody is answered) over `store`,
    /// answering as `server_identifier` (option 54).
    pub fn new(config: &Config, store: Arc<Store>, server_identifier: Ipv4Addr) -> Responder4 {
        let (subnets, global_options) = match &config.dhcp4 {
            Some(d) => (d.subnets.clone(), d.options.clone()),
            None => (Vec::new(), Vec::new()),
        };
        let lq = config.leasequery4.as_ref();
        let rate = lq.map(|l| l.rate_limit.clone()).unwrap_or_default();
        Responder4 {
            server_identifier,
            store,
            subnets,
            global_options,
            non_sensitive: lq
                .map(|l| l.non_sensitive_options.clone())
                .unwrap_or_default(),
            allow: AllowList::new(lq.map(|l| l.requesters.clone()).unwrap_or_default()),
            legacy: lq.map(|l| l.legacy.clone()).unwrap_or_default(),
            source_port: AllowList::new(
                lq.map(|l| l.reply_to_source_port.clone())
                    .unwrap_or_default(),
            ),
            limiter: Arc::new(Mutex::new(RateLimiter::new(rate.per_requester, rate.total))),
            rate: (rate.per_requester, rate.total),
            counters: Arc::new(Counters::default()),
            drops: Arc::new(Mutex::new(DropLog::default())),
        }
    }

    /// The responder for a reloaded `config` (docs/operator-guide.md, "Reloading the
    /// configuration"): requesters, legacy requesters, options, subnets and the identifier
    /// are `config`'s; the counters and the drops not yet reported are this one's, and so are
    /// the token buckets when `[leasequery4.rate-limit]` is unchanged (a requester cannot
    /// refill its bucket by waiting for a reload). Queries in flight finish on this one.
    pub fn reconfigured(&self, config: &Config, server_identifier: Ipv4Addr) -> Responder4 {
        let mut next = Responder4::new(config, Arc::clone(&self.store), server_identifier);
        next.counters = Arc::clone(&self.counters);
        next.drops = Arc::clone(&self.drops);
        let unchanged = next.rate == self.rate;
        next.limiter =
            crate::leasequery4::access::carried_over(&self.limiter, next.limiter, unchanged);
        next
    }

    /// The counters (shareable with a metrics reader).
    pub fn counters(&self) -> &Arc<Counters> {
        &self.counters
    }

    /// Queries by requester (source address), let through and dropped by the rate limits
    /// ([`crate::leasequery4::tally`]); `None` is every requester past the table's bound.
    pub fn requesters(
        &self,
    ) -> Vec<(
        Option<std::net::IpAddr>,
        crate::leasequery4::tally::RequesterCounts,
    )> {
        crate::leasequery4::access::requester_rows(&self.limiter)
    }

    /// Whether the configuration makes this server authoritative for `a`: inside a pool (and not
    /// excluded), or a host reservation's address.
    pub fn manages(&self, a: Ipv4Addr) -> bool {
        manages(&self.subnets, a)
    }

    /// What was dropped, why and from whom since the last report, for one log line
    /// (`Display`): `None` when nothing was dropped or the last report is less than
    /// [`crate::droplog::REPORT_INTERVAL_MS`] old (the drops then wait for the next call,
    /// nothing is lost). The I/O shell calls it from a timer, every second or so, with the
    /// same monotonic clock it gives [`Responder4::handle`].
    pub fn take_drop_report(&self, now_ms: u64) -> Option<DropReport> {
        self.drops
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take(now_ms)
    }

    fn drop(&self, reason: DropReason, source: Ipv4Addr, instant_ms: u64) -> Option<Outgoing> {
        self.counters.count_drop(reason);
        self.drops
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .record(reason, source, instant_ms);
        None
    }

    /// Answers one leasequery message. `now` is the wall clock in seconds since the epoch
    /// (lease arithmetic); `instant_ms` a monotonic clock in milliseconds (rate limits).
    pub fn handle(&self, rx: &Message4<'_>, now: Timestamp, instant_ms: u64) -> Option<Outgoing> {
        self.answer(rx, now, instant_ms, None)
    }

    /// [`Responder4::handle`], taking the client options of a DHCPLEASEACTIVE from `caches`
    /// when it can ([`reply::PrlCaches`]): the same reply, without assembling the client's
    /// option set for every query. A receive thread passes its own `caches` to every call.
    pub fn handle_cached(
        &self,
        rx: &Message4<'_>,
        now: Timestamp,
        instant_ms: u64,
        caches: &mut reply::PrlCaches,
    ) -> Option<Outgoing> {
        self.answer(rx, now, instant_ms, Some(caches))
    }

    fn answer(
        &self,
        rx: &Message4<'_>,
        now: Timestamp,
        instant_ms: u64,
        caches: Option<&mut reply::PrlCaches>,
    ) -> Option<Outgoing> {
        self.counters.received.add();
        let source = *rx.source.ip();
        let q = match validate::read(rx) {
            Ok(q) => q,
            Err(reason) => return self.drop(reason, source, instant_ms),
        };
        if !self.allow.allows(source, q.giaddr) {
            return self.drop(DropReason::NotAllowed, source, instant_ms);
        }
        let limited = self
            .limiter
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .check(source, q.giaddr, instant_ms);
        if let Err(limited) = limited {
            let reason = match limited {
                Limited::Requester => DropReason::RateLimitedRequester,
                Limited::Relay => DropReason::RateLimitedRelay,
                Limited::Total => DropReason::RateLimitedTotal,
            };
            return self.drop(reason, source, instant_ms);
        }
        let t = u8::from(q.message_type);
        let legacy = self.legacy.iter().any(|&(a, lt)| a == source && lt == t);
        if !legacy && q.message_type != MessageType::LeaseQuery {
            return self.drop(DropReason::UnsupportedType, source, instant_ms);
        }
        // Only what is durable: a binding whose commit may still fail is not reported.
        let snapshot = self.store.v4().durable_snapshot();
        let ctx = reply::Context {
            server_identifier: self.server_identifier,
            subnets: &self.subnets,
            global_options: &self.global_options,
            non_sensitive: &self.non_sensitive,
        };
        // The reply counter, added to once the reply fits and is sent.
        let sent: &Counter;
        let (mut repr, work) = if legacy {
            // draft-00 §6.2: the query is by ciaddr, whatever else it carries.
            if q.ciaddr.is_unspecified() {
                return self.drop(DropReason::NoQueryKey, source, instant_ms);
            }
            self.counters.legacy.add();
            let key = Key::Ip(q.ciaddr);
            // No associated-ip in a legacy reply: none is looked for.
            let (found, work) = answer::answer(&snapshot, &key, now, 0, |a| self.manages(a));
            let repr = match found {
                Answer::Unknown { .. } => {
                    sent = &self.counters.legacy_nak;
                    reply::legacy_nak(&q, self.server_identifier)
                }
                Answer::Active { .. } | Answer::Unassigned { .. } => {
                    sent = &self.counters.legacy_ack;
                    let b = snapshot.get(q.ciaddr).map(|b| &**b);
                    reply::legacy_ack(&q, &ctx, q.ciaddr, b, now)
                }
            };
            (repr, work)
        } else {
            let key = match query::classify(&q) {
                Ok(k) => k,
                Err(reason) => return self.drop(reason, source, instant_ms),
            };
            self.counters.count_query(key.kind());
            let bound = reply::associated_bound(q.max_message_size);
            let (found, work) = answer::answer(&snapshot, &key, now, bound, |a| self.manages(a));
            let repr = match found {
                Answer::Active {
                    binding,
                    associated,
                } => {
                    sent = &self.counters.active;
                    let cache = caches.map(|c| c.for_prl(q.prl.as_deref()));
                    reply::active_cached(&q, &ctx, &binding, &associated, now, cache)
                }
                Answer::Unassigned { ciaddr } => {
                    sent = &self.counters.unassigned;
                    reply::unassigned(&q, ciaddr, self.server_identifier)
                }
                Answer::Unknown { ciaddr } => {
                    sent = &self.counters.unknown;
                    reply::unknown(&q, ciaddr, self.server_identifier)
                }
            };
            (repr, work)
        };
        self.counters.examined.add_n(work.examined as u64);
        if work.capped {
            self.counters.examine_capped.add();
        }
        if work.examined > 0 {
            self.limiter
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .charge(source, q.giaddr, work.examined, instant_ms);
        }
        let payload = match reply::fit(&mut repr, reply::max_len(q.max_message_size)) {
            Fitted::Whole(v) => v,
            Fitted::Truncated(v) => {
                self.counters.truncated.add();
                v
            }
            Fitted::TooLarge => return self.drop(DropReason::ReplyTooLarge, source, instant_ms),
        };
        sent.add();
        let to_source = self.source_port.contains(source);
        let destination = destination(q.giaddr, rx.source, to_source);
        if matches!(destination, Destination::Relay(SocketAddr::V4(d)) if d.port() != SERVER_PORT) {
            self.counters.to_source_port.add();
        }
        Some(Outgoing {
            payload,
            destination,
        })
    }
}

/// Whether `subnets` make this server authoritative for `a`: inside a pool (and not excluded),
/// or a host reservation's address. Shared with the bulk responder ([`crate::bulk4`]).
pub fn manages(subnets: &[Subnet], a: Ipv4Addr) -> bool {
    subnets.iter().any(|s| {
        (s.pools.iter().any(|p| p.contains(a)) && !s.exclude.contains(&a))
            || s.reservations.iter().any(|r| r.address == a)
    })
}

/// Where a reply goes (docs/protocol.md decision 4): giaddr port 67, or, when the requester may
/// be answered on its source port (`to_source_port`: inside `[leasequery4]
/// reply-to-source-port`), that port when the query came from giaddr itself.
pub fn destination(giaddr: Ipv4Addr, source: SocketAddrV4, to_source_port: bool) -> Destination {
    let port = if to_source_port && *source.ip() == giaddr && source.port() != SERVER_PORT {
        source.port()
    } else {
        SERVER_PORT
    };
    Destination::Relay(SocketAddr::V4(SocketAddrV4::new(giaddr, port)))
}

#[cfg(test)]
mod tests;
