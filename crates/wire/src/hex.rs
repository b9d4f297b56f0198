//! Octets as hex text, the way operators write and read identifiers: MAC addresses, client
//! identifiers, option 82 sub-options, DUIDs. One parser and one formatter for every crate, so a
//! value printed by one command is accepted by every other.

use core::fmt;

/// Text that is not hex octets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HexError;

impl fmt::Display for HexError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("not hex octets (write them like 01:02:ab, 01-02-ab or 0102ab)")
    }
}

impl std::error::Error for HexError {}

/// Parses `01:02:ab`, `01-02-ab`, `01.02.ab`, `01 02 ab` (groups of one or two digits, as ISC
/// writes `0:1:2`), or `0102ab` / `0x0102ab` (an even number of digits). Empty text is an error.
pub fn parse(text: &str) -> Result<Vec<u8>, HexError> {
    let t = text.trim();
    let t = t
        .strip_prefix("0x")
        .or_else(|| t.strip_prefix("0X"))
        .unwrap_or(t);
    if t.is_empty() {
        return Err(HexError);
    }
    let digit = |d: &str| u8::from_str_radix(d, 16).map_err(|_| HexError);
    if t.contains([':', '-', '.', ' ']) {
        return t
            .split([':', '-', '.', ' '])
            .map(|group| match group.len() {
                1 | 2 => digit(group),
                _ => Err(HexError),
            })
            .collect();
    }
    if !t.len().is_multiple_of(2) || !t.is_ascii() {
        return Err(HexError);
    }
    (0..t.len())
        .step_by(2)
        .map(|i| digit(&t[i..i + 2]))
        .collect()
}

/// `02:00:00:00:00:01`.
pub fn colon(octets: &[u8]) -> String {
    let mut s = String::with_capacity(octets.len() * 3);
    for (i, &b) in octets.iter().enumerate() {
        if i > 0 {
            s.push(':');
        }
        s.push(char::from(DIGITS[usize::from(b >> 4)]));
        s.push(char::from(DIGITS[usize::from(b & 15)]));
    }
    s
}

/// `020000000001`.
pub fn plain(octets: &[u8]) -> String {
    let mut s = String::with_capacity(octets.len() * 2);
    for &b in octets {
        s.push(char::from(DIGITS[usize::from(b >> 4)]));
        s.push(char::from(DIGITS[usize::from(b & 15)]));
    }
    s
}

const DIGITS: &[u8; 16] = b"0123456789abcdef";

/// Appends what [`colon`] returns to `out`: for writers that reuse one buffer.
pub fn write_colon(out: &mut Vec<u8>, octets: &[u8]) {
    for (i, &b) in octets.iter().enumerate() {
        if i > 0 {
            out.push(b':');
        }
        out.extend_from_slice(&[DIGITS[usize::from(b >> 4)], DIGITS[usize::from(b & 15)]]);
    }
}

/// Appends what [`plain`] returns to `out`: for writers that reuse one buffer.
pub fn write_plain(out: &mut Vec<u8>, octets: &[u8]) {
    for &b in octets {
        out.extend_from_slice(&[DIGITS[usize::from(b >> 4)], DIGITS[usize::from(b & 15)]]);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writers_append_what_the_formatters_return() {
        let all: Vec<u8> = (0..=255).collect();
        for octets in [&[][..], &[0][..], &[2, 0, 0x5e, 0xff][..], &all[..]] {
            let expect_colon: Vec<String> = octets.iter().map(|b| format!("{b:02x}")).collect();
            assert_eq!(colon(octets), expect_colon.join(":"));
            assert_eq!(plain(octets), expect_colon.concat());
            let mut out = b"x".to_vec();
            write_colon(&mut out, octets);
            assert_eq!(out, [b"x", colon(octets).as_bytes()].concat());
            let mut out = Vec::new();
            write_plain(&mut out, octets);
            assert_eq!(out, plain(octets).into_bytes());
        }
    }

    #[test]
    fn every_written_form_parses() {
        for text in [
            "02:00:5e:00:53:01",
            "02-00-5e-00-53-01",
            "02005e005301",
            "0x02005e005301",
            " 2:0:5e:0:53:1 ",
        ] {
            assert_eq!(parse(text), Ok(vec![2, 0, 0x5e, 0, 0x53, 1]), "{text}");
        }
    }

    #[test]
    fn what_is_not_hex_is_refused() {
        for text in ["", "0x", "012", "0g", "01::02", "123:4", "ü1"] {
            assert_eq!(parse(text), Err(HexError), "{text:?}");
        }
    }

    #[test]
    fn formats_parse_back() {
        let octets = [0u8, 1, 0xab, 0xff];
        assert_eq!(colon(&octets), "00:01:ab:ff");
        assert_eq!(plain(&octets), "0001abff");
        assert_eq!(parse(&colon(&octets)).unwrap(), octets);
        assert_eq!(parse(&plain(&octets)).unwrap(), octets);
        assert_eq!(colon(&[]), "");
    }
}
