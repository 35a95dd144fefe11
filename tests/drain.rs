//! SIGTERM with work in flight: a PostgreSQL and a MongoDB request still running are answered
//! with their results, a request sent afterwards gets `shutting_down`, the session closes with
//! 1001, the audit trail ends with `relay_stopped`, the relay exits 0 and leaves no database
//! session behind. Work that outlives the grace period is cancelled, not abandoned.

use crate::fake_control_plane::{FakeControlPlane, Seen};
use crate::mongo_fixture::{Mongo, SEED};
use crate::pg_fixture::{admin, shared_db};
use crate::support::{pg, relay_config_with, Relay, TOKEN};
use relay_actors::log_event::LogEvent;
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::{Duration, Instant};

const WAIT: Duration = Duration::from_secs(30);

/// How long the in-flight requests run: below the tests' grace period (`shutdownGraceSeconds: 5`).
const SLOW_SECONDS: u64 = 2;

/// The shared seed, with every command on `customers` answered only after [`SLOW_SECONDS`].
fn slow_seed(dir: &tempfile::TempDir) -> PathBuf {
    let mut seed: Value = serde_json::from_str(&std::fs::read_to_string(SEED).unwrap()).unwrap();
    seed["delays"] = json!({ "customers": SLOW_SECONDS });
    let path = dir.path().join("slow-seed.json");
    std::fs::write(&path, seed.to_string()).unwrap();
    path
}

/// An application name no other test's relay uses, so its sessions can be told apart.
fn application_name(test: &str) -> String {
    format!("relay-drain-{test}-{}", std::process::id())
}

/// The `main-pg` resource whose sessions are named `application_name`; `extra` adds keys.
fn postgres_resource(application_name: &str, extra: &str) -> String {
    let pg = pg();
    format!(
        "  - id: main-pg\n    type: postgres\n    connection:\n      host: {}\n      port: {}\n      \
         database: {}\n      user: {}\n      applicationName: {application_name}\n    \
         allowedOperations: [query]\n{extra}",
        pg.host,
        pg.port,
        shared_db(),
        crate::pg_fixture::READER,
    )
}

fn request(id: &str, resource: &str, params: Value) -> String {
    json!({"type": "request", "id": id, "resourceId": resource, "operation": "query",
        "params": params})
    .to_string()
}

/// The relay's sessions in the shared database: `(state, query)` of each.
fn sessions(application_name: &str) -> Vec<(String, String)> {
    let mut admin = admin(shared_db());
    let rows = admin
        .query(
            "SELECT coalesce(state, ''), query FROM pg_catalog.pg_stat_activity \
             WHERE application_name = $1",
            &[&application_name],
        )
        .unwrap();
    rows.iter().map(|row| (row.get(0), row.get(1))).collect()
}

/// Waits (within [`WAIT`]) until `done` holds; returns whether it did.
fn eventually(mut done: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + WAIT;
    while Instant::now() < deadline {
        if done() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    done()
}

fn pg_sleep_running(application_name: &str) -> bool {
    sessions(application_name)
        .iter()
        .any(|(state, query)| state == "active" && query.contains("pg_sleep"))
}

/// Every reply by request id, and the close code, until the session closes.
fn replies_until_close(plane: &FakeControlPlane) -> (BTreeMap<String, Value>, Option<u16>) {
    let mut replies = BTreeMap::new();
    while let Some(seen) = plane.next(WAIT) {
        match seen {
            Seen::Text(value) => {
                if let Some(id) = value["id"].as_str() {
                    if value["type"] == "result" || value["type"] == "error" {
                        replies.insert(id.to_owned(), value.clone());
                    }
                }
            }
            Seen::Close(code) => return (replies, code),
        }
    }
    panic!("the session did not close; replies so far: {replies:?}");
}

fn started(plane: &FakeControlPlane, resources: &str) -> Relay {
    let relay = Relay::start(&relay_config_with(plane.port, "", resources), TOKEN);
    let hello = plane.next_reply(WAIT);
    assert_eq!(hello["type"], "hello", "{hello}");
    relay.wait_ready();
    relay
}

fn stopped_cleanly(relay: &mut Relay) {
    assert_eq!(
        relay.process.wait_exit(WAIT),
        Some(0),
        "{}",
        relay.process.output()
    );
    let stopped = relay
        .process
        .stdout
        .wait_for_msg(LogEvent::RelayStopped.as_str(), WAIT);
    assert!(stopped.is_some(), "{}", relay.process.output());
}

fn operation_record<'a>(records: &'a [Value], request_id: &str) -> &'a Value {
    let found = records
        .iter()
        .find(|r| r["kind"] == "operation" && r["requestId"] == request_id);
    found.unwrap_or_else(|| panic!("no audit record of {request_id}: {records:?}"))
}

