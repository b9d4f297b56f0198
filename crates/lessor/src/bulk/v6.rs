//! `lessor bulk` for DHCPv6 (RFC 5460): one TCP connection per VALUE to port 547, every
//! binding printed as it arrives: a row per address or prefix, or one JSON object per binding
//! (the fields of `lessor query --json`'s clients, with the query and the server).

use std::io::Write;
use std::net::Ipv6Addr;
use std::time::{SystemTime, UNIX_EPOCH};

use lessor_requestor::bulk::tcp::Error;
use lessor_requestor::bulk::tcp6::{self, Config6};
use lessor_requestor::bulk::End6;
use lessor_requestor::ClientData6;
use serde_json::json;

use super::{BulkArgs, Done};
use crate::cli::parse_key6;
use crate::query::v6::{client_json, cltt_ago, duid, query_json, relay_cell};
use crate::query::{dash_or, span};

const HEADER: &str = "BINDING                                      CLIENT-ID                                  PREFERRED  VALID      CLTT         RELAY";

fn rows(c: &ClientData6, received: SystemTime) -> Vec<String> {
    let client = dash_or(c.client_id.as_ref(), |d| d.to_string());
    let cltt = dash_or(cltt_ago(c, received), |s| format!("{} ago", span(s)));
    let relay = relay_cell(c.relay.as_ref());
    let row = |binding: String, preferred: u32, valid: u32| {
        format!(
            "{binding:<43}  {client:<41}  {:<9}  {:<9}  {cltt:<11}  {relay}",
            span(preferred),
            span(valid)
        )
    };
    let mut out: Vec<String> = c
        .addresses
        .iter()
        .map(|a| {
            row(
                a.address.to_string(),
                a.preferred_lifetime,
                a.valid_lifetime,
            )
        })
        .collect();
    out.extend(c.prefixes.iter().map(|p| {
        row(
            format!("{}/{}", p.prefix, p.length),
            p.preferred_lifetime,
            p.valid_lifetime,
        )
    }));
    out
}

/// Runs one DHCPv6 bulk query per VALUE, in turn; exit codes as for DHCPv4.
pub(crate) fn bulk(args: &BulkArgs) -> Result<Done, String> {
    let link = args.link.unwrap_or(Ipv6Addr::UNSPECIFIED);
    let keys = args
        .values
        .iter()
        .map(|v| parse_key6(args.kind, v, link, args.enterprise_number))
        .collect::<Result<Vec<_>, _>>()?;
    if args.query_start_time.is_some() || args.query_end_time.is_some() {
        return Err("--query-start-time and --query-end-time are DHCPv4 (RFC 6926) options".into());
    }
    let seed = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64)
        ^ u64::from(std::process::id());
    let mut config = Config6::new(duid(args.duid.as_deref(), seed)?);
    config.conn_timeout = args.timeout;
    config.data_timeout = args.timeout;
    config.max_retry = args.max_retry;
    let server = args.server;
    let mut done = Done {
        code: 0,
        bindings: 0,
    };
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    let mut header = !args.json;
    for (i, (key, value)) in keys.iter().zip(&args.values).enumerate() {
        // 24-bit transaction-ids, never 0.
        config.xid = ((seed as u32).wrapping_add(i as u32) & 0x00ff_ffff).max(1);
        let mut results = match tcp6::query(server, key, config.clone()) {
            Ok(r) => r,
            Err(e @ Error::Connect(_)) => return Err(format!("{server}: {e}")),
            Err(e) => {
                eprintln!("lessor bulk: {server}: {value}: {e}");
                done.code = 2;
                continue;
            }
        };
        let query = query_json(key);
        let mut failed = false;
        for item in results.by_ref() {
            let (client, server_id) = match item {
                Ok(b) => b,
                Err(e) => {
                    eprintln!("lessor bulk: {server}: {value}: {e}");
                    done.code = 2;
                    failed = true;
                    break;
                }
            };
            let now = SystemTime::now();
            let lines = if args.json {
                let mut v = client_json(&client, now);
                v["query"] = query.clone();
                v["server"] = json!(server.to_string());
                v["server_id"] = json!(server_id.map(|d| lessor_wire::hex::plain(&d.to_vec())));
                vec![v.to_string()]
            } else {
                let mut lines = Vec::new();
                if std::mem::take(&mut header) {
                    lines.push(HEADER.to_string());
                }
                lines.extend(rows(&client, now));
                lines
            };
            for line in lines {
                if writeln!(out, "{line}").is_err() {
                    // stdout closed (e.g. `| head`): stop quietly.
                    return Ok(done);
                }
            }
            done.bindings += 1;
        }
        if failed {
            continue;
        }
        match results.end() {
            Some(End6::Done { bindings: 0 }) | None => done.code = done.code.max(1),
            Some(End6::Done { .. }) => {}
            Some(End6::Failed {
                code,
                name,
                message,
            }) => {
                eprintln!("lessor bulk: {value}: {name} ({code}): {message}");
                done.code = done.code.max(1);
            }
        }
    }
    let _ = out.flush();
    Ok(done)
}
