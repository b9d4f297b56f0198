//! DHCPv6 codec: property tests (emit/parse roundtrip, no panics on hostile input, depth limit)
//! and byte vectors built by hand from the RFC 8415 / RFC 5007 diagrams.

use std::net::Ipv6Addr;

use lessor_wire::v6::{
    self, ClientServerMessage, DhcpOption, Duid, MessageType, OptionIter, Packet, QueryType,
    RelayMessage, Repr, MAX_DEPTH,
};
use lessor_wire::Error;
use proptest::collection::vec;
use proptest::prelude::*;

// ---------------------------------------------------------------------------------------------
// Strategies. They produce only canonical Reprs (what a parse would return), so that
// emit -> parse must give back exactly the input.

fn arb_ipv6() -> impl Strategy<Value = Ipv6Addr> {
    prop_oneof![
        Just(Ipv6Addr::UNSPECIFIED),
        any::<[u8; 16]>().prop_map(Ipv6Addr::from),
    ]
}

fn arb_bytes(max: usize) -> impl Strategy<Value = Vec<u8>> {
    vec(any::<u8>(), 0..=max)
}

fn arb_duid() -> impl Strategy<Value = Duid> {
    prop_oneof![
        (any::<u16>(), any::<u32>(), arb_bytes(16)).prop_map(|(h, t, a)| Duid::Llt {
            hardware_type: h,
            time: t,
            link_layer_address: a,
        }),
        (any::<u32>(), arb_bytes(20)).prop_map(|(e, i)| Duid::En {
            enterprise_number: e,
            identifier: i,
        }),
        (any::<u16>(), arb_bytes(16)).prop_map(|(h, a)| Duid::Ll {
            hardware_type: h,
            link_layer_address: a,
        }),
        any::<[u8; 16]>().prop_map(Duid::Uuid),
        (
            any::<u16>().prop_filter("untyped DUID type", |t| !(1..=4).contains(t)),
            vec(any::<u8>(), 1..=128)
        )
            .prop_map(|(duid_type, data)| Duid::Other { duid_type, data }),
    ]
}

/// Option codes [`DhcpOption`] types; `Other` must avoid them to be canonical.
const TYPED_CODES: [u16; 21] = [
    1, 2, 3, 4, 5, 6, 9, 13, 18, 25, 26, 37, 44, 45, 46, 47, 48, 53, 100, 101, 102,
];

fn arb_untyped_code() -> impl Strategy<Value = u16> {
    any::<u16>().prop_filter("untyped option code", |c| !TYPED_CODES.contains(c))
}

fn arb_leaf_option() -> impl Strategy<Value = DhcpOption> {
    prop_oneof![
        arb_duid().prop_map(DhcpOption::ClientId),
        arb_duid().prop_map(DhcpOption::ServerId),
        arb_duid().prop_map(DhcpOption::RelayId),
        vec(any::<u16>(), 0..6).prop_map(DhcpOption::Oro),
        (any::<u16>(), arb_bytes(12))
            .prop_map(|(code, message)| DhcpOption::StatusCode { code, message }),
        arb_bytes(8).prop_map(DhcpOption::InterfaceId),
        (any::<u32>(), arb_bytes(8)).prop_map(|(e, r)| DhcpOption::RemoteId {
            enterprise_number: e,
            remote_id: r,
        }),
        any::<u32>().prop_map(DhcpOption::CltTime),
        vec(arb_ipv6(), 0..3).prop_map(DhcpOption::LqClientLink),
        any::<u32>().prop_map(DhcpOption::LqBaseTime),
        any::<u32>().prop_map(DhcpOption::LqStartTime),
        any::<u32>().prop_map(DhcpOption::LqEndTime),
        (arb_untyped_code(), arb_bytes(8))
            .prop_map(|(code, data)| DhcpOption::Other { code, data }),
    ]
}

fn arb_client_server(
    options: impl Strategy<Value = Vec<DhcpOption>>,
) -> impl Strategy<Value = Repr> {
    (
        any::<u8>().prop_filter("client/server type", |t| *t != 12 && *t != 13),
        0..=v6::MAX_TRANSACTION_ID,
        options,
    )
        .prop_map(|(t, transaction_id, options)| {
            Repr::ClientServer(ClientServerMessage {
                msg_type: MessageType::from(t),
                transaction_id,
                options,
            })
        })
}

