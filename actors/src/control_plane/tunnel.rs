//! An HTTP CONNECT tunnel through an egress proxy: the request (with Basic proxy credentials), the
//! proxy's reply, and what a refused, unreachable or silent proxy means in words. TLS to the
//! control plane then runs inside the tunnel, checked against the control plane's host.

use base64::Engine;
use relay_config::{ProxyCredentials, ProxyUrl};
use std::time::Duration;
use thiserror::Error;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

/// Time the proxy has for the TCP connection and its answer to CONNECT, each. Shorter than the
/// whole attempt's timeout, so that a silent proxy is named as such.
pub const PROXY_TIMEOUT: Duration = Duration::from_secs(10);

/// The longest reply head accepted from the proxy.
const MAX_REPLY_BYTES: usize = 16 * 1024;

/// Why a tunnel could not be opened. Messages name the proxy without its credentials.
#[derive(Debug, Error)]
pub enum TunnelError {
    #[error("cannot reach the proxy {proxy} (from {source_name}): {reason}")]
    Unreachable {
        proxy: String,
        source_name: String,
        reason: String,
    },
    #[error("TLS to the proxy {proxy} failed: {reason}")]
    ProxyTls { proxy: String, reason: String },
    #[error(
        "the proxy {proxy} did not answer the CONNECT request within {} s",
        PROXY_TIMEOUT.as_secs()
    )]
    TimedOut { proxy: String },
    #[error("the proxy {proxy} requires authentication (HTTP 407 Proxy Authentication Required): {hint}")]
    AuthenticationRequired { proxy: String, hint: &'static str },
    #[error(
        "the proxy {proxy} refused the tunnel to {target} (HTTP 403 Forbidden): its rules do not \
         allow this destination"
    )]
    Forbidden { proxy: String, target: String },
    #[error("the proxy {proxy} refused the tunnel to {target} (HTTP {status})")]
    Refused {
        proxy: String,
        target: String,
        status: u16,
    },
    #[error("the proxy {proxy} gave no usable answer to the CONNECT request: {source}")]
    Exchange {
        proxy: String,
        source: std::io::Error,
    },
    #[error("the proxy {proxy} gave no usable answer to the CONNECT request: {source}")]
    BadReply {
        proxy: String,
        source: MalformedReply,
    },
}

/// What is wrong with the head of the proxy's reply.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
pub enum MalformedReply {
    #[error("the reply is not text")]
    NotText,
    #[error("the reply does not start with HTTP/1.x")]
    NotHttp,
    #[error("the reply has no status code")]
    NoStatusCode,
}

/// The CONNECT request for `target` (`host:port`), with Basic credentials when the URL has some.
pub fn connect_request(target: &str, credentials: Option<&ProxyCredentials>) -> String {
    let mut request = format!(
        "CONNECT {target} HTTP/1.1\r\nHost: {target}\r\nUser-Agent: relay/{}\r\n",
        env!("CARGO_PKG_VERSION")
    );
    if let Some(credentials) = credentials {
        let pair = format!("{}:{}", credentials.user, credentials.password.expose());
        let encoded = base64::engine::general_purpose::STANDARD.encode(pair);
        request.push_str(&format!("Proxy-Authorization: Basic {encoded}\r\n"));
    }
    request.push_str("\r\n");
    request
}

/// The status code of a reply head (`HTTP/1.x NNN reason\r\n...`).
pub fn reply_status(head: &[u8]) -> Result<u16, MalformedReply> {
    let text = std::str::from_utf8(head).map_err(|_| MalformedReply::NotText)?;
    let status_line = text.lines().next().unwrap_or_default();
    let mut parts = status_line.split(' ');
    let version = parts.next().unwrap_or_default();
    if !version.starts_with("HTTP/1.") {
        return Err(MalformedReply::NotHttp);
    }
    parts
        .next()
        .and_then(|code| code.parse::<u16>().ok())
        .filter(|code| (100..=599).contains(code))
        .ok_or(MalformedReply::NoStatusCode)
}

/// Asks the proxy on `stream` for a tunnel to `target` and reads its answer; on success the
/// stream carries the tunnel. Reads byte by byte so that nothing after the reply head is taken.
pub async fn open<S: AsyncRead + AsyncWrite + Unpin>(
    stream: &mut S,
    proxy: &ProxyUrl,
    target: &str,
) -> Result<(), TunnelError> {
    let name = proxy.redacted();
    let exchange = async {
        let request = connect_request(target, proxy.credentials.as_ref());
        stream.write_all(request.as_bytes()).await?;
        stream.flush().await?;
        read_head(stream).await
    };
    let head = match tokio::time::timeout(PROXY_TIMEOUT, exchange).await {
        Err(_elapsed) => return Err(TunnelError::TimedOut { proxy: name }),
        Ok(Err(source)) => {
            return Err(TunnelError::Exchange {
                proxy: name,
                source,
            })
        }
        Ok(Ok(head)) => head,
    };
    let status = reply_status(&head).map_err(|source| TunnelError::BadReply {
        proxy: name.clone(),
        source,
    })?;
    judge(status, &name, target, proxy.credentials.is_some())
}

