//! The relay's configuration: its own TOML file (a relay is another box than a server), read and
//! checked with every mistake named by file, line, column and key (lessor-config), as the
//! server's is. See docs/configuration.md, section "lessor relay".

mod dhcp6;
pub mod schema;
#[cfg(test)]
mod tests;

pub use dhcp6::{Dhcp6, Interface6, Resolved, Upstream6};

use crate::recovery::BULK_PORT6;
use lessor_config::{ConfigError, ConfigErrors, Finding, KeyPath, Source};
use lessor_wire::framing::Dialect;
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV4, SocketAddrV6};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// The largest hops limit RFC 1542 §4.1.1 allows to configure.
pub const MAX_HOPS_LIMIT: u8 = 16;

/// The length of the relay-id the relay generates when none is configured (a DUID-UUID: two
/// octets of type, sixteen of UUID; see [`crate::relay_id`]).
pub const GENERATED_RELAY_ID_LEN: usize = 18;

/// A relay config that passed every check.
#[derive(Debug, Clone)]
pub struct Config {
    /// Where the generated relay-id is kept.
    pub state_dir: PathBuf,
    /// The configured relay-id (a DUID), if any: it replaces the generated one.
    pub relay_id: Option<Vec<u8>>,
    /// The control socket's path (`lessor relay --show` asks there).
    pub control_socket: PathBuf,
    /// `[relay.dhcp4]`.
    pub dhcp4: Option<Dhcp4>,
    /// `[relay.dhcp6]`.
    pub dhcp6: Option<Dhcp6>,
    /// `[relay.recovery]` (its defaults when the section is absent).
    pub recovery: Recovery,
    /// `receive-spin`: receive threads poll their sockets for a while after a dense batch
    /// instead of sleeping at once.
    pub receive_spin: bool,
    /// `log-format` and `log-level` (docs/configuration.md, "Logs").
    pub log_format: lessor_config::LogFormat,
    pub log_level: lessor_config::LogLevel,
}

/// `[relay.recovery]`, resolved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recovery {
    /// Whether the relay asks the servers for its bindings at start (bulk leasequery).
    pub at_start: bool,
    /// How long start-up waits for recovery before the relay declares itself ready anyway
    /// (recovery then goes on in the background and merges when it completes).
    pub ready_after: Duration,
    /// The DHCPv4 servers' bulk leasequery listeners, each with its dialect.
    pub servers4: Vec<(SocketAddr, Dialect)>,
    /// The DHCPv6 servers' bulk leasequery listeners as configured; `None`: every unicast
    /// `[relay.dhcp6]` server on TCP 547 (`recovery::plan6` takes them from the engine).
    pub servers6: Option<Vec<SocketAddr>>,
    /// The bulk client's BULK_LQ_CONN_TIMEOUT, BULK_LQ_DATA_TIMEOUT, first retry wait and
    /// BULK_LQ_MAX_RETRY.
    pub conn_timeout: Duration,
    pub data_timeout: Duration,
    pub first_retry: Duration,
    pub max_retry: Duration,
    /// Whether an address the table does not know is asked about by UDP leasequery.
    pub on_demand: bool,
    /// How long a control request waits for an on-demand answer.
    pub lookup_wait: Duration,
}

/// `[relay.dhcp4]`, resolved.
#[derive(Debug, Clone)]
pub struct Dhcp4 {
    /// Every server a request is forwarded to.
    pub servers: Vec<SocketAddrV4>,
    /// Requests whose hops reach this are dropped.
    pub max_hops: u8,
    /// The port the relay listens on (clients and servers send to it); clients are answered on
    /// the next one.
    pub port: u16,
    pub interfaces: Vec<Interface4>,
}

/// One downstream interface.
#[derive(Debug, Clone)]
pub struct Interface4 {
    pub name: String,
    /// Agent circuit-id (option 82 sub-option 1): the interface name unless configured.
    pub circuit_id: Vec<u8>,
    /// Agent remote-id (sub-option 2), as a template ([`RemoteId::expand`]); none: not sent.
    pub remote_id: Option<RemoteId>,
    /// The giaddr put in requests from this interface; none: its first IPv4 address at start.
    pub giaddr: Option<Ipv4Addr>,
    /// Whether a request arriving here with option 82 and giaddr 0 (inserted by a trusted
    /// bridge between client and relay) is relayed (RFC 3046 §2.1); untrusted: dropped.
    pub trusted: bool,
}

/// A remote-id template: text with `{hostname}` and `{interface}` placeholders.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RemoteId(String);

