//! Receiving: threads reading a socket in batches (recvmmsg), the destination address and
//! interface of every datagram read from its pktinfo, a stop flag looked at at least every
//! [`POLL_INTERVAL`](super::POLL_INTERVAL).
//!
//! A batch is whatever is queued when the thread wakes, up to [`BATCH`] datagrams: one system
//! call and one wake-up for all of them. The handler learns where a batch ends
//! ([`Handler::batch_done`]) so that it can send the replies of the batch together.
//!
//! While datagrams come close together (a batch within [`DENSE`] of the one before), the thread
//! does not go to sleep as soon as the socket is empty: for up to [`SPIN`] it polls the socket
//! without blocking, yielding its CPU to any other runnable thread between polls. A thread that
//! sleeps costs each next datagram a wake-up on both sides (the sender's kernel work to wake it,
//! then the scheduler, and on a virtual machine an idle vCPU's exit and re-entry), which is most
//! of a round trip when requests are answered one at a time. Sparse traffic never spins, nor does
//! a batch whose answers wait for something slow ([`Handler::worth_spinning`]), and a spin that
//! finds nothing costs [`SPIN`] of CPU that any other thread can take.

use super::counters::Counters;
use super::socket::ServerSocket;
use crate::datagram::Received;
use nix::errno::Errno;
use nix::sys::socket::{recvmmsg, ControlMessageOwned, MsgFlags, MultiHeaders, SockaddrStorage};
use std::io::{self, IoSliceMut};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV4, SocketAddrV6};
use std::os::fd::AsRawFd;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

/// The receive buffer per datagram. A DHCP message larger than this would need IP
/// fragmentation on any common link; larger datagrams are dropped and counted as truncated.
pub const DEFAULT_BUFFER: usize = 8192;

/// Most datagrams read by one system call.
pub const BATCH: usize = 32;

/// How long a receive thread polls an empty socket before it sleeps, when traffic is dense.
pub const SPIN: Duration = Duration::from_micros(50);

/// Traffic is dense when a batch arrives within this of the one before.
pub const DENSE: Duration = Duration::from_micros(200);

/// Until when to poll the socket without sleeping after a batch handled at `now`, the batch
/// before it having been handled at `previous`: [`SPIN`] past `now` when the two are within
/// [`DENSE`], else not at all.
pub fn spin_until(now: Instant, previous: Option<Instant>) -> Option<Instant> {
    let dense = previous.is_some_and(|p| now.saturating_duration_since(p) <= DENSE);
    dense.then(|| now + SPIN)
}

/// What a receive thread runs: one call per datagram, then one when the batch read together
/// has been handed over. Any `FnMut(Received)` closure is a handler that ignores batches.
pub trait Handler: Send + 'static {
    fn datagram(&mut self, rx: Received<'_>);

    /// Every datagram read by one system call has been passed to [`Handler::datagram`].
    fn batch_done(&mut self) {}

    /// Asked after [`Handler::batch_done`]: whether the answers just given may bring the next
    /// datagrams soon, so that polling the socket for a while ([`SPIN`]) can pay. A handler
    /// whose answers wait for something slow (a disk write) says no: its peers cannot come back
    /// before that, and a spinning thread would only take the CPU from the one doing it.
    fn worth_spinning(&mut self) -> bool {
        true
    }
}

