//! The configuration reload metrics: how many reloads were applied or rejected, and how the last
//! one ended and when.

use super::Metrics;
use crate::protocol::ReloadFigures;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;
use std::time::{SystemTime, UNIX_EPOCH};

/// `result` is `applied` or `rejected`.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ReloadLabels {
    pub result: String,
}

/// The reload series.
#[derive(Default)]
pub(super) struct ReloadMetrics {
    reloads: Family<ReloadLabels, Counter>,
    last_success: Gauge,
    last_timestamp: Gauge,
}

impl ReloadMetrics {
    pub(super) fn register(&self, registry: &mut Registry) {
        for result in ["applied", "rejected"] {
            let labels = ReloadLabels {
                result: result.to_owned(),
            };
            self.reloads.get_or_create(&labels).inc_by(0);
        }
        registry.register(
            "relay_config_reloads",
            "Configuration reloads (SIGHUP or a changed file), by result: applied or rejected",
            self.reloads.clone(),
        );
        registry.register(
            "relay_config_last_reload_success",
            "1 when the last configuration reload was applied, 0 when it was rejected or none ran",
            self.last_success.clone(),
        );
        registry.register(
            "relay_config_last_reload_timestamp_seconds",
            "Unix time of the last configuration reload, 0 before the first",
            self.last_timestamp.clone(),
        );
    }
}

impl ReloadMetrics {
    /// The reloads so far, for the `health` message's summary.
    pub(super) fn figures(&self) -> ReloadFigures {
        let count = |result: &str| {
            let labels = ReloadLabels {
                result: result.to_owned(),
            };
            self.reloads.get_or_create(&labels).get()
        };
        let ran = self.last_timestamp.get() > 0;
        ReloadFigures {
            applied: count("applied"),
            rejected: count("rejected"),
            last_applied: ran.then(|| self.last_success.get() == 1),
        }
    }
}

impl Metrics {
    /// A reload ended: `applied`, or rejected (the previous configuration stays in effect).
    pub fn config_reloaded(&self, applied: bool) {
        let result = if applied { "applied" } else { "rejected" };
        let labels = ReloadLabels {
            result: result.to_owned(),
        };
        self.reloads.reloads.get_or_create(&labels).inc();
        self.reloads.last_success.set(i64::from(applied));
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |since| since.as_secs());
        self.reloads
            .last_timestamp
            .set(i64::try_from(now).unwrap_or(i64::MAX));
    }

    /// A reload added resource `id` with this in-flight limit: its series start at zero, like
    /// those of the resources configured at start.
    pub fn resource_added(&self, id: &str, limit: u32) {
        self.labels.add_resource(id);
        let labels = self.labels.resource_labels(id);
        self.in_flight_limit
            .get_or_create(&labels)
            .set(i64::from(limit));
        self.in_flight.get_or_create(&labels).set(0);
        self.busy.get_or_create(&labels).inc_by(0);
        self.healthy.get_or_create(&labels).set(0);
        let series = super::summary::ResourceSeries::new(self, &labels);
        self.series_mut().entry(labels.resource).or_insert(series);
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn sample(text: &str, series: &str) -> Option<f64> {
        text.lines()
            .find_map(|line| line.strip_prefix(series)?.strip_prefix(' '))
            .map(|value| value.parse().unwrap())
    }

    #[test]
    fn reloads_are_counted_by_result_and_the_last_one_is_kept() {
        let metrics = Metrics::for_resources([("main-pg", 4)]);
        let text = metrics.render().unwrap();
        assert_eq!(
            sample(&text, r#"relay_config_reloads_total{result="applied"}"#),
            Some(0.0)
        );
        assert_eq!(
            sample(&text, "relay_config_last_reload_timestamp_seconds"),
            Some(0.0)
        );
        metrics.config_reloaded(true);
        metrics.config_reloaded(false);
        let text = metrics.render().unwrap();
        assert_eq!(
            sample(&text, r#"relay_config_reloads_total{result="applied"}"#),
            Some(1.0)
        );
        assert_eq!(
            sample(&text, r#"relay_config_reloads_total{result="rejected"}"#),
            Some(1.0)
        );
        assert_eq!(sample(&text, "relay_config_last_reload_success"), Some(0.0));
        assert!(sample(&text, "relay_config_last_reload_timestamp_seconds").unwrap() > 0.0);
    }

    #[test]
    fn an_added_resource_becomes_a_label() {
        let metrics = Metrics::for_resources([("main-pg", 4)]);
        metrics.busy_refusal("late");
        metrics.resource_added("late", 7);
        metrics.busy_refusal("late");
        let text = metrics.render().unwrap();
        let limit = r#"relay_resource_in_flight_limit{resource="late"}"#;
        assert_eq!(sample(&text, limit), Some(7.0));
        let busy = r#"relay_resource_busy_refusals_total{resource="late"}"#;
        assert_eq!(sample(&text, busy), Some(1.0));
        let summary = metrics.summary();
        let late = summary.resources.iter().find(|r| r.id == "late").unwrap();
        assert_eq!(late.busy_refusals, 1);
        metrics.pool_gauges("late").connections(2, 3);
        assert_eq!(metrics.summary().pool_in_use, 2);
    }

    #[test]
    fn the_summary_carries_the_reloads() {
        let metrics = Metrics::for_resources([("main-pg", 4)]);
        assert_eq!(metrics.summary().config_reloads, ReloadFigures::default());
        metrics.config_reloaded(false);
        metrics.config_reloaded(true);
        let reloads = metrics.summary().config_reloads;
        assert_eq!((reloads.applied, reloads.rejected), (1, 1));
        assert_eq!(reloads.last_applied, Some(true));
    }
}
