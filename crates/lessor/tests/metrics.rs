//! `[metrics]` of a real `lessor serve` on loopback: DORAs by `lessor perf dora` and queries by
//! `lessor perf leasequery`, then a scrape of /metrics whose counters must equal what the
//! generators sent and got. Only 127.0.0.1 sockets; addresses in 198.51.100.0/24 are payload
//! only.

mod common;

use common::{free_tcp_port, free_udp_ports, lessor, write_config, Server};
use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::time::Duration;

const CLIENTS: u64 = 20;
const QUERIES: u64 = 30;

fn start(dir: &Path, ports: (u16, u16), metrics: u16) -> Server {
    let extra = format!(
        "\n[leasequery4]\nrequesters = [\"127.0.0.1/32\"]\nreply-to-source-port = \
         [\"127.0.0.1/32\"]\n\n[metrics]\nlisten = \"127.0.0.1:{metrics}\"\n"
    );
    let pool = ("198.51.100.0/24", "198.51.100.100-198.51.100.199");
    let config = write_config(dir, ports, pool, &extra);
    Server::start(dir, &config, "metrics: listening on http://127.0.0.1")
}

fn get(port: u16, request: &str) -> String {
    let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    s.write_all(request.as_bytes()).unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).unwrap();
    out
}

/// The samples of a scrape: "name{labels}" -> value.
fn scrape(port: u16) -> BTreeMap<String, f64> {
    let response = get(port, "GET /metrics HTTP/1.1\r\nHost: lessor\r\n\r\n");
    let (head, body) = response.split_once("\r\n\r\n").unwrap();
    assert!(head.starts_with("HTTP/1.1 200 OK"), "{head}");
    assert!(head.contains("text/plain; version=0.0.4"), "{head}");
    body.lines()
        .filter(|l| !l.starts_with('#'))
        .map(|l| {
            let (series, value) = l.rsplit_once(' ').unwrap();
            (series.to_string(), value.parse().unwrap())
        })
        .collect()
}

