//! Running statements: always in a READ ONLY transaction with a statement timeout, always rolled back,
//! over the extended protocol only, fetching no more rows than the limit allows.

use super::cancel::CancelSlot;
use super::params::JsonParam;
use super::pool::PgPool;
use crate::messages::{OperationError, OperationOutput};
use crate::protocol::{Column, ErrorCode};
use crate::resource::pg_values::{approximate_json_size, decode, decodes_binary, RawCell};
use postgres::types::ToSql;
use postgres::{Row, Statement, Transaction};
use serde_json::Value;
use std::time::Duration;

/// Limits of one operation.
pub struct Limits {
    pub timeout: Duration,
    pub max_rows: u32,
    pub max_bytes: u64,
}

/// Rows fetched per round trip; small enough to stop soon after the row or byte limit.
const FETCH_BATCH: u32 = 256;

/// Checks out a connection, runs `work` in a READ ONLY transaction and rolls back.
pub fn read_only<T>(
    pool: &PgPool,
    limits: &Limits,
    cancel: Option<&CancelSlot>,
    work: impl FnOnce(&mut Transaction<'_>) -> Result<T, OperationError>,
) -> Result<T, OperationError> {
    let mut connection = pool.get_timeout(limits.timeout).map_err(|err| {
        OperationError::new(
            ErrorCode::ResourceUnavailable,
            format!("no database connection: {err}"),
        )
    })?;
    let mut transaction = connection
        .build_transaction()
        .read_only(true)
        .start()
        .map_err(|err| classify(err, cancel))?;
    transaction
        .batch_execute(&transaction_settings(limits.timeout))
        .map_err(|err| classify(err, cancel))?;
    if let Some(slot) = cancel {
        slot.arm(transaction.cancel_token());
        // A cancel that arrived while the request waited for a connection had no statement to stop.
        if slot.is_cancelled() {
            return Err(OperationError::new(
                ErrorCode::Cancelled,
                "cancelled before it started",
            ));
        }
    }
    let outcome = work(&mut transaction);
    let rolled_back = transaction.rollback();
    match (outcome, rolled_back) {
        (Err(err), _) => Err(err),
        (Ok(_), Err(err)) => Err(classify(err, cancel)),
        (Ok(value), Ok(())) => Ok(value),
    }
}

/// The transaction's own settings, in one round trip: the statement timeout, and pg_catalog first on
/// the search path so a user's schema cannot shadow built-in functions. Sent as a simple query of
/// fixed text and one integer the relay formats itself; statements from the control plane only ever
/// travel over the extended protocol, as bound parameters never spliced into SQL.
fn transaction_settings(timeout: Duration) -> String {
    let timeout_ms = timeout.as_millis().clamp(1, i32::MAX as u128);
    format!(
        "SET LOCAL statement_timeout = {timeout_ms}; \
         SET LOCAL idle_in_transaction_session_timeout = {timeout_ms}; \
         SELECT pg_catalog.set_config('search_path', \
             'pg_catalog, ' || pg_catalog.current_setting('search_path'), true)"
    )
}

/// Maps a driver error to a wire error: statement timeout, cancellation, read-only refusal, or failure.
pub fn classify(err: postgres::Error, cancel: Option<&CancelSlot>) -> OperationError {
    let Some(db) = err.as_db_error() else {
        let code = if err.is_closed() {
            ErrorCode::ResourceUnavailable
        } else {
            ErrorCode::QueryFailed
        };
        return OperationError::new(code, err.to_string());
    };
    let sqlstate = db.code().code();
    let code = match sqlstate {
        "57014" if cancel.is_some_and(CancelSlot::is_cancelled) => ErrorCode::Cancelled,
        "57014" => ErrorCode::Timeout,
        "25006" => ErrorCode::NotReadOnly,
        _ => ErrorCode::QueryFailed,
    };
    OperationError::new(code, format!("{} (SQLSTATE {sqlstate})", db.message()))
}

/// Runs one checked statement and returns at most `max_rows` rows.
pub fn run_statement(
    transaction: &mut Transaction<'_>,
    sql: &str,
    params: &[Value],
    limits: &Limits,
    cancel: Option<&CancelSlot>,
) -> Result<OperationOutput, OperationError> {
    let classify = |err| classify(err, cancel);
    let mut statement = transaction.prepare(sql).map_err(classify)?;
    let columns = describe_columns(&statement);
    if statement
        .columns()
        .iter()
        .any(|c| !decodes_binary(c.type_()))
    {
        statement = transaction
            .prepare(&with_text_casts(sql, &statement))
            .map_err(classify)?;
    }
    if statement.params().len() != params.len() {
        return Err(OperationError::new(
            ErrorCode::InvalidRequest,
            format!(
                "statement takes {} parameter(s), {} given",
                statement.params().len(),
                params.len()
            ),
        ));
    }
    let params: Vec<JsonParam> = params.iter().cloned().map(JsonParam).collect();
    let refs: Vec<&(dyn ToSql + Sync)> = params.iter().map(|p| p as &(dyn ToSql + Sync)).collect();
    let portal = transaction.bind(&statement, &refs).map_err(classify)?;
    let mut rows = Vec::new();
    let mut bytes = 0u64;
    loop {
        let wanted = (limits.max_rows as usize + 1 - rows.len()).min(FETCH_BATCH as usize);
        let batch = transaction
            .query_portal(&portal, wanted as i32)
            .map_err(classify)?;
        let exhausted = batch.len() < wanted;
        for row in &batch {
            if rows.len() == limits.max_rows as usize {
                return Ok(output(columns, rows, true));
            }
            let decoded = decode_row(row)?;
            bytes += decoded
                .iter()
                .map(|v| approximate_json_size(v) as u64 + 1)
                .sum::<u64>();
            if bytes > limits.max_bytes {
                return Err(too_large(limits.max_bytes));
            }
            rows.push(decoded);
        }
        if exhausted {
            return Ok(output(columns, rows, false));
        }
    }
}

fn output(columns: Vec<Column>, rows: Vec<Vec<Value>>, truncated: bool) -> OperationOutput {
    OperationOutput {
        columns,
        rows,
        truncated,
        details: None,
    }
}

fn too_large(limit: u64) -> OperationError {
    OperationError::new(
        ErrorCode::ResultTooLarge,
        format!("result exceeds {limit} bytes; select fewer columns or rows"),
    )
}

fn describe_columns(statement: &Statement) -> Vec<Column> {
    statement
        .columns()
        .iter()
        .map(|c| Column {
            name: c.name().to_owned(),
            type_name: c.type_().name().to_owned(),
        })
        .collect()
}

/// Wraps a statement so columns whose binary format the relay does not decode arrive as text.
/// The statement was checked by the policy on its own; the wrapper adds only column references.
pub fn with_text_casts(sql: &str, statement: &Statement) -> String {
    let aliases: Vec<String> = (1..=statement.columns().len())
        .map(|i| format!("\"c{i}\""))
        .collect();
    let select_list: Vec<String> = statement
        .columns()
        .iter()
        .zip(&aliases)
        .map(|(column, alias)| {
            if decodes_binary(column.type_()) {
                format!("relay_q.{alias}")
            } else {
                format!("relay_q.{alias}::text")
            }
        })
        .collect();
    format!(
        "SELECT {} FROM (\n{sql}\n) AS relay_q({})",
        select_list.join(", "),
        aliases.join(", ")
    )
}

fn decode_row(row: &Row) -> Result<Vec<Value>, OperationError> {
    let mut values = Vec::with_capacity(row.len());
    for (index, column) in row.columns().iter().enumerate() {
        let raw: RawCell<'_> = row.try_get(index).map_err(|err| {
            OperationError::new(
                ErrorCode::Internal,
                format!("column {}: {err}", column.name()),
            )
        })?;
        let value = decode(column.type_(), raw.0).map_err(|err| {
            OperationError::new(
                ErrorCode::Internal,
                format!("column {}: {err}", column.name()),
            )
        })?;
        values.push(value);
    }
    Ok(values)
}
