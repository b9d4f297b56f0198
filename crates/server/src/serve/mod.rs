//! `lessor serve`: the I/O shell. It opens the store, then for each family and protocol the
//! config names the sockets (`lessor-net`) and the sans-IO services behind them, runs until told
//! to stop, then stops cleanly (receivers first, then the store's last commits). It owns the
//! threads, the clock and the outbox; the services own every protocol decision.
//!
//! Where things plug in:
//! - [`udp4`]: the DHCPv4 sockets, each datagram through [`crate::router4::Router4`] to the
//!   DHCP engine or the leasequery responder.
//! - [`udp6`]: the `[dhcp6]` sockets the same way, each datagram through
//!   [`crate::router6::Router6`] to the DHCPv6 engine or the DHCPv6 leasequery responder.
//! - [`bulk`]: the TCP listeners of bulk leasequery (`lessor_net::tcp` with
//!   [`crate::bulk4::service`], [`crate::bulk6::service`]); active leasequery is a further service on the same
//!   listener type.
//! - [`outbox`]: DHCPACKs that leave once durable, a whole group commit at a time.
//! - [`metrics`]: the `[metrics]` HTTP listener, serving [`crate::metrics`]'s text.
//! - [`http`]: the bounded HTTP/1.x server under the metrics listener and the control API.
//! - the timer below: the engines' expiry and offer timeouts, counters in the log, and the
//!   store's health ([`watch`]: failures logged, probes while failing, a dead writer stops the
//!   server).

mod bulk;
mod control;
mod http;
mod metrics;
mod outbox;
mod privileges;
mod reload;
mod report;
pub mod store;
mod udp;
mod udp4;
mod udp6;
pub mod watch;

pub use outbox::GroupOutbox;
pub use reload::{ReloadError, ReloadSummary, Reloader};

use crate::config::Config;
use crate::dhcp4::quarantine::{self, Quarantine};
use crate::stats::{self, Report};
use lessor_net::udp::Sockets;
use lessor_net::{process, Clock};
use lessor_store::{LoadReport, Store};
use std::fmt;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// How often the engines' timers run (lease expiry, forgotten offers), and how soon a stop
/// request is noticed.
pub const TICK: Duration = Duration::from_millis(200);

/// Why the server could not start or stopped with an error.
#[derive(Debug)]
pub enum ServeError {
    Store(String),
    Sockets(String),
    Thread(String),
    /// Another process has what this one needs alone: the store, a DHCP port. The message says
    /// which process.
    Refused(String),
    /// The switch to `[server] user` could not be made.
    Privileges(String),
}

impl fmt::Display for ServeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ServeError::Store(m) => write!(f, "store: {m}"),
            ServeError::Sockets(m) => write!(f, "sockets: {m}"),
            ServeError::Thread(m) => write!(f, "threads: {m}"),
            ServeError::Refused(m) => write!(f, "{m}"),
            ServeError::Privileges(m) => write!(f, "privileges: {m}"),
        }
    }
}

impl std::error::Error for ServeError {}

/// Runs what `config` names until `stop` is set, logging (`tracing`) one event per thing worth
/// an operator's attention (start, skipped store rows, counters, stop): docs/operator-guide.md,
/// "Logs".
///
/// The order matters (docs/operator-guide.md, "Running as a user"): the store's lock and file
/// and the DHCP sockets are taken as started (root), then the process switches to
/// `[server] user`, and only then starts any thread (the store's writer, the receivers), so
/// every thread runs as the user with the same three capabilities.
pub fn run(config: &Config, stop: &AtomicBool) -> Result<(), ServeError> {
    run_with(config, &Reloader::without_file(config), stop, &|_| {})
}

/// What [`run_with`] tells a supervisor (systemd's sd_notify in `lessor serve`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Lifecycle {
    /// The store is loaded and every socket and listener is open: the server answers.
    /// `services` are the ones started (`dhcp4`, `dhcp6`, `bulk4`, `bulk6`).
    Ready {
        bindings4: usize,
        bindings6: usize,
        services: Vec<&'static str>,
    },
    /// The stop has begun (a signal, or a failure); the store's last commits follow.
    Stopping,
}

