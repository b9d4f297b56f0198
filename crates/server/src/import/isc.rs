//! Parser of ISC dhcpd 4.x `dhcpd.leases` files (see `dhcpd.leases(5)`).
//!
//! The file is an append log of `lease ADDRESS { ... }` blocks plus a few
//! other top-level declarations (`authoring-byte-order`, `server-duid`,
//! `failover peer`, `host`, `class`/`subclass`, and in a DHCPv6 file
//! `ia-na`/`ia-ta`/`ia-pd`). [`parse`] turns the DHCPv4 lease blocks into
//! [`IscLease`] records, keeps the last block of each address (as dhcpd
//! does), and reports everything else it did not import in
//! [`IscImport::skipped`], with the line it starts on and why.
//!
//! The parser never panics, whatever the input, and allocates at most a
//! small multiple of the input size: one token per input byte at most, and
//! decoded strings are never longer than their quoted form.

use std::collections::HashMap;
use std::fmt;
use std::net::Ipv4Addr;

/// The result of parsing a whole `dhcpd.leases` file.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IscImport {
    /// One record per address: the last well-formed block for it, ordered by
    /// the file position of that last block.
    pub leases: Vec<IscLease>,
    /// Everything not turned into a lease: malformed blocks, metadata
    /// declarations, DHCPv6 blocks, stray tokens, and earlier blocks dropped
    /// because a later block for the same address is malformed.
    pub skipped: Vec<Skipped>,
}

/// Something in the file that was not imported.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Skipped {
    /// 1-based line where the skipped declaration starts.
    pub line: usize,
    /// What was skipped, e.g. `lease 192.0.2.7` or `server-duid`.
    pub what: String,
    /// Why; names the offending line for malformed blocks.
    pub why: String,
}

/// ISC binding states (`binding state`, `next binding state`,
/// `rewind binding state`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum BindingState {
    Free,
    Active,
    Expired,
    Released,
    Abandoned,
    Reset,
    Backup,
    Reserved,
    Bootp,
}

impl BindingState {
    /// The state named as in the leases file.
    pub fn from_isc(name: &str) -> Option<Self> {
        Some(match name {
            "free" => Self::Free,
            "active" => Self::Active,
            "expired" => Self::Expired,
            "released" => Self::Released,
            "abandoned" => Self::Abandoned,
            "reset" => Self::Reset,
            "backup" => Self::Backup,
            "reserved" => Self::Reserved,
            "bootp" => Self::Bootp,
            _ => return None,
        })
    }

    /// The name ISC writes.
    pub fn as_isc(self) -> &'static str {
        match self {
            Self::Free => "free",
            Self::Active => "active",
            Self::Expired => "expired",
            Self::Released => "released",
            Self::Abandoned => "abandoned",
            Self::Reset => "reset",
            Self::Backup => "backup",
            Self::Reserved => "reserved",
            Self::Bootp => "bootp",
        }
    }
}

impl fmt::Display for BindingState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_isc())
    }
}

/// `hardware TYPE ADDRESS;`
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hardware {
    /// ARP hardware type: ethernet 1, token-ring 6, fddi 8, infiniband 32.
    pub htype: u8,
    /// The hardware address (at most 16 octets, as in a DHCP `chaddr`).
    pub addr: Vec<u8>,
}

/// The value of a `set NAME = VALUE;` statement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SetValue {
    /// A quoted string, escapes decoded.
    Text(Vec<u8>),
    /// Colon-separated hex octets (`01:02:ab`).
    Hex(Vec<u8>),
    /// `%123`, as ISC writes numeric variables.
    Number(i64),
    /// `true` / `false`.
    Bool(bool),
    /// Anything else, tokens joined by single spaces.
    Other(String),
}

impl SetValue {
    /// The octets of a text or hex value.
    pub fn bytes(&self) -> Option<&[u8]> {
        match self {
            Self::Text(b) | Self::Hex(b) => Some(b),
            _ => None,
        }
    }
}

