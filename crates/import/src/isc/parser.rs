//! Lease blocks to records: [`Reader`] turns a leases file, read as a stream, into [`Item`]s in
//! file order, one [`IscLease`] per well-formed `lease` block and one [`Skipped`] for anything
//! else. Keeping the last block per address is left to the caller ([`super::parse`] for a whole
//! text, [`crate::stream`] for an import).
//!
//! A malformed block never stops the reading: the parser resumes after the block's closing
//! brace or, if the block is not closed, at the next top-level declaration starting a line.

use std::collections::VecDeque;
use std::io::{self, BufRead};
use std::net::Ipv4Addr;

use super::lease::{BindingState, Hardware, IscLease, Note, Skipped, SubOption, MALFORMED_LEASE};
use super::lease6::{ByteOrder, IscIa};
use super::lexer::{describe, is_top_keyword, tokenize, Kind, Tok};
use super::parser6::is_ia_keyword;
use super::source::{Chunk, Source};
use super::values::{
    agent_set_variable, agent_sub_option, civil_to_epoch, clip, epoch_seconds, hardware_type,
    ipv4_octets, parse_hex, uint32_octets, AgentFormat, SetValue, AGENT_SPACE,
};

/// One top-level item of the file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Item {
    /// A well-formed `lease` block (a DHCPv4 file).
    Lease(Box<IscLease>),
    /// A well-formed `ia-na` or `ia-pd` block (a DHCPv6 file).
    Ia(Box<IscIa>),
    /// Anything else: another declaration, a malformed block, a stray token.
    Skipped(Skipped),
}

/// Which server wrote the file: `dhcpd -4` (`dhcpd.leases`, `lease` blocks) or `dhcpd -6`
/// (`dhcpd6.leases`, `ia-na`/`ia-pd` blocks). The blocks of the other family are skipped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Family {
    V4,
    V6,
}

/// The items of a leases file, read as a stream (see [`super::source`] for the memory bound).
pub struct Reader<R> {
    source: Source<R>,
    chunk: Chunk,
    items: VecDeque<Item>,
    family: Family,
    /// The byte order of IAIDs, from `authoring-byte-order` (see [`ByteOrder`]).
    order: ByteOrder,
}

impl<R: BufRead> Reader<R> {
    /// A reader of a DHCPv4 file.
    pub fn new(reader: R) -> Self {
        Reader::with_family(reader, Family::V4)
    }

    /// A reader of a file of `family`.
    pub fn with_family(reader: R, family: Family) -> Self {
        Reader {
            source: Source::new(reader),
            chunk: Chunk::default(),
            items: VecDeque::new(),
            family,
            order: ByteOrder::default(),
        }
    }
}

impl<R: BufRead> Iterator for Reader<R> {
    type Item = io::Result<Item>;

    fn next(&mut self) -> Option<io::Result<Item>> {
        loop {
            if let Some(item) = self.items.pop_front() {
                return Some(Ok(item));
            }
            match self.source.next_chunk(&mut self.chunk) {
                Ok(true) => parse_chunk(&self.chunk, self.family, &mut self.order, &mut self.items),
                Ok(false) => return None,
                Err(e) => return Some(Err(e)),
            }
        }
    }
}

/// Why a top-level declaration is skipped (other than `lease` in a DHCPv4 file and `ia-na`,
/// `ia-pd` in a DHCPv6 one).
fn skip_reason(w: &str) -> &'static str {
    match w {
        "authoring-byte-order" => "file metadata (byte order of the writing server), not a lease",
        "server-duid" => "the ISC server's own DUID, not a lease",
        "failover" => "failover peer state: Lessor does not run ISC failover",
        "host" => "dynamic host declaration (OMAPI): a reservation, import it as configuration",
        "group" | "subgroup" => "group declaration (OMAPI), not a lease",
        "class" | "subclass" => "class declaration, not a lease",
        "lease6" | "ia-na" | "ia_na" | "ia-ta" | "ia_ta" | "ia-pd" | "ia_pd" => {
            "DHCPv6 lease in a DHCPv4 import: import the file with `--isc6`"
        }
        "lease" => "DHCPv4 lease in a DHCPv6 import: import the file with `--isc`",
        _ => "unknown top-level declaration",
    }
}

