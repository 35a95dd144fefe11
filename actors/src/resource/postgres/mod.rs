//! A PostgreSQL resource's backend: parses and checks each operation (policy first, without touching
//! the database), then runs it on a blocking thread over the resource's pool.

mod answer;
mod at_once;
pub mod cancel;
pub mod catalog;
mod classify;
pub mod connect;
pub mod connect_gate;
mod echo;
pub mod exec;
pub mod health;
mod own_sql;
pub use own_sql::own_statements;
mod params;
pub mod plan;
pub mod pool;
pub mod privileges;
pub mod snapshot;
mod snapshot_protect;
pub mod snapshot_sql;
pub mod statements;
mod text_casts;
mod trace;

use crate::messages::{OperationError, OperationOutput, Produced};
use crate::metrics::PoolGauges;
use crate::policy::lineage::ColumnProtection;
use crate::policy::patterns::TableScope;
use crate::policy::{Rules, SqlPolicy, StatementKind};
use crate::protocol::{ErrorCode, Request};
use crate::resource::off_thread::OffThreadDrop;
use crate::tls::{self, TlsSetupError};
use cancel::CancelRegistry;
use exec::{read_only, run_statement, Limits};
use health::CatalogUpdate;
pub use plan::PlannedOperation;
use plan::{refusal, PendingCheck};
use relay_config::{Operation, PostgresConnection, Resource, SslMode};
use serde_json::Value;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::{watch, Semaphore};

pub use pool::{build_pool, PgPool};

/// A boxed future of the actor's thread.
pub type LocalFuture<T> = Pin<Box<dyn Future<Output = T>>>;

/// The PostgreSQL side of a resource.
pub struct PgBackend {
    spec: Arc<Resource>,
    connection: Arc<PostgresConnection>,
    pool: Arc<OffThreadDrop<PgPool>>,
    policy: SqlPolicy,
    cancels: CancelRegistry,
    /// One permit per pooled connection: requests beyond the pool wait here as futures instead of
    /// each holding a blocking thread (with its own allocator arena) while it waits for a connection.
    connection_permits: Arc<Semaphore>,
    /// Outputs of this resource that may be in memory before they are masked (see [`Produced`]).
    result_slots: Arc<Semaphore>,
    catalog: Arc<CatalogState>,
    /// Which table columns the masking column rules protect, for the catalog snapshot.
    protection: Arc<dyn ColumnProtection>,
    /// The pool's gauges; requests waiting for a permit count in its queue depth.
    gauges: PoolGauges,
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
        let spec_pool_size = spec.pool_size.max(1) as usize;
        let result_slots = Produced::slots_for(spec.pool_size);
        Ok(PgBackend {
            spec,
            connection,
            pool,
            policy,
            cancels: CancelRegistry::default(),
            connection_permits: Arc::new(Semaphore::new(spec_pool_size)),
            result_slots,
            catalog: Arc::new(CatalogState {
                fingerprint: Mutex::new(None),
                checks: watch::channel(0).0,
            }),
            protection,
            gauges,
        })
    }

    /// Parses the request's params and judges its SQL when the verdict is remembered. Pure: no
    /// database access, no parse on the actor thread.
    pub fn plan(
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
    /// operation on a blocking thread over the pool.
    pub fn run(
        &self,
        request: &Request,
        planned: PlannedOperation,
    ) -> LocalFuture<Result<Produced, OperationError>> {
        let statement_timeout = Duration::from_millis(self.spec.statement_timeout_ms);
        // A request may shorten the resource's statement timeout, never lengthen it.
        let timeout = request.timeout_ms.map_or(statement_timeout, |ms| {
            Duration::from_millis(ms).min(statement_timeout)
        });
        let limits = Limits {
            timeout,
            max_rows: self.spec.max_rows_per_query,
            max_bytes: self.spec.max_result_bytes,
            release_advisory_locks: self.policy.rules().vouches_for_anything(),
            guard_size: false,
        };
        let pool = Arc::clone(&self.pool);
        let cancels = self.cancels.clone();
        let request_id = request.id.clone();
        // Registered before waiting, so a cancel that arrives while the request waits still counts.
        let slot = cancels.start(&request_id);
        let permits = Arc::clone(&self.connection_permits);
        let result_slots = Arc::clone(&self.result_slots);
        let policy = self.policy.clone();
        let catalog = Arc::clone(&self.catalog);
        let protection = Arc::clone(&self.protection);
        let gauges = self.gauges.clone();
        Box::pin(async move {
            let deadline = Instant::now() + timeout;
            let outcome = match planned.pending_check() {
                Some(check) => check_off_thread(&policy, &catalog, check.clone(), deadline).await,
                None => Ok(()),
            };
            let outcome = match outcome {
                Ok(()) => {
                    let wait = async {
                        let _waiting = gauges.waiting();
                        let result_slot = result_slots.acquire_owned().await?;
                        let connection = permits.acquire_owned().await?;
                        Ok::<_, tokio::sync::AcquireError>((result_slot, connection))
                    };
                    let left = deadline.saturating_duration_since(Instant::now());
                    // Waiting for a connection counts against the request's time.
                    match tokio::time::timeout(left, wait).await {
                        Ok(Ok((result_slot, permit))) => {
                            let task = actix_rt::task::spawn_blocking(move || {
                                let context = Context {
                                    policy: &policy,
                                    protection: &protection,
                                    slot: &slot,
                                };
                                let outcome = execute(&pool, planned, limits, &context);
                                drop(permit);
                                outcome
                            });
                            let outcome = task.await.unwrap_or_else(|err| {
                                Err(OperationError::new(
                                    ErrorCode::Internal,
                                    format!("operation crashed: {err}"),
                                ))
                            });
                            outcome.map(|output| Produced {
                                output,
                                slot: Some(result_slot),
                            })
                        }
                        Ok(Err(_)) => Err(OperationError::new(
                            ErrorCode::ResourceUnavailable,
                            "the resource is shutting down",
                        )),
                        Err(_) => Err(OperationError::new(
                            ErrorCode::ResourceUnavailable,
                            format!("no database connection within {} ms", timeout.as_millis()),
                        )),
                    }
                }
                Err(err) => Err(err),
            };
            cancels.finish(&request_id);
            outcome
        })
    }

    /// Why connecting failed last, and how long until the next attempt may start; `None` once a
    /// connection opened again.
    pub fn connect_failure(&self) -> Option<(String, Duration)> {
        self.pool
            .known_failure()
            .map(|(cause, wait)| (cause.message, wait))
    }

    /// Cancels a running request's statement, if it is running.
    pub fn cancel(&self, request_id: &str) {
        if let Some(token) = self.cancels.cancel(request_id) {
            self.send_cancel(token);
        }
    }

    /// Cancels every request this backend runs (at shutdown, once the grace period is over).
    pub fn cancel_all(&self) {
        for token in self.cancels.cancel_all() {
            self.send_cancel(token);
        }
    }

    /// Sends a cancel request on a blocking thread (it opens a connection to the server).
    fn send_cancel(&self, token: postgres::CancelToken) {
        let tls = database_tls(&self.spec.id, &self.connection);
        actix_rt::task::spawn_blocking(move || match tls {
            Ok(tls) => token.cancel_query(tokio_postgres_rustls::MakeRustlsConnect::new(tls)),
            Err(_) => token.cancel_query(postgres::NoTls),
        });
    }

    /// A health check on a blocking thread; it also brings the policy's catalog snapshot up to
    /// date, or takes it away (refusing every statement) when it cannot be read.
    pub fn check_health(&self) -> LocalFuture<Result<crate::resource::DatabaseHealth, String>> {
        let pool = Arc::clone(&self.pool);
        let timeout = Duration::from_secs(self.connection.connect_timeout_seconds.max(5));
        let policy = self.policy.clone();
        let catalog = Arc::clone(&self.catalog);
        let known = catalog.fingerprint().clone();
        let protection = Arc::clone(&self.protection);
        let task = actix_rt::task::spawn_blocking(move || {
            health::check(&pool, timeout, known.as_deref(), protection.as_ref())
        });
        Box::pin(async move {
            let outcome = task
                .await
                .unwrap_or_else(|err| Err(format!("health check crashed: {err}")));
            let outcome = match outcome {
                Ok((found, CatalogUpdate::Unchanged)) => Ok(found),
                Ok((found, CatalogUpdate::Changed(fingerprint, snapshot))) => {
                    policy.set_catalog(Ok(Arc::new(*snapshot)));
                    *catalog.fingerprint() = Some(fingerprint);
                    Ok(found)
                }
                Err(reason) => {
                    policy.set_catalog(Err(reason.clone()));
                    *catalog.fingerprint() = None;
                    Err(reason)
                }
            };
            catalog.checks.send_modify(|checks| *checks += 1);
            outcome
        })
    }
}

