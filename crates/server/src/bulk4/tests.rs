//! Sans-IO tests of the bulk leasequery engine: an in-memory store, injected time, queries
//! framed by hand and replies decoded with `lessor_wire`.

use super::*;
use crate::config;
use lessor_store::{Binding4, Completion, HwAddr, State4, Store};
use lessor_wire::framing::{Decoder, Dialect, Encoder};
use lessor_wire::v4::{
    DhcpOption, DhcpState, DraftStatus, MessageType, RelayAgentInformation, Repr, Rfc6926Status,
    StatusCode, BOOTREQUEST,
};
use std::sync::Arc;

const T0: u64 = 1_700_000_000;
const SERVER: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 1);

const CONFIG: &str = r#"
[dhcp4]
server-identifier = "192.0.2.1"
listen = ["192.0.2.1"]
relays = ["198.51.100.0/24"]
lease-time = "1h"

[[dhcp4.subnet]]
prefix = "198.51.100.0/24"
pools = ["198.51.100.100-198.51.100.200"]

[[dhcp4.subnet]]
prefix = "10.0.0.0/8"
pools = ["10.0.0.1-10.255.255.250"]

[leasequery4]
requesters = ["127.0.0.0/8", "198.51.100.0/24"]

[leasequery4.bulk]
listen = ["127.0.0.1"]
queries-per-connection = 2
data-timeout = "30s"
idle-timeout = "5m"
"#;

fn ip(s: &str) -> Ipv4Addr {
    s.parse().unwrap()
}

fn mac(n: u32) -> [u8; 6] {
    let b = n.to_be_bytes();
    [2, 0, b[0], b[1], b[2], b[3]]
}

fn now(ms: u64) -> Now {
    Now {
        wall: T0 + ms / 1000,
        ms,
    }
}

struct H {
    conn: Connection,
    store: Arc<Store>,
    counters: Arc<Counters>,
    dialect: Dialect,
    ms: u64,
}

fn params_of(text: &str) -> Params {
    let c = config::parse(text, "test.toml").expect("test config");
    Params::from_config(&c, SERVER).expect("bulk configured")
}

impl H {
    fn new(dialect: Dialect) -> H {
        H::with(dialect, params_of(CONFIG))
    }

    fn with(dialect: Dialect, params: Params) -> H {
        let store = Arc::new(Store::in_memory());
        let counters = Arc::new(Counters::default());
        H {
            conn: Connection::new(Arc::new(params), store.clone(), counters.clone(), now(0)),
            store,
            counters,
            dialect,
            ms: 0,
        }
    }

    /// Writes `b` and waits until it is durable (leasequery reports only durable bindings).
    fn put(&self, b: Binding4) {
        let (done, durable) = Completion::ticket();
        self.store.v4().upsert(b, done);
        durable.wait().expect("durable");
    }

    fn frame(&self, q: &Repr) -> Vec<u8> {
        let mut out = Vec::new();
        Encoder::new(self.dialect, 65535)
            .encode_to_vec(&q.to_vec(), &mut out)
            .unwrap();
        out
    }

    fn send(&mut self, q: &Repr) {
        let f = self.frame(q);
        self.conn.receive(&f, now(self.ms)).expect("taken");
    }

    /// Everything the connection has to send, decoded.
    fn replies(&mut self) -> Vec<Repr> {
        let mut bytes = Vec::new();
        while self.conn.poll_transmit(&mut bytes, 4096, now(self.ms)) > 0 {}
        decode(self.dialect, &bytes)
    }

    fn ask(&mut self, q: &Repr) -> Vec<Repr> {
        self.send(q);
        self.replies()
    }
}

fn decode(dialect: Dialect, bytes: &[u8]) -> Vec<Repr> {
    let mut d = Decoder::new(dialect, 65535);
    let mut input = bytes;
    let mut out = Vec::new();
    while !input.is_empty() {
        let step = d.decode(input).expect("frames");
        input = &input[step.consumed..];
        if let Some(m) = step.message {
            out.push(Repr::from_bytes(m).expect("reply parses"));
        }
    }
    assert!(!d.is_mid_frame());
    out
}

fn types(rs: &[Repr]) -> Vec<u8> {
    rs.iter()
        .map(|r| u8::from(r.message_type().unwrap()))
        .collect()
}

fn q(dialect: Dialect, xid: u32) -> Repr {
    let t = match dialect {
        Dialect::Draft => MessageType::LeaseQuery,
        _ => MessageType::BulkLeaseQuery,
    };
    Repr {
        op: BOOTREQUEST,
        htype: 0,
        hlen: 0,
        xid,
        options: vec![DhcpOption::MessageType(t)],
        ..Repr::default()
    }
}

fn with(mut r: Repr, o: DhcpOption) -> Repr {
    r.options.push(o);
    r
}

fn by_ip(d: Dialect, xid: u32, a: &str) -> Repr {
    Repr {
        ciaddr: ip(a),
        ..q(d, xid)
    }
}

fn by_mac(d: Dialect, xid: u32, n: u32) -> Repr {
    let mut r = Repr {
        htype: 1,
        hlen: 6,
        ..q(d, xid)
    };
    r.chaddr[..6].copy_from_slice(&mac(n));
    r
}

fn by_sub(d: Dialect, xid: u32, code: u8, value: &[u8]) -> Repr {
    let rai = RelayAgentInformation::from_sub_options([(code, value)]).unwrap();
    with(q(d, xid), DhcpOption::RelayAgentInformation(rai))
}

fn by_relay(d: Dialect, xid: u32, id: &[u8]) -> Repr {
    by_sub(d, xid, 12, id)
}

fn binding(a: Ipv4Addr, n: u32, state: State4, cltt: u64) -> Binding4 {
    let subnet = if a.octets()[0] == 10 {
        "10.0.0.0/8"
    } else {
        "198.51.100.0/24"
    };
    Binding4::new(a, subnet.parse().unwrap(), HwAddr::ethernet(mac(n)), state).with_times(
        cltt,
        cltt + 3600,
        cltt + 1800,
        cltt + 3150,
        cltt,
    )
}

/// An active binding for relay `relay` with remote-id `remote`.
fn relayed(a: Ipv4Addr, n: u32, relay: &[u8], remote: &[u8], cltt: u64) -> Binding4 {
    let rai = RelayAgentInformation::from_sub_options([(2, remote), (12, relay)]).unwrap();
    binding(a, n, State4::Active, cltt)
        .with_relay_agent_information(rai.as_bytes())
        .unwrap()
        .with_remote_id(remote)
        .unwrap()
        .with_relay_id(relay)
        .unwrap()
}

fn fill_relay(h: &H, relay: &[u8], count: u32, base: Ipv4Addr) {
    for i in 0..count {
        let a = Ipv4Addr::from(u32::from(base) + i);
        h.put(relayed(a, i + 1000, relay, b"remote", T0 - 100));
    }
}

fn draft_status(r: &Repr, option: u8) -> (DraftStatus, String) {
    let raw = match r.option(option).expect("status option") {
        DhcpOption::StatusCode(s) => s.as_bytes().to_vec(),
        DhcpOption::Other { data, .. } => data.clone(),
        o => panic!("unexpected {o:?}"),
    };
    let s = StatusCode::new(raw);
    let (c, t) = s.decode_draft().unwrap();
    (c, t.to_string())
}

