//! DHCPv6 bulk leasequery over real TCP sockets on [::1]: a query by relay-id streamed to a
//! requestor that reads in small pieces, two queries on one connection, the options the
//! LQ_QUERY's ORO asks for in every CLIENT_DATA, junk closing the connection, the allow-list, and
//! QueryTerminated at shutdown.

use lessor_server::bulk4::CloseReason;
use lessor_server::bulk6::{self, Params, Settings};
use lessor_server::config;
use lessor_store::{Binding6, Completion, Fields6, IaType, State6, Store};
use lessor_wire::framing::{Decoder, Dialect, Encoder};
use lessor_wire::v6::{ClientServerMessage, DhcpOption, Duid, MessageType, QueryType, Repr};
use std::io::{ErrorKind, Read, Write};
use std::net::{Ipv6Addr, SocketAddr, TcpStream};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

const RELAY: [u8; 10] = [0, 3, 0, 1, 2, 0, 0, 0, 0xaa, 1];

fn config_text(requesters: &str) -> String {
    format!(
        r#"
[dhcp6]
server-duid = "00:02:00:00:ab:11:01:02:03:04"
listen = ["2001:db8::1"]

[[dhcp6.link]]
prefix = "2001:db8:1::/64"
pools = ["2001:db8:1::1000-2001:db8:1::ffff"]
options = {{ dns-servers = ["2001:db8::53"], domain-list = ["example.net"] }}

[leasequery6]
requesters = [{requesters}]
sensitive-options = [24]

[leasequery6.bulk]
listen = ["::1"]
port = 0
data-timeout = "2s"
idle-timeout = "3s"
"#
    )
}

fn start(requesters: &str, n: u16) -> (bulk6::Running, SocketAddr, Arc<Store>) {
    let c = config::parse(&config_text(requesters), "t.toml").expect("config");
    let server_id = Duid::parse(&[0, 2, 0, 0, 0xab, 0x11, 1, 2, 3, 4]).unwrap();
    let params = Params::from_config(&c, server_id).unwrap();
    let store = Arc::new(Store::in_memory());
    let t = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs();
    for i in 0..n {
        let duid = [0, 3, 0, 1, 2, 0, 0, 0, (i >> 8) as u8, i as u8];
        let mut b = Binding6::new(
            Ipv6Addr::new(0x2001, 0xdb8, 1, 0, 0, 0, 0, 0x1000 + i),
            128,
            IaType::Na,
            &duid,
            1,
            "2001:db8:1::/64".parse().unwrap(),
            State6::Active,
        )
        .unwrap()
        .with_times(t - 10, t + 1800, t + 3600, t + 900, t + 1400, t - 10);
        b.set_fields(Fields6 {
            duid: Some(&duid),
            relay_id: Some(&RELAY),
            ..Fields6::default()
        })
        .unwrap();
        let (done, durable) = Completion::ticket();
        store.v6().upsert(b, done);
        durable.wait().unwrap();
    }
    let bulk = c.leasequery6.as_ref().unwrap().bulk.as_ref().unwrap();
    let settings = Settings {
        params,
        requesters: c.leasequery6.as_ref().unwrap().requesters.clone(),
        max_connections: bulk.max_connections as usize,
        max_per_requester: bulk.max_connections_per_requester as usize,
    };
    let running = bulk6::start(settings, &["[::1]:0".parse().unwrap()], Arc::clone(&store))
        .expect("listen on [::1]");
    let addr = running.local_addrs()[0];
    (running, addr, store)
}

fn query(xid: u32) -> Vec<u8> {
    query_asking(xid, &[])
}

/// A query by relay-id whose LQ_QUERY carries `oro` as its ORO (none when empty).
fn query_asking(xid: u32, oro: &[u16]) -> Vec<u8> {
    let mut qopts = vec![DhcpOption::RelayId(Duid::parse(&RELAY).unwrap())];
    if !oro.is_empty() {
        qopts.push(DhcpOption::Oro(oro.to_vec()));
    }
    let q = Repr::ClientServer(ClientServerMessage {
        msg_type: MessageType::Leasequery,
        transaction_id: xid,
        options: vec![
            DhcpOption::ClientId(Duid::parse(&[0, 3, 0, 1, 2, 0, 0, 0, 0, 0x99]).unwrap()),
            DhcpOption::LqQuery {
                query_type: QueryType::ByRelayId,
                link_address: Ipv6Addr::UNSPECIFIED,
                options: qopts,
            },
        ],
    });
    let mut f = Vec::new();
    Encoder::new(Dialect::V6, 65535)
        .encode_to_vec(&q.to_vec(), &mut f)
        .unwrap();
    f
}

