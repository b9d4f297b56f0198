//! Rules a config must follow beyond its types: addresses inside their subnet, pools that do not
//! overlap, timers in order, options the server may send. Produces the resolved [`Dhcp4`] view.

use super::duration::Seconds;
use super::locate::KeyPath;
use super::options::{self, ConfiguredOption};
use super::schema;
use ipnet::{IpNet, Ipv4Net};
use std::net::{IpAddr, Ipv4Addr};

/// A mistake before it is located in the text.
pub type Finding = (KeyPath, String);

/// An inclusive range of addresses, as u32 for arithmetic.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pool {
    pub first: Ipv4Addr,
    pub last: Ipv4Addr,
}

impl Pool {
    pub fn contains(&self, a: Ipv4Addr) -> bool {
        (u32::from(self.first)..=u32::from(self.last)).contains(&u32::from(a))
    }

    fn overlaps(&self, other: &Pool) -> bool {
        u32::from(self.first) <= u32::from(other.last)
            && u32::from(other.first) <= u32::from(self.last)
    }

    /// How many addresses the pool holds (at least 1).
    pub fn size(&self) -> u64 {
        u64::from(u32::from(self.last)) - u64::from(u32::from(self.first)) + 1
    }
}

/// Lease time, T1 and T2 after defaults (RFC 2131 §4.4.5: T1 = 0.5, T2 = 0.875 of the lease).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timers {
    pub lease_time: Seconds,
    pub renew_time: Seconds,
    pub rebind_time: Seconds,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClientKey {
    /// htype 1 (Ethernet) chaddr.
    Mac([u8; 6]),
    /// Option 61 value.
    ClientId(Vec<u8>),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reservation {
    pub client: ClientKey,
    pub address: Ipv4Addr,
    pub options: Vec<ConfiguredOption>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Subnet {
    pub prefix: Ipv4Net,
    pub pools: Vec<Pool>,
    pub exclude: Vec<Ipv4Addr>,
    pub timers: Timers,
    pub options: Vec<ConfiguredOption>,
    pub reservations: Vec<Reservation>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dhcp4 {
    /// Option 54 of every reply.
    pub server_identifier: Ipv4Addr,
    pub options: Vec<ConfiguredOption>,
    pub subnets: Vec<Subnet>,
}

/// `[leasequery4]` resolved (written `[leasequery]` before).
#[derive(Debug, Clone)]
pub struct Leasequery4 {
    /// Option 54 of every answer.
    pub server_identifier: Ipv4Addr,
    pub requesters: Vec<IpNet>,
    pub non_sensitive_options: Vec<u8>,
    pub rate_limit: schema::RateLimit,
    /// draft-00 requesters and the message type each uses (docs/protocol.md decision 5).
    pub legacy: Vec<(Ipv4Addr, u8)>,
    pub bulk: Option<schema::Bulk>,
    /// Requesters answered on the query's source port (docs/protocol.md decision 4).
    pub reply_to_source_port: Vec<IpNet>,
}

/// Where the DHCPv4 identity was found, and the sections it is for.
pub struct Identity4 {
    /// `[dhcp4] server-identifier`, or the earlier `[server] identifier`.
    pub dhcp4: Option<Ipv4Addr>,
    /// The section holding the leasequery settings, as written ("leasequery4" or the earlier
    /// "leasequery"), with its identifier (its own, else the DHCP one).
    pub leasequery: Option<(&'static str, Option<Ipv4Addr>)>,
}

/// Most receive threads per socket `dhcp4.receive-threads` accepts.
pub const MAX_RECEIVE_THREADS: u16 = 64;

fn unicast(path: KeyPath, id: Ipv4Addr, out: &mut Vec<Finding>) {
    if id.is_unspecified() || id.is_broadcast() || id.is_multicast() {
        out.push((
            path,
            format!("{id} cannot identify a server: use one of its unicast addresses"),
        ));
    }
}

/// The DHCPv4 identity of the server, from where the file gives it. What the earlier layout
/// wrote elsewhere is taken, with a warning saying what to rename.
pub fn identity4(f: &schema::File, out: &mut Vec<Finding>, warn: &mut Vec<Finding>) -> Identity4 {
    let root = KeyPath::default();
    let old = f.server.identifier;
    let new = f.dhcp4.as_ref().and_then(|d| d.server_identifier);
    if let Some(old) = old {
        warn.push((
            root.key("server").key("identifier"),
            "the DHCPv4 server identifier is now `server-identifier` in [dhcp4] (and in \
             [leasequery4] for a server without [dhcp4]): move it there"
                .into(),
        ));
        unicast(root.key("server").key("identifier"), old, out);
        if new.is_some_and(|n| n != old) {
            out.push((
                root.key("dhcp4").key("server-identifier"),
                format!(
                    "differs from server.identifier ({old}), the earlier place of the same \
                     setting: keep only this one"
                ),
            ));
        }
    }
    if let Some(id) = new {
        unicast(root.key("dhcp4").key("server-identifier"), id, out);
    }
    let dhcp4 = new.or(old);
    if f.dhcp4.is_some() && dhcp4.is_none() {
        out.push((
            root.key("dhcp4"),
            "server-identifier is missing: the address of this server its clients reach \
             (option 54)"
                .into(),
        ));
    }
    let section = match (&f.leasequery4, &f.leasequery) {
        (Some(_), Some(_)) => {
            out.push((
                root.key("leasequery"),
                "[leasequery] is the earlier name of [leasequery4]: keep only [leasequery4]".into(),
            ));
            f.leasequery4.as_ref().map(|l| ("leasequery4", l))
        }
        (Some(l), None) => Some(("leasequery4", l)),
        (None, Some(l)) => {
            warn.push((
                root.key("leasequery"),
                "[leasequery] is now [leasequery4] ([leasequery.bulk] is [leasequery4.bulk]): \
                 rename the sections"
                    .into(),
            ));
            Some(("leasequery", l))
        }
        (None, None) => None,
    };
    let leasequery = section.map(|(name, l)| {
        if let Some(id) = l.server_identifier {
            unicast(root.key(name).key("server-identifier"), id, out);
        }
        let id = l.server_identifier.or(dhcp4);
        if id.is_none() {
            out.push((
                root.key(name),
                "server-identifier is missing: without [dhcp4], name the address leasequery \
                 answers come from (option 54)"
                    .into(),
            ));
        }
        (name, id)
    });
    Identity4 { dhcp4, leasequery }
}

/// `[server]`: who the server runs as.
pub fn server(s: &schema::Server, out: &mut Vec<Finding>) {
    let root = KeyPath::default().key("server");
    for (key, value) in [("user", &s.user), ("group", &s.group)] {
        if value.as_ref().is_some_and(|v| v.is_empty()) {
            out.push((
                root.key(key),
                format!("an empty {key} name: remove {key} instead"),
            ));
        }
    }
    if s.group.is_some() && s.user.is_none() {
        out.push((
            root.key("group"),
            "group is what `user` runs with: name the user too".into(),
        ));
    }
}

/// `[metrics]`: a path a scraper can ask for as written (no query, no fragment, no space).
pub fn metrics(m: &schema::Metrics, out: &mut Vec<Finding>) {
    let root = KeyPath::default().key("metrics");
    if m.listen.port() == 0 {
        out.push((
            root.key("listen"),
            "port 0 would listen on a port nobody knows: name the port (9420 is usual)".into(),
        ));
    }
    let path = &m.path;
    if !path.starts_with('/')
        || path.len() > 128
        || !path
            .bytes()
            .all(|b| b.is_ascii_graphic() && b != b'?' && b != b'#')
    {
        out.push((
            root.key("path"),
            format!(
                "{path:?} is not a URL path: it starts with '/', holds at most 128 printable \
                 characters, and no space, '?' or '#'"
            ),
        ));
    }
}

/// A wildcard listen address (`0.0.0.0`, `::`) takes every address of the host, those of
/// links and VPNs never meant to be served included: refused unless `listen-wildcard = true`
/// (in `section`) says it is meant.
pub(super) fn wildcards(
    section: &KeyPath,
    listen: &[IpAddr],
    allowed: bool,
    out: &mut Vec<Finding>,
) {
    if allowed {
        return;
    }
    for (i, address) in listen.iter().enumerate() {
        if address.is_unspecified() {
            out.push((
                section.key("listen").index(i),
                format!(
                    "{address} listens on every address of this host: name the addresses to \
                     serve, or set listen-wildcard = true in [{section}] if that is meant"
                ),
            ));
        }
    }
}

pub fn dhcp4(d: &schema::Dhcp4, server_identifier: Ipv4Addr, out: &mut Vec<Finding>) -> Dhcp4 {
    let root = KeyPath::default().key("dhcp4");
    if d.listen.is_empty() && d.interfaces.is_empty() {
        out.push((
            root.clone(),
            "serves nothing: name listen addresses or interfaces".into(),
        ));
    }
    let listen: Vec<IpAddr> = d.listen.iter().copied().map(IpAddr::V4).collect();
    wildcards(&root, &listen, d.listen_wildcard, out);
    if d.port == 0 {
        out.push((root.key("port"), "port 0 is not a port".into()));
    }
    if let Some(n) = d.receive_threads {
        if !(1..=MAX_RECEIVE_THREADS).contains(&n) {
            out.push((
                root.key("receive-threads"),
                format!("{n} receive threads: between 1 and {MAX_RECEIVE_THREADS}"),
            ));
        }
    }
    let limits = &d.rate_limit;
    for (key, rate, burst) in [
        ("per-client", limits.per_client, limits.per_client_burst),
        ("per-circuit", limits.per_circuit, limits.per_circuit_burst),
        ("per-relay", limits.per_relay, limits.per_relay_burst),
    ] {
        if rate > 0 && burst == 0 {
            out.push((
                root.key("rate-limit").key(&format!("{key}-burst")),
                format!(
                    "a burst of 0 lets no message through: at least 1 (or {key} = 0 for no limit)"
                ),
            ));
        }
    }
    let defaults = timers(&root, d.lease_time, d.renew_time, d.rebind_time, out);
    let global_options = option_table(&root.key("options"), &d.options, out);
    let mut subnets: Vec<Subnet> = Vec::new();
    for (i, s) in d.subnet.iter().enumerate() {
        let path = root.key("subnet").index(i);
        let subnet = subnet(&path, s, defaults, d, out);
        for (j, earlier) in subnets.iter().enumerate() {
            if earlier.prefix.contains(&subnet.prefix) || subnet.prefix.contains(&earlier.prefix) {
                out.push((
                    path.key("prefix"),
                    format!(
                        "{} overlaps dhcp4.subnet[{j}] ({})",
                        subnet.prefix, earlier.prefix
                    ),
                ));
            }
        }
        subnets.push(subnet);
    }
    Dhcp4 {
        server_identifier,
        options: global_options,
        subnets,
    }
}

fn timers(
    path: &KeyPath,
    lease: Seconds,
    renew: Option<Seconds>,
    rebind: Option<Seconds>,
    out: &mut Vec<Finding>,
) -> Timers {
    if lease.0 == 0 {
        out.push((
            path.key("lease-time"),
            "a lease time of 0 gives clients nothing".into(),
        ));
    }
    let renew_time = renew.unwrap_or(Seconds(lease.0 / 2));
    let rebind_time = rebind.unwrap_or(Seconds((u64::from(lease.0) * 7 / 8) as u32));
    if renew_time >= rebind_time && (renew.is_some() || rebind.is_some()) {
        let key = if renew.is_some() {
            "renew-time"
        } else {
            "rebind-time"
        };
        out.push((
            path.key(key),
            format!("renew-time ({renew_time}) must be less than rebind-time ({rebind_time})"),
        ));
    }
    if rebind_time >= lease && lease.0 > 0 && (renew.is_some() || rebind.is_some()) {
        let key = if rebind.is_some() {
            "rebind-time"
        } else {
            "lease-time"
        };
        out.push((
            path.key(key),
            format!("rebind-time ({rebind_time}) must be less than lease-time ({lease})"),
        ));
    }
    Timers {
        lease_time: lease,
        renew_time,
        rebind_time,
    }
}

fn option_table(
    path: &KeyPath,
    table: &toml::Table,
    out: &mut Vec<Finding>,
) -> Vec<ConfiguredOption> {
    let mut encoded: Vec<ConfiguredOption> = Vec::new();
    for (name, value) in table {
        match options::encode(name, value) {
            Ok(o) if encoded.iter().any(|e| e.code == o.code) => out.push((
                path.key(name),
                format!("option {} is set twice in this table", o.code),
            )),
            Ok(o) => encoded.push(o),
            Err(e) => out.push((path.key(name), e)),
        }
    }
    encoded
}

fn subnet(
    path: &KeyPath,
    s: &schema::Subnet,
    defaults: Timers,
    d: &schema::Dhcp4,
    out: &mut Vec<Finding>,
) -> Subnet {
    let prefix = s.prefix;
    if prefix.trunc() != prefix {
        out.push((
            path.key("prefix"),
            format!(
                "{prefix} has host bits set: did you mean {}?",
                prefix.trunc()
            ),
        ));
    }
    let prefix = prefix.trunc();
    let timers = if s.lease_time.is_some() || s.renew_time.is_some() || s.rebind_time.is_some() {
        let lease = s.lease_time.unwrap_or(defaults.lease_time);
        let (renew, rebind) = if s.lease_time.is_some() {
            (s.renew_time, s.rebind_time)
        } else {
            (
                s.renew_time.or(d.renew_time),
                s.rebind_time.or(d.rebind_time),
            )
        };
        timers(path, lease, renew, rebind, out)
    } else {
        defaults
    };
    let usable = |a: Ipv4Addr| {
        prefix.contains(&a)
            && (prefix.prefix_len() >= 31 || (a != prefix.network() && a != prefix.broadcast()))
    };
    let mut pools: Vec<Pool> = Vec::new();
    for (i, text) in s.pools.iter().enumerate() {
        let p = path.key("pools").index(i);
        let pool = match parse_pool(text) {
            Ok(pool) => pool,
            Err(e) => {
                out.push((p, e));
                continue;
            }
        };
        if !usable(pool.first) || !usable(pool.last) {
            out.push((
                p,
                format!(
                    "{text} is not inside {prefix} (or includes its network/broadcast address)"
                ),
            ));
            continue;
        }
        if let Some(j) = pools.iter().position(|q| q.overlaps(&pool)) {
            out.push((p, format!("{text} overlaps pools[{j}]")));
            continue;
        }
        pools.push(pool);
    }
    for (i, a) in s.exclude.iter().enumerate() {
        if !pools.iter().any(|p| p.contains(*a)) {
            out.push((
                path.key("exclude").index(i),
                format!("{a} is not inside any pool of this subnet"),
            ));
        }
    }
    let options = option_table(&path.key("options"), &s.options, out);
    let mut reservations: Vec<Reservation> = Vec::new();
    for (i, r) in s.reservations.iter().enumerate() {
        let p = path.key("reservations").index(i);
        let client = match (&r.mac, &r.client_id) {
            (Some(mac), None) => match parse_mac(mac) {
                Ok(m) => ClientKey::Mac(m),
                Err(e) => {
                    out.push((p.key("mac"), e));
                    continue;
                }
            },
            (None, Some(id)) => match options::parse_hex(id) {
                Ok(v) if v.len() >= 2 => ClientKey::ClientId(v),
                Ok(_) => {
                    out.push((p.key("client-id"), "a client identifier has a type octet and at least one more (RFC 2132 §9.14)".into()));
                    continue;
                }
                Err(e) => {
                    out.push((p.key("client-id"), e));
                    continue;
                }
            },
            _ => {
                out.push((
                    p,
                    "a reservation names exactly one of mac or client-id".into(),
                ));
                continue;
            }
        };
        if !usable(r.address) {
            out.push((
                p.key("address"),
                format!("{} is not a host address of {prefix}", r.address),
            ));
        }
        if let Some(j) = reservations.iter().position(|e| e.address == r.address) {
            out.push((
                p.key("address"),
                format!("{} is already reserved by reservations[{j}]", r.address),
            ));
        }
        if let Some(j) = reservations.iter().position(|e| e.client == client) {
            out.push((
                p.clone(),
                format!("this client already has reservations[{j}]"),
            ));
        }
        let options = option_table(&p.key("options"), &r.options, out);
        reservations.push(Reservation {
            client,
            address: r.address,
            options,
        });
    }
    Subnet {
        prefix,
        pools,
        exclude: s.exclude.clone(),
        timers,
        options,
        reservations,
    }
}

/// "first-last" or a CIDR prefix (all of its addresses).
fn parse_pool(text: &str) -> Result<Pool, String> {
    if let Some((a, b)) = text.split_once('-') {
        let first: Ipv4Addr = a
            .trim()
            .parse()
            .map_err(|_| format!("pool {text:?}: {a:?} is not an IPv4 address"))?;
        let last: Ipv4Addr = b
            .trim()
            .parse()
            .map_err(|_| format!("pool {text:?}: {b:?} is not an IPv4 address"))?;
        if u32::from(first) > u32::from(last) {
            return Err(format!("pool {text:?} ends before it starts"));
        }
        return Ok(Pool { first, last });
    }
    let net: Ipv4Net = text.parse().map_err(|_| {
        format!("pool {text:?} is neither \"first-last\" nor a prefix like \"198.51.100.128/25\"")
    })?;
    Ok(Pool {
        first: net.network(),
        last: net.broadcast(),
    })
}

fn parse_mac(text: &str) -> Result<[u8; 6], String> {
    let octets = options::parse_hex(text)?;
    octets
        .try_into()
        .map_err(|_| format!("{text:?} is not a 6-octet MAC address"))
}

/// Checks `[leasequery4]` (written `section`) and resolves it.
pub fn leasequery4(
    l: &schema::Leasequery,
    section: &str,
    server_identifier: Ipv4Addr,
    out: &mut Vec<Finding>,
) -> Leasequery4 {
    let root = KeyPath::default().key(section);
    for (i, code) in l.non_sensitive_options.iter().enumerate() {
        if matches!(code, 0 | 255) {
            out.push((
                root.key("non-sensitive-options").index(i),
                format!("{code} is not an option code"),
            ));
        }
    }
    if l.rate_limit.per_requester == 0 || l.rate_limit.total == 0 {
        out.push((
            root.key("rate-limit"),
            "a rate limit of 0 answers nobody: remove the requesters instead".into(),
        ));
    }
    for (i, legacy) in l.legacy.iter().enumerate() {
        if !l.requesters.iter().any(|n| n.contains(&legacy.requester)) {
            out.push((
                root.key("legacy").index(i).key("requester"),
                format!(
                    "{} is not in {section}.requesters, so it would never be answered",
                    legacy.requester
                ),
            ));
        }
    }
    for (i, net) in l.reply_to_source_port.iter().enumerate() {
        let at = root.key("reply-to-source-port").index(i);
        let inside = |r: &IpNet| match (r, net) {
            (IpNet::V4(r), IpNet::V4(n)) => r.contains(n),
            _ => false,
        };
        if let IpNet::V6(net) = net {
            out.push((
                at,
                format!("{net} is IPv6: DHCPv4 leasequery is asked over IPv4"),
            ));
        } else if !l.requesters.iter().any(inside) {
            out.push((
                at,
                format!("{net} is not inside {section}.requesters, so it would never be answered"),
            ));
        }
    }
    if let Some(b) = &l.bulk {
        let path = root.key("bulk");
        wildcards(&path, &b.listen, b.listen_wildcard, out);
        for (key, value) in [
            ("max-connections", b.max_connections),
            (
                "max-connections-per-requester",
                b.max_connections_per_requester,
            ),
            ("queries-per-connection", b.queries_per_connection),
        ] {
            if value == 0 {
                out.push((path.key(key), "must be at least 1".into()));
            }
        }
        if b.data_timeout.0 == 0 {
            out.push((path.key("data-timeout"), "must be longer than 0s".into()));
        }
        for (key, value) in [
            ("idle-timeout", b.idle_timeout),
            ("frame-timeout", b.frame_timeout),
            ("first-query-timeout", b.first_query_timeout),
        ] {
            if value.0 == 0 {
                out.push((path.key(key), "must be longer than 0s".into()));
            }
        }
        let c = &b.draft_codes;
        let messages = [
            ("lease-data", c.lease_data),
            ("lease-done", c.lease_done),
            ("lease-query-fail", c.lease_query_fail),
        ];
        for (i, (key, value)) in messages.iter().enumerate() {
            if (1..=13).contains(value) {
                out.push((
                    path.key("draft-codes").key(key),
                    format!("{value} is already a DHCP message type (RFC 2132, RFC 4388)"),
                ));
            }
            if messages[..i].iter().any(|(_, v)| v == value) {
                out.push((
                    path.key("draft-codes").key(key),
                    format!("{value} is used twice"),
                ));
            }
        }
        if matches!(c.status_code_option, 0 | 255) {
            out.push((
                path.key("draft-codes").key("status-code-option"),
                "0 and 255 are not option codes".into(),
            ));
        }
    }
    for (i, net) in l.requesters.iter().enumerate() {
        if let IpNet::V6(net) = net {
            out.push((
                root.key("requesters").index(i),
                format!("{net} is IPv6: DHCPv4 leasequery is asked over IPv4"),
            ));
        }
    }
    let legacy = l
        .legacy
        .iter()
        .enumerate()
        .filter_map(|(i, e)| match e.requester {
            IpAddr::V4(a) => Some((a, e.message_type)),
            IpAddr::V6(a) => {
                out.push((
                    root.key("legacy").index(i).key("requester"),
                    format!("{a} is IPv6: draft-00 requesters ask over IPv4"),
                ));
                None
            }
        })
        .collect();
    Leasequery4 {
        server_identifier,
        requesters: l.requesters.clone(),
        non_sensitive_options: l.non_sensitive_options.clone(),
        rate_limit: l.rate_limit.clone(),
        legacy,
        bulk: l.bulk.clone(),
        reply_to_source_port: l.reply_to_source_port.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pools_parse_as_ranges_and_prefixes() {
        let r = parse_pool("198.51.100.10-198.51.100.20").unwrap();
        assert_eq!(r.size(), 11);
        let p = parse_pool("198.51.100.128/25").unwrap();
        assert_eq!(
            (p.first, p.last),
            (
                "198.51.100.128".parse().unwrap(),
                "198.51.100.255".parse().unwrap()
            )
        );
        assert!(parse_pool("198.51.100.20-198.51.100.10").is_err());
        assert!(parse_pool("nonsense").is_err());
    }

    #[test]
    fn default_timers_follow_rfc2131() {
        let mut out = Vec::new();
        let t = timers(&KeyPath::default(), Seconds(3600), None, None, &mut out);
        assert!(out.is_empty());
        assert_eq!(
            (t.renew_time, t.rebind_time),
            (Seconds(1800), Seconds(3150))
        );
        timers(
            &KeyPath::default(),
            Seconds(3600),
            Some(Seconds(3200)),
            None,
            &mut out,
        );
        assert_eq!(out.len(), 1, "{out:?}");
    }
}
