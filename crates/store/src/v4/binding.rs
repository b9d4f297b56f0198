//! The DHCPv4 binding: one address and what the server knows about its client.
//!
//! Times are absolute, in seconds since the Unix epoch, and always come from the caller (an injected
//! clock): the store never reads the time itself.

use std::fmt;
use std::net::Ipv4Addr;

use ipnet::Ipv4Net;

use crate::error::StoreError;
use crate::packed::Packed;
use crate::record::{Record, Timestamp};
use lessor_wire::v4::DhcpState;
/// The client's hardware address, from the wire crate (the store keys its MAC index on it).
pub use lessor_wire::v4::HwAddr;

/// State of a DHCPv4 binding.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum State4 {
    /// Offered (DHCPOFFER sent), not yet requested. Kept in memory only: an offer is not durable, a
    /// restart forgets it and the client simply asks again.
    Offered,
    /// Leased (DHCPACK sent) until `end`.
    Active,
    /// The client released the address (DHCPRELEASE).
    Released,
    /// The lease time ran out.
    Expired,
    /// The client declined the address (DHCPDECLINE): the address is on probation until `end`.
    Declined,
    /// Reserved for this client by configuration, not currently leased.
    Reserved,
}

impl State4 {
    /// Every state, for tests and tools.
    pub const ALL: [State4; 6] = [
        State4::Offered,
        State4::Active,
        State4::Released,
        State4::Expired,
        State4::Declined,
        State4::Reserved,
    ];

    /// The RFC 6926 dhcp-state value (option 156) that reports this state: Offered is TRANSITIONING,
    /// Declined is ABANDONED, Reserved (not leased) is AVAILABLE.
    pub fn dhcp_state(self) -> DhcpState {
        match self {
            State4::Offered => DhcpState::Transitioning,
            State4::Active => DhcpState::Active,
            State4::Released => DhcpState::Released,
            State4::Expired => DhcpState::Expired,
            State4::Declined => DhcpState::Abandoned,
            State4::Reserved => DhcpState::Available,
        }
    }

    /// Whether a binding in this state is written to the backend (all but `Offered`).
    pub fn is_durable(self) -> bool {
        self != State4::Offered
    }

    /// The name used in the database's `state` column.
    pub fn as_str(self) -> &'static str {
        match self {
            State4::Offered => "offered",
            State4::Active => "active",
            State4::Released => "released",
            State4::Expired => "expired",
            State4::Declined => "declined",
            State4::Reserved => "reserved",
        }
    }

    /// Parses a name written by [`State4::as_str`].
    pub fn from_name(s: &str) -> Option<State4> {
        State4::ALL.into_iter().find(|st| st.as_str() == s)
    }
}

impl fmt::Display for State4 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

// Indexes into the packed variable-length fields.
const CLIENT_ID: usize = 0;
const RELAY_AGENT_INFO: usize = 1;
const CIRCUIT_ID: usize = 2;
const REMOTE_ID: usize = 3;
const RELAY_ID: usize = 4;
const VENDOR_CLASS_ID: usize = 5;
const HOSTNAME: usize = 6;
pub const VAR_FIELDS: usize = 7;

/// The longest value of a variable-length field: what one DHCPv4 option or option-82
/// sub-option carries (a one-octet length). Every writer (the server, imports, `lessor leases`,
/// rows loaded from a database) is held to it: host name and vendor class are kept shortened
/// to it (they describe the client; a prefix of them still does), every other field, an
/// identity or a relay's option 82 that a shortened copy would misstate, is refused
/// ([`StoreError::FieldTooLong`]). A longer value reaches a server only as an RFC 3396
/// concatenation; docs/protocol.md decision 11 says why it is not kept.
pub const MAX_CLIENT_FIELD: usize = 255;

/// Whether field `i` is kept shortened to [`MAX_CLIENT_FIELD`] rather than refused.
fn shortened(i: usize) -> bool {
    i == VENDOR_CLASS_ID || i == HOSTNAME
}

