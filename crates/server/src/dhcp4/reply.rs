//! Building replies (RFC 2131 §4.3.1 table 3) and choosing where they go (§4.1).

use crate::config::options::ConfiguredOption;
use crate::config::Timers;
use ipnet::Ipv4Net;
use lessor_net::{Destination, Outgoing};
use lessor_wire::v4::{code, DhcpOption, MessageType, Repr, BOOTREPLY, FLAG_BROADCAST};
use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4};

/// The client port (RFC 2131 §4.1).
pub const CLIENT_PORT: u16 = 68;

/// Lease parameters of a DHCPOFFER / DHCPACK for an address.
#[derive(Debug, Clone, Copy)]
pub struct Lease {
    pub timers: Timers,
}

/// What goes into a reply besides the header copied from the request.
#[derive(Debug)]
pub struct Content<'a> {
    pub kind: MessageType,
    pub yiaddr: Ipv4Addr,
    /// ciaddr of the reply: the request's for a DHCPACK, 0 otherwise (table 3).
    pub ciaddr: Ipv4Addr,
    pub server_identifier: Ipv4Addr,
    /// Lease time, T1, T2 (DHCPOFFER, DHCPACK to a DHCPREQUEST).
    pub lease: Option<Lease>,
    /// The subnet, for the subnet mask (not in a DHCPNAK).
    pub subnet: Option<Ipv4Net>,
    /// Configured options, most specific first (reservation, subnet, global): the first
    /// occurrence of a code wins.
    pub configured: &'a [&'a [ConfiguredOption]],
    /// Option 56 text (DHCPNAK).
    pub message: Option<&'a str>,
}

/// The reply to `request`: header fields per RFC 2131 table 3, options in this order: 53, 54,
/// 51/58/59, 1, the configured options (those in the Parameter Request List first, in its order),
/// 56, the client identifier (61) exactly as the client sent it, and last option 82 echoed byte
/// for byte (RFC 3046 §2.2).
///
/// Option 61: RFC 6842 (§3, and its update of RFC 2131 table 3) makes a server that received a
/// client identifier return it unaltered in every reply, DHCPOFFER, DHCPACK and DHCPNAK alike
/// (RFC 2131 had said MUST NOT), so that a client or relay without a usable chaddr can tell its
/// replies apart.
pub fn build(request: &Repr, c: &Content<'_>) -> Repr {
    let mut flags = request.flags;
    if c.kind == MessageType::Nak && !request.giaddr.is_unspecified() {
        // RFC 2131 §4.3.2: a DHCPNAK through a relay asks it to broadcast.
        flags |= FLAG_BROADCAST;
    }
    let mut options = vec![
        DhcpOption::MessageType(c.kind),
        DhcpOption::ServerIdentifier(c.server_identifier),
    ];
    if let Some(l) = c.lease {
        options.push(DhcpOption::IpAddressLeaseTime(l.timers.lease_time.0));
        options.push(DhcpOption::RenewalTime(l.timers.renew_time.0));
        options.push(DhcpOption::RebindingTime(l.timers.rebind_time.0));
    }
    if c.kind != MessageType::Nak {
        let merged = merge(c.configured);
        let configured_mask = merged.iter().find(|o| o.code == code::SUBNET_MASK);
        match (configured_mask, c.subnet) {
            (Some(o), _) => options.push(other(o)),
            (None, Some(net)) => options.push(DhcpOption::SubnetMask(net.netmask())),
            (None, None) => {}
        }
        let prl: &[u8] = match request.option(code::PARAMETER_REQUEST_LIST) {
            Some(DhcpOption::ParameterRequestList(l)) => l,
            _ => &[],
        };
        let rest: Vec<&ConfiguredOption> = merged
            .into_iter()
            .filter(|o| o.code != code::SUBNET_MASK)
            .collect();
        let mut sent = vec![false; rest.len()];
        for wanted in prl {
            if let Some(k) = rest.iter().position(|o| o.code == *wanted) {
                if !sent[k] {
                    sent[k] = true;
                    options.push(other(rest[k]));
                }
            }
        }
        for (k, o) in rest.iter().enumerate() {
            if !sent[k] {
                options.push(other(o));
            }
        }
    }
    if let Some(text) = c.message {
        options.push(DhcpOption::Other {
            code: code::MESSAGE,
            data: text.as_bytes().to_vec(),
        });
    }
    // RFC 6842 §3: the client identifier the client sent, unaltered, in every reply.
    if let Some(DhcpOption::ClientIdentifier(id)) = request.option(code::CLIENT_IDENTIFIER) {
        options.push(DhcpOption::ClientIdentifier(id.clone()));
    }
    // RFC 3046 §2.2: echoed in every reply (a relay that inserted it strips it again).
    if let Some(rai) = request.relay_agent_information() {
        options.push(DhcpOption::RelayAgentInformation(rai.clone()));
    }
    Repr {
        op: BOOTREPLY,
        htype: request.htype,
        hlen: request.hlen,
        hops: 0,
        xid: request.xid,
        secs: 0,
        flags,
        ciaddr: c.ciaddr,
        yiaddr: c.yiaddr,
        siaddr: Ipv4Addr::UNSPECIFIED,
        giaddr: request.giaddr,
        chaddr: request.chaddr,
        sname: [0; 64],
        file: [0; 128],
        options,
    }
}

