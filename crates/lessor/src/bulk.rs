//! `lessor bulk`: ask a bulk leasequery server (TCP) for every binding matching each key, printed
//! as they arrive (a thin shell over `lessor_requestor::bulk::tcp`). See docs/query.md.

use std::io::{IsTerminal, Write};
use std::net::{Ipv4Addr, SocketAddr};
use std::process::ExitCode;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use lessor_requestor::bulk::tcp::{self, Config};
use lessor_requestor::bulk::{End, TimeRange};
use lessor_requestor::QueryKey;
use lessor_wire::framing::Dialect;
use serde_json::{json, Value};

use crate::cli::{parse_duration, parse_key, parse_server, Kind};
use crate::leases::text::parse_time;
use crate::query::{lease_json, query_json};

/// The framing and messages to speak (docs/protocol.md decision 1).
#[derive(Clone, Copy, clap::ValueEnum)]
pub enum DialectArg {
    /// draft-dtv-dhc-dhcpv4-bulk-leasequery-00: 4-octet framing, DHCPLEASEQUERY.
    Draft,
    /// RFC 6926: 2-octet framing, DHCPBULKLEASEQUERY.
    Rfc6926,
}

#[derive(clap::Args)]
pub struct BulkArgs {
    /// What VALUE is.
    #[arg(value_enum)]
    kind: Kind,
    /// The addresses or identifiers, as for `lessor query`: one query each, in turn.
    #[arg(value_name = "VALUE", required = true)]
    values: Vec<String>,
    /// The bulk leasequery server, ADDR or ADDR:PORT (port 67 by default; an IPv6 ADDR, port
    /// 547 by default, makes it a DHCPv6 bulk leasequery, RFC 5460).
    #[arg(long, value_name = "ADDR[:PORT]", value_parser = parse_server)]
    server: SocketAddr,
    /// The dialect to speak.
    #[arg(long, value_enum, default_value = "rfc6926")]
    dialect: DialectArg,
    /// giaddr of the query. Default: the connection's local address.
    #[arg(long)]
    giaddr: Option<Ipv4Addr>,
    /// BULK_LQ_CONN_TIMEOUT and BULK_LQ_DATA_TIMEOUT: give up a connection attempt, or a stream
    /// that blocks, after this long ("30s", "1m").
    #[arg(long, default_value = "30s", value_parser = parse_duration)]
    timeout: Duration,
    /// BULK_LQ_MAX_RETRY: failed connections are retried after 1 s, 2 s, 4 s, ... while the
    /// wait stays within this ("0s": no retry).
    #[arg(long, default_value = "60s", value_parser = parse_duration)]
    max_retry: Duration,
    /// Hardware type of a MAC query (1: Ethernet).
    #[arg(long, default_value_t = 1)]
    htype: u8,
    /// Only bindings whose client-last-transaction-time is at or after T, including those no
    /// longer active (listed as unassigned): RFC 6926 query-start-time (154), rfc6926 dialect
    /// only. T: epoch seconds or RFC 3339 ("2026-11-23T22:54:04Z").
    #[arg(long, value_name = "T", value_parser = parse_epoch)]
    query_start_time: Option<u32>,
    /// Only bindings whose client-last-transaction-time is at or before T (RFC 6926
    /// query-end-time, 155), as --query-start-time.
    #[arg(long, value_name = "T", value_parser = parse_epoch)]
    query_end_time: Option<u32>,
    /// Print one JSON object per binding, one per line, instead of the table.
    #[arg(long)]
    json: bool,
    /// DHCPv6: the link-address of the queries (`::` by default).
    #[arg(long, value_name = "ADDR")]
    link: Option<std::net::Ipv6Addr>,
    /// DHCPv6: the requestor's DUID in hex (default: a random DUID-UUID per run).
    #[arg(long, value_name = "HEX")]
    duid: Option<String>,
    /// DHCPv6: the enterprise number of a remote-id VALUE (RFC 4649).
    #[arg(long, default_value_t = 0)]
    enterprise_number: u32,
}

/// A time option 154/155 can carry: 32-bit seconds since the epoch.
fn parse_epoch(text: &str) -> Result<u32, String> {
    let t = parse_time(text)?;
    u32::try_from(t).map_err(|_| {
        format!("{text:?} is after 2106-02-07T06:28:15Z, the last time options 154/155 can carry")
    })
}

pub fn run(args: BulkArgs) -> ExitCode {
    match bulk(&args) {
        Ok(done) => ExitCode::from(done.code),
        Err(e) => {
            eprintln!("lessor bulk: {e}");
            ExitCode::from(2)
        }
    }
}

mod line;
mod v6;

/// Output is written in pieces of about this many octets (a pipe or a file): one write per
/// line would cost a system call per binding.
const FLUSH_AT: usize = 64 * 1024;

