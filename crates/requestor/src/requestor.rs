//! The sans-IO requestor: which leasequery goes to which server when (RFC 4388 §6.2, §6.5, §6.6,
//! §6.8, §7), with every instant passed in by the caller.
//!
//! # Timing rules
//!
//! - **Backoff** (RFC 2131 §4.1): a query's n-th retransmission to a server follows the previous
//!   transmission by `initial_timeout * 2^(n-1)` capped at `max_timeout` (4, 8, 16, 32, 64, 64 s),
//!   then moved by a uniform jitter in `±jitter` (1 s) drawn from the seeded generator. The same
//!   xid is reused for every retransmission to one server.
//! - **Per-server timer** (§6.6): starts expired; restarted by every reply from the server; runs
//!   `server_timer` (1 min). While it runs, up to `max_parallel` (100) queries are outstanding to
//!   the server. While it is expired, one is: the others are dropped back to the queue (not
//!   failed) and are sent again once the server answers. A server that has answered before and
//!   whose timer expired is polled every `poll_interval` (64 s, jittered): by that one query, or,
//!   when it ends (answered elsewhere, given up), by the next one, never sooner.
//! - **Servers not known to support leasequery** (never answered): besides the one-outstanding
//!   rule, consecutive transmissions to them are at least `unknown_server_interval` (10 s) apart.
//! - A query gives up (`Failure::NoReply`) `query_timeout` after it was submitted.
//!
//! # Several servers (§6.2, §6.8)
//!
//! A query goes to the server remembered as authoritative for its key (the last one that answered
//! ACTIVE or UNASSIGNED for it, or for the address); without one, or when the remembered server has
//! not answered after `fallback_after` transmissions, to every configured server. The answer is
//! final when every asked server has answered, or `merge_wait` after the first answer. Merging:
//! an active lease beats UNASSIGNED, which beats UNKNOWN; among active leases the most recent
//! client-last-transaction-time wins (ties: the first received).
//!
//! # Cache (§6.5, §7)
//!
//! ACTIVE answers are kept until the lease ends (without a lease time: not kept); UNKNOWN (and
//! legacy NAK) for `unknown_ttl` (5 min); UNASSIGNED for an address until [`Requestor::glean`]
//! says a binding for it appeared (or `unassigned_ttl`, when set); UNASSIGNED for an identifier
//! for `unknown_ttl`. A query answered from the cache sends nothing.
//!
//! # One query per key (docs/protocol.md decision 30)
//!
//! A query for a key that a query still outstanding asks (a relay seeing more traffic from an
//! address it is asking about) sends nothing: it joins that query and gets its answer, or its
//! failure, as its own event, right after it (its deadline is that query's). A query that joins
//! one waiting for its CLIENT_LINK follow-ups gets the whole answer. Once the answer is in, the
//! cache serves the key (including UNASSIGNED and UNKNOWN, the negative cache); a failure is not
//! cached, so the next query asks again, within the server's pacing.
//!
//! # DHCPv6 (RFC 5007)
//!
//! The engine is generic over the address family ([`crate::family`]). With [`Config::v6`]: each
//! timeout is IRT 1 s doubling to MRT 10 s, ±10 % (`jitter_permille`), and a server is given up
//! after MRC 5 transmissions (`max_transmissions`, §4.1.4); answers are merged across servers by
//! CLT_TIME (§4.3.4); a CLIENT_LINK answer is followed by one query per link, reported as one
//! answer; a query to a multicast group takes every server's answer for `merge_wait`
//! (docs/protocol.md decision 22).
//!
//! # ciaddr restriction (§7)
//!
//! With `access_networks` configured, a query by an address outside them is refused at
//! [`Requestor::submit`] with [`SubmitError::OutsideAccessNetworks`].

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::fmt;
use std::net::{Ipv4Addr, SocketAddr};
use std::time::{Duration, Instant};

use lessor_wire::v6::Duid;

use crate::family::{CacheFor, Family, Settings4, Settings6, V4, V6};
use crate::query::KeyError;
use crate::reply::ReplyError;
use crate::rng::Rng;

