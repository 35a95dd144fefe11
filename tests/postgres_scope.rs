//! Table scoping end to end, the review of `pg_catalog` against the live server, and the plain
//! reads that must not be refused.

use crate::pg_fixture::{admin, shared_db};
use crate::support::{relay_config_for, DevPlane, Relay, TOKEN};
use relay_actors::policy::{classify_builtin, Builtin};
use serde_json::{json, Value};

fn started(extra: &str) -> (DevPlane, Relay) {
    let devplane = DevPlane::start();
    let relay = Relay::start(
        &relay_config_for(devplane.port, "", crate::pg_fixture::READER, extra),
        TOKEN,
    );
    relay.wait_ready();
    (devplane, relay)
}

fn operation(devplane: &DevPlane, operation: &str, params: Value) -> Value {
    let (_, answer) = devplane
        .operation(json!({"resourceId": "main-pg", "operation": operation, "params": params}));
    answer
}

#[test]
fn scoping_refuses_reads_outside_the_scope_whatever_the_path() {
    let (devplane, _relay) = started(
        "    tables:\n      allow: ['public.*', pg_catalog.pg_stat_activity]\n      deny: [public.sentinel, public.big]\n",
    );
    let refused = [
        "SELECT * FROM sentinel",
        "SELECT * FROM public.sentinel",
        "SELECT c.id FROM customers c JOIN sentinel s ON s.id = c.id",
        "SELECT * FROM customers WHERE id IN (SELECT id FROM sentinel)",
        "SELECT (SELECT count(*) FROM sentinel)",
        "WITH s AS (SELECT * FROM sentinel) SELECT * FROM s",
        "SELECT * FROM big_view",
        "SELECT * FROM pg_class",
        "SELECT 'sentinel'::regclass",
    ];
    for sql in refused {
        let answer = operation(&devplane, "query", json!({ "sql": sql }));
        assert_eq!(answer["code"], "not_allowed_relation", "{sql}: {answer}");
    }
    let answer = operation(
        &devplane,
        "query",
        json!({"sql": "SELECT pg_get_viewdef('big_view'::regclass)"}),
    );
    assert_eq!(answer["code"], "not_read_only", "{answer}");
    for sql in [
        "SELECT c.name, o.amount FROM customers c LEFT JOIN orders o ON o.customer_id = c.id",
        "WITH sentinel AS (SELECT 1 AS id) SELECT * FROM sentinel",
        "SELECT count(*) FROM pg_stat_activity",
    ] {
        let answer = operation(&devplane, "query", json!({ "sql": sql }));
        assert_eq!(answer["type"], "result", "{sql}: {answer}");
    }
    let explained = operation(
        &devplane,
        "explain",
        json!({"sql": "SELECT * FROM sentinel"}),
    );
    assert_eq!(explained["code"], "not_allowed_relation", "{explained}");
    let described = operation(&devplane, "describe_table", json!({"table": "sentinel"}));
    assert_eq!(described["code"], "not_allowed_relation", "{described}");
    let described = operation(&devplane, "describe_table", json!({"table": "customers"}));
    assert_eq!(described["type"], "result", "{described}");
    let tables = operation(&devplane, "list_tables", json!({}));
    let names: Vec<&str> = tables["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|row| row[1].as_str().unwrap())
        .collect();
    assert!(
        names.contains(&"customers") && names.contains(&"big_view"),
        "{names:?}"
    );
    assert!(
        !names.contains(&"sentinel") && !names.contains(&"big"),
        "{names:?}"
    );
}

#[test]
fn listings_show_only_what_the_role_may_read() {
    let mut db = admin(shared_db());
    db.batch_execute(
        "CREATE TABLE IF NOT EXISTS unreadable (id int);
         REVOKE ALL ON unreadable FROM relay_it_reader, relay_it_writer, PUBLIC;",
    )
    .unwrap();
    let (devplane, _relay) = started("    tables:\n      allow: ['public.*']\n");
    let tables = operation(&devplane, "list_tables", json!({}));
    let listed = tables.to_string();
    assert!(listed.contains("customers"), "{listed}");
    assert!(!listed.contains("unreadable"), "{listed}");
    let described = operation(&devplane, "describe_table", json!({"table": "unreadable"}));
    assert_eq!(described["code"], "invalid_request", "{described}");
}

#[test]
fn every_builtin_function_is_classified() {
    let mut db = admin(shared_db());
    let names: Vec<String> = db
        .query(
            "SELECT DISTINCT proname::text FROM pg_proc
              WHERE pronamespace = 'pg_catalog'::regnamespace ORDER BY 1",
            &[],
        )
        .unwrap()
        .iter()
        .map(|row| row.get(0))
        .collect();
    assert!(names.len() > 2000, "{} names", names.len());
    let unreviewed: Vec<&String> = names
        .iter()
        .filter(|name| classify_builtin(name).is_none())
        .collect();
    assert!(
        unreviewed.is_empty(),
        "pg_catalog functions neither allowed nor refused with a reason: {unreviewed:?}"
    );
    let refused = names
        .iter()
        .filter(|name| matches!(classify_builtin(name), Some(Builtin::Refused(_))))
        .count();
    assert!(refused > 100, "{refused} refused");
}

/// Plain reads of investigations, each of which must pass (several once were refused).
const PLAIN_READS: &[&str] = &[
    "SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY id), percentile_disc(0.9) WITHIN GROUP (ORDER BY id) FROM big",
    "SELECT jsonb_path_query(jb, '$.email') FROM all_types",
    "SELECT pid, state, wait_event_type, query_start FROM pg_stat_activity WHERE datname = current_database()",
    "SELECT l.locktype, l.mode, l.granted, a.query FROM pg_locks l LEFT JOIN pg_stat_activity a ON a.pid = l.pid",
    "SELECT * FROM json_populate_record(NULL::customers, '{\"id\": 1, \"name\": \"x\"}')",
    "SELECT * FROM jsonb_populate_recordset(NULL::customers, '[{\"id\": 2}]')",
    "SELECT jsonb_to_tsvector('english', '{\"a\": \"cats\"}'::jsonb, '[\"string\"]')",
    "SELECT random() < 2, gen_random_uuid() IS NOT NULL",
    "SELECT tsquery('cat & dog'), float8(1), pg_lsn('0/16B3748')",
    "SELECT '{\"a\":1}'::jsonb @> '{\"a\":1}', jsonb_contains('{\"a\":1}', '{\"a\":1}'), jsonb_exists('{\"a\":1}', 'a')",
    "SELECT jsonb_delete('{\"a\":1}', 'a'), jsonb_concat('{}', '{\"b\":2}')",
    "SELECT get_bit('\\x01'::bytea, 0), set_byte('\\x01'::bytea, 0, 2), bit_count('\\xff'::bytea)",
    "SELECT enum_range(NULL::mood), has_type_privilege('mood', 'USAGE'), has_table_privilege('customers', 'SELECT')",
    "SELECT pg_get_functiondef('pg_catalog.lower(text)'::regprocedure) IS NOT NULL, count(*) FROM pg_get_keywords()",
    "SELECT lastval() IS NULL",
    "SELECT date_trunc('hour', now()), age(now(), '2024-01-01'), extract(epoch FROM interval '1 day')",
    "SELECT customer_id, sum(amount), rank() OVER (ORDER BY sum(amount) DESC) FROM orders GROUP BY customer_id",
    "SELECT pg_size_pretty(pg_total_relation_size('big')), pg_relation_size('big'::regclass)",
    "SELECT c.relname, c.reltuples FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'public'",
];

#[test]
fn plain_reads_are_not_refused() {
    let (devplane, _relay) = started("");
    for sql in PLAIN_READS {
        let answer = operation(&devplane, "query", json!({ "sql": sql }));
        let refused = ["not_read_only", "invalid_request", "not_allowed_relation"];
        assert!(
            !refused.contains(&answer["code"].as_str().unwrap_or("")),
            "{sql}: {answer}"
        );
    }
}
