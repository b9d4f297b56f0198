//! The DHCPv4 UDP service: the `[dhcp4]` sockets, receive threads that route each datagram once
//! ([`Router4`]) to the DHCP engine (one state machine under one lock, so each decision sees the
//! ones before it) or to the leasequery responder (no lock but its rate limiter's: queries are
//! answered in parallel and a burst of them never holds up clients), and the sending of what
//! they return: at once, outside every lock, or once durable through the [`GroupOutbox`].

use super::udp as udp_shell;
use super::{GroupOutbox, ServeError};
use crate::config::Config;
use crate::dhcp4::{Engine4, Quarantine};
use crate::leasequery4::reply::PrlCaches;
use crate::leasequery4::Responder4;
use crate::router4::{Route4, Router4};
use crate::stats::Report;
use crate::swap::Swap;
use lessor_net::udp::{self, Family, Receivers, Sender, Sockets, V6Options};
use lessor_net::{Clock, Now, Outgoing, Received, Transmit};
use lessor_store::Store;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};

/// Most replies held back for one system call: fewer would cost more calls, more would keep
/// the first answers of a batch waiting while the last ones are computed.
const FLUSH_AT: usize = 4;

/// The running DHCPv4 UDP service.
pub(super) struct Udp4 {
    receivers: Receivers,
    engine: Arc<Mutex<Engine4>>,
    /// The router and the leasequery responder, replaced whole by a reload.
    live: Arc<Swap<Live4>>,
    /// Their counters, which every reload's router and responder share.
    router_counters: Arc<crate::router4::Counters>,
    responder_counters: Arc<crate::leasequery4::Counters>,
    sockets: Arc<udp::Counters>,
    /// The engine's counters, shared with its store completions: read without its lock.
    engine_counters: Arc<crate::dhcp4::Counters>,
}

impl Udp4 {
    /// The engine's timer (lease expiry, lapsed offers, quarantines that end), and what the
    /// engine refused and the leasequery responder dropped since they last said (at most one
    /// line each every few seconds).
    pub(super) fn tick(&self, now: Now) {
        let (refused, ended) = {
            let mut engine = self.engine.lock().unwrap_or_else(|p| p.into_inner());
            engine.tick(now.wall);
            (
                engine.take_drop_report(now.ms),
                engine.quarantines_ended(now.wall),
            )
        };
        for prefix in ended {
            tracing::info!(
                %prefix,
                "store: quarantine of {prefix} ended: its addresses are offered again"
            );
        }
        if let Some(report) = refused {
            super::say_drops("", &report);
        }
        if let Some(report) = self.live.load().responder.take_drop_report(now.ms) {
            super::say_drops("leasequery4: ", &report);
        }
    }

    /// A receive thread that ended while the service runs (a handler panicked), as a line for
    /// the log with the panic's message.
    pub(super) fn lost_receiver(&self) -> Option<String> {
        self.receivers.first_failure()
    }

    /// What the service counts, by part.
    pub(super) fn reports(&self) -> Vec<(&'static str, &dyn Report)> {
        vec![
            ("udp4", &*self.sockets as &dyn Report),
            ("router4", &*self.router_counters as &dyn Report),
            ("dhcp4", &*self.engine_counters as &dyn Report),
            ("leasequery4", &*self.responder_counters as &dyn Report),
        ]
    }

    /// What a reload changes of the running service.
    pub(super) fn handle(&self) -> Handle4 {
        Handle4 {
            engine: Arc::clone(&self.engine),
            live: Arc::clone(&self.live),
        }
    }

    /// The engine, for the control API's lease-delete.
    pub(super) fn engine(&self) -> Arc<Mutex<Engine4>> {
        Arc::clone(&self.engine)
    }

