//! Whole-file checks of `[dhcp6]`: what operators see for each kind of mistake.

use super::*;
use std::net::Ipv6Addr;

const GOOD6: &str = r#"
[dhcp6]
server-duid = "00:02:00:00:ab:11:01:02:03:04"
listen = ["2001:db8::1"]
interfaces = ["eth1"]
options = { dns-servers = ["2001:db8::53"], domain-list = ["example.net"] }

[[dhcp6.link]]
prefix = "2001:db8:1::/64"
interface-ids = ["ge-0/0/1", "0x0102"]
pools = [
  "2001:db8:1::1000-2001:db8:1::1fff",
  { range = "2001:db8:1::2000/116", options = { sntp-servers = ["2001:db8::123"] } },
]
prefix-pools = [{ prefix = "2001:db8:100::/48", delegated-length = 56 }]
reservations = [
  { duid = "00:03:00:01:02:00:00:00:00:01", addresses = ["2001:db8:1::10"], prefixes = ["2001:db8:200::/56"] },
  { duid = "00:03:00:01:02:00:00:00:00:02", prefixes = ["2001:db8:100:ff00::/56"] },
]

[[dhcp6.link]]
prefix = "2001:db8:2::/64"
interface = "eth1"
preferred-lifetime = "2h"
valid-lifetime = "4h"
pools = ["2001:db8:2::100-2001:db8:2::1ff"]
"#;

fn errors(text: &str) -> Vec<ConfigError> {
    parse(text, "t.toml")
        .expect_err("config should be refused")
        .0
}

/// (key, line) of every error.
fn found(text: &str) -> Vec<(String, usize)> {
    errors(text)
        .iter()
        .map(|e| (e.key.to_string(), e.position.unwrap().line))
        .collect()
}

fn keys(text: &str) -> Vec<String> {
    errors(text).iter().map(|e| e.key.to_string()).collect()
}

fn one_error(text: &str) -> ConfigError {
    let e = errors(text);
    assert_eq!(e.len(), 1, "{e:#?}");
    e.into_iter().next().unwrap()
}

fn a(s: &str) -> Ipv6Addr {
    s.parse().unwrap()
}

#[test]
fn dhcp6_alone_resolves_with_its_defaults() {
    let c = parse(GOOD6, "t.toml").unwrap();
    assert!(c.dhcp4.is_none() && c.leasequery4.is_none());
    let d = c.dhcp6.unwrap();
    assert_eq!(
        d.server_duid,
        ServerDuid::Configured(vec![0, 2, 0, 0, 0xab, 0x11, 1, 2, 3, 4])
    );
    assert_eq!(d.listen, [a("2001:db8::1")]);
    assert_eq!(d.port, 547);
    assert!(!d.rapid_commit);
    assert_eq!(d.decline_probation, Seconds(86_400));
    assert_eq!(
        d.options.iter().map(|o| o.code).collect::<Vec<_>>(),
        [23, 24]
    );
    let l = &d.links[0];
    assert_eq!(
        l.lifetimes,
        Lifetimes6 {
            preferred: Seconds(1800),
            valid: Seconds(3600),
            renew_time: Seconds(900),
            rebind_time: Seconds(1440),
        }
    );
    assert_eq!(l.interface_ids, [b"ge-0/0/1".to_vec(), vec![1, 2]]);
    assert_eq!(l.address_pools[0].size(), 0x1000);
    assert_eq!(l.address_pools[1].first, a("2001:db8:1::2000"));
    assert_eq!(l.address_pools[1].last, a("2001:db8:1::2fff"));
    assert_eq!(l.address_pools[1].options[0].code, 31);
    assert_eq!(l.prefix_pools[0].size(), 256);
    assert_eq!(l.reservations[0].duid, [0, 3, 0, 1, 2, 0, 0, 0, 0, 1]);
    assert_eq!(l.reservations[0].addresses, [a("2001:db8:1::10")]);
    let l = &d.links[1];
    assert_eq!(l.interface.as_deref(), Some("eth1"));
    assert_eq!(
        (l.lifetimes.renew_time, l.lifetimes.rebind_time),
        (Seconds(3600), Seconds(5760)),
        "a link's own preferred lifetime derives its own T1 and T2"
    );
}

