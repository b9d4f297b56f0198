//! One binding of `lessor bulk` as one line of output, written into a buffer the caller reuses:
//! a bulk stream can hold millions of bindings, so nothing here allocates per binding. The
//! output is byte for byte that of `lessor query`'s builders ([`crate::query::lease_json`]
//! serialized by serde_json, [`super::Table::row`] over [`crate::query::lease_row`]); the tests
//! hold the two to each other.

use std::net::Ipv4Addr;
use std::time::{SystemTime, UNIX_EPOCH};

use lessor_requestor::LeaseInfo;
use lessor_wire::hex::{write_colon, write_plain};

use super::COLUMNS;
use crate::leases::text::{civil, printable};

/// What every line of one query shares, rendered once.
pub(crate) struct Shared {
    /// `"query":{"kind":...,"value":...}` as JSON (an object).
    query: Vec<u8>,
    /// The server as a JSON string.
    server: Vec<u8>,
}

impl Shared {
    /// `query` is the JSON of the query (see [`crate::query::query_json`]), `server` its
    /// server.
    pub(crate) fn new(query: &serde_json::Value, server: &str) -> Shared {
        let mut s = Shared {
            query: query.to_string().into_bytes(),
            server: Vec::new(),
        };
        string(&mut s.server, server);
        s
    }
}

/// Appends the JSON object of one binding and a newline to `out`: the fields of
/// [`crate::query::lease_json`] with `server` and an empty `other_answers`, keys in the order
/// serde_json's map keeps them (sorted).
pub(crate) fn json(out: &mut Vec<u8>, shared: &Shared, l: &LeaseInfo, received_at: SystemTime) {
    let ri = l.relay_info.as_ref();
    let cltt = epoch(l.cltt(received_at));
    let end = epoch(l.lease_end(received_at));
    out.extend_from_slice(b"{\"address\":");
    opt_ip(out, l.address);
    out.extend_from_slice(b",\"associated_ips\":[");
    for (i, a) in l.associated.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        out.push(b'"');
        ip(out, *a);
        out.push(b'"');
    }
    out.push(b']');
    blob(out, b"circuit_id", l.circuit_id());
    out.extend_from_slice(b",\"client_id\":");
    opt_hex(out, l.client_id.as_deref());
    out.extend_from_slice(b",\"cltt\":");
    opt_uint(out, cltt);
    out.extend_from_slice(b",\"cltt_ago\":");
    opt_uint(out, l.cltt_ago.map(u64::from));
    out.extend_from_slice(b",\"cltt_time\":");
    opt_time(out, cltt);
    out.extend_from_slice(if l.is_found() {
        b",\"found\":true"
    } else {
        b",\"found\":false"
    });
    blob(out, b"hostname", l.hostname.as_deref());
    out.extend_from_slice(b",\"htype\":");
    uint(out, u64::from(l.htype));
    out.extend_from_slice(b",\"lease_end\":");
    opt_uint(out, end);
    out.extend_from_slice(b",\"lease_end_time\":");
    opt_time(out, end);
    out.extend_from_slice(b",\"lease_remaining\":");
    opt_uint(out, l.lease_remaining.map(u64::from));
    out.extend_from_slice(b",\"mac\":");
    if l.chaddr.is_empty() {
        out.extend_from_slice(b"null");
    } else {
        out.push(b'"');
        write_colon(out, &l.chaddr);
        out.push(b'"');
    }
    out.extend_from_slice(b",\"other_answers\":[],\"query\":");
    out.extend_from_slice(&shared.query);
    out.extend_from_slice(b",\"relay_agent_information\":");
    opt_hex(out, ri.map(|r| &r.raw[..]));
    blob(out, b"relay_id", l.relay_id());
    out.extend_from_slice(b",\"relay_sub_options\":[");
    for (i, (code, value)) in ri
        .map(|r| &r.others[..])
        .unwrap_or_default()
        .iter()
        .enumerate()
    {
        if i > 0 {
            out.push(b',');
        }
        out.extend_from_slice(b"{\"code\":");
        uint(out, u64::from(*code));
        out.extend_from_slice(b",\"value\":");
        opt_hex(out, Some(value));
        out.push(b'}');
    }
    out.push(b']');
    blob(out, b"remote_id", l.remote_id());
    out.extend_from_slice(b",\"server\":");
    out.extend_from_slice(&shared.server);
    out.extend_from_slice(b",\"server_id\":");
    opt_ip(out, l.server_id);
    out.extend_from_slice(b",\"state\":\"");
    out.extend_from_slice(l.state.as_str().as_bytes());
    out.extend_from_slice(b"\",\"t1_remaining\":");
    opt_uint(out, l.t1_remaining.map(u64::from));
    out.extend_from_slice(b",\"t2_remaining\":");
    opt_uint(out, l.t2_remaining.map(u64::from));
    blob(out, b"vendor_class_id", l.vendor_class.as_deref());
    out.extend_from_slice(b"}\n");
}