/// One DHCPv4 lease block: `lease ADDRESS { ... }`.
///
/// Times are seconds since the Unix epoch (UTC). `never` is recorded as
/// `None`; for `ends` it also sets [`IscLease::ends_never`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IscLease {
    /// 1-based line of the `lease` keyword of the block kept.
    pub line: usize,
    pub address: Ipv4Addr,
    pub starts: Option<u64>,
    pub ends: Option<u64>,
    /// `ends never;` (an infinite lease).
    pub ends_never: bool,
    pub tstp: Option<u64>,
    pub tsfp: Option<u64>,
    pub atsfp: Option<u64>,
    pub cltt: Option<u64>,
    pub binding_state: Option<BindingState>,
    pub next_binding_state: Option<BindingState>,
    pub rewind_binding_state: Option<BindingState>,
    pub hardware: Option<Hardware>,
    /// Client identifier (option 61), decoded from either form.
    pub uid: Option<Vec<u8>>,
    /// `client-hostname "..."`, bytes decoded lossily as UTF-8.
    pub client_hostname: Option<String>,
    /// Relay agent circuit-id (option 82 sub-option 1): from
    /// `option agent.circuit-id`, else from `set agent-circuit-id`.
    pub circuit_id: Option<Vec<u8>>,
    /// Relay agent remote-id (sub-option 2): from `option agent.remote-id`,
    /// else from `set agent-remote-id`.
    pub remote_id: Option<Vec<u8>>,
    /// Relay-id (sub-option 12): from `option agent.relay-id`.
    pub relay_id: Option<Vec<u8>>,
    /// `set vendor-class-identifier = "...";`
    pub vendor_class_id: Option<Vec<u8>>,
    /// Every `set NAME = VALUE;`, in block order (including the ones also
    /// mapped to the fields above).
    pub sets: Vec<(String, SetValue)>,
    /// The `bootp;` flag.
    pub bootp: bool,
    /// The `reserved;` flag.
    pub reserved: bool,
    /// Statements read but not kept (`on ...`, `abandoned;`, unknown ones).
    pub notes: Vec<String>,
}

impl IscLease {
    fn new(line: usize, address: Ipv4Addr) -> Self {
        IscLease {
            line,
            address,
            starts: None,
            ends: None,
            ends_never: false,
            tstp: None,
            tsfp: None,
            atsfp: None,
            cltt: None,
            binding_state: None,
            next_binding_state: None,
            rewind_binding_state: None,
            hardware: None,
            uid: None,
            client_hostname: None,
            circuit_id: None,
            remote_id: None,
            relay_id: None,
            vendor_class_id: None,
            sets: Vec::new(),
            bootp: false,
            reserved: false,
            notes: Vec::new(),
        }
    }

    /// Whether the block names a client: a non-empty hardware address or uid.
    pub fn has_client_identity(&self) -> bool {
        self.hardware.as_ref().is_some_and(|h| !h.addr.is_empty())
            || self.uid.as_ref().is_some_and(|u| !u.is_empty())
    }

    /// How this lease should be imported (see `docs/import-isc.md`).
    ///
    /// Time-independent: an `active` lease whose `ends` is past is still
    /// [`Disposition::Import`]`(`[`ImportState::Active`]`)`; the converter,
    /// which knows the clock, decides whether it has expired meanwhile.
    pub fn disposition(&self) -> Disposition {
        let Some(state) = self.binding_state else {
            return Disposition::Skip("no `binding state` in the block");
        };
        let target = match state {
            BindingState::Active | BindingState::Bootp | BindingState::Reserved => {
                ImportState::Active
            }
            BindingState::Expired => ImportState::Expired,
            BindingState::Released => ImportState::Released,
            BindingState::Abandoned => ImportState::Abandoned,
            BindingState::Free | BindingState::Backup | BindingState::Reset => ImportState::Free,
        };
        if !self.has_client_identity() {
            return Disposition::Skip(match target {
                ImportState::Active => "active lease without hardware address or uid",
                _ => "not active and no hardware address or uid: nothing to remember",
            });
        }
        Disposition::Import(target)
    }
}

/// The binding state a lease is imported as.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ImportState {
    /// ISC `active`, `bootp`, `reserved`: the address is held by the client.
    Active,
    /// ISC `free`, `backup`, `reset`: available, last held by the client named.
    Free,
    /// ISC `expired`.
    Expired,
    /// ISC `released`.
    Released,
    /// ISC `abandoned` (address found in use by an unknown host).
    Abandoned,
}

/// Whether and how an [`IscLease`] becomes a binding.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Disposition {
    Import(ImportState),
    Skip(&'static str),
}

// ---------------------------------------------------------------------------
// Tokenizer

