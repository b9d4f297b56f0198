//! The LEASEQUERY-REPLY (RFC 5007 §4.4.1, §4.4.2): OPTION_CLIENTID echoed, OPTION_SERVERID,
//! then one of OPTION_CLIENT_DATA ([`super::client_data`]), OPTION_LQ_CLIENT_LINK, OPTION_STATUS_CODE, or nothing (no
//! client matched). Written, relay wrapping included, straight into a datagram of at most
//! [`MAX_DATAGRAM`] octets ([`encode`], docs/protocol.md decision 24): no [`Repr`] is built,
//! the octets are those its emit would give (checked against it in the tests).

use super::client_data::{ClientData, Keep};
use super::validate::Query6;
use crate::router6::Message6;
use lessor_wire::v6::{
    DhcpOption, MessageType, RelayMessage, Writer, MAX_TRANSACTION_ID, OPTION_RELAY_MSG,
    OPTION_SERVERID,
};
use std::net::Ipv6Addr;
#[cfg(test)]
use {
    super::client_data::is_lq_data,
    crate::dhcp6::relay,
    lessor_wire::v6::{ClientServerMessage, Duid, Repr, OPTION_LQ_RELAY_DATA},
};

/// The largest datagram a reply is: the IPv6 minimum MTU (1280, RFC 8200 §5) less the IPv6 and
/// UDP headers, so no reply needs fragmenting on any path (docs/protocol.md decision 24).
pub const MAX_DATAGRAM: usize = 1232;

/// The server's OPTION_SERVERID.
#[cfg(test)]
fn server_id(duid: &[u8]) -> DhcpOption {
    match Duid::parse(duid) {
        Ok(d) => DhcpOption::ServerId(d),
        Err(_) => DhcpOption::Other {
            code: lessor_wire::v6::OPTION_SERVERID,
            data: duid.to_vec(),
        },
    }
}

/// A LEASEQUERY-REPLY to `q` carrying `body`, as a [`Repr`]: the reference [`encode`] is
/// checked against.
#[cfg(test)]
pub fn reply(q: &Query6<'_>, server_duid: &[u8], body: Vec<DhcpOption>) -> Repr {
    let mut options = Vec::with_capacity(2 + body.len());
    options.push(q.client_id.clone());
    options.push(server_id(server_duid));
    options.extend(body);
    Repr::ClientServer(ClientServerMessage {
        msg_type: MessageType::LeasequeryReply,
        transaction_id: q.transaction_id,
        options,
    })
}

/// OPTION_STATUS_CODE.
pub fn status(code: u16, message: &str) -> DhcpOption {
    DhcpOption::StatusCode {
        code,
        message: message.as_bytes().to_vec(),
    }
}

/// OPTION_LQ_CLIENT_LINK.
pub fn client_link(links: Vec<Ipv6Addr>) -> DhcpOption {
    DhcpOption::LqClientLink(links)
}

/// How [`fit`] encoded a reply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fitted {
    /// As built.
    Whole(Vec<u8>),
    /// Client data without its configured options, or without LQ_RELAY_DATA too.
    Truncated(Vec<u8>),
    /// Client data that does not fit even so: the reply carries UnspecFail instead.
    TooLarge(Vec<u8>),
    /// Not even that fits (Interface-Ids of relays that fill the datagram): not sent.
    Unsendable,
}

/// What a reply carries after its CLIENTID and SERVERID.
#[derive(Debug)]
pub enum Body<'a> {
    /// One client's data, written without building it.
    ClientData(ClientData<'a>),
    /// Options as built ([`status`], [`client_link`]), or none.
    Options(Vec<DhcpOption>),
}

/// The status that replaces client data too large for a datagram.
const TOO_LARGE: &str = "client data larger than a datagram; ask by bulk leasequery (RFC 5460)";

