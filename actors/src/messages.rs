//! Every message exchanged between the relay's actors: named fields, typed results.

use crate::policy::lineage::Source;
use crate::protocol::{Column, ErrorCode, MaskedCounts, Outbound, Request, ResourceHealth};
use actix::Message;
use serde_json::Value;
use std::time::Duration;
use thiserror::Error;

/// Control plane -> supervisor: run one request through resource, masking and audit; the answer is
/// the message to send back (`result` or `error`).
#[derive(Message, Debug)]
#[rtype(result = "Outbound")]
pub struct Dispatch {
    pub request: Request,
}

/// Control plane -> supervisor -> resource: the control plane cancelled a request.
#[derive(Message, Debug, Clone)]
#[rtype(result = "()")]
pub struct CancelRequest {
    pub request_id: String,
    pub resource_id: String,
}

/// Control plane -> supervisor: a WebSocket session is up (the URL carries no secret).
#[derive(Message, Debug)]
#[rtype(result = "()")]
pub struct Connected {
    pub url: String,
}

/// Control plane -> supervisor: the control plane made this relay a standby, or the active one.
#[derive(Message, Debug)]
#[rtype(result = "()")]
pub struct RoleChanged {
    pub standby: bool,
}

/// Control plane -> supervisor: the WebSocket session ended.
#[derive(Message, Debug)]
#[rtype(result = "()")]
pub struct Disconnected {
    pub reason: String,
}

/// Anyone -> supervisor: the latest health of every resource and of the audit trail.
#[derive(Message, Debug)]
#[rtype(result = "crate::protocol::Health")]
pub struct GetHealth;

/// Control plane -> supervisor: the control plane refused the relay's credentials.
#[derive(Message, Debug)]
#[rtype(result = "()")]
pub struct AuthRejected {
    pub detail: String,
}

/// Resource -> supervisor: the result of a health check.
#[derive(Message, Debug, Clone)]
#[rtype(result = "()")]
pub struct HealthChanged {
    pub health: ResourceHealth,
}

/// Supervisor -> control plane: resource health changed; send a `health` message now.
#[derive(Message, Debug, Clone)]
#[rtype(result = "()")]
pub struct HealthReport {
    pub health: crate::protocol::Health,
}

/// Signal handler -> supervisor: drain in-flight work, close the session, stop the system.
#[derive(Message, Debug)]
#[rtype(result = "()")]
pub struct Shutdown;

/// Supervisor -> control plane: stop taking requests, let in-flight ones finish within `grace`, then
/// close the WebSocket cleanly.
#[derive(Message, Debug)]
#[rtype(result = "()")]
pub struct Drain {
    pub grace: Duration,
}

/// Supervisor -> resource: run one operation.
#[derive(Message, Debug)]
#[rtype(result = "Result<Produced, OperationError>")]
pub struct RunOperation {
    pub request: Request,
    /// When the request must be answered by: computed once when it arrived, carried through
    /// every wait.
    pub deadline: crate::resource::Deadline,
}

/// An operation's output with the resource's result slot it occupies: a resource keeps at most
/// a few outputs in memory before they are masked, so a burst of large results waits for a slot
/// instead of piling up unmasked. The slot is freed when this is dropped (after masking).
#[derive(Debug)]
pub struct Produced {
    pub output: OperationOutput,
    pub slot: Option<tokio::sync::OwnedSemaphorePermit>,
}

/// What an operation produced, before masking.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct OperationOutput {
    pub columns: Vec<Column>,
    pub rows: Vec<Vec<Value>>,
    pub truncated: bool,
    pub details: Option<Value>,
    pub lineage: OutputLineage,
}

/// Where an output's values come from, as far as the resource traced them, so that a column rule
/// follows its column under any name.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct OutputLineage {
    /// Per result column, the protected column its values derive from (the strictest rule's);
    /// shorter than the columns, or empty, where nothing was traced.
    pub columns: Vec<Option<Source>>,
    /// Per result column, whether its value is computed from its source (an expression, a
    /// whole row) rather than the protected column itself: then only the whole value is safe,
    /// since a kept part or a hash of a piece tells something about the column.
    pub computed: Vec<bool>,
    /// Top-level document fields (MongoDB) computed from protected fields, with their source.
    pub fields: Vec<(String, Source)>,
    /// Column rules with a `table` scope that matches the relation read: they apply to its
    /// fields by name, as rules without a scope apply everywhere.
    pub scoped_rules: Vec<usize>,
}

