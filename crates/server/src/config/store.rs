//! Where the lease store is: `[server] store` (a SQLite file, or a `postgresql://` URL of a
//! database shared by several servers), `[server] name` (this server's name in a shared lease
//! set) and `[server.postgresql]` (how to reach the database), resolved and checked
//! (docs/configuration.md, "[server]").
//!
//! A password in a URL is a secret: [`StoreLocation`]'s `Display` masks it, and so does every
//! message this module writes, so logs, errors and `lessor check` never show it.

use super::duration::Seconds;
use super::schema;
use super::validate::Finding;
use lessor_config::KeyPath;
use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// What a password shows as wherever a URL is printed.
pub const MASK: &str = "***";

/// The longest password file read: a password is a line.
pub const MAX_PASSWORD_FILE: u64 = 4096;

/// The longest `[server] name`.
pub const MAX_NAME: usize = 64;

/// Where the bindings are kept.
#[derive(Clone, PartialEq, Eq)]
pub enum StoreLocation {
    /// The embedded store: one SQLite file, one server.
    Sqlite(PathBuf),
    /// A PostgreSQL database (libpq's URI form, as written), possibly shared by several servers.
    Postgres {
        /// The URL as written (it may hold a password: print it through [`StoreLocation`]'s
        /// `Display`, which masks it).
        url: String,
    },
}

impl StoreLocation {
    /// Reads `[server] store` or a `--store` argument: a `postgresql://` or `postgres://` URL,
    /// else a path. Anything else written as a URL (`scheme://...`) is refused, so a typo in the
    /// scheme never becomes a file of that name.
    pub fn parse(text: &str) -> Result<StoreLocation, String> {
        if text.is_empty() {
            return Err("an empty store: name a SQLite file or a postgresql:// URL".into());
        }
        match text.find("://") {
            None => Ok(StoreLocation::Sqlite(PathBuf::from(text))),
            Some(at) => {
                let scheme = &text[..at];
                if scheme != "postgresql" && scheme != "postgres" {
                    return Err(format!(
                        "{:?} is not a store URL: the store is a path (SQLite) or a postgresql:// \
                         URL",
                        format!("{scheme}://...")
                    ));
                }
                PgUrl::parse(text)?;
                Ok(StoreLocation::Postgres { url: text.into() })
            }
        }
    }

    /// A relative SQLite path taken from `dir` (the config file's directory).
    pub fn relative_to(self, dir: &Path) -> StoreLocation {
        match self {
            StoreLocation::Sqlite(p) if p.is_relative() => StoreLocation::Sqlite(dir.join(p)),
            other => other,
        }
    }

    /// The SQLite file, if this is one.
    pub fn path(&self) -> Option<&Path> {
        match self {
            StoreLocation::Sqlite(p) => Some(p),
            StoreLocation::Postgres { .. } => None,
        }
    }

    /// Whether the URL carries a password (in its user information or as a `password`
    /// parameter).
    pub fn has_password(&self) -> bool {
        match self {
            StoreLocation::Sqlite(_) => false,
            StoreLocation::Postgres { url } => {
                PgUrl::parse(url).is_ok_and(|u| u.password.is_some() || u.password_param)
            }
        }
    }

    /// The URL to connect with: `password` (from `password-file`) put into its user
    /// information, percent-encoded. `None` for a SQLite store.
    pub fn url_with_password(&self, password: Option<&Secret>) -> Option<String> {
        let StoreLocation::Postgres { url } = self else {
            return None;
        };
        let Some(password) = password else {
            return Some(url.clone());
        };
        let u = PgUrl::parse(url).ok()?;
        let user = u.user.unwrap_or("");
        Some(format!(
            "{}{user}:{}@{}",
            u.scheme,
            percent_encode(&password.0),
            u.rest
        ))
    }
}

impl fmt::Display for StoreLocation {
    /// The path, or the URL with its password masked.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StoreLocation::Sqlite(p) => write!(f, "{}", p.display()),
            StoreLocation::Postgres { url } => f.write_str(&mask(url)),
        }
    }
}

