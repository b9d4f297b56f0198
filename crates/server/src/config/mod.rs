//! The server's configuration: read one TOML file, check every rule, and either return a fully
//! resolved [`Config`] or every mistake with file, line, column and key. A server never starts
//! on a config that failed here.

pub mod control;
pub mod dhcp6;
pub mod live;
pub mod options;
pub mod options6;
pub mod schema;
pub mod store;
mod validate;
mod validate6;

pub use dhcp6::{
    AddressPool6, ConfiguredOption6, Dhcp6, Lifetimes6, Link6, PrefixPool6, Reservation6,
    ServerDuid,
};
// Located errors and durations live in lessor-config (shared with the relay's file); the
// paths `config::Seconds`, `config::ConfigError`... stay what they were.
pub(crate) use lessor_config::{duration, locate};
pub use lessor_config::{ConfigError, ConfigErrors, KeyPath, Position, Seconds, Segment};
pub use validate::{ClientKey, Dhcp4, Leasequery4, Pool, Reservation, Subnet, Timers};

use std::net::Ipv4Addr;
use std::path::Path;

/// A config that passed every check.
#[derive(Debug, Clone)]
pub struct Config {
    /// The file as written (with defaults filled in).
    pub file: schema::File,
    /// `[dhcp4]` with its server identifier, subnets, pools, timers and options resolved.
    pub dhcp4: Option<Dhcp4>,
    /// `[leasequery4]` (or the earlier `[leasequery]`) with its server identifier resolved.
    pub leasequery4: Option<Leasequery4>,
    /// `[dhcp6]` with its links, pools, lifetimes and options resolved.
    pub dhcp6: Option<Dhcp6>,
    /// `[leasequery6]`, checked (it needs `[dhcp6]`).
    pub leasequery6: Option<schema::Leasequery6>,
    /// `[server] store`, `name` and `[server.postgresql]` resolved (a relative SQLite path
    /// taken from the config file's directory, the password file read).
    pub store: store::StoreConfig,
    /// `[control]` with its paths resolved and its token read.
    pub control: Option<control::Control>,
    /// The file this config was loaded from ([`load`]); `None` from text ([`parse`]). The
    /// control API's config-test checks it again.
    pub path: Option<std::path::PathBuf>,
    /// What the file should say differently though it loads (the earlier layout), located like
    /// errors; `lessor check` prints them and `lessor serve` logs them.
    pub warnings: Vec<ConfigError>,
}

/// Reads and checks the config at `path`. A relative `[server] store` is taken from the config
/// file's directory, so the server and the `lessor leases` commands find the same store whatever
/// their working directory.
pub fn load(path: &Path) -> Result<Config, ConfigErrors> {
    load_text(path).map(|(config, _)| config)
}

/// [`load`], with the text it read: a reload compares it with the next one
/// ([`live::changed`]).
pub fn load_text(path: &Path) -> Result<(Config, String), ConfigErrors> {
    let name = path.display().to_string();
    let text = lessor_config::read(path)?;
    let dir = path.parent().unwrap_or(Path::new("."));
    let mut config = parse_in(&text, &name, dir, &store::host_name())?;
    config.path = Some(path.to_path_buf());
    Ok((config, text))
}

/// Checks config `text`; `file` names it in errors. Relative paths of `[control]` are taken
/// from the working directory.
pub fn parse(text: &str, file: &str) -> Result<Config, ConfigErrors> {
    parse_in(text, file, Path::new(""), &store::host_name())
}

/// [`parse`], with relative paths (`[control]`, a SQLite store, `[server.postgresql]`'s
/// files) taken from `dir` (the config file's directory), and `host` the host name (the default
/// `[server] name`).
fn parse_in(text: &str, file: &str, dir: &Path, host: &str) -> Result<Config, ConfigErrors> {
    let source = lessor_config::Source::parse(text, file)?;
    let parsed: schema::File = source.deserialize()?;
    let mut findings = Vec::new();
    let mut warnings = Vec::new();
    validate::server(&parsed.server, &mut findings);
    let store = store::resolve(&parsed.server, dir, host, &mut findings);
    if let Some(m) = &parsed.metrics {
        validate::metrics(m, &mut findings);
    }
    let identity = validate::identity4(&parsed, &mut findings, &mut warnings);
    // A missing identifier is already reported; the sections are checked all the same.
    let fallback = Ipv4Addr::UNSPECIFIED;
    let dhcp4 = parsed
        .dhcp4
        .as_ref()
        .map(|d| validate::dhcp4(d, identity.dhcp4.unwrap_or(fallback), &mut findings));
    let leasequery4 = identity.leasequery.and_then(|(section, id)| {
        let l = parsed.leasequery4.as_ref().or(parsed.leasequery.as_ref())?;
        Some(validate::leasequery4(
            l,
            section,
            id.unwrap_or(fallback),
            &mut findings,
        ))
    });
    let dhcp6 = parsed
        .dhcp6
        .as_ref()
        .map(|d| validate6::dhcp6(d, &mut findings));
    if let Some(l) = &parsed.leasequery6 {
        validate6::leasequery6(l, parsed.dhcp6.is_some(), &mut findings);
    }
    let leasequery6 = parsed.leasequery6.clone();
    let control = parsed
        .control
        .as_ref()
        .and_then(|c| control::resolve(c, dir, &mut findings));
    let located = |findings: Vec<validate::Finding>| source.errors(findings);
    if let (true, Some(store)) = (findings.is_empty(), store) {
        return Ok(Config {
            file: parsed,
            store,
            dhcp4,
            leasequery4,
            dhcp6,
            leasequery6,
            control,
            path: None,
            warnings: located(warnings),
        });
    }
    Err(ConfigErrors(located(findings)))
}

#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests6;
