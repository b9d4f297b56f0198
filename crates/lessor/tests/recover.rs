//! Recovery at start ([`lessor_requestor::recover`]) against two real `lessor serve` on loopback
//! that hold overlapping bindings of one relay-id with different client-last-transaction-times
//! (imported from ISC dhcpd.leases files, as a failover pair would hold them): the merged table
//! takes each address from the server that heard its client last; with one server down, that
//! server is reported and the other's bindings are still returned. Then `lessor relay` itself
//! on loopback: its table rebuilt at start from the two servers, a dead third server not keeping
//! it from being ready, and an address asked on demand by UDP leasequery. Only 127.0.0.1
//! sockets; addresses in 198.51.100.0/24 are payload only.

mod common;

use std::net::{Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::time::Duration;

use common::{
    free_tcp_port, free_udp_port, free_udp_ports, lessor, wait_for_log, write_config, Server,
};
use lessor_requestor::bulk::tcp::Error;
use lessor_requestor::bulk::End;
use lessor_requestor::recover::{recover4, Recovery4};
use lessor_requestor::QueryKey;
use lessor_wire::framing::Dialect;

/// The relay-id of the relay that recovers (sub-option 12 as ISC writes it).
const RELAY_ID: [u8; 4] = [0, 1, 2, 3];

/// `(last octet, MAC's last octet, cltt)`; `cltt` as ISC writes it, weekday first.
type Lease = (u8, u8, &'static str);

const OLD: &str = "3 2025/01/01 00:00:00";
const NEW: &str = "0 2025/06/01 00:00:00";

fn leases_file(leases: &[Lease], other_relay: &[u8]) -> String {
    let mut f = String::from("authoring-byte-order little-endian;\n\n");
    let mut block = |last: u8, mac: u8, cltt: &str, relay: &str| {
        f.push_str(&format!(
            "lease 198.51.100.{last} {{\n  starts {cltt};\n  ends 4 2100/11/25 22:54:04;\n  \
             cltt {cltt};\n  binding state active;\n  hardware ethernet 02:00:00:00:00:{mac:02x};\n  \
             option agent.circuit-id \"lo\";\n  option agent.remote-id \"r-{mac}\";\n  \
             option agent.relay-id {relay};\n}}\n"
        ))
    };
    for &(last, mac, cltt) in leases {
        block(last, mac, cltt, "0:1:2:3");
    }
    for &last in other_relay {
        block(last, 0xee, NEW, "9:9");
    }
    f
}

/// A `lessor serve` in `dir` with a bulk listener, its store imported from `leases`.
fn start(dir: &Path, leases: &str) -> (Server, SocketAddr) {
    let (server, bulk, _) = start_udp(dir, leases);
    (server, bulk)
}

/// [`start`], and the server's UDP port (leasequery answered at the query's source port).
fn start_udp(dir: &Path, leases: &str) -> (Server, SocketAddr, u16) {
    let ports = free_udp_ports();
    let bulk_port = free_tcp_port();
    let extra = format!(
        "\n[leasequery4]\nrequesters = [\"127.0.0.1/32\"]\nreply-to-source-port = [\"127.0.0.1/32\"]\n\n[leasequery4.bulk]\nlisten = [\"127.0.0.1\"]\nport = {bulk_port}\n"
    );
    let pool = ("198.51.100.0/24", "198.51.100.100-198.51.100.199");
    let config = write_config(dir, ports, pool, &extra);
    let file = dir.join("dhcpd.leases");
    std::fs::write(&file, leases).unwrap();
    let out = lessor()
        .args(["leases", "import", "--isc"])
        .arg(&file)
        .arg("--config")
        .arg(&config)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let server = Server::start(dir, &config, "bulk leasequery: listening");
    (
        server,
        SocketAddr::from(([127, 0, 0, 1], bulk_port)),
        ports.0,
    )
}

fn dir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("lessor-recover-{name}-{}", std::process::id()));
    std::fs::remove_dir_all(&d).ok();
    d
}

fn recovery(servers: Vec<(SocketAddr, Dialect)>) -> Recovery4 {
    let mut r = Recovery4::new(servers, QueryKey::RelayId(RELAY_ID.to_vec()));
    r.bulk.conn_timeout = Duration::from_secs(5);
    r.bulk.data_timeout = Duration::from_secs(5);
    r.bulk.first_retry = Duration::from_millis(20);
    r.bulk.max_retry = Duration::from_millis(80);
    r
}

