//! The resource actor's health bookkeeping: periodic checks, the follow-up after a failed
//! connection attempt, and the transitions it logs and reports to the supervisor.

use super::actor::Resource;
use super::backend::Backend;
use super::health::{self, DatabaseHealth, HealthError};
use crate::log_event::LogEvent;
use crate::messages::HealthChanged;
use crate::protocol::HealthStatus;
use crate::time::now_rfc3339;
use actix::fut::wrap_future;
use actix::{ActorFutureExt, AsyncContext, Context};
use slog::{info, warn};
use std::time::Duration;

/// The shortest wait before a health check that tries to connect again after a failure.
const MIN_RECONNECT_DELAY: Duration = Duration::from_secs(1);

impl<B: Backend> Resource<B> {
    pub(super) fn check_health(&mut self, ctx: &mut Context<Self>) {
        if self.retiring || self.shutdown.draining || self.health_check_running {
            return;
        }
        self.health_check_running = true;
        let check = self.backend.check_health();
        ctx.spawn(wrap_future::<_, Self>(check).map(|outcome, actor, ctx| {
            actor.health_check_running = false;
            actor.record_health(outcome);
            actor.follow_connection(ctx);
        }));
    }

    /// After a request or a health check: a failed connection attempt makes the resource unhealthy
    /// at once (which the control plane is told), and the health check runs again as soon as the
    /// next attempt may start, so the resource recovers by itself without waiting for traffic.
    pub(super) fn follow_connection(&mut self, ctx: &mut Context<Self>) {
        let Some((cause, wait)) = self.backend.connect_failure() else {
            return;
        };
        if !health::known_failure(&self.health, &cause) {
            self.record_health(Err(HealthError::Database(cause)));
        }
        // At most the health interval away: a refusal waits exactly that long, so the interval's
        // own check would come just too early and leave the next attempt for the one after. Never
        // at once: an attempt may be running, or stuck on a silent server, when the delay is over.
        if !self.reconnect_scheduled {
            self.reconnect_scheduled = true;
            ctx.run_later(wait.max(MIN_RECONNECT_DELAY), |actor, ctx| {
                actor.reconnect_scheduled = false;
                actor.check_health(ctx);
            });
        }
    }

    fn record_health(&mut self, outcome: Result<DatabaseHealth, HealthError>) {
        // The resource's successor reports the health under the same id.
        if self.retiring {
            return;
        }
        let previous = self.health.status;
        let write_warning = health::apply(&mut self.health, &self.spec, &outcome, now_rfc3339());
        if let Some(reasons) = write_warning {
            warn!(self.log, "{}", LogEvent::DatabaseUserCouldWrite;
                "reasons" => reasons);
        }
        self.log_transition(previous);
        self.supervisor.do_send(HealthChanged {
            health: self.health.clone(),
        });
    }

    fn log_transition(&self, previous: HealthStatus) {
        if previous == self.health.status || previous == HealthStatus::Unknown {
            return;
        }
        match self.health.status {
            HealthStatus::Healthy => info!(self.log, "{}", LogEvent::ResourceRecovered),
            _ => warn!(self.log, "{}", LogEvent::ResourceBecameUnhealthy;
                "error" => self.health.error.clone().unwrap_or_default()),
        }
    }
}
