//! DHCPv6 leasequery (RFC 5007) for `perf leasequery`: the LEASEQUERY written once with the
//! transaction-id and the QUERY_BY_ADDRESS address patched per query ([`QueryEncoder6`]), and
//! the answer read from the LEASEQUERY-REPLY's top-level options ([`classify6`]).
//!
//! A query is what `lessor query` sends to a unicast server ([`QueryKey6::encode`]): CLIENTID
//! (the requestor's DUID), no SERVERID (ISC dhcpd 4.4.3 discards a LEASEQUERY carrying one),
//! and an LQ_QUERY without an ORO, so the server returns its default client data, as the DHCPv4
//! queries carry no Parameter Request List.

use std::net::Ipv6Addr;

use lessor_requestor::QueryKey6;
use lessor_wire::v6::{
    status, Duid, MessageType, Packet, HEADER_LEN, OPTION_CLIENT_DATA, OPTION_HEADER_LEN,
    OPTION_LQ_CLIENT_LINK, OPTION_STATUS_CODE,
};

use super::{set, Answer, Family, Keys6, Order, Picker};

/// The requestor's CLIENTID when none is given: a DUID-LL (type 3, hardware type 1) of
/// 00:00:5e:00:53:01, a MAC address reserved for documentation (RFC 7042 §2.1.2).
pub const REQUESTOR_DUID: [u8; 10] = [0, 3, 0, 1, 0x00, 0x00, 0x5e, 0x00, 0x53, 0x01];

/// [`REQUESTOR_DUID`] as a [`Duid`].
pub fn requestor_duid() -> Duid {
    Duid::Ll {
        hardware_type: 1,
        link_layer_address: REQUESTOR_DUID[4..].to_vec(),
    }
}

/// Offset of the transaction-id (3 octets after msg-type, RFC 8415 §8).
const XID_AT: usize = 1;

/// Builds the DHCPv6 queries of a run: a QUERY_BY_ADDRESS is laid out once and only the
/// transaction-id and the IAADDR's address change between queries; a list's keys are each
/// encoded once, up front.
#[derive(Debug, Clone)]
pub struct QueryEncoder6 {
    keys: Keys6,
    picker: Picker,
    /// The encoded QUERY_BY_ADDRESS for `::` with transaction-id 0 (only for `Keys::Range`).
    template: Vec<u8>,
    /// Where the IAADDR's address is in `template`.
    address_at: usize,
    /// Each key of a `Keys::List` encoded with transaction-id 0.
    encoded: Vec<Vec<u8>>,
}

impl QueryEncoder6 {
    /// An encoder for these keys, asked as `requestor` (CLIENTID). `link` is the link-address
    /// of the queries of a range; a list's keys carry their own.
    pub fn new(requestor: &Duid, link: Ipv6Addr, keys: Keys6, order: Order) -> QueryEncoder6 {
        let (template, encoded) = match &keys {
            Keys6::Range { .. } => {
                let key = QueryKey6::Address {
                    address: Ipv6Addr::UNSPECIFIED,
                    link,
                };
                (encode_query6(&key, 0, requestor), Vec::new())
            }
            Keys6::List(list) => (
                Vec::new(),
                list.iter()
                    .map(|k| encode_query6(k, 0, requestor))
                    .collect(),
            ),
        };
        // msg-type and transaction-id, CLIENTID, the LQ_QUERY's header, query-type and
        // link-address, the IAADDR's header (RFC 8415 §21.2, §21.6; RFC 5007 §4.1.2.1).
        let address_at = HEADER_LEN
            + OPTION_HEADER_LEN
            + requestor.buffer_len()
            + OPTION_HEADER_LEN
            + 1
            + 16
            + OPTION_HEADER_LEN;
        QueryEncoder6 {
            keys,
            picker: Picker::new(order),
            template,
            address_at,
            encoded,
        }
    }
}

impl Family for QueryEncoder6 {
    const XID_MASK: u32 = 0x00ff_ffff;

    fn next_into(&mut self, xid: u32, buf: &mut Vec<u8>) {
        let i = self.picker.pick(self.keys.len());
        buf.clear();
        match self.keys.address(i) {
            Some(addr) => {
                buf.extend_from_slice(&self.template);
                set(buf, self.address_at, &addr.octets());
            }
            None => {
                if let Some(q) = usize::try_from(i).ok().and_then(|i| self.encoded.get(i)) {
                    buf.extend_from_slice(q);
                }
            }
        }
        let [_, id @ ..] = (xid & Self::XID_MASK).to_be_bytes();
        set(buf, XID_AT, &id);
    }

