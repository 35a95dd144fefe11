//! MongoDB values beyond strings through the wire test server (or a real MongoDB): Int64 and
//! double identifiers, PII in field names, `$binary` holding text, also through `aggregate` and
//! `describe_table`, while ordinary numbers, dates and binaries stay as they are.

use crate::mongo_fixture::Mongo;
use crate::mongo_ops::{operation, started};
use base64::Engine as _;
use serde_json::{json, Value};

const SECRETS: &[&str] = &[
    "52998224725",
    "4111111111111111",
    "ana@example.com",
    "bo@example.org",
];

/// A seed with one collection of PII stored as numbers, keys and bytes.
fn seed_file(dir: &tempfile::TempDir) -> std::path::PathBuf {
    let b64 = |bytes: &[u8]| base64::engine::general_purpose::STANDARD.encode(bytes);
    let seed = json!({"databases": {"shop": {"collections": {"people": [{
        "_id": 1,
        "cpf": {"$numberLong": "52998224725"},
        "card": {"$numberLong": "4111111111111111"},
        "cpf_double": {"$numberDouble": "52998224725"},
        "contacts": {"ana@example.com": "primary", "bo@example.org": "primary"},
        "note": {"$binary": {"base64": b64(b"mail ana@example.com"), "subType": "00"}},
        "avatar": {"$binary": {"base64": b64(b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR"), "subType": "00"}},
        "ratio": {"$numberDouble": "2.718281828459045"},
        "micros": {"$numberLong": "1700000000000000"},
        "created_at": {"$date": "2023-11-21T19:55:47.237Z"}
    }]}}}});
    let path = dir.path().join("seed.json");
    std::fs::write(&path, seed.to_string()).unwrap();
    path
}

fn assert_no_secret(result: &Value) {
    let text = result.to_string();
    for secret in SECRETS {
        assert!(!text.contains(secret), "{secret} left in {text}");
    }
}

#[test]
fn numbers_keys_and_binaries_of_documents_are_masked() {
    let dir = tempfile::tempdir().unwrap();
    let mongo = Mongo::start_with_seed(&seed_file(&dir));
    let (devplane, _relay) = started(&mongo, "");
    let found = operation(&devplane, "query", json!({"collection": "people"}));
    assert_eq!(found["type"], "result", "{found}");
    let person = &found["rows"][0][0];
    assert_eq!(person["cpf"], "***.***.***-**", "{person}");
    assert_eq!(person["card"], "[card]");
    assert_eq!(person["cpf_double"], "***.***.***-**");
    assert_eq!(person["note"], "***@***.***");
    let contacts = person["contacts"].as_object().unwrap();
    assert_eq!(contacts.len(), 2, "both colliding keys survive: {person}");
    assert!(contacts.keys().all(|key| key.starts_with("***@***.***")));
    // Ordinary values stay.
    assert_eq!(person["avatar"]["$binary"]["subType"], "00", "{person}");
    assert_eq!(person["ratio"], std::f64::consts::E);
    assert_eq!(person["micros"], 1700000000000000u64);
    assert_eq!(
        person["created_at"],
        json!({"$date": "2023-11-21T19:55:47.237Z"})
    );
    assert_no_secret(&found);

    let projected = operation(
        &devplane,
        "query",
        json!({"collection": "people", "pipeline": [
            {"$project": {"id": "$cpf", "c": "$contacts", "n": "$note", "_id": 0}}]}),
    );
    assert_eq!(projected["type"], "result", "{projected}");
    assert_eq!(
        projected["rows"][0][0]["id"], "***.***.***-**",
        "{projected}"
    );
    assert_no_secret(&projected);

    let described = operation(&devplane, "describe_table", json!({"collection": "people"}));
    assert_eq!(described["type"], "result", "{described}");
    assert_no_secret(&described);
}