fn rfc_status(r: &Repr) -> Rfc6926Status {
    match r.option(151).expect("status option") {
        DhcpOption::StatusCode(s) => s.decode_rfc6926().unwrap().0,
        o => panic!("unexpected {o:?}"),
    }
}

fn base_time(r: &Repr) -> Option<u32> {
    match r.option(152) {
        Some(DhcpOption::BaseTime(t)) => Some(*t),
        _ => None,
    }
}

// ---------------------------------------------------------------- dialects and reply sequences

#[test]
fn draft_dialect_by_ip_active_then_done() {
    let mut h = H::new(Dialect::Draft);
    h.put(binding(ip("198.51.100.110"), 1, State4::Active, T0 - 60));
    let rs = h.ask(&by_ip(Dialect::Draft, 7, "198.51.100.110"));
    assert_eq!(h.conn.dialect(), Some(Dialect::Draft));
    assert_eq!(types(&rs), [13, 15]);
    assert!(rs.iter().all(|r| r.xid == 7));
    assert_eq!(rs[0].ciaddr, ip("198.51.100.110"));
    assert!(rs[0].option(54).is_some());
    assert_eq!(
        rs[1].options.len(),
        1,
        "DHCPLEASEDONE carries only option 53"
    );
    assert_eq!(h.counters.draft.get(), 1);
}

#[test]
fn rfc_dialect_by_mac_active_with_base_time_then_done() {
    let mut h = H::new(Dialect::Rfc6926);
    h.put(binding(ip("198.51.100.110"), 1, State4::Active, T0 - 60));
    let rs = h.ask(&by_mac(Dialect::Rfc6926, 9, 1));
    assert_eq!(h.conn.dialect(), Some(Dialect::Rfc6926));
    assert_eq!(types(&rs), [13, 15]);
    assert!(rs.iter().all(|r| r.xid == 9));
    assert_eq!(base_time(&rs[0]), Some(T0 as u32));
    assert_eq!(base_time(&rs[1]), Some(T0 as u32));
    assert!(
        rs[1].option(151).is_none(),
        "success carries no status-code"
    );
    assert_eq!(
        rs[0].option(156),
        Some(&DhcpOption::DhcpState(DhcpState::Active))
    );
    assert_eq!(h.counters.rfc6926.get(), 1);
}

#[test]
fn draft_relay_id_active_data_done_without_associated_ip() {
    let mut h = H::new(Dialect::Draft);
    fill_relay(&h, b"relay-A", 3, ip("10.0.0.1"));
    fill_relay(&h, b"relay-B", 2, ip("10.1.0.1"));
    let rs = h.ask(&by_relay(Dialect::Draft, 1, b"relay-A"));
    assert_eq!(types(&rs), [13, 19, 19, 15]);
    assert!(rs[0].option(54).is_some());
    assert!(rs[1].option(54).is_none() && rs[2].option(54).is_none());
    assert!(rs.iter().all(|r| r.option(92).is_none()));
    let addrs: Vec<_> = rs[..3].iter().map(|r| r.ciaddr).collect();
    assert_eq!(addrs, [ip("10.0.0.1"), ip("10.0.0.2"), ip("10.0.0.3")]);
}

#[test]
fn rfc_remote_id_every_binding_is_active() {
    let mut h = H::new(Dialect::Rfc6926);
    fill_relay(&h, b"relay-A", 3, ip("10.0.0.1"));
    let rs = h.ask(&by_sub(Dialect::Rfc6926, 1, 2, b"remote"));
    assert_eq!(types(&rs), [13, 13, 13, 15]);
}

#[test]
fn draft_codes_are_configurable() {
    let text = format!(
        "{CONFIG}draft-codes = {{ lease-data = 200, lease-done = 201, lease-query-fail = 202, status-code-option = 220 }}\n"
    );
    let mut h = H::with(Dialect::Draft, params_of(&text));
    fill_relay(&h, b"relay-A", 2, ip("10.0.0.1"));
    let rs = h.ask(&by_relay(Dialect::Draft, 1, b"relay-A"));
    assert_eq!(types(&rs), [13, 200, 201]);
    let rs = h.ask(&q(Dialect::Draft, 2));
    assert_eq!(types(&rs), [202]);
    assert!(rs[0].option(151).is_none());
    assert_eq!(draft_status(&rs[0], 220).0, DraftStatus::UnknownQueryType);
}

#[test]
fn draft_unknown_and_unassigned_identifiers() {
    let mut h = H::new(Dialect::Draft);
    h.put(
        relayed(ip("10.0.0.1"), 1, b"old-relay", b"old-remote", T0 - 10_000).with_times(
            T0 - 10_000,
            T0 - 6400,
            0,
            0,
            T0 - 10_000,
        ),
    );
    assert_eq!(
        types(&h.ask(&by_relay(Dialect::Draft, 1, b"old-relay"))),
        [11]
    );
    assert_eq!(types(&h.ask(&by_relay(Dialect::Draft, 2, b"never"))), [12]);
    assert_eq!(
        types(&h.ask(&by_sub(Dialect::Draft, 3, 2, b"old-remote"))),
        [11]
    );
    assert_eq!(types(&h.ask(&by_sub(Dialect::Draft, 4, 2, b"nope"))), [12]);
    // By IP: managed and free is UNASSIGNED (ciaddr echoed), unmanaged is UNKNOWN.
    let rs = h.ask(&by_ip(Dialect::Draft, 5, "198.51.100.150"));
    assert_eq!(types(&rs), [11]);
    assert_eq!(rs[0].ciaddr, ip("198.51.100.150"));
    assert_eq!(types(&h.ask(&by_ip(Dialect::Draft, 6, "192.0.2.77"))), [12]);
    // By MAC without an active binding: UNKNOWN.
    assert_eq!(types(&h.ask(&by_mac(Dialect::Draft, 7, 1))), [12]);
}

#[test]
fn rfc_nothing_found_is_only_done() {
    let mut h = H::new(Dialect::Rfc6926);
    assert_eq!(
        types(&h.ask(&by_relay(Dialect::Rfc6926, 1, b"never"))),
        [15]
    );
    assert_eq!(types(&h.ask(&by_mac(Dialect::Rfc6926, 2, 77))), [15]);
}

#[test]
fn mac_and_client_id_return_every_active_binding() {
    let mut h = H::new(Dialect::Draft);
    for i in 0..3u32 {
        let a = Ipv4Addr::from(u32::from(ip("10.0.0.1")) + i);
        h.put(
            binding(a, 5, State4::Active, T0 - 100 + u64::from(i))
                .with_client_id(b"cid-5")
                .unwrap(),
        );
    }
    h.put(binding(ip("10.0.0.9"), 5, State4::Released, T0 - 50));
    let rs = h.ask(&by_mac(Dialect::Draft, 1, 5));
    assert_eq!(types(&rs), [13, 19, 19, 15]);
    assert!(rs.iter().all(|r| r.option(92).is_none()));
    let rs = h.ask(&with(
        q(Dialect::Draft, 2),
        DhcpOption::ClientIdentifier(b"cid-5".to_vec()),
    ));
    assert_eq!(types(&rs), [13, 19, 19, 15]);
}

