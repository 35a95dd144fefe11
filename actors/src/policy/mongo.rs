//! The read-only MongoDB policy: decides, from the BSON the control plane sent, whether a filter,
//! projection, sort or aggregation pipeline may be sent to the customer's database.
//!
//! Layer 1 of two: the relay only ever issues find, aggregate, count, listCollections,
//! listIndexes and explain (plus ping and connectionStatus for health), and this policy makes
//! sure what travels inside them cannot write or run code. Pipelines are checked stage by stage
//! against an allow-list, recursively through `$lookup`, `$unionWith` and `$facet`; `$out`,
//! `$merge` and server-side JavaScript (`$where`, `$function`, `$accumulator`, JavaScript values)
//! are refused wherever they appear. Layer 2 is the database user's own read-only role, which
//! the health check reports on.

use mongodb::bson::{Bson, Document};

/// Stages that only read and reshape documents.
const READ_STAGES: &[&str] = &[
    "$match",
    "$project",
    "$addFields",
    "$set",
    "$unset",
    "$group",
    "$sort",
    "$limit",
    "$skip",
    "$count",
    "$unwind",
    "$lookup",
    "$graphLookup",
    "$facet",
    "$unionWith",
    "$bucket",
    "$bucketAuto",
    "$sortByCount",
    "$replaceRoot",
    "$replaceWith",
    "$sample",
    "$redact",
    "$densify",
    "$fill",
    "$setWindowFields",
    "$geoNear",
];

/// Stages that write to a collection.
const WRITE_STAGES: &[&str] = &["$out", "$merge"];

/// Operators that run JavaScript on the server.
const CODE_OPERATORS: &[&str] = &["$where", "$function", "$accumulator"];

/// How deep documents may nest; deeper input is refused rather than walked.
const MAX_DEPTH: usize = 64;

/// Why a request was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MongoViolation {
    /// The request is malformed (wrong shape, bad collection name).
    #[error("{0}")]
    Invalid(String),
    /// The request could write or run code.
    #[error("{0}")]
    NotReadOnly(String),
}

/// Checks a collection name: a plain, non-system collection of the configured database.
pub fn check_collection(name: &str) -> Result<(), MongoViolation> {
    if name.is_empty() || name.len() > 255 {
        return Err(invalid("collection must be 1 to 255 bytes"));
    }
    if name.contains('$') || name.contains('\0') || name.starts_with('.') {
        return Err(invalid("collection name may not contain '$' or NUL"));
    }
    if name.starts_with("system.") {
        return Err(invalid("system collections are not served"));
    }
    Ok(())
}

/// Checks a query filter (also used for projections and sorts, which may hold expressions).
pub fn check_filter(what: &str, filter: &Document) -> Result<(), MongoViolation> {
    check_document(what, filter, 0)
}

/// Checks an aggregation pipeline, stage by stage and through every sub-pipeline.
pub fn check_pipeline(pipeline: &[Document]) -> Result<(), MongoViolation> {
    check_pipeline_at(pipeline, 0)
}

fn check_pipeline_at(pipeline: &[Document], depth: usize) -> Result<(), MongoViolation> {
    if depth > MAX_DEPTH {
        return Err(invalid("pipeline nests too deeply"));
    }
    for (index, stage) in pipeline.iter().enumerate() {
        check_stage(index, stage, depth)?;
    }
    Ok(())
}

fn check_stage(index: usize, stage: &Document, depth: usize) -> Result<(), MongoViolation> {
    let mut keys = stage.iter();
    let (Some((name, body)), None) = (keys.next(), keys.next()) else {
        return Err(invalid(&format!(
            "pipeline stage {index} must be a document with exactly one stage name"
        )));
    };
    if WRITE_STAGES.contains(&name.as_str()) {
        return Err(not_read_only(&format!(
            "stage {name} writes to a collection and is not allowed"
        )));
    }
    if !READ_STAGES.contains(&name.as_str()) {
        let shown: String = name.chars().take(64).collect();
        return Err(not_read_only(&format!("stage {shown} is not allowed")));
    }
    check_value(name, body, depth + 1)?;
    match (name.as_str(), body) {
        ("$lookup", Bson::Document(spec)) => check_lookup(spec, depth),
        ("$graphLookup", Bson::Document(spec)) => check_source(spec, "from"),
        ("$unionWith", Bson::String(collection)) => check_collection(collection),
        ("$unionWith", Bson::Document(spec)) => {
            check_source(spec, "coll")?;
            check_sub_pipeline(spec.get("pipeline"), depth)
        }
        ("$facet", Bson::Document(facets)) => facets
            .values()
            .try_for_each(|facet| check_sub_pipeline(Some(facet), depth)),
        ("$lookup" | "$graphLookup" | "$unionWith" | "$facet", _) => {
            Err(invalid(&format!("stage {name} takes a document")))
        }
        _ => Ok(()),
    }
}

