//! `lessor perf leasequery` as an operator runs it: the family follows --server, arguments of
//! the other family are refused with the argument named, and a DHCPv6 run against a real
//! `lessor serve` ([dhcp6] + [leasequery6] on [::1]) whose bindings `lessor perf sarr` made
//! gets every query answered with client data, by address, by an address inside a delegated
//! prefix, and by client-id. Only ::1 sockets; the 2001:db8:: addresses are payload.

mod common;

use common::{lessor, Server};
use std::net::UdpSocket;
use std::path::Path;

fn run(args: &[&str]) -> (i32, String, String) {
    let out = lessor().args(args).output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn refused(args: &[&str], wanted: &str) {
    let mut argv = vec!["perf", "leasequery"];
    argv.extend_from_slice(args);
    let (code, stdout, stderr) = run(&argv);
    assert_eq!(code, 2, "{argv:?}: {stdout}{stderr}");
    assert!(stderr.contains(wanted), "{argv:?}: {stderr}");
    assert!(stdout.is_empty(), "{stdout}");
}

#[test]
fn arguments_of_the_other_family_are_refused_by_name() {
    let v6 = ["--server", "[::1]:5547"];
    let range6 = ["--addresses", "2001:db8:1::1-2001:db8:1::9"];
    refused(
        &[
            &v6[..],
            &range6[..],
            &["--by", "ip", "--giaddr", "192.0.2.1"],
        ]
        .concat(),
        "--giaddr 192.0.2.1 is DHCPv4 only",
    );
    refused(
        &[&v6[..], &range6[..], &["--by", "mac"]].concat(),
        "--by mac: DHCPv6 leasequery over UDP asks by ip (QUERY_BY_ADDRESS) or client-id (QUERY_BY_CLIENTID) only",
    );
    refused(
        &[&v6[..], &range6[..], &["--by", "relay-id"]].concat(),
        "--by relay-id: DHCPv6",
    );
    refused(
        &[
            &v6[..],
            &["--by", "ip", "--addresses", "198.18.0.1-198.18.0.9"],
        ]
        .concat(),
        "--addresses: IPv4 addresses, but --server [::1]:5547 is IPv6",
    );
    refused(
        &[
            &v6[..],
            &range6[..],
            &["--by", "ip", "--bind", "127.0.0.1:0"],
        ]
        .concat(),
        "--bind 127.0.0.1:0 and --server [::1]:5547 are not of one family",
    );
    refused(
        &[&v6[..], &range6[..], &["--by", "ip", "--duid", "zz"]].concat(),
        "--duid \"zz\"",
    );
    refused(
        &[
            "--server",
            "127.0.0.1:6767",
            "--by",
            "ip",
            "--giaddr",
            "127.0.0.1",
        ],
        "give --addresses FIRST-LAST or --from-file FILE",
    );
    refused(
        &[
            "--server",
            "127.0.0.1:6767",
            "--giaddr",
            "127.0.0.1",
            "--by",
            "ip",
            "--link-address",
            "2001:db8:1::",
        ],
        "--link-address and --duid are DHCPv6 only; --server 127.0.0.1:6767 is IPv4",
    );
    refused(
        &[
            &["--server", "127.0.0.1:6767", "--giaddr", "127.0.0.1"][..],
            &range6[..],
            &["--by", "ip"],
        ]
        .concat(),
        "--addresses: IPv6 addresses, but --server 127.0.0.1:6767 is IPv4",
    );
    let (code, _, stderr) = run(&[
        "perf",
        "leasequery",
        "--server",
        "[::1]:5547",
        "--by",
        "ip",
        "--addresses",
        "2001:db8:1::9-2001:db8:1::1",
    ]);
    assert_eq!(code, 2);
    assert!(stderr.contains("FIRST is after LAST"), "{stderr}");
}

#[test]
fn a_bad_line_of_a_dhcpv6_key_file_is_located() {
    let dir = std::env::temp_dir().join(format!("lessor-perf-lq6-keys-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("keys.txt");
    std::fs::write(
        &file,
        "# client DUIDs\n00:03:00:01:02:00:00:00:00:01\n00:03\n",
    )
    .unwrap();
    let path = file.to_str().unwrap();
    refused(
        &[
            "--server",
            "[::1]:5547",
            "--by",
            "client-id",
            "--from-file",
            path,
        ],
        &format!("{path}: line 3: client-id \"00:03\""),
    );
    std::fs::write(&file, "2001:db8:1::1\n198.18.0.1\n").unwrap();
    refused(
        &["--server", "[::1]:5547", "--by", "ip", "--from-file", path],
        &format!("{path}: line 2: \"198.18.0.1\" is not an IPv6 address"),
    );
    std::fs::remove_dir_all(&dir).ok();
}

/// `lessor serve` with [dhcp6] on [::1]:PORT and [leasequery6] answering ::1.
fn start_server(dir: &Path, port: u16) -> Server {
    std::fs::create_dir_all(dir).unwrap();
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
rate-limit = {{ per-client = 0, per-relay = 0 }}

[[dhcp6.link]]
prefix = "2001:db8:1::/64"
pools = ["2001:db8:1::1000-2001:db8:1::1fff"]
prefix-pools = [{{ prefix = "2001:db8:100::/48", delegated-length = 56 }}]

[leasequery6]
requesters = ["::1/128"]
rate-limit = {{ per-requester = 1000000, total = 1000000 }}
"#,
            store = dir.join("lessor.db").display()
        ),
    )
    .unwrap();
    Server::start(dir, &config, "dhcp6: listening on")
}

fn json(stdout: &str) -> serde_json::Value {
    serde_json::from_str(stdout.trim()).unwrap_or_else(|e| panic!("{e}: {stdout}"))
}

#[test]
fn dhcpv6_queries_against_lessor_serve_are_all_answered_with_client_data() {
    let dir = std::env::temp_dir().join(format!("lessor-perf-lq6-{}", std::process::id()));
    let port = UdpSocket::bind("[::1]:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let _server = start_server(&dir, port);
    let server = format!("[::1]:{port}");
    let bound = dir.join("bound.txt");

    let (code, stdout, stderr) = run(&[
        "perf",
        "sarr",
        "--server",
        &server,
        "--bind",
        "[::1]:0",
        "--link-address",
        "2001:db8:1::1",
        "--ia",
        "both",
        "--clients",
        "20",
        "--in-flight",
        "4",
        "--json",
        "--bound-out",
        bound.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{stdout}{stderr}");
    assert_eq!(json(&stdout)["completed"], 20, "{stdout}");
    // "DUID ADDRESS PREFIX/LEN" per client.
    let lines: Vec<Vec<String>> = std::fs::read_to_string(&bound)
        .unwrap()
        .lines()
        .map(|l| l.split_whitespace().map(str::to_string).collect())
        .collect();
    assert_eq!(lines.len(), 20);
    let mut addresses = String::new();
    let mut duids = String::new();
    for l in &lines {
        let [duid, rest @ ..] = l.as_slice() else {
            panic!("{l:?}")
        };
        duids.push_str(&format!("{duid}\n"));
        for lease in rest {
            // An address inside a delegated prefix: the prefix's first address + 1.
            let address = match lease.split_once('/') {
                Some((prefix, _)) => {
                    format!("{}1", prefix.trim_end_matches(':').to_string() + "::")
                }
                None => lease.clone(),
            };
            addresses.push_str(&format!("{address}\n"));
        }
    }
    assert_eq!(addresses.lines().count(), 40, "{addresses}");
    let by_address = dir.join("addresses.txt");
    let by_duid = dir.join("duids.txt");
    std::fs::write(&by_address, addresses).unwrap();
    std::fs::write(&by_duid, duids).unwrap();

    let perf = |by: &str, file: &Path| {
        let (code, stdout, stderr) = run(&[
            "perf",
            "leasequery",
            "--server",
            &server,
            "--by",
            by,
            "--from-file",
            file.to_str().unwrap(),
            "--queries",
            "400",
            "--in-flight",
            "16",
            "--timeout",
            "2s",
            "--json",
        ]);
        assert_eq!(code, 0, "{stdout}{stderr}");
        json(&stdout)
    };
    for (by, file) in [("ip", &by_address), ("client-id", &by_duid)] {
        let v = perf(by, file);
        assert_eq!(v["family"], "v6", "{v}");
        assert_eq!(v["by"], by);
        assert_eq!(v["sent"], 400, "{v}");
        assert_eq!(v["answered"], 400, "{v}");
        assert_eq!(v["active"], 400, "{v}");
        assert_eq!(v["timeouts"], 0, "{v}");
    }

    // Addresses nobody has: a LEASEQUERY-REPLY without client data (unknown); outside every
    // link: NotConfigured (other).
    let (code, stdout, stderr) = run(&[
        "perf",
        "leasequery",
        "--server",
        &server,
        "--by",
        "ip",
        "--addresses",
        "2001:db8:1::f000-2001:db8:1::f00f",
        "--queries",
        "32",
        "--json",
    ]);
    assert_eq!(code, 0, "{stdout}{stderr}");
    let v = json(&stdout);
    assert_eq!(
        (v["answered"].as_u64(), v["unknown"].as_u64()),
        (Some(32), Some(32)),
        "{v}"
    );
    let (_, stdout, _) = run(&[
        "perf",
        "leasequery",
        "--server",
        &server,
        "--by",
        "ip",
        "--addresses",
        "2001:db8:9::1-2001:db8:9::1",
        "--queries",
        "4",
        "--json",
    ]);
    let v = json(&stdout);
    assert_eq!(
        (v["answered"].as_u64(), v["other"].as_u64()),
        (Some(4), Some(4)),
        "{v}"
    );
}
