//! Importing a DHCPv4 leases file into a store backend, streamed: `lessor leases import --isc`
//! (ISC `dhcpd.leases`) and `--kea` (Kea `kea-leases4.csv`, whose rows are read as the same
//! lease records, [`crate::kea::KeaLease4::lease`]).
//!
//! The file is read once, one declaration (or row) at a time ([`crate::isc::Reader`],
//! [`crate::kea::Rows4`]): each well-formed lease block is converted ([`crate::to_store::binding4`]) and written at once, in transactions
//! of [`BATCH`] bindings, straight to the [`Backend`] (no in-memory store: the import is for a
//! store no server uses), on a thread of its own so that reading and writing overlap. A later
//! block for the same address replaces the row, so the last block of an address wins, as in
//! dhcpd.
//!
//! What stays in memory is one small entry per address: the outcome of its latest block. At the
//! end, an address whose last block was not imported (malformed, or skipped by the conversion)
//! after an earlier block of this import was written gets its row back as it was before the
//! import (deleted, or the binding the store held rewritten). The outcome is therefore exactly
//! what [`crate::isc::parse`] decides for a whole text, and the report counts only last blocks.
//!
//! An error (the file cannot be read any more, the store fails) stops the import where it is:
//! the transactions written stay.

use std::collections::HashMap;
use std::fmt;
use std::fs::File;
use std::io::{self, BufReader};
use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};
use std::sync::{mpsc, Arc};

use ipnet::Ipv4Net;
use lessor_store::{Backend, Binding4, Change, Change4, State4, StoreError, Timestamp};

use crate::isc::MALFORMED_LEASE;
use crate::isc::{dropped_earlier, Disposition, ImportState, Item, Reader, Skipped};
use crate::kea::lease4::Row4;
use crate::kea::Rows4;
use crate::report::{Report, Wording};
use crate::to_store;

/// Kinds of statements not imported that the report tells apart (a real leases file has a
/// handful); statements of further kinds are counted together as [`OTHER_KINDS`], so the report
/// stays small whatever the input.
pub const MAX_KINDS: usize = 1000;

/// The kind the statements beyond [`MAX_KINDS`] kinds are counted as.
pub const OTHER_KINDS: &str = "other statements (more kinds than the report tells apart)";

/// Bindings written per transaction: large enough that commits cost nothing next to the rows.
pub const BATCH: usize = 50_000;

/// The read buffer: large sequential reads.
const READ_BUFFER: usize = 1 << 20;

/// Why an import stopped.
#[derive(Debug)]
pub enum ImportError {
    /// The leases file could not be read.
    Read { path: PathBuf, error: io::Error },
    /// The store failed.
    Store(StoreError),
    /// The writer stopped before the reading did (its own error says why).
    WriterGone,
}

impl fmt::Display for ImportError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ImportError::Read { path, error } => {
                write!(f, "{}: cannot read: {error}", path.display())
            }
            ImportError::Store(e) => e.fmt(f),
            ImportError::WriterGone => f.write_str("the store writer stopped"),
        }
    }
}

impl std::error::Error for ImportError {}

/// What the leases are imported into and how.
#[derive(Debug, Clone, Copy)]
pub struct Target<'a> {
    /// Each lease goes into the most specific of these containing its address.
    pub subnets: &'a [Ipv4Net],
    /// The current time: an active lease that has ended by then is imported as expired.
    pub now: Timestamp,
}

/// What became of the latest block of an address.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Outcome {
    /// Converted to a binding in `state`; `ended`: active in the file, ended since; `notes`:
    /// what it held that the binding does not keep (a [`Profiles`] id).
    Imported {
        state: State4,
        ended: bool,
        notes: u32,
    },
    /// Well-formed, not converted: the reason (an [`Interner`] id).
    Skipped(u32),
    /// Malformed (reported when read).
    Malformed,
}

/// The latest block of an address.
#[derive(Debug, Clone, Copy)]
struct Entry {
    line: usize,
    outcome: Outcome,
    /// A binding for the address was written by this import (maybe by an earlier block).
    written: bool,
}

