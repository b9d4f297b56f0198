//! End to end on loopback: `perf sarr` against a tiny fake relayed DHCPv6 server in a thread.
//!
//! The fake server takes each RELAY-FORW apart, answers SOLICIT with ADVERTISE and REQUEST with
//! REPLY (addresses from 2001:db8:1::/64 and /56 prefixes from 2001:db8:100::/48, from a
//! counter), and sends the RELAY-REPL back to the datagram's source, as a server does for a
//! relay that includes the relay-source-port option (RFC 8357). Only [::1] sockets are used.

use std::collections::{HashMap, HashSet};
use std::net::{Ipv6Addr, SocketAddr, UdpSocket};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use lessor_perf::sarr::client::Lease;
use lessor_perf::sarr::relay::OPTION_RELAY_SOURCE_PORT;
use lessor_perf::sarr::{run_on, Config, IaKinds};
use lessor_wire::v6::{
    status, ClientServerMessage, DhcpOption, Duid, MessageType, RelayMessage, Repr,
};

const LINK: Ipv6Addr = Ipv6Addr::new(0x2001, 0xdb8, 1, 0, 0, 0, 0, 1);

fn server_duid() -> Duid {
    Duid::Ll {
        hardware_type: 1,
        link_layer_address: vec![0x02, 0, 0, 0, 0, 0x53],
    }
}

#[derive(Clone, Copy, Default)]
struct Behaviour {
    /// Ignore the first SOLICIT of each client (forces one retransmission).
    drop_first_solicit: bool,
    /// Answer the IA_PD of every n-th SOLICIT answered with NoPrefixAvail (0: never).
    no_prefix_every: u32,
    /// Never answer.
    silent: bool,
    /// Send every answer twice.
    duplicate: bool,
}

#[derive(Default, Debug)]
struct Seen {
    solicits: u32,
    /// SOLICITs answered.
    advertised: u32,
    requests: u32,
    /// (client DUID, leases) of every REPLY sent.
    replied: Vec<(Vec<u8>, Vec<Lease>)>,
}

struct FakeServer {
    addr: SocketAddr,
    stop: Arc<AtomicBool>,
    handle: JoinHandle<Seen>,
}

impl FakeServer {
    fn start(behaviour: Behaviour) -> FakeServer {
        let socket = UdpSocket::bind("[::1]:0").unwrap();
        socket
            .set_read_timeout(Some(Duration::from_millis(20)))
            .unwrap();
        let addr = socket.local_addr().unwrap();
        let stop = Arc::new(AtomicBool::new(false));
        let flag = Arc::clone(&stop);
        let handle = std::thread::spawn(move || serve(&socket, behaviour, &flag));
        FakeServer { addr, stop, handle }
    }

    fn finish(self) -> Seen {
        self.stop.store(true, Ordering::SeqCst);
        self.handle.join().unwrap()
    }
}

/// What the server hands out for client number `n` (in order of first SOLICIT).
fn leases_for(n: u16) -> (Ipv6Addr, Ipv6Addr) {
    (
        Ipv6Addr::new(0x2001, 0xdb8, 1, 0, 0, 0, 0x1000, n),
        Ipv6Addr::new(0x2001, 0xdb8, 0x100, n << 8, 0, 0, 0, 0),
    )
}

