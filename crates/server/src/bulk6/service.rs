//! DHCPv6 bulk leasequery as a `lessor_net::tcp` service: each accepted connection gets a
//! [`Connection`]; peers outside `[leasequery6] requesters` are refused at once (RFC 5460 §7.1:
//! the server may refuse connections from unknown requestors), and every way a connection starts
//! or ends is counted. The listener owns the sockets, threads, slots, deadlines and shutdown.

use super::{Connection, Counters, Params};
use crate::bulk::Close;
use crate::bulk::Panics;
use crate::bulk4::CloseReason;
use crate::swap::Swap;
use ipnet::IpNet;
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
    /// `[leasequery6] requesters`.
    pub requesters: Vec<IpNet>,
    pub max_connections: usize,
    pub max_per_requester: usize,
}

/// What a reload replaces: a connection takes the parameters current when it is accepted and
/// keeps them to its end.
#[derive(Debug)]
struct Live {
    params: Arc<Params>,
    requesters: Vec<IpNet>,
}

/// Applies a reloaded config's `[leasequery6]` to a running listener, as
/// [`crate::bulk4::service::Reload`].
#[derive(Debug, Clone)]
pub struct Reload(Arc<Swap<Live>>);

impl Reload {
    pub fn apply(&self, params: Params, requesters: Vec<IpNet>) {
        self.0.store(Live {
            params: Arc::new(params),
            requesters,
        });
    }
}

struct Service6 {
    live: Arc<Swap<Live>>,
    store: Arc<Store>,
    counters: Arc<Counters>,
    panics: Arc<Panics>,
}

impl StreamService for Service6 {
    type Engine = Connection;

    fn name(&self) -> &str {
        "bulk6"
    }

    fn allows(&self, peer: IpAddr) -> bool {
        let peer = match peer {
            // A v4-mapped peer on a dual-stack socket is an IPv4 requestor: not ours.
            IpAddr::V6(a) if a.to_ipv4_mapped().is_some() => return false,
            IpAddr::V6(a) => IpAddr::V6(a),
            IpAddr::V4(_) => return false,
        };
        self.live
            .load()
            .requesters
            .iter()
            .any(|n| n.contains(&peer))
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

/// A running DHCPv6 bulk leasequery listener.
pub type Running = crate::bulk::Running<Counters>;

/// Listens on `addrs` and serves DHCPv6 bulk leasequery from `store` until
/// [`Running::shutdown`].
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
        requesters: settings.requesters,
    }));
    let counters = Arc::new(Counters::default());
    let panics = Arc::new(Panics::default());
    let service = Arc::new(Service6 {
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
