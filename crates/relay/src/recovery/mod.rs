//! Recovery of the location table (issue 15; bulk draft §1, §4.1; RFC 4388 §6.6; RFC 5007
//! §3.2): what the servers say about this relay's clients, turned into [`Location`]s and merged
//! into the table. Sans-IO: the shell runs the bulk queries ([`lessor_requestor::recover`]) and
//! the UDP socket; this module converts and merges, with every time passed in.
//!
//! - At start, one bulk leasequery by the relay's own relay-id to every server; the merged
//!   bindings become entries of [`Origin::Recovered`] ([`merge4`], [`merge6`]).
//! - On demand, a UDP leasequery by address for an address the table does not know
//!   ([`lookup::Lookups`]); an active answer becomes an entry of [`Origin::Queried`].
//!
//! Whatever the origin, the table's rule settles a conflict: the newest client-last-transaction-
//! time wins, so a DHCPACK gleaned while recovery ran is never overwritten by an older recovered
//! binding (docs/protocol.md decision 34).
//!
//! The interface of a recovered entry is the configured downstream interface whose circuit-id
//! (DHCPv4) or Interface-ID (DHCPv6) the server kept in the binding's relay data; none when it
//! names none of ours (a trusted bridge's circuit-id, an interface since renamed).

pub mod lookup;

use std::net::{Ipv6Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use lessor_requestor::recover::{Binding6, Bound6, Recovery4, Recovery6, Report4, Report6};
use lessor_requestor::recover::{Merged, Server6 as BulkServer6};
use lessor_requestor::{LeaseInfo, QueryKey, QueryKey6};
use lessor_wire::v6::{DhcpOption, Duid};

use crate::config;
use crate::location::{bound4, bound6, Hardware, Location, LocationTable, Merge, Origin};
use crate::v6::Settings6;

/// A downstream interface as recovery matches it: its name and the circuit-id (DHCPv4) or
/// Interface-ID (DHCPv6) this relay puts in what it relays from there.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Named {
    pub name: Arc<str>,
    pub id: Vec<u8>,
}

/// The interface whose id is `id`, if any.
fn interface_of(interfaces: &[Named], id: Option<&[u8]>) -> Option<Arc<str>> {
    let id = id?;
    interfaces
        .iter()
        .find(|i| i.id == id)
        .map(|i| Arc::clone(&i.name))
}

/// `secs` after `at` (wall-clock seconds); `u32::MAX` is infinity (RFC 2131 §3.3, RFC 8415
/// §7.7): never.
fn end(at: u64, secs: u32) -> u64 {
    if secs == u32::MAX {
        u64::MAX
    } else {
        at.saturating_add(u64::from(secs))
    }
}

/// The entry for a DHCPv4 answer whose times are relative to `at` (wall-clock seconds): the
/// recovery's start for a recovered binding, the moment the reply arrived for a queried one.
/// `None` when it names no address or no active lease.
pub fn location4(
    lease: &LeaseInfo,
    at: u64,
    interfaces: &[Named],
    origin: Origin,
) -> Option<Location> {
    let address = lease.address?;
    if !lease.is_found() {
        return None;
    }
    let circuit_id = lease.circuit_id().map(<[u8]>::to_vec);
    Some(Location {
        bound: bound4(address),
        hardware: (!lease.chaddr.is_empty()).then(|| Hardware {
            htype: lease.htype,
            address: lease.chaddr.clone(),
        }),
        client_id: lease.client_id.clone(),
        interface: interface_of(interfaces, circuit_id.as_deref()),
        circuit_id,
        remote_id: lease.remote_id().map(<[u8]>::to_vec),
        // No lease time: as a gleaned DHCPACK without option 51 (decision 33), never.
        expires: lease.lease_remaining.map_or(u64::MAX, |s| end(at, s)),
        cltt: lease.cltt_ago.map(|a| at.saturating_sub(u64::from(a))),
        origin,
    })
}

/// The relay hop of a DHCPv6 binding's relay data that is this relay's: the one carrying
/// `relay_id`, else the innermost (the relay next to the client, which this relay is when it is
/// the only one).
fn our_hop<'a>(
    b: &'a Binding6,
    relay_id: Option<&Duid>,
) -> Option<&'a lessor_requestor::v6::RelayHop> {
    let hops = &b.relay.as_ref()?.hops;
    let ours = relay_id.and_then(|id| {
        hops.iter().find(|h| {
            h.options
                .iter()
                .any(|o| matches!(o, DhcpOption::RelayId(d) if d == id))
        })
    });
    ours.or(hops.last())
}

