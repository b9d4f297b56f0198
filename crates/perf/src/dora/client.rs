//! One simulated DHCPv4 client behind a relay agent: a sans-IO state machine.
//!
//! The [`Client`] never reads a clock or touches a socket. The I/O loop hands it the current
//! time and each reply addressed to it; the client answers with a [`Step`]: a message to send
//! and the deadline by which it expects an answer, a reply it ignored (and why), or the end of
//! its exchange. Retransmissions are driven by [`Client::on_timeout`].
//!
//! Every message is built as a relay agent would forward it: `giaddr` set, `hops` = 1, and a
//! Relay Agent Information option (82) appended last, carrying circuit-id `perf-<n>`, remote-id
//! (the client's MAC) and relay-id (sub-option 12). A client on the link instead
//! ([`Identity::on_link`]) sends what a client does: no giaddr, no option 82, and the BROADCAST
//! flag, so that the answers come by broadcast to port 68 whatever its simulated MAC.

use std::net::Ipv4Addr;
use std::time::{Duration, Instant};

use lessor_wire::v4::{DhcpOption, MessageType, RelayAgentInformation, Repr, BOOTREPLY};

use lessor_wire::v4::code::relay::{AGENT_CIRCUIT_ID, AGENT_REMOTE_ID, LINK_SELECTION, RELAY_ID};

/// The BROADCAST bit of `flags` (RFC 2131 §2).
const BROADCAST: u16 = 0x8000;

/// Options the simulated client asks for (55): mask, router, DNS, lease time, server id, T1, T2.
const PARAMETER_REQUEST_LIST: [u8; 7] = [1, 3, 6, 51, 54, 58, 59];

/// Who a simulated client is: derived from its index and the run's seed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    /// Index of the client in the run, from 0.
    pub index: u32,
    /// Client hardware address: `02:` (locally administered, unicast) then 40 bits.
    pub chaddr: [u8; 6],
    /// Transaction ID, unique among the clients of one run.
    pub xid: u32,
    /// The relay agent address written into `giaddr`.
    pub giaddr: Ipv4Addr,
    /// The option 82 value the relay adds to every message of this client.
    pub relay_info: RelayAgentInformation<'static>,
    /// Client identifier (option 61) sent in every message, if any.
    pub client_id: Option<Vec<u8>>,
    /// On the server's (or a relay's) link rather than behind a relay ([`Identity::on_link`]).
    pub on_link: bool,
}

impl Identity {
    /// The identity of client `index` in a run with `seed`.
    ///
    /// The 40 low bits of the MAC are `seed + index` (mod 2^40) and the xid is
    /// `(seed >> 32) + index` (mod 2^32), so both are unique within a run of up to 2^32 clients
    /// and differ between runs with different seeds. `relay_id` longer than 255 octets is
    /// rejected. `link_selection` adds sub-option 5 (RFC 3527): the client's subnet, for a relay
    /// whose giaddr is not on the client's link (e.g. 127.0.0.1 in a local test).
    pub fn new(
        index: u32,
        seed: u64,
        giaddr: Ipv4Addr,
        relay_id: &[u8],
        link_selection: Option<Ipv4Addr>,
    ) -> Result<Identity, lessor_wire::Error> {
        let low = seed.wrapping_add(u64::from(index)) & 0xff_ffff_ffff;
        let b = low.to_be_bytes();
        let chaddr = [0x02, b[3], b[4], b[5], b[6], b[7]];
        let xid = ((seed >> 32) as u32).wrapping_add(index);
        let circuit = format!("perf-{index}");
        let link = link_selection.map(|a| a.octets());
        let relay_info = RelayAgentInformation::from_sub_options(
            [
                (AGENT_CIRCUIT_ID, circuit.as_bytes()),
                (AGENT_REMOTE_ID, &chaddr[..]),
            ]
            .into_iter()
            .chain(link.as_ref().map(|l| (LINK_SELECTION, &l[..])))
            .chain([(RELAY_ID, relay_id)]),
        )?;
        Ok(Identity {
            index,
            chaddr,
            xid,
            giaddr,
            relay_info,
            client_id: None,
            on_link: false,
        })
    }

