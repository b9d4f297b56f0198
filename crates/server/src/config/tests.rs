//! Whole-file checks: what operators see for each kind of mistake.

use super::*;

const GOOD: &str = r#"
[server]
identifier = "192.0.2.1"

[dhcp4]
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

[leasequery]
requesters = ["192.0.2.0/24"]
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
    assert_eq!(c.file.leasequery.unwrap().rate_limit.per_requester, 5000);
}

#[test]
fn syntax_errors_name_the_line() {
    let e = errors("[server]\nidentifier = \"192.0.2.1\"\nstore = \n");
    assert_eq!(e[0].position.unwrap().line, 3, "{e:?}");
}

#[test]
fn type_errors_name_line_and_key() {
    let text = GOOD.replace("lease-time = \"1h\"", "lease-time = \"1 hour\"");
    let e = errors(&text);
    assert_eq!(e[0].key.to_string(), "dhcp4.lease-time");
    assert_eq!(e[0].position.unwrap().line, 8);
    assert!(e[0].to_string().starts_with("t.toml:8:"), "{}", e[0]);
}

#[test]
fn unknown_keys_are_refused() {
    let text = GOOD.replace("lease-time", "lease-tme");
    let e = errors(&text);
    assert!(e[0].message.contains("unknown field `lease-tme`"), "{e:?}");
    assert_eq!(e[0].position.unwrap().line, 8);
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
        found.contains(&("dhcp4.subnet[0].pools[0]".into(), 13)),
        "{found:?}"
    );
    assert!(
        found.contains(&("dhcp4.subnet[0].exclude[0]".into(), 14)),
        "{found:?}"
    );
    assert!(
        found.contains(&("dhcp4.subnet[0].options.rooters".into(), 15)),
        "{found:?}"
    );
    assert!(
        found.contains(&("dhcp4.subnet[0].reservations[1].address".into(), 18)),
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
    .replace("[leasequery]\nrequesters = [\"192.0.2.0/24\"]\n", "");
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
    assert_eq!(e[0].key.to_string(), "leasequery.legacy[0].requester");
}
