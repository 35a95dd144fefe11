//! `describe_table`: a relation found by name, with its columns, indexes and foreign keys, in one
//! statement (one round trip, and one snapshot of the catalog for all of it).

use super::at_once::catalog_rows;
use super::cancel::CancelSlot;
use super::catalog::{columns, failed, KIND_SQL, READABLE_SQL};
use super::exec::StatementLimits;
use super::pool::PgPool;
use crate::messages::{OperationError, OperationOutput};
use crate::policy::catalog::QualifiedName;
use crate::policy::patterns::TableScope;
use crate::protocol::ErrorCode;
use postgres::Row;
use serde::de::DeserializeOwned;
use serde_json::{json, Value};

/// A readable table-like relation by name, in `$2` or else on the search path, and as JSON arrays
/// (built by PostgreSQL, so one statement carries every list): its columns in order, its indexes
/// and its foreign keys by name.
pub fn describe_relation_sql() -> &'static str {
    static SQL: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    SQL.get_or_init(|| {
        format!(
            "SELECT c.oid, n.nspname::pg_catalog.text, c.relname::pg_catalog.text, {KIND_SQL},
       GREATEST(c.reltuples, 0::pg_catalog.float4)::pg_catalog.int8, pg_catalog.obj_description(c.oid, 'pg_class'::pg_catalog.name),
       (SELECT pg_catalog.json_agg(pg_catalog.json_build_array(
                 a.attname::pg_catalog.text, pg_catalog.format_type(a.atttypid, a.atttypmod), NOT a.attnotnull,
                 pg_catalog.pg_get_expr(d.adbin, d.adrelid), a.attnum::pg_catalog.int4,
                 pg_catalog.col_description(a.attrelid, a.attnum::pg_catalog.int4)) ORDER BY a.attnum)::pg_catalog.text
          FROM pg_catalog.pg_attribute a
          LEFT JOIN pg_catalog.pg_attrdef d ON d.adrelid OPERATOR(pg_catalog.=) a.attrelid
                                           AND d.adnum OPERATOR(pg_catalog.=) a.attnum
         WHERE a.attrelid OPERATOR(pg_catalog.=) c.oid
           AND a.attnum OPERATOR(pg_catalog.>) 0::pg_catalog.int2 AND NOT a.attisdropped),
       (SELECT pg_catalog.json_agg(pg_catalog.json_build_array(
                 ic.relname::pg_catalog.text, pg_catalog.pg_get_indexdef(i.indexrelid), i.indisunique, i.indisprimary,
                 ARRAY(SELECT a.attname::pg_catalog.text
                         FROM pg_catalog.unnest(i.indkey::pg_catalog.int2[]) WITH ORDINALITY k(attnum, ord)
                         JOIN pg_catalog.pg_attribute a ON a.attrelid OPERATOR(pg_catalog.=) i.indrelid
                                                       AND a.attnum OPERATOR(pg_catalog.=) k.attnum
                        ORDER BY k.ord)) ORDER BY ic.relname::pg_catalog.text)::pg_catalog.text
          FROM pg_catalog.pg_index i
          JOIN pg_catalog.pg_class ic ON ic.oid OPERATOR(pg_catalog.=) i.indexrelid
         WHERE i.indrelid OPERATOR(pg_catalog.=) c.oid),
       (SELECT pg_catalog.json_agg(pg_catalog.json_build_array(
                 f.conname::pg_catalog.text, pg_catalog.pg_get_constraintdef(f.oid)) ORDER BY f.conname::pg_catalog.text)::pg_catalog.text
          FROM pg_catalog.pg_constraint f
         WHERE f.conrelid OPERATOR(pg_catalog.=) c.oid
           AND f.contype OPERATOR(pg_catalog.=) 'f'::pg_catalog.\"char\")
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

/// One column as the statement lists it: name, type, nullable, default, position, comment.
type ColumnEntry = (String, String, bool, Option<String>, i32, Option<String>);

/// One index: name, definition, unique, primary, its columns in key order.
type IndexEntry = (String, String, bool, bool, Vec<String>);

/// Columns (as rows) and keys, indexes, estimates (as details) of one table, view or matview.
pub fn describe_table(
    pool: &PgPool,
    table: String,
    schema: Option<String>,
    scope: Option<&TableScope>,
    limits: &StatementLimits,
    cancel: &CancelSlot,
) -> Result<OperationOutput, OperationError> {
    let found = catalog_rows(
        pool,
        limits,
        cancel,
        describe_relation_sql(),
        &[&table, &schema],
    )?;
    let Some(relation) = found.first() else {
        return Err(not_found(&table, schema.as_deref()));
    };
    let (schema, table) = (text(relation, 1)?, text(relation, 2)?);
    let name = QualifiedName::new(schema.clone(), table.clone());
    if scope.is_some_and(|scope| !scope.permits(&name)) {
        return Err(OperationError::new(
            ErrorCode::NotAllowedRelation,
            format!("relation {name} is outside this resource's table scope"),
        ));
    }
    let (indexes, primary_key) = indexes(json_list(relation, 7)?);
    let details = json!({
        "schema": schema,
        "table": table,
        "kind": text(relation, 3)?,
        "estimatedRows": relation.try_get::<_, i64>(4).map_err(failed)?,
        "comment": relation.try_get::<_, Option<String>>(5).map_err(failed)?,
        "primaryKey": primary_key,
        "indexes": indexes,
        "foreignKeys": foreign_keys(json_list(relation, 8)?),
    });
    Ok(OperationOutput {
        written: None,
        columns: columns(&[
            ("name", "text"),
            ("type", "text"),
            ("nullable", "bool"),
            ("default", "text"),
            ("position", "int4"),
            ("comment", "text"),
        ]),
        rows: column_rows(json_list(relation, 6)?),
        truncated: false,
        details: Some(details),
        lineage: Default::default(),
    })
}

fn not_found(table: &str, schema: Option<&str>) -> OperationError {
    let place = schema
        .map(|s| format!(" in schema \"{s}\""))
        .unwrap_or_default();
    OperationError::new(
        ErrorCode::InvalidRequest,
        format!("table \"{table}\"{place} does not exist or is not visible"),
    )
}

fn text(row: &Row, index: usize) -> Result<String, OperationError> {
    row.try_get(index).map_err(failed)
}

/// A JSON array the statement built, each entry read as `T`: no entries is SQL NULL.
fn json_list<T: DeserializeOwned>(row: &Row, index: usize) -> Result<Vec<T>, OperationError> {
    let Some(text) = row.try_get::<_, Option<&str>>(index).map_err(failed)? else {
        return Ok(Vec::new());
    };
    serde_json::from_str(text).map_err(|err| {
        OperationError::new(
            ErrorCode::Internal,
            format!("unexpected catalog value in column {index}: {err}"),
        )
    })
}

fn column_rows(entries: Vec<ColumnEntry>) -> Vec<Vec<Value>> {
    entries
        .into_iter()
        .map(|(name, type_name, nullable, default, position, comment)| {
            vec![
                json!(name),
                json!(type_name),
                json!(nullable),
                json!(default),
                json!(position),
                json!(comment),
            ]
        })
        .collect()
}

/// The indexes as details list them, and the primary key's columns.
fn indexes(entries: Vec<IndexEntry>) -> (Vec<Value>, Vec<String>) {
    let mut primary_key = Vec::new();
    let indexes = entries
        .into_iter()
        .map(|(name, definition, unique, primary, columns)| {
            if primary {
                primary_key = columns.clone();
            }
            json!({
                "name": name,
                "definition": definition,
                "unique": unique,
                "primary": primary,
                "columns": columns,
            })
        })
        .collect();
    (indexes, primary_key)
}

fn foreign_keys(entries: Vec<(String, String)>) -> Vec<Value> {
    entries
        .into_iter()
        .map(|(name, definition)| json!({"name": name, "definition": definition}))
        .collect()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn every_list_reads_as_its_entries_and_a_null_list_is_empty() {
        let columns: Vec<ColumnEntry> =
            serde_json::from_str(r#"[["id","integer",false,null,1,"the key"]]"#).unwrap();
        assert_eq!(
            column_rows(columns),
            vec![vec![
                json!("id"),
                json!("integer"),
                json!(false),
                Value::Null,
                json!(1),
                json!("the key")
            ]]
        );
        let entries: Vec<IndexEntry> = serde_json::from_str(
            r#"[["a_idx","CREATE INDEX",false,false,["a"]],["pk","CREATE UNIQUE INDEX",true,true,["id","b"]]]"#,
        )
        .unwrap();
        let (indexes, primary_key) = indexes(entries);
        assert_eq!(primary_key, ["id", "b"]);
        assert_eq!(indexes[1]["columns"], json!(["id", "b"]));
        assert!(serde_json::from_str::<Vec<ColumnEntry>>(r#"[["id"]]"#).is_err());
    }
}
