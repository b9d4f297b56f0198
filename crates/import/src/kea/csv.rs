//! Kea's CSV dialect (`isc::util::CSVFile`): the first line names the columns, each further line
//! is one row of values separated by commas. There is no quoting: Kea writes a comma (and any
//! other character it must hide) inside a value as `&#x` and two hex digits, e.g. `&#x2c`.

use std::io::{self, BufRead, Read};

use crate::isc::values::clip;

/// The longest line read; a longer one is reported and not read. Kea's rows are short (a user
/// context with a few relays is well under 4 KiB).
pub const MAX_LINE: usize = 65_536;

/// One line of the file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Line {
    /// A line's text, without its line ending; invalid UTF-8 replaced.
    Text(String),
    /// A line longer than [`MAX_LINE`] (not kept).
    Overlong,
}

/// The lines of a file, each at most [`MAX_LINE`] bytes kept, numbered from 1.
pub struct Lines<R> {
    reader: R,
    number: usize,
    buf: Vec<u8>,
}

impl<R: BufRead> Lines<R> {
    pub fn new(reader: R) -> Self {
        Lines {
            reader,
            number: 0,
            buf: Vec::new(),
        }
    }
}

impl<R: BufRead> Iterator for Lines<R> {
    type Item = io::Result<(usize, Line)>;

    fn next(&mut self) -> Option<io::Result<(usize, Line)>> {
        self.buf.clear();
        let limit = MAX_LINE as u64 + 1;
        let n = match (&mut self.reader)
            .take(limit)
            .read_until(b'\n', &mut self.buf)
        {
            Ok(n) => n,
            Err(e) => return Some(Err(e)),
        };
        if n == 0 {
            return None;
        }
        self.number += 1;
        if self.buf.last() == Some(&b'\n') {
            self.buf.pop();
            if self.buf.last() == Some(&b'\r') {
                self.buf.pop();
            }
        } else if self.buf.len() > MAX_LINE {
            // Discard the rest of the line, a bounded piece at a time.
            loop {
                self.buf.clear();
                match (&mut self.reader)
                    .take(limit)
                    .read_until(b'\n', &mut self.buf)
                {
                    Ok(0) => break,
                    Ok(_) if self.buf.last() == Some(&b'\n') => break,
                    Ok(_) => {}
                    Err(e) => return Some(Err(e)),
                }
            }
            return Some(Ok((self.number, Line::Overlong)));
        }
        let text = String::from_utf8_lossy(&self.buf).into_owned();
        Some(Ok((self.number, Line::Text(text))))
    }
}

/// The value with Kea's `&#xHH` escapes decoded. An escape whose two characters are not hex
/// digits is kept as written (Kea does the same).
pub fn unescape(s: &str) -> String {
    if !s.contains("&#x") {
        return s.to_string();
    }
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i..].starts_with(b"&#x") && i + 5 <= b.len() {
            let hex = |c: u8| (c as char).to_digit(16);
            if let (Some(h), Some(l)) = (hex(b[i + 3]), hex(b[i + 4])) {
                out.push((h * 16 + l) as u8);
                i += 5;
                continue;
            }
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The header: the column names in file order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Header {
    names: Vec<String>,
}

impl Header {
    pub fn parse(line: &str) -> Header {
        Header {
            names: line.split(',').map(|n| n.trim().to_string()).collect(),
        }
    }

    /// The index of column `name`.
    pub fn index(&self, name: &str) -> Option<usize> {
        self.names.iter().position(|n| n == name)
    }

    pub fn len(&self) -> usize {
        self.names.len()
    }

    pub fn is_empty(&self) -> bool {
        self.names.is_empty()
    }

    pub fn names(&self) -> &[String] {
        &self.names
    }
}

/// The rows of a file under its header, read as a stream (each file's reader turns them into its
/// records): the first non-blank line is the header; a header without one of the `required`
/// columns makes every row a problem.
pub struct Table<R> {
    lines: Lines<R>,
    header: Option<Header>,
    required: &'static [&'static str],
    /// The file's name, for the reason of a header without a required column.
    file: &'static str,
    /// The header lacks a required column: why every row is skipped.
    missing: Option<String>,
    text: String,
}

impl<R: BufRead> Table<R> {
    pub fn new(reader: R, required: &'static [&'static str], file: &'static str) -> Self {
        Table {
            lines: Lines::new(reader),
            header: None,
            required,
            file,
            missing: None,
            text: String::new(),
        }
    }

    /// The header, once read.
    pub fn header(&self) -> Option<&Header> {
        self.header.as_ref()
    }

    /// The next row after the header (blank lines aside): its line and its values, or why it
    /// cannot be read (too long, too few or too many values, the header lacks a column).
    pub fn next_row(&mut self) -> Option<io::Result<(usize, Result<Fields<'_>, String>)>> {
        loop {
            let (n, line) = match self.lines.next()? {
                Ok(l) => l,
                Err(e) => return Some(Err(e)),
            };
            let text = match line {
                Line::Overlong => {
                    let why = format!("line longer than {MAX_LINE} bytes (not read)");
                    return Some(Ok((n, Err(why))));
                }
                Line::Text(t) => t,
            };
            if text.trim().is_empty() {
                continue;
            }
            if self.header.is_none() {
                let h = Header::parse(&text);
                let file = self.file;
                self.missing = self
                    .required
                    .iter()
                    .find(|c| h.index(c).is_none())
                    .map(|c| format!("the header (line {n}) has no `{c}` column: not a {file}"));
                self.header = Some(h);
                continue;
            }
            if let Some(why) = &self.missing {
                return Some(Ok((n, Err(why.clone()))));
            }
            self.text = text;
            let header = self.header.as_ref()?;
            let row = split(&self.text, header).map(|fields| Fields { header, fields });
            return Some(Ok((n, row)));
        }
    }
}

