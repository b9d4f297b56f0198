//! The UDP pair: a [`Requestor`] and one or more [`Responder`]s over an in-memory network of
//! datagrams, on a [`VirtualClock`] (see the parent module for how to write a test).
//!
//! The network: each server has two [`Link`]s, `up[i]` (requestor to server `i`) and `down[i]`
//! (server `i` to requestor), each with a delay and a loss, changeable at any time between two
//! runs. Whether a datagram is lost is decided when it is sent. Every datagram, lost or not, is
//! kept in [`UdpPair::trace`] with its fate.
//!
//! A run: the requestor transmits whatever it has due now; datagrams due now are delivered in
//! the order they were sent (to a server: routed and answered at once, the answer sent back on
//! the down link; to the requestor: `handle_reply`); when nothing more happens now, the clock
//! jumps to the earlier of the next delivery and the requestor's next timer.

use super::fixtures::{self, GIADDR, REQUESTOR_PORT};
use super::{Rng, VirtualClock};
use lessor_net::{Destination, Outgoing, Received};
use lessor_requestor::{Answer, Config, Event, Ignored, QueryId, QueryKey, Requestor};
use lessor_server::config::{self, Config as ServerConfig};
use lessor_server::leasequery4::Responder4;
use lessor_server::router4::{Discard, Route4, Router4};
use lessor_store::{Binding4, Completion, Store};
use std::collections::{BTreeMap, BTreeSet};
use std::net::{IpAddr, Ipv4Addr, SocketAddr, SocketAddrV4};
use std::sync::Arc;
use std::time::Duration;

/// The DHCP server port, where servers listen.
const SERVER_PORT: u16 = 67;

/// One leasequery server: its own store, configuration and server identifier, and the router
/// and responder the I/O shell would run over them.
pub struct Responder {
    /// Listen address and server identifier (option 54).
    pub address: Ipv4Addr,
    pub store: Arc<Store>,
    pub config: ServerConfig,
    pub router: Router4,
    pub responder: Responder4,
}

/// What a server did with one datagram.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Handled {
    /// Routed to the responder, which answered.
    Replied(Outgoing),
    /// Routed to the responder, which dropped it (see its counters for why).
    Dropped,
    /// Routed to the DHCP engine, which the pair does not run.
    Dhcp,
    /// Discarded by the router.
    Discarded(Discard),
}

impl Responder {
    /// A server at `address` with [`fixtures::config_text`] and an empty in-memory store.
    pub fn new(address: Ipv4Addr) -> Responder {
        Responder::with_config(address, &fixtures::config_text(address))
    }

    /// A server at `address` with the configuration `text`.
    pub fn with_config(address: Ipv4Addr, text: &str) -> Responder {
        let config = config::parse(text, "pair.toml").expect("pair configuration");
        let store = Arc::new(Store::in_memory());
        Responder {
            address,
            router: Router4::for_config(&config),
            responder: Responder4::new(&config, Arc::clone(&store), address),
            store,
            config,
        }
    }

    /// Writes a binding into the store and waits until it is durable (leasequery reports
    /// durable bindings only).
    pub fn put(&self, b: Binding4) {
        self.store.v4().upsert(b, Completion::none());
        self.store.sync().wait().expect("durable");
    }

    /// Where the server listens.
    pub fn socket(&self) -> SocketAddrV4 {
        SocketAddrV4::new(self.address, SERVER_PORT)
    }

    /// One datagram from `source`, handled as the DHCPv4 receive thread does (serve/udp4.rs):
    /// routed once, a leasequery answered with the wall clock and the monotonic milliseconds.
    pub fn datagram(&self, payload: &[u8], source: SocketAddrV4, now: lessor_net::Now) -> Handled {
        let rx = Received {
            payload,
            source: SocketAddr::V4(source),
            destination: IpAddr::V4(self.address),
            interface_index: None,
        };
        match self.router.route(&rx) {
            Route4::Leasequery(message) => {
                match self.responder.handle(&message, now.wall, now.ms) {
                    Some(reply) => Handled::Replied(reply),
                    None => Handled::Dropped,
                }
            }
            Route4::Dhcp(_) => Handled::Dhcp,
            Route4::Discard(why) => Handled::Discarded(why),
        }
    }
}

/// One direction between the requestor and one server.
#[derive(Debug, Clone)]
pub struct Link {
    /// Time from sending to delivery.
    pub delay: Duration,
    /// Probability that a datagram is lost (1.0: the link is down).
    pub loss: f64,
    /// The next this many datagrams are lost, whatever `loss` says.
    pub drop_next: u32,
}

impl Default for Link {
    /// 1 ms, nothing lost.
    fn default() -> Link {
        Link {
            delay: Duration::from_millis(1),
            loss: 0.0,
            drop_next: 0,
        }
    }
}

/// What became of a datagram.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fate {
    /// Still on its way.
    InFlight,
    /// Lost on the link.
    Lost,
    /// Delivered at this virtual time to the socket it was addressed to.
    Delivered(Duration),
    /// Arrived where no socket of the pair listens (a reply sent to the wrong address or port).
    NoSocket(Duration),
}

