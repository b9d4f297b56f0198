//! Reloading the configuration without a restart (SIGHUP, `lessor ctl reload`;
//! docs/operator-guide.md, "Reloading the configuration").
//!
//! A [`Reloader`] is made from the file the server started with and handed to [`super::run_with`],
//! which attaches the running services to it. [`Reloader::reload`] reads the file again, checks
//! it as `lessor check` does, refuses it whole if it does not validate or changes what only a
//! restart can ([`crate::config::live::restart_only`]), and otherwise gives each service its
//! part: the engines reconfigure under their lock (their state kept), the responders and the
//! bulk services are replaced for the next batch or connection. Nothing in the store, the
//! outbox, an offer or a bulk connection in progress is touched.

use super::udp4::Handle4;
use super::udp6::Handle6;
use crate::config::{self, live, Config, ConfigError, ConfigErrors};
use crate::{bulk4, bulk6};
use std::fmt;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// What a reload applied: [`fmt::Display`] is the log line after "reload: ".
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReloadSummary {
    /// `[[dhcp4.subnet]]` in the new config.
    pub subnets: usize,
    /// `[[dhcp6.link]]` in the new config.
    pub links: usize,
    /// Entries of `[leasequery4] requesters` and `[leasequery6] requesters`.
    pub requesters: usize,
    /// The keys that changed, as `section.key` ([`live::changed`]).
    pub changed: Vec<String>,
    /// The new config's warnings, located (as at start).
    pub warnings: Vec<String>,
}

impl fmt::Display for ReloadSummary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "applied ({} subnets", self.subnets)?;
        if self.links > 0 {
            write!(f, ", {} links", self.links)?;
        }
        write!(f, ", {} requesters; changed: ", self.requesters)?;
        if self.changed.is_empty() {
            write!(f, "nothing)")
        } else {
            write!(f, "{})", self.changed.join(", "))
        }
    }
}

/// Why a reload was refused; the running configuration is kept. [`fmt::Display`] is the log
/// line after "reload: ".
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReloadError {
    /// The server runs on its embedded defaults: there is no file to read again.
    NoFile,
    /// The server is not serving (yet, or any more).
    NotServing,
    /// The file does not read or validate.
    Invalid(ConfigErrors),
    /// It changes keys only a restart can apply, each located in the new file.
    NeedsRestart(Vec<ConfigError>),
}

impl fmt::Display for ReloadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let errors = match self {
            ReloadError::NoFile => {
                return write!(
                    f,
                    "nothing to reload: the server runs on its embedded defaults (no --config)"
                )
            }
            ReloadError::NotServing => return write!(f, "refused: the server is not serving"),
            ReloadError::Invalid(e) => &e.0,
            ReloadError::NeedsRestart(e) => e,
        };
        let each: Vec<String> = errors.iter().map(ToString::to_string).collect();
        write!(
            f,
            "refused: {}; the running configuration is kept",
            each.join("; ")
        )
    }
}

impl std::error::Error for ReloadError {}

/// The running services a reload reaches.
#[derive(Clone, Default)]
pub(super) struct Targets {
    pub(super) udp4: Option<Handle4>,
    pub(super) udp6: Option<Handle6>,
    pub(super) bulk4: Option<bulk4::Reload>,
    pub(super) bulk6: Option<bulk6::Reload>,
    /// The DHCPv6 server DUID (wire form), for the DHCPv6 bulk parameters.
    pub(super) duid6: Option<Vec<u8>>,
    /// The control API, whose leasequery answers with the config's subnets and links.
    pub(super) control: Option<Arc<crate::control::Control>>,
}

struct State {
    /// The running config and the text it was read from.
    current: Config,
    text: String,
    targets: Option<Targets>,
}

struct Inner {
    path: Option<PathBuf>,
    /// Set by SIGHUP (`signal_hook::flag`); the serve loop reloads when it finds it set.
    requested: Arc<AtomicBool>,
    state: Mutex<State>,
}

/// Reloads the running server's configuration from its file. Cloneable: the serve loop (for
/// SIGHUP) and a control thread share one; reloads run one at a time.
#[derive(Clone)]
pub struct Reloader(Arc<Inner>);

impl fmt::Debug for Reloader {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Reloader")
            .field("path", &self.0.path)
            .finish_non_exhaustive()
    }
}

impl Reloader {
    /// Reads and checks the config at `path`: the reloader and the config to serve.
    pub fn load(path: PathBuf) -> Result<(Reloader, Config), ConfigErrors> {
        let (config, text) = config::load_text(&path)?;
        Ok((Reloader::with(Some(path), config.clone(), text), config))
    }

