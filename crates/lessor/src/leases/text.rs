//! How bindings read to a human: times, hex, printable identifiers, the table.

use lessor_server::import::to_store::NEVER;
use lessor_store::Timestamp;

/// The last second of year 9999: later times have no RFC 3339 form.
const MAX_RFC3339: Timestamp = 253_402_300_799;

/// (year, month, day, hour, minute, second) in UTC; `None` past year 9999.
fn civil(t: Timestamp) -> Option<(i64, i64, i64, u64, u64, u64)> {
    if t > MAX_RFC3339 {
        return None;
    }
    let days = (t / 86_400) as i64;
    let secs = t % 86_400;
    // Days to civil date (proleptic Gregorian), after Howard Hinnant's algorithm.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    Some((y, m, d, secs / 3600, secs / 60 % 60, secs % 60))
}

/// `2026-11-23T22:54:04Z`; `None` for [`NEVER`] and other times past year 9999.
pub fn rfc3339(t: Timestamp) -> Option<String> {
    let (y, mo, d, h, mi, s) = civil(t)?;
    Some(format!("{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}Z"))
}

/// `2026-11-23 22:54:04` (UTC), `never`, or `-` for 0 (unknown).
pub fn human(t: Timestamp) -> String {
    if t == 0 {
        return "-".into();
    }
    if t >= NEVER {
        return "never".into();
    }
    match civil(t) {
        Some((y, mo, d, h, mi, s)) => format!("{y:04}-{mo:02}-{d:02} {h:02}:{mi:02}:{s:02}"),
        None => format!("@{t}"),
    }
}

pub use lessor_wire::hex::{colon as colon_hex, plain as hex};

/// The value as text when every octet is printable ASCII.
pub fn printable(b: &[u8]) -> Option<&str> {
    (!b.is_empty() && b.iter().all(|c| (0x20..0x7f).contains(c)))
        .then(|| std::str::from_utf8(b).ok())
        .flatten()
}

/// Text when printable, else colon hex; `-` when absent.
pub fn text_or_hex(b: Option<&[u8]>) -> String {
    match b {
        None => "-".into(),
        Some(b) => printable(b).map_or_else(|| colon_hex(b), str::to_owned),
    }
}

/// Hex with or without separators (see [`lessor_wire::hex::parse`]).
pub fn parse_hex(s: &str) -> Option<Vec<u8>> {
    lessor_wire::hex::parse(s).ok()
}

/// Rows under a header, columns padded to their widest cell.
pub fn table(header: &[&str], rows: &[Vec<String>]) -> String {
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for r in rows {
        for (w, c) in widths.iter_mut().zip(r) {
            *w = (*w).max(c.chars().count());
        }
    }
    let mut out = String::new();
    let header: Vec<String> = header.iter().map(|h| h.to_string()).collect();
    for r in std::iter::once(&header).chain(rows) {
        let mut line = String::new();
        for (i, (c, w)) in r.iter().zip(&widths).enumerate() {
            if i > 0 {
                line.push_str("  ");
            }
            line.push_str(c);
            line.extend(std::iter::repeat_n(' ', w - c.chars().count()));
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times() {
        assert_eq!(rfc3339(0).unwrap(), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(1_795_474_444).unwrap(), "2026-11-23T22:54:04Z");
        assert_eq!(rfc3339(951_782_400).unwrap(), "2000-02-29T00:00:00Z");
        assert_eq!(rfc3339(MAX_RFC3339).unwrap(), "9999-12-31T23:59:59Z");
        assert_eq!(rfc3339(NEVER), None);
        assert_eq!(human(1_795_474_444), "2026-11-23 22:54:04");
        assert_eq!(human(NEVER), "never");
        assert_eq!(human(0), "-");
    }

    #[test]
    fn hex_forms() {
        assert_eq!(parse_hex("02:00:0a"), Some(vec![2, 0, 10]));
        assert_eq!(parse_hex("2-0-a"), Some(vec![2, 0, 10]));
        assert_eq!(parse_hex("02000A"), Some(vec![2, 0, 10]));
        assert_eq!(parse_hex("0200a"), None);
        assert_eq!(parse_hex("modem"), None);
        assert_eq!(parse_hex(""), None);
        assert_eq!(hex(&[2, 0, 10]), "02000a");
        assert_eq!(colon_hex(&[2, 0, 10]), "02:00:0a");
        assert_eq!(text_or_hex(Some(b"r0")), "r0");
        assert_eq!(text_or_hex(Some(&[0, 1])), "00:01");
        assert_eq!(text_or_hex(None), "-");
    }

    #[test]
    fn aligned() {
        let t = table(
            &["A", "BB"],
            &[vec!["xxx".into(), "y".into()], vec!["z".into(), "w".into()]],
        );
        assert_eq!(t, "A    BB\nxxx  y\nz    w\n");
    }
}
