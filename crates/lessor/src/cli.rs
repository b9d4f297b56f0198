//! What the command line says, read into typed values: durations, hex octets, servers, and the
//! query keys of `lessor query`, `lessor bulk` and `lessor perf` (one rule for a VALUE whether
//! it is an argument or a line of a `--from-file`). The libraries take the typed values.

use std::net::{IpAddr, Ipv6Addr, SocketAddr, SocketAddrV6};
use std::time::Duration;

use lessor_requestor::QueryKey6;
use lessor_wire::v4::{HwAddr, QueryKey, QueryKind};
use lessor_wire::v6::Duid;

/// What a VALUE names.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Kind {
    /// An IPv4 address (ciaddr); DHCPv6: an IPv6 address (QUERY_BY_ADDRESS).
    Ip,
    /// A hardware address (hex octets; htype from --htype). DHCPv4 only.
    Mac,
    /// A client identifier, option 61 (hex octets, type octet included); DHCPv6: the client's
    /// DUID in hex (QUERY_BY_CLIENTID).
    ClientId,
    /// An agent remote-id, option 82 sub-option 2 (hex, else text); DHCPv6: an RFC 4649
    /// remote-id, enterprise number from --enterprise-number (QUERY_BY_REMOTE_ID, bulk only).
    RemoteId,
    /// A relay-id, option 82 sub-option 12 (hex, else text); DHCPv6: the relay agent's DUID in
    /// hex (QUERY_BY_RELAY_ID, bulk only).
    RelayId,
    /// DHCPv6 only: a link-address, the link's clients (QUERY_BY_LINK_ADDRESS, bulk only).
    LinkAddress,
}

impl TryFrom<Kind> for QueryKind {
    type Error = String;

    /// The DHCPv4 query kind; `link-address` has none.
    fn try_from(k: Kind) -> Result<QueryKind, String> {
        Ok(match k {
            Kind::Ip => QueryKind::Ip,
            Kind::Mac => QueryKind::Mac,
            Kind::ClientId => QueryKind::ClientId,
            Kind::RemoteId => QueryKind::RemoteId,
            Kind::RelayId => QueryKind::RelayId,
            Kind::LinkAddress => return Err("link-address queries are DHCPv6 only".into()),
        })
    }
}

/// The query key VALUE names: an address for `ip`; hex octets ("01:02:ab", "0102ab") for the
/// others, where a remote-id or relay-id that is not hex is taken as text and "text:" forces
/// text ("text:cafe"). The key must be one a query can carry (lessor-wire's rules).
pub fn parse_key(kind: Kind, value: &str, htype: u8) -> Result<QueryKey, String> {
    let hex_of =
        |what: &str| lessor_wire::hex::parse(value).map_err(|e| format!("{what} {value:?}: {e}"));
    let id = || match value.strip_prefix("text:") {
        Some(t) => t.as_bytes().to_vec(),
        None => lessor_wire::hex::parse(value).unwrap_or_else(|_| value.as_bytes().to_vec()),
    };
    let key = match kind {
        Kind::Ip => QueryKey::Ip(
            value
                .parse()
                .map_err(|_| format!("{value:?} is not an IPv4 address"))?,
        ),
        Kind::Mac => QueryKey::Mac(
            HwAddr::new(htype, &hex_of("MAC address")?)
                .map_err(|e| format!("MAC address {value:?}: {e}"))?,
        ),
        Kind::ClientId => QueryKey::ClientId(hex_of("client-id")?),
        Kind::RemoteId => QueryKey::RemoteId(id()),
        Kind::RelayId => QueryKey::RelayId(id()),
        Kind::LinkAddress => return Err("link-address queries are DHCPv6 only".into()),
    };
    key.validate().map_err(|e| format!("{value:?}: {e}"))?;
    Ok(key)
}

/// A DHCPv6 query key (RFC 5007, RFC 5460): `ip` an IPv6 address, `client-id` and `relay-id`
/// a DUID in hex, `remote-id` as for DHCPv4 with `enterprise` as its enterprise number,
/// `link-address` an IPv6 address. `link` is the query's link-address (`::`: any).
pub fn parse_key6(
    kind: Kind,
    value: &str,
    link: Ipv6Addr,
    enterprise: u32,
) -> Result<QueryKey6, String> {
    let addr = || {
        value
            .parse::<Ipv6Addr>()
            .map_err(|_| format!("{value:?} is not an IPv6 address"))
    };
    let duid = |what: &str| {
        let octets =
            lessor_wire::hex::parse(value).map_err(|e| format!("{what} {value:?}: {e}"))?;
        Duid::parse(&octets).map_err(|e| format!("{what} {value:?}: not a DUID: {e}"))
    };
    let key = match kind {
        Kind::Ip => QueryKey6::Address {
            address: addr()?,
            link,
        },
        Kind::Mac => return Err("DHCPv6 leasequery has no query by MAC; use client-id".into()),
        Kind::ClientId => QueryKey6::ClientId {
            duid: duid("client-id")?,
            link,
        },
        Kind::RelayId => QueryKey6::RelayId {
            duid: duid("relay-id")?,
            link,
        },
        Kind::LinkAddress => QueryKey6::LinkAddress(addr()?),
        Kind::RemoteId => QueryKey6::RemoteId {
            enterprise_number: enterprise,
            remote_id: match value.strip_prefix("text:") {
                Some(t) => t.as_bytes().to_vec(),
                None => {
                    lessor_wire::hex::parse(value).unwrap_or_else(|_| value.as_bytes().to_vec())
                }
            },
            link,
        },
    };
    key.validate().map_err(|e| format!("{value:?}: {e}"))?;
    Ok(key)
}