/// One datagram, as the trace keeps it.
#[derive(Debug, Clone)]
pub struct Datagram {
    /// When it was sent.
    pub sent: Duration,
    pub from: SocketAddrV4,
    pub to: SocketAddrV4,
    /// The index of the server at the other end.
    pub server: usize,
    pub payload: Vec<u8>,
    pub fate: Fate,
    /// For a datagram delivered to a server: what the server did with it.
    pub handled: Option<Handled>,
}

impl Datagram {
    /// The transaction id (0 for a datagram too short to have one).
    pub fn xid(&self) -> u32 {
        self.payload
            .get(4..8)
            .map_or(0, |b| u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    }

    /// Whether the requestor sent it.
    pub fn is_query(&self) -> bool {
        self.from.port() == REQUESTOR_PORT && *self.from.ip() == GIADDR
    }
}

/// The requestor with the RFC's figures (RFC 4388, RFC 2131), asking `servers` from
/// [`GIADDR`], seed 1.
pub fn requestor_config(servers: &[Responder]) -> Config {
    let mut c = Config::new(
        GIADDR,
        servers.iter().map(|s| SocketAddr::V4(s.socket())).collect(),
    );
    c.seed = 1;
    c
}

/// A requestor, its servers and the network between them.
pub struct UdpPair {
    pub clock: VirtualClock,
    pub requestor: Requestor,
    /// The requestor's socket: [`GIADDR`]:[`REQUESTOR_PORT`].
    pub address: SocketAddrV4,
    pub servers: Vec<Responder>,
    /// Requestor to server `i`.
    pub up: Vec<Link>,
    /// Server `i` to requestor.
    pub down: Vec<Link>,
    /// Every datagram sent, in order.
    pub trace: Vec<Datagram>,
    /// Datagrams the requestor did not use, and why.
    pub ignored: Vec<(Duration, Ignored)>,
    /// (delivery time, index in the trace) of the datagrams in flight.
    in_flight: BTreeSet<(Duration, usize)>,
    outcomes: BTreeMap<QueryId, (Duration, Event)>,
    rng: Rng,
}

/// The most events one run may take before it is taken for a loop that never ends.
const MAX_STEPS: usize = 1_000_000;

impl UdpPair {
    /// A pair of `servers` and a requestor configured by [`requestor_config`] and then `tune`.
    pub fn new(servers: Vec<Responder>, tune: impl FnOnce(&mut Config)) -> UdpPair {
        let mut config = requestor_config(&servers);
        tune(&mut config);
        let n = servers.len();
        UdpPair {
            clock: VirtualClock::new(),
            requestor: Requestor::new(config),
            address: SocketAddrV4::new(GIADDR, REQUESTOR_PORT),
            servers,
            up: vec![Link::default(); n],
            down: vec![Link::default(); n],
            trace: Vec::new(),
            ignored: Vec::new(),
            in_flight: BTreeSet::new(),
            outcomes: BTreeMap::new(),
            rng: Rng::new(0x5eed),
        }
    }

    /// Virtual time now.
    pub fn now(&self) -> Duration {
        self.clock.elapsed()
    }

    /// The wall clock now (what a server answering now writes its relative times from).
    pub fn wall(&self) -> u64 {
        self.clock.wall()
    }

    /// Submits a query now; panics when the requestor refuses it.
    pub fn submit(&mut self, key: QueryKey) -> QueryId {
        let now = self.clock.instant();
        let id = self
            .requestor
            .submit(key.clone(), now)
            .unwrap_or_else(|e| panic!("{key:?} refused: {e}"));
        // A cached answer is an event already.
        self.collect_events();
        id
    }

    /// How the query ended, and when; `None` while it is outstanding.
    pub fn outcome(&self, id: QueryId) -> Option<&(Duration, Event)> {
        self.outcomes.get(&id)
    }

    /// The query's answer; panics when it failed or is outstanding.
    pub fn answer(&self, id: QueryId) -> &Answer {
        match self.outcome(id) {
            Some((_, Event::Answered(_, answer))) => answer,
            other => panic!("{id:?} has no answer: {other:?}"),
        }
    }

    /// When the query ended.
    pub fn ended_at(&self, id: QueryId) -> Duration {
        self.outcome(id)
            .unwrap_or_else(|| panic!("{id:?} is outstanding"))
            .0
    }

    /// The queries the requestor sent to server `i` (lost ones included), in order.
    pub fn queries_to(&self, i: usize) -> Vec<&Datagram> {
        self.trace
            .iter()
            .filter(|d| d.server == i && d.is_query())
            .collect()
    }

    /// The queries that reached server `i`.
    pub fn queries_at(&self, i: usize) -> Vec<&Datagram> {
        self.queries_to(i)
            .into_iter()
            .filter(|d| matches!(d.fate, Fate::Delivered(_)))
            .collect()
    }

    /// Runs until `t` (virtual time since the start).
    pub fn run_until(&mut self, t: Duration) {
        self.run(Some(t), |_| false);
    }

