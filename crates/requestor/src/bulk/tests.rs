use super::*;
use crate::reply::LeaseState;
use lessor_wire::v4::{Repr, BOOTREQUEST};

const GIADDR: Ipv4Addr = Ipv4Addr::new(127, 0, 0, 1);

fn reply(xid: u32, kind: u8, ciaddr: [u8; 4], extra: Vec<DhcpOption>) -> Vec<u8> {
    let mut r = Repr {
        op: BOOTREPLY,
        xid,
        ciaddr: Ipv4Addr::from(ciaddr),
        ..Repr::default()
    };
    r.options
        .push(DhcpOption::MessageType(MessageType::from(kind)));
    r.options.extend(extra);
    r.to_vec()
}

fn frame(dialect: Dialect, message: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    Encoder::new(dialect, MAX_MESSAGE_SIZE)
        .encode_to_vec(message, &mut out)
        .unwrap();
    out
}

fn status(code: &[u8], text: &str) -> DhcpOption {
    let mut data = code.to_vec();
    data.extend_from_slice(text.as_bytes());
    DhcpOption::Other { code: 151, data }
}

/// Feeds `stream` in pieces of `chunk` octets and collects every event (stopping at an error).
fn events(
    session: &mut Session,
    stream: &[u8],
    chunk: usize,
) -> (Vec<Event>, Option<SessionError>) {
    let mut out = Vec::new();
    for piece in stream.chunks(chunk) {
        let mut input = piece;
        loop {
            match session.receive(input) {
                Ok((used, event)) => {
                    input = &input[used..];
                    match event {
                        Some(e) => out.push(e),
                        None if input.is_empty() => break,
                        None => {}
                    }
                    if input.is_empty() {
                        break;
                    }
                }
                Err(e) => return (out, Some(e)),
            }
        }
    }
    (out, None)
}

fn session(dialect: Dialect, xids: &[u32]) -> Session {
    let mut s = Session::new(dialect, DraftCodes::default());
    for &xid in xids {
        s.query(&QueryKey::RelayId(b"r1".to_vec()), xid, GIADDR, &[])
            .unwrap();
    }
    s
}

fn addresses(events: &[Event], want_xid: u32) -> Vec<Ipv4Addr> {
    events
        .iter()
        .filter_map(|e| match e {
            Event::Binding { xid, lease } if *xid == want_xid => lease.address,
            _ => None,
        })
        .collect()
}

#[test]
fn queries_are_framed_per_dialect() {
    for (dialect, header, kind) in [(Dialect::Draft, 4, 10u8), (Dialect::Rfc6926, 2, 14)] {
        let s = session(dialect, &[7]);
        let out = s.outgoing();
        let len = usize::from(u16::from_be_bytes([out[0], out[1]]));
        assert_eq!(out.len(), header + len);
        let p = Packet::new_checked(&out[header..]).unwrap();
        assert_eq!(p.op(), BOOTREQUEST);
        assert_eq!(p.xid(), 7);
        assert_eq!(p.giaddr(), GIADDR);
        assert_eq!(p.message_type().unwrap().map(u8::from), Some(kind));
        if dialect == Dialect::Draft {
            assert_eq!(&out[2..4], &[0, 0]);
        }
    }
}

#[test]
fn query_times_go_in_rfc6926_only() {
    let key = QueryKey::RelayId(b"r".to_vec());
    let times = TimeRange {
        start: Some(100),
        end: Some(200),
    };
    let mut s = Session::new(Dialect::Rfc6926, DraftCodes::default());
    s.query_in(&key, 7, GIADDR, &[], times).unwrap();
    let p = Packet::new_checked(&s.outgoing()[2..]).unwrap();
    assert_eq!(p.query_start_time().unwrap(), Some(100));
    assert_eq!(p.query_end_time().unwrap(), Some(200));
    let repr = Repr::from_bytes(&s.outgoing()[2..]).unwrap();
    assert!(
        matches!(
            repr.options.last(),
            Some(DhcpOption::RelayAgentInformation(_))
        ),
        "option 82, the key, stays last: {:?}",
        repr.options
    );

    let only_start = TimeRange {
        start: Some(5),
        end: None,
    };
    let mut s = Session::new(Dialect::Rfc6926, DraftCodes::default());
    s.query_in(&key, 8, GIADDR, &[], only_start).unwrap();
    let p = Packet::new_checked(&s.outgoing()[2..]).unwrap();
    assert_eq!(p.query_start_time().unwrap(), Some(5));
    assert_eq!(p.query_end_time().unwrap(), None);

    let mut d = Session::new(Dialect::Draft, DraftCodes::default());
    assert_eq!(
        d.query_in(&key, 7, GIADDR, &[], times),
        Err(SubmitError::TimesNotInDialect)
    );
    assert!(d.outgoing().is_empty() && d.is_idle());
    let reversed = TimeRange {
        start: Some(300),
        end: Some(200),
    };
    let mut s = Session::new(Dialect::Rfc6926, DraftCodes::default());
    assert_eq!(
        s.query_in(&key, 7, GIADDR, &[], reversed),
        Err(SubmitError::TimesReversed)
    );
}

