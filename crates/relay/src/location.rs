//! The location table: for every address (DHCPv4, DHCPv6) or delegated prefix (DHCPv6) bound to a
//! client behind this relay, who holds it and where that client is (downstream interface,
//! circuit-id or interface-id, remote-id), until when.
//!
//! Entries come from three places ([`Origin`]): gleaned from an answer the relay forwarded (a
//! DHCPACK, a DHCPv6 Reply), recovered from the servers by bulk leasequery after a restart, or
//! learnt from a UDP leasequery on demand. Whatever the origin, one rule settles a conflict: the
//! entry with the most recent client-last-transaction-time wins (RFC 4388 §6.8, RFC 5007
//! §4.3.4), an entry without one losing to any entry with one. A gleaned entry's CLTT is the
//! moment the relay saw the answer, so what the relay sees always supersedes what it was told
//! earlier, and of two servers' answers the fresher one stays.
//!
//! The table is memory only by design (issue 15: recovery is what leasequery is for). Lookups,
//! merges and removals are O(log n); expiry walks only what is due.

use std::collections::{BTreeMap, BTreeSet};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::sync::Arc;

use ipnet::{IpNet, Ipv4Net, Ipv6Net};

/// How the relay came to know an entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Origin {
    /// From an answer the relay forwarded to the client.
    Gleaned,
    /// From a bulk leasequery at start.
    Recovered,
    /// From a UDP leasequery on demand.
    Queried,
}

impl Origin {
    /// The name used in listings and counters.
    pub fn as_str(self) -> &'static str {
        match self {
            Origin::Gleaned => "gleaned",
            Origin::Recovered => "recovered",
            Origin::Queried => "queried",
        }
    }
}

/// A DHCPv4 client's link-layer address: htype and the hlen octets of chaddr.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Hardware {
    pub htype: u8,
    pub address: Vec<u8>,
}

/// Where one bound address or prefix is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Location {
    /// What is bound: an IPv4 address (/32), an IPv6 address (/128) or a delegated prefix.
    pub bound: IpNet,
    /// The DHCPv4 client's hardware address (none for DHCPv6).
    pub hardware: Option<Hardware>,
    /// The DHCPv4 client identifier (option 61) or the DHCPv6 client's DUID.
    pub client_id: Option<Vec<u8>>,
    /// The downstream interface the client is behind, when known (a recovered entry knows it
    /// only if the circuit-id or interface-id names one of this relay's interfaces).
    pub interface: Option<Arc<str>>,
    /// DHCPv4 circuit-id (option 82 sub-option 1) or DHCPv6 Interface-Id (option 18).
    pub circuit_id: Option<Vec<u8>>,
    /// DHCPv4 remote-id (sub-option 2) or DHCPv6 Remote-Id (option 37, enterprise number first).
    pub remote_id: Option<Vec<u8>>,
    /// When the binding ends (valid lifetime), wall-clock seconds since the Unix epoch.
    pub expires: u64,
    /// Client-last-transaction-time, wall-clock seconds since the Unix epoch.
    pub cltt: Option<u64>,
    pub origin: Origin,
}

/// What [`LocationTable::merge`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Merge {
    /// Nothing was known of this address or prefix.
    Added,
    /// The new entry is at least as recent as the one it replaced.
    Replaced,
    /// The entry already held is more recent: the new one was dropped.
    Kept,
}

/// The answer to a source-verification question ([`LocationTable::verify_source`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// The source address is bound to a client behind this interface (with this hardware
    /// address, when both are known).
    Allowed,
    /// Nothing is known of the source address (a leasequery may tell more).
    Unknown,
    /// The binding ended.
    Expired,
    /// The address belongs to a client behind another interface.
    OtherInterface,
    /// The address belongs to another hardware address.
    OtherHardware,
}

/// The table's key: DHCPv4 addresses sort before DHCPv6 ones; a DHCPv6 prefix sorts just before
/// the addresses inside it (first address, then length), so the prefix holding an address is the
/// nearest key at or below the address's /128.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
enum Key {
    V4(u32),
    V6(u128, u8),
}

impl Key {
    /// A DHCPv4 bound is always one address: a prefix length other than 32 is not kept.
    fn of(bound: &IpNet) -> Key {
        match bound {
            IpNet::V4(n) => Key::V4(u32::from(n.addr())),
            IpNet::V6(n) => Key::V6(u128::from(n.network()), n.prefix_len()),
        }
    }

