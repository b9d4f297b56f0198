//! DHCPv4 bulk leasequery as a `lessor_net::tcp` service: each accepted connection gets a
//! [`Connection`] (the sans-IO engine), peers outside `requesters` are refused (draft §9.1), and
//! every way a connection starts or ends is counted. The listener owns the sockets, threads,
//! slots, deadlines and shutdown (see `lessor_net::tcp`).

use super::{Close, CloseReason, Connection, Counters, Params};
use crate::bulk::Panics;
use crate::leasequery4::access::AllowList;
use crate::swap::Swap;
use lessor_net::tcp::{Ended, Limits, Listener, Refused, StreamService};
use lessor_net::Now;
use lessor_store::Store;
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

/// What the listener needs besides the addresses.
#[derive(Debug, Clone)]
pub struct Settings {
    pub params: Params,
    pub allow: AllowList,
    /// BULK_LQ_MAX_CONNS.
    pub max_connections: usize,
    /// `max-connections-per-requester`.
    pub max_per_requester: usize,
}

/// What a reload replaces: a connection takes the parameters current when it is accepted and
/// keeps them to its end (a query in progress finishes on its snapshot and settings).
#[derive(Debug)]
struct Live {
    params: Arc<Params>,
    allow: AllowList,
}

/// Applies a reloaded config's `[leasequery4]` to a running listener: its requesters and the
/// parameters of connections accepted from now on. The listen addresses and the connection
/// limits are the listener's and stay.
#[derive(Debug, Clone)]
pub struct Reload(Arc<Swap<Live>>);

impl Reload {
    pub fn apply(&self, params: Params, allow: AllowList) {
        self.0.store(Live {
            params: Arc::new(params),
            allow,
        });
    }
}

/// The service every connection of one listener shares.
struct Service4 {
    live: Arc<Swap<Live>>,
    store: Arc<Store>,
    counters: Arc<Counters>,
    panics: Arc<Panics>,
}

impl StreamService for Service4 {
    type Engine = Connection;

    fn name(&self) -> &str {
        "bulk4"
    }

    fn allows(&self, peer: IpAddr) -> bool {
        match peer {
            IpAddr::V4(a) => self.live.load().allow.contains(a),
            IpAddr::V6(_) => false,
        }
    }

    fn connect(&self, _: SocketAddr, now: Now) -> Connection {
        self.counters.accepted.add();
        Connection::new(
            Arc::clone(&self.live.load().params),
            Arc::clone(&self.store),
            Arc::clone(&self.counters),
            now,
        )
    }

    fn refused(&self, _: IpAddr, why: Refused) {
        match why {
            Refused::NotAllowed => self.counters.refused_not_allowed.add(),
            Refused::Full | Refused::NoThread => self.counters.refused_limit.add(),
            Refused::PerPeer => self.counters.refused_per_requester.add(),
        }
    }

    fn panicked(&self, peer: SocketAddr, message: &str) {
        self.panics.note(peer, message);
    }

    fn closed(&self, _: SocketAddr, how: Ended<Close>) {
        self.counters.count_close(match how {
            Ended::Engine(c) => CloseReason::from(c),
            Ended::SocketError => CloseReason::SocketError,
            Ended::Shutdown => CloseReason::Shutdown,
            Ended::Panic => CloseReason::Panic,
        });
    }
}

/// A running DHCPv4 bulk leasequery listener.
pub type Running = crate::bulk::Running<Counters>;

/// Listens on `addrs` and serves bulk leasequery from `store` until [`Running::shutdown`].
pub fn start(settings: Settings, addrs: &[SocketAddr], store: Arc<Store>) -> io::Result<Running> {
    start_reloadable(settings, addrs, store).map(|(running, _)| running)
}

/// [`start`], with the handle a reload applies its config through.
pub fn start_reloadable(
    settings: Settings,
    addrs: &[SocketAddr],
    store: Arc<Store>,
) -> io::Result<(Running, Reload)> {
    let live = Arc::new(Swap::new(Live {
        params: Arc::new(settings.params),
        allow: settings.allow,
    }));
    let counters = Arc::new(Counters::default());
    let panics = Arc::new(Panics::default());
    let service = Arc::new(Service4 {
        live: Arc::clone(&live),
        store,
        counters: Arc::clone(&counters),
        panics: Arc::clone(&panics),
    });
    let limits = Limits {
        max_connections: settings.max_connections,
        max_per_peer: settings.max_per_requester,
        ..Limits::default()
    };
    let listener = Listener::start(service, limits, addrs)?;
    Ok((Running::new(listener, counters, panics), Reload(live)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn panics_are_one_line_per_report_naming_the_first() {
        let panics = Panics::default();
        assert_eq!(panics.take_line(), None);
        panics.note("192.0.2.7:4000".parse().unwrap(), "index out of bounds");
        assert_eq!(
            panics.take_line().as_deref(),
            Some(
                "a connection's engine panicked (connection from 192.0.2.7:4000: index out of \
                 bounds); the connection was closed"
            )
        );
        assert_eq!(panics.take_line(), None, "reported once");
        panics.note("192.0.2.7:4001".parse().unwrap(), "first");
        panics.note("192.0.2.8:4002".parse().unwrap(), "second");
        assert_eq!(
            panics.take_line().as_deref(),
            Some(
                "2 connections' engines panicked, the first: connection from 192.0.2.7:4001: \
                 first; they were closed"
            )
        );
    }
}
