//! The supervisor's side of the liveness status file: what it writes and when a write failed.

use super::Supervisor;
use crate::status_file::{self, ResourceStatus, Status};
use slog::warn;
use std::path::PathBuf;

/// Where the status file goes, and whether the last write failed (logged once per failure run).
#[derive(Default)]
pub(super) struct StatusFileSink {
    path: Option<PathBuf>,
    failing: bool,
}

impl Supervisor {
    /// Keeps the liveness status file at `path` up to date (see [`crate::status_file`]).
    pub fn with_status_file(mut self, path: PathBuf) -> Self {
        self.status_file.path = Some(path);
        self
    }

    /// Rewrites the status file, if one is configured.
    pub(super) fn write_status(&mut self) {
        let Some(path) = self.status_file.path.clone() else {
            return;
        };
        let status = Status {
            version: env!("CARGO_PKG_VERSION").to_owned(),
            pid: std::process::id(),
            updated_at_ms: status_file::now_ms(),
            connected: self.control_plane_connected,
            ready: self.startup.ready,
            resources: self
                .health
                .values()
                .map(|health| ResourceStatus {
                    id: health.id.clone(),
                    status: health.status.as_str().to_owned(),
                })
                .collect(),
        };
        match status_file::write(&path, &status) {
            Ok(()) => self.status_file.failing = false,
            Err(err) if !self.status_file.failing => {
                self.status_file.failing = true;
                warn!(self.log, "Cannot write the status file; `relay healthcheck` will report unhealthy";
                    "path" => path.display().to_string(), "error" => err.to_string());
            }
            Err(_) => {}
        }
    }
}