impl fmt::Debug for StoreLocation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StoreLocation::Sqlite(p) => f.debug_tuple("Sqlite").field(p).finish(),
            StoreLocation::Postgres { .. } => f
                .debug_struct("Postgres")
                .field("url", &self.to_string())
                .finish(),
        }
    }
}

/// `url` with any password in it replaced by [`MASK`]; text that is not a URL unchanged.
pub fn mask(url: &str) -> String {
    let Ok(u) = PgUrl::parse(url) else {
        // Unreadable: where its password would be is unknown, so only the scheme is shown.
        return match url.find("://") {
            Some(i) => format!("{}...", &url[..i + 3]),
            None => url.into(),
        };
    };
    let mut out = String::from(u.scheme);
    if let Some(user) = u.user {
        out.push_str(user);
        if u.password.is_some() {
            out.push(':');
            out.push_str(MASK);
        }
        out.push('@');
    }
    let (before, query) = match u.rest.split_once('?') {
        Some((b, q)) => (b, Some(q)),
        None => (u.rest, None),
    };
    out.push_str(before);
    if let Some(q) = query {
        out.push('?');
        let params: Vec<String> = q
            .split('&')
            .map(|p| match p.split_once('=') {
                Some((k, _)) if k == "password" => format!("{k}={MASK}"),
                _ => p.to_string(),
            })
            .collect();
        out.push_str(&params.join("&"));
    }
    out
}

/// A URL's parts, as far as this module needs them.
struct PgUrl<'a> {
    /// `postgresql://` or `postgres://`.
    scheme: &'a str,
    user: Option<&'a str>,
    password: Option<&'a str>,
    /// Whether a `password=` parameter is given.
    password_param: bool,
    /// Hosts, database and parameters (everything after the user information).
    rest: &'a str,
}

impl<'a> PgUrl<'a> {
    /// libpq's URI form: `postgresql://[user[:password]@][host[:port][,...]][/dbname][?k=v&...]`.
    fn parse(url: &'a str) -> Result<PgUrl<'a>, String> {
        let bad = |why: &str| format!("not a PostgreSQL URL ({why})");
        let at = url.find("://").ok_or_else(|| bad("no scheme"))? + 3;
        let (scheme, after) = url.split_at(at);
        if let Some(c) = url.chars().find(|c| c.is_whitespace() || c.is_control()) {
            return Err(bad(&format!("{c:?} must be percent-encoded")));
        }
        check_escapes(url).map_err(|e| bad(&e))?;
        // The user information ends at the last '@' before the path.
        let authority_end = after.find(['/', '?']).unwrap_or(after.len());
        let (userinfo, rest) = match after[..authority_end].rfind('@') {
            Some(i) => (Some(&after[..i]), &after[i + 1..]),
            None => (None, after),
        };
        let (user, password) = match userinfo {
            None => (None, None),
            Some(u) => match u.split_once(':') {
                Some((user, pass)) => (Some(user), Some(pass)),
                None => (Some(u), None),
            },
        };
        let hosts_end = rest.find(['/', '?']).unwrap_or(rest.len());
        for host in rest[..hosts_end].split(',').filter(|h| !h.is_empty()) {
            let port = if let Some(v6) = host.strip_prefix('[') {
                let (_, after) = v6
                    .split_once(']')
                    .ok_or_else(|| bad(&format!("{host:?} opens '[' without ']'")))?;
                after.strip_prefix(':')
            } else {
                host.split_once(':').map(|(_, p)| p)
            };
            if let Some(p) = port {
                if p.parse::<u16>().ok().filter(|&p| p > 0).is_none() {
                    return Err(bad(&format!("port {p:?} is not a number from 1 to 65535")));
                }
            }
        }
        let mut password_param = false;
        if let Some((_, query)) = rest.split_once('?') {
            for p in query.split('&').filter(|p| !p.is_empty()) {
                match p.split_once('=') {
                    Some((k, _)) if !k.is_empty() => password_param |= k == "password",
                    _ => return Err(bad(&format!("parameter {p:?} is not key=value"))),
                }
            }
        }
        Ok(PgUrl {
            scheme,
            user,
            password,
            password_param,
            rest,
        })
    }
}

/// Every '%' starts two hex digits.
fn check_escapes(s: &str) -> Result<(), String> {
    let b = s.as_bytes();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' {
            let ok =
                b.len() > i + 2 && b[i + 1].is_ascii_hexdigit() && b[i + 2].is_ascii_hexdigit();
            if !ok {
                return Err("'%' is not followed by two hex digits".into());
            }
            i += 3;
        } else {
            i += 1;
        }
    }
    Ok(())
}