    fn classify(datagram: &[u8]) -> Option<(u32, Answer)> {
        classify6(datagram)
    }
}

/// The LEASEQUERY asking `key` (RFC 5007 §4.1.1) as `requestor`, without SERVERID or ORO.
pub fn encode_query6(key: &QueryKey6, transaction_id: u32, requestor: &Duid) -> Vec<u8> {
    key.encode(transaction_id, requestor, None, &[])
}

/// Reads the transaction-id and the answer of a reply from its top-level options only
/// (CLIENT_DATA, CLIENT_LINK, STATUS_CODE), without decoding the client data. `None` for a
/// datagram that is not a server's reply (a LEASEQUERY echoed back, a relay message, garbage)
/// or whose options do not parse.
pub fn classify6(datagram: &[u8]) -> Option<(u32, Answer)> {
    let packet = Packet::new_checked(datagram).ok()?;
    let kind = packet.msg_type();
    // Relay messages have no transaction-id.
    let xid = packet.transaction_id()?;
    match kind {
        MessageType::LeasequeryReply => {}
        MessageType::Advertise
        | MessageType::Reply
        | MessageType::Reconfigure
        | MessageType::LeasequeryData
        | MessageType::LeasequeryDone => return Some((xid, Answer::Other(Some(u8::from(kind))))),
        _ => return None,
    }
    let (mut client_data, mut client_link, mut code) = (false, false, status::SUCCESS);
    for option in packet.options() {
        let option = option.ok()?;
        match option.code {
            OPTION_CLIENT_DATA => client_data = true,
            OPTION_LQ_CLIENT_LINK => client_link = true,
            OPTION_STATUS_CODE => code = u16::from_be_bytes(*option.data.first_chunk::<2>()?),
            _ => {}
        }
    }
    let answer = if client_data {
        Answer::Active
    } else if code != status::SUCCESS {
        Answer::Status(code)
    } else if client_link {
        Answer::ClientLink
    } else {
        Answer::Unknown
    };
    Some((xid, answer))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::leasequery::Keys;
    use lessor_wire::v6::{ClientServerMessage, DhcpOption, QueryType, Repr};

    fn requestor() -> Duid {
        let d = requestor_duid();
        assert_eq!(d.to_vec(), REQUESTOR_DUID);
        d
    }

    fn a(s: &str) -> Ipv6Addr {
        s.parse().unwrap()
    }

    fn parse(bytes: &[u8]) -> ClientServerMessage {
        match Repr::from_bytes(bytes).unwrap() {
            Repr::ClientServer(m) => m,
            other => panic!("{other:?}"),
        }
    }

    /// The QUERY_BY_ADDRESS address of a LEASEQUERY.
    fn asked(m: &ClientServerMessage) -> Ipv6Addr {
        let lq = m
            .options
            .iter()
            .find_map(|o| match o {
                DhcpOption::LqQuery {
                    query_type: QueryType::ByAddress,
                    options,
                    ..
                } => Some(options),
                _ => None,
            })
            .expect("an LQ_QUERY by address");
        match lq.as_slice() {
            [DhcpOption::IaAddr { address, .. }] => *address,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_query_by_address_is_what_lessor_query_sends() {
        let key = QueryKey6::Address {
            address: a("2001:db8:1::1000"),
            link: a("2001:db8:1::"),
        };
        let bytes = encode_query6(&key, 0xab_cdef, &requestor());
        let m = parse(&bytes);
        assert_eq!(m.msg_type, MessageType::Leasequery);
        assert_eq!(m.transaction_id, 0xab_cdef);
        assert_eq!(m.options[0], DhcpOption::ClientId(requestor()));
        assert_eq!(m.options.len(), 2, "no SERVERID");
        assert_eq!(
            m.options[1],
            DhcpOption::LqQuery {
                query_type: QueryType::ByAddress,
                link_address: a("2001:db8:1::"),
                options: vec![DhcpOption::IaAddr {
                    address: a("2001:db8:1::1000"),
                    preferred_lifetime: 0,
                    valid_lifetime: 0,
                    options: Vec::new(),
                }],
            },
            "no ORO"
        );
    }

    #[test]
    fn encoder_patches_transaction_id_and_address() {
        let link = a("2001:db8:1::");
        let keys = Keys::Range {
            first: a("2001:db8:1::fffe"),
            last: a("2001:db8:1::1:0"),
        };
        for duid in [
            requestor(),
            Duid::parse(&[0, 4, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16]).unwrap(),
        ] {
            let mut enc = QueryEncoder6::new(&duid, link, keys.clone(), Order::Sequential);
            let mut buf = Vec::new();
            let mut seen = Vec::new();
            for xid in [0, 1, 0x00ff_ffff, 0x0123_4567] {
                enc.next_into(xid, &mut buf);
                let m = parse(&buf);
                assert_eq!(m.transaction_id, xid & 0x00ff_ffff);
                let key = QueryKey6::Address {
                    address: asked(&m),
                    link,
                };
                assert_eq!(buf, encode_query6(&key, xid & 0x00ff_ffff, &duid));
                seen.push(asked(&m));
            }
            assert_eq!(
                seen,
                [
                    a("2001:db8:1::fffe"),
                    a("2001:db8:1::ffff"),
                    a("2001:db8:1::1:0"),
                    a("2001:db8:1::fffe")
                ]
            );
        }
    }

    #[test]
    fn encoder_of_a_list_of_client_ids() {
        let link = Ipv6Addr::UNSPECIFIED;
        let list: Vec<QueryKey6> = (1..=3u8)
            .map(|n| QueryKey6::ClientId {
                duid: Duid::parse(&[0, 3, 0, 1, 2, 0, 0, 0, 0, n]).unwrap(),
                link,
            })
            .collect();
        let mut enc = QueryEncoder6::new(
            &requestor(),
            link,
            Keys::List(list.clone()),
            Order::Random(9),
        );
        let mut buf = Vec::new();
        let mut picked = std::collections::HashSet::new();
        for xid in 0..64 {
            enc.next_into(xid, &mut buf);
            let m = parse(&buf);
            let key = m
                .options
                .iter()
                .find_map(|o| match o {
                    DhcpOption::LqQuery {
                        query_type: QueryType::ByClientId,
                        options,
                        ..
                    } => match options.as_slice() {
                        [DhcpOption::ClientId(d)] => Some(QueryKey6::ClientId {
                            duid: d.clone(),
                            link,
                        }),
                        _ => None,
                    },
                    _ => None,
                })
                .unwrap();
            assert!(list.contains(&key));
            assert_eq!(buf, encode_query6(&key, xid, &requestor()));
            picked.insert(key);
        }
        assert_eq!(picked.len(), 3);
    }

    fn reply(kind: MessageType, xid: u32, options: Vec<DhcpOption>) -> Vec<u8> {
        Repr::ClientServer(ClientServerMessage {
            msg_type: kind,
            transaction_id: xid,
            options,
        })
        .to_vec()
    }

    fn status(code: u16) -> DhcpOption {
        DhcpOption::StatusCode {
            code,
            message: b"x".to_vec(),
        }
    }

    #[test]
    fn classifies_replies() {
        let r = MessageType::LeasequeryReply;
        let data = DhcpOption::ClientData(vec![DhcpOption::ClientId(requestor())]);
        assert_eq!(
            classify6(&reply(
                r,
                0xff_ffff,
                vec![DhcpOption::ServerId(requestor()), data.clone()]
            )),
            Some((0xff_ffff, Answer::Active))
        );
        assert_eq!(classify6(&reply(r, 7, vec![])), Some((7, Answer::Unknown)));
        assert_eq!(
            classify6(&reply(r, 7, vec![status(status::SUCCESS)])),
            Some((7, Answer::Unknown))
        );
        assert_eq!(
            classify6(&reply(r, 8, vec![status(status::NOT_CONFIGURED)])),
            Some((8, Answer::Status(status::NOT_CONFIGURED)))
        );
        assert_eq!(
            classify6(&reply(
                r,
                9,
                vec![DhcpOption::LqClientLink(vec![a("2001:db8:1::")])]
            )),
            Some((9, Answer::ClientLink))
        );
        assert_eq!(
            classify6(&reply(MessageType::Reply, 3, vec![])),
            Some((3, Answer::Other(Some(7))))
        );
        // A LEASEQUERY echoed back, a relay message, a cut option, garbage: not replies.
        let q = encode_query6(
            &QueryKey6::Address {
                address: a("2001:db8:1::1"),
                link: Ipv6Addr::UNSPECIFIED,
            },
            1,
            &requestor(),
        );
        assert_eq!(classify6(&q), None);
        let mut relay = vec![13, 0];
        relay.extend_from_slice(&[0; 32]);
        assert_eq!(classify6(&relay), None);
        let mut cut = reply(r, 5, vec![data]);
        cut.truncate(cut.len() - 1);
        assert_eq!(classify6(&cut), None);
        assert_eq!(classify6(&[15, 0, 0]), None);
        assert_eq!(classify6(&[]), None);
        let short_status = [15, 0, 0, 1, 0, 13, 0, 1, 0];
        assert_eq!(classify6(&short_status), None);
    }
}
