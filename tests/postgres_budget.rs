//! Memory per request and lock waits: hostile queries whose answers would be huge are refused
//! without the relay's memory growing past a bound, and a read queued behind a lock gives up.

use crate::pg_fixture::{admin, shared_db, READER};
use crate::support::{relay_config_for, DevPlane, Relay, TOKEN};
use serde_json::{json, Value};
use std::time::{Duration, Instant};

fn started(extra_resource: &str) -> (DevPlane, Relay) {
    let devplane = DevPlane::start();
    let relay = Relay::start(
        &relay_config_for(devplane.port, "", READER, extra_resource),
        TOKEN,
    );
    relay.wait_ready();
    (devplane, relay)
}

fn query(port: u16, sql: &str) -> Value {
    let url = format!("http://127.0.0.1:{port}/v1/relay/operations");
    let body = json!({"resourceId": "main-pg", "operation": "query", "params": {"sql": sql}});
    let (code, body) = crate::support::post_json(&url, crate::support::API_KEY, &body);
    assert_eq!(code, 200, "{body}");
    body
}

/// The relay process's peak resident memory so far, in KiB.
fn peak_kib(relay: &Relay) -> u64 {
    let status =
        std::fs::read_to_string(format!("/proc/{}/status", relay.process.child.id())).unwrap();
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmHWM:"))
        .and_then(|value| value.split_whitespace().next())
        .and_then(|value| value.parse().ok())
        .unwrap()
}

/// Sends `sql` from another thread and, while it runs, a `SELECT 1` that must be answered within
/// 100 ms; returns the hostile query's answer.
fn hostile_while_another_is_answered(devplane: &DevPlane, sql: &'static str) -> Value {
    let port = devplane.port;
    let hostile = std::thread::spawn(move || query(port, sql));
    // Give the hostile query time to reach the database before the small one is sent.
    std::thread::sleep(Duration::from_millis(150));
    let started = Instant::now();
    let small = query(port, "SELECT 1");
    let took = started.elapsed();
    assert_eq!(small["rows"], json!([[1]]), "{small}");
    assert!(took < Duration::from_millis(100), "SELECT 1 took {took:?}");
    hostile.join().unwrap()
}

#[test]
fn huge_values_are_refused_within_a_memory_bound() {
    let (devplane, relay) = started("");
    assert_eq!(query(devplane.port, "SELECT 1")["rows"], json!([[1]]));
    let cases = [
        "SELECT array_fill(NULL::int, ARRAY[20000000])",
        "SELECT repeat('x', 300000000)",
        "SELECT repeat('x', 10000000) FROM generate_series(1, 256)",
        "SELECT json_agg(0) FROM generate_series(1, 8000000)",
    ];
    for sql in cases {
        let answer = hostile_while_another_is_answered(&devplane, sql);
        assert_eq!(answer["code"], "result_too_large", "{sql}: {answer}");
        let message = answer["message"].as_str().unwrap_or_default();
        assert!(
            message.contains("maxResultBytes (16777216 bytes)"),
            "{message}"
        );
        let peak = peak_kib(&relay);
        eprintln!("{sql}: relay peak memory {peak} KiB");
        assert!(peak < 200 * 1024, "{sql}: relay peak memory {peak} KiB");
    }
    // Results just within the limit still arrive whole, within the same bound (values of 4 MB,
    // the most masking scans).
    let sql = "SELECT repeat('ab, ', 1000000) AS filler FROM generate_series(1, 3)";
    let fits = query(devplane.port, sql);
    assert_eq!(fits["rowCount"], 3, "{}", fits["type"]);
    assert_eq!(fits["rows"][2][0].as_str().map(str::len), Some(4_000_000));
    let peak = peak_kib(&relay);
    eprintln!("12 MB within the limit: relay peak memory {peak} KiB");
    assert!(peak < 200 * 1024, "relay peak memory {peak} KiB");
}

#[test]
fn a_read_behind_an_exclusive_lock_gives_up_and_leaves_no_waiter() {
    let mut admin = admin(shared_db());
    admin
        .batch_execute(
            "CREATE TABLE IF NOT EXISTS budget_locked (id int); \
             GRANT SELECT ON budget_locked TO relay_it_reader",
        )
        .unwrap();
    let (devplane, _relay) = started("    lockTimeoutMs: 300\n");
    assert_eq!(
        query(devplane.port, "SELECT count(*) FROM budget_locked")["type"],
        "result"
    );
    let mut holder = admin.transaction().unwrap();
    holder
        .batch_execute("LOCK TABLE budget_locked IN ACCESS EXCLUSIVE MODE")
        .unwrap();
    let answer = query(devplane.port, "SELECT count(*) FROM budget_locked");
    assert_eq!(answer["code"], "timeout", "{answer}");
    let message = answer["message"].as_str().unwrap_or_default();
    assert!(message.contains("waited on a lock"), "{message}");
    assert!(message.contains("55P03"), "{message}");
    let mut observer = crate::pg_fixture::admin(shared_db());
    let waiting: i64 = observer
        .query_one(
            "SELECT count(*) FROM pg_locks l JOIN pg_stat_activity a USING (pid) \
             WHERE NOT l.granted AND a.usename = 'relay_it_reader' \
               AND l.relation = 'budget_locked'::regclass",
            &[],
        )
        .unwrap()
        .get(0);
    assert_eq!(waiting, 0);
    holder.rollback().unwrap();
}

#[test]
fn long_statements_are_bounded_and_checked_off_the_actor_thread() {
    let (devplane, relay) = started("");
    assert_eq!(query(devplane.port, "SELECT 1")["rows"], json!([[1]]));
    // Just under the default maxStatementBytes (256 KiB): judged, on a thread of its own.
    let long = format!("SELECT 1 WHERE 1 IN ({}1)", "1,".repeat(120_000));
    assert!(long.len() < 256 * 1024);
    let port = devplane.port;
    let hostile = std::thread::spawn(move || query(port, &long));
    std::thread::sleep(Duration::from_millis(50));
    let started_at = Instant::now();
    let small = query(port, "SELECT 1");
    let took = started_at.elapsed();
    assert_eq!(small["rows"], json!([[1]]), "{small}");
    assert!(took < Duration::from_millis(100), "SELECT 1 took {took:?}");
    let answer = hostile.join().unwrap();
    assert_eq!(answer["type"], "result", "{}", answer["message"]);
    // Over it: refused before it is parsed.
    let huge = format!("SELECT 1 WHERE 1 IN ({}1)", "1,".repeat(500_000));
    let refused = query(port, &huge);
    assert_eq!(refused["code"], "invalid_request", "{refused}");
    let message = refused["message"].as_str().unwrap_or_default();
    assert!(message.contains("maxStatementBytes"), "{message}");
    let peak = peak_kib(&relay);
    assert!(peak < 200 * 1024, "relay peak memory {peak} KiB");
}
