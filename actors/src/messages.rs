//! Every message exchanged between the relay's actors: named fields, typed results.

pub use crate::domain::{
    AuditUnavailable, MaskPayload, Masked, MaskingError, OperationError, OperationOutput,
    OutputLineage,
};
use crate::protocol::{Outbound, Request, ResourceHealth};
use actix::Message;
use serde_json::Value;
use std::time::Duration;

/// Control plane -> resource: the control plane cancelled a request.
#[derive(Message, Debug, Clone)]
#[rtype(result = "()")]
pub struct CancelRequest {
    /// For the logs: the resource finds the request by `cancel`.
    pub request_id: String,
    pub resource_id: String,
    /// The request's own cancellation: a resource stops that request only, not another that
    /// came with the same id (from an earlier session, say).
    pub cancel: crate::domain::CancelHandle,
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
/// close the WebSocket cleanly. Supervisor -> resource: stop health checks, serve what the control
/// plane accepted before it stopped taking requests, within `grace` (then cancel it and refuse
/// anything later with `shutting_down`), then stop.
#[derive(Message, Debug)]
#[rtype(result = "()")]
pub struct Drain {
    pub grace: Duration,
    /// For a resource: the requests the control plane accepted before it stopped taking new ones.
    /// Some may not have reached the resource yet, so it serves them and stops only once they are
    /// answered (or the grace period ends).
    pub pipelines: Option<crate::in_flight::InFlight>,
}

/// Supervisor -> resource: run one operation.
#[derive(Message, Debug)]
#[rtype(result = "Result<Produced, OperationError>")]
pub struct RunOperation {
    pub request: Request,
    /// When the request must be answered by: computed once when it arrived, carried through
    /// every wait.
    pub deadline: crate::domain::Deadline,
    /// Cancelled by the control plane's `cancel`, even one that came before this message.
    pub cancel: crate::domain::CancelHandle,
    /// The engine the request's answer is masked with, for a resource that masks rows as it
    /// writes them; `None`: rows are returned as values and masked after.
    pub masking: Option<std::sync::Arc<dyn crate::domain::RowMasking>>,
}

/// An operation's output with the resource's result slot it occupies: a resource keeps at most
/// a few outputs in memory before they are masked, so a burst of large results waits for a slot
/// instead of piling up unmasked. The slot is freed when this is dropped (after masking).
#[derive(Debug)]
pub struct Produced {
    pub output: OperationOutput,
    pub slot: Option<tokio::sync::OwnedSemaphorePermit>,
}

/// Supervisor -> masker: mask everything in `payload` that is about to leave the relay.
#[derive(Message, Debug)]
#[rtype(result = "Result<Masked, MaskingError>")]
pub struct Mask {
    pub payload: MaskPayload,
    /// The resource's unmasked-result slot the payload occupies: released when masking ends,
    /// whether or not anyone still waits for the answer, so a request whose time ran out while
    /// masking does not free room for another unmasked result while its own is still in memory.
    pub slot: Option<tokio::sync::OwnedSemaphorePermit>,
}

/// Pipeline -> auditor: record one operation; answers once the record is written everywhere it
/// must be (its `seq`), or why it could not be.
#[derive(Message, Debug)]
#[rtype(result = "Result<u64, AuditUnavailable>")]
pub struct Record {
    pub record: crate::domain::AuditRecord,
}

/// A request or message refused before it reached a resource (malformed, a duplicate id,
/// ill-typed fields, the relay shutting down); the control plane has it counted and recorded like
/// any refused operation through the routing table.
#[derive(Debug)]
pub struct RequestRefused {
    pub request_id: Option<String>,
    pub resource_id: Option<String>,
    pub operation: Option<String>,
    pub code: crate::protocol::ErrorCode,
    pub statement: Option<crate::domain::Statement>,
}

/// Pipeline -> auditor: can an operation be recorded now? Asked before an operation runs, so no
/// operation runs unaudited; waiting in the auditor's bounded mailbox is the backpressure.
#[derive(Message, Debug)]
#[rtype(result = "Result<(), AuditUnavailable>")]
pub struct AuditReady;

/// Supervisor -> auditor: the relay drained and stops; answered once the last record
/// (`relay_stopped`, with `details`) is written after every record before it.
#[derive(Message, Debug)]
#[rtype(result = "()")]
pub struct AuditStopping {
    pub details: Value,
}

/// Supervisor -> auditor: record a security event.
#[derive(Message, Debug)]
#[rtype(result = "()")]
pub struct Security {
    pub event: crate::domain::SecurityEvent,
}

/// Supervisor -> auditor: the control-plane session is up (send what is spooled) or down.
#[derive(Message, Debug)]
#[rtype(result = "()")]
pub struct AuditLink {
    pub connected: bool,
}

/// Control plane -> auditor: records of `chain_id` up to `seq` were stored.
#[derive(Message, Debug, Clone)]
#[rtype(result = "()")]
pub struct AuditAcked {
    pub chain_id: String,
    pub seq: u64,
}

/// Auditor -> control plane: send this sealed record in an `audit` message.
#[derive(Message, Debug, Clone)]
#[rtype(result = "()")]
pub struct ForwardAudit {
    /// The record as the JSON object it was written as (to the file and the spool): sent as it
    /// is, not serialized again.
    pub line: String,
}

#[cfg(test)]
impl ForwardAudit {
    /// The record, read back from its line.
    pub fn record(&self) -> Option<serde_json::Map<String, Value>> {
        serde_json::from_str(&self.line).ok()
    }
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