    /// The same client sending a client identifier (option 61): type 1 (Ethernet) and its MAC,
    /// the form RFC 2132 §9.14 suggests, so it can be asked for by client-id.
    pub fn with_client_id(mut self) -> Identity {
        let mut id = vec![1];
        id.extend_from_slice(&self.chaddr);
        self.client_id = Some(id);
        self
    }

    /// The same client on the link of the server or relay it talks to: its messages carry no
    /// giaddr and no option 82, and ask for broadcast answers (RFC 2131 §4.1: a client that
    /// cannot take unicast before it has an address sets BROADCAST), so one socket on port 68
    /// receives the answers of every simulated MAC.
    pub fn on_link(mut self) -> Identity {
        self.on_link = true;
        self
    }

    /// The MAC as `02:xx:xx:xx:xx:xx`.
    pub fn mac_string(&self) -> String {
        format_mac(&self.chaddr)
    }
}

/// Formats six octets as a colon-separated lower-case MAC.
pub fn format_mac(mac: &[u8; 6]) -> String {
    lessor_wire::hex::colon(mac)
}

/// Per-message timeout and retransmissions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timing {
    /// How long to wait for the answer to one transmission.
    pub timeout: Duration,
    /// Retransmissions after the first transmission before the exchange counts as dropped.
    pub retries: u32,
    /// Times a client starts over with a new DHCPDISCOVER after a DHCPNAK, as a client does
    /// (RFC 2131 §3.1, step 5); 0: a DHCPNAK ends the exchange.
    pub nak_restarts: u32,
}

/// Which half of the DORA a client was in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// DISCOVER sent, waiting for an OFFER.
    Discover,
    /// REQUEST sent, waiting for an ACK or NAK.
    Request,
}

/// How a client's exchange ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum End {
    /// DHCPACK: the address the server bound and the server that bound it.
    Acked {
        /// `yiaddr` of the ACK.
        address: Ipv4Addr,
        /// Server identifier chosen from the OFFER.
        server: Ipv4Addr,
    },
    /// DHCPNAK in answer to the REQUEST.
    Nak,
    /// No answer after all retransmissions of the given phase.
    Dropped(Phase),
}

/// The end of an exchange with the latencies it measured.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Outcome {
    /// How it ended.
    pub end: End,
    /// First DISCOVER sent -> OFFER accepted, when an OFFER was accepted.
    pub discover_offer: Option<Duration>,
    /// First REQUEST sent -> ACK, for ACKs only.
    pub request_ack: Option<Duration>,
    /// First DISCOVER sent -> ACK, for ACKs only.
    pub dora: Option<Duration>,
    /// Times the client started over after a DHCPNAK.
    pub restarts: u32,
}

/// Why a reply was ignored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ignored {
    /// Not a BOOTREPLY for this client's xid and chaddr.
    NotForThisClient,
    /// The client has not sent anything yet.
    NotStarted,
    /// The exchange is over (a late or duplicate answer).
    Finished,
    /// A message type the current state does not expect (e.g. a second OFFER while requesting).
    Unexpected(Option<MessageType>),
    /// An OFFER without `yiaddr` or server identifier (54), or an ACK without `yiaddr`.
    Incomplete,
    /// An ACK or NAK from another server than the one the REQUEST selected.
    OtherServer,
}

/// What the I/O loop must do next for this client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// Send `message` to the server; wait for an answer until `deadline`.
    Send {
        /// The encoded DHCP message (UDP payload).
        message: Vec<u8>,
        /// When [`Client::on_timeout`] should be called if nothing arrives.
        deadline: Instant,
    },
    /// The reply changed nothing.
    Ignore(Ignored),
    /// The deadline has not passed yet; nothing to do.
    Wait,
    /// The exchange is over; `release` is a DHCPRELEASE to send without waiting for an answer.
    Done {
        /// How it ended and what it measured.
        outcome: Outcome,
        /// DHCPRELEASE for the acknowledged address, when releases are asked for.
        release: Option<Vec<u8>>,
    },
}

#[derive(Debug, Clone)]
struct Waiting {
    /// The message as last sent (rebuilt with a new `secs` on each retransmission).
    message: Repr,
    /// First transmission of this message.
    first: Instant,
    /// Transmissions so far (1 after the first).
    sent: u32,
    deadline: Instant,
}

