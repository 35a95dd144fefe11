//! One deadline per request: whatever a PostgreSQL request waits on (a place behind requests that
//! hold the whole pool, a lock held by another session, its own slow statement), it is answered
//! `timeout` within its `timeoutMs` plus a small bound, and leaves nothing waiting in the database.

use crate::pg_fixture::{admin, shared_db, READER};
use crate::support::{relay_config_for, DevPlane, Relay, TOKEN};
use serde_json::{json, Value};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// How much later than its `timeoutMs` a request may be answered.
const TOLERANCE: Duration = Duration::from_millis(100);

/// Long enough for the database side of a test to show, short enough never to pass.
const WAIT: Duration = Duration::from_secs(10);

fn started(extra_resource: &str) -> (Arc<DevPlane>, Relay) {
    let devplane = DevPlane::start();
    let relay = Relay::start(
        &relay_config_for(devplane.port, "", READER, extra_resource),
        TOKEN,
    );
    relay.wait_ready();
    (Arc::new(devplane), relay)
}

/// Sends a query and returns its answer and how long it took to come back.
fn timed_query(devplane: &DevPlane, sql: &str, timeout_ms: Option<u64>) -> (Value, Duration) {
    let mut body = json!({"resourceId": "main-pg", "operation": "query", "params": {"sql": sql}});
    if let Some(ms) = timeout_ms {
        body["timeoutMs"] = json!(ms);
    }
    let asked = Instant::now();
    let (status, answer) = devplane.operation(body);
    assert_eq!(status, 200, "{answer}");
    (answer, asked.elapsed())
}

/// Asserts a `timeout` answer that came within `timeout_ms` plus the tolerance.
fn assert_timely_timeout(answer: &Value, took: Duration, timeout_ms: u64) {
    assert_eq!(answer["code"], "timeout", "{answer}");
    let bound = Duration::from_millis(timeout_ms) + TOLERANCE;
    eprintln!("timeoutMs {timeout_ms}: answered timeout after {took:?}");
    assert!(
        took <= bound,
        "answered after {took:?}, bound {bound:?}: {answer}"
    );
}

fn waited_for(answer: &Value, what: &str) -> bool {
    let message = answer["message"].as_str().unwrap_or_default();
    message.contains(&format!("waiting for {what}"))
}

/// A query sent from another thread, without its own timeout.
fn in_background(devplane: &Arc<DevPlane>, sql: &'static str) -> JoinHandle<Value> {
    let devplane = Arc::clone(devplane);
    std::thread::spawn(move || timed_query(&devplane, sql, None).0)
}

/// Sessions of the relay's role whose statement contains `marker`, other than the observer's.
fn sessions_running(marker: &str, filter: &str) -> i64 {
    let mut observer = admin(shared_db());
    let sql = format!(
        "SELECT count(*) FROM pg_catalog.pg_stat_activity \
         WHERE usename = '{READER}' AND pid <> pg_catalog.pg_backend_pid() \
           AND query LIKE '%{marker}%' {filter}"
    );
    observer.query_one(&sql, &[]).unwrap().get(0)
}

