//! Audit records and the actor that writes them, one structured line per operation.

use crate::messages::Record;
use crate::protocol::MaskedCounts;
use actix::{Actor, Context, Handler};
use relay_config::{Audit, AuditLevel};
use serde::Serialize;
use slog::{info, warn, Logger};

/// How an operation ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum Outcome {
    Ok,
    Refused,
    Failed,
    Timeout,
    Cancelled,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Ok => "ok",
            Outcome::Refused => "refused",
            Outcome::Failed => "failed",
            Outcome::Timeout => "timeout",
            Outcome::Cancelled => "cancelled",
        }
    }
}

/// One audited operation. Carries no data values, only counts and masked text.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AuditRecord {
    pub request_id: String,
    pub tenant_id: String,
    pub resource_id: String,
    pub resource_type: String,
    pub operation: String,
    pub outcome: Outcome,
    pub code: Option<String>,
    pub row_count: u64,
    pub truncated: bool,
    pub masked: MaskedCounts,
    pub duration_ms: u64,
}

/// The audit actor: writes records to the log stream, marked `"log":"audit"`.
pub struct Auditor {
    settings: Audit,
    log: Logger,
}

impl Auditor {
    pub fn new(settings: Audit, log: Logger) -> Self {
        Auditor { settings, log }
    }

    fn wanted(&self, record: &AuditRecord) -> bool {
        self.settings.enabled
            && (self.settings.level == AuditLevel::Info || record.outcome != Outcome::Ok)
    }
}

impl Actor for Auditor {
    type Context = Context<Self>;
}

impl Handler<Record> for Auditor {
    type Result = ();

    fn handle(&mut self, message: Record, _ctx: &mut Context<Self>) {
        let record = message.record;
        if !self.wanted(&record) {
            return;
        }
        let masked_total = record.masked.total;
        let log = self.log.new(slog::o!(
            "log" => "audit",
            "requestId" => record.request_id,
            "tenantId" => record.tenant_id,
            "resourceId" => record.resource_id,
            "resourceType" => record.resource_type,
            "operation" => record.operation,
            "outcome" => record.outcome.as_str(),
            "code" => record.code,
            "rowCount" => record.row_count,
            "truncated" => record.truncated,
            "maskedTotal" => masked_total,
            "durationMs" => record.duration_ms,
        ));
        if record.outcome == Outcome::Ok {
            info!(log, "Operation audited");
        } else {
            warn!(log, "Operation audited");
        }
    }
}
