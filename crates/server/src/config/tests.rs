//! Whole-file checks: what operators see for each kind of mistake.

use super::*;

const GOOD: &str = r#"
[server]
store = "var/lessor.db"

[dhcp4]
server-identifier = "192.0.2.1"
listen = ["192.0.2.1"]
relays = ["192.0.2.0/24"]
lease-time = "1h"
options = { domain-name-servers = ["192.0.2.53"] }

[[dhcp4.subnet]]
prefix = "198.51.100.0/24"
pools = ["198.51.100.100-198.51.100.199"]
exclude = ["198.51.100.150"]
options = { routers = ["198.51.100.1"] }
reservations = [
  { mac = "02:00:00:00:00:02", address = "198.51.100.10" },
  { client-id = "01:02:00:00:00:00:03", address = "198.51.100.11" },
]

[leasequery4]
requesters = ["192.0.2.0/24"]
"#;

/// The same as [`GOOD`] in the layout before per-family sections.
const EARLIER: &str = r#"
[server]
identifier = "192.0.2.1"

[dhcp4]
listen = ["192.0.2.1"]
relays = ["192.0.2.0/24"]

[[dhcp4.subnet]]
prefix = "198.51.100.0/24"
pools = ["198.51.100.100-198.51.100.199"]

[leasequery]
requesters = ["192.0.2.0/24"]

[leasequery.bulk]
listen = ["192.0.2.1"]
"#;

fn errors(text: &str) -> Vec<ConfigError> {
    parse(text, "t.toml")
        .expect_err("config should be refused")
        .0
}

#[test]
fn a_good_config_resolves() {
    let c = parse(GOOD, "t.toml").unwrap();
    let d = c.dhcp4.unwrap();
    assert_eq!(d.subnets[0].pools[0].size(), 100);
    assert_eq!(d.subnets[0].timers.renew_time, Seconds(1800));
    assert_eq!(d.options[0].code, 6);
    assert_eq!(
        d.subnets[0].reservations[1].client,
        ClientKey::ClientId(vec![1, 2, 0, 0, 0, 0, 3])
    );
    let lq = c.leasequery4.unwrap();
    assert_eq!(
        lq.server_identifier, d.server_identifier,
        "leasequery answers as the DHCP server by default"
    );
    assert_eq!(
        d.server_identifier,
        "192.0.2.1".parse::<std::net::Ipv4Addr>().unwrap()
    );
    assert!(c.warnings.is_empty(), "{:?}", c.warnings);
    assert_eq!(lq.rate_limit.per_requester, 5000);
}

#[test]
fn syntax_errors_name_the_line() {
    let e = errors("[server]\nstats-interval = \"1m\"\nstore = \n");
    assert_eq!(e[0].position.unwrap().line, 3, "{e:?}");
}

#[test]
fn type_errors_name_line_and_key() {
    let text = GOOD.replace("lease-time = \"1h\"", "lease-time = \"1 hour\"");
    let e = errors(&text);
    assert_eq!(e[0].key.to_string(), "dhcp4.lease-time");
    assert_eq!(e[0].position.unwrap().line, 9);
    assert!(e[0].to_string().starts_with("t.toml:9:"), "{}", e[0]);
}

#[test]
fn unknown_keys_are_refused() {
    let text = GOOD.replace("lease-time", "lease-tme");
    let e = errors(&text);
    assert!(e[0].message.contains("unknown field `lease-tme`"), "{e:?}");
    assert_eq!(e[0].position.unwrap().line, 9);
}

#[test]
fn semantic_errors_are_all_reported_with_their_lines() {
    let text = GOOD
        .replace(
            "198.51.100.100-198.51.100.199",
            "198.51.101.100-198.51.101.199",
        )
        .replace("address = \"198.51.100.11\"", "address = \"198.51.100.10\"")
        .replace("routers = [", "rooters = [");
    let e = errors(&text);
    let found: Vec<(String, usize)> = e
        .iter()
        .map(|e| (e.key.to_string(), e.position.unwrap().line))
        .collect();
    assert!(
        found.contains(&("dhcp4.subnet[0].pools[0]".into(), 14)),
        "{found:?}"
    );
    assert!(
        found.contains(&("dhcp4.subnet[0].exclude[0]".into(), 15)),
        "{found:?}"
    );
    assert!(
        found.contains(&("dhcp4.subnet[0].options.rooters".into(), 16)),
        "{found:?}"
    );
    assert!(
        found.contains(&("dhcp4.subnet[0].reservations[1].address".into(), 19)),
        "{found:?}"
    );
}

#[test]
fn a_dhcp4_section_must_name_where_it_serves() {
    let text = GOOD.replace("listen = [\"192.0.2.1\"]", "");
    let e = errors(&text);
    assert_eq!(e[0].key.to_string(), "dhcp4");
    assert!(e[0].message.contains("serves nothing"));
}

