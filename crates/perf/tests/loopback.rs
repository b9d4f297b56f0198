//! End to end on loopback: the whole generator against a tiny fake DHCP server in a thread.
//!
//! The fake server answers DISCOVER with OFFER and REQUEST with ACK (addresses from a counter,
//! in 198.18.0.0/15 as payload only), echoes option 82, and sends replies to giaddr:relay-port
//! the way a real server answers a relay. Only 127.0.0.1 sockets are used.

use std::collections::{HashMap, HashSet};
use std::net::{Ipv4Addr, SocketAddr, UdpSocket};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use lessor_perf::dora::{run_on, Config};
use lessor_wire::v4::{DhcpOption, MessageType, Repr, BOOTREPLY};

const SERVER_ID: Ipv4Addr = Ipv4Addr::LOCALHOST;

#[derive(Clone, Copy, Default)]
struct Behaviour {
    /// Ignore the first DISCOVER of each client (forces one retransmission).
    drop_first_discover: bool,
    /// NAK every REQUEST whose sequence number is a multiple of this (0: never).
    nak_every: u32,
    /// Never answer.
    silent: bool,
    /// Send every OFFER and ACK twice.
    duplicate: bool,
}

#[derive(Default, Debug)]
struct Seen {
    discovers: u32,
    requests: u32,
    releases: u32,
    /// (address, MAC) of every ACK sent.
    acked: Vec<(Ipv4Addr, [u8; 6])>,
}

struct FakeServer {
    addr: SocketAddr,
    stop: Arc<AtomicBool>,
    handle: JoinHandle<Seen>,
}

impl FakeServer {
    fn start(relay_port: u16, behaviour: Behaviour) -> FakeServer {
        let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
        socket
            .set_read_timeout(Some(Duration::from_millis(20)))
            .unwrap();
        let addr = socket.local_addr().unwrap();
        let stop = Arc::new(AtomicBool::new(false));
        let flag = Arc::clone(&stop);
        let handle = std::thread::spawn(move || serve(&socket, relay_port, behaviour, &flag));
        FakeServer { addr, stop, handle }
    }

    fn finish(self) -> Seen {
        self.stop.store(true, Ordering::SeqCst);
        self.handle.join().unwrap()
    }
}

fn serve(socket: &UdpSocket, relay_port: u16, b: Behaviour, stop: &AtomicBool) -> Seen {
    let mut seen = Seen::default();
    let mut buf = [0u8; 2048];
    let mut offered: HashMap<[u8; 6], Ipv4Addr> = HashMap::new();
    let mut discovers_per_mac: HashMap<[u8; 6], u32> = HashMap::new();
    let mut next = u32::from(Ipv4Addr::new(198, 18, 0, 1));
    while !stop.load(Ordering::SeqCst) {
        let Ok((n, _)) = socket.recv_from(&mut buf) else {
            continue;
        };
        let req = Repr::from_bytes(&buf[..n]).expect("the generator sends valid DHCPv4");
        assert_eq!(req.hops, 1);
        assert_eq!(req.giaddr, Ipv4Addr::LOCALHOST);
        let info = req.relay_agent_information().expect("option 82").clone();
        assert!(info.circuit_id().unwrap().unwrap().starts_with(b"perf-"));
        assert_eq!(info.relay_id().unwrap(), Some(&[0xc0, 0xff, 0xee][..]));
        let mut mac = [0u8; 6];
        mac.copy_from_slice(req.client_hw_addr());
        let (kind, yiaddr) = match req.message_type() {
            Some(MessageType::Discover) => {
                seen.discovers += 1;
                let count = discovers_per_mac.entry(mac).or_default();
                *count += 1;
                if b.silent || (b.drop_first_discover && *count == 1) {
                    continue;
                }
                let addr = *offered.entry(mac).or_insert_with(|| {
                    next += 1;
                    Ipv4Addr::from(next - 1)
                });
                (MessageType::Offer, addr)
            }
            Some(MessageType::Request) => {
                seen.requests += 1;
                if b.silent {
                    continue;
                }
                let requested = match req.option(50) {
                    Some(DhcpOption::RequestedIpAddress(a)) => *a,
                    other => panic!("REQUEST without option 50: {other:?}"),
                };
                assert_eq!(
                    req.option(54),
                    Some(&DhcpOption::ServerIdentifier(SERVER_ID))
                );
                assert_eq!(offered.get(&mac), Some(&requested));
                if b.nak_every > 0 && seen.requests % b.nak_every == 0 {
                    (MessageType::Nak, Ipv4Addr::UNSPECIFIED)
                } else {
                    seen.acked.push((requested, mac));
                    (MessageType::Ack, requested)
                }
            }
            Some(MessageType::Release) => {
                seen.releases += 1;
                assert_eq!(offered.get(&mac), Some(&req.ciaddr));
                continue;
            }
            other => panic!("unexpected {other:?}"),
        };
        let reply = Repr {
            op: BOOTREPLY,
            xid: req.xid,
            yiaddr,
            giaddr: req.giaddr,
            chaddr: req.chaddr,
            options: vec![
                DhcpOption::MessageType(kind),
                DhcpOption::ServerIdentifier(SERVER_ID),
                DhcpOption::IpAddressLeaseTime(3600),
                DhcpOption::RelayAgentInformation(info),
            ],
            ..Repr::default()
        };
        let bytes = reply.to_vec();
        let to = SocketAddr::from((req.giaddr, relay_port));
        for _ in 0..if b.duplicate { 2 } else { 1 } {
            socket.send_to(&bytes, to).unwrap();
        }
    }
    seen
}

