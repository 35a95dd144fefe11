//! The relay's local state end to end: private per-instance directories for relays of different
//! tenants, the probe finding its own relay, one relay per spool, other tenants' spooled records
//! never sent, and links at state paths never followed.

use crate::support::{
    free_port, relay_config, write_config, DevPlane, Process, Relay, TENANT, TOKEN,
};
use relay_actors::log_event::LogEvent;
use serde_json::json;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

const WAIT: Duration = Duration::from_secs(30);

/// A relay configuration for `tenant` on `port` without `spoolPath` (so the default is used).
fn default_paths_config(port: u16, tenant: &str) -> String {
    relay_config(port, "")
        .replace(
            &format!("tenantId: {TENANT}"),
            &format!("tenantId: {tenant}"),
        )
        .replace(
            "  spoolPath: ${RELAY_AUDIT_SPOOL:-/tmp/relay-it-spool.jsonl}\n",
            "",
        )
}

fn with_spool(config: &str, spool: &Path) -> String {
    config.replace(
        "${RELAY_AUDIT_SPOOL:-/tmp/relay-it-spool.jsonl}",
        &spool.display().to_string(),
    )
}

/// `relay healthcheck` with `env`, as a probe in the same container runs it (no flags).
fn probe(env: &[(&str, &Path)]) -> (i32, String) {
    let mut command = Command::new(env!("CARGO_BIN_EXE_relay"));
    command.arg("healthcheck").env_remove("RELAY_STATUS_FILE");
    for (key, value) in env {
        command.env(key, value);
    }
    let output = command.output().unwrap();
    (
        output.status.code().unwrap(),
        String::from_utf8_lossy(&output.stdout).into_owned(),
    )
}

fn mode(path: &Path) -> u32 {
    std::fs::symlink_metadata(path).unwrap().mode() & 0o777
}

