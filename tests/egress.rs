//! The control-plane connection over `wss://` with a private CA, and through an HTTP CONNECT
//! proxy: the environment variables, `NO_PROXY`, `controlPlane.proxy`, Basic credentials, and
//! TLS to the control plane's host inside the tunnel. Everything runs on 127.0.0.1.

use crate::connect_proxy::{ConnectProxy, Mode, Tunnel};
use crate::private_ca::PrivateCa;
use crate::support::{relay_config, DevPlane, Relay, PROXY_VARIABLES, TOKEN};
use relay_actors::log_event::LogEvent;
use std::process::Command;
use std::time::Duration;

const WAIT: Duration = Duration::from_secs(30);
const PROXY_PASSWORD: &str = "pr0xy-pa55-9d1c";

/// A relay configuration for `wss://HOST:PORT`; `extra` goes under `controlPlane`.
fn wss_config(host: &str, port: u16, extra: &str) -> String {
    relay_config(port, extra).replace(
        &format!("url: ws://127.0.0.1:{port}/"),
        &format!("url: wss://{host}:{port}/"),
    )
}

fn ca_file(ca: &PrivateCa) -> String {
    format!("  caFile: {}\n", ca.ca_file.display())
}

fn start(config: &str, env: &[(&str, String)]) -> Relay {
    Relay::start_env(config, TOKEN, env, true)
}

fn wait_connected(relay: &Relay) -> serde_json::Value {
    relay
        .process
        .stdout
        .wait_for_msg(LogEvent::ConnectedToControlPlane.as_str(), WAIT)
        .unwrap_or_else(|| panic!("not connected:\n{}", relay.process.output()))
}

/// The first `Cannot connect to control plane` error that says `words`.
fn wait_refused(relay: &Relay, words: &str) -> String {
    relay
        .process
        .stdout
        .wait_for(WAIT, |line| {
            line.contains("Cannot connect to control plane") && line.contains(words)
        })
        .unwrap_or_else(|| panic!("no refusal saying {words:?}:\n{}", relay.process.output()))
}

