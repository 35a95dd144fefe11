//! MongoDB read-only policy and health end to end: hostile pipelines and filters are refused before
//! anything reaches the server, and health follows the server going away and coming back.

use crate::mongo_fixture::{Mongo, SEED};
use crate::mongo_ops::{operation, started};
use serde_json::{json, Value};
use std::time::Duration;

const WAIT: Duration = Duration::from_secs(30);

#[test]
fn hostile_requests_are_refused_without_reaching_the_server() {
    let mongo = Mongo::start();
    let (devplane, _relay) = started(&mongo, "");
    let hostile = [
        json!({"collection": "orders", "pipeline": [{"$match": {}}, {"$out": "stolen"}]}),
        json!({"collection": "orders", "pipeline": [{"$merge": {"into": "orders"}}]}),
        json!({"collection": "orders", "pipeline": [{"$lookup": {"from": "customers", "as": "c",
            "pipeline": [{"$facet": {"x": [{"$out": "deep"}]}}]}}]}),
        json!({"collection": "orders", "pipeline": [{"$unionWith": {"coll": "customers",
            "pipeline": [{"$merge": {"into": "customers"}}]}}]}),
        json!({"collection": "orders", "filter": {"$where": "sleep(10000) || true"}}),
        json!({"collection": "orders", "filter": {"$expr": {"$function": {
            "body": "function() { return true }", "args": [], "lang": "js"}}}}),
        json!({"collection": "orders", "pipeline": [{"$group": {"_id": null, "x": {"$accumulator": {
            "init": "function() {}", "accumulate": "function() {}", "accumulateArgs": [],
            "merge": "function() {}", "lang": "js"}}}}]}),
        json!({"collection": "orders", "count": true, "filter": {"$where": "true"}}),
        json!({"collection": "orders", "pipeline": [{"$currentOp": {}}]}),
        json!({"collection": "orders", "filter": {"a": {"$code": "db.dropDatabase()"}}}),
    ];
    for params in &hostile {
        for op in ["query", "explain"] {
            let refused = operation(&devplane, op, params.clone());
            assert_eq!(refused["type"], "error", "{op} {params}: {refused}");
            assert_eq!(refused["code"], "not_read_only", "{op} {params}: {refused}");
        }
    }
    let invalid = operation(&devplane, "query", json!({"collection": "system.users"}));
    assert_eq!(invalid["code"], "invalid_request", "{invalid}");
    let fine = operation(
        &devplane,
        "query",
        json!({"collection": "orders", "limit": 1}),
    );
    assert_eq!(fine["type"], "result", "{fine}");
    if !mongo.is_test_server() {
        return;
    }
    let seen: Vec<Value> = mongo.commands();
    let reads = [
        "ping",
        "connectionStatus",
        "find",
        "aggregate",
        "count",
        "getMore",
        "killCursors",
        "listCollections",
        "listIndexes",
        "explain",
        "buildInfo",
    ];
    for command in &seen {
        let name = command["command"].as_str().unwrap_or_default();
        assert!(reads.contains(&name), "the relay sent {command}");
        let body = command["body"].to_string();
        for marker in [
            "$out",
            "$merge",
            "$where",
            "$function",
            "$accumulator",
            "$code",
            "$currentOp",
        ] {
            assert!(!body.contains(marker), "the server saw {marker}: {command}");
        }
    }
    assert_eq!(
        seen.iter().filter(|c| c["command"] == "find").count(),
        1,
        "only the one allowed find reached the server: {seen:?}"
    );
}

