//! Tests of the metrics handle: what each recording does to the rendered exposition.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use super::*;
use crate::protocol::{ErrorMessage, MaskedCounts, OperationResult};
use std::collections::BTreeMap;

fn metrics() -> Metrics {
    Metrics::for_resources([("main-pg", 14), ("orders", 3)])
}

/// The value of the sample line that starts with `series` (name and labels).
fn sample(text: &str, series: &str) -> Option<f64> {
    text.lines()
        .find_map(|line| line.strip_prefix(series)?.strip_prefix(' '))
        .map(|value| value.parse().unwrap())
}

fn result(rows: u64, masked: &[(&str, u64)]) -> Outbound {
    let by_pattern: BTreeMap<String, u64> = masked
        .iter()
        .map(|(name, n)| ((*name).to_owned(), *n))
        .collect();
    Outbound::Result(OperationResult {
        id: "r1".into(),
        columns: vec![],
        rows: Default::default(),
        row_count: rows,
        truncated: false,
        masked: MaskedCounts {
            total: by_pattern.values().sum(),
            by_pattern,
        },
        duration_ms: 3,
        details: None,
    })
}

fn refused(code: ErrorCode, message: &str) -> Outbound {
    Outbound::Error(ErrorMessage {
        id: Some("r2".into()),
        code,
        message: message.into(),
    })
}

#[test]
fn configured_resources_are_present_before_any_request() {
    let text = metrics().render().unwrap();
    assert_eq!(
        sample(
            &text,
            "relay_resource_in_flight_limit{resource=\"main-pg\"}"
        ),
        Some(14.0)
    );
    assert_eq!(
        sample(&text, "relay_resource_in_flight{resource=\"orders\"}"),
        Some(0.0)
    );
    assert_eq!(
        sample(&text, "relay_resource_healthy{resource=\"orders\"}"),
        Some(0.0)
    );
    assert_eq!(
        sample(
            &text,
            "relay_resource_busy_refusals_total{resource=\"orders\"}"
        ),
        Some(0.0)
    );
    assert_eq!(sample(&text, "relay_control_plane_connected"), Some(0.0));
    assert!(text.ends_with("# EOF\n"), "{text}");
}

#[test]
fn answers_count_by_outcome_code_rows_and_pattern() {
    let metrics = metrics();
    let took = Duration::from_millis(20);
    metrics.operation_answered(
        "main-pg",
        "query",
        &result(3, &[("email", 2), ("cpf", 1)]),
        took,
    );
    metrics.operation_answered("main-pg", "query", &result(4, &[("email", 1)]), took);
    let secret = "DELETE FROM users WHERE password = 'hunter2'";
    metrics.operation_answered(
        "main-pg",
        "query",
        &refused(ErrorCode::NotReadOnly, secret),
        took,
    );
    let text = metrics.render().unwrap();
    let ok =
        "relay_operations_total{resource=\"main-pg\",operation=\"query\",outcome=\"ok\",code=\"\"}";
    assert_eq!(sample(&text, ok), Some(2.0));
    let error = "relay_operations_total{resource=\"main-pg\",operation=\"query\",outcome=\"error\",code=\"not_read_only\"}";
    assert_eq!(sample(&text, error), Some(1.0));
    assert_eq!(
        sample(&text, "relay_result_rows_total{resource=\"main-pg\"}"),
        Some(7.0)
    );
    let email = "relay_masked_values_total{resource=\"main-pg\",pattern=\"email\"}";
    assert_eq!(sample(&text, email), Some(3.0));
    let count = "relay_operation_duration_seconds_count{resource=\"main-pg\",operation=\"query\"}";
    assert_eq!(sample(&text, count), Some(3.0));
    let bucket = "relay_operation_duration_seconds_bucket{le=\"0.025\",resource=\"main-pg\",operation=\"query\"}";
    assert_eq!(sample(&text, bucket), Some(3.0), "{text}");
    assert!(
        !text.contains("hunter2") && !text.contains("DELETE"),
        "{text}"
    );
}

