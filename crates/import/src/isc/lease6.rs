//! The records of a DHCPv6 leases file (`dhcpd6.leases`): one [`IscIa`] per well-formed `ia-na`
//! or `ia-pd` block, each with its addresses or prefixes ([`IaSub`]).

use std::net::Ipv6Addr;

use lessor_store::IaType;

use super::lease::{BindingState, Note};
use super::values::SetValue;
use crate::lease6::{Lease6, Relay6, Standing};

/// The byte order the IAIDs of a file are in. dhcpd keys an IA by the IAID as a number in the
/// host's byte order followed by the DUID, and writes that key as it is in memory; from 4.3.6 it
/// writes `authoring-byte-order` first so that a server of the other order can read the file.
/// A file without the statement is read as little-endian, the order of the machines dhcpd runs on
/// nearly everywhere (x86, little-endian ARM) (docs/operator-guide.md, "Migrating DHCPv6 leases").
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum ByteOrder {
    #[default]
    LittleEndian,
    BigEndian,
}

impl ByteOrder {
    /// The order named in `authoring-byte-order NAME;`.
    pub fn from_isc(name: &str) -> Option<ByteOrder> {
        match name {
            "little-endian" => Some(ByteOrder::LittleEndian),
            "big-endian" => Some(ByteOrder::BigEndian),
            _ => None,
        }
    }

    /// The IAID from the first four octets of an IA's key.
    pub fn iaid(self, b: [u8; 4]) -> u32 {
        match self {
            ByteOrder::LittleEndian => u32::from_le_bytes(b),
            ByteOrder::BigEndian => u32::from_be_bytes(b),
        }
    }
}

/// The kind of IA of a block.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum IaKind {
    /// `ia-na`: non-temporary addresses.
    Na,
    /// `ia-ta`: temporary addresses (never returned by the reader: reported as skipped).
    Ta,
    /// `ia-pd`: delegated prefixes.
    Pd,
}

impl IaKind {
    /// The kind a top-level keyword opens (`ia-na` and the older spelling `ia_na`, ...).
    pub fn from_keyword(w: &str) -> Option<IaKind> {
        match w {
            "ia-na" | "ia_na" => Some(IaKind::Na),
            "ia-ta" | "ia_ta" => Some(IaKind::Ta),
            "ia-pd" | "ia_pd" => Some(IaKind::Pd),
            _ => None,
        }
    }

    /// The keyword dhcpd writes.
    pub fn as_isc(self) -> &'static str {
        match self {
            IaKind::Na => "ia-na",
            IaKind::Ta => "ia-ta",
            IaKind::Pd => "ia-pd",
        }
    }

    /// The keyword of the blocks inside: `iaaddr` (IA_NA, IA_TA) or `iaprefix` (IA_PD).
    pub fn sub_keyword(self) -> &'static str {
        match self {
            IaKind::Pd => "iaprefix",
            IaKind::Na | IaKind::Ta => "iaaddr",
        }
    }
}

/// One well-formed `ia-na` or `ia-pd` block.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IscIa {
    /// 1-based line of the `ia-*` keyword.
    pub line: usize,
    pub kind: IaKind,
    /// The IAID, decoded in the file's byte order.
    pub iaid: u32,
    /// The client's DUID (the key after the IAID).
    pub duid: Vec<u8>,
    /// `cltt`: when the client last talked to the server about this IA.
    pub cltt: Option<u64>,
    /// The `iaaddr` / `iaprefix` blocks, in file order.
    pub subs: Vec<IaSub>,
    /// Statements of the IA block read but not kept.
    pub notes: Vec<Note>,
}

