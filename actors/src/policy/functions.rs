//! Which functions a read-only query may call: the built-in allow-list plus configured extras.
//!
//! A READ ONLY transaction still lets functions signal backends, take advisory locks, read server
//! files, change settings, write large objects, consume sequences or reach the network, so the
//! policy names the functions it trusts instead of the ones it fears. Everything listed here is
//! side-effect free: it cannot write, signal, read files, take locks (beyond the ordinary catalog
//! read locks any SELECT takes), run SQL given as a string, or reach the network. `pg_sleep*` is
//! the one deliberate exception: it only burns time, which `statement_timeout` bounds.
//!
//! Deliberately absent even though harmless-looking: `random`, `setseed`, `gen_random_uuid` and the
//! other volatile generators, `currval`/`lastval`, `inet_client_addr`, `pg_get_functiondef`,
//! `json_populate_record*` and every `query_to_xml`-style function that executes a SQL string.

use std::collections::HashSet;

/// The schema built-ins live in; calls qualified with it are judged like unqualified calls.
const BUILTIN_SCHEMA: &str = "pg_catalog";

#[rustfmt::skip]
const AGGREGATES: &[&str] = &[
    "any_value", "array_agg", "avg", "bit_and", "bit_or", "bit_xor", "bool_and", "bool_or", "corr",
    "count", "covar_pop", "covar_samp", "every", "json_agg", "json_agg_strict", "json_object_agg",
    "json_object_agg_strict", "json_object_agg_unique", "json_object_agg_unique_strict", "jsonb_agg",
    "jsonb_agg_strict", "jsonb_object_agg", "jsonb_object_agg_strict", "jsonb_object_agg_unique",
    "jsonb_object_agg_unique_strict", "max", "min", "mode", "percentile_cont", "percentile_disc",
    "range_agg", "range_intersect_agg", "regr_avgx", "regr_avgy", "regr_count", "regr_intercept",
    "regr_r2", "regr_slope", "regr_sxx", "regr_sxy", "regr_syy", "stddev", "stddev_pop",
    "stddev_samp", "string_agg", "sum", "var_pop", "var_samp", "variance", "xmlagg",
];

#[rustfmt::skip]
const WINDOW_FUNCTIONS: &[&str] = &[
    "cume_dist", "dense_rank", "first_value", "lag", "last_value", "lead", "nth_value", "ntile",
    "percent_rank", "rank", "row_number",
];

#[rustfmt::skip]
const MATH: &[&str] = &[
    "abs", "acos", "acosd", "acosh", "asin", "asind", "asinh", "atan", "atan2", "atan2d", "atand",
    "atanh", "cbrt", "ceil", "ceiling", "cos", "cosd", "cosh", "cot", "cotd", "degrees", "div",
    "exp", "factorial", "floor", "gcd", "lcm", "ln", "log", "log10", "min_scale", "mod", "pi", "pow",
    "power", "radians", "round", "scale", "sign", "sin", "sind", "sinh", "sqrt", "tan", "tand",
    "tanh", "trim_scale", "trunc", "width_bucket",
];

/// Includes the functions the parser itself emits for SQL-syntax forms such as
/// `TRIM(BOTH FROM x)` (btrim), `POSITION(a IN b)`, `x LIKE y ESCAPE z` (like_escape),
/// `x SIMILAR TO y` (similar_to_escape), `x IS NORMALIZED` and `OVERLAY(... PLACING ...)`.
#[rustfmt::skip]
const STRINGS: &[&str] = &[
    "array_to_string", "ascii", "bit_length", "btrim", "casefold", "char_length",
    "character_length", "chr", "concat", "concat_ws", "convert_from", "convert_to", "crc32",
    "crc32c", "decode", "encode", "format", "initcap", "is_normalized", "left", "length",
    "like_escape", "lower", "lpad", "ltrim", "md5", "normalize", "octet_length", "overlay",
    "parse_ident", "position", "quote_ident", "quote_literal", "quote_nullable", "regexp_count",
    "regexp_instr", "regexp_like", "regexp_match", "regexp_matches", "regexp_replace",
    "regexp_split_to_array", "regexp_split_to_table", "regexp_substr", "repeat", "replace",
    "reverse", "right", "rpad", "rtrim", "sha224", "sha256", "sha384", "sha512",
    "similar_to_escape", "split_part", "starts_with", "string_to_array", "string_to_table",
    "strpos", "substr", "substring", "text", "to_ascii", "to_bin", "to_hex", "to_oct", "translate",
    "unistr", "upper",
];

/// `EXTRACT(... FROM ...)` parses to `pg_catalog.extract`, `x AT TIME ZONE y` to `timezone`.
#[rustfmt::skip]
const DATE_TIME: &[&str] = &[
    "age", "clock_timestamp", "date_add", "date_bin", "date_part", "date_subtract", "date_trunc",
    "extract", "isfinite", "justify_days", "justify_hours", "justify_interval", "make_date",
    "make_interval", "make_time", "make_timestamp", "make_timestamptz", "now", "overlaps",
    "statement_timestamp", "timeofday", "timezone", "to_char", "to_date", "to_number",
    "to_timestamp", "transaction_timestamp",
];

#[rustfmt::skip]
const JSON: &[&str] = &[
    "array_to_json", "json_array_elements", "json_array_elements_text", "json_array_length",
    "json_build_array", "json_build_object", "json_each", "json_each_text", "json_extract_path",
    "json_extract_path_text", "json_object", "json_object_keys", "json_strip_nulls",
    "json_to_record", "json_to_recordset", "json_typeof", "jsonb_array_elements",
    "jsonb_array_elements_text", "jsonb_array_length", "jsonb_build_array", "jsonb_build_object",
    "jsonb_each", "jsonb_each_text", "jsonb_extract_path", "jsonb_extract_path_text",
    "jsonb_insert", "jsonb_object", "jsonb_object_keys", "jsonb_path_exists", "jsonb_path_match",
    "jsonb_path_query", "jsonb_path_query_array", "jsonb_path_query_first", "jsonb_pretty",
    "jsonb_set", "jsonb_set_lax", "jsonb_strip_nulls", "jsonb_to_record", "jsonb_to_recordset",
    "jsonb_typeof", "row_to_json", "to_json", "to_jsonb",
];

