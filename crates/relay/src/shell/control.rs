//! The control socket: a Unix stream socket where the running relay answers one JSON request
//! per line with one JSON line. `lessor relay --show` and `--verify` are its clients.
//!
//! Requests: `{"request":"show"}` (the table, the counters, the relay-id),
//! `{"request":"verify","interface":"eth1","address":"198.51.100.7","mac":"02:00:00:00:00:01"}`
//! (source verification, `mac` optional) and `{"request":"lookup","address":"198.51.100.7"}`
//! (the entry of an address). For an address the table does not know, `verify` and `lookup`
//! ask the servers by UDP leasequery first (when on-demand recovery runs for its family) and
//! wait for the answer at most `lookup-wait`; the answer then says what the servers said
//! (`"leasequery"`). Anything else is answered `{"error":"..."}`.

use super::lookup::Askers;
use super::{lock, Shared};
use crate::location::{Location, Verdict};
use crate::recovery::lookup::{Done, Said};
use ipnet::IpNet;
use lessor_net::Clock;
use serde::ser::{SerializeStruct, Serializer};
use serde::Serialize;
use serde_json::{json, Value};
use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::IpAddr;
use std::os::unix::fs::PermissionsExt;
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

/// The longest request line read; a longer one closes the connection.
const MAX_REQUEST: u64 = 4096;

/// The control socket's thread.
pub(super) struct Server {
    path: PathBuf,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Server {
    /// Listens at `path` (a stale socket file left by a relay that died is replaced; a live
    /// one is an error: two relays would answer for one table).
    pub(super) fn start(
        path: &Path,
        shared: Arc<Mutex<Shared>>,
        clock: Clock,
        askers: Askers,
    ) -> Result<Server, String> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        }
        if UnixStream::connect(path).is_ok() {
            return Err(format!(
                "{}: another relay is answering there",
                path.display()
            ));
        }
        let _ = std::fs::remove_file(path);
        let listener = UnixListener::bind(path).map_err(|e| format!("{}: {e}", path.display()))?;
        // The table says where every subscriber is: for the relay's own user only.
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))
            .map_err(|e| format!("{}: {e}", path.display()))?;
        listener
            .set_nonblocking(true)
            .map_err(|e| format!("{}: {e}", path.display()))?;
        let stop = Arc::new(AtomicBool::new(false));
        let flag = Arc::clone(&stop);
        let thread = std::thread::Builder::new()
            .name("relay control".into())
            .spawn(move || serve(listener, &shared, clock, &askers, &flag))
            .map_err(|e| e.to_string())?;
        Ok(Server {
            path: path.to_owned(),
            stop,
            thread: Some(thread),
        })
    }

    pub(super) fn shutdown(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
        let _ = std::fs::remove_file(&self.path);
    }
}

impl Drop for Server {
    /// A relay that fails to start after its control socket is up does not leave it behind.
    fn drop(&mut self) {
        self.shutdown();
    }
}

fn serve(
    listener: UnixListener,
    shared: &Mutex<Shared>,
    clock: Clock,
    askers: &Askers,
    stop: &AtomicBool,
) {
    while !stop.load(Ordering::Relaxed) {
        match listener.accept() {
            Ok((stream, _)) => {
                // One client at a time, each bounded in time and size.
                let _ = connection(stream, shared, clock, askers);
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                std::thread::sleep(Duration::from_millis(50));
            }
            Err(_) => std::thread::sleep(Duration::from_millis(50)),
        }
    }
}

fn connection(
    stream: UnixStream,
    shared: &Mutex<Shared>,
    clock: Clock,
    askers: &Askers,
) -> io::Result<()> {
    stream.set_nonblocking(false)?;
    stream.set_read_timeout(Some(Duration::from_secs(5)))?;
    stream.set_write_timeout(Some(Duration::from_secs(30)))?;
    let mut writer = stream.try_clone()?;
    let mut reader = BufReader::new(stream.take(MAX_REQUEST * 16));
    let mut line = String::new();
    loop {
        line.clear();
        let n = (&mut reader).take(MAX_REQUEST).read_line(&mut line)?;
        if n == 0 || !line.ends_with('\n') {
            return Ok(());
        }
        let reply = answer(line.trim(), shared, &|| clock.now().wall, askers);
        let mut out = io::BufWriter::with_capacity(64 * 1024, &mut writer);
        reply.write_line(&mut out)?;
        out.flush()?;
    }
}

