//! Semantic validation of `resources`: ids, operations, limits, and the connection keys each
//! resource type needs. Every problem is collected.

use std::collections::HashMap;

use crate::check::Checker;
use crate::connection::{PostgresConnection, ResourceConnection};
use crate::error::{index_path, key_path, Problem};
use crate::resource::{Operation, Resource, ResourceType};

/// Whether a resource of type `kind` may be asked for `operation`. Every operation is valid
/// for every type today; this is the one place to narrow that.
pub(crate) fn operation_supported(kind: ResourceType, operation: Operation) -> bool {
    match kind {
        ResourceType::Postgres | ResourceType::Mongodb => Operation::ALL.contains(&operation),
    }
}

/// Checks the resources that deserialized, each with its index in the document, plus the
/// rules across them. `listed` is how many entries the document has.
pub(crate) fn resources(resources: &[(usize, Resource)], listed: usize) -> Vec<Problem> {
    let mut check = Checker::default();
    if listed == 0 {
        check.push("resources", "at least one resource is required");
    }
    // Ids are compared ignoring case, so `Main-PG` and `main-pg` cannot both exist.
    let mut first_by_id: HashMap<String, usize> = HashMap::new();
    for (index, resource) in resources {
        let at = index_path("resources", *index);
        match first_by_id.get(&resource.id.to_ascii_lowercase()) {
            Some(first) => {
                let message = format!("duplicate id \"{}\" (also resources[{first}])", resource.id);
                check.push(key_path(&at, "id"), message);
            }
            None => {
                first_by_id.insert(resource.id.to_ascii_lowercase(), *index);
            }
        }
        check_resource(&mut check, resource, &at);
    }
    check.problems
}

fn check_resource(check: &mut Checker, resource: &Resource, at: &str) {
    if !is_valid_id(&resource.id) {
        let rule =
            "must be 1 to 64 characters: a letter or digit, then letters, digits, \"_\" or \"-\"";
        check.push(
            key_path(at, "id"),
            format!("invalid id \"{}\": {rule}", resource.id),
        );
    }
    if resource
        .name
        .as_deref()
        .is_some_and(|name| name.trim().is_empty())
    {
        check.push(
            key_path(at, "name"),
            "must not be empty (omit it to use the id)",
        );
    }
    check_operations(check, resource, &key_path(at, "allowedOperations"));
    check.range(
        key_path(at, "maxRowsPerQuery"),
        resource.max_rows_per_query,
        1..=100_000,
    );
    check.range(key_path(at, "poolSize"), resource.pool_size, 1..=5);
    check.range(
        key_path(at, "statementTimeoutMs"),
        resource.statement_timeout_ms,
        1..=3_600_000,
    );
    check_lock_timeout(check, resource, at);
    check.range(
        key_path(at, "maxQueuedRequests"),
        resource.max_queued_requests,
        1..=10_000,
    );
    check_connection(check, &resource.connection, &key_path(at, "connection"));
    crate::validate_postgres::check(check, resource, at);
}

/// `lockTimeoutMs`, when set (postgres only, as the schema has it): at least 1 and not above
/// `statementTimeoutMs` (a lock wait is part of the statement's time).
fn check_lock_timeout(check: &mut Checker, resource: &Resource, at: &str) {
    let Some(lock_timeout) = resource.lock_timeout else {
        return;
    };
    let key = key_path(at, "lockTimeoutMs");
    if lock_timeout == 0 || lock_timeout > resource.statement_timeout_ms {
        let message = format!(
            "must be between 1 and statementTimeoutMs ({}) (got {lock_timeout})",
            resource.statement_timeout_ms
        );
        check.push(key, message);
    }
}

fn is_valid_id(id: &str) -> bool {
    let mut chars = id.chars();
    id.len() <= 64
        && chars.next().is_some_and(|c| c.is_ascii_alphanumeric())
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
}

fn check_operations(check: &mut Checker, resource: &Resource, at: &str) {
    if resource.allowed_operations.is_empty() {
        check.push(at, "must list at least one operation");
    }
    for (index, operation) in resource.allowed_operations.iter().enumerate() {
        let item = index_path(at, index);
        if resource.allowed_operations[..index].contains(operation) {
            check.push(item, format!("duplicate operation \"{operation}\""));
        } else if !operation_supported(resource.kind, *operation) {
            let message = format!(
                "operation \"{operation}\" is not supported for {}",
                resource.kind
            );
            check.push(item, message);
        }
    }
}

fn check_connection(check: &mut Checker, connection: &ResourceConnection, at: &str) {
    check.range(
        key_path(at, "connectTimeoutSeconds"),
        connection.connect_timeout_seconds(),
        1..=300,
    );
    if let Some(port) = connection.port() {
        check.range(key_path(at, "port"), port, 1..=u16::MAX);
    }
    let name = connection.application_name();
    if name.is_empty() || name.len() > 63 || !name.chars().all(|c| c.is_ascii_graphic() || c == ' ')
    {
        check.push(
            key_path(at, "applicationName"),
            "must be 1 to 63 printable ASCII characters",
        );
    }
    for (key, value) in [
        ("host", connection.host()),
        ("database", connection.database()),
        ("user", connection.user()),
    ] {
        if value.is_some_and(|text| text.trim().is_empty()) {
            check.push(key_path(at, key), "must not be empty");
        }
    }
    match connection {
        ResourceConnection::Postgres(connection) => check_postgres(check, connection, at),
        ResourceConnection::Mongodb(connection) => {
            crate::validate_mongodb::check_connection(check, connection, at)
        }
    }
}

