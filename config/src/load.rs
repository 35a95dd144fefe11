//! `Config::load` and `Config::from_yaml_str`: the steps from text to a validated `Config`.
//!
//! 1. Parse the YAML into a value tree (a syntax error stops here, with line and column).
//! 2. Expand `${VAR}` placeholders in string values (`env.rs`).
//! 3. Check keys against the schema: unknown, missing, unknown words (`schema.rs`).
//! 4. Deserialize each section and each resource on its own, skipping those already found
//!    unusable, so one bad entry does not hide the problems of the others.
//! 5. Validate what deserialized (`validate.rs`, `validate_resource.rs`).
//!
//! Problems from every step are collected and reported together.

use std::path::Path;

use serde::de::DeserializeOwned;
use serde_norway::Value;
use serde_path_to_error::Segment;

use crate::audit::Audit;
use crate::env;
use crate::error::{index_path, is_within, key_path, ConfigError, Problem};
use crate::model::{Config, ControlPlane, Masking};
use crate::resource::Resource;
use crate::{schema, validate, validate_resource};

/// The path used for problems with the document as a whole.
const DOCUMENT: &str = "(document)";

impl Config {
    /// Reads `path`, fills placeholders from the process environment, parses and validates.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        let env = |name: &str| std::env::var(name).ok();
        Config::from_yaml_str(&text, &path.display().to_string(), &env)
    }

    /// Parses and validates `text`, filling placeholders from `env`; `origin` names the text
    /// in the error (usually the file name).
    pub fn from_yaml_str(
        text: &str,
        origin: &str,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Config, ConfigError> {
        let invalid = |problems| ConfigError::Invalid {
            origin: origin.to_owned(),
            problems,
        };
        // Editors on Windows start UTF-8 files with a byte order mark; YAML allows it at the
        // start, but the parser would take it for the start of a second document.
        let text = text.strip_prefix('\u{feff}').unwrap_or(text);
        let mut tree = parse_tree(text).map_err(|problem| invalid(vec![problem]))?;
        let sections = section_order(&tree);
        let mut problems = env::expand_tree(&mut tree, env);
        let unfilled: Vec<String> = problems.iter().map(|p| p.path.clone()).collect();
        let findings = schema::check(&mut tree, &unfilled);
        let mut builder = Builder {
            unusable: findings.unusable,
            problems: findings.problems,
        };
        let config = builder.build(&tree);
        // A value whose placeholder failed is already reported; what later checks say about
        // its stand-in (or its absence) would only be noise.
        let follow_on = |path: &str| {
            unfilled
                .iter()
                .any(|bad| is_within(path, bad) || is_within(bad, path))
        };
        problems.extend(builder.problems.into_iter().filter(|p| !follow_on(&p.path)));
        // Group the problems of each section and resource together, in document order.
        problems.sort_by_key(|problem| document_position(&sections, &problem.path));
        match config {
            Some(config) if problems.is_empty() => Ok(config),
            _ => Err(invalid(problems)),
        }
    }
}

/// Parses the YAML (applying `<<` merge keys) and checks that it is a mapping.
fn parse_tree(text: &str) -> Result<Value, Problem> {
    let mut tree: Value = serde_norway::from_str(text).map_err(syntax_problem)?;
    tree.apply_merge().map_err(syntax_problem)?;
    match tree {
        Value::Mapping(_) => Ok(tree),
        Value::Null => Err(Problem::new(
            DOCUMENT,
            "is empty; expected controlPlane and resources",
        )),
        _ => Err(Problem::new(
            DOCUMENT,
            "must be a mapping with controlPlane and resources",
        )),
    }
}

/// The top-level keys in the order the document has them.
fn section_order(tree: &Value) -> Vec<String> {
    let keys = tree
        .as_mapping()
        .into_iter()
        .flat_map(|mapping| mapping.keys());
    keys.map(env::key_name).collect()
}

/// Where `path` sorts: by its top-level key's place in the document (absent keys last), then
/// by its list index (`resources[3]`).
fn document_position(sections: &[String], path: &str) -> (usize, usize) {
    let section = path.split(['.', '[']).next().unwrap_or_default();
    let position = sections.iter().position(|key| key == section);
    let index = path[section.len()..]
        .strip_prefix('[')
        .and_then(|rest| rest.split(']').next())
        .and_then(|digits| digits.parse().ok());
    (position.unwrap_or(usize::MAX), index.unwrap_or(0))
}

