//! Resource settings: defaults, names that round-trip, and debug output that hides secrets.
#![allow(clippy::unwrap_used, clippy::expect_used)]
use super::*;

#[test]
fn resource_defaults_fill_in() {
    let tree = serde_norway::from_str("id: a\ntype: mongodb\nconnection: {uri: 'mongodb://h/db'}")
        .unwrap();
    let resource: Resource =
        serde_norway::from_value(crate::connection::tag_by_engine(&tree)).unwrap();
    assert_eq!(resource.kind, ResourceType::Mongodb);
    assert_eq!(resource.display_name(), "a");
    assert_eq!(resource.allowed_operations, Operation::ALL.to_vec());
    assert_eq!(resource.max_rows_per_query, 1000);
    assert_eq!(resource.pool_size, 5);
    assert_eq!(resource.statement_timeout_ms, 30_000);
    assert_eq!(resource.lock_timeout_ms(), 2000);
    assert_eq!(resource.max_queued_requests, 64);
    assert_eq!(resource.connection.connect_timeout_seconds(), 10);
    assert_eq!(resource.connection.application_name(), "relay");
    assert_eq!(resource.connection.port_or_default(), 27017);
    assert_eq!(ResourceType::Postgres.default_port(), 5432);
}

#[test]
fn names_round_trip() {
    for (kind, name) in [ResourceType::Postgres, ResourceType::Mongodb]
        .iter()
        .zip(RESOURCE_TYPE_NAMES)
    {
        assert_eq!(kind.to_string(), *name);
        assert_eq!(serde_norway::from_str::<ResourceType>(name).unwrap(), *kind);
    }
    assert_eq!(Operation::ALL.len(), OPERATION_NAMES.len());
    for (operation, name) in Operation::ALL.iter().zip(OPERATION_NAMES) {
        assert_eq!(operation.to_string(), *name);
        assert_eq!(
            serde_norway::from_str::<Operation>(name).unwrap(),
            *operation
        );
    }
}

#[test]
fn debug_hides_password_and_uri() {
    let connection: crate::MongoConnection =
        serde_norway::from_str("password: s3cr3t-pw\nuri: 'mongodb://u:s3cr3t-uri@h/db'").unwrap();
    let debug = format!("{connection:?}");
    assert!(!debug.contains("s3cr3t"), "{debug}");
    assert!(debug.contains("[redacted]"));
}