/// The LEASEQUERY-REPLY to `q` carrying `body`, wrapped back through `msg`'s relay chain,
/// written in at most [`MAX_DATAGRAM`] octets (docs/protocol.md decision 24): when it does not
/// fit, the client data loses its configured options, then LQ_RELAY_DATA; when even that does
/// not fit, the client data is replaced by STATUS_CODE UnspecFail, pointing to bulk
/// leasequery; when not even that fits (the relays' Interface-Ids echoed take the room),
/// [`Fitted::Unsendable`]. The octets are those of the [`Repr`] such a reply would be, emitted.
pub fn encode(msg: &Message6, q: &Query6<'_>, server_duid: &[u8], body: &Body<'_>) -> Fitted {
    let hops = msg.hops();
    // One buffer for every attempt: a datagram's worth, so running out of room is what "does
    // not fit" means.
    let mut buf = vec![0u8; MAX_DATAGRAM];
    let mut attempt = |content: &dyn Fn(&mut Writer<'_>) -> lessor_wire::Result<()>| {
        let mut w = Writer::new(&mut buf);
        write_wrapped(&mut w, &hops, &|w| write_reply(w, q, server_duid, content))
            .ok()
            .map(|()| w.len())
    };
    let too_large =
        |w: &mut Writer<'_>| status(lessor_wire::v6::status::UNSPEC_FAIL, TOO_LARGE).write(w);
    let fitted = match body {
        Body::ClientData(data) => {
            if let Some(n) = attempt(&|w| data.write(w, Keep::All)) {
                (n, Fitted::Whole as fn(Vec<u8>) -> Fitted)
            } else if let Some(n) = [Keep::LqData, Keep::LqDataWithoutRelayData]
                .into_iter()
                .find_map(|keep| attempt(&|w| data.write(w, keep)))
            {
                (n, Fitted::Truncated as fn(Vec<u8>) -> Fitted)
            } else if let Some(n) = attempt(&too_large) {
                (n, Fitted::TooLarge as fn(Vec<u8>) -> Fitted)
            } else {
                return Fitted::Unsendable;
            }
        }
        Body::Options(options) => {
            let all = |w: &mut Writer<'_>| options.iter().try_for_each(|o| o.write(w));
            if let Some(n) = attempt(&all) {
                (n, Fitted::Whole as fn(Vec<u8>) -> Fitted)
            } else if let Some(n) = attempt(&|w| {
                // Nothing to cut: the same octets again would not fit either.
                all(w)?;
                too_large(w)
            }) {
                (n, Fitted::TooLarge as fn(Vec<u8>) -> Fitted)
            } else {
                return Fitted::Unsendable;
            }
        }
    };
    let (n, how) = fitted;
    buf.truncate(n);
    how(buf)
}

