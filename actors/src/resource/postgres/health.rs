//! Health of a PostgreSQL resource: a `SELECT 1` round trip, and whether the database user could write.

use super::exec::{read_only, Limits};
use super::pool::PgPool;
use crate::messages::OperationError;
use crate::resource::DatabaseHealth;
use postgres::Row;
use std::time::{Duration, Instant};

/// Everything that would let the relay's user change the database, in one catalog query.
const PRIVILEGES_SQL: &str = "\
SELECT r.rolsuper, r.rolcreaterole, r.rolcreatedb,
       pg_catalog.has_database_privilege(pg_catalog.current_database(), 'CREATE'),
       ARRAY(SELECT b.rolname::text FROM pg_catalog.pg_roles b
              WHERE b.rolsuper AND b.rolname <> r.rolname
                AND pg_catalog.pg_has_role(r.oid, b.oid, 'MEMBER')
              ORDER BY 1 LIMIT 5),
       ARRAY(SELECT pg_catalog.format('%I.%I', n.nspname, c.relname)
               FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
              WHERE c.relkind IN ('r', 'p', 'f')
                AND n.nspname NOT IN ('pg_catalog', 'information_schema')
                AND n.nspname NOT LIKE 'pg\\_toast%'
                AND pg_catalog.has_table_privilege(c.oid, 'INSERT, UPDATE, DELETE, TRUNCATE')
              ORDER BY 1 LIMIT 5),
       ARRAY(SELECT n.nspname::text FROM pg_catalog.pg_namespace n
              WHERE n.nspname NOT IN ('pg_catalog', 'information_schema')
                AND n.nspname NOT LIKE 'pg\\_%'
                AND pg_catalog.has_schema_privilege(n.oid, 'CREATE')
              ORDER BY 1 LIMIT 5)
  FROM pg_catalog.pg_roles r
 WHERE r.rolname = current_user";

/// Runs the round trip and the privilege check.
pub fn check(pool: &PgPool, timeout: Duration) -> Result<DatabaseHealth, String> {
    let limits = Limits {
        timeout,
        max_rows: 1,
        max_bytes: u64::MAX,
        release_advisory_locks: false,
    };
    let started = Instant::now();
    let outcome = read_only(pool, &limits, None, |transaction, _statements| {
        transaction
            .query_one("SELECT 1", &[])
            .map_err(|err| super::exec::classify(err, None))?;
        let latency = started.elapsed();
        let row = transaction
            .query_one(PRIVILEGES_SQL, &[])
            .map_err(|err| super::exec::classify(err, None))?;
        privileges(&row, latency)
    });
    outcome.map_err(|err: OperationError| err.message)
}

fn privileges(row: &Row, latency: Duration) -> Result<DatabaseHealth, OperationError> {
    let get_bool = |index| row.try_get::<_, bool>(index).map_err(unexpected);
    let get_list = |index| row.try_get::<_, Vec<String>>(index).map_err(unexpected);
    let superuser = get_bool(0)?;
    let mut reasons = Vec::new();
    if superuser {
        reasons.push("is a superuser".to_owned());
    }
    if get_bool(1)? {
        reasons.push("has CREATEROLE".to_owned());
    }
    if get_bool(2)? {
        reasons.push("has CREATEDB".to_owned());
    }
    if get_bool(3)? {
        reasons.push("may create schemas in the database".to_owned());
    }
    for role in get_list(4)? {
        reasons.push(format!("is a member of superuser role {role}"));
    }
    for table in get_list(5)? {
        reasons.push(format!("may INSERT, UPDATE, DELETE or TRUNCATE {table}"));
    }
    for schema in get_list(6)? {
        reasons.push(format!("may create objects in schema {schema}"));
    }
    Ok(DatabaseHealth {
        latency,
        superuser,
        write_reasons: Some(reasons),
    })
}

fn unexpected(err: postgres::Error) -> OperationError {
    OperationError::new(
        crate::protocol::ErrorCode::Internal,
        format!("privilege check: {err}"),
    )
}
