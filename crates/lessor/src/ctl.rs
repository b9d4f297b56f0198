//! `lessor ctl`: the client of a running server's control API (docs/operator-guide.md,
//! "Control"), over the control socket (one JSON line each way) or the HTTP API with a token.
//! Bindings print as `lessor leases list` prints them; `--json` prints the server's answer.

use crate::leases::{self, text};
use clap::{Args, Subcommand};
use serde_json::{json, Map, Value};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

/// Where `[control] socket` is unless told.
pub const DEFAULT_SOCKET: &str = "/run/lessor/control.sock";

/// How long an answer may take (a lease-delete waits for the store).
const TIMEOUT: Duration = Duration::from_secs(30);

#[derive(Args)]
pub struct CtlArgs {
    /// The control socket (`[control] socket`).
    #[arg(long, value_name = "PATH", conflicts_with = "http")]
    socket: Option<PathBuf>,
    /// The HTTP control API instead (`[control] http-listen`), e.g. http://127.0.0.1:9421.
    #[arg(long, value_name = "URL", requires = "token_file")]
    http: Option<String>,
    /// The file holding the HTTP API's token.
    #[arg(long, value_name = "FILE", requires = "http")]
    token_file: Option<PathBuf>,
    /// Print the server's answer as JSON.
    #[arg(long, global = true)]
    json: bool,
    #[command(subcommand)]
    command: CtlCommand,
}

/// What one binding is looked up or queried by (exactly one).
#[derive(Args, Default)]
pub struct Keys {
    /// An IPv4 or IPv6 address (lease-get: also a delegated prefix, ADDRESS/LENGTH).
    #[arg(long)]
    address: Option<String>,
    /// A hardware address (DHCPv4), e.g. 02:00:00:00:00:01.
    #[arg(long)]
    mac: Option<String>,
    /// A client identifier in hex (DHCPv4 option 61; leasequery --family v6: a DUID).
    #[arg(long)]
    client_id: Option<String>,
    /// A relay-id in hex, or text:VALUE.
    #[arg(long)]
    relay_id: Option<String>,
    /// A remote-id in hex, or text:VALUE.
    #[arg(long)]
    remote_id: Option<String>,
    /// Only this family: v4 or v6.
    #[arg(long)]
    family: Option<String>,
}

#[derive(Subcommand)]
pub enum CtlCommand {
    /// The bindings of an address, MAC, client-id, DUID, relay-id or remote-id.
    LeaseGet {
        #[command(flatten)]
        keys: Keys,
        /// A DHCPv6 client DUID in hex.
        #[arg(long)]
        duid: Option<String>,
    },
    /// Every binding, a page at a time.
    LeaseList {
        /// Only v4 or v6.
        #[arg(long)]
        family: Option<String>,
        /// Only this state.
        #[arg(long)]
        state: Option<String>,
        /// Only bindings inside this prefix.
        #[arg(long, value_name = "PREFIX")]
        within: Option<String>,
        /// Bindings per page (at most 1000).
        #[arg(long)]
        limit: Option<u64>,
        /// Where the previous page ended (its `next`).
        #[arg(long)]
        cursor: Option<String>,
    },
    /// Delete the binding of an address (or a delegated prefix); answered once durable.
    LeaseDelete {
        /// The address or prefix.
        address: String,
    },
    /// Ask as a leasequery would (DHCPv4 RFC 4388 keys; DHCPv6 RFC 5007/5460 with --link).
    Leasequery {
        #[command(flatten)]
        keys: Keys,
        /// DHCPv6: the link-address (alone: every binding on the link).
        #[arg(long)]
        link: Option<String>,
    },
    /// Check a config file (default: the one the server runs on).
    ConfigTest {
        /// The file to check.
        path: Option<PathBuf>,
    },
    /// Apply the config file again.
    Reload,
    /// Stop the server (as SIGTERM does).
    Shutdown,
    /// Every counter the server keeps.
    Statistics,
}

fn put(m: &mut Map<String, Value>, key: &str, value: Option<impl Into<Value>>) {
    if let Some(v) = value {
        m.insert(key.into(), v.into());
    }
}

fn keys(m: &mut Map<String, Value>, k: Keys) {
    put(m, "address", k.address);
    put(m, "mac", k.mac);
    put(m, "client-id", k.client_id);
    put(m, "relay-id", k.relay_id);
    put(m, "remote-id", k.remote_id);
    put(m, "family", k.family);
}

