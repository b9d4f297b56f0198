//! `lessor demo`: the whole story on loopback, in a few seconds, without root. A server starts on
//! free ports of 127.0.0.1 (and of ::1) with its store in a temporary directory; simulated
//! clients behind a relay agent get bindings through the real protocol paths; then the questions
//! an access concentrator asks after a reboot: leasequery and bulk leasequery, for DHCPv4
//! ([`v4`]) and DHCPv6 ([`v6`]). Each step prints the command a user would type and then runs
//! exactly that command line, parsed by the same parser and printed by the same code, so what
//! the demo shows is what the commands show.
//!
//! The server runs in this process (`lessor_server::serve::run` on a thread): nothing outlives the
//! demo, whatever step fails. Only the server's own ports are picked by bind-and-release (the
//! server binds them itself); the relay agents' sockets are held from the start. A machine
//! without an IPv6 loopback (::1 cannot be bound) gets the DHCPv4 part and is told why the
//! DHCPv6 part is skipped.

mod v4;
mod v6;

use std::net::{IpAddr, SocketAddr, TcpListener, UdpSocket};
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
use lessor_config::LogLevel;

/// Most clients a demo runs: the DHCPv4 pool holds 241 addresses.
const MAX_CLIENTS: u32 = 200;
/// How long the server may take to open its sockets.
const START_TIMEOUT: Duration = Duration::from_secs(10);

