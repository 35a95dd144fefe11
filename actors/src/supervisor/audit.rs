//! The supervisor's side of the audit trail: starting the auditor and turning what happens to the
//! relay into security events. Records and acknowledgements go between the auditor and the control
//! plane directly.

use super::children::{keep_started, ChildName};
use super::Supervisor;
use crate::audit::{AuditOutbox, Auditor, Forwarder, SecurityEvent, SecurityKind};
use crate::messages::{AuditLink, AuditStatusChanged, AuthRejected, Security};
use actix::{Actor, AsyncContext, Context, Handler};
use actix_rt::Arbiter;
use std::sync::Arc;

impl Supervisor {
    /// Records a security event; `details` is a JSON object.
    pub(super) fn audit_security(
        &self,
        kind: SecurityKind,
        details: serde_json::Value,
        alarming: bool,
    ) {
        if let Some(auditor) = &self.auditor {
            auditor.do_send(Security {
                event: SecurityEvent {
                    kind,
                    details,
                    alarming,
                },
            });
        }
    }

    /// Starts an auditor in place of one that is not running (the first, or one that stopped).
    /// It runs on a thread of its own, so its file and spool writes (and a disk that stalls
    /// them) never hold up the thread that routes requests.
    pub(super) fn ensure_auditor(&mut self, ctx: &mut Context<Self>) -> bool {
        let thread = self
            .audit_thread
            .get_or_insert_with(|| Arbiter::new().handle())
            .clone();
        let started = keep_started(
            &mut self.auditor,
            ChildName::new("auditor"),
            &self.log,
            || {
                let outbox = AuditOutbox {
                    forward: Forwarder::following(self.publisher.audit_destination()),
                    status: ctx.address().recipient(),
                };
                let auditor = Auditor::new(
                    self.config.audit.clone(),
                    self.config.control_plane.tenant_id.clone(),
                    Arc::clone(&self.masking),
                    self.log.clone(),
                    Some(outbox),
                )
                .with_metrics(Arc::clone(&self.metrics))
                .with_gate(self.audit_gate.clone());
                Auditor::start_in_arbiter(&thread, move |_| auditor)
            },
        );
        if started {
            self.auditor_started();
        }
        started
    }

    /// What a fresh audit chain records first, and the link state it must know.
    fn auditor_started(&self) {
        let (file, sha256) = self.config_source.clone().unwrap_or_default();
        let details = serde_json::json!({"file": file, "sha256": sha256,
            "resources": self.resources.len(), "maskingEnabled": self.config.masking.enabled});
        self.audit_security(SecurityKind::ConfigLoaded, details, false);
        if self.control_plane_link.connected {
            if let Some(auditor) = &self.auditor {
                auditor.do_send(AuditLink { connected: true });
            }
        }
    }
}

impl Handler<AuthRejected> for Supervisor {
    type Result = ();

    fn handle(&mut self, rejected: AuthRejected, _ctx: &mut Context<Self>) {
        let details = serde_json::json!({"detail": rejected.detail});
        self.audit_security(SecurityKind::AuthFailed, details, true);
    }
}

impl Handler<AuditStatusChanged> for Supervisor {
    type Result = ();

    fn handle(&mut self, changed: AuditStatusChanged, _ctx: &mut Context<Self>) {
        let availability_changed = self.audit_status.as_ref().is_none_or(|old| {
            old.available != changed.status.available || old.error != changed.status.error
        });
        let worth_reporting = availability_changed
            || self
                .audit_status
                .as_ref()
                .is_some_and(|old| old.dropped != changed.status.dropped);
        self.audit_status = Some(changed.status);
        if worth_reporting {
            self.report_health();
        }
        if availability_changed {
            // `Relay ready` waits for the audit trail; the probe reads its state from the file.
            self.announce_startup();
            self.write_status();
        }
    }
}
