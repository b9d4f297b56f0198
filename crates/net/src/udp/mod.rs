//! DHCP datagrams for both families: the sockets a service names ([`Sockets`]), threads that
//! read them ([`Receivers`], each calling a [`Handler`]), and the [`Sender`] that delivers
//! replies. Plain threads: several may read one socket (the kernel wakes one per datagram), each
//! stopping within [`POLL_INTERVAL`] of its stop flag being set.

mod counters;
mod error;
pub mod holders;
mod receive;
mod segment;
mod send;
mod socket;

#[cfg(test)]
mod tests;

pub use counters::{CounterSnapshot, Counters};
pub use error::OpenError;
pub use receive::{
    receive_loop, spin_until, Handler, Receiver, BATCH, DEFAULT_BUFFER, DENSE, SPIN,
};
pub use send::Sender;
pub use socket::{
    Family, ServerSocket, SocketKind, Sockets, V6Options, POLL_INTERVAL, RECEIVE_BUFFER,
    SEND_TIMEOUT,
};

use std::io;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

/// Receivers running on every socket of a [`Sockets`], with one stop flag.
#[derive(Debug)]
pub struct Receivers {
    stop: Arc<AtomicBool>,
    receivers: Vec<Receiver>,
}

impl Receivers {
    /// Starts `threads_per_socket` (at least one) [`Receiver`]s per socket, all reading the same
    /// socket: the kernel wakes one reader per datagram, so datagrams are handled in parallel
    /// (the kernel's receive and send work, which is most of a reply's cost, included). `name`
    /// prefixes the threads' names. `make_handler` is called once per thread to make the handler
    /// it runs. If a thread cannot be started, those already started are stopped.
    pub fn start<F, H>(
        name: &str,
        sockets: &Sockets,
        counters: Arc<Counters>,
        buffer_size: usize,
        threads_per_socket: usize,
        mut make_handler: F,
    ) -> io::Result<Receivers>
    where
        F: FnMut(&ServerSocket) -> H,
        H: Handler,
    {
        let per_socket = threads_per_socket.max(1);
        let mut running = Receivers {
            stop: Arc::new(AtomicBool::new(false)),
            receivers: Vec::with_capacity(sockets.len() * per_socket),
        };
        let threads = sockets
            .iter()
            .flat_map(|socket| std::iter::repeat_n(socket, per_socket));
        for socket in threads {
            let handler = make_handler(socket);
            match Receiver::spawn(
                name,
                Arc::clone(socket),
                Arc::clone(&running.stop),
                Arc::clone(&counters),
                buffer_size,
                handler,
            ) {
                Ok(receiver) => running.receivers.push(receiver),
                Err(error) => {
                    running.shutdown();
                    return Err(error);
                }
            }
        }
        Ok(running)
    }

    /// The flag the receivers watch; setting it stops them within [`POLL_INTERVAL`].
    pub fn stop_flag(&self) -> Arc<AtomicBool> {
        Arc::clone(&self.stop)
    }

    pub fn receivers(&self) -> &[Receiver] {
        &self.receivers
    }

    /// Receivers whose thread has ended before being told to stop (a handler panicked).
    pub fn finished_early(&self) -> usize {
        self.ended_early().count()
    }

    /// The first receiver that ended before being told to stop, as a line for the log: its
    /// thread's name and what its handler's panic said.
    pub fn first_failure(&self) -> Option<String> {
        self.ended_early().next().map(|r| match r.panic_message() {
            Some(message) => format!("receive thread \"{}\" panicked: {message}", r.name()),
            None => format!("receive thread \"{}\" ended", r.name()),
        })
    }

    fn ended_early(&self) -> impl Iterator<Item = &Receiver> {
        let stopping = self.stop.load(Ordering::Relaxed);
        self.receivers
            .iter()
            .filter(move |r| !stopping && r.is_finished())
    }

    /// Sets the stop flag and waits for every receiver. Returns how many threads panicked.
    pub fn shutdown(self) -> usize {
        self.stop.store(true, Ordering::Relaxed);
        self.receivers
            .into_iter()
            .map(Receiver::join)
            .filter(Result::is_err)
            .count()
    }
}