#[test]
fn without_server_duid_one_is_generated() {
    let text = GOOD6.replace("server-duid = \"00:02:00:00:ab:11:01:02:03:04\"\n", "");
    let d = parse(&text, "t.toml").unwrap().dhcp6.unwrap();
    assert_eq!(d.server_duid, ServerDuid::Generated);
}

#[test]
fn a_dhcp6_section_must_name_where_it_serves() {
    let text = GOOD6
        .replace("listen = [\"2001:db8::1\"]\n", "")
        .replace("interfaces = [\"eth1\"]\n", "")
        .replace("interface = \"eth1\"\n", "");
    let e = one_error(&text);
    assert_eq!(e.key.to_string(), "dhcp6");
    assert!(e.message.contains("serves nothing"), "{e}");
    assert_eq!(e.position.unwrap().line, 2);
}

#[test]
fn the_server_duid_is_checked() {
    for (duid, why) in [
        ("00:02", "3 octets"),
        ("zz", "not hex"),
        ("00:00:01:02", "reserved"),
        ("00:04:01:02:03", "DUID-UUID"),
        ("00:01:00:01:02", "DUID-LLT"),
        ("00:02:00:00:01", "DUID-EN"),
        ("00:03:00", "DUID-LL"),
    ] {
        let text = GOOD6.replace("00:02:00:00:ab:11:01:02:03:04", duid);
        let e = one_error(&text);
        assert_eq!(e.key.to_string(), "dhcp6.server-duid", "{duid}");
        assert_eq!(e.position.unwrap().line, 3);
        let why = if why == "3 octets" { "2 octets" } else { why };
        assert!(e.message.contains(why), "{duid}: {e}");
    }
    let long = vec!["ab"; 131].join(":");
    let e = one_error(&GOOD6.replace("00:02:00:00:ab:11:01:02:03:04", &long));
    assert!(e.message.contains("131 octets"), "{e}");
    // An unknown type is opaque (RFC 8415 §11): accepted.
    let c = parse(
        &GOOD6.replace("00:02:00:00:ab:11:01:02:03:04", "ff:00:01"),
        "t.toml",
    );
    assert!(c.is_ok(), "{c:?}");
}

#[test]
fn listen_addresses_are_unicast_and_mean_one_place() {
    let text = GOOD6.replace(
        "listen = [\"2001:db8::1\"]",
        "listen = [\"2001:db8::1\", \"::\", \"ff02::1:2\", \"fe80::1\", \"::ffff:192.0.2.1\", \"2001:db8::1\"]",
    );
    let e = errors(&text);
    let keys: Vec<String> = e.iter().map(|e| e.key.to_string()).collect();
    assert_eq!(
        keys,
        [
            "dhcp6.listen[1]",
            "dhcp6.listen[2]",
            "dhcp6.listen[3]",
            "dhcp6.listen[4]",
            "dhcp6.listen[5]"
        ]
    );
    assert!(
        e[0].message.contains("listen-wildcard = true in [dhcp6]"),
        "{}",
        e[0]
    );
    assert!(e[1].message.contains("multicast"), "{}", e[1]);
    assert!(e[2].message.contains("link-local"), "{}", e[2]);
    assert!(e[3].message.contains("IPv4"), "{}", e[3]);
    assert!(e[4].message.contains("twice"), "{}", e[4]);
    let wildcard = GOOD6.replace(
        "listen = [\"2001:db8::1\"]",
        "listen = [\"::\"]\nlisten-wildcard = true",
    );
    let d = parse(&wildcard, "t.toml").unwrap().dhcp6.unwrap();
    assert_eq!(d.listen, [Ipv6Addr::UNSPECIFIED]);
    // Loopback is a place: tests and a relay on the same host use it.
    assert!(parse(&GOOD6.replace("\"2001:db8::1\"]", "\"::1\"]"), "t.toml").is_ok());
}