/// [`run`], reloading the configuration through `reloader` (made with the same config: see
/// [`Reloader::load`]) when it is asked to, by SIGHUP ([`Reloader::signal_flag`]) or by a
/// caller of [`Reloader::reload`], and telling `lifecycle` when the server is ready and when it
/// begins to stop.
pub fn run_with(
    config: &Config,
    reloader: &Reloader,
    stop: &AtomicBool,
    lifecycle: &dyn Fn(Lifecycle),
) -> Result<(), ServeError> {
    // The store holds every subscriber's MAC, host name and option 82: what the server
    // creates is its own only.
    process::restrict_umask();
    let account = privileges::account(config)?;
    let Some(opened) = store::open(config, stop)? else {
        return Ok(());
    };
    // Shown with a URL's password masked.
    let shown = &config.store.location;
    let started = std::time::SystemTime::now();
    let subnets4 = config.dhcp4.as_ref().map_or(0, |d| d.subnets.len());
    let links6 = config.dhcp6.as_ref().map_or(0, |d| d.links.len());
    tracing::debug!(
        store = %shown,
        subnets4,
        links6,
        "store {shown}: opened{}; serving {subnets4} DHCPv4 subnet(s), {links6} DHCPv6 link(s)",
        if opened.file.is_some() { " and locked" } else { "" }
    );
    let sockets4 = udp4::open(config)?;
    let sockets6 = udp6::open(config)?;
    let control = control::open(config)?;
    let metrics = metrics::bind(config)?;
    if let Some(account) = &account {
        control.give_to(account)?;
        let file = opened
            .file
            .as_ref()
            .map(|(p, c)| (p.as_path(), c.as_slice()));
        privileges::switch(account, file)?;
    }
    let Some((store, report)) = store::load(config, opened.backend, stop)? else {
        return Ok(());
    };
    tracing::info!(
        store = %shown,
        bindings = report.v4.loaded,
        family = "dhcp4",
        "store {shown}: {} binding(s) loaded",
        report.v4.loaded
    );
    if config.dhcp6.is_some() || report.v6.loaded > 0 {
        tracing::info!(
            store = %shown,
            bindings = report.v6.loaded,
            family = "dhcp6",
            "store {shown}: {} DHCPv6 binding(s) loaded",
            report.v6.loaded
        );
    }
    for row in &report.skipped {
        tracing::warn!(store = %shown, row = %row, "store {shown}: skipped {row}");
    }
    let quarantine = quarantine(config, &store, &report);
    let quarantine6 = udp6::quarantine(config, &store, &report);
    let duid6 = match udp6::server_duid(config, &store, &report) {
        Ok(d) => d,
        Err(e) => {
            let _ = store.close();
            return Err(e);
        }
    };
    let store = Arc::new(store);

    let sockets = Opened {
        v4: sockets4,
        v6: sockets6,
        duid6,
        quarantine6,
        loaded: (report.v4.loaded, report.v6.loaded),
        control,
        metrics,
        started,
    };
    let result = serve(
        config,
        &store,
        sockets,
        &quarantine,
        (stop, reloader),
        lifecycle,
    );
    reloader.detach();
    let closed = close_store(store, SYNC_TIMEOUT);
    tracing::info!("stopped");
    result.and(closed)
}

/// How long the store may take at shutdown to make durable what was submitted before.
pub const SYNC_TIMEOUT: Duration = Duration::from_secs(10);

