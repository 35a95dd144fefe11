//! PostgreSQL operations end to end through the development control plane's HTTP API.

use crate::pg_fixture::{shared_db, READER, WRITER};
use crate::support::{relay_config, relay_config_for, DevPlane, Relay, TOKEN};
use relay_actors::log_event::LogEvent;
use serde_json::{json, Value};
use std::time::Duration;

const WAIT: Duration = Duration::from_secs(30);

fn started(extra_resource: &str) -> (DevPlane, Relay) {
    let devplane = DevPlane::start();
    let relay = Relay::start(
        &relay_config_for(devplane.port, "", READER, extra_resource),
        TOKEN,
    );
    relay.wait_ready();
    (devplane, relay)
}

fn query(devplane: &DevPlane, sql: &str) -> Value {
    operation(devplane, "query", json!({ "sql": sql }))
}

fn operation(devplane: &DevPlane, operation: &str, params: Value) -> Value {
    let (code, body) = devplane
        .operation(json!({"resourceId": "main-pg", "operation": operation, "params": params}));
    assert_eq!(code, 200, "{body}");
    body
}

fn cell<'a>(result: &'a Value, column: &str) -> &'a Value {
    let index = result["columns"]
        .as_array()
        .unwrap()
        .iter()
        .position(|c| c["name"] == column)
        .unwrap_or_else(|| panic!("no column {column} in {result}"));
    &result["rows"][0][index]
}

#[test]
fn every_common_type_maps_to_json() {
    let (devplane, _relay) = started("");
    let result = query(&devplane, "SELECT * FROM all_types");
    assert_eq!(result["type"], "result", "{result}");
    let expected = [
        ("i2", json!(-2)),
        ("i4", json!(40000)),
        ("i8", json!(9007199254740993i64)),
        ("num", json!("12345.678")),
        ("f4", json!(1.5)),
        ("f8", json!("NaN")),
        ("b", json!(true)),
        ("vc", json!("abc")),
        ("ch", json!("xy ")),
        ("u", json!("a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11")),
        ("d", json!("2024-02-29")),
        ("tm", json!("10:30:00.5")),
        ("ts", json!("2024-01-15T10:30:00")),
        ("tstz", json!("2024-01-15T10:30:00Z")),
        ("iv", json!("P1Y2M3DT4H5M6S")),
        ("j", json!({"a": [1, "x"]})),
        ("by", json!("3q2+7w==")),
        ("arr", json!([1, null, 3])),
        ("tarr", json!(["a", "b"])),
        ("m", json!("happy")),
        ("ip", json!("192.168.0.1")),
        ("net", json!("10.0.0.0/8")),
        ("pt", json!("(1,2)")),
        ("mon", json!("$12.34")),
        ("nothing", Value::Null),
    ];
    for (column, value) in expected {
        assert_eq!(cell(&result, column), &value, "column {column}");
    }
    let types: Vec<&str> = result["columns"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["type"].as_str().unwrap())
        .collect();
    assert_eq!(&types[..4], ["int2", "int4", "int8", "numeric"]);
    assert!(
        types.contains(&"point") && types.contains(&"mood"),
        "{types:?}"
    );
    // Values that leave the relay are masked, nested JSON included.
    assert_eq!(cell(&result, "t"), "***@***.***");
    assert_eq!(cell(&result, "jb")["email"], "***@***.***");
    assert_eq!(result["masked"]["byPattern"]["email"], 2);
}

#[test]
fn rows_stop_at_the_limit_and_results_are_capped() {
    let (devplane, relay) = started("    maxResultBytes: 200000\n");
    let result = query(&devplane, "SELECT id, label FROM big ORDER BY id");
    assert_eq!(result["rowCount"], 1000);
    assert_eq!(result["truncated"], true);
    assert_eq!(result["rows"][999][0], 1000);
    let result = query(&devplane, "SELECT id FROM big WHERE id <= 10");
    assert_eq!(
        (result["rowCount"].as_u64(), result["truncated"].as_bool()),
        (Some(10), Some(false))
    );
    let result = operation(
        &devplane,
        "query",
        json!({"sql": "SELECT id FROM big WHERE id = $1", "params": [42]}),
    );
    assert_eq!(result["rows"], json!([[42]]));

    // Ten million wide rows exist; only the first thousand are ever fetched.
    let huge = "SELECT g, repeat('x', 1000) AS filler FROM generate_series(1, 10000000) g";
    assert_eq!(query(&devplane, huge)["code"], "result_too_large");
    let small = "SELECT g, repeat('x', 100) AS filler FROM generate_series(1, 10000000) g";
    let result = query(&devplane, small);
    assert_eq!(
        (result["rowCount"].as_u64(), result["truncated"].as_bool()),
        (Some(1000), Some(true)),
        "{result}"
    );
    let status =
        std::fs::read_to_string(format!("/proc/{}/status", relay.process.child.id())).unwrap();
    let peak_kb: u64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .unwrap();
    assert!(peak_kb < 200 * 1024, "relay peak memory {peak_kb} kB");
}