fn wait_until_running(marker: &str, count: i64) {
    let since = Instant::now();
    while sessions_running(marker, "AND state = 'active'") < count {
        assert!(since.elapsed() < WAIT, "{marker} never ran {count} times");
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn a_request_behind_a_full_pool_gives_up_at_its_deadline() {
    let (devplane, _relay) = started("    poolSize: 1\n    maxQueuedRequests: 4\n");
    assert_eq!(timed_query(&devplane, "SELECT 1", None).0["type"], "result");
    // The one connection sleeps: the next request waits for it.
    let holder = in_background(&devplane, "SELECT pg_sleep(3.01)");
    wait_until_running("pg_sleep(3.01)", 1);
    let (answer, took) = timed_query(&devplane, "SELECT 2", Some(400));
    assert_timely_timeout(&answer, took, 400);
    assert!(waited_for(&answer, "a database connection"), "{answer}");
    // A second long request takes the other unmasked-result place: the next waits for a place.
    let queued = in_background(&devplane, "SELECT pg_sleep(0.01)");
    std::thread::sleep(Duration::from_millis(200));
    let (answer, took) = timed_query(&devplane, "SELECT 3", Some(300));
    assert_timely_timeout(&answer, took, 300);
    assert!(waited_for(&answer, "a result slot"), "{answer}");
    assert_eq!(holder.join().unwrap()["type"], "result");
    assert_eq!(queued.join().unwrap()["type"], "result");
    assert_eq!(
        timed_query(&devplane, "SELECT 4", None).0["rows"],
        json!([[4]])
    );
}

#[test]
fn a_request_that_gives_up_behind_a_full_pool_never_reaches_the_database() {
    let (devplane, _relay) = started("    poolSize: 1\n    maxQueuedRequests: 4\n");
    let holder = in_background(&devplane, "SELECT pg_sleep(1.02)");
    wait_until_running("pg_sleep(1.02)", 1);
    let marker = "given_up_in_the_queue";
    let sql = format!("SELECT pg_sleep(1.5) AS {marker}");
    let (answer, took) = timed_query(&devplane, &sql, Some(300));
    assert_timely_timeout(&answer, took, 300);
    assert!(waited_for(&answer, "a database connection"), "{answer}");
    assert_eq!(holder.join().unwrap()["type"], "result");
    // Had it been run once the connection was free, it would be sleeping there now; its text
    // would also stay on the session as its last statement.
    let since = Instant::now();
    while since.elapsed() < Duration::from_secs(1) {
        assert_eq!(sessions_running(marker, ""), 0, "a given-up request ran");
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_eq!(
        timed_query(&devplane, "SELECT 5", None).0["rows"],
        json!([[5]])
    );
}

#[test]
fn a_request_waiting_on_a_lock_gives_up_at_its_deadline_and_leaves_no_waiter() {
    let mut admin_client = admin(shared_db());
    admin_client
        .batch_execute(
            "CREATE TABLE IF NOT EXISTS deadline_locked (id int); \
             GRANT SELECT ON deadline_locked TO relay_it_reader",
        )
        .unwrap();
    // The lock timeout is far away: the request's own deadline is what ends the wait.
    let (devplane, _relay) = started("    lockTimeoutMs: 20000\n");
    let sql = "SELECT count(*) FROM deadline_locked";
    assert_eq!(timed_query(&devplane, sql, None).0["type"], "result");
    let mut holder = admin_client.transaction().unwrap();
    holder
        .batch_execute("LOCK TABLE deadline_locked IN ACCESS EXCLUSIVE MODE")
        .unwrap();
    let (answer, took) = timed_query(&devplane, sql, Some(500));
    assert_timely_timeout(&answer, took, 500);
    let mut observer = admin(shared_db());
    let waiting: i64 = observer
        .query_one(
            "SELECT count(*) FROM pg_catalog.pg_locks l \
             JOIN pg_catalog.pg_stat_activity a USING (pid) \
             WHERE NOT l.granted AND a.usename = 'relay_it_reader' \
               AND l.relation = 'deadline_locked'::regclass",
            &[],
        )
        .unwrap()
        .get(0);
    assert_eq!(waiting, 0, "a relay session still waits on the lock");
    holder.rollback().unwrap();
    assert_eq!(timed_query(&devplane, sql, None).0["type"], "result");
}

#[test]
fn a_slow_statement_gives_up_at_its_deadline_or_the_resource_timeout() {
    let (devplane, _relay) = started("    statementTimeoutMs: 700\n");
    let (answer, took) = timed_query(&devplane, "SELECT pg_sleep(5.02)", Some(300));
    assert_timely_timeout(&answer, took, 300);
    // A longer timeoutMs than the resource allows is capped by statementTimeoutMs.
    let (answer, took) = timed_query(&devplane, "SELECT pg_sleep(5.02)", Some(60_000));
    assert_timely_timeout(&answer, took, 700);
    let (answer, took) = timed_query(&devplane, "SELECT pg_sleep(5.02)", None);
    assert_timely_timeout(&answer, took, 700);
    assert_eq!(
        sessions_running("pg_sleep(5.02)", "AND state = 'active'"),
        0
    );
}

#[test]
fn a_catalog_operation_that_waited_for_the_pool_still_gives_up_at_its_deadline() {
    let mut admin_client = admin(shared_db());
    admin_client
        .batch_execute(&format!(
            "CREATE SCHEMA IF NOT EXISTS deadline_catalog; \
             CREATE TABLE IF NOT EXISTS deadline_catalog.locked (id int); \
             GRANT USAGE ON SCHEMA deadline_catalog TO {READER}; \
             GRANT SELECT ON deadline_catalog.locked TO {READER}"
        ))
        .unwrap();
    // Without a request timeout a catalog statement runs at the session's timeouts, counted from
    // when it starts: after a wait for the only connection it would run past the request's
    // deadline unless the deadline stops it.
    let (devplane, _relay) = started(
        "    poolSize: 1\n    maxQueuedRequests: 4\n    statementTimeoutMs: 1500\n    lockTimeoutMs: 1500\n",
    );
    let list = json!({"resourceId": "main-pg", "operation": "list_tables",
        "params": {"schema": "deadline_catalog"}});
    assert_eq!(devplane.operation(list.clone()).1["type"], "result");
    let mut holder = admin_client.transaction().unwrap();
    holder
        .batch_execute("LOCK TABLE deadline_catalog.locked IN ACCESS EXCLUSIVE MODE")
        .unwrap();
    let sleeper = in_background(&devplane, "SELECT pg_sleep(0.81)");
    wait_until_running("pg_sleep(0.81)", 1);
    let asked = Instant::now();
    let (_, answer) = devplane.operation(list.clone());
    assert_timely_timeout(&answer, asked.elapsed(), 1500);
    assert_eq!(sleeper.join().unwrap()["type"], "result");
    let waiting: i64 = admin(shared_db())
        .query_one(
            "SELECT count(*) FROM pg_catalog.pg_locks l \
             JOIN pg_catalog.pg_stat_activity a USING (pid) \
             WHERE NOT l.granted AND a.usename = $1 \
               AND l.relation = 'deadline_catalog.locked'::regclass",
            &[&READER],
        )
        .unwrap()
        .get(0);
    assert_eq!(waiting, 0, "a relay session still waits on the lock");
    holder.rollback().unwrap();
    assert_eq!(devplane.operation(list).1["type"], "result");
}