/// Waits (at most `timeout`) until everything submitted is durable, then closes the store. A
/// writer that does not confirm in time (a disk that hangs) is left behind rather than waited
/// for: the process can end, and the log says what may not have been written.
fn close_store(store: Arc<Store>, timeout: Duration) -> Result<(), ServeError> {
    let stats = store.writer_stats();
    match store.sync().wait_timeout(timeout) {
        Some(Ok(())) => {}
        Some(Err(e)) => {
            tracing::error!(error = %e, "store: the last changes were not written: {e}")
        }
        None => {
            // Closing or dropping the store would wait for the writer: leave it running.
            std::mem::forget(store);
            return Err(ServeError::Store(format!(
                "the writer did not confirm within {timeout:?} at shutdown ({} commit(s), {} \
                 change(s) written): changes submitted after the last commit may be lost",
                stats.commits(),
                stats.changes()
            )));
        }
    }
    match Arc::try_unwrap(store) {
        Ok(store) => store.close().map_err(|e| ServeError::Store(e.to_string())),
        Err(_) => {
            tracing::warn!("store still shared at shutdown; its writer flushed what was queued");
            Ok(())
        }
    }
}

/// The quarantine after unreadable rows ([`crate::dhcp4::quarantine`]): planned, said, and
/// kept in the store's meta table for a restart.
fn quarantine(config: &Config, store: &Store, report: &LoadReport) -> Quarantine {
    let Some(dhcp4) = &config.dhcp4 else {
        return Quarantine::default();
    };
    let kept = report.meta.get(quarantine::META_KEY).map(String::as_str);
    let q = quarantine::plan(
        &dhcp4.subnets,
        &report.skipped,
        kept,
        &store.v4().snapshot(),
        lessor_net::clock::wall_now(),
    );
    let value = q.to_meta(&dhcp4.subnets);
    if q.any() {
        let subnets: Vec<String> = dhcp4
            .subnets
            .iter()
            .zip(&q.until)
            .filter_map(|(s, u)| u.map(|u| format!("{} until {}", s.prefix, watch::utc(u))))
            .collect();
        let why = match q.unreadable {
            0 => "rows were unreadable at an earlier start".to_string(),
            n => format!("{n} row(s) unreadable"),
        };
        let subnets = subnets.join(", ");
        tracing::warn!(
            unreadable = q.unreadable,
            %subnets,
            "store: {why}; quarantining {subnets}: addresses whose bindings may have been lost \
             are not offered"
        );
    }
    if kept.unwrap_or_default() != value {
        if let Err(e) = store.set_meta(quarantine::META_KEY, &value).wait() {
            tracing::error!(error = %e, "store: cannot keep the quarantine for a restart: {e}");
        }
    }
    q
}

/// The sockets opened before the switch to `[server] user`, and the DHCPv6 server DUID.
struct Opened {
    v4: Option<Sockets>,
    v6: Option<Sockets>,
    duid6: Option<Vec<u8>>,
    quarantine6: crate::dhcp6::Quarantine6,
    /// The DHCPv4 and DHCPv6 bindings the store loaded (for [`Lifecycle::Ready`]).
    loaded: (usize, usize),
    /// The control API's listeners ([`control`]).
    control: control::Listeners,
    /// The `[metrics]` listener, and when the server started.
    metrics: Option<std::net::TcpListener>,
    started: std::time::SystemTime,
}

