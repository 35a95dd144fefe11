//! Lineage on parse trees: every way a select list can read a protected column, under any name.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use super::catalog::{CatalogSnapshot, ProtectedColumn, QualifiedName, Relation};
use super::lineage::{targets, Target};
use std::collections::BTreeSet;

/// `customers` protects `password` (rule 0) and `api_token` (rule 1); `orders` nothing.
fn catalog() -> CatalogSnapshot {
    let mut catalog = CatalogSnapshot::builtin_only();
    let protected = |name: &str, attnum, rule| ProtectedColumn {
        name: name.to_owned(),
        attnum,
        rule,
    };
    catalog.relations.insert(
        QualifiedName::new("public", "customers"),
        Relation {
            oid: 100,
            protected: vec![protected("password", 3, 0), protected("api_token", 4, 1)],
            ..Relation::default()
        },
    );
    catalog.relations.insert(
        QualifiedName::new("public", "orders"),
        Relation {
            oid: 101,
            ..Relation::default()
        },
    );
    catalog.relations_complete = true;
    catalog
}

/// The rules each entry of the select list reads; `*` entries prefixed with `*`.
fn lineage(sql: &str) -> Vec<String> {
    let parsed = pg_query::parse(sql, pg_query::ParserOptions::DEFAULT).unwrap();
    let statement = parsed.protobuf.stmts[0].stmt.clone().unwrap();
    targets(&statement, &catalog())
        .iter()
        .map(|target| {
            let rules: BTreeSet<usize> = target.sources().iter().map(|s| s.rule).collect();
            let rules: Vec<String> = rules.iter().map(ToString::to_string).collect();
            match target {
                Target::Star(_) => format!("*{}", rules.join(",")),
                Target::Expr(_) => rules.join(","),
            }
        })
        .collect()
}

#[test]
fn renamed_and_computed_outputs_keep_their_source() {
    let cases: &[(&str, &[&str])] = &[
        ("SELECT password AS p FROM customers", &["0"]),
        ("SELECT password || '' FROM customers", &["0"]),
        ("SELECT upper(api_token), name FROM customers", &["1", ""]),
        (
            "SELECT array_agg(password) FROM customers GROUP BY name",
            &["0"],
        ),
        (
            "SELECT lag(password) OVER (ORDER BY id) FROM customers",
            &["0"],
        ),
        (
            "SELECT CASE WHEN id > 0 THEN password END FROM customers",
            &["0"],
        ),
        (
            "SELECT x FROM (SELECT password AS x FROM customers) s",
            &["0"],
        ),
        (
            "SELECT s.y FROM (SELECT api_token FROM customers) s(y)",
            &["1"],
        ),
        (
            "WITH c AS (SELECT password AS p FROM customers) SELECT upper(p) FROM c",
            &["0"],
        ),
        (
            "WITH c(q) AS (SELECT password FROM customers) SELECT c.q FROM c",
            &["0"],
        ),
        (
            "SELECT name FROM customers UNION SELECT password FROM customers",
            &["0"],
        ),
        ("VALUES ((SELECT password FROM customers LIMIT 1))", &["0"]),
        ("SELECT (SELECT password FROM customers LIMIT 1)", &["0"]),
        ("SELECT (SELECT c.password) FROM customers c", &["0"]),
        (
            "SELECT c.password FROM customers c JOIN orders o ON o.id = c.id",
            &["0"],
        ),
        (
            "SELECT count(*), max(o.id) FROM orders o JOIN customers c ON true",
            &["", ""],
        ),
        ("SELECT name, id FROM customers", &["", ""]),
    ];
    for (sql, expected) in cases {
        assert_eq!(lineage(sql), *expected, "{sql}");
    }
}