/// The command's name and its fields.
fn request(command: CtlCommand) -> (&'static str, Map<String, Value>) {
    let mut m = Map::new();
    let name = match command {
        CtlCommand::LeaseGet { keys: k, duid } => {
            keys(&mut m, k);
            put(&mut m, "duid", duid);
            "lease-get"
        }
        CtlCommand::LeaseList {
            family,
            state,
            within,
            limit,
            cursor,
        } => {
            put(&mut m, "family", family);
            put(&mut m, "state", state);
            put(&mut m, "within", within);
            put(&mut m, "limit", limit);
            put(&mut m, "cursor", cursor);
            "lease-list"
        }
        CtlCommand::LeaseDelete { address } => {
            m.insert("address".into(), json!(address));
            "lease-delete"
        }
        CtlCommand::Leasequery { keys: k, link } => {
            keys(&mut m, k);
            put(&mut m, "link", link);
            "leasequery"
        }
        CtlCommand::ConfigTest { path } => {
            put(&mut m, "path", path.map(|p| p.display().to_string()));
            "config-test"
        }
        CtlCommand::Reload => "reload",
        CtlCommand::Shutdown => "shutdown",
        CtlCommand::Statistics => "statistics",
    };
    (name, m)
}

pub fn run(args: CtlArgs) -> ExitCode {
    let as_json = args.json;
    let (name, fields) = request(args.command);
    let answer = match &args.http {
        Some(url) => via_http(url, args.token_file.as_deref(), name, &fields),
        None => via_socket(
            args.socket.as_deref().unwrap_or(Path::new(DEFAULT_SOCKET)),
            name,
            fields,
        ),
    };
    let answer = match answer {
        Ok(a) => a,
        Err(e) => {
            eprintln!("lessor ctl: {e}");
            return ExitCode::from(2);
        }
    };
    if as_json {
        println!("{answer}");
    }
    if answer["ok"] != Value::Bool(true) {
        let e = answer["error"].as_str().unwrap_or("the server said no");
        eprintln!("lessor ctl: {name}: {e}");
        return ExitCode::FAILURE;
    }
    if !as_json {
        print!("{}", text_of(name, &answer));
    }
    // config-test of a file that does not validate fails, as `lessor check` does.
    if answer["valid"] == Value::Bool(false) {
        return ExitCode::FAILURE;
    }
    ExitCode::SUCCESS
}

fn via_socket(path: &Path, name: &str, mut fields: Map<String, Value>) -> Result<Value, String> {
    let stream = UnixStream::connect(path).map_err(|e| {
        format!(
            "control socket {}: {e}: is `lessor serve` running, with [control] socket = \"{}\"?",
            path.display(),
            path.display()
        )
    })?;
    stream
        .set_read_timeout(Some(TIMEOUT))
        .map_err(|e| e.to_string())?;
    fields.insert("request".into(), json!(name));
    let mut writer = stream.try_clone().map_err(|e| e.to_string())?;
    writeln!(writer, "{}", Value::Object(fields)).map_err(|e| format!("control socket: {e}"))?;
    let mut line = String::new();
    BufReader::new(stream)
        .read_line(&mut line)
        .map_err(|e| format!("control socket: {e}"))?;
    serde_json::from_str(&line).map_err(|e| format!("control socket: not an answer: {e}"))
}

