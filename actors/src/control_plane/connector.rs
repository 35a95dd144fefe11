//! The control-plane socket's TCP connector: straight to the control plane, or to the egress proxy
//! and through an HTTP CONNECT tunnel. awc then runs TLS over the returned stream with the control
//! plane's host name, so SNI and the certificate check are the control plane's, not the proxy's.
//!
//! Nagle's algorithm is off on either socket: the relay often writes two small messages back to
//! back (an audit record, then the answer). With Nagle's algorithm on, the second waits for the
//! control plane to acknowledge the first, and a control plane that has nothing to send back yet
//! delays that acknowledgement by up to 40 ms: every small answer would take 40 ms.

use super::proxy::{Proxy, Route};
use super::tunnel::{self, TunnelError, PROXY_TIMEOUT};
use actix_rt::net::TcpStream;
use actix_service::Service;
use actix_tls::connect::{
    ConnectError, ConnectInfo, Connection, Connector, ConnectorService, Host,
};
use awc::http::Uri;
use futures_util::future::LocalBoxFuture;
use std::sync::Arc;
use std::task::{Context, Poll};

/// Opens TCP connections like awc's default connector, through the proxy the route names.
#[derive(Clone)]
pub struct EgressConnector {
    inner: ConnectorService,
    route: Arc<Route>,
}

impl EgressConnector {
    pub fn new(route: Arc<Route>) -> Self {
        EgressConnector {
            inner: Connector::default().service(),
            route,
        }
    }
}

impl Service<ConnectInfo<Uri>> for EgressConnector {
    type Response = Connection<Uri, TcpStream>;
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
                    Ok(connection)
                })
            }
            Route::Tunnel(proxy) => {
                Box::pin(through_proxy(self.inner.clone(), proxy.clone(), request))
            }
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
    proxy: Proxy,
    request: ConnectInfo<Uri>,
) -> Result<Connection<Uri, TcpStream>, ConnectError> {
    let target = authority(request.hostname(), request.port());
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
    let mut stream = match tokio::time::timeout(PROXY_TIMEOUT, reaching).await {
        Ok(Ok(connection)) => connection.into_parts().0,
        Ok(Err(err)) => return Err(unreachable(err.to_string())),
        Err(_elapsed) => {
            let waited = PROXY_TIMEOUT.as_secs();
            return Err(unreachable(format!("no TCP connection within {waited} s")));
        }
    };
    no_delay(&stream);
    tunnel::open(&mut stream, &proxy.url, &target)
        .await
        .map_err(as_connect_error)?;
    Ok(Connection::new(request.request().clone(), stream))
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
