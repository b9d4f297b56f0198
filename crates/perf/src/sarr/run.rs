//! The I/O loop: one UDP socket, the outstanding clients and their deadlines in
//! [`crate::outstanding`], new clients started by [`crate::pace`]. One thread sends and runs the
//! clients; a second one only reads the socket and timestamps what it reads
//! ([`crate::udp_wait::Receiver`]: the socket's own read timeout is too coarse for pacing).
//!
//! Each turn starts the clients that are due (all of them up to `in_flight` in a closed loop; at
//! `rate` per second, never more than `in_flight` outstanding, in an open loop, a stall of more
//! than [`crate::pace::CATCH_UP`] slipping the schedule rather than bursting), handles the
//! deadlines that passed, then waits for one datagram no longer than the next deadline or
//! start. After `duration` no client starts; those outstanding run to their end, which their
//! own deadlines bound (at most two messages of `retries + 1` transmissions each).

use std::fs::File;
use std::io::{self, Write};
use std::net::UdpSocket;
use std::sync::atomic::AtomicBool;
use std::time::{Duration, Instant};

use lessor_wire::v6::Repr;

use super::client::{index_of, Client, End, Identity, Lease, Phase, Step, Timing};
use super::config::Config;
use super::relay::Relay;
use super::report::Report;
use crate::latency::Summary;
use crate::outstanding::{Deadline, Outstanding};
use crate::pace::Pacer;
use crate::udp_wait::{size_receive_buffer, Arrival, Receiver};

/// Binds `config.bind` and runs.
pub fn run(config: &Config) -> io::Result<Report> {
    let socket = UdpSocket::bind(config.bind)?;
    size_receive_buffer(&socket, config.in_flight);
    run_on(config, &socket)
}

/// Runs on an already bound socket (tests bind [::1]:0 and tell their server the port).
pub fn run_on(config: &Config, socket: &UdpSocket) -> io::Result<Report> {
    config
        .validate()
        .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e))?;
    let stop = AtomicBool::new(false);
    std::thread::scope(|scope| {
        // Room for every answer of a full window, and then some.
        let capacity = (config.in_flight as usize)
            .saturating_mul(2)
            .saturating_add(64);
        let receiver = Receiver::spawn(scope, socket, capacity, &stop)?;
        let report = drive(config, socket, &receiver);
        let ended = receiver.finish();
        let report = report?;
        ended?;
        Ok(report)
    })
}

/// The loop itself, answers coming from `receiver`.
fn drive(config: &Config, socket: &UdpSocket, receiver: &Receiver<'_>) -> io::Result<Report> {
    let bound_out = match &config.bound_out {
        Some(path) => Some(io::LineWriter::new(File::create(path)?)),
        None => None,
    };
    let relay = Relay::new(
        config.link_address,
        &config.relay,
        socket.local_addr()?.port(),
    );
    let start = Instant::now();
    let mut run = Run {
        socket,
        config,
        relay,
        timing: Timing {
            timeout: config.timeout,
            retries: config.retries,
        },
        pacer: Pacer::new(start, config.rate),
        counters: Counters::default(),
        samples: Samples::default(),
        bound: Vec::new(),
        bound_out,
        live: Outstanding::new(),
        next_index: 0,
        last_completion: None,
    };
    let stop_starting = start + config.duration;
    // Two messages, each sent retries + 1 times: the longest an exchange can take.
    let longest = config
        .timeout
        .saturating_mul(config.retries.saturating_add(1))
        .saturating_mul(2);
    let hard_end = stop_starting + longest;
    let mut sending_end = None;
    let mut end;

    loop {
        let now = Instant::now();
        end = now;
        if now >= hard_end {
            break;
        }
        let starting = now < stop_starting && run.next_index < config.clients;
        if starting {
            run.start_due(now)?;
        }
        if sending_end.is_none() && (now >= stop_starting || run.next_index >= config.clients) {
            sending_end = Some(if now >= stop_starting {
                stop_starting
            } else {
                // All started: the sending period is the schedule's, so a paced run that kept
                // up offers exactly its rate.
                match config.rate {
                    Some(_) => run.pacer.due_at(u64::from(run.next_index)),
                    None => now,
                }
            });
        }
        if run.live.is_empty() && sending_end.is_some() {
            break;
        }
        if run.expire(now)? {
            // Some exchange may have ended: start the next ones before waiting.
            continue;
        }
        let mut next = run.live.next_deadline().unwrap_or(hard_end).min(hard_end);
        if starting {
            next = next.min(stop_starting);
            if run.live.len() < config.in_flight as usize {
                next = next.min(run.pacer.due_at(u64::from(run.next_index)));
            }
        }
        match receiver.next_until(now, next)? {
            Some(Arrival::Datagram(at, datagram)) => run.received(at, &datagram)?,
            Some(Arrival::Error) => run.counters.recv_errors += 1,
            None => {}
        }
    }

    if let Some(w) = run.bound_out.as_mut() {
        w.flush()?;
    }
    // Paced: the schedule's time (it may exceed `elapsed` by less than one interval, the last
    // client's). Closed loop: load is offered as long as the run lasts.
    let sending = match config.rate {
        Some(_) => sending_end.unwrap_or(end),
        None => end,
    }
    .saturating_duration_since(start);
    Ok(run.report(start, sending, end.saturating_duration_since(start)))
}