    fn address(address: IpAddr) -> Key {
        match address {
            IpAddr::V4(a) => Key::V4(u32::from(a)),
            IpAddr::V6(a) => Key::V6(u128::from(a), 128),
        }
    }
}

/// The normal form of a bound: a DHCPv4 address as its /32, a DHCPv6 prefix truncated to its
/// length.
fn normal(bound: IpNet) -> IpNet {
    match bound {
        IpNet::V4(n) => IpNet::V4(Ipv4Net::from(n.addr())),
        IpNet::V6(n) => IpNet::V6(n.trunc()),
    }
}

/// The location table (see the module docs).
#[derive(Debug, Clone, Default)]
pub struct LocationTable {
    entries: BTreeMap<Key, Location>,
    /// `(expires, key)` of every entry.
    expiry: BTreeSet<(u64, Key)>,
    /// `(hardware address, key)` of every entry that knows one: a DHCPNAK names the client, not
    /// the address (see [`LocationTable::remove_client`]).
    by_hardware: BTreeSet<(Vec<u8>, Key)>,
}

impl LocationTable {
    /// An empty table.
    pub fn new() -> LocationTable {
        LocationTable::default()
    }

    /// Number of entries (expired ones not yet removed included).
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether the table is empty.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Every entry: DHCPv4 addresses in order, then DHCPv6 addresses and prefixes in order.
    pub fn iter(&self) -> impl Iterator<Item = &Location> + '_ {
        self.entries.values()
    }

    /// Adds `location`, or replaces the entry of the same address or prefix when `location` is
    /// at least as recent (CLTT; none is older than any). The bound is kept in normal form (a
    /// DHCPv4 address's /32; a DHCPv6 prefix truncated to its length).
    pub fn merge(&mut self, mut location: Location) -> Merge {
        location.bound = normal(location.bound);
        let key = Key::of(&location.bound);
        let merge = match self.entries.get(&key) {
            None => Merge::Added,
            Some(held) if held.cltt > location.cltt => return Merge::Kept,
            Some(held) => {
                self.expiry.remove(&(held.expires, key));
                if let Some(h) = &held.hardware {
                    self.by_hardware.remove(&(h.address.clone(), key));
                }
                Merge::Replaced
            }
        };
        self.expiry.insert((location.expires, key));
        if let Some(h) = &location.hardware {
            self.by_hardware.insert((h.address.clone(), key));
        }
        self.entries.insert(key, location);
        merge
    }

    /// Forgets `key`'s entry in the secondary indexes.
    fn unindex(&mut self, key: Key, held: &Location) {
        self.expiry.remove(&(held.expires, key));
        if let Some(h) = &held.hardware {
            self.by_hardware.remove(&(h.address.clone(), key));
        }
    }

    /// Removes every entry of the client with this hardware address behind `interface` (a
    /// DHCPNAK: the client's address is no longer its own), and returns them.
    pub fn remove_client(&mut self, interface: &str, hardware: &Hardware) -> Vec<Location> {
        let keys: Vec<Key> = self
            .by_hardware
            .range((hardware.address.clone(), Key::V4(0))..)
            .take_while(|(a, _)| *a == hardware.address)
            .map(|&(_, k)| k)
            .filter(|k| {
                self.entries.get(k).is_some_and(|l| {
                    l.interface.as_deref() == Some(interface)
                        && l.hardware
                            .as_ref()
                            .is_some_and(|h| h.htype == hardware.htype)
                })
            })
            .collect();
        let mut out = Vec::with_capacity(keys.len());
        for key in keys {
            if let Some(held) = self.entries.remove(&key) {
                self.unindex(key, &held);
                out.push(held);
            }
        }
        out
    }

    /// Removes the entry of this address or prefix.
    pub fn remove(&mut self, bound: IpNet) -> Option<Location> {
        let key = Key::of(&normal(bound));
        let held = self.entries.remove(&key)?;
        self.unindex(key, &held);
        Some(held)
    }

    /// Removes the entry of this address or prefix if `client` says it is that client's (a
    /// DHCPRELEASE removes only the releasing client's entry).
    pub fn remove_if(
        &mut self,
        bound: IpNet,
        client: impl FnOnce(&Location) -> bool,
    ) -> Option<Location> {
        let key = Key::of(&normal(bound));
        if !self.entries.get(&key).is_some_and(client) {
            return None;
        }
        self.remove(bound)
    }

    /// The entry of exactly this address or prefix, expired or not.
    pub fn get(&self, bound: IpNet) -> Option<&Location> {
        self.entries.get(&Key::of(&normal(bound)))
    }

    /// The entry covering `address` at `now`: its own (a /32 or /128), else the DHCPv6 delegated
    /// prefix containing it. Expired entries are not returned. Relies on what the servers
    /// guarantee: delegated prefixes and addresses do not overlap, so no other entry lies between
    /// a prefix's first address and an address inside it.
    pub fn lookup(&self, address: IpAddr, now: u64) -> Option<&Location> {
        let key = Key::address(address);
        let found = match self.entries.get(&key) {
            Some(l) => Some(l),
            None => match address {
                IpAddr::V4(_) => None,
                IpAddr::V6(a) => self
                    .entries
                    .range(..key)
                    .next_back()
                    .map(|(_, l)| l)
                    .filter(|l| l.bound.contains(&IpAddr::V6(a))),
            },
        };
        found.filter(|l| l.expires > now)
    }

    /// Removes the entries whose binding ended at or before `now`, earliest first, and returns
    /// them.
    pub fn expire(&mut self, now: u64) -> Vec<Location> {
        let mut out = Vec::new();
        while let Some(&(expires, key)) = self.expiry.first() {
            if expires > now {
                break;
            }
            self.expiry.pop_first();
            if let Some(held) = self.entries.remove(&key) {
                if let Some(h) = &held.hardware {
                    self.by_hardware.remove(&(h.address.clone(), key));
                }
                out.push(held);
            }
        }
        out
    }

    /// When the next entry ends, if any.
    pub fn next_expiry(&self) -> Option<u64> {
        self.expiry.first().map(|&(t, _)| t)
    }

    /// Whether a packet from `source`, arriving on `interface` with link-layer source
    /// `hardware` (when the caller knows it), comes from the client the table says holds
    /// `source` (source verification: "cable source-verify dhcp"). An entry that knows no
    /// interface or no hardware address does not hold the packet to it.
    pub fn verify_source(
        &self,
        interface: &str,
        source: IpAddr,
        hardware: Option<&[u8]>,
        now: u64,
    ) -> Verdict {
        let key = Key::address(source);
        let entry = match self.entries.get(&key) {
            Some(l) => Some(l),
            None => self
                .entries
                .range(..key)
                .next_back()
                .map(|(_, l)| l)
                .filter(|l| source.is_ipv6() && l.bound.contains(&source)),
        };
        let Some(entry) = entry else {
            return Verdict::Unknown;
        };
        if entry.expires <= now {
            return Verdict::Expired;
        }
        if entry.interface.as_deref().is_some_and(|i| i != interface) {
            return Verdict::OtherInterface;
        }
        match (&entry.hardware, hardware) {
            (Some(h), Some(seen)) if h.address != seen => Verdict::OtherHardware,
            _ => Verdict::Allowed,
        }
    }

    /// Number of DHCPv4 entries and of DHCPv6 entries.
    pub fn counts(&self) -> (usize, usize) {
        let v4 = self
            .entries
            .range(..Key::V6(0, 0))
            .filter(|(k, _)| matches!(k, Key::V4(_)))
            .count();
        (v4, self.entries.len() - v4)
    }
}

