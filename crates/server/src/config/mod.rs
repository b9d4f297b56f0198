//! The server's configuration: read one TOML file, check every rule, and either return a fully
//! resolved [`Config`] or every mistake with file, line, column and key. A server never starts
//! on a config that failed here.

pub mod dhcp6;
mod duration;
mod error;
mod locate;
pub mod options;
pub mod options6;
pub mod schema;
mod validate;
mod validate6;

pub use dhcp6::{
    AddressPool6, ConfiguredOption6, Dhcp6, Lifetimes6, Link6, PrefixPool6, Reservation6,
    ServerDuid,
};
pub use duration::Seconds;
pub use error::{ConfigError, ConfigErrors};
pub use locate::{KeyPath, Position, Segment};
pub use validate::{ClientKey, Dhcp4, Leasequery4, Pool, Reservation, Subnet, Timers};

use std::net::Ipv4Addr;
use std::path::Path;
use toml_edit::ImDocument;

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
    /// `[leasequery6]` as written (checked).
    pub leasequery6: Option<schema::Leasequery6>,
    /// What the file should say differently though it loads (the earlier layout), located like
    /// errors; `lessor check` prints them and `lessor serve` logs them.
    pub warnings: Vec<ConfigError>,
}

/// Reads and checks the config at `path`. A relative `[server] store` is taken from the config
/// file's directory, so the server and the `lessor leases` commands find the same store whatever
/// their working directory.
pub fn load(path: &Path) -> Result<Config, ConfigErrors> {
    let name = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|e| {
        ConfigErrors(vec![ConfigError {
            file: name.clone(),
            position: None,
            key: KeyPath::default(),
            message: format!("cannot read: {e}"),
        }])
    })?;
    let mut config = parse(&text, &name)?;
    if config.file.server.store.is_relative() {
        let dir = path.parent().unwrap_or(Path::new("."));
        config.file.server.store = dir.join(&config.file.server.store);
    }
    Ok(config)
}

/// Checks config `text`; `file` names it in errors.
pub fn parse(text: &str, file: &str) -> Result<Config, ConfigErrors> {
    let error = |offset: Option<usize>, key: KeyPath, message: String| ConfigError {
        file: file.to_owned(),
        position: offset.map(|o| locate::position(text, o)),
        key,
        message,
    };
    let doc = ImDocument::parse(text).map_err(|e| {
        let message = e.message().trim().to_owned();
        ConfigErrors(vec![error(
            e.span().map(|s| s.start),
            KeyPath::default(),
            message,
        )])
    })?;
    let parsed: schema::File = serde_path_to_error::deserialize(toml::Deserializer::new(text))
        .map_err(|e| {
            let key = key_path(e.path());
            let offset = e
                .inner()
                .span()
                .map(|s| s.start)
                .or_else(|| locate::locate(&doc, &key));
            ConfigErrors(vec![error(offset, key, e.inner().message().to_owned())])
        })?;

    let mut findings = Vec::new();
    let mut warnings = Vec::new();
    validate::server(&parsed.server, &mut findings);
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
    let leasequery6 = parsed
        .leasequery6
        .as_ref()
        .map(|l| validate6::leasequery6(l, parsed.dhcp6.is_some(), &mut findings));
    let located = |findings: Vec<validate::Finding>| -> Vec<ConfigError> {
        findings
            .into_iter()
            .map(|(key, message)| error(locate::locate(&doc, &key), key, message))
            .collect()
    };
    if findings.is_empty() {
        return Ok(Config {
            file: parsed,
            dhcp4,
            leasequery4,
            dhcp6,
            leasequery6,
            warnings: located(warnings),
        });
    }
    Err(ConfigErrors(located(findings)))
}

fn key_path(path: &serde_path_to_error::Path) -> KeyPath {
    use serde_path_to_error::Segment as S;
    KeyPath(
        path.iter()
            .filter_map(|s| match s {
                S::Seq { index } => Some(Segment::Index(*index)),
                S::Map { key } => Some(Segment::Key(key.clone())),
                S::Enum { variant } => Some(Segment::Key(variant.clone())),
                S::Unknown => None,
            })
            .collect(),
    )
}

#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests6;