#[test]
fn interfaces_ports_and_threads_are_checked() {
    let text = GOOD6.replace(
        "interfaces = [\"eth1\"]",
        "interfaces = [\"eth1\", \"\", \"eth1\"]\nport = 0\nreceive-threads = 0",
    );
    assert_eq!(
        keys(&text),
        [
            "dhcp6.interfaces[1]",
            "dhcp6.interfaces[2]",
            "dhcp6.port",
            "dhcp6.receive-threads"
        ]
    );
}

#[test]
fn a_link_interface_must_be_served() {
    let text = GOOD6.replace("interface = \"eth1\"", "interface = \"eth2\"");
    let e = one_error(&text);
    assert_eq!(e.key.to_string(), "dhcp6.link[1].interface");
    assert!(e.message.contains("not in dhcp6.interfaces"), "{e}");
    let twice =
        format!("{GOOD6}\n[[dhcp6.link]]\nprefix = \"2001:db8:3::/64\"\ninterface = \"eth1\"\n");
    let e = one_error(&twice);
    assert_eq!(e.key.to_string(), "dhcp6.link[2].interface");
    assert!(e.message.contains("dhcp6.link[1]"), "{e}");
}

#[test]
fn interface_ids_identify_one_link() {
    let text = GOOD6.replace(
        "interface = \"eth1\"",
        "interface = \"eth1\"\ninterface-ids = [\"0x6765\", \"0x0102\", \"\", \"0xzz\", \"x\", \"x\"]",
    );
    let e = errors(&text);
    let keys: Vec<String> = e.iter().map(|e| e.key.to_string()).collect();
    assert_eq!(
        keys,
        [
            "dhcp6.link[1].interface-ids[2]",
            "dhcp6.link[1].interface-ids[3]",
            "dhcp6.link[1].interface-ids[5]",
            "dhcp6.link[1].interface-ids[1]",
        ],
        "{e:#?}"
    );
    assert!(e[3].message.contains("dhcp6.link[0]"), "{}", e[3]);
    // "0x6765" is "ge" in hex: distinct from every id of link 0.
}

#[test]
fn links_do_not_overlap_and_are_assignable() {
    let text = format!(
        "{GOOD6}\n[[dhcp6.link]]\nprefix = \"2001:db8::/46\"\n\n[[dhcp6.link]]\nprefix = \"fe80::/64\"\n\n[[dhcp6.link]]\nprefix = \"2001:db8:5::1/64\"\n"
    );
    let found = found(&text);
    assert_eq!(
        found,
        [
            ("dhcp6.link[3].prefix".to_string(), 32),
            ("dhcp6.link[4].prefix".to_string(), 35),
            ("dhcp6.link[2].prefix".to_string(), 29),
            ("dhcp6.link[2].prefix".to_string(), 29),
        ],
    );
    let e = errors(&text);
    assert!(e[0].message.contains("link-local"), "{}", e[0]);
    assert!(
        e[1].message.contains("did you mean 2001:db8:5::/64"),
        "{}",
        e[1]
    );
    assert!(e[2].message.contains("dhcp6.link[0]"), "{}", e[2]);
    assert!(e[3].message.contains("dhcp6.link[1]"), "{}", e[3]);
}

