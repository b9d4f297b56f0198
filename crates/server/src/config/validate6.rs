//! Rules `[dhcp6]` must follow beyond its types: a valid server DUID, listen addresses that
//! mean one place, links and pools that do not overlap, lifetimes in the order RFC 8415 §21.4
//! requires, options the server may send. Produces the resolved [`Dhcp6`] view.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv6Addr};

use ipnet::Ipv6Net;
use lessor_wire::v6::{Duid, DUID_EN, DUID_LL, DUID_LLT, DUID_UUID};

use super::dhcp6::{
    AddressPool6, ConfiguredOption6, Dhcp6, Lifetimes6, Link6, PrefixPool6, Reservation6,
    ServerDuid,
};
use super::duration::Seconds;
use super::locate::KeyPath;
use super::options::parse_hex;
use super::options6;
use super::schema;
use super::validate::{wildcards, Finding, MAX_RECEIVE_THREADS};

/// Address space no link, pool or reservation may touch, and why.
const NOT_ASSIGNABLE: &[(&str, &str)] = &[
    ("::/127", "the unspecified and loopback addresses"),
    ("::ffff:0:0/96", "IPv4-mapped addresses"),
    ("fe80::/10", "link-local addresses (clients make their own)"),
    ("ff00::/8", "multicast addresses"),
];