/// Fixed column widths (the rows are printed as they arrive); the last column is not padded.
const COLUMNS: [(&str, usize); 9] = [
    ("ADDRESS", 15),
    ("STATE", 10),
    ("MAC", 17),
    ("CLIENT-ID", 20),
    ("LEASE", 9),
    ("CLTT", 12),
    ("CIRCUIT-ID", 16),
    ("REMOTE-ID", 16),
    ("RELAY-ID", 0),
];

fn line(cells: &[String]) -> String {
    let mut out = String::new();
    for (i, (cell, (_, width))) in cells.iter().zip(COLUMNS).enumerate() {
        if i + 1 == COLUMNS.len() {
            out.push_str(cell);
        } else {
            out.push_str(&format!("{cell:<width$}  "));
        }
    }
    out
}

/// How the rows of one run look: with several VALUEs, a first column QUERY names the VALUE each
/// row answers (as wide as the longest VALUE).
struct Table {
    query_width: Option<usize>,
    header_done: bool,
}

impl Table {
    fn row(&self, query: &str, cells: &[String]) -> String {
        match self.query_width {
            Some(w) => format!("{query:<w$}  {}", line(cells)),
            None => line(cells),
        }
    }

    fn header(&self) -> String {
        let names: Vec<String> = COLUMNS.iter().map(|(n, _)| (*n).to_string()).collect();
        self.row("QUERY", &names)
    }
}

/// Why one key's query did not run to its end.
enum Failure {
    /// This key only: the others are still asked.
    Key(String),
    /// The server cannot be reached: asking the other keys would only wait again.
    Server(String),
}

/// What a run of [`bulk`] did.
pub(crate) struct Done {
    /// The exit code: 0 when every key found bindings, 1 when any found none, 2 when any failed.
    pub code: u8,
    /// Bindings printed, all keys together.
    pub bindings: u64,
}

/// Runs one query per VALUE, in turn, each on its own connection, printing the bindings.
pub(crate) fn bulk(args: &BulkArgs) -> Result<Done, String> {
    if args.server.is_ipv6() {
        return v6::bulk(args);
    }
    let keys = args
        .values
        .iter()
        .map(|v| parse_key(args.kind, v, args.htype))
        .collect::<Result<Vec<_>, _>>()?;
    if matches!(args.kind, Kind::Ip) && matches!(args.dialect, DialectArg::Rfc6926) {
        // A server would answer MalformedQuery: RFC 6926 queries need ciaddr 0.
        return Err(
            "RFC 6926 has no query by IP address: use `lessor query ip` or --dialect draft".into(),
        );
    }
    if !args.server.is_ipv4() {
        return Err("bulk leasequery servers are IPv4 addresses".into());
    }
    let dialect = match args.dialect {
        DialectArg::Draft => Dialect::Draft,
        DialectArg::Rfc6926 => Dialect::Rfc6926,
    };
    let times = TimeRange {
        start: args.query_start_time,
        end: args.query_end_time,
    };
    if !times.is_empty() && dialect == Dialect::Draft {
        return Err(
            "--query-start-time and --query-end-time are RFC 6926 options (154, 155); \
             the draft dialect has none: use --dialect rfc6926"
                .into(),
        );
    }
    if let (Some(start), Some(end)) = (times.start, times.end) {
        if start > end {
            return Err(format!(
                "--query-start-time {start} is after --query-end-time {end}"
            ));
        }
    }
    let mut config = Config::new(dialect);
    config.giaddr = args.giaddr;
    config.conn_timeout = args.timeout;
    config.data_timeout = args.timeout;
    config.max_retry = args.max_retry;
    config.times = times;
    let first_xid = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos())
        ^ std::process::id().rotate_left(16);
    let mut table = Table {
        query_width: (keys.len() > 1)
            .then(|| args.values.iter().map(|v| v.chars().count()).max())
            .flatten()
            .map(|w| w.max("QUERY".len())),
        header_done: false,
    };
    let mut done = Done {
        code: 0,
        bindings: 0,
    };
    for (i, (key, value)) in keys.iter().zip(&args.values).enumerate() {
        config.xid = first_xid.wrapping_add(i as u32).max(1);
        match one(
            args,
            key,
            value,
            config.clone(),
            &mut table,
            &mut done.bindings,
        ) {
            Ok(Some(c)) => done.code = done.code.max(c),
            // stdout closed (e.g. `| head`): stop quietly.
            Ok(None) => return Ok(done),
            Err(Failure::Key(e)) => {
                eprintln!("lessor bulk: {e}");
                done.code = 2;
            }
            Err(Failure::Server(e)) => {
                if i + 1 < keys.len() {
                    eprintln!("lessor bulk: {e}");
                    return Err(format!("{} key(s) not asked", keys.len() - i - 1));
                }
                return Err(e);
            }
        }
    }
    Ok(done)
}

