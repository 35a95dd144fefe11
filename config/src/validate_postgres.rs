//! Validation of the keys that shape how a resource reads: result size, extra SQL functions,
//! the database's CA file. Every problem is collected.

use crate::check::Checker;
use crate::error::key_path;
use crate::resource::Resource;

/// Checks `maxResultBytes`, `maxStatementBytes`, the name patterns and `connection.caFile`.
pub(crate) fn check(check: &mut Checker, resource: &Resource, at: &str) {
    check.range(
        key_path(at, "maxResultBytes"),
        resource.max_result_bytes,
        1024..=268_435_456,
    );
    check.range(
        key_path(at, "maxStatementBytes"),
        resource.max_statement_bytes,
        1024..=16_777_216,
    );
    crate::validate_scope::check(check, resource, at);
    let connection_at = key_path(at, "connection");
    if let Some(ca_file) = resource.connection.ca_file() {
        if !ca_file.is_file() {
            check.push(
                key_path(&connection_at, "caFile"),
                format!("file not found: {}", ca_file.display()),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use crate::{Config, SslMode};

    const BASE: &str = "controlPlane:\n  url: wss://cp.example.com/v1/relay/connect\n  token: t\n  tenantId: acme\n\
resources:\n  - id: pg\n    type: postgres\n    connection:\n      host: db\n      database: app\n      user: reader\n";

    fn problems(extra_resource: &str, extra_connection: &str) -> Vec<String> {
        let text = format!("{BASE}{extra_connection}{extra_resource}");
        match Config::from_yaml_str(&text, "test.yaml", &|_| None) {
            Ok(_) => Vec::new(),
            Err(err) => err.problems().iter().map(ToString::to_string).collect(),
        }
    }

    #[test]
    fn unknown_sslmode_lists_the_known_ones() {
        let text = problems("", "      sslmode: sometimes\n").join("\n");
        assert!(
            text.contains("resources[0].connection.sslmode: unknown sslmode \"sometimes\""),
            "{text}"
        );
    }

    #[test]
    fn defaults_are_safe() {
        let config = Config::from_yaml_str(BASE, "test.yaml", &|_| None).unwrap();
        let resource = &config.resources[0];
        assert_eq!(resource.max_result_bytes, 16 * 1024 * 1024);
        assert!(resource.allowed_functions.is_empty());
        assert!(!resource.explain_analyze && !resource.allow_privileged_user);
        let connection = resource.connection.as_postgres().unwrap();
        assert_eq!(connection.sslmode, SslMode::Prefer);
        assert_eq!(connection.ca_file, None);
    }

    #[test]
    fn new_keys_load_and_validate() {
        let extra =
            "    allowedFunctions: [my_fn, reporting.safe_sum]\n    explainAnalyze: 'true'\n    \
allowPrivilegedUser: true\n    maxResultBytes: 2048\n";
        let text = format!("{BASE}      sslmode: verify-full\n{extra}");
        let config = Config::from_yaml_str(&text, "test.yaml", &|_| None).unwrap();
        let resource = &config.resources[0];
        assert_eq!(resource.allowed_functions, ["my_fn", "reporting.safe_sum"]);
        assert!(resource.explain_analyze && resource.allow_privileged_user);
        assert_eq!(resource.max_result_bytes, 2048);
        let connection = resource.connection.as_postgres().unwrap();
        assert_eq!(connection.sslmode.as_str(), "verify-full");
    }

    #[test]
    fn every_problem_has_its_key_path() {
        let found = problems(
            "    maxResultBytes: 10\n    allowedFunctions: [ok, 'bad name', a.b.c]\n",
            "      caFile: /nonexistent/ca.pem\n",
        );
        let text = found.join("\n");
        for expected in [
            "resources[0].maxResultBytes",
            "resources[0].allowedFunctions[1]",
            "resources[0].allowedFunctions[2]",
            "resources[0].connection.caFile: file not found",
        ] {
            assert!(text.contains(expected), "missing {expected} in:\n{text}");
        }
    }
}
