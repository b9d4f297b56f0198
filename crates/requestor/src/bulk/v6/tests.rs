//! The DHCPv6 bulk session fed by hand-built streams, in pieces of every size.

use std::net::Ipv6Addr;

use super::*;
use lessor_wire::framing::Encoder;
use lessor_wire::v6::{ClientServerMessage, DhcpOption, QueryType, Repr};

fn me() -> Duid {
    Duid::Uuid([5; 16])
}

fn server_id() -> Duid {
    Duid::Ll {
        hardware_type: 1,
        link_layer_address: vec![2, 0, 0, 0, 0, 0xaa],
    }
}

fn relay_key() -> QueryKey6 {
    QueryKey6::RelayId {
        duid: Duid::En {
            enterprise_number: 9,
            identifier: b"relay-1".to_vec(),
        },
        link: Ipv6Addr::UNSPECIFIED,
    }
}

fn a(n: u16) -> Ipv6Addr {
    Ipv6Addr::new(0x2001, 0xdb8, 1, 0, 0, 0, 0, n)
}

fn client(n: u16, clt: Option<u32>) -> DhcpOption {
    let mut o = vec![
        DhcpOption::ClientId(Duid::Ll {
            hardware_type: 1,
            link_layer_address: vec![0, 0x16, 0x3e, 0, 0, n as u8],
        }),
        DhcpOption::IaAddr {
            address: a(n),
            preferred_lifetime: 100,
            valid_lifetime: 200,
            options: Vec::new(),
        },
    ];
    o.extend(clt.map(DhcpOption::CltTime));
    DhcpOption::ClientData(o)
}

fn message(t: MessageType, xid: u32, options: Vec<DhcpOption>) -> Vec<u8> {
    Repr::ClientServer(ClientServerMessage {
        msg_type: t,
        transaction_id: xid,
        options,
    })
    .to_vec()
}

/// A REPLY to us (CLIENTID, SERVERID) with `extra`.
fn reply(xid: u32, extra: Vec<DhcpOption>) -> Vec<u8> {
    let mut o = vec![
        DhcpOption::ClientId(me()),
        DhcpOption::ServerId(server_id()),
    ];
    o.extend(extra);
    message(MessageType::LeasequeryReply, xid, o)
}

fn framed(messages: &[Vec<u8>]) -> Vec<u8> {
    let e = Encoder::new(Dialect::V6, MAX_MESSAGE_SIZE);
    let mut out = Vec::new();
    for m in messages {
        e.encode_to_vec(m, &mut out).unwrap();
    }
    out
}

/// Feeds `stream` in pieces of `piece` octets; every event, in order.
fn drive(
    s: &mut Session6,
    stream: &[u8],
    piece: usize,
) -> Result<Vec<Event6>, SessionError<ReplyError6>> {
    let mut events = Vec::new();
    for chunk in stream.chunks(piece) {
        let mut at = 0;
        loop {
            let (used, event) = s.receive(&chunk[at..])?;
            at += used;
            match event {
                Some(e) => events.push(e),
                None if at >= chunk.len() => break,
                None => {}
            }
        }
    }
    // Bindings of one REPLY still queued.
    while let (_, Some(e)) = s.receive(&[])? {
        events.push(e);
    }
    Ok(events)
}

#[test]
fn query_is_a_framed_leasequery_with_the_requestors_clientid() {
    let mut s = Session6::new(me(), false);
    s.query(&relay_key(), 0x123456, &[]).unwrap();
    let out = s.outgoing().to_vec();
    let len = usize::from(u16::from_be_bytes([out[0], out[1]]));
    assert_eq!(len, out.len() - 2);
    let Repr::ClientServer(m) = Repr::from_bytes(&out[2..]).unwrap() else {
        panic!("relay message")
    };
    assert_eq!(
        (m.msg_type, m.transaction_id),
        (MessageType::Leasequery, 0x123456)
    );
    assert_eq!(m.options[0], DhcpOption::ClientId(me()));
    assert!(matches!(
        m.options[1],
        DhcpOption::LqQuery {
            query_type: QueryType::ByRelayId,
            ..
        }
    ));
    s.written(out.len());
    assert!(s.outgoing().is_empty());
    assert_eq!(
        s.query(&relay_key(), 0x123456, &[]),
        Err(SubmitError::DuplicateXid(0x123456))
    );
    assert!(matches!(
        s.query(&relay_key(), 0x0100_0000, &[]),
        Err(SubmitError::Framing(_))
    ));
    assert_eq!(
        s.query(&QueryKey6::LinkAddress(Ipv6Addr::UNSPECIFIED), 9, &[]),
        Err(SubmitError::Key(KeyError6::UnspecifiedLink))
    );
}

