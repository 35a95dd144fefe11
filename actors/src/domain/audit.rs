//! What the audit trail records: an operation with its outcome and statement, and security events.
//! How records are rendered, sealed and written is the audit module's business.

use crate::protocol::{ErrorCode, MaskedCounts};
use relay_protocol::wire_enum;
use serde_json::Value;

wire_enum! {
    /// How an operation ended.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub enum Outcome {
        Ok = "ok",
        Refused = "refused",
        Failed = "failed",
        Timeout = "timeout",
        Cancelled = "cancelled",
    }
}

/// One operation, as the pipeline saw it (or a request refused before it reached a resource).
/// `statement` is what the control plane sent; the auditor renders or fingerprints it before it
/// is written anywhere. Empty ids are recorded as `null`.
#[derive(Debug, Clone, PartialEq)]
pub struct AuditRecord {
    pub request_id: String,
    pub tenant_id: String,
    pub resource_id: String,
    pub resource_type: String,
    pub operation: String,
    pub statement: Option<Statement>,
    pub outcome: Outcome,
    pub code: Option<ErrorCode>,
    pub row_count: u64,
    pub truncated: bool,
    pub masked: MaskedCounts,
    pub duration_ms: u64,
}

wire_enum! {
    /// Security events; each is recorded whatever `audit.level` says.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub enum SecurityKind {
        ConfigLoaded = "config_loaded",
        ConfigReloaded = "config_reloaded",
        AuditRecovered = "audit_recovered",
        Connected = "connection_established",
        Disconnected = "connection_lost",
        AuthFailed = "auth_failure",
        PrivilegeCheck = "privilege_check",
        RecordsDropped = "records_dropped",
        RelayStopped = "relay_stopped",
    }
}

/// A security event and its details, a JSON object (never secrets, never data values).
#[derive(Debug, Clone, PartialEq)]
pub struct SecurityEvent {
    pub kind: SecurityKind,
    pub details: Value,
    /// Whether this event deserves attention (written at `warn`).
    pub alarming: bool,
}

/// A statement as the relay received it.
#[derive(Debug, Clone, PartialEq)]
pub enum Statement {
    /// `params.sql` of a request.
    Sql(String),
    /// The other parameters of a request (a MongoDB command, a table name).
    Json(Value),
    /// The whole text of a message that could not be read as a request.
    Message(String),
}

impl From<&str> for Statement {
    fn from(sql: &str) -> Self {
        Statement::Sql(sql.to_owned())
    }
}

impl Statement {
    /// The statement of a request's parameters: `sql` when there is one, else the parameters
    /// themselves when there are any.
    pub fn of_params(params: &Value) -> Option<Statement> {
        if let Some(sql) = params.get("sql").and_then(Value::as_str) {
            return Some(Statement::Sql(sql.to_owned()));
        }
        match params {
            Value::Object(fields) if !fields.is_empty() => Some(Statement::Json(params.clone())),
            _ => None,
        }
    }
}
