//! A control request read from JSON: `{"request":"lease-get","mac":"02:00:00:00:00:01"}`, the
//! shape of the relay's control socket. Every mistake is a typed [`RequestError`] naming the
//! field; nothing here panics on what a client sends, and a request is at most
//! [`MAX_REQUEST`] octets (the transports cut longer ones off before they get here).

use ipnet::IpNet;
use serde_json::{Map, Value};
use std::fmt;
use std::net::{IpAddr, Ipv6Addr};
use std::path::PathBuf;

/// The longest request (one line on the socket, one body over HTTP).
pub const MAX_REQUEST: usize = 16 * 1024;

/// Most bindings one answer carries; a longer list says where to go on (`next`).
pub const MAX_PAGE: usize = 1000;

/// A page's default length.
pub const DEFAULT_PAGE: usize = 100;

/// The commands, by their names on the wire.
pub const COMMANDS: [&str; 8] = [
    "lease-get",
    "lease-list",
    "lease-delete",
    "leasequery",
    "config-test",
    "reload",
    "shutdown",
    "statistics",
];

/// An address family a request is limited to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Family {
    V4,
    V6,
}

/// What lease-get looks bindings up by (the store's indexes).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LeaseKey {
    /// An IPv4 address, or an IPv6 address (its binding, else the delegated prefix holding it).
    Address(IpAddr),
    /// A DHCPv6 delegated prefix.
    Prefix(ipnet::Ipv6Net),
    /// A hardware address (DHCPv4).
    Mac(Vec<u8>),
    /// A DHCPv4 client identifier (option 61).
    ClientId(Vec<u8>),
    /// A DHCPv6 client DUID.
    Duid(Vec<u8>),
    /// A relay-id (option 82 sub-option 12; DHCPv6 OPTION_RELAY_ID).
    RelayId(Vec<u8>),
    /// A remote-id (option 82 sub-option 2; DHCPv6 OPTION_REMOTE_ID).
    RemoteId(Vec<u8>),
}

/// What a leasequery asks, as the responders take it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Query {
    /// RFC 4388 / RFC 6148 style DHCPv4 keys.
    V4(crate::leasequery4::Key),
    /// RFC 5007 / RFC 5460 keys, with the link-address (`::` for any link).
    V6(crate::bulk6::query::Key, Ipv6Addr),
}

/// lease-list's filters and page.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ListFilter {
    pub family: Option<Family>,
    /// A state name (checked against the family's states when listing).
    pub state: Option<String>,
    /// Only bindings inside this prefix.
    pub within: Option<IpNet>,
    pub limit: usize,
    /// Where the previous page ended (its `next`).
    pub cursor: Option<String>,
}

/// A request the engine can carry out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Request {
    LeaseGet(LeaseKey, Option<Family>),
    LeaseList(ListFilter),
    LeaseDelete(IpNet),
    Leasequery(Query),
    /// Checks this file, or the running server's.
    ConfigTest(Option<PathBuf>),
    Reload,
    Shutdown,
    Statistics,
}

/// Why a request cannot be carried out as written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RequestError {
    /// Not JSON, or not an object.
    NotJson(String),
    /// No `request` naming the command.
    NoCommand,
    UnknownCommand(String),
    /// A field this command does not take.
    UnknownField {
        command: String,
        field: String,
    },
    /// A field with a value that does not read.
    Bad {
        field: &'static str,
        why: String,
    },
    /// The command needs one key of these, and got none or several.
    OneOf(&'static str, &'static [&'static str]),
}

impl fmt::Display for RequestError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RequestError::NotJson(e) => write!(f, "not a JSON object: {e}"),
            RequestError::NoCommand => {
                write!(
                    f,
                    "a request names its command: {{\"request\":\"statistics\"}}"
                )
            }
            RequestError::UnknownCommand(c) => {
                write!(f, "unknown request {c:?} ({})", COMMANDS.join(", "))
            }
            RequestError::UnknownField { command, field } => {
                write!(f, "{command} takes no field {field:?}")
            }
            RequestError::Bad { field, why } => write!(f, "{field}: {why}"),
            RequestError::OneOf(command, keys) => {
                write!(f, "{command} needs exactly one of {}", keys.join(", "))
            }
        }
    }
}

impl std::error::Error for RequestError {}

/// Reads one request.
pub fn parse(text: &[u8]) -> Result<Request, RequestError> {
    if text.len() > MAX_REQUEST {
        return Err(RequestError::NotJson(format!(
            "longer than {MAX_REQUEST} octets"
        )));
    }
    let value: Value =
        serde_json::from_slice(text).map_err(|e| RequestError::NotJson(e.to_string()))?;
    let Value::Object(map) = value else {
        return Err(RequestError::NotJson("not an object".into()));
    };
    from_object(&map)
}

