use super::run::{run, BulkConfig, BulkError};
use super::*;
use lessor_wire::framing::Encoder;

use lessor_wire::v4::{
    DhcpOption, DraftCodes, MessageType, Packet, QueryKey, Repr, BOOTREPLY, BOOTREQUEST,
};
use std::io::{Read, Write};
use std::net::Ipv4Addr;
use std::net::{SocketAddr, TcpListener};
use std::time::Duration;

const DRAFT_LEASE_DATA: u8 = DraftCodes::DEFAULT.lease_data;
/// DHCPLEASEDONE (draft default) and DHCPLEASEQUERYDONE (RFC 6926).
const DONE: u8 = DraftCodes::DEFAULT.lease_done;
/// DHCPLEASEQUERYFAIL (draft default) and DHCPLEASEQUERYSTATUS (RFC 7724).
const FAIL: u8 = DraftCodes::DEFAULT.lease_query_fail;

fn reply(xid: u32, kind: u8, status: Option<&[u8]>) -> Vec<u8> {
    let mut r = Repr {
        op: BOOTREPLY,
        xid,
        options: vec![DhcpOption::MessageType(MessageType::from(kind))],
        ..Repr::default()
    };
    if let Some(v) = status {
        r.options
            .push(DhcpOption::StatusCode(lessor_wire::v4::StatusCode::new(
                v.to_vec(),
            )));
    }
    r.to_vec()
}

fn framed(dialect: Dialect, messages: &[Vec<u8>]) -> Vec<u8> {
    let e = Encoder::new(dialect, MAX_MESSAGE_SIZE);
    let mut out = Vec::new();
    for m in messages {
        e.encode_to_vec(m, &mut out).unwrap();
    }
    out
}

/// Feeds `bytes` in pieces of `step` octets; returns the octets taken.
pub(super) fn feed<R: Rules>(
    c: &mut Counter<R>,
    d: &mut Decoder,
    bytes: &[u8],
    step: usize,
) -> Result<usize, StreamError> {
    let mut taken = 0;
    for piece in bytes.chunks(step) {
        let mut at = 0;
        while at < piece.len() && c.end().is_none() {
            at += c.receive(d, &piece[at..])?;
        }
        taken += at;
        if c.end().is_some() {
            break;
        }
    }
    Ok(taken)
}

#[test]
fn draft_stream_counts_bindings_and_stops_at_done() {
    for step in [1, 7, 4096] {
        let msgs = vec![
            reply(9, 13, None),
            reply(9, DRAFT_LEASE_DATA, None),
            reply(9, DRAFT_LEASE_DATA, None),
            reply(9, DONE, None),
        ];
        let mut bytes = framed(Dialect::Draft, &msgs);
        let len = bytes.len();
        // The start of whatever comes next is left alone.
        bytes.extend_from_slice(&framed(Dialect::Draft, &[reply(10, 13, None)]));
        let mut c = Counter::new(Dialect::Draft, 9);
        let mut d = decoder(Dialect::Draft);
        let taken = feed(&mut c, &mut d, &bytes, step).unwrap();
        assert_eq!(taken, len, "step {step}");
        assert_eq!(c.end(), Some(&End::Done));
        let n = c.counts();
        assert_eq!((n.active, n.data, n.unassigned, n.bindings()), (1, 2, 0, 3));
        assert_eq!(n.bytes, len as u64);
    }
}

