//! Field lineage of MongoDB reads: which output fields an aggregation pipeline (or a find
//! projection) computes from protected fields under another name. Column rules already apply to a
//! field by its name at any depth; this finds the renames (`$project: {pw: "$password"}`,
//! `$group: {_id: null, all: {$push: "$password"}}`, `$replaceWith: {x: "$token"}`) so the rule
//! follows the value. Where a stage's outputs cannot be told apart, every field it computes from a
//! protected path counts. Pure.

use mongodb::bson::{Bson, Document};
use std::collections::{BTreeMap, BTreeSet};

/// Output field paths and the column rules they read.
pub type DerivedFields = BTreeMap<String, BTreeSet<usize>>;

/// Operators that read fields named by values, or turn names into values: they count as reading
/// every protected field.
const NAMES_AS_VALUES: [&str; 2] = ["$objectToArray", "$getField"];

/// How deep expressions are followed; deeper ones count as reading every protected path.
const MAX_DEPTH: usize = 64;

/// The renamed protected fields a pipeline's outputs hold. `protected` gives the rule of a
/// field path (by any of its segments), as the name-based rules would.
pub fn pipeline_fields(
    pipeline: &[Document],
    protected: &dyn Fn(&str) -> Option<usize>,
) -> DerivedFields {
    let mut derived = DerivedFields::new();
    for stage in pipeline {
        for (name, body) in stage {
            stage_fields(name, body, protected, &mut derived);
        }
    }
    derived
}

/// The renamed protected fields of a find projection (which may compute fields).
pub fn projection_fields(
    projection: &Document,
    protected: &dyn Fn(&str) -> Option<usize>,
) -> DerivedFields {
    let mut derived = DerivedFields::new();
    computed(projection, protected, &mut derived, true);
    derived
}

fn stage_fields(
    name: &str,
    body: &Bson,
    protected: &dyn Fn(&str) -> Option<usize>,
    derived: &mut DerivedFields,
) {
    match (name, body) {
        ("$project" | "$addFields" | "$set", Bson::Document(spec)) => {
            computed(spec, protected, derived, name == "$project")
        }
        ("$group" | "$bucket" | "$bucketAuto", Bson::Document(spec)) => {
            let outputs = spec.get_document("output").ok().unwrap_or(spec);
            computed(outputs, protected, derived, true);
            if let Some(id) = spec.get("_id").or_else(|| spec.get("groupBy")) {
                record(derived, "_id", reads(id, protected, derived, 0));
            }
        }
        ("$replaceRoot" | "$replaceWith", value) => {
            let root = match value {
                Bson::Document(spec) if name == "$replaceRoot" => spec.get("newRoot"),
                other => Some(other),
            };
            if let Some(root) = root {
                let mut next = derived.clone();
                match root {
                    Bson::Document(fields) => computed(fields, protected, &mut next, true),
                    // A sub-document promoted to the root keeps its fields' names; a renamed
                    // parent counts for every field of the new root.
                    other => {
                        next = DerivedFields::new();
                        record(&mut next, "", reads(other, protected, derived, 0));
                    }
                }
                *derived = next;
            }
        }
        ("$setWindowFields", Bson::Document(spec)) => {
            if let Ok(output) = spec.get_document("output") {
                computed(output, protected, derived, false);
            }
        }
        ("$facet", Bson::Document(facets)) => {
            for (facet, inner) in facets {
                let stages: Vec<Document> = inner
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(|stage| stage.as_document().cloned())
                    .collect();
                let inner = pipeline_fields(&stages, protected);
                let all: BTreeSet<usize> = inner.values().flatten().copied().collect();
                record(derived, facet, all);
            }
        }
        _ => {}
    }
}

/// The outputs of `$project`-like stages: each field computed from an expression reads what
/// the expression reads. Inclusions (`1`, `true`) keep the field as it is.
fn computed(
    spec: &Document,
    protected: &dyn Fn(&str) -> Option<usize>,
    derived: &mut DerivedFields,
    replaces: bool,
) {
    let mut next = if replaces {
        DerivedFields::new()
    } else {
        derived.clone()
    };
    for (field, value) in spec {
        let kept = matches!(value, Bson::Int32(1) | Bson::Int64(1) | Bson::Boolean(true));
        let rules = if kept {
            derived.get(field).cloned().unwrap_or_default()
        } else {
            reads(value, protected, derived, 0)
        };
        record(&mut next, field, rules);
    }
    *derived = next;
}

