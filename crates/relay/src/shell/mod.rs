//! The I/O shell of `lessor relay`: sockets on lessor-net, receive threads that hand each
//! datagram to the engine, a timer for expiry, the control socket, and a clean stop.
//!
//! Sockets (DHCPv4, the relay's port, 67 by default): one bound to the wildcard address on
//! each downstream interface (SO_BINDTODEVICE), where clients' broadcasts arrive and pktinfo
//! tells which interface; one bound to each giaddr, where the servers' replies arrive (they come
//! in on the upstream side, which a device-bound socket would not see). Requests go to the
//! servers from a giaddr socket, so they leave from the relay's port and an address the server's
//! `relays` names; replies go downstream through lessor-net's `Sender` (limited broadcast out of
//! one interface, or unicast at chaddr through a neighbour entry, as `lessor serve` does).
//!
//! DHCPv6 (port 547): see [`dhcp6`]. Both families may run in one relay, each with its own
//! receive threads.
//!
//! Engines share one [`Shared`] behind a mutex: the location table and each family's engine.
//! Both families' engines share it.
//!
//! Recovery (crate::recovery): [`Relay::recover`] is the start-up hook, run between
//! [`Relay::start`] and the readiness line: each family's bulk leasequeries (one per server) on
//! a thread of their own, both waited for at most `ready-after`; one that takes longer is merged
//! when it completes ([`Relay::run`] looks). On demand, a UDP leasequery thread per family
//! ([`lookup`]) answers the control socket's questions about addresses the table does not know.

mod control;
mod dhcp6;
mod lookup;

pub use control::{
    counters_text, request as control_request, request_line as control_request_line, ControlError,
};

use crate::config::Config;
use crate::location::LocationTable;
use crate::recovery::{self, Named};
use crate::relay_id::{self, Provenance, RelayIdError};
use crate::v4::{Downstream, Engine4, Settings};
use crate::v6::{Relay6, Transmit6};
use lessor_net::udp::{self, Family, OpenError, Receivers, Sender, Sockets, V6Options};
use lessor_net::{Clock, Interface, Now, Outgoing, Received, Transmit};
use std::fmt;
use std::net::{IpAddr, Ipv6Addr, SocketAddr};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, TryRecvError};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

/// What the receive threads, the timer and the control socket share.
#[derive(Debug)]
pub struct Shared {
    pub table: LocationTable,
    pub engine4: Option<Engine4>,
    pub engine6: Option<Relay6>,
    /// Entries merged from start-up recovery (bulk leasequery), from UDP leasequeries on demand,
    /// and lookups answered from the negative cache: counted by the code that does them.
    pub recovered: u64,
    pub queried: u64,
    pub cache_hits: u64,
    /// Entries removed because their lease ended.
    pub expired: u64,
    /// DHCPACKs gleaned since the DHCPv4 lookup thread last looked (DHCPv6: in the engine).
    pub gleans4: crate::gleans::Gleans<std::net::Ipv4Addr>,
    /// The relay-id in use and where it came from.
    pub relay_id: Vec<u8>,
    pub relay_id_from: Provenance,
}

/// Why the relay could not start.
#[derive(Debug)]
pub enum RunError {
    RelayId(RelayIdError),
    Interface {
        name: String,
        reason: String,
    },
    /// Settings the DHCPv6 engine refuses on this host (an interface's global address made
    /// two link-addresses alike).
    Settings(String),
    /// No route to a DHCPv6 server, so no address to listen on for its replies.
    Route {
        server: String,
        reason: String,
    },
    Open(OpenError),
    Control(String),
    Thread(String),
}

impl fmt::Display for RunError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RunError::RelayId(e) => write!(f, "{e}"),
            RunError::Interface { name, reason } => write!(f, "interface {name}: {reason}"),
            RunError::Settings(e) => write!(f, "dhcp6: {e}"),
            RunError::Route { server, reason } => write!(f, "dhcp6 server {server}: {reason}"),
            RunError::Open(e) => write!(f, "{e}"),
            RunError::Control(e) => write!(f, "control socket: {e}"),
            RunError::Thread(e) => write!(f, "cannot start a thread: {e}"),
        }
    }
}

