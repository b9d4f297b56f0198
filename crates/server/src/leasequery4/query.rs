//! What a DHCPLEASEQUERY asks about (RFC 4388 §6.3: "exactly one of ... a non-zero ciaddr, a
//! non-zero htype/hlen/chaddr, or a Client-identifier option"), extended in the RFC 6148 style
//! (docs/protocol.md decision 7) with option 82 carrying *only* sub-option 2 (remote-id) or *only*
//! sub-option 12 (relay-id).
//!
//! - A MAC address is a key when `hlen > 0` and one of its `hlen` chaddr octets is non-zero
//!   (a query by IP with htype 1, hlen 6 and a zero chaddr is still a query by IP).
//! - Option 82 with any other shape (several sub-options, e.g. the requester's own circuit-id
//!   and remote-id) is not a key: it is ignored, as the relay information of the requester.
//! - giaddr is never a key (§6.3): it is only the reply address.
//! - Zero keys: no reply ([`DropReason::NoQueryKey`]); two or more: no reply
//!   ([`DropReason::AmbiguousQuery`]).

use super::counters::DropReason;
use super::validate::Query;
use lessor_store::HwAddr;
use lessor_wire::v4::{code, SubOptions};

/// The key of a query and its kind: the wire crate's, shared with the requestor and the load
/// generators.
pub use lessor_wire::v4::{QueryKey as Key, QueryKind};

/// The option 82 identifier of a query: the value of its only sub-option when that is a
/// non-empty remote-id or relay-id.
pub(crate) fn identifier(raw: &[u8]) -> Option<Key> {
    identifiers(raw).and_then(|(k, n)| (n == 1).then_some(k))
}

/// The keys an option 82 value names: the first and how many, when every sub-option is a
/// non-empty remote-id or relay-id; `None` for any other shape (no sub-option, a circuit-id,
/// an empty or unknown sub-option). Bulk queries count theirs with it (docs/protocol.md
/// decision 9).
pub(crate) fn identifiers(raw: &[u8]) -> Option<(Key, usize)> {
    let mut first = None;
    let mut count = 0usize;
    for sub in SubOptions::new(raw) {
        let sub = sub.ok()?;
        if sub.data.is_empty() {
            return None;
        }
        let key: fn(Vec<u8>) -> Key = match sub.code {
            code::relay::AGENT_REMOTE_ID => Key::RemoteId,
            code::relay::RELAY_ID => Key::RelayId,
            _ => return None,
        };
        count += 1;
        if first.is_none() {
            first = Some(key(sub.data.to_vec()));
        }
    }
    first.map(|k| (k, count))
}

/// The one key of a query (see the module docs).
pub fn classify(q: &Query) -> Result<Key, DropReason> {
    let mut keys: Vec<Key> = Vec::with_capacity(1);
    if !q.ciaddr.is_unspecified() {
        keys.push(Key::Ip(q.ciaddr));
    }
    let hw = q.client_hw_addr();
    if hw.iter().any(|&b| b != 0) {
        keys.push(Key::Mac(
            HwAddr::new(q.htype, hw).map_err(|_| DropReason::Malformed)?,
        ));
    }
    if let Some(id) = &q.client_id {
        keys.push(Key::ClientId(id.clone()));
    }
    if let Some(k) = q.relay_agent_information.as_deref().and_then(identifier) {
        keys.push(k);
    }
    match keys.len() {
        0 => Err(DropReason::NoQueryKey),
        1 => Ok(keys.remove(0)),
        _ => Err(DropReason::AmbiguousQuery),
    }
}
