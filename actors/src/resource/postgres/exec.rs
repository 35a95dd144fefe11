//! Running statements: in a READ ONLY transaction with a statement timeout, rolled back (or, for a
//! size-guarded SELECT, in one round trip: see `at_once`), over the extended protocol only,
//! fetching no more rows than the limit allows.

use super::answer::{check_parameters, take_row, RowSink};
use super::cancel::CancelSlot;
pub(super) use super::classify::connection_lost;
pub use super::classify::{classify, describe};
use super::params::JsonParam;
use super::pool::{CheckoutError, PgConnection, PgPool, PooledConnection};
use super::query::Query;
pub use super::query::StatementLimits;
use super::statements::{is_stale_statement, Prepared, StatementCache};
pub use super::text_casts::text_cast_wrapper;
use super::text_casts::{needs_wrapper, with_text_casts};
pub use super::timeouts::{local_timeout, local_timeouts};
use crate::messages::{OperationError, OperationOutput};
use crate::protocol::ErrorCode;
use crate::resource::pg_values::budget::Budget;
use postgres::types::ToSql;
use postgres::{GenericClient, Row, Statement, Transaction};

/// Rows of the first fetch: enough for most answers in one round trip, few enough to learn the row
/// size before a wide result grows past the byte limit.
const FIRST_BATCH: usize = 256;

/// The most rows fetched in one round trip.
const MAX_BATCH: usize = 4096;

/// Why one attempt at an operation failed.
pub(super) enum Failure {
    /// The connection was gone before anything ran (closed while idle, or the server restarted):
    /// another connection may serve the operation.
    LostConnection(OperationError),
    /// A cached statement no longer fit the schema: the same operation runs once more, prepared
    /// afresh.
    StaleStatement(OperationError),
    Final(OperationError),
}

/// Checks out a connection, runs `work` in a READ ONLY transaction and rolls back, retried as
/// [`with_retries`] says.
pub fn read_only<T>(
    pool: &PgPool,
    limits: &StatementLimits,
    cancel: Option<&CancelSlot>,
    work: impl FnMut(&mut Transaction<'_>, &mut StatementCache) -> Result<T, OperationError>,
) -> Result<T, OperationError> {
    read_only_on(pool, checkout(pool, limits)?, limits, cancel, work)
}

/// [`read_only`] from a connection already checked out (which may have waited longer than the
/// statements' deadline allows).
pub fn read_only_on<'pool, T>(
    pool: &'pool PgPool,
    connection: PooledConnection<'pool>,
    limits: &StatementLimits,
    cancel: Option<&CancelSlot>,
    mut work: impl FnMut(&mut Transaction<'_>, &mut StatementCache) -> Result<T, OperationError>,
) -> Result<T, OperationError> {
    with_retries_from(pool, limits, cancel, connection, |connection| {
        in_transaction(connection, limits, cancel, &mut work)
    })
}

/// Checks out a connection and makes `attempt` on it. An operation whose connection turns out to
/// be gone is retried on another (each retry discards one dead connection); one whose cached
/// statement went stale is retried once. A connection whose statement a cancel was sent to is
/// not reused: the server stops whatever runs when the request arrives, which may be the next
/// statement.
pub(super) fn with_retries<T>(
    pool: &PgPool,
    limits: &StatementLimits,
    cancel: Option<&CancelSlot>,
    attempt: impl FnMut(&mut PgConnection) -> Result<T, Failure>,
) -> Result<T, OperationError> {
    with_retries_from(pool, limits, cancel, checkout(pool, limits)?, attempt)
}

/// [`with_retries`] from a connection already checked out.
fn with_retries_from<'pool, T>(
    pool: &'pool PgPool,
    limits: &StatementLimits,
    cancel: Option<&CancelSlot>,
    mut connection: PooledConnection<'pool>,
    mut attempt: impl FnMut(&mut PgConnection) -> Result<T, Failure>,
) -> Result<T, OperationError> {
    let mut lost_connections_left = pool.max_size();
    let mut stale_retry_left = true;
    loop {
        let attempted = attempt(&mut connection);
        connection.broken |= cancel.is_some_and(CancelSlot::disarm);
        match attempted {
            Ok(value) => return Ok(value),
            Err(Failure::LostConnection(_)) if lost_connections_left > 0 => {
                lost_connections_left -= 1;
                connection.broken = true;
                drop(connection);
                // When no other connection opens, why it does not (the server down, say) is the
                // answer rather than the lost connection.
                connection = checkout(pool, limits)?;
            }
            Err(Failure::StaleStatement(_)) if stale_retry_left => stale_retry_left = false,
            Err(
                Failure::LostConnection(err) | Failure::StaleStatement(err) | Failure::Final(err),
            ) => return Err(err),
        }
    }
}

fn checkout<'pool>(
    pool: &'pool PgPool,
    limits: &StatementLimits,
) -> Result<PooledConnection<'pool>, OperationError> {
    pool.get_timeout(limits.deadline.remaining())
        .map_err(|err| match err {
            // A database that cannot be reached fails fast, with its cause.
            CheckoutError::Connect(cause) => {
                OperationError::new(ErrorCode::ResourceUnavailable, cause.message)
            }
            CheckoutError::Exhausted(_) => limits.deadline.expired_error("a database connection"),
        })
}

