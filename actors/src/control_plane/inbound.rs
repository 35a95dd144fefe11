//! What the control-plane actor does with each frame and message it receives.

use super::encode::{encode_answer, EncodeError, EncodedAnswer};
use super::reassembly::Assembled;
use super::{ControlPlane, InFlightRequest};
use crate::audit::statement::Statement;
use crate::in_flight::InFlightGuard;
use crate::log_event::LogEvent;
use crate::messages::{AuditAcked, CancelRequest, RequestRefused};
use crate::pipeline;
use crate::protocol::{
    decode_inbound, encode_outbound, ErrorCode, ErrorMessage, Inbound, Outbound, Rejection, Request,
};
use crate::routing::CancelDelivery;
use actix::{AsyncContext, Context, Handler, Message as ActixMessage};
use awc::ws::{Frame, Message};
use slog::{debug, error, warn};
use std::time::Instant;

impl ControlPlane {
    /// Handles one frame of the current session.
    pub(super) fn on_frame(&mut self, frame: Frame, ctx: &mut Context<Self>) {
        let Some(session) = self.session.as_mut() else {
            return;
        };
        session.last_seen = Instant::now();
        match frame {
            Frame::Ping(payload) => {
                let _ = session.sink.write(Message::Pong(payload));
            }
            Frame::Pong(_) => {}
            Frame::Close(reason) => self.on_close_frame(reason, ctx),
            data => match session.reassembler.push(data) {
                Ok(Some(Assembled::Text(text))) => self.on_text(&text, ctx),
                Ok(Some(Assembled::Binary(_))) => self.reject(
                    Rejection {
                        id: None,
                        code: ErrorCode::InvalidMessage,
                        message: "binary messages are not supported; send JSON text".into(),
                    },
                    None,
                ),
                Ok(None) => {}
                Err(err) => self.reject(
                    Rejection {
                        id: None,
                        code: ErrorCode::InvalidMessage,
                        message: err.to_string(),
                    },
                    None,
                ),
            },
        }
    }

    fn on_text(&mut self, text: &str, ctx: &mut Context<Self>) {
        match decode_inbound(text) {
            Ok(Inbound::Request(request)) => self.on_request(request, ctx),
            Ok(Inbound::Cancel(cancel)) => self.on_cancel(cancel.id),
            Ok(Inbound::Standby(notice)) => self.on_standby(notice),
            Ok(Inbound::Active(notice)) => self.on_active(notice, ctx),
            Ok(Inbound::AuditAck(ack)) => self.routes.borrow().audit_acked(AuditAcked {
                chain_id: ack.chain_id,
                seq: ack.seq,
            }),
            Err(rejection) => self.reject(rejection, Some(text)),
        }
    }

    /// Answers a message the relay cannot accept with an `error`, after asking for its audit
    /// record (`text` is the message, when it was text); the session carries on.
    fn reject(&mut self, rejection: Rejection, text: Option<&str>) {
        warn!(self.log, "{}", LogEvent::RejectedMessageFromControlPlane;
            "code" => rejection.code.as_str(), "reason" => rejection.message.clone());
        // Read once more only when it is JSON at all; the id is already in the rejection.
        let parsed: Option<serde_json::Value> = text
            .filter(|text| text.trim_start().starts_with('{'))
            .and_then(|text| serde_json::from_str(text).ok());
        let field = |name: &str| {
            let value = parsed.as_ref()?.get(name)?;
            value.as_str().map(str::to_owned)
        };
        self.routes.borrow().refused(RequestRefused {
            request_id: rejection.id.clone(),
            resource_id: field("resourceId"),
            operation: field("operation"),
            code: rejection.code,
            statement: text.map(|text| Statement::Message(text.to_owned())),
        });
        self.send(rejection.into_message());
    }

    /// Refuses a request that decoded but cannot run; it is audited like any refusal.
    fn refuse(&mut self, request: &Request, code: ErrorCode, message: &str) {
        self.routes.borrow().refused(RequestRefused {
            request_id: Some(request.id.clone()),
            resource_id: Some(request.resource_id.clone()),
            operation: Some(request.operation.to_string()),
            code,
            statement: Statement::of_params(&request.params),
        });
        self.send(error_for(request, code, message));
    }