impl<F> Handler for F
where
    F: FnMut(Received<'_>) + Send + 'static,
{
    fn datagram(&mut self, rx: Received<'_>) {
        self(rx)
    }
}

/// A thread reading one socket and calling a handler for every datagram. A handler that panics
/// ends the thread; its message is kept ([`Receiver::panic_message`]) for the caller to act on
/// and log, not only the default hook's line on stderr.
#[derive(Debug)]
pub struct Receiver {
    handle: JoinHandle<()>,
    name: String,
    panic: Arc<OnceLock<String>>,
}

impl Receiver {
    /// Starts a thread running [`receive_loop`] until `stop` is set; `name` prefixes the
    /// thread's name (e.g. "dhcp4").
    pub fn spawn<H: Handler>(
        name: &str,
        socket: Arc<ServerSocket>,
        stop: Arc<AtomicBool>,
        counters: Arc<Counters>,
        buffer_size: usize,
        handler: H,
    ) -> io::Result<Receiver> {
        let name = format!("{name} {}", socket.describe());
        let panic = Arc::new(OnceLock::new());
        let said = Arc::clone(&panic);
        let handle = thread::Builder::new().name(name.clone()).spawn(move || {
            // Nothing of the loop or its handler is used after a panic: both are dropped here.
            let run =
                AssertUnwindSafe(|| receive_loop(&socket, &stop, &counters, buffer_size, handler));
            if let Err(payload) = catch_unwind(run) {
                let _ = said.set(crate::panic::message(&*payload));
            }
        })?;
        Ok(Receiver {
            handle,
            name,
            panic,
        })
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn is_finished(&self) -> bool {
        self.handle.is_finished()
    }

    /// What the handler's panic said, once the thread ended with one.
    pub fn panic_message(&self) -> Option<&str> {
        self.panic.get().map(String::as_str)
    }

    /// Waits for the thread (set the stop flag first); an error if its handler panicked.
    pub fn join(self) -> Result<(), String> {
        let joined = self.handle.join();
        match self.panic.get() {
            Some(message) => Err(message.clone()),
            None => joined.map_err(|payload| crate::panic::message(&*payload)),
        }
    }
}

/// What is kept of one received datagram once the system call's borrows end.
#[derive(Clone, Copy)]
struct Meta {
    length: usize,
    source: SocketAddr,
    destination: IpAddr,
    interface_index: Option<u32>,
}

fn socket_addr(storage: &SockaddrStorage) -> Option<SocketAddr> {
    if let Some(a) = storage.as_sockaddr_in() {
        return Some(SocketAddr::V4(SocketAddrV4::new(a.ip(), a.port())));
    }
    let a = storage.as_sockaddr_in6()?;
    Some(SocketAddr::V6(SocketAddrV6::new(
        a.ip(),
        a.port(),
        a.flowinfo(),
        a.scope_id(),
    )))
}

/// Reads `socket` until `stop` is set, calling `handler` for each datagram. Truncated datagrams
/// (larger than `buffer_size`) are dropped and counted; receive errors are counted and the loop
/// goes on.
pub fn receive_loop<H: Handler>(
    socket: &ServerSocket,
    stop: &AtomicBool,
    counters: &Counters,
    buffer_size: usize,
    mut handler: H,
) {
    let slot = buffer_size.max(1);
    let mut buffer = vec![0u8; slot * BATCH];
    // Room for either family's pktinfo (in6_pktinfo is the larger).
    let mut headers: MultiHeaders<SockaddrStorage> =
        MultiHeaders::preallocate(BATCH, Some(nix::cmsg_space!(libc::in6_pktinfo)));
    let mut metas: Vec<Option<Meta>> = Vec::with_capacity(BATCH);
    let fd = socket.socket().as_raw_fd();
    let fallback_index = socket.interface_index();
    let local = socket.local_addr().ip();
    let mut last_batch: Option<Instant> = None;
    let mut spin: Option<Instant> = None;
    while !stop.load(Ordering::Relaxed) {
        metas.clear();
        {
            // On the stack: a spinning thread comes here for every empty poll.
            let mut chunks = buffer.chunks_exact_mut(slot);
            let mut iovs: [[IoSliceMut<'_>; 1]; BATCH] =
                std::array::from_fn(|_| [IoSliceMut::new(chunks.next().unwrap_or_default())]);
            // MSG_WAITFORONE: block (up to the socket's read timeout) for the first datagram
            // only, then take what is already queued; while spinning, MSG_DONTWAIT instead.
            // MSG_TRUNC: report a datagram's real size.
            let spinning = spin.is_some_and(|until| Instant::now() < until);
            let wait = if spinning {
                MsgFlags::MSG_DONTWAIT
            } else {
                MsgFlags::MSG_WAITFORONE
            };
            let flags = wait | MsgFlags::MSG_TRUNC;
            let results = match recvmmsg(fd, &mut headers, iovs.iter_mut(), flags, None) {
                Ok(results) => results,
                Err(Errno::EAGAIN) if spinning => {
                    thread::yield_now();
                    continue;
                }
                Err(Errno::EAGAIN) | Err(Errno::EINTR) => continue,
                Err(_) => {
                    counters.receive_errors.fetch_add(1, Ordering::Relaxed);
                    // A persistent error must not spin: wait as a timeout would.
                    thread::sleep(super::POLL_INTERVAL / 4);
                    continue;
                }
            };
            for message in results {
                if message.flags.contains(MsgFlags::MSG_TRUNC) || message.bytes > slot {
                    counters.truncated.fetch_add(1, Ordering::Relaxed);
                    metas.push(None);
                    continue;
                }
                let Some(source) = message.address.as_ref().and_then(socket_addr) else {
                    counters.receive_errors.fetch_add(1, Ordering::Relaxed);
                    metas.push(None);
                    continue;
                };
                let mut destination = None;
                let mut interface_index = None;
                if let Ok(cmsgs) = message.cmsgs() {
                    for cmsg in cmsgs {
                        match cmsg {
                            ControlMessageOwned::Ipv4PacketInfo(info) => {
                                destination = Some(IpAddr::V4(Ipv4Addr::from(u32::from_be(
                                    info.ipi_addr.s_addr,
                                ))));
                                interface_index = u32::try_from(info.ipi_ifindex).ok();
                            }
                            ControlMessageOwned::Ipv6PacketInfo(info) => {
                                destination =
                                    Some(IpAddr::V6(Ipv6Addr::from(info.ipi6_addr.s6_addr)));
                                interface_index = Some(info.ipi6_ifindex);
                            }
                            _ => {}
                        }
                    }
                }
                metas.push(Some(Meta {
                    length: message.bytes,
                    source,
                    destination: destination.unwrap_or(local),
                    interface_index: interface_index
                        .filter(|&index| index != 0)
                        .or(fallback_index),
                }));
            }
        }
        let mut delivered = false;
        for (meta, chunk) in metas.iter().zip(buffer.chunks_exact(slot)) {
            let Some(meta) = meta else { continue };
            counters.received.fetch_add(1, Ordering::Relaxed);
            delivered = true;
            handler.datagram(Received {
                payload: &chunk[..meta.length],
                source: meta.source,
                destination: meta.destination,
                interface_index: meta.interface_index,
            });
        }
        let mut worth_spinning = false;
        if delivered {
            handler.batch_done();
            worth_spinning = handler.worth_spinning();
        }
        let now = Instant::now();
        spin = spin_until(now, last_batch).filter(|_| worth_spinning);
        last_batch = Some(now);
    }
}
