//! The control engine without a socket: requests as text in, JSON out, over an in-memory
//! store and a real DHCPv4 engine.

use super::*;
use crate::config;
use lessor_store::{Binding4, HwAddr, State4};
use std::sync::atomic::{AtomicBool, Ordering};

const CONFIG: &str = r#"
[dhcp4]
server-identifier = "192.0.2.1"
listen = ["192.0.2.1"]
relays = ["192.0.2.0/24"]
lease-time = "1h"

[[dhcp4.subnet]]
prefix = "198.51.100.0/24"
pools = ["198.51.100.10-198.51.100.20"]
"#;

const NOW: Timestamp = 1_800_000_000;

#[derive(Default)]
struct Played {
    stopped: AtomicBool,
}

impl Shell for Played {
    fn reload(&self) -> Result<String, String> {
        Err("not here".into())
    }
    fn shutdown(&self) {
        self.stopped.store(true, Ordering::Relaxed);
    }
}

fn binding(last: u8, n: u8) -> Binding4 {
    Binding4::new(
        [198, 51, 100, last].into(),
        "198.51.100.0/24".parse().unwrap(),
        HwAddr::ethernet([2, 0, 0, 0, 0, n]),
        State4::Active,
    )
    .with_times(NOW - 60, NOW + 3600, NOW + 1800, NOW + 3150, NOW - 60)
    .with_relay_id(b"relay-A")
    .unwrap()
}

fn setup() -> (Control, Arc<Store>, Arc<Played>, Arc<Mutex<Engine4>>) {
    let config = config::parse(CONFIG, "test.toml").unwrap();
    let store = Arc::new(Store::in_memory());
    for (last, n) in [(10, 1), (11, 2), (12, 3)] {
        store.v4().upsert(binding(last, n), Completion::none());
    }
    // Leasequery reads the durable view.
    store.sync().wait().unwrap();
    let engine = Arc::new(Mutex::new(Engine4::new(
        &config,
        Arc::clone(&store),
        Vec::new(),
        [192, 0, 2, 1].into(),
    )));
    let shell = Arc::new(Played::default());
    let mut control = Control::new(
        &config,
        Arc::clone(&store),
        Some(Arc::clone(&engine)),
        None,
        Arc::clone(&shell) as Arc<dyn Shell>,
    );
    let counters = Arc::clone(engine.lock().unwrap().counters());
    control.add_report(
        "dhcp4",
        Box::new(move |out: &mut dyn FnMut(&str, u64)| {
            crate::stats::Report::report(&*counters, out)
        }),
    );
    (control, store, shell, engine)
}

fn ask(control: &Control, text: &str) -> Value {
    control.answer(text.as_bytes(), NOW)
}

