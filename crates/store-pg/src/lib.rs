//! A PostgreSQL lease backend: one lease set shared by several Lessor servers.
//!
//! (Contract skeleton: the connection, schema, guarded writes and the follower are built in the
//! following commits; see docs/protocol.md for the decisions.)

use std::path::PathBuf;
use std::time::Duration;

use lessor_store::{Backend, Change, Loaded, StoreError};

/// How TLS to the database is used.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TlsMode {
    /// Plain TCP (or a Unix socket).
    Disable,
    /// TLS when the server offers it, without checking its certificate.
    #[default]
    Prefer,
    /// TLS always, without checking the certificate.
    Require,
    /// TLS always; the certificate must chain to the CA file (or the system roots) and name the
    /// host connected to.
    VerifyFull,
}

/// Where the database is and how this server appears in it.
#[derive(Debug, Clone)]
pub struct PgOptions {
    /// A `postgresql://` (or `postgres://`) URL, libpq's URI form.
    pub url: String,
    /// This server's name in the shared lease set: it keys its meta rows (its DHCPv6 DUID,
    /// quarantines) and marks the rows it writes, so its follower skips its own writes.
    pub node: String,
    /// TLS to the database.
    pub tls: TlsMode,
    /// The CA certificates (PEM) that [`TlsMode::VerifyFull`] trusts; none: the system's.
    pub tls_ca_file: Option<PathBuf>,
    /// How long one connection attempt may take.
    pub connect_timeout: Duration,
    /// Whether [`Backend::follower`] gives a follower (a server: yes; a one-shot command
    /// such as `lessor leases list`: no).
    pub follow: bool,
}

/// The PostgreSQL backend.
pub struct PgBackend {
    options: PgOptions,
}

impl std::fmt::Debug for PgBackend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PgBackend")
            .field("node", &self.options.node)
            .finish_non_exhaustive()
    }
}

impl PgBackend {
    /// Connects, brings the schema to this build's version (each migration in its own
    /// transaction; a newer schema is refused) and checks that writes are synchronous.
    pub fn connect(options: &PgOptions) -> Result<PgBackend, StoreError> {
        Ok(PgBackend {
            options: options.clone(),
        })
    }
}

impl Backend for PgBackend {
    fn load(&mut self) -> Result<Loaded, StoreError> {
        Err(unbuilt(&self.options))
    }

    fn apply(&mut self, _changes: &[Change]) -> Result<(), StoreError> {
        Err(unbuilt(&self.options))
    }
}

fn unbuilt(o: &PgOptions) -> StoreError {
    StoreError::Database {
        context: format!("postgresql store for {}", o.node),
        source: std::sync::Arc::new(std::io::Error::other("not built yet")),
    }
}
