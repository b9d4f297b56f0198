//! Reading a DHCPv6 lease file of another server into bindings: `lessor leases import --isc6`
//! (`dhcpd6.leases`) and `--kea6` (`kea-leases6.csv`).
//!
//! Both files are append logs: the file is read once, as a stream, each lease converted
//! ([`crate::to_store6::binding6`]) as it is read, and the last record of each address or
//! prefix wins; a malformed last record (or Kea's record of a deletion) drops the earlier ones
//! for it. What stays in memory is one binding per address or prefix, what the store holds
//! after the import anyway. The caller writes them ([`Outcome6::bindings`]).

use std::collections::HashMap;
use std::io::{self, BufRead};
use std::net::Ipv6Addr;

use lessor_store::{Binding6, Key6, State6, Timestamp};

use crate::isc::parser6::ia_what;
use crate::isc::{dropped_earlier, Family, Item, Note, Reader, Skipped, IA_TA, MALFORMED_IA};
use crate::kea::lease6::{Row6, MALFORMED_ROW};
use crate::kea::Rows6;
use crate::lease6::{Lease6, Standing};
use crate::report::{Report, Wording};
use crate::stream::{MAX_KINDS, OTHER_KINDS};
use crate::to_store6::{binding6, LinkTarget};

/// What the leases are imported into and when.
#[derive(Debug, Clone, Copy)]
pub struct Target6<'a> {
    /// The links bindings are put on.
    pub links: &'a [LinkTarget],
    /// The current time: an active lease that has ended by then is imported as expired.
    pub now: Timestamp,
}

/// The bindings of a file and the report.
#[derive(Debug, Clone, Default)]
pub struct Outcome6 {
    /// One per address or prefix, in the file order of their last record.
    pub bindings: Vec<Binding6>,
    /// What was read and skipped; `imported` counts `bindings` per state.
    pub report: Report,
}

/// The last record of an address or prefix.
#[derive(Debug)]
enum Last {
    /// `ended`: active in the file, its valid lifetime over since; `notes`: what it held that
    /// the binding does not keep.
    Imported {
        line: usize,
        binding: Box<Binding6>,
        ended: bool,
        notes: Vec<Note>,
    },
    /// Well-formed, not converted: the line, the reason and what it is.
    Skipped {
        line: usize,
        why: String,
        what: String,
    },
    /// Malformed or deleted (reported when read).
    Dropped,
}

impl Last {
    fn line(&self) -> Option<usize> {
        match self {
            Last::Imported { line, .. } | Last::Skipped { line, .. } => Some(*line),
            Last::Dropped => None,
        }
    }
}

/// Keeps the last record per address or prefix and fills the report.
struct Collector<'a> {
    target: Target6<'a>,
    last: HashMap<Key6, Last>,
    report: Report,
}

fn key(address: Ipv6Addr, prefix_len: u8) -> Key6 {
    Key6::new(address, prefix_len)
}

impl<'a> Collector<'a> {
    fn new(target: Target6<'a>, wording: Wording) -> Self {
        Collector {
            target,
            last: HashMap::new(),
            report: Report {
                wording,
                ..Report::default()
            },
        }
    }

    fn lease(&mut self, l: Lease6) {
        let k = key(l.address, l.prefix_len);
        let last = match binding6(&l, self.target.links, self.target.now) {
            Ok(b) => Last::Imported {
                line: l.line,
                ended: l.standing == Standing::Active && b.state == State6::Expired,
                binding: Box::new(b),
                notes: l.notes,
            },
            Err(why) => Last::Skipped {
                line: l.line,
                why: why.0,
                what: describe(l.address, l.prefix_len),
            },
        };
        self.last.insert(k, last);
    }

    /// A record that is no lease; `keys` are the addresses/prefixes it drops.
    fn skipped(&mut self, mut s: Skipped) {
        let mut noted = false;
        for &(a, len) in &s.v6_keys {
            if let Some(prev) = self.last.insert(key(a, len), Last::Dropped) {
                if let (Some(line), false) = (prev.line(), noted) {
                    s.why.push_str(&dropped_earlier(line));
                    noted = true;
                }
            }
        }
        // The reason is the kind's text unless it says more.
        let why = if s.why == s.kind { "" } else { &s.why };
        add_bounded(&mut self.report.skipped, s.kind, s.line, || {
            detail(&s.what, why)
        });
    }

