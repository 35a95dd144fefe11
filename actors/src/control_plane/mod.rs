//! The control-plane connection actor: one outbound WebSocket, reconnected forever.
//!
//! It says `hello`, reports `health`, keeps the session alive with pings, hands `request`s to the
//! supervisor and writes their answers back. A lost session is re-established with capped, jittered
//! backoff; credentials the control plane refuses back off to the cap.

mod attempt;
pub mod backoff;
pub mod connect;
mod connector;
mod drain;
mod egress_stream;
mod encode;
use encode::EncodeError;
mod failure;
mod inbound;
mod link;
pub use link::SupervisorLink;
pub mod proxy;
pub mod reassembly;
mod reconfigure;
pub use reconfigure::Reconnect;
mod role;
pub mod tunnel;

use crate::log_event::LogEvent;
use crate::messages::{
    AuthRejected, Connected, Disconnected, GetHealth, HealthReport, SendToControlPlane,
};
use crate::metrics::Metrics;
use crate::protocol::{close_code, encode_outbound, Hello, Outbound};
use crate::routing::RoutesWatch;
use actix::io::{SinkWrite, WriteHandler};
use actix::{
    Actor, ActorFutureExt, AsyncContext, Context, Handler, Running, SpawnHandle, StreamHandler,
    WrapFuture,
};
use awc::error::WsProtocolError;
use awc::ws::{CloseReason, Codec, Frame, Message};
use awc::BoxedSocket;
use backoff::{Backoff, STABLE_CONNECTION};
use connect::redact_url;
use futures_util::stream::{once, SplitSink, StreamExt};
use reassembly::Reassembler;
use relay_config::ControlPlane as ControlPlaneConfig;
use slog::{error, info, warn, Logger};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

type Framed = actix_codec::Framed<BoxedSocket, Codec>;
type WsSink = SinkWrite<Message, SplitSink<Framed, Message>>;

/// An event of one session's frame stream, tagged with the session it belongs to.
enum StreamEvent {
    Frame(Result<Frame, WsProtocolError>),
    Ended,
}

/// A live WebSocket session.
struct Session {
    sink: WsSink,
    stream: SpawnHandle,
    opened_at: Instant,
    last_seen: Instant,
    reassembler: Reassembler,
}

/// The control-plane connection actor.
pub struct ControlPlane {
    config: Arc<ControlPlaneConfig>,
    hello: Hello,
    link: connect::Link,
    supervisor: SupervisorLink,
    /// The children requests run through, as the supervisor last published them.
    routes: RoutesWatch,
    log: Logger,
    backoff: Backoff,
    /// Increases with every connection attempt; events of older sessions are ignored.
    generation: u64,
    session: Option<Session>,
    draining: bool,
    /// Active or standing by, on the current session.
    role: role::SessionRole,
    /// Requests of the current session still running, by id.
    in_flight: HashMap<String, InFlightRequest>,
    drain: drain::DrainSignals,
    metrics: Arc<Metrics>,
}

impl ControlPlane {
    pub fn new(
        config: Arc<ControlPlaneConfig>,
        hello: Hello,
        link: connect::Link,
        supervisor: SupervisorLink,
        routes: RoutesWatch,
        log: &Logger,
        metrics: Arc<Metrics>,
    ) -> Self {
        let backoff = Backoff::new(Duration::from_secs(config.reconnect_max_delay_seconds));
        ControlPlane {
            config,
            hello,
            link,
            supervisor,
            routes,
            log: log.new(slog::o!()),
            backoff,
            generation: 0,
            session: None,
            draining: false,
            role: Default::default(),
            in_flight: HashMap::new(),
            drain: Default::default(),
            metrics,
        }
    }

    fn url_for_logs(&self) -> String {
        redact_url(&self.config.url)
    }

