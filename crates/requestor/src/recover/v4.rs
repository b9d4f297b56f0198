//! DHCPv4 recovery: one bulk leasequery per server over [`crate::bulk::tcp`], each server in its
//! own dialect (docs/protocol.md decision 1), merged into [`LeaseInfo`]s by address.

use std::net::{Ipv4Addr, SocketAddr};

use lessor_wire::framing::Dialect;

use super::{age_at_start, lifetime_at_start, run, Binding, Clock, Merged, Report, Stream};
use crate::bulk::tcp::{self, Bulk, Config, Error};
use crate::bulk::End;
use crate::query::QueryKey;
use crate::reply::LeaseInfo;

/// What a DHCPv4 recovery asks, and whom.
#[derive(Debug, Clone)]
pub struct Recovery4 {
    /// The servers' bulk leasequery listeners, each with the dialect it speaks.
    pub servers: Vec<(SocketAddr, Dialect)>,
    /// The query: the relay's own relay-id ([`QueryKey::RelayId`]) to get back what it relayed.
    pub key: QueryKey,
    /// The bulk client's settings: timeouts, the retry backoff (`first_retry` doubling within
    /// `max_retry`, for the whole query, not only the connection), giaddr, parameters, xid.
    /// Its `dialect` is replaced by each server's.
    pub bulk: Config,
}

impl Recovery4 {
    /// Asks `servers` for the bindings of `key` with the bulk client's defaults (draft §10).
    pub fn new(servers: Vec<(SocketAddr, Dialect)>, key: QueryKey) -> Recovery4 {
        Recovery4 {
            servers,
            key,
            bulk: Config::new(Dialect::Rfc6926),
        }
    }
}

/// What a DHCPv4 recovery did.
pub type Report4 = Report<End, Error>;

/// Runs the recovery (see the module docs of [`crate::recover`]): every server at once; returns
/// when each has ended its query or been given up. The merged leases have their times as of
/// [`Report::started`] (`cltt_ago`, `lease_remaining`, `t1_remaining`, `t2_remaining`).
pub fn recover4(recovery: &Recovery4) -> (Report4, Merged<LeaseInfo>) {
    let targets: Vec<Target4> = recovery
        .servers
        .iter()
        .map(|&(server, dialect)| {
            let mut config = recovery.bulk.clone();
            config.dialect = dialect;
            // The retries are recovery's, around the whole query.
            config.max_retry = std::time::Duration::ZERO;
            Target4 {
                server,
                key: recovery.key.clone(),
                config,
            }
        })
        .collect();
    run::<Stream4>(&targets, recovery.bulk.first_retry, recovery.bulk.max_retry)
}

impl Binding for LeaseInfo {
    type Bound = Ipv4Addr;

    fn bound(&self) -> Ipv4Addr {
        self.address.unwrap_or(Ipv4Addr::UNSPECIFIED)
    }

    fn cltt_ago(&self) -> Option<u32> {
        self.cltt_ago
    }
}

/// Rewrites the times of a lease received `elapsed` seconds after the start as of the start.
pub(crate) fn at_start(lease: &mut LeaseInfo, elapsed: u32) {
    lease.cltt_ago = lease.cltt_ago.map(|a| age_at_start(a, elapsed));
    for t in [
        &mut lease.lease_remaining,
        &mut lease.t1_remaining,
        &mut lease.t2_remaining,
    ] {
        *t = t.map(|s| lifetime_at_start(s, elapsed));
    }
}

pub(crate) struct Target4 {
    server: SocketAddr,
    key: QueryKey,
    config: Config,
}

pub(crate) struct Stream4(Bulk);

impl Stream for Stream4 {
    type Target = Target4;
    type Binding = LeaseInfo;
    type End = End;
    type Error = Error;

    fn server(target: &Target4) -> SocketAddr {
        target.server
    }

    fn open(target: &Target4) -> Result<Stream4, Error> {
        tcp::query(target.server, &target.key, target.config.clone()).map(Stream4)
    }

    fn next(&mut self, clock: &Clock, out: &mut Vec<LeaseInfo>) -> Option<Result<u64, Error>> {
        let mut lease = match self.0.next()? {
            Ok(lease) => lease,
            Err(e) => return Some(Err(e)),
        };
        if lease.address.is_none() {
            return Some(Ok(1));
        }
        at_start(&mut lease, clock.elapsed_secs());
        out.push(lease);
        Some(Ok(0))
    }

    fn end(&mut self) -> Option<End> {
        self.0.end().cloned()
    }

    fn retryable(e: &Error) -> bool {
        super::retryable(e)
    }
}
