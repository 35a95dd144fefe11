//! What an audit record says: operations (with their statement rendered or fingerprinted, see
//! [`super::statement`]) and security events, as JSON bodies ready to be sealed into the chain.
//! Pure.

use super::chain::{hex, GENESIS_KIND};
use super::statement::{render, Rendered, Statement};
use crate::masking::MaskingEngine;
use crate::protocol::{ErrorCode, MaskedCounts};
use crate::wire_enum::wire_enum;
use serde_json::{json, Map, Value};
use sha2::{Digest, Sha256};

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

/// How the statement appears in a record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StatementField {
    /// The statement rendered with every constant masked.
    Masked(String),
    /// Only a fingerprint (`audit.redactStatements: true`).
    Fingerprint(String),
}

/// A statement ready for a record: what is shown of it, and its hash, length and cut.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordedStatement {
    pub field: Option<StatementField>,
    pub rendered: Rendered,
}

/// SQL longer than this is fingerprinted from its rendering, not parsed whole.
const FINGERPRINT_PARSE_LIMIT: usize = 256 << 10;

/// Renders a statement for a record (and fingerprints it when `redact`). Costs time in
/// proportion to the statement's length (its hash), so large ones are prepared off the actor.
pub fn record_statement(
    statement: &Statement,
    max_bytes: usize,
    redact: bool,
    engine: &MaskingEngine,
) -> RecordedStatement {
    let rendered = render(statement, max_bytes, engine);
    let field = rendered.text.clone().map(|text| {
        if !redact {
            return StatementField::Masked(text);
        }
        let print = match statement {
            Statement::Sql(sql) if sql.len() <= FINGERPRINT_PARSE_LIMIT => {
                fingerprint(sql, |_| text.clone())
            }
            _ => format!("sha256:{}", hex(&Sha256::digest(text.as_bytes())[..16])),
        };
        StatementField::Fingerprint(print)
    });
    RecordedStatement { field, rendered }
}

/// Security events; each is recorded whatever `audit.level` says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SecurityKind {
    ConfigLoaded,
    ConfigReloaded,
    AuditRecovered,
    Connected,
    Disconnected,
    AuthFailed,
    PrivilegeCheck,
    RecordsDropped,
    RelayStopped,
}