fn ip(last: u8) -> Ipv4Addr {
    Ipv4Addr::new(198, 51, 100, last)
}

/// A CLTT the relay rebuilt: the server sends its age, the relay counts it back from its own
/// clock, so the two clocks' seconds may straddle a boundary (one second either way).
fn assert_near(cltt: &serde_json::Value, expected: u64) {
    let got = cltt.as_u64().unwrap_or_else(|| panic!("cltt {cltt}"));
    assert!(
        got.abs_diff(expected) <= 1,
        "cltt {got}, expected {expected} (+-1)"
    );
}

#[test]
fn two_servers_with_overlapping_bindings_merge_by_cltt() {
    // .100 and .101 on both, each heard last by another server; .102 and .103 on one only;
    // .110 belongs to another relay.
    let a = leases_file(
        &[(100, 0xa0, NEW), (101, 0xa1, OLD), (103, 0xa3, OLD)],
        &[110],
    );
    let b = leases_file(&[(100, 0xb0, OLD), (101, 0xb1, NEW), (102, 0xb2, OLD)], &[]);
    let (_sa, a_addr) = start(&dir("a"), &a);
    let (_sb, b_addr) = start(&dir("b"), &b);
    for dialects in [
        [Dialect::Rfc6926, Dialect::Rfc6926],
        [Dialect::Draft, Dialect::Rfc6926],
    ] {
        let (report, merged) = recover4(&recovery(vec![
            (a_addr, dialects[0]),
            (b_addr, dialects[1]),
        ]));
        assert!(report.complete(), "{report:?}");
        let got: Vec<(usize, Ipv4Addr, u8)> = merged
            .into_sorted()
            .into_iter()
            .map(|(s, l)| (s, l.address.unwrap(), l.chaddr[5]))
            .collect();
        assert_eq!(
            got,
            [
                (0, ip(100), 0xa0),
                (1, ip(101), 0xb1),
                (1, ip(102), 0xb2),
                (0, ip(103), 0xa3)
            ],
            "{dialects:?}"
        );
        assert_eq!((report.merged, report.conflicts), (4, 2));
        for (s, server) in report.servers.iter().zip([a_addr, b_addr]) {
            assert_eq!(s.server, server);
            assert_eq!((s.streamed, s.kept, s.retries), (3, 2, 0), "{s:?}");
            assert_eq!(s.end, Some(End::Done { bindings: 3 }), "{s:?}");
            assert!(s.error.is_none());
        }
    }
}

#[test]
fn a_server_down_is_reported_and_the_others_bindings_returned() {
    let a = leases_file(&[(100, 0xa0, NEW), (101, 0xa1, OLD)], &[]);
    let (_sa, a_addr) = start(&dir("up"), &a);
    let gone = SocketAddr::from(([127, 0, 0, 1], free_tcp_port()));
    let (report, merged) = recover4(&recovery(vec![
        (gone, Dialect::Rfc6926),
        (a_addr, Dialect::Rfc6926),
    ]));
    assert!(!report.complete());
    let down = &report.servers[0];
    assert_eq!(down.server, gone);
    // Waits of 20, 40 and 80 ms, then the backoff is spent.
    assert_eq!(
        (down.retries, down.streamed, down.end.is_none()),
        (2 + 1, 0, true)
    );
    assert!(matches!(down.error, Some(Error::Connect(_))), "{down:?}");
    assert_eq!(report.servers[1].end, Some(End::Done { bindings: 2 }));
    let got: Vec<Ipv4Addr> = merged
        .into_sorted()
        .into_iter()
        .map(|(s, l)| {
            assert_eq!(s, 1);
            l.address.unwrap()
        })
        .collect();
    assert_eq!(got, [ip(100), ip(101)]);
}

// DHCPv6: the same with two servers on [::1], their stores imported from Kea memfiles whose
// leases carry the relay's relay-id in their relay data (Kea's `store-extended-info`).

/// The relay's DUID (DUID-LL), as a Kea user context writes it in `relay-id`.
const RELAY_DUID: [u8; 6] = [0, 3, 0, 1, 2, 3];

/// Seconds since 1970 of [`OLD`] and [`NEW`].
const OLD_UNIX: u64 = 1_735_689_600;
const NEW_UNIX: u64 = 1_748_736_000;
/// Every lease's expiry (2099): its valid lifetime is what makes its CLTT (Kea: expire - valid).
const EXPIRE: u64 = 4_100_000_000;

