//! The relay's own SQL is fully schema-qualified: every statement it sends of its own runs, through
//! every operation and health check, in a database where every function and operator name it uses
//! has hostile overloads that would leave a trace if name resolution picked them.

use crate::hostile_fixture::{create_database, traces, untouched};
use crate::pg_fixture::{admin, READER};
use crate::postgres_hostile::{query, relay_on, resource_on};
use crate::support::{relay_config_with, write_config, DevPlane};
use relay_actors::resource::postgres::own_statements;
use serde_json::json;
use std::collections::BTreeSet;
use std::process::Command;

/// Argument types a hostile overload takes, chosen to fit the relay's arguments better than the
/// built-ins would if the relay left a name to resolution.
const TYPES: &[&str] = &[
    "oid",
    "name",
    "text",
    "integer",
    "smallint",
    "bigint",
    "\"char\"",
    "regclass",
    "boolean",
    "int2vector",
    "anyelement",
    "xid",
    "text[]",
    "oid[]",
    "name[]",
    "\"char\"[]",
    "real",
];

/// Function names and operators the relay's statements use.
fn names_used() -> (BTreeSet<String>, BTreeSet<String>) {
    let mut functions = BTreeSet::new();
    let mut operators = BTreeSet::new();
    for sql in own_statements() {
        for statement in sql.split(';').filter(|s| !s.trim().is_empty()) {
            let parsed = pg_query::parse(statement, pg_query::ParserOptions::DEFAULT)
                .unwrap_or_else(|e| panic!("{statement}: {e}"));
            for name in parsed.functions() {
                functions.insert(name.rsplit('.').next().unwrap().to_owned());
            }
        }
        for token in pg_query::scan(&sql).unwrap().tokens {
            let text = &sql[token.start as usize..token.end as usize];
            if !text.is_empty() && text.chars().all(|c| "=<>!~-+*/|&#@%^".contains(c)) {
                operators.insert(text.to_owned());
            }
        }
    }
    for implied in ["=", "<>", "<", "<=", ">", ">="] {
        operators.insert(implied.to_owned());
    }
    (functions, operators)
}

/// Overloads of every name used, each leaving a trace named after itself.
fn hostile_overloads_sql() -> String {
    let (functions, operators) = names_used();
    let mut sql = String::new();
    let mut statement = |text: String| {
        sql.push_str(&format!(
            "DO $do$ BEGIN EXECUTE {}; EXCEPTION WHEN others THEN NULL; END $do$;\n",
            quote(&text)
        ));
    };
    for function in &functions {
        for a in TYPES {
            let body = format!("SELECT public.leave_trace({})::text", quote(function));
            statement(format!(
                "CREATE FUNCTION public.\"{function}\"(x {a}) RETURNS text LANGUAGE sql AS {}",
                quote(&body)
            ));
            for b in TYPES {
                statement(format!("CREATE FUNCTION public.\"{function}\"(x {a}, y {b}) RETURNS text LANGUAGE sql AS {}", quote(&body)));
            }
        }
    }
    for (i, a) in TYPES.iter().enumerate() {
        for (j, b) in TYPES.iter().enumerate() {
            let function = format!("hostile_op_{i}_{j}");
            let body = format!("SELECT public.leave_trace('operator {a} {b}') = 1");
            statement(format!(
                "CREATE FUNCTION public.{function}({a}, {b}) RETURNS boolean LANGUAGE sql AS {}",
                quote(&body)
            ));
            for operator in &operators {
                statement(format!(
                    "CREATE OPERATOR public.{operator} (LEFTARG = {a}, RIGHTARG = {b}, FUNCTION = public.{function})"
                ));
            }
        }
    }
    sql
}

fn quote(text: &str) -> String {
    format!("'{}'", text.replace('\'', "''"))
}

#[test]
fn the_relays_own_statements_run_nothing_user_defined() {
    let (functions, operators) = names_used();
    for expected in [
        "unnest",
        "format",
        "num_nulls",
        "has_table_privilege",
        "current_schemas",
    ] {
        assert!(
            functions.contains(expected),
            "{expected} not found in {functions:?}"
        );
    }
    assert!(operators.contains("="), "{operators:?}");
    let database = create_database("own_sql");
    let mut db = admin(&database);
    db.batch_execute(&format!(
        "CREATE TABLE customers (id int PRIMARY KEY, name text, tags text[]);
         CREATE INDEX customers_name ON customers (name, id);
         CREATE TABLE orders (id int PRIMARY KEY, customer_id int REFERENCES customers (id));
         INSERT INTO customers VALUES (1, 'Ana', '{{a}}');
         GRANT SELECT ON ALL TABLES IN SCHEMA public TO {READER};"
    ))
    .unwrap();
    db.batch_execute(&hostile_overloads_sql()).unwrap();
    let created: i64 = db
        .query_one(
            "SELECT count(*) FROM pg_proc WHERE pronamespace = 'public'::regnamespace",
            &[],
        )
        .unwrap()
        .get(0);
    assert!(created > 2000, "only {created} hostile functions");

    let devplane = DevPlane::start();
    let relay = relay_on(&devplane, &database, "");
    let operations = [
        ("list_tables", json!({})),
        ("describe_table", json!({"table": "customers"})),
        (
            "describe_table",
            json!({"table": "orders", "schema": "public"}),
        ),
        (
            "explain",
            json!({"sql": "SELECT * FROM customers WHERE id OPERATOR(pg_catalog.=) 1"}),
        ),
        (
            "query",
            json!({"sql": "SELECT ROW(id, name), tags, point(1, 2) FROM customers"}),
        ),
        (
            "query",
            json!({"sql": "SELECT pg_catalog.count(*) FROM customers", "params": []}),
        ),
    ];
    for (operation, params) in operations {
        let (_, answer) = devplane
            .operation(json!({"resourceId": "main-pg", "operation": operation, "params": params}));
        assert_eq!(answer["type"], "result", "{operation}: {answer}");
    }
    let timed = query(&devplane, "SELECT 1");
    assert_eq!(timed["type"], "result", "{timed}");
    drop(relay);
    let (_dir, path) = write_config(&relay_config_with(1, "", &resource_on(&database, "")));
    let checked = Command::new(env!("CARGO_BIN_EXE_relay"))
        .arg("--config")
        .arg(&path)
        .args(["check", "--connect"])
        .env("RELAY_TOKEN", "t")
        .output()
        .unwrap();
    let printed = String::from_utf8_lossy(&checked.stdout);
    assert!(printed.contains("resource main-pg: ok"), "{printed}");
    // The operator learns which functions outside the built-ins the role could execute.
    assert!(
        printed.contains(
            "note: may execute public.leave_trace(what text) (plpgsql, SECURITY DEFINER, owned by postgres, volatile)"
        ),
        "{printed}"
    );
    assert_eq!(traces(&mut db, &database), untouched());
}