/// One attempt: `START TRANSACTION READ ONLY`, the request's own timeouts when they differ from
/// the session's, the work, and the rollback.
pub(super) fn in_transaction<T>(
    connection: &mut PgConnection,
    limits: &StatementLimits,
    cancel: Option<&CancelSlot>,
    work: &mut impl FnMut(&mut Transaction<'_>, &mut StatementCache) -> Result<T, OperationError>,
) -> Result<T, Failure> {
    let PgConnection {
        client,
        session_timeout,
        statements,
        broken,
        ..
    } = connection;
    let final_error = |err| Failure::Final(classify(err, cancel));
    let remaining = time_left(limits)?;
    let mut transaction = match client.build_transaction().read_only(true).start() {
        Ok(transaction) => transaction,
        Err(err) if connection_lost(&err) => {
            return Err(Failure::LostConnection(classify(err, cancel)))
        }
        Err(err) => return Err(final_error(err)),
    };
    if let Some(timeout) = local_timeout(limits.deadline.budget(), remaining, *session_timeout) {
        transaction
            .batch_execute(&local_timeouts(timeout))
            .map_err(final_error)?;
    }
    if let Some(slot) = cancel {
        slot.arm(transaction.cancel_token());
        // A cancel that arrived while the request waited for a connection had no statement to stop.
        if slot.is_cancelled() {
            return Err(Failure::Final(OperationError::new(
                ErrorCode::Cancelled,
                "cancelled before it started",
            )));
        }
    }
    let outcome = work(&mut transaction, statements);
    let mut rolled_back = transaction.rollback();
    if rolled_back.is_ok() && limits.release_advisory_locks {
        rolled_back = client.batch_execute(RELEASE_ADVISORY_LOCKS_SQL);
    }
    // A connection whose transaction may still be open is not handed out again.
    *broken |= rolled_back.is_err();
    match (outcome, rolled_back) {
        (Err(err), _) if statements.take_stale() => Err(Failure::StaleStatement(err)),
        (Err(err), _) => Err(Failure::Final(err)),
        (Ok(_), Err(err)) => Err(final_error(err)),
        (Ok(value), Ok(())) => Ok(value),
    }
}

/// The time left to the request's deadline; none left (the checkout took it all) is `timeout`
/// before anything is sent.
fn time_left(limits: &StatementLimits) -> Result<std::time::Duration, Failure> {
    let remaining = limits.deadline.remaining();
    if remaining.is_zero() {
        return Err(Failure::Final(
            limits.deadline.expired_error("a database connection"),
        ));
    }
    Ok(remaining)
}

/// Sent after an operation that may have reached vouched-for code: no session lock may outlive it.
pub const RELEASE_ADVISORY_LOCKS_SQL: &str = "SELECT pg_catalog.pg_advisory_unlock_all()";

/// Runs one checked statement and returns at most `max_rows` rows.
pub fn run_statement(
    transaction: &mut Transaction<'_>,
    statements: &mut StatementCache,
    query: &Query<'_>,
) -> Result<OperationOutput, OperationError> {
    let (sql, params, limits) = (query.sql, query.params, query.limits);
    let cancel = Some(query.cancel);
    let guard = limits.guard_size.then_some(limits.max_bytes);
    let prepared = prepare_query(transaction, statements, sql, guard, limits.max_rows)
        .map_err(|err| classify(err, cancel))?;
    let lineage = query.tracing.map(|t| t.trace(&prepared.origins));
    let lineage = lineage.unwrap_or_default();
    let Prepared {
        statement,
        columns,
        size_guarded,
        ..
    } = prepared;
    check_parameters(&statement, params)?;
    let params: Vec<JsonParam> = params.iter().cloned().map(JsonParam).collect();
    let refs: Vec<&(dyn ToSql + Sync)> = params.iter().map(|p| p as &(dyn ToSql + Sync)).collect();
    let portal = transaction
        .bind(&statement, &refs)
        .map_err(|err| classify_cached(err, statements, cancel))?;
    let mut rows = RowSink::new(query.masking, columns, lineage);
    let mut budget = Budget::new(limits.max_bytes);
    loop {
        let wanted = next_batch(rows.len(), budget.used(), limits);
        let batch = transaction
            .query_portal(&portal, wanted as i32)
            .map_err(|err| classify_cached(err, statements, cancel))?;
        let exhausted = batch.len() < wanted;
        for row in &batch {
            if !take_row(
                row,
                size_guarded,
                limits.max_rows,
                limits.max_bytes,
                &mut rows,
                &mut budget,
            )? {
                return rows.into_output(true);
            }
        }
        if exhausted {
            return rows.into_output(false);
        }
    }
}

/// How many rows to fetch next: one past the row limit at most (to tell `truncated`), a small
/// first batch, then as many as the rows seen so far say will fit in the rest of the byte limit,
/// so a large result costs few round trips and a wide one stops soon after the limit.
fn next_batch(fetched: usize, fetched_bytes: u64, limits: &StatementLimits) -> usize {
    let wanted = limits.max_rows as usize + 1 - fetched;
    if fetched == 0 {
        return wanted.min(FIRST_BATCH);
    }
    let per_row = (fetched_bytes / fetched as u64).max(1);
    let fitting = limits.max_bytes.saturating_sub(fetched_bytes) / per_row + 1;
    wanted
        .min(usize::try_from(fitting).unwrap_or(usize::MAX))
        .min(MAX_BATCH)
}

/// The statement for `sql` from the connection's cache, or prepared now and kept: wrapped so
/// columns whose binary format the relay does not decode arrive as text and, with `guard` (the
/// byte limit), so the database stops sending values past it and rows past `max_rows` + 1 (one
/// more tells that the answer is truncated).
pub(super) fn prepare_query(
    client: &mut impl GenericClient,
    statements: &mut StatementCache,
    sql: &str,
    guard: Option<u64>,
    max_rows: u32,
) -> Result<Prepared, postgres::Error> {
    if let Some(prepared) = statements.query(sql) {
        return Ok(prepared);
    }
    let original = client.prepare(sql)?;
    let guard = guard.filter(|_| !original.columns().is_empty());
    let size_guarded = guard.is_some() && needs_wrapper(&original, true);
    let runs = if needs_wrapper(&original, size_guarded) {
        let limit = guard.filter(|_| size_guarded);
        let mut wrapped = with_text_casts(sql, &original, limit);
        if size_guarded {
            wrapped.push_str(&format!("\nLIMIT {}", u64::from(max_rows) + 1));
        }
        client.prepare(&wrapped)?
    } else {
        original.clone()
    };
    let prepared = Prepared::new(&original, runs, size_guarded);
    statements.keep_query(sql, prepared.clone());
    Ok(prepared)
}

/// Runs one of the relay's own catalog queries, prepared once per connection.
pub fn catalog_query(
    transaction: &mut Transaction<'_>,
    statements: &mut StatementCache,
    sql: &str,
    params: &[&(dyn ToSql + Sync)],
) -> Result<Vec<Row>, OperationError> {
    cancellable_catalog_query(transaction, statements, sql, params, None)
}

/// [`catalog_query`] for a request that can be cancelled: a cancelled statement says so.
pub(super) fn cancellable_catalog_query(
    transaction: &mut Transaction<'_>,
    statements: &mut StatementCache,
    sql: &str,
    params: &[&(dyn ToSql + Sync)],
    cancel: Option<&CancelSlot>,
) -> Result<Vec<Row>, OperationError> {
    let statement =
        cached_catalog(transaction, statements, sql).map_err(|err| classify(err, cancel))?;
    transaction
        .query(&statement, params)
        .map_err(|err| classify_cached(err, statements, cancel))
}

/// One of the relay's own catalog statements from the connection's cache, or prepared now.
pub(super) fn cached_catalog(
    client: &mut impl GenericClient,
    statements: &mut StatementCache,
    sql: &str,
) -> Result<Statement, postgres::Error> {
    if let Some(statement) = statements.catalog(sql) {
        return Ok(statement);
    }
    let statement = client.prepare(sql)?;
    statements.keep_catalog(sql, statement.clone());
    Ok(statement)
}

/// [`classify`] for an error of a cached statement: a stale one asks for a retry.
pub(super) fn classify_cached(
    err: postgres::Error,
    statements: &mut StatementCache,
    cancel: Option<&CancelSlot>,
) -> OperationError {
    if is_stale_statement(&err) {
        statements.mark_stale();
    }
    classify(err, cancel)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::resource::Deadline;
    use std::time::Duration;

    fn limits(max_rows: u32, max_bytes: u64) -> StatementLimits {
        StatementLimits {
            deadline: Deadline::after(Duration::from_secs(1)),
            max_rows,
            max_bytes,
            release_advisory_locks: false,
            guard_size: false,
        }
    }

    #[test]
    fn a_small_first_batch_then_what_the_limits_leave() {
        let wide = limits(1000, 10_000_000);
        assert_eq!(next_batch(0, 0, &wide), FIRST_BATCH);
        // 256 rows of 300 bytes: the other 745 rows (one past the limit) come in one round trip.
        assert_eq!(next_batch(256, 256 * 300, &wide), 745);
        assert_eq!(next_batch(0, 0, &limits(10, 1_000)), 11);
    }

    #[test]
    fn wide_rows_are_fetched_in_batches_that_fit_the_byte_limit() {
        let narrow_budget = limits(100_000, 1_000_000);
        // 256 rows of 1000 bytes used 256 kB: about 744 more fit, plus one to cross the limit.
        assert_eq!(next_batch(256, 256_000, &narrow_budget), 745);
        assert_eq!(next_batch(256, 1_000_000, &narrow_budget), 1);
        assert_eq!(next_batch(256, 256, &limits(100_000, u64::MAX)), MAX_BATCH);
    }
}
