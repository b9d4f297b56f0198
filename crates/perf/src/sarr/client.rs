//! One simulated DHCPv6 client: a sans-IO state machine for SOLICIT -> ADVERTISE -> REQUEST ->
//! REPLY (RFC 8415 §18.2.1, §18.2.2).
//!
//! The [`Client`] never reads a clock or touches a socket. The I/O loop hands it the current
//! time and each client/server message addressed to it (already taken out of its RELAY-REPL by
//! [`super::relay::Relay`]); it answers with a [`Step`]. SOLICIT and REQUEST are two
//! transactions, so they carry two transaction-ids (consecutive ones, see
//! [`Identity::solicit_xid`]); a retransmission keeps its message's id and updates only the
//! Elapsed Time option.

use std::fmt;
use std::net::Ipv6Addr;
use std::time::{Duration, Instant};

use lessor_wire::v6::{
    status, ClientServerMessage, DhcpOption, Duid, MessageType, MAX_TRANSACTION_ID,
    OPTION_DNS_SERVERS, OPTION_DOMAIN_LIST, OPTION_ELAPSED_TIME,
};

use super::config::IaKinds;

/// Options the simulated client asks for (ORO): DNS servers and the domain search list.
const ORO: [u16; 2] = [OPTION_DNS_SERVERS, OPTION_DOMAIN_LIST];

/// Who a simulated client is: derived from its index and the run's seed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    /// Index of the client in the run, from 0.
    pub index: u32,
    /// `02:` (locally administered, unicast) then the 40 low bits of `seed + index`.
    pub mac: [u8; 6],
    /// DUID-LL (type 3, hardware type 1) of the MAC.
    pub duid: Duid,
    /// The client's link-local address (EUI-64 of the MAC): the relay's peer-address.
    pub peer_address: Ipv6Addr,
    /// IAID of its IA_NA and of its IA_PD (one of each type at most, so one value serves both).
    pub iaid: u32,
    /// transaction-id of its SOLICIT; its REQUEST uses the next one (mod 2^24).
    pub solicit_xid: u32,
}

/// First transaction-id of a run: 24 bits from the top of the seed (the MACs use the bottom).
fn xid_base(seed: u64) -> u32 {
    (seed >> 40) as u32 & MAX_TRANSACTION_ID
}

/// The index of the client a transaction-id belongs to, for a run of `seed` (the inverse of
/// [`Identity::solicit_xid`] and the REQUEST's id after it). The caller checks the index is in
/// the run and the client is waiting for that id.
pub fn index_of(transaction_id: u32, seed: u64) -> u32 {
    (transaction_id.wrapping_sub(xid_base(seed)) & MAX_TRANSACTION_ID) >> 1
}

impl Identity {
    /// The identity of client `index` in a run with `seed`. MACs (so DUIDs and link-local
    /// addresses) are unique within a run of up to 2^40 clients, transaction-ids within a run
    /// of up to 2^23 (the config checks it).
    pub fn new(index: u32, seed: u64) -> Identity {
        let low = seed.wrapping_add(u64::from(index)) & 0xff_ffff_ffff;
        let b = low.to_be_bytes();
        let mac = [0x02, b[3], b[4], b[5], b[6], b[7]];
        // Modified EUI-64 (RFC 4291 appendix A): ff:fe in the middle, the U/L bit inverted.
        let peer_address = Ipv6Addr::from([
            0xfe,
            0x80,
            0,
            0,
            0,
            0,
            0,
            0,
            mac[0] ^ 0x02,
            mac[1],
            mac[2],
            0xff,
            0xfe,
            mac[3],
            mac[4],
            mac[5],
        ]);
        Identity {
            index,
            mac,
            duid: Duid::Ll {
                hardware_type: 1,
                link_layer_address: mac.to_vec(),
            },
            peer_address,
            iaid: index,
            solicit_xid: xid_base(seed).wrapping_add(index.wrapping_mul(2)) & MAX_TRANSACTION_ID,
        }
    }

    /// Client `index` of a run whose clients reuse `distinct` identities in turn, as perfdhcp's
    /// `-R` does: the MAC, DUID, link-local address and IAID of client `index % distinct`, the
    /// transaction-ids of `index` (still unique, so answers still find their exchange).
    pub fn cycling(index: u32, seed: u64, distinct: u32) -> Identity {
        let mut id = Identity::new(index % distinct.max(1), seed);
        id.index = index;
        id.solicit_xid = Identity::new(index, seed).solicit_xid;
        id
    }

