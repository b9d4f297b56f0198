//! Reading a DHCPLEASEQUERY (RFC 4388 §6.3) the router classified: a non-zero giaddr and options
//! that parse. Uses the zero-copy [`Packet`] view and its one-pass
//! [`OptionIndex`](lessor_wire::v4::OptionIndex); what the responder needs is copied out, so
//! nothing here holds the buffer.

use super::counters::DropReason;
use crate::router4::Message4;
use lessor_wire::v4::{code, MessageType, Packet, RelayAgentInformation};
use std::net::Ipv4Addr;

/// The fields of a query the responder uses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Query {
    pub message_type: MessageType,
    pub xid: u32,
    pub flags: u16,
    pub ciaddr: Ipv4Addr,
    pub giaddr: Ipv4Addr,
    pub htype: u8,
    pub hlen: u8,
    pub chaddr: [u8; 16],
    /// Parameter Request List (55), when present.
    pub prl: Option<Vec<u8>>,
    /// Maximum DHCP Message Size (57), for encoding the reply.
    pub max_message_size: Option<u16>,
    /// Client-identifier (61) value.
    pub client_id: Option<Vec<u8>>,
    /// Relay Agent Information (82) value, sub-options checked.
    pub relay_agent_information: Option<Vec<u8>>,
}

impl Query {
    /// The significant chaddr octets (`hlen` of them).
    pub fn client_hw_addr(&self) -> &[u8] {
        &self.chaddr[..usize::from(self.hlen).min(16)]
    }
}

/// Reads a message the router routed as leasequery. giaddr 0 is refused here, before anything
/// else is looked at (RFC 4388 §6.4.3: "MUST NOT reply").
pub fn read(message: &Message4<'_>) -> Result<Query, DropReason> {
    read_packet(&message.packet, message.kind)
}

fn read_packet(packet: &Packet<&[u8]>, message_type: MessageType) -> Result<Query, DropReason> {
    let index = packet.index().map_err(|_| DropReason::Malformed)?;
    if packet.giaddr().is_unspecified() {
        return Err(DropReason::GiaddrZero);
    }
    let prl = index
        .parameter_request_list()
        .map_err(|_| DropReason::Malformed)?
        .map(|v| v.into_owned());
    let max_message_size = index.max_message_size().ok().flatten();
    let client_id = index
        .option(code::CLIENT_IDENTIFIER)
        .map_err(|_| DropReason::Malformed)?
        .map(|v| v.into_owned());
    if client_id.as_ref().is_some_and(|v| v.is_empty()) {
        return Err(DropReason::Malformed);
    }
    let relay_agent_information = match index
        .option(code::RELAY_AGENT_INFORMATION)
        .map_err(|_| DropReason::Malformed)?
    {
        Some(raw) => {
            let checked = RelayAgentInformation::new_checked(raw.into_owned())
                .map_err(|_| DropReason::Malformed)?;
            Some(checked.as_bytes().to_vec())
        }
        None => None,
    };
    Ok(Query {
        message_type,
        xid: packet.xid(),
        flags: packet.flags(),
        ciaddr: packet.ciaddr(),
        giaddr: packet.giaddr(),
        htype: packet.htype(),
        hlen: packet.hlen(),
        chaddr: packet.chaddr(),
        prl,
        max_message_size,
        client_id,
        relay_agent_information,
    })
}
