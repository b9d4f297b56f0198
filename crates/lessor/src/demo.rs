//! `lessor demo`: the whole story on loopback, in a few seconds, without root. A server starts on
//! free ports of 127.0.0.1 with its store in a temporary directory; simulated clients behind a
//! relay agent (option 82: circuit-id, remote-id, relay-id) get leases through DORA; then the
//! questions an access concentrator asks after a reboot: leasequery by IP, MAC and client-id, and
//! a bulk leasequery by relay-id. Each step prints the command a user would type and then runs
//! exactly that command line, parsed by the same parser and printed by the same code, so what
//! the demo shows is what the commands show.
//!
//! The server runs in this process (`lessor_server::serve::run` on a thread): nothing outlives the
//! demo, whatever step fails. Only the server's own ports are picked by bind-and-release (the
//! server binds them itself); the relay agent's socket is held from the start.

use std::net::{Ipv4Addr, TcpListener, UdpSocket};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc};
use std::thread::JoinHandle;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use clap::Parser;
use lessor_server::config;
use lessor_server::serve::{self, ServeError};

use crate::{Cli, Command};

/// Most clients a demo runs: the pool holds 241 addresses.
const MAX_CLIENTS: u32 = 200;
/// The clients' subnet, named by the relay agent in link-selection (giaddr 127.0.0.1 is not on it).
const SUBNET: &str = "198.51.100.0/24";
const POOL: &str = "198.51.100.10-198.51.100.250";
const LINK: Ipv4Addr = Ipv4Addr::new(198, 51, 100, 1);
/// How long the server may take to open its sockets.
const START_TIMEOUT: Duration = Duration::from_secs(10);
/// What the server logs once its last listener (bulk leasequery) is open.
const READY: &str = "bulk leasequery: listening";

#[derive(clap::Args)]
pub struct DemoArgs {
    /// Simulated clients, each with its own MAC, circuit-id and client-id (1 to 200).
    #[arg(long, default_value_t = 24, value_parser = clap::value_parser!(u32).range(1..=i64::from(MAX_CLIENTS)))]
    clients: u32,
    /// Keep the temporary directory (configuration and lease store) instead of removing it.
    #[arg(long)]
    keep: bool,
}

pub fn run(args: DemoArgs) -> ExitCode {
    match demo(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("lessor demo: {e}");
            ExitCode::from(2)
        }
    }
}

/// The temporary directory: removed when dropped (also when a step failed), unless kept.
struct WorkDir {
    path: PathBuf,
    keep: bool,
}

impl WorkDir {
    fn create(keep: bool) -> Result<WorkDir, String> {
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos());
        let path =
            std::env::temp_dir().join(format!("lessor-demo-{}-{nanos:09}", std::process::id()));
        // create_dir, not create_dir_all: never adopt a directory someone else made.
        std::fs::create_dir(&path).map_err(|e| format!("cannot create {}: {e}", path.display()))?;
        Ok(WorkDir { path, keep })
    }

    /// Removes the directory unless kept, reporting a failure (drop only warns).
    fn finish(mut self) -> Result<(), String> {
        let keep = std::mem::replace(&mut self.keep, true);
        if keep {
            return Ok(());
        }
        std::fs::remove_dir_all(&self.path)
            .map_err(|e| format!("cannot remove {}: {e}", self.path.display()))
    }
}

impl Drop for WorkDir {
    fn drop(&mut self) {
        if !self.keep {
            if let Err(e) = std::fs::remove_dir_all(&self.path) {
                eprintln!("lessor demo: cannot remove {}: {e}", self.path.display());
            }
        }
    }
}

/// The server thread: told to stop and joined when dropped, so no thread outlives the demo.
struct Server {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<Result<(), ServeError>>>,
    log: mpsc::Receiver<String>,
}

impl Server {
    fn start(config: config::Config) -> Result<Server, String> {
        let stop = Arc::new(AtomicBool::new(false));
        let (tx, log) = mpsc::channel();
        let flag = Arc::clone(&stop);
        let thread = std::thread::Builder::new()
            .name("lessor-demo-server".into())
            .spawn(move || {
                let log = move |line: &str| {
                    // The demo may have stopped listening; the line is then of no use.
                    let _ = tx.send(line.to_owned());
                };
                serve::run(&config, &flag, &log)
            })
            .map_err(|e| format!("cannot start the server thread: {e}"))?;
        Ok(Server {
            stop,
            thread: Some(thread),
            log,
        })
    }

