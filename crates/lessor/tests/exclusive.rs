//! One `lessor serve` per store and per DHCP port: a second server, and an import, are refused
//! at once with the process that holds what they need; readers still read. The store's files
//! are its owner's only. Only 127.0.0.1 sockets; pool addresses are payload only.

mod common;

use common::{free_udp_ports, lessor, serve_command, write_config, Server};
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::ExitStatus;
use std::time::{Duration, Instant};

const POOL: (&str, &str) = ("198.51.100.0/24", "198.51.100.100-198.51.100.199");

/// Runs a second `lessor serve` on `config`, which must end by itself; returns how, and its log.
fn refused_serve(config: &Path, log: &Path) -> (ExitStatus, String) {
    let mut child = serve_command(config, log).spawn().unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if Instant::now() > deadline {
            child.kill().ok();
            child.wait().ok();
            panic!(
                "a second server kept running:\n{}",
                std::fs::read_to_string(log).unwrap_or_default()
            );
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    (status, std::fs::read_to_string(log).unwrap())
}

#[test]
fn a_second_server_on_the_store_or_the_port_is_refused_naming_the_first() {
    let base = std::env::temp_dir().join(format!("lessor-exclusive-{}", std::process::id()));
    let (first_dir, other_dir) = (base.join("first"), base.join("other"));
    let ports = free_udp_ports();
    let config = write_config(&first_dir, ports, POOL, "");
    let first = Server::start(&first_dir, &config, "dhcp4: listening");
    let store = first_dir.join("lessor.db");

    // The same config: the same store.
    let (status, log) = refused_serve(&config, &base.join("second.log"));
    assert_eq!(status.code(), Some(1), "{log}");
    let expected = format!(
        "store {} is in use by another process (pid {}, lessor serve); refusing to start",
        store.display(),
        first.pid()
    );
    assert!(log.contains(&expected), "{log}");

    // Another store, the same port.
    let other = write_config(&other_dir, ports, POOL, "");
    let (status, log) = refused_serve(&other, &base.join("third.log"));
    assert_eq!(status.code(), Some(1), "{log}");
    let expected = format!(
        "udp port {} on 127.0.0.1 is held by another process (pid {}, lessor); refusing to start",
        ports.0,
        first.pid()
    );
    assert!(log.contains(&expected), "{log}");
    assert!(!log.contains("dhcp4: listening"), "{log}");

    // Writing the store while the server runs is refused; reading it is not.
    let empty = base.join("empty.leases");
    std::fs::write(&empty, "").unwrap();
    let import = lessor()
        .args(["leases", "import", "--isc"])
        .arg(&empty)
        .arg("--store")
        .arg(&store)
        .args(["--subnet", "198.51.100.0/24"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&import.stderr);
    assert_eq!(import.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains(&format!(
            "store {} is in use by another process (pid {}, lessor serve); stop it first",
            store.display(),
            first.pid()
        )),
        "{stderr}"
    );
    let list = lessor()
        .args(["leases", "list", "--store"])
        .arg(&store)
        .output()
        .unwrap();
    assert!(
        list.status.success(),
        "{}",
        String::from_utf8_lossy(&list.stderr)
    );

    // The store's files are the server's only.
    for suffix in ["", "-wal", "-shm", ".lock"] {
        let file = first_dir.join(format!("lessor.db{suffix}"));
        let mode = std::fs::metadata(&file).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "{}", file.display());
    }
    drop(first);
    std::fs::remove_dir_all(&base).ok();
}