/// Octets outside RFC 3986's unreserved set as `%XX`.
fn percent_encode(octets: &[u8]) -> String {
    let mut out = String::with_capacity(octets.len());
    for &o in octets {
        if o.is_ascii_alphanumeric() || b"-._~".contains(&o) {
            out.push(char::from(o));
        } else {
            out.push_str(&format!("%{o:02X}"));
        }
    }
    out
}

/// A password read from `password-file`. Never printed: its `Debug` says only its length.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(Vec<u8>);

impl Secret {
    /// A secret of these octets (tests, tools).
    pub fn new(octets: impl Into<Vec<u8>>) -> Secret {
        Secret(octets.into())
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Secret({} octets)", self.0.len())
    }
}

/// TLS to the database, as `[server.postgresql] tls` says.
pub use schema::PgTls;

/// `[server.postgresql]` resolved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Postgresql {
    pub tls: PgTls,
    /// The CA certificates the database's certificate must chain to (`verify-full`).
    pub tls_ca_file: Option<PathBuf>,
    pub connect_timeout: Duration,
    /// The password read from `password-file` at load.
    pub password: Option<Secret>,
}

/// Everything about the store a server (or `lessor leases`) needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoreConfig {
    pub location: StoreLocation,
    /// This server's name in a shared lease set (`[server] name`, default the host name).
    pub name: String,
    /// `[server.postgresql]` with its defaults; `Some` exactly for a PostgreSQL store.
    pub postgresql: Option<Postgresql>,
}

/// Whether `name` may name a server: 1..=64 of `[A-Za-z0-9._-]`.
fn valid_name(name: &str) -> bool {
    (1..=MAX_NAME).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b))
}

/// The host name, as uname(2) gives it (the UTS namespace's).
pub fn host_name() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .map(|h| h.trim().to_owned())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "localhost".into())
}

/// Resolves `[server] store`, `name` and `[server.postgresql]` (relative paths from `dir`);
/// mistakes go to `out`. `None` when the store itself is unusable.
pub(super) fn resolve(
    s: &schema::Server,
    dir: &Path,
    host: &str,
    out: &mut Vec<Finding>,
) -> Option<StoreConfig> {
    let root = KeyPath::default().key("server");
    let location = match StoreLocation::parse(&s.store) {
        Ok(l) => l.relative_to(dir),
        Err(why) => {
            // The message never quotes the value: it may be a URL holding a password.
            out.push((root.key("store"), why));
            return None;
        }
    };
    let shared = matches!(location, StoreLocation::Postgres { .. });
    let name = match &s.name {
        Some(n) if !valid_name(n) => {
            out.push((
                root.key("name"),
                format!(
                    "{n:?} cannot name a server: 1 to {MAX_NAME} letters, digits, '.', '_' or \
                     '-'"
                ),
            ));
            n.clone()
        }
        Some(n) => n.clone(),
        None => {
            if shared && !valid_name(host) {
                out.push((
                    root.key("store"),
                    format!(
                        "the host name {host:?} cannot name this server in a shared store (1 to \
                         {MAX_NAME} letters, digits, '.', '_' or '-'): set [server] name"
                    ),
                ));
            }
            host.to_string()
        }
    };
    let pg = root.key("postgresql");
    let postgresql = match (&s.postgresql, shared) {
        (Some(_), false) => {
            out.push((
                pg.clone(),
                "[server.postgresql] is for a PostgreSQL store: [server] store is a SQLite \
                 file; remove this section or make the store a postgresql:// URL"
                    .into(),
            ));
            None
        }
        (None, false) => None,
        (p, true) => Some(postgresql(
            &p.clone().unwrap_or_default(),
            &location,
            dir,
            &pg,
            out,
        )),
    };
    Some(StoreConfig {
        location,
        name,
        postgresql,
    })
}

