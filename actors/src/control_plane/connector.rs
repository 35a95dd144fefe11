//! The control-plane socket's TCP connector: straight to the control plane, or to the egress proxy
//! (over TLS for an `https://` proxy) and through an HTTP CONNECT tunnel. awc then runs TLS over
//! the returned stream with the control plane's host name, so SNI and the certificate check are
//! the control plane's, not the proxy's.
//!
//! Nagle's algorithm is off on either socket: the relay often writes two small messages back to
//! back (an audit record, then the answer). With Nagle's algorithm on, the second waits for the
//! control plane to acknowledge the first, and a control plane that has nothing to send back yet
//! delays that acknowledgement by up to 40 ms: every small answer would take 40 ms.

use super::egress_stream::EgressStream;
use super::proxy::{Proxy, Route};
use super::tunnel::{self, TunnelError, PROXY_TIMEOUT};
use actix_rt::net::TcpStream;
use actix_service::Service;
use actix_tls::connect::{
    ConnectError, ConnectInfo, Connection, Connector, ConnectorService, Host,
};
use awc::http::Uri;
use futures_util::future::LocalBoxFuture;
use rustls::pki_types::ServerName;
use rustls::ClientConfig;
use std::sync::Arc;
use std::task::{Context, Poll};

/// Opens TCP connections like awc's default connector, through the proxy the route names.
#[derive(Clone)]
pub struct EgressConnector {
    inner: ConnectorService,
    route: Arc<Route>,
    /// TLS settings for an `https://` proxy.
    proxy_tls: Option<Arc<ClientConfig>>,
}

impl EgressConnector {
    pub fn new(route: Arc<Route>, proxy_tls: Option<Arc<ClientConfig>>) -> Self {
        EgressConnector {
            inner: Connector::default().service(),
            route,
            proxy_tls,
        }
    }
}

impl Service<ConnectInfo<Uri>> for EgressConnector {
    type Response = Connection<Uri, EgressStream>;
    type Error = ConnectError;
    type Future = LocalBoxFuture<'static, Result<Self::Response, Self::Error>>;

    fn poll_ready(&self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Service::<ConnectInfo<Uri>>::poll_ready(&self.inner, cx)
    }

    fn call(&self, request: ConnectInfo<Uri>) -> Self::Future {
        match &*self.route {
            Route::Direct { .. } => {
                let connecting = self.inner.call(request);
                Box::pin(async move {
                    let connection = connecting.await?;
                    no_delay(connection.io_ref());
                    let (tcp, connection) = connection.replace_io(());
                    Ok(connection.replace_io(EgressStream::Tcp(tcp)).1)
                })
            }
            Route::Tunnel(proxy) => Box::pin(through_proxy(
                self.inner.clone(),
                (proxy.clone(), self.proxy_tls.clone()),
                request,
            )),
        }
    }
}

/// Best effort: a socket that refuses the option still works, only slower.
fn no_delay(stream: &TcpStream) {
    let _ = stream.set_nodelay(true);
}

/// The proxy's address, resolved like any host.
struct ProxyAddress {
    host: String,
    port: u16,
}

impl Host for ProxyAddress {
    fn hostname(&self) -> &str {
        &self.host
    }

    fn port(&self) -> Option<u16> {
        Some(self.port)
    }
}

async fn through_proxy(
    inner: ConnectorService,
    (proxy, proxy_tls): (Proxy, Option<Arc<ClientConfig>>),
    request: ConnectInfo<Uri>,
) -> Result<Connection<Uri, EgressStream>, ConnectError> {
    let target = authority(request.hostname(), request.port());
    let tcp = reach(&inner, &proxy).await?;
    let mut stream = match (proxy.url.tls, proxy_tls) {
        (false, _) => EgressStream::Tcp(tcp),
        (true, Some(tls)) => proxy_handshake(tcp, &proxy, tls).await?,
        // Never CONNECT in the clear to a proxy that was named with https://.
        (true, None) => {
            return Err(as_connect_error(TunnelError::ProxyTls {
                proxy: proxy.url.redacted(),
                reason: "no TLS settings for the proxy".into(),
            }))
        }
    };
    tunnel::open(&mut stream, &proxy.url, &target)
        .await
        .map_err(as_connect_error)?;
    Ok(Connection::new(request.request().clone(), stream))
}

