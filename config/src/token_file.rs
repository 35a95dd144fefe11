//! `controlPlane.token` or `controlPlane.tokenFile`: which one holds the relay's credential, and
//! reading the file (a Kubernetes Secret volume, say) into the credential.

use std::path::Path;

use crate::error::{key_path, Problem};
use crate::model::ControlPlane;
use crate::secret::Secret;

/// Why the token file gave no usable token. The text names the file, never its contents.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenFileError {
    #[error("cannot read token file {path}: {reason}")]
    Unreadable { path: String, reason: String },
    #[error("token file {path} is empty")]
    Empty { path: String },
    #[error("token file {path} holds whitespace or control characters inside the token")]
    Malformed { path: String },
}

/// Reads the token from `path`. Surrounding whitespace (the newline `echo` or an editor adds)
/// is not part of the token.
pub fn read_token_file(path: &Path) -> Result<Secret, TokenFileError> {
    let shown = path.display().to_string();
    let bytes = std::fs::read(path).map_err(|err| TokenFileError::Unreadable {
        path: shown.clone(),
        reason: err.to_string(),
    })?;
    let text = String::from_utf8(bytes).map_err(|_| TokenFileError::Malformed {
        path: shown.clone(),
    })?;
    let token = text.trim();
    if token.is_empty() {
        return Err(TokenFileError::Empty { path: shown });
    }
    if token.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(TokenFileError::Malformed { path: shown });
    }
    Ok(Secret::new(token.to_owned()))
}

/// Names the alternative in the schema's "missing required key" for `controlPlane.token`.
pub(crate) fn name_alternative(problems: &mut [Problem]) {
    for problem in problems.iter_mut() {
        if problem.path == "controlPlane.token" && problem.message == "missing required key" {
            problem.message =
                "missing required key (set controlPlane.token or controlPlane.tokenFile)".into();
        }
    }
}

/// Fills `plane.credential` from `token` or `tokenFile`; exactly one of them must be set.
/// Checks of an inline token's text stay in `validate.rs`.
pub(crate) fn resolve(plane: &mut ControlPlane, path: &str) -> Vec<Problem> {
    let token_key = key_path(path, "token");
    let file_key = key_path(path, "tokenFile");
    match (&plane.token, &plane.token_file) {
        (Some(token), None) => {
            plane.credential = token.clone();
            Vec::new()
        }
        (None, Some(file)) if file.as_os_str().is_empty() => {
            vec![Problem::new(file_key, "must not be empty")]
        }
        (None, Some(file)) => match read_token_file(file) {
            Ok(token) => {
                plane.credential = token;
                Vec::new()
            }
            Err(err) => vec![Problem::new(file_key, err.to_string())],
        },
        (Some(_), Some(_)) => vec![Problem::new(
            token_key,
            format!("set either {path}.token or {file_key}, not both"),
        )],
        (None, None) => vec![Problem::new(
            token_key,
            format!("missing: set {path}.token or {file_key}"),
        )],
    }
}

#[cfg(test)]
#[path = "token_file_tests.rs"]
mod tests;