/// A YAML syntax error, at `line L, column C` when the parser knows where.
fn syntax_problem(error: serde_norway::Error) -> Problem {
    let message = error.to_string();
    match error.location() {
        Some(location) => {
            let (line, column) = (location.line(), location.column());
            let repeated = format!(" at line {line} column {column}");
            Problem::new(
                format!("line {line}, column {column}"),
                message.replacen(&repeated, "", 1),
            )
        }
        None => Problem::new(DOCUMENT, message),
    }
}

/// Types the sections one by one and validates them.
struct Builder {
    /// Paths already reported in a way that makes the value there unusable.
    unusable: Vec<String>,
    problems: Vec<Problem>,
}

impl Builder {
    fn build(&mut self, tree: &Value) -> Option<Config> {
        let control_plane = tree
            .get("controlPlane")
            .and_then(|node| self.typed::<ControlPlane>(node, "controlPlane"));
        if let Some(plane) = &control_plane {
            self.problems
                .extend(validate::control_plane(plane, "controlPlane"));
        }
        let resources = self.resources(tree.get("resources"));
        let masking = self.optional_section::<Masking>(tree, "masking");
        if let Some(masking) = &masking {
            self.problems.extend(validate::masking(masking, "masking"));
        }
        let audit = self.optional_section::<Audit>(tree, "audit");
        if let Some(audit) = &audit {
            self.problems.extend(validate::audit(audit, "audit"));
        }
        Some(Config {
            control_plane: control_plane?,
            resources: resources?,
            masking: masking?,
            audit: audit?,
        })
    }

    /// Types and validates each resource; `None` unless every one of them typed.
    fn resources(&mut self, node: Option<&Value>) -> Option<Vec<Resource>> {
        let items: &[Value] = match node {
            None | Some(Value::Null) => &[],
            Some(Value::Sequence(items)) => items,
            Some(_) => {
                self.problems
                    .push(Problem::new("resources", "expected a list of resources"));
                return None;
            }
        };
        let typed: Vec<(usize, Resource)> = items
            .iter()
            .enumerate()
            .filter_map(|(index, item)| {
                let resource = self.typed::<Resource>(item, &index_path("resources", index))?;
                Some((index, resource))
            })
            .collect();
        self.problems
            .extend(validate_resource::resources(&typed, items.len()));
        let all_typed = typed.len() == items.len();
        all_typed.then(|| typed.into_iter().map(|(_, resource)| resource).collect())
    }

    /// A section that may be left out (or left empty) to take its defaults.
    fn optional_section<T: DeserializeOwned + Default>(
        &mut self,
        tree: &Value,
        key: &str,
    ) -> Option<T> {
        match tree.get(key) {
            None | Some(Value::Null) => Some(T::default()),
            Some(node) => self.typed(node, key),
        }
    }

    /// Deserializes the value at `path`, unless a problem already reported lies within it.
    fn typed<T: DeserializeOwned>(&mut self, node: &Value, path: &str) -> Option<T> {
        if self.unusable.iter().any(|bad| is_within(bad, path)) {
            return None;
        }
        match serde_path_to_error::deserialize(node) {
            Ok(value) => Some(value),
            Err(error) => {
                let at = error
                    .path()
                    .iter()
                    .fold(path.to_owned(), |at, segment| match segment {
                        Segment::Seq { index } => index_path(&at, *index),
                        Segment::Map { key } => key_path(&at, key),
                        Segment::Enum { variant } => key_path(&at, variant),
                        Segment::Unknown => at,
                    });
                self.problems
                    .push(Problem::new(at, error.into_inner().to_string()));
                None
            }
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;
    use crate::test_support::{edited, example_env, load, problems, with_after, EXAMPLE, MINIMAL};
    use crate::{AuditLevel, Operation, ResourceType, Secret};

    #[test]
    fn example_loads_with_its_variables_and_defaults() {
        let config = Config::from_yaml_str(EXAMPLE, "relay-config.yaml", &example_env).unwrap();
        let plane = &config.control_plane;
        assert_eq!(plane.url, "wss://api.causeflow.ai/v1/relay/connect");
        assert_eq!(plane.token.expose(), "tok-SEKRIT-1");
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
        let connection = &resource.connection;
        assert_eq!(connection.host.as_deref(), Some("pg.internal"));
        assert_eq!(connection.port_or_default(resource.kind), 5432);
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
            "resources[0].colour: unknown key \"colour\" (known keys: id, type, name, connection, allowedOperations, maxRowsPerQuery, poolSize, statementTimeoutMs, maxQueuedRequests, maxResultBytes, allowedFunctions, explainAnalyze, allowPrivilegedUser)",
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
        let path =
            std::env::temp_dir().join(format!("relay-config-test-{}.yaml", std::process::id()));
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
}
