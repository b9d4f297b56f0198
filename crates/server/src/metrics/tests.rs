//! The exposition read back: every family declared once with its help and type, the labels
//! where the names say, the values the counters hold.

use super::*;
use crate::leasequery4::tally::RequesterCounts;
use lessor_store::{Binding4, Binding6, Completion, HwAddr, IaType, State4, State6};
use std::collections::BTreeMap;

const CONFIG: &str = r#"
[server]
store = "unused.db"

[dhcp4]
server-identifier = "192.0.2.1"
listen = ["192.0.2.1"]

[[dhcp4.subnet]]
prefix = "192.0.2.0/24"
pools = ["192.0.2.100-192.0.2.109"]
exclude = ["192.0.2.105"]

[dhcp6]
server-duid = "00:02:00:00:ab:11:01:02:03:04"
listen = ["2001:db8::1"]

[[dhcp6.link]]
prefix = "2001:db8:1::/64"
pools = ["2001:db8:1::1000-2001:db8:1::10ff"]
prefix-pools = [{ prefix = "2001:db8:100::/48", delegated-length = 56 }]
"#;

/// One sample: family name as written (with `_total`, `_bucket`...), labels, value.
type Sample = (String, BTreeMap<String, String>, f64);

/// What a scraper reads: (HELP and TYPE by family, samples). Panics on a line that is not
/// the text format.
fn parse(text: &str) -> (BTreeMap<String, (String, String)>, Vec<Sample>) {
    let mut declared: BTreeMap<String, (String, String)> = BTreeMap::new();
    let mut samples = Vec::new();
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("# HELP ") {
            let (name, help) = rest.split_once(' ').unwrap();
            assert!(
                declared
                    .insert(name.into(), (help.into(), String::new()))
                    .is_none(),
                "{name} declared twice"
            );
        } else if let Some(rest) = line.strip_prefix("# TYPE ") {
            let (name, kind) = rest.split_once(' ').unwrap();
            declared.get_mut(name).expect("HELP before TYPE").1 = kind.into();
        } else {
            let (series, value) = line.rsplit_once(' ').unwrap();
            let value: f64 = value.replace("+Inf", "inf").parse().unwrap();
            let (name, labels) = match series.split_once('{') {
                None => (series.to_string(), BTreeMap::new()),
                Some((name, rest)) => {
                    let rest = rest.strip_suffix('}').unwrap();
                    let labels = rest
                        .split("\",")
                        .map(|kv| {
                            let (k, v) = kv.split_once("=\"").unwrap();
                            (k.to_string(), v.trim_end_matches('"').to_string())
                        })
                        .collect();
                    (name.to_string(), labels)
                }
            };
            assert!(
                name.bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_'),
                "{name}"
            );
            samples.push((name, labels, value));
        }
    }
    (declared, samples)
}

fn value(samples: &[Sample], name: &str, labels: &[(&str, &str)]) -> Option<f64> {
    let want: BTreeMap<String, String> = labels
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    samples
        .iter()
        .find(|(n, l, _)| n == name && *l == want)
        .map(|s| s.2)
}

struct Fixed(Vec<(Option<IpAddr>, RequesterCounts)>);

impl Requesters for Fixed {
    fn requesters(&self) -> Vec<(Option<IpAddr>, RequesterCounts)> {
        self.0.clone()
    }
}

