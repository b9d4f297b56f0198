//! Gleaning: what a Reply on its way to a client tells the location table.
//!
//! Every address (IA_NA IAADDR) and delegated prefix (IA_PD IAPREFIX) with a valid lifetime is
//! merged as the client's, behind the interface the Reply goes out of, with the client-last-
//! transaction-time the moment the relay saw it; a valid lifetime of 0 removes the client's
//! entry. An IA carrying a status other than Success (NoBinding, NoAddrsAvail, ...) and a Reply
//! whose top-level status is not Success tell nothing. A Reply to a RELEASE or DECLINE removes
//! what that message listed ([`super::pending`]).

use std::sync::Arc;

use ipnet::{IpNet, Ipv6Net};
use lessor_wire::v6::{status, ClientServerMessage, DhcpOption};

use super::counters::Counters6;
use crate::location::{bound6, Location, LocationTable, Merge, Origin};

/// Where the client of a Reply is: what gleaned entries record.
#[derive(Debug, Clone)]
pub(crate) struct Where {
    pub interface: Arc<str>,
    /// The Interface-ID this relay put in the client's RELAY-FORW, if it did.
    pub circuit_id: Option<Vec<u8>>,
    /// The Remote-Id this relay put there (enterprise number first), if it did.
    pub remote_id: Option<Vec<u8>>,
}

/// The Status Code among `options` that is not Success, if any.
fn failed(options: &[DhcpOption]) -> bool {
    options
        .iter()
        .any(|o| matches!(o, DhcpOption::StatusCode { code, .. } if *code != status::SUCCESS))
}

/// The client's DUID in a Reply, as octets.
pub(crate) fn client_duid(reply: &ClientServerMessage) -> Option<Vec<u8>> {
    reply.options.iter().find_map(|o| match o {
        DhcpOption::ClientId(d) => Some(d.to_vec()),
        _ => None,
    })
}

/// Whether the Reply succeeded as a whole: no top-level Status Code other than Success.
pub(crate) fn succeeded(reply: &ClientServerMessage) -> bool {
    !failed(&reply.options)
}

/// Removes each of `resources` that the table says is `duid`'s.
pub(crate) fn remove_all(
    resources: &[IpNet],
    duid: &[u8],
    table: &mut LocationTable,
    counters: &mut Counters6,
) {
    for &bound in resources {
        if table
            .remove_if(bound, |l| l.client_id.as_deref() == Some(duid))
            .is_some()
        {
            counters.removed += 1;
        }
    }
}

/// Merges or removes what the Reply `reply` (to anything but a RELEASE or DECLINE) binds.
pub(crate) fn glean(
    reply: &ClientServerMessage,
    duid: &[u8],
    at: &Where,
    now_wall: u64,
    table: &mut LocationTable,
    counters: &mut Counters6,
    mut seen: Option<&mut crate::gleans::Gleans<Ipv6Net>>,
) {
    if !succeeded(reply) {
        return;
    }
    for ia in &reply.options {
        let options = match ia {
            DhcpOption::IaNa { options, .. } | DhcpOption::IaPd { options, .. } => options,
            _ => continue,
        };
        if failed(options) {
            continue;
        }
        let from_na = matches!(ia, DhcpOption::IaNa { .. });
        for o in options {
            let (bound, valid) = match o {
                DhcpOption::IaAddr {
                    address,
                    valid_lifetime,
                    ..
                } if from_na => (bound6(*address, 128), *valid_lifetime),
                DhcpOption::IaPrefix {
                    prefix,
                    prefix_length,
                    valid_lifetime,
                    ..
                } if !from_na => (bound6(*prefix, *prefix_length), *valid_lifetime),
                _ => continue,
            };
            // A prefix length over 128 is no prefix.
            let Some(bound) = bound else { continue };
            if valid == 0 {
                remove_all(&[bound], duid, table, counters);
                continue;
            }
            let merged = table.merge(Location {
                bound,
                hardware: None,
                client_id: Some(duid.to_vec()),
                interface: Some(Arc::clone(&at.interface)),
                circuit_id: at.circuit_id.clone(),
                remote_id: at.remote_id.clone(),
                expires: now_wall.saturating_add(u64::from(valid)),
                cltt: Some(now_wall),
                origin: Origin::Gleaned,
            });
            match merged {
                Merge::Added | Merge::Replaced => {
                    counters.gleaned += 1;
                    if let (Some(seen), IpNet::V6(net)) = (seen.as_deref_mut(), bound) {
                        seen.push(net);
                    }
                }
                Merge::Kept => counters.glean_kept += 1,
            }
        }
    }
}
