//! A PostgreSQL resource's backend: parses and checks each operation (policy first, without touching
//! the database), then runs it on a blocking thread over the resource's pool.

mod answer;
mod at_once;
pub mod cancel;
pub mod catalog;
mod classify;
pub mod connect;
pub mod connect_gate;
pub mod describe;
mod echo;
pub mod exec;
pub mod health;
mod own_sql;
pub use own_sql::own_statements;
mod params;
pub mod plan;
pub mod pool;
pub mod privileges;
mod query;
pub mod snapshot;
mod snapshot_protect;
pub mod snapshot_sql;
pub mod statements;
mod text_casts;
mod timeouts;
mod trace;

use crate::domain::RowMasking;
use crate::messages::{OperationError, OperationOutput};
use crate::metrics::PoolGauges;
use crate::policy::lineage::ColumnProtection;
use crate::policy::patterns::TableScope;
use crate::policy::{CatalogUnreadable, Rules, SqlPolicy, StatementKind};
use crate::resource::admission::not_cancelled;
use crate::resource::backend::{crashed, Backend, CancelHandle, LocalFuture, RunContext};
use crate::resource::off_thread::OffThreadDrop;
use crate::resource::workers::Workers;
use crate::resource::{DatabaseHealth, Deadline, HealthError};
use crate::tls::{self, TlsSetupError};
use cancel::CancelRegistry;
use exec::StatementLimits;
use health::CatalogUpdate;
pub use plan::PlannedOperation;
use plan::{refusal, PendingCheck};
use relay_config::{Operation, PostgresConnection, Resource, SslMode};
use serde_json::Value;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::watch;

pub use pool::{build_pool, PgPool};

/// The PostgreSQL side of a resource. Its pool (at most `poolSize` connections) is its own bound;
/// admission and result slots are the resource's.
pub struct PgBackend {
    spec: Arc<Resource>,
    connection: Arc<PostgresConnection>,
    pool: Arc<OffThreadDrop<PgPool>>,
    policy: SqlPolicy,
    cancels: CancelRegistry,
    /// One thread per pooled connection runs the operations, queued in order; a request waits
    /// for a connection in their queue. The threads stay as few as the connections (each keeps
    /// its own allocator arena, so more threads would hold more memory), and one that finishes
    /// takes the next queued operation without a hand-off.
    workers: Arc<Workers>,
    catalog: Arc<CatalogState>,
    /// Which table columns the masking column rules protect, for the catalog snapshot.
    protection: Arc<dyn ColumnProtection>,
}

/// What the backend knows about its catalog snapshot beyond the policy's copy.
struct CatalogState {
    /// The fingerprint of the snapshot the policy holds.
    fingerprint: Mutex<Option<String>>,
    /// Health checks finished so far: a request that finds no snapshot before the first one waits
    /// for it instead of failing.
    checks: watch::Sender<u64>,
}

/// The policy a resource's configuration asks for, waiting for its first catalog snapshot.
pub fn policy_for(spec: &Resource) -> SqlPolicy {
    let scope = TableScope::new(
        spec.tables.allow.as_deref().unwrap_or_default(),
        &spec.tables.deny,
    );
    let rules = Rules::new(
        &spec.allowed_functions,
        &spec.allowed_relations,
        Some(scope),
    );
    SqlPolicy::with_rules(rules, spec.explain_analyze)
}

impl PgBackend {
    /// Builds the pool (without connecting) and the policy; `health_interval` caps the delay
    /// between connection attempts after failures. The pool reports to `gauges`.
    pub fn new(
        spec: Arc<Resource>,
        connection: Arc<PostgresConnection>,
        protection: Arc<dyn ColumnProtection>,
        health_interval: Duration,
        log: &slog::Logger,
        gauges: PoolGauges,
    ) -> Result<Self, TlsSetupError> {
        let tls = database_tls(&spec.id, &connection)?;
        let pool =
            build_pool(&spec, &connection, tls, health_interval, log).with_gauges(gauges.clone());
        let pool = Arc::new(OffThreadDrop::new(pool));
        let policy = policy_for(&spec);
        let workers = Workers::new(&spec.id, pool.max_size() as usize, gauges);
        Ok(PgBackend {
            spec,
            connection,
            pool,
            policy,
            cancels: CancelRegistry::default(),
            workers: Arc::new(workers),
            catalog: Arc::new(CatalogState {
                fingerprint: Mutex::new(None),
                checks: watch::channel(0).0,
            }),
            protection,
        })
    }