impl std::error::Error for RunError {}

/// The relay's host name, for remote-id templates.
fn hostname() -> String {
    // The kernel's (UTS namespace's) name, as uname(2) gives it.
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .map(|h| h.trim().to_owned())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "localhost".into())
}

/// Resolves the configured interfaces: ifindex, giaddr (configured, else the interface's
/// first IPv4 address), remote-id expanded.
fn downstream(config: &Config) -> Result<Vec<Downstream>, RunError> {
    let Some(d) = &config.dhcp4 else {
        return Ok(Vec::new());
    };
    let host = hostname();
    let mut out = Vec::new();
    for i in &d.interfaces {
        let missing = |reason: String| RunError::Interface {
            name: i.name.clone(),
            reason,
        };
        let found = Interface::by_name(&i.name)
            .map_err(|e| missing(e.to_string()))?
            .ok_or_else(|| missing("no such interface".into()))?;
        let giaddr = match i.giaddr {
            Some(g) => g,
            None => found.v4.first().map(|n| n.addr()).ok_or_else(|| {
                missing("has no IPv4 address to be the giaddr (set giaddr)".into())
            })?,
        };
        out.push(Downstream {
            name: i.name.as_str().into(),
            index: found.index,
            giaddr,
            circuit_id: i.circuit_id.clone(),
            remote_id: i.remote_id.as_ref().map(|r| r.expand(&host, &i.name)),
            trusted: i.trusted,
        });
    }
    Ok(out)
}

/// A start-up recovery's log lines, once merged.
type Recovered = Vec<String>;

/// The downstream interfaces by circuit-id (DHCPv4) or Interface-ID (DHCPv6), as recovered
/// bindings name them: `(name, id)` of each.
fn named<'a>(interfaces: impl Iterator<Item = (&'a Arc<str>, &'a Vec<u8>)>) -> Vec<Named> {
    interfaces
        .map(|(name, id)| Named {
            name: Arc::clone(name),
            id: id.clone(),
        })
        .collect()
}

/// [`named`] for DHCPv4: the circuit-ids.
fn named4(s: &Shared) -> Vec<Named> {
    s.engine4.as_ref().map_or_else(Vec::new, |e| {
        named(
            e.settings()
                .interfaces
                .iter()
                .map(|i| (&i.name, &i.circuit_id)),
        )
    })
}

/// One family's start-up recovery, ready for a thread of its own: the servers it asks (for the
/// log) and what it runs (query, merge into the table, count), which returns its log lines.
struct Job {
    family: &'static str,
    servers: Vec<SocketAddr>,
    run: Box<RunJob>,
}

/// What a [`Job`] runs on its thread.
type RunJob = dyn FnOnce(&Mutex<Shared>, Clock) -> Recovered + Send;

impl Job {
    /// A job from one family's three steps: the bulk queries, the merge of their bindings (times
    /// as of the start, at now), and the report's lines.
    fn new<R: 'static, M: 'static>(
        family: &'static str,
        servers: Vec<SocketAddr>,
        query: impl FnOnce() -> (R, M) + Send + 'static,
        merge: impl FnOnce(&mut LocationTable, M, u64, u64) -> recovery::Merged4or6 + Send + 'static,
        lines: fn(&R, &recovery::Merged4or6) -> Recovered,
    ) -> Job {
        let run = move |shared: &Mutex<Shared>, clock: Clock| {
            // Every time of the recovered bindings is as of its start.
            let started = clock.now().wall;
            let (report, merged) = query();
            let mut s = lock(shared);
            let now = clock.now().wall;
            let done = merge(&mut s.table, merged, started, now);
            s.recovered += done.merged;
            drop(s);
            lines(&report, &done)
        };
        Job {
            family,
            servers,
            run: Box::new(run),
        }
    }
}

