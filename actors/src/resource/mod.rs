//! One actor per configured database. The actor ([`actor::Resource`]) is generic over its engine's
//! [`Backend`]; [`open`] is the one place that names the engines, so adding one means a folder
//! here, a connection variant in the configuration, and one line in [`open`].

pub mod actor;
mod actor_health;
pub mod admission;
pub mod backend;
mod drain;
pub mod handle;
pub mod health;
pub mod mongo;
pub mod off_thread;
pub mod pg_values;
pub mod postgres;
mod running;
#[cfg(test)]
mod same_id_tests;
pub mod unavailable;
pub mod workers;

pub use crate::domain::Deadline;
pub use actor::{Resource, ResourceSetup};
pub use backend::{Backend, CancelHandle, Limits, LocalFuture, RunContext};
pub use handle::ResourceHandle;
pub use health::{verdict, DatabaseHealth, HealthError, Verdict};

use crate::messages::HealthChanged;
use crate::metrics::{Metrics, PoolGauges};
use crate::policy::lineage::ColumnProtection;
use actix::{Actor, Recipient};
use mongo::MongoBackend;
use postgres::PgBackend;
use relay_config::ResourceConnection;
use slog::Logger;
use std::sync::Arc;
use std::time::Duration;
use unavailable::Unavailable;

/// What to do with a resource's backend once it is made: start an actor around it, or just check
/// its health (`relay check --connect`).
pub trait WithBackend {
    type Output;
    fn with<B: Backend>(self, backend: B) -> Self::Output;
}

/// What making a backend needs besides the resource's configuration.
pub struct BackendParts<'a> {
    pub protection: Arc<dyn ColumnProtection>,
    /// Caps the delay between connection attempts after failures.
    pub health_interval: Duration,
    pub log: &'a Logger,
    pub gauges: PoolGauges,
}

/// The one place that names the engines: the connection's type picks the backend.
pub fn open<W: WithBackend>(
    spec: &Arc<relay_config::Resource>,
    parts: BackendParts<'_>,
    then: W,
) -> W::Output {
    let BackendParts {
        protection,
        health_interval,
        log,
        gauges,
    } = parts;
    match &spec.connection {
        ResourceConnection::Postgres(connection) => {
            let connection = Arc::new(connection.clone());
            let spec = Arc::clone(spec);
            match PgBackend::new(spec, connection, protection, health_interval, log, gauges) {
                Ok(backend) => then.with(backend),
                Err(err) => then.with(Unavailable::new(err.to_string())),
            }
        }
        ResourceConnection::Mongodb(_) => {
            then.with(MongoBackend::new(Arc::clone(spec), protection).with_pool_gauges(gauges))
        }
    }
}

/// Starts the actor of one resource and returns its handle.
pub fn start(
    spec: Arc<relay_config::Resource>,
    health_interval: Duration,
    supervisor: Recipient<HealthChanged>,
    log: &Logger,
    protection: Arc<dyn ColumnProtection>,
    metrics: Arc<Metrics>,
) -> ResourceHandle {
    let log = log.new(slog::o!("type" => spec.kind.to_string(), "resourceId" => spec.id.clone()));
    let gauges = metrics.pool_gauges(&spec.id);
    let parts = BackendParts {
        protection,
        health_interval,
        log: &log,
        gauges: gauges.clone(),
    };
    let setup = ResourceSetup {
        spec: Arc::clone(&spec),
        health_interval,
        supervisor,
        log: log.clone(),
        metrics,
        gauges,
    };
    open(&spec, parts, Launch(setup))
}

/// Starts an actor around a backend.
struct Launch(ResourceSetup);

impl WithBackend for Launch {
    type Output = ResourceHandle;

    fn with<B: Backend>(self, backend: B) -> ResourceHandle {
        let statement_timeout = Duration::from_millis(self.0.spec.statement_timeout_ms);
        let addr = Resource::new(self.0, backend).start();
        ResourceHandle {
            run: addr.clone().recipient(),
            cancel: addr.clone().recipient(),
            retire: addr.clone().recipient(),
            drain: addr.recipient(),
            statement_timeout,
        }
    }
}
