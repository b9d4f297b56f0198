//! DHCPv4 options an operator may set in the config, by RFC 2132 name or by code, and their
//! encoding into option values.

use std::net::Ipv4Addr;
use toml::Value;

/// How a configured value is written into an option (RFC 2132 data types).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Address,
    AddressList,
    U8,
    U16,
    U32,
    I32,
    Text,
    /// Raw octets, written as hex ("01:02:ab" or "0102ab").
    Octets,
}

/// Options operators set by name. Options the server derives itself (lease time, T1/T2, message
/// type, server identifier, option 82, leasequery options) are refused: see [`owned_by_server`].
const NAMED: &[(&str, u8, Kind)] = &[
    ("subnet-mask", 1, Kind::Address),
    ("time-offset", 2, Kind::I32),
    ("routers", 3, Kind::AddressList),
    ("time-servers", 4, Kind::AddressList),
    ("domain-name-servers", 6, Kind::AddressList),
    ("log-servers", 7, Kind::AddressList),
    ("host-name", 12, Kind::Text),
    ("domain-name", 15, Kind::Text),
    ("interface-mtu", 26, Kind::U16),
    ("broadcast-address", 28, Kind::Address),
    ("nis-domain", 40, Kind::Text),
    ("nis-servers", 41, Kind::AddressList),
    ("ntp-servers", 42, Kind::AddressList),
    ("vendor-encapsulated-options", 43, Kind::Octets),
    ("netbios-name-servers", 44, Kind::AddressList),
    ("netbios-node-type", 46, Kind::U8),
    ("tftp-server-name", 66, Kind::Text),
    ("bootfile-name", 67, Kind::Text),
    ("smtp-servers", 69, Kind::AddressList),
    ("pop3-servers", 70, Kind::AddressList),
];

/// Why the server, not the config, owns an option code; `None` when the config may set it.
pub fn owned_by_server(code: u8) -> Option<&'static str> {
    Some(match code {
        0 | 255 => "pad and end are not options",
        50 | 61 => "it is sent by clients, not servers",
        51 => "set lease-time instead",
        52 => "option overload is decided when a message is written",
        53..=55 => "the server writes it for every message",
        58 => "set renew-time instead",
        59 => "set rebind-time instead",
        82 => "relay agent information comes from relays and is echoed, never configured",
        91 | 92 | 151..=157 => "leasequery options are computed from bindings",
        _ => return None,
    })
}

/// One option the config sets, ready to be written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfiguredOption {
    pub code: u8,
    pub value: Vec<u8>,
}

/// Encodes `name = value`; the error says what was expected.
pub fn encode(name: &str, value: &Value) -> Result<ConfiguredOption, String> {
    let (code, kind) = match NAMED.iter().find(|(n, _, _)| *n == name) {
        Some(&(_, code, kind)) => (code, kind),
        None => match name.parse::<u8>() {
            Ok(code) => (code, Kind::Octets),
            Err(_) => {
                return Err(format!(
                    "unknown option {name:?}: use an RFC 2132 name ({}) or a code (1-254) with a hex value",
                    NAMED.iter().map(|(n, _, _)| *n).collect::<Vec<_>>().join(", ")
                ))
            }
        },
    };
    if let Some(why) = owned_by_server(code) {
        return Err(format!("option {code} cannot be configured: {why}"));
    }
    let value = encode_kind(kind, value)?;
    if value.is_empty() && kind != Kind::Octets {
        return Err("an option value cannot be empty".into());
    }
    Ok(ConfiguredOption { code, value })
}

fn encode_kind(kind: Kind, value: &Value) -> Result<Vec<u8>, String> {
    match kind {
        Kind::Address => Ok(address(value)?.octets().to_vec()),
        Kind::AddressList => {
            let list = match value {
                Value::Array(a) => a.iter().map(address).collect::<Result<Vec<_>, _>>()?,
                other => vec![address(other)?],
            };
            if list.is_empty() {
                return Err("expected at least one IPv4 address".into());
            }
            Ok(list.iter().flat_map(|a| a.octets()).collect())
        }
        Kind::U8 => integer(value, 0, u8::MAX.into()).map(|n| vec![n as u8]),
        Kind::U16 => integer(value, 0, u16::MAX.into()).map(|n| (n as u16).to_be_bytes().to_vec()),
        Kind::U32 => integer(value, 0, u32::MAX.into()).map(|n| (n as u32).to_be_bytes().to_vec()),
        Kind::I32 => integer(value, i32::MIN.into(), i32::MAX.into())
            .map(|n| (n as i32).to_be_bytes().to_vec()),
        Kind::Text => match value {
            Value::String(s) if !s.is_empty() => Ok(s.as_bytes().to_vec()),
            _ => Err("expected a non-empty string".into()),
        },
        Kind::Octets => match value {
            Value::String(s) => parse_hex(s),
            _ => Err("expected octets as a hex string, e.g. \"01:02:ab\"".into()),
        },
    }
}

fn address(value: &Value) -> Result<Ipv4Addr, String> {
    match value {
        Value::String(s) => s
            .parse()
            .map_err(|_| format!("{s:?} is not an IPv4 address")),
        _ => Err("expected an IPv4 address as a string, e.g. \"192.0.2.1\"".into()),
    }
}

fn integer(value: &Value, min: i64, max: i64) -> Result<i64, String> {
    match value {
        Value::Integer(n) if (min..=max).contains(n) => Ok(*n),
        Value::Integer(n) => Err(format!("{n} is out of range {min}..={max}")),
        _ => Err(format!("expected an integer in {min}..={max}")),
    }
}

/// Hex octets with optional ':' or '-' separators ("01:02:ab", "0102ab").
pub fn parse_hex(text: &str) -> Result<Vec<u8>, String> {
    lessor_wire::hex::parse(text).map_err(|e| format!("{text:?}: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodes_by_name_and_code() {
        let dns = Value::Array(vec!["192.0.2.53".into(), "192.0.2.54".into()]);
        assert_eq!(
            encode("domain-name-servers", &dns).unwrap(),
            ConfiguredOption {
                code: 6,
                value: vec![192, 0, 2, 53, 192, 0, 2, 54]
            }
        );
        assert_eq!(
            encode("interface-mtu", &Value::Integer(1500))
                .unwrap()
                .value,
            vec![5, 220]
        );
        assert_eq!(
            encode("224", &"01:ff".into()).unwrap(),
            ConfiguredOption {
                code: 224,
                value: vec![1, 255]
            }
        );
    }

    #[test]
    fn refuses_server_owned_and_malformed() {
        assert!(encode("82", &"0102".into())
            .unwrap_err()
            .contains("relay agent"));
        assert!(encode("51", &"0102".into())
            .unwrap_err()
            .contains("lease-time"));
        assert!(encode("routers", &"192.0.2.300".into()).is_err());
        assert!(encode("interface-mtu", &Value::Integer(70000)).is_err());
        assert!(encode("no-such-option", &Value::Integer(1)).is_err());
        assert!(parse_hex("0g").is_err());
        assert!(parse_hex("012").is_err());
    }
}