#[test]
fn made_up_names_share_one_unknown_label() {
    let metrics = metrics();
    let took = Duration::ZERO;
    for name in ["x' OR 1=1", "SELECT * FROM secrets", "tok-SEKRIT"] {
        metrics.operation_answered(name, name, &refused(ErrorCode::UnknownResource, name), took);
        metrics.request_refused(name, name, ErrorCode::InvalidRequest);
        metrics.result_sent(name, 10);
    }
    let text = metrics.render().unwrap();
    let unknown = "relay_operations_total{resource=\"unknown\",operation=\"unknown\",outcome=\"error\",code=\"unknown_resource\"}";
    assert_eq!(sample(&text, unknown), Some(3.0));
    assert_eq!(
        sample(&text, "relay_result_bytes_total{resource=\"unknown\"}"),
        Some(30.0)
    );
    for name in ["OR 1=1", "SELECT", "SEKRIT"] {
        assert!(!text.contains(name), "{text}");
    }
}

#[test]
fn resource_gauges_follow_the_latest_value() {
    let metrics = metrics();
    metrics.in_flight("orders", 2);
    metrics.busy_refusal("orders");
    metrics.busy_refusal("orders");
    metrics.health("orders", HealthStatus::Healthy);
    metrics.health("main-pg", HealthStatus::Healthy);
    metrics.health("main-pg", HealthStatus::Unhealthy);
    let text = metrics.render().unwrap();
    assert_eq!(
        sample(&text, "relay_resource_in_flight{resource=\"orders\"}"),
        Some(2.0)
    );
    assert_eq!(
        sample(
            &text,
            "relay_resource_busy_refusals_total{resource=\"orders\"}"
        ),
        Some(2.0)
    );
    assert_eq!(
        sample(&text, "relay_resource_healthy{resource=\"orders\"}"),
        Some(1.0)
    );
    assert_eq!(
        sample(&text, "relay_resource_healthy{resource=\"main-pg\"}"),
        Some(0.0)
    );
}

#[test]
fn only_sessions_after_the_first_are_reconnects() {
    let metrics = metrics();
    metrics.control_plane(true);
    let text = metrics.render().unwrap();
    assert_eq!(sample(&text, "relay_control_plane_connected"), Some(1.0));
    assert_eq!(
        sample(&text, "relay_control_plane_reconnects_total"),
        Some(0.0)
    );
    metrics.control_plane(false);
    metrics.control_plane(true);
    metrics.control_plane(false);
    let text = metrics.render().unwrap();
    assert_eq!(sample(&text, "relay_control_plane_connected"), Some(0.0));
    assert_eq!(
        sample(&text, "relay_control_plane_reconnects_total"),
        Some(1.0)
    );
}

#[test]
fn audit_gauges_and_counters() {
    let metrics = metrics();
    metrics.audit_spooled();
    metrics.audit_spooled();
    let seen = AuditObservation {
        available: true,
        pending: 2,
        pending_bytes: 300,
        newly_dropped: 1,
    };
    metrics.audit_observed(seen);
    metrics.audit_observed(AuditObservation {
        newly_dropped: 2,
        ..seen
    });
    let text = metrics.render().unwrap();
    assert_eq!(sample(&text, "relay_audit_available"), Some(1.0));
    assert_eq!(sample(&text, "relay_audit_records_pending"), Some(2.0));
    assert_eq!(sample(&text, "relay_audit_spool_bytes"), Some(300.0));
    assert_eq!(
        sample(&text, "relay_audit_records_spooled_total"),
        Some(2.0)
    );
    assert_eq!(
        sample(&text, "relay_audit_records_dropped_total"),
        Some(3.0)
    );
}