#[test]
fn overlapping_subnets_and_bad_timers_are_refused() {
    let text = format!(
        "{GOOD}\n[[dhcp4.subnet]]\nprefix = \"198.51.100.128/25\"\nlease-time = \"1h\"\nrenew-time = \"2h\"\n"
    )
    .replace("[leasequery4]\nrequesters = [\"192.0.2.0/24\"]\n", "");
    let e = errors(&text);
    let keys: Vec<String> = e.iter().map(|e| e.key.to_string()).collect();
    assert!(keys.contains(&"dhcp4.subnet[1].prefix".into()), "{keys:?}");
    assert!(
        keys.contains(&"dhcp4.subnet[1].renew-time".into()),
        "{keys:?}"
    );
}

#[test]
fn legacy_requesters_must_be_allowed() {
    let text = format!("{GOOD}legacy = [{{ requester = \"203.0.113.9\" }}]\n");
    let e = errors(&text);
    assert_eq!(e[0].key.to_string(), "leasequery4.legacy[0].requester");
    assert!(
        e[0].message.contains("not in leasequery4.requesters"),
        "{e:?}"
    );
}

#[test]
fn reply_to_source_port_must_be_ipv4_requesters() {
    let text = format!(
        "{GOOD}reply-to-source-port = [\"192.0.2.0/25\", \"203.0.113.0/24\", \"2001:db8::/64\"]\n"
    );
    let e = errors(&text);
    let found: Vec<(String, bool)> = e
        .iter()
        .map(|e| (e.key.to_string(), e.position.is_some()))
        .collect();
    assert_eq!(
        found,
        [
            ("leasequery4.reply-to-source-port[1]".to_string(), true),
            ("leasequery4.reply-to-source-port[2]".to_string(), true),
        ],
        "{e:?}"
    );
    assert!(
        e[0].message.contains("not inside leasequery4.requesters"),
        "{e:?}"
    );
    assert!(e[1].message.contains("IPv6"), "{e:?}");
    let ok = format!("{GOOD}reply-to-source-port = [\"192.0.2.7/32\"]\n");
    let lq = parse(&ok, "t.toml").unwrap().leasequery4.unwrap();
    assert_eq!(lq.reply_to_source_port, ["192.0.2.7/32".parse().unwrap()]);
}

#[test]
fn the_earlier_layout_loads_and_says_what_to_rename() {
    let c = parse(EARLIER, "old.toml").expect("the earlier layout still loads");
    assert_eq!(
        c.dhcp4.as_ref().unwrap().server_identifier,
        "192.0.2.1".parse::<std::net::Ipv4Addr>().unwrap()
    );
    let lq = c
        .leasequery4
        .as_ref()
        .expect("[leasequery] is read as [leasequery4]");
    assert_eq!(
        lq.server_identifier,
        c.dhcp4.as_ref().unwrap().server_identifier
    );
    assert!(lq.bulk.is_some());
    let w: Vec<(String, usize)> = c
        .warnings
        .iter()
        .map(|w| (w.key.to_string(), w.position.unwrap().line))
        .collect();
    assert_eq!(
        w,
        vec![("server.identifier".into(), 3), ("leasequery".into(), 13)]
    );
    assert!(
        c.warnings[0].message.contains("server-identifier"),
        "{}",
        c.warnings[0]
    );
    assert!(
        c.warnings[1].message.contains("[leasequery4]"),
        "{}",
        c.warnings[1]
    );
    assert!(
        c.warnings[0]
            .to_string()
            .starts_with("old.toml:3:1: server.identifier: "),
        "{}",
        c.warnings[0]
    );
}

#[test]
fn identity_conflicts_and_gaps_are_errors() {
    // Both layouts at once, disagreeing.
    let text = GOOD.replace("[server]\n", "[server]\nidentifier = \"192.0.2.2\"\n");
    let e = errors(&text);
    assert_eq!(e[0].key.to_string(), "dhcp4.server-identifier", "{e:?}");
    // Both section names.
    let text = format!("{GOOD}\n[leasequery]\nrequesters = []\n");
    let e = errors(&text);
    assert_eq!(e[0].key.to_string(), "leasequery", "{e:?}");
    // [dhcp4] without an identifier.
    let e = errors(&GOOD.replace("server-identifier = \"192.0.2.1\"\n", ""));
    assert_eq!(e[0].key.to_string(), "dhcp4", "{e:?}");
    assert!(
        e[0].message.contains("server-identifier is missing"),
        "{e:?}"
    );
    // A broadcast identifier.
    let e = errors(&GOOD.replace("\"192.0.2.1\"\nlisten", "\"255.255.255.255\"\nlisten"));
    assert_eq!(e[0].key.to_string(), "dhcp4.server-identifier", "{e:?}");
}

#[test]
fn leasequery_without_dhcp4_needs_its_own_identifier() {
    let bulk_only = "[leasequery4]\nrequesters = [\"192.0.2.0/24\"]\n\n[leasequery4.bulk]\nlisten = [\"192.0.2.1\"]\n";
    let e = errors(bulk_only);
    assert_eq!(e[0].key.to_string(), "leasequery4", "{e:?}");
    let text = bulk_only.replace(
        "[leasequery4]\n",
        "[leasequery4]\nserver-identifier = \"192.0.2.7\"\n",
    );
    let c = parse(&text, "t.toml").unwrap();
    assert!(c.dhcp4.is_none());
    assert_eq!(
        c.leasequery4.unwrap().server_identifier,
        "192.0.2.7".parse::<std::net::Ipv4Addr>().unwrap()
    );
}

