//! The on-demand leasequery threads, one per family: [`Lookups`] over a UDP socket of its own
//! (an ephemeral port), fed by one channel: questions from the control socket and datagrams from
//! its socket. What the engines gleaned (which makes negative answers stale) is not sent: it
//! waits in [`Shared`] (DHCPv6: in the engine), where the receive threads put it under the lock
//! they hold anyway, and the thread takes it before each question and at each tick
//! ([`crate::gleans::Gleans`]), so relaying a
//! DHCPACK never wakes a lookup thread. DHCPv4: the socket is bound to the first giaddr, and
//! leasequery replies that reached the relay's own port are passed in too (servers answer at
//! giaddr, port 67: RFC 4388 §6.4.3). DHCPv6: bound to the unspecified address; a server answers
//! a LEASEQUERY at its source address and port (as `lessor serve` does, docs/protocol.md
//! decision 8), so only this socket hears the answers. What a thread learns is merged into the
//! table under the shared lock.

use super::{lock, Shared};
use crate::location::Merge;
use crate::recovery::lookup::{Asked, Done, Lookups, Said};
use crate::v6::Relay6;
use lessor_net::Clock;
use lessor_requestor::{V4, V6};
use lessor_wire::v4::{MessageType, Packet, BOOTREPLY};
use std::collections::HashMap;
use std::io;
use std::net::{IpAddr, Ipv4Addr, SocketAddr, UdpSocket};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// How often the threads look at the stop flag when nothing happens.
const TICK: Duration = Duration::from_millis(200);

/// What a lookup thread is told.
pub(super) enum Input<F: Asked> {
    /// A question; the answer goes to `reply` (dropped unanswered when it cannot be asked).
    Ask {
        address: F::Address,
        reply: Sender<Done>,
    },
    /// A datagram for the requestor.
    Reply { from: SocketAddr, bytes: Vec<u8> },
}

/// Where a family's lookup thread finds what was gleaned, in [`Shared`].
pub(super) trait Gleaned: Asked {
    fn take_gleaned(s: &mut Shared) -> Option<Vec<Self::Bound>>;
}

impl Gleaned for V4 {
    fn take_gleaned(s: &mut Shared) -> Option<Vec<Ipv4Addr>> {
        s.gleans4.take()
    }
}

impl Gleaned for V6 {
    fn take_gleaned(s: &mut Shared) -> Option<Vec<ipnet::Ipv6Net>> {
        s.engine6
            .as_mut()
            .map_or(Some(Vec::new()), Relay6::take_gleaned)
    }
}

/// Asks a lookup thread and waits a bounded time for the answer.
pub(super) struct Asker<F: Asked> {
    tx: Sender<Input<F>>,
    wait: Duration,
}

impl<F: Asked> Clone for Asker<F> {
    fn clone(&self) -> Self {
        Asker {
            tx: self.tx.clone(),
            wait: self.wait,
        }
    }
}

impl<F: Asked> Asker<F> {
    /// What the servers say of `address`; `None` when no answer came within the wait.
    pub(super) fn ask(&self, address: F::Address) -> Option<Done> {
        let (reply, answer) = mpsc::channel();
        self.tx.send(Input::Ask { address, reply }).ok()?;
        answer.recv_timeout(self.wait).ok()
    }
}

/// Both families' [`Asker`]s, as the control socket holds them.
#[derive(Clone, Default)]
pub(super) struct Askers {
    pub v4: Option<Asker<V4>>,
    pub v6: Option<Asker<V6>>,
}

impl Askers {
    /// What the servers say of `address` (`Some(None)`: nothing within the wait); `None` when
    /// its family has no on-demand lookups.
    pub(super) fn ask(&self, address: IpAddr) -> Option<Option<Done>> {
        match address {
            IpAddr::V4(a) => self.v4.as_ref().map(|k| k.ask(a)),
            IpAddr::V6(a) => self.v6.as_ref().map(|k| k.ask(a)),
        }
    }
}

/// What the relay's port passes on to the lookup thread, read with one parse of the datagram:
/// a DHCPLEASEUNASSIGNED, -UNKNOWN or -ACTIVE (what only answers a leasequery), handed to the
/// requestor instead of the relay engine; or the yiaddr of a DHCPACK, which the engine gleans.
pub(super) enum Seen {
    LeasequeryReply,
    Acked(Ipv4Addr),
    Other,
}

/// See [`Seen`].
pub(super) fn seen(payload: &[u8]) -> Seen {
    let Ok(p) = Packet::new_checked(payload) else {
        return Seen::Other;
    };
    if p.op() != BOOTREPLY {
        return Seen::Other;
    }
    match p.index().ok().and_then(|i| i.message_type().ok().flatten()) {
        Some(
            MessageType::LeaseUnassigned | MessageType::LeaseUnknown | MessageType::LeaseActive,
        ) => Seen::LeasequeryReply,
        Some(MessageType::Ack) if !p.yiaddr().is_unspecified() => Seen::Acked(p.yiaddr()),
        _ => Seen::Other,
    }
}

