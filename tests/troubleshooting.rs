//! The troubleshooting table of `docs/deployment.md` against what the relay really prints. Each
//! case puts the relay into one condition and checks the line it logs: its message is in the
//! table, at the table's level, and words of it appear in the row too; where `relay check` (or
//! `check --connect`) should see the condition, it must print the same reason.
//!
//! To cover another row, add a [`Case`] to [`CASES`] (database conditions are in
//! [`crate::troubleshooting_db::CASES`], TLS and proxy cases in `troubleshooting/egress_cases.rs`).

mod egress_cases;

use crate::pg_fixture::READER;
use crate::support::{free_port, relay_config, DevPlane, Relay, PROXY_VARIABLES, TOKEN};
use relay_actors::log_event::LogEvent;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

const WAIT: Duration = Duration::from_secs(30);

/// What a case needs: a private directory and a running development control plane.
pub struct Scene {
    dir: tempfile::TempDir,
    pub plane: DevPlane,
}

impl Scene {
    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }
}

/// How the relay is started for a case.
pub struct Setup {
    config: String,
    env: Vec<(&'static str, String)>,
    /// What the condition needs while the relay runs (another relay, a database server, a
    /// proxy, a TLS server).
    keep: Vec<Box<dyn std::any::Any>>,
}

impl Setup {
    pub fn config(config: String) -> Setup {
        Setup {
            config,
            env: Vec::new(),
            keep: Vec::new(),
        }
    }

    pub fn env(mut self, key: &'static str, value: impl Into<String>) -> Setup {
        self.env.push((key, value.into()));
        self
    }

