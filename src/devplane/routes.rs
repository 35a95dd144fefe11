//! HTTP and WebSocket routes of the development control plane.

use super::hub::{ForwardError, Hub};
use actix_web::http::header::AUTHORIZATION;
use actix_web::http::StatusCode;
use actix_web::{rt, web, HttpRequest, HttpResponse};
use actix_ws::{AggregatedMessage, CloseCode, CloseReason};
use relay_actors::protocol::{close_code, PROBE_HEADER, TENANT_HEADER};
use serde::Deserialize;
use serde_json::{json, Value};
use std::sync::Arc;
use std::time::Duration;

/// Largest message accepted from a relay (results can be large).
const MAX_RELAY_MESSAGE: usize = 64 * 1024 * 1024;

/// Time an operation may take beyond its own timeout before the API answers 504.
const ANSWER_SLACK: Duration = Duration::from_secs(5);

/// Default operation timeout when the caller gives none.
const DEFAULT_TIMEOUT_MS: u64 = 30_000;

/// Mounts every route.
pub fn configure(config: &mut web::ServiceConfig) {
    config
        // An operation's body may be as large as a message the relay takes (actix's default
        // is 256 KiB), so the relay's own limits are what a caller meets.
        .app_data(web::PayloadConfig::new(MAX_RELAY_MESSAGE))
        .route("/v1/relay/connect", web::get().to(connect))
        .route("/v1/relay/status", web::get().to(status))
        .route("/v1/relay/audit", web::get().to(audit))
        .route("/v1/relay/operations", web::post().to(operations))
        .route("/v1/relay/operations/{id}/cancel", web::post().to(cancel));
}

fn error_body(status: StatusCode, code: &str, message: &str) -> HttpResponse {
    HttpResponse::build(status).json(json!({"error": {"code": code, "message": message}}))
}

/// Compares secrets in time independent of where they differ.
fn secret_eq(given: &str, expected: &str) -> bool {
    let (a, b) = (given.as_bytes(), expected.as_bytes());
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

fn bearer(request: &HttpRequest) -> &str {
    request
        .headers()
        .get(AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.strip_prefix("Bearer "))
        .unwrap_or_default()
}

fn api_key_ok(request: &HttpRequest, hub: &Hub) -> bool {
    secret_eq(bearer(request), &hub.credentials.api_key)
}

async fn connect(
    request: HttpRequest,
    body: web::Payload,
    hub: web::Data<Arc<Hub>>,
) -> actix_web::Result<HttpResponse> {
    let tenant = request
        .headers()
        .get(TENANT_HEADER)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    if !secret_eq(bearer(&request), &hub.credentials.relay_token)
        || tenant != hub.credentials.tenant_id
    {
        return Ok(error_body(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "invalid relay token or tenant id",
        ));
    }
    let probe = request.headers().contains_key(PROBE_HEADER);
    let (response, session, stream) = actix_ws::handle(&request, body)?;
    if probe {
        rt::spawn(async move {
            let _ = session.close(Some(CloseCode::Normal.into())).await;
        });
        return Ok(response);
    }
    let (connection_id, superseded) = hub.attach(session.clone());
    if let Some(old) = superseded {
        rt::spawn(async move {
            let reason = CloseReason {
                code: CloseCode::Other(close_code::SUPERSEDED),
                description: Some("another relay of this tenant connected".into()),
            };
            let _ = old.close(Some(reason)).await;
        });
    }
    let stream = stream
        .max_frame_size(MAX_RELAY_MESSAGE)
        .aggregate_continuations()
        .max_continuation_size(MAX_RELAY_MESSAGE);
    rt::spawn(serve_relay(
        Arc::clone(&hub),
        connection_id,
        session,
        stream,
    ));
    Ok(response)
}

async fn serve_relay(
    hub: Arc<Hub>,
    connection_id: u64,
    mut session: actix_ws::Session,
    mut stream: actix_ws::AggregatedMessageStream,
) {
    let mut close: (Option<u16>, Option<String>) = (None, Some("connection lost".into()));
    while let Some(message) = stream.recv().await {
        match message {
            Ok(AggregatedMessage::Text(text)) => {
                if let Some(reply) = hub.on_message(connection_id, &text) {
                    if session.text(reply).await.is_err() {
                        break;
                    }
                }
            }
            Ok(AggregatedMessage::Ping(payload)) => {
                if session.pong(&payload).await.is_err() {
                    break;
                }
            }
            Ok(AggregatedMessage::Close(reason)) => {
                close = (
                    reason.as_ref().map(|r| u16::from(r.code)),
                    reason.as_ref().and_then(|r| r.description.clone()),
                );
                let _ = session.clone().close(reason).await;
                break;
            }
            Ok(AggregatedMessage::Binary(_) | AggregatedMessage::Pong(_)) => {}
            Err(_) => break,
        }
    }
    hub.detach(connection_id, close.0, close.1);
}

async fn status(request: HttpRequest, hub: web::Data<Arc<Hub>>) -> HttpResponse {
    if !api_key_ok(&request, &hub) {
        return error_body(StatusCode::UNAUTHORIZED, "unauthorized", "invalid API key");
    }
    HttpResponse::Ok().json(hub.status())
}

async fn audit(request: HttpRequest, hub: web::Data<Arc<Hub>>) -> HttpResponse {
    if !api_key_ok(&request, &hub) {
        return error_body(StatusCode::UNAUTHORIZED, "unauthorized", "invalid API key");
    }
    let records = hub.audit_records();
    HttpResponse::Ok().json(serde_json::json!({"count": records.len(), "records": records}))
}

/// Body of `POST /v1/relay/operations`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct OperationBody {
    resource_id: String,
    operation: String,
    #[serde(default)]
    params: Value,
    timeout_ms: Option<u64>,
    /// Optional request id, so the caller can cancel the request while it runs.
    request_id: Option<String>,
}

