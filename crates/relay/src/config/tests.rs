use super::*;
use std::net::Ipv6Addr;

const GOOD: &str = r#"[relay]
state-dir = "/var/lib/lessor-relay"

[relay.dhcp4]
servers = ["192.0.2.1", "192.0.2.2:6767"]
remote-id = "{hostname}:{interface}"

[[relay.dhcp4.interface]]
name = "eth1"
giaddr = "198.51.100.1"

[[relay.dhcp4.interface]]
name = "eth2"
circuit-id = "olt1/2"
remote-id = "rack-7"
trusted = true
"#;

fn errors(text: &str) -> Vec<String> {
    parse(text, "relay.toml")
        .unwrap_err()
        .0
        .iter()
        .map(|e| e.to_string())
        .collect()
}

#[test]
fn a_good_file_resolves_with_its_defaults() {
    let c = parse(GOOD, "relay.toml").unwrap();
    assert_eq!(
        c.control_socket,
        PathBuf::from("/var/lib/lessor-relay/control.sock")
    );
    assert_eq!(c.relay_id, None);
    let d = c.dhcp4.unwrap();
    assert_eq!(
        d.servers,
        [
            "192.0.2.1:67".parse::<SocketAddrV4>().unwrap(),
            "192.0.2.2:6767".parse().unwrap()
        ]
    );
    assert_eq!((d.max_hops, d.port), (4, 67));
    assert_eq!(d.interfaces[0].circuit_id, b"eth1");
    assert_eq!(
        d.interfaces[0]
            .remote_id
            .as_ref()
            .unwrap()
            .expand("bng1", "eth1"),
        b"bng1:eth1"
    );
    assert_eq!(d.interfaces[0].giaddr, Some(Ipv4Addr::new(198, 51, 100, 1)));
    assert!(!d.interfaces[0].trusted);
    assert_eq!(d.interfaces[1].circuit_id, b"olt1/2");
    assert_eq!(
        d.interfaces[1]
            .remote_id
            .as_ref()
            .unwrap()
            .expand("bng1", "eth2"),
        b"rack-7"
    );
    assert!(d.interfaces[1].trusted);
}

#[test]
fn mistakes_are_located_at_their_key() {
    let text = GOOD
        .replace("\"192.0.2.2:6767\"", "\"192.0.2.2:x\"")
        .replace("remote-id = \"rack-7\"", "remote-id = \"{rack}\"")
        .replace("state-dir", "relay-id = \"zz\"\nstate-dir");
    let e = errors(&text);
    assert_eq!(
        e,
        [
            "relay.toml:2:1: relay.relay-id: not hex octets (write them like 01:02:ab, 01-02-ab or 0102ab)",
            "relay.toml:6:25: relay.dhcp4.servers[1]: \"192.0.2.2:x\" is not an IPv4 address or address:port",
            "relay.toml:16:1: relay.dhcp4.interface[1].remote-id: \"{rack}\": unknown placeholder {rack} (use {hostname}, {interface})",
        ],
        "{e:#?}"
    );
}

#[test]
fn unknown_keys_and_bad_types_are_located() {
    let e = errors(&GOOD.replace("trusted = true", "trusted = true\nmtu = 1500"));
    assert_eq!(e.len(), 1);
    assert!(
        e[0].starts_with("relay.toml:17:1: relay.dhcp4.interface[1].mtu: unknown field `mtu`"),
        "{e:?}"
    );
    let e = errors(&GOOD.replace("giaddr = \"198.51.100.1\"", "giaddr = \"eth1\""));
    assert!(
        e[0].starts_with("relay.toml:10:10: relay.dhcp4.interface[0].giaddr: "),
        "{e:?}"
    );
}

#[test]
fn checks_hops_servers_interfaces_and_option_82_room() {
    let e = errors("[relay]\n[relay.dhcp4]\nmax-hops = 17\nservers = [\"255.255.255.255\"]\n");
    assert_eq!(
        e,
        [
            "relay.toml:4:12: relay.dhcp4.servers[0]: 255.255.255.255: a server is a unicast address",
            "relay.toml:3:1: relay.dhcp4.max-hops: 17 is outside 1..=16 (RFC 1542 §4.1.1)",
            "relay.toml:2:8: relay.dhcp4.interface: name at least one downstream interface ([[relay.dhcp4.interface]])",
        ]
    );
    let long = "x".repeat(240);
    let e = errors(&GOOD.replace("\"olt1/2\"", &format!("\"{long}\"")));
    assert_eq!(e.len(), 1);
    assert!(e[0].contains("option 82 holds 255"), "{e:?}");
    let e = errors(&GOOD.replace("circuit-id = \"olt1/2\"", "circuit-id = \"eth1\""));
    assert_eq!(
        e,
        ["relay.toml:14:1: relay.dhcp4.interface[1].circuit-id: the same circuit-id as interface eth1"]
    );
}

