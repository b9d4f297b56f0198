//! The I/O loop: one UDP socket, one thread, the outstanding clients and their retransmission
//! deadlines in [`crate::outstanding`].
//!
//! The loop keeps at most `in_flight` clients with an exchange outstanding, starts a new one as
//! soon as one ends (closed loop), and stops when every client has ended or the duration is
//! over. Each turn handles the deadlines that passed, then waits for one datagram no longer than
//! the next deadline (and never more than 100 ms), so the loop always makes progress
//! toward the end of the run.

use std::fs::File;
use std::io::{self, Write};
use std::net::{Ipv4Addr, UdpSocket};
use std::time::{Duration, Instant};

use lessor_wire::v4::Repr;

use super::client::{format_mac, Client, End, Identity, Phase, Step, Timing};
use super::config::Config;
use super::report::Report;
use crate::latency::Summary;
use crate::outstanding::{Deadline, Outstanding};
use crate::udp_wait::{recv_until, size_receive_buffer, Received};

/// Binds `config.bind` and runs.
pub fn run(config: &Config) -> io::Result<Report> {
    let socket = UdpSocket::bind(config.bind)?;
    size_receive_buffer(&socket, config.in_flight);
    if config.on_link {
        // To send to 255.255.255.255 as a client does, when --server says so.
        socket.set_broadcast(true)?;
    }
    run_on(config, &socket)
}

/// Runs on an already bound socket (tests bind 127.0.0.1:0 and tell their server the port).
pub fn run_on(config: &Config, socket: &UdpSocket) -> io::Result<Report> {
    config
        .validate()
        .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e))?;
    let acked_out = match &config.acked_out {
        Some(path) => Some(io::LineWriter::new(File::create(path)?)),
        None => None,
    };
    let mut run = Run {
        socket,
        config,
        timing: Timing {
            timeout: config.timeout,
            retries: config.retries,
            nak_restarts: config.nak_restarts,
        },
        counters: Counters::default(),
        samples: Samples::default(),
        acked: Vec::new(),
        acked_out,
        live: Outstanding::new(),
        next_index: 0,
    };
    let mut buf = vec![0u8; 65_536];
    let mut last_wait = None;

    let start = Instant::now();
    let end_by = start + config.duration;
    let mut end;

    loop {
        let now = Instant::now();
        end = now;
        if now >= end_by {
            break;
        }
        run.fill_window(now)?;
        if run.live.is_empty() && run.next_index >= config.clients {
            break;
        }
        if run.expire(now)? {
            // Some exchange may have ended: refill the window before waiting.
            continue;
        }
        // Wait for one datagram, no longer than the next deadline.
        let next = run.live.next_deadline().unwrap_or(end_by).min(end_by);
        match recv_until(socket, &mut buf, now, next, &mut last_wait)? {
            Received::Datagram(n) => {
                run.received(Instant::now(), buf.get(..n).unwrap_or(&[]))?;
            }
            Received::Nothing => {}
            Received::Error => run.counters.recv_errors += 1,
        }
    }

    if let Some(w) = run.acked_out.as_mut() {
        w.flush()?;
    }
    Ok(run.report(end.saturating_duration_since(start)))
}

#[derive(Debug, Default)]
struct Counters {
    started: u64,
    completed: u64,
    naks: u64,
    restarts: u64,
    drops_discover: u64,
    drops_request: u64,
    unexpected: u64,
    malformed: u64,
    retransmissions: u64,
    releases: u64,
    send_errors: u64,
    recv_errors: u64,
}

/// At most one sample per client and kind: bounded by `clients`.
#[derive(Debug, Default)]
struct Samples {
    dora: Vec<Duration>,
    discover_offer: Vec<Duration>,
    request_ack: Vec<Duration>,
}

/// The state of one run besides the loop's own variables.
struct Run<'a> {
    socket: &'a UdpSocket,
    config: &'a Config,
    timing: Timing,
    counters: Counters,
    samples: Samples,
    acked: Vec<(Ipv4Addr, [u8; 6])>,
    acked_out: Option<io::LineWriter<File>>,
    /// Clients with an exchange outstanding, by xid (unique within a run).
    live: Outstanding<Client>,
    /// Index of the next client to start.
    next_index: u32,
}

