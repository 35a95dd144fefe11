//! The opt-in metrics endpoint: counters move with bounded labels, nothing secret or queried is
//! exposed, only `GET /metrics` answers, and without `metrics.listen` the relay listens nowhere.

use crate::pg_fixture::READER;
use crate::support::{free_port, relay_config_for, DevPlane, Relay, API_KEY, TOKEN};
use relay_actors::log_event::LogEvent;
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::net::TcpListener;
use std::time::Duration;

/// Values that must never appear in a metric: the token, the API key, SQL text, returned data
/// and names a request made up.
const NEVER_EXPOSED: [&str; 8] = [
    TOKEN,
    API_KEY,
    "ana@example.com",
    "DELETE",
    "zz-marker",
    "SELECT",
    "made-up-resource",
    "drop_everything",
];

fn started_with_metrics(port: u16) -> (DevPlane, Relay) {
    let devplane = DevPlane::start();
    let config = relay_config_for(devplane.port, "", READER, "");
    let config = format!("{config}\nmetrics:\n  listen: 127.0.0.1:{port}\n");
    let relay = Relay::start(&config, TOKEN);
    relay.wait_ready();
    (devplane, relay)
}

pub(crate) fn operation(
    devplane: &DevPlane,
    resource: &str,
    operation: &str,
    params: Value,
) -> Value {
    let body = json!({"resourceId": resource, "operation": operation, "params": params});
    let (code, answer) = devplane.operation(body);
    assert_eq!(code, 200, "{answer}");
    answer
}

/// One sample of the exposition: the series (name and labels as written) and its value.
pub(crate) fn parse_exposition(text: &str) -> BTreeMap<String, f64> {
    text.lines()
        .filter(|line| !line.starts_with('#') && !line.is_empty())
        .map(|line| {
            let (series, value) = line
                .rsplit_once(' ')
                .unwrap_or_else(|| panic!("bad line {line}"));
            (
                series.to_owned(),
                value
                    .parse()
                    .unwrap_or_else(|_| panic!("bad value in {line}")),
            )
        })
        .collect()
}

/// Label values of every series, for the checks that nothing leaks.
fn label_values(series: &str) -> Vec<&str> {
    let Some((_, labels)) = series.split_once('{') else {
        return vec![];
    };
    labels
        .split("\",")
        .filter_map(|pair| Some(pair.split_once("=\"")?.1.trim_end_matches("\"}")))
        .collect()
}

pub(crate) fn scrape(port: u16) -> (String, BTreeMap<String, f64>) {
    let response = ureq::get(&format!("http://127.0.0.1:{port}/metrics"))
        .call()
        .unwrap();
    assert_eq!(response.status(), 200);
    assert!(
        response.content_type().contains("openmetrics-text"),
        "{}",
        response.content_type()
    );
    let text = response.into_string().unwrap();
    let samples = parse_exposition(&text);
    (text, samples)
}

pub(crate) fn value(samples: &BTreeMap<String, f64>, series: &str) -> f64 {
    *samples
        .get(series)
        .unwrap_or_else(|| panic!("no series {series} in {samples:#?}"))
}

fn status_of(result: Result<ureq::Response, ureq::Error>) -> u16 {
    match result {
        Ok(response) => response.status(),
        Err(ureq::Error::Status(code, _)) => code,
        Err(err) => panic!("http: {err}"),
    }
}