/// `(address or prefix, prefix length (128: an address), client's last octet, cltt)`.
type Lease6 = (&'static str, u8, u8, u64);

fn kea6_file(leases: &[Lease6]) -> String {
    let mut f = String::from(
        "address,duid,valid_lifetime,expire,subnet_id,pref_lifetime,lease_type,iaid,prefix_len,\
         fqdn_fwd,fqdn_rev,hostname,hwaddr,state,user_context,hwtype,hwaddr_source\n",
    );
    let relay_id: String = RELAY_DUID.iter().map(|b| format!("{b:02x}")).collect();
    for &(address, len, client, cltt) in leases {
        let (kind, iaid) = if len == 128 { (0, 1) } else { (2, 2) };
        let context = format!(
            "{{ \"ISC\": {{ \"relay-info\": [ {{ \"hop\": 0&#x2c \"link\": \"2001:db8:1::1\"&#x2c \
             \"options\": \"0x00350006{relay_id}\"&#x2c \"peer\": \"fe80::2\"&#x2c \"relay-id\": \
             \"{relay_id}\" }} ] }} }}"
        );
        f.push_str(&format!(
            "{address},00:03:00:01:02:00:00:00:00:{client:02x},{valid},{EXPIRE},1,1800,{kind},{iaid},\
             {len},0,0,,,0,{context},0,0\n",
            valid = EXPIRE - cltt
        ));
    }
    f
}

/// A `lessor serve` on [::1] in `dir` with a DHCPv6 bulk listener, its store imported from `csv`.
fn start6(dir: &Path, csv: &str) -> (Server, SocketAddr) {
    start6_from(dir, "--kea6", csv)
}

/// [`start6`] with the store imported from `leases` in the format `import` names (`--kea6`,
/// `--json`).
fn start6_from(dir: &Path, import: &str, leases: &str) -> (Server, SocketAddr) {
    let (server, bulk, _) = start6_udp(dir, import, leases);
    (server, bulk)
}

/// [`start6_from`], and the server's UDP port (a LEASEQUERY is answered at its source).
fn start6_udp(dir: &Path, import: &str, leases: &str) -> (Server, SocketAddr, u16) {
    std::fs::create_dir_all(dir).unwrap();
    let port = std::net::UdpSocket::bind("[::1]:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let bulk_port = std::net::TcpListener::bind("[::1]:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let config = dir.join("lessor.toml");
    std::fs::write(
        &config,
        format!(
            r#"[server]
store = "{store}"

[dhcp6]
server-duid = "00:02:00:00:ab:11:01:02:03:04"
listen = ["::1"]
port = {port}

[[dhcp6.link]]
prefix = "2001:db8:1::/64"
pools = ["2001:db8:1::1000-2001:db8:1::1fff"]
prefix-pools = [{{ prefix = "2001:db8:100::/40", delegated-length = 56 }}]

[leasequery6]
requesters = ["::1/128"]

[leasequery6.bulk]
listen = ["::1"]
port = {bulk_port}
"#,
            store = dir.join("lessor.db").display()
        ),
    )
    .unwrap();
    let file = dir.join("leases6");
    std::fs::write(&file, leases).unwrap();
    let out = lessor()
        .args(["leases", "import", import])
        .arg(&file)
        .arg("--config")
        .arg(&config)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let server = Server::start(dir, &config, "bulk leasequery: listening on tcp [::1]");
    (
        server,
        SocketAddr::from((std::net::Ipv6Addr::LOCALHOST, bulk_port)),
        port,
    )
}

#[test]
fn v6_two_servers_with_overlapping_addresses_and_prefixes_merge_by_clt_time() {
    use lessor_requestor::bulk::End6;
    use lessor_requestor::recover::{recover6, Bound6, Recovery6, Server6};
    use lessor_requestor::QueryKey6;
    use lessor_wire::v6::Duid;

    let a = kea6_file(&[
        ("2001:db8:1::1000", 128, 0xa0, NEW_UNIX),
        ("2001:db8:100:100::", 56, 0xa1, OLD_UNIX),
        ("2001:db8:1::1003", 128, 0xa3, OLD_UNIX),
    ]);
    let b = kea6_file(&[
        ("2001:db8:1::1000", 128, 0xb0, OLD_UNIX),
        ("2001:db8:100:100::", 56, 0xb1, NEW_UNIX),
        ("2001:db8:100:200::", 56, 0xb2, OLD_UNIX),
    ]);
    let (_sa, a_addr) = start6(&dir("v6a"), &a);
    let (_sb, b_addr) = start6(&dir("v6b"), &b);
    let me = Duid::Uuid([7; 16]);
    let servers = [a_addr, b_addr]
        .map(|addr| Server6 {
            addr,
            requestor: me.clone(),
        })
        .to_vec();
    let key = QueryKey6::RelayId {
        duid: Duid::parse(&RELAY_DUID).unwrap(),
        link: std::net::Ipv6Addr::UNSPECIFIED,
    };
    let mut r = Recovery6::new(servers, key);
    r.bulk.first_retry = Duration::from_millis(20);
    r.bulk.max_retry = Duration::from_millis(80);
    let (report, merged) = recover6(&r);
    assert!(report.complete(), "{report:?}");
    for s in &report.servers {
        assert_eq!(s.end, Some(End6::Done { bindings: 3 }), "{s:?}");
        assert_eq!((s.streamed, s.kept, s.unusable), (3, 2, 0), "{s:?}");
    }
    let got: Vec<(usize, Bound6, u8)> = merged
        .into_sorted()
        .into_iter()
        .map(|(s, b)| {
            let duid = b.client_id.unwrap().to_vec();
            assert!(b.cltt_ago.is_some());
            (s, b.bound, duid[duid.len() - 1])
        })
        .collect();
    let addr = |s: &str| s.parse().unwrap();
    assert_eq!(
        got,
        [
            (0, Bound6::Address(addr("2001:db8:1::1000")), 0xa0),
            (0, Bound6::Address(addr("2001:db8:1::1003")), 0xa3),
            (1, Bound6::Prefix(addr("2001:db8:100:100::"), 56), 0xb1),
            (1, Bound6::Prefix(addr("2001:db8:100:200::"), 56), 0xb2),
        ]
    );
}

// `lessor relay` recovering its table.

/// A running `lessor relay`: killed and its directory removed when dropped.
struct Relay {
    child: std::process::Child,
    dir: PathBuf,
    config: PathBuf,
}

impl Drop for Relay {
    fn drop(&mut self) {
        self.child.kill().ok();
        self.child.wait().ok();
        std::fs::remove_dir_all(&self.dir).ok();
    }
}

impl Relay {
    /// A relay on lo (giaddr 127.0.0.1, relay-id [`RELAY_ID`]) forwarding to `server` (UDP),
    /// with `recovery` as its `[relay.recovery]` section; waits for its readiness line.
    fn start(dir: PathBuf, server: u16, recovery: &str) -> Relay {
        Relay::spawn(
            dir,
            &format!(
                "[relay]\nstate-dir = \"state\"\nrelay-id = \"00:01:02:03\"\n\n[relay.dhcp4]\n\
                 servers = [\"127.0.0.1:{server}\"]\nport = {port}\n\n[[relay.dhcp4.interface]]\n\
                 name = \"lo\"\ngiaddr = \"127.0.0.1\"\n\n[relay.recovery]\n{recovery}\n",
                port = free_udp_port()
            ),
        )
    }

    /// A DHCPv6-only relay on lo (relay-id [`RELAY_DUID`]) forwarding to `server` (UDP, on
    /// [::1]), with `recovery` as its `[relay.recovery]` section; waits for its readiness line.
    fn start6(dir: PathBuf, server: u16, recovery: &str) -> Relay {
        let port = std::net::UdpSocket::bind("[::1]:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let relay_id: Vec<String> = RELAY_DUID.iter().map(|b| format!("{b:02x}")).collect();
        Relay::spawn(
            dir,
            &format!(
                "[relay]\nstate-dir = \"state\"\nrelay-id = \"{id}\"\n\n[relay.dhcp6]\n\
                 servers = [\"[::1]:{server}\"]\nport = {port}\n\n[[relay.dhcp6.interface]]\n\
                 name = \"lo\"\n\n[relay.recovery]\n{recovery}\n",
                id = relay_id.join(":")
            ),
        )
    }

    /// `lessor relay` on the config `text`, written in `dir`; waits for its readiness line.
    fn spawn(dir: PathBuf, text: &str) -> Relay {
        std::fs::create_dir_all(&dir).unwrap();
        let config = dir.join("relay.toml");
        std::fs::write(&config, text).unwrap();
        let log = dir.join("relay.log");
        let child = lessor()
            .args(["relay", "--config"])
            .arg(&config)
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .unwrap();
        let relay = Relay { child, dir, config };
        relay.wait_log("relay ready:", 20);
        relay
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("relay.log")).unwrap_or_default()
    }

    fn wait_log(&self, line: &str, secs: u64) {
        wait_for_log(
            &self.dir.join("relay.log"),
            line,
            std::time::Instant::now() + Duration::from_secs(secs),
        );
    }

    /// `lessor relay ARGS --json --config ...`: exit code and the JSON answer.
    fn ask(&self, args: &[&str]) -> (Option<i32>, serde_json::Value) {
        let out = lessor()
            .arg("relay")
            .args(args)
            .arg("--json")
            .arg("--config")
            .arg(&self.config)
            .output()
            .unwrap();
        let answer = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
            panic!(
                "{e}: {}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            )
        });
        (out.status.code(), answer)
    }

    /// `(address, MAC's last octet, origin, interface, circuit-id, remote-id)` of every entry.
    fn table(&self) -> Vec<(String, String, String, String, String, String)> {
        let (code, shown) = self.ask(&["--show"]);
        assert_eq!(code, Some(0));
        let s = |v: &serde_json::Value| v.as_str().unwrap_or("-").to_owned();
        shown["entries"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| {
                (
                    s(&e["bound"]),
                    s(&e["hardware"])[15..].to_owned(),
                    s(&e["origin"]),
                    s(&e["interface"]),
                    s(&e["circuit_id"]),
                    s(&e["remote_id"]),
                )
            })
            .collect()
    }
}

fn row(last: u8, mac: u8, origin: &str) -> (String, String, String, String, String, String) {
    (
        ip(last).to_string(),
        format!("{mac:02x}"),
        origin.into(),
        "lo".into(),
        "lo".into(),
        format!("r-{mac}"),
    )
}

#[test]
fn a_relay_rebuilds_its_table_at_start_from_two_servers_by_cltt() {
    let a = leases_file(
        &[(100, 0xa0, NEW), (101, 0xa1, OLD), (103, 0xa3, OLD)],
        &[110],
    );
    let b = leases_file(&[(100, 0xb0, OLD), (101, 0xb1, NEW), (102, 0xb2, OLD)], &[]);
    let (_sa, a_addr, a_udp) = start_udp(&dir("relay-a"), &a);
    let (_sb, b_addr) = start(&dir("relay-b"), &b);
    let relay = Relay::start(
        dir("relay"),
        a_udp,
        &format!("servers4 = [\"{a_addr}\", \"{b_addr}\"]\n"),
    );
    let log = relay.log();
    for server in [a_addr, b_addr] {
        assert!(
            log.contains(&format!(
                "recovery: dhcp4 server {server}: streamed=3 kept=2 retries=0 end=done"
            )),
            "{log}"
        );
    }
    assert!(
        log.contains("recovery: dhcp4 done in")
            && log.contains(
                "bindings=4 conflicts=2 merged=4 kept-newer=0 skipped=0 servers-failed=0"
            ),
        "{log}"
    );
    // Recovery came before readiness: the readiness line counts the entries.
    assert!(log.contains("; 4 entries"), "{log}");
    assert_eq!(
        relay.table(),
        [
            row(100, 0xa0, "recovered"),
            row(101, 0xb1, "recovered"),
            row(102, 0xb2, "recovered"),
            row(103, 0xa3, "recovered")
        ]
    );
    let (_, shown) = relay.ask(&["--show"]);
    assert_eq!(shown["counters"]["recovered"], 4);
    assert_near(&shown["entries"][0]["cltt"], NEW_UNIX);
    assert_near(&shown["entries"][1]["cltt"], NEW_UNIX);
    assert_near(&shown["entries"][2]["cltt"], OLD_UNIX);

    // On demand: the other relay's address is asked by UDP leasequery and not taken; an
    // address nobody holds is UNASSIGNED, then served from the negative cache.
    let (code, a) = relay.ask(&["--lookup", "198.51.100.110"]);
    assert_eq!(code, Some(1), "{a}");
    assert_eq!(a["leasequery"]["said"], "elsewhere", "{a}");
    let (code, a) = relay.ask(&["--lookup", "198.51.100.150"]);
    assert_eq!(
        (code, a["leasequery"]["said"].as_str()),
        (Some(1), Some("unassigned")),
        "{a}"
    );
    let (_, a) = relay.ask(&["--lookup", "198.51.100.150"]);
    assert_eq!(a["leasequery"]["from_cache"], true, "{a}");
    let (code, a) = relay.ask(&["--lookup", "198.51.100.100"]);
    assert_eq!(
        (code, a["source"].as_str()),
        (Some(0), Some("table")),
        "{a}"
    );
    let (_, shown) = relay.ask(&["--show"]);
    assert_eq!(
        (
            shown["counters"]["queried"].clone(),
            shown["counters"]["cache_hits"].clone()
        ),
        (serde_json::json!(0), serde_json::json!(1))
    );
}

#[test]
fn a_relay_without_recovery_learns_an_address_on_demand() {
    let a = leases_file(&[(100, 0xa0, NEW)], &[]);
    let (_sa, _, a_udp) = start_udp(&dir("demand-a"), &a);
    let relay = Relay::start(dir("demand"), a_udp, "at-start = false\n");
    assert!(relay.log().contains("recovery: off"), "{}", relay.log());
    assert!(relay.table().is_empty());
    let out = lessor()
        .args([
            "relay",
            "--verify",
            "lo",
            "198.51.100.100",
            "02:00:00:00:00:a0",
            "--config",
        ])
        .arg(&relay.config)
        .output()
        .unwrap();
    assert_eq!(
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stdout).trim()
        ),
        (Some(0), "yes: bound to this client behind this interface")
    );
    assert_eq!(relay.table(), [row(100, 0xa0, "queried")]);
    let (_, shown) = relay.ask(&["--show"]);
    assert_eq!(shown["counters"]["queried"], 1);
    assert_near(&shown["entries"][0]["cltt"], NEW_UNIX);
}

