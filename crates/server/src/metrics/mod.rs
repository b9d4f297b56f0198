//! The metrics a Prometheus server scrapes (docs/operator-guide.md, "Metrics"): every counter
//! the services keep, read when scraped from their atomics (nothing is added to the packet path
//! but the per-requester tally, see [`crate::leasequery4::tally`]), plus the store's writer, the
//! pools' utilisation, the build and the start time. [`Sources`] says where to read;
//! [`render`] reads them once into a [`Scrape`] and encodes it with `prometheus-client`. The
//! HTTP listener that serves the text is the I/O shell's ([`crate::serve`]).

pub mod names;
pub mod pools;
pub mod scrape;

pub use scrape::{Scrape, CONTENT_TYPE};

use crate::config::Config;
use crate::leasequery4::tally::RequesterCounts;
use crate::stats::Report;
use lessor_store::Store;
use std::net::IpAddr;
use std::time::SystemTime;

/// A responder that counts its queries by requester.
pub trait Requesters: Send + Sync {
    /// Every requester's counts; `None` for those past the table's bound.
    fn requesters(&self) -> Vec<(Option<IpAddr>, RequesterCounts)>;
}

impl Requesters for crate::leasequery4::Responder4 {
    fn requesters(&self) -> Vec<(Option<IpAddr>, RequesterCounts)> {
        crate::leasequery4::Responder4::requesters(self)
    }
}

impl Requesters for crate::leasequery6::Responder6 {
    fn requesters(&self) -> Vec<(Option<IpAddr>, RequesterCounts)> {
        crate::leasequery6::Responder6::requesters(self)
    }
}

/// The running responder, which a reload replaces (carrying the tally on).
impl<R: Requesters> Requesters for crate::swap::Swap<R> {
    fn requesters(&self) -> Vec<(Option<IpAddr>, RequesterCounts)> {
        self.load().requesters()
    }
}

/// Where a scrape reads.
pub struct Sources<'a> {
    /// The services' counters by service name ("udp4", "router4", "dhcp4", "leasequery4",
    /// the same with 6, "bulk4", "bulk6"), as the stats log line names them.
    pub reports: Vec<(&'a str, &'a dyn Report)>,
    /// The leasequery responders by service name ("leasequery4", "leasequery6").
    pub requesters: Vec<(&'a str, &'a dyn Requesters)>,
    /// The store (writer statistics, bindings for the pools' utilisation).
    pub store: Option<&'a Store>,
    /// The running config's pools (`[dhcp4]` subnets, `[dhcp6]` links), read at each scrape:
    /// a reload may have changed them.
    pub config: &'a (dyn Fn() -> Config + Sync + 'a),
    /// When the server started.
    pub started: SystemTime,
}

/// Reads every source once and encodes the scrape.
pub fn render(sources: &Sources<'_>) -> String {
    read(sources).encode()
}

/// Reads every source once.
pub fn read(sources: &Sources<'_>) -> Scrape {
    let mut s = Scrape::default();
    build(&mut s, sources.started);
    for &(service, report) in &sources.reports {
        report.report(&mut |counter, value| {
            let m = names::map(service, counter);
            let help = names::help(service, &m.family, counter);
            let labels = m
                .label
                .map(|(k, v)| vec![(k.to_string(), v)])
                .unwrap_or_default();
            s.counter(&m.family, &help, labels, value);
        });
    }
    for &(service, responder) in &sources.requesters {
        requesters(&mut s, service, responder);
    }
    if let Some(store) = sources.store {
        self::store(&mut s, store);
        pools::read(&mut s, &(sources.config)(), store);
    }
    s
}

fn build(s: &mut Scrape, started: SystemTime) {
    s.gauge(
        "lessor_build_info",
        "Always 1: the version of the running lessor as a label",
        vec![("version".into(), env!("CARGO_PKG_VERSION").into())],
        1.0,
    );
    let since_epoch = started
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64());
    s.gauge(
        "process_start_time_seconds",
        "Start time of the server since the Unix epoch in seconds",
        Vec::new(),
        since_epoch.floor(),
    );
}

fn requesters(s: &mut Scrape, service: &str, responder: &dyn Requesters) {
    let queries = format!("lessor_{service}_requester_queries");
    let limited = format!("lessor_{service}_requester_rate_limited");
    for (requester, counts) in responder.requesters() {
        let label = requester.map_or_else(|| "other".to_string(), |a| a.to_string());
        let labels = vec![("requester".to_string(), label)];
        s.counter(
            &queries,
            "Queries the rate limits let through, by requester (source address; \"other\" past \
             the 256 first)",
            labels.clone(),
            counts.queries,
        );
        s.counter(
            &limited,
            "Queries a rate limit dropped (the requester's, its relay's or the server's), by \
             requester",
            labels,
            counts.rate_limited,
        );
    }
}

fn store(s: &mut Scrape, store: &Store) {
    let w = store.writer_stats();
    s.counter(
        "lessor_store_commits",
        "Group commits of the store's writer (failed ones included)",
        Vec::new(),
        w.commits(),
    );
    s.counter(
        "lessor_store_changes",
        "Binding changes the writer wrote",
        Vec::new(),
        w.changes(),
    );
    s.counter(
        "lessor_store_commit_failures",
        "Commits and probes that failed",
        Vec::new(),
        w.failures(),
    );
    s.counter(
        "lessor_store_refused",
        "Submissions refused because the writer's queue was full",
        Vec::new(),
        w.refused(),
    );
    s.counter(
        "lessor_store_taken",
        "Batches a lease set shared with other servers refused because another server changed \
         one of their bindings first",
        Vec::new(),
        w.taken(),
    );
    if let Some(f) = store.follower_stats() {
        s.counter(
            "lessor_store_follow_applied",
            "Changes other servers sharing the lease set committed, taken into memory",
            Vec::new(),
            f.applied(),
        );
        s.counter(
            "lessor_store_follow_polls",
            "Reads of the feed of other servers' changes that answered",
            Vec::new(),
            f.polls(),
        );
        s.counter(
            "lessor_store_follow_failures",
            "Reads of the feed of other servers' changes that failed (retried after 1 s)",
            Vec::new(),
            f.failures(),
        );
        s.gauge(
            "lessor_store_follow_healthy",
            "1 while the feed of other servers' changes answers, 0 while it fails",
            Vec::new(),
            if f.healthy() { 1.0 } else { 0.0 },
        );
    }
    let latency = w.latency();
    s.histogram(
        "lessor_store_commit_duration_seconds",
        "How long the backend took to apply each group commit",
        latency.buckets,
        latency.sum,
    );
    s.gauge(
        "lessor_store_backlog_changes",
        "Changes queued for the writer and not yet durable",
        Vec::new(),
        store.backlog() as f64,
    );
    s.gauge(
        "lessor_store_healthy",
        "1 while the store commits, 0 while its commits fail or its writer is gone",
        Vec::new(),
        if store.health().is_healthy() {
            1.0
        } else {
            0.0
        },
    );
}

#[cfg(test)]
mod tests;