    /// transaction-id of its REQUEST.
    pub fn request_xid(&self) -> u32 {
        self.solicit_xid.wrapping_add(1) & MAX_TRANSACTION_ID
    }

    /// The MAC as `02:xx:xx:xx:xx:xx`.
    pub fn mac_string(&self) -> String {
        lessor_wire::hex::colon(&self.mac)
    }

    /// The DUID as colon-separated hex.
    pub fn duid_string(&self) -> String {
        Self::duid_of(&self.mac)
    }

    /// The DUID-LL of `mac` as colon-separated hex (`00:03:00:01:` then the MAC).
    pub fn duid_of(mac: &[u8; 6]) -> String {
        format!("00:03:00:01:{}", lessor_wire::hex::colon(mac))
    }
}

/// Per-message timeout and retransmissions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timing {
    /// How long to wait for the answer to one transmission.
    pub timeout: Duration,
    /// Retransmissions after the first transmission before the exchange counts as dropped.
    pub retries: u32,
}

/// Which half of the SARR a client was in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// SOLICIT sent, waiting for an ADVERTISE.
    Solicit,
    /// REQUEST sent, waiting for a REPLY.
    Request,
}

/// One address or delegated prefix a server granted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Lease {
    /// An IAADDR of the IA_NA.
    Address(Ipv6Addr),
    /// An IAPREFIX of the IA_PD: prefix and length.
    Prefix(Ipv6Addr, u8),
}

impl fmt::Display for Lease {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Lease::Address(a) => write!(f, "{a}"),
            Lease::Prefix(p, len) => write!(f, "{p}/{len}"),
        }
    }
}

/// How a client's exchange ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum End {
    /// A REPLY granting every IA asked for.
    Bound(Vec<Lease>),
    /// An ADVERTISE or REPLY that left an IA without a lease: the status code the server gave
    /// (NoAddrsAvail / NoPrefixAvail when it gave none).
    NotGranted {
        /// Where it happened.
        phase: Phase,
        /// The status code.
        status: u16,
    },
    /// No answer after all retransmissions of the given phase.
    Dropped(Phase),
}

/// The end of an exchange with the latencies it measured.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    /// How it ended.
    pub end: End,
    /// First SOLICIT sent -> ADVERTISE accepted, when one was.
    pub solicit_advertise: Option<Duration>,
    /// First REQUEST sent -> REPLY, for bound clients only.
    pub request_reply: Option<Duration>,
    /// First SOLICIT sent -> REPLY, for bound clients only.
    pub sarr: Option<Duration>,
}

/// Why a message was ignored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ignored {
    /// Not this client's outstanding transaction-id, or not its CLIENTID.
    NotForThisClient,
    /// The client has not sent anything yet.
    NotStarted,
    /// The exchange is over (a late or duplicate answer).
    Finished,
    /// A message type the current state does not expect.
    Unexpected(MessageType),
    /// An ADVERTISE or REPLY without a SERVERID.
    Incomplete,
    /// A REPLY from another server than the one the REQUEST chose.
    OtherServer,
}

/// What the I/O loop must do next for this client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// Send `message` (relayed) to the server; wait for an answer until `deadline`.
    Send {
        /// The client's message, to be wrapped in a RELAY-FORW.
        message: ClientServerMessage,
        /// When [`Client::on_timeout`] should be called if nothing arrives.
        deadline: Instant,
    },
    /// The message changed nothing.
    Ignore(Ignored),
    /// The deadline has not passed yet; nothing to do.
    Wait,
    /// The exchange is over.
    Done(Outcome),
}

#[derive(Debug, Clone)]
struct Waiting {
    /// The message as last sent.
    message: ClientServerMessage,
    /// First transmission of this message.
    first: Instant,
    /// Transmissions so far (1 after the first).
    sent: u32,
    deadline: Instant,
}

#[derive(Debug, Clone)]
enum State {
    Idle,
    Soliciting(Waiting),
    Requesting {
        waiting: Waiting,
        server: Duid,
        solicit_advertise: Duration,
    },
    Done,
}