/// Checks `[dhcp6]` and resolves it.
pub fn dhcp6(d: &schema::Dhcp6, out: &mut Vec<Finding>) -> Dhcp6 {
    let root = KeyPath::default().key("dhcp6");
    let server_duid = match &d.server_duid {
        Some(text) => ServerDuid::Configured(
            server_duid(&root.key("server-duid"), text, out).unwrap_or_default(),
        ),
        None => ServerDuid::Generated,
    };
    if d.listen.is_empty() && d.interfaces.is_empty() {
        out.push((
            root.clone(),
            "serves nothing: name listen addresses (relays, unicast) or interfaces (direct \
             clients)"
                .into(),
        ));
    }
    listen(&root, d, out);
    for (i, name) in d.interfaces.iter().enumerate() {
        let at = root.key("interfaces").index(i);
        if name.is_empty() {
            out.push((at, "an empty interface name".into()));
        } else if d.interfaces[..i].contains(name) {
            out.push((at, format!("{name} is named twice")));
        }
    }
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
    let written = |key: &str| match key {
        "preferred-lifetime" => d.preferred_lifetime.is_some(),
        "valid-lifetime" => d.valid_lifetime.is_some(),
        "renew-time" => d.renew_time.is_some(),
        _ => d.rebind_time.is_some(),
    };
    let defaults = lifetimes(
        &root,
        d.preferred_lifetime
            .unwrap_or(schema::DEFAULT_PREFERRED_LIFETIME),
        d.valid_lifetime.unwrap_or(schema::DEFAULT_VALID_LIFETIME),
        d.renew_time,
        d.rebind_time,
        &written,
        out,
    );
    let options = option_table(&root.key("options"), &d.options, out);
    let links: Vec<(Link6, Written)> = d
        .link
        .iter()
        .enumerate()
        .map(|(i, l)| link(&root.key("link").index(i), l, d, defaults, out))
        .collect();
    across_links(&root, d, &links, out);
    let limits = &d.rate_limit;
    for (key, rate, burst) in [
        ("per-client", limits.per_client, limits.per_client_burst),
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
    let links = links.into_iter().map(|(l, _)| l).collect();
    Dhcp6 {
        server_duid,
        listen: d.listen.clone(),
        interfaces: d.interfaces.clone(),
        port: d.port,
        rapid_commit: d.rapid_commit,
        decline_probation: d.decline_probation,
        receive_threads: d.receive_threads,
        segment_replies: d.segment_replies,
        options,
        links,
        rate_limit: d.rate_limit.clone(),
    }
}

/// The configured server DUID: hex, 3 to 130 octets (RFC 8415 §11.1), a type other than the
/// reserved 0, and the layout of its type when the type is one RFC 8415 or RFC 6355 defines
/// (any other type is opaque, §11).
fn server_duid(at: &KeyPath, text: &str, out: &mut Vec<Finding>) -> Option<Vec<u8>> {
    let octets = match parse_hex(text) {
        Ok(o) => o,
        Err(e) => {
            out.push((at.clone(), e));
            return None;
        }
    };
    let duid = match Duid::parse(&octets) {
        Ok(duid) => duid,
        Err(_) => {
            out.push((
                at.clone(),
                format!(
                    "{} octets: a DUID is its 2-octet type and 1 to 128 more (RFC 8415 §11.1)",
                    octets.len()
                ),
            ));
            return None;
        }
    };
    let layout = match duid {
        Duid::Other { duid_type: 0, .. } => Some("type 0 is reserved (RFC 8415 §11.1)"),
        Duid::Other {
            duid_type: DUID_LLT,
            ..
        } => Some("a DUID-LLT (type 1) has a 2-octet hardware type, a 4-octet time, then the link-layer address (RFC 8415 §11.2)"),
        Duid::Other {
            duid_type: DUID_EN, ..
        } => Some("a DUID-EN (type 2) has a 4-octet enterprise number, then the identifier (RFC 8415 §11.3)"),
        Duid::Other {
            duid_type: DUID_LL, ..
        } => Some("a DUID-LL (type 3) has a 2-octet hardware type, then the link-layer address (RFC 8415 §11.4)"),
        Duid::Other {
            duid_type: DUID_UUID,
            ..
        } => Some("a DUID-UUID (type 4) has exactly 16 octets after its type (RFC 6355 §4)"),
        _ => None,
    };
    if let Some(why) = layout {
        out.push((at.clone(), why.into()));
        return None;
    }
    Some(octets)
}

/// A client's DUID as a reservation names it: hex, 3 to 130 octets. Its type is not checked:
/// the server compares DUIDs only for equality (RFC 8415 §11).
fn client_duid(at: &KeyPath, text: &str, out: &mut Vec<Finding>) -> Option<Vec<u8>> {
    match parse_hex(text) {
        Ok(o) if Duid::parse(&o).is_ok() => Some(o),
        Ok(o) => {
            out.push((
                at.clone(),
                format!(
                    "{} octets: a DUID is its 2-octet type and 1 to 128 more (RFC 8415 §11.1)",
                    o.len()
                ),
            ));
            None
        }
        Err(e) => {
            out.push((at.clone(), e));
            None
        }
    }
}

/// `listen`: unicast addresses a relay or a client can reach without naming an interface.
fn listen(root: &KeyPath, d: &schema::Dhcp6, out: &mut Vec<Finding>) {
    let all: Vec<IpAddr> = d.listen.iter().copied().map(IpAddr::V6).collect();
    wildcards(root, &all, d.listen_wildcard, out);
    for (i, a) in d.listen.iter().enumerate() {
        let at = root.key("listen").index(i);
        if a.is_multicast() {
            out.push((
                at,
                format!(
                    "{a} is multicast: listen on unicast addresses; ff02::1:2 is joined on \
                     `interfaces`"
                ),
            ));
        } else if is_link_local(*a) {
            out.push((
                at,
                format!(
                    "{a} is link-local, so it means nothing without an interface: serve direct \
                     clients with `interfaces`, and relays on a global address"
                ),
            ));
        } else if a.to_ipv4_mapped().is_some() {
            out.push((at, format!("{a} is an IPv4 address: DHCPv6 runs over IPv6")));
        } else if d.listen[..i].contains(a) {
            out.push((at, format!("{a} is named twice")));
        }
    }
}

fn is_link_local(a: Ipv6Addr) -> bool {
    a.segments()[0] & 0xffc0 == 0xfe80
}

/// Whether two prefixes share an address (aligned prefixes overlap only by containment).
fn overlap(a: &Ipv6Net, b: &Ipv6Net) -> bool {
    a.contains(b) || b.contains(a)
}

/// Why `net` cannot be handed out, if it touches [`NOT_ASSIGNABLE`] space.
fn not_assignable(net: &Ipv6Net) -> Option<&'static str> {
    NOT_ASSIGNABLE.iter().find_map(|(space, why)| {
        let space: Ipv6Net = space.parse().expect("a constant prefix");
        overlap(&space, net).then_some(*why)
    })
}

