//! [`Sender`]: how an [`Outgoing`] leaves, for each [`Destination`].

use super::counters::Counters;
use super::segment;
use super::socket::{Family, ServerSocket, Sockets};
use crate::datagram::{Destination, Outgoing, Transmit};
use crate::sys;
use nix::errno::Errno;
use nix::sys::socket::{sendmmsg, ControlMessage, MsgFlags, MultiHeaders, SockaddrStorage};
use std::io::{self, IoSlice};
use std::net::{IpAddr, Ipv4Addr, SocketAddr, SocketAddrV4};
use std::os::fd::AsRawFd;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

/// Sends messages through the service's own sockets, so that they leave from its port and
/// addresses.
///
/// * `Relay(to)` / `Client(to)`: from a listen socket of `to`'s family: the one whose
///   interface has `to` on link, else the one bound to the preferred source (the server
///   identifier), else the first. Without listen sockets, from an interface socket with `to` on
///   link, else the first of that family.
/// * `Broadcast`: to 255.255.255.255 from that interface's socket.
/// * `Hardware`: installs the neighbour entry address -> chaddr on that interface (SIOCSARP;
///   Ethernet only, needs CAP_NET_ADMIN), then unicasts; if the entry cannot be installed,
///   broadcasts instead and counts a fallback.
/// * `Multicast`: to the group from that interface's IPv6 socket.
///
/// Errors are counted, never raised: a lost reply is retransmitted by its client. A send that
/// finds the socket's buffer full waits at most [`SEND_TIMEOUT`](super::SEND_TIMEOUT), and the
/// rest of a batch that met such a wait is dropped at once rather than each waiting in turn.
#[derive(Debug, Clone)]
pub struct Sender {
    sockets: Vec<Arc<ServerSocket>>,
    preferred: Option<IpAddr>,
    counters: Arc<Counters>,
}

impl Sender {
    /// `preferred` is the source preferred for unicast when no listen socket is on the
    /// destination's link (the server identifier), when it is a listen address.
    pub fn new(sockets: &Sockets, preferred: Option<IpAddr>, counters: Arc<Counters>) -> Self {
        Sender {
            sockets: sockets.iter().cloned().collect(),
            preferred,
            counters,
        }
    }

    pub fn counters(&self) -> &Arc<Counters> {
        &self.counters
    }

    /// The socket a unicast message to `to` leaves from.
    pub fn unicast_socket(&self, to: IpAddr) -> Option<&ServerSocket> {
        self.unicast_index(to).map(|i| &*self.sockets[i])
    }

    /// [`Sender::unicast_socket`] as a position in `sockets` (batches group by it).
    fn unicast_index(&self, to: IpAddr) -> Option<usize> {
        let family = match to {
            IpAddr::V4(_) => Family::V4,
            IpAddr::V6(_) => Family::V6,
        };
        let of_family = || {
            self.sockets
                .iter()
                .enumerate()
                .filter(move |(_, socket)| socket.family() == family)
        };
        let listen = || of_family().filter(|(_, socket)| socket.is_listen());
        let on_link = |(_, socket): &(usize, &Arc<ServerSocket>)| {
            socket.interface().is_some_and(|i| i.on_link(to))
        };
        let found = if listen().next().is_some() {
            listen()
                .find(on_link)
                .or_else(|| {
                    listen().find(|(_, socket)| Some(socket.local_addr().ip()) == self.preferred)
                })
                .or_else(|| listen().next())
        } else {
            of_family().find(on_link).or_else(|| of_family().next())
        };
        found.map(|(i, _)| i)
    }

    /// The socket of `family` that sends out of interface `index`: its interface socket, else a
    /// listen socket whose address is on that interface (the kernel routes a limited broadcast
    /// out of the interface holding the source address).
    pub fn interface_socket(&self, family: Family, index: u32) -> Option<&ServerSocket> {
        self.interface_index(family, index)
            .map(|i| &*self.sockets[i])
    }

    /// [`Sender::interface_socket`] as a position in `sockets` (batches group by it).
    fn interface_index(&self, family: Family, index: u32) -> Option<usize> {
        let on = |(_, socket): &(usize, &Arc<ServerSocket>)| {
            socket.family() == family && socket.interface_index() == Some(index)
        };
        let sockets = || self.sockets.iter().enumerate();
        sockets()
            .filter(|(_, socket)| !socket.is_listen())
            .find(on)
            .or_else(|| sockets().find(on))
            .map(|(i, _)| i)
    }

