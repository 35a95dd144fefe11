//! Tests of loading: the example, syntax and type errors, several problems at once, defaults.
#![allow(clippy::unwrap_used, clippy::expect_used)]
use super::*;
use crate::test_support::{edited, example_env, load, problems, with_after, EXAMPLE, MINIMAL};
use crate::{AuditLevel, Operation, ResourceType, Secret};

#[test]
fn example_loads_with_its_variables_and_defaults() {
    let config = Config::from_yaml_str(EXAMPLE, "relay-config.yaml", &example_env).unwrap();
    let plane = &config.control_plane;
    assert_eq!(plane.url, "wss://api.causeflow.ai/v1/relay/connect");
    assert_eq!(plane.credential.expose(), "tok-SEKRIT-1");
    assert_eq!(plane.tenant_id, "acme");
    assert_eq!(plane.max_message_bytes, 16 << 20);
    assert_eq!(
        (plane.ca_file.as_ref(), plane.allow_insecure),
        (None, false)
    );
    let intervals = (
        plane.health_interval_seconds,
        plane.heartbeat_interval_seconds,
    );
    assert_eq!(intervals, (30, 10));
    let timeouts = (
        plane.heartbeat_timeout_seconds,
        plane.shutdown_grace_seconds,
    );
    assert_eq!(timeouts, (30, 10));
    assert_eq!(plane.reconnect_max_delay_seconds, 30);
    let names: Vec<&str> = config
        .masking
        .patterns
        .iter()
        .map(|p| p.name.as_str())
        .collect();
    assert_eq!(names, ["cpf", "email"]);
    let cpf = &config.masking.patterns[0];
    assert_eq!(cpf.regex, r"\d{3}\.\d{3}\.\d{3}-\d{2}");
    assert_eq!(cpf.replacement, "***.***.***-**");
    assert!(config.masking.enabled && config.audit.enabled);
    assert_eq!(config.audit.level, AuditLevel::Info);
}

#[test]
fn example_resource_has_its_values_and_defaults() {
    let config = Config::from_yaml_str(EXAMPLE, "relay-config.yaml", &example_env).unwrap();
    let [resource] = config.resources.as_slice() else {
        panic!("expected one resource");
    };
    assert_eq!(
        (resource.id.as_str(), resource.kind),
        ("main-pg", ResourceType::Postgres)
    );
    assert_eq!(resource.display_name(), "Main PostgreSQL");
    let connection = resource.connection.as_postgres().unwrap();
    assert_eq!(connection.host.as_deref(), Some("pg.internal"));
    assert_eq!(connection.port_or_default(), 5432);
    assert_eq!(connection.database.as_deref(), Some("appdb"));
    assert_eq!(connection.user.as_deref(), Some("relay_ro"));
    let password = connection.password.as_ref().map(Secret::expose);
    assert_eq!(password, Some("pw-SEKRIT-2"));
    assert_eq!(connection.uri, None);
    assert_eq!(connection.connect_timeout_seconds, 10);
    assert_eq!(connection.application_name, "relay");
    assert_eq!(resource.allowed_operations, Operation::ALL.to_vec());
    assert_eq!((resource.max_rows_per_query, resource.pool_size), (1000, 5));
    let limits = (resource.statement_timeout_ms, resource.max_queued_requests);
    assert_eq!(limits, (30_000, 64));
}

#[test]
fn debug_of_a_config_hides_token_and_password() {
    let config = Config::from_yaml_str(EXAMPLE, "relay-config.yaml", &example_env).unwrap();
    let debug = format!("{config:?} {config:#?}");
    assert!(!debug.contains("SEKRIT"), "{debug}");
    assert!(debug.contains("[redacted]"));
}

#[test]
fn syntax_error_gives_line_and_column() {
    let found = problems("controlPlane:\n  url: [unclosed\nresources: []\n");
    assert_eq!(found.len(), 1);
    assert!(found[0].starts_with("line 3, column"), "{found:?}");
}

#[test]
fn a_byte_order_mark_at_the_start_is_accepted() {
    let config = load(&format!("\u{feff}{MINIMAL}"));
    assert_eq!(config.resources[0].id, "main-pg");
}

#[test]
fn empty_or_scalar_document_is_a_problem() {
    assert_eq!(
        problems(""),
        ["(document): is empty; expected controlPlane and resources"]
    );
    assert_eq!(
        problems("5"),
        ["(document): must be a mapping with controlPlane and resources"]
    );
}

#[test]
fn wrong_types_are_reported_with_their_path() {
    let text = with_after("      user: relay\n", "      port: [1]\n");
    let found = problems(&text.replace("  token: tok\n", "  token: 12345\n"));
    assert_eq!(found.len(), 2, "{found:?}");
    assert!(
        found[0].starts_with("controlPlane.token: invalid type"),
        "{found:?}"
    );
    assert!(!found[0].contains("12345"), "{found:?}");
    assert!(
        found[1].starts_with("resources[0].connection.port: invalid type"),
        "{found:?}"
    );
}