#[test]
fn whole_rows_stars_and_functions_over_rows_read_every_protected_column() {
    let cases: &[(&str, &[&str])] = &[
        ("SELECT c FROM customers c", &["0,1"]),
        ("SELECT row_to_json(c) FROM customers c", &["0,1"]),
        ("SELECT to_jsonb(customers) FROM customers", &["0,1"]),
        ("SELECT * FROM customers", &["*0,1"]),
        ("SELECT o.*, c.name FROM orders o, customers c", &["*", ""]),
        (
            "SELECT j.value FROM customers c, jsonb_each(to_jsonb(c)) j",
            &["0,1"],
        ),
        ("SELECT t.x FROM (SELECT * FROM customers) t(x)", &["0,1"]),
        (
            "SELECT j.password FROM (customers JOIN orders USING (id)) AS j",
            &["0,1"],
        ),
        (
            "WITH RECURSIVE r(n, p) AS (SELECT 1, password FROM customers UNION ALL \
             SELECT n + 1, p FROM r WHERE n < 3) SELECT p FROM r",
            &["0"],
        ),
    ];
    for (sql, expected) in cases {
        assert_eq!(lineage(sql), *expected, "{sql}");
    }
}

/// Rule 0 is stricter than rule 1 (as `redact` is than `partial`).
struct TwoRules;

impl super::lineage::ColumnProtection for TwoRules {
    fn may_protect(&self, _column: &str) -> bool {
        true
    }
    fn rule_for(&self, _relation: &QualifiedName, _column: &str) -> Option<usize> {
        None
    }
    fn strictest(&self, rules: &mut dyn Iterator<Item = usize>) -> Option<usize> {
        rules.min()
    }
}

/// The rule each result column gets, from its origin in the row description and the SQL.
fn column_rules(sql: &str, origins: &[super::lineage::Origin]) -> Vec<Option<usize>> {
    let mut catalog = catalog();
    catalog
        .oids
        .insert(100, QualifiedName::new("public", "customers"));
    let parsed = pg_query::parse(sql, pg_query::ParserOptions::DEFAULT).unwrap();
    let statement = parsed.protobuf.stmts[0].stmt.clone().unwrap();
    let targets = targets(&statement, &catalog);
    super::lineage::column_sources(origins, &targets, &catalog, &TwoRules)
        .into_iter()
        .map(|source| source.map(|(s, _)| s.rule))
        .collect()
}

#[test]
fn result_columns_take_their_table_column_or_their_entry() {
    // Straight from the table: the row description decides.
    let direct = column_rules(
        "SELECT id, api_token FROM customers",
        &[Some((100, 1)), Some((100, 4))],
    );
    assert_eq!(direct, [None, Some(1)]);
    // Computed: the select-list entry decides; several protected columns give the strictest.
    let computed = column_rules(
        "SELECT upper(api_token), password || api_token, 1 FROM customers",
        &[None, None, None],
    );
    assert_eq!(computed, [Some(1), Some(0), None]);
}

#[test]
fn a_single_star_takes_the_columns_the_other_entries_leave() {
    let sql = "SELECT upper(api_token) AS t, *, length(name) FROM customers";
    let origins = [
        None,
        Some((100, 1)),
        Some((100, 2)),
        Some((100, 3)),
        Some((100, 4)),
        None,
    ];
    assert_eq!(
        column_rules(sql, &origins),
        [Some(1), None, None, Some(0), Some(1), None]
    );
}

#[test]
fn computed_columns_that_cannot_be_matched_read_everything_the_entries_read() {
    // Two stars over a sub-query: which computed column is which cannot be told.
    let sql = "SELECT s.*, t.* FROM (SELECT upper(password) AS p FROM customers) s, \
               (SELECT 1 AS one) t";
    assert_eq!(column_rules(sql, &[None, None]), [Some(0), Some(0)]);
}

#[test]
fn the_statistics_views_read_every_protected_column() {
    assert_eq!(lineage("SELECT most_common_vals FROM pg_stats"), ["0,1"]);
    assert_eq!(
        lineage("SELECT s.tablename, s.null_frac FROM pg_stats s"),
        ["", ""]
    );
    assert_eq!(lineage("SELECT * FROM pg_catalog.pg_stats_ext"), ["*0,1"]);
    assert_eq!(lineage("SELECT * FROM public.pg_stats"), ["*"]);
}