    /// [`Self::reports`] for the control API's statistics, which outlive this borrow.
    pub(super) fn shared_reports(&self) -> Vec<(&'static str, crate::control::ReportFn)> {
        let sockets = Arc::clone(&self.sockets);
        let router = Arc::clone(&self.router_counters);
        let engine = Arc::clone(&self.engine_counters);
        let responder = Arc::clone(&self.responder_counters);
        vec![
            (
                "udp4",
                Box::new(move |out: &mut dyn FnMut(&str, u64)| sockets.report(out)),
            ),
            (
                "router4",
                Box::new(move |out: &mut dyn FnMut(&str, u64)| router.report(out)),
            ),
            (
                "dhcp4",
                Box::new(move |out: &mut dyn FnMut(&str, u64)| engine.report(out)),
            ),
            (
                "leasequery4",
                Box::new(move |out: &mut dyn FnMut(&str, u64)| responder.report(out)),
            ),
        ]
    }

    /// The leasequery responder's per-requester tally, for the metrics.
    pub(super) fn requesters(&self) -> (&'static str, &dyn crate::metrics::Requesters) {
        ("leasequery4", &*self.live)
    }

    /// Stops the receive threads; returns how many panicked.
    pub(super) fn shutdown(self) -> usize {
        self.receivers.shutdown()
    }
}

/// A running DHCPv4 service as a reload sees it: its engine and what the receive threads
/// take per batch.
#[derive(Clone)]
pub(super) struct Handle4 {
    engine: Arc<Mutex<Engine4>>,
    live: Arc<Swap<Live4>>,
}

impl Handle4 {
    /// Takes a reloaded `config` (its `[dhcp4]` sockets and identifier unchanged: checked
    /// before): the engine under its lock, then the router and the responder, which the
    /// receive threads take at their next batch.
    pub(super) fn reconfigure(&self, config: &Config) {
        self.engine
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .reconfigure(config);
        let current = self.live.load();
        self.live.store(Live4 {
            router: current.router.reconfigured(config),
            responder: current
                .responder
                .reconfigured(config, leasequery_identifier(config)),
        });
    }
}

/// Opens the `[dhcp4]` sockets; `None` without `[dhcp4]`.
pub(super) fn open(config: &Config) -> Result<Option<Sockets>, ServeError> {
    let Some(raw) = config.file.dhcp4.as_ref() else {
        return Ok(None);
    };
    let listen: Vec<IpAddr> = raw.listen.iter().copied().map(IpAddr::V4).collect();
    udp_shell::open(
        Family::V4,
        &listen,
        &raw.interfaces,
        raw.port,
        &V6Options::default(),
    )
    .map(Some)
}

/// Starts the threads of the `[dhcp4]` sockets [`open`] returned; `None` without them.
pub(super) fn start(
    config: &Config,
    sockets: Option<Sockets>,
    store: &Arc<Store>,
    quarantine: &Quarantine,
    clock: Clock,
) -> Result<Option<Udp4>, ServeError> {
    let (Some(raw), Some(dhcp4), Some(sockets)) =
        (config.file.dhcp4.as_ref(), config.dhcp4.as_ref(), sockets)
    else {
        return Ok(None);
    };
    if raw.segment_replies {
        sockets.segment_replies();
    }
    let identifier = dhcp4.server_identifier;
    let counters = Arc::new(udp::Counters::default());
    let sender = Arc::new(Sender::new(
        &sockets,
        Some(IpAddr::V4(identifier)),
        Arc::clone(&counters),
    ));
    // DHCPACKs leave from the store's writer once durable: those of one commit together.
    let acks = GroupOutbox::attach(Arc::clone(&sender) as Arc<dyn Transmit>, store);
    let mut engine = Engine4::new(config, Arc::clone(store), sockets.interfaces(), identifier);
    engine.quarantine(quarantine);
    let engine_counters = Arc::clone(engine.counters());
    let engine = Arc::new(Mutex::new(engine));
    // Leasequery answers carry the identifier of [leasequery4], which defaults to this one.
    let responder = Responder4::new(config, Arc::clone(store), leasequery_identifier(config));
    let router = Router4::for_config(config);
    let router_counters = Arc::clone(router.shared_counters());
    let responder_counters = Arc::clone(responder.counters());
    let live = Arc::new(Swap::new(Live4 { router, responder }));
    let threads = udp_shell::receive_threads(raw.receive_threads);
    for socket in sockets.iter() {
        let (socket, buffer_kib) = (socket.describe(), socket.receive_buffer() / 1024);
        tracing::info!(
            %socket,
            threads,
            buffer_kib,
            "dhcp4: listening on {socket} ({threads} receive thread(s), receive buffer \
             {buffer_kib} KiB)"
        );
    }
    let receivers = Receivers::start(
        "dhcp4",
        &sockets,
        Arc::clone(&counters),
        udp::DEFAULT_BUFFER,
        threads,
        |_| Handler4 {
            live: Arc::clone(&live),
            current: None,
            engine: Arc::clone(&engine),
            sender: Arc::clone(&sender),
            acks: Arc::clone(&acks),
            clock,
            pending: Vec::with_capacity(udp::BATCH),
            options: PrlCaches::default(),
            now: None,
            spin: udp_shell::SpinRule::default(),
        },
    )
    .map_err(|e| ServeError::Thread(e.to_string()))?;
    Ok(Some(Udp4 {
        receivers,
        engine,
        live,
        router_counters,
        responder_counters,
        sockets: counters,
        engine_counters,
    }))
}