/// What asks the servers about an address the table does not know (`None`: nothing was asked;
/// `Some(None)`: asked, no answer within the wait).
type Ask<'a> = &'a dyn Fn(IpAddr) -> Option<Option<Done>>;

/// The answer to one request line; `now` reads the wall clock (a question may wait for a
/// leasequery).
pub(super) fn answer(
    line: &str,
    shared: &Mutex<Shared>,
    now: &dyn Fn() -> u64,
    askers: &Askers,
) -> Reply {
    answer_with(line, shared, now, &|address| askers.ask(address))
}

/// [`answer`] with the servers' side passed in (tests play it).
fn answer_with(line: &str, shared: &Mutex<Shared>, now: &dyn Fn() -> u64, ask: Ask<'_>) -> Reply {
    let request: Value = match serde_json::from_str(line) {
        Ok(v) => v,
        Err(e) => return Reply::Value(json!({ "error": format!("not JSON: {e}") })),
    };
    Reply::Value(match request.get("request").and_then(Value::as_str) {
        Some("show") => return Reply::Show(Box::new(Show::of(&lock(shared), now()))),
        Some("verify") => verify(&request, shared, now, ask),
        Some("lookup") => lookup(&request, shared, now, ask),
        Some(other) => {
            json!({ "error": format!("unknown request {other:?} (show, verify, lookup)") })
        }
        None => json!({ "error": "a request names itself: {\"request\":\"show\"}" }),
    })
}

/// One answer of the control socket, written as one line of JSON.
pub(super) enum Reply {
    Value(Value),
    /// The whole table: written entry by entry, never held as a JSON tree (100,000 entries
    /// would be hundreds of megabytes of maps).
    Show(Box<Show>),
}

impl Reply {
    fn write_line(&self, w: &mut impl Write) -> io::Result<()> {
        match self {
            Reply::Value(v) => serde_json::to_writer(&mut *w, v)?,
            Reply::Show(s) => serde_json::to_writer(&mut *w, s)?,
        }
        w.write_all(b"\n")
    }
}

/// A `show` answer: the table copied while the lock is held (the relaying threads wait on it,
/// so nothing is formatted then), serialised after it is released.
pub(super) struct Show {
    now: u64,
    relay_id: String,
    entries: Vec<Location>,
    counters: Value,
}

impl Show {
    fn of(s: &Shared, now: u64) -> Show {
        Show {
            now,
            relay_id: lessor_wire::hex::colon(&s.relay_id),
            entries: s.table.iter().cloned().collect(),
            counters: counters(s),
        }
    }
}

impl Serialize for Show {
    /// The keys in the order a JSON map gives them (sorted), as every other answer has them.
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut m = serializer.serialize_struct("Show", 4)?;
        m.serialize_field("counters", &self.counters)?;
        m.serialize_field("entries", &Entries(&self.entries))?;
        m.serialize_field("now", &self.now)?;
        m.serialize_field("relay_id", &self.relay_id)?;
        m.end()
    }
}

struct Entries<'a>(&'a [Location]);

impl Serialize for Entries<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_seq(self.0.iter().map(EntryJson::of))
    }
}

/// Text when every octet is printable ASCII, else none (the hex is always given beside it).
fn text(octets: &[u8]) -> Option<String> {
    (!octets.is_empty() && octets.iter().all(|b| (0x20..0x7f).contains(b)))
        .then(|| String::from_utf8_lossy(octets).into_owned())
}

/// One table entry as JSON: identifiers as colon hex, and as text beside it when printable.
/// The fields in sorted order, as a JSON map would give them.
#[derive(Serialize)]
struct EntryJson<'a> {
    bound: String,
    circuit_id: Option<String>,
    circuit_id_hex: Option<String>,
    client_id: Option<String>,
    cltt: Option<u64>,
    /// None: never.
    expires: Option<u64>,
    hardware: Option<String>,
    htype: Option<u8>,
    interface: Option<&'a str>,
    origin: &'static str,
    remote_id: Option<String>,
    remote_id_hex: Option<String>,
}