#[derive(Debug, Clone, PartialEq, Eq)]
enum Kind<'a> {
    /// A run of bytes other than whitespace and `{ } ; " # = ,`.
    Word(&'a str),
    /// A quoted string, escapes decoded.
    Str(Vec<u8>),
    LBrace,
    RBrace,
    Semi,
    Eq,
    Comma,
    /// A string that could not be read (unterminated, bad escape).
    Bad(&'static str),
}

#[derive(Debug, Clone)]
struct Tok<'a> {
    kind: Kind<'a>,
    line: usize,
    /// First token on its line (top-level keywords there resynchronise).
    first: bool,
}

fn is_word_byte(b: u8) -> bool {
    !(b.is_ascii_whitespace() || matches!(b, b'{' | b'}' | b';' | b'"' | b'#' | b'=' | b','))
}

fn tokenize(text: &str) -> Vec<Tok<'_>> {
    let s = text.as_bytes();
    let mut toks = Vec::new();
    let mut i = 0;
    let mut line = 1;
    let mut first = true;
    while i < s.len() {
        let b = s[i];
        let start_line = line;
        let kind = match b {
            b'\n' => {
                line += 1;
                first = true;
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
        toks.push(Tok {
            kind,
            line: start_line,
            first,
        });
        first = false;
    }
    toks
}

/// Reads a quoted string whose opening quote is just before `i`. Returns the
/// token and the index after it. A raw newline ends an unterminated string
/// (ISC never writes one inside a string) and is left for the caller.
fn read_string(s: &[u8], mut i: usize) -> (Kind<'static>, usize) {
    let mut out = Vec::new();
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
        None => (Kind::Str(out), i),
    }
}

// ---------------------------------------------------------------------------
// Values

/// Colon-separated hex octets, each one or two digits (ISC writes `0:1:2`
/// for options, `00:01:02` for hardware addresses).
fn parse_hex(w: &str) -> Option<Vec<u8>> {
    if w.is_empty() {
        return None;
    }
    w.split(':')
        .map(|p| {
            if p.is_empty() || p.len() > 2 {
                None
            } else {
                u8::from_str_radix(p, 16).ok()
            }
        })
        .collect()
}

fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn days_in_month(y: i64, m: i64) -> i64 {
    match m {
        4 | 6 | 9 | 11 => 30,
        2 if (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 => 29,
        2 => 28,
        _ => 31,
    }
}

/// `YYYY/MM/DD` and `HH:MM:SS` (UTC) to seconds since the epoch.
fn civil_to_epoch(date: &str, time: &str) -> Result<u64, String> {
    let num = |p: &str| -> Option<i64> {
        if p.is_empty() || p.len() > 6 || !p.bytes().all(|b| b.is_ascii_digit()) {
            None
        } else {
            p.parse().ok()
        }
    };
    let d: Vec<Option<i64>> = date.split('/').map(num).collect();
    let t: Vec<Option<i64>> = time.split(':').map(num).collect();
    let (&[Some(y), Some(mo), Some(dd)], &[Some(h), Some(mi), Some(se)]) = (&d[..], &t[..]) else {
        return Err(format!(
            "expected `YYYY/MM/DD HH:MM:SS`, found `{date} {time}`"
        ));
    };
    if y < 1970 || !(1..=12).contains(&mo) || dd < 1 || dd > days_in_month(y, mo) {
        return Err(format!("invalid date `{date}`"));
    }
    if h > 23 || mi > 59 || se > 60 {
        return Err(format!("invalid time of day `{time}`"));
    }
    let secs = days_from_civil(y, mo, dd) * 86_400 + h * 3600 + mi * 60 + se;
    u64::try_from(secs).map_err(|_| format!("date `{date}` before 1970"))
}

fn clip(s: &str) -> String {
    const MAX: usize = 64;
    if s.len() <= MAX {
        return s.to_string();
    }
    let mut end = MAX;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}...", &s[..end])
}