#[test]
fn pool_gauges_are_exported_per_resource() {
    let metrics = metrics();
    let text = metrics.render().unwrap();
    let in_use = "relay_resource_connections_in_use{resource=\"orders\"}";
    assert_eq!(sample(&text, in_use), Some(0.0));
    let gauges = metrics.pool_gauges("orders");
    gauges.connections(2, 1);
    let waiting = gauges.waiting();
    let text = metrics.render().unwrap();
    assert_eq!(sample(&text, in_use), Some(2.0));
    let idle = "relay_resource_connections_idle{resource=\"orders\"}";
    assert_eq!(sample(&text, idle), Some(1.0));
    let queue = "relay_resource_queue_depth{resource=\"orders\"}";
    assert_eq!(sample(&text, queue), Some(1.0));
    drop(waiting);
    assert_eq!(sample(&metrics.render().unwrap(), queue), Some(0.0));
    // A resource that is not configured gets gauges that record nowhere.
    metrics.pool_gauges("nope").connections(5, 5);
    assert!(!metrics.render().unwrap().contains("nope"));
}

#[test]
fn the_summary_adds_up_what_the_exposition_shows() {
    let metrics = metrics();
    let took = Duration::from_millis(5);
    metrics.operation_answered("main-pg", "query", &result(3, &[("email", 2)]), took);
    metrics.operation_answered(
        "orders",
        "query",
        &result(1, &[("email", 1), ("cpf", 1)]),
        took,
    );
    let busy = refused(ErrorCode::Busy, "queue full");
    metrics.operation_answered("orders", "query", &busy, took);
    metrics.busy_refusal("orders");
    metrics.request_refused("made-up", "query", ErrorCode::UnknownResource);
    metrics.result_sent("orders", 120);
    metrics.pool_gauges("main-pg").connections(1, 2);
    metrics.in_flight("main-pg", 1);
    metrics.control_plane(true);
    metrics.control_plane(true);
    metrics.audit_spooled();
    metrics.audit_observed(AuditObservation {
        available: true,
        pending: 4,
        pending_bytes: 9,
        newly_dropped: 1,
    });
    let summary = metrics.summary();
    assert_eq!((summary.operations.ok, summary.operations.error), (2, 2));
    let codes: Vec<(&str, u64)> = summary
        .operations
        .errors_by_code
        .iter()
        .map(|(code, n)| (code.as_str(), *n))
        .collect();
    assert_eq!(codes, [("busy", 1), ("unknown_resource", 1)]);
    assert_eq!((summary.result_rows, summary.masked_values), (4, 4));
    assert_eq!((summary.busy_refusals, summary.result_bytes), (1, 120));
    assert_eq!((summary.pool_in_use, summary.pool_idle), (1, 2));
    assert_eq!((summary.in_flight, summary.queue_depth), (1, 0));
    assert_eq!(summary.control_plane_reconnects, 1);
    let audit = summary.audit;
    assert_eq!((audit.pending, audit.spooled, audit.dropped), (4, 1, 1));
    let ids: Vec<&str> = summary.resources.iter().map(|r| r.id.as_str()).collect();
    assert_eq!(ids, ["main-pg", "orders"]);
    let orders = &summary.resources[1];
    assert_eq!((orders.operations.ok, orders.operations.error), (1, 1));
    assert_eq!((orders.masked_values, orders.busy_refusals), (2, 1));
    assert_eq!(summary.resources[0].pool_idle, 2);
}

#[test]
fn the_summary_reads_as_camel_case_json_and_tolerates_new_fields() {
    let metrics = metrics();
    metrics.operation_answered("orders", "list_tables", &result(1, &[]), Duration::ZERO);
    let json = serde_json::to_value(metrics.summary()).unwrap();
    assert_eq!(json["operations"]["ok"], 1, "{json}");
    assert_eq!(json["resources"][1]["poolInUse"], 0, "{json}");
    assert_eq!(json["controlPlaneReconnects"], 0, "{json}");
    let mut newer = json.clone();
    newer["aFigureAddedLater"] = 3.into();
    let read: crate::protocol::MetricsSummary = serde_json::from_value(newer).unwrap();
    assert_eq!(read, metrics.summary());
    let older: crate::protocol::MetricsSummary =
        serde_json::from_value(serde_json::json!({"resultRows": 5})).unwrap();
    assert_eq!((older.result_rows, older.operations.ok), (5, 0));
}
