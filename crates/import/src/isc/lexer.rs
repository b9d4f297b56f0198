//! Tokens of `dhcpd.leases`: words, quoted strings and the punctuation `{ } ; = ,`.
//!
//! A word is a run of bytes other than whitespace and `{ } ; " # = ,` (addresses, dates,
//! colon hex and keywords are all words). `#` starts a comment up to the end of the line.
//! Quoted strings are decoded here (`\"`, `\\`, `\t`, `\n`, `\r`, `\b`, `\xHH`, `\NNN`). A string
//! never spans lines: ISC never writes one that does, so a raw newline ends an unterminated
//! string, which then damages only its own line. No token spans lines either, which is what
//! lets [`super::source`] cut the file at line boundaries.

use std::borrow::Cow;

use super::values::clip;

/// What a token is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Kind<'a> {
    /// A run of bytes other than whitespace and `{ } ; " # = ,`.
    Word(&'a str),
    /// A quoted string, escapes decoded (borrowed from the text when it has none).
    Str(Cow<'a, [u8]>),
    LBrace,
    RBrace,
    Semi,
    Eq,
    Comma,
    /// Something that could not be read (an unterminated string, a bad escape, an overlong line).
    Bad(&'static str),
}

/// A token and where it is.
#[derive(Debug, Clone)]
pub struct Tok<'a> {
    pub kind: Kind<'a>,
    /// 1-based line.
    pub line: usize,
    /// First token on its line (top-level keywords there resynchronise the parser).
    pub first: bool,
}

/// Declarations that only appear at the top level of a leases file. One at the start of a line
/// starts a new declaration, whatever came before.
pub fn is_top_keyword(w: &str) -> bool {
    matches!(
        w,
        "lease"
            | "lease6"
            | "host"
            | "group"
            | "subgroup"
            | "class"
            | "subclass"
            | "failover"
            | "server-duid"
            | "authoring-byte-order"
            | "ia-na"
            | "ia_na"
            | "ia-ta"
            | "ia_ta"
            | "ia-pd"
            | "ia_pd"
    )
}

/// `WORD[b]`: whether byte `b` belongs in a word (a table: the lexer asks for every byte).
const WORD: [bool; 256] = {
    let mut t = [true; 256];
    let mut b = 0;
    while b < 256 {
        let c = b as u8;
        if c.is_ascii_whitespace() || matches!(c, b'{' | b'}' | b';' | b'"' | b'#' | b'=' | b',') {
            t[b] = false;
        }
        b += 1;
    }
    t
};

fn is_word_byte(b: u8) -> bool {
    WORD[usize::from(b)]
}

/// The first word of `line` if the line starts (after blanks) with one: what the tokenizer would
/// return as the line's first token.
pub fn first_word(line: &[u8]) -> Option<&[u8]> {
    let start = line.iter().position(|b| !b.is_ascii_whitespace())?;
    let rest = &line[start..];
    let len = rest.iter().take_while(|&&b| is_word_byte(b)).count();
    (len > 0).then(|| &rest[..len])
}

/// Why a token is [`Kind::Bad`] for a line the source did not keep.
pub const OVERLONG_LINE: &str = "line longer than 65536 bytes (not read)";

/// Appends the tokens of `text`, whose first line is line `first_line` of the file, to `out`.
/// Lines listed in `overlong` (sorted) were too long to keep: the source left them empty, and
/// each becomes one [`Kind::Bad`] token.
pub fn tokenize<'a>(text: &'a str, first_line: usize, overlong: &[usize], out: &mut Vec<Tok<'a>>) {
    let s = text.as_bytes();
    let mut i = 0;
    let mut line = first_line;
    let mut first = true;
    let mut line_start = true;
    while i < s.len() || (line_start && overlong.binary_search(&line).is_ok()) {
        if line_start {
            line_start = false;
            if !overlong.is_empty() && overlong.binary_search(&line).is_ok() {
                out.push(Tok {
                    kind: Kind::Bad(OVERLONG_LINE),
                    line,
                    first: true,
                });
                first = false;
                continue;
            }
        }
        let b = s[i];
        let kind = match b {
            b'\n' => {
                line += 1;
                first = true;
                line_start = true;
                i += 1;
                continue;
            }
            _ if b.is_ascii_whitespace() => {
                i += 1;
                continue;
            }
            b'#' => {
                while i < s.len() && s[i] != b'\n' {
                    i += 1;
                }
                continue;
            }
            b'{' => {
                i += 1;
                Kind::LBrace
            }
            b'}' => {
                i += 1;
                Kind::RBrace
            }
            b';' => {
                i += 1;
                Kind::Semi
            }
            b'=' => {
                i += 1;
                Kind::Eq
            }
            b',' => {
                i += 1;
                Kind::Comma
            }
            b'"' => {
                let (kind, next) = read_string(s, i + 1);
                i = next;
                kind
            }
            _ => {
                let st = i;
                while i < s.len() && is_word_byte(s[i]) {
                    i += 1;
                }
                // Delimiters are ASCII, so `st..i` is on char boundaries.
                Kind::Word(text.get(st..i).unwrap_or(""))
            }
        };
        out.push(Tok { kind, line, first });
        first = false;
    }
}

/// Reads a quoted string whose opening quote is just before `i`. Returns the token and the index
/// after it. A raw newline ends an unterminated string and is left for the caller.
fn read_string(s: &[u8], i: usize) -> (Kind<'_>, usize) {
    // Most strings have no escape: borrow them.
    let plain = s[i..]
        .iter()
        .position(|&b| matches!(b, b'"' | b'\\' | b'\n'));
    match plain {
        Some(n) if s[i + n] == b'"' => (Kind::Str(Cow::Borrowed(&s[i..i + n])), i + n + 1),
        Some(n) => read_escaped(s, i + n, s[i..i + n].to_vec()),
        None => (Kind::Bad("unterminated quoted string"), s.len()),
    }
}

