//! The JSON form of a binding, one object with every field: what `lessor leases list --json`
//! and `export` write (and `import --json` reads back), and what the control API answers
//! (docs/operator-guide.md, "Control").
//!
//! Times are epoch seconds (`start`, `end`, `t1`, `t2`, `cltt`, `state_since`; DHCPv6:
//! `preferred_end`, `valid_end`) with an RFC 3339 UTC copy (`start_time`, ...; `null` when the
//! lease never ends). Octet strings are plain hex (`null` when absent), with a `_text` copy for
//! the printable ones. `sequence` is the binding's place in the store's order of transactions.

use lessor_store::civil::civil_from_days;
use lessor_store::{Binding4, Binding6, Fields4, Fields6, Timestamp};
use lessor_wire::hex::{colon as colon_hex, plain as hex};
use serde_json::{json, Map, Value};

/// The last second of year 9999: later times have no RFC 3339 form.
pub const MAX_RFC3339: Timestamp = 253_402_300_799;

const TIMES4: [&str; 5] = ["start", "end", "t1", "t2", "cltt"];
/// The optional octet-string fields, by the store's names and in its order.
const BLOBS4: [&str; lessor_store::v4::VAR_FIELDS] = lessor_store::v4::FIELD_NAMES;
const TIMES6: [&str; 6] = ["start", "preferred_end", "valid_end", "t1", "t2", "cltt"];
const BLOBS6: [&str; lessor_store::v6::binding::VAR_FIELDS6] =
    lessor_store::v6::binding::FIELD_NAMES6;

/// (year, month, day, hour, minute, second) in UTC; `None` past year 9999.
pub fn civil(t: Timestamp) -> Option<(i64, i64, i64, u64, u64, u64)> {
    if t > MAX_RFC3339 {
        return None;
    }
    let days = (t / 86_400) as i64;
    let secs = t % 86_400;
    let (y, m, d) = civil_from_days(days);
    Some((y, m, d, secs / 3600, secs / 60 % 60, secs % 60))
}

/// `2026-11-23T22:54:04Z`; `None` past year 9999 (a lease that never ends).
pub fn rfc3339(t: Timestamp) -> Option<String> {
    let (y, mo, d, h, mi, s) = civil(t)?;
    Some(format!("{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}Z"))
}

/// The value as text when every octet is printable ASCII.
pub fn printable(b: &[u8]) -> Option<&str> {
    (!b.is_empty() && b.iter().all(|c| (0x20..0x7f).contains(c)))
        .then(|| std::str::from_utf8(b).ok())
        .flatten()
}

fn blobs4<'a>(f: &Fields4<'a>) -> [Option<&'a [u8]>; 7] {
    [
        f.client_id,
        f.relay_agent_information,
        f.circuit_id,
        f.remote_id,
        f.relay_id,
        f.vendor_class_id,
        f.hostname,
    ]
}

/// A DHCPv4 binding as a JSON object.
pub fn binding4(b: &Binding4) -> Value {
    let mut m = Map::new();
    m.insert("address".into(), json!(b.address.to_string()));
    m.insert("state".into(), json!(b.state.as_str()));
    m.insert("htype".into(), json!(b.hw.htype()));
    m.insert("chaddr".into(), json!(hex(b.hw.chaddr())));
    m.insert("mac".into(), json!(colon_hex(b.hw.chaddr())));
    m.insert("subnet".into(), json!(b.subnet.to_string()));
    for (name, t) in TIMES4.into_iter().zip([b.start, b.end, b.t1, b.t2, b.cltt]) {
        m.insert(name.into(), json!(t));
        m.insert(format!("{name}_time"), json!(rfc3339(t)));
    }
    m.insert("state_since".into(), json!(b.state_since));
    m.insert("state_since_time".into(), json!(rfc3339(b.state_since)));
    m.insert("sequence".into(), json!(b.sequence));
    let fields = b.fields();
    for (name, v) in BLOBS4.into_iter().zip(blobs4(&fields)) {
        m.insert(name.into(), json!(v.map(hex)));
        if name != "client_id" && name != "relay_agent_information" {
            if let Some(t) = v.and_then(printable) {
                m.insert(format!("{name}_text"), json!(t));
            }
        }
    }
    Value::Object(m)
}

fn blobs6<'a>(f: &Fields6<'a>) -> [Option<&'a [u8]>; 5] {
    [
        f.duid,
        f.relay_chain,
        f.interface_id,
        f.remote_id,
        f.relay_id,
    ]
}

fn times(b: &Binding6) -> [u64; 6] {
    [b.start, b.preferred_end, b.valid_end, b.t1, b.t2, b.cltt]
}

/// A DHCPv6 binding as a JSON object.
pub fn binding6(b: &Binding6) -> Value {
    let mut m = Map::new();
    m.insert("address".into(), json!(b.address.to_string()));
    m.insert("prefix_len".into(), json!(b.prefix_len));
    m.insert("prefix".into(), json!(b.prefix().to_string()));
    m.insert("ia_type".into(), json!(b.ia_type.as_str()));
    m.insert("iaid".into(), json!(b.iaid));
    m.insert("state".into(), json!(b.state.as_str()));
    m.insert("link".into(), json!(b.link.to_string()));
    for (name, t) in TIMES6.into_iter().zip(times(b)) {
        m.insert(name.into(), json!(t));
        m.insert(format!("{name}_time"), json!(rfc3339(t)));
    }
    m.insert("state_since".into(), json!(b.state_since));
    m.insert("state_since_time".into(), json!(rfc3339(b.state_since)));
    m.insert("sequence".into(), json!(b.sequence));
    m.insert(
        "relay_peer".into(),
        json!(b.relay_peer.map(|a| a.to_string())),
    );
    let fields = b.fields();
    for (name, v) in BLOBS6.into_iter().zip(blobs6(&fields)) {
        m.insert(name.into(), json!(v.map(hex)));
        if name == "interface_id" || name == "remote_id" || name == "relay_id" {
            if let Some(t) = v.and_then(printable) {
                m.insert(format!("{name}_text"), json!(t));
            }
        }
    }
    Value::Object(m)
}
