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
//! - Option 82: ISC keeps only the parsed sub-option values, so the raw value is *reconstructed*
//!   from circuit-id (1), remote-id (2) and relay-id (12), in that order. A sub-option longer than
//!   255 octets cannot be encoded: the raw value is then left unset (the sub-options are kept).
//! - Subnet: the most specific of `subnets` containing the address; none is an error.

use std::fmt;

use ipnet::Ipv4Net;
use lessor_store::{Binding4, Fields4, HwAddr, State4, Timestamp};
use lessor_wire::v4::RelayAgentInformation;

use super::isc::{Disposition, ImportState, IscLease};

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

/// The raw option 82 value rebuilt from the sub-options ISC kept (1, 2, 12 in that order); `None`
/// when there are none or one does not fit in a sub-option.
pub fn relay_agent_information(
    circuit_id: Option<&[u8]>,
    remote_id: Option<&[u8]>,
    relay_id: Option<&[u8]>,
) -> Option<Vec<u8>> {
    let subs: Vec<(u8, &[u8])> = [(1u8, circuit_id), (2, remote_id), (12, relay_id)]
        .into_iter()
        .filter_map(|(code, v)| v.map(|v| (code, v)))
        .collect();
    if subs.is_empty() {
        return None;
    }
    RelayAgentInformation::from_sub_options(subs)
        .ok()
        .map(|r| r.as_bytes().to_vec())
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
    let raw = relay_agent_information(
        lease.circuit_id.as_deref(),
        lease.remote_id.as_deref(),
        lease.relay_id.as_deref(),
    );
    b.set_fields(Fields4 {
        client_id: lease.uid.as_deref(),
        relay_agent_information: raw.as_deref(),
        circuit_id: lease.circuit_id.as_deref(),
        remote_id: lease.remote_id.as_deref(),
        relay_id: lease.relay_id.as_deref(),
        vendor_class_id: lease.vendor_class_id.as_deref(),
        hostname: lease.client_hostname.as_deref().map(str::as_bytes),
    })
    .map_err(|e| skip(e.to_string()))?;
    Ok(b)
}

#[cfg(test)]
mod tests;
