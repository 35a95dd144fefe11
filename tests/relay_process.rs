//! A relay process for tests: started with a configuration in its own temporary directory, with
//! its own spool and status file there unless a test wants the defaults.

use crate::support::{write_config, Process, PROXY_VARIABLES};
use relay_actors::log_event::LogEvent;
use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

/// A running relay.
pub struct Relay {
    pub process: Process,
    _dir: tempfile::TempDir,
}

impl Relay {
    /// The audit records the relay logged on stdout so far, in order.
    pub fn stdout_audit_records(&self) -> Vec<serde_json::Value> {
        self.process
            .stdout
            .all()
            .iter()
            .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
            .filter(|line| line["log"] == "audit")
            .map(|line| line["record"].clone())
            .collect()
    }

    pub fn start(config: &str, token: &str) -> Relay {
        Self::start_env(config, token, &[], true)
    }

    /// Starts with extra environment variables; without `own_paths` the relay gets no
    /// `RELAY_AUDIT_SPOOL` or `RELAY_STATUS_FILE`, so it uses its defaults (or what `env` says).
    pub fn start_env(config: &str, token: &str, env: &[(&str, String)], own_paths: bool) -> Relay {
        let (dir, path) = write_config(config);
        let mut command = Command::new(env!("CARGO_BIN_EXE_relay"));
        command
            .arg("--config")
            .arg(&path)
            .arg("run")
            .env("RELAY_TOKEN", token)
            .env_remove("RELAY_AUDIT_SPOOL")
            .env_remove("RELAY_STATUS_FILE")
            .env_remove("RELAY_LOG_LEVEL");
        for name in PROXY_VARIABLES {
            command.env_remove(name);
        }
        if own_paths {
            command
                .env("RELAY_AUDIT_SPOOL", dir.path().join("audit-spool.jsonl"))
                .env("RELAY_STATUS_FILE", dir.path().join("status.json"));
        }
        for (key, value) in env {
            command.env(key, value);
        }
        Relay {
            process: Process::spawn(command),
            _dir: dir,
        }
    }

    /// The directory holding this relay's configuration (and, by default, its own paths).
    pub fn dir(&self) -> &std::path::Path {
        self._dir.path()
    }

    /// The liveness status file this relay keeps.
    pub fn status_file(&self) -> PathBuf {
        self._dir.path().join("status.json")
    }

    pub fn wait_ready(&self) {
        if self
            .process
            .stdout
            .wait_for_msg(LogEvent::RelayReady.as_str(), Duration::from_secs(30))
            .is_none()
        {
            panic!("relay not ready:\n{}", self.process.output());
        }
    }
}
