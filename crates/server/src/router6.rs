//! [`Router6`]: what a datagram on a DHCPv6 server socket is, decided once, before any service
//! (and any lock) sees it: the sibling of [`crate::router4`].
//!
//! The first octet (msg-type) sorts most datagrams without parsing: replies of servers
//! (ADVERTISE, REPLY, RELAY-REPL, LEASEQUERY-REPLY, ...) are discarded and counted here. A
//! client's message and a RELAY-FORW are parsed once, whole (the relay chain through every hop,
//! under the wire crate's depth budget), outside the engine's lock; the chain is checked against
//! [`HOP_COUNT_LIMIT`] and classified by the message at its end: a client's message goes to the
//! DHCPv6 engine, a LEASEQUERY (direct or relayed) to the leasequery responder.

use crate::stats::{Counter, Report};
use lessor_net::Received;
use lessor_wire::v6::{ClientServerMessage, MessageType, RelayMessage, Repr};
use std::net::{IpAddr, Ipv6Addr, SocketAddr, SocketAddrV6};

/// Most relays a message may have passed (RFC 8415 §7.6 HOP_COUNT_LIMIT): a longer chain, or a
/// hop whose hop-count says more, is discarded.
pub const HOP_COUNT_LIMIT: usize = 8;

/// A DHCPv6 message as the router hands it to a service: parsed, with the way it came.
#[derive(Debug, Clone)]
pub struct Message6 {
    /// The datagram parsed: the client's message, or the RELAY-FORW chain holding it.
    pub repr: Repr,
    /// msg-type of the message at the end of the chain (the client's).
    pub kind: MessageType,
    /// Where the datagram came from (the outermost relay, or the client).
    pub source: SocketAddrV6,
    /// The address it was sent to: a listen address, an interface address, ff02::1:2.
    pub destination: Ipv6Addr,
    /// The interface it arrived on, when known.
    pub interface_index: Option<u32>,
}

impl Message6 {
    /// A message from raw parts (tests, tools): parsed and checked as the router does, routing
    /// nothing. `None` when the router would discard it.
    pub fn new(
        payload: &[u8],
        source: SocketAddrV6,
        destination: Ipv6Addr,
        interface_index: Option<u32>,
    ) -> Option<Message6> {
        let repr = Repr::from_bytes(payload).ok()?;
        let kind = check_chain(&repr).ok()?;
        Some(Message6 {
            repr,
            kind,
            source,
            destination,
            interface_index,
        })
    }

    /// The client's message at the end of the chain.
    pub fn client(&self) -> &ClientServerMessage {
        self.repr
            .client_message()
            .expect("the router hands over chains that end in a client message")
    }

    /// The relay hops, outermost first (empty for a message straight from its client).
    pub fn hops(&self) -> Vec<&RelayMessage> {
        self.repr.relay_hops()
    }

    /// Whether it came through a relay.
    pub fn is_relayed(&self) -> bool {
        matches!(self.repr, Repr::Relay(_))
    }
}

/// Where a datagram goes.
#[derive(Debug, Clone)]
pub enum Route6 {
    /// A client's SOLICIT, REQUEST, CONFIRM, RENEW, REBIND, RELEASE, DECLINE or
    /// INFORMATION-REQUEST, direct or relayed.
    Dhcp(Message6),
    /// A LEASEQUERY (RFC 5007), direct or relayed, for [`crate::leasequery6::Responder6`]
    /// (which refuses ACTIVELEASEQUERY and STARTTLS, TCP's).
    Leasequery(Message6),
    /// Nothing any service answers (counted by the router).
    Discard(Discard),
}

/// Why the router discarded a datagram.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Discard {
    /// Not a DHCPv6 message: truncated, options that do not parse, nesting deeper than the wire
    /// crate allows, a RELAY-FORW without a message inside.
    Malformed,
    /// A server's message (ADVERTISE, REPLY, RECONFIGURE, RELAY-REPL, LEASEQUERY-REPLY,
    /// LEASEQUERY-DONE, LEASEQUERY-DATA): servers answer clients and relays.
    ServerMessage,
    /// A message type no server answers over UDP (unknown types, a relayed RELAY-REPL, ...).
    UnexpectedType,
    /// A relay chain longer than [`HOP_COUNT_LIMIT`], or a hop-count above it.
    TooManyHops,
}