/// Starts every service `config` names, runs the timer until `stop`, then stops them.
fn serve(
    config: &Config,
    store: &Arc<Store>,
    sockets: Opened,
    quarantine: &Quarantine,
    (stop, reloader): (&AtomicBool, &Reloader),
    lifecycle: &dyn Fn(Lifecycle),
) -> Result<(), ServeError> {
    let clock = Clock::new();
    let duid6 = sockets.duid6.clone();
    let udp4 = udp4::start(config, sockets.v4, store, quarantine, clock)?;
    let udp6 = match udp6::start(
        config,
        (sockets.v6, sockets.duid6),
        &sockets.quarantine6,
        store,
        clock,
    ) {
        Ok(udp6) => udp6,
        Err(e) => {
            if let Some(udp4) = udp4 {
                udp4.shutdown();
            }
            return Err(e);
        }
    };
    let (bulk4, bulk4_reload) = match bulk::start4(config, store) {
        Ok(bulk) => bulk.unzip(),
        Err(e) => {
            if let Some(udp4) = udp4 {
                udp4.shutdown();
            }
            if let Some(udp6) = udp6 {
                udp6.shutdown();
            }
            return Err(e);
        }
    };
    let (bulk6, bulk6_reload) = match bulk::start6(config, duid6.as_deref(), store) {
        Ok(bulk) => bulk.unzip(),
        Err(e) => {
            if let Some(bulk4) = bulk4 {
                bulk4.shutdown();
            }
            if let Some(udp4) = udp4 {
                udp4.shutdown();
            }
            if let Some(udp6) = udp6 {
                udp6.shutdown();
            }
            return Err(e);
        }
    };
    if udp4.is_none() && udp6.is_none() && bulk4.is_none() && bulk6.is_none() {
        tracing::warn!(
            "nothing to serve: no [dhcp4] or [dhcp6] sockets and no bulk leasequery listener"
        );
    }
    let mut reports: Vec<(&str, &dyn Report)> = Vec::new();
    if let Some(udp4) = &udp4 {
        reports.extend(udp4.reports());
    }
    if let Some(udp6) = &udp6 {
        reports.extend(udp6.reports());
    }
    if let Some(bulk4) = &bulk4 {
        reports.push(("bulk4", &**bulk4.counters()));
    }
    if let Some(bulk6) = &bulk6 {
        reports.push(("bulk6", &**bulk6.counters()));
    }
    let shell = Arc::new(control::StopShell::new(reloader.clone()));
    let asked_to_stop = Arc::clone(&shell.stop);
    let mut api = crate::control::Control::new(
        config,
        Arc::clone(store),
        udp4.as_ref().map(udp4::Udp4::engine),
        udp6.as_ref().map(udp6::Udp6::engine),
        shell,
    );
    for (name, report) in udp4.iter().flat_map(udp4::Udp4::shared_reports) {
        api.add_report(name, report);
    }
    for (name, report) in udp6.iter().flat_map(udp6::Udp6::shared_reports) {
        api.add_report(name, report);
    }
    if let Some(bulk4) = &bulk4 {
        let c = Arc::clone(bulk4.counters());
        api.add_report(
            "bulk4",
            Box::new(move |out: &mut dyn FnMut(&str, u64)| c.report(out)),
        );
    }
    if let Some(bulk6) = &bulk6 {
        let c = Arc::clone(bulk6.counters());
        api.add_report(
            "bulk6",
            Box::new(move |out: &mut dyn FnMut(&str, u64)| c.report(out)),
        );
    }
    for line in sockets.control.describe() {
        tracing::info!("{line}");
    }
    let api = Arc::new(api);
    reloader.attach(reload::Targets {
        udp4: udp4.as_ref().map(udp4::Udp4::handle),
        udp6: udp6.as_ref().map(udp6::Udp6::handle),
        bulk4: bulk4_reload,
        bulk6: bulk6_reload,
        duid6,
        control: Some(Arc::clone(&api)),
    });
    let mut control_failed = None;
    // A control API that cannot start stops the server as a lost thread does.
    let api = control::start(sockets.control, api, clock)
        .map_err(|e| control_failed = Some(e))
        .ok();
    let started = [
        ("dhcp4", udp4.is_some()),
        ("dhcp6", udp6.is_some()),
        ("bulk4", bulk4.is_some()),
        ("bulk6", bulk6.is_some()),
    ];
    lifecycle(Lifecycle::Ready {
        bindings4: sockets.loaded.0,
        bindings6: sockets.loaded.1,
        services: started.iter().filter(|s| s.1).map(|s| s.0).collect(),
    });
    let mut requesters = Vec::new();
    if let Some(udp4) = &udp4 {
        requesters.push(udp4.requesters());
    }
    if let Some(udp6) = &udp6 {
        requesters.push(udp6.requesters());
    }
    let running_config = || reloader.current();
    let sources = crate::metrics::Sources {
        reports: reports.clone(),
        requesters,
        store: Some(store),
        config: &running_config,
        started: sockets.started,
    };
    let metrics_done = AtomicBool::new(false);
    let mut failed = std::thread::scope(|scope| {
        let listener = sockets.metrics.as_ref().zip(config.file.metrics.as_ref());
        if let Some((listener, m)) = listener {
            let render = || crate::metrics::render(&sources);
            let (done, path) = (&metrics_done, m.path.as_str());
            let spawned = std::thread::Builder::new()
                .name("lessor-metrics".into())
                .spawn_scoped(scope, move || metrics::serve(listener, path, done, &render));
            match spawned {
                Ok(_) => tracing::info!(
                    listen = %m.listen,
                    path,
                    "metrics: listening on http://{}{path}",
                    m.listen
                ),
                Err(e) => {
                    tracing::error!(error = %e, "metrics: cannot start its thread: {e}")
                }
            }
        }
        let mut last_stats = Instant::now();
        let mut last_panics = Instant::now();
        let mut failed = control_failed;
        let mut watch = watch::StoreWatch::default();
        while failed.is_none()
            && !stop.load(Ordering::Relaxed)
            && !asked_to_stop.load(Ordering::Relaxed)
        {
            std::thread::sleep(TICK);
            let now = clock.now();
            let verdict = watch.observe(&store.health(), now);
            for (level, line) in &verdict.lines {
                say(*level, line);
            }
            if verdict.probe {
                tracing::debug!("store: probing whether it commits again");
                store.probe(&now.wall.to_string());
            }
            if let Some(why) = verdict.stop {
                failed = Some(ServeError::Store(why));
                break;
            }
            if let Some(udp4) = &udp4 {
                udp4.tick(now);
                // A receive thread lost is a socket no longer fully served and a bug: stop rather
                // than serve on at reduced capacity without anybody noticing.
                if let Some(why) = udp4.lost_receiver() {
                    failed = Some(ServeError::Thread(format!("dhcp4: {why}; stopping")));
                    break;
                }
            }
            if let Some(udp6) = &udp6 {
                udp6.tick(now);
                if let Some(why) = udp6.lost_receiver() {
                    failed = Some(ServeError::Thread(format!("dhcp6: {why}; stopping")));
                    break;
                }
            }
            // A peer that makes a connection's engine panic (a bug) could do it at will: the
            // panics are tallied and said at most once per drop-report period.
            if last_panics.elapsed() >= PANICS_EVERY {
                last_panics = Instant::now();
                log_panics(bulk4.as_ref(), bulk6.as_ref());
            }
            if reloader.take_signal() {
                let _ = reloader.reload_logged();
            }
            // A reload (by signal or by a control request) may have changed it.
            let interval = reloader.stats_interval();
            if !interval.is_zero() && last_stats.elapsed() >= interval {
                last_stats = Instant::now();
                log_stats(&reports);
            }
        }
        metrics_done.store(true, Ordering::Relaxed);
        failed
    });
    if asked_to_stop.load(Ordering::Relaxed) {
        tracing::info!("stopping: asked by the control API");
    }
    if let Some(api) = api {
        api.shutdown();
    }
    lifecycle(Lifecycle::Stopping);
    // No reload reaches services that stop.
    reloader.detach();
    log_stats(&reports);
    log_panics(bulk4.as_ref(), bulk6.as_ref());
    // Every open bulk query gets QueryTerminated.
    if let Some(bulk4) = bulk4 {
        bulk4.shutdown();
    }
    if let Some(bulk6) = bulk6 {
        bulk6.shutdown();
    }
    let mut panicked = udp4.map_or(0, udp4::Udp4::shutdown);
    panicked += udp6.map_or(0, udp6::Udp6::shutdown);
    if panicked > 0 && failed.is_none() {
        failed = Some(ServeError::Thread(format!(
            "{panicked} receive thread(s) panicked"
        )));
    }
    failed.map_or(Ok(()), Err)
}

