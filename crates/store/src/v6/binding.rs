//! The DHCPv6 binding: one leased address (IA_NA) or delegated prefix (IA_PD) and what the server
//! knows about the client holding it.
//!
//! One record per leased resource, as the DHCPv4 store keeps one per address: a client's IA is the
//! set of records sharing its DUID, IAID and IA type, and a client is the set sharing its DUID.
//! So every lookup RFC 5007 and RFC 5460 need is a key or an index walk (address, prefix
//! containment, DUID, link, relay-id, remote-id), and a write touches only what changed.
//!
//! Times are absolute, in seconds since the Unix epoch, and always come from the caller (an
//! injected clock): the store never reads the time itself.

use std::fmt;
use std::net::Ipv6Addr;

use ipnet::Ipv6Net;

use crate::error::StoreError;
use crate::packed::Packed;
use crate::record::{Record, Timestamp};

/// The kind of IA a binding belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum IaType {
    /// IA_NA (option 3): a non-temporary address.
    Na,
    /// IA_PD (option 25): a delegated prefix.
    Pd,
}

impl IaType {
    /// The name used in the database's `ia_type` column and by the tools.
    pub fn as_str(self) -> &'static str {
        match self {
            IaType::Na => "ia-na",
            IaType::Pd => "ia-pd",
        }
    }

    /// Parses a name written by [`IaType::as_str`].
    pub fn from_name(s: &str) -> Option<IaType> {
        [IaType::Na, IaType::Pd]
            .into_iter()
            .find(|t| t.as_str() == s)
    }
}

impl fmt::Display for IaType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// State of a DHCPv6 binding.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum State6 {
    /// Advertised (ADVERTISE sent), not yet requested. Memory only, as a DHCPv4 offer: a restart
    /// forgets it and the client solicits again.
    Advertised,
    /// Leased (REPLY sent) until `valid_end`.
    Active,
    /// The client released it (RELEASE).
    Released,
    /// The valid lifetime ran out.
    Expired,
    /// The client declined the address (DECLINE): on probation until `valid_end`.
    Declined,
    /// Reserved for this client by configuration, not currently leased.
    Reserved,
}

impl State6 {
    /// Every state, for tests and tools.
    pub const ALL: [State6; 6] = [
        State6::Advertised,
        State6::Active,
        State6::Released,
        State6::Expired,
        State6::Declined,
        State6::Reserved,
    ];

    /// Whether a binding in this state is written to the backend (all but `Advertised`).
    pub fn is_durable(self) -> bool {
        self != State6::Advertised
    }

    /// The name used in the database's `state` column.
    pub fn as_str(self) -> &'static str {
        match self {
            State6::Advertised => "advertised",
            State6::Active => "active",
            State6::Released => "released",
            State6::Expired => "expired",
            State6::Declined => "declined",
            State6::Reserved => "reserved",
        }
    }

    /// Parses a name written by [`State6::as_str`].
    pub fn from_name(s: &str) -> Option<State6> {
        State6::ALL.into_iter().find(|st| st.as_str() == s)
    }
}

impl fmt::Display for State6 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

// Indexes into the packed variable-length fields.
const DUID: usize = 0;
const RELAY_CHAIN: usize = 1;
const INTERFACE_ID: usize = 2;
const REMOTE_ID: usize = 3;
const RELAY_ID: usize = 4;
/// How many variable-length fields a [`Binding6`] has.
pub const VAR_FIELDS6: usize = 5;

/// The names of the variable-length fields ([`Fields6`]), in their order.
pub const FIELD_NAMES6: [&str; VAR_FIELDS6] = [
    "duid",
    "relay_chain",
    "interface_id",
    "remote_id",
    "relay_id",
];

/// The longest DUID kept: a type code and at most 128 octets (RFC 8415 §11.1).
pub const MAX_DUID: usize = 130;

/// The longest relay identifier kept (interface-id, remote-id with its enterprise number,
/// relay-id): what a relay sensibly sends, and what the DHCPv4 side keeps of option 82's.
pub const MAX_RELAY_FIELD: usize = 255;

/// The longest relay chain kept: the RELAY-FORW messages of one exchange without the client's
/// message. 32 relays of 34 octets plus their options fit; a longer chain is refused rather than
/// kept cut short (an LQ_RELAY_DATA carrying half a chain would misstate it).
pub const MAX_RELAY_CHAIN: usize = 2048;

