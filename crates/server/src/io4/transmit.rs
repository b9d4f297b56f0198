//! [`UdpTransmit`]: how a [`Reply`] leaves, for each [`Destination`].

use super::counters::Counters;
use super::socket::{ServerSocket, SocketKind, Sockets};
use super::sys;
use crate::dhcp4::{Destination, Reply, Transmit};
use nix::sys::socket::{sendmmsg, ControlMessage, MsgFlags, MultiHeaders, SockaddrIn};
use std::io::{self, IoSlice};
use std::net::{Ipv4Addr, SocketAddrV4};
use std::os::fd::AsRawFd;
use std::sync::atomic::Ordering;
use std::sync::Arc;

/// The DHCP client port.
pub const CLIENT_PORT: u16 = 68;

/// Sends replies through the server's own sockets, so they leave from the server's port and
/// addresses.
///
/// * `Relay(addr)` / `Client(addr)`: `send_to` from a listen socket: the one on the same subnet
///   as `addr`, else the one bound to the server identifier, else the first. Without listen
///   sockets, from an interface socket on the same subnet, else the first.
/// * `Broadcast { ifindex }`: to 255.255.255.255:68 from that interface's socket.
/// * `Hardware { .. }`: installs the neighbour entry address -> chaddr on that interface
///   (SIOCSARP; Ethernet only, needs CAP_NET_ADMIN), then unicasts to address:68; if the entry
///   cannot be installed, broadcasts instead and counts a fallback.
///
/// Errors are counted, never raised: a lost reply is retransmitted by the client.
#[derive(Debug, Clone)]
pub struct UdpTransmit {
    sockets: Vec<Arc<ServerSocket>>,
    identifier: Option<Ipv4Addr>,
    counters: Arc<Counters>,
}

impl UdpTransmit {
    /// `identifier` is the server identifier (option 54), preferred as the source of unicast
    /// replies when it is a listen address.
    pub fn new(sockets: &Sockets, identifier: Option<Ipv4Addr>, counters: Arc<Counters>) -> Self {
        UdpTransmit {
            sockets: sockets.iter().cloned().collect(),
            identifier,
            counters,
        }
    }

    pub fn counters(&self) -> &Arc<Counters> {
        &self.counters
    }

    /// The socket a unicast reply to `to` leaves from.
    pub fn unicast_socket(&self, to: Ipv4Addr) -> Option<&ServerSocket> {
        self.unicast_index(to).map(|i| &*self.sockets[i])
    }

    /// [`UdpTransmit::unicast_socket`] as a position in `sockets` (batches group by it).
    fn unicast_index(&self, to: Ipv4Addr) -> Option<usize> {
        let listen = || {
            self.sockets
                .iter()
                .enumerate()
                .filter(|(_, socket)| matches!(socket.kind(), SocketKind::Listen { .. }))
        };
        let on_link = |(_, socket): &(usize, &Arc<ServerSocket>)| {
            socket.interface().is_some_and(|i| i.on_link(to))
        };
        let found = if listen().next().is_some() {
            listen()
                .find(on_link)
                .or_else(|| {
                    listen().find(|(_, socket)| Some(*socket.local_addr().ip()) == self.identifier)
                })
                .or_else(|| listen().next())
        } else {
            self.sockets
                .iter()
                .enumerate()
                .find(on_link)
                .or_else(|| self.sockets.iter().enumerate().next())
        };
        found.map(|(i, _)| i)
    }

    /// The socket that sends out of interface `index`: its interface socket, else a listen
    /// socket whose address is on that interface (the kernel routes a limited broadcast out of
    /// the interface holding the source address).
    pub fn interface_socket(&self, index: u32) -> Option<&ServerSocket> {
        let on = |socket: &&Arc<ServerSocket>| socket.interface_index() == Some(index);
        self.sockets
            .iter()
            .filter(|socket| matches!(socket.kind(), SocketKind::Interface(_)))
            .find(on)
            .or_else(|| self.sockets.iter().find(on))
            .map(|socket| &**socket)
    }

    fn count_result(&self, result: io::Result<usize>, sent: &std::sync::atomic::AtomicU64) {
        match result {
            Ok(_) => sent.fetch_add(1, Ordering::Relaxed),
            Err(_) => self.counters.send_errors.fetch_add(1, Ordering::Relaxed),
        };
    }