#[test]
fn rfc_query_start_and_end_time_filter_on_cltt() {
    let mut h = H::new(Dialect::Rfc6926);
    h.put(relayed(ip("10.0.0.1"), 1, b"r", b"x", T0 - 1000));
    h.put(relayed(ip("10.0.0.2"), 2, b"r", b"x", T0 - 500));
    h.put(relayed(ip("10.0.0.3"), 3, b"r", b"x", T0 - 100));
    let mut released = relayed(ip("10.0.0.4"), 4, b"r", b"x", T0 - 300);
    released.state = State4::Released;
    h.put(released);
    let query = with(
        by_relay(Dialect::Rfc6926, 1, b"r"),
        DhcpOption::QueryStartTime((T0 - 600) as u32),
    );
    let rs = h.ask(&query);
    assert_eq!(types(&rs), [13, 13, 11, 15]);
    assert_eq!(rs[0].ciaddr, ip("10.0.0.2"));
    assert_eq!(rs[1].ciaddr, ip("10.0.0.3"));
    assert_eq!(rs[2].ciaddr, ip("10.0.0.4"));
    assert_eq!(
        rs[2].option(156),
        Some(&DhcpOption::DhcpState(DhcpState::Released))
    );
    assert!(rs.iter().all(|r| base_time(r) == Some(T0 as u32)));
    let query = with(
        with(
            by_relay(Dialect::Rfc6926, 2, b"r"),
            DhcpOption::QueryStartTime((T0 - 600) as u32),
        ),
        DhcpOption::QueryEndTime((T0 - 200) as u32),
    );
    let rs = h.ask(&query);
    assert_eq!(types(&rs), [13, 11, 15]);
    // A lease that ran out changed at its end: inside the window only if its end is.
    let mut ran_out = relayed(ip("10.0.0.5"), 5, b"r", b"x", T0 - 5000);
    ran_out.end = T0 - 250;
    h.put(ran_out);
    let window = |xid, start: u64, end: u64| {
        with(
            with(
                by_relay(Dialect::Rfc6926, xid, b"r"),
                DhcpOption::QueryStartTime(start as u32),
            ),
            DhcpOption::QueryEndTime(end as u32),
        )
    };
    let rs = h.ask(&window(4, T0 - 260, T0 - 240));
    assert_eq!(types(&rs), [11, 15]);
    assert_eq!(rs[0].ciaddr, ip("10.0.0.5"));
    assert_eq!(
        rs[0].option(156),
        Some(&DhcpOption::DhcpState(DhcpState::Expired)),
        "a lease past its end is EXPIRED even before the expiry timer ran"
    );
    assert_eq!(types(&h.ask(&window(5, T0 - 5100, T0 - 4900))), [15]);
    // Without times: active ones only.
    assert_eq!(
        types(&h.ask(&by_relay(Dialect::Rfc6926, 3, b"r"))),
        [13, 13, 13, 15]
    );
}

#[test]
fn rfc_start_time_of_state_when_requested() {
    let mut h = H::new(Dialect::Rfc6926);
    // Active since T0 - 1000, renewed at T0 - 100: still active since T0 - 1000.
    h.put(binding(ip("10.0.0.7"), 7, State4::Active, T0 - 1000));
    h.put(binding(ip("10.0.0.7"), 7, State4::Active, T0 - 100));
    // Active since T0 - 2000, released at T0 - 300: released since then.
    h.put(binding(ip("10.0.0.8"), 7, State4::Active, T0 - 2000));
    let mut released = binding(ip("10.0.0.8"), 7, State4::Released, T0 - 2000);
    released.end = T0 - 300;
    released.cltt = T0 - 300;
    h.put(released);
    // A lease that ran out at T0 - 1400 (the expiry timer has not run): EXPIRED since its end.
    h.put(binding(ip("10.0.0.9"), 7, State4::Active, T0 - 5000));
    let since = |r: &Repr| match r.option(153) {
        Some(DhcpOption::StartTimeOfState(s)) => Some(*s),
        None => None,
        o => panic!("unexpected {o:?}"),
    };
    let prl = DhcpOption::ParameterRequestList(vec![152, 51, 153, 91]);
    let rs = h.ask(&with(
        with(by_mac(Dialect::Rfc6926, 1, 7), prl.clone()),
        DhcpOption::QueryStartTime((T0 - 10_000) as u32),
    ));
    assert_eq!(types(&rs), [13, 11, 11, 15]);
    assert_eq!(rs[0].ciaddr, ip("10.0.0.7"));
    assert_eq!(
        since(&rs[0]),
        Some(1000),
        "a renewal keeps the state's start"
    );
    assert_eq!(
        rs[0].option(91),
        Some(&DhcpOption::ClientLastTransactionTime(100))
    );
    assert_eq!(base_time(&rs[0]), Some(T0 as u32));
    assert_eq!(rs[1].ciaddr, ip("10.0.0.8"));
    assert_eq!(since(&rs[1]), Some(300), "a new state starts anew");
    assert_eq!(rs[2].ciaddr, ip("10.0.0.9"));
    assert_eq!(since(&rs[2]), Some(1400));
    assert_eq!(since(&rs[3]), None, "not in DHCPLEASEQUERYDONE");
    // Not asked for: not sent.
    let rs = h.ask(&by_mac(Dialect::Rfc6926, 2, 7));
    assert_eq!(types(&rs), [13, 15]);
    assert_eq!(since(&rs[0]), None);
    // The draft has no such option.
    let mut h = H::new(Dialect::Draft);
    h.put(binding(ip("10.0.0.7"), 7, State4::Active, T0 - 1000));
    let rs = h.ask(&with(by_mac(Dialect::Draft, 3, 7), prl));
    assert_eq!(types(&rs), [13, 15]);
    assert_eq!(since(&rs[0]), None);
}

// ---------------------------------------------------------------- validation

#[test]
fn draft_validation_failures() {
    let mut h = H::new(Dialect::Draft);
    let two_keys = Repr {
        ciaddr: ip("10.0.0.1"),
        ..by_mac(Dialect::Draft, 1, 1)
    };
    let rs = h.ask(&two_keys);
    assert_eq!(types(&rs), [17]);
    assert_eq!(rs[0].xid, 1);
    assert_eq!(draft_status(&rs[0], 151).0, DraftStatus::MalformedQuery);
    let rs = h.ask(&q(Dialect::Draft, 2));
    assert_eq!(draft_status(&rs[0], 151).0, DraftStatus::UnknownQueryType);
    // Relay-id with chaddr set.
    let mut r = by_relay(Dialect::Draft, 3, b"relay");
    r.chaddr[0] = 1;
    r.hlen = 6;
    r.htype = 1;
    let rs = h.ask(&r);
    assert_eq!(draft_status(&rs[0], 151).0, DraftStatus::MalformedQuery);
    // Option 82 with two sub-options is no key.
    let rai = RelayAgentInformation::from_sub_options([(1, &b"c"[..]), (2, &b"r"[..])]).unwrap();
    let rs = h.ask(&with(
        q(Dialect::Draft, 4),
        DhcpOption::RelayAgentInformation(rai),
    ));
    assert_eq!(draft_status(&rs[0], 151).0, DraftStatus::MalformedQuery);
    // Another message type.
    let mut r = by_ip(Dialect::Draft, 5, "10.0.0.1");
    r.set_option(DhcpOption::MessageType(MessageType::BulkLeaseQuery));
    let rs = h.ask(&r);
    assert_eq!(draft_status(&rs[0], 151).0, DraftStatus::UnknownQueryType);
    assert_eq!(h.counters.failures(Status::MalformedQuery), 3);
    // The connection is still usable.
    assert!(h.conn.wants_read());
    assert_eq!(h.conn.close(), None);
}