fn check_lookup(spec: &Document, depth: usize) -> Result<(), MongoViolation> {
    if spec.contains_key("from") {
        check_source(spec, "from")?;
    }
    check_sub_pipeline(spec.get("pipeline"), depth)
}

/// `from` / `coll` must name a collection of the same database.
fn check_source(spec: &Document, key: &str) -> Result<(), MongoViolation> {
    match spec.get(key) {
        Some(Bson::String(collection)) => check_collection(collection),
        Some(_) => Err(not_read_only(&format!(
            "{key} must name a collection of this database"
        ))),
        None => Err(invalid(&format!("{key} is required"))),
    }
}

fn check_sub_pipeline(pipeline: Option<&Bson>, depth: usize) -> Result<(), MongoViolation> {
    match pipeline {
        None => Ok(()),
        Some(Bson::Array(stages)) => {
            let stages = stages
                .iter()
                .map(|stage| match stage {
                    Bson::Document(stage) => Ok(stage.clone()),
                    _ => Err(invalid("every pipeline stage must be a document")),
                })
                .collect::<Result<Vec<_>, _>>()?;
            check_pipeline_at(&stages, depth + 1)
        }
        Some(_) => Err(invalid("a sub-pipeline must be an array of stages")),
    }
}

fn check_document(what: &str, document: &Document, depth: usize) -> Result<(), MongoViolation> {
    if depth > MAX_DEPTH {
        return Err(invalid(&format!("{what} nests too deeply")));
    }
    for (key, value) in document {
        if CODE_OPERATORS.contains(&key.as_str()) {
            return Err(not_read_only(&format!(
                "{key} runs JavaScript on the server and is not allowed"
            )));
        }
        check_value(what, value, depth + 1)?;
    }
    Ok(())
}

fn check_value(what: &str, value: &Bson, depth: usize) -> Result<(), MongoViolation> {
    match value {
        Bson::Document(document) => check_document(what, document, depth),
        Bson::Array(items) => items
            .iter()
            .try_for_each(|item| check_value(what, item, depth + 1)),
        Bson::JavaScriptCode(_) | Bson::JavaScriptCodeWithScope(_) => Err(not_read_only(
            "JavaScript values run code on the server and are not allowed",
        )),
        _ => Ok(()),
    }
}

/// Every collection a pipeline reads besides its own: the `from` of each `$lookup` and
/// `$graphLookup` and the `coll` of each `$unionWith`, at any depth (for the table scope).
pub fn pipeline_sources(pipeline: &[Document]) -> Vec<String> {
    let mut sources = Vec::new();
    let mut pending: Vec<&Document> = pipeline.iter().collect();
    while let Some(stage) = pending.pop() {
        for (name, body) in stage {
            match (name.as_str(), body) {
                ("$unionWith", Bson::String(collection)) => sources.push(collection.clone()),
                ("$lookup" | "$graphLookup" | "$unionWith", Bson::Document(spec)) => {
                    for key in ["from", "coll"] {
                        if let Ok(collection) = spec.get_str(key) {
                            sources.push(collection.to_owned());
                        }
                    }
                    if let Ok(inner) = spec.get_array("pipeline") {
                        pending.extend(inner.iter().filter_map(Bson::as_document));
                    }
                }
                ("$facet", Bson::Document(facets)) => {
                    let inner = facets.values().filter_map(Bson::as_array).flatten();
                    pending.extend(inner.filter_map(Bson::as_document));
                }
                _ => {}
            }
        }
    }
    sources
}

fn invalid(message: &str) -> MongoViolation {
    MongoViolation::Invalid(message.to_owned())
}

