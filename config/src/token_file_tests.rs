//! Tests of `token` / `tokenFile`: exactly one, the file read and trimmed, problems by key path.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use super::*;
use crate::test_support::edited;
use crate::{Config, ConfigError};

fn problems(text: &str) -> Vec<String> {
    match Config::from_yaml_str(text, "relay.yaml", &|_| None) {
        Ok(_) => Vec::new(),
        Err(ConfigError::Invalid { problems, .. }) => {
            problems.iter().map(ToString::to_string).collect()
        }
        Err(other) => panic!("unexpected error: {other}"),
    }
}

fn with_token_file(path: &Path) -> String {
    let line = format!("  tokenFile: '{}'\n", path.display());
    edited(&[("  token: tok\n", &line)])
}

#[test]
fn a_token_file_is_read_and_trimmed() {
    // `tokenFile` alone satisfies the schema: `token` is required only without it.
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("token");
    std::fs::write(&file, "rotated-1\n").unwrap();
    let config = Config::from_yaml_str(&with_token_file(&file), "r.yaml", &|_| None).unwrap();
    assert_eq!(config.control_plane.credential.expose(), "rotated-1");
    assert_eq!(config.control_plane.token, None);
    assert_eq!(
        config.control_plane.token_file.as_deref(),
        Some(file.as_path())
    );
}

#[test]
fn an_inline_token_is_the_credential() {
    let config = Config::from_yaml_str(&edited(&[]), "r.yaml", &|_| None).unwrap();
    assert_eq!(config.control_plane.credential.expose(), "tok");
}

#[test]
fn both_or_neither_name_both_keys() {
    let both = edited(&[("  token: tok\n", "  token: tok\n  tokenFile: /x\n")]);
    assert_eq!(
        problems(&both),
        ["controlPlane.token: set either controlPlane.token or controlPlane.tokenFile, not both"]
    );
    let neither = edited(&[("  token: tok\n", "")]);
    assert_eq!(
        problems(&neither),
        ["controlPlane.token: missing required key (set controlPlane.token or controlPlane.tokenFile)"]
    );
}

#[test]
fn a_missing_empty_or_malformed_file_names_the_key_and_file_not_the_contents() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("absent");
    let found = problems(&with_token_file(&missing));
    assert_eq!(found.len(), 1, "{found:?}");
    assert!(
        found[0].starts_with("controlPlane.tokenFile: cannot read token file"),
        "{found:?}"
    );
    assert!(found[0].contains("absent"), "{found:?}");
    let empty = dir.path().join("empty");
    std::fs::write(&empty, "\n").unwrap();
    let found = problems(&with_token_file(&empty));
    assert_eq!(
        found,
        [format!(
            "controlPlane.tokenFile: token file {} is empty",
            empty.display()
        )]
    );
    let spaced = dir.path().join("spaced");
    std::fs::write(&spaced, "sec ret\n").unwrap();
    let found = problems(&with_token_file(&spaced));
    assert_eq!(found.len(), 1, "{found:?}");
    assert!(!found[0].contains("sec ret"), "{found:?}");
}