#[test]
fn rfc6926_unassigned_is_a_binding_and_done_status_is_read() {
    let ok = framed(
        Dialect::Rfc6926,
        &[
            reply(1, 13, None),
            reply(1, 11, None),
            reply(1, DONE, Some(&[0])),
        ],
    );
    let mut c = Counter::new(Dialect::Rfc6926, 1);
    let mut d = decoder(Dialect::Rfc6926);
    feed(&mut c, &mut d, &ok, 100).unwrap();
    assert_eq!(c.end(), Some(&End::Done));
    assert_eq!((c.counts().active, c.counts().unassigned), (1, 1));

    let failed = framed(Dialect::Rfc6926, &[reply(1, DONE, Some(&[2, b'x']))]);
    let mut c = Counter::new(Dialect::Rfc6926, 1);
    let mut d = decoder(Dialect::Rfc6926);
    feed(&mut c, &mut d, &failed, 100).unwrap();
    assert_eq!(
        c.end(),
        Some(&End::Failed {
            kind: DONE,
            status: 2
        })
    );

    let unknown = framed(Dialect::Rfc6926, &[reply(1, 12, None)]);
    let mut c = Counter::new(Dialect::Rfc6926, 1);
    let mut d = decoder(Dialect::Rfc6926);
    feed(&mut c, &mut d, &unknown, 100).unwrap();
    assert_eq!(c.end(), Some(&End::NotFound(12)));
}

#[test]
fn draft_fail_and_not_found_end_the_query() {
    let fail = framed(Dialect::Draft, &[reply(3, FAIL, Some(&[0, 4]))]);
    let mut c = Counter::new(Dialect::Draft, 3);
    let mut d = decoder(Dialect::Draft);
    feed(&mut c, &mut d, &fail, 100).unwrap();
    assert_eq!(
        c.end(),
        Some(&End::Failed {
            kind: FAIL,
            status: 4
        })
    );

    let unassigned = framed(Dialect::Draft, &[reply(3, 11, None)]);
    let mut c = Counter::new(Dialect::Draft, 3);
    let mut d = decoder(Dialect::Draft);
    feed(&mut c, &mut d, &unassigned, 100).unwrap();
    assert_eq!(c.end(), Some(&End::NotFound(11)));
    assert_eq!(c.counts().bindings(), 0);
}

#[test]
fn bad_replies_are_errors() {
    let cases: Vec<(Vec<u8>, StreamError)> = vec![
        (reply(8, 13, None), StreamError::UnknownXid(8)),
        (reply(7, 5, None), StreamError::UnexpectedType(Some(5))),
        (
            {
                let mut m = reply(7, 13, None);
                m[0] = BOOTREQUEST;
                m
            },
            StreamError::NotReply,
        ),
    ];
    for (m, want) in cases {
        let bytes = framed(Dialect::Rfc6926, &[m]);
        let mut c = Counter::new(Dialect::Rfc6926, 7);
        let mut d = decoder(Dialect::Rfc6926);
        assert_eq!(c.receive(&mut d, &bytes), Err(want));
    }
    // Too short for a header.
    let bytes = framed(Dialect::Rfc6926, &[vec![2; 20]]);
    let mut c = Counter::new(Dialect::Rfc6926, 7);
    let mut d = decoder(Dialect::Rfc6926);
    assert!(matches!(
        c.receive(&mut d, &bytes),
        Err(StreamError::Malformed(_))
    ));
    // A zero-size frame.
    let mut c = Counter::new(Dialect::Rfc6926, 7);
    let mut d = decoder(Dialect::Rfc6926);
    assert!(matches!(
        c.receive(&mut d, &[0, 0, 1]),
        Err(StreamError::Framing(_))
    ));
}

#[test]
fn eof_before_done_is_closed() {
    let bytes = framed(Dialect::Rfc6926, &[reply(7, 13, None)]);
    let mut c = Counter::new(Dialect::Rfc6926, 7);
    let mut d = decoder(Dialect::Rfc6926);
    c.receive(&mut d, &bytes).unwrap();
    assert_eq!(c.finish(&mut d), Err(StreamError::Closed));
    // Cut inside a frame: the framing says so.
    let mut c = Counter::new(Dialect::Rfc6926, 7);
    let mut d = decoder(Dialect::Rfc6926);
    c.receive(&mut d, &bytes[..10]).unwrap();
    assert!(matches!(c.finish(&mut d), Err(StreamError::Framing(_))));
}

