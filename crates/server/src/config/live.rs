//! What a reload may change (docs/operator-guide.md, "Reloading the configuration"): a config
//! reloaded while the server runs is compared with the running one. The keys that hold sockets,
//! the store or the process's identity ([`restart_only`]) cannot change without a restart: a
//! reload that changes any of them is refused whole, each named where the new file says it
//! (docs/protocol.md decision 38). Everything else is applied; [`changed`] names what changed,
//! for the log.

use super::{Config, KeyPath};
use std::collections::BTreeSet;

/// A key that cannot change while serving, and why not.
pub type Frozen = (KeyPath, String);

fn path(keys: &[&str]) -> KeyPath {
    keys.iter().fold(KeyPath::default(), |p, k| p.key(k))
}

/// Checks the keys of a `[dhcp4]` / `[dhcp6]` section that name its sockets: `listen`,
/// `interfaces`, `port`, `receive-threads`, `segment-replies`, in that order.
fn socket_keys<L: PartialEq, I: PartialEq, P: PartialEq, T: PartialEq>(
    check: &mut impl FnMut(bool, KeyPath, &str),
    section: &str,
    old: (&L, &I, &P, &T, bool),
    new: (&L, &I, &P, &T, bool),
) {
    let key = |k: &str| path(&[section, k]);
    check(old.0 != new.0, key("listen"), "the listen addresses");
    check(old.1 != new.1, key("interfaces"), "the interfaces");
    check(old.2 != new.2, key("port"), "the port");
    check(
        old.3 != new.3,
        key("receive-threads"),
        "the receive threads",
    );
    check(old.4 != new.4, key("segment-replies"), "segment-replies");
}

/// The keys `new` changes from `old` that only a restart can apply, with the message for each.
/// Both are checked configs; values are compared as resolved (a default written out is no
/// change).
pub fn restart_only(old: &Config, new: &Config) -> Vec<Frozen> {
    let mut out = Vec::new();
    let mut check = |differs: bool, key: KeyPath, what: &str| {
        if differs {
            out.push((
                key,
                format!("{what} cannot change while serving: restart to apply it"),
            ));
        }
    };
    let (os, ns) = (&old.file.server, &new.file.server);
    // The store is opened and loaded once: another one needs a restart, and so does another
    // name in a shared store or another way to reach its database.
    check(
        old.store.location != new.store.location,
        path(&["server", "store"]),
        "the store",
    );
    check(
        old.store.name != new.store.name,
        path(&["server", "name"]),
        "the server's name",
    );
    check(
        os.postgresql != ns.postgresql || old.store.postgresql != new.store.postgresql,
        path(&["server", "postgresql"]),
        "[server.postgresql]",
    );
    check(os.user != ns.user, path(&["server", "user"]), "the user");
    check(
        os.group != ns.group,
        path(&["server", "group"]),
        "the group",
    );
    // The log is set up once, at start (docs/operator-guide.md, "Logs").
    check(
        os.log_format != ns.log_format,
        path(&["server", "log-format"]),
        "the log format",
    );
    check(
        os.log_level != ns.log_level,
        path(&["server", "log-level"]),
        "the log level",
    );

    match (&old.file.dhcp4, &new.file.dhcp4) {
        (Some(o), Some(n)) => {
            let d = |k: &str| path(&["dhcp4", k]);
            let id = |c: &Config| c.dhcp4.as_ref().map(|d| d.server_identifier);
            let id_key = if n.server_identifier.is_none() && new.file.server.identifier.is_some() {
                path(&["server", "identifier"])
            } else {
                d("server-identifier")
            };
            check(id(old) != id(new), id_key, "the server identifier");
            socket_keys(
                &mut check,
                "dhcp4",
                (
                    &o.listen,
                    &o.interfaces,
                    &o.port,
                    &o.receive_threads,
                    o.segment_replies,
                ),
                (
                    &n.listen,
                    &n.interfaces,
                    &n.port,
                    &n.receive_threads,
                    n.segment_replies,
                ),
            );
        }
        (o, n) => check(
            o.is_some() != n.is_some(),
            path(&["dhcp4"]),
            "[dhcp4] (its sockets)",
        ),
    }

    match (&old.dhcp6, &new.dhcp6) {
        (Some(o), Some(n)) => {
            let d = |k: &str| path(&["dhcp6", k]);
            let duid = |c: &Config| c.file.dhcp6.as_ref().and_then(|d| d.server_duid.clone());
            check(duid(old) != duid(new), d("server-duid"), "the server DUID");
            socket_keys(
                &mut check,
                "dhcp6",
                (
                    &o.listen,
                    &o.interfaces,
                    &o.port,
                    &o.receive_threads,
                    o.segment_replies,
                ),
                (
                    &n.listen,
                    &n.interfaces,
                    &n.port,
                    &n.receive_threads,
                    n.segment_replies,
                ),
            );
        }
        (o, n) => check(
            o.is_some() != n.is_some(),
            path(&["dhcp6"]),
            "[dhcp6] (its sockets)",
        ),
    }

    // Bulk leasequery: its listener's sockets and connection slots.
    type Listener = (Vec<std::net::IpAddr>, u16, u32, u32);
    let bulk4 = |c: &Config| -> Option<Listener> {
        let b = c.leasequery4.as_ref()?.bulk.as_ref()?;
        let max = (b.max_connections, b.max_connections_per_requester);
        Some((b.listen.clone(), b.port, max.0, max.1))
    };
    let bulk6 = |c: &Config| -> Option<Listener> {
        let b = c.leasequery6.as_ref()?.bulk.as_ref()?;
        let max = (b.max_connections, b.max_connections_per_requester);
        Some((b.listen.clone(), b.port, max.0, max.1))
    };
    // The section as the new file writes it (`[leasequery]` is the earlier layout).
    let lq4 = if new.file.leasequery4.is_none() && new.file.leasequery.is_some() {
        "leasequery"
    } else {
        "leasequery4"
    };
    for (section, o, n) in [
        (lq4, bulk4(old), bulk4(new)),
        ("leasequery6", bulk6(old), bulk6(new)),
    ] {
        let k = |key: &str| path(&[section, "bulk", key]);
        match (o, n) {
            (Some(o), Some(n)) => {
                check(
                    o.0 != n.0,
                    k("listen"),
                    "the bulk leasequery listen addresses",
                );
                check(o.1 != n.1, k("port"), "the bulk leasequery port");
                check(o.2 != n.2, k("max-connections"), "max-connections");
                check(
                    o.3 != n.3,
                    k("max-connections-per-requester"),
                    "max-connections-per-requester",
                );
            }
            (o, n) => {
                let listens = |b: &Option<Listener>| b.as_ref().is_some_and(|b| !b.0.is_empty());
                check(
                    listens(&o) != listens(&n),
                    path(&[section, "bulk"]),
                    "the bulk leasequery listener",
                );
            }
        }
    }
    out
}

