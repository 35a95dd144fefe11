//! The supervisor's side of readiness: the startup lines up to `Relay ready`, the control-plane
//! link's state (connected, standing by), and the liveness status file (what it writes, and when a
//! write failed).

use super::status_writer::{AfterWrite, StatusWriter};
use super::Supervisor;
use crate::local_state::StatePath;
use crate::log_event::LogEvent;
use crate::messages::RoleChanged;
use crate::protocol::HealthStatus;
use crate::status_file::{self, AuditStatus, ResourceStatus, Status};
use actix::{Context, Handler};
use slog::{info, warn};

/// Where the status file goes, and the writer that writes it there (started with the first
/// status, on the actor system).
#[derive(Default)]
pub(super) struct StatusFileSink {
    path: Option<StatePath>,
    writer: Option<StatusWriter>,
}

/// The control-plane session as the supervisor knows it.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub(super) struct LinkState {
    pub connected: bool,
    /// The control plane said another relay of the tenant is active.
    pub standby: bool,
}

impl LinkState {
    /// A fresh session: active until the control plane says otherwise (a control plane without
    /// standby support never does).
    pub fn connected() -> Self {
        LinkState {
            connected: true,
            standby: false,
        }
    }
}

impl Handler<RoleChanged> for Supervisor {
    type Result = ();

    fn handle(&mut self, changed: RoleChanged, _ctx: &mut Context<Self>) {
        if self.control_plane_link.connected {
            self.control_plane_link.standby = changed.standby;
            self.write_status();
        }
    }
}

impl Supervisor {
    /// Prints `Resource healthy` per resource and then `Relay ready`, once, after the first connect
    /// and once the audit trail can record (until then every operation would be refused).
    pub(super) fn announce_startup(&mut self) {
        if self.startup.ready || !self.startup.connected {
            return;
        }
        for (id, health) in &self.health {
            if health.status == HealthStatus::Unknown || self.startup.announced.contains(id) {
                continue;
            }
            let kind = self
                .resources
                .get(id)
                .map(|c| c.spec.kind.to_string())
                .unwrap_or_default();
            if health.status == HealthStatus::Healthy {
                // slog emits a record's fields in reverse, so this prints resourceId, then type.
                info!(self.log, "{}", LogEvent::ResourceHealthy; "type" => kind, "resourceId" => id.clone());
            } else {
                warn!(self.log, "{}", LogEvent::ResourceUnhealthy; "resourceId" => id.clone(), "type" => kind,
                    "error" => health.error.clone().unwrap_or_default());
            }
            self.startup.announced.insert(id.clone());
        }
        let audit_ready = self.audit_status.as_ref().is_some_and(|a| a.available);
        if self.startup.announced.len() == self.resources.len() && audit_ready {
            self.startup.ready = true;
            // Said once the status file says so, for whoever reads the file on seeing the line.
            let log = self.log.clone();
            let announce: AfterWrite = Box::new(move || info!(log, "{}", LogEvent::RelayReady));
            if !self.write_status_then(Some(announce)) {
                info!(self.log, "{}", LogEvent::RelayReady);
            }
        }
    }

    /// Keeps the liveness status file at `path` up to date (see [`crate::status_file`]).
    pub fn with_status_file(mut self, path: StatePath) -> Self {
        self.status_file.path = Some(path);
        self
    }

    /// Rewrites the status file, if one is configured.
    pub(super) fn write_status(&mut self) {
        self.write_status_then(None);
    }

    /// Rewrites the status file and then runs `after`; returns false (without running it) when
    /// no status file is configured.
    fn write_status_then(&mut self, after: Option<AfterWrite>) -> bool {
        let Some(path) = self.status_file.path.clone() else {
            return false;
        };
        let audit = match &self.audit_status {
            Some(audit) => AuditStatus {
                available: audit.available,
                error: audit.error.clone(),
            },
            None => AuditStatus {
                available: false,
                error: Some("the audit trail is starting".into()),
            },
        };
        let status = Status {
            version: env!("CARGO_PKG_VERSION").to_owned(),
            pid: std::process::id(),
            updated_at_ms: status_file::now_ms(),
            connected: self.control_plane_link.connected,
            standby: self.control_plane_link.standby,
            ready: self.startup.ready,
            tenant_id: self.config.control_plane.tenant_id.clone(),
            audit,
            resources: self
                .health
                .values()
                .map(|health| ResourceStatus {
                    id: health.id.clone(),
                    status: health.status.as_str().to_owned(),
                })
                .collect(),
        };
        let log = &self.log;
        self.status_file
            .writer
            .get_or_insert_with(|| StatusWriter::start(path, log.clone()))
            .write(status, after);
        true
    }
}