impl<'a> EntryJson<'a> {
    fn of(l: &'a Location) -> EntryJson<'a> {
        let hex = |o: &Option<Vec<u8>>| o.as_deref().map(lessor_wire::hex::colon);
        let txt = |o: &Option<Vec<u8>>| o.as_deref().and_then(text);
        let bound = match l.bound.prefix_len() {
            32 if l.bound.addr().is_ipv4() => l.bound.addr().to_string(),
            128 if l.bound.addr().is_ipv6() => l.bound.addr().to_string(),
            _ => l.bound.to_string(),
        };
        EntryJson {
            bound,
            circuit_id: txt(&l.circuit_id),
            circuit_id_hex: hex(&l.circuit_id),
            client_id: hex(&l.client_id),
            cltt: l.cltt,
            expires: (l.expires != u64::MAX).then_some(l.expires),
            hardware: l
                .hardware
                .as_ref()
                .map(|h| lessor_wire::hex::colon(&h.address)),
            htype: l.hardware.as_ref().map(|h| h.htype),
            interface: l.interface.as_deref(),
            origin: l.origin.as_str(),
            remote_id: txt(&l.remote_id),
            remote_id_hex: hex(&l.remote_id),
        }
    }
}

fn entry(l: &Location) -> Value {
    serde_json::to_value(EntryJson::of(l)).unwrap_or(Value::Null)
}

fn counters(s: &Shared) -> Value {
    let mut c = json!({
        "entries": s.table.len(),
        "recovered": s.recovered,
        "queried": s.queried,
        "cache_hits": s.cache_hits,
        "expired": s.expired,
    });
    if let Some(e) = &s.engine4 {
        let k = e.counters();
        let dropped: serde_json::Map<String, Value> =
            k.dropped().map(|(n, v)| (n.to_owned(), json!(v))).collect();
        c["dhcp4"] = json!({
            "forwarded_to_servers": k.requests_forwarded,
            "forwarded_to_clients": k.replies_forwarded,
            "gleaned": k.gleaned,
            "removed": k.removed,
            "too_long_for_option82": k.too_long_for_option82,
            "dropped": dropped,
        });
    }
    if let Some(e) = &s.engine6 {
        let k = e.counters();
        let dropped: serde_json::Map<String, Value> = k
            .drops()
            .map(|(r, v)| (r.name().to_owned(), json!(v)))
            .collect();
        c["dhcp6"] = json!({
            "received": k.received,
            "forwarded_to_servers": k.forwarded,
            "forwarded_to_clients": k.replied,
            "gleaned": k.gleaned,
            "glean_kept": k.glean_kept,
            "removed": k.removed,
            "unparsed_replies": k.unparsed_replies,
            "pending": e.pending(),
            "pending_lapsed": k.pending_lapsed,
            "dropped": dropped,
        });
    }
    c
}

/// The counters of each family, in the order `--show` and the stop line print them.
const FAMILY_COUNTERS: [(&str, &[&str]); 2] = [
    (
        "dhcp4",
        &[
            "forwarded_to_servers",
            "forwarded_to_clients",
            "gleaned",
            "removed",
            "too_long_for_option82",
        ],
    ),
    (
        "dhcp6",
        &[
            "received",
            "forwarded_to_servers",
            "forwarded_to_clients",
            "gleaned",
            "glean_kept",
            "removed",
            "unparsed_replies",
            "pending",
            "pending_lapsed",
        ],
    ),
];

/// The counters as one log line: `key=value`, drops only by the reasons that happened.
pub(super) fn counters_line(s: &Shared) -> String {
    counters_text(&counters(s))
}

/// The counters of a `show` answer as `key=value` words, as the log and `--show` print them.
pub fn counters_text(c: &Value) -> String {
    let mut parts = Vec::new();
    for k in ["entries", "recovered", "queried", "cache_hits", "expired"] {
        parts.push(format!("{}={}", k.replace('_', "-"), c[k]));
    }
    for (family, keys) in FAMILY_COUNTERS {
        let Some(d) = c.get(family) else { continue };
        for k in keys {
            parts.push(format!("{family}-{}={}", k.replace('_', "-"), d[k]));
        }
        for (reason, n) in d["dropped"].as_object().into_iter().flatten() {
            if n.as_u64().unwrap_or(0) > 0 {
                parts.push(format!("{family}-dropped-{reason}={n}"));
            }
        }
    }
    parts.join(" ")
}

/// The request's `address`.
fn address(request: &Value, what: &str) -> Result<IpAddr, Value> {
    match request
        .get("address")
        .and_then(Value::as_str)
        .map(str::parse::<IpAddr>)
    {
        Some(Ok(a)) => Ok(a),
        _ => Err(json!({ "error": format!("{what} needs an address (IPv4 or IPv6)") })),
    }
}

/// What the servers said, as the answer reports it.
fn said(asked: Option<Done>) -> Value {
    match asked {
        None => json!({ "said": "no answer within lookup-wait" }),
        Some(d) => json!({
            "said": d.said.as_str(),
            "from_cache": d.from_cache,
            "server": d.server.map(|s| s.to_string()),
        }),
    }
}

/// Asks the servers about `address` when the table does not know it (RFC 4388 §6.6: the relay
/// learns what it lost on demand). `None`: the table knew it, or nothing could be asked.
fn ask_if_unknown(
    shared: &Mutex<Shared>,
    address: IpAddr,
    now: u64,
    ask: Ask<'_>,
) -> Option<Value> {
    // Asked outside the lock: the receive threads go on meanwhile.
    {
        let s = lock(shared);
        if s.table.get(IpNet::from(address)).is_some() || s.table.lookup(address, now).is_some() {
            return None;
        }
    }
    ask(address).map(said)
}

fn verify(request: &Value, shared: &Mutex<Shared>, now: &dyn Fn() -> u64, ask: Ask<'_>) -> Value {
    let Some(interface) = request.get("interface").and_then(Value::as_str) else {
        return json!({ "error": "verify needs an interface" });
    };
    let address = match address(request, "verify") {
        Ok(a) => a,
        Err(e) => return e,
    };
    let mac = match request.get("mac").and_then(Value::as_str) {
        None => None,
        Some(m) => match lessor_wire::hex::parse(m) {
            Ok(m) => Some(m),
            Err(e) => return json!({ "error": format!("mac: {e}") }),
        },
    };
    let asked = ask_if_unknown(shared, address, now(), ask);
    let now = now();
    let s = lock(shared);
    let verdict = s
        .table
        .verify_source(interface, address, mac.as_deref(), now);
    let (allowed, reason) = match verdict {
        Verdict::Allowed => (true, "bound to this client behind this interface"),
        Verdict::Unknown => (false, unknown_reason(asked.as_ref())),
        Verdict::Expired => (false, "its binding ended"),
        Verdict::OtherInterface => (false, "bound to a client behind another interface"),
        Verdict::OtherHardware => (false, "bound to another hardware address"),
    };
    let held = s.table.lookup(address, now).map(entry);
    let mut answer = json!({ "allowed": allowed, "reason": reason, "entry": held });
    if let Some(a) = asked {
        answer["leasequery"] = a;
    }
    answer
}

/// Why nothing is known of an address, given what the servers said.
fn unknown_reason(asked: Option<&Value>) -> &'static str {
    match asked.and_then(|a| a["said"].as_str()) {
        None => "nothing is known of this address",
        Some(s) if s == Said::Elsewhere.as_str() => {
            "the servers bind it to a client of another relay agent"
        }
        Some(s) if s == Said::Unassigned.as_str() => "the servers say it is not leased",
        Some(s) if s == Said::Unknown.as_str() => "no server knows this address",
        Some(_) => "nothing is known of this address, and the servers did not tell",
    }
}

