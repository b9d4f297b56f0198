//! `[server] user`: the switch from root to an unprivileged user, once the store and the DHCP
//! sockets are open and before any thread starts ([`lessor_net::process`] does the switch).
//!
//! SQLite keeps writing the store through the descriptors it opened, but creates and removes
//! `-wal` and `-shm` beside it as the process's user: the store's files are given to the user
//! first, and so are the directories this server created for it. A directory the user
//! cannot write is left as it is, with a warning.

use super::ServeError;
use crate::config::Config;
use lessor_net::process::{self, Account};
use lessor_store::lock::store_files;
use std::path::{Path, PathBuf};

/// The account `[server] user` names, looked up before anything is opened; `None` without it.
pub(super) fn account(config: &Config) -> Result<Option<Account>, ServeError> {
    let server = &config.file.server;
    let Some(user) = &server.user else {
        return Ok(None);
    };
    process::lookup(user, server.group.as_deref())
        .map(Some)
        .map_err(|e| ServeError::Privileges(format!("{e}; refusing to start")))
}

/// Gives the store to `account` and switches to it; `file` is the SQLite store with the
/// directories this server has just created for it (a PostgreSQL store has no file to give).
pub(super) fn switch(
    account: &Account,
    file: Option<(&Path, &[PathBuf])>,
) -> Result<(), ServeError> {
    let refused = |e: &dyn std::fmt::Display| {
        ServeError::Privileges(format!(
            "cannot switch to user {}: {e}; refusing to start",
            account.user
        ))
    };
    if let (true, Some((store, created))) = (process::is_root(), file) {
        for path in created
            .iter()
            .cloned()
            .chain(store_files(store).into_iter().filter(|p| p.exists()))
        {
            account
                .chown(&path)
                .map_err(|e| refused(&format!("chown {}: {e}", path.display())))?;
        }
    }
    process::drop_to(account).map_err(|e| refused(&e))?;
    tracing::info!(
        user = %account.user,
        uid = account.uid,
        "dropped privileges to user {} (uid {}, group {} gid {}); keeping {}",
        account.user,
        account.uid,
        account.group,
        account.gid,
        process::kept_names()
    );
    let Some((store, _)) = file else {
        return Ok(());
    };
    let dir = store
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    if !process::can_write(dir) {
        tracing::warn!(
            "store directory {} is not writable by user {}: SQLite cannot create or remove the \
             store's -wal and -shm files there; give the directory to the user",
            dir.display(),
            account.user
        );
    }
    Ok(())
}