    /// Counts a send; false when it timed out (the send buffer stayed full).
    fn count_result(&self, result: io::Result<usize>, sent: &AtomicU64) -> bool {
        let counter = match &result {
            Ok(_) => sent,
            Err(e) if timed_out(e) => &self.counters.send_timeouts,
            Err(_) => &self.counters.send_errors,
        };
        counter.fetch_add(1, Ordering::Relaxed);
        !matches!(&result, Err(e) if timed_out(e))
    }

    fn broadcast(&self, socket: &ServerSocket, payload: &[u8], port: u16) {
        let result = socket
            .socket()
            .send_to(payload, SocketAddrV4::new(Ipv4Addr::BROADCAST, port));
        self.count_result(result, &self.counters.sent_broadcast);
    }

    fn no_socket(&self) {
        self.counters.send_errors.fetch_add(1, Ordering::Relaxed);
    }

    fn unicast_counter(&self, destination: &Destination) -> &AtomicU64 {
        match destination {
            Destination::Relay(_) => &self.counters.sent_relay,
            Destination::Broadcast { .. } => &self.counters.sent_broadcast,
            _ => &self.counters.sent_client,
        }
    }

    /// Where a message that can leave in a batch leaves from, and to where: unicast, and a
    /// limited broadcast out of one interface (every DHCPOFFER and DHCPACK to a client without
    /// an address, through a relay as directly); `None` for the others.
    fn batchable(&self, message: &Outgoing) -> Option<(usize, SocketAddr)> {
        match message.destination {
            Destination::Relay(to) | Destination::Client(to) => {
                Some((self.unicast_index(to.ip())?, to))
            }
            Destination::Broadcast {
                interface_index,
                port,
            } => Some((
                self.interface_index(Family::V4, interface_index)?,
                SocketAddrV4::new(Ipv4Addr::BROADCAST, port).into(),
            )),
            _ => None,
        }
    }

    /// Sends `run` (messages leaving through socket `index`): each run of equal-sized replies to
    /// one destination in one segmented send ([`segment`]), the others with sendmmsg, in order,
    /// counting each.
    fn send_run(&self, index: usize, run: &[(SocketAddr, Outgoing)]) {
        let socket = &self.sockets[index];
        let mut full = false;
        let mut unsent = 0;
        let mut at = 0;
        while at < run.len() {
            let len = segment::run_len(&run[at..], socket.segment_limit().get());
            if len >= 2 && !full {
                self.send_each(socket, &run[unsent..at], &mut full);
                let segmented = &run[at..at + len];
                // Not after a send that waited out the timeout: it would wait again.
                let sent = if full {
                    segment::Sent::Full
                } else {
                    segment::send(socket.socket(), segmented, socket.segment_limit())
                };
                match sent {
                    segment::Sent::All => self.count_segmented(segmented),
                    segment::Sent::Full => {
                        full = true;
                        let dropped = segmented.len() as u64;
                        self.counters
                            .send_timeouts
                            .fetch_add(dropped, Ordering::Relaxed);
                    }
                    segment::Sent::Refused => self.send_each(socket, segmented, &mut full),
                }
                unsent = at + len;
            }
            at += len.max(1);
        }
        self.send_each(socket, &run[unsent..], &mut full);
    }

    /// Counts each of `run`, sent in one segmented send.
    fn count_segmented(&self, run: &[(SocketAddr, Outgoing)]) {
        for (_, message) in run {
            self.unicast_counter(&message.destination)
                .fetch_add(1, Ordering::Relaxed);
        }
        self.counters
            .sent_segmented
            .fetch_add(run.len() as u64, Ordering::Relaxed);
    }