/// One simulated client: SOLICIT -> ADVERTISE -> REQUEST -> REPLY.
#[derive(Debug, Clone)]
pub struct Client {
    id: Identity,
    timing: Timing,
    ia: IaKinds,
    /// First SOLICIT transmission.
    started: Option<Instant>,
    state: State,
}

/// The Elapsed Time option (RFC 8415 §21.9): hundredths of a second, 0xffff at most.
fn elapsed_time(since: Duration) -> DhcpOption {
    let hundredths = u16::try_from(since.as_millis() / 10).unwrap_or(u16::MAX);
    DhcpOption::Other {
        code: OPTION_ELAPSED_TIME,
        data: hundredths.to_be_bytes().to_vec(),
    }
}

impl Client {
    /// A client that has sent nothing yet.
    pub fn new(id: Identity, timing: Timing, ia: IaKinds) -> Client {
        Client {
            id,
            timing,
            ia,
            started: None,
            state: State::Idle,
        }
    }

    /// Who this client is.
    pub fn identity(&self) -> &Identity {
        &self.id
    }

    /// The deadline of the outstanding transmission, if one is outstanding.
    pub fn deadline(&self) -> Option<Instant> {
        match &self.state {
            State::Soliciting(w) | State::Requesting { waiting: w, .. } => Some(w.deadline),
            State::Idle | State::Done => None,
        }
    }

    /// Whether the exchange is over.
    pub fn is_done(&self) -> bool {
        matches!(self.state, State::Done)
    }

    fn message(
        &self,
        msg_type: MessageType,
        transaction_id: u32,
        server: Option<&Duid>,
        ias: Vec<DhcpOption>,
    ) -> ClientServerMessage {
        let mut options = vec![DhcpOption::ClientId(self.id.duid.clone())];
        if let Some(s) = server {
            options.push(DhcpOption::ServerId(s.clone()));
        }
        options.push(elapsed_time(Duration::ZERO));
        options.push(DhcpOption::Oro(ORO.to_vec()));
        options.extend(ias);
        ClientServerMessage {
            msg_type,
            transaction_id,
            options,
        }
    }

    fn send(&self, message: ClientServerMessage, now: Instant) -> Step {
        let deadline = now + self.timing.timeout;
        Step::Send { message, deadline }
    }

    /// Starts the exchange: the first SOLICIT. Calling it again is `Step::Wait`.
    pub fn start(&mut self, now: Instant) -> Step {
        if !matches!(self.state, State::Idle) {
            return Step::Wait;
        }
        self.started = Some(now);
        let mut ias = Vec::new();
        if self.ia.na() {
            ias.push(DhcpOption::IaNa {
                iaid: self.id.iaid,
                t1: 0,
                t2: 0,
                options: Vec::new(),
            });
        }
        if self.ia.pd() {
            ias.push(DhcpOption::IaPd {
                iaid: self.id.iaid,
                t1: 0,
                t2: 0,
                options: Vec::new(),
            });
        }
        let solicit = self.message(MessageType::Solicit, self.id.solicit_xid, None, ias);
        let step = self.send(solicit.clone(), now);
        self.state = State::Soliciting(Waiting {
            message: solicit,
            first: now,
            sent: 1,
            deadline: now + self.timing.timeout,
        });
        step
    }

    /// The deadline passed without an answer: retransmit, or give up after `retries`.
    pub fn on_timeout(&mut self, now: Instant) -> Step {
        let (waiting, phase) = match &mut self.state {
            State::Soliciting(w) => (w, Phase::Solicit),
            State::Requesting { waiting, .. } => (waiting, Phase::Request),
            State::Idle | State::Done => return Step::Wait,
        };
        if now < waiting.deadline {
            return Step::Wait;
        }
        if waiting.sent > self.timing.retries {
            let solicit_advertise = match &self.state {
                State::Requesting {
                    solicit_advertise, ..
                } => Some(*solicit_advertise),
                _ => None,
            };
            self.state = State::Done;
            return Step::Done(Outcome {
                end: End::Dropped(phase),
                solicit_advertise,
                request_reply: None,
                sarr: None,
            });
        }
        let since = now.saturating_duration_since(waiting.first);
        for o in &mut waiting.message.options {
            if o.code() == OPTION_ELAPSED_TIME {
                *o = elapsed_time(since);
            }
        }
        waiting.sent += 1;
        waiting.deadline = now + self.timing.timeout;
        Step::Send {
            message: waiting.message.clone(),
            deadline: waiting.deadline,
        }
    }

