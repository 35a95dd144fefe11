//! Tests for what the policy lets through: ordinary reads, SHOW, EXPLAIN, configured functions,
//! plus the API's details (kinds, fingerprints, `check_explainable`) and the allow-list itself.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use super::builtins::{classified_names, Builtin};
use super::{PolicyViolation, SqlPolicy, StatementKind};

/// The policy the tests use: two configured extras, EXPLAIN ANALYZE off.
pub(super) fn policy() -> SqlPolicy {
    SqlPolicy::new(
        &["myschema.safe_fn".to_owned(), "Plain_Fn".to_owned()],
        false,
    )
}

const ALLOWED_READS: &[&str] = &[
    "SELECT 1",
    "select a, b from t where a > 1 order by b desc limit 10 offset 5;",
    "SELECT t.a, u.b FROM t JOIN u ON t.id = u.id LEFT JOIN v USING (id) FULL JOIN w ON true",
    "WITH x AS (SELECT 1 AS a), y AS MATERIALIZED (SELECT a FROM x) SELECT * FROM y",
    "WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r WHERE n < 10) SELECT n FROM r",
    "WITH RECURSIVE r(id, p) AS (SELECT 1, 0 UNION ALL SELECT id + 1, id FROM r) \
     SEARCH DEPTH FIRST BY id SET ord CYCLE id SET is_cycle USING path SELECT * FROM r",
    "SELECT row_number() OVER (PARTITION BY a ORDER BY b), rank() OVER w, \
     lag(a, 1) OVER w FROM t WINDOW w AS (ORDER BY a ROWS BETWEEN 1 PRECEDING AND CURRENT ROW)",
    "SELECT count(*), sum(a), avg(a), max(b) FILTER (WHERE a > 0), string_agg(c, ',' ORDER BY c) \
     FROM t GROUP BY d HAVING count(*) > 1",
    "SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY a), mode() WITHIN GROUP (ORDER BY b) FROM t",
    "SELECT jsonb_build_object('a', 1), to_jsonb(t), data->>'x', data #> '{a,b}', \
     jsonb_path_query_first(data, '$.a'), jsonb_set(data, '{a}', '1') FROM t",
    "SELECT * FROM jsonb_each('{\"a\":1}'::jsonb) AS e(k, v)",
    "VALUES (1, 'a'), (2, 'b')",
    "TABLE t",
    "SELECT 1 UNION SELECT 2 INTERSECT SELECT 3 EXCEPT ALL SELECT 4",
    "SELECT * FROM t WHERE a IN (SELECT b FROM u) AND EXISTS (SELECT 1 FROM v WHERE v.x = t.x)",
    "SELECT (SELECT max(a) FROM u) AS m, a = ANY (SELECT b FROM u) FROM t",
    "SELECT * FROM t, LATERAL (SELECT * FROM u WHERE u.id = t.id LIMIT 1) l",
    "SELECT COUNT(*) FROM T",
    "SELECT \"Weird Column\" FROM \"My Table\" AS \"x y\"",
    "SELECT 'x''; DELETE FROM t; --'",
    "SELECT $$; DELETE FROM t$$",
    "SELECT $tag$ ; DROP TABLE t; $tag$",
    "SELECT E'it\\'s; DELETE FROM t', 'C:\\temp'",
    "SELECT 1 -- ; DELETE FROM t",
    "/* leading comment */ SELECT 1 /* ; DELETE FROM t */",
    "SELECT CURRENT_USER, SESSION_USER, CURRENT_DATE, CURRENT_TIMESTAMP(3), LOCALTIME, \
     current_catalog, current_schema, current_role, user, SYSTEM_USER",
    "SELECT COALESCE(a, 0), NULLIF(a, 1), GREATEST(1, 2), LEAST(1, 2) FROM t",
    "SELECT EXTRACT(year FROM now()), now() AT TIME ZONE 'UTC', date_trunc('day', now()), \
     age(now()), to_char(now(), 'YYYY'), make_interval(days => 1), (now(), now()) OVERLAPS (now(), now())",
    "SELECT substring('abc' FROM 2 FOR 1), position('b' IN 'abc'), trim(both 'x' FROM 'xax'), \
     overlay('abc' placing 'x' from 2), 'a' LIKE 'b' ESCAPE '!', 'a' SIMILAR TO 'b', 'abc' IS NORMALIZED",
    "SELECT xmlelement(name a, 'b'), xmlforest(1 AS x), xmlparse(document '<a/>'), \
     xpath('/a', '<a/>'::xml), xmlserialize(content '<a/>'::xml AS text), xmlagg(x) FROM t",
    "SELECT * FROM XMLTABLE('/a' PASSING ('<a><b>1</b></a>'::xml) COLUMNS b int PATH 'b')",
    "SELECT JSON_OBJECT('a': 1), JSON_ARRAY(1, 2), JSON_QUERY('{\"a\":1}'::jsonb, '$.a'), \
     JSON_VALUE('{\"a\":1}'::jsonb, '$.a' DEFAULT 0 ON EMPTY), JSON_EXISTS('{}'::jsonb, '$.a'), \
     JSON('{}'), JSON_SCALAR(1), JSON_SERIALIZE('{}'::json), '{}' IS JSON OBJECT",
    "SELECT JSON_ARRAYAGG(a ORDER BY a), JSON_OBJECTAGG(k : v) FROM t",
    "SELECT * FROM JSON_TABLE('[1,2]'::jsonb, '$[*]' COLUMNS (x int PATH '$', \
     NESTED PATH '$' COLUMNS (y int PATH '$')))",
    "SELECT a::text, CAST(b AS int), c::regclass, d::varchar(10) FROM t",
    "SELECT (ARRAY[1,2,3])[1:2], ARRAY(SELECT 1), ROW(1, 2), (t.composite).field FROM t",
    "SELECT * FROM t TABLESAMPLE SYSTEM (10) REPEATABLE (1)",
    "SELECT a, GROUPING(a) FROM t GROUP BY GROUPING SETS ((a), ()), ROLLUP (b), CUBE (c)",
    "SELECT * FROM generate_series(1, 10) WITH ORDINALITY AS g(n, i)",
    "SELECT * FROM ROWS FROM (generate_series(1, 2), unnest(ARRAY[1])) AS x(a, b)",
    "SELECT pg_sleep(1)",
    "SELECT pg_catalog.count(*) FROM t",
    "SELECT c.relname, pg_catalog.pg_get_userbyid(c.relowner), pg_size_pretty(pg_total_relation_size(c.oid)) \
     FROM pg_catalog.pg_class c WHERE pg_catalog.pg_table_is_visible(c.oid)",
    "SELECT a COLLATE \"C\" FROM t ORDER BY a NULLS LAST FETCH FIRST 5 ROWS WITH TIES",
    "SELECT * FROM t WHERE a = $1",
    "SELECT 1 OPERATOR(pg_catalog.+) 2",
    "SELECT a IS NULL, b IS NOT TRUE, c BETWEEN 1 AND 2, d = ANY (ARRAY[1]), e IS DISTINCT FROM f FROM t",
    "SELECT DISTINCT ON (a) a, b FROM t",
    "SELECT CASE WHEN a > 0 THEN 'pos' ELSE 'neg' END, CASE a WHEN 1 THEN 'one' END FROM t",
    "SELECT to_tsvector('english', body) @@ plainto_tsquery('cat') FROM docs",
    "SELECT myschema.safe_fn(1), plain_fn(2)",
    "SELECT FROM t",
];

