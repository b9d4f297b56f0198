//! Durability: a DHCPACK is only sent once its binding is durable, so `kill -9` in the middle of a
//! load run loses no acknowledged binding.
//!
//! The test starts `lessor serve --config` on free loopback ports with its store in a temporary
//! directory, runs `lessor perf dora --acked-out FILE` against it, and once some ACKs are in the
//! file kills the server with SIGKILL. Every `ADDRESS MAC` line of the file must then be in the
//! store, as that MAC's binding, read back by `lessor leases list --store --json`. It does so
//! [`TRIALS`] times on the same store, each server starting on what the killed one left and each
//! killed at a different point, and every binding ACKed in any trial must still be there.

mod common;

use common::{free_udp_ports, lessor, serve_command, wait_for_log, write_config};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const CLIENTS: usize = 5000;
/// Servers killed, one after another, on one store.
const TRIALS: usize = 20;

/// ACKs in the file before the server of trial `i` is killed: from 50 to 449, spread over the
/// trials so the kill lands at different points of the load.
fn kill_after(i: usize) -> usize {
    50 + (i * 157) % 400
}

/// Kills and reaps its children, and removes the directory, however the test ends.
struct Guard {
    children: Vec<Child>,
    dir: PathBuf,
}

impl Guard {
    fn spawn(&mut self, cmd: &mut Command) -> usize {
        let child = cmd.spawn().expect("spawn lessor");
        self.children.push(child);
        self.children.len() - 1
    }
}

impl Drop for Guard {
    fn drop(&mut self) {
        for c in &mut self.children {
            let _ = c.kill();
            let _ = c.wait();
        }
        if !std::thread::panicking() {
            let _ = std::fs::remove_dir_all(&self.dir);
        } else {
            eprintln!("durability: kept {} for inspection", self.dir.display());
        }
    }
}

fn count_lines(path: &Path) -> usize {
    std::fs::read(path)
        .map(|b| b.iter().filter(|&&c| c == b'\n').count())
        .unwrap_or(0)
}

#[test]
fn kill_9_mid_run_loses_no_acknowledged_binding() {
    let start = Instant::now();
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("durability-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let mut guard = Guard {
        children: Vec::new(),
        dir: dir.clone(),
    };

    let (port, relay_port) = free_udp_ports();
    let store = dir.join("lessor.db");
    let config = write_config(
        &dir,
        (port, relay_port),
        ("198.18.0.0/15", "198.18.0.10-198.19.255.250"),
        "",
    );

    // Every binding ACKed in any trial so far: address -> MAC.
    let mut acked_all: HashMap<String, String> = HashMap::new();
    let mut stored_before = 0;
    for trial in 0..TRIALS {
        let server_log = dir.join(format!("serve-{trial}.log"));
        let server = guard.spawn(&mut serve_command(&config, &server_log));
        wait_for_log(
            &server_log,
            "dhcp4: listening on",
            Instant::now() + Duration::from_secs(10),
        );
        // The server starts on what the killed one left: every row, none skipped.
        let log = std::fs::read_to_string(&server_log).unwrap();
        assert_eq!(loaded(&log), stored_before, "trial {trial} loaded:\n{log}");
        assert!(!log.contains("skipped"), "rows skipped on restart:\n{log}");

        let acked = dir.join(format!("acked-{trial}.txt"));
        let perf = guard.spawn(&mut dora(port, relay_port, &acked, &dir, trial));

        // Poll the file; kill -9 the server as soon as enough ACKs are in it.
        let kill_at = kill_after(trial);
        let deadline = Instant::now() + Duration::from_secs(20);
        while count_lines(&acked) < kill_at {
            assert!(
                Instant::now() < deadline,
                "trial {trial}: only {} ACK(s) after 20 s; server log:\n{}",
                count_lines(&acked),
                std::fs::read_to_string(&server_log).unwrap_or_default()
            );
            std::thread::sleep(Duration::from_micros(500));
        }
        // Child::kill sends SIGKILL.
        guard.children[server].kill().unwrap();
        let status = guard.children[server].wait().unwrap();
        assert_eq!(
            std::os::unix::process::ExitStatusExt::signal(&status),
            Some(9),
            "server was not killed by SIGKILL: {status}"
        );

        // The ACKs already received are in the file (it is written as each ACK arrives); what
        // is left is clients timing out against a dead server: stop the generator after a
        // short grace.
        std::thread::sleep(Duration::from_millis(300));
        let _ = guard.children[perf].kill();
        let _ = guard.children[perf].wait();

        let text = std::fs::read_to_string(&acked).unwrap();
        let mut this_trial = 0;
        for line in text.lines() {
            let (addr, mac) = line
                .split_once(' ')
                .unwrap_or_else(|| panic!("bad acked line {line:?}"));
            acked_all.insert(addr.to_string(), mac.to_ascii_lowercase());
            this_trial += 1;
        }
        assert!(
            this_trial >= kill_at && this_trial < CLIENTS,
            "trial {trial}: {this_trial} ACK(s): the server was not killed mid-run"
        );

        // Read the store the dead server left behind (WAL and all), as an operator would.
        let stored = stored(&store);
        let lost: Vec<String> = acked_all
            .iter()
            .filter_map(|(addr, mac)| match stored.get(addr) {
                Some((m, state)) if m == mac && state == "active" => None,
                other => Some(format!("{addr} {mac}: store has {other:?}")),
            })
            .collect();
        assert!(
            lost.is_empty(),
            "trial {trial}: {} of {} acknowledged binding(s) missing or different after kill -9:\n{}",
            lost.len(),
            acked_all.len(),
            lost.join("\n")
        );
        stored_before = stored.len();
        eprintln!(
            "durability trial {trial}: {this_trial} ACKs before kill -9, {} binding(s) in the \
             store, all {} ACKed so far present",
            stored.len(),
            acked_all.len()
        );
    }

    // And a server starts again on the store the last one left.
    let restart_log = dir.join("restart.log");
    guard.spawn(&mut serve_command(&config, &restart_log));
    wait_for_log(
        &restart_log,
        "dhcp4: listening on",
        Instant::now() + Duration::from_secs(10),
    );
    let log = std::fs::read_to_string(&restart_log).unwrap();
    assert_eq!(loaded(&log), stored_before, "restarted server:\n{log}");
    assert!(!log.contains("skipped"), "rows skipped on restart:\n{log}");
    eprintln!(
        "durability: {TRIALS} kill -9 trials, {} ACKed binding(s), none lost ({:.1} s)",
        acked_all.len(),
        start.elapsed().as_secs_f64()
    );
}

