//! `lessor relay` and `lessor check` on a relay file, as an operator runs them: a relay on the
//! loopback interface (127.0.0.1 only) forwarding to a UDP socket of the test that plays the
//! server, then asked over its control socket. Replies and gleaning need a server upstream of
//! another interface: tests/e2e/test_relay_v4.py.

mod common;

use common::{free_udp_port, lessor, wait_for_log};
use std::net::UdpSocket;
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

fn example() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../examples/relay.toml")
}

#[test]
fn check_reads_a_relay_file_by_its_relay_table() {
    let out = lessor().arg("check").arg(example()).output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert!(stdout.contains("dhcp4: relays eth1 (giaddr its first IPv4 address), eth2 (giaddr 198.51.100.1) to 192.0.2.1:67, 192.0.2.2:67, port 67, max-hops 4"), "{stdout}");
    assert!(stdout.contains("dhcp6: relays eth1 (interface-id \"eth1\", link-address its first global address, else ::, remote-id \"{hostname}:{interface}\" (enterprise 32473)), eth2 (interface-id \"olt-3/1/7\", link-address 2001:db8:1::1, "), "{stdout}");
    assert!(
        stdout.contains("to [2001:db8::547]:547, [2001:db8::548]:547, port 547"),
        "{stdout}"
    );
}