const STRAY_TOKEN: &str = "stray token at top level";
const OVERSIZED: &str = "declaration longer than 256 KiB before the next one: not read";

/// Parses the declarations of one chunk into `out`.
fn parse_chunk(chunk: &Chunk, family: Family, order: &mut ByteOrder, out: &mut VecDeque<Item>) {
    let (body, lookahead) = chunk.text();
    let mut toks = Vec::with_capacity(64);
    tokenize(&body, chunk.first_line, &chunk.overlong, &mut toks);
    if chunk.oversized {
        out.push_back(Item::Skipped(oversized(&toks, chunk.first_line)));
        return;
    }
    let end = toks.len();
    let lookahead_line = chunk.first_line + body.bytes().filter(|&b| b == b'\n').count();
    tokenize(&lookahead, lookahead_line, &[], &mut toks);
    let p = Parser { toks, end };
    p.items(family, order, out);
}

/// The report of a declaration cut at [`super::source::MAX_DECLARATION`].
fn oversized(toks: &[Tok<'_>], line: usize) -> Skipped {
    let word = |i: usize| match toks.get(i).map(|t| &t.kind) {
        Some(Kind::Word(w)) => Some(*w),
        _ => None,
    };
    let (what, address) = match (word(0), word(1)) {
        (Some("lease"), Some(a)) => (format!("lease {}", clip(a)), a.parse().ok()),
        (Some(w), _) => (clip(w), None),
        _ => ("declaration".to_string(), None),
    };
    let kind = if word(0) == Some("lease") {
        MALFORMED_LEASE
    } else {
        OVERSIZED
    };
    Skipped {
        line: toks.first().map_or(line, |t| t.line),
        what,
        why: OVERSIZED.into(),
        kind,
        address,
        v6_keys: Vec::new(),
    }
}

pub(super) struct BlockError {
    /// Line of the offending token (or of the block start at end of input).
    pub(super) line: usize,
    /// Token index to resynchronise from.
    pub(super) pos: usize,
    /// Braces open at `pos`, counted from the block header.
    pub(super) depth: usize,
    pub(super) why: String,
}

/// The tokens of one chunk: `toks[..end]` are its declarations, the rest is the lookahead (the
/// first line of the next declaration).
pub(super) struct Parser<'a> {
    pub(super) toks: Vec<Tok<'a>>,
    end: usize,
}

pub(super) type PResult<T> = Result<T, BlockError>;

impl<'a> Parser<'a> {
    /// The top-level loop over `toks[..end]`.
    fn items(&self, family: Family, order: &mut ByteOrder, out: &mut VecDeque<Item>) {
        let mut i = 0;
        while i < self.end {
            let t = &self.toks[i];
            let line = t.line;
            let w = match &t.kind {
                Kind::Word(w) => *w,
                k => {
                    out.push_back(Item::Skipped(Skipped {
                        line,
                        what: describe(k),
                        why: STRAY_TOKEN.into(),
                        kind: STRAY_TOKEN,
                        address: None,
                        v6_keys: Vec::new(),
                    }));
                    i += 1;
                    continue;
                }
            };
            if w == "authoring-byte-order" {
                if let Some(o) = self.word(i + 1, "").ok().and_then(ByteOrder::from_isc) {
                    *order = o;
                }
            }
            if family == Family::V6 && is_ia_keyword(w) {
                i = self.ia_item(i, *order, out);
                continue;
            }
            if w != "lease" || family == Family::V6 {
                let next = self.skip_statement(i).max(i + 1);
                let what = match self.kind(i + 1) {
                    Some(Kind::Word(n)) if w != "authoring-byte-order" && w != "server-duid" => {
                        format!("{} {}", clip(w), clip(n))
                    }
                    _ => clip(w),
                };
                let reason = skip_reason(w);
                let mut why = reason.to_string();
                if let (Family::V6, "server-duid", Some(Kind::Str(duid))) =
                    (family, w, self.kind(i + 1))
                {
                    // Clients renew with the server identifier they were given: keeping it
                    // spares them a Rebind.
                    why.push_str(&format!(
                        "; to keep it, set `[dhcp6] server-duid = \"{}\"`",
                        lessor_wire::hex::colon(duid)
                    ));
                }
                out.push_back(Item::Skipped(Skipped {
                    line,
                    what,
                    why,
                    kind: reason,
                    address: None,
                    v6_keys: Vec::new(),
                }));
                i = next;
                continue;
            }
            let header = match self.kind(i + 1) {
                Some(Kind::Word(a)) => Some(*a),
                _ => None,
            };
            match self.lease(i) {
                Ok((mut l, next)) => {
                    apply_sets(&mut l);
                    out.push_back(Item::Lease(Box::new(l)));
                    i = next;
                }
                Err(e) => {
                    out.push_back(Item::Skipped(Skipped {
                        line,
                        what: header.map_or("lease".into(), |a| format!("lease {}", clip(a))),
                        why: format!("line {}: {}", e.line, e.why),
                        kind: MALFORMED_LEASE,
                        address: header.and_then(|a| a.parse().ok()),
                        v6_keys: Vec::new(),
                    }));
                    i = self.recover(e.pos, e.depth).max(i + 1);
                }
            }
        }
    }