#[test]
fn draft_full_stream_byte_by_byte() {
    let d = Dialect::Draft;
    let mut s = session(d, &[2]);
    let mut stream = frame(
        d,
        &reply(
            2,
            13,
            [10, 0, 0, 1],
            vec![DhcpOption::ServerIdentifier(GIADDR)],
        ),
    );
    stream.extend(frame(d, &reply(2, 19, [10, 0, 0, 2], vec![])));
    stream.extend(frame(d, &reply(2, 19, [10, 0, 0, 3], vec![])));
    stream.extend(frame(d, &reply(2, 15, [0; 4], vec![])));
    for chunk in [1, 3, 7, 1000] {
        let mut s2 = session(d, &[2]);
        let (ev, err) = events(&mut s2, &stream, chunk);
        assert_eq!(err, None);
        assert_eq!(addresses(&ev, 2).len(), 3, "chunk {chunk}");
    }
    let (ev, err) = events(&mut s, &stream, 1);
    assert_eq!(err, None);
    assert_eq!(
        addresses(&ev, 2),
        [
            Ipv4Addr::new(10, 0, 0, 1),
            Ipv4Addr::new(10, 0, 0, 2),
            Ipv4Addr::new(10, 0, 0, 3)
        ]
    );
    match &ev[0] {
        Event::Binding { lease, .. } => {
            assert_eq!(lease.state, LeaseState::Active);
            assert_eq!(lease.server_id, Some(GIADDR));
        }
        e => panic!("{e:?}"),
    }
    assert_eq!(
        ev.last(),
        Some(&Event::Complete {
            xid: 2,
            end: End::Done { bindings: 3 }
        })
    );
    assert!(s.is_idle());
    assert_eq!(s.finish(), Ok(()));
}

#[test]
fn rfc6926_full_stream_and_empty_done() {
    let d = Dialect::Rfc6926;
    let mut s = session(d, &[5, 6]);
    let mut stream = Vec::new();
    for i in 1..=4 {
        stream.extend(frame(d, &reply(5, 13, [10, 0, 0, i], vec![])));
    }
    stream.extend(frame(
        d,
        &reply(5, 15, [0; 4], vec![DhcpOption::BaseTime(1)]),
    ));
    stream.extend(frame(d, &reply(6, 15, [0; 4], vec![])));
    let (ev, err) = events(&mut s, &stream, 5);
    assert_eq!(err, None);
    assert_eq!(addresses(&ev, 5).len(), 4);
    assert!(ev.contains(&Event::Complete {
        xid: 5,
        end: End::Done { bindings: 4 }
    }));
    assert!(ev.contains(&Event::Complete {
        xid: 6,
        end: End::Done { bindings: 0 }
    }));
    assert!(s.is_idle());
}

#[test]
fn interleaved_replies_are_matched_by_xid() {
    // Draft §8.6.1's example: queries 3 and 4 overlap.
    for d in [Dialect::Draft, Dialect::Rfc6926] {
        let data = if d == Dialect::Draft { 19 } else { 13 };
        let mut s = session(d, &[3, 4]);
        let mut stream = Vec::new();
        for (xid, kind, last) in [
            (4, 13, 1),
            (4, data, 2),
            (3, 13, 1),
            (4, data, 3),
            (3, data, 2),
            (3, 15, 0),
            (4, data, 4),
            (4, 15, 0),
        ] {
            stream.extend(frame(
                d,
                &reply(xid, kind, [10, 0, xid as u8, last], vec![]),
            ));
        }
        let (ev, err) = events(&mut s, &stream, 1000);
        assert_eq!(err, None);
        assert_eq!(addresses(&ev, 3).len(), 2);
        assert_eq!(addresses(&ev, 4).len(), 4);
        assert!(addresses(&ev, 4).iter().all(|a| a.octets()[2] == 4));
        assert!(ev.contains(&Event::Complete {
            xid: 3,
            end: End::Done { bindings: 2 }
        }));
        assert!(s.is_idle());
    }
}

