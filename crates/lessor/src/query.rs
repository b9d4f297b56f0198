//! `lessor query`: ask leasequery servers about addresses or clients, one query per VALUE, all
//! outstanding at once (a thin shell over `lessor_requestor::udp`). See docs/query.md. IPv6
//! servers (or `--interface`) make it a DHCPv6 leasequery ([`v6`]).

pub(crate) mod v6;

use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr, UdpSocket};
use std::process::ExitCode;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use lessor_requestor::udp::{self, Answered, Outcome, QueryError};
use lessor_requestor::{Config, Failure, LeaseInfo, QueryKey};
use serde_json::{json, Map, Value};

use crate::cli::{parse_duration, parse_key, parse_server, Kind};
use crate::leases::text::{hex, printable, rfc3339, table, text_or_hex};

#[derive(clap::Args)]
pub struct QueryArgs {
    /// What VALUE is.
    #[arg(value_enum)]
    kind: Kind,
    /// The addresses or identifiers, one query each. Identifiers are hex ("01:02:ab",
    /// "0102ab"); remote-id and relay-id that are not hex are taken as text, and "text:" forces
    /// text ("text:cafe").
    #[arg(value_name = "VALUE", required = true)]
    values: Vec<String>,
    /// A leasequery server, ADDR or ADDR:PORT (port 67 by default; 547 for an IPv6 ADDR, which
    /// makes it a DHCPv6 leasequery; `ff02::1:2%IFACE` asks every server on a link). Repeat for
    /// several: all are asked, the answer with the most recent client-last-transaction-time wins
    /// (DHCPv6: the answers are merged, RFC 5007 §4.3.4).
    #[arg(long = "server", value_name = "ADDR[:PORT]", value_parser = parse_server)]
    servers: Vec<SocketAddr>,
    /// DHCPv6: ask All_DHCP_Relay_Agents_and_Servers (ff02::1:2) on this interface.
    #[arg(long, value_name = "IFACE")]
    interface: Option<String>,
    /// DHCPv6: the link-address of the queries (`::`, the default, lets the server find the
    /// link; a client on several links is then asked about once per link).
    #[arg(long, value_name = "ADDR")]
    link: Option<Ipv6Addr>,
    /// DHCPv6: the requestor's DUID in hex (default: a random DUID-UUID per run).
    #[arg(long, value_name = "HEX")]
    duid: Option<String>,
    /// DHCPv6: the enterprise number of a remote-id VALUE (RFC 4649).
    #[arg(long, default_value_t = 0)]
    enterprise_number: u32,
    /// The requestor's address, written into giaddr: servers send the answer there.
    /// Default: the address of --bind, else the local address that routes to the first server.
    #[arg(long)]
    giaddr: Option<Ipv4Addr>,
    /// Local ADDR:PORT of the socket. Default: giaddr, an ephemeral port (Lessor answers there
    /// when the requester is in its `[leasequery4] reply-to-source-port`, docs/protocol.md
    /// decision 4; otherwise servers answer only giaddr:67, which needs `--bind GIADDR:67` and
    /// root).
    #[arg(long)]
    bind: Option<SocketAddr>,
    /// Give up after this long ("15s", "1m"). DHCPv4: a server not yet seen to answer is retried
    /// only every 10 s (RFC 4388 §6.6). DHCPv6: retransmissions after 1, 2, 4, 8 and 10 s, five
    /// transmissions in about 25 s (RFC 5007 §4.1.4).
    #[arg(long, default_value = "15s", value_parser = parse_duration)]
    timeout: Duration,
    /// Hardware type of a MAC query (1: Ethernet).
    #[arg(long, default_value_t = 1)]
    htype: u8,
    /// Print one JSON object per result instead of the table.
    #[arg(long)]
    json: bool,
}

/// giaddr: --giaddr, else --bind's address, else the source address toward the first server.
fn giaddr_of(args: &QueryArgs) -> Result<Ipv4Addr, String> {
    if let Some(g) = args.giaddr {
        return Ok(g);
    }
    if let Some(SocketAddr::V4(b)) = args.bind {
        if !b.ip().is_unspecified() {
            return Ok(*b.ip());
        }
    }
    let probe = UdpSocket::bind("0.0.0.0:0").map_err(|e| e.to_string())?;
    probe
        .connect(args.servers[0])
        .map_err(|e| format!("no route to {}: {e}; give --giaddr", args.servers[0]))?;
    match probe.local_addr().map_err(|e| e.to_string())? {
        SocketAddr::V4(a) if !a.ip().is_unspecified() => Ok(*a.ip()),
        _ => Err("cannot tell the local address; give --giaddr".into()),
    }
}

pub fn run(args: QueryArgs) -> ExitCode {
    match query(&args) {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            eprintln!("lessor query: {e}");
            ExitCode::from(2)
        }
    }
}

