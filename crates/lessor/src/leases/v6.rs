//! `lessor leases` for DHCPv6 bindings: `list --v6`, `show ADDRESS|PREFIX`, the DHCPv6 part of
//! `export`, and `import --isc6 FILE` / `--kea6 FILE` (see docs/operator-guide.md, "Migrating
//! DHCPv6 leases").

use std::fs::File;
use std::io::BufReader;
use std::net::Ipv6Addr;
use std::path::Path;
use std::process::ExitCode;
use std::sync::Arc;

use ipnet::Ipv6Net;
use lessor_import::import6::{self, Target6};
use lessor_import::to_store6::LinkTarget;
use lessor_server::config::Dhcp6;
use lessor_store::{Binding6, Completion, Key6, State6, Store, StoreError};
use lessor_wire::v6::Repr;

use super::text::{colon_hex, human, table, text_or_hex};
use super::{id_forms, open_existing, print_json, Fail, Outcome, StoreArgs};

/// Which DHCPv6 file an import reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source6 {
    /// ISC `dhcpd6.leases`.
    Isc,
    /// Kea `kea-leases6.csv`.
    Kea,
}

/// The links of `[dhcp6]`, as the import places bindings on them.
pub fn link_targets(d: &Dhcp6) -> Vec<LinkTarget> {
    d.links
        .iter()
        .map(|l| LinkTarget {
            prefix: l.prefix,
            address_pools: l.address_pools.iter().map(|p| (p.first, p.last)).collect(),
            prefix_pools: l.prefix_pools.iter().map(|p| p.prefix).collect(),
            reserved: l
                .reservations
                .iter()
                .flat_map(|r| {
                    r.addresses
                        .iter()
                        .filter_map(|a| Ipv6Net::new(*a, 128).ok())
                        .chain(r.prefixes.iter().copied())
                })
                .collect(),
        })
        .collect()
}

/// Filters of `list --v6`.
pub struct Filter6 {
    pub state: Option<State6>,
    /// Bindings inside this prefix.
    pub prefix: Option<Ipv6Net>,
    /// Bindings on this link.
    pub link: Option<Ipv6Net>,
    pub duid: Option<Vec<u8>>,
    pub relay_id: Option<String>,
    pub remote_id: Option<String>,
}

pub fn parse_state(s: &str) -> Result<State6, String> {
    State6::from_name(s)
        .filter(|s| s.is_durable())
        .ok_or_else(|| {
            let names: Vec<&str> = State6::ALL
                .iter()
                .filter(|s| s.is_durable())
                .map(|s| s.as_str())
                .collect();
            format!("unknown DHCPv6 state {s:?}; one of {}", names.join(", "))
        })
}

pub fn all(store: &Store) -> Vec<Arc<Binding6>> {
    store.v6().snapshot().iter().cloned().collect()
}

pub fn list(at: &StoreArgs, f: Filter6, as_json: bool) -> Outcome<ExitCode> {
    let store = open_existing(at)?;
    let relay_id = f.relay_id.as_deref().map(id_forms);
    let remote_id = f.remote_id.as_deref().map(id_forms);
    let matches = |want: &Option<Vec<Vec<u8>>>, have: Option<&[u8]>| match want {
        None => true,
        Some(forms) => have.is_some_and(|h| forms.iter().any(|f| f == h)),
    };
    let chosen: Vec<Arc<Binding6>> = all(&store)
        .into_iter()
        .filter(|b| f.state.is_none_or(|s| b.state == s))
        .filter(|b| f.prefix.is_none_or(|n| n.contains(&b.prefix())))
        .filter(|b| f.link.is_none_or(|l| b.link == l))
        .filter(|b| f.duid.as_ref().is_none_or(|d| b.duid() == Some(&d[..])))
        .filter(|b| matches(&relay_id, b.relay_id()))
        .filter(|b| matches(&remote_id, b.remote_id()))
        .collect();
    store.close()?;
    if as_json {
        print_json(chosen.iter().map(|b| super::json6::to_json(b)))?;
        return Ok(ExitCode::SUCCESS);
    }
    print!("{}", table6(&chosen));
    Ok(ExitCode::SUCCESS)
}

