//! The records the parser produces: one [`IscLease`] per well-formed `lease` block, and a
//! [`Skipped`] for everything else in the file.

use std::fmt;
use std::net::{Ipv4Addr, Ipv6Addr};

use super::values::SetValue;

/// ISC binding states (`binding state`, `next binding state`, `rewind binding state`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum BindingState {
    Free,
    Active,
    Expired,
    Released,
    Abandoned,
    Reset,
    Backup,
    Reserved,
    Bootp,
}

impl BindingState {
    /// The state named as in the leases file.
    pub fn from_isc(name: &str) -> Option<Self> {
        Some(match name {
            "free" => Self::Free,
            "active" => Self::Active,
            "expired" => Self::Expired,
            "released" => Self::Released,
            "abandoned" => Self::Abandoned,
            "reset" => Self::Reset,
            "backup" => Self::Backup,
            "reserved" => Self::Reserved,
            "bootp" => Self::Bootp,
            _ => return None,
        })
    }

    /// The name ISC writes.
    pub fn as_isc(self) -> &'static str {
        match self {
            Self::Free => "free",
            Self::Active => "active",
            Self::Expired => "expired",
            Self::Released => "released",
            Self::Abandoned => "abandoned",
            Self::Reset => "reset",
            Self::Backup => "backup",
            Self::Reserved => "reserved",
            Self::Bootp => "bootp",
        }
    }
}

impl fmt::Display for BindingState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_isc())
    }
}

/// `hardware TYPE ADDRESS;`
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hardware {
    /// ARP hardware type: ethernet 1, token-ring 6, fddi 8, infiniband 32.
    pub htype: u8,
    /// The hardware address (at most 16 octets, as in a DHCP `chaddr`).
    pub addr: Vec<u8>,
}

/// One relay agent information (option 82) sub-option of a lease.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubOption {
    pub code: u8,
    pub data: Vec<u8>,
}

/// Something read inside a lease block and not kept in the [`IscLease`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Note {
    /// 1-based line of the statement.
    pub line: usize,
    /// The kind of statement, the same text for every statement of that kind (e.g.
    /// `option domain-name`, `` `on` event statement ``): the report counts per kind.
    pub what: String,
}

impl fmt::Display for Note {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}: {}", self.line, self.what)
    }
}

/// One DHCPv4 lease block: `lease ADDRESS { ... }`.
///
/// Times are seconds since the Unix epoch (UTC). `never` is recorded as `None`; for `ends` it
/// also sets [`IscLease::ends_never`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IscLease {
    /// 1-based line of the `lease` keyword.
    pub line: usize,
    pub address: Ipv4Addr,
    pub starts: Option<u64>,
    pub ends: Option<u64>,
    /// `ends never;` (an infinite lease).
    pub ends_never: bool,
    pub tstp: Option<u64>,
    pub tsfp: Option<u64>,
    pub atsfp: Option<u64>,
    pub cltt: Option<u64>,
    pub binding_state: Option<BindingState>,
    pub next_binding_state: Option<BindingState>,
    pub rewind_binding_state: Option<BindingState>,
    pub hardware: Option<Hardware>,
    /// Client identifier (option 61), decoded from either form.
    pub uid: Option<Vec<u8>>,
    /// `client-hostname "..."`, bytes decoded lossily as UTF-8.
    pub client_hostname: Option<String>,
    /// Relay agent information (option 82) sub-options, one per code: first those of the
    /// `option agent.NAME` lines in file order (the order the relay sent them, which is the
    /// order dhcpd writes them in), then those only known from `set agent-*` variables.
    pub agent: Vec<SubOption>,
    /// `set vendor-class-identifier = "...";`
    pub vendor_class_id: Option<Vec<u8>>,
    /// Every `set NAME = VALUE;`, in block order (including the ones also mapped to the fields
    /// above).
    pub sets: Vec<(String, SetValue)>,
    /// The `bootp;` flag.
    pub bootp: bool,
    /// The `reserved;` flag.
    pub reserved: bool,
    /// Statements read but not kept (`on ...`, other options, unknown statements).
    pub notes: Vec<Note>,
}

