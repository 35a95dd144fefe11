//! Why a connection attempt failed, in words an operator can act on: TLS errors name the setting
//! that fixes them (`controlPlane.caFile`, the host in `controlPlane.url`), proxy errors name the
//! proxy, and the retry policy learns whether retrying soon can help.

use super::tunnel::TunnelError;
use awc::error::{ConnectError, SendRequestError, WsClientError};
use rustls::{CertificateError, InvalidMessage};

/// Why a connection attempt failed, as far as the retry policy cares.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConnectFailure {
    /// The control plane refused the credentials: retrying soon cannot help.
    Rejected { status: u16 },
    /// Anything else: network, proxy, TLS, timeout, unexpected response.
    Transient(String),
}

/// Classifies an awc connection error.
pub fn classify(error: &WsClientError) -> ConnectFailure {
    match error {
        WsClientError::InvalidResponseStatus(status) if matches!(status.as_u16(), 401 | 403) => {
            ConnectFailure::Rejected {
                status: status.as_u16(),
            }
        }
        WsClientError::InvalidResponseStatus(status) => {
            ConnectFailure::Transient(format!("unexpected HTTP status {status}"))
        }
        WsClientError::SendRequest(SendRequestError::Connect(ConnectError::Io(io))) => {
            ConnectFailure::Transient(describe_io(io).unwrap_or_else(|| error.to_string()))
        }
        other => ConnectFailure::Transient(other.to_string()),
    }
}

/// The words for an I/O error that carries a TLS or tunnel error; `None` for any other.
fn describe_io(io: &std::io::Error) -> Option<String> {
    let inner = io.get_ref()?;
    if let Some(tls) = inner.downcast_ref::<rustls::Error>() {
        return Some(describe_tls(tls));
    }
    inner.downcast_ref::<TunnelError>().map(ToString::to_string)
}

/// A TLS failure of the control-plane connection, with what to change.
pub fn describe_tls(error: &rustls::Error) -> String {
    match error {
        rustls::Error::InvalidCertificate(CertificateError::UnknownIssuer) => {
            "TLS: the control plane's certificate is not signed by a trusted CA (UnknownIssuer): \
             set controlPlane.caFile to the PEM bundle of the CA that signed it (a private CA, or \
             the CA of a TLS-inspecting proxy)"
                .to_owned()
        }
        rustls::Error::InvalidCertificate(CertificateError::NotValidForNameContext {
            expected,
            presented,
        }) => format!(
            "TLS: the control plane's certificate is not valid for {} (it names {}): the host \
             in controlPlane.url must be one the certificate names (NotValidForName)",
            expected.to_str(),
            presented.join(", ")
        ),
        rustls::Error::InvalidCertificate(CertificateError::NotValidForName) => {
            "TLS: the control plane's certificate is not valid for the host in controlPlane.url \
             (NotValidForName)"
                .to_owned()
        }
        rustls::Error::InvalidMessage(InvalidMessage::InvalidContentType) => {
            "TLS: the server did not answer with TLS (it may speak plain HTTP: use wss:// only \
             with a TLS port, or ws:// for a plain development control plane)"
                .to_owned()
        }
        rustls::Error::InvalidCertificate(other) => {
            format!("TLS: the control plane's certificate was refused: {other:?}")
        }
        other => format!("TLS handshake failed: {other}"),
    }
}

/// An error and every cause under it, `: `-separated (the debug log's view of a failed attempt:
/// the top level alone often says only "failed to connect").
pub fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut cause = error.source();
    while let Some(inner) = cause {
        let part = inner.to_string();
        if !text.contains(&part) {
            text.push_str(": ");
            text.push_str(&part);
        }
        cause = inner.source();
    }
    text
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use rustls::pki_types::ServerName;

    fn tls_failure(error: rustls::Error) -> String {
        let io = std::io::Error::new(std::io::ErrorKind::InvalidData, error);
        let error = WsClientError::SendRequest(SendRequestError::Connect(ConnectError::Io(io)));
        match classify(&error) {
            ConnectFailure::Transient(reason) => reason,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn tls_failures_name_what_to_change() {
        let unknown = tls_failure(CertificateError::UnknownIssuer.into());
        assert!(unknown.contains("controlPlane.caFile"), "{unknown}");
        let expected = ServerName::try_from("cp.example").unwrap().to_owned();
        let mismatch = tls_failure(
            CertificateError::NotValidForNameContext {
                expected,
                presented: vec!["DnsName(\"other.example\")".into()],
            }
            .into(),
        );
        assert!(mismatch.contains("not valid for cp.example"), "{mismatch}");
        assert!(mismatch.contains("other.example"), "{mismatch}");
        let plain = tls_failure(rustls::Error::InvalidMessage(
            InvalidMessage::InvalidContentType,
        ));
        assert!(
            plain.contains("the server did not answer with TLS"),
            "{plain}"
        );
    }

    #[test]
    fn unauthorized_statuses_are_rejections() {
        let status = awc::http::StatusCode::UNAUTHORIZED;
        assert_eq!(
            classify(&WsClientError::InvalidResponseStatus(status)),
            ConnectFailure::Rejected { status: 401 }
        );
        let status = awc::http::StatusCode::BAD_GATEWAY;
        assert!(matches!(
            classify(&WsClientError::InvalidResponseStatus(status)),
            ConnectFailure::Transient(_)
        ));
    }

    #[test]
    fn other_io_errors_keep_their_words() {
        let io = std::io::Error::from(std::io::ErrorKind::ConnectionRefused);
        let error = WsClientError::SendRequest(SendRequestError::Connect(ConnectError::Io(io)));
        let ConnectFailure::Transient(reason) = classify(&error) else {
            panic!("not transient")
        };
        assert!(reason.starts_with("Failed to connect to host"), "{reason}");
    }
}