#[test]
fn check_locates_a_relay_files_mistakes() {
    let dir = std::env::temp_dir().join(format!("lessor-relay-check-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let bad = dir.join("relay.toml");
    let text = std::fs::read_to_string(example())
        .unwrap()
        .replace("max-hops = 4", "max-hops = 40");
    std::fs::write(&bad, text).unwrap();
    let out = lessor().arg("check").arg(&bad).output().unwrap();
    std::fs::remove_dir_all(&dir).ok();
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(
        stderr.contains("relay.toml:12:1: relay.dhcp4.max-hops: 40 is outside 1..=16"),
        "{stderr}"
    );
}

#[test]
fn relay_without_config_or_question_is_a_usage_error() {
    let out = lessor().arg("relay").output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let out = lessor()
        .args(["relay", "--show", "--control", "/nonexistent/relay.sock"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("/nonexistent/relay.sock"));
}

struct Running {
    child: Child,
    dir: PathBuf,
}

impl Running {
    /// SIGTERM, and the relay must exit 0.
    fn terminate(&mut self) {
        let pid = self.child.id().to_string();
        assert!(std::process::Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .unwrap()
            .success());
        let status = self.child.wait().unwrap();
        assert!(status.success(), "{status}");
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        self.child.kill().ok();
        self.child.wait().ok();
        std::fs::remove_dir_all(&self.dir).ok();
    }
}

fn discover() -> Vec<u8> {
    let mut m = vec![0u8; 240];
    m[0] = 1;
    m[1] = 1;
    m[2] = 6;
    m[4..8].copy_from_slice(&[0, 0, 0x12, 0x34]);
    m[28..34].copy_from_slice(&[2, 0, 0, 0, 0, 1]);
    m[236..240].copy_from_slice(&[99, 130, 83, 99]);
    m.extend_from_slice(&[53, 1, 1, 255]);
    m.resize(300, 0);
    m
}

fn option(message: &[u8], code: u8) -> Option<Vec<u8>> {
    let mut pos = 240;
    while pos + 1 < message.len() && message[pos] != 255 {
        if message[pos] == 0 {
            pos += 1;
            continue;
        }
        let len = usize::from(message[pos + 1]);
        if message[pos] == code {
            return Some(message[pos + 2..pos + 2 + len].to_vec());
        }
        pos += 2 + len;
    }
    None
}

/// `lessor relay --config CONFIG`, its log in `dir`/relay.log; `dir` goes when it is dropped.
fn spawn(dir: &Path, config: &Path) -> (Running, PathBuf) {
    let log = dir.join("relay.log");
    let child = lessor()
        .args(["relay", "--config"])
        .arg(config)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&log).unwrap())
        .spawn()
        .unwrap();
    let running = Running {
        child,
        dir: dir.to_owned(),
    };
    (running, log)
}

/// `lessor relay --show [--json] --config CONFIG`, its output (it must succeed).
fn show(config: &Path, json: bool) -> String {
    let mut cmd = lessor();
    cmd.args(["relay", "--show"]);
    if json {
        cmd.arg("--json");
    }
    let out = cmd.arg("--config").arg(config).output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// The relay-id the relay generated and kept in `dir`/state, as octets.
fn kept_relay_id(dir: &Path) -> Vec<u8> {
    std::fs::read_to_string(dir.join("state/relay-id"))
        .unwrap()
        .trim()
        .split(':')
        .map(|h| u8::from_str_radix(h, 16).unwrap())
        .collect()
}

fn start(dir: &Path, port: u16, server: u16) -> (Running, PathBuf) {
    std::fs::create_dir_all(dir).unwrap();
    let config = dir.join("relay.toml");
    std::fs::write(
        &config,
        format!(
            "[relay]\nstate-dir = \"state\"\n\n[relay.dhcp4]\nservers = [\"127.0.0.1:{server}\"]\nport = {port}\nremote-id = \"{{interface}}-r\"\n\n[[relay.dhcp4.interface]]\nname = \"lo\"\ngiaddr = \"127.0.0.1\"\n\n[relay.recovery]\nat-start = false\non-demand = false\n"
        ),
    )
    .unwrap();
    let (running, log) = spawn(dir, &config);
    wait_for_log(
        &log,
        "relay ready: dhcp4 from lo (giaddr 127.0.0.1)",
        Instant::now() + Duration::from_secs(20),
    );
    (running, config)
}

#[test]
fn a_running_relay_forwards_with_option_82_and_answers_its_control_socket() {
    let dir = std::env::temp_dir().join(format!("lessor-relay-run-{}", std::process::id()));
    let server = UdpSocket::bind("127.0.0.1:0").unwrap();
    server
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let port = free_udp_port();
    let (mut relay, config) = start(&dir, port, server.local_addr().unwrap().port());
    let relay_id = std::fs::read_to_string(dir.join("state/relay-id")).unwrap();

    let client = UdpSocket::bind("127.0.0.1:0").unwrap();
    client.send_to(&discover(), ("127.0.0.1", port)).unwrap();
    let mut buf = [0u8; 1500];
    let (n, from) = server.recv_from(&mut buf).unwrap();
    let got = &buf[..n];
    assert_eq!(from.port(), port, "requests leave from the relay's port");
    assert_eq!(got[3], 1, "hops");
    assert_eq!(&got[24..28], &[127, 0, 0, 1], "giaddr");
    let o82 = option(got, 82).expect("option 82");
    let id = kept_relay_id(&dir);
    let mut want = vec![
        1,
        2,
        b'l',
        b'o',
        2,
        4,
        b'l',
        b'o',
        b'-',
        b'r',
        12,
        id.len() as u8,
    ];
    want.extend_from_slice(&id);
    assert_eq!(o82, want);

    let shown: serde_json::Value = serde_json::from_str(&show(&config, true)).unwrap();
    assert_eq!(shown["relay_id"], relay_id.trim());
    assert_eq!(shown["counters"]["dhcp4"]["forwarded_to_servers"], 1);
    assert_eq!(shown["entries"].as_array().unwrap().len(), 0);

    let text = show(&config, false);
    assert!(text.contains("ADDRESS  CLIENT  INTERFACE"), "{text}");
    assert!(text.contains("dhcp4-forwarded-to-servers=1"), "{text}");

    let out = lessor()
        .args([
            "relay",
            "--verify",
            "lo",
            "198.51.100.7",
            "02:00:00:00:00:01",
            "--config",
        ])
        .arg(&config)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        String::from_utf8(out.stdout).unwrap(),
        "no: nothing is known of this address\n"
    );

    // SIGTERM: a clean stop, the control socket gone, the relay-id kept for the next start.
    relay.terminate();
    let log = std::fs::read_to_string(dir.join("relay.log")).unwrap();
    assert!(log.contains("relay stopped: entries=0"), "{log}");
    assert!(!dir.join("state/control.sock").exists());
    assert_eq!(
        std::fs::read_to_string(dir.join("state/relay-id")).unwrap(),
        relay_id
    );
}

#[test]
fn a_relay_that_cannot_start_says_why_and_leaves_nothing_listening() {
    let dir = std::env::temp_dir().join(format!("lessor-relay-fail-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let config = dir.join("relay.toml");
    std::fs::write(
        &config,
        "[relay]\nstate-dir = \"state\"\n[relay.dhcp4]\nservers = [\"127.0.0.1\"]\n[[relay.dhcp4.interface]]\nname = \"lsr-none0\"\n",
    )
    .unwrap();
    let out = lessor()
        .args(["relay", "--config"])
        .arg(&config)
        .output()
        .unwrap();
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("error: not started: interface lsr-none0: no such interface"),
        "{stderr}"
    );
    assert!(!dir.join("state/control.sock").exists());
    // A corrupt relay-id file is named, and kept.
    std::fs::write(dir.join("state/relay-id"), "zz\n").unwrap();
    let out = lessor()
        .args(["relay", "--config"])
        .arg(&config)
        .output()
        .unwrap();
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(
        stderr.contains("relay-id file ")
            && stderr.contains("state/relay-id: does not hold a DUID"),
        "{stderr}"
    );
    assert_eq!(
        std::fs::read_to_string(dir.join("state/relay-id")).unwrap(),
        "zz\n"
    );
    std::fs::remove_dir_all(&dir).ok();
}

/// A DHCPv6 SOLICIT (client DUID-LL 02:00:00:00:00:02, transaction 0xabcdef).
fn solicit() -> Vec<u8> {
    let mut m = vec![1, 0xab, 0xcd, 0xef];
    m.extend_from_slice(&[0, 1, 0, 10, 0, 3, 0, 1, 2, 0, 0, 0, 0, 2]);
    m.extend_from_slice(&[0, 8, 0, 2, 0, 0]);
    m
}

/// The options of a DHCPv6 relay message (after its 34-octet header), code and body.
fn relay_options(message: &[u8]) -> Vec<(u16, Vec<u8>)> {
    let mut out = Vec::new();
    let mut pos = 34;
    while pos + 4 <= message.len() {
        let code = u16::from_be_bytes([message[pos], message[pos + 1]]);
        let len = usize::from(u16::from_be_bytes([message[pos + 2], message[pos + 3]]));
        out.push((code, message[pos + 4..pos + 4 + len].to_vec()));
        pos += 4 + len;
    }
    out
}

#[test]
fn one_relay_forwards_both_families_on_lo() {
    let dir = std::env::temp_dir().join(format!("lessor-relay-both-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let server4 = UdpSocket::bind("127.0.0.1:0").unwrap();
    let server6 = UdpSocket::bind("[::1]:0").unwrap();
    for s in [&server4, &server6] {
        s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    }
    let (port4, port6) = common::free_udp_ports();
    let config = dir.join("relay.toml");
    std::fs::write(
        &config,
        format!(
            "[relay]\nstate-dir = \"state\"\n\n[relay.dhcp4]\nservers = [\"127.0.0.1:{}\"]\nport = {port4}\n\n[[relay.dhcp4.interface]]\nname = \"lo\"\ngiaddr = \"127.0.0.1\"\n\n[relay.dhcp6]\nservers = [\"[::1]:{}\"]\nport = {port6}\nenterprise-number = 32473\nremote-id = \"{{interface}}-r\"\n\n[[relay.dhcp6.interface]]\nname = \"lo\"\n\n[relay.recovery]\nat-start = false\non-demand = false\n",
            server4.local_addr().unwrap().port(),
            server6.local_addr().unwrap().port()
        ),
    )
    .unwrap();
    let out = lessor().arg("check").arg(&config).output().unwrap();
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert!(
        stdout.contains(&format!("dhcp6: relays lo (interface-id \"lo\", link-address its first global address, else ::, remote-id \"{{interface}}-r\" (enterprise 32473)) to [::1]:{}, port {port6}", server6.local_addr().unwrap().port())),
        "{stdout}"
    );
    let (mut relay, log) = spawn(&dir, &config);
    // lo has no global address: link-address ::, so the Interface-ID names the link.
    wait_for_log(
        &log,
        "; dhcp6 from lo (link-address ::, interface-id \"lo\") to [::1]:",
        Instant::now() + Duration::from_secs(20),
    );
    let text = std::fs::read_to_string(&log).unwrap();
    assert!(
        text.contains(&format!("dhcp6: listening on [::]:{port6} on lo")),
        "{text}"
    );
    let id = kept_relay_id(&dir);

    let client6 = UdpSocket::bind("[::1]:0").unwrap();
    client6.send_to(&solicit(), ("::1", port6)).unwrap();
    let client4 = UdpSocket::bind("127.0.0.1:0").unwrap();
    client4.send_to(&discover(), ("127.0.0.1", port4)).unwrap();

    let mut buf = [0u8; 1500];
    let (n, from) = server6.recv_from(&mut buf).unwrap();
    let got = &buf[..n];
    assert_eq!(
        from.port(),
        port6,
        "RELAY-FORWs leave from the relay's port"
    );
    assert_eq!((got[0], got[1]), (12, 0), "RELAY-FORW, hop-count 0");
    assert_eq!(&got[2..18], &[0; 16], "link-address ::");
    assert_eq!(
        &got[18..34],
        &"::1".parse::<std::net::Ipv6Addr>().unwrap().octets(),
        "peer-address: the client"
    );
    let mut remote = 32473u32.to_be_bytes().to_vec();
    remote.extend_from_slice(b"lo-r");
    assert_eq!(
        relay_options(got),
        [(18, b"lo".to_vec()), (37, remote), (53, id), (9, solicit())]
    );
    let (n, _) = server4.recv_from(&mut buf).unwrap();
    assert_eq!(&buf[24..28], &[127, 0, 0, 1], "the DHCPv4 request too");
    assert!(n > 240);

    let shown: serde_json::Value = serde_json::from_str(&show(&config, true)).unwrap();
    assert_eq!(shown["counters"]["dhcp6"]["forwarded_to_servers"], 1);
    assert_eq!(shown["counters"]["dhcp4"]["forwarded_to_servers"], 1);

    // A RELAY-REPL arriving on a downstream interface is a client's forgery: dropped, counted.
    let mut forged = vec![13, 0];
    forged.extend_from_slice(&[0; 32]);
    client6.send_to(&forged, ("::1", port6)).unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    let text = loop {
        let text = show(&config, false);
        if text.contains("dhcp6-dropped-server-message-downstream=1") || Instant::now() > deadline {
            break text;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(
        text.contains("dhcp6-dropped-server-message-downstream=1"),
        "{text}"
    );
    assert!(text.contains("dhcp6-forwarded-to-servers=1"), "{text}");

    relay.terminate();
    let log = std::fs::read_to_string(&log).unwrap();
    assert!(log.contains("dhcp4-forwarded-to-servers=1"), "{log}");
    assert!(log.contains("dhcp6-forwarded-to-servers=1"), "{log}");
    assert!(
        log.contains("dhcp6-dropped-server-message-downstream=1"),
        "{log}"
    );
}

#[test]
fn a_relay_under_systemd_says_ready_once_it_forwards_and_stopping_at_sigterm() {
    use std::os::unix::net::UnixDatagram;
    let dir = std::env::temp_dir().join(format!("lessor-relay-notify-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let supervisor = UnixDatagram::bind(dir.join("notify")).unwrap();
    supervisor
        .set_read_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    let server = UdpSocket::bind("127.0.0.1:0").unwrap();
    let port = free_udp_port();
    let config = dir.join("relay.toml");
    std::fs::write(
        &config,
        format!(
            "[relay]\nstate-dir = \"state\"\n\n[relay.dhcp4]\nservers = [\"127.0.0.1:{}\"]\nport = {port}\n\n[[relay.dhcp4.interface]]\nname = \"lo\"\ngiaddr = \"127.0.0.1\"\n\n[relay.recovery]\nat-start = false\non-demand = false\n",
            server.local_addr().unwrap().port()
        ),
    )
    .unwrap();
    let child = lessor()
        .args(["relay", "--config"])
        .arg(&config)
        .env("NOTIFY_SOCKET", dir.join("notify"))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(dir.join("relay.log")).unwrap())
        .spawn()
        .unwrap();
    let mut relay = Running {
        child,
        dir: dir.clone(),
    };
    let mut buf = [0u8; 4096];
    let n = supervisor.recv(&mut buf).expect("READY=1 within 20 s");
    let ready = String::from_utf8_lossy(&buf[..n]).into_owned();
    assert!(
        ready.starts_with("READY=1\nSTATUS=relay ready: dhcp4 from lo (giaddr 127.0.0.1)"),
        "{ready}"
    );
    // Ready means it answers: its control socket at once, and it forwards.
    assert!(!show(&config, false).is_empty());
    server
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    UdpSocket::bind("127.0.0.1:0")
        .unwrap()
        .send_to(&discover(), ("127.0.0.1", port))
        .unwrap();
    server
        .recv_from(&mut buf)
        .expect("the DHCPDISCOVER forwarded");
    relay.terminate();
    let n = supervisor.recv(&mut buf).expect("STOPPING=1");
    assert!(
        String::from_utf8_lossy(&buf[..n]).starts_with("STOPPING=1\n"),
        "{}",
        String::from_utf8_lossy(&buf[..n])
    );
    let log = std::fs::read_to_string(dir.join("relay.log")).unwrap();
    assert!(!log.contains("cannot notify"), "{log}");
}
