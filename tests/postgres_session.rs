//! PostgreSQL connection sessions end to end: settings pinned per connection, statements kept per
//! connection and re-prepared when the schema changes, connections lost while idle replaced.

use crate::pg_fixture::{admin, shared_db, READER};
use crate::support::{relay_config_for, DevPlane, Relay, TOKEN};
use serde_json::{json, Value};

fn started(config_edit: impl Fn(String) -> String) -> (DevPlane, Relay) {
    let devplane = DevPlane::start();
    let config = config_edit(relay_config_for(
        devplane.port,
        "",
        READER,
        "    poolSize: 1\n    statementTimeoutMs: 4321\n",
    ));
    let relay = Relay::start(&config, TOKEN);
    relay.wait_ready();
    (devplane, relay)
}

/// The relay's connections named `application`, to be found from an admin connection.
pub(crate) fn with_application_name(config: String, application: &str) -> String {
    config.replace(
        &format!("      user: {READER}\n"),
        &format!("      user: {READER}\n      applicationName: {application}\n"),
    )
}

fn query(devplane: &DevPlane, sql: &str, timeout_ms: Option<u64>) -> Value {
    operation(devplane, "query", json!({"sql": sql}), timeout_ms)
}

/// One operation on `main-pg`, with the request's own timeout when given; it must succeed.
fn operation(
    devplane: &DevPlane,
    operation: &str,
    params: Value,
    timeout_ms: Option<u64>,
) -> Value {
    let mut request = json!({"resourceId": "main-pg", "operation": operation, "params": params});
    if let Some(timeout_ms) = timeout_ms {
        request["timeoutMs"] = json!(timeout_ms);
    }
    let (code, body) = devplane.operation(request);
    assert_eq!(code, 200, "{body}");
    assert_eq!(body["type"], "result", "{body}");
    body
}

fn first_cell(result: &Value) -> String {
    result["rows"][0][0].as_str().unwrap_or_default().to_owned()
}

#[test]
fn session_settings_hold_and_a_request_timeout_applies_to_its_own_transaction() {
    let (devplane, _relay) = started(|config| config);
    let setting = |sql: &str, timeout_ms| first_cell(&query(&devplane, sql, timeout_ms));
    assert_eq!(setting("SHOW statement_timeout", None), "4321ms");
    assert!(setting("SHOW search_path", None).starts_with("pg_catalog, "));
    assert_eq!(setting("SHOW default_transaction_read_only", None), "on");
    assert_eq!(setting("SHOW transaction_read_only", None), "on");
    assert_eq!(setting("SHOW statement_timeout", Some(1234)), "1234ms");
    assert_eq!(
        setting("SHOW idle_in_transaction_session_timeout", Some(1234)),
        "1234ms"
    );
    // The request's own timeout ended with its transaction.
    assert_eq!(setting("SHOW statement_timeout", None), "4321ms");
}

#[test]
fn a_kept_statement_whose_table_changed_is_prepared_again() {
    let mut admin = admin(shared_db());
    admin
        .batch_execute(&format!(
            "DROP TABLE IF EXISTS reshaped; CREATE TABLE reshaped (id int); \
             INSERT INTO reshaped VALUES (1); GRANT SELECT ON reshaped TO {READER}"
        ))
        .unwrap();
    let (devplane, _relay) = started(|config| config);
    let columns = |result: &Value| result["columns"].as_array().unwrap().len();
    for _ in 0..3 {
        assert_eq!(
            columns(&query(&devplane, "SELECT * FROM reshaped", None)),
            1
        );
    }
    admin
        .batch_execute("ALTER TABLE reshaped ADD COLUMN note text DEFAULT 'added'")
        .unwrap();
    let reshaped = query(&devplane, "SELECT * FROM reshaped", None);
    assert_eq!(columns(&reshaped), 2, "{reshaped}");
    assert_eq!(reshaped["rows"][0][1], "added");
}

#[test]
fn a_connection_closed_while_idle_is_replaced_without_failing_the_request() {
    let application = "relay-it-reconnect";
    let (devplane, _relay) = started(|config| with_application_name(config, application));
    assert_eq!(
        first_cell(&query(&devplane, "SELECT 'before'", None)),
        "before"
    );
    let terminated = admin(shared_db())
        .query(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1",
            &[&application],
        )
        .unwrap();
    assert!(
        !terminated.is_empty(),
        "the relay's connection was not found"
    );
    assert_eq!(
        first_cell(&query(&devplane, "SELECT 'after'", None)),
        "after"
    );
    // A catalog operation, sent without a transaction block, is replaced alike.
    admin(shared_db())
        .execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1",
            &[&application],
        )
        .unwrap();
    // (A schema of its own, none of whose tables another test locks.)
    let tables = operation(
        &devplane,
        "list_tables",
        json!({"schema": "session_reconnect"}),
        None,
    );
    assert_eq!(tables["rows"], json!([]), "{tables}");
}

