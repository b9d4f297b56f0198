//! `lessor leases`: import an ISC dhcpd.leases file, then list, show, export, and re-import the
//! export into a fresh store.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use common::{free_udp_ports, serve_command, wait_for_log};

const CONFIG: &str = r#"[server]
store = "var/lessor.db"

[dhcp4]
server-identifier = "192.0.2.1"
listen = ["192.0.2.1"]

[[dhcp4.subnet]]
prefix = "198.51.100.0/24"
pools = ["198.51.100.100-198.51.100.199"]
"#;

/// As isc-dhcp-4.4.3-P1 writes it. The active lease ends in 2100, the others in the past; the
/// lease on line 49 is outside the configured subnet, the one on line 54 has no client, and the
/// one on line 58 is malformed.
const LEASES: &str = r#"# The format of this file is documented in the dhcpd.leases(5) manual page.
# This lease file was written by isc-dhcp-4.4.3-P1

# authoring-byte-order entry is generated, DO NOT DELETE
authoring-byte-order little-endian;

server-duid "\000\001\000\001,\376\234\3652\000\000\000\000\001";

lease 198.51.100.100 {
  starts 1 2026/11/23 22:54:04;
  ends 4 2100/11/25 22:54:04;
  cltt 1 2026/11/23 22:54:04;
  binding state active;
  next binding state free;
  rewind binding state free;
  hardware ethernet 02:00:00:00:00:01;
  uid "\001\002\000\000\000\000\001";
  set vendor-class-identifier = "MSFT 5.0";
  option agent.circuit-id "r0";
  option agent.remote-id 73:75:62:2d:31;
  option agent.relay-id 0:1:2:3;
  client-hostname "host-1";
}
lease 198.51.100.101 {
  starts 1 2024/01/01 00:00:00;
  ends 1 2024/01/01 01:00:00;
  tstp 1 2024/01/01 01:00:00;
  cltt 1 2024/01/01 00:00:00;
  binding state active;
  next binding state free;
  hardware ethernet 02:00:00:00:00:02;
}
lease 198.51.100.102 {
  starts 1 2024/01/01 00:00:00;
  ends 1 2024/01/01 00:10:00;
  tstp 1 2024/01/01 00:10:00;
  cltt 1 2024/01/01 00:10:00;
  binding state released;
  next binding state free;
  hardware ethernet 02:00:00:00:00:03;
  option agent.remote-id "modem-3";
}
lease 198.51.100.103 {
  starts 1 2024/01/01 00:00:00;
  ends 1 2024/01/01 01:00:00;
  binding state abandoned;
  hardware ethernet 02:00:00:00:00:04;
}
lease 192.0.2.50 {
  starts 1 2024/01/01 00:00:00;
  binding state active;
  hardware ethernet 02:00:00:00:00:05;
}
lease 198.51.100.104 {
  starts 1 2024/01/01 00:00:00;
  binding state free;
}
lease 198.51.100.105 {
  starts 1 2024/13/01 00:00:00;
  binding state active;
  hardware ethernet 02:00:00:00:00:06;
}
"#;

fn lessor(args: &[&str], dir: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_lessor"))
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap()
}

fn stdout(o: &Output) -> String {
    assert!(
        o.status.success(),
        "status {:?}\nstdout:\n{}\nstderr:\n{}",
        o.status,
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8(o.stdout.clone()).unwrap()
}

struct TempDir(PathBuf);

impl TempDir {
    fn new(name: &str) -> TempDir {
        let d = std::env::temp_dir().join(format!("lessor-leases-{name}-{}", std::process::id()));
        std::fs::remove_dir_all(&d).ok();
        std::fs::create_dir_all(d.join("var")).unwrap();
        std::fs::write(d.join("lessor.toml"), CONFIG).unwrap();
        std::fs::write(d.join("dhcpd.leases"), LEASES).unwrap();
        TempDir(d)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        std::fs::remove_dir_all(&self.0).ok();
    }
}

fn import(dir: &Path) -> String {
    stdout(&lessor(
        &[
            "leases",
            "import",
            "--isc",
            "dhcpd.leases",
            "--config",
            "lessor.toml",
        ],
        dir,
    ))
}

#[test]
fn import_reports_states_and_skips_with_line_numbers() {
    let d = TempDir::new("report");
    let out = import(&d.0);
    assert!(
        out.contains("imported 4: 1 active, 1 declined, 1 expired, 1 released"),
        "{out}"
    );
    assert!(
        out.contains("1 lease(s) active in the file have ended since"),
        "{out}"
    );
    for want in [
        "7 lease block(s) for 7 address(es) (the last block of an address wins), 2 other item(s)",
        "  file metadata (byte order of the writing server), not a lease: 1\n    line 5: \
         authoring-byte-order\n",
        "  the ISC server's own DUID, not a lease: 1\n    line 7: server-duid\n",
        "  outside every configured subnet: 1\n    line 49: lease 192.0.2.50\n",
        "  not active and no hardware address or uid: nothing to remember: 1\n    line 54: lease \
         198.51.100.104\n",
        "  malformed lease block: 1\n    line 58: lease 198.51.100.105: line 59: invalid date",
        "  next binding state (Lessor's own expiry decides): 3, first on line 9\n",
        "wrote 4 binding(s) to var/lessor.db (0 replaced an existing binding)",
    ] {
        assert!(out.contains(want), "{want:?} missing in\n{out}");
    }
    assert!(out.contains("skipped 5"), "{out}");
    assert!(d.0.join("var/lessor.db").exists());
}

#[test]
fn dry_run_writes_nothing() {
    let d = TempDir::new("dry");
    let out = stdout(&lessor(
        &[
            "leases",
            "import",
            "--isc",
            "dhcpd.leases",
            "--config",
            "lessor.toml",
            "--dry-run",
        ],
        &d.0,
    ));
    assert!(out.contains("would import 4"), "{out}");
    assert!(!d.0.join("var/lessor.db").exists());
}

#[test]
fn nothing_importable_exits_1() {
    let d = TempDir::new("none");
    std::fs::write(
        d.0.join("empty.leases"),
        "authoring-byte-order little-endian;\n",
    )
    .unwrap();
    let out = lessor(
        &[
            "leases",
            "import",
            "--isc",
            "empty.leases",
            "--store",
            "x.db",
            "--subnet",
            "10.0.0.0/8",
        ],
        &d.0,
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stdout).contains("imported 0"));
}