#[test]
fn address_pools_stay_inside_their_link_and_apart() {
    let text = GOOD6.replace(
        "pools = [\"2001:db8:2::100-2001:db8:2::1ff\"]",
        "pools = [\"2001:db8:2::100-2001:db8:2::1ff\", \"2001:db8:2::1f0/124\", \"2001:db8:3::1-2001:db8:3::9\", \"2001:db8:2::/120\", \"2001:db8:2::9-2001:db8:2::1\", { range = \"2001:db8:2::1:0/112\", options = { dns-servers = \"x\" } }, { rnage = \"x\" }]",
    );
    // The misspelt key of the last pool is refused before any rule runs.
    let e = one_error(&text);
    assert!(e.message.contains("unknown field `rnage`"), "{e}");
    assert_eq!(e.key.to_string(), "dhcp6.link[1].pools[6].rnage");
    let text = text.replace(", { rnage = \"x\" }", "");
    let e = errors(&text);
    let keys: Vec<String> = e.iter().map(|e| e.key.to_string()).collect();
    assert_eq!(
        keys,
        [
            "dhcp6.link[1].pools[1]",
            "dhcp6.link[1].pools[2]",
            "dhcp6.link[1].pools[3]",
            "dhcp6.link[1].pools[4]",
            "dhcp6.link[1].pools[5].options.dns-servers",
        ]
    );
    assert!(e[0].message.contains("overlaps pools[0]"), "{}", e[0]);
    assert!(
        e[1].message.contains("not inside 2001:db8:2::/64"),
        "{}",
        e[1]
    );
    assert!(e[2].message.contains("Subnet-Router anycast"), "{}", e[2]);
    assert!(e[3].message.contains("ends before it starts"), "{}", e[3]);
    // Indexes are those written, though pools[0] was refused on its own.
    let text = GOOD6.replace(
        "pools = [\"2001:db8:2::100-2001:db8:2::1ff\"]",
        "pools = [\"nonsense\", \"2001:db8:2::100-2001:db8:2::1ff\", \"2001:db8:2::1ff-2001:db8:2::200\"]",
    );
    let e = errors(&text);
    assert_eq!(e[1].key.to_string(), "dhcp6.link[1].pools[2]");
    assert!(e[1].message.contains("overlaps pools[1]"), "{}", e[1]);
}

#[test]
fn prefix_pools_are_apart_from_links_and_each_other() {
    let text = GOOD6.replace(
        "pools = [\"2001:db8:2::100-2001:db8:2::1ff\"]",
        "pools = [\"2001:db8:2::100-2001:db8:2::1ff\"]\nprefix-pools = [\n  { prefix = \"2001:db8:100:8000::/49\", delegated-length = 60 },\n  { prefix = \"2001:db8:2::/56\", delegated-length = 64 },\n  { prefix = \"2001:db8:300::/48\", delegated-length = 40 },\n  { prefix = \"2001:db8:400::/48\", delegated-length = 129 },\n  { prefix = \"2001:db8:500::1/48\", delegated-length = 56 },\n  { prefix = \"2001:db8:600::/48\", delegated-length = 128 },\n]",
    );
    let e = errors(&text);
    let found: Vec<(String, usize)> = e
        .iter()
        .map(|e| (e.key.to_string(), e.position.unwrap().line))
        .collect();
    assert_eq!(
        found,
        [
            (
                "dhcp6.link[1].prefix-pools[2].delegated-length".to_string(),
                30
            ),
            (
                "dhcp6.link[1].prefix-pools[3].delegated-length".to_string(),
                31
            ),
            ("dhcp6.link[1].prefix-pools[4].prefix".to_string(), 32),
            ("dhcp6.link[1].prefix-pools[0].prefix".to_string(), 28),
            ("dhcp6.link[1].prefix-pools[1].prefix".to_string(), 29),
        ],
        "{e:#?}"
    );
    assert!(
        e[3].message
            .contains("overlaps dhcp6.link[0].prefix-pools[0] (2001:db8:100::/48)"),
        "{}",
        e[3]
    );
    assert!(
        e[4].message
            .contains("overlaps dhcp6.link[1].prefix (2001:db8:2::/64)"),
        "{}",
        e[4]
    );
}

