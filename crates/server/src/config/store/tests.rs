//! `[server] store`, `name` and `[server.postgresql]`: what each accepts, where mistakes are
//! named, and that a password never shows.

use super::super::{parse_in, Config, ConfigError};
use super::*;
use std::os::unix::fs::PermissionsExt;

const URL: &str = "postgresql://lessor:s3cret@db.example:5432/leases?application_name=lessor";

fn parse(text: &str) -> Result<Config, Vec<ConfigError>> {
    parse_in(text, "t.toml", Path::new("/etc/lessor"), "host-a").map_err(|e| e.0)
}

fn errors(text: &str) -> Vec<(String, usize, String)> {
    parse(text)
        .expect_err("refused")
        .into_iter()
        .map(|e| (e.key.to_string(), e.position.unwrap().line, e.message))
        .collect()
}

/// A scratch directory, removed when dropped.
struct Scratch(PathBuf);

impl Scratch {
    fn new(tag: &str) -> Scratch {
        let d = std::env::temp_dir().join(format!("lessor-cfg-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        Scratch(d)
    }

    fn file(&self, name: &str, text: &str, mode: u32) -> PathBuf {
        let p = self.0.join(name);
        std::fs::write(&p, text).unwrap();
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(mode)).unwrap();
        p
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

#[test]
fn a_path_is_sqlite_taken_from_the_config_directory() {
    let c = parse("[server]\nstore = \"var/l.db\"\n").unwrap();
    assert_eq!(
        c.store.location,
        StoreLocation::Sqlite(PathBuf::from("/etc/lessor/var/l.db"))
    );
    assert_eq!(c.store.postgresql, None);
    assert_eq!(c.store.name, "host-a");
    let d = parse("").unwrap();
    assert_eq!(
        d.store.location,
        StoreLocation::Sqlite(PathBuf::from("/etc/lessor/var/lessor.db"))
    );
}

#[test]
fn a_url_is_postgresql_with_the_defaults() {
    for scheme in ["postgresql", "postgres"] {
        let url = URL.replace("postgresql", scheme);
        let c = parse(&format!("[server]\nstore = \"{url}\"\n")).unwrap();
        assert_eq!(
            c.store.location,
            StoreLocation::Postgres { url: url.clone() }
        );
        let pg = c.store.postgresql.clone().expect("defaults");
        assert_eq!(pg.tls, PgTls::Prefer);
        assert_eq!(pg.connect_timeout, Duration::from_secs(5));
        assert_eq!((pg.tls_ca_file, pg.password), (None, None));
        assert_eq!(c.store.name, "host-a");
    }
    // Hosts lists, IPv6 literals, a Unix socket directory as a parameter: libpq's forms.
    for url in [
        "postgresql://",
        "postgresql:///leases?host=/run/postgresql",
        "postgresql://a:5432,b:5433/leases",
        "postgresql://[2001:db8::5]:5432/leases",
        "postgresql://lessor@db.example/leases?sslmode=disable&password=x",
    ] {
        parse(&format!("[server]\nstore = \"{url}\"\n")).unwrap_or_else(|e| panic!("{url}: {e:?}"));
    }
}

#[test]
fn the_postgresql_section_is_read() {
    let s = Scratch::new("section");
    let ca = s.file("ca.pem", "-----BEGIN CERTIFICATE-----\n", 0o644);
    let pw = s.file("pw", "p@ss word\nignored\n", 0o600);
    let text = format!(
        "[server]\nstore = \"postgresql://lessor@db.example/leases\"\nname = \"dhcp-1.site_a\"\n\n\
         [server.postgresql]\ntls = \"verify-full\"\ntls-ca-file = \"{}\"\nconnect-timeout = \
         \"1m\"\npassword-file = \"{}\"\n",
        ca.display(),
        pw.display()
    );
    let c = parse(&text).unwrap();
    let pg = c.store.postgresql.clone().unwrap();
    assert_eq!(pg.tls, PgTls::VerifyFull);
    assert_eq!(pg.tls_ca_file.as_deref(), Some(ca.as_path()));
    assert_eq!(pg.connect_timeout, Duration::from_secs(60));
    assert_eq!(pg.password, Some(Secret::new(b"p@ss word".to_vec())));
    assert_eq!(format!("{:?}", pg.password), "Some(Secret(9 octets))");
    assert_eq!(c.store.name, "dhcp-1.site_a");
    // The password goes into the URL the backend connects with, percent-encoded.
    assert_eq!(
        c.store
            .location
            .url_with_password(pg.password.as_ref())
            .unwrap(),
        "postgresql://lessor:p%40ss%20word@db.example/leases"
    );
}

#[test]
fn a_store_that_is_neither_is_refused_where_written() {
    let e = errors("# a comment\n[server]\nstore = \"mysql://u:hunter2@db/leases\"\n");
    assert_eq!(e.len(), 1, "{e:?}");
    assert_eq!((e[0].0.as_str(), e[0].1), ("server.store", 3));
    assert!(e[0].2.contains("mysql://..."), "{e:?}");
    assert!(!e[0].2.contains("hunter2"), "{e:?}");
    for bad in [
        "postgresql://u:hunter2@db:99999/leases",
        "postgresql://u:hunter2@db:x/leases",
        "postgresql://u:hunter2@db/le ases",
        "postgresql://u:hunter2@db/leases%zz",
        "postgresql://u:hunter2@[2001:db8::1/leases",
        "postgresql://u:hunter2@db/leases?sslmode",
        "",
    ] {
        let e = errors(&format!("[server]\nstore = \"{bad}\"\n"));
        assert_eq!((e[0].0.as_str(), e[0].1), ("server.store", 2), "{bad}");
        assert!(!e[0].2.contains("hunter2"), "{bad}: {e:?}");
    }
}

#[test]
fn a_password_never_shows() {
    let l = StoreLocation::parse(URL).unwrap();
    assert!(l.has_password());
    let shown = l.to_string();
    assert_eq!(
        shown,
        "postgresql://lessor:***@db.example:5432/leases?application_name=lessor"
    );
    assert!(!format!("{l:?}").contains("s3cret"));
    let q = StoreLocation::parse("postgres://db/leases?password=s3cret&sslmode=require").unwrap();
    assert!(q.has_password());
    assert_eq!(
        q.to_string(),
        "postgres://db/leases?password=***&sslmode=require"
    );
    let none = StoreLocation::parse("postgresql://lessor@db/leases").unwrap();
    assert!(!none.has_password());
    assert_eq!(none.to_string(), "postgresql://lessor@db/leases");
    // An '@' in a password written unencoded: the last '@' ends the user information.
    let at = StoreLocation::parse("postgresql://u:a@b@db/leases").unwrap();
    assert_eq!(at.to_string(), "postgresql://u:***@db/leases");
    assert_eq!(mask("postgresql://u:x@db:bad/l"), "postgresql://...");
}

#[test]
fn the_postgresql_section_needs_a_url_store() {
    let e = errors("[server]\nstore = \"l.db\"\n\n[server.postgresql]\ntls = \"require\"\n");
    assert_eq!(e.len(), 1, "{e:?}");
    assert_eq!((e[0].0.as_str(), e[0].1), ("server.postgresql", 4));
}

#[test]
fn postgresql_keys_are_checked_where_written() {
    let s = Scratch::new("keys");
    let ca = s.file("ca.pem", "x", 0o644);
    let head = "[server]\nstore = \"postgresql://lessor@db/leases\"\n[server.postgresql]\n";
    // Line 4 holds the key under test.
    let e = errors(&format!("{head}tls-ca-file = \"{}\"\n", ca.display()));
    assert_eq!(
        (e[0].0.as_str(), e[0].1),
        ("server.postgresql.tls-ca-file", 4)
    );
    assert!(e[0].2.contains("\"prefer\""), "{e:?}");
    let e = errors(&format!(
        "{head}tls-ca-file = \"{}\"\ntls = \"require\"\n",
        s.0.join("missing.pem").display()
    ));
    assert_eq!(
        (e[0].0.as_str(), e[0].1),
        ("server.postgresql.tls-ca-file", 4)
    );
    assert!(e[0].2.contains("missing.pem"), "{e:?}");
    let e = errors(&format!("{head}tls = \"allow\"\n"));
    assert_eq!(e[0].1, 4, "{e:?}");
    let e = errors(&format!("{head}connect-timeout = \"0s\"\n"));
    assert_eq!(
        (e[0].0.as_str(), e[0].1),
        ("server.postgresql.connect-timeout", 4)
    );
    let e = errors(&format!("{head}port = 5432\n"));
    assert_eq!(e[0].1, 4, "unknown keys are refused: {e:?}");
}

#[test]
fn a_password_file_must_be_private_single_and_not_empty() {
    let s = Scratch::new("pw");
    let head = "[server]\nstore = \"postgresql://lessor@db/leases\"\n[server.postgresql]\n";
    let open = s.file("open", "pw\n", 0o640);
    let e = errors(&format!("{head}password-file = \"{}\"\n", open.display()));
    assert_eq!(
        (e[0].0.as_str(), e[0].1),
        ("server.postgresql.password-file", 4)
    );
    assert!(e[0].2.contains(&open.display().to_string()), "{e:?}");
    assert!(e[0].2.contains("0640"), "{e:?}");
    let empty = s.file("empty", "\n", 0o600);
    let e = errors(&format!("{head}password-file = \"{}\"\n", empty.display()));
    assert!(e[0].2.contains("empty"), "{e:?}");
    let e = errors(&format!(
        "{head}password-file = \"{}\"\n",
        s.0.join("none").display()
    ));
    assert!(e[0].2.contains("cannot read"), "{e:?}");
    let good = s.file("good", "pw\n", 0o400);
    let twice = format!(
        "[server]\nstore = \"postgresql://lessor:other@db/leases\"\n[server.postgresql]\n\
         password-file = \"{}\"\n",
        good.display()
    );
    let e = errors(&twice);
    assert_eq!(
        (e[0].0.as_str(), e[0].1),
        ("server.postgresql.password-file", 4)
    );
    assert!(!e[0].2.contains("other"), "{e:?}");
}

#[test]
fn a_name_is_short_and_plain() {
    for bad in ["", "a b", "dhcp/1", &"x".repeat(65), "é"] {
        let e = errors(&format!("[server]\nname = \"{bad}\"\n"));
        assert_eq!((e[0].0.as_str(), e[0].1), ("server.name", 2), "{bad:?}");
    }
    parse(&format!("[server]\nname = \"{}\"\n", "x".repeat(64))).unwrap();
    // A host name that cannot be a name matters only for a shared store.
    let odd = |text: &str| parse_in(text, "t.toml", Path::new(""), "bad host");
    assert!(odd("").is_ok());
    let e = odd("[server]\nstore = \"postgresql://db/l\"\n")
        .unwrap_err()
        .0;
    assert!(e[0].message.contains("set [server] name"), "{e:?}");
    assert!(odd("[server]\nstore = \"postgresql://db/l\"\nname = \"a\"\n").is_ok());
}