#[derive(Debug, Default)]
struct Counters {
    started: u64,
    completed: u64,
    not_granted_solicit: u64,
    not_granted_request: u64,
    drops_solicit: u64,
    drops_request: u64,
    unexpected: u64,
    malformed: u64,
    retransmissions: u64,
    send_errors: u64,
    recv_errors: u64,
    addresses: u64,
    prefixes: u64,
}

/// At most one sample per client and kind: bounded by `clients`.
#[derive(Debug, Default)]
struct Samples {
    sarr: Vec<Duration>,
    solicit_advertise: Vec<Duration>,
    request_reply: Vec<Duration>,
}

impl Deadline for Client {
    fn deadline(&self) -> Option<Instant> {
        Client::deadline(self)
    }
}

/// The state of one run besides the loop's own variables.
struct Run<'a> {
    socket: &'a UdpSocket,
    config: &'a Config,
    relay: Relay,
    timing: Timing,
    pacer: Pacer,
    counters: Counters,
    samples: Samples,
    /// (MAC, leases) of every bound client, in the order the REPLYs arrived.
    bound: Vec<([u8; 6], Vec<Lease>)>,
    bound_out: Option<io::LineWriter<File>>,
    /// Clients with an exchange outstanding, by index.
    live: Outstanding<Client>,
    /// Index of the next client to start.
    next_index: u32,
    last_completion: Option<Instant>,
}