/// Appends one table row and a newline to `out`: [`super::Table::row`] of
/// [`crate::query::lease_row`], the QUERY column `query` (VALUE, padded to `width`) when
/// there is one. `cell` is scratch space, reused.
pub(crate) fn row(
    out: &mut Vec<u8>,
    cell: &mut Vec<u8>,
    query: Option<(&str, usize)>,
    l: &LeaseInfo,
) {
    if let Some((value, width)) = query {
        out.extend_from_slice(value.as_bytes());
        pad(out, value.chars().count(), width);
        out.extend_from_slice(b"  ");
    }
    for (i, (_, width)) in COLUMNS.iter().enumerate() {
        cell.clear();
        match i {
            0 => match l.address {
                Some(a) => ip(cell, a),
                None => cell.push(b'-'),
            },
            1 => cell.extend_from_slice(l.state.as_str().as_bytes()),
            2 => dash_or_colon(cell, (!l.chaddr.is_empty()).then_some(&l.chaddr[..])),
            3 => dash_or_colon(cell, l.client_id.as_deref()),
            4 => match l.lease_remaining {
                Some(s) => span(cell, s),
                None => cell.push(b'-'),
            },
            5 => match l.cltt_ago {
                Some(s) => {
                    span(cell, s);
                    cell.extend_from_slice(b" ago");
                }
                None => cell.push(b'-'),
            },
            6 => text_or_hex(cell, l.circuit_id()),
            7 => text_or_hex(cell, l.remote_id()),
            _ => text_or_hex(cell, l.relay_id()),
        }
        out.extend_from_slice(cell);
        if i + 1 < COLUMNS.len() {
            // Every cell is ASCII: octets are characters.
            pad(out, cell.len(), *width);
            out.extend_from_slice(b"  ");
        }
    }
    out.push(b'\n');
}

fn pad(out: &mut Vec<u8>, len: usize, width: usize) {
    out.resize(out.len() + width.saturating_sub(len), b' ');
}

/// [`crate::query::span`]: `1h2m3s`, `2m3s`, `3s`.
fn span(out: &mut Vec<u8>, secs: u32) {
    let (h, m, s) = (secs / 3600, secs / 60 % 60, secs % 60);
    if h > 0 {
        uint(out, u64::from(h));
        out.push(b'h');
    }
    if h > 0 || m > 0 {
        uint(out, u64::from(m));
        out.push(b'm');
    }
    uint(out, u64::from(s));
    out.push(b's');
}

fn dash_or_colon(out: &mut Vec<u8>, v: Option<&[u8]>) {
    match v {
        Some(v) => write_colon(out, v),
        None => out.push(b'-'),
    }
}

/// [`crate::leases::text::text_or_hex`].
fn text_or_hex(out: &mut Vec<u8>, v: Option<&[u8]>) {
    match v {
        None => out.push(b'-'),
        Some(v) => match printable(v) {
            Some(t) => out.extend_from_slice(t.as_bytes()),
            None => write_colon(out, v),
        },
    }
}

/// `,"NAME":"HEX"` (or null) and, when the octets are printable, `,"NAME_text":"TEXT"`: what
/// `lease_json`'s `blob` inserts.
fn blob(out: &mut Vec<u8>, name: &[u8], v: Option<&[u8]>) {
    out.extend_from_slice(b",\"");
    out.extend_from_slice(name);
    out.extend_from_slice(b"\":");
    opt_hex(out, v);
    if let Some(t) = v.and_then(printable) {
        out.extend_from_slice(b",\"");
        out.extend_from_slice(name);
        out.extend_from_slice(b"_text\":");
        string(out, t);
    }
}

fn opt_hex(out: &mut Vec<u8>, v: Option<&[u8]>) {
    match v {
        Some(v) => {
            out.push(b'"');
            write_plain(out, v);
            out.push(b'"');
        }
        None => out.extend_from_slice(b"null"),
    }
}

fn opt_ip(out: &mut Vec<u8>, a: Option<Ipv4Addr>) {
    match a {
        Some(a) => {
            out.push(b'"');
            ip(out, a);
            out.push(b'"');
        }
        None => out.extend_from_slice(b"null"),
    }
}

