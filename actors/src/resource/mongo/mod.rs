//! A MongoDB resource's backend: parses and checks each operation (policy first, without touching
//! the database), then runs it through the official async driver on the actor's own runtime,
//! with a pool of at most five connections, a server-side `maxTimeMS` and a client-side deadline.

pub mod catalog;
pub mod exec;
pub mod fields;
pub mod health;
pub mod options;
pub mod params;
pub mod pool_events;
mod trace;

use crate::messages::{OperationError, OperationOutput};
use crate::metrics::PoolGauges;
use crate::policy::catalog::QualifiedName;
use crate::policy::lineage::ColumnProtection;
use crate::policy::mongo::pipeline_sources;
use crate::policy::patterns::TableScope;
use crate::protocol::ErrorCode;
use crate::resource::backend::{Backend, LocalFuture, RunContext};
use crate::resource::{DatabaseHealth, Deadline, HealthError, Limits};
use mongodb::error::{Error as DriverError, ErrorKind};
use mongodb::{Client, Database};
use params::MongoPlan;
use relay_config::{Operation, Resource};
use serde_json::Value;
use std::rc::Rc;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::OnceCell;

/// Time past the deadline (the server's `maxTimeMS`) before the relay gives up on an answer
/// itself: the server's own timeout answers first when it can.
const CLIENT_GRACE: Duration = Duration::from_millis(50);

/// Time past the connect timeout before a health check gives up on `ping`.
const HEALTH_GRACE: Duration = Duration::from_secs(2);

/// The MongoDB side of a resource. The client is made on first use, so that a bad DNS record
/// or an unreachable server only makes the resource unhealthy, and is retried.
pub struct MongoBackend {
    spec: Arc<Resource>,
    client: Rc<OnceCell<Client>>,
    /// `tables`: which collections may be read, as `database.collection`.
    scope: Arc<TableScope>,
    /// Which fields the masking column rules protect, to follow them through renames.
    protection: Arc<dyn ColumnProtection>,
    /// The driver's pool reports to these, through its connection events.
    gauges: PoolGauges,
}

impl MongoBackend {
    pub fn new(spec: Arc<Resource>, protection: Arc<dyn ColumnProtection>) -> Self {
        let scope = TableScope::new(
            spec.tables.allow.as_deref().unwrap_or_default(),
            &spec.tables.deny,
        );
        MongoBackend {
            scope: Arc::new(scope),
            spec,
            client: Rc::new(OnceCell::new()),
            protection,
            gauges: PoolGauges::default(),
        }
    }

    /// Reports the driver's pool to `gauges`, once the client is made.
    pub fn with_pool_gauges(mut self, gauges: PoolGauges) -> Self {
        self.gauges = gauges;
        self
    }
}

impl Backend for MongoBackend {
    type Plan = MongoPlan;

    /// Parses the request's params and checks them against the read-only policy. Pure.
    fn plan(&self, operation: Operation, params: &Value) -> Result<MongoPlan, OperationError> {
        params::plan(operation, params, self.spec.explain_analyze)
    }

    /// Runs a planned operation until its deadline; a cancel drops it (dropping its cursor
    /// closes it on the server).
    fn run(
        &self,
        plan: MongoPlan,
        context: RunContext,
    ) -> LocalFuture<Result<OperationOutput, OperationError>> {
        let client = Rc::clone(&self.client);
        let spec = Arc::clone(&self.spec);
        let scope = Arc::clone(&self.scope);
        let protection = Arc::clone(&self.protection);
        let gauges = self.gauges.clone();
        let RunContext {
            deadline,
            limits,
            cancel,
            ..
        } = context;
        let work = async move {
            let database = database(&client, &spec, &gauges).await?;
            check_scope(&scope, database.name(), &plan)?;
            let lineage = match &plan {
                MongoPlan::Query(read) => trace::trace(protection.as_ref(), database.name(), read),
                _ => Default::default(),
            };
            let mut output = execute(&database, plan, &limits, deadline, &scope).await?;
            output.lineage = lineage;
            Ok(output)
        };
        Box::pin(async move {
            let client_deadline = deadline.at() + CLIENT_GRACE;
            tokio::select! {
                biased;
                () = cancel.cancelled() => Err(OperationError::new(
                    ErrorCode::Cancelled,
                    "cancelled by the control plane",
                )),
                outcome = tokio::time::timeout_at(client_deadline.into(), work) => {
                    outcome.unwrap_or_else(|_| Err(deadline.expired_error("the database")))
                }
            }
        })
    }

