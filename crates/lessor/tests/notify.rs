//! `lessor serve` under a Type=notify supervisor (sd_notify): READY=1 once the store is loaded and
//! the sockets are open, STOPPING=1 at SIGTERM. The supervisor is a Unix datagram socket of the
//! test named by NOTIFY_SOCKET; the server is on 127.0.0.1 only. The same as an unprivileged
//! user with the unit's capabilities, and the unit files themselves: tests/e2e/test_packaging.py.

mod common;

use common::{free_udp_ports, serve_command, write_config};
use std::net::UdpSocket;
use std::os::unix::net::UnixDatagram;
use std::time::Duration;

#[test]
fn serve_says_ready_when_its_port_is_open_and_stopping_at_sigterm() {
    let dir = std::env::temp_dir().join(format!("lessor-serve-notify-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let ports = free_udp_ports();
    let config = write_config(
        &dir,
        ports,
        ("198.51.100.0/24", "198.51.100.10-198.51.100.20"),
        "",
    );
    let supervisor = UnixDatagram::bind(dir.join("notify")).unwrap();
    supervisor
        .set_read_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    let log = dir.join("serve.log");
    let mut child = serve_command(&config, &log)
        .env("NOTIFY_SOCKET", dir.join("notify"))
        .spawn()
        .unwrap();
    let mut buf = [0u8; 1024];
    let received = supervisor.recv(&mut buf);
    let said = std::fs::read_to_string(&log).unwrap_or_default();
    let n = received.unwrap_or_else(|e| {
        child.kill().ok();
        panic!("no READY=1: {e}\n{said}")
    });
    assert_eq!(
        String::from_utf8_lossy(&buf[..n]),
        "READY=1\nSTATUS=serving dhcp4; 0 DHCPv4 and 0 DHCPv6 binding(s) loaded\n"
    );
    // Said before READY=1 (stderr is a file, written before the datagram was sent).
    assert!(said.contains("0 binding(s) loaded"), "{said}");
    assert!(said.contains("dhcp4: listening on 127.0.0.1:"), "{said}");
    // The port is bound: nobody else can have it.
    assert!(UdpSocket::bind(("127.0.0.1", ports.0)).is_err());

    assert!(std::process::Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap()
        .success());
    let n = supervisor.recv(&mut buf).expect("STOPPING=1");
    assert!(
        String::from_utf8_lossy(&buf[..n]).starts_with("STOPPING=1\nSTATUS="),
        "{}",
        String::from_utf8_lossy(&buf[..n])
    );
    assert!(child.wait().unwrap().success());
    let said = std::fs::read_to_string(&log).unwrap();
    assert!(!said.contains("cannot notify"), "{said}");
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn serve_outside_systemd_or_with_a_dead_socket_still_runs() {
    let dir = std::env::temp_dir().join(format!("lessor-serve-nonotify-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let config = write_config(
        &dir,
        free_udp_ports(),
        ("198.51.100.0/24", "198.51.100.10-198.51.100.20"),
        "",
    );
    let log = dir.join("serve.log");
    let mut child = serve_command(&config, &log)
        .env("NOTIFY_SOCKET", dir.join("nobody-listens"))
        .spawn()
        .unwrap();
    common::wait_for_log(
        &log,
        "dhcp4: listening on",
        std::time::Instant::now() + Duration::from_secs(20),
    );
    assert!(std::process::Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap()
        .success());
    assert!(child.wait().unwrap().success());
    let said = std::fs::read_to_string(&log).unwrap();
    assert!(
        said.contains("warning: cannot notify systemd: NOTIFY_SOCKET="),
        "{said}"
    );
    std::fs::remove_dir_all(&dir).ok();
}
