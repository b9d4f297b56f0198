//! What the CLI integration tests share: the `lessor` binary, free loopback ports, a loopback
//! config for `lessor serve`, and a server that is stopped and cleaned up however a test ends.
//! Only 127.0.0.1 sockets; pool addresses are payload only.

#![allow(dead_code)] // each test binary uses a different part

use std::net::{TcpListener, UdpSocket};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub fn lessor() -> Command {
    Command::new(env!("CARGO_BIN_EXE_lessor"))
}

/// A UDP port free on 127.0.0.1 right now (bound to port 0, then released).
pub fn free_udp_port() -> u16 {
    UdpSocket::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Two distinct free UDP ports: the server port and the relay port replies go to.
pub fn free_udp_ports() -> (u16, u16) {
    let port = free_udp_port();
    let mut relay_port = free_udp_port();
    while relay_port == port {
        relay_port = free_udp_port();
    }
    (port, relay_port)
}

/// A TCP port free on 127.0.0.1 right now.
pub fn free_tcp_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Writes `dir/lessor.toml`: a loopback server (relays 127.0.0.0/8) with its store in `dir`, one
/// subnet with one pool, and `extra` TOML appended (e.g. a `[leasequery4]` section).
pub fn write_config(
    dir: &Path,
    (port, relay_port): (u16, u16),
    (prefix, pool): (&str, &str),
    extra: &str,
) -> PathBuf {
    std::fs::create_dir_all(dir).unwrap();
    let config = dir.join("lessor.toml");
    std::fs::write(
        &config,
        format!(
            r#"[server]
store = "{store}"

[dhcp4]
server-identifier = "127.0.0.1"
listen = ["127.0.0.1"]
port = {port}
relay-port = {relay_port}
relays = ["127.0.0.0/8"]
lease-time = "1h"

[[dhcp4.subnet]]
prefix = "{prefix}"
pools = ["{pool}"]
{extra}"#,
            store = dir.join("lessor.db").display()
        ),
    )
    .unwrap();
    config
}

/// `lessor serve --config CONFIG` with its log in `log` (stdin and stdout closed).
pub fn serve_command(config: &Path, log: &Path) -> Command {
    let mut cmd = lessor();
    cmd.arg("serve")
        .arg("--config")
        .arg(config)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(log).unwrap());
    cmd
}

/// Waits until the server's log has `line` in it; fails with the log after `deadline`.
pub fn wait_for_log(log: &Path, line: &str, deadline: Instant) {
    loop {
        let text = std::fs::read_to_string(log).unwrap_or_default();
        if text.contains(line) {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "server log never said {line:?}:\n{text}"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// A running `lessor serve`: killed and its directory removed when dropped.
pub struct Server {
    child: Child,
    dir: PathBuf,
}

impl Server {
    /// Starts the server on `config` (in `dir`) and waits until its log says `ready`.
    pub fn start(dir: &Path, config: &Path, ready: &str) -> Server {
        let log = dir.join("serve.log");
        let child = serve_command(config, &log).spawn().unwrap();
        let server = Server {
            child,
            dir: dir.to_owned(),
        };
        wait_for_log(&log, ready, Instant::now() + Duration::from_secs(20));
        server
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.child.kill().ok();
        self.child.wait().ok();
        std::fs::remove_dir_all(&self.dir).ok();
    }
}
