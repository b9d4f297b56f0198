//! `lessor serve`: open the store, the sockets and the engines a config names, run until told to
//! stop, then stop cleanly (receivers first, then the store's last commits).
//!
//! This is the thin I/O shell around the sans-IO engines: it reads the clocks and hands the time
//! in, owns the threads, and logs. Several threads read each socket. One DHCP engine handles
//! every DHCP message in turn (a mutex), so each decision sees the ones before it; DHCPACKs leave
//! from the store's writer thread once their binding is durable. Leasequery datagrams are picked
//! out before that lock ([`crate::dhcp4::LeaseQueryGate`]) and answered by the responder, which
//! reads store snapshots and locks nothing but its rate limiter: queries are answered in
//! parallel and a burst of them never holds up clients.

use crate::bulk4::Params;
use crate::config::Config;
use crate::dhcp4::{Engine4, Handled, LeaseQueryGate, LocalInterface, Received, Reply, Transmit};
use crate::io4::{self, Running, SocketKind, Sockets, UdpTransmit};
use crate::leasequery4::access::AllowList;
use crate::leasequery4::Responder4;
use crate::outbox::GroupOutbox;
use crate::tcp4;
use lessor_store::{Store, Timestamp};
use std::fmt;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// How often the engine's timer runs (lease expiry, forgotten offers), and how soon a stop
/// request is noticed.
pub const TICK: Duration = Duration::from_millis(200);

/// Why the server could not start or stopped with an error.
#[derive(Debug)]
pub enum ServeError {
    Store(String),
    Sockets(String),
    Thread(String),
}

impl fmt::Display for ServeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ServeError::Store(m) => write!(f, "store: {m}"),
            ServeError::Sockets(m) => write!(f, "sockets: {m}"),
            ServeError::Thread(m) => write!(f, "threads: {m}"),
        }
    }
}

impl std::error::Error for ServeError {}

/// Seconds since the Unix epoch: the one place the server reads the wall clock.
pub fn now() -> Timestamp {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// Runs what `config` names until `stop` is set. `log` receives one line per event worth an
/// operator's attention (start, skipped store rows, stop).
pub fn run(config: &Config, stop: &AtomicBool, log: &dyn Fn(&str)) -> Result<(), ServeError> {
    let path = &config.file.server.store;
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)
            .map_err(|e| ServeError::Store(format!("cannot create {}: {e}", dir.display())))?;
    }
    let (store, report) = Store::open_sqlite(path).map_err(|e| ServeError::Store(e.to_string()))?;
    log(&format!(
        "store {}: {} binding(s) loaded",
        path.display(),
        report.v4.loaded
    ));
    for row in &report.skipped {
        log(&format!("store {}: skipped {row}", path.display()));
    }
    let store = Arc::new(store);

    let result = match (&config.dhcp4, &config.file.dhcp4) {
        (Some(_), Some(raw)) => serve_dhcp4(config, raw, &store, stop, log),
        _ => serve_bulk_only(config, &store, stop, log),
    };

    // Everything submitted so far becomes durable before the process ends.
    let _ = store.sync().wait();
    match Arc::try_unwrap(store) {
        Ok(store) => store
            .close()
            .map_err(|e| ServeError::Store(e.to_string()))?,
        Err(_) => log("store still shared at shutdown; its writer flushed what was queued"),
    }
    log("stopped");
    result
}

fn serve_dhcp4(
    config: &Config,
    raw: &crate::config::schema::Dhcp4,
    store: &Arc<Store>,
    stop: &AtomicBool,
    log: &dyn Fn(&str),
) -> Result<(), ServeError> {
    let sockets = Sockets::open(raw).map_err(|e| ServeError::Sockets(e.to_string()))?;
    let interfaces: Vec<LocalInterface> = sockets
        .iter()
        .filter_map(|s| match s.kind() {
            SocketKind::Interface(i) => Some(LocalInterface {
                index: i.index,
                name: i.name.clone(),
                addresses: i.addresses.clone(),
            }),
            SocketKind::Listen { .. } => None,
        })
        .collect();
    let identifier: Ipv4Addr = config.file.server.identifier;
    let counters = Arc::new(io4::Counters::default());
    let transmit: Arc<dyn Transmit> = Arc::new(UdpTransmit::new(
        &sockets,
        Some(identifier),
        Arc::clone(&counters),
    ));
    // DHCPACKs leave from the store's writer once durable: those of one commit together.
    let acks: Arc<dyn Transmit> = GroupOutbox::attach(Arc::clone(&transmit), store);
    let engine = Arc::new(Mutex::new(Engine4::new(
        config,
        Arc::clone(store),
        interfaces,
        identifier,
    )));
    let responder = Arc::new(Responder4::new(config, Arc::clone(store), identifier));
    let gate = engine
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .leasequery_gate();
    let started = Instant::now();
    let threads = receive_threads(raw);
    for socket in sockets.iter() {
        log(&format!(
            "dhcp4: listening on {} ({threads} receive thread(s))",
            socket.describe()
        ));
    }

    let running = Running::start(
        &sockets,
        Arc::clone(&counters),
        io4::DEFAULT_BUFFER,
        threads,
        |_| Dhcp4Handler {
            engine: Arc::clone(&engine),
            responder: Arc::clone(&responder),
            transmit: Arc::clone(&transmit),
            acks: Arc::clone(&acks),
            gate: gate.clone(),
            started,
            pending: Vec::with_capacity(io4::BATCH),
        },
    )
    .map_err(|e| ServeError::Thread(e.to_string()))?;

    let bulk = start_bulk(config, identifier, store, log)?;

    while !stop.load(Ordering::Relaxed) {
        std::thread::sleep(TICK);
        let mut engine = engine.lock().unwrap_or_else(|p| p.into_inner());
        engine.tick(now());
    }
    if let Some(bulk) = bulk {
        // Every open bulk query gets QueryTerminated.
        bulk.shutdown();
    }
    let panicked = running.shutdown();
    if panicked > 0 {
        return Err(ServeError::Thread(format!(
            "{panicked} receiver thread(s) panicked"
        )));
    }
    Ok(())
}

