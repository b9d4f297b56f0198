//! `lessor leases` against a real PostgreSQL (a throwaway server in a temporary directory, run
//! as the `postgres` user): migrate SQLite -> PostgreSQL -> SQLite keeps every binding exactly.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const PG_BIN: &str = "/usr/lib/postgresql/15/bin";

/// A PostgreSQL server for one test; stopped and removed when dropped.
struct Postgres {
    dir: PathBuf,
    port: u16,
}

impl Postgres {
    fn start(tag: &str) -> Postgres {
        let dir = std::env::temp_dir().join(format!("lessor-pg-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let run = |args: &[&str]| {
            let ok = Command::new("runuser")
                .args(["-u", "postgres", "--"])
                .args(args)
                .status()
                .unwrap()
                .success();
            assert!(ok, "{args:?}");
        };
        Command::new("chown")
            .args(["-R", "postgres"])
            .arg(&dir)
            .status()
            .unwrap();
        let data = dir.join("data");
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let initdb = format!("{PG_BIN}/initdb");
        run(&[
            &initdb,
            "-A",
            "trust",
            "-U",
            "postgres",
            "-D",
            data.to_str().unwrap(),
        ]);
        let opts = format!(
            "-c listen_addresses=127.0.0.1 -p {port} -k {} -c fsync=on -c synchronous_commit=on",
            dir.display()
        );
        let pg_ctl = format!("{PG_BIN}/pg_ctl");
        let log = dir.join("log");
        run(&[
            &pg_ctl,
            "-D",
            data.to_str().unwrap(),
            "-o",
            &opts,
            "-l",
            log.to_str().unwrap(),
            "-w",
            "start",
        ]);
        Postgres { dir, port }
    }

    fn url(&self) -> String {
        format!(
            "postgresql://postgres@127.0.0.1:{}/postgres?sslmode=disable",
            self.port
        )
    }
}

impl Drop for Postgres {
    fn drop(&mut self) {
        let _ = Command::new("runuser")
            .args(["-u", "postgres", "--", &format!("{PG_BIN}/pg_ctl"), "-D"])
            .arg(self.dir.join("data"))
            .args(["-m", "immediate", "stop"])
            .status();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn lessor(args: &[&str], dir: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_lessor"))
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap()
}

fn ok(o: Output) -> String {
    assert!(
        o.status.success(),
        "{}\n{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8(o.stdout).unwrap()
}

const EXPORT: &str = r#"{"address":"198.51.100.10","subnet":"198.51.100.0/24","htype":1,"chaddr":"02:00:00:00:00:01","state":"active","start":1700000000,"end":1700003600,"t1":1800,"t2":3150,"cltt":1700000000,"state_since":1700000000,"sequence":7}
"#;

#[test]
#[ignore = "needs root and PostgreSQL"]
fn migrate_to_postgresql_and_back_keeps_every_binding() {
    let pg = Postgres::start("migrate");
    let dir = pg.dir.join("work");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("backup.jsonl"), EXPORT).unwrap();
    ok(lessor(
        &[
            "leases",
            "import",
            "--json",
            "backup.jsonl",
            "--store",
            "a.db",
        ],
        &dir,
    ));
    let url = pg.url();
    let out = ok(lessor(
        &["leases", "migrate", "--from", "a.db", "--to", &url],
        &dir,
    ));
    assert!(out.contains("copied 1 DHCPv4 and 0 DHCPv6"), "{out}");
    ok(lessor(
        &["leases", "migrate", "--from", &url, "--to", "b.db"],
        &dir,
    ));
    let export = |s: &str| ok(lessor(&["leases", "export", "--store", s], &dir));
    assert_eq!(export("b.db"), export("a.db"));
    assert_eq!(export(&url), export("a.db"));

    // `--to-config`: the configuration's `[server.postgresql]` settings apply. This database
    // speaks no TLS, so `tls = "require"` must fail and `"disable"` must copy.
    let plain = format!("postgresql://postgres@127.0.0.1:{}/postgres", pg.port);
    let config = |tls: &str| {
        format!("[server]\nstore = \"{plain}\"\n\n[server.postgresql]\ntls = \"{tls}\"\n")
    };
    std::fs::write(dir.join("require.toml"), config("require")).unwrap();
    std::fs::write(dir.join("disable.toml"), config("disable")).unwrap();
    let refused = lessor(
        &[
            "leases",
            "migrate",
            "--from",
            "a.db",
            "--to-config",
            "require.toml",
            "--force",
        ],
        &dir,
    );
    assert_eq!(refused.status.code(), Some(1));
    let err = String::from_utf8_lossy(&refused.stderr);
    assert!(err.contains("cannot connect"), "{err}");
    let out = ok(lessor(
        &[
            "leases",
            "migrate",
            "--from",
            "a.db",
            "--to-config",
            "disable.toml",
            "--force",
        ],
        &dir,
    ));
    assert!(out.contains("(1 replaced an existing binding)"), "{out}");
}