fn not_read_only(message: &str) -> MongoViolation {
    MongoViolation::NotReadOnly(message.to_owned())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use mongodb::bson::doc;

    fn pipeline(stages: Vec<Document>) -> Result<(), MongoViolation> {
        check_pipeline(&stages)
    }

    fn refused(result: Result<(), MongoViolation>) -> String {
        match result {
            Err(MongoViolation::NotReadOnly(message)) => message,
            other => panic!("expected not_read_only, got {other:?}"),
        }
    }

    #[test]
    fn plain_reads_pass() {
        pipeline(vec![
            doc! {"$match": {"status": "paid", "amount": {"$gt": 10}}},
            doc! {"$lookup": {"from": "customers", "localField": "customer_id",
            "foreignField": "_id", "as": "customer"}},
            doc! {"$unwind": "$customer"},
            doc! {"$group": {"_id": "$customer.city", "total": {"$sum": "$amount"}}},
            doc! {"$sort": {"total": -1}},
            doc! {"$limit": 10},
        ])
        .unwrap();
        check_filter("filter", &doc! {"$or": [{"a": 1}, {"b": {"$in": [1, 2]}}]}).unwrap();
        check_filter("filter", &doc! {"$expr": {"$gt": ["$a", "$b"]}}).unwrap();
    }

    #[test]
    fn writing_stages_are_refused_at_any_depth() {
        let message = refused(pipeline(vec![doc! {"$out": "stolen"}]));
        assert!(message.contains("$out"), "{message}");
        refused(pipeline(vec![
            doc! {"$match": {}},
            doc! {"$merge": {"into": "x"}},
        ]));
        refused(pipeline(vec![doc! {"$lookup": {"from": "a", "as": "b",
        "pipeline": [{"$facet": {"f": [{"$unionWith": {"coll": "c",
            "pipeline": [{"$out": "d"}]}}]}}]}}]));
        refused(pipeline(vec![doc! {"$facet": {"ok": [{"$match": {}}],
        "bad": [{"$merge": {"into": "x"}}]}}]));
    }

    #[test]
    fn javascript_is_refused_everywhere() {
        refused(check_filter("filter", &doc! {"$where": "this.a > 1"}));
        refused(check_filter(
            "filter",
            &doc! {"a": {"$elemMatch": {"$where": "sleep(100)"}}},
        ));
        refused(check_filter(
            "filter",
            &doc! {"$expr": {"$function": {"body": "function() {}", "args": [], "lang": "js"}}},
        ));
        refused(pipeline(vec![doc! {"$group": {"_id": null,
        "x": {"$accumulator": {"init": "function() {}"}}}}]));
        let code = Bson::JavaScriptCode("db.dropDatabase()".into());
        refused(check_filter("filter", &doc! {"a": {"$in": [code]}}));
        refused(pipeline(vec![doc! {"$lookup": {"from": "a", "as": "b",
        "pipeline": [{"$match": {"$where": "true"}}]}}]));
    }

    #[test]
    fn unknown_and_admin_stages_are_refused() {
        for stage in [
            "$currentOp",
            "$collStats",
            "$indexStats",
            "$changeStream",
            "$documents",
        ] {
            let message = refused(pipeline(vec![doc! {stage: {}}]));
            assert!(message.contains(stage), "{message}");
        }
        assert!(matches!(
            pipeline(vec![doc! {"$match": {}, "$limit": 1}]),
            Err(MongoViolation::Invalid(_))
        ));
        assert!(matches!(
            pipeline(vec![doc! {}]),
            Err(MongoViolation::Invalid(_))
        ));
    }

    #[test]
    fn lookups_stay_in_the_database() {
        refused(pipeline(vec![
            doc! {"$lookup": {"from": {"db": "admin", "coll": "x"},
            "as": "b", "pipeline": []}},
        ]));
        assert!(matches!(
            pipeline(vec![doc! {"$unionWith": "system.users"}]),
            Err(MongoViolation::Invalid(_))
        ));
        pipeline(vec![doc! {"$unionWith": "archive"}]).unwrap();
    }

    #[test]
    fn pipeline_sources_are_found_at_any_depth() {
        let pipeline = vec![
            doc! {"$lookup": {"from": "a", "localField": "x", "foreignField": "y", "as": "z"}},
            doc! {"$facet": {"f": [{"$unionWith": "b"}, {"$unionWith": {"coll": "c", "pipeline": [
            {"$graphLookup": {"from": "d", "startWith": "$x", "connectFromField": "x",
                              "connectToField": "y", "as": "g"}}]}}]}},
        ];
        let mut sources = pipeline_sources(&pipeline);
        sources.sort();
        assert_eq!(sources, ["a", "b", "c", "d"]);
    }

    #[test]
    fn collection_names() {
        check_collection("orders").unwrap();
        check_collection("orders.2024").unwrap();
        for bad in ["", "a$b", "system.profile", "x\0y"] {
            assert!(check_collection(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn deep_nesting_is_refused_not_walked_forever() {
        let mut filter = doc! {"a": 1};
        for _ in 0..80 {
            filter = doc! {"$and": [filter]};
        }
        assert!(matches!(
            check_filter("filter", &filter),
            Err(MongoViolation::Invalid(_))
        ));
    }
}
