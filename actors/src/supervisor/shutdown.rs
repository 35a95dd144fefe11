//! Shutdown on SIGTERM or SIGINT: every resource and the control plane drain at once within the
//! grace period (the control plane says `draining`, answers what ran and closes with 1001;
//! resources serve what the control plane accepted before that, finish or cancel it within the
//! grace period and close their pools), then the auditor
//! writes the last record of the chain (`relay_stopped`) and the system stops.

use super::Supervisor;
use crate::log_event::LogEvent;
use crate::messages::{AuditStopping, Drain, Shutdown};
use actix::{ActorFutureExt, Context, Handler, ResponseActFuture, System, WrapFuture};
use futures_util::future::join_all;
use slog::{error, info};
use std::future::Future;
use std::time::Duration;
use tokio::time::Instant;

/// How long requests still on their way may take once every resource drained: their records
/// come before the last one.
const PIPELINE_WAIT: Duration = Duration::from_secs(2);

impl Supervisor {
    /// Sends `Drain` to every resource, including those a reload retired that still finish
    /// requests; the future ends when all have drained (a resource already gone has nothing to do).
    fn drain_resources(&mut self, grace: Duration) -> impl Future<Output = ()> {
        let current = self
            .resources
            .values()
            .filter_map(|child| child.addr.clone());
        let draining: Vec<_> = current
            .chain(self.retired.running())
            .map(|resource| {
                resource.drain.send(Drain {
                    grace,
                    pipelines: Some(self.pipelines.clone()),
                })
            })
            .collect();
        async move {
            join_all(draining).await;
        }
    }

    /// Has the auditor end the chain with `relay_stopped`; the future ends once it is written.
    fn last_record(&self, grace: Duration, took: Duration) -> impl Future<Output = ()> {
        let drain_ms = took.as_millis() as u64;
        let details = serde_json::json!({"graceSeconds": grace.as_secs(), "drainMs": drain_ms});
        let stopped = self
            .auditor
            .clone()
            .map(|auditor| auditor.send(AuditStopping { details }));
        async move {
            if let Some(stopped) = stopped {
                let _ = stopped.await;
            }
        }
    }
}

impl Handler<Shutdown> for Supervisor {
    type Result = ResponseActFuture<Self, ()>;

    fn handle(&mut self, _: Shutdown, _ctx: &mut Context<Self>) -> Self::Result {
        self.shutting_down = true;
        let grace = Duration::from_secs(self.config.control_plane.shutdown_grace_seconds);
        info!(self.log, "{}", LogEvent::RelayStopping; "graceSeconds" => grace.as_secs());
        let started = Instant::now();
        let control_plane = self.control_plane.clone().map(|cp| {
            cp.send(Drain {
                grace,
                pipelines: None,
            })
        });
        let resources = self.drain_resources(grace);
        let pipelines = self.pipelines.clone();
        let drained = async move {
            let clean = match control_plane {
                Some(drained) => drained.await.is_ok(),
                None => true,
            };
            resources.await;
            // Resources have answered or stopped, so what is left is masking and audit.
            let _ = pipelines.idle_by(Instant::now() + PIPELINE_WAIT).await;
            clean
        };
        Box::pin(
            drained
                .into_actor(self)
                .then(move |clean, supervisor, _ctx| {
                    if !clean {
                        error!(
                            supervisor.log,
                            "{}",
                            LogEvent::ControlPlaneConnectionWasGoneAtShutdown
                        );
                    }
                    supervisor
                        .last_record(grace, started.elapsed())
                        .into_actor(supervisor)
                })
                .map(|(), _supervisor, _ctx| System::current().stop()),
        )
    }
}
