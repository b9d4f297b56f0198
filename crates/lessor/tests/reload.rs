//! SIGHUP on `lessor serve --config FILE` (docs/operator-guide.md, "Reloading the
//! configuration"), on loopback: clients leased before a reload keep their bindings and are
//! still answered; a pool added, a lease time changed and a leasequery requester allowed take
//! effect for what comes after; a file that does not validate, or that changes a key only a
//! restart can apply, is refused with its location and the server serves on. Only 127.0.0.1
//! sockets; 198.51.100.0/24 and 203.0.113.0/24 are payload only.

mod common;

use common::{free_udp_ports, lessor, wait_for_log, write_config, Server};
use std::path::Path;
use std::process::Output;
use std::time::{Duration, Instant};

fn dora(server: &str, relay_port: u16, link: &str, seed: u32, acked: &Path) -> Vec<String> {
    let out = lessor()
        .args(["perf", "dora", "--server", server, "--giaddr", "127.0.0.1"])
        .args(["--bind", &format!("127.0.0.1:{relay_port}")])
        .args(["--link-selection", link, "--clients", "3"])
        .args(["--duration", "20s", "--seed", &seed.to_string()])
        .arg("--acked-out")
        .arg(acked)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let acked = std::fs::read_to_string(acked).unwrap();
    let addresses: Vec<String> = acked
        .lines()
        .map(|l| l.split(' ').next().unwrap().to_owned())
        .collect();
    assert_eq!(addresses.len(), 3, "{acked}");
    addresses
}

fn query(address: &str, server: &str, timeout: &str) -> Output {
    lessor()
        .args(["query", "ip", address, "--json", "--server", server])
        .args(["--giaddr", "127.0.0.1", "--timeout", timeout])
        .output()
        .unwrap()
}

/// The lease's remaining seconds, from an answered leasequery.
fn active_remaining(address: &str, server: &str) -> u64 {
    let out = query(address, server, "5s");
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_str(text.trim()).unwrap();
    assert_eq!(v["state"], "active", "{text}");
    v["lease_remaining"].as_u64().unwrap()
}

