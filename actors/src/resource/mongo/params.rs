//! A MongoDB operation's parameters, read from the request's JSON (Extended JSON for values such
//! as `{"$oid": ...}` or `{"$date": ...}`) and checked by the read-only policy. Pure: nothing here
//! talks to the database.

use crate::messages::OperationError;
use crate::policy::mongo::{check_collection, check_filter, check_pipeline, MongoViolation};
use crate::protocol::ErrorCode;
use mongodb::bson::{Bson, Document};
use relay_config::Operation;
use serde_json::{Map, Value};

/// A read the relay will send: `find`, `aggregate` or `count`.
#[derive(Debug, Clone, PartialEq)]
pub enum Read {
    Find {
        collection: String,
        filter: Document,
        projection: Option<Document>,
        sort: Option<Document>,
        skip: u64,
        /// 0 means no limit of the caller's own.
        limit: u64,
    },
    Aggregate {
        collection: String,
        pipeline: Vec<Document>,
    },
    Count {
        collection: String,
        filter: Document,
    },
}

/// An operation whose parameters passed the policy.
#[derive(Debug, Clone, PartialEq)]
pub enum MongoPlan {
    Query(Read),
    ListTables,
    DescribeTable { collection: String },
    Explain { read: Read, execution_stats: bool },
}

/// Keys a query may carry; anything else is a mistake the caller should hear about.
const FIND_KEYS: &[&str] = &[
    "collection",
    "filter",
    "projection",
    "sort",
    "skip",
    "limit",
];
const AGGREGATE_KEYS: &[&str] = &["collection", "pipeline"];
const COUNT_KEYS: &[&str] = &["collection", "count", "filter"];

/// Reads and checks the parameters of `operation`.
pub fn plan(
    operation: Operation,
    params: &Value,
    allow_execution_stats: bool,
) -> Result<MongoPlan, OperationError> {
    let empty = Map::new();
    let fields = match params {
        Value::Object(fields) => fields,
        Value::Null => &empty,
        _ => return Err(invalid("params must be an object")),
    };
    match operation {
        Operation::Query => Ok(MongoPlan::Query(read(fields, &[])?)),
        Operation::ListTables => Ok(MongoPlan::ListTables),
        Operation::DescribeTable => {
            let key = if fields.contains_key("table") {
                "table"
            } else {
                "collection"
            };
            Ok(MongoPlan::DescribeTable {
                collection: collection(fields, key)?,
            })
        }
        Operation::Explain => {
            let execution_stats = match fields.get("analyze") {
                None | Some(Value::Null) | Some(Value::Bool(false)) => false,
                Some(Value::Bool(true)) if allow_execution_stats => true,
                Some(Value::Bool(true)) => {
                    return Err(OperationError::new(
                        ErrorCode::NotReadOnly,
                        "explain with executionStats runs the query and is not allowed on this resource",
                    ))
                }
                Some(_) => return Err(invalid("params.analyze must be a boolean")),
            };
            let read = read(fields, &["analyze"])?;
            Ok(MongoPlan::Explain {
                read,
                execution_stats,
            })
        }
    }
}

fn read(fields: &Map<String, Value>, extra: &[&str]) -> Result<Read, OperationError> {
    let collection = collection(fields, "collection")?;
    if fields.contains_key("pipeline") {
        only_keys(fields, AGGREGATE_KEYS, extra, "an aggregate")?;
        let pipeline = pipeline(fields.get("pipeline"))?;
        check_pipeline(&pipeline).map_err(refusal)?;
        return Ok(Read::Aggregate {
            collection,
            pipeline,
        });
    }
    let filter = document(fields, "filter")?.unwrap_or_default();
    check_filter("filter", &filter).map_err(refusal)?;
    if fields.contains_key("count") {
        only_keys(fields, COUNT_KEYS, extra, "a count")?;
        if fields.get("count") != Some(&Value::Bool(true)) {
            return Err(invalid("params.count must be true"));
        }
        return Ok(Read::Count { collection, filter });
    }
    only_keys(fields, FIND_KEYS, extra, "a find")?;
    let projection = document(fields, "projection")?;
    let sort = document(fields, "sort")?;
    for (what, part) in [("projection", &projection), ("sort", &sort)] {
        if let Some(part) = part {
            check_filter(what, part).map_err(refusal)?;
        }
    }
    Ok(Read::Find {
        collection,
        filter,
        projection,
        sort,
        skip: count(fields, "skip")?,
        limit: count(fields, "limit")?,
    })
}

fn only_keys(
    fields: &Map<String, Value>,
    allowed: &[&str],
    extra: &[&str],
    what: &str,
) -> Result<(), OperationError> {
    match fields
        .keys()
        .find(|key| !allowed.contains(&key.as_str()) && !extra.contains(&key.as_str()))
    {
        Some(key) => {
            let key: String = key.chars().take(64).collect();
            Err(invalid(&format!(
                "params.{key} is not allowed in {what}; expected {}",
                allowed.join(", ")
            )))
        }
        None => Ok(()),
    }
}

fn collection(fields: &Map<String, Value>, key: &str) -> Result<String, OperationError> {
    match fields.get(key) {
        Some(Value::String(name)) => {
            check_collection(name).map_err(refusal)?;
            Ok(name.clone())
        }
        _ => Err(invalid(&format!(
            "params.{key} is required and must be a collection name"
        ))),
    }
}