#[derive(Debug, Clone)]
enum State {
    Idle,
    Selecting(Waiting),
    Requesting {
        waiting: Waiting,
        server: Ipv4Addr,
        discover_offer: Duration,
    },
    Done,
}

/// One simulated client: DISCOVER -> OFFER -> REQUEST -> ACK/NAK, optionally RELEASE.
#[derive(Debug, Clone)]
pub struct Client {
    id: Identity,
    timing: Timing,
    release: bool,
    /// First DISCOVER transmission.
    started: Option<Instant>,
    state: State,
    /// Times it started over after a DHCPNAK.
    restarts: u32,
}

impl Client {
    /// A client that has sent nothing yet.
    pub fn new(id: Identity, timing: Timing, release: bool) -> Client {
        Client {
            id,
            timing,
            release,
            started: None,
            state: State::Idle,
            restarts: 0,
        }
    }

    /// Who this client is.
    pub fn identity(&self) -> &Identity {
        &self.id
    }

    /// The deadline of the outstanding transmission, if one is outstanding.
    pub fn deadline(&self) -> Option<Instant> {
        match &self.state {
            State::Selecting(w) | State::Requesting { waiting: w, .. } => Some(w.deadline),
            State::Idle | State::Done => None,
        }
    }

    /// Whether the exchange is over.
    pub fn is_done(&self) -> bool {
        matches!(self.state, State::Done)
    }

    /// A message of this client: relayed (BOOTREQUEST with giaddr, hops 1, and the given options
    /// followed by option 82, which a relay appends last), or as sent on the link.
    fn relayed(&self, kind: MessageType, mut options: Vec<DhcpOption>) -> Repr {
        let mut chaddr = [0u8; 16];
        chaddr[..6].copy_from_slice(&self.id.chaddr);
        options.insert(0, DhcpOption::MessageType(kind));
        if let Some(id) = &self.id.client_id {
            options.insert(1, DhcpOption::ClientIdentifier(id.clone()));
        }
        if self.id.on_link {
            return Repr {
                xid: self.id.xid,
                flags: BROADCAST,
                chaddr,
                options,
                ..Repr::default()
            };
        }
        options.push(DhcpOption::RelayAgentInformation(
            self.id.relay_info.clone(),
        ));
        Repr {
            hops: 1,
            xid: self.id.xid,
            giaddr: self.id.giaddr,
            chaddr,
            options,
            ..Repr::default()
        }
    }

    fn send(&self, message: &Repr, first: Instant, now: Instant) -> (Vec<u8>, Waiting) {
        let mut message = message.clone();
        let since = self.started.unwrap_or(now);
        message.secs =
            u16::try_from(now.saturating_duration_since(since).as_secs()).unwrap_or(u16::MAX);
        let bytes = message.to_vec();
        let waiting = Waiting {
            message,
            first,
            sent: 1,
            deadline: now + self.timing.timeout,
        };
        (bytes, waiting)
    }

    /// Starts the exchange: the first DHCPDISCOVER. Calling it again is `Step::Wait`.
    pub fn start(&mut self, now: Instant) -> Step {
        if !matches!(self.state, State::Idle) {
            return Step::Wait;
        }
        self.started = Some(now);
        self.discover(now)
    }

    /// Sends a DHCPDISCOVER (the first, or one starting over after a DHCPNAK).
    fn discover(&mut self, now: Instant) -> Step {
        let discover = self.relayed(
            MessageType::Discover,
            vec![DhcpOption::ParameterRequestList(
                PARAMETER_REQUEST_LIST.to_vec(),
            )],
        );
        let (message, waiting) = self.send(&discover, now, now);
        let deadline = waiting.deadline;
        self.state = State::Selecting(waiting);
        Step::Send { message, deadline }
    }

