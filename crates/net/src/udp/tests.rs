//! Socket-layer tests on loopback with kernel-chosen ports: no root needed.

use super::*;
use crate::{Destination, Outgoing, Received, Transmit};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, UdpSocket};
use std::sync::mpsc;
use std::time::{Duration, Instant};

const LOCALHOST: Ipv4Addr = Ipv4Addr::LOCALHOST;

#[derive(Debug, Clone, PartialEq, Eq)]
struct Got {
    payload: Vec<u8>,
    source: SocketAddr,
    destination: IpAddr,
    interface_index: Option<u32>,
}

fn loopback_index() -> u32 {
    nix::net::if_::if_nametoindex("lo").expect("lo exists")
}

fn listen_socket() -> Sockets {
    Sockets::from_sockets(vec![
        ServerSocket::open_listen(IpAddr::V4(LOCALHOST), 0).expect("bind 127.0.0.1:0")
    ])
}

fn start_threads(
    sockets: &Sockets,
    buffer: usize,
    threads: usize,
) -> (Receivers, Arc<Counters>, mpsc::Receiver<Got>) {
    let counters = Arc::new(Counters::default());
    let (tx, rx) = mpsc::channel();
    let running = Receivers::start(
        "test",
        sockets,
        Arc::clone(&counters),
        buffer,
        threads,
        |_| {
            let tx = tx.clone();
            move |received: Received<'_>| {
                let _ = tx.send(Got {
                    payload: received.payload.to_vec(),
                    source: received.source,
                    destination: received.destination,
                    interface_index: received.interface_index,
                });
            }
        },
    )
    .expect("start receivers");
    (running, counters, rx)
}

fn start(sockets: &Sockets, buffer: usize) -> (Receivers, Arc<Counters>, mpsc::Receiver<Got>) {
    start_threads(sockets, buffer, 1)
}

fn client() -> UdpSocket {
    let socket = UdpSocket::bind((LOCALHOST, 0)).unwrap();
    socket
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    socket
}

fn v4(socket: &UdpSocket) -> SocketAddr {
    socket.local_addr().unwrap()
}

fn reply(destination: Destination) -> Outgoing {
    Outgoing {
        payload: b"bootp reply".to_vec(),
        destination,
    }
}

#[test]
fn listen_socket_reports_source_destination_and_loopback_index() {
    let sockets = listen_socket();
    let server = sockets.iter().next().unwrap().local_addr();
    assert_eq!(server.ip(), IpAddr::V4(LOCALHOST));
    assert_ne!(server.port(), 0);
    let (running, counters, rx) = start(&sockets, DEFAULT_BUFFER);
    let client = client();
    client.send_to(b"discover", server).unwrap();
    let got = rx.recv_timeout(Duration::from_secs(5)).expect("datagram");
    assert_eq!(
        got,
        Got {
            payload: b"discover".to_vec(),
            source: v4(&client),
            destination: IpAddr::V4(LOCALHOST),
            interface_index: Some(loopback_index()),
        }
    );
    assert_eq!(running.shutdown(), 0);
    assert_eq!(counters.snapshot().received, 1);
}

#[test]
fn truncated_datagrams_are_dropped_and_counted() {
    let sockets = listen_socket();
    let server = sockets.iter().next().unwrap().local_addr();
    let (running, counters, rx) = start(&sockets, 16);
    let client = client();
    client.send_to(&[7u8; 100], server).unwrap();
    client.send_to(&[1u8; 16], server).unwrap();
    let got = rx.recv_timeout(Duration::from_secs(5)).expect("datagram");
    assert_eq!(
        got.payload,
        vec![1u8; 16],
        "the oversized one is not delivered"
    );
    running.shutdown();
    let counts = counters.snapshot();
    assert_eq!(counts.truncated, 1);
    assert_eq!(counts.received, 1);
}

#[test]
fn shutdown_stops_receivers_within_a_bound() {
    let sockets = Sockets::from_sockets(vec![
        ServerSocket::open_listen(IpAddr::V4(LOCALHOST), 0).unwrap(),
        ServerSocket::open_listen(IpAddr::V4(LOCALHOST), 0).unwrap(),
    ]);
    let (running, _, _rx) = start(&sockets, DEFAULT_BUFFER);
    assert_eq!(running.receivers().len(), 2);
    std::thread::sleep(Duration::from_millis(50));
    assert!(running.receivers().iter().all(|r| !r.is_finished()));
    let began = Instant::now();
    assert_eq!(running.shutdown(), 0);
    let took = began.elapsed();
    assert!(took < POLL_INTERVAL * 3, "shutdown took {took:?}");
}

