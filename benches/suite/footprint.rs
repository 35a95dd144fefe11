//! The relay's footprint beside the product's resource budget: time from process start to `Relay
//! ready`, resident memory and CPU while idle, and the size of the (stripped) binary. The relay runs
//! as deployed: its own process, the development control plane, the local PostgreSQL.

use crate::report::Section;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

const TOKEN: &str = "bench-relay-token";
const TENANT: &str = "bench";

/// Kills the child when dropped, so a failed run leaves nothing behind.
struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Spawns `command` and returns it with a channel of its stdout lines.
fn spawn(mut command: Command) -> Result<(Running, mpsc::Receiver<String>), String> {
    let mut child = command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|err| format!("cannot start {command:?}: {err}"))?;
    let stdout = child.stdout.take().ok_or("no stdout")?;
    let (send, receive) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if send.send(line).is_err() {
                break;
            }
        }
    });
    Ok((Running(child), receive))
}

fn wait_for(lines: &mpsc::Receiver<String>, needle: &str) -> Result<String, String> {
    let deadline = Instant::now() + Duration::from_secs(30);
    while let Some(left) = deadline.checked_duration_since(Instant::now()) {
        match lines.recv_timeout(left) {
            Ok(line) if line.contains(needle) => return Ok(line),
            Ok(_) => {}
            Err(_) => break,
        }
    }
    Err(format!("no \"{needle}\" line within 30 s"))
}

fn config(port: u16, dir: &Path) -> String {
    format!(
        "controlPlane:\n  url: ws://127.0.0.1:{port}/v1/relay/connect\n  token: {TOKEN}\n  tenantId: {TENANT}\n\
         resources:\n  - id: main-pg\n    type: postgres\n    connection: {{host: 127.0.0.1, port: 5432, \
         database: postgres, user: postgres}}\n    allowPrivilegedUser: true\n\
         audit:\n  spoolPath: {}\n",
        dir.join("spool.jsonl").display()
    )
}

/// `VmRSS`/`VmHWM` in KiB and user+system CPU ticks of `pid`.
fn usage(pid: u32) -> Result<(u64, u64, u64), String> {
    let status =
        std::fs::read_to_string(format!("/proc/{pid}/status")).map_err(|e| e.to_string())?;
    let field = |name: &str| {
        status
            .lines()
            .find(|line| line.starts_with(name))
            .and_then(|line| line.split_whitespace().nth(1))
            .and_then(|value| value.parse::<u64>().ok())
            .unwrap_or(0)
    };
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).map_err(|e| e.to_string())?;
    // Fields after the command name (which may hold spaces) start at the closing parenthesis.
    let after = stat.rsplit_once(')').map_or("", |(_, rest)| rest);
    let fields: Vec<&str> = after.split_whitespace().collect();
    let tick = |index: usize| {
        fields
            .get(index)
            .and_then(|v| v.parse::<u64>().ok())
            .unwrap_or(0)
    };
    Ok((field("VmRSS:"), field("VmHWM:"), tick(11) + tick(12)))
}

/// Runs the relay, lets it idle for `idle`, and reports what it used.
pub fn run(idle: Duration) -> Result<Section, String> {
    let dir = tempfile::tempdir().map_err(|err| err.to_string())?;
    let mut devplane = Command::new(env!("CARGO_BIN_EXE_relay-devplane"));
    devplane.args([
        "--listen",
        "127.0.0.1:0",
        "--token",
        TOKEN,
        "--tenant-id",
        TENANT,
    ]);
    devplane.args(["--api-key", "bench-api-key"]);
    let (_devplane, devplane_lines) = spawn(devplane)?;
    let listening = wait_for(&devplane_lines, "Dev control plane listening")?;
    let port: u16 = listening
        .split("127.0.0.1:")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .and_then(|port| port.parse().ok())
        .ok_or_else(|| format!("no port in {listening}"))?;
    let config_path = dir.path().join("relay-config.yaml");
    std::fs::write(&config_path, config(port, dir.path())).map_err(|err| err.to_string())?;
    let mut relay = Command::new(env!("CARGO_BIN_EXE_relay"));
    relay.arg("--config").arg(&config_path).arg("run");
    relay.env("RELAY_STATUS_FILE", dir.path().join("status.json"));
    let started = Instant::now();
    let (running, relay_lines) = spawn(relay)?;
    wait_for(&relay_lines, "\"Relay ready\"")?;
    let ready = started.elapsed();
    let pid = running.0.id();
    let (_, _, ticks_before) = usage(pid)?;
    std::thread::sleep(idle);
    let (rss, hwm, ticks_after) = usage(pid)?;
    let cpu_seconds = (ticks_after - ticks_before) as f64 / 100.0;
    let binary = std::fs::metadata(env!("CARGO_BIN_EXE_relay")).map_or(0, |m| m.len());
    let mut section = Section::new(
        "Footprint (idle relay, one PostgreSQL resource, connected)",
        &["Measure", "Relay", "Product budget", "Target"],
    );
    let mib = |kib: u64| format!("{:.1} MiB", kib as f64 / 1024.0);
    section.row([
        "Start to `Relay ready`".into(),
        format!("{} ms", ready.as_millis()),
        String::new(),
        "<= 200 ms".into(),
    ]);
    section.row([
        format!("RSS after {} s idle", idle.as_secs()),
        mib(rss),
        "100-200 MB idle, 512 MB limit".into(),
        "<= 15 MiB".into(),
    ]);
    section.row([
        "Peak RSS so far (VmHWM)".into(),
        mib(hwm),
        "512 MB".into(),
        String::new(),
    ]);
    section.row([
        "CPU while idle".into(),
        format!(
            "{:.3} % of a core ({cpu_seconds:.2} s in {} s)",
            cpu_seconds / idle.as_secs_f64() * 100.0,
            idle.as_secs()
        ),
        "~128m idle, 0.5 CPU limit".into(),
        "~0 (no busy polling)".into(),
    ]);
    section.row([
        "Binary size (stripped)".into(),
        mib(binary / 1024),
        "50 MB image".into(),
        "< 20 MB image".into(),
    ]);
    section.note("CPU from /proc utime+stime at 100 ticks/s; the idle relay still sends heartbeats and health checks.");
    Ok(section)
}
