//! `${VAR}` / `${VAR:-default}` placeholder expansion inside the parsed YAML value tree.
//!
//! Expansion runs after parsing and only touches string scalars, so a value that contains
//! YAML syntax (a password with `: ` or `#`) stays one string and cannot change the
//! document's shape. Problems name the variable and the key path, never a value.

use serde_norway::Value;

use crate::error::{index_path, key_path, Problem};

/// Why one placeholder could not be filled. Names the variable, never a value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum PlaceholderError {
    #[error("unterminated placeholder: \"${{\" without a closing \"}}\"")]
    Unterminated,
    #[error(
        "invalid placeholder: the variable name must be letters, digits and underscores, not \
         starting with a digit"
    )]
    InvalidName,
    #[error("nested placeholder in the default of {name} is not supported")]
    NestedDefault { name: String },
    #[error("environment variable {name} is not set")]
    Unset { name: String },
}

/// Looks up an environment variable; `None` means unset.
pub(crate) type EnvLookup<'a> = &'a dyn Fn(&str) -> Option<String>;

/// Expands every placeholder in the string scalars of `tree` (mapping values and list items;
/// keys are left alone) and returns one problem per placeholder that could not be filled.
/// A string with such a problem is replaced by null.
pub(crate) fn expand_tree(tree: &mut Value, env: EnvLookup<'_>) -> Vec<Problem> {
    let mut problems = Vec::new();
    expand_node(tree, "", env, &mut problems);
    problems
}

fn expand_node(node: &mut Value, path: &str, env: EnvLookup<'_>, problems: &mut Vec<Problem>) {
    match node {
        Value::String(text) if text.contains('$') => match expand_str(text, env) {
            Ok(expanded) => *text = expanded,
            Err(errors) => {
                problems.extend(errors.iter().map(|e| Problem::new(path, e.to_string())));
                // Dropped so later checks do not complain about the raw `${...}` text too.
                *node = Value::Null;
            }
        },
        Value::Sequence(items) => {
            for (index, item) in items.iter_mut().enumerate() {
                expand_node(item, &index_path(path, index), env, problems);
            }
        }
        Value::Mapping(entries) => {
            for (key, value) in entries.iter_mut() {
                expand_node(value, &key_path(path, &key_name(key)), env, problems);
            }
        }
        Value::Tagged(tagged) => expand_node(&mut tagged.value, path, env, problems),
        _ => {}
    }
}

/// A mapping key as it appears in a problem path.
pub(crate) fn key_name(key: &Value) -> String {
    match key {
        Value::String(text) => text.clone(),
        Value::Number(number) => number.to_string(),
        Value::Bool(flag) => flag.to_string(),
        Value::Null => "~".to_owned(),
        _ => "<complex key>".to_owned(),
    }
}

/// Expands one string. `$${` is a literal `${`; any other `$` is kept as is. Returns every
/// placeholder problem in the string, not just the first.
pub(crate) fn expand_str(text: &str, env: EnvLookup<'_>) -> Result<String, Vec<PlaceholderError>> {
    let mut expanded = String::with_capacity(text.len());
    let mut errors = Vec::new();
    let mut rest = text;
    while let Some(dollar) = rest.find('$') {
        expanded.push_str(&rest[..dollar]);
        let tail = &rest[dollar..];
        if let Some(after) = tail.strip_prefix("$${") {
            expanded.push_str("${");
            rest = after;
        } else if let Some(body_and_rest) = tail.strip_prefix("${") {
            let Some(close) = body_and_rest.find('}') else {
                errors.push(PlaceholderError::Unterminated);
                rest = "";
                break;
            };
            match resolve(&body_and_rest[..close], env) {
                Ok(value) => expanded.push_str(&value),
                Err(error) => errors.push(error),
            }
            rest = &body_and_rest[close + 1..];
        } else {
            expanded.push('$');
            rest = &tail[1..];
        }
    }
    expanded.push_str(rest);
    if errors.is_empty() {
        Ok(expanded)
    } else {
        Err(errors)
    }
}

