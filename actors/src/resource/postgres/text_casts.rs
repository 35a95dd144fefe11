//! The wrapper that makes columns the relay does not decode in binary arrive as text, through the
//! type's own output function rather than a cast a user could define.

use crate::resource::pg_values::decodes_binary;
use postgres::Statement;

/// Wraps a statement so columns whose binary format the relay does not decode arrive as text.
/// The statement was checked by the policy on its own; the wrapper adds only column references,
/// turned into text by the type's own output function (`format('%s', ...)`) rather than a cast,
/// which a user-defined cast to `text` could take over. `num_nulls` keeps SQL NULL apart from a
/// row whose fields are all NULL (which `IS NULL` would confuse).
pub fn with_text_casts(sql: &str, statement: &Statement) -> String {
    let binary: Vec<bool> = statement
        .columns()
        .iter()
        .map(|column| decodes_binary(column.type_()))
        .collect();
    text_cast_wrapper(sql, &binary)
}

/// [`with_text_casts`] for columns that are (`true`) or are not decoded in binary.
pub fn text_cast_wrapper(sql: &str, binary: &[bool]) -> String {
    let aliases: Vec<String> = (1..=binary.len()).map(|i| format!("\"c{i}\"")).collect();
    let select_list: Vec<String> = binary
        .iter()
        .zip(&aliases)
        .map(|(binary, alias)| {
            if *binary {
                format!("relay_q.{alias}")
            } else {
                format!(
                    "CASE WHEN pg_catalog.num_nulls(relay_q.{alias}) OPERATOR(pg_catalog.=) 0 \
                     THEN pg_catalog.format('%s'::pg_catalog.text, relay_q.{alias}) END"
                )
            }
        })
        .collect();
    format!(
        "SELECT {} FROM (\n{sql}\n) AS relay_q({})",
        select_list.join(", "),
        aliases.join(", ")
    )
}
