//! Which configured subnet a message belongs to.
//!
//! Relayed (giaddr set): the link-selection sub-option of option 82 (RFC 3527: the relay names
//! the client's subnet apart from the address it is reached at), else the subnet-selection option
//! (RFC 3011), else giaddr (RFC 2131 §4.3.1). Direct: subnet-selection (which the engine passes
//! only from configured relays, so never here: docs/protocol.md decision 10), else ciaddr when a
//! configured subnet holds it (a client with an address: RENEWING, DHCPINFORM, a renewal that
//! bypasses its relay and arrives unicast), else an address of the receiving interface.

use crate::config::Subnet;
use lessor_net::Interface;
use std::net::Ipv4Addr;

/// What picked the subnet, for tests and logs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Selector {
    /// Option 82 sub-option 5 (RFC 3527).
    LinkSelection(Ipv4Addr),
    /// Option 118 (RFC 3011).
    SubnetSelection(Ipv4Addr),
    /// The relay agent's address.
    Giaddr(Ipv4Addr),
    /// An address of the interface the message arrived on.
    Interface(Ipv4Addr),
    /// The client's own address (direct unicast).
    Ciaddr(Ipv4Addr),
}

/// The inputs of subnet selection, read from one message.
#[derive(Debug, Clone, Copy)]
pub struct Hints<'a> {
    pub giaddr: Ipv4Addr,
    pub ciaddr: Ipv4Addr,
    pub link_selection: Option<Ipv4Addr>,
    pub subnet_selection: Option<Ipv4Addr>,
    /// The served interface the message arrived on (direct messages only).
    pub interface: Option<&'a Interface>,
}

fn containing(subnets: &[Subnet], a: Ipv4Addr) -> Option<usize> {
    subnets.iter().position(|s| s.prefix.contains(&a))
}

/// The index of the selected subnet and what selected it; `None`: no configured subnet fits.
pub fn select(subnets: &[Subnet], h: &Hints<'_>) -> Option<(usize, Selector)> {
    if !h.giaddr.is_unspecified() {
        let (a, why) = match (h.link_selection, h.subnet_selection) {
            (Some(a), _) => (a, Selector::LinkSelection(a)),
            (None, Some(a)) => (a, Selector::SubnetSelection(a)),
            (None, None) => (h.giaddr, Selector::Giaddr(h.giaddr)),
        };
        return containing(subnets, a).map(|i| (i, why));
    }
    if let Some(a) = h.subnet_selection {
        return containing(subnets, a).map(|i| (i, Selector::SubnetSelection(a)));
    }
    if !h.ciaddr.is_unspecified() {
        if let Some(i) = containing(subnets, h.ciaddr) {
            return Some((i, Selector::Ciaddr(h.ciaddr)));
        }
    }
    h.interface?.v4.iter().find_map(|net| {
        let a = net.addr();
        containing(subnets, a).map(|i| (i, Selector::Interface(a)))
    })
}