    fn open_session(&mut self, framed: Framed, ctx: &mut Context<Self>) {
        let generation = self.generation;
        let (sink, stream) = framed.split();
        let events = stream
            .map(move |frame| (generation, StreamEvent::Frame(frame)))
            .chain(once(async move { (generation, StreamEvent::Ended) }));
        let stream = ctx.add_stream(events);
        let now = Instant::now();
        self.session = Some(Session {
            sink: SinkWrite::new(sink, ctx),
            stream,
            opened_at: now,
            last_seen: now,
            reassembler: Reassembler::new(self.config.max_message_bytes),
        });
        self.drain.set_session_open(true);
        self.role = Default::default();
        self.metrics.control_plane(true);
        info!(self.log, "{}", LogEvent::ConnectedToControlPlane; "url" => self.url_for_logs(),
            "proxy" => self.link.route.describe());
        self.send(Outbound::Hello(self.hello.clone()));
        self.send_health_snapshot(ctx);
        self.supervisor.connected.do_send(Connected {
            url: self.url_for_logs(),
        });
    }

    /// Ends the current session; `at_cap` is for reasons that retrying soon cannot fix.
    fn end_session(&mut self, reason: String, at_cap: bool, ctx: &mut Context<Self>) {
        if !self.end_session_quietly(reason.clone(), ctx) || self.draining {
            return;
        }
        let delay = if at_cap {
            self.backoff.delay_at_cap()
        } else {
            self.backoff.next_delay()
        };
        warn!(self.log, "{}", LogEvent::DisconnectedFromControlPlane;
            "reason" => reason, "retryInMs" => delay.as_millis() as u64);
        self.schedule_reconnect(delay, ctx);
    }

    /// Ends the current session without scheduling the next; returns whether there was one.
    fn end_session_quietly(&mut self, reason: String, ctx: &mut Context<Self>) -> bool {
        let Some(mut session) = self.session.take() else {
            return false;
        };
        ctx.cancel_future(session.stream);
        session.sink.close();
        self.drain.set_session_open(false);
        self.metrics.control_plane(false);
        // Answers still running belong to a session the control plane has given up on.
        self.in_flight.clear();
        if session.opened_at.elapsed() >= STABLE_CONNECTION {
            self.backoff.reset();
        }
        self.supervisor
            .disconnected
            .do_send(Disconnected { reason });
        true
    }

    /// Writes one message to the current session, if any; returns the bytes written.
    fn send(&mut self, message: Outbound) -> usize {
        if self.session.is_none() {
            return 0;
        }
        let text = encode_outbound(&message).map_err(EncodeError::from);
        self.send_text(text)
    }

    /// Writes one message already encoded (or says why it could not be) to the current session,
    /// if any; returns the bytes written.
    fn send_text(&mut self, text: Result<String, EncodeError>) -> usize {
        let Some(session) = self.session.as_mut() else {
            return 0;
        };
        match text {
            Ok(text) => {
                let bytes = text.len();
                if session.sink.write(Message::Text(text.into())).is_err() {
                    warn!(self.log, "{}", LogEvent::CannotWriteToControlPlane);
                    return 0;
                }
                bytes
            }
            Err(err) => {
                error!(self.log, "{}", LogEvent::CannotEncodeMessage; "error" => err.to_string());
                0
            }
        }
    }

    fn send_health_snapshot(&mut self, ctx: &mut Context<Self>) {
        let request = self.supervisor.health.send(GetHealth);
        ctx.spawn(request.into_actor(self).map(|snapshot, actor, _ctx| {
            if let Ok(health) = snapshot {
                actor.send(Outbound::Health(health));
            }
        }));
    }

    fn heartbeat(&mut self, ctx: &mut Context<Self>) {
        let timeout = Duration::from_secs(self.config.heartbeat_timeout_seconds);
        let Some(session) = self.session.as_mut() else {
            return;
        };
        if session.last_seen.elapsed() > timeout {
            self.end_session(
                "no frame from control plane within heartbeat timeout".into(),
                false,
                ctx,
            );
            return;
        }
        let _ = session.sink.write(Message::Ping(Default::default()));
    }

