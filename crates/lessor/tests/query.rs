//! `lessor query` against a real `lessor serve` on loopback: bindings made by `lessor perf dora`
//! (relayed through giaddr 127.0.0.1 with link-selection), then queried by IP, by MAC and by
//! relay-id, with exit codes and JSON checked. Only 127.0.0.1 sockets; addresses in
//! 198.51.100.0/24 are payload only.

mod common;

use common::{free_udp_port, free_udp_ports, lessor, write_config, Server};
use std::path::Path;
use std::process::Output;
use std::time::{Duration, Instant};

fn start(dir: &Path, ports: (u16, u16)) -> Server {
    // `lessor query` sends from an ephemeral port: answered there only when opted in.
    let extra = "\n[leasequery4]\nrequesters = [\"127.0.0.1/32\"]\nreply-to-source-port = [\"127.0.0.1/32\"]\n";
    let pool = ("198.51.100.0/24", "198.51.100.100-198.51.100.199");
    let config = write_config(dir, ports, pool, extra);
    Server::start(dir, &config, "dhcp4: listening")
}

fn query(args: &[&str], server: &str) -> Output {
    lessor()
        .arg("query")
        .args(args)
        .args([
            "--server",
            server,
            "--giaddr",
            "127.0.0.1",
            "--timeout",
            "5s",
        ])
        .output()
        .unwrap()
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

#[test]
fn query_finds_what_perf_leased() {
    let dir = std::env::temp_dir().join(format!("lessor-query-{}", std::process::id()));
    let (port, relay_port) = free_udp_ports();
    let _server = start(&dir, (port, relay_port));
    let server = format!("127.0.0.1:{port}");
    let acked = dir.join("acked.txt");

    let out = lessor()
        .args(["perf", "dora", "--server", &server, "--giaddr", "127.0.0.1"])
        .args(["--bind", &format!("127.0.0.1:{relay_port}")])
        .args(["--link-selection", "198.51.100.1", "--clients", "3"])
        .args(["--relay-id", "c0:ff:ee", "--duration", "20s", "--seed", "1"])
        .arg("--acked-out")
        .arg(&acked)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let acked = std::fs::read_to_string(&acked).unwrap();
    let first = acked.lines().next().expect("an ACK");
    let (address, mac) = first.split_once(' ').unwrap();

    // By IP: active, with what perf's relay put in option 82.
    let out = query(&["ip", address], &server);
    let text = stdout(&out);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let header = text.lines().next().unwrap();
    assert!(
        header.starts_with("ADDRESS") && header.contains("RELAY-ID"),
        "{text}"
    );
    let row = text.lines().nth(1).unwrap();
    assert!(row.starts_with(address), "{text}");
    for want in ["active", mac, "c0:ff:ee", "perf-", "1h0m0s", &server] {
        assert!(row.contains(want), "{want} missing: {text}");
    }

    // --json parses and carries the option 82 sub-options.
    let out = query(&["ip", address, "--json"], &server);
    assert_eq!(out.status.code(), Some(0));
    let v: serde_json::Value = serde_json::from_str(stdout(&out).trim()).unwrap();
    assert_eq!(v["state"], "active");
    assert_eq!(v["address"], address);
    assert_eq!(v["mac"], mac);
    assert_eq!(v["relay_id"], "c0ffee");
    assert!(v["circuit_id_text"].as_str().unwrap().starts_with("perf-"));
    assert_eq!(v["server_id"], "127.0.0.1");
    assert!(v["lease_remaining"].as_u64().unwrap() > 3500);
    assert!(v["cltt"].as_u64().is_some() && v["cltt_time"].is_string());

    // By MAC: the same lease.
    let out = query(&["mac", mac, "--json"], &server);
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
    let v: serde_json::Value = serde_json::from_str(stdout(&out).trim()).unwrap();
    assert_eq!(v["address"], address);

    // By relay-id: one of the three.
    let out = query(&["relay-id", "c0:ff:ee"], &server);
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));

    // A free pool address: UNASSIGNED, exit 1.
    let out = query(&["ip", "198.51.100.199"], &server);
    assert_eq!(out.status.code(), Some(1));
    assert!(stdout(&out).contains("unassigned"), "{}", stdout(&out));

    // An address the server does not manage: UNKNOWN, exit 1.
    let out = query(&["ip", "203.0.113.5", "--json"], &server);
    assert_eq!(out.status.code(), Some(1));
    let v: serde_json::Value = serde_json::from_str(stdout(&out).trim()).unwrap();
    assert_eq!(v["state"], "unknown");

    // A MAC nobody has: UNKNOWN, exit 1.
    let out = query(&["mac", "02:00:5e:00:53:99"], &server);
    assert_eq!(out.status.code(), Some(1));

    // Several VALUEs: one row each, in the order given, named by a QUERY column; exit 0 when
    // all are active.
    let addresses: Vec<&str> = acked
        .lines()
        .map(|l| l.split_once(' ').unwrap().0)
        .rev()
        .collect();
    assert_eq!(addresses.len(), 3, "{acked}");
    let mut args = vec!["ip"];
    args.extend(&addresses);
    let out = query(&args, &server);
    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(0), "{text}");
    let mut lines = text.lines();
    assert!(lines.next().unwrap().starts_with("QUERY"), "{text}");
    let rows: Vec<&str> = lines.collect();
    assert_eq!(rows.len(), 3, "{text}");
    for (row, address) in rows.iter().zip(&addresses) {
        let cells: Vec<&str> = row.split_whitespace().collect();
        assert_eq!(&cells[..3], [*address, *address, "active"], "{text}");
    }
    // One of them not found: exit 1, the others still answered.
    let out = query(&["ip", addresses[0], "198.51.100.199", "--json"], &server);
    assert_eq!(out.status.code(), Some(1), "{}", stdout(&out));
    let answers: Vec<serde_json::Value> = stdout(&out)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(answers.len(), 2);
    assert_eq!(answers[0]["query"]["value"], addresses[0]);
    assert_eq!(answers[0]["state"], "active");
    assert_eq!(answers[1]["query"]["value"], "198.51.100.199");
    assert_eq!(answers[1]["state"], "unassigned");
    // By MAC, several: all found.
    let macs: Vec<&str> = acked
        .lines()
        .map(|l| l.split_once(' ').unwrap().1)
        .collect();
    let mut args = vec!["mac"];
    args.extend(&macs);
    let out = query(&args, &server);
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
    assert_eq!(stdout(&out).lines().count(), 4, "{}", stdout(&out));
}

