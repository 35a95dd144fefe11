//! Catalog operations: `list_tables` and `describe_table`, from pg_catalog (far cheaper than
//! information_schema), in the same read-only transaction as every other operation.

use super::exec::{catalog_query, read_only, StatementLimits};
use super::pool::PgPool;
use super::statements::StatementCache;
use crate::messages::{OperationError, OperationOutput};
use crate::policy::catalog::QualifiedName;
use crate::policy::patterns::TableScope;
use crate::protocol::{Column, ErrorCode};
use postgres::Transaction;
use serde_json::{json, Value};
/// How `list_tables` and `describe_table` name a relation's kind.
const KIND_SQL: &str =
    "CASE WHEN c.relkind OPERATOR(pg_catalog.=) 'v'::pg_catalog.\"char\" THEN 'view'
            WHEN c.relkind OPERATOR(pg_catalog.=) 'm'::pg_catalog.\"char\" THEN 'materialized_view'
            WHEN c.relkind OPERATOR(pg_catalog.=) 'f'::pg_catalog.\"char\" THEN 'foreign_table'
            ELSE 'table' END";

/// What the relay's user may read: some privilege to SELECT from it.
const READABLE_SQL: &str = "(pg_catalog.has_table_privilege(c.oid, 'SELECT'::pg_catalog.text)
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
) -> Result<OperationOutput, OperationError> {
    let max_rows = limits.max_rows;
    let scope = ScopeParams::new(scope);
    read_only(pool, limits, None, |transaction, statements| {
        let fetch_limit = i64::from(max_rows) + 1;
        let rows = catalog_query(
            transaction,
            statements,
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
    })
}

fn columns(spec: &[(&str, &str)]) -> Vec<Column> {
    spec.iter()
        .map(|(name, type_name)| Column {
            name: (*name).to_owned(),
            type_name: (*type_name).to_owned(),
        })
        .collect()
}

fn failed(err: postgres::Error) -> OperationError {
    OperationError::new(
        ErrorCode::Internal,
        format!("unexpected catalog value: {err}"),
    )
}

/// Finds a readable table-like relation by name, in `schema` or else on the search path.
pub fn find_relation_sql() -> &'static str {
    static SQL: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    SQL.get_or_init(|| {
        format!(
            "SELECT c.oid, n.nspname::pg_catalog.text, c.relname::pg_catalog.text, {KIND_SQL},
       GREATEST(c.reltuples, 0::pg_catalog.float4)::pg_catalog.int8, pg_catalog.obj_description(c.oid, 'pg_class'::pg_catalog.name)
  FROM pg_catalog.pg_class c
  JOIN pg_catalog.pg_namespace n ON n.oid OPERATOR(pg_catalog.=) c.relnamespace
 WHERE c.relname OPERATOR(pg_catalog.=) $1::pg_catalog.name
   AND c.relkind OPERATOR(pg_catalog.=) ANY ('{{r,p,v,m,f}}'::pg_catalog.\"char\"[])
   AND (($2::pg_catalog.text IS NULL AND pg_catalog.pg_table_is_visible(c.oid))
        OR n.nspname::pg_catalog.text OPERATOR(pg_catalog.=) $2::pg_catalog.text)
   AND {READABLE_SQL}
 LIMIT 1"
        )
    })
}

pub const COLUMNS_SQL: &str = "\
SELECT a.attname::pg_catalog.text, pg_catalog.format_type(a.atttypid, a.atttypmod), NOT a.attnotnull,
       pg_catalog.pg_get_expr(d.adbin, d.adrelid), a.attnum::pg_catalog.int4,
       pg_catalog.col_description(a.attrelid, a.attnum::pg_catalog.int4)
  FROM pg_catalog.pg_attribute a
  LEFT JOIN pg_catalog.pg_attrdef d ON d.adrelid OPERATOR(pg_catalog.=) a.attrelid
                                   AND d.adnum OPERATOR(pg_catalog.=) a.attnum
 WHERE a.attrelid OPERATOR(pg_catalog.=) $1::pg_catalog.oid
   AND a.attnum OPERATOR(pg_catalog.>) 0::pg_catalog.int2 AND NOT a.attisdropped
 ORDER BY a.attnum";

pub const INDEXES_SQL: &str = "\
SELECT ic.relname::pg_catalog.text, pg_catalog.pg_get_indexdef(i.indexrelid), i.indisunique, i.indisprimary,
       ARRAY(SELECT a.attname::pg_catalog.text
               FROM pg_catalog.unnest(i.indkey::pg_catalog.int2[]) WITH ORDINALITY k(attnum, ord)
               JOIN pg_catalog.pg_attribute a ON a.attrelid OPERATOR(pg_catalog.=) i.indrelid
                                             AND a.attnum OPERATOR(pg_catalog.=) k.attnum
              ORDER BY k.ord)
  FROM pg_catalog.pg_index i
  JOIN pg_catalog.pg_class ic ON ic.oid OPERATOR(pg_catalog.=) i.indexrelid
 WHERE i.indrelid OPERATOR(pg_catalog.=) $1::pg_catalog.oid
 ORDER BY 1";

pub const FOREIGN_KEYS_SQL: &str = "\
SELECT c.conname::pg_catalog.text, pg_catalog.pg_get_constraintdef(c.oid)
  FROM pg_catalog.pg_constraint c
 WHERE c.conrelid OPERATOR(pg_catalog.=) $1::pg_catalog.oid
   AND c.contype OPERATOR(pg_catalog.=) 'f'::pg_catalog.\"char\"
 ORDER BY 1";

/// Columns (as rows) and keys, indexes, estimates (as details) of one table, view or matview.
pub fn describe_table(
    pool: &PgPool,
    table: String,
    schema: Option<String>,
    scope: Option<&TableScope>,
    limits: &StatementLimits,
) -> Result<OperationOutput, OperationError> {
    read_only(pool, limits, None, |transaction, statements| {
        let found = catalog_query(
            transaction,
            statements,
            find_relation_sql(),
            &[&table, &schema],
        )?;
        let Some(relation) = found.first() else {
            let place = schema
                .as_deref()
                .map(|s| format!(" in schema \"{s}\""))
                .unwrap_or_default();
            return Err(OperationError::new(
                ErrorCode::InvalidRequest,
                format!("table \"{table}\"{place} does not exist or is not visible"),
            ));
        };
        let oid: u32 = relation.try_get(0).map_err(failed)?;
        let name = QualifiedName::new(
            relation.try_get::<_, String>(1).map_err(failed)?,
            relation.try_get::<_, String>(2).map_err(failed)?,
        );
        if scope.is_some_and(|scope| !scope.permits(&name)) {
            return Err(OperationError::new(
                ErrorCode::NotAllowedRelation,
                format!("relation {name} is outside this resource's table scope"),
            ));
        }
        let rows = column_rows(transaction, statements, oid)?;
        let (indexes, primary_key) = indexes(transaction, statements, oid)?;
        let details = json!({
            "schema": relation.try_get::<_, String>(1).map_err(failed)?,
            "table": relation.try_get::<_, String>(2).map_err(failed)?,
            "kind": relation.try_get::<_, String>(3).map_err(failed)?,
            "estimatedRows": relation.try_get::<_, i64>(4).map_err(failed)?,
            "comment": relation.try_get::<_, Option<String>>(5).map_err(failed)?,
            "primaryKey": primary_key,
            "indexes": indexes,
            "foreignKeys": foreign_keys(transaction, statements, oid)?,
        });
        Ok(OperationOutput {
            columns: columns(&[
                ("name", "text"),
                ("type", "text"),
                ("nullable", "bool"),
                ("default", "text"),
                ("position", "int4"),
                ("comment", "text"),
            ]),
            rows,
            truncated: false,
            details: Some(details),
            lineage: Default::default(),
        })
    })
}

fn column_rows(
    transaction: &mut Transaction<'_>,
    statements: &mut StatementCache,
    oid: u32,
) -> Result<Vec<Vec<Value>>, OperationError> {
    let rows = catalog_query(transaction, statements, COLUMNS_SQL, &[&oid])?;
    rows.iter()
        .map(|row| {
            Ok(vec![
                json!(row.try_get::<_, String>(0).map_err(failed)?),
                json!(row.try_get::<_, String>(1).map_err(failed)?),
                json!(row.try_get::<_, bool>(2).map_err(failed)?),
                json!(row.try_get::<_, Option<String>>(3).map_err(failed)?),
                json!(row.try_get::<_, i32>(4).map_err(failed)?),
                json!(row.try_get::<_, Option<String>>(5).map_err(failed)?),
            ])
        })
        .collect()
}

fn indexes(
    transaction: &mut Transaction<'_>,
    statements: &mut StatementCache,
    oid: u32,
) -> Result<(Vec<Value>, Vec<String>), OperationError> {
    let rows = catalog_query(transaction, statements, INDEXES_SQL, &[&oid])?;
    let mut indexes = Vec::with_capacity(rows.len());
    let mut primary_key = Vec::new();
    for row in &rows {
        let columns: Vec<String> = row.try_get(4).map_err(failed)?;
        let primary: bool = row.try_get(3).map_err(failed)?;
        if primary {
            primary_key = columns.clone();
        }
        indexes.push(json!({
            "name": row.try_get::<_, String>(0).map_err(failed)?,
            "definition": row.try_get::<_, String>(1).map_err(failed)?,
            "unique": row.try_get::<_, bool>(2).map_err(failed)?,
            "primary": primary,
            "columns": columns,
        }));
    }
    Ok((indexes, primary_key))
}

fn foreign_keys(
    transaction: &mut Transaction<'_>,
    statements: &mut StatementCache,
    oid: u32,
) -> Result<Vec<Value>, OperationError> {
    let rows = catalog_query(transaction, statements, FOREIGN_KEYS_SQL, &[&oid])?;
    rows.iter()
        .map(|row| {
            Ok(json!({
                "name": row.try_get::<_, String>(0).map_err(failed)?,
                "definition": row.try_get::<_, String>(1).map_err(failed)?,
            }))
        })
        .collect()
}
