//! The privilege self-check: every way the relay's database user could change the database or
//! act outside it, one reason per row, in one schema-qualified catalog query.

use super::exec::catalog_query;
use super::statements::StatementCache;
use crate::messages::OperationError;
use crate::protocol::ErrorCode;
use postgres::Transaction;

/// Whether the user is a superuser.
pub const SUPERUSER_SQL: &str = "\
SELECT r.rolsuper FROM pg_catalog.pg_roles r
 WHERE r.rolname OPERATOR(pg_catalog.=) CURRENT_USER::pg_catalog.name";

/// Predefined roles whose members may write server files, run programs, signal backends, write
/// every table, force checkpoints, create subscriptions or maintain every relation.
const WRITING_ROLES: &str = "'{pg_write_server_files,pg_execute_server_program,pg_signal_backend,\
pg_write_all_data,pg_checkpoint,pg_create_subscription,pg_maintain}'";

/// Every write path, as reasons; each category reports at most five objects.
pub fn reasons_sql(server_version: i32) -> String {
    // MAINTAIN (VACUUM, ANALYZE, REFRESH, LOCK on a relation) exists from PostgreSQL 17.
    let relation_privileges = if server_version >= 170_000 {
        "INSERT, UPDATE, DELETE, TRUNCATE, TRIGGER, REFERENCES, MAINTAIN"
    } else {
        "INSERT, UPDATE, DELETE, TRUNCATE, TRIGGER, REFERENCES"
    };
    format!(
        "WITH me AS (SELECT r.* FROM pg_catalog.pg_roles r
              WHERE r.rolname OPERATOR(pg_catalog.=) CURRENT_USER::pg_catalog.name)
SELECT x.reason FROM (
  SELECT 1 AS o, 'is a superuser'::pg_catalog.text AS reason FROM me WHERE me.rolsuper
  UNION ALL SELECT 2, 'has CREATEROLE' FROM me WHERE me.rolcreaterole
  UNION ALL SELECT 3, 'has CREATEDB' FROM me WHERE me.rolcreatedb
  UNION ALL SELECT 4, 'has REPLICATION' FROM me WHERE me.rolreplication
  UNION ALL SELECT 5, 'has BYPASSRLS' FROM me WHERE me.rolbypassrls
  UNION ALL SELECT 6, 'may create schemas in the database'
   WHERE pg_catalog.has_database_privilege(pg_catalog.current_database(), 'CREATE'::pg_catalog.text)
  UNION ALL SELECT 7, 'may create temporary tables in the database'
   WHERE pg_catalog.has_database_privilege(pg_catalog.current_database(), 'TEMPORARY'::pg_catalog.text)
  UNION ALL (SELECT 8, pg_catalog.format('is a member of superuser role %I', b.rolname)
    FROM pg_catalog.pg_roles b, me
   WHERE b.rolsuper AND b.oid OPERATOR(pg_catalog.<>) me.oid
     AND pg_catalog.pg_has_role(me.oid, b.oid, 'MEMBER'::pg_catalog.text) LIMIT 5)
  UNION ALL (SELECT 9, pg_catalog.format('is a member of %I', b.rolname)
    FROM pg_catalog.pg_roles b, me
   WHERE b.rolname::pg_catalog.text OPERATOR(pg_catalog.=) ANY ({WRITING_ROLES}::pg_catalog.text[])
     AND pg_catalog.pg_has_role(me.oid, b.oid, 'MEMBER'::pg_catalog.text))
  UNION ALL (SELECT 10, pg_catalog.format('may change %I.%I ({relation_privileges})', n.nspname, c.relname)
    FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid OPERATOR(pg_catalog.=) c.relnamespace
   WHERE c.relkind OPERATOR(pg_catalog.=) ANY ('{{r,p,v,m,f}}'::pg_catalog.\"char\"[])
     AND n.nspname OPERATOR(pg_catalog.<>) ALL ('{{pg_catalog,information_schema}}'::pg_catalog.name[])
     AND n.nspname::pg_catalog.text OPERATOR(pg_catalog.!~~) 'pg\\_toast%'::pg_catalog.text
     AND pg_catalog.has_table_privilege(c.oid, '{relation_privileges}'::pg_catalog.text)
   ORDER BY 2 LIMIT 5)
  UNION ALL (SELECT 11, pg_catalog.format('may INSERT or UPDATE columns of %I.%I', n.nspname, c.relname)
    FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid OPERATOR(pg_catalog.=) c.relnamespace
   WHERE c.relkind OPERATOR(pg_catalog.=) ANY ('{{r,p,v,m,f}}'::pg_catalog.\"char\"[])
     AND n.nspname OPERATOR(pg_catalog.<>) ALL ('{{pg_catalog,information_schema}}'::pg_catalog.name[])
     AND NOT pg_catalog.has_table_privilege(c.oid, 'INSERT, UPDATE'::pg_catalog.text)
     AND pg_catalog.has_any_column_privilege(c.oid, 'INSERT, UPDATE'::pg_catalog.text)
   ORDER BY 2 LIMIT 5)
  UNION ALL (SELECT 12, pg_catalog.format('may advance or set sequence %I.%I (USAGE or UPDATE)', n.nspname, c.relname)
    FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid OPERATOR(pg_catalog.=) c.relnamespace
   WHERE CASE WHEN c.relkind OPERATOR(pg_catalog.=) 'S'::pg_catalog.\"char\"
              THEN pg_catalog.has_sequence_privilege(c.oid, 'USAGE, UPDATE'::pg_catalog.text) END
   ORDER BY 2 LIMIT 5)
  UNION ALL (SELECT 13, pg_catalog.format('may create objects in schema %I', n.nspname)
    FROM pg_catalog.pg_namespace n
   WHERE n.nspname OPERATOR(pg_catalog.<>) ALL ('{{pg_catalog,information_schema}}'::pg_catalog.name[])
     AND n.nspname::pg_catalog.text OPERATOR(pg_catalog.!~~) 'pg\\_%'::pg_catalog.text
     AND pg_catalog.has_schema_privilege(n.oid, 'CREATE'::pg_catalog.text)
   ORDER BY 2 LIMIT 5)
  UNION ALL (SELECT 14, pg_catalog.format('may EXECUTE SECURITY DEFINER function %I.%I(%s), owned by %I, who can write',
                   n.nspname, p.proname, pg_catalog.pg_get_function_identity_arguments(p.oid), o.rolname)
    FROM pg_catalog.pg_proc p
    JOIN pg_catalog.pg_namespace n ON n.oid OPERATOR(pg_catalog.=) p.pronamespace
    JOIN pg_catalog.pg_roles o ON o.oid OPERATOR(pg_catalog.=) p.proowner, me
   WHERE p.prosecdef AND p.oid OPERATOR(pg_catalog.>=) 16384::pg_catalog.oid
     AND p.proowner OPERATOR(pg_catalog.<>) me.oid
     AND pg_catalog.has_schema_privilege(n.oid, 'USAGE'::pg_catalog.text)
     AND pg_catalog.has_function_privilege(p.oid, 'EXECUTE'::pg_catalog.text)
     AND (o.rolsuper
          OR EXISTS (SELECT 1 FROM pg_catalog.pg_class c WHERE c.relowner OPERATOR(pg_catalog.=) p.proowner)
          OR EXISTS (SELECT 1 FROM pg_catalog.pg_roles w
                      WHERE w.rolname::pg_catalog.text OPERATOR(pg_catalog.=) ANY ({WRITING_ROLES}::pg_catalog.text[])
                        AND pg_catalog.pg_has_role(p.proowner, w.oid, 'MEMBER'::pg_catalog.text)))
   ORDER BY 2 LIMIT 5)
  UNION ALL SELECT 15, 'may write any large object (lo_compat_privileges is on)'
   WHERE pg_catalog.current_setting('lo_compat_privileges')::pg_catalog.bool
  UNION ALL (SELECT 16, pg_catalog.format('may write large object %s', m.oid)
    FROM pg_catalog.pg_largeobject_metadata m, me
   WHERE pg_catalog.pg_has_role(me.oid, m.lomowner, 'MEMBER'::pg_catalog.text)
      OR EXISTS (SELECT 1 FROM pg_catalog.aclexplode(m.lomacl) a
                  WHERE a.privilege_type OPERATOR(pg_catalog.=) 'UPDATE'::pg_catalog.text
                    AND (a.grantee OPERATOR(pg_catalog.=) 0::pg_catalog.oid
                         OR pg_catalog.pg_has_role(me.oid, a.grantee, 'MEMBER'::pg_catalog.text)))
   ORDER BY 2 LIMIT 5)
) x ORDER BY x.o, x.reason"
    )
}

/// The server's version number (`server_version_num`).
pub const VERSION_SQL: &str =
    "SELECT pg_catalog.current_setting('server_version_num')::pg_catalog.int4";

/// Whether the user is a superuser, and every reason it could write (empty for a read-only user).
pub fn check(
    transaction: &mut Transaction<'_>,
    statements: &mut StatementCache,
) -> Result<(bool, Vec<String>), OperationError> {
    let version: i32 = first(catalog_query(transaction, statements, VERSION_SQL, &[])?)?;
    let superuser: bool = first(catalog_query(transaction, statements, SUPERUSER_SQL, &[])?)?;
    let reasons = transaction
        .query(reasons_sql(version).as_str(), &[])
        .map_err(|err| unexpected(&super::exec::describe(&err)))?
        .iter()
        .map(|row| row.try_get(0).map_err(|err| unexpected(&err.to_string())))
        .collect::<Result<Vec<String>, _>>()?;
    Ok((superuser, reasons))
}

fn first<T: for<'a> postgres::types::FromSql<'a>>(
    rows: Vec<postgres::Row>,
) -> Result<T, OperationError> {
    let row = rows.first().ok_or_else(|| unexpected("no row"))?;
    row.try_get(0).map_err(|err| unexpected(&err.to_string()))
}

fn unexpected(what: &str) -> OperationError {
    OperationError::new(ErrorCode::Internal, format!("privilege check: {what}"))
}