#[test]
fn a_configured_relay_id_is_a_duid() {
    let c = parse(
        &GOOD.replace("[relay]\n", "[relay]\nrelay-id = \"00:04:01:02:03\"\n"),
        "f",
    )
    .unwrap();
    assert_eq!(c.relay_id, Some(vec![0, 4, 1, 2, 3]));
    let e = errors(&GOOD.replace("[relay]\n", "[relay]\nrelay-id = \"00:04\"\n"));
    assert!(e[0].contains("3 to 130 octets"), "{e:?}");
}

#[test]
fn a_file_without_relay_table_is_not_a_relay_file() {
    assert!(is_relay_file(GOOD));
    assert!(!is_relay_file("[dhcp4]\nport = 67\n"));
    assert_eq!(
        errors("[dhcp4]\nport = 67\n"),
        ["relay.toml:1:2: dhcp4: unknown field `dhcp4`, expected `relay`"]
    );
    assert_eq!(
        errors(""),
        ["relay.toml:1:1: relay: a relay file needs a [relay] table"]
    );
}

#[test]
fn the_example_file_is_good() {
    let text = include_str!("../../../../examples/relay.toml");
    parse(text, "examples/relay.toml").unwrap();
}

#[test]
fn recovery_defaults_to_every_server_on_the_bulk_port() {
    let r = parse(GOOD, "relay.toml").unwrap().recovery;
    assert!(r.at_start && r.on_demand);
    assert_eq!(
        r.servers4,
        [
            ("192.0.2.1:67".parse().unwrap(), Dialect::Rfc6926),
            ("192.0.2.2:67".parse().unwrap(), Dialect::Rfc6926)
        ]
    );
    assert_eq!(r.ready_after, Duration::from_secs(10));
    assert_eq!(
        (r.conn_timeout, r.data_timeout, r.first_retry, r.max_retry),
        (
            Duration::from_secs(30),
            Duration::from_secs(30),
            Duration::from_secs(1),
            Duration::from_secs(60)
        )
    );
    assert_eq!(r.lookup_wait, Duration::from_secs(5));
    let text = format!(
        "{GOOD}\n[relay.recovery]\nbulk-port = 6767\ndialect = \"draft\"\nready-after = \"1m\"\nmax-retry = \"0s\"\non-demand = false\n"
    );
    let r = parse(&text, "relay.toml").unwrap().recovery;
    assert_eq!(
        r.servers4[1],
        ("192.0.2.2:6767".parse().unwrap(), Dialect::Draft)
    );
    assert_eq!(
        (r.ready_after, r.max_retry),
        (Duration::from_secs(60), Duration::ZERO)
    );
    assert!(!r.on_demand);
    let text = format!("{GOOD}\n[relay.recovery]\nservers4 = [\"192.0.2.9\", \"192.0.2.8:99\"]\n");
    let r = parse(&text, "relay.toml").unwrap().recovery;
    assert_eq!(
        r.servers4
            .iter()
            .map(|s| s.0.to_string())
            .collect::<Vec<_>>(),
        ["192.0.2.9:67", "192.0.2.8:99"]
    );
}

const GOOD6: &str = r#"[relay]
relay-id = "00:04:01:02:03:04"

[relay.dhcp6]
servers = ["2001:db8::547", "[2001:db8::548]:5470", "ff05::1:3%up0"]
enterprise-number = 32473
remote-id = "{hostname}:{interface}"

[[relay.dhcp6.interface]]
name = "eth1"

[[relay.dhcp6.interface]]
name = "eth2"
interface-id = "0x0102"
link-address = "2001:db8:1::1"
remote-id = "rack-7"
"#;