#[test]
fn rfc_validation_failures() {
    let mut h = H::new(Dialect::Rfc6926);
    let r = Repr {
        yiaddr: ip("10.0.0.9"),
        ..by_mac(Dialect::Rfc6926, 1, 1)
    };
    let rs = h.ask(&r);
    // RFC 6926 §6.2.2: the failure is a DHCPLEASEQUERYDONE whose status-code speaks for the
    // whole query (DHCPLEASEQUERYSTATUS is RFC 7724's).
    assert_eq!(types(&rs), [15]);
    assert_eq!(rfc_status(&rs[0]), Rfc6926Status::MalformedQuery);
    assert_eq!(base_time(&rs[0]), Some(T0 as u32));
    let r = Repr {
        siaddr: ip("10.0.0.9"),
        ..by_mac(Dialect::Rfc6926, 2, 1)
    };
    assert_eq!(rfc_status(&h.ask(&r)[0]), Rfc6926Status::MalformedQuery);
    // No query by IP address in RFC 6926: a non-zero ciaddr is malformed.
    let rs = h.ask(&by_ip(Dialect::Rfc6926, 6, "10.0.0.1"));
    assert_eq!(types(&rs), [15]);
    assert_eq!(rfc_status(&rs[0]), Rfc6926Status::MalformedQuery);
    let mut r = by_mac(Dialect::Rfc6926, 3, 1);
    r.set_option(DhcpOption::MessageType(MessageType::LeaseQuery));
    assert_eq!(rfc_status(&h.ask(&r)[0]), Rfc6926Status::MalformedQuery);
    assert_eq!(
        rfc_status(&h.ask(&q(Dialect::Rfc6926, 4))[0]),
        Rfc6926Status::NotAllowed
    );
    let r = with(
        with(
            by_relay(Dialect::Rfc6926, 5, b"r"),
            DhcpOption::QueryStartTime(10),
        ),
        DhcpOption::QueryEndTime(5),
    );
    let rs = h.ask(&r);
    assert_eq!(rs[0].xid, 5);
    assert_eq!(rfc_status(&rs[0]), Rfc6926Status::MalformedQuery);
}

// ---------------------------------------------------------------- parallel queries

#[test]
fn two_queries_are_interleaved_by_xid() {
    let mut h = H::new(Dialect::Draft);
    fill_relay(&h, b"A", 4, ip("10.0.0.1"));
    fill_relay(&h, b"B", 4, ip("10.1.0.1"));
    h.send(&by_relay(Dialect::Draft, 0xa, b"A"));
    h.send(&by_relay(Dialect::Draft, 0xb, b"B"));
    let rs = h.replies();
    let xids: Vec<u32> = rs.iter().map(|r| r.xid).collect();
    assert_eq!(xids, [0xa, 0xb, 0xa, 0xb, 0xa, 0xb, 0xa, 0xb, 0xa, 0xb]);
    assert_eq!(types(&rs), [13, 13, 19, 19, 19, 19, 19, 19, 15, 15]);
}

#[test]
fn duplicate_xid_in_flight_is_refused() {
    let mut h = H::new(Dialect::Rfc6926);
    fill_relay(&h, b"A", 3, ip("10.0.0.1"));
    h.send(&by_relay(Dialect::Rfc6926, 5, b"A"));
    h.send(&by_relay(Dialect::Rfc6926, 5, b"A"));
    let rs = h.replies();
    assert_eq!(types(&rs), [13, 15, 13, 13, 15]);
    assert_eq!(rfc_status(&rs[1]), Rfc6926Status::MalformedQuery);
    // Once answered, the xid may be used again.
    assert_eq!(
        types(&h.ask(&by_relay(Dialect::Rfc6926, 5, b"A"))),
        [13, 13, 13, 15]
    );
}

#[test]
fn no_more_queries_read_than_can_be_taken() {
    let mut h = H::new(Dialect::Draft);
    fill_relay(&h, b"A", 3, ip("10.0.0.1"));
    assert!(h.conn.wants_read());
    let mut all = Vec::new();
    for xid in 1..=3 {
        all.extend(h.frame(&by_relay(Dialect::Draft, xid, b"A")));
    }
    // The read hint never reaches past the current frame.
    assert_eq!(h.conn.read_hint(), 3);
    // A careless caller hands in all three at once: two are taken, the third is held.
    h.conn.receive(&all, now(0)).unwrap();
    assert_eq!(h.conn.open_queries(), 2);
    assert!(!h.conn.wants_read());
    assert_eq!(h.conn.read_hint(), 0);
    let rs = h.replies();
    let mut xids: Vec<u32> = rs.iter().map(|r| r.xid).collect();
    xids.dedup();
    assert!(
        xids.contains(&3),
        "the held query is answered once a slot frees"
    );
    assert_eq!(rs.len(), 12);
    assert!(h.conn.wants_read());
}

// ---------------------------------------------------------------- memory and back-pressure

#[test]
fn bounded_memory_with_100000_bindings() {
    let mut h = H::new(Dialect::Rfc6926);
    let base = u32::from(ip("10.0.0.1"));
    h.store.v4().write(Completion::none(), |batch| {
        for i in 0..100_000u32 {
            batch.upsert(relayed(Ipv4Addr::from(base + i), i, b"big", b"x", T0 - 100));
        }
    });
    h.store.sync().wait().expect("durable");
    h.send(&by_relay(Dialect::Rfc6926, 1, b"big"));
    let mut decoder = Decoder::new(Dialect::Rfc6926, 65535);
    let mut messages = 0usize;
    let mut most = 0usize;
    let mut out = Vec::with_capacity(512);
    loop {
        out.clear();
        let n = h.conn.poll_transmit(&mut out, 300, now(0));
        assert!(n <= 300);
        most = most.max(h.conn.buffered());
        if n == 0 {
            break;
        }
        let mut input = &out[..];
        while !input.is_empty() {
            let step = decoder.decode(input).unwrap();
            input = &input[step.consumed..];
            if step.message.is_some() {
                messages += 1;
            }
        }
    }
    assert_eq!(messages, 100_001);
    assert!(most < 4096, "held {most} octets");
    assert_eq!(h.counters.bindings.get(), 100_000);
}

#[test]
fn a_slow_reader_is_closed_after_data_timeout() {
    let mut h = H::new(Dialect::Draft);
    fill_relay(&h, b"A", 50, ip("10.0.0.1"));
    h.send(&by_relay(Dialect::Draft, 1, b"A"));
    let mut out = Vec::new();
    assert!(h.conn.poll_transmit(&mut out, 100, now(1000)) > 0);
    // The socket takes nothing more for 30 s.
    assert_eq!(h.conn.on_timeout(now(20_000)), Ok(()));
    assert_eq!(h.conn.on_timeout(now(31_000)), Err(Close::DataTimeout));
    assert_eq!(h.conn.close(), Some(Close::DataTimeout));
    assert_eq!(h.conn.buffered(), 0);
}

