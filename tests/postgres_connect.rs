//! A PostgreSQL database that is down or misconfigured: requests and `relay check --connect` fail
//! at once with the real cause (the server's SQLSTATE, the OS error, a connect timeout), a wrong
//! password is not retried in a loop, and the resource recovers by itself.

use crate::private_pg::PrivatePg;
use crate::support::{free_port, relay_config_with, DevPlane, Relay, TOKEN};
use relay_actors::log_event::LogEvent;
use serde_json::{json, Value};
use std::net::TcpListener;
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

const WAIT: Duration = Duration::from_secs(30);

/// A configuration with one PostgreSQL resource, `database` on 127.0.0.1:`port` as `watcher`;
/// `extra` adds keys under `connection` (indented by six).
pub fn config(
    plane_port: u16,
    extra_plane: &str,
    port: u16,
    database: &str,
    extra: &str,
) -> String {
    let resource = format!(
        "  - id: main-pg\n    type: postgres\n    connection:\n      host: 127.0.0.1\n      \
         port: {port}\n      database: {database}\n      user: watcher\n{extra}\
         \n    allowedOperations: [query, describe_table, list_tables, explain]\n"
    );
    relay_config_with(plane_port, extra_plane, &resource)
}

/// A server with password authentication and a role `watcher` whose password is `right-pw`.
pub fn server_with_watcher() -> PrivatePg {
    let server = PrivatePg::start_with_passwords();
    server
        .admin()
        .batch_execute("CREATE ROLE watcher LOGIN PASSWORD 'right-pw'")
        .unwrap();
    server
}

pub const WRONG_PASSWORD: &str = "      password: wrong-pw-SEKRIT\n";
pub const RIGHT_PASSWORD: &str = "      password: right-pw\n";

fn list_tables(devplane: &DevPlane) -> Value {
    let request = json!({"resourceId": "main-pg", "operation": "list_tables", "timeoutMs": 30000});
    devplane.operation(request).1
}

fn failed_authentications(server: &PrivatePg) -> usize {
    server
        .log()
        .matches("password authentication failed")
        .count()
}