fn hup(server: &Server) {
    let status = std::process::Command::new("kill")
        .args(["-HUP", &server.pid().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
}

#[test]
fn sighup_applies_a_new_pool_lease_time_and_requester_and_refuses_bad_files() {
    let dir = std::env::temp_dir().join(format!("lessor-reload-{}", std::process::id()));
    let (port, relay_port) = free_udp_ports();
    let requesters = |who: &str| {
        format!("\n[leasequery4]\nrequesters = [\"{who}\"]\nreply-to-source-port = [\"{who}\"]\n")
    };
    let pool = ("198.51.100.0/24", "198.51.100.100-198.51.100.109");
    let config = write_config(&dir, (port, relay_port), pool, &requesters("192.0.2.1/32"));
    let original = std::fs::read_to_string(&config).unwrap();
    let server = Server::start(&dir, &config, "dhcp4: listening");
    let log = dir.join("serve.log");
    let at = format!("127.0.0.1:{port}");
    let soon = || Instant::now() + Duration::from_secs(20);

    let old = dora(&at, relay_port, "198.51.100.1", 1, &dir.join("a.txt"));
    assert!(old.iter().all(|a| a.starts_with("198.51.100.")), "{old:?}");
    // 127.0.0.1 is no requester yet: no answer.
    assert_ne!(query(&old[0], &at, "1s").status.code(), Some(0));

    // A pool added, the lease time doubled, 127.0.0.1 allowed.
    let edited = original
        .replace("lease-time = \"1h\"", "lease-time = \"2h\"")
        .replace("192.0.2.1/32", "127.0.0.1/32")
        + "\n[[dhcp4.subnet]]\nprefix = \"203.0.113.0/24\"\npools = [\"203.0.113.10-203.0.113.19\"]\n";
    std::fs::write(&config, &edited).unwrap();
    hup(&server);
    wait_for_log(
        &log,
        "reload: applied (2 subnets, 1 requesters; changed: dhcp4.lease-time, dhcp4.subnet, \
         leasequery4.reply-to-source-port, leasequery4.requesters)",
        soon(),
    );
    let new = dora(&at, relay_port, "203.0.113.1", 100, &dir.join("b.txt"));
    assert!(new.iter().all(|a| a.starts_with("203.0.113.")), "{new:?}");
    assert!(active_remaining(&new[0], &at) > 3700, "the new lease time");
    // The bindings made before the reload are kept and answered, with their old lease.
    for a in &old {
        assert!(active_remaining(a, &at) <= 3600, "{a}");
    }
    // The same clients come back to their addresses.
    let again = dora(&at, relay_port, "198.51.100.1", 1, &dir.join("c.txt"));
    let (mut o, mut g) = (old.clone(), again);
    o.sort();
    g.sort();
    assert_eq!(o, g);

    // A file that does not validate: refused, located, and the server serves on.
    let bad = edited.replace("203.0.113.10-203.0.113.19", "192.0.2.10-192.0.2.19");
    std::fs::write(&config, &bad).unwrap();
    hup(&server);
    let line = bad
        .lines()
        .position(|l| l.contains("192.0.2.10-192.0.2.19"))
        .unwrap()
        + 1;
    wait_for_log(
        &log,
        &format!("reload: refused: {}:{line}:", config.display()),
        soon(),
    );
    assert!(active_remaining(&new[1], &at) > 3700);
    let more = dora(&at, relay_port, "203.0.113.1", 200, &dir.join("d.txt"));
    assert!(more.iter().all(|a| a.starts_with("203.0.113.")), "{more:?}");

    // A key only a restart can change: refused, named where the file says it.
    let moved = edited.replace(&format!("port = {port}\n"), "port = 6999\n");
    std::fs::write(&config, &moved).unwrap();
    hup(&server);
    let line = moved.lines().position(|l| l == "port = 6999").unwrap() + 1;
    wait_for_log(
        &log,
        &format!(
            "reload: refused: {}:{line}:1: dhcp4.port: the port cannot change while serving: \
             restart to apply it; the running configuration is kept",
            config.display()
        ),
        soon(),
    );
    // Renewed by the second DORA of their clients, under the new lease time.
    assert!(active_remaining(&old[2], &at) > 3700);
    drop(server);
}

#[test]
fn sighup_without_a_config_file_says_there_is_nothing_to_reload() {
    let dir = std::env::temp_dir().join(format!("lessor-reload-none-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let log = dir.join("serve.log");
    // The embedded defaults listen on 127.0.0.1:6767 (another test may hold it): only the
    // answer to SIGHUP is looked at, whatever else the server says.
    let mut child = lessor()
        .arg("serve")
        .current_dir(&dir)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::fs::File::create(&log).unwrap())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    let text = |log: &Path| std::fs::read_to_string(log).unwrap_or_default();
    // The signal handlers are in place before anything listens.
    while !text(&log).contains("listening") && !text(&log).contains("refusing to start") {
        assert!(Instant::now() < deadline, "{}", text(&log));
        std::thread::sleep(Duration::from_millis(20));
    }
    let started = !text(&log).contains("refusing to start");
    if started {
        let _ = std::process::Command::new("kill")
            .args(["-HUP", &child.id().to_string()])
            .status();
        while !text(&log).contains("reload: ") && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(20));
        }
    }
    let said = text(&log);
    child.kill().ok();
    child.wait().ok();
    std::fs::remove_dir_all(&dir).ok();
    if !started {
        // Port 6767 was held by another process: nothing to check here.
        return;
    }
    assert!(
        said.contains(
            "reload: nothing to reload: the server runs on its embedded defaults (no --config)"
        ),
        "{said}"
    );
}