/// Field `i`'s value as kept: shortened, or refused when too long.
fn capped(i: usize, value: Option<&[u8]>) -> Result<Option<&[u8]>, StoreError> {
    match value {
        Some(v) if v.len() > MAX_CLIENT_FIELD => {
            if shortened(i) {
                Ok(Some(&v[..MAX_CLIENT_FIELD]))
            } else {
                Err(StoreError::FieldTooLong {
                    field: FIELD_NAMES[i],
                    len: v.len(),
                })
            }
        }
        other => Ok(other),
    }
}

/// The names of the variable-length fields ([`Fields4`]), in their order: error messages, and the
/// tools that show or read a binding field by field.
pub const FIELD_NAMES: [&str; VAR_FIELDS] = [
    "client_id",
    "relay_agent_information",
    "circuit_id",
    "remote_id",
    "relay_id",
    "vendor_class_id",
    "hostname",
];

/// All variable-length fields of a [`Binding4`], to set at once ([`Binding4::set_fields`]): e.g.
/// from one DHCPREQUEST, or from a database row.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Fields4<'a> {
    /// Option 61 value.
    pub client_id: Option<&'a [u8]>,
    /// Raw option 82 value of the most recent DHCPREQUEST.
    pub relay_agent_information: Option<&'a [u8]>,
    /// Option 82 sub-option 1.
    pub circuit_id: Option<&'a [u8]>,
    /// Option 82 sub-option 2.
    pub remote_id: Option<&'a [u8]>,
    /// Option 82 sub-option 12.
    pub relay_id: Option<&'a [u8]>,
    /// Option 60.
    pub vendor_class_id: Option<&'a [u8]>,
    /// Option 12.
    pub hostname: Option<&'a [u8]>,
}

/// Secondary indexes of DHCPv4 bindings (the values of [`Record::index_keys`] for [`Binding4`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(usize)]
pub enum Index4 {
    /// htype + chaddr.
    Mac = 0,
    /// Option 61 value.
    ClientId = 1,
    /// Option 82 sub-option 12.
    RelayId = 2,
    /// Option 82 sub-option 2.
    RemoteId = 3,
}

/// One DHCPv4 binding. Fixed-size fields are public; the variable-length ones (kept packed in one
/// allocation) have getters, `set_*` and `with_*` methods.
#[derive(Clone, PartialEq, Eq)]
pub struct Binding4 {
    /// The leased (offered, declined...) address: the binding's key.
    pub address: Ipv4Addr,
    /// The state.
    pub state: State4,
    /// The client's hardware address (htype, hlen, chaddr).
    pub hw: HwAddr,
    /// Start of the lease (or of the current state).
    pub start: Timestamp,
    /// End of the lease (expiry); for Declined, end of probation.
    pub end: Timestamp,
    /// Renewal time (T1).
    pub t1: Timestamp,
    /// Rebinding time (T2).
    pub t2: Timestamp,
    /// Client-last-transaction-time: when the client last talked to the server about this binding.
    pub cltt: Timestamp,
    /// When the binding entered its current state (RFC 6926 start-time-of-state): for an active
    /// lease, when it became active, not its last renewal. [`Batch4::upsert`] sets it (kept while
    /// the state lasts, else [`Binding4::implied_state_since`]); expiry sets it to `end`.
    ///
    /// [`Batch4::upsert`]: crate::Batch4::upsert
    pub state_since: Timestamp,
    /// Where the binding's last transaction stands in the store's order of transactions: every
    /// [`Batch4::upsert`] gives it the next number of one store-wide counter, so of two bindings
    /// written in the same second the one written later has the larger number. With `cltt` it
    /// orders bindings "most recent first" ([`Binding4::recency`]). 0: not numbered (e.g. made
    /// by hand, not yet written).
    ///
    /// [`Batch4::upsert`]: crate::Batch4::upsert
    pub sequence: u64,
    /// The subnet the address belongs to.
    pub subnet: Ipv4Net,
    vars: Packed<VAR_FIELDS>,
}

