//! The socket under the control-plane connection: plain TCP (straight to the control plane, or a
//! tunnel through an `http://` proxy) or TLS to an `https://` proxy carrying the tunnel. awc runs
//! the control plane's own TLS over either.

use actix_rt::net::{ActixStream, Ready, TcpStream};
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio_rustls::client::TlsStream;

#[derive(Debug)]
pub enum EgressStream {
    Tcp(TcpStream),
    /// Boxed: a TLS session is far larger than a socket.
    ProxyTls(Box<TlsStream<TcpStream>>),
}

impl EgressStream {
    fn tcp(&self) -> &TcpStream {
        match self {
            EgressStream::Tcp(tcp) => tcp,
            EgressStream::ProxyTls(tls) => tls.get_ref().0,
        }
    }
}

impl AsyncRead for EgressStream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        match self.get_mut() {
            EgressStream::Tcp(tcp) => Pin::new(tcp).poll_read(cx, buf),
            EgressStream::ProxyTls(tls) => Pin::new(tls.as_mut()).poll_read(cx, buf),
        }
    }
}

impl AsyncWrite for EgressStream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            EgressStream::Tcp(tcp) => Pin::new(tcp).poll_write(cx, buf),
            EgressStream::ProxyTls(tls) => Pin::new(tls.as_mut()).poll_write(cx, buf),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            EgressStream::Tcp(tcp) => Pin::new(tcp).poll_flush(cx),
            EgressStream::ProxyTls(tls) => Pin::new(tls.as_mut()).poll_flush(cx),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            EgressStream::Tcp(tcp) => Pin::new(tcp).poll_shutdown(cx),
            EgressStream::ProxyTls(tls) => Pin::new(tls.as_mut()).poll_shutdown(cx),
        }
    }
}

/// Readiness is the socket's, as for actix-tls's own TLS streams.
impl ActixStream for EgressStream {
    fn poll_read_ready(&self, cx: &mut Context<'_>) -> Poll<io::Result<Ready>> {
        ActixStream::poll_read_ready(self.tcp(), cx)
    }

    fn poll_write_ready(&self, cx: &mut Context<'_>) -> Poll<io::Result<Ready>> {
        ActixStream::poll_write_ready(self.tcp(), cx)
    }
}
