//! Reads a leases file as a stream, one declaration-sized piece at a time.
//!
//! dhcpd writes every top-level declaration (`lease`, `host`, `server-duid`, ...) starting on a
//! line of its own, so the file is cut before each line whose first word is a top-level keyword
//! ([`is_top_keyword`]). The parser then sees one declaration at a time (a few hundred bytes),
//! whatever the size of the file. Each piece also carries the first line of the next declaration
//! as lookahead, so a block that is not closed before it reads as exactly that.
//!
//! Memory is bounded whatever the input: a line longer than [`MAX_LINE`] is not kept (the lexer
//! reports it as unreadable), and a declaration that grows past [`MAX_DECLARATION`] before the
//! next one starts is cut there and reported whole as skipped.

use std::borrow::Cow;
use std::io::{self, BufRead, Read};

use super::lexer::{first_word, is_top_keyword};

/// The longest line read; a longer one is reported as unreadable. ISC's lines are short (an
/// option value is at most 255 octets, about 770 characters in colon hex).
pub const MAX_LINE: usize = 65_536;

/// The most text one declaration may span before the next one starts. ISC's declarations are a
/// few hundred bytes (a lease with many options, a failover state: a few KiB); the bound keeps
/// the parser's memory (tokens, items of one piece) to a few tens of MiB whatever the input.
pub const MAX_DECLARATION: usize = 256 << 10;

/// One piece of the file: one or more top-level declarations (usually one), and the first line
/// of the next declaration as lookahead.
#[derive(Debug, Default)]
pub struct Chunk {
    /// The lines, each ending in `\n` (except maybe the file's last), then the lookahead line;
    /// not checked to be UTF-8 ([`Chunk::text`] does that).
    pub bytes: Vec<u8>,
    /// The line number of the first line of `bytes`.
    pub first_line: usize,
    /// Lines longer than [`MAX_LINE`], sorted: `bytes` holds an empty line in their place.
    pub overlong: Vec<usize>,
    /// The length of `bytes` without the lookahead line.
    pub body_len: usize,
    /// The declaration grew past [`MAX_DECLARATION`]: `bytes` holds its beginning, the rest up
    /// to the next declaration was read and discarded.
    pub oversized: bool,
}

impl Chunk {
    fn clear(&mut self) {
        self.bytes.clear();
        self.overlong.clear();
        self.body_len = 0;
        self.oversized = false;
    }

    /// The body and the lookahead as text, invalid UTF-8 replaced (each part on its own, so the
    /// split stays where it is).
    pub fn text(&self) -> (Cow<'_, str>, Cow<'_, str>) {
        let (body, lookahead) = self.bytes.split_at(self.body_len);
        (utf8(body), utf8(lookahead))
    }
}

/// `b` as text: borrowed when it is UTF-8 (checked by the fast validator first, as this is
/// nearly always so), else with the invalid sequences replaced.
fn utf8(b: &[u8]) -> Cow<'_, str> {
    match std::str::from_utf8(b) {
        Ok(s) => Cow::Borrowed(s),
        Err(_) => String::from_utf8_lossy(b),
    }
}

/// A leases file read line by line into [`Chunk`]s.
pub struct Source<R> {
    reader: R,
    /// The number of the next line to read.
    next_line: usize,
    /// The line that starts the next chunk (read as the lookahead of the previous one): its
    /// number, and its bytes in `carry_bytes` (kept from chunk to chunk: no allocation).
    carry: Option<usize>,
    carry_bytes: Vec<u8>,
    /// Scratch space for the discarded parts of lines.
    discard: Vec<u8>,
}

impl<R: BufRead> Source<R> {
    pub fn new(reader: R) -> Self {
        Source {
            reader,
            next_line: 1,
            carry: None,
            carry_bytes: Vec::new(),
            discard: Vec::new(),
        }
    }

    /// Appends the next line to `out` (at most [`MAX_LINE`] bytes of it, and its newline if it
    /// has one). Returns the line's number and whether it was longer (then nothing of it is
    /// appended but the newline); `None` at the end of the file.
    fn read_line(&mut self, out: &mut Vec<u8>) -> io::Result<Option<(usize, bool)>> {
        let start = out.len();
        let limit = MAX_LINE as u64 + 1;
        let n = (&mut self.reader).take(limit).read_until(b'\n', out)?;
        if n == 0 {
            return Ok(None);
        }
        let number = self.next_line;
        self.next_line += 1;
        let newline = out.last() == Some(&b'\n');
        let overlong = out.len() - start - usize::from(newline) > MAX_LINE;
        if overlong {
            // Discard the rest of the line, a bounded piece at a time.
            loop {
                self.discard.clear();
                let n = (&mut self.reader)
                    .take(limit)
                    .read_until(b'\n', &mut self.discard)?;
                if n == 0 || self.discard.last() == Some(&b'\n') {
                    break;
                }
            }
            out.truncate(start);
            out.push(b'\n');
        }
        Ok(Some((number, overlong)))
    }