fn judge(status: u16, proxy: &str, target: &str, had_credentials: bool) -> Result<(), TunnelError> {
    let proxy = proxy.to_owned();
    let target = target.to_owned();
    match status {
        200..=299 => Ok(()),
        407 if had_credentials => Err(TunnelError::AuthenticationRequired {
            proxy,
            hint: "it refused the user and password of the proxy URL",
        }),
        407 => Err(TunnelError::AuthenticationRequired {
            proxy,
            hint: "put user:password in the proxy URL (http://user:password@host:port)",
        }),
        403 => Err(TunnelError::Forbidden { proxy, target }),
        status => Err(TunnelError::Refused {
            proxy,
            target,
            status,
        }),
    }
}

/// The reply head up to and including the empty line.
async fn read_head<S: AsyncRead + Unpin>(stream: &mut S) -> std::io::Result<Vec<u8>> {
    let mut head = Vec::with_capacity(256);
    while !head.ends_with(b"\r\n\r\n") {
        if head.len() >= MAX_REPLY_BYTES {
            return Err(std::io::Error::other("the reply head is too long"));
        }
        let byte = stream.read_u8().await.map_err(|err| match err.kind() {
            std::io::ErrorKind::UnexpectedEof => {
                std::io::Error::other("the proxy closed the connection without a reply")
            }
            _ => err,
        })?;
        head.push(byte);
    }
    Ok(head)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use relay_config::Secret;

    #[test]
    fn the_request_carries_basic_credentials_only_when_given() {
        let plain = connect_request("cp.example:443", None);
        assert!(plain.starts_with("CONNECT cp.example:443 HTTP/1.1\r\nHost: cp.example:443\r\n"));
        assert!(plain.ends_with("\r\n\r\n"));
        assert!(!plain.contains("Proxy-Authorization"));
        let credentials = ProxyCredentials {
            user: "Aladdin".into(),
            password: Secret::new("open sesame".into()),
        };
        let request = connect_request("[::1]:8443", Some(&credentials));
        assert!(request.contains("Proxy-Authorization: Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ==\r\n"));
    }

    #[test]
    fn reply_status_lines() {
        assert_eq!(
            reply_status(b"HTTP/1.1 200 Connection established\r\n\r\n"),
            Ok(200)
        );
        assert_eq!(reply_status(b"HTTP/1.0 407 Auth\r\nX: y\r\n\r\n"), Ok(407));
        assert!(reply_status(b"SSH-2.0-OpenSSH\r\n\r\n").is_err());
        assert!(reply_status(b"HTTP/1.1 abc\r\n\r\n").is_err());
        assert!(reply_status(&[0xff, 0xfe]).is_err());
    }

    #[test]
    fn refusals_in_words() {
        let message = |status, credentials| {
            judge(status, "http://p:3128", "cp:443", credentials)
                .unwrap_err()
                .to_string()
        };
        assert!(message(407, false).contains("requires authentication"));
        assert!(message(407, false).contains("user:password"));
        assert!(message(407, true).contains("refused the user and password"));
        assert!(message(403, false).contains("403 Forbidden"));
        assert!(message(502, false).contains("HTTP 502"));
        assert!(judge(200, "p", "cp:443", false).is_ok());
    }

    #[actix_rt::test]
    async fn a_tunnel_over_an_in_memory_proxy() {
        let (mut relay_side, mut proxy_side) = tokio::io::duplex(4096);
        let url = ProxyUrl::parse("http://proxy.test:3128").unwrap();
        let proxy = async move {
            let mut seen = vec![0u8; 4096];
            let read = proxy_side.read(&mut seen).await.unwrap();
            proxy_side
                .write_all(b"HTTP/1.1 200 OK\r\n\r\nafter")
                .await
                .unwrap();
            String::from_utf8_lossy(&seen[..read]).into_owned()
        };
        let (opened, seen) = tokio::join!(open(&mut relay_side, &url, "cp.test:443"), proxy);
        opened.unwrap();
        assert!(
            seen.starts_with("CONNECT cp.test:443 HTTP/1.1\r\n"),
            "{seen}"
        );
        let mut rest = [0u8; 5];
        relay_side.read_exact(&mut rest).await.unwrap();
        assert_eq!(&rest, b"after");
    }
}
