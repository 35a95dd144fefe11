//! Live reload: SIGHUP and changed files re-read the configuration; a valid one is applied
//! without dropping the WebSocket (unless `controlPlane` changed), an invalid one is rejected
//! whole, a rotated token file is picked up, and a request running on a replaced pool finishes.

use crate::support::{
    free_port, get_json, relay_config_for, DevPlane, Process, Relay, API_KEY, TENANT, TOKEN,
};
use relay_actors::log_event::LogEvent;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

const WAIT: Duration = Duration::from_secs(30);

/// A second resource on the same database, as a reload adds it.
const EXTRA: &str = "  - id: extra-pg
    type: postgres
    connection:
      host: HOST
      port: PORT
      database: DB
      user: relay_it_reader
    allowedOperations: [query]
";

/// A masking pattern a reload adds: `alpha` becomes `[greek]`.
const GREEK: &str = "    - name: greek\n      regex: 'alpha'\n      replacement: '[greek]'\n";

fn extra_resource() -> String {
    let pg = crate::support::pg();
    EXTRA
        .replace("HOST", &pg.host)
        .replace("PORT", &pg.port.to_string())
        .replace("DB", crate::pg_fixture::shared_db())
}

fn config(port: u16, extra_resource: &str) -> String {
    relay_config_for(port, "", crate::pg_fixture::READER, extra_resource)
}

/// Replaces the relay's configuration file the way an editor or a deploy tool does: a new file
/// renamed over the old one.
fn rewrite(relay: &Relay, text: &str) -> Vec<u8> {
    let path = relay.dir().join("relay-config.yaml");
    let staged = relay.dir().join("relay-config.yaml.new");
    std::fs::write(&staged, text).unwrap();
    std::fs::rename(&staged, &path).unwrap();
    text.as_bytes().to_vec()
}

