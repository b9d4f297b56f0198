//! `lessor perf`: load generators (a thin shell over `lessor-perf`).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use lessor_perf::bulk::{BulkConfig, BulkQuery, Query4, Query6};
use lessor_perf::dora::Config;
use lessor_perf::leasequery::run::{LqConfig, Query};
use lessor_perf::leasequery::{requestor_duid, Keys, Keys4, Keys6, Order};
use lessor_perf::sarr::{self, IaKinds};
use lessor_wire::framing::Dialect;
use lessor_wire::v6::Duid;

use crate::bulk::DialectArg;
use crate::cli::{
    parse_addresses, parse_duration, parse_hex, parse_key, parse_key6, parse_lines, parse_server,
    Kind,
};

#[derive(clap::Subcommand)]
pub enum PerfCommand {
    /// Relayed DHCPv4 DORA load: N simulated clients behind a relay, K exchanges at once.
    ///
    /// Replies from a server go to giaddr:relay-port, so bind the generator there: for a local
    /// server configured with relay-port = 6768, run
    /// `lessor perf dora --server 127.0.0.1:6767 --giaddr 127.0.0.1 --bind 127.0.0.1:6768`.
    /// See docs/perf.md.
    Dora(DoraArgs),
    /// Relayed DHCPv6 SARR load: SOLICIT / ADVERTISE / REQUEST / REPLY for IA_NA, IA_PD or both.
    ///
    /// The generator is the relay: every message goes in a RELAY-FORW (link-address, the
    /// client's link-local peer-address) to --server and the answer comes back in a RELAY-REPL
    /// to the socket (--bind; a port other than 547 adds the relay-source-port option, RFC 8357,
    /// so the server answers there). Clients start at --rate per second (open loop, at most
    /// --in-flight outstanding), or as fast as --in-flight allows without --rate. See
    /// docs/perf.md.
    Sarr(SarrArgs),
    /// Closed-loop leasequery load, DHCPv4 (RFC 4388) or DHCPv6 (RFC 5007) as --server is:
    /// K queries outstanding, exact latencies.
    ///
    /// DHCPv4: each query has giaddr = --giaddr (default: the address of --bind) and a unique
    /// xid; replies are matched by xid and counted as ACTIVE / UNASSIGNED / UNKNOWN / timeouts /
    /// unexpected. Lessor answers a requester at giaddr on its source port when the requester is
    /// in its `[leasequery4] reply-to-source-port`; otherwise (and ISC dhcpd, Kea) at giaddr:67,
    /// which needs --bind GIADDR:67.
    ///
    /// DHCPv6 (an IPv6 --server): QUERY_BY_ADDRESS (--by ip) or QUERY_BY_CLIENTID (--by
    /// client-id), answered to the socket's address and port; a LEASEQUERY-REPLY with
    /// CLIENT_DATA counts as active, one without as unknown, a failure status or CLIENT_LINK as
    /// other. See docs/perf.md.
    Leasequery(LeasequeryArgs),
    /// Time one bulk leasequery stream over TCP: bindings, octets, elapsed, bindings/s.
    ///
    /// Sends a bulk query (then --repeat - 1 more, one after the other on the same
    /// connection) and counts the replies without decoding them into bindings, so the server
    /// is what is measured; fails unless every query ends with DONE. An IPv6 --server makes it
    /// DHCPv6 bulk leasequery (RFC 5460). See docs/perf.md.
    Bulk(PerfBulkArgs),
}

