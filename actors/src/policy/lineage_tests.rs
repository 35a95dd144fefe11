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
