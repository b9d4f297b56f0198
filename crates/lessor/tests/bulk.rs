//! `lessor bulk` against a real `lessor serve` on loopback: 50 bindings made by `lessor perf dora`
//! (relayed through giaddr 127.0.0.1 with link-selection and relay-id c0:ff:ee), then fetched
//! over TCP by relay-id in both dialects, with exit codes and JSON checked. Only 127.0.0.1
//! sockets; addresses in 198.51.100.0/24 are payload only.

mod common;

use common::{free_tcp_port, free_udp_ports, lessor, write_config, Server};
use std::path::Path;
use std::process::Output;
use std::time::{Duration, Instant};

/// The tests run `lessor bulk` / `lessor perf bulk` one process after the other, each closing
/// its connection as it exits; the server gives the connection's slot back only once its thread
/// has seen the close, which may be after the next process connected. With the default of 2 per
/// requester, the third run could then be refused (closed at once: "connection closed before
/// the query ended"). The tests are not about that limit.
const ONE_RUN_AFTER_ANOTHER: &str = "max-connections-per-requester = 16\n";

fn start(dir: &Path, ports: (u16, u16), bulk_port: u16) -> Server {
    let extra = format!(
        "\n[leasequery4]\nrequesters = [\"127.0.0.1/32\"]\n\n[leasequery4.bulk]\nlisten = [\"127.0.0.1\"]\nport = {bulk_port}\n{ONE_RUN_AFTER_ANOTHER}"
    );
    let pool = ("198.51.100.0/24", "198.51.100.100-198.51.100.199");
    let config = write_config(dir, ports, pool, &extra);
    Server::start(dir, &config, "bulk leasequery: listening")
}