impl Run<'_> {
    /// Starts the clients that are due, keeping at most `in_flight` outstanding.
    fn start_due(&mut self, now: Instant) -> io::Result<()> {
        while self.live.len() < self.config.in_flight as usize
            && self.next_index < self.config.clients
            && self.pacer.is_due(u64::from(self.next_index), now)
        {
            let index = self.next_index;
            self.next_index += 1;
            let mut client = Client::new(
                match self.config.distinct_clients {
                    Some(n) => Identity::cycling(index, self.config.seed, n),
                    None => Identity::new(index, self.config.seed),
                },
                self.timing,
                self.config.ia,
            );
            let step = client.start(now);
            self.live.insert(index, client);
            self.counters.started += 1;
            self.apply(index, now, step)?;
        }
        Ok(())
    }

    /// Handles every deadline at or before `now`; true when any client acted.
    fn expire(&mut self, now: Instant) -> io::Result<bool> {
        let mut fired = false;
        while let Some(index) = self.live.pop_due(now) {
            let Some(step) = self.live.get_mut(index).map(|c| c.on_timeout(now)) else {
                continue;
            };
            if matches!(step, Step::Send { .. }) {
                self.counters.retransmissions += 1;
            }
            fired = true;
            self.apply(index, now, step)?;
        }
        Ok(fired)
    }

    /// One datagram arrived on the socket.
    fn received(&mut self, now: Instant, datagram: &[u8]) -> io::Result<()> {
        let Ok(reply) = Repr::from_bytes(datagram) else {
            self.counters.malformed += 1;
            return Ok(());
        };
        let Ok((peer, message)) = self.relay.unwrap(reply) else {
            self.counters.unexpected += 1;
            return Ok(());
        };
        let index = index_of(message.transaction_id, self.config.seed);
        let step = match self.live.get_mut(index) {
            Some(c) if c.identity().peer_address == peer => c.handle(now, &message),
            // Another peer-address, a finished client or an id no client of this run has.
            _ => {
                self.counters.unexpected += 1;
                return Ok(());
            }
        };
        self.apply(index, now, step)
    }

    /// Carries out a client's step on the socket and the run's books.
    fn apply(&mut self, index: u32, now: Instant, step: Step) -> io::Result<()> {
        match step {
            Step::Wait => {}
            Step::Ignore(_) => self.counters.unexpected += 1,
            Step::Send { message, deadline } => {
                let Some(client) = self.live.get_mut(index) else {
                    return Ok(());
                };
                let datagram = self.relay.forward(client.identity(), message).to_vec();
                // A failed send (full socket buffer, no route) is retransmitted at the deadline.
                if self.socket.send_to(&datagram, self.config.server).is_err() {
                    self.counters.send_errors += 1;
                }
                self.live.wait_until(index, deadline);
            }
            Step::Done(outcome) => {
                let client = self.live.remove(index);
                if let Some(d) = outcome.solicit_advertise {
                    self.samples.solicit_advertise.push(d);
                }
                match outcome.end {
                    End::Bound(leases) => {
                        self.counters.completed += 1;
                        self.last_completion = Some(now);
                        if let Some(d) = outcome.request_reply {
                            self.samples.request_reply.push(d);
                        }
                        if let Some(d) = outcome.sarr {
                            self.samples.sarr.push(d);
                        }
                        for l in &leases {
                            match l {
                                Lease::Address(_) => self.counters.addresses += 1,
                                Lease::Prefix(..) => self.counters.prefixes += 1,
                            }
                        }
                        let id = client.map(|c| c.identity().clone());
                        let mac = id.as_ref().map(|i| i.mac).unwrap_or_default();
                        if let (Some(w), Some(id)) = (self.bound_out.as_mut(), &id) {
                            writeln!(w, "{}", bound_line(&id.duid_string(), &leases))?;
                        }
                        self.bound.push((mac, leases));
                    }
                    End::NotGranted { phase, .. } => match phase {
                        Phase::Solicit => self.counters.not_granted_solicit += 1,
                        Phase::Request => self.counters.not_granted_request += 1,
                    },
                    End::Dropped(Phase::Solicit) => self.counters.drops_solicit += 1,
                    End::Dropped(Phase::Request) => self.counters.drops_request += 1,
                }
            }
        }
        Ok(())
    }

    fn report(self, start: Instant, sending: Duration, elapsed: Duration) -> Report {
        let Run {
            config,
            pacer,
            counters: c,
            mut samples,
            bound,
            live,
            next_index,
            last_completion,
            ..
        } = self;
        let per_s = |n: u64, d: Duration| {
            let secs = d.as_secs_f64();
            if secs > 0.0 {
                n as f64 / secs
            } else {
                0.0
            }
        };
        let completing = last_completion
            .map(|t| t.saturating_duration_since(start))
            .unwrap_or_default();
        Report {
            clients: config.clients,
            in_flight: config.in_flight,
            requested_rate: config.rate,
            server: config.server,
            link_address: config.link_address,
            ia: config.ia,
            started: c.started,
            completed: c.completed,
            not_granted_solicit: c.not_granted_solicit,
            not_granted_request: c.not_granted_request,
            drops_solicit: c.drops_solicit,
            drops_request: c.drops_request,
            unexpected: c.unexpected,
            malformed: c.malformed,
            retransmissions: c.retransmissions,
            send_errors: c.send_errors,
            recv_errors: c.recv_errors,
            unfinished: live.len() as u64,
            not_started: u64::from(config.clients.saturating_sub(next_index)),
            addresses: c.addresses,
            prefixes: c.prefixes,
            sending,
            slipped: pacer.slipped(),
            elapsed,
            offered_rate: per_s(c.started, sending),
            rate: per_s(c.completed, completing),
            sarr: Summary::of(&mut samples.sarr),
            solicit_advertise: Summary::of(&mut samples.solicit_advertise),
            request_reply: Summary::of(&mut samples.request_reply),
            bound,
        }
    }
}

/// One `--bound-out` line: the DUID, then every address and prefix, space-separated.
pub fn bound_line(duid: &str, leases: &[Lease]) -> String {
    let mut s = duid.to_string();
    for l in leases {
        s.push(' ');
        s += &l.to_string();
    }
    s
}
