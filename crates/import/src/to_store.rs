//! Converting parsed ISC leases ([`IscLease`]) into store bindings ([`Binding4`]).
//!
//! [`binding4`] is a pure function: the clock (`now`) and the subnets are passed in. The choices
//! it makes (documented in `docs/import-isc.md`):
//!
//! - State, from [`IscLease::disposition`]: Active → `active` (or `expired` when `ends` is not
//!   after `now`), Expired → `expired`, Released → `released`, Abandoned → `declined` (the store's
//!   state for "an unknown host uses this address", reported as ABANDONED by leasequery),
//!   Free (`free`, `backup`, `reset`) → `expired` (the address is available and the binding only
//!   remembers its last client, which is what an expired binding is).
//! - Times: `start` = `starts` (else `cltt`), `end` = `ends`, `cltt` = `cltt` (else `start`).
//!   ISC files do not record T1/T2: they are set to start + 1/2 and start + 7/8 of the lease
//!   duration, the RFC 2131 defaults. `ends never` becomes [`NEVER`]. An active lease needs
//!   `ends` and one of `starts`/`cltt`; a non-active one without them gets 0.
//! - Hardware: htype and address as read; a block with a uid but no `hardware` line gets htype
//!   0 with an empty chaddr (hlen 0).
//! - Option 82: ISC keeps the sub-options, not the raw value, so the raw value is *rebuilt* from
//!   every sub-option of the lease, in the order dhcpd wrote them (the order the relay sent them).
//!   circuit-id (1), remote-id (2) and relay-id (12) are also kept on their own (the store indexes
//!   them). A value that cannot be encoded (a sub-option longer than 255 octets) leaves the raw
//!   value unset and is not kept on its own either (the store keeps no field longer than one
//!   option carries); the report says so.
//! - Subnet: the most specific of `subnets` containing the address; none is an error.

use std::fmt;

use ipnet::Ipv4Net;
use lessor_store::{Binding4, Fields4, HwAddr, State4, Timestamp, MAX_CLIENT_FIELD};
use lessor_wire::v4::RelayAgentInformation;

use crate::isc::values::agent_set_variable;
use crate::isc::{Disposition, ImportState, IscLease, SubOption};

/// The `end` of a lease that never ends (`ends never;`): the largest time the store keeps.
pub const NEVER: Timestamp = i64::MAX as Timestamp;

/// Why a lease was not converted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Skip(pub String);

impl fmt::Display for Skip {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

fn skip(why: impl Into<String>) -> Skip {
    Skip(why.into())
}

/// The store state an [`ImportState`] becomes at `now` (`end` decides whether an active lease has
/// expired meanwhile).
pub fn state4(state: ImportState, end: Timestamp, now: Timestamp) -> State4 {
    match state {
        ImportState::Active if end > now => State4::Active,
        ImportState::Active => State4::Expired,
        ImportState::Expired | ImportState::Free => State4::Expired,
        ImportState::Released => State4::Released,
        ImportState::Abandoned => State4::Declined,
    }
}

/// The option 82 value rebuilt from sub-options, in the order given; `None` when there are none
/// or one does not fit in a sub-option.
pub fn relay_agent_information(subs: &[SubOption]) -> Option<RelayAgentInformation<'static>> {
    if subs.is_empty() {
        return None;
    }
    RelayAgentInformation::from_sub_options(subs.iter().map(|s| (s.code, &s.data[..]))).ok()
}