impl CatalogState {
    fn fingerprint(&self) -> std::sync::MutexGuard<'_, Option<String>> {
        self.fingerprint.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// Runs a policy check on a blocking thread. Before the first health check there is no catalog
/// snapshot to judge against, so the check waits for it (within the request's time) once.
async fn check_off_thread(
    policy: &SqlPolicy,
    catalog: &CatalogState,
    check: PendingCheck,
    deadline: Instant,
) -> Result<(), OperationError> {
    let mut checks = catalog.checks.subscribe();
    if *checks.borrow_and_update() == 0 {
        let left = deadline.saturating_duration_since(Instant::now());
        let _ = tokio::time::timeout(left, checks.changed()).await;
    }
    let policy = policy.clone();
    let verdict = actix_rt::task::spawn_blocking(move || check.run(&policy))
        .await
        .map_err(|err| {
            OperationError::new(ErrorCode::Internal, format!("policy check crashed: {err}"))
        })?;
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
}

fn execute(
    pool: &PgPool,
    planned: PlannedOperation,
    mut limits: Limits,
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
            let query = at_once::Query {
                sql: &sql,
                params: &params,
                limits,
                cancel: slot,
                tracing: Some(&tracing),
            };
            at_once::run_query(pool, &query).map_err(|err| echo::without_echoed_values(err, &sql))
        }
        PlannedOperation::ListTables { schema } => {
            catalog::list_tables(pool, schema, scope, limits)
        }
        PlannedOperation::DescribeTable { table, schema } => {
            catalog::describe_table(pool, table, schema, scope, limits)
        }
        PlannedOperation::Explain { sql, .. } => {
            let mut output = read_only(pool, limits, Some(slot), |tx, statements| {
                run_statement(tx, statements, &sql, &[], limits, Some(slot), None)
            })
            .map_err(|err| echo::without_echoed_values(err, &sql))?;
            if output
                .columns
                .first()
                .is_some_and(|c| c.type_name == "json")
            {
                output.details = output.rows.first().and_then(|row| row.first()).cloned();
                output.rows.clear();
            }
            Ok(output)
        }
    }
}