async fn operations(
    request: HttpRequest,
    body: web::Bytes,
    hub: web::Data<Arc<Hub>>,
) -> HttpResponse {
    if !api_key_ok(&request, &hub) {
        return error_body(StatusCode::UNAUTHORIZED, "unauthorized", "invalid API key");
    }
    let body: OperationBody = match serde_json::from_slice(&body) {
        Ok(body) => body,
        Err(err) => return error_body(StatusCode::BAD_REQUEST, "invalid_body", &err.to_string()),
    };
    let (mut session, id, answer) = match hub.begin_request(body.request_id.clone()) {
        Ok(parts) => parts,
        Err(ForwardError::DuplicateId) => {
            return error_body(
                StatusCode::CONFLICT,
                "duplicate_request_id",
                "a request with this id is running",
            )
        }
        Err(_) => {
            return error_body(
                StatusCode::SERVICE_UNAVAILABLE,
                "relay_not_connected",
                "no relay is connected for this tenant",
            )
        }
    };
    let timeout_ms = body.timeout_ms.unwrap_or(DEFAULT_TIMEOUT_MS);
    let mut message = json!({
        "type": "request", "id": id, "resourceId": body.resource_id,
        "operation": body.operation, "params": body.params,
    });
    if let Some(timeout) = body.timeout_ms {
        message["timeoutMs"] = json!(timeout);
    }
    if session.text(message.to_string()).await.is_err() {
        hub.abandon_request(&id);
        return error_body(
            StatusCode::SERVICE_UNAVAILABLE,
            "relay_not_connected",
            "the relay connection closed",
        );
    }
    match actix_web::rt::time::timeout(Duration::from_millis(timeout_ms) + ANSWER_SLACK, answer)
        .await
    {
        Ok(Ok(reply)) => HttpResponse::Ok().json(reply),
        Ok(Err(_)) => error_body(
            StatusCode::BAD_GATEWAY,
            "relay_disconnected",
            "the relay disconnected before answering",
        ),
        Err(_) => {
            hub.abandon_request(&id);
            error_body(
                StatusCode::GATEWAY_TIMEOUT,
                "timeout",
                "the relay did not answer in time",
            )
        }
    }
}

async fn cancel(
    request: HttpRequest,
    id: web::Path<String>,
    hub: web::Data<Arc<Hub>>,
) -> HttpResponse {
    if !api_key_ok(&request, &hub) {
        return error_body(StatusCode::UNAUTHORIZED, "unauthorized", "invalid API key");
    }
    let mut session = match hub.pending_session(&id) {
        Ok(session) => session,
        Err(_) => {
            return error_body(
                StatusCode::NOT_FOUND,
                "not_pending",
                "no request with this id is waiting",
            )
        }
    };
    let message = json!({"type": "cancel", "id": id.as_str()});
    if session.text(message.to_string()).await.is_err() {
        return error_body(
            StatusCode::SERVICE_UNAVAILABLE,
            "relay_not_connected",
            "the relay connection closed",
        );
    }
    HttpResponse::Accepted().json(json!({"cancelled": id.as_str()}))
}

#[cfg(test)]
mod tests {
    use super::secret_eq;

    #[test]
    fn secret_comparison() {
        assert!(secret_eq("abc", "abc"));
        assert!(!secret_eq("abc", "abd"));
        assert!(!secret_eq("ab", "abc"));
        assert!(!secret_eq("", "abc"));
    }
}