#[test]
fn several_threads_share_a_socket_and_each_datagram_is_handled_once() {
    let sockets = Sockets::from_sockets(vec![
        ServerSocket::open_listen(IpAddr::V4(LOCALHOST), 0).unwrap(),
        ServerSocket::open_listen(IpAddr::V4(LOCALHOST), 0).unwrap(),
    ]);
    let (running, counters, rx) = start_threads(&sockets, DEFAULT_BUFFER, 3);
    assert_eq!(running.receivers().len(), 6, "three per socket");
    let client = client();
    let mut sent = Vec::new();
    for socket in sockets.iter() {
        for i in 0..50u8 {
            let payload = vec![i, socket.local_addr().port() as u8];
            client.send_to(&payload, socket.local_addr()).unwrap();
            sent.push(payload);
        }
    }
    let mut got: Vec<Vec<u8>> = (0..sent.len())
        .map(|_| {
            rx.recv_timeout(Duration::from_secs(5))
                .expect("datagram")
                .payload
        })
        .collect();
    assert!(
        rx.recv_timeout(Duration::from_millis(100)).is_err(),
        "nothing twice"
    );
    got.sort();
    sent.sort();
    assert_eq!(got, sent);
    assert_eq!(running.shutdown(), 0);
    assert_eq!(counters.snapshot().received, 100);
}

#[test]
fn relay_and_client_replies_arrive_from_the_listen_address() {
    let sockets = listen_socket();
    let server = sockets.iter().next().unwrap().local_addr();
    let counters = Arc::new(Counters::default());
    let transmit = Sender::new(&sockets, Some(IpAddr::V4(LOCALHOST)), Arc::clone(&counters));
    let relay = client();
    let peer = client();
    transmit.send(reply(Destination::Relay(v4(&relay))));
    transmit.send(reply(Destination::Client(v4(&peer))));
    let mut buffer = [0u8; 64];
    let (length, from) = relay.recv_from(&mut buffer).expect("relay reply");
    assert_eq!(&buffer[..length], b"bootp reply");
    assert_eq!(from, server);
    let (length, from) = peer.recv_from(&mut buffer).expect("client reply");
    assert_eq!(&buffer[..length], b"bootp reply");
    assert_eq!(from, server);
    let counts = counters.snapshot();
    assert_eq!((counts.sent_relay, counts.sent_client), (1, 1));
    assert_eq!(counts.send_errors, 0);
}

#[test]
fn unicast_source_prefers_same_subnet_then_identifier_then_first() {
    let first = ServerSocket::open_listen(IpAddr::V4(LOCALHOST), 0).unwrap();
    let second = ServerSocket::open_listen(IpAddr::V4(Ipv4Addr::new(127, 0, 0, 2)), 0).unwrap();
    let (first_address, second_address) = (first.local_addr(), second.local_addr());
    let sockets = Sockets::from_sockets(vec![second, first]);
    let counters = Arc::new(Counters::default());
    // 127.0.0.1 is on lo (127.0.0.0/8); 127.0.0.2 is not an interface address.
    let transmit = Sender::new(&sockets, None, Arc::clone(&counters));
    let on_link = transmit
        .unicast_socket(IpAddr::V4(Ipv4Addr::new(127, 0, 0, 9)))
        .unwrap();
    assert_eq!(on_link.local_addr(), first_address);
    let far = IpAddr::V4(Ipv4Addr::new(192, 0, 2, 9));
    assert_eq!(
        transmit.unicast_socket(far).unwrap().local_addr(),
        second_address,
        "the first socket"
    );
    let transmit = Sender::new(&sockets, Some(IpAddr::V4(LOCALHOST)), counters);
    assert_eq!(
        transmit.unicast_socket(far).unwrap().local_addr(),
        first_address,
        "the server identifier"
    );
}

