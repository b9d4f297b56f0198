//! One writer per store, and a store only its owner reads.
//!
//! Two servers on one store would each load the bindings, then hand out the same addresses: SQLite
//! serialises their transactions but cannot tell them apart. So a process that writes the store
//! (`lessor serve`, `lessor leases import`) first takes an exclusive, non-blocking `flock` on a
//! file beside it, `<store>.lock`, and holds it for as long as it may write (the backend owns
//! it; the kernel releases it when the process ends, however it ends). The file holds the pid
//! and the name of its holder, for the message another process gets. It is never removed:
//! removing a lock file races with a process that has just opened it. Readers (`lessor leases
//! list`) take no lock: SQLite's WAL lets them read while the server writes.
//!
//! The store holds every subscriber's MAC, host name and option 82: its files (database, `-wal`,
//! `-shm`, lock) are created 0600, and a writer tightens files it finds readable by others.
//! SQLite creates `-wal` and `-shm` with the mode of the database file, so creating the database
//! 0600 covers them.

use std::fs::{File, OpenOptions, Permissions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use nix::errno::Errno;
use nix::fcntl::{Flock, FlockArg};

use crate::error::StoreError;

/// The mode of every file of a store: read and write for its owner only.
pub const FILE_MODE: u32 = 0o600;

/// The lock file of the store at `store`: `<store>.lock`.
pub fn lock_path(store: &Path) -> PathBuf {
    with_suffix(store, ".lock")
}

/// The files of the store at `store`: the database, SQLite's `-wal` and `-shm`, the lock file.
pub fn store_files(store: &Path) -> [PathBuf; 4] {
    [
        store.to_path_buf(),
        with_suffix(store, "-wal"),
        with_suffix(store, "-shm"),
        lock_path(store),
    ]
}

fn with_suffix(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(suffix);
    PathBuf::from(name)
}

/// An exclusive lock on a store, held until dropped.
#[derive(Debug)]
pub struct StoreLock {
    _file: Flock<File>,
    path: PathBuf,
}

impl StoreLock {
    /// Locks the store at `store` for this process; `holder` names it for others ("lessor
    /// serve"). Fails at once with [`StoreError::InUse`] when another process holds the lock
    /// (or another open of this process: a second lock is refused even here).
    pub fn acquire(store: &Path, holder: &str) -> Result<StoreLock, StoreError> {
        let path = lock_path(store);
        let io = |what: &str| {
            let path = path.display().to_string();
            let what = what.to_owned();
            move |e: std::io::Error| StoreError::db(format!("{path}: {what}"), e)
        };
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .mode(FILE_MODE)
            .open(&path)
            .map_err(io("open the lock file"))?;
        let mut file = match Flock::lock(file, FlockArg::LockExclusiveNonblock) {
            Ok(locked) => locked,
            Err((mut file, Errno::EWOULDBLOCK)) => {
                let mut text = String::new();
                // What the holder wrote; it may not have written it yet.
                let _ = file.read_to_string(&mut text);
                let (pid, holder) = parse_holder(&text);
                return Err(StoreError::InUse {
                    path: store.to_path_buf(),
                    pid,
                    holder,
                });
            }
            Err((_, errno)) => return Err(io("flock")(std::io::Error::from(errno))),
        };
        file.set_len(0).map_err(io("truncate"))?;
        file.seek(SeekFrom::Start(0)).map_err(io("seek"))?;
        file.write_all(format!("{} {holder}\n", std::process::id()).as_bytes())
            .map_err(io("write the holder"))?;
        Ok(StoreLock { _file: file, path })
    }

    /// The lock file.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

/// "PID HOLDER" as [`StoreLock::acquire`] writes it; what cannot be read is `None`.
fn parse_holder(text: &str) -> (Option<u32>, Option<String>) {
    let line = text.lines().next().unwrap_or("").trim();
    let (pid, holder) = line.split_once(' ').unwrap_or((line, ""));
    let holder = holder.trim();
    // A holder name is ours, but the file may have been written by anyone: keep it short and
    // printable.
    let holder =
        (!holder.is_empty() && holder.len() <= 64 && !holder.chars().any(char::is_control))
            .then(|| holder.to_owned());
    (pid.parse().ok(), holder)
}

/// A store file found readable or writable by others, and made 0600.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tightened {
    pub path: PathBuf,
    /// Its permission bits before.
    pub was: u32,
}

impl std::fmt::Display for Tightened {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} was mode {:04o} (others could read it): now {FILE_MODE:04o}",
            self.path.display(),
            self.was
        )
    }
}