/// What `relay check --connect` prints for this relay's configuration and `env`.
fn check_connect(relay: &Relay, env: &[(&str, String)]) -> String {
    let mut command = Command::new(env!("CARGO_BIN_EXE_relay"));
    command
        .args(["check", "--connect", "--config"])
        .arg(relay.dir().join("relay-config.yaml"))
        .env("RELAY_TOKEN", TOKEN)
        .env("RELAY_AUDIT_SPOOL", relay.dir().join("check-spool.jsonl"))
        .env("RELAY_STATUS_FILE", relay.dir().join("check-status.json"));
    for name in PROXY_VARIABLES {
        command.env_remove(name);
    }
    command.envs(env.iter().map(|(key, value)| (key, value)));
    let output = command.output().unwrap();
    format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

#[test]
fn wss_with_a_private_ca_connects_only_with_its_ca_file() {
    let ca = PrivateCa::new();
    let plane = DevPlane::start_tls(&ca.server_cert(&["127.0.0.1", "localhost"]));
    let trusted = start(&wss_config("127.0.0.1", plane.port, &ca_file(&ca)), &[]);
    assert_eq!(wait_connected(&trusted)["proxy"], "none");
    let printed = check_connect(&trusted, &[]);
    assert!(printed.contains(": proxy none"), "{printed}");
    assert!(
        printed.contains(&format!(
            "wss://127.0.0.1:{}/v1/relay/connect: ok",
            plane.port
        )),
        "{printed}"
    );

    let untrusted = start(&wss_config("localhost", plane.port, ""), &[]);
    let line = wait_refused(&untrusted, "controlPlane.caFile");
    assert!(line.contains("UnknownIssuer"), "{line}");
    assert_eq!(
        untrusted
            .process
            .stdout
            .count_msg(LogEvent::ConnectedToControlPlane.as_str()),
        0
    );
}

#[test]
fn a_certificate_for_another_host_is_refused_by_name() {
    let ca = PrivateCa::new();
    let plane = DevPlane::start_tls(&ca.server_cert(&["cp.other.example"]));
    let relay = start(&wss_config("127.0.0.1", plane.port, &ca_file(&ca)), &[]);
    let line = wait_refused(&relay, "not valid for 127.0.0.1");
    assert!(line.contains("cp.other.example"), "{line}");
    assert_eq!(
        relay
            .process
            .stdout
            .count_msg(LogEvent::ConnectedToControlPlane.as_str()),
        0
    );
}

#[test]
fn a_plain_http_server_is_reported_as_not_tls() {
    let plane = DevPlane::start();
    let relay = start(&wss_config("127.0.0.1", plane.port, ""), &[]);
    let line = wait_refused(&relay, "the server did not answer with TLS");
    assert!(!line.contains("corrupt message"), "{line}");
}

#[test]
fn wss_through_an_authenticating_proxy_checks_the_control_plane_certificate() {
    let ca = PrivateCa::new();
    // The certificate names localhost only: TLS inside the tunnel is checked against the
    // control plane's host, not the proxy's address (127.0.0.1).
    let plane = DevPlane::start_tls(&ca.server_cert(&["localhost"]));
    let proxy = ConnectProxy::start(Mode::Basic("relay:pr0xy-pa55-9d1c"));
    let userinfo = format!("relay:{PROXY_PASSWORD}");
    let env = [("HTTPS_PROXY", proxy.url(Some(&userinfo)))];
    let relay = start(&wss_config("localhost", plane.port, &ca_file(&ca)), &env);
    let connected = wait_connected(&relay);
    let expected = format!("http://127.0.0.1:{} (from HTTPS_PROXY)", proxy.port);
    assert_eq!(connected["proxy"], expected.as_str());
    let tunnels = proxy.tunnels();
    let target = format!("localhost:{}", plane.port);
    assert!(
        tunnels
            .iter()
            .any(|t| t.target == target && t.status == 200),
        "{tunnels:?}"
    );
    let printed = check_connect(&relay, &env);
    assert!(printed.contains(&format!("proxy {expected}")), "{printed}");
    assert!(printed.contains(": ok"), "{printed}");
    let all = format!("{}{printed}", relay.process.output());
    assert!(
        !all.contains(PROXY_PASSWORD),
        "the proxy password was printed:\n{all}"
    );
}

#[test]
fn a_proxy_refuses_missing_or_wrong_credentials_with_407() {
    let plane = DevPlane::start();
    let proxy = ConnectProxy::start(Mode::Basic("relay:right"));
    let config = relay_config(plane.port, "");
    let missing = start(&config, &[("HTTP_PROXY", proxy.url(None))]);
    let line = wait_refused(&missing, "requires authentication (HTTP 407");
    assert!(line.contains("user:password"), "{line}");
    let wrong = start(&config, &[("http_proxy", proxy.url(Some("relay:wrong")))]);
    wait_refused(&wrong, "refused the user and password");
    let statuses: Vec<(bool, u16)> = proxy
        .tunnels()
        .iter()
        .map(|t| (t.authorization.is_some(), t.status))
        .collect();
    assert!(statuses.contains(&(false, 407)), "{statuses:?}");
    assert!(statuses.contains(&(true, 407)), "{statuses:?}");
    assert!(
        !statuses.iter().any(|(_, status)| *status == 200),
        "{statuses:?}"
    );
    assert_eq!(
        missing
            .process
            .stdout
            .count_msg(LogEvent::ConnectedToControlPlane.as_str()),
        0
    );
    assert!(!wrong.process.output().contains("relay:wrong"));
}

#[test]
fn no_proxy_and_proxy_none_bypass_the_proxy() {
    let plane = DevPlane::start();
    let proxy = ConnectProxy::start(Mode::Open);
    let config = relay_config(plane.port, "");
    let bypassed = start(
        &config,
        &[
            ("HTTP_PROXY", proxy.url(None)),
            ("NO_PROXY", "example.com,127.0.0.0/8".into()),
        ],
    );
    assert_eq!(
        wait_connected(&bypassed)["proxy"],
        "none (NO_PROXY matches 127.0.0.1)"
    );
    let disabled = start(
        &relay_config(plane.port, "  proxy: none\n"),
        &[("HTTP_PROXY", proxy.url(None))],
    );
    assert_eq!(
        wait_connected(&disabled)["proxy"],
        "none (controlPlane.proxy: none)"
    );
    assert_eq!(proxy.tunnels(), Vec::<Tunnel>::new());
}

#[test]
fn the_configured_proxy_overrides_the_environment_and_takes_placeholders() {
    let plane = DevPlane::start();
    let configured = ConnectProxy::start(Mode::Basic("relay:pr0xy-pa55-9d1c"));
    let from_env = ConnectProxy::start(Mode::Open);
    let extra = format!(
        "  proxy:\n    url: http://relay:${{PROXY_PASSWORD}}@127.0.0.1:{}\n",
        configured.port
    );
    let env = [
        ("HTTP_PROXY", from_env.url(None)),
        ("PROXY_PASSWORD", PROXY_PASSWORD.to_owned()),
    ];
    let relay = start(&relay_config(plane.port, &extra), &env);
    let connected = wait_connected(&relay);
    let expected = format!(
        "http://127.0.0.1:{} (from controlPlane.proxy)",
        configured.port
    );
    assert_eq!(connected["proxy"], expected.as_str());
    let tunnels = configured.tunnels();
    assert!(
        !tunnels.is_empty() && tunnels.iter().all(|t| t.status == 200),
        "{tunnels:?}"
    );
    assert!(from_env.tunnels().is_empty());
    assert!(!relay.process.output().contains(PROXY_PASSWORD));
}

#[test]
fn wss_through_an_https_proxy_with_its_own_private_ca() {
    let plane_ca = PrivateCa::new();
    let proxy_ca = PrivateCa::new();
    let plane = DevPlane::start_tls(&plane_ca.server_cert(&["localhost"]));
    let proxy = ConnectProxy::start_tls(Mode::Open, &proxy_ca.server_cert(&["127.0.0.1"]));
    let with_proxy_ca = format!(
        "{}  proxy:\n    url: {}\n    caFile: {}\n",
        ca_file(&plane_ca),
        proxy.url(None),
        proxy_ca.ca_file.display()
    );
    let relay = start(&wss_config("localhost", plane.port, &with_proxy_ca), &[]);
    let connected = wait_connected(&relay);
    let expected = format!("https://127.0.0.1:{} (from controlPlane.proxy)", proxy.port);
    assert_eq!(connected["proxy"], expected.as_str());
    let target = format!("localhost:{}", plane.port);
    assert!(proxy
        .tunnels()
        .iter()
        .any(|t| t.target == target && t.status == 200));

    let without_proxy_ca = format!(
        "{}  proxy:\n    url: {}\n",
        ca_file(&plane_ca),
        proxy.url(None)
    );
    let refused = start(&wss_config("localhost", plane.port, &without_proxy_ca), &[]);
    let line = wait_refused(&refused, "TLS to the proxy");
    assert!(line.contains("controlPlane.proxy.caFile"), "{line}");
}

#[test]
fn an_unusable_proxy_variable_stops_the_start_without_echoing_it() {
    let plane = DevPlane::start();
    let env = [(
        "ALL_PROXY",
        "socks5://relay:hunter2-socks@127.0.0.1:1080".to_owned(),
    )];
    let mut relay = start(&relay_config(plane.port, ""), &env);
    assert_eq!(relay.process.wait_exit(WAIT), Some(64));
    let line = relay
        .process
        .stdout
        .wait_for_msg(LogEvent::CannotStartRelay.as_str(), WAIT)
        .unwrap_or_else(|| panic!("{}", relay.process.output()));
    let error = line["error"].as_str().unwrap_or_default();
    assert!(
        error.starts_with("ALL_PROXY: unsupported proxy scheme \"socks5\""),
        "{error}"
    );
    let printed = check_connect(&relay, &env);
    assert!(
        printed.contains("ALL_PROXY: unsupported proxy scheme"),
        "{printed}"
    );
    let all = format!("{}{printed}", relay.process.output());
    assert!(!all.contains("hunter2-socks"), "{all}");
}
