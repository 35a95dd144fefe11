//! Which proxy, if any, the control-plane connection goes through: `controlPlane.proxy` when set,
//! else `HTTPS_PROXY` (for `wss://`) or `HTTP_PROXY` (for `ws://`), then `ALL_PROXY`, each also
//! in lower case, unless `NO_PROXY` names the control plane's host.

use relay_config::{ControlPlane as ControlPlaneConfig, ProxySetting, ProxyUrl, ProxyUrlError};
use std::net::IpAddr;
use std::path::PathBuf;

/// A proxy setting whose URL is unusable: the setting's name and what is wrong, never the URL.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{setting}: {problem}")]
pub struct UnusableProxy {
    /// `controlPlane.proxy.url` or the environment variable's name.
    pub setting: &'static str,
    #[source]
    pub problem: ProxyUrlError,
}

/// How the control-plane connection leaves the relay.
#[derive(Debug, Clone, PartialEq)]
pub enum Route {
    /// Straight to the control plane; `why` says why no proxy is used, when one could have been.
    Direct { why: Option<String> },
    /// Through an HTTP CONNECT tunnel.
    Tunnel(Proxy),
}

/// The proxy to tunnel through and where its setting came from.
#[derive(Debug, Clone, PartialEq)]
pub struct Proxy {
    pub url: ProxyUrl,
    /// `controlPlane.proxy` or the environment variable's name.
    pub source: String,
    /// Extra CAs for an `https://` proxy's certificate.
    pub ca_file: Option<PathBuf>,
}

impl Route {
    /// For logs and `relay check`: the proxy without credentials, or why there is none.
    pub fn describe(&self) -> String {
        match self {
            Route::Direct { why: None } => "none".to_owned(),
            Route::Direct { why: Some(why) } => format!("none ({why})"),
            Route::Tunnel(proxy) => format!("{} (from {})", proxy.url.redacted(), proxy.source),
        }
    }
}

/// The route for `plane`, reading proxy variables through `env`. An error names the setting
/// whose URL is unusable and never echoes the URL.
pub fn choose(
    plane: &ControlPlaneConfig,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Route, UnusableProxy> {
    match &plane.proxy {
        Some(ProxySetting::Disabled) => Ok(Route::Direct {
            why: Some("controlPlane.proxy: none".to_owned()),
        }),
        Some(ProxySetting::Server(server)) => {
            let url = ProxyUrl::parse(server.url.expose()).map_err(|problem| UnusableProxy {
                setting: "controlPlane.proxy.url",
                problem,
            })?;
            Ok(Route::Tunnel(Proxy {
                url,
                source: "controlPlane.proxy".to_owned(),
                ca_file: server.ca_file.clone(),
            }))
        }
        None => from_environment(&plane.url, env),
    }
}

fn from_environment(
    control_plane_url: &str,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Route, UnusableProxy> {
    let (secure, host, port) = target(control_plane_url);
    let names: [&str; 4] = if secure {
        ["https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY"]
    } else {
        ["http_proxy", "HTTP_PROXY", "all_proxy", "ALL_PROXY"]
    };
    let set = |name: &&str| env(name).filter(|value| !value.trim().is_empty());
    let Some((name, value)) = names
        .iter()
        .find_map(|name| set(name).map(|value| (*name, value)))
    else {
        return Ok(Route::Direct { why: None });
    };
    let no_proxy = ["no_proxy", "NO_PROXY"].iter().find_map(set);
    if let Some(list) = no_proxy {
        if no_proxy_matches(&list, &host, port) {
            return Ok(Route::Direct {
                why: Some(format!("NO_PROXY matches {host}")),
            });
        }
    }
    let url = ProxyUrl::parse(&value).map_err(|problem| UnusableProxy {
        setting: name,
        problem,
    })?;
    Ok(Route::Tunnel(Proxy {
        url,
        source: name.to_owned(),
        ca_file: None,
    }))
}

/// Whether the control-plane URL is `wss://`, and its host (lower case, no brackets) and port.
fn target(url: &str) -> (bool, String, u16) {
    let (scheme, rest) = url.split_once("://").unwrap_or(("wss", url));
    let secure = !scheme.eq_ignore_ascii_case("ws");
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    let (host, port) = split_host_port(authority);
    let port = port.unwrap_or(if secure { 443 } else { 80 });
    (secure, host.to_ascii_lowercase(), port)
}

/// `host[:port]` or `[v6][:port]`; a bare IPv6 address has no port.
fn split_host_port(text: &str) -> (&str, Option<u16>) {
    if let Some(bracketed) = text.strip_prefix('[') {
        let (host, after) = bracketed.split_once(']').unwrap_or((bracketed, ""));
        return (host, after.strip_prefix(':').and_then(|p| p.parse().ok()));
    }
    match text.split_once(':') {
        Some((host, port)) if !port.contains(':') => (host, port.parse().ok()),
        _ => (text, None),
    }
}

/// Whether a `NO_PROXY` list names `host`: `*`, the host itself, a domain it is under (`example.com`,
/// `.example.com` or `*.example.com`), its IP address or a CIDR range holding it. An entry with a
/// port (`host:8443`) matches that port only.
pub fn no_proxy_matches(list: &str, host: &str, port: u16) -> bool {
    let host = host.trim_end_matches('.').to_ascii_lowercase();
    let host_ip = host.parse::<IpAddr>().ok();
    list.split([',', ' ', '\t'])
        .map(str::trim)
        .filter(|entry| !entry.is_empty())
        .any(|entry| entry_matches(&entry.to_ascii_lowercase(), &host, host_ip, port))
}

fn entry_matches(entry: &str, host: &str, host_ip: Option<IpAddr>, port: u16) -> bool {
    if entry == "*" {
        return true;
    }
    if let Some((network, bits)) = entry.split_once('/') {
        return match (host_ip, network.parse::<IpAddr>(), bits.parse::<u8>()) {
            (Some(ip), Ok(network), Ok(bits)) => in_cidr(ip, network, bits),
            _ => false,
        };
    }
    let (name, entry_port) = split_host_port(entry);
    if entry_port.is_some_and(|wanted| wanted != port) {
        return false;
    }
    if let Ok(ip) = name.parse::<IpAddr>() {
        return host_ip == Some(ip);
    }
    if host_ip.is_some() {
        // A name never matches an address: `0.1` must not catch `10.0.0.1`.
        return false;
    }
    let domain = name.trim_start_matches("*.").trim_start_matches('.');
    let domain = domain.trim_end_matches('.');
    !domain.is_empty()
        && (host == domain
            || host
                .strip_suffix(domain)
                .is_some_and(|rest| rest.ends_with('.')))
}

fn in_cidr(ip: IpAddr, network: IpAddr, bits: u8) -> bool {
    match (ip, network) {
        (IpAddr::V4(ip), IpAddr::V4(network)) if bits <= 32 => {
            let mask = u32::MAX.checked_shl(32 - u32::from(bits)).unwrap_or(0);
            u32::from(ip) & mask == u32::from(network) & mask
        }
        (IpAddr::V6(ip), IpAddr::V6(network)) if bits <= 128 => {
            let mask = u128::MAX.checked_shl(128 - u32::from(bits)).unwrap_or(0);
            u128::from(ip) & mask == u128::from(network) & mask
        }
        _ => false,
    }
}

#[cfg(test)]
#[path = "proxy_tests.rs"]
mod tests;