#[test]
fn reservations_are_checked() {
    let text = GOOD6.replace(
        "pools = [\"2001:db8:2::100-2001:db8:2::1ff\"]",
        r#"pools = ["2001:db8:2::100-2001:db8:2::1ff"]
reservations = [
  { duid = "00:03:00:01:02:00:00:00:00:01", addresses = ["2001:db8:2::150", "2001:db8:1::5", "2001:db8:2::"] },
  { duid = "00:03:00:01:02:00:00:00:00:01", addresses = ["2001:db8:2::150"] },
  { duid = "01" },
  { duid = "00:03:00:01:02:00:00:00:00:03" },
  { duid = "00:03:00:01:02:00:00:00:00:03", addresses = ["2001:db8:2::150"] },
  { duid = "00:03:00:01:02:00:00:00:00:04", options = { domain-list = ["example..net"] } },
]"#,
    );
    let e = errors(&text);
    let keys: Vec<String> = e.iter().map(|e| e.key.to_string()).collect();
    assert_eq!(
        keys,
        [
            "dhcp6.link[1].reservations[0].addresses[1]",
            "dhcp6.link[1].reservations[0].addresses[2]",
            "dhcp6.link[1].reservations[1].duid",
            "dhcp6.link[1].reservations[1].addresses[0]",
            "dhcp6.link[1].reservations[2].duid",
            "dhcp6.link[1].reservations[3]",
            "dhcp6.link[1].reservations[4].duid",
            "dhcp6.link[1].reservations[4].addresses[0]",
            "dhcp6.link[1].reservations[5].options.domain-list",
        ],
        "{e:#?}"
    );
    assert!(
        e[2].message.contains("already has reservations[0]"),
        "{}",
        e[2]
    );
    assert!(
        e[3].message.contains("already reserved by reservations[0]"),
        "{}",
        e[3]
    );
    assert!(e[5].message.contains("reserves nothing"), "{}", e[5]);
    // Indexes are those written, though reservations[2] was refused on its own.
    assert!(
        e[6].message.contains("already has reservations[3]"),
        "{}",
        e[6]
    );
    assert!(
        e[7].message.contains("already reserved by reservations[0]"),
        "{}",
        e[7]
    );
    // Inside a pool is allowed, as for DHCPv4; the same DUID on another link too.
    let ok = GOOD6.replace(
        "pools = [\"2001:db8:2::100-2001:db8:2::1ff\"]",
        "pools = [\"2001:db8:2::100-2001:db8:2::1ff\"]\nreservations = [{ duid = \"00:03:00:01:02:00:00:00:00:01\", addresses = [\"2001:db8:2::150\"] }]",
    );
    assert!(parse(&ok, "t.toml").is_ok());
}

#[test]
fn reserved_prefixes_are_delegable_or_outside_every_pool() {
    let with = |prefixes: &str| {
        GOOD6.replace(
            "pools = [\"2001:db8:2::100-2001:db8:2::1ff\"]",
            &format!(
                "pools = [\"2001:db8:2::100-2001:db8:2::1ff\"]\nreservations = [{{ duid = \"00:01:00:01:00:00:00:01:02:00:00:00:00:09\", prefixes = [{prefixes}] }}]"
            ),
        )
    };
    // One of the /56 of link 0's pool, but reserved on link 1.
    let e = one_error(&with("\"2001:db8:100:1000::/56\""));
    assert_eq!(
        e.key.to_string(),
        "dhcp6.link[1].reservations[0].prefixes[0]"
    );
    assert!(e.message.contains("dhcp6.link[0].prefix-pools[0]"), "{e}");
    // The wrong length inside a pool of its own link.
    let text = GOOD6.replace(
        "prefixes = [\"2001:db8:100:ff00::/56\"]",
        "prefixes = [\"2001:db8:100:ff00::/60\"]",
    );
    let e = one_error(&text);
    assert_eq!(
        e.key.to_string(),
        "dhcp6.link[0].reservations[1].prefixes[0]"
    );
    assert!(e.message.contains("/56 delegated"), "{e}");
    // Overlapping another reservation's, a link, non-assignable space, host bits.
    let e = errors(&with(
        "\"2001:db8:200::/48\", \"2001:db8:1:0:8000::/80\", \"ff00::/8\", \"2001:db8:300::1/56\"",
    ));
    let keys: Vec<String> = e.iter().map(|e| e.key.to_string()).collect();
    assert_eq!(
        keys,
        [
            "dhcp6.link[1].reservations[0].prefixes[3]",
            "dhcp6.link[1].reservations[0].prefixes[0]",
            "dhcp6.link[1].reservations[0].prefixes[1]",
            "dhcp6.link[1].reservations[0].prefixes[2]",
        ],
        "{e:#?}"
    );
    assert!(
        e[1].message.contains("dhcp6.link[0].reservations[0]"),
        "{}",
        e[1]
    );
    assert!(e[2].message.contains("dhcp6.link[0].prefix"), "{}", e[2]);
    assert!(e[3].message.contains("multicast"), "{}", e[3]);
    // Outside every pool and link: any length.
    assert!(parse(&with("\"2001:db8:300::/48\""), "t.toml").is_ok());
}