fn other(o: &ConfiguredOption) -> DhcpOption {
    DhcpOption::Other {
        code: o.code,
        data: o.value.clone(),
    }
}

/// One option per code, the most specific table first, in table order.
fn merge<'a>(tables: &[&'a [ConfiguredOption]]) -> Vec<&'a ConfiguredOption> {
    let mut out: Vec<&ConfiguredOption> = Vec::new();
    for table in tables {
        for o in table.iter() {
            if !out.iter().any(|e| e.code == o.code) {
                out.push(o);
            }
        }
    }
    out
}

/// Where a reply goes (RFC 2131 §4.1): to the relay at giaddr; a direct DHCPNAK broadcast
/// out of its interface; to ciaddr when the client has one (a DHCPNAK too, when the message came
/// unicast from outside a served interface); broadcast when the client asked for it or has no
/// address to be given; otherwise unicast to the hardware address. `None`: nowhere to send.
pub fn destination(
    request: &Repr,
    reply: &Repr,
    relay_port: u16,
    interface_index: Option<u32>,
) -> Option<Destination> {
    if !request.giaddr.is_unspecified() {
        return Some(Destination::Relay(SocketAddr::V4(SocketAddrV4::new(
            request.giaddr,
            relay_port,
        ))));
    }
    let nak = reply.message_type() == Some(MessageType::Nak);
    let broadcast = |interface_index| Destination::Broadcast {
        interface_index,
        port: CLIENT_PORT,
    };
    if let (true, Some(interface_index)) = (nak, interface_index) {
        return Some(broadcast(interface_index));
    }
    if !request.ciaddr.is_unspecified() {
        return Some(Destination::Client(SocketAddr::V4(SocketAddrV4::new(
            request.ciaddr,
            CLIENT_PORT,
        ))));
    }
    let interface_index = interface_index?;
    if request.flags & FLAG_BROADCAST != 0 || reply.yiaddr.is_unspecified() {
        return Some(broadcast(interface_index));
    }
    Some(Destination::Hardware {
        interface_index,
        address: reply.yiaddr,
        port: CLIENT_PORT,
        htype: request.htype,
        hlen: request.hlen,
        chaddr: request.chaddr,
    })
}

/// The smallest maximum message size a client may state, and what one that states none
/// accepts (RFC 2131 §2, RFC 2132 §9.10): IP and UDP headers included.
pub const MIN_MESSAGE_SIZE: u16 = 576;

/// IPv4 and UDP headers, which a Maximum DHCP Message Size counts.
const IP_UDP_HEADERS: usize = 28;