/// Leasequery answers carry the identifier of `[leasequery4]`, which defaults to `[dhcp4]`'s.
fn leasequery_identifier(config: &Config) -> std::net::Ipv4Addr {
    match (&config.leasequery4, &config.dhcp4) {
        (Some(l), _) => l.server_identifier,
        (None, Some(d)) => d.server_identifier,
        (None, None) => std::net::Ipv4Addr::UNSPECIFIED,
    }
}

/// What a reload replaces for the receive threads: the router (legacy requesters) and the
/// leasequery responder (requesters, their settings, subnets, options).
struct Live4 {
    router: Router4,
    responder: Responder4,
}

/// The running responder's tally (a reload's responder carries it on).
impl crate::metrics::Requesters for Swap<Live4> {
    fn requesters(
        &self,
    ) -> Vec<(
        Option<std::net::IpAddr>,
        crate::leasequery4::tally::RequesterCounts,
    )> {
        self.load().responder.requesters()
    }
}

/// What each receive thread runs.
struct Handler4 {
    live: Arc<Swap<Live4>>,
    /// `live` as taken for the current batch.
    current: Option<Arc<Live4>>,
    engine: Arc<Mutex<Engine4>>,
    sender: Arc<Sender>,
    /// Where DHCPACKs go once durable.
    acks: Arc<GroupOutbox>,
    clock: Clock,
    /// Replies computed and not sent yet.
    pending: Vec<Outgoing>,
    /// The client options of leasequery answers, per Parameter Request List.
    options: PrlCaches,
    /// The clocks as read for the first datagram of the current batch: the datagrams of one
    /// batch were queued together and are handled within microseconds, which neither the
    /// seconds of lease arithmetic nor the milliseconds of rate limits can tell apart.
    now: Option<Now>,
    /// Whether to spin after the current batch.
    spin: udp_shell::SpinRule,
}

impl udp::Handler for Handler4 {
    fn datagram(&mut self, rx: Received<'_>) {
        let now = *self.now.get_or_insert_with(|| self.clock.now());
        let live = self.current.get_or_insert_with(|| self.live.load());
        match live.router.route(&rx) {
            Route4::Dhcp(message) => {
                self.spin.engine();
                let (_, output) = self
                    .engine
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .handle_at(&message, now);
                udp_shell::dispatch(output, &mut self.pending, &self.acks);
            }
            Route4::Leasequery(message) => {
                self.pending.extend(live.responder.handle_cached(
                    &message,
                    now.wall,
                    now.ms,
                    &mut self.options,
                ));
            }
            Route4::Discard(_) => {}
        }
        // Replies leave in groups of FLUSH_AT rather than at the end of a long batch: the
        // requestors (or relays) start on the first answers while the rest are worked out.
        if self.pending.len() >= FLUSH_AT {
            self.sender.send_batch(&mut self.pending);
        }
    }

    fn batch_done(&mut self) {
        self.now = None;
        self.current = None;
        self.sender.send_batch(&mut self.pending);
    }

    /// Only after batches of leasequery answers ([`udp_shell::SpinRule`]).
    fn worth_spinning(&mut self) -> bool {
        self.spin.worth_spinning()
    }
}
