//! The JSON form of a DHCPv6 binding (`lessor leases list --v6 --json`, `export`), read back by
//! `lessor leases import --json`. An object with `ia_type` is a DHCPv6 binding.
//!
//! As for DHCPv4 ([`super::json`]): every field; times are epoch seconds (`start`,
//! `preferred_end`, `valid_end`, `t1`, `t2`, `cltt`, `state_since`) with an RFC 3339 UTC copy
//! (`..._time`, `null` for a lifetime that never ends); octet strings plain hex (`null` when
//! absent), printable ones with a `_text` copy; `sequence` is the store's order of transactions.
//! Import reads the epoch seconds, the hex, `relay_peer` and `sequence`, and ignores the copies.

use std::net::Ipv6Addr;

use ipnet::Ipv6Net;
use lessor_store::{Binding6, Fields6, IaType, State6};
use serde_json::Value;

use super::json::{hex_field, str_field, u64_field};
pub use lessor_server::control::json::binding6 as to_json;

const TIMES: [&str; 6] = ["start", "preferred_end", "valid_end", "t1", "t2", "cltt"];
/// The octet-string fields, by the store's names and in its order.
const BLOBS: [&str; lessor_store::v6::binding::VAR_FIELDS6] =
    lessor_store::v6::binding::FIELD_NAMES6;

/// Whether a JSON object is a DHCPv6 binding.
pub fn is_v6(v: &Value) -> bool {
    v.get("ia_type").is_some()
}

/// A binding from the object [`to_json`] writes.
pub fn from_json(v: &Value) -> Result<Binding6, String> {
    let m = v.as_object().ok_or("not a JSON object")?;
    let address: Ipv6Addr = str_field(m, "address")?
        .parse()
        .map_err(|e| format!("`address`: {e}"))?;
    let prefix_len = u8::try_from(u64_field(m, "prefix_len")?)
        .ok()
        .filter(|&n| n <= 128)
        .ok_or("`prefix_len` over 128")?;
    let ia_name = str_field(m, "ia_type")?;
    let ia_type =
        IaType::from_name(ia_name).ok_or_else(|| format!("unknown IA type {ia_name:?}"))?;
    let iaid = u32::try_from(u64_field(m, "iaid")?).map_err(|_| "`iaid` over 32 bits")?;
    let state_name = str_field(m, "state")?;
    let state =
        State6::from_name(state_name).ok_or_else(|| format!("unknown state {state_name:?}"))?;
    if !state.is_durable() {
        return Err(format!("state {state} is never stored"));
    }
    let link: Ipv6Net = str_field(m, "link")?
        .parse()
        .map_err(|e| format!("`link`: {e}"))?;
    let mut t = [0u64; 6];
    for (slot, name) in t.iter_mut().zip(TIMES) {
        *slot = u64_field(m, name)?;
    }
    let mut values: Vec<Option<Vec<u8>>> = Vec::with_capacity(BLOBS.len());
    for name in BLOBS {
        values.push(hex_field(m, name)?);
    }
    let get = |i: usize| values[i].as_deref();
    let duid = get(0).ok_or("`duid` missing")?;
    let mut b = Binding6::new(address, prefix_len, ia_type, duid, iaid, link, state)
        .map_err(|e| e.to_string())?
        .with_times(t[0], t[1], t[2], t[3], t[4], t[5]);
    b.state_since = match m.get("state_since") {
        None | Some(Value::Null) => b.implied_state_since(),
        Some(_) => u64_field(m, "state_since")?,
    };
    b.sequence = match m.get("sequence") {
        None | Some(Value::Null) => 0,
        Some(_) => u64_field(m, "sequence")?,
    };
    b.relay_peer = match m.get("relay_peer") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(s.parse().map_err(|e| format!("`relay_peer`: {e}"))?),
        Some(_) => return Err("`relay_peer` is not a string".into()),
    };
    b.set_fields(Fields6 {
        duid: get(0),
        relay_chain: get(1),
        interface_id: get(2),
        remote_id: get(3),
        relay_id: get(4),
    })
    .map_err(|e| e.to_string())?;
    Ok(b)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn binding() -> Binding6 {
        let mut b = Binding6::new(
            "2001:db8:100:200::".parse().unwrap(),
            56,
            IaType::Pd,
            &[0, 3, 0, 1, 2, 0, 0, 0, 0, 1],
            7,
            "2001:db8:1::/64".parse().unwrap(),
            State6::Active,
        )
        .unwrap()
        .with_times(1, 2, 3, 4, 5, 6)
        .with_state_since(1)
        .with_interface_id(b"ge0")
        .unwrap()
        .with_relay_chain(&[12, 0])
        .unwrap();
        b.sequence = 9;
        b.relay_peer = Some("2001:db8:ff::1".parse().unwrap());
        b
    }

    #[test]
    fn round_trip() {
        let b = binding();
        let v = to_json(&b);
        assert!(is_v6(&v));
        assert_eq!(v["prefix"], "2001:db8:100:200::/56");
        assert_eq!(v["ia_type"], "ia-pd");
        assert_eq!(v["interface_id_text"], "ge0");
        assert_eq!(v["relay_chain"], "0c00");
        assert_eq!(v["remote_id"], Value::Null);
        assert_eq!(v["valid_end_time"], "1970-01-01T00:00:03Z");
        let line = serde_json::to_string(&v).unwrap();
        assert_eq!(from_json(&serde_json::from_str(&line).unwrap()).unwrap(), b);
    }

    #[test]
    fn bad_objects() {
        let good = to_json(&binding());
        for (field, value, why) in [
            ("ia_type", json!("ia-ta"), "unknown IA type"),
            ("state", json!("advertised"), "never stored"),
            ("prefix_len", json!(129), "over 128"),
            ("iaid", json!(1u64 << 32), "32 bits"),
            ("duid", Value::Null, "`duid` missing"),
            ("relay_peer", json!("x"), "relay_peer"),
            ("link", json!("2001:db8::"), "link"),
        ] {
            let mut v = good.clone();
            v[field] = value;
            let got = from_json(&v).unwrap_err();
            assert!(got.contains(why), "{field}: {got}");
        }
    }
}
