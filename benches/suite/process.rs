//! Child processes of the suite: the relay and the development control plane, their stdout lines,
//! and what they use according to `/proc`.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// The relay binary `RELAY_BENCH_RELAY` names in place of this build's (the container image's
/// static musl binary, say), if it names one.
pub fn relay_override() -> Option<PathBuf> {
    std::env::var_os("RELAY_BENCH_RELAY")
        .filter(|path| !path.is_empty())
        .map(PathBuf::from)
}

/// The relay binary measured.
pub fn relay_binary() -> PathBuf {
    relay_override().unwrap_or_else(|| PathBuf::from(env!("CARGO_BIN_EXE_relay")))
}

/// Kills the child when dropped, so a failed run leaves nothing behind.
pub struct Running(pub Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Spawns `command` and returns it with a channel of its stdout lines.
pub fn spawn(mut command: Command) -> Result<(Running, mpsc::Receiver<String>), String> {
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

pub fn wait_for(lines: &mpsc::Receiver<String>, needle: &str) -> Result<String, String> {
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

/// What a process uses, read from `/proc`.
#[derive(Debug, Clone, Copy)]
pub struct Usage {
    /// Resident memory now (`VmRSS`), KiB.
    pub rss_kib: u64,
    /// Peak resident memory (`VmHWM`), KiB.
    pub peak_kib: u64,
    /// Of `rss_kib`, the clean pages of mapped files (`RssFile`: the binary's code, libc), KiB.
    pub file_kib: u64,
    /// User and system CPU time, seconds.
    pub cpu_seconds: f64,
}

/// What `pid` uses now.
pub fn usage(pid: u32) -> Result<Usage, String> {
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
    Ok(Usage {
        rss_kib: field("VmRSS:"),
        peak_kib: field("VmHWM:"),
        file_kib: field("RssFile:"),
        // Linux reports CPU time in clock ticks of 1/100 s.
        cpu_seconds: (tick(11) + tick(12)) as f64 / 100.0,
    })
}

/// A relay process, stopped when dropped.
pub struct RelayProcess {
    pub running: Running,
    /// Its stdout after `Relay ready`. Held, not read: dropping it would stop the thread draining
    /// the pipe, and the relay would block writing its log.
    _lines: mpsc::Receiver<String>,
    /// From spawning the process to its `Relay ready` line.
    pub ready_after: Duration,
}

/// Writes `config` into `dir`, runs the relay on it (its status file in `dir` too) and waits for
/// `Relay ready`.
pub fn start_relay(config: &str, dir: &Path) -> Result<RelayProcess, String> {
    let path = dir.join("relay-config.yaml");
    std::fs::write(&path, config).map_err(|err| format!("{}: {err}", path.display()))?;
    let mut relay = Command::new(relay_binary());
    relay.arg("--config").arg(&path).arg("run");
    relay.env("RELAY_STATUS_FILE", dir.join("status.json"));
    let started = Instant::now();
    let (running, lines) = spawn(relay)?;
    wait_for(&lines, "\"Relay ready\"")?;
    Ok(RelayProcess {
        running,
        _lines: lines,
        ready_after: started.elapsed(),
    })
}

/// Resets the peak resident memory (`VmHWM`) of `pid` to its current RSS, so the next reading is
/// the peak of what ran since (Linux 4.0+, `clear_refs` value 5). False when the kernel refused.
pub fn reset_peak(pid: u32) -> bool {
    std::fs::write(format!("/proc/{pid}/clear_refs"), "5").is_ok()
}
