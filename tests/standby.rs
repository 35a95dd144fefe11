//! Two replicas of one tenant: the second stands by instead of displacing the first, takes over
//! when the first is killed or drains, and only the active one passes `healthcheck --ready`.

use crate::fake_control_plane::{FakeControlPlane, Seen};
use crate::support::{relay_config, DevPlane, Process, Relay, TOKEN};
use relay_actors::log_event::LogEvent;
use serde_json::{json, Value};
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

const WAIT: Duration = Duration::from_secs(30);

/// The longest a takeover may take (a bound, not a measure of speed).
const TAKEOVER: Duration = Duration::from_secs(15);

/// Requests per second of the background load.
const LOAD_RATE: u32 = 20;

fn start_replica(devplane: &DevPlane, instance: &str) -> Relay {
    let env = [("RELAY_INSTANCE_ID", instance.to_owned())];
    let relay = Relay::start_env(&relay_config(devplane.port, ""), TOKEN, &env, true);
    relay.wait_ready();
    relay
}

/// Starts `relay-a` (active) and `relay-b` (standing by).
fn two_replicas(devplane: &DevPlane) -> (Relay, Relay) {
    let first = start_replica(devplane, "relay-a");
    let status = devplane.wait_status(WAIT, |s| s["activeInstance"]["instanceId"] == "relay-a");
    assert_eq!(
        status["activeInstance"]["instanceId"], "relay-a",
        "{status}"
    );
    let second = start_replica(devplane, "relay-b");
    let standing_by = second
        .process
        .stdout
        .wait_for_msg(LogEvent::RelayStandingBy.as_str(), WAIT);
    let line = standing_by.unwrap_or_else(|| panic!("{}", second.process.output()));
    assert_eq!(line["activeInstanceId"], "relay-a", "{line}");
    let status = devplane.wait_status(WAIT, |s| s["standbys"].as_array().map(Vec::len) == Some(1));
    assert_eq!(status["standbys"][0]["instanceId"], "relay-b", "{status}");
    assert_eq!(status["standbys"][0]["version"], env!("CARGO_PKG_VERSION"));
    (first, second)
}

fn select_one(devplane: &DevPlane) -> (u16, Value) {
    devplane.operation(
        json!({"resourceId": "main-pg", "operation": "query", "params": {"sql": "SELECT 1"}}),
    )
}

/// Every answer the load got that was not a result.
type Failures = Vec<(u16, Value)>;

/// Sends [`LOAD_RATE`] requests a second until `stop` is set or `limit` requests were sent;
/// returns the number sent and the failures.
fn start_load(port: u16, stop: Arc<AtomicBool>, limit: u32) -> JoinHandle<(u32, Failures)> {
    std::thread::spawn(move || {
        let devplane_url = format!("http://127.0.0.1:{port}/v1/relay/operations");
        let body = json!({"resourceId": "main-pg", "operation": "query",
            "params": {"sql": "SELECT 1"}});
        let started = Instant::now();
        let mut failures = Vec::new();
        let mut sent = 0;
        while sent < limit && !stop.load(Ordering::Relaxed) {
            let due = started + Duration::from_secs(1) * sent / LOAD_RATE;
            std::thread::sleep(due.saturating_duration_since(Instant::now()));
            let (code, answer) =
                crate::support::post_json(&devplane_url, crate::support::API_KEY, &body);
            if code != 200 || answer["type"] != "result" {
                failures.push((code, answer));
            }
            sent += 1;
        }
        (sent, failures)
    })
}

fn healthcheck(relay: &Relay, ready: bool) -> (bool, String) {
    let mut command = Command::new(env!("CARGO_BIN_EXE_relay"));
    command
        .args(["healthcheck", "--status-file"])
        .arg(relay.status_file());
    if ready {
        command.arg("--ready");
    }
    let output = command.output().unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    (output.status.success(), text)
}

fn promoted(relay: &Process) {
    let line = relay
        .stdout
        .wait_for_msg(LogEvent::RelayPromotedToActive.as_str(), TAKEOVER);
    assert!(line.is_some(), "{}", relay.output());
}