    /// Keeps `thing` (a server the condition needs) alive while the relay runs.
    pub fn keep(mut self, thing: impl std::any::Any) -> Setup {
        self.keep.push(Box::new(thing));
        self
    }
}

/// Whether `relay check` must print the same reason.
#[derive(Clone, Copy, PartialEq)]
pub enum Check {
    No,
    Local,
    Connect,
}

pub struct Case {
    pub name: &'static str,
    /// The message and the level the relay logs.
    pub msg: &'static str,
    pub level: &'static str,
    /// Words of the logged line that the table's row must show as well.
    pub says: &'static str,
    pub setup: fn(&Scene) -> Setup,
    /// What happens once the relay runs (a signal, a directory created).
    pub poke: fn(&Scene, &Relay),
    pub check: Check,
    /// The logged field whose text `relay check` prints.
    pub reason_field: &'static str,
}

fn plain(scene: &Scene) -> String {
    relay_config(scene.plane.port, "")
}

fn with_audit_file(scene: &Scene) -> Setup {
    let file = scene.path("later").join("audit.jsonl");
    Setup::config(plain(scene).replace(
        "audit:\n  enabled: true\n",
        &format!("audit:\n  enabled: true\n  file: {}\n", file.display()),
    ))
}

fn not_pem(scene: &Scene) -> PathBuf {
    let path = scene.path("ca.pem");
    std::fs::write(&path, "not a certificate\n").unwrap();
    path
}

pub fn nothing(_: &Scene, _: &Relay) {}

const CASES: &[Case] = &[
    Case {
        name: "audit file in a missing directory",
        msg: "Audit trail unavailable: operations are refused",
        level: "error",
        says: "No such file or directory (os error 2)",
        setup: with_audit_file,
        poke: nothing,
        check: Check::Local,
        reason_field: "error",
    },
    Case {
        name: "the directory appears later",
        msg: "Audit trail available again",
        level: "info",
        says: "previousError",
        setup: with_audit_file,
        poke: |scene, relay| {
            let _ = relay
                .process
                .stdout
                .wait_for_msg(LogEvent::AuditTrailUnavailable.as_str(), WAIT);
            std::fs::create_dir(scene.path("later")).unwrap();
        },
        check: Check::No,
        reason_field: "",
    },
    Case {
        name: "a spool another relay holds",
        msg: "Cannot start relay",
        level: "error",
        says: "in use by another relay",
        setup: |scene| {
            let spool = scene.path("shared-spool.jsonl").display().to_string();
            let holder = Relay::start_env(
                &plain(scene),
                TOKEN,
                &[("RELAY_AUDIT_SPOOL", spool.clone())],
                true,
            );
            holder.wait_ready();
            Setup::config(plain(scene))
                .env("RELAY_AUDIT_SPOOL", spool)
                .keep(holder)
        },
        poke: nothing,
        check: Check::No,
        reason_field: "",
    },
    Case {
        name: "a control-plane CA file that is not PEM",
        msg: "Cannot start relay",
        level: "error",
        says: "no PEM certificate found",
        setup: |scene| {
            let ca = not_pem(scene);
            Setup::config(relay_config(
                scene.plane.port,
                &format!("  caFile: {}\n", ca.display()),
            ))
        },
        poke: nothing,
        check: Check::Local,
        reason_field: "error",
    },
    Case {
        name: "a database CA file that is not PEM",
        msg: "Resource unhealthy",
        level: "warn",
        says: "connection.caFile",
        setup: |scene| {
            let ca = not_pem(scene);
            let user = format!("      user: {READER}\n");
            Setup::config(
                plain(scene).replace(&user, &format!("{user}      caFile: {}\n", ca.display())),
            )
        },
        poke: nothing,
        check: Check::Local,
        reason_field: "error",
    },
    Case {
        name: "an unreachable control plane",
        msg: "Cannot connect to control plane",
        level: "warn",
        says: "Connection refused",
        setup: |_| Setup::config(relay_config(free_port(), "")),
        poke: nothing,
        check: Check::Connect,
        reason_field: "error",
    },
    Case {
        name: "debug logging of a refused connection",
        msg: "Control plane connection attempt failed",
        level: "debug",
        says: "Connection refused",
        setup: |_| Setup::config(relay_config(free_port(), "")).env("RELAY_LOG_LEVEL", "debug"),
        poke: nothing,
        check: Check::No,
        reason_field: "",
    },
    Case {
        name: "a status file in a missing directory",
        msg: "Cannot write the status file; `relay healthcheck` will report unhealthy",
        level: "warn",
        says: "No such file or directory (os error 2)",
        setup: |scene| {
            let status = scene.path("missing").join("status.json");
            Setup::config(plain(scene)).env("RELAY_STATUS_FILE", status.display().to_string())
        },
        poke: nothing,
        check: Check::Local,
        reason_field: "error",
    },
    Case {
        name: "an unknown log level",
        msg: "Invalid log level",
        level: "error",
        says: "unknown log level",
        setup: |scene| Setup::config(plain(scene)).env("RELAY_LOG_LEVEL", "verbose"),
        poke: nothing,
        check: Check::Local,
        reason_field: "problem",
    },
    Case {
        name: "SIGHUP",
        msg: "Configuration reloaded",
        level: "info",
        says: "SIGHUP",
        setup: |scene| Setup::config(plain(scene)),
        poke: |_, relay| {
            relay.wait_ready();
            relay.process.signal("HUP");
        },
        check: Check::No,
        reason_field: "",
    },
    Case {
        name: "a reload that changes the tenant",
        msg: "Configuration rejected",
        level: "error",
        says: "restart the relay to apply it",
        setup: |scene| Setup::config(plain(scene)),
        poke: |_, relay| {
            relay.wait_ready();
            let path = relay.dir().join("relay-config.yaml");
            let text = std::fs::read_to_string(&path).unwrap();
            std::fs::write(
                &path,
                text.replace("tenantId: tenant-test", "tenantId: other"),
            )
            .unwrap();
            relay.process.signal("HUP");
        },
        check: Check::No,
        reason_field: "",
    },
    Case {
        name: "another tenant's records in the spool",
        msg: "Audit spool held records of another tenant; they are not sent",
        level: "warn",
        says: "records",
        setup: |scene| {
            let spool = scene.path("spool.jsonl");
            std::fs::write(
                &spool,
                "{\"tenantId\":\"someone-else\",\"chainId\":\"c\",\"seq\":0}\n",
            )
            .unwrap();
            Setup::config(plain(scene)).env("RELAY_AUDIT_SPOOL", spool.display().to_string())
        },
        poke: nothing,
        check: Check::No,
        reason_field: "",
    },
];

/// One row of the table: the messages of its first cell, its levels, and its whole text.
struct Row {
    messages: Vec<String>,
    levels: Vec<String>,
    text: String,
}

/// The rows of the troubleshooting table.
fn table() -> Vec<Row> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/deployment.md");
    let doc = std::fs::read_to_string(path).unwrap();
    let section = doc.split("## Troubleshooting").nth(1).unwrap();
    section
        .lines()
        .filter(|line| line.starts_with("| `"))
        .map(|line| {
            let text = line.replace("\\`", "\u{1}");
            let cells: Vec<&str> = text.split(" | ").collect();
            let messages = cells[0]
                .split('`')
                .skip(1)
                .step_by(2)
                .filter(|span| span.starts_with(|c: char| c.is_ascii_uppercase()))
                .map(|span| span.replace('\u{1}', "`"))
                .collect();
            let levels = cells[1].split('/').map(|l| l.trim().to_owned()).collect();
            Row {
                messages,
                levels,
                text: text.replace('\u{1}', "`"),
            }
        })
        .collect()
}

