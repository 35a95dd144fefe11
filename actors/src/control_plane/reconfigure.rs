//! What a configuration reload changes in the control-plane connection: a new resource list
//! (`hello` again, on the same session), new settings or a new token (close and connect again),
//! and the token file read again after the control plane refused the token.

use super::connect::Link;
use super::ControlPlane;
use crate::log_event::LogEvent;
use crate::protocol::{Hello, Outbound};
use crate::reload_messages::{TokenReread, UpdateHello};
use actix::{Context, Handler, Message as ActixMessage};
use awc::ws::{CloseCode, CloseReason, Message};
use relay_config::ControlPlane as ControlPlaneConfig;
use slog::{info, warn};
use std::sync::Arc;

/// Supervisor -> control plane: `controlPlane` changed; close the session and connect with these
/// settings.
#[derive(ActixMessage)]
#[rtype(result = "()")]
pub struct Reconnect {
    pub config: Arc<ControlPlaneConfig>,
    pub link: Link,
    pub hello: Hello,
}

impl ControlPlane {
    /// Reads `controlPlane.tokenFile` again, if the relay uses one; returns whether the token in
    /// it differs from the one just refused (the next attempt then need not wait for the cap).
    pub(super) fn reread_token(&mut self) -> bool {
        let Some(path) = self.config.token_file.clone() else {
            return false;
        };
        match relay_config::read_token_file(&path) {
            Ok(token) if token != self.config.credential => {
                info!(self.log, "{}", LogEvent::TokenFileReadAgain;
                    "file" => path.display().to_string());
                Arc::make_mut(&mut self.config).credential = token.clone();
                self.supervisor
                    .token_reread
                    .do_send(TokenReread { credential: token });
                true
            }
            Ok(_) => false,
            Err(err) => {
                warn!(self.log, "{}", LogEvent::CannotReadTheTokenFile;
                    "error" => err.to_string());
                false
            }
        }
    }
}

impl Handler<UpdateHello> for ControlPlane {
    type Result = ();

    fn handle(&mut self, update: UpdateHello, ctx: &mut Context<Self>) {
        self.hello = update.hello;
        if self.session.is_some() {
            self.send(Outbound::Hello(self.hello.clone()));
            self.send_health_snapshot(ctx);
        }
    }
}

impl Handler<Reconnect> for ControlPlane {
    type Result = ();

    fn handle(&mut self, reconnect: Reconnect, ctx: &mut Context<Self>) {
        self.config = reconnect.config;
        self.link = reconnect.link;
        self.hello = reconnect.hello;
        self.backoff.reset();
        if let Some(session) = self.session.as_mut() {
            let reason = CloseReason {
                code: CloseCode::Normal,
                description: Some("relay configuration changed".into()),
            };
            let _ = session.sink.write(Message::Close(Some(reason)));
        }
        self.end_session_quietly("control plane settings changed by a reload".into(), ctx);
        info!(self.log, "{}", LogEvent::ReconnectingWithReloadedSettings;
            "url" => self.url_for_logs());
        self.connect(ctx);
    }
}