#[test]
fn a_select_at_the_session_timeouts_is_read_only_and_stops_at_the_row_limit_as_in_a_transaction() {
    catalog_schema("session_catalog_limit", 4);
    let (devplane, _relay) =
        started(|config| config.replace("maxRowsPerQuery: 1000", "maxRowsPerQuery: 3"));
    // At the session's timeouts a SELECT runs in one round trip, outside a transaction block; with
    // a request's own timeout it runs in START TRANSACTION READ ONLY. Both answer alike.
    let sql = "SELECT current_setting('transaction_read_only'), n \
               FROM pg_catalog.generate_series(1, 10) AS n";
    for timeout_ms in [None, Some(1234)] {
        let result = query(&devplane, sql, timeout_ms);
        assert_eq!(
            result["rows"],
            json!([["on", 1], ["on", 2], ["on", 3]]),
            "{result}"
        );
        assert_eq!(result["truncated"], true, "{result}");
        let tables = operation(
            &devplane,
            "list_tables",
            json!({"schema": "session_catalog_limit"}),
            timeout_ms,
        );
        assert_eq!(tables["rows"].as_array().map(Vec::len), Some(3), "{tables}");
        assert_eq!(tables["truncated"], true, "{tables}");
    }
}

#[test]
fn a_plan_at_the_session_timeouts_answers_as_in_a_transaction_and_leaves_nothing_open() {
    let application = "relay-it-plan-at-once";
    let (devplane, _relay) = started(|config| with_application_name(config, application));
    // Without a request timeout an EXPLAIN (no ANALYZE) runs in one round trip; with one, in
    // START TRANSACTION READ ONLY. Both give the same plan.
    let sql = "SELECT n FROM pg_catalog.generate_series(1, 10) AS n WHERE n > 3";
    for timeout_ms in [None, Some(1234)] {
        let mut request = json!({"resourceId": "main-pg", "operation": "explain",
            "params": {"sql": sql}});
        if let Some(timeout_ms) = timeout_ms {
            request["timeoutMs"] = json!(timeout_ms);
        }
        let (code, plan) = devplane.operation(request);
        assert_eq!(code, 200, "{plan}");
        assert_eq!(
            plan["details"][0]["Plan"]["Node Type"], "Function Scan",
            "{plan}"
        );
    }
    // Checked from another connection: the relay's backend holds no transaction, no lock and no
    // transaction id after the plan.
    assert_nothing_open(application);
}

#[test]
fn catalog_operations_at_the_session_timeouts_answer_as_in_a_transaction_and_leave_nothing_open() {
    let application = "relay-it-catalog-at-once";
    catalog_schema("session_catalog", 2);
    let (devplane, _relay) = started(|config| with_application_name(config, application));
    // Without a request timeout each runs as one statement in one round trip; with one, in START
    // TRANSACTION READ ONLY. Both give the same answer.
    for (operation, params) in [
        ("list_tables", json!({"schema": "session_catalog"})),
        (
            "describe_table",
            json!({"table": "t2", "schema": "session_catalog"}),
        ),
        (
            "describe_table",
            json!({"table": "t1", "schema": "session_catalog"}),
        ),
    ] {
        let answers: Vec<Value> = [None, Some(1234)]
            .into_iter()
            .map(|timeout_ms| self::operation(&devplane, operation, params.clone(), timeout_ms))
            .collect();
        for part in ["columns", "rows", "details", "truncated"] {
            assert_eq!(answers[0][part], answers[1][part], "{operation} {part}");
        }
        assert!(!answers[0]["rows"].as_array().unwrap().is_empty());
    }
    assert_nothing_open(application);
}

/// The relay's one backend named `application` is idle, with no transaction id and no lock.
fn assert_nothing_open(application: &str) {
    let rows = admin(shared_db())
        .query(
            "SELECT a.state, a.backend_xid IS NULL, \
                    (SELECT count(*) FROM pg_catalog.pg_locks l WHERE l.pid = a.pid) \
               FROM pg_catalog.pg_stat_activity a WHERE a.application_name = $1",
            &[&application],
        )
        .unwrap();
    assert_eq!(rows.len(), 1, "the pool holds one connection");
    let (state, no_xid, locks): (String, bool, i64) =
        (rows[0].get(0), rows[0].get(1), rows[0].get(2));
    assert_eq!((state.as_str(), no_xid, locks), ("idle", true, 0));
}

/// A schema of `tables` small tables the relay's role may read, each but the first with a foreign
/// key to the one before, that no other test changes or locks.
fn catalog_schema(schema: &str, tables: usize) {
    let mut sql = format!(
        "CREATE SCHEMA IF NOT EXISTS {schema}; GRANT USAGE ON SCHEMA {schema} TO {READER};"
    );
    for n in 1..=tables {
        let key = match n {
            1 => String::new(),
            _ => format!(", parent int REFERENCES {schema}.t{} (id)", n - 1),
        };
        sql.push_str(&format!(
            "CREATE TABLE IF NOT EXISTS {schema}.t{n} (id int PRIMARY KEY, \
             note text NOT NULL DEFAULT 'none'{key}); \
             COMMENT ON COLUMN {schema}.t{n}.note IS 'a note'; \
             GRANT SELECT ON {schema}.t{n} TO {READER};"
        ));
    }
    admin(shared_db()).batch_execute(&sql).unwrap();
}