    /// The notes `relay check --connect` prints about a catalog snapshot just read.
    fn notes_of(update: &CatalogUpdate) -> Vec<String> {
        match update {
            CatalogUpdate::Changed(_, snapshot) => health::function_notes(snapshot),
            CatalogUpdate::Unchanged => Vec::new(),
        }
    }
}

impl Backend for PgBackend {
    type Plan = PlannedOperation;

    /// Parses the request's params and judges its SQL when the verdict is remembered. Pure: no
    /// database access, no parse on the actor thread.
    fn plan(
        &self,
        operation: Operation,
        params: &Value,
    ) -> Result<PlannedOperation, OperationError> {
        plan::plan(
            &self.policy,
            self.spec.max_statement_bytes,
            operation,
            params,
        )
    }

    /// Runs a planned operation: the policy check still pending (off the actor thread), then the
    /// operation on a blocking thread over the pool, its checkout and statements bounded by the
    /// request's deadline.
    fn run(
        &self,
        planned: PlannedOperation,
        context: RunContext,
    ) -> LocalFuture<Result<OperationOutput, OperationError>> {
        let RunContext {
            deadline,
            limits,
            cancel,
            masking,
        } = context;
        let limits = StatementLimits {
            deadline,
            max_rows: limits.max_rows,
            max_bytes: limits.max_bytes,
            release_advisory_locks: self.policy.rules().vouches_for_anything(),
            guard_size: false,
        };
        let pool = Arc::clone(&self.pool);
        let cancels = self.cancels.clone();
        // Registered before any wait, so a cancel that arrives meanwhile still counts.
        let request = cancel.key();
        let slot = cancels.start(request);
        let policy = self.policy.clone();
        let catalog = Arc::clone(&self.catalog);
        let protection = Arc::clone(&self.protection);
        let workers = Arc::clone(&self.workers);
        Box::pin(async move {
            let outcome = async {
                if let Some(check) = planned.pending_check() {
                    check_off_thread(&policy, &catalog, check.clone(), deadline).await?;
                }
                let cancelled = cancel.clone();
                let ticket = workers.submit(move || {
                    // A cancel or a deadline that came before a worker took it (a cancel already
                    // made, too, ends the wait below at once) stops it here, before it takes a
                    // connection.
                    not_cancelled(&cancelled)?;
                    if deadline.expired() {
                        return Err(deadline.expired_error(CONNECTION_WAIT));
                    }
                    let context = Context {
                        policy: &policy,
                        protection: &protection,
                        slot: &slot,
                        masking: masking.as_deref(),
                    };
                    execute(&pool, planned, limits, &context)
                });
                ticket.answer(CONNECTION_WAIT, &deadline, &cancel).await?
            }
            .await;
            cancels.finish(request);
            outcome
        })
    }

    /// Cancels a running request's statement, if it is running.
    fn cancel(&self, request: &CancelHandle) {
        if let Some(token) = self.cancels.cancel(request.key()) {
            let tls = database_tls(&self.spec.id, &self.connection);
            actix_rt::task::spawn_blocking(move || match tls {
                Ok(tls) => token.cancel_query(tokio_postgres_rustls::MakeRustlsConnect::new(tls)),
                Err(_) => token.cancel_query(postgres::NoTls),
            });
        }
    }

    /// A health check on a blocking thread; it also brings the policy's catalog snapshot up to
    /// date, or takes it away (refusing every statement) when it cannot be read.
    fn check_health(&self) -> LocalFuture<Result<DatabaseHealth, HealthError>> {
        let pool = Arc::clone(&self.pool);
        let waits = health::HealthWaits::of(&self.spec, &self.connection);
        let bound = waits.whole();
        let policy = self.policy.clone();
        let catalog = Arc::clone(&self.catalog);
        let known = catalog.fingerprint().clone();
        let protection = Arc::clone(&self.protection);
        let task = actix_rt::task::spawn_blocking(move || {
            health::check(&pool, &waits, known.as_deref(), protection.as_ref())
        });
        Box::pin(async move {
            let outcome = match health::within(bound, task).await {
                Ok((found, CatalogUpdate::Unchanged)) => Ok(found),
                Ok((mut found, update)) => {
                    found.notes = PgBackend::notes_of(&update);
                    if let CatalogUpdate::Changed(fingerprint, snapshot) = update {
                        policy.set_catalog(Ok(Arc::new(*snapshot)));
                        *catalog.fingerprint() = Some(fingerprint);
                    }
                    Ok(found)
                }
                Err(reason) => {
                    policy.set_catalog(Err(CatalogUnreadable(reason.to_string())));
                    *catalog.fingerprint() = None;
                    Err(reason)
                }
            };
            catalog.checks.send_modify(|checks| *checks += 1);
            outcome
        })
    }

