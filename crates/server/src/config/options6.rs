//! DHCPv6 options an operator may set in the config, by name (as the RFCs that define them name
//! them) or by code, and their encoding into option values (RFC 8415 §21 and the option's RFC).

use std::net::Ipv6Addr;
use toml::Value;

use super::dhcp6::ConfiguredOption6;
use super::duration::Seconds;
use super::options::parse_hex;

/// How a configured value is written into an option.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind6 {
    /// 16-octet addresses, one after the other (RFC 3646 §3).
    AddressList,
    /// DNS names in RFC 1035 §3.1 wire format, one after the other (RFC 8415 §10).
    DomainList,
    /// One DNS name in wire format (RFC 6334 §3).
    Domain,
    /// A 32-bit count of seconds, written as a duration.
    Seconds,
    U8,
    /// Text without a terminating NUL.
    Text,
    /// Raw octets, written as hex ("01:02:ab" or "0102ab").
    Octets,
}

/// Options operators set by name.
const NAMED: &[(&str, u16, Kind6)] = &[
    ("preference", 7, Kind6::U8),
    ("sip-server-domain-names", 21, Kind6::DomainList),
    ("sip-server-addresses", 22, Kind6::AddressList),
    ("dns-servers", 23, Kind6::AddressList),
    ("domain-list", 24, Kind6::DomainList),
    ("sntp-servers", 31, Kind6::AddressList),
    ("information-refresh-time", 32, Kind6::Seconds),
    ("new-posix-timezone", 41, Kind6::Text),
    ("new-tzdb-timezone", 42, Kind6::Text),
    ("bootfile-url", 59, Kind6::Text),
    ("aftr-name", 64, Kind6::Domain),
];

/// IRT_MINIMUM: the shortest information refresh time a client accepts (RFC 8415 §7.6, §21.23).
const IRT_MINIMUM: u32 = 600;

/// The longest DNS name in wire format (RFC 1035 §2.3.4).
const MAX_NAME: usize = 255;

/// Why the server, not the config, owns an option code; `None` when the config may set it.
pub fn owned_by_server(code: u16) -> Option<&'static str> {
    Some(match code {
        0 => "0 is not an option code",
        1 | 6 | 8 | 15 | 16 => "it is sent by clients, not servers",
        2 => "set server-duid instead",
        3..=5 => "addresses come from pools and reservations",
        25 | 26 => "delegated prefixes come from prefix-pools and reservations",
        9 | 18 | 37 | 38 | 43 | 53 | 79 => {
            "relay options come from relays and are echoed, never configured"
        }
        11 => "authentication is not supported",
        12 => "clients would unicast to an address the server may not listen on",
        13 => "the server writes a status for each message and IA",
        14 => "set rapid-commit instead",
        19 | 20 => "Reconfigure is not supported",
        39 => "the client's FQDN is negotiated per client",
        44..=48 | 100..=102 => "leasequery options are computed from bindings",
        _ => return None,
    })
}

/// The option code `name` stands for: a name from [`NAMED`], `"NNN"` or `"option-NNN"`.
fn lookup(name: &str) -> Result<(u16, Kind6), String> {
    if let Some(&(_, code, kind)) = NAMED.iter().find(|(n, _, _)| *n == name) {
        return Ok((code, kind));
    }
    let digits = name.strip_prefix("option-").unwrap_or(name);
    match digits.parse::<u16>() {
        Ok(code) if digits.bytes().all(|b| b.is_ascii_digit()) => {
            // A known code by number takes the named option's value format, so "23" and
            // "dns-servers" cannot mean different things.
            let kind = NAMED
                .iter()
                .find(|(_, c, _)| *c == code)
                .map_or(Kind6::Octets, |&(_, _, k)| k);
            Ok((code, kind))
        }
        _ => Err(format!(
            "unknown option {name:?}: use a name ({}) or a code (\"option-NNN\" or \"NNN\", 1-65535) with a hex value",
            NAMED.iter().map(|(n, _, _)| *n).collect::<Vec<_>>().join(", ")
        )),
    }
}

