//! `lessor perf leasequery` end to end on loopback, against a tiny fake responder thread.
//!
//! The responder answers a query by IP: DHCPLEASEACTIVE for 198.18.0.1-198.18.0.49,
//! DHCPLEASEUNASSIGNED for 198.18.0.50-198.18.0.99, DHCPLEASEUNKNOWN for anything else, and sends
//! the answer to the query's source (Lessor's rule for a requester in `[leasequery4]
//! reply-to-source-port` when the source is giaddr, source port != 67).
//! Only 127.0.0.1 sockets are used.

use std::net::{Ipv4Addr, SocketAddr, UdpSocket};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use lessor_perf::leasequery::run::LqConfig;
use lessor_perf::leasequery::{run_on, Keys, Order};
use lessor_wire::v4::QueryKey;
use lessor_wire::v4::{DhcpOption, MessageType, Repr, BOOTREPLY};

#[derive(Clone, Copy, Default)]
struct Behaviour {
    /// Do not answer queries whose xid is a multiple of this (0: answer all).
    drop_every: u32,
    /// Answer every query twice.
    duplicate: bool,
}

struct Responder {
    addr: SocketAddr,
    stop: Arc<AtomicBool>,
    handle: JoinHandle<u32>,
}

impl Responder {
    fn start(b: Behaviour) -> Responder {
        let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
        socket
            .set_read_timeout(Some(Duration::from_millis(20)))
            .unwrap();
        let addr = socket.local_addr().unwrap();
        let stop = Arc::new(AtomicBool::new(false));
        let flag = Arc::clone(&stop);
        let handle = std::thread::spawn(move || {
            let mut queries = 0;
            let mut buf = [0u8; 2048];
            while !flag.load(Ordering::SeqCst) {
                let Ok((n, from)) = socket.recv_from(&mut buf) else {
                    continue;
                };
                let q = Repr::from_bytes(&buf[..n]).expect("valid DHCPv4");
                assert_eq!(q.message_type(), Some(MessageType::LeaseQuery));
                assert_eq!(q.giaddr, Ipv4Addr::LOCALHOST);
                assert!(n >= 300, "padded to the BOOTP minimum");
                queries += 1;
                if b.drop_every != 0 && q.xid.is_multiple_of(b.drop_every) {
                    continue;
                }
                let last = q.ciaddr.octets()[3];
                let kind = match (q.ciaddr.octets()[..3] == [198, 18, 0], last) {
                    (true, 1..=49) => MessageType::LeaseActive,
                    (true, 50..=99) => MessageType::LeaseUnassigned,
                    _ => MessageType::LeaseUnknown,
                };
                let reply = Repr {
                    op: BOOTREPLY,
                    xid: q.xid,
                    ciaddr: q.ciaddr,
                    giaddr: q.giaddr,
                    options: vec![
                        DhcpOption::MessageType(kind),
                        DhcpOption::ServerIdentifier(Ipv4Addr::LOCALHOST),
                    ],
                    ..Repr::default()
                }
                .to_vec();
                socket.send_to(&reply, from).unwrap();
                if b.duplicate {
                    socket.send_to(&reply, from).unwrap();
                }
            }
            queries
        });
        Responder { addr, stop, handle }
    }

    fn finish(self) -> u32 {
        self.stop.store(true, Ordering::SeqCst);
        self.handle.join().unwrap()
    }
}

fn config(server: SocketAddr, keys: Keys) -> LqConfig {
    let mut c = LqConfig::new(server, Ipv4Addr::LOCALHOST, keys);
    c.queries = 2000;
    c.in_flight = 16;
    c.timeout = Duration::from_millis(300);
    c.duration = Duration::from_secs(30);
    c.seed = 0x1234_5678_0000_0000;
    c
}

fn socket() -> UdpSocket {
    UdpSocket::bind("127.0.0.1:0").unwrap()
}

#[test]
fn counts_every_answer_kind() {
    let r = Responder::start(Behaviour::default());
    let keys = Keys::Range {
        first: Ipv4Addr::new(198, 18, 0, 1),
        last: Ipv4Addr::new(198, 18, 0, 200),
    };
    let report = run_on(&config(r.addr, keys), &socket()).unwrap();
    assert_eq!(r.finish(), 2000);
    let c = report.counters;
    assert_eq!(c.sent, 2000);
    // 10 passes over 200 addresses: 49 active, 50 unassigned, 101 unknown each.
    assert_eq!((c.active, c.unassigned, c.unknown), (490, 500, 1010));
    assert_eq!(
        (c.timeouts, c.unexpected, c.malformed, c.other),
        (0, 0, 0, 0)
    );
    assert_eq!(report.latency.count, 2000);
    assert!(report.latency.p50 <= report.latency.p99);
    assert!(report.rate > 0.0);
    assert_eq!(report.unfinished + report.not_sent, 0);
}

#[test]
fn timeouts_duplicates_and_keys_from_a_list() {
    let r = Responder::start(Behaviour {
        drop_every: 10,
        duplicate: true,
    });
    let keys = Keys::List(vec![
        QueryKey::Ip(Ipv4Addr::new(198, 18, 0, 5)),
        QueryKey::Ip(Ipv4Addr::new(198, 18, 0, 60)),
    ]);
    let mut c = config(r.addr, keys);
    c.queries = 500;
    c.order = Order::Random(7);
    let report = run_on(&c, &socket()).unwrap();
    r.finish();
    let n = report.counters;
    assert_eq!(n.sent, 500);
    assert_eq!(
        n.timeouts, 50,
        "xids are consecutive: every tenth is dropped"
    );
    assert_eq!(n.active + n.unassigned, 450);
    assert!(n.active > 0 && n.unassigned > 0);
    assert_eq!(n.unknown, 0);
    // Duplicates either arrive while nothing waits for their xid or are drained at the end.
    assert!(n.unexpected <= 450);
    assert_eq!(report.latency.count, 450);
}

#[test]
fn silence_ends_by_timeout() {
    let silent = socket(); // never read: every query times out.
    let keys = Keys::Range {
        first: Ipv4Addr::new(198, 18, 0, 1),
        last: Ipv4Addr::new(198, 18, 0, 1),
    };
    let mut c = config(silent.local_addr().unwrap(), keys);
    c.queries = 20;
    c.in_flight = 10;
    c.timeout = Duration::from_millis(50);
    let report = run_on(&c, &socket()).unwrap();
    assert_eq!(report.counters.timeouts, 20);
    assert_eq!(report.latency.count, 0);
    assert_eq!(report.latency.p50, None);
}
