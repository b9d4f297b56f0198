//! The DHCPv6 UDP service: the `[dhcp6]` sockets (listen addresses for relayed traffic,
//! interfaces joining ff02::1:2 and ff05::1:3 for direct clients), receive threads that route
//! each datagram once ([`Router6`]) to the DHCPv6 engine (one state machine under one lock) and
//! the sending of what it returns: at once, outside every lock, or once durable through the
//! [`GroupOutbox`]. Leasequery (RFC 5007) goes to [`Responder6`], outside the engine's lock,
//! and its reply is sent with the others, outside every lock (as in `udp4`).

use super::udp as udp_shell;
use super::{GroupOutbox, ServeError};
use crate::config::{Config, ServerDuid};
use crate::dhcp6::duid::{self, Source};
use crate::dhcp6::quarantine::{self, Quarantine6};
use crate::dhcp6::Engine6;
use crate::leasequery6::Responder6;
use crate::router6::{Route6, Router6};
use crate::stats::Report;
use crate::swap::Swap;
use lessor_net::udp::{self, Family, Receivers, Sender, Sockets, V6Options};
use lessor_net::{Clock, Now, Outgoing, Received, Transmit};
use lessor_store::{LoadReport, Store};
use lessor_wire::v6::Duid;
use std::net::{IpAddr, Ipv6Addr};
use std::sync::{Arc, Mutex};

/// All_DHCP_Relay_Agents_and_Servers (link scope) and All_DHCP_Servers (site scope), RFC 8415
/// §7.1: what an interface socket joins.
pub const GROUPS: [Ipv6Addr; 2] = [
    Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 1, 2),
    Ipv6Addr::new(0xff05, 0, 0, 0, 0, 0, 1, 3),
];

/// Most replies held back for one system call (as for DHCPv4).
const FLUSH_AT: usize = 4;

/// The running DHCPv6 UDP service.
pub(super) struct Udp6 {
    receivers: Receivers,
    engine: Arc<Mutex<Engine6>>,
    router: Arc<Router6>,
    sockets: Arc<udp::Counters>,
    /// The engine's counters, shared with its store completions: read without its lock.
    engine_counters: Arc<crate::dhcp6::Counters>,
    /// The leasequery responder, replaced whole by a reload.
    responder: Arc<Swap<Responder6>>,
    /// Its counters, which every reload's responder shares.
    responder_counters: Arc<crate::leasequery6::Counters>,
}

impl Udp6 {
    /// The engine's timer (lease expiry, lapsed advertisements) and what it refused since it
    /// last said (at most one line every few seconds).
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
                "store: quarantine of {prefix} ended: its addresses and prefixes are given again"
            );
        }
        if let Some(report) = refused {
            super::say_drops("", &report);
        }
        if let Some(report) = self.responder.load().take_drop_report(now.ms) {
            super::say_drops("", &report);
        }
    }

    /// A receive thread that ended while the service runs, as a line for the log.
    pub(super) fn lost_receiver(&self) -> Option<String> {
        self.receivers.first_failure()
    }

    /// What the service counts, by part.
    pub(super) fn reports(&self) -> Vec<(&'static str, &dyn Report)> {
        vec![
            ("udp6", &*self.sockets as &dyn Report),
            ("router6", self.router.counters() as &dyn Report),
            ("dhcp6", &*self.engine_counters as &dyn Report),
            ("leasequery6", &*self.responder_counters as &dyn Report),
        ]
    }

    /// What a reload changes of the running service.
    pub(super) fn handle(&self) -> Handle6 {
        Handle6 {
            engine: Arc::clone(&self.engine),
            responder: Arc::clone(&self.responder),
        }
    }

    /// The engine, for the control API's lease-delete.
    pub(super) fn engine(&self) -> Arc<Mutex<Engine6>> {
        Arc::clone(&self.engine)
    }

    /// [`Self::reports`] for the control API's statistics, which outlive this borrow.
    pub(super) fn shared_reports(&self) -> Vec<(&'static str, crate::control::ReportFn)> {
        let sockets = Arc::clone(&self.sockets);
        let router = Arc::clone(&self.router);
        let engine = Arc::clone(&self.engine_counters);
        let responder = Arc::clone(&self.responder_counters);
        vec![
            (
                "udp6",
                Box::new(move |out: &mut dyn FnMut(&str, u64)| sockets.report(out)),
            ),
            (
                "router6",
                Box::new(move |out: &mut dyn FnMut(&str, u64)| router.counters().report(out)),
            ),
            (
                "dhcp6",
                Box::new(move |out: &mut dyn FnMut(&str, u64)| engine.report(out)),
            ),
            (
                "leasequery6",
                Box::new(move |out: &mut dyn FnMut(&str, u64)| responder.report(out)),
            ),
        ]
    }

    /// The leasequery responder's per-requester tally, for the metrics.
    pub(super) fn requesters(&self) -> (&'static str, &dyn crate::metrics::Requesters) {
        ("leasequery6", &*self.responder)
    }

    /// Stops the receive threads; returns how many panicked.
    pub(super) fn shutdown(self) -> usize {
        self.receivers.shutdown()
    }
}