/// postgres: host, database and user are required; a URI is not accepted.
fn check_postgres(check: &mut Checker, connection: &PostgresConnection, at: &str) {
    for (key, value) in [
        ("host", &connection.host),
        ("database", &connection.database),
        ("user", &connection.user),
    ] {
        if value.is_none() {
            check.push(key_path(at, key), "required for postgres");
        }
    }
    if connection.uri.is_some() {
        let message = "not supported for postgres; use host, port, database, user and password";
        check.push(key_path(at, "uri"), message);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::{edited, problems, with_after, MINIMAL};

    #[test]
    fn id_rule() {
        assert!(is_valid_id("main-pg"));
        assert!(is_valid_id("Main_PG2"));
        assert!(is_valid_id(&"a".repeat(64)));
        assert!(!is_valid_id(&"a".repeat(65)));
        assert!(!is_valid_id("-pg"));
        assert!(!is_valid_id(""));
        assert!(!is_valid_id("main pg"));
    }

    #[test]
    fn every_operation_is_supported_everywhere() {
        for kind in [ResourceType::Postgres, ResourceType::Mongodb] {
            assert!(Operation::ALL
                .iter()
                .all(|op| operation_supported(kind, *op)));
        }
    }

    // The rules below are checked through the whole pipeline, so each message is shown with
    // the key path a user sees.

    const SECOND: &str =
        "  - {id: other, type: postgres, connection: {host: h, database: d, user: u}}\n";

    #[test]
    fn at_least_one_resource_is_required() {
        let cut = |text: &str| text[..text.find("resources:").unwrap_or(0)].to_owned();
        let expected = ["resources: at least one resource is required"];
        assert_eq!(problems(&cut(MINIMAL)), expected);
        assert_eq!(
            problems(&format!("{}resources: []\n", cut(MINIMAL))),
            expected
        );
    }

    #[test]
    fn duplicate_ids_are_reported_on_the_later_one_ignoring_case() {
        let text = format!("{MINIMAL}{}", SECOND.replace("other", "Main-PG"));
        let expected = ["resources[1].id: duplicate id \"Main-PG\" (also resources[0])"];
        assert_eq!(problems(&text), expected);
    }

    #[test]
    fn id_and_name_formats() {
        let text = edited(&[("  - id: main-pg\n", "  - id: 'main pg'\n    name: ' '\n")]);
        let expected = [
            "resources[0].id: invalid id \"main pg\": must be 1 to 64 characters: a letter or \
             digit, then letters, digits, \"_\" or \"-\"",
            "resources[0].name: must not be empty (omit it to use the id)",
        ];
        assert_eq!(problems(&text), expected);
    }

    #[test]
    fn operations_must_be_non_empty_and_unique() {
        let empty = with_after("    type: postgres\n", "    allowedOperations: []\n");
        let expected = ["resources[0].allowedOperations: must list at least one operation"];
        assert_eq!(problems(&empty), expected);
        let repeated = "    allowedOperations: [query, explain, query]\n";
        let expected = ["resources[0].allowedOperations[2]: duplicate operation \"query\""];
        assert_eq!(
            problems(&with_after("    type: postgres\n", repeated)),
            expected
        );
    }

    #[test]
    fn lock_timeout_is_within_the_statement_timeout() {
        let zero = with_after("    type: postgres\n", "    lockTimeoutMs: 0\n");
        let expected = [
            "resources[0].lockTimeoutMs: must be between 1 and statementTimeoutMs (30000) (got 0)",
        ];
        assert_eq!(problems(&zero), expected);
        let longer = "    statementTimeoutMs: 1000\n    lockTimeoutMs: 1001\n";
        let expected = [
            "resources[0].lockTimeoutMs: must be between 1 and statementTimeoutMs (1000) (got 1001)",
        ];
        assert_eq!(
            problems(&with_after("    type: postgres\n", longer)),
            expected
        );
    }

    #[test]
    fn resource_ranges_are_all_reported() {
        let extra = "    maxRowsPerQuery: 100001\n    poolSize: 0\n    statementTimeoutMs: 0\n    \
                     maxQueuedRequests: 10001\n";
        let connection = "      port: 0\n      connectTimeoutSeconds: 301\n      \
                          applicationName: ''\n";
        let text = with_after("    type: postgres\n", extra);
        let text = text.replace(
            "      user: relay\n",
            &format!("      user: relay\n{connection}"),
        );
        let expected = [
            "resources[0].maxRowsPerQuery: must be between 1 and 100000 (got 100001)",
            "resources[0].poolSize: must be between 1 and 5 (got 0)",
            "resources[0].statementTimeoutMs: must be between 1 and 3600000 (got 0)",
            "resources[0].maxQueuedRequests: must be between 1 and 10000 (got 10001)",
            "resources[0].connection.connectTimeoutSeconds: must be between 1 and 300 (got 301)",
            "resources[0].connection.port: must be between 1 and 65535 (got 0)",
            "resources[0].connection.applicationName: must be 1 to 63 printable ASCII characters",
        ];
        assert_eq!(problems(&text), expected);
    }

    #[test]
    fn postgres_needs_host_database_user_and_no_uri() {
        let text = edited(&[(
            "      host: db\n      database: app\n      user: relay\n",
            "      host: ''\n      uri: 'postgres://u:SEKRIT@h/db'\n",
        )]);
        let expected = [
            "resources[0].connection.host: must not be empty",
            "resources[0].connection.database: required for postgres",
            "resources[0].connection.user: required for postgres",
            "resources[0].connection.uri: not supported for postgres; use host, port, database, \
             user and password",
        ];
        assert_eq!(problems(&text), expected);
    }
}
