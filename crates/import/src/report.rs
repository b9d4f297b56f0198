//! What an import did: counts per binding state, and everything not imported grouped by kind,
//! each kind with its count and the lines of its first occurrences.

use std::collections::{BTreeMap, HashMap};
use std::fmt;

/// How many occurrences of one kind a report lists line by line.
pub const EXAMPLES: usize = 10;

/// The occurrences of one kind.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Group {
    /// The kind, e.g. `outside every configured subnet` or `option domain-name`.
    pub kind: String,
    pub count: u64,
    /// The first [`EXAMPLES`] occurrences: line and what is there (may be empty).
    pub examples: Vec<(usize, String)>,
}

impl Group {
    /// The line of the first occurrence.
    pub fn first_line(&self) -> usize {
        self.examples.first().map_or(0, |e| e.0)
    }
}

/// Occurrences counted per kind, in order of first appearance.
#[derive(Debug, Clone, Default)]
pub struct Tally {
    groups: Vec<Group>,
    index: HashMap<String, usize>,
}

impl Tally {
    /// Counts one occurrence of `kind` on `line`; `detail` is called only for the first
    /// [`EXAMPLES`] of a kind.
    pub fn add(&mut self, kind: &str, line: usize, detail: impl FnOnce() -> String) {
        let i = match self.index.get(kind) {
            Some(&i) => i,
            None => {
                self.index.insert(kind.to_string(), self.groups.len());
                self.groups.push(Group {
                    kind: kind.to_string(),
                    count: 0,
                    examples: Vec::new(),
                });
                self.groups.len() - 1
            }
        };
        let g = &mut self.groups[i];
        g.count += 1;
        if g.examples.len() < EXAMPLES {
            g.examples.push((line, detail()));
        }
    }

    /// Counts `n` occurrences of `kind`, the first on `line` (no detail).
    pub fn add_n(&mut self, kind: &str, line: usize, n: u64) {
        if n == 0 {
            return;
        }
        self.add(kind, line, String::new);
        if let Some(&i) = self.index.get(kind) {
            self.groups[i].count += n - 1;
        }
    }

    /// Every occurrence of every kind.
    pub fn total(&self) -> u64 {
        self.groups.iter().map(|g| g.count).sum()
    }

    /// The groups, by the line of their first occurrence.
    pub fn groups(&self) -> Vec<&Group> {
        let mut g: Vec<&Group> = self.groups.iter().collect();
        g.sort_by_key(|g| g.first_line());
        g
    }

    /// How many kinds there are.
    pub fn kinds(&self) -> usize {
        self.groups.len()
    }

    /// The group of `kind`.
    pub fn get(&self, kind: &str) -> Option<&Group> {
        self.index.get(kind).map(|&i| &self.groups[i])
    }
}

/// Which file a report is about, for its wording.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Wording {
    /// ISC `dhcpd.leases`: `lease` blocks.
    #[default]
    Isc4,
    /// ISC `dhcpd6.leases`: `ia-na`/`ia-pd` blocks.
    Isc6,
    /// Kea's CSV: rows.
    Kea,
    /// Kea's `kea-leases4.csv`: rows, each for an address.
    Kea4,
}

/// The outcome of importing one leases file.
#[derive(Debug, Clone, Default)]
pub struct Report {
    pub wording: Wording,
    /// `lease` blocks in the file, well-formed or not (an address may have several); IA blocks
    /// of a DHCPv6 file; rows of a CSV file.
    pub lease_blocks: u64,
    /// Addresses named by lease blocks (and prefixes, for DHCPv6).
    pub addresses: u64,
    /// Top-level items other than lease blocks (metadata, DHCPv6, `host`, stray tokens...).
    pub other_items: u64,
    /// Bindings imported, per store state name.
    pub imported: BTreeMap<&'static str, u64>,
    /// Leases active in the file whose `ends` has passed: imported as expired.
    pub ended_since: u64,
    /// Bindings that replaced one already in the store; `None` when nothing was written.
    pub replaced: Option<u64>,
    /// What was not imported at all, per reason.
    pub skipped: Tally,
    /// What the imported leases held that the bindings do not keep, per kind of statement.
    pub not_imported: Tally,
    /// Problems that did not stop the import (unreadable rows of the store, a file that changed
    /// while it was read).
    pub warnings: Vec<String>,
}