#[derive(clap::Args)]
pub struct PerfBulkArgs {
    /// What VALUE is.
    #[arg(value_enum)]
    kind: Kind,
    /// The address or identifier, as for `lessor bulk` (a MAC is Ethernet, htype 1).
    #[arg(value_name = "VALUE")]
    value: String,
    /// The bulk leasequery server, ADDR or ADDR:PORT (port 67 by default; an IPv6 ADDR, port
    /// 547 by default, makes it a DHCPv6 bulk leasequery, RFC 5460).
    #[arg(long, value_name = "ADDR[:PORT]", value_parser = parse_server)]
    server: SocketAddr,
    /// DHCPv4: the dialect to speak [default: rfc6926].
    #[arg(long, value_enum)]
    dialect: Option<DialectArg>,
    /// DHCPv4: giaddr of the queries. Default: the connection's local address.
    #[arg(long)]
    giaddr: Option<Ipv4Addr>,
    /// DHCPv6: the link-address of the queries (`::` by default).
    #[arg(long, value_name = "ADDR")]
    link: Option<Ipv6Addr>,
    /// DHCPv6: the requestor's DUID in hex (default: a random DUID-UUID per run).
    #[arg(long, value_name = "HEX")]
    duid: Option<String>,
    /// DHCPv6: the enterprise number of a remote-id VALUE (RFC 4649).
    #[arg(long)]
    enterprise_number: Option<u32>,
    /// Queries in turn on the one connection (each after the previous one's DONE).
    #[arg(long, default_value_t = 1)]
    repeat: u32,
    /// Give up connecting, or a stream that sends nothing, after this long.
    #[arg(long, default_value = "10s", value_parser = parse_duration)]
    timeout: Duration,
    /// Print one JSON object instead of the text report.
    #[arg(long)]
    json: bool,
}

#[derive(clap::Args)]
pub struct LeasequeryArgs {
    /// The server, ADDR:PORT or ADDR (port 67, or 547 for IPv6); an IPv6 server makes a DHCPv6
    /// run.
    #[arg(long, value_name = "ADDR[:PORT]", value_parser = parse_server)]
    server: SocketAddr,
    /// DHCPv4: giaddr of every query (where answers go). Default: the address of --bind, when
    /// it is not 0.0.0.0.
    #[arg(long)]
    giaddr: Option<Ipv4Addr>,
    /// DHCPv6: link-address of every query (`::`: any link).
    #[arg(long, value_name = "ADDR")]
    link_address: Option<Ipv6Addr>,
    /// DHCPv6: the requestor's DUID (CLIENTID) in hex. Default: the DUID-LL
    /// 00:03:00:01:00:00:5e:00:53:01.
    #[arg(long, value_name = "HEX")]
    duid: Option<String>,
    /// Local ADDR:PORT of the UDP socket. Default: 0.0.0.0:0, or [::]:0 for an IPv6 --server.
    #[arg(long)]
    bind: Option<SocketAddr>,
    /// What the queries ask by (DHCPv6: ip or client-id).
    #[arg(long, value_enum)]
    by: Kind,
    /// Query by IP for every address FIRST-LAST in turn (with --by ip), IPv4 or IPv6.
    #[arg(long, value_name = "FIRST-LAST", value_parser = parse_addresses, conflicts_with = "from_file")]
    addresses: Option<(IpAddr, IpAddr)>,
    /// Query keys, one per line, written as the VALUE of `lessor query` ("#" comments).
    #[arg(long, value_name = "FILE")]
    from_file: Option<PathBuf>,
    /// Draw keys at random (seeded by --seed) instead of in turn.
    #[arg(long)]
    random: bool,
    /// Queries in the whole run.
    #[arg(long, default_value_t = 100_000)]
    queries: u64,
    /// Queries outstanding at once (closed loop).
    #[arg(long, default_value_t = 32)]
    in_flight: u32,
    /// Upper bound on the run ("30s", "2m", "500ms").
    #[arg(long, default_value = "60s", value_parser = parse_duration)]
    duration: Duration,
    /// Wait for an answer before the query counts as a timeout (no retransmissions).
    #[arg(long, default_value = "1s", value_parser = parse_duration)]
    timeout: Duration,
    /// Seed of transaction-ids and of --random (default: from the clock).
    #[arg(long)]
    seed: Option<u64>,
    /// Print one JSON object instead of the text report.
    #[arg(long)]
    json: bool,
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
    /// Times a client starts over with a DHCPDISCOVER after a DHCPNAK, as a real client does
    /// (RFC 2131 §3.1); 0: a DHCPNAK ends its exchange. Servers sharing a lease set NAK a
    /// client whose address another server gave away first.
    #[arg(long, value_name = "N", default_value_t = 0)]
    restart_on_nak: u32,
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
    /// Send a client identifier (option 61) in every message: type 1 and the client's MAC.
    #[arg(long)]
    client_id: bool,
    /// Seed of the simulated MACs and xids (default: from the clock). Same seed, same clients.
    #[arg(long)]
    seed: Option<u64>,
    /// Write "ADDRESS MAC" for every ACK to FILE, one line each, as they arrive.
    #[arg(long, value_name = "FILE")]
    acked_out: Option<PathBuf>,
    /// Clients on the link of --server (a server serving the link, or `lessor relay`'s
    /// downstream interface) instead of behind a simulated relay: no giaddr, no option 82, the
    /// BROADCAST flag set, so answers come by broadcast to port 68: bind 0.0.0.0:68 (as root).
    #[arg(long, conflicts_with_all = ["giaddr", "link_selection", "relay_id"])]
    on_link: bool,
    /// Print one JSON object instead of the text report.
    #[arg(long)]
    json: bool,
}