/// Converts one ISC lease into a binding, at time `now` (seconds since the Unix epoch), in the
/// most specific of `subnets` containing its address.
pub fn binding4(lease: &IscLease, subnets: &[Ipv4Net], now: Timestamp) -> Result<Binding4, Skip> {
    let target = match lease.disposition() {
        Disposition::Import(s) => s,
        Disposition::Skip(why) => return Err(skip(why)),
    };
    let subnet = subnets
        .iter()
        .filter(|n| n.contains(&lease.address))
        .max_by_key(|n| n.prefix_len())
        .copied()
        .ok_or_else(|| skip("outside every configured subnet"))?;

    let end = if lease.ends_never {
        Some(NEVER)
    } else {
        lease.ends
    };
    let start = lease.starts.or(lease.cltt);
    if target == ImportState::Active {
        if end.is_none() {
            return Err(skip("active lease without `ends`"));
        }
        if start.is_none() {
            return Err(skip("active lease without `starts` or `cltt`"));
        }
    }
    let start = start.unwrap_or(0);
    let end = end.unwrap_or(start);
    let duration = end.saturating_sub(start);
    let t1 = start + duration / 2;
    let t2 = start + duration / 8 * 7 + duration % 8 * 7 / 8;
    let cltt = lease.cltt.unwrap_or(start);

    let hw = match &lease.hardware {
        Some(h) => HwAddr::new(h.htype, &h.addr).map_err(|e| skip(e.to_string()))?,
        None => HwAddr::new(0, &[]).map_err(|e| skip(e.to_string()))?,
    };
    let state = state4(target, end, now);
    let mut b =
        Binding4::new(lease.address, subnet, hw, state).with_times(start, end, t1, t2, cltt);
    let raw = relay_agent_information(&lease.agent);
    // A sub-option longer than a sub-option can be was never on the wire: not kept (the store
    // holds every field to what one option carries, lessor_store::MAX_CLIENT_FIELD).
    fn sub(v: Option<&[u8]>) -> Option<&[u8]> {
        v.filter(|v| v.len() <= MAX_CLIENT_FIELD)
    }
    b.set_fields(Fields4 {
        client_id: lease.uid.as_deref(),
        relay_agent_information: raw.as_ref().map(RelayAgentInformation::as_bytes),
        circuit_id: sub(lease.circuit_id()),
        remote_id: sub(lease.remote_id()),
        relay_id: sub(lease.relay_id()),
        vendor_class_id: lease.vendor_class_id.as_deref(),
        hostname: lease.client_hostname.as_deref().map(str::as_bytes),
    })
    .map_err(|e| skip(e.to_string()))?;
    Ok(b)
}

/// Reports, as `(line, kind)`, everything in `lease` that `binding` (converted from it) does not
/// keep: the statements the parser noted, the fields the store has no place for, `set` variables
/// that fill no field, and option 82 when it could not be rebuilt. `kind` is the same text for
/// every lease, so a report can count per kind; `line` is the statement's line where the parser
/// recorded it, else the lease block's.
pub fn not_imported(lease: &IscLease, binding: &Binding4, mut report: impl FnMut(usize, &str)) {
    for n in &lease.notes {
        report(n.line, &n.what);
    }
    let line = lease.line;
    let fields = [
        (lease.tstp.is_some(), "tstp (the failover peer's end time)"),
        (lease.tsfp.is_some(), "tsfp (the failover peer's end time)"),
        (
            lease.atsfp.is_some(),
            "atsfp (the failover peer's acknowledged end time)",
        ),
        (
            lease.next_binding_state.is_some(),
            "next binding state (Lessor's own expiry decides)",
        ),
        (
            lease.rewind_binding_state.is_some(),
            "rewind binding state (ISC failover)",
        ),
        (lease.bootp, "`bootp;` flag"),
        (lease.reserved, "`reserved;` flag"),
    ];
    for (present, kind) in fields {
        if present {
            report(line, kind);
        }
    }
    for (name, value) in &lease.sets {
        // The variables the parser maps to fields (an agent sub-option from `set` is used only
        // when no `option agent.*` line gave it, but the store has that sub-option either way).
        let mapped = name == "vendor-class-identifier" || agent_set_variable(name).is_some();
        if !(mapped && value.bytes().is_some()) {
            report(line, &format!("set {name}"));
        }
    }
    if !lease.agent.is_empty() && binding.relay_agent_information().is_none() {
        report(
            line,
            "option 82 (a sub-option longer than 255 octets: neither it nor the raw value was kept)",
        );
    }
}

#[cfg(test)]
mod tests;