impl Discard {
    pub const ALL: [Discard; 4] = [
        Discard::Malformed,
        Discard::ServerMessage,
        Discard::UnexpectedType,
        Discard::TooManyHops,
    ];

    /// A short stable name, for logs and metrics.
    pub fn name(self) -> &'static str {
        match self {
            Discard::Malformed => "malformed",
            Discard::ServerMessage => "server-message",
            Discard::UnexpectedType => "unexpected-type",
            Discard::TooManyHops => "too-many-hops",
        }
    }
}

/// The messages a client sends a server (RFC 8415 §7.3).
pub fn is_client_message(t: MessageType) -> bool {
    matches!(
        t,
        MessageType::Solicit
            | MessageType::Request
            | MessageType::Confirm
            | MessageType::Renew
            | MessageType::Rebind
            | MessageType::Release
            | MessageType::Decline
            | MessageType::InformationRequest
    )
}

/// The messages only a server sends.
fn is_server_message(t: MessageType) -> bool {
    matches!(
        t,
        MessageType::Advertise
            | MessageType::Reply
            | MessageType::Reconfigure
            | MessageType::RelayRepl
            | MessageType::LeasequeryReply
            | MessageType::LeasequeryDone
            | MessageType::LeasequeryData
    )
}

/// Leasequery messages (the bulk and active ones are TCP's; the responder refuses them here).
fn is_leasequery(t: MessageType) -> bool {
    matches!(
        t,
        MessageType::Leasequery | MessageType::ActiveLeasequery | MessageType::StartTls
    )
}

/// The msg-type at the end of a parsed chain, once the chain is within the limits.
fn check_chain(repr: &Repr) -> Result<MessageType, Discard> {
    let hops = repr.relay_hops();
    if hops.len() > HOP_COUNT_LIMIT
        || hops
            .iter()
            .any(|h| usize::from(h.hop_count) > HOP_COUNT_LIMIT)
    {
        return Err(Discard::TooManyHops);
    }
    if hops.iter().any(|h| h.msg_type != MessageType::RelayForw) {
        // A RELAY-REPL, at the top or inside a RELAY-FORW.
        return Err(Discard::UnexpectedType);
    }
    match repr.innermost() {
        Repr::ClientServer(m) => Ok(m.msg_type),
        // A RELAY-FORW carrying no message.
        Repr::Relay(_) => Err(Discard::Malformed),
    }
}

/// The router of the DHCPv6 server sockets.
#[derive(Debug, Default)]
pub struct Router6 {
    counters: Counters,
}

/// What the router counts.
#[derive(Debug)]
pub struct Counters {
    /// Datagrams by msg-type of the outer message (index = msg-type).
    received: [Counter; 256],
    /// Client messages that came through relays, by the client's msg-type.
    relayed: [Counter; 256],
    /// Datagrams routed to the DHCPv6 engine.
    pub dhcp: Counter,
    /// Datagrams routed to leasequery.
    pub leasequery: Counter,
    discarded: [Counter; Discard::ALL.len()],
}

impl Default for Counters {
    fn default() -> Self {
        Counters {
            received: std::array::from_fn(|_| Counter::default()),
            relayed: std::array::from_fn(|_| Counter::default()),
            dhcp: Counter::default(),
            leasequery: Counter::default(),
            discarded: std::array::from_fn(|_| Counter::default()),
        }
    }
}

impl Counters {
    /// Datagrams received whose outer msg-type is `t` (whatever became of them).
    pub fn received(&self, t: MessageType) -> u64 {
        self.received[usize::from(u8::from(t))].get()
    }

    /// Relayed client messages of type `t`.
    pub fn relayed(&self, t: MessageType) -> u64 {
        self.relayed[usize::from(u8::from(t))].get()
    }

    /// Datagrams discarded for this reason.
    pub fn discarded(&self, why: Discard) -> u64 {
        self.discarded[why as usize].get()
    }

    /// Every datagram routed: each went to exactly one of the engine, leasequery or a discard
    /// reason, so this equals what the sockets delivered (`udp6 received`).
    pub fn routed(&self) -> u64 {
        let discarded: u64 = Discard::ALL.iter().map(|&why| self.discarded(why)).sum();
        self.dhcp.get() + self.leasequery.get() + discarded
    }
}

