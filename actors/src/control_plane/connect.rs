//! Building the outbound WebSocket request: TLS roots, the route out (direct or through a proxy),
//! headers and limits.

use super::connector::EgressConnector;
use super::proxy::{self, Route};
use crate::protocol::{PROTOCOL_HEADER, PROTOCOL_VERSION, TENANT_HEADER};
use awc::ws::WebsocketsRequest;
use awc::{Client, Connector};
use relay_config::ControlPlane as ControlPlaneConfig;
use rustls::ClientConfig;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

pub use super::failure::{classify, error_chain, ConnectFailure};
pub use crate::tls::TlsSetupError;

/// What every connection attempt shares: the TLS settings and the route out.
#[derive(Clone)]
pub struct Link {
    pub tls: Arc<ClientConfig>,
    pub route: Arc<Route>,
    /// TLS to an `https://` proxy: the public roots plus `controlPlane.proxy.caFile`.
    pub proxy_tls: Option<Arc<ClientConfig>>,
}

/// The control-plane link could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum LinkSetupError {
    #[error(transparent)]
    Tls(#[from] TlsSetupError),
    /// A proxy setting (named in the text) is unusable.
    #[error(transparent)]
    Proxy(#[from] proxy::UnusableProxy),
}

impl Link {
    /// TLS from `controlPlane.caFile` and the route from `controlPlane.proxy` or the process's
    /// proxy environment variables.
    pub fn new(config: &ControlPlaneConfig) -> Result<Link, LinkSetupError> {
        Self::with_env(config, &|name| std::env::var(name).ok())
    }

    pub fn with_env(
        config: &ControlPlaneConfig,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Link, LinkSetupError> {
        let tls = tls_config(config.ca_file.as_deref())?;
        let route = proxy::choose(config, env)?;
        let proxy_tls = match &route {
            Route::Tunnel(proxy) if proxy.url.tls => Some(proxy_tls_config(proxy)?),
            _ => None,
        };
        Ok(Link {
            tls,
            route: Arc::new(route),
            proxy_tls,
        })
    }
}

/// rustls settings for the control plane: HTTP/1.1 only in ALPN (a WebSocket upgrade is HTTP/1.1).
pub fn tls_config(ca_file: Option<&Path>) -> Result<Arc<ClientConfig>, TlsSetupError> {
    crate::tls::client_config(ca_file, "controlPlane.caFile", vec![b"http/1.1".to_vec()])
        .map(Arc::new)
}

/// rustls settings for TLS to the proxy itself; no ALPN, as CONNECT is HTTP/1.1 by nature.
fn proxy_tls_config(proxy: &proxy::Proxy) -> Result<Arc<ClientConfig>, TlsSetupError> {
    let key = "controlPlane.proxy.caFile";
    crate::tls::client_config(proxy.ca_file.as_deref(), key, Vec::new()).map(Arc::new)
}

/// Time allowed for TCP, TLS and the WebSocket upgrade together.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(15);

/// The upgrade request for one connection attempt.
pub fn websocket_request(config: &ControlPlaneConfig, link: &Link) -> WebsocketsRequest {
    let connector = Connector::new()
        .connector(EgressConnector::new(
            Arc::clone(&link.route),
            link.proxy_tls.clone(),
        ))
        .rustls_0_23(Arc::clone(&link.tls))
        .timeout(CONNECT_TIMEOUT)
        .handshake_timeout(CONNECT_TIMEOUT);
    let client = Client::builder()
        .connector(connector)
        .timeout(CONNECT_TIMEOUT)
        .finish();
    client
        .ws(config.url.as_str())
        .max_frame_size(config.max_message_bytes)
        .bearer_auth(config.credential.expose())
        .set_header(TENANT_HEADER, config.tenant_id.as_str())
        .set_header(PROTOCOL_HEADER, PROTOCOL_VERSION.to_string())
        .set_header("User-Agent", format!("relay/{}", env!("CARGO_PKG_VERSION")))
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
}