    /// A `ping` round trip and the user's privileges.
    fn check_health(&self) -> LocalFuture<Result<DatabaseHealth, HealthError>> {
        let client = Rc::clone(&self.client);
        let spec = Arc::clone(&self.spec);
        let gauges = self.gauges.clone();
        let deadline =
            Duration::from_secs(spec.connection.connect_timeout_seconds()) + HEALTH_GRACE;
        Box::pin(async move {
            let check = async {
                let database = database(&client, &spec, &gauges)
                    .await
                    .map_err(|err| HealthError::Database(err.message))?;
                health::check(&database).await
            };
            actix_rt::time::timeout(deadline, check)
                .await
                .unwrap_or_else(|_| Err(HealthError::TimedOut))
        })
    }
}

/// Every collection the plan reads must be in the resource's table scope.
fn check_scope(scope: &TableScope, database: &str, plan: &MongoPlan) -> Result<(), OperationError> {
    let read = match plan {
        MongoPlan::Query(read) | MongoPlan::Explain { read, .. } => read,
        MongoPlan::DescribeTable { collection } => {
            return in_scope(scope, database, collection);
        }
        MongoPlan::ListTables => return Ok(()),
    };
    let (collection, pipeline) = match read {
        params::Read::Find { collection, .. } | params::Read::Count { collection, .. } => {
            (collection, &[][..])
        }
        params::Read::Aggregate {
            collection,
            pipeline,
        } => (collection, pipeline.as_slice()),
    };
    in_scope(scope, database, collection)?;
    for source in pipeline_sources(pipeline) {
        in_scope(scope, database, &source)?;
    }
    Ok(())
}

fn in_scope(scope: &TableScope, database: &str, collection: &str) -> Result<(), OperationError> {
    let name = QualifiedName::new(database, collection);
    if scope.permits(&name) {
        return Ok(());
    }
    Err(OperationError::new(
        ErrorCode::NotAllowedRelation,
        format!("collection {name} is outside this resource's table scope"),
    ))
}

async fn execute(
    database: &Database,
    plan: MongoPlan,
    limits: &Limits,
    deadline: Deadline,
    scope: &TableScope,
) -> Result<OperationOutput, OperationError> {
    match plan {
        MongoPlan::Query(read) => exec::run_read(database, read, limits, deadline).await,
        MongoPlan::ListTables => catalog::list_tables(database, limits, deadline, scope).await,
        MongoPlan::DescribeTable { collection } => {
            catalog::describe_table(database, &collection, limits, deadline).await
        }
        MongoPlan::Explain {
            read,
            execution_stats,
        } => exec::explain(database, read, execution_stats, deadline).await,
    }
}

/// The configured database on the shared client, making the client on first use, with its
/// pool reporting to `gauges`.
async fn database(
    cell: &OnceCell<Client>,
    spec: &Resource,
    gauges: &PoolGauges,
) -> Result<Database, OperationError> {
    let unavailable =
        |message: String| OperationError::new(ErrorCode::ResourceUnavailable, message);
    let client = cell
        .get_or_try_init(|| async {
            let mut options = options::client_options(spec)
                .await
                .map_err(|err| unavailable(err.to_string()))?;
            options.cmap_event_handler = Some(pool_events::handler(gauges.clone()));
            Client::with_options(options).map_err(|err| unavailable(describe_error(&err)))
        })
        .await?;
    client
        .default_database()
        .ok_or_else(|| unavailable("no database configured".to_owned()))
}

/// A driver error as an operation error: the wire code it deserves and a message without
/// credentials.
pub fn failure(err: &DriverError) -> OperationError {
    let code = match err.kind.as_ref() {
        ErrorKind::Command(command) if command.code == 50 => ErrorCode::Timeout,
        ErrorKind::ServerSelection { .. }
        | ErrorKind::Io(_)
        | ErrorKind::ConnectionPoolCleared { .. }
        | ErrorKind::Authentication { .. }
        | ErrorKind::DnsResolve { .. } => ErrorCode::ResourceUnavailable,
        _ => ErrorCode::QueryFailed,
    };
    OperationError::new(code, describe_error(err))
}

/// A short description of a driver error: the server's code and message for command errors.
pub fn describe_error(err: &DriverError) -> String {
    let text = match err.kind.as_ref() {
        ErrorKind::Command(command) => format!(
            "{} ({}): {}",
            command.code_name, command.code, command.message
        ),
        other => other.to_string(),
    };
    options::scrub(&text)
}
