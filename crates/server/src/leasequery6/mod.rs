//! The DHCPv6 leasequery responder over UDP (RFC 5007), the sibling of [`crate::leasequery4`];
//! its client data is also what bulk leasequery over TCP (RFC 5460, [`crate::bulk6`]) streams.
//! Sans-IO: the router ([`crate::router6`]) hands over a LEASEQUERY it routed, direct or
//! inside RELAY-FORW, with the time; the I/O shell sends the reply it gets back, if any.
//!
//! A query goes through, in order (each refusal is counted, see [`Counters`]):
//! 1. Message type LEASEQUERY (ACTIVELEASEQUERY and STARTTLS are RFC 7653's, over TCP), and
//!    `[leasequery6] relayed` for one that came through relays (RFC 5007 §5).
//! 2. [`validate`]: RFC 5007 §4.2.1 (a CLIENTID, no foreign SERVERID, an LQ_QUERY); a failure
//!    is discarded.
//! 3. [`access`]: requester and reply address inside `[leasequery6] requesters` (else
//!    discarded, or NotAllowed as `not-allowed` says, §4.4.1); the token buckets.
//! 4. [`query`]: UnknownQueryType, then MalformedQuery (§4.4.1).
//! 5. [`answer`] on the store's durable snapshot: NotConfigured, the client's data, the links
//!    it is on, or nothing; its work is charged to the buckets (docs/protocol.md decision 14).
//! 6. [`reply`]: wrapped back through the relay chain (RFC 8415 §19.3) within one unfragmented
//!    datagram (docs/protocol.md decision 24).
//!
//! A direct query's reply goes to its source address and port (docs/protocol.md decision 8); a
//! relayed one's to the outermost relay, port 547 (or its source port with RFC 8357's option).
//! The decisions on the points RFC 5007 leaves open are docs/protocol.md decision 23.

pub mod access;
pub mod answer;
pub mod client_data;
pub mod counters;
pub mod drops;
pub mod query;
pub mod reply;
pub mod validate;

pub use answer::MAX_EXAMINED;
pub use counters::{Counters, DropReason};
pub use drops::DropReport;

use crate::config::schema::{NotAllowed6, Relayed6};
use crate::config::Config;
use crate::dhcp6::relay;
use crate::router6::Message6;
use access::{AllowList, Limited, RateLimiter};
use answer::Answer;
use drops::DropLog;
use lessor_net::{Destination, Outgoing};
use lessor_store::{Store, Timestamp};
use lessor_wire::v6::{status, MessageType};
use reply::{Body, Fitted};
use std::net::{Ipv6Addr, SocketAddr, SocketAddrV6};
use std::sync::{Arc, Mutex};

/// The DHCPv6 leasequery responder.
pub struct Responder6 {
    server_duid: Vec<u8>,
    store: Arc<Store>,
    /// The links, options and sensitive options client data is built from.
    context: client_data::Context,
    allow: AllowList,
    not_allowed: NotAllowed6,
    relayed: Relayed6,
    /// Locked only for the token-bucket arithmetic, so receive threads answer in parallel.
    limiter: Arc<Mutex<RateLimiter<Ipv6Addr>>>,
    /// What `limiter` was made from (per requester, total): a reload keeps the buckets
    /// when it is unchanged.
    rate: (u32, u32),
    counters: Arc<Counters>,
    /// Drops since the last [`Responder6::take_drop_report`], locked only on the drop path.
    drops: Arc<Mutex<DropLog>>,
}

impl std::fmt::Debug for Responder6 {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Responder6")
            .field("links", &self.context.links.len())
            .finish_non_exhaustive()
    }
}

impl Responder6 {
    /// A responder for `config`'s `[leasequery6]` (absent: nobody is answered) and `[dhcp6]`
    /// links over `store`, answering as `server_duid` (OPTION_SERVERID).
    pub fn new(config: &Config, store: Arc<Store>, server_duid: Vec<u8>) -> Responder6 {
        let lq = config.leasequery6.as_ref();
        let rate = lq.map(|l| l.rate_limit.clone()).unwrap_or_default();
        Responder6 {
            server_duid,
            store,
            context: client_data::Context::from_config(config),
            allow: AllowList::new(lq.map(|l| l.requesters.clone()).unwrap_or_default()),
            not_allowed: lq.map(|l| l.not_allowed).unwrap_or_default(),
            relayed: lq.map(|l| l.relayed).unwrap_or_default(),
            limiter: Arc::new(Mutex::new(RateLimiter::new(rate.per_requester, rate.total))),
            rate: (rate.per_requester, rate.total),
            counters: Arc::new(Counters::default()),
            drops: Arc::new(Mutex::new(DropLog::default())),
        }
    }

