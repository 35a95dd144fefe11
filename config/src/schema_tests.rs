//! Tests of the schema: known, required and enumerated keys, reported with paths and suggestions.
#![allow(clippy::unwrap_used, clippy::expect_used)]
use super::*;

fn problems(yaml: &str) -> Vec<String> {
    let mut tree: Value = serde_norway::from_str(yaml).unwrap();
    let findings = check(&mut tree, &[]);
    findings.problems.iter().map(ToString::to_string).collect()
}

#[test]
fn reports_every_unknown_key_with_a_suggestion() {
    let found = problems(
        "controlPlane: {url: x, token: y, tenant_id: z}\n\
         resources:\n- {id: a, type: postgres, connection: {portt: 1}, colour: red}\n",
    );
    assert_eq!(
        found,
        vec![
            "controlPlane.tenant_id: unknown key \"tenant_id\" (did you mean \"tenantId\"?)",
            "controlPlane.tenantId: missing required key",
            "resources[0].connection.portt: unknown key \"portt\" (did you mean \"port\"?)",
            "resources[0].colour: unknown key \"colour\" (known keys: id, type, name, \
             connection, allowedOperations, maxRowsPerQuery, poolSize, \
             statementTimeoutMs, lockTimeoutMs, maxQueuedRequests, maxResultBytes, allowedFunctions, allowedRelations, tables, \
             maxStatementBytes, explainAnalyze, \
             allowPrivilegedUser)",
        ]
    );
}

#[test]
fn reports_missing_required_keys() {
    let found = problems("resources:\n- {connection: {}}\nmasking: {patterns: [{}]}\n");
    assert_eq!(
        found,
        vec![
            "resources[0].id: missing required key",
            "resources[0].type: missing required key",
            "masking.patterns[0].name: missing required key",
            "masking.patterns[0].regex: missing required key",
            "masking.patterns[0].replacement: missing required key",
            "controlPlane: missing required key",
        ]
    );
}

#[test]
fn reports_unknown_words_with_the_known_ones() {
    let found = problems(
        "controlPlane: {url: x, token: y, tenantId: z}\n\
         resources:\n- {id: a, type: mysql, connection: {}, allowedOperations: [query, drop]}\n\
         audit: {level: debug}\n",
    );
    assert_eq!(
        found,
        vec![
            "resources[0].type: unknown resource type \"mysql\" (known: postgres, mongodb)",
            "resources[0].allowedOperations[1]: unknown operation \"drop\" (known: query, \
             describe_table, list_tables, explain)",
            "audit.level: unknown audit level \"debug\" (known: info, warn)",
        ]
    );
}

#[test]
fn unknown_keys_are_removed_and_do_not_make_a_section_unusable() {
    let mut tree: Value =
        serde_norway::from_str("controlPlane: {url: x, token: y, tenantId: z, colour: red}")
            .unwrap();
    let findings = check(&mut tree, &[]);
    assert_eq!(findings.problems.len(), 1);
    assert!(findings.unusable.is_empty());
    assert!(tree["controlPlane"].get("colour").is_none());
    assert!(tree["controlPlane"].get("url").is_some());
}

#[test]
fn missing_keys_and_unknown_words_make_their_path_unusable() {
    let mut tree: Value =
        serde_norway::from_str("resources: [{type: mysql, connection: {}}]").unwrap();
    let findings = check(&mut tree, &[]);
    assert_eq!(
        findings.unusable,
        vec!["resources[0].type", "resources[0].id", "controlPlane"]
    );
}

#[test]
fn optional_keys_without_a_value_are_removed() {
    let mut tree: Value =
        serde_norway::from_str("masking:\naudit: {enabled: , level: }\ncontrolPlane:\n").unwrap();
    let findings = check(&mut tree, &[]);
    assert_eq!(
        findings.problems.len(),
        3,
        "required keys are still missing"
    );
    assert!(tree.get("masking").is_none());
    assert_eq!(tree["audit"].as_mapping().map(|m| m.len()), Some(0));
    assert!(tree.get("controlPlane").is_some(), "a required key is kept");
}

#[test]
fn a_required_key_without_a_value_is_a_problem_unless_its_placeholder_failed() {
    let mut tree: Value =
        serde_norway::from_str("controlPlane: {url: , token: , tenantId: x}").unwrap();
    let findings = check(&mut tree, &["controlPlane.token".to_owned()]);
    let found: Vec<String> = findings.problems.iter().map(ToString::to_string).collect();
    assert_eq!(found, ["controlPlane.url: missing value"]);
    assert_eq!(tree["controlPlane"]["token"].as_str(), Some(""));
}

#[test]
fn an_empty_section_lacks_its_required_keys() {
    let found = problems("controlPlane:\nmasking:\n");
    assert_eq!(
        found,
        vec![
            "controlPlane.url: missing required key",
            "controlPlane.token: missing required key",
            "controlPlane.tenantId: missing required key",
        ]
    );
}

#[test]
fn wrong_value_types_are_left_to_serde() {
    assert!(problems("controlPlane: 5\nresources: {a: 1}\n").is_empty());
}

#[test]
fn edit_distance_counts_edits() {
    assert_eq!(edit_distance("portt", "port"), 1);
    assert_eq!(edit_distance("", "abc"), 3);
    assert_eq!(edit_distance("kitten", "sitting"), 3);
}

#[test]
fn a_resource_knows_only_its_engines_keys() {
    let found = problems(
        "controlPlane: {url: x, token: y, tenantId: z}\n\
         resources:\n\
         - {id: m, type: mongodb, connection: {host: h, sslmode: require, readPreferenc: primary}, lockTimeoutMs: 5}\n\
         - {id: p, type: postgres, connection: {host: h, tls: true, authSourc: admin}}\n",
    );
    let postgres_keys = "host, port, database, user, password, uri, connectTimeoutSeconds, \
                         applicationName, sslmode, caFile";
    assert_eq!(
        found,
        vec![
            "resources[0].connection.sslmode: applies to postgres resources only".to_owned(),
            "resources[0].connection.readPreferenc: unknown key \"readPreferenc\" (did you mean \
             \"readPreference\"?)"
                .to_owned(),
            "resources[0].lockTimeoutMs: applies to postgres resources only".to_owned(),
            "resources[1].connection.tls: applies to mongodb resources only".to_owned(),
            format!(
                "resources[1].connection.authSourc: unknown key \"authSourc\" (known keys: \
                 {postgres_keys})"
            ),
        ]
    );
}

#[test]
fn an_unknown_type_leaves_every_engines_keys_known() {
    let found = problems(
        "controlPlane: {url: x, token: y, tenantId: z}\n\
         resources:\n- {id: a, type: mysql, connection: {sslmode: require, tls: true}}\n",
    );
    assert_eq!(
        found,
        ["resources[0].type: unknown resource type \"mysql\" (known: postgres, mongodb)"]
    );
}
