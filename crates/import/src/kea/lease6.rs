//! The rows of `kea-leases6.csv`, as Kea 2.2 writes them (`CSVLeaseFile6`):
//!
//! ```text
//! address,duid,valid_lifetime,expire,subnet_id,pref_lifetime,lease_type,iaid,prefix_len,fqdn_fwd,fqdn_rev,hostname,hwaddr,state,user_context,hwtype,hwaddr_source
//! 2001:db8:1::1000,00:01:00:01:2c:d4:13:62:02:00:00:00:00:01,3600,1795474444,1,1800,0,1,128,0,0,,02:00:00:00:00:01,0,,1,2
//! ```
//!
//! Columns are found by name, so files of older schemas (without `hwaddr`, `state`,
//! `user_context`, `hwtype`, `hwaddr_source`) read too; `expire` is cltt plus the valid lifetime;
//! `lease_type` 0 is IA_NA, 1 IA_TA, 2 IA_PD; `state` 0 is a lease (default), 1 declined, 2
//! expired-reclaimed.

use std::io::{self, BufRead};
use std::net::Ipv6Addr;

use lessor_store::IaType;
use serde_json::Value;

use super::csv::{Fields, Header, Table};
use super::relay::relay6;
use crate::isc::{Note, Skipped};
use crate::lease6::{Lease6, Relay6, Standing};

/// The columns a row cannot do without (Kea refuses a file without the columns up to
/// `hostname` too).
pub const REQUIRED: [&str; 9] = [
    "address",
    "duid",
    "valid_lifetime",
    "expire",
    "subnet_id",
    "pref_lifetime",
    "lease_type",
    "iaid",
    "prefix_len",
];

/// The columns Kea 2.2 writes besides [`REQUIRED`], all read when present.
pub const OPTIONAL: [&str; 8] = [
    "fqdn_fwd",
    "fqdn_rev",
    "hostname",
    "hwaddr",
    "state",
    "user_context",
    "hwtype",
    "hwaddr_source",
];

/// One row.
#[derive(Debug, Clone, PartialEq)]
pub struct KeaLease6 {
    pub line: usize,
    pub address: Ipv6Addr,
    pub duid: Vec<u8>,
    pub valid_lifetime: u32,
    /// cltt + valid lifetime.
    pub expire: u64,
    pub subnet_id: u32,
    pub pref_lifetime: u32,
    pub lease_type: u8,
    pub iaid: u32,
    pub prefix_len: u8,
    pub fqdn_fwd: bool,
    pub fqdn_rev: bool,
    pub hostname: String,
    pub hwaddr: Vec<u8>,
    pub state: u32,
    /// The user context, a JSON map.
    pub user_context: Option<Value>,
}

/// [`Skipped::kind`] of a row that could not be read.
pub const MALFORMED_ROW: &str = "malformed row";
/// [`Skipped::kind`] of an IA_TA row.
pub const TA_ROW: &str =
    "IA_TA (temporary address): not imported, Lessor does not lease temporary addresses";
/// [`Skipped::kind`] of a row with valid lifetime 0.
pub const DELETED: &str =
    "Kea's record of a deleted lease (valid lifetime 0): the address has no lease";

/// What a row is.
#[derive(Debug, Clone, PartialEq)]
pub enum Row6 {
    Lease(Box<KeaLease6>),
    Skipped(Skipped),
}

/// The rows of a `kea-leases6.csv`, read as a stream: one item per line after the header (blank
/// lines aside).
pub struct Rows6<R> {
    table: Table<R>,
}

impl<R: BufRead> Rows6<R> {
    pub fn new(reader: R) -> Self {
        Rows6 {
            table: Table::new(reader, &REQUIRED, "kea-leases6.csv"),
        }
    }

    /// The header, once read.
    pub fn header(&self) -> Option<&Header> {
        self.table.header()
    }
}

fn skipped(line: usize, what: String, why: String, kind: &'static str) -> Row6 {
    Row6::Skipped(Skipped {
        line,
        what,
        why,
        kind,
        address: None,
        v6_keys: Vec::new(),
    })
}

impl<R: BufRead> Iterator for Rows6<R> {
    type Item = io::Result<Row6>;

    fn next(&mut self) -> Option<io::Result<Row6>> {
        Some(self.table.next_row()?.map(|(n, row)| match row {
            Ok(get) => row6(n, &get),
            Err(why) => skipped(n, "row".into(), why, MALFORMED_ROW),
        }))
    }
}