    /// The responder for a reloaded `config`, as [`Responder4::reconfigured`]: requesters,
    /// their settings and the links are `config`'s; the counters, unreported drops and (when
    /// `[leasequery6.rate-limit]` is unchanged) the token buckets are this one's. The server
    /// DUID cannot change while serving.
    ///
    /// [`Responder4::reconfigured`]: crate::leasequery4::Responder4::reconfigured
    pub fn reconfigured(&self, config: &Config) -> Responder6 {
        let mut next = Responder6::new(config, Arc::clone(&self.store), self.server_duid.clone());
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

    /// What was dropped, why and from whom since the last report, for one log line; as
    /// [`crate::leasequery4::Responder4::take_drop_report`].
    pub fn take_drop_report(&self, now_ms: u64) -> Option<DropReport> {
        self.drops
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take(now_ms)
    }

    fn drop(&self, reason: DropReason, source: Ipv6Addr, instant_ms: u64) -> Option<Outgoing> {
        self.counters.count_drop(reason);
        self.drops
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .record(reason, source, instant_ms);
        None
    }

    fn limit(&self, requester: Ipv6Addr, to: Ipv6Addr, instant_ms: u64) -> Result<(), DropReason> {
        self.limiter
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .check(requester, to, instant_ms)
            .map_err(|l| match l {
                Limited::Requester => DropReason::RateLimitedRequester,
                Limited::Relay => DropReason::RateLimitedRelay,
                Limited::Total => DropReason::RateLimitedTotal,
            })
    }

    /// Answers one LEASEQUERY the router routed here. `now` is the wall clock in seconds
    /// (lifetimes, CLT_TIME); `instant_ms` a monotonic clock in milliseconds (rate limits).
    pub fn handle(&self, msg: &Message6, now: Timestamp, instant_ms: u64) -> Option<Outgoing> {
        self.counters.received.add();
        let (requester, to) = access::parties(msg);
        if msg.kind != MessageType::Leasequery {
            return self.drop(DropReason::UnsupportedType, requester, instant_ms);
        }
        if msg.is_relayed() && self.relayed == Relayed6::Discard {
            return self.drop(DropReason::Relayed, requester, instant_ms);
        }
        let q = match validate::read(msg.client(), &self.server_duid) {
            Ok(q) => q,
            Err(reason) => return self.drop(reason, requester, instant_ms),
        };
        if !self.allow.allows(requester, to) {
            if self.not_allowed == NotAllowed6::Discard {
                return self.drop(DropReason::NotAllowed, requester, instant_ms);
            }
            // Answered, so limited like any answer: a flood gets no more replies than queries.
            if let Err(reason) = self.limit(requester, to, instant_ms) {
                return self.drop(reason, requester, instant_ms);
            }
            self.counters.not_allowed.add();
            let body = Body::Options(vec![reply::status(
                status::NOT_ALLOWED,
                "not an allowed requester",
            )]);
            return self.send(msg, &q, &body, instant_ms);
        }
        if let Err(reason) = self.limit(requester, to, instant_ms) {
            return self.drop(reason, requester, instant_ms);
        }
        let parsed = match query::classify(&q) {
            Ok(p) => p,
            Err(code) => {
                let (counter, text) = if code == status::UNKNOWN_QUERY_TYPE {
                    (
                        &self.counters.unknown_query_type,
                        "query-type not supported over UDP",
                    )
                } else {
                    (
                        &self.counters.malformed_query,
                        "the query-type's required option is missing",
                    )
                };
                counter.add();
                let body = Body::Options(vec![reply::status(code, text)]);
                return self.send(msg, &q, &body, instant_ms);
            }
        };
        match parsed.target {
            query::Target::Address(_) => self.counters.by_address.add(),
            query::Target::ClientId(_) => self.counters.by_client_id.add(),
        }
        // Only what is durable: a binding whose commit may still fail is not reported. Point
        // look-ups under the store's lock, not a snapshot's B-trees: one or two cache lines a
        // look-up whatever the table's size (docs/benchmarks.md, issue 14).
        let (found, work) = self
            .store
            .v6()
            .durable_points(|points| answer::answer(points, &self.context.links, &parsed, now));
        self.counters.examined.add_n(work.examined as u64);
        if work.capped {
            self.counters.examine_capped.add();
        }
        if work.examined > 0 {
            self.limiter
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .charge(requester, to, work.examined, instant_ms);
        }
        let body = match &found {
            Answer::Client { link, bindings } => {
                self.counters.client_data.add();
                Body::ClientData(client_data::ClientData {
                    ctx: &self.context,
                    link: Some(*link),
                    bindings,
                    oro: &parsed.oro,
                    now,
                })
            }
            Answer::Links(links) => {
                self.counters.client_link.add();
                Body::Options(vec![reply::client_link(links.clone())])
            }
            Answer::Nothing => {
                self.counters.no_data.add();
                Body::Options(Vec::new())
            }
            Answer::NotConfigured => {
                self.counters.not_configured.add();
                Body::Options(vec![reply::status(
                    status::NOT_CONFIGURED,
                    "the link or address is not in this server's configuration",
                )])
            }
        };
        self.send(msg, &q, &body, instant_ms)
    }

    /// The reply to `q` carrying `body`, fitted and addressed.
    fn send(
        &self,
        msg: &Message6,
        q: &validate::Query6<'_>,
        body: &Body<'_>,
        instant_ms: u64,
    ) -> Option<Outgoing> {
        let (requester, _) = access::parties(msg);
        let payload = match reply::encode(msg, q, &self.server_duid, body) {
            Fitted::Whole(v) => v,
            Fitted::Truncated(v) => {
                self.counters.truncated.add();
                v
            }
            Fitted::TooLarge(v) => {
                self.counters.too_large.add();
                v
            }
            Fitted::Unsendable => {
                return self.drop(DropReason::ReplyTooLarge, requester, instant_ms);
            }
        };
        if msg.is_relayed() {
            self.counters.relayed.add();
        }
        Some(Outgoing {
            payload,
            destination: destination(msg),
        })
    }
}

/// Where the reply to `msg` goes: through relays, as any DHCPv6 reply
/// ([`relay::destination`]); direct, to the source address and port (docs/protocol.md
/// decision 8), a link-local source through the interface the query came on.
pub fn destination(msg: &Message6) -> Destination {
    if msg.is_relayed() {
        return relay::destination(msg);
    }
    let s = msg.source;
    let scope = match (s.scope_id(), msg.interface_index) {
        (0, Some(i)) if relay::is_link_local(s.ip()) => i,
        (scope, _) => scope,
    };
    Destination::Relay(SocketAddr::V6(SocketAddrV6::new(
        *s.ip(),
        s.port(),
        0,
        scope,
    )))
}

#[cfg(test)]
mod tests;