    fn on_close_frame(&mut self, reason: Option<CloseReason>, ctx: &mut Context<Self>) {
        let code = reason.as_ref().map(|r| u16::from(r.code));
        let description = reason
            .as_ref()
            .and_then(|r| r.description.clone())
            .unwrap_or_default();
        if let Some(session) = self.session.as_mut() {
            let _ = session.sink.write(Message::Close(reason));
        }
        match code {
            Some(close_code::SUPERSEDED) => {
                warn!(self.log, "{}", LogEvent::Superseded;
                    "detail" => description);
                self.end_session("superseded".into(), true, ctx);
            }
            Some(close_code::UNAUTHORIZED) | Some(close_code::UNSUPPORTED_PROTOCOL) => {
                error!(self.log, "{}", LogEvent::ControlPlaneRefusesThisRelay;
                    "code" => code, "detail" => description.clone());
                // A rotated token file is worth trying soon, not at the backoff cap.
                let mut at_cap = true;
                if code == Some(close_code::UNAUTHORIZED) {
                    self.supervisor.auth_rejected.do_send(AuthRejected {
                        detail: format!("session closed with code 4001: {description}"),
                    });
                    at_cap = !self.reread_token();
                }
                self.end_session(
                    format!("closed by control plane with code {code:?}"),
                    at_cap,
                    ctx,
                );
            }
            _ => self.end_session(
                format!("closed by control plane with code {code:?}"),
                false,
                ctx,
            ),
        }
    }
}

impl Actor for ControlPlane {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Context<Self>) {
        self.connect(ctx);
        let heartbeat = Duration::from_secs(self.config.heartbeat_interval_seconds);
        ctx.run_interval(heartbeat, |actor, ctx| actor.heartbeat(ctx));
        let health = Duration::from_secs(self.config.health_interval_seconds);
        ctx.run_interval(health, |actor, ctx| {
            if actor.session.is_some() {
                actor.send_health_snapshot(ctx);
            }
        });
    }

    fn stopping(&mut self, _ctx: &mut Context<Self>) -> Running {
        self.drain.set_session_open(false);
        Running::Stop
    }
}

impl StreamHandler<(u64, StreamEvent)> for ControlPlane {
    fn handle(&mut self, (generation, event): (u64, StreamEvent), ctx: &mut Context<Self>) {
        if generation != self.generation || self.session.is_none() {
            return;
        }
        match event {
            StreamEvent::Ended => self.end_session("connection closed".into(), false, ctx),
            StreamEvent::Frame(Err(err)) => {
                self.end_session(format!("protocol error: {err}"), false, ctx)
            }
            StreamEvent::Frame(Ok(frame)) => self.on_frame(frame, ctx),
        }
    }

    /// Stream ends arrive as [`StreamEvent::Ended`]; the default would stop the actor.
    fn finished(&mut self, _ctx: &mut Context<Self>) {}
}

impl WriteHandler<WsProtocolError> for ControlPlane {
    fn error(&mut self, err: WsProtocolError, ctx: &mut Context<Self>) -> Running {
        // actix calls this while it holds the sink borrowed, so closing the sink here would
        // panic: end the session right after instead.
        let generation = self.generation;
        let reason = format!("write failed: {err}");
        ctx.run_later(Duration::ZERO, move |actor, ctx| {
            if actor.generation == generation {
                actor.end_session(reason, false, ctx);
            }
        });
        Running::Continue
    }

    fn finished(&mut self, _ctx: &mut Context<Self>) {}
}

impl Handler<HealthReport> for ControlPlane {
    type Result = ();

    fn handle(&mut self, report: HealthReport, _ctx: &mut Context<Self>) {
        self.send(Outbound::Health(report.health));
    }
}

impl Handler<SendToControlPlane> for ControlPlane {
    type Result = ();

    fn handle(&mut self, message: SendToControlPlane, _ctx: &mut Context<Self>) {
        self.send(message.message);
    }
}

/// A request of the current session still running: where it runs, and its cancellation (which a
/// `cancel` sets even before the request reaches its resource).
struct InFlightRequest {
    resource_id: String,
    cancel: crate::domain::CancelHandle,
}
