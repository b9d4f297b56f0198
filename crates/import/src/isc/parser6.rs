//! `ia-na` / `ia-ta` / `ia-pd` blocks of a DHCPv6 leases file (`dhcpd6.leases`), read by the
//! same parser as `lease` blocks (its tokens, dates, states and recovery), as dhcpd 4.4
//! writes them:
//!
//! ```text
//! ia-na "\001\000\000\000\000\001\000\001..." {
//!   cltt 4 2026/11/26 10:00:00;
//!   iaaddr 2001:db8:1::1000 {
//!     binding state active;
//!     preferred-life 1800;
//!     max-life 3600;
//!     ends 4 2026/11/26 11:00:00;
//!   }
//! }
//! ```
//!
//! The quoted key is the IAID (four octets in the writer's byte order, see [`ByteOrder`]) then
//! the client's DUID. An `ia-pd` holds `iaprefix PREFIX/LEN { ... }` blocks instead.

use std::collections::VecDeque;
use std::net::Ipv6Addr;

use super::lease::{Note, Skipped};
use super::lease6::{ByteOrder, IaKind, IaSub, IscIa, IA_TA, MALFORMED_IA};
use super::lexer::{describe, is_top_keyword, Kind};
use super::parser::{BlockError, Item, PResult, Parser};
use super::values::{clip, parse_hex};

/// Whether `w` opens an IA block.
pub fn is_ia_keyword(w: &str) -> bool {
    IaKind::from_keyword(w).is_some()
}

/// The shortest IA key: a four-octet IAID and a DUID of at least one octet (dhcpd refuses
/// shorter keys too).
const MIN_KEY: usize = 5;

impl<'a> Parser<'a> {
    /// The IA block starting at `start` as an item; returns where the next item starts.
    pub(super) fn ia_item(
        &self,
        start: usize,
        order: ByteOrder,
        out: &mut VecDeque<Item>,
    ) -> usize {
        let line = self.line(start);
        let Some(Kind::Word(w)) = self.kind(start) else {
            return start + 1;
        };
        let Some(kind) = IaKind::from_keyword(w) else {
            return start + 1;
        };
        let mut keys = Vec::new();
        match self.ia(start, kind, order, &mut keys) {
            Ok((ia, next)) if kind == IaKind::Ta => {
                out.push_back(Item::Skipped(Skipped {
                    line,
                    what: ia_what(&ia),
                    why: IA_TA.into(),
                    kind: IA_TA,
                    address: None,
                    v6_keys: Vec::new(),
                }));
                next
            }
            Ok((ia, next)) => {
                out.push_back(Item::Ia(Box::new(ia)));
                next
            }
            Err(e) => {
                let (what, kind_text) = if kind == IaKind::Ta {
                    (kind.as_isc().to_string(), IA_TA)
                } else {
                    (kind.as_isc().to_string(), MALFORMED_IA)
                };
                out.push_back(Item::Skipped(Skipped {
                    line,
                    what,
                    why: format!("line {}: {}", e.line, e.why),
                    kind: kind_text,
                    address: None,
                    v6_keys: if kind == IaKind::Ta { Vec::new() } else { keys },
                }));
                self.recover(e.pos, e.depth).max(start + 1)
            }
        }
    }

    /// `ia-* "KEY" { ... }` with `start` at the keyword. The addresses and prefixes read go to
    /// `keys` as they are read, so that a malformed block still names them.
    fn ia(
        &self,
        start: usize,
        kind: IaKind,
        order: ByteOrder,
        keys: &mut Vec<(Ipv6Addr, u8)>,
    ) -> PResult<(IscIa, usize)> {
        let line = self.line(start);
        let key = match self.kind(start + 1) {
            Some(Kind::Str(b)) => b.to_vec(),
            Some(Kind::Word(w)) => parse_hex(w).ok_or_else(|| {
                let why = format!("invalid IAID and DUID `{}`: not colon hex", clip(w));
                self.err(start + 1, 0, why)
            })?,
            _ => {
                let mut e = self.unexpected(start + 1, "the IAID and DUID (a quoted string)");
                e.depth = 0;
                return Err(e);
            }
        };
        if key.len() < MIN_KEY {
            let why = format!(
                "IAID and DUID of {} octet(s): shorter than an IAID and a DUID",
                key.len()
            );
            return Err(self.err(start + 1, 0, why));
        }
        if !matches!(self.kind(start + 2), Some(Kind::LBrace)) {
            let mut e = self.unexpected(start + 2, "`{`");
            e.depth = 0;
            return Err(e);
        }
        let iaid = order.iaid([key[0], key[1], key[2], key[3]]);
        let mut ia = IscIa {
            line,
            kind,
            iaid,
            duid: key[4..].to_vec(),
            cltt: None,
            subs: Vec::new(),
            notes: Vec::new(),
        };
        let mut i = start + 3;
        loop {
            let Some(t) = self.toks.get(i) else {
                return Err(unclosed(line, i, 1));
            };
            let w = match &t.kind {
                Kind::RBrace => return Ok((ia, i + 1)),
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
                "cltt" => {
                    let (v, _, next) = self.date(i + 1)?;
                    ia.cltt = v;
                    next
                }
                "iaaddr" | "iaprefix" if w == kind.sub_keyword() => {
                    let (sub, next) = self.sub(i, kind, keys)?;
                    ia.subs.push(sub);
                    next
                }
                "iaaddr" | "iaprefix" => {
                    let why = format!("`{w}` inside an `{}` block", kind.as_isc());
                    return Err(self.err(i, 1, why));
                }
                _ if t.first && is_top_keyword(w) => return Err(missing_brace(w, t.line, line, i)),
                _ => {
                    ia.notes.push(self.note(i, w));
                    self.skip_statement(i)
                }
            };
        }
    }

