//! The summary of the metrics that every `health` message carries: the same atomics the
//! exposition reads, summed up per resource and for the whole relay.

use super::labels::ResourceLabels;
use super::pool::{non_negative, PoolGauges};
use super::Metrics;
use crate::protocol::{AuditFigures, MetricsSummary, OperationCounts, ResourceFigures};
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::gauge::Gauge;

/// The series of one configured resource, kept at hand: the same atomics the families hold, and
/// the masked total (the exposition counts masked values per pattern only).
pub(super) struct ResourceSeries {
    in_flight: Gauge,
    busy: Counter,
    rows: Counter,
    bytes: Counter,
    pub(super) masked: Counter,
    pub(super) pool: PoolGauges,
}

impl ResourceSeries {
    /// Creates the resource's series in `metrics`' families (at zero) and keeps their handles.
    pub(super) fn new(metrics: &Metrics, labels: &ResourceLabels) -> Self {
        let gauge = |family: &prometheus_client::metrics::family::Family<ResourceLabels, Gauge>| {
            family.get_or_create(labels).clone()
        };
        ResourceSeries {
            in_flight: gauge(&metrics.in_flight),
            busy: metrics.busy.get_or_create(labels).clone(),
            rows: metrics.rows.get_or_create(labels).clone(),
            bytes: metrics.result_bytes.get_or_create(labels).clone(),
            masked: Counter::default(),
            pool: PoolGauges::new(
                gauge(&metrics.connections_in_use),
                gauge(&metrics.connections_idle),
                gauge(&metrics.queue_depth),
            ),
        }
    }

    fn figures(&self, id: &str, operations: OperationCounts) -> ResourceFigures {
        ResourceFigures {
            id: id.to_owned(),
            operations,
            busy_refusals: self.busy.get(),
            result_rows: self.rows.get(),
            result_bytes: self.bytes.get(),
            masked_values: self.masked.get(),
            in_flight: non_negative(self.in_flight.get()),
            queue_depth: self.pool.queued(),
            pool_in_use: self.pool.in_use(),
            pool_idle: self.pool.idle(),
        }
    }
}

impl Metrics {
    /// Every figure as of now, per configured resource and summed up. Reads atomics and one
    /// short lock; never waits on an actor.
    pub fn summary(&self) -> MetricsSummary {
        let mut summary = MetricsSummary::default();
        let mut by_resource = std::collections::BTreeMap::<&str, OperationCounts>::new();
        let outcomes = self.outcomes();
        for ((resource, code), count) in outcomes.iter() {
            let code = Some(code.as_str()).filter(|code| !code.is_empty());
            summary.operations.add(code, *count);
            by_resource.entry(resource).or_default().add(code, *count);
        }
        for (id, series) in self.series().iter() {
            let operations = by_resource.remove(id.as_str()).unwrap_or_default();
            let figures = series.figures(id, operations);
            add_resource(&mut summary, &figures);
            summary.resources.push(figures);
        }
        drop(outcomes);
        summary.control_plane_reconnects = self.control_plane_reconnects.get();
        summary.config_reloads = self.reloads.figures();
        summary.audit = AuditFigures {
            pending: non_negative(self.audit_pending.get()),
            spooled: self.audit_spooled.get(),
            dropped: self.audit_dropped.get(),
        };
        summary
    }
}

/// Adds one resource's figures to the relay's totals.
fn add_resource(summary: &mut MetricsSummary, figures: &ResourceFigures) {
    summary.busy_refusals += figures.busy_refusals;
    summary.result_rows += figures.result_rows;
    summary.result_bytes += figures.result_bytes;
    summary.masked_values += figures.masked_values;
    summary.in_flight += figures.in_flight;
    summary.queue_depth += figures.queue_depth;
    summary.pool_in_use += figures.pool_in_use;
    summary.pool_idle += figures.pool_idle;
}
