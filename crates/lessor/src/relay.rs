//! `lessor relay`: run the relay agent (`--config FILE`), or ask a running one over its control
//! socket: `--show [--json]` prints the location table and the counters, `--verify IFACE ADDRESS
//! [MAC]` the source-verification verdict (exit 0 allowed, 1 not, 2 error), `--lookup ADDRESS
//! [--json]` the address's entry (exit 0 found, 1 not, 2 error). For an address the table does
//! not know, the relay asks the servers by UDP leasequery before it answers.

use clap::Args;
use lessor_relay::config;
use lessor_relay::shell::{control_request, control_request_line, counters_text, Relay};
use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;

#[derive(Args)]
pub struct RelayArgs {
    /// The relay's TOML configuration file (its own; see examples/relay.toml).
    #[arg(long, short)]
    config: Option<PathBuf>,
    /// Print the running relay's location table and counters.
    #[arg(long, conflicts_with_all = ["verify", "lookup"])]
    show: bool,
    /// With --show or --lookup: the answer as JSON.
    #[arg(long)]
    json: bool,
    /// Source verification: is ADDRESS (with MAC) allowed behind IFACE? Exit 0 yes, 1 no.
    #[arg(long, num_args = 2..=3, value_names = ["IFACE", "ADDRESS", "MAC"])]
    verify: Option<Vec<String>>,
    /// The entry of ADDRESS, asked of the servers by leasequery when the table has none. Exit 0
    /// found, 1 not.
    #[arg(long, value_name = "ADDRESS", conflicts_with = "verify")]
    lookup: Option<String>,
    /// The running relay's control socket (default: the one --config names).
    #[arg(long, conflicts_with = "config")]
    control: Option<PathBuf>,
}

pub fn run(args: RelayArgs) -> ExitCode {
    if args.json && !args.show && args.lookup.is_none() {
        eprintln!("lessor relay: --json goes with --show or --lookup");
        return ExitCode::from(2);
    }
    if args.show || args.verify.is_some() || args.lookup.is_some() {
        return ask(&args);
    }
    match &args.config {
        Some(path) => serve(path),
        None => {
            eprintln!(
                "lessor relay: --config FILE to run, or --show / --verify / --lookup to ask a running relay"
            );
            ExitCode::from(2)
        }
    }
}

fn load(path: &Path, what: &str) -> Option<config::Config> {
    match config::load(path) {
        Ok(c) => Some(c),
        Err(errors) => {
            eprintln!("{errors}");
            eprintln!(
                "lessor relay: {what}: the configuration has {} error(s)",
                errors.0.len()
            );
            None
        }
    }
}

fn serve(path: &Path) -> ExitCode {
    let Some(config) = load(path, "not started") else {
        return ExitCode::FAILURE;
    };
    let stop = Arc::new(AtomicBool::new(false));
    for signal in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
        if let Err(e) = signal_hook::flag::register(signal, Arc::clone(&stop)) {
            eprintln!("lessor relay: cannot handle signal {signal}: {e}");
            return ExitCode::FAILURE;
        }
    }
    if let Err(e) = crate::logs::init(config.log_format, config.log_level) {
        eprintln!("lessor relay: not started: {e}");
        return ExitCode::FAILURE;
    }
    let notifier = crate::serve::notifier();
    let relay = match Relay::start(&config) {
        Ok(r) => r,
        Err(e) => {
            tracing::error!(error = %e, "not started: {e}");
            return ExitCode::FAILURE;
        }
    };
    relay.recover(&config);
    let ready = relay.ready(&config);
    tracing::info!("{ready}");
    let notify = |sent: std::io::Result<()>| {
        if let Err(e) = sent {
            tracing::warn!(error = %e, "cannot notify systemd: {e}");
        }
    };
    if let Some(n) = &notifier {
        notify(n.ready(&ready));
    }
    let result = relay.run(&stop);
    if let Some(n) = &notifier {
        notify(n.stopping("stopping"));
    }
    let summary = relay.shutdown();
    tracing::info!("relay stopped: {summary}");
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(_) => ExitCode::FAILURE,
    }
}

