//! DHCPv6 (RFC 5460): every rule of [`Rules6`], the query, and runs against a fake server and
//! against Lessor's own bulk6 service on [::1].

use super::run::{run, BulkConfig, BulkError};
use super::tests::feed;
use super::v6::{DATA, DONE, REPLY};
use super::*;
use lessor_requestor::v6::QueryKey6;
use lessor_wire::framing::Encoder;
use lessor_wire::v6::{ClientServerMessage, DhcpOption, Duid, MessageType, Repr};
use std::io::{Read, Write};
use std::net::{Ipv6Addr, TcpListener};
use std::time::Duration;

const XID: u32 = 0x00ab_cdef;

fn relay() -> Duid {
    Duid::parse(&[0, 3, 0, 1, 2, 0, 0, 0, 0xaa, 1]).unwrap()
}

fn client(n: u16) -> DhcpOption {
    DhcpOption::ClientData(vec![
        DhcpOption::ClientId(Duid::Ll {
            hardware_type: 1,
            link_layer_address: vec![2, 0, 0, 0, 0, n as u8],
        }),
        DhcpOption::IaAddr {
            address: Ipv6Addr::new(0x2001, 0xdb8, 1, 0, 0, 0, 0, n),
            preferred_lifetime: 1800,
            valid_lifetime: 3600,
            options: Vec::new(),
        },
        DhcpOption::CltTime(60),
    ])
}

fn msg(t: MessageType, xid: u32, options: Vec<DhcpOption>) -> Vec<u8> {
    Repr::ClientServer(ClientServerMessage {
        msg_type: t,
        transaction_id: xid,
        options,
    })
    .to_vec()
}

fn reply(xid: u32, extra: Vec<DhcpOption>) -> Vec<u8> {
    let mut options = vec![
        DhcpOption::ServerId(Duid::Uuid([9; 16])),
        DhcpOption::ClientId(relay()),
    ];
    options.extend(extra);
    msg(MessageType::LeasequeryReply, xid, options)
}

fn data(xid: u32, n: u16) -> Vec<u8> {
    msg(MessageType::LeasequeryData, xid, vec![client(n)])
}

fn done(xid: u32, status: Option<u16>) -> Vec<u8> {
    let options = status
        .map(|c| vec![DhcpOption::status_code(c, "")])
        .unwrap_or_default();
    msg(MessageType::LeasequeryDone, xid, options)
}

fn framed(messages: &[Vec<u8>]) -> Vec<u8> {
    let e = Encoder::new(Dialect::V6, MAX_MESSAGE_SIZE);
    let mut out = Vec::new();
    for m in messages {
        e.encode_to_vec(m, &mut out).unwrap();
    }
    out
}

/// Counts `messages` in pieces of `step`; the counter and its result.
fn count(messages: &[Vec<u8>], step: usize) -> (Counter<Rules6>, Result<usize, StreamError>) {
    let mut c = Counter::with_rules(Rules6::new(XID));
    let mut d = decoder(Dialect::V6);
    let r = feed(&mut c, &mut d, &framed(messages), step);
    (c, r)
}

#[test]
fn message_type_numbers_are_lessor_wires() {
    for (n, t) in [
        (REPLY, MessageType::LeasequeryReply),
        (DONE, MessageType::LeasequeryDone),
        (DATA, MessageType::LeasequeryData),
    ] {
        assert_eq!(n, u8::from(t));
    }
}

