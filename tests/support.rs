//! Test support: real relay and dev control plane processes on 127.0.0.1 ports, log capture, HTTP.

#![allow(dead_code)]

pub use crate::relay_process::Relay;

use serde_json::Value;
use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

pub const TOKEN: &str = "test-relay-token-7f3a9c";
pub const TENANT: &str = "tenant-test";
pub const API_KEY: &str = "test-api-key-b41e";

/// Lines a child process printed, shared with the thread reading them.
#[derive(Clone, Default)]
pub struct Lines {
    inner: Arc<(Mutex<Vec<String>>, Condvar)>,
}

impl Lines {
    fn push(&self, line: String) {
        let (lines, changed) = &*self.inner;
        lines.lock().unwrap().push(line);
        changed.notify_all();
    }

    pub fn all(&self) -> Vec<String> {
        self.inner.0.lock().unwrap().clone()
    }

    /// Waits until a line satisfies `wanted`, returning it.
    pub fn wait_for(&self, timeout: Duration, wanted: impl Fn(&str) -> bool) -> Option<String> {
        let deadline = Instant::now() + timeout;
        let (lines, changed) = &*self.inner;
        let mut guard = lines.lock().unwrap();
        loop {
            if let Some(line) = guard.iter().find(|line| wanted(line)) {
                return Some(line.clone());
            }
            let left = deadline.checked_duration_since(Instant::now())?;
            guard = changed.wait_timeout(guard, left).unwrap().0;
        }
    }

    /// Waits for a JSON log line with this `msg`.
    pub fn wait_for_msg(&self, msg: &str, timeout: Duration) -> Option<Value> {
        self.wait_for(timeout, |line| json_msg(line).as_deref() == Some(msg))
            .and_then(|line| serde_json::from_str(&line).ok())
    }

