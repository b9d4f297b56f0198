//! DHCPv4 leasequery (RFC 4388) for `perf leasequery`: the DHCPLEASEQUERY written once per key
//! kind with xid and ciaddr patched per query ([`QueryEncoder`]), and the answer read from the
//! reply's option 53 ([`classify`]).

use std::net::Ipv4Addr;

use lessor_wire::v4::{code, MessageType, Packet, QueryKey, BOOTREPLY, HEADER_LEN};

use super::{set, Answer, Family, Keys4, Order, Picker};

/// Queries are padded to the BOOTP minimum, as relays and clients send them.
pub const MIN_QUERY_LEN: usize = 300;
/// Offset of `xid` and `ciaddr` in the fixed header (RFC 2131 §2).
const XID_AT: usize = 4;
const CIADDR_AT: usize = 12;

/// Builds the DHCPv4 queries of a run: a query by IP is laid out once and only `xid` and
/// `ciaddr` change between queries; a list's keys are each encoded once, up front.
#[derive(Debug, Clone)]
pub struct QueryEncoder {
    keys: Keys4,
    picker: Picker,
    /// The encoded query by IP with xid and ciaddr 0 (only for `Keys::Range`).
    template: Vec<u8>,
    /// Each key of a `Keys::List` encoded with xid 0.
    encoded: Vec<Vec<u8>>,
}

impl QueryEncoder {
    /// An encoder for these keys, with `giaddr` in every query.
    pub fn new(giaddr: Ipv4Addr, keys: Keys4, order: Order) -> QueryEncoder {
        let (template, encoded) = match &keys {
            Keys4::Range { .. } => (
                encode_query(&QueryKey::Ip(Ipv4Addr::UNSPECIFIED), 0, giaddr),
                Vec::new(),
            ),
            Keys4::List(list) => (
                Vec::new(),
                list.iter().map(|k| encode_query(k, 0, giaddr)).collect(),
            ),
        };
        QueryEncoder {
            keys,
            picker: Picker::new(order),
            template,
            encoded,
        }
    }
}

impl Family for QueryEncoder {
    const XID_MASK: u32 = u32::MAX;

    fn next_into(&mut self, xid: u32, buf: &mut Vec<u8>) {
        let i = self.picker.pick(self.keys.len());
        buf.clear();
        match self.keys.address(i) {
            Some(addr) => {
                buf.extend_from_slice(&self.template);
                set(buf, CIADDR_AT, &addr.octets());
            }
            None => {
                if let Some(q) = usize::try_from(i).ok().and_then(|i| self.encoded.get(i)) {
                    buf.extend_from_slice(q);
                }
            }
        }
        set(buf, XID_AT, &xid.to_be_bytes());
    }

    fn classify(datagram: &[u8]) -> Option<(u32, Answer)> {
        classify(datagram)
    }
}

/// A DHCPLEASEQUERY for `key` (RFC 4388 §6.1), as [`QueryKey::to_repr`] builds it, without a
/// Parameter Request List: the server returns what a DHCPREQUEST would have been given. Padded
/// with zeros to 300 octets.
pub fn encode_query(key: &QueryKey, xid: u32, giaddr: Ipv4Addr) -> Vec<u8> {
    let mut bytes = key.encode(xid, giaddr, &[]);
    if bytes.len() < MIN_QUERY_LEN {
        bytes.resize(MIN_QUERY_LEN, 0);
    }
    bytes
}

