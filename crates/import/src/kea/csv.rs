//! Kea's CSV dialect (`isc::util::CSVFile`): the first line names the columns, each further line
//! is one row of values separated by commas. There is no quoting: Kea writes a comma (and any
//! other character it must hide) inside a value as `&#x` and two hex digits, e.g. `&#x2c`.

use std::io::{self, BufRead, Read};

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