/// `net` without host bits, or an error that shows the intended prefix.
fn aligned(at: &KeyPath, net: Ipv6Net, out: &mut Vec<Finding>) -> Ipv6Net {
    if net.trunc() != net {
        out.push((
            at.clone(),
            format!("{net} has host bits set: did you mean {}?", net.trunc()),
        ));
    }
    net.trunc()
}

/// Preferred and valid lifetimes, T1 and T2 at one level. `written(key)` tells whether `key` is
/// written at this level, so a mistake is reported where it can be fixed.
fn lifetimes(
    path: &KeyPath,
    preferred: Seconds,
    valid: Seconds,
    renew: Option<Seconds>,
    rebind: Option<Seconds>,
    written: &dyn Fn(&str) -> bool,
    out: &mut Vec<Finding>,
) -> Lifetimes6 {
    // The later key of a pair if it is written here, else the earlier, else the table.
    let blame = |first: &str, second: &str| {
        [second, first]
            .into_iter()
            .find(|k| written(k))
            .map_or_else(|| path.clone(), |k| path.key(k))
    };
    if valid.0 == 0 {
        out.push((
            blame("valid-lifetime", "valid-lifetime"),
            "a valid lifetime of 0 gives clients nothing".into(),
        ));
    }
    if preferred.0 == 0 {
        out.push((
            blame("preferred-lifetime", "preferred-lifetime"),
            "a preferred lifetime of 0 hands out addresses already deprecated".into(),
        ));
    }
    if preferred > valid {
        out.push((
            blame("preferred-lifetime", "valid-lifetime"),
            format!(
                "preferred-lifetime ({preferred}) must not exceed valid-lifetime ({valid}) \
                 (RFC 8415 §21.6)"
            ),
        ));
    }
    let renew_time = renew.unwrap_or(Seconds(preferred.0 / 2));
    let rebind_time = rebind.unwrap_or(Seconds((u64::from(preferred.0) * 4 / 5) as u32));
    if renew_time > rebind_time {
        out.push((
            blame("renew-time", "rebind-time"),
            format!(
                "renew-time ({renew_time}) must not exceed rebind-time ({rebind_time}) (RFC \
                 8415 §21.4)"
            ),
        ));
    }
    if rebind_time > preferred {
        out.push((
            blame("preferred-lifetime", "rebind-time"),
            format!(
                "rebind-time ({rebind_time}) must not exceed preferred-lifetime ({preferred}) \
                 (RFC 8415 §21.4)"
            ),
        ));
    }
    Lifetimes6 {
        preferred,
        valid,
        renew_time,
        rebind_time,
    }
}