#[test]
fn reply_data_done_counts_every_binding_and_stops_at_done() {
    for step in [1, 5, 4096] {
        let msgs = vec![
            reply(XID, vec![client(1)]),
            data(XID, 2),
            data(XID, 3),
            done(XID, Some(0)),
        ];
        let len = framed(&msgs).len();
        let mut bytes = framed(&msgs);
        // The start of the next query's stream is left alone.
        bytes.extend_from_slice(&framed(&[reply(XID + 1, vec![client(4)])]));
        let mut c = Counter::with_rules(Rules6::new(XID));
        let mut d = decoder(Dialect::V6);
        let taken = feed(&mut c, &mut d, &bytes, step).unwrap();
        assert_eq!(taken, len, "step {step}");
        assert_eq!(c.end(), Some(&End::Done));
        let n = c.counts();
        assert_eq!((n.active, n.data, n.unassigned, n.bindings()), (1, 2, 0, 3));
        assert_eq!(n.bytes, len as u64);
    }
    // A DONE without STATUS_CODE is a success too (RFC 5460 §5.2.2).
    let (c, r) = count(&[reply(XID, vec![client(1)]), done(XID, None)], 100);
    r.unwrap();
    assert_eq!((c.end(), c.counts().bindings()), (Some(&End::Done), 1));
}

#[test]
fn reply_without_client_data_is_not_found() {
    for status in [None, Some(0)] {
        let extra = status
            .map(|c| vec![DhcpOption::status_code(c, "")])
            .unwrap_or_default();
        let (c, r) = count(&[reply(XID, extra)], 100);
        r.unwrap();
        assert_eq!(c.end(), Some(&End::NotFound(REPLY)));
        assert_eq!(c.counts().bindings(), 0);
    }
}

#[test]
fn failure_status_ends_the_query_as_failed() {
    // A REPLY refusing the query (NotConfigured), even one that carries client data.
    for extra in [
        vec![DhcpOption::status_code(9, "no such link")],
        vec![client(1), DhcpOption::status_code(9, "")],
    ] {
        let (c, r) = count(&[reply(XID, extra)], 100);
        r.unwrap();
        assert_eq!(
            c.end(),
            Some(&End::Failed {
                kind: REPLY,
                status: 9
            })
        );
        assert_eq!(c.counts().bindings(), 0);
    }
    // A stream cut short: DONE with QueryTerminated (11).
    let (c, r) = count(&[reply(XID, vec![client(1)]), done(XID, Some(11))], 3);
    r.unwrap();
    assert_eq!(
        c.end(),
        Some(&End::Failed {
            kind: DONE,
            status: 11
        })
    );
    assert_eq!(c.counts().bindings(), 1);
    // A STATUS_CODE too short for its code: UnspecFail.
    let short = vec![REPLY, 0xab, 0xcd, 0xef, 0, 13, 0, 1, 0];
    let (c, r) = count(&[short], 100);
    r.unwrap();
    assert_eq!(
        c.end(),
        Some(&End::Failed {
            kind: REPLY,
            status: 1
        })
    );
}

#[test]
fn anything_else_is_an_error() {
    let relay_repl = {
        let mut m = vec![13u8, 0];
        m.extend_from_slice(&[0; 32]);
        m
    };
    let cases: Vec<(Vec<Vec<u8>>, StreamError)> = vec![
        // Another transaction-id.
        (
            vec![reply(XID + 1, vec![client(1)])],
            StreamError::UnknownXid(XID + 1),
        ),
        (
            vec![reply(XID, vec![client(1)]), data(7, 2)],
            StreamError::UnknownXid(7),
        ),
        // Not a bulk leasequery reply: a REPLY (7), a relay message.
        (
            vec![msg(MessageType::Reply, XID, vec![])],
            StreamError::UnexpectedType(Some(7)),
        ),
        (vec![relay_repl], StreamError::UnexpectedType(Some(13))),
        // Out of order: DATA or DONE before the REPLY, a second REPLY.
        (vec![data(XID, 1)], StreamError::UnexpectedType(Some(DATA))),
        (
            vec![done(XID, None)],
            StreamError::UnexpectedType(Some(DONE)),
        ),
        (
            vec![reply(XID, vec![client(1)]), reply(XID, vec![client(2)])],
            StreamError::UnexpectedType(Some(REPLY)),
        ),
        // Too short for the header; options running past the end.
        (
            vec![vec![REPLY, 0xab, 0xcd]],
            StreamError::Malformed(lessor_wire::Error::Truncated),
        ),
        (
            vec![vec![REPLY, 0xab, 0xcd, 0xef, 0, 45, 0, 9, 1]],
            StreamError::Malformed(lessor_wire::Error::Truncated),
        ),
    ];
    for (msgs, want) in cases {
        let (_, r) = count(&msgs, 100);
        assert_eq!(r, Err(want.clone()), "{want}");
    }
    // A zero-size frame; EOF before DONE; EOF inside a frame.
    let mut c = Counter::with_rules(Rules6::new(XID));
    let mut d = decoder(Dialect::V6);
    assert!(matches!(
        c.receive(&mut d, &[0, 0, 1]),
        Err(StreamError::Framing(_))
    ));
    let bytes = framed(&[reply(XID, vec![client(1)])]);
    let mut c = Counter::with_rules(Rules6::new(XID));
    let mut d = decoder(Dialect::V6);
    c.receive(&mut d, &bytes).unwrap();
    assert_eq!(c.finish(&mut d), Err(StreamError::Closed));
    let mut c = Counter::with_rules(Rules6::new(XID));
    let mut d = decoder(Dialect::V6);
    c.receive(&mut d, &bytes[..9]).unwrap();
    assert!(matches!(c.finish(&mut d), Err(StreamError::Framing(_))));
}

