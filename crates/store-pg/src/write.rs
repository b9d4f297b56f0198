//! Group commits: the guard rule of a shared lease set ([`lessor_store::Guard`]) checked against
//! the rows the group touches, read under the write lock, then one `unnest` upsert per family,
//! `NOTIFY`, commit (docs/protocol.md, decision "PostgreSQL: one write lock; commit order is
//! feed order").
//!
//! Every writer (any server, [`lessor_store::Backend::apply`] too) takes [`WRITE_LOCK`] before
//! reading the keys it guards and holds it until it commits, so the check and the write are
//! atomic without a retry loop, and the revisions of concurrent transactions follow their commit
//! order (what the follower relies on).

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr};

use postgres::{Client, Statement};

use lessor_store::{Applied, Binding4, Binding6, Change, Change4, Change6, Group, Guard, Key6};

use crate::rows::{self, Columns4, Columns6};

/// The transaction-scoped advisory lock every write of the lease set takes.
pub(crate) const WRITE_LOCK: i64 = 0x6c65_7373_6f72_0002;

/// The channel writers notify and followers listen on.
pub(crate) const CHANNEL: &str = "lessor_leases";

/// A key of either family.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum Key {
    V4(Ipv4Addr),
    V6(Key6),
}

/// What the database holds for a key: its number, and whether it is a tombstone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Held {
    pub(crate) sequence: u64,
    pub(crate) tombstone: bool,
}

/// One row to write.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Write<'c> {
    Live4(&'c Binding4),
    Live6(&'c Binding6),
    /// A tombstone numbered so.
    Gone(u64),
}

/// What a group commit writes: the last write of each key (a statement may touch a row once),
/// in the order the keys were first written, and the refused batches.
#[derive(Debug, Default)]
pub(crate) struct Plan<'c> {
    pub(crate) writes: Vec<(Key, Write<'c>)>,
    pub(crate) refused: Vec<usize>,
}

/// The key and effect of a change, or `None` for what a backend never writes (an offer, an
/// advertisement).
fn effect(change: &Change) -> Option<(Key, Option<Write<'_>>)> {
    match change {
        Change::V4(Change4::Upsert(b)) if b.state.is_durable() => {
            Some((Key::V4(b.address), Some(Write::Live4(b))))
        }
        Change::V6(Change6::Upsert(b)) if b.state.is_durable() => {
            Some((Key::V6(b.key6()), Some(Write::Live6(b))))
        }
        Change::V4(Change4::Upsert(_)) | Change::V6(Change6::Upsert(_)) => None,
        Change::V4(Change4::Delete(a)) => Some((Key::V4(*a), None)),
        Change::V6(Change6::Delete(k)) => Some((Key::V6(*k), None)),
    }
}

/// Whether `guard` holds over `current` (the guard rule, per change).
pub(crate) fn holds(guard: Guard, current: Option<Held>) -> bool {
    match (guard.based_on, current) {
        (0, None) => true,
        (0, Some(h)) => h.tombstone && h.sequence < guard.sequence,
        (s, Some(h)) => h.sequence == s,
        (_, None) => false,
    }
}

/// The keys every change of `changes` touches.
pub(crate) fn keys(changes: &[Change]) -> impl Iterator<Item = Key> + '_ {
    changes.iter().filter_map(|c| effect(c).map(|(k, _)| k))
}

