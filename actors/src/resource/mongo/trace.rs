//! Tracing a MongoDB read's output fields to the protected fields they are computed from (a
//! `$project` or `$group` that renames them), and the column rules scoped to the collections read
//! (the collection itself and every `$lookup`, `$graphLookup` or `$unionWith` source), so that the
//! masking applies a field's rule under any name.

use super::params::Read;
use crate::messages::OutputLineage;
use crate::policy::catalog::QualifiedName;
use crate::policy::lineage::{ColumnProtection, Source};
use crate::policy::mongo::pipeline_sources;
use crate::policy::mongo_lineage::{pipeline_fields, projection_fields, DerivedFields};

/// The lineage of a read of `database`.
pub fn trace(protection: &dyn ColumnProtection, database: &str, read: &Read) -> OutputLineage {
    let (collection, pipeline) = match read {
        Read::Find { collection, .. } | Read::Count { collection, .. } => (collection, &[][..]),
        Read::Aggregate {
            collection,
            pipeline,
        } => (collection, pipeline.as_slice()),
    };
    let relations: Vec<QualifiedName> = std::iter::once(collection.clone())
        .chain(pipeline_sources(pipeline))
        .map(|name| QualifiedName::new(database, &name))
        .collect();
    let protected = |path: &str| rule_of_path(protection, &relations, path);
    let derived = match read {
        Read::Find { projection, .. } => projection
            .as_ref()
            .map(|projection| projection_fields(projection, &protected))
            .unwrap_or_default(),
        Read::Aggregate { pipeline, .. } => pipeline_fields(pipeline, &protected),
        Read::Count { .. } => DerivedFields::new(),
    };
    let mut scoped_rules: Vec<usize> = relations
        .iter()
        .flat_map(|relation| protection.scoped_to(relation))
        .collect();
    scoped_rules.sort_unstable();
    scoped_rules.dedup();
    OutputLineage {
        fields: fields(protection, derived),
        scoped_rules,
        ..OutputLineage::default()
    }
}

/// The rule of a field path, by any of its segments, as the rules by name would find it, in any
/// of the collections read; `*` (a stage that turns field names into values) is every rule.
fn rule_of_path(
    protection: &dyn ColumnProtection,
    relations: &[QualifiedName],
    path: &str,
) -> Option<usize> {
    let rules: Vec<usize> = match path {
        "*" => relations
            .iter()
            .filter_map(|relation| protection.any_rule(relation))
            .collect(),
        _ => relations
            .iter()
            .flat_map(|relation| {
                path.split('.')
                    .filter_map(|segment| protection.rule_for(relation, segment))
            })
            .collect(),
    };
    let mut rules = rules.into_iter();
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
