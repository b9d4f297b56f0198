//! `lessor leases list|show|export|import`: the store from the command line (see
//! docs/operator-guide.md and docs/import-isc.md). DHCPv6 bindings: [`v6`].

pub(crate) mod json;
pub(crate) mod json6;
pub(crate) mod migrate;
pub(crate) mod open;
pub mod text;
pub mod v6;

use std::collections::BTreeMap;
use std::io::{BufRead, Write};
use std::net::{IpAddr, Ipv4Addr};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use clap::{ArgGroup, Args, Subcommand};
use ipnet::{Ipv4Net, Ipv6Net};
use lessor_import::kea::Memfile;
use lessor_import::stream::{self, Source4};
use lessor_import::to_store6::LinkTarget;
use lessor_server::config;
use lessor_store::{Binding4, Binding6, Completion, State4, Store, StoreError};
use lessor_wire::v4::RelayAgentInformation;
use open::Target;

use text::{colon_hex, human, parse_hex, text_or_hex};

/// Where the store is.
#[derive(Args, Debug, Clone)]
pub struct StoreArgs {
    /// The configuration file: the store is its `[server] store` (a relative path is taken from
    /// the config file's directory) and import takes the subnets from its `[[dhcp4.subnet]]`
    /// (the links from its `[[dhcp6.link]]` for DHCPv6).
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// The store itself, without a configuration: a SQLite file, or a PostgreSQL database's
    /// `postgresql://` URL.
    #[arg(long, value_name = "PATH|URL", conflicts_with = "config")]
    store: Option<String>,
    /// The name this command writes under in a shared (PostgreSQL) store (default
    /// `lessor-leases`).
    #[arg(long, value_name = "NAME")]
    name: Option<String>,
}

