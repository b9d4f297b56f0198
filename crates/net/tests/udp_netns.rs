//! Needs root (network namespaces, SO_BINDTODEVICE, SIOCSARP): the socket layer across a veth
//! pair between two network namespaces. Ignored by a plain `cargo test`; the test command runs
//! it as root (`cargo test -- --ignored`), where a failure to set up is a failure, not a skip.
//!
//! Namespace A holds the server (192.0.2.1/24 and 2001:db8::1/64 on veth `…a`), namespace B the
//! client side (192.0.2.2/24 and 2001:db8::2/64 on veth `…b`). Sockets are opened on a thread
//! that has `setns`-ed into the namespace: a socket belongs to the namespace it was created in,
//! so it can then be used from any thread.

use lessor_net::udp::Sender;
use lessor_net::udp::{
    Counters, Family, Receivers, ServerSocket, Sockets, V6Options, DEFAULT_BUFFER,
};
use lessor_net::{Destination, Outgoing, Received, Transmit};
use nix::sched::{setns, CloneFlags};
use socket2::{Domain, Protocol, Socket, Type};
use std::fs::File;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV4, SocketAddrV6, UdpSocket};
use std::process::Command;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{mpsc, Arc};
use std::time::Duration;

const SERVER: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 1);
const CLIENT: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 2);
const SERVER_PORT: u16 = 67;
const CLIENT_PORT: u16 = 68;
const SERVER6: Ipv6Addr = Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 1);
const CLIENT6: Ipv6Addr = Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 2);
/// All_DHCP_Relay_Agents_and_Servers (RFC 8415 §7.1).
const ALL_AGENTS: Ipv6Addr = Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 1, 2);
const SERVER_PORT6: u16 = 547;
const CLIENT_PORT6: u16 = 546;

static NEXT: AtomicU32 = AtomicU32::new(0);

fn ip(args: &[&str]) -> Result<String, String> {
    let output = Command::new("ip")
        .args(args)
        .output()
        .map_err(|error| format!("cannot run ip: {error}"))?;
    if output.status.success() {
        Ok(String::from_utf8_lossy(&output.stdout).into_owned())
    } else {
        Err(format!(
            "ip {}: {}",
            args.join(" "),
            String::from_utf8_lossy(&output.stderr).trim()
        ))
    }
}

/// Two namespaces joined by a veth pair; deleted (with the pair) on drop.
struct Pair {
    a: String,
    b: String,
    veth_a: String,
    veth_b: String,
}

impl Pair {
    /// Panics, naming what failed, when the namespaces cannot be made.
    fn create(test: &str) -> Pair {
        assert!(
            nix::unistd::geteuid().is_root(),
            "{test} needs root (network namespaces, SO_BINDTODEVICE, SIOCSARP)"
        );
        let pid = std::process::id();
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let pair = Pair {
            a: format!("lsr-io-{pid}-{n}-a"),
            b: format!("lsr-io-{pid}-{n}-b"),
            // Interface names are at most 15 bytes.
            veth_a: format!("lsr{}{n}a", pid % 10_000_000),
            veth_b: format!("lsr{}{n}b", pid % 10_000_000),
        };
        if let Err(error) = ip(&["netns", "add", &pair.a]) {
            panic!("{test}: {error}");
        }
        // From here on, Drop cleans up whatever was made.
        let setup = || -> Result<(), String> {
            ip(&["netns", "add", &pair.b])?;
            // No duplicate address detection: addresses are usable at once.
            for ns in [&pair.a, &pair.b] {
                for conf in ["all", "default"] {
                    ip(&[
                        "netns",
                        "exec",
                        ns,
                        "sysctl",
                        "-qw",
                        &format!("net.ipv6.conf.{conf}.accept_dad=0"),
                    ])?;
                }
            }
            ip(&[
                "link",
                "add",
                &pair.veth_a,
                "netns",
                &pair.a,
                "type",
                "veth",
                "peer",
                "name",
                &pair.veth_b,
                "netns",
                &pair.b,
            ])?;
            for (ns, dev, address, address6) in [
                (&pair.a, &pair.veth_a, "192.0.2.1/24", "2001:db8::1/64"),
                (&pair.b, &pair.veth_b, "192.0.2.2/24", "2001:db8::2/64"),
            ] {
                ip(&["-n", ns, "addr", "add", address, "dev", dev])?;
                ip(&["-n", ns, "addr", "add", address6, "dev", dev, "nodad"])?;
                ip(&["-n", ns, "link", "set", dev, "up"])?;
                ip(&["-n", ns, "link", "set", "lo", "up"])?;
            }
            Ok(())
        };
        if let Err(error) = setup() {
            panic!("{test}: setting up namespaces failed: {error}");
        }
        // IPv6 on a veth works once both ends have carrier and a link-local address: wait for
        // that (bounded) rather than lose the first datagrams.
        for (ns, dev) in [(&pair.a, &pair.veth_a), (&pair.b, &pair.veth_b)] {
            let ready = || {
                let link = ip(&["-n", ns, "link", "show", dev]).unwrap_or_default();
                let addrs = ip(&["-n", ns, "-6", "addr", "show", "dev", dev]).unwrap_or_default();
                link.contains("LOWER_UP") && addrs.contains("fe80") && !addrs.contains("tentative")
            };
            let until = std::time::Instant::now() + Duration::from_secs(10);
            while !ready() {
                assert!(
                    std::time::Instant::now() < until,
                    "{test}: {dev} in {ns} not ready after 10 s"
                );
                std::thread::sleep(Duration::from_millis(20));
            }
        }
        pair
    }

