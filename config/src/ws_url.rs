//! The control-plane URL rule: `wss://`, or `ws://` only to a loopback host unless allowed,
//! with a host, a valid port and no credentials. Parsed by hand: the rule needs only the
//! scheme and the authority.

use std::net::{Ipv4Addr, Ipv6Addr};

/// What is wrong with the authority (`host[:port]`) of a URL. The URL is not echoed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuthorityError {
    #[error("has an unclosed \"[\" in the host")]
    UnclosedBracket,
    #[error("has text after the IPv6 host")]
    TextAfterIpv6Host,
    #[error("has no host")]
    NoHost,
    #[error("has an invalid port (must be 1 to 65535)")]
    InvalidPort,
}

/// What is wrong with the control-plane URL, if anything. The URL is not echoed.
pub(crate) fn url_problem(url: &str, allow_insecure: bool) -> Option<String> {
    let (secure, rest) = match (strip_scheme(url, "wss://"), strip_scheme(url, "ws://")) {
        (Some(rest), _) => (true, rest),
        (None, Some(rest)) => (false, rest),
        (None, None) => return Some("must start with wss:// (or ws:// to a loopback host)".into()),
    };
    if url.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Some("must not contain whitespace".into());
    }
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    if authority.contains('@') {
        return Some("must not contain credentials; the token goes in controlPlane.token".into());
    }
    let host = match split_host_port(authority) {
        Ok((host, _)) => host,
        Err(problem) => return Some(problem.to_string()),
    };
    if !secure && !allow_insecure && !is_loopback(host) {
        return Some(
            "ws:// (unencrypted) is only allowed to a loopback host; use wss:// \
             or set controlPlane.allowInsecure: true"
                .into(),
        );
    }
    None
}

/// `url` without `scheme`, which is matched ignoring case.
fn strip_scheme<'a>(url: &'a str, scheme: &str) -> Option<&'a str> {
    let head = url.get(..scheme.len())?;
    head.eq_ignore_ascii_case(scheme)
        .then(|| &url[scheme.len()..])
}

/// The host and port of `host[:port]` or `[ipv6][:port]` (brackets removed), the port checked.
pub(crate) fn split_host_port(authority: &str) -> Result<(&str, Option<u16>), AuthorityError> {
    let (host, port) = if let Some(bracketed) = authority.strip_prefix('[') {
        let Some((host, after)) = bracketed.split_once(']') else {
            return Err(AuthorityError::UnclosedBracket);
        };
        match after.strip_prefix(':') {
            Some(port) => (host, Some(port)),
            None if after.is_empty() => (host, None),
            None => return Err(AuthorityError::TextAfterIpv6Host),
        }
    } else {
        match authority.split_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (authority, None),
        }
    };
    if host.is_empty() {
        return Err(AuthorityError::NoHost);
    }
    let port = match port {
        None => None,
        Some(port) => match port.parse::<u16>() {
            Ok(port @ 1..) => Some(port),
            _ => return Err(AuthorityError::InvalidPort),
        },
    };
    Ok((host, port))
}

/// `localhost`, 127.0.0.0/8 or ::1 (brackets already removed).
fn is_loopback(host: &str) -> bool {
    host.eq_ignore_ascii_case("localhost")
        || host.parse::<Ipv4Addr>().is_ok_and(|ip| ip.is_loopback())
        || host.parse::<Ipv6Addr>().is_ok_and(|ip| ip.is_loopback())
}
#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn url_rules() {
        assert_eq!(
            url_problem("wss://api.causeflow.ai/v1/relay/connect", false),
            None
        );
        assert_eq!(url_problem("WSS://api.example.com:8443", false), None);
        assert_eq!(url_problem("ws://localhost:8080/x", false), None);
        assert_eq!(url_problem("ws://127.1.2.3/x", false), None);
        assert_eq!(url_problem("ws://[::1]:9000", false), None);
        assert_eq!(url_problem("ws://10.0.0.5/x", true), None);
        let insecure = url_problem("ws://10.0.0.5/x", false).unwrap_or_default();
        assert!(
            insecure.contains("only allowed to a loopback host"),
            "{insecure}"
        );
        let problem = |url| url_problem(url, false).unwrap_or_default();
        assert!(problem("https://x").contains("must start with wss://"));
        assert!(problem("wss:///path").contains("has no host"));
        assert!(problem("wss://x:0").contains("invalid port"));
        assert!(problem("wss://x:http").contains("invalid port"));
        assert!(problem("wss://u:p@x").contains("credentials"));
        assert!(problem("wss://x /y").contains("whitespace"));
        assert!(problem("wss://[::1").contains("unclosed"));
        assert!(problem("ws://localhost.evil.example").contains("loopback"));
        assert!(problem("ws://127.0.0.1.evil.example").contains("loopback"));
    }
}
