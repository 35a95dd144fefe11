//! What an audit record says: operations (with their statement rendered or fingerprinted, see
//! [`super::statement`]) and security events, as JSON bodies ready to be sealed into the chain.
//! Pure.

use super::chain::{hex, GENESIS_KIND};
use super::statement::{render, Rendered};
pub use crate::domain::{AuditRecord, Outcome, SecurityEvent, SecurityKind, Statement};
use crate::masking::MaskingEngine;
use crate::protocol::{ErrorCode, MaskedCounts};
use serde::Serialize;
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

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

/// The fields every record starts with.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct Common<'a> {
    pub(super) kind: &'a str,
    pub(super) time: &'a str,
    pub(super) relay_version: &'static str,
    pub(super) tenant_id: &'a str,
}

impl<'a> Common<'a> {
    fn new(kind: &'a str, time: &'a str, tenant_id: &'a str) -> Self {
        Common {
            kind,
            time,
            relay_version: env!("CARGO_PKG_VERSION"),
            tenant_id,
        }
    }
}

/// An operation record's own fields, in the order its line shows them (the canonical form sorts
/// them: [`super::operation_line`]). Empty ids are written as `null`; the statement's fields
/// appear only when the request had a statement.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct OperationBody<'a> {
    #[serde(flatten)]
    pub(super) common: Common<'a>,
    pub(super) request_id: Option<&'a str>,
    pub(super) resource_id: Option<&'a str>,
    pub(super) resource_type: Option<&'a str>,
    pub(super) operation: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) statement: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) statement_fingerprint: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) statement_truncated: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) statement_sha256: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) statement_bytes: Option<u64>,
    pub(super) outcome: Outcome,
    pub(super) code: Option<ErrorCode>,
    pub(super) row_count: u64,
    pub(super) truncated: bool,
    pub(super) masked: &'a MaskedCounts,
    pub(super) duration_ms: u64,
}

/// A security record's own fields.
#[derive(Serialize)]
struct SecurityBody<'a> {
    #[serde(flatten)]
    common: Common<'a>,
    event: SecurityKind,
    details: &'a Value,
}

/// A body as the JSON object the chain seals.
fn object_of(body: impl Serialize) -> Result<Map<String, Value>, BodyError> {
    match serde_json::to_value(body) {
        Ok(Value::Object(fields)) => Ok(fields),
        Ok(_) => Err(BodyError("a record body is not an object".into())),
        Err(err) => Err(BodyError(err.to_string())),
    }
}

/// A record body that could not be rendered as JSON.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("cannot render the audit record: {0}")]
pub struct BodyError(String);

/// The record that opens a chain.
pub fn genesis_body(time: &str, tenant_id: &str) -> Result<Map<String, Value>, BodyError> {
    object_of(Common::new(GENESIS_KIND, time, tenant_id))
}

/// An id as recorded: `null` when empty.
fn or_null(text: &str) -> Option<&str> {
    (!text.is_empty()).then_some(text)
}

/// The fields of an operation record, borrowed from what the pipeline and the statement's
/// rendering gave.
pub(super) fn operation_fields<'a>(
    record: &'a AuditRecord,
    statement: Option<&'a RecordedStatement>,
    time: &'a str,
) -> OperationBody<'a> {
    let rendered = statement.map(|statement| &statement.rendered);
    let (masked_text, fingerprint) = match statement.and_then(|s| s.field.as_ref()) {
        Some(StatementField::Masked(text)) => (Some(text.as_str()), None),
        Some(StatementField::Fingerprint(print)) => (None, Some(print.as_str())),
        None => (None, None),
    };
    OperationBody {
        common: Common::new("operation", time, &record.tenant_id),
        request_id: or_null(&record.request_id),
        resource_id: or_null(&record.resource_id),
        resource_type: or_null(&record.resource_type),
        operation: or_null(&record.operation),
        statement: masked_text,
        statement_fingerprint: fingerprint,
        statement_truncated: rendered.map(|r| r.truncated),
        statement_bytes: rendered.map(|r| r.bytes),
        statement_sha256: rendered.map(|r| r.sha256.as_str()),
        outcome: record.outcome,
        code: record.code,
        row_count: record.row_count,
        truncated: record.truncated,
        masked: &record.masked,
        duration_ms: record.duration_ms,
    }
}

/// The body of an operation record as a map of JSON values: how records were sealed before they
/// wrote themselves, kept as the reference their lines and canonical forms are tested against.
#[cfg(test)]
pub(super) fn operation_body(
    record: &AuditRecord,
    statement: Option<&RecordedStatement>,
    time: &str,
) -> Result<Map<String, Value>, BodyError> {
    object_of(operation_fields(record, statement, time))
}

/// The body of a security-event record.
pub fn security_body(
    event: &SecurityEvent,
    time: &str,
    tenant_id: &str,
) -> Result<Map<String, Value>, BodyError> {
    object_of(SecurityBody {
        common: Common::new("security", time, tenant_id),
        event: event.kind,
        details: &event.details,
    })
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
    use serde_json::json;

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
