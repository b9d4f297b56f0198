//! How bindings read to a human: times, hex, printable identifiers, the table.

use lessor_import::to_store::NEVER;
use lessor_store::civil::{days_from_civil, days_in_month};

pub(crate) use lessor_server::control::json::civil;
#[cfg(test)]
use lessor_server::control::json::MAX_RFC3339;
pub use lessor_server::control::json::{printable, rfc3339};
use lessor_store::Timestamp;

/// Seconds since the epoch from `1795474444` or RFC 3339 (`2026-11-23T22:54:04Z`,
/// `2026-11-23T23:54:04.5+01:00`; a fraction is dropped). Times before 1970 are refused.
pub fn parse_time(text: &str) -> Result<Timestamp, String> {
    let t = text.trim();
    if !t.is_empty() && t.bytes().all(|b| b.is_ascii_digit()) {
        return t
            .parse()
            .map_err(|_| format!("{text:?}: too large for epoch seconds"));
    }
    let bad =
        || format!("{text:?} is neither epoch seconds nor RFC 3339 (e.g. 2026-11-23T22:54:04Z)");
    let b = t.as_bytes();
    let num = |r: std::ops::Range<usize>| -> Result<i64, String> {
        let digits = b.get(r).ok_or_else(bad)?;
        if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
            return Err(bad());
        }
        std::str::from_utf8(digits)
            .ok()
            .and_then(|s| s.parse().ok())
            .ok_or_else(bad)
    };
    let sep = |i: usize, allowed: &[u8]| b.get(i).is_some_and(|c| allowed.contains(c));
    if !(sep(4, b"-") && sep(7, b"-") && sep(10, b"Tt ") && sep(13, b":") && sep(16, b":")) {
        return Err(bad());
    }
    let (y, mo, d) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let (h, mi, sec) = (num(11..13)?, num(14..16)?, num(17..19)?);
    let valid_day = (1..=days_in_month(y, mo)).contains(&d);
    // Second 60 is a leap second: RFC 3339 allows it; it reads as the next second.
    if !valid_day || h > 23 || mi > 59 || sec > 60 {
        return Err(format!("{text:?}: no such date or time"));
    }
    let mut rest = &t[19..];
    if let Some(frac) = rest.strip_prefix('.') {
        let digits = frac.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 {
            return Err(bad());
        }
        rest = &frac[digits..];
    }
    let offset = match rest.as_bytes() {
        [b'Z' | b'z'] => 0,
        [sign @ (b'+' | b'-'), h1, h2, b':', m1, m2] => {
            let two = |a: u8, b: u8| -> Result<i64, String> {
                if a.is_ascii_digit() && b.is_ascii_digit() {
                    Ok(i64::from(a - b'0') * 10 + i64::from(b - b'0'))
                } else {
                    Err(bad())
                }
            };
            let (oh, om) = (two(*h1, *h2)?, two(*m1, *m2)?);
            if oh > 23 || om > 59 {
                return Err(format!("{text:?}: no such UTC offset"));
            }
            let o = oh * 3600 + om * 60;
            if *sign == b'-' {
                -o
            } else {
                o
            }
        }
        _ => return Err(bad()),
    };
    let secs = days_from_civil(y, mo, d) * 86_400 + h * 3600 + mi * 60 + sec - offset;
    Timestamp::try_from(secs).map_err(|_| format!("{text:?} is before 1970"))
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
    fn parsed_times() {
        assert_eq!(parse_time("1795474444"), Ok(1_795_474_444));
        assert_eq!(parse_time("2026-11-23T22:54:04Z"), Ok(1_795_474_444));
        assert_eq!(parse_time("2026-11-23t22:54:04.999z"), Ok(1_795_474_444));
        assert_eq!(parse_time("2026-11-23T23:54:04+01:00"), Ok(1_795_474_444));
        assert_eq!(parse_time("2026-11-23T21:24:04-01:30"), Ok(1_795_474_444));
        assert_eq!(parse_time("2000-02-29T00:00:00Z"), Ok(951_782_400));
        assert_eq!(parse_time("1970-01-01T00:00:00Z"), Ok(0));
        for t in [1, 951_782_399, 4_102_444_800, MAX_RFC3339] {
            assert_eq!(parse_time(&rfc3339(t).unwrap()), Ok(t), "{t}");
        }
        for bad in [
            "",
            "yesterday",
            "-5",
            "2026-11-23",
            "2026-11-23T22:54:04",
            "2026-11-23T22:54Z",
            "2026-02-29T00:00:00Z",
            "2026-13-01T00:00:00Z",
            "2026-11-23T24:00:00Z",
            "2026-11-23T22:54:04.Z",
            "2026-11-23T22:54:04+1:00",
            "1969-12-31T23:59:59Z",
            "2026-1a-23T22:54:04Z",
            "99999999999999999999999",
        ] {
            assert!(parse_time(bad).is_err(), "{bad:?}");
        }
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
