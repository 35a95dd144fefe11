//! A cancel that races its statement's end stops nothing else: the server acts on a cancel
//! request whenever it arrives, so one sent just as the statement finished must not reach the
//! statement the connection runs next, another request's.

use crate::busy_pool::relay_sessions;
use crate::pg_fixture::READER;
use crate::postgres_session::with_application_name;
use crate::support::{post_json, relay_config_for, DevPlane, Relay, API_KEY, TOKEN};
use serde_json::{json, Value};
use std::sync::Arc;
use std::time::Duration;

/// Cancels sent around the first statement's end, one millisecond apart.
const ATTEMPTS: u64 = 40;

fn query_in_background(
    devplane: &Arc<DevPlane>,
    id: String,
    sql: &'static str,
) -> std::thread::JoinHandle<Value> {
    let devplane = Arc::clone(devplane);
    std::thread::spawn(move || {
        let body = json!({"resourceId": "main-pg", "operation": "query", "requestId": id,
            "params": {"sql": sql}});
        devplane.operation(body).1
    })
}

#[test]
fn a_cancel_sent_as_its_statement_ends_does_not_stop_the_next_request() {
    let devplane = Arc::new(DevPlane::start());
    let extra = "    poolSize: 1\n    maxQueuedRequests: 2\n";
    let application = "relay-it-cancel-race";
    let config = relay_config_for(devplane.port, "", READER, extra);
    let relay = Relay::start(&with_application_name(config, application), TOKEN);
    relay.wait_ready();
    let mut cancelled = 0;
    for attempt in 0..ATTEMPTS {
        let id = format!("race-{attempt}");
        let racing = query_in_background(&devplane, id.clone(), "SELECT pg_sleep(0.05)");
        std::thread::sleep(Duration::from_millis(5));
        // Queued behind the racing statement, on the same (the only) connection.
        let next =
            query_in_background(&devplane, format!("next-{attempt}"), "SELECT pg_sleep(0.2)");
        std::thread::sleep(Duration::from_millis(30 + attempt));
        let (status, _) = post_json(
            &devplane.url(&format!("/v1/relay/operations/{id}/cancel")),
            API_KEY,
            &json!({}),
        );
        // 404: the racing request was already answered.
        assert!(status == 202 || status == 404, "{status}");
        let racing = racing.join().unwrap();
        if racing["code"] == "cancelled" {
            cancelled += 1;
        } else {
            assert_eq!(racing["type"], "result", "{racing}");
        }
        let next = next.join().unwrap();
        assert_eq!(next["type"], "result", "attempt {attempt}: {next}");
    }
    eprintln!("{cancelled} of {ATTEMPTS} racing statements were cancelled");
    // Connections a cancel was sent to were closed, not kept: at most the pool's one is left,
    // and nothing of the relay still runs.
    let (sessions, active) = relay_sessions(application);
    assert!(sessions <= 1, "{sessions} sessions of the relay");
    assert_eq!(active, 0);
}