#[test]
fn a_dead_server_does_not_keep_the_relay_from_being_ready() {
    let a = leases_file(&[(100, 0xa0, NEW), (101, 0xa1, OLD)], &[]);
    let (_sa, a_addr) = start(&dir("dead-a"), &a);
    let gone = SocketAddr::from(([127, 0, 0, 1], free_tcp_port()));
    let started = std::time::Instant::now();
    let relay = Relay::start(
        dir("dead"),
        free_udp_port(),
        &format!(
            "servers4 = [\"{gone}\", \"{a_addr}\"]\nready-after = \"1s\"\nfirst-retry = \"1s\"\nmax-retry = \"2s\"\n"
        ),
    );
    // Ready after the bound, before the dead server is given up (1 s + 2 s of backoff).
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );
    assert!(
        relay
            .log()
            .contains("recovery: not done after 1s (ready-after): ready anyway"),
        "{}",
        relay.log()
    );
    relay.wait_log("recovery: dhcp4 done in", 20);
    let log = relay.log();
    assert!(
        log.contains(&format!(
            "recovery: dhcp4 server {gone}: streamed=0 kept=0 retries=2 given up: cannot connect"
        )),
        "{log}"
    );
    assert!(
        log.contains("merged=2 kept-newer=0 skipped=0 servers-failed=1"),
        "{log}"
    );
    assert_eq!(
        relay.table(),
        [row(100, 0xa0, "recovered"), row(101, 0xa1, "recovered")]
    );
}

