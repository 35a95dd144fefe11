//! The development control plane: the relay-facing WebSocket endpoint and a small HTTP API for people,
//! tests and benchmarks. It is the reference for platform teams implementing protocol v1. With
//! `--tls-cert` and `--tls-key` it serves `wss://` and `https://` instead of `ws://` and `http://`.
//!
//! - `GET /v1/relay/connect`: WebSocket for relays (bearer relay token + `X-Tenant-Id`).
//! - `GET /v1/relay/status`: the status document (bearer API key).
//! - `POST /v1/relay/operations`: forwards a `request` and answers with the relay's reply (bearer API key).
//! - `GET /v1/relay/audit`: the audit records received, each once, in order (bearer API key).
//!
//! One relay per tenant serves; relays that announce the `standby` capability stand by while it
//! does and the oldest is promoted when it goes (see [`roster`]).

pub mod audit_store;
pub mod http;
pub mod hub;
pub mod relay_socket;
pub mod roster;
pub mod routes;
pub mod tls;

pub use hub::{Credentials, Hub};
pub use routes::configure;

/// For `HttpServer::on_connect`: turns Nagle's algorithm off on each accepted socket, so small
/// messages (requests, audit acknowledgements) go out at once instead of waiting for a delayed ACK.
pub fn disable_nagle(connection: &dyn std::any::Any, _: &mut actix_web::dev::Extensions) {
    if let Some(tcp) = connection.downcast_ref::<actix_web::rt::net::TcpStream>() {
        // Best effort: a socket that refuses the option still works, only slower.
        let _ = tcp.set_nodelay(true);
    }
}