#[test]
fn query_is_lessor_bulks_leasequery_with_24_bit_xids() {
    let key = QueryKey6::RelayId {
        duid: relay(),
        link: Ipv6Addr::UNSPECIFIED,
    };
    let requestor = Duid::Uuid([7; 16]);
    let q = Query6::new(key.clone(), requestor.clone());
    let local = "[::1]:5000".parse().unwrap();
    let xid = Query6::transaction_id(0x1234_5678);
    assert_eq!(xid, 0x0034_5678);
    let bytes = q.encode(xid, local);
    assert_eq!(
        bytes,
        key.encode(xid, &requestor, None, &lessor_requestor::v6::DEFAULT_ORO6)
    );
    let Repr::ClientServer(m) = Repr::from_bytes(&bytes).unwrap() else {
        panic!("relay message")
    };
    assert_eq!(
        (m.msg_type, m.transaction_id),
        (MessageType::Leasequery, xid)
    );
    assert_eq!((q.by(), q.dialect()), ("relay-id", Dialect::V6));
    assert!(q.validate().is_ok());
    let nowhere = Query6::new(QueryKey6::LinkAddress(Ipv6Addr::UNSPECIFIED), requestor);
    assert!(nowhere.validate().is_err());
    let mut c = BulkConfig::new(local, q);
    c.repeat = 0;
    assert!(c.validate().is_err());
}

/// A one-connection DHCPv6 server on [::1]: reads `queries` framed LEASEQUERYs one at a time and
/// answers each with `bindings` bindings (a REPLY and DATA) and a DONE, in 1000-octet writes,
/// echoing the transaction-id; then waits for EOF.
fn fake_server6(queries: u32, bindings: u16) -> SocketAddr {
    let l = TcpListener::bind("[::1]:0").unwrap();
    let addr = l.local_addr().unwrap();
    std::thread::spawn(move || {
        let (mut s, _) = l.accept().unwrap();
        for _ in 0..queries {
            let mut head = [0u8; 2];
            s.read_exact(&mut head).unwrap();
            let mut q = vec![0u8; usize::from(u16::from_be_bytes(head))];
            s.read_exact(&mut q).unwrap();
            let xid = u32::from_be_bytes([0, q[1], q[2], q[3]]);
            let mut msgs = vec![reply(xid, vec![client(0)])];
            msgs.extend((1..bindings).map(|n| data(xid, n)));
            msgs.push(done(xid, Some(0)));
            for piece in framed(&msgs).chunks(1000) {
                s.write_all(piece).unwrap();
            }
        }
        let mut rest = Vec::new();
        let _ = s.read_to_end(&mut rest);
    });
    addr
}