fn ip(out: &mut Vec<u8>, a: Ipv4Addr) {
    for (i, o) in a.octets().into_iter().enumerate() {
        if i > 0 {
            out.push(b'.');
        }
        uint(out, u64::from(o));
    }
}

fn opt_uint(out: &mut Vec<u8>, v: Option<u64>) {
    match v {
        Some(v) => uint(out, v),
        None => out.extend_from_slice(b"null"),
    }
}

fn uint(out: &mut Vec<u8>, mut v: u64) {
    let mut digits = [0u8; 20];
    let mut at = digits.len();
    loop {
        at -= 1;
        digits[at] = b'0' + (v % 10) as u8;
        v /= 10;
        if v == 0 {
            break;
        }
    }
    out.extend_from_slice(&digits[at..]);
}

/// [`crate::leases::text::rfc3339`] as a JSON string, or null.
fn opt_time(out: &mut Vec<u8>, t: Option<u64>) {
    let Some((y, mo, d, h, mi, s)) = t.and_then(civil) else {
        out.extend_from_slice(b"null");
        return;
    };
    // civil() gives years 1970..=9999: four digits.
    let two = |out: &mut Vec<u8>, v: u64| {
        out.extend_from_slice(&[b'0' + (v / 10 % 10) as u8, b'0' + (v % 10) as u8])
    };
    out.push(b'"');
    let y = y.unsigned_abs();
    two(out, y / 100);
    two(out, y % 100);
    out.push(b'-');
    two(out, mo.unsigned_abs());
    out.push(b'-');
    two(out, d.unsigned_abs());
    out.push(b'T');
    two(out, h);
    out.push(b':');
    two(out, mi);
    out.push(b':');
    two(out, s);
    out.extend_from_slice(b"Z\"");
}

/// [`crate::query`]'s `epoch`.
fn epoch(t: Option<SystemTime>) -> Option<u64> {
    t?.duration_since(UNIX_EPOCH).ok().map(|d| d.as_secs())
}

