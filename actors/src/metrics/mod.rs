//! The relay's Prometheus metrics: one [`Metrics`] handle, created at start and shared (`Arc`)
//! with the actors that record into it. Recording is an atomic add or store on a metric that a
//! label lookup finds; rendering (`GET /metrics`) reads the same atomics and never waits on an
//! actor, so scraping cannot slow a request.
//!
//! Every name starts with `relay_`. Label values are bounded by [`labels::LabelPolicy`]: a label
//! never carries a statement, a parameter, a returned value or a secret.
//!
//! The same figures, summed up, travel in every `health` message ([`Metrics::summary`]).

pub mod labels;
pub mod pool;
mod register;
mod reload;
mod summary;

use crate::protocol::{ErrorCode, HealthStatus, Outbound};
use labels::{LabelPolicy, OperationLabels, OutcomeLabels, PatternLabels, ResourceLabels};
pub use pool::{PoolGauges, Waiting};
use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, MutexGuard, PoisonError, RwLock, RwLockReadGuard, RwLockWriteGuard};
use std::time::Duration;
use summary::ResourceSeries;

/// Upper bounds (seconds) of the operation latency buckets: 1 ms to the longest statement timeouts.
const LATENCY_BUCKETS: [f64; 14] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
];

fn latency_histogram() -> Histogram {
    Histogram::new(LATENCY_BUCKETS)
}

type LatencyFamily = Family<OperationLabels, Histogram, fn() -> Histogram>;

/// What the audit actor knows about its spool, as last observed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct AuditObservation {
    pub available: bool,
    /// Records not yet acknowledged by the control plane.
    pub pending: u64,
    pub pending_bytes: u64,
    /// Records dropped since the previous observation.
    pub newly_dropped: u64,
}

/// The handle every instrumented actor holds.
pub struct Metrics {
    registry: Registry,
    labels: LabelPolicy,
    operations: Family<OutcomeLabels, Counter>,
    operation_seconds: LatencyFamily,
    rows: Family<ResourceLabels, Counter>,
    result_bytes: Family<ResourceLabels, Counter>,
    masked: Family<PatternLabels, Counter>,
    in_flight: Family<ResourceLabels, Gauge>,
    in_flight_limit: Family<ResourceLabels, Gauge>,
    busy: Family<ResourceLabels, Counter>,
    healthy: Family<ResourceLabels, Gauge>,
    connections_in_use: Family<ResourceLabels, Gauge>,
    connections_idle: Family<ResourceLabels, Gauge>,
    queue_depth: Family<ResourceLabels, Gauge>,
    /// Each configured resource's series, for the summary.
    series: RwLock<BTreeMap<String, ResourceSeries>>,
    /// Answers by resource label and error code (empty when ok), for the summary: the families
    /// cannot be listed.
    outcomes: Mutex<BTreeMap<(String, String), u64>>,
    control_plane_connected: Gauge,
    control_plane_reconnects: Counter,
    ever_connected: AtomicBool,
    audit_available: Gauge,
    audit_pending: Gauge,
    audit_pending_bytes: Gauge,
    audit_spooled: Counter,
    audit_dropped: Counter,
    reloads: reload::ReloadMetrics,
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics::new(LabelPolicy::default())
    }
}

impl Metrics {
    /// Metrics for the configured resources, each limited to `poolSize + maxQueuedRequests`.
    pub fn for_config(resources: &[relay_config::Resource]) -> Self {
        Metrics::for_resources(
            resources
                .iter()
                .map(|spec| (spec.id.as_str(), spec.pool_size + spec.max_queued_requests)),
        )
    }

