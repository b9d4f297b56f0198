//! [`SharedMemory`]: a lease set shared by several stores in one process, the reference of
//! what a backend shared by several servers does (docs/protocol.md decision 43).
//!
//! It implements exactly the rules a PostgreSQL backend enforces, so that two [`crate::Store`]s
//! opened on one `SharedMemory` behave like two servers on one database, and tests can check
//! the store's side (guards, refusals, following) without a database:
//! - each change's [`Guard`] is checked in order inside the group's "transaction" (one lock);
//!   a batch with one failing guard is refused whole ([`Applied::refused`]), the others kept;
//! - a delete leaves a tombstone (numbered [`Guard::sequence`]) that later guards compare
//!   against; [`Backend::load`] never returns tombstones;
//! - every row written is stamped with the next revision (one counter, commit order) and its
//!   writer's node name; a node's [`Follower`] returns the rows other nodes wrote with a
//!   revision above the last it returned (tombstones included), in revision order, starting
//!   where that node's load ended;
//! - meta rows are per node;
//! - each node has its own [`Backend::writer_id`] (1, 2, ... in order of first use).
//!
//! Test hooks make the follower or commits fail ([`SharedMemory::fail_follows`],
//! [`SharedMemory::fail_commits`]), followers lag ([`SharedMemory::pause_follows`]) or one
//! node's commits wait ([`SharedMemory::hold_commits`]).

use std::collections::{BTreeMap, HashMap};
use std::net::Ipv4Addr;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use crate::backend::{Applied, Backend, Follower, Group, Guard, Loaded, Remote};
use crate::change::Change;
use crate::error::StoreError;
use crate::record::Record;
use crate::v4::{Change4, Loaded4};
use crate::v6::{Change6, Loaded6};
use crate::{Binding4, Binding6, Key6};

/// One row: the binding (`None`: a tombstone), its number, when and by whom it was written.
#[derive(Debug, Clone)]
struct Row<R> {
    value: Option<Arc<R>>,
    sequence: u64,
    revision: u64,
    writer: Arc<str>,
}

#[derive(Debug, Default)]
struct Db {
    v4: HashMap<u32, Row<Binding4>>,
    v6: HashMap<Key6, Row<Binding6>>,
    meta: BTreeMap<(String, String), String>,
    /// The last revision stamped.
    revision: u64,
    fail_follows: u64,
    fail_commits: u64,
    /// The writer id of each node ([`Backend::writer_id`]), in order of first use.
    nodes: Vec<String>,
    /// While set, followers return nothing (a feed that lags).
    follows_paused: bool,
    /// Nodes whose commits wait (a transaction in flight).
    held: std::collections::HashSet<String>,
}

/// A key's state while a batch is checked: whether a live row is there, and its number.
type Seen = Option<(bool, u64)>;

/// Whether `guard` holds over the row `seen` (the guard rule of docs/protocol.md decision 43).
fn holds(seen: Seen, guard: Guard) -> bool {
    match (guard.based_on, seen) {
        (0, None) => true,
        (0, Some((live, seq))) => !live && seq < guard.sequence,
        (s, Some((_, seq))) => seq == s,
        (_, None) => false,
    }
}

/// The key a change writes, and the row it leaves.
enum Key {
    V4(u32),
    V6(Key6),
}

fn key_of(change: &Change) -> (Key, bool) {
    match change {
        Change::V4(Change4::Upsert(b)) => (Key::V4(u32::from(b.address)), true),
        Change::V4(Change4::Delete(a)) => (Key::V4(u32::from(*a)), false),
        Change::V6(Change6::Upsert(b)) => (Key::V6(b.key()), true),
        Change::V6(Change6::Delete(k)) => (Key::V6(*k), false),
    }
}

impl Db {
    fn seen(&self, key: &Key) -> Seen {
        match key {
            Key::V4(k) => self.v4.get(k).map(|r| (r.value.is_some(), r.sequence)),
            Key::V6(k) => self.v6.get(k).map(|r| (r.value.is_some(), r.sequence)),
        }
    }

    /// Whether every guard of a batch holds, each change seeing the ones before it.
    fn check(&self, changes: &[Change], guards: &[Guard]) -> bool {
        let mut v4: HashMap<u32, Seen> = HashMap::new();
        let mut v6: HashMap<Key6, Seen> = HashMap::new();
        for (change, guard) in changes.iter().zip(guards) {
            let (key, live) = key_of(change);
            let seen = match &key {
                Key::V4(k) => v4.get(k).copied().unwrap_or_else(|| self.seen(&key)),
                Key::V6(k) => v6.get(k).copied().unwrap_or_else(|| self.seen(&key)),
            };
            if !holds(seen, *guard) {
                return false;
            }
            let after = Some((live, guard.sequence));
            match key {
                Key::V4(k) => v4.insert(k, after),
                Key::V6(k) => v6.insert(k, after),
            };
        }
        true
    }