    fn on_request(&mut self, request: Request, ctx: &mut Context<Self>) {
        if self.draining {
            return self.refuse(&request, ErrorCode::ShuttingDown, "relay is shutting down");
        }
        if self.role.is_standby() {
            return self.refuse(
                &request,
                ErrorCode::Standby,
                "relay is standing by; another relay of this tenant is active",
            );
        }
        if self.in_flight.contains_key(&request.id) {
            return self.refuse(
                &request,
                ErrorCode::InvalidRequest,
                "a request with this id is already running",
            );
        }
        let running = self.drain.in_flight.enter();
        let generation = self.generation;
        let id = request.id.clone();
        let route = self.routes.borrow().route(&request.resource_id);
        let in_flight = InFlightRequest {
            resource_id: request.resource_id.clone(),
            cancel: route.cancel.clone(),
        };
        self.in_flight.insert(request.id.clone(), in_flight);
        // Detached from this actor: a pipeline runs to its audit record even if the actor stops
        // (a panic restarts it); the answer then finds no session to go to.
        let control_plane = ctx.address();
        actix_rt::spawn(async move {
            let message = pipeline::run(route, request).await;
            let answer = encode_answer(message).await;
            control_plane.do_send(Answered {
                generation,
                id,
                answer,
                _running: running,
            });
        });
    }
}

/// A pipeline's answer, for the session it came in on.
#[derive(ActixMessage)]
#[rtype(result = "()")]
struct Answered {
    generation: u64,
    id: String,
    answer: EncodedAnswer,
    /// Counts the request as in flight until this answer is handled (a drain waits for it).
    _running: InFlightGuard,
}

impl Handler<Answered> for ControlPlane {
    type Result = ();

    fn handle(&mut self, answered: Answered, _ctx: &mut Context<Self>) {
        let Answered {
            generation,
            id,
            answer,
            _running,
        } = answered;
        if generation != self.generation {
            debug!(self.log, "{}", LogEvent::AnswerForAnEndedSession; "requestId" => id);
            return;
        }
        let Some(InFlightRequest {
            resource_id: resource,
            ..
        }) = self.in_flight.remove(&id)
        else {
            debug!(self.log, "{}", LogEvent::AnswerAlreadyGivenByTheDrain; "requestId" => id);
            return;
        };
        let EncodedAnswer { text, is_result } = answer;
        // An answer that cannot be encoded is still an answer: the request gets `internal`.
        let text = text.or_else(|err| {
            error!(self.log, "{}", LogEvent::CannotEncodeMessage; "error" => err.to_string());
            let failed = Outbound::Error(ErrorMessage {
                id: Some(id.clone()),
                code: ErrorCode::Internal,
                message: "the answer could not be encoded".into(),
            });
            encode_outbound(&failed).map_err(EncodeError::from)
        });
        let bytes = self.send_text(text);
        if is_result {
            self.metrics.result_sent(&resource, bytes);
        }
    }
}

impl ControlPlane {
    /// Hands a cancel to the resource the request runs on (or a retired one still running it).
    fn on_cancel(&mut self, request_id: String) {
        let Some(running) = self.in_flight.get(&request_id) else {
            debug!(self.log, "{}", LogEvent::CancelForARequestNotInFlight; "requestId" => request_id);
            return;
        };
        // Remembered by the request itself, so it counts even before the request reaches its
        // resource; the resource also stops a statement that already runs.
        running.cancel.cancel();
        let resource_id = running.resource_id.clone();
        let cancel = CancelRequest {
            request_id,
            resource_id,
            cancel: running.cancel.clone(),
        };
        let request_id = cancel.request_id.clone();
        if self.routes.borrow().cancel(cancel) == CancelDelivery::UnknownResource {
            debug!(self.log, "{}", LogEvent::CancelForAnUnknownResource; "requestId" => request_id);
        }
    }
}

fn error_for(request: &Request, code: ErrorCode, message: &str) -> Outbound {
    Outbound::Error(ErrorMessage {
        id: Some(request.id.clone()),
        code,
        message: message.to_owned(),
    })
}