#[test]
fn ordinary_reads_pass_as_select() {
    let policy = policy();
    for sql in ALLOWED_READS {
        let checked = policy
            .check_query(sql)
            .unwrap_or_else(|violation| panic!("{sql}\n  refused: {violation}"));
        assert_eq!(checked.kind, StatementKind::Select, "{sql}");
    }
}

#[test]
fn show_passes_as_show() {
    for sql in ["SHOW search_path", "show ALL", "SHOW statement_timeout;"] {
        assert_eq!(
            policy().check_query(sql).unwrap().kind,
            StatementKind::Show,
            "{sql}"
        );
    }
}

#[test]
fn explain_of_a_read_passes_without_analyze() {
    let plain = StatementKind::Explain { analyze: false };
    for sql in [
        "EXPLAIN SELECT 1",
        "EXPLAIN (FORMAT JSON) SELECT * FROM t",
        "EXPLAIN (ANALYZE false, COSTS off) SELECT 1",
        "EXPLAIN (ANALYZE off) SELECT 1",
        "EXPLAIN (ANALYZE 0) SELECT 1",
        "EXPLAIN VERBOSE WITH x AS (SELECT 1) SELECT * FROM x",
        "explain values (1)",
    ] {
        assert_eq!(policy().check_query(sql).unwrap().kind, plain, "{sql}");
    }
}

