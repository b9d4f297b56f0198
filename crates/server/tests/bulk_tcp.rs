//! Bulk leasequery over real TCP sockets on 127.0.0.1: both framings, interleaved queries, a
//! requestor that stops reading, junk, half-close, the allow-list and the connection limit.
//! Replies are decoded with `lessor_wire`.

use lessor_server::bulk4::{self as tcp4, Running, Settings};
use lessor_server::bulk4::{CloseReason, Params};
use lessor_server::config;
use lessor_server::leasequery4::access::AllowList;
use lessor_store::{Binding4, Completion, HwAddr, State4, Store};
use lessor_wire::framing::{Decoder, Dialect, Encoder};
use lessor_wire::v4::{DhcpOption, MessageType, RelayAgentInformation, Repr, BOOTREQUEST};
use std::io::{ErrorKind, Read, Write};
use std::net::{Ipv4Addr, Shutdown, SocketAddr, TcpStream};
use std::sync::Arc;
use std::time::{Duration, Instant};

const SERVER: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 1);

fn config_text(requesters: &str, max_connections: u32, per_requester: u32) -> String {
    format!(
        r#"
[dhcp4]
server-identifier = "192.0.2.1"
listen = ["192.0.2.1"]

[[dhcp4.subnet]]
prefix = "198.18.0.0/15"
pools = ["198.18.0.1-198.19.255.254"]

[leasequery4]
requesters = [{requesters}]

[leasequery4.bulk]
listen = ["127.0.0.1"]
port = 0
max-connections = {max_connections}
max-connections-per-requester = {per_requester}
data-timeout = "1s"
idle-timeout = "3s"
queries-per-connection = 4
"#
    )
}

/// A listener whose requesters may each take every slot (the per-requester cap has its own
/// test).
fn start(requesters: &str, max_connections: u32, bindings: u32) -> (Running, SocketAddr) {
    start_capped(requesters, max_connections, max_connections, bindings)
}

fn start_capped(
    requesters: &str,
    max_connections: u32,
    per_requester: u32,
    bindings: u32,
) -> (Running, SocketAddr) {
    let text = config_text(requesters, max_connections, per_requester);
    let c = config::parse(&text, "test.toml").expect("config");
    let params = Params::from_config(&c, SERVER).unwrap();
    let store = Arc::new(Store::in_memory());
    let base = u32::from(Ipv4Addr::new(198, 18, 0, 1));
    store.v4().write(Completion::none(), |batch| {
        for i in 0..bindings {
            let a = Ipv4Addr::from(base + i);
            let b = i.to_be_bytes();
            let relay: &[u8] = if i % 2 == 0 { b"relay-A" } else { b"relay-B" };
            let rai = RelayAgentInformation::from_sub_options([(12, relay)]).unwrap();
            let binding = Binding4::new(
                a,
                "198.18.0.0/15".parse().unwrap(),
                HwAddr::ethernet([2, 0, b[0], b[1], b[2], b[3]]),
                State4::Active,
            )
            .with_times(
                1,
                u64::from(u32::MAX),
                u64::from(u32::MAX),
                u64::from(u32::MAX),
                1,
            )
            .with_relay_agent_information(rai.as_bytes())
            .unwrap()
            .with_relay_id(relay)
            .unwrap();
            batch.upsert(binding);
        }
    });
    let lq = c.leasequery4.unwrap();
    let bulk = lq.bulk.unwrap();
    // Bulk leasequery reports durable bindings only.
    store.sync().wait().expect("durable");
    let settings = Settings {
        params,
        allow: AllowList::new(lq.requesters),
        max_connections: bulk.max_connections as usize,
        max_per_requester: bulk.max_connections_per_requester as usize,
    };
    let running = tcp4::start(settings, &["127.0.0.1:0".parse().unwrap()], store).unwrap();
    let addr = running.local_addrs()[0];
    (running, addr)
}