#[test]
fn half_received_frame_times_out_and_idle_connection_closes() {
    // The deadlines of a frame and of the first query later than the timers tested here.
    let mut params = params_of(CONFIG);
    params.frame_timeout_ms = 3_600_000;
    params.first_query_timeout_ms = 3_600_000;
    let mut h = H::with(Dialect::Draft, params.clone());
    h.conn.receive(&[0, 100, 0, 0, 1], now(0)).unwrap();
    assert_eq!(h.conn.on_timeout(now(29_000)), Ok(()));
    assert_eq!(h.conn.on_timeout(now(30_000)), Err(Close::DataTimeout));
    let mut h = H::with(Dialect::Draft, params);
    assert_eq!(h.conn.on_timeout(now(299_000)), Ok(()));
    assert_eq!(h.conn.on_timeout(now(300_000)), Err(Close::IdleTimeout));
}

// ---------------------------------------------------------------- closing

#[test]
fn shutdown_sends_query_terminated_to_every_open_query() {
    for dialect in [Dialect::Draft, Dialect::Rfc6926] {
        let mut h = H::new(dialect);
        fill_relay(&h, b"A", 100, ip("10.0.0.1"));
        h.send(&by_relay(dialect, 1, b"A"));
        h.send(&by_relay(dialect, 2, b"A"));
        let mut out = Vec::new();
        h.conn.poll_transmit(&mut out, 1, now(0));
        h.conn.shutdown();
        assert!(!h.conn.wants_read());
        assert_eq!(h.conn.close(), None);
        while h.conn.poll_transmit(&mut out, 4096, now(0)) > 0 {}
        let rs = decode(dialect, &out);
        let fail = if dialect == Dialect::Draft { 17 } else { 15 };
        assert_eq!(types(&rs), [13, fail, fail]);
        assert_eq!(rs[1].xid, 2);
        assert_eq!(rs[2].xid, 1);
        match dialect {
            Dialect::Draft => {
                assert_eq!(draft_status(&rs[1], 151).0, DraftStatus::QueryTerminated)
            }
            _ => assert_eq!(rfc_status(&rs[1]), Rfc6926Status::QueryTerminated),
        }
        assert_eq!(h.conn.close(), Some(Close::Shutdown));
    }
}

#[test]
fn half_close_finishes_outstanding_queries_first() {
    let mut h = H::new(Dialect::Rfc6926);
    fill_relay(&h, b"A", 3, ip("10.0.0.1"));
    h.send(&by_relay(Dialect::Rfc6926, 1, b"A"));
    h.conn.peer_closed(now(0)).unwrap();
    assert!(!h.conn.wants_read());
    assert_eq!(h.conn.close(), None);
    assert_eq!(types(&h.replies()), [13, 13, 13, 15]);
    assert_eq!(h.conn.close(), Some(Close::Finished));
}

#[test]
fn junk_unknown_dialect_and_oversized_frames_close() {
    let mut h = H::new(Dialect::Draft);
    assert!(matches!(
        h.conn.receive(&[0, 5, 7, 1, 2], now(0)),
        Err(Close::Junk(lessor_wire::Error::UnknownDialect))
    ));
    assert!(matches!(h.conn.close(), Some(Close::Junk(_))));
    let mut h = H::new(Dialect::Draft);
    assert!(matches!(
        h.conn.receive(&[0, 0, 0], now(0)),
        Err(Close::Junk(_))
    ));
    // A frame cut short at EOF.
    let mut h = H::new(Dialect::Rfc6926);
    h.conn.receive(&[0, 50, 1, 1], now(0)).unwrap();
    assert!(matches!(h.conn.peer_closed(now(0)), Err(Close::Junk(_))));
    // A message too short to carry an xid.
    let mut h = H::new(Dialect::Rfc6926);
    assert!(matches!(
        h.conn.receive(&[0, 3, 1, 1, 6], now(0)),
        Err(Close::Junk(_))
    ));
    assert!(matches!(h.conn.close(), Some(Close::Junk(_))));
}

// ---------------------------------------------------------------- the first message of a response

/// Whether `r` carries the server identifier (option 54) with this server's address.
fn has_server_id(r: &Repr) -> bool {
    r.option(54) == Some(&DhcpOption::ServerIdentifier(SERVER))
}

/// The raw payload of `r` with `raw` (whole options, code and length included) inserted just
/// before the end option: what `Repr` would merge (several instances of one code), or options
/// it would not write.
fn raw_with(r: &Repr, raw: &[u8]) -> Vec<u8> {
    let mut bytes = r.to_vec();
    let mut at = 240;
    while bytes[at] != 255 {
        at += if bytes[at] == 0 {
            1
        } else {
            2 + usize::from(bytes[at + 1])
        };
    }
    bytes.splice(at..at, raw.iter().copied());
    bytes
}

impl H {
    fn ask_raw(&mut self, payload: &[u8]) -> Vec<Repr> {
        let mut f = Vec::new();
        Encoder::new(self.dialect, 65535)
            .encode_to_vec(payload, &mut f)
            .unwrap();
        self.conn.receive(&f, now(self.ms)).expect("taken");
        self.replies()
    }

    fn codes(&self) -> Codes {
        Codes::new(self.dialect, &crate::config::schema::DraftCodes::default())
    }
}

/// The status code of a failure message, in its dialect's numbering.
fn status_of(dialect: Dialect, r: &Repr) -> u16 {
    match dialect {
        Dialect::Draft => u16::from(draft_status(r, 151).0),
        _ => u16::from(u8::from(rfc_status(r))),
    }
}

/// A query refused for `reason` in `dialect`, as raw payload (xid 0x5e), or `None` where the
/// reason cannot occur in that dialect. Exhaustive: a new reason does not compile without its
/// query here.
fn refused_query(reason: query::Reason, d: Dialect) -> Option<Vec<u8>> {
    use query::Reason as R;
    let rfc = d != Dialect::Draft;
    let xid = 0x5e;
    Some(match reason {
        R::Unparsable => {
            let mut b = by_mac(d, xid, 1).to_vec();
            b[236] = 0; // the magic cookie
            b
        }
        R::NotBootRequest => Repr {
            op: 2,
            ..by_mac(d, xid, 1)
        }
        .to_vec(),
        R::NoMessageType => Repr {
            options: vec![],
            ..by_mac(d, xid, 1)
        }
        .to_vec(),
        R::NotTheQueryType => {
            let mut r = by_mac(d, xid, 1);
            let other = if rfc {
                MessageType::LeaseQuery
            } else {
                MessageType::BulkLeaseQuery
            };
            r.set_option(DhcpOption::MessageType(other));
            r.to_vec()
        }
        R::AddressesNotZero if rfc => Repr {
            yiaddr: ip("10.0.0.9"),
            ..by_mac(d, xid, 1)
        }
        .to_vec(),
        R::AddressesNotZero => return None,
        R::EmptyClientId => raw_with(&q(d, xid), &[61, 0]),
        R::BadRelayAgentInformation => raw_with(&q(d, xid), &[82, 3, 12, 5, 1]),
        R::BadQueryTime if rfc => raw_with(&by_relay(d, xid, b"r"), &[154, 3, 1, 2, 3]),
        R::StartAfterEnd if rfc => with(
            with(by_relay(d, xid, b"r"), DhcpOption::QueryStartTime(10)),
            DhcpOption::QueryEndTime(5),
        )
        .to_vec(),
        R::BadQueryTime | R::StartAfterEnd => return None,
        R::Option82Shape => by_sub(d, xid, 1, b"circuit").to_vec(),
        R::IdentifierWithClientFields => Repr {
            htype: 1,
            hlen: 6,
            ..by_relay(d, xid, b"r")
        }
        .to_vec(),
        R::NoKey => q(d, xid).to_vec(),
        R::SeveralKeys => with(
            by_mac(d, xid, 1),
            DhcpOption::ClientIdentifier(b"cid".to_vec()),
        )
        .to_vec(),
        // Needs a query with this xid being answered: see the test below.
        R::DuplicateXid => return None,
    })
}

