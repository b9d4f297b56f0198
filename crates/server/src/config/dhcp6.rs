//! `[dhcp6]` resolved: what the DHCPv6 engine and shell read once the file passed every check
//! (the TOML shape is `schema::Dhcp6`; the rules are in `validate6`). Lifetimes and timers are
//! resolved per link with the section's defaults; options are encoded per level (section, link,
//! pool, host) and merged by the engine, the most specific level winning per option code.

use std::net::Ipv6Addr;

use ipnet::Ipv6Net;

use super::duration::Seconds;

/// A DHCPv6 option the config sets: its code and its encoded value (RFC 8415 §21 formats).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfiguredOption6 {
    pub code: u16,
    pub value: Vec<u8>,
}

/// Preferred and valid lifetimes with T1 and T2, after defaults (T1 = 0.5 and T2 = 0.8 of the
/// preferred lifetime, RFC 8415 §21.4).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Lifetimes6 {
    pub preferred: Seconds,
    pub valid: Seconds,
    pub renew_time: Seconds,
    pub rebind_time: Seconds,
}

/// An inclusive range of addresses for IA_NA, with the options of its clients.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AddressPool6 {
    pub first: Ipv6Addr,
    pub last: Ipv6Addr,
    pub options: Vec<ConfiguredOption6>,
}

impl AddressPool6 {
    pub fn contains(&self, a: Ipv6Addr) -> bool {
        (u128::from(self.first)..=u128::from(self.last)).contains(&u128::from(a))
    }

    /// How many addresses the pool holds (at least 1), saturating.
    pub fn size(&self) -> u128 {
        (u128::from(self.last) - u128::from(self.first)).saturating_add(1)
    }
}

/// A prefix-delegation pool: `prefix` cut into prefixes of `delegated_len`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PrefixPool6 {
    pub prefix: Ipv6Net,
    pub delegated_len: u8,
    pub options: Vec<ConfiguredOption6>,
}

impl PrefixPool6 {
    /// How many prefixes the pool delegates, saturating.
    pub fn size(&self) -> u128 {
        1u128
            .checked_shl(u32::from(self.delegated_len - self.prefix.prefix_len()))
            .unwrap_or(u128::MAX)
    }
}

/// A reservation by DUID: the addresses and prefixes that client always gets on the link.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reservation6 {
    pub duid: Vec<u8>,
    pub addresses: Vec<Ipv6Addr>,
    pub prefixes: Vec<Ipv6Net>,
    pub options: Vec<ConfiguredOption6>,
}

/// A link: where clients are, identified by a prefix (a relay's link-address lies in it; a
/// direct client's receiving interface is named by `interface`), and, for relays whose
/// link-address does not tell, by interface-id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Link6 {
    pub prefix: Ipv6Net,
    /// Interface-id values (option 18) of relays that identify the link by it.
    pub interface_ids: Vec<Vec<u8>>,
    /// The local interface direct clients of this link reach the server on.
    pub interface: Option<String>,
    pub lifetimes: Lifetimes6,
    pub address_pools: Vec<AddressPool6>,
    pub prefix_pools: Vec<PrefixPool6>,
    pub reservations: Vec<Reservation6>,
    pub options: Vec<ConfiguredOption6>,
}

/// How the server's DUID is known.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ServerDuid {
    /// `[dhcp6] server-duid`: used as written.
    Configured(Vec<u8>),
    /// Not configured: generated once and kept in the store's meta table.
    Generated,
}

/// `[dhcp6]` resolved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dhcp6 {
    pub server_duid: ServerDuid,
    /// Local addresses answering relayed and unicast traffic.
    pub listen: Vec<Ipv6Addr>,
    /// Interfaces whose direct clients are served (ff02::1:2 joined there).
    pub interfaces: Vec<String>,
    pub port: u16,
    /// Whether a SOLICIT with Rapid Commit is answered with a REPLY (RFC 8415 §18.3.1).
    pub rapid_commit: bool,
    /// How long a declined address stays out of allocation.
    pub decline_probation: Seconds,
    /// Threads reading each socket; None: as for DHCPv4.
    pub receive_threads: Option<u16>,
    /// Whether runs of equal-sized replies leave segmented (`UDP_SEGMENT`).
    pub segment_replies: bool,
    /// Options of every link.
    pub options: Vec<ConfiguredOption6>,
    pub links: Vec<Link6>,
    /// `[dhcp6.rate-limit]`.
    pub rate_limit: super::schema::Dhcp6RateLimit,
}