/// Reads the xid and the answer of a reply without decoding every option (the generator must
/// not be the bottleneck). `None` for a datagram that is not a DHCPv4 BOOTREPLY.
pub fn classify(datagram: &[u8]) -> Option<(u32, Answer)> {
    if datagram.len() < HEADER_LEN {
        return None;
    }
    let packet = Packet::new_checked(datagram).ok()?;
    if packet.op() != BOOTREPLY {
        return None;
    }
    let kind = packet.option(code::DHCP_MESSAGE_TYPE).ok()?;
    let answer = match kind.as_deref() {
        Some(&[t]) => match MessageType::from(t) {
            MessageType::LeaseUnassigned => Answer::Unassigned,
            MessageType::LeaseUnknown => Answer::Unknown,
            MessageType::LeaseActive => Answer::Active,
            _ => Answer::Other(Some(t)),
        },
        _ => Answer::Other(None),
    };
    Some((packet.xid(), answer))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::leasequery::Keys;
    use lessor_wire::v4::code::relay;
    use lessor_wire::v4::{DhcpOption, Repr, BOOTREQUEST};

    const G: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 1);

    #[test]
    fn query_by_ip_has_one_key() {
        let bytes = encode_query(&QueryKey::Ip(Ipv4Addr::new(198, 18, 0, 7)), 0xdead_beef, G);
        assert_eq!(bytes.len(), MIN_QUERY_LEN);
        let q = Repr::from_bytes(&bytes).unwrap();
        assert_eq!(q.op, BOOTREQUEST);
        assert_eq!(q.xid, 0xdead_beef);
        assert_eq!(q.giaddr, G);
        assert_eq!(q.ciaddr, Ipv4Addr::new(198, 18, 0, 7));
        assert_eq!(q.hlen, 0);
        assert_eq!(q.chaddr, [0; 16]);
        assert_eq!(q.message_type(), Some(MessageType::LeaseQuery));
        assert_eq!(q.options.len(), 1);
    }

    #[test]
    fn queries_by_identifier() {
        let mac = QueryKey::mac([2, 0, 0, 0, 0, 9]);
        let q = Repr::from_bytes(&encode_query(&mac, 1, G)).unwrap();
        assert_eq!((q.htype, q.hlen), (1, 6));
        assert_eq!(q.client_hw_addr(), &[2, 0, 0, 0, 0, 9]);
        assert_eq!(q.ciaddr, Ipv4Addr::UNSPECIFIED);

        let cid = QueryKey::ClientId(vec![1, 2, 0, 0, 0, 0, 9]);
        let q = Repr::from_bytes(&encode_query(&cid, 2, G)).unwrap();
        assert_eq!(
            q.option(61),
            Some(&DhcpOption::ClientIdentifier(vec![1, 2, 0, 0, 0, 0, 9]))
        );
        assert_eq!(q.hlen, 0);

        for (key, code) in [
            (QueryKey::RelayId(vec![0xc0, 0xff, 0xee]), relay::RELAY_ID),
            (
                QueryKey::RemoteId(vec![0xc0, 0xff, 0xee]),
                relay::AGENT_REMOTE_ID,
            ),
        ] {
            let q = Repr::from_bytes(&encode_query(&key, 3, G)).unwrap();
            let info = q.relay_agent_information().unwrap();
            let subs: Vec<_> = info
                .sub_options()
                .map(|s| {
                    let s = s.unwrap();
                    (s.code, s.data.to_vec())
                })
                .collect();
            assert_eq!(subs, vec![(code, vec![0xc0, 0xff, 0xee])], "{key}");
        }
    }

    #[test]
    fn encoder_patches_xid_and_address() {
        let keys = Keys::Range {
            first: Ipv4Addr::new(198, 18, 0, 254),
            last: Ipv4Addr::new(198, 18, 1, 0),
        };
        let mut enc = QueryEncoder::new(G, keys, Order::Sequential);
        let mut buf = Vec::new();
        let mut seen = Vec::new();
        for xid in 0..4 {
            enc.next_into(xid, &mut buf);
            assert_eq!(
                buf,
                encode_query(
                    &QueryKey::Ip(Repr::from_bytes(&buf).unwrap().ciaddr),
                    xid,
                    G
                )
            );
            seen.push(Repr::from_bytes(&buf).unwrap().ciaddr);
        }
        assert_eq!(
            seen,
            [
                Ipv4Addr::new(198, 18, 0, 254),
                Ipv4Addr::new(198, 18, 0, 255),
                Ipv4Addr::new(198, 18, 1, 0),
                Ipv4Addr::new(198, 18, 0, 254)
            ]
        );

        let list = vec![
            QueryKey::mac([2, 0, 0, 0, 0, 1]),
            QueryKey::mac([2, 0, 0, 0, 0, 2]),
        ];
        let mut enc = QueryEncoder::new(G, Keys::List(list.clone()), Order::Random(42));
        let mut picked = std::collections::HashSet::new();
        for xid in 0..64 {
            enc.next_into(xid, &mut buf);
            let q = Repr::from_bytes(&buf).unwrap();
            assert_eq!(q.xid, xid);
            let key = list
                .iter()
                .find(|k| **k == QueryKey::mac(q.client_hw_addr().try_into().unwrap()))
                .unwrap();
            assert_eq!(buf, encode_query(key, xid, G));
            picked.insert(q.client_hw_addr().to_vec());
        }
        assert_eq!(picked.len(), 2, "random order reaches every key");
    }

    fn reply(kind: Option<u8>, xid: u32) -> Vec<u8> {
        let mut r = Repr {
            op: BOOTREPLY,
            xid,
            ..Repr::default()
        };
        if let Some(k) = kind {
            r.options
                .push(DhcpOption::MessageType(MessageType::from(k)));
        }
        r.to_vec()
    }

    #[test]
    fn classifies_replies() {
        assert_eq!(classify(&reply(Some(13), 7)), Some((7, Answer::Active)));
        assert_eq!(classify(&reply(Some(11), 8)), Some((8, Answer::Unassigned)));
        assert_eq!(classify(&reply(Some(12), 9)), Some((9, Answer::Unknown)));
        assert_eq!(
            classify(&reply(Some(5), 1)),
            Some((1, Answer::Other(Some(5))))
        );
        assert_eq!(classify(&reply(None, 1)), Some((1, Answer::Other(None))));
        // A query (BOOTREQUEST) echoed back is not a reply; garbage is not DHCP.
        let q = encode_query(&QueryKey::Ip(Ipv4Addr::new(198, 18, 0, 1)), 1, G);
        assert_eq!(classify(&q), None);
        assert_eq!(classify(&[0; 10]), None);
    }
}