    /// Sends `run` through `socket` with sendmmsg, counting each; what the kernel did not take
    /// is sent one by one. Once a send has waited out the timeout (`full`), the rest are
    /// dropped and counted as timeouts.
    fn send_each(&self, socket: &ServerSocket, run: &[(SocketAddr, Outgoing)], full: &mut bool) {
        if run.is_empty() {
            return;
        }
        let sent = if *full {
            0
        } else {
            let slices: Vec<[IoSlice<'_>; 1]> = run
                .iter()
                .map(|(_, message)| [IoSlice::new(&message.payload)])
                .collect();
            let addresses: Vec<Option<SockaddrStorage>> = run
                .iter()
                .map(|(to, _)| Some(SockaddrStorage::from(*to)))
                .collect();
            let mut headers: MultiHeaders<SockaddrStorage> =
                MultiHeaders::preallocate(run.len(), None);
            match sendmmsg(
                socket.socket().as_raw_fd(),
                &mut headers,
                slices.iter(),
                &addresses,
                [] as [ControlMessage<'_>; 0],
                MsgFlags::empty(),
            ) {
                Ok(results) => results.count(),
                // The first message waited SEND_TIMEOUT for room: so would the others.
                Err(Errno::EAGAIN) => {
                    *full = true;
                    0
                }
                Err(_) => 0,
            }
        };
        for (i, (to, message)) in run.iter().enumerate() {
            let counter = self.unicast_counter(&message.destination);
            if i < sent {
                counter.fetch_add(1, Ordering::Relaxed);
            } else if *full {
                self.counters.send_timeouts.fetch_add(1, Ordering::Relaxed);
            } else {
                *full = !self.count_result(socket.socket().send_to(&message.payload, to), counter);
            }
        }
    }
}

/// A send that gave up after SO_SNDTIMEO: blocking sockets report it as EAGAIN.
fn timed_out(e: &io::Error) -> bool {
    e.kind() == io::ErrorKind::WouldBlock
}

impl Transmit for Sender {
    /// Unicast and broadcast messages (the bulk of the traffic) go out with one sendmmsg per
    /// run of messages leaving through the same socket; the others, which may need a neighbour
    /// entry first, one by one.
    fn send_batch(&self, messages: &mut Vec<Outgoing>) {
        if messages.len() == 1 {
            if let Some(message) = messages.pop() {
                self.send(message);
            }
            return;
        }
        let mut run: Vec<(SocketAddr, Outgoing)> = Vec::with_capacity(messages.len());
        let mut run_socket = None;
        for message in messages.drain(..) {
            match self.batchable(&message) {
                Some((index, to)) => {
                    if let Some(current) = run_socket.filter(|&s| s != index) {
                        self.send_run(current, &run);
                        run.clear();
                    }
                    run_socket = Some(index);
                    run.push((to, message));
                }
                None => self.send(message),
            }
        }
        if let Some(index) = run_socket {
            self.send_run(index, &run);
        }
    }

    fn send(&self, message: Outgoing) {
        match message.destination {
            Destination::Relay(to) | Destination::Client(to) => {
                let Some(socket) = self.unicast_socket(to.ip()) else {
                    return self.no_socket();
                };
                let counter = self.unicast_counter(&message.destination);
                self.count_result(socket.socket().send_to(&message.payload, to), counter);
            }
            Destination::Broadcast {
                interface_index,
                port,
            } => {
                let Some(socket) = self.interface_socket(Family::V4, interface_index) else {
                    return self.no_socket();
                };
                self.broadcast(socket, &message.payload, port);
            }
            Destination::Hardware {
                interface_index,
                address,
                port,
                htype,
                hlen,
                chaddr,
            } => {
                let Some(socket) = self.interface_socket(Family::V4, interface_index) else {
                    return self.no_socket();
                };
                let installed = match socket.interface() {
                    Some(interface) if htype == 1 && hlen == 6 => {
                        let mut hardware = [0u8; 6];
                        hardware.copy_from_slice(&chaddr[..6]);
                        sys::set_arp_entry(socket.socket(), &interface.name, address, hardware)
                            .is_ok()
                    }
                    _ => false,
                };
                if installed {
                    let result = socket
                        .socket()
                        .send_to(&message.payload, SocketAddrV4::new(address, port));
                    self.count_result(result, &self.counters.sent_hardware);
                } else {
                    self.counters.fallbacks.fetch_add(1, Ordering::Relaxed);
                    self.broadcast(socket, &message.payload, port);
                }
            }
            Destination::Multicast {
                interface_index,
                group,
            } => {
                let Some(socket) = self.interface_socket(Family::V6, interface_index) else {
                    return self.no_socket();
                };
                let mut to = group;
                // A link-scoped group needs its interface named.
                to.set_scope_id(interface_index);
                let result = socket.socket().send_to(&message.payload, to);
                self.count_result(result, &self.counters.sent_multicast);
            }
        }
    }
}