/// Least time between two lines about bulk leasequery connections' panics.
const PANICS_EVERY: Duration = Duration::from_millis(crate::droplog::REPORT_INTERVAL_MS);

/// What the bulk leasequery connections' panics said since the last call (one line).
fn log_panics(bulk4: Option<&crate::bulk4::Running>, bulk6: Option<&crate::bulk6::Running>) {
    if let Some(line) = bulk4.and_then(crate::bulk4::Running::take_panics) {
        tracing::error!("bulk leasequery: {line}");
    }
    if let Some(line) = bulk6.and_then(crate::bulk6::Running::take_panics) {
        tracing::error!("DHCPv6 bulk leasequery: {line}");
    }
}

/// `line` at `level` (the level of a line an engine or a watch returned, decided there).
fn say(level: tracing::Level, line: &str) {
    match level {
        tracing::Level::ERROR => tracing::error!("{line}"),
        tracing::Level::WARN => tracing::warn!("{line}"),
        tracing::Level::INFO => tracing::info!("{line}"),
        tracing::Level::DEBUG => tracing::debug!("{line}"),
        tracing::Level::TRACE => tracing::trace!("{line}"),
    }
}

/// A service's drop report ([`crate::droplog`], at most one every few seconds), `head` first.
fn say_drops<R: crate::droplog::Reason, O: fmt::Display>(
    head: &str,
    report: &crate::droplog::DropReport<R, O>,
) {
    let reasons: Vec<String> = report
        .by_reason
        .iter()
        .map(|(r, n)| format!("{}={n}", r.name()))
        .collect();
    tracing::warn!(
        service = R::SERVICE,
        dropped = report.total(),
        period_ms = report.period_ms,
        reasons = %reasons.join(" "),
        "{head}{report}"
    );
}

