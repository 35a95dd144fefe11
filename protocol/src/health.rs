//! Wire types of the `health` message: each resource's state, the audit trail's, and the summary
//! of the relay's metrics. Part of [`crate::protocol`], which re-exports every item.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// `health`: the state of every resource.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Health {
    pub resources: Vec<ResourceHealth>,
    /// The state of the audit trail.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub audit: Option<AuditHealth>,
    /// The relay's metrics summed up since it started.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metrics: Option<MetricsSummary>,
}

/// The audit trail in `health`: whether it can record, and what waits for the control plane.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AuditHealth {
    pub enabled: bool,
    /// False when records cannot be written; operations are refused meanwhile.
    pub available: bool,
    /// The chain of this start of the relay.
    pub chain_id: String,
    /// Records not yet acknowledged by the control plane.
    pub pending: u64,
    /// Records dropped because the spool was full.
    pub dropped: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

wire_enum! {
    /// Health status of one resource.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub enum HealthStatus {
        /// Not checked yet.
        Unknown = "unknown",
        Healthy = "healthy",
        Unhealthy = "unhealthy",
    }
}

/// Health of one resource, as of its last check.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ResourceHealth {
    pub id: String,
    pub name: String,
    pub status: HealthStatus,
    /// RFC 3339 UTC time of the last check; absent before the first.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_checked_at: Option<String>,
    /// Round trip of the last check in milliseconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub latency_ms: Option<u64>,
    /// Why the resource is unhealthy (masked).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// Whether the database user could write, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub can_write: Option<bool>,
}

impl ResourceHealth {
    /// A resource that has not been checked yet.
    pub fn unknown(id: &str, name: &str) -> Self {
        ResourceHealth {
            id: id.to_owned(),
            name: name.to_owned(),
            status: HealthStatus::Unknown,
            last_checked_at: None,
            latency_ms: None,
            error: None,
            can_write: None,
        }
    }
}

/// `metrics` in `health`: what the Prometheus endpoint exports, summed up since the relay started,
/// for a control plane (and an operator reading its status) without a scraper. Every field has a
/// default, so a receiver reads a summary with fields it does not know or that it lacks; new figures
/// are added as new fields.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct MetricsSummary {
    /// Operations answered by every resource, refusals of unknown resources included.
    pub operations: OperationCounts,
    /// The figures below summed over the configured resources.
    pub busy_refusals: u64,
    pub result_rows: u64,
    pub result_bytes: u64,
    pub masked_values: u64,
    pub in_flight: u64,
    pub queue_depth: u64,
    pub pool_in_use: u64,
    pub pool_idle: u64,
    /// Sessions to the control plane opened after the first one.
    pub control_plane_reconnects: u64,
    pub audit: AuditFigures,
    /// Configuration reloads since start, and how the last one ended.
    pub config_reloads: ReloadFigures,
    /// The same figures per configured resource, in id order.
    pub resources: Vec<ResourceFigures>,
}

/// Operations answered, by outcome.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct OperationCounts {
    pub ok: u64,
    pub error: u64,
    /// The errors by wire error code; only codes that occurred appear.
    pub errors_by_code: BTreeMap<String, u64>,
}

impl OperationCounts {
    /// Counts `count` more answers with `code` (`None` for ok).
    pub fn add(&mut self, code: Option<&str>, count: u64) {
        match code {
            None => self.ok += count,
            Some(code) => {
                self.error += count;
                *self.errors_by_code.entry(code.to_owned()).or_default() += count;
            }
        }
    }
}

/// One configured resource in the summary: its answers, and its load as of now.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ResourceFigures {
    pub id: String,
    pub operations: OperationCounts,
    /// Operations refused with `busy` because the resource's queue was full.
    pub busy_refusals: u64,
    pub result_rows: u64,
    /// Bytes of `result` messages sent.
    pub result_bytes: u64,
    pub masked_values: u64,
    /// Operations accepted and not yet answered.
    pub in_flight: u64,
    /// Of those, the ones waiting for a connection.
    pub queue_depth: u64,
    /// Pool connections handed out (or being opened), and those open and unused.
    pub pool_in_use: u64,
    pub pool_idle: u64,
}

/// The audit trail in the summary.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct AuditFigures {
    /// Records not yet acknowledged by the control plane.
    pub pending: u64,
    /// Records written to the spool.
    pub spooled: u64,
    /// Records dropped because the spool was full.
    pub dropped: u64,
}

/// Configuration reloads (SIGHUP or a changed file) in a metrics summary.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ReloadFigures {
    pub applied: u64,
    pub rejected: u64,
    /// Whether the last reload was applied; `None` before the first.
    pub last_applied: Option<bool>,
}