/// Creates the database file 0600 when it is missing (SQLite then creates `-wal` and `-shm` with
/// its mode).
pub(crate) fn create_private(store: &Path) -> Result<(), StoreError> {
    match OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(FILE_MODE)
        .open(store)
    {
        Ok(_) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(e) => Err(StoreError::db(format!("{}: create", store.display()), e)),
    }
}

/// Makes every existing file of the store 0600 where group or others had any access; returns the
/// files changed.
pub(crate) fn tighten(store: &Path) -> Result<Vec<Tightened>, StoreError> {
    let mut changed = Vec::new();
    for path in store_files(store) {
        let mode = match std::fs::metadata(&path) {
            Ok(m) => m.permissions().mode() & 0o7777,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) => return Err(StoreError::db(format!("{}: stat", path.display()), e)),
        };
        if mode & 0o077 != 0 {
            std::fs::set_permissions(&path, Permissions::from_mode(FILE_MODE))
                .map_err(|e| StoreError::db(format!("{}: chmod 0600", path.display()), e))?;
            changed.push(Tightened { path, was: mode });
        }
    }
    Ok(changed)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temp(name: &str) -> PathBuf {
        let dir =
            std::env::temp_dir().join(format!("lessor-store-lock-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[test]
    fn holder_lines_parse_and_garbage_does_not() {
        assert_eq!(
            parse_holder("1234 lessor serve\n"),
            (Some(1234), Some("lessor serve".into()))
        );
        assert_eq!(parse_holder("1234\n"), (Some(1234), None));
        assert_eq!(parse_holder(""), (None, None));
        assert_eq!(parse_holder("x\u{1b}[2J y"), (None, Some("y".into())));
        assert_eq!(parse_holder("7 a\u{7}b"), (Some(7), None));
        assert_eq!(
            parse_holder(&format!("7 {}", "a".repeat(65))),
            (Some(7), None)
        );
    }

    #[test]
    fn a_second_lock_is_refused_with_the_holder_until_the_first_is_dropped() {
        let dir = temp("second");
        let store = dir.join("x.db");
        let first = StoreLock::acquire(&store, "lessor serve").unwrap();
        assert_eq!(first.path(), dir.join("x.db.lock"));
        // flock locks belong to the open file: a second open in this process conflicts too.
        let err = StoreLock::acquire(&store, "lessor leases import").unwrap_err();
        match &err {
            StoreError::InUse { path, pid, holder } => {
                assert_eq!(path, &store);
                assert_eq!(*pid, Some(std::process::id()));
                assert_eq!(holder.as_deref(), Some("lessor serve"));
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(
            err.to_string(),
            format!(
                "store {} is in use by another process (pid {}, lessor serve)",
                store.display(),
                std::process::id()
            )
        );
        drop(first);
        let again = StoreLock::acquire(&store, "lessor leases import").unwrap();
        let text = std::fs::read_to_string(again.path()).unwrap();
        assert_eq!(
            text,
            format!("{} lessor leases import\n", std::process::id())
        );
        let mode = std::fs::metadata(again.path())
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, FILE_MODE);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn loose_store_files_are_tightened_and_reported() {
        let dir = temp("tighten");
        let store = dir.join("x.db");
        std::fs::write(&store, b"").unwrap();
        std::fs::set_permissions(&store, Permissions::from_mode(0o644)).unwrap();
        let wal = dir.join("x.db-wal");
        std::fs::write(&wal, b"").unwrap();
        std::fs::set_permissions(&wal, Permissions::from_mode(0o600)).unwrap();
        let changed = tighten(&store).unwrap();
        assert_eq!(
            changed,
            vec![Tightened {
                path: store.clone(),
                was: 0o644
            }]
        );
        assert_eq!(
            changed[0].to_string(),
            format!(
                "{} was mode 0644 (others could read it): now 0600",
                store.display()
            )
        );
        let mode = std::fs::metadata(&store).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        assert!(tighten(&store).unwrap().is_empty());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
