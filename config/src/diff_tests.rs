//! Tests of the configuration diff: resources added, removed and changed, sections, and the
//! changes a running relay refuses.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use super::*;
use crate::test_support::{edited, load, MINIMAL};

const SECOND: &str = "  - id: second-pg
    type: postgres
    connection:
      host: db2
      database: app
      user: relay
";

fn with_second(extra: &str) -> String {
    format!("{MINIMAL}{SECOND}{extra}")
}

#[test]
fn identical_configs_differ_in_nothing() {
    let diff = ConfigDiff::between(&load(MINIMAL), &load(MINIMAL));
    assert!(diff.is_empty(), "{diff:?}");
    assert_eq!(diff, ConfigDiff::default());
}

#[test]
fn an_added_and_a_removed_resource_are_named() {
    let one = load(MINIMAL);
    let two = load(&with_second(""));
    let grown = ConfigDiff::between(&one, &two);
    assert_eq!(grown.added, ["second-pg"]);
    assert!(grown.removed.is_empty() && grown.changed.is_empty());
    assert_eq!(grown.section_keys(), ["resources"]);
    let shrunk = ConfigDiff::between(&two, &one);
    assert_eq!(shrunk.removed, ["second-pg"]);
    assert!(shrunk.added.is_empty() && shrunk.changed.is_empty());
}

#[test]
fn a_changed_resource_is_named_and_the_others_are_not() {
    let old = load(&with_second(""));
    let new = load(&with_second("").replace("      host: db2\n", "      host: db3\n"));
    let diff = ConfigDiff::between(&old, &new);
    assert_eq!(diff.changed, ["second-pg"]);
    assert!(diff.added.is_empty() && diff.removed.is_empty());
    assert_eq!(diff.section_keys(), ["resources"]);
    assert!(!diff.column_rules_changed);
}

#[test]
fn a_new_order_changes_the_list_but_no_resource() {
    let old = load(&with_second(""));
    let first = &MINIMAL[MINIMAL.find("  - id: main-pg").unwrap()..];
    let head = &MINIMAL[..MINIMAL.find("  - id: main-pg").unwrap()];
    let new = load(&format!("{head}{SECOND}{first}"));
    let diff = ConfigDiff::between(&old, &new);
    assert!(diff.added.is_empty() && diff.removed.is_empty() && diff.changed.is_empty());
    assert_eq!(diff.section_keys(), ["resources"]);
}

#[test]
fn masking_audit_and_control_plane_changes_are_sections() {
    let old = load(MINIMAL);
    let pattern = "masking:\n  patterns:\n    - {name: n, regex: 'x+', replacement: '*'}\n";
    let patterns = ConfigDiff::between(&old, &load(&format!("{MINIMAL}{pattern}")));
    assert_eq!(patterns.section_keys(), ["masking"]);
    assert!(
        !patterns.column_rules_changed,
        "patterns are not column rules"
    );
    let columns = "masking:\n  columns:\n    - {name: ssn}\n";
    let rules = ConfigDiff::between(&old, &load(&format!("{MINIMAL}{columns}")));
    assert_eq!(rules.section_keys(), ["masking"]);
    assert!(rules.column_rules_changed);
    let audit = ConfigDiff::between(&old, &load(&format!("{MINIMAL}audit:\n  level: warn\n")));
    assert_eq!(audit.section_keys(), ["audit"]);
    let token = edited(&[("  token: tok\n", "  token: rotated\n")]);
    let plane = ConfigDiff::between(&old, &load(&token));
    assert_eq!(plane.section_keys(), ["controlPlane"]);
    assert!(plane.added.is_empty() && plane.changed.is_empty());
}

#[test]
fn a_rotated_token_file_is_a_control_plane_change() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("token");
    std::fs::write(&file, "first\n").unwrap();
    let text = edited(&[(
        "  token: tok\n",
        &format!("  tokenFile: '{}'\n", file.display()),
    )]);
    let before = load(&text);
    std::fs::write(&file, "second\n").unwrap();
    let after = load(&text);
    assert_eq!(
        ConfigDiff::between(&before, &after).section_keys(),
        ["controlPlane"]
    );
}

#[test]
fn tenant_and_metrics_changes_need_a_restart() {
    let old = load(MINIMAL);
    assert!(unreloadable(&old, &load(&with_second(""))).is_empty());
    let tenant = load(&edited(&[("  tenantId: acme\n", "  tenantId: other\n")]));
    let metrics = load(&format!("{MINIMAL}metrics:\n  listen: 127.0.0.1:9464\n"));
    let found: Vec<String> = [unreloadable(&old, &tenant), unreloadable(&old, &metrics)]
        .concat()
        .iter()
        .map(ToString::to_string)
        .collect();
    assert_eq!(
        found,
        [
            "controlPlane.tenantId: cannot change while the relay runs; restart the relay to apply it",
            "metrics: cannot change while the relay runs; restart the relay to apply it",
        ]
    );
}