impl SecurityKind {
    pub fn as_str(self) -> &'static str {
        match self {
            SecurityKind::ConfigLoaded => "config_loaded",
            SecurityKind::ConfigReloaded => "config_reloaded",
            SecurityKind::AuditRecovered => "audit_recovered",
            SecurityKind::Connected => "connection_established",
            SecurityKind::Disconnected => "connection_lost",
            SecurityKind::AuthFailed => "auth_failure",
            SecurityKind::PrivilegeCheck => "privilege_check",
            SecurityKind::RecordsDropped => "records_dropped",
            SecurityKind::RelayStopped => "relay_stopped",
        }
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

/// The fields every record starts with.
fn common(kind: &str, time: &str, tenant_id: &str) -> Map<String, Value> {
    let mut body = Map::new();
    body.insert("kind".into(), json!(kind));
    body.insert("time".into(), json!(time));
    body.insert("relayVersion".into(), json!(env!("CARGO_PKG_VERSION")));
    body.insert("tenantId".into(), json!(tenant_id));
    body
}

/// The record that opens a chain.
pub fn genesis_body(time: &str, tenant_id: &str) -> Map<String, Value> {
    common(GENESIS_KIND, time, tenant_id)
}

/// The body of an operation record.
pub fn operation_body(
    record: &AuditRecord,
    statement: Option<RecordedStatement>,
    time: &str,
) -> Map<String, Value> {
    let mut body = common("operation", time, &record.tenant_id);
    let or_null = |text: &str| (!text.is_empty()).then(|| text.to_owned());
    body.insert("requestId".into(), json!(or_null(&record.request_id)));
    body.insert("resourceId".into(), json!(or_null(&record.resource_id)));
    body.insert("resourceType".into(), json!(or_null(&record.resource_type)));
    body.insert("operation".into(), json!(or_null(&record.operation)));
    if let Some(statement) = statement {
        match statement.field {
            Some(StatementField::Masked(text)) => body.insert("statement".into(), json!(text)),
            Some(StatementField::Fingerprint(print)) => {
                body.insert("statementFingerprint".into(), json!(print))
            }
            None => None,
        };
        let rendered = statement.rendered;
        body.insert("statementTruncated".into(), json!(rendered.truncated));
        body.insert("statementSha256".into(), json!(rendered.sha256));
        body.insert("statementBytes".into(), json!(rendered.bytes));
    }
    body.insert("outcome".into(), json!(record.outcome.as_str()));
    body.insert("code".into(), json!(record.code));
    body.insert("rowCount".into(), json!(record.row_count));
    body.insert("truncated".into(), json!(record.truncated));
    body.insert("masked".into(), json!(record.masked));
    body.insert("durationMs".into(), json!(record.duration_ms));
    body
}

/// The body of a security-event record.
pub fn security_body(event: &SecurityEvent, time: &str, tenant_id: &str) -> Map<String, Value> {
    let mut body = common("security", time, tenant_id);
    body.insert("event".into(), json!(event.kind.as_str()));
    body.insert("details".into(), event.details.clone());
    body
}

/// A statement's fingerprint: PostgreSQL's own query fingerprint of the SQL (constants ignored,
/// so it carries no values); for anything else, a SHA-256 prefix of the text `mask` makes of it,
/// so a hash of a personal value is never recorded. `mask` runs only when needed.
pub fn fingerprint(statement: &str, mask: impl FnOnce(&str) -> String) -> String {
    let options = pg_query::FingerprintOptions::FULL_RELNAME;
    match pg_query::fingerprint(statement, pg_query::ParserOptions::default(), options) {
        Ok(print) => format!("pg:{}", print.hex),
        Err(_) => {
            let masked = mask(statement);
            format!("sha256:{}", hex(&Sha256::digest(masked.as_bytes())[..16]))
        }
    }
}

/// The statement of a request: `params.sql` when there is one, else the other parameters as
/// compact JSON (a table name, a Mongo command), else nothing.
pub fn statement_of(params: &Value) -> Option<String> {
    if let Some(sql) = params.get("sql").and_then(Value::as_str) {
        return Some(sql.to_owned());
    }
    match params {
        Value::Object(fields) if !fields.is_empty() => Some(params.to_string()),
        _ => None,
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn sql_fingerprints_ignore_constants() {
        let print = |sql: &str| fingerprint(sql, |_| unreachable!("SQL is never masked first"));
        let a = print("SELECT * FROM t WHERE email = 'ana@example.com'");
        let b = print("SELECT * FROM t WHERE email = 'bo@example.org'");
        assert_eq!(a, b);
        assert!(a.starts_with("pg:"));
        assert_ne!(a, print("SELECT * FROM orders_2 WHERE email = 'x'"));
        assert_ne!(
            print("SELECT 1 FROM orders_1"),
            print("SELECT 1 FROM orders_2")
        );
        let masked = |_: &str| "{\"email\":\"***\"}".to_owned();
        let mongo = fingerprint("{\"email\":\"ana@example.com\"}", masked);
        assert_eq!(mongo, fingerprint("{\"email\":\"bo@example.org\"}", masked));
        assert!(mongo.starts_with("sha256:"));
    }

    #[test]
    fn statements_come_from_sql_or_other_parameters() {
        assert_eq!(
            statement_of(&json!({"sql": "SELECT 1", "params": [1]})).as_deref(),
            Some("SELECT 1")
        );
        assert_eq!(
            statement_of(&json!({"table": "t"})).as_deref(),
            Some("{\"table\":\"t\"}")
        );
        assert_eq!(statement_of(&json!({})), None);
        assert_eq!(statement_of(&Value::Null), None);
    }
}