/// A running DHCPv6 service as a reload sees it: its engine and what the receive threads
/// take per batch.
#[derive(Clone)]
pub(super) struct Handle6 {
    engine: Arc<Mutex<Engine6>>,
    responder: Arc<Swap<Responder6>>,
}

impl Handle6 {
    /// Takes a reloaded `config` (its `[dhcp6]` sockets and server DUID unchanged: checked
    /// before): the engine under its lock, then the responder, which the receive threads take
    /// at their next batch.
    pub(super) fn reconfigure(&self, config: &Config) {
        if let Some(d) = &config.dhcp6 {
            self.engine
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .reconfigure(d);
        }
        let next = self.responder.load().reconfigured(config);
        self.responder.store(next);
    }
}

/// Opens the `[dhcp6]` sockets; `None` without `[dhcp6]`.
pub(super) fn open(config: &Config) -> Result<Option<Sockets>, ServeError> {
    let Some(d) = config.dhcp6.as_ref() else {
        return Ok(None);
    };
    let listen: Vec<IpAddr> = d.listen.iter().copied().map(IpAddr::V6).collect();
    let v6 = V6Options {
        groups: GROUPS.to_vec(),
        ..V6Options::default()
    };
    udp_shell::open(Family::V6, &listen, &d.interfaces, d.port, &v6).map(Some)
}

/// The host's interfaces and their link-layer addresses as /sys/class/net tells them.
fn host_link_addresses() -> Vec<(String, String)> {
    let Ok(dir) = std::fs::read_dir("/sys/class/net") else {
        return Vec::new();
    };
    dir.flatten()
        .filter_map(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            let address = std::fs::read_to_string(e.path().join("address")).ok()?;
            Some((name, address))
        })
        .collect()
}

/// 16 octets from the process's randomly keyed hasher (seeded by the OS).
fn random16() -> [u8; 16] {
    use std::hash::BuildHasher;
    let s = std::collections::hash_map::RandomState::new();
    let mut out = [0u8; 16];
    out[..8].copy_from_slice(&s.hash_one(1u8).to_be_bytes());
    out[8..].copy_from_slice(&s.hash_one(2u8).to_be_bytes());
    out
}