#[derive(Subcommand)]
pub enum LeasesCommand {
    /// List bindings as an aligned table, or one JSON object per line.
    List {
        #[command(flatten)]
        at: StoreArgs,
        /// DHCPv6 bindings instead of DHCPv4 ones.
        #[arg(long)]
        v6: bool,
        /// Only this state: active, expired, released, declined, reserved.
        #[arg(long)]
        state: Option<String>,
        /// Only addresses inside this prefix.
        #[arg(long, value_name = "PREFIX", conflicts_with = "v6")]
        subnet: Option<Ipv4Net>,
        /// DHCPv6: only addresses and delegated prefixes inside this prefix.
        #[arg(long, value_name = "PREFIX", requires = "v6")]
        prefix: Option<Ipv6Net>,
        /// DHCPv6: only bindings on this link (its configured prefix).
        #[arg(long, value_name = "PREFIX", requires = "v6")]
        link: Option<Ipv6Net>,
        /// DHCPv6: only this client DUID (hex, with or without separators).
        #[arg(long, value_name = "HEX", requires = "v6", value_parser = parse_duid)]
        duid: Option<Duid>,
        /// Only this relay-id (option 82 sub-option 12), as hex or text.
        #[arg(long, value_name = "HEX|TEXT")]
        relay_id: Option<String>,
        /// Only this remote-id (option 82 sub-option 2), as hex or text.
        #[arg(long, value_name = "HEX|TEXT")]
        remote_id: Option<String>,
        /// Only this hardware address (e.g. 02:00:00:00:00:01).
        #[arg(long, value_parser = parse_mac, conflicts_with = "v6")]
        mac: Option<Mac>,
        /// One JSON object per line with every field.
        #[arg(long)]
        json: bool,
    },
    /// Show one binding in full, option 82 (DHCPv4) or the relay chain (DHCPv6) decoded.
    Show {
        /// The bound address: IPv4, or IPv6 (its binding, else the delegated prefix holding it),
        /// or a delegated prefix (ADDRESS/LENGTH).
        #[arg(value_parser = parse_wanted)]
        address: Wanted,
        #[command(flatten)]
        at: StoreArgs,
        /// The binding as one JSON object.
        #[arg(long)]
        json: bool,
    },
    /// Write every binding as JSON lines, DHCPv4 then DHCPv6 (the backup format, read back by
    /// `import --json`).
    Export {
        #[command(flatten)]
        at: StoreArgs,
        /// JSON lines (the only export format; accepted for clarity).
        #[arg(long)]
        json: bool,
    },
    /// Import bindings from an ISC or Kea lease file or from an export. Stop `lessor serve` first.
    #[command(group(ArgGroup::new("source").required(true).args(["isc", "isc6", "kea", "kea6", "json"])))]
    Import {
        /// An ISC dhcpd 4.x leases file (`dhcpd.leases`).
        #[arg(long, value_name = "FILE")]
        isc: Option<PathBuf>,
        /// An ISC dhcpd 4.x DHCPv6 leases file (`dhcpd6.leases`).
        #[arg(long, value_name = "FILE")]
        isc6: Option<PathBuf>,
        /// A Kea memfile, `kea-leases4.csv` or `kea-leases6.csv` (told apart by the header).
        #[arg(long, value_name = "FILE")]
        kea: Option<PathBuf>,
        /// A Kea DHCPv6 memfile (`kea-leases6.csv`); `--kea` reads it too.
        #[arg(long, value_name = "FILE")]
        kea6: Option<PathBuf>,
        /// A file written by `lessor leases export` (JSON lines).
        #[arg(long, value_name = "FILE")]
        json: Option<PathBuf>,
        #[command(flatten)]
        at: StoreArgs,
        /// A subnet for ISC leases (repeatable), besides the configured ones; needed with --store.
        #[arg(long, value_name = "PREFIX")]
        subnet: Vec<Ipv4Net>,
        /// A link prefix for DHCPv6 leases (repeatable), besides the configured links; needed
        /// with --store.
        #[arg(long, value_name = "PREFIX")]
        link: Vec<Ipv6Net>,
        /// Print the report without writing anything.
        #[arg(long)]
        dry_run: bool,
    },
    /// Copy every binding (both families, every field, sequence numbers included) from one
    /// store to another: SQLite to PostgreSQL, PostgreSQL to SQLite, or two of a kind. Stop the
    /// servers first. The copy is checked by loading the destination again.
    #[command(group(ArgGroup::new("source").required(true).args(["from", "from_config"])))]
    #[command(group(ArgGroup::new("destination").required(true).args(["to", "to_config"])))]
    Migrate {
        /// The store to copy from: a SQLite file or a `postgresql://` URL.
        #[arg(long, value_name = "PATH|URL")]
        from: Option<String>,
        /// The store to copy from is the `[server] store` of this configuration, with its
        /// `[server.postgresql]` settings (TLS, CA file, timeout, password file).
        #[arg(long, value_name = "FILE")]
        from_config: Option<PathBuf>,
        /// The store to copy into: a SQLite file (created when missing) or a `postgresql://`
        /// URL.
        #[arg(long, value_name = "PATH|URL")]
        to: Option<String>,
        /// The store to copy into is the `[server] store` of this configuration, with its
        /// `[server.postgresql]` settings.
        #[arg(long, value_name = "FILE")]
        to_config: Option<PathBuf>,
        /// Copy into a destination that holds bindings already (the copied ones replace theirs,
        /// the others stay).
        #[arg(long)]
        force: bool,
        /// The name this command writes under in a shared (PostgreSQL) store (default
        /// `lessor-leases`).
        #[arg(long, value_name = "NAME")]
        name: Option<String>,
    },
}

/// A hardware address to match, any htype.
#[derive(Debug, Clone)]
pub struct Mac(Vec<u8>);

fn parse_mac(s: &str) -> Result<Mac, String> {
    match parse_hex(s) {
        Some(b) if b.len() <= 16 => Ok(Mac(b)),
        _ => Err(format!(
            "not a hardware address: {s:?} (e.g. 02:00:00:00:00:01)"
        )),
    }
}

/// A DUID to match.
#[derive(Debug, Clone)]
pub struct Duid(Vec<u8>);

fn parse_duid(s: &str) -> Result<Duid, String> {
    match parse_hex(s) {
        Some(b) if !b.is_empty() => Ok(Duid(b)),
        _ => Err(format!(
            "not a DUID: {s:?} (hex, e.g. 00:03:00:01:02:00:00:00:00:01)"
        )),
    }
}