/// The running thread (and its socket's reader).
pub(super) struct Thread<F: Asked> {
    tx: Sender<Input<F>>,
    stop: Arc<AtomicBool>,
    threads: Vec<JoinHandle<()>>,
}

impl<F> Thread<F>
where
    F: Gleaned + Send + 'static,
    F::Address: Send,
    F::Bound: Send,
    Lookups<F>: Send,
{
    /// Binds `bind` and starts the threads, named after `family`.
    pub(super) fn start(
        family: &str,
        bind: SocketAddr,
        lookups: Lookups<F>,
        shared: Arc<Mutex<Shared>>,
        clock: Clock,
    ) -> io::Result<Thread<F>> {
        let socket = UdpSocket::bind(bind)?;
        let reader = socket.try_clone()?;
        reader.set_read_timeout(Some(TICK))?;
        let (tx, rx) = mpsc::channel();
        let stop = Arc::new(AtomicBool::new(false));
        let mut threads = Vec::new();
        let (flag, to_engine) = (Arc::clone(&stop), tx.clone());
        threads.push(
            std::thread::Builder::new()
                .name(format!("relay lq{family} read"))
                .spawn(move || read(&reader, &to_engine, &flag))?,
        );
        let flag = Arc::clone(&stop);
        threads.push(
            std::thread::Builder::new()
                .name(format!("relay lq{family}"))
                .spawn(move || serve(lookups, &socket, &rx, &shared, clock, &flag))?,
        );
        Ok(Thread { tx, stop, threads })
    }

    /// The channel into the thread.
    pub(super) fn sender(&self) -> Sender<Input<F>> {
        self.tx.clone()
    }

    /// A handle that waits `wait` for answers.
    pub(super) fn asker(&self, wait: Duration) -> Asker<F> {
        Asker {
            tx: self.tx.clone(),
            wait,
        }
    }

    pub(super) fn shutdown(mut self) {
        self.stop.store(true, Ordering::Relaxed);
        for t in self.threads.drain(..) {
            let _ = t.join();
        }
    }
}

fn read<F: Asked>(socket: &UdpSocket, tx: &Sender<Input<F>>, stop: &AtomicBool) {
    let mut buf = vec![0u8; 65_536];
    while !stop.load(Ordering::Relaxed) {
        // Timeouts, and an ICMP unreachable from a server not listening: keep reading.
        if let Ok((n, from)) = socket.recv_from(&mut buf) {
            let bytes = buf[..n].to_vec();
            if tx.send(Input::Reply { from, bytes }).is_err() {
                return;
            }
        }
    }
}

fn serve<F: Gleaned>(
    mut lookups: Lookups<F>,
    socket: &UdpSocket,
    rx: &Receiver<Input<F>>,
    shared: &Mutex<Shared>,
    clock: Clock,
    stop: &AtomicBool,
) {
    let mut waiting: HashMap<u64, Sender<Done>> = HashMap::new();
    let mut next_token: u64 = 0;
    while !stop.load(Ordering::Relaxed) {
        // Before any question is asked: what was seen bound since makes cached negatives stale.
        match F::take_gleaned(&mut lock(shared)) {
            Some(bound) => bound.into_iter().for_each(|b| lookups.gleaned(b)),
            None => lookups.forget_answers(),
        }
        let now = Instant::now();
        while let Some((to, bytes)) = lookups.poll_transmit(now) {
            // A send that fails is a server that does not answer: the requestor retries.
            let _ = socket.send_to(&bytes, to);
        }
        while let Some(done) = lookups.poll_done(now, clock.now().wall) {
            apply(shared, &done);
            if let Some(reply) = waiting.remove(&done.token) {
                let _ = reply.send(done);
            }
        }
        let wait = lookups
            .poll_timeout()
            .map_or(TICK, |t| t.saturating_duration_since(now))
            .clamp(Duration::from_millis(1), TICK);
        match rx.recv_timeout(wait) {
            Ok(Input::Ask { address, reply }) => {
                next_token += 1;
                if lookups.ask(next_token, address, Instant::now()).is_ok() {
                    waiting.insert(next_token, reply);
                }
            }
            Ok(Input::Reply { from, bytes }) => lookups.handle_reply(from, &bytes, Instant::now()),
            Err(RecvTimeoutError::Timeout) => {}
            Err(RecvTimeoutError::Disconnected) => return,
        }
    }
}

/// What an answer does to the table and the counters.
fn apply(shared: &Mutex<Shared>, done: &Done) {
    let mut s = lock(shared);
    if done.from_cache {
        s.cache_hits += 1;
    }
    if let Said::Here(location) = &done.said {
        if matches!(
            s.table.merge(location.clone()),
            Merge::Added | Merge::Replaced
        ) {
            s.queried += 1;
        }
    }
}