/// The relay's options in its RELAY-FORW for client `client`: Interface-ID "lo", Remote-Id
/// (enterprise 32473, "r-" and the client's last octet), Relay-Id [`RELAY_DUID`].
fn hop_options(client: u8) -> Vec<u8> {
    let remote = format!("r-{client:02x}");
    let mut o = vec![
        0,
        18,
        0,
        2,
        b'l',
        b'o',
        0,
        37,
        0,
        4 + remote.len() as u8,
        0,
        0,
        0x7e,
        0xd9,
    ];
    o.extend_from_slice(remote.as_bytes());
    o.extend_from_slice(&[0, 53, 0, RELAY_DUID.len() as u8]);
    o.extend_from_slice(&RELAY_DUID);
    o
}

/// `lessor leases export` lines of [`Lease6`]s relayed by this relay from fe80::2 on lo, with
/// the relay chain (and its peer, which Kea's memfile does not keep: without it no
/// LQ_RELAY_DATA is sent) and the identifiers the server indexes.
fn export6_file(leases: &[Lease6]) -> String {
    export6_file_of(leases, &RELAY_DUID)
}

/// [`export6_file`] for the relay whose Relay-Id is `relay_duid`.
fn export6_file_of(leases: &[Lease6], relay_duid: &[u8]) -> String {
    let hex = |b: &[u8]| b.iter().map(|b| format!("{b:02x}")).collect::<String>();
    let mut f = String::new();
    for &(address, len, client, cltt) in leases {
        let mut options = hop_options(client);
        // The Relay-Id is last: another relay's replaces ours.
        let relay_id_at = options.len() - RELAY_DUID.len();
        options.truncate(relay_id_at);
        options.extend_from_slice(relay_duid);
        // RELAY-FORW, hop-count 0, link-address ::, peer-address fe80::2, the options.
        let mut chain = vec![12, 0];
        chain.extend_from_slice(&[0; 16]);
        chain.extend_from_slice(&"fe80::2".parse::<std::net::Ipv6Addr>().unwrap().octets());
        chain.extend_from_slice(&options);
        let ia_type = if len == 128 { "ia-na" } else { "ia-pd" };
        f.push_str(&format!(
            "{{\"address\":\"{address}\",\"prefix_len\":{len},\"duid\":\"000300010200000000{client:02x}\",\
             \"ia_type\":\"{ia_type}\",\"iaid\":1,\"link\":\"2001:db8:1::/64\",\"state\":\"active\",\
             \"start\":{cltt},\"cltt\":{cltt},\"t1\":0,\"t2\":0,\"preferred_end\":{EXPIRE},\
             \"valid_end\":{EXPIRE},\"relay_peer\":\"fe80::2\",\"relay_chain\":\"{chain}\",\
             \"interface_id\":\"6c6f\",\"remote_id\":\"{remote}\",\"relay_id\":\"{relay_id}\"}}\n",
            chain = hex(&chain),
            remote = hex(&options[10..options.len() - 4 - RELAY_DUID.len()]),
            relay_id = hex(relay_duid),
        ));
    }
    f
}

