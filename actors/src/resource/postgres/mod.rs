//! A PostgreSQL resource's backend: parses and checks each operation (policy first, without touching
//! the database), then runs it on a blocking thread over the resource's pool.

pub mod cancel;
pub mod catalog;
pub mod exec;
pub mod health;
mod params;
pub mod pool;
pub mod statements;

use crate::messages::{OperationError, OperationOutput, Produced};
use crate::policy::{PolicyViolation, SqlPolicy};
use crate::protocol::{ErrorCode, Request};
use crate::resource::off_thread::OffThreadDrop;
use crate::tls::{self, TlsSetupError};
use cancel::CancelRegistry;
use exec::{read_only, run_statement, Limits};
use relay_config::{Operation, Resource, SslMode};
use serde_json::Value;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Semaphore;

pub use pool::{build_pool, PgPool};

/// A boxed future of the actor's thread.
pub type LocalFuture<T> = Pin<Box<dyn Future<Output = T>>>;

/// An operation whose parameters were parsed and whose SQL passed the policy.
#[derive(Debug, Clone, PartialEq)]
pub enum PlannedOperation {
    Query {
        sql: String,
        params: Vec<Value>,
    },
    ListTables {
        schema: Option<String>,
    },
    DescribeTable {
        table: String,
        schema: Option<String>,
    },
    Explain {
        sql: String,
    },
}

/// The PostgreSQL side of a resource.
pub struct PgBackend {
    spec: Arc<Resource>,
    pool: Arc<OffThreadDrop<PgPool>>,
    policy: SqlPolicy,
    cancels: CancelRegistry,
    /// One permit per pooled connection: requests beyond the pool wait here as futures instead of
    /// each holding a blocking thread (with its own allocator arena) while it waits for a connection.
    connection_permits: Arc<Semaphore>,
    /// Outputs of this resource that may be in memory before they are masked (see [`Produced`]).
    result_slots: Arc<Semaphore>,
}

impl PgBackend {
    /// Builds the pool (without connecting) and the policy.
    pub fn new(spec: Arc<Resource>) -> Result<Self, TlsSetupError> {
        let tls = database_tls(&spec)?;
        let pool = Arc::new(OffThreadDrop::new(build_pool(&spec, tls)));
        let extra_functions: Vec<String> = spec
            .allowed_functions
            .iter()
            .map(|f| f.to_lowercase())
            .collect();
        let policy = SqlPolicy::new(&extra_functions, spec.explain_analyze);
        let spec_pool_size = spec.pool_size.max(1) as usize;
        let result_slots = Produced::slots_for(spec.pool_size);
        Ok(PgBackend {
            spec,
            pool,
            policy,
            cancels: CancelRegistry::default(),
            connection_permits: Arc::new(Semaphore::new(spec_pool_size)),
            result_slots,
        })
    }

    /// Parses the request's params and checks its SQL. Pure: no database access.
    pub fn plan(
        &self,
        operation: Operation,
        params: &Value,
    ) -> Result<PlannedOperation, OperationError> {
        match operation {
            Operation::Query => {
                let sql = required_string(params, "sql")?;
                self.policy.check_query(&sql).map_err(refusal)?;
                let params = match params.get("params") {
                    None | Some(Value::Null) => Vec::new(),
                    Some(Value::Array(values)) => values.clone(),
                    Some(_) => return Err(invalid("params.params must be an array")),
                };
                Ok(PlannedOperation::Query { sql, params })
            }
            Operation::ListTables => Ok(PlannedOperation::ListTables {
                schema: optional_string(params, "schema")?,
            }),
            Operation::DescribeTable => Ok(PlannedOperation::DescribeTable {
                table: required_string(params, "table")?,
                schema: optional_string(params, "schema")?,
            }),
            Operation::Explain => self.plan_explain(params),
        }
    }

    fn plan_explain(&self, params: &Value) -> Result<PlannedOperation, OperationError> {
        let sql = required_string(params, "sql")?;
        let format = optional_string(params, "format")?.unwrap_or_else(|| "json".to_owned());
        if !matches!(format.as_str(), "json" | "text") {
            return Err(invalid("params.format must be \"json\" or \"text\""));
        }
        let analyze = match params.get("analyze") {
            None | Some(Value::Null) => false,
            Some(Value::Bool(flag)) => *flag,
            Some(_) => return Err(invalid("params.analyze must be a boolean")),
        };
        self.policy.check_explainable(&sql).map_err(refusal)?;
        let options = if analyze { ", ANALYZE" } else { "" };
        let explain = format!("EXPLAIN (FORMAT {}{options})\n{sql}", format.to_uppercase());
        // The full EXPLAIN is checked too: this is where ANALYZE is refused unless allowed.
        self.policy.check_query(&explain).map_err(refusal)?;
        Ok(PlannedOperation::Explain { sql: explain })
    }