/// One POST over HTTP/1.1 (`Connection: close`): the control API is plain HTTP on a
/// management address.
fn via_http(
    url: &str,
    token_file: Option<&Path>,
    name: &str,
    fields: &Map<String, Value>,
) -> Result<Value, String> {
    let token = match token_file {
        Some(f) => std::fs::read_to_string(f)
            .map_err(|e| format!("token file {}: {e}", f.display()))?
            .trim()
            .to_owned(),
        None => return Err("--http needs --token-file".into()),
    };
    let host = url
        .strip_prefix("http://")
        .ok_or_else(|| format!("{url:?}: only http://HOST:PORT URLs"))?
        .trim_end_matches('/');
    let mut stream = TcpStream::connect(host).map_err(|e| {
        format!("{url}: {e}: is `lessor serve` running, with [control] http-listen?")
    })?;
    stream
        .set_read_timeout(Some(TIMEOUT))
        .map_err(|e| e.to_string())?;
    let body = Value::Object(fields.clone()).to_string();
    write!(
        stream,
        "POST /v1/{name} HTTP/1.1\r\nHost: {host}\r\nAuthorization: Bearer {token}\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .map_err(|e| format!("{url}: {e}"))?;
    let mut response = Vec::new();
    stream
        .take(64 * 1024 * 1024)
        .read_to_end(&mut response)
        .map_err(|e| format!("{url}: {e}"))?;
    let text = String::from_utf8_lossy(&response);
    let (head, body) = text
        .split_once("\r\n\r\n")
        .ok_or_else(|| format!("{url}: not an HTTP answer"))?;
    let status = head.split(' ').nth(1).unwrap_or("?");
    match serde_json::from_str::<Value>(body.trim()) {
        Ok(v) => Ok(v),
        Err(_) => Err(format!("{url}: HTTP {status}: {}", body.trim())),
    }
}

/// The leases of an answer's `key`, as tables (DHCPv4 then DHCPv6).
fn tables(list: &Value) -> String {
    let mut v4 = Vec::new();
    let mut v6 = Vec::new();
    for l in list.as_array().into_iter().flatten() {
        if l.get("ia_type").is_some() {
            if let Ok(b) = leases::json6::from_json(l) {
                v6.push(Arc::new(b));
            }
        } else if let Ok(b) = leases::json::from_json(l) {
            v4.push(Arc::new(b));
        }
    }
    let mut out = String::new();
    if !v4.is_empty() || v6.is_empty() {
        out.push_str(&leases::table4(&v4));
    }
    if !v6.is_empty() {
        out.push_str(&leases::v6::table6(&v6));
    }
    out
}

/// What a human reads of an answer.
fn text_of(name: &str, a: &Value) -> String {
    match name {
        "lease-get" => {
            let mut out = tables(&a["leases"]);
            if a["truncated"] == Value::Bool(true) {
                out.push_str("(more: only the first 1000 shown)\n");
            }
            out
        }
        "lease-list" => {
            let mut out = tables(&a["leases"]);
            if let Some(next) = a["next"].as_str() {
                out.push_str(&format!("next page: --cursor {next}\n"));
            }
            out
        }
        "lease-delete" => {
            let d = &a["deleted"];
            let what = d["prefix"]
                .as_str()
                .or(d["address"].as_str())
                .unwrap_or("?");
            format!("deleted {what} ({})\n", d["state"].as_str().unwrap_or("?"))
        }
        "leasequery" => {
            let mut out = format!("{}\n", a["answer"].as_str().unwrap_or("?"));
            if a["binding"].is_object() {
                out.push_str(&tables(&json!([a["binding"].clone()])));
            }
            if let Some(assoc) = a["associated"].as_array().filter(|x| !x.is_empty()) {
                let list: Vec<&str> = assoc.iter().filter_map(Value::as_str).collect();
                out.push_str(&format!("associated: {}\n", list.join(", ")));
            }
            if let Some(link) = a["link"].as_str() {
                out.push_str(&format!("link: {link}\n"));
            }
            if a["bindings"].is_array() {
                out.push_str(&tables(&a["bindings"]));
            }
            if let Some(links) = a["links"].as_array() {
                let list: Vec<&str> = links.iter().filter_map(Value::as_str).collect();
                out.push_str(&format!("on links: {}\n", list.join(", ")));
            }
            out
        }
        "config-test" => {
            let path = a["path"].as_str().unwrap_or("?");
            let mut out = String::new();
            for e in a["errors"].as_array().into_iter().flatten() {
                out.push_str(&format!("{}\n", e.as_str().unwrap_or("?")));
            }
            for w in a["warnings"].as_array().into_iter().flatten() {
                out.push_str(&format!("warning: {}\n", w.as_str().unwrap_or("?")));
            }
            if a["valid"] == Value::Bool(true) {
                out.push_str(&format!("{path}: OK\n"));
            } else {
                out.push_str(&format!("{path}: does not validate\n"));
            }
            out
        }
        "reload" => format!("{}\n", a["reload"].as_str().unwrap_or("reloaded")),
        "shutdown" => "stopping\n".into(),
        "statistics" => {
            let mut rows = Vec::new();
            for (set, counters) in a["counters"].as_object().into_iter().flatten() {
                for (k, v) in counters.as_object().into_iter().flatten() {
                    rows.push(vec![set.clone(), k.clone(), v.to_string()]);
                }
            }
            for (k, v) in a["store"].as_object().into_iter().flatten() {
                rows.push(vec!["store".into(), k.clone(), v.to_string()]);
            }
            text::table(&["SET", "COUNTER", "VALUE"], &rows)
        }
        _ => format!("{a}\n"),
    }
}