/// Which IAs each client asks for.
#[derive(Clone, Copy, clap::ValueEnum)]
enum IaArg {
    /// One IA_NA.
    Na,
    /// One IA_PD.
    Pd,
    /// One IA_NA and one IA_PD.
    Both,
}

#[derive(clap::Args)]
pub struct SarrArgs {
    /// The DHCPv6 server, ADDR or [ADDR]:PORT (port 547 by default).
    #[arg(long, value_name = "ADDR", value_parser = parse_server6)]
    server: SocketAddr,
    /// link-address of every RELAY-FORW (selects the server's link). Default: the address of
    /// --bind, when it is not ::.
    #[arg(long, value_name = "ADDR")]
    link_address: Option<Ipv6Addr>,
    /// Local [ADDR]:PORT of the UDP socket (the relay's address, where answers come).
    #[arg(long, default_value = "[::]:0")]
    bind: SocketAddr,
    /// What each client asks for.
    #[arg(long, value_enum, default_value = "na")]
    ia: IaArg,
    /// Clients in the whole run (each does one SARR).
    #[arg(long, default_value_t = 1000)]
    clients: u32,
    /// Reuse N identities (DUID, MAC, IAID) in turn, as perfdhcp's -R: a pool smaller than
    /// --clients (e.g. the 256 /56s of a /48) serves them all again and again.
    #[arg(long, value_name = "N")]
    distinct_clients: Option<u32>,
    /// New clients per second (open loop). Without it, clients start as fast as --in-flight
    /// allows (closed loop).
    #[arg(long)]
    rate: Option<u32>,
    /// Most clients with an exchange outstanding at once.
    #[arg(long, default_value_t = 256)]
    in_flight: u32,
    /// How long new clients are started ("30s", "2m", "500ms"); those outstanding then run to
    /// their end.
    #[arg(long, default_value = "60s", value_parser = parse_duration)]
    duration: Duration,
    /// Wait for the answer to one message before retransmitting.
    #[arg(long, default_value = "1s", value_parser = parse_duration)]
    timeout: Duration,
    /// Retransmissions before a message counts as dropped.
    #[arg(long, default_value_t = 2)]
    retries: u32,
    /// Interface-id option (18) in every RELAY-FORW: text, or hex as "0x...".
    #[arg(long, value_name = "TEXT|0xHEX", value_parser = parse_interface_id)]
    interface_id: Option<RelayId>,
    /// Remote-id option (37) with this enterprise number; the remote-id is the client's MAC.
    #[arg(long, value_name = "ENTERPRISE")]
    remote_id: Option<u32>,
    /// Relay-id option (53): the relay's DUID as hex, e.g. "00:02:00:00:ab:11:01".
    #[arg(long, value_name = "DUID", value_parser = parse_duid)]
    relay_id: Option<Duid>,
    /// Add the relay-source-port option (135, RFC 8357) even when bound to port 547.
    #[arg(long)]
    relay_source_port: bool,
    /// Seed of the simulated MACs, DUIDs and transaction-ids (default: from the clock).
    #[arg(long)]
    seed: Option<u64>,
    /// Write "DUID ADDRESS|PREFIX/LEN..." for every REPLY to FILE, one line each, as they arrive.
    #[arg(long, value_name = "FILE")]
    bound_out: Option<PathBuf>,
    /// Print one JSON object instead of the text report.
    #[arg(long)]
    json: bool,
}

