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