fn lookup(request: &Value, shared: &Mutex<Shared>, now: &dyn Fn() -> u64, ask: Ask<'_>) -> Value {
    let address = match address(request, "lookup") {
        Ok(a) => a,
        Err(e) => return e,
    };
    let asked = ask_if_unknown(shared, address, now(), ask);
    let now = now();
    let s = lock(shared);
    let held = s.table.lookup(address, now).map(entry);
    let mut answer = json!({
        "now": now,
        "entry": held,
        "source": if asked.is_some() { "leasequery" } else { "table" },
    });
    if let Some(a) = asked {
        answer["leasequery"] = a;
    }
    answer
}

/// Why a control request got no answer.
#[derive(Debug)]
pub enum ControlError {
    Connect { path: PathBuf, source: io::Error },
    Io(io::Error),
    Answer(String),
}

impl std::fmt::Display for ControlError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ControlError::Connect { path, source } => write!(
                f,
                "control socket {}: {source} (is `lessor relay` running with this config?)",
                path.display()
            ),
            ControlError::Io(e) => write!(f, "control socket: {e}"),
            ControlError::Answer(e) => write!(f, "control socket: {e}"),
        }
    }
}

impl std::error::Error for ControlError {}

/// Sends one request to the relay listening at `path` and returns its answer.
pub fn request(path: &Path, request: &Value) -> Result<Value, ControlError> {
    let line = request_line(path, request)?;
    serde_json::from_str(&line).map_err(|e| ControlError::Answer(e.to_string()))
}

