//! Table scoping against a database holding hostile objects: every way of reading a relation
//! outside the scope is refused, naming it.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use super::catalog_tests::{hostile_catalog, plain};
use super::patterns::TableScope;
use super::{PolicyViolation, Rules, SqlPolicy};
use std::sync::Arc;

fn scoped() -> SqlPolicy {
    let scope = TableScope::new(
        &["public.*".into(), "pg_catalog.pg_stat_activity".into()],
        &["public.secret".into()],
    );
    let policy = SqlPolicy::with_rules(Rules::new(&[], &["public.v".into()], Some(scope)), false);
    let mut catalog = hostile_catalog();
    catalog.operators.remove("=");
    policy.set_catalog(Ok(Arc::new(catalog)));
    policy
}

fn outside(policy: &SqlPolicy, sql: &str, relation: &str) {
    match policy.check_query(sql) {
        Err(PolicyViolation::NotAllowedRelation(found)) if found.starts_with(relation) => {}
        other => panic!("{sql}: expected {relation} to be outside the scope, got {other:?}"),
    }
}

#[test]
fn scoping_refuses_every_way_of_reading_outside_the_scope() {
    let policy = scoped();
    for sql in [
        "SELECT * FROM secret",
        "SELECT * FROM public.secret",
        "SELECT * FROM orders o JOIN secret s ON true",
        "SELECT * FROM orders WHERE id IN (SELECT id FROM secret)",
        "WITH x AS (SELECT * FROM secret) SELECT * FROM x",
        "SELECT * FROM (SELECT * FROM secret) s",
        "SELECT * FROM v2",
        "SELECT 'secret'::regclass",
        "SELECT 'public.\"secret\"'::pg_catalog.regclass::oid",
    ] {
        outside(&policy, sql, "public.secret");
    }
    outside(&policy, "SELECT * FROM pg_class", "pg_catalog.pg_class");
    outside(&policy, "SELECT * FROM nowhere", "nowhere");
    assert_eq!(
        policy.check_query("SELECT pg_catalog.pg_relation_size('orders'::regclass)"),
        Err(PolicyViolation::Function(
            "pg_catalog.pg_relation_size".into()
        ))
    );
    assert_eq!(
        policy.check_query("SELECT pg_get_viewdef('v'::regclass)"),
        Err(PolicyViolation::Function("pg_get_viewdef".into()))
    );
    assert!(policy
        .check_query("SELECT * FROM orders o, customers c")
        .is_ok());
    assert!(policy.check_query("SELECT * FROM pg_stat_activity").is_ok());
    assert!(policy
        .check_query("WITH secret AS (SELECT 1) SELECT * FROM secret")
        .is_ok());
    assert!(
        policy.check_query("SELECT * FROM v").is_ok(),
        "vouched and in scope"
    );
    assert!(plain()
        .check_query("SELECT pg_get_viewdef('v'::regclass)")
        .is_ok());
}