/// Which options may be left out of a reply that would not fit, first to go first (lower
/// sooner; `None`: never). docs/protocol.md decision 12.
fn omission_rank(code: u8, prl: &[u8]) -> Option<usize> {
    match code {
        // What makes the reply a DHCP reply and its lease a lease, and option 82, without which
        // the relay cannot deliver it (RFC 3046 §2.2).
        code::DHCP_MESSAGE_TYPE
        | code::SERVER_IDENTIFIER
        | code::IP_ADDRESS_LEASE_TIME
        | code::RENEWAL_TIME_VALUE
        | code::REBINDING_TIME_VALUE
        | code::SUBNET_MASK
        | code::RELAY_AGENT_INFORMATION => None,
        // The client identifier echoed (RFC 6842), then the DHCPNAK's text: the client tells
        // its replies apart by xid and chaddr too.
        code::CLIENT_IDENTIFIER => Some(usize::MAX - 1),
        code::MESSAGE => Some(usize::MAX - 2),
        // Configured options: those the client did not ask for first, then those it asked for
        // last, in reverse order of its Parameter Request List.
        c => Some(match prl.iter().position(|&w| w == c) {
            Some(k) => 1 + prl.len() - k,
            None => 0,
        }),
    }
}

/// Encodes `reply` to `request` (the DHCP engine's replies) within the client's Maximum DHCP Message Size (57; at least, and
/// without one exactly, [`MIN_MESSAGE_SIZE`]): overloading `file`/`sname` when that is enough,
/// else leaving options out in [`omission_rank`] order, options of the same rank last first
/// (docs/protocol.md decision 12). Returns the datagram and how many options were left out;
/// `None` when even the options that are never left out do not fit. Never larger than the limit.
pub fn encode_within(
    request: &Repr,
    reply: &Repr,
    max_message_size: Option<u16>,
    destination: Destination,
) -> Option<(Outgoing, usize)> {
    let max = usize::from(
        max_message_size
            .unwrap_or(MIN_MESSAGE_SIZE)
            .max(MIN_MESSAGE_SIZE),
    ) - IP_UDP_HEADERS;
    if let Ok(payload) = reply.to_vec_with_max(max) {
        return Some((
            Outgoing {
                payload,
                destination,
            },
            0,
        ));
    }
    let prl: &[u8] = match request.option(code::PARAMETER_REQUEST_LIST) {
        Some(DhcpOption::ParameterRequestList(l)) => l,
        _ => &[],
    };
    // Positions of the options that may go, in the order they go.
    let mut order: Vec<(usize, usize)> = reply
        .options
        .iter()
        .enumerate()
        .filter_map(|(i, o)| omission_rank(o.code(), prl).map(|r| (r, i)))
        .collect();
    order.sort_by(|a, b| a.0.cmp(&b.0).then(b.1.cmp(&a.1)));
    let mut kept = vec![true; reply.options.len()];
    let mut smaller = reply.clone();
    for (n, &(_, i)) in order.iter().enumerate() {
        kept[i] = false;
        smaller.options = reply
            .options
            .iter()
            .zip(&kept)
            .filter(|(_, &k)| k)
            .map(|(o, _)| o.clone())
            .collect();
        if let Ok(payload) = smaller.to_vec_with_max(max) {
            return Some((
                Outgoing {
                    payload,
                    destination,
                },
                n + 1,
            ));
        }
    }
    None
}

/// Encodes `reply`, overloading `file`/`sname` if the client's Maximum DHCP Message Size (57,
/// at least 576, RFC 2132 §9.10) minus IP and UDP headers asks for it.
pub fn encode(reply: &Repr, max_message_size: Option<u16>, destination: Destination) -> Outgoing {
    let max = usize::from(max_message_size.unwrap_or(576).max(576)) - 28;
    let payload = reply
        .to_vec_with_max(max)
        .unwrap_or_else(|_| reply.to_vec());
    Outgoing {
        payload,
        destination,
    }
}