/// Texts that recur (skip reasons, kinds of statements not imported), stored once.
#[derive(Default)]
struct Interner {
    ids: HashMap<String, u32>,
    texts: Vec<String>,
}

impl Interner {
    fn id(&mut self, text: &str) -> u32 {
        if let Some(&id) = self.ids.get(text) {
            return id;
        }
        let id = self.texts.len() as u32;
        self.ids.insert(text.to_string(), id);
        self.texts.push(text.to_string());
        id
    }

    /// The id of `text`, or of `other` once there are `max` texts.
    fn id_at_most(&mut self, text: &str, max: usize, other: &str) -> u32 {
        match self.ids.get(text) {
            Some(&id) => id,
            None if self.texts.len() + 1 < max => self.id(text),
            None => self.id(other),
        }
    }

    fn text(&self, id: u32) -> &str {
        &self.texts[id as usize]
    }
}

/// What a block holds that is not imported: (kind of statement, its line minus the block's
/// line) for each statement.
type Profile = Vec<(u32, usize)>;

/// The profiles of blocks, stored once: nearly every block of a file has the same, so an address
/// keeps only the profile's id.
#[derive(Default)]
struct Profiles {
    ids: HashMap<Profile, u32>,
    lists: Vec<Profile>,
}

impl Profiles {
    fn id(&mut self, list: &[(u32, usize)]) -> u32 {
        if let Some(&id) = self.ids.get(list) {
            return id;
        }
        let id = self.lists.len() as u32;
        self.ids.insert(list.to_vec(), id);
        self.lists.push(list.to_vec());
        id
    }
}

fn skip_detail(s: &Skipped) -> String {
    if s.why == s.kind {
        s.what.clone()
    } else {
        format!("{}: {}", s.what, s.why)
    }
}

/// Which DHCPv4 leases file an import reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source4 {
    /// ISC `dhcpd.leases`.
    Isc,
    /// Kea `kea-leases4.csv`.
    Kea,
}

/// Imports the ISC leases file at `path` into `backend`, or only reports what it would import
/// when `backend` is `None` (a dry run). The writes run on a thread of their own, so that
/// reading and writing overlap.
pub fn import_isc(
    path: &Path,
    backend: Option<&mut dyn Backend>,
    target: Target<'_>,
) -> Result<Report, ImportError> {
    import4(path, Source4::Isc, backend, target)
}

/// A Kea row as the item an ISC file would have for it.
fn kea_item(row: io::Result<Row4>) -> io::Result<Item> {
    Ok(match row? {
        Row4::Lease(r) => match r.lease() {
            Ok(l) => Item::Lease(Box::new(l)),
            Err(s) => Item::Skipped(s),
        },
        Row4::Skipped(s) => Item::Skipped(s),
    })
}

/// Imports the DHCPv4 leases file at `path`, of kind `source`, as [`import_isc`] does.
pub fn import4(
    path: &Path,
    source: Source4,
    backend: Option<&mut dyn Backend>,
    target: Target<'_>,
) -> Result<Report, ImportError> {
    let read = |error| ImportError::Read {
        path: path.to_path_buf(),
        error,
    };
    let file = File::open(path).map_err(read)?;
    let reader = BufReader::with_capacity(READ_BUFFER, file);
    let items: Box<dyn Iterator<Item = io::Result<Item>>> = match source {
        Source4::Isc => Box::new(Reader::new(reader)),
        Source4::Kea => Box::new(Rows4::new(reader).map(kea_item)),
    };
    let items = items.map(|i| i.map_err(read));
    let mut report = Report {
        wording: match source {
            Source4::Isc => Wording::Isc4,
            Source4::Kea => Wording::Kea4,
        },
        ..Report::default()
    };
    let Some(backend) = backend else {
        run(items, target, None, &mut report)?;
        return Ok(report);
    };
    let before = load(backend, &mut report)?;
    std::thread::scope(|scope| {
        let (tx, rx) = mpsc::sync_channel::<Vec<Change>>(1);
        let writer = scope.spawn(move || -> Result<(), StoreError> {
            for batch in rx {
                backend.apply(&batch)?;
            }
            Ok(())
        });
        let sequence = before.values().map(|b| b.sequence).max().unwrap_or(0);
        let mut sink = Sink {
            tx,
            changes: Vec::with_capacity(BATCH),
            before: &before,
            sequence,
        };
        let read = run(items, target, Some(&mut sink), &mut report).and_then(|()| sink.flush());
        drop(sink);
        let written = match writer.join() {
            Ok(r) => r.map_err(ImportError::Store),
            Err(panic) => std::panic::resume_unwind(panic),
        };
        // A write error stops the reading too (as `WriterGone`): report the write error.
        written.and(read)
    })?;
    Ok(report)
}