/// Reads messages until `done` says so, EOF, or 10 s; small reads on purpose.
fn read_until(s: &mut TcpStream, done: impl Fn(&[Repr]) -> bool) -> (Vec<Repr>, bool) {
    s.set_read_timeout(Some(Duration::from_millis(200)))
        .unwrap();
    let mut d = Decoder::new(Dialect::V6, 65535);
    let mut out = Vec::new();
    let until = Instant::now() + Duration::from_secs(10);
    let mut buf = [0u8; 37];
    while Instant::now() < until && !done(&out) {
        match s.read(&mut buf) {
            Ok(0) => return (out, true),
            Ok(n) => {
                let mut input = &buf[..n];
                while !input.is_empty() {
                    let step = d.decode(input).expect("frames");
                    input = &input[step.consumed..];
                    if let Some(m) = step.message {
                        out.push(Repr::from_bytes(m).expect("message"));
                    }
                }
            }
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
            Err(_) => return (out, true),
        }
    }
    (out, false)
}

fn dones(rs: &[Repr]) -> usize {
    rs.iter()
        .filter(|r| r.msg_type() == MessageType::LeasequeryDone)
        .count()
}

#[test]
fn streams_two_queries_over_loopback() {
    let (running, addr, _store) = start("\"::1/128\"", 300);
    let mut s = TcpStream::connect(addr).unwrap();
    let mut both = query(1);
    both.extend(query(2));
    s.write_all(&both).unwrap();
    let (rs, _) = read_until(&mut s, |rs| dones(rs) == 2);
    assert_eq!(dones(&rs), 2);
    for xid in [1, 2] {
        let mine: Vec<&Repr> = rs
            .iter()
            .filter(|r| matches!(r, Repr::ClientServer(m) if m.transaction_id == xid))
            .collect();
        assert_eq!(mine.len(), 301, "REPLY, 299 DATA, DONE");
        assert_eq!(mine[0].msg_type(), MessageType::LeasequeryReply);
        assert_eq!(mine[1].msg_type(), MessageType::LeasequeryData);
    }
    // Half-close: the server finishes and closes.
    s.shutdown(std::net::Shutdown::Write).unwrap();
    let (_, eof) = read_until(&mut s, |_| false);
    assert!(eof);
    let deadline = Instant::now() + Duration::from_secs(5);
    while running.counters().closed(CloseReason::Finished) == 0 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(running.counters().closed(CloseReason::Finished), 1);
    assert_eq!(running.counters().bindings.get(), 600);
    running.shutdown();
}

#[test]
fn junk_closes_and_strangers_are_refused() {
    let (running, addr, _store) = start("\"2001:db8::/32\"", 1);
    let mut s = TcpStream::connect(addr).unwrap();
    let (rs, eof) = read_until(&mut s, |_| false);
    assert!(rs.is_empty() && eof, "::1 is not a requester");
    assert_eq!(running.counters().refused_not_allowed.get(), 1);
    running.shutdown();

    let (running, addr, _store) = start("\"::1/128\"", 1);
    let mut s = TcpStream::connect(addr).unwrap();
    s.write_all(&[0, 3, 1, 2, 3]).unwrap();
    let (rs, eof) = read_until(&mut s, |_| false);
    assert!(
        rs.is_empty() && eof,
        "a SOLICIT-ish frame is not bulk leasequery"
    );
    let deadline = Instant::now() + Duration::from_secs(5);
    while running.counters().closed(CloseReason::Junk) == 0 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(running.counters().closed(CloseReason::Junk), 1);
    assert_eq!(running.counters().refused_not_allowed.get(), 0);
    running.shutdown();
}

#[test]
fn options_the_lq_query_asks_for_are_in_every_client_data() {
    let (running, addr, _store) = start("\"::1/128\"", 40);
    let mut s = TcpStream::connect(addr).unwrap();
    // 23 (dns-servers) is on the link; 24 (domain-list) is too, but sensitive.
    s.write_all(&query_asking(7, &[23, 24])).unwrap();
    s.write_all(&query(8)).unwrap();
    let (rs, _) = read_until(&mut s, |rs| dones(rs) == 2);
    assert_eq!(dones(&rs), 2);
    let inner = |xid: u32| -> Vec<Vec<DhcpOption>> {
        rs.iter()
            .filter_map(|r| match r {
                Repr::ClientServer(m) if m.transaction_id == xid => {
                    m.options.iter().find_map(|o| match o {
                        DhcpOption::ClientData(i) => Some(i.clone()),
                        _ => None,
                    })
                }
                _ => None,
            })
            .collect()
    };
    let dns = DhcpOption::Other {
        code: 23,
        data: "2001:db8::53"
            .parse::<Ipv6Addr>()
            .unwrap()
            .octets()
            .to_vec(),
    };
    let asked = inner(7);
    assert_eq!(
        asked.len(),
        40,
        "one CLIENT_DATA per binding: the REPLY and 39 DATA"
    );
    for c in &asked {
        assert!(c.contains(&dns), "dns-servers in every CLIENT_DATA");
        assert!(c.iter().all(|o| o.code() != 24), "sensitive: never");
    }
    let plain = inner(8);
    assert_eq!(plain.len(), 40);
    assert!(
        plain.iter().all(|c| c.len() == 3),
        "no ORO: CLIENTID, IAADDR, CLT_TIME only"
    );
    running.shutdown();
}