fn arb_relay(options: impl Strategy<Value = Vec<DhcpOption>>) -> impl Strategy<Value = Repr> {
    (any::<bool>(), any::<u8>(), arb_ipv6(), arb_ipv6(), options).prop_map(
        |(forw, hop_count, link_address, peer_address, options)| {
            Repr::Relay(RelayMessage {
                msg_type: if forw {
                    MessageType::RelayForw
                } else {
                    MessageType::RelayRepl
                },
                hop_count,
                link_address,
                peer_address,
                options,
            })
        },
    )
}

/// Options with nesting: IA options in IA options, relay messages in RELAY_MSG, LQ_RELAY_DATA.
fn arb_option() -> BoxedStrategy<DhcpOption> {
    arb_leaf_option()
        .prop_recursive(4, 48, 4, |inner| {
            let opts = vec(inner, 0..4);
            let repr = prop_oneof![arb_client_server(opts.clone()), arb_relay(opts.clone())];
            prop_oneof![
                (any::<u32>(), any::<u32>(), any::<u32>(), opts.clone()).prop_map(
                    |(iaid, t1, t2, options)| DhcpOption::IaNa {
                        iaid,
                        t1,
                        t2,
                        options
                    }
                ),
                (any::<u32>(), opts.clone())
                    .prop_map(|(iaid, options)| DhcpOption::IaTa { iaid, options }),
                (arb_ipv6(), any::<u32>(), any::<u32>(), opts.clone()).prop_map(
                    |(address, preferred_lifetime, valid_lifetime, options)| DhcpOption::IaAddr {
                        address,
                        preferred_lifetime,
                        valid_lifetime,
                        options,
                    }
                ),
                (any::<u32>(), any::<u32>(), any::<u32>(), opts.clone()).prop_map(
                    |(iaid, t1, t2, options)| DhcpOption::IaPd {
                        iaid,
                        t1,
                        t2,
                        options
                    }
                ),
                (
                    any::<u32>(),
                    any::<u32>(),
                    any::<u8>(),
                    arb_ipv6(),
                    opts.clone()
                )
                    .prop_map(
                        |(preferred_lifetime, valid_lifetime, prefix_length, prefix, options)| {
                            DhcpOption::IaPrefix {
                                preferred_lifetime,
                                valid_lifetime,
                                prefix_length,
                                prefix,
                                options,
                            }
                        }
                    ),
                (any::<u8>(), arb_ipv6(), opts.clone()).prop_map(|(q, link_address, options)| {
                    DhcpOption::LqQuery {
                        query_type: QueryType::from(q),
                        link_address,
                        options,
                    }
                }),
                opts.prop_map(DhcpOption::ClientData),
                repr.clone().prop_map(|r| DhcpOption::RelayMsg(Box::new(r))),
                (arb_ipv6(), repr).prop_map(|(peer_address, r)| DhcpOption::LqRelayData {
                    peer_address,
                    relay_message: Box::new(r),
                }),
            ]
        })
        .boxed()
}

fn arb_repr() -> impl Strategy<Value = Repr> {
    let opts = vec(arb_option(), 0..5);
    prop_oneof![arb_client_server(opts.clone()), arb_relay(opts)]
}