    /// The deadline passed without an answer: retransmit, or give up after `retries`.
    pub fn on_timeout(&mut self, now: Instant) -> Step {
        let (waiting, phase) = match &mut self.state {
            State::Selecting(w) => (w, Phase::Discover),
            State::Requesting { waiting, .. } => (waiting, Phase::Request),
            State::Idle | State::Done => return Step::Wait,
        };
        if now < waiting.deadline {
            return Step::Wait;
        }
        if waiting.sent > self.timing.retries {
            let discover_offer = match &self.state {
                State::Requesting { discover_offer, .. } => Some(*discover_offer),
                _ => None,
            };
            self.state = State::Done;
            return Step::Done {
                outcome: Outcome {
                    end: End::Dropped(phase),
                    discover_offer,
                    request_ack: None,
                    dora: None,
                    restarts: self.restarts,
                },
                release: None,
            };
        }
        let since = self.started.unwrap_or(now);
        waiting.message.secs =
            u16::try_from(now.saturating_duration_since(since).as_secs()).unwrap_or(u16::MAX);
        waiting.sent += 1;
        waiting.deadline = now + self.timing.timeout;
        Step::Send {
            message: waiting.message.to_vec(),
            deadline: waiting.deadline,
        }
    }

    /// A reply arrived (already decoded). Replies for other clients, of the wrong type for the
    /// current state, duplicates and late answers are ignored.
    pub fn handle(&mut self, now: Instant, reply: &Repr) -> Step {
        if reply.op != BOOTREPLY
            || reply.xid != self.id.xid
            || reply.client_hw_addr() != self.id.chaddr
        {
            return Step::Ignore(Ignored::NotForThisClient);
        }
        let kind = reply.message_type();
        let server_id = reply.options.iter().find_map(|o| match o {
            DhcpOption::ServerIdentifier(a) => Some(*a),
            _ => None,
        });
        match (&self.state, kind) {
            (State::Idle, _) => Step::Ignore(Ignored::NotStarted),
            (State::Done, _) => Step::Ignore(Ignored::Finished),
            (State::Selecting(waiting), Some(MessageType::Offer)) => {
                let server = match server_id {
                    Some(s) if !reply.yiaddr.is_unspecified() => s,
                    _ => return Step::Ignore(Ignored::Incomplete),
                };
                let discover_offer = now.saturating_duration_since(waiting.first);
                let request = self.relayed(
                    MessageType::Request,
                    vec![
                        DhcpOption::RequestedIpAddress(reply.yiaddr),
                        DhcpOption::ServerIdentifier(server),
                        DhcpOption::ParameterRequestList(PARAMETER_REQUEST_LIST.to_vec()),
                    ],
                );
                let (message, waiting) = self.send(&request, now, now);
                let deadline = waiting.deadline;
                self.state = State::Requesting {
                    waiting,
                    server,
                    discover_offer,
                };
                Step::Send { message, deadline }
            }
            (
                State::Requesting {
                    waiting,
                    server,
                    discover_offer,
                },
                Some(t @ (MessageType::Ack | MessageType::Nak)),
            ) => {
                if server_id.is_some_and(|s| s != *server) {
                    return Step::Ignore(Ignored::OtherServer);
                }
                let (server, discover_offer, first) = (*server, *discover_offer, waiting.first);
                if t == MessageType::Nak {
                    if self.restarts < self.timing.nak_restarts {
                        self.restarts += 1;
                        return self.discover(now);
                    }
                    self.state = State::Done;
                    return Step::Done {
                        outcome: Outcome {
                            end: End::Nak,
                            discover_offer: Some(discover_offer),
                            request_ack: None,
                            dora: None,
                            restarts: self.restarts,
                        },
                        release: None,
                    };
                }
                if reply.yiaddr.is_unspecified() {
                    return Step::Ignore(Ignored::Incomplete);
                }
                let address = reply.yiaddr;
                let release = self.release.then(|| {
                    let mut m = self.relayed(
                        MessageType::Release,
                        vec![DhcpOption::ServerIdentifier(server)],
                    );
                    m.ciaddr = address;
                    // A bound client takes unicast.
                    m.flags = 0;
                    m.to_vec()
                });
                self.state = State::Done;
                let started = self.started.unwrap_or(first);
                Step::Done {
                    outcome: Outcome {
                        end: End::Acked { address, server },
                        discover_offer: Some(discover_offer),
                        request_ack: Some(now.saturating_duration_since(first)),
                        dora: Some(now.saturating_duration_since(started)),
                        restarts: self.restarts,
                    },
                    release,
                }
            }
            (_, kind) => Step::Ignore(Ignored::Unexpected(kind)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SERVER: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 1);
    const GIADDR: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 254);
    const OFFERED: Ipv4Addr = Ipv4Addr::new(198, 51, 100, 100);
    const MS: Duration = Duration::from_millis(1);

    fn timing() -> Timing {
        Timing {
            nak_restarts: 0,
            timeout: 100 * MS,
            retries: 2,
        }
    }

    fn client(release: bool) -> Client {
        let id = Identity::new(7, 0x1234_5678_9abc_def0, GIADDR, &[0xaa, 0xbb], None).unwrap();
        Client::new(id, timing(), release)
    }

    fn sent(step: Step) -> (Repr, Instant) {
        match step {
            Step::Send { message, deadline } => (Repr::from_bytes(&message).unwrap(), deadline),
            other => panic!("expected Send, got {other:?}"),
        }
    }

    fn reply(c: &Client, kind: MessageType, yiaddr: Ipv4Addr, server: Option<Ipv4Addr>) -> Repr {
        let mut chaddr = [0u8; 16];
        chaddr[..6].copy_from_slice(&c.identity().chaddr);
        let mut options = vec![DhcpOption::MessageType(kind)];
        if let Some(s) = server {
            options.push(DhcpOption::ServerIdentifier(s));
        }
        options.push(DhcpOption::RelayAgentInformation(
            c.identity().relay_info.clone(),
        ));
        Repr {
            op: BOOTREPLY,
            xid: c.identity().xid,
            yiaddr,
            giaddr: GIADDR,
            chaddr,
            options,
            ..Repr::default()
        }
    }

    fn offer(c: &Client) -> Repr {
        reply(c, MessageType::Offer, OFFERED, Some(SERVER))
    }

    #[test]
    fn identity_is_derived_from_index_and_seed() {
        let a = Identity::new(0, 0xff_ffff_ffff, GIADDR, b"r", None).unwrap();
        let b = Identity::new(1, 0xff_ffff_ffff, GIADDR, b"r", None).unwrap();
        assert_eq!(a.chaddr, [2, 0xff, 0xff, 0xff, 0xff, 0xff]);
        assert_eq!(b.chaddr, [2, 0, 0, 0, 0, 0]);
        assert_ne!(a.xid, b.xid);
        assert_eq!(b.mac_string(), "02:00:00:00:00:00");
        assert_eq!(b.relay_info.circuit_id().unwrap(), Some(&b"perf-1"[..]));
        assert_eq!(b.relay_info.remote_id().unwrap(), Some(&b.chaddr[..]));
        assert_eq!(b.relay_info.relay_id().unwrap(), Some(&b"r"[..]));
        let c = Identity::new(1, 0x0001_0000_0000_0000, GIADDR, b"r", None).unwrap();
        assert_ne!(b.xid, c.xid);
        assert!(Identity::new(0, 0, GIADDR, &[0u8; 256], None).is_err());
    }

    #[test]
    fn discover_is_relayed() {
        let mut c = client(false);
        let t0 = Instant::now();
        let (d, deadline) = sent(c.start(t0));
        assert_eq!(deadline, t0 + 100 * MS);
        assert_eq!(c.deadline(), Some(deadline));
        assert_eq!(d.message_type(), Some(MessageType::Discover));
        assert_eq!(d.op, 1);
        assert_eq!(d.hops, 1);
        assert_eq!(d.giaddr, GIADDR);
        assert_eq!(d.xid, c.identity().xid);
        assert_eq!(d.client_hw_addr(), &c.identity().chaddr);
        let info = d.relay_agent_information().unwrap();
        assert_eq!(info.circuit_id().unwrap(), Some(&b"perf-7"[..]));
        assert_eq!(info.relay_id().unwrap(), Some(&[0xaa, 0xbb][..]));
        // Option 82 is the last option, as a relay appends it.
        assert_eq!(d.options.last().unwrap().code(), 82);
        // A second start does nothing.
        assert_eq!(c.start(t0), Step::Wait);
    }

    #[test]
    fn a_client_on_the_link_sends_what_a_client_sends() {
        let id = Identity::new(7, 42, GIADDR, &[0xaa, 0xbb], None)
            .unwrap()
            .on_link();
        let mut c = Client::new(id, timing(), true);
        let t0 = Instant::now();
        let (d, _) = sent(c.start(t0));
        assert_eq!(
            (d.hops, d.giaddr, d.flags),
            (0, Ipv4Addr::UNSPECIFIED, BROADCAST)
        );
        assert!(d.relay_agent_information().is_none());
        let (r, _) = sent(c.handle(t0, &offer(&c)));
        assert_eq!(r.message_type(), Some(MessageType::Request));
        assert_eq!(
            (r.hops, r.giaddr, r.flags),
            (0, Ipv4Addr::UNSPECIFIED, BROADCAST)
        );
        assert!(r.relay_agent_information().is_none());
        let mut ack = reply(
            &c,
            MessageType::Ack,
            Ipv4Addr::new(192, 0, 2, 10),
            Some(SERVER),
        );
        ack.options.retain(|o| o.code() != 82);
        let Step::Done {
            release: Some(release),
            ..
        } = c.handle(t0, &ack)
        else {
            panic!("no release after the ACK");
        };
        let release = Repr::from_bytes(&release).unwrap();
        assert_eq!(release.message_type(), Some(MessageType::Release));
        assert_eq!((release.flags, release.giaddr), (0, Ipv4Addr::UNSPECIFIED));
        assert!(release.relay_agent_information().is_none());
    }

    #[test]
    fn offer_gives_request_with_50_54_and_82_kept() {
        let mut c = client(false);
        let t0 = Instant::now();
        let (discover, _) = sent(c.start(t0));
        let (req, deadline) = sent(c.handle(t0 + 3 * MS, &offer(&c)));
        assert_eq!(deadline, t0 + 103 * MS);
        assert_eq!(req.message_type(), Some(MessageType::Request));
        assert_eq!(req.xid, discover.xid);
        assert_eq!(req.chaddr, discover.chaddr);
        assert_eq!(req.giaddr, GIADDR);
        assert_eq!(req.hops, 1);
        assert_eq!(req.ciaddr, Ipv4Addr::UNSPECIFIED);
        assert_eq!(
            req.option(50),
            Some(&DhcpOption::RequestedIpAddress(OFFERED))
        );
        assert_eq!(req.option(54), Some(&DhcpOption::ServerIdentifier(SERVER)));
        assert_eq!(
            req.relay_agent_information().unwrap().as_bytes(),
            discover.relay_agent_information().unwrap().as_bytes()
        );
        assert_eq!(req.options.last().unwrap().code(), 82);

        let step = c.handle(
            t0 + 5 * MS,
            &reply(&c, MessageType::Ack, OFFERED, Some(SERVER)),
        );
        match step {
            Step::Done { outcome, release } => {
                assert_eq!(
                    outcome.end,
                    End::Acked {
                        address: OFFERED,
                        server: SERVER
                    }
                );
                assert_eq!(outcome.discover_offer, Some(3 * MS));
                assert_eq!(outcome.request_ack, Some(2 * MS));
                assert_eq!(outcome.dora, Some(5 * MS));
                assert!(release.is_none());
            }
            other => panic!("{other:?}"),
        }
        assert!(c.is_done());
        assert_eq!(c.deadline(), None);
    }

    #[test]
    fn client_id_goes_in_every_message() {
        let id = Identity::new(7, 0x1234_5678_9abc_def0, GIADDR, &[0xaa, 0xbb], None)
            .unwrap()
            .with_client_id();
        let mut want = vec![1];
        want.extend_from_slice(&id.chaddr);
        let mut c = Client::new(id, timing(), true);
        let t0 = Instant::now();
        let (discover, _) = sent(c.start(t0));
        assert_eq!(
            discover.option(61),
            Some(&DhcpOption::ClientIdentifier(want.clone()))
        );
        let offer = offer(&c);
        let (request, _) = sent(c.handle(t0 + MS, &offer));
        assert_eq!(
            request.option(61),
            Some(&DhcpOption::ClientIdentifier(want.clone()))
        );
        let ack = reply(&c, MessageType::Ack, OFFERED, Some(SERVER));
        match c.handle(t0 + 2 * MS, &ack) {
            Step::Done {
                release: Some(r), ..
            } => {
                let r = Repr::from_bytes(&r).unwrap();
                assert_eq!(r.option(61), Some(&DhcpOption::ClientIdentifier(want)));
            }
            other => panic!("expected Done with a release, got {other:?}"),
        }
        let mut plain = client(false);
        let (discover, _) = sent(plain.start(t0));
        assert_eq!(discover.option(61), None);
    }

    #[test]
    fn release_after_ack() {
        let mut c = client(true);
        let t0 = Instant::now();
        c.start(t0);
        c.handle(t0, &offer(&c));
        let step = c.handle(t0, &reply(&c, MessageType::Ack, OFFERED, Some(SERVER)));
        let Step::Done {
            release: Some(bytes),
            ..
        } = step
        else {
            panic!("{step:?}")
        };
        let rel = Repr::from_bytes(&bytes).unwrap();
        assert_eq!(rel.message_type(), Some(MessageType::Release));
        assert_eq!(rel.ciaddr, OFFERED);
        assert_eq!(rel.option(54), Some(&DhcpOption::ServerIdentifier(SERVER)));
        assert_eq!(rel.giaddr, GIADDR);
        assert!(rel.relay_agent_information().is_some());
    }

    #[test]
    fn nak_ends_the_exchange() {
        let mut c = client(true);
        let t0 = Instant::now();
        c.start(t0);
        c.handle(t0 + MS, &offer(&c));
        let step = c.handle(
            t0 + 4 * MS,
            &reply(&c, MessageType::Nak, Ipv4Addr::UNSPECIFIED, Some(SERVER)),
        );
        assert_eq!(
            step,
            Step::Done {
                outcome: Outcome {
                    end: End::Nak,
                    discover_offer: Some(MS),
                    request_ack: None,
                    dora: None,
                    restarts: 0,
                },
                release: None
            }
        );
        // A NAK while selecting is not expected.
        let mut d = client(false);
        d.start(t0);
        let nak = reply(&d, MessageType::Nak, Ipv4Addr::UNSPECIFIED, Some(SERVER));
        assert_eq!(
            d.handle(t0, &nak),
            Step::Ignore(Ignored::Unexpected(Some(MessageType::Nak)))
        );
    }

    #[test]
    fn a_nak_starts_the_client_over_when_asked() {
        let mut c = client(true);
        c.timing.nak_restarts = 1;
        let t0 = Instant::now();
        c.start(t0);
        c.handle(t0 + MS, &offer(&c));
        let nak = reply(&c, MessageType::Nak, Ipv4Addr::UNSPECIFIED, Some(SERVER));
        let (again, _) = sent(c.handle(t0 + 2 * MS, &nak));
        assert_eq!(
            again.message_type(),
            Some(MessageType::Discover),
            "starts over"
        );
        c.handle(t0 + 3 * MS, &offer(&c));
        let Step::Done { outcome, .. } = c.handle(t0 + 4 * MS, &nak) else {
            panic!("the second NAK ends it");
        };
        assert_eq!((outcome.end, outcome.restarts), (End::Nak, 1));
        // One restart, then an ACK: a completed DORA timed from the first DISCOVER.
        let mut d = client(true);
        d.timing.nak_restarts = 3;
        d.start(t0);
        d.handle(t0 + MS, &offer(&d));
        d.handle(t0 + 2 * MS, &nak);
        d.handle(t0 + 3 * MS, &offer(&d));
        let Step::Done { outcome, .. } = d.handle(
            t0 + 5 * MS,
            &reply(&d, MessageType::Ack, OFFERED, Some(SERVER)),
        ) else {
            panic!("acked");
        };
        assert_eq!(outcome.restarts, 1);
        assert_eq!(outcome.dora, Some(5 * MS));
    }

    #[test]
    fn retransmits_then_drops() {
        let mut c = client(false);
        let t0 = Instant::now();
        let (first, d1) = sent(c.start(t0));
        // Too early: nothing happens.
        assert_eq!(c.on_timeout(t0 + 99 * MS), Step::Wait);
        // Two retransmissions with the same xid, each with a fresh deadline.
        let (again, d2) = sent(c.on_timeout(d1));
        assert_eq!(d2, d1 + 100 * MS);
        assert_eq!(again.xid, first.xid);
        assert_eq!(again.message_type(), Some(MessageType::Discover));
        let (third, d3) = sent(c.on_timeout(d2 + 1500 * MS));
        assert_eq!(d3, d2 + 1600 * MS);
        assert_eq!(third.secs, 1);
        // Retries exhausted: dropped in the DISCOVER phase.
        match c.on_timeout(d3) {
            Step::Done { outcome, .. } => {
                assert_eq!(outcome.end, End::Dropped(Phase::Discover));
                assert_eq!(outcome.discover_offer, None);
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(c.on_timeout(d3 + MS), Step::Wait);
        assert_eq!(c.deadline(), None);
    }

    #[test]
    fn request_retransmits_and_drops_in_request_phase() {
        let mut c = client(false);
        let t0 = Instant::now();
        c.start(t0);
        let (req, d1) = sent(c.handle(t0 + 2 * MS, &offer(&c)));
        // The first REQUEST's clock is kept: a late ACK measures from the first transmission.
        let (again, d2) = sent(c.on_timeout(d1));
        assert_eq!(again.option(50), req.option(50));
        assert_eq!(again.option(54), req.option(54));
        let (_, d3) = sent(c.on_timeout(d2));
        match c.on_timeout(d3) {
            Step::Done { outcome, .. } => {
                assert_eq!(outcome.end, End::Dropped(Phase::Request));
                assert_eq!(outcome.discover_offer, Some(2 * MS));
            }
            other => panic!("{other:?}"),
        }

        let mut late = client(false);
        late.start(t0);
        let (_, d1) = sent(late.handle(t0 + 2 * MS, &offer(&late)));
        late.on_timeout(d1);
        let ack = reply(&late, MessageType::Ack, OFFERED, Some(SERVER));
        match late.handle(d1 + 10 * MS, &ack) {
            Step::Done { outcome, .. } => {
                assert_eq!(outcome.request_ack, Some(110 * MS));
                assert_eq!(outcome.dora, Some(112 * MS));
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn duplicates_and_strangers_are_ignored() {
        let mut c = client(false);
        let t0 = Instant::now();
        // Nothing sent yet.
        assert_eq!(c.handle(t0, &offer(&c)), Step::Ignore(Ignored::NotStarted));
        c.start(t0);
        // Wrong xid, wrong chaddr, a BOOTREQUEST.
        let mut other = offer(&c);
        other.xid ^= 1;
        assert_eq!(
            c.handle(t0, &other),
            Step::Ignore(Ignored::NotForThisClient)
        );
        let mut other = offer(&c);
        other.chaddr[5] ^= 1;
        assert_eq!(
            c.handle(t0, &other),
            Step::Ignore(Ignored::NotForThisClient)
        );
        let mut other = offer(&c);
        other.op = 1;
        assert_eq!(
            c.handle(t0, &other),
            Step::Ignore(Ignored::NotForThisClient)
        );
        // An ACK while selecting; an OFFER without server id or address.
        assert_eq!(
            c.handle(t0, &reply(&c, MessageType::Ack, OFFERED, Some(SERVER))),
            Step::Ignore(Ignored::Unexpected(Some(MessageType::Ack)))
        );
        assert_eq!(
            c.handle(t0, &reply(&c, MessageType::Offer, OFFERED, None)),
            Step::Ignore(Ignored::Incomplete)
        );
        assert_eq!(
            c.handle(
                t0,
                &reply(&c, MessageType::Offer, Ipv4Addr::UNSPECIFIED, Some(SERVER))
            ),
            Step::Ignore(Ignored::Incomplete)
        );
        // Still selecting, deadline unchanged.
        assert_eq!(c.deadline(), Some(t0 + 100 * MS));
        // The real OFFER, then a duplicate OFFER.
        let (_, deadline) = sent(c.handle(t0 + MS, &offer(&c)));
        assert_eq!(
            c.handle(t0 + 2 * MS, &offer(&c)),
            Step::Ignore(Ignored::Unexpected(Some(MessageType::Offer)))
        );
        assert_eq!(c.deadline(), Some(deadline));
        // An ACK from another server.
        let stranger = Ipv4Addr::new(192, 0, 2, 2);
        assert_eq!(
            c.handle(t0, &reply(&c, MessageType::Ack, OFFERED, Some(stranger))),
            Step::Ignore(Ignored::OtherServer)
        );
        // The ACK, then a duplicate ACK.
        let ack = reply(&c, MessageType::Ack, OFFERED, Some(SERVER));
        assert!(matches!(c.handle(t0 + 3 * MS, &ack), Step::Done { .. }));
        assert_eq!(c.handle(t0 + 4 * MS, &ack), Step::Ignore(Ignored::Finished));
    }
}
