//! An operation's record sealed straight from its fields, with no map of JSON values in between:
//! its canonical form (keys sorted, which the chain hashes) and its line (the fields in the order
//! readers know, then the chain's) are each serialized once from the same borrowed fields. Pure.

use super::chain::{Chain, Link};
use super::record::{OperationBody, Outcome};
use crate::protocol::ErrorCode;
use serde::Serialize;
use serde_json::value::{to_raw_value, RawValue};
use std::collections::BTreeMap;

/// A sealed operation record as its line shows it.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct OperationLine<'a> {
    #[serde(flatten)]
    body: &'a OperationBody<'a>,
    chain_id: &'a str,
    seq: u64,
    prev: &'a str,
    hash: &'a str,
}

/// The canonical form of an operation record without its hash. The fields are declared in the
/// byte order of their names, which is the order `canonical` sorts them in, and are skipped
/// exactly when the line skips them; the tests compare the two forms.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct CanonicalOperation<'a> {
    chain_id: &'a str,
    code: Option<ErrorCode>,
    duration_ms: u64,
    kind: &'a str,
    masked: CanonicalMasked<'a>,
    operation: Option<&'a str>,
    outcome: Outcome,
    prev: &'a str,
    relay_version: &'a str,
    request_id: Option<&'a str>,
    resource_id: Option<&'a str>,
    resource_type: Option<&'a str>,
    row_count: u64,
    seq: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    statement: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    statement_bytes: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    statement_fingerprint: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    statement_sha256: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    statement_truncated: Option<bool>,
    tenant_id: &'a str,
    time: &'a str,
    truncated: bool,
}

/// `masked` in canonical order; its patterns are a `BTreeMap`, already in byte order.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct CanonicalMasked<'a> {
    by_pattern: &'a BTreeMap<String, u64>,
    total: u64,
}

impl<'a> CanonicalOperation<'a> {
    fn new(body: &'a OperationBody<'a>, link: &'a Link<'a>) -> Self {
        CanonicalOperation {
            chain_id: link.chain_id,
            code: body.code,
            duration_ms: body.duration_ms,
            kind: body.common.kind,
            masked: CanonicalMasked {
                by_pattern: &body.masked.by_pattern,
                total: body.masked.total,
            },
            operation: body.operation,
            outcome: body.outcome,
            prev: link.prev,
            relay_version: body.common.relay_version,
            request_id: body.request_id,
            resource_id: body.resource_id,
            resource_type: body.resource_type,
            row_count: body.row_count,
            seq: link.seq,
            statement: body.statement,
            statement_bytes: body.statement_bytes,
            statement_fingerprint: body.statement_fingerprint,
            statement_sha256: body.statement_sha256,
            statement_truncated: body.statement_truncated,
            tenant_id: body.common.tenant_id,
            time: body.common.time,
            truncated: body.truncated,
        }
    }
}

/// Seals an operation's record into the chain: its seq and its line. When the record cannot be
/// serialized (borrowed strings and numbers always can), the chain is left where it was.
pub(super) fn seal_operation(
    chain: &mut Chain,
    body: &OperationBody<'_>,
) -> Result<(u64, Box<RawValue>), serde_json::Error> {
    chain.seal_written(
        |link, out| serde_json::to_writer(out, &CanonicalOperation::new(body, link)),
        |link, hash| {
            to_raw_value(&OperationLine {
                body,
                chain_id: link.chain_id,
                seq: link.seq,
                prev: link.prev,
                hash,
            })
        },
    )
}

#[cfg(test)]
#[path = "operation_line_tests.rs"]
mod tests;
