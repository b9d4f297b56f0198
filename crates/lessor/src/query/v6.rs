//! `lessor query` for DHCPv6 (RFC 5007): the same shell over `lessor_requestor::udp` with a
//! [`Config<V6>`]; one table row per address or prefix, JSON with every client's data and the
//! relay chain decoded hop by hop. See docs/query.md.

use std::io;
use std::net::{Ipv6Addr, SocketAddr, SocketAddrV6, UdpSocket};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use lessor_requestor::udp::{self, Answered, Outcome};
use lessor_requestor::v6::{ClientData6, RelayData6};
use lessor_requestor::{Config, LeaseInfo6, QueryKey6, V6};
use lessor_wire::v6::{DhcpOption, Duid};
use serde_json::{json, Value};

use super::{dash_or, span, QueryArgs};
use crate::cli::parse_key6;
use crate::leases::text::{hex, printable, rfc3339, table};

/// All_DHCP_Relay_Agents_and_Servers (RFC 8415 §7.1), asked on `--interface`.
pub const ALL_DHCP_RELAY_AGENTS_AND_SERVERS: Ipv6Addr = Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 1, 2);

/// The servers to ask: `--server` addresses, plus the group on `--interface`.
fn servers(args: &QueryArgs) -> Result<Vec<SocketAddr>, String> {
    let mut servers = args.servers.clone();
    if let Some(name) = &args.interface {
        let iface = lessor_net::Interface::by_name(name)
            .map_err(|e| format!("--interface {name}: {e}"))?
            .ok_or_else(|| format!("--interface {name}: no such interface"))?;
        servers.push(SocketAddr::V6(SocketAddrV6::new(
            ALL_DHCP_RELAY_AGENTS_AND_SERVERS,
            547,
            0,
            iface.index,
        )));
    }
    if servers.is_empty() {
        return Err("give --server or --interface".into());
    }
    Ok(servers)
}

/// The requestor's DUID: `--duid`, else a DUID-UUID (RFC 6355) drawn from `seed`, new per run.
pub(crate) fn duid(given: Option<&str>, seed: u64) -> Result<Duid, String> {
    if let Some(text) = given {
        let octets = lessor_wire::hex::parse(text).map_err(|e| format!("--duid {text:?}: {e}"))?;
        return Duid::parse(&octets).map_err(|e| format!("--duid {text:?}: {e}"));
    }
    let mut uuid = [0u8; 16];
    uuid[..8].copy_from_slice(&seed.to_be_bytes());
    uuid[8..].copy_from_slice(
        &seed
            .rotate_left(29)
            .wrapping_mul(0x9e37_79b9_7f4a_7c15)
            .to_be_bytes(),
    );
    // Version 4 (random), variant RFC 4122.
    uuid[6] = (uuid[6] & 0x0f) | 0x40;
    uuid[8] = (uuid[8] & 0x3f) | 0x80;
    Ok(Duid::Uuid(uuid))
}

/// Runs the DHCPv6 queries and prints the answers; exit codes as for DHCPv4 (0: every key has
/// bindings, 1: some has none or an error status, 2: some query failed).
pub(crate) fn query(args: &QueryArgs) -> Result<u8, String> {
    let link = args.link.unwrap_or(Ipv6Addr::UNSPECIFIED);
    let keys = args
        .values
        .iter()
        .map(|v| parse_key6(args.kind, v, link, args.enterprise_number))
        .collect::<Result<Vec<_>, _>>()?;
    let servers = servers(args)?;
    if servers.iter().any(|s| !s.is_ipv6()) {
        return Err("DHCPv6 leasequery servers are IPv6 addresses; do not mix families".into());
    }
    let seed = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64)
        ^ u64::from(std::process::id());
    let mut config = Config::v6(duid(args.duid.as_deref(), seed)?, servers);
    config.query_timeout = args.timeout;
    config.seed = seed;
    let unix = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    config.family.epoch = Some((Instant::now(), unix));
    let (socket, fallback) = socket(args.bind)?;
    let bind = socket.local_addr().map_err(|e| e.to_string())?;
    let outcomes = udp::run_on(&socket, config, keys, args.timeout + Duration::from_secs(1))
        .map_err(|e| format!("{bind}: {e}"))?;
    let unanswered = outcomes.iter().any(|o| o.result.is_err());
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
                    for mut cells in rows_of(&a) {
                        if several {
                            cells.insert(0, value.clone());
                        }
                        rows.push(cells);
                    }
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
                    eprintln!("lessor query: {value}: {e}");
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
    if let (Some(why), true) = (fallback, unanswered) {
        eprintln!(
            "lessor query: hint: sent from an ephemeral port ({why}); servers that answer only \
             port 546 (ISC dhcpd 4.4.3) need --bind [::]:546 (as root)"
        );
    }
    Ok(code)
}

