//! Semantic validation of the typed sections: ranges, formats, and rules across keys. Every
//! check runs and every problem is collected. Resources are checked in `validate_resource.rs`.

use std::collections::HashMap;
use std::path::Path;

use crate::check::{regex_problem, Checker};
use crate::error::{index_path, key_path, Problem};
use crate::model::{ControlPlane, Masking};
use crate::proxy::{ProxyServer, ProxySetting, ProxyUrl};
use crate::secret::Secret;
use crate::ws_url::url_problem;

/// Upper bound of `heartbeatTimeoutSeconds`; it has to exceed the heartbeat interval.
const MAX_HEARTBEAT_TIMEOUT_SECONDS: u64 = 3600;

/// Checks `controlPlane` (at path `path`).
pub(crate) fn control_plane(plane: &ControlPlane, path: &str) -> Vec<Problem> {
    let mut check = Checker::default();
    let at = |key: &str| key_path(path, key);
    if let Some(message) = url_problem(&plane.url, plane.allow_insecure) {
        check.push(at("url"), message);
    }
    let token = plane.token.as_ref().map_or("-", Secret::expose);
    if token.is_empty() {
        check.push(at("token"), "must not be empty");
    } else if token.chars().any(|c| c.is_whitespace() || c.is_control()) {
        check.push(
            at("token"),
            "must not contain whitespace or control characters",
        );
    }
    if !is_valid_tenant_id(&plane.tenant_id) {
        let rule = "must be 1 to 128 characters: letters, digits, \".\", \"_\" or \"-\"";
        check.push(at("tenantId"), rule);
    }
    if let Some(ca_file) = &plane.ca_file {
        check_ca_file(&mut check, at("caFile"), ca_file);
    }
    if let Some(ProxySetting::Server(server)) = &plane.proxy {
        check_proxy(&mut check, server, &at("proxy"));
    }
    check_timings(&mut check, plane, &at);
    check.problems
}

fn check_ca_file(check: &mut Checker, path: String, ca_file: &Path) {
    if ca_file.as_os_str().is_empty() {
        check.push(path, "must not be empty (omit it to use the public roots)");
    } else if !ca_file.is_file() {
        check.push(path, format!("file not found: {}", ca_file.display()));
    }
}

/// `controlPlane.proxy` as a mapping: a proxy URL the relay can use, and its CA file.
fn check_proxy(check: &mut Checker, server: &ProxyServer, path: &str) {
    match ProxyUrl::parse(server.url.expose()) {
        Ok(url) if !url.tls && server.ca_file.is_some() => check.push(
            key_path(path, "caFile"),
            "only applies to an https:// proxy (the proxy URL is http://)",
        ),
        Ok(_) => {}
        Err(problem) => check.push(key_path(path, "url"), problem.to_string()),
    }
    if let Some(ca_file) = &server.ca_file {
        check_ca_file(check, key_path(path, "caFile"), ca_file);
    }
}

fn check_timings(check: &mut Checker, plane: &ControlPlane, at: &dyn Fn(&str) -> String) {
    check.range(
        at("healthIntervalSeconds"),
        plane.health_interval_seconds,
        1..=3600,
    );
    let interval = plane.heartbeat_interval_seconds;
    check.range(at("heartbeatIntervalSeconds"), interval, 1..=300);
    let timeout = plane.heartbeat_timeout_seconds;
    if timeout <= interval {
        let message =
            format!("must be greater than heartbeatIntervalSeconds ({interval}) (got {timeout})");
        check.push(at("heartbeatTimeoutSeconds"), message);
    } else if timeout > MAX_HEARTBEAT_TIMEOUT_SECONDS {
        let message = format!("must be at most {MAX_HEARTBEAT_TIMEOUT_SECONDS} (got {timeout})");
        check.push(at("heartbeatTimeoutSeconds"), message);
    }
    let max_message = 64 * 1024..=256 * 1024 * 1024;
    check.range(at("maxMessageBytes"), plane.max_message_bytes, max_message);
    check.range(
        at("shutdownGraceSeconds"),
        plane.shutdown_grace_seconds,
        0..=300,
    );
    check.range(
        at("reconnectMaxDelaySeconds"),
        plane.reconnect_max_delay_seconds,
        1..=3600,
    );
}

fn is_valid_tenant_id(tenant_id: &str) -> bool {
    (1..=128).contains(&tenant_id.len())
        && tenant_id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
}