#[test]
fn unknown_xid_closes_the_session() {
    for d in [Dialect::Draft, Dialect::Rfc6926] {
        let mut s = session(d, &[1]);
        let mut stream = frame(d, &reply(1, 13, [10, 0, 0, 1], vec![]));
        stream.extend(frame(d, &reply(99, 13, [10, 0, 0, 2], vec![])));
        stream.extend(frame(d, &reply(1, 15, [0; 4], vec![])));
        let (ev, err) = events(&mut s, &stream, 1000);
        assert_eq!(ev.len(), 1);
        assert_eq!(err, Some(SessionError::UnknownXid(99)));
        assert_eq!(s.error(), Some(&SessionError::UnknownXid(99)));
        assert!(s.receive(&[0]).is_err());
        assert_eq!(
            s.query(&QueryKey::Ip(Ipv4Addr::new(10, 0, 0, 1)), 2, GIADDR, &[]),
            Err(SubmitError::Ended)
        );
        // A DONE after completion is an unknown xid too.
        let mut s = session(d, &[1]);
        let mut stream = frame(d, &reply(1, 15, [0; 4], vec![]));
        stream.extend(frame(d, &reply(1, 15, [0; 4], vec![])));
        let (_, err) = events(&mut s, &stream, 1000);
        assert_eq!(err, Some(SessionError::UnknownXid(1)));
    }
}

#[test]
fn failure_status_is_decoded_per_dialect() {
    let mut s = session(Dialect::Draft, &[1]);
    let stream = frame(
        Dialect::Draft,
        &reply(1, 17, [0; 4], vec![status(&[0, 2], "no such query")]),
    );
    let (ev, err) = events(&mut s, &stream, 1000);
    assert_eq!(err, None);
    let Event::Complete {
        xid: 1,
        end: End::Failed(st),
    } = &ev[0]
    else {
        panic!("{ev:?}")
    };
    assert_eq!((st.code, st.name.as_str()), (2, "UnknownQueryType"));
    assert_eq!(st.text, "no such query");
    assert_eq!(st.to_string(), "UnknownQueryType (2): no such query");

    let mut s = session(Dialect::Rfc6926, &[1]);
    let stream = frame(
        Dialect::Rfc6926,
        &reply(1, 17, [0; 4], vec![status(&[2], "shutdown")]),
    );
    let (ev, _) = events(&mut s, &stream, 1000);
    assert_eq!(
        ev,
        [Event::Complete {
            xid: 1,
            end: End::Failed(Status {
                code: 2,
                name: "QueryTerminated".into(),
                text: "shutdown".into()
            })
        }]
    );
    assert!(s.is_idle());

    // RFC 6926 §6.2.2: a DHCPLEASEQUERYDONE with a failure status-code fails the query.
    let mut s = session(Dialect::Rfc6926, &[3]);
    let stream = frame(
        Dialect::Rfc6926,
        &reply(3, 15, [0; 4], vec![status(&[4], "not offered")]),
    );
    let (ev, _) = events(&mut s, &stream, 1000);
    assert!(
        matches!(
            &ev[..],
            [Event::Complete {
                xid: 3,
                end: End::Failed(Status { code: 4, .. })
            }]
        ),
        "{ev:?}"
    );
    // ... and one with Success (text only) is a plain end.
    let mut s = session(Dialect::Rfc6926, &[4]);
    let stream = frame(
        Dialect::Rfc6926,
        &reply(4, 15, [0; 4], vec![status(&[0], "all there")]),
    );
    let (ev, _) = events(&mut s, &stream, 1000);
    assert_eq!(
        ev,
        [Event::Complete {
            xid: 4,
            end: End::Done { bindings: 0 }
        }]
    );

    // Draft codes are configurable.
    let codes = DraftCodes {
        lease_data: 200,
        lease_done: 201,
        lease_query_fail: 202,
        status_code_option: 220,
    };
    let mut s = Session::new(Dialect::Draft, codes);
    s.query(&QueryKey::RemoteId(b"x".to_vec()), 1, GIADDR, &[])
        .unwrap();
    let mut stream = frame(Dialect::Draft, &reply(1, 13, [10, 0, 0, 1], vec![]));
    stream.extend(frame(Dialect::Draft, &reply(1, 200, [10, 0, 0, 2], vec![])));
    stream.extend(frame(
        Dialect::Draft,
        &reply(
            1,
            202,
            [0; 4],
            vec![DhcpOption::Other {
                code: 220,
                data: vec![0, 4],
            }],
        ),
    ));
    let (ev, err) = events(&mut s, &stream, 1000);
    assert_eq!(err, None);
    assert_eq!(addresses(&ev, 1).len(), 2);
    assert!(matches!(
        &ev[2],
        Event::Complete {
            end: End::Failed(Status { code: 4, .. }),
            ..
        }
    ));
}