fn cap(i: usize) -> usize {
    match i {
        DUID => MAX_DUID,
        RELAY_CHAIN => MAX_RELAY_CHAIN,
        _ => MAX_RELAY_FIELD,
    }
}

/// Field `i`'s value as kept, or refused when too long (every v6 field is an identity or
/// relay data that a shortened copy would misstate).
fn capped(i: usize, value: Option<&[u8]>) -> Result<Option<&[u8]>, StoreError> {
    match value {
        Some(v) if v.len() > cap(i) => Err(StoreError::FieldTooLong {
            field: FIELD_NAMES6[i],
            len: v.len(),
        }),
        other => Ok(other),
    }
}

/// All variable-length fields of a [`Binding6`], to set at once ([`Binding6::set_fields`]).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Fields6<'a> {
    /// The client's DUID (OPTION_CLIENTID value).
    pub duid: Option<&'a [u8]>,
    /// The most recent relay chain: the outermost RELAY-FORW as received, every hop's options
    /// kept, with the innermost RELAY_MSG (the client's message) removed; what LQ_RELAY_DATA's
    /// DHCP-relay-message carries (RFC 5007 §4.1.2.4). None for a client that talked directly.
    pub relay_chain: Option<&'a [u8]>,
    /// OPTION_INTERFACE_ID (18) value from the chain.
    pub interface_id: Option<&'a [u8]>,
    /// OPTION_REMOTE_ID (37) value (enterprise number and remote-id) from the chain.
    pub remote_id: Option<&'a [u8]>,
    /// OPTION_RELAY_ID (53) value (the relay's DUID) from the chain.
    pub relay_id: Option<&'a [u8]>,
}

/// Secondary indexes of DHCPv6 bindings (the values of [`Record::index_keys`] for [`Binding6`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(usize)]
pub enum Index6 {
    /// The client's DUID.
    Duid = 0,
    /// The link ([`link_key`]).
    Link = 1,
    /// OPTION_RELAY_ID value.
    RelayId = 2,
    /// OPTION_REMOTE_ID value.
    RemoteId = 3,
}

/// The identifier of a link in [`Index6::Link`]: its prefix's 16 octets and its length.
pub fn link_key(link: &Ipv6Net) -> [u8; 17] {
    let mut k = [0u8; 17];
    k[..16].copy_from_slice(&link.network().octets());
    k[16] = link.prefix_len();
    k
}

/// The key of a binding in the table: the address or the prefix's first address, then the
/// prefix length (128 for an address), ordered as the numbers they are. Addresses and delegated
/// prefixes come from pools that do not overlap, so the prefix containing an address is the
/// nearest key at or below `(address, 128)` that is a prefix.
///
/// Octets rather than a `u128`: a `u128` is 16-aligned, so `(u128, u8)` takes 32 octets and
/// every index entry carrying a key grows with it (48 octets instead of 24 for a secondary
/// index entry); 17 octets aligned to 1 keep a v6 binding's six index entries small.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Key6 {
    octets: [u8; 16],
    prefix_len: u8,
}

impl Key6 {
    /// The smallest key.
    pub const MIN: Key6 = Key6 {
        octets: [0; 16],
        prefix_len: 0,
    };

    /// The key of `address` with `prefix_len` (128 for an address).
    pub const fn new(address: Ipv6Addr, prefix_len: u8) -> Key6 {
        Key6 {
            octets: address.octets(),
            prefix_len,
        }
    }

    /// The key of an address (a /128).
    pub const fn address_key(address: Ipv6Addr) -> Key6 {
        Key6::new(address, 128)
    }

    /// The address, or the prefix's first address.
    pub const fn address(self) -> Ipv6Addr {
        Ipv6Addr::from_bits(u128::from_be_bytes(self.octets))
    }

    /// The prefix length (128 for an address).
    pub const fn prefix_len(self) -> u8 {
        self.prefix_len
    }
}

impl fmt::Display for Key6 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.prefix_len == 128 {
            write!(f, "{}", self.address())
        } else {
            write!(f, "{}/{}", self.address(), self.prefix_len)
        }
    }
}

