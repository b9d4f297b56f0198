//! Recovery at start ([`lessor_requestor::recover`]) against two real `lessor serve` on loopback
//! that hold overlapping bindings of one relay-id with different client-last-transaction-times
//! (imported from ISC dhcpd.leases files, as a failover pair would hold them): the merged table
//! takes each address from the server that heard its client last; with one server down, that
//! server is reported and the other's bindings are still returned. Only 127.0.0.1 sockets;
//! addresses in 198.51.100.0/24 are payload only.

mod common;

use std::net::{Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::time::Duration;

use common::{free_tcp_port, free_udp_ports, lessor, write_config, Server};
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
    let ports = free_udp_ports();
    let bulk_port = free_tcp_port();
    let extra = format!(
        "\n[leasequery4]\nrequesters = [\"127.0.0.1/32\"]\n\n[leasequery4.bulk]\nlisten = [\"127.0.0.1\"]\nport = {bulk_port}\n"
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
    (server, SocketAddr::from(([127, 0, 0, 1], bulk_port)))
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
