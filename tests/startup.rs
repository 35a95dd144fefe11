//! Starting and signals: SIGHUP reloads and does not stop the relay, an unknown log level is a usage error,
//! debug logging explains control-plane connection attempts, a byte order mark is accepted, and
//! readiness waits for the audit trail, which heals by itself.

use crate::support::{free_port, relay_config, write_config, DevPlane, Relay, TOKEN};
use relay_actors::log_event::LogEvent;
use serde_json::json;
use std::process::Command;
use std::time::{Duration, Instant};

const WAIT: Duration = Duration::from_secs(30);

#[test]
fn sighup_is_logged_and_the_relay_keeps_serving() {
    let plane = DevPlane::start();
    let mut relay = Relay::start(&relay_config(plane.port, ""), TOKEN);
    relay.wait_ready();
    relay.process.signal("HUP");
    // SIGHUP reloads the configuration (here: unchanged) and the relay carries on.
    let line = relay
        .process
        .stdout
        .wait_for_msg(LogEvent::ConfigurationReloaded.as_str(), WAIT)
        .unwrap();
    assert_eq!(
        (line["level"].as_str(), line["trigger"].as_str()),
        (Some("info"), Some("SIGHUP"))
    );
    assert_eq!(line["sections"], "", "nothing changed: {line}");
    let (_, answer) = plane.operation(json!({"resourceId": "main-pg", "operation": "query",
        "params": {"sql": "SELECT 1"}}));
    assert!(answer["rows"].is_array(), "{answer}");
    relay.process.signal("TERM");
    assert_eq!(
        relay.process.wait_exit(WAIT),
        Some(0),
        "{}",
        relay.process.output()
    );
}

#[test]
fn an_unknown_log_level_is_a_usage_error_for_run_and_check() {
    let port = free_port();
    let config = relay_config(port, "");
    let env = [("RELAY_LOG_LEVEL", "verbose".to_owned())];
    let mut relay = Relay::start_env(&config, TOKEN, &env, true);
    assert_eq!(
        relay.process.wait_exit(WAIT),
        Some(64),
        "{}",
        relay.process.output()
    );
    let line = relay
        .process
        .stdout
        .wait_for_msg(LogEvent::InvalidLogLevel.as_str(), WAIT)
        .unwrap();
    assert!(
        line["problem"]
            .as_str()
            .unwrap()
            .contains("unknown log level \"verbose\""),
        "{line}"
    );
    assert_eq!(
        relay
            .process
            .stdout
            .count_msg(LogEvent::ConnectedToControlPlane.as_str()),
        0
    );
    let (_dir, path) = write_config(&config);
    let output = Command::new(env!("CARGO_BIN_EXE_relay"))
        .args(["check", "--config"])
        .arg(&path)
        .env("RELAY_TOKEN", TOKEN)
        .env("RELAY_LOG_LEVEL", "verbose")
        .env("RELAY_STATUS_FILE", relay.dir().join("status.json"))
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(64));
    let printed = String::from_utf8_lossy(&output.stdout);
    assert!(
        printed.contains("RELAY_LOG_LEVEL: unknown log level \"verbose\""),
        "{printed}"
    );
}

#[test]
fn debug_logging_explains_control_plane_connection_attempts() {
    let port = free_port();
    let env = [("RELAY_LOG_LEVEL", "debug".to_owned())];
    let relay = Relay::start_env(&relay_config(port, ""), TOKEN, &env, true);
    let attempt = relay
        .process
        .stdout
        .wait_for_msg(LogEvent::ConnectingToControlPlane.as_str(), WAIT)
        .unwrap();
    assert_eq!(attempt["level"], "debug");
    assert_eq!(attempt["proxy"], "none");
    assert_eq!(
        attempt["url"],
        format!("ws://127.0.0.1:{port}/v1/relay/connect").as_str()
    );
    let failed = relay
        .process
        .stdout
        .wait_for_msg(LogEvent::ControlPlaneConnectionAttemptFailed.as_str(), WAIT)
        .unwrap();
    let error = failed["error"].as_str().unwrap();
    assert!(error.contains("Connection refused"), "{error}");
    assert!(!relay.process.output().contains(TOKEN));
}