    /// Waits until at least `count` JSON lines have this `msg`.
    pub fn wait_for_count(&self, msg: &str, count: usize, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        while Instant::now() < deadline {
            if self.count_msg(msg) >= count {
                return true;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        false
    }

    /// How many JSON log lines have this `msg`.
    pub fn count_msg(&self, msg: &str) -> usize {
        self.all()
            .iter()
            .filter(|line| json_msg(line).as_deref() == Some(msg))
            .count()
    }

    /// The `msg` of every JSON line, in order.
    pub fn messages(&self) -> Vec<String> {
        self.all()
            .iter()
            .filter_map(|line| json_msg(line))
            .collect()
    }
}

fn json_msg(line: &str) -> Option<String> {
    let value: Value = serde_json::from_str(line).ok()?;
    value.get("msg")?.as_str().map(str::to_owned)
}

/// A child process whose stdout (and stderr) lines are captured; killed on drop.
pub struct Process {
    pub child: Child,
    pub stdout: Lines,
    pub stderr: Lines,
}

impl Process {
    pub fn spawn(mut command: Command) -> Process {
        command
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = command.spawn().expect("spawn process");
        let stdout = Lines::default();
        let stderr = Lines::default();
        let out = child.stdout.take().unwrap();
        let err = child.stderr.take().unwrap();
        read_lines(out, stdout.clone());
        read_lines(err, stderr.clone());
        Process {
            child,
            stdout,
            stderr,
        }
    }

    /// Sends a signal (e.g. "TERM", "KILL").
    pub fn signal(&self, name: &str) {
        let status = Command::new("kill")
            .args([format!("-{name}"), self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
    }

    /// Waits for the process to exit, returning its code.
    pub fn wait_exit(&mut self, timeout: Duration) -> Option<i32> {
        let deadline = Instant::now() + timeout;
        while Instant::now() < deadline {
            if let Some(status) = self.child.try_wait().unwrap() {
                return Some(status.code().unwrap_or(-1));
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        None
    }

    /// Everything printed on stdout and stderr.
    pub fn output(&self) -> String {
        let mut all = self.stdout.all();
        all.extend(self.stderr.all());
        all.join("\n")
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn read_lines(source: impl std::io::Read + Send + 'static, sink: Lines) {
    std::thread::spawn(move || {
        for line in BufReader::new(source).lines() {
            match line {
                Ok(line) => sink.push(line),
                Err(_) => break,
            }
        }
    });
}

/// A free TCP port on 127.0.0.1 (released before returning, so races are possible but rare).
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A running development control plane.
pub struct DevPlane {
    pub process: Process,
    pub port: u16,
}

impl DevPlane {
    pub fn start() -> DevPlane {
        Self::start_on(0)
    }

    pub fn start_on(port: u16) -> DevPlane {
        Self::start_with(port, &[])
    }

    /// Serves `wss://` with this certificate (on a free port).
    pub fn start_tls(cert: &crate::private_ca::ServerCert) -> DevPlane {
        let cert_file = cert.cert_file.display().to_string();
        let key_file = cert.key_file.display().to_string();
        Self::start_with(0, &["--tls-cert", &cert_file, "--tls-key", &key_file])
    }

    /// Starts on `port` with extra arguments (such as `--audit-file`).
    pub fn start_with(port: u16, extra: &[&str]) -> DevPlane {
        Self::start_for(port, extra, TENANT)
    }

    /// Starts on `port` for `tenant`, with extra arguments.
    pub fn start_for(port: u16, extra: &[&str], tenant: &str) -> DevPlane {
        let mut command = Command::new(env!("CARGO_BIN_EXE_relay-devplane"));
        command.args(extra);
        command
            .args(["--listen", &format!("127.0.0.1:{port}")])
            .args([
                "--token",
                TOKEN,
                "--tenant-id",
                tenant,
                "--api-key",
                API_KEY,
            ]);
        let process = Process::spawn(command);
        let line = process
            .stdout
            .wait_for_msg("Dev control plane listening", Duration::from_secs(20))
            .unwrap_or_else(|| panic!("devplane did not start: {}", process.output()));
        let addr = line["addr"].as_str().unwrap();
        let port = addr.rsplit(':').next().unwrap().parse().unwrap();
        DevPlane { process, port }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    pub fn status(&self) -> Value {
        get_json(&self.url("/v1/relay/status"), API_KEY).1
    }

    /// Waits until the status document satisfies `wanted`.
    pub fn wait_status(&self, timeout: Duration, wanted: impl Fn(&Value) -> bool) -> Value {
        let deadline = Instant::now() + timeout;
        loop {
            let status = self.status();
            if wanted(&status) || Instant::now() > deadline {
                return status;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// `GET /v1/relay/audit`: the records received so far.
    pub fn audit_records(&self) -> Vec<Value> {
        let (_, body) = get_json(&self.url("/v1/relay/audit"), API_KEY);
        body["records"].as_array().cloned().unwrap_or_default()
    }

    /// `POST /v1/relay/operations`.
    pub fn operation(&self, body: Value) -> (u16, Value) {
        post_json(&self.url("/v1/relay/operations"), API_KEY, &body)
    }
}

pub fn get_json(url: &str, bearer: &str) -> (u16, Value) {
    let response = ureq::get(url)
        .set("Authorization", &format!("Bearer {bearer}"))
        .call();
    into_json(response)
}

pub fn post_json(url: &str, bearer: &str, body: &Value) -> (u16, Value) {
    let response = ureq::post(url)
        .set("Authorization", &format!("Bearer {bearer}"))
        .send_json(body.clone());
    into_json(response)
}

fn into_json(response: Result<ureq::Response, ureq::Error>) -> (u16, Value) {
    match response {
        Ok(response) => (
            response.status(),
            response.into_json().unwrap_or(Value::Null),
        ),
        Err(ureq::Error::Status(code, response)) => {
            (code, response.into_json().unwrap_or(Value::Null))
        }
        Err(err) => panic!("http: {err}"),
    }
}

/// PostgreSQL the tests use (`RELAY_TEST_PG_*`, defaulting to the local trust-auth server).
pub struct Pg {
    pub host: String,
    pub port: u16,
    pub user: String,
    pub database: String,
}

pub fn pg() -> Pg {
    let var =
        |name: &str, default: &str| std::env::var(name).unwrap_or_else(|_| default.to_owned());
    Pg {
        host: var("RELAY_TEST_PG_HOST", "127.0.0.1"),
        port: var("RELAY_TEST_PG_PORT", "5432").parse().unwrap(),
        user: var("RELAY_TEST_PG_USER", "postgres"),
        database: var("RELAY_TEST_PG_DATABASE", "postgres"),
    }
}

/// A relay configuration for tests, using the shared test database and its read-only role;
/// `extra_control_plane` adds keys under `controlPlane`.
pub fn relay_config(control_plane_port: u16, extra_control_plane: &str) -> String {
    relay_config_for(
        control_plane_port,
        extra_control_plane,
        crate::pg_fixture::READER,
        "",
    )
}

/// A relay configuration for `user` on the shared test database; `extra_resource` adds keys to the
/// resource (indented by four spaces).
pub fn relay_config_for(
    control_plane_port: u16,
    extra_control_plane: &str,
    user: &str,
    extra_resource: &str,
) -> String {
    let pg = pg();
    let database = crate::pg_fixture::shared_db();
    let resource = format!(
        r#"  - id: main-pg
    type: postgres
    name: Main PostgreSQL
    connection:
      host: {host}
      port: {port}
      database: {database}
      user: {user}
    allowedOperations: [query, describe_table, list_tables, explain]
    maxRowsPerQuery: 1000
{extra_resource}"#,
        host = pg.host,
        port = pg.port,
    );
    relay_config_with(control_plane_port, extra_control_plane, &resource)
}

/// A relay configuration with the given `resources` entries (YAML list items indented by two).
pub fn relay_config_with(
    control_plane_port: u16,
    extra_control_plane: &str,
    resources: &str,
) -> String {
    format!(
        r#"controlPlane:
  url: ws://127.0.0.1:{control_plane_port}/v1/relay/connect
  token: ${{RELAY_TOKEN}}
  tenantId: {TENANT}
  heartbeatIntervalSeconds: 1
  heartbeatTimeoutSeconds: 5
  reconnectMaxDelaySeconds: 2
  shutdownGraceSeconds: 5
{extra_control_plane}
resources:
{resources}

masking:
  enabled: true
  patterns:
    - name: email
      regex: '[a-zA-Z0-9._%+-]+@[a-zA-Z0-9.-]+\.[a-zA-Z]{{2,}}'
      replacement: '***@***.***'

audit:
  enabled: true
  level: info
  spoolPath: ${{RELAY_AUDIT_SPOOL:-/tmp/relay-it-spool.jsonl}}
"#
    )
}

/// The proxy variables a relay reads; tests start it without them unless they set them.
pub const PROXY_VARIABLES: [&str; 8] = [
    "HTTPS_PROXY",
    "https_proxy",
    "HTTP_PROXY",
    "http_proxy",
    "ALL_PROXY",
    "all_proxy",
    "NO_PROXY",
    "no_proxy",
];

/// A config file in a fresh temporary directory (kept alive by the returned guard).
pub fn write_config(text: &str) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("relay-config.yaml");
    std::fs::File::create(&path)
        .unwrap()
        .write_all(text.as_bytes())
        .unwrap();
    (dir, path)
}

/// Runs `sql` on the `main-pg` resource through the dev control plane and returns its answer,
/// which must be a result.
pub fn query_result(devplane: &DevPlane, sql: &str) -> serde_json::Value {
    let (code, body) = devplane.operation(
        serde_json::json!({"resourceId": "main-pg", "operation": "query", "params": {"sql": sql}}),
    );
    assert_eq!(code, 200, "{body}");
    assert_eq!(body["type"], "result", "{sql}: {body}");
    body
}