#[test]
fn every_counter_is_exposed_with_its_labels() {
    let config = crate::config::parse(CONFIG, "t.toml").unwrap();
    let store = Store::in_memory();
    for (n, state) in [
        (100u8, State4::Active),
        (101, State4::Active),
        (102, State4::Expired),
    ] {
        let b = Binding4::new(
            std::net::Ipv4Addr::new(192, 0, 2, n),
            "192.0.2.0/24".parse().unwrap(),
            HwAddr::ethernet([2, 0, 0, 0, 0, n]),
            state,
        );
        store.v4().upsert(b, Completion::none());
    }
    for (a, len, t) in [
        ("2001:db8:1::1000", 128, IaType::Na),
        ("2001:db8:100:100::", 56, IaType::Pd),
    ] {
        let b = Binding6::new(
            a.parse().unwrap(),
            len,
            t,
            &[0, 3, 0, 1, 2, 0, 0, 0, 0, 1],
            1,
            "2001:db8:1::/64".parse().unwrap(),
            State6::Active,
        )
        .unwrap();
        store.v6().upsert(b, Completion::none());
    }
    store.sync().wait().unwrap();

    let dhcp4 = crate::dhcp4::Counters::default();
    dhcp4.offers.add();
    dhcp4.acks.add_n(2);
    dhcp4.count_drop(crate::dhcp4::DropReason::RateLimitedClient);
    dhcp4.expired.add();
    let dhcp6 = crate::dhcp6::Counters::default();
    dhcp6.replies.add_n(2);
    dhcp6.replies_durable.add_n(3);
    let lq4 = crate::leasequery4::Counters::default();
    lq4.received.add_n(5);
    lq4.by_mac.add_n(4);
    lq4.count_drop(crate::leasequery4::DropReason::NotAllowed);
    let sockets = lessor_net::udp::Counters::default();
    sockets
        .sent_relay
        .fetch_add(7, std::sync::atomic::Ordering::Relaxed);
    let bulk4 = crate::bulk4::Counters::default();
    bulk4.bindings.add_n(9);
    let bulk6 = crate::bulk6::Counters::default();
    let router4 = crate::router4::Router4::default();
    let router6 = crate::router6::Router6::default();
    // One DHCPDISCOVER and one SOLICIT-typed datagram, so the received-by-type families exist.
    let discover = lessor_wire::v4::Repr {
        op: lessor_wire::v4::BOOTREQUEST,
        xid: 1,
        options: vec![lessor_wire::v4::DhcpOption::MessageType(
            lessor_wire::v4::MessageType::Discover,
        )],
        ..lessor_wire::v4::Repr::default()
    }
    .to_vec();
    router4.route(&lessor_net::Received {
        payload: &discover,
        source: "192.0.2.9:68".parse().unwrap(),
        destination: "192.0.2.1".parse().unwrap(),
        interface_index: None,
    });
    router6.route(&lessor_net::Received {
        payload: &[1, 0, 0, 1],
        source: "[2001:db8::9]:546".parse().unwrap(),
        destination: "2001:db8::1".parse().unwrap(),
        interface_index: None,
    });
    let lq6 = crate::leasequery6::Counters::default();
    let sockets6 = lessor_net::udp::Counters::default();
    let requester: IpAddr = "198.51.100.7".parse().unwrap();
    let tally = Fixed(vec![
        (
            Some(requester),
            RequesterCounts {
                queries: 11,
                rate_limited: 2,
            },
        ),
        (
            None,
            RequesterCounts {
                queries: 1,
                rate_limited: 0,
            },
        ),
    ]);
    let sources = Sources {
        reports: vec![
            ("udp4", &sockets as &dyn Report),
            ("router4", router4.counters()),
            ("dhcp4", &dhcp4),
            ("leasequery4", &lq4),
            ("udp6", &sockets6),
            ("router6", router6.counters()),
            ("dhcp6", &dhcp6),
            ("leasequery6", &lq6),
            ("bulk4", &bulk4),
            ("bulk6", &bulk6),
        ],
        requesters: vec![("leasequery4", &tally), ("leasequery6", &tally)],
        store: Some(&store),
        config: &|| config.clone(),
        started: SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(1_700_000_000),
    };
    let text = render(&sources);
    let (declared, samples) = parse(&text);

    // Every counter of every report is a sample, under the family the names module gives.
    for &(service, report) in &sources.reports {
        report.report(&mut |counter, _| {
            let m = names::map(service, counter);
            let family = format!("{}_total", m.family);
            let (help, kind) = declared
                .get(&family)
                .unwrap_or_else(|| panic!("{service} {counter}: {family} not declared"));
            assert_eq!(kind, "counter", "{family}");
            // Every counter kept today has its own help; the generic one is for later ones.
            assert!(
                !help.contains("(docs/operator-guide.md"),
                "{family}: {help}"
            );
            assert!(
                samples.iter().any(|(n, l, _)| *n == family
                    && m.label.as_ref().is_none_or(|(k, v)| l.get(*k) == Some(v))),
                "{service} {counter}: no sample of {family}"
            );
        });
    }
    // Every sample belongs to a declared family.
    for (name, _, _) in &samples {
        let family = ["_bucket", "_sum", "_count"]
            .iter()
            .find_map(|s| name.strip_suffix(s).filter(|f| declared.contains_key(*f)))
            .unwrap_or(name);
        assert!(declared.contains_key(family), "{name} undeclared");
    }

    // Every metric the example dashboard uses is declared.
    let dashboard = include_str!("../../../../examples/grafana-lessor.json");
    let mut used = 0;
    for (i, _) in dashboard.match_indices("lessor_") {
        let name: String = dashboard[i..]
            .chars()
            .take_while(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '_')
            .collect();
        let family = ["_bucket", "_sum", "_count"]
            .iter()
            .find_map(|s| name.strip_suffix(s))
            .unwrap_or(&name);
        assert!(declared.contains_key(family), "the dashboard's {name}");
        used += 1;
    }
    assert!(used > 40, "{used}");

    let v = |name: &str, labels: &[(&str, &str)]| value(&samples, name, labels);
    assert_eq!(
        v("lessor_dhcp4_sent_messages_total", &[("type", "dhcpoffer")]),
        Some(1.0)
    );
    assert_eq!(
        v("lessor_dhcp4_sent_messages_total", &[("type", "dhcpack")]),
        Some(2.0)
    );
    assert_eq!(
        v(
            "lessor_dhcp4_dropped_messages_total",
            &[("reason", "rate-limited-client")]
        ),
        Some(1.0)
    );
    assert_eq!(
        v(
            "lessor_dhcp4_dropped_messages_total",
            &[("reason", "pool-exhausted")]
        ),
        Some(0.0)
    );
    assert_eq!(v("lessor_dhcp4_expired_total", &[]), Some(1.0));
    assert_eq!(
        v(
            "lessor_dhcp4_received_messages_total",
            &[("type", "dhcpdiscover")]
        ),
        Some(1.0)
    );
    // REPLYs at once and once durable are one series.
    assert_eq!(
        v("lessor_dhcp6_sent_messages_total", &[("type", "reply")]),
        Some(5.0)
    );
    assert_eq!(
        v("lessor_leasequery4_received_queries_total", &[]),
        Some(5.0)
    );
    assert_eq!(
        v("lessor_leasequery4_queries_total", &[("key", "mac")]),
        Some(4.0)
    );
    assert_eq!(
        v(
            "lessor_leasequery4_dropped_queries_total",
            &[("reason", "not-allowed")]
        ),
        Some(1.0)
    );
    assert_eq!(
        v(
            "lessor_udp4_sent_datagrams_total",
            &[("destination", "relay")]
        ),
        Some(7.0)
    );
    assert_eq!(v("lessor_bulk4_bindings_streamed_total", &[]), Some(9.0));
    assert_eq!(
        v(
            "lessor_leasequery4_requester_queries_total",
            &[("requester", "198.51.100.7")]
        ),
        Some(11.0)
    );
    assert_eq!(
        v(
            "lessor_leasequery4_requester_rate_limited_total",
            &[("requester", "198.51.100.7")]
        ),
        Some(2.0)
    );
    assert_eq!(
        v(
            "lessor_leasequery4_requester_queries_total",
            &[("requester", "other")]
        ),
        Some(1.0)
    );

    // The store: commits and their latency histogram.
    let commits = v("lessor_store_commits_total", &[]).unwrap();
    assert!(commits >= 1.0);
    assert_eq!(
        declared["lessor_store_commit_duration_seconds"].1,
        "histogram"
    );
    assert_eq!(
        v("lessor_store_commit_duration_seconds_count", &[]),
        Some(commits)
    );
    assert_eq!(
        v(
            "lessor_store_commit_duration_seconds_bucket",
            &[("le", "+Inf")]
        ),
        Some(commits)
    );
    let buckets: Vec<f64> = samples
        .iter()
        .filter(|(n, _, _)| n == "lessor_store_commit_duration_seconds_bucket")
        .map(|s| s.2)
        .collect();
    assert_eq!(buckets.len(), lessor_store::LATENCY_BOUNDS.len() + 1);
    assert!(buckets.windows(2).all(|w| w[0] <= w[1]), "{buckets:?}");
    assert_eq!(v("lessor_store_healthy", &[]), Some(1.0));

    // Pools: 10 addresses less one excluded, two leased; bindings by state.
    let subnet = [("subnet", "192.0.2.0/24")];
    assert_eq!(v("lessor_dhcp4_subnet_addresses", &subnet), Some(9.0));
    assert_eq!(
        v("lessor_dhcp4_subnet_assigned_addresses", &subnet),
        Some(2.0)
    );
    assert_eq!(
        v("lessor_dhcp4_bindings", &[("state", "expired")]),
        Some(1.0)
    );
    let link = [("link", "2001:db8:1::/64")];
    assert_eq!(v("lessor_dhcp6_link_addresses", &link), Some(256.0));
    assert_eq!(v("lessor_dhcp6_link_assigned_addresses", &link), Some(1.0));
    assert_eq!(v("lessor_dhcp6_link_prefixes", &link), Some(256.0));
    assert_eq!(v("lessor_dhcp6_link_delegated_prefixes", &link), Some(1.0));

    assert_eq!(
        v(
            "lessor_build_info",
            &[("version", env!("CARGO_PKG_VERSION"))]
        ),
        Some(1.0)
    );
    assert_eq!(v("process_start_time_seconds", &[]), Some(1_700_000_000.0));
}

#[test]
fn every_counter_name_makes_a_valid_metric_name() {
    let reports: Vec<(&str, Box<dyn Report>)> = vec![
        ("udp4", Box::new(lessor_net::udp::Counters::default())),
        ("dhcp4", Box::new(crate::dhcp4::Counters::default())),
        (
            "leasequery4",
            Box::new(crate::leasequery4::Counters::default()),
        ),
        ("dhcp6", Box::new(crate::dhcp6::Counters::default())),
        (
            "leasequery6",
            Box::new(crate::leasequery6::Counters::default()),
        ),
        ("bulk4", Box::new(crate::bulk4::Counters::default())),
        ("bulk6", Box::new(crate::bulk6::Counters::default())),
    ];
    let mut series = std::collections::BTreeSet::new();
    for (service, report) in &reports {
        report.report(&mut |counter, _| {
            let m = names::map(service, counter);
            assert!(
                m.family
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_'),
                "{service} {counter}: {}",
                m.family
            );
            // No two counters land on one series, but the REPLYs that are meant to.
            let new = series.insert((m.family.clone(), m.label.clone()));
            assert!(
                new || counter == "replies-durable",
                "{service} {counter} shares {m:?}"
            );
        });
    }
}
