//! The policy against a database holding hostile objects: every path by which a statement could
//! reach code that is not built in, with and without vouching.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use super::catalog::{
    CatalogSnapshot, Code, Function, Operator, QualifiedName, Reach, Relation, RelationKind,
    TypeCode,
};
use super::{PolicyViolation, Rules, SqlPolicy};
use std::sync::Arc;

fn code(schema: &str, name: &str, arguments: &str) -> Code {
    Code {
        function: QualifiedName::new(schema, name),
        arguments: arguments.to_owned(),
        builtin: schema == "pg_catalog",
    }
}

fn function(schema: &str, name: &str, arguments: &str) -> Function {
    Function {
        code: code(schema, name, arguments),
        takes_one_argument: !arguments.contains(','),
        volatility: 'v',
        security_definer: true,
        language: "plpgsql".to_owned(),
        owner: "postgres".to_owned(),
        system: false,
    }
}

fn reach(via: &str, code: Code) -> Reach {
    Reach {
        via: via.to_owned(),
        code,
    }
}

fn relation(kind: RelationKind, runs: Vec<Reach>, reads: &[(&str, &str)]) -> Relation {
    Relation {
        kind,
        system: false,
        runs,
        reads: reads
            .iter()
            .map(|(schema, name)| QualifiedName::new(*schema, *name))
            .collect(),
        ..Relation::default()
    }
}

/// A database with the hostile objects of every class, and a few plain tables.
pub(super) fn hostile_catalog() -> CatalogSnapshot {
    let mut catalog = CatalogSnapshot::builtin_only();
    for f in [
        function("public", "upper", "integer"),
        function("public", "touch", "customers"),
        function("s", "evil_eq", "integer, integer"),
        function("public", "unnest", "int2vector"),
    ] {
        catalog
            .functions
            .entry(f.code.function.name.clone())
            .or_default()
            .push(f);
    }
    for (schema, name) in [("public", "==="), ("s", "==="), ("public", "=")] {
        catalog
            .operators
            .entry(name.to_owned())
            .or_default()
            .push(Operator {
                name: QualifiedName::new(schema, name),
                left: "integer".to_owned(),
                right: "integer".to_owned(),
                code: code("s", "evil_eq", "integer, integer"),
            });
    }
    let checked = TypeCode {
        io: Vec::new(),
        coercion: vec![reach("its CHECK constraint", code("s", "check_fn", "text"))],
    };
    catalog
        .types
        .insert(QualifiedName::new("s", "checked_domain"), checked);
    let cast = TypeCode {
        io: Vec::new(),
        coercion: vec![reach(
            "a cast to text",
            code("public", "pair_to_text", "pair"),
        )],
    };
    catalog
        .types
        .insert(QualifiedName::new("public", "pair"), cast);
    catalog.guarded_domains = vec![QualifiedName::new("s", "checked_domain")];
    let touch = code("public", "touch", "");
    let tables = [
        (
            "public",
            "customers",
            relation(RelationKind::Table, vec![], &[]),
        ),
        (
            "public",
            "orders",
            relation(RelationKind::Table, vec![], &[]),
        ),
        (
            "public",
            "secret",
            relation(RelationKind::Table, vec![], &[]),
        ),
        (
            "public",
            "v",
            relation(
                RelationKind::View,
                vec![reach("its view definition", touch.clone())],
                &[("public", "orders")],
            ),
        ),
        (
            "public",
            "v2",
            relation(RelationKind::View, vec![], &[("public", "secret")]),
        ),
        (
            "public",
            "secured",
            relation(
                RelationKind::Table,
                vec![reach(
                    "its row-level security policy p",
                    code("public", "rls_fn", ""),
                )],
                &[],
            ),
        ),
        (
            "public",
            "remote",
            relation(
                RelationKind::ForeignTable,
                vec![reach(
                    "its foreign-data wrapper",
                    code("public", "fdw_handler", ""),
                )],
                &[],
            ),
        ),
        (
            "public",
            "locking_view",
            relation(
                RelationKind::View,
                vec![reach(
                    "its view definition",
                    code("pg_catalog", "pg_advisory_lock", "bigint"),
                )],
                &[],
            ),
        ),
    ];
    for (schema, name, relation) in tables {
        catalog
            .relations
            .insert(QualifiedName::new(schema, name), relation);
    }
    for name in ["pg_class", "pg_stat_activity"] {
        let mut relation = relation(RelationKind::View, vec![], &[]);
        relation.system = true;
        catalog
            .relations
            .insert(QualifiedName::new("pg_catalog", name), relation);
    }
    catalog.relations_complete = true;
    catalog
}

fn policy_with(rules: Rules) -> SqlPolicy {
    let policy = SqlPolicy::with_rules(rules, false);
    policy.set_catalog(Ok(Arc::new(hostile_catalog())));
    policy
}

pub(super) fn plain() -> SqlPolicy {
    policy_with(Rules::default())
}

fn reaches(policy: &SqlPolicy, sql: &str, object: &str) {
    match policy.check_query(sql) {
        Err(PolicyViolation::Reaches { object: found, .. }) if found.contains(object) => {}
        other => panic!("{sql}: expected to be refused for reaching {object}, got {other:?}"),
    }
}