/// Runs one case; the problems found, if any.
fn run_case(case: &Case, rows: &[Row]) -> Vec<String> {
    let mut found = Vec::new();
    let scene = Scene {
        dir: tempfile::tempdir().unwrap(),
        plane: DevPlane::start(),
    };
    let setup = (case.setup)(&scene);
    let relay = Relay::start_env(&setup.config, TOKEN, &setup.env, true);
    (case.poke)(&scene, &relay);
    let Some(line) = relay.process.stdout.wait_for_msg(case.msg, WAIT) else {
        return vec![format!(
            "never logged {:?}:\n{}",
            case.msg,
            relay.process.output()
        )];
    };
    let raw = line.to_string();
    // A message may have several rows, one per cause; the case's words pick the row.
    let candidates: Vec<&Row> = rows
        .iter()
        .filter(|row| row.messages.iter().any(|m| m == case.msg))
        .collect();
    if candidates.is_empty() {
        return vec![format!("{:?} is not in the table", case.msg)];
    }
    let row = candidates
        .iter()
        .find(|row| row.text.contains(case.says))
        .unwrap_or(&candidates[0]);
    let level = line["level"].as_str().unwrap_or_default();
    if level != case.level {
        found.push(format!("logged at {level}, not {}", case.level));
    }
    if !row.levels.iter().any(|l| l == level) {
        found.push(format!(
            "logged at {level}, the table says {:?}",
            row.levels
        ));
    }
    if !raw.contains(case.says) {
        found.push(format!("the line does not say {:?}: {raw}", case.says));
    }
    if !row.text.contains(case.says) {
        found.push(format!("no row of the table says {:?}", case.says));
    }
    if case.check != Check::No {
        let reason = line[case.reason_field].as_str().unwrap_or_default();
        let printed = check_output(&relay, &setup, case.check == Check::Connect);
        if reason.is_empty() || !printed.contains(reason) || !printed.contains(case.msg) {
            found.push(format!(
                "relay check does not print {reason:?} and {:?}:\n{printed}",
                case.msg
            ));
        }
    }
    drop(setup.keep);
    found
}

/// What `relay check` prints for the relay's own configuration and environment.
fn check_output(relay: &Relay, setup: &Setup, connect: bool) -> String {
    let mut command = Command::new(env!("CARGO_BIN_EXE_relay"));
    command.arg("check");
    if connect {
        command.arg("--connect");
    }
    command
        .arg("--config")
        .arg(relay.dir().join("relay-config.yaml"))
        .env("RELAY_TOKEN", TOKEN)
        .env("RELAY_AUDIT_SPOOL", relay.dir().join("audit-spool.jsonl"))
        .env("RELAY_STATUS_FILE", relay.dir().join("status.json"))
        .env_remove("RELAY_LOG_LEVEL");
    for name in PROXY_VARIABLES {
        command.env_remove(name);
    }
    for (key, value) in &setup.env {
        command.env(key, value);
    }
    let output = command.output().unwrap();
    format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

#[test]
fn the_troubleshooting_table_says_what_the_relay_prints() {
    let rows = table();
    assert!(rows.len() > 30, "the table was not found");
    let mut problems = Vec::new();
    let all = CASES
        .iter()
        .chain(crate::troubleshooting_db::CASES)
        .chain(egress_cases::CASES);
    for case in all {
        for problem in run_case(case, &rows) {
            problems.push(format!("{}: {problem}", case.name));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n\n"));
}