/// `lessor perf dora` against the server, writing each ACK to `acked`; each trial's clients are
/// new ones.
fn dora(port: u16, relay_port: u16, acked: &Path, dir: &Path, trial: usize) -> Command {
    let mut cmd = lessor();
    cmd.args(["perf", "dora"])
        .arg("--server")
        .arg(format!("127.0.0.1:{port}"))
        .arg("--bind")
        .arg(format!("127.0.0.1:{relay_port}"))
        .args(["--link-selection", "198.18.0.1"])
        .args(["--clients", &CLIENTS.to_string()])
        .args(["--in-flight", "32"])
        // MACs are seed + index: seeds CLIENTS apart never share one.
        .args(["--seed", &(((trial + 1) * CLIENTS) as u64).to_string()])
        // Clients outstanding when the server dies give up quickly.
        .args(["--timeout", "200ms", "--retries", "1"])
        .args(["--duration", "20s"])
        .arg("--acked-out")
        .arg(acked)
        .arg("--json")
        .stdin(Stdio::null())
        .stdout(std::fs::File::create(dir.join(format!("perf-{trial}.json"))).unwrap())
        .stderr(Stdio::inherit());
    cmd
}

/// Every binding in the store: address -> (MAC, state), by `lessor leases list --json`.
fn stored(store: &Path) -> HashMap<String, (String, String)> {
    let out = lessor()
        .args(["leases", "list", "--json", "--store"])
        .arg(store)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "leases list failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut stored = HashMap::new();
    for line in String::from_utf8(out.stdout).unwrap().lines() {
        let v: serde_json::Value = serde_json::from_str(line).unwrap();
        let field = |k: &str| v[k].as_str().unwrap_or_default().to_ascii_lowercase();
        stored.insert(field("address"), (field("mac"), field("state")));
    }
    stored
}

/// The count of the server's "N binding(s) loaded" line.
fn loaded(log: &str) -> usize {
    log.lines()
        .find_map(|l| {
            l.split_once(": ")
                .and_then(|(_, rest)| rest.split_once(" binding(s) loaded"))
                .and_then(|(head, _)| head.rsplit(' ').next()?.parse().ok())
        })
        .unwrap_or_else(|| panic!("no 'binding(s) loaded' line:\n{log}"))
}