macro_rules! var_field {
    ($get:ident, $set:ident, $with:ident, $idx:expr, $doc:literal) => {
        #[doc = concat!("The ", $doc, ", if known.")]
        pub fn $get(&self) -> Option<&[u8]> {
            self.vars.get($idx)
        }

        #[doc = concat!("Sets or clears the ", $doc, " (held to [`MAX_CLIENT_FIELD`]).")]
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

impl Binding4 {
    /// A binding with all times 0 and no optional fields.
    pub fn new(address: Ipv4Addr, subnet: Ipv4Net, hw: HwAddr, state: State4) -> Binding4 {
        Binding4 {
            address,
            state,
            hw,
            start: 0,
            end: 0,
            t1: 0,
            t2: 0,
            cltt: 0,
            state_since: 0,
            sequence: 0,
            subnet,
            vars: Packed::default(),
        }
    }

    /// Sets start, end, T1, T2 and cltt at once.
    pub fn with_times(
        mut self,
        start: Timestamp,
        end: Timestamp,
        t1: Timestamp,
        t2: Timestamp,
        cltt: Timestamp,
    ) -> Self {
        self.start = start;
        self.end = end;
        self.t1 = t1;
        self.t2 = t2;
        self.cltt = cltt;
        self
    }

    /// Sets when the binding entered its state ([`Binding4::state_since`]).
    pub fn with_state_since(mut self, state_since: Timestamp) -> Self {
        self.state_since = state_since;
        self
    }

    /// When this binding entered its state, as far as its own times tell: a lease that ended
    /// (Expired, Released) at its `end`, any other state at its `start` (an offer or a lease
    /// when made, a declined address when declined). What a write that changes the state
    /// records, and what older databases and imports without the time get.
    pub fn implied_state_since(&self) -> Timestamp {
        match self.state {
            State4::Expired | State4::Released => self.end,
            State4::Offered | State4::Active | State4::Declined | State4::Reserved => self.start,
        }
    }

    /// How recent the binding's last transaction is: client-last-transaction-time, then the
    /// store's transaction order within the same second. Larger is more recent (RFC 4388 §6.4.1
    /// answers with the most recent).
    pub fn recency(&self) -> (Timestamp, u64) {
        (self.cltt, self.sequence)
    }

    /// Whether this binding, written over `earlier`, continues `earlier`'s state rather than
    /// entering it anew: same state, same client, and, for a lease or an offer, `earlier` had not
    /// run out when this one started (a renewal; not a lease taken again after it ended).
    pub fn continues(&self, earlier: &Binding4) -> bool {
        self.state == earlier.state
            && self.hw == earlier.hw
            && self.client_id() == earlier.client_id()
            && match self.state {
                State4::Active | State4::Offered => self.start < earlier.end,
                State4::Expired | State4::Released | State4::Declined | State4::Reserved => true,
            }
    }

    var_field!(
        client_id,
        set_client_id,
        with_client_id,
        CLIENT_ID,
        "client identifier (option 61 value)"
    );
    var_field!(
        relay_agent_information,
        set_relay_agent_information,
        with_relay_agent_information,
        RELAY_AGENT_INFO,
        "raw relay agent information (option 82 value) of the most recent DHCPREQUEST"
    );
    var_field!(
        circuit_id,
        set_circuit_id,
        with_circuit_id,
        CIRCUIT_ID,
        "agent circuit-id (option 82 sub-option 1)"
    );
    var_field!(
        remote_id,
        set_remote_id,
        with_remote_id,
        REMOTE_ID,
        "agent remote-id (option 82 sub-option 2)"
    );
    var_field!(
        relay_id,
        set_relay_id,
        with_relay_id,
        RELAY_ID,
        "relay-id (option 82 sub-option 12)"
    );
    var_field!(
        vendor_class_id,
        set_vendor_class_id,
        with_vendor_class_id,
        VENDOR_CLASS_ID,
        "vendor class identifier (option 60)"
    );
    var_field!(
        hostname,
        set_hostname,
        with_hostname,
        HOSTNAME,
        "host name (option 12)"
    );

    /// Replaces every variable-length field at once (one allocation), each held to
    /// [`MAX_CLIENT_FIELD`]: host name and vendor class shortened, any other field too long
    /// refused (nothing changes then).
    pub fn set_fields(&mut self, f: Fields4<'_>) -> Result<(), StoreError> {
        let mut values = [None; VAR_FIELDS];
        values[CLIENT_ID] = f.client_id;
        values[RELAY_AGENT_INFO] = f.relay_agent_information;
        values[CIRCUIT_ID] = f.circuit_id;
        values[REMOTE_ID] = f.remote_id;
        values[RELAY_ID] = f.relay_id;
        values[VENDOR_CLASS_ID] = f.vendor_class_id;
        values[HOSTNAME] = f.hostname;
        for (i, v) in values.iter_mut().enumerate() {
            *v = capped(i, *v)?;
        }
        self.vars = Packed::from_values(values, FIELD_NAMES)?;
        Ok(())
    }

    /// Every variable-length field.
    pub fn fields(&self) -> Fields4<'_> {
        Fields4 {
            client_id: self.client_id(),
            relay_agent_information: self.relay_agent_information(),
            circuit_id: self.circuit_id(),
            remote_id: self.remote_id(),
            relay_id: self.relay_id(),
            vendor_class_id: self.vendor_class_id(),
            hostname: self.hostname(),
        }
    }

    /// Whether the lease is active at `now` (state Active and `end` not reached).
    pub fn is_active_at(&self, now: Timestamp) -> bool {
        self.state == State4::Active && now < self.end
    }

    /// Octets this binding holds on the heap (the packed variable-length fields), not counting the
    /// allocator's overhead.
    pub fn heap_len(&self) -> usize {
        self.vars.heap_len()
    }
}

impl fmt::Debug for Binding4 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Binding4")
            .field("address", &self.address)
            .field("state", &self.state)
            .field("hw", &self.hw)
            .field("start", &self.start)
            .field("end", &self.end)
            .field("t1", &self.t1)
            .field("t2", &self.t2)
            .field("cltt", &self.cltt)
            .field("state_since", &self.state_since)
            .field("sequence", &self.sequence)
            .field("subnet", &self.subnet)
            .field("client_id", &self.client_id())
            .field("relay_agent_information", &self.relay_agent_information())
            .field("circuit_id", &self.circuit_id())
            .field("remote_id", &self.remote_id())
            .field("relay_id", &self.relay_id())
            .field("vendor_class_id", &self.vendor_class_id())
            .field("hostname", &self.hostname())
            .finish()
    }
}