    fn broadcast(&self, socket: &ServerSocket, message: &[u8]) {
        let result = socket
            .socket()
            .send_to(message, SocketAddrV4::new(Ipv4Addr::BROADCAST, CLIENT_PORT));
        self.count_result(result, &self.counters.sent_broadcast);
    }

    fn no_socket(&self) {
        self.counters.send_errors.fetch_add(1, Ordering::Relaxed);
    }
}

impl UdpTransmit {
    /// Where a unicast reply leaves from, or `None` for the other destinations.
    fn unicast(&self, reply: &Reply) -> Option<(usize, SocketAddrV4)> {
        match reply.destination {
            Destination::Relay(to) | Destination::Client(to) => {
                Some((self.unicast_index(*to.ip())?, to))
            }
            _ => None,
        }
    }

    /// Sends `run` (unicast replies leaving through socket `index`) with sendmmsg, counting
    /// each; what the kernel did not take is sent one by one.
    fn send_run(&self, index: usize, run: &[(SocketAddrV4, Reply)]) {
        let socket = &self.sockets[index];
        let slices: Vec<[IoSlice<'_>; 1]> = run
            .iter()
            .map(|(_, reply)| [IoSlice::new(&reply.message)])
            .collect();
        let addresses: Vec<Option<SockaddrIn>> = run
            .iter()
            .map(|(to, _)| Some(SockaddrIn::from(*to)))
            .collect();
        let mut headers: MultiHeaders<SockaddrIn> = MultiHeaders::preallocate(run.len(), None);
        let sent = sendmmsg(
            socket.socket().as_raw_fd(),
            &mut headers,
            slices.iter(),
            &addresses,
            [] as [ControlMessage<'_>; 0],
            MsgFlags::empty(),
        )
        .map_or(0, |results| results.count());
        for (i, (to, reply)) in run.iter().enumerate() {
            let counter = match reply.destination {
                Destination::Relay(_) => &self.counters.sent_relay,
                _ => &self.counters.sent_client,
            };
            if i < sent {
                counter.fetch_add(1, Ordering::Relaxed);
            } else {
                self.count_result(socket.socket().send_to(&reply.message, to), counter);
            }
        }
    }
}

impl Transmit for UdpTransmit {
    /// Unicast replies (to relays and to clients with an address, the bulk of the traffic) go
    /// out with one sendmmsg per run of replies leaving through the same socket; the others,
    /// which may need a neighbour entry first, one by one.
    fn send_batch(&self, replies: &mut Vec<Reply>) {
        if replies.len() == 1 {
            if let Some(reply) = replies.pop() {
                self.send(reply);
            }
            return;
        }
        let mut run: Vec<(SocketAddrV4, Reply)> = Vec::with_capacity(replies.len());
        let mut run_socket = None;
        for reply in replies.drain(..) {
            match self.unicast(&reply) {
                Some((index, to)) => {
                    if let Some(current) = run_socket.filter(|&s| s != index) {
                        self.send_run(current, &run);
                        run.clear();
                    }
                    run_socket = Some(index);
                    run.push((to, reply));
                }
                None => self.send(reply),
            }
        }
        if let Some(index) = run_socket {
            self.send_run(index, &run);
        }
    }

    fn send(&self, reply: Reply) {
        match reply.destination {
            Destination::Relay(to) | Destination::Client(to) => {
                let Some(socket) = self.unicast_socket(*to.ip()) else {
                    return self.no_socket();
                };
                let counter = if matches!(reply.destination, Destination::Relay(_)) {
                    &self.counters.sent_relay
                } else {
                    &self.counters.sent_client
                };
                self.count_result(socket.socket().send_to(&reply.message, to), counter);
            }
            Destination::Broadcast { interface_index } => {
                let Some(socket) = self.interface_socket(interface_index) else {
                    return self.no_socket();
                };
                self.broadcast(socket, &reply.message);
            }
            Destination::Hardware {
                interface_index,
                address,
                htype,
                hlen,
                chaddr,
            } => {
                let Some(socket) = self.interface_socket(interface_index) else {
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
                        .send_to(&reply.message, SocketAddrV4::new(address, CLIENT_PORT));
                    self.count_result(result, &self.counters.sent_hardware);
                } else {
                    self.counters.fallbacks.fetch_add(1, Ordering::Relaxed);
                    self.broadcast(socket, &reply.message);
                }
            }
        }
    }
}
