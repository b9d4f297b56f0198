//! `lessor`: the one binary. Each subcommand is a thin shell over a library crate.

mod check;

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
    /// Validate a configuration file; prints every mistake as FILE:LINE:COLUMN: KEY: MESSAGE.
    Check {
        /// The TOML configuration file.
        config: PathBuf,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Check { config } => check::run(&config),
    }
}