#[test]
fn broadcast_without_a_socket_on_that_interface_is_a_counted_error() {
    let sockets = listen_socket();
    let counters = Arc::new(Counters::default());
    let transmit = Sender::new(&sockets, None, Arc::clone(&counters));
    transmit.send(reply(Destination::Broadcast {
        interface_index: u32::MAX,
        port: 68,
    }));
    let counts = counters.snapshot();
    assert_eq!(counts.send_errors, 1);
    assert_eq!(counts.sent_broadcast, 0);
}

#[test]
fn hardware_that_is_not_ethernet_falls_back_to_broadcast() {
    let sockets = listen_socket();
    let counters = Arc::new(Counters::default());
    let transmit = Sender::new(&sockets, None, Arc::clone(&counters));
    transmit.send(reply(Destination::Hardware {
        interface_index: loopback_index(),
        address: Ipv4Addr::new(127, 0, 0, 50),
        port: 68,
        htype: 6,
        hlen: 6,
        chaddr: [2, 0, 0, 0, 0, 0x50, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0],
    }));
    let counts = counters.snapshot();
    assert_eq!(counts.fallbacks, 1);
    assert_eq!(counts.sent_hardware, 0);
    // Whether lo lets a limited broadcast out is the kernel's business; either way it is counted.
    assert_eq!(counts.sent_broadcast + counts.send_errors, 1);
}

#[test]
fn errors_name_the_address_or_interface_and_the_cause() {
    let error = ServerSocket::open_interface("lsr-nosuch0", Family::V4, 0, &V6Options::default())
        .unwrap_err();
    assert_eq!(error.to_string(), "interface lsr-nosuch0 does not exist");

    let error = ServerSocket::open_listen(IpAddr::V4(Ipv4Addr::new(192, 0, 2, 77)), 0).unwrap_err();
    assert_eq!(
        error.to_string(),
        "cannot bind 192.0.2.77:0: address not available (no interface has it)"
    );

    let error = OpenError::Bind {
        address: SocketAddr::from((Ipv4Addr::new(192, 0, 2, 1), 67)),
        interface: Some("br0".into()),
        source: std::io::Error::from_raw_os_error(libc::EACCES),
    };
    assert_eq!(
        error.to_string(),
        "cannot bind 192.0.2.1:67 on br0: permission denied (ports below 1024 need root or \
         CAP_NET_BIND_SERVICE; port 67 asked)"
    );

    let held = UdpSocket::bind((LOCALHOST, 0)).unwrap();
    let port = v4(&held).port();
    // `held` has no SO_REUSEADDR, so the server socket cannot share its port.
    let error = ServerSocket::open_listen(IpAddr::V4(LOCALHOST), port).unwrap_err();
    assert_eq!(
        error.to_string(),
        format!("cannot bind 127.0.0.1:{port}: address in use (another DHCP server running?)")
    );
}

#[test]
fn low_port_without_root_says_what_is_needed() {
    if nix::unistd::geteuid().is_root() {
        eprintln!("skipped: running as root, binding port 67 would succeed");
        return;
    }
    let error = ServerSocket::open_listen(IpAddr::V4(LOCALHOST), 67).unwrap_err();
    assert!(
        error.to_string().contains("CAP_NET_BIND_SERVICE"),
        "{error}"
    );
}

#[test]
fn sockets_open_from_listen_and_interfaces() {
    let none = V6Options::default();
    let lo = [IpAddr::V4(LOCALHOST)];
    let sockets = Sockets::open(Family::V4, &lo, &[], 0, &none).unwrap();
    assert_eq!(sockets.len(), 1);
    let socket = sockets.iter().next().unwrap();
    assert!(
        matches!(socket.kind(), SocketKind::Listen { address, interface: Some(lo) }
        if *address == IpAddr::V4(LOCALHOST) && lo.name == "lo" && lo.index == loopback_index())
    );
    let error = Sockets::open(Family::V4, &lo, &["lsr-nosuch1".into()], 0, &none).unwrap_err();
    assert!(matches!(error, OpenError::NoSuchInterface { .. }));
    let error = Sockets::open(Family::V6, &lo, &[], 0, &none).unwrap_err();
    assert_eq!(error.to_string(), "127.0.0.1 is not an IPv6 address");
}

