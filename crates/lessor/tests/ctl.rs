//! `lessor ctl` against a real `lessor serve` on loopback with `[control]`: bindings made by
//! `lessor perf dora` (relayed through giaddr 127.0.0.1, relay-id c0:ff:ee), then found, listed,
//! queried, deleted, counted, a config tested and the server stopped, over the control socket;
//! the HTTP API refuses without its token and with a wrong one, and answers with it. Only
//! 127.0.0.1 sockets; addresses in 198.51.100.0/24 are payload only.

mod common;

use common::{free_tcp_port, free_udp_ports, lessor, wait_for_log, write_config, Server};
use serde_json::Value;
use std::io::{Read, Write};
use std::path::Path;
use std::process::Output;
use std::time::{Duration, Instant};

fn ctl(socket: &Path, args: &[&str]) -> Output {
    lessor()
        .arg("ctl")
        .arg("--socket")
        .arg(socket)
        .args(args)
        .output()
        .unwrap()
}

fn json(o: &Output) -> Value {
    assert!(
        o.status.success(),
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    serde_json::from_slice(&o.stdout).unwrap()
}

/// One raw HTTP POST; the status and the body.
fn post(port: u16, path: &str, auth: Option<&str>, body: &str) -> (u16, String) {
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let auth = auth.map_or(String::new(), |t| format!("Authorization: Bearer {t}\r\n"));
    write!(
        s,
        "POST {path} HTTP/1.1\r\nHost: x\r\n{auth}Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).unwrap();
    let status = out.split(' ').nth(1).unwrap().parse().unwrap();
    let body = out.split_once("\r\n\r\n").unwrap().1.to_owned();
    (status, body)
}

#[test]
fn ctl_finds_lists_queries_deletes_and_stops_a_running_server() {
    let dir = std::env::temp_dir().join(format!("lessor-ctl-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let (port, relay_port) = free_udp_ports();
    let http_port = free_tcp_port();
    let socket = dir.join("control.sock");
    std::fs::write(dir.join("token"), "s3cret-token\n").unwrap();
    let extra = format!(
        "\n[control]\nsocket = \"{}\"\nhttp-listen = \"127.0.0.1:{http_port}\"\ntoken-file = \"token\"\n",
        socket.display()
    );
    let pool = ("198.51.100.0/24", "198.51.100.100-198.51.100.199");
    let config = write_config(&dir, (port, relay_port), pool, &extra);
    let server = Server::start(&dir, &config, "control: HTTP API on");

    // Not running there: said so.
    let o = ctl(&dir.join("nope.sock"), &["statistics"]);
    assert_eq!(o.status.code(), Some(2));
    let e = String::from_utf8_lossy(&o.stderr);
    assert!(e.contains("is `lessor serve` running"), "{e}");

    let acked = dir.join("acked.txt");
    let out = lessor()
        .args(["perf", "dora", "--server", &format!("127.0.0.1:{port}")])
        .args([
            "--giaddr",
            "127.0.0.1",
            "--bind",
            &format!("127.0.0.1:{relay_port}"),
        ])
        .args(["--link-selection", "198.51.100.1", "--clients", "3"])
        .args(["--relay-id", "c0:ff:ee", "--duration", "30s", "--seed", "1"])
        .arg("--acked-out")
        .arg(&acked)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    // lease-list: the three bindings, in pages of two.
    let page = json(&ctl(&socket, &["--json", "lease-list", "--limit", "2"]));
    assert_eq!(page["leases"].as_array().unwrap().len(), 2, "{page}");
    let next = page["next"].as_str().unwrap().to_owned();
    let rest = json(&ctl(&socket, &["--json", "lease-list", "--cursor", &next]));
    assert_eq!(rest["leases"].as_array().unwrap().len(), 1, "{rest}");
    assert_eq!(rest["next"], Value::Null);
    let first = page["leases"][0].clone();
    let address = first["address"].as_str().unwrap().to_owned();
    let mac = first["mac"].as_str().unwrap().to_owned();
    assert_eq!(first["state"], "active");

    // The text table, as `lessor leases list` prints it.
    let o = ctl(&socket, &["lease-list"]);
    let table = String::from_utf8_lossy(&o.stdout);
    assert!(
        table.contains("ADDRESS") && table.contains(&address) && table.contains("3 binding(s)"),
        "{table}"
    );

    // lease-get by MAC, by relay-id, by address.
    let got = json(&ctl(&socket, &["--json", "lease-get", "--mac", &mac]));
    assert_eq!(got["leases"][0]["address"], address.as_str(), "{got}");
    let got = json(&ctl(
        &socket,
        &["--json", "lease-get", "--relay-id", "c0:ff:ee"],
    ));
    assert_eq!(got["leases"].as_array().unwrap().len(), 3, "{got}");
    let got = json(&ctl(
        &socket,
        &["--json", "lease-get", "--address", &address],
    ));
    assert_eq!(got["leases"][0]["mac"], mac.as_str());

    // leasequery, as the responder answers.
    let q = json(&ctl(
        &socket,
        &["--json", "leasequery", "--address", &address],
    ));
    assert_eq!(q["answer"], "active", "{q}");
    assert_eq!(q["binding"]["mac"], mac.as_str());
    let q = json(&ctl(
        &socket,
        &["--json", "leasequery", "--relay-id", "c0:ff:ee"],
    ));
    assert_eq!(q["answer"], "active", "{q}");
    assert_eq!(q["associated"].as_array().unwrap().len(), 2, "{q}");
    let q = json(&ctl(
        &socket,
        &["--json", "leasequery", "--address", "198.51.100.200"],
    ));
    assert_eq!(q["answer"], "unknown", "{q}");

    // statistics: the engine's counters.
    let s = json(&ctl(&socket, &["--json", "statistics"]));
    assert!(s["counters"]["dhcp4"].is_object(), "{s}");
    assert_eq!(s["store"]["bindings4"], 3, "{s}");

    // lease-delete: gone, durable, and leasequery says so.
    let d = json(&ctl(&socket, &["--json", "lease-delete", &address]));
    assert_eq!(d["deleted"]["address"], address.as_str(), "{d}");
    let q = json(&ctl(
        &socket,
        &["--json", "leasequery", "--address", &address],
    ));
    assert_eq!(q["answer"], "unassigned", "{q}");
    let o = ctl(&socket, &["lease-delete", &address]);
    assert_eq!(o.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&o.stderr).contains("no binding at"));

    // config-test: the running file, and a broken one with its location.
    let t = json(&ctl(&socket, &["--json", "config-test"]));
    assert_eq!(t["valid"], true, "{t}");
    let broken = dir.join("broken.toml");
    std::fs::write(&broken, "[dhcp4]\nlease-time = \"forever\"\n").unwrap();
    let o = ctl(&socket, &["config-test", broken.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1));
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(
        text.contains("broken.toml:2") && text.contains("does not validate"),
        "{text}"
    );

    // reload: the running file applied (and logged by the server); a file that does not
    // validate refused with its location, the running config kept.
    let o = ctl(&socket, &["reload"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(
        String::from_utf8_lossy(&o.stdout).contains("applied"),
        "{}",
        String::from_utf8_lossy(&o.stdout)
    );
    let log = dir.join("serve.log");
    wait_for_log(
        &log,
        "reload: applied",
        Instant::now() + Duration::from_secs(10),
    );
    let running = std::fs::read_to_string(&config).unwrap();
    std::fs::write(
        &config,
        format!("{running}\n[dhcp4.rate-limit]\nper-relay = \"many\"\n"),
    )
    .unwrap();
    let o = ctl(&socket, &["reload"]);
    assert_eq!(o.status.code(), Some(1));
    let e = String::from_utf8_lossy(&o.stderr);
    assert!(e.contains("reload:") && e.contains(".toml:"), "{e}");
    wait_for_log(
        &log,
        "reload: refused",
        Instant::now() + Duration::from_secs(10),
    );
    std::fs::write(&config, running).unwrap();

    // HTTP: 401 without the token and with a wrong one; the same commands with it.
    let (status, _) = post(http_port, "/v1/statistics", None, "");
    assert_eq!(status, 401);
    let (status, _) = post(http_port, "/v1/statistics", Some("wrong"), "");
    assert_eq!(status, 401);
    // 401 comes before a byte of the body is read; a body over 16 KiB is 413.
    let mut s = std::net::TcpStream::connect(("127.0.0.1", http_port)).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    s.write_all(b"POST /v1/statistics HTTP/1.1\r\nContent-Length: 9999\r\n\r\n")
        .unwrap();
    let mut head = [0u8; 12];
    s.read_exact(&mut head).unwrap();
    assert_eq!(&head, b"HTTP/1.1 401");
    let big = format!("{{\"mac\":\"{}\"}}", "0".repeat(16 * 1024));
    let (status, answer) = post(http_port, "/v1/lease-get", Some("s3cret-token"), &big);
    assert_eq!(status, 413, "{answer}");
    assert!(answer.contains("\"ok\":false"), "{answer}");
    let body = format!("{{\"mac\":\"{mac}\"}}");
    let (status, answer) = post(http_port, "/v1/lease-get", Some("s3cret-token"), &body);
    assert_eq!(status, 200, "{answer}");
    let o = lessor()
        .args(["ctl", "--http", &format!("http://127.0.0.1:{http_port}")])
        .arg("--token-file")
        .arg(dir.join("token"))
        .args(["--json", "lease-get", "--relay-id", "c0:ff:ee"])
        .output()
        .unwrap();
    assert_eq!(json(&o)["leases"].as_array().unwrap().len(), 2);

    // shutdown: the server stops as on SIGTERM, its socket gone.
    json(&ctl(&socket, &["--json", "shutdown"]));
    wait_for_log(
        &dir.join("serve.log"),
        "stopped",
        Instant::now() + Duration::from_secs(20),
    );
    let log = std::fs::read_to_string(dir.join("serve.log")).unwrap();
    assert!(log.contains("stopping: asked by the control API"), "{log}");
    assert!(!socket.exists());
    drop(server);
}