/// Plans a group over what the database holds (`held`, every touched key that has a row).
/// `guards`: `None` writes everything (last writer wins; a delete's tombstone takes the number
/// of the row it deletes).
pub(crate) fn plan<'c>(
    changes: &'c [Change],
    guards: Option<&[Guard]>,
    ends: &[usize],
    held: &HashMap<Key, Held>,
) -> Plan<'c> {
    let mut state: HashMap<Key, Option<Held>> = HashMap::new();
    let mut at: HashMap<Key, usize> = HashMap::new();
    let mut plan = Plan::default();
    let mut start = 0;
    for (batch, &end) in ends.iter().enumerate() {
        let range = start..end.min(changes.len());
        start = end;
        // The batch's view: its own effects over the group's so far.
        let mut local: Vec<(Key, Option<Held>, Option<Write<'c>>)> = Vec::new();
        let mut ok = true;
        for i in range {
            let Some((key, write)) = effect(&changes[i]) else {
                continue;
            };
            let current = local
                .iter()
                .rev()
                .find(|(k, ..)| *k == key)
                .map(|(_, h, _)| *h)
                .or_else(|| state.get(&key).copied())
                .unwrap_or_else(|| held.get(&key).copied());
            let guard = guards.map(|g| g.get(i).copied().unwrap_or_default());
            if let Some(g) = guard {
                if !holds(g, current) {
                    ok = false;
                    break;
                }
            }
            match write {
                Some(w) => {
                    let sequence = match w {
                        Write::Live4(b) => b.sequence,
                        Write::Live6(b) => b.sequence,
                        Write::Gone(s) => s,
                    };
                    local.push((
                        key,
                        Some(Held {
                            sequence,
                            tombstone: false,
                        }),
                        Some(w),
                    ));
                }
                // A delete of a key without a row writes nothing.
                None => {
                    if let Some(h) = current {
                        let sequence = guard.map_or(h.sequence, |g| g.sequence);
                        local.push((
                            key,
                            Some(Held {
                                sequence,
                                tombstone: true,
                            }),
                            Some(Write::Gone(sequence)),
                        ));
                    }
                }
            }
        }
        if !ok {
            plan.refused.push(batch);
            continue;
        }
        for (key, held, write) in local {
            state.insert(key, held);
            if let Some(w) = write {
                match at.get(&key) {
                    Some(&j) => plan.writes[j].1 = w,
                    None => {
                        at.insert(key, plan.writes.len());
                        plan.writes.push((key, w));
                    }
                }
            }
        }
    }
    plan
}

/// The statements of one session, prepared once.
pub(crate) struct Statements {
    held4: Statement,
    held6: Statement,
    upsert4: Statement,
    upsert6: Statement,
}

impl Statements {
    pub(crate) fn prepare(client: &mut Client) -> Result<Statements, postgres::Error> {
        Ok(Statements {
            held4: client.prepare(
                "SELECT address, sequence, state = 'deleted' FROM lease4 \
                 WHERE address = ANY($1::inet[])",
            )?,
            held6: client.prepare(
                "SELECT address, prefix_len, sequence, state = 'deleted' FROM lease6 \
                 WHERE (address, prefix_len) IN \
                 (SELECT * FROM unnest($1::inet[], $2::smallint[]))",
            )?,
            upsert4: client.prepare(rows::UPSERT4)?,
            upsert6: client.prepare(rows::UPSERT6)?,
        })
    }
}

/// Writes a group in one transaction (see the module documentation). `guards`: as [`plan`].
/// An error says whether anything had been sent past `BEGIN` (false: the session failed
/// before the transaction started, and the group may be sent again on a new one).
pub(crate) fn group(
    client: &mut Client,
    st: &Statements,
    node: &String,
    group: &Group<'_>,
    guards: Option<&[Guard]>,
) -> Result<Applied, (bool, postgres::Error)> {
    let tx = client.transaction().map_err(|e| (false, e))?;
    written(tx, st, node, group, guards).map_err(|e| (true, e))
}

