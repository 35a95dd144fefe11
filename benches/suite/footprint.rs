//! The relay's footprint beside the product's resource budget: time from process start to `Relay
//! ready`, resident memory and CPU while idle, and the size of the (stripped) binary. The relay runs
//! as deployed: its own process, the development control plane, the local PostgreSQL.

use crate::process::{relay_binary, spawn, start_relay, usage, wait_for};
use crate::report::{mib, Section};
use std::path::Path;
use std::process::Command;
use std::time::Duration;

const TOKEN: &str = "bench-relay-token";
const TENANT: &str = "bench";

fn config(port: u16, dir: &Path) -> String {
    format!(
        "controlPlane:\n  url: ws://127.0.0.1:{port}/v1/relay/connect\n  token: {TOKEN}\n  tenantId: {TENANT}\n\
         resources:\n  - id: main-pg\n    type: postgres\n    connection: {{host: 127.0.0.1, port: 5432, \
         database: postgres, user: postgres}}\n    allowPrivilegedUser: true\n\
         audit:\n  spoolPath: {}\n",
        dir.join("spool.jsonl").display()
    )
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
    let relay = start_relay(&config(port, dir.path()), dir.path())?;
    let (ready, pid) = (relay.ready_after, relay.running.0.id());
    let before = usage(pid)?;
    std::thread::sleep(idle);
    let after = usage(pid)?;
    let (rss, hwm) = (after.rss_kib, after.peak_kib);
    let cpu_seconds = after.cpu_seconds - before.cpu_seconds;
    let binary = std::fs::metadata(relay_binary()).map_or(0, |m| m.len());
    let mut section = Section::new(
        "Footprint (idle relay, one PostgreSQL resource, connected)",
        &["Measure", "Relay", "Product budget", "Target"],
    );
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
        "<= 12 MiB".into(),
    ]);
    section.row([
        "of which mapped files (the binary's code and data, libc)".into(),
        mib(after.file_kib),
        String::new(),
        String::new(),
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
    section.note("Mapped files count the pages the kernel maps around each page of code that runs (64 KiB, or a whole page-cache folio): link/idle-text.ld keeps the code that runs together.");
    Ok(section)
}