#[test]
fn several_problems_are_reported_at_once() {
    let text = edited(&[
        (
            "  token: tok\n",
            "  token: ${NOPE}\n  heartbeatTimeoutSeconds: 5\n",
        ),
        (
            "    type: postgres\n",
            "    type: postgres\n    poolSize: 9\n    colour: red\n",
        ),
        ("      user: relay\n", "      portt: 1\n"),
    ]) + "  - {id: MAIN-PG, type: mongodb, connection: {}}\n"
        + "masking:\n  patterns: [{name: a, regex: '(', replacement: x}]\n";
    let found = problems(&text);
    let expected = [
            "controlPlane.token: environment variable NOPE is not set",
            "controlPlane.heartbeatTimeoutSeconds: must be greater than \
             heartbeatIntervalSeconds (10) (got 5)",
            "resources[0].colour: unknown key \"colour\" (known keys: id, type, name, connection, allowedOperations, maxRowsPerQuery, poolSize, statementTimeoutMs, lockTimeoutMs, maxQueuedRequests, maxResultBytes, allowedFunctions, allowedRelations, tables, maxStatementBytes, explainAnalyze, allowPrivilegedUser)",
            "resources[0].connection.portt: unknown key \"portt\" (did you mean \"port\"?)",
            "resources[0].poolSize: must be between 1 and 5 (got 9)",
            "resources[0].connection.user: required for postgres",
            "resources[1].id: duplicate id \"MAIN-PG\" (also resources[0])",
            "resources[1].connection: mongodb needs either uri or host",
            "masking.patterns[0].regex: invalid regex: unclosed group",
        ];
    assert_eq!(found, expected);
}

#[test]
fn problems_are_sorted_into_document_order() {
    let text = edited(&[
        ("  token: tok\n", "  token: ''\n"),
        ("    type: postgres\n", "    type: mysql\n"),
    ]);
    let found = problems(&format!("audit: {{level: loud}}\n{text}"));
    let expected = [
        "audit.level: unknown audit level \"loud\" (known: info, warn)",
        "controlPlane.token: must not be empty",
        "resources[0].type: unknown resource type \"mysql\" (known: postgres, mongodb)",
    ];
    assert_eq!(found, expected);
}

#[test]
fn optional_keys_without_a_value_take_their_defaults() {
    let empty_keys = "    poolSize:\n    name:\n    allowedOperations:\n";
    let text = with_after("    type: postgres\n", empty_keys);
    let config = load(&format!("{text}masking:\naudit: {{enabled: }}\n"));
    assert!(config.masking.enabled && config.audit.enabled);
    let resource = &config.resources[0];
    assert_eq!(
        (resource.pool_size, resource.display_name()),
        (5, "main-pg")
    );
    assert_eq!(resource.allowed_operations, Operation::ALL.to_vec());
}

#[test]
fn load_reads_a_file_and_reports_a_missing_one() {
    let path = std::env::temp_dir().join(format!("relay-config-test-{}.yaml", std::process::id()));
    std::fs::write(&path, MINIMAL).unwrap();
    let loaded = Config::load(&path);
    std::fs::remove_file(&path).unwrap();
    assert_eq!(loaded.unwrap().resources[0].id, "main-pg");
    let error = Config::load(Path::new("/nonexistent/relay-config.yaml")).unwrap_err();
    assert!(matches!(error, ConfigError::Read { .. }), "{error}");
    assert!(error
        .to_string()
        .starts_with("cannot read /nonexistent/relay-config.yaml: "));
}

#[test]
fn proxy_is_none_or_a_server_and_problems_do_not_echo_credentials() {
    let anchor = "  tenantId: acme\n";
    let disabled = load(&with_after(anchor, "  proxy: none\n"));
    assert_eq!(
        disabled.control_plane.proxy,
        Some(crate::ProxySetting::Disabled)
    );
    let with_env = |name: &str| (name == "PROXY_PASSWORD").then(|| "s3cret".to_owned());
    let text = with_after(
        anchor,
        "  proxy: {url: 'http://relay:${PROXY_PASSWORD}@proxy.internal:3128'}\n",
    );
    let config = Config::from_yaml_str(&text, "test.yaml", &with_env).unwrap();
    let Some(crate::ProxySetting::Server(server)) = &config.control_plane.proxy else {
        panic!("no proxy server");
    };
    assert_eq!(
        server.url.expose(),
        "http://relay:s3cret@proxy.internal:3128"
    );
    assert!(!format!("{config:?}").contains("s3cret"));
    let found = problems(&with_after(
        anchor,
        "  proxy: {url: 'socks5://u:hunter2@p:1080', caFile: /missing/ca.pem, port: 1}\n",
    ));
    assert_eq!(
        found,
        [
            "controlPlane.proxy.port: unknown key \"port\" (known keys: url, caFile)",
            "controlPlane.proxy.url: unsupported proxy scheme \"socks5\": only http:// and \
             https:// proxies are supported",
            "controlPlane.proxy.caFile: file not found: /missing/ca.pem",
        ]
    );
    let found = problems(&with_after(anchor, "  proxy: off\n"));
    assert_eq!(found.len(), 1, "{found:?}");
    assert!(found[0].starts_with("controlPlane.proxy: "), "{found:?}");
    assert!(found[0].contains("`none` or a mapping"), "{found:?}");
    let found = problems(&with_after(anchor, "  proxy: {caFile: x}\n"));
    assert_eq!(found, ["controlPlane.proxy.url: missing required key"]);
}