/// The start-up recoveries `config` asks for: DHCPv4 (by the relay-id, to `servers4`) and
/// DHCPv6 (by the relay-id, to the running engine's unicast servers or `servers6`).
fn jobs(config: &Config, s: &Shared) -> Vec<Job> {
    let mut jobs = Vec::new();
    if let Some(plan) = recovery::plan4(&config.recovery, &s.relay_id) {
        let interfaces = named4(s);
        let servers = plan.servers.iter().map(|(a, _)| *a).collect();
        jobs.push(Job::new(
            "dhcp4",
            servers,
            move || lessor_requestor::recover::recover4(&plan),
            move |table, merged, started, now| {
                recovery::merge4(table, merged, started, now, &interfaces)
            },
            recovery::report4_lines,
        ));
    }
    let plan6 = s
        .engine6
        .as_ref()
        .and_then(|e| Some((recovery::plan6(&config.recovery, e.settings())?, e)));
    if let Some((plan, engine)) = plan6 {
        let st = engine.settings();
        let interfaces = named(st.interfaces.iter().map(|i| (&i.name, &i.interface_id)));
        let relay_id = st.relay_id.clone();
        let servers = plan.servers.iter().map(|b| b.addr).collect();
        jobs.push(Job::new(
            "dhcp6",
            servers,
            move || lessor_requestor::recover::recover6(&plan),
            move |table, merged, started, now| {
                recovery::merge6(table, merged, started, now, &interfaces, relay_id.as_ref())
            },
            recovery::report6_lines,
        ));
    }
    jobs
}

/// A requestor seed that differs from one start to the next (a late answer to the previous
/// process's query is not taken for one of ours).
fn seed(relay_id: &[u8]) -> u64 {
    relay_id
        .iter()
        .fold(u64::from(std::process::id()), |h, &b| {
            h.wrapping_mul(31).wrapping_add(u64::from(b))
        })
        ^ lessor_net::Clock::new().now().ms
}

/// The DHCPv4 on-demand leasequery requestor, when configured: from the first giaddr (where the
/// servers answer), an ephemeral port, to every DHCPv4 server's leasequery port.
fn lookups(config: &Config, s: &Shared) -> Option<(SocketAddr, recovery::lookup::Lookups)> {
    let engine = s.engine4.as_ref()?;
    if !config.recovery.on_demand {
        return None;
    }
    let st = engine.settings();
    let giaddr = st.interfaces.first()?.giaddr;
    let servers = st.servers.iter().map(|&a| SocketAddr::V4(a)).collect();
    let mut requestor = lessor_requestor::Config::new(giaddr, servers);
    requestor.seed = seed(&s.relay_id);
    let lookups = recovery::lookup::Lookups::new(requestor, s.relay_id.clone(), named4(s));
    Some((SocketAddr::from((giaddr, 0)), lookups))
}

/// The DHCPv6 on-demand leasequery requestor, when configured: the relay's DUID as CLIENTID,
/// from the unspecified address and an ephemeral port (a server answers the query's source),
/// to [`recovery::lookup_servers6`].
fn lookups6(config: &Config, s: &Shared) -> Option<(SocketAddr, Vec<SocketAddr>, Lookups6)> {
    let engine = s.engine6.as_ref()?;
    if !config.recovery.on_demand {
        return None;
    }
    let st = engine.settings();
    let duid = st.relay_id.clone()?;
    let servers = recovery::lookup_servers6(&config.recovery, st);
    if servers.is_empty() {
        return None;
    }
    let mut requestor = lessor_requestor::Config::v6(duid, servers.clone());
    requestor.seed = seed(&s.relay_id);
    // An absolute CLT_TIME (ISC dhcpd 4.4.3) is read against the wall clock.
    requestor.family.epoch = Some((Instant::now(), Clock::new().now().wall));
    let interfaces = named(st.interfaces.iter().map(|i| (&i.name, &i.interface_id)));
    let lookups = recovery::lookup::Lookups::new(requestor, s.relay_id.clone(), interfaces);
    Some((
        SocketAddr::from((Ipv6Addr::UNSPECIFIED, 0)),
        servers,
        lookups,
    ))
}

type Lookups6 = recovery::lookup::Lookups<lessor_requestor::V6>;

