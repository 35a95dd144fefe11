//! The control-plane socket's TCP connector, with Nagle's algorithm off.
//!
//! The relay often writes two small messages back to back (an audit record, then the answer). With
//! Nagle's algorithm on, the second waits for the control plane to acknowledge the first, and a
//! control plane that has nothing to send back yet delays that acknowledgement by up to 40 ms: every
//! small answer would take 40 ms.

use actix_rt::net::TcpStream;
use actix_service::Service;
use actix_tls::connect::{ConnectError, ConnectInfo, Connection, Connector, ConnectorService};
use awc::http::Uri;
use futures_util::future::LocalBoxFuture;
use std::task::{Context, Poll};

/// Opens TCP connections like awc's default connector, then sets `TCP_NODELAY`.
#[derive(Clone)]
pub struct NoDelayConnector {
    inner: ConnectorService,
}

impl NoDelayConnector {
    pub fn new() -> Self {
        NoDelayConnector {
            inner: Connector::default().service(),
        }
    }
}

impl Service<ConnectInfo<Uri>> for NoDelayConnector {
    type Response = Connection<Uri, TcpStream>;
    type Error = ConnectError;
    type Future = LocalBoxFuture<'static, Result<Self::Response, Self::Error>>;

    fn poll_ready(&self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Service::<ConnectInfo<Uri>>::poll_ready(&self.inner, cx)
    }

    fn call(&self, request: ConnectInfo<Uri>) -> Self::Future {
        let connecting = self.inner.call(request);
        Box::pin(async move {
            let connection = connecting.await?;
            // Best effort: a socket that refuses the option still works, only slower.
            let _ = connection.io_ref().set_nodelay(true);
            Ok(connection)
        })
    }
}