/// ADDR (port 547) or [ADDR]:PORT, IPv6.
fn parse_server6(text: &str) -> Result<SocketAddr, String> {
    if let Ok(a) = text.parse::<SocketAddr>() {
        return Ok(a);
    }
    text.parse::<Ipv6Addr>()
        .map(|a| SocketAddr::from((a, 547)))
        .map_err(|_| format!("{text:?} is not an IPv6 ADDR or [ADDR]:PORT"))
}

/// Text, or hex after "0x" (as `interface-ids` in the [dhcp6] configuration).
fn parse_interface_id(text: &str) -> Result<RelayId, String> {
    match text.strip_prefix("0x") {
        Some(_) => parse_hex(text).map(RelayId),
        None => Ok(RelayId(text.as_bytes().to_vec())),
    }
}

fn parse_duid(text: &str) -> Result<Duid, String> {
    let bytes = parse_hex(text)?;
    Duid::parse(&bytes).map_err(|e| format!("{text:?} is not a DUID: {e}"))
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
        PerfCommand::Sarr(args) => perf_sarr(args),
        PerfCommand::Leasequery(args) => leasequery(args),
        PerfCommand::Bulk(args) => bulk(args),
    }
}

fn clock_seed() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(0)
}

fn giaddr_of(giaddr: Option<Ipv4Addr>, bind: SocketAddr) -> Option<Ipv4Addr> {
    match (giaddr, bind) {
        (Some(g), _) => Some(g),
        (None, SocketAddr::V4(b)) if !b.ip().is_unspecified() => Some(*b.ip()),
        _ => None,
    }
}

/// The run `lessor perf leasequery ARGS` makes; the family is --server's.
pub(crate) fn leasequery_config(args: &LeasequeryArgs) -> Result<LqConfig, String> {
    let query = if args.server.is_ipv4() {
        leasequery4(args)?
    } else {
        leasequery6(args)?
    };
    let seed = args.seed.unwrap_or_else(clock_seed);
    let mut config = LqConfig::asking(args.server, query);
    if let Some(bind) = args.bind {
        config.bind = bind;
    }
    config.order = if args.random {
        Order::Random(seed)
    } else {
        Order::Sequential
    };
    config.queries = args.queries;
    config.in_flight = args.in_flight;
    config.duration = args.duration;
    config.timeout = args.timeout;
    config.seed = seed;
    config.validate()?;
    Ok(config)
}

/// The body of --from-file, read through `parse` per line; errors name the file.
fn key_file<K>(
    path: &std::path::Path,
    parse: impl Fn(&str) -> Result<K, String>,
) -> Result<Vec<K>, String> {
    let body = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    parse_lines(&body, parse).map_err(|e| format!("{}: {e}", path.display()))
}

fn leasequery4(args: &LeasequeryArgs) -> Result<Query, String> {
    if args.link_address.is_some() || args.duid.is_some() {
        return Err(format!(
            "--link-address and --duid are DHCPv6 only; --server {} is IPv4",
            args.server
        ));
    }
    let bind = args
        .bind
        .unwrap_or(SocketAddr::from((Ipv4Addr::UNSPECIFIED, 0)));
    let giaddr = giaddr_of(args.giaddr, bind)
        .ok_or("give --giaddr (or --bind with a specific IPv4 address)")?;
    let keys = match (args.addresses, &args.from_file) {
        (Some((IpAddr::V4(first), IpAddr::V4(last))), None) if args.by == Kind::Ip => {
            Keys4::Range { first, last }
        }
        (Some((IpAddr::V4(_), _)), None) => {
            return Err("--addresses needs --by ip (use --from-file for others)".into())
        }
        (Some(_), None) => {
            return Err(format!(
                "--addresses: IPv6 addresses, but --server {} is IPv4",
                args.server
            ))
        }
        (None, Some(path)) => {
            let by = args.by;
            Keys::List(key_file(path, |v| parse_key(by, v, 1))?)
        }
        _ => return Err("give --addresses FIRST-LAST or --from-file FILE".into()),
    };
    Ok(Query::V4 { giaddr, keys })
}