/// Why an operation did not produce output; becomes an `error` message at the edge.
#[derive(Debug, Clone, Error, PartialEq)]
#[error("{code}: {message}")]
pub struct OperationError {
    pub code: ErrorCode,
    pub message: String,
}

impl OperationError {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        OperationError {
            code,
            message: message.into(),
        }
    }
}

/// Supervisor -> masker: mask everything in `payload` that is about to leave the relay.
#[derive(Message, Debug)]
#[rtype(result = "Result<Masked, MaskingError>")]
pub struct Mask {
    pub payload: MaskPayload,
}

/// Something to mask.
#[derive(Debug, Clone, PartialEq)]
pub enum MaskPayload {
    Output(OperationOutput),
    Text(String),
}

/// A masked payload and what was replaced.
#[derive(Debug, Clone, PartialEq)]
pub struct Masked {
    pub payload: MaskPayload,
    pub counts: MaskedCounts,
}

/// Masking could not run; nothing may be sent.
#[derive(Debug, Clone, Error, PartialEq)]
#[error("masking failed: {0}")]
pub struct MaskingError(pub String);

/// Pipeline -> auditor: record one operation; answers once the record is written everywhere it
/// must be (its `seq`), or why it could not be.
#[derive(Message, Debug)]
#[rtype(result = "Result<u64, AuditUnavailable>")]
pub struct Record {
    pub record: crate::audit::AuditRecord,
}

/// Control plane -> supervisor: a request or message refused before it reached a resource
/// (malformed, a duplicate id, ill-typed fields, the relay shutting down); it is recorded like
/// any refused operation.
#[derive(Message, Debug)]
#[rtype(result = "()")]
pub struct RequestRefused {
    pub request_id: Option<String>,
    pub resource_id: Option<String>,
    pub operation: Option<String>,
    pub code: crate::protocol::ErrorCode,
    pub statement: Option<crate::audit::statement::Statement>,
}

/// Pipeline -> auditor: can an operation be recorded now? Asked before an operation runs, so no
/// operation runs unaudited; waiting in the auditor's bounded mailbox is the backpressure.
#[derive(Message, Debug)]
#[rtype(result = "Result<(), AuditUnavailable>")]
pub struct AuditReady;

/// The audit trail cannot take records; operations are refused.
#[derive(Debug, Clone, Error, PartialEq)]
#[error("audit unavailable: {0}")]
pub struct AuditUnavailable(pub String);

/// Supervisor -> auditor: record a security event.
#[derive(Message, Debug)]
#[rtype(result = "()")]
pub struct Security {
    pub event: crate::audit::SecurityEvent,
}

/// Supervisor -> auditor: the control-plane session is up (send what is spooled) or down.
#[derive(Message, Debug)]
#[rtype(result = "()")]
pub struct AuditLink {
    pub connected: bool,
}

/// Control plane -> supervisor -> auditor: records of `chain_id` up to `seq` were stored.
#[derive(Message, Debug, Clone)]
#[rtype(result = "()")]
pub struct AuditAcked {
    pub chain_id: String,
    pub seq: u64,
}

/// Auditor -> supervisor -> control plane: send this sealed record in an `audit` message.
#[derive(Message, Debug, Clone)]
#[rtype(result = "()")]
pub struct ForwardAudit {
    pub record: serde_json::Map<String, Value>,
}

/// Auditor -> supervisor: the state of the audit trail, reported in `health`.
#[derive(Message, Debug, Clone)]
#[rtype(result = "()")]
pub struct AuditStatusChanged {
    pub status: crate::protocol::AuditHealth,
}

/// Supervisor -> control plane: send one message on the current session, if any.
#[derive(Message, Debug, Clone)]
#[rtype(result = "()")]
pub struct SendToControlPlane {
    pub message: Outbound,
}
