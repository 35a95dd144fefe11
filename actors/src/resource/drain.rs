//! How a resource stops: drained at shutdown (no health checks; the requests the control plane
//! accepted before it stopped taking new ones, some still on their way, finish within the grace
//! period, then are cancelled, and later work is refused) or retired by a reload (it finishes what runs).
//! Both wait on the resource's in-flight tracker, so nothing polls; both end with the actor
//! stopped, which drops its pool off the actor thread and so closes its database sessions.

use super::running::cancelled_as_timeout;
use super::{Backend, Resource};
use crate::log_event::LogEvent;
use crate::messages::{Drain, OperationError};
use crate::protocol::ErrorCode;
use crate::reload_messages::Retire;
use actix::fut::wrap_future;
use actix::{ActorContext, ActorFutureExt, AsyncContext, Context, Handler, ResponseActFuture};
use actix::{SpawnHandle, WrapFuture};
use slog::{info, warn};
use std::time::Duration;
use tokio::time::Instant;

/// How long a retired resource still accepts work already addressed to it: a request routed just
/// before the reload may reach its mailbox a moment after [`Retire`].
const RETIRE_GRACE: Duration = Duration::from_secs(1);

/// How long cancelled work may take to end after the grace period: a cancelled PostgreSQL
/// statement returns within a round trip, and its blocking thread with it.
const CANCEL_WAIT: Duration = Duration::from_secs(2);

/// Where a resource stands in a shutdown.
#[derive(Default)]
pub(super) struct ShutdownState {
    /// The relay is shutting down: no health checks; work already on its way is still served.
    pub draining: bool,
    /// The periodic health check, cancelled when the resource drains or retires.
    pub health_loop: Option<SpawnHandle>,
    /// The grace period ran out and what still ran was cancelled; new work is refused with
    /// `shutting_down`.
    pub grace_over: bool,
}

impl ShutdownState {
    /// Work cancelled because the grace period ran out is answered as the control plane was
    /// told (`timeout`, the relay shut down first), not as a cancel the control plane asked for.
    pub fn answer<T>(&self, outcome: Result<T, OperationError>) -> Result<T, OperationError> {
        cancelled_as_timeout(outcome, self.grace_over, || UNFINISHED.to_owned())
    }
}

/// Why work that outlived the grace period did not finish.
const UNFINISHED: &str = "the relay shut down before this request finished";

/// The answer to work that arrives while the resource drains.
pub(super) fn shutting_down() -> OperationError {
    OperationError::new(ErrorCode::ShuttingDown, "relay is shutting down")
}

impl<B: Backend> Resource<B> {
    fn stop_health_loop(&mut self, ctx: &mut Context<Self>) {
        if let Some(health_loop) = self.shutdown.health_loop.take() {
            ctx.cancel_future(health_loop);
        }
    }

    fn cancel_all(&self) {
        for running in self.running.values() {
            running.cancel.cancel();
            self.backend.cancel(&running.cancel);
        }
    }
}

impl<B: Backend> Handler<Drain> for Resource<B> {
    type Result = ResponseActFuture<Self, ()>;

    fn handle(&mut self, drain: Drain, ctx: &mut Context<Self>) -> Self::Result {
        self.shutdown.draining = true;
        self.stop_health_loop(ctx);
        let deadline = Instant::now() + drain.grace;
        let work = self.work.clone();
        info!(self.log, "{}", LogEvent::ResourceDraining; "inFlight" => work.count());
        let pipelines = drain.pipelines;
        let finished = async move {
            if let Some(pipelines) = pipelines {
                pipelines.idle_by(deadline).await;
            }
            work.idle_by(deadline).await
        };
        Box::pin(
            wrap_future::<_, Self>(finished)
                .then(|finished, actor, _ctx| {
                    let work = actor.work.clone();
                    if !finished {
                        warn!(actor.log, "{}", LogEvent::GracePeriodOver;
                            "inFlight" => work.count());
                        actor.shutdown.grace_over = true;
                        actor.cancel_all();
                    }
                    let deadline = Instant::now() + CANCEL_WAIT;
                    async move { finished || work.idle_by(deadline).await }.into_actor(actor)
                })
                .map(|idle, actor, ctx| {
                    if !idle {
                        warn!(actor.log, "{}", LogEvent::ResourceStoppedWithWorkStillRunning;
                            "inFlight" => actor.work.count());
                    }
                    ctx.stop();
                }),
        )
    }
}

impl<B: Backend> Handler<Retire> for Resource<B> {
    type Result = ();

    fn handle(&mut self, _: Retire, ctx: &mut Context<Self>) {
        self.retiring = true;
        self.stop_health_loop(ctx);
        info!(self.log, "{}", LogEvent::ResourceRetired;
            "inFlight" => self.work.count());
        // Stopping drops every running future, so it waits until nothing runs.
        let work = self.work.clone();
        let idle = async move {
            actix_rt::time::sleep(RETIRE_GRACE).await;
            work.idle().await;
        };
        ctx.spawn(wrap_future::<_, Self>(idle).map(|(), _actor, ctx| ctx.stop()));
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn cancelled() -> Result<(), OperationError> {
        Err(OperationError::new(ErrorCode::Cancelled, "cancelled"))
    }

    #[test]
    fn a_cancel_after_the_grace_period_is_answered_as_a_timeout() {
        let mut state = ShutdownState::default();
        assert_eq!(state.answer(cancelled()), cancelled());
        state.grace_over = true;
        let answered = state.answer(cancelled()).unwrap_err();
        assert_eq!(answered.code, ErrorCode::Timeout);
        assert_eq!(answered.message, UNFINISHED);
        let other = Err(OperationError::new(ErrorCode::QueryFailed, "boom"));
        assert_eq!(state.answer::<()>(other.clone()), other);
        assert_eq!(state.answer(Ok(7)), Ok(7));
    }

    #[test]
    fn work_arriving_while_draining_is_refused_as_shutting_down() {
        assert_eq!(shutting_down().code, ErrorCode::ShuttingDown);
    }
}