#[test]
fn bulk_query_types_per_dialect() {
    let key = QueryKey::RelayId(b"relay-1".to_vec());
    let g = Ipv4Addr::new(127, 0, 0, 1);
    let draft = Repr::from_bytes(&encode_bulk_query(&key, 5, g, Dialect::Draft)).unwrap();
    let rfc = Repr::from_bytes(&encode_bulk_query(&key, 5, g, Dialect::Rfc6926)).unwrap();
    assert_eq!(
        draft.option(53),
        Some(&DhcpOption::MessageType(MessageType::LeaseQuery))
    );
    assert_eq!(
        rfc.option(53),
        Some(&DhcpOption::MessageType(MessageType::BulkLeaseQuery))
    );
    for q in [&draft, &rfc] {
        assert_eq!((q.xid, q.giaddr), (5, g));
        assert!(q.option(82).is_some());
    }
}

#[test]
fn config_refuses_ip_in_rfc6926_and_zero_repeat() {
    let s: SocketAddr = "127.0.0.1:1".parse().unwrap();
    let mut c = BulkConfig::new(s, Query4::new(QueryKey::Ip(Ipv4Addr::new(198, 18, 0, 1))));
    assert!(c.validate().is_err());
    c.query.dialect = Dialect::Draft;
    assert!(c.validate().is_ok());
    c.repeat = 0;
    assert!(c.validate().is_err());
}

/// A one-connection server: reads `queries` framed queries one at a time and answers each with
/// `bindings` ACTIVE messages and a DONE, echoing the xid; then waits for EOF if `wait`, else
/// reads the next query's header (so that closing sends a FIN, not the RST a close with unread
/// data would: the test is about an early close, not a reset) and closes.
fn fake_server(dialect: Dialect, queries: u32, bindings: u32, wait: bool) -> SocketAddr {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = l.local_addr().unwrap();
    std::thread::spawn(move || {
        let (mut s, _) = l.accept().unwrap();
        let h = dialect.header_len();
        for _ in 0..queries {
            let mut head = [0u8; 4];
            s.read_exact(&mut head[..h]).unwrap();
            let len = usize::from(u16::from_be_bytes([head[0], head[1]]));
            let mut q = vec![0u8; len];
            s.read_exact(&mut q).unwrap();
            let xid = Packet::new_checked(&q[..]).unwrap().xid();
            let mut msgs = vec![reply(xid, 13, None); bindings as usize];
            msgs.push(reply(xid, DONE, None));
            s.write_all(&framed(dialect, &msgs)).unwrap();
        }
        if wait {
            let mut rest = Vec::new();
            let _ = s.read_to_end(&mut rest);
        } else {
            let mut q = vec![0u8; 65_535 + 4];
            let _ = s.set_read_timeout(Some(std::time::Duration::from_secs(5)));
            let _ = s.read(&mut q);
        }
    });
    addr
}

#[test]
fn run_counts_repeated_queries_on_one_connection() {
    for dialect in [Dialect::Draft, Dialect::Rfc6926] {
        let addr = fake_server(dialect, 3, 1000, true);
        let mut c = BulkConfig::new(addr, Query4::new(QueryKey::RelayId(b"r".to_vec())));
        c.query.dialect = dialect;
        c.repeat = 3;
        c.timeout = Duration::from_secs(5);
        let report = run(&c).unwrap();
        assert_eq!(report.queries.len(), 3);
        assert_eq!(report.total.bindings(), 3000);
        assert!(report.queries.iter().all(|q| q.counts.bindings() == 1000));
        let v = report.to_json();
        assert_eq!(v["bindings"], 3000);
        assert_eq!(v["queries"], 3);
        assert!(report.to_text().contains("3000"));
    }
}

#[test]
fn run_fails_when_the_server_closes_early() {
    // Answers only the first of two queries, then closes.
    let addr = fake_server(Dialect::Rfc6926, 1, 5, false);
    let mut c = BulkConfig::new(addr, Query4::new(QueryKey::RelayId(b"r".to_vec())));
    c.repeat = 2;
    c.timeout = Duration::from_secs(5);
    match run(&c) {
        Err(BulkError::Stream { query: 2, error }) => assert_eq!(error, StreamError::Closed),
        other => panic!("{other:?}"),
    }
}