/// The bindings the store holds before the import.
fn load(
    backend: &mut dyn Backend,
    report: &mut Report,
) -> Result<HashMap<Ipv4Addr, Arc<Binding4>>, ImportError> {
    let loaded = backend.load().map_err(ImportError::Store)?;
    for s in &loaded.skipped {
        report
            .warnings
            .push(format!("store: unreadable row left as it is: {s}"));
    }
    Ok(loaded
        .v4
        .bindings
        .into_iter()
        .map(|b| (b.address, Arc::new(b)))
        .collect())
}

/// Reads every item, hands the bindings to `sink` and fills `report`.
fn run(
    items: impl Iterator<Item = Result<Item, ImportError>>,
    target: Target<'_>,
    mut sink: Option<&mut Sink<'_>>,
    report: &mut Report,
) -> Result<(), ImportError> {
    let mut entries: HashMap<Ipv4Addr, Entry> = HashMap::new();
    let mut reasons = Interner::default();
    let mut kinds = Interner::default();
    let mut profiles = Profiles::default();
    let mut list = Vec::new();
    for item in items {
        match item? {
            Item::Lease(l) => {
                report.lease_blocks += 1;
                let outcome = match to_store::binding4(&l, target.subnets, target.now) {
                    Ok(b) => {
                        let ended = b.state == State4::Expired
                            && l.disposition() == Disposition::Import(ImportState::Active);
                        list.clear();
                        to_store::not_imported(&l, &b, |line, kind| {
                            let kind = kinds.id_at_most(kind, MAX_KINDS, OTHER_KINDS);
                            list.push((kind, line.saturating_sub(l.line)));
                        });
                        let state = b.state;
                        if let Some(s) = sink.as_deref_mut() {
                            s.import(b)?;
                        }
                        Outcome::Imported {
                            state,
                            ended,
                            notes: profiles.id(&list),
                        }
                    }
                    Err(why) => Outcome::Skipped(reasons.id(&why.0)),
                };
                let written = sink.is_some() && matches!(outcome, Outcome::Imported { .. });
                entries
                    .entry(l.address)
                    .and_modify(|e| {
                        e.line = l.line;
                        e.outcome = outcome;
                        e.written |= written;
                    })
                    .or_insert(Entry {
                        line: l.line,
                        outcome,
                        written,
                    });
            }
            // A DHCPv4 reader reports IA blocks as skipped.
            Item::Ia(_) => {}
            Item::Skipped(mut s) => {
                // Every item of a CSV file is a row.
                if s.kind == MALFORMED_LEASE || report.wording == Wording::Kea4 {
                    report.lease_blocks += 1;
                } else {
                    report.other_items += 1;
                }
                if let Some(a) = s.address {
                    let e = entries.entry(a).or_insert(Entry {
                        line: s.line,
                        outcome: Outcome::Malformed,
                        written: false,
                    });
                    if e.outcome != Outcome::Malformed {
                        s.why.push_str(&dropped_earlier(e.line));
                    }
                    e.line = s.line;
                    e.outcome = Outcome::Malformed;
                }
                report.skipped.add(s.kind, s.line, || skip_detail(&s));
            }
        }
    }
    report.addresses = entries.len() as u64;

    // The last block of each address decides; undo what earlier blocks wrote where it is not
    // imported.
    let mut skipped = Vec::new();
    let mut notes: HashMap<u32, (u64, usize)> = HashMap::new();
    let mut replaced = 0;
    for (&address, e) in &entries {
        match e.outcome {
            Outcome::Imported {
                state,
                ended,
                notes: list,
            } => {
                *report.imported.entry(state.as_str()).or_default() += 1;
                report.ended_since += u64::from(ended);
                let n = notes.entry(list).or_insert((0, e.line));
                n.0 += 1;
                n.1 = n.1.min(e.line);
                if sink
                    .as_ref()
                    .is_some_and(|s| s.before.contains_key(&address))
                {
                    replaced += 1;
                }
            }
            Outcome::Skipped(reason) => skipped.push((e.line, reason, address)),
            Outcome::Malformed => {}
        }
        if e.written && !matches!(e.outcome, Outcome::Imported { .. }) {
            if let Some(s) = sink.as_deref_mut() {
                s.restore(address)?;
            }
        }
    }
    skipped.sort_unstable();
    for (line, reason, address) in skipped {
        report
            .skipped
            .add(reasons.text(reason), line, || format!("lease {address}"));
    }
    let mut per_kind: HashMap<u32, (u64, usize)> = HashMap::new();
    for (list, (count, line)) in notes {
        for &(kind, offset) in &profiles.lists[list as usize] {
            let k = per_kind.entry(kind).or_insert((0, line + offset));
            k.0 += count;
            k.1 = k.1.min(line + offset);
        }
    }
    let mut per_kind: Vec<(usize, u32, u64)> = per_kind
        .into_iter()
        .map(|(kind, (count, line))| (line, kind, count))
        .collect();
    per_kind.sort_unstable();
    for (line, kind, count) in per_kind {
        report.not_imported.add_n(kinds.text(kind), line, count);
    }
    if sink.is_some() {
        report.replaced = Some(replaced);
    }
    Ok(())
}