/// The LEASEQUERY-REPLY itself: header, CLIENTID echoed, SERVERID, then `content`.
fn write_reply(
    w: &mut Writer<'_>,
    q: &Query6<'_>,
    server_duid: &[u8],
    content: &dyn Fn(&mut Writer<'_>) -> lessor_wire::Result<()>,
) -> lessor_wire::Result<()> {
    if q.transaction_id > MAX_TRANSACTION_ID {
        return Err(lessor_wire::Error::BadValue);
    }
    w.u8(MessageType::LeasequeryReply.into())?;
    w.bytes(&q.transaction_id.to_be_bytes()[1..])?;
    q.client_id.write(w)?;
    // A DUID that parses emits as configured, one that does not goes as its octets.
    w.option(OPTION_SERVERID, |w| w.bytes(server_duid))?;
    content(w)
}

/// `inner` inside a RELAY-REPL for every hop of the query's chain (`hops`, outermost first),
/// each with its hop's hop-count, link-address, peer-address and first Interface-Id echoed
/// (RFC 8415 §19.3), as [`crate::dhcp6::relay::wrap`] builds them.
fn write_wrapped(
    w: &mut Writer<'_>,
    hops: &[&RelayMessage],
    inner: &dyn Fn(&mut Writer<'_>) -> lessor_wire::Result<()>,
) -> lessor_wire::Result<()> {
    let Some((hop, rest)) = hops.split_first() else {
        return inner(w);
    };
    w.u8(MessageType::RelayRepl.into())?;
    w.u8(hop.hop_count)?;
    w.ipv6(&hop.link_address)?;
    w.ipv6(&hop.peer_address)?;
    if let Some(id) = hop
        .options
        .iter()
        .find(|o| matches!(o, DhcpOption::InterfaceId(_)))
    {
        id.write(w)?;
    }
    w.option(OPTION_RELAY_MSG, |w| write_wrapped(w, rest, inner))
}

/// `reply`, wrapped back through `msg`'s relay chain, encoded in at most [`MAX_DATAGRAM`]
/// octets by the rule [`encode`] follows: the reference it is checked against.
#[cfg(test)]
pub fn fit(msg: &Message6, reply: Repr) -> Fitted {
    // Encoded as built, not a copy: nearly every reply fits at the first try, and a copy of
    // its options (then their drop) was about 15 % of a query's instructions (docs/benchmarks.md,
    // issue 14, "After the lookup work"). One that does not fit is taken back out of its
    // RELAY-REPLs to be cut.
    let encode = |r: Repr| -> Result<Vec<u8>, Repr> {
        let wrapped = relay::wrap(msg, r);
        match wrapped.try_to_vec() {
            Ok(v) if v.len() <= MAX_DATAGRAM => Ok(v),
            _ => Err(unwrap(wrapped)),
        }
    };
    let mut reply = match encode(reply) {
        Ok(v) => return Fitted::Whole(v),
        Err(r) => r,
    };
    for keep in [(|c: u16| is_lq_data(c)) as fn(u16) -> bool, |c: u16| {
        is_lq_data(c) && c != OPTION_LQ_RELAY_DATA
    }] {
        for o in reply.options_mut() {
            if let DhcpOption::ClientData(inner) = o {
                inner.retain(|i| keep(i.code()));
            }
        }
        reply = match encode(reply) {
            Ok(v) => return Fitted::Truncated(v),
            Err(r) => r,
        };
    }
    reply
        .options_mut()
        .retain(|o| !matches!(o, DhcpOption::ClientData(_)));
    reply
        .options_mut()
        .push(status(lessor_wire::v6::status::UNSPEC_FAIL, TOO_LARGE));
    match encode(reply) {
        Ok(v) => Fitted::TooLarge(v),
        Err(_) => Fitted::Unsendable,
    }
}

/// The reply [`relay::wrap`] put inside RELAY-REPLs, taken back out (a direct reply is
/// returned as is).
#[cfg(test)]
fn unwrap(mut r: Repr) -> Repr {
    while let Repr::Relay(mut relay) = r {
        let Some(i) = relay
            .options
            .iter()
            .position(|o| matches!(o, DhcpOption::RelayMsg(_)))
        else {
            // Not one `wrap` made: nothing inside to take out.
            return Repr::Relay(relay);
        };
        r = match relay.options.swap_remove(i) {
            DhcpOption::RelayMsg(inner) => *inner,
            other => {
                relay.options.push(other);
                return Repr::Relay(relay);
            }
        };
    }
    r
}

#[cfg(test)]
mod tests {
    //! [`encode`] against the [`Repr`] path it replaced ([`reply`], [`fit`]): on generated
    //! replies (addresses, prefixes, expired and preferred-expired bindings, DUIDs that do and do
    //! not parse, relay chains kept or not, ORO options configured at every level, sensitive
    //! options, relayed queries with Interface-Ids) every octet must be the same, and the cut
    //! replies (configured options dropped, LQ_RELAY_DATA dropped, UnspecFail, unsendable) must
    //! all occur.

    use super::super::client_data::{client_data, Context};
    use super::super::validate;
    use super::*;
    use crate::config::dhcp6::{AddressPool6, Lifetimes6, PrefixPool6, Reservation6};
    use crate::config::{ConfiguredOption6, Link6, Seconds};
    use lessor_store::{Binding6, IaType, State6};
    use lessor_wire::v6::{QueryType, OPTION_CLIENT_DATA, OPTION_LQ_RELAY_DATA};
    use std::net::SocketAddrV6;
    use std::sync::Arc;

    const NOW: u64 = 1_800_000_000;

    /// xorshift64*: the same cases on every run.
    struct Rng(u64);

    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 >> 12;
            self.0 ^= self.0 << 25;
            self.0 ^= self.0 >> 27;
            self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
        }

        fn below(&mut self, n: u64) -> u64 {
            self.next() % n
        }

        fn chance(&mut self, percent: u64) -> bool {
            self.below(100) < percent
        }

        fn bytes(&mut self, len: usize) -> Vec<u8> {
            (0..len).map(|_| self.next() as u8).collect()
        }

        /// A length, mostly small, sometimes large enough to need cutting.
        fn len(&mut self) -> usize {
            match self.below(10) {
                0 => 300 + self.below(900) as usize,
                1 => 100 + self.below(200) as usize,
                _ => self.below(24) as usize,
            }
        }

        fn address(&mut self) -> Ipv6Addr {
            // Mostly inside 2001:db8:1::/64 (the link), its pool or its prefix pool.
            match self.below(4) {
                0 => Ipv6Addr::from(u128::from(self.next()) << 64 | u128::from(self.next())),
                1 => Ipv6Addr::from(
                    0x2001_0db8_0100_0000_0000_0000_0000_0000u128
                        | (u128::from(self.below(256)) << 72),
                ),
                _ => Ipv6Addr::from(
                    0x2001_0db8_0001_0000_0000_0000_0000_1000u128 + u128::from(self.below(512)),
                ),
            }
        }

        /// A DUID: mostly one that parses (3 to 130 octets), sometimes one that does not.
        fn duid(&mut self) -> Vec<u8> {
            let len = match self.below(10) {
                0 => self.below(3) as usize,
                1 => 131 + self.below(20) as usize,
                2 => 3 + self.below(128) as usize,
                _ => 10,
            };
            let mut d = self.bytes(len);
            if len >= 2 && self.chance(70) {
                d[0] = 0;
                d[1] = 1 + self.below(4) as u8;
            }
            d
        }

        fn options(&mut self, codes: &[u16]) -> Vec<ConfiguredOption6> {
            let n = self.below(4);
            (0..n)
                .map(|_| ConfiguredOption6 {
                    code: codes[self.below(codes.len() as u64) as usize],
                    value: {
                        let len = self.len();
                        self.bytes(len)
                    },
                })
                .collect()
        }
    }

    /// Codes the generated ORO and configuration pick from: configured ones, client data's own
    /// (never configured), LQ_RELAY_DATA.
    const CODES: [u16; 10] = [23, 24, 31, 32, 1, 5, 26, 46, OPTION_LQ_RELAY_DATA, 99];

    fn context(rng: &mut Rng, duid: &[u8]) -> Context {
        let link = Link6 {
            prefix: "2001:db8:1::/64".parse().unwrap(),
            interface_ids: vec![],
            interface: None,
            lifetimes: Lifetimes6 {
                preferred: Seconds(100),
                valid: Seconds(200),
                renew_time: Seconds(50),
                rebind_time: Seconds(80),
            },
            address_pools: vec![AddressPool6 {
                first: "2001:db8:1::1000".parse().unwrap(),
                last: "2001:db8:1::11ff".parse().unwrap(),
                options: rng.options(&CODES),
            }],
            prefix_pools: vec![PrefixPool6 {
                prefix: "2001:db8:100::/48".parse().unwrap(),
                delegated_len: 56,
                options: rng.options(&CODES),
            }],
            reservations: vec![Reservation6 {
                duid: if rng.chance(50) {
                    duid.to_vec()
                } else {
                    rng.duid()
                },
                addresses: vec![],
                prefixes: vec![],
                options: rng.options(&CODES),
            }],
            options: rng.options(&CODES),
        };
        Context {
            links: vec![link],
            global_options: rng.options(&CODES),
            sensitive: (0..rng.below(3))
                .map(|_| CODES[rng.below(CODES.len() as u64) as usize])
                .collect(),
        }
    }

    /// A RELAY-FORW chain of `hops` hops around `inner`, Interface-Ids of generated lengths.
    fn relayed(rng: &mut Rng, hops: u64, inner: Repr) -> Repr {
        (0..hops).fold(inner, |inner, hop| {
            let mut options = Vec::new();
            if rng.chance(70) {
                let len = rng.len();
                options.push(DhcpOption::InterfaceId(rng.bytes(len)));
            }
            if rng.chance(20) {
                // A second Interface-Id: only the first is echoed.
                options.push(DhcpOption::InterfaceId(rng.bytes(3)));
            }
            options.push(DhcpOption::RelayMsg(Box::new(inner)));
            Repr::Relay(RelayMessage {
                msg_type: MessageType::RelayForw,
                hop_count: hop as u8,
                link_address: rng.address(),
                peer_address: rng.address(),
                options,
            })
        })
    }

    fn binding(rng: &mut Rng, duid: &[u8]) -> Option<Binding6> {
        let pd = rng.chance(40);
        let (ia_type, len) = if pd {
            (IaType::Pd, 48 + rng.below(17) as u8)
        } else {
            (IaType::Na, 128)
        };
        let mut b = Binding6::new(
            rng.address(),
            len,
            ia_type,
            duid,
            rng.next() as u32,
            "2001:db8:1::/64".parse().unwrap(),
            State6::Active,
        )
        .ok()?;
        // Valid for a while, or just over; preferred sometimes passed.
        let valid_end = NOW - 5 + rng.below(100_000);
        let preferred_end = NOW - 100 + rng.below(50_000);
        let cltt = NOW + 1_000 - rng.below(50_000_000);
        b = b.with_times(NOW - 600, preferred_end, valid_end, NOW, NOW, cltt);
        if rng.chance(50) {
            b.relay_peer = Some(rng.address());
        }
        if rng.chance(60) {
            let chain = if rng.chance(85) {
                let hops = 1 + rng.below(3);
                let client = Repr::ClientServer(lessor_wire::v6::ClientServerMessage {
                    msg_type: MessageType::Request,
                    transaction_id: 7,
                    options: vec![],
                });
                relayed(rng, hops, client)
                    .without_client_message()
                    .expect("a relay chain")
                    .to_vec()
            } else {
                // A chain that no longer parses: no LQ_RELAY_DATA.
                let len = rng.len();
                rng.bytes(len)
            };
            let _ = b.set_relay_chain(Some(&chain));
        }
        Some(b)
    }

    /// A direct or relayed LEASEQUERY as the router hands it over.
    fn query(rng: &mut Rng) -> Message6 {
        let client_id = Duid::parse(&{
            let len = 3 + rng.below(128) as usize;
            let mut d = rng.bytes(len);
            d[0] = 0;
            d
        })
        .unwrap();
        let q = Repr::ClientServer(ClientServerMessage {
            msg_type: MessageType::Leasequery,
            transaction_id: rng.below(1 << 24) as u32,
            options: vec![
                DhcpOption::ClientId(client_id),
                DhcpOption::LqQuery {
                    query_type: QueryType::ByAddress,
                    link_address: Ipv6Addr::UNSPECIFIED,
                    options: vec![],
                },
            ],
        });
        let hops = [0, 0, 1, 2, 3][rng.below(5) as usize];
        let bytes = relayed(rng, hops, q).to_vec();
        let source = SocketAddrV6::new("2001:db8:ff::5".parse().unwrap(), 547, 0, 0);
        Message6::new(&bytes, source, "2001:db8::1".parse().unwrap(), None).expect("routed")
    }

    #[test]
    fn encode_writes_the_octets_the_repr_path_did() {
        let mut rng = Rng(0x6c65_7373_6f72_0006);
        let mut seen = [0usize; 4];
        let mut with_relay_data = 0;
        let mut with_configured = 0;
        for case in 0..6000 {
            let msg = query(&mut rng);
            let server_duid = rng.duid();
            let q = validate::read(msg.client(), &server_duid).expect("a valid query");
            let client = rng.duid();
            let ctx = context(&mut rng, &client);
            let bindings: Vec<Arc<Binding6>> = (0..1 + rng.below(5))
                .filter_map(|_| binding(&mut rng, &client))
                .map(Arc::new)
                .collect();
            let oro: Vec<u16> = (0..rng.below(6))
                .map(|_| CODES[rng.below(CODES.len() as u64) as usize])
                .collect();
            let link = rng.chance(90).then_some(0);
            let (new, old) = if rng.chance(85) && !bindings.is_empty() {
                let data = ClientData {
                    ctx: &ctx,
                    link,
                    bindings: &bindings,
                    oro: &oro,
                    now: NOW,
                };
                let built = client_data(&ctx, link, &bindings, &oro, NOW);
                if let DhcpOption::ClientData(inner) = &built {
                    with_relay_data +=
                        usize::from(inner.iter().any(|o| o.code() == OPTION_LQ_RELAY_DATA));
                    with_configured += usize::from(inner.iter().any(|o| !is_lq_data(o.code())));
                }
                (
                    encode(&msg, &q, &server_duid, &Body::ClientData(data)),
                    fit(&msg, reply(&q, &server_duid, vec![built])),
                )
            } else {
                let options = match rng.below(3) {
                    0 => vec![],
                    1 => {
                        let n = rng.below(90) as usize;
                        vec![client_link((0..n).map(|_| rng.address()).collect())]
                    }
                    _ => {
                        let text: String = (0..rng.len()).map(|_| 'x').collect();
                        vec![status(status_code(&mut rng), &text)]
                    }
                };
                (
                    encode(&msg, &q, &server_duid, &Body::Options(options.clone())),
                    fit(&msg, reply(&q, &server_duid, options)),
                )
            };
            assert_eq!(new, old, "case {case}");
            seen[match new {
                Fitted::Whole(_) => 0,
                Fitted::Truncated(_) => 1,
                Fitted::TooLarge(_) => 2,
                Fitted::Unsendable => 3,
            }] += 1;
        }
        assert!(seen.iter().all(|&n| n > 0), "every outcome met: {seen:?}");
        assert!(with_relay_data > 100 && with_configured > 100);
    }

    fn status_code(rng: &mut Rng) -> u16 {
        rng.below(12) as u16
    }

    #[test]
    fn a_client_data_reply_is_a_leasequery_reply() {
        // The writer's own octets parse back to what was meant (not only to what the old path
        // wrote): header, CLIENTID echoed, SERVERID, CLIENT_DATA.
        let mut rng = Rng(1);
        let msg = query(&mut rng);
        let q = validate::read(msg.client(), &[0, 3, 0, 1, 1, 2, 3, 4, 5, 6]).unwrap();
        let client = vec![0, 3, 0, 1, 9, 9, 9, 9, 9, 9];
        let b = Binding6::new(
            "2001:db8:1::1001".parse().unwrap(),
            128,
            IaType::Na,
            &client,
            1,
            "2001:db8:1::/64".parse().unwrap(),
            State6::Active,
        )
        .unwrap()
        .with_times(NOW, NOW + 100, NOW + 200, NOW, NOW, NOW - 7);
        let ctx = Context::default();
        let data = ClientData {
            ctx: &ctx,
            link: None,
            bindings: &[Arc::new(b)],
            oro: &[],
            now: NOW,
        };
        let Fitted::Whole(v) = encode(
            &msg,
            &q,
            &[0, 3, 0, 1, 1, 2, 3, 4, 5, 6],
            &Body::ClientData(data),
        ) else {
            panic!("fits");
        };
        let r = Repr::from_bytes(&v).unwrap();
        let m = r.client_message().unwrap();
        assert_eq!(m.msg_type, MessageType::LeasequeryReply);
        assert_eq!(m.transaction_id, q.transaction_id);
        assert_eq!(&m.options[0], q.client_id);
        assert_eq!(m.options[1].code(), OPTION_SERVERID);
        assert_eq!(m.options[2].code(), OPTION_CLIENT_DATA);
        let DhcpOption::ClientData(inner) = &m.options[2] else {
            unreachable!()
        };
        assert_eq!(inner.len(), 3, "CLIENTID, IAADDR, CLT_TIME: {inner:?}");
        assert_eq!(inner[2], DhcpOption::CltTime(7));
        assert_eq!(r.relay_hops().len(), msg.hops().len());
    }
}