#[test]
fn single_unassigned_or_unknown_ends_the_query() {
    for (d, kind) in [
        (Dialect::Draft, 11),
        (Dialect::Draft, 12),
        (Dialect::Rfc6926, 12),
    ] {
        let mut s = session(d, &[1, 2]);
        let stream = frame(d, &reply(1, kind, [10, 0, 0, 9], vec![]));
        let (ev, err) = events(&mut s, &stream, 1000);
        assert_eq!(err, None);
        let [Event::Complete {
            xid: 1,
            end: End::NotFound(lease),
        }] = &ev[..]
        else {
            panic!("{ev:?}")
        };
        assert_eq!(u8::from(MessageType::from(kind)), kind);
        assert!(!lease.is_found());
        assert_eq!(s.outstanding().collect::<Vec<_>>(), [2]);
    }
    // rfc6926: an UNASSIGNED is a binding of a catch-up query; DONE ends it.
    let d = Dialect::Rfc6926;
    let mut s = session(d, &[1]);
    let mut stream = frame(d, &reply(1, 11, [10, 0, 0, 9], vec![]));
    stream.extend(frame(d, &reply(1, 15, [0; 4], vec![])));
    let (ev, _) = events(&mut s, &stream, 1000);
    assert!(
        matches!(&ev[0], Event::Binding { lease, .. } if lease.state == LeaseState::Unassigned)
    );
    assert_eq!(
        ev[1],
        Event::Complete {
            xid: 1,
            end: End::Done { bindings: 1 }
        }
    );
}

#[test]
fn partial_frames_and_eof() {
    let d = Dialect::Rfc6926;
    let mut s = session(d, &[1]);
    let stream = frame(d, &reply(1, 13, [10, 0, 0, 1], vec![]));
    let (head, _) = stream.split_at(stream.len() - 1);
    let (ev, err) = events(&mut s, head, 2);
    assert!(ev.is_empty() && err.is_none());
    // The peer closes in mid-frame.
    assert!(matches!(s.finish(), Err(SessionError::Framing(_))));

    // Closed between frames with the query outstanding.
    let mut s = session(d, &[1]);
    let (ev, _) = events(&mut s, &stream, 1000);
    assert_eq!(ev.len(), 1);
    assert_eq!(s.finish(), Err(SessionError::Closed { outstanding: 1 }));

    // Framing errors: an empty frame.
    let mut s = session(Dialect::Draft, &[1]);
    assert!(matches!(
        s.receive(&[0, 0, 0, 0]),
        Err(SessionError::Framing(_))
    ));
}

#[test]
fn bad_replies_close() {
    let d = Dialect::Rfc6926;
    // A BOOTREQUEST.
    let mut s = session(d, &[1]);
    let mut r = Repr {
        op: BOOTREQUEST,
        xid: 1,
        ..Repr::default()
    };
    r.options
        .push(DhcpOption::MessageType(MessageType::LeaseActive));
    let (_, err) = events(&mut s, &frame(d, &r.to_vec()), 1000);
    assert_eq!(err, Some(SessionError::BadReply(ReplyError::NotReply)));
    // A DHCPLEASEDATA in the rfc6926 dialect.
    let mut s = session(d, &[1]);
    let (_, err) = events(&mut s, &frame(d, &reply(1, 19, [0; 4], vec![])), 1000);
    assert_eq!(err, Some(SessionError::UnexpectedType(19)));
    // Duplicate xid and bad keys are refused before sending.
    let mut s = session(d, &[1]);
    assert_eq!(
        s.query(&QueryKey::RelayId(vec![1]), 1, GIADDR, &[]),
        Err(SubmitError::DuplicateXid(1))
    );
    assert_eq!(
        s.query(&QueryKey::RelayId(vec![]), 2, GIADDR, &[]),
        Err(SubmitError::Key(KeyError::Empty))
    );
    let before = s.outgoing().len();
    s.written(before);
    assert!(s.outgoing().is_empty());
}