fn describe(k: &Kind<'_>) -> String {
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

/// Declarations that only appear at the top level of a leases file.
fn is_top_keyword(w: &str) -> bool {
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

// ---------------------------------------------------------------------------
// Parser

struct BlockError {
    /// Line of the offending token (or of the block start at end of input).
    line: usize,
    /// Token index to resynchronise from.
    pos: usize,
    /// Braces open at `pos`, counted from the lease header.
    depth: usize,
    why: String,
}

struct Parser<'a> {
    toks: Vec<Tok<'a>>,
}

type PResult<T> = Result<T, BlockError>;

impl<'a> Parser<'a> {
    fn kind(&self, i: usize) -> Option<&Kind<'a>> {
        self.toks.get(i).map(|t| &t.kind)
    }

    fn line(&self, i: usize) -> usize {
        self.toks
            .get(i)
            .or_else(|| self.toks.last())
            .map_or(1, |t| t.line)
    }

    fn err(&self, i: usize, depth: usize, why: String) -> BlockError {
        BlockError {
            line: self.line(i),
            pos: i,
            depth,
            why,
        }
    }

    fn unexpected(&self, i: usize, expected: &str) -> BlockError {
        let found = match self.kind(i) {
            Some(k) => describe(k),
            None => "end of input".into(),
        };
        self.err(i, 1, format!("expected {expected}, found {found}"))
    }

    fn word(&self, i: usize, expected: &str) -> PResult<&'a str> {
        match self.kind(i) {
            Some(Kind::Word(w)) => Ok(w),
            _ => Err(self.unexpected(i, expected)),
        }
    }

    fn semi(&self, i: usize) -> PResult<usize> {
        match self.kind(i) {
            Some(Kind::Semi) => Ok(i + 1),
            _ => Err(self.unexpected(i, "`;`")),
        }
    }

    fn keyword(&self, i: usize, kw: &str) -> PResult<usize> {
        match self.kind(i) {
            Some(Kind::Word(w)) if *w == kw => Ok(i + 1),
            _ => Err(self.unexpected(i, &format!("`{kw}`"))),
        }
    }

    /// Skips one statement starting at `start`: up to and including a `;`
    /// at depth 0, or a balanced `{ ... }` block. Stops before an unmatched
    /// `}` and before a top-level keyword that starts a later line.
    fn skip_statement(&self, start: usize) -> usize {
        let mut depth = 0usize;
        let mut i = start;
        while let Some(t) = self.toks.get(i) {
            match &t.kind {
                Kind::Semi if depth == 0 => return i + 1,
                Kind::LBrace => depth += 1,
                Kind::RBrace if depth == 0 => return i,
                Kind::RBrace => {
                    depth -= 1;
                    if depth == 0 {
                        // `failover peer "x" state { ... }` has no `;` after
                        // the block; swallow one if present anyway.
                        return if matches!(self.kind(i + 1), Some(Kind::Semi)) {
                            i + 2
                        } else {
                            i + 1
                        };
                    }
                }
                Kind::Word(w) if i > start && t.first && is_top_keyword(w) => return i,
                _ => {}
            }
            i += 1;
        }
        i
    }

    /// After a malformed lease block: continue after the block's closing
    /// brace, or at the next top-level keyword starting a line if the block
    /// is not closed before it.
    fn recover(&self, pos: usize, mut depth: usize) -> usize {
        let mut i = pos;
        while let Some(t) = self.toks.get(i) {
            match &t.kind {
                Kind::Word(w) if t.first && is_top_keyword(w) => return i,
                Kind::Semi if depth == 0 => return i + 1,
                Kind::LBrace => depth += 1,
                Kind::RBrace if depth <= 1 => return i + 1,
                Kind::RBrace => depth -= 1,
                _ => {}
            }
            i += 1;
        }
        i
    }

    /// A date: `never`, `epoch N`, or `[W] YYYY/MM/DD HH:MM:SS`, then `;`.
    /// Returns (seconds, is_never, next index).
    fn date(&self, i: usize) -> PResult<(Option<u64>, bool, usize)> {
        let w = self.word(i, "a date")?;
        if w == "never" {
            return Ok((None, true, self.semi(i + 1)?));
        }
        if w == "epoch" {
            let n = self.word(i + 1, "seconds since the epoch")?;
            let secs = if n.bytes().all(|b| b.is_ascii_digit()) {
                n.parse::<u64>().ok()
            } else {
                None
            }
            .ok_or_else(|| self.err(i + 1, 1, format!("invalid epoch time `{}`", clip(n))))?;
            return Ok((Some(secs), false, self.semi(i + 2)?));
        }
        let (date_at, weekday) = if w.contains('/') {
            (i, None)
        } else {
            (i + 1, Some(w))
        };
        if let Some(wd) = weekday {
            if !matches!(wd, "0" | "1" | "2" | "3" | "4" | "5" | "6") {
                return Err(self.err(i, 1, format!("invalid weekday `{}` in date", clip(wd))));
            }
        }
        let date = self.word(date_at, "YYYY/MM/DD")?;
        let time = self.word(date_at + 1, "HH:MM:SS")?;
        let secs = civil_to_epoch(date, time).map_err(|why| self.err(date_at, 1, why))?;
        Ok((Some(secs), false, self.semi(date_at + 2)?))
    }

    fn state(&self, i: usize) -> PResult<(BindingState, usize)> {
        let w = self.word(i, "a binding state")?;
        let st = BindingState::from_isc(w)
            .ok_or_else(|| self.err(i, 1, format!("unknown binding state `{}`", clip(w))))?;
        Ok((st, self.semi(i + 1)?))
    }

    /// A client identifier or option value: quoted string or colon hex.
    fn data(&self, i: usize, what: &str) -> PResult<(Vec<u8>, usize)> {
        let v = match self.kind(i) {
            Some(Kind::Str(b)) => b.clone(),
            Some(Kind::Word(w)) => parse_hex(w).ok_or_else(|| {
                self.err(
                    i,
                    1,
                    format!("invalid {what} `{}`: not colon-separated hex", clip(w)),
                )
            })?,
            _ => return Err(self.unexpected(i, &format!("{what} (quoted string or colon hex)"))),
        };
        Ok((v, self.semi(i + 1)?))
    }

    fn set_value(&self, i: usize) -> PResult<(SetValue, usize)> {
        let mut j = i;
        while !matches!(self.kind(j), Some(Kind::Semi) | Some(Kind::RBrace) | None) {
            j += 1;
        }
        let end = self.semi(j)?;
        let v = match &self.toks[i..j] {
            [] => return Err(self.unexpected(i, "a value after `=`")),
            [t] => match &t.kind {
                Kind::Str(b) => SetValue::Text(b.clone()),
                Kind::Word("true") => SetValue::Bool(true),
                Kind::Word("false") => SetValue::Bool(false),
                Kind::Word(w) => match w.strip_prefix('%').and_then(|n| n.parse().ok()) {
                    Some(n) => SetValue::Number(n),
                    None => match parse_hex(w) {
                        Some(b) => SetValue::Hex(b),
                        None => SetValue::Other(w.to_string()),
                    },
                },
                Kind::Bad(why) => return Err(self.err(i, 1, (*why).into())),
                k => SetValue::Other(describe(k)),
            },
            many => {
                let mut s = String::new();
                for t in many {
                    if let Kind::Bad(why) = t.kind {
                        return Err(self.err(i, 1, why.into()));
                    }
                    if !s.is_empty() {
                        s.push(' ');
                    }
                    match &t.kind {
                        Kind::Word(w) => s.push_str(w),
                        Kind::Str(b) => {
                            s.push('"');
                            s.push_str(&String::from_utf8_lossy(b));
                            s.push('"');
                        }
                        Kind::LBrace => s.push('{'),
                        Kind::RBrace => s.push('}'),
                        Kind::Semi => s.push(';'),
                        Kind::Eq => s.push('='),
                        Kind::Comma => s.push(','),
                        Kind::Bad(_) => {}
                    }
                }
                SetValue::Other(s)
            }
        };
        Ok((v, end))
    }

    /// `lease ADDRESS { statements }` with `start` at `lease`.
    fn lease(&self, start: usize) -> PResult<(IscLease, usize)> {
        let line = self.line(start);
        let aw = self
            .word(start + 1, "an IPv4 address after `lease`")
            .map_err(|mut e| {
                e.depth = 0;
                e
            })?;
        let address: Ipv4Addr = aw.parse().map_err(|_| {
            let why = if aw.contains(':') {
                format!(
                    "`{}` is not an IPv4 address (DHCPv6 leases are not imported)",
                    clip(aw)
                )
            } else {
                format!("`{}` is not an IPv4 address", clip(aw))
            };
            self.err(start + 1, 0, why)
        })?;
        if !matches!(self.kind(start + 2), Some(Kind::LBrace)) {
            let mut e = self.unexpected(start + 2, "`{`");
            e.depth = 0;
            return Err(e);
        }
        let mut l = IscLease::new(line, address);
        let mut i = start + 3;
        loop {
            let Some(t) = self.toks.get(i) else {
                return Err(BlockError {
                    line,
                    pos: i,
                    depth: 1,
                    why: format!("block opened on line {line} is not closed before end of input"),
                });
            };
            let w = match &t.kind {
                Kind::RBrace => return Ok((l, i + 1)),
                Kind::Semi => {
                    i += 1;
                    continue;
                }
                Kind::Word(w) => *w,
                k => {
                    let why = format!("expected a statement, found {}", describe(k));
                    return Err(self.err(i, 1, why));
                }
            };
            i = match w {
                "starts" | "ends" | "tstp" | "tsfp" | "atsfp" | "cltt" => {
                    let (v, never, next) = self.date(i + 1)?;
                    match w {
                        "starts" => l.starts = v,
                        "ends" => {
                            l.ends = v;
                            l.ends_never = never;
                        }
                        "tstp" => l.tstp = v,
                        "tsfp" => l.tsfp = v,
                        "atsfp" => l.atsfp = v,
                        _ => l.cltt = v,
                    }
                    next
                }
                "binding" | "next" | "rewind" => {
                    let mut j = i + 1;
                    if w != "binding" {
                        j = self.keyword(j, "binding")?;
                    }
                    j = self.keyword(j, "state")?;
                    let (st, next) = self.state(j)?;
                    match w {
                        "binding" => l.binding_state = Some(st),
                        "next" => l.next_binding_state = Some(st),
                        _ => l.rewind_binding_state = Some(st),
                    }
                    next
                }
                "hardware" => {
                    let ty = self.word(i + 1, "a hardware type")?;
                    let htype = match ty {
                        "ethernet" => 1,
                        "token-ring" => 6,
                        "fddi" => 8,
                        "infiniband" => 32,
                        _ => {
                            let why = format!("unknown hardware type `{}`", clip(ty));
                            return Err(self.err(i + 1, 1, why));
                        }
                    };
                    let aw = self.word(i + 2, "a hardware address")?;
                    let addr = parse_hex(aw).filter(|a| a.len() <= 16).ok_or_else(|| {
                        let why = format!("invalid hardware address `{}`", clip(aw));
                        self.err(i + 2, 1, why)
                    })?;
                    l.hardware = Some(Hardware { htype, addr });
                    self.semi(i + 3)?
                }
                "uid" => {
                    let (v, next) = self.data(i + 1, "client identifier")?;
                    l.uid = Some(v);
                    next
                }
                "client-hostname" => {
                    let v = match self.kind(i + 1) {
                        Some(Kind::Str(b)) => String::from_utf8_lossy(b).into_owned(),
                        Some(Kind::Word(w)) => w.to_string(),
                        _ => return Err(self.unexpected(i + 1, "a host name")),
                    };
                    l.client_hostname = Some(v);
                    self.semi(i + 2)?
                }
                "option" => {
                    let name = self.word(i + 1, "an option name")?;
                    let slot = match name {
                        "agent.circuit-id" => Some(&mut l.circuit_id),
                        "agent.remote-id" => Some(&mut l.remote_id),
                        "agent.relay-id" => Some(&mut l.relay_id),
                        _ => None,
                    };
                    match slot {
                        Some(slot) => {
                            let (v, next) = self.data(i + 2, name)?;
                            *slot = Some(v);
                            next
                        }
                        None => {
                            let at = self.line(i);
                            l.notes
                                .push(format!("line {at}: `option {}` not kept", clip(name)));
                            self.skip_statement(i)
                        }
                    }
                }
                "set" => {
                    let name = self.word(i + 1, "a variable name")?;
                    if !matches!(self.kind(i + 2), Some(Kind::Eq)) {
                        return Err(self.unexpected(i + 2, "`=`"));
                    }
                    let (v, next) = self.set_value(i + 3)?;
                    l.sets.push((name.to_string(), v));
                    next
                }
                "abandoned" => {
                    // Old spelling; dhcpd reads it as `binding state abandoned`.
                    let at = self.line(i);
                    l.notes.push(format!(
                        "line {at}: `abandoned;` read as `binding state abandoned`"
                    ));
                    l.binding_state = Some(BindingState::Abandoned);
                    self.semi(i + 1)?
                }
                "bootp" | "reserved" => {
                    if w == "bootp" {
                        l.bootp = true;
                    } else {
                        l.reserved = true;
                    }
                    self.semi(i + 1)?
                }
                _ if t.first && is_top_keyword(w) => {
                    let why = format!(
                        "`{w}` on line {} inside the block opened on line {line}: missing `}}`",
                        t.line
                    );
                    return Err(BlockError {
                        line: t.line,
                        pos: i,
                        depth: 0,
                        why,
                    });
                }
                _ => {
                    let at = self.line(i);
                    let what = if w == "on" {
                        "`on` event statement skipped (not imported)".to_string()
                    } else {
                        format!("unknown statement `{}` skipped", clip(w))
                    };
                    l.notes.push(format!("line {at}: {what}"));
                    self.skip_statement(i)
                }
            };
        }
    }
}

