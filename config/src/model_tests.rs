//! Tests of the typed model: defaults, spellings, and a document using every key.
#![allow(clippy::unwrap_used, clippy::expect_used)]
use super::*;
use crate::audit::{AuditLevel, AUDIT_LEVEL_NAMES};
use crate::connection::{PostgresConnection, ResourceConnection};
use crate::resource::{Operation, ResourceType};
use crate::schema::{Shape, ROOT};
use serde_norway::Value;
use std::collections::BTreeSet;

#[test]
fn control_plane_defaults_fill_in() {
    let plane: ControlPlane =
        serde_norway::from_str("url: wss://x\ntoken: t\ntenantId: acme").unwrap();
    assert_eq!(plane.health_interval_seconds, 30);
    assert_eq!(plane.heartbeat_interval_seconds, 10);
    assert_eq!(plane.heartbeat_timeout_seconds, 30);
    assert_eq!(plane.max_message_bytes, 16_777_216);
    assert_eq!(plane.shutdown_grace_seconds, 10);
    assert_eq!(plane.reconnect_max_delay_seconds, 30);
    assert_eq!(plane.ca_file, None);
    assert!(!plane.allow_insecure);
}

#[test]
fn masking_and_audit_default_to_enabled() {
    let masking: Masking = serde_norway::from_str("{}").unwrap();
    assert_eq!(masking, Masking::default());
    assert!(masking.enabled && masking.patterns.is_empty());
    let audit: Audit = serde_norway::from_str("{}").unwrap();
    assert_eq!(audit, Audit::default());
    assert_eq!(audit.level, AuditLevel::Info);
}

#[test]
fn audit_level_names_round_trip() {
    for (level, name) in [AuditLevel::Info, AuditLevel::Warn]
        .iter()
        .zip(AUDIT_LEVEL_NAMES)
    {
        assert_eq!(level.to_string(), *name);
        assert_eq!(serde_norway::from_str::<AuditLevel>(name).unwrap(), *level);
    }
}

/// Every key the schema knows, set to a value other than its default.
fn full_document(ca_file: &str) -> String {
    format!(
            "controlPlane:
  url: wss://cp.example.com/connect
  token: tok
  tenantId: acme
  caFile: {ca_file}
  proxy: {{url: 'https://u:p@proxy.example:3128', caFile: {ca_file}}}
  allowInsecure: true
  healthIntervalSeconds: 31
  heartbeatIntervalSeconds: 11
  heartbeatTimeoutSeconds: 31
  maxMessageBytes: 65536
  shutdownGraceSeconds: 11
  reconnectMaxDelaySeconds: 31
resources:
  - id: pg
    type: postgres
    name: PG
    connection: {{host: h, port: 1, database: d, user: u, password: p,
                  connectTimeoutSeconds: 11, applicationName: app, sslmode: require,
                  caFile: {ca_file}}}
    allowedOperations: [explain]
    maxRowsPerQuery: 1001
    poolSize: 4
    statementTimeoutMs: 30001
    lockTimeoutMs: 1500
    maxQueuedRequests: 65
    maxResultBytes: 2048
    allowedFunctions: [my_fn]
    allowedRelations: [public.v]
    tables: {{allow: [public.orders], deny: [public.secret]}}
    maxStatementBytes: 4096
    explainAnalyze: true
    allowPrivilegedUser: true
  - id: mongo
    type: mongodb
    connection: {{uri: 'mongodb://h/d', authSource: users, tls: true, readPreference: nearest}}
masking:
  enabled: false
  patterns: [{{name: n, regex: x, replacement: y}}]
  builtins: {{email: false, cpf: false, cnpj: false, creditCard: false, phone: false, iban: false,
             ipv4: true, ipv6: true, jwt: false, awsAccessKey: false, privateKey: false, urlSecret: false,
             bearerToken: false, sqlPassword: false}}
  columns: [{{name: pw, regex: null, table: public.users, strategy: hash, replacement: r, keep: 2}}]
  hashKey: hash-key-of-16-chars
audit:
  enabled: false
  level: warn
  redactStatements: true
  file: /var/log/relay/audit.jsonl
  controlPlane: false
  spoolPath: /tmp/spool.jsonl
  spoolMaxRecords: 500
  maxSpoolBytes: 2097152
  maxStatementBytes: 4096
metrics:
  listen: 0.0.0.0:9464
"
        )
}

fn schema_keys(shape: &Shape, path: &str, keys: &mut BTreeSet<String>) {
    match shape {
        Shape::Map(fields) | Shape::Engine(fields) => {
            for field in fields.iter() {
                let child = format!("{path}.{}", field.name);
                schema_keys(&field.shape, &child, keys);
                keys.insert(child);
            }
        }
        Shape::List(item) => schema_keys(item, &format!("{path}[]"), keys),
        Shape::Any | Shape::OneOf(..) => {}
    }
}

fn document_keys(node: &Value, path: &str, keys: &mut BTreeSet<String>) {
    match node {
        Value::Mapping(entries) => {
            for (key, value) in entries {
                let child = format!("{path}.{}", key.as_str().unwrap());
                document_keys(value, &child, keys);
                keys.insert(child);
            }
        }
        Value::Sequence(items) => {
            for item in items {
                document_keys(item, &format!("{path}[]"), keys);
            }
        }
        _ => {}
    }
}