#[test]
fn two_replicas_under_load_neither_displaces_the_other() {
    let devplane = DevPlane::start();
    let (first, second) = two_replicas(&devplane);
    let limit = 90 * LOAD_RATE;
    let load = start_load(devplane.port, Arc::new(AtomicBool::new(false)), limit);
    let (sent, failures) = load.join().unwrap();
    assert_eq!(sent, limit);
    assert!(
        failures.is_empty(),
        "{} failed: {:?}",
        failures.len(),
        &failures[..1]
    );

    let status = devplane.status();
    assert!(status["handovers"].as_u64().unwrap() <= 1, "{status}");
    assert_eq!(
        status["activeInstance"]["instanceId"], "relay-a",
        "{status}"
    );
    assert_eq!(status["standbys"][0]["instanceId"], "relay-b", "{status}");
    // Neither reconnected, and the standby was never promoted, so it served nothing.
    for relay in [&first, &second] {
        let stdout = &relay.process.stdout;
        assert_eq!(
            stdout.count_msg(LogEvent::ConnectedToControlPlane.as_str()),
            1,
            "{}",
            relay.process.output()
        );
        assert_eq!(
            stdout.count_msg(LogEvent::DisconnectedFromControlPlane.as_str()),
            0
        );
    }
    assert_eq!(
        second
            .process
            .stdout
            .count_msg(LogEvent::RelayPromotedToActive.as_str()),
        0
    );
    assert_eq!(
        first
            .process
            .stdout
            .count_msg(LogEvent::RelayStandingBy.as_str()),
        0
    );
}

#[test]
fn the_standby_serves_within_15_s_after_the_active_is_killed() {
    let devplane = DevPlane::start();
    let (first, second) = two_replicas(&devplane);
    assert_eq!(select_one(&devplane).1["type"], "result");
    first.process.signal("KILL");
    let last = served_within_takeover(&devplane);
    assert_eq!(
        last.1["type"],
        "result",
        "{:?}\n{}",
        last,
        second.process.output()
    );
    promoted(&second.process);
    let status = devplane.status();
    assert_eq!(
        status["activeInstance"]["instanceId"], "relay-b",
        "{status}"
    );
    assert_eq!(status["handovers"], 1, "{status}");
    assert_eq!(status["standbys"], json!([]), "{status}");
    assert_eq!(status["status"], "connected");
}

/// Waits (at most [`TAKEOVER`]) until a `SELECT 1` through the dev control plane succeeds.
fn served_within_takeover(devplane: &DevPlane) -> (u16, Value) {
    let deadline = Instant::now() + TAKEOVER;
    let mut last = select_one(devplane);
    while last.1["type"] != "result" && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(100));
        last = select_one(devplane);
    }
    last
}

#[test]
fn a_frozen_active_is_dropped_by_the_heartbeat_and_comes_back_as_standby() {
    let devplane = DevPlane::start();
    let (first, second) = two_replicas(&devplane);
    // A stopped process keeps its socket open but answers no ping: only the heartbeat notices.
    first.process.signal("STOP");
    let (_, answer) = served_within_takeover(&devplane);
    first.process.signal("CONT");
    assert_eq!(
        answer["type"],
        "result",
        "{answer}\n{}",
        second.process.output()
    );
    promoted(&second.process);
    let status = devplane.status();
    assert_eq!(
        status["activeInstance"]["instanceId"], "relay-b",
        "{status}"
    );
    assert_eq!(status["handovers"], 1, "{status}");
    // The thawed relay finds its session gone, reconnects and stands by.
    let standing_by = first
        .process
        .stdout
        .wait_for_msg(LogEvent::RelayStandingBy.as_str(), WAIT);
    assert!(standing_by.is_some(), "{}", first.process.output());
    let status = devplane.wait_status(WAIT, |s| s["standbys"][0]["instanceId"] == "relay-a");
    assert_eq!(status["standbys"][0]["instanceId"], "relay-a", "{status}");
    assert_eq!(status["handovers"], 1, "{status}");
}

