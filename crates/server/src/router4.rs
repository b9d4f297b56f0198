//! [`Router4`]: what a datagram on a DHCPv4 server socket is, decided once, before any service
//! (and any lock) sees it.
//!
//! The zero-copy view and option 53 are enough: a client's DHCP message goes to the DHCP engine
//! (one state machine under one lock), a leasequery to the responder (no lock but its rate
//! limiter's), anything else is discarded and counted here. A burst of queries neither waits for
//! nor delays clients, and no service classifies a message again.
//!
//! A DHCPv6 socket gets its sibling (client messages, RELAY-FORW, LEASEQUERY), and the relay
//! agent its own router (BOOTREQUEST from clients, BOOTREPLY from servers), over the same
//! sockets of `lessor-net`.

use crate::config::Config;
use crate::stats::{Counter, Report};
use lessor_net::Received;
use lessor_wire::v4::{MessageType, Packet, BOOTREQUEST};
use std::net::{IpAddr, Ipv4Addr, SocketAddr, SocketAddrV4};
use std::sync::Arc;

/// A DHCPv4 message as the router hands it to a service.
#[derive(Debug, Clone, Copy)]
pub struct Message4<'a> {
    /// The checked view (fixed fields present, magic cookie right).
    pub packet: Packet<&'a [u8]>,
    /// Option 53.
    pub kind: MessageType,
    /// Where it came from (a relay agent's giaddr, a client's ciaddr, 0.0.0.0:68, a requester).
    pub source: SocketAddrV4,
    /// The address it was sent to: a listen address, an interface address, 255.255.255.255.
    pub destination: Ipv4Addr,
    /// The interface it arrived on, when known.
    pub interface_index: Option<u32>,
}

impl<'a> Message4<'a> {
    /// A message from raw parts (tests, tools): checks the payload as the router does, but
    /// routes nothing.
    pub fn new(
        payload: &'a [u8],
        source: SocketAddrV4,
        destination: Ipv4Addr,
        interface_index: Option<u32>,
    ) -> Option<Message4<'a>> {
        let packet = Packet::new_checked(payload).ok()?;
        let kind = packet.message_type().ok()??;
        Some(Message4 {
            packet,
            kind,
            source,
            destination,
            interface_index,
        })
    }

    /// The UDP payload.
    pub fn payload(&self) -> &'a [u8] {
        self.packet.into_inner()
    }
}

/// Where a datagram goes.
#[derive(Debug, Clone, Copy)]
pub enum Route4<'a> {
    /// A client's DHCPDISCOVER, DHCPREQUEST, DHCPDECLINE, DHCPRELEASE or DHCPINFORM.
    Dhcp(Message4<'a>),
    /// A leasequery message (RFC 4388, a configured legacy requester's type, and the bulk and
    /// active leasequery types, which the responder refuses over UDP).
    Leasequery(Message4<'a>),
    /// Nothing any service answers (counted by the router).
    Discard(Discard),
}

/// Why the router discarded a datagram.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Discard {
    /// Not a DHCP message: too short, wrong magic cookie, options that do not parse, no message
    /// type.
    Malformed,
    /// A BOOTREPLY (another server's reply, or our own looped back): servers answer requests.
    Reply,
    /// A BOOTREQUEST of a message type no server answers (DHCPOFFER, DHCPACK, ... sent to us).
    UnexpectedType,
}

impl Discard {
    pub const ALL: [Discard; 3] = [Discard::Malformed, Discard::Reply, Discard::UnexpectedType];

    /// A short stable name, for logs and metrics.
    pub fn name(self) -> &'static str {
        match self {
            Discard::Malformed => "malformed",
            Discard::Reply => "bootreply",
            Discard::UnexpectedType => "unexpected-type",
        }
    }
}

/// Leasequery message types answered (or refused) by the responder over UDP.
const LEASEQUERY_TYPES: [MessageType; 4] = [
    MessageType::LeaseQuery,
    MessageType::BulkLeaseQuery,
    MessageType::ActiveLeaseQuery,
    MessageType::Tls,
];

