//! The masking engine: configured patterns, built-in detectors and column rules applied to every
//! string that leaves the relay. Pure, no actix.

use super::builtins::BUILTINS;
use super::columns::ColumnRules;
use crate::messages::{MaskPayload, OperationOutput};
use crate::protocol::{Column, MaskedCounts};
use regex::{Captures, Regex, RegexSet};
use relay_config::Masking;
use serde_json::Value;
use std::borrow::Cow;
use thiserror::Error;

/// Strings longer than this are replaced whole: scanning them could take unbounded time with many
/// matches, and a value this large is no answer a person reads.
pub const MAX_MASKED_VALUE_BYTES: usize = 4 * 1024 * 1024;

/// What replaces a string too large to scan.
pub const OVERSIZED_REPLACEMENT: &str = "[value too large to mask]";

/// A pattern failed to compile (validation should have caught it first).
#[derive(Debug, Error)]
#[error("masking pattern {name}: {source}")]
pub struct PatternError {
    name: String,
    #[source]
    source: regex::Error,
}

struct Pattern {
    name: String,
    regex: Regex,
    replacement: String,
    /// Built-ins may use `$1` groups; configured replacements are literal text.
    expand: bool,
    validator: Option<fn(&str) -> bool>,
}

/// Compiled masking rules.
pub struct MaskingEngine {
    patterns: Vec<Pattern>,
    /// One pass over a value tells which patterns can match at all, so a clean value costs one scan
    /// and no allocation.
    prefilter: RegexSet,
    columns: ColumnRules,
}

fn compile(name: &str, source: &str) -> Result<Regex, PatternError> {
    Regex::new(source).map_err(|source| PatternError {
        name: name.to_owned(),
        source,
    })
}

impl MaskingEngine {
    /// Compiles the configured patterns, the enabled built-ins and the column rules; with masking
    /// disabled the engine masks nothing.
    pub fn from_config(masking: &Masking) -> Result<Self, PatternError> {
        let mut patterns = Vec::new();
        if masking.enabled {
            for pattern in &masking.patterns {
                patterns.push(Pattern {
                    name: pattern.name.clone(),
                    regex: compile(&pattern.name, &pattern.regex)?,
                    replacement: pattern.replacement.clone(),
                    expand: false,
                    validator: None,
                });
            }
            let enabled = masking.builtins.enabled();
            for builtin in BUILTINS.iter().filter(|b| enabled.contains(&b.name)) {
                patterns.push(Pattern {
                    name: builtin.name.to_owned(),
                    regex: compile(builtin.name, builtin.regex)?,
                    replacement: builtin.replacement.to_owned(),
                    expand: true,
                    validator: builtin.validator,
                });
            }
        }
        let prefilter =
            RegexSet::new(patterns.iter().map(|p| p.regex.as_str())).map_err(|source| {
                PatternError {
                    name: "(combined)".to_owned(),
                    source,
                }
            })?;
        let rules = if masking.enabled {
            masking.columns.as_slice()
        } else {
            &[]
        };
        let hash_key = masking.hash_key.as_ref().map(|key| key.expose());
        let columns = ColumnRules::new(rules, hash_key).map_err(|source| PatternError {
            name: "columns".to_owned(),
            source,
        })?;
        Ok(MaskingEngine {
            patterns,
            prefilter,
            columns,
        })
    }

    /// Masks one string; borrows it unchanged when nothing matches.
    pub fn mask_str<'a>(&self, text: &'a str, counts: &mut MaskedCounts) -> Cow<'a, str> {
        if text.len() > MAX_MASKED_VALUE_BYTES && !self.patterns.is_empty() {
            count(counts, "oversized", 1);
            return Cow::Owned(OVERSIZED_REPLACEMENT.to_owned());
        }
        let candidates = self.prefilter.matches(text);
        if !candidates.matched_any() {
            return Cow::Borrowed(text);
        }
        let mut masked = Cow::Borrowed(text);
        for index in candidates.iter() {
            let pattern = &self.patterns[index];
            let mut found = 0u64;
            let replaced = pattern.regex.replace_all(&masked, |caps: &Captures<'_>| {
                let whole = caps.get(0).map_or("", |m| m.as_str());
                if pattern.validator.is_some_and(|valid| !valid(whole)) {
                    return whole.to_owned();
                }
                found += 1;
                if pattern.expand {
                    let mut out = String::new();
                    caps.expand(&pattern.replacement, &mut out);
                    out
                } else {
                    pattern.replacement.clone()
                }
            });
            if found > 0 {
                masked = Cow::Owned(replaced.into_owned());
                count(counts, &pattern.name, found);
            }
        }
        masked
    }

    /// Masks every string inside a JSON value, at any depth; fields named by a column rule are
    /// replaced whole. Object keys themselves are left as they are.
    pub fn mask_value(&self, value: &mut Value, counts: &mut MaskedCounts) {
        match value {
            Value::String(text) => {
                if let Cow::Owned(masked) = self.mask_str(text, counts) {
                    *text = masked;
                }
            }
            Value::Array(items) => items
                .iter_mut()
                .for_each(|item| self.mask_value(item, counts)),
            Value::Object(fields) => {
                for (key, field) in fields.iter_mut() {
                    self.mask_field(key, field, counts);
                }
            }
            Value::Null | Value::Bool(_) | Value::Number(_) => {}
        }
    }

    fn mask_field(&self, name: &str, value: &mut Value, counts: &mut MaskedCounts) {
        match self.columns.rule_for(name) {
            Some(rule) if !value.is_null() => {
                self.columns.apply(rule, value);
                count(counts, &format!("column:{}", name.to_lowercase()), 1);
            }
            _ => self.mask_value(value, counts),
        }
    }

    /// Masks rows of a result; `columns` names their cells, so column rules apply.
    pub fn mask_rows(
        &self,
        columns: &[Column],
        rows: &mut [Vec<Value>],
        counts: &mut MaskedCounts,
    ) {
        for row in rows {
            for (index, cell) in row.iter_mut().enumerate() {
                match columns.get(index) {
                    Some(column) => self.mask_field(&column.name, cell, counts),
                    None => self.mask_value(cell, counts),
                }
            }
        }
    }

    /// Masks rows and details of an operation's output.
    pub fn mask_output(&self, output: &mut OperationOutput, counts: &mut MaskedCounts) {
        self.mask_rows(&output.columns, &mut output.rows, counts);
        if let Some(details) = output.details.as_mut() {
            self.mask_value(details, counts);
        }
    }

    /// Masks a payload in place and reports what was replaced.
    pub fn mask_payload(&self, payload: &mut MaskPayload) -> MaskedCounts {
        let mut counts = MaskedCounts::default();
        match payload {
            MaskPayload::Output(output) => self.mask_output(output, &mut counts),
            MaskPayload::Text(text) => {
                if let Cow::Owned(masked) = self.mask_str(text, &mut counts) {
                    *text = masked;
                }
            }
        }
        counts
    }
}

/// Adds the counts of one part of a result to those of the whole.
pub fn merge_counts(into: &mut MaskedCounts, part: MaskedCounts) {
    into.total += part.total;
    for (name, found) in part.by_pattern {
        *into.by_pattern.entry(name).or_default() += found;
    }
}

fn count(counts: &mut MaskedCounts, name: &str, found: u64) {
    counts.total += found;
    *counts.by_pattern.entry(name.to_owned()).or_default() += found;
}

#[cfg(test)]
#[path = "engine_tests.rs"]
mod tests;
