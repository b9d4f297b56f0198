//! `lessor serve`: the I/O shell. It opens the store, then for each family and protocol the
//! config names the sockets (`lessor-net`) and the sans-IO services behind them, runs until told
//! to stop, then stops cleanly (receivers first, then the store's last commits). It owns the
//! threads, the clock and the outbox; the services own every protocol decision.
//!
//! Where things plug in:
//! - [`udp4`]: the DHCPv4 sockets, each datagram through [`crate::router4::Router4`] to the
//!   DHCP engine or the leasequery responder. A DHCPv6 sibling (`udp6`) will open the `[dhcp6]`
//!   sockets the same way and route through a `Router6` to the DHCPv6 and leasequery6 services.
//! - [`bulk`]: the TCP listeners of bulk leasequery (`lessor_net::tcp` with
//!   [`crate::bulk4::service`]); RFC 5460 and active leasequery are further services on the same
//!   listener type.
//! - [`outbox`]: DHCPACKs that leave once durable, a whole group commit at a time.
//! - the timer below: the engines' expiry and offer timeouts, counters in the log, and the
//!   store's health ([`watch`]: failures logged, probes while failing, a dead writer stops the
//!   server).

mod bulk;
mod outbox;
mod report;
mod udp4;
pub mod watch;

pub use outbox::GroupOutbox;

use crate::config::Config;
use crate::stats::{self, Report};
use lessor_net::Clock;
use lessor_store::Store;
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

/// Runs what `config` names until `stop` is set. `log` receives one line per event worth an
/// operator's attention (start, skipped store rows, counters, stop).
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

    let result = serve(config, &store, stop, log);

    // Everything submitted so far becomes durable before the process ends.
    let _ = store.sync().wait();
    let closed = match Arc::try_unwrap(store) {
        Ok(store) => store.close().map_err(|e| ServeError::Store(e.to_string())),
        Err(_) => {
            log("store still shared at shutdown; its writer flushed what was queued");
            Ok(())
        }
    };
    log("stopped");
    // Why the server stopped comes first (a dead writer also fails the last flush).
    result.and(closed)
}

/// Starts every service `config` names, runs the timer until `stop`, then stops them.
fn serve(
    config: &Config,
    store: &Arc<Store>,
    stop: &AtomicBool,
    log: &dyn Fn(&str),
) -> Result<(), ServeError> {
    let clock = Clock::new();
    let udp4 = udp4::start(config, store, clock, log)?;
    let bulk4 = match bulk::start4(config, store, log) {
        Ok(bulk) => bulk,
        Err(e) => {
            if let Some(udp4) = udp4 {
                udp4.shutdown();
            }
            return Err(e);
        }
    };
    if udp4.is_none() && bulk4.is_none() {
        log("nothing to serve: no [dhcp4] sockets and no bulk leasequery listener");
    }
    let mut reports: Vec<(&str, &dyn Report)> = Vec::new();
    if let Some(udp4) = &udp4 {
        reports.extend(udp4.reports());
    }
    if let Some(bulk4) = &bulk4 {
        reports.push(("bulk4", &**bulk4.counters()));
    }
    let interval = config.file.server.stats_interval.duration();
    let mut last_stats = Instant::now();
    let mut failed = None;
    let mut watch = watch::StoreWatch::default();
    while !stop.load(Ordering::Relaxed) {
        std::thread::sleep(TICK);
        let now = clock.now();
        let verdict = watch.observe(&store.health(), now);
        for line in &verdict.lines {
            log(line);
        }
        if verdict.probe {
            store.probe(&now.wall.to_string());
        }
        if let Some(why) = verdict.stop {
            failed = Some(ServeError::Store(why));
            break;
        }
        if let Some(udp4) = &udp4 {
            udp4.tick(now, log);
            if udp4.receivers_lost() > 0 {
                failed = Some(ServeError::Thread(format!(
                    "{} DHCPv4 receive thread(s) ended unexpectedly",
                    udp4.receivers_lost()
                )));
                break;
            }
        }
        if !interval.is_zero() && last_stats.elapsed() >= interval {
            last_stats = Instant::now();
            log_stats(&reports, log);
        }
    }
    log_stats(&reports, log);
    if let Some(bulk4) = bulk4 {
        // Every open bulk query gets QueryTerminated.
        bulk4.shutdown();
    }
    if let Some(udp4) = udp4 {
        let panicked = udp4.shutdown();
        if panicked > 0 && failed.is_none() {
            failed = Some(ServeError::Thread(format!(
                "{panicked} receive thread(s) panicked"
            )));
        }
    }
    failed.map_or(Ok(()), Err)
}

/// One line per service whose counters moved.
fn log_stats(reports: &[(&str, &dyn Report)], log: &dyn Fn(&str)) {
    for (name, report) in reports {
        let line = stats::line(*report);
        if !line.is_empty() {
            log(&format!("stats {name}: {line}"));
        }
    }
}