/// The rest of a quoted string from `i`, after the `out` read so far, escapes decoded.
fn read_escaped(s: &[u8], mut i: usize, mut out: Vec<u8>) -> (Kind<'static>, usize) {
    let mut bad: Option<&'static str> = None;
    loop {
        let Some(&b) = s.get(i) else {
            return (Kind::Bad("unterminated quoted string"), i);
        };
        match b {
            b'"' => {
                i += 1;
                break;
            }
            b'\n' => return (Kind::Bad("unterminated quoted string"), i),
            b'\\' => {
                i += 1;
                let Some(&e) = s.get(i) else { continue };
                match e {
                    b'\n' => continue,
                    b'0'..=b'7' => {
                        let mut v: u32 = 0;
                        let mut n = 0;
                        while n < 3 {
                            match s.get(i) {
                                Some(&d @ b'0'..=b'7') => {
                                    v = v * 8 + u32::from(d - b'0');
                                    i += 1;
                                    n += 1;
                                }
                                _ => break,
                            }
                        }
                        match u8::try_from(v) {
                            Ok(v) => out.push(v),
                            Err(_) => bad = Some("octal escape above \\377 in quoted string"),
                        }
                    }
                    b'x' => {
                        i += 1;
                        let mut v: u8 = 0;
                        let mut n = 0;
                        while n < 2 {
                            match s.get(i).and_then(|&d| (d as char).to_digit(16)) {
                                Some(d) => {
                                    v = v * 16 + d as u8;
                                    i += 1;
                                    n += 1;
                                }
                                None => break,
                            }
                        }
                        if n == 0 {
                            bad = Some("`\\x` without hex digits in quoted string");
                        }
                        out.push(v);
                    }
                    b't' | b'r' | b'n' | b'b' => {
                        out.push(match e {
                            b't' => b'\t',
                            b'r' => b'\r',
                            b'n' => b'\n',
                            _ => 8,
                        });
                        i += 1;
                    }
                    other => {
                        out.push(other);
                        i += 1;
                    }
                }
            }
            _ => {
                out.push(b);
                i += 1;
            }
        }
    }
    match bad {
        Some(why) => (Kind::Bad(why), i),
        None => (Kind::Str(Cow::Owned(out)), i),
    }
}

/// A token as named in messages.
pub fn describe(k: &Kind<'_>) -> String {
    match k {
        Kind::Word(w) => format!("`{}`", clip(w)),
        Kind::Str(_) => "a quoted string".into(),
        Kind::LBrace => "`{`".into(),
        Kind::RBrace => "`}`".into(),
        Kind::Semi => "`;`".into(),
        Kind::Eq => "`=`".into(),
        Kind::Comma => "`,`".into(),
        Kind::Bad(why) => (*why).into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(text: &str) -> Vec<(Kind<'_>, usize, bool)> {
        let mut out = Vec::new();
        tokenize(text, 1, &[], &mut out);
        out.into_iter().map(|t| (t.kind, t.line, t.first)).collect()
    }

    #[test]
    fn words_strings_punctuation_comments() {
        assert_eq!(
            kinds("lease 192.0.2.1 {\n  uid \"a\\001\"; # x\n}=,"),
            vec![
                (Kind::Word("lease"), 1, true),
                (Kind::Word("192.0.2.1"), 1, false),
                (Kind::LBrace, 1, false),
                (Kind::Word("uid"), 2, true),
                (Kind::Str(Cow::Owned(vec![b'a', 1])), 2, false),
                (Kind::Semi, 2, false),
                (Kind::RBrace, 3, true),
                (Kind::Eq, 3, false),
                (Kind::Comma, 3, false),
            ]
        );
    }

    #[test]
    fn bad_strings_stop_at_their_line() {
        assert_eq!(
            kinds("\"open\nx \"\\777\" \"\\xg\""),
            vec![
                (Kind::Bad("unterminated quoted string"), 1, true),
                (Kind::Word("x"), 2, true),
                (
                    Kind::Bad("octal escape above \\377 in quoted string"),
                    2,
                    false
                ),
                (
                    Kind::Bad("`\\x` without hex digits in quoted string"),
                    2,
                    false
                ),
            ]
        );
    }

    #[test]
    fn overlong_lines_are_one_bad_token() {
        let mut out = Vec::new();
        tokenize("a\n\nb\n", 7, &[8], &mut out);
        let got: Vec<(Kind<'_>, usize)> = out.into_iter().map(|t| (t.kind, t.line)).collect();
        assert_eq!(
            got,
            vec![
                (Kind::Word("a"), 7),
                (Kind::Bad(OVERLONG_LINE), 8),
                (Kind::Word("b"), 9),
            ]
        );
        // An overlong last line without a newline after it.
        let mut out = Vec::new();
        tokenize("a\n", 1, &[2], &mut out);
        assert_eq!(out.len(), 2);
        assert_eq!((out[1].line, out[1].first), (2, true));
    }

    #[test]
    fn first_word_matches_the_first_token() {
        assert_eq!(first_word(b"  lease 1 {"), Some(&b"lease"[..]));
        assert_eq!(first_word(b"lease{"), Some(&b"lease"[..]));
        assert_eq!(first_word(b"  # lease"), None);
        assert_eq!(first_word(b"\"lease\""), None);
        assert_eq!(first_word(b"  \r\n"), None);
        assert_eq!(first_word(b"}"), None);
    }
}