/// The socket: `--bind`, else `[::]:546`, where servers send a LEASEQUERY-REPLY (RFC 5007
/// §4.4.3 -> RFC 3315 §18.2.8: the client port; ISC dhcpd 4.4.3 does so whatever the source
/// port), else, when that is not allowed or taken, an ephemeral port (Lessor answers the source
/// port) with the reason, for a hint (docs/protocol.md decision 8).
fn socket(bind: Option<SocketAddr>) -> Result<(UdpSocket, Option<String>), String> {
    if let Some(b) = bind {
        return UdpSocket::bind(b)
            .map(|s| (s, None))
            .map_err(|e| format!("{b}: {e}"));
    }
    let client_port = SocketAddr::from((Ipv6Addr::UNSPECIFIED, 546));
    match UdpSocket::bind(client_port) {
        Ok(s) => Ok((s, None)),
        Err(e)
            if matches!(
                e.kind(),
                io::ErrorKind::PermissionDenied | io::ErrorKind::AddrInUse
            ) =>
        {
            let s = UdpSocket::bind(SocketAddr::from((Ipv6Addr::UNSPECIFIED, 0)))
                .map_err(|e| format!("[::]:0: {e}"))?;
            Ok((s, Some(format!("port 546: {e}"))))
        }
        Err(e) => Err(format!("{client_port}: {e}")),
    }
}

const HEADER: [&str; 10] = [
    "BINDING",
    "STATE",
    "CLIENT-ID",
    "PREFERRED",
    "VALID",
    "CLTT",
    "LINK",
    "RELAY",
    "SERVER-ID",
    "SERVER",
];

/// Seconds since the last transaction, from a relative or absolute CLT_TIME.
pub(crate) fn cltt_ago(c: &ClientData6, received: SystemTime) -> Option<u32> {
    let unix = received
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    c.cltt_ago(unix)
}

/// The relay chain in one cell: `peer` then each hop's link-address, outermost first.
pub(crate) fn relay_cell(r: Option<&RelayData6>) -> String {
    dash_or(r, |r| {
        let mut s = r.peer_address.to_string();
        for h in &r.hops {
            s.push_str(&format!(" link {}", h.link_address));
        }
        s
    })
}

/// One row per address or prefix; a reply without bindings is one row with its state.
fn rows_of(a: &Answered<V6>) -> Vec<Vec<String>> {
    let l = &a.answer.lease;
    let server_id = dash_or(l.server_id.as_ref(), |d| d.to_string());
    let state = match l.status_name() {
        Some(s) if !l.is_success() => s,
        _ if l.is_found() => "active".into(),
        _ => "none".into(),
    };
    let mut rows = Vec::new();
    for c in &l.clients {
        let common = |binding: String, preferred: u32, valid: u32| {
            vec![
                binding,
                state.clone(),
                dash_or(c.client_id.as_ref(), |d| d.to_string()),
                span(preferred),
                span(valid),
                dash_or(cltt_ago(c, a.received_at), |s| format!("{} ago", span(s))),
                dash_or(c.link, |x| x.to_string()),
                relay_cell(c.relay.as_ref()),
                server_id.clone(),
                a.answer.server.to_string(),
            ]
        };
        for x in &c.addresses {
            rows.push(common(
                x.address.to_string(),
                x.preferred_lifetime,
                x.valid_lifetime,
            ));
        }
        for p in &c.prefixes {
            rows.push(common(
                format!("{}/{}", p.prefix, p.length),
                p.preferred_lifetime,
                p.valid_lifetime,
            ));
        }
    }
    if rows.is_empty() {
        let links = if l.client_links.is_empty() {
            "-".to_string()
        } else {
            l.client_links
                .iter()
                .map(|x| x.to_string())
                .collect::<Vec<_>>()
                .join(",")
        };
        rows.push(vec![
            "-".into(),
            state,
            "-".into(),
            "-".into(),
            "-".into(),
            "-".into(),
            links,
            "-".into(),
            server_id,
            a.answer.server.to_string(),
        ]);
    }
    rows
}

pub(crate) fn query_json(key: &QueryKey6) -> Value {
    let (kind, value) = match key {
        QueryKey6::Address { address, .. } => ("ip", address.to_string()),
        QueryKey6::ClientId { duid, .. } => ("client-id", hex(&duid.to_vec())),
        QueryKey6::RelayId { duid, .. } => ("relay-id", hex(&duid.to_vec())),
        QueryKey6::LinkAddress(l) => ("link-address", l.to_string()),
        QueryKey6::RemoteId { remote_id, .. } => ("remote-id", hex(remote_id)),
    };
    let mut m = json!({"kind": kind, "value": value, "link_address": key.link().to_string()});
    if let QueryKey6::RemoteId {
        enterprise_number, ..
    } = key
    {
        m["enterprise_number"] = json!(enterprise_number);
    }
    m
}

