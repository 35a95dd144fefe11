//! A checked SELECT in one round trip. A size-guarded statement (its wrapper also stops at the row
//! limit) run at the session's own timeouts is sent as one Bind/Execute/Sync outside a transaction
//! block: PostgreSQL runs it in an implicit transaction, READ ONLY by the session's
//! `default_transaction_read_only = on`, instead of the four round trips of `START TRANSACTION
//! READ ONLY`, bind, execute and `ROLLBACK`. So is an `EXPLAIN` without `ANALYZE` (a plan: the
//! statement is planned, not run, and its output is one plan), and so are the relay's own catalog
//! statements (`list_tables` stops at its `LIMIT`, `describe_table` at one relation). Anything else
//! runs in a transaction as before.

use super::answer::{check_parameters, take_row, RowSink};
use super::cancel::CancelSlot;
use super::classify::classify;
use super::exec::{
    cached_catalog, cancellable_catalog_query, classify_cached, connection_lost, in_transaction,
    prepare_query, run_statement, with_retries, Failure, StatementLimits,
};
use super::params::JsonParam;
use super::pool::{PgConnection, PgPool};
use super::query::Query;
use super::statements::{Prepared, StatementCache};
use super::timeouts::runs_at_session_timeout;
use crate::messages::{OperationError, OperationOutput, OutputLineage};
use crate::protocol::ErrorCode;
use crate::resource::pg_values::budget::Budget;
use postgres::fallible_iterator::FallibleIterator;
use postgres::types::ToSql;
use postgres::{Row, Transaction};
use std::time::Duration;

/// Runs `query`: in one round trip when it can, in a READ ONLY transaction otherwise.
pub fn run_query(pool: &PgPool, query: &Query<'_>) -> Result<OperationOutput, OperationError> {
    with_retries(
        pool,
        query.limits,
        Some(query.cancel),
        |connection| match runs_at_once(connection, query) {
            Some(Ok(output)) => Ok(output),
            Some(Err(failure)) => Err(failure),
            None => in_transaction(
                connection,
                query.limits,
                Some(query.cancel),
                &mut |tx: &mut Transaction<'_>, st: &mut StatementCache| {
                    run_statement(tx, st, query)
                },
            ),
        },
    )
}

/// An `EXPLAIN (FORMAT JSON)` answers with its one plan as the output's details, not as a row.
pub fn plan_as_details(mut output: OperationOutput) -> OperationOutput {
    if output
        .columns
        .first()
        .is_some_and(|c| c.type_name == "json")
    {
        // Taken, not copied: a plan can be a large tree.
        output.details = output
            .rows
            .first_mut()
            .and_then(|row| row.first_mut())
            .map(std::mem::take);
        output.rows.clear();
    }
    output
}

/// Whether a statement may skip the transaction block: a SELECT whose size guard bounds both the
/// rows and the bytes the database sends (so no portal is needed to stop fetching), at the
/// session's own timeouts (a request's own, shorter one needs `SET LOCAL`, which needs a
/// transaction block; what a request spent waiting is cut by the resource's deadline timer), and
/// with no session advisory locks to release afterwards (that path keeps its ordering).
fn may_run_at_once(limits: &StatementLimits, bounded: bool, session_timeout: Duration) -> bool {
    (limits.guard_size || bounded)
        && !limits.release_advisory_locks
        && !limits.deadline.expired()
        && runs_at_session_timeout(limits.deadline.budget(), session_timeout)
}