/// A `--from-file` body: one VALUE per line read by `parse`, errors located by line; blank
/// lines and `#` comments are skipped. At least one value.
pub fn parse_lines<K>(
    body: &str,
    parse: impl Fn(&str) -> Result<K, String>,
) -> Result<Vec<K>, String> {
    let mut keys = Vec::new();
    for (n, line) in body.lines().enumerate() {
        let value = line.split('#').next().unwrap_or("").trim();
        if value.is_empty() {
            continue;
        }
        keys.push(parse(value).map_err(|e| format!("line {}: {e}", n + 1))?);
    }
    if keys.is_empty() {
        return Err("no values".into());
    }
    Ok(keys)
}

/// `FIRST-LAST` (inclusive, FIRST <= LAST): a range of addresses of one family.
pub fn parse_addresses(text: &str) -> Result<(IpAddr, IpAddr), String> {
    let (a, b) = text
        .split_once('-')
        .ok_or_else(|| format!("{text:?}: expected FIRST-LAST"))?;
    let addr = |s: &str| {
        s.trim()
            .parse::<IpAddr>()
            .map_err(|_| format!("{s:?}: not an IP address"))
    };
    let (first, last) = (addr(a)?, addr(b)?);
    let order = match (first, last) {
        (IpAddr::V4(f), IpAddr::V4(l)) => u32::from(f).cmp(&u32::from(l)),
        (IpAddr::V6(f), IpAddr::V6(l)) => u128::from(f).cmp(&u128::from(l)),
        _ => return Err(format!("{text:?}: FIRST and LAST are not of one family")),
    };
    if order == std::cmp::Ordering::Greater {
        return Err(format!("{text:?}: FIRST is after LAST"));
    }
    Ok((first, last))
}

/// A server: ADDR:PORT, or ADDR alone for port 67 (IPv4) or 547 (IPv6). An IPv6 address may
/// name its interface, `ff02::1:2%eth0` or `[fe80::1%eth0]:547`, for link-scoped addresses.
pub fn parse_server(text: &str) -> Result<SocketAddr, String> {
    if let Ok(a) = text.parse::<SocketAddr>() {
        return Ok(a);
    }
    if let Ok(a) = text.parse::<IpAddr>() {
        let port = if a.is_ipv4() { 67 } else { 547 };
        return Ok(SocketAddr::new(a, port));
    }
    let bad = || format!("{text:?} is not ADDR, ADDR:PORT, ADDR%IFACE or [ADDR%IFACE]:PORT");
    let (host, port) = match text.strip_prefix('[').and_then(|t| t.split_once("]:")) {
        Some((h, p)) => (h, p.parse::<u16>().map_err(|_| bad())?),
        None => (text, 547),
    };
    let (addr, iface) = host.split_once('%').ok_or_else(bad)?;
    let addr: Ipv6Addr = addr.parse().map_err(|_| bad())?;
    let scope = match iface.parse::<u32>() {
        Ok(index) => index,
        Err(_) => {
            lessor_net::Interface::by_name(iface)
                .map_err(|e| format!("{text:?}: {e}"))?
                .ok_or_else(|| format!("{text:?}: no interface {iface:?}"))?
                .index
        }
    };
    Ok(SocketAddr::V6(SocketAddrV6::new(addr, port, 0, scope)))
}