/// Reads one request already parsed as a JSON object.
pub fn from_object(map: &Map<String, Value>) -> Result<Request, RequestError> {
    let command = match map.get("request") {
        Some(Value::String(c)) => c.as_str(),
        _ => return Err(RequestError::NoCommand),
    };
    let fields: &[&str] = match command {
        "lease-get" => &[
            "address",
            "mac",
            "client-id",
            "duid",
            "relay-id",
            "remote-id",
            "family",
        ],
        "lease-list" => &["family", "state", "within", "limit", "cursor"],
        "lease-delete" => &["address"],
        "leasequery" => &[
            "address",
            "mac",
            "client-id",
            "relay-id",
            "remote-id",
            "link",
            "family",
        ],
        "config-test" => &["path"],
        "reload" | "shutdown" | "statistics" => &[],
        other => return Err(RequestError::UnknownCommand(other.to_owned())),
    };
    if let Some(field) = map
        .keys()
        .find(|k| *k != "request" && !fields.contains(&k.as_str()))
    {
        return Err(RequestError::UnknownField {
            command: command.to_owned(),
            field: field.clone(),
        });
    }
    let r = Fields(map);
    Ok(match command {
        "lease-get" => lease_get(&r)?,
        "lease-list" => Request::LeaseList(ListFilter {
            family: r.family()?,
            state: r.string("state")?.map(str::to_owned),
            within: r
                .string("within")?
                .map(|s| parse_net(s).map_err(|why| bad("within", why)))
                .transpose()?,
            limit: match map.get("limit") {
                None | Some(Value::Null) => DEFAULT_PAGE,
                Some(v) => match v.as_u64() {
                    Some(n) if (1..=MAX_PAGE as u64).contains(&n) => n as usize,
                    _ => return Err(bad("limit", format!("a number from 1 to {MAX_PAGE}"))),
                },
            },
            cursor: r.string("cursor")?.map(str::to_owned),
        }),
        "lease-delete" => {
            let a = r
                .string("address")?
                .ok_or(RequestError::OneOf("lease-delete", &["address"]))?;
            Request::LeaseDelete(parse_net(a).map_err(|why| bad("address", why))?)
        }
        "leasequery" => Request::Leasequery(leasequery(&r)?),
        "config-test" => Request::ConfigTest(r.string("path")?.map(PathBuf::from)),
        "reload" => Request::Reload,
        "shutdown" => Request::Shutdown,
        _ => Request::Statistics,
    })
}

fn bad(field: &'static str, why: impl Into<String>) -> RequestError {
    RequestError::Bad {
        field,
        why: why.into(),
    }
}

/// An address (a host prefix) or a prefix.
fn parse_net(s: &str) -> Result<IpNet, String> {
    s.parse::<IpAddr>()
        .map(IpNet::from)
        .or_else(|_| s.parse::<IpNet>())
        .map_err(|_| format!("not an address or a prefix: {s:?}"))
}

/// Hex octets (`02:00:00:00:00:01`, `020000000001`), as every Lessor tool reads them; at most
/// 256 octets (no identifier a binding keeps is longer).
pub fn parse_hex(s: &str) -> Option<Vec<u8>> {
    lessor_wire::hex::parse(s)
        .ok()
        .filter(|o| !o.is_empty() && o.len() <= 256)
}

struct Fields<'a>(&'a Map<String, Value>);

impl Fields<'_> {
    fn string(&self, field: &'static str) -> Result<Option<&str>, RequestError> {
        match self.0.get(field) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.as_str())),
            Some(_) => Err(bad(field, "a string")),
        }
    }

    fn hex(&self, field: &'static str) -> Result<Option<Vec<u8>>, RequestError> {
        self.string(field)?
            .map(|s| parse_hex(s).ok_or_else(|| bad(field, format!("not hex octets: {s:?}"))))
            .transpose()
    }

    /// An identifier given as hex, or as text prefixed `text:` (remote-ids often are).
    fn id(&self, field: &'static str) -> Result<Option<Vec<u8>>, RequestError> {
        match self.string(field)? {
            Some(s) if s.starts_with("text:") => Ok(Some(s.as_bytes()["text:".len()..].to_vec())),
            _ => self.hex(field),
        }
    }

    fn family(&self) -> Result<Option<Family>, RequestError> {
        match self.string("family")? {
            None => Ok(None),
            Some("v4") => Ok(Some(Family::V4)),
            Some("v6") => Ok(Some(Family::V6)),
            Some(other) => Err(bad("family", format!("v4 or v6, not {other:?}"))),
        }
    }
}

const GET_KEYS: &[&str] = &[
    "address",
    "mac",
    "client-id",
    "duid",
    "relay-id",
    "remote-id",
];

