//! Catalog operations: `list_tables` and `describe_table`, from pg_catalog (far cheaper than
//! information_schema), in the same read-only transaction as every other operation.

use super::exec::{catalog_query, read_only, Limits};
use super::pool::PgPool;
use super::statements::StatementCache;
use crate::messages::{OperationError, OperationOutput};
use crate::protocol::{Column, ErrorCode};
use postgres::Transaction;
use serde_json::{json, Value};
/// Catalog query behind `list_tables`: cheaper than information_schema, and includes size estimates.
pub const LIST_TABLES_SQL: &str = "\
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

/// Tables, views and materialized views, optionally of one schema.
pub fn list_tables(
    pool: &PgPool,
    schema: Option<String>,
    limits: &Limits,
) -> Result<OperationOutput, OperationError> {
    let max_rows = limits.max_rows;
    read_only(pool, limits, None, |transaction, statements| {
        let fetch_limit = i64::from(max_rows) + 1;
        let rows = catalog_query(
            transaction,
            statements,
            LIST_TABLES_SQL,
            &[&schema, &fetch_limit],
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

/// Finds a table-like relation by name, in `schema` or else on the search path.
pub const FIND_RELATION_SQL: &str = "\
SELECT c.oid, n.nspname::text, c.relname::text,
       CASE c.relkind WHEN 'v' THEN 'view' WHEN 'm' THEN 'materialized_view'
                      WHEN 'f' THEN 'foreign_table' ELSE 'table' END,
       GREATEST(c.reltuples, 0)::bigint, pg_catalog.obj_description(c.oid, 'pg_class')
  FROM pg_catalog.pg_class c
  JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
 WHERE c.relname = $1 AND c.relkind IN ('r', 'p', 'v', 'm', 'f')
   AND (($2::text IS NULL AND pg_catalog.pg_table_is_visible(c.oid)) OR n.nspname = $2::text)
 LIMIT 1";

pub const COLUMNS_SQL: &str = "\
SELECT a.attname::text, pg_catalog.format_type(a.atttypid, a.atttypmod), NOT a.attnotnull,
       pg_catalog.pg_get_expr(d.adbin, d.adrelid), a.attnum::int4,
       pg_catalog.col_description(a.attrelid, a.attnum)
  FROM pg_catalog.pg_attribute a
  LEFT JOIN pg_catalog.pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
 WHERE a.attrelid = $1 AND a.attnum > 0 AND NOT a.attisdropped
 ORDER BY a.attnum";

pub const INDEXES_SQL: &str = "\
SELECT ic.relname::text, pg_catalog.pg_get_indexdef(i.indexrelid), i.indisunique, i.indisprimary,
       ARRAY(SELECT a.attname::text FROM unnest(i.indkey) WITH ORDINALITY k(attnum, ord)
               JOIN pg_catalog.pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum
              ORDER BY k.ord)
  FROM pg_catalog.pg_index i
  JOIN pg_catalog.pg_class ic ON ic.oid = i.indexrelid
 WHERE i.indrelid = $1
 ORDER BY 1";

pub const FOREIGN_KEYS_SQL: &str = "\
SELECT conname::text, pg_catalog.pg_get_constraintdef(oid)
  FROM pg_catalog.pg_constraint
 WHERE conrelid = $1 AND contype = 'f'
 ORDER BY 1";

/// Columns (as rows) and keys, indexes, estimates (as details) of one table, view or matview.
pub fn describe_table(
    pool: &PgPool,
    table: String,
    schema: Option<String>,
    limits: &Limits,
) -> Result<OperationOutput, OperationError> {
    read_only(pool, limits, None, |transaction, statements| {
        let found = catalog_query(
            transaction,
            statements,
            FIND_RELATION_SQL,
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