/// A TCP connection to the proxy, within [`PROXY_TIMEOUT`].
async fn reach(inner: &ConnectorService, proxy: &Proxy) -> Result<TcpStream, ConnectError> {
    let address = ProxyAddress {
        host: proxy.url.host.clone(),
        port: proxy.url.port,
    };
    let unreachable = |reason: String| {
        as_connect_error(TunnelError::Unreachable {
            proxy: proxy.url.redacted(),
            source_name: proxy.source.clone(),
            reason,
        })
    };
    let reaching = inner.call(ConnectInfo::new(address));
    match tokio::time::timeout(PROXY_TIMEOUT, reaching).await {
        Ok(Ok(connection)) => {
            let tcp = connection.into_parts().0;
            no_delay(&tcp);
            Ok(tcp)
        }
        Ok(Err(err)) => Err(unreachable(err.to_string())),
        Err(_elapsed) => {
            let waited = PROXY_TIMEOUT.as_secs();
            Err(unreachable(format!("no TCP connection within {waited} s")))
        }
    }
}

/// TLS to an `https://` proxy, checked against the proxy's own host name.
async fn proxy_handshake(
    tcp: TcpStream,
    proxy: &Proxy,
    tls: Arc<ClientConfig>,
) -> Result<EgressStream, ConnectError> {
    let failed = |reason: String| {
        as_connect_error(TunnelError::ProxyTls {
            proxy: proxy.url.redacted(),
            reason,
        })
    };
    let name = ServerName::try_from(proxy.url.host.clone())
        .map_err(|_| failed("the proxy's host is not a valid TLS server name".into()))?;
    let handshake = tokio_rustls::TlsConnector::from(tls).connect(name, tcp);
    match tokio::time::timeout(PROXY_TIMEOUT, handshake).await {
        Ok(Ok(stream)) => Ok(EgressStream::ProxyTls(Box::new(stream))),
        Ok(Err(err)) => Err(failed(proxy_tls_reason(&err))),
        Err(_elapsed) => Err(failed(format!(
            "no TLS handshake within {} s",
            PROXY_TIMEOUT.as_secs()
        ))),
    }
}

/// Why TLS to the proxy failed, pointing at `controlPlane.proxy.caFile` for an unknown CA.
fn proxy_tls_reason(error: &std::io::Error) -> String {
    let tls = error
        .get_ref()
        .and_then(|inner| inner.downcast_ref::<rustls::Error>());
    match tls {
        Some(rustls::Error::InvalidCertificate(rustls::CertificateError::UnknownIssuer)) => {
            "the proxy's certificate is not signed by a trusted CA (UnknownIssuer): set \
             controlPlane.proxy.caFile to the PEM bundle of its CA"
                .to_owned()
        }
        Some(other) => other.to_string(),
        None => error.to_string(),
    }
}

/// `host:port` for the CONNECT line, with an IPv6 address in brackets.
fn authority(host: &str, port: u16) -> String {
    if host.contains(':') && !host.starts_with('[') {
        format!("[{host}]:{port}")
    } else {
        format!("{host}:{port}")
    }
}

/// awc reports an I/O error's text as the attempt's error; the tunnel error keeps its words.
fn as_connect_error(error: TunnelError) -> ConnectError {
    ConnectError::Io(std::io::Error::other(error))
}

#[cfg(test)]
mod tests {
    use super::authority;

    #[test]
    fn connect_targets() {
        assert_eq!(authority("cp.example", 443), "cp.example:443");
        assert_eq!(authority("::1", 8443), "[::1]:8443");
        assert_eq!(authority("[::1]", 8443), "[::1]:8443");
    }
}