/// A JSON string, escaped as serde_json escapes it: `"` and `\`, and control characters
/// (`\b \t \n \f \r`, others as `\u00XX`); everything else as is.
fn string(out: &mut Vec<u8>, s: &str) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    out.push(b'"');
    let bytes = s.as_bytes();
    let mut from = 0;
    for (i, &b) in bytes.iter().enumerate() {
        let escape: &[u8] = match b {
            b'"' => b"\\\"",
            b'\\' => b"\\\\",
            0x08 => b"\\b",
            b'\t' => b"\\t",
            b'\n' => b"\\n",
            0x0c => b"\\f",
            b'\r' => b"\\r",
            0..=0x1f => &[
                b'\\',
                b'u',
                b'0',
                b'0',
                HEX[usize::from(b >> 4)],
                HEX[usize::from(b & 15)],
            ],
            _ => continue,
        };
        out.extend_from_slice(&bytes[from..i]);
        out.extend_from_slice(escape);
        from = i + 1;
    }
    out.extend_from_slice(&bytes[from..]);
    out.push(b'"');
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bulk::Table;
    use crate::query::{lease_json, lease_row, query_json};
    use lessor_requestor::{LeaseState, QueryKey, RelayInfo};
    use serde_json::{json, Value};
    use std::time::Duration;

    /// The line `lessor bulk --json` printed before this writer: serde_json over lease_json.
    fn reference_json(key: &QueryKey, l: &LeaseInfo, at: SystemTime, server: &str) -> String {
        let mut m = lease_json(key, l, at);
        m.insert("server".into(), json!(server));
        m.insert("other_answers".into(), json!([]));
        format!("{}\n", Value::Object(m))
    }

    /// xorshift64*: reproducible variety.
    struct Rng(u64);
    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 >> 12;
            self.0 ^= self.0 << 25;
            self.0 ^= self.0 >> 27;
            self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
        }
        fn below(&mut self, n: u64) -> u64 {
            self.next() % n
        }
        fn octets(&mut self) -> Vec<u8> {
            let len = self.below(12) as usize;
            // Printable ASCII (quotes and backslashes included) half of the time.
            let printable = self.below(2) == 0;
            (0..len)
                .map(|_| {
                    if printable {
                        0x20 + self.below(0x5f) as u8
                    } else {
                        self.next() as u8
                    }
                })
                .collect()
        }
        fn maybe<T>(&mut self, f: impl FnOnce(&mut Rng) -> T) -> Option<T> {
            (self.below(3) != 0).then(|| f(self))
        }
    }

    fn lease(r: &mut Rng) -> LeaseInfo {
        let states = [
            LeaseState::Active,
            LeaseState::Unassigned,
            LeaseState::Unknown,
            LeaseState::LegacyAck,
            LeaseState::LegacyNak,
        ];
        let relay_info = r.maybe(|r| RelayInfo {
            raw: r.octets(),
            circuit_id: r.maybe(Rng::octets),
            remote_id: r.maybe(Rng::octets),
            relay_id: r.maybe(Rng::octets),
            others: (0..r.below(3))
                .map(|_| (r.next() as u8, r.octets()))
                .collect(),
        });
        let big = |r: &mut Rng| match r.below(4) {
            0 => u32::MAX,
            1 => 0,
            _ => r.next() as u32 % 100_000,
        };
        LeaseInfo {
            state: states[r.below(5) as usize],
            xid: r.next() as u32,
            address: r.maybe(|r| Ipv4Addr::from(r.next() as u32)),
            htype: r.next() as u8,
            chaddr: if r.below(4) == 0 {
                Vec::new()
            } else {
                r.octets()
            },
            client_id: r.maybe(Rng::octets),
            lease_remaining: r.maybe(big),
            t1_remaining: r.maybe(big),
            t2_remaining: r.maybe(big),
            cltt_ago: r.maybe(big),
            relay_info,
            associated: (0..r.below(3))
                .map(|_| Ipv4Addr::from(r.next() as u32))
                .collect(),
            server_id: r.maybe(|r| Ipv4Addr::from(r.next() as u32)),
            vendor_class: r.maybe(Rng::octets),
            hostname: r.maybe(Rng::octets),
        }
    }

    fn times(r: &mut Rng) -> SystemTime {
        match r.below(4) {
            // Early enough that cltt falls before 1970 (null), late enough for year 9999+.
            0 => UNIX_EPOCH + Duration::from_secs(r.below(100_000)),
            1 => UNIX_EPOCH + Duration::from_secs(253_402_300_799 - r.below(100_000)),
            _ => UNIX_EPOCH + Duration::from_secs(1_796_000_000 + r.below(1 << 30)),
        }
    }

    #[test]
    fn json_lines_are_those_of_serde_json() {
        let mut r = Rng(0x9e37_79b9_7f4a_7c15);
        let keys = [
            QueryKey::RelayId(b"relay-000000".to_vec()),
            QueryKey::RemoteId(vec![0, 1, 0xff]),
            QueryKey::mac([2, 0, 0, 0, 0, 1]),
            QueryKey::Ip(Ipv4Addr::new(192, 0, 2, 7)),
        ];
        let mut out = Vec::new();
        for i in 0..20_000 {
            let key = &keys[i % keys.len()];
            let l = lease(&mut r);
            let at = times(&mut r);
            let shared = Shared::new(&query_json(key), "127.0.0.1:6767");
            out.clear();
            json(&mut out, &shared, &l, at);
            let want = reference_json(key, &l, at, "127.0.0.1:6767");
            assert_eq!(String::from_utf8_lossy(&out), want, "{l:?} at {at:?}");
        }
    }

    #[test]
    fn strings_are_escaped_as_serde_json_escapes_them() {
        let all: String = (0u32..0x80).filter_map(char::from_u32).collect();
        for s in [
            &all[..],
            "",
            "plain",
            "\"quoted\" \\ back",
            "tab\there é ✓ \u{7f}",
        ] {
            let mut out = Vec::new();
            string(&mut out, s);
            assert_eq!(String::from_utf8(out).unwrap(), json!(s).to_string());
        }
    }

    #[test]
    fn rows_are_those_of_the_table() {
        let mut r = Rng(7);
        let one = Table {
            query_width: None,
            header_done: true,
        };
        let several = Table {
            query_width: Some(12),
            header_done: true,
        };
        let (mut out, mut cell) = (Vec::new(), Vec::new());
        for _ in 0..20_000 {
            let l = lease(&mut r);
            out.clear();
            row(&mut out, &mut cell, None, &l);
            assert_eq!(
                String::from_utf8_lossy(&out),
                format!("{}\n", one.row("", &lease_row(&l))),
                "{l:?}"
            );
            for value in ["relay-1", "désormais-très-long-relais"] {
                out.clear();
                row(&mut out, &mut cell, Some((value, 12)), &l);
                assert_eq!(
                    String::from_utf8_lossy(&out),
                    format!("{}\n", several.row(value, &lease_row(&l))),
                    "{l:?}"
                );
            }
        }
    }
}