impl Record for Binding4 {
    type Key = u32;
    const MIN_KEY: u32 = 0;
    const INDEXES: usize = 4;

    fn key(&self) -> u32 {
        u32::from(self.address)
    }

    fn index_keys(&self, f: &mut dyn FnMut(usize, &[u8])) {
        let (mac, len) = self.hw.key_bytes();
        f(Index4::Mac as usize, &mac[..len]);
        if let Some(id) = self.client_id() {
            f(Index4::ClientId as usize, id);
        }
        if let Some(id) = self.relay_id() {
            f(Index4::RelayId as usize, id);
        }
        if let Some(id) = self.remote_id() {
            f(Index4::RemoteId as usize, id);
        }
    }

    fn expires_at(&self) -> Option<Timestamp> {
        (self.state == State4::Active).then_some(self.end)
    }

    /// Expired and Released: since their end. Declined: once its probation (`end`) has passed;
    /// Offered: once the offer has lapsed. Active bindings join when the expiry timer turns them
    /// Expired; Reserved never.
    fn free_since(&self) -> Option<Timestamp> {
        match self.state {
            State4::Expired | State4::Released | State4::Declined | State4::Offered => {
                Some(self.end)
            }
            State4::Active | State4::Reserved => None,
        }
    }

    /// Expired since its `end` (the lease ran out then, whenever the timer noticed).
    fn expired(&self) -> Self {
        let mut b = self.clone();
        b.state = State4::Expired;
        b.state_since = b.end;
        b
    }

    fn is_durable(&self) -> bool {
        self.state.is_durable()
    }

    /// Relay-id and remote-id: a relay's identifiers, which 100,000 bindings may share. A MAC
    /// or a client-id has a few bindings; ranking them too would double what each write and
    /// each expiry costs the indexes, for lookups that walk a handful of entries anyway.
    fn is_ranked_index(index: usize) -> bool {
        index == Index4::RelayId as usize || index == Index4::RemoteId as usize
    }