#[test]
fn dhcpv4_leasequery_settings_are_ipv4() {
    let text = GOOD.replace(
        "requesters = [\"192.0.2.0/24\"]",
        "requesters = [\"192.0.2.0/24\", \"2001:db8::/64\"]\nlegacy = [{ requester = \"2001:db8::9\" }]",
    );
    let keys: Vec<String> = errors(&text).iter().map(|e| e.key.to_string()).collect();
    assert!(
        keys.contains(&"leasequery4.requesters[1]".into()),
        "{keys:?}"
    );
    assert!(
        keys.contains(&"leasequery4.legacy[0].requester".into()),
        "{keys:?}"
    );
}

#[test]
fn wildcard_listen_addresses_need_saying_so() {
    let text = GOOD.replace(
        "listen = [\"192.0.2.1\"]",
        "listen = [\"192.0.2.1\", \"0.0.0.0\"]",
    );
    let e = errors(&text);
    assert_eq!(e.len(), 1, "{e:?}");
    assert_eq!(e[0].key.to_string(), "dhcp4.listen[1]");
    assert_eq!(e[0].position.unwrap().line, 7);
    assert!(
        e[0].message.contains("every address of this host")
            && e[0].message.contains("listen-wildcard = true in [dhcp4]"),
        "{}",
        e[0]
    );
    let allowed = text.replace("[dhcp4]\n", "[dhcp4]\nlisten-wildcard = true\n");
    let c = parse(&allowed, "t.toml").unwrap();
    assert!(c.file.dhcp4.unwrap().listen_wildcard);

    let bulk = format!("{GOOD}\n[leasequery4.bulk]\nlisten = [\"::\", \"0.0.0.0\"]\n");
    let e = errors(&bulk);
    let keys: Vec<String> = e.iter().map(|e| e.key.to_string()).collect();
    assert_eq!(
        keys,
        ["leasequery4.bulk.listen[0]", "leasequery4.bulk.listen[1]"]
    );
    assert!(e[0].message.contains("[leasequery4.bulk]"), "{}", e[0]);
    let allowed = bulk.replace(
        "[leasequery4.bulk]\n",
        "[leasequery4.bulk]\nlisten-wildcard = true\n",
    );
    assert!(parse(&allowed, "t.toml").is_ok());
}

#[test]
fn the_user_to_run_as_is_named_with_its_group() {
    let with = |lines: &str| GOOD.replace("[server]\n", &format!("[server]\n{lines}\n"));
    let c = parse(&with("user = \"lessor\"\ngroup = \"lessor\""), "t.toml").unwrap();
    assert_eq!(c.file.server.user.as_deref(), Some("lessor"));
    assert_eq!(c.file.server.group.as_deref(), Some("lessor"));
    assert_eq!(parse(GOOD, "t.toml").unwrap().file.server.user, None);
    let e = errors(&with("group = \"lessor\""));
    assert_eq!(e[0].key.to_string(), "server.group");
    assert!(e[0].message.contains("name the user too"), "{}", e[0]);
    let e = errors(&with("user = \"\""));
    assert_eq!(e[0].key.to_string(), "server.user");
    assert_eq!(e[0].position.unwrap().line, 3);
}

#[test]
fn metrics_is_off_unless_named_and_its_mistakes_are_located() {
    assert!(parse(GOOD, "t.toml").unwrap().file.metrics.is_none());
    let on = format!("{GOOD}\n[metrics]\nlisten = \"127.0.0.1:9420\"\n");
    let m = parse(&on, "t.toml").unwrap().file.metrics.unwrap();
    assert_eq!(m.listen, "127.0.0.1:9420".parse().unwrap());
    assert_eq!(m.path, "/metrics");
    let line = GOOD.lines().count() + 2;

    let e = errors(&format!("{GOOD}\n[metrics]\nlisten = \"127.0.0.1\"\n"));
    assert_eq!(e[0].key.to_string(), "metrics.listen", "{e:?}");
    assert_eq!(e[0].position.unwrap().line, line + 1, "{e:?}");

    let e = errors(&format!(
        "{GOOD}\n[metrics]\nlisten = \"[::1]:0\"\npath = \"metrics?x\"\n"
    ));
    assert_eq!(e.len(), 2, "{e:?}");
    assert_eq!(e[0].key.to_string(), "metrics.listen");
    assert!(e[0].message.contains("port 0"), "{e:?}");
    assert_eq!(e[1].key.to_string(), "metrics.path");
    assert_eq!(e[1].position.unwrap().line, line + 2, "{e:?}");
    assert!(e[1].message.contains("is not a URL path"), "{e:?}");

    let e = errors(&format!(
        "{GOOD}\n[metrics]\nlisten = \"127.0.0.1:9420\"\nbind = 1\n"
    ));
    assert!(e[0].message.contains("unknown field `bind`"), "{e:?}");
}