    pub(super) fn kind(&self, i: usize) -> Option<&Kind<'a>> {
        self.toks.get(i).map(|t| &t.kind)
    }

    pub(super) fn line(&self, i: usize) -> usize {
        self.toks
            .get(i)
            .or_else(|| self.toks.last())
            .map_or(1, |t| t.line)
    }

    pub(super) fn err(&self, i: usize, depth: usize, why: String) -> BlockError {
        BlockError {
            line: self.line(i),
            pos: i,
            depth,
            why,
        }
    }

    pub(super) fn unexpected(&self, i: usize, expected: &str) -> BlockError {
        let found = match self.kind(i) {
            Some(k) => describe(k),
            None => "end of input".into(),
        };
        self.err(i, 1, format!("expected {expected}, found {found}"))
    }

    pub(super) fn word(&self, i: usize, expected: &str) -> PResult<&'a str> {
        match self.kind(i) {
            Some(Kind::Word(w)) => Ok(w),
            _ => Err(self.unexpected(i, expected)),
        }
    }

    pub(super) fn semi(&self, i: usize) -> PResult<usize> {
        match self.kind(i) {
            Some(Kind::Semi) => Ok(i + 1),
            _ => Err(self.unexpected(i, "`;`")),
        }
    }

    pub(super) fn keyword(&self, i: usize, kw: &str) -> PResult<usize> {
        match self.kind(i) {
            Some(Kind::Word(w)) if *w == kw => Ok(i + 1),
            _ => Err(self.unexpected(i, &format!("`{kw}`"))),
        }
    }

    /// Skips one statement starting at `start`: up to and including a `;` at depth 0, or a
    /// balanced `{ ... }` block. Stops before an unmatched `}` and before a top-level keyword
    /// that starts a later line.
    pub(super) fn skip_statement(&self, start: usize) -> usize {
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
                        // `failover peer "x" state { ... }` has no `;` after the block; swallow
                        // one if present anyway.
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

    /// After a malformed lease block: continue after the block's closing brace, or at the next
    /// top-level keyword starting a line if the block is not closed before it.
    pub(super) fn recover(&self, pos: usize, mut depth: usize) -> usize {
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
    pub(super) fn date(&self, i: usize) -> PResult<(Option<u64>, bool, usize)> {
        let w = self.word(i, "a date")?;
        if w == "never" {
            return Ok((None, true, self.semi(i + 1)?));
        }
        if w == "epoch" {
            let n = self.word(i + 1, "seconds since the epoch")?;
            let secs = epoch_seconds(n)
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

    pub(super) fn state(&self, i: usize) -> PResult<(BindingState, usize)> {
        let w = self.word(i, "a binding state")?;
        let st = BindingState::from_isc(w)
            .ok_or_else(|| self.err(i, 1, format!("unknown binding state `{}`", clip(w))))?;
        Ok((st, self.semi(i + 1)?))
    }

    /// A client identifier or option value: quoted string or colon hex.
    fn data(&self, i: usize, what: &str) -> PResult<(Vec<u8>, usize)> {
        let v = match self.kind(i) {
            Some(Kind::Str(b)) => b.to_vec(),
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

    /// The value of a relay agent sub-option, as ISC prints values of that format.
    fn agent_value(&self, i: usize, name: &str, format: AgentFormat) -> PResult<(Vec<u8>, usize)> {
        let word =
            |parse: fn(&str) -> Option<Vec<u8>>, expected: &str| -> PResult<(Vec<u8>, usize)> {
                let w = self.word(i, expected)?;
                let v = parse(w).ok_or_else(|| {
                    self.err(
                        i,
                        1,
                        format!("invalid {name} `{}`: not {expected}", clip(w)),
                    )
                })?;
                Ok((v, self.semi(i + 1)?))
            };
        match format {
            AgentFormat::Data => self.data(i, name),
            AgentFormat::Ipv4 => word(ipv4_octets, "an IPv4 address"),
            AgentFormat::Uint32 => word(uint32_octets, "a 32-bit unsigned number"),
            AgentFormat::Empty => match self.kind(i) {
                Some(Kind::Semi) => Ok((Vec::new(), i + 1)),
                _ => self.data(i, name),
            },
        }
    }

    pub(super) fn set_value(&self, i: usize) -> PResult<(SetValue, usize)> {
        let mut j = i;
        while !matches!(self.kind(j), Some(Kind::Semi) | Some(Kind::RBrace) | None) {
            j += 1;
        }
        let end = self.semi(j)?;
        let v = match &self.toks[i..j] {
            [] => return Err(self.unexpected(i, "a value after `=`")),
            [t] => match &t.kind {
                Kind::Str(b) => SetValue::Text(b.to_vec()),
                Kind::Word(w) => SetValue::from_word(w),
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

    /// `option NAME VALUE;` inside a lease, with `i` at `option`.
    fn option(&self, l: &mut IscLease, i: usize) -> PResult<usize> {
        let name = self.word(i + 1, "an option name")?;
        let sub = name
            .strip_prefix(AGENT_SPACE)
            .map(|n| (n, agent_sub_option(n)));
        match sub {
            Some((_, Some((code, format)))) => {
                let (v, next) = self.agent_value(i + 2, name, format)?;
                l.set_sub_option(code, v);
                Ok(next)
            }
            Some((n, None)) => {
                l.notes.push(Note {
                    line: self.line(i),
                    what: format!("option agent.{} (no such relay agent sub-option)", clip(n)),
                });
                Ok(self.skip_statement(i))
            }
            None => {
                l.notes.push(Note {
                    line: self.line(i),
                    what: format!("option {}", clip(name)),
                });
                Ok(self.skip_statement(i))
            }
        }
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
                    let htype = hardware_type(ty).ok_or_else(|| {
                        self.err(i + 1, 1, format!("unknown hardware type `{}`", clip(ty)))
                    })?;
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
                "option" => self.option(&mut l, i)?,
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
                    l.notes.push(Note {
                        line: self.line(i),
                        what: "`abandoned;` (read as `binding state abandoned`)".into(),
                    });
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
                    let what = if w == "on" {
                        "`on` event statement".to_string()
                    } else {
                        format!("statement `{}`", clip(w))
                    };
                    l.notes.push(Note {
                        line: self.line(i),
                        what,
                    });
                    self.skip_statement(i)
                }
            };
        }
    }
}

/// Fills the fields that `set` variables provide when the dedicated statements are absent (the
/// first variable of a kind wins; an `option agent.*` line wins over any variable).
fn apply_sets(l: &mut IscLease) {
    for (name, v) in &l.sets {
        let Some(b) = v.bytes() else { continue };
        if name == "vendor-class-identifier" {
            if l.vendor_class_id.is_none() {
                l.vendor_class_id = Some(b.to_vec());
            }
        } else if let Some(code) = agent_set_variable(name) {
            if !l.agent.iter().any(|s| s.code == code) {
                l.agent.push(SubOption {
                    code,
                    data: b.to_vec(),
                });
            }
        }
    }
}