/// Arrays, ranges, network addresses, full-text search, XML (without the SQL-executing
/// `*_to_xml` family) and UUID inspection.
#[rustfmt::skip]
const OTHER_TYPES: &[&str] = &[
    "array_append", "array_cat", "array_dims", "array_fill", "array_length", "array_lower",
    "array_ndims", "array_position", "array_positions", "array_prepend", "array_remove",
    "array_replace", "array_reverse", "array_sort", "array_upper", "cardinality",
    "generate_series", "generate_subscripts", "trim_array", "unnest",
    "daterange", "int4range", "int8range", "isempty", "lower_inc", "lower_inf", "numrange",
    "range_merge", "tsrange", "tstzrange", "upper_inc", "upper_inf",
    "abbrev", "broadcast", "family", "host", "hostmask", "inet_merge", "inet_same_family",
    "masklen", "netmask", "network", "set_masklen",
    "array_to_tsvector", "numnode", "phraseto_tsquery", "plainto_tsquery", "querytree",
    "setweight", "strip", "to_tsquery", "to_tsvector", "ts_headline", "ts_rank", "ts_rank_cd",
    "tsvector_to_array", "websearch_to_tsquery",
    "xml_is_well_formed", "xml_is_well_formed_content", "xml_is_well_formed_document",
    "xmlcomment", "xmlexists", "xmltext", "xpath", "xpath_exists",
    "uuid_extract_timestamp", "uuid_extract_version",
];

/// Catalog and server introspection that only reads.
#[rustfmt::skip]
const SYSTEM_INFO: &[&str] = &[
    "col_description", "current_database", "current_schema", "current_schemas", "current_setting",
    "format_type", "has_any_column_privilege", "has_column_privilege", "has_database_privilege",
    "has_function_privilege", "has_schema_privilege", "has_sequence_privilege",
    "has_table_privilege", "num_nonnulls", "num_nulls", "obj_description", "pg_backend_pid",
    "pg_blocking_pids", "pg_collation_for", "pg_column_size", "pg_conf_load_time",
    "pg_current_wal_lsn", "pg_database_size", "pg_encoding_to_char", "pg_function_is_visible",
    "pg_get_constraintdef", "pg_get_expr", "pg_get_function_arguments",
    "pg_get_function_identity_arguments", "pg_get_function_result", "pg_get_indexdef",
    "pg_get_partkeydef", "pg_get_ruledef", "pg_get_serial_sequence", "pg_get_statisticsobjdef",
    "pg_get_triggerdef", "pg_get_userbyid", "pg_get_viewdef", "pg_has_role", "pg_indexes_size",
    "pg_is_in_recovery", "pg_last_wal_receive_lsn", "pg_last_wal_replay_lsn",
    "pg_last_xact_replay_timestamp", "pg_partition_ancestors", "pg_partition_root",
    "pg_partition_tree", "pg_postmaster_start_time", "pg_relation_size", "pg_size_bytes",
    "pg_size_pretty", "pg_sleep", "pg_sleep_for", "pg_sleep_until", "pg_table_is_visible",
    "pg_table_size", "pg_total_relation_size", "pg_type_is_visible", "pg_typeof",
    "pg_wal_lsn_diff", "shobj_description", "system_user", "to_regclass", "to_regnamespace",
    "to_regproc", "to_regprocedure", "to_regrole", "to_regtype", "version",
];

/// Every built-in category, for building the lookup set and for the list's own tests.
pub(super) const BUILTIN_CATEGORIES: &[&[&str]] = &[
    AGGREGATES,
    WINDOW_FUNCTIONS,
    MATH,
    STRINGS,
    DATE_TIME,
    JSON,
    OTHER_TYPES,
    SYSTEM_INFO,
];

/// Decides whether a called function name is allowed.
#[derive(Debug, Clone)]
pub(super) struct FunctionAllowList {
    builtin: HashSet<&'static str>,
    /// Configured `name` / `schema.name` entries, lowercased like the parser folds unquoted names.
    extra: HashSet<String>,
}

impl FunctionAllowList {
    pub(super) fn new(extra_functions: &[String]) -> Self {
        let builtin = BUILTIN_CATEGORIES
            .iter()
            .flat_map(|names| names.iter().copied())
            .collect();
        let extra = extra_functions
            .iter()
            .map(|entry| entry.trim().to_ascii_lowercase())
            .filter(|entry| !entry.is_empty())
            .collect();
        FunctionAllowList { builtin, extra }
    }

    /// `parts` is the call's name as the parser produced it: unquoted identifiers are already
    /// lowercased and quoted ones kept verbatim. Matching is exact on purpose: `"COUNT"(x)` names a
    /// different function than `count(x)` (one somebody created), so it must not ride on the
    /// built-in's entry.
    pub(super) fn allows(&self, parts: &[&str]) -> bool {
        match parts {
            [name] => self.builtin.contains(name) || self.extra.contains(*name),
            [schema, name] => {
                let qualified_allowed = self.extra.contains(&format!("{schema}.{name}"));
                qualified_allowed || (*schema == BUILTIN_SCHEMA && self.builtin.contains(name))
            }
            // catalog.schema.name, or an empty name: nothing legitimate needs it.
            _ => false,
        }
    }
}