    /// The leases `reply` grants for the IAs asked for, or the status code of the first IA
    /// left without one (the message's own status code when it is not Success).
    fn granted(&self, reply: &ClientServerMessage) -> Result<Vec<Lease>, u16> {
        if let Some(code) = status_of(&reply.options) {
            return Err(code);
        }
        let mut leases = Vec::new();
        for (wanted, pd) in [(self.ia.na(), false), (self.ia.pd(), true)] {
            if !wanted {
                continue;
            }
            let none = if pd {
                status::NO_PREFIX_AVAIL
            } else {
                status::NO_ADDRS_AVAIL
            };
            let ia = reply.options.iter().find_map(|o| match (o, pd) {
                (DhcpOption::IaNa { iaid, options, .. }, false)
                | (DhcpOption::IaPd { iaid, options, .. }, true)
                    if *iaid == self.id.iaid =>
                {
                    Some(options)
                }
                _ => None,
            });
            let Some(ia) = ia else {
                return Err(none);
            };
            if let Some(code) = status_of(ia) {
                return Err(code);
            }
            let before = leases.len();
            leases.extend(ia.iter().filter_map(|o| match o {
                DhcpOption::IaAddr {
                    address,
                    valid_lifetime,
                    ..
                } if *valid_lifetime > 0 => Some(Lease::Address(*address)),
                DhcpOption::IaPrefix {
                    prefix,
                    prefix_length,
                    valid_lifetime,
                    ..
                } if *valid_lifetime > 0 => Some(Lease::Prefix(*prefix, *prefix_length)),
                _ => None,
            }));
            if leases.len() == before {
                return Err(none);
            }
        }
        Ok(leases)
    }

    /// The REQUEST for what an ADVERTISE offered: the same IAs with its addresses and prefixes
    /// (lifetimes 0: the server chooses, RFC 8415 §18.2.2).
    fn request_ias(&self, offered: &[Lease]) -> Vec<DhcpOption> {
        let mut ias = Vec::new();
        if self.ia.na() {
            ias.push(DhcpOption::IaNa {
                iaid: self.id.iaid,
                t1: 0,
                t2: 0,
                options: offered
                    .iter()
                    .filter_map(|l| match l {
                        Lease::Address(a) => Some(DhcpOption::IaAddr {
                            address: *a,
                            preferred_lifetime: 0,
                            valid_lifetime: 0,
                            options: Vec::new(),
                        }),
                        Lease::Prefix(..) => None,
                    })
                    .collect(),
            });
        }
        if self.ia.pd() {
            ias.push(DhcpOption::IaPd {
                iaid: self.id.iaid,
                t1: 0,
                t2: 0,
                options: offered
                    .iter()
                    .filter_map(|l| match l {
                        Lease::Prefix(p, len) => Some(DhcpOption::IaPrefix {
                            preferred_lifetime: 0,
                            valid_lifetime: 0,
                            prefix_length: *len,
                            prefix: *p,
                            options: Vec::new(),
                        }),
                        Lease::Address(_) => None,
                    })
                    .collect(),
            });
        }
        ias
    }

