//! `lessor serve`'s log on loopback (docs/operator-guide.md, "Logs"): today's text lines by
//! default; one JSON object per line with `log-format = "json"`, each with its timestamp, level,
//! target, message and fields; `LESSOR_LOG=debug` adds the debug events; `log-level = "warn"`
//! keeps warnings only. Only 127.0.0.1 sockets; 198.51.100.0/24 is payload only.

mod common;

use common::{free_udp_ports, serve_command, wait_for_log, write_config};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// A config in `dir` with `server` lines added to `[server]`.
fn config(dir: &Path, server: &str) -> PathBuf {
    let _ = std::fs::remove_dir_all(dir);
    let config = write_config(
        dir,
        free_udp_ports(),
        ("198.51.100.0/24", "198.51.100.100-198.51.100.109"),
        "",
    );
    let text = std::fs::read_to_string(&config).unwrap();
    let text = text.replacen("[server]\n", &format!("[server]\n{server}"), 1);
    std::fs::write(&config, text).unwrap();
    config
}

/// Runs `lessor serve` on `config` (with `env`) until `ready` is in its log (or, without one,
/// until its store exists), stops it with SIGTERM and returns its log.
fn run(config: &Path, env: &[(&str, &str)], ready: Option<&str>) -> String {
    let dir = config.parent().unwrap();
    let log = dir.join("serve.log");
    let mut cmd = serve_command(config, &log);
    cmd.env_remove("LESSOR_LOG");
    for (k, v) in env {
        cmd.env(k, v);
    }
    let mut child = cmd.spawn().unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    match ready {
        Some(line) => wait_for_log(&log, line, deadline),
        None => {
            // The store is opened after the signal handlers are in place.
            while !dir.join("lessor.db").exists() {
                assert!(Instant::now() < deadline, "no store was created");
                std::thread::sleep(Duration::from_millis(20));
            }
            std::thread::sleep(Duration::from_millis(300));
        }
    }
    let status = std::process::Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let exited = child.wait().unwrap();
    let text = std::fs::read_to_string(&log).unwrap();
    assert!(exited.success(), "{exited:?}\n{text}");
    std::fs::remove_dir_all(dir).ok();
    text
}

#[test]
fn the_default_log_is_todays_text() {
    let dir = std::env::temp_dir().join(format!("lessor-logs-text-{}", std::process::id()));
    let config = config(&dir, "");
    let text = run(&config, &[], Some("dhcp4: listening on"));
    for line in text.lines() {
        let (stamp, rest) = line.split_once(' ').unwrap();
        assert!(
            stamp.len() == 20 && stamp.ends_with('Z') && rest.starts_with("lessor: "),
            "{line}"
        );
    }
    let store = dir.join("lessor.db");
    assert!(
        text.contains(&format!(
            "lessor: store {}: 0 binding(s) loaded\n",
            store.display()
        )),
        "{text}"
    );
    assert!(
        text.contains("lessor: dhcp4: listening on 127.0.0.1:"),
        "{text}"
    );
    assert!(text.ends_with("lessor: stopped\n"), "{text}");
    assert!(
        !text.contains("opened and locked"),
        "no debug at info:\n{text}"
    );
}

#[test]
fn json_lines_carry_level_target_message_and_fields() {
    let dir = std::env::temp_dir().join(format!("lessor-logs-json-{}", std::process::id()));
    let config = config(&dir, "log-format = \"json\"\n");
    let text = run(&config, &[], Some("dhcp4: listening on"));
    let events: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect();
    for e in &events {
        for key in ["timestamp", "level", "target", "message"] {
            assert!(e[key].is_string(), "{key} in {e}");
        }
    }
    let loaded = events
        .iter()
        .find(|e| {
            e["message"]
                .as_str()
                .unwrap()
                .ends_with("0 binding(s) loaded")
        })
        .unwrap_or_else(|| panic!("no store-loaded event:\n{text}"));
    assert_eq!(loaded["level"], "INFO");
    assert_eq!(loaded["bindings"], 0);
    assert_eq!(
        loaded["store"],
        dir.join("lessor.db").display().to_string().as_str()
    );
    assert!(loaded["target"]
        .as_str()
        .unwrap()
        .starts_with("lessor_server"));
    let listening = events
        .iter()
        .find(|e| {
            e["message"]
                .as_str()
                .unwrap()
                .starts_with("dhcp4: listening on")
        })
        .unwrap();
    assert!(listening["socket"].as_str().unwrap().contains("127.0.0.1:"));
    assert!(listening["threads"].as_u64().unwrap() >= 1);
    assert_eq!(events.last().unwrap()["message"], "stopped");
}

#[test]
fn lessor_log_debug_adds_debug_events() {
    let dir = std::env::temp_dir().join(format!("lessor-logs-debug-{}", std::process::id()));
    let config = config(&dir, "");
    let text = run(
        &config,
        &[("LESSOR_LOG", "debug")],
        Some("dhcp4: listening on"),
    );
    assert!(
        text.contains("opened and locked; serving 1 DHCPv4 subnet(s), 0 DHCPv6 link(s)"),
        "{text}"
    );
}

#[test]
fn log_level_warn_keeps_warnings_only() {
    let dir = std::env::temp_dir().join(format!("lessor-logs-warn-{}", std::process::id()));
    // The earlier place of the identifier: a config warning, said at warn.
    let config = config(&dir, "log-level = \"warn\"\nidentifier = \"127.0.0.1\"\n");
    let text = run(&config, &[], None);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 1, "{text}");
    assert!(
        lines[0].contains("lessor: warning: config: ") && lines[0].contains("server.identifier"),
        "{text}"
    );
}

#[test]
fn a_bad_lessor_log_or_log_format_is_refused() {
    let dir = std::env::temp_dir().join(format!("lessor-logs-bad-{}", std::process::id()));
    let config = config(&dir, "log-format = \"xml\"\n");
    let out = common::lessor()
        .args(["serve", "--config"])
        .arg(&config)
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        said.contains("lessor.toml:2:") && said.contains("xml"),
        "{said}"
    );

    let config = self::config(&dir, "");
    let out = common::lessor()
        .args(["serve", "--config"])
        .arg(&config)
        .env("LESSOR_LOG", "lessor=[[nonsense")
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(said.contains("LESSOR_LOG="), "{said}");
    std::fs::remove_dir_all(&dir).ok();
}