/// A running relay.
pub struct Relay {
    shared: Arc<Mutex<Shared>>,
    /// Per family, and for DHCPv6 downstream and upstream.
    receivers: Vec<Receivers>,
    control: control::Server,
    lookup: Option<lookup::Thread<lessor_requestor::V4>>,
    lookup6: Option<lookup::Thread<lessor_requestor::V6>>,
    clock: Clock,
    /// The start-up recoveries still running past `ready-after`: each family's lines come when
    /// it completes; the channel disconnects once both have.
    recovering: Mutex<Option<Receiver<Recovered>>>,
}

/// Locks `shared`, whatever a panicking thread left (the table stays consistent: every
/// operation on it completes or does not start).
pub fn lock(shared: &Mutex<Shared>) -> MutexGuard<'_, Shared> {
    shared.lock().unwrap_or_else(|p| p.into_inner())
}

impl Relay {
    /// Opens everything the config names and starts the threads, logging one line per socket.
    /// Nothing is relayed before this returns.
    pub fn start(config: &Config) -> Result<Relay, RunError> {
        let (relay_id, from) =
            relay_id::load_or_create(&config.state_dir, config.relay_id.as_deref())
                .map_err(RunError::RelayId)?;
        let interfaces = downstream(config)?;
        tracing::debug!(
            state_dir = %config.state_dir.display(),
            interfaces = interfaces.len(),
            "relay-id {}; {} DHCPv4 downstream interface(s)",
            lessor_wire::hex::colon(&relay_id),
            interfaces.len()
        );
        let clock = Clock::new();
        let mut shared = Shared {
            table: LocationTable::new(),
            engine4: None,
            engine6: None,
            recovered: 0,
            queried: 0,
            cache_hits: 0,
            expired: 0,
            relay_id: relay_id.clone(),
            relay_id_from: from,
            gleans4: Default::default(),
        };
        let mut sockets = None;
        if let Some(d) = &config.dhcp4 {
            let mut giaddrs: Vec<IpAddr> = Vec::new();
            for i in &interfaces {
                if !giaddrs.contains(&IpAddr::V4(i.giaddr)) {
                    giaddrs.push(IpAddr::V4(i.giaddr));
                }
            }
            let names: Vec<String> = interfaces.iter().map(|i| i.name.to_string()).collect();
            let opened = Sockets::open(Family::V4, &giaddrs, &names, d.port, &V6Options::default())
                .map_err(RunError::Open)?;
            for s in opened.iter() {
                tracing::info!(socket = %s.describe(), "dhcp4: listening on {}", s.describe());
            }
            shared.engine4 = Some(Engine4::new(Settings {
                servers: d.servers.clone(),
                max_hops: d.max_hops,
                client_port: d.port.saturating_add(1),
                relay_id,
                interfaces,
            }));
            sockets = Some(opened);
        }
        let mut opened6 = None;
        if let Some(d) = &config.dhcp6 {
            let o = dhcp6::open(d, &hostname(), &shared.relay_id)?;
            shared.engine6 = Some(o.engine);
            opened6 = Some((o.downstream, o.upstream, o.sender));
        }
        let shared = Arc::new(Mutex::new(shared));
        let lookup = match lookups(config, &lock(&shared)) {
            None => None,
            Some((bind, lookups)) => {
                let t = lookup::Thread::start("4", bind, lookups, Arc::clone(&shared), clock)
                    .map_err(|e| RunError::Thread(format!("leasequery socket {bind}: {e}")))?;
                tracing::info!(
                    source = %bind.ip(),
                    "dhcp4: on-demand leasequery from {}",
                    bind.ip()
                );
                Some(t)
            }
        };
        let planned6 = {
            let mut s = lock(&shared);
            let planned = lookups6(config, &s);
            if let (Some((_, servers, _)), Some(e)) = (&planned, s.engine6.as_mut()) {
                e.report_gleaned();
                let servers: Vec<String> = servers.iter().map(|a| a.to_string()).collect();
                let servers = servers.join(", ");
                tracing::info!(%servers, "dhcp6: on-demand leasequery to {servers}");
            }
            planned
        };
        let lookup6 = match planned6 {
            None => None,
            Some((bind, _, lookups)) => Some(
                lookup::Thread::start("6", bind, lookups, Arc::clone(&shared), clock)
                    .map_err(|e| RunError::Thread(format!("leasequery socket {bind}: {e}")))?,
            ),
        };
        let wait = config.recovery.lookup_wait;
        let askers = lookup::Askers {
            v4: lookup.as_ref().map(|t| t.asker(wait)),
            v6: lookup6.as_ref().map(|t| t.asker(wait)),
        };
        let control =
            control::Server::start(&config.control_socket, Arc::clone(&shared), clock, askers)
                .map_err(RunError::Control)?;
        let to_lookup = lookup.as_ref().map(lookup::Thread::sender);
        let mut receivers = Vec::new();
        let spin = config.receive_spin;
        if let Some(sockets) = sockets {
            let counters = Arc::new(udp::Counters::default());
            let sender = Arc::new(Sender::new(&sockets, None, Arc::clone(&counters)));
            let engine =
                move |s: &mut Shared, rx: &Received<'_>, now: Now, out: &mut Vec<Outgoing>| {
                    if let Some(to) = &to_lookup {
                        // Servers answer a leasequery at giaddr, port 67 (RFC 4388 §6.4.3): the
                        // relay's own port.
                        match lookup::seen(rx.payload) {
                            lookup::Seen::LeasequeryReply => {
                                let _ = to.send(lookup::Input::Reply {
                                    from: rx.source,
                                    bytes: rx.payload.to_vec(),
                                });
                                return;
                            }
                            lookup::Seen::Acked(address) => s.gleans4.push(address),
                            lookup::Seen::Other => {}
                        }
                    }
                    let Shared { table, engine4, .. } = s;
                    if let Some(engine) = engine4 {
                        let index = rx.interface_index;
                        let _ = engine.handle(rx.payload, index, rx.source, now.wall, table, out);
                    }
                };
            let send = move |out: &mut Vec<Outgoing>| sender.send_batch(out);
            let r = start_receivers(
                "relay4", spin, &sockets, counters, &shared, clock, engine, send,
            )?;
            receivers.push(r);
        }
        if let Some((downstream, upstream, sender6)) = opened6 {
            let engine =
                move |s: &mut Shared, rx: &Received<'_>, now: Now, out: &mut Vec<Transmit6>| {
                    let Shared { table, engine6, .. } = s;
                    if let (Some(engine), SocketAddr::V6(from)) = (engine6, rx.source) {
                        let index = rx.interface_index.unwrap_or(0);
                        // What it gleans waits in the engine for the lookup thread
                        // (lookup::Gleaned).
                        out.extend(engine.handle(rx.payload, index, from, now, table));
                    }
                };
            for (name, sockets) in [("relay6", &downstream), ("relay6 up", &upstream)] {
                let sender = Arc::clone(&sender6);
                let send = move |out: &mut Vec<Transmit6>| sender.send_all(out);
                let counters = Arc::clone(&sender6.counters);
                let r =
                    start_receivers(name, spin, sockets, counters, &shared, clock, engine, send)?;
                receivers.push(r);
            }
        }
        Ok(Relay {
            shared,
            receivers,
            control,
            lookup,
            lookup6,
            clock,
            recovering: Mutex::new(None),
        })
    }

    /// The start-up hook: recovers the table from the servers (bulk leasequery by the relay's
    /// relay-id; DHCPv4 and DHCPv6 each on a thread of their own), waiting at most
    /// `ready-after` for both; a recovery that takes longer goes on in the background and is
    /// merged when it completes. Logs a line per server and a summary per family.
    pub fn recover(&self, config: &Config) {
        let jobs = jobs(config, &lock(&self.shared));
        if jobs.is_empty() {
            tracing::info!("recovery: off (at-start = false, or no bulk leasequery server)");
            return;
        }
        let (tx, rx) = mpsc::channel();
        let mut running = 0;
        for job in jobs {
            let servers: Vec<String> = job.servers.iter().map(|s| s.to_string()).collect();
            let servers = servers.join(", ");
            tracing::info!(
                family = job.family,
                %servers,
                "recovery: {} bulk leasequery by relay-id to {servers}",
                job.family
            );
            let (tx, shared, clock) = (tx.clone(), Arc::clone(&self.shared), self.clock);
            let spawned = std::thread::Builder::new()
                .name(format!("relay recovery {}", job.family))
                .spawn(move || {
                    let _ = tx.send((job.run)(&shared, clock));
                });
            match spawned {
                Ok(_) => running += 1,
                Err(e) => tracing::error!(
                    family = job.family,
                    error = %e,
                    "recovery: {}: cannot start a thread: {e}",
                    job.family
                ),
            }
        }
        // Only the threads hold senders now: the channel disconnects when the last is done.
        drop(tx);
        let bound = config.recovery.ready_after;
        let deadline = Instant::now() + bound;
        while running > 0 {
            match rx.recv_timeout(deadline.saturating_duration_since(Instant::now())) {
                Ok(lines) => {
                    lines.iter().for_each(|l| tracing::info!("{l}"));
                    running -= 1;
                }
                Err(RecvTimeoutError::Timeout) => {
                    tracing::warn!(
                        ready_after_s = bound.as_secs(),
                        "recovery: not done after {}s (ready-after): ready anyway; the rest is merged when it completes",
                        bound.as_secs()
                    );
                    *self.recovering.lock().unwrap_or_else(|p| p.into_inner()) = Some(rx);
                    return;
                }
                Err(RecvTimeoutError::Disconnected) => return,
            }
        }
    }

    /// Logs a background recovery's lines as each family completes.
    fn recovered_late(&self) {
        let mut slot = self.recovering.lock().unwrap_or_else(|p| p.into_inner());
        let Some(rx) = slot.as_ref() else {
            return;
        };
        loop {
            match rx.try_recv() {
                Ok(lines) => lines.iter().for_each(|l| tracing::info!("{l}")),
                Err(TryRecvError::Empty) => return,
                Err(TryRecvError::Disconnected) => {
                    *slot = None;
                    return;
                }
            }
        }
    }

    /// The state the engines share (recovery merges into its table).
    pub fn shared(&self) -> &Arc<Mutex<Shared>> {
        &self.shared
    }

    /// The readiness line: what is relayed where, as whom.
    pub fn ready(&self, config: &Config) -> String {
        let s = lock(&self.shared);
        let mut parts = Vec::new();
        if let Some(e) = &s.engine4 {
            let st = e.settings();
            let down: Vec<String> = st
                .interfaces
                .iter()
                .map(|i| format!("{} (giaddr {})", i.name, i.giaddr))
                .collect();
            let servers: Vec<String> = st.servers.iter().map(|s| s.to_string()).collect();
            parts.push(format!(
                "dhcp4 from {} to {}",
                down.join(", "),
                servers.join(", ")
            ));
        }
        if let (Some(e), Some(d)) = (&s.engine6, &config.dhcp6) {
            let down: Vec<String> = e
                .settings()
                .interfaces
                .iter()
                .map(|i| {
                    let id = String::from_utf8_lossy(&i.interface_id);
                    format!(
                        "{} (link-address {}, interface-id {id:?})",
                        i.name, i.link_address
                    )
                })
                .collect();
            let servers: Vec<String> = d.servers.iter().map(|s| s.describe()).collect();
            parts.push(format!(
                "dhcp6 from {} to {}",
                down.join(", "),
                servers.join(", ")
            ));
        }
        let from = match &s.relay_id_from {
            Provenance::Configured => "configured".to_owned(),
            Provenance::Kept(p) => format!("kept in {}", p.display()),
            Provenance::Generated(p) => format!("generated, kept in {}", p.display()),
        };
        format!(
            "relay ready: {}; relay-id {} ({from}); control socket {}; {} entries",
            parts.join("; "),
            lessor_wire::hex::colon(&s.relay_id),
            config.control_socket.display(),
            s.table.len()
        )
    }

    /// Runs until `stop` is set: expiry on time, a dead receive thread reported and fatal.
    pub fn run(&self, stop: &AtomicBool) -> Result<(), RunError> {
        while !stop.load(Ordering::Relaxed) {
            std::thread::sleep(Duration::from_millis(200));
            self.recovered_late();
            let now = self.clock.now().wall;
            {
                let mut s = lock(&self.shared);
                if s.table.next_expiry().is_some_and(|t| t <= now) {
                    let gone = s.table.expire(now).len() as u64;
                    s.expired += gone;
                }
            }
            if let Some(failure) = self.receivers.iter().find_map(|r| r.first_failure()) {
                tracing::error!("{failure}");
                return Err(RunError::Thread(failure));
            }
        }
        Ok(())
    }

    /// Stops the threads and removes the control socket; returns the counters line for the log.
    pub fn shutdown(mut self) -> String {
        for r in self.receivers.drain(..) {
            r.shutdown();
        }
        if let Some(l) = self.lookup.take() {
            l.shutdown();
        }
        if let Some(l) = self.lookup6.take() {
            l.shutdown();
        }
        self.control.shutdown();
        let s = lock(&self.shared);
        control::counters_line(&s)
    }
}