/// One DHCPv6 binding: an address of an IA_NA or a prefix of an IA_PD. Fixed-size fields are
/// public; the variable-length ones (kept packed in one allocation) have getters and setters.
#[derive(Clone, PartialEq, Eq)]
pub struct Binding6 {
    /// The address (IA_NA) or the delegated prefix's first address (IA_PD).
    pub address: Ipv6Addr,
    /// 128 for an address; the delegated prefix's length for a prefix.
    pub prefix_len: u8,
    /// Which kind of IA holds it.
    pub ia_type: IaType,
    /// The IAID of that IA.
    pub iaid: u32,
    /// The state.
    pub state: State6,
    /// The link the client is on (a configured link's prefix; RFC 5007's link-address lies in it).
    pub link: Ipv6Net,
    /// When the binding was made or last extended (lifetimes count from here).
    pub start: Timestamp,
    /// When the preferred lifetime ends.
    pub preferred_end: Timestamp,
    /// When the valid lifetime ends (expiry); for Declined, end of probation.
    pub valid_end: Timestamp,
    /// The IA's T1, absolute.
    pub t1: Timestamp,
    /// The IA's T2, absolute.
    pub t2: Timestamp,
    /// Client-last-transaction-time: when the client last talked to the server about it.
    pub cltt: Timestamp,
    /// When the binding entered its current state (kept while the state lasts, as in
    /// [`crate::Binding4::state_since`]).
    pub state_since: Timestamp,
    /// The store-wide transaction order (see [`crate::Binding4::sequence`]).
    pub sequence: u64,
    /// The peer address of the relay chain: the source of the outermost RELAY-FORW, where
    /// RELAY-REPL went (LQ_RELAY_DATA's peer-address). None for a direct client.
    pub relay_peer: Option<Ipv6Addr>,
    vars: Packed<VAR_FIELDS6>,
}

macro_rules! var_field {
    ($get:ident, $set:ident, $with:ident, $idx:expr, $doc:literal) => {
        #[doc = concat!("The ", $doc, ", if known.")]
        pub fn $get(&self) -> Option<&[u8]> {
            self.vars.get($idx)
        }

        #[doc = concat!("Sets or clears the ", $doc, " (refused when too long).")]
        pub fn $set(&mut self, value: Option<&[u8]>) -> Result<(), StoreError> {
            self.vars.set($idx, capped($idx, value)?, stringify!($get))
        }

        #[doc = concat!("Returns the binding with the ", $doc, " set.")]
        pub fn $with(mut self, value: &[u8]) -> Result<Self, StoreError> {
            self.$set(Some(value))?;
            Ok(self)
        }
    };
}

impl Binding6 {
    /// A binding with all times 0 and no relay data.
    pub fn new(
        address: Ipv6Addr,
        prefix_len: u8,
        ia_type: IaType,
        duid: &[u8],
        iaid: u32,
        link: Ipv6Net,
        state: State6,
    ) -> Result<Binding6, StoreError> {
        let mut b = Binding6 {
            address,
            prefix_len,
            ia_type,
            iaid,
            state,
            link,
            start: 0,
            preferred_end: 0,
            valid_end: 0,
            t1: 0,
            t2: 0,
            cltt: 0,
            state_since: 0,
            sequence: 0,
            relay_peer: None,
            vars: Packed::default(),
        };
        b.set_duid(Some(duid))?;
        Ok(b)
    }

    /// Sets start, preferred and valid ends, T1, T2 and cltt at once.
    pub fn with_times(
        mut self,
        start: Timestamp,
        preferred_end: Timestamp,
        valid_end: Timestamp,
        t1: Timestamp,
        t2: Timestamp,
        cltt: Timestamp,
    ) -> Self {
        self.start = start;
        self.preferred_end = preferred_end;
        self.valid_end = valid_end;
        self.t1 = t1;
        self.t2 = t2;
        self.cltt = cltt;
        self
    }

    /// Sets when the binding entered its state.
    pub fn with_state_since(mut self, state_since: Timestamp) -> Self {
        self.state_since = state_since;
        self
    }

    /// The binding's key in the table.
    pub fn key6(&self) -> Key6 {
        Key6::new(self.address, self.prefix_len)
    }