/// A duration such as `30s`, `500ms`, `2m`, `1h`, `1m30s`; a bare number is seconds.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let t = text.trim();
    if t.is_empty() {
        return Err("empty duration".into());
    }
    if let Ok(secs) = t.parse::<u64>() {
        return Ok(Duration::from_secs(secs));
    }
    let mut total = Duration::ZERO;
    let mut rest = t;
    while !rest.is_empty() {
        let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 {
            return Err(format!("{text:?}: expected a number before {rest:?}"));
        }
        let (num, tail) = rest.split_at(digits);
        let n: u64 = num
            .parse()
            .map_err(|_| format!("{text:?}: number too large"))?;
        let unit_len = tail.bytes().take_while(u8::is_ascii_alphabetic).count();
        let (unit, tail) = tail.split_at(unit_len);
        let part = match unit {
            "ms" => Duration::from_millis(n),
            "s" => Duration::from_secs(n),
            "m" => Duration::from_secs(n.saturating_mul(60)),
            "h" => Duration::from_secs(n.saturating_mul(3600)),
            "" => return Err(format!("{text:?}: missing unit after {num} (ms, s, m, h)")),
            u => return Err(format!("{text:?}: unknown unit {u:?} (ms, s, m, h)")),
        };
        total = total.saturating_add(part);
        rest = tail;
    }
    Ok(total)
}