    /// Writes one change as `writer`, stamped with the next revision. A binding that is not
    /// durable writes nothing (as the SQLite backend).
    fn write(&mut self, change: &Change, sequence: u64, writer: &Arc<str>) {
        self.revision += 1;
        let revision = self.revision;
        match change {
            Change::V4(Change4::Upsert(b)) if b.state.is_durable() => {
                let row = Row {
                    value: Some(b.clone()),
                    sequence,
                    revision,
                    writer: writer.clone(),
                };
                self.v4.insert(u32::from(b.address), row);
            }
            Change::V4(Change4::Delete(a)) => {
                let row = Row {
                    value: None,
                    sequence,
                    revision,
                    writer: writer.clone(),
                };
                self.v4.insert(u32::from(*a), row);
            }
            Change::V6(Change6::Upsert(b)) if b.state.is_durable() => {
                let row = Row {
                    value: Some(b.clone()),
                    sequence,
                    revision,
                    writer: writer.clone(),
                };
                self.v6.insert(b.key(), row);
            }
            Change::V6(Change6::Delete(k)) => {
                let row = Row {
                    value: None,
                    sequence,
                    revision,
                    writer: writer.clone(),
                };
                self.v6.insert(*k, row);
            }
            Change::V4(_) | Change::V6(_) => {}
        }
    }

    /// Rows written by others than `node` after revision `after`, in revision order.
    fn since(&self, after: u64, node: &str) -> Vec<(u64, Remote)> {
        let mut out: Vec<(u64, Remote)> = Vec::new();
        for (k, r) in &self.v4 {
            if r.revision > after && &*r.writer != node {
                let remote = match &r.value {
                    Some(b) => Remote::V4((**b).clone()),
                    None => Remote::V4Gone {
                        address: Ipv4Addr::from(*k),
                        sequence: r.sequence,
                    },
                };
                out.push((r.revision, remote));
            }
        }
        for (k, r) in &self.v6 {
            if r.revision > after && &*r.writer != node {
                let remote = match &r.value {
                    Some(b) => Remote::V6((**b).clone()),
                    None => Remote::V6Gone {
                        key: *k,
                        sequence: r.sequence,
                    },
                };
                out.push((r.revision, remote));
            }
        }
        out.sort_by_key(|(rev, _)| *rev);
        out
    }
}

#[derive(Debug, Default)]
struct Inner {
    db: Mutex<Db>,
    /// Notified after every commit (PostgreSQL's NOTIFY).
    committed: Condvar,
}

/// A lease set in memory that several stores share (see the module documentation). Cloning
/// gives another handle on the same lease set.
#[derive(Debug, Clone, Default)]
pub struct SharedMemory {
    inner: Arc<Inner>,
}

impl SharedMemory {
    /// An empty lease set.
    pub fn new() -> SharedMemory {
        SharedMemory::default()
    }

    /// A backend for the server named `node` (its writes are stamped with it; its follower
    /// skips them).
    pub fn backend(&self, node: &str) -> SharedMemoryBackend {
        let mut db = self.db();
        let id = match db.nodes.iter().position(|n| n == node) {
            Some(i) => i,
            None => {
                db.nodes.push(node.to_string());
                db.nodes.len() - 1
            }
        };
        drop(db);
        SharedMemoryBackend {
            shared: self.clone(),
            node: node.into(),
            id: u16::try_from(id + 1).unwrap_or(u16::MAX),
            loaded: 0,
        }
    }

    /// The next `n` calls to any follower of this lease set fail (a database that went away).
    pub fn fail_follows(&self, n: u64) {
        self.db().fail_follows = n;
    }

    /// The next `n` commits (group commits and meta writes) fail, writing nothing.
    pub fn fail_commits(&self, n: u64) {
        self.db().fail_commits = n;
    }

    /// While `paused`, every follower returns nothing (as a feed that lags); resuming lets
    /// them deliver everything since.
    pub fn pause_follows(&self, paused: bool) {
        self.db().follows_paused = paused;
        self.inner.committed.notify_all();
    }

    /// While `held`, the commits of `node` wait before taking the lease set's lock (its
    /// changes stay in flight); releasing lets them run.
    pub fn hold_commits(&self, node: &str, held: bool) {
        let mut db = self.db();
        if held {
            db.held.insert(node.to_string());
        } else {
            db.held.remove(node);
        }
        drop(db);
        self.inner.committed.notify_all();
    }

    /// The live DHCPv4 binding of `address` as the lease set holds it.
    pub fn get4(&self, address: Ipv4Addr) -> Option<Arc<Binding4>> {
        self.db().v4.get(&u32::from(address))?.value.clone()
    }

    /// The live DHCPv6 binding of `key`.
    pub fn get6(&self, key: Key6) -> Option<Arc<Binding6>> {
        self.db().v6.get(&key)?.value.clone()
    }

    /// The tombstone number of a deleted DHCPv4 binding, if its row is a tombstone.
    pub fn tombstone4(&self, address: Ipv4Addr) -> Option<u64> {
        let db = self.db();
        let row = db.v4.get(&u32::from(address))?;
        row.value.is_none().then_some(row.sequence)
    }