/// Every figure of the requestor. `Config::new` gives RFC 4388's values, `Config::v6`
/// RFC 5007's.
#[derive(Debug, Clone)]
pub struct Config<F: Family = V4> {
    /// The family's settings (DHCPv4: giaddr, parameters, access networks; DHCPv6: DUID, ORO).
    pub family: F::Settings,
    /// The leasequery servers (address:67 usually, [addr]:547 for DHCPv6).
    pub servers: Vec<SocketAddr>,
    /// First retransmission timeout (RFC 2131: 4 s; RFC 5007 §4.1.4 LQ_TIMEOUT: 1 s).
    pub initial_timeout: Duration,
    /// Largest retransmission timeout before jitter (RFC 2131: 64 s; LQ_MAX_RT: 10 s).
    pub max_timeout: Duration,
    /// Uniform jitter added to every timeout, in ±jitter (RFC 2131: 1 s; DHCPv6: 0).
    pub jitter: Duration,
    /// Jitter relative to the timeout, in ±permille (RFC 8415 §15 RAND: 100, i.e. ±0.1).
    pub jitter_permille: u16,
    /// Transmissions to one server after which it is given up (RFC 5007 §4.1.4 LQ_MAX_RC: 5);
    /// `None`: until `query_timeout`.
    pub max_transmissions: Option<u32>,
    /// How long a query is tried before it fails.
    pub query_timeout: Duration,
    /// Per-server timer: how long after a reply the server counts as live (§6.6: 1 min).
    pub server_timer: Duration,
    /// Poll period of a known server whose timer expired (§6.6: about 64 s).
    pub poll_interval: Duration,
    /// Queries outstanding at once to a live server (§6.6: 100 or 200).
    pub max_parallel: usize,
    /// Least gap between transmissions to a server never seen to answer (§6.6: about 10 s).
    pub unknown_server_interval: Duration,
    /// How long to wait for other servers after the first answer.
    pub merge_wait: Duration,
    /// Transmissions to the remembered server after which every server is asked.
    pub fallback_after: u32,
    /// Whether answers are cached at all.
    pub cache: bool,
    /// How long UNKNOWN (and UNASSIGNED for identifiers) is cached (§6.5: about 5 min).
    pub unknown_ttl: Duration,
    /// How long UNASSIGNED for an address is cached; `None`: until [`Requestor::glean`].
    pub unassigned_ttl: Option<Duration>,
    /// Seed of the jitter and transaction-id generator.
    pub seed: u64,
}

impl Config<V4> {
    /// The RFC 4388 / RFC 2131 figures for a requestor at `giaddr` asking `servers`.
    pub fn new(giaddr: Ipv4Addr, servers: Vec<SocketAddr>) -> Config {
        Config {
            family: Settings4::new(giaddr),
            servers,
            initial_timeout: Duration::from_secs(4),
            max_timeout: Duration::from_secs(64),
            jitter: Duration::from_secs(1),
            jitter_permille: 0,
            max_transmissions: None,
            query_timeout: Duration::from_secs(120),
            server_timer: Duration::from_secs(60),
            poll_interval: Duration::from_secs(64),
            max_parallel: 100,
            unknown_server_interval: Duration::from_secs(10),
            merge_wait: Duration::from_secs(1),
            fallback_after: 2,
            cache: true,
            unknown_ttl: Duration::from_secs(300),
            unassigned_ttl: None,
            seed: 0,
        }
    }
}

