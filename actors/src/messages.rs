//! Every message exchanged between the relay's actors: named fields, typed results.

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

/// Control plane -> supervisor: the WebSocket session ended.
#[derive(Message, Debug)]
#[rtype(result = "()")]
pub struct Disconnected {
    pub reason: String,
}

/// Anyone -> supervisor: the latest health of every resource.
#[derive(Message, Debug)]
#[rtype(result = "Vec<ResourceHealth>")]
pub struct GetHealth;

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
    pub resources: Vec<ResourceHealth>,
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
#[rtype(result = "Result<OperationOutput, OperationError>")]
pub struct RunOperation {
    pub request: Request,
}

/// What an operation produced, before masking.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct OperationOutput {
    pub columns: Vec<Column>,
    pub rows: Vec<Vec<Value>>,
    pub truncated: bool,
    pub details: Option<Value>,
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

/// Supervisor -> auditor: record one operation.
#[derive(Message, Debug)]
#[rtype(result = "()")]
pub struct Record {
    pub record: crate::audit::AuditRecord,
}
