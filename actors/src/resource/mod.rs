//! One actor per configured database: owns its connection pool, checks health, runs operations.

mod drain;
pub mod mongo;
pub mod off_thread;
pub mod pg_values;
pub mod postgres;

use crate::in_flight::InFlight;
use crate::messages::{CancelRequest, HealthChanged, OperationError, Produced, RunOperation};
use crate::metrics::Metrics;
use crate::policy::lineage::ColumnProtection;
use crate::protocol::{ErrorCode, HealthStatus, ResourceHealth};
use crate::time::now_rfc3339;
use actix::fut::wrap_future;
use actix::{Actor, ActorFutureExt, AsyncContext, Context, Handler, Recipient, ResponseActFuture};
use mongo::MongoBackend;
use postgres::PgBackend;
use relay_config::{Operation, ResourceConnection};
use slog::{info, warn, Logger};
use std::sync::Arc;
use std::time::Duration;

/// What one health check found.
#[derive(Debug, Clone, PartialEq)]
pub struct DatabaseHealth {
    pub latency: Duration,
    /// The user holds every privilege (PostgreSQL superuser, MongoDB root or no access control).
    pub superuser: bool,
    /// Why the user could write: empty for a read-only user, `None` when the server would not say.
    pub write_reasons: Option<Vec<String>>,
    /// What else an operator should know (`relay check --connect` prints it).
    pub notes: Vec<String>,
}

/// How a resource stands after a health check, as both `relay run` and `relay check --connect`
/// judge it: unhealthy with a reason, or healthy (possibly with a warning that the user could
/// write).
#[derive(Debug, Clone, PartialEq)]
pub enum Verdict {
    Healthy { write_warning: Option<String> },
    Unhealthy(String),
}

/// The verdict on what a health check found for `spec`.
pub fn verdict(spec: &relay_config::Resource, outcome: &Result<DatabaseHealth, String>) -> Verdict {
    match outcome {
        Err(reason) => Verdict::Unhealthy(reason.clone()),
        Ok(found) if found.superuser && !spec.allow_privileged_user => Verdict::Unhealthy(
            "database user is a superuser (holds every privilege); use a read-only role or set allowPrivilegedUser: true".into(),
        ),
        Ok(found) => Verdict::Healthy {
            write_warning: found
                .write_reasons
                .as_ref()
                .filter(|reasons| !reasons.is_empty())
                .map(|reasons| reasons.join("; ")),
        },
    }
}

/// The shortest wait before a health check that tries to connect again after a failure.
const MIN_RECONNECT_DELAY: Duration = Duration::from_secs(1);

/// What the actor talks to.
enum Backend {
    Postgres(PgBackend),
    Mongo(MongoBackend),
    /// A resource this build cannot serve; it stays unhealthy with this reason.
    Unavailable(String),
}

/// An operation that passed the allow-list and its backend's policy.
enum Planned {
    Postgres(postgres::PlannedOperation),
    Mongo(Box<mongo::params::MongoPlan>),
}

/// The resource actor.
pub struct Resource {
    spec: Arc<relay_config::Resource>,
    health_interval: Duration,
    supervisor: Recipient<HealthChanged>,
    log: Logger,
    backend: Backend,
    health: ResourceHealth,
    /// Operations accepted and not yet answered (running or waiting for a connection); retiring
    /// and draining wait on it.
    work: InFlight,
    /// A health check is due early, when the next connection attempt may start.
    reconnect_scheduled: bool,
    metrics: Arc<Metrics>,
    /// A reload removed or replaced this resource: it finishes what runs, then stops.
    retiring: bool,
    /// The relay is shutting down: no new work, no health checks (see `drain.rs`).
    shutdown: drain::ShutdownState,
}