fn serve(socket: &UdpSocket, b: Behaviour, stop: &AtomicBool) -> Seen {
    let mut seen = Seen::default();
    let mut buf = [0u8; 4096];
    let mut clients: HashMap<Vec<u8>, u16> = HashMap::new();
    let mut solicits_per_client: HashMap<Vec<u8>, u32> = HashMap::new();
    while !stop.load(Ordering::SeqCst) {
        let Ok((n, from)) = socket.recv_from(&mut buf) else {
            continue;
        };
        let Repr::Relay(forw) = Repr::from_bytes(&buf[..n]).expect("valid DHCPv6") else {
            panic!("not relayed");
        };
        assert_eq!(forw.msg_type, MessageType::RelayForw);
        assert_eq!(forw.hop_count, 0);
        assert_eq!(forw.link_address, LINK);
        assert_eq!(forw.peer_address.segments()[0], 0xfe80);
        let code = |c: u16| forw.options.iter().find(|o| o.code() == c).cloned();
        assert_eq!(
            code(18),
            Some(DhcpOption::InterfaceId(b"ge-0/0/1".to_vec()))
        );
        assert_eq!(
            code(OPTION_RELAY_SOURCE_PORT),
            Some(DhcpOption::Other {
                code: OPTION_RELAY_SOURCE_PORT,
                data: vec![0, 0]
            })
        );
        let Some(DhcpOption::RemoteId {
            enterprise_number: 3561,
            remote_id,
        }) = code(37)
        else {
            panic!("remote-id missing")
        };
        assert!(matches!(code(53), Some(DhcpOption::RelayId(_))));
        let Some(Repr::ClientServer(msg)) = forw.relay_message().cloned() else {
            panic!("no client message")
        };
        let duid = match msg.options.iter().find(|o| o.code() == 1) {
            Some(DhcpOption::ClientId(d)) => d.to_vec(),
            other => panic!("no CLIENTID: {other:?}"),
        };
        // DUID-LL of the MAC the remote-id carries; peer-address is its EUI-64.
        assert_eq!(&duid[4..], &remote_id[..]);
        assert_eq!(forw.peer_address.octets()[11..13], [0xff, 0xfe]);
        let next = clients.len() as u16;
        let number = *clients.entry(duid.clone()).or_insert(next);
        let (address, prefix) = leases_for(number);
        let iaid = msg
            .options
            .iter()
            .find_map(|o| match o {
                DhcpOption::IaNa { iaid, .. } | DhcpOption::IaPd { iaid, .. } => Some(*iaid),
                _ => None,
            })
            .expect("an IA");
        let asked_na = msg.options.iter().any(|o| o.code() == 3);
        let asked_pd = msg.options.iter().any(|o| o.code() == 25);
        let mut no_prefix = false;
        let kind = match msg.msg_type {
            MessageType::Solicit => {
                seen.solicits += 1;
                assert!(msg.options.iter().all(|o| o.code() != 2));
                let count = solicits_per_client.entry(duid.clone()).or_default();
                *count += 1;
                if b.silent || (b.drop_first_solicit && *count == 1) {
                    continue;
                }
                seen.advertised += 1;
                no_prefix = b.no_prefix_every > 0 && seen.advertised % b.no_prefix_every == 0;
                MessageType::Advertise
            }
            MessageType::Request => {
                seen.requests += 1;
                assert_eq!(
                    msg.options.iter().find(|o| o.code() == 2),
                    Some(&DhcpOption::ServerId(server_duid()))
                );
                // The REQUEST asks for what was advertised.
                for o in &msg.options {
                    match o {
                        DhcpOption::IaNa { options, .. } => {
                            assert!(matches!(options.as_slice(),
                                [DhcpOption::IaAddr { address: a, .. }] if *a == address));
                        }
                        DhcpOption::IaPd { options, .. } => {
                            assert!(matches!(options.as_slice(),
                                [DhcpOption::IaPrefix { prefix: p, prefix_length: 56, .. }] if *p == prefix));
                        }
                        _ => {}
                    }
                }
                if b.silent {
                    continue;
                }
                MessageType::Reply
            }
            other => panic!("unexpected {other:?}"),
        };
        let mut options = vec![
            DhcpOption::ClientId(Duid::parse(&duid).unwrap()),
            DhcpOption::ServerId(server_duid()),
        ];
        let mut leases = Vec::new();
        if asked_na {
            leases.push(Lease::Address(address));
            options.push(DhcpOption::IaNa {
                iaid,
                t1: 1800,
                t2: 2880,
                options: vec![DhcpOption::IaAddr {
                    address,
                    preferred_lifetime: 3600,
                    valid_lifetime: 7200,
                    options: Vec::new(),
                }],
            });
        }
        if asked_pd {
            leases.push(Lease::Prefix(prefix, 56));
            options.push(DhcpOption::IaPd {
                iaid,
                t1: 1800,
                t2: 2880,
                options: if no_prefix {
                    vec![DhcpOption::status_code(
                        status::NO_PREFIX_AVAIL,
                        "none left",
                    )]
                } else {
                    vec![DhcpOption::IaPrefix {
                        preferred_lifetime: 3600,
                        valid_lifetime: 7200,
                        prefix_length: 56,
                        prefix,
                        options: Vec::new(),
                    }]
                },
            });
        }
        if kind == MessageType::Reply {
            seen.replied.push((duid, leases));
        }
        let inner = Repr::ClientServer(ClientServerMessage {
            msg_type: kind,
            transaction_id: msg.transaction_id,
            options,
        });
        let repl = Repr::Relay(RelayMessage {
            msg_type: MessageType::RelayRepl,
            hop_count: 0,
            link_address: forw.link_address,
            peer_address: forw.peer_address,
            options: vec![
                DhcpOption::InterfaceId(b"ge-0/0/1".to_vec()),
                DhcpOption::RelayMsg(Box::new(inner)),
            ],
        })
        .to_vec();
        for _ in 0..if b.duplicate { 2 } else { 1 } {
            socket.send_to(&repl, from).unwrap();
        }
    }
    seen
}

