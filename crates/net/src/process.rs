//! What a server sets on its own process: a file creation mask that keeps what it creates to
//! itself, and the switch from root to an unprivileged user that keeps only the capabilities
//! its sockets need.
//!
//! A DHCP server starts as root to bind port 67 and to bind sockets to interfaces; once its
//! store and sockets are open, it needs only:
//! - CAP_NET_BIND_SERVICE: sockets opened after the switch (bulk leasequery on port 67);
//! - CAP_NET_RAW: SO_BINDTODEVICE on kernels before 5.7;
//! - CAP_NET_ADMIN: the neighbour entry (SIOCSARP) written before unicasting to a client that has
//!   no address yet, and SO_RCVBUFFORCE.
//!
//! [`drop_to`] switches groups, group and user (PR_SET_KEEPCAPS keeps the permitted set across
//! setuid), then sets those three as effective and permitted and clears every other one.
//! Capabilities belong to a thread, and a new thread starts with its creator's: the switch is
//! made before the server starts any thread, so all of them run with the same three.

use crate::sys::{self, CapabilitySets};
use nix::sys::stat::{umask, Mode};
use nix::unistd::{self, Gid, Group, Uid, User};
use std::fmt;
use std::io;
use std::path::Path;

pub const CAP_NET_BIND_SERVICE: u32 = 10;
pub const CAP_NET_ADMIN: u32 = 12;
pub const CAP_NET_RAW: u32 = 13;

/// The capabilities a server keeps after [`drop_to`], with their names for the log.
pub const KEPT: [(u32, &str); 3] = [
    (CAP_NET_BIND_SERVICE, "CAP_NET_BIND_SERVICE"),
    (CAP_NET_RAW, "CAP_NET_RAW"),
    (CAP_NET_ADMIN, "CAP_NET_ADMIN"),
];

/// [`KEPT`] as a capability set.
pub fn kept_set() -> u64 {
    KEPT.iter().fold(0, |set, (cap, _)| set | 1 << cap)
}

/// Files and directories created from now on are their owner's only (umask 077).
pub fn restrict_umask() {
    umask(Mode::from_bits_truncate(0o077));
}

/// The user (and group) to run as, looked up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Account {
    pub user: String,
    pub uid: u32,
    pub group: String,
    pub gid: u32,
}

/// Why the switch to another user could not be made. The server does not start.
#[derive(Debug)]
pub enum PrivilegeError {
    NoSuchUser(String),
    NoSuchGroup(String),
    /// The user or group database could not be read.
    Lookup {
        what: String,
        source: io::Error,
    },
    /// The user is root itself: nothing would be dropped.
    Root {
        user: String,
    },
    /// Not running as root, nor as the user asked for.
    NotRoot {
        user: String,
        euid: u32,
    },
    /// Threads are already running: they would keep root's capabilities, or lose all.
    Threads(usize),
    /// A step of the switch failed.
    Step {
        step: &'static str,
        source: io::Error,
    },
}

impl fmt::Display for PrivilegeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PrivilegeError::NoSuchUser(u) => write!(f, "user {u:?} does not exist"),
            PrivilegeError::NoSuchGroup(g) => write!(f, "group {g:?} does not exist"),
            PrivilegeError::Lookup { what, source } => write!(f, "cannot look up {what}: {source}"),
            PrivilegeError::Root { user } => write!(
                f,
                "user {user:?} is root (uid 0): name an unprivileged user to run as"
            ),
            PrivilegeError::NotRoot { user, euid } => write!(
                f,
                "cannot switch to user {user:?}: running as uid {euid}, not root (start as root, \
                 or remove `user`)"
            ),
            PrivilegeError::Threads(n) => write!(
                f,
                "cannot drop privileges with {n} threads running (every thread must be started \
                 after the switch)"
            ),
            PrivilegeError::Step { step, source } => write!(f, "{step} failed: {source}"),
        }
    }
}

impl std::error::Error for PrivilegeError {}

/// Looks up `user`, and `group` (default: the user's primary group).
pub fn lookup(user: &str, group: Option<&str>) -> Result<Account, PrivilegeError> {
    let lookup_error = |what: String| {
        move |e: nix::Error| PrivilegeError::Lookup {
            what,
            source: e.into(),
        }
    };
    let found = User::from_name(user)
        .map_err(lookup_error(format!("user {user:?}")))?
        .ok_or_else(|| PrivilegeError::NoSuchUser(user.to_owned()))?;
    if found.uid.is_root() {
        return Err(PrivilegeError::Root {
            user: user.to_owned(),
        });
    }
    let (group, gid) = match group {
        Some(name) => {
            let g = Group::from_name(name)
                .map_err(lookup_error(format!("group {name:?}")))?
                .ok_or_else(|| PrivilegeError::NoSuchGroup(name.to_owned()))?;
            (g.name, g.gid)
        }
        None => {
            let name = Group::from_gid(found.gid)
                .ok()
                .flatten()
                .map_or_else(|| found.gid.to_string(), |g| g.name);
            (name, found.gid)
        }
    };
    Ok(Account {
        user: found.name,
        uid: found.uid.as_raw(),
        group,
        gid: gid.as_raw(),
    })
}