    fn db(&self) -> MutexGuard<'_, Db> {
        self.inner.db.lock().unwrap_or_else(|p| p.into_inner())
    }
}

fn failure(what: &str) -> StoreError {
    StoreError::db(
        what,
        std::io::Error::other("the shared lease set is unreachable (test)"),
    )
}

/// One server's view of a [`SharedMemory`] ([`SharedMemory::backend`]).
#[derive(Debug)]
pub struct SharedMemoryBackend {
    shared: SharedMemory,
    node: Arc<str>,
    id: u16,
    /// The revision the load ended at.
    loaded: u64,
}

impl Backend for SharedMemoryBackend {
    fn load(&mut self) -> Result<Loaded, StoreError> {
        let db = self.shared.db();
        self.loaded = db.revision;
        let v4 = db
            .v4
            .values()
            .filter_map(|r| r.value.as_ref().map(|b| (**b).clone()))
            .collect();
        let v6 = db
            .v6
            .values()
            .filter_map(|r| r.value.as_ref().map(|b| (**b).clone()))
            .collect();
        let meta = db
            .meta
            .iter()
            .filter(|((node, _), _)| **node == *self.node)
            .map(|((_, k), v)| (k.clone(), v.clone()))
            .collect();
        Ok(Loaded {
            v4: Loaded4 { bindings: v4 },
            v6: Loaded6 { bindings: v6 },
            skipped: Vec::new(),
            meta,
        })
    }

    /// Unguarded writes (a tool's import): each change numbered as its record, a delete's
    /// tombstone above the row it replaces.
    fn apply(&mut self, changes: &[Change]) -> Result<(), StoreError> {
        let mut db = self.shared.db();
        if db.fail_commits > 0 {
            db.fail_commits -= 1;
            return Err(failure("commit"));
        }
        for change in changes {
            let sequence = match change {
                Change::V4(Change4::Upsert(b)) => b.sequence,
                Change::V6(Change6::Upsert(b)) => b.sequence,
                _ => db.seen(&key_of(change).0).map_or(0, |(_, s)| s) + 1,
            };
            db.write(change, sequence, &self.node);
        }
        drop(db);
        self.shared.inner.committed.notify_all();
        Ok(())
    }

    fn set_meta(&mut self, key: &str, value: &str) -> Result<(), StoreError> {
        let mut db = self.shared.db();
        if db.fail_commits > 0 {
            db.fail_commits -= 1;
            return Err(failure("set meta"));
        }
        db.meta
            .insert((self.node.to_string(), key.to_string()), value.to_string());
        Ok(())
    }

    fn apply_group(&mut self, group: &Group<'_>) -> Result<Applied, StoreError> {
        let mut db = self.shared.db();
        while db.held.contains(&*self.node) {
            db = self
                .shared
                .inner
                .committed
                .wait(db)
                .unwrap_or_else(|p| p.into_inner());
        }
        if db.fail_commits > 0 {
            db.fail_commits -= 1;
            return Err(failure("commit"));
        }
        let mut applied = Applied::default();
        for (i, range) in group.batches().enumerate() {
            let changes = &group.changes[range.clone()];
            let guards = &group.guards[range];
            if !db.check(changes, guards) {
                applied.refused.push(i);
                continue;
            }
            for (change, guard) in changes.iter().zip(guards) {
                db.write(change, guard.sequence, &self.node);
            }
        }
        drop(db);
        self.shared.inner.committed.notify_all();
        Ok(applied)
    }

    fn writer_id(&self) -> Option<u16> {
        Some(self.id)
    }

    fn follower(&mut self) -> Result<Option<Box<dyn Follower>>, StoreError> {
        Ok(Some(Box::new(SharedMemoryFollower {
            shared: self.shared.clone(),
            node: self.node.clone(),
            last: self.loaded,
        })))
    }
}

/// The feed of one node ([`Backend::follower`] of a [`SharedMemoryBackend`]).
#[derive(Debug)]
struct SharedMemoryFollower {
    shared: SharedMemory,
    node: Arc<str>,
    last: u64,
}

impl Follower for SharedMemoryFollower {
    fn next(&mut self, timeout: Duration) -> Result<Vec<Remote>, StoreError> {
        let until = Instant::now() + timeout;
        let mut db = self.shared.db();
        if db.fail_follows > 0 {
            db.fail_follows -= 1;
            return Err(failure("follow"));
        }
        loop {
            if !db.follows_paused {
                let rows = db.since(self.last, &self.node);
                // Past this node's own rows too: they are never returned.
                let head = db.revision;
                if !rows.is_empty() || head > self.last {
                    self.last = head;
                    return Ok(rows.into_iter().map(|(_, r)| r).collect());
                }
            }
            let left = until.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Ok(Vec::new());
            }
            db = self
                .shared
                .inner
                .committed
                .wait_timeout(db, left)
                .unwrap_or_else(|p| p.into_inner())
                .0;
        }
    }
}