/// The aligned table of `lessor leases list --v6` (and `lessor ctl`), with the count below it.
pub(crate) fn table6(chosen: &[Arc<Binding6>]) -> String {
    let header = [
        "ADDRESS/PREFIX",
        "IA",
        "IAID",
        "STATE",
        "DUID",
        "LINK",
        "VALID ENDS (UTC)",
        "CLTT (UTC)",
        "INTERFACE-ID",
        "REMOTE-ID",
        "RELAY-ID",
    ];
    let rows: Vec<Vec<String>> = chosen
        .iter()
        .map(|b| {
            vec![
                resource(b),
                b.ia_type.to_string(),
                b.iaid.to_string(),
                b.state.to_string(),
                b.duid().map_or("-".into(), colon_hex),
                b.link.to_string(),
                human(b.valid_end),
                human(b.cltt),
                text_or_hex(b.interface_id()),
                text_or_hex(b.remote_id()),
                text_or_hex(b.relay_id()),
            ]
        })
        .collect();
    format!(
        "{}{} DHCPv6 binding(s)\n",
        table(&header, &rows),
        rows.len()
    )
}

/// The address, or the prefix with its length.
fn resource(b: &Binding6) -> String {
    if b.prefix_len == 128 {
        b.address.to_string()
    } else {
        b.prefix().to_string()
    }
}

/// What `show` was asked for: an address (its binding, else the delegated prefix holding it) or
/// a prefix.
pub enum Wanted {
    Address(Ipv6Addr),
    Prefix(Ipv6Net),
}

pub fn show(at: &StoreArgs, wanted: Wanted, as_json: bool) -> Outcome<ExitCode> {
    let store = open_existing(at)?;
    let snapshot = store.v6().snapshot();
    let (b, name) = match wanted {
        Wanted::Address(a) => (snapshot.containing(a).cloned(), a.to_string()),
        Wanted::Prefix(p) => (
            snapshot.get(Key6::new(p.addr(), p.prefix_len())).cloned(),
            p.to_string(),
        ),
    };
    store.close()?;
    let Some(b) = b else {
        eprintln!("lessor leases: no binding for {name}");
        return Ok(ExitCode::FAILURE);
    };
    if as_json {
        print_json([super::json6::to_json(&b)])?;
        return Ok(ExitCode::SUCCESS);
    }
    print!("{}", describe(&b));
    Ok(ExitCode::SUCCESS)
}

fn time_line(t: u64) -> String {
    format!("{} ({t})", human(t))
}

/// The names of the options relays put in RELAY-FORW.
fn relay_option_name(code: u16) -> &'static str {
    match code {
        9 => "relay-message",
        18 => "interface-id",
        37 => "remote-id",
        38 => "subscriber-id",
        53 => "relay-id",
        79 => "client-link-layer-address",
        _ => "",
    }
}

/// A remote-id: its enterprise number, then the id (RFC 4649).
fn remote_id_text(v: Option<&[u8]>) -> String {
    match v {
        Some([a, b, c, d, id @ ..]) => format!(
            "enterprise {} {}",
            u32::from_be_bytes([*a, *b, *c, *d]),
            text_or_hex(Some(id))
        ),
        other => text_or_hex(other),
    }
}

/// Every field of a binding, one per line, the relay chain decoded hop by hop.
pub fn describe(b: &Binding6) -> String {
    let mut lines: Vec<(String, String)> = vec![
        (
            if b.prefix_len == 128 {
                "address"
            } else {
                "prefix"
            }
            .into(),
            resource(b),
        ),
        ("ia".into(), b.ia_type.to_string()),
        ("iaid".into(), b.iaid.to_string()),
        ("state".into(), b.state.to_string()),
        ("link".into(), b.link.to_string()),
        ("duid".into(), b.duid().map_or("-".into(), colon_hex)),
        ("start".into(), time_line(b.start)),
        ("preferred end".into(), time_line(b.preferred_end)),
        ("valid end".into(), time_line(b.valid_end)),
        ("t1".into(), time_line(b.t1)),
        ("t2".into(), time_line(b.t2)),
        ("cltt".into(), time_line(b.cltt)),
        ("state since".into(), time_line(b.state_since)),
        (
            "relay peer".into(),
            b.relay_peer.map_or("-".into(), |a| a.to_string()),
        ),
        ("interface-id".into(), text_or_hex(b.interface_id())),
        ("remote-id".into(), remote_id_text(b.remote_id())),
        (
            "relay-id".into(),
            b.relay_id().map_or("-".into(), colon_hex),
        ),
        (
            "relay chain".into(),
            b.relay_chain().map_or("-".into(), colon_hex),
        ),
    ];
    if let Some(chain) = b.relay_chain() {
        match Repr::from_bytes(chain) {
            Ok(repr) => {
                for (n, hop) in repr.relay_hops().iter().enumerate() {
                    let options: Vec<String> = hop
                        .options
                        .iter()
                        .map(|o| {
                            let code = o.code();
                            match relay_option_name(code) {
                                "" => code.to_string(),
                                name => format!("{code} {name}"),
                            }
                        })
                        .collect();
                    lines.push((
                        format!("  hop {n}"),
                        format!(
                            "hop-count {}, link-address {}, peer-address {}, options: {}",
                            hop.hop_count,
                            hop.link_address,
                            hop.peer_address,
                            if options.is_empty() {
                                "-".into()
                            } else {
                                options.join(", ")
                            }
                        ),
                    ));
                }
            }
            Err(e) => lines.push(("  (malformed)".into(), e.to_string())),
        }
    }
    let width = lines.iter().map(|(k, _)| k.len()).max().unwrap_or(0);
    lines
        .iter()
        .map(|(k, v)| format!("{k:width$}  {v}\n"))
        .collect()
}