/// [`request`]'s answer as the line of JSON the relay wrote, checked (valid JSON, not an
/// error) without being made a tree: a `show` of a large table is printed as it came.
pub fn request_line(path: &Path, request: &Value) -> Result<String, ControlError> {
    let stream = UnixStream::connect(path).map_err(|source| ControlError::Connect {
        path: path.to_owned(),
        source,
    })?;
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .map_err(ControlError::Io)?;
    let mut writer = stream.try_clone().map_err(ControlError::Io)?;
    writer
        .write_all(format!("{request}\n").as_bytes())
        .map_err(ControlError::Io)?;
    let mut line = String::new();
    BufReader::new(stream)
        .read_line(&mut line)
        .map_err(ControlError::Io)?;
    /// Every other field is skipped, not kept.
    #[derive(serde::Deserialize)]
    struct ErrorOnly {
        error: Option<String>,
    }
    let answer: ErrorOnly =
        serde_json::from_str(&line).map_err(|e| ControlError::Answer(e.to_string()))?;
    match answer.error {
        Some(e) => Err(ControlError::Answer(e)),
        None => Ok(line.trim_end().to_owned()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::location::{bound4, Hardware, LocationTable, Origin};
    use crate::relay_id::Provenance;

    /// A reply as the client reads it: the line written, parsed.
    fn value(reply: Reply) -> Value {
        let mut line = Vec::new();
        reply.write_line(&mut line).unwrap();
        assert_eq!(line.last(), Some(&b'\n'));
        serde_json::from_slice(&line).unwrap()
    }

    fn shared() -> Mutex<Shared> {
        let mut table = LocationTable::new();
        table.merge(Location {
            bound: bound4([198, 51, 100, 7].into()),
            hardware: Some(Hardware {
                htype: 1,
                address: vec![2, 0, 0, 0, 0, 1],
            }),
            client_id: None,
            interface: Some("eth1".into()),
            circuit_id: Some(b"eth1".to_vec()),
            remote_id: Some(vec![0, 1]),
            expires: 200,
            cltt: Some(100),
            origin: Origin::Gleaned,
        });
        Mutex::new(Shared {
            table,
            engine4: None,
            engine6: None,
            recovered: 0,
            queried: 0,
            cache_hits: 0,
            expired: 0,
            gleans4: Default::default(),
            relay_id: vec![0, 4, 1],
            relay_id_from: Provenance::Configured,
        })
    }

    #[test]
    fn show_lists_entries_with_text_and_hex() {
        let a = value(answer(
            r#"{"request":"show"}"#,
            &shared(),
            &|| 150,
            &Askers::default(),
        ));
        assert_eq!(a["relay_id"], "00:04:01");
        let e = &a["entries"][0];
        assert_eq!(e["bound"], "198.51.100.7");
        assert_eq!(e["hardware"], "02:00:00:00:00:01");
        assert_eq!(e["circuit_id"], "eth1");
        assert_eq!(e["remote_id"], Value::Null);
        assert_eq!(e["remote_id_hex"], "00:01");
        assert_eq!(e["expires"], 200);
        assert_eq!(e["origin"], "gleaned");
        assert_eq!(a["counters"]["entries"], 1);
    }

    /// The entries written one by one are the JSON maps `show` used to build, byte for byte
    /// (sorted keys, nulls kept), for every kind of field.
    #[test]
    fn show_is_written_as_the_json_map_it_was() {
        let s = shared();
        lock(&s).table.merge(Location {
            bound: "2001:db8:8000::/56".parse().unwrap(),
            hardware: None,
            client_id: Some(vec![0, 3, 0, 1, 2, 0, 0, 0, 0, 9]),
            interface: None,
            circuit_id: Some(vec![0xff, b'"', b'\\']),
            remote_id: Some(b"modem \"7\"".to_vec()),
            expires: u64::MAX,
            cltt: None,
            origin: Origin::Recovered,
        });
        let old = |l: &Location| {
            let hex = |o: &Option<Vec<u8>>| o.as_deref().map(lessor_wire::hex::colon);
            let txt = |o: &Option<Vec<u8>>| o.as_deref().and_then(text);
            let bound = match l.bound.prefix_len() {
                32 if l.bound.addr().is_ipv4() => l.bound.addr().to_string(),
                128 if l.bound.addr().is_ipv6() => l.bound.addr().to_string(),
                _ => l.bound.to_string(),
            };
            json!({
                "bound": bound,
                "htype": l.hardware.as_ref().map(|h| h.htype),
                "hardware": l.hardware.as_ref().map(|h| lessor_wire::hex::colon(&h.address)),
                "client_id": hex(&l.client_id),
                "interface": l.interface.as_deref(),
                "circuit_id": txt(&l.circuit_id),
                "circuit_id_hex": hex(&l.circuit_id),
                "remote_id": txt(&l.remote_id),
                "remote_id_hex": hex(&l.remote_id),
                "expires": (l.expires != u64::MAX).then_some(l.expires),
                "cltt": l.cltt,
                "origin": l.origin.as_str(),
            })
        };
        let shared = lock(&s);
        let was = json!({
            "now": 150,
            "relay_id": lessor_wire::hex::colon(&shared.relay_id),
            "entries": shared.table.iter().map(old).collect::<Vec<_>>(),
            "counters": counters(&shared),
        });
        let mut line = Vec::new();
        Reply::Show(Box::new(Show::of(&shared, 150)))
            .write_line(&mut line)
            .unwrap();
        assert_eq!(String::from_utf8(line).unwrap(), format!("{was}\n"));
        assert_eq!(shared.table.len(), 2);
        for l in shared.table.iter() {
            assert_eq!(entry(l).to_string(), old(l).to_string());
        }
    }

    #[test]
    fn verify_answers_yes_or_no_with_a_reason() {
        let s = shared();
        let ask = |q: &str| value(answer(q, &s, &|| 150, &Askers::default()));
        let a = ask(
            r#"{"request":"verify","interface":"eth1","address":"198.51.100.7","mac":"02:00:00:00:00:01"}"#,
        );
        assert_eq!(
            (a["allowed"].clone(), a["entry"]["bound"].clone()),
            (json!(true), json!("198.51.100.7"))
        );
        let a = ask(r#"{"request":"verify","interface":"eth2","address":"198.51.100.7"}"#);
        assert_eq!(a["allowed"], false);
        assert_eq!(a["reason"], "bound to a client behind another interface");
        let a = ask(r#"{"request":"verify","interface":"eth1","address":"198.51.100.8"}"#);
        assert_eq!(a["reason"], "nothing is known of this address");
        assert!(
            ask(r#"{"request":"verify","interface":"eth1","address":"x"}"#)["error"].is_string()
        );
        assert!(ask("nonsense")["error"].is_string());
        assert!(ask(r#"{"request":"drop-table"}"#)["error"].is_string());
    }

    #[test]
    fn an_unknown_address_is_asked_of_the_servers_and_answered_from_the_table() {
        use crate::recovery::lookup::{Done, Said};
        let s = shared();
        let asked = std::cell::RefCell::new(Vec::new());
        let queried = Location {
            bound: bound4([198, 51, 100, 9].into()),
            origin: Origin::Queried,
            ..lock(&s).table.iter().next().unwrap().clone()
        };
        // Plays the lookup thread: merges what the server said, as it does.
        let ask = |address: IpAddr| {
            asked.borrow_mut().push(address);
            let said = match address.to_string().as_str() {
                "198.51.100.9" => {
                    lock(&s).table.merge(queried.clone());
                    Said::Here(queried.clone())
                }
                "198.51.100.10" => Said::Unassigned,
                "198.51.100.11" => Said::Elsewhere,
                _ => return Some(None),
            };
            Some(Some(Done {
                token: 0,
                address: [0, 0, 0, 0].into(),
                said,
                from_cache: address.to_string() == "198.51.100.10",
                server: Some("192.0.2.1:67".parse().unwrap()),
            }))
        };
        let q = |line: &str| value(answer_with(line, &s, &|| 150, &ask));
        // Known to the table: nothing is asked.
        let a = q(r#"{"request":"lookup","address":"198.51.100.7"}"#);
        assert_eq!(
            (a["source"].clone(), a["entry"]["origin"].clone()),
            (json!("table"), json!("gleaned"))
        );
        assert!(asked.borrow().is_empty());
        let a = q(r#"{"request":"lookup","address":"198.51.100.9"}"#);
        assert_eq!(a["source"], "leasequery");
        assert_eq!(a["leasequery"]["said"], "active");
        assert_eq!(a["entry"]["origin"], "queried");
        let a = q(r#"{"request":"verify","interface":"eth1","address":"198.51.100.9"}"#);
        assert_eq!(a["allowed"], true);
        assert_eq!(asked.borrow().len(), 1, "the entry is in the table now");
        let a = q(r#"{"request":"verify","interface":"eth1","address":"198.51.100.10"}"#);
        assert_eq!(a["allowed"], false);
        assert_eq!(a["reason"], "the servers say it is not leased");
        assert_eq!(a["leasequery"]["from_cache"], true);
        let a = q(r#"{"request":"verify","interface":"eth1","address":"198.51.100.11"}"#);
        assert_eq!(
            a["reason"],
            "the servers bind it to a client of another relay agent"
        );
        let a = q(r#"{"request":"lookup","address":"198.51.100.12"}"#);
        assert_eq!(
            (a["entry"].clone(), a["leasequery"]["said"].clone()),
            (Value::Null, json!("no answer within lookup-wait"))
        );
        assert!(q(r#"{"request":"lookup"}"#)["error"].is_string());
    }

    #[test]
    fn a_socket_round_trip() {
        let dir = std::env::temp_dir().join(format!("lessor-relay-control-{}", std::process::id()));
        let path = dir.join("control.sock");
        let mut server =
            Server::start(&path, Arc::new(shared()), Clock::new(), Askers::default()).unwrap();
        // A second relay on the same socket is refused.
        assert!(Server::start(&path, Arc::new(shared()), Clock::new(), Askers::default()).is_err());
        let a = request(&path, &json!({"request": "show"})).unwrap();
        assert_eq!(a["entries"].as_array().unwrap().len(), 1);
        let e = request(&path, &json!({"request": "nope"})).unwrap_err();
        assert!(e.to_string().contains("unknown request"), "{e}");
        use std::os::unix::fs::MetadataExt;
        assert_eq!(std::fs::metadata(&path).unwrap().mode() & 0o777, 0o600);
        server.shutdown();
        assert!(!path.exists());
        assert!(matches!(
            request(&path, &json!({"request": "show"})),
            Err(ControlError::Connect { .. })
        ));
        let _ = std::fs::remove_dir_all(dir);
    }
}