impl Resource {
    pub fn new(
        spec: Arc<relay_config::Resource>,
        health_interval: Duration,
        supervisor: Recipient<HealthChanged>,
        log: &Logger,
        protection: Arc<dyn ColumnProtection>,
        metrics: Arc<Metrics>,
    ) -> Self {
        let log =
            log.new(slog::o!("type" => spec.kind.to_string(), "resourceId" => spec.id.clone()));
        let gauges = metrics.pool_gauges(&spec.id);
        // The one place that names the engines: the connection's type picks the backend.
        let backend = match &spec.connection {
            ResourceConnection::Postgres(connection) => {
                let connection = Arc::new(connection.clone());
                let spec = Arc::clone(&spec);
                match PgBackend::new(spec, connection, protection, health_interval, &log, gauges) {
                    Ok(backend) => Backend::Postgres(backend),
                    Err(err) => Backend::Unavailable(err.to_string()),
                }
            }
            ResourceConnection::Mongodb(_) => Backend::Mongo(
                MongoBackend::new(Arc::clone(&spec), protection).with_pool_gauges(gauges),
            ),
        };
        let health = ResourceHealth::unknown(&spec.id, spec.display_name());
        Resource {
            spec,
            health_interval,
            supervisor,
            log,
            backend,
            health,
            work: InFlight::default(),
            reconnect_scheduled: false,
            metrics,
            retiring: false,
            shutdown: Default::default(),
        }
    }

    fn check_health(&mut self, ctx: &mut Context<Self>) {
        if self.retiring || self.shutdown.draining {
            return;
        }
        let check = match &self.backend {
            Backend::Postgres(backend) => backend.check_health(),
            Backend::Mongo(backend) => backend.check_health(),
            Backend::Unavailable(reason) => {
                let reason = reason.clone();
                Box::pin(async move { Err(reason) })
            }
        };
        ctx.spawn(wrap_future::<_, Self>(check).map(|outcome, actor, ctx| {
            actor.record_health(outcome);
            actor.follow_connection(ctx);
        }));
    }

