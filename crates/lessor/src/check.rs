//! `lessor check CONFIG`: validate a config and summarise what it would serve.

use lessor_server::config;
use std::path::Path;
use std::process::ExitCode;

pub fn run(path: &Path, relay: bool) -> ExitCode {
    // A relay's file is told by its [relay] table; an unreadable file is reported by the
    // server's loader as it always was.
    let is_relay = relay
        || std::fs::read_to_string(path).is_ok_and(|t| lessor_relay::config::is_relay_file(&t));
    if is_relay {
        return report(
            path,
            lessor_relay::config::load(path).map(|c| (Vec::new(), relay_summary(&c))),
        );
    }
    report(
        path,
        config::load(path).map(|c| (c.warnings.clone(), summary(&c))),
    )
}

fn report(
    path: &Path,
    loaded: Result<(Vec<config::ConfigError>, Vec<String>), config::ConfigErrors>,
) -> ExitCode {
    match loaded {
        Ok((warnings, lines)) => {
            for w in &warnings {
                eprintln!("{}: warning: {}", w.location(), w.message);
            }
            println!("{}: ok", path.display());
            for line in lines {
                println!("  {line}");
            }
            ExitCode::SUCCESS
        }
        Err(errors) => {
            eprintln!("{errors}");
            let n = errors.0.len();
            eprintln!(
                "{}: {n} error{}",
                path.display(),
                if n == 1 { "" } else { "s" }
            );
            ExitCode::FAILURE
        }
    }
}

fn relay_summary(c: &lessor_relay::config::Config) -> Vec<String> {
    let id = match &c.relay_id {
        Some(id) => format!("relay-id {} (configured)", lessor_wire::hex::colon(id)),
        None => format!(
            "relay-id generated once, kept in {}",
            c.state_dir
                .join(lessor_relay::relay_id::FILE_NAME)
                .display()
        ),
    };
    let mut lines = vec![id, format!("control socket {}", c.control_socket.display())];
    if let Some(d) = &c.dhcp4 {
        let servers: Vec<String> = d.servers.iter().map(|s| s.to_string()).collect();
        let interfaces: Vec<String> = d
            .interfaces
            .iter()
            .map(|i| {
                let giaddr = i
                    .giaddr
                    .map_or("its first IPv4 address".into(), |g| g.to_string());
                let trust = if i.trusted { ", trusted" } else { "" };
                format!("{} (giaddr {giaddr}{trust})", i.name)
            })
            .collect();
        lines.push(format!(
            "dhcp4: relays {} to {}, port {}, max-hops {}",
            interfaces.join(", "),
            servers.join(", "),
            d.port,
            d.max_hops
        ));
    }
    if let Some(d) = &c.dhcp6 {
        let servers: Vec<String> = d.servers.iter().map(|s| s.describe()).collect();
        let interfaces: Vec<String> = d
            .interfaces
            .iter()
            .map(|i| {
                let link = i
                    .link_address
                    .map_or("its first global address, else ::".into(), |a| {
                        a.to_string()
                    });
                let id = String::from_utf8_lossy(&i.interface_id);
                let remote = match &i.remote_id {
                    Some(r) => format!(
                        ", remote-id {:?} (enterprise {})",
                        r.template(),
                        d.enterprise_number
                    ),
                    None => String::new(),
                };
                format!(
                    "{} (interface-id {id:?}, link-address {link}{remote})",
                    i.name
                )
            })
            .collect();
        lines.push(format!(
            "dhcp6: relays {} to {}, port {}",
            interfaces.join(", "),
            servers.join(", "),
            d.port
        ));
    }
    lines
}

fn summary(c: &config::Config) -> Vec<String> {
    // The location's Display masks a password in a URL.
    let mut lines = vec![match &c.store.postgresql {
        None => format!("store {}", c.store.location),
        Some(pg) => format!(
            "store {} (PostgreSQL, shared; this server's name {:?}; tls {}{}, connect timeout {}s{})",
            c.store.location,
            c.store.name,
            pg.tls.as_str(),
            pg.tls_ca_file
                .as_ref()
                .map(|f| format!(" with CA {}", f.display()))
                .unwrap_or_default(),
            pg.connect_timeout.as_secs(),
            if pg.password.is_some() {
                ", password from password-file"
            } else {
                ""
            }
        ),
    }];
    if let (Some(d), Some(raw)) = (&c.dhcp4, &c.file.dhcp4) {
        let pool_addresses: u64 = d
            .subnets
            .iter()
            .flat_map(|s| &s.pools)
            .map(|p| p.size())
            .sum();
        let reservations: usize = d.subnets.iter().map(|s| s.reservations.len()).sum();
        let listen: Vec<String> = raw
            .listen
            .iter()
            .map(|a| a.to_string())
            .chain(raw.interfaces.iter().cloned())
            .collect();
        lines.push(format!(
            "dhcp4: server identifier {}, {} subnet(s), {pool_addresses} pool address(es), {reservations} reservation(s), on {} port {}",
            d.server_identifier,
            d.subnets.len(),
            listen.join(", "),
            raw.port
        ));
    } else {
        lines.push("dhcp4: not configured (nothing served)".into());
    }
    match &c.leasequery4 {
        Some(l) if !l.requesters.is_empty() => {
            let who: Vec<String> = l.requesters.iter().map(|n| n.to_string()).collect();
            lines.push(format!(
                "leasequery4: answers {} as {}",
                who.join(", "),
                l.server_identifier
            ));
        }
        _ => lines.push("leasequery4: no requesters allowed (nobody is answered)".into()),
    }
    lines.push(dhcp6(c));
    if let Some(l) = &c.leasequery6 {
        lines.push(match l.requesters.is_empty() {
            true => "leasequery6: no requesters allowed (nobody is answered)".into(),
            false => {
                let who: Vec<String> = l.requesters.iter().map(|n| n.to_string()).collect();
                format!("leasequery6: answers {}", who.join(", "))
            }
        });
    }
    lines
}

fn dhcp6(c: &config::Config) -> String {
    let Some(d) = &c.dhcp6 else {
        return "dhcp6: not configured (nothing served)".into();
    };
    let duid = match &d.server_duid {
        config::ServerDuid::Configured(duid) => {
            format!("server DUID {}", lessor_wire::hex::colon(duid))
        }
        config::ServerDuid::Generated => "server DUID generated (kept in the store)".into(),
    };
    let links = &d.links;
    let addresses = links
        .iter()
        .flat_map(|l| &l.address_pools)
        .fold(0u128, |n, p| n.saturating_add(p.size()));
    let prefixes = links
        .iter()
        .flat_map(|l| &l.prefix_pools)
        .fold(0u128, |n, p| n.saturating_add(p.size()));
    let reservations: usize = links.iter().map(|l| l.reservations.len()).sum();
    let listen: Vec<String> = d
        .listen
        .iter()
        .map(|a| a.to_string())
        .chain(d.interfaces.iter().cloned())
        .collect();
    format!(
        "dhcp6: {duid}, {} link(s), {addresses} pool address(es), {prefixes} delegable prefix(es), {reservations} reservation(s), on {} port {}",
        links.len(),
        listen.join(", "),
        d.port
    )
}