    /// Fills `chunk` with the next piece of the file; `false` at the end of the file.
    pub fn next_chunk(&mut self, chunk: &mut Chunk) -> io::Result<bool> {
        chunk.clear();
        chunk.first_line = self.next_line;
        if let Some(number) = self.carry.take() {
            chunk.first_line = number;
            chunk.bytes.extend_from_slice(&self.carry_bytes);
            if self.carry_bytes.last() != Some(&b'\n') {
                chunk.bytes.push(b'\n');
            }
        }
        loop {
            let start = chunk.bytes.len();
            let Some((number, overlong)) = self.read_line(&mut chunk.bytes)? else {
                chunk.body_len = chunk.bytes.len();
                return Ok(!chunk.bytes.is_empty());
            };
            if overlong {
                chunk.overlong.push(number);
            } else if start > 0 && starts_declaration(&chunk.bytes[start..]) {
                chunk.body_len = start;
                self.carry = Some(number);
                self.carry_bytes.clear();
                self.carry_bytes.extend_from_slice(&chunk.bytes[start..]);
                return Ok(true);
            }
            if chunk.bytes.len() > MAX_DECLARATION {
                chunk.oversized = true;
                chunk.body_len = chunk.bytes.len();
                self.discard_declaration()?;
                return Ok(true);
            }
        }
    }

    /// Reads and drops lines up to the start of the next declaration (kept as the carry).
    fn discard_declaration(&mut self) -> io::Result<()> {
        let mut line = std::mem::take(&mut self.carry_bytes);
        let r = loop {
            line.clear();
            match self.read_line(&mut line) {
                Ok(None) => break Ok(()),
                Ok(Some((number, false))) if starts_declaration(&line) => {
                    self.carry = Some(number);
                    break Ok(());
                }
                Ok(Some(_)) => {}
                Err(e) => break Err(e),
            }
        };
        self.carry_bytes = line;
        r
    }
}

/// Whether a line starts a top-level declaration.
fn starts_declaration(line: &[u8]) -> bool {
    first_word(line)
        .and_then(|w| std::str::from_utf8(w).ok())
        .is_some_and(is_top_keyword)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chunks(text: &[u8]) -> Vec<(usize, String, usize, Vec<usize>, bool)> {
        let mut s = Source::new(text);
        let mut c = Chunk::default();
        let mut out = Vec::new();
        while s.next_chunk(&mut c).unwrap() {
            out.push((
                c.first_line,
                String::from_utf8_lossy(&c.bytes).into_owned(),
                c.body_len,
                c.overlong.clone(),
                c.oversized,
            ));
        }
        out
    }

    #[test]
    fn cut_before_each_top_level_keyword_at_line_start() {
        let got = chunks(b"# c\nlease 1 {\n  x lease;\n}\nhost h { }\n  lease 2 {}");
        let texts: Vec<(usize, &str, &str)> = got
            .iter()
            .map(|(l, t, b, _, _)| (*l, &t[..*b], &t[*b..]))
            .collect();
        assert_eq!(
            texts,
            vec![
                (1, "# c\n", "lease 1 {\n"),
                (2, "lease 1 {\n  x lease;\n}\n", "host h { }\n"),
                (5, "host h { }\n", "  lease 2 {}"),
                (6, "  lease 2 {}\n", ""),
            ]
        );
    }

    #[test]
    fn overlong_line_is_left_out() {
        let mut text = b"lease 1 {\n".to_vec();
        text.extend(std::iter::repeat_n(b'a', MAX_LINE + 10));
        text.extend(b"\n}\n");
        let got = chunks(&text);
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].1, "lease 1 {\n\n}\n");
        assert_eq!(got[0].3, vec![2]);
        // A line of exactly MAX_LINE bytes is kept.
        let mut text = b"x".repeat(MAX_LINE);
        text.push(b'\n');
        assert_eq!(chunks(&text)[0].1.len(), MAX_LINE + 1);
    }

    #[test]
    fn oversized_declaration_is_cut() {
        let mut text = b"lease 1 {\n".to_vec();
        for _ in 0..(MAX_DECLARATION / 9 + 100) {
            text.extend(b"  x y z;\n");
        }
        text.extend(b"}\nlease 2 {\n}\n");
        let got = chunks(&text);
        assert_eq!(got.len(), 2);
        assert!(got[0].4);
        assert!(got[0].1.len() <= MAX_DECLARATION + MAX_LINE);
        assert!(got[0].1.starts_with("lease 1 {\n"));
        assert_eq!(
            (got[1].0, &got[1].1[..]),
            (text_lines(&text) - 1, "lease 2 {\n}\n")
        );
    }

    fn text_lines(t: &[u8]) -> usize {
        t.iter().filter(|&&b| b == b'\n').count()
    }

    #[test]
    fn invalid_utf8_is_replaced() {
        let mut s = Source::new(&b"lease \xff {\nhost \xfe"[..]);
        let mut c = Chunk::default();
        assert!(s.next_chunk(&mut c).unwrap());
        let (body, lookahead) = c.text();
        assert_eq!(
            (&body[..], &lookahead[..]),
            ("lease \u{fffd} {\n", "host \u{fffd}")
        );
    }
}
