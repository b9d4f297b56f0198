//! Root-only: the DHCPv4 socket layer across a veth pair between two network namespaces.
//!
//! Namespace A holds the server (192.0.2.1/24 on veth `…a`), namespace B the client side
//! (192.0.2.2/24 on veth `…b`). Sockets are opened on a thread that has `setns`-ed into the
//! namespace: a socket belongs to the namespace it was created in, so it can then be used from
//! any thread. Every test skips, saying why, when not root or when `ip netns` is unavailable.

use lessor_server::dhcp4::{Destination, Received, Reply, Transmit};
use lessor_server::io4::{Counters, Running, ServerSocket, Sockets, UdpTransmit, DEFAULT_BUFFER};
use lessor_wire::v4::MessageType;
use nix::sched::{setns, CloneFlags};
use socket2::{Domain, Protocol, Socket, Type};
use std::fs::File;
use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4, UdpSocket};
use std::process::Command;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{mpsc, Arc};
use std::time::Duration;

const SERVER: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 1);
const CLIENT: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 2);
const SERVER_PORT: u16 = 67;
const CLIENT_PORT: u16 = 68;

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
    /// `None` (with the reason printed) when the test cannot run here.
    fn create(test: &str) -> Option<Pair> {
        if !nix::unistd::geteuid().is_root() {
            eprintln!("skipped {test}: needs root (network namespaces, SO_BINDTODEVICE, SIOCSARP)");
            return None;
        }
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
            eprintln!("skipped {test}: {error}");
            return None;
        }
        // From here on, Drop cleans up whatever was made.
        let setup = || -> Result<(), String> {
            ip(&["netns", "add", &pair.b])?;
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
            for (ns, dev, address) in [
                (&pair.a, &pair.veth_a, "192.0.2.1/24"),
                (&pair.b, &pair.veth_b, "192.0.2.2/24"),
            ] {
                ip(&["-n", ns, "addr", "add", address, "dev", dev])?;
                ip(&["-n", ns, "link", "set", dev, "up"])?;
                ip(&["-n", ns, "link", "set", "lo", "up"])?;
            }
            Ok(())
        };
        if let Err(error) = setup() {
            panic!("{test}: setting up namespaces failed: {error}");
        }
        Some(pair)
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
        ServerSocket::open_interface(&dev, SERVER_PORT).expect("interface socket")
    })
}

fn reply(destination: Destination) -> Reply {
    Reply {
        message: b"offer".to_vec(),
        destination,
        message_type: MessageType::Offer,
    }
}

#[test]
fn interface_socket_receives_a_broadcast_with_destination_and_ifindex() {
    let Some(pair) = Pair::create("interface_socket_receives_a_broadcast") else {
        return;
    };
    let server = interface_socket(&pair);
    let index = server.interface_index().expect("ifindex");
    let sockets = Sockets::from_sockets(vec![server]);
    let (tx, rx) = mpsc::channel();
    let running = Running::start(
        &sockets,
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
            SocketAddrV4::new(CLIENT, CLIENT_PORT),
            Ipv4Addr::BROADCAST,
            Some(index)
        )
    );
}

#[test]
fn broadcast_destination_reaches_the_other_namespace() {
    let Some(pair) = Pair::create("broadcast_destination_reaches_the_other_namespace") else {
        return;
    };
    let server = interface_socket(&pair);
    let index = server.interface_index().unwrap();
    let counters = Arc::new(Counters::default());
    let transmit = UdpTransmit::new(
        &Sockets::from_sockets(vec![server]),
        Some(SERVER),
        Arc::clone(&counters),
    );
    let client = client_socket(&pair, CLIENT_PORT);
    transmit.send(reply(Destination::Broadcast {
        interface_index: index,
    }));
    let mut buffer = [0u8; 64];
    let (length, from) = client.recv_from(&mut buffer).expect("broadcast reply");
    assert_eq!(&buffer[..length], b"offer");
    assert_eq!(from, SocketAddr::V4(SocketAddrV4::new(SERVER, SERVER_PORT)));
    let counts = counters.snapshot();
    assert_eq!((counts.sent_broadcast, counts.send_errors), (1, 0));
}

#[test]
fn hardware_destination_installs_the_neighbour_entry_and_unicasts() {
    let Some(pair) = Pair::create("hardware_destination_installs_the_neighbour_entry") else {
        return;
    };
    let server = interface_socket(&pair);
    let index = server.interface_index().unwrap();
    let counters = Arc::new(Counters::default());
    let transmit = UdpTransmit::new(
        &Sockets::from_sockets(vec![server]),
        Some(SERVER),
        Arc::clone(&counters),
    );
    let client = client_socket(&pair, CLIENT_PORT);
    let mac = pair.mac_b();
    let mut chaddr = [0u8; 16];
    chaddr[..6].copy_from_slice(&mac);
    transmit.send(reply(Destination::Hardware {
        interface_index: index,
        address: CLIENT,
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
