//! `controlPlane.proxy`: the egress proxy setting, and the proxy URL rule it shares with the
//! `HTTPS_PROXY` / `HTTP_PROXY` / `ALL_PROXY` environment variables. Parsed by hand: a proxy
//! URL is a scheme, optional credentials and an authority, nothing more. Problems never echo
//! the URL, which may hold a password.

use std::fmt;
use std::path::PathBuf;

use serde::de::{self, Deserializer, MapAccess, Visitor};
use serde::Deserialize;

use crate::secret::Secret;
use crate::ws_url::AuthorityError;

/// `controlPlane.proxy`: `none`, or the proxy to use whatever the environment says.
#[derive(Debug, Clone, PartialEq)]
pub enum ProxySetting {
    /// `none`: connect directly, ignoring the proxy environment variables.
    Disabled,
    /// `{url, caFile?}`: tunnel through this proxy.
    Server(ProxyServer),
}

/// `controlPlane.proxy` as a mapping.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ProxyServer {
    /// `url`: `http://[user:password@]host[:port]` (or `https://` for TLS to the proxy).
    /// Required; redacted in output because it may hold credentials.
    pub url: Secret,
    /// `caFile`: PEM bundle of CAs trusted for an `https://` proxy's certificate, beside the
    /// public roots. Default: none.
    #[serde(default)]
    pub ca_file: Option<PathBuf>,
}

impl<'de> Deserialize<'de> for ProxySetting {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(ProxySettingVisitor)
    }
}

struct ProxySettingVisitor;

impl<'de> Visitor<'de> for ProxySettingVisitor {
    type Value = ProxySetting;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("`none` or a mapping with `url` (and optionally `caFile`)")
    }

    fn visit_str<E: de::Error>(self, value: &str) -> Result<ProxySetting, E> {
        match value {
            "none" => Ok(ProxySetting::Disabled),
            _ => Err(E::invalid_value(de::Unexpected::Other("a string"), &self)),
        }
    }

    fn visit_map<M: MapAccess<'de>>(self, map: M) -> Result<ProxySetting, M::Error> {
        let server = ProxyServer::deserialize(de::value::MapAccessDeserializer::new(map))?;
        Ok(ProxySetting::Server(server))
    }
}

/// A parsed proxy URL.
#[derive(Clone, PartialEq)]
pub struct ProxyUrl {
    /// `https://`: the relay speaks TLS to the proxy itself.
    pub tls: bool,
    /// Host name or IP address (IPv6 without brackets).
    pub host: String,
    pub port: u16,
    pub credentials: Option<ProxyCredentials>,
}

/// Basic proxy credentials from the URL's userinfo, percent-decoded (the password prints redacted).
#[derive(Debug, Clone, PartialEq)]
pub struct ProxyCredentials {
    pub user: String,
    pub password: Secret,
}

/// What is wrong with a proxy URL, worded to follow the setting's name. Never echoes the URL.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProxyUrlError {
    #[error("is empty")]
    Empty,
    #[error("must not contain whitespace")]
    Whitespace,
    /// `scheme` is at most 16 characters of what came before `://`.
    #[error(
        "unsupported proxy scheme \"{scheme}\": only http:// and https:// proxies are supported"
    )]
    UnsupportedScheme { scheme: String },
    #[error("must not have a path, query or fragment")]
    HasPath,
    #[error("has an invalid %-escape in its credentials")]
    InvalidEscape,
    #[error("has credentials without a user name")]
    NoUserName,
    #[error(transparent)]
    Authority(#[from] AuthorityError),
}

impl ProxyUrl {
    /// Parses `[http://|https://][user[:password]@]host[:port][/]`; no scheme means `http://`.
    pub fn parse(text: &str) -> Result<ProxyUrl, ProxyUrlError> {
        let text = text.trim();
        if text.is_empty() {
            return Err(ProxyUrlError::Empty);
        }
        if text.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(ProxyUrlError::Whitespace);
        }
        let (tls, rest) = split_scheme(text)?;
        let rest = rest.strip_suffix('/').unwrap_or(rest);
        if rest.contains(['/', '?', '#']) {
            return Err(ProxyUrlError::HasPath);
        }
        let (credentials, authority) = match rest.rsplit_once('@') {
            Some((userinfo, authority)) => (Some(parse_credentials(userinfo)?), authority),
            None => (None, rest),
        };
        let (host, port) = split_host_port(authority, if tls { 443 } else { 80 })?;
        Ok(ProxyUrl {
            tls,
            host,
            port,
            credentials,
        })
    }

    /// `host:port`, with brackets around an IPv6 address.
    pub fn authority(&self) -> String {
        if self.host.contains(':') {
            format!("[{}]:{}", self.host, self.port)
        } else {
            format!("{}:{}", self.host, self.port)
        }
    }

    /// The URL without credentials, fit for logs.
    pub fn redacted(&self) -> String {
        let scheme = if self.tls { "https" } else { "http" };
        format!("{scheme}://{}", self.authority())
    }
}

