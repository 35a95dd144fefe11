//! Catalog operations: `list_tables` here and `describe_table` in `describe`, from pg_catalog (far
//! cheaper than information_schema), each one statement read only as every other operation.

use super::at_once::catalog_rows;
use super::cancel::CancelSlot;
use super::exec::StatementLimits;
use super::pool::PgPool;
use crate::messages::{OperationError, OperationOutput};
use crate::policy::patterns::TableScope;
use crate::protocol::{Column, ErrorCode};
use serde_json::json;
/// How `list_tables` and `describe_table` name a relation's kind.
pub(super) const KIND_SQL: &str =
    "CASE WHEN c.relkind OPERATOR(pg_catalog.=) 'v'::pg_catalog.\"char\" THEN 'view'
            WHEN c.relkind OPERATOR(pg_catalog.=) 'm'::pg_catalog.\"char\" THEN 'materialized_view'
            WHEN c.relkind OPERATOR(pg_catalog.=) 'f'::pg_catalog.\"char\" THEN 'foreign_table'
            ELSE 'table' END";

/// What the relay's user may read: some privilege to SELECT from it.
pub(super) const READABLE_SQL: &str =
    "(pg_catalog.has_table_privilege(c.oid, 'SELECT'::pg_catalog.text)
        OR pg_catalog.has_any_column_privilege(c.oid, 'SELECT'::pg_catalog.text))";

/// Within the resource's table scope: `$3`/`$4` are the deny patterns' schema and name parts as
/// `LIKE` patterns, `$5`/`$6` the allow patterns' (NULL for no `allow`).
const IN_SCOPE_SQL: &str = "NOT EXISTS (SELECT 1 FROM ROWS FROM (pg_catalog.unnest($3::pg_catalog.text[]), pg_catalog.unnest($4::pg_catalog.text[])) d(s, t)
                    WHERE n.nspname::pg_catalog.text OPERATOR(pg_catalog.~~) d.s
                      AND c.relname::pg_catalog.text OPERATOR(pg_catalog.~~) d.t)
   AND ($5::pg_catalog.text[] IS NULL
        OR EXISTS (SELECT 1 FROM ROWS FROM (pg_catalog.unnest($5::pg_catalog.text[]), pg_catalog.unnest($6::pg_catalog.text[])) a(s, t)
                    WHERE n.nspname::pg_catalog.text OPERATOR(pg_catalog.~~) a.s
                      AND c.relname::pg_catalog.text OPERATOR(pg_catalog.~~) a.t))";

/// Catalog query behind `list_tables`: cheaper than information_schema, and includes size
/// estimates. Only what is in scope and readable.
pub fn list_tables_sql() -> &'static str {
    static SQL: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    SQL.get_or_init(|| {
        format!(
            "SELECT n.nspname::pg_catalog.text, c.relname::pg_catalog.text, {KIND_SQL},
       GREATEST(c.reltuples, 0::pg_catalog.float4)::pg_catalog.int8, pg_catalog.pg_total_relation_size(c.oid)
  FROM pg_catalog.pg_class c
  JOIN pg_catalog.pg_namespace n ON n.oid OPERATOR(pg_catalog.=) c.relnamespace
 WHERE c.relkind OPERATOR(pg_catalog.=) ANY ('{{r,p,v,m,f}}'::pg_catalog.\"char\"[])
   AND (($1::pg_catalog.text IS NULL
         AND n.nspname OPERATOR(pg_catalog.<>) ALL ('{{pg_catalog,information_schema}}'::pg_catalog.name[])
         AND n.nspname::pg_catalog.text OPERATOR(pg_catalog.!~~) 'pg\\_toast%'::pg_catalog.text
         AND n.nspname::pg_catalog.text OPERATOR(pg_catalog.!~~) 'pg\\_temp%'::pg_catalog.text)
        OR n.nspname::pg_catalog.text OPERATOR(pg_catalog.=) $1::pg_catalog.text)
   AND {READABLE_SQL}
   AND {IN_SCOPE_SQL}
 ORDER BY 1, 2
 LIMIT $2"
        )
    })
}

/// The `LIKE` parameters of [`IN_SCOPE_SQL`] for a scope.
pub struct ScopeParams {
    deny: (Vec<String>, Vec<String>),
    allow: (Option<Vec<String>>, Option<Vec<String>>),
}

impl ScopeParams {
    pub fn new(scope: Option<&TableScope>) -> Self {
        let Some(scope) = scope else {
            return ScopeParams {
                deny: (Vec::new(), Vec::new()),
                allow: (None, None),
            };
        };
        let (allow_schemas, allow_names) = TableScope::like_patterns(&scope.allow);
        let allowed = !scope.allow.is_empty();
        ScopeParams {
            deny: TableScope::like_patterns(&scope.deny),
            allow: (
                allowed.then_some(allow_schemas),
                allowed.then_some(allow_names),
            ),
        }
    }
}

/// Tables, views and materialized views, optionally of one schema.
pub fn list_tables(
    pool: &PgPool,
    schema: Option<String>,
    scope: Option<&TableScope>,
    limits: &StatementLimits,
    cancel: &CancelSlot,
) -> Result<OperationOutput, OperationError> {
    let max_rows = limits.max_rows;
    let scope = ScopeParams::new(scope);
    let fetch_limit = i64::from(max_rows) + 1;
    let rows = catalog_rows(
        pool,
        limits,
        cancel,
        list_tables_sql(),
        &[
            &schema,
            &fetch_limit,
            &scope.deny.0,
            &scope.deny.1,
            &scope.allow.0,
            &scope.allow.1,
        ],
    )?;
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
        written: None,
        columns: columns(&[
            ("schema", "text"),
            ("name", "text"),
            ("kind", "text"),
            ("estimatedRows", "int8"),
            ("sizeBytes", "int8"),
        ]),
        rows: table,
        truncated,
        details: None,
        lineage: Default::default(),
    })
}

pub(super) fn columns(spec: &[(&str, &str)]) -> Vec<Column> {
    spec.iter()
        .map(|(name, type_name)| Column {
            name: (*name).to_owned(),
            type_name: (*type_name).to_owned(),
        })
        .collect()
}

pub(super) fn failed(err: postgres::Error) -> OperationError {
    OperationError::new(
        ErrorCode::Internal,
        format!("unexpected catalog value: {err}"),
    )
}