/// The server DUID for `[dhcp6]` ([`crate::dhcp6::duid`]): configured, kept in the store, or
/// generated now and kept there before anything is served (a DUID that changed at each start
/// would make every client's next RENEW go to "another server").
pub(super) fn server_duid(
    config: &Config,
    store: &Store,
    report: &LoadReport,
) -> Result<Option<Vec<u8>>, ServeError> {
    let Some(d) = config.dhcp6.as_ref() else {
        return Ok(None);
    };
    let kept = report.meta.get(duid::META_KEY).map(String::as_str);
    let mac = duid::pick_mac(&host_link_addresses());
    let (value, source) = duid::resolve(
        &d.server_duid,
        kept,
        mac,
        lessor_net::clock::wall_now(),
        random16(),
    );
    if kept.is_some() && source == Source::Generated {
        tracing::warn!(
            "store: the kept server DUID ({}) does not decode; a new one is generated",
            duid::META_KEY
        );
    }
    if source == Source::Generated {
        store
            .set_meta(duid::META_KEY, &duid::to_hex(&value))
            .wait()
            .map_err(|e| ServeError::Store(format!("cannot keep the server DUID: {e}")))?;
    }
    let shown = Duid::parse(&value).map_or_else(|_| duid::to_hex(&value), |d| d.to_string());
    let how = match (source, &d.server_duid) {
        (Source::Configured, _) | (_, ServerDuid::Configured(_)) => "configured",
        (Source::Kept, _) => "kept in the store",
        (Source::Generated, _) => "generated, kept in the store",
    };
    tracing::info!(duid = %shown, source = how, "dhcp6: server DUID {shown} ({how})");
    Ok(Some(value))
}

/// The DHCPv6 quarantine after unreadable `lease6` rows ([`crate::dhcp6::quarantine`]):
/// planned, said, and kept in the store's meta table for a restart.
pub(super) fn quarantine(config: &Config, store: &Store, report: &LoadReport) -> Quarantine6 {
    let Some(d) = &config.dhcp6 else {
        return Quarantine6::default();
    };
    let kept = report.meta.get(quarantine::META_KEY).map(String::as_str);
    let q = quarantine::plan(
        &d.links,
        &report.skipped,
        kept,
        &store.v6().snapshot(),
        lessor_net::clock::wall_now(),
    );
    let value = q.to_meta(&d.links);
    if q.any() {
        let links: Vec<String> = d
            .links
            .iter()
            .zip(&q.until)
            .filter_map(|(l, u)| u.map(|u| format!("{} until {}", l.prefix, super::watch::utc(u))))
            .collect();
        let why = match q.unreadable {
            0 => "lease6 rows were unreadable at an earlier start".to_string(),
            n => format!("{n} lease6 row(s) unreadable"),
        };
        let links = links.join(", ");
        tracing::warn!(
            unreadable = q.unreadable,
            %links,
            "store: {why}; quarantining {links}: addresses and prefixes whose bindings may have \
             been lost are not given"
        );
    }
    if kept.unwrap_or_default() != value {
        if let Err(e) = store.set_meta(quarantine::META_KEY, &value).wait() {
            tracing::error!(
                error = %e,
                "store: cannot keep the DHCPv6 quarantine for a restart: {e}"
            );
        }
    }
    q
}