/// What `show` was given.
#[derive(Debug, Clone)]
pub enum Wanted {
    V4(Ipv4Addr),
    V6(Ipv6Net, bool),
}

fn parse_wanted(s: &str) -> Result<Wanted, String> {
    if let Ok(a) = s.parse::<IpAddr>() {
        return Ok(match a {
            IpAddr::V4(a) => Wanted::V4(a),
            IpAddr::V6(a) => Wanted::V6(Ipv6Net::from(a), false),
        });
    }
    s.parse::<Ipv6Net>()
        .map(|p| Wanted::V6(p, true))
        .map_err(|_| format!("not an address or a DHCPv6 prefix: {s:?}"))
}

fn parse_state(s: &str) -> Result<State4, String> {
    State4::from_name(s).ok_or_else(|| {
        let names: Vec<&str> = State4::ALL.iter().map(|s| s.as_str()).collect();
        format!("unknown state {s:?}; one of {}", names.join(", "))
    })
}

/// The octets an identifier given on the command line may mean: its hex reading and its text.
pub(crate) fn id_forms(s: &str) -> Vec<Vec<u8>> {
    let mut forms = vec![s.as_bytes().to_vec()];
    if let Some(h) = parse_hex(s) {
        forms.push(h);
    }
    forms
}

pub(crate) struct Fail(String);

impl<E: std::fmt::Display> From<E> for Fail {
    fn from(e: E) -> Fail {
        Fail(e.to_string())
    }
}

pub(crate) type Outcome<T> = std::result::Result<T, Fail>;

