//! The audit trail: one tamper-evident record per operation and per security event, written in
//! order to stdout (marked `"log":"audit"`), to an optional file, and to the control plane, with
//! what it has not acknowledged spooled so an outage loses nothing.

pub mod chain;
pub mod record;
pub mod spool;

use crate::masking::MaskingEngine;
use crate::messages::{
    AuditAcked, AuditLink, AuditReady, AuditStatusChanged, AuditUnavailable, ForwardAudit, Record,
    Security,
};
use crate::protocol::{AuditHealth, MaskedCounts};
use crate::time::now_rfc3339;
use actix::{Actor, Context, Handler, Recipient};
use chain::Chain;
use record::{fingerprint, genesis_body, operation_body, security_body, StatementField};
pub use record::{AuditRecord, Outcome, SecurityEvent, SecurityKind};
use relay_config::{Audit, AuditLevel};
use serde_json::{Map, Value};
use slog::{error, info, warn, Logger};
use spool::Spool;
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// `records_dropped` is recorded at most this often while the spool overflows.
const DROP_REPORT_INTERVAL: Duration = Duration::from_secs(60);

/// Where the auditor sends records for the control plane and reports its state.
pub struct AuditOutbox {
    pub forward: Recipient<ForwardAudit>,
    pub status: Recipient<AuditStatusChanged>,
}

/// The audit actor.
pub struct Auditor {
    settings: Audit,
    tenant_id: String,
    masking: Arc<MaskingEngine>,
    log: Logger,
    outbox: Option<AuditOutbox>,
    chain: Chain,
    file: Option<File>,
    spool: Option<Spool>,
    connected: bool,
    /// Why records cannot be written; while set, operations are refused.
    failure: Option<String>,
    dropped_reported: u64,
    last_drop_report: Option<Instant>,
}

impl Auditor {
    pub fn new(
        settings: Audit,
        tenant_id: String,
        masking: Arc<MaskingEngine>,
        log: Logger,
        outbox: Option<AuditOutbox>,
    ) -> Self {
        let chain_id = format!("{}-{:016x}", now_rfc3339(), fastrand::u64(..));
        Auditor {
            settings,
            tenant_id,
            masking,
            log,
            outbox,
            chain: Chain::new(chain_id),
            file: None,
            spool: None,
            connected: false,
            failure: None,
            dropped_reported: 0,
            last_drop_report: None,
        }
    }

    /// Opens the file sink and the spool; a failure refuses operations until the relay restarts.
    fn open_sinks(&mut self) {
        if !self.settings.enabled {
            return;
        }
        if let Some(path) = self.settings.file.clone() {
            match OpenOptions::new().create(true).append(true).open(&path) {
                Ok(file) => self.file = Some(file),
                Err(err) => self.fail(format!("cannot open audit file {path}: {err}")),
            }
        }
        if self.settings.control_plane {
            let path = self.settings.spool_path.clone();
            match Spool::open(Path::new(&path), self.settings.spool_max_records as usize) {
                Ok(spool) => self.spool = Some(spool),
                Err(err) => self.fail(format!("cannot open audit spool {path}: {err}")),
            }
        }
    }

    fn fail(&mut self, reason: String) {
        error!(self.log, "Audit trail unavailable: operations are refused"; "error" => reason.clone());
        self.failure = Some(reason);
        self.report_status();
    }

    fn wanted(&self, outcome: Option<Outcome>) -> bool {
        self.settings.enabled
            && (self.settings.level == AuditLevel::Info || outcome.is_none_or(|o| o != Outcome::Ok))
    }