fn leasequery6(args: &LeasequeryArgs) -> Result<Query, String> {
    if let Some(g) = args.giaddr {
        return Err(format!(
            "--giaddr {g} is DHCPv4 only: a DHCPv6 query is answered to the socket's address (--bind); --server {} is IPv6",
            args.server
        ));
    }
    if !matches!(args.by, Kind::Ip | Kind::ClientId) {
        return Err(format!(
            "--by {}: DHCPv6 leasequery over UDP asks by ip (QUERY_BY_ADDRESS) or client-id (QUERY_BY_CLIENTID) only (RFC 5007); use `lessor bulk` for the others",
            clap::ValueEnum::to_possible_value(&args.by)
                .map_or_else(String::new, |v| v.get_name().to_string())
        ));
    }
    let link = args.link_address.unwrap_or(Ipv6Addr::UNSPECIFIED);
    let requestor = match &args.duid {
        Some(text) => crate::query::v6::duid(Some(text), 0)?,
        None => requestor_duid(),
    };
    let keys = match (args.addresses, &args.from_file) {
        (Some((IpAddr::V6(first), IpAddr::V6(last))), None) if args.by == Kind::Ip => {
            Keys6::Range { first, last }
        }
        (Some((IpAddr::V6(_), _)), None) => {
            return Err("--addresses needs --by ip (use --from-file for client-ids)".into())
        }
        (Some(_), None) => {
            return Err(format!(
                "--addresses: IPv4 addresses, but --server {} is IPv6",
                args.server
            ))
        }
        (None, Some(path)) => {
            let by = args.by;
            Keys::List(key_file(path, |v| parse_key6(by, v, link, 0))?)
        }
        _ => return Err("give --addresses FIRST-LAST or --from-file FILE".into()),
    };
    Ok(Query::V6 {
        link_address: link,
        requestor,
        keys,
    })
}

fn leasequery(args: LeasequeryArgs) -> ExitCode {
    let config = match leasequery_config(&args) {
        Ok(c) => c,
        Err(e) => return fail(&e),
    };
    match lessor_perf::leasequery::run(&config) {
        Ok(report) => {
            if args.json {
                println!("{}", report.to_json());
            } else {
                print!("{}", report.to_text());
            }
            let c = report.counters;
            if config.server.is_ipv6()
                && c.sent > 0
                && c.answered() == 0
                && config.bind.port() != 546
            {
                eprintln!(
                    "lessor perf leasequery: hint: nothing answered the port bound ({}); servers \
                     that answer only port 546 (ISC dhcpd 4.4.3) need --bind [ADDR]:546 (as root)",
                    config.bind
                );
            }
            ExitCode::SUCCESS
        }
        Err(e) => fail(&format!("perf leasequery: {e}")),
    }
}

/// The run `lessor perf dora ARGS` makes.
pub(crate) fn dora_config(args: DoraArgs) -> Result<Config, String> {
    let giaddr = match giaddr_of(args.giaddr, args.bind) {
        _ if args.on_link => Ipv4Addr::UNSPECIFIED,
        Some(g) => g,
        None => return Err("give --giaddr (or --bind with a specific IPv4 address)".into()),
    };
    let seed = args.seed.unwrap_or_else(clock_seed);
    let mut config = Config::new(args.server, giaddr);
    config.bind = args.bind;
    config.clients = args.clients;
    config.in_flight = args.in_flight;
    config.duration = args.duration;
    config.timeout = args.timeout;
    config.retries = args.retries;
    config.nak_restarts = args.restart_on_nak;
    if let Some(RelayId(id)) = args.relay_id {
        config.relay_id = id;
    }
    config.link_selection = args.link_selection;
    config.release = args.release;
    config.client_id = args.client_id;
    config.seed = seed;
    config.acked_out = args.acked_out;
    config.on_link = args.on_link;
    config.validate()?;
    Ok(config)
}

fn dora(args: DoraArgs) -> ExitCode {
    let json = args.json;
    let config = match dora_config(args) {
        Ok(c) => c,
        Err(e) => return fail(&e),
    };
    match lessor_perf::dora::run(&config) {
        Ok(report) => {
            if json {
                println!("{}", report.to_json());
            } else {
                print!("{}", report.to_text());
            }
            ExitCode::SUCCESS
        }
        Err(e) => fail(&format!("perf dora: {e}")),
    }
}