fn setup(behaviour: Behaviour) -> (UdpSocket, FakeServer, Config) {
    let socket = UdpSocket::bind("[::1]:0").unwrap();
    let server = FakeServer::start(behaviour);
    let mut config = Config::new(server.addr, LINK);
    config.bind = socket.local_addr().unwrap();
    config.relay.interface_id = Some(b"ge-0/0/1".to_vec());
    config.relay.remote_id_enterprise = Some(3561);
    config.relay.relay_id = Some(Duid::En {
        enterprise_number: 3561,
        identifier: b"perf".to_vec(),
    });
    config.seed = 0x5eed_0000_0000_0001;
    config.duration = Duration::from_secs(30);
    (socket, server, config)
}

#[test]
fn two_hundred_sarrs_with_addresses_and_prefixes() {
    let (socket, server, mut config) = setup(Behaviour::default());
    config.clients = 200;
    config.in_flight = 16;
    config.ia = IaKinds::Both;
    config.timeout = Duration::from_millis(500);
    let dir = std::env::temp_dir().join(format!("lessor-perf-sarr-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let bound_path = dir.join("bound.txt");
    config.bound_out = Some(bound_path.clone());

    let report = run_on(&config, &socket).unwrap();
    let seen = server.finish();

    assert_eq!(report.completed, 200, "{}", report.to_text());
    assert_eq!(report.started, 200);
    assert_eq!(report.drops(), 0);
    assert_eq!(report.not_granted(), 0);
    assert_eq!(report.unexpected, 0);
    assert_eq!(report.malformed, 0);
    assert_eq!(report.unfinished, 0);
    assert_eq!(report.not_started, 0);
    assert_eq!(report.addresses, 200);
    assert_eq!(report.prefixes, 200);
    assert_eq!(report.sarr.count, 200);
    assert_eq!(report.solicit_advertise.count, 200);
    assert_eq!(report.request_reply.count, 200);
    assert!(report.rate > 0.0 && report.offered_rate > 0.0);
    assert!(report.sarr.p50.unwrap() <= report.sarr.p99.unwrap());
    assert_eq!(seen.solicits, 200);
    assert_eq!(seen.requests, 200);

    // What the server replied is what the report counted, once per client.
    let ours: HashSet<(String, Vec<Lease>)> = report
        .bound
        .iter()
        .map(|(mac, l)| (lessor_perf::sarr::client::Identity::duid_of(mac), l.clone()))
        .collect();
    let theirs: HashSet<(String, Vec<Lease>)> = seen
        .replied
        .iter()
        .map(|(d, l)| (lessor_wire::hex::colon(d), l.clone()))
        .collect();
    assert_eq!(ours.len(), 200);
    assert_eq!(ours, theirs);

    let text = std::fs::read_to_string(&bound_path).unwrap();
    assert_eq!(text, report.bound_lines());
    assert_eq!(text.lines().count(), 200);
    assert!(text.lines().all(|l| l.starts_with("00:03:00:01:02:")
        && l.contains(" 2001:db8:1::")
        && l.ends_with("/56")));
    std::fs::remove_dir_all(&dir).unwrap();

    let json = report.to_json();
    assert_eq!(json["completed"], 200);
    assert_eq!(json["drops_pct"], 0.0);
    assert_eq!(json["ia"], "both");
    assert_eq!(json["latency_ms"]["sarr"]["count"], 200);
}

#[test]
fn paced_run_offers_its_rate() {
    let (socket, server, mut config) = setup(Behaviour::default());
    config.clients = 100;
    config.rate = Some(500);
    config.ia = IaKinds::Pd;
    let report = run_on(&config, &socket).unwrap();
    server.finish();
    assert_eq!(report.completed, 100, "{}", report.to_text());
    assert_eq!(report.prefixes, 100);
    assert_eq!(report.addresses, 0);
    // 100 clients at 500/s: the schedule takes 200 ms; the run cannot be faster than that.
    assert!(
        report.sending >= Duration::from_millis(200),
        "{:?}",
        report.sending
    );
    assert!(report.elapsed >= Duration::from_millis(198));
    // The offered rate is the schedule's: 500/s, less only by what a stall of this test's
    // thread (a busy machine) made the schedule slip.
    let planned = Duration::from_millis(200) + report.slipped;
    assert!(
        report.sending >= planned,
        "{:?} {:?}",
        report.sending,
        planned
    );
    assert!(report.offered_rate <= 500.5, "{}", report.offered_rate);
    if report.slipped.is_zero() {
        assert!(
            (report.offered_rate - 500.0).abs() < 1.0,
            "{}",
            report.offered_rate
        );
    }
}

#[test]
fn retransmissions_refusals_and_duplicates() {
    let (socket, server, mut config) = setup(Behaviour {
        drop_first_solicit: true,
        no_prefix_every: 5,
        duplicate: true,
        ..Behaviour::default()
    });
    config.clients = 40;
    config.in_flight = 8;
    config.ia = IaKinds::Both;
    config.timeout = Duration::from_millis(50);
    let report = run_on(&config, &socket).unwrap();
    let seen = server.finish();
    // Every client's SOLICIT was sent twice; every 5th answered SOLICIT had no prefix.
    assert_eq!(report.retransmissions, 40, "{}", report.to_text());
    assert_eq!(seen.solicits, 80);
    assert_eq!(report.not_granted_solicit, 8);
    assert_eq!(report.completed, 32);
    assert_eq!(report.drops(), 0);
    // Each ADVERTISE and REPLY came twice; the copies are ignored (the last may come late).
    assert!(
        (71..=72).contains(&report.unexpected),
        "{}",
        report.unexpected
    );
    assert!(report.solicit_advertise.min.unwrap() >= Duration::from_millis(50));
}

#[test]
fn silent_server_counts_drops() {
    let (socket, server, mut config) = setup(Behaviour {
        silent: true,
        ..Behaviour::default()
    });
    config.clients = 6;
    config.in_flight = 3;
    config.timeout = Duration::from_millis(20);
    config.retries = 1;
    let report = run_on(&config, &socket).unwrap();
    let seen = server.finish();
    assert_eq!(report.completed, 0);
    assert_eq!(report.drops_solicit, 6);
    assert_eq!(report.retransmissions, 6);
    assert_eq!(seen.solicits, 12);
    assert_eq!(report.drops_pct(), 100.0);
    assert_eq!(
        report.to_json()["latency_ms"]["sarr"]["p50"],
        serde_json::Value::Null
    );
}

#[test]
fn duration_stops_starting_and_the_outstanding_run_out() {
    let (socket, server, mut config) = setup(Behaviour {
        silent: true,
        ..Behaviour::default()
    });
    config.clients = 1000;
    config.in_flight = 4;
    config.timeout = Duration::from_millis(100);
    config.retries = 0;
    config.duration = Duration::from_millis(150);
    let t0 = std::time::Instant::now();
    let report = run_on(&config, &socket).unwrap();
    let took = t0.elapsed();
    server.finish();
    assert!(took < Duration::from_secs(2), "{took:?}");
    // Started at 0 ms (4), 100 ms (4, after the first four timed out); those end by 200 ms.
    assert_eq!(report.started, 8, "{}", report.to_text());
    assert_eq!(report.drops_solicit, 8);
    assert_eq!(report.unfinished, 0);
    assert_eq!(report.not_started, 992);
    // Closed loop: load was offered for the whole run.
    assert_eq!(report.sending, report.elapsed);
}

#[test]
fn distinct_clients_reuse_their_identities() {
    let (socket, server, mut config) = setup(Behaviour::default());
    config.clients = 30;
    config.distinct_clients = Some(4);
    config.in_flight = 1;
    let report = run_on(&config, &socket).unwrap();
    let seen = server.finish();
    assert_eq!(report.completed, 30, "{}", report.to_text());
    let duids: HashSet<_> = seen.replied.iter().map(|(d, _)| d.clone()).collect();
    assert_eq!(duids.len(), 4);
    // The fake server gives a client the same address every time.
    let leases: HashSet<_> = report.bound.iter().map(|(_, l)| l.clone()).collect();
    assert_eq!(leases.len(), 4);
}