impl RemoteId {
    /// Checks a template: only the known placeholders, braces balanced.
    pub fn parse(template: &str) -> Result<RemoteId, String> {
        let mut rest = template;
        while let Some(open) = rest.find('{') {
            let after = &rest[open + 1..];
            let close = after
                .find('}')
                .ok_or_else(|| format!("{template:?}: \"{{\" without \"}}\""))?;
            match &after[..close] {
                "hostname" | "interface" => {}
                other => {
                    return Err(format!(
                        "{template:?}: unknown placeholder {{{other}}} (use {{hostname}}, {{interface}})"
                    ))
                }
            }
            rest = &after[close + 1..];
        }
        if rest.contains('}') {
            return Err(format!("{template:?}: \"}}\" without \"{{\""));
        }
        Ok(RemoteId(template.to_owned()))
    }

    /// The remote-id of `interface` on the host `hostname`.
    pub fn expand(&self, hostname: &str, interface: &str) -> Vec<u8> {
        self.0
            .replace("{hostname}", hostname)
            .replace("{interface}", interface)
            .into_bytes()
    }

    pub fn template(&self) -> &str {
        &self.0
    }
}

/// What a relay file looks like: a `[relay]` table at the top. `lessor check` tells the two
/// kinds of file apart by it.
pub fn is_relay_file(text: &str) -> bool {
    toml_edit::ImDocument::parse(text).is_ok_and(|d| d.as_table().contains_key("relay"))
}

/// Reads and checks the relay config at `path`. A relative `state-dir` or `control-socket` is
/// taken from the file's directory, so `lessor relay --show --config FILE` finds the socket the
/// running relay made whatever the working directory.
pub fn load(path: &Path) -> Result<Config, ConfigErrors> {
    let text = lessor_config::read(path)?;
    let mut config = parse(&text, &path.display().to_string())?;
    let dir = path.parent().unwrap_or(Path::new("."));
    for p in [&mut config.state_dir, &mut config.control_socket] {
        if p.is_relative() {
            *p = dir.join(&*p);
        }
    }
    Ok(config)
}

/// Checks relay config `text`; `file` names it in errors.
pub fn parse(text: &str, file: &str) -> Result<Config, ConfigErrors> {
    let source = Source::parse(text, file)?;
    let parsed: schema::File = source.deserialize()?;
    let mut findings: Vec<Finding> = Vec::new();
    let root = KeyPath::default().key("relay");
    let Some(relay) = parsed.relay else {
        return Err(ConfigErrors(vec![ConfigError {
            position: Some(lessor_config::Position { line: 1, column: 1 }),
            ..source.error(root, "a relay file needs a [relay] table".into())
        }]));
    };
    let relay_id = relay
        .relay_id
        .as_deref()
        .and_then(|hex| match lessor_wire::hex::parse(hex) {
            Ok(id) if (3..=130).contains(&id.len()) => Some(id),
            Ok(id) => {
                findings.push((
                    root.key("relay-id"),
                    format!(
                        "a relay-id is a DUID, 3 to 130 octets (RFC 8415 §11); this one has {}",
                        id.len()
                    ),
                ));
                None
            }
            Err(e) => {
                findings.push((root.key("relay-id"), e.to_string()));
                None
            }
        });
    let id_len = relay_id.as_ref().map_or(GENERATED_RELAY_ID_LEN, Vec::len);
    let dhcp4 = relay
        .dhcp4
        .as_ref()
        .map(|d| dhcp4(d, &root.key("dhcp4"), id_len, &mut findings));
    let dhcp6 = relay.dhcp6.as_ref().map(|d| {
        dhcp6::dhcp6(
            d,
            &root.key("dhcp6"),
            relay_id.as_deref(),
            &root.key("relay-id"),
            &mut findings,
        )
    });
    if relay.dhcp4.is_none() && relay.dhcp6.is_none() {
        findings.push((
            root.clone(),
            "nothing to relay: add [relay.dhcp4] or [relay.dhcp6] with servers and interfaces"
                .into(),
        ));
    }
    let recovery = recovery(
        relay
            .recovery
            .as_ref()
            .unwrap_or(&schema::Recovery::default()),
        &root.key("recovery"),
        dhcp4.as_ref(),
        &mut findings,
    );
    if !findings.is_empty() {
        return Err(ConfigErrors(source.errors(findings)));
    }
    let control_socket = relay
        .control_socket
        .unwrap_or_else(|| relay.state_dir.join("control.sock"));
    Ok(Config {
        state_dir: relay.state_dir,
        relay_id,
        control_socket,
        dhcp4,
        recovery,
        dhcp6,
        receive_spin: relay.receive_spin,
        log_format: relay.log_format,
        log_level: relay.log_level,
    })
}

