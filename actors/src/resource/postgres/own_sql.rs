//! Every statement text a PostgreSQL resource sends of its own, for the test that runs them in a
//! database seeded with hostile overloads of every name they use.

use super::{catalog, describe, exec, pool, privileges};
use std::time::Duration;

/// Every statement text a PostgreSQL resource sends of its own (a request's timeouts and the text
/// wrapper shown for one value each), for the test that runs them among hostile overloads.
pub fn own_statements() -> Vec<String> {
    use super::snapshot_sql::*;
    let timeout = Duration::from_millis(1234);
    let mut texts: Vec<String> = [
        FINGERPRINT_SQL,
        SEARCH_PATH_SQL,
        FUNCTIONS_SQL,
        OPERATORS_SQL,
        TYPE_CODE_SQL,
        CONTAINING_TYPES_SQL,
        RELATIONS_SQL,
        RELATION_CODE_SQL,
        COLUMN_NAMES_SQL,
        NAMED_COLUMNS_SQL,
        DERIVED_VIEWS_SQL,
        VIEW_COLUMNS_SQL,
        privileges::SUPERUSER_SQL,
        privileges::VERSION_SQL,
        catalog::list_tables_sql(),
        describe::describe_relation_sql(),
        exec::RELEASE_ADVISORY_LOCKS_SQL,
    ]
    .iter()
    .map(|text| (*text).to_owned())
    .collect();
    texts.push(privileges::reasons_sql(150_000));
    texts.push(privileges::reasons_sql(170_000));
    texts.push(pool::session_settings(timeout, timeout));
    texts.push(exec::local_timeouts(timeout));
    texts.push(exec::text_cast_wrapper("SELECT 1", &[false]));
    texts.push(size_guard_sample());
    texts
}

/// The size guard around a statement with a column of every kind it measures.
fn size_guard_sample() -> String {
    use super::text_casts::{size_guard_wrapper, Measure, WrappedColumn};
    let kinds = [
        (false, Measure::Octets),
        (true, Measure::Fixed),
        (true, Measure::Octets),
        (true, Measure::Array),
        (true, Measure::Datum),
    ];
    let columns: Vec<WrappedColumn> = kinds
        .iter()
        .map(|&(binary, measure)| WrappedColumn { binary, measure })
        .collect();
    let sql = "SELECT ROW(1, 2), 1, 'x'::pg_catalog.text, ARRAY[1], '{}'::pg_catalog.jsonb";
    size_guard_wrapper(sql, &columns, 1000)
}