    /// Prints the server's log until it says it is ready; an error if it ended or took too long.
    fn wait_ready(&mut self) -> Result<(), String> {
        let deadline = Instant::now() + START_TIMEOUT;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.log.recv_timeout(left) {
                Ok(line) => {
                    println!("lessor: {line}");
                    if line.starts_with(READY) {
                        return Ok(());
                    }
                }
                // The thread ended, so the log's sender is gone: it failed to start.
                Err(mpsc::RecvTimeoutError::Disconnected) => {
                    let why = match self.join() {
                        Some(Err(e)) => e.to_string(),
                        Some(Ok(())) => "it stopped at once".into(),
                        None => "its thread panicked".into(),
                    };
                    return Err(format!("the server did not start: {why}"));
                }
                Err(mpsc::RecvTimeoutError::Timeout) => {
                    return Err(format!(
                        "the server did not open its sockets within {} s",
                        START_TIMEOUT.as_secs()
                    ))
                }
            }
        }
    }

    /// Stops the server and prints what it logged meanwhile.
    fn stop(mut self) -> Result<(), String> {
        let result = self.join();
        for line in self.log.try_iter() {
            println!("lessor: {line}");
        }
        match result {
            Some(Ok(())) => Ok(()),
            Some(Err(e)) => Err(format!("the server stopped with an error: {e}")),
            None => Err("the server thread panicked".into()),
        }
    }

    /// `None` when the thread panicked (or was joined before).
    fn join(&mut self) -> Option<Result<(), ServeError>> {
        self.stop.store(true, Ordering::Relaxed);
        self.thread.take()?.join().ok()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.join();
    }
}

/// A port that was free on 127.0.0.1 a moment ago (the server binds it itself).
fn free_port(tcp: bool) -> Result<u16, String> {
    let port = if tcp {
        TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr())
    } else {
        UdpSocket::bind("127.0.0.1:0").and_then(|s| s.local_addr())
    };
    port.map(|a| a.port())
        .map_err(|e| format!("no free port on 127.0.0.1: {e}"))
}

/// The server's configuration: loopback only, relays from 127.0.0.0/8, leasequery and bulk
/// leasequery for 127.0.0.0/8, the store in `dir`.
fn config_text(dir: &Path, port: u16, relay_port: u16, bulk_port: u16) -> String {
    // Debug quoting is a valid TOML basic string for any path a temporary directory has.
    let store = format!("{:?}", dir.join("lessor.db").display().to_string());
    format!(
        r#"# Written by `lessor demo`: a loopback-only server on ports that were free.
[server]
store = {store}

[dhcp4]
server-identifier = "127.0.0.1"
listen = ["127.0.0.1"]
port = {port}
relay-port = {relay_port}
relays = ["127.0.0.0/8"]
lease-time = "1h"

[[dhcp4.subnet]]
prefix = "{SUBNET}"
pools = ["{POOL}"]
options = {{ routers = ["{LINK}"] }}

[leasequery4]
requesters = ["127.0.0.0/8"]
reply-to-source-port = ["127.0.0.0/8"]

[leasequery4.bulk]
listen = ["127.0.0.1"]
port = {bulk_port}
"#
    )
}

/// Prints `$ lessor ARGS` and parses exactly those words as the `lessor` command line would.
fn command(words: &[String]) -> Result<Command, String> {
    println!("$ lessor {}", words.join(" "));
    let argv = std::iter::once("lessor".to_string()).chain(words.iter().cloned());
    Cli::try_parse_from(argv)
        .map(|cli| cli.command)
        .map_err(|e| format!("lessor {}: {e}", words.join(" ")))
}

fn words(text: &str) -> Vec<String> {
    text.split_whitespace().map(str::to_owned).collect()
}

fn heading(text: &str) {
    println!("\n== {text}");
}

/// A first Ctrl-C (or SIGTERM) sets the flag, which the demo checks between steps so it still
/// stops the server and removes its directory; a second one ends the process at once.
fn interruptible() -> Result<Arc<AtomicBool>, String> {
    let flag = Arc::new(AtomicBool::new(false));
    for signal in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
        signal_hook::flag::register_conditional_default(signal, Arc::clone(&flag))
            .and_then(|_| signal_hook::flag::register(signal, Arc::clone(&flag)))
            .map_err(|e| format!("cannot handle signal {signal}: {e}"))?;
    }
    Ok(flag)
}