#[test]
fn lifetimes_follow_rfc8415() {
    let e = one_error(&GOOD6.replace(
        "[dhcp6]\n",
        "[dhcp6]\npreferred-lifetime = \"2h\"\nvalid-lifetime = \"1h\"\n",
    ));
    assert_eq!(e.key.to_string(), "dhcp6.valid-lifetime");
    assert_eq!(e.position.unwrap().line, 4);
    assert!(e.message.contains("must not exceed valid-lifetime"), "{e}");
    // Only the key that is written is blamed.
    let e = one_error(&GOOD6.replace("[dhcp6]\n", "[dhcp6]\npreferred-lifetime = \"2h\"\n"));
    assert_eq!(e.key.to_string(), "dhcp6.preferred-lifetime");
    assert_eq!(e.position.unwrap().line, 3);
    let e = one_error(&GOOD6.replace("[dhcp6]\n", "[dhcp6]\npreferred-lifetime = 0\n"));
    assert_eq!(e.key.to_string(), "dhcp6.preferred-lifetime");
    assert!(e.message.contains("deprecated"), "{e}");
    let e = errors(&GOOD6.replace("[dhcp6]\n", "[dhcp6]\nvalid-lifetime = 0\n"));
    let keys: Vec<String> = e.iter().map(|e| e.key.to_string()).collect();
    assert!(keys.contains(&"dhcp6.valid-lifetime".into()), "{e:#?}");
    let e = one_error(&GOOD6.replace("[dhcp6]\n", "[dhcp6]\nrenew-time = \"25m\"\n"));
    assert_eq!(e.key.to_string(), "dhcp6.renew-time");
    assert!(
        e.message.contains("must not exceed rebind-time (24m)"),
        "{e}"
    );
    let e = one_error(&GOOD6.replace(
        "[dhcp6]\n",
        "[dhcp6]\nrebind-time = \"31m\"\nrenew-time = \"1m\"\n",
    ));
    assert_eq!(e.key.to_string(), "dhcp6.rebind-time");
    assert!(
        e.message
            .contains("must not exceed preferred-lifetime (30m)"),
        "{e}"
    );
    // T1 = T2 = 0: the client decides (RFC 8415 §21.4).
    let zero = GOOD6.replace("[dhcp6]\n", "[dhcp6]\nrenew-time = 0\nrebind-time = 0\n");
    let l = parse(&zero, "t.toml").unwrap().dhcp6.unwrap().links[0].lifetimes;
    assert_eq!((l.renew_time, l.rebind_time), (Seconds(0), Seconds(0)));
    // A link that shortens the valid lifetime below the section's preferred one: named there.
    let e = one_error(&GOOD6.replace("valid-lifetime = \"4h\"", "valid-lifetime = \"1h\""));
    assert_eq!(e.key.to_string(), "dhcp6.link[1].valid-lifetime");
    // A link inheriting the section's T2 with a shorter preferred lifetime of its own does not:
    // its own preferred lifetime derives its own timers.
    let text = GOOD6
        .replace("[dhcp6]\n", "[dhcp6]\nrebind-time = \"25m\"\n")
        .replace(
            "preferred-lifetime = \"2h\"",
            "preferred-lifetime = \"10m\"",
        );
    let d = parse(&text, "t.toml").unwrap().dhcp6.unwrap();
    assert_eq!(d.links[1].lifetimes.rebind_time, Seconds(480));
    // A link that sets only T1 inherits the section's T2.
    let text = GOOD6
        .replace("[dhcp6]\n", "[dhcp6]\nrebind-time = \"20m\"\n")
        .replace(
            "prefix = \"2001:db8:1::/64\"\n",
            "prefix = \"2001:db8:1::/64\"\nrenew-time = \"21m\"\n",
        );
    let e = one_error(&text);
    assert_eq!(e.key.to_string(), "dhcp6.link[0].renew-time");
    assert!(e.message.contains("rebind-time (20m)"), "{e}");
}