/// The router of the DHCPv4 server sockets.
#[derive(Debug, Default)]
pub struct Router4 {
    /// Configured draft-00 requesters and the message type each uses for its queries
    /// (docs/protocol.md decision 5): from those sources that type is a leasequery.
    legacy: Vec<(Ipv4Addr, u8)>,
    /// Shared with the routers of later reloads ([`Router4::reconfigured`]).
    counters: Arc<Counters>,
}

/// What the router counts.
#[derive(Debug)]
pub struct Counters {
    /// Routed datagrams, by DHCP message type (index = option 53 value).
    received: [Counter; 256],
    /// Datagrams routed to the DHCP engine.
    pub dhcp: Counter,
    /// Datagrams routed to the leasequery responder.
    pub leasequery: Counter,
    discarded: [Counter; Discard::ALL.len()],
}

impl Default for Counters {
    fn default() -> Self {
        Counters {
            received: std::array::from_fn(|_| Counter::default()),
            dhcp: Counter::default(),
            leasequery: Counter::default(),
            discarded: std::array::from_fn(|_| Counter::default()),
        }
    }
}

impl Counters {
    /// Datagrams received with this DHCP message type (whatever became of them).
    pub fn received(&self, t: MessageType) -> u64 {
        self.received[usize::from(u8::from(t))].get()
    }

    /// Datagrams discarded for this reason.
    pub fn discarded(&self, why: Discard) -> u64 {
        self.discarded[why as usize].get()
    }

    /// Every datagram routed: each went to exactly one of the engine, the responder or a
    /// discard reason, so this equals what the sockets delivered (`udp4 received`).
    pub fn routed(&self) -> u64 {
        let discarded: u64 = Discard::ALL.iter().map(|&why| self.discarded(why)).sum();
        self.dhcp.get() + self.leasequery.get() + discarded
    }
}

impl Report for Counters {
    fn report(&self, out: &mut dyn FnMut(&str, u64)) {
        for (t, c) in (0u8..=255).zip(self.received.iter()) {
            let value = c.get();
            if value > 0 {
                let name = match MessageType::from(t) {
                    MessageType::Unknown(t) => format!("received-type-{t}"),
                    known => format!("received-{}", known.to_string().to_lowercase()),
                };
                out(&name, value);
            }
        }
        out("routed-dhcp", self.dhcp.get());
        out("routed-leasequery", self.leasequery.get());
        for why in Discard::ALL {
            out(&format!("discarded-{}", why.name()), self.discarded(why));
        }
    }
}

impl Router4 {
    /// A router that also takes `legacy` (requester, message type) pairs as leasequery.
    pub fn new(legacy: Vec<(Ipv4Addr, u8)>) -> Router4 {
        Router4 {
            legacy,
            counters: Arc::default(),
        }
    }

    /// The router of a reloaded `config` (its legacy requesters), counting on with this one's
    /// counters.
    pub fn reconfigured(&self, config: &Config) -> Router4 {
        Router4 {
            counters: Arc::clone(&self.counters),
            ..Router4::for_config(config)
        }
    }

    /// The router for `config`: its `[leasequery4] legacy` requesters.
    pub fn for_config(config: &Config) -> Router4 {
        Router4::new(
            config
                .leasequery4
                .as_ref()
                .map(|l| l.legacy.clone())
                .unwrap_or_default(),
        )
    }

    pub fn counters(&self) -> &Counters {
        &self.counters
    }

    /// The counters, as shared with the routers of later reloads.
    pub fn shared_counters(&self) -> &Arc<Counters> {
        &self.counters
    }

