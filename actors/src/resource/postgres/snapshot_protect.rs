//! The protected columns of a catalog snapshot: table columns a masking column rule names, and
//! the columns of views and materialized views derived from them (by the lineage of their
//! definitions, read with `pg_get_viewdef`), so that a rule follows its column into every view.

use super::exec::catalog_query;
use super::snapshot_sql::{
    COLUMN_NAMES_SQL, DERIVED_VIEWS_SQL, NAMED_COLUMNS_SQL, VIEW_COLUMNS_SQL,
};
use super::statements::StatementCache;
use crate::messages::OperationError;
use crate::policy::catalog::{CatalogSnapshot, ProtectedColumn};
use crate::policy::lineage::{targets, ColumnProtection};
use crate::protocol::ErrorCode;
use postgres::Transaction;
use std::collections::{BTreeMap, BTreeSet};

/// Rounds of views over views followed.
const MAX_VIEW_NESTING: usize = 16;

/// Marks every protected column of the snapshot's relations.
pub fn add_protected(
    transaction: &mut Transaction<'_>,
    statements: &mut StatementCache,
    snapshot: &mut CatalogSnapshot,
    protection: &dyn ColumnProtection,
) -> Result<(), OperationError> {
    let oids: Vec<u32> = snapshot.oids.keys().copied().collect();
    let names: Vec<String> = catalog_query(transaction, statements, COLUMN_NAMES_SQL, &[&oids])?
        .iter()
        .map(|row| row.try_get::<_, String>(0).map_err(failed))
        .collect::<Result<Vec<_>, _>>()?
        .into_iter()
        .filter(|name| protection.may_protect(name))
        .collect();
    if names.is_empty() {
        return Ok(());
    }
    for row in catalog_query(transaction, statements, NAMED_COLUMNS_SQL, &[&oids, &names])? {
        let (oid, attnum, name): (u32, i16, String) = (
            row.try_get(0).map_err(failed)?,
            row.try_get(1).map_err(failed)?,
            row.try_get(2).map_err(failed)?,
        );
        protect(snapshot, oid, attnum, name, protection, None);
    }
    derived_views(transaction, statements, snapshot, protection)
}

/// Follows protected columns into the views that read them, round after round.
fn derived_views(
    transaction: &mut Transaction<'_>,
    statements: &mut StatementCache,
    snapshot: &mut CatalogSnapshot,
    protection: &dyn ColumnProtection,
) -> Result<(), OperationError> {
    let mut frontier: Vec<u32> = protected_oids(snapshot);
    let mut done: BTreeSet<u32> = BTreeSet::new();
    for _ in 0..MAX_VIEW_NESTING {
        let rows = catalog_query(transaction, statements, DERIVED_VIEWS_SQL, &[&frontier])?;
        let mut views: Vec<(u32, String)> = Vec::new();
        for row in rows {
            let view: u32 = row.try_get(0).map_err(failed)?;
            if done.insert(view) {
                views.push((view, row.try_get(1).map_err(failed)?));
            }
        }
        if views.is_empty() {
            return Ok(());
        }
        let view_oids: Vec<u32> = views.iter().map(|(oid, _)| *oid).collect();
        let mut columns: BTreeMap<u32, Vec<(i16, String)>> = BTreeMap::new();
        for row in catalog_query(transaction, statements, VIEW_COLUMNS_SQL, &[&view_oids])? {
            let view: u32 = row.try_get(0).map_err(failed)?;
            let column = (
                row.try_get(1).map_err(failed)?,
                row.try_get(2).map_err(failed)?,
            );
            columns.entry(view).or_default().push(column);
        }
        for (view, definition) in &views {
            let view_columns = columns.remove(view).unwrap_or_default();
            protect_view(snapshot, *view, definition, view_columns, protection);
        }
        frontier = view_oids;
    }
    Err(OperationError::new(
        ErrorCode::ResourceUnavailable,
        "the catalog snapshot could not be read: views nested too deeply to follow",
    ))
}

/// A view's columns get the strictest rule of what they read. A definition that cannot be
/// analysed column by column protects every column with the strictest rule it reads at all.
fn protect_view(
    snapshot: &mut CatalogSnapshot,
    view: u32,
    definition: &str,
    columns: Vec<(i16, String)>,
    protection: &dyn ColumnProtection,
) {
    let analysed = pg_query::parse(definition, pg_query::ParserOptions::DEFAULT)
        .ok()
        .and_then(|parsed| {
            let statement = parsed.protobuf.stmts.first()?.stmt.clone()?;
            Some(targets(&statement, snapshot))
        })
        .filter(|targets| targets.len() == columns.len());
    let per_column: Vec<Vec<usize>> = match analysed {
        Some(targets) => targets
            .iter()
            .map(|target| target.sources().iter().map(|s| s.rule).collect())
            .collect(),
        None => {
            let every: Vec<usize> = snapshot
                .relations
                .values()
                .flat_map(|r| r.protected.iter().map(|c| c.rule))
                .collect();
            vec![every; columns.len()]
        }
    };
    for ((attnum, name), rules) in columns.into_iter().zip(per_column) {
        protect(snapshot, view, attnum, name, protection, Some(rules));
    }
}

/// Records the rule of `oid`'s column `name`: the first rule naming it, and the strictest of
/// `derived` (the rules of what a view column reads).
fn protect(
    snapshot: &mut CatalogSnapshot,
    oid: u32,
    attnum: i16,
    name: String,
    protection: &dyn ColumnProtection,
    derived: Option<Vec<usize>>,
) {
    let Some(relation_name) = snapshot.oids.get(&oid).cloned() else {
        return;
    };
    let own = protection.rule_for(&relation_name, &name);
    let mut rules = derived.unwrap_or_default().into_iter().chain(own);
    let Some(rule) = protection.strictest(&mut rules) else {
        return;
    };
    if let Some(relation) = snapshot.relations.get_mut(&relation_name) {
        relation
            .protected
            .push(ProtectedColumn { name, attnum, rule });
    }
}

fn protected_oids(snapshot: &CatalogSnapshot) -> Vec<u32> {
    snapshot
        .relations
        .values()
        .filter(|relation| !relation.protected.is_empty())
        .map(|relation| relation.oid)
        .collect()
}

fn failed(err: postgres::Error) -> OperationError {
    OperationError::new(
        ErrorCode::ResourceUnavailable,
        format!("the catalog snapshot could not be read: unexpected catalog value: {err}"),
    )
}