    /// A reloader for a server started without a file (embedded defaults, tests): every
    /// reload answers [`ReloadError::NoFile`].
    pub fn without_file(config: &Config) -> Reloader {
        Reloader::with(None, config.clone(), String::new())
    }

    fn with(path: Option<PathBuf>, current: Config, text: String) -> Reloader {
        Reloader(Arc::new(Inner {
            path,
            requested: Arc::new(AtomicBool::new(false)),
            state: Mutex::new(State {
                current,
                text,
                targets: None,
            }),
        }))
    }

    /// The flag SIGHUP sets (register it with `signal_hook::flag::register`): the serve loop
    /// reloads within [`super::TICK`] and logs the outcome.
    pub fn signal_flag(&self) -> Arc<AtomicBool> {
        Arc::clone(&self.0.requested)
    }

    /// Whether a reload was asked for by signal since the last call.
    pub(super) fn take_signal(&self) -> bool {
        self.0.requested.swap(false, Ordering::Relaxed)
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.0.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub(super) fn attach(&self, targets: Targets) {
        self.state().targets = Some(targets);
    }

    pub(super) fn detach(&self) {
        self.state().targets = None;
    }

    /// The running config (what the last reload applied).
    pub fn current(&self) -> Config {
        self.state().current.clone()
    }

    /// `[server] stats-interval` of the running config.
    pub(super) fn stats_interval(&self) -> Duration {
        self.state().current.file.server.stats_interval.duration()
    }

    /// Reads the file again and applies it, or refuses it and keeps the running one. The
    /// caller logs `reload: {outcome}` (the serve loop does for SIGHUP).
    pub fn reload(&self) -> Result<ReloadSummary, ReloadError> {
        let Some(path) = &self.0.path else {
            return Err(ReloadError::NoFile);
        };
        let mut state = self.state();
        let Some(targets) = state.targets.clone() else {
            return Err(ReloadError::NotServing);
        };
        let (next, text) = config::load_text(path).map_err(ReloadError::Invalid)?;
        let frozen = live::restart_only(&state.current, &next);
        if !frozen.is_empty() {
            let name = path.display().to_string();
            let located = match lessor_config::Source::parse(&text, &name) {
                Ok(source) => source.errors(frozen),
                // It parsed a moment ago; a file replaced since is read at the next reload.
                Err(e) => e.0,
            };
            return Err(ReloadError::NeedsRestart(located));
        }
        apply(&targets, &next);
        let summary = ReloadSummary {
            subnets: next.dhcp4.as_ref().map_or(0, |d| d.subnets.len()),
            links: next.dhcp6.as_ref().map_or(0, |d| d.links.len()),
            requesters: next.leasequery4.as_ref().map_or(0, |l| l.requesters.len())
                + next.leasequery6.as_ref().map_or(0, |l| l.requesters.len()),
            changed: live::changed(&state.text, &text),
            warnings: next
                .warnings
                .iter()
                .map(|w| format!("{}: {}", w.location(), w.message))
                .collect(),
        };
        state.current = next;
        state.text = text;
        Ok(summary)
    }

    /// [`Reloader::reload`], its outcome logged: "reload: applied (...)", "reload: refused:
    /// ...", and the new config's warnings.
    pub fn reload_logged(&self) -> Result<ReloadSummary, ReloadError> {
        tracing::debug!("reload: asked");
        let outcome = self.reload();
        match &outcome {
            Ok(summary) => {
                for w in &summary.warnings {
                    tracing::warn!("config: {w}");
                }
                tracing::info!(changed = %summary.changed.join(", "), "reload: {summary}");
            }
            Err(e) => tracing::warn!("reload: {e}"),
        }
        outcome
    }
}

/// Gives each running service its part of `config`.
fn apply(targets: &Targets, config: &Config) {
    if let Some(udp4) = &targets.udp4 {
        udp4.reconfigure(config);
    }
    if let Some(udp6) = &targets.udp6 {
        udp6.reconfigure(config);
    }
    if let Some(bulk4) = &targets.bulk4 {
        super::bulk::reconfigure4(bulk4, config);
    }
    if let Some(bulk6) = &targets.bulk6 {
        super::bulk::reconfigure6(bulk6, config, targets.duid6.as_deref());
    }
    if let Some(control) = &targets.control {
        control.reconfigure(config);
    }
}
