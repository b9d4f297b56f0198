//! Which configured link a message's client is on (RFC 8415 §13.1).
//!
//! - Relayed: the innermost relay's link-address, when a link's prefix holds it; else that
//!   relay's Interface-Id, when a link is configured with it (relays that leave link-address
//!   unspecified, or whose link-address no link holds, identify the link that way).
//! - Direct: the served interface it arrived on: the link naming that interface, else the link
//!   whose prefix holds one of the interface's addresses.

use super::relay::innermost_hop;
use crate::config::Link6;
use crate::router6::Message6;
use lessor_net::Interface;
use lessor_wire::v6::DhcpOption;

/// The link of `msg` (its index in `links`), given the served interface it came on for a
/// direct message.
pub fn select(links: &[Link6], msg: &Message6, interface: Option<&Interface>) -> Option<usize> {
    if let Some(hop) = innermost_hop(msg) {
        let by_address = (!hop.link_address.is_unspecified())
            .then(|| {
                links
                    .iter()
                    .position(|l| l.prefix.contains(&hop.link_address))
            })
            .flatten();
        return by_address.or_else(|| {
            let id = hop.options.iter().find_map(|o| match o {
                DhcpOption::InterfaceId(v) => Some(v),
                _ => None,
            })?;
            links.iter().position(|l| l.interface_ids.contains(id))
        });
    }
    let interface = interface?;
    links
        .iter()
        .position(|l| l.interface.as_deref() == Some(interface.name.as_str()))
        .or_else(|| {
            links
                .iter()
                .position(|l| interface.v6.iter().any(|n| l.prefix.contains(&n.addr())))
        })
}
