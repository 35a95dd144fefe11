//! Building the outbound WebSocket request: TLS roots, headers, limits, and classifying failures.

use crate::protocol::{PROTOCOL_HEADER, PROTOCOL_VERSION, TENANT_HEADER};
use awc::error::WsClientError;
use awc::ws::WebsocketsRequest;
use awc::{Client, Connector};
use relay_config::ControlPlane as ControlPlaneConfig;
use rustls::ClientConfig;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

pub use crate::tls::TlsSetupError;

/// rustls settings for the control plane: HTTP/1.1 only in ALPN (a WebSocket upgrade is HTTP/1.1).
pub fn tls_config(ca_file: Option<&Path>) -> Result<Arc<ClientConfig>, TlsSetupError> {
    crate::tls::client_config(ca_file, "controlPlane.caFile", vec![b"http/1.1".to_vec()])
        .map(Arc::new)
}

/// Time allowed for TCP, TLS and the WebSocket upgrade together.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(15);

/// The upgrade request for one connection attempt.
pub fn websocket_request(config: &ControlPlaneConfig, tls: Arc<ClientConfig>) -> WebsocketsRequest {
    let connector = Connector::new()
        .connector(super::nodelay::NoDelayConnector::new())
        .rustls_0_23(tls)
        .timeout(CONNECT_TIMEOUT)
        .handshake_timeout(CONNECT_TIMEOUT);
    let client = Client::builder()
        .connector(connector)
        .timeout(CONNECT_TIMEOUT)
        .finish();
    client
        .ws(config.url.as_str())
        .max_frame_size(config.max_message_bytes)
        .bearer_auth(config.token.expose())
        .set_header(TENANT_HEADER, config.tenant_id.as_str())
        .set_header(PROTOCOL_HEADER, PROTOCOL_VERSION.to_string())
        .set_header("User-Agent", format!("relay/{}", env!("CARGO_PKG_VERSION")))
}

/// Why a connection attempt failed, as far as the retry policy cares.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConnectFailure {
    /// The control plane refused the credentials: retrying soon cannot help.
    Rejected { status: u16 },
    /// Anything else: network, TLS, timeout, unexpected response.
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
        other => ConnectFailure::Transient(other.to_string()),
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

/// The URL without credentials, query or fragment, fit for logs.
pub fn redact_url(url: &str) -> String {
    let without_fragment = url.split('#').next().unwrap_or_default();
    let without_query = without_fragment.split('?').next().unwrap_or_default();
    match without_query.split_once("://") {
        Some((scheme, rest)) => {
            let (authority, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
            let host = authority.rsplit('@').next().unwrap_or(authority);
            format!("{scheme}://{host}{path}")
        }
        None => without_query.to_owned(),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn redacts_credentials_and_query() {
        assert_eq!(
            redact_url("wss://user:pw@api.example.com:443/v1/relay/connect?token=abc#x"),
            "wss://api.example.com:443/v1/relay/connect"
        );
        assert_eq!(redact_url("ws://127.0.0.1:8080"), "ws://127.0.0.1:8080");
    }

    #[test]
    fn tls_config_uses_http1_alpn_and_rejects_bad_ca_files() {
        let config = tls_config(None).unwrap();
        assert_eq!(config.alpn_protocols, vec![b"http/1.1".to_vec()]);
        let dir = std::env::temp_dir().join(format!("relay-ca-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let empty = dir.join("empty.pem");
        std::fs::write(&empty, "not a certificate").unwrap();
        let err = tls_config(Some(&empty)).unwrap_err().to_string();
        assert!(err.contains("no PEM certificate"), "{err}");
        let missing = tls_config(Some(&dir.join("missing.pem")))
            .unwrap_err()
            .to_string();
        assert!(missing.contains("controlPlane.caFile"), "{missing}");
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
}