/// An optional Extended-JSON document.
fn document(fields: &Map<String, Value>, key: &str) -> Result<Option<Document>, OperationError> {
    match fields.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(value @ Value::Object(_)) => match Bson::try_from(value.clone()) {
            Ok(Bson::Document(document)) => Ok(Some(document)),
            Ok(_) | Err(_) => Err(invalid(&format!(
                "params.{key} is not a valid Extended JSON document"
            ))),
        },
        Some(_) => Err(invalid(&format!("params.{key} must be an object"))),
    }
}

fn pipeline(value: Option<&Value>) -> Result<Vec<Document>, OperationError> {
    let Some(Value::Array(stages)) = value else {
        return Err(invalid("params.pipeline must be an array of stages"));
    };
    stages
        .iter()
        .enumerate()
        .map(|(index, stage)| match Bson::try_from(stage.clone()) {
            Ok(Bson::Document(stage)) => Ok(stage),
            _ => Err(invalid(&format!(
                "params.pipeline[{index}] must be an Extended JSON document"
            ))),
        })
        .collect()
}

fn count(fields: &Map<String, Value>, key: &str) -> Result<u64, OperationError> {
    match fields.get(key) {
        None | Some(Value::Null) => Ok(0),
        Some(Value::Number(number)) => number
            .as_u64()
            .filter(|n| *n <= i64::MAX as u64)
            .ok_or_else(|| invalid(&format!("params.{key} must be a whole number >= 0"))),
        Some(_) => Err(invalid(&format!("params.{key} must be a whole number"))),
    }
}

fn refusal(violation: MongoViolation) -> OperationError {
    match violation {
        MongoViolation::Invalid(message) => OperationError::new(ErrorCode::InvalidRequest, message),
        MongoViolation::NotReadOnly(message) => {
            OperationError::new(ErrorCode::NotReadOnly, message)
        }
    }
}

fn invalid(message: &str) -> OperationError {
    OperationError::new(ErrorCode::InvalidRequest, message)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use mongodb::bson::{doc, oid::ObjectId};
    use serde_json::json;

    fn query(params: Value) -> Result<MongoPlan, OperationError> {
        plan(Operation::Query, &params, false)
    }

    #[test]
    fn find_reads_extended_json() {
        let plan = query(json!({"collection": "orders",
            "filter": {"customer_id": {"$oid": "65a1b2c3d4e5f60718293a4b"}, "amount": {"$gt": 10}},
            "projection": {"amount": 1}, "sort": {"created_at": -1}, "skip": 5, "limit": 20}))
        .unwrap();
        let oid = ObjectId::parse_str("65a1b2c3d4e5f60718293a4b").unwrap();
        assert_eq!(
            plan,
            MongoPlan::Query(Read::Find {
                collection: "orders".into(),
                filter: doc! {"customer_id": oid, "amount": {"$gt": 10}},
                projection: Some(doc! {"amount": 1}),
                sort: Some(doc! {"created_at": -1}),
                skip: 5,
                limit: 20,
            })
        );
    }

    #[test]
    fn aggregate_and_count_shapes() {
        let plan = query(json!({"collection": "o", "pipeline": [{"$match": {"a": 1}}]})).unwrap();
        assert!(matches!(plan, MongoPlan::Query(Read::Aggregate { .. })));
        let plan = query(json!({"collection": "o", "count": true, "filter": {"a": 1}})).unwrap();
        assert!(matches!(plan, MongoPlan::Query(Read::Count { .. })));
        let mixed = query(json!({"collection": "o", "pipeline": [], "filter": {}})).unwrap_err();
        assert_eq!(mixed.code, ErrorCode::InvalidRequest);
        assert!(mixed.message.contains("params.filter"), "{}", mixed.message);
    }

    #[test]
    fn hostile_input_is_refused_before_any_database_work() {
        for params in [
            json!({"collection": "o", "pipeline": [{"$out": "x"}]}),
            json!({"collection": "o", "filter": {"$where": "sleep(1000)"}}),
            json!({"collection": "o", "count": true, "filter": {"$where": "1"}}),
            json!({"collection": "o", "projection": {"x": {"$function": {"body": "f"}}}}),
            json!({"collection": "o", "filter": {"a": {"$code": "db.dropDatabase()"}}}),
        ] {
            let err = query(params.clone()).unwrap_err();
            assert_eq!(err.code, ErrorCode::NotReadOnly, "{params}");
        }
        for params in [
            json!({"collection": "system.users"}),
            json!({"collection": 5}),
            json!({"collection": "o", "limit": -1}),
            json!({"collection": "o", "pipeline": "x"}),
            json!({"collection": "o", "count": false}),
            json!({"collection": "o", "filter": [1]}),
            json!({"collection": "o", "update": {}}),
        ] {
            let err = query(params.clone()).unwrap_err();
            assert_eq!(err.code, ErrorCode::InvalidRequest, "{params}");
        }
    }

    #[test]
    fn explain_needs_permission_for_execution_stats() {
        let params = json!({"collection": "o", "filter": {}, "analyze": true});
        let err = plan(Operation::Explain, &params, false).unwrap_err();
        assert_eq!(err.code, ErrorCode::NotReadOnly);
        let allowed = plan(Operation::Explain, &params, true).unwrap();
        assert!(matches!(
            allowed,
            MongoPlan::Explain {
                execution_stats: true,
                ..
            }
        ));
    }

    #[test]
    fn describe_takes_collection_or_table() {
        for key in ["collection", "table"] {
            let plan = plan(Operation::DescribeTable, &json!({key: "orders"}), false).unwrap();
            assert_eq!(
                plan,
                MongoPlan::DescribeTable {
                    collection: "orders".into()
                }
            );
        }
        assert_eq!(
            plan(Operation::ListTables, &Value::Null, false).unwrap(),
            MongoPlan::ListTables
        );
    }
}
