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
use crate::connection::tag_by_engine;
use crate::env;
use crate::error::{index_path, is_within, key_path, ConfigError, Problem};
use crate::model::{Config, ControlPlane, Masking, Metrics};
use crate::resource::Resource;
use crate::{schema, token_file, validate, validate_metrics, validate_resource};

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
        let mut schema_problems = findings.problems;
        token_file::name_alternative(&mut schema_problems);
        let mut builder = Builder {
            unusable: findings.unusable,
            problems: schema_problems,
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
        let mut control_plane = tree
            .get("controlPlane")
            .and_then(|node| self.typed::<ControlPlane>(node, "controlPlane"));
        if let Some(plane) = &mut control_plane {
            self.problems
                .extend(token_file::resolve(plane, "controlPlane"));
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
        let metrics = self.metrics(tree.get("metrics"));
        Some(Config {
            control_plane: control_plane?,
            resources: resources?,
            masking: masking?,
            audit: audit?,
            metrics: metrics?,
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
                let item = tag_by_engine(item);
                let resource = self.typed::<Resource>(&item, &index_path("resources", index))?;
                Some((index, resource))
            })
            .collect();
        self.problems
            .extend(validate_resource::resources(&typed, items.len()));
        let all_typed = typed.len() == items.len();
        all_typed.then(|| typed.into_iter().map(|(_, resource)| resource).collect())
    }

    /// `metrics`: absent (or empty) means no endpoint; `Some(None)` is what that types to.
    fn metrics(&mut self, node: Option<&Value>) -> Option<Option<Metrics>> {
        let Some(node) = node.filter(|node| !node.is_null()) else {
            return Some(None);
        };
        let metrics = self.typed::<Metrics>(node, "metrics")?;
        self.problems
            .extend(validate_metrics::metrics(&metrics, "metrics"));
        Some(Some(metrics))
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
                        // The only data-carrying enum is the engine tag the loader wraps a
                        // connection in; it is no key of the document.
                        Segment::Enum { .. } => at,
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
#[path = "load_tests.rs"]
mod tests;
