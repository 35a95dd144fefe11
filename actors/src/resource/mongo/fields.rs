//! The field summary of `describe_table` for a collection: from a sample of documents, each field
//! path seen (dotted, reaching into embedded documents and arrays of documents), the BSON types
//! observed there, and the share of sampled documents that have it. Pure.

use mongodb::bson::{Bson, Document};
use std::collections::{BTreeMap, BTreeSet, HashSet};

/// Paths deeper than this are not followed.
const MAX_DEPTH: usize = 8;

/// One field path of the sample.
#[derive(Debug, Clone, PartialEq)]
pub struct FieldSummary {
    pub path: String,
    pub types: Vec<&'static str>,
    /// Share of sampled documents that have the path, 0.0 to 1.0.
    pub share: f64,
}

#[derive(Default)]
struct Seen {
    types: BTreeSet<&'static str>,
    documents: usize,
}

/// Summarizes `documents`, keeping at most `max_paths` paths (the first ones met).
pub fn summarize(documents: &[Document], max_paths: usize) -> Vec<FieldSummary> {
    let mut seen: BTreeMap<String, Seen> = BTreeMap::new();
    for document in documents {
        let mut in_this = HashSet::new();
        walk(document, "", 0, &mut |path, value| {
            if !seen.contains_key(path) && seen.len() >= max_paths {
                return;
            }
            let entry = seen.entry(path.to_owned()).or_default();
            entry.types.insert(type_name(value));
            if in_this.insert(path.to_owned()) {
                entry.documents += 1;
            }
        });
    }
    let total = documents.len().max(1) as f64;
    seen.into_iter()
        .map(|(path, seen)| FieldSummary {
            path,
            types: seen.types.into_iter().collect(),
            share: (seen.documents as f64 / total * 1000.0).round() / 1000.0,
        })
        .collect()
}

fn walk(document: &Document, prefix: &str, depth: usize, visit: &mut impl FnMut(&str, &Bson)) {
    for (key, value) in document {
        let path = if prefix.is_empty() {
            key.clone()
        } else {
            format!("{prefix}.{key}")
        };
        visit(&path, value);
        if depth + 1 >= MAX_DEPTH {
            continue;
        }
        match value {
            Bson::Document(inner) => walk(inner, &path, depth + 1, visit),
            Bson::Array(items) => {
                for item in items {
                    if let Bson::Document(inner) = item {
                        walk(inner, &path, depth + 1, visit);
                    }
                }
            }
            _ => {}
        }
    }
}

/// MongoDB's own alias for a value's type (as `$type` names them).
pub fn type_name(value: &Bson) -> &'static str {
    match value {
        Bson::Double(_) => "double",
        Bson::String(_) => "string",
        Bson::Array(_) => "array",
        Bson::Document(_) => "object",
        Bson::Boolean(_) => "bool",
        Bson::Null => "null",
        Bson::RegularExpression(_) => "regex",
        Bson::JavaScriptCode(_) => "javascript",
        Bson::JavaScriptCodeWithScope(_) => "javascriptWithScope",
        Bson::Int32(_) => "int",
        Bson::Int64(_) => "long",
        Bson::Timestamp(_) => "timestamp",
        Bson::Binary(_) => "binData",
        Bson::ObjectId(_) => "objectId",
        Bson::DateTime(_) => "date",
        Bson::Symbol(_) => "symbol",
        Bson::Decimal128(_) => "decimal",
        Bson::Undefined => "undefined",
        Bson::MaxKey => "maxKey",
        Bson::MinKey => "minKey",
        Bson::DbPointer(_) => "dbPointer",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use mongodb::bson::doc;

    #[test]
    fn paths_types_and_shares() {
        let documents = vec![
            doc! {"_id": 1, "name": "a", "profile": {"city": "x", "tags": ["t"]}},
            doc! {"_id": 2_i64, "name": null, "items": [{"sku": "s1"}, {"sku": 2}]},
            doc! {"_id": 3, "profile": {"city": "y"}},
            doc! {"_id": 4},
        ];
        let summary = summarize(&documents, 100);
        let find = |path: &str| summary.iter().find(|f| f.path == path).cloned();
        let id = find("_id").unwrap_or_else(|| panic!("no _id in {summary:?}"));
        assert_eq!(id.types, vec!["int", "long"]);
        assert!((id.share - 1.0).abs() < f64::EPSILON);
        let city = find("profile.city").unwrap_or_else(|| panic!("{summary:?}"));
        assert!((city.share - 0.5).abs() < f64::EPSILON);
        let sku = find("items.sku").unwrap_or_else(|| panic!("{summary:?}"));
        assert_eq!(sku.types, vec!["int", "string"]);
        assert!((sku.share - 0.25).abs() < f64::EPSILON);
        assert_eq!(find("name").map(|f| f.types), Some(vec!["null", "string"]));
        assert_eq!(find("profile.tags").map(|f| f.types), Some(vec!["array"]));
    }

    #[test]
    fn path_count_is_bounded() {
        let documents = vec![doc! {"a": 1, "b": 2, "c": 3}, doc! {"d": 4}];
        let summary = summarize(&documents, 2);
        let paths: Vec<&str> = summary.iter().map(|f| f.path.as_str()).collect();
        assert_eq!(paths, ["a", "b"]);
        assert!(summarize(&[], 10).is_empty());
    }
}