/// The typed form of `full_document`'s first resource.
fn full_postgres(ca_file: &str) -> Resource {
    Resource {
        id: "pg".into(),
        kind: ResourceType::Postgres,
        name: Some("PG".into()),
        connection: ResourceConnection::Postgres(PostgresConnection {
            host: Some("h".into()),
            port: Some(1),
            database: Some("d".into()),
            user: Some("u".into()),
            password: Some(Secret::new("p".into())),
            uri: None,
            connect_timeout_seconds: 11,
            application_name: "app".into(),
            sslmode: crate::SslMode::Require,
            ca_file: Some(ca_file.into()),
        }),
        allowed_operations: vec![Operation::Explain],
        max_rows_per_query: 1001,
        pool_size: 4,
        statement_timeout_ms: 30001,
        lock_timeout: Some(1500),
        max_queued_requests: 65,
        max_result_bytes: 2048,
        allowed_functions: vec!["my_fn".into()],
        allowed_relations: vec!["public.v".into()],
        tables: crate::Tables {
            allow: Some(vec!["public.orders".into()]),
            deny: vec!["public.secret".into()],
        },
        max_statement_bytes: 4096,
        explain_analyze: true,
        allow_privileged_user: true,
    }
}

/// The typed form of `full_document`'s control plane.
fn full_control_plane(ca_file: &str) -> ControlPlane {
    ControlPlane {
        url: "wss://cp.example.com/connect".into(),
        token: Some(Secret::new("tok".into())),
        token_file: None,
        credential: Secret::new("tok".into()),
        tenant_id: "acme".into(),
        ca_file: Some(ca_file.into()),
        proxy: Some(crate::ProxySetting::Server(crate::ProxyServer {
            url: Secret::new("https://u:p@proxy.example:3128".into()),
            ca_file: Some(ca_file.into()),
        })),
        allow_insecure: true,
        health_interval_seconds: 31,
        heartbeat_interval_seconds: 11,
        heartbeat_timeout_seconds: 31,
        max_message_bytes: 65536,
        shutdown_grace_seconds: 11,
        reconnect_max_delay_seconds: 31,
    }
}

/// Keeps the schema (`schema.rs`) and the structs in step: the document uses exactly the
/// schema's keys, loads, and sets every field. A new field must be added to the schema,
/// `full_document` and the struct literals (with a non-default value).
#[test]
fn schema_and_structs_know_the_same_keys() {
    let ca_file = concat!(env!("CARGO_MANIFEST_DIR"), "/Cargo.toml");
    let text = full_document(ca_file);
    let (mut in_schema, mut in_document) = (BTreeSet::new(), BTreeSet::new());
    schema_keys(&ROOT, "", &mut in_schema);
    // The alternative to `token` (one document cannot hold both); `token_file_tests.rs` loads it.
    assert!(in_schema.remove(".controlPlane.tokenFile"));
    let tree = serde_norway::from_str(&text).unwrap();
    document_keys(&tree, "", &mut in_document);
    assert_eq!(in_schema, in_document);

    let config = crate::test_support::load(&text);
    assert_eq!(config.control_plane, full_control_plane(ca_file));
    assert_eq!(config.resources[0], full_postgres(ca_file));
    let mongo = &config.resources[1];
    assert_eq!(mongo.kind, ResourceType::Mongodb);
    let connection = mongo.connection.as_mongodb().unwrap();
    let uri = connection.uri.as_ref().map(Secret::expose);
    assert_eq!(uri, Some("mongodb://h/d"));
    assert_eq!(connection.auth_source.as_deref(), Some("users"));
    assert_eq!(connection.tls, Some(true));
    let nearest = crate::ReadPreference::Nearest;
    assert_eq!(connection.read_preference, nearest);
    let pattern = MaskPattern {
        name: "n".into(),
        regex: "x".into(),
        replacement: "y".into(),
    };
    let masking = Masking {
        enabled: false,
        patterns: vec![pattern],
        builtins: crate::masking::Builtins {
            ipv4: true,
            ipv6: true,
            ..crate::masking::Builtins::none()
        },
        columns: vec![crate::masking::ColumnRule {
            name: Some("pw".into()),
            regex: None,
            table: Some("public.users".into()),
            strategy: crate::masking::MaskStrategy::Hash,
            replacement: "r".into(),
            keep: 2,
        }],
        hash_key: Some(Secret::new("hash-key-of-16-chars".into())),
    };
    assert_eq!(config.masking, masking);
    let audit = Audit {
        enabled: false,
        level: AuditLevel::Warn,
        redact_statements: true,
        file: Some("/var/log/relay/audit.jsonl".into()),
        control_plane: false,
        spool_path: Some("/tmp/spool.jsonl".into()),
        spool_max_records: 500,
        max_spool_bytes: 2 << 20,
        max_statement_bytes: 4096,
    };
    assert_eq!(config.audit, audit);
    let listen = "0.0.0.0:9464".parse().unwrap();
    assert_eq!(config.metrics, Some(crate::Metrics { listen }));
}
