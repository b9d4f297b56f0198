//! Receiving: one thread per socket, IP_PKTINFO read for every datagram, a stop flag looked at
//! at least every [`POLL_INTERVAL`](super::POLL_INTERVAL).

use super::counters::Counters;
use super::socket::ServerSocket;
use crate::dhcp4::Received;
use nix::errno::Errno;
use nix::sys::socket::{recvmsg, ControlMessageOwned, MsgFlags, SockaddrIn};
use std::io::{self, IoSliceMut};
use std::net::{Ipv4Addr, SocketAddrV4};
use std::os::fd::AsRawFd;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::{self, JoinHandle};

/// The receive buffer of a loop: large enough for any UDP datagram.
pub const DEFAULT_BUFFER: usize = 65535;

/// A thread reading one socket and calling a handler for every datagram.
#[derive(Debug)]
pub struct Receiver {
    handle: JoinHandle<()>,
    name: String,
}

impl Receiver {
    /// Starts a thread running [`receive_loop`] until `stop` is set.
    pub fn spawn<H>(
        socket: Arc<ServerSocket>,
        stop: Arc<AtomicBool>,
        counters: Arc<Counters>,
        buffer_size: usize,
        handler: H,
    ) -> io::Result<Receiver>
    where
        H: FnMut(Received<'_>) + Send + 'static,
    {
        let name = format!("dhcp4 {}", socket.describe());
        let handle = thread::Builder::new()
            .name(name.clone())
            .spawn(move || receive_loop(&socket, &stop, &counters, buffer_size, handler))?;
        Ok(Receiver { handle, name })
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn is_finished(&self) -> bool {
        self.handle.is_finished()
    }

    /// Waits for the thread (set the stop flag first).
    pub fn join(self) -> thread::Result<()> {
        self.handle.join()
    }
}

/// Reads `socket` until `stop` is set, calling `handler` for each datagram. Truncated datagrams
/// (larger than `buffer_size`) are dropped and counted; receive errors are counted and the loop
/// goes on.
pub fn receive_loop<H>(
    socket: &ServerSocket,
    stop: &AtomicBool,
    counters: &Counters,
    buffer_size: usize,
    mut handler: H,
) where
    H: FnMut(Received<'_>),
{
    let mut buffer = vec![0u8; buffer_size.max(1)];
    let mut control = nix::cmsg_space!(libc::in_pktinfo);
    let fd = socket.socket().as_raw_fd();
    let fallback_index = socket.interface_index();
    while !stop.load(Ordering::Relaxed) {
        let (length, source, destination, interface_index) = {
            let mut iov = [IoSliceMut::new(&mut buffer)];
            let message = match recvmsg::<SockaddrIn>(
                fd,
                &mut iov,
                Some(&mut control),
                MsgFlags::MSG_TRUNC,
            ) {
                Ok(message) => message,
                Err(Errno::EAGAIN) | Err(Errno::EINTR) => continue,
                Err(_) => {
                    counters.receive_errors.fetch_add(1, Ordering::Relaxed);
                    // A persistent error must not spin: wait as a timeout would.
                    thread::sleep(super::POLL_INTERVAL / 4);
                    continue;
                }
            };
            if message.flags.contains(MsgFlags::MSG_TRUNC) || message.bytes > buffer_size {
                counters.truncated.fetch_add(1, Ordering::Relaxed);
                continue;
            }
            let Some(source) = message.address else {
                counters.receive_errors.fetch_add(1, Ordering::Relaxed);
                continue;
            };
            let mut destination = None;
            let mut interface_index = None;
            if let Ok(cmsgs) = message.cmsgs() {
                for cmsg in cmsgs {
                    if let ControlMessageOwned::Ipv4PacketInfo(info) = cmsg {
                        destination = Some(Ipv4Addr::from(u32::from_be(info.ipi_addr.s_addr)));
                        interface_index = u32::try_from(info.ipi_ifindex).ok();
                    }
                }
            }
            (
                message.bytes,
                SocketAddrV4::new(source.ip(), source.port()),
                destination.unwrap_or(*socket.local_addr().ip()),
                interface_index
                    .filter(|&index| index != 0)
                    .or(fallback_index),
            )
        };
        counters.received.fetch_add(1, Ordering::Relaxed);
        handler(Received {
            payload: &buffer[..length],
            source,
            destination,
            interface_index,
        });
    }
}