impl IscLease {
    pub(crate) fn new(line: usize, address: Ipv4Addr) -> Self {
        IscLease {
            line,
            address,
            starts: None,
            ends: None,
            ends_never: false,
            tstp: None,
            tsfp: None,
            atsfp: None,
            cltt: None,
            binding_state: None,
            next_binding_state: None,
            rewind_binding_state: None,
            hardware: None,
            uid: None,
            client_hostname: None,
            agent: Vec::new(),
            vendor_class_id: None,
            sets: Vec::new(),
            bootp: false,
            reserved: false,
            notes: Vec::new(),
        }
    }

    /// The value of option 82 sub-option `code`, if the lease has it.
    pub fn sub_option(&self, code: u8) -> Option<&[u8]> {
        self.agent
            .iter()
            .find(|s| s.code == code)
            .map(|s| &s.data[..])
    }

    /// Sets sub-option `code`, in place if the lease has it already, else after the others.
    pub(crate) fn set_sub_option(&mut self, code: u8, data: Vec<u8>) {
        match self.agent.iter_mut().find(|s| s.code == code) {
            Some(s) => s.data = data,
            None => self.agent.push(SubOption { code, data }),
        }
    }

    /// Relay agent circuit-id (option 82 sub-option 1).
    pub fn circuit_id(&self) -> Option<&[u8]> {
        self.sub_option(1)
    }

    /// Relay agent remote-id (sub-option 2).
    pub fn remote_id(&self) -> Option<&[u8]> {
        self.sub_option(2)
    }

    /// Relay-id (sub-option 12).
    pub fn relay_id(&self) -> Option<&[u8]> {
        self.sub_option(12)
    }

    /// Whether the block names a client: a non-empty hardware address or uid.
    pub fn has_client_identity(&self) -> bool {
        self.hardware.as_ref().is_some_and(|h| !h.addr.is_empty())
            || self.uid.as_ref().is_some_and(|u| !u.is_empty())
    }

    /// How this lease should be imported (see `docs/import-isc.md`).
    ///
    /// Time-independent: an `active` lease whose `ends` is past is still
    /// [`Disposition::Import`]`(`[`ImportState::Active`]`)`; the converter, which knows the clock,
    /// decides whether it has expired meanwhile.
    pub fn disposition(&self) -> Disposition {
        let Some(state) = self.binding_state else {
            return Disposition::Skip("no `binding state` in the block");
        };
        let target = match state {
            BindingState::Active | BindingState::Bootp | BindingState::Reserved => {
                ImportState::Active
            }
            BindingState::Expired => ImportState::Expired,
            BindingState::Released => ImportState::Released,
            BindingState::Abandoned => ImportState::Abandoned,
            BindingState::Free | BindingState::Backup | BindingState::Reset => ImportState::Free,
        };
        if !self.has_client_identity() {
            return Disposition::Skip(match target {
                ImportState::Active => "active lease without hardware address or uid",
                _ => "not active and no hardware address or uid: nothing to remember",
            });
        }
        Disposition::Import(target)
    }
}

/// The binding state a lease is imported as.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ImportState {
    /// ISC `active`, `bootp`, `reserved`: the address is held by the client.
    Active,
    /// ISC `free`, `backup`, `reset`: available, last held by the client named.
    Free,
    /// ISC `expired`.
    Expired,
    /// ISC `released`.
    Released,
    /// ISC `abandoned` (address found in use by an unknown host).
    Abandoned,
}

/// Whether and how an [`IscLease`] becomes a binding.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Disposition {
    Import(ImportState),
    Skip(&'static str),
}

/// Something in the file that was not turned into an [`IscLease`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Skipped {
    /// 1-based line where the skipped declaration starts.
    pub line: usize,
    /// What was skipped, e.g. `lease 192.0.2.7` or `server-duid`.
    pub what: String,
    /// Why; names the offending line for malformed blocks.
    pub why: String,
    /// The kind of skip, the same text for every item of that kind (the report counts per
    /// kind): the reason for a declaration, [`MALFORMED_LEASE`] for a lease block that could not
    /// be read.
    pub kind: &'static str,
    /// The address of a malformed lease block, when its header names one: a later malformed
    /// block for an address drops the earlier blocks for it too.
    pub address: Option<Ipv4Addr>,
    /// The addresses and prefixes (address, length) a malformed DHCPv6 IA block names before the
    /// error: a later malformed block drops the earlier ones for them too.
    pub v6_keys: Vec<(Ipv6Addr, u8)>,
}

/// [`Skipped::kind`] of a `lease` block that could not be read.
pub const MALFORMED_LEASE: &str = "malformed lease block";
