//! `list_tables` and `describe_table` for MongoDB: collections and views with estimated counts;
//! one collection's indexes, validator and a field summary from a bounded `$sample`.

use super::exec::{collect, column, max_time, max_time_ms, whole_number};
use super::failure;
use super::fields::summarize;
use crate::messages::{OperationError, OperationOutput};
use crate::policy::catalog::QualifiedName;
use crate::policy::patterns::TableScope;
use crate::protocol::ErrorCode;
use crate::resource::{Deadline, Limits};
use mongodb::bson::{doc, Bson, Document};
use mongodb::Database;
use serde_json::{json, Value};

/// Documents sampled for the field summary.
const SAMPLE_SIZE: u32 = 100;
/// Field paths reported at most.
const MAX_PATHS: usize = 500;

/// Collections and views of the database, by name, with kind and estimated document count.
pub async fn list_tables(
    database: &Database,
    limits: &Limits,
    deadline: Deadline,
    scope: &TableScope,
) -> Result<OperationOutput, OperationError> {
    let mut entries = list_collections(database, doc! {}).await?;
    entries.retain(|entry| {
        let name = entry.get_str("name").unwrap_or("system.");
        !name.starts_with("system.") && scope.permits(&QualifiedName::new(database.name(), name))
    });
    entries.sort_by(|a, b| a.get_str("name").ok().cmp(&b.get_str("name").ok()));
    let truncated = entries.len() > limits.max_rows as usize;
    entries.truncate(limits.max_rows as usize);
    let mut rows = Vec::with_capacity(entries.len());
    for entry in &entries {
        let name = entry.get_str("name").unwrap_or_default();
        let kind = entry.get_str("type").unwrap_or("collection");
        let estimate = match kind {
            // Counting a view runs its pipeline: not an estimate, and not cheap.
            "view" => None,
            _ => estimated_count(database, name, deadline).await?,
        };
        rows.push(vec![json!(name), json!(kind), json!(estimate)]);
    }
    Ok(OperationOutput {
        written: None,
        columns: vec![
            column("name", "string"),
            column("kind", "string"),
            column("estimatedCount", "long"),
        ],
        rows,
        truncated,
        details: Some(json!({"database": database.name()})),
        lineage: Default::default(),
    })
}

/// One collection or view: indexes, validator, estimated count, and the sampled fields as rows.
pub async fn describe_table(
    database: &Database,
    collection: &str,
    limits: &Limits,
    deadline: Deadline,
) -> Result<OperationOutput, OperationError> {
    let entries = list_collections(database, doc! {"name": collection}).await?;
    let Some(entry) = entries.into_iter().next() else {
        return Err(OperationError::new(
            ErrorCode::InvalidRequest,
            format!("collection \"{collection}\" does not exist"),
        ));
    };
    let kind = entry.get_str("type").unwrap_or("collection").to_owned();
    let options = entry.get_document("options").cloned().unwrap_or_default();
    let is_view = kind == "view";
    let (indexes, estimate) = if is_view {
        (Vec::new(), None)
    } else {
        (
            indexes(database, collection).await?,
            estimated_count(database, collection, deadline).await?,
        )
    };
    let sample = sample(database, collection, limits, deadline).await?;
    let rows = summarize(&sample, MAX_PATHS)
        .into_iter()
        .map(|field| vec![json!(field.path), json!(field.types), json!(field.share)])
        .collect();
    let extjson = |key: &str| {
        options
            .get(key)
            .cloned()
            .map(Bson::into_relaxed_extjson)
            .unwrap_or(Value::Null)
    };
    let details = json!({
        "database": database.name(),
        "collection": collection,
        "kind": kind,
        "estimatedCount": estimate,
        "validator": extjson("validator"),
        "viewOn": extjson("viewOn"),
        "pipeline": extjson("pipeline"),
        "indexes": indexes,
        "sampleSize": sample.len(),
    });
    Ok(OperationOutput {
        written: None,
        columns: vec![
            column("path", "string"),
            column("types", "array"),
            column("share", "double"),
        ],
        rows,
        truncated: false,
        details: Some(details),
        lineage: Default::default(),
    })
}

async fn list_collections(
    database: &Database,
    filter: Document,
) -> Result<Vec<Document>, OperationError> {
    let mut cursor = database
        .run_cursor_command(
            doc! {"listCollections": 1, "filter": filter, "nameOnly": false,
            "authorizedCollections": true},
        )
        .await
        .map_err(|err| failure(&err))?;
    let mut entries = Vec::new();
    while cursor.advance().await.map_err(|err| failure(&err))? {
        entries.push(cursor.deserialize_current().map_err(|err| failure(&err))?);
    }
    Ok(entries)
}

async fn indexes(database: &Database, collection: &str) -> Result<Vec<Value>, OperationError> {
    let mut cursor = database
        .run_cursor_command(doc! {"listIndexes": collection})
        .await
        .map_err(|err| failure(&err))?;
    let mut indexes = Vec::new();
    while cursor.advance().await.map_err(|err| failure(&err))? {
        let mut index: Document = cursor.deserialize_current().map_err(|err| failure(&err))?;
        for internal in ["v", "ns"] {
            index.remove(internal);
        }
        indexes.push(Bson::Document(index).into_relaxed_extjson());
    }
    Ok(indexes)
}

/// The `count` command without a query: answered from collection metadata.
async fn estimated_count(
    database: &Database,
    collection: &str,
    deadline: Deadline,
) -> Result<Option<i64>, OperationError> {
    let reply = database
        .run_command(doc! {"count": collection, "maxTimeMS": max_time_ms(deadline)})
        .await
        .map_err(|err| failure(&err))?;
    Ok(whole_number(reply.get("n")))
}

async fn sample(
    database: &Database,
    collection: &str,
    limits: &Limits,
    deadline: Deadline,
) -> Result<Vec<Document>, OperationError> {
    let size = SAMPLE_SIZE.min(limits.max_rows);
    let cursor = database
        .collection::<Document>(collection)
        .aggregate(vec![doc! {"$sample": {"size": i64::from(size)}}])
        .batch_size(size)
        .max_time(max_time(deadline))
        .await
        .map_err(|err| failure(&err))?;
    Ok(collect(cursor, limits).await?.documents)
}
