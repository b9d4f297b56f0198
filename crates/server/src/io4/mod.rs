//! The DHCPv4 socket layer: opens the sockets `[dhcp4]` names, reads datagrams into
//! [`Received`](crate::dhcp4::Received) (destination address and ifindex from IP_PKTINFO), and
//! sends [`Reply`](crate::dhcp4::Reply)s where their [`Destination`](crate::dhcp4::Destination)
//! says. Plain threads: receivers per socket (several may share one), each stopping within [`POLL_INTERVAL`] of its
//! stop flag being set.
//!
//! * a `listen` address gets a socket bound to address:port (relayed traffic, unicast renewals);
//! * an `interfaces` entry gets a socket bound to 0.0.0.0:port with SO_BINDTODEVICE, for clients
//!   on that link broadcasting to 255.255.255.255.
//!
//! The only unsafe code of the crate is in `sys` (the SIOCSARP ioctl, and setpriority(2) for
//! the bulk leasequery connection threads).

mod counters;
mod error;
mod iface;
mod receive;
mod socket;
mod sys;
mod transmit;

#[cfg(test)]
mod tests;

pub use counters::{CounterSnapshot, Counters};
pub use error::OpenError;
pub use iface::Interface;
pub use receive::{receive_loop, Handler, Receiver, BATCH, DEFAULT_BUFFER};
pub use socket::{ServerSocket, SocketKind, Sockets, POLL_INTERVAL};
pub use sys::{set_arp_entry, set_thread_nice};
pub use transmit::{UdpTransmit, CLIENT_PORT};

use std::io;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread;

/// Receivers running on every socket of a [`Sockets`], with one stop flag.
#[derive(Debug)]
pub struct Running {
    stop: Arc<AtomicBool>,
    receivers: Vec<Receiver>,
}

impl Running {
    /// Starts `threads_per_socket` (at least one) [`Receiver`]s per socket, all reading the same
    /// socket: the kernel wakes one reader per datagram, so datagrams are handled in parallel
    /// (the kernel's receive and send work, which is most of a reply's cost, included).
    /// `make_handler` is called once per thread to make the handler it runs. If a thread cannot
    /// be started, those already started are stopped.
    pub fn start<F, H>(
        sockets: &Sockets,
        counters: Arc<Counters>,
        buffer_size: usize,
        threads_per_socket: usize,
        mut make_handler: F,
    ) -> io::Result<Running>
    where
        F: FnMut(&ServerSocket) -> H,
        H: Handler,
    {
        let per_socket = threads_per_socket.max(1);
        let mut running = Running {
            stop: Arc::new(AtomicBool::new(false)),
            receivers: Vec::with_capacity(sockets.len() * per_socket),
        };
        let threads = sockets
            .iter()
            .flat_map(|socket| std::iter::repeat_n(socket, per_socket));
        for socket in threads {
            let handler = make_handler(socket);
            match Receiver::spawn(
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

    /// Sets the stop flag and waits for every receiver. Returns how many threads panicked.
    pub fn shutdown(self) -> usize {
        self.stop.store(true, Ordering::Relaxed);
        self.receivers
            .into_iter()
            .map(Receiver::join)
            .filter(thread::Result::is_err)
            .count()
    }
}
