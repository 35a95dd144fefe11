//! The audit trail end to end: one record per operation and outcome, masked, chained and
//! verifiable; nothing lost or repeated across a control-plane outage; no operation without it.

use crate::pg_fixture::READER;
use crate::support::{free_port, post_json, relay_config_for, DevPlane, Relay, API_KEY, TOKEN};
use relay_actors::log_event::LogEvent;
use serde_json::{json, Value};
use std::process::Command;
use std::time::{Duration, Instant};

const WAIT: Duration = Duration::from_secs(30);

fn op(devplane: &DevPlane, id: &str, sql: &str, timeout_ms: Option<u64>) -> Value {
    let mut body = json!({"resourceId": "main-pg", "operation": "query", "requestId": id,
        "params": {"sql": sql}});
    if let Some(ms) = timeout_ms {
        body["timeoutMs"] = json!(ms);
    }
    devplane.operation(body).1
}

/// Runs `relay audit verify` on `text`; returns the exit code and what it printed.
fn verify(text: &str) -> (i32, String) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("audit.log");
    std::fs::write(&path, text).unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_relay"))
        .args(["audit", "verify"])
        .arg(&path)
        .output()
        .unwrap();
    (
        output.status.code().unwrap(),
        String::from_utf8_lossy(&output.stdout).into_owned(),
    )
}

