//! A private certificate authority for TLS tests, made fresh with rcgen: its PEM bundle (what
//! `controlPlane.caFile` points at) and server certificates it signs, in a temporary directory.

use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair, KeyUsagePurpose};
use std::path::PathBuf;

pub struct PrivateCa {
    dir: tempfile::TempDir,
    issuer: Issuer<'static, KeyPair>,
    /// The CA certificate in PEM, for `caFile`.
    pub ca_file: PathBuf,
}

/// A server certificate and its key, as PEM files.
pub struct ServerCert {
    pub cert_file: PathBuf,
    pub key_file: PathBuf,
}

impl PrivateCa {
    pub fn new() -> PrivateCa {
        let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params
            .distinguished_name
            .push(DnType::CommonName, "Relay test private CA");
        params.key_usages = vec![
            KeyUsagePurpose::KeyCertSign,
            KeyUsagePurpose::CrlSign,
            KeyUsagePurpose::DigitalSignature,
        ];
        let key = KeyPair::generate().unwrap();
        let certificate = params.self_signed(&key).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let ca_file = dir.path().join("private-ca.pem");
        std::fs::write(&ca_file, certificate.pem()).unwrap();
        PrivateCa {
            dir,
            issuer: Issuer::new(params, key),
            ca_file,
        }
    }

    /// A certificate for `names` (host names or IP addresses), signed by this CA.
    pub fn server_cert(&self, names: &[&str]) -> ServerCert {
        let names: Vec<String> = names.iter().map(|name| (*name).to_owned()).collect();
        let label = names.join("_").replace([':', '*'], "-");
        let mut params = CertificateParams::new(names).unwrap();
        params
            .distinguished_name
            .push(DnType::CommonName, "relay test control plane");
        let key = KeyPair::generate().unwrap();
        let certificate = params.signed_by(&key, &self.issuer).unwrap();
        let cert_file = self.dir.path().join(format!("{label}.pem"));
        let key_file = self.dir.path().join(format!("{label}.key"));
        std::fs::write(&cert_file, certificate.pem()).unwrap();
        std::fs::write(&key_file, key.serialize_pem()).unwrap();
        ServerCert {
            cert_file,
            key_file,
        }
    }
}