/// Fills the typed fields that `set` variables provide when the dedicated
/// statements are absent.
fn apply_sets(l: &mut IscLease) {
    for (name, v) in &l.sets {
        let Some(b) = v.bytes() else { continue };
        let slot = match name.as_str() {
            "vendor-class-identifier" => &mut l.vendor_class_id,
            "agent-circuit-id" | "agent.circuit-id" | "circuit-id" => &mut l.circuit_id,
            "agent-remote-id" | "agent.remote-id" | "remote-id" => &mut l.remote_id,
            "agent-relay-id" | "agent.relay-id" => &mut l.relay_id,
            _ => continue,
        };
        if slot.is_none() {
            *slot = Some(b.to_vec());
        }
    }
}

fn skip_reason(w: &str) -> &'static str {
    match w {
        "authoring-byte-order" => "file metadata (byte order of the writing server), not a lease",
        "server-duid" => "the ISC server's own DUID, not a lease",
        "failover" => "failover peer state: Lessor does not run ISC failover",
        "host" => "dynamic host declaration (OMAPI): a reservation, import it as configuration",
        "group" | "subgroup" => "group declaration (OMAPI), not a lease",
        "class" | "subclass" => "class declaration, not a lease",
        "lease6" | "ia-na" | "ia_na" | "ia-ta" | "ia_ta" | "ia-pd" | "ia_pd" => {
            "DHCPv6 lease: DHCPv6 import is not supported yet"
        }
        _ => "unknown top-level declaration",
    }
}

