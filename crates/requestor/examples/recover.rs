//! A DHCPv4 recovery at start ([`lessor_requestor::recover::recover4`]) against running servers:
//! one bulk leasequery by relay-id to each, all at once, merged by client-last-transaction-time;
//! prints the figures (time, bindings streamed and kept per server, merged, conflicts). What
//! benches/recover.sh runs against two `lessor serve` on loopback.
//!
//!     cargo run --release -p lessor-requestor --example recover -- RELAY-ID SERVER[/draft]...
//!
//! RELAY-ID is the relay-id's octets as text (`relay-000000`, as benches/gen_isc_leases.py
//! writes it); each SERVER is `address:port` of a bulk leasequery listener, speaking the rfc6926
//! dialect, or the draft's with `/draft`. Exits 1 when a server was given up.

use std::net::SocketAddr;
use std::process::ExitCode;

use lessor_requestor::recover::{recover4, Recovery4};
use lessor_requestor::QueryKey;
use lessor_wire::framing::Dialect;

fn main() -> ExitCode {
    let mut args = std::env::args().skip(1);
    let Some(relay_id) = args.next() else {
        eprintln!("usage: recover RELAY-ID SERVER[/draft]...");
        return ExitCode::from(2);
    };
    let mut servers = Vec::new();
    for a in args {
        let (addr, dialect) = match a.strip_suffix("/draft") {
            Some(addr) => (addr, Dialect::Draft),
            None => (a.as_str(), Dialect::Rfc6926),
        };
        match addr.parse::<SocketAddr>() {
            Ok(addr) => servers.push((addr, dialect)),
            Err(e) => {
                eprintln!("{a}: {e}");
                return ExitCode::from(2);
            }
        }
    }
    let recovery = Recovery4::new(servers, QueryKey::RelayId(relay_id.into_bytes()));
    let (report, merged) = recover4(&recovery);
    let streamed: u64 = report.servers.iter().map(|s| s.streamed).sum();
    let secs = report.elapsed.as_secs_f64();
    println!(
        "recovered {} bindings from {} servers in {:.3} s: {} streamed ({:.0}/s), {} conflicts",
        report.merged,
        report.servers.len(),
        secs,
        streamed,
        streamed as f64 / secs.max(1e-9),
        report.conflicts
    );
    for s in &report.servers {
        let end = match (&s.end, &s.error) {
            (Some(end), _) => format!("{end:?}"),
            (None, Some(e)) => format!("given up: {e}"),
            (None, None) => "no end".to_string(),
        };
        println!(
            "  {}: {} streamed, {} kept, {} retries, {end}",
            s.server, s.streamed, s.kept, s.retries
        );
    }
    drop(merged);
    if report.complete() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}
