//! What a running bulk leasequery listener is, whatever its family: the listener, its
//! service's counters, and the panics of its connections' engines until the serve loop logs
//! them.

use lessor_net::tcp::Listener;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

/// What connections' panics said, until the serve loop logs it ([`Running::take_panics`]):
/// the first message since the last report and how many panics there were, so that a bug hit
/// on every connection is one log line per report, not one per connection.
#[derive(Debug, Default)]
pub struct Panics(Mutex<Option<(String, u64)>>);

impl Panics {
    /// Notes a panic of the engine of `peer`'s connection.
    pub fn note(&self, peer: SocketAddr, message: &str) {
        let mut seen = self.0.lock().unwrap_or_else(|p| p.into_inner());
        match &mut *seen {
            Some((_, n)) => *n += 1,
            None => *seen = Some((format!("connection from {peer}: {message}"), 1)),
        }
    }

    /// The line for the log, if any panic was noted since the last call.
    pub fn take_line(&self) -> Option<String> {
        let seen = self.0.lock().unwrap_or_else(|p| p.into_inner()).take();
        seen.map(|(first, n)| match n {
            1 => format!("a connection's engine panicked ({first}); the connection was closed"),
            _ => format!("{n} connections' engines panicked, the first: {first}; they were closed"),
        })
    }
}

/// A running bulk leasequery listener of either family (`C`: its counters).
pub struct Running<C> {
    listener: Listener,
    counters: Arc<C>,
    panics: Arc<Panics>,
}

impl<C> Running<C> {
    /// The running listener, its service's counters and panics.
    pub(crate) fn new(listener: Listener, counters: Arc<C>, panics: Arc<Panics>) -> Self {
        Running {
            listener,
            counters,
            panics,
        }
    }

    /// The addresses listened on (with the port the system chose for port 0).
    pub fn local_addrs(&self) -> &[SocketAddr] {
        self.listener.local_addrs()
    }

    /// The service's counters.
    pub fn counters(&self) -> &Arc<C> {
        &self.counters
    }

    /// A line for the log when connections panicked since the last call: the first one's peer
    /// and message, and how many there were.
    pub fn take_panics(&self) -> Option<String> {
        self.panics.take_line()
    }

    /// Stops accepting, sends QueryTerminated on every connection and waits for the threads.
    pub fn shutdown(self) {
        self.listener.shutdown();
    }
}
