//! One connection attempt to the control plane, what a failed one logs, and when the next follows.

use super::connect::{self, classify, ConnectFailure};
use super::ControlPlane;
use crate::log_event::LogEvent;
use crate::messages::AuthRejected;
use actix::fut::wrap_future;
use actix::{ActorFutureExt, AsyncContext, Context};
use slog::{debug, error, warn};
use std::time::Duration;

impl ControlPlane {
    pub(super) fn connect(&mut self, ctx: &mut Context<Self>) {
        if self.draining {
            return;
        }
        self.generation += 1;
        let generation = self.generation;
        debug!(self.log, "{}", LogEvent::ConnectingToControlPlane; "url" => self.url_for_logs(),
            "proxy" => self.link.route.describe(), "attempt" => generation,
            "timeoutMs" => connect::CONNECT_TIMEOUT.as_millis() as u64);
        let request = connect::websocket_request(&self.config, &self.link);
        let attempt = async move {
            actix_rt::time::timeout(connect::CONNECT_TIMEOUT, request.connect()).await
        };
        ctx.spawn(
            wrap_future::<_, Self>(attempt).map(move |outcome, actor, ctx| {
                if generation != actor.generation {
                    return;
                }
                match outcome {
                    Ok(Ok((response, framed))) => {
                        debug!(actor.log, "{}", LogEvent::WebSocketUpgradeAccepted;
                            "status" => response.status().as_u16());
                        actor.open_session(framed, ctx)
                    }
                    Ok(Err(err)) => {
                        debug!(actor.log, "{}", LogEvent::ControlPlaneConnectionAttemptFailed;
                            "url" => actor.url_for_logs(), "error" => connect::error_chain(&err));
                        actor.connect_failed(classify(&err), ctx)
                    }
                    Err(_elapsed) => actor.connect_failed(
                        ConnectFailure::Transient("connection attempt timed out".into()),
                        ctx,
                    ),
                }
            }),
        );
    }

    fn connect_failed(&mut self, failure: ConnectFailure, ctx: &mut Context<Self>) {
        let delay = match failure {
            ConnectFailure::Rejected { status } => {
                // A rotated token file is worth trying soon, not at the backoff cap.
                let delay = match self.reread_token() {
                    true => self.backoff.next_delay(),
                    false => self.backoff.delay_at_cap(),
                };
                error!(self.log, "{}", LogEvent::ControlPlaneRejectedCredentials;
                    "url" => self.url_for_logs(), "status" => status,
                    "retryInMs" => delay.as_millis() as u64);
                self.supervisor.auth_rejected.do_send(AuthRejected {
                    detail: format!("upgrade refused with HTTP status {status}"),
                });
                delay
            }
            ConnectFailure::Transient(reason) => {
                let delay = self.backoff.next_delay();
                warn!(self.log, "{}", LogEvent::CannotConnectToControlPlane;
                    "url" => self.url_for_logs(), "error" => reason,
                    "retryInMs" => delay.as_millis() as u64);
                delay
            }
        };
        self.schedule_reconnect(delay, ctx);
    }

    pub(super) fn schedule_reconnect(&mut self, delay: Duration, ctx: &mut Context<Self>) {
        if self.draining {
            return;
        }
        let generation = self.generation;
        ctx.run_later(delay, move |actor, ctx| {
            if actor.generation == generation && actor.session.is_none() {
                actor.connect(ctx);
            }
        });
    }
}