fn sha256(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Waits for a log line with `msg` whose fields satisfy `wanted`.
fn wait_line(relay: &Relay, msg: &str, wanted: impl Fn(&Value) -> bool) -> Value {
    let found = relay.process.stdout.wait_for(WAIT, |line| {
        serde_json::from_str::<Value>(line).is_ok_and(|value| value["msg"] == msg && wanted(&value))
    });
    let line = found.unwrap_or_else(|| panic!("no {msg:?} line:\n{}", relay.process.output()));
    serde_json::from_str(&line).unwrap()
}

fn query(devplane: &DevPlane, resource: &str, sql: &str) -> Value {
    let (code, body) = devplane
        .operation(json!({"resourceId": resource, "operation": "query", "params": {"sql": sql}}));
    assert_eq!(code, 200, "{body}");
    body
}

#[test]
fn sighup_applies_a_new_resource_and_masking_rule_without_dropping_the_session() {
    let devplane = DevPlane::start();
    let before = config(devplane.port, "");
    let relay = Relay::start(&before, TOKEN);
    relay.wait_ready();
    let connected_at = devplane.status()["connectedAt"].clone();
    assert!(connected_at.is_string());
    let unmasked = query(&devplane, "main-pg", "SELECT 'alpha' AS a");
    assert_eq!(unmasked["rows"][0][0], "alpha");

    let after = format!("{before}\n")
        .replace("resources:\n", &format!("resources:\n{}", extra_resource()))
        .replace("  patterns:\n", &format!("  patterns:\n{GREEK}"));
    let bytes = rewrite(&relay, &after);
    relay.process.signal("HUP");

    let reloaded = wait_line(&relay, "Configuration reloaded", |line| {
        line["resourcesAdded"] == "extra-pg"
    });
    assert_eq!(reloaded["sha256"], sha256(&bytes));
    assert_eq!(reloaded["sections"], "resources,masking", "{reloaded}");
    assert_eq!(reloaded["resourcesChanged"], "");
    wait_line(&relay, "Configuration reloaded", |line| {
        line["trigger"] == "SIGHUP"
    });

    let added = query(
        &devplane,
        "extra-pg",
        "SELECT note FROM sentinel ORDER BY id",
    );
    assert_eq!(added["type"], "result", "{added}");
    assert_eq!(
        added["rows"][0][0], "[greek]",
        "the new pattern masks: {added}"
    );
    let masked = query(&devplane, "main-pg", "SELECT 'alpha' AS a");
    assert_eq!(masked["rows"][0][0], "[greek]", "{masked}");

    let status = devplane.wait_status(WAIT, |status| {
        status["resources"].as_array().map(Vec::len) == Some(2)
    });
    let ids: Vec<&str> = status["resources"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|r| r["id"].as_str())
        .collect();
    assert!(ids.contains(&"extra-pg"), "{status}");
    assert_eq!(status["connectedAt"], connected_at, "the session stayed up");
    assert_eq!(
        relay
            .process
            .stdout
            .count_msg(LogEvent::ConnectedToControlPlane.as_str()),
        1
    );
    let output = relay.process.output();
    assert!(
        !output.contains("Resource retired"),
        "main-pg is untouched:\n{output}"
    );

    let records = relay.stdout_audit_records();
    let record = records
        .iter()
        .find(|r| r["event"] == "config_reloaded" && r["details"]["sha256"] == sha256(&bytes))
        .unwrap_or_else(|| panic!("no reload record: {records:?}"));
    let details = &record["details"];
    assert_eq!(details["result"], "applied");
    assert_eq!(details["resourcesAdded"], json!(["extra-pg"]));
    assert_eq!(details["sections"], json!(["resources", "masking"]));
    assert_eq!(details["previousSha256"], sha256(before.as_bytes()));
    assert!(!output.contains(TOKEN));
}

#[test]
fn sighup_with_an_invalid_config_keeps_the_old_one_and_reports_every_problem() {
    let devplane = DevPlane::start();
    let metrics_port = free_port();
    let metrics = format!("metrics:\n  listen: 127.0.0.1:{metrics_port}\n");
    let before = format!("{}{metrics}", config(devplane.port, ""));
    let relay = Relay::start(&before, TOKEN);
    relay.wait_ready();

    let broken = before
        .replace("maxRowsPerQuery: 1000", "maxRowsPerQuery: 0")
        .replace("regex: '[a-zA-Z0-9._%+-]+@", "regex: '([a-zA-Z0-9._%+-]+@");
    let bytes = rewrite(&relay, &broken);
    relay.process.signal("HUP");

    for key in ["resources[0].maxRowsPerQuery", "masking.patterns[0].regex"] {
        let line = wait_line(&relay, "Configuration rejected", |line| {
            line["key"] == key && line["trigger"] == "SIGHUP"
        });
        assert_eq!(line["level"], "error");
        assert!(
            line["file"]
                .as_str()
                .unwrap()
                .ends_with("relay-config.yaml"),
            "{line}"
        );
        assert_eq!(line["sha256"], sha256(&bytes));
    }
    let still = query(&devplane, "main-pg", "SELECT 'ana@example.com' AS email");
    assert_eq!(still["type"], "result", "{still}");
    assert_eq!(
        still["rows"][0][0], "***@***.***",
        "the old masking stays: {still}"
    );

    let records = relay.stdout_audit_records();
    let record = records
        .iter()
        .find(|r| r["event"] == "config_reloaded" && r["details"]["result"] == "rejected")
        .unwrap_or_else(|| panic!("no rejected reload record: {records:?}"));
    let details = &record["details"];
    assert_eq!(details["sha256"], sha256(&bytes));
    assert_eq!(details["inEffectSha256"], sha256(before.as_bytes()));
    let keys: Vec<&str> = details["problems"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|p| p["key"].as_str())
        .collect();
    assert_eq!(
        keys,
        ["resources[0].maxRowsPerQuery", "masking.patterns[0].regex"]
    );

    let url = format!("http://127.0.0.1:{metrics_port}/metrics");
    let text = ureq::get(&url).call().unwrap().into_string().unwrap();
    assert!(
        text.contains("relay_config_reloads_total{result=\"rejected\"} "),
        "{text}"
    );
    assert!(
        text.contains("relay_config_last_reload_success 0"),
        "{text}"
    );
    assert_eq!(
        relay
            .process
            .stdout
            .count_msg(LogEvent::ConnectedToControlPlane.as_str()),
        1
    );
}

/// A Secret volume as the kubelet lays it out: `token -> ..data/token`, `..data -> ..<version>`;
/// a new version is a new directory and an atomic swap of `..data`.
fn publish_secret(dir: &Path, version: &str, token: &str) -> PathBuf {
    use std::os::unix::fs::symlink;
    let versioned = dir.join(format!("..{version}"));
    std::fs::create_dir_all(&versioned).unwrap();
    std::fs::write(versioned.join("token"), format!("{token}\n")).unwrap();
    let link = dir.join("token");
    if link.symlink_metadata().is_err() {
        symlink("..data/token", &link).unwrap();
    }
    let staged = dir.join("..data_tmp");
    symlink(format!("..{version}"), &staged).unwrap();
    std::fs::rename(&staged, dir.join("..data")).unwrap();
    link
}

/// A dev control plane on `port` that accepts only `token`.
fn devplane_with_token(port: u16, token: &str) -> Process {
    let mut command = Command::new(env!("CARGO_BIN_EXE_relay-devplane"));
    command.args(["--listen", &format!("127.0.0.1:{port}")]);
    command.args([
        "--token",
        token,
        "--tenant-id",
        TENANT,
        "--api-key",
        API_KEY,
    ]);
    let process = Process::spawn(command);
    let listening = process
        .stdout
        .wait_for_msg("Dev control plane listening", WAIT);
    assert!(
        listening.is_some(),
        "devplane did not start: {}",
        process.output()
    );
    process
}

fn status_on(port: u16) -> Value {
    get_json(&format!("http://127.0.0.1:{port}/v1/relay/status"), API_KEY).1
}

/// A relay reading its token from a Secret-like volume, connected to a control plane on `port`
/// that accepts only `TOKEN`.
fn relay_with_token_file(port: u16, token_file: &Path) -> Relay {
    let line = format!("  tokenFile: {}\n", token_file.display());
    let text = config(port, "").replace("  token: ${RELAY_TOKEN}\n", &line);
    let relay = Relay::start(&text, "unused");
    relay.wait_ready();
    relay
}

fn wait_connected(relay: &Relay, port: u16) {
    let deadline = std::time::Instant::now() + WAIT;
    while status_on(port)["status"] != "connected" {
        let output = relay.process.output();
        assert!(
            std::time::Instant::now() < deadline,
            "not connected:\n{output}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn a_token_secret_rotated_by_a_symlink_swap_is_used_without_a_restart() {
    let secret = tempfile::tempdir().unwrap();
    let token_file = publish_secret(secret.path(), "v1", TOKEN);
    let port = free_port();
    let first = devplane_with_token(port, TOKEN);
    let relay = relay_with_token_file(port, &token_file);

    // The file watch sees the swap and reconnects with the new token, without a SIGHUP.
    let rotated = "rotated-relay-token-2c9e";
    publish_secret(secret.path(), "v2", rotated);
    let reloaded = wait_line(&relay, "Configuration reloaded", |line| {
        line["sections"] == "controlPlane"
    });
    assert_eq!(reloaded["trigger"], "fileChanged", "{reloaded}");
    wait_line(
        &relay,
        "Reconnecting to control plane with the reloaded settings",
        |_| true,
    );
    // The control plane learns of the new token: it accepts the relay again.
    drop(first);
    let _second = devplane_with_token(port, rotated);
    wait_connected(&relay, port);
    let output = relay.process.output();
    assert!(
        !output.contains(TOKEN) && !output.contains(rotated),
        "{output}"
    );
}

#[test]
fn a_refused_token_makes_the_relay_read_the_token_file_again() {
    let secret = tempfile::tempdir().unwrap();
    let token_file = publish_secret(secret.path(), "v1", TOKEN);
    let port = free_port();
    let first = devplane_with_token(port, TOKEN);
    let relay = relay_with_token_file(port, &token_file);

    // The control plane switches to the new token first and refuses the old one with 401.
    drop(first);
    let rotated = "rotated-relay-token-5d1a";
    let _second = devplane_with_token(port, rotated);
    wait_line(
        &relay,
        "Control plane rejected the relay token or tenant id",
        |_| true,
    );
    publish_secret(secret.path(), "v2", rotated);
    wait_connected(&relay, port);
    // Read again after a refusal, or by the file watch, whichever came first; never a restart.
    let all = relay.process.stdout.all();
    let by_watch = all.iter().any(|line| {
        serde_json::from_str::<Value>(line).is_ok_and(|line| {
            line["msg"] == "Configuration reloaded" && line["sections"] == "controlPlane"
        })
    });
    let reread = relay
        .process
        .stdout
        .count_msg(LogEvent::TokenFileReadAgain.as_str());
    assert!(by_watch || reread == 1, "{}", relay.process.output());
    let output = relay.process.output();
    assert!(
        !output.contains(TOKEN) && !output.contains(rotated),
        "{output}"
    );
}

#[test]
fn a_request_on_a_replaced_pool_finishes_while_the_new_pool_serves() {
    let devplane = DevPlane::start();
    let before = config(devplane.port, "");
    let relay = Relay::start(&before, TOKEN);
    relay.wait_ready();

    let port = devplane.port;
    let slow = std::thread::spawn(move || {
        let body = json!({"resourceId": "main-pg", "operation": "query",
            "params": {"sql": "SELECT pg_sleep(3), 'finished' AS outcome"}});
        let url = format!("http://127.0.0.1:{port}/v1/relay/operations");
        crate::support::post_json(&url, API_KEY, &body)
    });
    wait_running("pg_sleep(3)");

    rewrite(
        &relay,
        &before.replace("maxRowsPerQuery: 1000", "maxRowsPerQuery: 999"),
    );
    relay.process.signal("HUP");
    wait_line(&relay, "Configuration reloaded", |line| {
        line["resourcesChanged"] == "main-pg"
    });
    let fresh = query(&devplane, "main-pg", "SELECT 1 AS one");
    assert_eq!(fresh["type"], "result", "the new pool serves: {fresh}");

    let (code, slow) = slow.join().unwrap();
    assert_eq!(code, 200, "{slow}");
    assert_eq!(
        slow["type"], "result",
        "the request on the old pool finished: {slow}"
    );
    assert_eq!(slow["rows"][0][1], "finished");
    wait_line(
        &relay,
        "Resource retired by a configuration reload; stopping once idle",
        |l| l["resourceId"] == "main-pg",
    );
    assert_eq!(
        relay
            .process
            .stdout
            .count_msg(LogEvent::ConnectedToControlPlane.as_str()),
        1
    );
}

#[test]
fn relay_check_reads_the_token_file_and_names_it() {
    let devplane = DevPlane::start();
    let dir = tempfile::tempdir().unwrap();
    let token = dir.path().join("token");
    std::fs::write(&token, format!("{TOKEN}\n")).unwrap();
    let line = format!("  tokenFile: {}\n", token.display());
    let text = config(devplane.port, "").replace("  token: ${RELAY_TOKEN}\n", &line);
    let (_keep, path) = crate::support::write_config(&text);
    let check = |connect: bool| {
        let mut command = Command::new(env!("CARGO_BIN_EXE_relay"));
        command.arg("--config").arg(&path).arg("check");
        if connect {
            command.arg("--connect");
        }
        command
            .env_remove("RELAY_TOKEN")
            .env("RELAY_AUDIT_SPOOL", dir.path().join("spool.jsonl"))
            .env("RELAY_STATUS_FILE", dir.path().join("status.json"));
        for name in crate::support::PROXY_VARIABLES {
            command.env_remove(name);
        }
        let output = command.output().unwrap();
        let printed = format!(
            "{}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
        (output.status.code(), printed)
    };
    let (code, printed) = check(true);
    assert_eq!(code, Some(0), "{printed}");
    assert!(
        printed.contains(&format!("token read from {}", token.display())),
        "{printed}"
    );
    assert!(!printed.contains(TOKEN), "{printed}");

    std::fs::write(&token, "\n").unwrap();
    let (code, printed) = check(true);
    assert_eq!(code, Some(64), "{printed}");
    let empty = format!(
        "controlPlane.tokenFile: token file {} is empty",
        token.display()
    );
    assert!(printed.contains(&empty), "{printed}");
    std::fs::remove_file(&token).unwrap();
    let (code, printed) = check(false);
    assert_eq!(code, Some(64), "{printed}");
    assert!(
        printed.contains("controlPlane.tokenFile: cannot read token file"),
        "{printed}"
    );
}

/// Waits until the database runs a statement containing `text`.
fn wait_running(text: &str) {
    let mut admin = crate::pg_fixture::admin(crate::pg_fixture::shared_db());
    let running = "SELECT count(*) FROM pg_stat_activity WHERE query LIKE '%' || $1 || '%' \
                   AND pid <> pg_backend_pid()";
    let deadline = std::time::Instant::now() + WAIT;
    while admin.query_one(running, &[&text]).unwrap().get::<_, i64>(0) == 0 {
        assert!(std::time::Instant::now() < deadline, "{text} never started");
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn a_request_on_a_replaced_pool_can_still_be_cancelled() {
    let devplane = DevPlane::start();
    let before = config(devplane.port, "");
    let relay = Relay::start(&before, TOKEN);
    relay.wait_ready();
    let port = devplane.port;
    let sleeper = std::thread::spawn(move || {
        let body = json!({"resourceId": "main-pg", "operation": "query",
            "requestId": "on-old-pool", "params": {"sql": "SELECT pg_sleep(20)"}});
        let url = format!("http://127.0.0.1:{port}/v1/relay/operations");
        crate::support::post_json(&url, API_KEY, &body)
    });
    wait_running("pg_sleep(20)");
    rewrite(
        &relay,
        &before.replace("maxRowsPerQuery: 1000", "maxRowsPerQuery: 998"),
    );
    relay.process.signal("HUP");
    wait_line(&relay, "Configuration reloaded", |line| {
        line["resourcesChanged"] == "main-pg"
    });
    let cancel = devplane.url("/v1/relay/operations/on-old-pool/cancel");
    crate::support::post_json(&cancel, API_KEY, &json!({}));
    let (_, answer) = sleeper.join().unwrap();
    assert_eq!(answer["code"], "cancelled", "{answer}");
}

#[test]
fn a_new_column_rule_masks_after_a_reload() {
    let devplane = DevPlane::start();
    let before = config(devplane.port, "");
    let relay = Relay::start(&before, TOKEN);
    relay.wait_ready();
    let sql = "SELECT note FROM sentinel ORDER BY id";
    assert_eq!(query(&devplane, "main-pg", sql)["rows"][0][0], "alpha");

    let rule = "  columns:\n    - {name: note, table: sentinel}\n  patterns:\n";
    rewrite(&relay, &before.replace("  patterns:\n", rule));
    relay.process.signal("HUP");
    let reloaded = wait_line(&relay, "Configuration reloaded", |line| {
        line["columnRulesChanged"] == true
    });
    assert_eq!(reloaded["sections"], "masking", "{reloaded}");
    // Every answer after the reload is masked by the new rule: the renewed resource waits for
    // its catalog snapshot, which knows the rule, before it runs anything.
    let answer = query(&devplane, "main-pg", sql);
    assert_eq!(answer["type"], "result", "{answer}");
    assert_eq!(answer["rows"][0][0], "***", "{answer}");
    assert_eq!(answer["rows"][1][0], "***", "{answer}");
    assert_eq!(
        relay
            .process
            .stdout
            .count_msg(LogEvent::ConnectedToControlPlane.as_str()),
        1
    );
}