#[test]
fn list_show_export_after_import() {
    let d = TempDir::new("list");
    import(&d.0);
    let cfg = ["--config", "lessor.toml"];
    let list = stdout(&lessor(&[&["leases", "list"][..], &cfg].concat(), &d.0));
    let first = list.lines().next().unwrap();
    assert!(first.starts_with("ADDRESS "), "{list}");
    assert!(first.contains("CIRCUIT-ID"), "{list}");
    let row = list
        .lines()
        .find(|l| l.starts_with("198.51.100.100 "))
        .unwrap();
    for want in [
        "active",
        "02:00:00:00:00:01",
        "2100-11-25 22:54:04",
        "r0",
        "sub-1",
        "00:01:02:03",
        "host-1",
    ] {
        assert!(row.contains(want), "{want:?} missing in {row:?}");
    }
    assert!(list.contains("4 binding(s)"), "{list}");

    let only = stdout(&lessor(
        &[
            &[
                "leases",
                "list",
                "--state",
                "released",
                "--remote-id",
                "modem-3",
            ][..],
            &cfg,
        ]
        .concat(),
        &d.0,
    ));
    assert!(
        only.contains("198.51.100.102") && only.contains("1 binding(s)"),
        "{only}"
    );
    let by_hex = stdout(&lessor(
        &[
            &["leases", "list", "--relay-id", "00:01:02:03", "--json"][..],
            &cfg,
        ]
        .concat(),
        &d.0,
    ));
    assert_eq!(by_hex.lines().count(), 1, "{by_hex}");
    let by_mac = stdout(&lessor(
        &[
            &[
                "leases",
                "list",
                "--mac",
                "02:00:00:00:00:04",
                "--subnet",
                "198.51.100.0/25",
            ][..],
            &cfg,
        ]
        .concat(),
        &d.0,
    ));
    assert!(
        by_mac.contains("198.51.100.103") && by_mac.contains("declined"),
        "{by_mac}"
    );

    let show = stdout(&lessor(
        &[&["leases", "show", "198.51.100.100"][..], &cfg].concat(),
        &d.0,
    ));
    for want in [
        "vendor-class",
        "MSFT 5.0",
        "option 82",
        "01:02:72:30:02:05:73:75:62:2d:31:0c:04:00:01:02:03",
        "sub-option 1 circuit-id",
        "\"r0\"",
        "sub-option 2 remote-id",
        "sub-option 12 relay-id",
        "t1",
        "state since",
    ] {
        assert!(show.contains(want), "{want:?} missing in\n{show}");
    }
    let missing = lessor(
        &[&["leases", "show", "198.51.100.99"][..], &cfg].concat(),
        &d.0,
    );
    assert_eq!(missing.status.code(), Some(1));

    let export = stdout(&lessor(&[&["leases", "export"][..], &cfg].concat(), &d.0));
    assert_eq!(export.lines().count(), 4, "{export}");
    let line = export
        .lines()
        .find(|l| l.contains("\"198.51.100.100\""))
        .unwrap();
    for want in [
        "\"vendor_class_id_text\":\"MSFT 5.0\"",
        "\"relay_agent_information\":\"0102723002057375622d310c0400010203\"",
        "\"end_time\":\"2100-11-25T22:54:04Z\"",
        "\"client_id\":\"01020000000001\"",
        // An ISC lease entered its state when its times say: active since it started.
        "\"state_since\":1795474444",
        "\"state_since_time\":\"2026-11-23T22:54:04Z\"",
    ] {
        assert!(line.contains(want), "{want:?} missing in {line}");
    }
    // Released (and expired) since their end.
    let released = export
        .lines()
        .find(|l| l.contains("\"198.51.100.102\""))
        .unwrap();
    assert!(
        released.contains("\"state_since_time\":\"2024-01-01T00:10:00Z\""),
        "{released}"
    );
}