impl Report {
    /// Bindings imported (or, in a dry run, that would be).
    pub fn imported_total(&self) -> u64 {
        self.imported.values().sum()
    }
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.wording {
            Wording::Isc4 => writeln!(
                f,
                "{} lease block(s) for {} address(es) (the last block of an address wins), {} \
                 other item(s)",
                self.lease_blocks, self.addresses, self.other_items
            )?,
            Wording::Isc6 => writeln!(
                f,
                "{} IA block(s) for {} address(es) and prefix(es) (the last block of each wins), \
                 {} other item(s)",
                self.lease_blocks, self.addresses, self.other_items
            )?,
            Wording::Kea4 => writeln!(
                f,
                "{} row(s) for {} address(es) (the last row of an address wins)",
                self.lease_blocks, self.addresses
            )?,
            Wording::Kea => writeln!(
                f,
                "{} row(s) for {} address(es) and prefix(es) (the last row of each wins)",
                self.lease_blocks, self.addresses
            )?,
        }
        if self.ended_since > 0 {
            writeln!(
                f,
                "{} lease(s) active in the file have ended since: imported as expired",
                self.ended_since
            )?;
        }
        let verb = if self.replaced.is_some() {
            "imported"
        } else {
            "would import"
        };
        let states: Vec<String> = self
            .imported
            .iter()
            .map(|(s, n)| format!("{n} {s}"))
            .collect();
        if states.is_empty() {
            writeln!(f, "{verb} 0")?;
        } else {
            writeln!(f, "{verb} {}: {}", self.imported_total(), states.join(", "))?;
        }
        writeln!(f, "skipped {}", self.skipped.total())?;
        for g in self.skipped.groups() {
            writeln!(f, "  {}: {}", g.kind, g.count)?;
            for (line, what) in &g.examples {
                writeln!(f, "    line {line}: {what}")?;
            }
            if g.count > g.examples.len() as u64 {
                writeln!(f, "    ... and {} more", g.count - g.examples.len() as u64)?;
            }
        }
        let total = self.not_imported.total();
        if total > 0 {
            writeln!(
                f,
                "not imported from the leases imported ({total} statement(s); kind: count, first \
                 line):"
            )?;
            for g in self.not_imported.groups() {
                writeln!(
                    f,
                    "  {}: {}, first on line {}",
                    g.kind,
                    g.count,
                    g.first_line()
                )?;
            }
        }
        for w in &self.warnings {
            writeln!(f, "warning: {w}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tally_counts_per_kind_with_first_examples() {
        let mut t = Tally::default();
        for line in 0..25 {
            t.add("b", 100 + line, || format!("x{line}"));
        }
        t.add("a", 7, String::new);
        assert_eq!(t.total(), 26);
        let g = t.groups();
        assert_eq!(g[0].kind, "a");
        assert_eq!((g[1].count, g[1].examples.len()), (25, EXAMPLES));
        assert_eq!(g[1].examples[9], (109, "x9".to_string()));
    }

    #[test]
    fn display() {
        let mut r = Report {
            lease_blocks: 3,
            addresses: 2,
            other_items: 1,
            replaced: Some(0),
            ..Report::default()
        };
        r.imported.insert("active", 2);
        r.skipped.add("server DUID", 2, || "server-duid".into());
        for l in [9, 19] {
            r.not_imported.add("option domain-name", l, String::new);
        }
        assert_eq!(
            r.to_string(),
            "3 lease block(s) for 2 address(es) (the last block of an address wins), 1 other \
             item(s)\nimported 2: 2 active\nskipped 1\n  server DUID: 1\n    line 2: \
             server-duid\nnot imported from the leases imported (2 statement(s); kind: count, \
             first line):\n  option domain-name: 2, first on line 9\n"
        );
    }
}