/// Runs the queries and prints the answers: exit 0 when every key has an active binding, 1 when
/// any has none, 2 when any query failed. The table has one row per VALUE, in their order, with
/// a first column QUERY naming the VALUE when there are several.
pub(crate) fn query(args: &QueryArgs) -> Result<u8, String> {
    if args.interface.is_some() || args.servers.iter().any(SocketAddr::is_ipv6) {
        return v6::query(args);
    }
    if args.servers.is_empty() {
        return Err("give --server".into());
    }
    let keys = args
        .values
        .iter()
        .map(|v| parse_key(args.kind, v, args.htype))
        .collect::<Result<Vec<_>, _>>()?;
    if args.servers.iter().any(|s| !s.is_ipv4()) {
        return Err("leasequery servers are IPv4 addresses".into());
    }
    let giaddr = giaddr_of(args)?;
    let mut config = Config::new(giaddr, args.servers.clone());
    config.query_timeout = args.timeout;
    config.seed = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64)
        ^ u64::from(std::process::id());
    let bind = args.bind.unwrap_or_else(|| udp::default_bind(&config));
    let outcomes = udp::run(config, bind, keys, args.timeout + Duration::from_secs(1))
        .map_err(|e| format!("{bind}: {e}"))?;
    let unanswered = outcomes.iter().any(|o| {
        matches!(
            o.result,
            Err(QueryError::Failed(Failure::NoReply) | QueryError::TimedOut)
        )
    });
    let several = args.values.len() > 1;
    let mut code = 0u8;
    let mut rows = Vec::new();
    for (Outcome { key, result }, value) in outcomes.into_iter().zip(&args.values) {
        match result {
            Ok(a) => {
                if !a.answer.lease.is_found() {
                    code = code.max(1);
                }
                if args.json {
                    println!("{}", to_json(&key, &a));
                } else {
                    let mut cells = row(&a);
                    if several {
                        cells.insert(0, value.clone());
                    }
                    rows.push(cells);
                }
            }
            Err(e) => {
                code = 2;
                if args.json {
                    println!(
                        "{}",
                        json!({"query": query_json(&key), "error": e.to_string()})
                    );
                } else {
                    eprintln!("lessor query: {key}: {e}");
                }
            }
        }
    }
    if !rows.is_empty() {
        let mut header = HEADER.to_vec();
        if several {
            header.insert(0, "QUERY");
        }
        print!("{}", table(&header, &rows));
    }
    if let Some(hint) = port_hint(bind, giaddr, unanswered) {
        eprintln!("lessor query: {hint}");
    }
    Ok(code)
}

/// When a query went unanswered from a port other than 67: ISC dhcpd and Kea send the answer to
/// giaddr port 67 whatever the query's source port (measured with ISC dhcpd 4.4.3 in
/// tests/e2e/test_query_cli_isc.py), so it never reached the socket. Say how to receive it.
fn port_hint(bind: SocketAddr, giaddr: Ipv4Addr, unanswered: bool) -> Option<String> {
    (unanswered && bind.port() != 67).then(|| {
        let from = match bind.port() {
            0 => "an ephemeral port".to_string(),
            p => format!("port {p}"),
        };
        format!(
            "hint: sent from {from}; servers that answer only giaddr port 67 (ISC dhcpd, Kea, \
             Lessor unless the requester is in its reply-to-source-port) need --bind {giaddr}:67 \
             (as root)"
        )
    })
}

const HEADER: [&str; 10] = [
    "ADDRESS",
    "STATE",
    "MAC",
    "CLIENT-ID",
    "LEASE",
    "CLTT",
    "CIRCUIT-ID",
    "REMOTE-ID",
    "RELAY-ID",
    "SERVER",
];

/// `1h2m3s`, `45s`.
pub(crate) fn span(secs: u32) -> String {
    let (h, m, s) = (secs / 3600, secs / 60 % 60, secs % 60);
    match (h, m) {
        (0, 0) => format!("{s}s"),
        (0, _) => format!("{m}m{s}s"),
        _ => format!("{h}h{m}m{s}s"),
    }
}

pub(crate) fn dash_or<T>(v: Option<T>, f: impl FnOnce(T) -> String) -> String {
    v.map_or_else(|| "-".into(), f)
}

fn row(a: &Answered) -> Vec<String> {
    let mut row = lease_row(&a.answer.lease);
    row.push(a.answer.server.to_string());
    row
}

/// The table's cells for one answer, every column but SERVER.
pub(crate) fn lease_row(l: &LeaseInfo) -> Vec<String> {
    vec![
        dash_or(l.address, |x| x.to_string()),
        l.state.to_string(),
        if l.chaddr.is_empty() {
            "-".into()
        } else {
            lessor_wire::hex::colon(&l.chaddr)
        },
        dash_or(l.client_id.as_deref(), lessor_wire::hex::colon),
        dash_or(l.lease_remaining, span),
        dash_or(l.cltt_ago, |s| format!("{} ago", span(s))),
        text_or_hex(l.circuit_id()),
        text_or_hex(l.remote_id()),
        text_or_hex(l.relay_id()),
    ]
}

