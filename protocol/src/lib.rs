//! Wire types of control-plane protocol v1: JSON text messages, camelCase, tagged by `type`.
//!
//! The protocol is documented in `docs/protocol.md`; this file is its source of truth. Receivers ignore
//! unknown fields, so adding an optional field is not a breaking change; anything else bumps
//! [`PROTOCOL_VERSION`].
#![forbid(unsafe_code)]

pub mod time;
#[macro_use]
mod wire_enum;
pub use wire_enum::UnknownName;

/// For [`wire_enum!`]'s expansion in other crates.
#[doc(hidden)]
pub use serde as __serde;

use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::BTreeMap;

/// The protocol version this relay speaks, sent in `hello` and in the `X-Relay-Protocol` header.
pub const PROTOCOL_VERSION: u32 = 1;

/// Header carrying [`PROTOCOL_VERSION`] on the WebSocket upgrade request.
pub const PROTOCOL_HEADER: &str = "X-Relay-Protocol";

/// Header carrying the tenant id on the WebSocket upgrade request.
pub const TENANT_HEADER: &str = "X-Tenant-Id";

/// Header marking a connection as a reachability probe (`relay check --connect`): the control plane
/// completes the upgrade and closes it at once, without treating it as the tenant's relay.
pub const PROBE_HEADER: &str = "X-Relay-Probe";

/// WebSocket close codes with a meaning in this protocol (RFC 6455 leaves 4000-4999 to applications).
pub mod close_code {
    /// The relay or control plane is shutting down or restarting; reconnect with normal backoff.
    pub const GOING_AWAY: u16 = 1001;
    /// Another relay of the same tenant connected; this one should not fight back.
    pub const SUPERSEDED: u16 = 4000;
    /// The relay token was revoked or is not valid for the tenant.
    pub const UNAUTHORIZED: u16 = 4001;
    /// The control plane does not speak the relay's protocol version.
    pub const UNSUPPORTED_PROTOCOL: u16 = 4002;
}

/// A message the relay sends to the control plane.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "camelCase")]
pub enum Outbound {
    /// First message after every connect.
    Hello(Hello),
    /// Resource health: on connect, on every change and periodically.
    Health(Health),
    /// Successful answer to a `request`.
    Result(OperationResult),
    /// Failed or refused `request`, or a message the relay could not accept.
    Error(ErrorMessage),
    /// One sealed audit record; the control plane answers with `auditAck`.
    Audit(AuditMessage),
    /// Sent once on shutdown, to a control plane that said `standby` or `active` on this session.
    Draining(DrainingNotice),
}

/// A message the control plane sends to the relay.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "camelCase")]
pub enum Inbound {
    /// Run one operation on one resource.
    Request(Request),
    /// Cancel the request with this id, if still running.
    Cancel(Cancel),
    /// The control plane stored audit records of `chainId` up to `seq`.
    AuditAck(AuditAck),
    /// Another relay of the tenant is active: this one stands by (see [`STANDBY_CAPABILITY`]).
    Standby(StandbyNotice),
    /// This relay is the tenant's active one (now, or promoted from standby).
    Active(ActiveNotice),
}

/// The capability, announced in `hello`, of standing by while another relay of the tenant serves.
pub const STANDBY_CAPABILITY: &str = "standby";

/// `standby`: the control plane keeps this session open but routes nothing to it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StandbyNotice {
    /// The instance id of the relay that serves, when it announced one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub active_instance_id: Option<String>,
}

/// `active`: requests for the tenant now come to this relay.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ActiveNotice {}

/// `draining`: the relay is shutting down; it finishes what runs and takes nothing new.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DrainingNotice {}

/// `audit`: one audit record, as documented in `docs/audit.md`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AuditMessage {
    pub record: serde_json::Map<String, Value>,
}

/// `auditAck`: cumulative acknowledgement of one chain's records.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AuditAck {
    pub chain_id: String,
    pub seq: u64,
}

/// `hello`: who this relay is and what it offers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Hello {
    pub protocol_version: u32,
    pub relay_version: String,
    pub tenant_id: String,
    pub resources: Vec<ResourceInfo>,
    /// Names this replica among the tenant's relays (`RELAY_INSTANCE_ID`, else the host name).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub instance_id: Option<String>,
    /// Optional behaviours this relay supports, such as [`STANDBY_CAPABILITY`].
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub capabilities: Vec<String>,
}

impl Hello {
    /// Whether the relay announced `capability`.
    pub fn supports(&self, capability: &str) -> bool {
        self.capabilities.iter().any(|c| c == capability)
    }
}

/// One configured resource as announced in `hello`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ResourceInfo {
    pub id: String,
    pub name: String,
    #[serde(rename = "type")]
    pub kind: String,
    pub allowed_operations: Vec<String>,
    pub max_rows_per_query: u32,
    pub pool_size: u32,
}

mod health;
pub use health::*;