#[test]
fn export_then_import_json_round_trips() {
    let d = TempDir::new("roundtrip");
    import(&d.0);
    let export = stdout(&lessor(
        &["leases", "export", "--json", "--store", "var/lessor.db"],
        &d.0,
    ));
    // A time the other fields do not imply (a renewed lease) comes back as it was.
    assert!(export.contains("\"state_since\":1795474444,"), "{export}");
    let export = export
        .replacen(
            "\"state_since\":1795474444,",
            "\"state_since\":1795400000,",
            1,
        )
        .replacen(
            "\"state_since_time\":\"2026-11-23T22:54:04Z\"",
            "\"state_since_time\":\"2026-11-23T02:13:20Z\"",
            1,
        );
    std::fs::write(d.0.join("backup.jsonl"), &export).unwrap();
    let out = stdout(&lessor(
        &[
            "leases",
            "import",
            "--json",
            "backup.jsonl",
            "--store",
            "fresh.db",
        ],
        &d.0,
    ));
    assert!(out.contains("imported 4"), "{out}");
    let again = stdout(&lessor(&["leases", "export", "--store", "fresh.db"], &d.0));
    assert_eq!(again, export);
}

/// More bindings than one write transaction takes (1000): every one arrives, each once.
#[test]
fn import_json_writes_every_binding_across_transactions() {
    let d = TempDir::new("json-many");
    let lines: String = (0..2500u32)
        .map(|i| {
            format!(
                "{{\"address\":\"2001:db8:1::{i:x}\",\"prefix_len\":128,\"ia_type\":\"ia-na\",\
                 \"iaid\":1,\"state\":\"active\",\"link\":\"2001:db8:1::/64\",\"start\":1,\
                 \"preferred_end\":2,\"valid_end\":3,\"t1\":1,\"t2\":1,\"cltt\":1,\
                 \"duid\":\"0003000102{i:08x}\",\"sequence\":{}}}\n",
                i + 1
            )
        })
        .collect();
    std::fs::write(d.0.join("many.jsonl"), lines).unwrap();
    let out = stdout(&lessor(
        &[
            "leases",
            "import",
            "--json",
            "many.jsonl",
            "--store",
            "many.db",
        ],
        &d.0,
    ));
    assert!(out.contains("imported 2500"), "{out}");
    let export = stdout(&lessor(&["leases", "export", "--store", "many.db"], &d.0));
    let mut got: Vec<String> = export
        .lines()
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).unwrap();
            v["address"].as_str().unwrap().to_owned()
        })
        .collect();
    assert_eq!(got.len(), 2500);
    got.sort();
    got.dedup();
    assert_eq!(got.len(), 2500);
}

#[test]
fn a_store_is_required() {
    let d = TempDir::new("nostore");
    let out = lessor(&["leases", "list"], &d.0);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("--config FILE") && err.contains("--store PATH"),
        "{err}"
    );
    let out = lessor(&["leases", "list", "--store", "missing.db"], &d.0);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no store there"));
    assert!(!d.0.join("missing.db").exists());
    let out = lessor(
        &[
            "leases",
            "import",
            "--isc",
            "dhcpd.leases",
            "--store",
            "x.db",
        ],
        &d.0,
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--subnet PREFIX"));
}

/// The relay-id line isc-dhcp-4.4.3 writes for option 82 sub-option 12 (issue 11, item 7).
const RELAY_ID_LEASE: &str = "lease 192.0.2.100 {
  starts 3 2026/12/02 17:10:05;
  ends 3 2100/12/02 17:20:05;
  cltt 3 2026/12/02 17:10:05;
  binding state active;
  hardware ethernet 02:00:00:00:0e:01;
  option agent.circuit-id \"c-1\";
  option agent.remote-id \"rid-1\";
  option agent.unknown-12 0:3:0:1:2:0:0:5e:0:53:1;
  option domain-name \"example\";
}
";

#[test]
fn relay_id_written_as_unknown_12_is_imported_and_listed() {
    let d = TempDir::new("relayid");
    std::fs::write(d.0.join("relay.leases"), RELAY_ID_LEASE).unwrap();
    let at = ["--store", "r.db"];
    let out = stdout(&lessor(
        &[
            &[
                "leases",
                "import",
                "--isc",
                "relay.leases",
                "--subnet",
                "192.0.2.0/24",
            ][..],
            &at,
        ]
        .concat(),
        &d.0,
    ));
    assert!(out.contains("imported 1: 1 active"), "{out}");
    // Nothing dropped without a word: the option not imported is listed with its line.
    assert!(
        out.contains("  option domain-name: 1, first on line 10\n"),
        "{out}"
    );
    let list = stdout(&lessor(
        &[
            &[
                "leases",
                "list",
                "--relay-id",
                "00:03:00:01:02:00:00:5e:00:53:01",
            ][..],
            &at,
        ]
        .concat(),
        &d.0,
    ));
    assert!(list.contains("1 binding(s)"), "{list}");
    let show = stdout(&lessor(
        &[&["leases", "show", "192.0.2.100"][..], &at].concat(),
        &d.0,
    ));
    assert!(
        show.contains("01:03:63:2d:31:02:05:72:69:64:2d:31:0c:0b:00:03:00:01:02:00:00:5e:00:53:01"),
        "{show}"
    );
}