#[test]
fn health_follows_the_server_and_reports_a_read_only_user() {
    let mut mongo = Mongo::start();
    let (devplane, relay) = started(&mongo, "");
    let mongo_status = |status: &Value| status["resources"][0]["status"].clone();
    let status = devplane.wait_status(WAIT, |s| mongo_status(s) == "healthy");
    assert_eq!(mongo_status(&status), "healthy", "{status}");
    let resource = &status["resources"][0];
    if mongo.is_test_server() {
        assert_eq!(resource["canWrite"], false, "{status}");
    }
    assert!(
        relay
            .process
            .stdout
            .wait_for(WAIT, |line| line.contains("Resource healthy")
                && line.contains("mongodb"))
            .is_some(),
        "{}",
        relay.process.output()
    );
    if !mongo.is_test_server() {
        return;
    }
    mongo.stop();
    let down = devplane.wait_status(WAIT, |s| mongo_status(s) == "unhealthy");
    assert_eq!(mongo_status(&down), "unhealthy", "{down}");
    let refused = operation(
        &devplane,
        "query",
        json!({"collection": "orders", "limit": 1}),
    );
    assert_eq!(refused["type"], "error", "{refused}");
    mongo.restart();
    let back = devplane.wait_status(WAIT, |s| mongo_status(s) == "healthy");
    assert_eq!(mongo_status(&back), "healthy", "{back}");
    let answered = operation(
        &devplane,
        "query",
        json!({"collection": "orders", "limit": 1}),
    );
    assert_eq!(answered["type"], "result", "{answered}");
}

#[test]
fn a_user_that_could_write_is_reported() {
    if std::env::var("MONGODB_URL").is_ok() {
        // A real server's privileges are whatever its user has; the test server's are seeded.
        return;
    }
    let mut seed: Value = serde_json::from_str(&std::fs::read_to_string(SEED).unwrap()).unwrap();
    seed["privileges"] = json!([{"resource": {"db": "shop", "collection": ""},
        "actions": ["find", "insert", "update", "remove"]}]);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("seed.json");
    std::fs::write(&path, seed.to_string()).unwrap();
    let mongo = Mongo::start_with_seed(&path);
    let (devplane, relay) = started(&mongo, "");
    let status = devplane.wait_status(WAIT, |s| s["resources"][0]["canWrite"] == true);
    assert_eq!(status["resources"][0]["canWrite"], true, "{status}");
    let warning = relay
        .process
        .stdout
        .wait_for(WAIT, |line| line.contains("Database user could write"));
    let warning = warning.unwrap_or_else(|| panic!("{}", relay.process.output()));
    assert!(warning.contains("may insert on shop.*"), "{warning}");
}

#[test]
fn table_scoping_covers_collections_and_every_lookup_source() {
    let mongo = Mongo::start();
    let database = mongo.database.clone();
    let (devplane, _relay) = started(
        &mongo,
        &format!(
            "    tables:\n      allow: ['{database}.*']\n      deny: ['{database}.customers']\n"
        ),
    );
    let before = mongo.commands().len();
    let outside = [
        ("query", json!({"collection": "customers"})),
        ("query", json!({"collection": "customers", "count": true})),
        ("explain", json!({"collection": "customers", "filter": {}})),
        (
            "query",
            json!({"collection": "orders", "pipeline": [{"$lookup": {"from": "customers",
            "localField": "customer_id", "foreignField": "_id", "as": "c"}}]}),
        ),
        (
            "query",
            json!({"collection": "orders", "pipeline": [{"$facet": {"f": [{"$unionWith": "customers"}]}}]}),
        ),
        (
            "query",
            json!({"collection": "orders", "pipeline": [{"$graphLookup": {"from": "customers",
            "startWith": "$customer_id", "connectFromField": "_id", "connectToField": "_id", "as": "g"}}]}),
        ),
        ("describe_table", json!({"table": "customers"})),
    ];
    for (op, params) in &outside {
        let refused = operation(&devplane, op, params.clone());
        assert_eq!(
            refused["code"], "not_allowed_relation",
            "{op} {params}: {refused}"
        );
    }
    let sent: Vec<Value> = mongo.commands().split_off(before);
    assert!(
        !sent.iter().any(|c| c.to_string().contains("customers")),
        "a refused request reached the server: {sent:?}"
    );
    let orders = operation(
        &devplane,
        "query",
        json!({"collection": "orders", "limit": 1}),
    );
    assert_eq!(orders["type"], "result", "{orders}");
    let listed = operation(&devplane, "list_tables", json!({}));
    let names: Vec<&str> = listed["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r[0].as_str().unwrap())
        .collect();
    assert!(
        names.contains(&"orders") && !names.contains(&"customers"),
        "{names:?}"
    );
}