fn postgresql(
    p: &schema::Postgresql,
    location: &StoreLocation,
    dir: &Path,
    at: &KeyPath,
    out: &mut Vec<Finding>,
) -> Postgresql {
    let path = |p: &Path| {
        if p.is_relative() {
            dir.join(p)
        } else {
            p.to_path_buf()
        }
    };
    let tls_ca_file = p.tls_ca_file.as_deref().map(path);
    if let Some(ca) = &tls_ca_file {
        if !matches!(p.tls, PgTls::Require | PgTls::VerifyFull) {
            out.push((
                at.key("tls-ca-file"),
                format!(
                    "tls-ca-file is used only with tls = \"require\" or \"verify-full\" (tls is \
                     {:?}): set one of them, or remove tls-ca-file",
                    p.tls.as_str()
                ),
            ));
        } else if !ca.is_file() {
            out.push((
                at.key("tls-ca-file"),
                format!("{}: no such file", ca.display()),
            ));
        }
    }
    if p.connect_timeout.0 == 0 {
        out.push((
            at.key("connect-timeout"),
            "0s would give up before connecting: give at least \"1s\"".into(),
        ));
    }
    let password =
        p.password_file
            .as_deref()
            .map(path)
            .and_then(|file| match read_password(&file) {
                Ok(secret) => {
                    if location.has_password() {
                        out.push((
                            at.key("password-file"),
                            "the store URL carries a password too: keep only one (remove it from \
                         the URL)"
                                .into(),
                        ));
                    }
                    Some(secret)
                }
                Err(why) => {
                    out.push((at.key("password-file"), why));
                    None
                }
            });
    Postgresql {
        tls: p.tls,
        tls_ca_file,
        connect_timeout: p.connect_timeout.duration(),
        password,
    }
}

/// The password in `path`: its first line. The file must be its owner's only (mode 0600 or
/// stricter), as libpq asks of `.pgpass`.
fn read_password(path: &Path) -> Result<Secret, String> {
    use std::io::Read;
    use std::os::unix::fs::PermissionsExt;
    let shown = path.display();
    let file = std::fs::File::open(path)
        .map_err(|e| format!("cannot read the password file {shown}: {e}"))?;
    let mode = file
        .metadata()
        .map_err(|e| format!("cannot read the password file {shown}: {e}"))?
        .permissions()
        .mode();
    if mode & 0o077 != 0 {
        return Err(format!(
            "the password file {shown} is readable by others (mode {:04o}): chmod 600 it",
            mode & 0o7777
        ));
    }
    let mut text = Vec::new();
    file.take(MAX_PASSWORD_FILE + 1)
        .read_to_end(&mut text)
        .map_err(|e| format!("cannot read the password file {shown}: {e}"))?;
    if text.len() as u64 > MAX_PASSWORD_FILE {
        return Err(format!(
            "the password file {shown} is longer than {MAX_PASSWORD_FILE} octets: it should \
             hold one line"
        ));
    }
    let line = text.split(|&b| b == b'\n').next().unwrap_or_default();
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    if line.is_empty() {
        return Err(format!(
            "the password file {shown} is empty: its first line is the password"
        ));
    }
    Ok(Secret(line.to_vec()))
}

/// `[server.postgresql] connect-timeout`'s default.
pub fn default_connect_timeout() -> Seconds {
    Seconds(5)
}

#[cfg(test)]
mod tests;