    /// Runs `f` on a thread inside namespace `ns`.
    fn within<T: Send + 'static>(ns: &str, f: impl FnOnce() -> T + Send + 'static) -> T {
        let path = format!("/var/run/netns/{ns}");
        std::thread::spawn(move || {
            let file = File::open(&path).unwrap_or_else(|e| panic!("open {path}: {e}"));
            setns(file, CloneFlags::CLONE_NEWNET).expect("setns");
            f()
        })
        .join()
        .expect("namespace thread")
    }

    fn mac_b(&self) -> [u8; 6] {
        let out = ip(&["-n", &self.b, "-o", "link", "show", &self.veth_b]).unwrap();
        let text = out
            .split("link/ether ")
            .nth(1)
            .and_then(|rest| rest.split_whitespace().next())
            .expect("link/ether in ip link output");
        let mut mac = [0u8; 6];
        for (slot, part) in mac.iter_mut().zip(text.split(':')) {
            *slot = u8::from_str_radix(part, 16).unwrap();
        }
        mac
    }
}

impl Drop for Pair {
    fn drop(&mut self) {
        // Deleting a namespace deletes the veth end in it, and so the pair.
        let _ = ip(&["netns", "del", &self.a]);
        let _ = ip(&["netns", "del", &self.b]);
    }
}

/// A client-side socket in B bound to `0.0.0.0:port` on B's veth.
fn client_socket(pair: &Pair, port: u16) -> UdpSocket {
    let dev = pair.veth_b.clone();
    Pair::within(&pair.b, move || {
        let socket = Socket::new(Domain::IPV4, Type::DGRAM, Some(Protocol::UDP)).unwrap();
        socket.set_reuse_address(true).unwrap();
        socket.set_broadcast(true).unwrap();
        socket.bind_device(Some(dev.as_bytes())).unwrap();
        socket
            .bind(&SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, port).into())
            .unwrap();
        socket
            .set_read_timeout(Some(Duration::from_secs(5)))
            .unwrap();
        UdpSocket::from(socket)
    })
}

fn interface_socket(pair: &Pair) -> ServerSocket {
    let dev = pair.veth_a.clone();
    Pair::within(&pair.a, move || {
        ServerSocket::open_interface(&dev, Family::V4, SERVER_PORT, &V6Options::default())
            .expect("interface socket")
    })
}

fn reply(destination: Destination) -> Outgoing {
    Outgoing {
        payload: b"offer".to_vec(),
        destination,
    }
}

type Got = (Vec<u8>, SocketAddr, IpAddr, Option<u32>);

fn receive_on(sockets: &Sockets) -> (Receivers, mpsc::Receiver<Got>) {
    let (tx, rx) = mpsc::channel();
    let running = Receivers::start(
        "test",
        sockets,
        Arc::new(Counters::default()),
        DEFAULT_BUFFER,
        1,
        |_| {
            let tx = tx.clone();
            move |received: Received<'_>| {
                let _ = tx.send((
                    received.payload.to_vec(),
                    received.source,
                    received.destination,
                    received.interface_index,
                ));
            }
        },
    )
    .unwrap();
    (running, rx)
}