#[test]
fn overloads_outside_pg_catalog_are_refused_unless_the_call_is_qualified() {
    let policy = plain();
    reaches(&policy, "SELECT upper(1)", "public.upper(integer)");
    reaches(&policy, "SELECT upper('a')", "public.upper(integer)");
    reaches(
        &policy,
        "SELECT * FROM unnest('1 2'::int2vector)",
        "public.unnest",
    );
    assert!(policy.check_query("SELECT pg_catalog.upper('a')").is_ok());
    assert!(policy.check_query("SELECT lower('A')").is_ok());
    assert_eq!(
        policy.check_query("SELECT s.evil_eq(1, 1)"),
        Err(PolicyViolation::Reaches {
            what: "function s.evil_eq".into(),
            object: "s.evil_eq(integer, integer)".into(),
            why: "it is not built in".into(),
        })
    );
}

#[test]
fn attribute_notation_is_a_call() {
    let policy = plain();
    reaches(&policy, "SELECT c.touch FROM customers c", "public.touch");
    reaches(&policy, "SELECT (c).touch FROM customers c", "public.touch");
    reaches(
        &policy,
        "SELECT public.customers.touch FROM customers",
        "public.touch",
    );
    assert!(policy
        .check_query("SELECT c.name, c.* FROM customers c")
        .is_ok());
}

#[test]
fn operators_outside_pg_catalog_are_refused_wherever_they_appear() {
    let policy = plain();
    for sql in [
        "SELECT 1 === 1",
        "SELECT 1 OPERATOR(s.===) ANY (SELECT 1)",
        "SELECT 1 OPERATOR(s.===) 1",
        "SELECT * FROM orders ORDER BY id USING ===",
        "SELECT 1 = 1",
        "SELECT 1 IS DISTINCT FROM 2",
        "SELECT NULLIF(1, 2)",
        "SELECT 1 IN (1, 2)",
        "SELECT 1 = ANY (ARRAY[1])",
        "SELECT CASE 1 WHEN 1 THEN 'one' END",
        "SELECT * FROM orders JOIN customers USING (id)",
        "SELECT * FROM orders NATURAL JOIN customers",
        "SELECT 1 WHERE 1 IN (SELECT 1)",
    ] {
        reaches(&policy, sql, "s.evil_eq");
    }
    assert!(policy.check_query("SELECT 1 < 2, 'a' || 'b'").is_ok());
    assert!(policy
        .check_query("SELECT 1 OPERATOR(pg_catalog.=) 1")
        .is_ok());
}

#[test]
fn casts_and_type_names_that_run_code_are_refused() {
    let policy = plain();
    reaches(&policy, "SELECT 'x'::s.checked_domain", "s.check_fn");
    reaches(
        &policy,
        "SELECT CAST('x' AS s.checked_domain)",
        "s.check_fn",
    );
    reaches(&policy, "SELECT '{x}'::s.checked_domain[]", "s.check_fn");
    reaches(
        &policy,
        "SELECT ROW(1, 2)::public.pair",
        "public.pair_to_text",
    );
    reaches(&policy, "SELECT ROW(1, 2)::pair", "public.pair_to_text");
    reaches(
        &policy,
        "SELECT * FROM jsonb_to_record('{}') AS t(a s.checked_domain)",
        "s.check_fn",
    );
    reaches(
        &policy,
        "SELECT json_populate_record(NULL::record, '{}')",
        "s.checked_domain",
    );
    assert!(policy
        .check_query("SELECT 1::int, '{}'::jsonb, tsquery('a'), float8(1), 'x'::text")
        .is_ok());
}

#[test]
fn relations_that_run_code_are_refused_unless_vouched_for() {
    let policy = plain();
    reaches(&policy, "SELECT * FROM v", "public.touch");
    reaches(&policy, "SELECT count(*) FROM public.v", "public.touch");
    reaches(&policy, "SELECT * FROM secured", "public.rls_fn");
    reaches(&policy, "SELECT * FROM remote", "public.fdw_handler");
    reaches(
        &policy,
        "SELECT * FROM locking_view",
        "pg_catalog.pg_advisory_lock",
    );
    reaches(
        &policy,
        "SELECT * FROM orders WHERE EXISTS (SELECT 1 FROM v)",
        "public.touch",
    );
    let vouched = policy_with(Rules::new(
        &[],
        &["public.v".into(), "public.secured".into()],
        None,
    ));
    assert!(vouched.check_query("SELECT * FROM v").is_ok());
    assert!(vouched.check_query("SELECT * FROM secured").is_ok());
    let by_function = policy_with(Rules::new(&["public.touch".into()], &[], None));
    assert!(by_function.check_query("SELECT * FROM v").is_ok());
    assert!(by_function
        .check_query("SELECT c.touch FROM customers c")
        .is_ok());
    let by_pattern = policy_with(Rules::new(&["s.*".into()], &[], None));
    assert!(by_pattern.check_query("SELECT 1 === 1").is_ok());
}

#[test]
fn common_table_expressions_shadow_relations_only_where_they_are_visible() {
    let policy = plain();
    assert!(policy
        .check_query("WITH v AS (SELECT 1) SELECT * FROM v")
        .is_ok());
    assert!(policy
        .check_query("WITH RECURSIVE v(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM v WHERE n < 3) SELECT * FROM v")
        .is_ok());
    reaches(
        &policy,
        "WITH a AS (SELECT * FROM v), v AS (SELECT 1) SELECT * FROM a",
        "public.touch",
    );
    reaches(
        &policy,
        "WITH v AS (SELECT * FROM v) SELECT * FROM v",
        "public.touch",
    );
    reaches(
        &policy,
        "WITH x AS (SELECT 1) SELECT * FROM public.v",
        "public.touch",
    );
}