impl fmt::Debug for ProxyUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let auth = if self.credentials.is_some() {
            " (with credentials)"
        } else {
            ""
        };
        write!(f, "{}{auth}", self.redacted())
    }
}

fn split_scheme(text: &str) -> Result<(bool, &str), ProxyUrlError> {
    let Some((scheme, rest)) = text.split_once("://") else {
        return Ok((false, text));
    };
    match scheme.to_ascii_lowercase().as_str() {
        "http" => Ok((false, rest)),
        "https" => Ok((true, rest)),
        _ => Err(ProxyUrlError::UnsupportedScheme {
            scheme: scheme.chars().take(16).collect(),
        }),
    }
}

fn parse_credentials(userinfo: &str) -> Result<ProxyCredentials, ProxyUrlError> {
    let (user, password) = userinfo.split_once(':').unwrap_or((userinfo, ""));
    let decode = |part: &str| percent_decode(part).ok_or(ProxyUrlError::InvalidEscape);
    let user = decode(user)?;
    if user.is_empty() {
        return Err(ProxyUrlError::NoUserName);
    }
    Ok(ProxyCredentials {
        user,
        password: Secret::new(decode(password)?),
    })
}

/// `%XX` escapes decoded; `None` if one is malformed or the result is not UTF-8.
fn percent_decode(text: &str) -> Option<String> {
    let bytes = text.as_bytes();
    let mut decoded = Vec::with_capacity(bytes.len());
    let mut index = 0;
    while index < bytes.len() {
        if bytes[index] == b'%' {
            let hex = text.get(index + 1..index + 3)?;
            decoded.push(u8::from_str_radix(hex, 16).ok()?);
            index += 3;
        } else {
            decoded.push(bytes[index]);
            index += 1;
        }
    }
    String::from_utf8(decoded).ok()
}

/// The host (lower case) and port of the proxy's authority, the scheme's port by default.
fn split_host_port(authority: &str, default_port: u16) -> Result<(String, u16), ProxyUrlError> {
    let (host, port) = crate::ws_url::split_host_port(authority)?;
    Ok((host.to_ascii_lowercase(), port.unwrap_or(default_port)))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn parses_scheme_credentials_host_and_port() {
        let url = ProxyUrl::parse("http://alice:p%40ss%3Aw@Proxy.Example:3128/").unwrap();
        assert!(!url.tls);
        assert_eq!((url.host.as_str(), url.port), ("proxy.example", 3128));
        let credentials = url.credentials.clone().unwrap();
        assert_eq!(credentials.user, "alice");
        assert_eq!(credentials.password.expose(), "p@ss:w");
        assert_eq!(url.redacted(), "http://proxy.example:3128");
        assert!(!format!("{url:?}").contains("p@ss"));
        let bare = ProxyUrl::parse("10.0.0.1:8080").unwrap();
        assert_eq!((bare.tls, bare.port, bare.credentials), (false, 8080, None));
        let tls = ProxyUrl::parse("HTTPS://[::1]").unwrap();
        assert_eq!((tls.tls, tls.host.as_str(), tls.port), (true, "::1", 443));
        assert_eq!(tls.authority(), "[::1]:443");
        assert_eq!(ProxyUrl::parse("http://proxy").unwrap().port, 80);
    }

    #[test]
    fn rejects_bad_urls_without_echoing_them() {
        let problem = |text| ProxyUrl::parse(text).unwrap_err().to_string();
        assert!(problem("socks5://u:secret@h:1080").contains("unsupported proxy scheme \"socks5\""));
        assert!(!problem("socks5://u:secret@h:1080").contains("secret"));
        assert!(problem("").contains("is empty"));
        assert!(problem("http://h:0").contains("invalid port"));
        assert!(problem("http://h:99999").contains("invalid port"));
        assert!(problem("http://h/path").contains("path"));
        assert!(problem("http://u:%zz@h").contains("%-escape"));
        assert!(problem("http://:pw@h").contains("without a user name"));
        assert!(problem("http://@h").contains("without a user name"));
        assert!(problem("http://[::1").contains("unclosed"));
        assert!(problem("http://").contains("no host"));
        assert!(problem("http://h x").contains("whitespace"));
    }

    #[test]
    fn the_setting_is_none_or_a_mapping() {
        let disabled: ProxySetting = serde_norway::from_str("none").unwrap();
        assert_eq!(disabled, ProxySetting::Disabled);
        let server: ProxySetting =
            serde_norway::from_str("{url: 'http://p:3128', caFile: /ca.pem}").unwrap();
        let ProxySetting::Server(server) = server else {
            panic!("not a server")
        };
        assert_eq!(server.url.expose(), "http://p:3128");
        assert_eq!(server.ca_file, Some(PathBuf::from("/ca.pem")));
        let word = serde_norway::from_str::<ProxySetting>("off").unwrap_err();
        assert!(word.to_string().contains("`none` or a mapping"), "{word}");
        let unknown = serde_norway::from_str::<ProxySetting>("{url: x, port: 1}").unwrap_err();
        assert!(unknown.to_string().contains("unknown field"), "{unknown}");
    }
}