#[test]
fn catalog_operations_describe_the_schema() {
    let (devplane, _relay) = started("");
    let tables = operation(&devplane, "list_tables", json!({}));
    let rows = tables["rows"].as_array().unwrap();
    let find = |name: &str| {
        rows.iter()
            .find(|r| r[1] == name)
            .cloned()
            .unwrap_or_else(|| panic!("{name}: {tables}"))
    };
    assert_eq!(find("customers")[2], "table");
    assert_eq!(find("big_view")[2], "view");
    assert!(!rows.iter().any(|r| r[0] == "pg_catalog"));

    let described = operation(&devplane, "describe_table", json!({"table": "orders"}));
    assert_eq!(described["type"], "result", "{described}");
    let details = &described["details"];
    assert_eq!(details["primaryKey"], json!(["id"]));
    assert!(details["foreignKeys"][0]["definition"]
        .as_str()
        .unwrap()
        .contains("REFERENCES customers(id)"));
    assert!(details["indexes"]
        .as_array()
        .unwrap()
        .iter()
        .any(|i| i["name"] == "orders_customer_idx"));
    assert_eq!(
        described["rows"][1],
        json!(["customer_id", "integer", false, null, 2, null])
    );

    let customers = operation(
        &devplane,
        "describe_table",
        json!({"table": "customers", "schema": "public"}),
    );
    assert_eq!(customers["details"]["comment"], "people who buy");
    assert_eq!(
        customers["rows"][2][3], "'***@***.***'::text",
        "column defaults are masked"
    );

    let missing = operation(
        &devplane,
        "describe_table",
        json!({"table": "no_such_table"}),
    );
    assert_eq!(missing["code"], "invalid_request");
    assert!(missing["message"]
        .as_str()
        .unwrap()
        .contains("no_such_table"));
}

#[test]
fn explain_returns_a_plan_and_refuses_analyze() {
    let (devplane, _relay) = started("");
    let plan = operation(
        &devplane,
        "explain",
        json!({"sql": "SELECT * FROM orders JOIN customers ON customers.id = customer_id"}),
    );
    assert_eq!(plan["type"], "result", "{plan}");
    assert!(
        plan["details"][0]["Plan"]["Node Type"].is_string(),
        "{plan}"
    );
    let text = operation(
        &devplane,
        "explain",
        json!({"sql": "SELECT 1", "format": "text"}),
    );
    assert!(text["rows"][0][0].as_str().unwrap().contains("Result"));
    let analyze = operation(
        &devplane,
        "explain",
        json!({"sql": "SELECT 1", "analyze": true}),
    );
    assert_eq!(analyze["code"], "not_read_only");
    let write = operation(&devplane, "explain", json!({"sql": "DELETE FROM sentinel"}));
    assert_eq!(write["code"], "not_read_only");
}

#[test]
fn timeouts_cancels_and_the_queue_limit() {
    let (devplane, _relay) = started("    poolSize: 1\n    maxQueuedRequests: 1\n");
    let (_, slow) = devplane.operation(json!({"resourceId": "main-pg", "operation": "query",
        "params": {"sql": "SELECT pg_sleep(5)"}, "timeoutMs": 200}));
    assert_eq!(slow["code"], "timeout", "{slow}");

    let devplane = std::sync::Arc::new(devplane);
    let sleeper = |id: &'static str| {
        let devplane = std::sync::Arc::clone(&devplane);
        std::thread::spawn(move || {
            devplane
                .operation(
                    json!({"resourceId": "main-pg", "operation": "query", "requestId": id,
                "params": {"sql": "SELECT pg_sleep(3)"}}),
                )
                .1
        })
    };
    let first = sleeper("sleep-1");
    std::thread::sleep(Duration::from_millis(500));
    let second = sleeper("sleep-2");
    std::thread::sleep(Duration::from_millis(300));
    let (_, third) = devplane.operation(
        json!({"resourceId": "main-pg", "operation": "query", "params": {"sql": "SELECT 1"}}),
    );
    assert_eq!(third["code"], "busy", "{third}");
    let (code, _) = crate::support::post_json(
        &devplane.url("/v1/relay/operations/sleep-1/cancel"),
        crate::support::API_KEY,
        &json!({}),
    );
    assert_eq!(code, 202);
    let first = first.join().unwrap();
    assert_eq!(first["code"], "cancelled", "{first}");
    let second = second.join().unwrap();
    assert_eq!(second["type"], "result", "{second}");
}