fn octets(name: &str, v: &[u8]) -> Value {
    let mut m = json!({ name: hex(v) });
    if let Some(t) = printable(v) {
        m[format!("{name}_text")] = json!(t);
    }
    m
}

/// An option the JSON has no field for: code and value in hex.
fn raw_option(o: &DhcpOption) -> Value {
    let mut buf = vec![0u8; o.buffer_len()];
    let value = match o.emit(&mut buf) {
        Ok(n) => hex(buf.get(4..n).unwrap_or_default()),
        Err(_) => String::new(),
    };
    json!({"code": o.code(), "value": value})
}

/// One relay hop: its addresses and the options relays add (RFC 8415 §21.18, RFC 4649,
/// RFC 5460 §5.4.1) by name, the rest raw.
fn hop_json(h: &lessor_requestor::v6::RelayHop) -> Value {
    let mut m = json!({
        "hop_count": h.hop_count,
        "link_address": h.link_address.to_string(),
        "peer_address": h.peer_address.to_string(),
    });
    let mut others = Vec::new();
    for o in &h.options {
        match o {
            DhcpOption::InterfaceId(v) => m["interface_id"] = octets("value", v),
            DhcpOption::RemoteId {
                enterprise_number,
                remote_id,
            } => {
                let mut r = octets("value", remote_id);
                r["enterprise_number"] = json!(enterprise_number);
                m["remote_id"] = r;
            }
            DhcpOption::RelayId(d) => m["relay_id"] = json!(hex(&d.to_vec())),
            other => others.push(raw_option(other)),
        }
    }
    m["options"] = json!(others);
    m
}

pub(crate) fn client_json(c: &ClientData6, received: SystemTime) -> Value {
    let unix = received
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let until = |secs: u32| (secs != u32::MAX).then(|| unix + u64::from(secs));
    let ago = cltt_ago(c, received);
    let cltt = ago.map(|s| unix.saturating_sub(u64::from(s)));
    json!({
        "link": c.link.map(|l| l.to_string()),
        "client_id": c.client_id.as_ref().map(|d| hex(&d.to_vec())),
        "addresses": c.addresses.iter().map(|x| json!({
            "address": x.address.to_string(),
            "preferred_lifetime": x.preferred_lifetime,
            "valid_lifetime": x.valid_lifetime,
            "valid_until": until(x.valid_lifetime),
            "valid_until_time": until(x.valid_lifetime).and_then(rfc3339),
        })).collect::<Vec<_>>(),
        "prefixes": c.prefixes.iter().map(|p| json!({
            "prefix": format!("{}/{}", p.prefix, p.length),
            "preferred_lifetime": p.preferred_lifetime,
            "valid_lifetime": p.valid_lifetime,
            "valid_until": until(p.valid_lifetime),
            "valid_until_time": until(p.valid_lifetime).and_then(rfc3339),
        })).collect::<Vec<_>>(),
        "clt_time": c.clt_time,
        "cltt_ago": ago,
        "cltt": cltt,
        "cltt_time": cltt.and_then(rfc3339),
        "relay": c.relay.as_ref().map(|r| json!({
            "peer_address": r.peer_address.to_string(),
            "hops": r.hops.iter().map(hop_json).collect::<Vec<_>>(),
        })),
        "options": c.options.iter().map(raw_option).collect::<Vec<_>>(),
    })
}

/// One result as JSON: DUIDs and octets in plain hex, lifetimes in seconds with the absolute
/// end (epoch seconds and RFC 3339), CLT_TIME as received with the age and time it means.
fn to_json(key: &QueryKey6, a: &Answered<V6>) -> Value {
    let l: &LeaseInfo6 = &a.answer.lease;
    json!({
        "query": query_json(key),
        "family": "ipv6",
        "found": l.is_found(),
        "status": l.status.as_ref().map(|(c, _)| *c),
        "status_name": l.status_name(),
        "status_message": l.status.as_ref().map(|(_, m)| m.clone()),
        "server": a.answer.server.to_string(),
        "server_id": l.server_id.as_ref().map(|d| hex(&d.to_vec())),
        "clients": l.clients.iter().map(|c| client_json(c, a.received_at)).collect::<Vec<_>>(),
        "client_links": l.client_links.iter().map(|x| x.to_string()).collect::<Vec<_>>(),
        "discarded_without_clt_time": l.discarded,
        "other_answers": a.answer.others.iter().map(|(s, o)| json!({
            "server": s.to_string(),
            "found": o.is_found(),
            "status_name": o.status_name(),
        })).collect::<Vec<_>>(),
    })
}