fn wait_until(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + WAIT;
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn one_masked_chained_record_per_operation_and_outcome() {
    let devplane = DevPlane::start();
    let relay = Relay::start(
        &relay_config_for(devplane.port, "", READER, "    poolSize: 2\n"),
        TOKEN,
    );
    relay.wait_ready();
    op(&devplane, "ok-1", "SELECT 'ana@example.com' AS email", None);
    op(&devplane, "refused-1", "DELETE FROM sentinel", None);
    op(&devplane, "failed-1", "SELECT 1/0", None);
    op(&devplane, "timeout-1", "SELECT pg_sleep(5)", Some(200));
    let sleeper = {
        let port = devplane.port;
        std::thread::spawn(move || {
            let url = format!("http://127.0.0.1:{port}/v1/relay/operations");
            post_json(
                &url,
                API_KEY,
                &json!({"resourceId": "main-pg", "operation": "query",
                "requestId": "cancelled-1", "params": {"sql": "SELECT pg_sleep(5)"}}),
            )
        })
    };
    std::thread::sleep(Duration::from_millis(500));
    post_json(
        &devplane.url("/v1/relay/operations/cancelled-1/cancel"),
        API_KEY,
        &json!({}),
    );
    assert_eq!(sleeper.join().unwrap().1["code"], "cancelled");

    let expected = [
        ("ok-1", "ok"),
        ("refused-1", "refused"),
        ("failed-1", "failed"),
        ("timeout-1", "timeout"),
        ("cancelled-1", "cancelled"),
    ];
    wait_until("five operation records", || {
        relay
            .stdout_audit_records()
            .iter()
            .filter(|r| r["kind"] == "operation")
            .count()
            >= 5
    });
    let records = relay.stdout_audit_records();
    for (id, outcome) in expected {
        let mine: Vec<&Value> = records.iter().filter(|r| r["requestId"] == id).collect();
        assert_eq!(mine.len(), 1, "one record for {id}: {records:?}");
        assert_eq!(mine[0]["outcome"], outcome, "{}", mine[0]);
        assert_eq!(mine[0]["resourceType"], "postgres");
        assert_eq!(mine[0]["tenantId"], crate::support::TENANT);
    }
    let ok = records.iter().find(|r| r["requestId"] == "ok-1").unwrap();
    assert_eq!(ok["statement"], "SELECT '***@***.***' AS email");
    assert_eq!(
        (
            ok["rowCount"].as_u64(),
            ok["masked"]["byPattern"]["email"].as_u64()
        ),
        (Some(1), Some(1))
    );
    let refused = records
        .iter()
        .find(|r| r["requestId"] == "refused-1")
        .unwrap();
    assert_eq!(refused["code"], "not_read_only");
    assert_eq!(records[0]["kind"], "genesis");
    let events: Vec<&str> = records.iter().filter_map(|r| r["event"].as_str()).collect();
    for event in ["config_loaded", "connection_established", "privilege_check"] {
        assert!(events.contains(&event), "{event} missing from {events:?}");
    }
    let config = records
        .iter()
        .find(|r| r["event"] == "config_loaded")
        .unwrap();
    assert_eq!(config["details"]["sha256"].as_str().map(str::len), Some(64));

    let output = relay.process.output();
    assert!(
        !output.contains("ana@example.com"),
        "unmasked value in the relay's output"
    );
    assert!(!output.contains(TOKEN), "secret in the relay's output");
    let (code, printed) = verify(&output);
    assert_eq!(code, 0, "{printed}");
    // The dev control plane received the same records, acknowledged, once each and in order.
    wait_until("the control plane to hold every record", || {
        devplane.audit_records().len() == relay.stdout_audit_records().len()
    });
    assert_eq!(devplane.audit_records(), relay.stdout_audit_records());
}

#[test]
fn a_control_plane_outage_loses_and_repeats_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("received.jsonl");
    let store_arg = store.display().to_string();
    let port = free_port();
    let devplane = DevPlane::start_with(port, &["--audit-file", &store_arg]);
    let relay = Relay::start(&relay_config_for(port, "", READER, ""), TOKEN);
    relay.wait_ready();
    for n in 0..3 {
        op(&devplane, &format!("before-{n}"), "SELECT 1", None);
    }
    devplane.process.signal("KILL");
    drop(devplane);
    relay
        .process
        .stdout
        .wait_for_msg(LogEvent::DisconnectedFromControlPlane.as_str(), WAIT)
        .unwrap();
    let devplane = DevPlane::start_with(port, &["--audit-file", &store_arg]);
    assert!(relay
        .process
        .stdout
        .wait_for_count("Connected to control plane", 2, WAIT));
    devplane.wait_status(WAIT, |s| s["status"] == "connected");
    for n in 0..2 {
        op(&devplane, &format!("after-{n}"), "SELECT 2", None);
    }
    wait_until("every record to reach the control plane", || {
        let stored = std::fs::read_to_string(&store).unwrap_or_default();
        stored.lines().count() == relay.stdout_audit_records().len()
    });
    let stored: Vec<Value> = std::fs::read_to_string(&store)
        .unwrap()
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect();
    assert_eq!(
        stored,
        relay.stdout_audit_records(),
        "every record once, in order"
    );
    let events: Vec<&str> = stored.iter().filter_map(|r| r["event"].as_str()).collect();
    assert!(events.contains(&"connection_lost"), "{events:?}");

    let text = std::fs::read_to_string(&store).unwrap();
    assert_eq!(verify(&text).0, 0, "{}", verify(&text).1);
    let lines: Vec<&str> = text.lines().collect();
    let edited = text.replacen("\"rowCount\":1", "\"rowCount\":7", 1);
    let (code, printed) = verify(&edited);
    assert!(code == 1 && printed.contains("edited"), "{printed}");
    let deleted = [&lines[..3], &lines[4..]].concat().join("\n");
    let (code, printed) = verify(&deleted);
    assert!(
        code == 1 && printed.contains("broken at seq 4"),
        "{printed}"
    );
    let mut swapped = lines.clone();
    swapped.swap(2, 3);
    let (code, printed) = verify(&swapped.join("\n"));
    assert!(
        code == 1 && printed.contains("broken at seq 3"),
        "{printed}"
    );
}

#[test]
fn without_a_writable_audit_trail_no_operation_runs() {
    let devplane = DevPlane::start();
    let config = relay_config_for(devplane.port, "", READER, "").replace(
        "audit:\n  enabled: true\n",
        "audit:\n  enabled: true\n  file: /nonexistent-dir/audit.jsonl\n",
    );
    let relay = Relay::start(&config, TOKEN);
    // `Relay ready` is not logged while every operation would be refused.
    relay
        .process
        .stdout
        .wait_for_msg(LogEvent::AuditTrailUnavailable.as_str(), WAIT)
        .unwrap();
    devplane.wait_status(WAIT, |s| s["status"] == "connected");
    let answer = op(&devplane, "r1", "SELECT 1", None);
    assert_eq!(answer["code"], "audit_unavailable", "{answer}");
    let status = devplane.wait_status(WAIT, |s| s["audit"]["available"] == false);
    assert_eq!(status["audit"]["available"], false, "{status}");
}