    /// Routes one datagram received on a DHCPv4 socket.
    pub fn route<'a>(&self, rx: &Received<'a>) -> Route4<'a> {
        let discard = |why: Discard| {
            self.counters.discarded[why as usize].add();
            Route4::Discard(why)
        };
        let (SocketAddr::V4(source), IpAddr::V4(destination)) = (rx.source, rx.destination) else {
            // A DHCPv4 socket receives IPv4 only.
            return discard(Discard::Malformed);
        };
        let Some(message) = Message4::new(rx.payload, source, destination, rx.interface_index)
        else {
            return discard(Discard::Malformed);
        };
        self.counters.received[usize::from(u8::from(message.kind))].add();
        if message.packet.op() != BOOTREQUEST {
            return discard(Discard::Reply);
        }
        let t = u8::from(message.kind);
        if LEASEQUERY_TYPES.contains(&message.kind)
            || self
                .legacy
                .iter()
                .any(|&(a, lt)| lt == t && a == *source.ip())
        {
            self.counters.leasequery.add();
            return Route4::Leasequery(message);
        }
        match message.kind {
            MessageType::Discover
            | MessageType::Request
            | MessageType::Decline
            | MessageType::Release
            | MessageType::Inform => {
                self.counters.dhcp.add();
                Route4::Dhcp(message)
            }
            _ => discard(Discard::UnexpectedType),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use lessor_wire::v4::{DhcpOption, Repr, BOOTREPLY};

    const REQUESTER: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 9);

    fn message(op: u8, kind: Option<u8>) -> Vec<u8> {
        let mut repr = Repr {
            op,
            xid: 1,
            giaddr: Ipv4Addr::new(198, 51, 100, 1),
            ..Repr::default()
        };
        if let Some(t) = kind {
            repr.options
                .push(DhcpOption::MessageType(MessageType::from(t)));
        }
        repr.to_vec()
    }

    fn route(router: &Router4, payload: &[u8], from: Ipv4Addr) -> &'static str {
        let rx = Received {
            payload,
            source: SocketAddr::V4(SocketAddrV4::new(from, 67)),
            destination: IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1)),
            interface_index: None,
        };
        match router.route(&rx) {
            Route4::Dhcp(_) => "dhcp",
            Route4::Leasequery(_) => "leasequery",
            Route4::Discard(d) => d.name(),
        }
    }

    #[test]
    fn every_datagram_is_routed_once_and_counted() {
        let router = Router4::new(vec![(REQUESTER, 3)]);
        let other = Ipv4Addr::new(192, 0, 2, 10);
        for t in [1u8, 3, 4, 7, 8] {
            assert_eq!(
                route(&router, &message(BOOTREQUEST, Some(t)), other),
                "dhcp",
                "{t}"
            );
        }
        for t in [10u8, 14, 16, 18] {
            assert_eq!(
                route(&router, &message(BOOTREQUEST, Some(t)), other),
                "leasequery"
            );
        }
        // A legacy requester's type is a leasequery from that requester only.
        assert_eq!(
            route(&router, &message(BOOTREQUEST, Some(3)), REQUESTER),
            "leasequery"
        );
        assert_eq!(
            route(&router, &message(BOOTREQUEST, Some(3)), other),
            "dhcp"
        );
        assert_eq!(
            route(&router, &message(BOOTREPLY, Some(2)), other),
            "bootreply"
        );
        assert_eq!(
            route(&router, &message(BOOTREQUEST, Some(5)), other),
            "unexpected-type"
        );
        assert_eq!(
            route(&router, &message(BOOTREQUEST, None), other),
            "malformed"
        );
        assert_eq!(route(&router, b"junk", other), "malformed");
        let c = router.counters();
        assert_eq!(c.received(MessageType::Request), 3);
        assert_eq!(c.dhcp.get(), 6);
        assert_eq!(c.leasequery.get(), 5);
        assert_eq!(c.discarded(Discard::Malformed), 2);
        assert_eq!(c.discarded(Discard::Reply), 1);
        assert_eq!(c.discarded(Discard::UnexpectedType), 1);
        // 15 datagrams, each routed once, and the report says where every one went.
        assert_eq!(c.routed(), 15);
        let line = crate::stats::line(c);
        assert!(
            line.contains(
                "routed-dhcp=6 routed-leasequery=5 discarded-malformed=2 \
                 discarded-bootreply=1 discarded-unexpected-type=1"
            ),
            "{line}"
        );
    }
}