#[test]
fn requests_that_do_not_read_are_refused_with_the_reason() {
    let (c, ..) = setup();
    for (text, said) in [
        ("nonsense", "not a JSON object"),
        ("[1]", "not a JSON object"),
        (r#"{"mac":"02"}"#, "names its command"),
        (
            r#"{"request":"drop-table"}"#,
            "unknown request \"drop-table\"",
        ),
        (
            r#"{"request":"statistics","x":1}"#,
            "statistics takes no field \"x\"",
        ),
        (r#"{"request":"lease-get"}"#, "needs exactly one of"),
        (
            r#"{"request":"lease-get","mac":"02:00","address":"198.51.100.10"}"#,
            "needs exactly one of",
        ),
        (
            r#"{"request":"lease-get","mac":"zz"}"#,
            "mac: not hex octets",
        ),
        (
            r#"{"request":"lease-list","limit":0}"#,
            "limit: a number from 1 to 1000",
        ),
        (
            r#"{"request":"lease-list","cursor":"x"}"#,
            "cursor: not a cursor",
        ),
        (
            r#"{"request":"lease-list","state":"happy"}"#,
            "no such state",
        ),
        (
            r#"{"request":"leasequery","address":"198.51.100.10","link":"2001:db8::"}"#,
            "link",
        ),
        (
            r#"{"request":"lease-delete","address":"198.51.100.0/24"}"#,
            "not a prefix",
        ),
    ] {
        let a = ask(&c, text);
        assert_eq!(a["ok"], false, "{text}: {a}");
        assert!(a["error"].as_str().unwrap().contains(said), "{text}: {a}");
    }
    let long = format!(
        r#"{{"request":"statistics","pad":"{}"}}"#,
        "x".repeat(20_000)
    );
    assert!(ask(&c, &long)["error"]
        .as_str()
        .unwrap()
        .contains("longer than"));
}

#[test]
fn lease_get_finds_by_each_key() {
    let (c, ..) = setup();
    let a = ask(&c, r#"{"request":"lease-get","mac":"02:00:00:00:00:02"}"#);
    assert_eq!(a["leases"][0]["address"], "198.51.100.11", "{a}");
    let a = ask(&c, r#"{"request":"lease-get","address":"198.51.100.12"}"#);
    assert_eq!(a["leases"][0]["mac"], "02:00:00:00:00:03");
    let a = ask(&c, r#"{"request":"lease-get","relay-id":"text:relay-A"}"#);
    assert_eq!(a["leases"].as_array().unwrap().len(), 3);
    let a = ask(
        &c,
        r#"{"request":"lease-get","relay-id":"text:relay-A","family":"v6"}"#,
    );
    assert_eq!(a["leases"].as_array().unwrap().len(), 0);
    let a = ask(&c, r#"{"request":"lease-get","address":"198.51.100.99"}"#);
    assert_eq!(
        (a["ok"].clone(), a["leases"].clone()),
        (json!(true), json!([]))
    );
}

#[test]
fn lease_list_pages_with_a_cursor_and_filters() {
    let (c, ..) = setup();
    let a = ask(&c, r#"{"request":"lease-list","limit":2}"#);
    let got: Vec<&str> = a["leases"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["address"].as_str().unwrap())
        .collect();
    assert_eq!(got, ["198.51.100.10", "198.51.100.11"]);
    assert_eq!(a["next"], "v4:198.51.100.11");
    let a = ask(
        &c,
        r#"{"request":"lease-list","limit":2,"cursor":"v4:198.51.100.11"}"#,
    );
    assert_eq!(a["leases"][0]["address"], "198.51.100.12");
    assert_eq!(a["leases"].as_array().unwrap().len(), 1);
    assert_eq!(a["next"], Value::Null);
    let a = ask(
        &c,
        r#"{"request":"lease-list","within":"198.51.100.12/32"}"#,
    );
    assert_eq!(a["leases"].as_array().unwrap().len(), 1);
    let a = ask(&c, r#"{"request":"lease-list","state":"released"}"#);
    assert_eq!(a["leases"].as_array().unwrap().len(), 0);
}

#[test]
fn leasequery_answers_as_the_responder() {
    let (c, ..) = setup();
    let a = ask(&c, r#"{"request":"leasequery","address":"198.51.100.10"}"#);
    assert_eq!(a["answer"], "active", "{a}");
    assert_eq!(a["binding"]["mac"], "02:00:00:00:00:01");
    // In a pool, unbound: unassigned; outside every pool: unknown (RFC 4388 §6.4).
    let a = ask(&c, r#"{"request":"leasequery","address":"198.51.100.15"}"#);
    assert_eq!(
        (a["answer"].clone(), a["ciaddr"].clone()),
        (json!("unassigned"), json!("198.51.100.15"))
    );
    let a = ask(&c, r#"{"request":"leasequery","address":"198.51.100.99"}"#);
    assert_eq!(a["answer"], "unknown");
    let a = ask(&c, r#"{"request":"leasequery","relay-id":"text:relay-A"}"#);
    assert_eq!(a["answer"], "active");
    assert_eq!(a["associated"].as_array().unwrap().len(), 2);
    let a = ask(&c, r#"{"request":"leasequery","mac":"02:00:00:00:00:09"}"#);
    assert_eq!(a["answer"], "unknown");
    // DHCPv6 without [dhcp6]: nothing is configured.
    let a = ask(&c, r#"{"request":"leasequery","address":"2001:db8::1"}"#);
    assert_eq!(a["answer"], "not-configured", "{a}");
}

#[test]
fn lease_delete_goes_through_the_engine_and_is_durable() {
    let (c, store, _, engine) = setup();
    let a = ask(
        &c,
        r#"{"request":"lease-delete","address":"198.51.100.11"}"#,
    );
    assert_eq!(a["deleted"]["address"], "198.51.100.11", "{a}");
    assert!(store.v4().get([198, 51, 100, 11].into()).is_none());
    assert!(store
        .v4()
        .durable_snapshot()
        .get([198, 51, 100, 11].into())
        .is_none());
    // The engine has the address back among the free ones: nothing it holds restores it.
    engine.lock().unwrap().tick(NOW + 120);
    assert!(store.v4().get([198, 51, 100, 11].into()).is_none());
    let a = ask(
        &c,
        r#"{"request":"lease-delete","address":"198.51.100.11"}"#,
    );
    assert_eq!(a["error"], "no binding at 198.51.100.11/32");
}

#[test]
fn statistics_shutdown_reload_and_config_test() {
    let (c, _, shell, _) = setup();
    let a = ask(&c, r#"{"request":"statistics"}"#);
    assert!(a["counters"]["dhcp4"].is_object(), "{a}");
    assert_eq!(a["store"]["bindings4"], 3);
    let a = ask(&c, r#"{"request":"reload"}"#);
    assert_eq!(a, json!({"ok": false, "error": "reload: not here"}));
    assert!(!shell.stopped.load(Ordering::Relaxed));
    let a = ask(&c, r#"{"request":"shutdown"}"#);
    assert_eq!(a["ok"], true);
    assert!(shell.stopped.load(Ordering::Relaxed));
    // Parsed from text: no file to test unless named.
    let a = ask(&c, r#"{"request":"config-test"}"#);
    assert!(a["error"].as_str().unwrap().contains("name a file"), "{a}");
    let dir = std::env::temp_dir().join(format!("lessor-control-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let bad = dir.join("bad.toml");
    std::fs::write(&bad, "[server]\nstats-interval = \"often\"\n").unwrap();
    let a = c.execute(&Request::ConfigTest(Some(bad.clone())), NOW);
    assert_eq!(a["valid"], false, "{a}");
    assert!(
        a["errors"][0].as_str().unwrap().contains("bad.toml:2"),
        "{a}"
    );
    let _ = std::fs::remove_dir_all(dir);
}
