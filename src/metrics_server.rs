//! The opt-in metrics endpoint: Prometheus exposition at `GET /metrics` on `metrics.listen`, the
//! relay's only listening socket. It answers from the shared [`Metrics`] atomics on its own
//! worker thread, so a scrape never waits on, or delays, an actor that serves requests.

use actix_web::dev::{Server, ServerHandle};
use actix_web::http::{header, Method, StatusCode};
use actix_web::{web, App, HttpRequest, HttpResponse, HttpServer};
use relay_actors::metrics::Metrics;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

/// What `GET /metrics` answers with: the OpenMetrics text format prometheus-client writes.
const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// How long a client may take to send its request head; a stalled client must not hold a slot.
const MAX_REQUEST_HEADERS_WAIT: Duration = Duration::from_secs(5);

/// The endpoint could not listen on its address.
#[derive(Debug, thiserror::Error)]
#[error("cannot listen on metrics.listen {listen}: {source}")]
pub struct BindError {
    listen: SocketAddr,
    source: std::io::Error,
}

/// Binds `listen` and returns the server to spawn on the running actix system, with its handle
/// for shutdown. Binding happens here, before any actor starts, so a taken port stops the start.
pub fn bind(
    listen: SocketAddr,
    metrics: Arc<Metrics>,
) -> Result<(Server, ServerHandle), BindError> {
    let data = web::Data::from(metrics);
    let server = HttpServer::new(move || {
        App::new()
            .app_data(data.clone())
            .default_service(web::to(answer))
    })
    // One worker: scrapes are rare and cheap, and the relay's cores belong to its requests.
    .workers(1)
    .max_connections(16)
    .client_request_timeout(MAX_REQUEST_HEADERS_WAIT)
    .disable_signals()
    .shutdown_timeout(1)
    .bind(listen)
    .map_err(|source| BindError { listen, source })?
    .run();
    let handle = server.handle();
    Ok((server, handle))
}

/// `GET /metrics` renders; every other method or path is 404, so the socket offers nothing else.
async fn answer(request: HttpRequest, metrics: web::Data<Metrics>) -> HttpResponse {
    if request.method() != Method::GET || request.path() != "/metrics" {
        return HttpResponse::NotFound().finish();
    }
    match metrics.render() {
        Ok(text) => HttpResponse::Ok()
            .insert_header((header::CONTENT_TYPE, CONTENT_TYPE))
            .body(text),
        Err(_) => HttpResponse::new(StatusCode::INTERNAL_SERVER_ERROR),
    }
}