/// A config in `conf/` with a relative store, used from the directory above it and from a
/// sibling directory: every command that takes the config finds `conf/var/lessor.db`.
#[test]
fn every_command_resolves_the_store_from_the_config_directory() {
    let d = TempDir::new("cwd");
    let conf = d.0.join("conf");
    std::fs::create_dir_all(conf.join("var")).unwrap();
    std::fs::create_dir_all(d.0.join("elsewhere")).unwrap();
    let (port, relay_port) = free_udp_ports();
    std::fs::write(
        conf.join("lessor.toml"),
        format!(
            "[server]\nstore = \"var/lessor.db\"\n\n[dhcp4]\nserver-identifier = \"127.0.0.1\"\n\
             listen = [\"127.0.0.1\"]\nport = {port}\nrelay-port = {relay_port}\n\n\
             [[dhcp4.subnet]]\nprefix = \"198.51.100.0/24\"\n\
             pools = [\"198.51.100.100-198.51.100.199\"]\n"
        ),
    )
    .unwrap();
    let cfg = ["--config", "conf/lessor.toml"];
    let out = stdout(&lessor(
        &[&["leases", "import", "--isc", "dhcpd.leases"][..], &cfg].concat(),
        &d.0,
    ));
    assert!(
        out.contains("wrote 4 binding(s) to conf/var/lessor.db"),
        "{out}"
    );
    assert!(d.0.join("conf/var/lessor.db").exists());
    assert!(!d.0.join("conf/conf").exists());
    for (args, dir) in [
        (&cfg[..], &d.0),
        (
            &["--config", "../conf/lessor.toml"][..],
            &d.0.join("elsewhere"),
        ),
    ] {
        let list = stdout(&lessor(&[&["leases", "list"][..], args].concat(), dir));
        assert!(list.contains("4 binding(s)"), "{list}");
    }
    let check = stdout(&lessor(&["check", "conf/lessor.toml"], &d.0));
    assert!(check.contains("store conf/var/lessor.db"), "{check}");
    let log = d.0.join("serve.log");
    let mut serve = serve_command(Path::new("conf/lessor.toml"), &log)
        .current_dir(&d.0)
        .spawn()
        .unwrap();
    wait_for_log(
        &log,
        "dhcp4: listening",
        Instant::now() + Duration::from_secs(20),
    );
    serve.kill().ok();
    serve.wait().ok();
    let text = std::fs::read_to_string(&log).unwrap();
    assert!(text.contains("4 binding(s) loaded"), "{text}");
}

// DHCPv6 (issue 13): dhcpd6.leases and kea-leases6.csv imports, then list, show, export.

const CONFIG6: &str = r#"[server]
store = "var/lessor.db"

[dhcp6]
listen = ["2001:db8::1"]

[[dhcp6.link]]
prefix = "2001:db8:1::/64"
pools = ["2001:db8:1::1000-2001:db8:1::1fff"]
prefix-pools = [{ prefix = "2001:db8:100::/48", delegated-length = 56 }]
"#;

/// As isc-dhcp-4.4.3-P1 `dhcpd -6` writes it. The address ends in 2100, the prefix has ended;
/// the block on line 27 is outside every link, the one on line 34 a temporary address, the one
/// on line 39 malformed.
const LEASES6: &str = r#"# The format of this file is documented in the dhcpd.leases(5) manual page.
# This lease file was written by isc-dhcp-4.4.3-P1

# authoring-byte-order entry is generated, DO NOT DELETE
authoring-byte-order little-endian;

server-duid "\000\001\000\001.\322\377\020\002\000\000\000\000\376";

ia-na "\001\000\000\000\000\001\000\001.\322\377\000\002\000\000\000\000\001" {
  cltt 4 2026/11/26 10:00:00;
  iaaddr 2001:db8:1::1000 {
    binding state active;
    preferred-life 1800;
    max-life 3600;
    ends 5 2100/11/26 11:00:00;
  }
}
ia-pd "\002\000\000\000\000\001\000\001.\322\377\000\002\000\000\000\000\002" {
  cltt 4 2026/11/26 10:00:00;
  iaprefix 2001:db8:100:200::/56 {
    binding state active;
    preferred-life 1800;
    max-life 3600;
    ends 4 2026/11/26 11:00:00;
  }
}
ia-na "\003\000\000\000\000\001\000\001.\322\377\000\002\000\000\000\000\003" {
  iaaddr 2001:db8:9::1 {
    binding state active;
    max-life 3600;
    ends 5 2100/11/26 11:00:00;
  }
}
ia-ta "\004\000\000\000\000\001\000\001.\322\377\000\002\000\000\000\000\003" {
  iaaddr 2001:db8:1::77 {
    binding state active;
  }
}
ia-na "\005\000\000\000\000\001\000\001.\322\377\000\002\000\000\000\000\005" {
  iaaddr 2001:db8:1::1005 {
    binding state active;
    ends 5 2100/13/26 11:00:00;
  }
}
"#;