    /// Metrics for the given resources and their in-flight limits; each starts with its series
    /// present (at zero), so a dashboard sees every resource before its first request.
    pub fn for_resources<'a>(resources: impl IntoIterator<Item = (&'a str, u32)>) -> Self {
        let resources: Vec<(&str, u32)> = resources.into_iter().collect();
        let metrics = Metrics::new(LabelPolicy::new(
            resources.iter().map(|(id, _)| (*id).to_owned()),
        ));
        for (id, limit) in resources {
            let labels = metrics.labels.resource_labels(id);
            metrics
                .in_flight_limit
                .get_or_create(&labels)
                .set(i64::from(limit));
            metrics.healthy.get_or_create(&labels).set(0);
            let series = ResourceSeries::new(&metrics, &labels);
            metrics.series_mut().insert(labels.resource, series);
        }
        metrics
    }

    fn new(labels: LabelPolicy) -> Self {
        let mut metrics = Metrics {
            registry: Registry::default(),
            labels,
            operations: Family::default(),
            operation_seconds: LatencyFamily::new_with_constructor(latency_histogram),
            rows: Family::default(),
            result_bytes: Family::default(),
            masked: Family::default(),
            in_flight: Family::default(),
            in_flight_limit: Family::default(),
            busy: Family::default(),
            healthy: Family::default(),
            connections_in_use: Family::default(),
            connections_idle: Family::default(),
            queue_depth: Family::default(),
            series: RwLock::default(),
            outcomes: Mutex::new(BTreeMap::new()),
            control_plane_connected: Gauge::default(),
            control_plane_reconnects: Counter::default(),
            ever_connected: AtomicBool::new(false),
            audit_available: Gauge::default(),
            audit_pending: Gauge::default(),
            audit_pending_bytes: Gauge::default(),
            audit_spooled: Counter::default(),
            audit_dropped: Counter::default(),
            reloads: reload::ReloadMetrics::default(),
        };
        metrics.register();
        metrics
    }

    /// Prometheus text exposition of every metric.
    pub fn render(&self) -> Result<String, std::fmt::Error> {
        let mut text = String::new();
        encode(&mut text, &self.registry)?;
        Ok(text)
    }

    /// One request answered by the pipeline: its outcome, latency, rows and masked values.
    pub fn operation_answered(
        &self,
        resource: &str,
        operation: &str,
        answer: &Outbound,
        took: Duration,
    ) {
        self.count_outcome(self.labels.outcome_labels(resource, operation, answer));
        self.operation_seconds
            .get_or_create(&self.labels.operation_labels(resource, operation))
            .observe(took.as_secs_f64());
        let Outbound::Result(result) = answer else {
            return;
        };
        let resource = self.labels.resource(resource);
        let labels = ResourceLabels { resource };
        self.rows.get_or_create(&labels).inc_by(result.row_count);
        for (pattern, count) in &result.masked.by_pattern {
            let labels = PatternLabels {
                resource: labels.resource.clone(),
                pattern: pattern.clone(),
            };
            self.masked.get_or_create(&labels).inc_by(*count);
        }
        if let Some(series) = self.series().get(&labels.resource) {
            series
                .masked
                .inc_by(result.masked.by_pattern.values().sum());
        }
    }

    fn count_outcome(&self, labels: OutcomeLabels) {
        self.operations.get_or_create(&labels).inc();
        let key = (labels.resource, labels.code);
        *self.outcomes().entry(key).or_default() += 1;
    }

    fn series(&self) -> RwLockReadGuard<'_, BTreeMap<String, ResourceSeries>> {
        // Handles to atomics stay valid whatever panicked while holding the lock.
        self.series.read().unwrap_or_else(PoisonError::into_inner)
    }

    fn series_mut(&self) -> RwLockWriteGuard<'_, BTreeMap<String, ResourceSeries>> {
        self.series.write().unwrap_or_else(PoisonError::into_inner)
    }

    fn outcomes(&self) -> MutexGuard<'_, BTreeMap<(String, String), u64>> {
        // Plain counts stay valid whatever panicked while holding the lock.
        self.outcomes.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// A request refused before it reached the pipeline (a duplicate id, the relay shutting down).
    pub fn request_refused(&self, resource: &str, operation: &str, code: ErrorCode) {
        self.count_outcome(self.labels.refusal_labels(resource, operation, code));
    }

    /// A result message of `bytes` was sent for `resource`.
    pub fn result_sent(&self, resource: &str, bytes: usize) {
        let labels = self.labels.resource_labels(resource);
        self.result_bytes
            .get_or_create(&labels)
            .inc_by(bytes as u64);
    }

    pub fn in_flight(&self, resource: &str, count: usize) {
        let count = i64::try_from(count).unwrap_or(i64::MAX);
        self.in_flight
            .get_or_create(&self.labels.resource_labels(resource))
            .set(count);
    }

    pub fn busy_refusal(&self, resource: &str) {
        self.busy
            .get_or_create(&self.labels.resource_labels(resource))
            .inc();
    }

    /// The gauges of `resource`'s pool and queue, for the backend that owns the pool; detached
    /// ones for a resource that is not configured.
    pub fn pool_gauges(&self, resource: &str) -> PoolGauges {
        self.series()
            .get(resource)
            .map(|series| series.pool.clone())
            .unwrap_or_default()
    }

    pub fn health(&self, resource: &str, status: HealthStatus) {
        let healthy = i64::from(status == HealthStatus::Healthy);
        self.healthy
            .get_or_create(&self.labels.resource_labels(resource))
            .set(healthy);
    }

    /// A session to the control plane opened (`true`) or ended.
    pub fn control_plane(&self, connected: bool) {
        self.control_plane_connected.set(i64::from(connected));
        if connected && self.ever_connected.swap(true, Ordering::Relaxed) {
            self.control_plane_reconnects.inc();
        }
    }

    /// One audit record went to the spool.
    pub fn audit_spooled(&self) {
        self.audit_spooled.inc();
    }

    pub fn audit_observed(&self, seen: AuditObservation) {
        self.audit_available.set(i64::from(seen.available));
        self.audit_pending
            .set(i64::try_from(seen.pending).unwrap_or(i64::MAX));
        self.audit_pending_bytes
            .set(i64::try_from(seen.pending_bytes).unwrap_or(i64::MAX));
        self.audit_dropped.inc_by(seen.newly_dropped);
    }
}

#[cfg(test)]
#[path = "tests.rs"]
mod tests;