fn ask(args: &RelayArgs) -> ExitCode {
    let control = match (&args.control, &args.config) {
        (Some(c), _) => c.clone(),
        (None, Some(path)) => match load(path, "cannot find the control socket") {
            Some(c) => c.control_socket,
            None => return ExitCode::from(2),
        },
        (None, None) => {
            eprintln!("lessor relay: which relay? --control PATH or --config FILE");
            return ExitCode::from(2);
        }
    };
    let request = match &args.verify {
        Some(v) => json!({
            "request": "verify",
            "interface": v[0],
            "address": v[1],
            "mac": v.get(2),
        }),
        None => match &args.lookup {
            Some(a) => json!({ "request": "lookup", "address": a }),
            None => json!({ "request": "show" }),
        },
    };
    if args.json && args.verify.is_none() && args.lookup.is_none() {
        // The table as the relay wrote it: never held as a JSON tree here either.
        return match control_request_line(&control, &request) {
            Ok(line) => {
                println!("{line}");
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("lessor relay: {e}");
                ExitCode::from(2)
            }
        };
    }
    let answer = match control_request(&control, &request) {
        Ok(a) => a,
        Err(e) => {
            eprintln!("lessor relay: {e}");
            return ExitCode::from(2);
        }
    };
    if args.verify.is_some() {
        let allowed = answer["allowed"].as_bool() == Some(true);
        println!(
            "{}: {}",
            if allowed { "yes" } else { "no" },
            answer["reason"].as_str().unwrap_or("")
        );
        return if allowed {
            ExitCode::SUCCESS
        } else {
            ExitCode::from(1)
        };
    }
    if args.lookup.is_some() {
        let found = answer["entry"].is_object();
        if args.json {
            println!("{answer}");
        } else {
            print!("{}", lookup_text(&answer));
        }
        return if found {
            ExitCode::SUCCESS
        } else {
            ExitCode::from(1)
        };
    }
    if args.json {
        println!("{answer}");
    } else {
        print!("{}", show_text(&answer));
    }
    ExitCode::SUCCESS
}

/// A lookup's answer: the entry as one row of the table, and what the servers said when they
/// were asked.
pub fn lookup_text(answer: &Value) -> String {
    let mut out = String::new();
    if let Some(l) = answer.get("leasequery") {
        out.push_str(&format!(
            "leasequery: {}{}{}\n",
            l["said"].as_str().unwrap_or("-"),
            l["server"]
                .as_str()
                .map(|s| format!(" from {s}"))
                .unwrap_or_default(),
            if l["from_cache"] == true {
                " (cached)"
            } else {
                ""
            }
        ));
    }
    if answer["entry"].is_object() {
        let table = show_text(&json!({
            "now": answer["now"],
            "relay_id": Value::Null,
            "entries": [answer["entry"].clone()],
            "counters": {},
        }));
        // The header and the row, without the relay-id and counters lines.
        for line in table.lines().skip(1).take(2) {
            out.push_str(line);
            out.push('\n');
        }
    } else {
        out.push_str("not in the table\n");
    }
    out
}

/// The table as aligned columns, then the counters.
pub fn show_text(answer: &Value) -> String {
    let now = answer["now"].as_u64().unwrap_or(0);
    let s = |v: &Value| v.as_str().unwrap_or("-").to_owned();
    let id = |text: &Value, hex: &Value| match text.as_str() {
        Some(t) => format!("{t:?}"),
        None => s(hex),
    };
    let mut rows = vec![[
        "ADDRESS",
        "CLIENT",
        "INTERFACE",
        "CIRCUIT-ID",
        "REMOTE-ID",
        "EXPIRES",
        "ORIGIN",
    ]
    .map(String::from)];
    for e in answer["entries"].as_array().into_iter().flatten() {
        let client = match (e["hardware"].as_str(), e["client_id"].as_str()) {
            (Some(h), _) => h.to_owned(),
            (None, Some(c)) => format!("id {c}"),
            _ => "-".into(),
        };
        let expires = match e["expires"].as_u64() {
            None => "never".into(),
            Some(t) => {
                let when = crate::leases::text::rfc3339(t).unwrap_or_else(|| t.to_string());
                match t.checked_sub(now) {
                    Some(left) => format!(
                        "{when} (in {})",
                        lessor_server::config::Seconds(left.min(u64::from(u32::MAX)) as u32)
                    ),
                    None => format!("{when} (ended)"),
                }
            }
        };
        rows.push([
            s(&e["bound"]),
            client,
            s(&e["interface"]),
            id(&e["circuit_id"], &e["circuit_id_hex"]),
            id(&e["remote_id"], &e["remote_id_hex"]),
            expires,
            s(&e["origin"]),
        ]);
    }
    let widths: Vec<usize> = (0..7)
        .map(|c| rows.iter().map(|r| r[c].chars().count()).max().unwrap_or(0))
        .collect();
    let mut out = format!("relay-id {}\n", s(&answer["relay_id"]));
    for r in &rows {
        let line: Vec<String> = r
            .iter()
            .zip(&widths)
            .map(|(cell, w)| format!("{cell:<w$}"))
            .collect();
        out.push_str(line.join("  ").trim_end());
        out.push('\n');
    }
    out.push_str(&format!(
        "counters: {}\n",
        counters_text(&answer["counters"])
    ));
    out
}
