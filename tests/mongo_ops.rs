//! MongoDB operations end to end: the real driver in the relay, the project's wire-protocol test
//! server (or a real MongoDB with `MONGODB_URL`), requests through the dev control plane's API.

use crate::mongo_fixture::{seeded, Mongo};
use crate::support::{relay_config_with, DevPlane, Relay, TOKEN};
use serde_json::{json, Value};

pub fn started(mongo: &Mongo, extra_resource: &str) -> (DevPlane, Relay) {
    let devplane = DevPlane::start();
    let config = relay_config_with(
        devplane.port,
        "  healthIntervalSeconds: 1",
        &mongo.resource_yaml(extra_resource),
    );
    let relay = Relay::start(&config, TOKEN);
    relay.wait_ready();
    (devplane, relay)
}

pub fn operation(devplane: &DevPlane, operation: &str, params: Value) -> Value {
    let (code, body) = devplane
        .operation(json!({"resourceId": "mongo", "operation": operation, "params": params}));
    assert_eq!(code, 200, "{body}");
    body
}

fn documents(result: &Value) -> Vec<Value> {
    assert_eq!(result["type"], "result", "{result}");
    assert_eq!(result["columns"][0]["name"], "document", "{result}");
    let rows = result["rows"].as_array().unwrap();
    rows.iter().map(|row| row[0].clone()).collect()
}

#[test]
fn find_returns_lossless_extended_json_with_every_nested_string_masked() {
    let mongo = Mongo::start();
    let (devplane, _relay) = started(&mongo, "");
    let result = operation(
        &devplane,
        "query",
        json!({"collection": "customers", "filter": {"_id": {"$oid": "65a1c0de0000000000000001"}}}),
    );
    let found = documents(&result);
    assert_eq!(found.len(), 1, "{result}");
    let ana = &found[0];
    assert_eq!(ana["_id"], json!({"$oid": "65a1c0de0000000000000001"}));
    assert_eq!(
        ana["created_at"],
        json!({"$date": "2023-11-21T19:55:47.237Z"})
    );
    assert_eq!(ana["balance"], json!({"$numberDecimal": "2498.59"}));
    assert_eq!(ana["avatar"]["$binary"]["subType"], "00", "{ana}");
    assert_eq!(ana["name"], "Ana Ribeiro");
    assert_eq!(ana["email"], "***@***.***");
    assert_eq!(ana["profile"]["emails"][1], "***@***.***");
    assert_eq!(ana["cpf"], "***.***.***-**", "{ana}");
    let text = result.to_string();
    for secret in [
        "ana.ribeiro@example.com",
        "ana0@mail.example.org",
        "646.581.699-75",
    ] {
        assert!(!text.contains(secret), "{secret} leaked: {text}");
    }
    assert!(result["masked"]["total"].as_u64().unwrap() >= 3, "{result}");
    let records = devplane.audit_records();
    let record = records
        .iter()
        .find(|r| r["operation"] == "query" && r["resourceId"] == "mongo")
        .unwrap_or_else(|| panic!("no audit record of the query: {records:?}"));
    assert!(!record.to_string().contains("ana.ribeiro"), "{record}");
}

#[test]
fn find_options_limits_and_truncation() {
    let mongo = Mongo::start();
    let (devplane, _relay) = started(&mongo, "    maxRowsPerQuery: 40\n");
    let everything = operation(&devplane, "query", json!({"collection": "orders"}));
    assert_eq!(documents(&everything).len(), 40);
    assert_eq!(everything["truncated"], true, "{everything}");

    let sorted = operation(
        &devplane,
        "query",
        json!({"collection": "orders", "filter": {"status": "paid"},
               "projection": {"amount": 1, "_id": 0}, "sort": {"amount": -1}, "skip": 1, "limit": 5}),
    );
    let amounts: Vec<f64> = documents(&sorted)
        .iter()
        .map(|d| d["amount"].as_f64().unwrap())
        .collect();
    let mut paid: Vec<f64> = seeded("orders")
        .iter()
        .filter(|o| o.get_str("status").ok() == Some("paid"))
        .map(|o| o.get_f64("amount").unwrap())
        .collect();
    paid.sort_by(|a, b| b.total_cmp(a));
    assert_eq!(amounts, paid[1..6].to_vec());
    assert_eq!(sorted["truncated"], false);
    assert!(documents(&sorted).iter().all(|d| d.get("status").is_none()));

    if mongo.is_test_server() {
        let finds: Vec<Value> = mongo
            .commands()
            .into_iter()
            .filter(|c| c["command"] == "find")
            .collect();
        // The limit reaches the server: one past the row limit, or the caller's own.
        assert_eq!(finds[0]["body"]["limit"], 41, "{finds:?}");
        assert_eq!(finds[1]["body"]["limit"], 5, "{finds:?}");
        assert!(finds[0]["body"].get("maxTimeMS").is_some(), "{finds:?}");
    }
}