#[test]
fn dhcp6_recovery_servers_default_to_the_engines_and_can_be_listed() {
    assert_eq!(parse(GOOD6, "relay.toml").unwrap().recovery.servers6, None);
    let text = format!(
        "{GOOD6}\n[relay.recovery]\nservers6 = [\"2001:db8::9\", \"[2001:db8::8]:5470\"]\n"
    );
    let r = parse(&text, "relay.toml").unwrap().recovery;
    let listed: Vec<String> = r.servers6.unwrap().iter().map(|s| s.to_string()).collect();
    assert_eq!(listed, ["[2001:db8::9]:547", "[2001:db8::8]:5470"]);
    let text = format!(
        "{GOOD6}\n[relay.recovery]\nservers6 = [\"ff05::1:3\", \"[2001:db8::8]:0\", \"192.0.2.1\"]\n"
    );
    assert_eq!(
        errors(&text),
        [
            "relay.toml:19:13: relay.recovery.servers6[0]: ff05::1:3: a bulk leasequery server is a unicast address",
            "relay.toml:19:26: relay.recovery.servers6[1]: [2001:db8::8]:0: port 0 is not a port to connect to",
            "relay.toml:19:45: relay.recovery.servers6[2]: \"192.0.2.1\" is not an IPv6 address or [address]:port",
        ]
    );
}

#[test]
fn a_dhcp6_section_alone_is_a_relay() {
    let c = parse(GOOD6, "relay.toml").unwrap();
    assert!(c.dhcp4.is_none());
    let d = c.dhcp6.unwrap();
    assert_eq!(d.port, 547);
    let servers: Vec<String> = d.servers.iter().map(|s| s.describe()).collect();
    assert_eq!(
        servers,
        [
            "[2001:db8::547]:547",
            "[2001:db8::548]:5470",
            "[ff05::1:3%up0]:547"
        ]
    );
    assert_eq!(d.interfaces[0].interface_id, b"eth1");
    assert_eq!(d.interfaces[0].link_address, None);
    assert_eq!(d.interfaces[1].interface_id, [1, 2]);
    assert_eq!(
        d.interfaces[1].remote_id.as_ref().unwrap().template(),
        "rack-7"
    );
}

#[test]
fn recovery_mistakes_are_located() {
    let text = format!(
        "{GOOD}\n[relay.recovery]\ndialect = \"kea\"\nservers4 = [\"224.0.0.1\", \"x\"]\nready-after = \"0s\"\nlookup-wait = \"5\"\n"
    );
    let e = errors(&text);
    assert_eq!(e.len(), 1, "{e:#?}");
    assert!(
        e[0].starts_with("relay.toml:22:15: relay.recovery.lookup-wait: "),
        "{e:?}"
    );
    let text = format!(
        "{GOOD}\n[relay.recovery]\ndialect = \"kea\"\nservers4 = [\"224.0.0.1\", \"x\"]\nready-after = \"0s\"\nconn-timeout = \"0s\"\n"
    );
    assert_eq!(
        errors(&text),
        [
            "relay.toml:19:1: relay.recovery.dialect: \"kea\": the bulk dialect is \"rfc6926\" or \"draft\"",
            "relay.toml:20:13: relay.recovery.servers4[0]: 224.0.0.1: a bulk leasequery server is a unicast address",
            "relay.toml:20:26: relay.recovery.servers4[1]: \"x\" is not an IPv4 address or address:port",
            "relay.toml:21:1: relay.recovery.ready-after: 0s would never wait for recovery: set at-start = false instead",
            "relay.toml:22:1: relay.recovery.conn-timeout: a timeout of 0s gives up at once",
        ]
    );
}

