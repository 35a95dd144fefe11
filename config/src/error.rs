//! The errors `Config::load` returns, and the key-path helpers every problem is reported with.

use std::fmt;
use std::path::PathBuf;

/// Why a configuration could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read at all.
    #[error("cannot read {}: {source}", path.display())]
    Read {
        /// The file that was asked for.
        path: PathBuf,
        /// What the operating system said.
        source: std::io::Error,
    },
    /// The file was read but is not a valid configuration; every problem found is listed.
    #[error("{}", render_invalid(origin, problems))]
    Invalid {
        /// Where the text came from (usually the file name), for the message.
        origin: String,
        /// All problems found, in document order as far as possible.
        problems: Vec<Problem>,
    },
}

impl ConfigError {
    /// The problems of an `Invalid` error; empty for a read error.
    pub fn problems(&self) -> &[Problem] {
        match self {
            ConfigError::Read { .. } => &[],
            ConfigError::Invalid { problems, .. } => problems,
        }
    }
}

fn render_invalid(origin: &str, problems: &[Problem]) -> String {
    let mut text = format!("{origin}: {} problem(s)", problems.len());
    for problem in problems {
        text.push_str("\n  ");
        text.push_str(&problem.to_string());
    }
    text
}

/// One thing wrong with the configuration, at a key path such as
/// `resources[0].connection.port`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// Where: dotted keys with `[index]` for list items, e.g. `masking.patterns[1].regex`.
    pub path: String,
    /// What is wrong, lowercase, never containing a secret or an environment variable's value.
    pub message: String,
}

impl Problem {
    /// A problem at `path`.
    pub fn new(path: impl Into<String>, message: impl Into<String>) -> Self {
        Problem {
            path: path.into(),
            message: message.into(),
        }
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.path, self.message)
    }
}

/// The path of key `key` inside the mapping at `parent` (the root is the empty path).
pub(crate) fn key_path(parent: &str, key: &str) -> String {
    if parent.is_empty() {
        key.to_owned()
    } else {
        format!("{parent}.{key}")
    }
}

/// The path of item `index` of the list at `parent`.
pub(crate) fn index_path(parent: &str, index: usize) -> String {
    format!("{parent}[{index}]")
}

/// Whether `path` is `prefix` itself or lies below it (`a.b` is within `a`, `ab` is not).
pub(crate) fn is_within(path: &str, prefix: &str) -> bool {
    match path.strip_prefix(prefix) {
        Some(rest) => prefix.is_empty() || rest.is_empty() || rest.starts_with(['.', '[']),
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn invalid_lists_every_problem_under_a_count() {
        let error = ConfigError::Invalid {
            origin: "relay-config.yaml".into(),
            problems: vec![
                Problem::new("controlPlane.url", "must start with ws:// or wss://"),
                Problem::new("resources", "at least one resource is required"),
            ],
        };
        assert_eq!(
            error.to_string(),
            "relay-config.yaml: 2 problem(s)\n  controlPlane.url: must start with ws:// or wss://\n  resources: at least one resource is required"
        );
        assert_eq!(error.problems().len(), 2);
    }

    #[test]
    fn read_error_names_the_file() {
        let error = ConfigError::Read {
            path: PathBuf::from("/nope.yaml"),
            source: std::io::Error::new(std::io::ErrorKind::NotFound, "not found"),
        };
        assert_eq!(error.to_string(), "cannot read /nope.yaml: not found");
        assert!(error.problems().is_empty());
    }

    #[test]
    fn paths_join_keys_and_indexes() {
        let resource = index_path(&key_path("", "resources"), 0);
        assert_eq!(
            key_path(&key_path(&resource, "connection"), "port"),
            "resources[0].connection.port"
        );
        assert!(is_within("resources[0].connection.port", "resources[0]"));
        assert!(is_within("resources[0]", "resources[0]"));
        assert!(!is_within("resources[10]", "resources[1]"));
        assert!(!is_within("auditx", "audit"));
        assert!(is_within("anything", ""));
    }
}
