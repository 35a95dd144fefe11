//! rustls client settings shared by the control-plane connection and the database pools.

use rustls::pki_types::CertificateDer;
use rustls::{ClientConfig, RootCertStore};
use std::path::Path;
use std::sync::Arc;
use thiserror::Error;

/// TLS could not be set up.
#[derive(Debug, Error)]
pub enum TlsSetupError {
    #[error("{key} {path}: {reason}")]
    CaFile {
        key: String,
        path: String,
        reason: String,
    },
    #[error("tls: {0}")]
    Rustls(#[from] rustls::Error),
}

/// A client config trusting the public web roots plus, when given, a private CA bundle (`key` names
/// the configuration key in errors). Certificates are always verified.
pub fn client_config(
    ca_file: Option<&Path>,
    key: &str,
    alpn: Vec<Vec<u8>>,
) -> Result<ClientConfig, TlsSetupError> {
    let mut roots = RootCertStore::empty();
    roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
    if let Some(path) = ca_file {
        for certificate in read_certificates(path, key)? {
            roots
                .add(certificate)
                .map_err(|err| ca_error(path, key, err.to_string()))?;
        }
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_root_certificates(roots)
        .with_no_client_auth();
    config.alpn_protocols = alpn;
    Ok(config)
}

fn ca_error(path: &Path, key: &str, reason: String) -> TlsSetupError {
    TlsSetupError::CaFile {
        key: key.to_owned(),
        path: path.display().to_string(),
        reason,
    }
}

fn read_certificates(
    path: &Path,
    key: &str,
) -> Result<Vec<CertificateDer<'static>>, TlsSetupError> {
    let pem = std::fs::read(path).map_err(|err| ca_error(path, key, err.to_string()))?;
    let certificates = rustls_pemfile::certs(&mut pem.as_slice())
        .collect::<Result<Vec<_>, _>>()
        .map_err(|err| ca_error(path, key, err.to_string()))?;
    if certificates.is_empty() {
        return Err(ca_error(path, key, "no PEM certificate found".into()));
    }
    Ok(certificates)
}

/// A client config that encrypts but does not authenticate the server, as libpq's `sslmode=prefer`
/// and `require` do. Handshake signatures are still checked, so the session key is the server's.
pub fn encrypt_only_config() -> Result<ClientConfig, TlsSetupError> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let verifier = Arc::new(EncryptOnly {
        algorithms: provider.signature_verification_algorithms,
    });
    let config = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .dangerous()
        .with_custom_certificate_verifier(verifier)
        .with_no_client_auth();
    Ok(config)
}

/// Accepts any server certificate; see [`encrypt_only_config`].
#[derive(Debug)]
struct EncryptOnly {
    algorithms: rustls::crypto::WebPkiSupportedAlgorithms,
}

impl rustls::client::danger::ServerCertVerifier for EncryptOnly {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &rustls::pki_types::ServerName<'_>,
        _ocsp_response: &[u8],
        _now: rustls::pki_types::UnixTime,
    ) -> Result<rustls::client::danger::ServerCertVerified, rustls::Error> {
        Ok(rustls::client::danger::ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.algorithms.supported_schemes()
    }
}