    fn finish(self) -> Outcome6 {
        let mut report = self.report;
        report.addresses = self.last.len() as u64;
        let mut imported = Vec::new();
        let mut skipped = Vec::new();
        for last in self.last.into_values() {
            match last {
                Last::Imported {
                    line,
                    binding,
                    ended,
                    notes,
                } => imported.push((line, binding, ended, notes)),
                Last::Skipped { line, why, what } => skipped.push((line, why, what)),
                Last::Dropped => {}
            }
        }
        imported.sort_by_key(|i| i.0);
        skipped.sort();
        for (line, why, what) in skipped {
            add_bounded(&mut report.skipped, &why, line, || what.clone());
        }
        let mut notes: Vec<(usize, String)> = Vec::new();
        let mut bindings = Vec::with_capacity(imported.len());
        for (_, b, ended, n) in imported {
            *report.imported.entry(b.state.as_str()).or_default() += 1;
            report.ended_since += u64::from(ended);
            notes.extend(n.into_iter().map(|n| (n.line, n.what)));
            bindings.push(*b);
        }
        notes.sort();
        for (line, what) in notes {
            add_bounded(&mut report.not_imported, &what, line, String::new);
        }
        Outcome6 { bindings, report }
    }
}

/// Adds to a tally, counting kinds beyond [`MAX_KINDS`] together.
fn add_bounded(
    t: &mut crate::report::Tally,
    kind: &str,
    line: usize,
    detail: impl FnOnce() -> String,
) {
    let kind = if t.get(kind).is_none() && t.kinds() + 1 >= MAX_KINDS {
        OTHER_KINDS
    } else {
        kind
    };
    t.add(kind, line, detail);
}

fn describe(address: Ipv6Addr, prefix_len: u8) -> String {
    if prefix_len == 128 {
        address.to_string()
    } else {
        format!("{address}/{prefix_len}")
    }
}

fn detail(what: &str, why: &str) -> String {
    if why.is_empty() {
        what.to_string()
    } else {
        format!("{what}: {why}")
    }
}

/// The bindings of an ISC `dhcpd6.leases`.
pub fn isc6(reader: impl BufRead, target: Target6<'_>) -> io::Result<Outcome6> {
    let mut c = Collector::new(target, Wording::Isc6);
    for item in Reader::with_family(reader, Family::V6) {
        match item? {
            Item::Ia(ia) => {
                c.report.lease_blocks += 1;
                for l in ia.leases() {
                    match l {
                        Ok(l) => c.lease(l),
                        Err(s) => {
                            c.last.insert(
                                key(s.address, s.prefix_len),
                                Last::Skipped {
                                    line: s.line,
                                    why: s.why.to_string(),
                                    what: format!(
                                        "{} in {}",
                                        describe(s.address, s.prefix_len),
                                        ia_what(&ia)
                                    ),
                                },
                            );
                        }
                    }
                }
            }
            Item::Skipped(s) => {
                if s.kind == MALFORMED_IA || s.kind == IA_TA {
                    c.report.lease_blocks += 1;
                } else {
                    c.report.other_items += 1;
                }
                c.skipped(s);
            }
            // A DHCPv6 reader reports `lease` blocks as skipped.
            Item::Lease(_) => {}
        }
    }
    Ok(c.finish())
}

/// The bindings of a Kea `kea-leases6.csv`.
pub fn kea6(reader: impl BufRead, target: Target6<'_>) -> io::Result<Outcome6> {
    let mut c = Collector::new(target, Wording::Kea);
    for row in Rows6::new(reader) {
        c.report.lease_blocks += 1;
        match row? {
            Row6::Lease(r) => match r.lease() {
                Ok(l) => c.lease(l),
                Err((kind, why)) => {
                    let why = if why == kind { String::new() } else { why };
                    c.skipped(Skipped {
                        line: r.line,
                        what: format!("row {}", describe(r.address, r.prefix_len)),
                        why,
                        kind,
                        address: None,
                        v6_keys: vec![(r.address, r.prefix_len)],
                    });
                }
            },
            Row6::Skipped(s) => {
                debug_assert_eq!(s.kind, MALFORMED_ROW);
                c.skipped(s);
            }
        }
    }
    Ok(c.finish())
}

#[cfg(test)]
mod tests;