#[test]
#[ignore = "needs root"]
fn interface_socket_receives_a_broadcast_with_destination_and_ifindex() {
    let pair = Pair::create("interface_socket_receives_a_broadcast");
    let server = interface_socket(&pair);
    let index = server.interface_index().expect("ifindex");
    let sockets = Sockets::from_sockets(vec![server]);
    let (running, rx) = receive_on(&sockets);
    let client = client_socket(&pair, CLIENT_PORT);
    client
        .send_to(b"discover", (Ipv4Addr::BROADCAST, SERVER_PORT))
        .unwrap();
    let got = rx.recv_timeout(Duration::from_secs(5)).expect("broadcast");
    running.shutdown();
    assert_eq!(
        got,
        (
            b"discover".to_vec(),
            SocketAddr::V4(SocketAddrV4::new(CLIENT, CLIENT_PORT)),
            IpAddr::V4(Ipv4Addr::BROADCAST),
            Some(index)
        )
    );
}

#[test]
#[ignore = "needs root"]
fn broadcast_destination_reaches_the_other_namespace() {
    let pair = Pair::create("broadcast_destination_reaches_the_other_namespace");
    let server = interface_socket(&pair);
    let index = server.interface_index().unwrap();
    let counters = Arc::new(Counters::default());
    let transmit = Sender::new(
        &Sockets::from_sockets(vec![server]),
        Some(IpAddr::V4(SERVER)),
        Arc::clone(&counters),
    );
    let client = client_socket(&pair, CLIENT_PORT);
    transmit.send(reply(Destination::Broadcast {
        interface_index: index,
        port: CLIENT_PORT,
    }));
    let mut buffer = [0u8; 64];
    let (length, from) = client.recv_from(&mut buffer).expect("broadcast reply");
    assert_eq!(&buffer[..length], b"offer");
    assert_eq!(from, SocketAddr::V4(SocketAddrV4::new(SERVER, SERVER_PORT)));
    let counts = counters.snapshot();
    assert_eq!((counts.sent_broadcast, counts.send_errors), (1, 0));
}

#[test]
#[ignore = "needs root"]
fn a_batch_of_broadcasts_and_unicasts_arrives_whole_and_in_order() {
    let pair = Pair::create("a_batch_of_broadcasts_and_unicasts_arrives");
    let server = interface_socket(&pair);
    let index = server.interface_index().unwrap();
    let counters = Arc::new(Counters::default());
    let transmit = Sender::new(
        &Sockets::from_sockets(vec![server]),
        Some(IpAddr::V4(SERVER)),
        Arc::clone(&counters),
    );
    let client = client_socket(&pair, CLIENT_PORT);
    // Broadcasts and unicasts through the same socket leave in one sendmmsg run.
    let mut batch: Vec<Outgoing> = (0..12u8)
        .map(|i| Outgoing {
            payload: vec![i; 40],
            destination: if i % 3 == 0 {
                Destination::Client(SocketAddr::V4(SocketAddrV4::new(CLIENT, CLIENT_PORT)))
            } else {
                Destination::Broadcast {
                    interface_index: index,
                    port: CLIENT_PORT,
                }
            },
        })
        .collect();
    transmit.send_batch(&mut batch);
    let mut got = Vec::new();
    let mut buffer = [0u8; 64];
    for _ in 0..12 {
        let (length, _) = client
            .recv_from(&mut buffer)
            .expect("every message of the batch");
        got.push(buffer[0]);
        assert_eq!(length, 40);
    }
    assert_eq!(got, (0..12u8).collect::<Vec<_>>());
    let counts = counters.snapshot();
    assert_eq!(
        (
            counts.sent_broadcast,
            counts.sent_client,
            counts.send_errors
        ),
        (8, 4, 0)
    );
}

