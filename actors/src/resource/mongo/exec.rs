//! Runs a checked MongoDB read: `find`, `aggregate` or `count`, and their `explain`. The row
//! limit is pushed to the server (`limit` or a final `$limit` stage, one past the limit to tell
//! truncation) and the cursor is closed as soon as enough documents arrived.

use super::failure;
use super::params::Read;
use crate::messages::{OperationError, OperationOutput};
use crate::protocol::{Column, ErrorCode};
use crate::resource::{Deadline, Limits};
use mongodb::bson::{doc, Bson, Document};
use mongodb::options::FindOptions;
use mongodb::{Cursor, Database};
use serde_json::Value;

/// Documents read from a cursor.
pub struct Collected {
    pub documents: Vec<Document>,
    pub truncated: bool,
}

/// Runs a read and shapes its result: one `document` column, or one `count` column.
pub async fn run_read(
    database: &Database,
    read: Read,
    limits: &Limits,
    deadline: Deadline,
) -> Result<OperationOutput, OperationError> {
    let fetch = limits.max_rows as u64 + 1;
    let cursor = match read {
        Read::Count { collection, filter } => {
            return count(database, &collection, filter, deadline).await
        }
        Read::Find {
            collection,
            filter,
            projection,
            sort,
            skip,
            limit,
        } => {
            let limit = if limit == 0 { fetch } else { limit.min(fetch) };
            let mut options = FindOptions::default();
            options.projection = projection;
            options.sort = sort;
            options.skip = Some(skip);
            options.limit = Some(limit as i64);
            options.batch_size = Some(batch_size(limit));
            options.max_time = Some(max_time(deadline));
            database
                .collection::<Document>(&collection)
                .find(filter)
                .with_options(options)
                .await
        }
        Read::Aggregate {
            collection,
            mut pipeline,
        } => {
            pipeline.push(doc! {"$limit": fetch as i64});
            database
                .collection::<Document>(&collection)
                .aggregate(pipeline)
                .batch_size(batch_size(fetch))
                .max_time(max_time(deadline))
                .await
        }
    }
    .map_err(|err| failure(&err))?;
    let collected = collect(cursor, limits).await?;
    Ok(OperationOutput {
        written: None,
        columns: vec![column("document", "object")],
        rows: collected
            .documents
            .into_iter()
            .map(|document| vec![Bson::Document(document).into_relaxed_extjson()])
            .collect(),
        truncated: collected.truncated,
        details: None,
        lineage: Default::default(),
    })
}

async fn count(
    database: &Database,
    collection: &str,
    filter: Document,
    deadline: Deadline,
) -> Result<OperationOutput, OperationError> {
    let reply = database
        .run_command(doc! {
            "count": collection,
            "query": filter,
            "maxTimeMS": max_time_ms(deadline),
        })
        .await
        .map_err(|err| failure(&err))?;
    let n = whole_number(reply.get("n")).ok_or_else(|| {
        OperationError::new(ErrorCode::QueryFailed, "count reply has no number n")
    })?;
    Ok(OperationOutput {
        written: None,
        columns: vec![column("count", "long")],
        rows: vec![vec![Value::from(n)]],
        truncated: false,
        details: None,
        lineage: Default::default(),
    })
}

/// `explain` of a read with `queryPlanner` (or, when allowed, `executionStats`) verbosity.
pub async fn explain(
    database: &Database,
    read: Read,
    execution_stats: bool,
    deadline: Deadline,
) -> Result<OperationOutput, OperationError> {
    let explained = match read {
        Read::Find {
            collection,
            filter,
            projection,
            sort,
            skip,
            limit,
        } => {
            let mut find = doc! {"find": collection, "filter": filter};
            if let Some(projection) = projection {
                find.insert("projection", projection);
            }
            if let Some(sort) = sort {
                find.insert("sort", sort);
            }
            if skip > 0 {
                find.insert("skip", skip as i64);
            }
            if limit > 0 {
                find.insert("limit", limit as i64);
            }
            find
        }
        Read::Aggregate {
            collection,
            pipeline,
        } => doc! {"aggregate": collection, "pipeline": pipeline, "cursor": {}},
        Read::Count { collection, filter } => doc! {"count": collection, "query": filter},
    };
    let verbosity = if execution_stats {
        "executionStats"
    } else {
        "queryPlanner"
    };
    let mut plan = database
        .run_command(doc! {
            "explain": explained,
            "verbosity": verbosity,
            "maxTimeMS": max_time_ms(deadline),
        })
        .await
        .map_err(|err| failure(&err))?;
    for internal in ["ok", "$clusterTime", "operationTime", "serverParameters"] {
        plan.remove(internal);
    }
    Ok(OperationOutput {
        written: None,
        columns: Vec::new(),
        rows: Vec::new(),
        truncated: false,
        details: Some(Bson::Document(plan).into_relaxed_extjson()),
        lineage: Default::default(),
    })
}

/// Reads documents until the cursor ends or one past `max_rows` arrived; stops early (and so
/// closes the cursor) past `max_bytes`.
pub async fn collect(
    mut cursor: Cursor<Document>,
    limits: &Limits,
) -> Result<Collected, OperationError> {
    let mut documents = Vec::new();
    let mut bytes: u64 = 0;
    while cursor.advance().await.map_err(|err| failure(&err))? {
        if documents.len() >= limits.max_rows as usize {
            return Ok(Collected {
                documents,
                truncated: true,
            });
        }
        let raw = cursor.current();
        bytes += raw.as_bytes().len() as u64;
        if bytes > limits.max_bytes {
            return Err(OperationError::new(
                ErrorCode::ResultTooLarge,
                format!(
                    "result is larger than maxResultBytes ({} bytes)",
                    limits.max_bytes
                ),
            ));
        }
        let document = Document::try_from(raw).map_err(|err| {
            OperationError::new(
                ErrorCode::QueryFailed,
                format!("unreadable document: {err}"),
            )
        })?;
        documents.push(document);
    }
    Ok(Collected {
        documents,
        truncated: false,
    })
}

/// A BSON number that is whole (servers answer counts as int, long or double).
pub fn whole_number(value: Option<&Bson>) -> Option<i64> {
    match value? {
        Bson::Int32(n) => Some(i64::from(*n)),
        Bson::Int64(n) => Some(*n),
        Bson::Double(n) if n.fract() == 0.0 && *n >= 0.0 => Some(*n as i64),
        _ => None,
    }
}

pub fn max_time_ms(deadline: Deadline) -> i64 {
    i64::try_from(max_time(deadline).as_millis()).unwrap_or(i64::MAX)
}

/// The server's `maxTimeMS`: the time left to the deadline, at least 1 ms (0 would mean none).
pub fn max_time(deadline: Deadline) -> std::time::Duration {
    deadline
        .remaining()
        .max(std::time::Duration::from_millis(1))
}

/// Documents per round trip: all of a small result at once, bounded for large ones.
fn batch_size(limit: u64) -> u32 {
    limit.clamp(1, 1000) as u32
}

pub fn column(name: &str, type_name: &str) -> Column {
    Column {
        name: name.to_owned(),
        type_name: type_name.to_owned(),
    }
}