impl Config<V6> {
    /// The RFC 5007 figures for a requestor with DUID `duid` asking `servers`: IRT 1 s, MRT
    /// 10 s, MRC 5, RAND ±0.1 (§4.1.4, RFC 8415 §15). RFC 4388's pacing is kept (one query
    /// outstanding to a server until it answers, then up to 100), without its 10 s and 64 s
    /// floors, which would override LQ_TIMEOUT (docs/protocol.md decision 22).
    pub fn v6(duid: Duid, servers: Vec<SocketAddr>) -> Config<V6> {
        Config {
            family: Settings6::new(duid),
            servers,
            initial_timeout: Duration::from_secs(1),
            max_timeout: Duration::from_secs(10),
            jitter: Duration::ZERO,
            jitter_permille: 100,
            max_transmissions: Some(5),
            query_timeout: Duration::from_secs(60),
            server_timer: Duration::from_secs(60),
            poll_interval: Duration::ZERO,
            max_parallel: 100,
            unknown_server_interval: Duration::ZERO,
            merge_wait: Duration::from_secs(1),
            fallback_after: 2,
            cache: true,
            unknown_ttl: Duration::from_secs(300),
            unassigned_ttl: None,
            seed: 0,
        }
    }
}

/// A submitted query.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct QueryId(pub u64);

/// Why [`Requestor::submit`] refused a query.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SubmitError<E = KeyError> {
    /// No message can carry the key.
    Invalid(E),
    /// The address is outside the configured access networks (RFC 4388 §7 ciaddr restriction).
    OutsideAccessNetworks(Ipv4Addr),
    /// No server is configured.
    NoServers,
}

impl<E: fmt::Display> fmt::Display for SubmitError<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SubmitError::Invalid(e) => e.fmt(f),
            SubmitError::OutsideAccessNetworks(a) => write!(
                f,
                "{a} is outside the configured access networks; not queried (RFC 4388 §7 ciaddr restriction)"
            ),
            SubmitError::NoServers => f.write_str("no leasequery server configured"),
        }
    }
}

impl<E: fmt::Display + fmt::Debug> std::error::Error for SubmitError<E> {}

/// Why a query failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Failure {
    /// No server answered within `query_timeout`.
    NoReply,
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Failure::NoReply => f.write_str("no reply from any server"),
        }
    }
}

/// The merged answer to a query.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer<F: Family = V4> {
    /// The chosen answer (DHCPv6: merged from every server's, RFC 5007 §4.3.4).
    pub lease: F::Info,
    /// The server it came from.
    pub server: SocketAddr,
    /// When it arrived (the caller's clock).
    pub received: Instant,
    /// Whether it was served from the cache (then nothing was sent).
    pub from_cache: bool,
    /// The other servers' answers, for diagnostics.
    pub others: Vec<(SocketAddr, F::Info)>,
}

/// What the requestor has to tell.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event<F: Family = V4> {
    /// A query has its answer.
    Answered(QueryId, Box<Answer<F>>),
    /// A query failed.
    Failed(QueryId, Failure),
}

/// Why [`Requestor::handle_reply`] did not use a datagram.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ignored<E = ReplyError> {
    /// Not a leasequery answer, or one that fails validation (RFC 5007 §4.2.2).
    Malformed(E),
    /// Its xid matches no outstanding query.
    UnknownXid,
    /// It came from another address than the server asked.
    WrongServer,
    /// A query by IP answered about another address.
    Mismatch,
    /// The server had already answered this query.
    Duplicate,
}

#[derive(Debug)]
struct Server {
    addr: SocketAddr,
    last_reply: Option<Instant>,
    last_send: Option<Instant>,
}

