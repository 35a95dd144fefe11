//! The planner's statistics views in column lineage: they show sample values of every column the
//! role can read, so their value columns count as reading every protected column. Pure.

use super::{column_label, Item, Source, Sources};
use crate::policy::catalog::{CatalogSnapshot, QualifiedName};

/// The planner's statistics views show sample values of every column the role can read
/// (`most_common_vals`, `histogram_bounds`, ...), protected ones included, and which column a row
/// is about is data, not structure: every output of them counts as reading every protected column.
const STATISTICS_VIEWS: [&str; 3] = ["pg_stats", "pg_stats_ext", "pg_stats_ext_exprs"];

/// The columns of the statistics views that describe a column without showing its values.
const STATISTICS_DESCRIPTIONS: [&str; 12] = [
    "schemaname",
    "tablename",
    "attname",
    "inherited",
    "null_frac",
    "avg_width",
    "n_distinct",
    "correlation",
    "most_common_freqs",
    "most_common_elem_freqs",
    "statistics_schemaname",
    "statistics_name",
];

/// A statistics view in scope: its describing columns read nothing, any other reads everything;
/// renamed by an alias column list, every column reads everything.
pub(super) fn statistics_item(alias: String, names: &[String], catalog: &CatalogSnapshot) -> Item {
    let columns = match names.is_empty() {
        true => STATISTICS_DESCRIPTIONS
            .iter()
            .map(|name| ((*name).to_owned(), Sources::new()))
            .collect(),
        false => Vec::new(),
    };
    Item {
        alias,
        columns,
        rest: statistics_values(catalog),
    }
}

/// Whether a relation is one of the planner's statistics views.
pub fn is_statistics_view(relation: &QualifiedName) -> bool {
    relation.schema == "pg_catalog" && STATISTICS_VIEWS.contains(&relation.name.as_str())
}

fn statistics_values(catalog: &CatalogSnapshot) -> Sources {
    catalog
        .relations
        .iter()
        .flat_map(|(relation, found)| {
            found.protected.iter().map(move |column| Source {
                rule: column.rule,
                column: column_label(relation, &column.name),
            })
        })
        .collect()
}
