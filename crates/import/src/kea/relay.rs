//! The relay data of a Kea DHCPv6 lease, kept in its user context when Kea stores extended
//! lease information (`store-extended-info`, needed by its lease_query hook):
//!
//! ```json
//! {"ISC": {"relay-info": [{"hop": 1, "link": "2001:db8:1::1", "peer": "fe80::1",
//!          "options": "0x0012000465746830", "remote-id": "00000DE9...", "relay-id": "0003..."}]}}
//! ```
//!
//! One entry per relay, the outermost (the one that sent the message to the server) first, as
//! Kea's `Pkt6::relay_info_`. `options` are the relay's options in wire format, without its
//! RELAY_MSG, in hex after `0x`; `remote-id` and `relay-id` (plain hex) are the values of
//! OPTION_REMOTE_ID and OPTION_RELAY_ID when the relay sent them. Kea 2.2 and earlier write the
//! list as `relays` with no `remote-id`/`relay-id` (Kea 2.4 upgrades it to `relay-info`); both
//! are read, the identifiers then found among the options.
//!
//! From that the chain the store keeps is rebuilt: each relay's RELAY-FORW header (hop count,
//! link-address, peer-address), its options, then an OPTION_RELAY_MSG holding the next relay's
//! RELAY-FORW; the innermost relay has no RELAY_MSG (the client's message is not kept). Kea does
//! not record the address the outermost relay's message came from, so the binding has no relay
//! peer.

use std::net::Ipv6Addr;

use lessor_store::v6::binding::{MAX_RELAY_CHAIN, MAX_RELAY_FIELD};
use serde_json::Value;

use super::csv::{plain_hex, prefixed_hex};
use crate::lease6::Relay6;

/// RELAY-FORW (RFC 8415 §7.3).
const RELAY_FORW: u8 = 12;
const OPTION_RELAY_MSG: u16 = 9;
const OPTION_INTERFACE_ID: u16 = 18;
const OPTION_REMOTE_ID: u16 = 37;
const OPTION_RELAY_ID: u16 = 53;

/// The most relays read: RFC 8415 §7.6 HOP_COUNT_LIMIT.
pub const MAX_RELAYS: usize = 32;

/// One relay of the list.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Hop {
    hop_count: u8,
    link: Ipv6Addr,
    peer: Ipv6Addr,
    options: Vec<u8>,
    remote_id: Option<Vec<u8>>,
    relay_id: Option<Vec<u8>>,
}

/// The relay list of a user context, if it has one: `Ok(None)` when there is none,
/// `Err(why)` when it is there but unreadable.
pub fn relay6(context: &Value) -> Result<Option<Relay6>, String> {
    let Some(isc) = context.get("ISC") else {
        return Ok(None);
    };
    let list = match (isc.get("relay-info"), isc.get("relays")) {
        (Some(l), _) | (None, Some(l)) => l,
        (None, None) => return Ok(None),
    };
    let list = list.as_array().ok_or("the relay list is not a list")?;
    if list.is_empty() {
        return Ok(None);
    }
    if list.len() > MAX_RELAYS {
        return Err(format!("{} relays, more than {MAX_RELAYS}", list.len()));
    }
    let hops = list
        .iter()
        .enumerate()
        .map(|(n, v)| hop(v).map_err(|why| format!("relay {n}: {why}")))
        .collect::<Result<Vec<Hop>, String>>()?;

    // The chain, built from the innermost relay out.
    let mut chain: Vec<u8> = Vec::new();
    for h in hops.iter().rev() {
        let mut m = Vec::with_capacity(34 + h.options.len() + 4 + chain.len());
        m.push(RELAY_FORW);
        m.push(h.hop_count);
        m.extend_from_slice(&h.link.octets());
        m.extend_from_slice(&h.peer.octets());
        m.extend_from_slice(&h.options);
        if !chain.is_empty() {
            let len = u16::try_from(chain.len()).map_err(|_| "relay chain too long")?;
            m.extend_from_slice(&OPTION_RELAY_MSG.to_be_bytes());
            m.extend_from_slice(&len.to_be_bytes());
            m.extend_from_slice(&chain);
        }
        if m.len() > MAX_RELAY_CHAIN {
            return Err(format!(
                "the relay chain is longer than {MAX_RELAY_CHAIN} octets"
            ));
        }
        chain = m;
    }
    // Each identifier from the hop nearest the client that has it.
    let nearest = |f: &dyn Fn(&Hop) -> Option<Vec<u8>>| hops.iter().rev().find_map(f);
    let relay = Relay6 {
        chain: Some(chain),
        peer: None,
        interface_id: nearest(&|h| option(&h.options, OPTION_INTERFACE_ID)),
        remote_id: nearest(&|h| {
            h.remote_id
                .clone()
                .or_else(|| option(&h.options, OPTION_REMOTE_ID))
        }),
        relay_id: nearest(&|h| {
            h.relay_id
                .clone()
                .or_else(|| option(&h.options, OPTION_RELAY_ID))
        }),
    };
    for (name, v) in [
        ("interface-id", &relay.interface_id),
        ("remote-id", &relay.remote_id),
        ("relay-id", &relay.relay_id),
    ] {
        if v.as_ref().is_some_and(|v| v.len() > MAX_RELAY_FIELD) {
            return Err(format!("{name} longer than {MAX_RELAY_FIELD} octets"));
        }
    }
    Ok(Some(relay))
}

