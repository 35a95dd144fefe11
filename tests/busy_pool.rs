//! A pool whose every connection is busy is not a database that is down: while long statements
//! hold the pool, the resource stays healthy and keeps its catalog, and serves the next request.

use crate::pg_fixture::{admin, shared_db, READER};
use crate::postgres_session::with_application_name;
use crate::support::{relay_config_for, DevPlane, Relay, TOKEN};
use serde_json::json;
use std::sync::Arc;
use std::time::Duration;

/// The relay's sessions under `application`, and how many of them run a statement, as an admin
/// connection sees them.
pub(crate) fn relay_sessions(application: &str) -> (i64, i64) {
    let row = admin(shared_db())
        .query_one(
            "SELECT count(*), count(*) FILTER (WHERE state = 'active') \
             FROM pg_catalog.pg_stat_activity WHERE application_name = $1",
            &[&application],
        )
        .unwrap();
    (row.get(0), row.get(1))
}

/// Longer than a health check waits for a connection (`connectTimeoutSeconds`, 10 by default).
const HOLD_SECONDS: u64 = 12;

#[test]
fn a_pool_held_by_long_statements_stays_healthy_and_serves_the_next_request() {
    let devplane = Arc::new(DevPlane::start());
    let config = relay_config_for(
        devplane.port,
        "  healthIntervalSeconds: 1",
        READER,
        "    poolSize: 1\n",
    );
    let config = with_application_name(config, "relay-it-busy-pool");
    let relay = Relay::start(&config, TOKEN);
    relay.wait_ready();
    let healthy = |s: &serde_json::Value| s["resources"][0]["status"] == "healthy";
    assert!(healthy(
        &devplane.wait_status(Duration::from_secs(10), healthy)
    ));

    let holder = {
        let devplane = Arc::clone(&devplane);
        std::thread::spawn(move || {
            let sql = format!("SELECT pg_sleep({HOLD_SECONDS})");
            devplane
                .operation(json!({"resourceId": "main-pg", "operation": "query",
                    "params": {"sql": sql}}))
                .1
        })
    };
    // Every health check meanwhile finds the only connection busy for longer than it waits.
    let status = devplane.wait_status(Duration::from_secs(HOLD_SECONDS - 1), |s| !healthy(s));
    assert!(healthy(&status), "a busy pool was reported as: {status}");
    // One check waits its turn; the ones due meanwhile are not piled up behind it.
    assert!(
        status["metrics"]["queueDepth"].as_u64().unwrap() <= 1,
        "{status}"
    );
    // The waiting check opened no connection beyond the pool's one, which runs the statement.
    assert_eq!(relay_sessions("relay-it-busy-pool"), (1, 1));
    let checked_before = status["resources"][0]["lastCheckedAt"].clone();
    let held = holder.join().unwrap();
    assert_eq!(held["type"], "result", "{held}");
    let (_, next) = devplane.operation(
        json!({"resourceId": "main-pg", "operation": "query", "params": {"sql": "SELECT 1"}}),
    );
    assert_eq!(next["type"], "result", "{next}");
    // The waiting check got its connection and ran.
    let checked =
        |s: &serde_json::Value| healthy(s) && s["resources"][0]["lastCheckedAt"] != checked_before;
    let status = devplane.wait_status(Duration::from_secs(10), checked);
    assert!(checked(&status), "{status}");
    drop(relay);
}