    /// `iaaddr ADDRESS { ... }` or `iaprefix PREFIX/LEN { ... }` with `start` at the keyword.
    fn sub(
        &self,
        start: usize,
        kind: IaKind,
        keys: &mut Vec<(Ipv6Addr, u8)>,
    ) -> PResult<(IaSub, usize)> {
        let line = self.line(start);
        let aw = self.word(start + 1, "an IPv6 address or prefix")?;
        let parsed = match kind {
            IaKind::Pd => aw.split_once('/').and_then(|(a, l)| {
                let len: u8 = l.parse().ok().filter(|&n| n <= 128)?;
                Some((a.parse::<Ipv6Addr>().ok()?, len))
            }),
            IaKind::Na | IaKind::Ta => aw.parse::<Ipv6Addr>().ok().map(|a| (a, 128)),
        };
        let Some((address, prefix_len)) = parsed else {
            let expected = match kind {
                IaKind::Pd => "an IPv6 prefix (ADDRESS/LENGTH)",
                IaKind::Na | IaKind::Ta => "an IPv6 address",
            };
            let why = format!("`{}` is not {expected}", clip(aw));
            return Err(self.err(start + 1, 1, why));
        };
        keys.push((address, prefix_len));
        if !matches!(self.kind(start + 2), Some(Kind::LBrace)) {
            return Err(self.unexpected(start + 2, "`{`"));
        }
        let mut sub = IaSub::new(line, address, prefix_len);
        let mut i = start + 3;
        // Errors inside the sub-block are one level deeper than the helpers say.
        let deeper = |mut e: BlockError| {
            e.depth += 1;
            e
        };
        loop {
            let Some(t) = self.toks.get(i) else {
                return Err(unclosed(line, i, 2));
            };
            let w = match &t.kind {
                Kind::RBrace => return Ok((sub, i + 1)),
                Kind::Semi => {
                    i += 1;
                    continue;
                }
                Kind::Word(w) => *w,
                k => {
                    let why = format!("expected a statement, found {}", describe(k));
                    return Err(self.err(i, 2, why));
                }
            };
            i = match w {
                "binding" => {
                    let j = self.keyword(i + 1, "state").map_err(deeper)?;
                    let (st, next) = self.state(j).map_err(deeper)?;
                    sub.binding_state = Some(st);
                    next
                }
                "preferred-life" | "max-life" => {
                    let (n, next) = self.seconds(i + 1).map_err(deeper)?;
                    if w == "max-life" {
                        sub.max_life = Some(n);
                    } else {
                        sub.preferred_life = Some(n);
                    }
                    next
                }
                "ends" => {
                    let (v, never, next) = self.date(i + 1).map_err(deeper)?;
                    sub.ends = v;
                    sub.ends_never = never;
                    next
                }
                "set" => {
                    let name = self.word(i + 1, "a variable name").map_err(deeper)?;
                    if !matches!(self.kind(i + 2), Some(Kind::Eq)) {
                        return Err(deeper(self.unexpected(i + 2, "`=`")));
                    }
                    let (v, next) = self.set_value(i + 3).map_err(deeper)?;
                    sub.sets.push((name.to_string(), v));
                    next
                }
                _ if t.first && is_top_keyword(w) => return Err(missing_brace(w, t.line, line, i)),
                _ => {
                    sub.notes.push(self.note(i, w));
                    self.skip_statement(i)
                }
            };
        }
    }

    /// A lifetime in seconds (an unsigned 32-bit number), then `;`.
    fn seconds(&self, i: usize) -> PResult<(u32, usize)> {
        let w = self.word(i, "a number of seconds")?;
        let n = w
            .bytes()
            .all(|b| b.is_ascii_digit())
            .then(|| w.parse::<u32>().ok())
            .flatten()
            .ok_or_else(|| self.err(i, 1, format!("invalid lifetime `{}`", clip(w))))?;
        Ok((n, self.semi(i + 1)?))
    }

    /// A statement read but not kept.
    fn note(&self, i: usize, w: &str) -> Note {
        let what = if w == "on" {
            "`on` event statement".to_string()
        } else {
            format!("statement `{}`", clip(w))
        };
        Note {
            line: self.line(i),
            what,
        }
    }
}

fn unclosed(line: usize, pos: usize, depth: usize) -> BlockError {
    BlockError {
        line,
        pos,
        depth,
        why: format!("block opened on line {line} is not closed before end of input"),
    }
}

fn missing_brace(w: &str, at: usize, opened: usize, pos: usize) -> BlockError {
    BlockError {
        line: at,
        pos,
        depth: 0,
        why: format!("`{w}` on line {at} inside the block opened on line {opened}: missing `}}`"),
    }
}

/// How an IA is named in the report: its kind, IAID and DUID.
pub fn ia_what(ia: &IscIa) -> String {
    format!(
        "{} IAID {} DUID {}",
        ia.kind.as_isc(),
        ia.iaid,
        lessor_wire::hex::colon(&ia.duid)
    )
}
