//! One actor per configured database: owns its connection pool, checks health, runs operations.

pub mod off_thread;
pub mod postgres;

use crate::messages::{HealthChanged, OperationError, OperationOutput, RunOperation};
use crate::protocol::{ErrorCode, HealthStatus, ResourceHealth};
use crate::time::now_rfc3339;
use actix::fut::wrap_future;
use actix::{Actor, ActorFutureExt, AsyncContext, Context, Handler, Recipient, ResponseFuture};
use off_thread::OffThreadDrop;
use relay_config::{Operation, ResourceType};
use slog::{info, warn, Logger};
use std::sync::Arc;
use std::time::Duration;

/// What the actor talks to.
enum Backend {
    Postgres(Arc<OffThreadDrop<postgres::PgPool>>),
    /// A resource type this build cannot serve yet; it stays unhealthy with this reason.
    Unsupported(String),
}

/// The resource actor.
pub struct Resource {
    spec: Arc<relay_config::Resource>,
    health_interval: Duration,
    supervisor: Recipient<HealthChanged>,
    log: Logger,
    backend: Backend,
    health: ResourceHealth,
}

impl Resource {
    pub fn new(
        spec: Arc<relay_config::Resource>,
        health_interval: Duration,
        supervisor: Recipient<HealthChanged>,
        log: &Logger,
    ) -> Self {
        let backend = match spec.kind {
            ResourceType::Postgres => {
                Backend::Postgres(Arc::new(OffThreadDrop::new(postgres::build_pool(&spec))))
            }
            ResourceType::Mongodb => {
                Backend::Unsupported("mongodb resources are not supported by this build".into())
            }
        };
        let health = ResourceHealth::unknown(&spec.id, spec.display_name());
        let log =
            log.new(slog::o!("resourceId" => spec.id.clone(), "type" => spec.kind.to_string()));
        Resource {
            spec,
            health_interval,
            supervisor,
            log,
            backend,
            health,
        }
    }

    fn check_health(&mut self, ctx: &mut Context<Self>) {
        let check: std::pin::Pin<Box<dyn std::future::Future<Output = Result<Duration, String>>>> =
            match &self.backend {
                Backend::Postgres(pool) => {
                    let pool = pool.clone();
                    let task =
                        actix_rt::task::spawn_blocking(move || postgres::check_health(&pool));
                    Box::pin(async move {
                        task.await
                            .unwrap_or_else(|err| Err(format!("health check crashed: {err}")))
                    })
                }
                Backend::Unsupported(reason) => {
                    let reason = reason.clone();
                    Box::pin(async move { Err(reason) })
                }
            };
        let check = wrap_future::<_, Self>(check);
        ctx.spawn(check.map(|outcome, actor, _ctx| actor.record_health(outcome)));
    }

    fn record_health(&mut self, outcome: Result<Duration, String>) {
        let previous = self.health.status;
        self.health.last_checked_at = Some(now_rfc3339());
        match outcome {
            Ok(latency) => {
                self.health.status = HealthStatus::Healthy;
                self.health.latency_ms = Some(latency.as_millis() as u64);
                self.health.error = None;
            }
            Err(reason) => {
                self.health.status = HealthStatus::Unhealthy;
                self.health.latency_ms = None;
                self.health.error = Some(reason);
            }
        }
        if previous != self.health.status && previous != HealthStatus::Unknown {
            match self.health.status {
                HealthStatus::Healthy => info!(self.log, "Resource recovered"),
                _ => warn!(self.log, "Resource became unhealthy";
                    "error" => self.health.error.clone().unwrap_or_default()),
            }
        }
        self.supervisor.do_send(HealthChanged {
            health: self.health.clone(),
        });
    }

    fn allowed(&self, operation: Operation) -> bool {
        self.spec.allowed_operations.contains(&operation)
    }
}

impl Actor for Resource {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Context<Self>) {
        self.check_health(ctx);
        ctx.run_interval(self.health_interval, |actor, ctx| actor.check_health(ctx));
    }
}

/// Parses a wire operation name.
fn parse_operation(name: &str) -> Option<Operation> {
    serde_json::from_value(serde_json::Value::String(name.to_owned())).ok()
}

impl Handler<RunOperation> for Resource {
    type Result = ResponseFuture<Result<OperationOutput, OperationError>>;

    fn handle(&mut self, message: RunOperation, _ctx: &mut Context<Self>) -> Self::Result {
        let request = message.request;
        let Some(operation) = parse_operation(&request.operation) else {
            let err = OperationError::new(
                ErrorCode::InvalidRequest,
                format!(
                    "unknown operation \"{}\"",
                    request.operation.chars().take(64).collect::<String>()
                ),
            );
            return Box::pin(async move { Err(err) });
        };
        if !self.allowed(operation) {
            let err = OperationError::new(
                ErrorCode::OperationNotAllowed,
                format!(
                    "operation {operation} is not allowed on resource {}",
                    self.spec.id
                ),
            );
            return Box::pin(async move { Err(err) });
        }
        let timeout =
            Duration::from_millis(request.timeout_ms.unwrap_or(self.spec.statement_timeout_ms));
        let max_rows = self.spec.max_rows_per_query;
        match (&self.backend, operation) {
            (Backend::Postgres(pool), Operation::ListTables) => {
                let pool = pool.clone();
                let schema = request
                    .params
                    .get("schema")
                    .and_then(|v| v.as_str())
                    .map(str::to_owned);
                Box::pin(async move {
                    actix_rt::task::spawn_blocking(move || {
                        postgres::list_tables(&pool, schema, max_rows, timeout)
                    })
                    .await
                    .unwrap_or_else(|err| {
                        Err(OperationError::new(
                            ErrorCode::Internal,
                            format!("operation crashed: {err}"),
                        ))
                    })
                })
            }
            (Backend::Postgres(_), other) => {
                let err = OperationError::new(
                    ErrorCode::OperationNotAllowed,
                    format!("operation {other} is not supported by this relay version"),
                );
                Box::pin(async move { Err(err) })
            }
            (Backend::Unsupported(reason), _) => {
                let err = OperationError::new(ErrorCode::ResourceUnavailable, reason.clone());
                Box::pin(async move { Err(err) })
            }
        }
    }
}
