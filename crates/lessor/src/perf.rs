//! `lessor perf`: load generators (a thin shell over `lessor-perf`).

use std::net::{Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use lessor_perf::{parse_duration, parse_hex, Config};

#[derive(clap::Subcommand)]
pub enum PerfCommand {
    /// Relayed DHCPv4 DORA load: N simulated clients behind a relay, K exchanges at once.
    ///
    /// Replies from a server go to giaddr:relay-port, so bind the generator there: for a local
    /// server configured with relay-port = 6768, run
    /// `lessor perf dora --server 127.0.0.1:6767 --giaddr 127.0.0.1 --bind 127.0.0.1:6768`.
    /// See docs/perf.md.
    Dora(DoraArgs),
}

#[derive(clap::Args)]
pub struct DoraArgs {
    /// The DHCPv4 server, ADDR:PORT.
    #[arg(long)]
    server: SocketAddr,
    /// Relay agent address written into giaddr (the server replies to giaddr:relay-port).
    /// Default: the address of --bind, when it is not 0.0.0.0.
    #[arg(long)]
    giaddr: Option<Ipv4Addr>,
    /// Local ADDR:PORT of the UDP socket; must receive what is sent to giaddr:relay-port.
    #[arg(long, default_value = "0.0.0.0:0")]
    bind: SocketAddr,
    /// Clients in the whole run (each does one DORA).
    #[arg(long, default_value_t = 1000)]
    clients: u32,
    /// Clients with an exchange outstanding at once (closed loop).
    #[arg(long, default_value_t = 64)]
    in_flight: u32,
    /// Upper bound on the run ("30s", "2m", "1m30s", "500ms").
    #[arg(long, default_value = "60s", value_parser = parse_duration)]
    duration: Duration,
    /// Wait for the answer to one message before retransmitting.
    #[arg(long, default_value = "1s", value_parser = parse_duration)]
    timeout: Duration,
    /// Retransmissions before a message counts as dropped.
    #[arg(long, default_value_t = 2)]
    retries: u32,
    /// Relay-id (option 82 sub-option 12) as hex, e.g. "c0:ff:ee". Default: "lessor-perf".
    #[arg(long, value_parser = parse_relay_id)]
    relay_id: Option<RelayId>,
    /// Link-selection (option 82 sub-option 5, RFC 3527): an address of the subnet to allocate
    /// from, when giaddr is not on the clients' link (e.g. giaddr 127.0.0.1 in a local test).
    #[arg(long, value_name = "ADDR")]
    link_selection: Option<Ipv4Addr>,
    /// Send a DHCPRELEASE after each ACK.
    #[arg(long)]
    release: bool,
    /// Seed of the simulated MACs and xids (default: from the clock). Same seed, same clients.
    #[arg(long)]
    seed: Option<u64>,
    /// Write "ADDRESS MAC" for every ACK to FILE, one line each, as they arrive.
    #[arg(long, value_name = "FILE")]
    acked_out: Option<PathBuf>,
    /// Print one JSON object instead of the text report.
    #[arg(long)]
    json: bool,
}

/// Relay-id octets (a newtype so clap does not take `Vec` as "several values").
#[derive(Clone)]
struct RelayId(Vec<u8>);

fn parse_relay_id(text: &str) -> Result<RelayId, String> {
    parse_hex(text).map(RelayId)
}

pub fn run(command: PerfCommand) -> ExitCode {
    match command {
        PerfCommand::Dora(args) => dora(args),
    }
}

fn dora(args: DoraArgs) -> ExitCode {
    let giaddr = match (args.giaddr, args.bind) {
        (Some(g), _) => g,
        (None, SocketAddr::V4(b)) if !b.ip().is_unspecified() => *b.ip(),
        _ => return fail("give --giaddr (or --bind with a specific IPv4 address)"),
    };
    let seed = args.seed.unwrap_or_else(|| {
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64)
            .unwrap_or(0)
    });
    let mut config = Config::new(args.server, giaddr);
    config.bind = args.bind;
    config.clients = args.clients;
    config.in_flight = args.in_flight;
    config.duration = args.duration;
    config.timeout = args.timeout;
    config.retries = args.retries;
    if let Some(RelayId(id)) = args.relay_id {
        config.relay_id = id;
    }
    config.link_selection = args.link_selection;
    config.release = args.release;
    config.seed = seed;
    config.acked_out = args.acked_out;
    if let Err(e) = config.validate() {
        return fail(&e);
    }
    match lessor_perf::run(&config) {
        Ok(report) => {
            if args.json {
                println!("{}", report.to_json());
            } else {
                print!("{}", report.to_text());
            }
            ExitCode::SUCCESS
        }
        Err(e) => fail(&format!("perf dora: {e}")),
    }
}

fn fail(message: &str) -> ExitCode {
    eprintln!("lessor: {message}");
    ExitCode::from(2)
}
