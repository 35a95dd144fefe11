//! The metrics summary in `health`: after some traffic the dev control plane's status document
//! shows the same figures as the Prometheus endpoint, per resource and summed up, and nothing
//! secret or queried.

use crate::metrics::{operation, scrape, scrape_until, value};
use crate::mongo_fixture::Mongo;
use crate::pg_fixture::READER;
use crate::support::{
    free_port, relay_config_for, relay_config_with, DevPlane, Relay, API_KEY, TOKEN,
};
use serde_json::{json, Value};
use std::time::Duration;

/// The status document once its summary counts `ok` answered operations.
fn status_with_ok_operations(devplane: &DevPlane, ok: u64) -> Value {
    let status = devplane.wait_status(Duration::from_secs(15), |status| {
        status["metrics"]["operations"]["ok"].as_u64() == Some(ok)
    });
    assert_eq!(
        status["metrics"]["operations"]["ok"].as_u64(),
        Some(ok),
        "{status:#}"
    );
    status
}

#[test]
fn the_status_document_shows_the_metrics_summary_after_traffic() {
    let port = free_port();
    let devplane = DevPlane::start();
    let config = relay_config_for(devplane.port, "  healthIntervalSeconds: 1", READER, "");
    let config = format!("{config}\nmetrics:\n  listen: 127.0.0.1:{port}\n");
    let relay = Relay::start(&config, TOKEN);
    relay.wait_ready();
    let email = json!({"sql": "SELECT name, email FROM customers WHERE id = 1"});
    assert_eq!(
        operation(&devplane, "main-pg", "query", email)["type"],
        "result"
    );
    let tables = operation(&devplane, "main-pg", "list_tables", json!({}));
    assert_eq!(tables["type"], "result", "{tables}");
    let delete = json!({"sql": "DELETE FROM customers WHERE name = 'zz-marker'"});
    let refused = operation(&devplane, "main-pg", "query", delete);
    assert_eq!(refused["code"], "not_read_only", "{refused}");

    // Every answer is counted by now; a later health message carries the same figures.
    let samples = scrape(port).1;
    let rows = value(&samples, r#"relay_result_rows_total{resource="main-pg"}"#);
    let bytes = value(&samples, r#"relay_result_bytes_total{resource="main-pg"}"#);
    assert!(rows >= 1.0 && bytes > 0.0, "{samples:?}");
    let status = devplane.wait_status(Duration::from_secs(15), |status| {
        let summary = &status["metrics"];
        summary["operations"]["error"] == 1 && summary["resultBytes"].as_f64() == Some(bytes)
    });
    let summary = &status["metrics"];
    assert_eq!(summary["resultBytes"].as_f64(), Some(bytes), "{status:#}");
    assert_eq!(summary["resultRows"].as_f64(), Some(rows), "{summary:#}");
    assert_eq!(summary["operations"]["ok"], 2, "{summary:#}");
    assert_eq!(summary["operations"]["error"], 1, "{summary:#}");
    assert_eq!(
        summary["operations"]["errorsByCode"],
        json!({"not_read_only": 1})
    );
    assert_eq!(summary["maskedValues"], 1, "{summary:#}");
    assert_eq!(summary["busyRefusals"], 0);
    assert_eq!(summary["controlPlaneReconnects"], 0);
    assert!(
        summary["audit"]["spooled"].as_u64() >= Some(4),
        "{summary:#}"
    );
    assert_eq!(summary["audit"]["dropped"], 0);
    let resources = summary["resources"].as_array().unwrap();
    assert_eq!(resources.len(), 1, "{summary:#}");
    let main = &resources[0];
    assert_eq!(main["id"], "main-pg");
    assert_eq!(main["operations"], summary["operations"]);
    assert_eq!(main["resultBytes"], summary["resultBytes"]);
    assert_eq!(main["inFlight"], 0);
    assert_eq!(main["queueDepth"], 0);
    // The connection is open: idle, or in use by a health check (one runs every second).
    let open = main["poolIdle"].as_u64().unwrap() + main["poolInUse"].as_u64().unwrap();
    assert!(open >= 1, "{main}");
    assert_eq!(summary["poolIdle"], main["poolIdle"]);

    let text = summary.to_string();
    for secret in [
        TOKEN,
        API_KEY,
        "ana@example.com",
        "zz-marker",
        "DELETE",
        "SELECT",
    ] {
        assert!(!text.contains(secret), "{secret} in {text}");
    }
    drop(relay);
}

#[test]
fn the_summary_travels_without_the_metrics_endpoint() {
    let devplane = DevPlane::start();
    let config = relay_config_for(devplane.port, "  healthIntervalSeconds: 1", READER, "");
    let relay = Relay::start(&config, TOKEN);
    relay.wait_ready();
    let tables = operation(&devplane, "main-pg", "list_tables", json!({}));
    assert_eq!(tables["type"], "result", "{tables}");
    let status = status_with_ok_operations(&devplane, 1);
    assert_eq!(
        status["metrics"]["resources"][0]["id"], "main-pg",
        "{status:#}"
    );
    drop(relay);
}

/// The MongoDB driver's pool reports through its connection events: after a query its
/// connection is open and back in the pool, and nothing waits.
#[test]
fn the_mongodb_pool_shows_its_connections() {
    let mongo = Mongo::start();
    let port = free_port();
    let devplane = DevPlane::start();
    let config = relay_config_with(devplane.port, "", &mongo.resource_yaml(""));
    let relay = Relay::start(
        &format!("{config}\nmetrics:\n  listen: 127.0.0.1:{port}\n"),
        TOKEN,
    );
    relay.wait_ready();
    let find = json!({"collection": "customers", "filter": {}});
    let found = operation(&devplane, "mongo", "query", find);
    assert_eq!(found["type"], "result", "{found}");
    let in_use = r#"relay_resource_connections_in_use{resource="mongo"}"#;
    let idle = r#"relay_resource_connections_idle{resource="mongo"}"#;
    assert_eq!(scrape_until(port, in_use, 0.0), 0.0);
    let samples = scrape(port).1;
    assert!(value(&samples, idle) >= 1.0, "{samples:?}");
    let queued = r#"relay_resource_queue_depth{resource="mongo"}"#;
    assert_eq!(value(&samples, queued), 0.0);
    drop(relay);
}
