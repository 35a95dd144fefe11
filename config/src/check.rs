//! The problem collector every validation module fills, and the regex rule two of them share. A
//! leaf: it imports no validation module, so they form a tree.

use std::fmt::Display;
use std::ops::RangeInclusive;

use crate::error::Problem;

/// Collects problems; the helpers keep each rule to one line at the call site.
#[derive(Default)]
pub(crate) struct Checker {
    pub(crate) problems: Vec<Problem>,
}

impl Checker {
    pub(crate) fn push(&mut self, path: impl Into<String>, message: impl Into<String>) {
        self.problems.push(Problem::new(path, message));
    }

    /// `value` must lie in `range`; the message names the range and the value.
    pub(crate) fn range<T: PartialOrd + Display>(
        &mut self,
        path: impl Into<String>,
        value: T,
        range: RangeInclusive<T>,
    ) {
        if !range.contains(&value) {
            let (low, high) = (range.start(), range.end());
            self.push(
                path,
                format!("must be between {low} and {high} (got {value})"),
            );
        }
    }
}

/// What is wrong with a masking regex, if anything.
pub(crate) fn regex_problem(pattern: &str) -> Option<String> {
    if pattern.is_empty() {
        return Some("must not be empty".into());
    }
    match regex::Regex::new(pattern) {
        Err(error) => Some(format!(
            "invalid regex: {}",
            regex_error_line(&error.to_string())
        )),
        // Masking replaces every match; an empty match would insert text between all characters.
        Ok(regex) if regex.is_match("") => {
            Some("matches the empty string, which would mask nothing and insert text".into())
        }
        Ok(_) => None,
    }
}

/// The informative line of a `regex` error: its `error: ...` line, else the first line.
fn regex_error_line(text: &str) -> &str {
    text.lines()
        .find_map(|line| line.trim().strip_prefix("error: "))
        .or_else(|| text.lines().next())
        .unwrap_or(text)
}
