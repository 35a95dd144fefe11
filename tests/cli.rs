//! The command line: `version`, `check`, `healthcheck` and usage errors, with their exit codes.

use crate::support::{relay_config, write_config, DevPlane, Relay, TOKEN};
use relay_actors::log_event::LogEvent;
use std::net::TcpListener;
use std::process::{Command, Output};
use std::time::Duration;

fn relay(args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_relay"));
    command.args(args).env_remove("RELAY_CONFIG");
    for (key, value) in env {
        command.env(key, value);
    }
    command.output().unwrap()
}

fn text(output: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

#[test]
fn version_prints_the_package_version() {
    let output = relay(&["version"], &[]);
    assert!(output.status.success());
    assert_eq!(
        text(&output).trim(),
        format!("relay {}", env!("CARGO_PKG_VERSION"))
    );
}

#[test]
fn bad_flags_exit_64() {
    assert_eq!(relay(&["--no-such-flag"], &[]).status.code(), Some(64));
    assert_eq!(relay(&["frobnicate"], &[]).status.code(), Some(64));
}

#[test]
fn check_accepts_a_valid_config() {
    let (_dir, path) = write_config(&relay_config(9, ""));
    let output = relay(
        &["check", "--config", path.to_str().unwrap()],
        &[("RELAY_TOKEN", TOKEN)],
    );
    assert_eq!(output.status.code(), Some(0), "{}", text(&output));
    assert!(text(&output).contains("configuration is valid (1 resource)"));
}

#[test]
fn check_lists_every_problem_and_exits_64() {
    let config = relay_config(9, "")
        .replace("ws://127.0.0.1", "http://127.0.0.1")
        .replace("maxRowsPerQuery: 1000", "maxRowsPerQuery: 0");
    let (_dir, path) = write_config(&config);
    let output = relay(&["check", "--config", path.to_str().unwrap()], &[]);
    let printed = text(&output);
    assert_eq!(output.status.code(), Some(64), "{printed}");
    for expected in [
        "controlPlane.url",
        "resources[0].maxRowsPerQuery",
        "RELAY_TOKEN",
        "controlPlane.token",
    ] {
        assert!(
            printed.contains(expected),
            "missing {expected} in:\n{printed}"
        );
    }
}

#[test]
fn config_path_comes_from_the_environment() {
    let (_dir, path) = write_config(&relay_config(9, ""));
    let output = relay(
        &["check"],
        &[
            ("RELAY_CONFIG", path.to_str().unwrap()),
            ("RELAY_TOKEN", TOKEN),
        ],
    );
    assert_eq!(output.status.code(), Some(0), "{}", text(&output));
}

#[test]
fn run_with_an_invalid_config_exits_64_before_connecting() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let port = listener.local_addr().unwrap().port();
    let config = relay_config(port, "").replace("maxRowsPerQuery: 1000", "maxRowsPerQuery: 100001");
    let mut relay = Relay::start(&config, TOKEN);
    assert_eq!(
        relay.process.wait_exit(Duration::from_secs(20)),
        Some(64),
        "{}",
        relay.process.output()
    );
    assert!(
        listener.accept().is_err(),
        "relay connected despite an invalid config"
    );
    let problem = relay
        .process
        .stdout
        .wait_for_msg(
            LogEvent::InvalidConfiguration.as_str(),
            Duration::from_secs(1),
        )
        .unwrap();
    assert_eq!(problem["key"], "resources[0].maxRowsPerQuery");
}

#[test]
fn check_connect_reports_the_database_and_the_control_plane() {
    let devplane = DevPlane::start();
    let (_dir, path) = write_config(&relay_config(devplane.port, ""));
    let output = relay(
        &["check", "--connect", "--config", path.to_str().unwrap()],
        &[("RELAY_TOKEN", TOKEN)],
    );
    let printed = text(&output);
    assert_eq!(output.status.code(), Some(0), "{printed}");
    assert!(printed.contains("resource main-pg: ok"), "{printed}");
    assert!(printed.contains("/v1/relay/connect: ok"), "{printed}");

    let output = relay(
        &["check", "--connect", "--config", path.to_str().unwrap()],
        &[("RELAY_TOKEN", "bad")],
    );
    let printed = text(&output);
    assert_eq!(output.status.code(), Some(69), "{printed}");
    assert!(
        printed.contains("credentials rejected (HTTP 401)"),
        "{printed}"
    );
}

#[test]
fn healthcheck_follows_the_running_relay() {
    let devplane = DevPlane::start();
    let running = Relay::start(&relay_config(devplane.port, ""), TOKEN);
    running.wait_ready();
    let file = running.status_file();
    let file = file.to_str().unwrap();
    let probe = |extra: &[&str]| {
        let mut args = vec!["healthcheck", "--status-file", file];
        args.extend_from_slice(extra);
        relay(&args, &[])
    };
    let live = probe(&[]);
    assert!(live.status.success(), "{}", text(&live));
    assert!(text(&live).contains("connected"), "{}", text(&live));
    let ready = relay(&["healthcheck", "--ready"], &[("RELAY_STATUS_FILE", file)]);
    assert!(ready.status.success(), "{}", text(&ready));

    // Without the control plane the relay is alive but not ready.
    devplane.process.signal("KILL");
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while probe(&["--ready"]).status.success() && std::time::Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(100));
    }
    let unready = probe(&["--ready"]);
    assert_eq!(unready.status.code(), Some(1), "{}", text(&unready));
    assert!(
        text(&unready).contains("not connected"),
        "{}",
        text(&unready)
    );
    assert!(probe(&[]).status.success());

    // A relay that stopped writing is dead once the file is older than the limit.
    running.process.signal("KILL");
    std::thread::sleep(Duration::from_millis(1500));
    let stale = probe(&["--max-age", "1"]);
    assert_eq!(stale.status.code(), Some(1), "{}", text(&stale));
    assert!(text(&stale).contains("stale"), "{}", text(&stale));
    let missing = relay(
        &["healthcheck", "--status-file", "/nonexistent/status.json"],
        &[],
    );
    assert_eq!(missing.status.code(), Some(1));
}