#[test]
fn send_batch_delivers_every_reply_and_counts_it() {
    let sockets = Sockets::from_sockets(vec![
        ServerSocket::open_listen(IpAddr::V4(LOCALHOST), 0).unwrap(),
        ServerSocket::open_listen(IpAddr::V4(LOCALHOST), 0).unwrap(),
    ]);
    let counters = Arc::new(Counters::default());
    let transmit = Sender::new(&sockets, None, Arc::clone(&counters));
    let relay = client();
    let host = client();
    let mut replies: Vec<Outgoing> = (0..40u8)
        .map(|i| {
            let to = if i % 3 == 0 { v4(&host) } else { v4(&relay) };
            let destination = if i % 3 == 0 {
                Destination::Client(to)
            } else {
                Destination::Relay(to)
            };
            Outgoing {
                payload: vec![i; 300],
                destination,
            }
        })
        .collect();
    transmit.send_batch(&mut replies);
    assert!(replies.is_empty(), "the batch is consumed");
    let mut buf = [0u8; 512];
    let mut got = Vec::new();
    for socket in [&relay, &host] {
        socket
            .set_read_timeout(Some(Duration::from_millis(300)))
            .unwrap();
        while let Ok((n, from)) = socket.recv_from(&mut buf) {
            assert_eq!(n, 300);
            assert_eq!(from, sockets.iter().next().unwrap().local_addr());
            got.push(buf[0]);
        }
    }
    got.sort_unstable();
    assert_eq!(got, (0..40u8).collect::<Vec<_>>());
    let counts = counters.snapshot();
    assert_eq!((counts.sent_relay, counts.sent_client), (26, 14));
}

/// Whether this host has IPv6 on loopback (some CI containers run without it).
fn has_ipv6_loopback() -> bool {
    UdpSocket::bind((Ipv6Addr::LOCALHOST, 0)).is_ok()
}

#[test]
fn ipv6_listen_socket_reports_source_destination_and_index_and_replies_from_it() {
    if !has_ipv6_loopback() {
        eprintln!("skipped: no IPv6 on loopback");
        return;
    }
    let sockets = Sockets::from_sockets(vec![ServerSocket::open_listen(
        IpAddr::V6(Ipv6Addr::LOCALHOST),
        0,
    )
    .unwrap()]);
    let server = sockets.iter().next().unwrap();
    assert_eq!(server.family(), Family::V6);
    let server = server.local_addr();
    let (running, counters, rx) = start(&sockets, DEFAULT_BUFFER);
    let client = UdpSocket::bind((Ipv6Addr::LOCALHOST, 0)).unwrap();
    client
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    client.send_to(b"solicit", server).unwrap();
    let got = rx.recv_timeout(Duration::from_secs(5)).expect("datagram");
    assert_eq!(got.payload, b"solicit");
    assert_eq!(got.source, client.local_addr().unwrap());
    assert_eq!(got.destination, IpAddr::V6(Ipv6Addr::LOCALHOST));
    assert_eq!(got.interface_index, Some(loopback_index()));
    assert_eq!(running.shutdown(), 0);
    assert_eq!(counters.snapshot().received, 1);

    // Replies to an IPv6 peer leave from the IPv6 socket, even beside an IPv4 one.
    let both = Sockets::from_sockets(vec![
        ServerSocket::open_listen(IpAddr::V4(LOCALHOST), 0).unwrap(),
        ServerSocket::open_listen(IpAddr::V6(Ipv6Addr::LOCALHOST), 0).unwrap(),
    ]);
    let v6_server = both.iter().nth(1).unwrap().local_addr();
    let counters = Arc::new(Counters::default());
    let sender = Sender::new(&both, None, Arc::clone(&counters));
    let to = client.local_addr().unwrap();
    let mut batch = vec![
        reply(Destination::Relay(to)),
        reply(Destination::Client(to)),
    ];
    sender.send_batch(&mut batch);
    let mut buffer = [0u8; 64];
    for _ in 0..2 {
        let (length, from) = client.recv_from(&mut buffer).expect("reply");
        assert_eq!(&buffer[..length], b"bootp reply");
        assert_eq!(from, v6_server);
    }
    let counts = counters.snapshot();
    assert_eq!(
        (counts.sent_relay, counts.sent_client, counts.send_errors),
        (1, 1, 0)
    );
}