/// The keys whose values differ between two config texts, as `section.key` (a top-level
/// value by its name): what a reload's log line says changed. Comments and layout are no
/// change; texts that do not parse give nothing (the configs were checked before).
pub fn changed(old: &str, new: &str) -> Vec<String> {
    let (Ok(old), Ok(new)) = (old.parse::<toml::Table>(), new.parse::<toml::Table>()) else {
        return Vec::new();
    };
    let keys: BTreeSet<&String> = old.keys().chain(new.keys()).collect();
    let mut out = Vec::new();
    for k in keys {
        match (old.get(k), new.get(k)) {
            (Some(toml::Value::Table(o)), Some(toml::Value::Table(n))) => {
                let sub: BTreeSet<&String> = o.keys().chain(n.keys()).collect();
                out.extend(
                    sub.into_iter()
                        .filter(|s| o.get(*s) != n.get(*s))
                        .map(|s| format!("{k}.{s}")),
                );
            }
            (o, n) if o != n => out.push(k.clone()),
            _ => {}
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const BASE: &str = r#"
[server]
store = "leases.db"

[dhcp4]
server-identifier = "192.0.2.1"
listen = ["192.0.2.1"]
lease-time = "1h"

[[dhcp4.subnet]]
prefix = "192.0.2.0/24"
pools = ["192.0.2.100-192.0.2.110"]

[leasequery4]
requesters = ["192.0.2.9/32"]

[leasequery4.bulk]
listen = ["192.0.2.1"]
"#;

    fn config(text: &str) -> Config {
        crate::config::parse(text, "new.toml").expect("valid")
    }

    #[test]
    fn pools_options_requesters_and_limits_change_live() {
        let new = BASE
            .replace("lease-time = \"1h\"", "lease-time = \"2h\"\n# a comment")
            .replace("192.0.2.110", "192.0.2.120")
            .replace(
                "[\"192.0.2.9/32\"]",
                "[\"192.0.2.9/32\", \"192.0.2.10/32\"]",
            )
            + "\n[dhcp4.rate-limit]\nper-client = 5\n";
        assert!(restart_only(&config(BASE), &config(&new)).is_empty());
        assert_eq!(
            changed(BASE, &new),
            [
                "dhcp4.lease-time",
                "dhcp4.rate-limit",
                "dhcp4.subnet",
                "leasequery4.requesters"
            ]
        );
        assert!(changed(BASE, &format!("{BASE}\n# only a comment\n")).is_empty());
    }

    #[test]
    fn segmenting_replies_needs_a_restart() {
        let on = BASE.replace(
            "lease-time = \"1h\"",
            "lease-time = \"1h\"\nsegment-replies = true",
        );
        assert!(config(&on).file.dhcp4.as_ref().unwrap().segment_replies);
        assert!(!config(BASE).file.dhcp4.as_ref().unwrap().segment_replies);
        let frozen = restart_only(&config(BASE), &config(&on));
        let keys: Vec<String> = frozen.iter().map(|(k, _)| k.to_string()).collect();
        assert_eq!(keys, ["dhcp4.segment-replies"]);
        let v6 = |extra: &str| {
            format!(
                "[server]\nstore = \"leases.db\"\n[dhcp6]\nlisten = [\"2001:db8::1\"]\n{extra}\n\
                 [[dhcp6.link]]\nprefix = \"2001:db8::/64\"\npools = [\"2001:db8::100-2001:db8::1ff\"]\n"
            )
        };
        let (off, on) = (config(&v6("")), config(&v6("segment-replies = true")));
        assert!(on.dhcp6.as_ref().unwrap().segment_replies);
        assert!(!off.dhcp6.as_ref().unwrap().segment_replies);
        let keys: Vec<String> = restart_only(&off, &on)
            .iter()
            .map(|(k, _)| k.to_string())
            .collect();
        assert_eq!(keys, ["dhcp6.segment-replies"]);
    }

    #[test]
    fn the_log_format_and_level_need_a_restart() {
        let new = BASE.replacen(
            "[server]\n",
            "[server]\nlog-format = \"json\"\nlog-level = \"debug\"\n",
            1,
        );
        assert_ne!(new, BASE);
        let frozen = restart_only(&config(BASE), &config(&new));
        let keys: Vec<String> = frozen.iter().map(|(k, _)| k.to_string()).collect();
        assert_eq!(keys, ["server.log-format", "server.log-level"]);
    }

    #[test]
    fn sockets_store_and_identity_are_named_where_the_new_file_says_them() {
        let new = BASE
            .replace(
                "listen = [\"192.0.2.1\"]\nlease",
                "listen = [\"192.0.2.2\"]\nlease",
            )
            .replace("leases.db", "other.db")
            .replace("[leasequery4.bulk]\n", "[leasequery4.bulk]\nport = 6000\n");
        let frozen = restart_only(&config(BASE), &config(&new));
        let keys: Vec<String> = frozen.iter().map(|(k, _)| k.to_string()).collect();
        assert_eq!(
            keys,
            ["server.store", "dhcp4.listen", "leasequery4.bulk.port"]
        );
        assert!(frozen[0].1.contains("restart"), "{}", frozen[0].1);

        let without_v4 = "[server]\nstore = \"leases.db\"\n";
        let frozen = restart_only(&config(BASE), &config(without_v4));
        let keys: Vec<String> = frozen.iter().map(|(k, _)| k.to_string()).collect();
        assert_eq!(keys, ["dhcp4", "leasequery4.bulk"]);
    }

    #[test]
    fn the_shared_store_its_name_and_its_database_settings_need_a_restart() {
        let pg = BASE.replace(
            "store = \"leases.db\"",
            "store = \"postgresql://db.example/leases\"\nname = \"a\"",
        );
        let moved = pg.replace("name = \"a\"", "name = \"b\"")
            + "\n[server.postgresql]\nconnect-timeout = \"9s\"\n";
        let frozen = restart_only(&config(&pg), &config(&moved));
        let keys: Vec<String> = frozen.iter().map(|(k, _)| k.to_string()).collect();
        assert_eq!(keys, ["server.name", "server.postgresql"]);
        let keys: Vec<String> = restart_only(&config(BASE), &config(&pg))
            .iter()
            .map(|(k, _)| k.to_string())
            .collect();
        assert_eq!(keys, ["server.store", "server.name", "server.postgresql"]);
    }
}