/// Starts a receive thread per socket of `sockets`, each running `engine` on every datagram
/// under the [`Shared`] lock and then `send` on what it produced, outside the lock: one
/// handler for both families, each bringing its engine call and its way of sending. What a
/// batch read together produced leaves together (one sendmmsg per socket, as `lessor serve`
/// sends), at most [`FLUSH_AT`] held back; the clocks are read once per batch.
#[allow(clippy::too_many_arguments)]
fn start_receivers<T, E, S>(
    name: &str,
    spin: bool,
    sockets: &Sockets,
    counters: Arc<udp::Counters>,
    shared: &Arc<Mutex<Shared>>,
    clock: Clock,
    engine: E,
    send: S,
) -> Result<Receivers, RunError>
where
    T: Send + 'static,
    E: FnMut(&mut Shared, &Received<'_>, Now, &mut Vec<T>) + Clone + Send + 'static,
    S: FnMut(&mut Vec<T>) + Clone + Send + 'static,
{
    Receivers::start(name, sockets, counters, udp::DEFAULT_BUFFER, 1, |_| {
        Handler {
            spin,
            shared: Arc::clone(shared),
            clock,
            now: None,
            out: Vec::new(),
            engine: engine.clone(),
            send: send.clone(),
        }
    })
    .map_err(|e| RunError::Thread(e.to_string()))
}

/// What each receive thread runs (see [`start_receivers`]).
struct Handler<T, E, S> {
    /// `[relay] receive-spin`: poll the socket for a while after a dense batch.
    spin: bool,
    shared: Arc<Mutex<Shared>>,
    clock: Clock,
    /// Both clocks, read at the batch's first datagram.
    now: Option<Now>,
    out: Vec<T>,
    engine: E,
    send: S,
}

impl<T, E, S> udp::Handler for Handler<T, E, S>
where
    T: Send + 'static,
    E: FnMut(&mut Shared, &Received<'_>, Now, &mut Vec<T>) + Send + 'static,
    S: FnMut(&mut Vec<T>) + Send + 'static,
{
    fn datagram(&mut self, rx: Received<'_>) {
        let now = *self.now.get_or_insert_with(|| self.clock.now());
        (self.engine)(&mut lock(&self.shared), &rx, now, &mut self.out);
        // The first answers leave while the rest of a long batch is worked out.
        if self.out.len() >= FLUSH_AT {
            self.flush();
        }
    }

    fn batch_done(&mut self) {
        self.now = None;
        self.flush();
    }

    /// As `[relay] receive-spin` says (default no): on a box of its own a relay under load
    /// gains from not sleeping between dense batches (docs/benchmarks.md, issue 15); on a small
    /// machine shared with the server the polling thread takes the CPU the server needs.
    fn worth_spinning(&mut self) -> bool {
        self.spin
    }
}

/// Most messages held back before they are sent, within one received batch.
const FLUSH_AT: usize = 8;

impl<T, E, S> Handler<T, E, S>
where
    S: FnMut(&mut Vec<T>),
{
    fn flush(&mut self) {
        if !self.out.is_empty() {
            (self.send)(&mut self.out);
            self.out.clear();
        }
    }
}
