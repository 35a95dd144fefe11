//! The wrapper around a control-plane statement: columns the relay does not decode in binary
//! arrive as text, through the type's own output function rather than a cast a user could define,
//! and, for a SELECT, the database itself stops sending values once the result grows past the
//! byte limit (so the driver never buffers a row larger than the limit).

use crate::resource::pg_values::decodes_binary;
use postgres::types::{Kind, Type};
use postgres::Statement;

/// The name of the column the size guard adds: true from the first row at which the values sent
/// so far pass the limit (every value of that row and later ones is then NULL).
pub const OVER_LIMIT_COLUMN: &str = "relay_over_limit";

/// How a column of the wrapped statement is measured by the size guard, from its type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Measure {
    /// A fixed-size value of a few bytes: not measured.
    Fixed,
    /// text or bytea: `octet_length`, its size before compression, without detoasting.
    Octets,
    /// An array: its size plus the four-byte length PostgreSQL sends before every element.
    Array,
    /// Anything else of variable size: `pg_column_size`.
    Datum,
}

/// What the wrapper does to each column, as decided from the statement's description.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WrappedColumn {
    pub binary: bool,
    pub measure: Measure,
}

/// Whether `statement` needs the wrapper: a column to turn into text, or (with `guard`) one whose
/// size is not fixed.
pub fn needs_wrapper(statement: &Statement, guard: bool) -> bool {
    wrapped_columns(statement)
        .iter()
        .any(|column| !column.binary || (guard && column.measure != Measure::Fixed))
}

/// Wraps a statement so columns whose binary format the relay does not decode arrive as text,
/// and, when `max_bytes` is given, so rows past the limit carry no values (see
/// [`size_guard_wrapper`]).
pub fn with_text_casts(sql: &str, statement: &Statement, max_bytes: Option<u64>) -> String {
    let columns = wrapped_columns(statement);
    match max_bytes {
        Some(limit) => size_guard_wrapper(sql, &columns, limit),
        None => {
            let binary: Vec<bool> = columns.iter().map(|c| c.binary).collect();
            text_cast_wrapper(sql, &binary)
        }
    }
}

fn wrapped_columns(statement: &Statement) -> Vec<WrappedColumn> {
    statement
        .columns()
        .iter()
        .map(|column| {
            let binary = decodes_binary(column.type_());
            let measure = if binary {
                measure_of(column.type_())
            } else {
                Measure::Octets
            };
            WrappedColumn { binary, measure }
        })
        .collect()
}

/// Built-in oids (`Type::oid` is not const): bool, "char", int8, int2, int4, oid, float4, float8,
/// uuid, date, time, timetz, timestamp, timestamptz, interval, inet, cidr, macaddr, macaddr8.
const FIXED_OIDS: [u32; 19] = [
    16, 18, 20, 21, 23, 26, 700, 701, 2950, 1082, 1083, 1266, 1114, 1184, 1186, 869, 650, 829, 774,
];

fn measure_of(ty: &Type) -> Measure {
    match ty.kind() {
        Kind::Array(_) => Measure::Array,
        Kind::Simple if FIXED_OIDS.contains(&ty.oid()) => Measure::Fixed,
        // text, bytea, varchar.
        Kind::Simple if matches!(ty.oid(), 25 | 17 | 1043) => Measure::Octets,
        _ => Measure::Datum,
    }
}

/// [`with_text_casts`] for columns that are (`true`) or are not decoded in binary.
/// The statement was checked by the policy on its own; the wrapper adds only column references,
/// turned into text by the type's own output function (`format('%s', ...)`) rather than a cast,
/// which a user-defined cast to `text` could take over. `num_nulls` keeps SQL NULL apart from a
/// row whose fields are all NULL (which `IS NULL` would confuse).
pub fn text_cast_wrapper(sql: &str, binary: &[bool]) -> String {
    let aliases = aliases(binary.len());
    let select_list: Vec<String> = binary
        .iter()
        .zip(&aliases)
        .map(|(binary, alias)| as_sent("relay_q", alias, *binary))
        .collect();
    format!(
        "SELECT {} FROM (\n{}\n) AS relay_q({})",
        select_list.join(", "),
        statement_body(sql),
        aliases.join(", ")
    )
}