impl Server {
    fn known(&self) -> bool {
        self.last_reply.is_some()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum TargetState {
    Waiting,
    InFlight {
        next: Instant,
    },
    Answered,
    /// Sent `max_transmissions` times without an answer.
    GaveUp,
}

#[derive(Debug)]
struct Target {
    server: usize,
    xid: u32,
    state: TargetState,
    /// Transmissions since the target was last (re)queued.
    sends: u32,
    /// Transmissions in all.
    total_sends: u32,
}

#[derive(Debug)]
struct Pending<F: Family> {
    key: F::Key,
    targets: Vec<Target>,
    answers: Vec<(usize, F::Info, Instant)>,
    /// Where each answer came from (a multicast target is answered by several servers).
    sources: Vec<SocketAddr>,
    deadline: Instant,
    merge_at: Option<Instant>,
    fanned_out: bool,
}

#[derive(Debug)]
struct CacheEntry<F: Family> {
    answer: Answer<F>,
    expires: Option<Instant>,
}

/// A query whose answer waits for follow-up queries (RFC 5007 CLIENT_LINK).
#[derive(Debug)]
struct Parent<F: Family> {
    answer: Answer<F>,
    left: usize,
}

/// The requestor state machine (see the module docs).
#[derive(Debug)]
pub struct Requestor<F: Family = V4> {
    config: Config<F>,
    servers: Vec<Server>,
    pending: BTreeMap<QueryId, Pending<F>>,
    xids: HashMap<u32, (QueryId, usize)>,
    events: VecDeque<Event<F>>,
    cache: HashMap<F::Key, CacheEntry<F>>,
    authority: HashMap<F::Key, usize>,
    parents: HashMap<QueryId, Parent<F>>,
    /// The query asking each key now: a query for a key already asked joins it.
    asking: HashMap<F::Key, QueryId>,
    /// The queries in `asking`: their key, and the queries that joined them.
    joined: HashMap<QueryId, (F::Key, Vec<QueryId>)>,
    child_of: HashMap<QueryId, (QueryId, F::Key)>,
    rng: Rng,
    next_id: u64,
    last_now: Option<Instant>,
}

impl<F: Family> Requestor<F> {
    /// A requestor with no query outstanding and every server timer expired.
    pub fn new(config: Config<F>) -> Requestor<F> {
        let servers = config
            .servers
            .iter()
            .map(|&addr| Server {
                addr,
                last_reply: None,
                last_send: None,
            })
            .collect();
        Requestor {
            rng: Rng::new(config.seed),
            config,
            servers,
            pending: BTreeMap::new(),
            xids: HashMap::new(),
            events: VecDeque::new(),
            cache: HashMap::new(),
            authority: HashMap::new(),
            parents: HashMap::new(),
            asking: HashMap::new(),
            joined: HashMap::new(),
            child_of: HashMap::new(),
            next_id: 0,
            last_now: None,
        }
    }

    /// The configuration in use.
    pub fn config(&self) -> &Config<F> {
        &self.config
    }

    /// Tells the requestor `bound` is bound now (a relay gleaned a DHCPACK or a DHCPv6 Reply
    /// for it): cached answers about it are dropped, the negative ones among them (§6.5).
    pub fn glean(&mut self, bound: F::Bound) {
        self.cache
            .retain(|key, entry| !F::about(key, &entry.answer.lease, &bound));
    }

    /// Queues a query. A cached answer is reported at once (as an event) and nothing is sent.
    pub fn submit(
        &mut self,
        key: F::Key,
        now: Instant,
    ) -> Result<QueryId, SubmitError<F::KeyError>> {
        self.last_now = Some(now);
        F::check(&self.config.family, &key)?;
        if self.servers.is_empty() {
            return Err(SubmitError::NoServers);
        }
        Ok(self.submit_checked(key, now, None))
    }

    /// Queues a checked query; `parent` is the query whose follow-up it is.
    fn submit_checked(&mut self, key: F::Key, now: Instant, parent: Option<QueryId>) -> QueryId {
        let id = QueryId(self.next_id);
        self.next_id += 1;
        if let Some(p) = parent {
            self.child_of.insert(id, (p, key.clone()));
        }
        // Never two queries outstanding for one key: this one shares the answer of the one
        // asking it (not a follow-up of that very query, which would wait for itself).
        if let Some(&asking) = self.asking.get(&key) {
            if Some(asking) != parent {
                if let Some((_, joiners)) = self.joined.get_mut(&asking) {
                    joiners.push(id);
                    return id;
                }
            }
        }
        if let Some(entry) = self.cache.get(&key) {
            if entry.expires.is_none_or(|e| now < e) {
                let mut answer = entry.answer.clone();
                answer.from_cache = true;
                self.emit(Event::Answered(id, Box::new(answer)));
                return id;
            }
            self.cache.remove(&key);
        }
        let (servers, fanned_out) = match self.authority.get(&key) {
            Some(&s) => (vec![s], false),
            None => ((0..self.servers.len()).collect(), true),
        };
        let mut pending: Pending<F> = Pending {
            key,
            targets: Vec::new(),
            answers: Vec::new(),
            sources: Vec::new(),
            deadline: now + self.config.query_timeout,
            merge_at: None,
            fanned_out,
        };
        if !self.asking.contains_key(&pending.key) {
            self.asking.insert(pending.key.clone(), id);
            self.joined.insert(id, (pending.key.clone(), Vec::new()));
        }
        for s in servers {
            self.add_target(id, &mut pending, s);
        }
        self.pending.insert(id, pending);
        id
    }

    fn add_target(&mut self, id: QueryId, pending: &mut Pending<F>, server: usize) {
        let xid = loop {
            let x = self.rng.next_u64() as u32 & F::XID_MASK;
            if !self.xids.contains_key(&x) {
                break x;
            }
        };
        self.xids.insert(xid, (id, pending.targets.len()));
        pending.targets.push(Target {
            server,
            xid,
            state: TargetState::Waiting,
            sends: 0,
            total_sends: 0,
        });
    }

    /// Queries submitted and not yet answered or failed (follow-ups not counted).
    pub fn outstanding(&self) -> usize {
        self.pending
            .keys()
            .filter(|id| !self.child_of.contains_key(id))
            .count()
            + self.parents.len()
            + self
                .joined
                .values()
                .flat_map(|(_, joiners)| joiners)
                .filter(|id| !self.child_of.contains_key(id))
                .count()
    }

    /// Drops every cached answer.
    pub fn clear_cache(&mut self) {
        self.cache.clear();
    }

    /// Whether the server's per-server timer is running at `now` (§6.6).
    pub fn server_live(&self, server: SocketAddr, now: Instant) -> bool {
        self.servers
            .iter()
            .find(|s| s.addr == server)
            .is_some_and(|s| self.live(s, now))
    }

    fn live(&self, s: &Server, now: Instant) -> bool {
        s.last_reply
            .is_some_and(|t| now < t + self.config.server_timer)
    }

    /// Fails queries past their deadline and finishes those whose merge wait is over. Called by
    /// [`Requestor::poll_transmit`] too.
    pub fn handle_timeout(&mut self, now: Instant) {
        self.last_now = Some(now);
        let mut finish = Vec::new();
        let mut fan_out = Vec::new();
        if let Some(mrc) = self.config.max_transmissions {
            for p in self.pending.values_mut() {
                for t in &mut p.targets {
                    if let TargetState::InFlight { next } = t.state {
                        if next <= now && t.sends >= mrc {
                            t.state = TargetState::GaveUp;
                        }
                    }
                }
            }
        }
        for (&id, p) in &self.pending {
            let settled = p
                .targets
                .iter()
                .all(|t| matches!(t.state, TargetState::Answered | TargetState::GaveUp));
            if (settled && p.merge_at.is_none())
                || p.merge_at.is_some_and(|m| m <= now)
                || p.deadline <= now
            {
                finish.push(id);
            } else if !p.fanned_out
                && p.answers.is_empty()
                && p.targets
                    .iter()
                    .any(|t| t.total_sends >= self.config.fallback_after)
            {
                fan_out.push(id);
            }
        }
        for id in finish {
            self.finish(id, now);
        }
        for id in fan_out {
            if let Some(mut p) = self.pending.remove(&id) {
                p.fanned_out = true;
                for s in 0..self.servers.len() {
                    if p.targets.iter().all(|t| t.server != s) {
                        self.add_target(id, &mut p, s);
                    }
                }
                self.pending.insert(id, p);
            }
        }
    }

    /// The next datagram to send (server, octets), if one is due at `now`. Call until `None`.
    pub fn poll_transmit(&mut self, now: Instant) -> Option<(SocketAddr, Vec<u8>)> {
        self.handle_timeout(now);
        for s in 0..self.servers.len() {
            if let Some((id, t)) = self.next_to_send(s, now) {
                return Some(self.transmit(id, t, now));
            }
        }
        None
    }

    fn in_flight(&self, s: usize) -> Vec<(QueryId, usize)> {
        let mut v = Vec::new();
        for (&id, p) in &self.pending {
            for (i, t) in p.targets.iter().enumerate() {
                if t.server == s && matches!(t.state, TargetState::InFlight { .. }) {
                    v.push((id, i));
                }
            }
        }
        v
    }

    fn limit(&self, s: usize, now: Instant) -> usize {
        if self.live(&self.servers[s], now) {
            self.config.max_parallel.max(1)
        } else {
            1
        }
    }

    /// The earliest time anything may be sent to a server never seen to answer.
    fn gate(&self, s: usize) -> Option<Instant> {
        let server = &self.servers[s];
        if server.known() {
            return None;
        }
        server
            .last_send
            .map(|t| t + self.config.unknown_server_interval)
    }

    /// The earliest time a new query may go to a server that answered before but is silent now
    /// (its timer expired and it has not answered what was sent since, §6.6): it is polled every
    /// `poll_interval` (less the jitter its retransmissions get), also when the query that
    /// polled it ended (answered by another server, given up) and another takes its place.
    fn poll_gate(&self, s: usize, now: Instant) -> Option<Instant> {
        let server = &self.servers[s];
        let (Some(reply), Some(send)) = (server.last_reply, server.last_send) else {
            return None;
        };
        if self.live(server, now) || reply >= send {
            return None;
        }
        let gap = self.config.poll_interval.saturating_sub(self.config.jitter);
        Some(send + gap)
    }

    fn next_to_send(&mut self, s: usize, now: Instant) -> Option<(QueryId, usize)> {
        let limit = self.limit(s, now);
        let in_flight = self.in_flight(s);
        // §6.6: when the timer has gone off, all but one outstanding query are dropped (back
        // to the queue: they are sent again once the server answers).
        for &(id, i) in in_flight.iter().skip(limit) {
            if let Some(t) = self.pending.get_mut(&id).map(|p| &mut p.targets[i]) {
                t.state = TargetState::Waiting;
                t.sends = 0;
            }
        }
        let kept = &in_flight[..in_flight.len().min(limit)];
        if self.gate(s).is_some_and(|g| now < g) {
            return None;
        }
        for &(id, i) in kept {
            if let TargetState::InFlight { next } = self.pending[&id].targets[i].state {
                if next <= now {
                    return Some((id, i));
                }
            }
        }
        if kept.len() >= limit || self.poll_gate(s, now).is_some_and(|g| now < g) {
            return None;
        }
        self.pending.iter().find_map(|(&id, p)| {
            p.targets
                .iter()
                .position(|t| t.server == s && t.state == TargetState::Waiting)
                .map(|i| (id, i))
        })
    }

    fn jittered(&mut self, base: Duration) -> Duration {
        let relative = base.as_millis() as u64 * u64::from(self.config.jitter_permille) / 1000;
        let j = self.config.jitter.as_millis() as u64 + relative;
        let offset = self.rng.below_or_eq(2 * j) as i128 - j as i128;
        let ms = (base.as_millis() as i128 + offset).max(0);
        Duration::from_millis(ms as u64)
    }

    fn transmit(&mut self, id: QueryId, t: usize, now: Instant) -> (SocketAddr, Vec<u8>) {
        let (s, sends, xid) = {
            let target = &mut self.pending.get_mut(&id).expect("pending").targets[t];
            target.sends += 1;
            target.total_sends += 1;
            (target.server, target.sends, target.xid)
        };
        let doubling = 2u32.saturating_pow(sends.saturating_sub(1).min(16));
        let base = self
            .config
            .initial_timeout
            .saturating_mul(doubling)
            .min(self.config.max_timeout);
        let mut delay = self.jittered(base);
        if !self.live(&self.servers[s], now) {
            let floor = if self.servers[s].known() {
                let poll = self.config.poll_interval;
                self.jittered(poll)
            } else {
                self.config.unknown_server_interval
            };
            delay = delay.max(floor);
        }
        let p = self.pending.get_mut(&id).expect("pending");
        p.targets[t].state = TargetState::InFlight { next: now + delay };
        let bytes = F::encode(&self.config.family, &p.key, xid);
        let server = &mut self.servers[s];
        server.last_send = Some(now);
        (server.addr, bytes)
    }

    /// When [`Requestor::poll_transmit`] or [`Requestor::handle_timeout`] next has work; `None`
    /// when nothing is outstanding.
    pub fn poll_timeout(&self) -> Option<Instant> {
        let now = self.last_now?;
        let mut earliest: Option<Instant> = None;
        let mut consider = |t: Instant| {
            earliest = Some(earliest.map_or(t, |e| e.min(t)));
        };
        for p in self.pending.values() {
            consider(p.deadline);
            if let Some(m) = p.merge_at {
                consider(m);
            }
        }
        for s in 0..self.servers.len() {
            let gate = self.gate(s);
            let limit = self.limit(s, now);
            let in_flight = self.in_flight(s);
            for &(id, i) in in_flight.iter().take(limit) {
                if let TargetState::InFlight { next } = self.pending[&id].targets[i].state {
                    consider(gate.map_or(next, |g| g.max(next)));
                }
            }
            let waiting = self.pending.values().any(|p| {
                p.targets
                    .iter()
                    .any(|t| t.server == s && t.state == TargetState::Waiting)
            });
            if waiting && in_flight.len() < limit {
                let gate = gate.max(self.poll_gate(s, now));
                consider(gate.map_or(now, |g| g.max(now)));
            }
        }
        earliest
    }

    /// Hands in a datagram received on the requestor's socket. Returns the query it answered.
    pub fn handle_reply(
        &mut self,
        from: SocketAddr,
        bytes: &[u8],
        now: Instant,
    ) -> Result<QueryId, Ignored<F::ReplyError>> {
        self.last_now = Some(now);
        let (xid, info) = F::parse(&self.config.family, bytes).map_err(Ignored::Malformed)?;
        let &(id, t) = self.xids.get(&xid).ok_or(Ignored::UnknownXid)?;
        let p = self.pending.get_mut(&id).ok_or(Ignored::UnknownXid)?;
        let target = &mut p.targets[t];
        let server = &mut self.servers[target.server];
        // A query sent to a multicast group (All_DHCP_Relay_Agents_and_Servers, RFC 5007
        // §4.3.2) is answered from each server's own address, by as many servers as there are.
        let multicast = server.addr.ip().is_multicast();
        if !multicast && server.addr.ip() != from.ip() {
            return Err(Ignored::WrongServer);
        }
        if !F::matches(&p.key, &info) {
            return Err(Ignored::Mismatch);
        }
        // Any answer shows the server speaks leasequery and restarts its timer (§6.6).
        server.last_reply = Some(now);
        let s = target.server;
        let again = p
            .answers
            .iter()
            .zip(&p.sources)
            .any(|((a, _, _), src)| *a == s && (!multicast || src.ip() == from.ip()));
        if again {
            return Err(Ignored::Duplicate);
        }
        // A late answer after the last retransmission timed out still counts.
        target.state = TargetState::Answered;
        p.answers.push((s, info, now));
        p.sources.push(if multicast { from } else { server.addr });
        let done = p
            .targets
            .iter()
            .all(|t| matches!(t.state, TargetState::Answered | TargetState::GaveUp));
        // Other servers of a multicast group get `merge_wait` to answer too.
        let group = p
            .targets
            .iter()
            .any(|t| self.servers[t.server].addr.ip().is_multicast());
        if done && !group {
            self.finish(id, now);
        } else if p.merge_at.is_none() {
            p.merge_at = Some(now + self.config.merge_wait);
        }
        Ok(id)
    }

    /// The next event, if any.
    pub fn poll_event(&mut self) -> Option<Event<F>> {
        self.events.pop_front()
    }

    /// Reports an event (to the queries that joined it too), or hands a follow-up's answer to
    /// the query that asked for it.
    fn emit(&mut self, event: Event<F>) {
        let id = match &event {
            Event::Answered(id, _) | Event::Failed(id, _) => *id,
        };
        let mut copies = Vec::new();
        if let Some((key, joiners)) = self.joined.remove(&id) {
            self.asking.remove(&key);
            copies = joiners
                .into_iter()
                .map(|j| match &event {
                    Event::Answered(_, a) => Event::Answered(j, a.clone()),
                    Event::Failed(_, f) => Event::Failed(j, f.clone()),
                })
                .collect();
        }
        self.route(event);
        for copy in copies {
            self.emit(copy);
        }
    }

    fn route(&mut self, event: Event<F>) {
        let id = match &event {
            Event::Answered(id, _) | Event::Failed(id, _) => *id,
        };
        let Some((parent, key)) = self.child_of.remove(&id) else {
            self.events.push_back(event);
            return;
        };
        let Some(p) = self.parents.get_mut(&parent) else {
            return;
        };
        // A follow-up that failed adds nothing; the others still count.
        if let Event::Answered(_, answer) = event {
            F::absorb(&mut p.answer.lease, &key, answer.lease);
        }
        p.left -= 1;
        if p.left == 0 {
            if let Some(p) = self.parents.remove(&parent) {
                self.emit(Event::Answered(parent, Box::new(p.answer)));
            }
        }
    }

    fn finish(&mut self, id: QueryId, now: Instant) {
        let Some(p) = self.pending.remove(&id) else {
            return;
        };
        for t in &p.targets {
            self.xids.remove(&t.xid);
        }
        if p.answers.is_empty() {
            self.emit(Event::Failed(id, Failure::NoReply));
            return;
        }
        let (best, lease) = F::merge(&self.config.family, &p.answers);
        let mut others = Vec::new();
        let mut chosen = None;
        for (i, ((s, info, at), src)) in p.answers.into_iter().zip(p.sources).enumerate() {
            if i == best {
                chosen = Some((s, at, src));
            } else {
                others.push((src, info));
            }
        }
        let (s, received, source) = chosen.expect("best is an index of answers");
        let answer = Answer {
            lease,
            server: source,
            received,
            from_cache: false,
            others,
        };
        self.remember(&p.key, s, &answer);
        // RFC 5007 §4.3.3: a client on several links is asked about once per link; the
        // answer is reported when every follow-up has ended. Follow-ups ask no further.
        let follow = if self.child_of.contains_key(&id) {
            Vec::new()
        } else {
            F::follow_ups(&p.key, &answer.lease)
        };
        if follow.is_empty() {
            self.emit(Event::Answered(id, Box::new(answer)));
            return;
        }
        self.parents.insert(
            id,
            Parent {
                answer,
                left: follow.len(),
            },
        );
        for key in follow {
            self.submit_checked(key, now, Some(id));
        }
    }

    fn remember(&mut self, key: &F::Key, s: usize, answer: &Answer<F>) {
        let lease = &answer.lease;
        let manages = F::rank(lease) >= 1;
        if manages {
            self.authority.insert(key.clone(), s);
            for k in F::also_authoritative(key, lease) {
                self.authority.insert(k, s);
            }
        } else if self.authority.get(key) == Some(&s) {
            self.authority.remove(key);
        }
        if !self.config.cache {
            return;
        }
        let at = answer.received;
        let expires = match F::cache_for(key, lease) {
            CacheFor::Secs(secs) => Some(at + Duration::from_secs(u64::from(secs))),
            CacheFor::NotKept => return,
            CacheFor::Unassigned => self.config.unassigned_ttl.map(|ttl| at + ttl),
            CacheFor::Unknown => Some(at + self.config.unknown_ttl),
        };
        self.cache.insert(
            key.clone(),
            CacheEntry {
                answer: answer.clone(),
                expires,
            },
        );
    }
}

#[cfg(test)]
mod tests;

#[cfg(test)]
mod tests6;