#[derive(clap::Args)]
pub struct DemoArgs {
    /// Simulated clients of each family, each with its own MAC, circuit-id and client-id (DHCPv4)
    /// or DUID (DHCPv6) (1 to 200).
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
/// The server's log lines, sent one by one to the thread that prints them.
struct Lines(mpsc::Sender<String>);

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for Lines {
    type Writer = &'a Lines;
    fn make_writer(&'a self) -> &'a Lines {
        self
    }
}

impl std::io::Write for &Lines {
    /// The text layer writes each event whole, in one call.
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let line = String::from_utf8_lossy(buf);
        // The demo may have stopped listening; the line is then of no use.
        let _ = self.0.send(line.trim_end_matches('\n').to_owned());
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

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
                // The server's log, as text lines without the time, into the channel.
                let log = crate::logs::text_to(Lines(tx), false, LogLevel::Info);
                tracing::subscriber::with_default(log, || serve::run(&config, &flag))
            })
            .map_err(|e| format!("cannot start the server thread: {e}"))?;
        Ok(Server {
            stop,
            thread: Some(thread),
            log,
        })
    }

    /// Prints the server's log until a line starts with `ready` (what it logs once its last
    /// listener is open); an error if it ended or took too long.
    fn wait_ready(&mut self, ready: &str) -> Result<(), String> {
        let deadline = Instant::now() + START_TIMEOUT;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.log.recv_timeout(left) {
                Ok(line) => {
                    println!("lessor: {line}");
                    if line.starts_with(ready) {
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

/// One family's part of the loopback: the relay agent's socket (the server answers it there)
/// and the server's UDP and TCP ports on the same address.
struct Loopback {
    ip: IpAddr,
    relay: UdpSocket,
    relay_port: u16,
    port: u16,
    bulk_port: u16,
}

impl Loopback {
    /// An error (the reason) when `ip` cannot be bound.
    fn open(ip: IpAddr) -> Result<Loopback, String> {
        let relay = UdpSocket::bind((ip, 0))
            .map_err(|e| format!("cannot bind a UDP socket on {ip}: {e}"))?;
        let relay_port = relay.local_addr().map_err(|e| format!("{ip}: {e}"))?.port();
        Ok(Loopback {
            ip,
            relay,
            relay_port,
            port: free_port(ip, false)?,
            bulk_port: free_port(ip, true)?,
        })
    }

    /// The server's UDP address, as `--server` takes it.
    fn server(&self) -> String {
        SocketAddr::new(self.ip, self.port).to_string()
    }

    /// The server's bulk leasequery (TCP) address.
    fn bulk_server(&self) -> String {
        SocketAddr::new(self.ip, self.bulk_port).to_string()
    }

    /// "DHCPv4 and leasequery on udp ..., bulk leasequery on tcp ...".
    fn describe(&self, family: &str) -> String {
        format!(
            "{family} and leasequery on udp {}, bulk leasequery on tcp {}",
            self.server(),
            self.bulk_server()
        )
    }
}

/// A port that was free on `ip` a moment ago (the server binds it itself).
fn free_port(ip: IpAddr, tcp: bool) -> Result<u16, String> {
    let at = SocketAddr::new(ip, 0);
    let port = if tcp {
        TcpListener::bind(at).and_then(|l| l.local_addr())
    } else {
        UdpSocket::bind(at).and_then(|s| s.local_addr())
    };
    port.map(|a| a.port())
        .map_err(|e| format!("no free port on {ip}: {e}"))
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

/// The numbered steps, and the Ctrl-C flag they check between them.
struct Steps {
    done: u32,
    interrupted: Arc<AtomicBool>,
}

impl Steps {
    fn heading(&mut self, text: &str) {
        self.done += 1;
        println!("\n== {}. {text}", self.done);
    }

    /// An error once Ctrl-C was pressed, so the demo unwinds (stopping the server, removing its
    /// directory).
    fn check(&self) -> Result<(), String> {
        if self.interrupted.load(Ordering::Relaxed) {
            Err("interrupted".to_string())
        } else {
            Ok(())
        }
    }
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

/// The server's configuration: the store in `dir`, then each family's sections.
fn config_text(dir: &Path, v4: &v4::Setup, v6: Option<&v6::Setup>) -> String {
    // Debug quoting is a valid TOML basic string for any path a temporary directory has.
    let store = format!("{:?}", dir.join("lessor.db").display().to_string());
    let mut text = format!(
        "# Written by `lessor demo`: a loopback-only server on ports that were free.\n\
         [server]\nstore = {store}\n"
    );
    text.push_str(&v4.config_text());
    if let Some(v6) = v6 {
        text.push_str(&v6.config_text());
    }
    text
}

fn demo(args: &DemoArgs) -> Result<(), String> {
    let mut steps = Steps {
        done: 0,
        interrupted: interruptible()?,
    };
    let n = args.clients;
    println!(
        "lessor demo: a DHCPv4 and DHCPv6 server, {n} clients of each behind a relay agent, and \
         what an access concentrator can ask the server about them. Everything runs on loopback \
         (127.0.0.1, ::1), without root."
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
    let v4 = v4::Setup::open()?;
    let v6 = v6::Setup::open();
    let config_path = dir.path.join("lessor.toml");
    std::fs::write(&config_path, config_text(&dir.path, &v4, v6.as_ref().ok()))
        .map_err(|e| format!("cannot write {}: {e}", config_path.display()))?;
    let config = config::load(&config_path).map_err(|e| e.to_string())?;

    let mut served = v4.describe();
    if let Ok(v6) = &v6 {
        served = format!("{served}; {}", v6.describe());
    }
    steps.heading(&format!("The server: {served}"));
    println!("$ lessor serve --config {}", config_path.display());
    let mut running = Server::start(config)?;
    running.wait_ready(if v6.is_ok() { v6::READY } else { v4::READY })?;
    steps.check()?;

    v4.run(&mut steps, n)?;
    match v6 {
        Ok(v6) => v6.run(&mut steps, n)?,
        Err(why) => steps.heading(&format!(
            "DHCPv6: skipped, this machine has no IPv6 loopback ({why}); the DHCPv4 part above \
             is the whole demo here"
        )),
    }

    steps.heading("The end: the server stops (as `lessor serve` does on Ctrl-C)");
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
         \x20 lessor perf dora --server 127.0.0.1:6767 --bind 127.0.0.1:6768 --link-selection {} --client-id --clients 100\n\
         \x20 lessor query ip 198.51.100.10 198.51.100.11 --server 127.0.0.1:6767\n\
         \x20 lessor leases list --store var/lessor.db\n\
         \x20 lessor --help                      # every command; docs/operator-guide.md and docs/query.md explain them",
        v4::LINK
    );
}