/// The status each reason gets, written out (draft numbering, RFC 6926 numbering): 1
/// UnspecFail, 2 UnknownQueryType (draft) / QueryTerminated (rfc), 3 MalformedQuery, 4
/// NotAllowed, 5 QueryTerminated (draft).
fn expected_status(reason: query::Reason) -> (u16, u16) {
    use query::Reason as R;
    match reason {
        R::NotTheQueryType => (2, 3),
        R::NoKey => (2, 4),
        // docs/protocol.md decision 9.
        R::SeveralKeys => (3, 4),
        _ => (3, 3),
    }
}

#[test]
fn every_refusal_is_one_failure_message_and_the_first_carries_the_server_identifier() {
    // docs/protocol.md decision 1: in the rfc6926 dialect the refusal is the first (and only)
    // message of its response and carries option 54; the draft's DHCPLEASEQUERYFAIL takes no
    // option besides the status (§7.2.3).
    for dialect in [Dialect::Draft, Dialect::Rfc6926] {
        let mut h = H::new(dialect);
        let codes = h.codes();
        let mut tried = 0;
        for reason in query::Reason::ALL {
            let Some(payload) = refused_query(reason, dialect) else {
                continue;
            };
            tried += 1;
            let rs = h.ask_raw(&payload);
            let what = format!("{dialect:?} {reason:?}");
            assert_eq!(types(&rs), [codes.fail], "{what}");
            assert_eq!(rs[0].xid, 0x5e, "{what}");
            let (draft, rfc) = expected_status(reason);
            let want = if dialect == Dialect::Draft {
                draft
            } else {
                rfc
            };
            assert_eq!(status_of(dialect, &rs[0]), want, "{what}");
            match dialect {
                Dialect::Draft => {
                    assert!(!has_server_id(&rs[0]), "{what}: draft §7.2.3");
                    assert_eq!(rs[0].options.len(), 2, "{what}: 53 and the status only");
                }
                _ => {
                    assert!(has_server_id(&rs[0]), "{what}: first message without 54");
                    assert_eq!(u8::from(rs[0].message_type().unwrap()), 15, "{what}");
                    let codes: Vec<u8> = rs[0].options.iter().map(|o| o.code()).collect();
                    assert_eq!(codes, [53, 54, 151, 152], "{what}");
                }
            }
            assert!(h.conn.wants_read(), "{what}: the connection stays open");
        }
        assert!(tried >= 10, "{dialect:?}: {tried} reasons tried");
    }
}

#[test]
fn a_duplicate_xid_is_refused_and_the_refusal_carries_the_server_identifier() {
    for dialect in [Dialect::Draft, Dialect::Rfc6926] {
        let mut h = H::new(dialect);
        fill_relay(&h, b"A", 3, ip("10.0.0.1"));
        h.send(&by_relay(dialect, 5, b"A"));
        h.send(&by_relay(dialect, 5, b"A"));
        let rs = h.replies();
        let codes = h.codes();
        let refusal: Vec<&Repr> = rs
            .iter()
            .filter(|r| {
                u8::from(r.message_type().unwrap()) == codes.fail && r.option(151).is_some()
            })
            .collect();
        assert_eq!(refusal.len(), 1, "{dialect:?}: {:?}", types(&rs));
        assert_eq!(status_of(dialect, refusal[0]), 3, "{dialect:?}");
        assert_eq!(
            has_server_id(refusal[0]),
            dialect == Dialect::Rfc6926,
            "{dialect:?}"
        );
    }
}

#[test]
fn rfc_nothing_found_done_carries_the_server_identifier_a_done_after_bindings_does_not() {
    let mut h = H::new(Dialect::Rfc6926);
    fill_relay(&h, b"A", 2, ip("10.0.0.1"));
    for query in [
        by_relay(Dialect::Rfc6926, 1, b"never"),
        by_sub(Dialect::Rfc6926, 2, 2, b"never"),
        by_mac(Dialect::Rfc6926, 3, 77),
        with(
            q(Dialect::Rfc6926, 4),
            DhcpOption::ClientIdentifier(b"nobody".to_vec()),
        ),
    ] {
        let rs = h.ask(&query);
        assert_eq!(types(&rs), [15], "{query:?}");
        let codes: Vec<u8> = rs[0].options.iter().map(|o| o.code()).collect();
        assert_eq!(codes, [53, 54, 152], "a lone DONE: 53, 54, base-time");
        assert!(has_server_id(&rs[0]));
    }
    let rs = h.ask(&by_relay(Dialect::Rfc6926, 5, b"A"));
    assert_eq!(types(&rs), [13, 13, 15]);
    assert!(
        has_server_id(&rs[0]) && has_server_id(&rs[1]),
        "every binding message"
    );
    assert!(
        !has_server_id(&rs[2]),
        "the DONE after bindings is not the first message"
    );
}

#[test]
fn draft_lone_unknown_and_unassigned_carry_the_server_identifier() {
    let mut h = H::new(Dialect::Draft);
    for query in [
        by_relay(Dialect::Draft, 1, b"never"),
        by_ip(Dialect::Draft, 2, "198.51.100.150"),
        by_ip(Dialect::Draft, 3, "192.0.2.77"),
        by_mac(Dialect::Draft, 4, 77),
    ] {
        let rs = h.ask(&query);
        assert_eq!(rs.len(), 1, "{query:?}");
        assert!(has_server_id(&rs[0]), "{query:?}");
    }
}