fn lease_get(r: &Fields<'_>) -> Result<Request, RequestError> {
    let mut keys = Vec::new();
    if let Some(a) = r.string("address")? {
        keys.push(match parse_net(a).map_err(|why| bad("address", why))? {
            IpNet::V6(p) if p.prefix_len() < 128 => LeaseKey::Prefix(p),
            n => LeaseKey::Address(n.addr()),
        });
    }
    if let Some(m) = r.hex("mac")? {
        if m.len() > lessor_wire::v4::MAX_CHADDR_LEN {
            return Err(bad("mac", "longer than 16 octets"));
        }
        keys.push(LeaseKey::Mac(m));
    }
    keys.extend(r.hex("client-id")?.map(LeaseKey::ClientId));
    keys.extend(r.hex("duid")?.map(LeaseKey::Duid));
    keys.extend(r.id("relay-id")?.map(LeaseKey::RelayId));
    keys.extend(r.id("remote-id")?.map(LeaseKey::RemoteId));
    if keys.len() != 1 {
        return Err(RequestError::OneOf("lease-get", GET_KEYS));
    }
    Ok(Request::LeaseGet(keys.remove(0), r.family()?))
}

const QUERY_KEYS: &[&str] = &[
    "address",
    "mac",
    "client-id",
    "relay-id",
    "remote-id",
    "link (DHCPv6)",
];

fn leasequery(r: &Fields<'_>) -> Result<Query, RequestError> {
    use crate::bulk6::query::Key as K6;
    use crate::leasequery4::Key as K4;
    let link = r
        .string("link")?
        .map(|s| {
            s.parse::<Ipv6Addr>()
                .or_else(|_| s.parse::<ipnet::Ipv6Net>().map(|n| n.network()))
                .map_err(|_| bad("link", format!("not an IPv6 link-address: {s:?}")))
        })
        .transpose()?;
    let address = r
        .string("address")?
        .map(|s| {
            s.parse::<IpAddr>()
                .map_err(|_| bad("address", format!("not an address: {s:?}")))
        })
        .transpose()?;
    // The family: the address's, else as asked (DHCPv4 by default), DHCPv6 with a link.
    let family = match (address, r.family()?, link) {
        (Some(IpAddr::V4(_)), Some(Family::V6), _) | (Some(IpAddr::V6(_)), Some(Family::V4), _) => {
            return Err(bad("family", "the address is of the other family"))
        }
        (Some(IpAddr::V4(_)), _, Some(_)) | (_, Some(Family::V4), Some(_)) => {
            return Err(bad("link", "a DHCPv6 leasequery's"))
        }
        (Some(IpAddr::V4(_)), ..) => Family::V4,
        (Some(IpAddr::V6(_)), ..) | (_, _, Some(_)) => Family::V6,
        (None, f, None) => f.unwrap_or(Family::V4),
    };
    let mac = r.hex("mac")?;
    let client_id = r.hex("client-id")?;
    let relay_id = r.id("relay-id")?;
    let remote_id = r.id("remote-id")?;
    let given = [
        address.is_some(),
        mac.is_some(),
        client_id.is_some(),
        relay_id.is_some(),
        remote_id.is_some(),
    ]
    .iter()
    .filter(|g| **g)
    .count();
    let one = |n: usize| {
        (n == 1)
            .then_some(())
            .ok_or(RequestError::OneOf("leasequery", QUERY_KEYS))
    };
    match family {
        Family::V4 => {
            one(given)?;
            let key = match (address, mac, client_id, relay_id, remote_id) {
                (Some(IpAddr::V4(a)), ..) if a.is_unspecified() => {
                    return Err(bad("address", "0.0.0.0 names no address"))
                }
                (Some(IpAddr::V4(a)), ..) => K4::Ip(a),
                (_, Some(m), ..) => K4::Mac(
                    lessor_wire::v4::HwAddr::new(1, &m)
                        .map_err(|_| bad("mac", "longer than 16 octets"))?,
                ),
                (_, _, Some(c), ..) => K4::ClientId(c),
                (.., Some(r), _) => K4::RelayId(r),
                (.., Some(r)) => K4::RemoteId(r),
                _ => return Err(RequestError::OneOf("leasequery", QUERY_KEYS)),
            };
            Ok(Query::V4(key))
        }
        Family::V6 => {
            if mac.is_some() {
                return Err(bad("mac", "a DHCPv4 leasequery's"));
            }
            let key = match (address, client_id, relay_id, remote_id) {
                (Some(IpAddr::V6(a)), None, None, None) => K6::Address(a),
                (None, Some(c), None, None) => K6::ClientId(c),
                (None, None, Some(r), None) => K6::RelayId(r),
                (None, None, None, Some(r)) => K6::RemoteId(r),
                (None, None, None, None) if link.is_some() => K6::Link,
                _ => return Err(RequestError::OneOf("leasequery", QUERY_KEYS)),
            };
            Ok(Query::V6(key, link.unwrap_or(Ipv6Addr::UNSPECIFIED)))
        }
    }
}