    /// A client/server message arrived for this client (taken out of its RELAY-REPL).
    /// Messages for other transactions or clients, of the wrong type for the current state,
    /// duplicates and late answers are ignored.
    pub fn handle(&mut self, now: Instant, reply: &ClientServerMessage) -> Step {
        let waiting = match &self.state {
            State::Idle => return Step::Ignore(Ignored::NotStarted),
            State::Done => return Step::Ignore(Ignored::Finished),
            State::Soliciting(w) | State::Requesting { waiting: w, .. } => w,
        };
        let ours = reply.options.iter().any(|o| match o {
            DhcpOption::ClientId(d) => d.to_vec() == self.id.duid.to_vec(),
            _ => false,
        });
        if reply.transaction_id != waiting.message.transaction_id || !ours {
            return Step::Ignore(Ignored::NotForThisClient);
        }
        let server_id = reply.options.iter().find_map(|o| match o {
            DhcpOption::ServerId(d) => Some(d),
            _ => None,
        });
        match (&self.state, reply.msg_type) {
            (State::Soliciting(waiting), MessageType::Advertise) => {
                let Some(server) = server_id.cloned() else {
                    return Step::Ignore(Ignored::Incomplete);
                };
                let solicit_advertise = now.saturating_duration_since(waiting.first);
                let offered = match self.granted(reply) {
                    Ok(l) => l,
                    Err(status) => {
                        // One server: an ADVERTISE without leases ends the exchange (a client
                        // would wait for other servers, RFC 8415 §18.2.9).
                        self.state = State::Done;
                        return Step::Done(Outcome {
                            end: End::NotGranted {
                                phase: Phase::Solicit,
                                status,
                            },
                            solicit_advertise: Some(solicit_advertise),
                            request_reply: None,
                            sarr: None,
                        });
                    }
                };
                let ias = self.request_ias(&offered);
                let request = self.message(
                    MessageType::Request,
                    self.id.request_xid(),
                    Some(&server),
                    ias,
                );
                let step = self.send(request.clone(), now);
                self.state = State::Requesting {
                    waiting: Waiting {
                        message: request,
                        first: now,
                        sent: 1,
                        deadline: now + self.timing.timeout,
                    },
                    server,
                    solicit_advertise,
                };
                step
            }
            (
                State::Requesting {
                    waiting,
                    server,
                    solicit_advertise,
                },
                MessageType::Reply,
            ) => {
                match server_id {
                    None => return Step::Ignore(Ignored::Incomplete),
                    Some(s) if s.to_vec() != server.to_vec() => {
                        return Step::Ignore(Ignored::OtherServer)
                    }
                    Some(_) => {}
                }
                let solicit_advertise = Some(*solicit_advertise);
                let request_reply = now.saturating_duration_since(waiting.first);
                let started = self.started.unwrap_or(waiting.first);
                let outcome = match self.granted(reply) {
                    Ok(leases) => Outcome {
                        end: End::Bound(leases),
                        solicit_advertise,
                        request_reply: Some(request_reply),
                        sarr: Some(now.saturating_duration_since(started)),
                    },
                    Err(status) => Outcome {
                        end: End::NotGranted {
                            phase: Phase::Request,
                            status,
                        },
                        solicit_advertise,
                        request_reply: None,
                        sarr: None,
                    },
                };
                self.state = State::Done;
                Step::Done(outcome)
            }
            (_, kind) => Step::Ignore(Ignored::Unexpected(kind)),
        }
    }
}

