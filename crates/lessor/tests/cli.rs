//! The binary as an operator runs it: exit codes and messages of `lessor check`.

use std::path::PathBuf;
use std::process::Command;

fn lessor() -> Command {
    Command::new(env!("CARGO_BIN_EXE_lessor"))
}

fn example() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../examples/lessor.toml")
}

#[test]
fn the_example_config_passes_check() {
    let out = lessor().arg("check").arg(example()).output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert!(stdout.contains(": ok"), "{stdout}");
    assert!(stdout.contains("100 pool address(es)"), "{stdout}");
    assert!(
        stdout.contains("dhcp6: server DUID 00:02:00:00:ab:11:01:02:03:04, 1 link(s), 8192 pool address(es), 256 delegable prefix(es), 1 reservation(s), on 2001:db8::1 port 547"),
        "{stdout}"
    );
}

#[test]
fn a_broken_config_fails_with_file_line_and_key() {
    let dir = std::env::temp_dir().join(format!("lessor-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let bad = dir.join("bad.toml");
    let text = std::fs::read_to_string(example()).unwrap().replace(
        "port = 67\nrelay-port",
        "port = \"sixty-seven\"\nrelay-port",
    );
    std::fs::write(&bad, text).unwrap();
    let out = lessor().arg("check").arg(&bad).output().unwrap();
    std::fs::remove_dir_all(&dir).ok();
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(stderr.contains("bad.toml:11:8: dhcp4.port:"), "{stderr}");
}

#[test]
fn a_missing_file_is_named() {
    let out = lessor()
        .args(["check", "/nonexistent/lessor.toml"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("/nonexistent/lessor.toml: cannot read"));
}

#[test]
fn version_and_help_work() {
    let out = lessor().arg("--version").output().unwrap();
    assert!(String::from_utf8_lossy(&out.stdout).starts_with("lessor "));
    let out = lessor().arg("--help").output().unwrap();
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).contains("check"));
}

fn vector(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../wire/tests/vectors")
        .join(name)
}

#[test]
fn decode_prints_a_scapy_built_leaseactive() {
    let out = lessor()
        .arg("decode")
        .arg(vector("v4_lease_active.bin"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert!(stdout.starts_with("DHCPv4 DHCPLEASEACTIVE"), "{stdout}");
    assert!(stdout.contains("circuit-id \"ge-0/0/1.100\""), "{stdout}");
    assert!(stdout.contains("link-selection 192.0.2.0"), "{stdout}");
    assert!(
        stdout.contains("92 associated-ip: 192.0.2.10, 192.0.2.11"),
        "{stdout}"
    );
}

#[test]
fn decode_walks_a_dhcpv6_relay_chain() {
    let out = lessor()
        .arg("decode")
        .arg(vector("v6_relay_forw_depth2_solicit.bin"))
        .output()
        .unwrap();
    assert!(out.status.success());
    let stdout = String::from_utf8(out.stdout).unwrap();
    let relay = stdout.find("RELAY-FORW hop-count 0").expect(&stdout);
    let solicit = stdout
        .find("SOLICIT transaction-id 0x0a0b0c")
        .expect(&stdout);
    assert!(relay < solicit);
}

#[test]
fn decode_refuses_garbage_with_a_reason() {
    let out = lessor().args(["decode", "--hex", "0102"]).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("truncated"));
    let out = lessor().args(["decode", "--hex", "zz"]).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("not hex"));
}

#[test]
fn a_wildcard_listen_address_is_refused_unless_meant() {
    let dir = std::env::temp_dir().join(format!("lessor-cli-wildcard-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let wild = dir.join("wild.toml");
    let text = std::fs::read_to_string(example()).unwrap();
    let text = text.replacen("listen = [\"192.0.2.1\"]", "listen = [\"0.0.0.0\"]", 1);
    std::fs::write(&wild, &text).unwrap();
    let out = lessor().arg("check").arg(&wild).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(
        stderr.contains("wild.toml:10:11: dhcp4.listen[0]: 0.0.0.0 listens on every address"),
        "{stderr}"
    );
    let meant = dir.join("meant.toml");
    std::fs::write(
        &meant,
        text.replacen("[dhcp4]\n", "[dhcp4]\nlisten-wildcard = true\n", 1),
    )
    .unwrap();
    let out = lessor().arg("check").arg(&meant).output().unwrap();
    std::fs::remove_dir_all(&dir).ok();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn a_broken_dhcp6_section_fails_with_file_line_and_key() {
    let dir = std::env::temp_dir().join(format!("lessor-cli-dhcp6-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let bad = dir.join("bad6.toml");
    let text = std::fs::read_to_string(example()).unwrap();
    assert!(text.contains("delegated-length = 56 }"));
    std::fs::write(
        &bad,
        text.replace("delegated-length = 56 }", "delegated-length = 40 }"),
    )
    .unwrap();
    let out = lessor().arg("check").arg(&bad).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(
        stderr.contains(
            "bad6.toml:77:49: dhcp6.link[0].prefix-pools[0].delegated-length: a /40 cannot be cut from 2001:db8:100::/48"
        ),
        "{stderr}"
    );

    // [dhcp6] alone is a whole config; without listen or interfaces it serves nothing.
    let alone = dir.join("alone6.toml");
    std::fs::write(&alone, "[dhcp6]\nlisten = [\"2001:db8::1\"]\n").unwrap();
    let out = lessor().arg("check").arg(&alone).output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert!(stdout.contains("dhcp4: not configured"), "{stdout}");
    assert!(
        stdout.contains("dhcp6: server DUID generated (kept in the store), 0 link(s)"),
        "{stdout}"
    );
    let none = dir.join("none6.toml");
    std::fs::write(&none, "[dhcp6]\nport = 547\n").unwrap();
    let out = lessor().arg("check").arg(&none).output().unwrap();
    std::fs::remove_dir_all(&dir).ok();
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(
        stderr.contains("none6.toml:1:2: dhcp6: serves nothing"),
        "{stderr}"
    );
}

#[test]
fn a_broken_leasequery6_section_fails_with_file_line_and_key() {
    let out = lessor().arg("check").arg(example()).output().unwrap();
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert!(
        stdout.contains("leasequery6: answers 2001:db8:ff::/64"),
        "{stdout}"
    );
    let dir = std::env::temp_dir().join(format!("lessor-cli-lq6-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let bad = dir.join("badlq6.toml");
    let text = std::fs::read_to_string(example()).unwrap();
    assert!(text.contains("requesters = [\"2001:db8:ff::/64\"]"));
    std::fs::write(
        &bad,
        text.replace(
            "requesters = [\"2001:db8:ff::/64\"]",
            "requesters = [\"2001:db8:ff::/64\", \"192.0.2.0/24\"]",
        ),
    )
    .unwrap();
    let out = lessor().arg("check").arg(&bad).output().unwrap();
    std::fs::remove_dir_all(&dir).ok();
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(
        stderr.contains(
            "badlq6.toml:84:35: leasequery6.requesters[1]: 192.0.2.0/24 is IPv4: DHCPv6 leasequery is asked over IPv6"
        ),
        "{stderr}"
    );
}

#[test]
fn check_reads_a_postgresql_store_and_never_shows_its_password() {
    let dir = std::env::temp_dir().join(format!("lessor-cli-pg-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let shared = dir.join("shared.toml");
    std::fs::write(
        &shared,
        "[server]\nstore = \"postgresql://lessor:hunter2@db.example/leases\"\nname = \"dhcp-1\"\n\n\
         [server.postgresql]\ntls = \"require\"\nconnect-timeout = \"10s\"\n",
    )
    .unwrap();
    let out = lessor().arg("check").arg(&shared).output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(out.status.success(), "{stdout}");
    assert!(
        stdout.contains(
            "store postgresql://lessor:***@db.example/leases (PostgreSQL, shared; this server's \
             name \"dhcp-1\"; tls require, connect timeout 10s)"
        ),
        "{stdout}"
    );
    let pw = dir.join("pw");
    std::fs::write(&pw, "secret\n").unwrap();
    let readable = dir.join("readable.toml");
    std::fs::write(
        &readable,
        format!(
            "[server]\nstore = \"postgresql://lessor@db.example/leases\"\n\n[server.postgresql]\n\
             password-file = \"{}\"\n",
            pw.display()
        ),
    )
    .unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&pw, std::fs::Permissions::from_mode(0o644)).unwrap();
    let out = lessor().arg("check").arg(&readable).output().unwrap();
    std::fs::remove_dir_all(&dir).ok();
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("readable.toml:5:1: server.postgresql.password-file: the password file")
            && stderr.contains("mode 0644"),
        "{stderr}"
    );
}