    /// Runs for `d` from now.
    pub fn run_for(&mut self, d: Duration) {
        self.run_until(self.now() + d);
    }

    /// Runs until nothing is outstanding and no datagram is in flight (at most a virtual
    /// hour: longer means something never ends).
    pub fn run_until_done(&mut self) {
        let limit = self.now() + Duration::from_secs(3600);
        self.run(Some(limit), |p| {
            p.requestor.outstanding() == 0 && p.in_flight.is_empty()
        });
        assert!(
            self.requestor.outstanding() == 0 && self.in_flight.is_empty(),
            "still busy after a virtual hour: {} outstanding",
            self.requestor.outstanding()
        );
    }

    /// The loop: everything due now, then the clock to the next event, until `done` or `limit`.
    fn run(&mut self, limit: Option<Duration>, done: impl Fn(&UdpPair) -> bool) {
        for _ in 0..MAX_STEPS {
            let mut progressed = self.poll_requestor();
            while let Some(&(at, i)) = self.in_flight.first() {
                if at > self.now() {
                    break;
                }
                self.in_flight.remove(&(at, i));
                self.deliver(i);
                progressed = true;
            }
            if progressed {
                continue;
            }
            if done(self) {
                return;
            }
            let timer = self.requestor.poll_timeout().map(|t| self.clock.at(t));
            let delivery = self.in_flight.first().map(|&(at, _)| at);
            let next = match (timer, delivery) {
                (Some(a), Some(b)) => Some(a.min(b)),
                (a, b) => a.or(b),
            };
            match next {
                Some(t) if limit.is_none_or(|l| t <= l) => {
                    assert!(
                        t > self.now(),
                        "the requestor wants to be woken at {t:?}, not later than now ({:?}), \
                         but has nothing to do: a busy loop",
                        self.now()
                    );
                    self.clock.advance_to(t);
                }
                _ => {
                    if let Some(l) = limit {
                        self.clock.advance_to(l.max(self.now()));
                        self.poll_requestor();
                    }
                    return;
                }
            }
        }
        panic!("more than {MAX_STEPS} steps: the pair does not settle");
    }

    /// Transmits what the requestor has due now and collects its events.
    fn poll_requestor(&mut self) -> bool {
        let now = self.clock.instant();
        let mut progressed = false;
        while let Some((to, payload)) = self.requestor.poll_transmit(now) {
            let SocketAddr::V4(to) = to else {
                panic!("the requestor sends to {to}")
            };
            let server = self
                .servers
                .iter()
                .position(|s| s.socket() == to)
                .unwrap_or_else(|| panic!("the requestor sends to {to}, no server of the pair"));
            self.send(self.address, to, server, payload);
            progressed = true;
        }
        self.collect_events() || progressed
    }

    fn collect_events(&mut self) -> bool {
        let mut any = false;
        while let Some(event) = self.requestor.poll_event() {
            let id = match &event {
                Event::Answered(id, _) | Event::Failed(id, _) => *id,
            };
            let previous = self.outcomes.insert(id, (self.now(), event));
            assert!(previous.is_none(), "{id:?} ended twice");
            any = true;
        }
        any
    }

    /// Puts a datagram on the link between the requestor and server `server`.
    fn send(&mut self, from: SocketAddrV4, to: SocketAddrV4, server: usize, payload: Vec<u8>) {
        let upward = from == self.address;
        let now = self.now();
        let link = if upward {
            &mut self.up[server]
        } else {
            &mut self.down[server]
        };
        let lost = if link.drop_next > 0 {
            link.drop_next -= 1;
            true
        } else {
            self.rng.chance(link.loss)
        };
        let at = now + link.delay;
        let index = self.trace.len();
        self.trace.push(Datagram {
            sent: now,
            from,
            to,
            server,
            payload,
            fate: if lost { Fate::Lost } else { Fate::InFlight },
            handled: None,
        });
        if !lost {
            self.in_flight.insert((at, index));
        }
    }

    /// Delivers datagram `i` of the trace now.
    fn deliver(&mut self, i: usize) {
        let now = self.now();
        let (from, to, server) = {
            let d = &self.trace[i];
            (d.from, d.to, d.server)
        };
        if to == self.address {
            self.trace[i].fate = Fate::Delivered(now);
            let result = self.requestor.handle_reply(
                SocketAddr::V4(from),
                &self.trace[i].payload,
                self.clock.instant(),
            );
            if let Err(why) = result {
                self.ignored.push((now, why));
            }
            return;
        }
        let s = &self.servers[server];
        if to != s.socket() {
            self.trace[i].fate = Fate::NoSocket(now);
            return;
        }
        self.trace[i].fate = Fate::Delivered(now);
        let handled = s.datagram(&self.trace[i].payload, from, self.clock.now());
        let from_server = s.socket();
        if let Handled::Replied(reply) = &handled {
            let Destination::Relay(SocketAddr::V4(dest)) = reply.destination else {
                panic!(
                    "a leasequery reply goes to the relay: {:?}",
                    reply.destination
                );
            };
            self.send(from_server, dest, server, reply.payload.clone());
        }
        self.trace[i].handled = Some(handled);
    }
}