wire_enum! {
    /// `request.operation`, and `resources[i].allowedOperations[j]` in the configuration: a kind of
    /// request the control plane may send.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
    pub enum Operation {
        /// `query`: run a read-only query.
        Query = "query",
        /// `describe_table`: columns and types of one table or collection.
        DescribeTable = "describe_table",
        /// `list_tables`: the tables or collections.
        ListTables = "list_tables",
        /// `explain`: the query plan of a query, without running it.
        Explain = "explain",
    }
}

/// `request.operation` as the control plane sent it: an [`Operation`] the relay knows, or any other
/// name (kept, at most as long as it came, for the refusal and its audit record).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RequestedOperation {
    Known(Operation),
    Unknown(String),
}

impl RequestedOperation {
    /// The name as it came.
    pub fn as_str(&self) -> &str {
        match self {
            RequestedOperation::Known(operation) => operation.as_str(),
            RequestedOperation::Unknown(name) => name,
        }
    }

    pub fn known(&self) -> Option<Operation> {
        match self {
            RequestedOperation::Known(operation) => Some(*operation),
            RequestedOperation::Unknown(_) => None,
        }
    }
}

impl From<Operation> for RequestedOperation {
    fn from(operation: Operation) -> Self {
        RequestedOperation::Known(operation)
    }
}

impl std::fmt::Display for RequestedOperation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for RequestedOperation {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for RequestedOperation {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let name = String::deserialize(deserializer)?;
        Ok(match Operation::from_wire(&name) {
            Some(operation) => RequestedOperation::Known(operation),
            None => RequestedOperation::Unknown(name),
        })
    }
}

/// `request`: run one operation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Request {
    pub id: String,
    pub resource_id: String,
    /// Parsed when the message is decoded; an unknown name is kept as it came, and refused as
    /// `invalid_request` once the resource is known.
    pub operation: RequestedOperation,
    #[serde(default)]
    pub params: Value,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout_ms: Option<u64>,
}

/// `cancel`: stop a running request.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Cancel {
    pub id: String,
}

/// A column of a tabular result.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Column {
    pub name: String,
    /// The database's own type name (`int4`, `text`, `jsonb`, ...).
    #[serde(rename = "type")]
    pub type_name: String,
}

/// How many values masking replaced, in all and per pattern name.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MaskedCounts {
    pub total: u64,
    pub by_pattern: BTreeMap<String, u64>,
}

/// `result`: the successful answer to a request.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OperationResult {
    pub id: String,
    pub columns: Vec<Column>,
    pub rows: ResultRows,
    pub row_count: u64,
    pub truncated: bool,
    pub masked: MaskedCounts,
    pub duration_ms: u64,
    /// Structured answer of operations that are not plain tables (`describe_table`, `explain`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub details: Option<Value>,
}

/// `error`: a request that failed or was refused, or an unacceptable message.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ErrorMessage {
    /// The request's id; absent when the message had none (malformed JSON).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    pub code: ErrorCode,
    /// Human-readable and masked.
    pub message: String,
}

wire_enum! {
    /// Stable error codes. New codes may be added; existing ones never change meaning.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
    pub enum ErrorCode {
        /// The message was not JSON, or not an object with a string `type`.
        InvalidMessage = "invalid_message",
        /// The message's `type` is not one this relay accepts.
        UnsupportedMessage = "unsupported_message",
        /// A `request` with missing or ill-typed fields or params.
        InvalidRequest = "invalid_request",
        /// No resource with that id is configured.
        UnknownResource = "unknown_resource",
        /// The operation is not in the resource's `allowedOperations`.
        OperationNotAllowed = "operation_not_allowed",
        /// The statement or command is not a plain read.
        NotReadOnly = "not_read_only",
        /// The statement reads a relation (or collection) outside the resource's table scope.
        NotAllowedRelation = "not_allowed_relation",
        /// The operation ran past its time limit.
        Timeout = "timeout",
        /// The resource's queue is full; retry later.
        Busy = "busy",
        /// The resource cannot serve now (database down, actor restarting).
        ResourceUnavailable = "resource_unavailable",
        /// The database refused or failed the operation.
        QueryFailed = "query_failed",
        /// The result exceeds the size cap.
        ResultTooLarge = "result_too_large",
        /// The control plane cancelled the request.
        Cancelled = "cancelled",
        /// The relay is shutting down and takes no new work.
        ShuttingDown = "shutting_down",
        /// The relay stands by while another relay of the tenant serves; it ran nothing.
        Standby = "standby",
        /// Masking could not run, so nothing was sent.
        MaskingFailed = "masking_failed",
        /// The audit trail cannot record, so the operation did not run.
        AuditUnavailable = "audit_unavailable",
        /// A relay bug; details are in the relay's log.
        Internal = "internal",
    }
}

mod codec;
mod rows;
pub use codec::{decode_inbound, encode_audit_line, encode_outbound, Rejection};
pub use rows::{ResultRows, WrittenRowsJson};

#[cfg(test)]
mod tests;