#[test]
fn reply_data_done_in_pieces_of_every_size() {
    let stream = framed(&[
        reply(7, vec![client(1, Some(5))]),
        message(MessageType::LeasequeryData, 7, vec![client(2, Some(6))]),
        // Without CLT_TIME: dropped (RFC 5007 §4.3.3).
        message(MessageType::LeasequeryData, 7, vec![client(3, None)]),
        message(MessageType::LeasequeryData, 7, vec![client(4, Some(8))]),
        message(MessageType::LeasequeryDone, 7, vec![]),
    ]);
    for piece in 1..=stream.len() {
        let mut s = Session6::new(me(), false);
        s.query(&relay_key(), 7, &[]).unwrap();
        let events = drive(&mut s, &stream, piece).unwrap();
        let addrs: Vec<Ipv6Addr> = events
            .iter()
            .filter_map(|e| match e {
                Event6::Binding {
                    xid: 7,
                    client,
                    server_id: Some(_),
                } => Some(client.addresses[0].address),
                _ => None,
            })
            .collect();
        assert_eq!(addrs, vec![a(1), a(2), a(4)], "piece {piece}");
        assert_eq!(
            events.last(),
            Some(&Event6::Complete {
                xid: 7,
                end: End6::Done { bindings: 3 }
            })
        );
        assert!(s.is_idle());
        s.finish().unwrap();
    }
}

#[test]
fn an_empty_or_failed_reply_ends_the_query_and_a_done_after_it_is_dropped() {
    let stream = framed(&[
        reply(1, vec![]),
        message(MessageType::LeasequeryDone, 1, vec![]),
        reply(
            2,
            vec![DhcpOption::status_code(
                lessor_wire::v6::status::NOT_CONFIGURED,
                "no such link",
            )],
        ),
    ]);
    let mut s = Session6::new(me(), false);
    s.query(&relay_key(), 1, &[]).unwrap();
    s.query(&QueryKey6::LinkAddress(a(1)), 2, &[]).unwrap();
    let events = drive(&mut s, &stream, 3).unwrap();
    assert_eq!(
        events,
        vec![
            Event6::Complete {
                xid: 1,
                end: End6::Done { bindings: 0 }
            },
            Event6::Complete {
                xid: 2,
                end: End6::Failed {
                    code: 9,
                    name: "NotConfigured".into(),
                    message: "no such link".into()
                }
            },
        ]
    );
}

#[test]
fn interleaved_queries_keep_their_own_streams() {
    let stream = framed(&[
        reply(1, vec![client(1, Some(1))]),
        reply(2, vec![client(10, Some(1)), client(11, Some(1))]),
        message(MessageType::LeasequeryData, 1, vec![client(2, Some(1))]),
        message(MessageType::LeasequeryDone, 2, vec![]),
        message(MessageType::LeasequeryDone, 1, vec![]),
    ]);
    let mut s = Session6::new(me(), false);
    s.query(&relay_key(), 1, &[]).unwrap();
    s.query(&relay_key(), 2, &[]).unwrap();
    let events = drive(&mut s, &stream, 7).unwrap();
    let done: Vec<_> = events
        .iter()
        .filter_map(|e| match e {
            Event6::Complete { xid, end } => Some((*xid, end.clone())),
            _ => None,
        })
        .collect();
    assert_eq!(
        done,
        vec![
            (2, End6::Done { bindings: 2 }),
            (1, End6::Done { bindings: 2 })
        ]
    );
}

#[test]
fn protocol_violations_end_the_session() {
    type Check = fn(&SessionError<ReplyError6>) -> bool;
    let cases: Vec<(Vec<u8>, Check)> = vec![
        // DATA before REPLY.
        (
            message(MessageType::LeasequeryData, 1, vec![client(1, Some(1))]),
            |e| matches!(e, SessionError::UnexpectedType(17)),
        ),
        // A query nobody asked.
        (reply(99, vec![]), |e| {
            matches!(e, SessionError::UnknownXid(99))
        }),
        // REPLY without SERVERID (RFC 5007 §4.2.2).
        (
            message(
                MessageType::LeasequeryReply,
                1,
                vec![DhcpOption::ClientId(me())],
            ),
            |e| matches!(e, SessionError::BadReply(ReplyError6::NoServerId)),
        ),
        // REPLY to another requestor.
        (
            message(
                MessageType::LeasequeryReply,
                1,
                vec![
                    DhcpOption::ClientId(Duid::Uuid([6; 16])),
                    DhcpOption::ServerId(server_id()),
                ],
            ),
            |e| matches!(e, SessionError::BadReply(ReplyError6::ClientIdMismatch)),
        ),
        // Not a leasequery message.
        (message(MessageType::Reply, 1, vec![]), |e| {
            matches!(
                e,
                SessionError::BadReply(ReplyError6::NotLeasequeryReply(_))
            )
        }),
    ];
    for (bytes, want) in cases {
        let mut s = Session6::new(me(), false);
        s.query(&relay_key(), 1, &[]).unwrap();
        let e = drive(&mut s, &framed(&[bytes]), 5).unwrap_err();
        assert!(want(&e), "{e:?}");
        // Ended: it stays ended, nothing more is sent.
        assert_eq!(s.receive(&[]).unwrap_err(), e);
        assert_eq!(s.query(&relay_key(), 2, &[]), Err(SubmitError::Ended));
    }
    // Closed with a query outstanding.
    let mut s = Session6::new(me(), false);
    s.query(&relay_key(), 1, &[]).unwrap();
    drive(&mut s, &framed(&[reply(1, vec![client(1, Some(1))])]), 4).unwrap();
    assert_eq!(s.finish(), Err(SessionError::Closed { outstanding: 1 }));
}