    /// Runs a planned operation on a blocking thread.
    pub fn run(
        &self,
        request: &Request,
        planned: PlannedOperation,
    ) -> LocalFuture<Result<Produced, OperationError>> {
        let timeout =
            Duration::from_millis(request.timeout_ms.unwrap_or(self.spec.statement_timeout_ms));
        let limits = Limits {
            timeout,
            max_rows: self.spec.max_rows_per_query,
            max_bytes: self.spec.max_result_bytes,
            release_advisory_locks: !self.spec.allowed_functions.is_empty(),
        };
        let pool = Arc::clone(&self.pool);
        let cancels = self.cancels.clone();
        let request_id = request.id.clone();
        // Registered before waiting, so a cancel that arrives while the request waits still counts.
        let slot = cancels.start(&request_id);
        let permits = Arc::clone(&self.connection_permits);
        let result_slots = Arc::clone(&self.result_slots);
        Box::pin(async move {
            let wait = async {
                let result_slot = result_slots.acquire_owned().await?;
                let connection = permits.acquire_owned().await?;
                Ok::<_, tokio::sync::AcquireError>((result_slot, connection))
            };
            // Waiting for a connection counts against the request's time, as r2d2's checkout did.
            let outcome = match tokio::time::timeout(timeout, wait).await {
                Ok(Ok((result_slot, permit))) => {
                    let task = actix_rt::task::spawn_blocking(move || {
                        let outcome = execute(&pool, planned, &limits, &slot);
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
            };
            cancels.finish(&request_id);
            outcome
        })
    }

    /// Cancels a running request's statement, if it is running.
    pub fn cancel(&self, request_id: &str) {
        if let Some(token) = self.cancels.cancel(request_id) {
            let tls = database_tls(&self.spec);
            actix_rt::task::spawn_blocking(move || match tls {
                Ok(tls) => token.cancel_query(tokio_postgres_rustls::MakeRustlsConnect::new(tls)),
                Err(_) => token.cancel_query(postgres::NoTls),
            });
        }
    }

    /// A health check on a blocking thread.
    pub fn check_health(&self) -> LocalFuture<Result<crate::resource::DatabaseHealth, String>> {
        let pool = Arc::clone(&self.pool);
        let timeout = Duration::from_secs(self.spec.connection.connect_timeout_seconds.max(5));
        let task = actix_rt::task::spawn_blocking(move || health::check(&pool, timeout));
        Box::pin(async move {
            task.await
                .unwrap_or_else(|err| Err(format!("health check crashed: {err}")))
        })
    }
}

/// TLS to the database as `sslmode` says: certificates are verified with `verify-full` or when a
/// `caFile` is given; `prefer` and `require` otherwise only encrypt, as libpq does.
pub fn database_tls(spec: &Resource) -> Result<rustls::ClientConfig, TlsSetupError> {
    let verify =
        spec.connection.sslmode == SslMode::VerifyFull || spec.connection.ca_file.is_some();
    if verify {
        let key = format!("resources[{}].connection.caFile", spec.id);
        tls::client_config(spec.connection.ca_file.as_deref(), &key, Vec::new())
    } else {
        tls::encrypt_only_config()
    }
}

fn execute(
    pool: &PgPool,
    planned: PlannedOperation,
    limits: &Limits,
    slot: &cancel::CancelSlot,
) -> Result<OperationOutput, OperationError> {
    match planned {
        PlannedOperation::Query { sql, params } => {
            read_only(pool, limits, Some(slot), |tx, statements| {
                run_statement(tx, statements, &sql, &params, limits, Some(slot))
            })
        }
        PlannedOperation::ListTables { schema } => catalog::list_tables(pool, schema, limits),
        PlannedOperation::DescribeTable { table, schema } => {
            catalog::describe_table(pool, table, schema, limits)
        }
        PlannedOperation::Explain { sql } => {
            let mut output = read_only(pool, limits, Some(slot), |tx, statements| {
                run_statement(tx, statements, &sql, &[], limits, Some(slot))
            })?;
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

fn refusal(violation: PolicyViolation) -> OperationError {
    let code = if violation.is_syntax() {
        ErrorCode::InvalidRequest
    } else {
        ErrorCode::NotReadOnly
    };
    OperationError::new(code, violation.to_string())
}

fn invalid(message: &str) -> OperationError {
    OperationError::new(ErrorCode::InvalidRequest, message)
}

fn required_string(params: &Value, key: &str) -> Result<String, OperationError> {
    optional_string(params, key)?
        .filter(|s| !s.trim().is_empty())
        .ok_or_else(|| {
            invalid(&format!(
                "params.{key} is required and must be a non-empty string"
            ))
        })
}

fn optional_string(params: &Value, key: &str) -> Result<Option<String>, OperationError> {
    match params.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(text)) => Ok(Some(text.clone())),
        Some(_) => Err(invalid(&format!("params.{key} must be a string"))),
    }
}