/// Hex octets: `0a0b0c`, `0a:0b:0c`, `0a-0b`, `0a 0b`, optionally `0x`-prefixed.
pub fn parse_hex(text: &str) -> Result<Vec<u8>, String> {
    lessor_wire::hex::parse(text).map_err(|e| format!("{text:?}: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::Ipv4Addr;

    #[test]
    fn ipv6_servers_default_to_547_and_may_name_their_interface() {
        let v6 = |t: &str| match parse_server(t) {
            Ok(SocketAddr::V6(a)) => (a.ip().to_string(), a.port(), a.scope_id()),
            other => panic!("{t}: {other:?}"),
        };
        assert_eq!(v6("2001:db8::1"), ("2001:db8::1".into(), 547, 0));
        assert_eq!(v6("[2001:db8::1]:5547"), ("2001:db8::1".into(), 5547, 0));
        assert_eq!(v6("ff02::1:2%1"), ("ff02::1:2".into(), 547, 1));
        assert_eq!(v6("[fe80::1%lo]:600"), ("fe80::1".into(), 600, 1));
        assert_eq!(
            parse_server("192.0.2.1"),
            Ok(SocketAddr::from(([192, 0, 2, 1], 67)))
        );
        assert!(parse_server("ff02::1:2%no-such-if0")
            .unwrap_err()
            .contains("no interface"));
        assert!(parse_server("[ff02::1:2%lo]:x").is_err());
        assert!(parse_server("host%lo").is_err());
    }

    #[test]
    fn dhcpv6_values_parse_by_kind() {
        let any = Ipv6Addr::UNSPECIFIED;
        let link: Ipv6Addr = "2001:db8:1::1".parse().unwrap();
        assert_eq!(
            parse_key6(Kind::Ip, "2001:db8:1::7", link, 0),
            Ok(QueryKey6::Address {
                address: "2001:db8:1::7".parse().unwrap(),
                link
            })
        );
        let duid = Duid::Ll {
            hardware_type: 1,
            link_layer_address: vec![2, 0, 0, 0, 0, 7],
        };
        assert_eq!(
            parse_key6(Kind::ClientId, "00:03:00:01:02:00:00:00:00:07", any, 0),
            Ok(QueryKey6::ClientId {
                duid: duid.clone(),
                link: any
            })
        );
        assert_eq!(
            parse_key6(Kind::RelayId, "00030001020000000007", any, 0),
            Ok(QueryKey6::RelayId { duid, link: any })
        );
        assert_eq!(
            parse_key6(Kind::RemoteId, "text:cpe-7", any, 9),
            Ok(QueryKey6::RemoteId {
                enterprise_number: 9,
                remote_id: b"cpe-7".to_vec(),
                link: any
            })
        );
        assert_eq!(
            parse_key6(Kind::LinkAddress, "2001:db8:1::1", any, 0),
            Ok(QueryKey6::LinkAddress(link))
        );
        assert!(parse_key6(Kind::LinkAddress, "::", any, 0).is_err());
        assert!(parse_key6(Kind::Ip, "192.0.2.1", any, 0).is_err());
        assert!(parse_key6(Kind::Mac, "02:00:00:00:00:01", any, 0).is_err());
        // One octet is no DUID (RFC 8415 §11.1: a type and at least one octet).
        assert!(parse_key6(Kind::ClientId, "00", any, 0)
            .unwrap_err()
            .contains("not a DUID"));
    }

    #[test]
    fn values_parse_by_kind() {
        assert_eq!(
            parse_key(Kind::Ip, "192.0.2.7", 1),
            Ok(QueryKey::Ip(Ipv4Addr::new(192, 0, 2, 7)))
        );
        assert!(parse_key(Kind::Ip, "192.0.2", 1).is_err());
        assert!(parse_key(Kind::Ip, "0.0.0.0", 1).is_err());
        assert_eq!(
            parse_key(Kind::Mac, "02:00:5e:00:53:01", 1),
            Ok(QueryKey::mac([2, 0, 0x5e, 0, 0x53, 1]))
        );
        assert!(parse_key(Kind::Mac, "zz", 1).is_err());
        assert_eq!(
            parse_key(Kind::ClientId, "0102", 1),
            Ok(QueryKey::ClientId(vec![1, 2]))
        );
        assert_eq!(
            parse_key(Kind::RelayId, "c0:ff:ee", 1),
            Ok(QueryKey::RelayId(vec![0xc0, 0xff, 0xee]))
        );
        assert_eq!(
            parse_key(Kind::RelayId, "lessor-perf", 1),
            Ok(QueryKey::RelayId(b"lessor-perf".to_vec()))
        );
        assert_eq!(
            parse_key(Kind::RemoteId, "text:cafe", 1),
            Ok(QueryKey::RemoteId(b"cafe".to_vec()))
        );
    }

    #[test]
    fn key_lines() {
        assert_eq!(
            parse_key(Kind::Ip, " 198.18.0.1 ".trim(), 1),
            Ok(QueryKey::Ip(Ipv4Addr::new(198, 18, 0, 1)))
        );
        assert!(parse_key(Kind::Ip, "02:00:00:00:00:01", 1).is_err());
        assert!(parse_key(Kind::Mac, &"00".repeat(17), 1).is_err());
        // The wire's rule: 255 octets fit a sub-option, 256 do not.
        assert!(parse_key(Kind::RelayId, &"01".repeat(255), 1).is_ok());
        assert!(parse_key(Kind::RelayId, &"01".repeat(256), 1).is_err());
        let mac = |v: &str| parse_key(Kind::Mac, v, 1);
        let keys =
            parse_lines("# MACs\n02:00:00:00:00:01\n\n02:00:00:00:00:02 # b\n", mac).unwrap();
        assert_eq!(keys.len(), 2);
        assert_eq!(keys[1], QueryKey::mac([2, 0, 0, 0, 0, 2]));
        assert!(parse_lines("# nothing\n", mac).is_err());
        assert!(
            parse_lines("198.18.0.1\nbad\n", |v| parse_key(Kind::Ip, v, 1))
                .unwrap_err()
                .starts_with("line 2")
        );
        let keys6 = parse_lines("2001:db8::1\n# c\n2001:db8::2\n", |v| {
            parse_key6(Kind::Ip, v, Ipv6Addr::UNSPECIFIED, 0)
        })
        .unwrap();
        assert_eq!(keys6.len(), 2);
        assert_eq!(
            parse_addresses("2001:db8:1::100-2001:db8:1::f000"),
            Ok((
                "2001:db8:1::100".parse().unwrap(),
                "2001:db8:1::f000".parse().unwrap()
            ))
        );
        assert!(parse_addresses("2001:db8:1::f000-2001:db8:1::100").is_err());
        assert!(parse_addresses("2001:db8:1::1-198.18.0.1")
            .unwrap_err()
            .contains("one family"));
        assert_eq!(
            parse_addresses("198.18.0.1-198.18.0.10"),
            Ok((
                IpAddr::V4(Ipv4Addr::new(198, 18, 0, 1)),
                IpAddr::V4(Ipv4Addr::new(198, 18, 0, 10))
            ))
        );
        assert!(parse_addresses("198.18.0.10-198.18.0.1").is_err());
        assert!(parse_addresses("198.18.0.10").is_err());
    }

    #[test]
    fn servers_default_to_port_67() {
        assert_eq!(
            parse_server("192.0.2.1"),
            Ok("192.0.2.1:67".parse().unwrap())
        );
        assert_eq!(
            parse_server("127.0.0.1:6767"),
            Ok("127.0.0.1:6767".parse().unwrap())
        );
        assert!(parse_server("host").is_err());
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("30s"), Ok(Duration::from_secs(30)));
        assert_eq!(parse_duration("30"), Ok(Duration::from_secs(30)));
        assert_eq!(parse_duration("250ms"), Ok(Duration::from_millis(250)));
        assert_eq!(parse_duration("2m"), Ok(Duration::from_secs(120)));
        assert_eq!(parse_duration("1h"), Ok(Duration::from_secs(3600)));
        assert_eq!(parse_duration("1m30s"), Ok(Duration::from_secs(90)));
        assert_eq!(parse_duration(" 1s500ms "), Ok(Duration::from_millis(1500)));
        for bad in ["", "s", "10x", "1.5s", "10 s", "-1s"] {
            assert!(parse_duration(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn hex() {
        assert_eq!(parse_hex("0a0B"), Ok(vec![10, 11]));
        assert_eq!(parse_hex("0a:0b:ff"), Ok(vec![10, 11, 255]));
        assert_eq!(parse_hex("0x0102"), Ok(vec![1, 2]));
        assert!(parse_hex("").is_err(), "an empty relay-id is refused");
        assert!(parse_hex("abc").is_err());
        assert!(parse_hex("zz").is_err());
    }
}