#[test]
fn shutdown_query_terminated_carries_the_server_identifier_when_it_is_the_first_message() {
    for dialect in [Dialect::Draft, Dialect::Rfc6926] {
        let mut h = H::new(dialect);
        fill_relay(&h, b"A", 100, ip("10.0.0.1"));
        h.send(&by_relay(dialect, 1, b"A"));
        h.send(&by_relay(dialect, 2, b"A"));
        let mut out = Vec::new();
        // One octet: the first binding of query 1 starts going out, query 2 has sent nothing.
        h.conn.poll_transmit(&mut out, 1, now(0));
        h.conn.shutdown();
        while h.conn.poll_transmit(&mut out, 4096, now(0)) > 0 {}
        let rs = decode(dialect, &out);
        let fail = h.codes().fail;
        assert_eq!(types(&rs), [13, fail, fail], "{dialect:?}");
        let (for_2, for_1) = (&rs[1], &rs[2]);
        assert_eq!((for_2.xid, for_1.xid), (2, 1));
        let rfc = dialect == Dialect::Rfc6926;
        assert_eq!(
            has_server_id(for_2),
            rfc,
            "{dialect:?}: query 2's only message"
        );
        assert!(
            !has_server_id(for_1),
            "{dialect:?}: query 1 had a binding out"
        );
        assert!(rfc || draft_status(for_2, 151).0 == DraftStatus::QueryTerminated);
        assert!(!rfc || rfc_status(for_2) == Rfc6926Status::QueryTerminated);
    }
}

#[test]
fn a_reply_too_large_to_frame_aborts_with_unspec_fail_first_message_with_server_identifier() {
    for dialect in [Dialect::Draft, Dialect::Rfc6926] {
        let mut params = params_of(CONFIG);
        params.max_message_size = 330;
        let mut h = H::with(dialect, params);
        // A binding whose reply (a long option 82) cannot be framed in 330 octets.
        let long = [7u8; 120];
        h.put(relayed(ip("10.0.0.1"), 1, b"big", &long, T0 - 100));
        h.put(relayed(ip("10.1.0.1"), 2, b"other", b"x", T0 - 100));
        h.send(&by_relay(dialect, 1, b"big"));
        h.send(&by_relay(dialect, 2, b"other"));
        let rs = h.replies();
        let fail = h.codes().fail;
        let rfc = dialect == Dialect::Rfc6926;
        assert_eq!(types(&rs), [fail, fail], "{dialect:?}");
        assert_eq!(rs[0].xid, 1);
        assert_eq!(status_of(dialect, &rs[0]), 1, "UnspecFail");
        assert_eq!(rs[1].xid, 2);
        assert_eq!(
            status_of(dialect, &rs[1]),
            if rfc { 2 } else { 5 },
            "QueryTerminated"
        );
        for r in &rs {
            assert_eq!(
                has_server_id(r),
                rfc,
                "{dialect:?}: each is its query's first message"
            );
        }
        assert_eq!(h.conn.close(), Some(Close::Aborted));
        assert_eq!(h.counters.aborted.get(), 1);
    }
}

#[test]
fn an_abort_after_a_binding_went_out_carries_no_server_identifier() {
    let mut params = params_of(CONFIG);
    params.max_message_size = 330;
    let mut h = H::with(Dialect::Rfc6926, params);
    h.put(relayed(ip("10.0.0.1"), 1, b"big", b"x", T0 - 100));
    h.put(relayed(ip("10.0.0.2"), 2, b"big", &[7u8; 120], T0 - 100));
    let rs = h.ask(&by_relay(Dialect::Rfc6926, 1, b"big"));
    assert_eq!(types(&rs), [13, 15]);
    assert_eq!(rfc_status(&rs[1]), Rfc6926Status::UnspecFail);
    assert!(has_server_id(&rs[0]) && !has_server_id(&rs[1]));
}

// ---------------------------------------------------------------- several keys (decision 9)

#[test]
fn several_keys_are_not_allowed_in_rfc6926_and_malformed_in_the_draft() {
    let cid = || DhcpOption::ClientIdentifier(b"cid-5".to_vec());
    let rai = |subs: &[(u8, &[u8])]| {
        DhcpOption::RelayAgentInformation(
            RelayAgentInformation::from_sub_options(subs.iter().copied()).unwrap(),
        )
    };
    for dialect in [Dialect::Draft, Dialect::Rfc6926] {
        let d = dialect;
        let mut h = H::new(d);
        h.put(
            relayed(ip("10.0.0.1"), 5, b"relay", b"remote", T0 - 60)
                .with_client_id(b"cid-5")
                .unwrap(),
        );
        let cases: Vec<(&str, Vec<u8>)> = vec![
            ("mac + client-id", with(by_mac(d, 1, 5), cid()).to_vec()),
            (
                "mac + relay-id",
                with(by_mac(d, 1, 5), rai(&[(12, b"relay")])).to_vec(),
            ),
            (
                "mac + remote-id",
                with(by_mac(d, 1, 5), rai(&[(2, b"remote")])).to_vec(),
            ),
            (
                "client-id + relay-id",
                with(by_relay(d, 1, b"relay"), cid()).to_vec(),
            ),
            (
                "client-id + remote-id",
                with(by_sub(d, 1, 2, b"remote"), cid()).to_vec(),
            ),
            (
                "remote-id + relay-id in one option 82",
                with(q(d, 1), rai(&[(2, b"remote"), (12, b"relay")])).to_vec(),
            ),
            (
                "remote-id + relay-id as two option 82 instances (RFC 3396: one option)",
                raw_with(
                    &q(d, 1),
                    &[
                        82, 8, 2, 6, b'r', b'e', b'm', b'o', b't', b'e', 82, 7, 12, 5, b'r', b'e',
                        b'l', b'a', b'y',
                    ],
                ),
            ),
            (
                "two relay-ids",
                with(q(d, 1), rai(&[(12, b"relay"), (12, b"other")])).to_vec(),
            ),
            (
                "mac + client-id + relay-id",
                with(with(by_mac(d, 1, 5), cid()), rai(&[(12, b"relay")])).to_vec(),
            ),
        ];
        for (what, payload) in cases {
            let rs = h.ask_raw(&payload);
            assert_eq!(types(&rs), [h.codes().fail], "{d:?} {what}");
            let want = if d == Dialect::Draft { 3 } else { 4 };
            assert_eq!(status_of(d, &rs[0]), want, "{d:?} {what}");
        }
        // A non-zero ciaddr with another key: RFC 6926 refuses any ciaddr (MalformedQuery);
        // in the draft ciaddr is a key, so these are two keys (MalformedQuery as well).
        for (what, query) in [
            (
                "ip + mac",
                Repr {
                    ciaddr: ip("10.0.0.1"),
                    ..by_mac(d, 1, 5)
                },
            ),
            ("ip + client-id", with(by_ip(d, 1, "10.0.0.1"), cid())),
            (
                "ip + relay-id",
                Repr {
                    ciaddr: ip("10.0.0.1"),
                    ..by_relay(d, 1, b"relay")
                },
            ),
        ] {
            let rs = h.ask(&query);
            assert_eq!(status_of(d, &rs[0]), 3, "{d:?} {what}");
        }
        // One key and a sub-option that is none: not several keys, a malformed option 82.
        let rs = h.ask(&with(q(d, 1), rai(&[(1, b"circuit"), (12, b"relay")])));
        assert_eq!(status_of(d, &rs[0]), 3, "{d:?} circuit-id + relay-id");
        // Two client-id instances are one client identifier (RFC 3396): one key, answered.
        let rs = h.ask_raw(&raw_with(
            &q(d, 1),
            &[61, 3, b'c', b'i', b'd', 61, 2, b'-', b'5'],
        ));
        assert_eq!(types(&rs), [13, 15], "{d:?} client-id in two instances");
        assert_eq!(rs[0].ciaddr, ip("10.0.0.1"));
    }
}