    /// The leased prefix (a /128 for an address).
    pub fn prefix(&self) -> Ipv6Net {
        Ipv6Net::new(self.address, self.prefix_len).unwrap_or_else(|_| {
            Ipv6Net::new(self.address, 128).expect("128 is a valid prefix length")
        })
    }

    /// Whether `address` is the binding's address or lies in its delegated prefix.
    pub fn covers(&self, address: Ipv6Addr) -> bool {
        self.prefix().contains(&address)
    }

    /// When this binding entered its state as far as its own times tell (see
    /// [`crate::Binding4::implied_state_since`]).
    pub fn implied_state_since(&self) -> Timestamp {
        match self.state {
            State6::Expired | State6::Released => self.valid_end,
            State6::Advertised | State6::Active | State6::Declined | State6::Reserved => self.start,
        }
    }

    /// How recent the binding's last transaction is: cltt, then the store's order.
    pub fn recency(&self) -> (Timestamp, u64) {
        (self.cltt, self.sequence)
    }

    /// Whether this binding, written over `earlier`, continues `earlier`'s state (same state,
    /// same client and IA, and a lease not run out before this one started).
    pub fn continues(&self, earlier: &Binding6) -> bool {
        self.state == earlier.state
            && self.duid() == earlier.duid()
            && self.iaid == earlier.iaid
            && self.ia_type == earlier.ia_type
            && match self.state {
                State6::Active | State6::Advertised => self.start < earlier.valid_end,
                State6::Expired | State6::Released | State6::Declined | State6::Reserved => true,
            }
    }

    /// Whether the lease is active at `now` (state Active and the valid lifetime not over).
    pub fn is_active_at(&self, now: Timestamp) -> bool {
        self.state == State6::Active && now < self.valid_end
    }

    /// Preferred lifetime left at `now`, in seconds (0 once over).
    pub fn preferred_left(&self, now: Timestamp) -> u32 {
        u32::try_from(self.preferred_end.saturating_sub(now)).unwrap_or(u32::MAX)
    }

    /// Valid lifetime left at `now`, in seconds (0 once over).
    pub fn valid_left(&self, now: Timestamp) -> u32 {
        u32::try_from(self.valid_end.saturating_sub(now)).unwrap_or(u32::MAX)
    }

    var_field!(duid, set_duid, with_duid, DUID, "client's DUID");
    var_field!(
        relay_chain,
        set_relay_chain,
        with_relay_chain,
        RELAY_CHAIN,
        "most recent relay chain (RELAY-FORW without the client's message)"
    );
    var_field!(
        interface_id,
        set_interface_id,
        with_interface_id,
        INTERFACE_ID,
        "relay's interface-id (option 18)"
    );
    var_field!(
        remote_id,
        set_remote_id,
        with_remote_id,
        REMOTE_ID,
        "relay's remote-id (option 37 value, enterprise number included)"
    );
    var_field!(
        relay_id,
        set_relay_id,
        with_relay_id,
        RELAY_ID,
        "relay's relay-id (option 53 value, a DUID)"
    );

    /// Replaces every variable-length field at once (one allocation); a field too long is
    /// refused and nothing changes.
    pub fn set_fields(&mut self, f: Fields6<'_>) -> Result<(), StoreError> {
        let mut values = [None; VAR_FIELDS6];
        values[DUID] = f.duid;
        values[RELAY_CHAIN] = f.relay_chain;
        values[INTERFACE_ID] = f.interface_id;
        values[REMOTE_ID] = f.remote_id;
        values[RELAY_ID] = f.relay_id;
        for (i, v) in values.iter_mut().enumerate() {
            *v = capped(i, *v)?;
        }
        self.vars = Packed::from_values(values, FIELD_NAMES6)?;
        Ok(())
    }

    /// Every variable-length field.
    pub fn fields(&self) -> Fields6<'_> {
        Fields6 {
            duid: self.duid(),
            relay_chain: self.relay_chain(),
            interface_id: self.interface_id(),
            remote_id: self.remote_id(),
            relay_id: self.relay_id(),
        }
    }

    /// Octets this binding holds on the heap (the packed fields), allocator overhead not counted.
    pub fn heap_len(&self) -> usize {
        self.vars.heap_len()
    }
}