#[test]
fn a_wrong_password_fails_every_request_at_once_and_is_not_retried_in_a_loop() {
    let server = server_with_watcher();
    let devplane = DevPlane::start();
    // At debug level, so that the lines explaining each attempt are checked for the password too.
    let debug = [("RELAY_LOG_LEVEL", "debug".to_owned())];
    let text = config(devplane.port, "", server.port, "postgres", WRONG_PASSWORD);
    let relay = Relay::start_env(&text, TOKEN, &debug, true);
    relay.wait_ready();
    let cause = "password authentication failed for user \"watcher\" (SQLSTATE 28P01)";
    let started = Instant::now();
    for _ in 0..40 {
        if started.elapsed() > Duration::from_secs(10) {
            break;
        }
        let asked = Instant::now();
        let answer = list_tables(&devplane);
        assert!(asked.elapsed() < Duration::from_secs(2), "{answer}");
        assert_eq!(answer["code"], "resource_unavailable", "{answer}");
        let message = answer["message"].as_str().unwrap_or_default();
        let address = format!("cannot connect to 127.0.0.1:{}", server.port);
        assert!(
            message.contains(cause) && message.contains(&address),
            "{message}"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    let failed = failed_authentications(&server);
    assert!((1..=3).contains(&failed), "{failed} failed authentications");
    let status = devplane.status();
    assert_eq!(status["resources"][0]["status"], "unhealthy", "{status}");
    let error = status["resources"][0]["error"].as_str().unwrap_or_default();
    assert!(error.contains(cause), "{status}");
    let output = relay.process.output();
    assert!(!output.contains("SEKRIT"), "{output}");
    let attempts = relay
        .process
        .stdout
        .count_msg(LogEvent::ConnectingToDatabase.as_str());
    let failures = relay
        .process
        .stdout
        .count_msg(LogEvent::DatabaseConnectionAttemptFailed.as_str());
    assert_eq!(attempts, failures, "{output}");
    assert!((1..=3).contains(&failures), "{output}");
}

#[test]
fn a_failed_connect_marks_the_resource_unhealthy_at_once_and_it_recovers_by_itself() {
    let server = server_with_watcher();
    let devplane = DevPlane::start();
    // Health checks are far apart: what happens within the test comes from requests and from the
    // reconnect after a failure.
    let extra_plane = "  healthIntervalSeconds: 600";
    let text = config(
        devplane.port,
        extra_plane,
        server.port,
        "postgres",
        RIGHT_PASSWORD,
    );
    let relay = Relay::start(&text, TOKEN);
    relay.wait_ready();
    assert_eq!(list_tables(&devplane)["type"], "result");

    server.stop();
    let asked = Instant::now();
    let answer = list_tables(&devplane);
    assert!(asked.elapsed() < Duration::from_secs(2), "{answer}");
    assert_eq!(answer["code"], "resource_unavailable", "{answer}");
    let message = answer["message"].as_str().unwrap_or_default();
    assert!(message.contains("Connection refused"), "{answer}");
    let unhealthy = |s: &Value| s["resources"][0]["status"] == "unhealthy";
    let status = devplane.wait_status(WAIT, unhealthy);
    assert!(unhealthy(&status), "{status}");
    let error = status["resources"][0]["error"].as_str().unwrap_or_default();
    assert!(error.contains("Connection refused"), "{status}");
    // Further requests get the same cause without trying.
    let again = list_tables(&devplane);
    assert_eq!(again["message"], answer["message"], "{again}");

    server.start_again();
    let healthy = |s: &Value| s["resources"][0]["status"] == "healthy";
    let status = devplane.wait_status(WAIT, healthy);
    assert!(healthy(&status), "{status}\n{}", relay.process.output());
    assert_eq!(list_tables(&devplane)["type"], "result");
}

/// What `relay check --connect` prints for `config`, and how long it took.
pub fn check_connect(config: &str) -> (String, Duration) {
    let (_dir, path) = crate::support::write_config(config);
    let started = Instant::now();
    let output = Command::new(env!("CARGO_BIN_EXE_relay"))
        .args(["check", "--connect", "--config"])
        .arg(&path)
        .env("RELAY_TOKEN", TOKEN)
        .env("RELAY_AUDIT_SPOOL", path.with_file_name("spool.jsonl"))
        .env("RELAY_STATUS_FILE", path.with_file_name("status.json"))
        .env_remove("RELAY_LOG_LEVEL")
        .output()
        .unwrap();
    let printed = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    (printed, started.elapsed())
}

#[test]
fn relay_check_connect_names_each_cause_at_once() {
    let server = server_with_watcher();
    let devplane = DevPlane::start();
    let refused_port = free_port();
    let cases = [
        (
            server.port,
            "postgres",
            WRONG_PASSWORD,
            "password authentication failed for user \"watcher\" (SQLSTATE 28P01)",
        ),
        (
            server.port,
            "nowhere",
            RIGHT_PASSWORD,
            "database \"nowhere\" does not exist (SQLSTATE 3D000)",
        ),
        (
            refused_port,
            "postgres",
            "",
            "error connecting to server: Connection refused (os error 111)",
        ),
        (
            server.port,
            "postgres",
            "      password: right-pw\n      sslmode: require\n",
            "error performing TLS handshake: server does not support TLS",
        ),
    ];
    for (port, database, extra, cause) in cases {
        let text = config(devplane.port, "", port, database, extra);
        let (printed, took) = check_connect(&text);
        let expected = format!("resource main-pg: cannot connect to 127.0.0.1:{port}: {cause}");
        assert!(printed.contains(&expected), "{expected}\n{printed}");
        assert!(took < Duration::from_secs(3), "took {took:?}: {printed}");
        assert!(!printed.contains("SEKRIT"), "{printed}");
    }
}

/// A listener on 127.0.0.1 that accepts connections and never answers, until dropped.
pub struct SilentServer {
    pub port: u16,
    stop: Arc<AtomicBool>,
}

impl SilentServer {
    pub fn start() -> SilentServer {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let port = listener.local_addr().unwrap().port();
        let stop = Arc::new(AtomicBool::new(false));
        let stopped = Arc::clone(&stop);
        std::thread::spawn(move || {
            let mut held = Vec::new();
            while !stopped.load(Ordering::Relaxed) && held.len() < 100 {
                match listener.accept() {
                    Ok((stream, _)) => held.push(stream),
                    Err(_) => std::thread::sleep(Duration::from_millis(20)),
                }
            }
        });
        SilentServer { port, stop }
    }
}

impl Drop for SilentServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

#[test]
fn a_server_that_never_answers_is_a_connect_timeout_naming_host_and_port() {
    let silent = SilentServer::start();
    let devplane = DevPlane::start();
    let extra = "      connectTimeoutSeconds: 1\n";
    let text = config(devplane.port, "", silent.port, "postgres", extra);
    let expected = format!(
        "cannot connect to 127.0.0.1:{}: connect timeout: no answer within 1 s \
         (connectTimeoutSeconds)",
        silent.port
    );
    let (printed, took) = check_connect(&text);
    assert!(printed.contains(&expected), "{expected}\n{printed}");
    assert!(took < Duration::from_secs(3), "took {took:?}: {printed}");

    let relay = Relay::start(&text, TOKEN);
    relay.wait_ready();
    for _ in 0..3 {
        let asked = Instant::now();
        let answer = list_tables(&devplane);
        assert!(asked.elapsed() < Duration::from_secs(3), "{answer}");
        assert_eq!(answer["code"], "resource_unavailable", "{answer}");
        assert_eq!(answer["message"], expected.as_str(), "{answer}");
    }
}
