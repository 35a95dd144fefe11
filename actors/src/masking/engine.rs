//! The masking engine: configured patterns, built-in detectors and column rules applied to every
//! string that leaves the relay. Pure, no actix.

use super::builtins::BUILTINS;
use super::columns::ColumnRules;
use super::scan::Scanner;
use crate::messages::{MaskPayload, OperationOutput};
use crate::protocol::{Column, MaskedCounts};
use regex_automata::meta::{Cache, Regex as MetaRegex};
use relay_config::Masking;
use serde_json::Value;
use std::borrow::Cow;
use std::sync::Mutex;
use thiserror::Error;

/// Strings longer than this are replaced whole: scanning them could take unbounded time with many
/// matches, and a value this large is no answer a person reads.
pub const MAX_MASKED_VALUE_BYTES: usize = 4 * 1024 * 1024;

/// What replaces a string too large to scan.
pub const OVERSIZED_REPLACEMENT: &str = "[value too large to mask]";

/// A pattern failed to compile (validation should have caught it first).
#[derive(Debug, Error)]
#[error("masking pattern {name}: {message}")]
pub struct PatternError {
    name: String,
    message: String,
}

/// What a pattern is called and what replaces its matches.
pub(super) struct Pattern {
    pub(super) name: String,
    pub(super) replacement: String,
    /// Built-ins may use `$1` groups; configured replacements are literal text.
    pub(super) expand: bool,
    pub(super) validator: Option<fn(&str) -> bool>,
}

/// Compiled masking rules.
pub struct MaskingEngine {
    pub(super) patterns: Vec<Pattern>,
    /// Every pattern in one automaton: a single leftmost-first pass over a value finds every
    /// match of every pattern and says which pattern it is, and a clean value costs that one
    /// scan and no allocation. `None` when there is nothing to find.
    pub(super) combined: Option<MetaRegex>,
    pub(super) columns: ColumnRules,
    /// Search caches of finished jobs. The lazy DFA inside a cache learns its states as it scans;
    /// a fresh cache per job rebuilt them for every result and cost more than the scan itself.
    /// Taken once per job, not per value, so workers do not contend for the lock.
    pub(super) idle_caches: Mutex<Vec<Cache>>,
}

impl MaskingEngine {
    /// Compiles the configured patterns, the enabled built-ins and the column rules; with masking
    /// disabled the engine masks nothing.
    pub fn from_config(masking: &Masking) -> Result<Self, PatternError> {
        let mut patterns = Vec::new();
        let mut sources = Vec::new();
        if masking.enabled {
            for pattern in &masking.patterns {
                sources.push(pattern.regex.as_str());
                patterns.push(Pattern {
                    name: pattern.name.clone(),
                    replacement: pattern.replacement.clone(),
                    expand: false,
                    validator: None,
                });
            }
            let enabled = masking.builtins.enabled();
            for builtin in BUILTINS.iter().filter(|b| enabled.contains(&b.name)) {
                sources.push(builtin.regex);
                patterns.push(Pattern {
                    name: builtin.name.to_owned(),
                    replacement: builtin.replacement.to_owned(),
                    expand: builtin.replacement.contains('$'),
                    validator: builtin.validator,
                });
            }
        }
        let combined = compile_combined(&sources, &patterns)?;
        let rules = if masking.enabled {
            masking.columns.as_slice()
        } else {
            &[]
        };
        let hash_key = masking.hash_key.as_ref().map(|key| key.expose());
        let columns = ColumnRules::new(rules, hash_key).map_err(|err| PatternError {
            name: "columns".to_owned(),
            message: err.to_string(),
        })?;
        Ok(MaskingEngine {
            patterns,
            combined,
            columns,
            idle_caches: Mutex::new(Vec::new()),
        })
    }

    /// Masks one string; borrows it unchanged when nothing matches.
    pub fn mask_str<'a>(&self, text: &'a str, counts: &mut MaskedCounts) -> Cow<'a, str> {
        Scanner::new(self, counts).mask_str(text)
    }

    /// Masks every string inside a JSON value, at any depth; fields named by a column rule are
    /// replaced whole. Object keys themselves are left as they are.
    pub fn mask_value(&self, value: &mut Value, counts: &mut MaskedCounts) {
        Scanner::new(self, counts).mask_value(value);
    }

    /// Masks rows of a result; `columns` names their cells, so column rules apply.
    pub fn mask_rows(
        &self,
        columns: &[Column],
        rows: &mut [Vec<Value>],
        counts: &mut MaskedCounts,
    ) {
        Scanner::new(self, counts).mask_rows(columns, rows);
    }

    /// Masks rows and details of an operation's output.
    pub fn mask_output(&self, output: &mut OperationOutput, counts: &mut MaskedCounts) {
        let mut scanner = Scanner::new(self, counts);
        scanner.mask_rows(&output.columns, &mut output.rows);
        if let Some(details) = output.details.as_mut() {
            scanner.mask_value(details);
        }
    }

    /// Masks a payload in place and reports what was replaced.
    pub fn mask_payload(&self, payload: &mut MaskPayload) -> MaskedCounts {
        let mut counts = MaskedCounts::default();
        match payload {
            MaskPayload::Output(output) => self.mask_output(output, &mut counts),
            MaskPayload::Text(text) => {
                if let Cow::Owned(masked) = Scanner::new(self, &mut counts).mask_str(text) {
                    *text = masked;
                }
            }
        }
        counts
    }
}

/// One automaton for all patterns, in order: the configured ones first, then the built-ins.
fn compile_combined(
    sources: &[&str],
    patterns: &[Pattern],
) -> Result<Option<MetaRegex>, PatternError> {
    if sources.is_empty() {
        return Ok(None);
    }
    MetaRegex::new_many(sources)
        .map(Some)
        .map_err(|err| PatternError {
            name: err
                .pattern()
                .and_then(|id| patterns.get(id.as_usize()))
                .map_or_else(|| "(combined)".to_owned(), |p| p.name.clone()),
            message: err.to_string(),
        })
}

/// Adds the counts of one part of a result to those of the whole.
pub fn merge_counts(into: &mut MaskedCounts, part: MaskedCounts) {
    into.total += part.total;
    for (name, found) in part.by_pattern {
        *into.by_pattern.entry(name).or_default() += found;
    }
}

/// Counts `found` replacements by `name`, allocating the name only the first time.
pub(super) fn count(counts: &mut MaskedCounts, name: &str, found: u64) {
    counts.total += found;
    match counts.by_pattern.get_mut(name) {
        Some(total) => *total += found,
        None => {
            counts.by_pattern.insert(name.to_owned(), found);
        }
    }
}

#[cfg(test)]
#[path = "engine_tests.rs"]
mod tests;