impl fmt::Debug for Binding6 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Binding6")
            .field("prefix", &self.prefix())
            .field("ia_type", &self.ia_type)
            .field("iaid", &self.iaid)
            .field("state", &self.state)
            .field("link", &self.link)
            .field("start", &self.start)
            .field("preferred_end", &self.preferred_end)
            .field("valid_end", &self.valid_end)
            .field("t1", &self.t1)
            .field("t2", &self.t2)
            .field("cltt", &self.cltt)
            .field("state_since", &self.state_since)
            .field("sequence", &self.sequence)
            .field("relay_peer", &self.relay_peer)
            .field("duid", &self.duid())
            .field("relay_chain", &self.relay_chain())
            .field("interface_id", &self.interface_id())
            .field("remote_id", &self.remote_id())
            .field("relay_id", &self.relay_id())
            .finish()
    }
}

impl Record for Binding6 {
    type Key = Key6;
    const MIN_KEY: Key6 = Key6::MIN;
    const INDEXES: usize = 4;
    /// A query by address finds the client's other bindings through its DUID.
    const POINT_INDEX: Option<usize> = Some(Index6::Duid as usize);

    fn key(&self) -> Key6 {
        self.key6()
    }

    /// A delegated prefix's length.
    fn width(key: Key6) -> Option<u8> {
        (key.prefix_len < 128).then_some(key.prefix_len)
    }

    fn index_keys(&self, f: &mut dyn FnMut(usize, &[u8])) {
        if let Some(d) = self.duid() {
            f(Index6::Duid as usize, d);
        }
        f(Index6::Link as usize, &link_key(&self.link));
        if let Some(id) = self.relay_id() {
            f(Index6::RelayId as usize, id);
        }
        if let Some(id) = self.remote_id() {
            f(Index6::RemoteId as usize, id);
        }
    }

    /// The one field `index` names, compared (not every index key made, the link's included):
    /// every index lookup asks this of each record it meets.
    fn has_index_key(&self, index: usize, id: &[u8]) -> bool {
        let field = match index {
            i if i == Index6::Duid as usize => self.duid(),
            i if i == Index6::Link as usize => return id == link_key(&self.link),
            i if i == Index6::RelayId as usize => self.relay_id(),
            i if i == Index6::RemoteId as usize => self.remote_id(),
            _ => None,
        };
        field == Some(id)
    }

    fn expires_at(&self) -> Option<Timestamp> {
        (self.state == State6::Active).then_some(self.valid_end)
    }

    /// As for DHCPv4: Expired and Released since their end, Declined after probation,
    /// Advertised once the advertisement lapsed; never Active or Reserved.
    fn free_since(&self) -> Option<Timestamp> {
        match self.state {
            State6::Expired | State6::Released | State6::Declined | State6::Advertised => {
                Some(self.valid_end)
            }
            State6::Active | State6::Reserved => None,
        }
    }

    fn expired(&self) -> Self {
        let mut b = self.clone();
        b.state = State6::Expired;
        b.state_since = b.valid_end;
        b
    }

    fn is_durable(&self) -> bool {
        self.state.is_durable()
    }

    /// Relay-id and remote-id: identifiers that a relay's whole population shares.
    fn is_ranked_index(index: usize) -> bool {
        index == Index6::RelayId as usize || index == Index6::RemoteId as usize
    }

    fn is_ranked(&self) -> bool {
        self.state == State6::Active
    }

