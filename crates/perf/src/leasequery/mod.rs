//! `lessor perf leasequery`: closed-loop DHCPv4 leasequery (RFC 4388) load.
//!
//! Split like `lessor perf dora`:
//! - this module: where the query keys (lessor-wire's [`QueryKey`]) come from ([`Keys`]), the
//!   encoding of a DHCPLEASEQUERY ([`encode_query`], [`QueryEncoder`]) and the reading of a
//!   reply ([`classify`]), all sans IO;
//! - [`session`]: the closed loop as a sans-IO state machine: which query to send next, which
//!   outstanding query a reply answers (by xid), which queries timed out, and the samples;
//! - [`run`](mod@run): the thin I/O loop (one UDP socket, one thread), sharing the wait rule
//!   of `perf dora`;
//! - [`report`]: the figures as text or JSON, with the exact percentiles of [`crate::latency`].

pub mod report;
pub mod run;
pub mod session;

use std::net::Ipv4Addr;

use lessor_wire::v4::{code, MessageType, Packet, QueryKey, QueryKind, BOOTREPLY, HEADER_LEN};

pub use report::LqReport;
pub use run::{run, run_on};
pub use session::{Handled, Session};

/// Queries are padded to the BOOTP minimum, as relays and clients send them.
pub const MIN_QUERY_LEN: usize = 300;
/// Offset of `xid` and `ciaddr` in the fixed header (RFC 2131 §2).
const XID_AT: usize = 4;
const CIADDR_AT: usize = 12;

/// Where the keys come from and in which order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Keys {
    /// Every address from `first` to `last`, in turn (queries by IP).
    Range {
        /// First address.
        first: Ipv4Addr,
        /// Last address (inclusive).
        last: Ipv4Addr,
    },
    /// These keys, in turn.
    List(Vec<QueryKey>),
}

impl Keys {
    /// How many distinct keys (at least 1 for a valid source).
    pub fn len(&self) -> u64 {
        match self {
            Keys::Range { first, last } => {
                u64::from(u32::from(*last)) - u64::from(u32::from(*first)) + 1
            }
            Keys::List(k) => k.len() as u64,
        }
    }

    /// No keys at all.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// What the keys ask by (`None` for an empty list).
    pub fn by(&self) -> Option<QueryKind> {
        match self {
            Keys::Range { .. } => Some(QueryKind::Ip),
            Keys::List(k) => k.first().map(QueryKey::kind),
        }
    }
}

/// Which key the `n`-th query uses: in turn, or drawn at random (seeded, reproducible).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Order {
    /// Key `n mod len`.
    Sequential,
    /// A key drawn uniformly (xorshift64*, seeded).
    Random(u64),
}

/// Builds the queries of a run: the header and options are laid out once per key kind and only
/// `xid` and `ciaddr` change between queries by IP, so the generator does not allocate per query.
#[derive(Debug, Clone)]
pub struct QueryEncoder {
    giaddr: Ipv4Addr,
    keys: Keys,
    order: Order,
    rng: u64,
    next: u64,
    /// The encoded query by IP with xid and ciaddr 0 (only for `Keys::Range`).
    template: Vec<u8>,
}

impl QueryEncoder {
    /// An encoder for these keys, with `giaddr` in every query.
    pub fn new(giaddr: Ipv4Addr, keys: Keys, order: Order) -> QueryEncoder {
        let template = match keys {
            Keys::Range { .. } => encode_query(&QueryKey::Ip(Ipv4Addr::UNSPECIFIED), 0, giaddr),
            Keys::List(_) => Vec::new(),
        };
        let rng = match order {
            Order::Random(seed) => seed | 1,
            Order::Sequential => 1,
        };
        QueryEncoder {
            giaddr,
            keys,
            order,
            rng,
            next: 0,
            template,
        }
    }

    fn pick(&mut self) -> u64 {
        let len = self.keys.len().max(1);
        match self.order {
            Order::Sequential => {
                let i = self.next % len;
                self.next = self.next.wrapping_add(1);
                i
            }
            Order::Random(_) => {
                // xorshift64*: plenty for spreading lookups over a table.
                let mut x = self.rng;
                x ^= x >> 12;
                x ^= x << 25;
                x ^= x >> 27;
                self.rng = x;
                x.wrapping_mul(0x2545_f491_4f6c_dd1d) % len
            }
        }
    }

    /// Writes the next query with this `xid` into `buf` (cleared first).
    pub fn next_into(&mut self, xid: u32, buf: &mut Vec<u8>) {
        let i = self.pick();
        buf.clear();
        match &self.keys {
            Keys::Range { first, .. } => {
                let addr = Ipv4Addr::from(u32::from(*first).wrapping_add(i as u32));
                buf.extend_from_slice(&self.template);
                set(buf, CIADDR_AT, &addr.octets());
            }
            Keys::List(keys) => {
                let key = usize::try_from(i).ok().and_then(|i| keys.get(i));
                if let Some(key) = key {
                    buf.extend_from_slice(&encode_query(key, 0, self.giaddr));
                }
            }
        }
        set(buf, XID_AT, &xid.to_be_bytes());
    }
}

fn set(buf: &mut [u8], at: usize, value: &[u8]) {
    if let Some(dst) = buf.get_mut(at..at + value.len()) {
        dst.copy_from_slice(value);
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

/// What a reply says about the query it answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Answer {
    /// DHCPLEASEACTIVE (13).
    Active,
    /// DHCPLEASEUNASSIGNED (11).
    Unassigned,
    /// DHCPLEASEUNKNOWN (12).
    Unknown,
    /// A BOOTREPLY of another type (e.g. a legacy DHCPACK/DHCPNAK), or without option 53.
    Other(Option<u8>),
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
        assert_eq!(keys.len(), 3);
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