fn hop(v: &Value) -> Result<Hop, String> {
    let m = v.as_object().ok_or("not a map")?;
    let hop_count = m
        .get("hop")
        .and_then(Value::as_u64)
        .and_then(|n| u8::try_from(n).ok())
        .ok_or("`hop` missing or not a number from 0 to 255")?;
    let addr = |name: &str| -> Result<Ipv6Addr, String> {
        m.get(name)
            .and_then(Value::as_str)
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| format!("`{name}` missing or not an IPv6 address"))
    };
    let options = match m.get("options") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::String(s)) => {
            let b = prefixed_hex(s).ok_or("`options` is not hex after `0x`")?;
            check_options(&b)?;
            b
        }
        Some(_) => return Err("`options` is not a string".into()),
    };
    let id = |name: &str| -> Result<Option<Vec<u8>>, String> {
        match m.get(name) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => plain_hex(s)
                .map(Some)
                .ok_or_else(|| format!("`{name}` is not hex")),
            Some(_) => Err(format!("`{name}` is not a string")),
        }
    };
    Ok(Hop {
        hop_count,
        link: addr("link")?,
        peer: addr("peer")?,
        options,
        remote_id: id("remote-id")?,
        relay_id: id("relay-id")?,
    })
}

/// DHCPv4 relay agent information (option 82) sub-options: relay-id (RFC 6925), remote-id.
const RAI_REMOTE_ID: u8 = 2;
const RAI_RELAY_ID: u8 = 12;

/// The most octets of an option 82 value (one option: RFC 3046 has no long form).
pub const MAX_RAI: usize = 255;

/// The relay agent information (option 82) of a DHCPv4 lease's user context, as its
/// sub-options in the order the relay sent them; empty when there is none, `Err(why)` when it is
/// there but unreadable. Kea 2.2 writes the option's value as hex after `0x`
/// (`{"ISC": {"relay-agent-info": "0x0104..."}}`); Kea 2.4 and later write a map with that value
/// as `sub-options` and, when the relay sent them, `remote-id` and `relay-id` in plain hex. An
/// identifier only in those keys is added after the sub-options.
pub fn relay_agent_info(context: &Value) -> Result<Vec<crate::isc::SubOption>, String> {
    let Some(rai) = context
        .get("ISC")
        .and_then(|isc| isc.get("relay-agent-info"))
    else {
        return Ok(Vec::new());
    };
    let (value, map) = match rai {
        Value::String(s) => (Some(s), None),
        Value::Object(m) => match m.get("sub-options") {
            None | Some(Value::Null) => (None, Some(m)),
            Some(Value::String(s)) => (Some(s), Some(m)),
            Some(_) => return Err("`sub-options` is not a string".into()),
        },
        _ => return Err("neither a string nor a map".into()),
    };
    let raw = match value {
        Some(s) => prefixed_hex(s).ok_or("the value is not hex after `0x`")?,
        None => Vec::new(),
    };
    if raw.len() > MAX_RAI {
        return Err(format!("longer than {MAX_RAI} octets"));
    }
    let mut subs = Vec::new();
    for sub in lessor_wire::v4::SubOptions::new(&raw) {
        let sub = sub.map_err(|_| "a sub-option overruns the value")?;
        subs.push(crate::isc::SubOption {
            code: sub.code,
            data: sub.data.to_vec(),
        });
    }
    for (name, code) in [("remote-id", RAI_REMOTE_ID), ("relay-id", RAI_RELAY_ID)] {
        let id = match map.and_then(|m| m.get(name)) {
            None | Some(Value::Null) => continue,
            Some(Value::String(s)) => plain_hex(s).ok_or_else(|| format!("`{name}` is not hex"))?,
            Some(_) => return Err(format!("`{name}` is not a string")),
        };
        if id.len() > usize::from(u8::MAX) {
            return Err(format!("`{name}` longer than 255 octets"));
        }
        if !subs.iter().any(|s| s.code == code) {
            subs.push(crate::isc::SubOption { code, data: id });
        }
    }
    Ok(subs)
}

/// Options in wire format: each header and value within the buffer.
fn check_options(mut b: &[u8]) -> Result<(), String> {
    while !b.is_empty() {
        let [c0, c1, l0, l1, rest @ ..] = b else {
            return Err("`options`: an option header is cut short".into());
        };
        let len = usize::from(u16::from_be_bytes([*l0, *l1]));
        if rest.len() < len {
            let code = u16::from_be_bytes([*c0, *c1]);
            return Err(format!("`options`: option {code} overruns the options"));
        }
        b = &rest[len..];
    }
    Ok(())
}

