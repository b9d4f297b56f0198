//! DHCPv6 recovery: one bulk leasequery per server over [`crate::bulk::tcp6`] (RFC 5460), each
//! CLIENT_DATA split into one [`Binding6`] per address and per delegated prefix (RFC 5007 §4.3.4
//! merges per address and prefix: the overlapping data), merged by what is bound.

use std::net::{Ipv6Addr, SocketAddr};

use lessor_wire::v6::Duid;

use super::{age_at_start, lifetime_at_start, run, Binding, Clock, Merged, Report, Stream};
use crate::bulk::tcp6::{self, Bulk6, Config6, Error6};
use crate::bulk::End6;
use crate::v6::{ClientData6, QueryKey6, RelayData6};

/// A DHCPv6 server to recover from.
#[derive(Debug, Clone)]
pub struct Server6 {
    /// Its bulk leasequery listener (port 547, RFC 5460 §5.1).
    pub addr: SocketAddr,
    /// The requestor DUID it knows us by (OPTION_CLIENTID, checked in its REPLY).
    pub requestor: Duid,
}

/// What a DHCPv6 recovery asks, and whom.
#[derive(Debug, Clone)]
pub struct Recovery6 {
    /// The servers.
    pub servers: Vec<Server6>,
    /// The query: the relay's own DUID as [`QueryKey6::RelayId`] to get back what it relayed.
    pub key: QueryKey6,
    /// The bulk client's settings: timeouts, the retry backoff (for the whole query), ORO, xid,
    /// and whether CLIENT_DATA without CLT_TIME is kept. Its `requestor` is replaced by each
    /// server's.
    pub bulk: Config6,
}

impl Recovery6 {
    /// Asks `servers` for the bindings of `key` with the bulk client's defaults, keeping
    /// CLIENT_DATA without CLT_TIME (erratum 3763: it loses to data with one, but a failover
    /// partner that never heard the client still knows its binding; docs/protocol.md
    /// decision 30).
    pub fn new(servers: Vec<Server6>, key: QueryKey6) -> Recovery6 {
        let requestor = servers
            .first()
            .map_or_else(|| Duid::Uuid([0; 16]), |s| s.requestor.clone());
        let mut bulk = Config6::new(requestor);
        bulk.keep_without_clt_time = true;
        Recovery6 { servers, key, bulk }
    }
}

/// What is bound: the key of the DHCPv6 merge.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Bound6 {
    /// An address (IA_NA / IA_TA: OPTION_IAADDR).
    Address(Ipv6Addr),
    /// A delegated prefix and its length (IA_PD: OPTION_IAPREFIX).
    Prefix(Ipv6Addr, u8),
}

/// One recovered DHCPv6 binding: an address or a delegated prefix, with its client's data.
/// Times are as of [`Report::started`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Binding6 {
    /// The address or prefix.
    pub bound: Bound6,
    /// Preferred lifetime left, seconds (`u32::MAX`: infinite).
    pub preferred_lifetime: u32,
    /// Valid lifetime left, seconds (`u32::MAX`: infinite).
    pub valid_lifetime: u32,
    /// Seconds since the client's last transaction (CLT_TIME, an absolute one read as decision
    /// 22 says); `None` without CLT_TIME.
    pub cltt_ago: Option<u32>,
    /// The client's DUID.
    pub client_id: Option<Duid>,
    /// The link the data is about, when the server named one.
    pub link: Option<Ipv6Addr>,
    /// LQ_RELAY_DATA: the relay chain the server last heard the client through.
    pub relay: Option<RelayData6>,
    /// The DUID of the server that sent it.
    pub server_id: Option<Duid>,
}

impl Binding for Binding6 {
    type Bound = Bound6;

    fn bound(&self) -> Bound6 {
        self.bound
    }

    fn cltt_ago(&self) -> Option<u32> {
        self.cltt_ago
    }
}

impl Binding6 {
    /// The bindings of one CLIENT_DATA received `elapsed` seconds after the start (the wall
    /// clock then: `now_unix`), into `out`; returns how many of its parts cannot be held (no
    /// address or prefix at all: 1; each prefix longer than 128 bits: 1).
    pub fn split(
        client: ClientData6,
        server_id: Option<&Duid>,
        elapsed: u32,
        now_unix: u64,
        out: &mut Vec<Binding6>,
    ) -> u64 {
        let cltt_ago = client.cltt_ago(now_unix).map(|a| age_at_start(a, elapsed));
        let mut unusable = u64::from(client.addresses.is_empty() && client.prefixes.is_empty());
        let record = |bound, preferred: u32, valid: u32| Binding6 {
            bound,
            preferred_lifetime: lifetime_at_start(preferred, elapsed),
            valid_lifetime: lifetime_at_start(valid, elapsed),
            cltt_ago,
            client_id: client.client_id.clone(),
            link: client.link,
            relay: client.relay.clone(),
            server_id: server_id.cloned(),
        };
        for a in &client.addresses {
            out.push(record(
                Bound6::Address(a.address),
                a.preferred_lifetime,
                a.valid_lifetime,
            ));
        }
        for p in &client.prefixes {
            if p.length > 128 {
                unusable += 1;
                continue;
            }
            out.push(record(
                Bound6::Prefix(p.prefix, p.length),
                p.preferred_lifetime,
                p.valid_lifetime,
            ));
        }
        unusable
    }
}

/// What a DHCPv6 recovery did.
pub type Report6 = Report<End6, Error6>;

/// Runs the recovery (see the module docs of [`crate::recover`]): every server at once; returns
/// when each has ended its query or been given up.
pub fn recover6(recovery: &Recovery6) -> (Report6, Merged<Binding6>) {
    let targets: Vec<Target6> = recovery
        .servers
        .iter()
        .map(|s| {
            let mut config = recovery.bulk.clone();
            config.requestor = s.requestor.clone();
            // The retries are recovery's, around the whole query.
            config.max_retry = std::time::Duration::ZERO;
            Target6 {
                server: s.addr,
                key: recovery.key.clone(),
                config,
            }
        })
        .collect();
    run::<Stream6>(&targets, recovery.bulk.first_retry, recovery.bulk.max_retry)
}

pub(crate) struct Target6 {
    server: SocketAddr,
    key: QueryKey6,
    config: Config6,
}

pub(crate) struct Stream6(Bulk6);

impl Stream for Stream6 {
    type Target = Target6;
    type Binding = Binding6;
    type End = End6;
    type Error = Error6;

    fn server(target: &Target6) -> SocketAddr {
        target.server
    }

    fn open(target: &Target6) -> Result<Stream6, Error6> {
        tcp6::query(target.server, &target.key, target.config.clone()).map(Stream6)
    }

    fn next(&mut self, clock: &Clock, out: &mut Vec<Binding6>) -> Option<Result<u64, Error6>> {
        let (client, server_id) = match self.0.next()? {
            Ok(b) => b,
            Err(e) => return Some(Err(e)),
        };
        let elapsed = clock.elapsed_secs();
        let now_unix = clock.unix + u64::from(elapsed);
        Some(Ok(Binding6::split(
            client,
            server_id.as_ref(),
            elapsed,
            now_unix,
            out,
        )))
    }

    fn end(&mut self) -> Option<End6> {
        self.0.end().cloned()
    }

    fn retryable(e: &Error6) -> bool {
        super::retryable(e)
    }
}