/// The first non-Success STATUS_CODE directly among `options`.
fn status_of(options: &[DhcpOption]) -> Option<u16> {
    options.iter().find_map(|o| match o {
        DhcpOption::StatusCode { code, .. } if *code != status::SUCCESS => Some(*code),
        _ => None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: Duration = Duration::from_millis(1);
    const ADDR: Ipv6Addr = Ipv6Addr::new(0x2001, 0xdb8, 1, 0, 0, 0, 0, 0x1000);
    const PREFIX: Ipv6Addr = Ipv6Addr::new(0x2001, 0xdb8, 0x100, 0x100, 0, 0, 0, 0);

    fn server() -> Duid {
        Duid::En {
            enterprise_number: 2495,
            identifier: vec![1, 2, 3],
        }
    }

    fn client(ia: IaKinds) -> Client {
        let timing = Timing {
            timeout: 100 * MS,
            retries: 1,
        };
        Client::new(Identity::new(7, 0x0102_0304_0506_0708), timing, ia)
    }

    fn sent(step: Step) -> (ClientServerMessage, Instant) {
        match step {
            Step::Send { message, deadline } => (message, deadline),
            other => panic!("expected Send, got {other:?}"),
        }
    }

    fn answer(
        c: &Client,
        msg_type: MessageType,
        xid: u32,
        server: Option<Duid>,
        pd_status: Option<u16>,
    ) -> ClientServerMessage {
        let iaid = c.identity().iaid;
        let mut options = vec![DhcpOption::ClientId(c.identity().duid.clone())];
        options.extend(server.map(DhcpOption::ServerId));
        options.push(DhcpOption::IaNa {
            iaid,
            t1: 0,
            t2: 0,
            options: vec![DhcpOption::IaAddr {
                address: ADDR,
                preferred_lifetime: 30,
                valid_lifetime: 60,
                options: vec![],
            }],
        });
        options.push(DhcpOption::IaPd {
            iaid,
            t1: 0,
            t2: 0,
            options: match pd_status {
                Some(code) => vec![DhcpOption::status_code(code, "no")],
                None => vec![DhcpOption::IaPrefix {
                    preferred_lifetime: 30,
                    valid_lifetime: 60,
                    prefix_length: 56,
                    prefix: PREFIX,
                    options: vec![],
                }],
            },
        });
        ClientServerMessage {
            msg_type,
            transaction_id: xid,
            options,
        }
    }

    #[test]
    fn identity_is_derived_from_index_and_seed() {
        let seed = 0xabcd_ef00_0000_00ff;
        let a = Identity::new(0, seed);
        let b = Identity::new(1, seed);
        assert_eq!(a.mac, [2, 0, 0, 0, 0, 0xff]);
        assert_eq!(b.mac, [2, 0, 0, 0, 1, 0]);
        assert_eq!(
            a.peer_address,
            "fe80::ff:fe00:ff".parse::<Ipv6Addr>().unwrap()
        );
        assert_eq!(a.duid.to_vec(), [0, 3, 0, 1, 2, 0, 0, 0, 0, 0xff]);
        assert_eq!(a.duid_string(), "00:03:00:01:02:00:00:00:00:ff");
        assert_eq!(a.duid_string(), lessor_wire::hex::colon(&a.duid.to_vec()));
        assert_eq!(a.solicit_xid, 0xabcdef);
        assert_eq!(a.request_xid(), 0xabcdf0);
        assert_eq!(b.solicit_xid, 0xabcdf1);
        // Transaction-ids wrap within 24 bits and map back to their client.
        let last = Identity::new((1 << 23) - 1, seed);
        assert!(last.request_xid() <= MAX_TRANSACTION_ID);
        for id in [&a, &b, &last] {
            assert_eq!(index_of(id.solicit_xid, seed), id.index);
            assert_eq!(index_of(id.request_xid(), seed), id.index);
        }
        // Cycling through 2 identities: client 3 is client 1 with its own transaction-ids.
        let c = Identity::cycling(3, seed, 2);
        assert_eq!(
            (c.mac, c.iaid, c.peer_address),
            (b.mac, b.iaid, b.peer_address)
        );
        assert_eq!(c.index, 3);
        assert_eq!(index_of(c.solicit_xid, seed), 3);
        assert_eq!(Identity::cycling(3, seed, 5), Identity::new(3, seed));
    }

    #[test]
    fn solicit_then_request_then_bound() {
        let mut c = client(IaKinds::Both);
        let t0 = Instant::now();
        let (solicit, deadline) = sent(c.start(t0));
        assert_eq!(deadline, t0 + 100 * MS);
        assert_eq!(solicit.msg_type, MessageType::Solicit);
        assert_eq!(solicit.transaction_id, c.identity().solicit_xid);
        let codes: Vec<u16> = solicit.options.iter().map(DhcpOption::code).collect();
        assert_eq!(codes, [1, 8, 6, 3, 25]);
        assert_eq!(c.start(t0), Step::Wait);

        let adv = answer(
            &c,
            MessageType::Advertise,
            solicit.transaction_id,
            Some(server()),
            None,
        );
        let (request, _) = sent(c.handle(t0 + 3 * MS, &adv));
        assert_eq!(request.msg_type, MessageType::Request);
        assert_eq!(request.transaction_id, c.identity().request_xid());
        assert!(request.options.contains(&DhcpOption::ServerId(server())));
        assert!(request.options.iter().any(|o| matches!(o,
            DhcpOption::IaNa { options, .. } if matches!(options.as_slice(),
                [DhcpOption::IaAddr { address, valid_lifetime: 0, .. }] if *address == ADDR))));
        assert!(request.options.iter().any(|o| matches!(o,
            DhcpOption::IaPd { options, .. } if matches!(options.as_slice(),
                [DhcpOption::IaPrefix { prefix, prefix_length: 56, .. }] if *prefix == PREFIX))));

        // The ADVERTISE again (its transaction is over), then a REPLY from another server.
        assert_eq!(c.handle(t0, &adv), Step::Ignore(Ignored::NotForThisClient));
        let stranger = Duid::Uuid([9; 16]);
        let reply = answer(
            &c,
            MessageType::Reply,
            request.transaction_id,
            Some(stranger),
            None,
        );
        assert_eq!(c.handle(t0, &reply), Step::Ignore(Ignored::OtherServer));
        let reply = answer(
            &c,
            MessageType::Reply,
            request.transaction_id,
            Some(server()),
            None,
        );
        let Step::Done(outcome) = c.handle(t0 + 5 * MS, &reply) else {
            panic!()
        };
        assert_eq!(
            outcome.end,
            End::Bound(vec![Lease::Address(ADDR), Lease::Prefix(PREFIX, 56)])
        );
        assert_eq!(outcome.solicit_advertise, Some(3 * MS));
        assert_eq!(outcome.request_reply, Some(2 * MS));
        assert_eq!(outcome.sarr, Some(5 * MS));
        assert!(c.is_done());
        assert_eq!(c.handle(t0, &reply), Step::Ignore(Ignored::Finished));
    }

    #[test]
    fn only_the_asked_ias_count_and_a_missing_lease_is_not_granted() {
        let mut c = client(IaKinds::Na);
        let t0 = Instant::now();
        let (solicit, _) = sent(c.start(t0));
        assert!(solicit.options.iter().all(|o| o.code() != 25));
        // IA_PD refused, but only an IA_NA was asked for.
        let adv = answer(
            &c,
            MessageType::Advertise,
            solicit.transaction_id,
            Some(server()),
            Some(6),
        );
        let (request, _) = sent(c.handle(t0, &adv));
        assert!(request.options.iter().all(|o| o.code() != 25));

        let mut c = client(IaKinds::Pd);
        let (solicit, _) = sent(c.start(t0));
        let adv = answer(
            &c,
            MessageType::Advertise,
            solicit.transaction_id,
            Some(server()),
            Some(6),
        );
        let Step::Done(outcome) = c.handle(t0 + MS, &adv) else {
            panic!()
        };
        assert_eq!(
            outcome.end,
            End::NotGranted {
                phase: Phase::Solicit,
                status: status::NO_PREFIX_AVAIL
            }
        );
        assert_eq!(outcome.solicit_advertise, Some(MS));

        // An ADVERTISE without SERVERID, a REPLY while soliciting, another DUID.
        let mut c = client(IaKinds::Na);
        let (solicit, _) = sent(c.start(t0));
        let xid = solicit.transaction_id;
        let adv = answer(&c, MessageType::Advertise, xid, None, None);
        assert_eq!(c.handle(t0, &adv), Step::Ignore(Ignored::Incomplete));
        let reply = answer(&c, MessageType::Reply, xid, Some(server()), None);
        assert_eq!(
            c.handle(t0, &reply),
            Step::Ignore(Ignored::Unexpected(MessageType::Reply))
        );
        let mut other = answer(&c, MessageType::Advertise, xid, Some(server()), None);
        other.options[0] = DhcpOption::ClientId(Identity::new(8, 0).duid);
        assert_eq!(
            c.handle(t0, &other),
            Step::Ignore(Ignored::NotForThisClient)
        );
    }

    #[test]
    fn retransmits_with_elapsed_time_then_drops() {
        let mut c = client(IaKinds::Na);
        let t0 = Instant::now();
        let (first, d1) = sent(c.start(t0));
        assert!(first.options.contains(&elapsed_time(Duration::ZERO)));
        assert_eq!(c.on_timeout(t0 + 99 * MS), Step::Wait);
        let (again, d2) = sent(c.on_timeout(d1 + 150 * MS));
        assert_eq!(d2, d1 + 250 * MS);
        assert_eq!(again.transaction_id, first.transaction_id);
        // 250 ms after the first transmission: 25 hundredths.
        assert!(again.options.contains(&DhcpOption::Other {
            code: OPTION_ELAPSED_TIME,
            data: vec![0, 25]
        }));
        let Step::Done(outcome) = c.on_timeout(d2) else {
            panic!()
        };
        assert_eq!(outcome.end, End::Dropped(Phase::Solicit));
        assert_eq!(c.on_timeout(d2 + MS), Step::Wait);
        assert_eq!(c.deadline(), None);
        assert_eq!(
            elapsed_time(Duration::from_secs(1000)),
            DhcpOption::Other {
                code: OPTION_ELAPSED_TIME,
                data: vec![0xff, 0xff]
            }
        );
    }
}