fn demo(args: &DemoArgs) -> Result<(), String> {
    let interrupted = interruptible()?;
    let step = || {
        if interrupted.load(Ordering::Relaxed) {
            Err("interrupted".to_string())
        } else {
            Ok(())
        }
    };
    let n = args.clients;
    println!(
        "lessor demo: a DHCPv4 server, {n} clients behind a relay agent, and what an access \
         concentrator can ask the server about them. Everything runs on 127.0.0.1, without root."
    );
    let dir = WorkDir::create(args.keep)?;
    println!(
        "Configuration and lease store: {} ({})",
        dir.path.display(),
        if args.keep {
            "kept: --keep"
        } else {
            "removed at the end; --keep keeps it"
        }
    );

    // The relay agent's socket: the server sends its replies to giaddr:relay-port, here.
    let relay = UdpSocket::bind("127.0.0.1:0")
        .map_err(|e| format!("cannot bind a UDP socket on 127.0.0.1: {e}"))?;
    let relay_port = relay
        .local_addr()
        .map_err(|e| format!("127.0.0.1: {e}"))?
        .port();
    let (port, bulk_port) = (free_port(false)?, free_port(true)?);
    let config_path = dir.path.join("lessor.toml");
    std::fs::write(
        &config_path,
        config_text(&dir.path, port, relay_port, bulk_port),
    )
    .map_err(|e| format!("cannot write {}: {e}", config_path.display()))?;
    let config = config::load(&config_path).map_err(|e| e.to_string())?;
    let server = format!("127.0.0.1:{port}");
    let bulk_server = format!("127.0.0.1:{bulk_port}");

    heading(&format!(
        "1. The server: DHCPv4 and leasequery on udp {server}, bulk leasequery on tcp {bulk_server}"
    ));
    println!("$ lessor serve --config {}", config_path.display());
    let mut running = Server::start(config)?;
    running.wait_ready()?;
    step()?;

    heading(&format!(
        "2. {n} clients get leases through a relay agent (giaddr 127.0.0.1) that adds option 82: \
         circuit-id, remote-id (the MAC), link-selection (the clients' subnet) and relay-id \
         (sub-option 12, \"{}\")",
        String::from_utf8_lossy(lessor_perf::dora::DEFAULT_RELAY_ID)
    ));
    let Command::Perf {
        command: crate::perf::PerfCommand::Dora(dora),
    } = command(&words(&format!(
        "perf dora --server {server} --bind 127.0.0.1:{relay_port} --link-selection {LINK} \
         --client-id --clients {n}"
    )))?
    else {
        return Err("the perf dora command line did not parse as one".into());
    };
    let dora = crate::perf::dora_config(dora)?;
    let report = lessor_perf::dora::run_on(&dora, &relay).map_err(|e| format!("perf dora: {e}"))?;
    print!("{}", report.to_text());
    drop(relay);
    if report.completed != u64::from(n) {
        return Err(format!(
            "only {} of {n} DORAs completed (see the report above)",
            report.completed
        ));
    }
    let Some((address, mac)) = report.acked.first() else {
        return Err("no client got a lease".into());
    };
    let mac = lessor_wire::hex::colon(mac);
    step()?;

    heading(
        "3. Leasequery (RFC 4388, UDP): an access concentrator that lost its state asks about \
         one client",
    );
    for (what, kind, value) in [
        ("By IP address (ciaddr):", "ip", address.to_string()),
        ("By MAC address (chaddr):", "mac", mac.clone()),
        (
            "By client identifier (option 61: type 1 and the MAC):",
            "client-id",
            format!("01:{mac}"),
        ),
    ] {
        println!("{what}");
        let Command::Query(query) =
            command(&words(&format!("query {kind} {value} --server {server}")))?
        else {
            return Err("the query command line did not parse as one".into());
        };
        match crate::query::query(&query)? {
            0 => {}
            _ => {
                return Err(format!(
                    "the query by {kind} found no active lease for {value}"
                ))
            }
        }
        step()?;
    }

    heading(
        "4. Bulk leasequery (RFC 6926, TCP): every binding behind one relay agent, by its relay-id",
    );
    let relay_id = String::from_utf8_lossy(lessor_perf::dora::DEFAULT_RELAY_ID).into_owned();
    let Command::Bulk(bulk) = command(&words(&format!(
        "bulk relay-id {relay_id} --server {bulk_server}"
    )))?
    else {
        return Err("the bulk command line did not parse as one".into());
    };
    let done = crate::bulk::bulk(&bulk)?;
    if done.code != 0 || done.bindings != u64::from(n) {
        return Err(format!(
            "the bulk query by relay-id listed {} of the {n} bindings",
            done.bindings
        ));
    }
    println!("{} bindings, all of them.", done.bindings);

    heading("5. The end: the server stops (as `lessor serve` does on Ctrl-C)");
    running.stop()?;
    dir.finish()?;
    next_steps(args, &config_path);
    Ok(())
}

fn next_steps(args: &DemoArgs, config: &Path) {
    let dir = config.parent().unwrap_or(config);
    if args.keep {
        println!(
            "Kept {}. To serve these leases again (same ports) and query them:",
            dir.display()
        );
        println!("  lessor serve --config {}", config.display());
        println!(
            "  lessor leases list --store {}",
            dir.join("lessor.db").display()
        );
    } else {
        println!("Removed {}.", dir.display());
    }
    println!(
        "\nTry next (`lessor` is target/release/lessor after `cargo build --release -p lessor`):\n\
         \x20 lessor serve                       # the server on its embedded defaults: udp 127.0.0.1:6767, store var/lessor.db\n\
         \x20 lessor perf dora --server 127.0.0.1:6767 --bind 127.0.0.1:6768 --link-selection {LINK} --client-id --clients 100\n\
         \x20 lessor query ip 198.51.100.10 198.51.100.11 --server 127.0.0.1:6767\n\
         \x20 lessor leases list --store var/lessor.db\n\
         \x20 lessor --help                      # every command; docs/operator-guide.md and docs/query.md explain them"
    );
}
