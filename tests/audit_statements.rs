//! The audit trail cannot be made to lie about statements: comments cannot hide structure, a huge
//! statement is recorded cut but with the hash of all of it, and requests refused before they
//! reach a resource are recorded too.

use crate::fake_control_plane::{FakeControlPlane, Seen};
use crate::support::{relay_config, DevPlane, Relay, TOKEN};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use std::time::{Duration, Instant};

const WAIT: Duration = Duration::from_secs(30);

fn sha256(text: &str) -> String {
    Sha256::digest(text.as_bytes())
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect()
}

fn record_of(relay: &Relay, request_id: &str) -> Value {
    let deadline = Instant::now() + WAIT;
    loop {
        if let Some(found) = relay
            .stdout_audit_records()
            .into_iter()
            .find(|r| r["requestId"] == request_id)
        {
            return found;
        }
        assert!(Instant::now() < deadline, "no record for {request_id}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn a_private_key_comment_cannot_hide_the_columns_that_were_read() {
    let plane = DevPlane::start();
    let relay = Relay::start(&relay_config(plane.port, ""), TOKEN);
    relay.wait_ready();
    let sql = "SELECT /*-----BEGIN PRIVATE KEY-----*/ name, email FROM customers \
               /*-----END PRIVATE KEY-----*/";
    let (_, answer) = plane.operation(json!({"resourceId": "main-pg", "operation": "query",
        "requestId": "pk-1", "params": {"sql": sql}}));
    assert!(answer["rows"].is_array(), "{answer}");
    let record = record_of(&relay, "pk-1");
    assert_eq!(record["statement"], "SELECT name, email FROM customers");
    assert_eq!(record["statementTruncated"], false);
    assert_eq!(record["statementSha256"], sha256(sql).as_str());
    assert_eq!(record["statementBytes"], sql.len() as u64);
}

#[test]
fn a_statement_over_4_mib_and_refused_messages_are_recorded_truthfully() {
    let plane = FakeControlPlane::start();
    let relay = Relay::start(&relay_config(plane.port, ""), TOKEN);
    assert_eq!(plane.next_reply(WAIT)["type"], "hello");

    let mut sql = String::from("SELECT email FROM customers WHERE id IN (");
    while sql.len() < (4 << 20) + 1000 {
        sql.push_str("1,");
    }
    sql.push_str("1) /* 'ana@example.com' */");
    let huge = json!({"type": "request", "id": "huge-1", "resourceId": "nowhere",
        "operation": "query", "params": {"sql": sql}});
    plane.send_text(&huge.to_string());
    assert_eq!(plane.next_reply(WAIT)["code"], "unknown_resource");
    let record = record_of(&relay, "huge-1");
    let statement = record["statement"].as_str().unwrap();
    assert!(
        statement.starts_with("SELECT email FROM customers WHERE id IN (1,1,1,"),
        "{}",
        &statement[..60]
    );
    assert!(statement.len() <= 16 << 10, "{}", statement.len());
    assert_eq!(record["statementTruncated"], true);
    assert_eq!(record["statementBytes"], sql.len() as u64);
    assert_eq!(record["statementSha256"], sha256(&sql).as_str());

    let ill_typed = r#"{"type":"request","id":"typed-1","resourceId":"main-pg","operation":"query","timeoutMs":"soon","params":{"sql":"SELECT /* x */ 'ana@example.com'"}}"#;
    plane.send_text(ill_typed);
    assert_eq!(plane.next_reply(WAIT)["code"], "invalid_request");
    let record = record_of(&relay, "typed-1");
    assert_eq!(
        (record["outcome"].as_str(), record["code"].as_str()),
        (Some("refused"), Some("invalid_request"))
    );
    assert_eq!(record["resourceId"], "main-pg");
    assert_eq!(record["statement"], "SELECT '***@***.***'");
    assert_eq!(record["statementSha256"], sha256(ill_typed).as_str());

    let slow = json!({"type": "request", "id": "dup-1", "resourceId": "main-pg",
        "operation": "query", "params": {"sql": "SELECT pg_sleep(1)"}});
    plane.send_text(&slow.to_string());
    plane.send_text(&slow.to_string());
    let first = plane.next_reply(WAIT);
    assert_eq!(
        first["code"], "invalid_request",
        "the duplicate is refused at once: {first}"
    );
    let ran = plane.next_reply(WAIT);
    assert_eq!(
        (ran["type"].as_str(), ran["id"].as_str()),
        (Some("result"), Some("dup-1")),
        "{ran}"
    );
    let mut dup: Vec<Value> = Vec::new();
    let deadline = Instant::now() + WAIT;
    while dup.len() < 2 {
        assert!(Instant::now() < deadline, "{dup:?}");
        dup = relay
            .stdout_audit_records()
            .into_iter()
            .filter(|r| r["requestId"] == "dup-1")
            .collect();
        std::thread::sleep(Duration::from_millis(50));
    }
    let refused = dup.iter().find(|r| r["outcome"] == "refused").unwrap();
    assert_eq!(refused["statement"], "SELECT pg_sleep(1)");

    plane.send_text("{not json 'ana@example.com'");
    assert_eq!(plane.next_reply(WAIT)["code"], "invalid_message");
    let deadline = Instant::now() + WAIT;
    let garbage = loop {
        let found = relay
            .stdout_audit_records()
            .into_iter()
            .find(|r| r["code"] == "invalid_message");
        if let Some(found) = found {
            break found;
        }
        assert!(Instant::now() < deadline);
        std::thread::sleep(Duration::from_millis(50));
    };
    assert_eq!(garbage["requestId"], Value::Null);
    assert!(garbage.get("statement").is_none(), "{garbage}");
    assert_eq!(
        garbage["statementSha256"],
        sha256("{not json 'ana@example.com'").as_str()
    );
    assert!(!relay.process.output().contains("ana@example.com"));
    // Drain what the fake control plane saw so it does not hold the relay's writes.
    while let Some(Seen::Text(_)) = plane.next(Duration::from_millis(10)) {}
}