/// Encodes `name = value`; the error says what was expected.
pub fn encode(name: &str, value: &Value) -> Result<ConfiguredOption6, String> {
    let (code, kind) = lookup(name)?;
    if let Some(why) = owned_by_server(code) {
        return Err(format!("option {code} cannot be configured: {why}"));
    }
    let value = encode_kind(kind, value)?;
    if value.len() > usize::from(u16::MAX) {
        return Err(format!(
            "{} octets do not fit an option (at most 65535)",
            value.len()
        ));
    }
    Ok(ConfiguredOption6 { code, value })
}

fn encode_kind(kind: Kind6, value: &Value) -> Result<Vec<u8>, String> {
    match kind {
        Kind6::AddressList => {
            let list = list(value)?
                .iter()
                .map(|v| address(v))
                .collect::<Result<Vec<_>, _>>()?;
            if list.is_empty() {
                return Err("expected at least one IPv6 address".into());
            }
            Ok(list.iter().flat_map(|a| a.octets()).collect())
        }
        Kind6::DomainList => {
            let names = list(value)?;
            if names.is_empty() {
                return Err("expected at least one domain name".into());
            }
            let mut out = Vec::new();
            for v in names {
                out.extend(domain(v)?);
            }
            Ok(out)
        }
        Kind6::Domain => domain(value),
        Kind6::Seconds => {
            let s = match value {
                Value::String(s) => Seconds::parse(s)?,
                Value::Integer(n) => u32::try_from(*n)
                    .map(Seconds)
                    .map_err(|_| format!("{n} seconds is out of range"))?,
                _ => return Err("expected a duration such as \"1d\", or whole seconds".into()),
            };
            if s.0 < IRT_MINIMUM {
                return Err(format!(
                    "{s} is shorter than the {} clients use at least (IRT_MINIMUM, RFC 8415 §21.23)",
                    Seconds(IRT_MINIMUM)
                ));
            }
            Ok(s.0.to_be_bytes().to_vec())
        }
        Kind6::U8 => match value {
            Value::Integer(n) => u8::try_from(*n)
                .map(|n| vec![n])
                .map_err(|_| format!("{n} is out of range 0..=255")),
            _ => Err("expected an integer in 0..=255".into()),
        },
        Kind6::Text => match value {
            Value::String(s) if !s.is_empty() => Ok(s.as_bytes().to_vec()),
            _ => Err("expected a non-empty string".into()),
        },
        Kind6::Octets => match value {
            Value::String(s) => parse_hex(s),
            _ => Err("expected octets as a hex string, e.g. \"01:02:ab\"".into()),
        },
    }
}

/// An array, or a single value standing for a list of one.
fn list(value: &Value) -> Result<Vec<&Value>, String> {
    Ok(match value {
        Value::Array(a) => a.iter().collect(),
        other => vec![other],
    })
}

fn address(value: &Value) -> Result<Ipv6Addr, String> {
    match value {
        Value::String(s) => s
            .parse()
            .map_err(|_| format!("{s:?} is not an IPv6 address")),
        _ => Err("expected an IPv6 address as a string, e.g. \"2001:db8::53\"".into()),
    }
}

fn domain(value: &Value) -> Result<Vec<u8>, String> {
    match value {
        Value::String(s) => encode_name(s),
        _ => Err("expected a domain name as a string, e.g. \"example.net\"".into()),
    }
}