fn recovery(
    r: &schema::Recovery,
    at: &KeyPath,
    dhcp4: Option<&Dhcp4>,
    out: &mut Vec<Finding>,
) -> Recovery {
    let dialect = match r.dialect.as_str() {
        "rfc6926" => Dialect::Rfc6926,
        "draft" => Dialect::Draft,
        other => {
            out.push((
                at.key("dialect"),
                format!("{other:?}: the bulk dialect is \"rfc6926\" or \"draft\""),
            ));
            Dialect::Rfc6926
        }
    };
    if r.bulk_port == 0 {
        out.push((
            at.key("bulk-port"),
            "port 0 is not a port to connect to".into(),
        ));
    }
    let servers4 = match &r.servers4 {
        // Where the relay forwards requests is where it asks.
        None => dhcp4.map_or_else(Vec::new, |d| {
            d.servers
                .iter()
                .map(|s| (SocketAddr::from((*s.ip(), r.bulk_port)), dialect))
                .collect()
        }),
        Some(list) => {
            let mut servers = Vec::new();
            for (i, s) in list.iter().enumerate() {
                let parsed = s.parse::<SocketAddrV4>().or_else(|_| {
                    s.parse::<Ipv4Addr>()
                        .map(|a| SocketAddrV4::new(a, r.bulk_port))
                });
                match parsed {
                    Ok(a)
                        if a.ip().is_unspecified()
                            || a.ip().is_broadcast()
                            || a.ip().is_multicast() =>
                    {
                        out.push((
                            at.key("servers4").index(i),
                            format!("{s}: a bulk leasequery server is a unicast address"),
                        ))
                    }
                    Ok(a) if a.port() == 0 => out.push((
                        at.key("servers4").index(i),
                        format!("{s}: port 0 is not a port to connect to"),
                    )),
                    Ok(a) => servers.push((SocketAddr::V4(a), dialect)),
                    Err(_) => out.push((
                        at.key("servers4").index(i),
                        format!("{s:?} is not an IPv4 address or address:port"),
                    )),
                }
            }
            servers
        }
    };
    let servers6 = r.servers6.as_ref().map(|list| {
        let mut servers = Vec::new();
        for (i, s) in list.iter().enumerate() {
            let parsed = s.parse::<SocketAddrV6>().or_else(|_| {
                s.parse::<Ipv6Addr>()
                    .map(|a| SocketAddrV6::new(a, BULK_PORT6, 0, 0))
            });
            let here = || at.key("servers6").index(i);
            match parsed {
                Ok(a) if a.ip().is_unspecified() || a.ip().is_multicast() => out.push((
                    here(),
                    format!("{s}: a bulk leasequery server is a unicast address"),
                )),
                Ok(a) if a.port() == 0 => {
                    out.push((here(), format!("{s}: port 0 is not a port to connect to")))
                }
                Ok(a) => servers.push(SocketAddr::V6(a)),
                Err(_) => out.push((
                    here(),
                    format!("{s:?} is not an IPv6 address or [address]:port"),
                )),
            }
        }
        servers
    });
    if r.ready_after.0 == 0 && r.at_start {
        out.push((
            at.key("ready-after"),
            "0s would never wait for recovery: set at-start = false instead".into(),
        ));
    }
    for (key, value) in [
        ("conn-timeout", r.conn_timeout),
        ("data-timeout", r.data_timeout),
    ] {
        if value.0 == 0 {
            out.push((at.key(key), "a timeout of 0s gives up at once".into()));
        }
    }
    if r.on_demand && r.lookup_wait.0 == 0 {
        out.push((
            at.key("lookup-wait"),
            "0s would never wait for an answer: set on-demand = false instead".into(),
        ));
    }
    Recovery {
        at_start: r.at_start,
        ready_after: r.ready_after.duration(),
        servers4,
        servers6,
        conn_timeout: r.conn_timeout.duration(),
        data_timeout: r.data_timeout.duration(),
        first_retry: r.first_retry.duration(),
        max_retry: r.max_retry.duration(),
        on_demand: r.on_demand,
        lookup_wait: r.lookup_wait.duration(),
    }
}