fn json(out: &std::process::Output) -> serde_json::Value {
    assert!(
        out.status.success(),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn a_scrape_counts_what_the_generators_sent() {
    let dir = std::env::temp_dir().join(format!("lessor-metrics-{}", std::process::id()));
    let (port, relay_port) = free_udp_ports();
    let metrics = free_tcp_port();
    let _server = start(&dir, (port, relay_port), metrics);
    let server = format!("127.0.0.1:{port}");

    let before = scrape(metrics);
    assert_eq!(
        before["lessor_dhcp4_sent_messages_total{type=\"dhcpack\"}"],
        0.0
    );
    assert_eq!(
        before["lessor_dhcp4_subnet_addresses{subnet=\"198.51.100.0/24\"}"],
        100.0
    );

    let dora = json(
        &lessor()
            .args(["perf", "dora", "--server", &server, "--giaddr", "127.0.0.1"])
            .args(["--bind", &format!("127.0.0.1:{relay_port}")])
            .args(["--link-selection", "198.51.100.1"])
            .args(["--clients", &CLIENTS.to_string(), "--duration", "30s"])
            .args(["--seed", "7", "--json"])
            .output()
            .unwrap(),
    );
    assert_eq!(dora["completed"], CLIENTS, "{dora}");
    let lq = json(
        &lessor()
            .args(["perf", "leasequery", "--server", &server])
            .args(["--giaddr", "127.0.0.1", "--by", "ip"])
            .args(["--addresses", "198.51.100.100-198.51.100.199"])
            .args([
                "--queries",
                &QUERIES.to_string(),
                "--timeout",
                "2s",
                "--json",
            ])
            .output()
            .unwrap(),
    );
    assert_eq!(lq["sent"], QUERIES, "{lq}");

    let m = scrape(metrics);
    let v = |series: &str| {
        *m.get(series)
            .unwrap_or_else(|| panic!("{series} not in the scrape: {m:#?}"))
    };
    let retransmissions = dora["retransmissions"].as_u64().unwrap() as f64;
    let discovers = v("lessor_dhcp4_received_messages_total{type=\"dhcpdiscover\"}");
    let requests = v("lessor_dhcp4_received_messages_total{type=\"dhcprequest\"}");
    let offers = v("lessor_dhcp4_sent_messages_total{type=\"dhcpoffer\"}");
    let acks = v("lessor_dhcp4_sent_messages_total{type=\"dhcpack\"}");
    let n = CLIENTS as f64;
    if retransmissions == 0.0 {
        // Exact: one DISCOVER, one OFFER, one REQUEST, one ACK per client.
        assert_eq!((discovers, offers, requests, acks), (n, n, n, n), "{m:#?}");
    } else {
        // A slow machine made perf send again: each message sent is still received once.
        assert_eq!(discovers + requests, 2.0 * n + retransmissions, "{dora}");
        assert!(acks >= n && offers >= n, "{m:#?}");
    }
    // What the DHCP engine got, the sockets received and the router routed.
    assert_eq!(
        v("lessor_dhcp4_routed_messages_total{to=\"dhcp\"}"),
        discovers + requests
    );
    assert_eq!(
        v("lessor_udp4_received_datagrams_total"),
        discovers + requests + QUERIES as f64
    );
    assert_eq!(
        v("lessor_udp4_sent_datagrams_total{destination=\"relay\"}"),
        offers + acks + QUERIES as f64,
        "replies to the relay (perf) and to the requester's source port"
    );

    // Leasequery: every query received, counted by key and by requester, answered by kind.
    let q = QUERIES as f64;
    assert_eq!(v("lessor_leasequery4_received_queries_total"), q);
    assert_eq!(v("lessor_leasequery4_queries_total{key=\"ip\"}"), q);
    assert_eq!(
        v("lessor_leasequery4_requester_queries_total{requester=\"127.0.0.1\"}"),
        q
    );
    assert_eq!(
        v("lessor_leasequery4_requester_rate_limited_total{requester=\"127.0.0.1\"}"),
        0.0
    );
    let active = v("lessor_leasequery4_sent_messages_total{type=\"dhcpleaseactive\"}");
    let unassigned = v("lessor_leasequery4_sent_messages_total{type=\"dhcpleaseunassigned\"}");
    assert_eq!(active, lq["active"].as_u64().unwrap() as f64, "{lq}");
    assert_eq!(
        unassigned,
        lq["unassigned"].as_u64().unwrap() as f64,
        "{lq}"
    );
    assert_eq!(active + unassigned, q, "{lq}");

    // The store: the ACKed bindings committed; the pool shows them.
    assert!(v("lessor_store_commits_total") >= 1.0);
    assert_eq!(
        v("lessor_store_commit_duration_seconds_count"),
        v("lessor_store_commits_total")
    );
    assert_eq!(
        v("lessor_dhcp4_subnet_assigned_addresses{subnet=\"198.51.100.0/24\"}"),
        n
    );
    assert_eq!(v("lessor_dhcp4_bindings{state=\"active\"}"), n);
    assert!(v("process_start_time_seconds") > 1.6e9);

    // Only GET of the path.
    assert!(get(metrics, "GET /other HTTP/1.1\r\n\r\n").starts_with("HTTP/1.1 404"));
    assert!(get(metrics, "PUT /metrics HTTP/1.1\r\n\r\n").starts_with("HTTP/1.1 405"));
}

#[test]
fn a_metrics_port_already_taken_stops_the_start() {
    let dir = std::env::temp_dir().join(format!("lessor-metrics-taken-{}", std::process::id()));
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let metrics = taken.local_addr().unwrap().port();
    let ports = free_udp_ports();
    let extra = format!("\n[metrics]\nlisten = \"127.0.0.1:{metrics}\"\n");
    let pool = ("198.51.100.0/24", "198.51.100.100-198.51.100.199");
    let config = write_config(&dir, ports, pool, &extra);
    let out = lessor()
        .arg("serve")
        .arg("--config")
        .arg(&config)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{stderr}");
    assert!(
        stderr.contains(&format!("metrics: cannot listen on 127.0.0.1:{metrics}"))
            && stderr.contains("refusing to start"),
        "{stderr}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}