fn written(
    mut tx: postgres::Transaction<'_>,
    st: &Statements,
    node: &String,
    group: &Group<'_>,
    guards: Option<&[Guard]>,
) -> Result<Applied, postgres::Error> {
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&WRITE_LOCK])?;
    let mut keys4: Vec<IpAddr> = Vec::new();
    let (mut keys6, mut lens6): (Vec<IpAddr>, Vec<i16>) = (Vec::new(), Vec::new());
    for key in keys(group.changes) {
        match key {
            Key::V4(a) => keys4.push(IpAddr::V4(a)),
            Key::V6(k) => {
                keys6.push(IpAddr::V6(k.address()));
                lens6.push(i16::from(k.prefix_len()));
            }
        }
    }
    let mut held = HashMap::new();
    let number = |v: i64| u64::try_from(v).unwrap_or(0);
    if !keys4.is_empty() {
        for row in tx.query(&st.held4, &[&keys4])? {
            if let IpAddr::V4(a) = row.try_get::<_, IpAddr>(0)? {
                held.insert(
                    Key::V4(a),
                    Held {
                        sequence: number(row.try_get(1)?),
                        tombstone: row.try_get(2)?,
                    },
                );
            }
        }
    }
    if !keys6.is_empty() {
        for row in tx.query(&st.held6, &[&keys6, &lens6])? {
            let (IpAddr::V6(a), Ok(len)) = (
                row.try_get::<_, IpAddr>(0)?,
                u8::try_from(row.try_get::<_, i16>(1)?),
            ) else {
                continue;
            };
            held.insert(
                Key::V6(Key6::new(a, len)),
                Held {
                    sequence: number(row.try_get(2)?),
                    tombstone: row.try_get(3)?,
                },
            );
        }
    }
    let plan = plan(group.changes, guards, group.ends, &held);
    let (mut c4, mut c6) = (Columns4::default(), Columns6::default());
    for (key, write) in &plan.writes {
        match (key, write) {
            (_, Write::Live4(b)) => c4.live(b),
            (_, Write::Live6(b)) => c6.live(b),
            (Key::V4(a), Write::Gone(s)) => c4.tombstone(*a, *s),
            (Key::V6(k), Write::Gone(s)) => c6.tombstone(*k, *s),
        }
    }
    if !c4.is_empty() {
        tx.execute(&st.upsert4, &c4.params(node))?;
    }
    if !c6.is_empty() {
        tx.execute(&st.upsert6, &c6.params(node))?;
    }
    if !plan.writes.is_empty() {
        tx.batch_execute(&format!("NOTIFY {CHANNEL}"))?;
    }
    tx.commit()?;
    Ok(Applied {
        refused: plan.refused,
    })
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use lessor_store::{HwAddr, State4};

    use super::*;

    fn up(last: u8, sequence: u64, state: State4) -> Change {
        let mut b = Binding4::new(
            Ipv4Addr::new(192, 0, 2, last),
            "192.0.2.0/24".parse().unwrap(),
            HwAddr::ethernet([2, 0, 0, 0, 0, last]),
            state,
        );
        b.sequence = sequence;
        Change::V4(Change4::Upsert(Arc::new(b)))
    }

    fn g(based_on: u64, sequence: u64) -> Guard {
        Guard { based_on, sequence }
    }

    fn live(sequence: u64) -> Option<Held> {
        Some(Held {
            sequence,
            tombstone: false,
        })
    }

    fn tomb(sequence: u64) -> Option<Held> {
        Some(Held {
            sequence,
            tombstone: true,
        })
    }

    #[test]
    fn the_guard_rule() {
        assert!(holds(g(0, 5), None));
        assert!(!holds(g(0, 5), live(3)));
        assert!(holds(g(0, 5), tomb(4)));
        assert!(!holds(g(0, 5), tomb(5)));
        assert!(holds(g(3, 5), live(3)));
        assert!(holds(g(3, 5), tomb(3)));
        assert!(!holds(g(3, 5), live(4)));
        assert!(!holds(g(3, 5), None));
    }

    #[test]
    fn a_refused_batch_leaves_no_trace_and_later_batches_see_the_accepted_ones() {
        let a = Key::V4(Ipv4Addr::new(192, 0, 2, 1));
        let changes = [
            up(1, 10, State4::Active),
            up(2, 11, State4::Active),
            up(1, 12, State4::Active),
            up(1, 13, State4::Active),
        ];
        // Batch 1 (changes 1 and 2) fails on change 2: based on 9, the row is at 10 after
        // batch 0. Batch 2 is based on batch 0's write.
        let guards = [g(0, 10), g(0, 11), g(9, 12), g(10, 13)];
        let plan = plan(&changes, Some(&guards), &[1, 3, 4], &HashMap::new());
        assert_eq!(plan.refused, vec![1]);
        assert_eq!(
            plan.writes.len(),
            1,
            "address 2 came from the refused batch"
        );
        assert_eq!(plan.writes[0].0, a);
        assert!(matches!(plan.writes[0].1, Write::Live4(b) if b.sequence == 13));
    }

    #[test]
    fn offers_are_not_written_and_deletes_of_absent_keys_write_nothing() {
        let changes = [
            up(1, 10, State4::Offered),
            Change::V4(Change4::Delete(Ipv4Addr::new(192, 0, 2, 2))),
        ];
        let plan = plan(&changes, Some(&[g(0, 10), g(0, 11)]), &[2], &HashMap::new());
        assert!(plan.refused.is_empty());
        assert!(plan.writes.is_empty());
    }

    #[test]
    fn without_guards_the_last_write_wins_and_a_tombstone_keeps_the_rows_number() {
        let a = Ipv4Addr::new(192, 0, 2, 1);
        let held = HashMap::from([(Key::V4(a), live(40).unwrap())]);
        let changes = [up(1, 3, State4::Active), Change::V4(Change4::Delete(a))];
        let plan = plan(&changes, None, &[2], &held);
        assert!(plan.refused.is_empty());
        assert!(matches!(plan.writes[..], [(Key::V4(k), Write::Gone(3))] if k == a));
    }
}