/// Starts the threads of the `[dhcp6]` sockets [`open`] returned; `None` without them.
pub(super) fn start(
    config: &Config,
    (sockets, server_duid): (Option<Sockets>, Option<Vec<u8>>),
    quarantine: &Quarantine6,
    store: &Arc<Store>,
    clock: Clock,
) -> Result<Option<Udp6>, ServeError> {
    let (Some(d), Some(sockets), Some(server_duid)) = (config.dhcp6.as_ref(), sockets, server_duid)
    else {
        return Ok(None);
    };
    if d.segment_replies {
        sockets.segment_replies();
    }
    let counters = Arc::new(udp::Counters::default());
    let sender = Arc::new(Sender::new(
        &sockets,
        d.listen.first().copied().map(IpAddr::V6),
        Arc::clone(&counters),
    ));
    // REPLYs that commit leave from the store's writer once durable: those of one commit
    // together.
    let durable = GroupOutbox::attach(Arc::clone(&sender) as Arc<dyn Transmit>, store);
    let responder = Responder6::new(config, Arc::clone(store), server_duid.clone());
    let responder_counters = Arc::clone(responder.counters());
    let responder = Arc::new(Swap::new(responder));
    let mut engine = Engine6::new(d, Arc::clone(store), sockets.interfaces(), server_duid);
    engine.start_allocation_at(crate::dhcp4::free::allocation_seed(store));
    engine.quarantine(quarantine);
    let engine_counters = Arc::clone(engine.counters());
    let engine = Arc::new(Mutex::new(engine));
    let router = Arc::new(Router6::new());
    let threads = udp_shell::receive_threads(d.receive_threads);
    for socket in sockets.iter() {
        let (socket, buffer_kib) = (socket.describe(), socket.receive_buffer() / 1024);
        tracing::info!(
            %socket,
            threads,
            buffer_kib,
            "dhcp6: listening on {socket} ({threads} receive thread(s), receive buffer \
             {buffer_kib} KiB)"
        );
    }
    let receivers = Receivers::start(
        "dhcp6",
        &sockets,
        Arc::clone(&counters),
        udp::DEFAULT_BUFFER,
        threads,
        |_| Handler6 {
            router: Arc::clone(&router),
            engine: Arc::clone(&engine),
            sender: Arc::clone(&sender),
            durable: Arc::clone(&durable),
            responder: Arc::clone(&responder),
            current: None,
            clock,
            pending: Vec::with_capacity(udp::BATCH),
            now: None,
            spin: udp_shell::SpinRule::default(),
        },
    )
    .map_err(|e| ServeError::Thread(e.to_string()))?;
    Ok(Some(Udp6 {
        receivers,
        engine,
        router,
        sockets: counters,
        engine_counters,
        responder,
        responder_counters,
    }))
}

/// What each receive thread runs.
struct Handler6 {
    router: Arc<Router6>,
    engine: Arc<Mutex<Engine6>>,
    sender: Arc<Sender>,
    /// Where REPLYs go once durable.
    durable: Arc<GroupOutbox>,
    responder: Arc<Swap<Responder6>>,
    /// `responder` as taken for the current batch.
    current: Option<Arc<Responder6>>,
    clock: Clock,
    /// Replies computed and not sent yet.
    pending: Vec<Outgoing>,
    /// The clocks as read for the first datagram of the current batch.
    now: Option<Now>,
    /// Whether to spin after the current batch.
    spin: udp_shell::SpinRule,
}

impl udp::Handler for Handler6 {
    fn datagram(&mut self, rx: Received<'_>) {
        let now = *self.now.get_or_insert_with(|| self.clock.now());
        // Parsed here, outside the engine's lock.
        match self.router.route(&rx) {
            Route6::Dhcp(message) => {
                self.spin.engine();
                let (_, output) = self
                    .engine
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .handle_at(&message, now);
                udp_shell::dispatch(output, &mut self.pending, &self.durable);
            }
            // Not under the engine's lock: the responder reads a snapshot and locks only its
            // rate limiter, released before it returns; the reply is sent with the others.
            Route6::Leasequery(message) => {
                let responder = self.current.get_or_insert_with(|| self.responder.load());
                if let Some(reply) = responder.handle(&message, now.wall, now.ms) {
                    self.pending.push(reply);
                }
            }
            Route6::Discard(_) => {}
        }
        if self.pending.len() >= FLUSH_AT {
            self.sender.send_batch(&mut self.pending);
        }
    }

    fn batch_done(&mut self) {
        self.now = None;
        self.current = None;
        self.sender.send_batch(&mut self.pending);
    }