fn type_name(t: u8) -> String {
    match MessageType::from(t) {
        MessageType::Unknown(t) => format!("type-{t}"),
        known => known.to_string().to_lowercase(),
    }
}

impl Report for Counters {
    fn report(&self, out: &mut dyn FnMut(&str, u64)) {
        for (t, c) in (0u8..=255).zip(self.received.iter()) {
            let value = c.get();
            if value > 0 {
                out(&format!("received-{}", type_name(t)), value);
            }
        }
        for (t, c) in (0u8..=255).zip(self.relayed.iter()) {
            let value = c.get();
            if value > 0 {
                out(&format!("relayed-{}", type_name(t)), value);
            }
        }
        out("routed-dhcp", self.dhcp.get());
        out("routed-leasequery", self.leasequery.get());
        for why in Discard::ALL {
            out(&format!("discarded-{}", why.name()), self.discarded(why));
        }
    }
}

impl Router6 {
    pub fn new() -> Router6 {
        Router6::default()
    }

    pub fn counters(&self) -> &Counters {
        &self.counters
    }

    /// Routes one datagram received on a DHCPv6 socket.
    pub fn route(&self, rx: &Received<'_>) -> Route6 {
        let discard = |why: Discard| {
            self.counters.discarded[why as usize].add();
            Route6::Discard(why)
        };
        let (SocketAddr::V6(source), IpAddr::V6(destination)) = (rx.source, rx.destination) else {
            // A DHCPv6 socket receives IPv6 only.
            return discard(Discard::Malformed);
        };
        let Some(&first) = rx.payload.first() else {
            return discard(Discard::Malformed);
        };
        self.counters.received[usize::from(first)].add();
        let outer = MessageType::from(first);
        if is_server_message(outer) {
            return discard(Discard::ServerMessage);
        }
        if !(outer == MessageType::RelayForw || is_client_message(outer) || is_leasequery(outer)) {
            return discard(Discard::UnexpectedType);
        }
        let Ok(repr) = Repr::from_bytes(rx.payload) else {
            return discard(Discard::Malformed);
        };
        let kind = match check_chain(&repr) {
            Ok(kind) => kind,
            Err(why) => return discard(why),
        };
        let relayed = matches!(repr, Repr::Relay(_));
        let message = Message6 {
            repr,
            kind,
            source,
            destination,
            interface_index: rx.interface_index,
        };
        if is_leasequery(kind) {
            self.counters.leasequery.add();
            return Route6::Leasequery(message);
        }
        if !is_client_message(kind) {
            return discard(if is_server_message(kind) {
                Discard::ServerMessage
            } else {
                Discard::UnexpectedType
            });
        }
        if relayed {
            self.counters.relayed[usize::from(u8::from(kind))].add();
        }
        self.counters.dhcp.add();
        Route6::Dhcp(message)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use lessor_wire::v6::{DhcpOption, Duid};

    fn client(t: MessageType) -> Repr {
        Repr::ClientServer(ClientServerMessage {
            msg_type: t,
            transaction_id: 7,
            options: vec![DhcpOption::ClientId(Duid::Ll {
                hardware_type: 1,
                link_layer_address: vec![2, 0, 0, 0, 0, 1],
            })],
        })
    }

    fn relay(hop_count: u8, inner: Repr) -> Repr {
        Repr::Relay(RelayMessage {
            msg_type: MessageType::RelayForw,
            hop_count,
            link_address: "2001:db8:1::1".parse().unwrap(),
            peer_address: "fe80::1".parse().unwrap(),
            options: vec![DhcpOption::RelayMsg(Box::new(inner))],
        })
    }

    fn chain(hops: usize, inner: Repr) -> Repr {
        (0..hops).fold(inner, |m, h| relay(h as u8, m))
    }

    fn route(router: &Router6, payload: &[u8]) -> &'static str {
        let rx = Received {
            payload,
            source: "[2001:db8::2]:547".parse().unwrap(),
            destination: "2001:db8::1".parse().unwrap(),
            interface_index: None,
        };
        match router.route(&rx) {
            Route6::Dhcp(_) => "dhcp",
            Route6::Leasequery(_) => "leasequery",
            Route6::Discard(d) => d.name(),
        }
    }