#[test]
fn multicast_without_an_ipv6_socket_on_that_interface_is_a_counted_error() {
    let sockets = listen_socket();
    let counters = Arc::new(Counters::default());
    let sender = Sender::new(&sockets, None, Arc::clone(&counters));
    sender.send(reply(Destination::Multicast {
        interface_index: loopback_index(),
        group: "[ff02::1:2]:547".parse().unwrap(),
    }));
    let counts = counters.snapshot();
    assert_eq!((counts.send_errors, counts.sent_multicast), (1, 0));
}

#[test]
fn the_receive_buffer_is_enlarged_as_far_as_allowed() {
    let socket = ServerSocket::open_listen(IpAddr::V4(LOCALHOST), 0).unwrap();
    let given = socket.receive_buffer();
    let rmem_max: usize = std::fs::read_to_string("/proc/sys/net/core/rmem_max")
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(0);
    // Root gets what it asks (SO_RCVBUFFORCE); others what rmem_max allows. The kernel doubles it.
    let want = if nix::unistd::geteuid().is_root() {
        RECEIVE_BUFFER
    } else {
        RECEIVE_BUFFER.min(rmem_max)
    };
    assert!(
        given >= want,
        "receive buffer {given}, wanted at least {want}"
    );
}

#[test]
fn receive_threads_spin_only_while_traffic_is_dense() {
    use std::time::{Duration, Instant};
    let t = Instant::now() + Duration::from_secs(1);
    assert_eq!(
        spin_until(t, None),
        None,
        "the first batch: nothing to judge by"
    );
    assert_eq!(spin_until(t, Some(t - DENSE)), Some(t + SPIN));
    assert_eq!(
        spin_until(t, Some(t - Duration::from_micros(20))),
        Some(t + SPIN)
    );
    assert_eq!(
        spin_until(t, Some(t - DENSE - Duration::from_micros(1))),
        None,
        "sparse traffic sleeps at once"
    );
}

#[test]
fn a_handler_that_panics_is_noticed_with_its_message() {
    let sockets = listen_socket();
    let server = sockets.iter().next().unwrap().local_addr();
    let counters = Arc::new(Counters::default());
    let running = Receivers::start("test", &sockets, counters, DEFAULT_BUFFER, 1, |_| {
        |received: Received<'_>| {
            if received.payload == b"boom" {
                panic!("handler told to panic");
            }
        }
    })
    .expect("start receivers");
    assert_eq!(running.first_failure(), None);
    client().send_to(b"boom", server).unwrap();
    let began = Instant::now();
    while running.finished_early() == 0 {
        assert!(began.elapsed() < Duration::from_secs(5), "not noticed");
        std::thread::sleep(Duration::from_millis(10));
    }
    let failure = running.first_failure().expect("a failure");
    assert!(
        failure.contains("panicked: handler told to panic") && failure.contains("test 127.0.0.1:"),
        "{failure}"
    );
    assert_eq!(running.shutdown(), 1);
}

/// A batch as the responders hand it over: numbered replies of the given sizes to `to`.
fn numbered(sizes: &[(SocketAddr, usize)]) -> Vec<Outgoing> {
    sizes
        .iter()
        .enumerate()
        .map(|(i, &(to, size))| {
            let mut payload = vec![(i % 251) as u8; size];
            payload[..2].copy_from_slice(&(i as u16).to_be_bytes());
            Outgoing {
                payload,
                destination: Destination::Relay(to),
            }
        })
        .collect()
}

/// Everything `socket` receives until it has been quiet for a while.
fn drain(socket: &UdpSocket) -> Vec<Vec<u8>> {
    socket
        .set_read_timeout(Some(Duration::from_millis(300)))
        .unwrap();
    let mut buf = vec![0u8; 65536];
    let mut got = Vec::new();
    while let Ok(n) = socket.recv(&mut buf) {
        got.push(buf[..n].to_vec());
    }
    got
}

/// The replies of `batch` going to `to`, as sent.
fn payloads_to(batch: &[Outgoing], to: SocketAddr) -> Vec<Vec<u8>> {
    batch
        .iter()
        .filter(|m| m.destination == Destination::Relay(to))
        .map(|m| m.payload.clone())
        .collect()
}

