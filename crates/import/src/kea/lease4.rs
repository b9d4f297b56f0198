//! The rows of `kea-leases4.csv`, as Kea 2.2 writes them (`CSVLeaseFile4`):
//!
//! ```text
//! address,hwaddr,client_id,valid_lifetime,expire,subnet_id,fqdn_fwd,fqdn_rev,hostname,state,user_context
//! 192.0.2.10,02:00:00:00:00:01,01:02:00:00:00:00:01,3600,1795690800,1,0,0,host-1,0,
//! ```
//!
//! Columns are found by name, so files of older schemas (without `state` and `user_context`)
//! read too; `expire` is cltt plus the valid lifetime; `state` 0 is a lease (default), 1
//! declined, 2 expired-reclaimed (and 3, released, from Kea 2.6 on). Kea keeps no hardware type
//! in the file: the address is Ethernet's (htype 1), as Kea reads it back.
//!
//! A row becomes a [`crate::isc::IscLease`], the DHCPv4 record the import converts and streams
//! (`crate::stream`): ISC records a superset of what Kea does, so both files go through the same
//! conversion, upsert and report.

use std::io::{self, BufRead};
use std::net::Ipv4Addr;

use serde_json::Value;

use super::csv::{Fields, Header, Table};
use super::relay::relay_agent_info;
use crate::isc::values::clip;
use crate::isc::{BindingState, Hardware, IscLease, Note, Skipped};

/// The columns a row cannot do without.
pub const REQUIRED: [&str; 6] = [
    "address",
    "hwaddr",
    "client_id",
    "valid_lifetime",
    "expire",
    "subnet_id",
];

/// The columns Kea 2.2 writes besides [`REQUIRED`], all read when present.
pub const OPTIONAL: [&str; 5] = ["fqdn_fwd", "fqdn_rev", "hostname", "state", "user_context"];

/// Ethernet, the hardware type Kea gives every address of a `kea-leases4.csv`.
const HTYPE_ETHER: u8 = 1;

/// One row.
#[derive(Debug, Clone, PartialEq)]
pub struct KeaLease4 {
    pub line: usize,
    pub address: Ipv4Addr,
    /// Empty for a declined lease (Kea forgets the client).
    pub hwaddr: Vec<u8>,
    pub client_id: Vec<u8>,
    pub valid_lifetime: u32,
    /// cltt + valid lifetime.
    pub expire: u64,
    pub subnet_id: u32,
    pub fqdn_fwd: bool,
    pub fqdn_rev: bool,
    pub hostname: String,
    pub state: u32,
    /// The user context, a JSON map.
    pub user_context: Option<Value>,
}

/// [`Skipped::kind`] of a row that could not be read.
pub const MALFORMED_ROW: &str = super::lease6::MALFORMED_ROW;
/// [`Skipped::kind`] of a row with valid lifetime 0.
pub const DELETED: &str = super::lease6::DELETED;
/// [`Skipped::kind`] of a row whose state Kea does not define.
pub const UNKNOWN_STATE: &str =
    "unknown lease state (0 default, 1 declined, 2 expired-reclaimed, 3 released)";
/// [`Skipped::kind`] of a row whose `expire` is less than its valid lifetime.
pub const EXPIRE_TOO_EARLY: &str = "`expire` before the valid lifetime could have started";

/// What a row is.
#[derive(Debug, Clone, PartialEq)]
pub enum Row4 {
    Lease(Box<KeaLease4>),
    Skipped(Skipped),
}

/// The rows of a `kea-leases4.csv`, read as a stream: one item per line after the header (blank
/// lines aside).
pub struct Rows4<R> {
    table: Table<R>,
}

impl<R: BufRead> Rows4<R> {
    pub fn new(reader: R) -> Self {
        Rows4 {
            table: Table::new(reader, &REQUIRED, "kea-leases4.csv"),
        }
    }

    /// The header, once read.
    pub fn header(&self) -> Option<&Header> {
        self.table.header()
    }
}

fn skipped(line: usize, what: String, why: String, kind: &'static str) -> Skipped {
    Skipped {
        line,
        what,
        why,
        kind,
        address: None,
        v6_keys: Vec::new(),
    }
}

impl<R: BufRead> Iterator for Rows4<R> {
    type Item = io::Result<Row4>;