/// Resolves the inside of one `${...}`: `NAME` or `NAME:-default`. Like the shell, the
/// default applies when the variable is unset or empty.
fn resolve(body: &str, env: EnvLookup<'_>) -> Result<String, PlaceholderError> {
    let (name, default) = match body.split_once(":-") {
        Some((name, default)) => (name, Some(default)),
        None => (body, None),
    };
    if !is_valid_name(name) {
        return Err(PlaceholderError::InvalidName);
    }
    if default.is_some_and(|text| text.contains("${")) {
        return Err(PlaceholderError::NestedDefault {
            name: name.to_owned(),
        });
    }
    match (env(name), default) {
        (Some(value), Some(default)) if value.is_empty() => Ok(default.to_owned()),
        (Some(value), _) => Ok(value),
        (None, Some(default)) => Ok(default.to_owned()),
        (None, None) => Err(PlaceholderError::Unset {
            name: name.to_owned(),
        }),
    }
}

fn is_valid_name(name: &str) -> bool {
    let mut chars = name.chars();
    matches!(chars.next(), Some(first) if first.is_ascii_alphabetic() || first == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;
    use crate::test_support::{edited, example_env, no_env, problems_with_env, EXAMPLE};
    use crate::Config;

    fn env(name: &str) -> Option<String> {
        match name {
            "HOST" => Some("db.internal".into()),
            "PORT" => Some("5432".into()),
            "EMPTY" => Some(String::new()),
            "PASSWORD" => Some("pa: ss #word".into()),
            _ => None,
        }
    }

    fn expand(text: &str) -> Result<String, Vec<String>> {
        expand_str(text, &env).map_err(|errors| errors.iter().map(ToString::to_string).collect())
    }

    #[test]
    fn fills_a_whole_value_and_a_part_of_a_longer_string() {
        assert_eq!(expand("${HOST}").unwrap(), "db.internal");
        assert_eq!(
            expand("tcp://${HOST}:${PORT}/x").unwrap(),
            "tcp://db.internal:5432/x"
        );
    }

    #[test]
    fn default_applies_when_unset_or_empty() {
        assert_eq!(expand("${MISSING:-fallback}").unwrap(), "fallback");
        assert_eq!(expand("${EMPTY:-fallback}").unwrap(), "fallback");
        assert_eq!(expand("${HOST:-fallback}").unwrap(), "db.internal");
        assert_eq!(expand("${MISSING:-}").unwrap(), "");
        assert_eq!(expand("${EMPTY}").unwrap(), "");
    }

    #[test]
    fn double_dollar_brace_is_a_literal_placeholder() {
        assert_eq!(expand("$${HOST}").unwrap(), "${HOST}");
        assert_eq!(expand("a$b$$c$").unwrap(), "a$b$$c$");
        assert_eq!(expand("$HOST").unwrap(), "$HOST");
    }

    #[test]
    fn reports_every_missing_variable_without_values() {
        let errors = expand("${HOST}${A}-${B}").unwrap_err();
        assert_eq!(
            errors,
            vec![
                "environment variable A is not set".to_owned(),
                "environment variable B is not set".to_owned()
            ]
        );
    }

    #[test]
    fn unterminated_and_invalid_placeholders_are_problems() {
        assert!(expand("abc${HOST")
            .unwrap_err()
            .concat()
            .contains("unterminated placeholder"));
        assert!(expand("${1X}")
            .unwrap_err()
            .concat()
            .contains("invalid placeholder"));
        assert!(expand("${}")
            .unwrap_err()
            .concat()
            .contains("invalid placeholder"));
        assert!(expand("${A:-${B}}")
            .unwrap_err()
            .concat()
            .contains("nested"));
    }

    #[test]
    fn expands_only_string_scalars_and_reports_key_paths() {
        let mut tree: Value = serde_norway::from_str(
            "a:\n  pw: ${PASSWORD}\n  list: [x, '${NOPE}']\n  n: 5\n'${HOST}': y\n",
        )
        .unwrap();
        let problems = expand_tree(&mut tree, &env);
        assert_eq!(
            problems,
            vec![Problem::new(
                "a.list[1]",
                "environment variable NOPE is not set"
            )]
        );
        assert_eq!(tree["a"]["pw"].as_str(), Some("pa: ss #word"));
        assert!(
            tree["a"]["list"][1].is_null(),
            "an unfillable value is dropped"
        );
        assert!(tree.get("${HOST}").is_some(), "keys are not expanded");
    }

    #[test]
    fn missing_token_names_variable_and_key_but_no_value() {
        let env = |name: &str| (name != "RELAY_TOKEN").then(|| example_env(name)).flatten();
        let error = Config::from_yaml_str(EXAMPLE, "relay-config.yaml", &env).unwrap_err();
        let text = error.to_string();
        assert_eq!(
            text,
            "relay-config.yaml: 1 problem(s)\n  controlPlane.token: environment variable RELAY_TOKEN is not set"
        );
        for name in [
            "TENANT_ID",
            "PG_HOST",
            "PG_DATABASE",
            "PG_USER",
            "PG_PASSWORD",
        ] {
            let value = example_env(name).unwrap();
            assert!(!text.contains(&value) && !format!("{error:?}").contains(&value));
        }
    }

    #[test]
    fn every_missing_variable_is_reported() {
        let found = problems_with_env(EXAMPLE, &no_env);
        let expected = [
            "controlPlane.token: environment variable RELAY_TOKEN is not set",
            "controlPlane.tenantId: environment variable TENANT_ID is not set",
            "resources[0].connection.host: environment variable PG_HOST is not set",
            "resources[0].connection.database: environment variable PG_DATABASE is not set",
            "resources[0].connection.user: environment variable PG_USER is not set",
            "resources[0].connection.password: environment variable PG_PASSWORD is not set",
        ];
        assert_eq!(found, expected);
    }

    #[test]
    fn placeholders_fill_defaults_escapes_parts_numbers_and_bools() {
        let env = |name: &str| match name {
            "CP_HOST" => Some("cp.example.com".to_owned()),
            "PG_PORT" => Some("6543".to_owned()),
            "INSECURE" => Some("true".to_owned()),
            "PG_PASSWORD" => Some("a: b #c\n- d".to_owned()),
            _ => None,
        };
        let text = edited(&[
            (
                "wss://cp.example.com/connect",
                "ws://${CP_HOST}:8080/connect",
            ),
            (
                "  tenantId: acme\n",
                "  tenantId: ${TENANT:-acme}\n  allowInsecure: ${INSECURE}\n",
            ),
            (
                "      user: relay\n",
                "      user: relay\n      port: ${PG_PORT}\n      password: ${PG_PASSWORD}\n",
            ),
            ("      database: app\n", "      database: 'app$${x}'\n"),
        ]);
        let config = Config::from_yaml_str(&text, "t", &env).unwrap();
        assert_eq!(config.control_plane.url, "ws://cp.example.com:8080/connect");
        assert_eq!(config.control_plane.tenant_id, "acme");
        assert!(config.control_plane.allow_insecure);
        let connection = config.resources[0].connection.as_postgres().unwrap();
        assert_eq!(connection.port, Some(6543));
        assert_eq!(connection.database.as_deref(), Some("app${x}"));
        assert_eq!(
            connection.password.as_ref().map(|p| p.expose()),
            Some("a: b #c\n- d")
        );
    }

    #[test]
    fn a_missing_variable_does_not_hide_other_problems() {
        let text = edited(&[
            ("wss://cp.example.com", "http://cp.example.com"),
            ("  token: tok\n", "  token: ${RELAY_TOKEN}\n"),
            (
                "    type: postgres\n",
                "    type: postgres\n    poolSize: 9\n",
            ),
            (
                "      host: db\n",
                "      host: ${PG_HOST}\n      port: ${PG_PORT}\n",
            ),
        ]);
        let expected = [
            "controlPlane.token: environment variable RELAY_TOKEN is not set",
            "controlPlane.url: must start with wss:// (or ws:// to a loopback host)",
            "resources[0].connection.host: environment variable PG_HOST is not set",
            "resources[0].connection.port: environment variable PG_PORT is not set",
            "resources[0].poolSize: must be between 1 and 5 (got 9)",
        ];
        assert_eq!(problems_with_env(&text, &no_env), expected);
    }
}