#[test]
fn runs_of_equal_replies_leave_segmented_and_arrive_as_the_same_datagrams() {
    let mut families = vec![(IpAddr::V4(LOCALHOST), 1500 - 28)];
    if has_ipv6_loopback() {
        families.push((IpAddr::V6(Ipv6Addr::LOCALHOST), 1500 - 48));
    }
    for (address, limit) in families {
        let sockets = Sockets::from_sockets(vec![ServerSocket::open_listen(address, 0).unwrap()]);
        sockets.segment_replies();
        let counters = Arc::new(Counters::default());
        let sender = Sender::new(&sockets, None, Arc::clone(&counters));
        let (relay, other) = (
            UdpSocket::bind((address, 0)).unwrap(),
            UdpSocket::bind((address, 0)).unwrap(),
        );
        let (a, b) = (relay.local_addr().unwrap(), other.local_addr().unwrap());
        // 70 of one size (more than one send holds), 3 of another, one elsewhere, 2 more of the
        // first size, one too large to segment, then a last pair.
        let mut shape = vec![(a, 200); 70];
        shape.extend([(a, 150); 3]);
        shape.push((b, 200));
        shape.extend([(a, 200); 2]);
        shape.push((a, limit + 1));
        shape.extend([(a, limit); 2]);
        let batch = numbered(&shape);
        let mut sent = batch.clone();
        sender.send_batch(&mut sent);
        assert_eq!(
            drain(&relay),
            payloads_to(&batch, a),
            "{address}: same datagrams, in order"
        );
        assert_eq!(drain(&other), payloads_to(&batch, b), "{address}");
        let counts = counters.snapshot();
        assert_eq!(counts.sent_relay, shape.len() as u64, "{address}");
        assert_eq!(counts.sent_segmented, 70 + 3 + 2 + 2, "{address}");
        assert_eq!((counts.send_errors, counts.send_timeouts), (0, 0));
    }
}

#[test]
fn replies_are_not_segmented_unless_asked() {
    let sockets = listen_socket();
    let counters = Arc::new(Counters::default());
    let sender = Sender::new(&sockets, None, Arc::clone(&counters));
    let relay = client();
    let batch = numbered(&[(v4(&relay), 300); 6]);
    sender.send_batch(&mut batch.clone());
    assert_eq!(drain(&relay), payloads_to(&batch, v4(&relay)));
    let counts = counters.snapshot();
    assert_eq!((counts.sent_relay, counts.sent_segmented), (6, 0));
}

#[test]
#[allow(unsafe_code)] // setsockopt(SO_NO_CHECK): neither nix nor socket2 names it.
fn a_socket_that_cannot_segment_sends_one_by_one() {
    // A socket sending without UDP checksums cannot segment: the kernel refuses (EINVAL).
    const SO_NO_CHECK: libc::c_int = 11;
    let sockets = listen_socket();
    let server = sockets.iter().next().unwrap();
    server.segment_replies();
    let on: libc::c_int = 1;
    // SAFETY: a valid socket and a c_int option value of the given length.
    let set = unsafe {
        libc::setsockopt(
            std::os::fd::AsRawFd::as_raw_fd(server.socket()),
            libc::SOL_SOCKET,
            SO_NO_CHECK,
            (&on as *const libc::c_int).cast(),
            std::mem::size_of::<libc::c_int>() as libc::socklen_t,
        )
    };
    assert_eq!(set, 0, "SO_NO_CHECK");
    let counters = Arc::new(Counters::default());
    let sender = Sender::new(&sockets, None, Arc::clone(&counters));
    let relay = client();
    let a = v4(&relay);
    let batch = numbered(&[(a, 300); 5]);
    sender.send_batch(&mut batch.clone());
    assert_eq!(drain(&relay), payloads_to(&batch, a));
    let counts = counters.snapshot();
    assert_eq!((counts.sent_relay, counts.sent_segmented), (5, 0));
    assert_eq!(
        server.segment_limit().get(),
        299,
        "that size is not tried again"
    );
    // Larger ones are not tried again.
    let batch = numbered(&[(a, 400), (a, 400)]);
    sender.send_batch(&mut batch.clone());
    assert_eq!(drain(&relay), payloads_to(&batch, a));
    assert_eq!(server.segment_limit().get(), 299);

    // With segmentation off, a batch goes out with sendmmsg as before.
    server.segment_limit().lower_to(0);
    let batch = numbered(&[(a, 100); 4]);
    sender.send_batch(&mut batch.clone());
    assert_eq!(drain(&relay), payloads_to(&batch, a));
    assert_eq!(counters.snapshot().sent_relay, 5 + 2 + 4);
}
