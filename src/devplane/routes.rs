//! HTTP and WebSocket routes of the development control plane.

use super::http::{bearer, error_body, secret_eq, MAX_RELAY_MESSAGE};
use super::hub::{Forward, ForwardError, Hub};
use super::relay_socket;
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use serde::Deserialize;
use serde_json::{json, Value};
use std::sync::Arc;
use std::time::Duration;

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
        .route("/v1/relay/connect", web::get().to(relay_socket::connect))
        .route("/v1/relay/status", web::get().to(status))
        .route("/v1/relay/audit", web::get().to(audit))
        .route("/v1/relay/operations", web::post().to(operations))
        .route("/v1/relay/operations/{id}/cancel", web::post().to(cancel));
}

fn api_key_ok(request: &HttpRequest, hub: &Hub) -> bool {
    secret_eq(bearer(request), &hub.credentials.api_key)
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
    let mut reroutes = 0;
    loop {
        let forward = match hub.begin_request(body.request_id.clone()) {
            Ok(forward) => forward,
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
        let connection_id = forward.connection_id;
        let reply = match forward_once(&hub, &body, forward).await {
            Ok(reply) => reply,
            Err(response) => return response,
        };
        // A relay that drains or stands by ran nothing: the request goes to the relay that
        // takes over, so a handover loses no request.
        if refused_unrun(&reply) && reroutes < MAX_REROUTES && hub.has_successor(connection_id) {
            reroutes += 1;
            wait_for_another_active(&hub, connection_id).await;
            continue;
        }
        return HttpResponse::Ok().json(reply);
    }
}

/// How often one operation may be sent again after a relay refused it unrun.
const MAX_REROUTES: u32 = 3;

/// How long a rerouted operation waits for a standby's promotion.
const REROUTE_WAIT: Duration = Duration::from_secs(10);

/// Whether `reply` is an `error` that says the relay ran nothing because another should.
fn refused_unrun(reply: &Value) -> bool {
    reply.get("type").and_then(Value::as_str) == Some("error")
        && matches!(
            reply.get("code").and_then(Value::as_str),
            Some("shutting_down" | "standby")
        )
}

/// Waits (at most [`REROUTE_WAIT`]) until a relay other than `connection_id` is active.
async fn wait_for_another_active(hub: &Hub, connection_id: u64) {
    let deadline = std::time::Instant::now() + REROUTE_WAIT;
    while std::time::Instant::now() < deadline {
        if hub
            .active_connection()
            .is_some_and(|active| active != connection_id)
        {
            return;
        }
        actix_web::rt::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Sends one `request` and waits for its answer; an `Err` is the HTTP answer to give at once.
async fn forward_once(
    hub: &Hub,
    body: &OperationBody,
    forward: Forward,
) -> Result<Value, HttpResponse> {
    let Forward {
        mut session,
        id,
        answer,
        ..
    } = forward;
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
        return Err(error_body(
            StatusCode::SERVICE_UNAVAILABLE,
            "relay_not_connected",
            "the relay connection closed",
        ));
    }
    match actix_web::rt::time::timeout(Duration::from_millis(timeout_ms) + ANSWER_SLACK, answer)
        .await
    {
        Ok(Ok(reply)) => Ok(reply),
        Ok(Err(_)) => Err(error_body(
            StatusCode::BAD_GATEWAY,
            "relay_disconnected",
            "the relay disconnected before answering",
        )),
        Err(_) => {
            hub.abandon_request(&id);
            Err(error_body(
                StatusCode::GATEWAY_TIMEOUT,
                "timeout",
                "the relay did not answer in time",
            ))
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