/// One row.
fn row6(n: usize, get: &Fields<'_>) -> Row6 {
    let address = get.get("address");
    let what = format!("row {}", crate::isc::values::clip(address));
    match read(n, get) {
        Ok(l) => Row6::Lease(Box::new(l)),
        Err(why) => {
            let mut s = Skipped {
                line: n,
                what,
                why,
                kind: MALFORMED_ROW,
                address: None,
                v6_keys: Vec::new(),
            };
            // A malformed row for a known address drops the earlier rows for it, as a later
            // row would have replaced them.
            if let (Ok(a), Ok(len)) = (address.parse::<Ipv6Addr>(), get.get("prefix_len").parse()) {
                s.v6_keys.push((a, len));
            }
            Row6::Skipped(s)
        }
    }
}

fn read(line: usize, get: &Fields<'_>) -> Result<KeaLease6, String> {
    let address = get.get("address");
    let address: Ipv6Addr = address.parse().map_err(|_| {
        format!(
            "`address`: not an IPv6 address: {:?}",
            crate::isc::values::clip(address)
        )
    })?;
    let duid = get.hex("duid")?;
    if duid.is_empty() {
        return Err("`duid`: empty".into());
    }
    let prefix_len: u8 = get.number("prefix_len")?;
    if prefix_len > 128 {
        return Err(format!("`prefix_len`: {prefix_len} is over 128"));
    }
    let user_context = get.user_context()?;
    Ok(KeaLease6 {
        line,
        address,
        duid,
        valid_lifetime: get.number("valid_lifetime")?,
        expire: get.number("expire")?,
        subnet_id: get.number("subnet_id")?,
        pref_lifetime: get.number("pref_lifetime")?,
        lease_type: get.number("lease_type")?,
        iaid: get.number("iaid")?,
        prefix_len,
        fqdn_fwd: get.boolean("fqdn_fwd")?,
        fqdn_rev: get.boolean("fqdn_rev")?,
        hostname: get.text("hostname"),
        hwaddr: get.hex("hwaddr")?,
        state: get.number_or_zero("state")?,
        user_context,
    })
}

impl KeaLease6 {
    /// The row as a lease, or the kind and reason it is none.
    pub fn lease(&self) -> Result<Lease6, (&'static str, String)> {
        let ia_type = match self.lease_type {
            0 => IaType::Na,
            2 => IaType::Pd,
            1 => return Err((TA_ROW, TA_ROW.into())),
            n => {
                let why = "unknown lease type (0 is IA_NA, 1 IA_TA, 2 IA_PD)";
                return Err((why, format!("lease type {n}")));
            }
        };
        if self.valid_lifetime == 0 {
            return Err((DELETED, DELETED.into()));
        }
        let standing = match self.state {
            0 => Standing::Active,
            1 => Standing::Declined,
            2 => Standing::Expired,
            n => {
                let why = "unknown lease state (0 default, 1 declined, 2 expired-reclaimed)";
                return Err((why, format!("state {n}")));
            }
        };
        let cltt = self
            .expire
            .checked_sub(u64::from(self.valid_lifetime))
            .ok_or((
                "`expire` before the valid lifetime could have started",
                format!("expire {}", self.expire),
            ))?;
        let mut notes = Vec::new();
        let mut note = |what: &str| {
            notes.push(Note {
                line: self.line,
                what: what.to_string(),
            })
        };
        if !self.hostname.is_empty() {
            note("hostname");
        }
        if self.fqdn_fwd || self.fqdn_rev {
            note("fqdn_fwd/fqdn_rev (DNS updates done by Kea)");
        }
        if !self.hwaddr.is_empty() {
            note("hwaddr");
        }
        let mut relay = Relay6::default();
        if let Some(ctx) = &self.user_context {
            match relay6(ctx) {
                Ok(Some(r)) => relay = r,
                Ok(None) => {}
                Err(why) => note(&format!(
                    "relay information in the user context (unreadable: {why})"
                )),
            }
            let others = ctx.as_object().is_some_and(|m| {
                m.iter().any(|(k, v)| {
                    k != "ISC"
                        || v.as_object().is_some_and(|isc| {
                            isc.keys().any(|k| k != "relay-info" && k != "relays")
                        })
                })
            });
            if others {
                note("user context (other than relay information)");
            }
        }
        Ok(Lease6 {
            line: self.line,
            ia_type,
            duid: self.duid.clone(),
            iaid: self.iaid,
            address: self.address,
            prefix_len: self.prefix_len,
            standing,
            cltt: Some(cltt),
            preferred: self.pref_lifetime,
            valid: self.valid_lifetime,
            valid_end: (self.valid_lifetime != crate::lease6::INFINITY).then_some(self.expire),
            relay,
            notes,
        })
    }
}