/// `name` in RFC 1035 §3.1 wire format: length-prefixed labels and the root's empty label. A
/// trailing dot is allowed; labels are letters, digits and inner hyphens (RFC 1123 §2.1), 1 to 63
/// octets, 255 octets in all.
pub fn encode_name(name: &str) -> Result<Vec<u8>, String> {
    let bare = name.strip_suffix('.').unwrap_or(name);
    if bare.is_empty() {
        return Err(format!("{name:?} is not a domain name"));
    }
    if !bare.is_ascii() {
        return Err(format!(
            "{name:?}: write an internationalised name in its ASCII (xn--) form"
        ));
    }
    let mut out = Vec::with_capacity(bare.len() + 2);
    for label in bare.split('.') {
        if label.is_empty() {
            return Err(format!("{name:?} has an empty label"));
        }
        if label.len() > 63 {
            return Err(format!(
                "{name:?}: label {label:?} is longer than 63 octets (RFC 1035 §2.3.4)"
            ));
        }
        let ldh = label
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-');
        if !ldh || label.starts_with('-') || label.ends_with('-') {
            return Err(format!(
                "{name:?}: label {label:?} is not letters, digits and inner hyphens (RFC 1123 §2.1)"
            ));
        }
        out.push(label.len() as u8);
        out.extend_from_slice(label.as_bytes());
    }
    out.push(0);
    if out.len() > MAX_NAME {
        return Err(format!(
            "{name:?} is longer than 255 octets in wire format (RFC 1035 §2.3.4)"
        ));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodes_by_name_and_code() {
        let dns = Value::Array(vec!["2001:db8::53".into(), "2001:db8::54".into()]);
        let o = encode("dns-servers", &dns).unwrap();
        assert_eq!(o.code, 23);
        assert_eq!(o.value.len(), 32);
        assert_eq!(
            o.value[..16],
            "2001:db8::53".parse::<Ipv6Addr>().unwrap().octets()
        );
        assert_eq!(
            encode("sntp-servers", &"2001:db8::123".into())
                .unwrap()
                .code,
            31,
            "a single address stands for a list of one"
        );
        assert_eq!(
            encode("option-65000", &"01:ff".into()).unwrap(),
            ConfiguredOption6 {
                code: 65000,
                value: vec![1, 255]
            }
        );
        assert_eq!(encode("17", &"0000000901".into()).unwrap().code, 17);
        assert_eq!(
            encode("23", &"2001:db8::53".into()).unwrap(),
            encode("dns-servers", &"2001:db8::53".into()).unwrap(),
            "a named option's code takes the same value format"
        );
        assert_eq!(
            encode("information-refresh-time", &"1d".into())
                .unwrap()
                .value,
            86_400u32.to_be_bytes()
        );
        assert_eq!(
            encode("information-refresh-time", &Value::Integer(600))
                .unwrap()
                .value,
            600u32.to_be_bytes()
        );
    }

    #[test]
    fn domain_lists_are_wire_format_names() {
        let v = Value::Array(vec!["example.net".into(), "Sub.Example.ORG.".into()]);
        let o = encode("domain-list", &v).unwrap();
        assert_eq!(o.code, 24);
        assert_eq!(
            o.value,
            b"\x07example\x03net\x00\x03Sub\x07Example\x03ORG\x00".to_vec()
        );
        assert_eq!(
            encode("aftr-name", &"aftr.example.net".into())
                .unwrap()
                .value,
            b"\x04aftr\x07example\x03net\x00".to_vec()
        );
        for bad in [
            "",
            ".",
            "a..b",
            "-a.net",
            "a-.net",
            "a_b.net",
            "exämple.net",
            "a b.net",
        ] {
            assert!(encode_name(bad).is_err(), "{bad:?} accepted");
        }
        let long_label = "a".repeat(64);
        assert!(encode_name(&format!("{long_label}.net")).is_err());
        assert!(encode_name(&"a".repeat(63)).is_ok());
        // 4 labels of 63 octets: 4 * 64 + 1 = 257 octets in wire format.
        let long_name = vec!["a".repeat(63); 4].join(".");
        assert!(encode_name(&long_name).unwrap_err().contains("255"));
        assert!(encode("domain-list", &Value::Array(vec![])).is_err());
    }

    #[test]
    fn refuses_server_owned_and_malformed() {
        for (name, why) in [
            ("option-2", "server-duid"),
            ("3", "pools"),
            ("option-25", "prefix-pools"),
            ("18", "relay"),
            ("14", "rapid-commit"),
            ("option-13", "status"),
            ("option-46", "leasequery"),
            ("53", "relay"),
            ("option-0", "not an option code"),
        ] {
            let e = encode(name, &"00".into()).unwrap_err();
            assert!(e.contains(why), "{name}: {e}");
        }
        assert!(encode("dns-servers", &"192.0.2.53".into()).is_err());
        assert!(encode("dns-servers", &Value::Array(vec![])).is_err());
        assert!(encode("information-refresh-time", &"5m".into())
            .unwrap_err()
            .contains("IRT_MINIMUM"));
        assert!(encode("preference", &Value::Integer(256)).is_err());
        assert!(encode("option-70000", &"00".into()).is_err());
        assert!(encode("option-x", &"00".into()).is_err());
        assert!(encode("+23", &"00".into()).is_err());
        assert!(encode("no-such-option", &Value::Integer(1)).is_err());
        assert!(encode("option-300", &"0g".into()).is_err());
    }
}