/// Whether a DHCPv6 binding is of a client behind this relay (docs/protocol.md decision 34):
/// its relay data has a hop carrying `relay_id`, or the innermost hop carries no Relay-Id and
/// the Interface-ID of one of `interfaces`. Without relay data, nobody knows: not ours.
fn ours6(b: &Binding6, relay_id: Option<&Duid>, interfaces: &[Named]) -> bool {
    let Some(hop) = our_hop(b, relay_id) else {
        return false;
    };
    let mut relay_ids = hop.options.iter().filter_map(|o| match o {
        DhcpOption::RelayId(d) => Some(d),
        _ => None,
    });
    match relay_ids.next() {
        Some(d) => Some(d) == relay_id,
        None => hop.options.iter().any(
            |o| matches!(o, DhcpOption::InterfaceId(id) if interfaces.iter().any(|i| i.id == *id)),
        ),
    }
}

/// The entry for a DHCPv6 binding (times as of `at`: the recovery's start for a recovered one,
/// the reply's arrival for a queried one).
pub fn location6(
    b: &Binding6,
    at: u64,
    interfaces: &[Named],
    relay_id: Option<&Duid>,
    origin: Origin,
) -> Option<Location> {
    let bound = match b.bound {
        Bound6::Address(a) => bound6(a, 128)?,
        Bound6::Prefix(p, len) => bound6(p, len)?,
    };
    let hop = our_hop(b, relay_id);
    let option =
        |f: fn(&DhcpOption) -> Option<Vec<u8>>| hop.and_then(|h| h.options.iter().find_map(f));
    let circuit_id = option(|o| match o {
        DhcpOption::InterfaceId(id) => Some(id.clone()),
        _ => None,
    });
    let remote_id = option(|o| match o {
        DhcpOption::RemoteId {
            enterprise_number,
            remote_id,
        } => {
            let mut v = enterprise_number.to_be_bytes().to_vec();
            v.extend_from_slice(remote_id);
            Some(v)
        }
        _ => None,
    });
    Some(Location {
        bound,
        hardware: None,
        client_id: b.client_id.as_ref().map(Duid::to_vec),
        interface: interface_of(interfaces, circuit_id.as_deref()),
        circuit_id,
        remote_id,
        expires: end(at, b.valid_lifetime),
        cltt: b.cltt_ago.map(|a| at.saturating_sub(u64::from(a))),
        origin,
    })
}

/// What merging a recovery did to the table.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Merged4or6 {
    /// Entries added or replaced.
    pub merged: u64,
    /// Bindings the table already knew more recently (a DHCPACK gleaned meanwhile).
    pub kept: u64,
    /// Bindings already ended at `now`, or naming nothing the table holds.
    pub skipped: u64,
}

fn merge_one(table: &mut LocationTable, l: Option<Location>, now: u64, out: &mut Merged4or6) {
    match l {
        Some(l) if l.expires > now => match table.merge(l) {
            Merge::Added | Merge::Replaced => out.merged += 1,
            Merge::Kept => out.kept += 1,
        },
        _ => out.skipped += 1,
    }
}

/// Merges a DHCPv4 recovery's bindings (times as of `started`, wall-clock seconds) at `now`.
pub fn merge4(
    table: &mut LocationTable,
    merged: Merged<LeaseInfo>,
    started: u64,
    now: u64,
    interfaces: &[Named],
) -> Merged4or6 {
    let mut out = Merged4or6::default();
    for (_, lease) in merged {
        let l = location4(&lease, started, interfaces, Origin::Recovered);
        merge_one(table, l, now, &mut out);
    }
    out
}

/// Merges a DHCPv6 recovery's bindings (times as of `started`) at `now`.
pub fn merge6(
    table: &mut LocationTable,
    merged: Merged<Binding6>,
    started: u64,
    now: u64,
    interfaces: &[Named],
    relay_id: Option<&Duid>,
) -> Merged4or6 {
    let mut out = Merged4or6::default();
    for (_, b) in merged {
        merge_one(
            table,
            location6(&b, started, interfaces, relay_id, Origin::Recovered),
            now,
            &mut out,
        );
    }
    out
}

/// The DHCPv4 recovery `config` asks for: every bulk server, by `relay_id`.
pub fn plan4(config: &config::Recovery, relay_id: &[u8]) -> Option<Recovery4> {
    if !config.at_start || config.servers4.is_empty() {
        return None;
    }
    let mut r = Recovery4::new(
        config.servers4.clone(),
        QueryKey::RelayId(relay_id.to_vec()),
    );
    r.bulk.conn_timeout = config.conn_timeout;
    r.bulk.data_timeout = config.data_timeout;
    r.bulk.first_retry = config.first_retry;
    r.bulk.max_retry = config.max_retry;
    Some(r)
}

/// RFC 5460 §5.1: a DHCPv6 server's bulk leasequery listener is TCP port 547.
pub const BULK_PORT6: u16 = 547;

