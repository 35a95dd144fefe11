//! Tests of proxy selection and `NO_PROXY` matching.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use super::*;
use relay_config::{ProxyServer, Secret};

fn plane(url: &str, proxy: Option<ProxySetting>) -> ControlPlaneConfig {
    let fields = serde_json::json!({"url": url, "token": "t", "tenantId": "acme"});
    let mut plane: ControlPlaneConfig = serde_json::from_value(fields).unwrap();
    plane.proxy = proxy;
    plane
}

fn env_of<'a>(vars: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<String> + 'a {
    move |name| {
        vars.iter()
            .find(|(key, _)| *key == name)
            .map(|(_, value)| (*value).to_owned())
    }
}

fn tunnel_source(route: Route) -> (String, String) {
    match route {
        Route::Tunnel(proxy) => (proxy.url.redacted(), proxy.source),
        other => panic!("expected a tunnel, got {other:?}"),
    }
}

#[test]
fn wss_takes_https_proxy_and_ws_takes_http_proxy_then_all_proxy() {
    let vars = [
        ("HTTPS_PROXY", "http://secure-proxy:3128"),
        ("HTTP_PROXY", "http://plain-proxy:8080"),
        ("ALL_PROXY", "http://any-proxy:1"),
    ];
    let env = env_of(&vars);
    let secure = choose(&plane("wss://cp.example.com/x", None), &env).unwrap();
    assert_eq!(
        tunnel_source(secure),
        ("http://secure-proxy:3128".into(), "HTTPS_PROXY".into())
    );
    let plain = choose(&plane("ws://cp.example.com/x", None), &env).unwrap();
    assert_eq!(
        tunnel_source(plain),
        ("http://plain-proxy:8080".into(), "HTTP_PROXY".into())
    );
    let fallback_vars = [("all_proxy", "any-proxy:1"), ("HTTPS_PROXY", "")];
    let fallback = choose(
        &plane("wss://cp.example.com", None),
        &env_of(&fallback_vars),
    );
    assert_eq!(
        tunnel_source(fallback.unwrap()),
        ("http://any-proxy:1".into(), "all_proxy".into())
    );
}

#[test]
fn lower_case_wins_and_nothing_set_means_direct() {
    let vars = [
        ("https_proxy", "http://lower:1"),
        ("HTTPS_PROXY", "http://upper:2"),
    ];
    let route = choose(&plane("wss://cp", None), &env_of(&vars)).unwrap();
    assert_eq!(tunnel_source(route).1, "https_proxy");
    let direct = choose(&plane("wss://cp", None), &env_of(&[])).unwrap();
    assert_eq!(direct, Route::Direct { why: None });
    assert_eq!(direct.describe(), "none");
    // HTTP_PROXY is for ws:// only.
    let vars = [("HTTP_PROXY", "http://plain:1")];
    let route = choose(&plane("wss://cp", None), &env_of(&vars)).unwrap();
    assert_eq!(route, Route::Direct { why: None });
}

#[test]
fn the_configuration_overrides_the_environment() {
    let vars = [("HTTPS_PROXY", "http://env-proxy:1"), ("NO_PROXY", "*")];
    let env = env_of(&vars);
    let disabled = choose(&plane("wss://cp", Some(ProxySetting::Disabled)), &env).unwrap();
    assert_eq!(disabled.describe(), "none (controlPlane.proxy: none)");
    let server = ProxySetting::Server(ProxyServer {
        url: Secret::new("http://user:pw@configured:3128".into()),
        ca_file: None,
    });
    let route = choose(&plane("wss://cp", Some(server)), &env).unwrap();
    assert_eq!(
        route.describe(),
        "http://configured:3128 (from controlPlane.proxy)"
    );
    let Route::Tunnel(proxy) = route else {
        panic!("no tunnel")
    };
    assert_eq!(proxy.url.credentials.unwrap().password.expose(), "pw");
}

#[test]
fn no_proxy_bypasses_and_a_bad_variable_is_named_without_its_value() {
    let vars = [
        ("HTTPS_PROXY", "http://proxy:1"),
        ("no_proxy", "internal.example, .corp"),
    ];
    let env = env_of(&vars);
    let bypassed = choose(&plane("wss://cp.internal.example:8443/x", None), &env).unwrap();
    assert_eq!(
        bypassed.describe(),
        "none (NO_PROXY matches cp.internal.example)"
    );
    let proxied = choose(&plane("wss://cp.example.com", None), &env).unwrap();
    assert!(matches!(proxied, Route::Tunnel(_)));
    let bad = [("HTTPS_PROXY", "socks5://u:hunter2@p:1")];
    let problem = choose(&plane("wss://cp", None), &env_of(&bad))
        .unwrap_err()
        .to_string();
    assert!(
        problem.starts_with("HTTPS_PROXY: unsupported proxy scheme"),
        "{problem}"
    );
    assert!(!problem.contains("hunter2"), "{problem}");
}

#[test]
fn no_proxy_entries() {
    let matches = |list, host| no_proxy_matches(list, host, 443);
    assert!(matches("*", "anything.example"));
    assert!(matches("example.com", "example.com"));
    assert!(matches("example.com", "api.example.com"));
    assert!(matches(".example.com", "api.example.com"));
    assert!(matches(".example.com", "example.com"));
    assert!(matches("*.example.com", "a.b.example.com"));
    assert!(matches("EXAMPLE.com.", "Api.Example.Com."));
    assert!(!matches("example.com", "badexample.com"));
    assert!(!matches("example.com", "example.com.evil.net"));
    assert!(!matches("", "example.com"));
    assert!(!matches(",,", "example.com"));
    assert!(matches("10.0.0.0/8", "10.1.2.3"));
    assert!(!matches("10.0.0.0/8", "11.1.2.3"));
    assert!(matches("0.0.0.0/0", "192.0.2.1"));
    assert!(matches("127.0.0.1", "127.0.0.1"));
    assert!(!matches("0.1", "10.0.0.1"));
    assert!(!matches("example.com", "10.0.0.1"));
    assert!(!matches("10.0.0.0/8", "ten.example"));
    assert!(matches("::1", "::1"));
    assert!(matches("[::1]", "::1"));
    assert!(matches("fd00::/8", "fd12::1"));
    assert!(!matches("fd00::/8", "fe80::1"));
    assert!(!matches("10.0.0.0/99", "10.0.0.1"));
    assert!(matches("other.net api.example.com", "api.example.com"));
    assert!(no_proxy_matches("cp.example:8443", "cp.example", 8443));
    assert!(!no_proxy_matches("cp.example:8443", "cp.example", 443));
}

#[test]
fn targets_of_control_plane_urls() {
    assert_eq!(
        target("wss://CP.example/x"),
        (true, "cp.example".into(), 443)
    );
    assert_eq!(target("ws://cp:8080?q"), (false, "cp".into(), 8080));
    assert_eq!(target("wss://[::1]:9/x"), (true, "::1".into(), 9));
}
