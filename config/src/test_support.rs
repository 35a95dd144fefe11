//! Helpers shared by the unit tests: a minimal valid config and ways to load edited copies.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::{Config, ConfigError};

/// The smallest valid config; tests edit it with [`edited`]. Every line is unique so that a
/// `replace` hits exactly one place.
pub(crate) const MINIMAL: &str = "\
controlPlane:
  url: wss://cp.example.com/connect
  token: tok
  tenantId: acme
resources:
  - id: main-pg
    type: postgres
    connection:
      host: db
      database: app
      user: relay
";

/// `MINIMAL` with each `(from, to)` replacement applied; panics if `from` is absent.
pub(crate) fn edited(replacements: &[(&str, &str)]) -> String {
    let mut text = MINIMAL.to_owned();
    for (from, to) in replacements {
        assert!(text.contains(from), "{from:?} is not in the config");
        text = text.replacen(from, to, 1);
    }
    text
}

/// `MINIMAL` with extra lines after the line `anchor` (e.g. `"  tenantId: acme\n"`).
pub(crate) fn with_after(anchor: &str, extra: &str) -> String {
    edited(&[(anchor, &format!("{anchor}{extra}"))])
}

/// The annotated seed example shipped with the crate.
pub(crate) const EXAMPLE: &str = include_str!("../examples/relay-config.yaml");

/// The seed example's variables, with values distinctive enough to search for.
pub(crate) fn example_env(name: &str) -> Option<String> {
    let value = match name {
        "RELAY_TOKEN" => "tok-SEKRIT-1",
        "TENANT_ID" => "acme",
        "PG_HOST" => "pg.internal",
        "PG_DATABASE" => "appdb",
        "PG_USER" => "relay_ro",
        "PG_PASSWORD" => "pw-SEKRIT-2",
        _ => return None,
    };
    Some(value.to_owned())
}

/// An environment with no variables set.
pub(crate) fn no_env(_: &str) -> Option<String> {
    None
}

/// Loads `text` with no environment; panics with the problems if it is invalid.
pub(crate) fn load(text: &str) -> Config {
    match Config::from_yaml_str(text, "test.yaml", &no_env) {
        Ok(config) => config,
        Err(error) => panic!("expected a valid config, got:\n{error}"),
    }
}

/// The problems of `text` (loaded with no environment) as `path: message` lines.
pub(crate) fn problems(text: &str) -> Vec<String> {
    problems_with_env(text, &no_env)
}

/// The problems of `text` loaded with `env`.
pub(crate) fn problems_with_env(text: &str, env: &dyn Fn(&str) -> Option<String>) -> Vec<String> {
    match Config::from_yaml_str(text, "test.yaml", env) {
        Ok(config) => panic!("expected problems, got a valid config: {config:?}"),
        Err(ConfigError::Invalid { problems, .. }) => {
            problems.iter().map(ToString::to_string).collect()
        }
        Err(error) => panic!("expected problems, got: {error}"),
    }
}