/// The run `lessor perf sarr ARGS` makes.
pub(crate) fn sarr_config(args: SarrArgs) -> Result<sarr::Config, String> {
    let link_address = match (args.link_address, args.bind) {
        (Some(l), _) => l,
        (None, SocketAddr::V6(b)) if !b.ip().is_unspecified() => *b.ip(),
        _ => return Err("give --link-address (or --bind with a specific IPv6 address)".into()),
    };
    let mut config = sarr::Config::new(args.server, link_address);
    config.bind = args.bind;
    config.ia = match args.ia {
        IaArg::Na => IaKinds::Na,
        IaArg::Pd => IaKinds::Pd,
        IaArg::Both => IaKinds::Both,
    };
    config.clients = args.clients;
    config.distinct_clients = args.distinct_clients;
    config.rate = args.rate;
    config.in_flight = args.in_flight;
    config.duration = args.duration;
    config.timeout = args.timeout;
    config.retries = args.retries;
    config.relay.interface_id = args.interface_id.map(|RelayId(i)| i);
    config.relay.remote_id_enterprise = args.remote_id;
    config.relay.relay_id = args.relay_id;
    config.relay.source_port = args.relay_source_port;
    config.seed = args.seed.unwrap_or_else(clock_seed);
    config.bound_out = args.bound_out;
    config.validate()?;
    Ok(config)
}

fn perf_sarr(args: SarrArgs) -> ExitCode {
    let json = args.json;
    let config = match sarr_config(args) {
        Ok(c) => c,
        Err(e) => return fail(&e),
    };
    match sarr::run(&config) {
        Ok(report) => {
            if json {
                println!("{}", report.to_json());
            } else {
                print!("{}", report.to_text());
            }
            ExitCode::SUCCESS
        }
        Err(e) => fail(&format!("perf sarr: {e}")),
    }
}

/// The run `lessor perf bulk ARGS` makes, by family.
pub(crate) enum BulkRun {
    V4(BulkConfig<Query4>),
    V6(BulkConfig<Query6>),
}

/// The run `lessor perf bulk ARGS` makes: the family follows --server.
pub(crate) fn bulk_config(args: &PerfBulkArgs) -> Result<BulkRun, String> {
    let seed = clock_seed();
    let run = if args.server.is_ipv4() {
        if args.link.is_some() || args.duid.is_some() || args.enterprise_number.is_some() {
            return Err(
                "--link, --duid and --enterprise-number are DHCPv6 options (an IPv6 --server)"
                    .into(),
            );
        }
        let mut query = Query4::new(parse_key(args.kind, &args.value, 1)?);
        query.dialect = match args.dialect.unwrap_or(DialectArg::Rfc6926) {
            DialectArg::Draft => Dialect::Draft,
            DialectArg::Rfc6926 => Dialect::Rfc6926,
        };
        query.giaddr = args.giaddr;
        BulkRun::V4(bulk_common(
            BulkConfig::new(args.server, query),
            args,
            seed,
        )?)
    } else {
        if args.dialect.is_some() || args.giaddr.is_some() {
            return Err("--dialect and --giaddr are DHCPv4 options (an IPv4 --server)".into());
        }
        let key = parse_key6(
            args.kind,
            &args.value,
            args.link.unwrap_or(Ipv6Addr::UNSPECIFIED),
            args.enterprise_number.unwrap_or(0),
        )?;
        let requestor = crate::query::v6::duid(args.duid.as_deref(), seed)?;
        let query = Query6::new(key, requestor);
        BulkRun::V6(bulk_common(
            BulkConfig::new(args.server, query),
            args,
            seed,
        )?)
    };
    Ok(run)
}

/// What both families take from the command line.
fn bulk_common<Q: BulkQuery>(
    mut config: BulkConfig<Q>,
    args: &PerfBulkArgs,
    seed: u64,
) -> Result<BulkConfig<Q>, String> {
    config.repeat = args.repeat;
    config.timeout = args.timeout;
    config.xid = (seed >> 32) as u32;
    config.validate()?;
    Ok(config)
}