pub fn run(command: LeasesCommand) -> ExitCode {
    let r = match command {
        LeasesCommand::List {
            at,
            v6: true,
            state,
            prefix,
            link,
            duid,
            relay_id,
            remote_id,
            json,
            ..
        } => state
            .as_deref()
            .map(v6::parse_state)
            .transpose()
            .map_err(Fail)
            .and_then(|state| {
                let f = v6::Filter6 {
                    state,
                    prefix,
                    link,
                    duid: duid.map(|d| d.0),
                    relay_id,
                    remote_id,
                };
                v6::list(&at, f, json)
            }),
        LeasesCommand::List {
            at,
            state,
            subnet,
            relay_id,
            remote_id,
            mac,
            json,
            ..
        } => state
            .as_deref()
            .map(parse_state)
            .transpose()
            .map_err(Fail)
            .and_then(|state| list(&at, state, subnet, relay_id, remote_id, mac, json)),
        LeasesCommand::Show { address, at, json } => match address {
            Wanted::V4(a) => show(&at, a, json),
            Wanted::V6(p, false) => v6::show(&at, v6::Wanted::Address(p.addr()), json),
            Wanted::V6(p, true) => v6::show(&at, v6::Wanted::Prefix(p), json),
        },
        LeasesCommand::Export { at, json: _ } => export(&at),
        LeasesCommand::Migrate {
            from,
            from_config,
            to,
            to_config,
            force,
            name,
        } => migrate_end(from, from_config, name.as_deref()).and_then(|from| {
            let to = migrate_end(to, to_config, name.as_deref())?;
            migrate::run(&from, &to, force)
        }),
        LeasesCommand::Import {
            isc,
            isc6,
            kea,
            kea6,
            json,
            at,
            subnet,
            link,
            dry_run,
        } => match (isc, isc6, kea, kea6, json) {
            (Some(f), ..) => import4(&at, &f, Source4::Isc, subnet, dry_run),
            (_, Some(f), ..) => v6::import(&at, &f, v6::Source6::Isc, link, dry_run),
            (_, _, Some(f), ..) => match memfile(&f) {
                Ok(Memfile::V4) => import4(&at, &f, Source4::Kea, subnet, dry_run),
                Ok(Memfile::V6) => v6::import(&at, &f, v6::Source6::Kea, link, dry_run),
                Err(e) => Err(e),
            },
            (.., Some(f), _) => v6::import(&at, &f, v6::Source6::Kea, link, dry_run),
            (.., Some(f)) => import_json(&at, &f, dry_run),
            _ => Err(Fail(
                "give --isc, --isc6, --kea, --kea6 or --json with the file to import".into(),
            )),
        },
    };
    match r {
        Ok(code) => code,
        Err(Fail(e)) => {
            eprintln!("lessor leases: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Where the store is and what the configuration says bindings go in.
pub(crate) struct Located {
    pub(crate) store: Target,
    /// `[[dhcp4.subnet]]` prefixes.
    pub(crate) subnets: Vec<Ipv4Net>,
    /// `[[dhcp6.link]]`s.
    pub(crate) links6: Vec<LinkTarget>,
}

/// The store and the configured subnets and links.
pub(crate) fn locate(at: &StoreArgs) -> Outcome<Located> {
    let name = at.name.as_deref();
    match (&at.config, &at.store) {
        (Some(path), _) => {
            // config::load has taken a relative store from the config's directory already, for
            // every command alike (serve, check, leases).
            let c = config::load(path).map_err(|e| format!("{e}"))?;
            let subnets = c
                .dhcp4
                .iter()
                .flat_map(|d| &d.subnets)
                .map(|s| s.prefix)
                .collect();
            let links6 = c.dhcp6.as_ref().map(v6::link_targets).unwrap_or_default();
            Ok(Located {
                store: Target::from_config(c.store, name),
                subnets,
                links6,
            })
        }
        (None, Some(store)) => Ok(Located {
            store: Target::from_arg(store, name)?,
            subnets: Vec::new(),
            links6: Vec::new(),
        }),
        (None, None) => Err(Fail(
            "which store? give --config FILE (the store named in the configuration) or --store \
             PATH|URL"
                .into(),
        )),
    }
}

/// One end of `leases migrate`: a store named on the command line, or a configuration's (clap
/// makes sure exactly one is given).
fn migrate_end(
    store: Option<String>,
    config: Option<PathBuf>,
    name: Option<&str>,
) -> Outcome<Target> {
    match (store, config) {
        (Some(s), _) => Target::from_arg(&s, name),
        (None, Some(path)) => {
            let c = config::load(&path).map_err(|e| format!("{e}"))?;
            Ok(Target::from_config(c.store, name))
        }
        (None, None) => Err(Fail("give the store or its configuration".into())),
    }
}

/// Opens the store for reading: it must exist already.
pub(crate) fn open_existing(at: &StoreArgs) -> Outcome<Store> {
    locate(at)?.store.reader()
}

fn all(store: &Store) -> Vec<Arc<Binding4>> {
    store.v4().snapshot().iter().cloned().collect()
}

fn print_json_lines<'a>(bindings: impl IntoIterator<Item = &'a Arc<Binding4>>) -> Outcome<()> {
    print_json(bindings.into_iter().map(|b| json::to_json(b)))
}

/// One JSON object per line on stdout.
pub(crate) fn print_json(values: impl IntoIterator<Item = serde_json::Value>) -> Outcome<()> {
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    for v in values {
        serde_json::to_writer(&mut out, &v)?;
        out.write_all(b"\n")?;
    }
    out.flush()?;
    Ok(())
}

fn list(
    at: &StoreArgs,
    state: Option<State4>,
    subnet: Option<Ipv4Net>,
    relay_id: Option<String>,
    remote_id: Option<String>,
    mac: Option<Mac>,
    as_json: bool,
) -> Outcome<ExitCode> {
    let store = open_existing(at)?;
    let relay_id = relay_id.as_deref().map(id_forms);
    let remote_id = remote_id.as_deref().map(id_forms);
    let matches = |want: &Option<Vec<Vec<u8>>>, have: Option<&[u8]>| match want {
        None => true,
        Some(forms) => have.is_some_and(|h| forms.iter().any(|f| f == h)),
    };
    let chosen: Vec<Arc<Binding4>> = all(&store)
        .into_iter()
        .filter(|b| state.is_none_or(|s| b.state == s))
        .filter(|b| subnet.is_none_or(|n| n.contains(&b.address)))
        .filter(|b| matches(&relay_id, b.relay_id()))
        .filter(|b| matches(&remote_id, b.remote_id()))
        .filter(|b| mac.as_ref().is_none_or(|m| m.0 == b.hw.chaddr()))
        .collect();
    store.close()?;
    if as_json {
        print_json_lines(&chosen)?;
        return Ok(ExitCode::SUCCESS);
    }
    print!("{}", table4(&chosen));
    Ok(ExitCode::SUCCESS)
}

/// The aligned table of `lessor leases list` (and `lessor ctl`), with the count below it.
pub(crate) fn table4(chosen: &[Arc<Binding4>]) -> String {
    let header = [
        "ADDRESS",
        "STATE",
        "MAC",
        "CLIENT-ID",
        "ENDS (UTC)",
        "CLTT (UTC)",
        "CIRCUIT-ID",
        "REMOTE-ID",
        "RELAY-ID",
        "HOSTNAME",
    ];
    let rows: Vec<Vec<String>> = chosen
        .iter()
        .map(|b| {
            vec![
                b.address.to_string(),
                b.state.to_string(),
                mac_text(b),
                b.client_id().map_or("-".into(), colon_hex),
                human(b.end),
                human(b.cltt),
                text_or_hex(b.circuit_id()),
                text_or_hex(b.remote_id()),
                text_or_hex(b.relay_id()),
                text_or_hex(b.hostname()),
            ]
        })
        .collect();
    format!("{}{} binding(s)\n", text::table(&header, &rows), rows.len())
}

fn mac_text(b: &Binding4) -> String {
    if b.hw.hlen() == 0 {
        "-".into()
    } else {
        colon_hex(b.hw.chaddr())
    }
}

fn htype_name(htype: u8) -> &'static str {
    match htype {
        0 => "none",
        1 => "ethernet",
        6 => "token-ring",
        8 => "fddi",
        32 => "infiniband",
        _ => "other",
    }
}

fn show(at: &StoreArgs, address: Ipv4Addr, as_json: bool) -> Outcome<ExitCode> {
    let store = open_existing(at)?;
    let b = store.v4().get(address);
    store.close()?;
    let Some(b) = b else {
        eprintln!("lessor leases: no binding for {address}");
        return Ok(ExitCode::FAILURE);
    };
    if as_json {
        print_json_lines([&b])?;
        return Ok(ExitCode::SUCCESS);
    }
    print!("{}", describe(&b));
    Ok(ExitCode::SUCCESS)
}

fn time_line(t: u64) -> String {
    format!("{} ({t})", human(t))
}

fn sub_option_name(code: u8) -> &'static str {
    lessor_wire::v4::code::relay::name(code).unwrap_or("")
}

/// Every field of a binding, one per line.
fn describe(b: &Binding4) -> String {
    let mut lines: Vec<(String, String)> = vec![
        ("address".into(), b.address.to_string()),
        ("state".into(), b.state.to_string()),
        ("subnet".into(), b.subnet.to_string()),
        (
            "hardware".into(),
            format!(
                "{} ({}) {}",
                b.hw.htype(),
                htype_name(b.hw.htype()),
                mac_text(b)
            ),
        ),
        (
            "client-id".into(),
            b.client_id().map_or("-".into(), colon_hex),
        ),
        ("start".into(), time_line(b.start)),
        ("end".into(), time_line(b.end)),
        ("t1".into(), time_line(b.t1)),
        ("t2".into(), time_line(b.t2)),
        ("cltt".into(), time_line(b.cltt)),
        ("state since".into(), time_line(b.state_since)),
        ("hostname".into(), text_or_hex(b.hostname())),
        ("vendor-class".into(), text_or_hex(b.vendor_class_id())),
        ("circuit-id".into(), text_or_hex(b.circuit_id())),
        ("remote-id".into(), text_or_hex(b.remote_id())),
        ("relay-id".into(), text_or_hex(b.relay_id())),
        (
            "option 82".into(),
            b.relay_agent_information().map_or("-".into(), colon_hex),
        ),
    ];
    if let Some(raw) = b.relay_agent_information() {
        let info = RelayAgentInformation::new_unchecked(raw);
        for sub in info.sub_options() {
            match sub {
                Ok(s) => {
                    let name = sub_option_name(s.code);
                    let value = match text::printable(s.data) {
                        Some(t) => format!("{t:?} ({})", colon_hex(s.data)),
                        None => colon_hex(s.data),
                    };
                    lines.push((format!("  sub-option {} {name}", s.code), value));
                }
                Err(_) => lines.push((
                    "  (malformed)".into(),
                    "sub-option overruns the value".into(),
                )),
            }
        }
    }
    let width = lines.iter().map(|(k, _)| k.len()).max().unwrap_or(0);
    lines
        .iter()
        .map(|(k, v)| format!("{k:width$}  {v}\n"))
        .collect()
}

fn export(at: &StoreArgs) -> Outcome<ExitCode> {
    let store = open_existing(at)?;
    let bindings = all(&store);
    let bindings6 = v6::all(&store);
    store.close()?;
    print_json(
        bindings
            .iter()
            .map(|b| json::to_json(b))
            .chain(bindings6.iter().map(|b| json6::to_json(b))),
    )?;
    Ok(ExitCode::SUCCESS)
}

/// Something not imported.
struct Skipped {
    line: usize,
    what: String,
    why: String,
}

/// Which Kea memfile `file` is, by its header.
fn memfile(file: &Path) -> Outcome<Memfile> {
    let cannot = |e: std::io::Error| Fail(format!("{}: cannot read: {e}", file.display()));
    let f = std::fs::File::open(file).map_err(cannot)?;
    lessor_import::kea::memfile(std::io::BufReader::new(f))
        .map_err(cannot)?
        .map_err(|why| Fail(format!("{}: {why}", file.display())))
}

/// `import --isc FILE`, `--kea FILE` of a `kea-leases4.csv`.
fn import4(
    at: &StoreArgs,
    file: &Path,
    source: Source4,
    extra: Vec<Ipv4Net>,
    dry_run: bool,
) -> Outcome<ExitCode> {
    let Located {
        store: path,
        mut subnets,
        ..
    } = locate(at)?;
    subnets.extend(extra);
    if subnets.is_empty() {
        return Err(Fail(
            "no subnets to put the leases in: give --config FILE with [[dhcp4.subnet]] entries, \
             or --subnet PREFIX (repeatable)"
                .into(),
        ));
    }
    let target = stream::Target {
        subnets: &subnets,
        now: lessor_net::clock::wall_now(),
    };
    let report = if dry_run {
        stream::import4(file, source, None, target)?
    } else {
        let mut backend = path.writer("lessor leases import")?;
        stream::import4(file, source, Some(backend.as_mut()), target)?
    };
    print!("{}: {report}", file.display());
    let n = report.imported_total();
    match report.replaced {
        None => println!("dry run: {path} not changed"),
        Some(replaced) if n > 0 => {
            println!("wrote {n} binding(s) to {path} ({replaced} replaced an existing binding)")
        }
        Some(_) => {}
    }
    Ok(if n == 0 {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}

fn import_json(at: &StoreArgs, file: &Path, dry_run: bool) -> Outcome<ExitCode> {
    let path = locate(at)?.store;
    let f =
        std::fs::File::open(file).map_err(|e| format!("{}: cannot read: {e}", file.display()))?;
    let mut bindings = Vec::new();
    let mut bindings6 = Vec::new();
    let mut skipped = Vec::new();
    for (i, line) in std::io::BufReader::new(f).lines().enumerate() {
        let line = line.map_err(|e| format!("{}: cannot read: {e}", file.display()))?;
        if line.trim().is_empty() {
            continue;
        }
        let parsed = serde_json::from_str::<serde_json::Value>(&line)
            .map_err(|e| e.to_string())
            .and_then(|v| {
                if json6::is_v6(&v) {
                    json6::from_json(&v).map(Record::V6)
                } else {
                    json::from_json(&v).map(Record::V4)
                }
            });
        match parsed {
            Ok(Record::V4(b)) => bindings.push(b),
            Ok(Record::V6(b)) => bindings6.push(b),
            Err(why) => skipped.push(Skipped {
                line: i + 1,
                what: "binding".into(),
                why,
            }),
        }
    }
    println!(
        "{}: {} binding(s) read",
        file.display(),
        bindings.len() + bindings6.len()
    );
    finish(&path, bindings, bindings6, skipped, dry_run)
}

/// A line of an export.
enum Record {
    V4(Binding4),
    V6(Binding6),
}

/// Writes the bindings (unless `dry_run`) and prints the report.
fn finish(
    path: &Target,
    bindings: Vec<Binding4>,
    bindings6: Vec<Binding6>,
    mut skipped: Vec<Skipped>,
    dry_run: bool,
) -> Outcome<ExitCode> {
    let mut by_state: BTreeMap<&'static str, usize> = BTreeMap::new();
    for s in bindings
        .iter()
        .map(|b| b.state.as_str())
        .chain(bindings6.iter().map(|b| b.state.as_str()))
    {
        *by_state.entry(s).or_default() += 1;
    }
    let n = bindings.len() + bindings6.len();
    let mut replaced = 0;
    if !dry_run && n > 0 {
        let store = path.open_writing("lessor leases import")?;
        replaced = restore_all(&store, path, bindings, bindings6)?;
        store.close()?;
    }
    let states: Vec<String> = by_state.iter().map(|(s, k)| format!("{k} {s}")).collect();
    let verb = if dry_run { "would import" } else { "imported" };
    if states.is_empty() {
        println!("{verb} 0");
    } else {
        println!("{verb} {n}: {}", states.join(", "));
    }
    skipped.sort_by_key(|s| s.line);
    println!("skipped {}", skipped.len());
    for s in &skipped {
        println!("  line {}: {}: {}", s.line, s.what, s.why);
    }
    if dry_run {
        println!("dry run: {path} not changed");
    } else if n > 0 {
        println!("wrote {n} binding(s) to {path} ({replaced} replaced an existing binding)");
    }
    Ok(if n == 0 {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}

/// Writes the bindings as they are (their own `state_since` and sequence: restores, not
/// upserts), a thousand per transaction, and waits until they are durable; returns how many
/// replaced a binding.
pub(crate) fn restore_all(
    store: &Store,
    path: &Target,
    bindings: Vec<Binding4>,
    bindings6: Vec<Binding6>,
) -> Outcome<usize> {
    let mut replaced = 0;
    {
        let failed = |e: StoreError| format!("{path}: writing failed: {e}");
        // Taken from the front a thousand at a time (splitting the Vec off at 1000 instead copied
        // the rest every time: quadratic, 100 s for a million bindings).
        let mut rest = bindings.into_iter().peekable();
        let mut chunks = std::collections::VecDeque::new();
        while rest.peek().is_some() {
            let chunk: Vec<Binding4> = rest.by_ref().take(1000).collect();
            let (done, durable) = Completion::ticket();
            replaced += store.v4().write(done, |batch| {
                chunk
                    .into_iter()
                    // As exported, with their own state_since and sequence.
                    .filter_map(|b| batch.restore(b))
                    .count()
            });
            chunks.push_back(durable);
            // The store's queue is bounded (a write past it is refused): let it drain.
            while store.backlog() > lessor_store::MAX_BACKLOG / 2 {
                match chunks.pop_front() {
                    Some(t) => t.wait().map_err(failed)?,
                    None => break,
                }
            }
        }
        let mut rest = bindings6.into_iter().peekable();
        while rest.peek().is_some() {
            let chunk: Vec<Binding6> = rest.by_ref().take(1000).collect();
            let (done, durable) = Completion::ticket();
            replaced += store.v6().write(done, |batch| {
                chunk
                    .into_iter()
                    // As exported, with their own state_since and sequence.
                    .filter_map(|b| batch.restore(b))
                    .count()
            });
            chunks.push_back(durable);
            while store.backlog() > lessor_store::MAX_BACKLOG / 2 {
                match chunks.pop_front() {
                    Some(t) => t.wait().map_err(failed)?,
                    None => break,
                }
            }
        }
        for t in chunks {
            t.wait().map_err(failed)?;
        }
    }
    Ok(replaced)
}