#[test]
fn no_reply_and_bad_arguments_exit_2() {
    // Nobody listens on this port.
    let port = free_udp_port();
    let started = Instant::now();
    let out = lessor()
        .args(["query", "ip", "198.51.100.7", "--giaddr", "127.0.0.1"])
        .args(["--server", &format!("127.0.0.1:{port}"), "--timeout", "1s"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no reply"));
    assert!(started.elapsed() < Duration::from_secs(10));

    // Several VALUEs, none answered: exit 2, an error for each.
    let out = lessor()
        .args([
            "query",
            "ip",
            "198.51.100.7",
            "198.51.100.8",
            "--giaddr",
            "127.0.0.1",
        ])
        .args(["--server", &format!("127.0.0.1:{port}"), "--timeout", "1s"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("ip 198.51.100.7: no reply") && err.contains("ip 198.51.100.8: no reply"),
        "{err}"
    );
    // One bad VALUE among good ones: nothing is sent, exit 2 naming it.
    let out = lessor()
        .args([
            "query",
            "ip",
            "198.51.100.7",
            "198.51.100",
            "--server",
            "127.0.0.1",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("\"198.51.100\" is not an IPv4 address"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    let out = lessor()
        .args(["query", "mac", "not-hex", "--server", "127.0.0.1"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("not hex"));
    let out = lessor()
        .args(["query", "ip", "198.51.100.7"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "clap: --server is required");
}

/// A DHCPv6 leasequery responder on [::1] in a thread: it knows one client (DUID
/// 00:03:00:01:02:00:00:00:00:07) with 2001:db8:1::7 and 2001:db8:2:100::/56 on link
/// 2001:db8:1::1, heard from 30 s ago through a relay, and a second client on two links (asked
/// by client-id without a link it answers CLIENT_LINK). The first transmission of every
/// transaction is dropped, so the requestor must retransmit (RFC 5007 §4.1.4).
mod fake6 {
    use lessor_wire::v6::{ClientServerMessage, DhcpOption, Duid, MessageType, Repr};
    use lessor_wire::v6::{QueryType, RelayMessage};
    use std::collections::HashSet;
    use std::net::{Ipv6Addr, UdpSocket};
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::Arc;
    use std::time::Duration;

    pub const ADDR: Ipv6Addr = Ipv6Addr::new(0x2001, 0xdb8, 1, 0, 0, 0, 0, 7);
    pub const LINK1: Ipv6Addr = Ipv6Addr::new(0x2001, 0xdb8, 1, 0, 0, 0, 0, 1);
    pub const LINK2: Ipv6Addr = Ipv6Addr::new(0x2001, 0xdb8, 3, 0, 0, 0, 0, 1);
    pub const CLIENT: &str = "00:03:00:01:02:00:00:00:00:07";
    pub const ROAMER: &str = "00:03:00:01:02:00:00:00:00:08";

    fn duid(text: &str) -> Duid {
        Duid::parse(&lessor_wire::hex::parse(text).unwrap()).unwrap()
    }

    pub struct Fake {
        pub port: u16,
        stop: Arc<AtomicBool>,
        thread: Option<std::thread::JoinHandle<()>>,
    }

    impl Drop for Fake {
        fn drop(&mut self) {
            self.stop.store(true, Ordering::Relaxed);
            if let Some(t) = self.thread.take() {
                let _ = t.join();
            }
        }
    }

    fn client_data(client: &str, link: Option<Ipv6Addr>) -> DhcpOption {
        let relay = Repr::Relay(RelayMessage {
            msg_type: MessageType::RelayForw,
            hop_count: 0,
            link_address: link.unwrap_or(LINK1),
            peer_address: "fe80::7".parse().unwrap(),
            options: vec![
                DhcpOption::InterfaceId(b"port-7".to_vec()),
                DhcpOption::RemoteId {
                    enterprise_number: 9,
                    remote_id: b"cpe-7".to_vec(),
                },
            ],
        });
        let mut options = vec![DhcpOption::ClientId(duid(client))];
        match link {
            Some(l) => options.push(DhcpOption::IaAddr {
                address: Ipv6Addr::from(u128::from(l) + 0x100),
                preferred_lifetime: 1800,
                valid_lifetime: 3600,
                options: Vec::new(),
            }),
            None => {
                options.push(DhcpOption::IaAddr {
                    address: ADDR,
                    preferred_lifetime: 1800,
                    valid_lifetime: 3600,
                    options: Vec::new(),
                });
                options.push(DhcpOption::IaPrefix {
                    preferred_lifetime: 1800,
                    valid_lifetime: 7200,
                    prefix_length: 56,
                    prefix: "2001:db8:2:100::".parse().unwrap(),
                    options: Vec::new(),
                });
            }
        }
        options.push(DhcpOption::CltTime(30));
        options.push(DhcpOption::LqRelayData {
            peer_address: "2001:db8:1::2".parse().unwrap(),
            relay_message: Box::new(relay),
        });
        DhcpOption::ClientData(options)
    }

    fn answer(query: &[DhcpOption]) -> Vec<DhcpOption> {
        let Some(DhcpOption::LqQuery {
            query_type,
            link_address,
            options,
        }) = query
            .iter()
            .find(|o| matches!(o, DhcpOption::LqQuery { .. }))
        else {
            return vec![DhcpOption::status_code(8, "no LQ_QUERY")];
        };
        let asked_client = options.iter().find_map(|o| match o {
            DhcpOption::ClientId(d) => Some(d.clone()),
            _ => None,
        });
        let asked_addr = options.iter().find_map(|o| match o {
            DhcpOption::IaAddr { address, .. } => Some(*address),
            _ => None,
        });
        match (query_type, asked_addr, asked_client) {
            (QueryType::ByAddress, Some(ADDR), _) => vec![client_data(CLIENT, None)],
            (QueryType::ByAddress, Some(_), _) => Vec::new(),
            (QueryType::ByClientId, _, Some(d)) if d == duid(CLIENT) => {
                vec![client_data(CLIENT, None)]
            }
            (QueryType::ByClientId, _, Some(d)) if d == duid(ROAMER) => {
                if link_address.is_unspecified() {
                    vec![DhcpOption::LqClientLink(vec![LINK1, LINK2])]
                } else {
                    vec![client_data(ROAMER, Some(*link_address))]
                }
            }
            (QueryType::ByClientId, _, Some(_)) => Vec::new(),
            _ => vec![DhcpOption::status_code(8, "missing query option")],
        }
    }

    pub fn start() -> Fake {
        let socket = UdpSocket::bind("[::1]:0").unwrap();
        socket
            .set_read_timeout(Some(Duration::from_millis(50)))
            .unwrap();
        let port = socket.local_addr().unwrap().port();
        let stop = Arc::new(AtomicBool::new(false));
        let stopped = stop.clone();
        let thread = std::thread::spawn(move || {
            let mut seen = HashSet::new();
            let mut buf = [0u8; 2048];
            while !stopped.load(Ordering::Relaxed) {
                let Ok((n, from)) = socket.recv_from(&mut buf) else {
                    continue;
                };
                let Ok(Repr::ClientServer(q)) = Repr::from_bytes(&buf[..n]) else {
                    continue;
                };
                if q.msg_type != MessageType::Leasequery || seen.insert(q.transaction_id) {
                    continue;
                }
                let mut options = vec![DhcpOption::ServerId(duid("00:03:00:01:02:00:00:00:00:aa"))];
                options.extend(
                    q.options
                        .iter()
                        .filter(|o| matches!(o, DhcpOption::ClientId(_)))
                        .cloned(),
                );
                options.extend(answer(&q.options));
                let reply = Repr::ClientServer(ClientServerMessage {
                    msg_type: MessageType::LeasequeryReply,
                    transaction_id: q.transaction_id,
                    options,
                });
                let _ = socket.send_to(&reply.to_vec(), from);
            }
        });
        Fake {
            port,
            stop,
            thread: Some(thread),
        }
    }
}

fn query6(args: &[&str], port: u16) -> Output {
    lessor()
        .arg("query")
        .args(args)
        .args(["--server", &format!("[::1]:{port}"), "--timeout", "20s"])
        // Not port 546, the default: other tests on this host may hold it.
        .args(["--bind", "[::1]:0"])
        .output()
        .unwrap()
}

#[test]
fn query_v6_by_address_client_id_and_client_link() {
    let fake = fake6::start();
    // By address: text, one row per address and prefix, after one retransmission.
    let started = Instant::now();
    let out = query6(&["ip", "2001:db8:1::7"], fake.port);
    let text = stdout(&out);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        started.elapsed() >= Duration::from_millis(900),
        "retransmitted after ~1 s"
    );
    let lines: Vec<&str> = text.lines().collect();
    assert!(
        lines[0].starts_with("BINDING") && lines[0].contains("CLIENT-ID"),
        "{text}"
    );
    assert_eq!(lines.len(), 3, "{text}");
    assert!(lines[1].starts_with("2001:db8:1::7"), "{text}");
    assert!(lines[2].starts_with("2001:db8:2:100::/56"), "{text}");
    for want in [
        "active",
        fake6::CLIENT,
        "30m0s",
        "1h0m0s",
        "30s ago",
        "2001:db8:1::2",
    ] {
        assert!(lines[1].contains(want), "{want} missing: {text}");
    }

    // --json: DUID, lifetimes, CLT_TIME and the relay chain hop by hop.
    let out = query6(&["ip", "2001:db8:1::7", "--json"], fake.port);
    assert_eq!(out.status.code(), Some(0));
    let v: serde_json::Value = serde_json::from_str(stdout(&out).trim()).unwrap();
    assert_eq!(v["family"], "ipv6");
    assert_eq!(v["found"], true);
    assert_eq!(v["server_id"], "000300010200000000aa");
    let c = &v["clients"][0];
    assert_eq!(c["client_id"], "00030001020000000007");
    assert_eq!(c["addresses"][0]["address"], "2001:db8:1::7");
    assert_eq!(c["addresses"][0]["valid_lifetime"], 3600);
    assert_eq!(c["prefixes"][0]["prefix"], "2001:db8:2:100::/56");
    assert_eq!(c["prefixes"][0]["valid_lifetime"], 7200);
    assert_eq!(c["clt_time"], 30);
    assert_eq!(c["cltt_ago"], 30);
    assert!(c["cltt_time"].is_string());
    assert_eq!(c["relay"]["peer_address"], "2001:db8:1::2");
    let hop = &c["relay"]["hops"][0];
    assert_eq!(hop["link_address"], "2001:db8:1::1");
    assert_eq!(hop["interface_id"]["value_text"], "port-7");
    assert_eq!(hop["remote_id"]["enterprise_number"], 9);
    assert_eq!(hop["remote_id"]["value_text"], "cpe-7");

    // By client-id (DUID hex).
    let out = query6(&["client-id", fake6::CLIENT, "--json"], fake.port);
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
    let v: serde_json::Value = serde_json::from_str(stdout(&out).trim()).unwrap();
    assert_eq!(v["clients"][0]["addresses"][0]["address"], "2001:db8:1::7");

    // A client on two links: CLIENT_LINK, then one query per link, one answer.
    let out = query6(&["client-id", fake6::ROAMER, "--json"], fake.port);
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
    let v: serde_json::Value = serde_json::from_str(stdout(&out).trim()).unwrap();
    let links: Vec<&str> = v["clients"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["link"].as_str().unwrap())
        .collect();
    assert_eq!(links, ["2001:db8:1::1", "2001:db8:3::1"], "{v}");
    assert_eq!(
        v["clients"][1]["addresses"][0]["address"],
        "2001:db8:3::101"
    );

    // No bindings: exit 1, state "none"; several VALUEs get a QUERY column.
    let out = query6(&["ip", "2001:db8:1::7", "2001:db8:1::99"], fake.port);
    assert_eq!(out.status.code(), Some(1), "{}", stdout(&out));
    let text = stdout(&out);
    assert!(text.starts_with("QUERY"), "{text}");
    assert!(
        text.lines()
            .any(|l| l.starts_with("2001:db8:1::99") && l.contains("none")),
        "{text}"
    );

    // Keys only bulk can ask, and MACs, are refused before anything is sent.
    let out = query6(&["link-address", "2001:db8:1::1"], fake.port);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("bulk"),
        "{out:?}"
    );
    let out = query6(&["mac", "02:00:00:00:00:01"], fake.port);
    assert_eq!(out.status.code(), Some(2));
}
