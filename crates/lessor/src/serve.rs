//! `lessor serve [--config FILE]`: run the server until SIGINT or SIGTERM; SIGHUP reloads FILE
//! (docs/operator-guide.md, "Reloading the configuration"). Without a config it runs on its
//! embedded defaults (examples/lessor-local.toml): loopback only, no root needed.
//! Under systemd (`NOTIFY_SOCKET`) it says when it is ready and when it stops ([`crate::notify`]).

use lessor_server::config;
use lessor_server::serve;
use std::path::Path;
use std::process::ExitCode;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;

/// The embedded default configuration.
pub const LOCAL_DEFAULTS: &str = include_str!("../../../examples/lessor-local.toml");

pub fn run(config_path: Option<&Path>) -> ExitCode {
    let loaded = match config_path {
        Some(path) => serve::Reloader::load(path.to_path_buf()),
        None => config::parse(LOCAL_DEFAULTS, "(embedded defaults)")
            .map(|c| (serve::Reloader::without_file(&c), c)),
    };
    let (reloader, config) = match loaded {
        Ok(c) => c,
        Err(errors) => {
            eprintln!("{errors}");
            eprintln!(
                "lessor serve: not started: the configuration has {} error(s)",
                errors.0.len()
            );
            return ExitCode::FAILURE;
        }
    };
    let server = &config.file.server;
    if let Err(e) = crate::logs::init(server.log_format, server.log_level) {
        eprintln!("lessor serve: not started: {e}");
        return ExitCode::FAILURE;
    }
    if config_path.is_none() {
        tracing::info!("no --config: running on the embedded defaults (loopback only, port 6767)");
    }
    for w in &config.warnings {
        tracing::warn!(
            location = %w.location(),
            "config: {}: {}",
            w.location(),
            w.message
        );
    }
    let stop = Arc::new(AtomicBool::new(false));
    for signal in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
        if let Err(e) = signal_hook::flag::register(signal, Arc::clone(&stop)) {
            eprintln!("lessor serve: cannot handle signal {signal}: {e}");
            return ExitCode::FAILURE;
        }
    }
    if let Err(e) = signal_hook::flag::register(signal_hook::consts::SIGHUP, reloader.signal_flag())
    {
        eprintln!("lessor serve: cannot handle SIGHUP: {e}");
        return ExitCode::FAILURE;
    }
    let notifier = notifier();
    let lifecycle = |event: serve::Lifecycle| {
        let Some(n) = &notifier else { return };
        let sent = match event {
            serve::Lifecycle::Ready {
                bindings4,
                bindings6,
                services,
            } => n.ready(&format!(
                "serving {}; {bindings4} DHCPv4 and {bindings6} DHCPv6 binding(s) loaded",
                match services.is_empty() {
                    true => "nothing".to_string(),
                    false => services.join(", "),
                }
            )),
            serve::Lifecycle::Stopping => n.stopping("stopping: making the store durable"),
        };
        if let Err(e) = sent {
            tracing::warn!(error = %e, "cannot notify systemd: {e}");
        }
    };
    match serve::run_with(&config, &reloader, &stop, &lifecycle) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!(error = %e, "{e}");
            ExitCode::FAILURE
        }
    }
}

/// The supervisor's notification socket, if there is one; a warning when it cannot be reached.
pub(crate) fn notifier() -> Option<crate::notify::Notifier> {
    crate::notify::Notifier::from_env().unwrap_or_else(|e| {
        tracing::warn!(error = %e, "cannot notify systemd: {e}");
        None
    })
}