/// Hands changes to the writer thread in transactions of [`BATCH`].
struct Sink<'b> {
    tx: mpsc::SyncSender<Vec<Change>>,
    changes: Vec<Change>,
    /// The bindings the store held before the import.
    before: &'b HashMap<Ipv4Addr, Arc<Binding4>>,
    /// The transaction order the next imported binding gets: the file's order, after what the
    /// store held (the store's writes would give the same).
    sequence: u64,
}

impl Sink<'_> {
    /// Writes an imported binding as the store's own write would: with the time its state
    /// began and the next place in the transaction order (the import bypasses the store's
    /// batch, which sets both).
    fn import(&mut self, mut b: Binding4) -> Result<(), ImportError> {
        b.state_since = b.implied_state_since();
        self.sequence += 1;
        b.sequence = self.sequence;
        self.push(Change::V4(Change4::Upsert(Arc::new(b))))
    }

    fn push(&mut self, change: Change) -> Result<(), ImportError> {
        self.changes.push(change);
        if self.changes.len() >= BATCH {
            self.flush()?;
        }
        Ok(())
    }

    /// Puts `address` back as it was before the import.
    fn restore(&mut self, address: Ipv4Addr) -> Result<(), ImportError> {
        let change = match self.before.get(&address) {
            Some(b) => Change::V4(Change4::Upsert(b.clone())),
            None => Change::V4(Change4::Delete(address)),
        };
        self.push(change)
    }

    fn flush(&mut self) -> Result<(), ImportError> {
        if self.changes.is_empty() {
            return Ok(());
        }
        let batch = std::mem::replace(&mut self.changes, Vec::with_capacity(BATCH));
        // The writer stopped: its error is what to report.
        self.tx.send(batch).map_err(|_| ImportError::WriterGone)
    }
}

#[cfg(test)]
mod tests;