/// `import --isc6 FILE` / `--kea6 FILE`: reads the file, writes its bindings (each an upsert,
/// so the store numbers it and dates its state) unless `dry_run`, prints the report.
pub fn import(
    at: &StoreArgs,
    file: &Path,
    source: Source6,
    extra: Vec<Ipv6Net>,
    dry_run: bool,
) -> Outcome<ExitCode> {
    let located = super::locate(at)?;
    let mut links = located.links6;
    links.extend(extra.into_iter().map(LinkTarget::prefix_only));
    if links.is_empty() {
        return Err(Fail(
            "no links to put the leases on: give --config FILE with [[dhcp6.link]] entries, or \
             --link PREFIX (repeatable)"
                .into(),
        ));
    }
    let target = Target6 {
        links: &links,
        now: lessor_net::clock::wall_now(),
    };
    let f = File::open(file).map_err(|e| format!("{}: cannot read: {e}", file.display()))?;
    let reader = BufReader::with_capacity(1 << 20, f);
    let read = match source {
        Source6::Isc => import6::isc6(reader, target),
        Source6::Kea => import6::kea6(reader, target),
    };
    let mut outcome = read.map_err(|e| format!("{}: cannot read: {e}", file.display()))?;
    let n = outcome.bindings.len();
    if !dry_run {
        let replaced = write(&located.store, std::mem::take(&mut outcome.bindings))?;
        outcome.report.replaced = Some(replaced);
    }
    print!("{}: {}", file.display(), outcome.report);
    match outcome.report.replaced {
        None => println!("dry run: {} not changed", located.store),
        Some(replaced) if n > 0 => println!(
            "wrote {n} DHCPv6 binding(s) to {} ({replaced} replaced an existing binding)",
            located.store
        ),
        Some(_) => {}
    }
    Ok(if n == 0 {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}

/// Writes `bindings` in transactions of a thousand; returns how many replaced one.
fn write(path: &super::Target, bindings: Vec<Binding6>) -> Outcome<u64> {
    if bindings.is_empty() {
        return Ok(0);
    }
    let store = path.open_writing("lessor leases import")?;
    let failed = |e: StoreError| format!("{path}: writing failed: {e}");
    let mut replaced = 0u64;
    let mut pending = std::collections::VecDeque::new();
    let mut rest = bindings.into_iter().peekable();
    while rest.peek().is_some() {
        let chunk: Vec<Binding6> = rest.by_ref().take(1000).collect();
        let (done, durable) = Completion::ticket();
        replaced += store.v6().write(done, |batch| {
            chunk.into_iter().filter_map(|b| batch.upsert(b)).count() as u64
        });
        pending.push_back(durable);
        // The store's queue is bounded (a write past it is refused): let it drain.
        while store.backlog() > lessor_store::MAX_BACKLOG / 2 {
            match pending.pop_front() {
                Some(t) => t.wait().map_err(failed)?,
                None => break,
            }
        }
    }
    for t in pending {
        t.wait().map_err(failed)?;
    }
    store.close()?;
    Ok(replaced)
}