    #[test]
    fn every_datagram_is_routed_once_and_counted() {
        let router = Router6::new();
        let clients = [
            MessageType::Solicit,
            MessageType::Request,
            MessageType::Confirm,
            MessageType::Renew,
            MessageType::Rebind,
            MessageType::Release,
            MessageType::Decline,
            MessageType::InformationRequest,
        ];
        for t in clients {
            assert_eq!(route(&router, &client(t).to_vec()), "dhcp", "{t}");
            assert_eq!(route(&router, &chain(2, client(t)).to_vec()), "dhcp", "{t}");
        }
        let lq = client(MessageType::Leasequery);
        assert_eq!(route(&router, &lq.to_vec()), "leasequery");
        assert_eq!(route(&router, &chain(1, lq).to_vec()), "leasequery");
        for t in [
            MessageType::Advertise,
            MessageType::Reply,
            MessageType::LeasequeryReply,
            MessageType::LeasequeryDone,
        ] {
            assert_eq!(route(&router, &client(t).to_vec()), "server-message");
        }
        // A server's message inside a RELAY-FORW.
        assert_eq!(
            route(&router, &chain(1, client(MessageType::Reply)).to_vec()),
            "server-message"
        );
        let mut repl = chain(1, client(MessageType::Reply));
        if let Repr::Relay(r) = &mut repl {
            r.msg_type = MessageType::RelayRepl;
        }
        assert_eq!(route(&router, &repl.to_vec()), "server-message");
        assert_eq!(route(&router, &[200, 0, 0, 1]), "unexpected-type");
        assert_eq!(route(&router, b""), "malformed");
        assert_eq!(route(&router, &[1, 0, 0]), "malformed");
        // A RELAY-FORW with no message in it.
        let empty = Repr::Relay(RelayMessage {
            msg_type: MessageType::RelayForw,
            hop_count: 0,
            link_address: Ipv6Addr::UNSPECIFIED,
            peer_address: Ipv6Addr::UNSPECIFIED,
            options: vec![],
        });
        assert_eq!(route(&router, &empty.to_vec()), "malformed");

        let c = router.counters();
        assert_eq!(c.dhcp.get(), 16);
        assert_eq!(c.leasequery.get(), 2);
        assert_eq!(c.relayed(MessageType::Solicit), 1);
        assert_eq!(c.received(MessageType::RelayForw), 11);
        assert_eq!(c.discarded(Discard::ServerMessage), 6);
        assert_eq!(c.discarded(Discard::Malformed), 3);
        assert_eq!(c.discarded(Discard::UnexpectedType), 1);
        // 28 datagrams, each routed once.
        assert_eq!(c.routed(), 28);
        let line = crate::stats::line(c);
        assert!(
            line.contains("relayed-solicit=1") && line.contains("routed-dhcp=16"),
            "{line}"
        );
    }

    #[test]
    fn a_chain_is_taken_up_to_the_hop_count_limit() {
        let router = Router6::new();
        let solicit = client(MessageType::Solicit);
        assert_eq!(
            route(&router, &chain(HOP_COUNT_LIMIT, solicit.clone()).to_vec()),
            "dhcp"
        );
        assert_eq!(
            route(
                &router,
                &chain(HOP_COUNT_LIMIT + 1, solicit.clone()).to_vec()
            ),
            "too-many-hops"
        );
        // One hop claiming more relays before it than the limit allows.
        assert_eq!(
            route(
                &router,
                &relay(HOP_COUNT_LIMIT as u8 + 1, solicit.clone()).to_vec()
            ),
            "too-many-hops"
        );
        // Deeper than the wire crate parses at all.
        assert_eq!(
            route(
                &router,
                &chain(lessor_wire::v6::MAX_DEPTH + 1, solicit).to_vec()
            ),
            "malformed"
        );
        assert_eq!(router.counters().discarded(Discard::TooManyHops), 2);
    }

    #[test]
    fn message_from_parts_checks_as_the_router_does() {
        let source: SocketAddrV6 = "[fe80::1]:546".parse().unwrap();
        let m = Message6::new(
            &chain(2, client(MessageType::Renew)).to_vec(),
            source,
            "2001:db8::1".parse().unwrap(),
            Some(3),
        )
        .unwrap();
        assert_eq!(m.kind, MessageType::Renew);
        assert!(m.is_relayed());
        assert_eq!(m.hops().len(), 2);
        assert_eq!(m.client().transaction_id, 7);
        assert!(Message6::new(b"\x0c", source, Ipv6Addr::UNSPECIFIED, None).is_none());
    }
}