/// Checks `masking` (at path `path`): pattern names non-empty and unique, regexes valid.
pub(crate) fn masking(masking: &Masking, path: &str) -> Vec<Problem> {
    let mut check = Checker::default();
    let patterns_path = key_path(path, "patterns");
    let mut first_by_name: HashMap<&str, usize> = HashMap::new();
    for (index, pattern) in masking.patterns.iter().enumerate() {
        let at = index_path(&patterns_path, index);
        if pattern.name.trim().is_empty() {
            check.push(key_path(&at, "name"), "must not be empty");
        } else if let Some(first) = first_by_name.get(pattern.name.as_str()) {
            let also = index_path(&patterns_path, *first);
            let message = format!("duplicate name \"{}\" (also {also})", pattern.name);
            check.push(key_path(&at, "name"), message);
        } else {
            first_by_name.insert(&pattern.name, index);
        }
        if let Some(message) = regex_problem(&pattern.regex) {
            check.push(key_path(&at, "regex"), message);
        }
    }
    crate::validate_masking::columns(&mut check, masking, path);
    check.problems
}

/// Checks `audit` (at path `path`): file paths are absolute, the bounds are in range and the
/// spool holds several records of the largest size.
pub(crate) fn audit(audit: &crate::audit::Audit, path: &str) -> Vec<Problem> {
    let mut check = Checker::default();
    for (key, file) in [("file", &audit.file), ("spoolPath", &audit.spool_path)] {
        match file.as_deref() {
            Some(file) if !file.starts_with('/') => {
                check.push(key_path(path, key), "must be an absolute path")
            }
            Some(file) if file.ends_with('/') => {
                check.push(key_path(path, key), "must name a file, not a directory")
            }
            _ => {}
        }
    }
    check.range(
        key_path(path, "spoolMaxRecords"),
        audit.spool_max_records,
        100..=1_000_000,
    );
    let spool_range = 1_u64 << 20..=1_u64 << 30;
    let spool_in_range = spool_range.contains(&audit.max_spool_bytes);
    check.range(
        key_path(path, "maxSpoolBytes"),
        audit.max_spool_bytes,
        spool_range,
    );
    let statement_range = 1024..=1_u32 << 20;
    let statement_in_range = statement_range.contains(&audit.max_statement_bytes);
    check.range(
        key_path(path, "maxStatementBytes"),
        audit.max_statement_bytes,
        statement_range,
    );
    let least = u64::from(audit.max_statement_bytes) * 8;
    if spool_in_range && statement_in_range && audit.max_spool_bytes < least {
        check.push(
            key_path(path, "maxSpoolBytes"),
            format!(
                "must be at least 8 times maxStatementBytes ({least}) (got {})",
                audit.max_spool_bytes
            ),
        );
    }
    check.problems
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::{edited, load, problems, with_after, MINIMAL};

    #[test]
    fn tenant_id_rule() {
        assert!(is_valid_tenant_id("acme-corp_1.eu"));
        assert!(!is_valid_tenant_id(""));
        assert!(!is_valid_tenant_id("acme corp"));
        assert!(!is_valid_tenant_id(&"a".repeat(129)));
    }

    #[test]
    fn regex_errors_keep_the_informative_line() {
        let message = regex_problem(r"\d{3").unwrap_or_default();
        assert!(message.starts_with("invalid regex: "), "{message}");
        assert!(!message.contains('\n'), "{message}");
        assert!(message.contains("repetition"), "{message}");
        assert!(regex_problem("a*")
            .unwrap_or_default()
            .contains("empty string"));
        assert_eq!(regex_problem(""), Some("must not be empty".into()));
        assert_eq!(regex_problem(r"\d+"), None);
    }

    #[test]
    fn range_names_bounds_and_value() {
        let mut check = Checker::default();
        check.range("a", 0_u64, 1..=5);
        check.range("b", 5_u64, 1..=5);
        assert_eq!(
            check.problems,
            vec![Problem::new("a", "must be between 1 and 5 (got 0)")]
        );
    }

    // The rules below are checked through the whole pipeline, so each message is shown with
    // the key path a user sees.

    #[test]
    fn insecure_url_is_reported_at_its_path() {
        let text = edited(&[("wss://cp.example.com", "ws://cp.example.com")]);
        let expected = "controlPlane.url: ws:// (unencrypted) is only allowed to a loopback \
                        host; use wss:// or set controlPlane.allowInsecure: true";
        assert_eq!(problems(&text), [expected]);
        let allowed = with_after("  tenantId: acme\n", "  allowInsecure: true\n");
        load(&allowed.replace("wss://", "ws://"));
    }

    #[test]
    fn token_must_be_non_empty_without_whitespace() {
        let empty = edited(&[("  token: tok\n", "  token: ''\n")]);
        assert_eq!(problems(&empty), ["controlPlane.token: must not be empty"]);
        let spaced = edited(&[("  token: tok\n", "  token: 'tok en'\n")]);
        let expected = "controlPlane.token: must not contain whitespace or control characters";
        assert_eq!(problems(&spaced), [expected]);
    }

    #[test]
    fn tenant_id_is_reported_at_its_path() {
        let text = edited(&[("  tenantId: acme\n", "  tenantId: 'acme corp'\n")]);
        let expected = "controlPlane.tenantId: must be 1 to 128 characters: letters, digits, \
                        \".\", \"_\" or \"-\"";
        assert_eq!(problems(&text), [expected]);
    }

    #[test]
    fn ca_file_must_exist() {
        let missing = with_after("  tenantId: acme\n", "  caFile: /nonexistent/ca.pem\n");
        let expected = "controlPlane.caFile: file not found: /nonexistent/ca.pem";
        assert_eq!(problems(&missing), [expected]);
        let existing = concat!(env!("CARGO_MANIFEST_DIR"), "/Cargo.toml");
        let text = with_after("  tenantId: acme\n", &format!("  caFile: {existing}\n"));
        assert_eq!(load(&text).control_plane.ca_file, Some(existing.into()));
    }

    #[test]
    fn control_plane_ranges_are_all_reported() {
        let extra = "  healthIntervalSeconds: 0\n  heartbeatIntervalSeconds: 301\n  \
                     heartbeatTimeoutSeconds: 301\n  maxMessageBytes: 65535\n  \
                     shutdownGraceSeconds: 301\n  reconnectMaxDelaySeconds: 3601\n";
        let found = problems(&with_after("  tenantId: acme\n", extra));
        let expected = [
            "controlPlane.healthIntervalSeconds: must be between 1 and 3600 (got 0)",
            "controlPlane.heartbeatIntervalSeconds: must be between 1 and 300 (got 301)",
            "controlPlane.heartbeatTimeoutSeconds: must be greater than \
             heartbeatIntervalSeconds (301) (got 301)",
            "controlPlane.maxMessageBytes: must be between 65536 and 268435456 (got 65535)",
            "controlPlane.shutdownGraceSeconds: must be between 0 and 300 (got 301)",
            "controlPlane.reconnectMaxDelaySeconds: must be between 1 and 3600 (got 3601)",
        ];
        assert_eq!(found, expected);
    }

    #[test]
    fn heartbeat_timeout_has_an_upper_bound() {
        let text = with_after("  tenantId: acme\n", "  heartbeatTimeoutSeconds: 3601\n");
        let expected = "controlPlane.heartbeatTimeoutSeconds: must be at most 3600 (got 3601)";
        assert_eq!(problems(&text), [expected]);
    }

    #[test]
    fn audit_paths_and_bounds_are_checked() {
        let text = format!(
            "{MINIMAL}audit:\n  file: audit.jsonl\n  spoolPath: /tmp/spool/\n  \
             spoolMaxRecords: 99\n  maxSpoolBytes: 1048575\n  maxStatementBytes: 1048577\n"
        );
        let expected = [
            "audit.file: must be an absolute path",
            "audit.spoolPath: must name a file, not a directory",
            "audit.spoolMaxRecords: must be between 100 and 1000000 (got 99)",
            "audit.maxSpoolBytes: must be between 1048576 and 1073741824 (got 1048575)",
            "audit.maxStatementBytes: must be between 1024 and 1048576 (got 1048577)",
        ];
        assert_eq!(problems(&text), expected);
        let text =
            format!("{MINIMAL}audit:\n  maxSpoolBytes: 1048576\n  maxStatementBytes: 262144\n");
        let expected = "audit.maxSpoolBytes: must be at least 8 times maxStatementBytes \
                        (2097152) (got 1048576)";
        assert_eq!(problems(&text), [expected]);
        let defaults = crate::test_support::load(MINIMAL).audit;
        assert_eq!(defaults.spool_path, None);
        assert_eq!(
            (defaults.max_spool_bytes, defaults.max_statement_bytes),
            (32 << 20, 16 << 10)
        );
    }

    #[test]
    fn mask_patterns_need_unique_names_and_valid_regexes() {
        let text = format!(
            "{MINIMAL}masking:\n  patterns:\n    - {{name: cpf, regex: 'a', replacement: x}}\n    \
             - {{name: cpf, regex: '(', replacement: x}}\n    \
             - {{name: '', regex: 'b?', replacement: x}}\n"
        );
        let expected = [
            "masking.patterns[1].name: duplicate name \"cpf\" (also masking.patterns[0])",
            "masking.patterns[1].regex: invalid regex: unclosed group",
            "masking.patterns[2].name: must not be empty",
            "masking.patterns[2].regex: matches the empty string, which would mask nothing \
             and insert text",
        ];
        assert_eq!(problems(&text), expected);
    }
}