fn bulk(args: PerfBulkArgs) -> ExitCode {
    let report = match bulk_config(&args) {
        Ok(BulkRun::V4(c)) => lessor_perf::bulk::run(&c),
        Ok(BulkRun::V6(c)) => lessor_perf::bulk::run(&c),
        Err(e) => return fail(&e),
    };
    match report {
        Ok(report) => {
            if args.json {
                println!("{}", report.to_json());
            } else {
                print!("{}", report.to_text());
            }
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("lessor: perf bulk: {e}");
            ExitCode::from(1)
        }
    }
}

fn fail(message: &str) -> ExitCode {
    eprintln!("lessor: {message}");
    ExitCode::from(2)
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;
    use lessor_requestor::v6::QueryKey6;

    #[derive(clap::Parser)]
    struct Bulk {
        #[command(flatten)]
        args: PerfBulkArgs,
    }

    fn bulk(argv: &[&str]) -> Result<BulkRun, String> {
        let cli = Bulk::try_parse_from(std::iter::once("bulk").chain(argv.iter().copied()))
            .map_err(|e| e.to_string())?;
        bulk_config(&cli.args)
    }

    #[test]
    fn perf_bulk_family_follows_the_server() {
        let Ok(BulkRun::V4(c)) = bulk(&["relay-id", "c0:ff:ee", "--server", "127.0.0.1"]) else {
            panic!("not v4")
        };
        assert_eq!(c.server, "127.0.0.1:67".parse().unwrap());
        assert_eq!(c.query.dialect, Dialect::Rfc6926);

        let Ok(BulkRun::V6(c)) = bulk(&[
            "relay-id",
            "00030001020000000007",
            "--server",
            "[::1]:5547",
            "--repeat",
            "3",
            "--link",
            "2001:db8:1::1",
            "--duid",
            "0003000102000000aa99",
        ]) else {
            panic!("not v6")
        };
        assert_eq!(c.server, "[::1]:5547".parse().unwrap());
        assert_eq!(c.repeat, 3);
        assert!(c.xid <= 0x00ff_ffff || Query6::transaction_id(c.xid) <= 0x00ff_ffff);
        assert_eq!(
            c.query.key,
            QueryKey6::RelayId {
                duid: Duid::parse(&[0, 3, 0, 1, 2, 0, 0, 0, 0, 7]).unwrap(),
                link: "2001:db8:1::1".parse().unwrap(),
            }
        );
        assert_eq!(
            c.query.requestor,
            Duid::parse(&[0, 3, 0, 1, 2, 0, 0, 0, 0xaa, 0x99]).unwrap()
        );
        // Port 547 when none is given; remote-id with its enterprise number.
        let Ok(BulkRun::V6(c)) = bulk(&[
            "remote-id",
            "text:cpe-7",
            "--server",
            "2001:db8::1",
            "--enterprise-number",
            "9",
        ]) else {
            panic!("not v6")
        };
        assert_eq!(c.server.port(), 547);
        assert_eq!(c.query.by(), "remote-id");
    }

    #[test]
    fn perf_bulk_refuses_the_other_familys_options() {
        for argv in [
            &[
                "relay-id",
                "0003000102000000aa01",
                "--server",
                "::1",
                "--dialect",
                "draft",
            ][..],
            &[
                "relay-id",
                "0003000102000000aa01",
                "--server",
                "::1",
                "--giaddr",
                "192.0.2.1",
            ],
            &[
                "relay-id",
                "c0:ff:ee",
                "--server",
                "192.0.2.1",
                "--link",
                "2001:db8::1",
            ],
            &[
                "relay-id",
                "c0:ff:ee",
                "--server",
                "192.0.2.1",
                "--duid",
                "00030001",
            ],
            // No query by MAC in DHCPv6; a relay-id that is not a DUID; no link.
            &["mac", "02:00:00:00:00:01", "--server", "::1"],
            &["relay-id", "zz", "--server", "::1"],
            &["link-address", "::", "--server", "::1"],
            &[
                "relay-id",
                "0003000102000000aa01",
                "--server",
                "::1",
                "--repeat",
                "0",
            ],
        ] {
            assert!(bulk(argv).is_err(), "{argv:?}");
        }
    }
}