#[test]
fn explain_analyze_passes_only_where_allowed_and_only_for_reads() {
    let permissive = SqlPolicy::new(&[], true);
    let analyzed = StatementKind::Explain { analyze: true };
    for sql in [
        "EXPLAIN ANALYZE SELECT 1",
        "EXPLAIN (ANALYZE, BUFFERS) SELECT * FROM t",
        "EXPLAIN (ANALYZE true) TABLE t",
    ] {
        assert_eq!(permissive.check_query(sql).unwrap().kind, analyzed, "{sql}");
        assert_eq!(
            policy().check_query(sql),
            Err(PolicyViolation::ExplainAnalyze),
            "{sql}"
        );
    }
    let refused = permissive.check_query("EXPLAIN ANALYZE DELETE FROM t");
    assert_eq!(
        refused,
        Err(PolicyViolation::StatementKind("DELETE".into()))
    );
    let refused = permissive.check_query("EXPLAIN ANALYZE SELECT pg_terminate_backend(1)");
    assert_eq!(
        refused,
        Err(PolicyViolation::Function("pg_terminate_backend".into()))
    );
    let refused = permissive
        .check_query("EXPLAIN ANALYZE WITH d AS (DELETE FROM t RETURNING 1) SELECT * FROM d");
    assert_eq!(
        refused,
        Err(PolicyViolation::DataModifying("DELETE".into()))
    );
}

#[test]
fn extra_functions_match_exactly_as_configured() {
    let policy = policy();
    assert!(policy.check_query("SELECT myschema.safe_fn(1)").is_ok());
    assert!(
        policy.check_query("SELECT MySchema.Safe_Fn(1)").is_ok(),
        "unquoted names fold to lowercase"
    );
    assert!(
        policy.check_query("SELECT plain_fn(1)").is_ok(),
        "entries are lowercased like unquoted names"
    );
    let refused = |sql: &str, name: &str| {
        assert_eq!(
            policy.check_query(sql),
            Err(PolicyViolation::Function(name.into())),
            "{sql}"
        )
    };
    refused("SELECT safe_fn(1)", "safe_fn");
    refused("SELECT other.safe_fn(1)", "other.safe_fn");
    refused("SELECT public.plain_fn(1)", "public.plain_fn");
    refused("SELECT pg_catalog.plain_fn(1)", "pg_catalog.plain_fn");
    refused("SELECT \"Plain_Fn\"(1)", "Plain_Fn");
}