/// The one-round-trip attempt, or None when the statement needs a transaction block.
fn runs_at_once(
    connection: &mut PgConnection,
    query: &Query<'_>,
) -> Option<Result<OperationOutput, Failure>> {
    if !may_run_at_once(query.limits, query.plan_only, connection.session_timeout) {
        return None;
    }
    let PgConnection {
        client,
        statements,
        broken,
        ..
    } = connection;
    let (limits, cancel) = (query.limits, query.cancel);
    // A plan is not wrapped: the guard's wrapper is a SELECT around the statement.
    let guard = (!query.plan_only).then_some(limits.max_bytes);
    let prepared = match prepare_query(client, statements, query.sql, guard, limits.max_rows) {
        Ok(prepared) => prepared,
        Err(err) => return Some(Err(first_failure(err, statements, broken, Some(cancel)))),
    };
    if !prepared.size_guarded && !query.plan_only {
        return None;
    }
    let lineage = query.tracing.map(|t| t.trace(&prepared.origins));
    if let Err(err) = check_parameters(&prepared.statement, query.params) {
        return Some(Err(Failure::Final(err)));
    }
    if let Some(cancelled) = armed(cancel, client.cancel_token()) {
        return Some(Err(Failure::Final(cancelled)));
    }
    let params: Vec<JsonParam> = query.params.iter().cloned().map(JsonParam).collect();
    let refs: Vec<&(dyn ToSql + Sync)> = params.iter().map(|p| p as &(dyn ToSql + Sync)).collect();
    // One Execute for every row (the wrapper's LIMIT and size guard bound them), each row decoded
    // as it arrives and dropped, so wire rows and decoded values are not held twice.
    let rows = match client.query_raw(&prepared.statement, refs) {
        Ok(rows) => rows,
        Err(err) => return Some(Err(first_failure(err, statements, broken, Some(cancel)))),
    };
    let lineage = lineage.unwrap_or_default();
    Some(fetch_rows(rows, statements, query, prepared, lineage))
}

/// Decodes each row as it arrives (masked as it is written when the query has the engine) and
/// drops it, up to the row limit and within the byte budget.
fn fetch_rows(
    mut rows: postgres::RowIter<'_>,
    statements: &mut StatementCache,
    query: &Query<'_>,
    prepared: Prepared,
    lineage: OutputLineage,
) -> Result<OperationOutput, Failure> {
    let limits = query.limits;
    let mut fetched = RowSink::new(query.masking, prepared.columns, lineage);
    let mut budget = Budget::new(limits.max_bytes);
    let mut truncated = false;
    let next = |rows: &mut postgres::RowIter<'_>, statements: &mut StatementCache| {
        rows.next()
            .map_err(|err| failure(err, statements, Some(query.cancel)))
    };
    while let Some(row) = next(&mut rows, statements)? {
        let (guarded, max_rows, max_bytes) =
            (prepared.size_guarded, limits.max_rows, limits.max_bytes);
        let taken = take_row(
            &row,
            guarded,
            max_rows,
            max_bytes,
            &mut fetched,
            &mut budget,
        );
        if !taken.map_err(Failure::Final)? {
            truncated = true;
            break;
        }
    }
    fetched.into_output(truncated).map_err(Failure::Final)
}

/// Runs one of the relay's own catalog statements: in one round trip when the session's timeouts
/// are the request's (its bounds are the statement's own: a `LIMIT`, or the catalog's size), in a
/// READ ONLY transaction otherwise. Either way the statement can be cancelled (by the control
/// plane, or by the deadline timer when the request waited long before it ran), and a connection
/// found gone is replaced as for any statement.
pub fn catalog_rows(
    pool: &PgPool,
    limits: &StatementLimits,
    cancel: &CancelSlot,
    sql: &str,
    params: &[&(dyn ToSql + Sync)],
) -> Result<Vec<Row>, OperationError> {
    with_retries(pool, limits, Some(cancel), |connection| {
        if !may_run_at_once(limits, true, connection.session_timeout) {
            return in_transaction(
                connection,
                limits,
                Some(cancel),
                &mut |tx: &mut Transaction<'_>, st: &mut StatementCache| {
                    cancellable_catalog_query(tx, st, sql, params, Some(cancel))
                },
            );
        }
        let PgConnection {
            client,
            statements,
            broken,
            ..
        } = connection;
        let statement = match cached_catalog(client, statements, sql) {
            Ok(statement) => statement,
            Err(err) => return Err(first_failure(err, statements, broken, Some(cancel))),
        };
        if let Some(cancelled) = armed(cancel, client.cancel_token()) {
            return Err(Failure::Final(cancelled));
        }
        client
            .query(&statement, params)
            .map_err(|err| first_failure(err, statements, broken, Some(cancel)))
    })
}

