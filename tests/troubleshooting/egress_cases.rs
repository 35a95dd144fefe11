//! Troubleshooting cases of the control-plane connection's TLS and egress proxy: a private CA
//! without `caFile`, a certificate for another host, a plain-HTTP server, and proxies that want
//! credentials, refuse the destination, cannot be reached or never answer.

use super::{free_port, plain, relay_config, Case, Check, DevPlane, Scene, Setup};
use crate::connect_proxy::{ConnectProxy, Mode};
use crate::private_ca::PrivateCa;

/// A `wss://` development control plane with a certificate for `names` from a private CA; with
/// `trusted`, the relay gets the CA in `controlPlane.caFile`.
fn private_ca_plane(names: &[&str], trusted: bool) -> Setup {
    let ca = PrivateCa::new();
    let plane = DevPlane::start_tls(&ca.server_cert(names));
    let ca_file = match trusted {
        true => format!("  caFile: {}\n", ca.ca_file.display()),
        false => String::new(),
    };
    let port = plane.port;
    let config = relay_config(port, &ca_file).replace(
        &format!("url: ws://127.0.0.1:{port}/"),
        &format!("url: wss://127.0.0.1:{port}/"),
    );
    let mut setup = Setup::config(config);
    setup.keep.push(Box::new(plane));
    setup.keep.push(Box::new(ca));
    setup
}

/// The scene's control plane behind a proxy in `mode`, named by `HTTP_PROXY`.
fn behind_proxy(scene: &Scene, mode: Mode) -> Setup {
    let proxy = ConnectProxy::start(mode);
    let mut setup = Setup::config(plain(scene)).env("HTTP_PROXY", proxy.url(None));
    setup.keep.push(Box::new(proxy));
    setup
}

/// The scene's control plane behind an `https://` proxy whose private CA the relay is not given.
fn behind_untrusted_tls_proxy(scene: &Scene) -> Setup {
    let ca = PrivateCa::new();
    let proxy = ConnectProxy::start_tls(Mode::Open, &ca.server_cert(&["127.0.0.1"]));
    let extra = format!("  proxy:\n    url: {}\n", proxy.url(None));
    let mut setup = Setup::config(relay_config(scene.plane.port, &extra));
    setup.keep.push(Box::new(proxy));
    setup.keep.push(Box::new(ca));
    setup
}

pub(super) const CASES: &[Case] = &[
    Case {
        name: "an https:// proxy with a private CA and no proxy caFile",
        msg: "Cannot connect to control plane",
        level: "warn",
        says: "set controlPlane.proxy.caFile to the PEM bundle of its CA",
        setup: behind_untrusted_tls_proxy,
        poke: super::nothing,
        check: Check::Connect,
        reason_field: "error",
    },
    Case {
        name: "a control plane with a private CA and no caFile",
        msg: "Cannot connect to control plane",
        level: "warn",
        says: "set controlPlane.caFile to the PEM bundle",
        setup: |_| private_ca_plane(&["127.0.0.1"], false),
        poke: super::nothing,
        check: Check::Connect,
        reason_field: "error",
    },
    Case {
        name: "a certificate for another host name",
        msg: "Cannot connect to control plane",
        level: "warn",
        says: "certificate is not valid for 127.0.0.1",
        setup: |_| private_ca_plane(&["cp.other.example"], true),
        poke: super::nothing,
        check: Check::Connect,
        reason_field: "error",
    },
    Case {
        name: "wss:// to a plain-HTTP server",
        msg: "Cannot connect to control plane",
        level: "warn",
        says: "the server did not answer with TLS",
        setup: |scene| {
            let port = scene.plane.port;
            Setup::config(plain(scene).replace(
                &format!("url: ws://127.0.0.1:{port}/"),
                &format!("url: wss://127.0.0.1:{port}/"),
            ))
        },
        poke: super::nothing,
        check: Check::Connect,
        reason_field: "error",
    },
    Case {
        name: "a proxy that wants credentials",
        msg: "Cannot connect to control plane",
        level: "warn",
        says: "requires authentication (HTTP 407 Proxy Authentication Required)",
        setup: |scene| behind_proxy(scene, Mode::Basic("relay:secret")),
        poke: super::nothing,
        check: Check::Connect,
        reason_field: "error",
    },
    Case {
        name: "a proxy that refuses the destination",
        msg: "Cannot connect to control plane",
        level: "warn",
        says: "(HTTP 403 Forbidden): its rules do not allow this destination",
        setup: |scene| {
            let mut setup = behind_proxy(scene, Mode::Open);
            // The test proxy tunnels to loopback only; nothing is sent to this name.
            setup.config = setup
                .config
                .replace(
                    &format!("ws://127.0.0.1:{}/", scene.plane.port),
                    "ws://cp.example.invalid:443/",
                )
                .replace("  tenantId:", "  allowInsecure: true\n  tenantId:");
            setup
        },
        poke: super::nothing,
        check: Check::Connect,
        reason_field: "error",
    },
    Case {
        name: "an unreachable proxy",
        msg: "Cannot connect to control plane",
        level: "warn",
        says: "cannot reach the proxy",
        setup: |scene| {
            let url = format!("http://127.0.0.1:{}", free_port());
            Setup::config(plain(scene)).env("HTTP_PROXY", url)
        },
        poke: super::nothing,
        check: Check::Connect,
        reason_field: "error",
    },
    Case {
        name: "a proxy that never answers CONNECT",
        msg: "Cannot connect to control plane",
        level: "warn",
        says: "did not answer the CONNECT request within 10 s",
        setup: |scene| behind_proxy(scene, Mode::Silent),
        poke: super::nothing,
        check: Check::Connect,
        reason_field: "error",
    },
];
