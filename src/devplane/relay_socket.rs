//! The relay-facing WebSocket of the development control plane: accepts a relay's session, feeds
//! its messages to the [`Hub`], carries out what the hub orders (role notices, closes), and
//! watches the session with a heartbeat so a relay that vanished without a close is noticed and a
//! standby promoted well within 15 s.

use super::http::{bearer, error_body, secret_eq, MAX_RELAY_MESSAGE};
use super::hub::{Hub, SessionOrder};
use super::roster::Order;
use actix_web::http::StatusCode;
use actix_web::{rt, web, HttpRequest, HttpResponse};
use actix_ws::{AggregatedMessage, CloseCode, CloseReason};
use relay_protocol::{PROBE_HEADER, TENANT_HEADER};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// How often the control plane pings each relay session.
pub const PING_INTERVAL: Duration = Duration::from_secs(2);

/// A session with no frame at all (pong, ping, message) for this long is taken as lost: with
/// [`PING_INTERVAL`], a vanished relay is dropped (and a standby promoted) within 8 s.
pub const PONG_DEADLINE: Duration = Duration::from_secs(6);

/// `GET /v1/relay/connect`.
pub async fn connect(
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
    let connection_id = hub.attach(session.clone());
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

/// Does what the hub ordered, in order (an `auditAck` must not overtake an earlier one). A send
/// only queues the frame, so no session waits for another.
pub async fn carry_out(orders: Vec<SessionOrder>) {
    for order in orders {
        match order {
            Order::Send { mut session, text } => {
                let _ = session.text(text).await;
            }
            Order::Close {
                session,
                code,
                reason,
            } => {
                let reason = CloseReason {
                    code: CloseCode::Other(code),
                    description: Some(reason),
                };
                let _ = session.close(Some(reason)).await;
            }
        }
    }
}

/// How a session's loop ended: the close code and reason the relay gave, if any.
type Ending = (Option<u16>, Option<String>);

async fn serve_relay(
    hub: Arc<Hub>,
    connection_id: u64,
    session: actix_ws::Session,
    mut stream: actix_ws::AggregatedMessageStream,
) {
    let mut heartbeat = rt::time::interval(PING_INTERVAL);
    let mut last_seen = Instant::now();
    let ending = loop {
        tokio::select! {
            message = stream.recv() => {
                last_seen = Instant::now();
                let Some(message) = message else {
                    break (None, Some("connection lost".into()));
                };
                if let Some(ending) = on_relay_frame(&hub, connection_id, &session, message).await {
                    break ending;
                }
            }
            _ = heartbeat.tick() => {
                if last_seen.elapsed() > PONG_DEADLINE {
                    let _ = session.clone().close(Some(CloseCode::Away.into())).await;
                    break (None, Some("no frame from the relay within the heartbeat deadline".into()));
                }
                if session.clone().ping(b"").await.is_err() {
                    break (None, Some("connection lost".into()));
                }
            }
        }
    };
    carry_out(hub.detach(connection_id, ending.0, ending.1)).await;
}

/// Handles one frame; `Some` ends the session.
async fn on_relay_frame(
    hub: &Hub,
    connection_id: u64,
    session: &actix_ws::Session,
    message: Result<AggregatedMessage, actix_ws::ProtocolError>,
) -> Option<Ending> {
    let lost = || Some((None, Some("connection lost".to_owned())));
    match message {
        Ok(AggregatedMessage::Text(text)) => {
            carry_out(hub.on_message(connection_id, &text)).await;
            None
        }
        Ok(AggregatedMessage::Ping(payload)) => match session.clone().pong(&payload).await {
            Ok(()) => None,
            Err(_) => lost(),
        },
        Ok(AggregatedMessage::Close(reason)) => {
            let ending = (
                reason.as_ref().map(|r| u16::from(r.code)),
                reason.as_ref().and_then(|r| r.description.clone()),
            );
            let _ = session.clone().close(reason).await;
            Some(ending)
        }
        Ok(AggregatedMessage::Binary(_) | AggregatedMessage::Pong(_)) => None,
        Err(_) => lost(),
    }
}