    /// Why connecting failed last, and how long until the next attempt may start; `None` once a
    /// connection opened again.
    fn connect_failure(&self) -> Option<(String, Duration)> {
        self.pool
            .known_failure()
            .map(|(cause, wait)| (cause.message, wait))
    }
}

impl CatalogState {
    fn fingerprint(&self) -> std::sync::MutexGuard<'_, Option<String>> {
        self.fingerprint.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// What a request queued for a connection is said to wait for when its time runs out.
const CONNECTION_WAIT: &str = "a database connection";

/// Runs a policy check on a blocking thread. Before the first health check there is no catalog
/// snapshot to judge against, so the check waits for it (within the request's time) once.
async fn check_off_thread(
    policy: &SqlPolicy,
    catalog: &CatalogState,
    check: PendingCheck,
    deadline: Deadline,
) -> Result<(), OperationError> {
    let mut checks = catalog.checks.subscribe();
    if *checks.borrow_and_update() == 0 {
        let _ = deadline
            .bound("the first catalog snapshot", checks.changed())
            .await;
    }
    let policy = policy.clone();
    let verdict = actix_rt::task::spawn_blocking(move || check.run(&policy))
        .await
        .map_err(|err| crashed("the policy check", &err))?;
    verdict.map_err(refusal)
}

/// TLS to the database as `sslmode` says: certificates are verified with `verify-full` or when a
/// `caFile` is given; `prefer` and `require` otherwise only encrypt, as libpq does.
pub fn database_tls(
    id: &str,
    connection: &PostgresConnection,
) -> Result<rustls::ClientConfig, TlsSetupError> {
    let verify = connection.sslmode == SslMode::VerifyFull || connection.ca_file.is_some();
    if verify {
        let key = format!("resources[{id}].connection.caFile");
        tls::client_config(connection.ca_file.as_deref(), &key, Vec::new())
    } else {
        tls::encrypt_only_config()
    }
}

/// What running one operation needs besides the operation itself.
struct Context<'a> {
    policy: &'a SqlPolicy,
    protection: &'a Arc<dyn ColumnProtection>,
    slot: &'a cancel::CancelSlot,
    /// Masks a query's rows as they are written, when given.
    masking: Option<&'a dyn RowMasking>,
}

fn execute(
    pool: &PgPool,
    planned: PlannedOperation,
    mut limits: StatementLimits,
    context: &Context<'_>,
) -> Result<OperationOutput, OperationError> {
    let Context { policy, slot, .. } = *context;
    let scope = policy.rules().scope.as_ref();
    let limits = &mut limits;
    match planned {
        PlannedOperation::Query { sql, params, .. } => {
            let tracing = trace::Tracing::for_query(policy, context.protection, &sql)?;
            limits.guard_size = tracing.kind() == StatementKind::Select;
            let limits = &*limits;
            let query = query::Query {
                sql: &sql,
                params: &params,
                limits,
                cancel: slot,
                tracing: Some(&tracing),
                plan_only: false,
                masking: context.masking,
            };
            at_once::run_query(pool, &query).map_err(|err| echo::without_echoed_values(err, &sql))
        }
        PlannedOperation::ListTables { schema } => {
            catalog::list_tables(pool, schema, scope, limits, slot)
        }
        PlannedOperation::DescribeTable { table, schema } => {
            describe::describe_table(pool, table, schema, scope, limits, slot)
        }
        PlannedOperation::Explain { sql, analyze, .. } => {
            let limits = &*limits;
            let query = query::Query {
                sql: &sql,
                params: &[],
                limits,
                cancel: slot,
                tracing: None,
                plan_only: !analyze,
                // The plan becomes the answer's details, so it stays a value.
                masking: None,
            };
            let output = at_once::run_query(pool, &query)
                .map_err(|err| echo::without_echoed_values(err, &sql))?;
            Ok(at_once::plan_as_details(output))
        }
    }
}
