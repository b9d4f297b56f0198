//! The JSON form of a binding: one object per line (`lessor leases list --json`, `export`), read
//! back by `lessor leases import --json` (the backup format).
//!
//! Every field is there. Times are epoch seconds (`start`, `end`, `t1`, `t2`, `cltt`,
//! `state_since`) with an RFC 3339 UTC copy (`start_time`, ...; `null` when the lease never ends).
//! Octet strings are plain hex (`null` when absent), with a `_text` copy for the printable ones.
//! `sequence` is the binding's place in the store's order of transactions (which of two bindings
//! written in the same second is the more recent). Import reads the epoch seconds, the hex and
//! the sequence, and ignores the copies; an export made before `state_since` and `sequence`
//! existed gets [`Binding4::implied_state_since`] and sequence 0.

use std::net::Ipv4Addr;

use ipnet::Ipv4Net;
use lessor_store::{Binding4, Fields4, HwAddr, State4};
use serde_json::{Map, Value};

pub use lessor_server::control::json::binding4 as to_json;

use super::text::parse_hex;

const TIMES: [&str; 5] = ["start", "end", "t1", "t2", "cltt"];
/// The optional octet-string fields, by the store's names and in its order.
const BLOBS: [&str; lessor_store::v4::VAR_FIELDS] = lessor_store::v4::FIELD_NAMES;

pub(super) fn str_field<'a>(m: &'a Map<String, Value>, name: &str) -> Result<&'a str, String> {
    m.get(name)
        .and_then(Value::as_str)
        .ok_or_else(|| format!("`{name}` missing or not a string"))
}

pub(super) fn u64_field(m: &Map<String, Value>, name: &str) -> Result<u64, String> {
    m.get(name)
        .and_then(Value::as_u64)
        .ok_or_else(|| format!("`{name}` missing or not a non-negative integer"))
}

pub(super) fn hex_field(m: &Map<String, Value>, name: &str) -> Result<Option<Vec<u8>>, String> {
    match m.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) if s.is_empty() => Ok(Some(Vec::new())),
        Some(Value::String(s)) => parse_hex(s)
            .map(Some)
            .ok_or_else(|| format!("`{name}` is not hex: {s:?}")),
        Some(_) => Err(format!("`{name}` is not a hex string")),
    }
}

/// A binding from the object [`to_json`] writes.
pub fn from_json(v: &Value) -> Result<Binding4, String> {
    let m = v.as_object().ok_or("not a JSON object")?;
    let address: Ipv4Addr = str_field(m, "address")?
        .parse()
        .map_err(|e| format!("`address`: {e}"))?;
    let state_name = str_field(m, "state")?;
    let state =
        State4::from_name(state_name).ok_or_else(|| format!("unknown state {state_name:?}"))?;
    if !state.is_durable() {
        return Err(format!("state {state} is never stored"));
    }
    let subnet: Ipv4Net = str_field(m, "subnet")?
        .parse()
        .map_err(|e| format!("`subnet`: {e}"))?;
    let htype = u8::try_from(u64_field(m, "htype")?).map_err(|_| "`htype` over 255")?;
    let chaddr = hex_field(m, "chaddr")?.unwrap_or_default();
    let hw = HwAddr::new(htype, &chaddr).map_err(|e| e.to_string())?;
    let mut t = [0u64; 5];
    for (slot, name) in t.iter_mut().zip(TIMES) {
        *slot = u64_field(m, name)?;
    }
    let mut b = Binding4::new(address, subnet, hw, state).with_times(t[0], t[1], t[2], t[3], t[4]);
    b.state_since = match m.get("state_since") {
        None | Some(Value::Null) => b.implied_state_since(),
        Some(_) => u64_field(m, "state_since")?,
    };
    b.sequence = match m.get("sequence") {
        None | Some(Value::Null) => 0,
        Some(_) => u64_field(m, "sequence")?,
    };
    let mut values: Vec<Option<Vec<u8>>> = Vec::with_capacity(BLOBS.len());
    for name in BLOBS {
        values.push(hex_field(m, name)?);
    }
    let get = |i: usize| values[i].as_deref();
    b.set_fields(Fields4 {
        client_id: get(0),
        relay_agent_information: get(1),
        circuit_id: get(2),
        remote_id: get(3),
        relay_id: get(4),
        vendor_class_id: get(5),
        hostname: get(6),
    })
    .map_err(|e| e.to_string())?;
    Ok(b)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn round_trip() {
        let mut b = Binding4::new(
            Ipv4Addr::new(192, 0, 2, 7),
            "192.0.2.0/24".parse().unwrap(),
            HwAddr::new(6, &[1, 2, 3]).unwrap(),
            State4::Declined,
        )
        .with_times(1, 2, 3, 4, 5)
        .with_state_since(6)
        .with_client_id(&[])
        .unwrap()
        .with_hostname(b"h\x01")
        .unwrap()
        .with_remote_id(b"sub-1")
        .unwrap();
        b.sequence = 77;
        let v = to_json(&b);
        assert_eq!(v["remote_id_text"], "sub-1");
        assert_eq!(v["hostname"], "6801");
        assert!(v.get("hostname_text").is_none());
        assert_eq!(v["relay_id"], Value::Null);
        assert_eq!(v["end_time"], "1970-01-01T00:00:02Z");
        let line = serde_json::to_string(&v).unwrap();
        let back = from_json(&serde_json::from_str(&line).unwrap()).unwrap();
        assert_eq!(back, b);
        assert_eq!(v["state_since"], 6);
        // An export from before state_since: the time its other times imply.
        let mut old = v.clone();
        old.as_object_mut().unwrap().remove("state_since");
        old.as_object_mut().unwrap().remove("sequence");
        let back = from_json(&old).unwrap();
        assert_eq!(back.state_since, b.start, "declined: since its start");
        assert_eq!(back.sequence, 0);
    }

    #[test]
    fn bad_objects() {
        assert!(from_json(&json!([])).is_err());
        assert!(from_json(&json!({"address": "x"}))
            .unwrap_err()
            .contains("address"));
        let mut v = to_json(&Binding4::new(
            Ipv4Addr::new(192, 0, 2, 7),
            "192.0.2.0/24".parse().unwrap(),
            HwAddr::ethernet([0; 6]),
            State4::Active,
        ));
        v["state"] = json!("offered");
        assert!(from_json(&v).unwrap_err().contains("never stored"));
        v["state"] = json!("active");
        v["client_id"] = json!("zz");
        assert!(from_json(&v).unwrap_err().contains("client_id"));
        v["client_id"] = Value::Null;
        v["state_since"] = json!(-1);
        assert!(from_json(&v).unwrap_err().contains("state_since"));
    }
}