#[test]
fn a_draining_active_hands_over_without_losing_a_request() {
    let devplane = DevPlane::start();
    let (mut first, second) = two_replicas(&devplane);
    let stop = Arc::new(AtomicBool::new(false));
    let load = start_load(devplane.port, Arc::clone(&stop), 60 * LOAD_RATE);
    std::thread::sleep(Duration::from_secs(2));
    first.process.signal("TERM");
    assert_eq!(
        first.process.wait_exit(WAIT),
        Some(0),
        "{}",
        first.process.output()
    );
    promoted(&second.process);
    // Keep the load on the promoted relay for a while.
    std::thread::sleep(Duration::from_secs(3));
    stop.store(true, Ordering::Relaxed);
    let (sent, failures) = load.join().unwrap();
    assert!(sent >= 5 * LOAD_RATE / 2, "{sent}");
    assert!(
        failures.is_empty(),
        "{} of {sent} failed: {:?}",
        failures.len(),
        &failures[..1]
    );

    let status = devplane.status();
    assert_eq!(
        status["activeInstance"]["instanceId"], "relay-b",
        "{status}"
    );
    assert_eq!(status["handovers"], 1, "{status}");
    assert_eq!(status["lastClose"]["code"], 1001, "{status}");
}

#[test]
fn a_standby_is_alive_but_not_ready_until_promoted() {
    let devplane = DevPlane::start();
    let (first, second) = two_replicas(&devplane);
    let deadline = Instant::now() + WAIT;
    while healthcheck(&second, true).0 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(100));
    }
    let (live, text) = healthcheck(&second, false);
    assert!(live && text.contains("standing by"), "{text}");
    let (ready, text) = healthcheck(&second, true);
    assert!(!ready && text.contains("standing by"), "{text}");
    assert!(healthcheck(&first, true).0);

    first.process.signal("KILL");
    promoted(&second.process);
    let deadline = Instant::now() + WAIT;
    while !healthcheck(&second, true).0 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(100));
    }
    let (ready, text) = healthcheck(&second, true);
    assert!(ready, "{text}");
    assert!(healthcheck(&second, false).0);
}

#[test]
fn a_relay_told_to_stand_by_refuses_requests_until_told_it_is_active() {
    let plane = FakeControlPlane::start();
    let env = [("RELAY_INSTANCE_ID", "relay-s".to_owned())];
    let mut relay = Relay::start_env(&relay_config(plane.port, ""), TOKEN, &env, true);
    let hello = plane.next_reply(WAIT);
    assert_eq!(hello["capabilities"], json!(["standby"]), "{hello}");
    assert_eq!(hello["instanceId"], "relay-s", "{hello}");
    let request = |id: &str| {
        json!({"type": "request", "id": id, "resourceId": "main-pg", "operation": "query",
            "params": {"sql": "SELECT 1"}})
        .to_string()
    };

    plane.send_text(r#"{"type":"standby","activeInstanceId":"relay-x"}"#);
    let line = relay
        .process
        .stdout
        .wait_for_msg(LogEvent::RelayStandingBy.as_str(), WAIT);
    assert_eq!(line.unwrap()["activeInstanceId"], "relay-x");
    plane.send_text(&request("s1"));
    let reply = plane.next_reply(WAIT);
    assert_eq!(
        (reply["id"].as_str(), reply["code"].as_str()),
        (Some("s1"), Some("standby"))
    );
    relay.wait_ready();
    let deadline = Instant::now() + WAIT;
    while healthcheck(&relay, true).0 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(!healthcheck(&relay, true).0 && healthcheck(&relay, false).0);

    plane.send_text(r#"{"type":"active"}"#);
    promoted(&relay.process);
    plane.send_text(&request("s2"));
    let reply = plane.next_reply(WAIT);
    assert_eq!(
        (reply["id"].as_str(), reply["type"].as_str()),
        (Some("s2"), Some("result"))
    );
    assert!(
        healthcheck(&relay, true).0,
        "{}",
        healthcheck(&relay, true).1
    );

    // Shutting down, it tells a control plane that speaks of roles before it closes.
    relay.process.signal("TERM");
    assert_eq!(plane.next_reply(WAIT)["type"], "draining");
    assert_eq!(
        relay.process.wait_exit(WAIT),
        Some(0),
        "{}",
        relay.process.output()
    );
    let close = std::iter::from_fn(|| plane.next(WAIT)).find(|seen| matches!(seen, Seen::Close(_)));
    assert_eq!(close, Some(Seen::Close(Some(1001))));
}
