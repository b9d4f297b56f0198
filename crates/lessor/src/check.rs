//! `lessor check CONFIG`: validate a config and summarise what it would serve.

use lessor_server::config;
use std::path::Path;
use std::process::ExitCode;

pub fn run(path: &Path) -> ExitCode {
    match config::load(path) {
        Ok(c) => {
            for w in &c.warnings {
                eprintln!("{}: warning: {}", w.location(), w.message);
            }
            println!("{}: ok", path.display());
            for line in summary(&c) {
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

fn summary(c: &config::Config) -> Vec<String> {
    let mut lines = vec![format!("store {}", c.file.server.store.display())];
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