/// The values of a row, by column name.
pub struct Fields<'a> {
    header: &'a Header,
    fields: Vec<&'a str>,
}

impl<'a> Fields<'a> {
    /// The value of column `c`, blanks trimmed, not unescaped; empty when the file has no such
    /// column.
    pub fn get(&self, c: &str) -> &'a str {
        self.header.index(c).map_or("", |i| self.fields[i].trim())
    }

    /// Column `c` as a decimal number.
    pub fn number<T: std::str::FromStr>(&self, c: &str) -> Result<T, String> {
        let v = self.get(c);
        if v.is_empty() || !v.bytes().all(|b| b.is_ascii_digit()) {
            return Err(format!("`{c}`: not a number: {:?}", clip(v)));
        }
        v.parse()
            .map_err(|_| format!("`{c}`: out of range: {:?}", clip(v)))
    }

    /// Column `c` as a number, 0 when empty or absent (`state` in older schemas).
    pub fn number_or_zero<T: std::str::FromStr + Default>(&self, c: &str) -> Result<T, String> {
        if self.get(c).is_empty() {
            return Ok(T::default());
        }
        self.number(c)
    }

    /// Kea writes booleans as `0`/`1` (and reads `true`/`false` too); empty is false.
    pub fn boolean(&self, c: &str) -> Result<bool, String> {
        match self.get(c) {
            "" | "0" | "false" => Ok(false),
            "1" | "true" => Ok(true),
            v => Err(format!("`{c}`: not a boolean: {:?}", clip(v))),
        }
    }

    /// Column `c` as hex with or without `:` separators; empty is none.
    pub fn hex(&self, c: &str) -> Result<Vec<u8>, String> {
        let v = self.get(c);
        if v.is_empty() {
            return Ok(Vec::new());
        }
        lessor_wire::hex::parse(v).map_err(|_| format!("`{c}`: not hex: {:?}", clip(v)))
    }

    /// Column `c` unescaped.
    pub fn text(&self, c: &str) -> String {
        unescape(self.get(c))
    }

    /// The user context: a JSON map, `None` when empty.
    pub fn user_context(&self) -> Result<Option<serde_json::Value>, String> {
        let context = self.text("user_context");
        if context.trim().is_empty() {
            return Ok(None);
        }
        match serde_json::from_str::<serde_json::Value>(&context) {
            Ok(v @ serde_json::Value::Object(_)) => Ok(Some(v)),
            _ => Err("`user_context`: not a JSON map".into()),
        }
    }
}

/// Plain hex, an even number of digits (Kea's `encodeHex`); empty is no value.
pub fn plain_hex(s: &str) -> Option<Vec<u8>> {
    if s.is_empty() || !s.len().is_multiple_of(2) {
        return None;
    }
    s.as_bytes()
        .chunks(2)
        .map(|p| {
            let d = |c: u8| (c as char).to_digit(16);
            Some((d(p[0])? * 16 + d(p[1])?) as u8)
        })
        .collect()
}

/// `0x` then plain hex, as Kea's `Option::toHexString` writes an option's value.
pub fn prefixed_hex(s: &str) -> Option<Vec<u8>> {
    plain_hex(s.strip_prefix("0x").or_else(|| s.strip_prefix("0X"))?)
}

/// The values of a row, split at commas (not yet unescaped), if there are as many as the header
/// has columns.
pub fn split<'a>(line: &'a str, header: &Header) -> Result<Vec<&'a str>, String> {
    let fields: Vec<&str> = line.splitn(header.len() + 1, ',').collect();
    if fields.len() != header.len() {
        let n = if fields.len() > header.len() {
            format!("more than {}", header.len())
        } else {
            fields.len().to_string()
        };
        return Err(format!(
            "{n} value(s) where the header names {} column(s)",
            header.len()
        ));
    }
    Ok(fields)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes() {
        assert_eq!(unescape("a&#x2cb"), "a,b");
        assert_eq!(unescape("{&#x22ISC&#x22: 1}"), "{\"ISC\": 1}");
        assert_eq!(unescape("&#x2"), "&#x2");
        assert_eq!(unescape("&#xzz&#x41"), "&#xzzA");
        assert_eq!(unescape("plain"), "plain");
        // A byte that is not UTF-8 on its own is replaced, not a panic.
        assert_eq!(unescape("&#xff"), "\u{fffd}");
    }

    #[test]
    fn rows_match_the_header() {
        let h = Header::parse("a,b,c");
        assert_eq!(split("1,2,3", &h), Ok(vec!["1", "2", "3"]));
        assert_eq!(split("1,,", &h), Ok(vec!["1", "", ""]));
        assert!(split("1,2", &h).unwrap_err().starts_with("2 value(s)"));
        assert!(split("1,2,3,4", &h).unwrap_err().starts_with("more than 3"));
    }

    #[test]
    fn lines_are_bounded() {
        let mut text = b"a\r\nb\n".to_vec();
        text.extend(std::iter::repeat_n(b'x', MAX_LINE + 7));
        text.extend(b"\nc");
        let got: Vec<(usize, Line)> = Lines::new(&text[..]).map(Result::unwrap).collect();
        assert_eq!(
            got,
            vec![
                (1, Line::Text("a".into())),
                (2, Line::Text("b".into())),
                (3, Line::Overlong),
                (4, Line::Text("c".into())),
            ]
        );
        // Exactly MAX_LINE bytes is kept.
        let mut text = vec![b'y'; MAX_LINE];
        text.push(b'\n');
        let got: Vec<(usize, Line)> = Lines::new(&text[..]).map(Result::unwrap).collect();
        assert!(matches!(&got[0].1, Line::Text(t) if t.len() == MAX_LINE));
    }
}
