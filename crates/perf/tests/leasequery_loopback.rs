//! `lessor perf leasequery` end to end on loopback, against tiny fake responder threads.
//!
//! The DHCPv4 responder answers a query by IP: DHCPLEASEACTIVE for 198.18.0.1-198.18.0.49,
//! DHCPLEASEUNASSIGNED for 198.18.0.50-198.18.0.99, DHCPLEASEUNKNOWN for anything else, and sends
//! the answer to the query's source (Lessor's rule for a requester in `[leasequery4]
//! reply-to-source-port` when the source is giaddr, source port != 67).
//! The DHCPv6 one (RFC 5007) answers a QUERY_BY_ADDRESS with CLIENT_DATA for
//! 2001:db8:1::1-2001:db8:1::31, NotConfigured for 2001:db8:1::32-2001:db8:1::63 and an empty
//! LEASEQUERY-REPLY for anything else, and a QUERY_BY_CLIENTID with CLIENT_DATA when the DUID's
//! last octet is odd, to the query's source address and port (RFC 5007 direct query).
//! Only 127.0.0.1 and ::1 sockets are used.

use std::net::{Ipv4Addr, SocketAddr, UdpSocket};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use lessor_perf::leasequery::run::LqConfig;
use lessor_perf::leasequery::{run_on, Keys, Keys4, Order, REQUESTOR_DUID};
use lessor_requestor::QueryKey6;
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