/// The rules of every field path an expression reads (`"$a.b"`, `{$concat: ["$x", ...]}`), and of
/// the fields an earlier stage derived that it reads.
fn reads(
    value: &Bson,
    protected: &dyn Fn(&str) -> Option<usize>,
    derived: &DerivedFields,
    depth: usize,
) -> BTreeSet<usize> {
    if depth > MAX_DEPTH {
        return derived.values().flatten().copied().collect();
    }
    match value {
        Bson::String(text) => match text.strip_prefix('$') {
            Some(path) if !path.starts_with('$') => path_rules(path, protected, derived),
            // `$$ROOT` and `$$CURRENT`: the whole document, renamed fields included.
            Some(variable) if variable.starts_with("$ROOT") || variable.starts_with("$CURRENT") => {
                derived.values().flatten().copied().collect()
            }
            _ => BTreeSet::new(),
        },
        // Field names become values (`k`/`v` pairs), or a field is named by a value: out of
        // reach of the rules by name.
        Bson::Document(fields) if NAMES_AS_VALUES.iter().any(|op| fields.contains_key(op)) => {
            let mut all: BTreeSet<usize> = protected("*").into_iter().collect();
            all.extend(
                fields
                    .values()
                    .flat_map(|inner| reads(inner, protected, derived, depth + 1)),
            );
            all
        }
        Bson::Document(fields) => fields
            .values()
            .flat_map(|inner| reads(inner, protected, derived, depth + 1))
            .collect(),
        Bson::Array(items) => items
            .iter()
            .flat_map(|inner| reads(inner, protected, derived, depth + 1))
            .collect(),
        _ => BTreeSet::new(),
    }
}

fn path_rules(
    path: &str,
    protected: &dyn Fn(&str) -> Option<usize>,
    derived: &DerivedFields,
) -> BTreeSet<usize> {
    let mut rules: BTreeSet<usize> = protected(path).into_iter().collect();
    for (field, field_rules) in derived {
        let within = path == field
            || path.starts_with(&format!("{field}."))
            || field.starts_with(&format!("{path}."))
            || field.is_empty();
        if within {
            rules.extend(field_rules.iter().copied());
        }
    }
    rules
}

fn record(derived: &mut DerivedFields, field: &str, rules: BTreeSet<usize>) {
    if !rules.is_empty() {
        derived.entry(field.to_owned()).or_default().extend(rules);
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use mongodb::bson::doc;

    /// `password` is rule 0 and `token` rule 1, wherever they sit.
    fn protected(path: &str) -> Option<usize> {
        if path == "*" {
            return Some(0);
        }
        path.split('.').find_map(|segment| match segment {
            "password" => Some(0),
            "token" => Some(1),
            _ => None,
        })
    }

    fn fields(pipeline: Vec<Document>) -> Vec<(String, Vec<usize>)> {
        pipeline_fields(&pipeline, &protected)
            .into_iter()
            .map(|(field, rules)| (field, rules.into_iter().collect()))
            .collect()
    }

    #[test]
    fn renamed_and_computed_fields_keep_their_rules() {
        assert_eq!(
            fields(vec![doc! {"$project": {"pw": "$password", "name": 1}}]),
            [("pw".to_owned(), vec![0])]
        );
        assert_eq!(
            fields(vec![
                doc! {"$addFields": {"t": {"$concat": ["x", "$profile.token"]}}},
                doc! {"$project": {"again": "$t"}},
            ]),
            [("again".to_owned(), vec![1])]
        );
        assert_eq!(
            fields(vec![doc! {"$group": {"_id": "$password", "n": {"$sum": 1},
            "all": {"$push": "$token"}}}]),
            [("_id".to_owned(), vec![0]), ("all".to_owned(), vec![1])]
        );
        assert_eq!(
            fields(vec![doc! {"$replaceWith": {"x": "$password"}}]),
            [("x".to_owned(), vec![0])]
        );
        assert_eq!(
            fields(vec![
                doc! {"$facet": {"f": [{"$project": {"p": "$password"}}]}}
            ]),
            [("f".to_owned(), vec![0])]
        );
        assert!(fields(vec![
            doc! {"$project": {"name": "$name", "n": {"$size": "$items"}}}
        ])
        .is_empty());
        assert_eq!(
            fields(vec![
                doc! {"$project": {"g": {"$getField": {"field": "pass" , "input": "$$ROOT"}}}}
            ]),
            [("g".to_owned(), vec![0])]
        );
        assert_eq!(
            fields(vec![
                doc! {"$project": {"kv": {"$objectToArray": "$$ROOT"}}}
            ]),
            [("kv".to_owned(), vec![0])]
        );
        let projection = projection_fields(&doc! {"pw": "$password", "email": 1}, &protected);
        assert_eq!(projection.keys().collect::<Vec<_>>(), ["pw"]);
    }
}