    /// Only after batches of leasequery answers, as for DHCPv4 ([`udp_shell::SpinRule`]):
    /// leasequery6 goes through this handler too.
    fn worth_spinning(&mut self) -> bool {
        self.spin.worth_spinning()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use lessor_net::udp::Handler as _;
    use lessor_net::udp::ServerSocket;
    use lessor_wire::v6::{ClientServerMessage, DhcpOption, MessageType, QueryType, Repr};
    use std::net::SocketAddr;

    const CONFIG: &str = r#"
[server]
store = "unused.db"

[dhcp6]
server-duid = "00:02:00:00:ab:11:01:02:03:04"
listen = ["::1"]

[[dhcp6.link]]
prefix = "2001:db8:1::/64"
pools = ["2001:db8:1::1000-2001:db8:1::1fff"]

[leasequery6]
requesters = ["::1/128"]
"#;

    fn message(msg_type: MessageType, mut options: Vec<DhcpOption>) -> Vec<u8> {
        let client = Duid::parse(&[0, 3, 0, 1, 2, 0, 0, 0, 0, 1]).unwrap();
        options.insert(0, DhcpOption::ClientId(client));
        Repr::ClientServer(ClientServerMessage {
            msg_type,
            transaction_id: 7,
            options,
        })
        .to_vec()
    }

    /// A LEASEQUERY by address: answered from a snapshot, nothing written.
    fn leasequery() -> Vec<u8> {
        message(
            MessageType::Leasequery,
            vec![DhcpOption::LqQuery {
                query_type: QueryType::ByAddress,
                link_address: Ipv6Addr::UNSPECIFIED,
                options: vec![DhcpOption::IaAddr {
                    address: "2001:db8:1::1000".parse().unwrap(),
                    preferred_lifetime: 0,
                    valid_lifetime: 0,
                    options: Vec::new(),
                }],
            }],
        )
    }

    #[test]
    fn a_batch_of_leasequeries_only_spins_and_one_with_a_dhcp_message_does_not() {
        let config = crate::config::parse(CONFIG, "t.toml").expect("test config");
        let d = config.dhcp6.as_ref().unwrap();
        let store = Arc::new(Store::in_memory());
        let socket = ServerSocket::open_listen(IpAddr::V6(Ipv6Addr::LOCALHOST), 0).unwrap();
        let sockets = Sockets::from_sockets(vec![socket]);
        let counters = Arc::new(udp::Counters::default());
        let sender = Arc::new(Sender::new(&sockets, None, counters));
        let duid = vec![0, 2, 0, 0, 0xab, 0x11, 1, 2, 3, 4];
        let mut handler = Handler6 {
            router: Arc::new(Router6::new()),
            engine: Arc::new(Mutex::new(Engine6::new(
                d,
                Arc::clone(&store),
                sockets.interfaces(),
                duid.clone(),
            ))),
            sender: Arc::clone(&sender),
            durable: GroupOutbox::attach(Arc::clone(&sender) as Arc<dyn Transmit>, &store),
            responder: Arc::new(Swap::new(Responder6::new(
                &config,
                Arc::clone(&store),
                duid,
            ))),
            current: None,
            clock: Clock::new(),
            pending: Vec::new(),
            now: None,
            spin: udp_shell::SpinRule::default(),
        };
        // The requester: a socket of this test, so that the replies go somewhere that exists.
        let requester = std::net::UdpSocket::bind("[::1]:0").unwrap();
        let source: SocketAddr = requester.local_addr().unwrap();
        let mut batch = |payloads: &[Vec<u8>]| {
            for p in payloads {
                handler.datagram(Received {
                    payload: p,
                    source,
                    destination: IpAddr::V6(Ipv6Addr::LOCALHOST),
                    interface_index: None,
                });
            }
            handler.batch_done();
            handler.worth_spinning()
        };
        assert!(batch(&[leasequery(), leasequery()]), "leasequeries only");
        let solicit = message(MessageType::Solicit, Vec::new());
        assert!(!batch(&[leasequery(), solicit]), "with a SOLICIT");
        assert!(batch(&[leasequery()]), "each batch decides afresh");
        assert_eq!(handler.router.counters().routed(), 5);
    }
}