fn config(server: SocketAddr, keys: Keys4) -> LqConfig {
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

// DHCPv6.

use lessor_wire::v6::{
    status, ClientServerMessage, DhcpOption as Option6, Duid, MessageType as Type6, QueryType,
    Repr as Repr6,
};
use std::net::Ipv6Addr;

impl Responder {
    fn start6(b: Behaviour) -> Responder {
        let socket = UdpSocket::bind("[::1]:0").unwrap();
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
                let Ok(Repr6::ClientServer(q)) = Repr6::from_bytes(&buf[..n]) else {
                    panic!("not a DHCPv6 client message");
                };
                assert_eq!(q.msg_type, Type6::Leasequery);
                assert_eq!(
                    q.options[0],
                    Option6::ClientId(Duid::parse(&REQUESTOR_DUID).unwrap())
                );
                assert!(!q.options.iter().any(|o| matches!(o, Option6::ServerId(_))));
                queries += 1;
                if b.drop_every != 0 && q.transaction_id.is_multiple_of(b.drop_every) {
                    continue;
                }
                let found = match q.options.iter().find_map(|o| match o {
                    Option6::LqQuery {
                        query_type,
                        options,
                        ..
                    } => Some((*query_type, options)),
                    _ => None,
                }) {
                    Some((QueryType::ByAddress, o)) => match o.as_slice() {
                        [Option6::IaAddr { address, .. }] => {
                            let [.., hi, lo] = address.octets();
                            let last = u16::from_be_bytes([hi, lo]);
                            match (address.segments()[..3] == [0x2001, 0xdb8, 1], last) {
                                (true, 1..=0x31) => Some(true),
                                (true, 0x32..=0x63) => Some(false),
                                _ => None,
                            }
                        }
                        other => panic!("{other:?}"),
                    },
                    Some((QueryType::ByClientId, o)) => match o.as_slice() {
                        [Option6::ClientId(d)] => {
                            (d.to_vec().last().unwrap() % 2 == 1).then_some(true)
                        }
                        other => panic!("{other:?}"),
                    },
                    other => panic!("{other:?}"),
                };
                let mut options = vec![Option6::ServerId(
                    Duid::parse(&[0, 3, 0, 1, 2, 0, 0, 0, 0, 1]).unwrap(),
                )];
                match found {
                    Some(true) => options.push(Option6::ClientData(vec![Option6::ClientId(
                        Duid::parse(&[0, 3, 0, 1, 2, 0, 0, 0, 0, 9]).unwrap(),
                    )])),
                    Some(false) => options.push(Option6::StatusCode {
                        code: status::NOT_CONFIGURED,
                        message: b"not here".to_vec(),
                    }),
                    None => {}
                }
                let reply = Repr6::ClientServer(ClientServerMessage {
                    msg_type: Type6::LeasequeryReply,
                    transaction_id: q.transaction_id,
                    options,
                })
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
}

fn a(s: &str) -> Ipv6Addr {
    s.parse().unwrap()
}

fn config6(server: SocketAddr, keys: lessor_perf::leasequery::Keys6) -> LqConfig {
    let mut c = LqConfig::new6(server, keys);
    c.queries = 2000;
    c.in_flight = 16;
    c.timeout = Duration::from_millis(300);
    c.duration = Duration::from_secs(30);
    // The first transaction-id is 0xfffff0: the run crosses the 24-bit wrap.
    c.seed = 0xabff_fff0_0000_0000;
    c
}

fn socket6() -> UdpSocket {
    UdpSocket::bind("[::1]:0").unwrap()
}

#[test]
fn dhcpv6_counts_every_answer_kind_across_the_wrap() {
    let r = Responder::start6(Behaviour::default());
    let keys = Keys::Range {
        first: a("2001:db8:1::1"),
        last: a("2001:db8:1::c8"),
    };
    let report = run_on(&config6(r.addr, keys), &socket6()).unwrap();
    assert_eq!(r.finish(), 2000);
    let c = report.counters;
    assert_eq!(c.sent, 2000);
    // 10 passes over 200 addresses: 49 with client data, 50 NotConfigured, 101 unknown each.
    assert_eq!(
        (c.active, c.other, c.unknown, c.unassigned),
        (490, 500, 1010, 0)
    );
    assert_eq!((c.timeouts, c.unexpected, c.malformed), (0, 0, 0));
    assert_eq!(report.latency.count, 2000);
    let v = report.to_json();
    assert_eq!(v["family"], "v6");
    assert_eq!(v["by"], "ip");
    assert_eq!(v["answered"], 2000);
    assert_eq!(v["link_address"], "::");
}

#[test]
fn dhcpv6_by_client_id_with_timeouts_and_duplicates() {
    let r = Responder::start6(Behaviour {
        drop_every: 10,
        duplicate: true,
    });
    let keys = Keys::List(
        (1..=4u8)
            .map(|n| QueryKey6::ClientId {
                duid: Duid::parse(&[0, 3, 0, 1, 2, 0, 0, 0, 0, n]).unwrap(),
                link: Ipv6Addr::UNSPECIFIED,
            })
            .collect(),
    );
    let mut c = config6(r.addr, keys);
    c.queries = 500;
    c.seed = 0;
    c.order = Order::Random(3);
    let report = run_on(&c, &socket6()).unwrap();
    r.finish();
    let n = report.counters;
    assert_eq!(n.sent, 500);
    assert_eq!(n.timeouts, 50, "ids 0..500: every tenth is dropped");
    assert_eq!(n.active + n.unknown, 450);
    assert!(n.active > 0 && n.unknown > 0);
    assert_eq!(report.to_json()["by"], "client-id");
}

#[test]
fn a_dhcpv6_run_needs_an_ipv6_server_and_udp_query_types() {
    let keys = Keys::Range {
        first: a("2001:db8:1::1"),
        last: a("2001:db8:1::1"),
    };
    let mut c = config6("127.0.0.1:547".parse().unwrap(), keys);
    assert!(c.validate().unwrap_err().contains("IPv6 --server"));
    c.server = "[::1]:547".parse().unwrap();
    assert!(c
        .validate()
        .unwrap_err()
        .contains("--bind 0.0.0.0:0 and --server [::1]:547"));
    c.bind = "[::]:0".parse().unwrap();
    assert_eq!(c.validate(), Ok(()));
    let mut c = config6(
        "[::1]:547".parse().unwrap(),
        Keys::List(vec![QueryKey6::LinkAddress(a("2001:db8:1::"))]),
    );
    assert!(
        c.validate().unwrap_err().contains("bulk"),
        "{:?}",
        c.validate()
    );
    c.query = LqConfig::new(
        "127.0.0.1:67".parse().unwrap(),
        Ipv4Addr::LOCALHOST,
        Keys::List(vec![QueryKey::Ip(Ipv4Addr::LOCALHOST)]),
    )
    .query;
    assert!(c.validate().unwrap_err().contains("IPv4 --server"));
}
