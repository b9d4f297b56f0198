//! TLS to the database ([`TlsMode`]) through rustls with the ring provider: pure Rust plus C
//! built by `cc`, so the build needs no system OpenSSL headers.

use std::sync::Arc;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme};
use tokio_postgres_rustls::MakeRustlsConnect;

use lessor_store::StoreError;

use crate::{PgOptions, TlsMode};

/// The connector for `options.tls` (which also decides the SSL mode of the connection, see
/// [`crate::session`]).
pub(crate) fn connector(options: &PgOptions) -> Result<MakeRustlsConnect, StoreError> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|e| StoreError::db("postgresql TLS setup", e))?;
    let config = match options.tls {
        // "prefer" and "require" encrypt without authenticating the server, as libpq's modes of
        // the same names do (docs/protocol.md, decision "PostgreSQL: TLS modes"); "verify-full" authenticates.
        TlsMode::Disable | TlsMode::Prefer | TlsMode::Require => builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(Unchecked(provider)))
            .with_no_client_auth(),
        TlsMode::VerifyFull => builder
            .with_root_certificates(roots(options)?)
            .with_no_client_auth(),
    };
    Ok(MakeRustlsConnect::new(config))
}

/// The CA certificates verify-full trusts: the configured file's, or the system's.
fn roots(options: &PgOptions) -> Result<RootCertStore, StoreError> {
    let mut roots = RootCertStore::empty();
    match &options.tls_ca_file {
        Some(path) => {
            let context = || format!("postgresql tls-ca-file {}", path.display());
            for cert in
                CertificateDer::pem_file_iter(path).map_err(|e| StoreError::db(context(), e))?
            {
                let cert = cert.map_err(|e| StoreError::db(context(), e))?;
                roots.add(cert).map_err(|e| StoreError::db(context(), e))?;
            }
            if roots.is_empty() {
                return Err(StoreError::db(
                    context(),
                    std::io::Error::other("no PEM certificate in the file"),
                ));
            }
        }
        None => {
            let found = rustls_native_certs::load_native_certs();
            let (added, _) = roots.add_parsable_certificates(found.certs);
            if added == 0 {
                return Err(StoreError::db(
                    "postgresql TLS: the system's CA certificates",
                    std::io::Error::other("none could be read; set tls-ca-file"),
                ));
            }
        }
    }
    Ok(roots)
}

/// Accepts any server certificate but still checks the handshake's signatures, so the session
/// is encrypted (against a passive listener), not authenticated.
#[derive(Debug)]
struct Unchecked(Arc<CryptoProvider>);

impl ServerCertVerifier for Unchecked {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}