/// A DHCPv4 address as a bound.
pub fn bound4(address: Ipv4Addr) -> IpNet {
    IpNet::V4(Ipv4Net::from(address))
}

/// A DHCPv6 address (`prefix_len` 128) or delegated prefix as a bound.
pub fn bound6(address: Ipv6Addr, prefix_len: u8) -> Option<IpNet> {
    Ipv6Net::new(address, prefix_len).ok().map(IpNet::V6)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(bound: &str, cltt: Option<u64>, expires: u64, origin: Origin) -> Location {
        let bound: IpNet = match bound.parse() {
            Ok(n) => n,
            Err(_) => IpNet::from(bound.parse::<IpAddr>().unwrap()),
        };
        Location {
            bound,
            hardware: None,
            client_id: Some(vec![1, 2, 3]),
            interface: Some("eth1".into()),
            circuit_id: None,
            remote_id: None,
            expires,
            cltt,
            origin,
        }
    }

    #[test]
    fn the_most_recent_cltt_wins_in_either_order() {
        let older = at("198.51.100.7", Some(100), 1000, Origin::Recovered);
        let newer = Location {
            client_id: Some(vec![9]),
            ..at("198.51.100.7", Some(200), 900, Origin::Recovered)
        };
        let mut a = LocationTable::new();
        assert_eq!(a.merge(older.clone()), Merge::Added);
        assert_eq!(a.merge(newer.clone()), Merge::Replaced);
        let mut b = LocationTable::new();
        assert_eq!(b.merge(newer.clone()), Merge::Added);
        assert_eq!(b.merge(older), Merge::Kept);
        for t in [&a, &b] {
            assert_eq!(t.len(), 1);
            assert_eq!(t.get(newer.bound).unwrap().client_id, Some(vec![9]));
            // The replaced entry's expiry went with it.
            assert_eq!(t.next_expiry(), Some(900));
        }
    }

    #[test]
    fn an_entry_without_cltt_loses_to_one_with_it_and_ties_go_to_the_newcomer() {
        let mut t = LocationTable::new();
        t.merge(at("198.51.100.7", Some(5), 1000, Origin::Recovered));
        assert_eq!(
            t.merge(at("198.51.100.7", None, 1000, Origin::Queried)),
            Merge::Kept
        );
        assert_eq!(
            t.merge(at("198.51.100.7", Some(5), 1000, Origin::Gleaned)),
            Merge::Replaced
        );
        assert_eq!(
            t.lookup("198.51.100.7".parse().unwrap(), 0).unwrap().origin,
            Origin::Gleaned
        );
    }

    #[test]
    fn an_address_inside_a_delegated_prefix_finds_the_prefix() {
        let mut t = LocationTable::new();
        t.merge(at("2001:db8:8000::/56", Some(1), 1000, Origin::Gleaned));
        t.merge(at("2001:db8:1::5", Some(1), 1000, Origin::Gleaned));
        t.merge(at("198.51.100.7", Some(1), 1000, Origin::Gleaned));
        let find = |a: &str| {
            t.lookup(a.parse().unwrap(), 10)
                .map(|l| l.bound.to_string())
        };
        assert_eq!(
            find("2001:db8:8000::1").as_deref(),
            Some("2001:db8:8000::/56")
        );
        assert_eq!(
            find("2001:db8:8000:ff::1").as_deref(),
            Some("2001:db8:8000::/56")
        );
        assert_eq!(find("2001:db8:8000:100::"), None);
        assert_eq!(find("2001:db8:1::5").as_deref(), Some("2001:db8:1::5/128"));
        assert_eq!(find("2001:db8:1::6"), None);
        assert_eq!(find("198.51.100.7").as_deref(), Some("198.51.100.7/32"));
        // A DHCPv4 address never falls into a DHCPv6 prefix, nor the other way round.
        assert_eq!(find("198.51.100.8"), None);
        assert_eq!(find("::ffff:198.51.100.7"), None);
        assert_eq!(t.counts(), (1, 2));
    }

    #[test]
    fn bounds_are_kept_in_normal_form() {
        let mut t = LocationTable::new();
        // Host bits of a prefix and a DHCPv4 prefix length are not part of the key.
        t.merge(at("2001:db8:8000::1/56", Some(1), 1000, Origin::Gleaned));
        t.merge(at("198.51.100.7/24", Some(1), 1000, Origin::Gleaned));
        assert!(t.get("2001:db8:8000::/56".parse().unwrap()).is_some());
        assert_eq!(
            t.get("198.51.100.7/32".parse().unwrap()).unwrap().bound,
            "198.51.100.7/32".parse::<IpNet>().unwrap()
        );
        assert!(t.remove("198.51.100.7/32".parse().unwrap()).is_some());
        assert_eq!(t.len(), 1);
    }

    #[test]
    fn expiry_removes_what_is_due_earliest_first() {
        let mut t = LocationTable::new();
        t.merge(at("198.51.100.9", Some(1), 300, Origin::Gleaned));
        t.merge(at("198.51.100.7", Some(1), 100, Origin::Gleaned));
        t.merge(at("2001:db8::7", Some(1), 200, Origin::Gleaned));
        // Not returned once ended, even before expire() ran.
        assert!(t.lookup("198.51.100.7".parse().unwrap(), 100).is_none());
        let gone: Vec<_> = t.expire(200).into_iter().map(|l| l.bound).collect();
        assert_eq!(
            gone,
            [
                "198.51.100.7/32".parse::<IpNet>().unwrap(),
                "2001:db8::7/128".parse().unwrap()
            ]
        );
        assert_eq!(t.len(), 1);
        assert_eq!(t.next_expiry(), Some(300));
        assert!(t.expire(299).is_empty());
    }

    #[test]
    fn a_release_removes_only_the_releasing_clients_entry() {
        let mut t = LocationTable::new();
        t.merge(at("198.51.100.7", Some(1), 100, Origin::Gleaned));
        let b: IpNet = "198.51.100.7/32".parse().unwrap();
        assert!(t.remove_if(b, |l| l.client_id == Some(vec![9])).is_none());
        assert_eq!(t.len(), 1);
        assert!(t
            .remove_if(b, |l| l.client_id == Some(vec![1, 2, 3]))
            .is_some());
        assert!(t.is_empty());
        assert_eq!(t.next_expiry(), None);
    }

    #[test]
    fn a_nak_removes_the_clients_entries_on_that_interface_only() {
        let mac = Hardware {
            htype: 1,
            address: vec![2, 0, 0, 0, 0, 1],
        };
        let with = |a: &str, i: &str, h: &Hardware| Location {
            hardware: Some(h.clone()),
            interface: Some(i.into()),
            ..at(a, Some(1), 100, Origin::Gleaned)
        };
        let other = Hardware {
            htype: 1,
            address: vec![2, 0, 0, 0, 0, 2],
        };
        let mut t = LocationTable::new();
        t.merge(with("198.51.100.7", "eth1", &mac));
        t.merge(with("198.51.100.8", "eth1", &mac));
        t.merge(with("198.51.100.9", "eth2", &mac));
        t.merge(with("198.51.100.10", "eth1", &other));
        let gone: Vec<_> = t
            .remove_client("eth1", &mac)
            .into_iter()
            .map(|l| l.bound.to_string())
            .collect();
        assert_eq!(gone, ["198.51.100.7/32", "198.51.100.8/32"]);
        assert_eq!(t.len(), 2);
        // The index followed removals, replacements and expiry.
        t.merge(with("198.51.100.9", "eth2", &other));
        assert!(t.remove_client("eth2", &mac).is_empty());
        t.expire(100);
        assert!(t.remove_client("eth2", &other).is_empty());
        assert!(t.by_hardware.is_empty());
    }

    #[test]
    fn source_verification_answers_from_the_table() {
        let mut t = LocationTable::new();
        t.merge(Location {
            hardware: Some(Hardware {
                htype: 1,
                address: vec![2, 0, 0, 0, 0, 1],
            }),
            ..at("198.51.100.7", Some(1), 100, Origin::Gleaned)
        });
        t.merge(at("2001:db8:8000::/56", Some(1), 100, Origin::Recovered));
        let mac = [2, 0, 0, 0, 0, 1];
        let v = |i: &str, a: &str, h: Option<&[u8]>, now| {
            t.verify_source(i, a.parse().unwrap(), h, now)
        };
        assert_eq!(v("eth1", "198.51.100.7", Some(&mac), 10), Verdict::Allowed);
        assert_eq!(v("eth1", "198.51.100.7", None, 10), Verdict::Allowed);
        assert_eq!(
            v("eth1", "198.51.100.7", Some(&[2, 0, 0, 0, 0, 2]), 10),
            Verdict::OtherHardware
        );
        assert_eq!(
            v("eth2", "198.51.100.7", Some(&mac), 10),
            Verdict::OtherInterface
        );
        assert_eq!(v("eth1", "198.51.100.7", Some(&mac), 100), Verdict::Expired);
        assert_eq!(v("eth1", "198.51.100.8", None, 10), Verdict::Unknown);
        assert_eq!(v("eth1", "2001:db8:8000:1::9", None, 10), Verdict::Allowed);
        assert_eq!(v("eth1", "2001:db8:8001::9", None, 10), Verdict::Unknown);
    }
}