fn config6(server: SocketAddr) -> BulkConfig<Query6> {
    let key = QueryKey6::RelayId {
        duid: relay(),
        link: Ipv6Addr::UNSPECIFIED,
    };
    let mut c = BulkConfig::new(server, Query6::new(key, Duid::Uuid([7; 16])));
    c.timeout = Duration::from_secs(10);
    c
}

#[test]
fn run_counts_repeated_v6_queries_on_one_connection() {
    let addr = fake_server6(3, 500);
    let mut c = config6(addr);
    c.repeat = 3;
    // The xids wrap within 24 bits.
    c.xid = 0x00ff_ffff;
    let report = run(&c).unwrap();
    assert_eq!(report.queries.len(), 3);
    assert_eq!(report.total.bindings(), 1500);
    assert_eq!((report.total.active, report.total.data), (3, 1497));
    let v = report.to_json();
    assert_eq!(
        (v["family"].as_str(), v["dialect"].as_str()),
        (Some("v6"), Some("v6"))
    );
    assert_eq!(v["by"], "relay-id");
    assert_eq!(v["bindings"], 1500);
    assert!(report.to_text().contains("1500 (reply 3, data 1497)"));
}

/// Lessor's own bulk6 service on [::1] with `n` bindings through one relay.
fn lessor_bulk6(n: u16) -> (lessor_server::bulk6::Running, SocketAddr) {
    use lessor_server::bulk6::{self, Params, Settings};
    use lessor_store::{Binding6, Completion, Fields6, IaType, State6, Store};
    use std::sync::Arc;
    use std::time::{SystemTime, UNIX_EPOCH};

    let text = r#"
[dhcp6]
server-duid = "00:02:00:00:ab:11:01:02:03:04"
listen = ["2001:db8::1"]

[[dhcp6.link]]
prefix = "2001:db8:1::/64"
pools = ["2001:db8:1::1000-2001:db8:1::ffff"]

[leasequery6]
requesters = ["::1/128"]

[leasequery6.bulk]
listen = ["::1"]
port = 0
# One connection per run here, each closed as the run returns: the server may not have seen the
# last close yet when the next connects (2 per requester by default).
max-connections-per-requester = 8
"#;
    let c = lessor_server::config::parse(text, "t.toml").expect("config");
    let server_id = Duid::parse(&[0, 2, 0, 0, 0xab, 0x11, 1, 2, 3, 4]).unwrap();
    let params = Params::from_config(&c, server_id).unwrap();
    let store = Arc::new(Store::in_memory());
    let t = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let relay = relay().to_vec();
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
            relay_id: Some(&relay),
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
    let running =
        bulk6::start(settings, &["[::1]:0".parse().unwrap()], store).expect("listen on [::1]");
    let addr = running.local_addrs()[0];
    (running, addr)
}

#[test]
fn run_against_lessors_bulk6_counts_every_binding() {
    let (_running, addr) = lessor_bulk6(300);
    let mut c = config6(addr);
    c.repeat = 3;
    let report = run(&c).unwrap();
    assert_eq!(report.total.bindings(), 900);
    assert!(report.queries.iter().all(|q| q.counts.bindings() == 300));
    assert_eq!((report.total.active, report.total.data), (3, 897));

    // A relay with no bindings: a REPLY without CLIENT_DATA ends the run as not found.
    let mut c = config6(addr);
    c.query.key = QueryKey6::RelayId {
        duid: Duid::Uuid([1; 16]),
        link: Ipv6Addr::UNSPECIFIED,
    };
    match run(&c) {
        Err(BulkError::NotDone { query: 1, end }) => assert_eq!(end, End::NotFound(REPLY)),
        other => panic!("{other:?}"),
    }
    // A link Lessor does not serve: NotConfigured (9).
    let mut c = config6(addr);
    c.query.key = QueryKey6::LinkAddress("2001:db8:9::1".parse().unwrap());
    match run(&c) {
        Err(BulkError::NotDone { query: 1, end }) => assert_eq!(
            end,
            End::Failed {
                kind: REPLY,
                status: 9
            }
        ),
        other => panic!("{other:?}"),
    }
}