    /// Seals a body into the chain and writes it to every sink, in order.
    fn write(&mut self, body: Map<String, Value>, alarming: bool) -> Result<u64, AuditUnavailable> {
        if let Some(reason) = &self.failure {
            return Err(AuditUnavailable(reason.clone()));
        }
        let record = self.chain.seal(body);
        let seq = record
            .get("seq")
            .and_then(Value::as_u64)
            .unwrap_or_default();
        // Serialized once for the file and the spool; a map of JSON values always serializes.
        let line = serde_json::to_string(&record).unwrap_or_default();
        let logged = slog::Serde(Value::Object(record.clone()));
        if alarming {
            warn!(self.log, #"audit", "Audit record"; "record" => logged, "log" => "audit");
        } else {
            info!(self.log, #"audit", "Audit record"; "record" => logged, "log" => "audit");
        }
        if let Some(file) = self.file.as_mut() {
            let written = file.write_all(format!("{line}\n").as_bytes());
            if let Err(err) = written.and_then(|()| file.flush()) {
                self.fail(format!("cannot write the audit file: {err}"));
                return Err(AuditUnavailable("the audit file cannot be written".into()));
            }
        }
        self.spool_and_send(record, &line)?;
        Ok(seq)
    }

    fn spool_and_send(
        &mut self,
        record: Map<String, Value>,
        line: &str,
    ) -> Result<(), AuditUnavailable> {
        let Some(spool) = self.spool.as_mut() else {
            return Ok(());
        };
        let forward = (self.connected && self.outbox.is_some()).then(|| record.clone());
        if let Err(err) = spool.push(record, line) {
            self.fail(format!("cannot write the audit spool: {err}"));
            return Err(AuditUnavailable("the audit spool cannot be written".into()));
        }
        if let (Some(record), Some(outbox)) = (forward, &self.outbox) {
            outbox.forward.do_send(ForwardAudit { record });
        }
        self.report_drops();
        Ok(())
    }

    /// Records (at most once a minute) that a full spool dropped records, and says so in health.
    fn report_drops(&mut self) {
        let dropped = self.spool.as_ref().map_or(0, Spool::dropped);
        if dropped == self.dropped_reported {
            return;
        }
        let due = self
            .last_drop_report
            .is_none_or(|at| at.elapsed() >= DROP_REPORT_INTERVAL);
        if !due {
            return;
        }
        self.last_drop_report = Some(Instant::now());
        let newly = dropped - self.dropped_reported;
        self.dropped_reported = dropped;
        let details = serde_json::json!({"dropped": newly, "droppedTotal": dropped,
            "spoolMaxRecords": self.settings.spool_max_records});
        self.security(SecurityEvent {
            kind: SecurityKind::RecordsDropped,
            details,
            alarming: true,
        });
        self.report_status();
    }

    fn security(&mut self, event: SecurityEvent) {
        if !self.settings.enabled {
            return;
        }
        let mut event = event;
        // Details can quote what a peer sent (a close reason, an error): they leave masked.
        self.masking
            .mask_value(&mut event.details, &mut MaskedCounts::default());
        let body = security_body(&event, &now_rfc3339(), &self.tenant_id);
        let _ = self.write(body, event.alarming);
    }

    fn statement_field(&self, statement: Option<&str>) -> Option<StatementField> {
        let statement = statement?;
        let mask = |text: &str| {
            let mut counts = MaskedCounts::default();
            self.masking.mask_str(text, &mut counts).into_owned()
        };
        Some(if self.settings.redact_statements {
            StatementField::Fingerprint(fingerprint(statement, mask))
        } else {
            StatementField::Masked(mask(statement))
        })
    }

    fn report_status(&self) {
        if let Some(outbox) = &self.outbox {
            outbox.status.do_send(AuditStatusChanged {
                status: self.status(),
            });
        }
    }

    fn status(&self) -> AuditHealth {
        AuditHealth {
            enabled: self.settings.enabled,
            available: self.failure.is_none(),
            chain_id: self.chain.id().to_owned(),
            pending: self.spool.as_ref().map_or(0, |s| s.len() as u64),
            dropped: self.spool.as_ref().map_or(0, Spool::dropped),
            error: self.failure.clone(),
        }
    }
}

impl Actor for Auditor {
    type Context = Context<Self>;

    fn started(&mut self, _ctx: &mut Context<Self>) {
        self.open_sinks();
        if self.settings.enabled {
            let _ = self.write(genesis_body(&now_rfc3339(), &self.tenant_id), false);
        }
        self.report_status();
    }
}

impl Handler<AuditReady> for Auditor {
    type Result = Result<(), AuditUnavailable>;

    fn handle(&mut self, _: AuditReady, _ctx: &mut Context<Self>) -> Self::Result {
        match &self.failure {
            Some(reason) => Err(AuditUnavailable(reason.clone())),
            None => Ok(()),
        }
    }
}

impl Handler<Record> for Auditor {
    type Result = Result<u64, AuditUnavailable>;

    fn handle(&mut self, message: Record, _ctx: &mut Context<Self>) -> Self::Result {
        let record = message.record;
        if !self.wanted(Some(record.outcome)) {
            return match &self.failure {
                Some(reason) => Err(AuditUnavailable(reason.clone())),
                None => Ok(0),
            };
        }
        let statement = self.statement_field(record.statement.as_deref());
        let body = operation_body(&record, statement, &now_rfc3339());
        self.write(body, record.outcome != Outcome::Ok)
    }
}

impl Handler<Security> for Auditor {
    type Result = ();

    fn handle(&mut self, message: Security, _ctx: &mut Context<Self>) {
        self.security(message.event);
    }
}

impl Handler<AuditLink> for Auditor {
    type Result = ();

    fn handle(&mut self, link: AuditLink, _ctx: &mut Context<Self>) {
        self.connected = link.connected;
        if !link.connected {
            return;
        }
        if let (Some(spool), Some(outbox)) = (&self.spool, &self.outbox) {
            for record in spool.pending() {
                outbox.forward.do_send(ForwardAudit {
                    record: record.clone(),
                });
            }
        }
    }
}

impl Handler<AuditAcked> for Auditor {
    type Result = ();

    fn handle(&mut self, ack: AuditAcked, _ctx: &mut Context<Self>) {
        let Some(spool) = self.spool.as_mut() else {
            return;
        };
        let before = spool.len();
        if let Err(err) = spool.acknowledge(&ack.chain_id, ack.seq) {
            self.fail(format!("cannot write the audit spool: {err}"));
            return;
        }
        if spool.len() != before {
            self.report_status();
        }
    }
}

#[cfg(test)]
#[path = "auditor_tests.rs"]
mod tests;