    fn recency(&self) -> (u64, u64) {
        Binding6::recency(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn link() -> Ipv6Net {
        "2001:db8:1::/64".parse().unwrap()
    }

    #[test]
    fn names_round_trip() {
        for s in State6::ALL {
            assert_eq!(State6::from_name(s.as_str()), Some(s));
        }
        for t in [IaType::Na, IaType::Pd] {
            assert_eq!(IaType::from_name(t.as_str()), Some(t));
        }
        assert_eq!(State6::from_name("offered"), None);
        assert!(!State6::Advertised.is_durable());
    }

    #[test]
    fn prefix_covers_its_addresses_only() {
        let p = Binding6::new(
            "2001:db8:100:200::".parse().unwrap(),
            56,
            IaType::Pd,
            b"\x00\x03\x00\x01\x02\x00\x00\x00\x00\x01",
            7,
            link(),
            State6::Active,
        )
        .unwrap();
        assert!(p.covers("2001:db8:100:2ff::1".parse().unwrap()));
        assert!(!p.covers("2001:db8:100:300::1".parse().unwrap()));
        assert_eq!(p.key6().prefix_len(), 56);
        assert_eq!(p.key6().to_string(), "2001:db8:100:200::/56");
        assert!(std::mem::size_of::<Key6>() == 17 && std::mem::align_of::<Key6>() == 1);
        assert!(
            Key6::new("2001:db8::1".parse().unwrap(), 128)
                > Key6::new("2001:db8::".parse().unwrap(), 128)
        );
        assert!(
            Key6::new("2001:db8::".parse().unwrap(), 56)
                < Key6::address_key("2001:db8::".parse().unwrap())
        );
        let mut keys = Vec::new();
        p.index_keys(&mut |i, k| keys.push((i, k.to_vec())));
        assert_eq!(keys.len(), 2);
        assert_eq!(keys[1].1, link_key(&link()).to_vec());
    }

    #[test]
    fn has_index_key_answers_as_index_keys_does() {
        let duid = b"\x00\x03\x00\x01\x02\x00\x00\x00\x00\x01";
        let plain = Binding6::new(
            "2001:db8:1::10".parse().unwrap(),
            128,
            IaType::Na,
            duid,
            1,
            link(),
            State6::Active,
        )
        .unwrap();
        let relayed = plain
            .clone()
            .with_relay_id(b"relay")
            .unwrap()
            .with_remote_id(b"\x00\x00\x0d\xe9port-7")
            .unwrap();
        let other_link = link_key(&"2001:db8:2::/64".parse().unwrap());
        let ids: [&[u8]; 6] = [
            duid,
            &link_key(&link()),
            b"relay",
            b"\x00\x00\x0d\xe9port-7",
            &other_link,
            b"",
        ];
        for b in [&plain, &relayed] {
            for index in 0..Binding6::INDEXES + 1 {
                for id in ids {
                    let mut listed = false;
                    b.index_keys(&mut |i, k| listed |= i == index && k == id);
                    assert_eq!(b.has_index_key(index, id), listed, "index {index}, {id:?}");
                }
            }
        }
    }

    #[test]
    fn fields_are_capped_and_refused_whole() {
        let mut b = Binding6::new(
            "2001:db8:1::10".parse().unwrap(),
            128,
            IaType::Na,
            b"\x00\x03\x00\x01\x02\x00\x00\x00\x00\x01",
            1,
            link(),
            State6::Active,
        )
        .unwrap();
        b.set_remote_id(Some(b"\x00\x00\x0d\xe9port-7")).unwrap();
        let before = b.clone();
        let long = vec![7u8; MAX_RELAY_CHAIN + 1];
        assert!(b.set_relay_chain(Some(&long)).is_err());
        assert!(b
            .set_fields(Fields6 {
                duid: Some(&long[..MAX_DUID + 1]),
                ..before.fields()
            })
            .is_err());
        assert_eq!(b, before);
        b.set_relay_chain(Some(&long[..MAX_RELAY_CHAIN])).unwrap();
        assert_eq!(b.relay_chain().map(<[u8]>::len), Some(MAX_RELAY_CHAIN));
        assert!(Binding6::new(
            "2001:db8:1::10".parse().unwrap(),
            128,
            IaType::Na,
            &long[..MAX_DUID + 1],
            1,
            link(),
            State6::Active
        )
        .is_err());
    }

    #[test]
    fn lifetimes_left() {
        let b = Binding6::new(
            "2001:db8:1::10".parse().unwrap(),
            128,
            IaType::Na,
            b"\x00\x03\x00\x01\x02\x00\x00\x00\x00\x01",
            1,
            link(),
            State6::Active,
        )
        .unwrap()
        .with_times(1000, 1300, 1600, 1150, 1240, 1000);
        assert_eq!(b.preferred_left(1100), 200);
        assert_eq!(b.valid_left(1100), 500);
        assert_eq!(b.preferred_left(2000), 0);
        assert!(b.is_active_at(1599));
        assert!(!b.is_active_at(1600));
        assert!(std::mem::size_of::<Binding6>() <= 160);
    }
}
