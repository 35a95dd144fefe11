//! Read-only on what PostgreSQL will actually run: in a database holding hostile objects, every
//! path to user code is refused through the relay and leaves no trace, while the same objects do
//! leave traces when reached directly in a READ ONLY transaction (so the absence proves something).

use crate::hostile_fixture::{clear_traces, hostile_db, traces, untouched, LOCK_KEY};
use crate::pg_fixture::{admin, READER};
use crate::support::{pg, relay_config_with, DevPlane, Relay, TOKEN};
use serde_json::{json, Value};

/// Statements that reach user code, each by another path, and the trace it leaves.
const PATHS: &[(&str, &str)] = &[
    ("SELECT upper(1)", "overload"),
    ("SELECT c.touch FROM customers c", "attribute"),
    ("SELECT 1 === 1", "operator"),
    ("SELECT 1 OPERATOR(s.===) ANY (SELECT 1)", "operator"),
    ("SELECT 'x'::s.checked_domain", "domain"),
    ("SELECT ROW(1, 2)::public.pair::text", "cast"),
    ("SELECT * FROM v", "view"),
    ("SELECT * FROM secured", "rls"),
    ("SELECT lower(1)", "file"),
    ("SELECT length(1)", "lock"),
];

/// The relay's resource on a database, as the read-only role; `extra` adds resource keys.
pub fn resource_on(database: &str, extra: &str) -> String {
    let pg = pg();
    format!(
        "  - id: main-pg\n    type: postgres\n    connection:\n      host: {}\n      port: {}\n      \
         database: {database}\n      user: {READER}\n{extra}",
        pg.host, pg.port
    )
}

pub fn relay_on(devplane: &DevPlane, database: &str, extra: &str) -> Relay {
    let config = relay_config_with(devplane.port, "", &resource_on(database, extra));
    let relay = Relay::start(&config, TOKEN);
    relay.wait_ready();
    relay
}

pub fn query(devplane: &DevPlane, sql: &str) -> Value {
    let (_, answer) = devplane
        .operation(json!({"resourceId": "main-pg", "operation": "query", "params": {"sql": sql}}));
    answer
}

#[test]
fn every_path_to_user_code_is_refused_and_leaves_no_trace() {
    let database = &hostile_db("hostile_paths");
    let mut db = admin(database);
    clear_traces(&mut db, database);
    // Control: reached directly in a READ ONLY transaction, each path does leave its trace.
    let pg = pg();
    let reader_dsn = format!(
        "host={} port={} user={READER} dbname={database}",
        pg.host, pg.port
    );
    let mut reader = postgres::Client::connect(&reader_dsn, postgres::NoTls).unwrap();
    for (sql, _) in PATHS {
        reader
            .batch_execute(&format!("BEGIN READ ONLY; {sql}; ROLLBACK"))
            .unwrap_or_else(|err| panic!("{sql} failed directly: {err}"));
    }
    let seen = traces(&mut db, database);
    for (_, trace) in PATHS.iter().filter(|(_, t)| !["file", "lock"].contains(t)) {
        assert!(
            seen.rows.iter().any(|row| row == trace),
            "{trace}: {seen:?}"
        );
    }
    assert!(seen.file, "the COPY function wrote no file");
    assert_eq!(seen.advisory_locks, 1, "the lock function took no lock");
    drop(reader);
    clear_traces(&mut db, database);

    let devplane = DevPlane::start();
    let _relay = relay_on(&devplane, database, "");
    for (sql, _) in PATHS {
        let answer = query(&devplane, sql);
        assert_eq!(answer["code"], "not_read_only", "{sql}: {answer}");
    }
    assert_eq!(traces(&mut db, database), untouched());
    // Explained, each path is refused too (an explain without analyze runs in one round trip,
    // outside a transaction block), and a plan the policy allows leaves no trace either.
    let explain = |sql: &str| {
        let request =
            json!({"resourceId": "main-pg", "operation": "explain", "params": {"sql": sql}});
        devplane.operation(request).1
    };
    for (sql, _) in PATHS {
        let answer = explain(sql);
        assert_eq!(answer["type"], "error", "{sql}: {answer}");
    }
    let plan = explain("SELECT c.name FROM customers c WHERE c.id = 1");
    assert_eq!(plan["type"], "result", "{plan}");
    assert_eq!(traces(&mut db, database), untouched());
    // The same statements the built-ins answer pass, qualified where a user overload shadows them.
    for sql in [
        "SELECT pg_catalog.upper('a'), pg_catalog.lower('B'), pg_catalog.length('abc')",
        "SELECT c.name, c.id FROM customers c WHERE c.id = 1",
        "SELECT count(*) FROM customers",
    ] {
        let answer = query(&devplane, sql);
        assert_eq!(answer["type"], "result", "{sql}: {answer}");
    }
    assert_eq!(traces(&mut db, database), untouched());
    let refused = query(&devplane, "SELECT upper('a')");
    let message = refused["message"].as_str().unwrap();
    assert!(
        message.contains("public.upper(integer)") && message.contains("pg_catalog.upper"),
        "{refused}"
    );
}

#[test]
fn vouched_code_runs_and_no_session_lock_outlives_the_request() {
    let database = &hostile_db("hostile_vouched");
    let mut db = admin(database);
    clear_traces(&mut db, database);
    let devplane = DevPlane::start();
    let _relay = relay_on(
        &devplane,
        database,
        "    allowedFunctions: [public.length, public.touch]\n    allowedRelations: [public.v, public.pairs]\n",
    );
    for sql in [
        "SELECT length(1)",
        "SELECT c.touch FROM customers c",
        "SELECT * FROM v",
    ] {
        let answer = query(&devplane, sql);
        assert_eq!(answer["type"], "result", "{sql}: {answer}");
    }
    // A pair column arrives as text through its output function, not through the user's cast.
    let answer = query(&devplane, "SELECT p FROM pairs");
    assert_eq!(answer["rows"], json!([["(1,2)"]]), "{answer}");
    let seen = traces(&mut db, database);
    assert_eq!(
        seen.advisory_locks, 0,
        "a session advisory lock outlived the request"
    );
    assert_eq!(seen.rows, ["attribute", "view"], "vouched code did run");
    // What was not vouched for is still refused.
    assert_eq!(query(&devplane, "SELECT upper(1)")["code"], "not_read_only");
    let held: i64 = db
        .query_one(
            "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND objid = $1::int8::oid",
            &[&LOCK_KEY],
        )
        .unwrap()
        .get(0);
    assert_eq!(held, 0);
    clear_traces(&mut db, database);
}