    fn next(&mut self) -> Option<io::Result<Row4>> {
        Some(self.table.next_row()?.map(|(n, row)| match row {
            Ok(get) => row4(n, &get),
            Err(why) => Row4::Skipped(skipped(n, "row".into(), why, MALFORMED_ROW)),
        }))
    }
}

/// One row.
fn row4(n: usize, get: &Fields<'_>) -> Row4 {
    let address = get.get("address");
    match read(n, get) {
        Ok(l) => Row4::Lease(Box::new(l)),
        Err(why) => {
            let mut s = skipped(n, format!("row {}", clip(address)), why, MALFORMED_ROW);
            // A malformed row for a known address drops the earlier rows for it, as a later
            // row would have replaced them.
            s.address = address.parse().ok();
            Row4::Skipped(s)
        }
    }
}

fn read(line: usize, get: &Fields<'_>) -> Result<KeaLease4, String> {
    let address = get.get("address");
    let address: Ipv4Addr = address
        .parse()
        .map_err(|_| format!("`address`: not an IPv4 address: {:?}", clip(address)))?;
    Ok(KeaLease4 {
        line,
        address,
        hwaddr: get.hex("hwaddr")?,
        client_id: get.hex("client_id")?,
        valid_lifetime: get.number("valid_lifetime")?,
        expire: get.number("expire")?,
        subnet_id: get.number("subnet_id")?,
        fqdn_fwd: get.boolean("fqdn_fwd")?,
        fqdn_rev: get.boolean("fqdn_rev")?,
        hostname: get.text("hostname"),
        state: get.number_or_zero("state")?,
        user_context: get.user_context()?,
    })
}

/// The infinite lifetime (Kea's `infinite` valid lifetime).
const INFINITY: u32 = u32::MAX;

impl KeaLease4 {
    /// The row as a lease record, or why it is none (a deleted lease, an unknown state); the
    /// [`Skipped`] names the address, so that it drops the earlier rows for it.
    pub fn lease(&self) -> Result<IscLease, Skipped> {
        let skip = |kind: &'static str, why: String| {
            let mut s = skipped(self.line, format!("row {}", self.address), why, kind);
            s.address = Some(self.address);
            s
        };
        if self.valid_lifetime == 0 {
            return Err(skip(DELETED, DELETED.into()));
        }
        let state = match self.state {
            0 => BindingState::Active,
            // What the store calls declined: in use by an unknown host until the probation ends.
            1 => BindingState::Abandoned,
            2 => BindingState::Expired,
            3 => BindingState::Released,
            n => return Err(skip(UNKNOWN_STATE, format!("state {n}"))),
        };
        let cltt = self
            .expire
            .checked_sub(u64::from(self.valid_lifetime))
            .ok_or_else(|| skip(EXPIRE_TOO_EARLY, format!("expire {}", self.expire)))?;
        let mut l = IscLease::new(self.line, self.address);
        l.binding_state = Some(state);
        l.starts = Some(cltt);
        l.cltt = Some(cltt);
        if self.valid_lifetime == INFINITY {
            l.ends_never = true;
        } else {
            l.ends = Some(self.expire);
        }
        if !self.hwaddr.is_empty() {
            l.hardware = Some(Hardware {
                htype: HTYPE_ETHER,
                addr: self.hwaddr.clone(),
            });
        }
        if !self.client_id.is_empty() {
            l.uid = Some(self.client_id.clone());
        }
        if !self.hostname.is_empty() {
            l.client_hostname = Some(self.hostname.clone());
        }
        let mut note = |what: &str| {
            l.notes.push(Note {
                line: self.line,
                what: what.to_string(),
            })
        };
        if self.fqdn_fwd || self.fqdn_rev {
            note("fqdn_fwd/fqdn_rev (DNS updates done by Kea)");
        }
        let mut agent = Vec::new();
        if let Some(ctx) = &self.user_context {
            match relay_agent_info(ctx) {
                Ok(subs) => agent = subs,
                Err(why) => note(&format!(
                    "relay agent information in the user context (unreadable: {why})"
                )),
            }
            let others = ctx.as_object().is_some_and(|m| {
                m.iter().any(|(k, v)| {
                    k != "ISC"
                        || v.as_object()
                            .is_some_and(|isc| isc.keys().any(|k| k != "relay-agent-info"))
                })
            });
            if others {
                note("user context (other than relay agent information)");
            }
        }
        l.agent = agent;
        Ok(l)
    }
}