/// The value of the first option `code` of `b` (checked by [`check_options`]).
fn option(mut b: &[u8], code: u16) -> Option<Vec<u8>> {
    while let [c0, c1, l0, l1, rest @ ..] = b {
        let len = usize::from(u16::from_be_bytes([*l0, *l1])).min(rest.len());
        if u16::from_be_bytes([*c0, *c1]) == code {
            return Some(rest[..len].to_vec());
        }
        b = &rest[len..];
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use lessor_wire::v6::Repr;
    use serde_json::json;

    #[test]
    fn two_relays_rebuild_a_chain_the_wire_reads() {
        let ctx = json!({"ISC": {"relay-info": [
            {"hop": 1, "link": "2001:db8:ff::1", "peer": "2001:db8:1::2",
             "options": "0x00350006000300010203"},
            {"hop": 0, "link": "2001:db8:1::1", "peer": "fe80::2",
             "options": "0x001200036765300025000800000DE96A2D3132", "remote-id": "00000de96a2d3132"}
        ]}});
        let r = relay6(&ctx).unwrap().unwrap();
        assert_eq!(r.interface_id.as_deref(), Some(&b"ge0"[..]));
        assert_eq!(
            r.remote_id.as_deref(),
            Some(&[0, 0, 0x0d, 0xe9, b'j', b'-', b'1', b'2'][..])
        );
        assert_eq!(r.relay_id.as_deref(), Some(&[0, 3, 0, 1, 2, 3][..]));
        assert_eq!(r.peer, None);
        let chain = r.chain.unwrap();
        let repr = Repr::from_bytes(&chain).unwrap();
        let hops = repr.relay_hops();
        assert_eq!(hops.len(), 2);
        assert_eq!(hops[0].hop_count, 1);
        assert_eq!(
            hops[1].link_address,
            "2001:db8:1::1".parse::<Ipv6Addr>().unwrap()
        );
        assert_eq!(hops[1].peer_address, "fe80::2".parse::<Ipv6Addr>().unwrap());
        assert!(hops[1].relay_message().is_none());
    }

    #[test]
    fn old_relays_list_and_identifiers_from_options() {
        let ctx = json!({"ISC": {"relays": [
            {"hop": 0, "link": "2001:db8:1::1", "peer": "fe80::2",
             "options": "0x0025000800000de96a2d3132"}]}});
        let r = relay6(&ctx).unwrap().unwrap();
        assert_eq!(
            r.remote_id.as_deref(),
            Some(&[0, 0, 0x0d, 0xe9, b'j', b'-', b'1', b'2'][..])
        );
        assert_eq!(r.chain.as_ref().map(Vec::len), Some(34 + 12));
        // No relay list: nothing.
        assert_eq!(relay6(&json!({"ISC": {"other": 1}})), Ok(None));
        assert_eq!(relay6(&json!({"comment": "x"})), Ok(None));
        assert_eq!(relay6(&json!({"ISC": {"relays": []}})), Ok(None));
    }

    #[test]
    fn unreadable_lists_say_why() {
        for (ctx, why) in [
            (json!({"ISC": {"relay-info": 3}}), "not a list"),
            (json!({"ISC": {"relay-info": [1]}}), "relay 0: not a map"),
            (
                json!({"ISC": {"relay-info": [{"hop": 256, "link": "::", "peer": "::"}]}}),
                "`hop`",
            ),
            (
                json!({"ISC": {"relay-info": [{"hop": 0, "link": "x", "peer": "::"}]}}),
                "`link`",
            ),
            (
                json!({"ISC": {"relay-info": [{"hop": 0, "link": "::", "peer": "::", "options": "0x0012"}]}}),
                "cut short",
            ),
            (
                json!({"ISC": {"relay-info": [{"hop": 0, "link": "::", "peer": "::", "options": "0x001200050102"}]}}),
                "overruns",
            ),
            (
                json!({"ISC": {"relay-info": [{"hop": 0, "link": "::", "peer": "::", "options": "12"}]}}),
                "`options`",
            ),
            (
                json!({"ISC": {"relay-info": [{"hop": 0, "link": "::", "peer": "::", "remote-id": "abc"}]}}),
                "`remote-id`",
            ),
        ] {
            let got = relay6(&ctx).unwrap_err();
            assert!(got.contains(why), "{got} / {why}");
        }
        let many: Vec<Value> = (0..33)
            .map(|_| json!({"hop": 0, "link": "::", "peer": "::"}))
            .collect();
        assert!(relay6(&json!({"ISC": {"relay-info": many}}))
            .unwrap_err()
            .contains("more than 32"));
        // A chain past the store's bound is refused whole.
        let big = format!("0x0012{:04x}{}", 2000, "00".repeat(2000));
        let hops: Vec<Value> = (0..2)
            .map(|_| json!({"hop": 0, "link": "::", "peer": "::", "options": big}))
            .collect();
        assert!(relay6(&json!({"ISC": {"relay-info": hops}}))
            .unwrap_err()
            .contains("longer than"));
    }
}