fn option_table(
    path: &KeyPath,
    table: &toml::Table,
    out: &mut Vec<Finding>,
) -> Vec<ConfiguredOption6> {
    let mut encoded: Vec<ConfiguredOption6> = Vec::new();
    for (name, value) in table {
        match options6::encode(name, value) {
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

/// An interface-id as written: hex after "0x", else the text's octets.
fn interface_id(text: &str) -> Result<Vec<u8>, String> {
    let id = match text.strip_prefix("0x") {
        Some(_) => parse_hex(text)?,
        None => text.as_bytes().to_vec(),
    };
    if id.is_empty() {
        return Err("an empty interface-id".into());
    }
    Ok(id)
}

fn link(
    path: &KeyPath,
    l: &schema::Link6,
    d: &schema::Dhcp6,
    defaults: Lifetimes6,
    out: &mut Vec<Finding>,
) -> (Link6, Written) {
    let mut written = Written::default();
    let prefix = aligned(&path.key("prefix"), l.prefix, out);
    if let Some(why) = not_assignable(&prefix) {
        out.push((path.key("prefix"), format!("{prefix} overlaps {why}")));
    }
    let mut interface_ids: Vec<Vec<u8>> = Vec::new();
    for (i, text) in l.interface_ids.iter().enumerate() {
        let at = path.key("interface-ids").index(i);
        match interface_id(text) {
            Ok(id) if interface_ids.contains(&id) => {
                out.push((at, format!("{text:?} is named twice")))
            }
            Ok(id) => interface_ids.push(id),
            Err(e) => out.push((at, e)),
        }
    }
    if let Some(name) = &l.interface {
        if !d.interfaces.contains(name) {
            out.push((
                path.key("interface"),
                format!(
                    "{name} is not in dhcp6.interfaces, so no direct client would reach this \
                     link: add it there"
                ),
            ));
        }
    }
    let lifetimes = if l.preferred_lifetime.is_some()
        || l.valid_lifetime.is_some()
        || l.renew_time.is_some()
        || l.rebind_time.is_some()
    {
        let preferred = l.preferred_lifetime.unwrap_or(defaults.preferred);
        // A link's own preferred lifetime derives its own T1 and T2 unless it writes them.
        let (renew, rebind) = if l.preferred_lifetime.is_some() {
            (l.renew_time, l.rebind_time)
        } else {
            (
                l.renew_time.or(d.renew_time),
                l.rebind_time.or(d.rebind_time),
            )
        };
        let here = |key: &str| match key {
            "preferred-lifetime" => l.preferred_lifetime.is_some(),
            "valid-lifetime" => l.valid_lifetime.is_some(),
            "renew-time" => l.renew_time.is_some(),
            _ => l.rebind_time.is_some(),
        };
        lifetimes(
            path,
            preferred,
            l.valid_lifetime.unwrap_or(defaults.valid),
            renew,
            rebind,
            &here,
            out,
        )
    } else {
        defaults
    };
    // The Subnet-Router anycast address (RFC 4291 §2.6.1), as the v4 side keeps the network
    // address out of pools.
    let usable =
        |a: Ipv6Addr| prefix.contains(&a) && (prefix.prefix_len() >= 127 || a != prefix.network());
    let mut address_pools: Vec<AddressPool6> = Vec::new();
    // Where each resolved pool was written (a refused one is not resolved).
    let mut pool_indexes: Vec<usize> = Vec::new();
    for (i, p) in l.pools.iter().enumerate() {
        let at = path.key("pools").index(i);
        let (first, last) = match parse_pool(&p.range) {
            Ok(r) => r,
            Err(e) => {
                out.push((at, e));
                continue;
            }
        };
        if !usable(first) || !usable(last) {
            out.push((
                at,
                format!(
                    "{} is not inside {prefix} (or includes {}, its Subnet-Router anycast \
                     address)",
                    p.range,
                    prefix.network()
                ),
            ));
            continue;
        }
        let options = option_table(&at.key("options"), &p.options, out);
        let pool = AddressPool6 {
            first,
            last,
            options,
        };
        if let Some(j) = address_pools.iter().position(|q| {
            u128::from(q.first) <= u128::from(pool.last)
                && u128::from(pool.first) <= u128::from(q.last)
        }) {
            let j = pool_indexes[j];
            out.push((at, format!("{} overlaps pools[{j}]", p.range)));
            continue;
        }
        pool_indexes.push(i);
        address_pools.push(pool);
    }
    let mut prefix_pools: Vec<PrefixPool6> = Vec::new();
    for (i, p) in l.prefix_pools.iter().enumerate() {
        let at = path.key("prefix-pools").index(i);
        let net = aligned(&at.key("prefix"), p.prefix, out);
        if let Some(why) = not_assignable(&net) {
            out.push((at.key("prefix"), format!("{net} overlaps {why}")));
        }
        let (len, shortest) = (p.delegated_length, net.prefix_len());
        if len < shortest || len > 128 {
            let why = if len > 128 {
                format!("{len} is longer than an IPv6 address")
            } else {
                format!("a /{len} cannot be cut from {net}")
            };
            out.push((
                at.key("delegated-length"),
                format!("{why}: delegated-length is {shortest} to 128 here"),
            ));
            continue;
        }
        let options = option_table(&at.key("options"), &p.options, out);
        written.prefix_pools.push(i);
        prefix_pools.push(PrefixPool6 {
            prefix: net,
            delegated_len: p.delegated_length,
            options,
        });
    }
    let options = option_table(&path.key("options"), &l.options, out);
    let mut reservations: Vec<Reservation6> = Vec::new();
    for (i, r) in l.reservations.iter().enumerate() {
        let at = path.key("reservations").index(i);
        let Some(duid) = client_duid(&at.key("duid"), &r.duid, out) else {
            continue;
        };
        if let Some(j) = reservations.iter().position(|e| e.duid == duid) {
            out.push((
                at.key("duid"),
                format!(
                    "this DUID already has reservations[{}] on this link",
                    written.reservations[j]
                ),
            ));
        }
        if r.addresses.is_empty() && r.prefixes.is_empty() && r.options.is_empty() {
            out.push((
                at.clone(),
                "reserves nothing: name addresses, prefixes or options".into(),
            ));
        }
        for (k, a) in r.addresses.iter().enumerate() {
            let at = at.key("addresses").index(k);
            if !usable(*a) {
                out.push((
                    at,
                    format!("{a} is not inside {prefix} (or is its Subnet-Router anycast address)"),
                ));
            } else if r.addresses[..k].contains(a) {
                out.push((at, format!("{a} is named twice")));
            } else if let Some(j) = reservations.iter().position(|e| e.addresses.contains(a)) {
                let j = written.reservations[j];
                out.push((at, format!("{a} is already reserved by reservations[{j}]")));
            }
        }
        let mut prefixes = Vec::new();
        for (k, net) in r.prefixes.iter().enumerate() {
            prefixes.push(aligned(&at.key("prefixes").index(k), *net, out));
        }
        let options = option_table(&at.key("options"), &r.options, out);
        written.reservations.push(i);
        reservations.push(Reservation6 {
            duid,
            addresses: r.addresses.clone(),
            prefixes,
            options,
        });
    }
    let link = Link6 {
        prefix,
        interface_ids,
        interface: l.interface.clone(),
        lifetimes,
        address_pools,
        prefix_pools,
        reservations,
        options,
    };
    (link, written)
}

/// "first-last" or a prefix (all of its addresses).
fn parse_pool(text: &str) -> Result<(Ipv6Addr, Ipv6Addr), String> {
    if let Some((a, b)) = text.split_once('-') {
        let parse = |s: &str| {
            s.trim()
                .parse::<Ipv6Addr>()
                .map_err(|_| format!("pool {text:?}: {s:?} is not an IPv6 address"))
        };
        let (first, last) = (parse(a)?, parse(b)?);
        if first > last {
            return Err(format!("pool {text:?} ends before it starts"));
        }
        return Ok((first, last));
    }
    let net: Ipv6Net = text.parse().map_err(|_| {
        format!("pool {text:?} is neither \"first-last\" nor a prefix like \"2001:db8:1::/120\"")
    })?;
    if net.trunc() != net {
        return Err(format!(
            "pool {text:?} has host bits set: did you mean {}?",
            net.trunc()
        ));
    }
    Ok((net.network(), net.broadcast()))
}

/// Where a link's resolved prefix pools and reservations were written (items refused on their
/// own are not resolved, so the indexes differ).
#[derive(Default)]
struct Written {
    prefix_pools: Vec<usize>,
    reservations: Vec<usize>,
}

/// Rules between links: prefixes, prefix pools and reserved prefixes that must not overlap,
/// interface-ids and interfaces that name one link each.
fn across_links(
    root: &KeyPath,
    d: &schema::Dhcp6,
    links: &[(Link6, Written)],
    out: &mut Vec<Finding>,
) {
    let path = |i: usize| root.key("link").index(i);
    let mut interface_ids: HashMap<Vec<u8>, usize> = HashMap::new();
    let mut interfaces: HashMap<&str, usize> = HashMap::new();
    for (i, (link, _)) in links.iter().enumerate() {
        for (j, (earlier, _)) in links[..i].iter().enumerate() {
            if overlap(&earlier.prefix, &link.prefix) {
                out.push((
                    path(i).key("prefix"),
                    format!(
                        "{} overlaps dhcp6.link[{j}] ({})",
                        link.prefix, earlier.prefix
                    ),
                ));
            }
        }
        for (k, text) in d.link[i].interface_ids.iter().enumerate() {
            let Ok(id) = interface_id(text) else { continue };
            match interface_ids.get(&id) {
                Some(&j) if j != i => out.push((
                    path(i).key("interface-ids").index(k),
                    format!("{text:?} already identifies dhcp6.link[{j}]"),
                )),
                Some(_) => {}
                None => {
                    interface_ids.insert(id, i);
                }
            }
        }
        if let Some(name) = &link.interface {
            match interfaces.get(name.as_str()) {
                Some(&j) => out.push((
                    path(i).key("interface"),
                    format!(
                        "{name} is already the interface of dhcp6.link[{j}]: one link per \
                         interface"
                    ),
                )),
                None => {
                    interfaces.insert(name, i);
                }
            }
        }
    }
    // Prefix pools: apart from every link (their prefixes are routed to the requesting router,
    // not used on a link) and from each other.
    let pools: Vec<(usize, usize, &PrefixPool6)> = links
        .iter()
        .enumerate()
        .flat_map(|(i, (l, w))| {
            l.prefix_pools
                .iter()
                .zip(&w.prefix_pools)
                .map(move |(p, &k)| (i, k, p))
        })
        .collect();
    for (n, &(i, k, pool)) in pools.iter().enumerate() {
        let at = path(i).key("prefix-pools").index(k).key("prefix");
        if let Some((j, (l, _))) = links
            .iter()
            .enumerate()
            .find(|(_, (l, _))| overlap(&l.prefix, &pool.prefix))
        {
            out.push((
                at.clone(),
                format!(
                    "{} overlaps dhcp6.link[{j}].prefix ({})",
                    pool.prefix, l.prefix
                ),
            ));
        }
        if let Some(&(j, jk, other)) = pools[..n]
            .iter()
            .find(|(_, _, q)| overlap(&q.prefix, &pool.prefix))
        {
            out.push((
                at,
                format!(
                    "{} overlaps dhcp6.link[{j}].prefix-pools[{jk}] ({})",
                    pool.prefix, other.prefix
                ),
            ));
        }
    }
    // Reserved prefixes: one of the prefixes a pool of their own link delegates, or outside
    // every pool and link; never overlapping each other.
    let mut reserved: Vec<(usize, usize, Ipv6Net)> = Vec::new();
    for (i, (link, w)) in links.iter().enumerate() {
        for (res, &r) in link.reservations.iter().zip(&w.reservations) {
            for (k, net) in res.prefixes.iter().enumerate() {
                let at = path(i)
                    .key("reservations")
                    .index(r)
                    .key("prefixes")
                    .index(k);
                if let Some(why) = not_assignable(net) {
                    out.push((at, format!("{net} overlaps {why}")));
                    continue;
                }
                if let Some((j, (l, _))) = links
                    .iter()
                    .enumerate()
                    .find(|(_, (l, _))| overlap(&l.prefix, net))
                {
                    out.push((
                        at,
                        format!(
                            "{net} overlaps dhcp6.link[{j}].prefix ({}): reserve addresses \
                             there",
                            l.prefix
                        ),
                    ));
                    continue;
                }
                if let Some(&(j, jk, pool)) = pools.iter().find(|(_, _, p)| overlap(&p.prefix, net))
                {
                    let delegable = j == i
                        && pool.prefix.contains(net)
                        && net.prefix_len() == pool.delegated_len;
                    if !delegable {
                        out.push((
                            at,
                            format!(
                                "{net} overlaps dhcp6.link[{j}].prefix-pools[{jk}] ({}, /{} \
                                 delegated): a reserved prefix is one of the prefixes its own \
                                 link's pool delegates, or outside every pool",
                                pool.prefix, pool.delegated_len
                            ),
                        ));
                        continue;
                    }
                }
                if let Some(&(j, jr, other)) = reserved.iter().find(|(_, _, o)| overlap(o, net)) {
                    out.push((
                        at,
                        format!(
                            "{net} overlaps {other}, reserved by \
                             dhcp6.link[{j}].reservations[{jr}]"
                        ),
                    ));
                    continue;
                }
                reserved.push((i, r, *net));
            }
        }
    }
}

/// Checks `[leasequery6]`: IPv6 requesters, option codes, rate limits above 0, and a
/// `[dhcp6]` whose sockets and server DUID it answers with.
pub fn leasequery6(l: &schema::Leasequery6, has_dhcp6: bool, out: &mut Vec<Finding>) {
    let root = KeyPath::default().key("leasequery6");
    if !has_dhcp6 {
        out.push((
            root.clone(),
            "needs [dhcp6]: leasequery is answered on its sockets, with its server DUID".into(),
        ));
    }
    for (i, net) in l.requesters.iter().enumerate() {
        if let ipnet::IpNet::V4(net) = net {
            out.push((
                root.key("requesters").index(i),
                format!("{net} is IPv4: DHCPv6 leasequery is asked over IPv6"),
            ));
        }
    }
    for (i, code) in l.sensitive_options.iter().enumerate() {
        if *code == 0 {
            out.push((
                root.key("sensitive-options").index(i),
                "0 is not an option code".into(),
            ));
        }
    }
    if l.rate_limit.per_requester == 0 || l.rate_limit.total == 0 {
        out.push((
            root.key("rate-limit"),
            "a rate limit of 0 answers nobody: remove the requesters instead".into(),
        ));
    }
    if let Some(b) = &l.bulk {
        let path = root.key("bulk");
        wildcards(&path, &b.listen, b.listen_wildcard, out);
        for (i, a) in b.listen.iter().enumerate() {
            if a.is_ipv4() {
                out.push((
                    path.key("listen").index(i),
                    format!("{a} is IPv4: DHCPv6 bulk leasequery listens on IPv6"),
                ));
            }
        }
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
        for (key, value) in [
            ("data-timeout", b.data_timeout),
            ("idle-timeout", b.idle_timeout),
            ("frame-timeout", b.frame_timeout),
            ("first-query-timeout", b.first_query_timeout),
        ] {
            if value.0 == 0 {
                out.push((path.key(key), "must be longer than 0s".into()));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pools_parse_as_ranges_and_prefixes() {
        let (a, b) = parse_pool("2001:db8:1::1000-2001:db8:1::1fff").unwrap();
        assert_eq!(u128::from(b) - u128::from(a), 0xfff);
        let (a, b) = parse_pool("2001:db8:1::100/120").unwrap();
        assert_eq!(
            (a, b),
            (
                "2001:db8:1::100".parse().unwrap(),
                "2001:db8:1::1ff".parse().unwrap()
            )
        );
        assert!(parse_pool("2001:db8:1::2-2001:db8:1::1").is_err());
        assert!(parse_pool("2001:db8:1::1/120").is_err());
        assert!(parse_pool("nonsense").is_err());
        assert!(parse_pool("192.0.2.1-192.0.2.9").is_err());
    }

    #[test]
    fn default_lifetimes_follow_rfc8415() {
        let mut out = Vec::new();
        let t = lifetimes(
            &KeyPath::default(),
            Seconds(1800),
            Seconds(3600),
            None,
            None,
            &|_| true,
            &mut out,
        );
        assert!(out.is_empty(), "{out:?}");
        assert_eq!((t.renew_time, t.rebind_time), (Seconds(900), Seconds(1440)));
    }

    #[test]
    fn interface_ids_are_text_or_hex() {
        assert_eq!(interface_id("ge-0/0/1").unwrap(), b"ge-0/0/1");
        assert_eq!(interface_id("0x0102ff").unwrap(), [1, 2, 255]);
        assert!(interface_id("0xzz").is_err());
        assert!(interface_id("").is_err());
    }
}