/// As Kea 2.2 writes it with `store-extended-info` on: the prefix carries its relay's data.
const KEA6: &str = "address,duid,valid_lifetime,expire,subnet_id,pref_lifetime,lease_type,iaid,prefix_len,fqdn_fwd,fqdn_rev,hostname,hwaddr,state,user_context,hwtype,hwaddr_source
2001:db8:1::1000,00:01:00:01:2e:d2:ff:00:02:00:00:00:00:01,3600,4100000000,1,1800,0,1,128,0,0,,02:00:00:00:00:01,0,,1,2
2001:db8:100:200::,00:01:00:01:2e:d2:ff:00:02:00:00:00:00:02,3600,4100000000,1,1800,2,2,56,0,0,,,0,{ \"ISC\": { \"relay-info\": [ { \"hop\": 0&#x2c \"link\": \"2001:db8:1::1\"&#x2c \"options\": \"0x001200036765300025000800000DE96A2D3132\"&#x2c \"peer\": \"fe80::2\"&#x2c \"remote-id\": \"00000DE96A2D3132\" } ] } },0,0
2001:db8:1::1001,00,3600,4100000000,1,1800,0,0,128,0,0,,,1,,0,0
2001:db8:1::1002,00:03:00:01:02:00:00:00:00:03,0,4100000000,1,1800,0,3,128,0,0,,,0,,0,0
2001:db8:1::1003,00:03:00:01:02:00:00:00:00:03,3600,4100000000,1,1800,1,3,128,0,0,,,0,,0,0
";

fn dir6(name: &str) -> TempDir {
    let d = TempDir::new(name);
    std::fs::write(d.0.join("lessor6.toml"), CONFIG6).unwrap();
    std::fs::write(d.0.join("dhcpd6.leases"), LEASES6).unwrap();
    std::fs::write(d.0.join("kea-leases6.csv"), KEA6).unwrap();
    d
}

#[test]
fn isc6_import_reports_and_lists() {
    let d = dir6("isc6");
    let args = [
        "leases",
        "import",
        "--isc6",
        "dhcpd6.leases",
        "--config",
        "lessor6.toml",
    ];
    let out = stdout(&lessor(&args, &d.0));
    for want in [
        "dhcpd6.leases: 5 IA block(s) for 4 address(es) and prefix(es)",
        "1 lease(s) active in the file have ended since: imported as expired",
        "imported 2: 1 active, 1 expired",
        "skipped 5",
        "line 7: server-duid: the ISC server's own DUID, not a lease; to keep it, set `[dhcp6] \
         server-duid = \"00:01:00:01:2e:d2:ff:10:02:00:00:00:00:fe\"`",
        "line 34: ia-ta IAID 4 DUID 00:01:00:01:2e:d2:ff:00:02:00:00:00:00:03\n",
        "line 39: ia-na: line 42: invalid date `2100/13/26`",
        "line 28: 2001:db8:9::1",
        "wrote 2 DHCPv6 binding(s) to var/lessor.db (0 replaced an existing binding)",
    ] {
        assert!(out.contains(want), "{want}\n{out}");
    }
    let list = stdout(&lessor(
        &["leases", "list", "--v6", "--config", "lessor6.toml"],
        &d.0,
    ));
    let rows: Vec<&str> = list.lines().collect();
    assert!(rows[0].starts_with("ADDRESS/PREFIX  "), "{list}");
    assert!(
        rows[1].starts_with("2001:db8:1::1000       ia-na  1     active   00:01:00:01:2e:d2:ff:00:02:00:00:00:00:01  2001:db8:1::/64  2100-11-26 11:00:00"),
        "{list}"
    );
    assert!(
        rows[2].starts_with("2001:db8:100:200::/56  ia-pd  2     expired"),
        "{list}"
    );
    assert_eq!(rows[3], "2 DHCPv6 binding(s)");
    // The DHCPv4 list is not the DHCPv6 one.
    let v4 = stdout(&lessor(
        &["leases", "list", "--store", "var/lessor.db"],
        &d.0,
    ));
    assert!(v4.ends_with("0 binding(s)\n"), "{v4}");

    // An address inside a delegated prefix shows the prefix's binding.
    let show = stdout(&lessor(
        &[
            "leases",
            "show",
            "2001:db8:100:2ff::1",
            "--store",
            "var/lessor.db",
        ],
        &d.0,
    ));
    assert!(show.starts_with("prefix         2001:db8:100:200::/56\nia             ia-pd\niaid           2\nstate          expired\n"), "{show}");
    assert!(
        show.contains("valid end      2026-11-26 11:00:00 (1795690800)\n"),
        "{show}"
    );
    assert!(
        show.contains("t1             2026-11-26 10:15:00"),
        "{show}"
    );
    let out = lessor(
        &[
            "leases",
            "show",
            "2001:db8:100:300::",
            "--store",
            "var/lessor.db",
        ],
        &d.0,
    );
    assert_eq!(out.status.code(), Some(1));
    let json = stdout(&lessor(
        &[
            "leases",
            "show",
            "2001:db8:100:200::/56",
            "--json",
            "--store",
            "var/lessor.db",
        ],
        &d.0,
    ));
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(v["ia_type"], "ia-pd");
    assert_eq!(v["duid"], "000100012ed2ff000200000000 02".replace(' ', ""));
    assert_eq!(v["valid_end"], 1_795_690_800u64);
    assert_eq!(v["link"], "2001:db8:1::/64");

    // Importing the same file again replaces both.
    let out = stdout(&lessor(&args, &d.0));
    assert!(out.contains("(2 replaced an existing binding)"), "{out}");
}

#[test]
fn kea6_import_keeps_relay_data() {
    let d = dir6("kea6");
    let out = stdout(&lessor(
        &[
            "leases",
            "import",
            "--kea6",
            "kea-leases6.csv",
            "--config",
            "lessor6.toml",
        ],
        &d.0,
    ));
    for want in [
        "kea-leases6.csv: 5 row(s) for 5 address(es) and prefix(es)",
        "imported 3: 2 active, 1 declined",
        "line 5: row 2001:db8:1::1002",
        "line 6: row 2001:db8:1::1003",
        "  hwaddr: 1, first on line 2",
    ] {
        assert!(out.contains(want), "{want}\n{out}");
    }
    let show = stdout(&lessor(
        &[
            "leases",
            "show",
            "2001:db8:100:200::/56",
            "--config",
            "lessor6.toml",
        ],
        &d.0,
    ));
    for want in [
        "interface-id   ge0\n",
        "remote-id      enterprise 3561 j-12\n",
        "  hop 0        hop-count 0, link-address 2001:db8:1::1, peer-address fe80::2, options: 18 interface-id, 37 remote-id\n",
    ] {
        assert!(show.contains(want), "{want}\n{show}");
    }
    // Filters: by remote-id (hex), by state, by DUID, by link.
    let list = |extra: &[&str]| {
        let mut args = vec!["leases", "list", "--v6", "--config", "lessor6.toml"];
        args.extend_from_slice(extra);
        stdout(&lessor(&args, &d.0))
    };
    assert!(list(&["--remote-id", "00000de96a2d3132"]).ends_with("1 DHCPv6 binding(s)\n"));
    assert!(list(&["--state", "declined"]).contains("2001:db8:1::1001"));
    assert!(
        list(&["--duid", "00:01:00:01:2e:d2:ff:00:02:00:00:00:00:01"])
            .ends_with("1 DHCPv6 binding(s)\n")
    );
    assert!(list(&["--link", "2001:db8:1::/64"]).ends_with("3 DHCPv6 binding(s)\n"));
    assert!(list(&["--prefix", "2001:db8:100::/48"]).ends_with("1 DHCPv6 binding(s)\n"));
    let json = list(&["--json", "--state", "active"]);
    assert_eq!(json.lines().count(), 2);
    assert!(
        json.contains("\"remote_id\":\"00000de96a2d3132\""),
        "{json}"
    );

    // Export holds both families and restores into a fresh store as it was.
    import(&d.0);
    let export = stdout(&lessor(
        &["leases", "export", "--config", "lessor6.toml"],
        &d.0,
    ));
    assert_eq!(export.lines().count(), 4 + 3, "{export}");
    std::fs::write(d.0.join("backup.jsonl"), &export).unwrap();
    let out = stdout(&lessor(
        &[
            "leases",
            "import",
            "--json",
            "backup.jsonl",
            "--store",
            "fresh.db",
        ],
        &d.0,
    ));
    assert!(out.contains("imported 7"), "{out}");
    let again = stdout(&lessor(&["leases", "export", "--store", "fresh.db"], &d.0));
    assert_eq!(again, export);
}

#[test]
fn v6_imports_need_links_and_one_source() {
    let d = dir6("links6");
    // No configuration: the links come from --link.
    let out = lessor(
        &[
            "leases",
            "import",
            "--isc6",
            "dhcpd6.leases",
            "--store",
            "x.db",
        ],
        &d.0,
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--link PREFIX"));
    assert!(!d.0.join("x.db").exists());
    let out = stdout(&lessor(
        &[
            "leases",
            "import",
            "--isc6",
            "dhcpd6.leases",
            "--store",
            "x.db",
            "--link",
            "2001:db8::/32",
            "--dry-run",
        ],
        &d.0,
    ));
    assert!(out.contains("would import 3: 2 active, 1 expired"), "{out}");
    assert!(out.contains("dry run: x.db not changed"), "{out}");
    assert!(!d.0.join("x.db").exists());
    // A DHCPv4 config has no links; a DHCPv4 file read as DHCPv6 says which flag to use.
    let out = lessor(
        &[
            "leases",
            "import",
            "--isc6",
            "dhcpd.leases",
            "--config",
            "lessor.toml",
        ],
        &d.0,
    );
    assert_eq!(out.status.code(), Some(1));
    let out = lessor(
        &[
            "leases",
            "import",
            "--isc6",
            "dhcpd.leases",
            "--config",
            "lessor6.toml",
        ],
        &d.0,
    );
    assert_eq!(out.status.code(), Some(1), "nothing imported");
    assert!(String::from_utf8_lossy(&out.stdout)
        .contains("DHCPv4 lease in a DHCPv6 import: import the file with `--isc`"));
    // One source at a time; DHCPv4 filters are not DHCPv6 ones.
    for args in [
        &[
            "leases", "import", "--isc", "a", "--isc6", "b", "--store", "x.db",
        ][..],
        &["leases", "import", "--store", "x.db"][..],
        &[
            "leases",
            "list",
            "--v6",
            "--mac",
            "02:00:00:00:00:01",
            "--store",
            "x.db",
        ][..],
        &[
            "leases",
            "list",
            "--prefix",
            "2001:db8::/32",
            "--store",
            "x.db",
        ][..],
    ] {
        assert_eq!(lessor(args, &d.0).status.code(), Some(2), "{args:?}");
    }
    let out = lessor(
        &[
            "leases",
            "list",
            "--v6",
            "--state",
            "advertised",
            "--store",
            "x.db",
        ],
        &d.0,
    );
    assert_eq!(out.status.code(), Some(1));
}

/// As Kea 2.2's `kea-dhcp4` writes it (relay agent information as its `store-extended-info`
/// keeps it): an active lease through a relay with circuit-id and remote-id, a declined one
/// (no client left), an expired-reclaimed one with a hostname holding an escaped comma, one
/// outside the subnet, and a row cut short.
const KEA4: &str = "address,hwaddr,client_id,valid_lifetime,expire,subnet_id,fqdn_fwd,fqdn_rev,hostname,state,user_context
198.51.100.110,02:00:00:00:00:10,01:02:00:00:00:00:10,3600,4100000000,1,0,0,,0,{ \"ISC\": { \"relay-agent-info\": \"0x01036765300206726964204134\" } }
198.51.100.111,,,86400,4100000000,1,0,0,,1,
198.51.100.112,02:00:00:00:00:12,,3600,1700000000,1,1,1,pc&#x2c12.example.org,2,
203.0.113.5,02:00:00:00:00:05,,3600,4100000000,7,0,0,,0,
198.51.100.113,02:00:00:00:00:13,,3600
";

#[test]
fn kea_import_of_a_v4_memfile_then_show_list_export() {
    let d = dir6("kea4");
    std::fs::write(d.0.join("kea-leases4.csv"), KEA4).unwrap();
    let kea = |file: &str, extra: &[&str]| {
        let mut args = vec!["leases", "import", "--kea", file, "--config", "lessor.toml"];
        args.extend_from_slice(extra);
        lessor(&args, &d.0)
    };
    let dry = stdout(&kea("kea-leases4.csv", &["--dry-run"]));
    assert!(dry.contains("would import 2: 1 active, 1 expired"), "{dry}");
    assert!(dry.contains("dry run: "), "{dry}");
    assert!(!d.0.join("var/lessor.db").exists());
    let out = stdout(&kea("kea-leases4.csv", &[]));
    for want in [
        "kea-leases4.csv: 5 row(s) for 4 address(es) (the last row of an address wins)\n",
        "imported 2: 1 active, 1 expired\n",
        "skipped 3\n",
        "    line 3: lease 198.51.100.111\n",
        "  outside every configured subnet: 1\n    line 5: lease 203.0.113.5\n",
        "  malformed row: 1\n    line 6: row: 4 value(s) where the header names 11 column(s)\n",
        "  fqdn_fwd/fqdn_rev (DNS updates done by Kea): 1, first on line 4\n",
        "wrote 2 binding(s) to ",
    ] {
        assert!(out.contains(want), "{want}\n{out}");
    }
    let show = stdout(&lessor(
        &[
            "leases",
            "show",
            "198.51.100.110",
            "--config",
            "lessor.toml",
        ],
        &d.0,
    ));
    for want in ["02:00:00:00:00:10", "ge0", "rid A4"] {
        assert!(show.contains(want), "{want}\n{show}");
    }
    let json = stdout(&lessor(
        &[
            "leases",
            "show",
            "198.51.100.112",
            "--json",
            "--config",
            "lessor.toml",
        ],
        &d.0,
    ));
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(v["state"], "expired");
    assert_eq!(v["hostname_text"], "pc,12.example.org");
    assert_eq!(
        (v["start"].as_u64(), v["end"].as_u64()),
        (Some(1_699_996_400), Some(1_700_000_000))
    );
    let list = stdout(&lessor(
        &[
            "leases",
            "list",
            "--remote-id",
            "rid A4",
            "--config",
            "lessor.toml",
        ],
        &d.0,
    ));
    assert!(list.contains("198.51.100.110"), "{list}");
    assert!(!list.contains("198.51.100.112"), "{list}");
    let export = stdout(&lessor(
        &["leases", "export", "--config", "lessor.toml"],
        &d.0,
    ));
    assert_eq!(export.lines().count(), 2, "{export}");
    assert!(
        export.contains("\"client_id\":\"01020000000010\""),
        "{export}"
    );

    // --kea reads a kea-leases6.csv as --kea6 does (told apart by the header) ...
    let out = stdout(&lessor(
        &[
            "leases",
            "import",
            "--kea",
            "kea-leases6.csv",
            "--config",
            "lessor6.toml",
        ],
        &d.0,
    ));
    assert!(
        out.contains("kea-leases6.csv: 5 row(s) for 5 address(es) and prefix(es)"),
        "{out}"
    );
    // ... and refuses a file that is neither.
    let out = kea("dhcpd.leases", &[]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("dhcpd.leases: the header (line 1) names neither `duid` (kea-leases6.csv) nor `client_id` (kea-leases4.csv): not a Kea memfile"),
        "{err}"
    );
}

/// `leases migrate` between two SQLite stores: what it does between SQLite and PostgreSQL, on
/// the same code (the PostgreSQL side is tested where a database runs).
#[test]
fn migrate_copies_both_families_exactly_and_refuses_a_full_destination() {
    let d = dir6("migrate");
    import(&d.0);
    stdout(&lessor(
        &[
            "leases",
            "import",
            "--isc6",
            "dhcpd6.leases",
            "--config",
            "lessor6.toml",
        ],
        &d.0,
    ));
    let migrate = |extra: &[&str]| {
        lessor(
            &[
                &[
                    "leases",
                    "migrate",
                    "--from",
                    "var/lessor.db",
                    "--to",
                    "copy.db",
                ][..],
                extra,
            ]
            .concat(),
            &d.0,
        )
    };
    let out = stdout(&migrate(&[]));
    assert!(
        out.contains(
            "copied 4 DHCPv4 and 2 DHCPv6 binding(s) from var/lessor.db to copy.db (0 replaced \
             an existing binding); checked by loading copy.db again"
        ),
        "{out}"
    );
    // Every field, the sequence and the state's date included.
    let export = |store: &str| stdout(&lessor(&["leases", "export", "--store", store], &d.0));
    assert_eq!(export("copy.db"), export("var/lessor.db"));
    assert!(export("copy.db").contains("\"sequence\""));

    let again = migrate(&[]);
    assert_eq!(again.status.code(), Some(1));
    let err = String::from_utf8_lossy(&again.stderr);
    assert!(
        err.contains("copy.db holds 4 DHCPv4 and 2 DHCPv6 binding(s) already: nothing copied"),
        "{err}"
    );
    let out = stdout(&migrate(&["--force"]));
    assert!(out.contains("(6 replaced an existing binding)"), "{out}");

    let bad = lessor(
        &[
            "leases",
            "migrate",
            "--from",
            "mysql://u:hunter2@db/x",
            "--to",
            "copy.db",
        ],
        &d.0,
    );
    assert_eq!(bad.status.code(), Some(1));
    let err = String::from_utf8_lossy(&bad.stderr);
    assert!(
        err.contains("mysql://...") && !err.contains("hunter2"),
        "{err}"
    );
    let same = lessor(
        &["leases", "migrate", "--from", "copy.db", "--to", "copy.db"],
        &d.0,
    );
    assert!(String::from_utf8_lossy(&same.stderr).contains("the same store"));
    let none = lessor(
        &["leases", "migrate", "--from", "none.db", "--to", "other.db"],
        &d.0,
    );
    assert!(String::from_utf8_lossy(&none.stderr).contains("none.db: no store there"));
    assert!(!d.0.join("other.db").exists());

    // A configuration names either end: its `[server] store`, with its PostgreSQL settings.
    let out = stdout(&lessor(
        &[
            "leases",
            "migrate",
            "--from-config",
            "lessor6.toml",
            "--to",
            "from-config.db",
        ],
        &d.0,
    ));
    assert!(
        out.contains("copied 4 DHCPv4 and 2 DHCPv6 binding(s) from "),
        "{out}"
    );
    assert_eq!(export("from-config.db"), export("var/lessor.db"));
    std::fs::write(
        d.0.join("to.toml"),
        CONFIG6.replace("var/lessor.db", "to-config.db"),
    )
    .unwrap();
    assert!(CONFIG6.contains("var/lessor.db"));
    stdout(&lessor(
        &[
            "leases",
            "migrate",
            "--from",
            "copy.db",
            "--to-config",
            "to.toml",
        ],
        &d.0,
    ));
    assert_eq!(export("to-config.db"), export("var/lessor.db"));
    // One of each end, exactly.
    for args in [
        &[
            "--from",
            "copy.db",
            "--from-config",
            "lessor6.toml",
            "--to",
            "x.db",
        ][..],
        &["--to", "x.db"][..],
        &["--from", "copy.db"][..],
    ] {
        let o = lessor(&[&["leases", "migrate"][..], args].concat(), &d.0);
        assert_eq!(o.status.code(), Some(2), "{args:?}");
    }
    assert!(!d.0.join("x.db").exists());
}