#[test]
fn check_explainable_accepts_only_bare_reads() {
    let policy = policy();
    assert_eq!(
        policy.check_explainable("SELECT 1").unwrap().kind,
        StatementKind::Select
    );
    assert_eq!(
        policy
            .check_explainable("WITH x AS (SELECT 1) SELECT * FROM x")
            .unwrap()
            .kind,
        StatementKind::Select
    );
    assert!(matches!(
        policy.check_explainable("SHOW x"),
        Err(PolicyViolation::StatementKind(_))
    ));
    assert!(matches!(
        policy.check_explainable("EXPLAIN SELECT 1"),
        Err(PolicyViolation::StatementKind(_))
    ));
    assert_eq!(
        policy.check_explainable("DELETE FROM t"),
        Err(PolicyViolation::StatementKind("DELETE".into()))
    );
    assert_eq!(
        policy.check_explainable("SELECT lo_import('/x')"),
        Err(PolicyViolation::Function("lo_import".into()))
    );
    assert_eq!(
        policy.check_explainable("SELECT 1; SELECT 2"),
        Err(PolicyViolation::StatementCount(2))
    );
}

#[test]
fn remembered_verdicts_are_the_verdicts() {
    let policy = policy();
    let statements = [
        "SELECT a FROM t WHERE b = $1",
        "DELETE FROM t",
        "SELECT pg_terminate_backend(1)",
        "SELECT 1; SELECT 2",
        "SELEC 1",
        "SHOW search_path",
    ];
    let first: Vec<_> = statements.iter().map(|s| policy.check_query(s)).collect();
    let again: Vec<_> = statements.iter().map(|s| policy.check_query(s)).collect();
    let fresh: Vec<_> = statements
        .iter()
        .map(|s| self::policy().check_query(s))
        .collect();
    assert_eq!(first, again);
    assert_eq!(first, fresh);
    assert!(first[0].is_ok() && first[1].is_err() && first[5].is_ok());
    // A clone shares what its original has seen, and still refuses what it must.
    assert_eq!(
        policy.clone().check_query("DELETE FROM t"),
        Err(PolicyViolation::StatementKind("DELETE".into()))
    );
}

#[test]
fn violations_say_what_was_refused() {
    let policy = policy();
    let message = |sql: &str| policy.check_query(sql).unwrap_err().to_string();
    assert_eq!(
        message("SELECT 1; SELECT 2"),
        "exactly one statement is allowed, found 2"
    );
    assert_eq!(
        message("INSERT INTO t VALUES (1)"),
        "INSERT statements are not allowed"
    );
    assert_eq!(
        message("SELECT pg_terminate_backend(1)"),
        "function pg_terminate_backend is not allowed: it signals another backend or the server"
    );
    assert_eq!(
        message("SELECT * FROM t FOR UPDATE"),
        "SELECT ... FOR UPDATE is not allowed"
    );
    assert_eq!(
        message("WITH d AS (DELETE FROM t RETURNING 1) SELECT 1"),
        "data-modifying DELETE inside a query is not allowed"
    );
    assert!(message("SELEC 1").starts_with("statement could not be parsed: syntax error"));
    assert!(policy.check_query("SELEC 1").unwrap_err().is_syntax());
    assert!(!policy.check_query("DROP TABLE t").unwrap_err().is_syntax());
}

#[test]
fn the_worst_of_several_problems_is_reported() {
    let sql = "WITH c AS (SELECT pg_terminate_backend(1) FROM t FOR UPDATE), \
               d AS (DELETE FROM t RETURNING 1) SELECT * FROM c, d";
    assert_eq!(
        policy().check_query(sql),
        Err(PolicyViolation::DataModifying("DELETE".into()))
    );
}

#[test]
fn builtin_allow_list_is_clean() {
    let allowed: std::collections::HashSet<&str> = classified_names()
        .filter(|(_, class)| *class == Builtin::Allowed)
        .map(|(name, _)| name)
        .collect();
    for denied in super::hostile_tests::DENIED_FUNCTIONS {
        assert!(
            !allowed.contains(denied),
            "{denied} must not be allow-listed"
        );
    }
}