/// One key's query, its bindings printed as they arrive (and counted in `printed`): `Some(0)`
/// found, `Some(1)` none, `None` when stdout is closed.
fn one(
    args: &BulkArgs,
    key: &QueryKey,
    value: &str,
    config: Config,
    table: &mut Table,
    printed: &mut u64,
) -> Result<Option<u8>, Failure> {
    let server = args.server;
    let mut results = tcp::query(server, key, config).map_err(|e| match e {
        tcp::Error::Connect(_) => Failure::Server(format!("{server}: {e}")),
        _ => Failure::Key(format!("{server}: {key}: {e}")),
    })?;

    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    // Lines go out in large writes; to a terminal, each as it arrives.
    let each_line = std::io::stdout().is_terminal();
    let progress = std::io::stderr().is_terminal();
    let shared = line::Shared::new(&query_json(key), &server.to_string());
    let (mut buf, mut cell) = (Vec::with_capacity(2 * FLUSH_AT), Vec::new());
    let started = Instant::now();
    let mut shown = started;
    let mut error = None;
    while let Some(item) = results.next_lease() {
        let lease = match item {
            Ok(l) => l,
            Err(e) => {
                error = Some(e.to_string());
                break;
            }
        };
        if args.json {
            line::json(&mut buf, &shared, lease, SystemTime::now());
        } else {
            if !table.header_done {
                table.header_done = true;
                buf.extend_from_slice(table.header().as_bytes());
                buf.push(b'\n');
            }
            let query = table.query_width.map(|w| (value, w));
            line::row(&mut buf, &mut cell, query, lease);
        }
        *printed += 1;
        let tick = progress && shown.elapsed() >= Duration::from_secs(1);
        if each_line || tick || buf.len() >= FLUSH_AT {
            if out.write_all(&buf).and_then(|()| out.flush()).is_err() {
                return Ok(None);
            }
            buf.clear();
        }
        if tick {
            shown = Instant::now();
            let secs = started.elapsed().as_secs_f64();
            eprint!(
                "\r{} bindings in {secs:.0} s ({:.0}/s)\x1b[K",
                results.bindings(),
                results.bindings() as f64 / secs
            );
        }
    }
    if out.write_all(&buf).and_then(|()| out.flush()).is_err() {
        return Ok(None);
    }
    if progress && shown != started {
        eprint!("\r\x1b[K");
    }
    let found = results.bindings();
    if let Some(e) = error {
        return Err(Failure::Key(format!(
            "{server}: {key}: {e} (after {found} bindings)"
        )));
    }
    match results.end() {
        Some(End::Failed(status)) => Err(Failure::Key(format!("{server}: {key}: {status}"))),
        Some(End::NotFound(lease)) => {
            if args.json {
                let mut m = lease_json(key, lease, SystemTime::now());
                m.insert("server".into(), json!(server.to_string()));
                m.insert("other_answers".into(), json!([]));
                writeln!(out, "{}", Value::Object(m)).ok();
            } else {
                eprintln!("lessor bulk: {key}: {}", lease.state);
            }
            Ok(Some(1))
        }
        _ if found > 0 => Ok(Some(0)),
        _ => {
            if !args.json {
                eprintln!("lessor bulk: {key}: no bindings");
            }
            Ok(Some(1))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_have_fixed_widths() {
        let names: Vec<String> = COLUMNS.iter().map(|(n, _)| (*n).to_string()).collect();
        let header = line(&names);
        assert!(header.starts_with("ADDRESS          STATE       MAC"));
        assert!(header.ends_with("RELAY-ID"));
        let row: Vec<String> = (0..9).map(|i| format!("c{i}")).collect();
        let row = line(&row);
        assert_eq!(row.find("c1"), header.find("STATE"));
        assert_eq!(row.find("c8"), header.find("RELAY-ID"));
        let several = Table {
            query_width: Some(6),
            header_done: false,
        };
        let header = several.header();
        assert!(header.starts_with("QUERY   ADDRESS "), "{header}");
        let row: Vec<String> = (0..9).map(|i| format!("c{i}")).collect();
        let row = several.row("x", &row);
        assert!(row.starts_with("x       c0 "), "{row}");
        assert_eq!(row.find("c8"), header.find("RELAY-ID"));
    }

    #[test]
    fn times_fit_options_154_and_155() {
        assert_eq!(parse_epoch("0"), Ok(0));
        assert_eq!(parse_epoch("2106-02-07T06:28:15Z"), Ok(u32::MAX));
        assert!(parse_epoch("2106-02-07T06:28:16Z").is_err());
        assert!(parse_epoch("4294967296").is_err());
    }
}
