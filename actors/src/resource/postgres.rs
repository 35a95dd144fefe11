//! PostgreSQL access for a resource: the connection pool and the blocking calls made on it.
//!
//! Everything here blocks and must run on a blocking thread (`spawn_blocking`), never on an actix thread.

use crate::messages::{OperationError, OperationOutput};
use crate::protocol::{Column, ErrorCode};
use postgres::NoTls;
use r2d2::Pool;
use r2d2_postgres::PostgresConnectionManager;
use relay_config::Resource;
use serde_json::{json, Value};
use std::time::{Duration, Instant};

/// The pool type each PostgreSQL resource owns.
pub type PgPool = Pool<PostgresConnectionManager<NoTls>>;

/// Builds the pool without connecting: connections are opened on demand on r2d2's own threads.
pub fn build_pool(resource: &Resource) -> PgPool {
    let connection = &resource.connection;
    let mut config = postgres::Config::new();
    config
        .host(connection.host.as_deref().unwrap_or("localhost"))
        .port(connection.port_or_default(resource.kind))
        .dbname(connection.database.as_deref().unwrap_or_default())
        .user(connection.user.as_deref().unwrap_or_default())
        .application_name(&connection.application_name)
        .connect_timeout(Duration::from_secs(connection.connect_timeout_seconds));
    if let Some(password) = &connection.password {
        config.password(password.expose());
    }
    let manager = PostgresConnectionManager::new(config, NoTls);
    Pool::builder()
        .max_size(resource.pool_size)
        .min_idle(Some(0))
        .connection_timeout(Duration::from_secs(connection.connect_timeout_seconds))
        .build_unchecked(manager)
}

/// A `SELECT 1` round trip; returns its latency.
pub fn check_health(pool: &PgPool) -> Result<Duration, String> {
    let started = Instant::now();
    let mut connection = pool.get().map_err(|err| format!("cannot connect: {err}"))?;
    connection
        .query_one("SELECT 1", &[])
        .map_err(|err| format!("health query failed: {err}"))?;
    Ok(started.elapsed())
}

/// Catalog query behind `list_tables`: cheaper than information_schema, and includes size estimates.
const LIST_TABLES_SQL: &str = "\
SELECT n.nspname::text, c.relname::text,
       CASE c.relkind WHEN 'v' THEN 'view' WHEN 'm' THEN 'materialized_view'
                      WHEN 'f' THEN 'foreign_table' ELSE 'table' END,
       GREATEST(c.reltuples, 0)::bigint, pg_catalog.pg_total_relation_size(c.oid)
  FROM pg_catalog.pg_class c
  JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
 WHERE c.relkind IN ('r', 'p', 'v', 'm', 'f')
   AND (($1::text IS NULL AND n.nspname NOT IN ('pg_catalog', 'information_schema')
         AND n.nspname NOT LIKE 'pg\\_toast%' AND n.nspname NOT LIKE 'pg\\_temp%')
        OR n.nspname = $1::text)
 ORDER BY 1, 2
 LIMIT $2";

/// Tables, views and materialized views, optionally of one schema, in a read-only transaction.
pub fn list_tables(
    pool: &PgPool,
    schema: Option<String>,
    max_rows: u32,
    timeout: Duration,
) -> Result<OperationOutput, OperationError> {
    let mut connection = pool.get().map_err(unavailable)?;
    let mut transaction = connection
        .build_transaction()
        .read_only(true)
        .start()
        .map_err(failed)?;
    let timeout_sql = format!("SET LOCAL statement_timeout = {}", timeout.as_millis());
    transaction
        .execute(timeout_sql.as_str(), &[])
        .map_err(failed)?;
    let fetch_limit = i64::from(max_rows) + 1;
    let rows = transaction
        .query(LIST_TABLES_SQL, &[&schema, &fetch_limit])
        .map_err(failed)?;
    transaction.rollback().map_err(failed)?;
    let truncated = rows.len() > max_rows as usize;
    let mut table = Vec::with_capacity(rows.len().min(max_rows as usize));
    for row in rows.iter().take(max_rows as usize) {
        table.push(vec![
            json!(row.try_get::<_, String>(0).map_err(failed)?),
            json!(row.try_get::<_, String>(1).map_err(failed)?),
            json!(row.try_get::<_, String>(2).map_err(failed)?),
            json!(row.try_get::<_, i64>(3).map_err(failed)?),
            json!(row.try_get::<_, i64>(4).map_err(failed)?),
        ]);
    }
    Ok(OperationOutput {
        columns: [
            ("schema", "text"),
            ("name", "text"),
            ("kind", "text"),
            ("estimatedRows", "int8"),
            ("sizeBytes", "int8"),
        ]
        .iter()
        .map(|(name, type_name)| Column {
            name: (*name).to_owned(),
            type_name: (*type_name).to_owned(),
        })
        .collect(),
        rows: table,
        truncated,
        details: None::<Value>,
    })
}

fn unavailable(err: r2d2::Error) -> OperationError {
    OperationError::new(
        ErrorCode::ResourceUnavailable,
        format!("cannot connect: {err}"),
    )
}

fn failed(err: postgres::Error) -> OperationError {
    let code = if err.as_db_error().map(|db| db.code().code()) == Some("57014") {
        ErrorCode::Timeout
    } else {
        ErrorCode::QueryFailed
    };
    let message = match err.as_db_error() {
        Some(db) => db.message().to_owned(),
        None => err.to_string(),
    };
    OperationError::new(code, message)
}