impl Account {
    /// Gives `path` to this account (its owner and group), so it can still write it after
    /// [`drop_to`].
    pub fn chown(&self, path: &Path) -> io::Result<()> {
        unistd::chown(
            path,
            Some(Uid::from_raw(self.uid)),
            Some(Gid::from_raw(self.gid)),
        )
        .map_err(io::Error::from)
    }
}

/// Whether the process runs as root (effective uid 0).
pub fn is_root() -> bool {
    unistd::geteuid().is_root()
}

/// How many threads this process runs (/proc/self/task).
fn threads() -> io::Result<usize> {
    Ok(std::fs::read_dir("/proc/self/task")?.count())
}

/// Switches the process to `account`, keeping only [`KEPT`] (see the module documentation).
/// Must be called before any other thread starts. Already running as that user (not root),
/// it only lowers the capabilities to [`KEPT`].
pub fn drop_to(account: &Account) -> Result<(), PrivilegeError> {
    let step = |step: &'static str| {
        move |e: nix::Error| PrivilegeError::Step {
            step,
            source: e.into(),
        }
    };
    let running = threads().map_err(|source| PrivilegeError::Step {
        step: "counting threads (/proc/self/task)",
        source,
    })?;
    if running > 1 {
        return Err(PrivilegeError::Threads(running));
    }
    let euid = unistd::geteuid();
    if !euid.is_root() && euid.as_raw() != account.uid {
        return Err(PrivilegeError::NotRoot {
            user: account.user.clone(),
            euid: euid.as_raw(),
        });
    }
    if euid.is_root() {
        let gid = Gid::from_raw(account.gid);
        nix::sys::prctl::set_keepcaps(true).map_err(step("prctl(PR_SET_KEEPCAPS)"))?;
        unistd::setgroups(&[gid]).map_err(step("setgroups"))?;
        unistd::setgid(gid).map_err(step("setgid"))?;
        unistd::setuid(Uid::from_raw(account.uid)).map_err(step("setuid"))?;
        nix::sys::prctl::set_keepcaps(false).map_err(step("prctl(PR_SET_KEEPCAPS, 0)"))?;
    }
    let have = sys::capabilities().map_err(|source| PrivilegeError::Step {
        step: "capget",
        source,
    })?;
    // Running as the user already, it keeps what it has of the three and no more.
    let keep = kept_set() & have.permitted;
    sys::set_capabilities(CapabilitySets {
        effective: keep,
        permitted: keep,
        inheritable: 0,
    })
    .map_err(|source| PrivilegeError::Step {
        step: "capset",
        source,
    })?;
    // No way back: a process that can become root again has dropped nothing.
    if unistd::setuid(Uid::from_raw(0)).is_ok() || unistd::getuid().as_raw() != account.uid {
        return Err(PrivilegeError::Step {
            step: "checking the switch",
            source: io::Error::other("the process can still become root"),
        });
    }
    Ok(())
}

/// Whether this process (after [`drop_to`]: the account) may create and remove files in `dir`.
pub fn can_write(dir: &Path) -> bool {
    unistd::access(dir, unistd::AccessFlags::W_OK | unistd::AccessFlags::X_OK).is_ok()
}

/// The names of [`KEPT`], for the log.
pub fn kept_names() -> String {
    KEPT.iter()
        .map(|(_, name)| *name)
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_kept_set_is_the_three_network_capabilities() {
        assert_eq!(kept_set(), (1 << 10) | (1 << 12) | (1 << 13));
        assert_eq!(
            kept_names(),
            "CAP_NET_BIND_SERVICE, CAP_NET_RAW, CAP_NET_ADMIN"
        );
    }

    #[test]
    fn unknown_users_and_groups_and_root_are_refused() {
        let err = lookup("lessor-no-such-user-x", None).unwrap_err();
        assert_eq!(
            err.to_string(),
            "user \"lessor-no-such-user-x\" does not exist"
        );
        let err = lookup("root", None).unwrap_err();
        assert!(matches!(err, PrivilegeError::Root { .. }), "{err}");
        if let Ok(Some(nobody)) = User::from_name("nobody") {
            let err = lookup("nobody", Some("lessor-no-such-group-x")).unwrap_err();
            assert!(matches!(err, PrivilegeError::NoSuchGroup(_)), "{err}");
            let account = lookup("nobody", None).unwrap();
            assert_eq!(account.uid, nobody.uid.as_raw());
            assert_eq!(account.gid, nobody.gid.as_raw());
        }
    }

    #[test]
    fn dropping_with_threads_running_is_refused() {
        // The test harness runs this on a thread of its own: there are at least two.
        let account = Account {
            user: "nobody".into(),
            uid: 65534,
            group: "nogroup".into(),
            gid: 65534,
        };
        let err = drop_to(&account).unwrap_err();
        assert!(matches!(err, PrivilegeError::Threads(n) if n > 1), "{err}");
        assert!(unistd::getuid() != Uid::from_raw(65534));
    }
}