#[test]
fn a_dhcp6_relay_rebuilds_its_table_at_start_from_a_bulk_listener() {
    let a = export6_file(&[
        ("2001:db8:1::1000", 128, 0xa0, NEW_UNIX),
        ("2001:db8:100:100::", 56, 0xa1, OLD_UNIX),
    ]);
    let (_sa, a_addr) = start6_from(&dir("relay6-a"), "--json", &a);
    // The relay forwards nowhere in particular (no client here); recovery asks the bulk
    // listener, which is not on TCP 547 here.
    let relay = Relay::start6(
        dir("relay6"),
        free_udp_port(),
        &format!("servers6 = [\"{a_addr}\"]\non-demand = false\n"),
    );
    let log = relay.log();
    assert!(
        log.contains(&format!(
            "recovery: dhcp6 bulk leasequery by relay-id to {a_addr}"
        )) && log.contains(&format!(
            "recovery: dhcp6 server {a_addr}: streamed=2 kept=2 retries=0 end=done"
        )),
        "{log}"
    );
    assert!(
        log.contains("recovery: dhcp6 done in")
            && log.contains(
                "bindings=2 conflicts=0 merged=2 kept-newer=0 skipped=0 servers-failed=0"
            ),
        "{log}"
    );
    assert!(!log.contains("recovery: dhcp4"), "{log}");
    assert!(log.contains("; 2 entries"), "{log}");
    let (_, shown) = relay.ask(&["--show"]);
    assert_eq!(shown["counters"]["recovered"], 2);
    let s = |v: &serde_json::Value| v.as_str().unwrap_or("-").to_owned();
    let got: Vec<[String; 6]> = shown["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            [
                s(&e["bound"]),
                s(&e["client_id"]),
                s(&e["origin"]),
                s(&e["interface"]),
                s(&e["circuit_id"]),
                s(&e["remote_id_hex"]),
            ]
        })
        .collect();
    let entry = |bound: &str, client: u8| {
        let remote: Vec<String> = [0, 0, 0x7e, 0xd9]
            .into_iter()
            .chain(format!("r-{client:02x}").bytes())
            .map(|b| format!("{b:02x}"))
            .collect();
        [
            bound.to_owned(),
            format!("00:03:00:01:02:00:00:00:00:{client:02x}"),
            "recovered".into(),
            "lo".into(),
            "lo".into(),
            remote.join(":"),
        ]
    };
    assert_eq!(
        got,
        [
            entry("2001:db8:1::1000", 0xa0),
            entry("2001:db8:100:100::/56", 0xa1)
        ]
    );
    assert_near(&shown["entries"][0]["cltt"], NEW_UNIX);
    assert_near(&shown["entries"][1]["cltt"], OLD_UNIX);
    assert_eq!(shown["entries"][0]["expires"], EXPIRE);
}

