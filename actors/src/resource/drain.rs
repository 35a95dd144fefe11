//! How a resource stops: drained at shutdown (no new work, no health checks, what runs finishes
//! within the grace period, then is cancelled) or retired by a reload (it finishes what runs).
//! Both wait on the resource's in-flight tracker, so nothing polls; both end with the actor
//! stopped, which drops its pool off the actor thread and so closes its database sessions.

use super::{Backend, Resource};
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
    /// The relay is shutting down: new work is refused with `shutting_down`.
    pub draining: bool,
    /// The periodic health check, cancelled when the resource drains or retires.
    pub health_loop: Option<SpawnHandle>,
}

/// The answer to work that arrives while the resource drains.
pub(super) fn shutting_down() -> OperationError {
    OperationError::new(ErrorCode::ShuttingDown, "relay is shutting down")
}

impl Resource {
    fn stop_health_loop(&mut self, ctx: &mut Context<Self>) {
        if let Some(health_loop) = self.shutdown.health_loop.take() {
            ctx.cancel_future(health_loop);
        }
    }

    fn cancel_all(&self) {
        match &self.backend {
            Backend::Postgres(backend) => backend.cancel_all(),
            Backend::Mongo(backend) => backend.cancel_all(),
            Backend::Unavailable(_) => {}
        }
    }
}

impl Handler<Drain> for Resource {
    type Result = ResponseActFuture<Self, ()>;

    fn handle(&mut self, drain: Drain, ctx: &mut Context<Self>) -> Self::Result {
        self.shutdown.draining = true;
        self.stop_health_loop(ctx);
        let deadline = Instant::now() + drain.grace;
        let work = self.work.clone();
        info!(self.log, "Resource draining"; "inFlight" => work.count());
        let finished = async move { work.idle_by(deadline).await };
        Box::pin(
            wrap_future::<_, Self>(finished)
                .then(|finished, actor, _ctx| {
                    let work = actor.work.clone();
                    if !finished {
                        warn!(actor.log, "Grace period over; cancelling what still runs";
                            "inFlight" => work.count());
                        actor.cancel_all();
                    }
                    let deadline = Instant::now() + CANCEL_WAIT;
                    async move { finished || work.idle_by(deadline).await }.into_actor(actor)
                })
                .map(|idle, actor, ctx| {
                    if !idle {
                        warn!(actor.log, "Resource stopped with work still running";
                            "inFlight" => actor.work.count());
                    }
                    ctx.stop();
                }),
        )
    }
}

impl Handler<Retire> for Resource {
    type Result = ();

    fn handle(&mut self, _: Retire, ctx: &mut Context<Self>) {
        self.retiring = true;
        self.stop_health_loop(ctx);
        info!(self.log, "Resource retired by a configuration reload; stopping once idle";
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