/// Parses a `dhcpd.leases` file. Never panics.
pub fn parse(text: &str) -> IscImport {
    let p = Parser {
        toks: tokenize(text),
    };
    let mut slots: Vec<Option<IscLease>> = Vec::new();
    let mut by_addr: HashMap<Ipv4Addr, usize> = HashMap::new();
    let mut skipped = Vec::new();
    let mut i = 0;
    while let Some(t) = p.toks.get(i) {
        let line = t.line;
        let w = match &t.kind {
            Kind::Word(w) => *w,
            k => {
                skipped.push(Skipped {
                    line,
                    what: describe(k),
                    why: "stray token at top level".into(),
                });
                i += 1;
                continue;
            }
        };
        if w != "lease" {
            let next = p.skip_statement(i).max(i + 1);
            let what = match p.kind(i + 1) {
                Some(Kind::Word(n)) if w != "authoring-byte-order" && w != "server-duid" => {
                    format!("{} {}", clip(w), clip(n))
                }
                _ => clip(w),
            };
            skipped.push(Skipped {
                line,
                what,
                why: skip_reason(w).into(),
            });
            i = next;
            continue;
        }
        let what = match p.kind(i + 1) {
            Some(Kind::Word(a)) => format!("lease {}", clip(a)),
            _ => "lease".into(),
        };
        match p.lease(i) {
            Ok((mut l, next)) => {
                apply_sets(&mut l);
                if let Some(old) = by_addr.insert(l.address, slots.len()) {
                    slots[old] = None;
                }
                slots.push(Some(l));
                i = next;
            }
            Err(e) => {
                let mut why = format!("line {}: {}", e.line, e.why);
                let addr = match p.kind(i + 1) {
                    Some(Kind::Word(a)) => a.parse::<Ipv4Addr>().ok(),
                    _ => None,
                };
                if let Some(old) = addr.and_then(|a| by_addr.remove(&a)) {
                    if let Some(prev) = slots[old].take() {
                        why.push_str(&format!(
                            "; the earlier block on line {} for this address is dropped too, \
                             as this later one would have replaced it",
                            prev.line
                        ));
                    }
                }
                skipped.push(Skipped { line, what, why });
                i = p.recover(e.pos, e.depth).max(i + 1);
            }
        }
    }
    IscImport {
        leases: slots.into_iter().flatten().collect(),
        skipped,
    }
}

#[cfg(test)]
mod tests;
