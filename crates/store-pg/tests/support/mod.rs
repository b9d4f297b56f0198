//! A throwaway PostgreSQL for the tests that need one (`#[ignore = "needs root and
//! PostgreSQL"]`): Debian's server binaries run as the `postgres` user on a temporary
//! directory, listening on 127.0.0.1 on a free port with its socket in that directory, and
//! stopped (`pg_ctl stop -m immediate`) and removed when dropped.

#![allow(dead_code)]

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use lessor_store_pg::{PgOptions, TlsMode};

const BIN: &str = "/usr/lib/postgresql/15/bin";

/// One running PostgreSQL.
pub struct TempPg {
    pub dir: PathBuf,
    pub port: u16,
    /// With TLS: the CA that signed the server's certificate (for `localhost` only).
    pub ca: Option<PathBuf>,
}

fn run(cmd: &mut Command) {
    let out = cmd.output().unwrap_or_else(|e| panic!("{cmd:?}: {e}"));
    assert!(
        out.status.success(),
        "{cmd:?}: {}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

fn as_postgres(args: &[&str]) -> Command {
    let mut c = Command::new("runuser");
    c.args(["-u", "postgres", "--"]).args(args);
    c
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Makes a CA and, signed by it, a certificate and key for `localhost` (not for 127.0.0.1:
/// a connection to the address fails verify-full's host name check).
pub fn make_certs(dir: &Path, ca_name: &str) -> PathBuf {
    let ca_key = dir.join(format!("{ca_name}.key"));
    let ca = dir.join(format!("{ca_name}.crt"));
    run(Command::new("openssl").args([
        "req",
        "-x509",
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:prime256v1",
        "-nodes",
        "-days",
        "2",
        "-subj",
        &format!("/CN={ca_name}"),
        "-keyout",
        ca_key.to_str().unwrap(),
        "-out",
        ca.to_str().unwrap(),
    ]));
    ca
}

impl TempPg {
    pub fn start() -> TempPg {
        TempPg::start_with(false)
    }

    /// With `tls`: `ssl = on` with a certificate for `localhost`, and connections over TCP
    /// must use TLS (`hostssl` only).
    pub fn start_with(tls: bool) -> TempPg {
        static N: AtomicU32 = AtomicU32::new(0);
        let dir = std::env::temp_dir().join(format!(
            "lessor-pg-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("sock")).unwrap();
        let mut pg = TempPg {
            dir: dir.clone(),
            port: 0,
            ca: None,
        };
        if tls {
            let ca = make_certs(&dir, "lessor-test-ca");
            let key = dir.join("server.key");
            let csr = dir.join("server.csr");
            let crt = dir.join("server.crt");
            let ext = dir.join("server.ext");
            std::fs::write(&ext, "subjectAltName=DNS:localhost\n").unwrap();
            run(Command::new("openssl").args([
                "req",
                "-newkey",
                "ec",
                "-pkeyopt",
                "ec_paramgen_curve:prime256v1",
                "-nodes",
                "-subj",
                "/CN=localhost",
                "-keyout",
                key.to_str().unwrap(),
                "-out",
                csr.to_str().unwrap(),
            ]));
            run(Command::new("openssl").args([
                "x509",
                "-req",
                "-in",
                csr.to_str().unwrap(),
                "-CA",
                ca.to_str().unwrap(),
                "-CAkey",
                dir.join("lessor-test-ca.key").to_str().unwrap(),
                "-CAcreateserial",
                "-days",
                "2",
                "-extfile",
                ext.to_str().unwrap(),
                "-out",
                crt.to_str().unwrap(),
            ]));
            pg.ca = Some(ca);
        }
        run(Command::new("chown").args(["-R", "postgres:postgres", dir.to_str().unwrap()]));
        if tls {
            run(Command::new("chmod").args(["600", dir.join("server.key").to_str().unwrap()]));
        }
        let data = dir.join("data");
        run(&mut as_postgres(&[
            &format!("{BIN}/initdb"),
            "-D",
            data.to_str().unwrap(),
            "-A",
            "trust",
            "-U",
            "postgres",
            "--no-sync",
        ]));
        // Every statement is logged with its session's application name, so that a test can
        // count a session's round trips (`statements_of`).
        let mut conf = std::fs::OpenOptions::new()
            .append(true)
            .open(data.join("postgresql.conf"))
            .unwrap();
        std::io::Write::write_all(
            &mut conf,
            b"log_statement = 'all'\nlog_line_prefix = '[%a] '\n",
        )
        .unwrap();
        if tls {
            std::fs::write(
                data.join("pg_hba.conf"),
                "local all all trust\nhostssl all all 127.0.0.1/32 trust\n",
            )
            .unwrap();
        }
        // A port found free may be taken before the server binds it: try a few.
        for _ in 0..5 {
            pg.port = free_port();
            if pg.try_start() {
                return pg;
            }
        }
        panic!("postgres did not start: {}", pg.log());
    }

    fn options(&self) -> String {
        let mut o = format!(
            "-c listen_addresses=127.0.0.1 -p {} -k {} -c fsync=on -c synchronous_commit=on",
            self.port,
            self.dir.join("sock").display()
        );
        if self.ca.is_some() {
            o += &format!(
                " -c ssl=on -c ssl_cert_file={} -c ssl_key_file={}",
                self.dir.join("server.crt").display(),
                self.dir.join("server.key").display()
            );
        }
        o
    }

    fn try_start(&self) -> bool {
        as_postgres(&[
            &format!("{BIN}/pg_ctl"),
            "-D",
            self.dir.join("data").to_str().unwrap(),
            "-l",
            self.dir.join("log").to_str().unwrap(),
            "-o",
            &self.options(),
            "-w",
            "-t",
            "30",
            "start",
        ])
        .output()
        .is_ok_and(|o| o.status.success())
    }

    /// The server's log so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("log")).unwrap_or_default()
    }

    /// How many statements the sessions named `application_name` have sent so far (one
    /// logged line each: a simple query, or the execution of a prepared one).
    pub fn statements_of(&self, application_name: &str) -> usize {
        let prefix = format!("[{application_name}] LOG:  ");
        self.log()
            .lines()
            .filter(|l| {
                l.starts_with(&prefix)
                    && (l[prefix.len()..].starts_with("statement:")
                        || l[prefix.len()..].starts_with("execute "))
            })
            .count()
    }

    pub fn stop(&self) {
        let _ = as_postgres(&[
            &format!("{BIN}/pg_ctl"),
            "-D",
            self.dir.join("data").to_str().unwrap(),
            "-m",
            "immediate",
            "-w",
            "stop",
        ])
        .output();
    }

    /// Stops the server abruptly and starts it again on the same port.
    pub fn restart(&self) {
        self.stop();
        assert!(self.try_start(), "restart failed: {}", self.log());
    }

    /// A URL on TCP to `host` (127.0.0.1 or localhost).
    pub fn url_at(&self, host: &str) -> String {
        format!("postgresql://postgres@{host}:{}/postgres", self.port)
    }

    pub fn url(&self) -> String {
        self.url_at("127.0.0.1")
    }

    /// Options for a node of this database, TLS off, following.
    pub fn options_for(&self, node: &str) -> PgOptions {
        PgOptions {
            url: self.url(),
            node: node.to_owned(),
            tls: TlsMode::Disable,
            tls_ca_file: None,
            connect_timeout: Duration::from_secs(5),
            follow: true,
            password: None,
        }
    }

    /// A plain client for checks and for tampering with rows.
    pub fn client(&self) -> postgres::Client {
        postgres::Client::connect(
            &format!(
                "host={} port={} user=postgres dbname=postgres",
                self.dir.join("sock").display(),
                self.port
            ),
            postgres::NoTls,
        )
        .unwrap()
    }
}

impl Drop for TempPg {
    fn drop(&mut self) {
        self.stop();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