/// Most replies held back for one system call: fewer would cost more calls, more would keep
/// the first answers of a batch waiting while the last ones are computed.
const FLUSH_AT: usize = 4;

/// What each receive thread runs: leasequery datagrams to the responder (no engine lock), the
/// rest to the DHCP engine; immediate replies are collected and leave together at the end of
/// each received batch, outside every lock.
struct Dhcp4Handler {
    engine: Arc<Mutex<Engine4>>,
    responder: Arc<Responder4>,
    transmit: Arc<dyn Transmit>,
    /// Where the engine's DHCPACKs go once durable (a [`GroupOutbox`] over `transmit`).
    acks: Arc<dyn Transmit>,
    gate: LeaseQueryGate,
    started: Instant,
    pending: Vec<Reply>,
}

impl io4::Handler for Dhcp4Handler {
    fn datagram(&mut self, rx: Received<'_>) {
        let leasequery = self.gate.claims(rx.payload) || {
            let (handled, reply) = self
                .engine
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .handle_deferred(rx, now(), &self.acks);
            self.pending.extend(reply);
            matches!(handled, Handled::NotDhcp(_))
        };
        if leasequery {
            let instant_ms = u64::try_from(self.started.elapsed().as_millis()).unwrap_or(u64::MAX);
            self.pending
                .extend(self.responder.handle(rx, now(), instant_ms));
        }
        // Replies leave in groups of FLUSH_AT rather than at the end of a long batch: the
        // requestors (or relays) start on the first answers while the rest are worked out.
        if self.pending.len() >= FLUSH_AT {
            self.transmit.send_batch(&mut self.pending);
        }
    }

    fn batch_done(&mut self) {
        self.transmit.send_batch(&mut self.pending);
    }
}

/// Receive threads per socket: `dhcp4.receive-threads`, else half the CPUs available (the
/// kernel's network work, the store writer and other processes need the rest), 1 to 4.
fn receive_threads(raw: &crate::config::schema::Dhcp4) -> usize {
    raw.receive_threads.map(usize::from).unwrap_or_else(|| {
        std::thread::available_parallelism().map_or(1, |n| (n.get() / 2).clamp(1, 4))
    })
}

/// Without `[dhcp4]`: serves bulk leasequery from the store alone (a server that answers
/// requestors from bindings another process writes or an import left), if configured.
fn serve_bulk_only(
    config: &Config,
    store: &Arc<Store>,
    stop: &AtomicBool,
    log: &dyn Fn(&str),
) -> Result<(), ServeError> {
    let Some(bulk) = start_bulk(config, config.file.server.identifier, store, log)? else {
        log("no [dhcp4] section and no bulk leasequery listener: nothing to serve");
        return Ok(());
    };
    log("no [dhcp4] section: serving bulk leasequery only");
    while !stop.load(Ordering::Relaxed) {
        std::thread::sleep(TICK);
    }
    bulk.shutdown();
    Ok(())
}

/// Starts the bulk leasequery listener when `[leasequery.bulk]` names addresses.
fn start_bulk(
    config: &Config,
    identifier: Ipv4Addr,
    store: &Arc<Store>,
    log: &dyn Fn(&str),
) -> Result<Option<tcp4::Running>, ServeError> {
    let Some(lq) = config.file.leasequery.as_ref() else {
        return Ok(None);
    };
    let (Some(bulk), Some(params)) = (lq.bulk.as_ref(), Params::from_config(config, identifier))
    else {
        return Ok(None);
    };
    if bulk.listen.is_empty() {
        log("leasequery.bulk: no listen address: bulk leasequery is not served");
        return Ok(None);
    }
    let addrs: Vec<SocketAddr> = bulk
        .listen
        .iter()
        .map(|a| SocketAddr::new(*a, bulk.port))
        .collect();
    let settings = tcp4::Settings {
        params,
        allow: AllowList::new(lq.requesters.clone()),
        max_connections: usize::try_from(bulk.max_connections).unwrap_or(usize::MAX),
    };
    let running = tcp4::start(settings, &addrs, Arc::clone(store))
        .map_err(|e| ServeError::Sockets(format!("bulk leasequery: {e}")))?;
    for a in running.local_addrs() {
        log(&format!("bulk leasequery: listening on tcp {a}"));
    }
    Ok(Some(running))
}