#[test]
fn dhcp6_settings_fill_what_the_host_says() {
    let d = parse(GOOD6, "relay.toml").unwrap().dhcp6.unwrap();
    let global: Ipv6Addr = "2001:db8:9::1".parse().unwrap();
    let s = d
        .settings("bng1", None, |name| {
            Ok(Resolved {
                index: match name {
                    "eth1" => 3,
                    "eth2" => 4,
                    _ => 2,
                },
                global: Some(global),
            })
        })
        .unwrap();
    assert_eq!(s.interfaces[0].index, 3);
    // Unconfigured: the interface's global address; configured: as written.
    assert_eq!(s.interfaces[0].link_address, global);
    assert_eq!(
        s.interfaces[1].link_address,
        "2001:db8:1::1".parse::<Ipv6Addr>().unwrap()
    );
    let r = s.interfaces[0].remote_id.as_ref().unwrap();
    assert_eq!(
        (r.enterprise_number, &r.remote_id[..]),
        (32473, &b"bng1:eth1"[..])
    );
    assert_eq!(s.servers[2].interface, Some(2));
    assert_eq!(s.servers[1].port, 5470);
    s.check().unwrap();
    let missing = d.settings("bng1", None, |name| match name {
        "eth2" => Err("no such interface".into()),
        _ => Ok(Resolved {
            index: 1,
            global: None,
        }),
    });
    assert_eq!(
        missing.unwrap_err(),
        ("eth2".into(), "no such interface".into())
    );
}

#[test]
fn dhcp6_mistakes_are_located() {
    let bad = GOOD6
        .replace("\"ff05::1:3%up0\"", "\"ff05::1:3\"")
        .replace("enterprise-number = 32473\n", "");
    let e = errors(&bad);
    assert!(
        e.iter().any(|e| e.contains("relay.dhcp6.servers[2]: ff05::1:3: a multicast or link-local server needs its upstream interface")),
        "{e:?}"
    );
    assert!(
        e.iter()
            .any(|e| e.contains("relay.dhcp6.enterprise-number: a Remote-Id carries")),
        "{e:?}"
    );

    let e = errors(&GOOD6.replace("0x0102", "eth1"));
    assert!(
        e.iter().any(|e| e.contains("relay.toml:14:1: relay.dhcp6.interface[1].interface-id: interface eth2: its interface-id is another interface's too")),
        "{e:?}"
    );
    let e = errors(&GOOD6.replace("\"2001:db8:1::1\"", "\"fe80::1\""));
    assert!(
        e.iter().any(|e| e.contains("relay.dhcp6.interface[1].link-address: interface eth2: the link-address must be a global unicast address")),
        "{e:?}"
    );
    let e = errors(&GOOD6.replace("\"rack-7\"", &format!("{:?}", "r".repeat(300))));
    assert!(e.iter().any(|e| e.contains("relay.dhcp6.interface[1].remote-id: interface eth2: the remote-id must be at most 251 octets")), "{e:?}");
    let e = errors(
        &GOOD6
            .replace("\"2001:db8::547\"", "\"2001:db8::547%eth0\"")
            .replace("5470", "0"),
    );
    assert!(e.iter().any(|e| e.contains("servers[0]: 2001:db8::547%eth0: only a multicast or link-local server takes an interface")), "{e:?}");
    assert!(
        e.iter()
            .any(|e| e.contains("servers[1]: [2001:db8::548]:0: port 0")),
        "{e:?}"
    );
    let e = errors(&GOOD6.replace("name = \"eth2\"", "name = \"eth1\""));
    assert!(
        e.iter()
            .any(|e| e.contains("relay.dhcp6.interface[1].name: eth1 is named twice")),
        "{e:?}"
    );
    let e = errors("[relay]\n[relay.dhcp6]\nservers = [\"192.0.2.1\"]\n");
    assert!(
        e.iter()
            .any(|e| e.contains("relay.dhcp6.servers[0]: \"192.0.2.1\" is not an IPv6 address")),
        "{e:?}"
    );
    assert!(
        e.iter()
            .any(|e| e.contains("relay.dhcp6.interface: name at least one downstream interface")),
        "{e:?}"
    );
    let e = errors("[relay]\n");
    assert!(
        e.iter()
            .any(|e| e.contains("add [relay.dhcp4] or [relay.dhcp6]")),
        "{e:?}"
    );
}

#[test]
fn receive_spin_is_off_unless_asked_for() {
    assert!(!parse(GOOD, "relay.toml").unwrap().receive_spin);
    let on = GOOD.replacen("[relay]\n", "[relay]\nreceive-spin = true\n", 1);
    assert!(parse(&on, "relay.toml").unwrap().receive_spin);
    let bad = GOOD.replacen("[relay]\n", "[relay]\nreceive-spin = \"fast\"\n", 1);
    let e = errors(&bad);
    assert!(
        e.iter()
            .any(|m| m.contains("relay.toml:2:") && m.contains("receive-spin")),
        "{e:?}"
    );
}