#[test]
#[ignore = "needs root"]
fn hardware_destination_installs_the_neighbour_entry_and_unicasts() {
    let pair = Pair::create("hardware_destination_installs_the_neighbour_entry");
    let server = interface_socket(&pair);
    let index = server.interface_index().unwrap();
    let counters = Arc::new(Counters::default());
    let transmit = Sender::new(
        &Sockets::from_sockets(vec![server]),
        Some(IpAddr::V4(SERVER)),
        Arc::clone(&counters),
    );
    let client = client_socket(&pair, CLIENT_PORT);
    let mac = pair.mac_b();
    let mut chaddr = [0u8; 16];
    chaddr[..6].copy_from_slice(&mac);
    transmit.send(reply(Destination::Hardware {
        interface_index: index,
        address: CLIENT,
        port: CLIENT_PORT,
        htype: 1,
        hlen: 6,
        chaddr,
    }));
    let mut buffer = [0u8; 64];
    let (length, from) = client.recv_from(&mut buffer).expect("unicast reply");
    assert_eq!(&buffer[..length], b"offer");
    assert_eq!(from, SocketAddr::V4(SocketAddrV4::new(SERVER, SERVER_PORT)));
    let neigh = ip(&["-n", &pair.a, "neigh", "show", "dev", &pair.veth_a]).unwrap();
    let mac_text = mac
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect::<Vec<_>>()
        .join(":");
    assert!(
        neigh.contains(&format!("192.0.2.2 lladdr {mac_text}")),
        "neighbour table: {neigh}"
    );

    // An address nobody answers ARP for: the entry can only have come from SIOCSARP.
    let fake = [0x02, 0, 0, 0, 0, 0x60];
    chaddr[..6].copy_from_slice(&fake);
    transmit.send(reply(Destination::Hardware {
        interface_index: index,
        address: Ipv4Addr::new(192, 0, 2, 60),
        port: CLIENT_PORT,
        htype: 1,
        hlen: 6,
        chaddr,
    }));
    let neigh = ip(&["-n", &pair.a, "neigh", "show", "dev", &pair.veth_a]).unwrap();
    assert!(
        neigh.contains("192.0.2.60 lladdr 02:00:00:00:00:60"),
        "neighbour table: {neigh}"
    );
    let counts = counters.snapshot();
    assert_eq!(
        (counts.sent_hardware, counts.fallbacks, counts.send_errors),
        (2, 0, 0)
    );
}

#[test]
#[ignore = "needs root"]
fn a_send_buffer_that_stays_full_costs_a_batch_one_send_timeout() {
    let pair = Pair::create("a_send_buffer_that_stays_full");
    // A queue on the server's veth that drains at 1 kB/s and holds 1 MB: datagrams stay in it
    // (and in the socket's send buffer) for minutes.
    let tc = Command::new("ip")
        .args([
            "netns",
            "exec",
            &pair.a,
            "tc",
            "qdisc",
            "add",
            "dev",
            &pair.veth_a,
        ])
        .args([
            "root", "tbf", "rate", "8kbit", "burst", "1600", "limit", "1000000",
        ])
        .status()
        .expect("run tc");
    assert!(tc.success(), "tc qdisc add tbf failed");
    let server = Pair::within(&pair.a, || {
        ServerSocket::open_listen(IpAddr::V4(SERVER), SERVER_PORT).expect("listen socket")
    });
    // The smallest send buffer the kernel gives: a few datagrams fill it.
    socket2::SockRef::from(server.socket())
        .set_send_buffer_size(4096)
        .unwrap();
    let counters = Arc::new(Counters::default());
    let transmit = Sender::new(
        &Sockets::from_sockets(vec![server]),
        Some(IpAddr::V4(SERVER)),
        Arc::clone(&counters),
    );
    let to = SocketAddr::V4(SocketAddrV4::new(CLIENT, CLIENT_PORT));
    let began = std::time::Instant::now();
    // On a thread, so that sends that block (the bug this tests for) fail the test rather than
    // hang it.
    let (done, finished) = mpsc::channel();
    std::thread::spawn(move || {
        for _ in 0..10 {
            let mut batch: Vec<Outgoing> = (0..8)
                .map(|_| Outgoing {
                    payload: vec![0u8; 1000],
                    destination: Destination::Relay(to),
                })
                .collect();
            transmit.send_batch(&mut batch);
        }
        transmit.send(Outgoing {
            payload: vec![0u8; 1000],
            destination: Destination::Relay(to),
        });
        let _ = done.send(());
    });
    finished
        .recv_timeout(Duration::from_secs(20))
        .expect("the sends returned");
    let took = began.elapsed();
    let counts = counters.snapshot();
    assert_eq!(counts.sent_relay + counts.send_timeouts, 81, "{counts:?}");
    assert!(counts.send_timeouts >= 70, "{counts:?}");
    assert_eq!(counts.send_errors, 0, "{counts:?}");
    // At most one wait per batch and for the lone send (11 x 100 ms), not one per datagram.
    assert!(took < Duration::from_secs(3), "took {took:?}");
}