/// The generator's socket on 127.0.0.1 (its port is the relay port the server answers to),
/// and a fake server answering to it.
fn setup(behaviour: Behaviour) -> (UdpSocket, FakeServer, Config) {
    let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
    let relay_port = socket.local_addr().unwrap().port();
    let server = FakeServer::start(relay_port, behaviour);
    let mut config = Config::new(server.addr, Ipv4Addr::LOCALHOST);
    config.bind = socket.local_addr().unwrap();
    config.relay_id = vec![0xc0, 0xff, 0xee];
    config.seed = 0x5eed_0000_0000_0001;
    config.duration = Duration::from_secs(30);
    (socket, server, config)
}

#[test]
fn two_hundred_doras_sixteen_in_flight() {
    let (socket, server, mut config) = setup(Behaviour::default());
    config.clients = 200;
    config.in_flight = 16;
    config.timeout = Duration::from_millis(500);
    let dir = std::env::temp_dir().join(format!("lessor-perf-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let acked_path = dir.join("acked.txt");
    config.acked_out = Some(acked_path.clone());

    let report = run_on(&config, &socket).unwrap();
    let seen = server.finish();

    assert_eq!(report.completed, 200, "{}", report.to_text());
    assert_eq!(report.drops(), 0);
    assert_eq!(report.naks, 0);
    assert_eq!(report.unexpected, 0);
    assert_eq!(report.malformed, 0);
    assert_eq!(report.unfinished, 0);
    assert_eq!(report.not_started, 0);
    assert_eq!(report.started, 200);
    assert!(report.rate > 0.0);
    assert_eq!(report.dora.count, 200);
    assert_eq!(report.discover_offer.count, 200);
    assert_eq!(report.request_ack.count, 200);
    let (p50, p99, max) = (
        report.dora.p50.unwrap(),
        report.dora.p99.unwrap(),
        report.dora.max.unwrap(),
    );
    assert!(p50 <= p99 && p99 <= max);
    assert!(report.request_ack.max.unwrap() <= max);
    assert_eq!(seen.discovers, 200);
    assert_eq!(seen.requests, 200);

    // Every ACK the server sent was counted, once, with distinct MACs and addresses.
    let ours: HashSet<_> = report.acked.iter().copied().collect();
    let theirs: HashSet<_> = seen.acked.iter().copied().collect();
    assert_eq!(ours.len(), 200);
    assert_eq!(ours, theirs);
    let macs: HashSet<_> = report.acked.iter().map(|(_, m)| *m).collect();
    assert_eq!(macs.len(), 200);
    assert!(macs.iter().all(|m| m[0] == 0x02));

    // The --acked-out file holds the same pairs.
    let text = std::fs::read_to_string(&acked_path).unwrap();
    assert_eq!(text, report.acked_lines());
    assert_eq!(text.lines().count(), 200);
    std::fs::remove_dir_all(&dir).unwrap();

    let json = report.to_json();
    assert_eq!(json["completed"], 200);
    assert_eq!(json["drops"], 0);
    assert_eq!(json["latency_ms"]["dora"]["count"], 200);
}

#[test]
fn retransmits_naks_duplicates_and_releases() {
    let (socket, server, mut config) = setup(Behaviour {
        drop_first_discover: true,
        nak_every: 5,
        duplicate: true,
        ..Behaviour::default()
    });
    config.clients = 40;
    config.in_flight = 8;
    config.timeout = Duration::from_millis(50);
    config.retries = 2;
    config.release = true;

    let report = run_on(&config, &socket).unwrap();
    // Let the server read the last RELEASEs before stopping it.
    std::thread::sleep(Duration::from_millis(100));
    let seen = server.finish();

    assert_eq!(report.naks, 8, "{}", report.to_text());
    assert_eq!(report.completed, 32);
    assert_eq!(report.drops(), 0);
    // Every DISCOVER was sent twice.
    assert_eq!(report.retransmissions, 40);
    assert_eq!(seen.discovers, 80);
    // Every OFFER, ACK and NAK came twice: the second copy is ignored. The run ends on the
    // last client's first answer, so its copy may arrive after the run.
    assert!(
        (79..=80).contains(&report.unexpected),
        "{}",
        report.unexpected
    );
    assert_eq!(report.releases, 32);
    assert_eq!(seen.releases, 32);
    assert_eq!(report.discover_offer.count, 40);
    assert_eq!(report.dora.count, 32);
    // The retransmitted DISCOVER puts each DISCOVER->OFFER at or above one timeout.
    assert!(report.discover_offer.min.unwrap() >= Duration::from_millis(50));
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
    assert_eq!(report.drops_discover, 6);
    assert_eq!(report.retransmissions, 6);
    assert_eq!(seen.discovers, 12);
    assert_eq!(report.dora.count, 0);
    assert_eq!(
        report.to_json()["latency_ms"]["dora"]["p50"],
        serde_json::Value::Null
    );
}

#[test]
fn duration_bounds_the_run() {
    let (socket, server, mut config) = setup(Behaviour {
        silent: true,
        ..Behaviour::default()
    });
    config.clients = 1000;
    config.in_flight = 4;
    config.timeout = Duration::from_secs(10);
    config.duration = Duration::from_millis(200);
    let t0 = std::time::Instant::now();
    let report = run_on(&config, &socket).unwrap();
    let took = t0.elapsed();
    server.finish();
    assert!(took < Duration::from_secs(2), "{took:?}");
    assert!(report.elapsed >= Duration::from_millis(200));
    assert_eq!(report.unfinished, 4);
    assert_eq!(report.not_started, 996);
    assert_eq!(report.drops(), 0);
}