/// Publishes the connection's cancel token; a cancel that arrived while the request waited for a
/// connection had no statement to stop, and is the answer now.
fn armed(cancel: &CancelSlot, token: postgres::CancelToken) -> Option<OperationError> {
    cancel.arm(token);
    cancel
        .is_cancelled()
        .then(|| OperationError::new(ErrorCode::Cancelled, "cancelled before it started"))
}

/// An error of the statement or before it: a connection found gone may be replaced by another
/// (rerunning a read-only statement is harmless), and is not reused.
fn first_failure(
    err: postgres::Error,
    statements: &mut StatementCache,
    broken: &mut bool,
    cancel: Option<&CancelSlot>,
) -> Failure {
    if connection_lost(&err) {
        *broken = true;
        return Failure::LostConnection(classify(err, cancel));
    }
    failure(err, statements, cancel)
}

/// An error of the statement: a stale cached statement asks for one retry.
fn failure(
    err: postgres::Error,
    statements: &mut StatementCache,
    cancel: Option<&CancelSlot>,
) -> Failure {
    let err = classify_cached(err, statements, cancel);
    if statements.take_stale() {
        Failure::StaleStatement(err)
    } else {
        Failure::Final(err)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits(timeout_ms: u64) -> StatementLimits {
        StatementLimits {
            deadline: crate::resource::Deadline::after(Duration::from_millis(timeout_ms)),
            max_rows: 1000,
            max_bytes: 1 << 20,
            release_advisory_locks: false,
            guard_size: true,
        }
    }

    #[test]
    fn a_json_plan_becomes_the_details_and_other_rows_stay_rows() {
        use crate::protocol::Column;
        use serde_json::json;
        let column = |type_name: &str| Column {
            name: "QUERY PLAN".into(),
            type_name: type_name.into(),
        };
        let plan = json!([{"Plan": {"Node Type": "Seq Scan", "Filter": "(id = 1)"}}]);
        let explained = OperationOutput {
            columns: vec![column("json")],
            rows: vec![vec![plan.clone()]],
            ..OperationOutput::default()
        };
        let output = plan_as_details(explained);
        assert_eq!(output.details, Some(plan));
        assert!(output.rows.is_empty());
        let text = OperationOutput {
            columns: vec![column("text")],
            rows: vec![vec![json!("Seq Scan on t")]],
            ..OperationOutput::default()
        };
        assert_eq!(plan_as_details(text.clone()), text);
    }

    #[test]
    fn only_a_guarded_select_or_a_plan_at_the_session_timeouts_skips_the_transaction_block() {
        let session = Duration::from_millis(30_000);
        assert!(may_run_at_once(&limits(30_000), false, session));
        // A request's own timeout is set with SET LOCAL, which needs a transaction block.
        assert!(!may_run_at_once(&limits(1_000), false, session));
        assert!(!may_run_at_once(&limits(1_000), true, session));
        let unguarded = StatementLimits {
            guard_size: false,
            ..limits(30_000)
        };
        assert!(!may_run_at_once(&unguarded, false, session));
        // EXPLAIN without ANALYZE: a plan, unguarded but bounded.
        assert!(may_run_at_once(&unguarded, true, session));
        let vouching = StatementLimits {
            release_advisory_locks: true,
            ..limits(30_000)
        };
        assert!(!may_run_at_once(&vouching, false, session));
        assert!(!may_run_at_once(&vouching, true, session));
    }
}