#[test]
fn bulk_lease_active_carries_the_clients_identifier() {
    // A bulk query has no Parameter Request List: each binding message carries what a
    // DHCPREQUEST was given (RFC 4388 §6.2), which includes the client's 61 (RFC 6842).
    for dialect in [Dialect::Draft, Dialect::Rfc6926] {
        let mut h = H::new(dialect);
        h.put(
            relayed(ip("10.0.0.1"), 1, b"R", b"x", T0 - 60)
                .with_client_id(b"cid-1")
                .unwrap(),
        );
        h.put(relayed(ip("10.0.0.2"), 2, b"R", b"x", T0 - 60));
        let rs = h.ask(&by_relay(dialect, 1, b"R"));
        assert_eq!(rs.len(), 3, "{dialect:?}");
        let id = |a: &str| rs.iter().find(|r| r.ciaddr == ip(a)).unwrap().option(61);
        assert_eq!(
            id("10.0.0.1"),
            Some(&DhcpOption::ClientIdentifier(b"cid-1".to_vec())),
            "{dialect:?}"
        );
        assert_eq!(
            id("10.0.0.2"),
            None,
            "{dialect:?}: no client identifier was sent"
        );
    }
}

// ---------------------------------------------------------------- slots cannot be held forever

/// A connection with frame-timeout and first-query-timeout of 10 s and data-timeout of 30 s.
fn deadlines() -> H {
    let text = CONFIG.replace(
        "data-timeout = \"30s\"",
        "data-timeout = \"30s\"\nframe-timeout = \"10s\"\nfirst-query-timeout = \"10s\"",
    );
    H::with(Dialect::Rfc6926, params_of(&text))
}

#[test]
fn a_trickled_frame_is_closed_at_the_frame_deadline_whatever_the_octets() {
    let mut h = deadlines();
    // A first query, answered; then a frame announced as 65,535 octets, and one octet every
    // 2 s: each well within the data-timeout, so only the deadline of the whole frame ends it.
    assert_eq!(types(&h.ask(&by_ip(Dialect::Rfc6926, 1, "10.0.0.1"))), [15]);
    h.conn.receive(&[0xff, 0xff], now(1000)).unwrap();
    assert_eq!(h.conn.next_deadline(), Some(11_000));
    for t in (3000..11_000).step_by(2000) {
        h.conn.receive(&[1], now(t)).unwrap();
        assert_eq!(h.conn.on_timeout(now(t)), Ok(()), "at {t} ms");
    }
    assert_eq!(
        h.conn.next_deadline(),
        Some(11_000),
        "octets do not move it"
    );
    assert_eq!(h.conn.on_timeout(now(11_000)), Err(Close::FrameTimeout));
    assert_eq!(h.conn.close(), Some(Close::FrameTimeout));
    assert_eq!(
        CloseReason::from(Close::FrameTimeout).name(),
        "frame-timeout"
    );
}

#[test]
fn each_frame_has_its_own_deadline() {
    let mut h = deadlines();
    let f = h.frame(&by_ip(Dialect::Rfc6926, 1, "10.0.0.1"));
    // The first query comes in two pieces 9 s apart: in time.
    h.conn.receive(&f[..5], now(0)).unwrap();
    h.conn.receive(&f[5..], now(9000)).unwrap();
    assert_eq!(h.conn.on_timeout(now(9000)), Ok(()));
    assert_eq!(types(&h.replies()), [15]);
    // The next one is timed from its own first octets, at 9.5 s.
    let g = h.frame(&by_ip(Dialect::Rfc6926, 2, "10.0.0.2"));
    h.conn.receive(&g[..3], now(9500)).unwrap();
    assert_eq!(h.conn.on_timeout(now(19_000)), Ok(()));
    assert_eq!(h.conn.next_deadline(), Some(19_500));
    assert_eq!(h.conn.on_timeout(now(19_500)), Err(Close::FrameTimeout));

    // A frame that starts in the octets that end the one before is timed from that read.
    let mut h = deadlines();
    let mut two = f.clone();
    two.extend_from_slice(&g[..3]);
    h.conn.receive(&f[..5], now(0)).unwrap();
    h.conn.receive(&two[5..], now(8000)).unwrap();
    assert_eq!(h.conn.on_timeout(now(17_999)), Ok(()));
    assert_eq!(h.conn.on_timeout(now(18_000)), Err(Close::FrameTimeout));
}

#[test]
fn a_silent_connection_is_closed_at_the_first_query_deadline() {
    let mut h = deadlines();
    assert_eq!(h.conn.next_deadline(), Some(10_000));
    assert_eq!(h.conn.on_timeout(now(9999)), Ok(()));
    assert_eq!(
        h.conn.on_timeout(now(10_000)),
        Err(Close::FirstQueryTimeout)
    );
    assert_eq!(
        CloseReason::from(Close::FirstQueryTimeout).name(),
        "first-query-timeout"
    );

    // Octets that never make a frame do not count as the first query either.
    let mut h = deadlines();
    h.conn.receive(&[0, 200], now(9000)).unwrap();
    assert_eq!(
        h.conn.on_timeout(now(10_000)),
        Err(Close::FirstQueryTimeout)
    );

    // Once a first query came, only the idle-timeout ends a quiet connection.
    let mut h = deadlines();
    h.ms = 5000;
    assert_eq!(types(&h.ask(&by_ip(Dialect::Rfc6926, 1, "10.0.0.1"))), [15]);
    assert_eq!(h.conn.on_timeout(now(60_000)), Ok(()));
    assert_eq!(h.conn.next_deadline(), Some(305_000));
    assert_eq!(h.conn.on_timeout(now(305_000)), Err(Close::IdleTimeout));
}

#[test]
fn a_slow_but_steady_reader_is_served_and_a_stalled_one_is_cut_off() {
    let mut h = deadlines();
    fill_relay(&h, b"A", 400, ip("10.0.0.1"));
    h.send(&by_relay(Dialect::Rfc6926, 1, b"A"));
    // What the listener does: hand out a large write, then report what the socket took.
    let mut out = Vec::new();
    let handed = h.conn.poll_transmit(&mut out, 64 * 1024, now(0));
    assert!(handed > 40_000, "{handed}");
    // A reader taking 1 kB a second: 40 s and more, longer than the data-timeout (30 s).
    let mut held = handed;
    let mut t = 0;
    while held > 0 {
        t += 1000;
        let took = held.min(1000);
        held -= took;
        h.conn.written(took, held, now(t));
        assert_eq!(h.conn.on_timeout(now(t)), Ok(()), "cut off at {t} ms");
    }
    assert!(t > 40_000);
    // The next write, and then the reader stops: closed a data-timeout after its last read.
    out.clear();
    let handed = h.conn.poll_transmit(&mut out, 64 * 1024, now(t));
    assert!(handed > 0);
    h.conn.written(100, handed - 100, now(t));
    assert_eq!(h.conn.on_timeout(now(t + 29_999)), Ok(()));
    assert_eq!(h.conn.on_timeout(now(t + 30_000)), Err(Close::DataTimeout));
}