// ---------------------------------------------------------------------------------------------
// Properties.

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn emit_then_parse_is_identity(repr in arb_repr()) {
        let len = repr.buffer_len();
        let mut buf = vec![0u8; len];
        prop_assert_eq!(repr.emit(&mut buf), Ok(len));
        prop_assert_eq!(&repr.to_vec(), &buf);
        let packet = Packet::new_checked(&buf[..]).unwrap();
        prop_assert_eq!(packet.msg_type(), repr.msg_type());
        prop_assert_eq!(Repr::parse(&packet), Ok(repr.clone()));
        prop_assert_eq!(Repr::from_bytes(&buf), Ok(repr.clone()));
        // Every shorter buffer is refused, never overrun.
        if len > 0 {
            prop_assert_eq!(repr.emit(&mut buf[..len - 1]), Err(Error::BufferTooSmall));
        }
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in vec(any::<u8>(), 0..600)) {
        let _ = Repr::from_bytes(&bytes);
        if let Ok(p) = Packet::new_checked(&bytes[..]) {
            let _ = (p.msg_type(), p.transaction_id(), p.hop_count());
            let _ = (p.link_address(), p.peer_address());
            for raw in p.options().flatten() {
                let _ = DhcpOption::parse(raw);
            }
        }
    }

    #[test]
    fn message_shaped_bytes_never_panic(
        head in prop_oneof![Just(12u8), Just(13), Just(14), Just(15), Just(1)],
        tail in vec(prop_oneof![Just(0u8), Just(9), Just(12), Just(45), Just(47), any::<u8>()], 0..600),
    ) {
        let mut bytes = vec![head];
        bytes.extend(tail);
        let _ = Repr::from_bytes(&bytes);
    }

    #[test]
    fn corrupted_valid_messages_never_panic(
        repr in arb_repr(),
        flips in vec((any::<prop::sample::Index>(), any::<u8>()), 1..8),
        cut in any::<prop::sample::Index>(),
    ) {
        let mut bytes = repr.to_vec();
        for (at, v) in flips {
            let i = at.index(bytes.len());
            bytes[i] = v;
        }
        let _ = Repr::from_bytes(&bytes);
        let cut = cut.index(bytes.len() + 1);
        let short = &bytes[..cut];
        if let Ok(parsed) = Repr::from_bytes(short) {
            // Whatever parses re-encodes to exactly the bytes it came from.
            prop_assert_eq!(parsed.to_vec(), short.to_vec());
        }
    }

    #[test]
    fn whatever_parses_reemits_exactly(bytes in vec(any::<u8>(), 0..300)) {
        if let Ok(repr) = Repr::from_bytes(&bytes) {
            prop_assert_eq!(repr.to_vec(), bytes);
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Depth limit.

fn client(options: Vec<DhcpOption>) -> Repr {
    Repr::ClientServer(ClientServerMessage {
        msg_type: MessageType::Solicit,
        transaction_id: 1,
        options,
    })
}

fn forw(inner: Repr) -> Repr {
    Repr::Relay(RelayMessage {
        msg_type: MessageType::RelayForw,
        hop_count: 0,
        link_address: Ipv6Addr::UNSPECIFIED,
        peer_address: Ipv6Addr::UNSPECIFIED,
        options: vec![DhcpOption::RelayMsg(Box::new(inner))],
    })
}

#[test]
fn depth_limit_counts_relays_and_options_together() {
    // Mix relays (one level each) and CLIENT_DATA + LQ_RELAY_DATA (two levels each) up to
    // exactly MAX_DEPTH: accepted; one relay more: TooDeep.
    let mut ok = client(vec![]);
    let mut level = 0;
    while level < MAX_DEPTH {
        ok = if level % 3 == 0 || level + 2 > MAX_DEPTH {
            level += 1;
            forw(ok)
        } else {
            level += 2;
            client(vec![DhcpOption::ClientData(vec![
                DhcpOption::LqRelayData {
                    peer_address: Ipv6Addr::LOCALHOST,
                    relay_message: Box::new(ok),
                },
            ])])
        };
    }
    assert_eq!(nesting(&ok), MAX_DEPTH);
    assert_eq!(Repr::from_bytes(&ok.to_vec()), Ok(ok.clone()));
    assert_eq!(Repr::from_bytes(&forw(ok).to_vec()), Err(Error::TooDeep));

    // Exactly MAX_DEPTH nested relays: the client message sits at level MAX_DEPTH.
    let mut chain = client(vec![]);
    for _ in 0..MAX_DEPTH {
        chain = forw(chain);
    }
    assert_eq!(nesting(&chain), MAX_DEPTH);
    assert!(Repr::from_bytes(&chain.to_vec()).is_ok());
    assert_eq!(Repr::from_bytes(&forw(chain).to_vec()), Err(Error::TooDeep));

    // The same through options only.
    let mut opt = DhcpOption::ClientData(vec![]);
    for _ in 0..MAX_DEPTH {
        opt = DhcpOption::ClientData(vec![opt]);
    }
    assert_eq!(
        Repr::from_bytes(&client(vec![opt]).to_vec()),
        Err(Error::TooDeep)
    );
}

/// Deepest nesting level of a Repr, counted the way the parser counts.
fn nesting(repr: &Repr) -> usize {
    fn opts(options: &[DhcpOption], level: usize) -> usize {
        options
            .iter()
            .map(|o| match o {
                DhcpOption::RelayMsg(r) => nesting_at(r, level + 1),
                DhcpOption::LqRelayData { relay_message, .. } => {
                    nesting_at(relay_message, level + 1)
                }
                other => other
                    .encapsulated()
                    .map_or(level, |inner| opts(inner, level + 1)),
            })
            .max()
            .unwrap_or(level)
    }
    fn nesting_at(repr: &Repr, level: usize) -> usize {
        opts(repr.options(), level)
    }
    nesting_at(repr, 0)
}

#[test]
fn hostile_deep_nesting_is_refused_without_stack_overflow() {
    // 16000 nested RELAY-FORW headers would blow the stack of a naive parser; lengths are
    // nonsense past the first levels, but the depth check must fire before they matter.
    let mut bytes = Vec::new();
    for _ in 0..2000 {
        bytes.extend([12u8, 0]);
        bytes.extend([0u8; 32]);
        bytes.extend([0, 9, 0xff, 0xff]);
    }
    let err = Repr::from_bytes(&bytes).unwrap_err();
    assert!(matches!(err, Error::TooDeep | Error::Truncated), "{err:?}");

    // A well-formed but absurdly deep chain (1000 hops, 38 octets each): exactly TooDeep.
    let mut chain = client(vec![]);
    for _ in 0..1000 {
        chain = forw(chain);
    }
    assert_eq!(Repr::from_bytes(&chain.to_vec()), Err(Error::TooDeep));
}

// ---------------------------------------------------------------------------------------------
// Byte vectors built by hand from the RFC diagrams.

fn duid_ll() -> (Duid, [u8; 10]) {
    (
        Duid::Ll {
            hardware_type: 1,
            link_layer_address: vec![0x00, 0x00, 0x5e, 0x00, 0x53, 0x01],
        },
        [0, 3, 0, 1, 0x00, 0x00, 0x5e, 0x00, 0x53, 0x01],
    )
}

fn addr(s: &str) -> Ipv6Addr {
    s.parse().unwrap()
}

#[test]
fn leasequery_by_address_with_oro() {
    let (duid, duid_bytes) = duid_ll();
    let mut bytes = vec![
        14, 0x00, 0x12, 0x34, // LEASEQUERY, transaction-id
        0, 1, 0, 10, // OPTION_CLIENTID, len 10
    ];
    bytes.extend(duid_bytes);
    #[rustfmt::skip]
    bytes.extend([
        0, 44, 0, 53,               // OPTION_LQ_QUERY, 17 + 28 + 8
        1,                          // QUERY_BY_ADDRESS
        0x20, 0x01, 0x0d, 0xb8, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, // link-address 2001:db8:1::1
        0, 5, 0, 24,                // OPTION_IAADDR
        0x20, 0x01, 0x0d, 0xb8, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0x01, 0x00, // 2001:db8:1::100
        0, 0, 0, 0,                 // preferred-lifetime
        0, 0, 0, 0,                 // valid-lifetime
        0, 6, 0, 4,                 // OPTION_ORO
        0, 46, 0, 47,               // CLT_TIME, LQ_RELAY_DATA
    ]);
    let expected = Repr::ClientServer(ClientServerMessage {
        msg_type: MessageType::Leasequery,
        transaction_id: 0x1234,
        options: vec![
            DhcpOption::ClientId(duid),
            DhcpOption::LqQuery {
                query_type: QueryType::ByAddress,
                link_address: addr("2001:db8:1::1"),
                options: vec![
                    DhcpOption::IaAddr {
                        address: addr("2001:db8:1::100"),
                        preferred_lifetime: 0,
                        valid_lifetime: 0,
                        options: vec![],
                    },
                    DhcpOption::Oro(vec![v6::OPTION_CLT_TIME, v6::OPTION_LQ_RELAY_DATA]),
                ],
            },
        ],
    });
    assert_eq!(Repr::from_bytes(&bytes), Ok(expected.clone()));
    assert_eq!(expected.to_vec(), bytes);

    // The zero-copy view sees the same structure without allocating.
    let packet = Packet::new_checked(&bytes[..]).unwrap();
    assert_eq!(packet.transaction_id(), Some(0x1234));
    let lq = packet.option(v6::OPTION_LQ_QUERY).unwrap().unwrap();
    assert_eq!(lq.data.len(), 53);
    let inner: Vec<u16> = OptionIter::new(&lq.data[17..])
        .map(|o| o.unwrap().code)
        .collect();
    assert_eq!(inner, vec![v6::OPTION_IAADDR, v6::OPTION_ORO]);
}

#[test]
fn leasequery_reply_with_client_data_and_relay_data() {
    let (client_duid, client_duid_bytes) = duid_ll();
    let mut bytes = vec![
        15, 0x00, 0x12, 0x34, // LEASEQUERY-REPLY
        0, 2, 0, 14, // OPTION_SERVERID, DUID-LLT
        0, 1, 0, 1, 0x2a, 0x2b, 0x2c, 0x2d, 0x00, 0x00, 0x5e, 0x00, 0x53, 0xfe, 0, 1, 0,
        10, // OPTION_CLIENTID (the requestor's)
    ];
    bytes.extend([0, 3, 0, 1, 0x00, 0x00, 0x5e, 0x00, 0x53, 0x99]);
    // OPTION_CLIENT_DATA: CLIENTID (14) + IAADDR (28) + CLT_TIME (8) + LQ_RELAY_DATA (4 + 16 + 42)
    bytes.extend([0, 45, 0, 112]);
    bytes.extend([0, 1, 0, 10]);
    bytes.extend(client_duid_bytes);
    #[rustfmt::skip]
    bytes.extend([
        0, 5, 0, 24,
        0x20, 0x01, 0x0d, 0xb8, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0x01, 0x00, // 2001:db8:1::100
        0, 0, 0x0e, 0x10,           // preferred 3600
        0, 0, 0x1c, 0x20,           // valid 7200
        0, 46, 0, 4, 0, 0, 0, 120,  // OPTION_CLT_TIME 120 s
        0, 47, 0, 58,               // OPTION_LQ_RELAY_DATA, 16 + 42
        0x20, 0x01, 0x0d, 0xb8, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2, // peer-address 2001:db8:1::2
        12, 0,                      // RELAY-FORW, hop-count 0
        0x20, 0x01, 0x0d, 0xb8, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, // link-address
        0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0x02, 0x00, 0x5e, 0xff, 0xfe, 0x00, 0x53, 0x01, // peer-address
        0, 18, 0, 4, b'e', b't', b'h', b'0', // OPTION_INTERFACE_ID; no RELAY_MSG (removed)
    ]);
    let relay_forw = Repr::Relay(RelayMessage {
        msg_type: MessageType::RelayForw,
        hop_count: 0,
        link_address: addr("2001:db8:1::1"),
        peer_address: addr("fe80::200:5eff:fe00:5301"),
        options: vec![DhcpOption::InterfaceId(b"eth0".to_vec())],
    });
    let expected = Repr::ClientServer(ClientServerMessage {
        msg_type: MessageType::LeasequeryReply,
        transaction_id: 0x1234,
        options: vec![
            DhcpOption::ServerId(Duid::Llt {
                hardware_type: 1,
                time: 0x2a2b_2c2d,
                link_layer_address: vec![0x00, 0x00, 0x5e, 0x00, 0x53, 0xfe],
            }),
            DhcpOption::ClientId(Duid::Ll {
                hardware_type: 1,
                link_layer_address: vec![0x00, 0x00, 0x5e, 0x00, 0x53, 0x99],
            }),
            DhcpOption::ClientData(vec![
                DhcpOption::ClientId(client_duid),
                DhcpOption::IaAddr {
                    address: addr("2001:db8:1::100"),
                    preferred_lifetime: 3600,
                    valid_lifetime: 7200,
                    options: vec![],
                },
                DhcpOption::CltTime(120),
                DhcpOption::LqRelayData {
                    peer_address: addr("2001:db8:1::2"),
                    relay_message: Box::new(relay_forw),
                },
            ]),
        ],
    });
    assert_eq!(Repr::from_bytes(&bytes), Ok(expected.clone()));
    assert_eq!(expected.to_vec(), bytes);
}

#[test]
fn two_hop_relay_chain_from_rfc_layout() {
    #[rustfmt::skip]
    let solicit = [
        1, 0xab, 0xcd, 0xef,        // SOLICIT
        0, 1, 0, 10, 0, 3, 0, 1, 0x00, 0x00, 0x5e, 0x00, 0x53, 0x01, // CLIENTID
        0, 8, 0, 2, 0, 0,           // ELAPSED_TIME
        0, 3, 0, 12, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, // IA_NA iaid 1
    ];
    let mut inner = vec![12u8, 0];
    inner.extend(addr("2001:db8:1::1").octets());
    inner.extend(addr("fe80::1").octets());
    inner.extend([0, 37, 0, 8, 0, 0, 0x11, 0x8b, 1, 2, 3, 4]); // REMOTE_ID ent 4491
    inner.extend([0, 9]);
    inner.extend((solicit.len() as u16).to_be_bytes());
    inner.extend(solicit);
    let mut outer = vec![12u8, 1];
    outer.extend(Ipv6Addr::UNSPECIFIED.octets());
    outer.extend(addr("2001:db8:ffff::1").octets());
    outer.extend([0, 53, 0, 10, 0, 3, 0, 1, 0x00, 0x00, 0x5e, 0x00, 0x53, 0xaa]); // RELAY_ID
    outer.extend([0, 9]);
    outer.extend((inner.len() as u16).to_be_bytes());
    outer.extend(&inner);

    let repr = Repr::from_bytes(&outer).unwrap();
    assert_eq!(repr.to_vec(), outer);
    let hops = repr.relay_hops();
    assert_eq!(hops.len(), 2);
    assert_eq!(hops[0].hop_count, 1);
    assert_eq!(hops[0].peer_address, addr("2001:db8:ffff::1"));
    assert!(matches!(
        hops[0].options[0],
        DhcpOption::RelayId(Duid::Ll { .. })
    ));
    assert_eq!(hops[1].link_address, addr("2001:db8:1::1"));
    assert_eq!(
        hops[1].options[0],
        DhcpOption::RemoteId {
            enterprise_number: 4491,
            remote_id: vec![1, 2, 3, 4],
        }
    );
    let client = repr.client_message().unwrap();
    assert_eq!(client.msg_type, MessageType::Solicit);
    assert_eq!(client.transaction_id, 0xabcdef);
    assert!(matches!(
        client.options[2],
        DhcpOption::IaNa { iaid: 1, ref options, .. } if options.is_empty()
    ));

    // The chain a server keeps for LQ_RELAY_DATA: same hops, innermost RELAY_MSG removed.
    let stored = repr.without_client_message().unwrap();
    assert_eq!(stored.relay_hops().len(), 2);
    let stored_bytes = stored.to_vec();
    assert_eq!(stored_bytes.len(), outer.len() - 4 - solicit.len());
}

#[test]
fn truncation_and_bad_lengths_are_typed_errors() {
    assert_eq!(Repr::from_bytes(&[]), Err(Error::Truncated));
    assert_eq!(Repr::from_bytes(&[1, 0, 0]), Err(Error::Truncated));
    assert_eq!(Repr::from_bytes(&[12; 20]), Err(Error::Truncated));
    // An option announcing more than the message holds.
    assert_eq!(
        Repr::from_bytes(&[1, 0, 0, 0, 0, 48, 0xff, 0xf0, 0, 0]),
        Err(Error::Truncated)
    );
    // A 2-octet option header fragment.
    assert_eq!(Repr::from_bytes(&[1, 0, 0, 0, 0, 1]), Err(Error::Truncated));
    // CLT_TIME of the wrong length inside CLIENT_DATA.
    assert_eq!(
        Repr::from_bytes(&[15, 0, 0, 1, 0, 45, 0, 6, 0, 46, 0, 2, 0, 0]),
        Err(Error::BadLength)
    );
}