/// One `iaaddr ADDRESS { ... }` or `iaprefix PREFIX/LEN { ... }` block.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IaSub {
    /// 1-based line of the `iaaddr` / `iaprefix` keyword.
    pub line: usize,
    /// The address, or the prefix's first address (host bits as written).
    pub address: Ipv6Addr,
    /// 128 for an address.
    pub prefix_len: u8,
    pub binding_state: Option<BindingState>,
    /// `preferred-life N;` in seconds.
    pub preferred_life: Option<u32>,
    /// `max-life N;` in seconds (the valid lifetime).
    pub max_life: Option<u32>,
    /// `ends DATE;`: when the valid lifetime ends.
    pub ends: Option<u64>,
    /// `ends never;`.
    pub ends_never: bool,
    /// Every `set NAME = VALUE;`, in block order.
    pub sets: Vec<(String, SetValue)>,
    /// Statements read but not kept (`on ...`, unknown statements).
    pub notes: Vec<Note>,
}

impl IaSub {
    pub(crate) fn new(line: usize, address: Ipv6Addr, prefix_len: u8) -> IaSub {
        IaSub {
            line,
            address,
            prefix_len,
            binding_state: None,
            preferred_life: None,
            max_life: None,
            ends: None,
            ends_never: false,
            sets: Vec::new(),
            notes: Vec::new(),
        }
    }
}

/// [`super::Skipped::kind`] of an `ia-*` block that could not be read.
pub const MALFORMED_IA: &str = "malformed IA block";

/// [`super::Skipped::kind`] of an `ia-ta` block.
pub const IA_TA: &str =
    "IA_TA (temporary addresses): not imported, Lessor does not lease temporary addresses";

/// Why an `iaaddr` / `iaprefix` of a well-formed IA is no lease.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubSkip {
    pub line: usize,
    pub address: Ipv6Addr,
    pub prefix_len: u8,
    pub why: &'static str,
}

impl IscIa {
    /// The IA's addresses or prefixes as leases (an `ia-ta` has none: Lessor does not lease
    /// temporary addresses). The IA's own notes go with its first lease.
    pub fn leases(&self) -> Vec<Result<Lease6, SubSkip>> {
        let ia_type = match self.kind {
            IaKind::Na => IaType::Na,
            IaKind::Pd => IaType::Pd,
            IaKind::Ta => return Vec::new(),
        };
        let mut out = Vec::with_capacity(self.subs.len());
        for (n, s) in self.subs.iter().enumerate() {
            let skip = |why| SubSkip {
                line: s.line,
                address: s.address,
                prefix_len: s.prefix_len,
                why,
            };
            let Some(state) = s.binding_state else {
                out.push(Err(skip("no `binding state` in the block")));
                continue;
            };
            let standing = match state {
                BindingState::Active | BindingState::Bootp | BindingState::Reserved => {
                    Standing::Active
                }
                BindingState::Expired
                | BindingState::Free
                | BindingState::Backup
                | BindingState::Reset => Standing::Expired,
                BindingState::Released => Standing::Released,
                BindingState::Abandoned => Standing::Declined,
            };
            if standing == Standing::Active && s.ends.is_none() && !s.ends_never {
                out.push(Err(skip("active lease without `ends`")));
                continue;
            }
            let mut notes = Vec::new();
            if n == 0 {
                notes.extend(self.notes.iter().cloned());
            }
            notes.extend(s.notes.iter().cloned());
            for (name, _) in &s.sets {
                notes.push(Note {
                    line: s.line,
                    what: format!("set {name}"),
                });
            }
            out.push(Ok(Lease6 {
                line: s.line,
                ia_type,
                duid: self.duid.clone(),
                iaid: self.iaid,
                address: s.address,
                prefix_len: s.prefix_len,
                standing,
                cltt: self.cltt,
                preferred: s.preferred_life.unwrap_or(0),
                valid: s.max_life.unwrap_or(0),
                // Not active and no `ends`: over since the start of time.
                valid_end: if s.ends_never {
                    None
                } else {
                    Some(s.ends.unwrap_or(0))
                },
                relay: Relay6::default(),
                notes,
            }));
        }
        out
    }
}
