//! What the lineage needs of the masking column rules, and how a result's columns get the
//! protected column they derive from: the row description's table column where there is one,
//! else the parse tree's targets. Pure.

use super::{Source, Target};
use crate::policy::catalog::{CatalogSnapshot, QualifiedName};

/// How a source column is named in counts: `schema.table.column`.
pub fn column_label(relation: &QualifiedName, column: &str) -> String {
    format!("{relation}.{column}")
}

/// Which table columns the masking column rules protect, as the catalog snapshot needs to know.
pub trait ColumnProtection: Send + Sync {
    /// Whether some rule could protect a column of this name, in some relation.
    fn may_protect(&self, column: &str) -> bool;
    /// The first rule protecting `column` of `relation`.
    fn rule_for(&self, relation: &QualifiedName, column: &str) -> Option<usize>;
    /// The strictest of several rules (`redact` before the others).
    fn strictest(&self, rules: &mut dyn Iterator<Item = usize>) -> Option<usize>;
    /// The strictest rule that applies to some column of `relation`, for outputs that may hold
    /// any of its columns.
    fn any_rule(&self, _relation: &QualifiedName) -> Option<usize> {
        None
    }
    /// The rules scoped by `table` to `relation`, which apply to its fields by name.
    fn scoped_to(&self, _relation: &QualifiedName) -> Vec<usize> {
        Vec::new()
    }
}

/// No column rules at all.
pub struct Unprotected;

impl ColumnProtection for Unprotected {
    fn may_protect(&self, _column: &str) -> bool {
        false
    }

    fn rule_for(&self, _relation: &QualifiedName, _column: &str) -> Option<usize> {
        None
    }

    fn strictest(&self, rules: &mut dyn Iterator<Item = usize>) -> Option<usize> {
        rules.min()
    }
}

/// Where a result column comes from, as the row description says: the table's OID and the
/// column's attribute number for a column read straight from a table, `None` for one computed.
pub type Origin = Option<(u32, i16)>;

/// For each result column, the protected column its values derive from (the strictest rule's
/// when several). A column read straight from a table column is that column; a computed one
/// reads what its select-list entry reads. Where the entries cannot be matched to the columns
/// one to one (several `*`), a computed column reads everything the entries read: fail closed.
/// With each source, whether the value is computed from it rather than the column itself.
pub fn column_sources(
    origins: &[Origin],
    targets: &[Target],
    snapshot: &CatalogSnapshot,
    protection: &dyn ColumnProtection,
) -> Vec<Option<(Source, bool)>> {
    let entries = entry_per_column(origins.len(), targets);
    let everything: Vec<&Source> = targets.iter().flat_map(|t| t.sources()).collect();
    origins
        .iter()
        .enumerate()
        .map(|(index, origin)| {
            let direct = origin.and_then(|(oid, attnum)| snapshot.protected_column(oid, attnum));
            let mut read: Vec<Source> = direct
                .map(|(_, column)| Source {
                    rule: column.rule,
                    column: column.name.clone(),
                })
                .into_iter()
                .collect();
            match entries.as_ref().and_then(|entries| entries.get(index)) {
                // A star's column read straight from a relation the snapshot knows is that
                // column alone; of any other relation, it may be anything the star reads.
                Some(Target::Star(_))
                    if origin.is_some_and(|(oid, _)| read_alone(snapshot, oid)) => {}
                Some(entry) => read.extend(entry.sources().iter().cloned()),
                None if origin.is_none() => read.extend(everything.iter().map(|s| (*s).clone())),
                None => {}
            }
            let direct_rule = direct.map(|(_, column)| column.rule);
            strictest_source(&read, protection).map(|source| {
                let computed = direct_rule != Some(source.rule);
                (source, computed)
            })
        })
        .collect()
}

/// Whether a column read straight from relation `oid` reads that column alone: the snapshot knows
/// the relation, and it is not a statistics view (whose rows are about every column).
fn read_alone(snapshot: &CatalogSnapshot, oid: u32) -> bool {
    snapshot
        .oids
        .get(&oid)
        .is_some_and(|name| !super::is_statistics_view(name))
}

/// The select-list entry of each result column, when that is certain: every entry is one column
/// except a single `*`, which takes the columns the others leave.
fn entry_per_column(columns: usize, targets: &[Target]) -> Option<Vec<&Target>> {
    let stars = targets
        .iter()
        .filter(|t| matches!(t, Target::Star(_)))
        .count();
    let singles = targets.len() - stars;
    let star_width = match stars {
        0 if singles == columns => 0,
        1 if singles <= columns => columns - singles,
        _ => return None,
    };
    let mut entries = Vec::with_capacity(columns);
    for target in targets {
        match target {
            Target::Star(_) => entries.extend(std::iter::repeat_n(target, star_width)),
            Target::Expr(_) => entries.push(target),
        }
    }
    Some(entries)
}

fn strictest_source(read: &[Source], protection: &dyn ColumnProtection) -> Option<Source> {
    let rule = protection.strictest(&mut read.iter().map(|source| source.rule))?;
    read.iter().find(|source| source.rule == rule).cloned()
}