/// The DHCPv6 recovery for the relay's DHCPv6 half: `servers6` when configured, else every
/// unicast server of `settings` on TCP 547 (a multicast destination names no server to connect
/// to), by the relay-id, the relay's DUID being the requestor's too.
pub fn plan6(config: &config::Recovery, settings: &Settings6) -> Option<Recovery6> {
    let relay_id = settings.relay_id.clone()?;
    let addrs: Vec<SocketAddr> = match &config.servers6 {
        Some(listed) => listed.clone(),
        None => settings
            .servers
            .iter()
            .filter(|s| !s.address.is_multicast())
            .map(|s| SocketAddr::from((s.address, BULK_PORT6)))
            .collect(),
    };
    let servers: Vec<BulkServer6> = addrs
        .into_iter()
        .map(|addr| BulkServer6 {
            addr,
            requestor: relay_id.clone(),
        })
        .collect();
    if !config.at_start || servers.is_empty() {
        return None;
    }
    let mut r = Recovery6::new(
        servers,
        QueryKey6::RelayId {
            duid: relay_id,
            link: Ipv6Addr::UNSPECIFIED,
        },
    );
    r.bulk.conn_timeout = config.conn_timeout;
    r.bulk.data_timeout = config.data_timeout;
    r.bulk.first_retry = config.first_retry;
    r.bulk.max_retry = config.max_retry;
    Some(r)
}

/// Where on-demand DHCPv6 leasequeries go (UDP): `servers6` when configured, at the same
/// address and port as their bulk listener (RFC 5007 and RFC 5460 share port 547), else every
/// unicast server of `settings` at the port it takes RELAY-FORWs on (a server answers
/// LEASEQUERY where it answers clients). A multicast group or a server named with its
/// interface (link-local) is not asked: the socket is not bound to an interface
/// (docs/protocol.md decision 37).
pub fn lookup_servers6(config: &config::Recovery, settings: &Settings6) -> Vec<SocketAddr> {
    match &config.servers6 {
        Some(listed) => listed.clone(),
        None => settings
            .servers
            .iter()
            .filter(|s| s.is_unicast() && s.interface.is_none())
            .map(|s| SocketAddr::from((s.address, s.port)))
            .collect(),
    }
}

/// The log lines of a DHCPv4 recovery: one per server, then the summary.
pub fn report4_lines(report: &Report4, merge: &Merged4or6) -> Vec<String> {
    let mut lines: Vec<String> = report
        .servers
        .iter()
        .map(|s| {
            server_line(
                "dhcp4",
                s.server,
                s.streamed,
                s.kept,
                s.retries,
                s.end.as_ref().map(end4),
                s.error.as_ref().map(|e| e.to_string()),
            )
        })
        .collect();
    lines.push(summary(
        "dhcp4",
        report.elapsed,
        report.merged,
        report.conflicts,
        report.failed().count(),
        merge,
    ));
    lines
}

/// The log lines of a DHCPv6 recovery.
pub fn report6_lines(report: &Report6, merge: &Merged4or6) -> Vec<String> {
    let mut lines: Vec<String> = report
        .servers
        .iter()
        .map(|s| {
            server_line(
                "dhcp6",
                s.server,
                s.streamed,
                s.kept,
                s.retries,
                s.end.as_ref().map(end6),
                s.error.as_ref().map(|e| e.to_string()),
            )
        })
        .collect();
    lines.push(summary(
        "dhcp6",
        report.elapsed,
        report.merged,
        report.conflicts,
        report.failed().count(),
        merge,
    ));
    lines
}

/// How a DHCPv4 bulk query ended, in a word or two.
fn end4(end: &lessor_requestor::bulk::End) -> String {
    use lessor_requestor::bulk::End;
    match end {
        End::Done { .. } => "done".into(),
        End::NotFound(l) => format!("not-found ({})", l.state),
        End::Failed(status) => format!("failed ({status:?})"),
    }
}

/// How a DHCPv6 bulk query ended.
fn end6(end: &lessor_requestor::bulk::End6) -> String {
    use lessor_requestor::bulk::End6;
    match end {
        End6::Done { .. } => "done".into(),
        End6::Failed { name, message, .. } => format!("failed ({name}: {message})"),
    }
}

fn server_line(
    family: &str,
    server: SocketAddr,
    streamed: u64,
    kept: u64,
    retries: u32,
    end: Option<String>,
    error: Option<String>,
) -> String {
    let mut line = format!(
        "recovery: {family} server {server}: streamed={streamed} kept={kept} retries={retries}"
    );
    match (end, error) {
        (Some(end), _) => line.push_str(&format!(" end={end}")),
        (None, Some(e)) => line.push_str(&format!(" given up: {e}")),
        (None, None) => line.push_str(" given up"),
    }
    line
}

fn summary(
    family: &str,
    elapsed: Duration,
    bindings: usize,
    conflicts: u64,
    failed: usize,
    merge: &Merged4or6,
) -> String {
    format!(
        "recovery: {family} done in {:.3}s: bindings={bindings} conflicts={conflicts} merged={} \
         kept-newer={} skipped={} servers-failed={failed}",
        elapsed.as_secs_f64(),
        merge.merged,
        merge.kept,
        merge.skipped,
    )
}

#[cfg(test)]
mod tests;

#[cfg(test)]
mod tests6;