fn query(dialect: Dialect, xid: u32, relay: &[u8]) -> Vec<u8> {
    let t = match dialect {
        Dialect::Draft => MessageType::LeaseQuery,
        _ => MessageType::BulkLeaseQuery,
    };
    let rai = RelayAgentInformation::from_sub_options([(12, relay)]).unwrap();
    let r = Repr {
        op: BOOTREQUEST,
        htype: 0,
        hlen: 0,
        xid,
        options: vec![
            DhcpOption::MessageType(t),
            DhcpOption::RelayAgentInformation(rai),
        ],
        ..Repr::default()
    };
    let mut out = Vec::new();
    Encoder::new(dialect, 65535)
        .encode_to_vec(&r.to_vec(), &mut out)
        .unwrap();
    out
}

fn connect(addr: SocketAddr) -> TcpStream {
    let s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    s
}

/// Reads replies until `until` says stop or the peer closes; returns them and whether EOF came.
fn read_replies(
    s: &mut TcpStream,
    dialect: Dialect,
    until: impl Fn(&[Repr]) -> bool,
) -> (Vec<Repr>, bool) {
    let mut d = Decoder::new(dialect, 65535);
    let mut out = Vec::new();
    let eof = read_more(s, &mut d, &mut out, until);
    (out, eof)
}

/// Reads into `out` with `d` until `until` says stop (false) or the peer closes (true).
fn read_more(
    s: &mut TcpStream,
    d: &mut Decoder,
    out: &mut Vec<Repr>,
    until: impl Fn(&[Repr]) -> bool,
) -> bool {
    let mut buf = vec![0u8; 8192];
    loop {
        if until(out) {
            return false;
        }
        let n = match s.read(&mut buf) {
            Ok(0) => return true,
            Ok(n) => n,
            Err(e) if e.kind() == ErrorKind::ConnectionReset => return true,
            Err(e) => panic!("read: {e}"),
        };
        let mut input = &buf[..n];
        while !input.is_empty() {
            let step = d.decode(input).unwrap();
            input = &input[step.consumed..];
            if let Some(m) = step.message {
                out.push(Repr::from_bytes(m).unwrap());
            }
        }
    }
}

fn done_count(rs: &[Repr]) -> usize {
    rs.iter()
        .filter(|r| r.message_type() == Some(MessageType::LeaseQueryDone))
        .count()
}

