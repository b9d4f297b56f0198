//! `lessor`: the one binary. Each subcommand is a thin shell over a library crate.

mod bulk;
mod check;
mod cli;
mod ctl;
mod decode;
mod demo;
mod generate;
mod leases;
mod logs;
mod notify;
mod perf;
mod query;
mod relay;
mod serve;

use clap::{Parser, Subcommand};
use std::path::PathBuf;
use std::process::ExitCode;

/// Lessor: a DHCPv4/DHCPv6 server, relay agent and toolkit built around leasequery.
#[derive(Parser)]
#[command(name = "lessor", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// See Lessor work, on loopback, in a few seconds: a server, relayed DHCPv4 and DHCPv6
    /// clients, and what leasequery and bulk leasequery tell an access concentrator about them.
    Demo(demo::DemoArgs),
    /// Run the server until SIGINT/SIGTERM (without --config: embedded loopback-only defaults).
    Serve {
        /// The TOML configuration file.
        #[arg(long, short)]
        config: Option<PathBuf>,
    },
    /// Run the DHCPv4 relay agent (--config FILE), or ask a running one (--show, --verify).
    Relay(relay::RelayArgs),
    /// Validate a configuration file (a server's, or a relay's: one with a [relay] table);
    /// prints every mistake as FILE:LINE:COLUMN: KEY: MESSAGE.
    Check {
        /// The TOML configuration file.
        config: PathBuf,
        /// Check it as a relay's file whatever it holds.
        #[arg(long)]
        relay: bool,
    },
    /// Print a captured DHCPv4/DHCPv6 message (the UDP payload) as Lessor reads it.
    Decode {
        /// A file holding the message's raw octets.
        file: Option<PathBuf>,
        /// The message as hex text instead of a file ("01 01 06 00 ..." or "010106...").
        #[arg(long, conflicts_with = "file")]
        hex: Option<String>,
        /// Which protocol the octets are.
        #[arg(long, value_enum, default_value = "auto")]
        family: decode::Family,
    },
    /// Inspect the store's bindings, export them, import them (ISC dhcpd.leases or an export).
    Leases {
        #[command(subcommand)]
        command: leases::LeasesCommand,
    },
    /// Ask leasequery servers about addresses or clients (RFC 4388; exit 0 every one active,
    /// 1 any not, 2 any error).
    Query(query::QueryArgs),
    /// Ask a bulk leasequery server (TCP) for every binding of keys, streamed
    /// (draft-dtv-dhc-dhcpv4-bulk-leasequery-00 / RFC 6926; exit 0 every key found bindings,
    /// 1 any found none, 2 any error).
    Bulk(bulk::BulkArgs),
    /// Steer a running server through its control API ([control] socket or http-listen).
    Ctl(ctl::CtlArgs),
    /// Load generators: measure a DHCP server under load (see docs/perf.md).
    Perf {
        #[command(subcommand)]
        command: perf::PerfCommand,
    },
    /// Packaging: write the man pages, print shell completions (docs/operator-guide.md,
    /// "Installing").
    #[command(hide = true)]
    Generate {
        #[command(subcommand)]
        command: generate::GenerateCommand,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Demo(args) => demo::run(args),
        Command::Serve { config } => serve::run(config.as_deref()),
        Command::Check { config, relay } => check::run(&config, relay),
        Command::Relay(args) => relay::run(args),
        Command::Decode { file, hex, family } => decode::run(file, hex, family),
        Command::Leases { command } => leases::run(command),
        Command::Perf { command } => perf::run(command),
        Command::Query(args) => query::run(args),
        Command::Bulk(args) => bulk::run(args),
        Command::Generate { command } => generate::run(command),
        Command::Ctl(args) => ctl::run(args),
    }
}