#[test]
fn a_dhcp6_relay_without_recovery_learns_an_address_and_a_prefix_on_demand() {
    let mut leases = export6_file(&[
        ("2001:db8:1::1000", 128, 0xa0, NEW_UNIX),
        ("2001:db8:100:100::", 56, 0xa1, OLD_UNIX),
    ]);
    // Another relay's client (same length of Relay-Id, another DUID).
    let mut theirs = RELAY_DUID;
    theirs[RELAY_DUID.len() - 1] ^= 0xff;
    leases.push_str(&export6_file_of(
        &[("2001:db8:1::1001", 128, 0xb0, NEW_UNIX)],
        &theirs,
    ));
    let (_sa, _, a_udp) = start6_udp(&dir("demand6-a"), "--json", &leases);
    let relay = Relay::start6(
        dir("demand6"),
        a_udp,
        "at-start = false
",
    );
    assert!(
        relay
            .log()
            .contains(&format!("dhcp6: on-demand leasequery to [::1]:{a_udp}")),
        "{}",
        relay.log()
    );
    let (_, shown) = relay.ask(&["--show"]);
    assert_eq!(shown["entries"], serde_json::json!([]));

    // An address of ours: asked, merged as queried.
    let (code, a) = relay.ask(&["--lookup", "2001:db8:1::1000"]);
    assert_eq!(code, Some(0), "{a}");
    assert_eq!(
        (a["source"].as_str(), a["leasequery"]["said"].as_str()),
        (Some("leasequery"), Some("active")),
        "{a}"
    );
    assert_eq!(a["entry"]["origin"], "queried", "{a}");
    assert_eq!(a["entry"]["interface"], "lo", "{a}");
    assert_near(&a["entry"]["cltt"], NEW_UNIX);
    // Now the table answers.
    let (_, a) = relay.ask(&["--lookup", "2001:db8:1::1000"]);
    assert_eq!(a["source"], "table", "{a}");
    // An address inside a delegated prefix of ours: the entry is the prefix.
    let (code, a) = relay.ask(&["--lookup", "2001:db8:100:1ab::1"]);
    assert_eq!(code, Some(0), "{a}");
    assert_eq!(a["entry"]["bound"], "2001:db8:100:100::/56", "{a}");
    assert_near(&a["entry"]["cltt"], OLD_UNIX);
    // Another relay's client is not taken; an address nobody holds is cached negative.
    let (code, a) = relay.ask(&["--lookup", "2001:db8:1::1001"]);
    assert_eq!(
        (code, a["leasequery"]["said"].as_str()),
        (Some(1), Some("elsewhere")),
        "{a}"
    );
    let (code, a) = relay.ask(&["--lookup", "2001:db8:1::1fff"]);
    assert_eq!(
        (code, a["leasequery"]["said"].as_str()),
        (Some(1), Some("unassigned")),
        "{a}"
    );
    let (_, a) = relay.ask(&["--lookup", "2001:db8:1::1fff"]);
    assert_eq!(a["leasequery"]["from_cache"], true, "{a}");
    // Source verification asks the same way.
    let out = lessor()
        .args(["relay", "--verify", "lo", "2001:db8:100:1ab::2", "--config"])
        .arg(&relay.config)
        .output()
        .unwrap();
    assert_eq!(
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stdout).trim()
        ),
        (Some(0), "yes: bound to this client behind this interface")
    );
    let (_, shown) = relay.ask(&["--show"]);
    assert_eq!(
        (
            shown["counters"]["queried"].clone(),
            shown["counters"]["cache_hits"].clone(),
            shown["entries"].as_array().map(Vec::len)
        ),
        (serde_json::json!(2), serde_json::json!(1), Some(2))
    );
}
