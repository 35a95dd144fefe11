//! TLS for the development control plane: a certificate chain and key from PEM files, served
//! with rustls (the relay's own TLS library), so relays can be tried with `wss://` and a private CA.

use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use std::io::{Error, ErrorKind};
use std::path::Path;
use std::sync::Arc;

/// A server config from `--tls-cert` (PEM chain, leaf first) and `--tls-key` (PEM private key).
pub fn server_config(cert_file: &Path, key_file: &Path) -> std::io::Result<rustls::ServerConfig> {
    let chain = certificates(cert_file)?;
    let key = private_key(key_file)?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .and_then(|builder| builder.with_no_client_auth().with_single_cert(chain, key))
        .map_err(|err| {
            Error::new(
                ErrorKind::InvalidInput,
                format!("--tls-cert/--tls-key: {err}"),
            )
        })
}

fn read(path: &Path, flag: &str) -> std::io::Result<Vec<u8>> {
    std::fs::read(path)
        .map_err(|err| Error::new(err.kind(), format!("{flag} {}: {err}", path.display())))
}

fn certificates(path: &Path) -> std::io::Result<Vec<CertificateDer<'static>>> {
    let pem = read(path, "--tls-cert")?;
    let chain = rustls_pemfile::certs(&mut pem.as_slice()).collect::<Result<Vec<_>, _>>()?;
    if chain.is_empty() {
        let message = format!("--tls-cert {}: no PEM certificate found", path.display());
        return Err(Error::new(ErrorKind::InvalidData, message));
    }
    Ok(chain)
}

fn private_key(path: &Path) -> std::io::Result<PrivateKeyDer<'static>> {
    let pem = read(path, "--tls-key")?;
    rustls_pemfile::private_key(&mut pem.as_slice())?.ok_or_else(|| {
        let message = format!("--tls-key {}: no PEM private key found", path.display());
        Error::new(ErrorKind::InvalidData, message)
    })
}