#[test]
fn options_are_checked_at_every_level() {
    let text = GOOD6
        .replace(
            "domain-list = [\"example.net\"]",
            "domain-list = [\"example.net\"], option-2 = \"0001\", \"23\" = \"2001:db8::54\"",
        )
        .replace(
            "delegated-length = 56 }",
            "delegated-length = 56, options = { information-refresh-time = \"1m\" } }",
        );
    let e = errors(&text);
    let keys: Vec<String> = e.iter().map(|e| e.key.to_string()).collect();
    assert_eq!(
        keys,
        [
            "dhcp6.options.dns-servers",
            "dhcp6.options.option-2",
            "dhcp6.link[0].prefix-pools[0].options.information-refresh-time",
        ],
        "{e:#?}"
    );
    assert!(e[0].message.contains("set twice"), "{}", e[0]);
    assert!(e[1].message.contains("server-duid"), "{}", e[1]);
    assert!(e[2].message.contains("IRT_MINIMUM"), "{}", e[2]);
}

#[test]
fn unknown_dhcp6_keys_are_refused_with_their_line() {
    let e = one_error(&GOOD6.replace("delegated-length", "delegated-len"));
    assert!(e.message.contains("unknown field `delegated-len`"), "{e}");
    assert_eq!(e.position.unwrap().line, 15);
    let e = one_error(&GOOD6.replace(
        "interfaces = [\"eth1\"]",
        "interfaces = [\"eth1\"]\nrapid-comit = true",
    ));
    assert_eq!(e.position.unwrap().line, 6);
}

#[test]
fn both_families_load_together() {
    let both =
        format!("[dhcp4]\nserver-identifier = \"192.0.2.1\"\nlisten = [\"192.0.2.1\"]\n{GOOD6}");
    let c = parse(&both, "t.toml").unwrap();
    assert!(c.dhcp4.is_some() && c.dhcp6.is_some());
}

#[test]
fn rate_limits_default_to_dhcp4s_and_a_zero_burst_is_refused() {
    let c = parse(GOOD6, "t.toml").unwrap();
    let r = &c.dhcp6.as_ref().unwrap().rate_limit;
    assert_eq!((r.per_client, r.per_client_burst), (10, 20));
    assert_eq!((r.per_relay, r.per_relay_burst), (2_000, 20_000));
    let text = format!(
        "{GOOD6}\n[dhcp6.rate-limit]\nper-client = 0\nper-relay = 5\nper-relay-burst = 0\n"
    );
    let c = parse(
        &text.replace("per-relay-burst = 0", "per-relay-burst = 9"),
        "t.toml",
    )
    .unwrap();
    let r = &c.dhcp6.as_ref().unwrap().rate_limit;
    assert_eq!((r.per_client, r.per_relay, r.per_relay_burst), (0, 5, 9));
    assert_eq!(keys(&text), ["dhcp6.rate-limit.per-relay-burst"]);
}

const LQ6: &str = r#"
[leasequery6]
requesters = ["2001:db8:ff::/64", "2001:db8:fe::5/128"]
sensitive-options = [47, 23]
not-allowed = "not-allowed"
relayed = "discard"
"#;

