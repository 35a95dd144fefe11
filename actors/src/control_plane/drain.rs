//! Draining the control-plane session on SIGTERM: say `draining`, finish what runs, wait until the
//! control plane has stopped routing here, then close with 1001. Every wait is on a `watch`
//! channel, so nothing polls.
//!
//! A control plane that understands roles answers `draining` with `standby` once it routes no new
//! request to this session. WebSocket frames are ordered, so every request it sent before that
//! `standby` has arrived (and been answered, at least with `shutting_down`) before the relay
//! closes: a request on the wire when the close went out would otherwise be lost.

use super::ControlPlane;
use crate::in_flight::InFlight;
use crate::messages::Drain;
use crate::protocol::{ErrorCode, ErrorMessage, Outbound};
use actix::fut::wrap_future;
use actix::prelude::*;
use actix_http::ws::{CloseCode, CloseReason, Message};
use std::time::Duration;
use tokio::sync::watch;
use tokio::time::{timeout_at, Instant};

/// How long a drain waits for the control plane's `standby` after its work is done; a control
/// plane without a standby to promote may never send one.
const HANDOVER_WAIT: Duration = Duration::from_secs(2);

/// How long requests may still take after the grace period: the resources cancel what still runs
/// then and answer it `timeout` (within their own 2 s), and the pipeline records it before the
/// answer comes here. Only what is left after that is answered here, unrecorded by then.
const AFTER_GRACE: Duration = Duration::from_secs(4);

/// How long the close handshake may take, so the control plane sees a clean 1001.
const CLOSE_WAIT: Duration = Duration::from_secs(2);

/// What a drain waits on, shared between the actor and its drain future.
#[derive(Debug)]
pub(super) struct DrainSignals {
    /// Requests of the current session still running; each answer carries its guard.
    pub in_flight: InFlight,
    /// The control plane answered `draining`: it routes nothing new here.
    pub handed_over: watch::Sender<bool>,
    /// A session is open.
    pub session_open: watch::Sender<bool>,
}

impl Default for DrainSignals {
    fn default() -> Self {
        DrainSignals {
            in_flight: InFlight::default(),
            handed_over: watch::Sender::new(false),
            session_open: watch::Sender::new(false),
        }
    }
}

impl DrainSignals {
    pub fn set_session_open(&self, open: bool) {
        self.session_open.send_replace(open);
    }
}

/// Waits until `receiver` holds a value that satisfies `done`, or `deadline` passes.
async fn wait_until<T>(
    mut receiver: watch::Receiver<T>,
    deadline: Instant,
    done: impl FnMut(&T) -> bool,
) {
    let _ = timeout_at(deadline, receiver.wait_for(done)).await;
}

impl ControlPlane {
    /// Requests still running after the grace period and the resources' cancel: each is answered
    /// `timeout` before the close, so a clean 1001 still means "every request this relay ran is
    /// answered". Their pipelines may record them later, or not before the process stops.
    fn answer_unfinished(&mut self) {
        let unfinished: Vec<String> = self.in_flight.drain().map(|(id, _)| id).collect();
        for id in unfinished {
            self.send(Outbound::Error(ErrorMessage {
                id: Some(id),
                code: ErrorCode::Timeout,
                message: "the relay shut down before this request finished".into(),
            }));
        }
    }
}

impl Handler<Drain> for ControlPlane {
    type Result = ResponseActFuture<Self, ()>;

    fn handle(&mut self, drain: Drain, _ctx: &mut Context<Self>) -> Self::Result {
        self.draining = true;
        let announced = self.announce_draining();
        let grace_deadline = Instant::now() + drain.grace;
        let in_flight = self.drain.in_flight.clone();
        let handed_over = self.drain.handed_over.subscribe();
        let work_deadline = grace_deadline + AFTER_GRACE;
        let wait_for_work = async move {
            in_flight.idle_by(work_deadline).await;
            if announced {
                let deadline = work_deadline.min(Instant::now() + HANDOVER_WAIT);
                wait_until(handed_over, deadline, |handed| *handed).await;
            }
        };
        Box::pin(
            wrap_future::<_, Self>(wait_for_work).then(move |_, actor, _ctx| {
                actor.answer_unfinished();
                if let Some(session) = actor.session.as_mut() {
                    let reason = CloseReason {
                        code: CloseCode::Away,
                        description: Some("relay shutting down".into()),
                    };
                    let _ = session.sink.write(Message::Close(Some(reason)));
                }
                let session_open = actor.drain.session_open.subscribe();
                let deadline = Instant::now() + CLOSE_WAIT;
                wrap_future::<_, Self>(wait_until(session_open, deadline, |open| !*open))
            }),
        )
    }
}