#[test]
fn aggregate_and_count() {
    let mongo = Mongo::start();
    let (devplane, _relay) = started(&mongo, "    maxRowsPerQuery: 3\n");
    let orders = seeded("orders");
    let statuses: std::collections::BTreeSet<&str> = orders
        .iter()
        .map(|o| o.get_str("status").unwrap())
        .collect();
    let grouped = operation(
        &devplane,
        "query",
        json!({"collection": "orders", "pipeline": [
            {"$group": {"_id": "$status", "n": {"$sum": 1}}},
            {"$sort": {"_id": 1}}]}),
    );
    let groups = documents(&grouped);
    assert_eq!(groups.len(), statuses.len().min(3), "{grouped}");
    assert_eq!(grouped["truncated"], statuses.len() > 3);
    let first = statuses.iter().next().unwrap();
    let expected = orders
        .iter()
        .filter(|o| o.get_str("status").ok() == Some(*first))
        .count();
    assert_eq!(groups[0]["_id"], *first);
    assert_eq!(groups[0]["n"], expected);

    let joined = operation(
        &devplane,
        "query",
        json!({"collection": "orders", "pipeline": [
            {"$match": {"customer_id": {"$oid": "65a1c0de0000000000000001"}}},
            {"$lookup": {"from": "customers", "localField": "customer_id",
                         "foreignField": "_id", "as": "customer"}}]}),
    );
    for order in documents(&joined) {
        assert_eq!(order["customer"][0]["email"], "***@***.***", "{order}");
    }

    let counted = operation(
        &devplane,
        "query",
        json!({"collection": "orders", "count": true, "filter": {"status": "paid"}}),
    );
    let paid = orders
        .iter()
        .filter(|o| o.get_str("status").ok() == Some("paid"))
        .count();
    assert_eq!(counted["columns"][0]["name"], "count", "{counted}");
    assert_eq!(counted["rows"][0][0], paid);
}

#[test]
fn list_and_describe_collections() {
    let mongo = Mongo::start();
    let (devplane, _relay) = started(&mongo, "");
    let listed = operation(&devplane, "list_tables", json!({}));
    let rows = listed["rows"].as_array().unwrap();
    let row = |name: &str| {
        rows.iter()
            .find(|r| r[0] == name)
            .cloned()
            .unwrap_or_else(|| panic!("no {name} in {listed}"))
    };
    assert_eq!(row("customers")[1], "collection");
    assert_eq!(row("customers")[2], seeded("customers").len());
    assert_eq!(row("orders")[2], seeded("orders").len());
    assert_eq!(row("big_orders")[1], "view");
    assert_eq!(row("big_orders")[2], Value::Null);

    let described = operation(
        &devplane,
        "describe_table",
        json!({"collection": "customers"}),
    );
    let details = &described["details"];
    assert_eq!(details["kind"], "collection", "{described}");
    assert_eq!(details["estimatedCount"], seeded("customers").len());
    assert!(details["validator"]["$jsonSchema"].is_object(), "{details}");
    let indexes = details["indexes"].as_array().unwrap();
    assert!(indexes
        .iter()
        .any(|i| i["name"] == "email_1" && i["unique"] == true));
    assert!(indexes.iter().any(|i| i["name"] == "_id_"));
    let fields = described["rows"].as_array().unwrap();
    let field = |path: &str| {
        fields
            .iter()
            .find(|f| f[0] == path)
            .cloned()
            .unwrap_or_else(|| panic!("no field {path} in {described}"))
    };
    assert_eq!(field("email")[1], json!(["string"]));
    assert_eq!(field("_id")[1], json!(["objectId"]));
    assert_eq!(field("balance")[1], json!(["decimal"]));
    assert!(field("profile.address.city")[2].as_f64().unwrap() < 1.0);

    let view = operation(&devplane, "describe_table", json!({"table": "big_orders"}));
    assert_eq!(view["details"]["kind"], "view", "{view}");
    assert_eq!(view["details"]["viewOn"], "orders");
}

#[test]
fn explain_shows_the_plan_and_keeps_execution_stats_behind_configuration() {
    let mongo = Mongo::start();
    let (devplane, _relay) = started(&mongo, "");
    let plan = operation(
        &devplane,
        "explain",
        json!({"collection": "orders", "filter": {"status": "paid"}}),
    );
    assert!(plan["details"]["queryPlanner"].is_object(), "{plan}");
    assert!(plan["details"].get("executionStats").is_none(), "{plan}");
    let refused = operation(
        &devplane,
        "explain",
        json!({"collection": "orders", "filter": {}, "analyze": true}),
    );
    assert_eq!(refused["code"], "not_read_only", "{refused}");
    if mongo.is_test_server() {
        let explains: Vec<Value> = mongo
            .commands()
            .into_iter()
            .filter(|c| c["command"] == "explain")
            .collect();
        assert_eq!(explains.len(), 1, "{explains:?}");
        assert_eq!(explains[0]["body"]["verbosity"], "queryPlanner");
    }
}