#[test]
fn leasequery6_loads_with_its_defaults_and_choices() {
    let c = parse(&format!("{GOOD6}{LQ6}"), "t.toml").unwrap();
    let l = c.leasequery6.unwrap();
    assert_eq!(l.requesters.len(), 2);
    assert_eq!(l.sensitive_options, vec![47, 23]);
    assert_eq!(l.not_allowed, schema::NotAllowed6::NotAllowed);
    assert_eq!(l.relayed, schema::Relayed6::Discard);
    assert_eq!(l.rate_limit.per_requester, 5_000);
    let c = parse(&format!("{GOOD6}\n[leasequery6]\n"), "t.toml").unwrap();
    let l = c.leasequery6.unwrap();
    assert!(l.requesters.is_empty() && l.sensitive_options.is_empty());
    assert_eq!(l.not_allowed, schema::NotAllowed6::Discard);
    assert_eq!(l.relayed, schema::Relayed6::Answer);
}

#[test]
fn leasequery6_mistakes_are_located() {
    let text = format!("{GOOD6}{LQ6}");
    let base = text.lines().position(|l| l == "[leasequery6]").unwrap() + 1;
    let bad = text
        .replace("\"2001:db8:fe::5/128\"", "\"192.0.2.0/24\"")
        .replace("[47, 23]", "[47, 0]")
        .replace("relayed = \"discard\"", "rate-limit = { total = 0 }");
    assert_eq!(
        found(&bad),
        vec![
            ("leasequery6.requesters[1]".to_string(), base + 1),
            ("leasequery6.sensitive-options[1]".to_string(), base + 2),
            ("leasequery6.rate-limit".to_string(), base + 4),
        ]
    );
    let e = errors(&bad);
    assert!(e[0].message.contains("is IPv4"), "{}", e[0]);
    // A choice that does not exist is refused at its line.
    let e = one_error(&text.replace("\"not-allowed\"\n", "\"refuse\"\n"));
    assert!(e.message.contains("unknown variant `refuse`"), "{e}");
    assert_eq!(e.position.unwrap().line, base + 3);
    // Without [dhcp6] there is no socket and no server DUID to answer with.
    let e = one_error(LQ6);
    assert_eq!(e.key.to_string(), "leasequery6");
    assert!(e.message.contains("needs [dhcp6]"), "{e}");
}

#[test]
fn leasequery6_bulk_defaults_and_errors_name_their_keys() {
    let ok = format!(
        "{GOOD6}\n[leasequery6]\nrequesters = [\"2001:db8::/32\"]\n\n[leasequery6.bulk]\nlisten = [\"2001:db8::1\"]\n"
    );
    let c = parse(&ok, "t.toml").unwrap();
    let b = c.leasequery6.unwrap().bulk.unwrap();
    assert_eq!(b.port, 547);
    assert_eq!((b.max_connections, b.queries_per_connection), (10, 8));

    let keys =
        |text: &str| -> Vec<String> { errors(text).iter().map(|e| e.key.to_string()).collect() };
    let alone = "[leasequery6]\nrequesters = [\"2001:db8::/32\"]\n";
    assert_eq!(keys(alone), ["leasequery6"]);
    let bad = format!(
        "{GOOD6}\n[leasequery6]\nrequesters = [\"192.0.2.0/24\"]\n\n[leasequery6.bulk]\nlisten = [\"::\", \"192.0.2.1\"]\nmax-connections = 0\ndata-timeout = \"0s\"\n"
    );
    assert_eq!(
        keys(&bad),
        [
            "leasequery6.requesters[0]",
            "leasequery6.bulk.listen[0]",
            "leasequery6.bulk.listen[1]",
            "leasequery6.bulk.max-connections",
            "leasequery6.bulk.data-timeout",
        ]
    );
    let typo = format!("{GOOD6}\n[leasequery6.bulk]\ndraft-codes = {{}}\n");
    assert_eq!(keys(&typo), ["leasequery6.bulk.draft-codes"]);
}