/// One line per service whose counters moved.
fn log_stats(reports: &[(&str, &dyn Report)]) {
    for (name, report) in reports {
        let line = stats::line(*report);
        if !line.is_empty() {
            tracing::info!(service = name, "stats {name}: {line}");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testlog::Captured;
    use lessor_store::{Backend, Binding4, Change, Completion, HwAddr, Loaded, State4, StoreError};
    use std::sync::mpsc;

    /// A backend whose writes hang until told to go on (a disk that stopped answering).
    struct Hung(mpsc::Receiver<()>);

    impl Backend for Hung {
        fn load(&mut self) -> Result<Loaded, StoreError> {
            Ok(Loaded::default())
        }
        fn apply(&mut self, _: &[Change]) -> Result<(), StoreError> {
            let _ = self.0.recv();
            Ok(())
        }
    }

    #[test]
    fn a_writer_that_hangs_at_shutdown_is_not_waited_for_forever() {
        let (go_on, hang) = mpsc::channel();
        let (store, _) = Store::open(Box::new(Hung(hang))).unwrap();
        let store = Arc::new(store);
        let binding = Binding4::new(
            "192.0.2.10".parse().unwrap(),
            "192.0.2.0/24".parse().unwrap(),
            HwAddr::ethernet([2, 0, 0, 0, 0, 1]),
            State4::Active,
        );
        store.v4().upsert(binding, Completion::none());
        let began = Instant::now();
        let closed = close_store(store, Duration::from_millis(200));
        assert!(began.elapsed() < Duration::from_secs(5));
        let error = closed.unwrap_err().to_string();
        assert!(
            error.contains("did not confirm within 200ms") && error.contains("may be lost"),
            "{error}"
        );
        // Let the forgotten writer's thread finish its write.
        let _ = go_on.send(());

        // A writer that answers: closed cleanly.
        let store = Arc::new(Store::in_memory());
        assert!(close_store(store, SYNC_TIMEOUT).is_ok());
    }

    const CONFIG: &str = r#"
[server]
store = "unused.db"

[dhcp4]
server-identifier = "192.0.2.1"
listen = ["192.0.2.1"]
lease-time = "1h"

[[dhcp4.subnet]]
prefix = "192.0.2.0/24"
pools = ["192.0.2.100-192.0.2.110"]

[[dhcp4.subnet]]
prefix = "198.51.100.0/24"
pools = ["198.51.100.10-198.51.100.20"]
lease-time = "2h"
"#;

    fn open(db: &std::path::Path, log: &Captured) -> (Store, Quarantine) {
        let config = crate::config::parse(CONFIG, "test.toml").unwrap();
        let (store, report) = Store::open_sqlite(db).unwrap();
        let q = tracing::subscriber::with_default(log.subscriber(), || {
            quarantine(&config, &store, &report)
        });
        (store, q)
    }

    #[test]
    fn an_unreadable_row_quarantines_its_subnet_across_a_restart() {
        let dir = std::env::temp_dir().join(format!("lessor-quarantine-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let db = dir.join("leases.db");
        let t = lessor_net::clock::wall_now();
        {
            let (store, _) = Store::open_sqlite(&db).unwrap();
            for (a, prefix, n) in [
                ("192.0.2.100", "192.0.2.0/24", 1),
                ("198.51.100.10", "198.51.100.0/24", 2),
                ("198.51.100.11", "198.51.100.0/24", 3),
            ] {
                let b = Binding4::new(
                    a.parse().unwrap(),
                    prefix.parse().unwrap(),
                    HwAddr::ethernet([2, 0, 0, 0, 0, n]),
                    State4::Active,
                )
                .with_times(t - 60, t + 600, t + 300, t + 500, t - 60);
                store.v4().upsert(b, Completion::none());
            }
            store.close().unwrap();
        }
        // A row the store cannot decode.
        rusqlite::Connection::open(&db)
            .unwrap()
            .execute(
                "UPDATE lease4 SET state = 'bogus' WHERE address = ?1",
                [u32::from(
                    "198.51.100.11".parse::<std::net::Ipv4Addr>().unwrap(),
                )],
            )
            .unwrap();

        let log = Captured::default();
        let start = lessor_net::clock::wall_now();
        let (store, q) = open(&db, &log);
        assert_eq!(q.unreadable, 1);
        assert!(q.until[0].is_none(), "the other subnet is not quarantined");
        let end = q.until[1].expect("quarantined");
        assert!((start + 7200..=start + 7300).contains(&end), "{end}");
        let said = log.text();
        assert!(
            said.contains(&format!(
                "warning: store: 1 row(s) unreadable; quarantining 198.51.100.0/24 until {}: \
                 addresses whose bindings may have been lost are not offered",
                watch::utc(end)
            )),
            "{said}"
        );
        let warning = &log.events()[0];
        assert_eq!(warning.level, tracing::Level::WARN);
        assert_eq!(warning.field("unreadable"), Some("1"));
        assert_eq!(
            warning.field("subnets"),
            Some(format!("198.51.100.0/24 until {}", watch::utc(end)).as_str())
        );
        store.close().unwrap();

        // The bad row is gone (rewritten); the quarantine is kept all the same.
        rusqlite::Connection::open(&db)
            .unwrap()
            .execute("DELETE FROM lease4 WHERE state = 'bogus'", [])
            .unwrap();
        log.clear();
        let (store, q) = open(&db, &log);
        assert_eq!(q.unreadable, 0);
        assert_eq!(q.until, vec![None, Some(end)]);
        let said = log.text();
        assert!(
            said.contains(
                "warning: store: rows were unreadable at an earlier start; quarantining \
                 198.51.100.0/24 until"
            ),
            "{said}"
        );
        store.close().unwrap();
        let _ = std::fs::remove_dir_all(&dir);
    }
}