    /// Active bindings: what leasequery answers with, most recent first.
    fn is_ranked(&self) -> bool {
        self.state == State4::Active
    }

    fn recency(&self) -> (u64, u64) {
        Binding4::recency(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn small() {
        // Fixed part of a binding; the variable-length fields are one extra allocation.
        assert!(std::mem::size_of::<Binding4>() <= 120);
    }

    #[test]
    fn states_round_trip_and_map_to_rfc6926() {
        for s in State4::ALL {
            assert_eq!(State4::from_name(s.as_str()), Some(s));
        }
        assert_eq!(u8::from(State4::Active.dhcp_state()), 2);
        assert_eq!(u8::from(State4::Expired.dhcp_state()), 3);
        assert_eq!(u8::from(State4::Released.dhcp_state()), 4);
        assert_eq!(u8::from(State4::Declined.dhcp_state()), 5);
        assert!(!State4::Offered.is_durable());
        assert_eq!(State4::from_name("bogus"), None);
    }

    #[test]
    fn var_fields() {
        let b = Binding4::new(
            Ipv4Addr::new(192, 0, 2, 1),
            "192.0.2.0/24".parse().unwrap(),
            HwAddr::ethernet([0, 1, 2, 3, 4, 5]),
            State4::Active,
        )
        .with_client_id(b"\x01cid")
        .unwrap()
        .with_relay_id(b"relay")
        .unwrap()
        .with_hostname(b"host")
        .unwrap();
        assert_eq!(b.client_id(), Some(&b"\x01cid"[..]));
        assert_eq!(b.relay_id(), Some(&b"relay"[..]));
        assert_eq!(b.remote_id(), None);
        assert_eq!(b.hostname(), Some(&b"host"[..]));
        assert_eq!(b.heap_len(), 13);
        let mut c = b.clone();
        c.set_fields(b.fields()).unwrap();
        assert_eq!(c, b);
        c.set_fields(Fields4::default()).unwrap();
        assert_eq!(c.fields(), Fields4::default());
        assert_eq!(c.heap_len(), 0);
    }

    #[test]
    fn fields_are_held_to_what_one_option_carries() {
        let mut b = Binding4::new(
            Ipv4Addr::new(192, 0, 2, 1),
            "192.0.2.0/24".parse().unwrap(),
            HwAddr::ethernet([0, 1, 2, 3, 4, 5]),
            State4::Active,
        );
        let long = vec![b'x'; 64 * 1024 - 2];
        let fits = vec![b'y'; MAX_CLIENT_FIELD];
        // Host name and vendor class: shortened.
        b.set_fields(Fields4 {
            hostname: Some(&long),
            vendor_class_id: Some(&long[..256]),
            client_id: Some(&fits),
            ..Fields4::default()
        })
        .unwrap();
        assert_eq!(b.hostname(), Some(&long[..MAX_CLIENT_FIELD]));
        assert_eq!(b.vendor_class_id().map(<[u8]>::len), Some(MAX_CLIENT_FIELD));
        assert_eq!(b.client_id(), Some(&fits[..]));
        b.set_hostname(Some(&long)).unwrap();
        assert_eq!(b.hostname().map(<[u8]>::len), Some(MAX_CLIENT_FIELD));
        // Identities and option 82: refused, and the binding left as it was.
        let before = b.clone();
        for f in [
            Fields4 {
                client_id: Some(&long[..256]),
                ..Fields4::default()
            },
            Fields4 {
                relay_agent_information: Some(&long[..256]),
                ..Fields4::default()
            },
            Fields4 {
                remote_id: Some(&long),
                ..Fields4::default()
            },
        ] {
            assert!(matches!(
                b.set_fields(f),
                Err(StoreError::FieldTooLong { len, .. }) if len > MAX_CLIENT_FIELD
            ));
            assert_eq!(b, before);
        }
        assert!(b.set_relay_id(Some(&long[..300])).is_err());
        assert_eq!(b, before);
    }
}
