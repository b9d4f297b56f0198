//! `lessor bulk`: ask a bulk leasequery server (TCP) for every binding matching one key, printed
//! as they arrive (a thin shell over `lessor_requestor::bulk::tcp`). See docs/query.md.

use std::io::{IsTerminal, Write};
use std::net::{Ipv4Addr, SocketAddr};
use std::process::ExitCode;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use lessor_perf::parse_duration;
use lessor_requestor::bulk::tcp::{self, Config};
use lessor_requestor::bulk::End;
use lessor_wire::framing::Dialect;
use serde_json::{json, Value};

use crate::query::{lease_json, lease_row, parse_key, parse_server, Kind};

/// The framing and messages to speak (PROTOCOL.md decision 1).
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
    /// The address or identifier, as for `lessor query`.
    value: String,
    /// The bulk leasequery server, ADDR or ADDR:PORT (port 67 by default).
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
    /// Print one JSON object per binding, one per line, instead of the table.
    #[arg(long)]
    json: bool,
}

pub fn run(args: BulkArgs) -> ExitCode {
    match bulk(&args) {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            eprintln!("lessor bulk: {e}");
            ExitCode::from(2)
        }
    }
}

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

fn bulk(args: &BulkArgs) -> Result<u8, String> {
    let key = parse_key(args.kind, &args.value, args.htype)?;
    if matches!(args.kind, Kind::Ip) && matches!(args.dialect, DialectArg::Rfc6926) {
        // A server would answer MalformedQuery: RFC 6926 queries need ciaddr 0.
        return Err(
            "RFC 6926 has no query by IP address: use `lessor query ip` or --dialect draft".into(),
        );
    }
    if !args.server.is_ipv4() {
        return Err("bulk leasequery servers are IPv4 addresses".into());
    }
    let mut config = Config::new(match args.dialect {
        DialectArg::Draft => Dialect::Draft,
        DialectArg::Rfc6926 => Dialect::Rfc6926,
    });
    config.giaddr = args.giaddr;
    config.conn_timeout = args.timeout;
    config.data_timeout = args.timeout;
    config.max_retry = args.max_retry;
    config.xid = (SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos())
        ^ std::process::id().rotate_left(16))
    .max(1);
    let mut results =
        tcp::query(args.server, &key, config).map_err(|e| format!("{}: {e}", args.server))?;

    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    let progress = std::io::stderr().is_terminal();
    let started = Instant::now();
    let mut shown = started;
    let mut header = false;
    let mut error = None;
    while let Some(item) = results.next() {
        let lease = match item {
            Ok(l) => l,
            Err(e) => {
                error = Some(e.to_string());
                break;
            }
        };
        let written = if args.json {
            let mut m = lease_json(&key, &lease, SystemTime::now());
            m.insert("server".into(), json!(args.server.to_string()));
            m.insert("other_answers".into(), json!([]));
            writeln!(out, "{}", Value::Object(m))
        } else {
            if !header {
                header = true;
                let names: Vec<String> = COLUMNS.iter().map(|(n, _)| (*n).to_string()).collect();
                writeln!(out, "{}", line(&names)).ok();
            }
            writeln!(out, "{}", line(&lease_row(&lease)))
        };
        if written.is_err() {
            // stdout closed (e.g. `| head`): stop quietly.
            return Ok(0);
        }
        if progress && shown.elapsed() >= Duration::from_secs(1) {
            shown = Instant::now();
            out.flush().ok();
            let secs = started.elapsed().as_secs_f64();
            eprint!(
                "\r{} bindings in {secs:.0} s ({:.0}/s)\x1b[K",
                results.bindings(),
                results.bindings() as f64 / secs
            );
        }
    }
    out.flush().ok();
    if progress && shown != started {
        eprint!("\r\x1b[K");
    }
    let found = results.bindings();
    if let Some(e) = error {
        return Err(format!("{}: {e} (after {found} bindings)", args.server));
    }
    match results.end() {
        Some(End::Failed(status)) => Err(format!("{}: {key}: {status}", args.server)),
        Some(End::NotFound(lease)) => {
            if args.json {
                let mut m = lease_json(&key, lease, SystemTime::now());
                m.insert("server".into(), json!(args.server.to_string()));
                m.insert("other_answers".into(), json!([]));
                writeln!(out, "{}", Value::Object(m)).ok();
            } else {
                eprintln!("lessor bulk: {key}: {}", lease.state);
            }
            Ok(1)
        }
        _ if found > 0 => Ok(0),
        _ => {
            if !args.json {
                eprintln!("lessor bulk: {key}: no bindings");
            }
            Ok(1)
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
    }
}