#[test]
fn privilege_check_reports_who_could_write() {
    let devplane = DevPlane::start();
    let reader = Relay::start(&relay_config(devplane.port, ""), TOKEN);
    reader.wait_ready();
    let status = devplane.wait_status(WAIT, |s| s["resources"][0]["canWrite"].is_boolean());
    assert_eq!(status["resources"][0]["canWrite"], false, "{status}");
    drop(reader);

    let writer = Relay::start(&relay_config_for(devplane.port, "", WRITER, ""), TOKEN);
    writer.wait_ready();
    let warning = writer
        .process
        .stdout
        .wait_for_msg(LogEvent::DatabaseUserCouldWrite.as_str(), WAIT)
        .unwrap();
    assert!(
        warning["reasons"]
            .as_str()
            .unwrap()
            .contains("public.sentinel"),
        "{warning}"
    );
    let status = devplane.wait_status(WAIT, |s| s["resources"][0]["canWrite"] == true);
    assert_eq!(status["resources"][0]["status"], "healthy");
    drop(writer);

    let superuser = crate::support::pg().user;
    let admin_relay = Relay::start(&relay_config_for(devplane.port, "", &superuser, ""), TOKEN);
    admin_relay
        .process
        .stdout
        .wait_for_msg(LogEvent::ResourceUnhealthy.as_str(), WAIT)
        .unwrap();
    let status = devplane.wait_status(WAIT, |s| s["resources"][0]["status"] == "unhealthy");
    assert!(
        status["resources"][0]["error"]
            .as_str()
            .unwrap()
            .contains("superuser"),
        "{status}"
    );
}

#[test]
fn a_resource_recovers_when_its_database_comes_back() {
    let server = crate::private_pg::PrivatePg::start();
    server
        .admin()
        .batch_execute("CREATE ROLE watcher LOGIN")
        .unwrap();
    let devplane = DevPlane::start();
    let config = relay_config_for(devplane.port, "  healthIntervalSeconds: 1", "watcher", "")
        .replace(
            &format!("port: {}", crate::support::pg().port),
            &format!("port: {}", server.port),
        )
        .replace(&format!("database: {}", shared_db()), "database: postgres");
    let relay = Relay::start(&config, TOKEN);
    relay.wait_ready();
    let healthy = |s: &Value| s["resources"][0]["status"] == "healthy";
    assert!(healthy(&devplane.wait_status(WAIT, healthy)));

    server.stop();
    let status = devplane.wait_status(WAIT, |s| s["resources"][0]["status"] == "unhealthy");
    assert_eq!(status["resources"][0]["status"], "unhealthy", "{status}");
    let (_, answer) = devplane
        .operation(json!({"resourceId": "main-pg", "operation": "list_tables", "timeoutMs": 2000}));
    assert_eq!(answer["code"], "resource_unavailable", "{answer}");

    server.start_again();
    let status = devplane.wait_status(WAIT, healthy);
    assert!(healthy(&status), "{status}\n{}", relay.process.output());
    assert!(relay
        .process
        .stdout
        .wait_for_msg(LogEvent::ResourceRecovered.as_str(), WAIT)
        .is_some());
    assert_eq!(
        operation(&devplane, "list_tables", json!({}))["type"],
        "result"
    );
}

#[test]
fn builtins_column_rules_and_errors_are_masked_end_to_end() {
    let devplane = DevPlane::start();
    let config = relay_config_for(devplane.port, "", READER, "").replace(
        "masking:\n  enabled: true\n",
        "masking:\n  enabled: true\n  hashKey: an-example-hash-key\n  columns:\n    \
         - name: password\n    - regex: 'token$'\n      strategy: hash\n    \
         - name: card\n      strategy: partial\n      keep: 4\n",
    );
    let relay = Relay::start(&config, TOKEN);
    relay.wait_ready();
    let result = query(
        &devplane,
        "SELECT 'hunter2' AS password, 'abc' AS api_token, 'abc' AS refresh_token, \
         '4111-1111-1111-1111' AS card, \
         'cpf 529.982.247-25, not 529.982.247-26; card 4111 1111 1111 1111' AS note, \
         '{\"user\": {\"Password\": \"x\", \"tags\": [\"call +5511987654321\"]}}'::jsonb AS doc",
    );
    assert_eq!(result["type"], "result", "{result}");
    assert_eq!(cell(&result, "password"), "***");
    assert!(cell(&result, "api_token")
        .as_str()
        .unwrap()
        .starts_with("hash:"));
    assert_eq!(cell(&result, "api_token"), cell(&result, "refresh_token"));
    assert_eq!(cell(&result, "card"), "***************1111");
    assert_eq!(
        cell(&result, "note"),
        "cpf ***.***.***-**, not 529.982.247-26; card [card]"
    );
    assert_eq!(
        cell(&result, "doc"),
        &json!({"user": {"Password": "***", "tags": ["call [phone]"]}})
    );
    let by_pattern = &result["masked"]["byPattern"];
    assert_eq!(by_pattern["cpf"], 1);
    assert_eq!(by_pattern["creditCard"], 1);
    assert_eq!(by_pattern["phone"], 1);
    assert_eq!(by_pattern["column:password"], 2);
    assert_eq!(by_pattern["column:api_token"], 1);
    assert_eq!(result["masked"]["total"], 8);

    let error = query(&devplane, "SELECT 'ana@example.com'::int");
    assert_eq!(error["type"], "error", "{error}");
    let message = error["message"].as_str().unwrap();
    assert!(
        message.contains("***@***.***") && !message.contains("ana@"),
        "{message}"
    );
    drop(relay);
}
