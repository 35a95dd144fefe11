//! The relay with the development control plane: startup lines, status, operations over HTTP,
//! reconnection, bad credentials and superseded relays.

use crate::support::{get_json, relay_config, DevPlane, Relay, API_KEY, TOKEN};
use relay_actors::log_event::LogEvent;
use serde_json::{json, Value};
use std::time::Duration;

const WAIT: Duration = Duration::from_secs(30);

fn healthy(status: &Value) -> bool {
    status["status"] == "connected" && status["resources"][0]["status"] == "healthy"
}

#[test]
fn connects_reports_status_and_logs_the_startup_sequence() {
    let devplane = DevPlane::start();
    let relay = Relay::start(&relay_config(devplane.port, ""), TOKEN);
    relay.wait_ready();

    let startup = [
        "Relay starting",
        "Connected to control plane",
        "Resource healthy",
        "Relay ready",
    ];
    let messages: Vec<String> = relay
        .process
        .stdout
        .messages()
        .into_iter()
        .filter(|m| startup.contains(&m.as_str()))
        .collect();
    assert_eq!(messages, startup, "{}", relay.process.output());

    let line = |msg: &str| relay.process.stdout.wait_for_msg(msg, WAIT).unwrap();
    for msg in startup {
        let value = line(msg);
        assert_eq!(value["level"], "info");
        let time = value["time"].as_str().unwrap();
        assert!(time.ends_with('Z') && time.contains('T'), "{time}");
    }
    let first_keys: Vec<String> = relay.process.stdout.all()[0]
        .split('"')
        .skip(1)
        .step_by(4)
        .take(3)
        .map(str::to_owned)
        .collect();
    assert_eq!(first_keys, ["level", "time", "msg"]);
    assert_eq!(line("Relay starting")["version"], env!("CARGO_PKG_VERSION"));
    let url = format!("ws://127.0.0.1:{}/v1/relay/connect", devplane.port);
    assert_eq!(line("Connected to control plane")["url"], url.as_str());
    let resource = line("Resource healthy");
    assert_eq!(
        (resource["resourceId"].as_str(), resource["type"].as_str()),
        (Some("main-pg"), Some("postgres"))
    );

    let status = devplane.wait_status(WAIT, healthy);
    assert!(healthy(&status), "{status}");
    assert_eq!(status["tenantId"], "tenant-test");
    assert_eq!(status["resources"][0]["id"], "main-pg");
    assert_eq!(status["resources"][0]["name"], "Main PostgreSQL");
    assert!(status["resources"][0]["lastCheckedAt"].is_string());
    assert!(status["connectedAt"].is_string());
    assert!(!relay.process.output().contains(TOKEN));
}

#[test]
fn operations_are_forwarded_through_the_http_api() {
    let devplane = DevPlane::start();
    let (code, body) =
        devplane.operation(json!({"resourceId": "main-pg", "operation": "list_tables"}));
    assert_eq!(
        (code, body["error"]["code"].as_str()),
        (503, Some("relay_not_connected"))
    );

    let relay = Relay::start(&relay_config(devplane.port, ""), TOKEN);
    relay.wait_ready();
    let (code, body) = devplane
        .operation(json!({"resourceId": "main-pg", "operation": "list_tables",
        "params": {"schema": "pg_catalog"}}));
    assert_eq!(code, 200);
    assert_eq!(body["type"], "result", "{body}");
    let names: Vec<&str> = body["rows"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|r| r[1].as_str())
        .collect();
    assert!(names.contains(&"pg_class"), "{body}");
    assert_eq!(body["columns"][0]["name"], "schema");

    let (_, body) = devplane.operation(json!({"resourceId": "nope", "operation": "list_tables"}));
    assert_eq!(body["code"], "unknown_resource");
    let (_, body) =
        devplane.operation(json!({"resourceId": "main-pg", "operation": "drop_everything"}));
    assert_eq!(body["code"], "invalid_request");
    let (code, _) = devplane.operation(json!({"resourceId": "main-pg"}));
    assert_eq!(code, 400);
    let (code, _) = get_json(&devplane.url("/v1/relay/status"), "wrong-key");
    assert_eq!(code, 401);
    let (code, _) = get_json(&devplane.url("/v1/relay/status"), API_KEY);
    assert_eq!(code, 200);
}

#[test]
fn reconnects_by_itself_when_the_control_plane_restarts() {
    let devplane = DevPlane::start();
    let port = devplane.port;
    let relay = Relay::start(&relay_config(port, ""), TOKEN);
    relay.wait_ready();
    drop(devplane);
    assert!(
        relay
            .process
            .stdout
            .wait_for_msg(LogEvent::DisconnectedFromControlPlane.as_str(), WAIT)
            .is_some(),
        "{}",
        relay.process.output()
    );

    let devplane = DevPlane::start_on(port);
    let status = devplane.wait_status(WAIT, healthy);
    assert!(healthy(&status), "{status}\n{}", relay.process.output());
    assert_eq!(
        relay
            .process
            .stdout
            .count_msg(LogEvent::ConnectedToControlPlane.as_str()),
        2
    );
    assert_eq!(
        relay
            .process
            .stdout
            .count_msg(LogEvent::RelayReady.as_str()),
        1
    );
}

#[test]
fn a_wrong_token_backs_off_and_is_never_logged() {
    let devplane = DevPlane::start();
    let wrong = "wrong-token-9d8c7b6a";
    let relay = Relay::start(&relay_config(devplane.port, ""), wrong);
    let rejected = "Control plane rejected the relay token or tenant id";
    let lines = &relay.process.stdout;
    assert!(
        lines.wait_for_count(rejected, 3, WAIT),
        "{}",
        relay.process.output()
    );
    let line = lines.wait_for_msg(rejected, WAIT).unwrap();
    assert_eq!(line["status"], 401);
    // At the cap (2 s in this config) with jitter: never sooner than half of it.
    assert!(line["retryInMs"].as_u64().unwrap() >= 1000, "{line}");
    assert!(!relay.process.output().contains(wrong));
    assert_eq!(devplane.status()["status"], "disconnected");
    // Each refusal is a security event in the audit trail.
    let audited = lines.all().iter().any(|line| {
        serde_json::from_str::<serde_json::Value>(line)
            .is_ok_and(|v| v["log"] == "audit" && v["record"]["event"] == "auth_failure")
    });
    assert!(audited, "{}", relay.process.output());
}

#[test]
fn a_superseded_relay_does_not_fight_back() {
    let devplane = DevPlane::start();
    let config = relay_config(devplane.port, "").replace(
        "reconnectMaxDelaySeconds: 2",
        "reconnectMaxDelaySeconds: 60",
    );
    let first = Relay::start(&config, TOKEN);
    first.wait_ready();
    let second = Relay::start(&config, TOKEN);
    second.wait_ready();
    let superseded = "Superseded by another relay of this tenant; not competing for the connection";
    assert!(
        first
            .process
            .stdout
            .wait_for_msg(superseded, WAIT)
            .is_some(),
        "{}",
        first.process.output()
    );
    std::thread::sleep(Duration::from_secs(4));
    assert_eq!(
        first
            .process
            .stdout
            .count_msg(LogEvent::ConnectedToControlPlane.as_str()),
        1
    );
    assert_eq!(
        second
            .process
            .stdout
            .count_msg(LogEvent::DisconnectedFromControlPlane.as_str()),
        0
    );
    assert_eq!(devplane.status()["status"], "connected");
}
