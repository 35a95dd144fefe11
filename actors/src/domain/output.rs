//! What an operation produced (before and after masking), where its values come from, and why an
//! operation, its masking or its audit record failed.

use super::written::WrittenRows;
use crate::protocol::{Column, ErrorCode, MaskedCounts};
use serde_json::Value;
use thiserror::Error;

/// A protected column an output reads: the index of its column rule and the column's name.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Source {
    pub rule: usize,
    pub column: String,
}

/// What an operation produced, before masking.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct OperationOutput {
    pub columns: Vec<Column>,
    pub rows: Vec<Vec<Value>>,
    pub truncated: bool,
    pub details: Option<Value>,
    pub lineage: OutputLineage,
    /// Rows the resource masked as it decoded them, written as the answer's JSON text; `rows`
    /// is then empty. Only a [`super::MaskedRowWriter`] makes these.
    pub written: Option<Box<WrittenRows>>,
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

/// Something to mask.
// Moved a few times per request, once each way through the masker: boxing the output would
// cost an allocation per request to save copying a few hundred bytes.
#[allow(clippy::large_enum_variant)]
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

/// The audit trail cannot take records; operations are refused.
#[derive(Debug, Clone, Error, PartialEq)]
#[error("audit unavailable: {0}")]
pub struct AuditUnavailable(pub String);