#[test]
fn both_framings_and_interleaved_queries() {
    let (running, addr) = start(r#""127.0.0.0/8""#, 10, 4000);
    for dialect in [Dialect::Draft, Dialect::Rfc6926] {
        let mut s = connect(addr);
        let mut both = query(dialect, 1, b"relay-A");
        both.extend(query(dialect, 2, b"relay-B"));
        s.write_all(&both).unwrap();
        let (rs, _) = read_replies(&mut s, dialect, |rs| done_count(rs) == 2);
        assert_eq!(rs.len(), 4002);
        let first = u8::from(rs[0].message_type().unwrap());
        assert_eq!(first, 13);
        let xids: Vec<u32> = rs.iter().map(|r| r.xid).collect();
        let first_b = xids.iter().position(|&x| x == 2).unwrap();
        let last_a = xids.iter().rposition(|&x| x == 1).unwrap();
        assert!(
            first_b < last_a,
            "the two queries are answered side by side"
        );
        let data = rs
            .iter()
            .filter(|r| u8::from(r.message_type().unwrap()) == 19)
            .count();
        match dialect {
            Dialect::Draft => assert_eq!(data, 3998),
            _ => assert_eq!(data, 0),
        }
    }
    assert_eq!(running.counters().draft.get(), 1);
    assert_eq!(running.counters().rfc6926.get(), 1);
    running.shutdown();
}

#[test]
fn half_close_gets_every_reply_then_eof() {
    let (running, addr) = start(r#""127.0.0.0/8""#, 10, 100);
    let mut s = connect(addr);
    s.write_all(&query(Dialect::Rfc6926, 7, b"relay-A"))
        .unwrap();
    s.shutdown(Shutdown::Write).unwrap();
    let (rs, eof) = read_replies(&mut s, Dialect::Rfc6926, |_| false);
    assert!(eof);
    assert_eq!(rs.len(), 51);
    assert_eq!(done_count(&rs), 1);
    running.shutdown();
}

#[test]
fn junk_closes_the_connection() {
    let (running, addr) = start(r#""127.0.0.0/8""#, 10, 0);
    let mut s = connect(addr);
    s.write_all(&[0, 5, 7, 7, 7, 7, 7, 7]).unwrap();
    let (rs, eof) = read_replies(&mut s, Dialect::Rfc6926, |_| false);
    assert!(eof && rs.is_empty());
    assert_eq!(running.counters().closed(CloseReason::Junk), 1);
    running.shutdown();
}

#[test]
fn a_requester_outside_the_allow_list_is_closed_at_once() {
    let (running, addr) = start(r#""192.0.2.0/24""#, 10, 0);
    let mut s = connect(addr);
    let _ = s.write_all(&query(Dialect::Rfc6926, 1, b"relay-A"));
    let (rs, eof) = read_replies(&mut s, Dialect::Rfc6926, |_| false);
    assert!(eof && rs.is_empty());
    assert_eq!(running.counters().refused_not_allowed.get(), 1);
    running.shutdown();
}

#[test]
fn half_open_connection_is_closed_after_the_data_timeout() {
    let (running, addr) = start(r#""127.0.0.0/8""#, 10, 0);
    let mut s = connect(addr);
    // Half a frame, then silence.
    s.write_all(&[0, 200, 1, 1, 6]).unwrap();
    let t = Instant::now();
    let (_, eof) = read_replies(&mut s, Dialect::Rfc6926, |_| false);
    assert!(eof);
    assert!(t.elapsed() < Duration::from_secs(5));
    assert_eq!(running.counters().closed(CloseReason::DataTimeout), 1);
    running.shutdown();
}

#[test]
fn a_requester_that_stops_reading_is_closed_after_the_data_timeout() {
    let (running, addr) = start(r#""127.0.0.0/8""#, 10, 120_000);
    let s = connect(addr);
    let mut w = &s;
    w.write_all(&query(Dialect::Rfc6926, 1, b"relay-A"))
        .unwrap();
    // Never read: the socket buffers fill, the server stops producing (it only pulls replies
    // when the socket takes them), and data-timeout closes the connection.
    let t = Instant::now();
    while running.counters().closed(CloseReason::DataTimeout) == 0 {
        assert!(t.elapsed() < Duration::from_secs(20), "not closed");
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(running.counters().bindings.get() < 60_000);
    running.shutdown();
}

#[test]
fn connection_limit_keeps_the_last_slot_for_a_new_requester() {
    let (running, addr) = start(r#""127.0.0.0/8""#, 3, 10);
    let a = connect(addr);
    let b = connect(addr);
    std::thread::sleep(Duration::from_millis(100));
    // A third one from 127.0.0.1, which already has two: refused (one slot left, kept).
    let mut c = connect(addr);
    let (_, eof) = read_replies(&mut c, Dialect::Rfc6926, |_| false);
    assert!(eof);
    // From another requester address, it is taken.
    let socket = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).unwrap();
    socket
        .bind(&SocketAddr::from(([127, 0, 0, 2], 0)).into())
        .unwrap();
    socket.connect(&addr.into()).unwrap();
    let mut d: TcpStream = socket.into();
    d.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    d.write_all(&query(Dialect::Rfc6926, 1, b"relay-A"))
        .unwrap();
    let (rs, _) = read_replies(&mut d, Dialect::Rfc6926, |rs| done_count(rs) == 1);
    assert_eq!(rs.len(), 6);
    // Now full: anybody is refused.
    let mut e = connect(addr);
    let (_, eof) = read_replies(&mut e, Dialect::Rfc6926, |_| false);
    assert!(eof);
    assert_eq!(running.counters().refused_limit.get(), 2);
    drop((a, b));
    running.shutdown();
}

#[test]
fn one_requester_gets_at_most_its_share_of_the_slots() {
    let (running, addr) = start_capped(r#""127.0.0.0/8""#, 10, 2, 10);
    let a = connect(addr);
    let b = connect(addr);
    std::thread::sleep(Duration::from_millis(100));
    let mut c = connect(addr);
    let (_, eof) = read_replies(&mut c, Dialect::Rfc6926, |_| false);
    assert!(eof);
    assert_eq!(running.counters().refused_per_requester.get(), 1);
    assert_eq!(running.counters().refused_limit.get(), 0);
    drop((a, b));
    running.shutdown();
}

#[test]
fn shutdown_sends_query_terminated() {
    let (running, addr) = start(r#""127.0.0.0/8""#, 10, 130_000);
    let mut s = connect(addr);
    s.write_all(&query(Dialect::Draft, 9, b"relay-A")).unwrap();
    let mut d = Decoder::new(Dialect::Draft, 65535);
    let mut rs = Vec::new();
    read_more(&mut s, &mut d, &mut rs, |rs| !rs.is_empty());
    assert_eq!(rs[0].xid, 9);
    std::thread::spawn(move || running.shutdown());
    assert!(read_more(&mut s, &mut d, &mut rs, |_| false));
    assert!(rs.len() < 65_000, "the stream was cut short");
    let last = rs.last().expect("replies");
    assert_eq!(u8::from(last.message_type().unwrap()), 17);
    assert_eq!(last.xid, 9);
}

#[test]
fn counters_count_connections_queries_replies_and_closes() {
    use lessor_server::bulk4::Status;
    use lessor_server::leasequery4::QueryKind;
    let (running, addr) = start(r#""127.0.0.0/8""#, 10, 100);
    // rfc6926: 50 bindings of relay-A, then a query with no key (NotAllowed), then half-close.
    let mut s = connect(addr);
    let mut qs = query(Dialect::Rfc6926, 1, b"relay-A");
    let no_key = Repr {
        op: BOOTREQUEST,
        xid: 2,
        options: vec![DhcpOption::MessageType(MessageType::BulkLeaseQuery)],
        ..Repr::default()
    };
    Encoder::new(Dialect::Rfc6926, 65535)
        .encode_to_vec(&no_key.to_vec(), &mut qs)
        .unwrap();
    s.write_all(&qs).unwrap();
    s.shutdown(Shutdown::Write).unwrap();
    let (rs, eof) = read_replies(&mut s, Dialect::Rfc6926, |_| false);
    assert!(eof);
    assert_eq!(rs.len(), 52);
    // draft: 50 bindings of relay-B (ACTIVE + 49 DATA + DONE), then a message too short to
    // carry an xid.
    let mut d = connect(addr);
    d.write_all(&query(Dialect::Draft, 3, b"relay-B")).unwrap();
    let (rs, _) = read_replies(&mut d, Dialect::Draft, |rs| rs.len() == 51);
    assert_eq!(rs.len(), 51);
    d.write_all(&[0, 3, 0, 0, 1, 1, 6]).unwrap();
    let (_, eof) = read_replies(&mut d, Dialect::Draft, |_| false);
    assert!(eof);
    let c = Arc::clone(running.counters());
    running.shutdown();
    assert_eq!(c.accepted.get(), 2);
    assert_eq!((c.rfc6926.get(), c.draft.get()), (1, 1));
    assert_eq!(c.queries(QueryKind::RelayId), 2);
    assert_eq!(c.failures(Status::NotAllowed), 1);
    assert_eq!((c.active.get(), c.data.get()), (51, 49));
    assert_eq!(c.bindings.get(), 100);
    assert_eq!(c.done.get(), 2);
    assert_eq!(c.closed(CloseReason::Finished), 1);
    assert_eq!(c.closed(CloseReason::Junk), 1);
    assert_eq!(c.closed_total(), 2);
}
