//! `lessor leases migrate --from SRC --to DST`: copies every binding of both families from one
//! store to another (SQLite to PostgreSQL and back, or between two of a kind), field for field,
//! the transaction sequence included (restores, not upserts: a server sharing the destination
//! guards its next write on the number the source held). Both stores are taken as writers (a
//! SQLite file alone: a running server refuses the copy). A destination holding bindings is
//! refused unless `--force` (then the copied keys are written over and the others kept). The
//! copy is checked by loading the destination again: every source binding must be there, equal.
//!
//! The meta table (a server's DHCPv6 DUID, its quarantine) is not copied: in a shared store it is
//! per server, and each server keeps its own there (docs/operator-guide.md, "Several servers on
//! one PostgreSQL database").

use std::process::ExitCode;

use super::open::Target;
use super::{restore_all, Fail, Outcome};

/// What a migration did, per family.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct Copied {
    pub(crate) v4: usize,
    pub(crate) v6: usize,
    /// Bindings that replaced one the destination held (with `--force`).
    pub(crate) replaced: usize,
}

/// Copies `from` into `to` (see the module documentation).
pub(crate) fn migrate(from: &Target, to: &Target, force: bool) -> Outcome<Copied> {
    if from.store.location == to.store.location {
        return Err(Fail(format!("--from and --to are the same store ({from})")));
    }
    if !from.exists() {
        return Err(Fail(format!("{from}: no store there")));
    }
    let source = from.open_writing("lessor leases migrate")?;
    let v4: Vec<_> = source
        .v4()
        .snapshot()
        .iter()
        .map(|b| (**b).clone())
        .collect();
    let v6: Vec<_> = source
        .v6()
        .snapshot()
        .iter()
        .map(|b| (**b).clone())
        .collect();
    let destination = match to.open_writing("lessor leases migrate") {
        Ok(d) => d,
        Err(e) => {
            source.close()?;
            return Err(e);
        }
    };
    let held = (destination.v4().len(), destination.v6().len());
    if held != (0, 0) && !force {
        destination.close()?;
        source.close()?;
        return Err(Fail(format!(
            "{to} holds {} DHCPv4 and {} DHCPv6 binding(s) already: nothing copied (--force \
             writes the copied bindings over it, keeping the others)",
            held.0, held.1
        )));
    }
    let copied = Copied {
        v4: v4.len(),
        v6: v6.len(),
        replaced: 0,
    };
    let written = restore_all(&destination, to, v4.clone(), v6.clone());
    let closed = destination.close();
    source.close()?;
    let replaced = written?;
    closed?;
    // Checked as a server would see it: loaded again.
    let check = to.open_writing("lessor leases migrate")?;
    let missing4 = v4
        .iter()
        .filter(|b| check.v4().get(b.address).as_deref() != Some(*b))
        .count();
    let missing6 = v6
        .iter()
        .filter(|b| check.v6().get(b.key6()).as_deref() != Some(*b))
        .count();
    check.close()?;
    if missing4 + missing6 > 0 {
        return Err(Fail(format!(
            "{to}: after the copy, {missing4} DHCPv4 and {missing6} DHCPv6 binding(s) are \
             missing or differ from {from}"
        )));
    }
    Ok(Copied { replaced, ..copied })
}

/// `lessor leases migrate`: the copy and its report.
pub(crate) fn run(from: &Target, to: &Target, force: bool) -> Outcome<ExitCode> {
    let c = migrate(from, to, force)?;
    println!(
        "copied {} DHCPv4 and {} DHCPv6 binding(s) from {from} to {to} ({} replaced an \
         existing binding); checked by loading {to} again",
        c.v4, c.v6, c.replaced
    );
    Ok(ExitCode::SUCCESS)
}