#[test]
fn metrics_follow_operations_with_bounded_labels() {
    let port = free_port();
    let (devplane, relay) = started_with_metrics(port);
    let sql = json!({"sql": "SELECT name, email FROM customers WHERE id = 1"});
    let ok = operation(&devplane, "main-pg", "query", sql);
    assert_eq!(ok["type"], "result", "{ok}");
    let delete = json!({"sql": "DELETE FROM customers WHERE name = 'zz-marker'"});
    let refused = operation(&devplane, "main-pg", "query", delete);
    assert_eq!(refused["code"], "not_read_only", "{refused}");
    let unknown = operation(&devplane, "made-up-resource", "drop_everything", json!({}));
    assert_eq!(unknown["code"], "unknown_resource", "{unknown}");

    let (text, samples) = scrape(port);
    let series = |labels: &str| format!("relay_operations_total{{{labels}}}");
    let ok_series = series(r#"resource="main-pg",operation="query",outcome="ok",code="""#);
    assert_eq!(value(&samples, &ok_series), 1.0, "{text}");
    let refused = r#"resource="main-pg",operation="query",outcome="error",code="not_read_only""#;
    assert_eq!(value(&samples, &series(refused)), 1.0);
    let unknown =
        r#"resource="unknown",operation="unknown",outcome="error",code="unknown_resource""#;
    assert_eq!(value(&samples, &series(unknown)), 1.0);
    let latency = r#"relay_operation_duration_seconds_count{resource="main-pg",operation="query"}"#;
    assert_eq!(value(&samples, latency), 2.0);
    assert_eq!(
        value(&samples, r#"relay_result_rows_total{resource="main-pg"}"#),
        1.0
    );
    assert!(value(&samples, r#"relay_result_bytes_total{resource="main-pg"}"#) > 0.0);
    let masked = r#"relay_masked_values_total{resource="main-pg",pattern="email"}"#;
    assert_eq!(value(&samples, masked), 1.0);
    assert_eq!(
        value(&samples, r#"relay_resource_healthy{resource="main-pg"}"#),
        1.0
    );
    assert_eq!(
        value(&samples, r#"relay_resource_in_flight{resource="main-pg"}"#),
        0.0
    );
    assert_eq!(
        value(
            &samples,
            r#"relay_resource_busy_refusals_total{resource="main-pg"}"#
        ),
        0.0
    );
    assert_eq!(value(&samples, "relay_control_plane_connected"), 1.0);
    assert_eq!(value(&samples, "relay_control_plane_reconnects_total"), 0.0);
    assert_eq!(value(&samples, "relay_audit_available"), 1.0);
    // Config loaded, connected, privilege check and the three operations at the least.
    assert!(
        value(&samples, "relay_audit_records_spooled_total") >= 3.0,
        "{text}"
    );
    assert_eq!(value(&samples, "relay_audit_records_dropped_total"), 0.0);

    for secret in NEVER_EXPOSED {
        assert!(!text.contains(secret), "{secret} exposed in:\n{text}");
    }
    for series in samples.keys() {
        for label in label_values(series) {
            assert!(
                label.len() <= 64 && !label.contains(' '),
                "label {label:?} in {series}"
            );
        }
    }
    drop(relay);
}

#[test]
fn only_get_metrics_answers() {
    let port = free_port();
    let (_devplane, _relay) = started_with_metrics(port);
    let base = format!("http://127.0.0.1:{port}");
    assert_eq!(status_of(ureq::get(&format!("{base}/")).call()), 404);
    assert_eq!(
        status_of(ureq::get(&format!("{base}/metrics/x")).call()),
        404
    );
    assert_eq!(status_of(ureq::get(&format!("{base}/status")).call()), 404);
    assert_eq!(
        status_of(ureq::post(&format!("{base}/metrics")).send_string("x")),
        404
    );
    assert_eq!(
        status_of(ureq::delete(&format!("{base}/metrics")).call()),
        404
    );
    assert_eq!(status_of(ureq::get(&format!("{base}/metrics")).call()), 200);
}

/// Inodes of the TCP sockets in LISTEN state on this host (IPv4 and IPv6), with their ports.
fn listening_inodes() -> BTreeMap<String, u16> {
    let mut found = BTreeMap::new();
    for table in ["/proc/net/tcp", "/proc/net/tcp6"] {
        let Ok(text) = std::fs::read_to_string(table) else {
            continue;
        };
        for line in text.lines().skip(1) {
            let fields: Vec<&str> = line.split_whitespace().collect();
            // local_address is field 1 (ADDR:PORT in hex), st is field 3 (0A = LISTEN), inode is 9.
            if fields.len() > 9 && fields[3] == "0A" {
                let port = fields[1].rsplit(':').next().unwrap();
                found.insert(fields[9].to_owned(), u16::from_str_radix(port, 16).unwrap());
            }
        }
    }
    found
}

/// The ports on which process `pid` holds a listening TCP socket.
fn listening_ports_of(pid: u32) -> Vec<u16> {
    let listening = listening_inodes();
    let mut ports = Vec::new();
    for entry in std::fs::read_dir(format!("/proc/{pid}/fd"))
        .unwrap()
        .flatten()
    {
        let Ok(target) = std::fs::read_link(entry.path()) else {
            continue;
        };
        let target = target.to_string_lossy().into_owned();
        let Some(inode) = target
            .strip_prefix("socket:[")
            .and_then(|t| t.strip_suffix(']'))
        else {
            continue;
        };
        if let Some(port) = listening.get(inode) {
            ports.push(*port);
        }
    }
    ports
}

#[test]
fn without_the_key_the_relay_listens_nowhere() {
    let devplane = DevPlane::start();
    let relay = Relay::start(&relay_config_for(devplane.port, "", READER, ""), TOKEN);
    relay.wait_ready();
    let answered = operation(&devplane, "main-pg", "list_tables", json!({}));
    assert_eq!(answered["type"], "result", "{answered}");
    assert_eq!(
        listening_ports_of(relay.process.child.id()),
        Vec::<u16>::new()
    );

    // The same check sees the endpoint when it is configured: it is the relay's only socket.
    let port = free_port();
    let (_devplane, with_metrics) = started_with_metrics(port);
    assert_eq!(
        listening_ports_of(with_metrics.process.child.id()),
        vec![port]
    );
}

fn check_output(config: &str) -> (Option<i32>, String) {
    let (_dir, path) = crate::support::write_config(config);
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_relay"))
        .args(["check", "--config", path.to_str().unwrap()])
        .env_remove("RELAY_CONFIG")
        .env("RELAY_TOKEN", TOKEN)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&output.stdout).into_owned()
        + &String::from_utf8_lossy(&output.stderr);
    (output.status.code(), text)
}

#[test]
fn check_notes_an_address_reachable_from_the_network() {
    let config = relay_config_for(9, "", READER, "");
    let (code, text) = check_output(&format!("{config}\nmetrics:\n  listen: 0.0.0.0:9464\n"));
    assert_eq!(code, Some(0), "{text}");
    assert!(
        text.contains("note: metrics.listen 0.0.0.0:9464 is reachable from the network"),
        "{text}"
    );
    let (code, text) = check_output(&format!("{config}\nmetrics:\n  listen: 127.0.0.1:9464\n"));
    assert_eq!(code, Some(0), "{text}");
    assert!(!text.contains("metrics.listen"), "{text}");
    let (code, text) = check_output(&format!("{config}\nmetrics:\n  listen: localhost:9464\n"));
    assert_eq!(code, Some(64), "{text}");
    assert!(
        text.contains("metrics.listen: expected an IP address and port"),
        "{text}"
    );
}

#[test]
fn a_taken_port_stops_the_start_before_connecting() {
    let control_plane = TcpListener::bind("127.0.0.1:0").unwrap();
    control_plane.set_nonblocking(true).unwrap();
    let taken = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port();
    let config = relay_config_for(control_plane.local_addr().unwrap().port(), "", READER, "");
    let config = format!("{config}\nmetrics:\n  listen: 127.0.0.1:{port}\n");
    let mut relay = Relay::start(&config, TOKEN);
    let exit = relay.process.wait_exit(Duration::from_secs(20));
    assert_eq!(exit, Some(64), "{}", relay.process.output());
    let failed = relay
        .process
        .stdout
        .wait_for_msg(LogEvent::CannotStartRelay.as_str(), Duration::from_secs(1));
    let error = failed
        .map(|line| line["error"].to_string())
        .unwrap_or_default();
    assert!(
        error.contains(&format!("metrics.listen 127.0.0.1:{port}")),
        "{error}"
    );
    assert!(
        control_plane.accept().is_err(),
        "relay connected although it could not start"
    );
}

/// Scrapes until `series` has `wanted` (at most 200 scrapes, 50 ms apart); returns its last value.
pub(crate) fn scrape_until(port: u16, series: &str, wanted: f64) -> f64 {
    let mut last = f64::NAN;
    for _ in 0..200 {
        last = scrape(port).1.get(series).copied().unwrap_or(f64::NAN);
        if last == wanted {
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    last
}

/// A connection held by `pg_sleep` shows in use, the request behind it in the queue, and both
/// leave when the sleep ends; the third request finds the queue full.
#[test]
fn a_full_queue_shows_in_flight_pool_gauges_and_busy_refusals() {
    let port = free_port();
    let devplane = DevPlane::start();
    let extra = "    poolSize: 1\n    maxQueuedRequests: 1\n";
    let config = relay_config_for(devplane.port, "", READER, extra);
    let relay = Relay::start(
        &format!("{config}\nmetrics:\n  listen: 127.0.0.1:{port}\n"),
        TOKEN,
    );
    relay.wait_ready();
    let in_flight = r#"relay_resource_in_flight{resource="main-pg"}"#;
    let limit = r#"relay_resource_in_flight_limit{resource="main-pg"}"#;
    let in_use = r#"relay_resource_connections_in_use{resource="main-pg"}"#;
    let idle = r#"relay_resource_connections_idle{resource="main-pg"}"#;
    let queued = r#"relay_resource_queue_depth{resource="main-pg"}"#;
    assert_eq!(value(&scrape(port).1, limit), 2.0);
    // The health check opened the one connection and gave it back.
    assert_eq!(scrape_until(port, idle, 1.0), 1.0);
    assert_eq!(scrape_until(port, in_use, 0.0), 0.0);
    assert_eq!(value(&scrape(port).1, queued), 0.0);
    let devplane = std::sync::Arc::new(devplane);
    let sleepers: Vec<_> = (0..2)
        .map(|_| {
            let devplane = std::sync::Arc::clone(&devplane);
            std::thread::spawn(move || {
                operation(
                    &devplane,
                    "main-pg",
                    "query",
                    json!({"sql": "SELECT pg_sleep(2)"}),
                )
            })
        })
        .collect();
    assert_eq!(scrape_until(port, in_flight, 2.0), 2.0);
    assert_eq!(scrape_until(port, queued, 1.0), 1.0);
    assert_eq!(scrape_until(port, in_use, 1.0), 1.0);
    assert_eq!(value(&scrape(port).1, idle), 0.0);
    let refused = operation(&devplane, "main-pg", "query", json!({"sql": "SELECT 1"}));
    assert_eq!(refused["code"], "busy", "{refused}");
    for sleeper in sleepers {
        assert_eq!(sleeper.join().unwrap()["type"], "result");
    }
    assert_eq!(scrape_until(port, in_flight, 0.0), 0.0);
    assert_eq!(scrape_until(port, idle, 1.0), 1.0);
    assert_eq!(scrape_until(port, in_use, 0.0), 0.0);
    let samples = scrape(port).1;
    assert_eq!(value(&samples, queued), 0.0);
    let busy = r#"relay_resource_busy_refusals_total{resource="main-pg"}"#;
    assert_eq!(value(&samples, busy), 1.0);
    let code = r#"relay_operations_total{resource="main-pg",operation="query",outcome="error",code="busy"}"#;
    assert_eq!(value(&samples, code), 1.0);
    let ok = r#"relay_operations_total{resource="main-pg",operation="query",outcome="ok",code=""}"#;
    assert_eq!(value(&samples, ok), 2.0);
    drop(relay);
}