fn dhcp4(d: &schema::Dhcp4, at: &KeyPath, id_len: usize, out: &mut Vec<Finding>) -> Dhcp4 {
    let mut servers = Vec::new();
    if d.servers.is_empty() {
        out.push((at.key("servers"), "name at least one server".into()));
    }
    for (i, s) in d.servers.iter().enumerate() {
        let parsed = s
            .parse::<SocketAddrV4>()
            .or_else(|_| s.parse::<Ipv4Addr>().map(|a| SocketAddrV4::new(a, 67)));
        match parsed {
            Ok(a) if a.ip().is_unspecified() || a.ip().is_broadcast() || a.ip().is_multicast() => {
                out.push((
                    at.key("servers").index(i),
                    format!("{s}: a server is a unicast address"),
                ))
            }
            Ok(a) if a.port() == 0 => out.push((
                at.key("servers").index(i),
                format!("{s}: port 0 is not a port to send to"),
            )),
            Ok(a) => servers.push(a),
            Err(_) => out.push((
                at.key("servers").index(i),
                format!("{s:?} is not an IPv4 address or address:port"),
            )),
        }
    }
    if d.max_hops == 0 || d.max_hops > MAX_HOPS_LIMIT {
        out.push((
            at.key("max-hops"),
            format!(
                "{} is outside 1..={MAX_HOPS_LIMIT} (RFC 1542 §4.1.1)",
                d.max_hops
            ),
        ));
    }
    if d.port == 0 || d.port == u16::MAX {
        out.push((
            at.key("port"),
            "the port and the next one (the clients') must be real ports".into(),
        ));
    }
    let template = remote_id(d.remote_id.as_deref(), &at.key("remote-id"), out);
    if d.interface.is_empty() {
        out.push((
            at.key("interface"),
            "name at least one downstream interface ([[relay.dhcp4.interface]])".into(),
        ));
    }
    let mut interfaces: Vec<Interface4> = Vec::new();
    for (i, raw) in d.interface.iter().enumerate() {
        let here = at.key("interface").index(i);
        interface_name(
            &raw.name,
            interfaces.iter().map(|o| o.name.as_str()),
            &here.key("name"),
            out,
        );
        let circuit_id = raw
            .circuit_id
            .clone()
            .unwrap_or_else(|| raw.name.clone())
            .into_bytes();
        if circuit_id.is_empty() {
            out.push((here.key("circuit-id"), "a circuit-id is not empty".into()));
        }
        if let Some(o) = interfaces.iter().find(|o| o.circuit_id == circuit_id) {
            // Replies find their interface by circuit-id: two alike could not be told apart.
            out.push((
                here.key("circuit-id"),
                format!("the same circuit-id as interface {}", o.name),
            ));
        }
        let remote_id = match &raw.remote_id {
            Some(t) => remote_id(Some(t), &here.key("remote-id"), out),
            None => template.clone(),
        };
        if let Some(g) = raw.giaddr {
            if g.is_unspecified() || g.is_broadcast() || g.is_multicast() {
                out.push((
                    here.key("giaddr"),
                    format!("{g}: a giaddr is a unicast address of this relay"),
                ));
            }
        }
        // Option 82 is one option: at most 255 octets of sub-options (RFC 3046 §2.0). A
        // hostname is at most 64 octets.
        let remote_len = remote_id
            .as_ref()
            .map_or(0, |r| r.expand(&"h".repeat(64), &raw.name).len() + 2);
        let total = circuit_id.len() + 2 + remote_len + id_len + 2;
        if total > 255 {
            out.push((
                here.clone(),
                format!(
                    "circuit-id, remote-id and relay-id take {total} octets: option 82 holds 255"
                ),
            ));
        }
        interfaces.push(Interface4 {
            name: raw.name.clone(),
            circuit_id,
            remote_id,
            giaddr: raw.giaddr,
            trusted: raw.trusted,
        });
    }
    Dhcp4 {
        servers,
        max_hops: d.max_hops,
        port: d.port,
        interfaces,
    }
}

/// A remote-id template, checked; a bad one is a finding at `at`.
fn remote_id(template: Option<&str>, at: &KeyPath, out: &mut Vec<Finding>) -> Option<RemoteId> {
    match RemoteId::parse(template?) {
        Ok(r) => Some(r),
        Err(e) => {
            out.push((at.clone(), e));
            None
        }
    }
}

/// A downstream interface's name: one the kernel could have (at most 15 octets, no `/` or
/// space), not named before in the same section.
fn interface_name<'a>(
    name: &str,
    mut earlier: impl Iterator<Item = &'a str>,
    at: &KeyPath,
    out: &mut Vec<Finding>,
) {
    if !is_interface_name(name) {
        out.push((at.clone(), format!("{name:?} is not an interface name")));
    }
    if earlier.any(|o| o == name) {
        out.push((at.clone(), format!("{name} is named twice")));
    }
}

fn is_interface_name(name: &str) -> bool {
    !(name.is_empty() || name.len() > 15 || name.contains(['/', ' ']))
}