fn wait_until(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + WAIT;
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn instance_dirs(base: &Path) -> Vec<PathBuf> {
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(base)
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .collect();
    dirs.sort();
    dirs
}

#[test]
fn two_relays_of_different_tenants_keep_their_state_and_records_apart() {
    let tmp = tempfile::tempdir().unwrap();
    let tmpdir = [("TMPDIR", tmp.path().display().to_string())];
    let plane_a = DevPlane::start_for(0, &[], "tenant-a");
    let plane_b = DevPlane::start_for(0, &[], "tenant-b");
    let relay_a = Relay::start_env(
        &default_paths_config(plane_a.port, "tenant-a"),
        TOKEN,
        &tmpdir,
        false,
    );
    let relay_b = Relay::start_env(
        &default_paths_config(plane_b.port, "tenant-b"),
        TOKEN,
        &tmpdir,
        false,
    );
    relay_a.wait_ready();
    relay_b.wait_ready();
    for plane in [&plane_a, &plane_b] {
        let (_, answer) = plane.operation(json!({"resourceId": "main-pg", "operation": "query",
            "params": {"sql": "SELECT 1"}}));
        assert!(answer["rows"].is_array(), "{answer}");
    }

    let base = tmp.path().join("relay");
    let dirs = instance_dirs(&base);
    assert_eq!(dirs.len(), 2, "{dirs:?}");
    assert_eq!(mode(&base), 0o700);
    for (dir, tenant) in dirs.iter().zip(["tenant-a-", "tenant-b-"]) {
        let name = dir.file_name().unwrap().to_str().unwrap();
        assert!(name.starts_with(tenant), "{name}");
        assert_eq!(mode(dir), 0o700, "{name}");
        for file in ["audit-spool.jsonl", "status.json"] {
            assert_eq!(mode(&dir.join(file)), 0o600, "{name}/{file}");
        }
    }
    for (plane, tenant) in [(&plane_a, "tenant-a"), (&plane_b, "tenant-b")] {
        wait_until("records at the control plane", || {
            plane.audit_records().len() >= 3
        });
        let records = plane.audit_records();
        assert!(
            records.iter().all(|r| r["tenantId"] == tenant),
            "{records:?}"
        );
    }

    // A probe beside both cannot tell which relay is its own, and says so rather than guess.
    let (code, said) = probe(&[("TMPDIR", tmp.path())]);
    assert_eq!(code, 1, "{said}");
    assert!(said.contains("several relays"), "{said}");
    let (code, said) = probe(&[("RELAY_STATUS_FILE", &dirs[0].join("status.json"))]);
    assert_eq!(code, 0, "{said}");
    assert!(said.contains("tenant tenant-a"), "{said}");
    // Once one is gone, the other's file is the only live one.
    let mut relay_b = relay_b;
    relay_b.process.signal("KILL");
    relay_b.process.wait_exit(WAIT);
    let (code, said) = probe(&[("TMPDIR", tmp.path())]);
    assert_eq!(code, 0, "{said}");
    assert!(said.contains("tenant tenant-a"), "{said}");
}

#[test]
fn the_probe_finds_its_relay_without_configuration() {
    let tmp = tempfile::tempdir().unwrap();
    let plane = DevPlane::start();
    let tmpdir = [("TMPDIR", tmp.path().display().to_string())];
    let relay = Relay::start_env(
        &default_paths_config(plane.port, TENANT),
        TOKEN,
        &tmpdir,
        false,
    );
    relay.wait_ready();
    let (code, said) = probe(&[("TMPDIR", tmp.path())]);
    assert_eq!(code, 0, "{said}");
    assert!(
        said.starts_with("ok: relay") && said.contains("connected"),
        "{said}"
    );
    let empty = tempfile::tempdir().unwrap();
    let (code, said) = probe(&[("TMPDIR", empty.path())]);
    assert_eq!(code, 1, "{said}");
    assert!(said.contains("no status file"), "{said}");
}

#[test]
fn a_second_relay_on_the_same_spool_refuses_to_start() {
    let tmp = tempfile::tempdir().unwrap();
    let spool = tmp.path().join("spool.jsonl");
    let plane = DevPlane::start();
    let config = with_spool(&relay_config(plane.port, ""), &spool);
    let first = Relay::start(&config, TOKEN);
    first.wait_ready();
    let mut second = Relay::start(&config, TOKEN);
    assert_eq!(
        second.process.wait_exit(WAIT),
        Some(64),
        "{}",
        second.process.output()
    );
    let line = second
        .process
        .stdout
        .wait_for_msg(LogEvent::CannotStartRelay.as_str(), WAIT)
        .unwrap();
    let error = line["error"].as_str().unwrap();
    let holder = format!("in use by another relay (pid {})", first.process.child.id());
    assert!(error.contains(&holder), "{error}");
    assert!(
        second
            .process
            .stdout
            .count_msg(LogEvent::ConnectedToControlPlane.as_str())
            == 0
    );
}

#[test]
fn spooled_records_of_another_tenant_are_never_sent() {
    let tmp = tempfile::tempdir().unwrap();
    let spool = tmp.path().join("spool.jsonl");
    // A relay of another tenant that never reaches its control plane leaves records behind.
    let nowhere = free_port();
    let other = with_spool(
        &relay_config(nowhere, "")
            .replace(&format!("tenantId: {TENANT}"), "tenantId: tenant-other"),
        &spool,
    );
    let mut left = Relay::start(&other, TOKEN);
    wait_until("the other tenant's records in the spool", || {
        std::fs::read_to_string(&spool).is_ok_and(|text| text.lines().count() >= 2)
    });
    left.process.signal("TERM");
    assert_eq!(
        left.process.wait_exit(WAIT),
        Some(0),
        "{}",
        left.process.output()
    );

    let plane = DevPlane::start();
    let relay = Relay::start(&with_spool(&relay_config(plane.port, ""), &spool), TOKEN);
    relay.wait_ready();
    let warning = relay
        .process
        .stdout
        .wait_for_msg(
            LogEvent::AuditSpoolHeldRecordsOfAnotherTenant.as_str(),
            WAIT,
        )
        .unwrap();
    assert!(warning["records"].as_u64().unwrap() >= 2, "{warning}");
    plane.operation(
        json!({"resourceId": "main-pg", "operation": "query", "params": {"sql": "SELECT 1"}}),
    );
    wait_until("this relay's records", || plane.audit_records().len() >= 4);
    let records = plane.audit_records();
    assert!(
        records.iter().all(|r| r["tenantId"] == TENANT),
        "{records:?}"
    );
}

#[test]
fn links_at_state_paths_are_never_followed() {
    let tmp = tempfile::tempdir().unwrap();
    let victim = tmp.path().join("victim");
    std::fs::write(&victim, "precious\n").unwrap();
    let spool = tmp.path().join("spool.jsonl");
    let status = tmp.path().join("status.json");
    std::os::unix::fs::symlink(&victim, &spool).unwrap();
    std::os::unix::fs::symlink(&victim, &status).unwrap();
    let plane = DevPlane::start();
    let env = [("RELAY_STATUS_FILE", status.display().to_string())];
    let relay = Relay::start_env(
        &with_spool(&relay_config(plane.port, ""), &spool),
        TOKEN,
        &env,
        false,
    );
    let line = relay
        .process
        .stdout
        .wait_for_msg(LogEvent::AuditTrailUnavailable.as_str(), WAIT)
        .unwrap();
    assert!(
        line["error"].as_str().unwrap().contains("symbolic links"),
        "{line}"
    );
    wait_until("a status file written", || {
        std::fs::symlink_metadata(&status).is_ok_and(|m| m.file_type().is_file())
    });
    assert_eq!(std::fs::read_to_string(&victim).unwrap(), "precious\n");
    assert_eq!(mode(&status), 0o600);
}

/// Keeps `relay check` honest about the same paths: it names the directory that does not exist.
#[test]
fn check_reports_a_missing_audit_directory_as_run_does() {
    let tmp = tempfile::tempdir().unwrap();
    let plane = DevPlane::start();
    let audit_file = tmp.path().join("later").join("audit.jsonl");
    let config = relay_config(plane.port, "").replace(
        "audit:\n  enabled: true\n",
        &format!(
            "audit:\n  enabled: true\n  file: {}\n",
            audit_file.display()
        ),
    );
    let (_dir, path) = write_config(&config);
    let mut command = Command::new(env!("CARGO_BIN_EXE_relay"));
    command
        .args(["check", "--config"])
        .arg(&path)
        .env("RELAY_TOKEN", TOKEN)
        .env("RELAY_STATUS_FILE", tmp.path().join("status.json"));
    let mut check = Process::spawn(command);
    assert_eq!(check.wait_exit(WAIT), Some(64), "{}", check.output());
    let expected = format!(
        "audit: cannot open audit file {}: No such file or directory (os error 2) (relay run logs \
         \"Audit trail unavailable: operations are refused\")",
        audit_file.display()
    );
    assert!(check.output().contains(&expected), "{}", check.output());
    assert!(!audit_file.parent().unwrap().exists());
}