/// A client-side IPv6 socket in B bound to `[::]:port` on B's veth, joined to ff02::1:2 there.
fn client_socket6(pair: &Pair, port: u16) -> (UdpSocket, u32) {
    let dev = pair.veth_b.clone();
    Pair::within(&pair.b, move || {
        let index = nix::net::if_::if_nametoindex(dev.as_str()).unwrap();
        let socket = Socket::new(Domain::IPV6, Type::DGRAM, Some(Protocol::UDP)).unwrap();
        socket.set_only_v6(true).unwrap();
        socket.set_reuse_address(true).unwrap();
        socket.bind_device(Some(dev.as_bytes())).unwrap();
        socket
            .bind(&SocketAddrV6::new(Ipv6Addr::UNSPECIFIED, port, 0, 0).into())
            .unwrap();
        socket.join_multicast_v6(&ALL_AGENTS, index).unwrap();
        socket.set_multicast_if_v6(index).unwrap();
        socket
            .set_read_timeout(Some(Duration::from_secs(5)))
            .unwrap();
        (UdpSocket::from(socket), index)
    })
}

fn interface_socket6(pair: &Pair, hops: Option<u32>) -> ServerSocket {
    let dev = pair.veth_a.clone();
    Pair::within(&pair.a, move || {
        let options = V6Options {
            groups: vec![ALL_AGENTS],
            multicast_hops: hops,
            unicast_hops: None,
        };
        ServerSocket::open_interface(&dev, Family::V6, SERVER_PORT6, &options)
            .expect("IPv6 interface socket")
    })
}

#[test]
#[ignore = "needs root"]
fn ipv6_interface_socket_joins_all_dhcp_agents_and_reports_the_group_and_ifindex() {
    let pair = Pair::create("ipv6_interface_socket_joins_all_dhcp_agents");
    let server = interface_socket6(&pair, None);
    let index = server.interface_index().expect("ifindex");
    let sockets = Sockets::from_sockets(vec![server]);
    let (running, rx) = receive_on(&sockets);
    let (client, client_index) = client_socket6(&pair, CLIENT_PORT6);
    let group = SocketAddrV6::new(ALL_AGENTS, SERVER_PORT6, 0, client_index);
    client.send_to(b"solicit", group).unwrap();
    let got = rx.recv_timeout(Duration::from_secs(5)).expect("multicast");
    running.shutdown();
    assert_eq!(got.0, b"solicit");
    assert_eq!(got.1.port(), CLIENT_PORT6);
    assert_eq!(got.2, IpAddr::V6(ALL_AGENTS));
    assert_eq!(got.3, Some(index));
    // The source is B's link-local address (or its global one): an address of B's link either way.
    match got.1.ip() {
        IpAddr::V6(a) => assert!(
            a == CLIENT6 || a.segments()[0] == 0xfe80,
            "source {a} is not B's"
        ),
        IpAddr::V4(a) => panic!("IPv4 source {a}"),
    }
}

#[test]
#[ignore = "needs root"]
fn multicast_destination_leaves_from_the_interface_socket_with_its_hop_limit() {
    let pair = Pair::create("multicast_destination_leaves_from_the_interface_socket");
    let server = interface_socket6(&pair, Some(8));
    let index = server.interface_index().unwrap();
    let hops = socket2::SockRef::from(server.socket())
        .multicast_hops_v6()
        .unwrap();
    assert_eq!(hops, 8);
    let counters = Arc::new(Counters::default());
    let sender = Sender::new(
        &Sockets::from_sockets(vec![server]),
        Some(IpAddr::V6(SERVER6)),
        Arc::clone(&counters),
    );
    let (client, _) = client_socket6(&pair, SERVER_PORT6);
    sender.send(reply(Destination::Multicast {
        interface_index: index,
        group: SocketAddrV6::new(ALL_AGENTS, SERVER_PORT6, 0, 0),
    }));
    let mut buffer = [0u8; 64];
    let (length, from) = client.recv_from(&mut buffer).expect("multicast reply");
    assert_eq!(&buffer[..length], b"offer");
    assert_eq!(from.port(), SERVER_PORT6);
    let counts = counters.snapshot();
    assert_eq!((counts.sent_multicast, counts.send_errors), (1, 0));

    // Unicast to B's global address leaves from the same (only) IPv6 socket.
    sender.send(reply(Destination::Client(SocketAddr::V6(
        SocketAddrV6::new(CLIENT6, SERVER_PORT6, 0, 0),
    ))));
    let (length, _) = client.recv_from(&mut buffer).expect("unicast reply");
    assert_eq!(&buffer[..length], b"offer");
    assert_eq!(counters.snapshot().sent_client, 1);
}