#[test]
fn a_byte_order_mark_at_the_start_of_the_file_is_accepted() {
    let (dir, path) = write_config(&format!("\u{feff}{}", relay_config(9, "")));
    let output = Command::new(env!("CARGO_BIN_EXE_relay"))
        .args(["check", "--config"])
        .arg(&path)
        .env("RELAY_TOKEN", TOKEN)
        .env("RELAY_STATUS_FILE", dir.path().join("status.json"))
        .output()
        .unwrap();
    let printed = String::from_utf8_lossy(&output.stdout);
    assert_eq!(output.status.code(), Some(0), "{printed}");
    assert!(printed.contains("configuration is valid"), "{printed}");
}

fn healthcheck(status: &std::path::Path, ready: bool) -> (i32, String) {
    let mut command = Command::new(env!("CARGO_BIN_EXE_relay"));
    command.arg("healthcheck").arg("--status-file").arg(status);
    if ready {
        command.arg("--ready");
    }
    let output = command.output().unwrap();
    let printed = String::from_utf8_lossy(&output.stdout).into_owned();
    (output.status.code().unwrap(), printed)
}

#[test]
fn readiness_waits_for_the_audit_trail_which_heals_by_itself() {
    let tmp = tempfile::tempdir().unwrap();
    let later = tmp.path().join("later");
    let plane = DevPlane::start();
    let config = relay_config(plane.port, "").replace(
        "audit:\n  enabled: true\n",
        &format!(
            "audit:\n  enabled: true\n  file: {}/audit.jsonl\n",
            later.display()
        ),
    );
    let relay = Relay::start(&config, TOKEN);
    relay
        .process
        .stdout
        .wait_for_msg(LogEvent::AuditTrailUnavailable.as_str(), WAIT)
        .unwrap();
    plane.wait_status(WAIT, |s| s["status"] == "connected");
    let status = relay.status_file();
    let deadline = Instant::now() + WAIT;
    let (code, said) = loop {
        let (code, said) = healthcheck(&status, true);
        if said.contains("audit trail") || Instant::now() > deadline {
            break (code, said);
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    assert_eq!(code, 1, "{said}");
    assert!(
        said.contains("the audit trail is unavailable") && said.contains("cannot open audit file"),
        "{said}"
    );
    assert_eq!(healthcheck(&status, false).0, 0, "alive, so not restarted");
    assert_eq!(
        relay
            .process
            .stdout
            .count_msg(LogEvent::RelayReady.as_str()),
        0
    );

    std::fs::create_dir(&later).unwrap();
    relay.wait_ready();
    let healed = relay
        .process
        .stdout
        .wait_for_msg(LogEvent::AuditTrailAvailableAgain.as_str(), WAIT)
        .unwrap();
    assert_eq!(healed["level"], "info");
    let deadline = Instant::now() + WAIT;
    while healthcheck(&status, true).0 != 0 {
        assert!(
            Instant::now() < deadline,
            "{}",
            healthcheck(&status, true).1
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    let (_, answer) = plane.operation(json!({"resourceId": "main-pg", "operation": "query",
        "params": {"sql": "SELECT 1"}}));
    assert!(answer["rows"].is_array(), "{answer}");
    let text = std::fs::read_to_string(later.join("audit.jsonl")).unwrap();
    let events: Vec<String> = text
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter_map(|r| r["event"].as_str().map(str::to_owned))
        .collect();
    assert!(events.contains(&"config_loaded".to_owned()), "{events:?}");
    assert!(events.contains(&"audit_recovered".to_owned()), "{events:?}");
}