fn bulk(args: &[&str]) -> Output {
    lessor().arg("bulk").args(args).output().unwrap()
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[test]
fn bulk_fetches_every_binding_of_a_relay_id() {
    let dir = std::env::temp_dir().join(format!("lessor-bulk-{}", std::process::id()));
    let ((port, relay_port), bulk_port) = (free_udp_ports(), free_tcp_port());
    let _server = start(&dir, (port, relay_port), bulk_port);
    let server = format!("127.0.0.1:{port}");
    let bulk_server = format!("127.0.0.1:{bulk_port}");
    let acked = dir.join("acked.txt");

    let out = lessor()
        .args(["perf", "dora", "--server", &server, "--giaddr", "127.0.0.1"])
        .args(["--bind", &format!("127.0.0.1:{relay_port}")])
        .args(["--link-selection", "198.51.100.1", "--clients", "50"])
        .args(["--relay-id", "c0:ff:ee", "--duration", "30s", "--seed", "1"])
        .arg("--acked-out")
        .arg(&acked)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let acked = std::fs::read_to_string(&acked).unwrap();
    let mut want: Vec<&str> = acked
        .lines()
        .map(|l| l.split_once(' ').unwrap().0)
        .collect();
    want.sort();
    want.dedup();
    assert_eq!(want.len(), 50, "{acked}");

    for dialect in ["rfc6926", "draft"] {
        let out = bulk(&[
            "relay-id",
            "c0:ff:ee",
            "--server",
            &bulk_server,
            "--dialect",
            dialect,
            "--json",
            "--timeout",
            "5s",
        ]);
        assert_eq!(out.status.code(), Some(0), "{dialect}: {}", stderr(&out));
        let mut got = Vec::new();
        for line in stdout(&out).lines() {
            let v: serde_json::Value = serde_json::from_str(line).unwrap();
            assert_eq!(v["state"], "active", "{line}");
            assert_eq!(v["relay_id"], "c0ffee", "{line}");
            assert_eq!(v["query"]["kind"], "relay-id");
            assert!(v["lease_remaining"].as_u64().unwrap() > 3500, "{line}");
            got.push(v["address"].as_str().unwrap().to_string());
        }
        got.sort();
        assert_eq!(got, want, "{dialect}");
    }

    // By MAC in both dialects and by IP in the draft's: the one binding.
    let (address, mac) = acked.lines().next().unwrap().split_once(' ').unwrap();
    for dialect in ["rfc6926", "draft"] {
        for (kind, value) in [("mac", mac), ("ip", address)] {
            if kind == "ip" && dialect == "rfc6926" {
                // RFC 6926 has no query by IP address: refused before connecting.
                let out = bulk(&[kind, value, "--server", &bulk_server]);
                assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
                assert!(stderr(&out).contains("no query by IP"), "{}", stderr(&out));
                continue;
            }
            let out = bulk(&[
                kind,
                value,
                "--server",
                &bulk_server,
                "--dialect",
                dialect,
                "--json",
            ]);
            assert_eq!(
                out.status.code(),
                Some(0),
                "{kind} {dialect}: {}",
                stderr(&out)
            );
            let text = stdout(&out);
            assert_eq!(text.lines().count(), 1, "{text}");
            let v: serde_json::Value = serde_json::from_str(text.trim()).unwrap();
            assert_eq!(
                (v["address"].as_str(), v["mac"].as_str()),
                (Some(address), Some(mac))
            );
        }
    }

    // The table: a header, then one row per binding.
    let out = bulk(&["relay-id", "c0:ff:ee", "--server", &bulk_server]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let text = stdout(&out);
    let mut lines = text.lines();
    let header = lines.next().unwrap();
    assert!(
        header.starts_with("ADDRESS") && header.ends_with("RELAY-ID"),
        "{text}"
    );
    let rows: Vec<&str> = lines.collect();
    assert_eq!(rows.len(), 50, "{text}");
    assert!(
        rows.iter()
            .all(|r| r.contains("active") && r.ends_with("c0:ff:ee")),
        "{text}"
    );

    // A relay-id nobody used: nothing found, exit 1, in both dialects.
    for dialect in ["rfc6926", "draft"] {
        let out = bulk(&[
            "relay-id",
            "de:ad",
            "--server",
            &bulk_server,
            "--dialect",
            dialect,
            "--json",
        ]);
        assert_eq!(out.status.code(), Some(1), "{dialect}: {}", stderr(&out));
        let text = stdout(&out);
        if dialect == "draft" {
            // A single DHCPLEASEUNKNOWN: the relay-id was never seen.
            let v: serde_json::Value = serde_json::from_str(text.trim()).unwrap();
            assert_eq!(
                (v["state"].as_str(), v["found"].as_bool()),
                (Some("unknown"), Some(false))
            );
        } else {
            // A DHCPLEASEQUERYDONE alone.
            assert_eq!(text, "");
        }
    }

    // Several keys in one run: each in turn, rows named by a QUERY column; exit 1 when any
    // found nothing.
    let out = bulk(&["relay-id", "c0:ff:ee", "de:ad", "--server", &bulk_server]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let text = stdout(&out);
    let mut lines = text.lines();
    let header = lines.next().unwrap();
    assert!(header.starts_with("QUERY     ADDRESS"), "{text}");
    let rows: Vec<&str> = lines.collect();
    assert_eq!(rows.len(), 50, "{text}");
    assert!(rows.iter().all(|r| r.starts_with("c0:ff:ee  ")), "{text}");
    assert!(
        stderr(&out).contains("relay-id de:ad: no bindings"),
        "{}",
        stderr(&out)
    );
    let out = bulk(&[
        "relay-id",
        "c0:ff:ee",
        "c0ffee",
        "--server",
        &bulk_server,
        "--json",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(stdout(&out).lines().count(), 100);

    // Catch-up (RFC 6926 query-start-time / query-end-time): two clients of relay-id be:ef
    // release their leases; only a query with a time window lists them, as unassigned.
    let out = lessor()
        .args(["perf", "dora", "--server", &server, "--giaddr", "127.0.0.1"])
        .args(["--bind", &format!("127.0.0.1:{relay_port}")])
        .args(["--link-selection", "198.51.100.1", "--clients", "2"])
        .args(["--relay-id", "be:ef", "--seed", "1000", "--release"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let released = |extra: &[&str]| {
        let mut args = vec!["relay-id", "be:ef", "--server", &bulk_server, "--json"];
        args.extend_from_slice(extra);
        bulk(&args)
    };
    // The RELEASEs are not answered: wait until the server has seen them.
    let deadline = Instant::now() + Duration::from_secs(10);
    while released(&[]).status.code() != Some(1) {
        assert!(Instant::now() < deadline, "the releases never took effect");
        std::thread::sleep(Duration::from_millis(50));
    }
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let hour_ago = (now - 3600).to_string();
    let out = released(&["--query-start-time", &hour_ago]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let text = stdout(&out);
    assert_eq!(text.lines().count(), 2, "{text}");
    let mut gone = Vec::new();
    for line in text.lines() {
        // A DHCPLEASEUNASSIGNED carries the address and the state only (RFC 6926 §7.4.1).
        let v: serde_json::Value = serde_json::from_str(line).unwrap();
        assert_eq!(v["state"], "unassigned", "{line}");
        let address = v["address"].as_str().unwrap().to_string();
        assert!(!want.contains(&address.as_str()), "{line}");
        gone.push(address);
    }
    gone.dedup();
    assert_eq!(gone.len(), 2, "{text}");
    // RFC 3339 works as well as epoch seconds; c0:ff:ee's 50 are all within the window.
    let out = bulk(&[
        "relay-id",
        "c0:ff:ee",
        "--server",
        &bulk_server,
        "--query-start-time",
        "2000-01-01T00:00:00Z",
        "--query-end-time",
        &(now + 3600).to_string(),
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(stdout(&out).lines().count(), 51, "{}", stdout(&out));
    // A window before any of them: nothing.
    let out = released(&["--query-end-time", "2000-01-01T00:00:00+01:00"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert_eq!(stdout(&out), "");

    // The draft has no such options: refused before anything is sent.
    let out = released(&["--dialect", "draft", "--query-start-time", &hour_ago]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("--query-start-time and --query-end-time are RFC 6926 options")
            && stderr(&out).contains("--dialect rfc6926"),
        "{}",
        stderr(&out)
    );
    let out = released(&["--query-start-time", "200", "--query-end-time", "100"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("after --query-end-time"),
        "{}",
        stderr(&out)
    );
    let out = released(&["--query-start-time", "yesterday"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("RFC 3339"), "{}", stderr(&out));
}

#[test]
fn no_server_and_bad_arguments_exit_2() {
    let port = free_tcp_port();
    let started = Instant::now();
    let out = lessor()
        .args([
            "bulk",
            "mac",
            "02:00:00:00:00:07",
            "--max-retry",
            "0s",
            "--timeout",
            "1s",
        ])
        .args(["--server", &format!("127.0.0.1:{port}")])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("cannot connect"), "{}", stderr(&out));
    assert!(started.elapsed() < Duration::from_secs(10));

    // Several keys and no server: one error, the other keys are not asked.
    let out = lessor()
        .args(["bulk", "relay-id", "a", "b", "c", "--max-retry", "0s"])
        .args(["--server", &format!("127.0.0.1:{port}")])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(
        stderr(&out).matches("cannot connect").count(),
        1,
        "{}",
        stderr(&out)
    );
    assert!(
        stderr(&out).contains("2 key(s) not asked"),
        "{}",
        stderr(&out)
    );

    let out = lessor()
        .args(["bulk", "mac", "not-hex", "--server", "127.0.0.1"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let out = lessor()
        .args([
            "bulk",
            "relay-id",
            "x",
            "--server",
            "127.0.0.1",
            "--dialect",
            "v6",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "clap refuses the dialect");
}

#[test]
fn bulk_only_server_without_dhcp4_answers_from_the_store() {
    let dir = std::env::temp_dir().join(format!("lessor-bulk-only-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let bulk_port = free_tcp_port();
    // Three leases of relay-id "edge-1" and one of "edge-2", imported from an ISC lease file.
    let mut leases = String::from("authoring-byte-order little-endian;\n");
    for i in 1..=4 {
        let relay = if i == 4 { "edge-2" } else { "edge-1" };
        leases.push_str(&format!(
            "lease 198.18.1.{i} {{\n  starts 1 2025/01/06 00:00:00;\n  ends 1 2099/01/05 00:00:00;\n  \
             cltt 1 2025/01/06 00:00:00;\n  binding state active;\n  \
             hardware ethernet 02:00:00:00:00:0{i};\n  option agent.relay-id \"{relay}\";\n}}\n"
        ));
    }
    let lease_file = dir.join("dhcpd.leases");
    std::fs::write(&lease_file, leases).unwrap();
    let config = dir.join("lessor.toml");
    std::fs::write(
        &config,
        format!(
            "[server]\nstore = \"{}\"\n\n[leasequery4]\nserver-identifier = \"127.0.0.1\"\n\
             requesters = [\"127.0.0.1/32\"]\n\n[leasequery4.bulk]\nlisten = [\"127.0.0.1\"]\n\
             port = {bulk_port}\n",
            dir.join("lessor.db").display()
        ),
    )
    .unwrap();
    let out = lessor()
        .args(["leases", "import", "--isc"])
        .arg(&lease_file)
        .arg("--config")
        .arg(&config)
        .args(["--subnet", "198.18.0.0/15"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let _server = Server::start(&dir, &config, "bulk leasequery: listening");
    let bulk_server = format!("127.0.0.1:{bulk_port}");
    for dialect in ["rfc6926", "draft"] {
        let out = bulk(&[
            "relay-id",
            "edge-1",
            "--server",
            &bulk_server,
            "--dialect",
            dialect,
            "--json",
        ]);
        assert_eq!(out.status.code(), Some(0), "{dialect}: {}", stderr(&out));
        let mut got: Vec<String> = stdout(&out)
            .lines()
            .map(|l| {
                let v: serde_json::Value = serde_json::from_str(l).unwrap();
                v["address"].as_str().unwrap().to_owned()
            })
            .collect();
        got.sort();
        assert_eq!(got, ["198.18.1.1", "198.18.1.2", "198.18.1.3"], "{dialect}");
    }
}

#[test]
fn perf_bulk_counts_every_binding_in_both_dialects() {
    let dir = std::env::temp_dir().join(format!("lessor-perf-bulk-{}", std::process::id()));
    let ((port, relay_port), bulk_port) = (free_udp_ports(), free_tcp_port());
    let _server = start(&dir, (port, relay_port), bulk_port);
    let server = format!("127.0.0.1:{port}");
    let bulk_server = format!("127.0.0.1:{bulk_port}");

    let out = lessor()
        .args(["perf", "dora", "--server", &server, "--giaddr", "127.0.0.1"])
        .args(["--bind", &format!("127.0.0.1:{relay_port}")])
        .args(["--link-selection", "198.51.100.1", "--clients", "30"])
        .args(["--relay-id", "c0:ff:ee", "--duration", "30s", "--seed", "2"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));

    let perf_bulk = |value: &str, dialect: &str, repeat: &str| {
        lessor()
            .args(["perf", "bulk", "relay-id", value, "--server", &bulk_server])
            .args(["--dialect", dialect, "--repeat", repeat, "--json"])
            .output()
            .unwrap()
    };
    for dialect in ["rfc6926", "draft"] {
        let out = perf_bulk("c0:ff:ee", dialect, "3");
        assert_eq!(out.status.code(), Some(0), "{dialect}: {}", stderr(&out));
        let v: serde_json::Value = serde_json::from_str(stdout(&out).trim()).unwrap();
        assert_eq!(v["dialect"], dialect);
        assert_eq!(v["queries"], 3);
        assert_eq!(v["bindings"], 90, "{v}");
        for q in v["per_query"].as_array().unwrap() {
            assert_eq!(q["bindings"], 30, "{v}");
        }
        // Draft: the first binding of each query is ACTIVE, the others DATA.
        let (active, data) = (v["active"].as_u64(), v["data"].as_u64());
        match dialect {
            "draft" => assert_eq!((active, data), (Some(3), Some(87)), "{v}"),
            _ => assert_eq!((active, data), (Some(90), Some(0)), "{v}"),
        }
        assert!(v["bytes"].as_u64().unwrap() > 90 * 240, "{v}");
        assert!(v["bindings_per_s"].as_f64().unwrap() > 0.0, "{v}");
    }

    // An unknown relay-id: RFC 6926 ends with DONE and nothing (success, 0 bindings); the draft
    // answers a single DHCPLEASEUNKNOWN, which is not DONE: exit 1.
    let out = perf_bulk("text:nobody", "rfc6926", "1");
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let v: serde_json::Value = serde_json::from_str(stdout(&out).trim()).unwrap();
    assert_eq!(v["bindings"], 0);
    let out = perf_bulk("text:nobody", "draft", "1");
    assert_eq!(out.status.code(), Some(1), "{}", stdout(&out));
    assert!(stderr(&out).contains("not found"), "{}", stderr(&out));

    // RFC 6926 has no query by IP: refused before connecting.
    let out = lessor()
        .args([
            "perf",
            "bulk",
            "ip",
            "198.51.100.100",
            "--server",
            &bulk_server,
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
}

/// A DHCPv6 bulk leasequery responder (RFC 5460) on [::1] in a thread: by relay-id it streams
/// three clients (REPLY, DATA, DATA, DONE), the frames cut in 3-octet writes; by link-address it
/// answers NotConfigured. One connection per query, as `lessor bulk` makes them.
fn fake_bulk6() -> (u16, std::thread::JoinHandle<()>) {
    use lessor_wire::v6::{ClientServerMessage, DhcpOption, Duid, MessageType, QueryType, Repr};
    use std::io::{Read, Write};
    use std::net::{Ipv6Addr, TcpListener};

    let listener = TcpListener::bind("[::1]:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let thread = std::thread::spawn(move || {
        // Three queries in the test; the listener goes with the thread.
        for _ in 0..3 {
            let Ok((mut conn, _)) = listener.accept() else {
                return;
            };
            conn.set_read_timeout(Some(Duration::from_secs(10)))
                .unwrap();
            let mut len = [0u8; 2];
            conn.read_exact(&mut len).unwrap();
            let mut body = vec![0u8; usize::from(u16::from_be_bytes(len))];
            conn.read_exact(&mut body).unwrap();
            let Repr::ClientServer(q) = Repr::from_bytes(&body).unwrap() else {
                panic!("relay message")
            };
            let xid = q.transaction_id;
            let requestor = q.options[0].clone();
            let query_type = q.options.iter().find_map(|o| match o {
                DhcpOption::LqQuery { query_type, .. } => Some(*query_type),
                _ => None,
            });
            let client = |n: u16| {
                DhcpOption::ClientData(vec![
                    DhcpOption::ClientId(Duid::Ll {
                        hardware_type: 1,
                        link_layer_address: vec![2, 0, 0, 0, 0, n as u8],
                    }),
                    DhcpOption::IaAddr {
                        address: Ipv6Addr::new(0x2001, 0xdb8, 1, 0, 0, 0, 0, n),
                        preferred_lifetime: 1800,
                        valid_lifetime: 3600,
                        options: Vec::new(),
                    },
                    DhcpOption::CltTime(60),
                ])
            };
            let msg = |t, options| {
                Repr::ClientServer(ClientServerMessage {
                    msg_type: t,
                    transaction_id: xid,
                    options,
                })
                .to_vec()
            };
            let ids = vec![DhcpOption::ServerId(Duid::Uuid([9; 16])), requestor];
            let messages = if query_type == Some(QueryType::ByRelayId) {
                let mut first = ids.clone();
                first.push(client(1));
                vec![
                    msg(MessageType::LeasequeryReply, first),
                    msg(MessageType::LeasequeryData, vec![client(2)]),
                    msg(MessageType::LeasequeryData, vec![client(3)]),
                    msg(MessageType::LeasequeryDone, vec![]),
                ]
            } else {
                let mut only = ids.clone();
                only.push(DhcpOption::status_code(9, "no such link"));
                vec![msg(MessageType::LeasequeryReply, only)]
            };
            let mut stream = Vec::new();
            for m in messages {
                stream.extend_from_slice(&(m.len() as u16).to_be_bytes());
                stream.extend_from_slice(&m);
            }
            for piece in stream.chunks(3) {
                if conn.write_all(piece).is_err() {
                    break;
                }
            }
        }
    });
    (port, thread)
}

#[test]
fn bulk_v6_by_relay_id_streams_every_binding_and_failures_exit_1() {
    let (port, thread) = fake_bulk6();
    let server = format!("[::1]:{port}");
    let out = bulk(&[
        "relay-id",
        "0002000000090102",
        "--server",
        &server,
        "--json",
        "--timeout",
        "10s",
    ]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}{}",
        stdout(&out),
        stderr(&out)
    );
    let lines: Vec<serde_json::Value> = stdout(&out)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 3, "{}", stdout(&out));
    for (i, v) in lines.iter().enumerate() {
        assert_eq!(
            v["addresses"][0]["address"],
            format!("2001:db8:1::{}", i + 1)
        );
        assert_eq!(v["query"]["kind"], "relay-id");
        assert_eq!(v["query"]["value"], "0002000000090102");
        assert_eq!(v["server_id"], "0004".to_string() + &"09".repeat(16));
        assert_eq!(v["cltt_ago"], 60);
    }
    // Text: a header, then a row per address as it arrives.
    let out = bulk(&["relay-id", "0002000000090102", "--server", &server]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}{}",
        stdout(&out),
        stderr(&out)
    );
    let text = stdout(&out);
    let rows: Vec<&str> = text.lines().collect();
    assert!(
        rows[0].starts_with("BINDING") && rows[0].contains("CLIENT-ID"),
        "{text}"
    );
    assert_eq!(rows.len(), 4, "{text}");
    for want in [
        "2001:db8:1::3",
        "01:02:00:00:00:00:03",
        "30m0s",
        "1h0m0s",
        "1m0s ago",
    ] {
        assert!(rows[3].contains(want), "{want} missing: {text}");
    }
    let out = bulk(&[
        "link-address",
        "2001:db8:9::1",
        "--server",
        &server,
        "--timeout",
        "10s",
    ]);
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}{}",
        stdout(&out),
        stderr(&out)
    );
    assert!(
        stderr(&out).contains("NotConfigured (9): no such link"),
        "{}",
        stderr(&out)
    );
    thread.join().unwrap();
}

/// `lessor serve` with [dhcp6] and [leasequery6.bulk] on [::1]; 300 relayed IA_NA bindings made
/// by `lessor perf sarr` through relay-id 00:02:00:00:ab:11:0b:01; then `lessor perf bulk` over
/// DHCPv6 counts them, three queries on one connection. Only [::1] sockets; 2001:db8:1::/64 is
/// payload only.
#[test]
fn perf_bulk_v6_counts_every_binding_of_a_relay_id() {
    use std::net::UdpSocket;
    let dir = std::env::temp_dir().join(format!("lessor-perf-bulk6-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let free6 = || {
        UdpSocket::bind("[::1]:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port()
    };
    let (port, relay_port) = (free6(), free6());
    let bulk_port = std::net::TcpListener::bind("[::1]:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let config = dir.join("lessor.toml");
    std::fs::write(
        &config,
        format!(
            r#"[server]
store = "{store}"

[dhcp6]
server-duid = "00:02:00:00:ab:11:01:02:03:04"
listen = ["::1"]
port = {port}

[[dhcp6.link]]
prefix = "2001:db8:1::/64"
pools = ["2001:db8:1::1000-2001:db8:1::1fff"]

[leasequery6]
requesters = ["::1/128"]

[leasequery6.bulk]
listen = ["::1"]
port = {bulk_port}
{ONE_RUN_AFTER_ANOTHER}"#,
            store = dir.join("lessor.db").display()
        ),
    )
    .unwrap();
    let _server = Server::start(&dir, &config, "dhcp6: listening on");
    let out = lessor()
        .args(["perf", "sarr", "--server", &format!("[::1]:{port}")])
        .args(["--bind", &format!("[::1]:{relay_port}")])
        .args(["--link-address", "2001:db8:1::1", "--clients", "300"])
        .args(["--relay-id", "00:02:00:00:ab:11:0b:01", "--in-flight", "32"])
        .args(["--duration", "30s", "--seed", "6", "--json"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let v: serde_json::Value = serde_json::from_str(stdout(&out).trim()).unwrap();
    assert_eq!(v["completed"], 300, "{v}");

    let bulk_server = format!("[::1]:{bulk_port}");
    let perf_bulk = |kind: &str, value: &str, repeat: &str| {
        lessor()
            .args(["perf", "bulk", kind, value, "--server", &bulk_server])
            .args(["--repeat", repeat, "--json"])
            .output()
            .unwrap()
    };
    let out = perf_bulk("relay-id", "00020000ab110b01", "3");
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let v: serde_json::Value = serde_json::from_str(stdout(&out).trim()).unwrap();
    assert_eq!(
        (v["family"].as_str(), v["dialect"].as_str()),
        (Some("v6"), Some("v6"))
    );
    assert_eq!(v["by"], "relay-id");
    assert_eq!(v["queries"], 3);
    assert_eq!(v["bindings"], 900, "{v}");
    for q in v["per_query"].as_array().unwrap() {
        assert_eq!(q["bindings"], 300, "{v}");
    }
    // Each query: its first binding in the LEASEQUERY-REPLY, the others in LEASEQUERY-DATA.
    assert_eq!(
        (v["active"].as_u64(), v["data"].as_u64()),
        (Some(3), Some(897)),
        "{v}"
    );
    // Every binding came with its relay data (asked for, as `lessor bulk` asks).
    assert!(v["bytes"].as_u64().unwrap() > 900 * 100, "{v}");

    // The whole link, by link-address: the same 300.
    let out = lessor()
        .args(["perf", "bulk", "link-address", "2001:db8:1::1"])
        .args(["--server", &bulk_server, "--json"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let v: serde_json::Value = serde_json::from_str(stdout(&out).trim()).unwrap();
    assert_eq!(v["bindings"], 300, "{v}");

    // An unknown relay-id: a REPLY without CLIENT_DATA, which is not DONE: exit 1.
    let out = perf_bulk("relay-id", "00020000ab110bff", "1");
    assert_eq!(out.status.code(), Some(1), "{}", stdout(&out));
    assert!(stderr(&out).contains("not found"), "{}", stderr(&out));
    // DHCPv4 options with a DHCPv6 server: refused before connecting.
    let out = lessor()
        .args(["perf", "bulk", "relay-id", "00020000ab110b01"])
        .args(["--server", &bulk_server, "--dialect", "draft"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
}
