//! A spool that fills up: on a small tmpfs (ENOSPC) and at `audit.maxSpoolBytes`, with a control
//! plane that never acknowledges. Operations are refused with the reason, a restart on the full
//! file system still starts, and acknowledgements heal the trail without a restart.

use crate::fake_control_plane::FakeControlPlane;
use crate::support::{relay_config, Relay, TOKEN};
use relay_actors::log_event::LogEvent;
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

const WAIT: Duration = Duration::from_secs(30);

/// A tmpfs of `size` mounted at a fresh directory, unmounted on drop; `None` where this process
/// may not mount (not root, no tmpfs), and the test says it was skipped.
struct Tmpfs {
    path: PathBuf,
    _dir: tempfile::TempDir,
}

impl Tmpfs {
    fn mount(size: &str) -> Option<Tmpfs> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("tmpfs");
        std::fs::create_dir(&path).unwrap();
        let mounted = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(&path)
            .status()
            .is_ok_and(|status| status.success());
        if !mounted {
            eprintln!("skipped: cannot mount a tmpfs here (needs root)");
            return None;
        }
        Some(Tmpfs { path, _dir: dir })
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.path).status();
    }
}

fn config(port: u16, spool: &Path, extra_audit: &str) -> String {
    relay_config(port, "").replace(
        "  spoolPath: ${RELAY_AUDIT_SPOOL:-/tmp/relay-it-spool.jsonl}\n",
        &format!("  spoolPath: {}\n{extra_audit}", spool.display()),
    )
}

fn connected(config: &str) -> (FakeControlPlane, Relay) {
    let plane = FakeControlPlane::start();
    let relay = Relay::start(
        &config.replace("127.0.0.1:0/", &format!("127.0.0.1:{}/", plane.port)),
        TOKEN,
    );
    assert_eq!(plane.next_reply(WAIT)["type"], "hello");
    (plane, relay)
}

/// Sends requests of about 15 kB of statement (refused as unknown_resource, but each recorded)
/// until one is answered `audit_unavailable`; returns how many were answered otherwise and that
/// refusal's message.
fn fill(plane: &FakeControlPlane) -> (usize, String) {
    let sql = format!("SELECT '{}'", "x".repeat(15_000));
    for n in 0..4000 {
        let request = json!({"type": "request", "id": format!("fill-{n}"), "resourceId": "nowhere",
            "operation": "query", "params": {"sql": sql}});
        plane.send_text(&request.to_string());
        let reply = plane.next_reply(WAIT);
        if reply["code"] == "audit_unavailable" {
            return (n, reply["message"].as_str().unwrap_or_default().to_owned());
        }
        assert_eq!(reply["code"], "unknown_resource", "{reply}");
    }
    panic!("the spool never filled");
}

fn ask(plane: &FakeControlPlane, id: &str) -> Value {
    let request = json!({"type": "request", "id": id, "resourceId": "nowhere",
        "operation": "query", "params": {"sql": "SELECT 1"}});
    plane.send_text(&request.to_string());
    plane.next_reply(WAIT)
}

/// Acknowledges, as a control plane that stored them would, every record in the spool file.
fn acknowledge_everything(plane: &FakeControlPlane, spool: &Path) {
    let mut last: BTreeMap<String, u64> = BTreeMap::new();
    for line in std::fs::read_to_string(spool).unwrap().lines() {
        let Ok(record) = serde_json::from_str::<Value>(line) else {
            continue;
        };
        if let (Some(chain), Some(seq)) = (record["chainId"].as_str(), record["seq"].as_u64()) {
            let entry = last.entry(chain.to_owned()).or_default();
            *entry = (*entry).max(seq);
        }
    }
    assert!(!last.is_empty());
    for (chain, seq) in last {
        plane.send_text(&json!({"type": "auditAck", "chainId": chain, "seq": seq}).to_string());
    }
}

#[test]
fn a_full_tmpfs_refuses_operations_and_a_restart_still_opens_the_spool() {
    let Some(tmpfs) = Tmpfs::mount("8m") else {
        return;
    };
    let spool = tmpfs.path.join("spool.jsonl");
    let config = config(0, &spool, "");
    let (plane, mut relay) = connected(&config);
    let (answered, first_refusal) = fill(&plane);
    assert!(answered > 100, "{answered} records filled 8 MiB");
    assert!(
        first_refusal.contains("No space left on device"),
        "{first_refusal}"
    );
    let next = ask(&plane, "after-full");
    assert_eq!(next["code"], "audit_unavailable", "{next}");
    assert!(
        next["message"]
            .as_str()
            .unwrap()
            .contains("No space left on device"),
        "{next}"
    );

    relay.process.signal("KILL");
    relay.process.wait_exit(WAIT);
    drop(plane);
    let (plane, relay) = connected(&config);
    let unavailable = relay
        .process
        .stdout
        .wait_for_msg(LogEvent::AuditTrailUnavailable.as_str(), WAIT)
        .unwrap();
    let error = unavailable["error"].as_str().unwrap();
    assert!(
        error.contains("no space left on its file system"),
        "{error}"
    );
    assert_eq!(
        relay
            .process
            .stdout
            .count_msg(LogEvent::CannotStartRelay.as_str()),
        0
    );
    assert_eq!(ask(&plane, "while-full")["code"], "audit_unavailable");

    acknowledge_everything(&plane, &spool);
    relay
        .process
        .stdout
        .wait_for_msg(LogEvent::AuditTrailAvailableAgain.as_str(), WAIT)
        .unwrap_or_else(|| panic!("{}", relay.process.output()));
    relay.wait_ready();
    assert_eq!(ask(&plane, "healed")["code"], "unknown_resource");
}

#[test]
fn max_spool_bytes_refuses_operations_with_the_reason_until_acknowledged() {
    let dir = tempfile::tempdir().unwrap();
    let spool = dir.path().join("spool.jsonl");
    let config = config(0, &spool, "  maxSpoolBytes: 1048576\n");
    let (plane, relay) = connected(&config);
    let (answered, refusal) = fill(&plane);
    assert!(
        (40..70).contains(&answered),
        "{answered} records of 15 kB in 1 MiB"
    );
    assert!(refusal.contains("the audit spool is full"), "{refusal}");
    assert!(
        refusal.contains("audit.maxSpoolBytes is 1048576"),
        "{refusal}"
    );
    assert!(std::fs::metadata(&spool).unwrap().len() <= 1 << 20);
    acknowledge_everything(&plane, &spool);
    let mut reply = ask(&plane, "after-ack-0");
    for n in 1..200 {
        if reply["code"] != "audit_unavailable" {
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
        reply = ask(&plane, &format!("after-ack-{n}"));
    }
    assert_eq!(reply["code"], "unknown_resource", "{reply}");
    drop(relay);
}