impl Run<'_> {
    /// Starts clients until `in_flight` are outstanding or all have started.
    fn fill_window(&mut self, now: Instant) -> io::Result<()> {
        while self.live.len() < self.config.in_flight as usize
            && self.next_index < self.config.clients
        {
            let id = Identity::new(
                self.next_index,
                self.config.seed,
                self.config.giaddr,
                &self.config.relay_id,
                self.config.link_selection,
            )
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e.to_string()))?;
            let id = if self.config.client_id {
                id.with_client_id()
            } else {
                id
            };
            let id = if self.config.on_link {
                id.on_link()
            } else {
                id
            };
            self.next_index += 1;
            let xid = id.xid;
            let mut client = Client::new(id, self.timing, self.config.release);
            let step = client.start(now);
            self.live.insert(xid, client);
            self.counters.started += 1;
            self.apply(xid, step)?;
        }
        Ok(())
    }

    /// Handles every deadline at or before `now`; true when any client acted.
    fn expire(&mut self, now: Instant) -> io::Result<bool> {
        let mut fired = false;
        while let Some(xid) = self.live.pop_due(now) {
            let step = match self.live.get_mut(xid) {
                Some(c) => c.on_timeout(now),
                None => continue,
            };
            if matches!(step, Step::Send { .. }) {
                self.counters.retransmissions += 1;
            }
            fired = true;
            self.apply(xid, step)?;
        }
        Ok(fired)
    }

    /// One datagram arrived on the socket.
    fn received(&mut self, now: Instant, datagram: &[u8]) -> io::Result<()> {
        let Ok(reply) = Repr::from_bytes(datagram) else {
            self.counters.malformed += 1;
            return Ok(());
        };
        let xid = reply.xid;
        let step = match self.live.get_mut(xid) {
            Some(c) => c.handle(now, &reply),
            None => Step::Ignore(super::client::Ignored::Finished),
        };
        self.apply(xid, step)
    }

    fn send(&mut self, message: &[u8]) {
        // A failed send (full socket buffer, no route) is retransmitted at the deadline.
        if self.socket.send_to(message, self.config.server).is_err() {
            self.counters.send_errors += 1;
        }
    }

    /// Carries out a client's step on the socket and the run's books.
    fn apply(&mut self, xid: u32, step: Step) -> io::Result<()> {
        match step {
            Step::Wait => {}
            Step::Ignore(_) => self.counters.unexpected += 1,
            Step::Send { message, deadline } => {
                self.send(&message);
                self.live.wait_until(xid, deadline);
            }
            Step::Done { outcome, release } => {
                let client = self.live.remove(xid);
                self.counters.restarts += u64::from(outcome.restarts);
                if let Some(d) = outcome.discover_offer {
                    self.samples.discover_offer.push(d);
                }
                match outcome.end {
                    End::Acked { address, .. } => {
                        self.counters.completed += 1;
                        if let Some(d) = outcome.request_ack {
                            self.samples.request_ack.push(d);
                        }
                        if let Some(d) = outcome.dora {
                            self.samples.dora.push(d);
                        }
                        let mac = client.map(|c| c.identity().chaddr).unwrap_or_default();
                        self.acked.push((address, mac));
                        if let Some(w) = self.acked_out.as_mut() {
                            writeln!(w, "{address} {}", format_mac(&mac))?;
                        }
                    }
                    End::Nak => self.counters.naks += 1,
                    End::Dropped(Phase::Discover) => self.counters.drops_discover += 1,
                    End::Dropped(Phase::Request) => self.counters.drops_request += 1,
                }
                if let Some(message) = release {
                    self.send(&message);
                    self.counters.releases += 1;
                }
            }
        }
        Ok(())
    }

    fn report(self, elapsed: Duration) -> Report {
        let Run {
            config,
            counters: c,
            mut samples,
            acked,
            live,
            next_index,
            ..
        } = self;
        let secs = elapsed.as_secs_f64();
        Report {
            clients: config.clients,
            in_flight: config.in_flight,
            server: config.server,
            giaddr: config.giaddr,
            started: c.started,
            completed: c.completed,
            naks: c.naks,
            restarts: c.restarts,
            drops_discover: c.drops_discover,
            drops_request: c.drops_request,
            unexpected: c.unexpected,
            malformed: c.malformed,
            retransmissions: c.retransmissions,
            releases: c.releases,
            send_errors: c.send_errors,
            recv_errors: c.recv_errors,
            unfinished: live.len() as u64,
            not_started: u64::from(config.clients.saturating_sub(next_index)),
            elapsed,
            rate: if secs > 0.0 {
                c.completed as f64 / secs
            } else {
                0.0
            },
            dora: Summary::of(&mut samples.dora),
            discover_offer: Summary::of(&mut samples.discover_offer),
            request_ack: Summary::of(&mut samples.request_ack),
            acked,
        }
    }
}

impl Deadline for Client {
    fn deadline(&self) -> Option<Instant> {
        Client::deadline(self)
    }
}
