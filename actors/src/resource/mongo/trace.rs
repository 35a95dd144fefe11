//! Tracing a MongoDB read's output fields to the protected fields they are computed from (a
//! `$project` or `$group` that renames them), and the column rules scoped to the collection read,
//! so that the masking applies a field's rule under any name.

use super::params::Read;
use crate::messages::OutputLineage;
use crate::policy::catalog::QualifiedName;
use crate::policy::lineage::{ColumnProtection, Source};
use crate::policy::mongo_lineage::{pipeline_fields, projection_fields, DerivedFields};

/// The lineage of a read of `database`.
pub fn trace(protection: &dyn ColumnProtection, database: &str, read: &Read) -> OutputLineage {
    let (collection, derived) = {
        let relation_of = |collection: &str| QualifiedName::new(database, collection);
        match read {
            Read::Find {
                collection,
                projection,
                ..
            } => {
                let relation = relation_of(collection);
                let protected = |path: &str| rule_of_path(protection, &relation, path);
                let derived = projection
                    .as_ref()
                    .map(|projection| projection_fields(projection, &protected));
                (collection, derived.unwrap_or_default())
            }
            Read::Aggregate {
                collection,
                pipeline,
            } => {
                let relation = relation_of(collection);
                let protected = |path: &str| rule_of_path(protection, &relation, path);
                (collection, pipeline_fields(pipeline, &protected))
            }
            Read::Count { collection, .. } => (collection, DerivedFields::new()),
        }
    };
    OutputLineage {
        columns: Vec::new(),
        fields: fields(protection, derived),
        scoped_rules: protection.scoped_to(&QualifiedName::new(database, collection)),
    }
}

/// The rule of a field path, by any of its segments, as the rules by name would find it.
fn rule_of_path(
    protection: &dyn ColumnProtection,
    relation: &QualifiedName,
    path: &str,
) -> Option<usize> {
    let mut rules = path
        .split('.')
        .filter_map(|segment| protection.rule_for(relation, segment));
    protection.strictest(&mut rules)
}

fn fields(protection: &dyn ColumnProtection, derived: DerivedFields) -> Vec<(String, Source)> {
    derived
        .into_iter()
        .filter_map(|(path, rules)| {
            let rule = protection.strictest(&mut rules.into_iter())?;
            let source = Source {
                rule,
                column: path.clone(),
            };
            Some((path, source))
        })
        .collect()
}