    /// After a request or a health check: a failed connection attempt makes the resource unhealthy
    /// at once (which the control plane is told), and the health check runs again as soon as the
    /// next attempt may start, so the resource recovers by itself without waiting for traffic.
    fn follow_connection(&mut self, ctx: &mut Context<Self>) {
        let Backend::Postgres(backend) = &self.backend else {
            return;
        };
        let Some((cause, wait)) = backend.connect_failure() else {
            return;
        };
        let known = self.health.status == HealthStatus::Unhealthy
            && self.health.error.as_deref() == Some(cause.as_str());
        if !known {
            self.record_health(Err(cause));
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

    fn record_health(&mut self, outcome: Result<DatabaseHealth, String>) {
        // The resource's successor reports the health under the same id.
        if self.retiring {
            return;
        }
        let previous = self.health.clone();
        self.health.last_checked_at = Some(now_rfc3339());
        match &outcome {
            Ok(found) => {
                self.health.latency_ms = Some(found.latency.as_millis() as u64);
                self.health.can_write = found.write_reasons.as_ref().map(|r| !r.is_empty());
            }
            Err(_) => self.health.latency_ms = None,
        }
        match verdict(&self.spec, &outcome) {
            Verdict::Healthy { write_warning } => {
                if previous.can_write != self.health.can_write {
                    if let Some(reasons) = write_warning {
                        warn!(self.log, "Database user could write; grant it read-only access";
                            "reasons" => reasons);
                    }
                }
                self.health.status = HealthStatus::Healthy;
                self.health.error = None;
            }
            Verdict::Unhealthy(reason) => {
                self.health.status = HealthStatus::Unhealthy;
                self.health.error = Some(reason);
            }
        }
        self.log_transition(previous.status);
        self.supervisor.do_send(HealthChanged {
            health: self.health.clone(),
        });
    }

    fn log_transition(&self, previous: HealthStatus) {
        if previous == self.health.status || previous == HealthStatus::Unknown {
            return;
        }
        match self.health.status {
            HealthStatus::Healthy => info!(self.log, "Resource recovered"),
            _ => warn!(self.log, "Resource became unhealthy";
                "error" => self.health.error.clone().unwrap_or_default()),
        }
    }

    /// Requests beyond the pool wait for a connection; beyond `maxQueuedRequests` waiting, `busy`.
    fn queue_full(&self) -> bool {
        self.work.count() >= (self.spec.pool_size + self.spec.max_queued_requests) as usize
    }

    fn plan(&self, message: &RunOperation) -> Result<Planned, OperationError> {
        if self.shutdown.draining {
            return Err(drain::shutting_down());
        }
        let request = &message.request;
        let operation = parse_operation(&request.operation).ok_or_else(|| {
            let name: String = request.operation.chars().take(64).collect();
            OperationError::new(
                ErrorCode::InvalidRequest,
                format!("unknown operation \"{name}\""),
            )
        })?;
        if !self.spec.allowed_operations.contains(&operation) {
            return Err(OperationError::new(
                ErrorCode::OperationNotAllowed,
                format!(
                    "operation {operation} is not allowed on resource {}",
                    self.spec.id
                ),
            ));
        }
        if self.queue_full() {
            self.metrics.busy_refusal(&self.spec.id);
            return Err(OperationError::new(
                ErrorCode::Busy,
                "resource queue is full; retry later",
            ));
        }
        match &self.backend {
            Backend::Postgres(backend) => {
                Ok(Planned::Postgres(backend.plan(operation, &request.params)?))
            }
            Backend::Mongo(backend) => Ok(Planned::Mongo(Box::new(
                backend.plan(operation, &request.params)?,
            ))),
            Backend::Unavailable(reason) => Err(OperationError::new(
                ErrorCode::ResourceUnavailable,
                reason.clone(),
            )),
        }
    }
}

impl Actor for Resource {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Context<Self>) {
        self.check_health(ctx);
        let health_loop =
            ctx.run_interval(self.health_interval, |actor, ctx| actor.check_health(ctx));
        self.shutdown.health_loop = Some(health_loop);
    }
}

/// Parses a wire operation name.
fn parse_operation(name: &str) -> Option<Operation> {
    serde_json::from_value(serde_json::Value::String(name.to_owned())).ok()
}

impl Handler<RunOperation> for Resource {
    type Result = ResponseActFuture<Self, Result<Produced, OperationError>>;

    fn handle(&mut self, message: RunOperation, _ctx: &mut Context<Self>) -> Self::Result {
        let running = match (self.plan(&message), &self.backend) {
            (Ok(Planned::Postgres(planned)), Backend::Postgres(backend)) => {
                backend.run(&message.request, planned)
            }
            (Ok(Planned::Mongo(planned)), Backend::Mongo(backend)) => {
                backend.run(&message.request, *planned)
            }
            (Err(err), _) => return Box::pin(actix::fut::ready(Err(err))),
            (Ok(_), _) => {
                let err = OperationError::new(ErrorCode::Internal, "plan and backend disagree");
                return Box::pin(actix::fut::ready(Err(err)));
            }
        };
        let working = self.work.enter();
        self.metrics.in_flight(&self.spec.id, self.work.count());
        Box::pin(wrap_future::<_, Self>(running).map(|outcome, actor, ctx| {
            drop(working);
            let outcome = actor.shutdown.answer(outcome);
            if actor.retiring {
                return outcome;
            }
            actor.metrics.in_flight(&actor.spec.id, actor.work.count());
            if outcome.is_err() {
                actor.follow_connection(ctx);
            }
            outcome
        }))
    }
}

impl Handler<CancelRequest> for Resource {
    type Result = ();

    fn handle(&mut self, cancel: CancelRequest, _ctx: &mut Context<Self>) {
        match &self.backend {
            Backend::Postgres(backend) => backend.cancel(&cancel.request_id),
            Backend::Mongo(backend) => backend.cancel(&cancel.request_id),
            Backend::Unavailable(_) => {}
        }
    }
}