pub(crate) fn query_json(key: &QueryKey) -> Value {
    let value = match key {
        QueryKey::Ip(a) => a.to_string(),
        QueryKey::Mac(hw) => lessor_wire::hex::colon(hw.chaddr()),
        QueryKey::ClientId(v) | QueryKey::RemoteId(v) | QueryKey::RelayId(v) => hex(v),
    };
    json!({"kind": key.kind().as_str(), "value": value})
}

fn blob(m: &mut Map<String, Value>, name: &str, v: Option<&[u8]>) {
    m.insert(name.into(), json!(v.map(hex)));
    if let Some(t) = v.and_then(printable) {
        m.insert(format!("{name}_text"), json!(t));
    }
}

fn epoch(t: Option<SystemTime>) -> Option<u64> {
    t?.duration_since(UNIX_EPOCH).ok().map(|d| d.as_secs())
}

/// One result as JSON: octets as plain hex with a `_text` copy when printable, relative times
/// in seconds, absolute times as epoch seconds with an RFC 3339 copy.
fn to_json(key: &QueryKey, a: &Answered) -> Value {
    let mut m = lease_json(key, &a.answer.lease, a.received_at);
    m.insert("server".into(), json!(a.answer.server.to_string()));
    m.insert(
        "other_answers".into(),
        json!(a
            .answer
            .others
            .iter()
            .map(|(s, o)| json!({"server": s.to_string(), "state": o.state.as_str()}))
            .collect::<Vec<_>>()),
    );
    Value::Object(m)
}

/// Every field of [`to_json`] but `server` and `other_answers`.
pub(crate) fn lease_json(
    key: &QueryKey,
    l: &LeaseInfo,
    received_at: SystemTime,
) -> Map<String, Value> {
    let mut m = Map::new();
    m.insert("query".into(), query_json(key));
    m.insert("state".into(), json!(l.state.as_str()));
    m.insert("found".into(), json!(l.is_found()));
    m.insert("address".into(), json!(l.address.map(|x| x.to_string())));
    m.insert("htype".into(), json!(l.htype));
    m.insert(
        "mac".into(),
        json!((!l.chaddr.is_empty()).then(|| lessor_wire::hex::colon(&l.chaddr))),
    );
    m.insert("client_id".into(), json!(l.client_id.as_deref().map(hex)));
    m.insert("lease_remaining".into(), json!(l.lease_remaining));
    m.insert("t1_remaining".into(), json!(l.t1_remaining));
    m.insert("t2_remaining".into(), json!(l.t2_remaining));
    let end = epoch(l.lease_end(received_at));
    m.insert("lease_end".into(), json!(end));
    m.insert("lease_end_time".into(), json!(end.and_then(rfc3339)));
    m.insert("cltt_ago".into(), json!(l.cltt_ago));
    let cltt = epoch(l.cltt(received_at));
    m.insert("cltt".into(), json!(cltt));
    m.insert("cltt_time".into(), json!(cltt.and_then(rfc3339)));
    let ri = l.relay_info.as_ref();
    m.insert(
        "relay_agent_information".into(),
        json!(ri.map(|r| hex(&r.raw))),
    );
    blob(&mut m, "circuit_id", l.circuit_id());
    blob(&mut m, "remote_id", l.remote_id());
    blob(&mut m, "relay_id", l.relay_id());
    let others: Vec<Value> = ri
        .map(|r| &r.others[..])
        .unwrap_or_default()
        .iter()
        .map(|(code, v)| json!({"code": code, "value": hex(v)}))
        .collect();
    m.insert("relay_sub_options".into(), json!(others));
    m.insert(
        "associated_ips".into(),
        json!(l
            .associated
            .iter()
            .map(|x| x.to_string())
            .collect::<Vec<_>>()),
    );
    m.insert(
        "server_id".into(),
        json!(l.server_id.map(|x| x.to_string())),
    );
    blob(&mut m, "vendor_class_id", l.vendor_class.as_deref());
    blob(&mut m, "hostname", l.hostname.as_deref());
    m
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn port_hint_only_for_unanswered_queries_from_another_port() {
        let g = Ipv4Addr::new(198, 51, 100, 1);
        let eph: SocketAddr = "198.51.100.1:0".parse().unwrap();
        let h = port_hint(eph, g, true).unwrap();
        assert!(h.contains("from an ephemeral port"), "{h}");
        assert!(h.contains("--bind 198.51.100.1:67"), "{h}");
        let any: SocketAddr = "0.0.0.0:4000".parse().unwrap();
        let h = port_hint(any, g, true).unwrap();
        assert!(h.contains("from port 4000"), "{h}");
        assert!(h.contains("--bind 198.51.100.1:67"), "{h}");
        assert_eq!(port_hint(eph, g, false), None);
        assert_eq!(port_hint("198.51.100.1:67".parse().unwrap(), g, true), None);
    }

    #[test]
    fn spans() {
        assert_eq!(span(5), "5s");
        assert_eq!(span(65), "1m5s");
        assert_eq!(span(3725), "1h2m5s");
    }
}