#[test]
fn sigterm_answers_what_runs_refuses_what_comes_and_leaves_no_session() {
    let dir = tempfile::tempdir().unwrap();
    let mongo = Mongo::start_with_seed(&slow_seed(&dir));
    let plane = FakeControlPlane::start();
    let name = application_name("clean");
    let resources = format!(
        "{}{}",
        postgres_resource(&name, ""),
        mongo.resource_yaml("")
    );
    let mut relay = started(&plane, &resources);

    let sql = format!("SELECT 'slept' AS status FROM (SELECT pg_sleep({SLOW_SECONDS})) AS s");
    plane.send_text(&request("pg-slow", "main-pg", json!({ "sql": sql })));
    let find = json!({"collection": "customers", "filter": {}, "limit": 2});
    plane.send_text(&request("mongo-slow", "mongo", find));
    assert!(
        eventually(|| pg_sleep_running(&name)),
        "{:?}",
        sessions(&name)
    );
    if mongo.is_test_server() {
        let find_arrived = || {
            let commands = mongo.commands();
            commands.iter().any(|c| c["body"]["find"] == "customers")
        };
        assert!(eventually(find_arrived), "{:?}", mongo.commands());
    }

    relay.process.signal("TERM");
    let stopping = relay
        .process
        .stdout
        .wait_for_msg(LogEvent::RelayStopping.as_str(), WAIT);
    assert!(stopping.is_some(), "{}", relay.process.output());
    plane.send_text(&request("late-1", "main-pg", json!({"sql": "SELECT 1"})));

    let (replies, close) = replies_until_close(&plane);
    let pg_answer = &replies["pg-slow"];
    assert_eq!(pg_answer["type"], "result", "{pg_answer}");
    assert_eq!(pg_answer["rows"], json!([["slept"]]), "{pg_answer}");
    let mongo_answer = &replies["mongo-slow"];
    assert_eq!(mongo_answer["type"], "result", "{mongo_answer}");
    assert_eq!(mongo_answer["rowCount"], 2, "{mongo_answer}");
    let late = &replies["late-1"];
    assert_eq!(late["code"], "shutting_down", "{late}");
    assert_eq!(close, Some(1001));
    stopped_cleanly(&mut relay);

    let records = relay.stdout_audit_records();
    assert_eq!(operation_record(&records, "pg-slow")["outcome"], "ok");
    assert_eq!(operation_record(&records, "mongo-slow")["outcome"], "ok");
    let late = operation_record(&records, "late-1");
    assert_eq!(
        (late["outcome"].as_str(), late["code"].as_str()),
        (Some("refused"), Some("shutting_down"))
    );
    let last = records.last().unwrap();
    assert_eq!(
        (last["kind"].as_str(), last["event"].as_str()),
        (Some("security"), Some("relay_stopped")),
        "{records:?}"
    );
    assert_eq!(last["details"]["graceSeconds"], 5, "{last}");
    assert!(
        eventually(|| sessions(&name).is_empty()),
        "{:?}",
        sessions(&name)
    );
}

#[test]
fn work_that_outlives_the_grace_period_is_cancelled_not_abandoned() {
    let plane = FakeControlPlane::start();
    let name = application_name("grace");
    let resource = postgres_resource(&name, "    statementTimeoutMs: 300000\n");
    let mut relay = started(&plane, &resource);

    // Far beyond the grace period (5 s) and every wait of this test: left to run, the session
    // would outlive the relay.
    let sql = "SELECT 'slept' AS status FROM (SELECT pg_sleep(200)) AS s";
    plane.send_text(&request("pg-long", "main-pg", json!({ "sql": sql })));
    assert!(
        eventually(|| pg_sleep_running(&name)),
        "{:?}",
        sessions(&name)
    );
    let signalled = Instant::now();
    relay.process.signal("TERM");

    let (replies, close) = replies_until_close(&plane);
    let answer = &replies["pg-long"];
    assert_eq!(answer["code"], "timeout", "{answer}");
    assert_eq!(close, Some(1001));
    stopped_cleanly(&mut relay);
    // The statement was cancelled at the end of the grace period, not left to run out.
    assert!(
        signalled.elapsed() < Duration::from_secs(20),
        "{:?}",
        signalled.elapsed()
    );
    assert!(
        eventually(|| sessions(&name).is_empty()),
        "{:?}",
        sessions(&name)
    );
    // Recorded as it was answered, before the last record.
    let records = relay.stdout_audit_records();
    let long = operation_record(&records, "pg-long");
    assert_eq!(
        (long["outcome"].as_str(), long["code"].as_str()),
        (Some("timeout"), Some("timeout"))
    );
    let last = records.last().unwrap();
    assert_eq!(last["event"], "relay_stopped", "{records:?}");
}
