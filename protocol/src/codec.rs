//! Decoding what the control plane sends and encoding what the relay sends (see [`super`]).

use super::{ErrorCode, ErrorMessage, Inbound, OperationResult, Outbound, ResultRows};
use serde_json::Value;

/// Why an inbound text could not be accepted: becomes an `error` message, never a disconnect.
#[derive(Debug, Clone, PartialEq)]
pub struct Rejection {
    pub id: Option<String>,
    pub code: ErrorCode,
    pub message: String,
}

impl Rejection {
    /// The `error` message that answers this rejection.
    pub fn into_message(self) -> Outbound {
        Outbound::Error(ErrorMessage {
            id: self.id,
            code: self.code,
            message: self.message,
        })
    }
}

/// Message types the relay accepts from the control plane.
const INBOUND_TYPES: [&str; 5] = ["request", "cancel", "auditAck", "standby", "active"];

/// Decodes one text message from the control plane, classifying every failure.
pub fn decode_inbound(text: &str) -> Result<Inbound, Rejection> {
    let value: Value = serde_json::from_str(text).map_err(|err| Rejection {
        id: None,
        code: ErrorCode::InvalidMessage,
        message: format!("message is not valid JSON: {err}"),
    })?;
    let id = value.get("id").and_then(Value::as_str).map(str::to_owned);
    let Some(kind) = value.get("type").and_then(Value::as_str).map(str::to_owned) else {
        return Err(Rejection {
            id,
            code: ErrorCode::InvalidMessage,
            message: "message has no string field \"type\"".to_owned(),
        });
    };
    if !INBOUND_TYPES.contains(&kind.as_str()) {
        return Err(Rejection {
            id,
            code: ErrorCode::UnsupportedMessage,
            message: format!(
                "unsupported message type \"{}\"",
                truncate_for_message(&kind)
            ),
        });
    }
    serde_json::from_value(value).map_err(|err| Rejection {
        id,
        code: ErrorCode::InvalidRequest,
        message: format!("invalid {kind} message: {err}"),
    })
}

/// Encodes one outbound message as JSON text.
pub fn encode_outbound(message: &Outbound) -> Result<String, serde_json::Error> {
    match message {
        Outbound::Result(
            result @ OperationResult {
                rows: ResultRows::Written(rows),
                ..
            },
        ) => encode_written_result(result, &rows.json),
        _ => {
            let mut text = Vec::with_capacity(size_hint(message));
            serde_json::to_writer(&mut text, message)?;
            // serde_json writes UTF-8 only.
            String::from_utf8(text).map_err(serde::ser::Error::custom)
        }
    }
}

/// Room for a message's text, so that writing it grows the buffer rarely (`serde_json::to_string`
/// starts at 128 bytes, and a row of a few columns already takes several doublings): a guess
/// from the result's cells, capped.
fn size_hint(message: &Outbound) -> usize {
    const BASE: usize = 256;
    const PER_COLUMN: usize = 48;
    const PER_CELL: usize = 32;
    const MAX_HINT: usize = 64 << 10;
    match message {
        Outbound::Result(OperationResult {
            columns,
            rows: ResultRows::Values(rows),
            ..
        }) => {
            let cells = rows.iter().map(Vec::len).fold(0, usize::saturating_add);
            let columns = columns.len().saturating_mul(PER_COLUMN);
            BASE.saturating_add(columns)
                .saturating_add(cells.saturating_mul(PER_CELL))
                .min(MAX_HINT)
        }
        _ => BASE,
    }
}

/// A `result` whose rows are already JSON text: the same text the derived encoding gives for
/// those rows as values, field by field in the same order, with the rows' text spliced in (and
/// not checked again: it is a `String` already).
fn encode_written_result(
    result: &OperationResult,
    rows: &str,
) -> Result<String, serde_json::Error> {
    let mut text = String::with_capacity(rows.len() + 512);
    text.push_str(r#"{"type":"result","id":"#);
    text.push_str(&serde_json::to_string(&result.id)?);
    text.push_str(r#","columns":"#);
    text.push_str(&serde_json::to_string(&result.columns)?);
    text.push_str(r#","rows":"#);
    text.push_str(rows);
    text.push_str(r#","rowCount":"#);
    text.push_str(&result.row_count.to_string());
    text.push_str(r#","truncated":"#);
    text.push_str(if result.truncated { "true" } else { "false" });
    text.push_str(r#","masked":"#);
    text.push_str(&serde_json::to_string(&result.masked)?);
    text.push_str(r#","durationMs":"#);
    text.push_str(&result.duration_ms.to_string());
    if let Some(details) = &result.details {
        text.push_str(r#","details":"#);
        text.push_str(&serde_json::to_string(details)?);
    }
    text.push('}');
    Ok(text)
}

/// An `audit` message for a record already serialized as one JSON object: the same text
/// [`encode_outbound`] gives for `Outbound::Audit` with that record, without serializing it again.
pub fn encode_audit_line(record: &str) -> String {
    const START: &str = r#"{"type":"audit","record":"#;
    let mut text = String::with_capacity(START.len() + record.len() + 1);
    text.push_str(START);
    text.push_str(record);
    text.push('}');
    text
}

/// Keeps peer-supplied text that is echoed in messages and logs short.
fn truncate_for_message(text: &str) -> String {
    const LIMIT: usize = 64;
    match text.char_indices().nth(LIMIT) {
        Some((cut, _)) => format!("{}...", &text[..cut]),
        None => text.to_owned(),
    }
}