/// The size guard: the statement's rows (text casts applied, fenced by `OFFSET 0` so nothing is
/// computed twice), a running total of the bytes each row's values take as sent, and, from the
/// row at which that total passes `max_bytes`, NULL in place of every value and true in
/// [`OVER_LIMIT_COLUMN`]. The running total (a window of the rows so far, in the order the rows
/// come) is computed as rows stream; nothing waits for the whole result.
pub fn size_guard_wrapper(sql: &str, columns: &[WrappedColumn], max_bytes: u64) -> String {
    let aliases = aliases(columns.len());
    let sent: Vec<String> = columns
        .iter()
        .zip(&aliases)
        .map(|(column, alias)| format!("{} AS {alias}", as_sent("relay_s", alias, column.binary)))
        .collect();
    let sizes: Vec<String> = columns
        .iter()
        .zip(&aliases)
        .filter_map(|(column, alias)| size_of(column.measure, &format!("relay_q.{alias}")))
        .collect();
    let row_size = if sizes.is_empty() {
        "0::pg_catalog.int8".to_owned()
    } else {
        sizes.join(" OPERATOR(pg_catalog.+) ")
    };
    let guarded: Vec<String> = aliases
        .iter()
        .map(|alias| {
            format!("CASE WHEN relay_w.{OVER_LIMIT_COLUMN} THEN NULL ELSE relay_w.{alias} END")
        })
        .collect();
    format!(
        "SELECT {guarded}, relay_w.{OVER_LIMIT_COLUMN} FROM (SELECT relay_q.*, \
         pg_catalog.sum({row_size}) OVER (ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) \
         OPERATOR(pg_catalog.>) {max_bytes} AS {OVER_LIMIT_COLUMN} \
         FROM (SELECT {sent} FROM (\n{body}\n) AS relay_s({names}) OFFSET 0) AS relay_q) AS relay_w",
        guarded = guarded.join(", "),
        sent = sent.join(", "),
        body = statement_body(sql),
        names = aliases.join(", "),
    )
}

/// One column's size in bytes as an int8 expression, or None for a fixed-size one.
fn size_of(measure: Measure, column: &str) -> Option<String> {
    let size = match measure {
        Measure::Fixed => return None,
        Measure::Octets => format!("pg_catalog.octet_length({column})"),
        Measure::Datum => format!("pg_catalog.pg_column_size({column})"),
        // OPERATOR(...) forms all bind alike, left to right: the product needs its parentheses.
        Measure::Array => format!(
            "pg_catalog.int8(pg_catalog.pg_column_size({column})) OPERATOR(pg_catalog.+) \
             (4::pg_catalog.int8 OPERATOR(pg_catalog.*) \
              pg_catalog.int8(pg_catalog.cardinality({column})))"
        ),
    };
    Some(format!("COALESCE(pg_catalog.int8({size}), 0)"))
}

fn aliases(count: usize) -> Vec<String> {
    (1..=count).map(|i| format!("\"c{i}\"")).collect()
}

/// A column as the relay receives it: as is, or as its type's text output.
fn as_sent(table: &str, alias: &str, binary: bool) -> String {
    if binary {
        format!("{table}.{alias}")
    } else {
        format!(
            "CASE WHEN pg_catalog.num_nulls({table}.{alias}) OPERATOR(pg_catalog.=) 0 \
             THEN pg_catalog.format('%s'::pg_catalog.text, {table}.{alias}) END"
        )
    }
}

/// The statement without the semicolon (and any comment after it) a lone statement may end with,
/// which would end the wrapper's sub-query early: as PostgreSQL's own parser delimits the one
/// statement the policy let through.
fn statement_body(sql: &str) -> &str {
    match pg_query::split_with_parser(sql).as_deref() {
        Ok([statement]) => statement,
        _ => sql
            .trim_end()
            .trim_end_matches([';', ' ', '\t', '\r', '\n']),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_variable_size_columns_are_measured() {
        let columns = [
            WrappedColumn {
                binary: true,
                measure: Measure::Fixed,
            },
            WrappedColumn {
                binary: true,
                measure: Measure::Octets,
            },
            WrappedColumn {
                binary: true,
                measure: Measure::Array,
            },
        ];
        let sql = size_guard_wrapper("SELECT 1, 'x', ARRAY[1];\n", &columns, 1000);
        assert!(
            sql.contains("\nSELECT 1, 'x', ARRAY[1]\n) AS relay_s(\"c1\", \"c2\", \"c3\")"),
            "{sql}"
        );
        assert!(!sql.contains("relay_q.\"c1\")"), "{sql}");
        assert!(
            sql.contains("pg_catalog.octet_length(relay_q.\"c2\")"),
            "{sql}"
        );
        assert!(
            sql.contains("pg_catalog.cardinality(relay_q.\"c3\")"),
            "{sql}"
        );
        assert!(
            sql.contains("OPERATOR(pg_catalog.>) 1000 AS relay_over_limit"),
            "{sql}"
        );
    }

    #[test]
    fn a_trailing_semicolon_and_comment_stay_outside_the_sub_query() {
        assert_eq!(statement_body("SELECT 1; -- done\n"), "SELECT 1");
        assert_eq!(statement_body("SELECT ';' AS s;"), "SELECT ';' AS s");
        assert_eq!(statement_body("SELECT 1 -- last"), "SELECT 1 -- last");
    }

    #[test]
    fn types_are_measured_by_their_size_as_sent() {
        assert_eq!(measure_of(&Type::INT4), Measure::Fixed);
        assert_eq!(measure_of(&Type::TEXT), Measure::Octets);
        assert_eq!(measure_of(&Type::BYTEA), Measure::Octets);
        assert_eq!(measure_of(&Type::INT4_ARRAY), Measure::Array);
        assert_eq!(measure_of(&Type::JSONB), Measure::Datum);
        assert_eq!(measure_of(&Type::NUMERIC), Measure::Datum);
    }
}
