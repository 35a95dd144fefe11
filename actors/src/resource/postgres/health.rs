//! Health of a PostgreSQL resource, in one read-only transaction: a `SELECT 1` round trip, the
//! privilege self-check, and the catalog snapshot (read again only when its fingerprint changed).

use super::exec::{read_only_on, StatementLimits};
use super::pool::{CheckoutError, PgPool, PooledConnection};
use super::{privileges, snapshot};
use crate::messages::OperationError;
use crate::policy::catalog::CatalogSnapshot;
use crate::policy::lineage::ColumnProtection;
use crate::resource::{DatabaseHealth, HealthError};
use std::time::{Duration, Instant};

/// A connection once one is free, or why none was.
fn connection_in_turn(pool: &PgPool, wait: Duration) -> Result<PooledConnection<'_>, HealthError> {
    pool.get_timeout(wait).map_err(|err| match err {
        CheckoutError::Connect(cause) => HealthError::Database(cause.message),
        CheckoutError::Exhausted(waited) => HealthError::Database(format!(
            "every database connection stayed in use for {} s",
            waited.as_secs()
        )),
    })
}

/// What a health check found about the catalog.
pub enum CatalogUpdate {
    /// The fingerprint is the one given: the snapshot the caller holds is current.
    Unchanged,
    /// The catalog changed (or was never read): its new fingerprint and snapshot.
    Changed(String, Box<CatalogSnapshot>),
}

/// How long a health check may wait: for a connection, then for its statements.
pub struct HealthWaits {
    /// Requests may hold every connection for up to their timeout: a busy pool is not a failed
    /// database, so the check waits its turn rather than report one.
    pub connection: Duration,
    pub statements: Duration,
}

/// Beyond its waits, what a check may take before it is given up (opening a connection, a retry).
const CHECK_GRACE: Duration = Duration::from_secs(5);

impl HealthWaits {
    pub fn of(
        spec: &relay_config::Resource,
        connection: &relay_config::PostgresConnection,
    ) -> Self {
        let statements = Duration::from_secs(connection.connect_timeout_seconds.max(5));
        HealthWaits {
            connection: Duration::from_millis(spec.statement_timeout_ms) + statements,
            statements,
        }
    }

    /// The longest a check may take in all.
    pub fn whole(&self) -> Duration {
        self.connection + self.statements + CHECK_GRACE
    }
}

/// The check's outcome, or a failure once it took longer than it may: a server that stopped
/// answering in the middle of a check holds its thread, and would otherwise hold the resource's
/// health (and catalog) as they were, since a check that runs is not started again.
pub async fn within<T>(
    bound: Duration,
    check: actix_rt::task::JoinHandle<Result<T, HealthError>>,
) -> Result<T, HealthError> {
    match actix_rt::time::timeout(bound, check).await {
        Ok(joined) => joined.unwrap_or_else(|err| Err(HealthError::Crashed(err))),
        Err(_) => Err(HealthError::Database(format!(
            "the health check got no answer within {} s",
            bound.as_secs()
        ))),
    }
}

/// Runs the round trip, the privilege check and, unless `known_fingerprint` is still current, a
/// new catalog snapshot. Any failure, the snapshot's included, makes the resource unhealthy.
pub fn check(
    pool: &PgPool,
    waits: &HealthWaits,
    known_fingerprint: Option<&str>,
    protection: &dyn ColumnProtection,
) -> Result<(DatabaseHealth, CatalogUpdate), HealthError> {
    let connection = connection_in_turn(pool, waits.connection)?;
    let timeout = waits.statements;
    let limits = StatementLimits {
        deadline: crate::resource::Deadline::after(timeout),
        max_rows: 1,
        max_bytes: u64::MAX,
        release_advisory_locks: false,
        guard_size: false,
    };
    let started = Instant::now();
    let outcome = read_only_on(
        pool,
        connection,
        &limits,
        None,
        |transaction, statements| {
            transaction
                .query_one("SELECT 1", &[])
                .map_err(|err| super::exec::classify(err, None))?;
            let latency = started.elapsed();
            let (superuser, reasons) = privileges::check(transaction, statements)?;
            let fingerprint = snapshot::fingerprint(transaction, statements)?;
            let update = if known_fingerprint == Some(fingerprint.as_str()) {
                CatalogUpdate::Unchanged
            } else {
                let loaded = snapshot::load(transaction, statements, protection)?;
                CatalogUpdate::Changed(fingerprint, Box::new(loaded))
            };
            let health = DatabaseHealth {
                latency,
                superuser,
                write_reasons: Some(reasons),
                notes: Vec::new(),
            };
            Ok((health, update))
        },
    );
    outcome.map_err(|err: OperationError| HealthError::Database(err.message))
}

/// What an operator should know about the functions the role may execute: those that are
/// `SECURITY DEFINER` (they run with their owner's rights) or volatile (they may change state).
pub fn function_notes(snapshot: &CatalogSnapshot) -> Vec<String> {
    let mut functions: Vec<&crate::policy::catalog::Function> = snapshot
        .functions
        .values()
        .flatten()
        .filter(|f| !f.system && (f.security_definer || f.volatility == 'v'))
        .collect();
    // SECURITY DEFINER ones first: they run with their owner's rights.
    functions.sort_by_key(|f| (!f.security_definer, f.code.to_string()));
    let mut notes: Vec<String> = functions
        .into_iter()
        .map(|f| {
            let mut traits = Vec::new();
            if f.security_definer {
                traits.push(format!("SECURITY DEFINER, owned by {}", f.owner));
            }
            if f.volatility == 'v' {
                traits.push("volatile".to_owned());
            }
            format!(
                "may execute {} ({}, {})",
                f.code,
                f.language,
                traits.join(", ")
            )
        })
        .collect();
    if notes.len() > MAX_FUNCTION_NOTES {
        let more = notes.len() - MAX_FUNCTION_NOTES;
        notes.truncate(MAX_FUNCTION_NOTES);
        notes.push(format!(
            "... and {more} more such functions (pg_proc lists them all)"
        ));
    }
    notes
}

/// Functions named one by one before the rest are only counted.
const MAX_FUNCTION_NOTES: usize = 50;

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[actix_rt::test]
    async fn a_check_that_outlives_its_bound_is_a_failure() {
        let hung = actix_rt::task::spawn_blocking(|| {
            std::thread::sleep(Duration::from_millis(300));
            Ok::<_, HealthError>(())
        });
        let outcome = within(Duration::from_millis(20), hung).await;
        assert!(
            matches!(&outcome, Err(HealthError::Database(why)) if why.contains("no answer")),
            "{outcome:?}"
        );
        let answered = actix_rt::task::spawn_blocking(|| Ok::<_, HealthError>(7));
        assert_eq!(within(Duration::from_secs(10), answered).await.unwrap(), 7);
    }
}
